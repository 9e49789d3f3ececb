// A user's project for the runtime suites: a fresh folder in the system's
// temporary directory (outside this repository, so nothing resolves from our
// own node_modules), with a package.json, the tarball `npm pack` made
// (js-tests/.tmp, by scripts/install-pkg-for-tests.mjs) installed by npm
// together with better-auth and jose, and the shared test files copied in
// with their relative layout:
//
//   conformance-cases.mjs, helpers/tokens.mjs, runtimes/*.mjs
//
// `node js-tests/runtimes/consumer.mjs` makes a fresh one and records it in
// js-tests/.tmp/consumer.json; the suites reuse it while the tarball is the
// same, or make their own when run alone.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const repo = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));
const tmp = path.join(repo, "js-tests", ".tmp");
const record = path.join(tmp, "consumer.json");

/** What a user installs beside the package: the tested better-auth set (versions from our package.json) and jose. */
const PEERS = [
  "better-auth",
  "@better-auth/core",
  "@better-auth/oauth-provider",
  "@better-auth/utils",
  "better-call",
  "@better-fetch/fetch",
  "jose",
];

/** The tarball `npm pack` made, with its digest. */
export function packedTarball() {
  const file = path.join(tmp, "pack.json");
  if (!existsSync(file)) throw new Error("js-tests/.tmp/pack.json is missing: run `make pkg` and scripts/install-pkg-for-tests.mjs");
  const pack = JSON.parse(readFileSync(file, "utf8"));
  const tarball = path.join(tmp, pack.filename);
  const sha = createHash("sha256").update(readFileSync(tarball)).digest("hex");
  return { tarball, sha, pack };
}

/** Makes a fresh consumer project (removing the previous one) and records it. */
export function prepareConsumer() {
  const { tarball, sha } = packedTarball();
  const previous = readRecord();
  if (previous?.dir) rmSync(previous.dir, { recursive: true, force: true });

  const dir = mkdtempSync(path.join(tmpdir(), "tx-runtimes-"));
  const devDependencies = JSON.parse(readFileSync(path.join(repo, "package.json"), "utf8")).devDependencies;
  const dependencies = { "better-auth-token-exchange": `file:${tarball}` };
  for (const name of PEERS) dependencies[name] = devDependencies[name];
  writeFileSync(
    path.join(dir, "package.json"),
    `${JSON.stringify({ name: "tx-runtimes-consumer", private: true, type: "module", dependencies }, null, 2)}\n`,
  );
  const npm = spawnSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: dir, encoding: "utf8" });
  if (npm.status !== 0) throw new Error(`npm install in ${dir} failed:\n${npm.stdout}\n${npm.stderr}`);

  copyShared(dir);
  mkdirSync(tmp, { recursive: true });
  writeFileSync(record, `${JSON.stringify({ dir, sha }, null, 2)}\n`);
  return dir;
}

/** Copies the shared test files into `dir`, keeping their layout. */
function copyShared(dir) {
  const js = path.join(repo, "js-tests");
  mkdirSync(path.join(dir, "helpers"), { recursive: true });
  mkdirSync(path.join(dir, "runtimes"), { recursive: true });
  copyFileSync(path.join(js, "conformance-cases.mjs"), path.join(dir, "conformance-cases.mjs"));
  copyFileSync(path.join(js, "helpers", "tokens.mjs"), path.join(dir, "helpers", "tokens.mjs"));
  for (const file of readdirSync(path.join(js, "runtimes"))) {
    if (file.endsWith(".mjs") && !file.endsWith(".runtime.mjs") && file !== "consumer.mjs") {
      copyFileSync(path.join(js, "runtimes", file), path.join(dir, "runtimes", file));
    }
  }
}

function readRecord() {
  try {
    return JSON.parse(readFileSync(record, "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * The consumer project for the current tarball: the recorded one when it
 * still matches (the shared test files are copied again, cheaply), else a
 * fresh one.
 */
export function consumer() {
  const current = readRecord();
  if (current && existsSync(path.join(current.dir, "node_modules")) && current.sha === packedTarball().sha) {
    copyShared(current.dir);
    return current.dir;
  }
  return prepareConsumer();
}

/** Runs `cmd` and returns { status, stdout, stderr, result } where `result` is the parsed `RESULT` line. */
export function runResult(cmd, args, options) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 300_000, ...options });
  const line = (r.stdout ?? "").split("\n").find((l) => l.startsWith("RESULT "));
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, error: r.error, result: line ? JSON.parse(line.slice(7)) : undefined };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = Date.now();
  const dir = prepareConsumer();
  console.log(`consumer project: ${dir} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

/**
 * Asserts a runtime's `RESULT`: every shared conformance case ran and passed,
 * and the helpers and exchange scenarios passed every step. Reports the counts through
 * `t.diagnostic`. Returns the result.
 */
export async function assertRuntimeResult(t, run, label) {
  const { default: assert } = await import("node:assert/strict");
  const { suites } = await import("../conformance-cases.mjs");
  const expected = suites.reduce((n, s) => n + s.cases.length, 0);
  const { result } = run;
  assert.ok(result, `${label}: no RESULT line (exit ${run.status}${run.error ? `, ${run.error.message}` : ""})\n${run.stdout}\n${run.stderr}`);
  if (result.conformance) {
    assert.deepEqual(result.conformance.failed, [], `${label}: conformance cases failed`);
    assert.equal(result.conformance.total, expected, `${label}: not every shared case ran`);
  }
  assert.ok(result.helpers?.ok, `${label}: helpers scenario failed: ${result.helpers?.error}`);
  assert.ok(result.exchange?.ok, `${label}: exchange scenario failed: ${result.exchange?.error}`);
  assert.equal(run.status, 0, `${label}: exit ${run.status}\n${run.stderr}`);
  t.diagnostic(
    `${label} (${result.runtime}): conformance ${result.conformance?.passed}/${result.conformance?.total} passed; ` +
      `helpers ${result.helpers.steps.length} steps passed; ` +
      `exchange ${result.exchange.steps.length} steps passed on ${result.database}` +
      (result.entry ? `; entry ${result.entry.replace(/^.*node_modules\//, "")}` : "") +
      (result.resourceServerEntry ? `, ${result.resourceServerEntry.replace(/^.*node_modules\//, "")}` : ""),
  );
  return result;
}
