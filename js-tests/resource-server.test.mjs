// `better-auth-token-exchange/resource-server`: a downstream API verifying
// the tokens a BFF obtained by exchange, against a real better-auth server
// over HTTP on SQLite. The BFF exchanges with `exchangeToken` at the real
// token endpoint; the API verifies with the keys at the server's real
// `jwks_uri` (from discovery), through the engine: subject, current actor
// (outermost act, TX-44) and the whole chain, or `invalid_token` with the
// engine's reason code, the same code the exchange records for the same
// fault.

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { createJwk } from "better-auth/plugins";
import { exchangeToken } from "better-auth-token-exchange/bff";
import { createExchangedTokenVerifier, verifyExchangedToken } from "better-auth-token-exchange/resource-server";
import { API_A, API_B, startWorld } from "./helpers/bff-world.mjs";
import { startJwksServer, subject, TT } from "./helpers/server.mjs";

let w;
const t = {}; // tokens: user, agent1, agent2, impA, impB, delegated, hop2
const seen = new Set();

async function exchange(subjectToken, extra) {
  const result = await exchangeToken({
    tokenEndpoint: w.tokenEndpoint,
    clientAuth: w.clientAuth(w.bff),
    subjectToken,
    subjectTokenType: TT.access,
    ...extra,
  });
  assert.equal(result.ok, true, JSON.stringify(result.error));
  seen.add(result.token.access_token);
  return result.token.access_token;
}

/** A JWKS fetch that counts its calls. */
function countingFetch() {
  const counter = { calls: 0 };
  counter.fetch = (url, init) => {
    counter.calls++;
    return fetch(url, init);
  };
  return counter;
}

const options = (extra = {}) => ({ issuer: w.issuer, audience: API_A, jwksUri: w.jwksUri, logger: quiet, ...extra });
const quiet = { warn() {} };

function valid(result) {
  assert.equal(result.ok, true, JSON.stringify(result));
  return result;
}

/** Asserts invalid_token with `reason`, and no token material in the answer. */
function invalid(result, reason) {
  assert.equal(result.ok, false, `expected ${reason}, got a valid token`);
  assert.deepEqual({ error: result.error, reason: result.reason }, { error: "invalid_token", reason }, result.description);
  assert.ok(result.description.length > 0);
  for (const token of seen) {
    for (const part of token.split(".")) {
      if (part.length > 8) assert.ok(!result.description.includes(part), "token material in the description");
    }
  }
  return result;
}

before(async () => {
  w = await startWorld();
  t.user = await w.userToken(w.alice);
  t.agent1 = await w.userToken(w.agent1);
  t.agent2 = await w.userToken(w.agent2);
  for (const v of [t.user, t.agent1, t.agent2]) seen.add(v);
  // The BFF: impersonation for API A then API B, a delegation, a second hop.
  t.impA = await exchange(t.user, { resource: API_A });
  t.impB = await exchange(t.user, { audience: API_B });
  t.delegated = await exchange(t.user, { actorToken: t.agent1, resource: API_A });
  t.hop2 = await exchange(t.delegated, { actorToken: t.agent2, resource: API_A });
});

after(async () => {
  await w?.s.stop();
});

