/**
 * `better-auth-token-exchange/bff`: the client side of RFC 8693 for a
 * backend-for-frontend (or any confidential client). `exchangeToken` posts a
 * token-exchange request to an authorization server's token endpoint and
 * answers the typed response or a typed error; `createExchangeTokenCache`
 * (cache.ts) reuses an issued token until shortly before it expires.
 *
 * Plain `fetch` and WebCrypto only: no engine, no better-auth import, so it
 * runs on every runtime (Node.js, Deno, Bun, workerd, browsers).
 */

import { BodyTooLarge, fetchText, globalFetch, TimedOut, type Fetch, type FetchLike, type Signal } from "../shared/http.js";
import { TOKEN_EXCHANGE_GRANT_TYPE, TOKEN_TYPE } from "../shared/urns.js";
import type { ExchangeTokenCache } from "./cache.js";
import type { ClientAuth, ExchangeTokenResult, TokenExchangeResponse, TokenType } from "./types.js";

export type { AbortSignalLike, BodyStreamLike, Fetch, FetchLike, ResponseLike, Signal } from "../shared/http.js";
export { TOKEN_EXCHANGE_GRANT_TYPE } from "../shared/urns.js";
export type * from "./types.js";

const TOKEN_TYPE_PREFIX = "urn:ietf:params:oauth:token-type:";
/** Largest token response read. */
const MAX_RESPONSE_BYTES = 256 * 1024;
/** Longest `error_description` passed on. */
const MAX_DESCRIPTION = 500;

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

/** A token type as its URI. */
/** A token type's URI from its URI or short name (`id_jag` is the URN's `id-jag`). */
function tokenTypeUri(type: string): string {
  if (type.includes(":")) return type;
  return type === "id_jag" ? TOKEN_TYPE.idJag : `${TOKEN_TYPE_PREFIX}${type}`;
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
