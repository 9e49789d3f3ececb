/**
 * `better-auth-token-exchange/resource-server` for Node.js and Bun: the engine reads
 * its wasm from the package (engine/node.ts).
 * Same exports and typings on every runtime: see resource-server/verifier.ts.
 */
import { createEngine } from "../engine/node.js";
import { makeResourceServer, type ResourceServerHelpers } from "../resource-server/verifier.js";

export type * from "../resource-server/verifier.js";

const helpers = makeResourceServer(createEngine);
/** A verifier keeping its engine and key cache: see {@link ResourceServerHelpers.createExchangedTokenVerifier}. */
export const createExchangedTokenVerifier: ResourceServerHelpers["createExchangedTokenVerifier"] =
  helpers.createExchangedTokenVerifier;
/** Verifies one token: see {@link ResourceServerHelpers.verifyExchangedToken}. */
export const verifyExchangedToken: ResourceServerHelpers["verifyExchangedToken"] = helpers.verifyExchangedToken;
