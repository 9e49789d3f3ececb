// `better-auth-token-exchange/bff`: exchangeToken and its cache, against a
// real better-auth server over HTTP on SQLite (the token endpoint from
// discovery), imported from the built package as a user imports it. A few
// cases that need an answer no correct server gives (no expires_in, HTML,
// silence) use a small HTTP server of their own or a custom fetch.

import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { decodeJwt } from "jose";
import { createExchangeTokenCache, exchangeToken, TOKEN_EXCHANGE_GRANT_TYPE } from "better-auth-token-exchange/bff";
import { API_A, API_B, startWorld, UNLINKED } from "./helpers/bff-world.mjs";
import { TT } from "./helpers/server.mjs";

let w; // the world: server, clients, users
let aliceToken; // Alice's access token, issued to the BFF for API_A
const seen = new Set(); // token values, which no description may contain

before(async () => {
  w = await startWorld();
  aliceToken = await w.userToken(w.alice);
  seen.add(aliceToken);
});

after(async () => {
  await w?.s.stop();
});

/** exchangeToken with the BFF's credentials, the real token endpoint and Alice's token. */
function exchange(extra = {}) {
  return exchangeToken({
    tokenEndpoint: w.tokenEndpoint,
    clientAuth: w.clientAuth(w.bff),
    subjectToken: aliceToken,
    subjectTokenType: TT.access,
    ...extra,
  });
}

function ok(result) {
  assert.equal(result.ok, true, JSON.stringify(result.error));
  seen.add(result.token.access_token);
  return result.token;
}

/** Asserts a typed error: code and status, a description without token values. */
function failed(result, error, status) {
  assert.equal(result.ok, false, "expected an error");
  assert.deepEqual({ error: result.error.error, status: result.error.status }, { error, status }, JSON.stringify(result.error));
  const text = JSON.stringify(result.error);
  for (const token of seen) assert.ok(!text.includes(token), "a token value leaked into the error");
  return result.error;
}

