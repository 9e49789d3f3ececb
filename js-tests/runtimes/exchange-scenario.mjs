// One full better-auth exchange, written once for every runtime (Node.js,
// Deno, Bun, workerd, a bundle): better-auth + jwt + oauth-provider + the
// plugin, driven through `auth.handler(Request)` and `auth.api` only, so it
// needs no HTTP server, no node:http and no Buffer. The caller brings the
// database (D1 on workerd, bun:sqlite on Bun, node:sqlite on Deno and Node).
//
// Steps: tables migrated, users signed up, a BFF client registered by an
// admin with token exchange opted in, authorization_code + PKCE for a user
// and an agent, impersonation (JWT for the user, no act), delegation (act
// names the agent), the same through the package's helpers (the BFF's
// exchangeToken, the API's verifyExchangedToken with the JWKS endpoint),
// and refusals (a tampered subject token, a wrong client secret), each with
// its audit record.

import assert from "node:assert/strict";
import { oauthProvider } from "@better-auth/oauth-provider";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { jwt } from "better-auth/plugins";
import { TOKEN_EXCHANGE_GRANT_TYPE, tokenExchange } from "better-auth-token-exchange";
import { exchangeToken } from "better-auth-token-exchange/bff";
import { verifyExchangedToken } from "better-auth-token-exchange/resource-server";
import { createLocalJWKSet, decodeJwt, jwtVerify } from "jose";

const ORIGIN = "http://localhost:8787";
const BASE = `${ORIGIN}/api/auth`;
const REDIRECT = "https://bff.example/callback";
const ORDERS = "https://orders.api.example/";
const BILLING = "https://billing.api.example/";
const ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token";
const PASSWORD = "correct-horse-battery-staple";

const base64url = (bytes) =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/**
 * Runs the scenario against `database` (anything better-auth accepts as
 * `options.database`). Returns the names of the steps that passed; throws
 * (an AssertionError naming the step) at the first that does not.
 */
