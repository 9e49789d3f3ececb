// The engine's conformance cases, shared by every runtime: Node.js runs them
// through node:test (js-tests/engine.test.mjs), and Deno, Bun, workerd and a
// bundled app run the very same file (js-tests/runtimes/), so no runtime can
// drift from the others. Only web-standard APIs, `node:assert` and jose are
// used here: each runtime provides them.
//
// The engine comes from the built package, imported by name as a user would.
// Tokens are minted with jose.
//
// The `reason` codes asserted here are the engine's contract with its
// callers: a change in one is a breaking change, not a test to loosen.

import assert from "node:assert/strict";
import { createEngine, Engine } from "better-auth-token-exchange/engine";
import { exportSPKI, generateKeyPair, SignJWT } from "jose";
import {
  ACCESS_TOKEN,
  ALGORITHMS,
  API_A,
  API_B,
  accessClaims,
  b64url,
  bffClient,
  exchangeForm,
  ISSUER,
  makeIssuerKeys,
  mint,
  nowSeconds,
  signRaw,
} from "./helpers/tokens.mjs";

/**
 * The cases, grouped: `[{ name, cases: [{ name, fn }] }]`. `describe` and
 * `test` below only collect them, with node:test's names, so that each
 * runtime's runner decides how to run and report them.
 */
export const suites = [];

function describe(name, body) {
  suites.push({ name, cases: [] });
  body();
}

function test(name, fn) {
  suites.at(-1).cases.push({ name, fn });
}

let engine;
let keys;

/**
 * Creates the engine and the issuer keys every case uses; run once before the
 * cases. `settings` are added to the engine's (e.g. `signatureVerifier`).
 */
export async function setup(settings = {}) {
  const issuer = await makeIssuerKeys();
  keys = issuer.keys;
  engine = createEngine({ issuer: ISSUER, ...settings });
  const answer = engine.setIssuerKeys(ISSUER, issuer.jwks);
  assert.equal(answer.type, "ok", JSON.stringify(answer));
  assert.equal(answer.keys, ALGORITHMS.length);
  assert.deepEqual(answer.skipped, []);
}

function decide(form, overrides = {}) {
  return engine.decide({ form, now: nowSeconds(), client: bffClient(), ...overrides });
}

/** Asserts a refusal and that it carries no token material. */
function assertRefused(decision, error, reason, token) {
  assert.equal(decision.type, "failure", `expected a refusal, got ${JSON.stringify(decision)}`);
  assert.deepEqual(
    { error: decision.error, reason: decision.reason },
    { error, reason },
    `description: ${decision.description}`,
  );
  assert.equal(decision.status, 400);
  assert.equal(typeof decision.description, "string");
  assert.ok(decision.description.length > 0);
  // TX-60, TX-70: no token value in the description or the audit record.
  if (token) {
    const [header, payload, signature] = token.split(".");
    const leaked = JSON.stringify({ d: decision.description, a: decision.audit });
    for (const part of [token, header, payload, signature].filter((p) => p && p.length > 8)) {
      assert.ok(!leaked.includes(part), "a token part leaked into the answer");
    }
  }
  assert.equal(decision.audit.decision, "refused");
  assert.equal(decision.audit.reason, reason);
  assert.equal(decision.audit.error, error);
}

describe("settings", () => {
  test("new Engine and createEngine build engines", () => {
    assert.ok(new Engine({ issuer: ISSUER }) instanceof Engine);
    assert.ok(createEngine({ issuer: ISSUER, leewaySeconds: 60 }) instanceof Engine);
  });

  test("settings without an issuer throw an Error", () => {
    assert.throws(() => createEngine({}), Error);
  });

  test("a leeway over 300 s throws an Error", () => {
    assert.throws(() => createEngine({ issuer: ISSUER, leewaySeconds: 301 }), Error);
  });

  test("an unknown (misspelt) setting throws an Error", () => {
    assert.throws(() => createEngine({ issuer: ISSUER, leewaySecond: 30 }), Error);
  });

  test("hasKey reports the keys set per issuer", () => {
    assert.equal(engine.hasKey(ISSUER), true);
    assert.equal(engine.hasKey(ISSUER, "key-ES256"), true);
    assert.equal(engine.hasKey(ISSUER, "no-such-key"), false);
    assert.equal(engine.hasKey("https://other.example"), false);
  });

  test("unknown fields in a client policy are refused, not ignored", async () => {
    // A misspelt restriction must not be dropped silently (engine-types.ts:
    // unknown fields refused).
    const now = nowSeconds();
    const token = await mint(keys.EdDSA, accessClaims(now));
    const decision = engine.decide({
      form: exchangeForm(token),
      now,
      client: bffClient({ policy: { impersonaton: false } }),
    });
    assert.equal(decision.type, "failure", JSON.stringify(decision));
  });

  test("unknown fields in a decide call are refused, not ignored", async () => {
    const now = nowSeconds();
    const token = await mint(keys.EdDSA, accessClaims(now));
    const decision = engine.decide({ form: exchangeForm(token), now, client: bffClient(), subjectFact: {} });
    assert.equal(decision.type, "failure", JSON.stringify(decision));
  });

  test("a malformed decide call is answered as data, not thrown", () => {
    const decision = engine.decide({ form: "not pairs", now: "soon" });
    assert.equal(decision.type, "failure");
  });
});

