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
  /** draft-ietf-oauth-identity-assertion-authz-grant: an Identity Assertion JWT Authorization Grant. */
  idJag: "urn:ietf:params:oauth:token-type:id-jag",
} as const;

/** RFC 7523 §2.1: a JWT as an authorization grant (here: an ID-JAG). */
export const JWT_BEARER_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/** The ID-JAG grant profile, advertised in `authorization_grant_profiles_supported`. */
export const ID_JAG_GRANT_PROFILE = "urn:ietf:params:oauth:grant-profile:id-jag";

/** The `typ` of an ID-JAG (RFC 8725 §3.11 explicit typing). */
export const ID_JAG_TYP = "oauth-id-jag+jwt";
