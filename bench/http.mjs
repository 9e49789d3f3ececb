// Benchmark 2: the token endpoint over HTTP on loopback, with autocannon as
// the load generator, against two better-auth servers in one process of
// their own (bench/http-server.mjs): the product, and the hand-written
// baseline plugin (bench/handwritten-plugin.mjs), each in three scenarios
// (impersonation and delegation with JWT subject and actor tokens, and an
// opaque subject token). The product's server also answers client_credentials
// (which also authenticates a client and signs a JWT) and a minimal grant
// that only authenticates, reads the user and issues (the least a grant
// issuing a user's token does). The cases take turns, round after round, and
// the table reports medians, with the server process's CPU time and the SQL
// statements it ran per request. On SQLite in WAL mode, in SQLite's default
// rollback-journal mode (what `new Database("auth.sqlite")` gives), and on
// PostgreSQL.

import { spawn } from "node:child_process";
import { createPrivateKey, randomUUID, sign } from "node:crypto";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { fmt, median, table } from "./lib.mjs";

/** Starts bench/http-server.mjs and reads its one line of fixtures. */
export async function startServerProcess(journal, nodeArgs = []) {
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
      return this.ask("cpu");
    },
    /** Sends one command line (see http-server.mjs) and reads its one-line JSON answer. */
    async ask(command) {
      const answer = new Promise((resolve) => lines.once("line", resolve));
      child.stdin.write(`${command}\n`);
      return JSON.parse(await answer);
    },
    async stop() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.stdin.end();
      await exited;
    },
  };
}

/**
 * A form body with an ID-JAG minted for this request (each is redeemed
 * once): an Ed25519 JWS of the bench's IdP, signed here with node:crypto.
 */
function mintedBody({ key, claims, form }) {
  const privateKey = createPrivateKey({ key, format: "jwk" });
  const b64 = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const header = b64({ alg: "EdDSA", kid: key.kid, typ: "oauth-id-jag+jwt" });
  return () => {
    const now = Math.floor(Date.now() / 1000);
    const input = `${header}.${b64({ ...claims, jti: randomUUID(), iat: now, exp: now + 300 })}`;
    const assertion = `${input}.${sign(null, Buffer.from(input), privateKey).toString("base64url")}`;
    return new URLSearchParams([...form, ["assertion", assertion]]).toString();
  };
}

export function fire({ url, headers, body, mint }, { connections, seconds }) {
  const next = mint ? mintedBody(mint) : undefined;
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        method: "POST",
        headers,
        connections,
        duration: seconds,
        pipelining: 1,
        ...(next ? { requests: [{ setupRequest: (request) => ({ ...request, body: next() }) }] } : { body }),
      },
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
 */
export async function run({ rounds = 3, seconds = 5, connections = 10, journal = "wal", nodeArgs = [] } = {}) {
  const server = await startServerProcess(journal, nodeArgs);
  try {
    const { cases } = server.fixtures;
    const samples = Object.fromEntries(
      Object.keys(cases).map((k) => [k, { rps: [], p50: [], p99: [], cpuMs: [], statements: [], errors: 0 }]),
    );
    for (const request of Object.values(cases)) await fire(request, { connections, seconds: 1 }); // warm-up
    // Alternating rounds: every case once per round, so that what the
    // machine does meanwhile falls on all of them alike.
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
      summary[name] = {
        rps: median(m.rps),
        p50: median(m.p50),
        p99: median(m.p99),
        cpuMs: median(m.cpuMs),
        statements: median(m.statements),
        errors: m.errors,
        rounds: m.rps,
      };
    }
    return { journal, connections, seconds, rounds, cases: summary };
  } finally {
    await server.stop();
  }
}

export const DATABASES = {
  wal: "SQLite (WAL)",
  default: "SQLite (rollback journal)",
  postgres: "PostgreSQL (local, durability off; its CPU not counted)",
};

export const SCENARIOS = ["impersonation", "delegation", "opaque"];

const LABELS = {
  idjag_issue: "ID-JAG issued (IdP: id_token exchanged)",
  idjag_redeem: "ID-JAG redeemed (jwt-bearer)",
  issue_only: "minimal user-token grant",
  client_credentials: "client_credentials",
};

/** product ÷ baseline per scenario, and the impersonation exchange ÷ client_credentials (req/s medians). */
export function ratios(r) {
  const c = r.cases;
  const out = Object.fromEntries(
    SCENARIOS.map((k) => [k, c[`product_${k}`].rps / c[`baseline_${k}`].rps]),
  );
  out.exchangeVsClientCredentials = c.product_impersonation.rps / c.client_credentials.rps;
  out.idJagIssueVsClientCredentials = c.idjag_issue.rps / c.client_credentials.rps;
  out.idJagRedeemVsClientCredentials = c.idjag_redeem.rps / c.client_credentials.rps;
  return out;
}

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
  const rows = Object.entries(r.cases).map(([key, m]) => {
    const [who, scenario] = key.split("_");
    return row(LABELS[key] ?? `${scenario}: ${who === "product" ? "product" : "hand-written baseline"}`, m);
  });
  const q = ratios(r);
  return (
    table(
      `2. HTTP: POST /oauth2/token on loopback, ${DATABASES[r.journal] ?? r.journal}, ${r.connections} connections, ${r.rounds} alternating rounds x ${r.seconds} s, medians`,
      ["case", "req/s", "p50 ms", "p99 ms", "server CPU ms/req", "SQL/req", "non-2xx"],
      rows,
    ) +
    SCENARIOS.map((k) => `\nratio product / hand-written baseline, ${k} (req/s): ${fmt.ratio(q[k])}`).join("") +
    `\nratio token exchange (impersonation) / client_credentials (req/s): ${fmt.ratio(q.exchangeVsClientCredentials)}` +
    `\nratio ID-JAG issued / client_credentials (req/s): ${fmt.ratio(q.idJagIssueVsClientCredentials)}` +
    `\nratio ID-JAG redeemed / client_credentials (req/s): ${fmt.ratio(q.idJagRedeemVsClientCredentials)}`
  );
}

/** The goal's table: product ÷ baseline per scenario and database, exchange ÷ client_credentials, statements. */
export function summary(byDatabase) {
  const dbs = Object.keys(byDatabase);
  const rows = SCENARIOS.map((k) => [
    `product / baseline, ${k}`,
    ...dbs.map((d) => fmt.ratio(ratios(byDatabase[d])[k])),
  ]);
  rows.push(["exchange / client_credentials", ...dbs.map((d) => fmt.ratio(ratios(byDatabase[d]).exchangeVsClientCredentials))]);
  rows.push(["ID-JAG issued / client_credentials", ...dbs.map((d) => fmt.ratio(ratios(byDatabase[d]).idJagIssueVsClientCredentials))]);
  rows.push(["ID-JAG redeemed / client_credentials", ...dbs.map((d) => fmt.ratio(ratios(byDatabase[d]).idJagRedeemVsClientCredentials))]);
  for (const k of SCENARIOS) {
    rows.push([`SQL per exchange, ${k}: product, baseline`, ...dbs.map((d) => {
      const c = byDatabase[d].cases;
      return `${c[`product_${k}`].statements.toFixed(1)}, ${c[`baseline_${k}`].statements.toFixed(1)}`;
    })]);
  }
  return table("Summary: req/s ratios (medians of alternating rounds) and SQL statements per request", ["", ...dbs.map((d) => DATABASES[d].split(" (")[0] + (d === "default" ? " rollback" : d === "wal" ? " WAL" : ""))], rows);
}
