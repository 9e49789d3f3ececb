// Drizzle schemas for the end-to-end suites, made the way a user makes them:
// better-auth's schema generator (the `auth` CLI, `auth generate`, a root
// devDependency) run over a config file with the plugins the test server
// uses, for SQLite and for PostgreSQL. The tables are then created from the
// generated schema with drizzle-kit's API, in-process (a user would run
// `drizzle-kit push` or `migrate`; better-auth's own migrations refuse a
// Drizzle adapter).
//
// The CLI needs Node.js 22: TX_TEST_NODE22 names its binary, else it is the
// project's Node line (scripts/ensure-runtimes.mjs, installed when missing).
// Packages are found from this file's folder up, as Node.js finds them, so
// the helpers also run from a copy in another project (scripts/compat.mjs).
// What it generates is cached in js-tests/.tmp/drizzle/<key>/, the key being
// a digest of the plugins' schemas and of the versions involved, so a server
// start reuses it and a change to the plugin's tables generates afresh:
//
//   <dialect>.schema.ts    the generator's output, untouched
//   <dialect>.schema.mjs   the same compiled to JavaScript (esbuild), imported by the tests
//   <dialect>.sql.json     drizzle-kit's statements creating every table
//
// `node js-tests/helpers/drizzle.mjs` fills the cache for both dialects
// (`make adapter-test` and `make pg-test` run it first, so parallel suites
// do not all generate at once); a missing entry is generated on first use.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import { oauthProvider } from "@better-auth/oauth-provider";
import { admin, jwt } from "better-auth/plugins";
import { tokenExchange } from "better-auth-token-exchange";

const here = path.dirname(fileURLToPath(import.meta.url));
const cacheRoot = path.join(here, "..", ".tmp", "drizzle");

/** The generator's `provider` per dialect. */
export const DIALECTS = { sqlite: "sqlite", pg: "pg" };

/**
 * The config file the generator reads: the test server's plugins (jwt,
 * oauthProvider, the token-exchange plugin from the installed package, and
 * better-auth's admin plugin, which the audit-API suite adds), with a Drizzle
 * adapter of the dialect. Only the tables matter to the generator.
 */
const configText = (provider) => `// Written by js-tests/helpers/drizzle.mjs for \`auth generate\`.
import { oauthProvider } from "@better-auth/oauth-provider";
import { betterAuth } from "better-auth";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import { admin, jwt } from "better-auth/plugins";
import { tokenExchange } from "better-auth-token-exchange";

export const auth = betterAuth({
  baseURL: "http://localhost:3000",
  secret: "schema-generation-secret-0123456789abcdef",
  database: drizzleAdapter({}, { provider: ${JSON.stringify(provider)} }),
  emailAndPassword: { enabled: true },
  logger: { disabled: true },
  plugins: [jwt(), oauthProvider({ loginPage: "/login", consentPage: "/consent" }), tokenExchange(), admin()],
});
`;

/** The folder of the installed package `name`, looked up from this file's folder. */
function packageDir(name) {
  for (let dir = here; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", ...name.split("/"));
    if (existsSync(path.join(candidate, "package.json"))) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`${name} is not installed: run \`make toolchain\` (npm ci)`);
  }
}

function version(name) {
  return JSON.parse(readFileSync(path.join(packageDir(name), "package.json"), "utf8")).version;
}

