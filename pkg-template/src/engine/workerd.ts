/**
 * The typed engine for Cloudflare Workers (workerd). workerd forbids
 * compiling WebAssembly from bytes at run time; a `.wasm` module import is
 * compiled ahead by the platform and arrives as a `WebAssembly.Module`.
 * Wrangler bundles such an import as-is (its default `CompiledWasm` rule);
 * with Miniflare directly, list `engine_bg.wasm` as a `CompiledWasm` module.
 */
import wasmModule from "../../wasm/engine_bg.wasm";
import { EngineBase, wasmInitializer } from "./core.js";
import type { EngineSettings } from "./types.js";

export type * from "./types.js";
export type * from "./answers.js";

const ready = wasmInitializer(() => wasmModule);

/** The RFC 8693 exchange engine; see {@link EngineBase} for its methods. */
export class Engine extends EngineBase {
  /** Throws an `Error` naming the setting when `settings` is invalid. */
  constructor(settings: EngineSettings) {
    super(settings, ready);
  }
}

/** `new Engine(settings)`. */
export function createEngine(settings: EngineSettings): Engine {
  return new Engine(settings);
}
