// Benchmark 3: the wasm module's size (raw and gzip -9), its cold
// `WebAssembly.compile` + instantiate time, and the first exchange after
// start. Each start is a fresh Node.js process (bench/start-child.mjs); the
// table reports medians.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { fmt, median, pkgDir, table } from "./lib.mjs";
import path from "node:path";

export async function run({ starts = 9 } = {}) {
  const bytes = readFileSync(path.join(pkgDir, "wasm", "engine_bg.wasm"));
  const gzip = gzipSync(bytes, { level: 9 }).length;
  const child = fileURLToPath(new URL("./start-child.mjs", import.meta.url));
  const samples = [];
  for (let i = 0; i < starts; i++) {
    const r = spawnSync(process.execPath, [child], { encoding: "utf8", env: { ...process.env } });
    if (r.status !== 0) throw new Error(`start-child failed: ${r.stderr}`);
    samples.push(JSON.parse(r.stdout.trim().split("\n").at(-1)));
  }
  const m = (k) => median(samples.map((s) => s[k]));
  return {
    raw: bytes.length,
    gzip,
    starts,
    compileMs: m("compileMs"),
    instantiateMs: m("instantiateMs"),
    importMs: m("importMs"),
    firstEngineMs: m("firstEngineMs"),
    setKeysMs: m("setKeysMs"),
    firstDecideMs: m("firstDecideMs"),
    secondDecideMs: m("secondDecideMs"),
  };
}

export function render(r) {
  return table(`3. Size and start (median of ${r.starts} fresh processes)`, ["measure", "value"], [
    ["engine_bg.wasm raw", fmt.kib(r.raw)],
    ["engine_bg.wasm gzip -9", fmt.kib(r.gzip)],
    ["WebAssembly.compile (cold)", `${fmt.ms(r.compileMs)} ms`],
    ["WebAssembly.instantiate", `${fmt.ms(r.instantiateMs)} ms`],
    ["compile + instantiate", `${fmt.ms(r.compileMs + r.instantiateMs)} ms`],
    ["import the package entry", `${fmt.ms(r.importMs)} ms`],
    ["first createEngine (reads + compiles the wasm)", `${fmt.ms(r.firstEngineMs)} ms`],
    ["first setIssuerKeys (5 keys)", `${fmt.ms(r.setKeysMs)} ms`],
    ["first exchange decided (EdDSA)", `${fmt.ms(r.firstDecideMs)} ms`],
    ["second exchange decided", `${fmt.ms(r.secondDecideMs)} ms`],
  ]);
}
