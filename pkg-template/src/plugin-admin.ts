/**
 * The audit query API: admin-only endpoints that read the `tokenExchange`
 * table (TX-60) back, filtered and paginated, through better-auth's adapter
 * (no SQL of our own, so every database better-auth supports works).
 *
 *   GET /token-exchange/list-records   filters, newest first, keyset cursor
 *   GET /token-exchange/get-record     one record by id
 *
 * Order of checks: session (401), admin (403), a queryable store (501),
 * then the query itself (400). The query schema given to better-call accepts
 * anything (better-call validates before the session middleware runs), so
 * that an unauthenticated caller learns nothing about the parameters; the
 * handler validates after the access checks.
 *
 * The client entry (client.ts) imports this module's types only.
 * @internal
 */

import { APIError, createAuthEndpoint, sensitiveSessionMiddleware } from "better-auth/api";
import type { AuthEndpoint, AuthMiddleware } from "better-auth/api";
import { decodeJson, encodeJson } from "./b64json.js";
import type { ExchangeRecordAnswer, ExchangeRecordPage, ExchangeRecordQuery } from "./plugin-admin-types.js";
import { type Adapter, MODEL, schema, type Where } from "./plugin-audit.js";
import type { ExchangeRecord, TokenExchangeOptions } from "./plugin-types.js";

export const LIST_PATH = "/token-exchange/list-records";
export const GET_PATH = "/token-exchange/get-record";
export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 200;

const QUERY_KEYS = ["subject", "actor", "clientId", "decision", "from", "to", "limit", "cursor"] as const;
const MAX_FILTER_LENGTH = 2048;
const MAX_ID_LENGTH = 256;
/** 9999-12-31T23:59:59.999Z: ISO strings sort as instants up to there. */
const MAX_TIME_MS = 253402300799999;

type Row = Record<string, unknown> & { id: string; createdAt: Date };

/** A Standard Schema (v1) whose input and output are `T`. */
interface QuerySchema<T> {
  readonly "~standard": {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => { value: T };
    readonly types?: { readonly input: T; readonly output: T } | undefined;
  };
}

/**
 * A schema that accepts any value: it only carries the query's type to
 * better-auth's client inference (see the module comment).
 */
function typedQuery<T>(): QuerySchema<T> {
  return { "~standard": { version: 1, vendor: "better-auth-token-exchange", validate: (value) => ({ value: value as T }) } };
}

/** The options both endpoints are declared with (see {@link AuditEndpoints}). */
interface GetEndpointOptions<Q> {
  method: "GET";
  query: QuerySchema<Q>;
  use: AuthMiddleware[];
  metadata: { noStore: boolean; openapi: { operationId: string; summary: string; description: string } };
}

/**
 * The endpoints' types, for the client plugin's `$InferServerPlugin`.
 * Spelled out (not inferred) so that the published typings name only
 * `better-auth/api`, a peer dependency, and not better-auth's own
 * dependencies, which a strict package layout does not let us resolve.
 * A type alias, not an interface: better-auth's client wants an index
 * signature, which only aliases get implicitly.
 */
export type AuditEndpoints = {
  listTokenExchangeRecords: AuthEndpoint<
    typeof LIST_PATH,
    GetEndpointOptions<ExchangeRecordQuery | undefined>,
    ExchangeRecordPage
  >;
  getTokenExchangeRecord: AuthEndpoint<typeof GET_PATH, GetEndpointOptions<{ id: string }>, ExchangeRecordAnswer>;
};

function badRequest(message: string): APIError {
  return APIError.from("BAD_REQUEST", { code: "INVALID_QUERY", message });
}

/** Who may read: better-auth admin-plugin rules, from our options or the admin plugin's. */
function adminRule(
  options: TokenExchangeOptions,
  context: { getPlugin(id: string): unknown },
): { roles: string[]; userIds: string[] } {
  const own = options.auditApi ?? {};
  const adminPlugin = context.getPlugin("admin") as
    | { options?: { adminRoles?: string | string[]; adminUserIds?: string[] } }
    | null
    | undefined;
  const roles = own.adminRoles ?? adminPlugin?.options?.adminRoles ?? ["admin"];
  return {
    roles: (Array.isArray(roles) ? roles : roles.split(","))
      .map((r) => r.trim())
      .filter((r) => r.length > 0),
    userIds: own.adminUserIds ?? adminPlugin?.options?.adminUserIds ?? [],
  };
}

