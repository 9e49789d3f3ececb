/**
 * Every public type of the better-auth plugin: its options, the audit
 * record, and the audit query API's query and answers. They are declared
 * structurally and import nothing from better-auth, so that these typings
 * compile in a strict project without the DOM library or `@types/node`
 * (better-auth's own declarations need one of them). The plugin object
 * still satisfies better-auth's `BetterAuthPlugin`.
 *
 * Behaviour numbers (TX-n) refer to the project's token-exchange behaviour list.
 */

import type { ActClaim, ClientPolicy, Jwks, TokenTypeName } from "../engine/types.js";
import type { PartyRecord } from "../engine/answers.js";

/**
 * The better-auth endpoint context of the token request (better-auth's
 * `GenericEndpointContext`). Typed loosely here; cast it to better-auth's
 * type when a callback needs more than `context.adapter` or `context.baseURL`.
 */
export interface TokenExchangeContext {
  readonly context: {
    readonly baseURL: string;
    readonly adapter: unknown;
    readonly [key: string]: unknown;
  };
  readonly [key: string]: unknown;
}

/**
 * The exchanging client as the oauth-provider stores it (its `oauthClient`
 * row, better-auth's `SchemaClient`), after it authenticated.
 */
export interface TokenExchangeClient {
  readonly clientId: string;
  readonly disabled?: boolean | null;
  readonly scopes?: readonly string[] | null;
  readonly grantTypes?: readonly string[] | null;
  readonly tokenEndpointAuthMethod?: string | null;
  /** Admin-set metadata; an object, or JSON text on some adapters. */
  readonly metadata?: unknown;
  readonly [key: string]: unknown;
}

/** What {@link TokenExchangeOptions.getClientPolicy} answers for a client. */
export interface ClientPolicyResult {
  /** The opt-in (TX-11): without `true` the client gets `unauthorized_client`. */
  allowedTokenExchange: boolean;
  /** The client's exchange policy (TX-43, TX-45); omitted means the defaults. */
  policy?: ClientPolicy;
}

/** An external issuer whose tokens clients may exchange (token translation, TX-24). */
export interface TrustedIssuerOptions {
  /** The issuer identifier, exactly as in the tokens' `iss`. */
  issuer: string;
  /**
   * The `aud` values that mean "for this server" in the issuer's tokens; a
   * token naming none of them is refused (TX-20). At least one.
   */
  audiences: string[];
  /** The issuer's public keys, inline. Takes precedence over `jwksUri`. */
  jwks?: Jwks;
  /**
   * Where to fetch the issuer's JWKS. Fetched on first use, cached for
   * `jwksCacheTtlSeconds`, and fetched again (at most once per
   * `jwksRefetchIntervalSeconds`) when a token names an unknown `kid`.
   * Header parameters such as `jku` or `x5u` in a token are never followed
   * (TX-22).
   */
  jwksUri?: string;
  /** Token types accepted from this issuer. Default `["jwt", "id_token", "access_token"]`. */
  tokenTypes?: TokenTypeName[];
  /**
   * The `providerId` of better-auth `account` rows that link this issuer's
   * subjects (`accountId` = the token's `sub`) to local users. Default: the
   * issuer identifier. A subject without such a row is refused.
   */
  providerId?: string;
}

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

