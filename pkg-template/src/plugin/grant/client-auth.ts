/**
 * The exchanging client's authentication (TX-10 to TX-12), through the
 * oauth-provider: its refusals mapped to the engine's `ClientInput`, and the
 * client id a request claims (for the record of a refusal only).
 * @internal
 */

import type { ClientInput, FormPairs } from "../../engine/types.js";
import { isApiError } from "../errors.js";
import type { TokenExchangeClient } from "../types.js";

type Unauthenticated = Extract<ClientInput, { status: "unauthenticated" }>;

/** What `provider.authenticateClient()` answered. */
export type Authentication =
  | { ok: true; client: TokenExchangeClient; method?: string | undefined }
  | { ok: false; input: Unauthenticated }
  | { ok: false; malformed: string };

/** `Authorization: Basic` was sent (then a 401 carries `WWW-Authenticate`, TX-10). */
export function usedBasic(authorization: string | null | undefined): boolean {
  return /^basic\s/i.test(authorization ?? "");
}

/** The client id a request claims (for the audit record only; never trusted). */
export function claimedClientId(authorization: string | null | undefined, form: FormPairs): string | undefined {
  let id: string | undefined;
  if (usedBasic(authorization)) {
    try {
      const decoded = atob((authorization ?? "").replace(/^basic\s+/i, "").trim());
      const colon = decoded.indexOf(":");
      id = decodeURIComponent(colon >= 0 ? decoded.slice(0, colon) : decoded);
    } catch {
      id = undefined;
    }
  } else {
    id = form.find(([k]) => k === "client_id")?.[1];
  }
  // Bound what an unauthenticated caller can put into the audit trail.
  return id && id.length <= 255 ? id : undefined;
}

/**
 * Calls `authenticate` (the provider's `authenticateClient`) and maps its
 * refusals. Table of the provider's answers (better-auth 1.7.5):
 * "Missing required client_id" (invalid_request) means no credentials;
 * "Missing required client credentials" a public client; "missing client"
 * and "client is disabled" an unknown client (TX-12: indistinguishable);
 * any other invalid_client bad credentials; unauthorized_client a client
 * without the grant in its `grant_types`. Other invalid_request answers
 * (a repeated `client_id`, two authentication methods) stay invalid_request.
 */
export async function authenticate(
  run: () => Promise<{ client: TokenExchangeClient; method?: string | undefined }>,
  basic: boolean,
  clientId: string | undefined,
): Promise<Authentication> {
  try {
    const { client, method } = await run();
    return { ok: true, client, method };
  } catch (error) {
    if (!isApiError(error)) throw error;
    const code = error.body?.error;
    const description = typeof error.body?.error_description === "string" ? error.body.error_description : "";
    const fail = (reason: Unauthenticated["reason"]): Authentication => ({
      ok: false,
      input: { status: "unauthenticated", ...(clientId ? { clientId } : {}), basic, reason },
    });
    if (code === "invalid_request") {
      if (/missing required client_id/i.test(description)) return fail("no_credentials");
      return { ok: false, malformed: description || "the client authentication is malformed" };
    }
    if (code === "unauthorized_client") return fail("grant_not_allowed");
    if (code === "invalid_client") {
      if (/missing required client credentials|registered for none|public client/i.test(description)) {
        return fail("public_client");
      }
      if (/^missing client$|client is disabled/i.test(description)) return fail("unknown_client");
      return fail("bad_credentials");
    }
    throw error;
  }
}
