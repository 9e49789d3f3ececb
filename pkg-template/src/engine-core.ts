/**
 * The runtime-independent half of the typed engine. Every runtime entry
 * (`engine.ts` for Node.js; later workerd, Deno, Bun and browsers) differs
 * only in how it obtains the wasm module: it hands `wasmInitializer` a
 * function returning either the bytes of `engine_bg.wasm` or a
 * `WebAssembly.Module` compiled ahead (workerd imports `.wasm` files as
 * modules and forbids compiling from bytes at run time).
 *
 * Nothing here runs at import time: the wasm is instantiated on first use,
 * once per process, so importing the package costs nothing.
 */
import { Engine as WasmEngine, initSync, type SyncInitInput } from "../wasm/engine.js";
import type {
  DecideCall,
  Decision,
  EngineSettings,
  FormPairs,
  Inspection,
  Jwks,
  KeysAnswer,
} from "./engine-types.js";

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
   */
  protected constructor(settings: EngineSettings, ready: () => void) {
    ready();
    this.#inner = new WasmEngine(settings);
  }

  /** Replaces the key set of `issuer` (this server or a trusted issuer): a JWKS object or its JSON text. */
  setIssuerKeys(issuer: string, jwks: Jwks | string): KeysAnswer {
    return this.#inner.setIssuerKeys(issuer, jwks);
  }

  /** Whether a key for `issuer` (and `kid`, when given) is known. */
  hasKey(issuer: string, kid?: string): boolean {
    return this.#inner.hasKey(issuer, kid);
  }

  /** Unverified hints about the presented tokens: which keys or lookups they need. */
  inspect(form: FormPairs): Inspection {
    return this.#inner.inspect(form);
  }

  /** Decides one exchange; refusals are answered as data, never thrown. */
  decide(call: DecideCall): Decision {
    return this.#inner.decide(call);
  }

  /** Releases the wasm memory held by this engine now rather than at garbage collection. */
  free(): void {
    this.#inner.free();
  }
}
