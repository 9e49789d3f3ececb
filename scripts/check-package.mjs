#!/usr/bin/env node
// Checks the tarball `npm pack` made (js-tests/.tmp, by
// scripts/install-pkg-for-tests.mjs) as it would be published:
//   - publint (strict) and @arethetypeswrong/cli (ESM only: the node10 and
//     CommonJS-require resolutions are out of scope) pass on the tarball;
//   - the typed usage file compiles under moduleResolution `bundler` too
//     (`make typecheck` compiles it under `node16`/NodeNext);
//   - every runtime condition of `exports` maps to a packed file, and the
//     packed JavaScript holds no eval, no Function constructor and no
//     top-level fetch;
//   - the tarball's size and file count are printed.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { root } from "./lib/recipe.mjs";

const bin = (name) => path.join(root, "node_modules", ".bin", name);
const pack = JSON.parse(readFileSync(path.join(root, "js-tests", ".tmp", "pack.json"), "utf8"));
const tarball = path.join(root, "js-tests", ".tmp", pack.filename);
const failures = [];

function step(label, cmd, args) {
  console.log(`$ ${label}`);
  const r = spawnSync(cmd, args, { cwd: root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" } });
  const out = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim();
  if (out) console.log(out.replace(/^/gm, "  "));
  if (r.status !== 0) failures.push(`${label} (exit ${r.status ?? r.error?.message})`);
}

step("publint --strict <tarball>", bin("publint"), ["run", tarball, "--strict"]);
step("attw --profile esm-only <tarball>", bin("attw"), [tarball, "--profile", "esm-only", "--format", "table-flipped", "--no-emoji"]);
for (const project of ["tsconfig.json", "tsconfig.client.json", "tsconfig.plugin.json"]) {
  step(`tsc (moduleResolution bundler) js-tests/types/${project}`, bin("tsc"), [
    "-p",
    `js-tests/types/${project}`,
    "--module",
    "esnext",
    "--moduleResolution",
    "bundler",
  ]);
}

// The unpacked tarball, as installed for the tests.
const installed = path.join(root, "js-tests", "node_modules", pack.name);
const manifest = JSON.parse(readFileSync(path.join(installed, "package.json"), "utf8"));
const packed = new Set(pack.files.map((f) => f.path));
// Entries holding the engine map every runtime condition; runtime-neutral
// entries (such as "./client", which loads no wasm) map `types` and `default`.
const conditions = ["types", "workerd", "deno", "bun", "module", "node", "default"];
for (const [subpath, map] of Object.entries(manifest.exports)) {
  if (typeof map === "string") continue;
  // An entry that loads the engine names every runtime; one without
  // (plain JavaScript, like ./bff) needs only its typings and a default.
  const required = conditions.some((c) => c !== "types" && c !== "default" && c in map) ? conditions : ["types", "default"];
  for (const condition of required) {
    const target = map[condition]?.replace(/^\.\//, "");
    if (!target || !packed.has(target)) failures.push(`exports["${subpath}"].${condition} -> ${target ?? "missing"}: not in the tarball`);
  }
}
const js = [...packed].filter((f) => f.endsWith(".js") || f.endsWith(".d.ts"));
for (const file of js) {
  const text = readFileSync(path.join(installed, file), "utf8");
  // Every relative import (static or dynamic, in code and typings) is packed too.
  for (const [, spec] of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g)) {
    const target = path.posix.join(path.posix.dirname(file), spec);
    const candidates = file.endsWith(".d.ts") ? [target, target.replace(/\.js$/, ".d.ts")] : [target];
    if (!candidates.some((c) => packed.has(c))) failures.push(`${file}: imports ${spec}, which is not in the tarball`);
  }
  if (file.endsWith(".d.ts")) continue;
  if (/\beval\s*\(|\bnew\s+Function\s*\(|(?<![.\w])Function\s*\(\s*["'`]/.test(text)) failures.push(`${file}: eval or Function constructor`);
  // A fetch outside any function body would run at import: only the
  // generated glue's fallback loader (inside __wbg_init, unused) may fetch.
  if (/^(?:await\s+)?fetch\s*\(/m.test(text)) failures.push(`${file}: top-level fetch`);
}

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(
  `tarball ${pack.filename}: ${kib(pack.size)} packed, ${kib(pack.unpackedSize)} unpacked, ${pack.entryCount} files`,
);
const largest = [...pack.files].sort((a, b) => b.size - a.size).slice(0, 4);
console.log(`  largest: ${largest.map((f) => `${f.path} ${kib(f.size)}`).join(", ")}`);

if (failures.length) {
  console.error(`check-package: ${failures.length} problem(s):\n  ${failures.join("\n  ")}`);
  process.exit(1);
}
console.log("check-package: publint, attw, bundler typings, exports and code checks passed");
