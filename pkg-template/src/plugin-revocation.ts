/**
 * Revocation that follows the exchange chain.
 *
 * Every granted exchange opens an *exchange session*: a better-auth session
 * row of the subject's user whose id becomes the `sid` (JWT) or `sessionId`
 * (opaque) of the tokens issued. The provider already treats a token whose
 * session has ended as inactive, at introspection and in
 * `validateAccessToken`, for JWT and opaque tokens alike. Ending an exchange
 * session therefore ends every token issued under it.
 *
 * The exchange's record holds its lineage:
 * - `sessionId`: the exchange session;
 * - `parentSessionId`: the subject token's session (a login session, or the
 *   exchange session of the exchange that issued the subject token);
 * - `parentTokenHash`: base64url SHA-256 of the subject token (a digest,
 *   never the token);
 * - `parentGrantId`: the refresh token (grant) the subject token belongs to,
 *   when the subject is stored here (an opaque access token issued with a
 *   refresh token, or a refresh token itself).
 *
 * When a session ends (sign-out, session revocation), a token is revoked
 * (RFC 7009) or a refresh token is revoked, every exchange descending from it
 * is found through these columns, and each exchange session is ended: its
 * tokens are marked revoked (refresh tokens included, so nothing outlives the
 * chain through a refresh), its row is deleted, and its record gets
 * `revokedAt`. The walk continues from the ended sessions to their own
 * descendants, through any number of hops.
 * @internal
 */

import { findNodeCrypto } from "./host-crypto.js";
import { type Adapter, adapterOf, MODEL, type Where } from "./plugin-audit.js";
import type { TokenExchangeContext } from "./plugin-types.js";

/** `userAgent` of exchange sessions, as a user's session list shows them. */
export const EXCHANGE_SESSION_AGENT = "token-exchange";
/** Most exchange sessions one revocation ends (a guard against runaway fan-out). */
export const MAX_REVOKED_PER_EVENT = 10_000;

/** The parts of better-auth's `AuthContext` revocation uses. */
export interface AuthLike {
  readonly adapter: unknown;
  readonly internalAdapter?: unknown;
  readonly secondaryStorage?: { delete(key: string): unknown } | undefined;
  readonly logger: { error(message: string, ...args: unknown[]): void };
}

interface SessionRow {
  id: string;
  token?: string;
  userId?: string;
  expiresAt?: Date | string | null;
}

interface InternalAdapter {
  createSession(
    userId: string,
    dontRememberMe?: boolean,
    override?: Record<string, unknown>,
    overrideAll?: boolean,
  ): Promise<SessionRow | null>;
}

const adapter = (auth: AuthLike) => auth.adapter as Adapter;

/** The lineage columns of a granted record. */
export interface Lineage {
  sessionId: string | null;
  parentSessionId: string | null;
  parentTokenHash: string | null;
  parentGrantId: string | null;
}

const nodeCrypto = findNodeCrypto();

/**
 * base64url SHA-256 of a token: names it in records without holding it.
 * `node:crypto` hashes synchronously where the runtime has it; WebCrypto's
 * `digest` costs a round trip through a worker thread on Node.js.
 */
export async function tokenDigest(token: string): Promise<string> {
  if (nodeCrypto?.createHash) return nodeCrypto.createHash("sha256").update(token).digest("base64url");
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(token)));
  let binary = "";
  for (const b of digest) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function expiry(value: Date | string | null | undefined): number {
  if (value === null || value === undefined) return Number.NaN;
  return new Date(value).getTime();
}

/** A session of this server that exists and has not expired, or null. */
export async function liveSession(ctx: TokenExchangeContext, id: string, now = Date.now()): Promise<SessionRow | null> {
  const row = await adapterOf(ctx).findOne<SessionRow>({ model: "session", where: [{ field: "id", value: id }] });
  if (!row) return null;
  const ends = expiry(row.expiresAt);
  return Number.isFinite(ends) && ends > now ? row : null;
}

/**
 * Opens the exchange session of one exchange through better-auth's own
 * session creation (hooks and secondary storage included). Its token is
 * random and never leaves the server, so it cannot be used to sign in.
 */
