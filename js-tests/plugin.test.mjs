// The better-auth plugin end to end: a real better-auth server over HTTP with
// SQLite, the plugin imported from the built package, clients and users
// created through better-auth's API, tokens obtained through
// authorization_code + PKCE. One test per behaviour (TX-n) the plugin owns;
// each asserts the exact OAuth error and HTTP status.
//
// One server is shared by every test here; tests create what they need and
// do not depend on each other's order.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createRemoteJWKSet, decodeJwt, exportJWK, generateKeyPair, jwtVerify, SignJWT } from "jose";
import { actor, GRANT, startJwksServer, startServer, storedHash, subject, TT } from "./helpers/server.mjs";

const RES_ORDERS = "https://orders.api.example/"; // access tokens live 300 s (TX-51)
const RES_BILLING = "https://billing.api.example/";
const RES_MAYACT = "https://mayact.api.example/"; // subject tokens carry may_act (TX-42)
const RES_UNLINKED = "https://unlinked.api.example/";
const RES_DPOP = "https://dpop.api.example/"; // issuance needs a DPoP proof
const EXT_AUDIENCE = "https://as.example/";

let s; // the server
let ext; // the second issuer's JWKS server
let A, B, PUB, NOOPT, NOGRANT, DIS; // clients
let alice, agent1, agent2, agent3, carol; // users
const mayAct = new Map(); // user id -> may_act claim for RES_MAYACT tokens
const seenTokens = new Set(); // every token value seen, for TX-60
const extKeys = {}; // name -> { privateKey, kid }

const track = (...tokens) => {
  for (const t of tokens) if (t) seenTokens.add(t);
  return tokens[0];
};

async function tokenFor(user, client, opts) {
  const set = await s.authorize(user, client, opts);
  track(set.access_token, set.refresh_token, set.id_token);
  return set;
}


/** Exchanges and asserts the answer's status; returns the body. */
async function exchangeOk(client, pairs) {
  const r = await s.exchange(client, pairs);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  track(r.body.access_token, r.body.refresh_token);
  return r.body;
}

/** Asserts an OAuth error answer (TX-70): exact error, status, JSON, no-store. */
function assertError(r, status, error) {
  assert.deepEqual({ status: r.status, error: r.body?.error }, { status, error }, JSON.stringify(r.body));
  assert.equal(typeof r.body.error_description, "string");
  assert.equal(r.headers.get("cache-control"), "no-store");
  assert.match(r.headers.get("content-type") ?? "", /application\/json/);
}

/** The newest audit row. */
async function lastRecord() {
  const rows = await s.allRecords();
  return rows.at(-1);
}

async function externalToken(name, claims, { kid } = {}) {
  const key = extKeys[name];
  const now = Math.floor(Date.now() / 1000);
  return track(
    await new SignJWT({ scope: "profile orders:read", ...claims })
      .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: kid ?? key.kid })
      .setIssuer(ext.issuer(name))
      .setAudience(EXT_AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(key.privateKey),
  );
}

async function newExternalKey(name, kid) {
  const pair = await generateKeyPair("ES256", { extractable: true });
  const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: "ES256", use: "sig" };
  extKeys[name] = { privateKey: pair.privateKey, kid };
  return jwk;
}

