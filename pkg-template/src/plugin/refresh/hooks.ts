/**
 * Hooks on `/oauth2/token` refreshes (TX-55): what is refreshed from an
 * exchange's refresh token ends with its chain, and a replayed refresh token
 * (which makes the provider delete the whole family) ends what was exchanged
 * from tokens of that family.
 * @internal
 */

import { decodeJson } from "../../shared/b64json.js";
import { isJwt } from "../../shared/digest.js";
import { describe } from "../../shared/http.js";
import { isApiError, oauthError } from "../errors.js";
import { accessTokenWhere } from "../grant/lookups.js";
import type { Exchange } from "../grant/state.js";
import { type Ctx, opaqueAccessPrefix, providerApi, providerOptions, type ProviderOptions, returnedBy, signJwt } from "../provider.js";
import { isExchangeSession, revokeDescendants } from "../revocation/chain.js";
import { capRefreshRow, refreshRow } from "./cap.js";

/** Most refresh tokens of one client and user followed after a replay. */
const MAX_FAMILY = 1000;

/** The provider's answer to a refresh (RFC 6749 §5.1). */
interface RefreshAnswer {
  access_token?: unknown;
  refresh_token?: unknown;
  expires_in?: unknown;
  expires_at?: unknown;
  [field: string]: unknown;
}

/** Whether a request is a refresh at the token endpoint. */
export function isRefresh(ctx: { path?: string; body?: unknown }): boolean {
  return ctx.path === "/oauth2/token" && (ctx.body as { grant_type?: unknown } | undefined)?.grant_type === "refresh_token";
}

/**
 * Header and claims of a JWT the provider just issued in this request (ours,
 * so read, not verified).
 */
function issuedJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [header, payload] = token.split(".").slice(0, 2).map((part) => decodeJson(part));
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObject(header) || !isObject(payload)) throw new Error("the issued access token is not a JWT");
  return { header, payload };
}

/**
 * Before a refresh that presents an already rotated or revoked refresh
 * token: the provider treats it as a replay and deletes every refresh token
 * of that client and user (no hook sees it). Their ids are noted here, so
 * that after the refusal what was exchanged from tokens of those grants ends
 * too ({@link familyEnded}).
 */
export async function refreshing(x: Exchange, ctx: Ctx): Promise<void> {
  const opts = providerOptions(ctx.context);
  const token = (ctx.body as { refresh_token?: unknown } | undefined)?.refresh_token;
  if (!x.audit.usesTable || !opts || typeof token !== "string" || token.length === 0) return;
  try {
    const row = await refreshRow(ctx, opts, token);
    if (!row?.revoked || !row.clientId || !row.userId) return;
    const family = await ctx.context.adapter.findMany<{ id?: string }>({
      model: "oauthRefreshToken",
      where: [
        { field: "clientId", value: row.clientId },
        { field: "userId", value: row.userId },
      ],
      limit: MAX_FAMILY,
    });
    const ids = family.map((r) => r.id).filter((id): id is string => typeof id === "string");
    if (ids.length > 0) x.families.set(ctx.context, ids);
  } catch (error) {
    ctx.context.logger.error(`[token-exchange] a refresh token's grant family could not be read: ${describe(error)}`);
  }
}

/** After a refused refresh: if the provider deleted the noted family, its descendants end. */
async function familyEnded(x: Exchange, ctx: Ctx): Promise<void> {
  const ids = x.families.get(ctx.context);
  if (!ids) return;
  x.families.delete(ctx.context);
  try {
    const left = await ctx.context.adapter.findMany<{ id?: string }>({
      model: "oauthRefreshToken",
      where: [{ field: "id", value: ids, operator: "in" }],
      limit: 1,
    });
    if (left.length > 0) return; // not a family invalidation (another refusal)
    await revokeDescendants(ctx.context, { grantIds: ids });
  } catch (error) {
    ctx.context.logger.error(`[token-exchange] revocation after a refresh token replay failed: ${describe(error)}`);
  }
}

/**
 * After a refresh of a refresh token issued by an exchange (TX-55): the
 * provider gives the rotated refresh token a fresh lifetime and the access
 * token its configured one; both end at the delegation session's end
 * instead, so nothing refreshed outlives the chain. A JWT access token is
 * signed again with the lower `exp` (the first one is never handed out); an
 * opaque one's row is updated. If the cap cannot be applied, the refresh
 * fails. After a refusal, see {@link familyEnded}.
 */
export async function refreshed(x: Exchange, ctx: Ctx): Promise<unknown> {
  const returned = returnedBy(ctx) as RefreshAnswer | null | undefined;
  const opts = providerOptions(ctx.context);
  if (!x.audit.usesTable || !opts) return undefined;
  if (isApiError(returned) || returned instanceof Error) {
    await familyEnded(x, ctx);
    return undefined;
  }
  if (!returned || typeof returned.refresh_token !== "string") return undefined;
  try {
    const row = await refreshRow(ctx, opts, returned.refresh_token);
    if (!row?.sessionId) return undefined;
    const session = await ctx.context.adapter.findOne<{ expiresAt?: Date | string; userAgent?: unknown }>({
      model: "session",
      where: [{ field: "id", value: row.sessionId }],
    });
    if (!session || !isExchangeSession(session)) return undefined;
    const ends = new Date(session.expiresAt ?? 0);
    await capRefreshRow(ctx, row, ends);
    const capped = await capAccessToken(ctx, opts, returned, Math.floor(ends.getTime() / 1000));
    return capped ? ctx.json(capped) : undefined;
  } catch (error) {
    if (isApiError(error)) throw error;
    ctx.context.logger.error(`[token-exchange] a refreshed token's lifetime could not be capped: ${describe(error)}`);
    throw oauthError(500, "server_error", "the refresh failed on the server");
  }
}

/** The refresh answer with its access token ending at `endsAt` (seconds), or `undefined` when it already does. */
async function capAccessToken(
  ctx: Ctx,
  opts: ProviderOptions,
  answer: RefreshAnswer,
  endsAt: number,
): Promise<RefreshAnswer | undefined> {
  const token = answer.access_token;
  const now = Math.floor(Date.now() / 1000);
  if (typeof token !== "string") return undefined;
  if (endsAt <= now) throw oauthError(400, "invalid_grant", "the refresh token's exchange chain has ended");
  let accessToken = token;
  if (isJwt(token)) {
    const jwt = issuedJwt(token);
    if (typeof jwt.payload.exp === "number" && jwt.payload.exp <= endsAt) return undefined;
    accessToken = await signJwt(ctx, {
      ...(typeof jwt.header.typ === "string" ? { typ: jwt.header.typ } : {}),
      // The same key (a resource may pin one).
      ...(typeof jwt.header.kid === "string" ? { kid: jwt.header.kid } : {}),
      payload: { ...jwt.payload, exp: endsAt },
    });
  } else {
    if (typeof answer.expires_at === "number" && answer.expires_at <= endsAt) return undefined;
    const { api } = providerApi(ctx, opts);
    const where = await accessTokenWhere(async (t) => api.hashToken(t, "access_token"), token, opaqueAccessPrefix(opts));
    if (!where) throw new Error("the refreshed access token is not one of this server's");
    await ctx.context.adapter.update({ model: "oauthAccessToken", where, update: { expiresAt: new Date(endsAt * 1000) } });
  }
  return { ...answer, access_token: accessToken, expires_in: endsAt - now, expires_at: endsAt };
}
