/**
 * The plugin's table, `tokenExchange`: one row per exchange attempt (the
 * audit record, TX-60), which for a granted exchange also carries its
 * lineage (revocation/chain.ts) and its delegation (revocation/delegation.ts).
 * Created by better-auth's migrations or CLI from `schema`; read and
 * written only through better-auth's adapter, so every database better-auth
 * supports works.
 * @internal
 */

import type { StoredValue, TokenExchangeField } from "./types.js";

export const MODEL = "tokenExchange";

/** Prefix of the `referenceId` naming a record of the table. */
export const RECORD_REFERENCE = "tx_";
/** Prefix of the `referenceId` carrying `act` itself (custom audit sinks). */
export const INLINE_REFERENCE = "txa.";

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

/** The table; `id` is added by better-auth. */
export const schema = {
  tokenExchange: {
    modelName: MODEL,
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
      // Lineage of a granted exchange (revocation/chain.ts).
      sessionId: { type: "string", required: false, index: true },
      parentSessionId: { type: "string", required: false, index: true },
      parentTokenHash: { type: "string", required: false, index: true },
      parentGrantId: { type: "string", required: false, index: true },
      revokedAt: { type: "date", required: false },
      // The delegation the exchange was granted in (revocation/delegation.ts); since 0.2.0.
      delegationKey: { type: "string", required: false, index: true },
    } satisfies Record<string, TokenExchangeField>,
  },
} as const;

/** The table's fields, `id` first (what the audit API answers). */
export const FIELDS = ["id", ...Object.keys(schema.tokenExchange.fields)];
/** Its list-valued fields (answered as `[]` when a row has none). */
export const LIST_FIELDS: ReadonlySet<string> = new Set(
  Object.entries(schema.tokenExchange.fields as Record<string, { type: string }>)
    .filter(([, f]) => f.type === "string[]")
    .map(([name]) => name),
);

/** A record id: random, URL-safe, unique enough to be a primary key. */
export function newRecordId(): string {
  return globalThis.crypto.randomUUID().replace(/-/g, "");
}
