/**
 * Lookups the engine cannot do itself: opaque access and refresh tokens of
 * this server (TX-21) and the local user an external subject is linked to
 * (TX-24).
 * @internal
 */

import type { ActClaim, OpaqueTokenFacts, SubjectUser, TokenHint } from "../../engine/types.js";
import { actOfReference } from "../claims.js";
import type { Db, RefreshTokenFormat, Where } from "../provider.js";
import type { TokenExchangeOptions } from "../types.js";

const INACTIVE: OpaqueTokenFacts = { active: false, tokenType: "access_token" };

function asString(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

function asNumber(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? Math.floor(value) : undefined;
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function asAudience(value: unknown): string[] | undefined {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return undefined;
}

/**
 * An opaque access token through the provider's own validation. It is called
 * without a client id: holder binding (TX-26) is the engine's, and the
 * provider's client filter is wider than ours. Every failure (unknown token,
 * revoked, any thrown error) reads as inactive.
 */
export async function accessTokenFacts(
  validate: (token: string) => Promise<Record<string, unknown>>,
  token: string,
): Promise<OpaqueTokenFacts> {
  let payload: Record<string, unknown>;
  try {
    payload = await validate(token);
  } catch {
    return INACTIVE;
  }
  if (payload?.active !== true) return INACTIVE;
  const facts: OpaqueTokenFacts = { active: true, tokenType: "access_token" };
  const sub = asString(payload.sub);
  const clientId = asString(payload.client_id) ?? asString(payload.azp);
  const scope = typeof payload.scope === "string" ? payload.scope : undefined;
  const aud = asAudience(payload.aud);
  const exp = asNumber(payload.exp);
  const iat = asNumber(payload.iat);
  const act = asObject(payload.act);
  const mayAct = asObject(payload.may_act);
  const sessionId = asString(payload.sid);
  if (sub) facts.sub = sub;
  if (clientId) facts.clientId = clientId;
  if (scope !== undefined) facts.scope = scope;
  if (aud) facts.aud = aud;
  if (exp !== undefined) facts.exp = exp;
  if (iat !== undefined) facts.iat = iat;
  if (act) facts.act = act as ActClaim;
  if (mayAct) facts.mayAct = mayAct;
  if (sessionId) facts.sessionId = sessionId;
  return facts;
}

export interface RefreshRow {
  id?: string | null;
  clientId?: string | null;
  userId?: string | null;
  sessionId?: string | null;
  referenceId?: string | null;
  scopes?: string[] | null;
  expiresAt?: Date | string | null;
  createdAt?: Date | string | null;
  revoked?: Date | string | boolean | null;
}

function seconds(value: Date | string | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

/**
 * The stored row of one of this server's refresh tokens, found by its stored
 * hash (the provider has no API to read one without its client), or null.
 */
export async function findRefreshRow(
  db: Db,
  hash: (token: string) => Promise<string>,
  token: string,
  format: RefreshTokenFormat,
): Promise<RefreshRow | null> {
  let raw = token;
  if (format.prefix) {
    if (!raw.startsWith(format.prefix)) return null;
    raw = raw.slice(format.prefix.length);
  }
  if (format.decrypt) {
    const decoded = (await format.decrypt(raw)) as { token?: unknown } | undefined;
    if (typeof decoded?.token !== "string") return null;
    raw = decoded.token;
  }
  return db.findOne<RefreshRow>({
    model: "oauthRefreshToken",
    where: [{ field: "token", value: await hash(raw) }],
  });
}

/**
 * An opaque refresh token of this server. Revoked or expired reads as
 * inactive; `grantId` is its row id (the grant exchanges from it descend
 * from).
 */
export async function refreshTokenFacts(
  db: Db,
  hash: (token: string) => Promise<string>,
  token: string,
  format: RefreshTokenFormat,
  now: number,
): Promise<{ facts: OpaqueTokenFacts; grantId?: string }> {
  const inactive = { facts: { active: false, tokenType: "refresh_token" } as OpaqueTokenFacts };
  try {
    const row = await findRefreshRow(db, hash, token, format);
    if (!row || row.revoked) return inactive;
    const exp = seconds(row.expiresAt);
    if (exp === undefined || exp <= now) return inactive;
    const facts: OpaqueTokenFacts = { active: true, tokenType: "refresh_token", exp };
    const iat = seconds(row.createdAt);
    if (iat !== undefined) facts.iat = iat;
    if (row.userId) facts.sub = row.userId;
    if (row.clientId) facts.clientId = row.clientId;
    if (row.scopes) facts.scope = row.scopes.join(" ");
    if (row.sessionId) facts.sessionId = row.sessionId;
    const act = await actOfReference(db, row.referenceId ?? undefined);
    if (act) facts.act = act;
    return row.id ? { facts, grantId: row.id } : { facts };
  } catch {
    return inactive;
  }
}

/**
 * The refresh token (grant) an opaque access token of this server was issued
 * with, from its stored row; undefined when it has none or is not found.
 */
export async function accessTokenGrant(
  db: Db,
  hash: (token: string) => Promise<string>,
  token: string,
  prefix: string | undefined,
): Promise<string | undefined> {
  const where = await accessTokenWhere(hash, token, prefix);
  if (!where) return undefined;
  const row = await db.findOne<{ refreshId?: string | null }>({ model: "oauthAccessToken", where });
  return row?.refreshId ?? undefined;
}

/**
 * The condition naming the stored row of one of this server's opaque access
 * tokens (the provider's prefix and hashing); `undefined` when the token
 * cannot be one.
 */
export async function accessTokenWhere(
  hash: (token: string) => Promise<string>,
  token: string,
  prefix: string | undefined,
): Promise<Where[] | undefined> {
  if (prefix && !token.startsWith(prefix)) return undefined;
  const raw = prefix ? token.slice(prefix.length) : token;
  return [{ field: "token", value: await hash(raw) }];
}

/**
 * The local user an external subject is linked to: a better-auth `account`
 * row with `providerId` (the trusted issuer's) and `accountId` = `sub`.
 */
export async function linkedUserId(
  db: Db,
  providerId: string,
  sub: string,
): Promise<string | undefined> {
  const account = await db.findOne<{ userId?: string }>({
    model: "account",
    where: [
      { field: "providerId", value: providerId },
      { field: "accountId", value: sub },
    ],
  });
  return account?.userId ?? undefined;
}

/** TX-24: the local user linked to an external subject, when there is one. */
export async function externalUser(
  options: TokenExchangeOptions,
  db: Db,
  hint: TokenHint | undefined,
): Promise<SubjectUser | undefined> {
  if (hint?.format !== "jwt" || !hint.issuer || !hint.subject) return undefined;
  const trusted = (options.trustedIssuers ?? []).find((t) => t.issuer === hint.issuer);
  if (!trusted) return undefined;
  const userId = await linkedUserId(db, trusted.providerId ?? trusted.issuer, hint.subject);
  return userId ? { issuer: trusted.issuer, sub: hint.subject, userId } : undefined;
}