before(async () => {
  ext = await startJwksServer();
  ext.setKeys("static", { keys: [await newExternalKey("static", "static-1")] });
  ext.setKeys("rotating", { keys: [await newExternalKey("rotating", "rot-1")] });
  const untrustedJwk = await newExternalKey("untrusted", "untrusted-1");
  ext.setKeys("untrusted", { keys: [untrustedJwk] });

  s = await startServer({
    exchange: {
      trustedIssuers: [
        { issuer: ext.issuer("static"), audiences: [EXT_AUDIENCE], jwksUri: `${ext.issuer("static")}/jwks`, providerId: "ext-idp" },
        { issuer: ext.issuer("rotating"), audiences: [EXT_AUDIENCE], jwksUri: `${ext.issuer("rotating")}/jwks`, providerId: "ext-idp" },
      ],
      jwksRefetchIntervalSeconds: 2,
    },
    provider: {
      resources: [{ identifier: RES_ORDERS, name: "Orders", accessTokenTtl: 300 }],
      customAccessTokenClaims: ({ user, resources }) =>
        resources?.includes(RES_MAYACT) && mayAct.has(user?.id) ? { may_act: mayAct.get(user.id) } : {},
    },
  });
  for (const id of [RES_BILLING, RES_MAYACT, RES_UNLINKED, "billing", "orders"]) await s.createResource(id);
  await s.createResource(RES_DPOP, { dpopBoundAccessTokensRequired: true });

  const translating = { allowedTokenExchange: true, tokenExchange: { trustedIssuers: [ext.issuer("static"), ext.issuer("rotating")] } };
  A = await s.createClient("A (basic)", { metadata: translating });
  B = await s.createClient("B (post)", { token_endpoint_auth_method: "client_secret_post" });
  PUB = await s.createClient("public", { token_endpoint_auth_method: "none" });
  NOOPT = await s.createClient("not opted in", { metadata: { somethingElse: true } });
  NOGRANT = await s.createClient("no grant", { grant_types: ["authorization_code"] });
  DIS = await s.createClient("disabled");
  for (const c of [A, B, NOOPT, NOGRANT, DIS]) await s.link(c, [RES_ORDERS, RES_BILLING, "billing", "orders"]);
  await s.link(A, [RES_MAYACT, RES_DPOP]);
  await s.disableClient(DIS);

  alice = await s.signUp("alice@example.com", "Alice");
  agent1 = await s.signUp("agent1@example.com", "Agent One");
  agent2 = await s.signUp("agent2@example.com", "Agent Two");
  agent3 = await s.signUp("agent3@example.com", "Agent Three");
  carol = await s.signUp("carol@example.com", "Carol");
  // The external subject "ext-alice" of the trusted issuers is Alice here (TX-24).
  await s.linkAccount(alice, "ext-idp", "ext-alice");
});

after(async () => {
  await s?.stop();
  await ext?.stop();
});

describe("discovery", () => {
  test("TX-54: discovery metadata lists the token-exchange grant", async () => {
    for (const url of [`${s.base}/.well-known/openid-configuration`, `${s.base}/.well-known/oauth-authorization-server`]) {
      const r = await fetch(url);
      assert.equal(r.status, 200);
      const meta = await r.json();
      assert.ok(meta.grant_types_supported.includes(GRANT), JSON.stringify(meta.grant_types_supported));
    }
  });
});

