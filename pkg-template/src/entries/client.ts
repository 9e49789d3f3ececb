/**
 * Package entry `better-auth-token-exchange/client`: the better-auth client
 * plugin for the audit query API. It imports nothing at run time (no engine,
 * no server code); the server's endpoint types come in as types only.
 *
 * ```ts
 * import { createAuthClient } from "better-auth/client";
 * import { tokenExchangeClient } from "better-auth-token-exchange/client";
 *
 * const authClient = createAuthClient({ plugins: [tokenExchangeClient()] });
 * const { data, error } = await authClient.tokenExchange.listRecords({
 *   query: { decision: "refused", from: "2026-05-01", limit: 100 },
 * });
 * // data: { records: ExchangeRecordJson[]; nextCursor: string | null }
 * ```
 */

import type { BetterAuthClientPlugin } from "better-auth/client";
import type { TokenExchangeEndpoints, TokenExchangeErrorCodes } from "../plugin/types.js";

export type {
  AuditApiOptions,
  ExchangeRecord,
  ExchangeRecordAnswer,
  ExchangeRecordJson,
  ExchangeRecordPage,
  ExchangeRecordQuery,
} from "../plugin/types.js";
export type { ActClaim } from "../engine/types.js";
export type { PartyRecord } from "../engine/answers.js";

/** What better-auth's client infers the methods from: the server plugin's id and endpoints. */
export type TokenExchangeServerPlugin = {
  id: "token-exchange";
  endpoints: TokenExchangeEndpoints;
  $ERROR_CODES: TokenExchangeErrorCodes;
};

/**
 * The client plugin: `authClient.tokenExchange.listRecords({ query })`
 * (`GET /token-exchange/list-records`) and
 * `authClient.tokenExchange.getRecord({ query: { id } })`
 * (`GET /token-exchange/get-record`). Both need the session of an admin
 * (see `AuditApiOptions` on the server).
 */
export const tokenExchangeClient = () => ({
  id: "token-exchange-client" as const,
  $InferServerPlugin: {} as TokenExchangeServerPlugin,
  pathMethods: {
    "/token-exchange/list-records": "GET" as const,
    "/token-exchange/get-record": "GET" as const,
  },
}) satisfies BetterAuthClientPlugin;
