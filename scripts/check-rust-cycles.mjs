#!/usr/bin/env node
// Checks that no module of the Rust engine (src/) depends on itself through
// others: an edge A -> B when file A names an item defined in file B
// (`use crate::..`, `use super::..`, `crate::../super::..` paths), with
// re-exports (`pub use`) followed to the file that defines the item. Part of
// `make lint`; Biome checks the TypeScript the same way (noImportCycles).
//
// Why a script of our own: cargo-modules (which can check this) builds
// rust-analyzer's crates, minutes of compilation on every clean CI machine;
// this reads the sources in well under a second. It understands the paths
// this crate writes (no glob re-exports of modules, no macros naming paths).

import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const src = path.join(root, "src");

/** Every .rs file under src/, with its module path (["jose", "key"]; [] for lib.rs). */
function modules(dir, prefix = []) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) out.push(...modules(file, [...prefix, name]));
    else if (name.endsWith(".rs")) {
      const stem = name.slice(0, -3);
      const mod = stem === "mod" || (stem === "lib" && prefix.length === 0) ? prefix : [...prefix, stem];
      out.push({ file: path.relative(root, file), mod, text: readFileSync(file, "utf8") });
    }
  }
  return out;
}

const files = modules(src).filter((m) => !m.file.startsWith("src/bin"));
const byModule = new Map(files.map((m) => [m.mod.join("::"), m]));

/** The module a path's segments name, the longest prefix that is a module, and what follows. */
function resolve(segments) {
  for (let i = segments.length; i >= 0; i--) {
    const mod = byModule.get(segments.slice(0, i).join("::"));
    if (mod) return { mod, rest: segments.slice(i) };
  }
  return undefined;
}

/** Absolute segments of a path written in module `mod` (crate::, super::, self::). */
function absolute(mod, segments) {
  const [head, ...tail] = segments;
  if (head === "crate") return tail;
  if (head === "self") return [...mod, ...tail];
  if (head === "super") {
    let base = mod.slice(0, -1);
    let rest = tail;
    while (rest[0] === "super") {
      base = base.slice(0, -1);
      rest = rest.slice(1);
    }
    return [...base, ...rest];
  }
  return undefined;
}

/** `use` trees flattened: `a::{b, c::{d}}` -> [a::b, a::c::d]. */
function expand(tree) {
  const open = tree.indexOf("{");
  if (open < 0) return [tree.replace(/\s+as\s+\w+$/, "").trim()];
  const head = tree.slice(0, open);
  const body = tree.slice(open + 1, tree.lastIndexOf("}"));
  const parts = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    if (body[i] === "{") depth++;
    else if (body[i] === "}") depth--;
    else if (body[i] === "," && depth === 0) {
      parts.push(body.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(body.slice(start));
  return parts.map((p) => p.trim()).filter(Boolean).flatMap((p) => expand(`${head}${p}`));
}

/** Code without comments and string literals (so paths in docs are not read). */
const code = (text) => text.replace(/\/\/[^\n]*/g, "").replace(/"(?:[^"\\]|\\.)*"/g, '""');

// Re-exports: module -> name -> the path it stands for.
const reexports = new Map();
for (const m of files) {
  const names = new Map();
  for (const [, tree] of code(m.text).matchAll(/\bpub(?:\([^)]*\))?\s+use\s+([^;]+);/g)) {
    for (const item of expand(tree.replace(/\s+/g, " "))) {
      const segments = item.split("::").map((s) => s.trim());
      const abs = absolute(m.mod, segments) ?? [...m.mod, ...segments];
      names.set(segments.at(-1), abs);
    }
  }
  reexports.set(m, names);
}

/** The file that defines what `segments` (absolute) names, following re-exports. */
function definer(segments, seen = new Set()) {
  const found = resolve(segments);
  if (!found) return undefined;
  const [name] = found.rest;
  const through = name !== undefined ? reexports.get(found.mod)?.get(name) : undefined;
  const key = segments.join("::");
  if (through && !seen.has(key)) {
    seen.add(key);
    return definer([...through, ...found.rest.slice(1)], seen) ?? found.mod;
  }
  return found.mod;
}

const edges = new Map(files.map((m) => [m, new Set()]));
for (const m of files) {
  const text = code(m.text);
  const paths = [];
  for (const [, tree] of text.matchAll(/\buse\s+([^;]+);/g)) paths.push(...expand(tree.replace(/\s+/g, " ")));
  for (const [found] of text.matchAll(/\b(?:crate|super)(?:::\w+)+/g)) paths.push(found);
  for (const p of paths) {
    const abs = absolute(m.mod, p.split("::").map((s) => s.trim()));
    if (!abs) continue;
    const target = definer(abs);
    if (target && target !== m && target.mod.length > 0) edges.get(m).add(target);
  }
}

// Tarjan's strongly connected components.
let index = 0;
const state = new Map();
const stack = [];
const cycles = [];
function visit(v) {
  state.set(v, { index, low: index, onStack: true });
  index++;
  stack.push(v);
  for (const w of edges.get(v)) {
    if (!state.has(w)) {
      visit(w);
      state.get(v).low = Math.min(state.get(v).low, state.get(w).low);
    } else if (state.get(w).onStack) state.get(v).low = Math.min(state.get(v).low, state.get(w).index);
  }
  if (state.get(v).low === state.get(v).index) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      state.get(w).onStack = false;
      component.push(w.file);
    } while (w !== v);
    if (component.length > 1) cycles.push(component.sort());
  }
}
for (const m of files) if (!state.has(m)) visit(m);

const edgeCount = [...edges.values()].reduce((n, s) => n + s.size, 0);
if (cycles.length > 0) {
  console.error(`check-rust-cycles: ${cycles.length} cycle(s) among the modules of src/:`);
  for (const c of cycles) console.error(`  ${c.join(" <-> ")}`);
  process.exit(1);
}
console.log(`check-rust-cycles: ${files.length} modules, ${edgeCount} dependencies, no cycle`);