describe("client authentication", () => {
  let opaque; // Alice's opaque token, issued to A

  before(async () => {
    opaque = (await tokenFor(alice, A, { scope: "profile orders:read" })).access_token;
  });

  test("TX-10: a client_secret_basic client exchanges", async () => {
    const body = await exchangeOk(A, [...subject(opaque), ["audience", "billing"]]);
    assert.equal(decodeJwt(body.access_token).client_id, A.client_id);
  });

  test("TX-10: a client_secret_post client exchanges", async () => {
    const own = (await tokenFor(alice, B, { scope: "profile orders:read" })).access_token;
    const body = await exchangeOk(B, [...subject(own), ["audience", "billing"]]);
    assert.equal(decodeJwt(body.access_token).client_id, B.client_id);
    assert.equal(decodeJwt(body.access_token).sub, alice.user.id);
  });

  test("TX-10: a public client gets 401 invalid_client", async () => {
    const r = await s.post("/oauth2/token", [["grant_type", GRANT], ...subject(opaque), ["audience", "billing"], ["client_id", PUB.client_id]]);
    assertError(r, 401, "invalid_client");
    assert.equal(r.headers.get("www-authenticate"), null);
    const row = await lastRecord();
    assert.deepEqual([row.clientId, row.decision, row.error, row.reason], [PUB.client_id, "refused", "invalid_client", "public_client"]);
  });

  test("TX-10: a wrong secret gets 401 invalid_client, with WWW-Authenticate after Basic", async () => {
    const basic = await s.exchange(A, [...subject(opaque), ["audience", "billing"]], { secret: "wrong" });
    assertError(basic, 401, "invalid_client");
    assert.equal(basic.headers.get("www-authenticate"), 'Basic realm="oauth"');
    const posted = await s.exchange(B, [...subject(opaque), ["audience", "billing"]], { secret: "wrong" });
    assertError(posted, 401, "invalid_client");
    assert.equal(posted.headers.get("www-authenticate"), null);
  });

  test("TX-10: no client credentials at all gets 401 invalid_client", async () => {
    const r = await s.exchange(null, [...subject(opaque), ["audience", "billing"]]);
    assertError(r, 401, "invalid_client");
  });

  test("TX-11: a client without allowedTokenExchange gets unauthorized_client", async () => {
    const own = (await tokenFor(alice, NOOPT, { scope: "profile" })).access_token;
    const r = await s.exchange(NOOPT, [...subject(own), ["audience", "billing"]]);
    assertError(r, 400, "unauthorized_client");
    assert.equal((await lastRecord()).reason, "token_exchange_not_enabled");
  });

  test("TX-11: a client not registered for the grant type gets unauthorized_client", async () => {
    const r = await s.exchange(NOGRANT, [...subject(opaque), ["audience", "billing"]]);
    assertError(r, 400, "unauthorized_client");
    assert.equal((await lastRecord()).reason, "grant_type_not_allowed");
  });

  test("TX-12: a disabled client is refused exactly like an unknown one", async () => {
    const disabled = await s.exchange(DIS, [...subject(opaque), ["audience", "billing"]]);
    const unknown = await s.exchange({ client_id: "no-such-client", client_secret: "x" }, [...subject(opaque), ["audience", "billing"]]);
    assertError(disabled, 401, "invalid_client");
    assert.deepEqual(
      [disabled.status, disabled.body, disabled.headers.get("www-authenticate")],
      [unknown.status, unknown.body, unknown.headers.get("www-authenticate")],
    );
  });
});

