/**
 * The audit query API: admin-only endpoints that read the `tokenExchange`
 * table (TX-60) back, filtered and paginated, through better-auth's adapter
 * (no SQL of our own, so every database better-auth supports works).
 *
 *   GET /token-exchange/list-records   filters, newest first, keyset cursor
 *   GET /token-exchange/get-record     one record by id
 *
 * Order of checks: session (401), admin (403), a queryable store (501),
 * then the query itself (400, query.ts). The query schema given to
 * better-call accepts anything (better-call validates before the session
 * middleware runs), so that an unauthenticated caller learns nothing about
 * the parameters; the handler validates after the access checks.
 *
 * The endpoints' types are public (audit/types.ts, `TokenExchangeEndpoints`).
 * @internal
 */

import { APIError, createAuthEndpoint, sensitiveSessionMiddleware } from "better-auth/api";
import { ERROR_CODES } from "../error-codes.js";
import { MODEL } from "../store.js";
import type {
  ExchangeRecordAnswer,
  ExchangeRecordPage,
  ExchangeRecordQuery,
  QuerySchema,
  TokenExchangeEndpoints,
  TokenExchangeOptions,
} from "../types.js";
import { badRequest, DEFAULT_LIMIT, listPage, MAX_ID_LENGTH, MAX_LIMIT, parseListQuery, type Row, single, toAnswer } from "./query.js";

export const LIST_PATH = "/token-exchange/list-records";
export const GET_PATH = "/token-exchange/get-record";

/**
 * A schema that accepts any value: it only carries the query's type to
 * better-auth's inference (see the module comment).
 */
function typedQuery<T>(): QuerySchema<T> {
  return { "~standard": { version: 1, vendor: "better-auth-token-exchange", validate: (value) => ({ value: value as T }) } };
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
  if (!user) throw APIError.from("UNAUTHORIZED", ERROR_CODES.UNAUTHORIZED);
  const rule = adminRule(options, ctx.context);
  const userRoles =
    typeof user.role === "string"
      ? user.role
          .split(",")
          .map((r) => r.trim())
          .filter((r) => r.length > 0)
      : [];
  if (!rule.userIds.includes(user.id) && !userRoles.some((r) => rule.roles.includes(r))) {
    throw APIError.from("FORBIDDEN", ERROR_CODES.NOT_AUDIT_ADMIN);
  }
  if (options.audit) {
    throw APIError.from("NOT_IMPLEMENTED", ERROR_CODES.AUDIT_RECORDS_NOT_QUERYABLE);
  }
}

const OPENAPI_RECORDS = "Token exchange audit records (RFC 8693 exchanges, granted and refused); admin only.";

/** The endpoints, keyed by their `auth.api` names. */
export function auditEndpoints(options: TokenExchangeOptions): TokenExchangeEndpoints {
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
      return listPage(ctx.context.adapter, query);
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
      const row = await ctx.context.adapter.findOne<Row>({ model: MODEL, where: [{ field: "id", value: id }] });
      if (!row) throw APIError.from("NOT_FOUND", ERROR_CODES.RECORD_NOT_FOUND);
      return { record: toAnswer(row) };
    },
  );

  return { listTokenExchangeRecords, getTokenExchangeRecord };
}
