/**
 * OAuth error answers (RFC 6749 §5.2): JSON `{ error, error_description }`
 * with `Cache-Control: no-store`, 401 with `WWW-Authenticate` after HTTP
 * Basic (TX-10, TX-70). Every description the plugin sends passes through
 * {@link safeDescription} (TX-71).
 * @internal
 */

import { APIError } from "better-auth/api";

/** `WWW-Authenticate` of a 401 after HTTP Basic (RFC 6749 §5.2, TX-10). */
const BASIC_CHALLENGE = 'Basic realm="oauth"';
/** Longest description sent. */
const MAX_DESCRIPTION = 300;

export const SERVER_FAILURE = "the token exchange failed on the server";
export const NOT_RECORDED = "the exchange could not be recorded";
export const SESSION_ENDED = "the subject token's session has ended";

/**
 * `text` with every character RFC 6749 §5.2 does not allow in an
 * `error_description` (%x20-21 / %x23-5B / %x5D-7E: no `"`, no `\`, no
 * control or non-ASCII character) replaced by `?`, and bounded in length.
 */
export function safeDescription(text: string): string {
  const bounded = text.length > MAX_DESCRIPTION ? `${text.slice(0, MAX_DESCRIPTION)}...` : text;
  return bounded.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, "?");
}

/** An OAuth error answer. */
export function oauthError(status: number, error: string, description: string, challenge = false): APIError {
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
    { error, error_description: safeDescription(description) },
    { "Cache-Control": "no-store", ...(challenge ? { "WWW-Authenticate": BASIC_CHALLENGE } : {}) },
  );
}

/**
 * RFC 7009 §2.2.1: the revocation did not complete (what descends from the
 * token may still be active); the client retries, and the retry ends the rest.
 */
export const revocationUnfinished = (): APIError =>
  oauthError(503, "temporarily_unavailable", "the revocation could not be completed; retry later");

/** The shape of better-auth's `APIError` that matters here. */
export interface ApiErrorLike {
  name: string;
  status?: string | number;
  statusCode?: number;
  body?: { error?: unknown; error_description?: unknown } | undefined;
}

export function isApiError(error: unknown): error is ApiErrorLike {
  return (
    typeof error === "object" &&
    error !== null &&
    (error as { name?: unknown }).name === "APIError" &&
    typeof (error as ApiErrorLike).body === "object"
  );
}

/** An answer the provider or the plugin already made an OAuth error of. */
export function isOAuthAnswer(error: unknown): error is ApiErrorLike & { body: { error: string } } {
  return isApiError(error) && typeof error.body?.error === "string";
}

/**
 * The token endpoint's error answer with a safe description (TX-71), when
 * the answer is an OAuth error whose description is not: the provider
 * echoes some request values (an unknown `grant_type`) before any grant
 * runs. Undefined when there is nothing to change.
 */
export function saferAnswer(returned: unknown): APIError | undefined {
  if (!isOAuthAnswer(returned)) return undefined;
  const description = typeof returned.body.error_description === "string" ? returned.body.error_description : undefined;
  if (description === undefined || safeDescription(description) === description) return undefined;
  const status = typeof returned.statusCode === "number" ? returned.statusCode : 400;
  return oauthError(status, returned.body.error, description);
}
