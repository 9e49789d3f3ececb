// The server side of benchmark 2, in a process of its own so that the load
// generator does not share its event loop: a better-auth server with the
// token-exchange plugin (js-tests/helpers/server.mjs, SQLite), one client
// allowed both grants, one user and a JWT access token of theirs. Prints one
// JSON line with the endpoint, headers and the two grants' request bodies,
// then serves until its standard input closes (answering "cpu" lines with
// its CPU time).

import assert from "node:assert/strict";
import { createInterface } from "node:readline";
import Database from "better-sqlite3";

// Counts the SQL statements the server prepares: Kysely prepares each query
// it runs, so this is the number of statements executed.
let statements = 0;
const prepare = Database.prototype.prepare;
Database.prototype.prepare = function countedPrepare(sql) {
  statements++;
  return prepare.call(this, sql);
};

const RESOURCE = "https://orders.api.example/";
const TARGET = "https://billing.api.example/";
const journal = process.argv[2] ?? "wal";

const helper = process.env.BENCH_SERVER_HELPER ?? new URL("../js-tests/helpers/server.mjs", import.meta.url).href;
const { GRANT, startServer, TT } = await import(helper);
const s = await startServer({ provider: { clientPrivileges: () => true } });
// WAL with synchronous = NORMAL: the usual setting for a server. With the
// default rollback journal every commit (each exchange's audit record)
// waits for the disk.
if (journal === "wal") s.db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");

for (const id of [RESOURCE, TARGET]) await s.createResource(id);
const client = await s.createClient("bench", {
  grant_types: ["authorization_code", "refresh_token", "client_credentials", GRANT],
  client_credentials_scopes: ["orders:read"],
});
await s.link(client, [RESOURCE, TARGET]);
const user = await s.signUp("bench@example.com", "Bench");
const subject = (await s.authorize(user, client, { scope: "profile orders:read", resource: RESOURCE })).access_token;
assert.equal(subject.split(".").length, 3, "the subject token is a JWT");

const url = `${s.base}/oauth2/token`;
const headers = {
  "content-type": "application/x-www-form-urlencoded",
  authorization: s.basicHeader(client.client_id, client.client_secret),
};
const bodies = {
  token_exchange: new URLSearchParams([
    ["grant_type", GRANT],
    ["subject_token", subject],
    ["subject_token_type", TT.access],
    ["resource", TARGET],
    ["scope", "orders:read"],
  ]).toString(),
  client_credentials: new URLSearchParams([
    ["grant_type", "client_credentials"],
    ["resource", TARGET],
    ["scope", "orders:read"],
  ]).toString(),
};
// Both answer 200 with a JWT access token before anything is timed.
for (const [name, body] of Object.entries(bodies)) {
  const r = await fetch(url, { method: "POST", headers, body });
  const answer = await r.json();
  assert.equal(r.status, 200, `${name}: ${JSON.stringify(answer)}`);
  assert.equal(answer.access_token.split(".").length, 3, `${name} issues a JWT`);
}

process.stdout.write(JSON.stringify({ url, headers, bodies }) + "\n");
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
  await s.stop();
  process.exit(0);
});
