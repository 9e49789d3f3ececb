/**
 * The token request's form as the engine reads it: name/value pairs in
 * order, repeats kept (TX-6, TX-8), bounded in size.
 * @internal
 */

import type { FormPairs } from "../../engine/types.js";
import { BodyTooLarge, readLimited } from "../../shared/http.js";
import { TOKEN_EXCHANGE_GRANT_TYPE } from "../../shared/urns.js";
import type { Ctx } from "../provider.js";

/** Largest token request body read (the engine bounds each token further, TX-25). */
export const MAX_BODY_BYTES = 64 * 1024;

export function first(form: FormPairs, name: string): string | undefined {
  return form.find(([k]) => k === name)?.[1];
}

/** The parsed body of an in-process call (no `Request`), as pairs. */
export function pairsOfBody(body: unknown): FormPairs {
  if (!body || typeof body !== "object") return [];
  const pairs: FormPairs = [];
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      if (v === undefined || v === null) continue;
      pairs.push([key, typeof v === "string" ? v : String(v)]);
    }
  }
  return pairs;
}

/**
 * The raw form: the token endpoint keeps only the last value of a repeated
 * parameter in `ctx.body`, so read the (cloned) request ourselves. Clone,
 * never consume: the provider re-reads the body to authenticate the client.
 * Throws {@link BodyTooLarge}.
 */
export async function readForm(ctx: Ctx): Promise<FormPairs> {
  const request = ctx.request;
  if (!request) return pairsOfBody(ctx.body);
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) throw new BodyTooLarge(MAX_BODY_BYTES);
  const text = await readLimited(request.clone(), MAX_BODY_BYTES);
  return [...new URLSearchParams(text)];
}

/**
 * Whether the provider's own body validation (better-auth 1.7's
 * `/oauth2/token`) refuses a token-exchange request before any grant
 * handler runs: it checks the parsed body's `resource` (an absolute URI
 * without a fragment, RFC 8707 §2). Such a request is handled before the
 * endpoint instead (grant/handle.ts, `preflight`).
 */
export function providerRefusesBody(ctx: { path?: string; body?: unknown }): boolean {
  if (ctx.path !== "/oauth2/token") return false;
  const body = ctx.body as { grant_type?: unknown; resource?: unknown } | undefined;
  if (![body?.grant_type].flat().includes(TOKEN_EXCHANGE_GRANT_TYPE) || body?.resource === undefined) return false;
  return ![body.resource].flat().every((v) => typeof v === "string" && URL.canParse(v) && !v.includes("#"));
}
