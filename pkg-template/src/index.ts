/**
 * Package entry: the better-auth plugin, its types, and the engine (also
 * reachable alone as `better-auth-token-exchange/engine`).
 */
export { Engine, createEngine } from "./engine.js";
export type * from "./engine.js";
export { tokenExchange, TOKEN_EXCHANGE_GRANT_TYPE } from "./plugin.js";
export type * from "./plugin.js";