describe("impersonation and delegation", () => {
  test("TX-40, TX-50, TX-52: impersonation issues a JWT for the subject, without act, verifiable with /jwks", async () => {
    const subj = await tokenFor(alice, A, { scope: "profile orders:read", resource: RES_ORDERS });
    const body = await exchangeOk(A, [...subject(subj.access_token), ["resource", RES_BILLING]]);
    assert.equal(body.issued_token_type, TT.access);
    assert.equal(body.token_type, "Bearer");
    assert.equal(typeof body.expires_in, "number");
    assert.equal(body.refresh_token, undefined);
    assert.equal(body.id_token, undefined);
    const jwks = createRemoteJWKSet(new URL(`${s.base}/jwks`));
    const { payload, protectedHeader } = await jwtVerify(body.access_token, jwks, {
      issuer: s.issuer,
      audience: RES_BILLING,
      typ: "at+jwt",
    });
    assert.equal(protectedHeader.typ, "at+jwt");
    assert.equal(payload.sub, alice.user.id);
    assert.equal(payload.aud, RES_BILLING);
    assert.equal(payload.client_id, A.client_id);
    assert.equal(payload.scope, "profile orders:read");
    assert.equal(typeof payload.jti, "string");
    assert.equal(typeof payload.iat, "number");
    assert.equal(payload.act, undefined);
    const row = await lastRecord();
    assert.deepEqual([row.decision, row.delegation, row.act, row.subject], ["granted", false, null, alice.user.id]);
  });

  test("TX-41: delegation adds act naming the actor; sub stays the subject's", async () => {
    const subj = (await tokenFor(alice, A, { scope: "profile orders:read" })).access_token;
    const act = (await tokenFor(agent1, A, { scope: "profile" })).access_token;
    const body = await exchangeOk(A, [...subject(subj), ...actor(act), ["audience", "billing"]]);
    const payload = decodeJwt(body.access_token);
    assert.equal(payload.sub, alice.user.id);
    assert.deepEqual(payload.act, { sub: agent1.user.id, client_id: A.client_id });
    const row = await lastRecord();
    assert.deepEqual(
      [row.decision, row.delegation, row.actor, row.actorClientId, row.act],
      ["granted", true, agent1.user.id, A.client_id, { sub: agent1.user.id, client_id: A.client_id }],
    );
  });

  test("TX-41, TX-44: three hops nest the act chain, newest actor outermost", async () => {
    let token = (await tokenFor(alice, A, { scope: "profile orders:read" })).access_token;
    for (const agent of [agent1, agent2, agent3]) {
      const act = (await tokenFor(agent, A, { scope: "profile" })).access_token;
      token = (await exchangeOk(A, [...subject(token), ...actor(act), ["resource", RES_BILLING]])).access_token;
    }
    const payload = decodeJwt(token);
    assert.equal(payload.sub, alice.user.id);
    assert.deepEqual(payload.act, {
      sub: agent3.user.id,
      client_id: A.client_id,
      act: { sub: agent2.user.id, client_id: A.client_id, act: { sub: agent1.user.id, client_id: A.client_id } },
    });
    const row = await lastRecord();
    assert.deepEqual(
      row.priorActors.map((p) => p.sub),
      [agent2.user.id, agent1.user.id],
    );
  });

  test("TX-42: may_act naming the actor is accepted; naming someone else is invalid_request", async () => {
    mayAct.set(carol.user.id, { sub: agent1.user.id });
    const subj = (await tokenFor(carol, A, { scope: "profile orders:read", resource: RES_MAYACT })).access_token;
    assert.deepEqual(decodeJwt(subj).may_act, { sub: agent1.user.id });
    const good = (await tokenFor(agent1, A, { scope: "profile" })).access_token;
    const body = await exchangeOk(A, [...subject(subj), ...actor(good), ["audience", "billing"]]);
    assert.equal(decodeJwt(body.access_token).act.sub, agent1.user.id);

    const bad = (await tokenFor(agent2, A, { scope: "profile" })).access_token;
    const r = await s.exchange(A, [...subject(subj), ...actor(bad), ["audience", "billing"]]);
    assertError(r, 400, "invalid_request");
    const row = await lastRecord();
    assert.deepEqual([row.decision, row.reason, row.actor], ["refused", "may_act_mismatch", agent2.user.id]);
  });

  test("TX-53: introspection of an issued JWT shows act", async () => {
    const subj = (await tokenFor(alice, A, { scope: "profile orders:read" })).access_token;
    const act = (await tokenFor(agent2, A, { scope: "profile" })).access_token;
    const body = await exchangeOk(A, [...subject(subj), ...actor(act), ["resource", RES_BILLING]]);
    const r = await s.introspect(A, body.access_token);
    assert.equal(r.status, 200);
    assert.equal(r.body.active, true);
    assert.equal(r.body.sub, alice.user.id);
    assert.equal(r.body.client_id, A.client_id);
    assert.deepEqual(r.body.act, { sub: agent2.user.id, client_id: A.client_id });
  });
});

describe("scope", () => {
  let subj; // "profile orders:read", issued to A; A also holds billing:read and email

  before(async () => {
    subj = (await tokenFor(alice, A, { scope: "profile orders:read" })).access_token;
  });

  test("TX-31: a narrower scope is granted as asked", async () => {
    const body = await exchangeOk(A, [...subject(subj), ["audience", "billing"], ["scope", "orders:read"]]);
    assert.equal(body.scope, "orders:read");
    assert.equal(decodeJwt(body.access_token).scope, "orders:read");
  });

  test("TX-31: a scope the client holds but the subject token lacks is invalid_scope", async () => {
    const r = await s.exchange(A, [...subject(subj), ["audience", "billing"], ["scope", "orders:read billing:read"]]);
    assertError(r, 400, "invalid_scope");
    assert.equal((await lastRecord()).reason, "scope_not_allowed");
  });

  test("TX-30: a scope the client is not registered for is invalid_scope", async () => {
    const r = await s.exchange(A, [...subject(subj), ["audience", "billing"], ["scope", "reports:read"]]);
    assertError(r, 400, "invalid_scope");
  });

  test("TX-32: no scope requested grants the widest allowed, without openid/offline_access", async () => {
    const wide = (await tokenFor(alice, A, { scope: "openid profile orders:read offline_access" })).access_token;
    const body = await exchangeOk(A, [...subject(wide), ["audience", "billing"]]);
    assert.equal(body.scope, "profile orders:read");
    assert.equal(body.refresh_token, undefined);
    assert.equal(body.id_token, undefined);
  });
});

