// The README's usage section, followed literally: a fresh project installs
// the packed package with the README's own install line, the files marked
// `<!-- usage-file: NAME -->` in the README are written out verbatim, the
// migration runs, and a BFF registered by the README's code exchanges a
// user's token through the README's request (TX-1, TX-11, TX-40).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { freePort } from "../scripts/lib/free-port.mjs";

const root = path.resolve(fileURLToPath(new URL("..", import.meta.url)));
const readme = readFileSync(path.join(root, "README.md"), "utf8");
const project = path.join(root, "js-tests", ".tmp", "readme-project");

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { cwd: project, encoding: "utf8", ...options });
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function usageFiles() {
  const files = new Map();
  const marker = /<!-- usage-file: ([\w.-]+) -->\s*```js\n([\s\S]*?)```/g;
  for (const [, name, body] of readme.matchAll(marker)) files.set(name, body);
  return files;
}

function installLine() {
  const block = readme.match(/```sh\n(npm install better-auth-token-exchange[\s\S]*?)```/);
  assert.ok(block, "the README's install command was not found");
  return block[1].replace(/\\\n/g, " ").trim().split(/\s+/).slice(2);
}

// What the README leaves to the reader's app: a server, an administrator's
// session, and the user's sign-in at the BFF (authorization_code + PKCE).
const driver = `
import http from "node:http";
import { createHash, randomBytes } from "node:crypto";
import { toNodeHandler } from "better-auth/node";
import { auth } from "./auth.mjs";
import { registerBff } from "./register.mjs";
import { exchangeForOrders } from "./exchange.mjs";

const base = process.env.BASE_URL;
const server = http.createServer(toNodeHandler(auth));
await new Promise((resolve) => server.listen(new URL(base).port, "127.0.0.1", resolve));
try {
  const cookieOf = (r) => r.headers.get("set-cookie").split(/,(?=\\s*[^;,]+=)/).map((c) => c.split(";")[0].trim()).join("; ");
  const signUp = async (email) => {
    const r = await auth.api.signUpEmail({ body: { email, password: "a-long-enough-password", name: email }, returnHeaders: true });
    return { id: r.response.user.id, cookie: cookieOf(r) };
  };
  const admin = await signUp("admin@example.com");
  const user = await signUp("user@example.com");
  const bff = await registerBff(new Headers({ cookie: admin.cookie }));

  const verifier = randomBytes(32).toString("base64url");
  const url = new URL(base + "/api/auth/oauth2/authorize");
  for (const [k, v] of Object.entries({
    response_type: "code", client_id: bff.client_id, redirect_uri: "https://bff.example.com/callback",
    scope: "openid profile orders:read", state: "s",
    code_challenge: createHash("sha256").update(verifier).digest("base64url"), code_challenge_method: "S256",
  })) url.searchParams.set(k, v);
  const authorize = await fetch(url, { headers: { cookie: user.cookie }, redirect: "manual" });
  const location = new URL(authorize.status === 302 ? authorize.headers.get("location") : (await authorize.json()).url);
  const tokenEndpoint = base + "/api/auth/oauth2/token";
  const basic = "Basic " + Buffer.from(bff.client_id + ":" + bff.client_secret).toString("base64");
  const tokens = await (await fetch(tokenEndpoint, {
    method: "POST",
    headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", code: location.searchParams.get("code"),
      redirect_uri: "https://bff.example.com/callback", code_verifier: verifier }),
  })).json();

  const result = await exchangeForOrders({ tokenEndpoint, clientId: bff.client_id, clientSecret: bff.client_secret,
    userAccessToken: tokens.access_token });
  const introspection = await (await fetch(base + "/api/auth/oauth2/introspect", {
    method: "POST",
    headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: result.body.access_token ?? "" }),
  })).json();
  console.log(JSON.stringify({ userId: user.id, result, introspection }));
} finally {
  server.close();
}
`;

test("the README's usage section works in a fresh project installing the packed package", { timeout: 600_000 }, async () => {
  rmSync(project, { recursive: true, force: true });
  mkdirSync(project, { recursive: true });
  const packed = JSON.parse(run("npm", ["pack", path.join(root, "pkg"), "--json", "--ignore-scripts"]));
  const tarball = path.join(project, packed[0].filename);
  writeFileSync(
    path.join(project, "package.json"),
    JSON.stringify({ name: "readme-project", private: true, type: "module", allowScripts: { "better-sqlite3": true } }),
  );
  const packages = installLine().map((spec) => (spec === "better-auth-token-exchange" ? tarball : spec));
  run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", ...packages]);

  const files = usageFiles();
  assert.deepEqual([...files.keys()].sort(), ["auth.mjs", "exchange.mjs", "migrate.mjs", "register.mjs"]);
  for (const [name, body] of files) writeFileSync(path.join(project, name), body);
  writeFileSync(path.join(project, "driver.mjs"), driver);

  const env = {
    ...process.env,
    BASE_URL: `http://127.0.0.1:${await freePort()}`,
    DATABASE_FILE: path.join(project, "auth.sqlite"),
  };
  run("node", ["migrate.mjs"], { env });
  const out = run("node", ["driver.mjs"], { env }).trim().split("\n").pop();
  const { userId, result, introspection } = JSON.parse(out);

  assert.equal(result.status, 200, JSON.stringify(result.body));
  assert.equal(result.body.issued_token_type, "urn:ietf:params:oauth:token-type:access_token");
  assert.equal(result.body.token_type, "Bearer");
  assert.equal(result.body.scope, "orders:read");
  assert.ok(result.body.expires_in > 0);
  // Impersonation: the issued token is the user's, for the orders API, with no act.
  assert.equal(introspection.active, true);
  assert.equal(introspection.sub, userId);
  assert.equal(introspection.scope, "orders:read");
  assert.equal(introspection.act, undefined);
  const jwtClaims = JSON.parse(Buffer.from(result.body.access_token.split(".")[1], "base64url").toString());
  assert.deepEqual([].concat(jwtClaims.aud), ["https://orders.example.com"]);
  assert.equal(jwtClaims.sub, userId);
});
