/**
 * The better-auth plugin bound to the Node.js engine entry (Node.js and
 * Bun); `index-workerd.ts` and `index-inline.ts` bind the same plugin to the
 * other entries.
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

import { createEngine } from "./engine.js";
import { makeTokenExchange } from "./plugin-core.js";
import type { TokenExchangeOptions, TokenExchangePlugin } from "./plugin-types.js";

export type {
  ClientPolicyResult,
  ExchangeRecord,
  TokenExchangeClient,
  TokenExchangeContext,
  TokenExchangeField,
  TokenExchangeOptions,
  TokenExchangePlugin,
  TrustedIssuerOptions,
} from "./plugin-types.js";
export type { ClientPolicy } from "./engine-types.js";
export type {
  AuditApiOptions,
  ExchangeRecordAnswer,
  ExchangeRecordJson,
  ExchangeRecordPage,
  ExchangeRecordQuery,
} from "./plugin-admin-types.js";

/** RFC 8693 §2.1: the grant type a client must be registered for. */
export const TOKEN_EXCHANGE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange";

/**
 * RFC 8693 token exchange for `@better-auth/oauth-provider`: registers the
 * grant at the provider's token endpoint, decides each exchange with the
 * engine, records every attempt in the `tokenExchange` table (or
 * `options.audit`) and issues through the provider.
 */
export const tokenExchange: (options?: TokenExchangeOptions) => TokenExchangePlugin = makeTokenExchange(createEngine);