export async function runExchangeScenario({ database }) {
  const steps = [];
  const step = async (name, fn) => {
    try {
      const value = await fn();
      steps.push(name);
      return value;
    } catch (error) {
      error.message = `step "${name}": ${error.message}`;
      throw error;
    }
  };

  const options = {
    baseURL: ORIGIN,
    basePath: "/api/auth",
    secret: "runtime-secret-runtime-secret-runtime-secret-0123",
    database,
    emailAndPassword: { enabled: true },
    rateLimit: { enabled: false },
    logger: { disabled: true },
    plugins: [
      jwt(),
      oauthProvider({
        loginPage: "/login",
        consentPage: "/consent",
        scopes: ["openid", "profile", "email", "offline_access", "orders:read"],
        accessTokenExpiresIn: 3600,
      }),
      tokenExchange(),
    ],
  };

  // Tables first: the provider seeds its resources when the instance starts.
  await step("migrations", async () => {
    const migrations = await getMigrations(options);
    await migrations.runMigrations();
  });
  const auth = betterAuth(options);
  const context = await auth.$context;

  const signUp = (email) =>
    step(`sign-up ${email}`, async () => {
      const r = await auth.api.signUpEmail({ body: { email, password: PASSWORD, name: email }, returnHeaders: true });
      const cookie = r.headers
        .get("set-cookie")
        .split(/,(?=\s*[^;,]+=)/)
        .map((c) => c.split(";")[0].trim())
        .join("; ");
      assert.ok(r.response.user.id);
      return { id: r.response.user.id, cookie };
    });
  const admin = await signUp("admin@example.com");
  const alice = await signUp("alice@example.com");
  const agent = await signUp("agent@example.com");
  const adminHeaders = () => new Headers({ cookie: admin.cookie });

  const bff = await step("admin registers the BFF with token exchange", async () => {
    for (const identifier of [ORDERS, BILLING]) {
      await auth.api.adminCreateOAuthResource({ headers: adminHeaders(), body: { identifier, name: identifier } });
    }
    const client = await auth.api.adminCreateOAuthClient({
      headers: adminHeaders(),
      body: {
        client_name: "BFF",
        redirect_uris: [REDIRECT],
        grant_types: ["authorization_code", TOKEN_EXCHANGE_GRANT_TYPE],
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_basic",
        scope: "openid profile orders:read",
        skip_consent: true,
        metadata: { allowedTokenExchange: true },
      },
    });
    for (const identifier of [ORDERS, BILLING]) {
      await auth.api.adminLinkClientResource({ headers: adminHeaders(), params: { identifier, client_id: client.client_id } });
    }
    assert.ok(client.client_id && client.client_secret);
    return client;
  });
  const basic = (secret = bff.client_secret) => `Basic ${btoa(`${bff.client_id}:${secret}`)}`;

  const post = async (path, pairs, secret) => {
    const response = await auth.handler(
      new Request(`${BASE}${path}`, {
        method: "POST",
        headers: { authorization: basic(secret), "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(pairs).toString(),
      }),
    );
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  };

  /** authorization_code + PKCE (S256) for `who` at the BFF; an access token for ORDERS (a JWT). */
  const authorize = (who, label) =>
    step(`authorization_code + PKCE for ${label}`, async () => {
      const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
      const challenge = base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
      const url = new URL(`${BASE}/oauth2/authorize`);
      for (const [k, v] of Object.entries({
        response_type: "code",
        client_id: bff.client_id,
        redirect_uri: REDIRECT,
        scope: "openid profile orders:read",
        state: "st",
        resource: ORDERS,
        code_challenge: challenge,
        code_challenge_method: "S256",
      })) {
        url.searchParams.set(k, v);
      }
      const r = await auth.handler(new Request(url, { headers: { cookie: who.cookie } }));
      const location = new URL(r.status === 200 ? (await r.json()).url : r.headers.get("location"));
      const code = location.searchParams.get("code");
      assert.ok(code, `no code in ${location}`);
      const tokens = await post("/oauth2/token", [
        ["grant_type", "authorization_code"],
        ["code", code],
        ["redirect_uri", REDIRECT],
        ["code_verifier", verifier],
        ["resource", ORDERS],
      ]);
      assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
      assert.equal(decodeJwt(tokens.body.access_token).sub, who.id);
      return tokens.body.access_token;
    });
  const aliceToken = await authorize(alice, "the user");
  const agentToken = await authorize(agent, "the agent");

  const jwks = createLocalJWKSet(await (await auth.handler(new Request(`${BASE}/jwks`))).json());
  const exchange = (pairs, secret) =>
    post("/oauth2/token", [["grant_type", TOKEN_EXCHANGE_GRANT_TYPE], ...pairs], secret);
  const lastRecord = async () =>
    (await context.adapter.findMany({ model: "tokenExchange", sortBy: { field: "createdAt", direction: "asc" } })).at(-1);

  await step("impersonation: a JWT for the user, for the billing API, without act", async () => {
    const r = await exchange([
      ["subject_token", aliceToken],
      ["subject_token_type", ACCESS_TOKEN],
      ["resource", BILLING],
    ]);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.issued_token_type, ACCESS_TOKEN);
    assert.equal(r.body.token_type, "Bearer");
    const { payload } = await jwtVerify(r.body.access_token, jwks, { issuer: BASE, audience: BILLING, typ: "at+jwt" });
    assert.equal(payload.sub, alice.id);
    assert.equal(payload.client_id, bff.client_id);
    assert.equal(payload.act, undefined);
    const row = await lastRecord();
    assert.deepEqual([row.decision, row.delegation, row.subject], ["granted", false, alice.id]);
  });

  await step("delegation: act names the agent, sub stays the user's", async () => {
    const r = await exchange([
      ["subject_token", aliceToken],
      ["subject_token_type", ACCESS_TOKEN],
      ["actor_token", agentToken],
      ["actor_token_type", ACCESS_TOKEN],
      ["resource", BILLING],
    ]);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const { payload } = await jwtVerify(r.body.access_token, jwks, { issuer: BASE, audience: BILLING });
    assert.equal(payload.sub, alice.id);
    assert.deepEqual(payload.act, { sub: agent.id, client_id: bff.client_id });
    const row = await lastRecord();
    assert.deepEqual([row.decision, row.delegation, row.actor], ["granted", true, agent.id]);
  });

  await step("helpers: the BFF's exchangeToken, then the API's verifyExchangedToken with the JWKS endpoint", async () => {
    // The server's own handler stands in for the network.
    const handlerFetch = (url, init) => auth.handler(new Request(url, init));
    const result = await exchangeToken({
      tokenEndpoint: `${BASE}/oauth2/token`,
      clientAuth: { method: "client_secret_basic", clientId: bff.client_id, clientSecret: bff.client_secret },
      subjectToken: aliceToken,
      subjectTokenType: "access_token",
      actorToken: agentToken,
      resource: BILLING,
      fetch: handlerFetch,
    });
    assert.equal(result.ok, true, JSON.stringify(result.error));
    const options = { issuer: BASE, audience: BILLING, jwksUri: `${BASE}/jwks`, fetch: handlerFetch, requireActor: true };
    const verified = await verifyExchangedToken(result.token.access_token, options);
    assert.equal(verified.ok, true, verified.description);
    assert.equal(verified.sub, alice.id);
    assert.deepEqual(verified.actor, { sub: agent.id, clientId: bff.client_id });
    const elsewhere = await verifyExchangedToken(result.token.access_token, { ...options, audience: ORDERS });
    assert.deepEqual([elsewhere.ok, elsewhere.reason], [false, "audience_mismatch"]);
    const refused = await exchangeToken({
      tokenEndpoint: `${BASE}/oauth2/token`,
      clientAuth: { method: "client_secret_post", clientId: bff.client_id, clientSecret: "not-the-secret" },
      subjectToken: aliceToken,
      subjectTokenType: "access_token",
      resource: BILLING,
      fetch: handlerFetch,
    });
    assert.deepEqual([refused.ok, refused.error?.error, refused.error?.status], [false, "invalid_client", 401]);
  });

  await step("refusal: a tampered subject token is 400 invalid_request", async () => {
    const [h, p, s] = aliceToken.split(".");
    const i = Math.floor(s.length / 2);
    const tampered = `${h}.${p}.${s.slice(0, i)}${s[i] === "A" ? "B" : "A"}${s.slice(i + 1)}`;
    const r = await exchange([
      ["subject_token", tampered],
      ["subject_token_type", ACCESS_TOKEN],
      ["resource", BILLING],
    ]);
    assert.deepEqual([r.status, r.body?.error], [400, "invalid_request"], JSON.stringify(r.body));
    assert.equal(r.headers.get("cache-control"), "no-store");
    const row = await lastRecord();
    assert.deepEqual([row.decision, row.error], ["refused", "invalid_request"]);
  });

  await step("refusal: a wrong client secret is 401 invalid_client", async () => {
    const r = await exchange(
      [
        ["subject_token", aliceToken],
        ["subject_token_type", ACCESS_TOKEN],
        ["resource", BILLING],
      ],
      "not-the-secret",
    );
    assert.deepEqual([r.status, r.body?.error], [401, "invalid_client"], JSON.stringify(r.body));
  });

  return steps;
}
