// Cloudflare Workers (workerd, through Miniflare): a Worker running
// better-auth + jwt + oauth-provider + the plugin with the `nodejs_compat`
// flag, on a real local D1 database, performs a full exchange; the same
// Worker runs the shared conformance cases and the BFF and resource-server
// helpers. The Worker is bundled from a
// fresh project that installed the packed tarball, the way wrangler bundles
// it: esbuild with workerd's conditions, `.wasm` imports kept as modules of
// their own (wrangler's `CompiledWasm` rule), here listed to Miniflare.

import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";
import { Miniflare } from "miniflare";
import { consumer } from "./consumer.mjs";

const COMPATIBILITY_DATE = "2026-04-01";

/** Bundles `entry` for workerd into `outDir`: worker.js plus each imported .wasm beside it. */
async function bundle(entry, outDir) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const wasm = [];
  const wasmModules = {
    name: "wasm-modules",
    setup(build) {
      build.onResolve({ filter: /\.wasm$/ }, (args) => {
        const source = path.resolve(args.resolveDir, args.path);
        const name = path.basename(source);
        copyFileSync(source, path.join(outDir, name));
        wasm.push(name);
        return { path: `./${name}`, external: true };
      });
    },
  };
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile: path.join(outDir, "worker.js"),
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser", "import", "default"],
    mainFields: ["module", "main"],
    external: ["node:*", "cloudflare:*"],
    plugins: [wasmModules],
    metafile: true,
    logLevel: "error",
  });
  const size = (file) => {
    const bytes = readFileSync(path.join(outDir, file));
    return { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  };
  return { result, wasm: [...new Set(wasm)], js: size("worker.js"), wasmSize: size("engine_bg.wasm") };
}

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;

test("workerd: the conformance cases and a full exchange on D1, from the packed tarball", { timeout: 300_000 }, async (t) => {
  const dir = consumer();
  const out = path.join(dir, "worker-dist");
  const built = await bundle(path.join(dir, "runtimes", "worker.mjs"), out);
  const inputs = Object.keys(built.result.metafile.inputs);
  assert.ok(inputs.some((f) => f.endsWith("better-auth-token-exchange/dist/entries/index-workerd.js")), "the workerd entry was not chosen");
  assert.ok(!inputs.some((f) => f.endsWith("engine_inline.js")), "the inline wasm must not reach a Worker");
  assert.ok(inputs.some((f) => f.endsWith("better-auth-token-exchange/dist/entries/resource-server-workerd.js")), "the workerd entry of ./resource-server was not chosen");
  assert.deepEqual(built.wasm, ["engine_bg.wasm"]);

  const mf = new Miniflare({
    modulesRoot: out,
    modules: [
      { type: "ESModule", path: path.join(out, "worker.js") },
      { type: "CompiledWasm", path: path.join(out, "engine_bg.wasm") },
    ],
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: ["nodejs_compat"],
    d1Databases: ["DB"],
  });
  try {
    const conformance = await (await mf.dispatchFetch("http://localhost/conformance")).json();
    assert.deepEqual(conformance.failed, [], "conformance cases failed in workerd");
    const { suites } = await import("../conformance-cases.mjs");
    assert.equal(conformance.total, suites.reduce((n, s) => n + s.cases.length, 0));

    const helpers = await (await mf.dispatchFetch("http://localhost/helpers")).json();
    assert.ok(helpers.ok, helpers.error);

    const response = await mf.dispatchFetch("http://localhost/exchange");
    const exchange = await response.json();
    assert.ok(exchange.ok, exchange.error);
    assert.equal(response.status, 200);
    t.diagnostic(
      `workerd (miniflare ${JSON.parse(readFileSync(new URL(import.meta.resolve("miniflare/package.json")), "utf8")).version}, ` +
        `nodejs_compat, D1): conformance ${conformance.passed}/${conformance.total} passed; helpers ${helpers.steps.length} steps ` +
        `passed; exchange ${exchange.steps.length} steps passed`,
    );
  } finally {
    await mf.dispose();
  }

  // The size a real Worker carries: the minimal app of the README, bundled alike.
  const app = await bundle(path.join(dir, "runtimes", "worker-app.mjs"), path.join(dir, "worker-app-dist"));
  t.diagnostic(
    `Worker bundle (README app): worker.js ${kib(app.js.raw)} (gzip ${kib(app.js.gzip)}) + engine_bg.wasm ` +
      `${kib(app.wasmSize.raw)} (gzip ${kib(app.wasmSize.gzip)}) = ${kib(app.js.raw + app.wasmSize.raw)} ` +
      `(gzip ${kib(app.js.gzip + app.wasmSize.gzip)})`,
  );
  t.diagnostic(`test Worker bundle (with the cases and jose): worker.js ${kib(built.js.raw)} (gzip ${kib(built.js.gzip)})`);
});
