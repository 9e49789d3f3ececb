/**
 * The audit trail (TX-60, TX-61): one record per exchange attempt, written
 * before any token is issued, to the plugin's `tokenExchange` table or to a
 * caller-supplied sink. Records never carry token values.
 * @internal
 */

import { decodeJson, encodeJson } from "./b64json.js";
import type { ActClaim, AuditRecord, OAuthErrorCode } from "./engine-types.js";
import type { Lineage } from "./plugin-revocation.js";
import type {
  ExchangeRecord,
  StoredValue,
  TokenExchangeContext,
  TokenExchangeField,
  TokenExchangeOptions,
} from "./plugin-types.js";

/**
 * JSON columns are written as JSON text and read back parsed. Adapters
 * without native JSON (SQLite, D1, MySQL) store text anyway, but with native
 * JSON (PostgreSQL through Kysely) the value goes to the driver as is, and
 * node-postgres turns a JS array into a PostgreSQL array literal: `[]` was
 * stored as the JSON object `{}`, and an array of objects failed to insert
 * ("invalid input syntax for type json"). Text is valid JSON input everywhere.
 */
const jsonText = {
  input: (value: StoredValue): StoredValue =>
    value === null || value === undefined || typeof value === "string" ? value : JSON.stringify(value),
  output: (value: StoredValue): StoredValue => {
    if (typeof value !== "string") return value;
    try {
      return JSON.parse(value) as StoredValue;
    } catch {
      return value;
    }
  },
};

/** The plugin's table; `id` is added by better-auth. */
export const schema = {
  tokenExchange: {
    modelName: "tokenExchange",
    fields: {
      createdAt: { type: "date", required: true, index: true },
      clientId: { type: "string", required: false, index: true },
      subjectIss: { type: "string", required: false },
      subject: { type: "string", required: false, index: true },
      actorIss: { type: "string", required: false },
      actor: { type: "string", required: false, index: true },
      actorClientId: { type: "string", required: false },
      priorActors: { type: "json", required: false, transform: jsonText },
      audiences: { type: "string[]", required: false },
      resources: { type: "string[]", required: false },
      subjectTokenType: { type: "string", required: false },
      actorTokenType: { type: "string", required: false },
      requestedScope: { type: "string", required: false },
      grantedScope: { type: "string", required: false },
      decision: { type: "string", required: true, index: true },
      error: { type: "string", required: false },
      reason: { type: "string", required: false },
      delegation: { type: "boolean", required: true },
      act: { type: "json", required: false, transform: jsonText },
      expiresAt: { type: "date", required: false },
      // Lineage of a granted exchange (plugin-revocation.ts).
      sessionId: { type: "string", required: false, index: true },
      parentSessionId: { type: "string", required: false, index: true },
      parentTokenHash: { type: "string", required: false, index: true },
      parentGrantId: { type: "string", required: false, index: true },
      revokedAt: { type: "date", required: false },
    } satisfies Record<string, TokenExchangeField>,
  },
} as const;

export const MODEL = "tokenExchange";

/** Prefix of the `referenceId` naming a record of the default table. */
export const RECORD_REFERENCE = "tx_";
/** Prefix of the `referenceId` carrying `act` itself (custom audit sinks). */
export const INLINE_REFERENCE = "txa.";

/** A condition of better-auth's adapter. */
export interface Where {
  field: string;
  value: unknown;
  operator?: string;
}

/** The part of better-auth's database adapter the plugin uses. */
export interface Adapter {
  create(input: { model: string; data: Record<string, unknown>; forceAllowId?: boolean }): Promise<unknown>;
  findOne<T>(input: { model: string; where: Where[] }): Promise<T | null>;
  findMany<T>(input: {
    model: string;
    where?: Where[];
    limit?: number;
    sortBy?: { field: string; direction: "asc" | "desc" };
  }): Promise<T[]>;
  update(input: { model: string; where: Where[]; update: Record<string, unknown> }): Promise<unknown>;
  updateMany(input: { model: string; where: Where[]; update: Record<string, unknown> }): Promise<unknown>;
  delete(input: { model: string; where: Where[] }): Promise<unknown>;
}

export function adapterOf(ctx: TokenExchangeContext): Adapter {
  return ctx.context.adapter as Adapter;
}

/** A record id: random, URL-safe, unique enough to be a primary key. */
export function newRecordId(): string {
  return globalThis.crypto.randomUUID().replace(/-/g, "");
}

/** The stored record of an engine audit record. */
export function toRecord(
  id: string,
  audit: AuditRecord,
  extra: {
    act?: ActClaim | undefined;
    expiresAt?: number | undefined;
    grantedScope?: string | undefined;
    lineage?: Lineage | undefined;
  } = {},
): ExchangeRecord {
  const granted = audit.decision === "granted";
  return {
    id,
    // The clock at writing, to the millisecond: the engine's `time` is whole
    // seconds, and records of one second would tie in `ORDER BY "createdAt"`
    // (PostgreSQL returns ties in no particular order).
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
    requestedScope: audit.requestedScope ?? null,
    grantedScope: granted ? (extra.grantedScope ?? audit.grantedScope ?? null) : null,
    decision: audit.decision,
    error: audit.error ?? null,
    reason: audit.reason ?? null,
    delegation: audit.delegation === true,
    act: granted ? (extra.act ?? null) : null,
    expiresAt: granted && extra.expiresAt ? new Date(extra.expiresAt * 1000) : null,
    sessionId: (granted ? extra.lineage?.sessionId : null) ?? null,
    parentSessionId: (granted ? extra.lineage?.parentSessionId : null) ?? null,
    parentTokenHash: (granted ? extra.lineage?.parentTokenHash : null) ?? null,
    parentGrantId: (granted ? extra.lineage?.parentGrantId : null) ?? null,
    revokedAt: null,
  };
}

/** An engine audit record turned into a refusal by the plugin itself. */
export function refuse(audit: AuditRecord, error: OAuthErrorCode, reason: string): AuditRecord {
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
  async write(record: ExchangeRecord, ctx: TokenExchangeContext): Promise<void> {
    if (this.#sink) {
      await this.#sink(record, ctx);
      return;
    }
    await adapterOf(ctx).create({ model: MODEL, data: { ...record }, forceAllowId: true });
  }

  /** Turns a granted record into a refusal after issuance failed. */
  async amend(record: ExchangeRecord, ctx: TokenExchangeContext): Promise<void> {
    if (this.#sink) {
      await this.#sink(record, ctx);
      return;
    }
    await adapterOf(ctx).update({
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
