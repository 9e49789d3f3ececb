/**
 * SHA-256 digests, base64url: a token's identity (TX-29) and the keys that
 * name things by digest. `node:crypto` hashes synchronously where the
 * runtime has it (Node.js, Bun, Deno, workerd with `nodejs_compat`);
 * WebCrypto's `digest` costs a round trip through a worker thread on Node.js.
 * @internal
 */

import { findNodeCrypto } from "../engine/host-crypto.js";

const nodeCrypto = findNodeCrypto();

/** base64url SHA-256 of `text` (UTF-8). */
export async function sha256(text: string): Promise<string> {
  if (nodeCrypto?.createHash) return nodeCrypto.createHash("sha256").update(text).digest("base64url");
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  let binary = "";
  for (const b of digest) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A compact JWS has exactly two dots (as the engine reads it). */
export const isJwt = (token: string): boolean => token.split(".").length === 3;

/**
 * A token's identity, whatever the spelling of its signature (TX-29): the
 * digest of a JWT's signing input (header and payload as sent; the engine
 * accepts one spelling of each), so that an ECDSA signature and its twin
 * (r, n-s) name one token; the digest of the whole token otherwise.
 */
export function tokenIdentity(token: string): Promise<string> {
  return sha256(isJwt(token) ? token.slice(0, token.lastIndexOf(".")) : token);
}

/**
 * The digests a token may be named by in records: its identity, and for a
 * JWT the digest of the whole token, as records written before 0.2.0 hold it.
 */
export async function tokenNames(token: string): Promise<string[]> {
  const identity = await tokenIdentity(token);
  return isJwt(token) ? [identity, await sha256(token)] : [identity];
}