describe("targets", () => {
  test("TX-6: several audience and resource values make the aud union, in request order", async () => {
    const subj = (await tokenFor(alice, A, { scope: "profile orders:read" })).access_token;
    const body = await exchangeOk(A, [
      ...subject(subj),
      ["audience", "billing"],
      ["audience", "orders"],
      ["resource", RES_BILLING],
    ]);
    assert.deepEqual(decodeJwt(body.access_token).aud, ["billing", "orders", RES_BILLING]);
    const row = await lastRecord();
    assert.deepEqual([row.audiences, row.resources], [["billing", "orders"], [RES_BILLING]]);
  });

  test("TX-6: a registered resource the client is not linked to is invalid_target", async () => {
    const subj = (await tokenFor(alice, A, { scope: "profile orders:read" })).access_token;
    const r = await s.exchange(A, [...subject(subj), ["resource", RES_UNLINKED]]);
    assertError(r, 400, "invalid_target");
    assert.equal((await lastRecord()).reason, "target_not_allowed");
  });

  test("TX-6: the provider's issuance checks of the targets reuse the reads the decision was made on", async () => {
    const subj = (await tokenFor(alice, A, { scope: "profile orders:read" })).access_token;
    // Count the adapter's reads of links and resources during one exchange.
    const adapter = s.context.adapter;
    const reads = { oauthClientResource: 0, oauthResource: 0 };
    const original = { findOne: adapter.findOne, findMany: adapter.findMany };
    for (const method of ["findOne", "findMany"]) {
      adapter[method] = function (input) {
        if (input.model in reads) reads[input.model]++;
        return original[method].call(this, input);
      };
    }
    let body;
    try {
      body = await exchangeOk(A, [...subject(subj), ["audience", "billing"], ["resource", RES_BILLING]]);
    } finally {
      Object.assign(adapter, original);
    }
    assert.deepEqual(decodeJwt(body.access_token).aud, ["billing", RES_BILLING]);
    // One read each (the provider's `issueTokens` reads both again otherwise).
    assert.deepEqual(reads, { oauthClientResource: 1, oauthResource: 1 });
  });
});

