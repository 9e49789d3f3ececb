// A user's first run of the plugin, copied by scripts/compat.mjs into each
// project it installs (npm, pnpm, bun) and run there: better-auth with the
// jwt plugin, oauth-provider and the token-exchange plugin on SQLite
// (node:sqlite: no native addon to build), better-auth's migrations, a
// sign-up, a client opted in to token exchange, an access token through
// authorization_code with PKCE, and one token exchange, all in-process
// through auth.handler. Prints the versions it ran with; exits non-zero on
// any failure.
//
//   node smoke.mjs       (Node.js 22.13 or later, for node:sqlite)
//   bun smoke.mjs

import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";

import { oauthProvider } from "@better-auth/oauth-provider";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { jwt } from "better-auth/plugins";
import { tokenExchange } from "better-auth-token-exchange";

const GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS = "urn:ietf:params:oauth:token-type:access_token";
const ORIGIN = "http://localhost:3000";
const BASE = `${ORIGIN}/api/auth`;
const REDIRECT = "https://client.example/callback";

function fail(message) {
  console.error(`smoke: FAILED: ${message}`);
  process.exit(1);
}

/** The version of `name` as Node.js finds it from the current folder up (exports aside). */
function versionOf(name) {
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    const file = path.join(dir, "node_modules", ...name.split("/"), "package.json");
    if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")).version;
    if (path.dirname(dir) === dir) return "(not hoisted)";
  }
}
const runtime = typeof globalThis.Bun === "object" ? `bun ${globalThis.Bun.version}` : `node ${process.version}`;
const names = [
  "better-auth",
  "@better-auth/core",
  "@better-auth/oauth-provider",
  "better-auth-token-exchange",
  "kysely",
];
console.log(`smoke: ${runtime}; ${names.map((n) => `${n}@${versionOf(n)}`).join(" ")}`);

const options = {
  baseURL: ORIGIN,
  basePath: "/api/auth",
  secret: "compat-smoke-secret-compat-smoke-secret-0123",
  database: new DatabaseSync(":memory:"),
  emailAndPassword: { enabled: true },
  logger: { disabled: true },
  plugins: [
    jwt(),
    oauthProvider({ loginPage: "/login", consentPage: "/consent", scopes: ["openid", "profile"] }),
    tokenExchange(),
  ],
};
await (await getMigrations(options)).runMigrations();
const auth = betterAuth(options);

const signedUp = await auth.api.signUpEmail({
  body: { email: "alice@example.com", password: "correct-horse-battery-staple", name: "Alice" },
  returnHeaders: true,
});
const cookie = signedUp.headers
  .get("set-cookie")
  .split(/,(?=\s*[^;,]+=)/)
  .map((c) => c.split(";")[0].trim())
  .join("; ");

const client = await auth.api.adminCreateOAuthClient({
  headers: new Headers({ cookie }),
  body: {
    client_name: "smoke",
    redirect_uris: [REDIRECT],
    grant_types: ["authorization_code", GRANT],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
    scope: "profile",
    skip_consent: true,
    metadata: { allowedTokenExchange: true },
  },
});
const basic = `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString("base64")}`;

const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
const verifier = b64url(randomBytes(32));
const authorize = new URL(`${BASE}/oauth2/authorize`);
for (const [k, v] of Object.entries({
  response_type: "code",
  client_id: client.client_id,
  redirect_uri: REDIRECT,
  scope: "profile",
  state: "st",
  code_challenge: b64url(createHash("sha256").update(verifier).digest()),
  code_challenge_method: "S256",
})) {
  authorize.searchParams.set(k, v);
}
const authorized = await auth.handler(new Request(authorize, { headers: { cookie }, redirect: "manual" }));
const location =
  authorized.status === 302
    ? authorized.headers.get("location")
    : authorized.status === 200
      ? (await authorized.json()).url
      : fail(`authorize answered ${authorized.status}: ${await authorized.text()}`);
const code = new URL(location).searchParams.get("code") ?? fail(`no code in ${location}`);

async function token(pairs) {
  const r = await auth.handler(
    new Request(`${BASE}/oauth2/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic },
      body: new URLSearchParams(pairs),
    }),
  );
  const body = await r.json();
  if (r.status !== 200) fail(`${pairs[0][1]} answered ${r.status}: ${JSON.stringify(body)}`);
  return body;
}

const { access_token: subjectToken } = await token([
  ["grant_type", "authorization_code"],
  ["code", code],
  ["redirect_uri", REDIRECT],
  ["code_verifier", verifier],
]);
const exchanged = await token([
  ["grant_type", GRANT],
  ["subject_token", subjectToken],
  ["subject_token_type", ACCESS],
]);
if (exchanged.issued_token_type !== ACCESS || typeof exchanged.access_token !== "string") {
  fail(`unexpected exchange answer ${JSON.stringify(exchanged)}`);
}
const records = await (await auth.$context).adapter.count({ model: "tokenExchange" });
if (records !== 1) fail(`${records} audit records, expected 1`);
console.log("smoke: migrations, sign-up, client, authorization_code and one token exchange: ok");
