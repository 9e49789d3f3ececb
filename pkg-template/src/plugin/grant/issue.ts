/**
 * Issuing a granted exchange (RFC 8693 §2.2.1): the lifetime capped to the
 * subject's (TX-51), the delegation's session (revocation/delegation.ts),
 * one record before anything is issued (TX-60, TX-61), then the provider's
 * `issueTokens` with `act` (TX-41, TX-53), and a refresh token only when
 * policy allows it (TX-55).
 * @internal
 */

import type { OAuthTokenResponse } from "@better-auth/oauth-provider";
import { getCurrentAdapter, runWithTransaction } from "@better-auth/core/context";
import type { Decision } from "../../engine/answers.js";
import { tokenIdentity } from "../../shared/digest.js";
import { TOKEN_TYPE } from "../../shared/urns.js";
import { describe } from "../../shared/http.js";
import { encodeInlineReference, type Lineage, refuse, toRecord } from "../audit/trail.js";
import { isOAuthAnswer, NOT_RECORDED, oauthError, SESSION_ENDED } from "../errors.js";
import {
  type Ctx,
  issuanceReadsUser,
  providerApi,
  providerClient,
  type ProviderOptions,
  type ProviderUser,
  publicContext,
  tokenResponse,
  userWithId,
} from "../provider.js";
import { capRefreshToken } from "../refresh/cap.js";
import { liveSession, revokeDescendants } from "../revocation/chain.js";
import type { DelegationPlan } from "../revocation/delegation.js";
import { newRecordId, RECORD_REFERENCE } from "../store.js";
import type { ExchangeRecord, TokenExchangeClient } from "../types.js";
import { issueSigned } from "./issue-signed.js";
import type { RequestReads } from "./reads.js";
import type { Exchange } from "./state.js";

type SuccessDecision = Extract<Decision, { type: "success" }>;

/** What the grant hands issuance besides the decision. */
export interface IssueInput {
  ctx: Ctx;
  opts: ProviderOptions;
  grantType: string;
  decision: SuccessDecision;
  client: TokenExchangeClient;
  /** When the request arrived, seconds. */
  started: number;
  reads: RequestReads;
  subjectToken: string;
  actorToken: string | undefined;
  /** The refresh token (grant) the subject belongs to, when known. */
  subjectGrantId: string | undefined;
}

export async function issue(x: Exchange, input: IssueInput): Promise<OAuthTokenResponse> {
  const { ctx, opts, decision, started } = input;
  if (decision.issuedTokenType !== TOKEN_TYPE.accessToken) {
    // An ID-JAG or a JWT names the user: one that exists here.
    const user = (await ctx.context.internalAdapter.findUserById(decision.userId)) as ProviderUser | null;
    if (!user) return subjectNotFound(x, ctx, decision);
    return issueSigned(x, { ctx, opts, decision, started, clientId: input.client.clientId, user });
  }
  // TX-51: the provider computes exp from its configured lifetime and its
  // own clock; lower the lifetime for this call so exp <= the cap (one
  // second of margin for the clock ticking in between).
  const lifetime = Math.min(opts.accessTokenExpiresIn ?? 3600, decision.expiresAt - started - 1);
  if (lifetime <= 0) {
    return x.refuse(ctx, refuse(decision.audit, "invalid_request", "token_expired"), {
      error: "invalid_request",
      status: 400,
      description: "the presented tokens expire too soon to be exchanged",
    });
  }
  // No ID token from an exchange; a refresh token only when policy allows (TX-50, TX-55).
  const scopes = decision.scopes.filter((s) => s !== "openid" && (decision.refreshToken || s !== "offline_access"));
  const refreshes = decision.refreshToken && scopes.includes("offline_access");
  const chainEnds = (decision.chainExpiresAt ?? decision.expiresAt) * 1000;
  const grant = { ...input, lifetime, scopes, chainEnds };
  if (!x.audit.usesTable) return issueWithoutLineage(x, grant);

  const subjectIdentity = await tokenIdentity(input.subjectToken);
  const request = {
    userId: decision.userId,
    clientId: input.client.clientId,
    subjectIdentity,
    actorIdentity: input.actorToken ? await tokenIdentity(input.actorToken) : undefined,
    actor: decision.audit.actor?.sub,
    targets: [...decision.audiences, ...decision.resources],
    parentSessionId: decision.sessionId,
    parentTokenHash: subjectIdentity,
    parentGrantId: input.subjectGrantId,
    // A delegation lives as long as its chain: what it issues never
    // outlives the subject (nor, refreshed, the provider's refresh lifetime).
    endsAt: refreshes ? Math.min(chainEnds, (started + (opts.refreshTokenExpiresIn ?? 2_592_000)) * 1000) : chainEnds,
    tokenEndsAt: (started + lifetime) * 1000,
  };
  const plan = await x.delegations.plan(ctx, request, (rows) => {
    for (const row of rows) input.reads.rememberOne("session", "id", row);
  });
  if (plan.kind === "ended") return sessionEnded(x, ctx, decision);
  const lineage = (sessionId: string | null, key: string): Lineage => ({
    sessionId,
    parentSessionId: decision.sessionId ?? null,
    parentTokenHash: subjectIdentity,
    parentGrantId: input.subjectGrantId ?? null,
    delegationKey: key,
  });
  if (plan.kind === "reuse") {
    const user = await userFor(x, grant, false);
    if (!user) return subjectNotFound(x, ctx, decision);
    const record = grantedRecord(grant, lineage(plan.sessionId, plan.key));
    await x.record(ctx, record);
    return issueTokens(x, grant, user, record, plan.sessionId);
  }
  return openAndIssue(x, grant, plan, lineage);
}

