// Benchmark 4: how one decision's time grows with the key set (1 to 100 keys,
// the engine's JWKS_MAX_KEYS; larger sets are refused whole), the `act` chain
// of the subject token (1 to the deepest the settings allow), the requested
// scopes (1 to 1,000) and the requested audiences (1 to 100). EdDSA tokens,
// the default signature path; medians of timed batches.

import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { accessClaims, API_A, bffClient, exchangeForm, ISSUER, nowSeconds } from "../js-tests/helpers/tokens.mjs";
import { enginePaths } from "./engine.mjs";
import { fmt, timeSync, table } from "./lib.mjs";

const MAX_ACT_DEPTH = 32; // the engine's upper bound for maxActDepth

async function keyPair(kid) {
  const pair = await generateKeyPair("EdDSA", { extractable: true });
  return { ...pair, kid, jwk: { ...(await exportJWK(pair.publicKey)), kid, alg: "EdDSA", use: "sig" } };
}

const sign = (key, claims) =>
  new SignJWT(claims).setProtectedHeader({ alg: "EdDSA", kid: key.kid, typ: "at+jwt" }).sign(key.privateKey);

function actChain(depth) {
  let act;
  for (let i = depth; i >= 1; i--) act = { sub: `agent-${i}`, ...(act ? { act } : {}) };
  return act;
}

export async function run() {
  const paths = await enginePaths();
  const make = paths.host ?? paths.builtin;
  const now = nowSeconds();
  const out = { jwks: [], act: [], scopes: [], audiences: [] };
  const timeDecide = (engine, call) => {
    const d = engine.decide(call);
    assert.equal(d.type, "success", JSON.stringify(d));
    return timeSync(() => engine.decide(call));
  };

  // JWKS size: the token's key is the last of the set.
  const keys = [];
  for (let i = 0; i < 100; i++) keys.push(await keyPair(`key-${i}`));
  {
    // Warm-up (JIT, the host's key cache path) so that the first row is not penalised.
    const engine = make();
    engine.setIssuerKeys(ISSUER, { keys: [keys[0].jwk] });
    const call = { form: exchangeForm(await sign(keys[0], accessClaims(now)), [["scope", "read"]]), now, client: bffClient() };
    timeDecide(engine, call);
  }
  for (const n of [1, 10, 100, 1000]) {
    const engine = make();
    const set = n <= keys.length ? keys.slice(0, n) : Array.from({ length: n }, (_, i) => keys[i % keys.length]);
    const answer = engine.setIssuerKeys(ISSUER, { keys: set.map((k) => k.jwk) });
    if (answer.type !== "ok") {
      out.jwks.push({ n, refused: answer.reason });
      continue;
    }
    const last = set.at(-1);
    const call = { form: exchangeForm(await sign(last, accessClaims(now)), [["scope", "read"]]), now, client: bffClient() };
    out.jwks.push({ n, ms: timeDecide(engine, call) });
  }

  const key = keys[0];
  // act chain depth of the subject token (impersonation keeps it).
  for (const depth of [1, 2, 4, 8, 16, MAX_ACT_DEPTH]) {
    const engine = make({ maxActDepth: MAX_ACT_DEPTH, maxJsonDepth: 64 });
    engine.setIssuerKeys(ISSUER, { keys: [key.jwk] });
    const token = await sign(key, accessClaims(now, { act: actChain(depth) }));
    const call = { form: exchangeForm(token, [["scope", "read"]]), now, client: bffClient() };
    out.act.push({ n: depth, ms: timeDecide(engine, call) });
  }

  // Requested scopes (the token and the client hold them all).
  for (const n of [1, 10, 100, 1000]) {
    const scopes = Array.from({ length: n }, (_, i) => `scope-${i}`);
    const engine = make({ maxTokenBytes: 64 * 1024 });
    engine.setIssuerKeys(ISSUER, { keys: [key.jwk] });
    const token = await sign(key, accessClaims(now, { scope: scopes.join(" ") }));
    const call = {
      form: exchangeForm(token, [["scope", scopes.join(" ")]]),
      now,
      client: bffClient({ scopes }),
    };
    out.scopes.push({ n, ms: timeDecide(engine, call) });
  }

  // Requested audiences (all linked to the client).
  for (const n of [1, 10, 100]) {
    const targets = [API_A, ...Array.from({ length: n - 1 }, (_, i) => `https://api-${i}.example`)];
    const engine = make();
    engine.setIssuerKeys(ISSUER, { keys: [key.jwk] });
    const token = await sign(key, accessClaims(now));
    const form = exchangeForm(token, [["scope", "read"], ...targets.slice(1).map((t) => ["audience", t])]);
    const call = { form, now, client: bffClient({ linkedResources: targets }) };
    out.audiences.push({ n, ms: timeDecide(engine, call) });
  }
  return out;
}

export function render(r) {
  const rows = [];
  const add = (name, list) => {
    const base = list.find((x) => x.ms !== undefined)?.ms;
    for (const x of list) {
      rows.push(
        x.ms === undefined
          ? [name, fmt.int(x.n), `refused (${x.refused})`, "-"]
          : [name, fmt.int(x.n), fmt.us(x.ms), fmt.ratio(x.ms / base)],
      );
    }
  };
  add("JWKS keys", r.jwks);
  add("act depth", r.act);
  add("scopes", r.scopes);
  add("audiences", r.audiences);
  return table("4. Scaling: one decision (EdDSA subject token), microseconds, and relative to the smallest", ["dimension", "n", "us/decision", "vs n=1"], rows);
}
