// This server's own keys kept elsewhere: better-auth's jwt plugin with
// `jwks.remoteUrl` (and a `jwt.sign` of the application's) serves no JWKS of
// its own, so the plugin fetches the remote set like a trusted issuer's
// (TX-22, TX-24). Subject tokens of this server are verified against it, and
// a stream of tokens naming `kid`s the set lacks drives at most one fetch per
// `jwksRefetchIntervalSeconds`, not one per request, nor one per host with a
// dynamic `baseURL`.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from "jose";
import { startJwksServer, startServer, subject } from "./helpers/server.mjs";

const RES = "https://billing.api.example/";
const REFETCH_SECONDS = 2;

let s, keyHost, A, alice;
const keys = {}; // kid -> key pair

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const publicJwk = async (kid) => ({ ...(await exportJWK(keys[kid].publicKey)), kid, alg: "EdDSA", use: "sig" });

/** The application's signer: the jwt plugin hands it every payload to sign. */
let signingKid = "k1";
async function sign(payload, header) {
  return new SignJWT(payload)
    .setProtectedHeader({ ...header, alg: "EdDSA", kid: signingKid })
    .sign(keys[signingKid].privateKey);
}

/** A token in this server's name, signed with `kid` (a key the remote set may lack). */
async function ownToken(kid) {
  keys[kid] ??= await generateKeyPair("EdDSA", { extractable: true });
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ scope: "profile", azp: A.client_id, client_id: A.client_id, sid: "none" })
    .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid })
    .setIssuer(s.issuer)
    .setAudience(RES)
    .setSubject(alice.user.id)
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(keys[kid].privateKey);
}

before(async () => {
  keyHost = await startJwksServer();
  keys.k1 = await generateKeyPair("EdDSA", { extractable: true });
  keyHost.setKeys("own", { keys: [await publicJwk("k1")] });
  s = await startServer({
    jwt: { jwks: { remoteUrl: `${keyHost.issuer("own")}/jwks`, keyPairConfig: { alg: "EdDSA" } }, jwt: { sign } },
    exchange: { jwksRefetchIntervalSeconds: REFETCH_SECONDS },
  });
  await s.createResource(RES);
  A = await s.createClient("A", { metadata: { allowedTokenExchange: true } });
  await s.link(A, [RES]);
  alice = await s.signUp("alice@example.com", "Alice");
});

after(async () => {
  await s?.stop();
  await keyHost?.stop();
});

test("TX-22: a subject token of this server is verified against the remote key set", async () => {
  const subj = (await s.authorize(alice, A, { scope: "profile", resource: RES })).access_token;
  assert.equal(decodeJwt(subj).iss, s.issuer);
  const r = await s.exchange(A, [...subject(subj), ["resource", RES]]);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(decodeJwt(r.body.access_token).sub, alice.user.id);
  assert.ok(keyHost.fetchCount("own") >= 1, "the remote set was fetched");
});

test("TX-22: tokens naming unknown kids in this server's name cause at most one fetch per interval", async () => {
  await sleep(REFETCH_SECONDS * 1000); // the previous test's fetch is out of the interval
  const before = keyHost.fetchCount("own");
  for (let i = 0; i < 20; i++) {
    const r = await s.exchange(A, [...subject(await ownToken(`unknown-${i}`)), ["resource", RES]]);
    assert.equal(r.status, 400);
    assert.equal(r.body.error, "invalid_request");
  }
  const fetched = keyHost.fetchCount("own") - before;
  assert.ok(fetched <= 1, `20 unknown kids caused ${fetched} fetches`);
  const row = await s.records();
  assert.equal(row.at(-1).reason, "unknown_key");
});

test("TX-24: a key added to the remote set is accepted once the refetch interval allows a reload", async () => {
  keys.k2 = await generateKeyPair("EdDSA", { extractable: true });
  keyHost.setKeys("own", { keys: [await publicJwk("k1"), await publicJwk("k2")] });
  signingKid = "k2";
  try {
    await sleep(REFETCH_SECONDS * 1000 + 100);
    const subj = (await s.authorize(alice, A, { scope: "profile", resource: RES })).access_token;
    const r = await s.exchange(A, [...subject(subj), ["resource", RES]]);
    assert.equal(r.status, 200, JSON.stringify(r.body));
  } finally {
    signingKid = "k1";
  }
});

test("TX-22: with a dynamic baseURL the remote set is fetched once for every host, and the refetch limit holds across hosts", async () => {
  keyHost.setKeys("shared", { keys: [await publicJwk("k1")] });
  const d = await startServer({
    baseURL: { allowedHosts: ["127.0.0.1:*", "*.hosts.test"], protocol: "http" },
    jwt: { jwks: { remoteUrl: `${keyHost.issuer("shared")}/jwks`, keyPairConfig: { alg: "EdDSA" } }, jwt: { sign } },
    exchange: { jwksRefetchIntervalSeconds: 60 },
  });
  try {
    await d.createResource(RES);
    const client = await d.createClient("A", { metadata: { allowedTokenExchange: true } });
    await d.link(client, [RES]);
    const bob = await d.signUp("bob@example.com", "Bob");
    /** A token in the server's name on `host` (that host's issuer), signed with `kid`. */
    const tokenOn = async (host, kid) => {
      keys[kid] ??= await generateKeyPair("EdDSA", { extractable: true });
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ scope: "profile", azp: client.client_id, client_id: client.client_id })
        .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid })
        .setIssuer(`${host}/api/auth`)
        .setAudience(RES)
        .setSubject(bob.user.id)
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(keys[kid].privateKey);
    };
    const exchangeOn = (host, token) => d.exchangeOn(host, client, [...subject(token), ["resource", RES]]);
    // More hosts than engines kept: engines are dropped and created again.
    const hosts = Array.from({ length: 20 }, (_, i) => `http://h${i}.hosts.test`);
    for (const host of [...hosts, ...hosts]) {
      const r = await exchangeOn(host, await tokenOn(host, "k1"));
      assert.equal(r.status, 200, `${host}: ${JSON.stringify(r.body)}`);
      assert.equal(decodeJwt(r.body.access_token).iss, `${host}/api/auth`);
    }
    assert.equal(keyHost.fetchCount("shared"), 1, "one fetch for 40 exchanges on 20 hosts");
    for (const [i, host] of hosts.entries()) {
      const r = await exchangeOn(host, await tokenOn(host, `elsewhere-${i}`));
      assert.equal(r.status, 400, JSON.stringify(r.body));
    }
    assert.equal(keyHost.fetchCount("shared"), 1, "unknown kids on 20 hosts: no fetch within the interval");
    assert.equal((await d.records()).at(-1).reason, "unknown_key");
  } finally {
    await d.stop();
  }
});
