/**
 * What the exchange engine answers: decisions with their audit records,
 * key-set answers and access-token verifications (the calls are in
 * types.ts). The Rust side (`src/answer.rs`, `src/verify.rs`) mirrors these
 * shapes with serde.
 */

import type { ReasonCode } from "../shared/reasons.js";
import type { ActClaim, OAuthErrorCode, TokenTypeUri } from "./types.js";

export type { ReasonCode } from "../shared/reasons.js";

export interface PartyRecord {
  iss?: string;
  sub?: string;
  clientId?: string;
}

/** One audit record per attempt (TX-60). Never carries a token value. */
export interface AuditRecord {
  time: number;
  clientId?: string;
  decision: "granted" | "refused";
  error?: OAuthErrorCode;
  reason?: ReasonCode;
  subject?: PartyRecord;
  actor?: PartyRecord;
  /** Outer-to-inner actors of the subject token's existing chain. */
  priorActors: PartyRecord[];
  subjectTokenType?: string;
  actorTokenType?: string;
  requestedTokenType?: string;
  audiences: string[];
  resources: string[];
  requestedScope?: string;
  grantedScope?: string;
  delegation: boolean;
}

export type Decision =
  | {
      type: "success";
      /** `sub` of the issued token (the subject's). */
      subject: string;
      subjectIssuer: string;
      /** Local user id to issue for (own tokens: `sub`; external: the mapped user). */
      userId: string;
      /** The session of an opaque subject token, when known. */
      sessionId?: string;
      /** Union of requested audiences and resources, in request order (TX-6). */
      audiences: string[];
      resources: string[];
      scopes: string[];
      /** Space-joined `scopes`. */
      scope: string;
      /** True when the response must carry `scope` (TX-32, TX-50). */
      scopeChanged: boolean;
      /** The `act` claim for the issued token (TX-40, TX-41). */
      act?: ActClaim;
      delegation: boolean;
      /** Latest `exp` the issued token may carry (TX-51). */
      expiresAt: number;
      /** When the subject (or actor) token expires: the end of anything refreshed from the issued token (TX-55). */
      chainExpiresAt?: number;
      issuedTokenType: TokenTypeUri;
      tokenType: "Bearer" | "N_A";
      /** For an ID-JAG: what its claims name beyond the subject. */
      idJag?: IdJagGrant;
      refreshToken: boolean;
      audit: AuditRecord;
    }
  | {
      type: "failure";
      error: OAuthErrorCode;
      status: 400 | 401 | 500;
      description: string;
      reason: ReasonCode;
      /** Set for `invalid_client` after HTTP Basic (TX-10). */
      wwwAuthenticate: boolean;
      audit: AuditRecord;
    };

export type KeysAnswer =
  | { type: "ok"; keys: number; skipped: Array<{ kid?: string; reason: string }> }
  | { type: "failure"; reason: ReasonCode; description: string };

/** An actor of the `act` chain. */
export interface ActorRecord {
  sub: string;
  iss?: string;
  clientId?: string;
}

/** The answer to `verifyAccessToken`. */
export type Verification =
  | {
      type: "valid";
      sub: string;
      iss: string;
      aud: string[];
      /** Seconds since the epoch. */
      exp: number;
      scopes: string[];
      /** The `client_id` claim: the client the token was issued to. */
      clientId?: string;
      /** The current actor: the outermost `act` (TX-44). */
      actor?: ActorRecord;
      /** Every actor, outermost (newest) first. */
      chain: ActorRecord[];
      /** Every claim of the token. */
      claims: Record<string, unknown>;
    }
  | {
      type: "invalid";
      /** RFC 6750 §3.1. */
      error: "invalid_token";
      reason: ReasonCode;
      description: string;
    };

/** What an ID-JAG names (draft-ietf-oauth-identity-assertion-authz-grant §3.1). */
export interface IdJagGrant {
  /** The resource authorization server's issuer (`aud`). */
  audience: string;
  /** The client's id at that server (`client_id`). */
  clientId: string;
  resources: string[];
  /** From the subject ID token: `auth_time`, `acr`, `amr`, `email`, `email_verified`, `tenant`. */
  claims: Record<string, unknown>;
}

/** The answer to `decideAssertion`. */
export type AssertionDecision =
  | {
      type: "success";
      /** The local user; absent when one is to be provisioned. */
      userId?: string;
      provision?: { email: string; emailVerified?: boolean; name?: string };
      subject: string;
      issuer: string;
      jti: string;
      /** The assertion's `exp`, seconds: how long its `jti` must be remembered. */
      assertionExpiresAt: number;
      resources: string[];
      scopes: string[];
      scope: string;
      scopeChanged: boolean;
      refreshToken: boolean;
      audit: AuditRecord;
    }
  | Extract<Decision, { type: "failure" }>;
