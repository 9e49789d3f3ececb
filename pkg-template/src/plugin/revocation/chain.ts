/**
 * Revocation that follows the exchange chain.
 *
 * The tokens a granted exchange issues carry its delegation's session as
 * their `sid` (JWT) or `sessionId` (opaque): a better-auth session row of the
 * subject's user, shared by every exchange of one delegation
 * (delegation.ts). The provider already treats a token whose session has
 * ended as inactive, at introspection and in `validateAccessToken`, for JWT
 * and opaque tokens alike. Ending a delegation's session therefore ends
 * every token issued under it.
 *
 * Each granted record holds its lineage:
 * - `sessionId`: the delegation's session;
 * - `parentSessionId`: the subject token's session (a login session, or the
 *   session of the delegation that issued the subject token);
 * - `parentTokenHash`: the subject token's identity (a digest, TX-29);
 * - `parentGrantId`: the refresh token (grant) the subject token belongs
 *   to, when the subject is stored here.
 *
 * When a session ends (sign-out, session revocation), a token is revoked
 * (RFC 7009) or a refresh token is revoked, every exchange descending from
 * it is found through these columns, and each delegation's session is
 * ended: its tokens are marked revoked (refresh tokens included, so nothing
 * outlives the chain through a refresh), its row is deleted, and its records
 * get `revokedAt`. The walk continues from the ended sessions to their own
 * descendants, through any number of hops.
 * @internal
 */

import type { AuthContext, Db, Where } from "../provider.js";
import { MODEL } from "../store.js";

/** `userAgent` prefix of delegation sessions, as a user's session list shows them. */
export const EXCHANGE_SESSION_AGENT = "token-exchange";
/** Most delegation sessions one revocation ends (a guard against runaway fan-out). */
export const MAX_REVOKED_PER_EVENT = 10_000;
/** Records read at a time while looking for descendants. */
const PAGE = 1000;

/** The parts of better-auth's context revocation uses. */
export type RevocationContext = Pick<AuthContext, "adapter" | "secondaryStorage" | "logger">;

interface SessionRow {
  id: string;
  token?: string;
  userId?: string;
  expiresAt?: Date | string | null;
}

function expiry(value: Date | string | null | undefined): number {
  if (value === null || value === undefined) return Number.NaN;
  return new Date(value).getTime();
}

/** Whether a session row exists and has not expired. */
export function isLive(row: { expiresAt?: Date | string | null } | null | undefined, now = Date.now()): boolean {
  const ends = expiry(row?.expiresAt);
  return Number.isFinite(ends) && ends > now;
}

/** A session of this server that exists and has not expired, or null. */
export async function liveSession(db: Db, id: string): Promise<SessionRow | null> {
  const row = await db.findOne<SessionRow>({ model: "session", where: [{ field: "id", value: id }] });
  return isLive(row) ? row : null;
}

/** Whether a session row is a delegation's (by the agent it was opened with). */
export function isExchangeSession(session: { userAgent?: unknown }): boolean {
  return typeof session.userAgent === "string" && session.userAgent.startsWith(`${EXCHANGE_SESSION_AGENT} (`);
}

/**
 * Marks every token bound to a session revoked, refresh tokens with
 * `offline_access` included (the provider spares those at sign-out; an
 * exchange's must not outlive its chain). Run before the row goes: its
 * foreign key on the tokens is cleared with it.
 */
export async function revokeSessionTokens(db: Db, sessionId: string, now = new Date()): Promise<void> {
  const bound: Where[] = [
    { field: "sessionId", value: sessionId },
    { field: "revoked", operator: "eq", value: null },
  ];
  await db.updateMany({ model: "oauthAccessToken", where: bound, update: { revoked: now } });
  await db.updateMany({ model: "oauthRefreshToken", where: bound, update: { revoked: now } });
}

/** Ends one delegation's session: its tokens are revoked, then the row and its secondary-storage copy are deleted. */
async function endSession(auth: RevocationContext, sessionId: string, now: Date): Promise<void> {
  const db = auth.adapter;
  await revokeSessionTokens(db, sessionId, now);
  const row = await db.findOne<SessionRow>({ model: "session", where: [{ field: "id", value: sessionId }] });
  if (!row) return;
  await db.delete({ model: "session", where: [{ field: "id", value: sessionId }] });
  if (row.token) await auth.secondaryStorage?.delete(row.token);
}

/** Where a revocation starts: ended sessions, a revoked token, revoked grants. */
export interface RevocationRoots {
  /** Sessions that ended: exchanges whose subject belonged to them descend. */
  sessionIds?: string[];
  /** The names of a revoked token (tokenNames): exchanges that started from it descend. */
  tokenHashes?: string[];
  /** Refresh-token ids (grants) that were revoked. */
  grantIds?: string[];
  /** Delegation sessions to end themselves (an exchanged token revoked directly). */
  exchangeSessionIds?: string[];
}

/**
 * Ends every delegation session descending from `roots`, breadth first, and
 * stamps `revokedAt` on their records. Returns how many sessions it ended.
 */
export async function revokeDescendants(auth: RevocationContext, roots: RevocationRoots): Promise<number> {
  const db = auth.adapter;
  const now = new Date();
  const seen = new Set<string>();
  const queries: Where[][] = [];
  const byParentSession = (ids: string[]): Where[] => [{ field: "parentSessionId", operator: "in", value: ids }];
  if (roots.sessionIds?.length) queries.push(byParentSession(roots.sessionIds));
  if (roots.tokenHashes?.length) queries.push([{ field: "parentTokenHash", operator: "in", value: roots.tokenHashes }]);
  if (roots.grantIds?.length) queries.push([{ field: "parentGrantId", operator: "in", value: roots.grantIds }]);

  const end = async (ids: string[]): Promise<void> => {
    for (const id of ids) await endSession(auth, id, now);
    await db.updateMany({
      model: MODEL,
      where: [
        { field: "sessionId", operator: "in", value: ids },
        { field: "revokedAt", operator: "eq", value: null },
      ],
      update: { revokedAt: now },
    });
    queries.push(byParentSession(ids));
  };

  const direct = [...new Set(roots.exchangeSessionIds ?? [])];
  for (const id of direct) seen.add(id);
  if (direct.length) await end(direct);
  while (queries.length > 0) {
    const where = queries.shift() ?? [];
    // Many records share a delegation's session: page through the sessions
    // not seen yet, so one busy delegation cannot hide the others.
    for (;;) {
      const unseen: Where[] = seen.size > 0 ? [{ field: "sessionId", operator: "not_in", value: [...seen] }] : [];
      const rows = await db.findMany<{ sessionId?: string | null }>({
        model: MODEL,
        where: [...where, { field: "decision", value: "granted" }, ...unseen],
        limit: PAGE,
      });
      const next: string[] = [];
      for (const row of rows) {
        if (!row.sessionId || seen.has(row.sessionId)) continue;
        if (seen.size >= MAX_REVOKED_PER_EVENT) {
          auth.logger.error(`[token-exchange] revocation stopped after ${MAX_REVOKED_PER_EVENT} delegation sessions`);
          return seen.size;
        }
        seen.add(row.sessionId);
        next.push(row.sessionId);
      }
      if (next.length === 0) break;
      await end(next);
    }
  }
  return seen.size;
}
