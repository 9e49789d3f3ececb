// Benchmark 2: the token endpoint over HTTP on loopback, token exchange
// against the same server's own client_credentials grant (which also
// authenticates a client and signs a JWT), with autocannon as the load
// generator. One better-auth server (SQLite, bench/http-server.mjs, in a
// process of its own) serves both. Two more cases show where the difference
// goes: the exchange on a second server in the same process whose audit
// records are kept in memory (no database writes), and a minimal extension
// grant of the bench's own that only authenticates, reads the user and
// issues (the least a grant issuing a user's token does). The cases take
// turns, several rounds each, and the table reports medians, with the server
// process's CPU time and the SQL statements it ran per request. The same runs
// with SQLite's rollback journal and on PostgreSQL.

import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { fmt, median, table } from "./lib.mjs";

/** Starts bench/http-server.mjs and reads its one line of fixtures. */
async function startServerProcess(journal, nodeArgs = []) {
  const child = spawn(process.execPath, [...nodeArgs, fileURLToPath(new URL("./http-server.mjs", import.meta.url)), journal], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise((resolve, reject) => {
    lines.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`the bench server exited (${code})`)));
  });
  return {
    fixtures: JSON.parse(first),
    /** The server process's CPU time (user + system, microseconds) and SQL statements so far. */
    async usage() {
      const answer = new Promise((resolve) => lines.once("line", resolve));
      child.stdin.write("cpu\n");
      return JSON.parse(await answer);
    },
    async stop() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.stdin.end();
      await exited;
    },
  };
}

function fire({ url, headers, body }, { connections, seconds }) {
  return new Promise((resolve, reject) => {
    autocannon(
      { url, method: "POST", headers, body, connections, duration: seconds, pipelining: 1 },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

/**
 * `journal`: `"wal"` runs SQLite in WAL mode with `synchronous = NORMAL` (the
 * usual setting for a server); `"default"` keeps the rollback journal, where
 * every commit (each exchange's audit record) waits for the disk;
 * `"postgres"` runs on a throwaway local PostgreSQL cluster (durability off:
 * `fsync`, `synchronous_commit`), the statements on another process.
 * `attribution`: also run the exchange whose audit records are kept in
 * memory (the second server) and the minimal user-token grant.
 */
export async function run({
  rounds = 3,
  seconds = 5,
  connections = 8,
  journal = "wal",
  nodeArgs = [],
  attribution = true,
} = {}) {
  const server = await startServerProcess(journal, nodeArgs);
  try {
    const { token_exchange_no_writes: noWrites, issue_only: issueOnly, ...grants } = server.fixtures.cases;
    const cases = attribution ? { ...grants, token_exchange_no_writes: noWrites, issue_only: issueOnly } : grants;
    const samples = Object.fromEntries(
      Object.keys(cases).map((k) => [k, { rps: [], p50: [], p99: [], cpuMs: [], statements: [], errors: 0 }]),
    );
    for (const request of Object.values(cases)) await fire(request, { connections, seconds: 1 }); // warm-up
    for (let r = 0; r < rounds; r++) {
      for (const [name, request] of Object.entries(cases)) {
        const before = await server.usage();
        const result = await fire(request, { connections, seconds });
        const used = await server.usage();
        const m = samples[name];
        const requests = Math.max(1, result.requests.total);
        m.cpuMs.push((used.cpuUs - before.cpuUs) / 1000 / requests);
        m.statements.push((used.statements - before.statements) / requests);
        m.rps.push(result.requests.average);
        m.p50.push(result.latency.p50);
        m.p99.push(result.latency.p99);
        m.errors += result.errors + result.non2xx;
      }
    }
    const summary = {};
    for (const [name, m] of Object.entries(samples)) {
      summary[name] = { rps: median(m.rps), p50: median(m.p50), p99: median(m.p99), cpuMs: median(m.cpuMs), statements: median(m.statements), errors: m.errors };
    }
    return { journal, connections, seconds, rounds, ...summary };
  } finally {
    await server.stop();
  }
}

const DATABASES = {
  wal: "SQLite (WAL)",
  default: "SQLite (rollback journal)",
  postgres: "PostgreSQL (local, durability off; its CPU not counted)",
};

/** The cases as the table shows them: key, row label, and the name in its ratio line. */
const ROWS = [
  ["token_exchange", "token-exchange", "token-exchange"],
  ["token_exchange_no_writes", "token-exchange, audit kept in memory", "token-exchange without database writes"],
  ["issue_only", "minimal user-token grant", "minimal user-token grant (authenticate, read the user, issue)"],
  ["client_credentials", "client_credentials"],
];

export function render(r) {
  const row = (name, m) => [
    name,
    fmt.int(m.rps),
    fmt.ms(m.p50),
    fmt.ms(m.p99),
    m.cpuMs.toFixed(2),
    m.statements.toFixed(1),
    String(m.errors),
  ];
  const shown = ROWS.filter(([key]) => r[key]);
  return (
    table(
      `2. HTTP: POST /oauth2/token on loopback, ${DATABASES[r.journal] ?? r.journal}, ${r.connections} connections, ${r.rounds} x ${r.seconds} s each, medians`,
      ["grant", "req/s", "p50 ms", "p99 ms", "server CPU ms/req", "SQL/req", "non-2xx"],
      shown.map(([key, label]) => row(label, r[key])),
    ) +
    shown
      .filter(([, , ratio]) => ratio)
      .map(([key, , ratio]) => `\nratio ${ratio} / client_credentials (req/s): ${fmt.ratio(r[key].rps / r.client_credentials.rps)}`)
      .join("")
  );
}
