/**
 * Public types of the audit trail and its query API: the record, the
 * query and its answers, the endpoints as better-auth infers them, and the
 * error codes. Imports only better-auth's endpoint types (`better-auth/api`).
 */

import type { AuthEndpoint, AuthMiddleware } from "better-auth/api";
import type { PartyRecord } from "../../engine/answers.js";
import type { ActClaim } from "../../engine/types.js";
import type { ReasonCode } from "../../shared/reasons.js";

/**
 * One audit record per exchange attempt, granted or refused (TX-60). It never
 * holds a token value. The default sink stores it in the plugin's
 * `tokenExchange` table.
 */
export interface ExchangeRecord {
  /** Unique id; also the issued token's `referenceId` (`tx_<id>`) with the default sink. */
  id: string;
  /** When the record was made (millisecond precision). */
  createdAt: Date;
  /** The exchanging client, authenticated or (when authentication failed) claimed. */
  clientId: string | null;
  subjectIss: string | null;
  subject: string | null;
  actorIss: string | null;
  actor: string | null;
  /** The client the actor token was issued to, or the exchanging client without one. */
  actorClientId: string | null;
  /** The subject token's existing `act` chain, outermost first (TX-44). */
  priorActors: PartyRecord[];
  audiences: string[];
  resources: string[];
  subjectTokenType: string | null;
  actorTokenType: string | null;
  /** The token type asked for (access token, JWT, ID-JAG); null in records before 0.2.0. */
  requestedTokenType: string | null;
  /**
   * The grant: `urn:ietf:params:oauth:grant-type:jwt-bearer` for an ID-JAG
   * redeemed here; null for a token exchange.
   */
  grantType: string | null;
  requestedScope: string | null;
  grantedScope: string | null;
  decision: "granted" | "refused";
  /** The OAuth error of a refusal. */
  error: string | null;
  /** The stable reason code of a refusal (the engine's, or the plugin's own). */
  reason: string | null;
  /** An actor token took part. */
  delegation: boolean;
  /** The `act` claim of the issued token (TX-41). */
  act: ActClaim | null;
  /** The latest expiry the issued token may carry (TX-51). */
  expiresAt: Date | null;
  /**
   * The delegation's session: the `sid` of the tokens this exchange issued,
   * shared by every exchange of its delegation (see `delegationKey`).
   * Ending it ends them (revocation that follows the chain).
   */
  sessionId: string | null;
  /** The subject token's session, when it had one. */
  parentSessionId: string | null;
  /**
   * The subject token's identity, a digest (never the token): base64url
   * SHA-256 of a JWT's signing input (its header and payload, so that every
   * spelling of its signature is the same token, TX-29) or of an opaque
   * token. Records before 0.2.0 hold the digest of the whole JWT.
   */
  parentTokenHash: string | null;
  /** The refresh token (grant) the subject token belongs to, when known. */
  parentGrantId: string | null;
  /** When the exchange's tokens were revoked by a revocation of an ancestor. */
  revokedAt: Date | null;
  /**
   * The delegation the exchange was granted in: base64url SHA-256 of its
   * subject token, actor token, client and targets. Exchanges of one
   * delegation share one session (`sessionId`). `null` for refusals and for
   * records written before 0.2.0.
   */
  delegationKey: string | null;
}

/**
 * Options of the audit query API (`GET /token-exchange/list-records` and
 * `GET /token-exchange/get-record`). Callers need a session (401 without
 * one) of a user who is an admin by better-auth's admin-plugin rules
 * (403 otherwise): one of the user's roles (the `role` field, comma-separated)
 * is in {@link adminRoles}, or the user's id is in {@link adminUserIds}.
 */
export interface AuditApiOptions {
  /**
   * Serve the endpoints. Default `true`; with `false` they are not
   * registered (404). With a custom `audit` sink there is no table to
   * query: the endpoints answer 501 `AUDIT_RECORDS_NOT_QUERYABLE`.
   */
  enabled?: boolean;
  /**
   * Roles that may read the records, as a list or comma-separated.
   * Default: the admin plugin's `adminRoles` when that plugin is installed,
   * else `["admin"]`.
   */
  adminRoles?: string | string[];
  /**
   * Users who may read the records whatever their role.
   * Default: the admin plugin's `adminUserIds` when that plugin is installed,
   * else none.
   */
  adminUserIds?: string[];
}