type Grant = IssueInput & { lifetime: number; scopes: string[]; chainEnds: number };

function grantedRecord(grant: Grant, lineage: Lineage | undefined): ExchangeRecord {
  return toRecord(newRecordId(), grant.decision.audit, {
    act: grant.decision.act,
    expiresAt: grant.started + grant.lifetime,
    grantedScope: grant.scopes.join(" "),
    lineage,
  });
}

/**
 * The user to issue for. A live session of the user (the delegation's or
 * the subject's, just read) proves the user exists; its row is read only
 * when the provider hands it to a callback, or when nothing has proved it.
 */
async function userFor(x: Exchange, grant: Grant, mustRead: boolean): Promise<ProviderUser | null> {
  const id = grant.decision.userId;
  const read = grant.reads.one<ProviderUser>("user", "id", id);
  if (read) return read;
  if (!mustRead && !issuanceReadsUser(grant.opts, x.extension)) return userWithId(id);
  return (await grant.ctx.context.internalAdapter.findUserById(id)) as ProviderUser | null;
}

function sessionEnded(x: Exchange, ctx: Ctx, decision: SuccessDecision): Promise<never> {
  return x.refuse(ctx, refuse(decision.audit, "invalid_request", "session_ended"), {
    error: "invalid_request",
    status: 400,
    description: SESSION_ENDED,
  });
}

function subjectNotFound(x: Exchange, ctx: Ctx, decision: SuccessDecision): Promise<never> {
  return x.refuse(ctx, refuse(decision.audit, "invalid_request", "subject_not_found"), {
    error: "invalid_request",
    status: 400,
    description: "the subject is not a user of this server",
  });
}

/** A custom audit sink holds no lineage: tokens take the subject's own session. */
async function issueWithoutLineage(x: Exchange, grant: Grant): Promise<OAuthTokenResponse> {
  const { ctx, decision } = grant;
  const user = await userFor(x, grant, true);
  if (!user) return subjectNotFound(x, ctx, decision);
  if (decision.sessionId && !(await liveSession(ctx.context.adapter, decision.sessionId))) {
    return sessionEnded(x, ctx, decision);
  }
  const record = grantedRecord(grant, undefined);
  await x.record(ctx, record);
  return issueTokens(x, grant, user, record, decision.sessionId);
}

/**
 * The first exchange of a delegation: its session and its record are
 * written in one transaction; then the subject's session is checked, so
 * that a sign-out racing this exchange either is seen here or finds the
 * record (and ends the new session).
 */
