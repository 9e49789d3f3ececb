/**
 * Delegations: what revocation needs of a session, kept per delegation
 * rather than per exchange. A delegation is one client exchanging one
 * subject token (with one actor token, or none) for one set of targets; its
 * exchanges share one better-auth session, opened by the first of them and
 * reused while it lives, so that a client exchanging on every request
 * writes only each exchange's record. The session is the `sid` of every
 * token the delegation issued: ending it (sign-out, the user's session list,
 * revoking one of those tokens, or anything they descend from) ends them all,
 * like a refresh-token family. The user's session list shows one entry per
 * live delegation, naming the client and the actor.
 *
 * Each delegation has a row of its own (`tokenExchangeDelegation`: its key,
 * session and lineage), written with its session and its first record in
 * one transaction, so every instance on one database reuses the same
 * session; each instance remembers the answer, and checks the session is
 * still live in the same read that checks the subject's own session.
 * @internal
 */

import { getCurrentAdapter } from "@better-auth/core/context";
import { sha256 } from "../../shared/digest.js";
import type { Ctx, Db } from "../provider.js";
import { DELEGATION_MODEL } from "../store.js";
import { EXCHANGE_SESSION_AGENT, isLive } from "./chain.js";

/** Delegations remembered per instance; the least recently used go first. */
const MAX_REMEMBERED = 10_000;
/** Longest actor name shown in a session's user agent. */
const MAX_LABEL = 100;

export interface DelegationRequest {
  userId: string;
  clientId: string;
  /** The subject token's identity (TX-29). */
  subjectIdentity: string;
  /** The actor token's identity, when there is one. */
  actorIdentity: string | undefined;
  /** The actor's `sub`, for the session list. */
  actor: string | undefined;
  targets: readonly string[];
  /** The subject token's session, when it has one of this server. */
  parentSessionId: string | undefined;
  /** The subject token's identity (its name in the lineage). */
  parentTokenHash: string;
  /** The refresh token (grant) the subject token belongs to, when known. */
  parentGrantId: string | undefined;
  /** The latest end of the delegation (ms): the chain's end, or what a refresh may reach. */
  endsAt: number;
  /** When the token about to be issued expires (ms): the session must last that long. */
  tokenEndsAt: number;
}

/** What to do for one exchange. */
export type DelegationPlan =
  | { kind: "reuse"; key: string; sessionId: string }
  /** The subject's session has ended: refuse (`session_ended`). */
  | { kind: "ended" }
  /**
   * Open the delegation: its session and its row (inside the record's
   * transaction), then call `done` whatever happened: other exchanges of it
   * wait for that.
   */
  | { kind: "open"; key: string; open(ctx: Ctx): Promise<string>; done(sessionId: string | undefined): void };

interface Known {
  sessionId: string;
}

interface SessionRow {
  id: string;
  expiresAt?: Date | string | null;
}

/** The session's user agent: names the client and, for delegation, the actor. */
function label(request: DelegationRequest): string {
  const actor = request.actor?.replace(/[^\x20-\x7e]/g, "?").slice(0, MAX_LABEL);
  return `${EXCHANGE_SESSION_AGENT} (client ${request.clientId}${actor ? `, actor ${actor}` : ""})`;
}

export class Delegations {
  readonly #known = new Map<string, Known>();
  readonly #opening = new Map<string, Promise<Known | undefined>>();

  /** The delegation's key: a digest of what makes two exchanges one delegation. */
  key(request: DelegationRequest): Promise<string> {
    const targets = [...new Set(request.targets)].sort();
    return sha256(JSON.stringify(["v1", request.subjectIdentity, request.actorIdentity ?? null, request.clientId, targets]));
  }

