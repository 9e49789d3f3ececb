// The server side of benchmark 2, in a process of its own so that the load
// generator does not share its event loop. Two better-auth servers on one
// kind of database (SQLite in WAL or rollback-journal mode, or PostgreSQL:
// the argument): the product (the token-exchange plugin as installed by
// default) and the baseline (the hand-written plugin of
// bench/handwritten-plugin.mjs). Each has one client allowed the grants, a
// user with a JWT and an opaque access token, and an actor with a JWT. The
// product's server also answers client_credentials and a minimal extension
// grant of the bench's own (below). Prints one JSON line with the requests
// of every case, then serves until its standard input closes (answering
// "cpu" lines with its CPU time and SQL statements so far; "profile" starts
// V8's CPU profiler and "profile-end <file>" writes the profile there, for
// bench/profile.mjs).

import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { createInterface } from "node:readline";
import { extendOAuthProvider } from "@better-auth/oauth-provider";
import Database from "better-sqlite3";
import pg from "pg";
import { handwrittenExchange } from "./handwritten-plugin.mjs";

// Counts the SQL statements the server runs: with SQLite, Kysely prepares
// each query it runs; with PostgreSQL, each is one query on a pooled client.
let statements = 0;
const prepare = Database.prototype.prepare;
Database.prototype.prepare = function countedPrepare(sql) {
  statements++;
  return prepare.call(this, sql);
};
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function countedQuery(...args) {
  statements++;
  return query.apply(this, args);
};

const RESOURCE = "https://orders.api.example/";
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
// Cross-app access: the resource AS the product issues ID-JAGs for, and the
// bench's own IdP whose ID-JAGs the product redeems (its key: the load
// generator mints one assertion per request).
const RAS = "https://ras.bench.example";
const BENCH_IDP = "https://idp.bench.example";
const { privateKey: benchIdpPrivate, publicKey: benchIdpPublic } = generateKeyPairSync("ed25519");
const benchIdpJwk = { ...benchIdpPublic.export({ format: "jwk" }), kid: "bench-idp", alg: "EdDSA", use: "sig" };
const benchIdpKey = { ...benchIdpPrivate.export({ format: "jwk" }), kid: "bench-idp" };
const TARGET = "https://billing.api.example/";
// "wal" or "default" (SQLite's journal), or "postgres": a database of its own
// on a throwaway local cluster (js-tests/helpers/postgres.mjs).
const journal = process.argv[2] ?? "wal";

const helper = process.env.BENCH_SERVER_HELPER ?? new URL("../js-tests/helpers/server.mjs", import.meta.url).href;
const { GRANT, startServer, TT } = await import(helper);

// The floor of a user-token grant: the provider authenticates the client,
// the user is read, the provider issues the token (checking the client's
// links to the resource as for any grant). No subject token, no decision,
// no record. A measuring device only: it issues a token for whichever user
// the body names.
const ISSUE_ONLY = "urn:example:bench:issue-only";
const issueOnly = {
  id: "bench-issue-only",
  init(ctx) {
    extendOAuthProvider(ctx, {
      grants: {
        [ISSUE_ONLY]: async ({ ctx: c, provider }) => {
          const { client } = await provider.authenticateClient();
          const user = await c.context.internalAdapter.findUserById(c.body.user_id);
          assert.ok(user, "the bench user exists");
          return provider.issueTokens({ client, user, scopes: c.body.scope.split(" "), resources: [c.body.resource] });
        },
      },
    });
  },
};

/**
 * One server (`exchange`: the product's options, or false for the baseline;
 * `extraPlugins`), one client allowed the grants, a user and an actor with
 * their tokens, and the requests of the three exchange scenarios.
 */
