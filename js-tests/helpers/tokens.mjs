// Shared fixtures for the engine tests: an issuer with one key per JWS
// algorithm, token minting with jose, and the token-exchange form and client.

import { CompactSign, exportJWK, generateKeyPair, SignJWT } from "jose";

export const ISSUER = "https://auth.example";
export const GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
export const ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token";
export const API_A = "https://api-a.example";
export const API_B = "https://api-b.example";

/** Every JWS algorithm the engine must verify. */
export const ALGORITHMS = [
  "EdDSA",
  "ES256",
  "ES384",
  "ES512",
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
];

/** Seconds since the epoch; tests pass it to `decide` as `now`. */
export const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * Generates one key pair per algorithm. `jwks` holds the public keys, each
 * with `kid` (`key-<alg>`), `alg` and `use`; `keys[alg]` the pair.
 */
export async function makeIssuerKeys(algorithms = ALGORITHMS) {
  const keys = {};
  const jwks = { keys: [] };
  for (const alg of algorithms) {
    const pair = await generateKeyPair(alg, { extractable: true });
    const kid = `key-${alg}`;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg, use: "sig" };
    keys[alg] = { ...pair, kid, jwk };
    jwks.keys.push(jwk);
  }
  return { keys, jwks };
}

/** Claims of an access token this server issued to client "bff" (RFC 9068). */
export function accessClaims(now, overrides = {}) {
  return {
    iss: ISSUER,
    sub: "user-123",
    client_id: "bff",
    scope: "read write",
    iat: now,
    exp: now + 600,
    jti: `jti-${Math.random().toString(36).slice(2)}`,
    ...overrides,
  };
}

/** Signs `claims` as a JWT with `key` (from `makeIssuerKeys`). */
export async function mint(key, claims, header = {}) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.jwk.alg, kid: key.kid, typ: "at+jwt", ...header })
    .sign(key.privateKey);
}

/**
 * Signs an arbitrary payload (any JSON text) under an arbitrary protected
 * header; `crit` names header parameters jose should let through.
 */
export async function signRaw(key, header, payloadText, crit = {}) {
  return new CompactSign(new TextEncoder().encode(payloadText))
    .setProtectedHeader(header)
    .sign(key.privateKey, { crit });
}

export const b64url = (value) =>
  Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

/** The exchange form as FormPairs; `extra` pairs are appended in order. */
export function exchangeForm(subjectToken, extra = []) {
  return [
    ["grant_type", GRANT],
    ["subject_token", subjectToken],
    ["subject_token_type", ACCESS_TOKEN],
    ["audience", API_A],
    ...extra,
  ];
}

/** A confidential, authenticated client opted in to token exchange. */
export function bffClient(overrides = {}) {
  return {
    status: "authenticated",
    clientId: "bff",
    authMethod: "client_secret_basic",
    disabled: false,
    grantTypes: [GRANT],
    scopes: ["read", "write"],
    linkedResources: [API_A, API_B],
    allowedTokenExchange: true,
    ...overrides,
  };
}
