/**
 * The data that goes into the wasm engine: settings, the client and its
 * policy, lookups, and each call (the answers are in answers.ts). The Rust
 * side (`src/config.rs`) mirrors these shapes with serde (`camelCase`,
 * unknown fields refused); the tests check both agree.
 *
 * Behaviour numbers (TX-n) refer to the project's token-exchange behaviour list.
 */

/** RFC 8693 §3 token type identifiers the engine understands (TX-4). */
export type TokenTypeUri =
  | "urn:ietf:params:oauth:token-type:access_token"
  | "urn:ietf:params:oauth:token-type:refresh_token"
  | "urn:ietf:params:oauth:token-type:id_token"
  | "urn:ietf:params:oauth:token-type:jwt"
  | "urn:ietf:params:oauth:token-type:id-jag";

/** Short names used in policy lists. */
export type TokenTypeName = "access_token" | "refresh_token" | "id_token" | "jwt" | "id_jag";

/** OAuth error codes (RFC 6749 §5.2, RFC 8707 §2). */
export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "invalid_scope"
  | "invalid_target"
  | "server_error";

/** The token-endpoint form as name/value pairs, in order, repeats kept. */
export type FormPairs = Array<[string, string]>;

/** Engine-wide settings, fixed for the life of an `Engine`. */
export interface EngineSettings {
  /** This server's issuer identifier (the `iss` of its own tokens). */
  issuer: string;
  /** Clock leeway for `exp`/`nbf`/`iat`, seconds. Default 30, at most 300. */
  leewaySeconds?: number;
  /** Largest token accepted, bytes (TX-25). Default 16384. */
  maxTokenBytes?: number;
  /** Deepest JSON nesting accepted in a token header or payload (TX-25). Default 16. */
  maxJsonDepth?: number;
  /** Deepest `act` chain accepted or produced (TX-25). Default 5. */
  maxActDepth?: number;
  /** Longest lifetime of an issued token, seconds; caps `expiresAt`. Default 3600. */
  maxLifetimeSeconds?: number;
  /** Lifetime of an issued ID-JAG, seconds (never past the subject token's). Default 300, at most 3600. */
  idJagLifetimeSeconds?: number;
  /** Trusted external issuers (token translation, TX-24). */
  trustedIssuers?: TrustedIssuer[];
  /**
   * Refuse a request that names no `audience` or `resource` and whose client
   * has no `defaultTargets` (`invalid_target`, `no_target`). Default false:
   * such a request is granted a token with no audience (TX-9). A client's
   * policy `requireTarget` overrides it.
   */
  requireTarget?: boolean;
  /**
   * Who does the signature arithmetic; every other check stays in the engine.
   * `"host"`: the runtime's native `node:crypto` (Node.js, Bun, Deno, workerd
   * with `nodejs_compat`), throwing if there is none; `"builtin"`: the
   * engine's own Rust code; `"auto"` (default): the host where it exists.
   */
  signatureVerifier?: "auto" | "host" | "builtin";
}

/** An external issuer whose tokens may be exchanged. Its keys are set with `setIssuerKeys`. */
export interface TrustedIssuer {
  issuer: string;
  /**
   * The `aud` value(s) that mean "for this server" in the issuer's tokens;
   * required: a token without one of them is refused (TX-20).
   */
  audiences: string[];
  /** Token types accepted from this issuer. Default `["jwt", "id_token", "access_token"]`. */
  tokenTypes?: TokenTypeName[];
  /**
   * An ID-JAG of this issuer whose subject is linked to no local user creates
   * one (from its `email`) instead of being refused. Default false.
   */
  jitProvisioning?: boolean;
}

/** Per-target overrides (TX-45); a request for several targets gets the strictest. */
export interface TargetPolicy {
  scopes?: string[];
  impersonation?: boolean;
  delegation?: boolean;
  maxDelegationDepth?: number;
}

/** The client's token-exchange policy, from its admin-set metadata `tokenExchange`. */
export interface ClientPolicy {
  /** Audience names this client may target; default: any linked resource. */
  audiences?: string[];
  /** Resource URIs this client may target; default: any linked resource. */
  resources?: string[];
  /**
   * Targets used when the request names none. Without them (and without
   * `requireTarget`) such a request gets a token with no audience (TX-9).
   */
  defaultTargets?: string[];
  /**
   * Refuse a request that names no target when there are no
   * `defaultTargets` (`invalid_target`, `no_target`). Default: the plugin's
   * `requireTarget` option (false).
   */
  requireTarget?: boolean;
  /** Scope ceiling on top of the client's registered scopes (TX-30, TX-45). */
  scopes?: string[];
  /** Subject token only (TX-40, TX-43). Default true. */
  impersonation?: boolean;
  /** Subject + actor token (TX-41, TX-43). Default true. */
  delegation?: boolean;
  /** Subject token types accepted. Default `["access_token", "id_token", "jwt"]`. */
  subjectTokenTypes?: TokenTypeName[];
  /** Actor token types accepted. Default `["access_token", "id_token", "jwt"]`. */
  actorTokenTypes?: TokenTypeName[];
  /** External issuers this client may translate from (TX-24). Default none. */
  trustedIssuers?: string[];
  /** Deepest `act` chain this client may produce. Default: the engine's `maxActDepth`. */
  maxDelegationDepth?: number;
  /** Refresh tokens on exchange (TX-50, TX-55). Default false. */
  refreshTokens?: boolean;
  /**
   * Holder binding (TX-26): which presenters besides the token's own client
   * (and clients named in its `aud`) may exchange a subject token.
   * `{ clients: [...] }` names them; `"any"` drops the check. Default: none.
   */
  holderBinding?: { clients: string[] } | "any";
  /** TX-31: allow scopes the client holds even if the subject token lacks them. Default false. */
  relaxDownscoping?: boolean;
  /** Overrides per target (audience name or resource URI). */
  targets?: Record<string, TargetPolicy>;
  /** Token types the client may request (`requested_token_type`). Default `["access_token"]`. */
  requestedTokenTypes?: TokenTypeName[];
  /**
   * The resource authorization servers (by issuer) the client may get
   * ID-JAGs for (`requested_token_type` id-jag, `audience` = the issuer):
   * its client id there, a scope ceiling and the `resource` values allowed.
   */
  idJag?: Record<string, IdJagTarget>;
}

