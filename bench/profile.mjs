#!/usr/bin/env node
// Where a request's server time goes, from V8's CPU profiler rather than
// guesses: the cases of benchmark 2 (bench/http-server.mjs) are loaded one
// after the other, each profiled in the server process while it runs, and
// the samples are summed per part (this package's plugin and engine,
// better-auth, oauth-provider, Kysely, the SQLite or PostgreSQL driver,
// jose, Node.js itself, the garbage collector, idle) as microseconds per
// request, side by side. A frame without a source (a V8 builtin, a native
// call) counts toward the nearest caller that has one.
//
//   node bench/profile.mjs [wal|default|postgres] [case ...]
//     default: wal product_impersonation baseline_impersonation client_credentials
//   BENCH_PROFILE_SECONDS=n   seconds of load per case (default 8)
//   BENCH_PROFILE_DETAIL=part  also the functions with the most self time
//                              in that part (e.g. kysely), per case
//
// Then the package's own functions with the most time, inclusive, in the
// first case. Like every benchmark, the figures are for comparison within
// one run: the profiler itself slows the server down.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fire, startServerProcess } from "./http.mjs";

const DATABASES = ["wal", "default", "postgres"];
const args = process.argv.slice(2);
const journal = DATABASES.includes(args[0]) ? args.shift() : "wal";
const names = args.length > 0 ? args : ["product_impersonation", "baseline_impersonation", "client_credentials"];
const seconds = Number(process.env.BENCH_PROFILE_SECONDS ?? 8);
const connections = 10;
const detailed = process.env.BENCH_PROFILE_DETAIL;

/** The part a script URL belongs to, or undefined for a frame without a source. */
function partOf(url) {
  if (!url) return undefined;
  if (url.startsWith("wasm://")) return "this package: engine (wasm)";
  if (/^node:(internal\/)?crypto/.test(url)) return "Node.js: crypto";
  if (/^node:(internal\/)?(_?http|net|stream|streams|dns|tls)/.test(url)) return "Node.js: HTTP and sockets";
  if (url.startsWith("node:")) return "Node.js: other";
  const modules = url.lastIndexOf("node_modules/");
  if (modules < 0) return url.includes("/bench/") ? "benchmark harness" : "other";
  const [scope, name] = url.slice(modules + "node_modules/".length).split("/");
  const pkg = scope.startsWith("@") ? `${scope}/${name}` : scope;
  if (pkg === "better-auth-token-exchange") {
    return /\/(engine|wasm)\//.test(url) ? "this package: engine (wasm)" : "this package: plugin";
  }
  return pkg;
}

/** Microseconds per part, and inclusive microseconds per function of this package, in one profile. */
function summarize(profile) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const parts = new Map();
  const ours = new Map();
  const detail = new Map();
  for (const [id, us] of self) {
    const frame = nodes.get(id).callFrame;
    let part = ["(garbage collector)", "(idle)", "(program)"].includes(frame.functionName) ? frame.functionName : undefined;
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const { url, functionName, lineNumber } = nodes.get(cur).callFrame;
      const owner = partOf(url);
      part ??= owner;
      if (owner === "this package: plugin") {
        const key = `${functionName || "(anonymous)"} ${url.slice(url.indexOf("/dist/") + 1)}:${lineNumber + 1}`;
        if (!seen.has(key)) ours.set(key, (ours.get(key) ?? 0) + us);
        seen.add(key);
      }
    }
    part ??= "(native, no caller)";
    parts.set(part, (parts.get(part) ?? 0) + us);
    if (part === detailed) {
      const { url, functionName, lineNumber } = frame;
      const key = `${functionName || "(anonymous)"} ${url.replace(/.*node_modules\//, "")}:${lineNumber + 1}`;
      detail.set(key, (detail.get(key) ?? 0) + us);
    }
  }
  return { parts, ours, detail };
}

const server = await startServerProcess(journal);
const dir = mkdtempSync(path.join(tmpdir(), "tx-profile-"));
const results = [];
try {
  const { cases } = server.fixtures;
  for (const name of names) {
    if (!cases[name]) throw new Error(`no case ${name}; the cases: ${Object.keys(cases).join(", ")}`);
    await fire(cases[name], { connections, seconds: 2 }); // warm-up
    await server.ask("profile");
    const result = await fire(cases[name], { connections, seconds });
    const file = path.join(dir, `${name}.cpuprofile`);
    await server.ask(`profile-end ${file}`);
    const requests = Math.max(1, result.requests.total);
    results.push({ name, requests, rps: result.requests.average, errors: result.errors + result.non2xx, ...summarize(JSON.parse(readFileSync(file, "utf8"))) });
  }
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}

const perRequest = (us, r) => us / r.requests;
const partNames = [...new Set(results.flatMap((r) => [...r.parts.keys()]))].sort(
  (a, b) => perRequest(results[0].parts.get(b) ?? 0, results[0]) - perRequest(results[0].parts.get(a) ?? 0, results[0]),
);
const width = Math.max(...partNames.map((p) => p.length), 8);
const cell = (text) => String(text).padStart(Math.max(12, ...names.map((n) => n.length)) + 2);
console.log(`Server time per request by part, µs (SQLite ${journal === "postgres" ? "-> PostgreSQL" : journal}, ${connections} connections, ${seconds} s each, under the profiler)`);
console.log(`${"part".padEnd(width)}${results.map((r) => cell(r.name)).join("")}`);
for (const part of partNames) {
  console.log(`${part.padEnd(width)}${results.map((r) => cell(perRequest(r.parts.get(part) ?? 0, r).toFixed(0))).join("")}`);
}
const busy = (r) => [...r.parts].filter(([p]) => p !== "(idle)").reduce((sum, [, us]) => sum + us, 0);
console.log(`${"busy (all but idle)".padEnd(width)}${results.map((r) => cell(perRequest(busy(r), r).toFixed(0))).join("")}`);
console.log(`${"requests/s".padEnd(width)}${results.map((r) => cell(r.rps.toFixed(0))).join("")}`);
console.log(`${"non-2xx or errors".padEnd(width)}${results.map((r) => cell(r.errors)).join("")}`);

const first = results[0];
console.log(`\nThis package's functions in ${first.name}, inclusive µs per request (the top 20):`);
for (const [fn, us] of [...first.ours].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
  console.log(`${perRequest(us, first).toFixed(0).padStart(7)}  ${fn}`);
}
if (detailed) {
  for (const r of results) {
    console.log(`\nSelf time in ${detailed}, ${r.name}, µs per request (the top 15):`);
    for (const [fn, us] of [...r.detail].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
      console.log(`${perRequest(us, r).toFixed(0).padStart(7)}  ${fn}`);
    }
  }
}
if (results.some((r) => r.errors > 0)) process.exit(1);