describe("subject tokens", () => {
  test("TX-21: an opaque access token of this server is accepted by lookup", async () => {
    const subj = (await tokenFor(alice, A, { scope: "profile orders:read" })).access_token;
    assert.equal(subj.split(".").length, 1, "the subject token is opaque");
    const body = await exchangeOk(A, [...subject(subj), ["resource", RES_BILLING]]);
    assert.equal(decodeJwt(body.access_token).sub, alice.user.id);
  });

  test("TX-21: a revoked opaque subject token is invalid_request", async () => {
    const subj = (await tokenFor(alice, A, { scope: "profile orders:read" })).access_token;
    const revoked = await s.revoke(A, subj);
    assert.equal(revoked.status, 200);
    const r = await s.exchange(A, [...subject(subj), ["resource", RES_BILLING]]);
    assertError(r, 400, "invalid_request");
    assert.equal((await lastRecord()).reason, "token_inactive");
  });

  test("TX-21: an expired opaque subject token is invalid_request", async () => {
    const subj = (await tokenFor(alice, A, { scope: "profile orders:read" })).access_token;
    await s.context.adapter.update({
      model: "oauthAccessToken",
      where: [{ field: "token", value: storedHash(subj) }],
      update: { expiresAt: new Date(Date.now() - 60_000) },
    });
    const r = await s.exchange(A, [...subject(subj), ["resource", RES_BILLING]]);
    assertError(r, 400, "invalid_request");
    assert.equal((await lastRecord()).reason, "token_inactive");
  });

  test("TX-23: an ID token presented as an access token is invalid_request", async () => {
    const set = await tokenFor(alice, A, { scope: "openid profile" });
    const r = await s.exchange(A, [...subject(set.id_token, TT.access), ["resource", RES_BILLING]]);
    assertError(r, 400, "invalid_request");
    assert.equal((await lastRecord()).reason, "token_type_mismatch");
  });

  test("TX-23, TX-26: an ID token is a subject token as what it is, for the client it names", async () => {
    const set = await tokenFor(alice, A, { scope: "openid profile" });
    const body = await exchangeOk(A, [...subject(set.id_token, TT.id), ["resource", RES_BILLING]]);
    const claims = decodeJwt(body.access_token);
    assert.equal(claims.sub, alice.user.id);
    assert.equal(claims.act, undefined);
    // An ID token carries no scope: downscoping leaves none to grant.
    assert.equal(body.scope, "");
    // The same ID token presented by another client: its aud names A only.
    const r = await s.exchange(B, [...subject(set.id_token, TT.id), ["resource", RES_BILLING]]);
    assertError(r, 400, "invalid_request");
    assert.equal((await lastRecord()).reason, "token_holder_mismatch");
  });

  test("TX-51: the issued token never outlives the subject token", async () => {
    // RES_ORDERS tokens live 300 s; the exchanged token would live 3600 s.
    const subj = (await tokenFor(alice, A, { scope: "profile orders:read", resource: RES_ORDERS })).access_token;
    const subjectExp = decodeJwt(subj).exp;
    const body = await exchangeOk(A, [...subject(subj), ["resource", RES_BILLING]]);
    const exp = decodeJwt(body.access_token).exp;
    assert.ok(exp <= subjectExp, `issued exp ${exp} > subject exp ${subjectExp}`);
    assert.ok(exp >= subjectExp - 3, `issued exp ${exp} capped too hard (subject ${subjectExp})`);
    assert.equal(body.expires_at, exp);
    assert.ok(body.expires_in <= 300);
  });

  test("TX-28: the subject token introspects the same before and after an exchange", async () => {
    const subj = (await tokenFor(alice, A, { scope: "profile orders:read" })).access_token;
    const before = await s.introspect(A, subj);
    assert.equal(before.body.active, true);
    const act = (await tokenFor(agent1, A, { scope: "profile" })).access_token;
    await exchangeOk(A, [...subject(subj), ...actor(act), ["resource", RES_BILLING], ["scope", "orders:read"]]);
    await exchangeOk(A, [...subject(subj), ["audience", "billing"]]);
    const afterwards = await s.introspect(A, subj);
    assert.deepEqual(afterwards.body, before.body);
    assert.deepEqual(await s.introspect(A, act).then((r) => r.body.active), true);
  });
});

