/**
 * The exchanging client (TX-10 to TX-12): authentication through the
 * oauth-provider, its refusals mapped to the engine's `ClientInput`, and the
 * client's exchange policy and linked resources.
 * @internal
 */

import type { ClientInput, ClientPolicy, FormPairs, TargetPolicy } from "./engine-types.js";
import { adapterOf } from "./plugin-audit.js";
import type { ExchangeReads } from "./plugin-reads.js";
import type { TokenExchangeClient, TokenExchangeContext, TokenExchangeOptions } from "./plugin-types.js";

type Unauthenticated = Extract<ClientInput, { status: "unauthenticated" }>;

/** What `provider.authenticateClient()` answered. */
export type Authentication =
  | { ok: true; client: TokenExchangeClient; method?: string | undefined }
  | { ok: false; input: Unauthenticated }
  | { ok: false; malformed: string };

/** The shape of better-auth's `APIError` that matters here. */
export interface ApiErrorLike {
  name: string;
  status?: string | number;
  statusCode?: number;
  body?: { error?: unknown; error_description?: unknown } | undefined;
}

export function isApiError(error: unknown): error is ApiErrorLike {
  return (
    typeof error === "object" &&
    error !== null &&
    (error as { name?: unknown }).name === "APIError" &&
    typeof (error as ApiErrorLike).body === "object"
  );
}

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

/** Metadata may come back as an object or as JSON text, depending on the adapter. */
function parseMetadata(metadata: unknown): Record<string, unknown> {
  if (typeof metadata === "string") {
    try {
      const parsed: unknown = JSON.parse(metadata);
      return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  }
  return metadata && typeof metadata === "object" && !Array.isArray(metadata) ? (metadata as Record<string, unknown>) : {};
}

interface ResourceRow {
  identifier: string;
  disabled?: boolean | null;
  allowedScopes?: string[] | null;
}

/**
 * Resources registered on the server and linked to the client, enabled
 * ones only, with their `allowedScopes`.
 */
async function linkedResources(ctx: TokenExchangeContext, clientId: string, reads: ExchangeReads): Promise<ResourceRow[]> {
  const adapter = adapterOf(ctx);
  const { models } = reads;
  const links = await adapter.findMany<{ resourceId: string }>({
    model: models.link,
    where: [{ field: "clientId", value: clientId }],
  });
  reads.links(clientId, links);
  const ids = [...new Set(links.map((l) => l.resourceId).filter((id) => typeof id === "string"))];
  if (ids.length === 0) return [];
  const rows = await adapter.findMany<ResourceRow>({
    model: models.resource,
    where: [{ field: "identifier", value: ids, operator: "in" }],
  });
  reads.resources(rows);
  return rows.filter((r) => !r.disabled);
}

/**
 * The engine's view of an authenticated client. A linked resource's
 * `allowedScopes` becomes a per-target scope ceiling (intersected with any
 * admin-set one), so the engine decides what `issueTokens` would otherwise
 * narrow silently.
 */
export async function authenticatedClient(
  ctx: TokenExchangeContext,
  client: TokenExchangeClient,
  method: string | undefined,
  options: TokenExchangeOptions,
  reads: ExchangeReads,
): Promise<ClientInput> {
  let allowed: boolean;
  let policy: ClientPolicy | undefined;
  if (options.getClientPolicy) {
    const answer = await options.getClientPolicy(client, ctx);
    allowed = answer?.allowedTokenExchange === true;
    policy = answer?.policy;
  } else {
    const metadata = parseMetadata(client.metadata);
    allowed = metadata.allowedTokenExchange === true;
    const raw = metadata.tokenExchange;
    policy = raw && typeof raw === "object" && !Array.isArray(raw) ? (raw as ClientPolicy) : undefined;
  }
  const grantTypes = client.grantTypes && client.grantTypes.length > 0 ? [...client.grantTypes] : ["authorization_code"];
  const base = {
    status: "authenticated" as const,
    clientId: client.clientId,
    authMethod: method ?? client.tokenEndpointAuthMethod ?? "client_secret_basic",
    disabled: client.disabled === true,
    grantTypes,
    scopes: client.scopes ? [...client.scopes] : [],
    allowedTokenExchange: allowed,
  };
  if (!allowed) return { ...base, linkedResources: [] };
  const resources = await linkedResources(ctx, client.clientId, reads);
  return {
    ...base,
    linkedResources: resources.map((r) => r.identifier),
    ...(policy || resources.some((r) => r.allowedScopes) ? { policy: withResourceCeilings(policy ?? {}, resources) } : {}),
  };
}

function withResourceCeilings(policy: ClientPolicy, resources: ResourceRow[]): ClientPolicy {
  const withCeilings = resources.filter((r) => Array.isArray(r.allowedScopes));
  if (withCeilings.length === 0) return policy;
  const targets: Record<string, TargetPolicy> = { ...(policy.targets ?? {}) };
  for (const resource of withCeilings) {
    const ceiling = resource.allowedScopes ?? [];
    const current = targets[resource.identifier];
    const scopes = current?.scopes ? current.scopes.filter((s) => ceiling.includes(s)) : [...ceiling];
    targets[resource.identifier] = { ...current, scopes };
  }
  return { ...policy, targets };
}
