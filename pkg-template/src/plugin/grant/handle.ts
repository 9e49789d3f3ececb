/**
 * The token-exchange grant (RFC 8693 §2), one request:
 *   1. read the raw form (bounded), keeping order and repeats (form.ts);
 *   2. authenticate the client through the oauth-provider (client-auth.ts)
 *      and read its policy and linked resources (client-policy.ts): steps
 *      1 and 2 are request.ts's, shared with the jwt-bearer grant;
 *   3. ask the engine which keys and lookups the presented tokens need, and
 *      resolve them (keys.ts, lookups.ts);
 *   4. let the engine decide;
 *   5. record the attempt, refusals included, before anything is issued,
 *      and issue a grant (issue.ts).
 * Every failure leaves as an OAuth error, never as a stack (request.ts,
 * `guarded`).
 * @internal
 */

import type { OAuthTokenResponse } from "@better-auth/oauth-provider";
import type { Decision } from "../../engine/answers.js";
import type { DecideCall, OpaqueTokenFacts, TokenHint } from "../../engine/types.js";
import { TOKEN_EXCHANGE_GRANT_TYPE, TOKEN_TYPE } from "../../shared/urns.js";
import {
  type Ctx,
  type GrantInput,
  opaqueAccessPrefix,
  providerApi,
  providerOptions,
  type ProviderOptions,
  publicContext,
  refreshFormat,
} from "../provider.js";
import { exchangeTargets } from "./client-policy.js";
import { first } from "./form.js";
import { issue } from "./issue.js";
import { accessTokenFacts, accessTokenGrant, externalUser, refreshTokenFacts } from "./lookups.js";
import type { RequestReads } from "./reads.js";
import { guarded, receive, refuseFailure } from "./request.js";
import type { Exchange } from "./state.js";

/** The grant handler. */
export async function handle(x: Exchange, input: GrantInput): Promise<OAuthTokenResponse> {
  return guarded(input, "the token exchange", () => exchange(x, input));
}

/**
 * Before `/oauth2/token`, for a token-exchange request the provider's own
 * validation would refuse before the grant runs (form.ts,
 * `providerRefusesBody`): the exchange is handled here instead, so that it
 * is refused by the engine's rule (TX-6, RFC 8707's `invalid_target`) and,
 * like every attempt, gets one audit record (TX-60).
 */
export async function preflight(x: Exchange, ctx: Ctx): Promise<OAuthTokenResponse | undefined> {
  const opts = providerOptions(ctx.context);
  if (!opts) return undefined;
  const { ctx: endpointLike, api } = providerApi(ctx, opts, TOKEN_EXCHANGE_GRANT_TYPE);
  return handle(x, { ctx: endpointLike, opts, grantType: TOKEN_EXCHANGE_GRANT_TYPE, provider: api });
}

async function exchange(x: Exchange, input: GrantInput): Promise<OAuthTokenResponse> {
  const { ctx, opts, grantType } = input;
  const { started, form, reads, auth, client, issuer } = await receive(x, input, { grant: "exchange", targets: exchangeTargets });
  const { engine, keys } = issuer;

  // Resolve only for a client the engine may accept: an unauthenticated
  // or not opted-in caller causes no key fetch and no token lookup.
  const call: DecideCall = { form, now: started, client };
  let subjectGrantId: string | undefined;
  if (client.status === "authenticated" && client.allowedTokenExchange && !client.disabled) {
    const inspection = engine.inspect(form);
    const reloaded = new Set<string>();
    const tctx = publicContext(ctx);
    await keys.ensure(inspection.subject, tctx, reloaded);
    await keys.ensure(inspection.actor, tctx, reloaded);
    const lookup = (hint: TokenHint | undefined, role: "subject" | "actor") =>
      opaqueFacts(x, ctx, opts, reads, hint, first(form, `${role}_token`), first(form, `${role}_token_type`), {
        refreshAccepted: (role === "subject" ? client.policy?.subjectTokenTypes : client.policy?.actorTokenTypes)?.includes("refresh_token") === true,
        now: started,
      });
    const subject = await lookup(inspection.subject, "subject");
    if (subject) {
      call.subjectFacts = subject.facts;
      subjectGrantId = subject.grantId;
    }
    const actor = await lookup(inspection.actor, "actor");
    if (actor) call.actorFacts = actor.facts;
    const subjectUser = await externalUser(x.options, ctx.context.adapter, inspection.subject);
    if (subjectUser) call.subjectUser = subjectUser;
  }

  const decision: Decision = engine.decide(call);
  if (decision.type === "failure") return refuseFailure(x, ctx, decision);
  // Only an authenticated client reaches a success.
  if (!auth.ok) throw new Error("the engine granted an unauthenticated client");
  return issue(x, {
    ctx,
    opts,
    grantType,
    decision,
    client: auth.client,
    started,
    reads,
    subjectToken: first(form, "subject_token") ?? "",
    actorToken: first(form, "actor_token"),
    subjectGrantId,
  });
}

/** TX-21: an opaque subject or actor token of this server, looked up. */
async function opaqueFacts(
  x: Exchange,
  ctx: Ctx,
  opts: ProviderOptions,
  reads: RequestReads,
  hint: TokenHint | undefined,
  token: string | undefined,
  declared: string | undefined,
  { refreshAccepted, now }: { refreshAccepted: boolean; now: number },
): Promise<{ facts: OpaqueTokenFacts; grantId?: string | undefined } | undefined> {
  if (hint?.format !== "opaque" || !token) return undefined;
  const { api } = providerApi(reads.context(ctx), opts);
  const db = reads.adapter(ctx);
  return reads.run(ctx, async () => {
    if (declared === TOKEN_TYPE.accessToken) {
      const facts = await accessTokenFacts(async (t) => (await api.validateAccessToken(t)) as Record<string, unknown>, token);
      if (!facts.active || !x.audit.usesTable) return { facts };
      // The grant it was issued with: revoking that grant revokes what is exchanged from it.
      const hash = async (t: string) => api.hashToken(t, "access_token");
      return { facts, grantId: await accessTokenGrant(db, hash, token, opaqueAccessPrefix(opts)) };
    }
    if (declared === TOKEN_TYPE.refreshToken && refreshAccepted) {
      return refreshTokenFacts(db, async (t) => api.hashToken(t, "refresh_token"), token, refreshFormat(opts), now);
    }
    return undefined;
  });
}