describe("verifying exchanged tokens with the server's jwks_uri", () => {
  test("TX-40, TX-52: an impersonation token gives the subject and no actor", async () => {
    const verifier = createExchangedTokenVerifier(options());
    const r = valid(await verifier.verify(t.impA));
    assert.equal(r.sub, w.alice.user.id);
    assert.equal(r.iss, w.issuer);
    assert.deepEqual(r.aud, [API_A]);
    assert.equal(r.clientId, w.bff.client_id);
    assert.deepEqual(r.scopes, ["profile", "orders:read", "billing:read"]);
    assert.ok(r.exp > Date.now() / 1000);
    assert.equal(r.actor, undefined);
    assert.deepEqual(r.chain, []);
    assert.equal(r.claims.jti.length > 0, true);
    verifier.free();
  });

  test("the one-shot form verifies the API B token for API B", async () => {
    const opts = options({ audience: [API_B, "https://other.example/"] });
    const r = valid(await verifyExchangedToken(t.impB, opts));
    assert.deepEqual([r.sub, r.aud], [w.alice.user.id, [API_B]]);
  });

  test("TX-41: a delegation gives the actor; its chain has one level", async () => {
    const r = valid(await verifyExchangedToken(t.delegated, options()));
    assert.equal(r.sub, w.alice.user.id);
    assert.deepEqual(r.actor, { sub: w.agent1.user.id, clientId: w.bff.client_id });
    assert.deepEqual(r.chain, [r.actor]);
    assert.deepEqual(r.claims.act, { sub: w.agent1.user.id, client_id: w.bff.client_id });
  });

  test("TX-41, TX-44: a second hop gives the newest actor first and the whole chain", async () => {
    const r = valid(await verifyExchangedToken(t.hop2, options()));
    assert.equal(r.sub, w.alice.user.id);
    assert.equal(r.actor.sub, w.agent2.user.id);
    assert.deepEqual(
      r.chain.map((a) => a.sub),
      [w.agent2.user.id, w.agent1.user.id],
    );
  });

  test("one JWKS fetch serves many verifications, concurrent ones included", async () => {
    const counter = countingFetch();
    const verifier = createExchangedTokenVerifier(options({ fetch: counter.fetch }));
    const results = await Promise.all([t.impA, t.delegated, t.hop2, t.impA].map((token) => verifier.verify(token)));
    for (const r of results) valid(r);
    valid(await verifier.verify(t.impA));
    assert.equal(counter.calls, 1);
  });
});