/** 403 unless the session's user is an admin; 501 when records go to a custom sink. */
function authorize(
  options: TokenExchangeOptions,
  ctx: { context: { session: { user: { id: string } } | null; getPlugin(id: string): unknown } },
): void {
  const user = ctx.context.session?.user as { id: string; role?: unknown } | undefined;
  // The session middleware has already answered 401 without a session.
  if (!user) throw APIError.from("UNAUTHORIZED", { code: "UNAUTHORIZED", message: "Unauthorized" });
  const rule = adminRule(options, ctx.context);
  const userRoles =
    typeof user.role === "string"
      ? user.role
          .split(",")
          .map((r) => r.trim())
          .filter((r) => r.length > 0)
      : [];
  if (!rule.userIds.includes(user.id) && !userRoles.some((r) => rule.roles.includes(r))) {
    throw APIError.from("FORBIDDEN", {
      code: "NOT_AUDIT_ADMIN",
      message: "reading token exchange records needs an admin role",
    });
  }
  if (options.audit) {
    throw APIError.from("NOT_IMPLEMENTED", {
      code: "AUDIT_RECORDS_NOT_QUERYABLE",
      message:
        "token exchange records go to the custom audit sink (options.audit), not to the tokenExchange table: query them where that sink stores them",
    });
  }
}

/** One parameter's value: a string (or a number where numbers make sense), never repeated. */
function single(query: Record<string, unknown>, key: string, numeric = false): string | undefined {
  const value = query[key];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) throw badRequest(`${key} is given more than once`);
  if (numeric && typeof value === "number") {
    if (!Number.isFinite(value)) throw badRequest(`${key} must be a finite number`);
    return String(value);
  }
  if (typeof value !== "string") throw badRequest(`${key} must be a string`);
  if (value.length === 0) throw badRequest(`${key} is empty`);
  return value;
}

function textFilter(query: Record<string, unknown>, key: string): string | undefined {
  const value = single(query, key);
  if (value !== undefined && value.length > MAX_FILTER_LENGTH) {
    throw badRequest(`${key} is longer than ${MAX_FILTER_LENGTH} characters`);
  }
  return value;
}

const EPOCH_SECONDS = /^\d{1,12}(?:\.\d{1,3})?$/;
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2}))?$/i;

/**
 * An instant in milliseconds from epoch seconds or ISO-8601. Date-times need
 * a zone (`Z` or an offset): a zoneless time would depend on the server's
 * time zone. Components are range-checked here rather than trusting
 * `Date.parse`, which rolls `02-30` over into March on some runtimes.
 */
export function parseInstant(key: string, value: string): number {
  const form = `${key} must be epoch seconds or an ISO-8601 date or date-time with a zone (2026-05-01, 2026-05-01T12:00:00Z)`;
  let ms: number;
  if (EPOCH_SECONDS.test(value)) {
    ms = Math.round(Number(value) * 1000);
  } else {
    const m = ISO.exec(value);
    if (!m) throw badRequest(form);
    const [y, mo, d, h = "0", mi = "0", s = "0", frac = "", zone] = m.slice(1) as string[];
    const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) {
      throw badRequest(`${key} is not a valid date: ${value}`);
    }
    let offsetMinutes = 0;
    if (zone && zone.toUpperCase() !== "Z") {
      const oh = Number(zone.slice(1, 3));
      const om = Number(zone.slice(4, 6));
      if (oh > 23 || om > 59) throw badRequest(`${key} has an invalid zone offset: ${zone}`);
      offsetMinutes = (zone.startsWith("-") ? -1 : 1) * (oh * 60 + om);
    }
    const millis = Number(frac.padEnd(3, "0").slice(0, 3) || "0");
    const utc = new Date(0);
    utc.setUTCFullYear(year, month - 1, day);
    utc.setUTCHours(hour, minute, second, millis);
    ms = utc.getTime() - offsetMinutes * 60_000;
  }
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_TIME_MS) {
    throw badRequest(`${key} is out of range (1970 to 9999)`);
  }
  return ms;
}

/** The keyset position after a record: (createdAt, id), base64url JSON. */
function encodeCursor(row: Row): string {
  return encodeJson([row.createdAt.getTime(), row.id]);
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const invalid = badRequest("cursor is not one this endpoint gave out (pass nextCursor unchanged)");
  if (!/^[A-Za-z0-9_-]{1,1024}$/.test(cursor)) throw invalid;
  let parsed: unknown;
  try {
    parsed = decodeJson(cursor);
  } catch {
    throw invalid;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw invalid;
  const [ms, id] = parsed as [unknown, unknown];
  if (typeof ms !== "number" || !Number.isInteger(ms) || ms < 0 || ms > MAX_TIME_MS) throw invalid;
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_ID_LENGTH) throw invalid;
  return { createdAt: new Date(ms), id };
}

