// The engine's conformance cases (js-tests/conformance-cases.mjs) on Node.js,
// through the built package installed as a user would install it
// (scripts/install-pkg-for-tests.mjs). The same cases run on Deno, Bun,
// workerd and from a bundle: js-tests/runtimes/.

import { before, describe, test } from "node:test";
import { setup, suites } from "./conformance-cases.mjs";

before(setup);

for (const suite of suites) {
  describe(suite.name, () => {
    for (const { name, fn } of suite.cases) test(name, fn);
  });
}
