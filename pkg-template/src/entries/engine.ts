/**
 * `better-auth-token-exchange/engine` for Node.js and Bun (the wasm is read from the package):
 * the exchange engine without better-auth. Same exports and typings on every runtime.
 */
export { Engine, createEngine } from "../engine/node.js";
export type * from "../engine/node.js";
