/**
 * The better-auth plugin, independent of how a runtime loads the engine:
 * `makeTokenExchange(createEngine)` returns the `tokenExchange()` factory.
 *
 * One request (RFC 8693 §2):
 *   1. read the raw form (bounded), keeping order and repeats (TX-6, TX-8);
 *   2. authenticate the client through the oauth-provider (TX-10 to TX-12);
 *   3. ask the engine which keys and lookups the presented tokens need, and
 *      resolve them (own and trusted JWKS, opaque tokens, linked users);
 *   4. let the engine decide;
 *   5. write one audit record, refusals included, before anything is issued
 *      (TX-60, TX-61);
 *   6. issue through `provider.issueTokens`, with `exp` capped (TX-51) and
 *      `act` attached (TX-41, TX-53).
 * @internal
 */

import { extendOAuthProvider, getOAuthProviderApi } from "@better-auth/oauth-provider";
import type {
  OAuthClaimExtensionInput,
  OAuthExtensionGrantHandlerInput,
  OAuthProviderExtension,
  OAuthTokenResponse,
} from "@better-auth/oauth-provider";
import { APIError, createAuthMiddleware } from "better-auth/api";
import { signJWT } from "better-auth/plugins/jwt";
import { decodeJson } from "./b64json.js";
import type { EngineBase } from "./engine-core.js";
import type {
  ActClaim,
  AuditRecord,
  ClientInput,
  DecideCall,
  Decision,
  EngineSettings,
  FormPairs,
  Jwks,
  OAuthErrorCode,
  OpaqueTokenFacts,
  TokenHint,
} from "./engine-types.js";
import { auditEndpoints } from "./plugin-admin.js";
import {
  adapterOf,
  AuditTrail,
  bareAudit,
  encodeInlineReference,
  MODEL,
  newRecordId,
  RECORD_REFERENCE,
  refuse,
  schema,
  toRecord,
  type Where,
} from "./plugin-audit.js";
import { authenticate, authenticatedClient, claimedClientId, isApiError, usedBasic } from "./plugin-client.js";
import { BodyTooLarge, describe, readLimited } from "./http.js";
import { fetchJwks, IssuerKeyCache } from "./keys.js";
import { KeyResolver } from "./plugin-keys.js";
import { ExchangeReads } from "./plugin-reads.js";
import {
  accessTokenFacts,
  accessTokenGrant,
  accessTokenWhere,
  actOfReference,
  findRefreshRow,
  linkedUserId,
  refreshTokenFacts,
  type RefreshTokenFormat,
} from "./plugin-lookup.js";
import {
  type AuthLike,
  isExchangeSession,
  type Lineage,
  liveSession,
  openExchangeSession,
  revokeDescendants,
  type RevocationRoots,
  revokeSessionTokens,
  tokenDigest,
} from "./plugin-revocation.js";
import type {
  ExchangeRecord,
  TokenExchangeClient,
  TokenExchangeContext,
  TokenExchangeOptions,
  TokenExchangePlugin,
} from "./plugin-types.js";

/** RFC 8693 §2.1 grant type. */
export const TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";
const REFRESH_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:refresh_token";
/** Largest token request body read (the engine bounds each token further, TX-25). */
export const MAX_BODY_BYTES = 64 * 1024;
/** `WWW-Authenticate` of a 401 after HTTP Basic (RFC 6749 §5.2, TX-10). */
const BASIC_CHALLENGE = 'Basic realm="oauth"';

type Ctx = OAuthExtensionGrantHandlerInput["ctx"];
type ProviderOptions = OAuthExtensionGrantHandlerInput["opts"];
type Provider = OAuthExtensionGrantHandlerInput["provider"];
type AuthContext = Parameters<typeof extendOAuthProvider>[0];

/** An OAuth error answer (RFC 6749 §5.2): JSON `{ error, error_description }`. */
function oauthError(status: number, error: string, description: string, challenge = false): APIError {
  const name =
    status === 401
      ? "UNAUTHORIZED"
      : status === 503
        ? "SERVICE_UNAVAILABLE"
        : status >= 500
          ? "INTERNAL_SERVER_ERROR"
          : "BAD_REQUEST";
  return new APIError(
    name,
    { error, error_description: description },
    { "Cache-Control": "no-store", ...(challenge ? { "WWW-Authenticate": BASIC_CHALLENGE } : {}) },
  );
}

/**
 * Whether the provider's own body validation (better-auth 1.7.5's
 * `/oauth2/token`) refuses a token-exchange request before any grant
 * handler runs: it checks the parsed body's `resource` (an absolute URI
 * without a fragment, RFC 8707 §2). Repeated parameters reach the grant
 * handler (the parsed body keeps one value), which refuses them (TX-8).
 */
function providerRefusesBody(ctx: { path?: string; body?: unknown }): boolean {
  if (ctx.path !== "/oauth2/token") return false;
  const body = ctx.body as { grant_type?: unknown; resource?: unknown } | undefined;
  if (![body?.grant_type].flat().includes(TOKEN_EXCHANGE_GRANT) || body?.resource === undefined) return false;
  return ![body.resource].flat().every((v) => typeof v === "string" && URL.canParse(v) && !v.includes("#"));
}

const NOT_RECORDED = "the exchange could not be recorded";
/**
 * RFC 7009 §2.2.1: the revocation did not complete (what descends from the
 * token may still be active); the client retries, and the retry ends the rest.
 */
const revocationUnfinished = () =>
  oauthError(503, "temporarily_unavailable", "the revocation could not be completed; retry later");
const SERVER_FAILURE = "the token exchange failed on the server";
/** Most refresh tokens of one client and user followed after a replay. */
const MAX_FAMILY = 1000;
/** Most issuers (hosts of a dynamic `baseURL`) with an engine and key caches of their own. */
const MAX_ISSUERS = 16;

function first(form: FormPairs, name: string): string | undefined {
  return form.find(([k]) => k === name)?.[1];
}

/** How the provider stores refresh tokens (prefix, encryption). */
function refreshFormat(opts: unknown): RefreshTokenFormat {
  const o = opts as {
    prefix?: { refreshToken?: string };
    formatRefreshToken?: { decrypt?: (token: string) => unknown };
  };
  return { prefix: o.prefix?.refreshToken, decrypt: o.formatRefreshToken?.decrypt };
}

