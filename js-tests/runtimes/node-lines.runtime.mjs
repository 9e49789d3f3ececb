// The Node.js lines besides the one running `make` (js-tests/runtimes/
// node-lines.json; installed from npm by scripts/ensure-runtimes.mjs): on
// each, the JS test suites (engine conformance, packaging, the plugin's
// end-to-end suites) against the installed package, then the
// conformance cases and a full exchange (node:sqlite) from a fresh project
// that installed the packed tarball.

import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { nodeLineBinary, nodeLines } from "../../scripts/ensure-runtimes.mjs";
import { assertRuntimeResult, consumer, repo, runResult } from "./consumer.mjs";

const suites = readdirSync(path.join(repo, "js-tests"))
  // Every suite of `make js-test` but the README's, which installs a project of its own.
  .filter((f) => f.endsWith(".test.mjs") && f !== "readme-usage.test.mjs")
  .sort()
  .map((f) => path.join("js-tests", f));

for (const [line, version] of Object.entries(nodeLines())) {
  test(`Node.js ${line}`, { timeout: 600_000 }, async (t) => {
    const { node } = nodeLineBinary(line);
    assert.ok(existsSync(node), `Node.js ${version} is not installed: run node scripts/ensure-runtimes.mjs`);

    await t.test("JS test suites against the installed package", () => {
      // A child of `node --test` would report to its parent's runner: give it its own TAP output.
      const { NODE_TEST_CONTEXT, ...env } = process.env;
      const run = runResult(node, ["--disable-warning=ExperimentalWarning", "--test", "--test-reporter=tap", ...suites], {
        cwd: repo,
        env,
      });
      const count = (name) => Number(run.stdout.match(new RegExp(`^# ${name} (\\d+)`, "m"))?.[1]);
      assert.equal(run.status, 0, `${run.stdout.slice(-6000)}\n${run.stderr}`);
      assert.equal(count("fail"), 0);
      t.diagnostic(`Node.js ${version}: ${suites.map((s) => path.basename(s)).join(", ")}: ${count("pass")}/${count("tests")} passed`);
    });

    await t.test("conformance and a full exchange from the packed tarball", async (st) => {
      const run = runResult(node, ["--disable-warning=ExperimentalWarning", "runtimes/main.mjs"], { cwd: consumer() });
      const result = await assertRuntimeResult(st, run, `Node.js ${version}`);
      assert.match(result.entry, /better-auth-token-exchange\/dist\/entries\/index\.js$/);
      assert.match(result.resourceServerEntry, /better-auth-token-exchange\/dist\/entries\/resource-server\.js$/);
    });
  });
}
