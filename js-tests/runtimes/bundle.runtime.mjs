// A bundler build: a small app (runtimes/main.mjs: the conformance cases, the
// BFF and resource-server helpers, and a full better-auth exchange)
// importing the plugin from a fresh project
// that installed the packed tarball, bundled by esbuild for Node.js with its
// defaults and no loader or copy step. The bundle is then run alone, from
// an empty folder: the wasm must come with it (the package's `module`
// condition, which bundlers use, carries it inline).

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import * as esbuild from "esbuild";
import { nodeLineBinary, nodeLines } from "../../scripts/ensure-runtimes.mjs";
import { assertRuntimeResult, consumer, runResult } from "./consumer.mjs";

/** A Node.js with node:sqlite unflagged (22.13+) for the app's database: this one, or the installed 22 line. */
function nodeWithSqlite() {
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major > 22 || (major === 22 && minor >= 13)) return process.execPath;
  const line = Object.keys(nodeLines()).find((l) => Number(l) >= 22);
  return nodeLineBinary(line).node;
}

test("esbuild: a bundled app finds the wasm and exchanges", { timeout: 300_000 }, async (t) => {
  const dir = consumer();
  const away = mkdtempSync(path.join(tmpdir(), "tx-bundle-"));
  try {
    const outfile = path.join(away, "app.mjs");
    const { metafile } = await esbuild.build({
      entryPoints: [path.join(dir, "runtimes", "main.mjs")],
      outfile,
      bundle: true,
      format: "esm",
      platform: "node",
      metafile: true,
      logLevel: "error",
    });
    const inputs = Object.keys(metafile.inputs);
    assert.ok(inputs.some((f) => f.endsWith("better-auth-token-exchange/dist/entries/index-inline.js")), "the bundler entry was not chosen");
    assert.ok(!inputs.some((f) => f.endsWith("better-auth-token-exchange/dist/entries/engine.js")), "the file-reading entry reached the bundle");
    assert.ok(inputs.some((f) => f.endsWith("better-auth-token-exchange/dist/entries/resource-server-inline.js")), "the bundler entry of ./resource-server was not chosen");
    assert.ok(inputs.some((f) => f.endsWith("better-auth-token-exchange/dist/entries/bff.js")), "./bff is not in the bundle");

    const run = runResult(nodeWithSqlite(), ["--disable-warning=ExperimentalWarning", outfile], { cwd: away });
    await assertRuntimeResult(t, run, "esbuild bundle");
    t.diagnostic(`bundle: ${(statSync(outfile).size / 1024).toFixed(1)} KiB, run alone from ${path.basename(away)}/`);
  } finally {
    rmSync(away, { recursive: true, force: true });
  }
});
