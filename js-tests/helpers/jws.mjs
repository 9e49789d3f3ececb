// Hand-made JWS for attack tests: the header and payload are JSON *text*
// (so duplicates, odd nesting and exact bytes are possible), base64url'd as
// given (or not: callers may re-spell the segments), and signed over exactly
// the bytes sent, with node:crypto keys.

import { createHmac, generateKeyPairSync, sign } from "node:crypto";

export const b64u = (bytes) => Buffer.from(bytes).toString("base64url");
export const text = (value) => (typeof value === "string" ? value : JSON.stringify(value));

/** A key pair with its public JWK (`kid`, `alg`, `use` as given; `alg: null` leaves it out). */
export function keyPair(kind, { kid, alg, use = "sig" } = {}) {
  const pair =
    kind === "ed25519"
      ? generateKeyPairSync("ed25519")
      : kind === "p256"
        ? generateKeyPairSync("ec", { namedCurve: "P-256" })
        : kind === "p384"
          ? generateKeyPairSync("ec", { namedCurve: "P-384" })
          : generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = { ...pair.publicKey.export({ format: "jwk" }), ...(kid ? { kid } : {}), use };
  if (alg) jwk.alg = alg;
  return { ...pair, kind, jwk };
}

/** Signs the JWS signing input `input` (a string) with `alg` and `key`. */
export function signInput(alg, key, input) {
  const data = Buffer.from(input);
  switch (alg) {
    case "EdDSA":
    case "Ed25519":
      return sign(null, data, key.privateKey);
    case "ES256":
      return sign("sha256", data, { key: key.privateKey, dsaEncoding: "ieee-p1363" });
    case "ES384":
      return sign("sha384", data, { key: key.privateKey, dsaEncoding: "ieee-p1363" });
    case "RS256":
      return sign("sha256", data, key.privateKey);
    case "PS256":
      return sign("sha256", data, { key: key.privateKey, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 });
    default:
      throw new Error(`signInput: no signer for ${alg}`);
  }
}

/** HMAC-SHA256 over `input` with `secret` (the public-key-as-secret attack). */
export function hmac(secret, input) {
  return createHmac("sha256", secret).update(input).digest();
}

/**
 * A compact JWS from header and payload (objects or exact JSON text),
 * signed with `key` under `alg` (defaults to the header's `alg`), or with
 * `signature` bytes as given. `respell(segment, which)` may change how a
 * segment is spelled before signing (the signature covers the re-spelled
 * input, as a lenient decoder would check it).
 */
export function jws(header, payload, { key, alg, signature, respell } = {}) {
  const h = text(header);
  const p = text(payload);
  let hs = b64u(h);
  let ps = b64u(p);
  if (respell) {
    hs = respell(hs, "header");
    ps = respell(ps, "payload");
  }
  const input = `${hs}.${ps}`;
  const algorithm = alg ?? (typeof header === "object" ? header.alg : JSON.parse(h).alg);
  const sig = signature ?? signInput(algorithm, key, input);
  return `${input}.${b64u(sig)}`;
}
