/**
 * The jwt-bearer grant (RFC 7523 §2.1) for ID-JAGs: the resource
 * authorization server's side of cross-app access
 * (draft-ietf-oauth-identity-assertion-authz-grant §4.4). One request:
 *   1. read the form, authenticate the client and read its policy and the
 *      resources it asks for, as the exchange does (grant/request.ts);
 *   2. load the trusted IdP's keys for the assertion (grant/keys.ts);
 *   3. let the engine decide (`decideAssertion`: typ, issuer, signature,
 *      times, aud, client_id, targets, scope, subject);
 *   4. find or provision the user (provision.ts);
 *   5. record the attempt and the assertion's redemption in one transaction
 *      (a second redemption of its `jti` is refused, replay.ts), then issue
 *      through the provider. Errors are `invalid_grant` (RFC 7523 §3.1)
 *      unless the client or the request is at fault.
 * @internal
 */

import type { OAuthTokenResponse } from "@better-auth/oauth-provider";
import { getCurrentAdapter, runWithTransaction } from "@better-auth/core/context";
import type { AssertionDecision } from "../../engine/answers.js";
import type { AssertionCall } from "../../engine/types.js";
import { describe } from "../../shared/http.js";
import { JWT_BEARER_GRANT_TYPE } from "../../shared/urns.js";
import { refuse, toRecord } from "../audit/trail.js";
import { isOAuthAnswer, NOT_RECORDED, oauthError } from "../errors.js";
import { assertionTargets } from "../grant/client-policy.js";
import { externalUser } from "../grant/lookups.js";
import { guarded, receive, refuseFailure } from "../grant/request.js";
import type { Exchange } from "../grant/state.js";
import { type Ctx, type GrantInput, providerClient, type ProviderUser, publicContext, tokenResponse } from "../provider.js";
import { newRecordId } from "../store.js";
import type { ExchangeRecord } from "../types.js";
import { provisionUser } from "./provision.js";
import { assertionId, redeem, sweep, wasRedeemed } from "./replay.js";

type Granted = Extract<AssertionDecision, { type: "success" }>;

/** The grant handler. */
export async function handleAssertion(x: Exchange, input: GrantInput): Promise<OAuthTokenResponse> {
  return guarded(input, "the jwt-bearer grant", () => assertionGrant(x, input));
}

async function assertionGrant(x: Exchange, input: GrantInput): Promise<OAuthTokenResponse> {
  const { ctx } = input;
  const { started, form, reads, api, auth, client, issuer } = await receive(x, input, {
    grant: "assertion",
    targets: assertionTargets,
    recordedGrantType: JWT_BEARER_GRANT_TYPE,
  });
  const { engine, keys } = issuer;
  const refused = (audit: Parameters<Exchange["refuse"]>[1], answer: Parameters<Exchange["refuse"]>[2]) =>
    x.refuse(ctx, audit, answer, JWT_BEARER_GRANT_TYPE);
  const call: AssertionCall = { form, now: started, client };
  if (client.status === "authenticated" && client.allowedIdJag && !client.disabled) {
    const { assertion } = engine.inspect(form);
    await keys.ensure(assertion, publicContext(ctx), new Set());
    const subjectUser = await externalUser(x.options, ctx.context.adapter, assertion);
    if (subjectUser) call.subjectUser = subjectUser;
  }
  const decision = engine.decideAssertion(call);
  if (decision.type === "failure") return refuseFailure(x, ctx, decision, JWT_BEARER_GRANT_TYPE);
  if (!auth.ok) throw new Error("the engine granted an unauthenticated client");
  const redeemed = await recordRedemption(x, ctx, decision);
  if (!redeemed.user) {
    return refused(refuse(decision.audit, "invalid_grant", "subject_not_linked"), {
      error: "invalid_grant",
      status: 400,
      description: "the assertion's subject is not a user of this server and may not be provisioned",
    });
  }
  const { user, record } = redeemed;
  const scopes = decision.scopes.filter((s) => s !== "openid" && (decision.refreshToken || s !== "offline_access"));
  let response: OAuthTokenResponse;
  try {
    response = await reads.run(ctx, async () =>
      api.issueTokens({
        client: providerClient(auth.client),
        user,
        scopes,
        ...(decision.resources.length > 0 ? { resources: decision.resources } : {}),
      }),
    );
  } catch (error) {
    await x.amend(ctx, record, isOAuthAnswer(error) ? error.body.error : "server_error", "issuance_failed");
    throw error;
  }
  const body: Record<string, unknown> = { ...response };
  delete body.id_token;
  if (!decision.refreshToken) delete body.refresh_token;
  return tokenResponse(body);
}

