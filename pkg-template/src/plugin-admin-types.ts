/**
 * Public types of the audit query API: its options, its query and its
 * answers. Declared structurally like plugin-types.ts (nothing imported from
 * better-auth), so the server entry's typings keep standing alone; the
 * client entry (`better-auth-token-exchange/client`) re-exports them.
 */

import type { ExchangeRecord } from "./plugin-types.js";

/**
 * Options of the audit query API (`GET /token-exchange/list-records` and
 * `GET /token-exchange/get-record`). Callers need a session (401 without
 * one) of a user who is an admin by better-auth's admin-plugin rules
 * (403 otherwise): one of the user's roles (the `role` field, comma-separated)
 * is in {@link adminRoles}, or the user's id is in {@link adminUserIds}.
 */
export interface AuditApiOptions {
  /**
   * Serve the endpoints. Default `true`; with `false` they are not
   * registered (404). With a custom `audit` sink there is no table to
   * query: the endpoints answer 501 `AUDIT_RECORDS_NOT_QUERYABLE`.
   */
  enabled?: boolean;
  /**
   * Roles that may read the records, as a list or comma-separated.
   * Default: the admin plugin's `adminRoles` when that plugin is installed,
   * else `["admin"]`.
   */
  adminRoles?: string | string[];
  /**
   * Users who may read the records whatever their role.
   * Default: the admin plugin's `adminUserIds` when that plugin is installed,
   * else none.
   */
  adminUserIds?: string[];
}

/**
 * The query of `GET /token-exchange/list-records`. Every filter is optional
 * and they combine with AND. Values arrive as strings over HTTP; an unknown,
 * empty, repeated or malformed parameter answers 400.
 */
export interface ExchangeRecordQuery {
  /** Records whose subject (`sub` of the subject token) is exactly this. */
  subject?: string;
  /** Records whose actor (`sub` of the actor token) is exactly this. */
  actor?: string;
  /** Records of this exchanging client. */
  clientId?: string;
  /** Only granted or only refused attempts. */
  decision?: "granted" | "refused";
  /**
   * Records created at or after this instant: an ISO-8601 date
   * (`2026-05-01`, UTC midnight) or date-time with a zone
   * (`2026-05-01T12:00:00Z`, `...+02:00`), or epoch seconds.
   */
  from?: string | number;
  /** Records created at or before this instant; same forms as `from`. */
  to?: string | number;
  /** Page size, 1 to 200. Default 50. */
  limit?: string | number;
  /**
   * The `nextCursor` of the previous page. Pages run newest first, keyed on
   * (createdAt, id): walking them visits every record once, even while new
   * records arrive (those newer than the first page are not visited).
   */
  cursor?: string;
}

/** A `Date` of a record as it travels in JSON. */
type Jsonified<T> = T extends Date ? string : T;

/**
 * An {@link ExchangeRecord} as it travels over HTTP: dates as ISO-8601
 * strings. better-auth's client turns them back into `Date`s (its JSON
 * parser revives ISO date-times), so its answers are typed with
 * {@link ExchangeRecord}; read raw HTTP answers as
 * `ExchangeRecordPage<ExchangeRecordJson>`. No token value is ever in it.
 */
export type ExchangeRecordJson = { [K in keyof ExchangeRecord]: Jsonified<ExchangeRecord[K]> };

/** The answer of `GET /token-exchange/list-records`. */
export interface ExchangeRecordPage<R = ExchangeRecord> {
  /** Newest first. */
  records: R[];
  /** Pass as `cursor` for the next page; `null` on the last page. */
  nextCursor: string | null;
}

/** The answer of `GET /token-exchange/get-record?id=...`. */
export interface ExchangeRecordAnswer<R = ExchangeRecord> {
  record: R;
}
