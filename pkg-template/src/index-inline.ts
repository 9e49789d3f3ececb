/**
 * Package entry for bundlers and other runtimes: the engine carries its wasm inline
 * (see engine-inline.ts). Same exports and typings as index.ts.
 */
import { createEngine } from "./engine-inline.js";
import { makeTokenExchange } from "./plugin-core.js";
import type { TokenExchangeOptions, TokenExchangePlugin } from "./plugin-types.js";

export { Engine, createEngine } from "./engine-inline.js";
export type * from "./engine-inline.js";
export type * from "./plugin.js";
export { TOKEN_EXCHANGE_GRANT as TOKEN_EXCHANGE_GRANT_TYPE } from "./plugin-core.js";

/** See `tokenExchange` in plugin.ts. */
export const tokenExchange: (options?: TokenExchangeOptions) => TokenExchangePlugin = makeTokenExchange(createEngine);
