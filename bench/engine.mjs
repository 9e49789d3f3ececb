// Benchmark 1: exchanges decided per second by the engine (verify the subject
// token + the whole decision), through the built package on Node.js, against
// the same checks in TypeScript on `jose` (bench/jose-baseline.ts), per JWS
// algorithm of the subject token. Each round measures every variant for the
// same time, in turn; the table reports medians over the rounds.

import assert from "node:assert/strict";
import {
  accessClaims,
  bffClient,
  exchangeForm,
  ISSUER,
  makeIssuerKeys,
  mint,
  nowSeconds,
} from "../js-tests/helpers/tokens.mjs";
import { engineEntryUrl, fmt, loadBaseline, median, rateAsync, rateSync, table } from "./lib.mjs";

export const ALGORITHMS = ["EdDSA", "ES256", "ES512", "RS256", "PS256"];

/**
 * Engines for each signature path the package has. A package from before the
 * `signatureVerifier` setting has only the built-in path.
 */
export async function enginePaths() {
  const { createEngine } = await import(engineEntryUrl());
  try {
    createEngine({ issuer: ISSUER, signatureVerifier: "builtin" }).free();
  } catch {
    return { builtin: (settings = {}) => createEngine({ issuer: ISSUER, ...settings }) };
  }
  return {
    host: (settings = {}) => createEngine({ issuer: ISSUER, signatureVerifier: "host", ...settings }),
    builtin: (settings = {}) => createEngine({ issuer: ISSUER, signatureVerifier: "builtin", ...settings }),
  };
}

export async function run({ rounds = 5, ms = 400 } = {}) {
  const paths = await enginePaths();
  const { JoseExchange } = await loadBaseline();
  const { keys, jwks } = await makeIssuerKeys(ALGORITHMS);
  const now = nowSeconds();
  const settings = { issuer: ISSUER, leewaySeconds: 30, maxLifetimeSeconds: 3600, maxActDepth: 5 };
  const client = bffClient();

  const results = [];
  for (const alg of ALGORITHMS) {
    const token = await mint(keys[alg], accessClaims(now));
    const form = exchangeForm(token, [["scope", "read"]]);
    const call = { form, now, client };

    const variants = {};
    for (const [name, make] of Object.entries(paths)) {
      const engine = make();
      assert.equal(engine.setIssuerKeys(ISSUER, jwks).type, "ok");
      const d = engine.decide(call);
      assert.equal(d.type, "success", JSON.stringify(d));
      variants[`engine:${name}`] = { sync: () => engine.decide(call) };
    }
    const baseline = new JoseExchange(settings, jwks);
    const b = await baseline.decide(form, client, now);
    assert.equal(b.type, "success", JSON.stringify(b));
    assert.deepEqual(b.scopes, ["read"]);
    variants.jose = { async: () => baseline.decide(form, client, now) };

    const rates = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
    // Warm up every variant (JIT, key caches) before timing.
    for (const v of Object.values(variants)) v.sync ? rateSync(v.sync, ms / 2) : await rateAsync(v.async, ms / 2);
    for (let r = 0; r < rounds; r++) {
      for (const [k, v] of Object.entries(variants)) {
        rates[k].push(v.sync ? rateSync(v.sync, ms) : await rateAsync(v.async, ms));
      }
    }
    const row = { alg, jose: median(rates.jose) };
    for (const name of Object.keys(paths)) row[name] = median(rates[`engine:${name}`]);
    results.push(row);
  }
  return results;
}

export function render(results) {
  const hasHost = results.some((r) => r.host !== undefined);
  const header = hasHost
    ? ["alg", "jose/s", "engine host/s", "engine builtin/s", "host/jose", "builtin/jose"]
    : ["alg", "jose/s", "engine builtin/s", "builtin/jose"];
  const rows = results.map((r) =>
    hasHost
      ? [r.alg, fmt.int(r.jose), fmt.int(r.host), fmt.int(r.builtin), fmt.ratio(r.host / r.jose), fmt.ratio(r.builtin / r.jose)]
      : [r.alg, fmt.int(r.jose), fmt.int(r.builtin), fmt.ratio(r.builtin / r.jose)],
  );
  return table("1. Engine: exchanges decided per second (subject token verified + whole decision), median of rounds", header, rows);
}
