// The plugin's in-process key cache is bounded in time (TX-24, TX-22): a
// trusted issuer's key set is reloaded after `jwksCacheTtlSeconds`; while
// reloads fail the last set keeps serving, but only until
// `jwksMaxStaleSeconds` after its last successful load; then it is dropped
// and the issuer's tokens are refused (`unknown_key`) until a reload works.
// (Its size is bounded by construction: entries exist only for this server
// and configured issuers, and each set holds at most 100 keys.)

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { startJwksServer, startServer, subject, TT } from "./helpers/server.mjs";

const AUDIENCE = "https://as.example/";
const RES = "https://billing.api.example/";
const TTL = 1;
const MAX_STALE = 4;

let s, ext, A, key;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function token(name, sub = "ext-alice") {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ scope: "profile" })
    .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: "k1" })
    .setIssuer(ext.issuer(name))
    .setAudience(AUDIENCE)
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(key.privateKey);
}

before(async () => {
  ext = await startJwksServer();
  key = await generateKeyPair("ES256", { extractable: true });
  const jwk = { ...(await exportJWK(key.publicKey)), kid: "k1", alg: "ES256", use: "sig" };
  ext.setKeys("idp", { keys: [jwk] });
  s = await startServer({
    exchange: {
      trustedIssuers: [{ issuer: ext.issuer("idp"), audiences: [AUDIENCE], jwksUri: `${ext.issuer("idp")}/jwks`, providerId: "idp" }],
      jwksCacheTtlSeconds: TTL,
      jwksMaxStaleSeconds: MAX_STALE,
      jwksRefetchIntervalSeconds: 1,
    },
  });
  await s.createResource(RES);
  A = await s.createClient("A", { metadata: { allowedTokenExchange: true, tokenExchange: { trustedIssuers: [ext.issuer("idp")] } } });
  await s.link(A, [RES]);
  const alice = await s.signUp("alice@example.com", "Alice");
  await s.linkAccount(alice, "idp", "ext-alice");
  // Keep the JWKS document to restore it.
  ext.saved = { keys: [jwk] };
});

after(async () => {
  await s?.stop();
  await ext?.stop();
});

test("TX-24: a key set that cannot be reloaded serves until jwksMaxStaleSeconds, then is dropped", async () => {
  const exchange = async () => s.exchange(A, [...subject(await token("idp"), TT.jwt), ["resource", RES]]);
  const lastReason = async () => (await s.allRecords()).at(-1).reason;

  const first = await exchange();
  assert.equal(first.status, 200, JSON.stringify(first.body));
  const loaded = Date.now(); // the set was loaded before this
  assert.equal(ext.fetchCount("idp"), 1);

  // The issuer's JWKS endpoint goes away (404 from now on).
  ext.setKeys("idp", undefined);

  // Past the TTL the set is due for a reload; the reload fails and the last
  // set keeps serving.
  await sleep(TTL * 1000 + 400 - (Date.now() - loaded));
  const stale = await exchange();
  assert.equal(stale.status, 200, JSON.stringify(stale.body));
  assert.equal(ext.fetchCount("idp"), 2, "a reload was attempted");

  // Past the stale bound the set is dropped: the issuer's tokens are refused.
  await sleep(MAX_STALE * 1000 + 300 - (Date.now() - loaded));
  const dropped = await exchange();
  assert.deepEqual([dropped.status, dropped.body.error], [400, "invalid_request"]);
  assert.equal(await lastReason(), "unknown_key");

  // A reload that works restores it.
  ext.setKeys("idp", ext.saved);
  await sleep(1100);
  const restored = await exchange();
  assert.equal(restored.status, 200, JSON.stringify(restored.body));
});
