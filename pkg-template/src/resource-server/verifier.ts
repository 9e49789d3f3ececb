/**
 * The resource-server helper, independent of how a runtime loads the
 * engine: `makeResourceServer(createEngine)` returns
 * `createExchangedTokenVerifier` and `verifyExchangedToken`.
 *
 * Verification runs in the engine (`verifyAccessToken`): the same JOSE
 * code, algorithm rules and `act` parsing as an exchange's subject tokens.
 * Only key loading happens here, through the cache the plugin uses
 * (shared/key-cache.ts): the configured JWKS or `jwksUri` only, never a URL the token
 * names (TX-22).
 * @internal
 */

import type { EngineBase } from "../engine/core.js";
import type { ReasonCode, Verification } from "../engine/answers.js";
import type { EngineSettings, Jwks } from "../engine/types.js";
import { globalFetch, type Fetch, type FetchLike } from "../shared/http.js";

export type { ActorRecord, ReasonCode } from "../engine/answers.js";
export type { Jwks } from "../engine/types.js";
export type { AbortSignalLike, BodyStreamLike, Fetch, FetchLike, ResponseLike } from "../shared/http.js";
import { fetchJwks, IssuerKeyCache, type KeySource } from "../shared/key-cache.js";

/** Who may act (see {@link ExchangedTokenVerifierOptions.allowedActors}). */
export interface AllowedActor {
  /** The actor's `sub`. */
  sub?: string;
  /** The actor's issuer; an `act` without `iss` is the token issuer's. */
  iss?: string;
  /** The client the actor acted through. */
  client_id?: string;
  [member: string]: unknown;
}

export interface ExchangedTokenVerifierOptions {
  /** The authorization server's issuer identifier: `iss` must equal it. */
  issuer: string;
  /** This resource server's audience(s): the token's `aud` must hold one of them. */
  audience: string | string[];
  /** The issuer's keys, inline (a JWKS or one JWK). Give this or `jwksUri`. */
  jwks?: Jwks;
  /**
   * Where the issuer publishes its keys (its discovery `jwks_uri`). Fetched
   * on first use with a timeout and a 1 MiB bound, cached for
   * `jwksCacheTtlSeconds`, and fetched again on an unknown `kid` at most
   * once per `jwksRefetchIntervalSeconds` (key rotation).
   */
  jwksUri?: string | { href: string };
  /** Refuse tokens without an `act` claim (impersonation tokens): reason `actor_required`. */
  requireActor?: boolean;
  /**
   * When given, the token's current actor (its outermost `act`, TX-44) must
   * match one entry: a string is a `sub`; in an object every member given
   * must equal the actor's (an `act` without `iss` is the token issuer's).
   * Reason `actor_not_allowed`. Tokens without an actor are not affected:
   * add `requireActor` to refuse them.
   */
  allowedActors?: Array<string | AllowedActor>;
  /**
   * Most nested `act` levels accepted (0: impersonation tokens only).
   * Reason `act_chain_too_deep`. Without it the engine's own bound applies
   * (5 levels); at most 32.
   */
  maxChainDepth?: number;
  /** Clock leeway for `exp`, `nbf` and `iat`, seconds. Default 30, at most 300. */
  leewaySeconds?: number;
  /** Largest token accepted, bytes. Default 16384. */
  maxTokenBytes?: number;
  /** The clock, milliseconds since the epoch (like `Date.now`, the default). */
  now?: () => number;
  /** How long a fetched key set is used before it is fetched again. Default 300. */
  jwksCacheTtlSeconds?: number;
  /** Least time between two fetches of the key set. Default 30. */
  jwksRefetchIntervalSeconds?: number;
  /**
   * When fetching the key set keeps failing, how long after its last
   * successful fetch it is still used; then it is dropped and tokens are
   * refused (`unknown_key`) until a fetch works. Default 3600.
   */
  jwksMaxStaleSeconds?: number;
  /** Timeout of a key set fetch. Default 3000. */
  jwksFetchTimeoutMs?: number;
  /** The `fetch` used for `jwksUri`. Default: the global one. */
  fetch?: Fetch;
  /** Where key-loading problems are reported. Default: `console`. */
  logger?: { warn(message: string): void };
  /** Who does the signature arithmetic (see the engine's `EngineSettings`). Default `"auto"`. */
  signatureVerifier?: "auto" | "host" | "builtin";
}

