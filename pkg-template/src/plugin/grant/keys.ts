/**
 * Key loading for the plugin's engine: this server's signing keys (from
 * better-auth's jwt plugin) and the keys of configured trusted issuers
 * (inline or fetched). The cache itself is shared/key-cache.ts, shared with the
 * resource-server helper; the engine only receives JWKS data.
 *
 * Rules (TX-22, TX-24): keys are loaded only for this server's issuer and for
 * issuers listed in the options, never from a URL a token names (`jku`,
 * `x5u`); a fetch is bounded in time and size, and its failure leaves the
 * engine without the key so that it refuses with `unknown_key`.
 *
 * What is kept in memory, per plugin instance (and so per server process):
 * one entry per issuer that is this server or a configured trusted issuer
 * (never per issuer a token names), holding the times of the last load and
 * attempt and the set last loaded (at most 100 keys and 1 MiB per set). A
 * set is reloaded when it is older than `cacheTtlMs`, or at once when a
 * token names a `kid` it lacks (for remote sets, this server's own included,
 * at most once per `refetchIntervalMs`). A set that cannot be reloaded is
 * used until `maxStaleMs` after its last successful load, then dropped.
 *
 * With one engine per issuer of this server (a dynamic `baseURL`), each
 * engine has its own entry for this server's keys read from the database,
 * while the remote sets (the trusted issuers', and this server's own when
 * kept elsewhere) are shared by all of them (one {@link IssuerKeyCache}): an
 * engine created for a new host gets the sets already loaded, and the
 * refetch rate limit holds across hosts.
 * @internal
 */

import type { EngineBase } from "../../engine/core.js";
import type { Jwks, TokenHint } from "../../engine/types.js";
import { fetchJwks, IssuerKeyCache } from "../../shared/key-cache.js";
import type { TokenExchangeContext, TrustedIssuerOptions } from "../types.js";

/** Where this server's keys come from. */
export interface OwnKeySource {
  issuer: string;
  load(ctx: TokenExchangeContext): Promise<Jwks | null>;
  /**
   * Where the keys are fetched from when they are kept elsewhere
   * (`jwt({ jwks: { remoteUrl } })`): reloaded at most once per refetch
   * interval, like a trusted issuer's, and one set for every host.
   */
  remoteUrl: string | undefined;
}

export interface KeyResolverSettings {
  trustedIssuers: TrustedIssuerOptions[];
  cacheTtlMs: number;
  /** Past this age (since the last successful load) a set is dropped, reloadable or not. */
  maxStaleMs: number;
  fetchTimeoutMs: number;
  refetchIntervalMs: number;
  resolveKeys?: (issuer: string, ctx: TokenExchangeContext) => Promise<Jwks | null> | Jwks | null;
  logger: { warn(message: string, ...args: unknown[]): void };
  now?: () => number;
}

/**
 * Loads and caches the key sets of this server and the trusted issuers into
 * one engine (through {@link IssuerKeyCache}). One instance per engine; the
 * cache of the remote sets is shared (`remote`).
 */
export class KeyResolver {
  readonly #engine: EngineBase;
  readonly #own: OwnKeySource;
  readonly #settings: KeyResolverSettings;
  readonly #ownCache: IssuerKeyCache;
  readonly #remote: IssuerKeyCache;

  constructor(engine: EngineBase, own: OwnKeySource, settings: KeyResolverSettings, remote: IssuerKeyCache) {
    this.#engine = engine;
    this.#own = own;
    this.#settings = settings;
    this.#ownCache = new IssuerKeyCache(settings);
    this.#remote = remote;
    // Inline key sets never change: set them once (unless a callback owns keys).
    if (!settings.resolveKeys) {
      for (const t of settings.trustedIssuers) {
        if (t.jwks) remote.store(engine, t.issuer, t.jwks);
      }
    }
  }

  /**
   * Makes sure the engine holds keys for the issuer a token hint names, when
   * that issuer is this server or a trusted one. `reloaded` tracks issuers
   * already reloaded during this request (at most one reload per request).
   */
  async ensure(hint: TokenHint | undefined, ctx: TokenExchangeContext, reloaded: Set<string>): Promise<void> {
    if (hint?.format !== "jwt" || typeof hint.issuer !== "string") return;
    const issuer = hint.issuer;
    const own = issuer === this.#own.issuer;
    const trusted = own ? undefined : this.#settings.trustedIssuers.find((t) => t.issuer === issuer);
    if (!own && !trusted) return; // never fetch for an issuer nobody configured
    const { resolveKeys } = this.#settings;
    if (!own && trusted?.jwks && !resolveKeys) return; // inline, set once
    // Our own keys in the database are one cheap read, and a callback
    // rate-limits itself; a remote set (a trusted issuer's, or our own kept
    // elsewhere) is fetched at most once per interval.
    const load = resolveKeys
      ? () => resolveKeys(issuer, ctx)
      : own
        ? () => this.#own.load(ctx)
        : () => (trusted?.jwksUri ? fetchJwks(trusted.jwksUri, this.#settings.fetchTimeoutMs) : null);
    const remoteUrl = own && !resolveKeys ? this.#own.remoteUrl : undefined;
    const rateLimited = !resolveKeys && (!own || remoteUrl !== undefined);
    // Our own keys kept elsewhere are one set for every host: named by their
    // URL (never an issuer: a name with a space is not a URL).
    if (remoteUrl !== undefined) {
      const source = { load, rateLimited, key: `remote ${remoteUrl}` };
      return this.#remote.ensure(this.#engine, issuer, hint.keyId, source, reloaded);
    }
    const cache = own ? this.#ownCache : this.#remote;
    await cache.ensure(this.#engine, issuer, hint.keyId, { load, rateLimited }, reloaded);
  }
}