async function setUp({ exchange, extraPlugins }) {
  const product = exchange !== false;
  const s = await startServer({
    provider: { clientPrivileges: () => true },
    exchange,
    extraPlugins,
    db: journal === "postgres" ? "postgres" : "sqlite",
  });
  // WAL with synchronous = NORMAL: the usual setting for a server. With the
  // default rollback journal every commit (each exchange's audit record)
  // waits for the disk.
  if (journal === "wal") s.db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
  for (const id of [RESOURCE, TARGET]) await s.createResource(id);
  const client = await s.createClient("bench", {
    grant_types: ["authorization_code", "refresh_token", "client_credentials", GRANT, ISSUE_ONLY, ...(product ? [JWT_BEARER] : [])],
    client_credentials_scopes: ["orders:read"],
    // The product's client may also get ID-JAGs (as at an IdP) and redeem the bench IdP's (as at a resource AS).
    metadata: product
      ? {
          allowedTokenExchange: true,
          allowedIdJag: true,
          tokenExchange: {
            trustedIssuers: [BENCH_IDP],
            subjectTokenTypes: ["access_token", "id_token"],
            requestedTokenTypes: ["access_token", "id_jag"],
            idJag: { [RAS]: { clientId: "bench-at-ras", scopes: ["orders:read"], resources: [TARGET] } },
          },
        }
      : { allowedTokenExchange: true },
  });
  await s.link(client, [RESOURCE, TARGET]);
  const user = await s.signUp("bench@example.com", "Bench");
  const agent = await s.signUp("agent@example.com", "Agent");
  const jwtOf = async (who) => (await s.authorize(who, client, { scope: "profile orders:read", resource: RESOURCE })).access_token;
  const subject = await jwtOf(user);
  const actor = await jwtOf(agent);
  const opaque = (await s.authorize(user, client, { scope: "profile orders:read" })).access_token;
  const idToken = product ? (await s.authorize(user, client, { scope: "openid profile" })).id_token : undefined;
  if (product) await s.linkAccount(user, BENCH_IDP, "bench-user");
  assert.equal(subject.split(".").length, 3, "the subject token is a JWT");
  assert.equal(opaque.split(".").length, 1, "the opaque subject token is opaque");
  const request = (pairs) => ({
    url: `${s.base}/oauth2/token`,
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: s.basicHeader(client.client_id, client.client_secret),
    },
    body: new URLSearchParams(pairs).toString(),
  });
  const exchangeOf = (token, more = []) =>
    request([
      ["grant_type", GRANT],
      ["subject_token", token],
      ["subject_token_type", TT.access],
      ...more,
      ["resource", TARGET],
      ["scope", "orders:read"],
    ]);
  return {
    s,
    impersonation: exchangeOf(subject),
    delegation: exchangeOf(subject, [
      ["actor_token", actor],
      ["actor_token_type", TT.access],
    ]),
    opaque: exchangeOf(opaque),
    clientCredentials: request([
      ["grant_type", "client_credentials"],
      ["resource", TARGET],
      ["scope", "orders:read"],
    ]),
    idJagIssue: request([
      ["grant_type", GRANT],
      ["subject_token", idToken ?? ""],
      ["subject_token_type", TT.id],
      ["requested_token_type", "urn:ietf:params:oauth:token-type:id-jag"],
      ["audience", RAS],
      ["resource", TARGET],
      ["scope", "orders:read"],
    ]),
    idJagRedeem: {
      ...request([]),
      mint: {
        key: benchIdpKey,
        claims: { iss: BENCH_IDP, sub: "bench-user", aud: s.issuer, client_id: client.client_id, resource: TARGET, scope: "orders:read" },
        form: [
          ["grant_type", JWT_BEARER],
          ["scope", "orders:read"],
        ],
      },
    },
    issueOnly: request([
      ["grant_type", ISSUE_ONLY],
      ["user_id", user.user.id],
      ["resource", TARGET],
      ["scope", "orders:read"],
    ]),
  };
}

const product = await setUp({
  exchange: { trustedIssuers: [{ issuer: BENCH_IDP, jwks: { keys: [benchIdpJwk] }, audiences: ["bench"], tokenTypes: ["id_jag"] }] },
  extraPlugins: [issueOnly],
});
const baseline = await setUp({ exchange: false, extraPlugins: [handwrittenExchange(), issueOnly] });
const cases = {
  product_impersonation: product.impersonation,
  baseline_impersonation: baseline.impersonation,
  product_delegation: product.delegation,
  baseline_delegation: baseline.delegation,
  product_opaque: product.opaque,
  baseline_opaque: baseline.opaque,
  idjag_issue: product.idJagIssue,
  idjag_redeem: product.idJagRedeem,
  issue_only: product.issueOnly,
  client_credentials: product.clientCredentials,
};
// Each answers 200 with a JWT before anything is timed; a delegation's
// carries `act`. (The redemption's assertions are minted by the load
// generator, bench/http.mjs: checked there, by its non-2xx count.)
for (const [name, { url, headers, body, mint }] of Object.entries(cases)) {
  if (mint) continue;
  const r = await fetch(url, { method: "POST", headers, body });
  const answer = await r.json();
  assert.equal(r.status, 200, `${name}: ${JSON.stringify(answer)}`);
  assert.equal(answer.access_token.split(".").length, 3, `${name} issues a JWT`);
  const claims = JSON.parse(Buffer.from(answer.access_token.split(".")[1], "base64url").toString());
  assert.equal(Boolean(claims.act), name.endsWith("delegation"), `${name}: act`);
}

process.stdout.write(`${JSON.stringify({ cases })}\n`);
// A line "cpu" on standard input answers this process's CPU time so far
// (user + system, microseconds) and the SQL statements run so far, so the
// benchmark can report both per request.
const input = createInterface({ input: process.stdin });
let profiler;
input.on("line", async (line) => {
  const [command, file] = line.trim().split(" ");
  if (command === "cpu") {
    const { user, system } = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ cpuUs: user + system, statements })}\n`);
  } else if (command === "profile") {
    profiler = new Session();
    profiler.connect();
    await profiler.post("Profiler.enable");
    await profiler.post("Profiler.start");
    process.stdout.write(`${JSON.stringify({ profiling: true })}\n`);
  } else if (command === "profile-end" && profiler) {
    const { profile } = await profiler.post("Profiler.stop");
    profiler.disconnect();
    writeFileSync(file, JSON.stringify(profile));
    process.stdout.write(`${JSON.stringify({ profile: file })}\n`);
  }
});
input.on("close", async () => {
  // The requests the load generator left at the end of its last round
  // finish first (their database may be a pool, closed by stop()).
  await new Promise((resolve) => setTimeout(resolve, 500));
  await product.s.stop();
  await baseline.s.stop();
  process.exit(0);
});
