/**
 * One engine per issuer of this server, with its key loading. The issuer
 * and the lifetimes are known only from a request: the issuer is the jwt
 * plugin's `issuer`, else the request's base URL, which differs per host
 * with better-auth's dynamic `baseURL` (`allowedHosts`): each host is an
 * issuer of its own, as in the tokens the provider signs there. At most
 * {@link MAX_ISSUERS} are kept, the least recently used dropped first (the
 * wasm engine is freed by its finalizer).
 * @internal
 */

import type { EngineBase } from "../../engine/core.js";
import type { EngineSettings } from "../../engine/types.js";
import { fetchJwks, IssuerKeyCache } from "../../shared/key-cache.js";
import { type Ctx, endpointContext, jwtPlugin, ownIssuer, ownJwks, type ProviderOptions } from "../provider.js";
import type { TokenExchangeOptions } from "../types.js";
import { KeyResolver } from "./keys.js";

/** Most issuers (hosts of a dynamic `baseURL`) with an engine and key caches of their own. */
const MAX_ISSUERS = 16;

export interface IssuerEngine {
  engine: EngineBase;
  keys: KeyResolver;
}

export class Engines {
  readonly #options: TokenExchangeOptions;
  readonly #createEngine: (settings: EngineSettings) => EngineBase;
  /** Per issuer, least recently used first. */
  readonly #engines = new Map<string, IssuerEngine>();
  /** The remote key sets (trusted issuers', this server's kept elsewhere), shared by the engines. */
  #remoteKeys: IssuerKeyCache | undefined;

  constructor(options: TokenExchangeOptions, createEngine: (settings: EngineSettings) => EngineBase) {
    this.#options = options;
    this.#createEngine = createEngine;
  }

  /** The engine for this request's issuer, created on first use. */
  for(ctx: Ctx, opts: ProviderOptions): IssuerEngine {
    const issuer = ownIssuer(ctx.context);
    const known = this.#engines.get(issuer);
    if (known) {
      this.#engines.delete(issuer);
      this.#engines.set(issuer, known);
      return known;
    }
    const o = this.#options;
    const engine = this.#createEngine({
      issuer,
      maxLifetimeSeconds: opts.accessTokenExpiresIn ?? 3600,
      ...(o.leewaySeconds !== undefined ? { leewaySeconds: o.leewaySeconds } : {}),
      ...(o.maxTokenBytes !== undefined ? { maxTokenBytes: o.maxTokenBytes } : {}),
      ...(o.maxJsonDepth !== undefined ? { maxJsonDepth: o.maxJsonDepth } : {}),
      ...(o.maxActDepth !== undefined ? { maxActDepth: o.maxActDepth } : {}),
      ...(o.requireTarget !== undefined ? { requireTarget: o.requireTarget } : {}),
      ...(o.idJagLifetimeSeconds !== undefined ? { idJagLifetimeSeconds: o.idJagLifetimeSeconds } : {}),
      trustedIssuers: (o.trustedIssuers ?? []).map((t) => ({
        issuer: t.issuer,
        audiences: t.audiences,
        ...(t.tokenTypes ? { tokenTypes: t.tokenTypes } : {}),
        ...(t.jitProvisioning ? { jitProvisioning: true } : {}),
      })),
    });
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
    const remoteUrl = jwtPlugin(ctx.context)?.remoteUrl;
    this.#remoteKeys ??= new IssuerKeyCache(keySettings);
    const keys = new KeyResolver(
      engine,
      {
        issuer,
        remoteUrl,
        load: async (c) => (remoteUrl ? fetchJwks(remoteUrl, keySettings.fetchTimeoutMs) : ownJwks(endpointContext(c))),
      },
      keySettings,
      this.#remoteKeys,
    );
    const created = { engine, keys };
    if (this.#engines.size >= MAX_ISSUERS) this.#engines.delete(this.#engines.keys().next().value as string);
    this.#engines.set(issuer, created);
    return created;
  }
}
