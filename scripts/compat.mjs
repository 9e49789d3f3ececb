#!/usr/bin/env node
// `make compat`: the plugin against the latest published better-auth and
// @better-auth/oauth-provider, and the install lines a user copies from the
// README, checked with npm, pnpm and bun. Not part of `make test`: it asks
// the registry what is latest, and installs from it.
//
// 1. The end-to-end suites on the latest pair. A scratch project in the
//    system's temporary directory installs, with npm, the packed tarball
//    (js-tests/.tmp, written by scripts/install-pkg-for-tests.mjs), the
//    latest better-auth and oauth-provider, the `overrides` a user needs
//    (oauth-provider pins better-auth's own dependencies at older versions,
//    and npm refuses the tree without them: ERESOLVE), the latest `auth`
//    CLI (the Drizzle schema generator) and the suites' own tools at this
//    repository's versions. The suites (js-tests/plugin*.test.mjs and the
//    helpers) are copied in and run on Kysely SQLite, the memory adapter
//    and Drizzle SQLite, and the type tests of `make typecheck`
//    (js-tests/types: the plugin's endpoints in `auth.api` and the client)
//    are compiled there.
// 2. The install lines. In an empty project each, npm, pnpm (the latest, and
//    the latest 10.x) and bun install `better-auth @better-auth/oauth-provider
//    better-auth-token-exchange` (the tarball standing for the last) with the
//    overrides in each one's own place; the tree must resolve without peer
//    warnings and hold one copy of better-auth's core, utils, fetch and
//    better-call; then scripts/compat-smoke.mjs runs there (migrations,
//    sign-up, client, authorization_code, one exchange), under Node.js 22
//    and, in bun's project, under bun too.
//
// Prints the versions it resolved, the lines that worked, and a summary;
// exits non-zero when anything failed. Scratch projects are removed unless
// TX_COMPAT_KEEP=1.
//
//   node scripts/compat.mjs             everything
//   node scripts/compat.mjs suites      only 1
//   node scripts/compat.mjs installs    only 2

import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { packedTarball } from "../js-tests/runtimes/consumer.mjs";
import { ensureNodeLine } from "./ensure-runtimes.mjs";
import { root } from "./lib/recipe.mjs";

const say = (text) => console.log(`compat: ${text}`);
const which = process.argv[2] ?? "all";
const keep = process.env.TX_COMPAT_KEEP === "1";
const failures = [];
const scratch = [];

/** The suites run on the latest pair, and the databases they run on. */
const SUITES = [
  "plugin.test.mjs",
  "plugin-revocation.test.mjs",
  "plugin-audit-api.test.mjs",
  "plugin-opaque.test.mjs",
  "plugin-delegation.test.mjs",
  "plugin-storage.test.mjs",
];
const HELPERS = ["helpers/server.mjs", "helpers/drizzle.mjs"];
const DATABASES = ["sqlite", "memory", "drizzle-sqlite"];
/** The type tests run on the latest pair, with their projects. */
const TYPE_TESTS = ["plugin-usage.ts", "tsconfig.plugin.json", "client-usage.ts", "tsconfig.client.json"];
/** Packages of which a tree should hold one version. */
const SINGLE = ["better-auth", "@better-auth/core", "@better-auth/utils", "@better-fetch/fetch", "better-call"];

function run(cmd, args, { cwd, env = {}, timeout = 900_000 } = {}) {
  const r = spawnSync(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    timeout,
  });
  return {
    status: r.status ?? (r.error ? -1 : r.signal),
    stdout: r.stdout ?? "",
    stderr: r.stderr ?? "",
    error: r.error,
  };
}

