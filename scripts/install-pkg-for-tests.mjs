#!/usr/bin/env node
// Installs the built package into js-tests/node_modules the way npm would
// install it from the registry: `npm pack pkg/` makes the tarball `npm
// publish` would upload (only what `files` lets through), and the tarball
// is unpacked as js-tests/node_modules/better-auth-token-exchange. Test files
// then import it by name ("better-auth-token-exchange/engine"), resolved
// through the package's `exports`, exactly like a user's code; its peers
// (better-auth, ...) resolve from the repository's node_modules above.
//
// The tarball's file list is kept in js-tests/.tmp/pack.json for the
// packaging tests.

import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { root } from "./lib/recipe.mjs";

const pkgDir = path.join(root, "pkg");
const tmpDir = path.join(root, "js-tests", ".tmp");
const modules = path.join(root, "js-tests", "node_modules");

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal}):\n${r.stderr}`);
  }
  return r.stdout;
}

try {
  const { name } = JSON.parse(readFileSync(path.join(pkgDir, "package.json"), "utf8"));
  mkdirSync(tmpDir, { recursive: true });
  const [packed] = JSON.parse(
    run("npm", ["pack", pkgDir, "--json", "--ignore-scripts", "--pack-destination", tmpDir]),
  );
  writeFileSync(path.join(tmpDir, "pack.json"), `${JSON.stringify(packed, null, 2)}\n`);

  // Unpack beside the target, then swap it in, so a reader never sees half a package.
  const target = path.join(modules, ...name.split("/"));
  const staging = `${target}.staging-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  run("tar", ["-xzf", path.join(tmpDir, packed.filename), "-C", staging, "--strip-components=1"]);
  rmSync(target, { recursive: true, force: true });
  renameSync(staging, target);
  console.log(
    `installed ${packed.name}@${packed.version} into ${path.relative(root, target)}: ` +
      `${packed.entryCount} files, tarball ${(packed.size / 1024).toFixed(1)} KiB, unpacked ${(packed.unpackedSize / 1024).toFixed(1)} KiB`,
  );
} catch (error) {
  console.error(`install-pkg-for-tests: ${error.message}`);
  process.exit(1);
}