interface ListQuery {
  filters: Where[];
  limit: number;
  after: { createdAt: Date; id: string } | undefined;
}

/** Validates the query of list-records; every problem is a 400 naming the parameter. */
export function parseListQuery(raw: unknown): ListQuery {
  const query = (raw ?? {}) as Record<string, unknown>;
  if (typeof query !== "object" || Array.isArray(query)) throw badRequest("the query must be a set of parameters");
  for (const key of Object.keys(query)) {
    if (!(QUERY_KEYS as readonly string[]).includes(key)) {
      throw badRequest(`unknown query parameter "${key.slice(0, 64)}"; known: ${QUERY_KEYS.join(", ")}`);
    }
  }
  const filters: Where[] = [];
  for (const key of ["subject", "actor", "clientId"] as const) {
    const value = textFilter(query, key);
    if (value !== undefined) filters.push({ field: key, value });
  }
  const decision = single(query, "decision");
  if (decision !== undefined) {
    if (decision !== "granted" && decision !== "refused") throw badRequest('decision must be "granted" or "refused"');
    filters.push({ field: "decision", value: decision });
  }
  const fromText = single(query, "from", true);
  const toText = single(query, "to", true);
  const from = fromText === undefined ? undefined : parseInstant("from", fromText);
  const to = toText === undefined ? undefined : parseInstant("to", toText);
  if (from !== undefined && to !== undefined && from > to) throw badRequest("from is later than to");
  if (from !== undefined) filters.push({ field: "createdAt", operator: "gte", value: new Date(from) });
  if (to !== undefined) filters.push({ field: "createdAt", operator: "lte", value: new Date(to) });

  let limit = DEFAULT_LIMIT;
  const limitText = single(query, "limit", true);
  if (limitText !== undefined) {
    limit = /^\d{1,4}$/.test(limitText) ? Number(limitText) : Number.NaN;
    if (!(limit >= 1 && limit <= MAX_LIMIT)) throw badRequest(`limit must be a whole number from 1 to ${MAX_LIMIT}`);
  }
  const cursor = single(query, "cursor");
  return { filters, limit, after: cursor === undefined ? undefined : decodeCursor(cursor) };
}

/** Newest first; ids (lowercase hex) break ties within one createdAt. */
function newestFirst(a: Row, b: Row): number {
  const t = b.createdAt.getTime() - a.createdAt.getTime();
  if (t !== 0) return t;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * One page in (createdAt desc, id desc) order. better-auth's adapter sorts
 * on one field only, and many records share a createdAt (whole seconds), so
 * a page is assembled from at most three single-field queries:
 *   1. the rest of the cursor's own instant: createdAt = t, id < cursor id;
 *   2. older instants, sorted by createdAt; every instant in that answer
 *      except its oldest is complete;
 *   3. that oldest instant again, sorted by id, when (2) was cut by the limit.
 * One record more than the page is read to know whether another page exists.
 */
export async function listPage(adapter: Adapter, query: ListQuery): Promise<ExchangeRecordPage> {
  const want = query.limit + 1;
  const rows: Row[] = [];
  const { filters, after } = query;
  if (after) {
    rows.push(
      ...(await adapter.findMany<Row>({
        model: MODEL,
        where: [
          ...filters,
          { field: "createdAt", operator: "eq", value: after.createdAt },
          { field: "id", operator: "lt", value: after.id },
        ],
        sortBy: { field: "id", direction: "desc" },
        limit: want,
      })),
    );
  }
  if (rows.length < want) {
    const asked = want - rows.length;
    const older = await adapter.findMany<Row>({
      model: MODEL,
      where: after ? [...filters, { field: "createdAt", operator: "lt", value: after.createdAt }] : filters,
      sortBy: { field: "createdAt", direction: "desc" },
      limit: asked,
    });
    if (older.length < asked) {
      rows.push(...older.sort(newestFirst));
    } else {
      const edge = Math.min(...older.map((r) => r.createdAt.getTime()));
      rows.push(...older.filter((r) => r.createdAt.getTime() > edge).sort(newestFirst));
      if (rows.length < want) {
        rows.push(
          ...(await adapter.findMany<Row>({
            model: MODEL,
            where: [...filters, { field: "createdAt", operator: "eq", value: new Date(edge) }],
            sortBy: { field: "id", direction: "desc" },
            limit: want - rows.length,
          })),
        );
      }
    }
  }
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    records: page.map(toAnswer),
    nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null,
  };
}

