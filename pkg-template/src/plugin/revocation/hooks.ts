/**
 * What starts a revocation that follows the chain (chain.ts): a session
 * ending (better-auth's `session.delete` database hooks: sign-out, the
 * user's session list) and RFC 7009 revocation at `/oauth2/revoke` (before
 * and after the provider's own handling).
 * @internal
 */

import { isJwt, tokenNames } from "../../shared/digest.js";
import { describe } from "../../shared/http.js";
import { isApiError, revocationUnfinished } from "../errors.js";
import { claimedClientId } from "../grant/client-auth.js";
import { pairsOfBody } from "../grant/form.js";
import type { Exchange } from "../grant/state.js";
import { type AuthContext, type Ctx, type ProviderApi, providerApi, providerOptions, type ProviderOptions, returnedBy } from "../provider.js";
import { refreshRow } from "../refresh/cap.js";
import {
  delegationClient,
  hasUnendedDescendants,
  isExchangeSession,
  revokeDescendants,
  type RevocationRoots,
  revokeSessionTokens,
} from "./chain.js";

/** Whether a request is a revocation (RFC 7009). */
export const isRevoke = (ctx: { path?: string }): boolean => ctx.path === "/oauth2/revoke";

/** The token a revocation request names (RFC 7009 §2.1), without an auth scheme. */
function revokedToken(body: unknown): string | undefined {
  const token = (body as { token?: unknown } | null | undefined)?.token;
  if (typeof token !== "string" || token.length === 0) return undefined;
  return token.replace(/^(bearer|dpop)\s+/i, "");
}

