// The BFF and resource-server helpers, written once for every runtime
// (Node.js, Deno, Bun, workerd, a bundle): `better-auth-token-exchange/
// resource-server` verifies tokens shaped like exchanged ones (nested act),
// signed here with the keys of ../helpers/tokens.mjs and served as a JWKS by
// a `fetch` of the test's own, so no network is needed; `.../bff` runs its
// cache against a token endpoint answered the same way. The full exchange
// through both helpers against better-auth is in exchange-scenario.mjs.

import assert from "node:assert/strict";
import { createExchangeTokenCache, exchangeToken } from "better-auth-token-exchange/bff";
import { createExchangedTokenVerifier } from "better-auth-token-exchange/resource-server";
import { ACCESS_TOKEN, API_A, API_B, accessClaims, ISSUER, makeIssuerKeys, mint } from "../helpers/tokens.mjs";

const ALGORITHMS = ["EdDSA", "ES256", "PS256"];

/** Returns the names of the steps that passed; throws at the first that does not. */
export async function runHelpersScenario() {
  const steps = [];
  const step = async (name, fn) => {
    try {
      await fn();
      steps.push(name);
    } catch (error) {
      error.message = `step "${name}": ${error.message}`;
      throw error;
    }
  };

  const { keys, jwks } = await makeIssuerKeys(ALGORITHMS);
  let jwksFetches = 0;
  const jwksFetch = async (url, init) => {
    jwksFetches++;
    assert.equal(url, `${ISSUER}/jwks`);
    assert.equal(init.method, "GET");
    return new Response(JSON.stringify(jwks), { headers: { "content-type": "application/jwk-set+json" } });
  };
  const verifier = createExchangedTokenVerifier({
    issuer: ISSUER,
    audience: API_A,
    jwksUri: `${ISSUER}/jwks`,
    fetch: jwksFetch,
    maxChainDepth: 2,
  });
  const now = Math.floor(Date.now() / 1000);
  const nested = { sub: "agent-2", client_id: "bff", act: { sub: "agent-1", client_id: "bff" } };
  const exchanged = (alg, claims = {}) => mint(keys[alg], accessClaims(now, { aud: API_A, act: nested, ...claims }));
  const refused = async (token, reason, v = verifier) => {
    const r = await v.verify(token);
    assert.equal(r.ok, false, `expected ${reason}`);
    assert.deepEqual([r.error, r.reason], ["invalid_token", reason], r.description);
  };

  await step("resource server: a nested act gives the subject, the current actor and the chain", async () => {
    for (const alg of ALGORITHMS) {
      const r = await verifier.verify(await exchanged(alg));
      assert.equal(r.ok, true, `${alg}: ${r.description}`);
      assert.equal(r.sub, "user-123");
      assert.equal(r.clientId, "bff");
      assert.deepEqual(r.actor, { sub: "agent-2", clientId: "bff" });
      assert.deepEqual(
        r.chain.map((a) => a.sub),
        ["agent-2", "agent-1"],
      );
    }
    assert.equal(jwksFetches, 1, "the key set was fetched more than once");
  });

  await step("resource server: refusals carry the engine's reasons", async () => {
    const token = await exchanged("EdDSA");
    const [h, p, s] = token.split(".");
    await refused(`${h}.${p}.${s[0] === "A" ? "B" : "A"}${s.slice(1)}`, "bad_signature");
    await refused(await exchanged("ES256", { aud: API_B }), "audience_mismatch");
    await refused(await exchanged("EdDSA", { exp: now - 3600 }), "token_expired");
    await refused(await exchanged("EdDSA", { act: { sub: "agent-3", act: nested } }), "act_chain_too_deep");
    await refused("an-opaque-token", "opaque_token");
    const strict = createExchangedTokenVerifier({
      issuer: ISSUER,
      audience: API_A,
      jwks,
      requireActor: true,
      allowedActors: ["agent-1"],
    });
    await refused(await mint(keys.EdDSA, accessClaims(now, { aud: API_A })), "actor_required", strict);
    // TX-44: agent-1 is in the chain, but agent-2 acts now.
    await refused(await exchanged("EdDSA"), "actor_not_allowed", strict);
    strict.free();
  });

  await step("bff: exchangeToken's cache serves a token once fetched", async () => {
    let calls = 0;
    const endpoint = async (_url, init) => {
      calls++;
      const form = new URLSearchParams(init.body);
      assert.equal(form.get("subject_token_type"), ACCESS_TOKEN);
      const body = { access_token: `issued-${calls}`, issued_token_type: ACCESS_TOKEN, token_type: "Bearer", expires_in: 600 };
      return new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });
    };
    const cache = createExchangeTokenCache();
    const request = {
      tokenEndpoint: `${ISSUER}/token`,
      clientAuth: { method: "client_secret_basic", clientId: "bff", clientSecret: "secret" },
      subjectToken: "user-token",
      subjectTokenType: "access_token",
      audience: "orders",
      fetch: endpoint,
      cache,
    };
    const first = await exchangeToken(request);
    const second = await exchangeToken(request);
    assert.deepEqual([first.ok, first.cached, second.cached], [true, false, true]);
    assert.equal(second.token.access_token, "issued-1");
    assert.equal(calls, 1);
  });

  verifier.free();
  return steps;
}