/** One resource authorization server a client may get ID-JAGs for. */
export interface IdJagTarget {
  /** The client's `client_id` at that server (the ID-JAG's `client_id` claim). */
  clientId: string;
  /** Scope ceiling at that server; it is also what is granted when no `scope` is requested. */
  scopes?: string[];
  /** `resource` values allowed; without it, any absolute URI. */
  resources?: string[];
}

/** The exchanging client, as the plugin found it. */
export type ClientInput =
  | {
      status: "authenticated";
      clientId: string;
      /** `tokenEndpointAuthMethod`, e.g. `client_secret_basic`; `none` means public (TX-10). */
      authMethod: string;
      disabled: boolean;
      grantTypes: string[];
      /** The client's registered scopes. */
      scopes: string[];
      /** Resource identifiers registered on the server and linked to this client. */
      linkedResources: string[];
      /** Metadata `allowedTokenExchange === true` (TX-11). */
      allowedTokenExchange: boolean;
      /** Metadata `allowedIdJag === true`: the client may present ID-JAGs (jwt-bearer grant). */
      allowedIdJag?: boolean;
      policy?: ClientPolicy;
    }
  | {
      status: "unauthenticated";
      /** The client id the request claimed, if any (for the audit record). */
      clientId?: string;
      /** Whether HTTP Basic was used (then the 401 carries `WWW-Authenticate`). */
      basic: boolean;
      reason: "no_credentials" | "unknown_client" | "bad_credentials" | "public_client" | "grant_not_allowed";
    };

/** What a lookup of an opaque token found (TX-21). */
export interface OpaqueTokenFacts {
  active: boolean;
  /** The kind of token found by the lookup. */
  tokenType: TokenTypeName;
  sub?: string;
  clientId?: string;
  scope?: string;
  aud?: string[];
  exp?: number;
  iat?: number;
  /** `act` and `may_act` recorded for the token, if any. */
  act?: ActClaim;
  mayAct?: Record<string, unknown>;
  /** Session the token belongs to, when known (carried to the answer). */
  sessionId?: string;
}

/** A local user that an external subject maps to (TX-24). */
export interface SubjectUser {
  issuer: string;
  sub: string;
  userId: string;
}

export interface DecideCall {
  form: FormPairs;
  /** Seconds since the epoch. The engine never reads a clock. */
  now: number;
  client: ClientInput;
  /** Lookup result when the subject token is opaque. */
  subjectFacts?: OpaqueTokenFacts;
  /** Lookup result when the actor token is opaque. */
  actorFacts?: OpaqueTokenFacts;
  /** Local user for an external subject, looked up from `inspect`'s hint. */
  subjectUser?: SubjectUser;
}

/** RFC 8693 §4.1 actor claim; the newest actor is outermost. */
export interface ActClaim {
  sub: string;
  iss?: string;
  client_id?: string;
  act?: ActClaim;
  [member: string]: unknown;
}

/** Unverified facts about a presented token, to know which keys or lookup it needs. */
export type TokenHint =
  | { format: "jwt"; issuer?: string; keyId?: string; algorithm?: string; subject?: string }
  | { format: "opaque" }
  | { format: "unreadable" };

export interface Inspection {
  subject?: TokenHint;
  actor?: TokenHint;
  /** The `assertion` of a jwt-bearer request (RFC 7523 §2.1). */
  assertion?: TokenHint;
}

/** A jwt-bearer request (RFC 7523 §2.1) presenting an ID-JAG, for `decideAssertion`. */
export interface AssertionCall {
  form: FormPairs;
  /** Seconds since the epoch. */
  now: number;
  client: ClientInput;
  /** The local user the assertion's subject is linked to (TX-24), when there is one. */
  subjectUser?: SubjectUser;
}

/** A JSON Web Key Set (RFC 7517 §5), or a single JWK. */
export type Jwks = { keys: Array<Record<string, unknown>> } | Record<string, unknown>;

/**
 * One access-token verification for a resource server (`verifyAccessToken`).
 * The engine's `issuer` is the expected issuer; its keys are set with
 * `setIssuerKeys`.
 */
export interface VerifyCall {
  /** The compact JWS. Opaque tokens cannot be verified locally (`opaque_token`). */
  token: string;
  /** Seconds since the epoch. The engine never reads a clock. */
  now: number;
  /** Audiences meaning "this resource server": `aud` must hold one of them. */
  audiences: string[];
  /** Refuse tokens without `act` (impersonation tokens). Default false. */
  requireActor?: boolean;
  /**
   * When given, the outermost actor (TX-44) must match one entry: every
   * member of the entry equal to the actor's (`iss` defaults to the token's
   * issuer). Tokens without an actor are not affected: add `requireActor`.
   */
  allowedActors?: Array<Record<string, unknown>>;
  /** Most `act` levels accepted (0: impersonation tokens only). */
  maxChainDepth?: number;
}
