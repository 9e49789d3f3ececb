#!/usr/bin/env node
// Offline dependency check: RustSec advisories (from the snapshot in
// deps/advisories.json), licences and feature constraints for every crate
// in Cargo.lock. See deps/README.md.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const read = (rel) => readFileSync(path.join(root, rel), "utf8");
const snapshot = JSON.parse(read("deps/advisories.json"));
const policy = JSON.parse(read("deps/policy.json"));
const problems = [];
const notes = [];

// --- Cargo.lock --------------------------------------------------------------
/** Registry packages of Cargo.lock: [{ name, version }]. */
function lockedPackages(text) {
  const out = [];
  for (const block of text.split(/^\[\[package\]\]$/m).slice(1)) {
    const name = /^name = "([^"]+)"$/m.exec(block)?.[1];
    const version = /^version = "([^"]+)"$/m.exec(block)?.[1];
    const source = /^source = "([^"]+)"$/m.exec(block)?.[1];
    if (name && version && source?.startsWith("registry+")) out.push({ name, version });
  }
  return out;
}
const packages = lockedPackages(read("Cargo.lock"));

// --- versions ----------------------------------------------------------------
function parseVersion(text) {
  const core = text.trim().split("+")[0];
  const [main, pre] = core.split(/-(.*)/s);
  const [major = 0, minor = 0, patch = 0] = main.split(".").map((n) => Number(n));
  return { major, minor, patch, pre: pre ?? "" };
}
function compare(a, b) {
  for (const k of ["major", "minor", "patch"]) if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  if (a.pre === b.pre) return 0;
  if (!a.pre) return 1; // a release sorts after its pre-releases
  if (!b.pre) return -1;
  return a.pre < b.pre ? -1 : 1;
}
/** One comparator of a RustSec range: ">= 1.2.3", "< 0.4", "^0.3.4", "= 1.0.0". */
function satisfies(version, comparator) {
  const m = /^\s*(>=|<=|>|<|=|\^|~)?\s*([0-9][0-9A-Za-z.+-]*)\s*$/.exec(comparator);
  if (!m) throw new Error(`cannot read version range ${JSON.stringify(comparator)}`);
  const [, op = "^", text] = m;
  const bound = parseVersion(text);
  const c = compare(version, bound);
  switch (op) {
    case ">=":
      return c >= 0;
    case "<=":
      return c <= 0;
    case ">":
      return c > 0;
    case "<":
      return c < 0;
    case "=":
      return c === 0;
    case "~":
      return c >= 0 && version.major === bound.major && version.minor === bound.minor;
    default: {
      // Caret: same left-most non-zero component.
      if (c < 0) return false;
      if (bound.major > 0) return version.major === bound.major;
      if (bound.minor > 0) return version.major === 0 && version.minor === bound.minor;
      return version.major === 0 && version.minor === 0 && version.patch === bound.patch;
    }
  }
}
const inRange = (version, range) => range.split(",").every((part) => satisfies(version, part));
const inAny = (version, ranges) => (ranges ?? []).some((r) => inRange(version, r));

// --- advisories and coverage -----------------------------------------------------
const checked = new Set(snapshot.checked);
const accepted = new Map(policy.acceptedAdvisories.map((a) => [a.id, a]));
const used = new Set();
const ageDays = (Date.now() - Date.parse(snapshot.taken)) / 86_400_000;
if (!(ageDays <= snapshot.maxAgeDays)) {
  problems.push(`the advisory snapshot was taken ${snapshot.taken}, more than ${snapshot.maxAgeDays} days ago: refresh deps/advisories.json`);
}
for (const { name, version } of packages) {
  if (!checked.has(name)) {
    problems.push(`${name} ${version} is in Cargo.lock but not in the advisory snapshot: refresh deps/advisories.json for it`);
    continue;
  }
  const v = parseVersion(version);
  for (const adv of snapshot.advisories.filter((a) => a.package === name)) {
    if (adv.withdrawn) continue;
    if (inAny(v, adv.unaffected) || inAny(v, adv.patched)) continue;
    const kind = adv.informational ? ` (${adv.informational})` : "";
    const acceptance = accepted.get(adv.id);
    if (acceptance && acceptance.crate === name) {
      used.add(adv.id);
      notes.push(`accepted ${adv.id}${kind} in ${name} ${version}: ${adv.title}`);
    } else {
      problems.push(`${adv.id}${kind} affects ${name} ${version}: ${adv.title} (${adv.url})`);
    }
  }
}
for (const id of accepted.keys()) {
  if (!used.has(id)) notes.push(`${id} is accepted in deps/policy.json but no longer applies: remove it`);
}

// --- licences and features -------------------------------------------------------
const metadata = JSON.parse(
  execFileSync("cargo", ["metadata", "--format-version", "1", "--locked"], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    stdio: ["ignore", "pipe", "inherit"],
  }),
);
const allowed = new Set(policy.allowedLicenses);

/** Whether an SPDX expression (AND, OR, WITH, parentheses; old "/" as OR) is satisfiable. */
function licenceOk(expression) {
  const tokens = expression.replace(/\//g, " OR ").match(/\(|\)|[^\s()]+/g) ?? [];
  let i = 0;
  const peek = () => tokens[i];
  function primary() {
    if (peek() === "(") {
      i++;
      const ok = or();
      i++; // ")"
      return ok;
    }
    let id = tokens[i++];
    if (peek() === "WITH") {
      i++;
      id = `${id} WITH ${tokens[i++]}`;
      return allowed.has(id) || allowed.has(id.split(" WITH ")[0]);
    }
    return allowed.has(id);
  }
  function and() {
    let ok = primary();
    while (peek() === "AND") {
      i++;
      ok = primary() && ok;
    }
    return ok;
  }
  function or() {
    let ok = and();
    while (peek() === "OR") {
      i++;
      ok = and() || ok;
    }
    return ok;
  }
  return tokens.length > 0 && or();
}

const lockedIds = new Set(packages.map((p) => `${p.name}@${p.version}`));
for (const pkg of metadata.packages) {
  if (pkg.source === null) continue; // this workspace
  if (!lockedIds.has(`${pkg.name}@${pkg.version}`)) continue;
  if (!pkg.license) {
    problems.push(`${pkg.name} ${pkg.version} declares no licence expression`);
  } else if (!licenceOk(pkg.license)) {
    problems.push(`${pkg.name} ${pkg.version}: licence ${pkg.license} is not allowed by deps/policy.json`);
  }
}
// Features actually enabled, from the resolve graph.
for (const [spec, forbidden] of Object.entries(policy.forbiddenFeatures ?? {})) {
  const [name, prefix] = spec.split("@");
  for (const node of metadata.resolve.nodes) {
    const pkg = metadata.packages.find((p) => p.id === node.id);
    if (!pkg || pkg.name !== name || !pkg.version.startsWith(prefix)) continue;
    const bad = node.features.filter((f) => forbidden.includes(f));
    if (bad.length) problems.push(`${name} ${pkg.version} has feature(s) ${bad.join(", ")} enabled, which an accepted advisory rules out`);
  }
}

for (const note of notes) console.log(`deps: ${note}`);
if (problems.length) {
  for (const p of problems) console.error(`deps: FAIL ${p}`);
  process.exit(1);
}
console.log(
  `deps: ${packages.length} crates checked against ${snapshot.advisories.length} advisories (snapshot ${snapshot.taken}) and ${allowed.size} allowed licences: ok`,
);
