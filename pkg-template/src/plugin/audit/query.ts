/**
 * The audit API's queries: validation of list-records' parameters (every
 * problem a 400 naming the parameter) and the keyset pages, through
 * better-auth's adapter with conditions every adapter compares the same way.
 * @internal
 */

import { APIError } from "better-auth/api";
import { decodeJson, encodeJson } from "../../shared/b64json.js";
import type { Db, Where } from "../provider.js";
import { FIELDS, LIST_FIELDS, MODEL } from "../store.js";
import type { ExchangeRecord, ExchangeRecordPage } from "../types.js";

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 200;

const QUERY_KEYS = ["subject", "actor", "clientId", "decision", "from", "to", "limit", "cursor"] as const;
const MAX_FILTER_LENGTH = 2048;
export const MAX_ID_LENGTH = 256;
/** 9999-12-31T23:59:59.999Z: ISO strings sort as instants up to there. */
const MAX_TIME_MS = 253402300799999;

export type Row = Record<string, unknown> & { id: string; createdAt: Date };

export function badRequest(message: string): APIError {
  return APIError.from("BAD_REQUEST", { code: "INVALID_QUERY", message });
}

/** One parameter's value: a string (or a number where numbers make sense), never repeated. */
export function single(query: Record<string, unknown>, key: string, numeric = false): string | undefined {
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
 * The records of one instant, as a range (`gte` and `lte`): adapters compare
 * dates in order the same way, but not for equality (the memory adapter
 * compares `Date` objects with `===`, which never holds).
 */
function atInstant(instant: Date): Where[] {
  return [
    { field: "createdAt", operator: "gte", value: instant },
    { field: "createdAt", operator: "lte", value: instant },
  ];
}

/**
 * One page in (createdAt desc, id desc) order. better-auth's adapter sorts
 * on one field only, and records may share a createdAt, so a page is
 * assembled from at most three single-field queries:
 *   1. the rest of the cursor's own instant: createdAt = t, id < cursor id;
 *   2. older instants, sorted by createdAt; every instant in that answer
 *      except its oldest is complete;
 *   3. that oldest instant again, sorted by id, when (2) was cut by the limit.
 * One record more than the page is read to know whether another page exists.
 */
export async function listPage(adapter: Db, query: ListQuery): Promise<ExchangeRecordPage> {
  const want = query.limit + 1;
  const rows: Row[] = [];
  const { filters, after } = query;
  if (after) {
    rows.push(
      ...(await adapter.findMany<Row>({
        model: MODEL,
        where: [
          ...filters,
          ...atInstant(after.createdAt),
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
            where: [...filters, ...atInstant(new Date(edge))],
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

/**
 * A stored row as answered: the table's fields only (whatever else an
 * adapter returns stays out). Dates stay `Date`s: JSON makes them ISO
 * strings on the wire, and better-auth's client revives them.
 */
export function toAnswer(row: Row): ExchangeRecord {
  const out: Record<string, unknown> = {};
  for (const field of FIELDS) out[field] = row[field] ?? (LIST_FIELDS.has(field) ? [] : null);
  return out as unknown as ExchangeRecord;
}
