// Deno (npm package `deno`): the shared conformance cases and one full
// better-auth exchange (node:sqlite, in memory), in a fresh project that
// installed the packed tarball with npm. Deno resolves the package through
// its `deno` condition: the wasm travels inline, so no --allow-read is
// needed; --allow-env is better-auth's own need.

import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { assertRuntimeResult, consumer, repo, runResult } from "./consumer.mjs";

const deno = path.join(repo, "node_modules", ".bin", "deno");

test("Deno runs the conformance cases and a full exchange from the packed tarball", { timeout: 300_000 }, async (t) => {
  const dir = consumer();
  const run = runResult(deno, ["run", "--no-prompt", "--allow-env", "runtimes/main.mjs"], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
  });
  const result = await assertRuntimeResult(t, run, "Deno");
  assert.match(result.entry, /better-auth-token-exchange\/dist\/entries\/index-inline\.js$/);
  assert.match(result.resourceServerEntry, /better-auth-token-exchange\/dist\/entries\/resource-server-inline\.js$/);
});