export async function openExchangeSession(
  ctx: TokenExchangeContext,
  input: { userId: string; expiresAt: Date; clientId: string },
): Promise<SessionRow> {
  const internal = ctx.context.internalAdapter as InternalAdapter | undefined;
  if (!internal?.createSession) throw new Error("better-auth's internal adapter is not available");
  const session = await internal.createSession(
    input.userId,
    false,
    { expiresAt: input.expiresAt, ipAddress: "", userAgent: `${EXCHANGE_SESSION_AGENT} (client ${input.clientId})` },
    true,
  );
  if (!session?.id) throw new Error("the exchange session was not created");
  return session;
}

/**
 * Marks every token bound to a session revoked, refresh tokens with
 * `offline_access` included (the provider spares those at sign-out; an
 * exchange's must not outlive its chain). Run before the row goes: its
 * foreign key on the tokens is cleared with it.
 */
export async function revokeSessionTokens(auth: AuthLike, sessionId: string, now = new Date()): Promise<void> {
  const db = adapter(auth);
  const bound = [
    { field: "sessionId", value: sessionId },
    { field: "revoked", operator: "eq", value: null },
  ];
  await db.updateMany({ model: "oauthAccessToken", where: bound, update: { revoked: now } });
  await db.updateMany({ model: "oauthRefreshToken", where: bound, update: { revoked: now } });
}

/** Whether a session row is an exchange session (by the agent it was opened with). */
export function isExchangeSession(session: { userAgent?: unknown }): boolean {
  return typeof session.userAgent === "string" && session.userAgent.startsWith(`${EXCHANGE_SESSION_AGENT} (`);
}

/**
 * Ends one exchange session: its tokens are revoked, then the row and its
 * secondary-storage copy are deleted.
 */
async function endSession(auth: AuthLike, sessionId: string, now: Date): Promise<void> {
  const db = adapter(auth);
  await revokeSessionTokens(auth, sessionId, now);
  const row = await db.findOne<SessionRow>({ model: "session", where: [{ field: "id", value: sessionId }] });
  if (!row) return;
  await db.delete({ model: "session", where: [{ field: "id", value: sessionId }] });
  if (row.token) await auth.secondaryStorage?.delete(row.token);
}

/** Where a revocation starts: ended sessions, a revoked token, revoked grants. */
export interface RevocationRoots {
  /** Sessions that ended: exchanges whose subject belonged to them descend. */
  sessionIds?: string[];
  /** Digest of a revoked token: exchanges that started from it descend. */
  tokenHash?: string;
  /** Refresh-token ids (grants) that were revoked. */
  grantIds?: string[];
  /** Exchange sessions to end themselves (an exchanged token revoked directly). */
  exchangeSessionIds?: string[];
}

/**
 * Ends every exchange session descending from `roots`, breadth first, and
 * stamps `revokedAt` on their records. Returns how many sessions it ended.
 */
export async function revokeDescendants(auth: AuthLike, roots: RevocationRoots): Promise<number> {
  const db = adapter(auth);
  const now = new Date();
  const seen = new Set<string>();
  const queries: Where[][] = [];
  const byParentSession = (ids: string[]): Where[] => [{ field: "parentSessionId", operator: "in", value: ids }];
  if (roots.sessionIds?.length) queries.push(byParentSession(roots.sessionIds));
  if (roots.tokenHash) queries.push([{ field: "parentTokenHash", value: roots.tokenHash }]);
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
    const rows = await db.findMany<{ sessionId?: string | null }>({
      model: MODEL,
      where: [...where, { field: "decision", value: "granted" }],
      limit: MAX_REVOKED_PER_EVENT,
    });
    const next: string[] = [];
    for (const row of rows) {
      if (!row.sessionId || seen.has(row.sessionId)) continue;
      if (seen.size >= MAX_REVOKED_PER_EVENT) {
        auth.logger.error(`[token-exchange] revocation stopped after ${MAX_REVOKED_PER_EVENT} exchange sessions`);
        return seen.size;
      }
      seen.add(row.sessionId);
      next.push(row.sessionId);
    }
    if (next.length) await end(next);
  }
  return seen.size;
}
