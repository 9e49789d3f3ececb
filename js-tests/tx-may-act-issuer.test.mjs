// TX-46 over HTTP: a `may_act` member set without `iss` names a party of
// the subject token's own issuer. Two trusted external issuers (A and B,
// their key sets served over HTTP, both allowed for the exchanging client):
// A's `may_act: {"sub": "bob"}` names A's bob, not B's bob; with `iss` it
// names exactly that issuer's party. The same holds for this server's own
// tokens (an external actor with the sub of a local user is not that user)
// and for the exchanging client (of this server's issuer) named by a trusted
// issuer's `may_act`. Every refusal is `invalid_request`, reason
// `may_act_mismatch`, and audited with the actor that was refused.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { decodeJwt } from "jose";
import { jws, keyPair } from "./helpers/jws.mjs";
import { actor, startJwksServer, startServer, subject, TT } from "./helpers/server.mjs";

const EXT_AUD = "https://as.may-act.example/"; // what A's and B's tokens name as this server
const RES_MAYACT = "https://mayact.api.example/"; // this server's tokens for it carry may_act

const now = () => Math.floor(Date.now() / 1000);

describe("TX-46: may_act without iss names a party of the subject token's issuer", () => {
  let s, idp;
  let C; // allowed to translate from A and B
  let alice, agent;
  let IA, IB;
  const keys = { a: keyPair("p256", { kid: "a-1", alg: "ES256" }), b: keyPair("p256", { kid: "b-1", alg: "ES256" }) };
  const mayAct = new Map(); // local user id -> may_act of RES_MAYACT tokens

  /** A token of trusted issuer `name` ("a" or "b"), signed with its key. */
  const ext = (name, claims) =>
    jws(
      { alg: "ES256", kid: `${name}-1`, typ: "JWT" },
      { iss: idp.issuer(`idp-${name}`), aud: EXT_AUD, iat: now() - 5, exp: now() + 600, scope: "profile", ...claims },
      { key: keys[name] },
    );

  before(async () => {
    idp = await startJwksServer();
    idp.setKeys("idp-a", { keys: [keys.a.jwk] });
    idp.setKeys("idp-b", { keys: [keys.b.jwk] });
    IA = idp.issuer("idp-a");
    IB = idp.issuer("idp-b");
    s = await startServer({
      exchange: {
        trustedIssuers: [
          { issuer: IA, audiences: [EXT_AUD], jwksUri: `${IA}/jwks`, providerId: "idp-a" },
          { issuer: IB, audiences: [EXT_AUD], jwksUri: `${IB}/jwks`, providerId: "idp-b" },
        ],
      },
      provider: {
        customAccessTokenClaims: ({ user, resources }) =>
          resources?.includes(RES_MAYACT) && mayAct.has(user?.id) ? { may_act: mayAct.get(user.id) } : {},
      },
    });
    await s.createResource("billing");
    await s.createResource(RES_MAYACT);
    C = await s.createClient("C", {
      metadata: { allowedTokenExchange: true, tokenExchange: { trustedIssuers: [IA, IB] } },
    });
    await s.link(C, ["billing", RES_MAYACT]);
    alice = await s.signUp("alice@example.com", "Alice");
    agent = await s.signUp("agent@example.com", "Agent");
    // A's subject "ext-alice" is Alice here (TX-24); bob is linked nowhere (actors need no local user).
    await s.linkAccount(alice, "idp-a", "ext-alice");
  });

  after(async () => {
    await s?.stop();
    await idp?.stop();
  });

  const lastRecord = async () => (await s.allRecords()).at(-1);

  async function granted(pairs) {
    const r = await s.exchange(C, [...pairs, ["audience", "billing"]]);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const row = await lastRecord();
    assert.deepEqual([row.decision, row.reason], ["granted", null]);
    return r.body;
  }

  /** Refused with may_act_mismatch; the record names the refused actor. */
  async function mismatch(pairs, { actorSub, actorIss }) {
    const before = await s.countRows();
    const r = await s.exchange(C, [...pairs, ["audience", "billing"]]);
    assert.deepEqual(
      { status: r.status, error: r.body?.error },
      { status: 400, error: "invalid_request" },
      JSON.stringify(r.body),
    );
    assert.equal(r.body.access_token, undefined);
    assert.equal(await s.countRows(), before + 1, "one audit record");
    const row = await lastRecord();
    assert.deepEqual(
      [row.decision, row.error, row.reason, row.actor, row.actorIss],
      ["refused", "invalid_request", "may_act_mismatch", actorSub, actorIss],
    );
  }

  test("TX-46, TX-42: A's may_act {sub: bob} names A's bob, not B's; {sub: bob, iss: B} names B's bob, not A's", async () => {
    const subj = ext("a", { sub: "ext-alice", may_act: { sub: "bob" } });
    await mismatch([...subject(subj, TT.jwt), ...actor(ext("b", { sub: "bob" }), TT.jwt)], {
      actorSub: "bob",
      actorIss: IB,
    });

    const body = await granted([...subject(subj, TT.jwt), ...actor(ext("a", { sub: "bob" }), TT.jwt)]);
    const claims = decodeJwt(body.access_token);
    assert.equal(claims.sub, alice.user.id);
    assert.deepEqual(claims.act, { sub: "bob", iss: IA, client_id: C.client_id });
    const info = (await s.introspect(C, body.access_token)).body;
    assert.deepEqual([info.active, info.act], [true, { sub: "bob", iss: IA, client_id: C.client_id }]);
    const row = await lastRecord();
    assert.deepEqual([row.actor, row.actorIss], ["bob", IA]);

    // With iss, may_act names that issuer's party: B's bob may act, A's bob may not.
    const naming = ext("a", { sub: "ext-alice", may_act: { sub: "bob", iss: IB } });
    await mismatch([...subject(naming, TT.jwt), ...actor(ext("a", { sub: "bob" }), TT.jwt)], {
      actorSub: "bob",
      actorIss: IA,
    });
    const named = await granted([...subject(naming, TT.jwt), ...actor(ext("b", { sub: "bob" }), TT.jwt)]);
    assert.deepEqual(decodeJwt(named.access_token).act, { sub: "bob", iss: IB, client_id: C.client_id });
    assert.equal((await lastRecord()).actorIss, IB);
  });

  test("TX-46: this server's may_act {sub: agent} names the local agent, not a trusted issuer's party with that sub", async () => {
    const carol = await s.signUp("carol@example.com", "Carol");
    mayAct.set(carol.user.id, { sub: agent.user.id });
    const subj = (await s.authorize(carol, C, { scope: "profile orders:read", resource: RES_MAYACT })).access_token;
    assert.deepEqual(decodeJwt(subj).may_act, { sub: agent.user.id });

    // B's token whose sub is, character for character, the local agent's id.
    const impostor = ext("b", { sub: agent.user.id });
    await mismatch([...subject(subj), ...actor(impostor, TT.jwt)], { actorSub: agent.user.id, actorIss: IB });

    const own = (await s.authorize(agent, C, { scope: "profile" })).access_token;
    const body = await granted([...subject(subj), ...actor(own)]);
    assert.deepEqual(decodeJwt(body.access_token).act, { sub: agent.user.id, client_id: C.client_id });
  });

  test("TX-46, TX-42: without an actor token, A's may_act naming the client without iss does not name it (it is of this server)", async () => {
    // The exchanging client's identity: sub and client_id its id, iss this server.
    const noIss = ext("a", { sub: "ext-alice", may_act: { client_id: C.client_id } });
    await mismatch(subject(noIss, TT.jwt), { actorSub: null, actorIss: null });
    const subOnly = ext("a", { sub: "ext-alice", may_act: { sub: C.client_id } });
    await mismatch(subject(subOnly, TT.jwt), { actorSub: null, actorIss: null });

    const withIss = ext("a", { sub: "ext-alice", may_act: { client_id: C.client_id, iss: s.issuer } });
    const body = await granted(subject(withIss, TT.jwt));
    const claims = decodeJwt(body.access_token);
    assert.deepEqual([claims.sub, claims.client_id, claims.act], [alice.user.id, C.client_id, undefined]);
  });
});
