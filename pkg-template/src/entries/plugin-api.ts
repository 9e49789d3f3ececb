/**
 * What every runtime's package entry exports besides the engine and the
 * `tokenExchange` factory bound to it: the grant type and the plugin's
 * public types. One list, so the entries cannot drift apart.
 */

export { TOKEN_EXCHANGE_GRANT_TYPE } from "../shared/urns.js";
export type { ClientPolicy } from "../engine/types.js";
export type {
  AuditApiOptions,
  ClientPolicyResult,
  ExchangeRecord,
  ExchangeRecordAnswer,
  ExchangeRecordJson,
  ExchangeRecordPage,
  ExchangeRecordQuery,
  TokenExchangeClient,
  TokenExchangeContext,
  TokenExchangeEndpoints,
  TokenExchangeErrorCode,
  TokenExchangeErrorCodes,
  TokenExchangeField,
  TokenExchangeOptions,
  TokenExchangePlugin,
  TrustedIssuerOptions,
} from "../plugin/types.js";