const FIELDS = ["id", ...Object.keys(schema.tokenExchange.fields)];
const LIST_FIELDS = new Set(
  Object.entries(schema.tokenExchange.fields as Record<string, { type: string }>)
    .filter(([, f]) => f.type === "string[]")
    .map(([name]) => name),
);

/**
 * A stored row as answered: the table's fields only (whatever else an
 * adapter returns stays out). Dates stay `Date`s: JSON makes them ISO
 * strings on the wire, and better-auth's client revives them.
 */
function toAnswer(row: Row): ExchangeRecord {
  const out: Record<string, unknown> = {};
  for (const field of FIELDS) out[field] = row[field] ?? (LIST_FIELDS.has(field) ? [] : null);
  return out as unknown as ExchangeRecord;
}

/** Option shapes a typo could get wrong, checked when the plugin is created. */
function validateAuditApiOptions(options: TokenExchangeOptions): void {
  const api: unknown = options.auditApi;
  if (api === undefined) return;
  if (!api || typeof api !== "object") throw new Error("tokenExchange: `auditApi` must be an object");
  const { adminRoles, adminUserIds, enabled } = api as Record<string, unknown>;
  if (enabled !== undefined && typeof enabled !== "boolean") {
    throw new Error("tokenExchange: `auditApi.enabled` must be a boolean");
  }
  const isStrings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "string");
  if (adminRoles !== undefined && typeof adminRoles !== "string" && !isStrings(adminRoles)) {
    throw new Error("tokenExchange: `auditApi.adminRoles` must be a string or an array of strings");
  }
  if (adminUserIds !== undefined && !isStrings(adminUserIds)) {
    throw new Error("tokenExchange: `auditApi.adminUserIds` must be an array of strings");
  }
}

const OPENAPI_RECORDS = "Token exchange audit records (RFC 8693 exchanges, granted and refused); admin only.";

/** The endpoints, keyed by their `auth.api` names. */
export function auditEndpoints(options: TokenExchangeOptions): AuditEndpoints {
  validateAuditApiOptions(options);
  const listTokenExchangeRecords = createAuthEndpoint(
    LIST_PATH,
    {
      method: "GET",
      query: typedQuery<ExchangeRecordQuery | undefined>(),
      use: [sensitiveSessionMiddleware],
      metadata: {
        noStore: true,
        openapi: {
          operationId: "listTokenExchangeRecords",
          summary: "List token exchange records",
          description: `${OPENAPI_RECORDS} Filters: subject, actor, clientId, decision, from, to; newest first; limit 1-${MAX_LIMIT} (default ${DEFAULT_LIMIT}); cursor = the previous page's nextCursor.`,
        },
      },
    },
    async (ctx): Promise<ExchangeRecordPage> => {
      authorize(options, ctx);
      const query = parseListQuery(ctx.query);
      return listPage(ctx.context.adapter as unknown as Adapter, query);
    },
  );

  const getTokenExchangeRecord = createAuthEndpoint(
    GET_PATH,
    {
      method: "GET",
      query: typedQuery<{ id: string }>(),
      use: [sensitiveSessionMiddleware],
      metadata: {
        noStore: true,
        openapi: {
          operationId: "getTokenExchangeRecord",
          summary: "Get one token exchange record",
          description: `${OPENAPI_RECORDS} The record with the given id (404 if there is none).`,
        },
      },
    },
    async (ctx): Promise<ExchangeRecordAnswer> => {
      authorize(options, ctx);
      const query = (ctx.query ?? {}) as unknown as Record<string, unknown>;
      for (const key of Object.keys(query)) {
        if (key !== "id") throw badRequest(`unknown query parameter "${key.slice(0, 64)}"; known: id`);
      }
      const id = single(query, "id");
      if (id === undefined) throw badRequest("id is required");
      if (id.length > MAX_ID_LENGTH) throw badRequest(`id is longer than ${MAX_ID_LENGTH} characters`);
      const adapter = ctx.context.adapter as unknown as Adapter;
      const row = await adapter.findOne<Row>({ model: MODEL, where: [{ field: "id", value: id }] });
      if (!row) throw APIError.from("NOT_FOUND", { code: "RECORD_NOT_FOUND", message: "no token exchange record has this id" });
      return { record: toAnswer(row) };
    },
  );

  return { listTokenExchangeRecords, getTokenExchangeRecord };
}