describe("impersonation with a token of each algorithm (TX-20, TX-40)", () => {
  for (const alg of ALGORITHMS) {
    test(alg, async () => {
      const now = nowSeconds();
      const token = await mint(keys[alg], accessClaims(now));
      const form = exchangeForm(token);

      assert.deepEqual(engine.inspect(form).subject, {
        format: "jwt",
        issuer: ISSUER,
        keyId: `key-${alg}`,
        algorithm: alg,
        subject: "user-123",
      });

      const decision = engine.decide({ form, now, client: bffClient() });
      assert.equal(decision.type, "success", JSON.stringify(decision));
      assert.equal(decision.subject, "user-123");
      assert.equal(decision.subjectIssuer, ISSUER);
      assert.equal(decision.userId, "user-123");
      assert.deepEqual(decision.audiences, [API_A]);
      assert.deepEqual([...decision.scopes].sort(), ["read", "write"]);
      assert.equal(decision.delegation, false);
      assert.equal(decision.act, undefined); // TX-40: no act added
      assert.equal(decision.issuedTokenType, ACCESS_TOKEN);
      assert.equal(decision.tokenType, "Bearer");
      assert.ok(decision.expiresAt <= now + 600, "never outlives the subject token (TX-51)");
      assert.equal(decision.audit.decision, "granted");
      assert.equal(decision.audit.clientId, "bff");
      assert.equal(decision.audit.subject.sub, "user-123");
      assert.ok(!JSON.stringify(decision.audit).includes(token.split(".")[2]), "no token in the audit");
    });
  }

  test("audience and resource values add up to the issued audiences (TX-6)", async () => {
    const token = await mint(keys.EdDSA, accessClaims(nowSeconds()));
    const decision = decide(exchangeForm(token, [["audience", API_B]]));
    assert.equal(decision.type, "success", JSON.stringify(decision));
    assert.deepEqual(decision.audiences, [API_A, API_B]);
  });
});

describe("subject tokens that must be refused (TX-20, TX-22, TX-25)", () => {
  for (const alg of ALGORITHMS) {
    test(`tampered signature: ${alg}`, async () => {
      const token = await mint(keys[alg], accessClaims(nowSeconds()));
      const [h, p, s] = token.split(".");
      // Change a character in the middle: the last one may only carry padding bits.
      const i = Math.floor(s.length / 2);
      const tampered = `${h}.${p}.${s.slice(0, i)}${s[i] === "A" ? "B" : "A"}${s.slice(i + 1)}`;
      assertRefused(decide(exchangeForm(tampered)), "invalid_request", "bad_signature", tampered);
    });
  }

  test("a claim changed under a valid signature", async () => {
    const token = await mint(keys.ES256, accessClaims(nowSeconds()));
    const [h, , s] = token.split(".");
    const forged = `${h}.${b64url(accessClaims(nowSeconds(), { sub: "admin" }))}.${s}`;
    assertRefused(decide(exchangeForm(forged)), "invalid_request", "bad_signature", forged);
  });

  test("expired", async () => {
    const now = nowSeconds();
    const token = await mint(keys.EdDSA, accessClaims(now, { iat: now - 7200, exp: now - 3600 }));
    assertRefused(decide(exchangeForm(token)), "invalid_request", "token_expired", token);
  });

  test("not yet valid", async () => {
    const now = nowSeconds();
    const token = await mint(keys.EdDSA, accessClaims(now, { nbf: now + 3600, exp: now + 7200 }));
    assertRefused(decide(exchangeForm(token)), "invalid_request", "token_not_yet_valid", token);
  });

  test("issuer not trusted", async () => {
    const token = await mint(keys.EdDSA, accessClaims(nowSeconds(), { iss: "https://evil.example" }));
    assertRefused(decide(exchangeForm(token)), "invalid_request", "untrusted_issuer", token);
  });

  test("alg none, naming a real key", async () => {
    const header = { alg: "none", kid: keys.EdDSA.kid, typ: "at+jwt" };
    const token = `${b64url(header)}.${b64url(accessClaims(nowSeconds()))}.`;
    assertRefused(decide(exchangeForm(token)), "invalid_request", "unsupported_algorithm", token);
  });

  test("HS256 keyed with the RSA public key's bytes", async () => {
    const rsa = keys.RS256;
    const claims = accessClaims(nowSeconds());
    const header = { alg: "HS256", kid: rsa.kid, typ: "at+jwt" };
    // Both encodings an attacker would try: the PEM text and the JWK JSON.
    const pem = `${(await exportSPKI(rsa.publicKey)).trim()}\n`;
    const utf8 = (text) => new TextEncoder().encode(text);
    for (const secret of [utf8(pem), utf8(JSON.stringify(rsa.jwk))]) {
      const token = await new SignJWT(claims).setProtectedHeader(header).sign(secret);
      assertRefused(decide(exchangeForm(token)), "invalid_request", "unsupported_algorithm", token);
    }
  });

  test("unknown crit header", async () => {
    const key = keys.EdDSA;
    const header = {
      alg: "EdDSA",
      kid: key.kid,
      typ: "at+jwt",
      crit: ["urn:example:must-understand"],
      "urn:example:must-understand": true,
    };
    const token = await signRaw(key, header, JSON.stringify(accessClaims(nowSeconds())), {
      "urn:example:must-understand": true,
    });
    assertRefused(decide(exchangeForm(token)), "invalid_request", "unsupported_critical_header", token);
  });

  test("larger than 16 KiB", async () => {
    const token = await mint(keys.EdDSA, accessClaims(nowSeconds(), { pad: "x".repeat(17 * 1024) }));
    assert.ok(token.length > 16 * 1024);
    assertRefused(decide(exchangeForm(token)), "invalid_request", "token_too_large", token);
  });

  test("JSON nested deeper than the limit", async () => {
    const claims = accessClaims(nowSeconds());
    const depth = 64;
    const payload = `${JSON.stringify(claims).slice(0, -1)},"deep":${"[".repeat(depth)}${"]".repeat(depth)}}`;
    JSON.parse(payload); // well-formed, only deep
    const key = keys.EdDSA;
    const token = await signRaw(key, { alg: "EdDSA", kid: key.kid, typ: "at+jwt" }, payload);
    assertRefused(decide(exchangeForm(token)), "invalid_request", "json_too_deep", token);
  });

  test("unknown kid", async () => {
    const stranger = await generateKeyPair("EdDSA");
    const token = await new SignJWT(accessClaims(nowSeconds()))
      .setProtectedHeader({ alg: "EdDSA", kid: "no-such-key", typ: "at+jwt" })
      .sign(stranger.privateKey);
    assertRefused(decide(exchangeForm(token)), "invalid_request", "unknown_key", token);
  });
});

