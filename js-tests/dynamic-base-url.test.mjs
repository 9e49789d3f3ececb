// better-auth's dynamic `baseURL` (`{ allowedHosts }`): the server answers on
// several hosts and signs the tokens issued on each in that host's name, so
// each host is an issuer of its own. The plugin keeps one engine (and key
// cache) per issuer: a token of this server is exchanged on the host that
// issued it, whichever host served the first exchange (TX-20: the issuer on an
// allow-list, this server being one issuer per host). The trusted issuers' key
// sets are shared by those engines: loaded once for every host, with one
// refetch rate limit (TX-22, TX-24).

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from "jose";
import { signJWT } from "better-auth/plugins/jwt";
import { startJwksServer, startServer, subject, TT } from "./helpers/server.mjs";

const RES = "https://billing.api.example/";
const SECOND = "http://second.test";
const IDP_AUDIENCE = "https://as.example/";
const REFETCH_SECONDS = 8;

let s, ext, A, alice;
const idpKeys = {}; // kid -> key pair

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

before(async () => {
  ext = await startJwksServer();
  idpKeys.k1 = await generateKeyPair("ES256", { extractable: true });
  ext.setKeys("idp", { keys: [await idpJwk("k1")] });
  s = await startServer({
    baseURL: { allowedHosts: ["127.0.0.1:*", "second.test", "*.hosts.test"], protocol: "http" },
    exchange: {
      trustedIssuers: [
        { issuer: ext.issuer("idp"), audiences: [IDP_AUDIENCE], jwksUri: `${ext.issuer("idp")}/jwks`, providerId: "idp" },
      ],
      jwksRefetchIntervalSeconds: REFETCH_SECONDS,
    },
  });
  await s.createResource(RES);
  A = await s.createClient("A", {
    metadata: { allowedTokenExchange: true, tokenExchange: { trustedIssuers: [ext.issuer("idp")] } },
  });
  await s.link(A, [RES]);
  alice = await s.signUp("alice@example.com", "Alice");
  await s.linkAccount(alice, "idp", "ext-alice");
});

after(async () => {
  await s?.stop();
  await ext?.stop();
});

async function idpJwk(kid) {
  return { ...(await exportJWK(idpKeys[kid].publicKey)), kid, alg: "ES256", use: "sig" };
}

/** A token of the trusted issuer about Alice, signed with `kid` (a key its set may lack). */
async function idpToken(kid) {
  idpKeys[kid] ??= await generateKeyPair("ES256", { extractable: true });
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ scope: "profile" })
    .setProtectedHeader({ alg: "ES256", typ: "JWT", kid })
    .setIssuer(ext.issuer("idp"))
    .setAudience(IDP_AUDIENCE)
    .setSubject("ext-alice")
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(idpKeys[kid].privateKey);
}

/** An access token of this server as the provider signs it on `host`: its key, the host's issuer. */
async function tokenOn(host) {
  const now = Math.floor(Date.now() / 1000);
  return signJWT({ context: s.context }, {
    options: s.context.getPlugin("jwt").options,
    header: { typ: "at+jwt" },
    payload: {
      iss: `${host}/api/auth`,
      sub: alice.user.id,
      aud: RES,
      client_id: A.client_id,
      azp: A.client_id,
      scope: "profile",
      iat: now,
      exp: now + 600,
    },
  });
}

/** A token exchange by A as if it arrived on `host`. */
const exchangeOn = (host, token, type = TT.access) => s.exchangeOn(host, A, [...subject(token, type), ["resource", RES]]);

test("TX-20: each host exchanges the tokens issued in its name, whichever host answered first", async () => {
  // The first exchange, on the server's own host.
  const first = (await s.authorize(alice, A, { scope: "profile", resource: RES })).access_token;
  assert.equal(decodeJwt(first).iss, `${s.listenOrigin}/api/auth`);
  const r1 = await s.exchange(A, [...subject(first), ["resource", RES]]);
  assert.equal(r1.status, 200, JSON.stringify(r1.body));
  assert.equal(decodeJwt(r1.body.access_token).iss, `${s.listenOrigin}/api/auth`);

  // Then the second host, with a token issued there.
  const r2 = await exchangeOn(SECOND, await tokenOn(SECOND));
  assert.equal(r2.status, 200, JSON.stringify(r2.body));
  assert.equal(decodeJwt(r2.body.access_token).iss, `${SECOND}/api/auth`);

  // And the first host again: its engine is still there.
  const r3 = await s.exchange(A, [...subject(await tokenOn(s.listenOrigin)), ["resource", RES]]);
  assert.equal(r3.status, 200, JSON.stringify(r3.body));
});

test("TX-20: a token issued on one host is another issuer's on the other host", async () => {
  const r = await exchangeOn(SECOND, await tokenOn(s.listenOrigin));
  assert.deepEqual([r.status, r.body.error], [400, "invalid_request"]);
  const rows = await s.records();
  assert.equal(rows.at(-1).reason, "untrusted_issuer");
});

test("TX-24: a trusted issuer's keys are loaded once for every host, and the refetch limit holds across hosts", async () => {
  // More hosts than engines kept: engines are dropped and created again.
  const hosts = Array.from({ length: 20 }, (_, i) => `http://h${i}.hosts.test`);
  const fetches = () => ext.fetchCount("idp");
  const lastReason = async () => (await s.records()).at(-1).reason;

  // The first exchange loads the set.
  const loaded = Date.now();
  const first = await exchangeOn(hosts[0], await idpToken("k1"), TT.jwt);
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal(fetches(), 1);

  // Tokens naming kids the set lacks, each on another host: within the
  // refetch interval none causes a fetch (one engine per host would fetch
  // on each).
  for (const [i, host] of hosts.entries()) {
    const r = await exchangeOn(host, await idpToken(`unknown-${i}`), TT.jwt);
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(await lastReason(), "unknown_key");
  }
  assert.equal(fetches(), 1, "no fetch within the refetch interval, whatever the host");

  for (const host of [...hosts, ...hosts]) {
    const r = await exchangeOn(host, await idpToken("k1"), TT.jwt);
    assert.equal(r.status, 200, `${host}: ${JSON.stringify(r.body)}`);
  }
  assert.equal(fetches(), 1, "one fetch for every exchange on 20 hosts");

  // The issuer rotates to k2. Past the interval, a k2 token on one host
  // reloads the set; every other host then has it without a fetch of its
  // own, and k1, gone from the set, is refused everywhere.
  idpKeys.k2 = await generateKeyPair("ES256", { extractable: true });
  ext.setKeys("idp", { keys: [await idpJwk("k2")] });
  await sleep(Math.max(0, REFETCH_SECONDS * 1000 + 200 - (Date.now() - loaded)));
  for (const host of hosts) {
    const r = await exchangeOn(host, await idpToken("k2"), TT.jwt);
    assert.equal(r.status, 200, `${host}: ${JSON.stringify(r.body)}`);
  }
  assert.equal(fetches(), 2, "the rotation was fetched once");
  const old = await exchangeOn(hosts[7], await idpToken("k1"), TT.jwt);
  assert.equal(old.status, 400, JSON.stringify(old.body));
  assert.equal(await lastReason(), "unknown_key");
});
