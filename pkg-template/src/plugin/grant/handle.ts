/**
 * The token-exchange grant (RFC 8693 §2), one request:
 *   1. read the raw form (bounded), keeping order and repeats (form.ts);
 *   2. authenticate the client through the oauth-provider (client-auth.ts)
 *      and read its policy and linked resources (client-policy.ts);
 *   3. ask the engine which keys and lookups the presented tokens need, and
 *      resolve them (keys.ts, lookups.ts);
 *   4. let the engine decide;
 *   5. record the attempt, refusals included, before anything is issued,
 *      and issue a grant (issue.ts).
 * Every failure leaves as an OAuth error, never as a stack.
 * @internal
 */

import type { OAuthTokenResponse } from "@better-auth/oauth-provider";
import type { Decision } from "../../engine/answers.js";
import type { ClientInput, DecideCall, FormPairs, OpaqueTokenFacts, TokenHint } from "../../engine/types.js";
import { BodyTooLarge, describe } from "../../shared/http.js";
import { TOKEN_EXCHANGE_GRANT_TYPE, TOKEN_TYPE } from "../../shared/urns.js";
import { bareAudit, refuse } from "../audit/trail.js";
import { isOAuthAnswer, oauthError, safeDescription, SERVER_FAILURE } from "../errors.js";
import {
  type Ctx,
  exchangeClient,
  type GrantInput,
  opaqueAccessPrefix,
  providerApi,
  providerOptions,
  type ProviderOptions,
  publicContext,
  refreshFormat,
} from "../provider.js";
import { authenticate, claimedClientId, usedBasic } from "./client-auth.js";
import { authenticatedClient, exchangeTargets } from "./client-policy.js";
import { first, MAX_BODY_BYTES, readForm } from "./form.js";
import { issue } from "./issue.js";
import { accessTokenFacts, accessTokenGrant, externalUser, refreshTokenFacts } from "./lookups.js";
import { RequestReads } from "./reads.js";
import type { Exchange } from "./state.js";

/** The grant handler. */
export async function handle(x: Exchange, input: GrantInput): Promise<OAuthTokenResponse> {
  try {
    return await exchange(x, input);
  } catch (error) {
    // The provider's own answers pass on, their descriptions made safe (TX-71).
    if (isOAuthAnswer(error)) {
      const description = typeof error.body.error_description === "string" ? error.body.error_description : "";
      if (safeDescription(description) === description) throw error;
      const status = typeof error.statusCode === "number" ? error.statusCode : 400;
      throw oauthError(status, error.body.error, description, status === 401 && usedBasic(authorizationOf(input.ctx)));
    }
    input.ctx.context.logger.error(`[token-exchange] unexpected failure: ${describe(error)}`);
    throw oauthError(500, "server_error", SERVER_FAILURE);
  }
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

function authorizationOf(ctx: Ctx): string | null | undefined {
  return ctx.request?.headers.get("authorization") ?? ctx.headers?.get("authorization");
}

async function exchange(x: Exchange, { ctx, opts, grantType }: GrantInput): Promise<OAuthTokenResponse> {
  const started = Math.floor(Date.now() / 1000);
  const authorization = authorizationOf(ctx);
  const basic = usedBasic(authorization);

  let form: FormPairs;
  try {
    form = await readForm(ctx);
  } catch (error) {
    if (!(error instanceof BodyTooLarge)) throw error;
    const audit = refuse(bareAudit(started, claimedClientId(authorization, [])), "invalid_request", "request_too_large");
    return x.refuse(ctx, audit, {
      error: "invalid_request",
      status: 400,
      description: `the request body is larger than ${MAX_BODY_BYTES} bytes`,
    });
  }

  // One snapshot of what this request reads, for the provider's reads too (reads.ts).
  const reads = new RequestReads();
  const { api } = providerApi(reads.context(ctx), opts, grantType);

  // TX-10 to TX-12: the provider authenticates; the engine judges the result.
  const claimed = claimedClientId(authorization, form);
  const auth = await authenticate(
    async () => {
      const { client, method } = await reads.run(ctx, async () => api.authenticateClient());
      return { client: exchangeClient(client), method };
    },
    basic,
    claimed,
  );
  if (!auth.ok && "malformed" in auth) {
    const audit = refuse(bareAudit(started, claimed), "invalid_request", "malformed_client_authentication");
    return x.refuse(ctx, audit, { error: "invalid_request", status: 400, description: auth.malformed });
  }
  const { engine, keys } = x.engines.for(ctx, opts);
  const client: ClientInput = auth.ok
    ? await authenticatedClient(ctx, opts, { grant: "exchange", targets: exchangeTargets(form) }, auth.client, auth.method, x.options, reads)
    : auth.input;

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
  if (decision.type === "failure") {
    let description = decision.description;
    if (decision.status >= 500) {
      // An invalid engine call (for example a malformed client policy in
      // metadata) is the server's problem: log it, answer generically.
      ctx.context.logger.error(`[token-exchange] ${decision.reason}: ${decision.description}`);
      description = SERVER_FAILURE;
    }
    return x.refuse(ctx, decision.audit, {
      error: decision.error,
      status: decision.status,
      description,
      challenge: decision.wwwAuthenticate,
    });
  }
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