/** The cache key: the plugins' tables, the config, and the versions that shape the output. */
function cacheKey() {
  const plugins = [jwt(), oauthProvider({ loginPage: "/login", consentPage: "/consent" }), tokenExchange(), admin()];
  const schemas = plugins.map((p) => [p.id, p.schema ?? null]);
  const names = [
    "better-auth",
    "@better-auth/oauth-provider",
    "better-auth-token-exchange",
    "auth",
    "drizzle-orm",
    "drizzle-kit",
  ];
  const versions = names.map((n) => [n, version(n)]);
  const text = JSON.stringify({ schemas, versions, config: configText("?") }, (_k, v) =>
    typeof v === "function" ? String(v) : v,
  );
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

let memo; // key, computed once per process

function entryDir() {
  memo ??= cacheKey();
  return path.join(cacheRoot, memo);
}

/** The generator's `auth` binary under Node.js 22. */
async function generatorCommand() {
  const node = process.env.TX_TEST_NODE22 || (await import("../../scripts/ensure-runtimes.mjs")).ensureNodeLine("22");
  const dir = packageDir("auth");
  const { bin } = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
  return [node, path.join(dir, typeof bin === "string" ? bin : bin.auth)];
}

/** drizzle-kit's statements creating every table of `schema` on an empty database. */
async function createStatements(dialect, schema) {
  const kit = await import("drizzle-kit/api");
  if (dialect === "sqlite") {
    return kit.generateSQLiteMigration(
      await kit.generateSQLiteDrizzleJson({}),
      await kit.generateSQLiteDrizzleJson(schema),
    );
  }
  return kit.generateMigration(kit.generateDrizzleJson({}), kit.generateDrizzleJson(schema));
}

/** Runs the generator for `dialect` into `dir` (a staging folder). */
async function generate(dialect, dir) {
  const [node, cli] = await generatorCommand();
  const config = path.join(dir, `${dialect}.auth.mjs`);
  const output = path.join(dir, `${dialect}.schema.ts`);
  writeFileSync(config, configText(DIALECTS[dialect]));
  const r = spawnSync(node, [cli, "generate", "--config", config, "--output", output, "--yes"], {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", BETTER_AUTH_TELEMETRY: "0" },
    timeout: 120_000,
  });
  if (r.status !== 0 || !existsSync(output)) {
    throw new Error(`auth generate (${dialect}) failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  }
  const { transformSync } = await import("esbuild");
  const js = transformSync(readFileSync(output, "utf8"), { loader: "ts", format: "esm", target: "node20" }).code;
  const compiled = path.join(dir, `${dialect}.schema.mjs`);
  writeFileSync(compiled, js);
  const schema = await import(pathToFileURL(compiled).href);
  writeFileSync(
    path.join(dir, `${dialect}.sql.json`),
    `${JSON.stringify(await createStatements(dialect, schema), null, 2)}\n`,
  );
}

/**
 * The generated schema of `dialect` ("sqlite" or "pg") and the statements
 * creating its tables, generated on first use.
 */
export async function drizzleSchema(dialect) {
  if (!(dialect in DIALECTS)) throw new Error(`unknown Drizzle dialect ${dialect}`);
  const dir = entryDir();
  const compiled = path.join(dir, `${dialect}.schema.mjs`);
  const sql = path.join(dir, `${dialect}.sql.json`);
  if (!existsSync(sql)) {
    // Generate beside the entry, then move it in whole: a parallel suite
    // either finds the finished files or generates its own copy.
    const staging = `${dir}.staging-${process.pid}-${dialect}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    try {
      await generate(dialect, staging);
      mkdirSync(dir, { recursive: true });
      for (const ext of ["auth.mjs", "schema.ts", "schema.mjs", "sql.json"]) {
        const target = path.join(dir, `${dialect}.${ext}`);
        if (!existsSync(sql)) renameSync(path.join(staging, `${dialect}.${ext}`), target);
      }
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  // Files move in with sql.json last: once it is there, the schema is complete.
  return {
    schema: await import(pathToFileURL(compiled).href),
    statements: JSON.parse(readFileSync(sql, "utf8")),
    dir,
  };
}

/** The table name and the column names (by field) of `model` in a generated schema. */
export async function drizzleNames(schema, model) {
  const { getTableName, getTableColumns } = await import("drizzle-orm");
  const table = schema[model];
  if (!table) throw new Error(`the generated schema has no table for ${model}`);
  const columns = Object.fromEntries(
    Object.entries(getTableColumns(table)).map(([field, column]) => [field, column.name]),
  );
  return { table: getTableName(table), columns };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    for (const dialect of Object.keys(DIALECTS)) {
      const { dir, statements } = await drizzleSchema(dialect);
      console.error(
        `drizzle: ${dialect} schema in ${path.relative(process.cwd(), dir)} (${statements.length} statements)`,
      );
    }
  } catch (error) {
    console.error(`drizzle: ${error.message}`);
    process.exit(1);
  }
}
