/**
 * `better-auth-token-exchange/bff`: the client side of RFC 8693 for a
 * backend-for-frontend (or any confidential client). `exchangeToken` posts a
 * token-exchange request to an authorization server's token endpoint and
 * answers the typed response or a typed error; `createExchangeTokenCache`
 * reuses an issued token until shortly before it expires.
 *
 * Plain `fetch` and WebCrypto only: no engine, no better-auth import, so it
 * runs on every runtime (Node.js, Deno, Bun, workerd, browsers).
 */

import { BodyTooLarge, fetchText, globalFetch, TimedOut, type Fetch, type FetchLike, type Signal } from "./http.js";

export type { AbortSignalLike, BodyStreamLike, Fetch, FetchLike, ResponseLike, Signal } from "./http.js";

/** RFC 8693 §2.1 grant type. */
export const TOKEN_EXCHANGE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange";

const TOKEN_TYPE_PREFIX = "urn:ietf:params:oauth:token-type:";
/** Largest token response read. */
const MAX_RESPONSE_BYTES = 256 * 1024;
/** Longest `error_description` passed on. */
const MAX_DESCRIPTION = 500;

/** RFC 8693 §3 token type identifiers. */
export type TokenTypeUri =
  | "urn:ietf:params:oauth:token-type:access_token"
  | "urn:ietf:params:oauth:token-type:refresh_token"
  | "urn:ietf:params:oauth:token-type:id_token"
  | "urn:ietf:params:oauth:token-type:jwt";

/** A token type: the URI, or its short name (`access_token` for `urn:ietf:params:oauth:token-type:access_token`). */
export type TokenType = TokenTypeUri | "access_token" | "refresh_token" | "id_token" | "jwt" | (string & {});

/**
 * How the client authenticates at the token endpoint (RFC 6749 §2.3.1):
 * HTTP Basic (id and secret form-urlencoded first, as §2.3.1 requires) or
 * both in the request body.
 */
export interface ClientAuth {
  method: "client_secret_basic" | "client_secret_post";
  clientId: string;
  clientSecret: string;
}

export interface ExchangeTokenOptions {
  /** The authorization server's token endpoint (discovery `token_endpoint`). */
  tokenEndpoint: string | { href: string };
  clientAuth: ClientAuth;
  /** The token representing the subject (for a BFF: the user's access token). */
  subjectToken: string;
  subjectTokenType: TokenType;
  /** The token representing the acting party (delegation, RFC 8693 §1.1). */
  actorToken?: string;
  /** Default `access_token` when `actorToken` is given. */
  actorTokenType?: TokenType;
  /** Logical target names; several are sent as repeated parameters. */
  audience?: string | string[];
  /** Target URIs (RFC 8707); several are sent as repeated parameters. */
  resource?: string | string[];
  /** Space-delimited, or a list. */
  scope?: string | string[];
  requestedTokenType?: TokenType;
  /** Default: the global `fetch`. */
  fetch?: Fetch;
  /** Aborts the request: the answer is then the error `aborted`. */
  signal?: Signal;
  /** Time allowed for the whole answer, milliseconds. Default 10000. */
  timeoutMs?: number;
  /** Reuse issued tokens: see {@link createExchangeTokenCache}. */
  cache?: ExchangeTokenCache;
}

/** A successful answer (RFC 8693 §2.2.1), as the server sent it. */
export interface TokenExchangeResponse {
  access_token: string;
  issued_token_type: string;
  /** `Bearer`, `DPoP`, or `N_A` when the issued token is not an access token. */
  token_type: string;
  /** Seconds left; from a cache, the time that remains. */
  expires_in?: number;
  /** Present when the granted scope differs from the requested one. */
  scope?: string;
  refresh_token?: string;
}

/**
 * An error. From the server: its OAuth `error` (`invalid_request`,
 * `invalid_client`, `unauthorized_client`, `invalid_scope`,
 * `invalid_target`, ...) and HTTP status. Without a usable answer:
 * `network_error`, `timeout` or `aborted` (status 0), or `invalid_response`
 * (not JSON, or not the shape RFC 8693 requires). Descriptions of our own
 * never contain token values.
 */