function npmView(spec, field) {
  const r = run("npm", ["view", spec, field, "--json"]);
  if (r.status !== 0) throw new Error(`npm view ${spec} ${field} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

function project(prefix, files) {
  const dir = mkdtempSync(path.join(tmpdir(), `tx-compat-${prefix}-`));
  scratch.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

const json = (value) => `${JSON.stringify(value, null, 2)}\n`;
const rootVersions = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).devDependencies;

/**
 * Every `name@version` of SINGLE in a node_modules tree (pnpm's .pnpm folder
 * included), leaving out the private copies of the packages in `skip`.
 */
function versionsInTree(dir, skip = []) {
  const found = new Map(SINGLE.map((n) => [n, new Set()]));
  const visit = (modules, depth) => {
    let entries;
    try {
      entries = readdirSync(modules, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.name === ".bin" || entry.name === ".cache") continue;
      const full = path.join(modules, entry.name);
      if (entry.name === ".pnpm") {
        for (const store of readdirSync(full, { withFileTypes: true })) {
          if (store.isDirectory()) visit(path.join(full, store.name, "node_modules"), depth + 1);
        }
        continue;
      }
      if (entry.name.startsWith("@")) {
        for (const scoped of readdirSync(full)) inspect(path.join(full, scoped), `${entry.name}/${scoped}`, depth);
      } else {
        inspect(full, entry.name, depth);
      }
    }
  };
  const inspect = (pkgDir, name, depth) => {
    let stat;
    try {
      stat = statSync(pkgDir);
    } catch {
      return;
    }
    if (!stat.isDirectory() || skip.includes(name)) return;
    if (found.has(name)) {
      try {
        found.get(name).add(JSON.parse(readFileSync(path.join(pkgDir, "package.json"), "utf8")).version);
      } catch {}
    }
    if (depth < 6) visit(path.join(pkgDir, "node_modules"), depth + 1);
  };
  visit(path.join(dir, "node_modules"), 0);
  return Object.fromEntries([...found].map(([n, v]) => [n, [...v].sort()]));
}

function checkSingle(label, dir, skip) {
  const tree = versionsInTree(dir, skip);
  const text = Object.entries(tree)
    .map(([n, v]) => `${n}@${v.join("+") || "-"}`)
    .join(" ");
  const doubled = Object.entries(tree).filter(([, v]) => v.length > 1);
  if (doubled.length) fail(label, `more than one version in the tree: ${text}`);
  return text;
}

function fail(label, message) {
  failures.push(`${label}: ${message}`);
  say(`FAILED ${label}: ${message}`);
}

function smoke(label, dir, node22, bun) {
  copyFileSync(path.join(root, "scripts", "compat-smoke.mjs"), path.join(dir, "smoke.mjs"));
  const runtimes = [["node 22", node22], ...(bun ? [["bun", bun]] : [])];
  for (const [name, bin] of runtimes) {
    const r = run(bin, ["smoke.mjs"], { cwd: dir, env: { NODE_NO_WARNINGS: "1" }, timeout: 120_000 });
    const out = `${r.stdout}${r.stderr}`.trim();
    if (r.status !== 0) fail(`${label}, smoke under ${name}`, out);
    else say(`${label}, smoke under ${name}:\n  ${out.split("\n").join("\n  ")}`);
  }
}

/** What a user adds: the versions latest better-auth itself depends on, for oauth-provider's pins. */
function resolveLatest() {
  const betterAuth = npmView("better-auth", "version");
  const provider = npmView("@better-auth/oauth-provider", "version");
  const cli = npmView("auth", "version");
  const deps = npmView(`better-auth@${betterAuth}`, "dependencies");
  const providerPeers = npmView(`@better-auth/oauth-provider@${provider}`, "peerDependencies");
  const pins = {
    "@better-auth/utils": deps["@better-auth/utils"],
    "@better-fetch/fetch": deps["@better-fetch/fetch"],
    "better-call": deps["better-call"],
  };
  say(`latest: better-auth@${betterAuth}, @better-auth/oauth-provider@${provider}, auth (CLI)@${cli}`);
  say(`oauth-provider@${provider} peers: ${JSON.stringify(providerPeers)}`);
  say(`better-auth@${betterAuth} depends on: ${JSON.stringify(pins)}`);
  return { betterAuth, provider, cli, pins };
}

// ---------------------------------------------------------------------------
// 1. The suites on the latest pair.

function suites(latest, tarball, node22) {
  const overrides = { "@better-auth/oauth-provider": latest.pins };
  const tools = ["better-sqlite3", "jose", "oauth4webapi", "drizzle-orm", "drizzle-kit", "typescript"];
  const dependencies = {
    "better-auth-token-exchange": `file:${tarball}`,
    "better-auth": latest.betterAuth,
    "@better-auth/oauth-provider": latest.provider,
    auth: latest.cli,
    ...Object.fromEntries(tools.map((t) => [t, rootVersions[t]])),
  };
  const dir = project("suites", {
    "package.json": json({ name: "tx-compat-suites", private: true, type: "module", dependencies, overrides }),
  });
  say(`suites: installing in ${dir} (npm; better-sqlite3 builds from source, a minute or two)`);
  const install = run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: dir });
  if (install.status !== 0) return fail("suites: npm install", `${install.stdout}\n${install.stderr}`);
  // The CLI keeps a better-auth of its own (an exact dependency), which the app never loads.
  say(`suites: tree ${checkSingle("suites", dir, ["auth"])}`);
  const js = path.join(root, "js-tests");
  mkdirSync(path.join(dir, "helpers"), { recursive: true });
  for (const file of [...SUITES, ...HELPERS]) copyFileSync(path.join(js, file), path.join(dir, file));

  types(dir, js);

  const env = { TX_TEST_NODE22: node22 };
  const generated = run(process.execPath, ["helpers/drizzle.mjs"], { cwd: dir, env });
  if (generated.status !== 0) return fail("suites: auth generate", `${generated.stdout}\n${generated.stderr}`);
  for (const db of DATABASES) {
    const started = Date.now();
    const r = run(process.execPath, ["--test", ...SUITES], { cwd: dir, env: { ...env, TX_TEST_DB: db } });
    writeFileSync(path.join(dir, `suites-${db}.log`), `${r.stdout}\n${r.stderr}`);
    const count = (name) => Number(r.stdout.match(new RegExp(`^# ${name} (\\d+)`, "m"))?.[1] ?? Number.NaN);
    const failed = r.stdout
      .split("\n")
      .filter((l) => /^\s*not ok /.test(l) && !/# (TODO|SKIP)/.test(l))
      .map((l) => l.trim());
    const summary = `${count("tests")} tests, ${count("pass")} passed, ${count("fail")} failed, ${count("skipped")} skipped, ${count("todo")} todo (${((Date.now() - started) / 1000).toFixed(0)} s)`;
    if (r.status !== 0 || count("fail") !== 0) fail(`suites on ${db}`, `${summary}\n  ${failed.join("\n  ")}`);
    else say(`suites on ${db}: ${summary}`);
  }
}

/**
 * The type tests of `make typecheck` (js-tests/types) on the latest pair:
 * `auth.api` and the client plugin infer the plugin's endpoints, and a
 * wrong query is an error (`@ts-expect-error` fails when it is not).
 */
function types(dir, js) {
  mkdirSync(path.join(dir, "types"), { recursive: true });
  for (const file of TYPE_TESTS) copyFileSync(path.join(js, "types", file), path.join(dir, "types", file));
  for (const config of TYPE_TESTS.filter((f) => f.endsWith(".json"))) {
    const r = run(path.join(dir, "node_modules", ".bin", "tsc"), ["-p", path.join("types", config)], { cwd: dir });
    if (r.status !== 0) fail(`types (${config})`, `${r.stdout}\n${r.stderr}`.trim());
    else say(`types: tsc -p ${config} passes`);
  }
}

// ---------------------------------------------------------------------------
// 2. The install lines.

function installs(latest, tarball, node22) {
  const add = ["better-auth", "@better-auth/oauth-provider", tarball];
  const scoped = Object.fromEntries(
    Object.entries(latest.pins).map(([n, v]) => [`@better-auth/oauth-provider>${n}`, v]),
  );
  const lines = [];

  // npm without overrides: the failure users meet (not a failure of ours).
  {
    const dir = project("npm-plain", { "package.json": json({ name: "app", private: true, type: "module" }) });
    const r = run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", ...add], { cwd: dir });
    say(
      `npm without overrides: ${r.status === 0 ? "installs (the overrides may no longer be needed)" : /ERESOLVE/.test(r.stderr) ? "ERESOLVE, as expected" : `fails: ${r.stderr.slice(0, 400)}`}`,
    );
  }

  // npm: `overrides` in package.json, nested under oauth-provider.
  {
    const overrides = { "@better-auth/oauth-provider": latest.pins };
    const dir = project("npm", { "package.json": json({ name: "app", private: true, type: "module", overrides }) });
    const r = run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", ...add], { cwd: dir });
    const ls = r.status === 0 ? run("npm", ["ls", "--all"], { cwd: dir }) : r;
    if (r.status !== 0) fail("npm", `npm install: ${r.stderr}`);
    else if (ls.status !== 0) fail("npm", `npm ls: ${ls.stdout.slice(-2000)}\n${ls.stderr}`);
    else {
      say(`npm: installs, npm ls is clean; tree ${checkSingle("npm", dir)}`);
      lines.push(["npm (package.json)", json({ overrides })]);
      smoke("npm", dir, node22);
    }
  }

  // pnpm: the latest (pnpm-workspace.yaml) and the latest 10.x (package.json "pnpm").
  const pnpmLatest = npmView("pnpm", "version");
  const pnpm10 = [npmView("pnpm@10", "version")].flat().at(-1);
  for (const [version, form] of [
    [pnpmLatest, Number(pnpmLatest.split(".")[0]) >= 11 ? "workspace" : "package"],
    [pnpm10, "package"],
  ]) {
    const label = `pnpm ${version}`;
    const yaml = `overrides:\n${Object.entries(scoped)
      .map(([n, v]) => `  "${n}": "${v}"\n`)
      .join("")}`;
    const pkg = {
      name: "app",
      private: true,
      type: "module",
      ...(form === "package" ? { pnpm: { overrides: scoped } } : {}),
    };
    const dir = project(`pnpm${version.split(".")[0]}`, {
      "package.json": json(pkg),
      ...(form === "workspace" ? { "pnpm-workspace.yaml": yaml } : {}),
    });
    const r = run("npx", ["--yes", `pnpm@${version}`, "add", ...add, "--store-dir", path.join(dir, ".pnpm-store")], {
      cwd: dir,
      env: { CI: "1" },
    });
    const out = `${r.stdout}\n${r.stderr}`;
    if (r.status !== 0) fail(label, `pnpm add: ${out.slice(-3000)}`);
    else if (/Issues with peer dependencies|no longer read/i.test(out)) fail(label, `pnpm warns:\n${out.slice(-3000)}`);
    else {
      say(`${label}: installs without peer warnings; tree ${checkSingle(label, dir)}`);
      lines.push([
        `${label} (${form === "workspace" ? "pnpm-workspace.yaml" : "package.json"})`,
        form === "workspace" ? yaml : json({ pnpm: { overrides: scoped } }),
      ]);
      smoke(label, dir, node22);
    }
  }

  // bun: top-level `overrides` in package.json, flat.
  {
    const bun = path.join(root, "node_modules", ".bin", "bun");
    const bunVersion = run(bun, ["--version"]).stdout.trim();
    const overrides = latest.pins;
    const dir = project("bun", { "package.json": json({ name: "app", private: true, type: "module", overrides }) });
    const r = run(bun, ["add", ...add], { cwd: dir });
    if (r.status !== 0) fail(`bun ${bunVersion}`, `bun add: ${r.stdout}\n${r.stderr}`);
    else {
      say(`bun ${bunVersion}: installs; tree ${checkSingle(`bun ${bunVersion}`, dir)}`);
      lines.push([`bun ${bunVersion} (package.json)`, json({ overrides })]);
      smoke(`bun ${bunVersion}`, dir, node22, bun);
    }
  }

  say(
    "the lines that worked, for better-auth@" +
      `${latest.betterAuth} and @better-auth/oauth-provider@${latest.provider}:`,
  );
  for (const [where, text] of lines) console.log(`--- ${where}\n${text.trimEnd()}`);
}

// ---------------------------------------------------------------------------

try {
  const latest = resolveLatest();
  const { tarball } = packedTarball();
  const node22 = ensureNodeLine("22");
  if (which === "all" || which === "suites") suites(latest, tarball, node22);
  if (which === "all" || which === "installs") installs(latest, tarball, node22);
} catch (error) {
  fail("compat", error.stack ?? String(error));
} finally {
  if (keep) say(`kept: ${scratch.join(", ")}`);
  else for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
}
if (failures.length) {
  say(`${failures.length} failed:\n  ${failures.map((f) => f.split("\n")[0]).join("\n  ")}`);
  process.exit(1);
}
say("everything passed");
