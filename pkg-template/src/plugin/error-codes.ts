/**
 * The plugin's `$ERROR_CODES` (`auth.$ERROR_CODES`): the audit API's codes,
 * and each refusal reason of the grant in capitals, with its meaning, from
 * the generated reason list (shared/reasons.ts).
 * @internal
 */

import { REASON_CODES, REASON_MEANINGS, type ReasonCode } from "../shared/reasons.js";
import type { AuditErrorCode, TokenExchangeErrorCodes } from "./types.js";

const AUDIT_MESSAGES: { readonly [K in AuditErrorCode]: string } = {
  UNAUTHORIZED: "Unauthorized",
  NOT_AUDIT_ADMIN: "reading token exchange records needs an admin role",
  AUDIT_RECORDS_NOT_QUERYABLE:
    "token exchange records go to the custom audit sink (options.audit), not to the tokenExchange table: query them where that sink stores them",
  INVALID_QUERY: "the query of the audit API is invalid",
  RECORD_NOT_FOUND: "no token exchange record has this id",
};

const upper = (reason: ReasonCode) => reason.toUpperCase() as Uppercase<ReasonCode>;

export const ERROR_CODES: TokenExchangeErrorCodes = Object.freeze({
  ...Object.fromEntries(REASON_CODES.map((r) => [upper(r), { code: upper(r), message: REASON_MEANINGS[r] }])),
  ...Object.fromEntries(Object.entries(AUDIT_MESSAGES).map(([code, message]) => [code, { code, message }])),
}) as TokenExchangeErrorCodes;