describe("token translation", () => {
  test("TX-24: a token of a trusted issuer maps to the linked local user", async () => {
    const token = await externalToken("static", { sub: "ext-alice" });
    const body = await exchangeOk(A, [...subject(token, TT.jwt), ["resource", RES_BILLING]]);
    const payload = decodeJwt(body.access_token);
    assert.equal(payload.sub, alice.user.id);
    assert.equal(payload.iss, s.issuer);
    const row = await lastRecord();
    assert.deepEqual([row.subjectIss, row.subject], [ext.issuer("static"), "ext-alice"]);
    assert.equal(ext.fetchCount("static"), 1);
  });

  test("TX-24: an issuer that is not configured is refused and never fetched", async () => {
    const token = await externalToken("untrusted", { sub: "ext-alice" });
    const r = await s.exchange(A, [...subject(token, TT.jwt), ["resource", RES_BILLING]]);
    assertError(r, 400, "invalid_request");
    assert.equal((await lastRecord()).reason, "untrusted_issuer");
    assert.equal(ext.fetchCount("untrusted"), 0);
  });

  test("TX-24: a client not allowed to translate from the issuer is refused", async () => {
    const token = await externalToken("static", { sub: "ext-alice" });
    const r = await s.exchange(B, [...subject(token, TT.jwt), ["resource", RES_BILLING]]);
    assertError(r, 400, "invalid_request");
    assert.equal((await lastRecord()).reason, "issuer_not_allowed_for_client");
  });

  test("TX-24: an external subject without a linked local user is refused", async () => {
    const token = await externalToken("static", { sub: "ext-nobody" });
    const r = await s.exchange(A, [...subject(token, TT.jwt), ["resource", RES_BILLING]]);
    assertError(r, 400, "invalid_request");
    assert.equal((await lastRecord()).reason, "subject_not_linked");
  });

  test("TX-24, TX-22: key rotation: a new kid is accepted after a (rate-limited) refetch", async () => {
    const first = await externalToken("rotating", { sub: "ext-alice" });
    await exchangeOk(A, [...subject(first, TT.jwt), ["resource", RES_BILLING]]);
    assert.equal(ext.fetchCount("rotating"), 1);

    ext.setKeys("rotating", { keys: [await newExternalKey("rotating", "rot-2")] });
    const rotated = await externalToken("rotating", { sub: "ext-alice" });
    // Within the refetch interval (2 s here) an unknown kid does not refetch.
    const early = await s.exchange(A, [...subject(rotated, TT.jwt), ["resource", RES_BILLING]]);
    assertError(early, 400, "invalid_request");
    assert.equal((await lastRecord()).reason, "unknown_key");
    assert.equal(ext.fetchCount("rotating"), 1);

    await new Promise((resolve) => setTimeout(resolve, 2100));
    await exchangeOk(A, [...subject(rotated, TT.jwt), ["resource", RES_BILLING]]);
    assert.equal(ext.fetchCount("rotating"), 2);
    // The old key is gone with the refetch.
    const r = await s.exchange(A, [...subject(first, TT.jwt), ["resource", RES_BILLING]]);
    assertError(r, 400, "invalid_request");
    assert.equal((await lastRecord()).reason, "unknown_key");
  });

  test("TX-22: a token naming jku is never followed", async () => {
    const key = extKeys.static;
    const now = Math.floor(Date.now() / 1000);
    const before = ext.fetchCount("untrusted");
    const token = track(
      await new SignJWT({ sub: "ext-alice" })
        .setProtectedHeader({ alg: "ES256", kid: "elsewhere", jku: `${ext.issuer("untrusted")}/jwks` })
        .setIssuer(ext.issuer("static"))
        .setAudience(EXT_AUDIENCE)
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(key.privateKey),
    );
    const r = await s.exchange(A, [...subject(token, TT.jwt), ["resource", RES_BILLING]]);
    assertError(r, 400, "invalid_request");
    assert.equal(ext.fetchCount("untrusted"), before);
  });
});

