/**
 * The URNs of the grants and token types the package speaks, defined once
 * (RFC 8693 §2.1 and §3, RFC 7523 §2.1, and the Identity Assertion JWT
 * Authorization Grant draft). Everything else imports them from here.
 */

/** RFC 8693 §2.1: the token-exchange grant type. */
export const TOKEN_EXCHANGE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange";

/** RFC 8693 §3 token type identifiers. */
export const TOKEN_TYPE = {
  accessToken: "urn:ietf:params:oauth:token-type:access_token",
  refreshToken: "urn:ietf:params:oauth:token-type:refresh_token",
  idToken: "urn:ietf:params:oauth:token-type:id_token",
  jwt: "urn:ietf:params:oauth:token-type:jwt",
} as const;
