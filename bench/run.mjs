#!/usr/bin/env node
// `make bench`: the four benchmarks, as tables with ratios, and their numbers
// as JSON in bench/results/ (latest.json and one file per run). Ratios within
// one run on one machine are the result; absolute numbers vary by machine.
//
//   node bench/run.mjs [engine] [http] [start] [scaling]   (default: all four)
//   BENCH_QUICK=1   fewer, shorter rounds (not for figures)
//   BENCH_SMOKE=1   as quick, writes no results, and fails if any HTTP request
//                   was answered other than 2xx (`make bench-smoke`, part of
//                   `make test`: the benchmarks keep running; no time is judged)
//   BENCH_PKG=dir   benchmark another built package (engine, start, scaling)
//   BENCH_SERVER_HELPER=file-url   another copy of js-tests/helpers/server.mjs (http)

import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pkgDir, root } from "./lib.mjs";

const smoke = Boolean(process.env.BENCH_SMOKE);
const quick = smoke || Boolean(process.env.BENCH_QUICK);
const all = ["engine", "http", "start", "scaling"];
const chosen = process.argv.slice(2).filter((a) => all.includes(a));
const which = chosen.length > 0 ? chosen : all;

const results = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model,
  package: path.relative(root, pkgDir) || pkgDir,
  quick,
};

for (const name of which) {
  const started = performance.now();
  if (name === "engine") {
    const m = await import("./engine.mjs");
    results.engine = await m.run(quick ? { rounds: 3, ms: 150 } : { rounds: 7, ms: 400 });
    console.log(m.render(results.engine));
  } else if (name === "http") {
    const m = await import("./http.mjs");
    const options = smoke ? { rounds: 1, seconds: 1 } : quick ? { rounds: 1, seconds: 2 } : { rounds: 3, seconds: 5 };
    results.http = {};
    for (const journal of Object.keys(m.DATABASES)) {
      results.http[journal] = await m.run({ ...options, journal });
      console.log(m.render(results.http[journal]));
    }
    console.log(`\n${m.summary(results.http)}`);
  } else if (name === "start") {
    const m = await import("./start.mjs");
    results.start = await m.run({ starts: quick ? 3 : 9 });
    console.log(m.render(results.start));
  } else if (name === "scaling") {
    const m = await import("./scaling.mjs");
    results.scaling = await m.run();
    console.log(m.render(results.scaling));
  }
  console.log(`(${name}: ${((performance.now() - started) / 1000).toFixed(0)} s)`);
}

if (smoke) {
  const runs = Object.values(results.http ?? {});
  const failed = runs.flatMap((r) =>
    Object.entries(r.cases)
      .filter(([, m]) => m.errors > 0 || !(m.rps > 0))
      .map(([name, m]) => `${r.journal} ${name}: ${m.errors} non-2xx or errors, ${m.rps} req/s`),
  );
  if (failed.length > 0) {
    console.error(`bench smoke run failed:\n${failed.join("\n")}`);
    process.exit(1);
  }
  console.log("\nbench smoke run: every benchmark ran, every HTTP request answered 2xx (nothing written)");
  process.exit(0);
}

const dir = path.join(root, "bench", "results");
mkdirSync(dir, { recursive: true });
const text = `${JSON.stringify(results, null, 2)}\n`;
const stamp = results.date.replace(/[:.]/g, "-");
writeFileSync(path.join(dir, `run-${stamp}.json`), text);
writeFileSync(path.join(dir, "latest.json"), text);
console.log(`\nwrote bench/results/latest.json and bench/results/run-${stamp}.json`);
