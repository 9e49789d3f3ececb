/**
 * What every grant of the plugin (token exchange, jwt-bearer) does the same
 * way around its own decision:
 * - `guarded`: nothing leaves but an OAuth error; the provider's own
 *   answers pass on with safe descriptions (TX-71), anything else is a 500;
 * - `receive`: read the form (bounded, form.ts), authenticate the client
 *   through the provider (client-auth.ts) and read its policy and the rows
 *   of the targets it asks for (client-policy.ts), refusing (and recording)
 *   a body too large or a malformed client authentication;
 * - `refuseFailure`: answer the engine's refusal, recorded.
 * @internal
 */

import type { OAuthTokenResponse } from "@better-auth/oauth-provider";
import type { Decision } from "../../engine/answers.js";
import type { ClientInput, FormPairs } from "../../engine/types.js";
import { BodyTooLarge, describe } from "../../shared/http.js";
import { bareAudit, refuse } from "../audit/trail.js";
import { isOAuthAnswer, oauthError, safeDescription, SERVER_FAILURE } from "../errors.js";
import { type Ctx, exchangeClient, type GrantInput, providerApi, type ProviderApi } from "../provider.js";
import type { ClientPolicy } from "../../engine/types.js";
import { authenticate, claimedClientId, usedBasic } from "./client-auth.js";
import { authenticatedClient } from "./client-policy.js";
import type { IssuerEngine } from "./engines.js";
import { MAX_BODY_BYTES, readForm } from "./form.js";
import { RequestReads } from "./reads.js";
import type { Exchange } from "./state.js";

/** The request's `Authorization` header. */
export function authorizationOf(ctx: Ctx): string | null | undefined {
  return ctx.request?.headers.get("authorization") ?? ctx.headers?.get("authorization");
}

/** Runs a grant; whatever it throws leaves as an OAuth error. `name` is for the log. */
export async function guarded(
  input: GrantInput,
  name: string,
  run: () => Promise<OAuthTokenResponse>,
): Promise<OAuthTokenResponse> {
  try {
    return await run();
  } catch (error) {
    if (isOAuthAnswer(error)) {
      const description = typeof error.body.error_description === "string" ? error.body.error_description : "";
      if (safeDescription(description) === description) throw error;
      const status = typeof error.statusCode === "number" ? error.statusCode : 400;
      throw oauthError(status, error.body.error, description, status === 401 && usedBasic(authorizationOf(input.ctx)));
    }
    input.ctx.context.logger.error(`[token-exchange] unexpected failure of ${name}: ${describe(error)}`);
    throw oauthError(500, "server_error", SERVER_FAILURE);
  }
}

/** A received request: its form, the client as the engine sees it, and what the grant goes on with. */
export interface Received {
  /** When the request arrived, seconds. */
  started: number;
  form: FormPairs;
  /** One snapshot of what this request reads, for the provider's reads too (reads.ts). */
  reads: RequestReads;
  /** The provider's API over `reads`. */
  api: ProviderApi;
  auth: Awaited<ReturnType<typeof authenticate>>;
  client: ClientInput;
  issuer: IssuerEngine;
}

/**
 * Reads and authenticates a request of `grant`. `targets` gives, from the
 * form, the targets whose rows to read with the client's policy. Refusals
 * are recorded with `recordedGrantType` (none: token exchange).
 */
export async function receive(
  x: Exchange,
  { ctx, opts, grantType }: GrantInput,
  {
    grant,
    targets,
    recordedGrantType,
  }: {
    grant: "exchange" | "assertion";
    targets: (form: FormPairs) => (policy: ClientPolicy | undefined) => string[];
    recordedGrantType?: string;
  },
): Promise<Received> {
  const started = Math.floor(Date.now() / 1000);
  const authorization = authorizationOf(ctx);
  let form: FormPairs;
  try {
    form = await readForm(ctx);
  } catch (error) {
    if (!(error instanceof BodyTooLarge)) throw error;
    const audit = refuse(bareAudit(started, claimedClientId(authorization, [])), "invalid_request", "request_too_large");
    return x.refuse(
      ctx,
      audit,
      { error: "invalid_request", status: 400, description: `the request body is larger than ${MAX_BODY_BYTES} bytes` },
      recordedGrantType,
    );
  }
  const reads = new RequestReads();
  const { api } = providerApi(reads.context(ctx), opts, grantType);
  // TX-10 to TX-12: the provider authenticates; the engine judges the result.
  const claimed = claimedClientId(authorization, form);
  const auth = await authenticate(
    async () => {
      const { client, method } = await reads.run(ctx, async () => api.authenticateClient());
      return { client: exchangeClient(client), method };
    },
    usedBasic(authorization),
    claimed,
  );
  if (!auth.ok && "malformed" in auth) {
    const audit = refuse(bareAudit(started, claimed), "invalid_request", "malformed_client_authentication");
    return x.refuse(ctx, audit, { error: "invalid_request", status: 400, description: auth.malformed }, recordedGrantType);
  }
  const issuer = x.engines.for(ctx, opts);
  const client: ClientInput = auth.ok
    ? await authenticatedClient(ctx, opts, { grant, targets: targets(form) }, auth.client, auth.method, x.options, reads)
    : auth.input;
  return { started, form, reads, api, auth, client, issuer };
}

/** Answers the engine's refusal, recorded; a server-side one (5xx) is logged and answered generically. */
export function refuseFailure(
  x: Exchange,
  ctx: Ctx,
  decision: Extract<Decision, { type: "failure" }>,
  recordedGrantType?: string,
): Promise<never> {
  let description = decision.description;
  if (decision.status >= 500) {
    // An invalid engine call (for example a malformed client policy in
    // metadata) is the server's problem: log it, answer generically.
    ctx.context.logger.error(`[token-exchange] ${decision.reason}: ${decision.description}`);
    description = SERVER_FAILURE;
  }
  return x.refuse(
    ctx,
    decision.audit,
    { error: decision.error, status: decision.status, description, challenge: decision.wwwAuthenticate },
    recordedGrantType,
  );
}
