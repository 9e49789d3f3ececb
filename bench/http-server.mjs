// The server side of benchmark 2, in a process of its own so that the load
// generator does not share its event loop. Two better-auth servers with the
// token-exchange plugin (js-tests/helpers/server.mjs; SQLite, or PostgreSQL
// with the argument "postgres"): one as
// installed by default, one whose audit records go to an in-memory sink (the
// exchange without database writes). Each has one client allowed the grants,
// one user and a JWT access token of theirs. The first also has a minimal
// extension grant of the bench's own (below), the least any grant that
// issues a user's token through the provider does. Prints one JSON line with
// the requests of the four cases, then serves until its standard input
// closes (answering "cpu" lines with its CPU time).

import assert from "node:assert/strict";
import { createInterface } from "node:readline";
import { extendOAuthProvider } from "@better-auth/oauth-provider";
import Database from "better-sqlite3";
import pg from "pg";

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
const TARGET = "https://billing.api.example/";
// "wal" or "default" (SQLite's journal), or "postgres": a database of its own
// on a throwaway local cluster (js-tests/helpers/postgres.mjs).
const journal = process.argv[2] ?? "wal";

const helper = process.env.BENCH_SERVER_HELPER ?? new URL("../js-tests/helpers/server.mjs", import.meta.url).href;
const { GRANT, startServer, TT } = await import(helper);

// The floor of a user-token grant: the provider authenticates the client,
// the user is read, the provider issues the token (checking the client's
// links to the resource as for any grant). No subject token, no decision,
// no record: what any grant issuing a user's token through
// oauth-provider's extension grants does at least, and token exchange with it.
// A measuring device only: it issues a token for whichever user the body names.
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
 * One better-auth server with the plugin (`exchange`: its options) and
 * `extraPlugins`, one client allowed the grants, one user and a JWT access
 * token of theirs.
 */
async function setUp(exchange, extraPlugins = []) {
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
    grant_types: [
      "authorization_code",
      "refresh_token",
      "client_credentials",
      GRANT,
      ...(extraPlugins.length > 0 ? [ISSUE_ONLY] : []),
    ],
    client_credentials_scopes: ["orders:read"],
  });
  await s.link(client, [RESOURCE, TARGET]);
  const user = await s.signUp("bench@example.com", "Bench");
  const subject = (await s.authorize(user, client, { scope: "profile orders:read", resource: RESOURCE })).access_token;
  assert.equal(subject.split(".").length, 3, "the subject token is a JWT");
  const request = (body) => ({
    url: `${s.base}/oauth2/token`,
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: s.basicHeader(client.client_id, client.client_secret),
    },
    body: body.toString(),
  });
  const exchangeRequest = request(
    new URLSearchParams([
      ["grant_type", GRANT],
      ["subject_token", subject],
      ["subject_token_type", TT.access],
      ["resource", TARGET],
      ["scope", "orders:read"],
    ]),
  );
  const clientCredentials = request(
    new URLSearchParams([
      ["grant_type", "client_credentials"],
      ["resource", TARGET],
      ["scope", "orders:read"],
    ]),
  );
  const issueOnlyRequest = request(
    new URLSearchParams([
      ["grant_type", ISSUE_ONLY],
      ["user_id", user.user.id],
      ["resource", TARGET],
      ["scope", "orders:read"],
    ]),
  );
  return { s, exchangeRequest, clientCredentials, issueOnlyRequest };
}

// The plugin as installed by default: the audit table, with each granted
// exchange's session and lineage (revocation that follows the chain).
const main = await setUp({}, [issueOnly]);
// The same exchange with the audit records going to a custom sink that keeps
// them in memory: no database write at all (and so no lineage). Not a
// configuration to run (TX-61 wants a durable record); it shows what the
// exchange costs without its writes.
let kept = 0;
const inMemory = await setUp({
  audit: () => {
    kept++;
  },
});
const cases = {
  token_exchange: main.exchangeRequest,
  token_exchange_no_writes: inMemory.exchangeRequest,
  issue_only: main.issueOnlyRequest,
  client_credentials: main.clientCredentials,
};
// Each answers 200 with a JWT access token before anything is timed.
for (const [name, { url, headers, body }] of Object.entries(cases)) {
  const r = await fetch(url, { method: "POST", headers, body });
  const answer = await r.json();
  assert.equal(r.status, 200, `${name}: ${JSON.stringify(answer)}`);
  assert.equal(answer.access_token.split(".").length, 3, `${name} issues a JWT`);
}
assert.ok(kept > 0, "the in-memory sink received the records");

process.stdout.write(JSON.stringify({ cases }) + "\n");
// A line "cpu" on standard input answers this process's CPU time so far
// (user + system, microseconds) and the SQL statements run so far, so the
// benchmark can report both per request.
const input = createInterface({ input: process.stdin });
input.on("line", (line) => {
  if (line.trim() === "cpu") {
    const { user, system } = process.cpuUsage();
    process.stdout.write(JSON.stringify({ cpuUs: user + system, statements }) + "\n");
  }
});
input.on("close", async () => {
  // The requests the load generator left at the end of its last round
  // finish first (their database may be a pool, closed by stop()).
  await new Promise((resolve) => setTimeout(resolve, 500));
  await main.s.stop();
  await inMemory.s.stop();
  process.exit(0);
});
