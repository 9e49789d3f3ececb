/**
 * Package entry for Cloudflare Workers (workerd): the engine comes from a `.wasm` module import (engine/workerd.ts).
 * Same exports and typings as index.ts.
 */
import { createEngine } from "../engine/workerd.js";
import { makeTokenExchange } from "../plugin/index.js";
import type { TokenExchangeOptions, TokenExchangePlugin } from "../plugin/types.js";

export { Engine, createEngine } from "../engine/workerd.js";
export type * from "../engine/workerd.js";
export * from "./plugin-api.js";

/** See `tokenExchange` in index.ts. */
export const tokenExchange: (options?: TokenExchangeOptions) => TokenExchangePlugin = makeTokenExchange(createEngine);
