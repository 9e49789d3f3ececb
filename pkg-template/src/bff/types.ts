/**
 * The BFF helper's answers and the shapes its options use, shared by the
 * request (exchange.ts) and the cache (cache.ts).
 */

import type { TokenTypeUri } from "../engine/types.js";

export type { TokenTypeUri } from "../engine/types.js";

/**
 * A token type: the URI, or its short name (`access_token` for
 * `urn:ietf:params:oauth:token-type:access_token`; `id_jag` for
 * `urn:ietf:params:oauth:token-type:id-jag`).
 */
export type TokenType = TokenTypeUri | "access_token" | "refresh_token" | "id_token" | "jwt" | "id_jag" | (string & {});

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
