// Entry for Deno, Bun and the bundled app (and Node.js 22+): the shared
// conformance cases, the BFF and resource-server helpers, then one full
// better-auth exchange on an in-memory SQLite database of the runtime's own
// (bun:sqlite on Bun, node:sqlite elsewhere). Prints one line
// `RESULT <json>`; exits 1 on any failure.

import { runExchangeScenario } from "./exchange-scenario.mjs";
import { runHelpersScenario } from "./helpers-scenario.mjs";
import { runConformance } from "./run-conformance.mjs";

// Specifiers in variables: a bundler must leave these to the runtime.
const BUN_SQLITE = "bun:sqlite";
const NODE_SQLITE = "node:sqlite";

async function openDatabase() {
  if (globalThis.Bun) {
    const { Database } = await import(BUN_SQLITE);
    return { name: "bun:sqlite", database: new Database(":memory:") };
  }
  const { DatabaseSync } = await import(NODE_SQLITE);
  return { name: "node:sqlite", database: new DatabaseSync(":memory:") };
}

const runtime = globalThis.Deno
  ? `deno ${globalThis.Deno.version.deno}`
  : globalThis.Bun
    ? `bun ${globalThis.Bun.version}`
    : `node ${process.versions.node}`;

const result = { runtime };
try {
  // Which of the package's entries this runtime's resolver chose (its `exports` conditions).
  result.entry = import.meta.resolve("better-auth-token-exchange");
  result.resourceServerEntry = import.meta.resolve("better-auth-token-exchange/resource-server");
} catch {
  // not in a bundle: nothing is resolved at run time there
}
try {
  result.conformance = await runConformance();
  try {
    result.helpers = { ok: true, steps: await runHelpersScenario() };
  } catch (error) {
    result.helpers = { ok: false, error: String(error?.stack ?? error) };
  }
  const { name, database } = await openDatabase();
  result.database = name;
  result.exchange = { ok: true, steps: await runExchangeScenario({ database }) };
} catch (error) {
  result.exchange = { ok: false, error: String(error?.stack ?? error) };
}
console.log(`RESULT ${JSON.stringify(result)}`);
const ok = result.conformance?.failed.length === 0 && result.helpers?.ok && result.exchange.ok;
if (!ok) process.exitCode = 1;
