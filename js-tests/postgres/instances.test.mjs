// Two server instances (separate processes) on one PostgreSQL database,
// behind one load balancer: the plugin holds no state that only one
// instance knows.
//
// - a token exchanged on one instance introspects, with `act`, on the other
//   (JWT access tokens, and opaque ones whose `act` lives in the audit
//   table; TX-41, TX-53);
// - a revocation on one instance is seen by the other (TX-21);
// - the audit trail holds exactly one record per attempt made on either (TX-60);
// - a signing key added through instance 1 (better-auth's jwt plugin) is
//   accepted by instance 2 at once, and a key retired through instance 1 is
//   refused by instance 2 within its `jwksCacheTtlSeconds` (TX-20, TX-22);
// - an ID-JAG redeemed on one instance is a replay on the other, also when
//   both are presented at once (the redemption lives in the database).

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { jws, keyPair } from "../helpers/jws.mjs";
import { actor, basicHeader, subject } from "../helpers/server.mjs";
import { startInstances } from "./instances.mjs";

const RES = "https://billing.api.example/"; // linked: access tokens for it are JWTs
const KEY_TTL = 4; // jwksCacheTtlSeconds of the instances

/** An access token of `who` at `client`, from instance `at` (authorization_code + PKCE). */
async function tokenOf(at, who, client, opts = { scope: "profile orders:read" }) {
  return (await at.call("authorize", who, client, opts)).access_token;
}