/**
 * What a valid token says: the engine's answer (`sub`, `iss`, `aud`, `exp`,
 * `scopes`, `clientId`, the current `actor` (the outermost `act`, TX-44),
 * the whole `chain` outermost first, and every claim), with `ok: true`.
 */
export type VerifiedExchangedToken = { ok: true } & Omit<Extract<Verification, { type: "valid" }>, "type">;

/**
 * A refused token. `error` is RFC 6750's `invalid_token` (answer 401 with
 * `WWW-Authenticate: Bearer error="invalid_token"`); `reason` is the
 * engine's stable code, as in the exchange's audit records (for example
 * `bad_signature`, `token_expired`, `audience_mismatch`, `untrusted_issuer`,
 * `unknown_key`, `unsupported_algorithm`, `token_type_mismatch`,
 * `actor_required`, `actor_not_allowed`, `act_chain_too_deep`, and
 * `opaque_token` for a token that is not a JWT: opaque tokens cannot be
 * verified locally, only by the issuer's introspection endpoint).
 */
export interface RejectedExchangedToken {
  ok: false;
  error: "invalid_token";
  reason: ReasonCode;
  /** What failed, without token contents or key material. */
  description: string;
}

export type VerifyExchangedTokenResult = VerifiedExchangedToken | RejectedExchangedToken;

/** A verifier holding its engine and key cache between requests. */
export interface ExchangedTokenVerifier {
  /** Verifies one token (the bare JWT, without `Bearer `). Never throws for a bad token. */
  verify(token: string): Promise<VerifyExchangedTokenResult>;
  /** Releases the engine's wasm memory now rather than at garbage collection. */
  free(): void;
}

/** What `better-auth-token-exchange/resource-server` exports, on every runtime. */
export interface ResourceServerHelpers {
  /**
   * A verifier for access tokens of one issuer (for example tokens from an
   * RFC 8693 exchange): create it once and call `verify(token)` per request;
   * it keeps its engine and key cache. Throws a `TypeError` for bad options.
   */
  createExchangedTokenVerifier(options: ExchangedTokenVerifierOptions): ExchangedTokenVerifier;
  /**
   * Verifies one token: the subject, the current actor (outermost `act`) and
   * the whole chain, or `{ ok: false, error: "invalid_token", reason }`.
   * Calls with the same options object share one verifier.
   */
  verifyExchangedToken(token: string, options: ExchangedTokenVerifierOptions): Promise<VerifyExchangedTokenResult>;
}

/** The engine's own bound on `act` levels. */
const MAX_ACT_DEPTH = 32;
const DEFAULT_ACT_DEPTH = 5;

function settingsError(message: string): TypeError {
  return new TypeError(`verifyExchangedToken: ${message}`);
}

function nonEmptyStrings(value: unknown, name: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every((v) => typeof v === "string" && v.length > 0)) {
    throw settingsError(`${name} must be a non-empty string or a list of them`);
  }
  return list as string[];
}

/**
 * Binds the helper to a runtime's engine constructor.
 * @internal
 */
