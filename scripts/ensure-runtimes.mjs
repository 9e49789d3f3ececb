#!/usr/bin/env node
// Makes sure every runtime the runtime suites (js-tests/runtimes/) need is
// installed, installing what is missing, and skipping what is in place:
//   - deno, bun, miniflare (workerd) and esbuild: root devDependencies, pinned
//     in package-lock.json and installed by `make toolchain` (npm ci); checked
//     here;
//   - the other Node.js lines (js-tests/runtimes/node-lines.json): the npm
//     packages `node-<platform>-<arch>`, installed each into its own folder
//     under node_modules/.cache/node-lines/ (never into node_modules/.bin,
//     where they would shadow the `node` every npm script runs).
//
//   node scripts/ensure-runtimes.mjs          install what is missing
//   node scripts/ensure-runtimes.mjs --print  also print the runtimes as JSON

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { root } from "./lib/recipe.mjs";

const say = (text) => console.error(`runtimes: ${text}`);
const binDir = path.join(root, "node_modules", ".bin");
const exe = process.platform === "win32" ? ".exe" : "";

function version(cmd, args = ["--version"]) {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Where the Node.js `line` ("22") lives once installed. */
export function nodeLineBinary(line) {
  const dir = path.join(root, "node_modules", ".cache", "node-lines", line);
  const pkg = `node-${process.platform === "win32" ? "win" : process.platform}-${process.arch}`;
  const bin = process.platform === "win32" ? path.join("bin", "node.exe") : path.join("bin", "node");
  return { dir, pkg, node: path.join(dir, "node_modules", pkg, bin) };
}

export function nodeLines() {
  return JSON.parse(readFileSync(path.join(root, "js-tests", "runtimes", "node-lines.json"), "utf8"));
}

/** Installs the Node.js `line` (at `wanted`, default its version in node-lines.json) when missing; returns its binary. */
export function ensureNodeLine(line, wanted = nodeLines()[line]) {
  const { dir, pkg, node } = nodeLineBinary(line);
  if (existsSync(node) && version(node) === `v${wanted}`) return node;
  say(`installing Node.js ${wanted} (npm package ${pkg}@${wanted})`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "package.json"), `${JSON.stringify({ private: true }, null, 2)}\n`);
  const r = spawnSync(
    "npm",
    ["install", "--no-audit", "--no-fund", "--prefer-offline", "--no-package-lock", "--save-exact", `${pkg}@${wanted}`],
    { cwd: dir, stdio: ["ignore", "inherit", "inherit"] },
  );
  if (r.status !== 0 || version(node) !== `v${wanted}`) {
    throw new Error(`could not install Node.js ${wanted} from npm (${pkg}@${wanted})`);
  }
  return node;
}

function main() {
  const found = {};
  for (const [name, args] of [
    ["deno", ["--version"]],
    ["bun", ["--version"]],
    ["esbuild", ["--version"]],
  ]) {
    const bin = path.join(binDir, name + exe);
    const v = version(bin, args);
    if (!v) throw new Error(`${path.relative(root, bin)} is missing or broken: run \`make toolchain\` (npm ci)`);
    found[name] = { bin, version: v.split("\n")[0] };
  }
  const miniflare = path.join(root, "node_modules", "miniflare", "package.json");
  if (!existsSync(miniflare)) throw new Error("miniflare is missing: run `make toolchain` (npm ci)");
  found.miniflare = { version: JSON.parse(readFileSync(miniflare, "utf8")).version };
  for (const [line, wanted] of Object.entries(nodeLines())) {
    found[`node${line}`] = { bin: ensureNodeLine(line, wanted), version: wanted };
  }
  if (process.argv.includes("--print")) console.log(JSON.stringify(found, null, 2));
  else say(Object.entries(found).map(([k, v]) => `${k} ${v.version}`).join(", "));
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    main();
  } catch (error) {
    say(error.message);
    process.exit(1);
  }
}