async function exchangeOk(at, client, pairs) {
  const r = await at.exchange(client, pairs);
  assert.equal(r.status, 200, `instance ${at.index}: ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Two instances on a fresh database, with clients A (basic) and B (post), linked to RES and "billing". */
function pair(server) {
  const p = {};
  before(async () => {
    p.cluster = await startInstances(2, server);
    [p.one, p.two] = p.cluster.instances;
    await p.one.call("createResource", RES);
    await p.one.call("createResource", "billing");
    p.A = await p.one.call("createClient", "A");
    p.B = await p.two.call("createClient", "B", { token_endpoint_auth_method: "client_secret_post" });
    for (const c of [p.A, p.B]) await p.one.call("link", c, [RES, "billing"]);
    p.alice = await p.one.call("signUp", "alice@example.com", "Alice");
    p.agent = await p.two.call("signUp", "agent@example.com", "Agent");
    p.lastRecord = async () => (await p.one.call("allRecords")).at(-1);
  });
  after(async () => {
    await p.cluster?.stop();
  });
  return p;
}

describe("JWT access tokens", () => {
  const p = pair({ exchange: { jwksCacheTtlSeconds: KEY_TTL } });

  test("TX-41, TX-52, TX-53: a JWT exchanged on instance 1 introspects with act on instance 2", async () => {
    const { one, two, A, alice, agent } = p;
    const subj = await tokenOf(one, alice, A);
    const act = await tokenOf(two, agent, A, { scope: "profile" });
    const body = await exchangeOk(one, A, [...subject(subj), ...actor(act), ["resource", RES]]);
    assert.equal(body.access_token.split(".").length, 3, "a JWT");
    const r = await two.introspect(A, body.access_token);
    assert.equal(r.status, 200);
    assert.deepEqual(
      [r.body.active, r.body.sub, r.body.client_id, r.body.scope, r.body.act],
      [true, alice.user.id, A.client_id, "profile orders:read", { sub: agent.user.id, client_id: A.client_id }],
    );
    assert.deepEqual(decodeJwt(body.access_token).act, { sub: agent.user.id, client_id: A.client_id });
  });

  test("TX-21: a subject token revoked on instance 2 is refused on instance 1", async () => {
    const { one, two, A, alice } = p;
    const subj = await tokenOf(two, alice, A);
    assert.equal((await two.revoke(A, subj)).status, 200);
    assert.equal((await one.introspect(A, subj)).body.active, false);
    const r = await one.exchange(A, [...subject(subj), ["resource", RES]]);
    assert.deepEqual([r.status, r.body.error], [400, "invalid_request"]);
    assert.equal((await p.lastRecord()).reason, "token_inactive");
  });

  test("TX-60: one record per attempt, whichever instance took it", async () => {
    const { one, two, A, B, alice, agent } = p;
    const subj = await tokenOf(one, alice, A);
    const act = await tokenOf(one, agent, A, { scope: "profile" });
    const before = await one.call("countRows", "tokenExchange");
    const attempts = [
      [one, A, [...subject(subj), ["resource", RES]], {}, ["granted", null, null]],
      [two, A, [...subject(subj), ...actor(act), ["resource", RES]], {}, ["granted", null, null]],
      [one, A, [...subject(subj), ["resource", RES]], { secret: "wrong" }, ["refused", "invalid_client", "client_authentication_failed"]],
      [two, A, [...subject(subj), ["resource", RES], ["scope", "billing:read"]], {}, ["refused", "invalid_scope", "scope_not_allowed"]],
      [two, B, [...subject(subj), ["resource", RES]], {}, ["refused", "invalid_request", "token_holder_mismatch"]],
      [one, B, [...subject("not-a-token"), ["resource", RES]], {}, ["refused", "invalid_request", "token_inactive"]],
    ];
    // At once: both instances write to the one table at the same time.
    const answers = await Promise.all(attempts.map(([at, client, pairs, opts]) => at.exchange(client, pairs, opts)));
    assert.deepEqual(
      answers.map((r) => r.status),
      [200, 200, 401, 400, 400, 400],
      JSON.stringify(answers.map((r) => r.body)),
    );
    assert.equal(await one.call("countRows", "tokenExchange"), before + attempts.length);
    assert.equal(await two.call("countRows", "tokenExchange"), before + attempts.length);
    const fresh = (await two.call("allRecords")).slice(before);
    const key = (r) => JSON.stringify([r.clientId, r.decision, r.error, r.reason]);
    assert.deepEqual(
      fresh.map(key).sort(),
      attempts.map(([, client, , , [decision, error, reason]]) => key({ clientId: client.client_id, decision, error, reason })).sort(),
    );
    const delegated = fresh.find((r) => r.delegation);
    assert.deepEqual(
      [delegated.subject, delegated.actor, delegated.act],
      [alice.user.id, agent.user.id, { sub: agent.user.id, client_id: A.client_id }],
    );
  });

  test(`TX-20, TX-22: a key added through instance 1 is accepted by instance 2 at once; a retired key is refused within jwksCacheTtlSeconds (${KEY_TTL} s)`, async () => {
    const { one, two, A, alice } = p;
    // Instance 2 has loaded the current key set.
    const old = await tokenOf(one, alice, A, { scope: "profile orders:read", resource: RES });
    const oldKid = decodeProtectedHeader(old).kid;
    await exchangeOk(two, A, [...subject(old), ["resource", RES]]);
    const loaded = Date.now();

    // Rotate through instance 1: the jwt plugin signs with the newest key.
    const newKid = await one.call("rotateKey");
    assert.notEqual(newKid, oldKid);
    const rotated = await tokenOf(one, alice, A, { scope: "profile orders:read", resource: RES });
    assert.equal(decodeProtectedHeader(rotated).kid, newKid);
    // Accepted by instance 2 on the first request: an unknown kid of this
    // server's issuer reloads the set from the database at once.
    const body = await exchangeOk(two, A, [...subject(rotated), ["resource", RES]]);
    // (Within the TTL of the set loaded above, so not a reload by age.)
    assert.ok(Date.now() - loaded < KEY_TTL * 1000, "the rotation took longer than the TTL: the check proves nothing");
    // Instance 2 signs with the new key too (it reads the newest key from the table).
    assert.equal(decodeProtectedHeader(body.access_token).kid, newKid);
    assert.equal((await one.introspect(A, body.access_token)).body.active, true);

    // Retire the old key through instance 1. Each instance refuses tokens
    // signed with it once its loaded set is older than the TTL.
    await one.call("deleteKey", oldKid);
    const retired = Date.now();
    for (const at of [two, one]) {
      let r;
      for (;;) {
        r = await at.exchange(A, [...subject(old), ["resource", RES]]);
        if (r.status !== 200) break;
        assert.ok(Date.now() - retired <= KEY_TTL * 1000 + 1000, `instance ${at.index} still accepts the retired key`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.deepEqual([r.status, r.body.error], [400, "invalid_request"], JSON.stringify(r.body));
      assert.equal((await p.lastRecord()).reason, "unknown_key");
    }
    // The new key keeps working everywhere.
    await exchangeOk(one, A, [...subject(rotated), ["resource", RES]]);
    await exchangeOk(two, A, [...subject(rotated), ["resource", RES]]);
  });

  test("revocation follows the chain across instances: revoked on one, sign-out on the other", async () => {
    const { one, two, A, cluster } = p;
    const carol = await one.call("signUp", "carol@example.com", "Carol");
    const t0 = await tokenOf(one, carol, A);
    const t1 = (await exchangeOk(one, A, [...subject(t0), ["resource", RES]])).access_token;
    const t2 = (await exchangeOk(two, A, [...subject(t1), ["resource", RES]])).access_token;
    // A sibling: T0 exchanged for another target (another delegation).
    const sibling = (await exchangeOk(two, A, [...subject(t0), ["audience", "billing"]])).access_token;
    // T0 exchanged for T1's target again, on the other instance: T1's delegation, found
    // through the records, so its session (sid) is T1's.
    const again = (await exchangeOk(two, A, [...subject(t0), ["resource", RES]])).access_token;
    const info = async (at, token) => (await at.introspect(A, token)).body;
    const active = async (at, token) => (await info(at, token)).active;
    for (const t of [t1, t2, sibling, again]) assert.equal(await active(one, t), true);
    assert.equal((await info(one, again)).sid, (await info(one, t1)).sid, "one delegation, one session, across instances");
    // The JWT T1 revoked on instance 2: T1, its delegation and T2 end on instance 1; the sibling does not.
    assert.equal((await two.revoke(A, t1)).status, 200);
    assert.deepEqual(
      [await active(one, t1), await active(one, t2), await active(one, again), await active(one, sibling)],
      [false, false, false, true],
    );
    // Carol signs out through instance 1: everything exchanged from her session ends on instance 2.
    const out = await fetch(`${one.base}/sign-out`, {
      method: "POST",
      headers: { cookie: carol.cookie, origin: new URL(cluster.balancer.base).origin, "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(out.status, 200, await out.text());
    assert.deepEqual([await active(two, t0), await active(two, sibling)], [false, false]);
  });

  test("TX-41: through the load balancer, an authorization and exchanges spread over both instances", async () => {
    const { A, alice, agent, cluster } = p;
    const { balancer } = cluster;
    // authorize() runs discovery, authorize and token requests through the
    // public origin: they land on alternate instances.
    const hits = balancer.hits();
    const subj = await tokenOf(p.one, alice, A);
    const act = await tokenOf(p.two, agent, A, { scope: "profile" });
    const during = balancer.hits();
    assert.ok(during.every((n, i) => n > hits[i]), `authorizations reached both instances: ${hits} -> ${during}`);
    for (let i = 0; i < 4; i++) {
      // The exchange lands on one instance, the introspection on the other.
      const body = await exchangeOk(balancer, A, [...subject(subj), ...actor(act), ["resource", RES]]);
      const r = await balancer.introspect(A, body.access_token);
      assert.deepEqual([r.body.active, r.body.sub, r.body.act?.sub], [true, alice.user.id, agent.user.id]);
    }
    assert.deepEqual(
      balancer.hits().map((n, i) => n - during[i]),
      [4, 4],
    );
  });
});

describe("opaque access tokens", () => {
  const p = pair({ useJwt: false });

  test("TX-53: an opaque token exchanged on instance 2 introspects with act on both", async () => {
    const { one, two, B, alice, agent } = p;
    const subj = await tokenOf(two, alice, B);
    const act = await tokenOf(one, agent, B, { scope: "profile" });
    // Its act lives in the audit record its referenceId names, in the shared table.
    const body = await exchangeOk(two, B, [...subject(subj), ...actor(act), ["audience", "billing"]]);
    assert.equal(body.access_token.split(".").length, 1, "an opaque token");
    for (const at of [one, two]) {
      const r = await at.introspect(B, body.access_token);
      assert.deepEqual(
        [r.body.active, r.body.sub, r.body.client_id, r.body.act],
        [true, alice.user.id, B.client_id, { sub: agent.user.id, client_id: B.client_id }],
        `introspection on instance ${at.index}`,
      );
    }
  });

  test("TX-21: an exchanged token revoked on instance 1 is inactive on instance 2, and refused there as a subject", async () => {
    const { one, two, A, alice } = p;
    const subj = await tokenOf(one, alice, A);
    const issued = (await exchangeOk(two, A, [...subject(subj), ["audience", "billing"]])).access_token;
    assert.equal((await two.introspect(A, issued)).body.active, true);
    assert.equal((await one.revoke(A, issued)).status, 200);
    assert.equal((await two.introspect(A, issued)).body.active, false);
    const r = await two.exchange(A, [...subject(issued), ["audience", "billing"]]);
    assert.deepEqual([r.status, r.body.error], [400, "invalid_request"]);
    assert.equal((await p.lastRecord()).reason, "token_inactive");
    // The subject token itself is untouched by the exchange and the revocation (TX-28).
    assert.equal((await two.introspect(A, subj)).body.active, true);
  });
});

describe("ID-JAGs (jwt-bearer)", () => {
  const IDP = "https://idp.instances.example";
  const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
  const key = keyPair("p256", { kid: "idp-1", alg: "ES256" });
  const p = pair({
    exchange: { trustedIssuers: [{ issuer: IDP, audiences: ["unused"], jwks: { keys: [key.jwk] }, providerId: "idp", tokenTypes: ["id_jag"] }] },
  });
  let client, issuer;
  before(async () => {
    issuer = await p.one.call("issuer");
    client = await p.one.call("createClient", "jwt-bearer", {
      grant_types: [JWT_BEARER],
      response_types: [],
      scope: "profile",
      metadata: { allowedIdJag: true, tokenExchange: { trustedIssuers: [IDP] } },
    });
    await p.one.call("linkAccount", p.alice, "idp", "idp-alice");
  });
  const idJag = () => {
    const now = Math.floor(Date.now() / 1000);
    return jws(
      { alg: "ES256", kid: "idp-1", typ: "oauth-id-jag+jwt" },
      { iss: IDP, sub: "idp-alice", aud: issuer, client_id: client.client_id, jti: crypto.randomUUID(), iat: now, exp: now + 300, scope: "profile" },
      { key },
    );
  };
  const redeem = (at, assertion) =>
    at.post("/oauth2/token", [["grant_type", JWT_BEARER], ["assertion", assertion]], {
      authorization: basicHeader(client.client_id, client.client_secret),
    });

  test("redeemed on instance 1, replayed on instance 2: invalid_grant (assertion_replayed)", async () => {
    const jag = idJag();
    const first = await redeem(p.one, jag);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(typeof first.body.access_token, "string");
    assert.deepEqual([(await p.lastRecord()).decision, (await p.lastRecord()).subject], ["granted", "idp-alice"]);
    const again = await redeem(p.two, jag);
    assert.deepEqual([again.status, again.body.error], [400, "invalid_grant"]);
    assert.equal((await p.lastRecord()).reason, "assertion_replayed");
  });

  test("presented on both instances at once: one access token, one replay", async () => {
    for (let round = 0; round < 5; round++) {
      const jag = idJag();
      const answers = await Promise.all([redeem(p.one, jag), redeem(p.two, jag)]);
      assert.deepEqual(answers.map((r) => r.status).sort(), [200, 400], JSON.stringify(answers.map((r) => r.body)));
      assert.equal(answers.find((r) => r.status === 400).body.error, "invalid_grant");
    }
    const reasons = (await p.one.call("allRecords")).slice(-10).map((r) => r.reason ?? r.decision);
    assert.deepEqual(reasons.filter((r) => r === "assertion_replayed").length, 5, JSON.stringify(reasons));
  });
});
