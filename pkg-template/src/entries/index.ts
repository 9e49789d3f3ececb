/**
 * Package entry for Node.js and Bun: the better-auth plugin, its types, and
 * the engine (also reachable alone as `better-auth-token-exchange/engine`),
 * which reads its wasm from the package. `index-workerd.ts` and
 * `index-inline.ts` bind the same plugin to the other runtimes' engines.
 *
 * ```ts
 * import { betterAuth } from "better-auth";
 * import { jwt } from "better-auth/plugins";
 * import { oauthProvider } from "@better-auth/oauth-provider";
 * import { tokenExchange } from "better-auth-token-exchange";
 *
 * export const auth = betterAuth({
 *   plugins: [jwt(), oauthProvider({ loginPage: "/login", consentPage: "/consent" }), tokenExchange()],
 * });
 * ```
 *
 * A client opts in through admin-set metadata
 * `{ allowedTokenExchange: true, tokenExchange?: ClientPolicy }` and the grant
 * type `urn:ietf:params:oauth:grant-type:token-exchange` in its `grant_types`.
 */

import { createEngine } from "../engine/node.js";
import { makeTokenExchange } from "../plugin/index.js";
import type { TokenExchangeOptions, TokenExchangePlugin } from "../plugin/types.js";

export { Engine, createEngine } from "../engine/node.js";
export type * from "../engine/node.js";
export * from "./plugin-api.js";

/**
 * RFC 8693 token exchange for `@better-auth/oauth-provider`: registers the
 * grant at the provider's token endpoint, decides each exchange with the
 * engine, records every attempt in the `tokenExchange` table (or
 * `options.audit`) and issues through the provider.
 */
export const tokenExchange: (options?: TokenExchangeOptions) => TokenExchangePlugin = makeTokenExchange(createEngine);
