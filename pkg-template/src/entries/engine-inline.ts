/**
 * `better-auth-token-exchange/engine` for bundlers, Deno and other runtimes (the wasm is inline):
 * the exchange engine without better-auth. Same exports and typings on every runtime.
 */
export { Engine, createEngine } from "../engine/inline.js";
export type * from "../engine/inline.js";
