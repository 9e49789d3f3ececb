// The published package's shape: what `npm pack` puts in the tarball, and
// that its `exports` resolve (and hide the rest) for a user's import.
// scripts/install-pkg-for-tests.mjs writes js-tests/.tmp/pack.json.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";

const NAME = "better-auth-token-exchange";
const pack = JSON.parse(readFileSync(new URL("./.tmp/pack.json", import.meta.url), "utf8"));
const files = pack.files.map((f) => f.path).sort();
const manifest = JSON.parse(
  readFileSync(new URL(`./node_modules/${NAME}/package.json`, import.meta.url), "utf8"),
);

test("the tarball holds the manifest, docs, compiled JS, typings and the wasm only", () => {
  for (const required of [
    "package.json",
    "README.md",
    "LICENSE",
    "dist/entries/index.js",
    "dist/entries/index.d.ts",
    "dist/entries/engine.js",
    "dist/entries/engine.d.ts",
    "dist/entries/bff.js",
    "dist/entries/bff.d.ts",
    "dist/entries/resource-server.js",
    "dist/entries/resource-server-workerd.js",
    "dist/entries/resource-server-inline.js",
    "dist/entries/resource-server.d.ts",
    "wasm/engine.js",
    "wasm/engine_bg.wasm",
  ]) {
    assert.ok(files.includes(required), `${required} missing from the tarball`);
  }
  const stray = files.filter(
    (f) =>
      !["package.json", "README.md", "LICENSE"].includes(f) &&
      !/^dist\/(?:[\w-]+\/)*[\w-]+\.(js|d\.ts)$/.test(f) &&
      !/^wasm\/[\w-]+(\.js|\.d\.ts|_bg\.wasm|_bg\.wasm\.d\.ts)$/.test(f),
  );
  assert.deepEqual(stray, [], "unexpected files in the tarball");
});

test("the manifest: ESM, no side effects, peers on better-auth 1.7.5", () => {
  assert.equal(manifest.name, NAME);
  assert.equal(manifest.type, "module");
  assert.equal(manifest.sideEffects, false);
  assert.equal(manifest.dependencies, undefined, "the package has no runtime dependencies");
  assert.match(manifest.peerDependencies["better-auth"], /1\.7\.5/);
  assert.match(manifest.peerDependencies["@better-auth/oauth-provider"], /1\.7\.5/);
});

test("every exports target is in the tarball, types first in each condition map", () => {
  const targets = [];
  const walk = (value) => {
    if (typeof value === "string") targets.push(value);
    else for (const v of Object.values(value)) walk(v);
  };
  walk(manifest.exports);
  for (const target of targets) {
    assert.ok(files.includes(target.replace(/^\.\//, "")), `${target} is exported but not packed`);
  }
  for (const [subpath, conditions] of Object.entries(manifest.exports)) {
    if (typeof conditions === "object") {
      assert.equal(Object.keys(conditions)[0], "types", `${subpath}: "types" must come first`);
    }
  }
});

test("exported subpaths resolve; internals stay hidden", async () => {
  for (const subpath of ["", "/engine", "/bff", "/resource-server", "/package.json"]) {
    const url = import.meta.resolve(`${NAME}${subpath}`);
    assert.ok(existsSync(new URL(url)), `${NAME}${subpath} -> ${url}`);
  }
  await assert.rejects(import(`${NAME}/dist/engine/core.js`), { code: "ERR_PACKAGE_PATH_NOT_EXPORTED" });
  await assert.rejects(import(`${NAME}/wasm/engine.js`), { code: "ERR_PACKAGE_PATH_NOT_EXPORTED" });
});

test("the root entry and ./engine export the same engine", async () => {
  const root = await import(NAME);
  const engine = await import(`${NAME}/engine`);
  assert.equal(root.Engine, engine.Engine);
  assert.equal(root.createEngine, engine.createEngine);
  assert.equal(typeof engine.createEngine, "function");
});

/** Every module `file` (in dist/) imports, statically, transitively: relative files and bare specifiers. */
function importGraph(file) {
  const root = new URL(`./node_modules/${NAME}/`, import.meta.url);
  const files = new Set();
  const bare = new Set();
  const visit = (relative) => {
    if (files.has(relative)) return;
    files.add(relative);
    const text = readFileSync(new URL(relative, root), "utf8");
    for (const [, spec] of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']/g)) {
      if (spec.startsWith(".")) visit(new URL(spec, new URL(relative, root)).href.slice(root.href.length));
      else bare.add(spec);
    }
  };
  visit(file);
  return { files: [...files], bare: [...bare] };
}

test("./bff is plain JavaScript: no engine, no wasm, no better-auth, no node: module", () => {
  const { files, bare } = importGraph("dist/entries/bff.js");
  assert.deepEqual(bare, []);
  assert.deepEqual(files.filter((f) => /engine|wasm|plugin/.test(f)), []);
});

test("./resource-server needs the engine but not better-auth", () => {
  for (const entry of ["dist/entries/resource-server.js", "dist/entries/resource-server-inline.js", "dist/entries/resource-server-workerd.js"]) {
    const { files, bare } = importGraph(entry);
    assert.ok(files.some((f) => f.startsWith("wasm/")), `${entry}: no engine`);
    assert.deepEqual(bare.filter((b) => !b.startsWith("node:")), [], `${entry} imports a package`);
    assert.deepEqual(files.filter((f) => /plugin/.test(f)), [], `${entry} reaches the plugin`);
  }
});

test("./resource-server and ./bff export exactly their helpers", async () => {
  const rs = await import(`${NAME}/resource-server`);
  assert.deepEqual(Object.keys(rs).sort(), ["createExchangedTokenVerifier", "verifyExchangedToken"]);
  const bff = await import(`${NAME}/bff`);
  assert.deepEqual(Object.keys(bff).sort(), ["ExchangeTokenCache", "TOKEN_EXCHANGE_GRANT_TYPE", "createExchangeTokenCache", "exchangeToken"]);
});