/** Options of {@link tokenExchange}; every one is optional. */
export interface TokenExchangeOptions {
  /** External issuers whose tokens may be exchanged (TX-24). Default none. */
  trustedIssuers?: TrustedIssuerOptions[];
  /** Clock leeway for `exp`, `nbf` and `iat`, seconds (TX-20). Default 30, at most 300. */
  leewaySeconds?: number;
  /** Largest token accepted, bytes (TX-25). Default 16384. */
  maxTokenBytes?: number;
  /** Deepest JSON nesting accepted in a token (TX-25). Default 16. */
  maxJsonDepth?: number;
  /** Deepest `act` chain accepted or produced (TX-25). Default 5. */
  maxActDepth?: number;
  /**
   * Refuse an exchange that names no `audience` or `resource` when the
   * client has no `defaultTargets` (`invalid_target`). Default false: such
   * an exchange gets an opaque access token with no audience, as the
   * provider gives an authorization code redeemed without `resource`
   * (TX-9, TX-53). A client's policy `requireTarget` overrides it.
   */
  requireTarget?: boolean;
  /**
   * How long a loaded key set (this server's from the jwt plugin's table, or a
   * trusted issuer's) is used before it is loaded again, seconds. Default 300.
   * A key added elsewhere (another instance rotating keys) is picked up at
   * once: a token naming an unknown `kid` reloads the set. A key removed
   * elsewhere is still accepted by this instance for up to this long.
   */
  jwksCacheTtlSeconds?: number;
  /**
   * Longest time a key set is used after its last successful load when
   * reloading fails (the issuer's JWKS endpoint or the database is down),
   * seconds; then it is dropped and its tokens are refused until a reload
   * succeeds. Default 3600; never less than `jwksCacheTtlSeconds`.
   */
  jwksMaxStaleSeconds?: number;
  /**
   * Least time between two fetches of one trusted issuer's JWKS (or of this
   * server's own, with the jwt plugin's `jwks.remoteUrl`), seconds: bounds
   * the refetches that tokens with unknown `kid`s can cause. Default 30.
   */
  jwksRefetchIntervalSeconds?: number;
  /** Timeout of one JWKS fetch, milliseconds. Default 3000. */
  jwksFetchTimeoutMs?: number;
  /**
   * Replaces reading the client's admin-set metadata
   * (`{ allowedTokenExchange: true, tokenExchange: ClientPolicy }`).
   * Return `null` to refuse the client (`unauthorized_client`).
   */
  getClientPolicy?: (
    client: TokenExchangeClient,
    ctx: TokenExchangeContext,
  ) => Promise<ClientPolicyResult | null> | ClientPolicyResult | null;
  /**
   * Replaces key loading for any issuer: this server's (normally the jwt
   * plugin's key set) and trusted ones (normally `jwks` / `jwksUri`).
   * Return `null` when no keys are available; the exchange is then refused.
   * Answers are cached like fetched key sets.
   */
  resolveKeys?: (issuer: string, ctx: TokenExchangeContext) => Promise<Jwks | null> | Jwks | null;
  /**
   * Replaces the write to the `tokenExchange` table. Called once per attempt
   * before any token is issued; if it throws, nothing is issued and the
   * client gets `500 server_error` (TX-61). If issuance fails after a granted
   * record, it is called again with the same `id`, `decision: "refused"` and
   * `reason: "issuance_failed"`. With a custom sink, the `act` claim of
   * opaque tokens is carried in their `referenceId` (`txa.<base64url JSON>`)
   * instead of being read back from the table.
   */
  audit?: (record: ExchangeRecord, ctx: TokenExchangeContext) => Promise<void> | void;
  /**
   * The admin-only audit query API (`GET /token-exchange/list-records`,
   * `GET /token-exchange/get-record`), on by default; the client plugin
   * `tokenExchangeClient()` from `better-auth-token-exchange/client` calls it.
   */
  auditApi?: AuditApiOptions;
}

/** One field of the plugin's table, as better-auth's schema declares it. */
export interface TokenExchangeField {
  readonly type: "string" | "number" | "boolean" | "date" | "json" | "string[]";
  readonly required: boolean;
  readonly index?: boolean;
  /** Value conversion on the way into and out of the database adapter. */
  readonly transform?: {
    readonly input?: (value: StoredValue) => StoredValue;
    readonly output?: (value: StoredValue) => StoredValue;
  };
}

/** A value as better-auth's database adapters take and give it. */
export type StoredValue =
  | string
  | number
  | boolean
  | Date
  | null
  | undefined
  | string[]
  | number[]
  | Record<string, unknown>
  | unknown[];

/**
 * The plugin object handed to `betterAuth({ plugins: [...] })`. It satisfies
 * better-auth's `BetterAuthPlugin`.
 */
export interface TokenExchangePlugin {
  readonly id: "token-exchange";
  /** The plugin's tables (created by better-auth's migrations / CLI). */
  readonly schema: {
    readonly tokenExchange: {
      readonly modelName: "tokenExchange";
      readonly fields: { readonly [field: string]: TokenExchangeField };
    };
    /** One row per delegation: its session and lineage (revocation that follows the chain). */
    readonly tokenExchangeDelegation: {
      readonly modelName: "tokenExchangeDelegation";
      readonly fields: { readonly [field: string]: TokenExchangeField };
    };
  };
  /** Registers the grant with `@better-auth/oauth-provider` (called by better-auth). */
  init(ctx: unknown): void;
  /** The options this instance was created with. */
  readonly options: TokenExchangeOptions;
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
