/**
 * The audit trail (TX-60, TX-61): one record per exchange attempt, written
 * before any token is issued, to the plugin's table or to a caller-supplied
 * sink. Records never carry token values.
 * @internal
 */

import type { AuditRecord } from "../../engine/answers.js";
import type { ActClaim, OAuthErrorCode } from "../../engine/types.js";
import type { ReasonCode } from "../../shared/reasons.js";
import { decodeJson, encodeJson } from "../../shared/b64json.js";
import { INLINE_REFERENCE, MODEL } from "../store.js";
import type { Db } from "../provider.js";
import type { ExchangeRecord, TokenExchangeContext, TokenExchangeOptions } from "../types.js";

/** What a granted record carries beyond the engine's audit record. */
export interface Granted {
  act?: ActClaim | undefined;
  /** The latest `exp` of the issued token, seconds. */
  expiresAt?: number | undefined;
  grantedScope?: string | undefined;
  lineage?: Lineage | undefined;
  /** Set for grants other than token exchange. */
  grantType?: string | undefined;
}

/** The lineage and delegation columns of a granted record. */
export interface Lineage {
  sessionId: string | null;
  parentSessionId: string | null;
  parentTokenHash: string | null;
  parentGrantId: string | null;
  delegationKey: string | null;
}

/** The stored record of an engine audit record. */
export function toRecord(id: string, audit: AuditRecord, extra: Granted = {}): ExchangeRecord {
  const granted = audit.decision === "granted";
  const lineage = granted ? extra.lineage : undefined;
  return {
    id,
    // The clock at writing, to the millisecond: the engine's `time` is whole
    // seconds, and records of one second would tie in `ORDER BY "createdAt"`.
    createdAt: new Date(),
    clientId: audit.clientId ?? null,
    subjectIss: audit.subject?.iss ?? null,
    subject: audit.subject?.sub ?? null,
    actorIss: audit.actor?.iss ?? null,
    actor: audit.actor?.sub ?? null,
    actorClientId: audit.actor?.clientId ?? null,
    priorActors: audit.priorActors ?? [],
    audiences: audit.audiences ?? [],
    resources: audit.resources ?? [],
    subjectTokenType: audit.subjectTokenType ?? null,
    actorTokenType: audit.actorTokenType ?? null,
    requestedTokenType: audit.requestedTokenType ?? null,
    grantType: extra.grantType ?? null,
    requestedScope: audit.requestedScope ?? null,
    grantedScope: granted ? (extra.grantedScope ?? audit.grantedScope ?? null) : null,
    decision: audit.decision,
    error: audit.error ?? null,
    reason: audit.reason ?? null,
    delegation: audit.delegation === true,
    act: granted ? (extra.act ?? null) : null,
    expiresAt: granted && extra.expiresAt ? new Date(extra.expiresAt * 1000) : null,
    sessionId: lineage?.sessionId ?? null,
    parentSessionId: lineage?.parentSessionId ?? null,
    parentTokenHash: lineage?.parentTokenHash ?? null,
    parentGrantId: lineage?.parentGrantId ?? null,
    revokedAt: null,
    delegationKey: lineage?.delegationKey ?? null,
  };
}

/** An engine audit record turned into a refusal by the plugin itself. */
export function refuse(audit: AuditRecord, error: OAuthErrorCode, reason: ReasonCode): AuditRecord {
  return { ...audit, decision: "refused", error, reason, grantedScope: undefined };
}

/** An empty record for an attempt refused before the engine saw it. */
export function bareAudit(now: number, clientId: string | undefined): AuditRecord {
  return {
    time: now,
    ...(clientId ? { clientId } : {}),
    decision: "refused",
    priorActors: [],
    audiences: [],
    resources: [],
    delegation: false,
  };
}

/** Writes records to the configured sink. */
export class AuditTrail {
  readonly #sink: TokenExchangeOptions["audit"];

  constructor(sink: TokenExchangeOptions["audit"]) {
    this.#sink = sink;
  }

  /** Whether records live in the plugin's table (and can be read back). */
  get usesTable(): boolean {
    return !this.#sink;
  }

  /** Writes one record; throws when it cannot be written (TX-61). */
  async write(record: ExchangeRecord, db: Pick<Db, "create">, ctx: TokenExchangeContext): Promise<void> {
    if (this.#sink) {
      await this.#sink(record, ctx);
      return;
    }
    // Columns without a value are left out: a shorter statement to prepare
    // and a smaller row (they read back as null).
    const data = Object.fromEntries(Object.entries(record).filter(([, v]) => v !== null && v !== undefined));
    await db.create({ model: MODEL, data, forceAllowId: true });
  }

  /** Turns a granted record into a refusal after issuance failed. */
  async amend(record: ExchangeRecord, db: Pick<Db, "update">, ctx: TokenExchangeContext): Promise<void> {
    if (this.#sink) {
      await this.#sink(record, ctx);
      return;
    }
    await db.update({
      model: MODEL,
      where: [{ field: "id", value: record.id }],
      update: {
        decision: record.decision,
        error: record.error,
        reason: record.reason,
        grantedScope: record.grantedScope,
        act: record.act,
        expiresAt: record.expiresAt,
      },
    });
  }
}

/** The inline `act` reference: base64url JSON. */
export function encodeInlineReference(act: ActClaim): string {
  return INLINE_REFERENCE + encodeJson({ act });
}

export function decodeInlineReference(reference: string): ActClaim | undefined {
  try {
    const act = (decodeJson(reference.slice(INLINE_REFERENCE.length)) as { act?: unknown } | null)?.act;
    return act && typeof act === "object" && !Array.isArray(act) ? (act as ActClaim) : undefined;
  } catch {
    return undefined;
  }
}