describe("exchangeToken against the real token endpoint", () => {
  test("TX-1, TX-40, TX-50: impersonation for API A, then for API B", async () => {
    assert.equal(TOKEN_EXCHANGE_GRANT_TYPE, "urn:ietf:params:oauth:grant-type:token-exchange");
    const a = ok(await exchange({ resource: API_A }));
    assert.equal(a.issued_token_type, TT.access);
    assert.equal(a.token_type, "Bearer");
    assert.equal(typeof a.expires_in, "number");
    assert.deepEqual(Object.keys(a).filter((k) => !["access_token", "issued_token_type", "token_type", "expires_in", "scope", "refresh_token"].includes(k)), []);
    const claimsA = decodeJwt(a.access_token);
    assert.deepEqual([claimsA.aud, claimsA.sub, claimsA.client_id, claimsA.act], [API_A, w.alice.user.id, w.bff.client_id, undefined]);

    const b = ok(await exchange({ audience: API_B, subjectTokenType: "access_token" })); // short type names too
    const claimsB = decodeJwt(b.access_token);
    assert.deepEqual([claimsB.aud, claimsB.sub, claimsB.act], [API_B, w.alice.user.id, undefined]);
  });

  test("TX-10: client_secret_post authenticates in the body", async () => {
    const own = await w.userToken(w.alice, w.bffPost);
    seen.add(own);
    const result = await exchangeToken({
      tokenEndpoint: new URL(w.tokenEndpoint),
      clientAuth: w.clientAuth(w.bffPost),
      subjectToken: own,
      subjectTokenType: TT.access,
      resource: API_B,
    });
    assert.equal(decodeJwt(ok(result).access_token).client_id, w.bffPost.client_id);
  });

  test("TX-41: an actor token gives act; a second hop nests the first actor", async () => {
    const agent1 = await w.userToken(w.agent1);
    const agent2 = await w.userToken(w.agent2);
    seen.add(agent1).add(agent2);
    const first = ok(await exchange({ actorToken: agent1, actorTokenType: TT.access, resource: API_B }));
    assert.deepEqual(decodeJwt(first.access_token).act, { sub: w.agent1.user.id, client_id: w.bff.client_id });

    // actorTokenType defaults to access_token.
    const second = ok(await exchange({ subjectToken: first.access_token, actorToken: agent2, resource: API_A }));
    const claims = decodeJwt(second.access_token);
    assert.equal(claims.sub, w.alice.user.id);
    assert.deepEqual(claims.act, {
      sub: w.agent2.user.id,
      client_id: w.bff.client_id,
      act: { sub: w.agent1.user.id, client_id: w.bff.client_id },
    });
  });

  test("TX-6: several audiences and resources are sent as repeated parameters", async () => {
    const token = ok(await exchange({ audience: [API_A], resource: [API_B], scope: ["profile", "orders:read"] }));
    assert.deepEqual([...decodeJwt(token.access_token).aud].sort(), [API_A, API_B]);
    assert.equal(decodeJwt(token.access_token).scope, "profile orders:read");
  });

  test("TX-6: a target the client may not use is invalid_target (400)", async () => {
    const error = failed(await exchange({ resource: UNLINKED }), "invalid_target", 400);
    assert.equal(typeof error.error_description, "string");
  });

  test("TX-10, TX-70: a wrong secret is invalid_client (401), with Basic and with post", async () => {
    failed(await exchange({ clientAuth: w.clientAuth(w.bff, "not-the-secret"), resource: API_A }), "invalid_client", 401);
    failed(await exchange({ clientAuth: w.clientAuth(w.bffPost, "not-the-secret"), resource: API_A }), "invalid_client", 401);
  });

  test("TX-11: a client not opted in is unauthorized_client (400)", async () => {
    const own = await w.userToken(w.alice, w.notOptedIn, "profile");
    seen.add(own);
    const result = await exchangeToken({
      tokenEndpoint: w.tokenEndpoint,
      clientAuth: w.clientAuth(w.notOptedIn),
      subjectToken: own,
      subjectTokenType: TT.access,
      resource: API_A,
    });
    failed(result, "unauthorized_client", 400);
  });

  test("TX-20: a tampered subject token is invalid_request, its value in no message", async () => {
    const [h, p, sig] = aliceToken.split(".");
    const tampered = `${h}.${p}.${sig.slice(0, 10)}${sig[10] === "A" ? "B" : "A"}${sig.slice(11)}`;
    seen.add(tampered);
    failed(await exchange({ subjectToken: tampered, resource: API_A }), "invalid_request", 400);
  });

  test("missing options reject with a TypeError before any request", async () => {
    await assert.rejects(exchange({ subjectToken: "" }), TypeError);
    await assert.rejects(exchange({ clientAuth: { method: "private_key_jwt", clientId: "x", clientSecret: "y" } }), TypeError);
    await assert.rejects(exchangeToken({ clientAuth: w.clientAuth(w.bff), subjectToken: "t", subjectTokenType: TT.access }), TypeError);
  });
});