export function makeResourceServer(createEngine: (settings: EngineSettings) => EngineBase): ResourceServerHelpers {
  function createExchangedTokenVerifier(options: ExchangedTokenVerifierOptions): ExchangedTokenVerifier {
    if (typeof options?.issuer !== "string" || options.issuer.length === 0) {
      throw settingsError("issuer must be a non-empty string");
    }
    const { issuer } = options;
    const audiences = nonEmptyStrings(options.audience, "audience");
    if ((options.jwks === undefined) === (options.jwksUri === undefined)) {
      throw settingsError("give exactly one of jwks and jwksUri");
    }
    const depth = options.maxChainDepth;
    if (depth !== undefined && !(Number.isInteger(depth) && depth >= 0 && depth <= MAX_ACT_DEPTH)) {
      throw settingsError(`maxChainDepth must be an integer from 0 to ${MAX_ACT_DEPTH}`);
    }
    const allowedActors = options.allowedActors?.map((entry) => {
      if (typeof entry === "string" && entry.length > 0) return { sub: entry };
      if (typeof entry === "object" && entry !== null && Object.keys(entry).length > 0) return { ...entry };
      throw settingsError("allowedActors entries must be a sub or an object with the members to match");
    });

    const engine = createEngine({
      issuer,
      // The parse bound follows the policy, so a deeper chain reads as too deep, not as malformed.
      maxActDepth: Math.max(DEFAULT_ACT_DEPTH, depth ?? 0),
      ...(options.leewaySeconds !== undefined ? { leewaySeconds: options.leewaySeconds } : {}),
      ...(options.maxTokenBytes !== undefined ? { maxTokenBytes: options.maxTokenBytes } : {}),
      ...(options.signatureVerifier !== undefined ? { signatureVerifier: options.signatureVerifier } : {}),
    });
    const now = options.now ?? Date.now;
    const logger = options.logger ?? console;
    const keys = new IssuerKeyCache({
      cacheTtlMs: (options.jwksCacheTtlSeconds ?? 300) * 1000,
      refetchIntervalMs: (options.jwksRefetchIntervalSeconds ?? 30) * 1000,
      maxStaleMs: (options.jwksMaxStaleSeconds ?? 3600) * 1000,
      logger,
      now,
    });
    let source: KeySource | undefined;
    if (options.jwks !== undefined) {
      const answer = engine.setIssuerKeys(issuer, options.jwks);
      const refused =
        answer.type === "failure"
          ? `${answer.reason} (${answer.description})`
          : answer.keys === 0
            ? `no usable key (${answer.skipped.map((s) => s.reason).join(", ") || "empty"})`
            : undefined;
      if (refused) {
        engine.free();
        throw settingsError(`the key set was refused: ${refused}`);
      }
    } else {
      const uri = typeof options.jwksUri === "string" ? options.jwksUri : String(options.jwksUri?.href);
      const fetchImpl = (options.fetch as FetchLike | undefined) ?? globalFetch();
      const timeoutMs = options.jwksFetchTimeoutMs ?? 3000;
      source = { load: () => fetchJwks(uri, timeoutMs, fetchImpl), rateLimited: true };
    }

    return {
      async verify(token: string): Promise<VerifyExchangedTokenResult> {
        if (typeof token !== "string") {
          return { ok: false, error: "invalid_token", reason: "malformed_token", description: "the token must be a string" };
        }
        if (source) {
          // Only the configured issuer's keys are ever loaded: another `iss`
          // is refused by the engine without any fetch.
          const hint = engine.inspect([["subject_token", token]]).subject;
          if (hint?.format === "jwt" && hint.issuer === issuer) {
            await keys.ensure(engine, issuer, hint.keyId, source, new Set());
          }
        }
        const answer = engine.verifyAccessToken({
          token,
          now: Math.floor(now() / 1000),
          audiences,
          ...(options.requireActor ? { requireActor: true } : {}),
          ...(allowedActors ? { allowedActors } : {}),
          ...(depth !== undefined ? { maxChainDepth: depth } : {}),
        });
        if (answer.type === "invalid") {
          const { type: _, ...rest } = answer;
          return { ok: false, ...rest };
        }
        const { type: _, ...rest } = answer;
        return { ok: true, ...rest };
      },
      free() {
        engine.free();
      },
    };
  }

  // One verifier per options object, so that repeated one-shot calls keep
  // the engine and the key cache.
  const verifiers = new WeakMap<ExchangedTokenVerifierOptions, ExchangedTokenVerifier>();
  async function verifyExchangedToken(
    token: string,
    options: ExchangedTokenVerifierOptions,
  ): Promise<VerifyExchangedTokenResult> {
    let verifier = verifiers.get(options);
    if (!verifier) {
      verifier = createExchangedTokenVerifier(options);
      verifiers.set(options, verifier);
    }
    return verifier.verify(token);
  }

  return { createExchangedTokenVerifier, verifyExchangedToken };
}
