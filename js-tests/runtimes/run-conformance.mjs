// Runs the shared conformance cases (../conformance-cases.mjs) without a
// test framework, for runtimes where node:test is not the runner (Deno, Bun,
// workerd, a bundle). Every case runs; failures are collected, not thrown.

import { setup, suites } from "../conformance-cases.mjs";

/** `{ total, passed, failed: [{ name, error }] }` */
export async function runConformance() {
  await setup();
  const failed = [];
  let total = 0;
  for (const suite of suites) {
    for (const { name, fn } of suite.cases) {
      total++;
      try {
        await fn();
      } catch (error) {
        failed.push({ name: `${suite.name} > ${name}`, error: String(error?.stack ?? error) });
      }
    }
  }
  return { total, passed: total - failed.length, failed };
}
