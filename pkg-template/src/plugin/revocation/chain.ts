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
 * Each delegation's row holds its lineage:
 * - `sessionId`: the delegation's session;
 * - `parentSessionId`: the subject token's session (a login session, or the
 *   session of the delegation that issued the subject token);
 * - `parentTokenHash`: the subject token's identity (a digest, TX-29);
 * - `parentGrantId`: the refresh token (grant) the subject token belongs
 *   to, when the subject is stored here.
 *
 * When a session ends (sign-out, session revocation), a token is revoked
 * (RFC 7009) or a refresh token is revoked, every delegation descending from
 * it is found through these columns, and its session is ended: its tokens
 * are marked revoked (refresh tokens included, so nothing outlives the chain
 * through a refresh), the session row is deleted, and the delegation and its
 * records get `revokedAt`. The walk continues from the ended sessions to
 * their own descendants, through any number of hops. Records written by
 * 0.1.0, whose lineage is only in the record (one session per exchange), are
 * walked the same way when a database holds any.
 * @internal
 */

import type { AuthContext, Db, Where } from "../provider.js";
import { DELEGATION_MODEL, MODEL, RECORD_REFERENCE } from "../store.js";

/** `userAgent` prefix of delegation sessions, as a user's session list shows them. */
export const EXCHANGE_SESSION_AGENT = "token-exchange";
/** Most delegation sessions one revocation ends (a guard against runaway fan-out). */
export const MAX_REVOKED_PER_EVENT = 10_000;
/** Records read at a time while looking for descendants. */
const PAGE = 1000;
/**
 * How far back an exchange that raced a revocation may have written its
 * record (it stores its token milliseconds after).
 */
const RACE_WINDOW_MS = 60_000;

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

/**
 * Ends one delegation's session: its tokens are revoked, then the row and
 * its secondary-storage copy are deleted. An exchange of the delegation may
 * store its token between the two: the delete then clears that token's
 * `sessionId` (the provider's foreign key sets it null), and the provider
 * checks no session for a token without one. So after the delete, the
 * tokens of the delegation's latest records (found by their `referenceId`)
 * are revoked too.
 */
async function endSession(auth: RevocationContext, sessionId: string, now: Date): Promise<void> {
  const db = auth.adapter;
  await revokeSessionTokens(db, sessionId, now);
  const row = await db.findOne<SessionRow>({ model: "session", where: [{ field: "id", value: sessionId }] });
  if (!row) return;
  await db.delete({ model: "session", where: [{ field: "id", value: sessionId }] });
  if (row.token) await auth.secondaryStorage?.delete(row.token);
  const latest = await db.findMany<{ id: string }>({
    model: MODEL,
    where: [
      { field: "sessionId", value: sessionId },
      { field: "createdAt", operator: "gte", value: new Date(now.getTime() - RACE_WINDOW_MS) },
    ],
    limit: PAGE,
  });
  if (latest.length === 0) return;
  const references = latest.map((r) => `${RECORD_REFERENCE}${r.id}`);
  const stray: Where[] = [
    { field: "referenceId", operator: "in", value: references },
    { field: "revoked", operator: "eq", value: null },
  ];
  await db.updateMany({ model: "oauthAccessToken", where: stray, update: { revoked: now } });
  await db.updateMany({ model: "oauthRefreshToken", where: stray, update: { revoked: now } });
}

/** Where a revocation starts: ended sessions, a revoked token, revoked grants. */
export interface RevocationRoots {
  /** Sessions that ended: delegations whose subject belonged to them descend. */
  sessionIds?: string[];
  /** The names of a revoked token (tokenNames): delegations that started from it descend. */
  tokenHashes?: string[];
  /** Refresh-token ids (grants) that were revoked. */
  grantIds?: string[];
  /** Delegation sessions to end themselves (an exchanged token revoked directly). */
  exchangeSessionIds?: string[];
}

/** A lineage condition: `field` is one of `values`. */
type Link = { field: "parentSessionId" | "parentTokenHash" | "parentGrantId"; values: string[] };

function links(roots: RevocationRoots): Link[] {
  const out: Link[] = [];
  if (roots.sessionIds?.length) out.push({ field: "parentSessionId", values: roots.sessionIds });
  if (roots.tokenHashes?.length) out.push({ field: "parentTokenHash", values: roots.tokenHashes });
  if (roots.grantIds?.length) out.push({ field: "parentGrantId", values: roots.grantIds });
  return out;
}

/** Per database: whether it holds granted records of 0.1.0 (lineage in the record, no delegation row). */
const legacyByDb = new WeakMap<object, Promise<boolean>>();