  /**
   * The plan for one exchange. Reads the delegation's session and the
   * subject's in one statement when the delegation is known; otherwise looks
   * it up in the records first.
   */
  async plan(ctx: Ctx, request: DelegationRequest, onRows: (rows: SessionRow[]) => void): Promise<DelegationPlan> {
    const db = ctx.context.adapter;
    const key = await this.key(request);
    let known = this.#known.get(key);
    if (!known) {
      const opening = this.#opening.get(key);
      if (opening) known = await opening;
      else {
        // This request finds or opens the delegation; others of it wait.
        const lead = this.#lead(key);
        let found: Known | undefined;
        try {
          found = await this.#find(db, key);
        } catch (error) {
          lead.settle(undefined);
          throw error;
        }
        if (!found) return this.#opener(key, request, lead.settle);
        lead.settle(found);
        known = found;
      }
    }
    if (known) {
      const ids = [known.sessionId, ...(request.parentSessionId ? [request.parentSessionId] : [])];
      const rows = await db.findMany<SessionRow>({ model: "session", where: [{ field: "id", operator: "in", value: ids }] });
      onRows(rows);
      const parent = request.parentSessionId ? rows.find((r) => r.id === request.parentSessionId) : undefined;
      if (request.parentSessionId && !isLive(parent)) return { kind: "ended" };
      const own = rows.find((r) => r.id === known?.sessionId);
      if (own && isLive(own)) {
        await this.#extend(db, own, request, parent);
        this.#remember(key, known);
        return { kind: "reuse", key, sessionId: own.id };
      }
      this.#known.delete(key);
      known = undefined;
    }
    return this.#opener(key, request, this.#lead(key).settle);
  }

  /** Forgets delegations whose sessions ended here (others are found ended at their next read). */
  forget(sessionIds: Iterable<string>): void {
    const ended = new Set(sessionIds);
    for (const [key, known] of this.#known) if (ended.has(known.sessionId)) this.#known.delete(key);
  }

  /** Marks `key` as being found or opened by this request: others wait for `settle`. */
  #lead(key: string): { settle(known: Known | undefined): void } {
    let resolve: (known: Known | undefined) => void = () => undefined;
    const promise = new Promise<Known | undefined>((r) => {
      resolve = r;
    });
    this.#opening.set(key, promise);
    return {
      settle: (known) => {
        if (this.#opening.get(key) === promise) this.#opening.delete(key);
        if (known) this.#remember(key, known);
        resolve(known);
      },
    };
  }

  #opener(key: string, request: DelegationRequest, settle: (known: Known | undefined) => void): DelegationPlan {
    return {
      kind: "open",
      key,
      open: async (ctx) => {
        // better-auth's own session creation: its hooks and secondary storage
        // included. The token is random and never leaves the server, so the
        // session cannot be used to sign in.
        const session = await ctx.context.internalAdapter.createSession(
          request.userId,
          false,
          { expiresAt: new Date(request.endsAt), ipAddress: "", userAgent: label(request) },
          true,
        );
        if (!session?.id) throw new Error("the delegation's session was not created");
        const db = await getCurrentAdapter(ctx.context.adapter);
        await db.create({
          model: DELEGATION_MODEL,
          data: {
            key,
            sessionId: session.id,
            clientId: request.clientId,
            parentSessionId: request.parentSessionId ?? null,
            parentTokenHash: request.parentTokenHash,
            parentGrantId: request.parentGrantId ?? null,
            createdAt: new Date(),
          },
        });
        return session.id;
      },
      done: (sessionId) => settle(sessionId ? { sessionId } : undefined),
    };
  }

  /** The session of the newest unrevoked delegation with this key. */
  async #find(db: Db, key: string): Promise<Known | undefined> {
    const [row] = await db.findMany<{ sessionId?: string | null }>({
      model: DELEGATION_MODEL,
      where: [
        { field: "key", value: key },
        { field: "revokedAt", operator: "eq", value: null },
      ],
      sortBy: { field: "createdAt", direction: "desc" },
      limit: 1,
    });
    return row?.sessionId ? { sessionId: row.sessionId } : undefined;
  }

  /**
   * A session capped by its parent's end (rarely sooner than the tokens
   * end) is moved on when the parent's has been, so that the token about to
   * be issued does not die before its `exp`. Never past the delegation's end
   * nor the parent's.
   */
  async #extend(db: Db, own: SessionRow, request: DelegationRequest, parent: SessionRow | undefined): Promise<void> {
    const current = new Date(own.expiresAt ?? 0).getTime();
    if (current >= request.tokenEndsAt) return;
    const bound = parent ? Math.min(request.endsAt, new Date(parent.expiresAt ?? 0).getTime()) : request.endsAt;
    if (bound <= current) return;
    await db.update({ model: "session", where: [{ field: "id", value: own.id }], update: { expiresAt: new Date(bound) } });
  }

  #remember(key: string, known: Known): void {
    this.#known.delete(key);
    if (this.#known.size >= MAX_REMEMBERED) this.#known.delete(this.#known.keys().next().value as string);
    this.#known.set(key, known);
  }
}
