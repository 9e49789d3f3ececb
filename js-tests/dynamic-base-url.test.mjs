// better-auth's dynamic `baseURL` (`{ allowedHosts }`): the server answers on
// several hosts and signs the tokens issued on each in that host's name, so
// each host is an issuer of its own. The plugin keeps one engine (and key
// cache) per issuer: a token of this server is exchanged on the host that
// issued it, whichever host served the first exchange (TX-20: the issuer on an
// allow-list, this server being one issuer per host).

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { decodeJwt } from "jose";
import { signJWT } from "better-auth/plugins/jwt";
import { GRANT, startServer, subject } from "./helpers/server.mjs";

const RES = "https://billing.api.example/";
const SECOND = "http://second.test";

let s, A, alice;

before(async () => {
  s = await startServer({ baseURL: { allowedHosts: ["127.0.0.1:*", "second.test"], protocol: "http" } });
  await s.createResource(RES);
  A = await s.createClient("A", { metadata: { allowedTokenExchange: true } });
  await s.link(A, [RES]);
  alice = await s.signUp("alice@example.com", "Alice");
});

after(async () => {
  await s?.stop();
});

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

/** A token exchange handled as if it arrived on `host`. */
async function exchangeOn(host, token) {
  const body = new URLSearchParams([["grant_type", GRANT], ...subject(token), ["resource", RES]]);
  const response = await s.auth.handler(
    new Request(`${host}/api/auth/oauth2/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: s.basicHeader(A.client_id, A.client_secret) },
      body,
    }),
  );
  return { status: response.status, body: await response.json() };
}

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