/** Whether `db` holds records written before delegations (checked once per process and database). */
export function hasLegacyRecords(db: Db): Promise<boolean> {
  let known = legacyByDb.get(db);
  if (!known) {
    known = db
      .findOne({
        model: MODEL,
        where: [
          { field: "decision", value: "granted" },
          { field: "delegationKey", operator: "eq", value: null },
        ],
      })
      .then((row) => row !== null);
    legacyByDb.set(db, known);
    // A failed check is not an answer: ask again next time.
    known.catch(() => legacyByDb.delete(db));
  }
  return known;
}

/** The lineage rows (delegations, and 0.1.0's records) matching `link`: their sessions not in `seen`, a page. */
async function descendants(db: Db, link: Link, seen: Set<string>): Promise<string[]> {
  const condition: Where = { field: link.field, operator: "in", value: link.values };
  const unseen: Where[] = seen.size > 0 ? [{ field: "sessionId", operator: "not_in", value: [...seen] }] : [];
  const rows = await db.findMany<{ sessionId?: string | null }>({
    model: DELEGATION_MODEL,
    where: [condition, ...unseen],
    limit: PAGE,
  });
  if (await hasLegacyRecords(db)) {
    rows.push(
      ...(await db.findMany<{ sessionId?: string | null }>({
        model: MODEL,
        where: [condition, { field: "decision", value: "granted" }, { field: "delegationKey", operator: "eq", value: null }, ...unseen],
        limit: PAGE,
      })),
    );
  }
  return [...new Set(rows.map((r) => r.sessionId).filter((id): id is string => typeof id === "string" && !seen.has(id)))];
}

/**
 * Ends every delegation session descending from `roots`, breadth first, and
 * stamps `revokedAt` on the delegations and their records. Delegations
 * already stamped are walked again: a revocation that failed midway is
 * finished by the next one. Returns how many sessions it ended.
 */
export async function revokeDescendants(auth: RevocationContext, roots: RevocationRoots): Promise<number> {
  const db = auth.adapter;
  const now = new Date();
  const seen = new Set<string>();
  const queue = links(roots);

  const end = async (ids: string[]): Promise<void> => {
    for (const id of ids) await endSession(auth, id, now);
    const stamp = (model: string) =>
      db.updateMany({
        model,
        where: [
          { field: "sessionId", operator: "in", value: ids },
          { field: "revokedAt", operator: "eq", value: null },
        ],
        update: { revokedAt: now },
      });
    await stamp(DELEGATION_MODEL);
    await stamp(MODEL);
    queue.push({ field: "parentSessionId", values: ids });
  };

  const direct = [...new Set(roots.exchangeSessionIds ?? [])];
  for (const id of direct) seen.add(id);
  if (direct.length) await end(direct);
  while (queue.length > 0) {
    const link = queue.shift() as Link;
    for (;;) {
      const next = await descendants(db, link, seen);
      if (next.length === 0) break;
      if (seen.size + next.length > MAX_REVOKED_PER_EVENT) {
        auth.logger.error(`[token-exchange] revocation stopped after ${MAX_REVOKED_PER_EVENT} delegation sessions`);
        return seen.size;
      }
      for (const id of next) seen.add(id);
      await end(next);
    }
  }
  return seen.size;
}

/** Whether a delegation (or a record of 0.1.0) descends from `roots` and has not been ended. */
export async function hasUnendedDescendants(db: Db, roots: RevocationRoots): Promise<boolean> {
  for (const link of links(roots)) {
    const condition: Where = { field: link.field, operator: "in", value: link.values };
    const unended: Where = { field: "revokedAt", operator: "eq", value: null };
    if (await db.findOne({ model: DELEGATION_MODEL, where: [condition, unended] })) return true;
    if (
      (await hasLegacyRecords(db)) &&
      (await db.findOne({ model: MODEL, where: [condition, unended, { field: "decision", value: "granted" }, { field: "delegationKey", operator: "eq", value: null }] }))
    ) {
      return true;
    }
  }
  return false;
}

/** The client a delegation session was opened for, from its row (or a record of 0.1.0). */
export async function delegationClient(db: Db, sessionId: string): Promise<string | undefined> {
  const row =
    (await db.findOne<{ clientId?: string | null }>({ model: DELEGATION_MODEL, where: [{ field: "sessionId", value: sessionId }] })) ??
    (await db.findOne<{ clientId?: string | null }>({
      model: MODEL,
      where: [
        { field: "sessionId", value: sessionId },
        { field: "decision", value: "granted" },
      ],
    }));
  return row?.clientId ?? undefined;
}
