// Project Wycheproof signature vectors (tests/vectors/wycheproof/) through the
// built package, on both signature paths: the host's (`node:crypto`, the
// default on Node.js) and the engine's own Rust code. Each vector goes through
// the engine's key parsing and key selection first, exactly like a token's
// signature; only the arithmetic differs between the paths.
//
// The wasm glue and the host verifier are loaded from the installed package
// by file (`verifySignature` is a conformance hook of the glue, not a package
// export; it takes the JWK as JSON text, like every engine call).

import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

const pkg = new URL("./node_modules/better-auth-token-exchange/", import.meta.url);
const glue = await import(new URL("wasm/engine.js", pkg));
glue.initSync({ module: readFileSync(new URL("wasm/engine_bg.wasm", pkg)) });
const { nodeCryptoVerifier } = await import(new URL("dist/engine/host-crypto.js", pkg));

const vectors = new URL("../tests/vectors/wycheproof/", import.meta.url);

/** File, JWS algorithm, and the counts the Rust suite (tests/jose_vectors.rs) expects. */
const FILES = [
  ["ed25519_test.json", "EdDSA", { valid: 88, invalid: 63 }],
  ["ecdsa_secp256r1_sha256_p1363_test.json", "ES256", { valid: 173, invalid: 89 }],
  ["ecdsa_secp384r1_sha384_p1363_test.json", "ES384", { valid: 193, invalid: 87 }],
  ["ecdsa_secp521r1_sha512_p1363_test.json", "ES512", { valid: 231, invalid: 87 }],
  ["rsa_signature_2048_sha256_test.json", "RS256", { valid: 9, invalid: 249 }],
  ["rsa_pss_2048_sha256_mgf1_32_test.json", "PS256", { valid: 63, invalid: 45 }],
];

const SIZES = { secp256r1: ["P-256", 32], secp384r1: ["P-384", 48], secp521r1: ["P-521", 66] };

/** The JWK of a group that gives its key only as hex coordinates (RFC 7518 §6.2.1). */
function ecJwk(publicKey) {
  const [crv, size] = SIZES[publicKey.curve];
  const coordinate = (hex) => {
    const raw = Buffer.from(hex, "hex");
    const trimmed = raw.subarray(raw.findIndex((b) => b !== 0));
    return Buffer.concat([Buffer.alloc(size - trimmed.length), trimmed]).toString("base64url");
  };
  return { kty: "EC", crv, x: coordinate(publicKey.wx), y: coordinate(publicKey.wy) };
}

/** Runs one file on one path; `host` undefined is the Rust path. */
function run(file, alg, host) {
  const doc = JSON.parse(readFileSync(new URL(file, vectors), "utf8"));
  const counts = { valid: 0, invalid: 0, acceptable: 0 };
  const failures = [];
  for (const group of doc.testGroups) {
    const jwk = group.publicKeyJwk ?? group.keyJwk ?? ecJwk(group.publicKey);
    for (const t of group.tests) {
      const verified = glue.verifySignature(
        alg,
        JSON.stringify(jwk),
        Buffer.from(t.msg, "hex"),
        Buffer.from(t.sig, "hex"),
        host,
      );
      if (t.result === "acceptable") counts.acceptable++;
      else if ((t.result === "valid") === verified) counts[t.result]++;
      else failures.push(`tcId ${t.tcId} (${t.result}, ${t.comment}): verified ${verified}`);
    }
  }
  return { counts, failures };
}

/** The host verifier, counting the signatures it was asked about. */
function countingHost() {
  const inner = nodeCryptoVerifier(crypto);
  const host = {
    calls: 0,
    verify(...args) {
      host.calls++;
      return inner.verify(...args);
    },
  };
  return host;
}

for (const [file, alg, expected] of FILES) {
  describe(`Wycheproof ${alg} (${file})`, () => {
    test("the built-in Rust path", () => {
      const { counts, failures } = run(file, alg, undefined);
      assert.deepEqual(failures, []);
      assert.equal(counts.valid, expected.valid);
      assert.equal(counts.invalid, expected.invalid);
    });

    test("the host path (node:crypto)", () => {
      const host = countingHost();
      const { counts, failures } = run(file, alg, host);
      assert.deepEqual(failures, []);
      assert.equal(counts.valid, expected.valid);
      assert.equal(counts.invalid, expected.invalid);
      // Every valid vector's arithmetic was the host's; malformed encodings
      // were refused before it was asked.
      assert.ok(host.calls >= expected.valid, `host asked ${host.calls} times`);
    });
  });
}

test("a host that cannot answer leaves the signature to the Rust path", () => {
  const doc = JSON.parse(readFileSync(new URL("ed25519_test.json", vectors), "utf8"));
  const group = doc.testGroups[0];
  const valid = group.tests.find((t) => t.result === "valid");
  const throwing = {
    verify() {
      throw new Error("not here");
    },
  };
  const args = [JSON.stringify(group.publicKeyJwk), Buffer.from(valid.msg, "hex"), Buffer.from(valid.sig, "hex")];
  assert.equal(glue.verifySignature("EdDSA", ...args, throwing), true);
  const tampered = Buffer.from(valid.sig, "hex");
  tampered[0] ^= 1;
  assert.equal(glue.verifySignature("EdDSA", args[0], args[1], tampered, throwing), false);
});

test("a host answer is only believed for a key and algorithm the engine accepted", () => {
  const lying = { verify: () => true };
  const doc = JSON.parse(readFileSync(new URL("ed25519_test.json", vectors), "utf8"));
  const jwk = JSON.stringify(doc.testGroups[0].publicKeyJwk);
  // An EdDSA key never verifies ES256, whatever the host says.
  assert.throws(() => glue.verifySignature("ES256", jwk, Buffer.alloc(1), Buffer.alloc(64), lying));
  // `none` and HMAC do not exist in the engine.
  assert.throws(() => glue.verifySignature("none", jwk, Buffer.alloc(1), Buffer.alloc(0), lying));
  assert.throws(() => glue.verifySignature("HS256", jwk, Buffer.alloc(1), Buffer.alloc(32), lying));
  // A symmetric key is refused before any signature is looked at.
  assert.throws(() =>
    glue.verifySignature("EdDSA", JSON.stringify({ kty: "oct", k: "AAAA" }), Buffer.alloc(1), Buffer.alloc(64), lying),
  );
  // A wrongly sized signature never reaches the host.
  assert.equal(glue.verifySignature("EdDSA", jwk, Buffer.alloc(1), Buffer.alloc(63), lying), false);
});
