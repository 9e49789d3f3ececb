/**
 * Package entry for bundlers, Deno and other runtimes: the engine carries its wasm inline (engine/inline.ts).
 * Same exports and typings as index.ts.
 */
import { createEngine } from "../engine/inline.js";
import { makeTokenExchange } from "../plugin/index.js";
import type { TokenExchangeOptions, TokenExchangePlugin } from "../plugin/types.js";

export { Engine, createEngine } from "../engine/inline.js";
export type * from "../engine/inline.js";
export * from "./plugin-api.js";

/** See `tokenExchange` in index.ts. */
export const tokenExchange: (options?: TokenExchangeOptions) => TokenExchangePlugin = makeTokenExchange(createEngine);
