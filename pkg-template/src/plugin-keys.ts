/**
 * Key loading for the engine: this server's signing keys (from better-auth's
 * jwt plugin) and the keys of configured trusted issuers (inline or fetched).
 * All I/O of key material lives here; the engine only receives JWKS data.
 *
 * Rules (TX-22, TX-24): keys are loaded only for this server's issuer and for
 * issuers listed in the options, never from a URL a token names (`jku`,
 * `x5u`); a fetch is bounded in time and size, and its failure leaves the
 * engine without the key so that it refuses with `unknown_key`.
 *
 * What is kept in memory, per plugin instance (and so per server process):
 * one entry per issuer that is this server or a configured trusted issuer
 * (never per issuer a token names), holding the times of the last load and
 * attempt; the key sets themselves live in the engine (at most 100 keys and
 * 1 MiB per set). A set is reloaded when it is older than `cacheTtlMs`, or
 * at once when a token names a `kid` it lacks (for remote sets at most once
 * per `refetchIntervalMs`). A set that cannot be reloaded is used until
 * `maxStaleMs` after its last successful load, then dropped.
 * @internal
 */

import type { EngineBase } from "./engine-core.js";
import type { Jwks, TokenHint } from "./engine-types.js";
import type { TokenExchangeContext, TrustedIssuerOptions } from "./plugin-types.js";

/** Largest JWKS document accepted from a fetch (the engine enforces the same bound). */
export const MAX_JWKS_BYTES = 1024 * 1024;

/** Where this server's keys come from. */
export interface OwnKeySource {
  issuer: string;
  load(ctx: TokenExchangeContext): Promise<Jwks | null>;
}

interface CacheEntry {
  /** When the set was loaded (ms); `0` when never. */
  loadedAt: number;
  /** Last attempt, successful or not (ms), for the refetch rate limit. */
  attemptedAt: number;
  inFlight?: Promise<void>;
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
 * Loads and caches key sets into one engine. One instance per engine; safe
 * under concurrent requests (loads of one issuer are shared while in flight).
 */
export class KeyResolver {
  readonly #engine: EngineBase;
  readonly #own: OwnKeySource;
  readonly #settings: KeyResolverSettings;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #now: () => number;

  constructor(engine: EngineBase, own: OwnKeySource, settings: KeyResolverSettings) {
    this.#engine = engine;
    this.#own = own;
    this.#settings = settings;
    this.#now = settings.now ?? Date.now;
    // Inline key sets never change: set them once (unless a callback owns keys).
    if (!settings.resolveKeys) {
      for (const trusted of settings.trustedIssuers) {
        if (trusted.jwks) this.#store(trusted.issuer, trusted.jwks);
      }
    }
  }

