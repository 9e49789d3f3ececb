/**
 * `better-auth-token-exchange/engine` for Cloudflare Workers (the wasm is a module import):
 * the exchange engine without better-auth. Same exports and typings on every runtime.
 */
export { Engine, createEngine } from "../engine/workerd.js";
export type * from "../engine/workerd.js";