describe("request checks (TX-2, TX-4, TX-8)", () => {
  test("missing subject_token", () => {
    const form = exchangeForm("x").filter(([name]) => name !== "subject_token");
    assertRefused(decide(form), "invalid_request", "missing_parameter");
  });

  test("subject_token given twice", async () => {
    const token = await mint(keys.EdDSA, accessClaims(nowSeconds()));
    const form = exchangeForm(token, [["subject_token", token]]);
    assertRefused(decide(form), "invalid_request", "duplicate_parameter", token);
  });

  test("SAML 2 subject token type, named in the description", async () => {
    const token = await mint(keys.EdDSA, accessClaims(nowSeconds()));
    const form = exchangeForm(token).map(([name, value]) =>
      name === "subject_token_type" ? [name, "urn:ietf:params:oauth:token-type:saml2"] : [name, value],
    );
    const decision = decide(form);
    assertRefused(decision, "invalid_request", "unsupported_token_type", token);
    assert.match(decision.description, /saml2/);
  });
});

describe("delegation (TX-41)", () => {
  async function tokens(subjectExtra = {}) {
    const now = nowSeconds();
    const subject = await mint(keys.EdDSA, accessClaims(now, subjectExtra));
    // The actor's own token, held by the same client (the engine binds
    // actor tokens to the exchanging client as it does subject tokens).
    const actor = await mint(keys.ES256, accessClaims(now, { sub: "agent-7" }));
    return { now, subject, actor };
  }

  test("an actor token adds an act claim naming the actor", async () => {
    const { now, subject, actor } = await tokens();
    const form = exchangeForm(subject, [
      ["actor_token", actor],
      ["actor_token_type", ACCESS_TOKEN],
    ]);
    assert.equal(engine.inspect(form).actor?.subject, "agent-7");
    const decision = engine.decide({ form, now, client: bffClient() });
    assert.equal(decision.type, "success", JSON.stringify(decision));
    assert.equal(decision.subject, "user-123");
    assert.equal(decision.delegation, true);
    assert.equal(decision.act?.sub, "agent-7");
    assert.equal(decision.act?.iss, undefined, "iss is named only when it is not ours");
    assert.equal(decision.act?.act, undefined);
    assert.equal(decision.audit.delegation, true);
    assert.equal(decision.audit.actor?.sub, "agent-7");
  });

  test("an act already in the subject token is nested inside the new one", async () => {
    const { now, subject, actor } = await tokens({ act: { sub: "agent-1" } });
    const form = exchangeForm(subject, [
      ["actor_token", actor],
      ["actor_token_type", ACCESS_TOKEN],
    ]);
    const decision = engine.decide({ form, now, client: bffClient() });
    assert.equal(decision.type, "success", JSON.stringify(decision));
    assert.equal(decision.act?.sub, "agent-7");
    assert.equal(decision.act?.act?.sub, "agent-1");
  });

  test("actor_token without actor_token_type (TX-3)", async () => {
    const { subject, actor } = await tokens();
    const decision = decide(exchangeForm(subject, [["actor_token", actor]]));
    assert.equal(decision.type, "failure");
    assert.equal(decision.error, "invalid_request");
  });
});
