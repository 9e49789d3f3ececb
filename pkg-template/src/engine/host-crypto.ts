/**
 * The host signature primitive: `node:crypto`'s synchronous `verify`, which
 * Node.js, Bun, Deno and workerd (`nodejs_compat`) all provide. The engine
 * keeps every decision (which key, whether it accepts the algorithm, the
 * signature's encoding, `none` and HMAC refused); this only answers "does
 * this signature verify with this key", with the host's native code.
 *
 * Nothing here imports `node:crypto` statically, so the shared engine code
 * loads on any runtime: the module is found through
 * `process.getBuiltinModule`, or handed in by a runtime entry. Not part of
 * the package's exports: the engine entries use it.
 */

/** The part of `node:crypto` used here (typed structurally: no @types/node needed). */
export interface NodeCryptoLike {
  createPublicKey(options: { key: Record<string, unknown>; format: "jwk" }): unknown;
  verify(algorithm: string | null, data: Uint8Array, key: unknown, signature: Uint8Array): boolean;
  constants: { RSA_PKCS1_PADDING: number; RSA_PKCS1_PSS_PADDING: number };
  createHash?(algorithm: "sha256"): { update(data: string): { digest(encoding: "base64url"): string } };
}

/** What the engine calls (see `HostCrypto` in the wasm typings). */
export interface HostVerify {
  verify(alg: string, keyJwk: string, message: Uint8Array, signature: Uint8Array): boolean;
}

/** Imported keys kept per engine; a rotation past this many starts afresh. */
const MAX_CACHED_KEYS = 256;

/** `node:crypto` if the runtime exposes it without a static import. */
export function findNodeCrypto(): NodeCryptoLike | undefined {
  const host = globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } };
  try {
    const crypto = host.process?.getBuiltinModule?.("node:crypto") as NodeCryptoLike | undefined;
    return crypto && typeof crypto.verify === "function" && typeof crypto.createPublicKey === "function"
      ? crypto
      : undefined;
  } catch {
    return undefined;
  }
}

type Check = (key: unknown, message: Uint8Array, signature: Uint8Array) => boolean;

/**
 * A verifier over `node:crypto`: keys imported once (from the JWK the engine
 * already parsed and checked) and cached; each algorithm mapped to its exact
 * parameters (RFC 7518 §3.3 to §3.5, RFC 8037 §3.1). An algorithm it does
 * not know throws, which tells the engine to verify it itself.
 */
export function nodeCryptoVerifier(crypto: NodeCryptoLike): HostVerify {
  const { RSA_PKCS1_PADDING, RSA_PKCS1_PSS_PADDING } = crypto.constants;
  const keys = new Map<string, unknown>();
  const ecdsa =
    (hash: string): Check =>
    (key, message, signature) =>
      crypto.verify(hash, message, { key, dsaEncoding: "ieee-p1363" }, signature);
  const pkcs1 =
    (hash: string): Check =>
    (key, message, signature) =>
      crypto.verify(hash, message, { key, padding: RSA_PKCS1_PADDING }, signature);
  // RFC 7518 §3.5: MGF1 with the same hash (node's default) and a salt as
  // long as the hash, checked exactly.
  const pss =
    (hash: string, saltLength: number): Check =>
    (key, message, signature) =>
      crypto.verify(hash, message, { key, padding: RSA_PKCS1_PSS_PADDING, saltLength }, signature);
  const checks: Record<string, Check> = {
    EdDSA: (key, message, signature) => crypto.verify(null, message, key, signature),
    ES256: ecdsa("sha256"),
    ES384: ecdsa("sha384"),
    ES512: ecdsa("sha512"),
    RS256: pkcs1("sha256"),
    RS384: pkcs1("sha384"),
    RS512: pkcs1("sha512"),
    PS256: pss("sha256", 32),
    PS384: pss("sha384", 48),
    PS512: pss("sha512", 64),
  };
  return {
    verify(alg, keyJwk, message, signature) {
      const check = Object.hasOwn(checks, alg) ? checks[alg] : undefined;
      if (!check) throw new Error(`no host verification for ${alg}`);
      let key = keys.get(keyJwk);
      if (key === undefined) {
        key = crypto.createPublicKey({ key: JSON.parse(keyJwk) as Record<string, unknown>, format: "jwk" });
        if (keys.size >= MAX_CACHED_KEYS) keys.clear();
        keys.set(keyJwk, key);
      }
      return check(key, message, signature) === true;
    },
  };
}
