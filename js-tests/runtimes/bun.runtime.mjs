// Bun (npm package `bun`): the shared conformance cases and one full
// better-auth exchange (bun:sqlite, in memory), in a fresh project that
// installed the packed tarball with npm. Bun resolves the package through
// its `bun` condition: the wasm is read from the package's files.

import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { assertRuntimeResult, consumer, repo, runResult } from "./consumer.mjs";

const bun = path.join(repo, "node_modules", ".bin", "bun");

test("Bun runs the conformance cases and a full exchange from the packed tarball", { timeout: 300_000 }, async (t) => {
  const dir = consumer();
  const run = runResult(bun, ["runtimes/main.mjs"], { cwd: dir, env: { ...process.env, NO_COLOR: "1" } });
  const result = await assertRuntimeResult(t, run, "Bun");
  assert.match(result.entry, /better-auth-token-exchange\/dist\/entries\/index\.js$/);
  assert.match(result.resourceServerEntry, /better-auth-token-exchange\/dist\/entries\/resource-server\.js$/);
});
