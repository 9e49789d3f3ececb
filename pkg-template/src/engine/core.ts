/**
 * The runtime-independent half of the typed engine. Every runtime entry
 * (`node.ts` for Node.js and Bun, `workerd.ts`, `inline.ts` for Deno,
 * bundlers and the rest) differs
 * only in how it obtains the wasm module: it hands `wasmInitializer` a
 * function returning either the bytes of `engine_bg.wasm` or a
 * `WebAssembly.Module` compiled ahead (workerd imports `.wasm` files as
 * modules and forbids compiling from bytes at run time).
 *
 * Nothing here runs at import time: the wasm is instantiated on first use,
 * once per process, so importing the package costs nothing.
 */
import { Engine as WasmEngine, initSync, type SyncInitInput } from "../../wasm/engine.js";
import { findNodeCrypto, nodeCryptoVerifier, type HostVerify, type NodeCryptoLike } from "./host-crypto.js";
import type { AssertionDecision, Decision, KeysAnswer, Verification } from "./answers.js";
import type { AssertionCall, DecideCall, EngineSettings, FormPairs, Inspection, Jwks, VerifyCall } from "./types.js";

/**
 * Returns a function that instantiates the wasm on its first call and does
 * nothing afterwards. `load` returns the bytes of `engine_bg.wasm` or a
 * `WebAssembly.Module` (typed loosely so that the published typings do not
 * require the DOM library).
 * @internal
 */
export function wasmInitializer(load: () => unknown): () => void {
  let ready = false;
  return () => {
    if (ready) return;
    initSync({ module: load() as SyncInitInput });
    ready = true;
  };
}

/**
 * `value` as JSON text, or `undefined` when JSON cannot carry it (a BigInt, a
 * cycle). Calls and answers cross the wasm boundary as JSON text: one string
 * each way is much faster than an object read member by member.
 */
function jsonText(value: unknown): string | undefined {
  try {
    const text = JSON.stringify(value);
    // A lone surrogate (possible in admin-set or callback data, never in a
    // form) is escaped as `\udXXX`, which JSON parsers may refuse: send it
    // as U+FFFD instead, so the engine judges the data, not the encoding.
    return LONE_SURROGATE.test(text) ? JSON.stringify(value, wellFormed) : text;
  } catch {
    return undefined;
  }
}

const LONE_SURROGATE = /\\ud[89a-f]/i;
const UNPAIRED = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const wellFormed = (_key: string, v: unknown) => (typeof v === "string" ? v.replace(UNPAIRED, "\ufffd") : v);

/**
 * The signature primitive for `choice` (see `EngineSettings.signatureVerifier`):
 * `undefined` leaves the arithmetic to the engine's Rust code.
 */
function hostVerifier(choice: unknown, given: NodeCryptoLike | undefined): HostVerify | undefined {
  if (choice === "builtin") return undefined;
  if (choice !== "auto" && choice !== "host") {
    throw new Error('invalid token-exchange engine settings: signatureVerifier must be "auto", "host" or "builtin"');
  }
  const crypto = given ?? findNodeCrypto();
  if (crypto) return nodeCryptoVerifier(crypto);
  if (choice === "host") {
    throw new Error("invalid token-exchange engine settings: signatureVerifier is \"host\" but node:crypto is not available");
  }
  return undefined;
}

/**
 * The RFC 8693 exchange engine. Pure and synchronous: it does no I/O and reads
 * no clock, so one instance can serve concurrent requests. Construct it through
 * a runtime entry (`createEngine` / `new Engine` from
 * `better-auth-token-exchange/engine`).
 */
export abstract class EngineBase {
  readonly #inner: WasmEngine;

  /**
   * @param settings engine-wide settings; an invalid value throws an `Error`
   *   naming the setting.
   * @param ready instantiates the wasm if that has not happened yet.
   * @param nodeCrypto `node:crypto`, from a runtime entry that imports it;
   *   otherwise it is looked up with `process.getBuiltinModule`.
   */
  protected constructor(settings: EngineSettings, ready: () => void, nodeCrypto?: NodeCryptoLike) {
    ready();
    // `signatureVerifier` is the wrapper's to act on; the rest goes to the
    // engine as given (which refuses anything malformed).
    let engineSettings: unknown = settings;
    let choice: unknown = "auto";
    if (typeof settings === "object" && settings !== null && !Array.isArray(settings)) {
      const { signatureVerifier = "auto", ...rest } = settings;
      engineSettings = rest;
      choice = signatureVerifier;
    }
    this.#inner = new WasmEngine(jsonText(engineSettings) ?? "null", hostVerifier(choice, nodeCrypto));
  }

  /** Replaces the key set of `issuer` (this server or a trusted issuer): a JWKS object or its JSON text. */
  setIssuerKeys(issuer: string, jwks: Jwks | string): KeysAnswer {
    const text = typeof jwks === "string" ? jwks : jsonText(jwks);
    if (text === undefined) {
      return { type: "failure", reason: "malformed_jwks", description: "the key set is not JSON" };
    }
    return JSON.parse(this.#inner.setIssuerKeys(String(issuer), text)) as KeysAnswer;
  }

  /** Whether a key for `issuer` (and `kid`, when given) is known. */
  hasKey(issuer: string, kid?: string): boolean {
    return this.#inner.hasKey(issuer, kid);
  }

  /** Unverified hints about the presented tokens: which keys or lookups they need. */
  inspect(form: FormPairs): Inspection {
    return JSON.parse(this.#inner.inspect(jsonText(form) ?? "null")) as Inspection;
  }

  /** Decides one exchange; refusals are answered as data, never thrown. */
  decide(call: DecideCall): Decision {
    // What JSON cannot carry (a BigInt, a cycle) reaches the engine as
    // `null`, which it answers as an invalid call.
    return JSON.parse(this.#inner.decide(jsonText(call) ?? "null")) as Decision;
  }

  /**
   * Decides one jwt-bearer request presenting an ID-JAG (RFC 7523 §2.1, the
   * resource authorization server's side of cross-app access). Refusals are
   * answered as data, never thrown.
   */
  decideAssertion(call: AssertionCall): AssertionDecision {
    return JSON.parse(this.#inner.decideAssertion(jsonText(call) ?? "null")) as AssertionDecision;
  }

  /**
   * Verifies an access token of this engine's issuer for a resource server:
   * the exchange's own token validation, then the audience and actor checks
   * of `call`. Refusals are answered as data, never thrown.
   */
  verifyAccessToken(call: VerifyCall): Verification {
    return JSON.parse(this.#inner.verifyAccessToken(jsonText(call) ?? "null")) as Verification;
  }

  /** Releases the wasm memory held by this engine now rather than at garbage collection. */
  free(): void {
    this.#inner.free();
  }
}