/** The user to issue for: linked, or provisioned just in time when the issuer allows it; null when neither. */
async function userOf(x: Exchange, ctx: Ctx, decision: Granted): Promise<ProviderUser | null> {
  if (decision.userId) return (await ctx.context.internalAdapter.findUserById(decision.userId)) as ProviderUser | null;
  if (!decision.provision) return null;
  const trusted = (x.options.trustedIssuers ?? []).find((t) => t.issuer === decision.issuer);
  return provisionUser(ctx, { providerId: trusted?.providerId ?? decision.issuer, accountId: decision.subject }, decision.provision);
}

/** Thrown inside the redemption's transaction to roll it back: the subject has no user here. */
class NoUser extends Error {}
/** Thrown inside the redemption's transaction: the assertion's row exists. */
class Replayed extends Error {}

/**
 * The assertion's redemption, its user (provisioned when allowed) and the
 * grant's record, in one transaction (TX-60, TX-61): all or nothing. The
 * redemption comes first, so two requests presenting one assertion are
 * serialized by its row: the second is a replay (`invalid_grant`) and never
 * provisions. A subject without a user rolls it all back (`user` null); any
 * other failure, nothing is issued (500).
 */
async function recordRedemption(
  x: Exchange,
  ctx: Ctx,
  decision: Granted,
): Promise<{ user: ProviderUser; record: ExchangeRecord } | { user: null }> {
  const id = await assertionId(decision.issuer, decision.jti);
  const record = toRecord(newRecordId(), decision.audit, { grantedScope: decision.scope, grantType: JWT_BEARER_GRANT_TYPE });
  // Kept past the assertion's expiry by the clock leeway it may be accepted with.
  const until = new Date((decision.assertionExpiresAt + (x.options.leewaySeconds ?? 30)) * 1000);
  const replayed = () =>
    x.refuse(ctx, refuse(decision.audit, "invalid_grant", "assertion_replayed"), {
      error: "invalid_grant",
      status: 400,
      description: "the assertion was redeemed before (its jti is used once)",
    }, JWT_BEARER_GRANT_TYPE);
  let user: ProviderUser;
  try {
    user = await runWithTransaction(ctx.context.adapter, async () => {
      const db = await getCurrentAdapter(ctx.context.adapter);
      // Seen before: refused without a write. The row's key is the guard
      // when two requests race past this read.
      if (await wasRedeemed(db, id)) throw new Replayed();
      await redeem(db, id, decision.issuer, until);
      const found = await userOf(x, ctx, decision);
      if (!found) throw new NoUser();
      await x.audit.write(record, db, publicContext(ctx));
      return found;
    });
  } catch (error) {
    if (error instanceof NoUser) return { user: null };
    if (error instanceof Replayed || (await wasRedeemed(ctx.context.adapter, id).catch(() => false))) return replayed();
    if (isOAuthAnswer(error)) throw error;
    ctx.context.logger.error(`[token-exchange] the assertion's redemption could not be recorded: ${describe(error)}`);
    throw oauthError(500, "server_error", NOT_RECORDED);
  }
  await sweep(ctx.context.adapter, new Date()).catch((error) =>
    ctx.context.logger.warn(`[token-exchange] expired assertions could not be removed: ${describe(error)}`),
  );
  return { user, record };
}