describe("refusals: invalid_token with the engine's reason", () => {
  test("a token for another audience: audience_mismatch", async () => {
    invalid(await verifyExchangedToken(t.impB, options()), "audience_mismatch");
    invalid(await verifyExchangedToken(t.impA, options({ audience: API_B })), "audience_mismatch");
  });

  test("another issuer: untrusted_issuer, with no key fetch", async () => {
    const counter = countingFetch();
    const r = await verifyExchangedToken(t.impA, options({ issuer: "https://other-as.example", fetch: counter.fetch }));
    invalid(r, "untrusted_issuer");
    assert.equal(counter.calls, 0, "keys were fetched for an issuer the token merely names");
  });

  test("TX-20: a tampered token gives the same reason here as at the exchange", async () => {
    const [h, p, sig] = t.delegated.split(".");
    const tampered = `${h}.${p}.${sig.slice(0, 10)}${sig[10] === "A" ? "B" : "A"}${sig.slice(11)}`;
    invalid(await verifyExchangedToken(tampered, options()), "bad_signature");
    // The actor removed from the payload, under the original signature.
    const claims = JSON.parse(Buffer.from(p, "base64url"));
    delete claims.act;
    const stripped = `${h}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${sig}`;
    invalid(await verifyExchangedToken(stripped, options()), "bad_signature");

    const r = await w.s.exchange(w.bff, [...subject(tampered), ["resource", API_B]]);
    assert.equal(r.status, 400);
    assert.equal(w.s.lastRecordRow().reason, "bad_signature");
  });

  test("TX-20: an expired token (the verifier's clock two hours on): token_expired", async () => {
    const later = () => Date.now() + 2 * 3600 * 1000;
    invalid(await verifyExchangedToken(t.impA, options({ now: later })), "token_expired");
    // Within the leeway it still passes.
    const exp = (await verifyExchangedToken(t.impA, options())).exp;
    valid(await verifyExchangedToken(t.impA, options({ now: () => (exp + 20) * 1000, leewaySeconds: 30 })));
    invalid(await verifyExchangedToken(t.impA, options({ now: () => (exp + 20) * 1000, leewaySeconds: 10 })), "token_expired");
  });

  test("requireActor refuses an impersonation token: actor_required", async () => {
    const opts = options({ requireActor: true });
    invalid(await verifyExchangedToken(t.impA, opts), "actor_required");
    valid(await verifyExchangedToken(t.delegated, opts));
  });

  test("TX-44: allowedActors is matched on the outermost actor only", async () => {
    const onlyAgent2 = options({ allowedActors: [w.agent2.user.id] });
    invalid(await verifyExchangedToken(t.delegated, onlyAgent2), "actor_not_allowed");
    valid(await verifyExchangedToken(t.hop2, onlyAgent2));
    // agent1 acted earlier in hop2's chain: history, not the current actor.
    invalid(await verifyExchangedToken(t.hop2, options({ allowedActors: [w.agent1.user.id] })), "actor_not_allowed");
    // Objects match every member given; an act without iss is the issuer's.
    const exact = options({ allowedActors: [{ sub: w.agent1.user.id, client_id: w.bff.client_id, iss: w.issuer }] });
    valid(await verifyExchangedToken(t.delegated, exact));
    const otherClient = options({ allowedActors: [{ sub: w.agent1.user.id, client_id: "someone-else" }] });
    invalid(await verifyExchangedToken(t.delegated, otherClient), "actor_not_allowed");
  });

  test("TX-25: a chain deeper than maxChainDepth: act_chain_too_deep", async () => {
    invalid(await verifyExchangedToken(t.hop2, options({ maxChainDepth: 1 })), "act_chain_too_deep");
    valid(await verifyExchangedToken(t.hop2, options({ maxChainDepth: 2 })));
    valid(await verifyExchangedToken(t.delegated, options({ maxChainDepth: 1 })));
    invalid(await verifyExchangedToken(t.delegated, options({ maxChainDepth: 0 })), "act_chain_too_deep");
    valid(await verifyExchangedToken(t.impA, options({ maxChainDepth: 0 })));
  });

  test("TX-22: alg none and HS256 (the public key as the secret) are refused", async () => {
    const [h, p] = t.impA.split(".");
    const header = JSON.parse(Buffer.from(h, "base64url"));
    const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const none = `${b64({ ...header, alg: "none" })}.${p}.`;
    invalid(await verifyExchangedToken(none, options()), "unsupported_algorithm");
    const jwks = await (await fetch(w.jwksUri)).json();
    const key = jwks.keys.find((k) => k.kid === header.kid);
    const input = `${b64({ ...header, alg: "HS256" })}.${p}`;
    for (const secret of [JSON.stringify(key), key.x]) {
      const hs = `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
      invalid(await verifyExchangedToken(hs, options()), "unsupported_algorithm");
    }
  });

  test("TX-22: jku is never followed", async () => {
    const attacker = await startJwksServer();
    try {
      const pair = await generateKeyPair("EdDSA", { extractable: true });
      attacker.setKeys("evil", { keys: [{ ...(await exportJWK(pair.publicKey)), kid: "evil-1", alg: "EdDSA" }] });
      const now = Math.floor(Date.now() / 1000);
      const forged = await new SignJWT({ sub: w.alice.user.id, client_id: w.bff.client_id, act: { sub: "intruder" } })
        .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid: "evil-1", jku: `${attacker.issuer("evil")}/jwks` })
        .setIssuer(w.issuer)
        .setAudience(API_A)
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(pair.privateKey);
      invalid(await verifyExchangedToken(forged, options()), "unknown_key");
      assert.equal(attacker.fetchCount("evil"), 0);
    } finally {
      await attacker.stop();
    }
  });

  test("TX-23: an ID token is not an access token: token_type_mismatch", async () => {
    const set = await w.s.authorize(w.alice, w.bff, { scope: "openid profile" });
    seen.add(set.id_token);
    invalid(await verifyExchangedToken(set.id_token, options({ audience: w.bff.client_id })), "token_type_mismatch");
  });

  test("an opaque access token cannot be verified locally: opaque_token", async () => {
    const opaque = (await w.s.authorize(w.alice, w.bff, { scope: "profile" })).access_token;
    assert.equal(opaque.split(".").length, 1, "the provider issued a JWT where an opaque token was expected");
    seen.add(opaque);
    const r = invalid(await verifyExchangedToken(opaque, options()), "opaque_token");
    assert.match(r.description, /introspection/);
  });

  test("an unknown kid: one refetch per interval, then the rotated key verifies", async () => {
    let clock = Date.now();
    const counter = countingFetch();
    const verifier = createExchangedTokenVerifier(
      options({ fetch: counter.fetch, now: () => clock, jwksRefetchIntervalSeconds: 30 }),
    );
    valid(await verifier.verify(t.impA));
    assert.equal(counter.calls, 1);

    // The server rotates: a new signing key, newer than the old one.
    await createJwk({ context: w.s.context }, {});
    const rotated = await exchange(t.user, { resource: API_A, scope: "profile" });
    const kid = (token) => JSON.parse(Buffer.from(token.split(".")[0], "base64url")).kid;
    assert.notEqual(kid(rotated), kid(t.impA), "the server did not sign with the new key");

    // The first fetch was moments ago: no refetch yet.
    invalid(await verifier.verify(rotated), "unknown_key");
    assert.equal(counter.calls, 1);
    clock += 31_000;
    valid(await verifier.verify(rotated));
    assert.equal(counter.calls, 2);
    // A stream of bogus kids does not drive fetches.
    const [, p, s] = rotated.split(".");
    for (let i = 0; i < 5; i++) {
      const bogus = `${Buffer.from(JSON.stringify({ alg: "EdDSA", typ: "at+jwt", kid: `bogus-${i}` })).toString("base64url")}.${p}.${s}`;
      invalid(await verifier.verify(bogus), "unknown_key");
    }
    assert.equal(counter.calls, 2);
    valid(await verifier.verify(t.impA)); // the old key is still published
  });

  test("a key set that cannot be fetched: unknown_key, reported to the logger", async () => {
    const warnings = [];
    const r = await verifyExchangedToken(
      t.impA,
      options({ jwksUri: `${w.s.base}/no-such-jwks`, logger: { warn: (m) => warnings.push(m) } }),
    );
    invalid(r, "unknown_key");
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /HTTP 404/);
  });

  test("a redirected jwks_uri is not followed: unknown_key", async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(302, { location: w.jwksUri });
      res.end();
    });
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const warnings = [];
      const jwksUri = `http://127.0.0.1:${server.address().port}/jwks`;
      invalid(await verifyExchangedToken(t.impA, options({ jwksUri, logger: { warn: (m) => warnings.push(m) } })), "unknown_key");
      assert.match(warnings[0], /HTTP 302/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test("inline keys instead of jwks_uri", async () => {
    const jwks = await (await fetch(w.jwksUri)).json();
    const { jwksUri: _, ...rest } = options();
    valid(await verifyExchangedToken(t.hop2, { ...rest, jwks }));
  });

  test("bad options throw a TypeError at creation", () => {
    const base = options();
    for (const bad of [
      { audience: undefined },
      { audience: [] },
      { issuer: "" },
      { jwks: { keys: [] } }, // with jwksUri too
      { jwksUri: undefined },
      { maxChainDepth: -1 },
      { maxChainDepth: 33 },
      { allowedActors: [""] },
    ]) {
      assert.throws(() => createExchangedTokenVerifier({ ...base, ...bad }), TypeError, JSON.stringify(bad));
    }
    const { jwksUri: _, ...inline } = base;
    assert.throws(() => createExchangedTokenVerifier({ ...inline, jwks: { keys: [{ kty: "oct", k: "c2VjcmV0" }] } }), /refused/);
  });
});