/** The prefix the provider puts on opaque access tokens, if any. */
function opaqueAccessPrefix(opts: unknown): string | undefined {
  return (opts as { prefix?: { opaqueAccessToken?: string } }).prefix?.opaqueAccessToken;
}

/** The provider's options, from its plugin (in hooks, which get no `opts`). */
function providerOptions(ctx: { context: { getPlugin(id: string): unknown } }): ProviderOptions | undefined {
  return (ctx.context.getPlugin("oauth-provider") as { options?: ProviderOptions } | null | undefined)?.options;
}

/** The token a revocation request names (RFC 7009 §2.1), without an auth scheme. */
function revokedToken(body: unknown): string | undefined {
  const token = (body as { token?: unknown } | null | undefined)?.token;
  if (typeof token !== "string" || token.length === 0) return undefined;
  return token.replace(/^(bearer|dpop)\s+/i, "");
}

const isJwt = (token: string) => token.split(".").length === 3;

/** The provider's answer to a refresh (RFC 6749 §5.1). */
interface RefreshAnswer {
  access_token?: unknown;
  refresh_token?: unknown;
  expires_in?: unknown;
  expires_at?: unknown;
  [field: string]: unknown;
}

/**
 * Header and claims of a JWT the provider just issued in this request (ours,
 * so read, not verified).
 */
function issuedJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [header, payload] = token.split(".").slice(0, 2).map((part) => decodeJson(part));
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObject(header) || !isObject(payload)) throw new Error("the issued access token is not a JWT");
  return { header, payload };
}

/**
 * The provider's API from inside a hook, as inside an endpoint: the provider
 * reads the jwt plugin's JWKS endpoint answer as `{ response }`, which a
 * hook's context (`asResponse`) does not give.
 */
function hookProviderApi(ctx: Ctx, opts: ProviderOptions, grantType?: typeof TOKEN_EXCHANGE_GRANT) {
  const endpointLike = { ...ctx, asResponse: false, returnHeaders: true } as Ctx;
  return {
    ctx: endpointLike,
    api: getOAuthProviderApi(endpointLike, opts, grantType as Parameters<typeof getOAuthProviderApi>[2]),
  };
}

/** The stored row of one of this server's refresh tokens (the provider's hashing and format). */
function refreshRow(ctx: Ctx, opts: ProviderOptions, token: string) {
  const { api } = hookProviderApi(ctx, opts);
  return findRefreshRow(
    ctx as unknown as TokenExchangeContext,
    async (t) => api.hashToken(t, "refresh_token"),
    token,
    refreshFormat(opts),
  );
}