describe("exchangeToken without a usable answer", () => {
  let odd; // an HTTP server answering what no token endpoint should
  let oddUrl;

  before(async () => {
    odd = http.createServer((req, res) => {
      if (req.url === "/html") {
        res.writeHead(502, { "content-type": "text/html" });
        res.end("<html>bad gateway</html>");
      } else if (req.url === "/shape") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ access_token: 42, token_type: "Bearer" }));
      } else if (req.url === "/huge") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(`{"access_token":"${"x".repeat(300 * 1024)}"}`);
      } else if (req.url === "/redirect") {
        res.writeHead(307, { location: w.tokenEndpoint });
        res.end();
      } else if (req.url === "/silent") {
        // never answers
      }
    });
    await new Promise((resolve) => odd.listen(0, "127.0.0.1", resolve));
    oddUrl = (path) => `http://127.0.0.1:${odd.address().port}${path}`;
  });

  after(async () => {
    odd.closeAllConnections();
    await new Promise((resolve) => odd.close(resolve));
  });

  test("an endpoint nobody listens on is network_error (status 0)", async () => {
    const closed = http.createServer();
    await new Promise((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${closed.address().port}/token`;
    await new Promise((resolve) => closed.close(resolve));
    const error = failed(await exchange({ tokenEndpoint: url, resource: API_A }), "network_error", 0);
    assert.match(error.error_description, /could not be reached/);
  });

  test("a non-JSON answer, a wrong shape and an oversized body are invalid_response", async () => {
    failed(await exchange({ tokenEndpoint: oddUrl("/html") }), "invalid_response", 502);
    failed(await exchange({ tokenEndpoint: oddUrl("/shape") }), "invalid_response", 200);
    failed(await exchange({ tokenEndpoint: oddUrl("/huge") }), "invalid_response", 0);
  });

  test("a redirect is not followed: invalid_response, and the other endpoint never sees the request", async () => {
    const rows = await w.s.countRows();
    failed(await exchange({ tokenEndpoint: oddUrl("/redirect"), resource: API_A }), "invalid_response", 307);
    assert.equal(await w.s.countRows(), rows);
  });

  test("silence is a timeout; the caller's signal aborts", async () => {
    const started = Date.now();
    failed(await exchange({ tokenEndpoint: oddUrl("/silent"), timeoutMs: 200 }), "timeout", 0);
    assert.ok(Date.now() - started < 5000);
    const controller = new AbortController();
    const pending = exchange({ tokenEndpoint: oddUrl("/silent"), signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    failed(await pending, "aborted", 0);
    failed(await exchange({ tokenEndpoint: oddUrl("/silent"), signal: AbortSignal.abort() }), "aborted", 0);
  });

  test("a custom fetch that throws is network_error, its message not repeated", async () => {
    const fetch = async () => {
      throw new Error(`boom ${aliceToken}`);
    };
    const error = failed(await exchange({ fetch }), "network_error", 0);
    assert.match(error.error_description, /\(Error\)/);
  });
});

describe("the request on the wire", () => {
  /** A fetch that records the request and answers a token. */
  function recorder(answer = { access_token: "issued", issued_token_type: TT.access, token_type: "Bearer", expires_in: 600 }) {
    const calls = [];
    const fetch = async (url, init) => {
      calls.push({ url, ...init, form: new URLSearchParams(init.body) });
      return new Response(JSON.stringify(answer), { status: 200, headers: { "content-type": "application/json" } });
    };
    return { calls, fetch };
  }

  test("RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64", async () => {
    const { calls, fetch } = recorder();
    await exchangeToken({
      tokenEndpoint: "https://as.example/token",
      clientAuth: { method: "client_secret_basic", clientId: "a b:c", clientSecret: "p%+&/é" },
      subjectToken: "subject",
      subjectTokenType: "jwt",
      fetch,
    });
    const [call] = calls;
    assert.equal(call.method, "POST");
    assert.equal(call.redirect, "manual");
    assert.equal(call.headers["content-type"], "application/x-www-form-urlencoded");
    const decoded = atob(call.headers.authorization.replace(/^Basic /, ""));
    assert.equal(decoded, "a+b%3Ac:p%25%2B%26%2F%C3%A9");
    assert.equal(call.form.get("client_id"), null);
    assert.equal(call.form.get("subject_token_type"), TT.jwt);
  });

  test("RFC 8693 §2.1: the form, with repeats, and post credentials", async () => {
    const { calls, fetch } = recorder();
    await exchangeToken({
      tokenEndpoint: "https://as.example/token",
      clientAuth: { method: "client_secret_post", clientId: "bff", clientSecret: "s3cret" },
      subjectToken: "subject",
      subjectTokenType: TT.access,
      actorToken: "actor",
      audience: ["orders", "billing"],
      resource: ["https://a.example/", "https://b.example/"],
      scope: "read  write",
      requestedTokenType: "jwt",
      fetch,
    });
    const [{ form, headers }] = calls;
    assert.equal(headers.authorization, undefined);
    assert.deepEqual([...form], [
      ["grant_type", TOKEN_EXCHANGE_GRANT_TYPE],
      ["subject_token", "subject"],
      ["subject_token_type", TT.access],
      ["actor_token", "actor"],
      ["actor_token_type", TT.access],
      ["audience", "orders"],
      ["audience", "billing"],
      ["resource", "https://a.example/"],
      ["resource", "https://b.example/"],
      ["scope", "read write"],
      ["requested_token_type", TT.jwt],
      ["client_id", "bff"],
      ["client_secret", "s3cret"],
    ]);
  });

  test("short token type names: id_jag is the draft's id-jag URN (not id_jag)", async () => {
    const { calls, fetch } = recorder();
    const common = { tokenEndpoint: "https://as.example/token", clientAuth: { method: "client_secret_basic", clientId: "c", clientSecret: "s" }, fetch };
    await exchangeToken({ ...common, subjectToken: "t", subjectTokenType: "id_token", requestedTokenType: "id_jag" });
    await exchangeToken({ ...common, subjectToken: "t", subjectTokenType: "access_token", requestedTokenType: "refresh_token" });
    assert.deepEqual(
      calls.map(({ form }) => [form.get("subject_token_type"), form.get("requested_token_type")]),
      [
        ["urn:ietf:params:oauth:token-type:id_token", "urn:ietf:params:oauth:token-type:id-jag"],
        ["urn:ietf:params:oauth:token-type:access_token", "urn:ietf:params:oauth:token-type:refresh_token"],
      ],
    );
  });
});

describe("the cache", () => {
  test("an identical request is served from the cache: no new exchange at the server", async () => {
    const cache = createExchangeTokenCache();
    const first = await exchange({ resource: API_A, cache });
    ok(first);
    assert.equal(first.cached, false);
    const rows = await w.s.countRows();
    const again = await exchange({ resource: [API_A], scope: undefined, cache });
    assert.equal(again.cached, true);
    assert.equal(ok(again).access_token, first.token.access_token);
    assert.ok(again.token.expires_in <= first.token.expires_in);
    assert.equal(await w.s.countRows(), rows, "the server saw another exchange");
    assert.equal(cache.size, 1);
  });

  test("another scope, target, actor or client is not served another's token", async () => {
    const cache = createExchangeTokenCache();
    const agent = await w.userToken(w.agent1);
    seen.add(agent);
    const variants = [
      { resource: API_A },
      { resource: API_A, scope: "profile" },
      { resource: API_B },
      { resource: [API_A, API_B] },
      { audience: API_A },
      { resource: API_A, actorToken: agent },
    ];
    const tokens = new Set();
    for (const variant of variants) {
      const rows = await w.s.countRows();
      const result = await exchange({ ...variant, cache });
      tokens.add(ok(result).access_token);
      assert.equal(result.cached, false, JSON.stringify(variant));
      assert.equal(await w.s.countRows(), rows + 1, JSON.stringify(variant));
    }
    assert.equal(tokens.size, variants.length);
    // The same targets and scope in another order are the same request.
    const rows = await w.s.countRows();
    assert.equal((await exchange({ resource: [API_B, API_A], cache })).cached, true);
    assert.equal((await exchange({ resource: API_A, scope: ["profile"], cache })).cached, true);
    assert.equal(await w.s.countRows(), rows);
    // Another client with the same subject token is another request.
    const other = await exchange({ resource: API_A, clientAuth: w.clientAuth(w.bffPost), cache });
    assert.equal(other.ok, false); // the token was not issued to it (TX-26): and nothing was served
    assert.equal(await w.s.countRows(), rows + 1);
  });

  test("never served at or past expires_in minus the skew (injected clock)", async () => {
    let now = Date.now();
    const cache = createExchangeTokenCache({ skewSeconds: 30, now: () => now });
    const first = ok(await exchange({ resource: API_B, cache }));
    const lifetime = first.expires_in;
    assert.ok(lifetime > 60);
    now += (lifetime - 31) * 1000;
    const hit = await exchange({ resource: API_B, cache });
    assert.equal(hit.cached, true);
    assert.ok(hit.token.expires_in <= 31, `expires_in ${hit.token.expires_in}`);
    now += 1000;
    const rows = await w.s.countRows();
    const miss = await exchange({ resource: API_B, cache });
    assert.equal(miss.cached, false);
    assert.equal(await w.s.countRows(), rows + 1);
    assert.notEqual(miss.token.access_token, first.access_token);
  });

  test("concurrent identical requests share one exchange", async () => {
    const cache = createExchangeTokenCache();
    const rows = await w.s.countRows();
    const results = await Promise.all([1, 2, 3].map(() => exchange({ resource: API_A, scope: "orders:read", cache })));
    assert.equal(await w.s.countRows(), rows + 1);
    assert.equal(new Set(results.map((r) => ok(r).access_token)).size, 1);
    assert.deepEqual(results.map((r) => r.cached).sort(), [false, true, true]);
  });

  test("errors are not cached", async () => {
    const cache = createExchangeTokenCache();
    const rows = await w.s.countRows();
    failed(await exchange({ resource: UNLINKED, cache }), "invalid_target", 400);
    failed(await exchange({ resource: UNLINKED, cache }), "invalid_target", 400);
    assert.equal(await w.s.countRows(), rows + 2);
    assert.equal(cache.size, 0);
  });

  /** A fetch answering a fresh token each time, counting calls. */
  function issuer(answer = {}) {
    let count = 0;
    const fetch = async () => {
      count++;
      const body = { access_token: `token-${count}`, issued_token_type: TT.access, token_type: "Bearer", expires_in: 600, ...answer };
      return new Response(JSON.stringify(body), { status: 200 });
    };
    return { fetch, count: () => count };
  }
  const offline = (fetch, extra) =>
    exchangeToken({
      tokenEndpoint: "https://as.example/token",
      clientAuth: { method: "client_secret_basic", clientId: "bff", clientSecret: "s" },
      subjectToken: "subject",
      subjectTokenType: TT.access,
      fetch,
      ...extra,
    });

  test("an answer without expires_in, or shorter than the skew, is never cached", async () => {
    for (const answer of [{ expires_in: undefined }, { expires_in: 30 }]) {
      const cache = createExchangeTokenCache({ skewSeconds: 30 });
      const { fetch, count } = issuer(answer);
      await offline(fetch, { cache });
      const second = await offline(fetch, { cache });
      assert.equal(second.cached, false);
      assert.equal(count(), 2);
      assert.equal(cache.size, 0);
    }
  });

  test("bounded: the least recently used entry goes first", async () => {
    const cache = createExchangeTokenCache({ maxEntries: 2 });
    const { fetch, count } = issuer();
    await offline(fetch, { cache, audience: "a" });
    await offline(fetch, { cache, audience: "b" });
    await offline(fetch, { cache, audience: "a" }); // a is now the most recent
    await offline(fetch, { cache, audience: "c" }); // pushes b out
    assert.equal(count(), 3);
    assert.equal(cache.size, 2);
    assert.equal((await offline(fetch, { cache, audience: "a" })).cached, true);
    assert.equal((await offline(fetch, { cache, audience: "b" })).cached, false);
    assert.equal(count(), 4);
    cache.clear();
    assert.equal(cache.size, 0);
    assert.throws(() => createExchangeTokenCache({ maxEntries: 0 }), TypeError);
  });
});