/** The provider's validation of an access token; `undefined` when it has none (not one, or a failure). */
async function validated(api: ProviderApi, token: string): Promise<Record<string, unknown> | undefined> {
  try {
    return (await api.validateAccessToken(token)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * Where what descends from a token no longer active starts: its names, and
 * its grant when it is a revoked refresh token. `undefined` for a refresh
 * token still valid (the provider's to revoke).
 */
async function endedRoots(ctx: Ctx, opts: ProviderOptions, token: string): Promise<RevocationRoots | undefined> {
  const refresh = isJwt(token) ? null : await refreshRow(ctx, opts, token).catch(() => null);
  if (refresh && !refresh.revoked) return undefined;
  return { tokenHashes: await tokenNames(token), ...(refresh?.id ? { grantIds: [refresh.id] } : {}) };
}

/**
 * `session.delete.before`: a delegation session's tokens are revoked while
 * the row still links them (refresh tokens with `offline_access` included,
 * which the provider spares at sign-out).
 */
export async function sessionEnding(x: Exchange, session: { id: string; userAgent?: unknown }, auth: AuthContext): Promise<void> {
  if (!x.audit.usesTable || !isExchangeSession(session)) return;
  await revokeSessionTokens(auth.adapter, session.id);
}

/** `session.delete.after`: everything exchanged under the session ends with it. */
export async function sessionEnded(x: Exchange, session: { id: string; userAgent?: unknown }, auth: AuthContext): Promise<void> {
  if (!x.audit.usesTable) return;
  x.delegations.forget([session.id]);
  try {
    await revokeDescendants(auth, isExchangeSession(session) ? { exchangeSessionIds: [session.id] } : { sessionIds: [session.id] });
  } catch (error) {
    auth.logger.error(`[token-exchange] revocation after a session ended failed: ${describe(error)}`);
  }
}

/** Ends what descends from `roots`: 200, or 503 for the client to retry (RFC 7009 §2.2.1). */
async function endChain(ctx: Ctx, roots: RevocationRoots): Promise<Response> {
  try {
    await revokeDescendants(ctx.context, roots);
  } catch (error) {
    ctx.context.logger.error(`[token-exchange] a revocation that follows the chain failed: ${describe(error)}`);
    throw revocationUnfinished();
  }
  return new Response(null, { status: 200, headers: { "cache-control": "no-store" } });
}

/**
 * Before `/oauth2/revoke`. better-auth cannot revoke a JWT access token; one
 * issued by an exchange can be, by ending its delegation's session (and so
 * every token of that delegation). Only the client it was issued to may
 * (RFC 7009 §2.1). And a token no longer active from which exchanges descend
 * that were not ended is a retry after a revocation that did not finish
 * (answered 503, RFC 7009 §2.2.1): the rest of its chain is ended now.
 * Anything else goes on to the provider unchanged.
 */
export async function revoking(x: Exchange, ctx: Ctx): Promise<Response | undefined> {
  const token = revokedToken(ctx.body);
  const opts = providerOptions(ctx.context);
  if (!x.audit.usesTable || !token || !opts) return undefined;
  const { api } = providerApi(ctx, opts);
  const payload = await validated(api, token);
  try {
    if (payload?.active === true) {
      return isJwt(token) && typeof payload.sid === "string" ? await revokeExchangedJwt(ctx, api, payload.sid) : undefined;
    }
    return await finishRevocation(ctx, opts, api, token);
  } catch (error) {
    // The client's authentication failing is the provider's answer; the
    // storage failing means the revocation is not done (the client retries).
    if (isApiError(error)) throw error;
    ctx.context.logger.error(`[token-exchange] revocation could not be checked: ${describe(error)}`);
    throw revocationUnfinished();
  }
}

async function revokeExchangedJwt(ctx: Ctx, api: ProviderApi, sid: string): Promise<Response | undefined> {
  const clientId = await delegationClient(ctx.context.adapter, sid);
  const authorization = ctx.request?.headers.get("authorization") ?? ctx.headers?.get("authorization");
  const claimed = claimedClientId(authorization, pairsOfBody(ctx.body));
  if (!clientId || clientId !== claimed) return undefined;
  // Throws the provider's own client-authentication error when it fails.
  const { client } = await api.authenticateClient();
  if ((client as { clientId?: string }).clientId !== clientId) return undefined;
  return endChain(ctx, { exchangeSessionIds: [sid] });
}

/**
 * A token that is not active (revoked, expired, or none of this server's)
 * with exchanges descending from it that were not ended. Ending them only
 * applies the chain's rule (nothing may outlive what it was exchanged
 * from), so any authenticated client may ask; a token of no chain, or a
 * refresh token still valid (the provider's to revoke), goes on to the
 * provider.
 */
async function finishRevocation(ctx: Ctx, opts: ProviderOptions, api: ProviderApi, token: string): Promise<Response | undefined> {
  const roots = await endedRoots(ctx, opts, token);
  if (!roots || !(await hasUnendedDescendants(ctx.context.adapter, roots))) return undefined;
  // Throws the provider's own client-authentication error when it fails.
  await api.authenticateClient();
  return endChain(ctx, roots);
}

/**
 * After `/oauth2/revoke` succeeded for an opaque access token or a refresh
 * token: what was exchanged from that token, or from tokens of that grant,
 * ends too. If that fails, the answer is 503 and the client's retry finishes
 * it ({@link revoking}).
 */
export async function revoked(x: Exchange, ctx: Ctx): Promise<void> {
  const token = revokedToken(ctx.body);
  const opts = providerOptions(ctx.context);
  const returned = returnedBy(ctx);
  // JWTs are not stored: those issued by an exchange were handled before the endpoint.
  if (!x.audit.usesTable || !token || isJwt(token) || !opts || isApiError(returned) || returned instanceof Error) return;
  try {
    const { api } = providerApi(ctx, opts);
    // The provider deletes a revoked access token and marks a revoked
    // refresh token; a token still active was not revoked (another
    // client's: RFC 7009 §2.1).
    if ((await validated(api, token))?.active === true) return;
    const roots = await endedRoots(ctx, opts, token);
    if (roots) await revokeDescendants(ctx.context, roots);
  } catch (error) {
    ctx.context.logger.error(`[token-exchange] revocation after /oauth2/revoke failed: ${describe(error)}`);
    throw revocationUnfinished();
  }
}