/** The provider's validation of an access token; `undefined` when it has none (not one, or a failure). */
async function validated(api: Provider, token: string): Promise<Record<string, unknown> | undefined> {
  try {
    return (await api.validateAccessToken(token)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * Where what descends from a token no longer active starts: its digest, and
 * its grant when it is a revoked refresh token. `undefined` for a refresh
 * token still valid (the provider's to revoke).
 */
async function endedRoots(
  ctx: Ctx,
  opts: ProviderOptions,
  token: string,
): Promise<{ tokenHash: string; grantIds?: string[] } | undefined> {
  const refresh = isJwt(token) ? null : await refreshRow(ctx, opts, token).catch(() => null);
  if (refresh && !refresh.revoked) return undefined;
  return { tokenHash: await tokenDigest(token), ...(refresh?.id ? { grantIds: [refresh.id] } : {}) };
}

/** Lowers a refresh token's expiry to `ends` when it is later. */
async function capRefreshRow(ctx: Ctx, row: { id?: string | null; expiresAt?: Date | string | null }, ends: Date) {
  if (!row.id || new Date(row.expiresAt ?? 0).getTime() <= ends.getTime()) return;
  await adapterOf(ctx as unknown as TokenExchangeContext).update({
    model: "oauthRefreshToken",
    where: [{ field: "id", value: row.id }],
    update: { expiresAt: ends },
  });
}

/** The parsed body of an in-process call (no `Request`), as pairs. */
function pairsOfBody(body: unknown): FormPairs {
  if (!body || typeof body !== "object") return [];
  const pairs: FormPairs = [];
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      if (v === undefined || v === null) continue;
      pairs.push([key, typeof v === "string" ? v : String(v)]);
    }
  }
  return pairs;
}

/**
 * The raw form: the token endpoint keeps only the last value of a repeated
 * parameter in `ctx.body`, so read the (cloned) request ourselves. Clone,
 * never consume: the provider re-reads the body to authenticate the client.
 */
async function readForm(ctx: Ctx): Promise<FormPairs> {
  const request = ctx.request;
  if (!request) return pairsOfBody(ctx.body);
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) throw new BodyTooLarge(MAX_BODY_BYTES);
  const text = await readLimited(request.clone(), MAX_BODY_BYTES);
  return [...new URLSearchParams(text)];
}

/** Per plugin instance: the engine, its keys and the audit sink. */
class Exchange {
  readonly #options: TokenExchangeOptions;
  readonly #createEngine: (settings: EngineSettings) => EngineBase;
  readonly #audit: AuditTrail;
  /** Per issuer (this server's, per host with a dynamic `baseURL`), least recently used first. */
  readonly #engines = new Map<string, { engine: EngineBase; keys: KeyResolver }>();
  /** The remote key sets (trusted issuers', this server's kept elsewhere), shared by the engines (created with the first). */
  #remoteKeys: IssuerKeyCache | undefined;
  /** Per refresh request (its context): the grant family a replay would end. */
  readonly #families = new WeakMap<object, string[]>();

  constructor(options: TokenExchangeOptions, createEngine: (settings: EngineSettings) => EngineBase) {
    this.#options = options;
    this.#createEngine = createEngine;
    this.#audit = new AuditTrail(options.audit);
  }

  /**
   * The engine for this request's issuer, created on first use: the issuer
   * and lifetimes are known only from a request. The issuer is the jwt
   * plugin's `issuer`, else the request's base URL, which differs per host
   * with better-auth's dynamic `baseURL` (`allowedHosts`): each host is an
   * issuer of its own, as in the tokens the provider signs there. At most
   * {@link MAX_ISSUERS} are kept, the least recently used dropped first.
   */
  #engineFor(ctx: Ctx, opts: ProviderOptions) {
    const jwtPlugin = ctx.context.getPlugin("jwt") as
      | { options?: { jwt?: { issuer?: string }; jwks?: { remoteUrl?: string } }; endpoints?: Record<string, unknown> }
      | null
      | undefined;
    const issuer = jwtPlugin?.options?.jwt?.issuer ?? ctx.context.baseURL;
    const known = this.#engines.get(issuer);
    if (known) {
      this.#engines.delete(issuer);
      this.#engines.set(issuer, known);
      return known;
    }
    const o = this.#options;
    const settings: EngineSettings = {
      issuer,
      maxLifetimeSeconds: opts.accessTokenExpiresIn ?? 3600,
      ...(o.leewaySeconds !== undefined ? { leewaySeconds: o.leewaySeconds } : {}),
      ...(o.maxTokenBytes !== undefined ? { maxTokenBytes: o.maxTokenBytes } : {}),
      ...(o.maxJsonDepth !== undefined ? { maxJsonDepth: o.maxJsonDepth } : {}),
      ...(o.maxActDepth !== undefined ? { maxActDepth: o.maxActDepth } : {}),
      trustedIssuers: (o.trustedIssuers ?? []).map((t) => ({
        issuer: t.issuer,
        audiences: t.audiences,
        ...(t.tokenTypes ? { tokenTypes: t.tokenTypes } : {}),
      })),
    };
    const engine = this.#createEngine(settings);
    const keySettings = {
      trustedIssuers: o.trustedIssuers ?? [],
      cacheTtlMs: (o.jwksCacheTtlSeconds ?? 300) * 1000,
      maxStaleMs: (o.jwksMaxStaleSeconds ?? 3600) * 1000,
      refetchIntervalMs: (o.jwksRefetchIntervalSeconds ?? 30) * 1000,
      fetchTimeoutMs: o.jwksFetchTimeoutMs ?? 3000,
      ...(o.resolveKeys ? { resolveKeys: o.resolveKeys } : {}),
      logger: ctx.context.logger,
    };
    // Keys kept elsewhere (`jwt({ jwks: { remoteUrl } })`) are fetched like a trusted issuer's.
    const remoteUrl = typeof jwtPlugin?.options?.jwks?.remoteUrl === "string" ? jwtPlugin.options.jwks.remoteUrl : undefined;
    const keys = new KeyResolver(
      engine,
      {
        issuer,
        remoteUrl,
        load: async (c) => {
          if (remoteUrl) return fetchJwks(remoteUrl, o.jwksFetchTimeoutMs ?? 3000);
          const plugin = (c as unknown as Ctx).context.getPlugin("jwt") as typeof jwtPlugin;
          const getJwks = plugin?.endpoints?.getJwks as ((ctx: unknown) => Promise<unknown>) | undefined;
          if (!getJwks) return null;
          // The endpoint answers the JWKS body when called with a context.
          const answer = (await getJwks(c)) as { keys?: unknown; response?: unknown } | null;
          const jwks = answer && Array.isArray(answer.keys) ? answer : (answer?.response as Jwks | undefined);
          return (jwks ?? null) as Jwks | null;
        },
      },
      keySettings,
      // The remote sets: one cache for every engine.
      (this.#remoteKeys ??= new IssuerKeyCache(keySettings)),
    );
    const created = { engine, keys };
    if (this.#engines.size >= MAX_ISSUERS) this.#engines.delete(this.#engines.keys().next().value as string);
    this.#engines.set(issuer, created);
    return created;
  }

  /**
   * Before `/oauth2/token`, for a token-exchange request the provider's own
   * validation would refuse before the grant runs (a `resource` that is not
   * an absolute URI without a fragment): the exchange is handled here
   * instead, so that it is refused by the engine's rule (TX-6, RFC 8707's
   * `invalid_target`) and, like every attempt, gets one audit record (TX-60).
   */
  async preflight(ctx: Ctx): Promise<OAuthTokenResponse | undefined> {
    const opts = providerOptions(ctx);
    if (!opts) return undefined;
    const { ctx: endpointLike, api } = hookProviderApi(ctx, opts, TOKEN_EXCHANGE_GRANT);
    return this.handle({
      ctx: endpointLike,
      opts,
      grantType: TOKEN_EXCHANGE_GRANT,
      provider: api,
    } as OAuthExtensionGrantHandlerInput);
  }

  /** The grant handler: every failure leaves as an OAuth error, never as a stack. */
  async handle(input: OAuthExtensionGrantHandlerInput): Promise<OAuthTokenResponse> {
    try {
      return await this.#exchange(input);
    } catch (error) {
      if (isApiError(error) && typeof error.body?.error === "string") throw error;
      input.ctx.context.logger.error(`[token-exchange] unexpected failure: ${describe(error)}`);
      throw oauthError(500, "server_error", SERVER_FAILURE);
    }
  }

  /** Writes a refusal's record, then answers it. */
  async #refuse(
    ctx: Ctx,
    audit: AuditRecord,
    failure: { error: OAuthErrorCode; status: number; description: string; challenge?: boolean },
  ): Promise<never> {
    await this.#record(ctx, toRecord(newRecordId(), audit));
    throw oauthError(failure.status, failure.error, failure.description, failure.challenge);
  }

  async #record(ctx: Ctx, record: ExchangeRecord): Promise<void> {
    try {
      await this.#audit.write(record, ctx as unknown as TokenExchangeContext);
    } catch (error) {
      // TX-61: fail closed.
      ctx.context.logger.error(`[token-exchange] the audit record could not be written: ${describe(error)}`);
      throw oauthError(500, "server_error", NOT_RECORDED);
    }
  }

  async #exchange({ ctx, opts, grantType, provider }: OAuthExtensionGrantHandlerInput): Promise<OAuthTokenResponse> {
    const tctx = ctx as unknown as TokenExchangeContext;
    const started = Math.floor(Date.now() / 1000);
    const authorization = ctx.request?.headers.get("authorization") ?? ctx.headers?.get("authorization");
    const basic = usedBasic(authorization);

    let form: FormPairs;
    try {
      form = await readForm(ctx);
    } catch (error) {
      if (!(error instanceof BodyTooLarge)) throw error;
      const audit = refuse(bareAudit(started, claimedClientId(authorization, [])), "invalid_request", "request_too_large");
      return this.#refuse(ctx, audit, {
        error: "invalid_request",
        status: 400,
        description: `the request body is larger than ${MAX_BODY_BYTES} bytes`,
      });
    }

    // TX-10 to TX-12: the provider authenticates; the engine judges the result.
    const claimed = claimedClientId(authorization, form);
    const auth = await authenticate(
      async () => {
        const { client, method } = await provider.authenticateClient();
        return { client: client as unknown as TokenExchangeClient, method };
      },
      basic,
      claimed,
    );
    if (!auth.ok && "malformed" in auth) {
      const audit = refuse(bareAudit(started, claimed), "invalid_request", "malformed_client_authentication");
      return this.#refuse(ctx, audit, { error: "invalid_request", status: 400, description: auth.malformed });
    }
    const { engine, keys } = this.#engineFor(ctx, opts);
    let client: ClientInput;
    const reads = new ExchangeReads({
      link: opts.schema?.oauthClientResource?.modelName ?? "oauthClientResource",
      resource: opts.schema?.oauthResource?.modelName ?? "oauthResource",
    });
    if (auth.ok) {
      client = await authenticatedClient(tctx, auth.client, auth.method, this.#options, reads);
    } else {
      client = auth.input;
    }

    // Resolve only for a client the engine may accept: an unauthenticated
    // or not opted-in caller causes no key fetch and no token lookup.
    const call: DecideCall = { form, now: started, client };
    let subjectGrantId: string | undefined;
    if (client.status === "authenticated" && client.allowedTokenExchange && !client.disabled) {
      const inspection = engine.inspect(form);
      const reloaded = new Set<string>();
      await keys.ensure(inspection.subject, tctx, reloaded);
      await keys.ensure(inspection.actor, tctx, reloaded);
      const policy = client.policy;
      const subjectLookup = await this.#opaqueFacts(
        ctx,
        opts,
        provider,
        inspection.subject,
        first(form, "subject_token"),
        first(form, "subject_token_type"),
        policy?.subjectTokenTypes?.includes("refresh_token") === true,
        started,
      );
      if (subjectLookup) {
        call.subjectFacts = subjectLookup.facts;
        subjectGrantId = subjectLookup.grantId;
      }
      const actorLookup = await this.#opaqueFacts(
        ctx,
        opts,
        provider,
        inspection.actor,
        first(form, "actor_token"),
        first(form, "actor_token_type"),
        policy?.actorTokenTypes?.includes("refresh_token") === true,
        started,
      );
      if (actorLookup) call.actorFacts = actorLookup.facts;
      const subjectUser = await this.#externalUser(tctx, inspection.subject);
      if (subjectUser) call.subjectUser = subjectUser;
    }

    const decision: Decision = engine.decide(call);
    if (decision.type === "failure") {
      let description = decision.description;
      if (decision.status >= 500) {
        // An invalid engine call (for example a malformed client policy in
        // metadata) is the server's problem: log it, answer generically.
        ctx.context.logger.error(`[token-exchange] ${decision.reason}: ${decision.description}`);
        description = SERVER_FAILURE;
      }
      return this.#refuse(ctx, decision.audit, {
        error: decision.error,
        status: decision.status,
        description,
        challenge: decision.wwwAuthenticate,
      });
    }
    // Only an authenticated client reaches a success.
    if (!auth.ok) throw new Error("the engine granted an unauthenticated client");
    return this.#issue(ctx, opts, grantType, decision, auth.client, started, reads, {
      token: first(form, "subject_token") ?? "",
      grantId: subjectGrantId,
    });
  }

  async #opaqueFacts(
    ctx: Ctx,
    opts: ProviderOptions,
    provider: Provider,
    hint: TokenHint | undefined,
    token: string | undefined,
    declared: string | undefined,
    refreshAccepted: boolean,
    now: number,
  ): Promise<{ facts: OpaqueTokenFacts; grantId?: string | undefined } | undefined> {
    if (!hint || hint.format !== "opaque" || !token) return undefined;
    if (declared === ACCESS_TOKEN_TYPE) {
      const facts = await accessTokenFacts(
        (t) => provider.validateAccessToken(t) as Promise<Record<string, unknown>>,
        token,
      );
      if (!facts.active || !this.#audit.usesTable) return { facts };
      // The grant it was issued with: revoking that grant revokes what is exchanged from it.
      const tctx = ctx as unknown as TokenExchangeContext;
      const hash = async (t: string) => provider.hashToken(t, "access_token");
      return { facts, grantId: await accessTokenGrant(tctx, hash, token, opaqueAccessPrefix(opts)) };
    }
    if (declared === REFRESH_TOKEN_TYPE && refreshAccepted) {
      return refreshTokenFacts(
        ctx as unknown as TokenExchangeContext,
        async (t) => provider.hashToken(t, "refresh_token"),
        token,
        refreshFormat(opts),
        now,
      );
    }
    return undefined;
  }

  /** TX-24: the local user linked to an external subject, when there is one. */
  async #externalUser(ctx: TokenExchangeContext, hint: TokenHint | undefined) {
    if (!hint || hint.format !== "jwt" || !hint.issuer || !hint.subject) return undefined;
    const trusted = (this.#options.trustedIssuers ?? []).find((t) => t.issuer === hint.issuer);
    if (!trusted) return undefined;
    const userId = await linkedUserId(ctx, trusted.providerId ?? trusted.issuer, hint.subject);
    return userId ? { issuer: trusted.issuer, sub: hint.subject, userId } : undefined;
  }

  async #issue(
    ctx: Ctx,
    opts: ProviderOptions,
    grantType: OAuthExtensionGrantHandlerInput["grantType"],
    decision: Extract<Decision, { type: "success" }>,
    client: TokenExchangeClient,
    started: number,
    reads: ExchangeReads,
    subject: { token: string; grantId: string | undefined },
  ): Promise<OAuthTokenResponse> {
    const tctx = ctx as unknown as TokenExchangeContext;
    const user = await ctx.context.internalAdapter.findUserById(decision.userId);
    if (!user) {
      return this.#refuse(ctx, refuse(decision.audit, "invalid_request", "subject_not_found"), {
        error: "invalid_request",
        status: 400,
        description: "the subject is not a user of this server",
      });
    }
    // TX-51: the provider computes exp from its configured lifetime and its
    // own clock; lower the lifetime for this call so exp <= the cap (one
    // second of margin for the clock ticking in between).
    const lifetime = Math.min(opts.accessTokenExpiresIn ?? 3600, decision.expiresAt - started - 1);
    if (lifetime <= 0) {
      return this.#refuse(ctx, refuse(decision.audit, "invalid_request", "token_expired"), {
        error: "invalid_request",
        status: 400,
        description: "the presented tokens expire too soon to be exchanged",
      });
    }

    // The subject's session must be live: an opaque subject's lookup checked
    // it, an own JWT only names it in `sid`. With lineage it is checked after
    // the record is written (below), so that a sign-out racing this exchange
    // either is seen here or finds the record.
    const SESSION_ENDED = "the subject token's session has ended";
    if (!this.#audit.usesTable && decision.sessionId && !(await liveSession(tctx, decision.sessionId))) {
      return this.#refuse(ctx, refuse(decision.audit, "invalid_request", "session_ended"), {
        error: "invalid_request",
        status: 400,
        description: SESSION_ENDED,
      });
    }

    // No ID token from an exchange; a refresh token only when policy allows (TX-50, TX-55).
    const scopes = decision.scopes.filter(
      (s) => s !== "openid" && (decision.refreshToken || s !== "offline_access"),
    );

    // The exchange session: the issued tokens' `sid`, ended when anything
    // they descend from is revoked (plugin-revocation.ts). It lasts as long
    // as the tokens issued under it, never past the subject's session nor,
    // for what is refreshed, past the subject token (TX-55).
    const refreshes = decision.refreshToken && scopes.includes("offline_access");
    const chainEnds = (decision.chainExpiresAt ?? decision.expiresAt) * 1000;
    const sessionEnds = refreshes
      ? Math.min(chainEnds, (started + (opts.refreshTokenExpiresIn ?? 2_592_000)) * 1000)
      : (started + lifetime) * 1000;
    let lineage: Lineage | undefined;
    if (this.#audit.usesTable) {
      const expiresAt = new Date(sessionEnds);
      let sessionId: string;
      try {
        ({ id: sessionId } = await openExchangeSession(tctx, { userId: user.id, expiresAt, clientId: client.clientId }));
      } catch (error) {
        ctx.context.logger.error(`[token-exchange] the exchange session could not be opened: ${describe(error)}`);
        return this.#refuse(ctx, refuse(decision.audit, "server_error", "issuance_failed"), {
          error: "server_error",
          status: 500,
          description: SERVER_FAILURE,
        });
      }
      lineage = {
        sessionId,
        parentSessionId: decision.sessionId ?? null,
        parentTokenHash: await tokenDigest(subject.token),
        parentGrantId: subject.grantId ?? null,
      };
    }
    const record = toRecord(newRecordId(), decision.audit, {
      act: decision.act,
      expiresAt: started + lifetime,
      grantedScope: scopes.join(" "),
      lineage,
    });
    try {
      await this.#record(ctx, record);
    } catch (error) {
      await this.#discardSession(ctx, lineage?.sessionId ?? undefined);
      throw error;
    }
    if (lineage?.sessionId && decision.sessionId) {
      const parent = await liveSession(tctx, decision.sessionId);
      if (!parent) {
        await this.#discardSession(ctx, lineage.sessionId);
        await this.#amend(ctx, record, "invalid_request", "session_ended");
        throw oauthError(400, "invalid_request", SESSION_ENDED);
      }
      // Never past the subject's session (rarely sooner than the tokens end).
      const parentEnds = new Date(parent.expiresAt ?? 0);
      if (parentEnds.getTime() < sessionEnds) {
        await adapterOf(tctx).update({
          model: "session",
          where: [{ field: "id", value: lineage.sessionId }],
          update: { expiresAt: parentEnds },
        });
      }
    }

    // TX-53: opaque tokens store no claims; the claims contributor re-derives
    // `act` from the referenceId (the record, or `act` itself for custom sinks).
    const referenceId = this.#audit.usesTable
      ? RECORD_REFERENCE + record.id
      : decision.act
        ? encodeInlineReference(decision.act)
        : undefined;
    const targets = [...new Set([...decision.audiences, ...decision.resources])];
    let response: OAuthTokenResponse;
    try {
      // The provider re-checks the targets' registration and links: answered
      // from the reads the decision was made on (plugin-reads.ts).
      const capped = getOAuthProviderApi(
        reads.issuanceContext(ctx),
        { ...opts, accessTokenExpiresIn: lifetime, m2mAccessTokenExpiresIn: lifetime },
        grantType,
      );
      response = await capped.issueTokens({
        client: client as unknown as Parameters<typeof capped.issueTokens>[0]["client"],
        user,
        scopes,
        ...(targets.length > 0 ? { resources: targets } : {}),
        ...((lineage?.sessionId ?? decision.sessionId) ? { sessionId: lineage?.sessionId ?? decision.sessionId } : {}),
        ...(referenceId ? { referenceId } : {}),
        ...(decision.act ? { accessTokenClaims: { act: decision.act } } : {}),
        tokenResponse: { issued_token_type: decision.issuedTokenType },
      });
      const refreshToken = (response as { refresh_token?: unknown }).refresh_token;
      if (decision.refreshToken && typeof refreshToken === "string") {
        await this.#capRefreshToken(ctx, opts, refreshToken, chainEnds);
      }
    } catch (error) {
      // A sign-out racing this exchange may have ended the exchange session
      // already (an opaque token then fails its insert): the session ended.
      if (lineage?.sessionId && !(await liveSession(tctx, lineage.sessionId).catch(() => null))) {
        await this.#amend(ctx, record, "invalid_request", "session_ended");
        throw oauthError(400, "invalid_request", SESSION_ENDED);
      }
      const code = isApiError(error) && typeof error.body?.error === "string" ? error.body.error : "server_error";
      await this.#discardSession(ctx, lineage?.sessionId ?? undefined);
      await this.#amend(ctx, record, code, "issuance_failed");
      throw error;
    }
    const body: Record<string, unknown> = { ...(response as unknown as Record<string, unknown>) };
    delete body.id_token;
    if (!decision.refreshToken) delete body.refresh_token;
    body.issued_token_type = decision.issuedTokenType;
    return body as unknown as OAuthTokenResponse;
  }

  /**
   * `session.delete.before`: an exchange session's tokens are revoked while
   * the row still links them (refresh tokens with `offline_access`
   * included, which the provider spares at sign-out).
   */
  async sessionEnding(session: { id: string; userAgent?: unknown }, auth: AuthLike): Promise<void> {
    if (!this.#audit.usesTable || !isExchangeSession(session)) return;
    await revokeSessionTokens(auth, session.id);
  }

  /** `session.delete.after`: everything exchanged under the session ends with it. */
  async sessionEnded(session: { id: string; userAgent?: unknown }, auth: AuthLike): Promise<void> {
    if (!this.#audit.usesTable) return;
    try {
      await revokeDescendants(
        auth,
        isExchangeSession(session) ? { exchangeSessionIds: [session.id] } : { sessionIds: [session.id] },
      );
    } catch (error) {
      auth.logger.error(`[token-exchange] revocation after a session ended failed: ${describe(error)}`);
    }
  }

  /**
   * Before `/oauth2/revoke`. better-auth cannot revoke a JWT access token;
   * one issued by an exchange can be, by ending its exchange session. Only
   * the client it was issued to may (RFC 7009 §2.1). And a token no longer
   * active from which exchanges descend that were not ended is a retry after
   * a revocation that did not finish (answered 503, RFC 7009 §2.2.1): the
   * rest of its chain is ended now. Anything else goes on to the provider
   * unchanged.
   */
  async revoking(ctx: Ctx): Promise<Response | undefined> {
    const token = revokedToken(ctx.body);
    const opts = providerOptions(ctx);
    if (!this.#audit.usesTable || !token || !opts) return undefined;
    const { api } = hookProviderApi(ctx, opts);
    const payload = await validated(api, token);
    try {
      if (payload?.active === true) {
        return isJwt(token) && typeof payload.sid === "string" ? await this.#revokeExchangedJwt(ctx, api, payload.sid) : undefined;
      }
      return await this.#finishRevocation(ctx, opts, api, token);
    } catch (error) {
      // The client's authentication failing is the provider's answer; the
      // storage failing means the revocation is not done (the client retries).
      if (isApiError(error)) throw error;
      ctx.context.logger.error(`[token-exchange] revocation could not be checked: ${describe(error)}`);
      throw revocationUnfinished();
    }
  }

  async #revokeExchangedJwt(ctx: Ctx, api: Provider, sid: string): Promise<Response | undefined> {
    const record = await adapterOf(ctx as unknown as TokenExchangeContext).findOne<{ clientId?: string | null }>({
      model: MODEL,
      where: [
        { field: "sessionId", value: sid },
        { field: "decision", value: "granted" },
      ],
    });
    const authorization = ctx.request?.headers.get("authorization") ?? ctx.headers?.get("authorization");
    const claimed = claimedClientId(authorization, pairsOfBody(ctx.body));
    if (!record?.clientId || record.clientId !== claimed) return undefined;
    // Throws the provider's own client-authentication error when it fails.
    const { client } = await api.authenticateClient();
    if ((client as { clientId?: string }).clientId !== record.clientId) return undefined;
    return this.#endChain(ctx, { exchangeSessionIds: [sid] });
  }

  /**
   * A token that is not active (revoked, expired, or none of this server's)
   * with exchanges descending from it that were not ended. Ending them only
   * applies the chain's rule (nothing may outlive what it was exchanged
   * from), so any authenticated client may ask; a token of no chain, or a
   * refresh token still valid (the provider's to revoke), goes on to the
   * provider.
   */
  async #finishRevocation(ctx: Ctx, opts: ProviderOptions, api: Provider, token: string): Promise<Response | undefined> {
    const roots = await endedRoots(ctx, opts, token);
    if (!roots) return undefined;
    const db = adapterOf(ctx as unknown as TokenExchangeContext);
    const unended = (where: Where) =>
      db.findOne({
        model: MODEL,
        where: [where, { field: "decision", value: "granted" }, { field: "revokedAt", operator: "eq", value: null }],
      });
    const pending =
      (await unended({ field: "parentTokenHash", value: roots.tokenHash })) ??
      (roots.grantIds ? await unended({ field: "parentGrantId", operator: "in", value: roots.grantIds }) : null);
    if (!pending) return undefined;
    // Throws the provider's own client-authentication error when it fails.
    await api.authenticateClient();
    return this.#endChain(ctx, roots);
  }

  /** Ends what descends from `roots`: 200, or 503 for the client to retry (RFC 7009 §2.2.1). */
  async #endChain(ctx: Ctx, roots: RevocationRoots): Promise<Response> {
    try {
      await revokeDescendants(ctx.context as unknown as AuthLike, roots);
    } catch (error) {
      ctx.context.logger.error(`[token-exchange] a revocation that follows the chain failed: ${describe(error)}`);
      throw revocationUnfinished();
    }
    return new Response(null, { status: 200, headers: { "cache-control": "no-store" } });
  }

  /**
   * After `/oauth2/revoke` succeeded for an opaque access token or a refresh
   * token: what was exchanged from that token, or from tokens of that grant,
   * ends too. If that fails, the answer is 503 and the client's retry
   * finishes it (`revoking`).
   */
  async revoked(ctx: Ctx): Promise<void> {
    const token = revokedToken(ctx.body);
    const opts = providerOptions(ctx);
    const returned = (ctx.context as { returned?: unknown }).returned;
    // JWTs are not stored: those issued by an exchange were handled before the endpoint.
    if (!this.#audit.usesTable || !token || isJwt(token) || !opts || isApiError(returned) || returned instanceof Error) {
      return;
    }
    const auth = ctx.context as unknown as AuthLike;
    try {
      const { api } = hookProviderApi(ctx, opts);
      // The provider deletes a revoked access token and marks a revoked
      // refresh token; a token still active was not revoked (another
      // client's: RFC 7009 §2.1).
      if ((await validated(api, token))?.active === true) return;
      const roots = await endedRoots(ctx, opts, token);
      if (roots) await revokeDescendants(auth, roots);
    } catch (error) {
      auth.logger.error(`[token-exchange] revocation after /oauth2/revoke failed: ${describe(error)}`);
      throw revocationUnfinished();
    }
  }

  /**
   * TX-55: a refresh token from an exchange expires with the subject token,
   * so nothing refreshed from it outlives the chain. If the cap cannot be
   * written, the exchange fails (and its session, with the tokens, ends).
   */
  async #capRefreshToken(ctx: Ctx, opts: ProviderOptions, refreshToken: string, endsMs: number): Promise<void> {
    try {
      const row = await refreshRow(ctx, opts, refreshToken);
      if (!row?.id) throw new Error("the issued refresh token was not found");
      await capRefreshRow(ctx, row, new Date(endsMs));
    } catch (error) {
      ctx.context.logger.error(`[token-exchange] the refresh token's lifetime could not be capped: ${describe(error)}`);
      throw oauthError(500, "server_error", SERVER_FAILURE);
    }
  }

  /**
   * After a refresh at `/oauth2/token` of a refresh token issued by an
   * exchange (TX-55): the provider gives the rotated refresh token a fresh
   * lifetime and the access token its configured one; both end at the
   * exchange session's end instead, so nothing refreshed outlives the chain.
   * A JWT access token is signed again with the lower `exp` (the first one
   * is never handed out); an opaque one's row is updated. If the cap cannot
   * be applied, the refresh fails. After a refusal, see {@link #familyEnded}.
   */
  async refreshed(ctx: Ctx): Promise<unknown> {
    const returned = (ctx.context as { returned?: unknown }).returned as RefreshAnswer | null | undefined;
    const opts = providerOptions(ctx);
    if (!this.#audit.usesTable || !opts) return undefined;
    if (isApiError(returned) || returned instanceof Error) {
      await this.#familyEnded(ctx);
      return undefined;
    }
    if (!returned || typeof returned.refresh_token !== "string") return undefined;
    try {
      const row = await refreshRow(ctx, opts, returned.refresh_token);
      if (!row?.sessionId) return undefined;
      const session = await adapterOf(ctx as unknown as TokenExchangeContext).findOne<{
        expiresAt?: Date | string;
        userAgent?: unknown;
      }>({ model: "session", where: [{ field: "id", value: row.sessionId }] });
      if (!session || !isExchangeSession(session)) return undefined;
      const ends = new Date(session.expiresAt ?? 0);
      await capRefreshRow(ctx, row, ends);
      const capped = await this.#capAccessToken(ctx, opts, returned, Math.floor(ends.getTime() / 1000));
      return capped ? ctx.json(capped) : undefined;
    } catch (error) {
      if (isApiError(error)) throw error;
      ctx.context.logger.error(`[token-exchange] a refreshed token's lifetime could not be capped: ${describe(error)}`);
      throw oauthError(500, "server_error", "the refresh failed on the server");
    }
  }

  /**
   * The refresh answer with its access token ending at `endsAt` (seconds),
   * or `undefined` when it already does.
   */
  async #capAccessToken(ctx: Ctx, opts: ProviderOptions, answer: RefreshAnswer, endsAt: number): Promise<RefreshAnswer | undefined> {
    const token = answer.access_token;
    const now = Math.floor(Date.now() / 1000);
    if (typeof token !== "string") return undefined;
    if (endsAt <= now) throw oauthError(400, "invalid_grant", "the refresh token's exchange chain has ended");
    let accessToken = token;
    if (isJwt(token)) {
      const jwt = issuedJwt(token);
      if (typeof jwt.payload.exp === "number" && jwt.payload.exp <= endsAt) return undefined;
      const jwtPlugin = ctx.context.getPlugin("jwt") as { options?: Parameters<typeof signJWT>[1]["options"] } | null;
      accessToken = await signJWT(ctx as unknown as Parameters<typeof signJWT>[0], {
        options: jwtPlugin?.options,
        header: typeof jwt.header.typ === "string" ? { typ: jwt.header.typ } : {},
        // The same key (a resource may pin one).
        ...(typeof jwt.header.kid === "string" ? { signingKeyId: jwt.header.kid } : {}),
        payload: { ...jwt.payload, exp: endsAt },
      });
    } else {
      if (typeof answer.expires_at === "number" && answer.expires_at <= endsAt) return undefined;
      const { api } = hookProviderApi(ctx, opts);
      const where = await accessTokenWhere(async (t) => api.hashToken(t, "access_token"), token, opaqueAccessPrefix(opts));
      if (!where) throw new Error("the refreshed access token is not one of this server's");
      await adapterOf(ctx as unknown as TokenExchangeContext).update({
        model: "oauthAccessToken",
        where,
        update: { expiresAt: new Date(endsAt * 1000) },
      });
    }
    return { ...answer, access_token: accessToken, expires_in: endsAt - now, expires_at: endsAt };
  }

  /**
   * Before a refresh at `/oauth2/token` that presents an already rotated or
   * revoked refresh token: the provider treats it as a replay and deletes
   * every refresh token of that client and user (no hook sees it). Their ids
   * are noted here, so that after the refusal what was exchanged from
   * tokens of those grants ends too ({@link #familyEnded}).
   */
  async refreshing(ctx: Ctx): Promise<void> {
    const opts = providerOptions(ctx);
    const token = (ctx.body as { refresh_token?: unknown } | undefined)?.refresh_token;
    if (!this.#audit.usesTable || !opts || typeof token !== "string" || token.length === 0) return;
    try {
      const row = await refreshRow(ctx, opts, token);
      if (!row?.revoked || !row.clientId || !row.userId) return;
      const family = await adapterOf(ctx as unknown as TokenExchangeContext).findMany<{ id?: string }>({
        model: "oauthRefreshToken",
        where: [
          { field: "clientId", value: row.clientId },
          { field: "userId", value: row.userId },
        ],
        limit: MAX_FAMILY,
      });
      const ids = family.map((r) => r.id).filter((id): id is string => typeof id === "string");
      if (ids.length > 0) this.#families.set(ctx.context, ids);
    } catch (error) {
      ctx.context.logger.error(`[token-exchange] a refresh token's grant family could not be read: ${describe(error)}`);
    }
  }

  /** After a refused refresh: if the provider deleted the noted family, its descendants end. */
  async #familyEnded(ctx: Ctx): Promise<void> {
    const ids = this.#families.get(ctx.context);
    if (!ids) return;
    this.#families.delete(ctx.context);
    const auth = ctx.context as unknown as AuthLike;
    try {
      const left = await adapterOf(ctx as unknown as TokenExchangeContext).findMany<{ id?: string }>({
        model: "oauthRefreshToken",
        where: [{ field: "id", value: ids, operator: "in" }],
        limit: 1,
      });
      if (left.length > 0) return; // not a family invalidation (another refusal)
      await revokeDescendants(auth, { grantIds: ids });
    } catch (error) {
      auth.logger.error(`[token-exchange] revocation after a refresh token replay failed: ${describe(error)}`);
    }
  }

  /** One attempt, one record: a granted record becomes the refusal. */
  async #amend(ctx: Ctx, record: ExchangeRecord, error: string, reason: string): Promise<void> {
    const amended: ExchangeRecord = {
      ...record,
      decision: "refused",
      error,
      reason,
      grantedScope: null,
      act: null,
      expiresAt: null,
    };
    try {
      await this.#audit.amend(amended, ctx as unknown as TokenExchangeContext);
    } catch (amendError) {
      ctx.context.logger.error(`[token-exchange] the audit record could not be amended: ${describe(amendError)}`);
    }
  }

  /** Ends an exchange session whose exchange did not complete. */
  async #discardSession(ctx: Ctx, sessionId: string | undefined): Promise<void> {
    if (!sessionId) return;
    try {
      await revokeDescendants(ctx.context as unknown as AuthLike, { exchangeSessionIds: [sessionId] });
    } catch (error) {
      ctx.context.logger.error(`[token-exchange] an unused exchange session could not be ended: ${describe(error)}`);
    }
  }

  /**
   * Claims contributor for access tokens. At issuance by this grant the
   * `act` claim arrives through `accessTokenClaims`; at opaque-token
   * introspection, userinfo and refresh, it is re-derived here (TX-53, TX-55).
   */
  async claims(input: OAuthClaimExtensionInput): Promise<Record<string, unknown>> {
    if (!input.referenceId || input.grantType === TOKEN_EXCHANGE_GRANT) return {};
    let act: ActClaim | undefined;
    try {
      act = await actOfReference(input.ctx as unknown as TokenExchangeContext, input.referenceId);
    } catch (error) {
      input.ctx.context.logger.error(`[token-exchange] could not read the act claim: ${describe(error)}`);
      throw error;
    }
    return act ? { act } : {};
  }
}

