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
 * The client entry imports this module's types only.
 * @internal
 */

import { APIError, createAuthEndpoint, sensitiveSessionMiddleware } from "better-auth/api";
import type { AuthEndpoint, AuthMiddleware } from "better-auth/api";
import { MODEL } from "../store.js";
import type {
  ExchangeRecordAnswer,
  ExchangeRecordPage,
  ExchangeRecordQuery,
  TokenExchangeOptions,
} from "../types.js";
import { badRequest, DEFAULT_LIMIT, listPage, MAX_ID_LENGTH, MAX_LIMIT, parseListQuery, type Row, single, toAnswer } from "./query.js";

export const LIST_PATH = "/token-exchange/list-records";
export const GET_PATH = "/token-exchange/get-record";

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

const OPENAPI_RECORDS = "Token exchange audit records (RFC 8693 exchanges, granted and refused); admin only.";

/** The endpoints, keyed by their `auth.api` names. */
export function auditEndpoints(options: TokenExchangeOptions): AuditEndpoints {
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
      if (!row) throw APIError.from("NOT_FOUND", { code: "RECORD_NOT_FOUND", message: "no token exchange record has this id" });
      return { record: toAnswer(row) };
    },
  );

  return { listTokenExchangeRecords, getTokenExchangeRecord };
}
