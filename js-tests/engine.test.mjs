// The engine's conformance cases (js-tests/conformance-cases.mjs) on Node.js,
// through the built package installed as a user would install it
// (scripts/install-pkg-for-tests.mjs). The same cases run on Deno, Bun,
// workerd and from a bundle: js-tests/runtimes/.
//
// On Node.js they run twice: with signatures checked by the host
// (`node:crypto`, the default here) and by the engine's own Rust code.

import { before, describe, test } from "node:test";
import { setup, suites } from "./conformance-cases.mjs";

for (const signatureVerifier of ["host", "builtin"]) {
  describe(`signatureVerifier: ${signatureVerifier}`, () => {
    before(() => setup({ signatureVerifier }));

    for (const suite of suites) {
      describe(suite.name, () => {
        for (const { name, fn } of suite.cases) test(name, fn);
      });
    }
  });
}

describe("signatureVerifier setting", () => {
  test("an unknown value is refused like any bad setting", async () => {
    const assert = (await import("node:assert/strict")).default;
    const { createEngine } = await import("better-auth-token-exchange/engine");
    assert.throws(() => createEngine({ issuer: "https://as.example", signatureVerifier: "fast" }), /signatureVerifier/);
    for (const choice of ["auto", "host", "builtin", undefined]) {
      createEngine({ issuer: "https://as.example", signatureVerifier: choice }).free();
    }
  });
});
