/**
 * The typed engine for Node.js (and any runtime with `node:fs` and
 * `import.meta.url` pointing at the file system): reads `engine_bg.wasm`
 * from the package on first use and compiles it synchronously. Signatures
 * are checked with `node:crypto` unless `signatureVerifier` says otherwise.
 */
import * as nodeCrypto from "node:crypto";
import { readFileSync } from "node:fs";
import { EngineBase, wasmInitializer } from "./core.js";
import type { EngineSettings } from "./types.js";

export type * from "./types.js";
export type * from "./answers.js";

const ready = wasmInitializer(() => readFileSync(new URL("../../wasm/engine_bg.wasm", import.meta.url)));

/** The RFC 8693 exchange engine; see {@link EngineBase} for its methods. */
export class Engine extends EngineBase {
  /** Throws an `Error` naming the setting when `settings` is invalid. */
  constructor(settings: EngineSettings) {
    super(settings, ready, nodeCrypto);
  }
}

/** `new Engine(settings)`. */
export function createEngine(settings: EngineSettings): Engine {
  return new Engine(settings);
}