async function openAndIssue(
  x: Exchange,
  grant: Grant,
  plan: Extract<DelegationPlan, { kind: "open" }>,
  lineage: (sessionId: string | null, key: string) => Lineage,
): Promise<OAuthTokenResponse> {
  const { ctx, decision } = grant;
  let opened: string | undefined;
  let issued = false;
  try {
    const user = await userFor(x, grant, true);
    if (!user) return await subjectNotFound(x, ctx, decision);
    let record: ExchangeRecord | undefined;
    try {
      await runWithTransaction(ctx.context.adapter, async () => {
        opened = await plan.open(ctx);
        record = grantedRecord(grant, lineage(opened, plan.key));
        await x.audit.write(record, await getCurrentAdapter(ctx.context.adapter), publicContext(ctx));
      });
    } catch (error) {
      // TX-61: fail closed. Where the database has no transactions (D1) the
      // session may have been written: it ends.
      ctx.context.logger.error(`[token-exchange] the exchange could not be recorded: ${describe(error)}`);
      await discard(x, ctx, opened);
      opened = undefined;
      throw oauthError(500, "server_error", NOT_RECORDED);
    }
    if (!record || !opened) throw new Error("the delegation was not opened");
    if (decision.sessionId) {
      const parent = await liveSession(ctx.context.adapter, decision.sessionId);
      if (!parent) {
        await x.amend(ctx, record, "invalid_request", "session_ended");
        throw oauthError(400, "invalid_request", SESSION_ENDED);
      }
      // Never past the subject's session (rarely sooner than the tokens end).
      const parentEnds = new Date(parent.expiresAt ?? 0);
      if (parentEnds.getTime() < grant.chainEnds) {
        await ctx.context.adapter.update({ model: "session", where: [{ field: "id", value: opened }], update: { expiresAt: parentEnds } });
      }
    }
    const response = await issueTokens(x, grant, user, record, opened);
    issued = true;
    return response;
  } finally {
    if (!issued) await discard(x, ctx, opened);
    plan.done(issued ? opened : undefined);
  }
}

/** Ends a delegation session whose first exchange did not complete. */
async function discard(x: Exchange, ctx: Ctx, sessionId: string | undefined): Promise<void> {
  if (!sessionId) return;
  try {
    await revokeDescendants(ctx.context, { exchangeSessionIds: [sessionId] });
    x.delegations.forget([sessionId]);
  } catch (error) {
    ctx.context.logger.error(`[token-exchange] an unused delegation session could not be ended: ${describe(error)}`);
  }
}

/** `issueTokens` with the capped lifetime; a failure after the record amends it. */
async function issueTokens(
  x: Exchange,
  grant: Grant,
  user: ProviderUser,
  record: ExchangeRecord,
  sessionId: string | undefined,
): Promise<OAuthTokenResponse> {
  const { ctx, opts, decision, reads } = grant;
  // TX-53: opaque tokens store no claims; the claims contributor re-derives
  // `act` from the referenceId (the record, or `act` itself for custom sinks).
  const referenceId = x.audit.usesTable
    ? RECORD_REFERENCE + record.id
    : decision.act
      ? encodeInlineReference(decision.act)
      : undefined;
  const targets = [...new Set([...decision.audiences, ...decision.resources])];
  let response: OAuthTokenResponse;
  try {
    // The provider re-checks the targets' registration and links: answered
    // from the reads the decision was made on (reads.ts).
    const capped = { ...opts, accessTokenExpiresIn: grant.lifetime, m2mAccessTokenExpiresIn: grant.lifetime };
    const { api } = providerApi(reads.context(ctx), capped, grant.grantType);
    response = await reads.run(ctx, async () =>
      api.issueTokens({
        client: providerClient(grant.client),
        user,
        scopes: grant.scopes,
        ...(targets.length > 0 ? { resources: targets } : {}),
        ...(sessionId ? { sessionId } : {}),
        ...(referenceId ? { referenceId } : {}),
        ...(decision.act ? { accessTokenClaims: { act: decision.act } } : {}),
        tokenResponse: { issued_token_type: decision.issuedTokenType },
      }),
    );
    const refreshToken = (response as { refresh_token?: unknown }).refresh_token;
    if (decision.refreshToken && typeof refreshToken === "string") {
      await capRefreshToken(ctx, opts, refreshToken, grant.chainEnds);
    }
  } catch (error) {
    // A sign-out racing this exchange may have ended the session already
    // (an opaque token then fails its insert): the session ended.
    if (sessionId && x.audit.usesTable && !(await liveSession(ctx.context.adapter, sessionId).catch(() => null))) {
      await x.amend(ctx, record, "invalid_request", "session_ended");
      throw oauthError(400, "invalid_request", SESSION_ENDED);
    }
    await x.amend(ctx, record, isOAuthAnswer(error) ? error.body.error : "server_error", "issuance_failed");
    throw error;
  }
  const body: Record<string, unknown> = { ...response, issued_token_type: decision.issuedTokenType };
  delete body.id_token;
  if (!decision.refreshToken) delete body.refresh_token;
  return tokenResponse(body);
}
