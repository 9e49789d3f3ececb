/**
 * The plugin's tables, created by better-auth's migrations or CLI from
 * `schema`, read and written only through better-auth's adapter (so every
 * database better-auth supports works):
 * - `tokenExchange`: one row per exchange attempt, the audit record (TX-60);
 *   a granted one names its delegation and carries its lineage, for reading;
 * - `tokenExchangeDelegation`: one row per delegation (revocation/
 *   delegation.ts), its session and lineage, indexed for revocation that
 *   follows the chain (revocation/chain.ts), which walks delegations rather
 *   than exchanges;
 * - `tokenExchangeAssertion`: the ID-JAGs redeemed here (jwt-bearer grant),
 *   one row per (issuer, `jti`) until it expires, so that none is redeemed
 *   twice, whichever instance sees it (jwt-bearer/replay.ts).
 * @internal
 */

import type { StoredValue, TokenExchangeField } from "./types.js";

export const MODEL = "tokenExchange";
export const DELEGATION_MODEL = "tokenExchangeDelegation";
export const ASSERTION_MODEL = "tokenExchangeAssertion";

/** Prefix of the `referenceId` naming a record of the table. */
export const RECORD_REFERENCE = "tx_";
/** Prefix of the `referenceId` carrying `act` itself (custom audit sinks). */
export const INLINE_REFERENCE = "txa.";

/**
 * The JSON columns (`priorActors`, `act`) and the list columns (`audiences`,
 * `resources`) hold JSON text in a text column, written and parsed here, so
 * that raw SQL on every adapter reads the same JSON. Declared as `json` or
 * `string[]`, better-auth's adapters and schema generator would each encode
 * them their own way: the adapter factory turns the value into JSON text
 * wherever the adapter has no native JSON or arrays, and Drizzle's
 * `text({ mode: "json" })` (what the generator emits for SQLite) encodes
 * that text again, while on PostgreSQL Kysely before 1.7.23 hands a JS array
 * to node-postgres, which makes it an array literal. Tables created by 0.1.0
 * keep their column types (`jsonb` on PostgreSQL takes the text as JSON;
 * better-auth's migration notes the type difference and changes nothing).
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
const jsonColumn = { type: "string", required: false, transform: jsonText } as const;

/** The tables; `id` is added by better-auth. */
export const schema = {
  tokenExchange: {
    modelName: MODEL,
    fields: {
      // Indexed for the audit API's order and filters, and `sessionId` for
      // stamping `revokedAt`; nothing else is read by a condition on its own
      // (an index is paid on every exchange's insert).
      createdAt: { type: "date", required: true, index: true },
      clientId: { type: "string", required: false, index: true },
      subjectIss: { type: "string", required: false },
      subject: { type: "string", required: false, index: true },
      actorIss: { type: "string", required: false },
      actor: { type: "string", required: false, index: true },
      actorClientId: { type: "string", required: false },
      priorActors: jsonColumn,
      audiences: jsonColumn,
      resources: jsonColumn,
      subjectTokenType: { type: "string", required: false },
      actorTokenType: { type: "string", required: false },
      // What the client asked for: an access token, a JWT or an ID-JAG; since 0.2.0.
      requestedTokenType: { type: "string", required: false },
      // The grant: token exchange, or jwt-bearer (an ID-JAG redeemed); since 0.2.0 (null: token exchange).
      grantType: { type: "string", required: false },
      requestedScope: { type: "string", required: false },
      grantedScope: { type: "string", required: false },
      decision: { type: "string", required: true },
      error: { type: "string", required: false },
      reason: { type: "string", required: false },
      delegation: { type: "boolean", required: true },
      act: jsonColumn,
      expiresAt: { type: "date", required: false },
      // Lineage of a granted exchange: its delegation's (revocation/chain.ts).
      sessionId: { type: "string", required: false, index: true },
      parentSessionId: { type: "string", required: false },
      parentTokenHash: { type: "string", required: false },
      parentGrantId: { type: "string", required: false },
      revokedAt: { type: "date", required: false },
      // The delegation the exchange was granted in; since 0.2.0.
      delegationKey: { type: "string", required: false },
    } satisfies Record<string, TokenExchangeField>,
  },
  tokenExchangeDelegation: {
    modelName: DELEGATION_MODEL,
    fields: {
      key: { type: "string", required: true, index: true },
      sessionId: { type: "string", required: true, index: true },
      clientId: { type: "string", required: true },
      parentSessionId: { type: "string", required: false, index: true },
      parentTokenHash: { type: "string", required: false, index: true },
      parentGrantId: { type: "string", required: false, index: true },
      createdAt: { type: "date", required: true },
      revokedAt: { type: "date", required: false },
    } satisfies Record<string, TokenExchangeField>,
  },
  tokenExchangeAssertion: {
    modelName: ASSERTION_MODEL,
    fields: {
      // `id` is the digest of (issuer, jti).
      issuer: { type: "string", required: true },
      expiresAt: { type: "date", required: true, index: true },
      createdAt: { type: "date", required: true },
    } satisfies Record<string, TokenExchangeField>,
  },
} as const;

/** The table's fields, `id` first (what the audit API answers). */
export const FIELDS = ["id", ...Object.keys(schema.tokenExchange.fields)];
/** Its list-valued fields (answered as `[]` when a row has none). */
export const LIST_FIELDS: ReadonlySet<string> = new Set(["audiences", "resources"]);

/** A record id: random, URL-safe, unique enough to be a primary key. */
export function newRecordId(): string {
  return globalThis.crypto.randomUUID().replace(/-/g, "");
}