/**
 * The query of `GET /token-exchange/list-records`. Every filter is optional
 * and they combine with AND. Values arrive as strings over HTTP; an unknown,
 * empty, repeated or malformed parameter answers 400.
 */
export interface ExchangeRecordQuery {
  /** Records whose subject (`sub` of the subject token) is exactly this. */
  subject?: string;
  /** Records whose actor (`sub` of the actor token) is exactly this. */
  actor?: string;
  /** Records of this exchanging client. */
  clientId?: string;
  /** Only granted or only refused attempts. */
  decision?: "granted" | "refused";
  /**
   * Records created at or after this instant: an ISO-8601 date
   * (`2026-05-01`, UTC midnight) or date-time with a zone
   * (`2026-05-01T12:00:00Z`, `...+02:00`), or epoch seconds.
   */
  from?: string | number;
  /** Records created at or before this instant; same forms as `from`. */
  to?: string | number;
  /** Page size, 1 to 200. Default 50. */
  limit?: string | number;
  /**
   * The `nextCursor` of the previous page. Pages run newest first, keyed on
   * (createdAt, id): walking them visits every record once, even while new
   * records arrive (those newer than the first page are not visited).
   */
  cursor?: string;
}

/** A `Date` of a record as it travels in JSON. */
type Jsonified<T> = T extends Date ? string : T;

/**
 * An {@link ExchangeRecord} as it travels over HTTP: dates as ISO-8601
 * strings. better-auth's client turns them back into `Date`s (its JSON
 * parser revives ISO date-times), so its answers are typed with
 * {@link ExchangeRecord}; read raw HTTP answers as
 * `ExchangeRecordPage<ExchangeRecordJson>`. No token value is ever in it.
 */
export type ExchangeRecordJson = { [K in keyof ExchangeRecord]: Jsonified<ExchangeRecord[K]> };

/** The answer of `GET /token-exchange/list-records`. */
export interface ExchangeRecordPage<R = ExchangeRecord> {
  /** Newest first. */
  records: R[];
  /** Pass as `cursor` for the next page; `null` on the last page. */
  nextCursor: string | null;
}

/** The answer of `GET /token-exchange/get-record?id=...`. */
export interface ExchangeRecordAnswer<R = ExchangeRecord> {
  record: R;
}

/** A Standard Schema (v1) whose input and output are `T`: how the endpoints' queries are typed. */
export interface QuerySchema<T> {
  readonly "~standard": {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => { value: T };
    readonly types?: { readonly input: T; readonly output: T } | undefined;
  };
}

/** The options both audit endpoints are declared with. */
export interface AuditEndpointOptions<Q> {
  method: "GET";
  query: QuerySchema<Q>;
  use: AuthMiddleware[];
  metadata: { noStore: boolean; openapi: { operationId: string; summary: string; description: string } };
}

/**
 * The audit endpoints, as `auth.api` and better-auth's client infer them. A
 * type alias (better-auth's plugin type needs the implicit index signature
 * an interface lacks).
 */
export type TokenExchangeEndpoints = {
  /** `GET /token-exchange/list-records` */
  listTokenExchangeRecords: AuthEndpoint<
    "/token-exchange/list-records",
    AuditEndpointOptions<ExchangeRecordQuery | undefined>,
    ExchangeRecordPage
  >;
  /** `GET /token-exchange/get-record` */
  getTokenExchangeRecord: AuthEndpoint<
    "/token-exchange/get-record",
    AuditEndpointOptions<{ id: string }>,
    ExchangeRecordAnswer
  >;
};

/** The audit API's own error codes (its answers' `code`). */
export type AuditErrorCode = "UNAUTHORIZED" | "NOT_AUDIT_ADMIN" | "AUDIT_RECORDS_NOT_QUERYABLE" | "INVALID_QUERY" | "RECORD_NOT_FOUND";

/**
 * Every error code of the plugin: the audit API's, and each refusal reason
 * of the grant in capitals (`TOKEN_EXPIRED` for the reason `token_expired`,
 * whose OAuth error the token endpoint answers).
 */
export type TokenExchangeErrorCode = AuditErrorCode | Uppercase<ReasonCode>;

/** `auth.$ERROR_CODES` entries of the plugin (better-auth's `RawError` shape). */
export type TokenExchangeErrorCodes = { readonly [K in TokenExchangeErrorCode]: { readonly code: K; message: string } };
