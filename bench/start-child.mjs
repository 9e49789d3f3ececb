// One cold start for bench/start.mjs, in a fresh process: times
// `WebAssembly.compile` and instantiate of the module alone, then, in the
// same process but through the package as a user loads it, the import, the
// first engine (which compiles the module again, as the package does), the
// first key set and the first two decisions. Prints one JSON line.

import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { accessClaims, bffClient, exchangeForm, ISSUER, makeIssuerKeys, mint, nowSeconds } from "../js-tests/helpers/tokens.mjs";
import { engineEntryUrl, pkgDir } from "./lib.mjs";

// Fixtures first, so that minting does not count in the timings.
const { keys, jwks } = await makeIssuerKeys(["EdDSA", "ES256", "ES512", "RS256", "PS256"]);
const now = nowSeconds();
const call = { form: exchangeForm(await mint(keys.EdDSA, accessClaims(now)), [["scope", "read"]]), now, client: bffClient() };

const bytes = readFileSync(path.join(pkgDir, "wasm", "engine_bg.wasm"));
let t = performance.now();
const module = await WebAssembly.compile(bytes);
const compileMs = performance.now() - t;
// The glue's imports, as `initSync` would pass them.
const glue = await import(pathToFileURL(path.join(pkgDir, "wasm", "engine.js")).href);
const imports = glue.__wbg_get_imports?.() ?? Object.fromEntries(
  WebAssembly.Module.imports(module).map(({ module: m }) => [m, new Proxy({}, { get: () => () => {} })]),
);
t = performance.now();
await WebAssembly.instantiate(module, imports);
const instantiateMs = performance.now() - t;

t = performance.now();
const { createEngine } = await import(engineEntryUrl());
const importMs = performance.now() - t;
t = performance.now();
const engine = createEngine({ issuer: ISSUER });
const firstEngineMs = performance.now() - t;
t = performance.now();
engine.setIssuerKeys(ISSUER, jwks);
const setKeysMs = performance.now() - t;
t = performance.now();
const first = engine.decide(call);
const firstDecideMs = performance.now() - t;
t = performance.now();
engine.decide(call);
const secondDecideMs = performance.now() - t;
if (first.type !== "success") throw new Error(JSON.stringify(first));

console.log(JSON.stringify({ compileMs, instantiateMs, importMs, firstEngineMs, setKeysMs, firstDecideMs, secondDecideMs }));
