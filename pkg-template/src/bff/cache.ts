/**
 * The BFF helper's cache of exchanged tokens: issued tokens by request, in
 * memory, never served at or past their expiry (minus a skew), and one
 * request in flight shared by identical callers.
 */

import type { ExchangeTokenResult, TokenExchangeResponse } from "./types.js";

export interface ExchangeTokenCacheOptions {
  /** Most tokens kept; the least recently used goes first. Default 1000. */
  maxEntries?: number;
  /** A token is not served once it has fewer than this many seconds left. Default 30. */
  skewSeconds?: number;
  /** The clock, milliseconds since the epoch (like `Date.now`, the default). */
  now?: () => number;
}

interface Entry {
  token: TokenExchangeResponse;
  /** When the token expires (ms), by its `expires_in` counted from when the request was sent. */
  expiresAt: number;
}

/**
 * Issued tokens by request, in memory. Keyed by a SHA-256 digest of what
 * makes two requests the same (endpoint, client, subject and actor tokens
 * and types, sorted audiences, resources and scope, requested type), so the
 * token values are never map keys. Only answers with `expires_in` are kept,
 * and an entry is never served at or past `expires_in - skewSeconds`.
 * Identical requests made while one is in flight share it.
 */
export class ExchangeTokenCache {
  readonly #entries = new Map<string, Entry>();
  readonly #inFlight = new Map<string, Promise<ExchangeTokenResult>>();
  readonly #max: number;
  readonly #skewMs: number;
  readonly #now: () => number;

  constructor(options: ExchangeTokenCacheOptions = {}) {
    const max = options.maxEntries ?? 1000;
    const skew = options.skewSeconds ?? 30;
    if (!Number.isInteger(max) || max < 1) throw new TypeError("ExchangeTokenCache: maxEntries must be a positive integer");
    if (!Number.isFinite(skew) || skew < 0) throw new TypeError("ExchangeTokenCache: skewSeconds must be 0 or more");
    this.#max = max;
    this.#skewMs = skew * 1000;
    this.#now = options.now ?? Date.now;
  }

  /** Tokens held (expired ones included until they are looked up or pushed out). */
  get size(): number {
    return this.#entries.size;
  }

  /** Forgets every token. */
  clear(): void {
    this.#entries.clear();
  }

  /**
   * The cached answer for `identity`, or the answer of `send` (stored when
   * it can be). Used by {@link exchangeToken}.
   * @internal
   */
  async run(
    identity: string,
    signal: { aborted: boolean } | undefined,
    send: () => Promise<ExchangeTokenResult>,
  ): Promise<ExchangeTokenResult> {
    const key = await digest(identity);
    const hit = this.#get(key);
    if (hit) return { ok: true, token: hit, cached: true };
    const pending = this.#inFlight.get(key);
    if (pending) {
      const shared = await pending;
      // Another caller's abort is not this caller's: ask again.
      if (shared.ok || shared.error.error !== "aborted" || signal?.aborted) {
        return shared.ok ? { ...shared, token: { ...shared.token }, cached: true } : shared;
      }
    }
    const sentAt = this.#now();
    const request = send();
    this.#inFlight.set(key, request);
    try {
      const result = await request;
      if (result.ok) this.#set(key, result.token, sentAt);
      return result;
    } finally {
      if (this.#inFlight.get(key) === request) this.#inFlight.delete(key);
    }
  }

  #get(key: string): TokenExchangeResponse | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    const left = entry.expiresAt - this.#now();
    this.#entries.delete(key);
    if (left <= this.#skewMs) return undefined;
    this.#entries.set(key, entry); // most recently used last
    return { ...entry.token, expires_in: Math.floor(left / 1000) };
  }

  #set(key: string, token: TokenExchangeResponse, sentAt: number): void {
    // Without expires_in nobody knows when the token dies: never reuse it.
    if (token.expires_in === undefined) return;
    const expiresAt = sentAt + token.expires_in * 1000;
    if (expiresAt - this.#now() <= this.#skewMs) return;
    this.#entries.delete(key);
    if (this.#entries.size >= this.#max) {
      const now = this.#now();
      for (const [k, e] of this.#entries) if (e.expiresAt - now <= this.#skewMs) this.#entries.delete(k);
      for (const k of this.#entries.keys()) {
        if (this.#entries.size < this.#max) break;
        this.#entries.delete(k);
      }
    }
    this.#entries.set(key, { token: { ...token }, expiresAt });
  }
}

/** A cache for {@link exchangeToken}'s `cache` option. */
export function createExchangeTokenCache(options?: ExchangeTokenCacheOptions): ExchangeTokenCache {
  return new ExchangeTokenCache(options);
}

/** Base64url SHA-256 of `text` (WebCrypto: every runtime has it). */
async function digest(text: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
