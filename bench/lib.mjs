// Shared helpers of the benchmarks: where the built package is, timing loops,
// medians, and plain-text tables. Numbers are for comparing within one run.

import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/**
 * The built package the benchmarks load: the one `make` installs for the
 * tests, or `BENCH_PKG` (a directory holding a built package, say an older
 * build to compare with).
 */
export const pkgDir = path.resolve(
  process.env.BENCH_PKG ?? path.join(root, "js-tests", "node_modules", "better-auth-token-exchange"),
);
export const pkgUrl = (rel) => pathToFileURL(path.join(pkgDir, rel)).href;

/** The package's `./engine` entry for Node.js, as its `exports` map it (the file moved between releases). */
export function engineEntryUrl() {
  const manifest = JSON.parse(readFileSync(path.join(pkgDir, "package.json"), "utf8"));
  return pkgUrl(manifest.exports["./engine"].node);
}

/** Compiles bench/jose-baseline.ts with esbuild (once per run) and imports it. */
export async function loadBaseline() {
  const out = path.join(root, "bench", ".build", "jose-baseline.mjs");
  mkdirSync(path.dirname(out), { recursive: true });
  const r = spawnSync(
    path.join(root, "node_modules", ".bin", "esbuild"),
    [path.join(root, "bench", "jose-baseline.ts"), `--outfile=${out}`, "--format=esm", "--platform=node", "--target=node20", "--log-level=warning"],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`esbuild failed: ${r.stderr}`);
  return import(pathToFileURL(out).href);
}

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Calls of the synchronous `fn` per second over about `ms` milliseconds. */
export function rateSync(fn, ms) {
  let n = 0;
  const start = performance.now();
  const end = start + ms;
  let now;
  do {
    fn();
    n++;
    now = performance.now();
  } while (now < end);
  return (n * 1000) / (now - start);
}

/** Completed calls of the asynchronous `fn` per second, one at a time. */
export async function rateAsync(fn, ms) {
  let n = 0;
  const start = performance.now();
  const end = start + ms;
  let now;
  do {
    await fn();
    n++;
    now = performance.now();
  } while (now < end);
  return (n * 1000) / (now - start);
}

/** Median milliseconds per call of the synchronous `fn` over `rounds` timed batches. */
export function timeSync(fn, { rounds = 7, minMs = 40 } = {}) {
  // Size one batch to take about `minMs`.
  let batch = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < batch; i++) fn();
    const took = performance.now() - t;
    if (took >= minMs || batch >= 1 << 20) break;
    batch = Math.max(batch * 2, Math.ceil((batch * minMs) / Math.max(took, 0.01)));
  }
  const per = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    for (let i = 0; i < batch; i++) fn();
    per.push((performance.now() - t) / batch);
  }
  return median(per);
}

export const fmt = {
  int: (n) => Math.round(n).toLocaleString("en-US"),
  ms: (n) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2)),
  us: (ms) => (ms * 1000 >= 100 ? (ms * 1000).toFixed(0) : (ms * 1000).toFixed(1)),
  ratio: (n) => `${n.toFixed(2)}x`,
  kib: (bytes) => `${(bytes / 1024).toFixed(1)} KiB`,
};

/** A plain-text table: `rows` are arrays of cells; numbers are right-aligned. */
export function table(title, header, rows) {
  const cells = [header, ...rows].map((r) => r.map(String));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]?.length ?? 0)));
  const right = header.map((_, i) => rows.every((r) => /^[-\d.,x%<>~ ]+[a-zA-Z/ ]*$/.test(String(r[i]))));
  const line = (r) => r.map((c, i) => (right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ");
  return [`\n${title}`, line(cells[0]), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n");
}