describe("requests and errors", () => {
  let subj;

  before(async () => {
    subj = (await tokenFor(alice, A, { scope: "profile orders:read" })).access_token;
  });

  test("TX-8: a repeated subject_token is invalid_request", async () => {
    const r = await s.exchange(A, [...subject(subj), ["subject_token", subj], ["resource", RES_BILLING]]);
    assertError(r, 400, "invalid_request");
    assert.equal((await lastRecord()).reason, "duplicate_parameter");
  });

  test("TX-8, TX-6, TX-60: repeated parameters and bad resources get the engine's answer and one record", async () => {
    // better-auth checks resource URIs before any grant handler runs (the
    // plugin answers those itself); repeated parameters reach the grant.
    for (const [pairs, error, reason] of [
      [[["scope", "profile"], ["scope", "orders:read"]], "invalid_request", "duplicate_parameter"],
      [[["grant_type", GRANT]], "invalid_request", "duplicate_parameter"],
      [[["resource", "relative/path"]], "invalid_target", "invalid_resource"],
      [[["resource", `${RES_BILLING}#part`]], "invalid_target", "invalid_resource"],
    ]) {
      const before = await s.countRows();
      const r = await s.exchange(A, [...subject(subj), ["resource", RES_BILLING], ...pairs]);
      assertError(r, 400, error);
      assert.equal(await s.countRows(), before + 1, "one audit record");
      const record = await lastRecord();
      assert.deepEqual([record.decision, record.reason, record.clientId], ["refused", reason, A.client_id]);
    }
  });

  test("TX-2, TX-70: a missing subject_token or subject_token_type is a JSON invalid_request, no-store", async () => {
    for (const pairs of [
      [["subject_token_type", TT.access], ["resource", RES_BILLING]],
      [["subject_token", subj], ["resource", RES_BILLING]],
    ]) {
      const r = await s.exchange(A, pairs);
      assertError(r, 400, "invalid_request");
      assert.equal((await lastRecord()).reason, "missing_parameter");
    }
  });

  test("TX-4, TX-70: a saml2 subject token type is invalid_request naming the type", async () => {
    const r = await s.exchange(A, [...subject("PHNhbWw+", TT.saml2), ["resource", RES_BILLING]]);
    assertError(r, 400, "invalid_request");
    assert.match(r.body.error_description, /saml2/);
    assert.equal((await lastRecord()).reason, "unsupported_token_type");
  });

  test("TX-3: actor_token without actor_token_type is invalid_request", async () => {
    const r = await s.exchange(A, [...subject(subj), ["actor_token", subj], ["resource", RES_BILLING]]);
    assertError(r, 400, "invalid_request");
  });

  test("TX-70: a body over 64 KiB is invalid_request before any parsing", async () => {
    const r = await s.exchange(A, [...subject(subj), ["resource", RES_BILLING], ["padding", "x".repeat(70 * 1024)]]);
    assertError(r, 400, "invalid_request");
    assert.equal((await lastRecord()).reason, "request_too_large");
  });

  test("TX-60: a failed issuance turns its granted record into a refusal (one attempt, one record)", async () => {
    const count = (await s.records()).length;
    const r = await s.exchange(A, [...subject(subj), ["resource", RES_DPOP]]);
    assertError(r, 400, "invalid_dpop_proof");
    const rows = await s.records();
    assert.equal(rows.length, count + 1);
    assert.deepEqual(
      [rows.at(-1).decision, rows.at(-1).error, rows.at(-1).reason, rows.at(-1).act],
      ["refused", "invalid_dpop_proof", "issuance_failed", null],
    );
  });
});

describe("audit", () => {
  test("TX-60: one record per attempt, granted or refused, and no token values anywhere", async () => {
    const subj = (await tokenFor(alice, A, { scope: "profile orders:read" })).access_token;
    const act = (await tokenFor(agent1, A, { scope: "profile" })).access_token;
    const count = (await s.records()).length;
    const attempts = [
      [A, [...subject(subj), ...actor(act), ["resource", RES_BILLING], ["scope", "orders:read"]], undefined],
      [A, [...subject(subj), ["resource", RES_BILLING]], "wrong"],
      [A, [...subject(subj), ["resource", RES_UNLINKED]], undefined],
      [A, [...subject("not-a-token"), ["resource", RES_BILLING]], undefined],
    ];
    for (const [client, pairs, secret] of attempts) {
      const r = await s.exchange(client, pairs, secret ? { secret } : {});
      track(r.body?.access_token);
    }
    const rows = await s.records();
    const fresh = rows.slice(count);
    assert.equal(fresh.length, attempts.length);
    assert.deepEqual(
      fresh.map((r) => [r.clientId, r.decision, r.error, r.reason]),
      [
        [A.client_id, "granted", null, null],
        [A.client_id, "refused", "invalid_client", "client_authentication_failed"],
        [A.client_id, "refused", "invalid_target", "target_not_allowed"],
        [A.client_id, "refused", "invalid_request", "token_inactive"],
      ],
    );
    const granted = fresh[0];
    assert.deepEqual(
      [granted.subject, granted.actor, granted.requestedScope, granted.grantedScope, granted.resources, granted.subjectTokenType, granted.actorTokenType],
      [alice.user.id, agent1.user.id, "orders:read", "orders:read", [RES_BILLING], TT.access, TT.access],
    );
    assert.ok(granted.createdAt instanceof Date);
    assert.ok(granted.expiresAt instanceof Date);
    // No token value, nor any part of a JWT, in any record of this suite.
    const everything = JSON.stringify(rows);
    for (const token of seenTokens) {
      for (const part of token.split(".").filter((p) => p.length > 16)) {
        assert.ok(!everything.includes(part), "a token value leaked into the audit table");
      }
    }
  });
});
