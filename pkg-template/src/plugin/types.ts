/**
 * Every public type of the better-auth plugin: its options and the plugin
 * object here, the audit record and the audit API's in audit/types.ts
 * (re-exported). The plugin is declared so that better-auth infers its
 * endpoints (`auth.api.listTokenExchangeRecords`), its error codes
 * (`auth.$ERROR_CODES`) and its record type (`auth.$Infer.ExchangeRecord`);
 * the only types imported are better-auth's `AuthEndpoint` and
 * `AuthMiddleware` (from `better-auth/api`, a peer), in audit/types.ts.
 * Everything else is declared structurally.
 *
 * Behaviour numbers (TX-n) refer to the project's token-exchange behaviour list.
 */

import type { ClientPolicy, Jwks, TokenTypeName } from "../engine/types.js";
import type { AuditApiOptions, ExchangeRecord, TokenExchangeEndpoints, TokenExchangeErrorCodes } from "./audit/types.js";

export type * from "./audit/types.js";

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
  /** The opt-in of the jwt-bearer grant (presenting ID-JAGs); default false. */
  allowedIdJag?: boolean;
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
  /**
   * Token types accepted from this issuer. Default `["jwt", "id_token",
   * "access_token"]`; add `"id_jag"` for an enterprise IdP whose ID-JAGs
   * clients redeem here (the jwt-bearer grant).
   */
  tokenTypes?: TokenTypeName[];
  /**
   * An ID-JAG of this issuer whose subject is linked to no user here creates
   * the user (from the assertion's `email`, which must not belong to a user
   * already) and links it. Default false: such an ID-JAG is refused
   * (`invalid_grant`, `subject_not_linked`).
   */
  jitProvisioning?: boolean;
  /**
   * The `providerId` of better-auth `account` rows that link this issuer's
   * subjects (`accountId` = the token's `sub`) to local users. Default: the
   * issuer identifier. A subject without such a row is refused.
   */
  providerId?: string;
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
  /** Lifetime of an ID-JAG this server issues, seconds (never past the subject token's). Default 300, at most 3600. */
  idJagLifetimeSeconds?: number;
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
    /** The ID-JAGs redeemed here, until they expire (no `jti` twice). */
    readonly tokenExchangeAssertion: {
      readonly modelName: "tokenExchangeAssertion";
      readonly fields: { readonly [field: string]: TokenExchangeField };
    };
  };
  /** Registers the grant with `@better-auth/oauth-provider` (called by better-auth). */
  init(ctx: unknown): void;
  /** The options this instance was created with. */
  readonly options: TokenExchangeOptions;
  /**
   * The audit query API (`auth.api.listTokenExchangeRecords`,
   * `auth.api.getTokenExchangeRecord`); absent at run time when
   * `auditApi.enabled` is false.
   */
  readonly endpoints: TokenExchangeEndpoints;
  /** The error codes of the audit API and of the grant's refusals (`auth.$ERROR_CODES`). */
  readonly $ERROR_CODES: TokenExchangeErrorCodes;
  /** Types for `auth.$Infer`. */
  readonly $Infer: { ExchangeRecord: ExchangeRecord };
}
