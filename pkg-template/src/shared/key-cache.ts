/**
 * Key sets loaded into an engine, per issuer: the cache the plugin uses for
 * its own and trusted issuers' keys (plugin/grant/keys.ts) and the
 * resource-server helper uses for its issuer's JWKS.
 *
 * Rules (TX-22): keys come only from a source the caller configured, never
 * from a URL a token names (`jku`, `x5u`); a fetch is bounded in time and
 * size; a failed load leaves the engine without the key, so that it refuses
 * with `unknown_key`.
 * @internal
 */

import type { EngineBase } from "../engine/core.js";
import type { Jwks } from "../engine/types.js";
import { describe, fetchText, globalFetch, type FetchLike } from "./http.js";

/** Largest JWKS document accepted from a fetch (the engine enforces the same bound). */
export const MAX_JWKS_BYTES = 1024 * 1024;

/** GET a JWKS document with a timeout and a size limit; a redirect is a failure. */
export async function fetchJwks(uri: string, timeoutMs: number, fetchImpl: FetchLike = globalFetch()): Promise<Jwks> {
  const { status, text } = await fetchText(
    fetchImpl,
    uri,
    { method: "GET", headers: { accept: "application/jwk-set+json, application/json" } },
    { timeoutMs, limit: MAX_JWKS_BYTES },
  );
  if (status < 200 || status > 299) throw new Error(`HTTP ${status}`);
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error("the key set is not a JSON object");
  }
  return parsed as Jwks;
}

/** Where one issuer's keys come from, for {@link IssuerKeyCache.ensure}. */
export interface KeySource {
  load(): Promise<Jwks | null> | Jwks | null;
  /**
   * Reload at most once per refetch interval (a remote set: a stream of
   * tokens with unknown `kid`s must not drive fetches).
   */
  rateLimited: boolean;
  /**
   * The set's name in the cache when it is not the issuer's: one remote set
   * serving several issuers (this server's own, kept elsewhere, is the same
   * set for every host of a dynamic `baseURL`).
   */
  key?: string;
}

export interface KeyCacheSettings {
  cacheTtlMs: number;
  refetchIntervalMs: number;
  /**
   * When reloading keeps failing, how long after its last successful load a
   * set is still used; then it is dropped (never sooner than `cacheTtlMs`).
   */
  maxStaleMs: number;
  logger: { warn(message: string): void };
  now?: () => number;
}

interface CacheEntry {
  /** When the set was loaded (ms); `0` when never. */
  loadedAt: number;
  /** Last attempt, successful or not (ms), for the refetch rate limit. */
  attemptedAt: number;
  inFlight?: Promise<void>;
  /** The set as last loaded (or emptied), handed to engines holding an older one. */
  jwks?: Jwks;
  /** Bumped each time `jwks` changes; `0` before the first load. */
  version: number;
}

/**
 * Loads and caches key sets per issuer, into one engine (the
 * resource-server helper's) or several (the plugin's, one per issuer of
 * this server, which share the remote sets). A set is loaded once
 * for every engine, and the refetch rate limit holds across them: an engine
 * created later gets the set already loaded, not a fetch of its own. Safe
 * under concurrent requests: a load in flight is shared, and waited for.
 */
export class IssuerKeyCache {
  readonly #settings: KeyCacheSettings;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #now: () => number;
  /** Per engine: the version of each set it holds, by the set's name. */
  readonly #held = new WeakMap<EngineBase, Map<string, number>>();

  constructor(settings: KeyCacheSettings) {
    this.#settings = settings;
    this.#now = settings.now ?? Date.now;
  }

  /**
   * Makes sure `engine` holds a fresh key set for `issuer` with `kid` (when
   * given). `reloaded` tracks issuers already reloaded during this request:
   * at most one reload per request.
   */
  async ensure(
    engine: EngineBase,
    issuer: string,
    kid: string | undefined,
    source: KeySource,
    reloaded: Set<string>,
  ): Promise<void> {
    const name = source.key ?? issuer;
    const entry = this.#entry(name);
    // A concurrent request is loading this set: its result may be the answer.
    if (entry.inFlight) await entry.inFlight;
    const now = this.#now();
    const age = now - entry.loadedAt;
    if (entry.loadedAt > 0 && age >= Math.max(this.#settings.maxStaleMs, this.#settings.cacheTtlMs)) {
      // Reloads kept failing: stop trusting keys nobody could confirm for so long.
      entry.loadedAt = 0;
      entry.jwks = { keys: [] };
      entry.version++;
      this.#settings.logger.warn(
        `[token-exchange] the key set of issuer ${issuer} was last loaded ${Math.round(age / 1000)} s ago: dropped`,
      );
    }
    this.#sync(engine, issuer, name, entry);
    const fresh = entry.loadedAt > 0 && now - entry.loadedAt < this.#settings.cacheTtlMs;
    if (fresh && engine.hasKey(issuer, kid)) return;
    if (reloaded.has(issuer)) return;
    // An unknown kid may mean the issuer rotated its keys; a stale or failed
    // set is due for another try, within the rate limit.
    if (source.rateLimited && entry.attemptedAt > 0 && now - entry.attemptedAt < this.#settings.refetchIntervalMs) {
      return;
    }
    reloaded.add(issuer);
    await this.#load(engine, issuer, name, source, entry);
    // Another engine's load may have been the one in flight.
    this.#sync(engine, issuer, name, entry);
  }

  /** Stores a key set in `engine` now (an inline one); `false` when the engine refused it (logged). */
  store(engine: EngineBase, issuer: string, jwks: Jwks): boolean {
    const answer = engine.setIssuerKeys(issuer, jwks);
    if (answer.type === "failure") {
      this.#settings.logger.warn(
        `[token-exchange] the key set of issuer ${issuer} was refused: ${answer.reason} (${answer.description})`,
      );
      return false;
    }
    return true;
  }

  #entry(name: string): CacheEntry {
    let entry = this.#cache.get(name);
    if (!entry) {
      entry = { loadedAt: 0, attemptedAt: 0, version: 0 };
      this.#cache.set(name, entry);
    }
    return entry;
  }

  #heldBy(engine: EngineBase): Map<string, number> {
    let held = this.#held.get(engine);
    if (!held) {
      held = new Map();
      this.#held.set(engine, held);
    }
    return held;
  }

  /** Hands `engine` the current set (as `issuer`'s) when it holds an older one, or none. */
  #sync(engine: EngineBase, issuer: string, name: string, entry: CacheEntry): void {
    if (!entry.jwks) return;
    const held = this.#heldBy(engine);
    if (held.get(name) === entry.version) return;
    held.set(name, entry.version);
    this.store(engine, issuer, entry.jwks);
  }

  async #load(engine: EngineBase, issuer: string, name: string, source: KeySource, entry: CacheEntry): Promise<void> {
    if (entry.inFlight) return entry.inFlight;
    entry.attemptedAt = this.#now();
    const run = async () => {
      let jwks: Jwks | null;
      try {
        jwks = await source.load();
      } catch (error) {
        this.#settings.logger.warn(`[token-exchange] could not load the keys of issuer ${issuer}: ${describe(error)}`);
        return;
      }
      // A set the engine refuses (logged) changes nothing, for any engine.
      if (!jwks || !this.store(engine, issuer, jwks)) return;
      entry.loadedAt = this.#now();
      entry.jwks = jwks;
      entry.version++;
      this.#heldBy(engine).set(name, entry.version);
    };
    entry.inFlight = run().finally(() => {
      entry.inFlight = undefined;
    });
    return entry.inFlight;
  }
}
