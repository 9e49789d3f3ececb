#!/usr/bin/env node
// Builds the npm package into pkg/ from the crate and pkg-template/.
//
//   node scripts/build-pkg.mjs [stage...]
//
// Stages (default: all, in this order):
//   wasm   cargo build (wasm32, feature `wasm`) -> wasm-bindgen -> wasm-opt
//          into pkg/wasm/, then the size check
//   dist   tsc of pkg-template/src into pkg/dist/
//   files  package.json, README.md, LICENSE from pkg-template/
//   size   print the wasm size (raw and gzip) and fail over the budget
//
// The Makefile calls the stages separately so that each runs only when its
// inputs changed. The recipe (targets, flags, budget) is wasm-pack.toml.

import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { readCrate, readRecipe, root } from "./lib/recipe.mjs";

const recipe = readRecipe();
const crate = readCrate();
const pkgDir = path.join(root, "pkg");
const templateDir = path.join(root, "pkg-template");
const bin = (name) => path.join(root, "node_modules", ".bin", name);

function run(cmd, args, opts = {}) {
  console.log(`$ ${[cmd, ...args].map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(" ")}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} exited with ${r.status ?? r.signal}`);
}

function capture(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

function requireTool(file, hint) {
  if (!existsSync(file)) throw new Error(`${path.relative(root, file)} is missing: ${hint}`);
  return file;
}

function wasmBindgenBinary() {
  const found = process.env.WASM_BINDGEN || "wasm-bindgen";
  const version = capture(found, ["--version"])?.split(/\s+/)[1];
  if (version !== crate.wasmBindgen) {
    throw new Error(
      `${found} is ${version ?? "not installed"}, Cargo.toml pins wasm-bindgen ${crate.wasmBindgen}: run \`make toolchain\``,
    );
  }
  return found;
}

function stageWasm() {
  const { target, profile, features } = recipe.cargo;
  const profileArgs = profile === "release" ? ["--release"] : ["--profile", profile];
  run("cargo", ["build", ...profileArgs, "--target", target, "--features", features.join(","), "--lib"]);

  const targetDir = process.env.CARGO_TARGET_DIR
    ? path.resolve(root, process.env.CARGO_TARGET_DIR)
    : path.join(root, "target");
  const profileDir = profile === "dev" ? "debug" : profile;
  const input = path.join(targetDir, target, profileDir, `${crate.libStem}.wasm`);
  requireTool(input, "cargo produced no cdylib (is crate-type \"cdylib\" set?)");

  const outDir = path.join(root, recipe.bindgen.outDir);
  rmSync(outDir, { recursive: true, force: true });
  run(wasmBindgenBinary(), [
    input,
    "--target", recipe.bindgen.target,
    "--out-dir", outDir,
    "--out-name", recipe.bindgen.outName,
    ...(recipe.bindgen.typescript ? [] : ["--no-typescript"]),
  ]);
  // wasm-bindgen may drop a .gitignore in its output; nothing there is ours to keep.
  rmSync(path.join(outDir, ".gitignore"), { force: true });

  const wasm = wasmFile();
  const before = statSync(wasm).size;
  const wasmOpt = requireTool(bin("wasm-opt"), "run `make toolchain` (npm package binaryen)");
  run(wasmOpt, [wasm, "-o", wasm, ...recipe.wasmOpt.flags]);
  console.log(`wasm-opt: ${kib(before)} -> ${kib(statSync(wasm).size)}`);
  stageSize();
}

function stageDist() {
  requireTool(wasmFile(), "build the `wasm` stage first");
  // The bundler/Deno entry compiles against the wasm's inline copy: write it
  // from the wasm now (the `wasm` stage clears pkg/wasm).
  run(process.execPath, [path.join(root, "scripts", "inline-wasm.mjs")]);
  // Emitting over a previous build's .d.ts would make tsc read its own output.
  rmSync(path.join(pkgDir, "dist"), { recursive: true, force: true });
  const tsc = requireTool(bin("tsc"), "run `make toolchain` (npm package typescript)");
  run(tsc, ["-p", path.join(templateDir, "tsconfig.json")]);
}

function stageFiles() {
  mkdirSync(pkgDir, { recursive: true });
  const manifest = JSON.parse(readFileSync(path.join(templateDir, "package.json"), "utf8"));
  if (manifest.version !== crate.version) {
    throw new Error(
      `pkg-template/package.json version ${manifest.version} differs from Cargo.toml ${crate.version}: bump both together`,
    );
  }
  for (const file of ["package.json", "README.md", "LICENSE"]) {
    copyFileSync(path.join(templateDir, file), path.join(pkgDir, file));
  }
  console.log(`pkg/: ${manifest.name}@${manifest.version}: ${readdirSync(pkgDir).sort().join(" ")}`);
}

function wasmFile() {
  return path.join(root, recipe.bindgen.outDir, `${recipe.bindgen.outName}_bg.wasm`);
}

function kib(bytes) {
  return `${(bytes / 1024).toFixed(1)} KiB (${bytes} bytes)`;
}

function stageSize() {
  const bytes = readFileSync(requireTool(wasmFile(), "build the `wasm` stage first"));
  const gz = gzipSync(bytes, { level: 9 }).length;
  const budget = recipe.budget.maxGzipKib * 1024;
  console.log(`wasm size: raw ${kib(bytes.length)}, gzip ${kib(gz)}; budget gzip ${recipe.budget.maxGzipKib} KiB`);
  if (gz > budget) {
    throw new Error(`${path.relative(root, wasmFile())} is over the size budget: ${gz} > ${budget} bytes gzip`);
  }
}

const stages = { wasm: stageWasm, dist: stageDist, files: stageFiles, size: stageSize };
const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!(name in stages)) {
    console.error(`unknown stage "${name}"; stages: ${Object.keys(stages).join(", ")}`);
    process.exit(2);
  }
}
try {
  for (const name of wanted.length ? wanted : ["wasm", "dist", "files"]) stages[name]();
} catch (error) {
  console.error(`build-pkg: ${error.message}`);
  process.exit(1);
}