  /**
   * Makes sure the engine holds keys for the issuer a token hint names, when
   * that issuer is this server or a trusted one. `reloaded` tracks issuers
   * already reloaded during this request (at most one reload per request).
   */
  async ensure(hint: TokenHint | undefined, ctx: TokenExchangeContext, reloaded: Set<string>): Promise<void> {
    if (!hint || hint.format !== "jwt" || typeof hint.issuer !== "string") return;
    const issuer = hint.issuer;
    const own = issuer === this.#own.issuer;
    const trusted = own ? undefined : this.#settings.trustedIssuers.find((t) => t.issuer === issuer);
    if (!own && !trusted) return; // never fetch for an issuer nobody configured
    if (!own && trusted?.jwks && !this.#settings.resolveKeys) return; // inline, set once

    const entry = this.#entry(issuer);
    const now = this.#now();
    const age = now - entry.loadedAt;
    if (entry.loadedAt > 0 && age >= Math.max(this.#settings.maxStaleMs, this.#settings.cacheTtlMs)) {
      // Reloads kept failing: stop trusting keys nobody could confirm for so long.
      this.#store(issuer, { keys: [] });
      entry.loadedAt = 0;
      this.#settings.logger.warn(
        `[token-exchange] the key set of issuer ${issuer} was last loaded ${Math.round(age / 1000)} s ago: dropped`,
      );
    }
    const fresh = entry.loadedAt > 0 && now - entry.loadedAt < this.#settings.cacheTtlMs;
    if (fresh && this.#engine.hasKey(issuer, hint.keyId)) return;
    if (reloaded.has(issuer)) return;
    // An unknown kid may mean the issuer rotated its keys; a stale or failed
    // set is due for another try. Our own keys come from the database (cheap);
    // a remote set is fetched at most once per interval, so a stream of bogus
    // kids cannot drive fetches.
    const remote = !own && !this.#settings.resolveKeys;
    if (remote && entry.attemptedAt > 0 && now - entry.attemptedAt < this.#settings.refetchIntervalMs) return;
    reloaded.add(issuer);
    await this.#load(issuer, own, trusted, ctx, entry);
  }

  #entry(issuer: string): CacheEntry {
    let entry = this.#cache.get(issuer);
    if (!entry) {
      entry = { loadedAt: 0, attemptedAt: 0 };
      this.#cache.set(issuer, entry);
    }
    return entry;
  }

  async #load(
    issuer: string,
    own: boolean,
    trusted: TrustedIssuerOptions | undefined,
    ctx: TokenExchangeContext,
    entry: CacheEntry,
  ): Promise<void> {
    if (entry.inFlight) return entry.inFlight;
    entry.attemptedAt = this.#now();
    const run = async () => {
      let jwks: Jwks | null = null;
      try {
        if (this.#settings.resolveKeys) jwks = await this.#settings.resolveKeys(issuer, ctx);
        else if (own) jwks = await this.#own.load(ctx);
        else if (trusted?.jwksUri) jwks = await fetchJwks(trusted.jwksUri, this.#settings.fetchTimeoutMs);
      } catch (error) {
        this.#settings.logger.warn(
          `[token-exchange] could not load the keys of issuer ${issuer}: ${describe(error)}`,
        );
        return;
      }
      if (jwks && this.#store(issuer, jwks)) entry.loadedAt = this.#now();
    };
    entry.inFlight = run().finally(() => {
      entry.inFlight = undefined;
    });
    return entry.inFlight;
  }

  #store(issuer: string, jwks: Jwks): boolean {
    const answer = this.#engine.setIssuerKeys(issuer, jwks as never);
    if (answer.type === "failure") {
      this.#settings.logger.warn(
        `[token-exchange] the key set of issuer ${issuer} was refused: ${answer.reason} (${answer.description})`,
      );
      return false;
    }
    return true;
  }
}

/** GET a JWKS document with a timeout and a size limit; no redirects to other hosts. */
export async function fetchJwks(uri: string, timeoutMs: number): Promise<Jwks> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetch(uri, {
      headers: { accept: "application/jwk-set+json, application/json" },
      redirect: "error",
      signal: controller.signal,
    });
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new Error(`HTTP ${response.status}`);
    }
    const declared = Number(response.headers.get("content-length") ?? "0");
    if (declared > MAX_JWKS_BYTES) {
      await response.body?.cancel().catch(() => undefined);
      throw new Error("the key set is larger than 1 MiB");
    }
    const text = await readLimited(response, MAX_JWKS_BYTES);
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new Error("the key set is not a JSON object");
    }
    return parsed as Jwks;
  } finally {
    clearTimeout(timer);
  }
}

/** Reads a body as UTF-8, failing as soon as it exceeds `limit` bytes. */
export async function readLimited(source: { body: ReadableStream<Uint8Array> | null }, limit: number): Promise<string> {
  if (!source.body) return "";
  const reader = source.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLarge(limit);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

/** A body over its size limit. */
export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`the body is larger than ${limit} bytes`);
    this.name = "BodyTooLarge";
  }
}

/** An error's name and message, for logs (never a stack, never a token). */
export function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