export interface ExchangeTokenError {
  error: string;
  error_description?: string;
  /** The HTTP status; 0 when no answer arrived. */
  status: number;
}

export type ExchangeTokenResult =
  | {
      ok: true;
      token: TokenExchangeResponse;
      /** True when no request of its own was sent (a cache hit, or a shared request in flight). */
      cached: boolean;
    }
  | { ok: false; error: ExchangeTokenError };

/** A token type as its URI. */
function tokenTypeUri(type: string): string {
  return type.includes(":") ? type : `${TOKEN_TYPE_PREFIX}${type}`;
}

const list = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

function scopeList(scope: string | string[] | undefined): string[] {
  return list(scope)
    .flatMap((s) => s.split(" "))
    .filter((s) => s.length > 0);
}

/** application/x-www-form-urlencoded, as RFC 6749 §2.3.1 asks for Basic credentials. */
const formEncode = (value: string) => new URLSearchParams([["", value]]).toString().slice(1);

function requireString(value: unknown, name: string): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new TypeError(`exchangeToken: ${name} must be a non-empty string`);
  }
  return value;
}

/** The request as form pairs and headers; throws a TypeError for missing options. */
function buildRequest(options: ExchangeTokenOptions) {
  const endpoint =
    typeof options?.tokenEndpoint === "string" ? options.tokenEndpoint : options?.tokenEndpoint?.href;
  requireString(endpoint, "tokenEndpoint");
  const auth = options.clientAuth;
  if (auth?.method !== "client_secret_basic" && auth?.method !== "client_secret_post") {
    throw new TypeError('exchangeToken: clientAuth.method must be "client_secret_basic" or "client_secret_post"');
  }
  const clientId = requireString(auth.clientId, "clientAuth.clientId");
  const clientSecret = requireString(auth.clientSecret, "clientAuth.clientSecret");
  const subjectToken = requireString(options.subjectToken, "subjectToken");
  const subjectTokenType = tokenTypeUri(requireString(options.subjectTokenType, "subjectTokenType"));
  const actorToken = options.actorToken === undefined ? undefined : requireString(options.actorToken, "actorToken");
  const actorTokenType = actorToken === undefined ? undefined : tokenTypeUri(options.actorTokenType ?? "access_token");
  const requestedTokenType =
    options.requestedTokenType === undefined ? undefined : tokenTypeUri(options.requestedTokenType);
  const audiences = list(options.audience);
  const resources = list(options.resource);
  const scopes = scopeList(options.scope);

  const form: Array<[string, string]> = [
    ["grant_type", TOKEN_EXCHANGE_GRANT_TYPE],
    ["subject_token", subjectToken],
    ["subject_token_type", subjectTokenType],
  ];
  if (actorToken !== undefined && actorTokenType !== undefined) {
    form.push(["actor_token", actorToken], ["actor_token_type", actorTokenType]);
  }
  for (const a of audiences) form.push(["audience", a]);
  for (const r of resources) form.push(["resource", r]);
  if (scopes.length > 0) form.push(["scope", scopes.join(" ")]);
  if (requestedTokenType) form.push(["requested_token_type", requestedTokenType]);

  const headers: Record<string, string> = {
    "content-type": "application/x-www-form-urlencoded",
    accept: "application/json",
  };
  if (auth.method === "client_secret_basic") {
    headers.authorization = `Basic ${btoa(`${formEncode(clientId)}:${formEncode(clientSecret)}`)}`;
  } else {
    form.push(["client_id", clientId], ["client_secret", clientSecret]);
  }
  // What makes two requests the same, for the cache. Sorted where order
  // carries no meaning; hashed before use (ExchangeTokenCache).
  const identity = JSON.stringify([
    endpoint,
    clientId,
    subjectToken,
    subjectTokenType,
    actorToken ?? null,
    actorTokenType ?? null,
    [...new Set(audiences)].sort(),
    [...new Set(resources)].sort(),
    [...new Set(scopes)].sort(),
    requestedTokenType ?? null,
  ]);
  return { endpoint: endpoint as string, form, headers, identity };
}

