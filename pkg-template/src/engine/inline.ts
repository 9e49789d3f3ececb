/**
 * The typed engine with the wasm carried inside the JavaScript (base64), for
 * bundlers and any runtime without a more direct way: a bundle made by
 * esbuild, webpack, Rollup or Vite then holds the engine whole, with no file
 * to copy next to it, no loader to configure and no fetch at run time. The
 * bytes are decoded and compiled on first use.
 */
import { wasmBase64 } from "../../wasm/engine_inline.js";
import { EngineBase, wasmInitializer } from "./core.js";
import type { EngineSettings } from "./types.js";

export type * from "./types.js";
export type * from "./answers.js";

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const ready = wasmInitializer(() => decodeBase64(wasmBase64));

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
