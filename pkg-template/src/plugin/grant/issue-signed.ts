/**
 * Issuing an exchange whose requested token is not an access token (RFC 8693
 * §3, `token_type` `N_A`), signed with this server's keys (the jwt plugin's):
 * - an ID-JAG (`urn:ietf:params:oauth:token-type:id-jag`,
 *   draft-ietf-oauth-identity-assertion-authz-grant §3.1): `typ`
 *   `oauth-id-jag+jwt`, for a resource authorization server (`aud`) and the
 *   client as that server knows it (`client_id`), short-lived;
 * - a JWT (`urn:ietf:params:oauth:token-type:jwt`): the claims an exchanged
 *   access token would carry, `typ` `JWT`.
 * Neither is stored by the provider nor refreshable; the record is written
 * first (TX-61), like every grant's.
 * @internal
 */

import type { OAuthTokenResponse } from "@better-auth/oauth-provider";
import type { Decision } from "../../engine/answers.js";
import { ID_JAG_TYP, TOKEN_TYPE } from "../../shared/urns.js";
import { refuse, toRecord } from "../audit/trail.js";
import { type Ctx, ownIssuer, type ProviderOptions, type ProviderUser, signJwt, tokenResponse } from "../provider.js";
import { newRecordId } from "../store.js";
import type { Exchange } from "./state.js";

type SuccessDecision = Extract<Decision, { type: "success" }>;

/** One claim or a list of them, as JWT claims spell a single value. */
const oneOrMany = (values: readonly string[]): string | string[] => (values.length === 1 ? (values[0] as string) : [...values]);

/** `email` and `email_verified` of the user's row, when it has an email. */
function emailClaims(user: ProviderUser): { email?: string; email_verified?: boolean } {
  if (typeof user.email !== "string" || user.email === "") return {};
  return { email: user.email, email_verified: user.emailVerified === true };
}

export async function issueSigned(
  x: Exchange,
  {
    ctx,
    opts,
    decision,
    started,
    clientId,
    user,
  }: { ctx: Ctx; opts: ProviderOptions; decision: SuccessDecision; started: number; clientId: string; user: ProviderUser },
): Promise<OAuthTokenResponse> {
  const idJag = decision.issuedTokenType === TOKEN_TYPE.idJag ? decision.idJag : undefined;
  // The engine capped the expiry (TX-51); a JWT also never outlives an access token.
  const exp = idJag ? decision.expiresAt : Math.min(decision.expiresAt, started + (opts.accessTokenExpiresIn ?? 3600));
  if (exp <= started) {
    return x.refuse(ctx, refuse(decision.audit, "invalid_request", "token_expired"), {
      error: "invalid_request",
      status: 400,
      description: "the presented tokens expire too soon to be exchanged",
    });
  }
  const record = toRecord(newRecordId(), decision.audit, {
    act: decision.act,
    expiresAt: exp,
    grantedScope: decision.scope,
  });
  await x.record(ctx, record);
  const common = {
    iss: ownIssuer(ctx.context),
    sub: decision.userId,
    jti: globalThis.crypto.randomUUID(),
    iat: started,
    exp,
    ...(decision.scope ? { scope: decision.scope } : {}),
  };
  const targets = [...decision.audiences, ...decision.resources];
  const payload = idJag
    ? {
        ...idJag.claims,
        // Draft §3.1: the user's email as this server knows it (an OIDC ID
        // token often leaves it to the UserInfo endpoint), for the resource
        // AS to link or provision the user.
        ...emailClaims(user),
        ...common,
        aud: idJag.audience,
        client_id: idJag.clientId,
        ...(idJag.resources.length > 0 ? { resource: oneOrMany(idJag.resources) } : {}),
      }
    : {
        ...common,
        ...(targets.length > 0 ? { aud: oneOrMany(targets) } : {}),
        client_id: clientId,
        ...(decision.act ? { act: decision.act } : {}),
      };
  const token = await signJwt(ctx, { typ: idJag ? ID_JAG_TYP : "JWT", payload });
  return tokenResponse({
    access_token: token,
    issued_token_type: decision.issuedTokenType,
    token_type: "N_A",
    expires_in: exp - started,
    // RFC 8693 §2.2.1: when it differs from the request; an ID-JAG's always (the draft's example).
    ...(decision.scope && (idJag || decision.scopeChanged) ? { scope: decision.scope } : {}),
  });
}
