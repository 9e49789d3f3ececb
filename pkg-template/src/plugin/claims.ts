/**
 * The `act` claim of tokens issued by an exchange, where the provider does
 * not store it: opaque access tokens at introspection, userinfo and refresh
 * (TX-53, TX-55). The issued tokens' `referenceId` names the record (or, with
 * a custom audit sink, carries `act` itself); this claims contributor
 * re-derives `act` from it.
 * @internal
 */

import type { OAuthClaimExtensionInput } from "@better-auth/oauth-provider";
import type { ActClaim } from "../engine/types.js";
import { describe } from "../shared/http.js";
import { TOKEN_EXCHANGE_GRANT_TYPE } from "../shared/urns.js";
import { decodeInlineReference } from "./audit/trail.js";
import type { Db } from "./provider.js";
import { INLINE_REFERENCE, MODEL, RECORD_REFERENCE } from "./store.js";

/**
 * The `act` claim a token issued by an exchange carries, from its
 * `referenceId`: `tx_<record id>` (read back from the table) or
 * `txa.<base64url JSON>` (custom audit sinks). Other references are not ours.
 */
export async function actOfReference(db: Db, referenceId: string | undefined): Promise<ActClaim | undefined> {
  if (!referenceId) return undefined;
  if (referenceId.startsWith(INLINE_REFERENCE)) return decodeInlineReference(referenceId);
  if (!referenceId.startsWith(RECORD_REFERENCE)) return undefined;
  const record = await db.findOne<{ act?: unknown; decision?: string }>({
    model: MODEL,
    where: [{ field: "id", value: referenceId.slice(RECORD_REFERENCE.length) }],
  });
  if (record?.decision !== "granted") return undefined;
  let act = record.act;
  if (typeof act === "string") {
    try {
      act = JSON.parse(act);
    } catch {
      return undefined;
    }
  }
  return act && typeof act === "object" && !Array.isArray(act) ? (act as ActClaim) : undefined;
}


/**
 * Claims contributor for access tokens. At issuance by the exchange the
 * `act` claim arrives through `accessTokenClaims`; at opaque-token
 * introspection, userinfo and refresh, it is re-derived here.
 */
export async function actClaims(input: OAuthClaimExtensionInput): Promise<Record<string, unknown>> {
  if (!input.referenceId || input.grantType === TOKEN_EXCHANGE_GRANT_TYPE) return {};
  let act: ActClaim | undefined;
  try {
    act = await actOfReference(input.ctx.context.adapter, input.referenceId);
  } catch (error) {
    input.ctx.context.logger.error(`[token-exchange] could not read the act claim: ${describe(error)}`);
    throw error;
  }
  return act ? { act } : {};
}