/** Checks options that can be checked without a request. */
function validateOptions(options: TokenExchangeOptions): void {
  for (const trusted of options.trustedIssuers ?? []) {
    if (typeof trusted.issuer !== "string" || trusted.issuer.length === 0) {
      throw new Error("tokenExchange: every trusted issuer needs an `issuer`");
    }
    if (!Array.isArray(trusted.audiences) || trusted.audiences.length === 0) {
      throw new Error(`tokenExchange: trusted issuer ${trusted.issuer} needs at least one audience`);
    }
    if (!trusted.jwks && !trusted.jwksUri && !options.resolveKeys) {
      throw new Error(`tokenExchange: trusted issuer ${trusted.issuer} needs \`jwks\` or \`jwksUri\``);
    }
  }
}

/**
 * Binds the plugin factory to a runtime's engine constructor.
 * @internal
 */
export function makeTokenExchange(
  createEngine: (settings: EngineSettings) => EngineBase,
): (options?: TokenExchangeOptions) => TokenExchangePlugin {
  return (options: TokenExchangeOptions = {}): TokenExchangePlugin => {
    validateOptions(options);
    const exchange = new Exchange(options, createEngine);
    const extension: OAuthProviderExtension = {
      grants: { [TOKEN_EXCHANGE_GRANT]: (input) => exchange.handle(input) },
      claims: { accessToken: (input) => exchange.claims(input) },
    };
    const isRevoke = (ctx: { path?: string }) => ctx.path === "/oauth2/revoke";
    const isRefresh = (ctx: { path?: string; body?: unknown }) =>
      ctx.path === "/oauth2/token" && (ctx.body as { grant_type?: unknown } | undefined)?.grant_type === "refresh_token";
    // Hooks and init's answer are better-auth's own types: kept out of the
    // public plugin type, which names nothing of better-auth.
    const plugin = {
      id: "token-exchange" as const,
      schema,
      options,
      // The audit query API (plugin-admin.ts); not part of the declared type,
      // which stays free of better-auth's types (see plugin-types.ts).
      ...(options.auditApi?.enabled === false ? {} : { endpoints: auditEndpoints(options) }),
      init(ctx: unknown) {
        // Registers the grant (dispatch and discovery, TX-1, TX-54) and the
        // claims contributor with the oauth-provider plugin.
        extendOAuthProvider(ctx as AuthContext, extension);
        const auth = ctx as AuthLike;
        // Revocation that follows the chain (plugin-revocation.ts).
        const context = (hookCtx: unknown) => ((hookCtx as { context?: AuthLike } | null)?.context ?? auth);
        return {
          options: {
            databaseHooks: {
              session: {
                delete: {
                  before: async (session: { id: string }, hookCtx: unknown) => {
                    await exchange.sessionEnding(session, context(hookCtx));
                  },
                  after: async (session: { id: string }, hookCtx: unknown) => {
                    await exchange.sessionEnded(session, context(hookCtx));
                  },
                },
              },
            },
          },
        };
      },
      hooks: {
        before: [
          {
            matcher: providerRefusesBody,
            handler: createAuthMiddleware(async (ctx) => exchange.preflight(ctx as unknown as Ctx)),
          },
          { matcher: isRevoke, handler: createAuthMiddleware(async (ctx) => exchange.revoking(ctx as unknown as Ctx)) },
          { matcher: isRefresh, handler: createAuthMiddleware(async (ctx) => exchange.refreshing(ctx as unknown as Ctx)) },
        ],
        after: [
          { matcher: isRevoke, handler: createAuthMiddleware(async (ctx) => exchange.revoked(ctx as unknown as Ctx)) },
          { matcher: isRefresh, handler: createAuthMiddleware(async (ctx) => exchange.refreshed(ctx as unknown as Ctx)) },
        ],
      },
    };
    return plugin;
  };
}