const failure = (error: string, status: number, description?: string): ExchangeTokenResult => ({
  ok: false,
  error: description === undefined ? { error, status } : { error, error_description: description, status },
});

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Reads the answer: the RFC 8693 §2.2.1 shape on 200, an RFC 6749 §5.2 error otherwise. */
function readAnswer(status: number, text: string): ExchangeTokenResult {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return failure("invalid_response", status, "the token endpoint did not answer JSON");
  }
  if (status !== 200) {
    if (!isObject(body) || typeof body.error !== "string" || body.error.length === 0) {
      return failure("invalid_response", status, `the token endpoint answered HTTP ${status} without an OAuth error`);
    }
    const description = typeof body.error_description === "string" ? body.error_description.slice(0, MAX_DESCRIPTION) : undefined;
    return failure(body.error, status, description);
  }
  if (
    !isObject(body) ||
    typeof body.access_token !== "string" ||
    body.access_token.length === 0 ||
    typeof body.issued_token_type !== "string" ||
    typeof body.token_type !== "string" ||
    (body.expires_in !== undefined && !(typeof body.expires_in === "number" && Number.isFinite(body.expires_in) && body.expires_in >= 0)) ||
    (body.scope !== undefined && typeof body.scope !== "string") ||
    (body.refresh_token !== undefined && typeof body.refresh_token !== "string")
  ) {
    return failure("invalid_response", status, "the token endpoint's answer is not an RFC 8693 token response");
  }
  const token: TokenExchangeResponse = {
    access_token: body.access_token,
    issued_token_type: body.issued_token_type,
    token_type: body.token_type,
  };
  if (body.expires_in !== undefined) token.expires_in = body.expires_in as number;
  if (body.scope !== undefined) token.scope = body.scope as string;
  if (body.refresh_token !== undefined) token.refresh_token = body.refresh_token as string;
  return { ok: true, token, cached: false };
}

async function send(
  options: ExchangeTokenOptions,
  request: ReturnType<typeof buildRequest>,
): Promise<ExchangeTokenResult> {
  const fetchImpl = (options.fetch as FetchLike | undefined) ?? globalFetch();
  const signal = options.signal as Parameters<typeof fetchText>[3]["signal"];
  let answer: { status: number; text: string };
  try {
    answer = await fetchText(
      fetchImpl,
      request.endpoint,
      { method: "POST", headers: request.headers, body: new URLSearchParams(request.form).toString() },
      { timeoutMs: options.timeoutMs ?? 10_000, limit: MAX_RESPONSE_BYTES, signal },
    );
  } catch (error) {
    // Names only: a message could carry what a custom fetch put in it.
    if (error instanceof TimedOut) return failure("timeout", 0, `the token endpoint did not answer within ${error.ms} ms`);
    if (signal?.aborted) return failure("aborted", 0, "the request was aborted");
    if (error instanceof BodyTooLarge) return failure("invalid_response", 0, `the answer is larger than ${error.limit} bytes`);
    const name = error instanceof Error ? error.name : typeof error;
    return failure("network_error", 0, `the token endpoint could not be reached (${name})`);
  }
  return readAnswer(answer.status, answer.text);
}

/**
 * Exchanges a token at `tokenEndpoint` (RFC 8693 §2.1): a form-encoded POST
 * with `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`.
 * Resolves to `{ ok: true, token }` or `{ ok: false, error }`; it rejects
 * only for missing or malformed options (a `TypeError`).
 */
export async function exchangeToken(options: ExchangeTokenOptions): Promise<ExchangeTokenResult> {
  const request = buildRequest(options);
  const cache = options.cache;
  if (!cache) return send(options, request);
  return cache.run(request.identity, options.signal as { aborted: boolean } | undefined, () => send(options, request));
}

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
