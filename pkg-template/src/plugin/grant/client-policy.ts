/**
 * The exchanging client as the engine sees it: its opt-in and exchange
 * policy (admin-set metadata, or `getClientPolicy`), and the resources it is
 * linked to, with their scope ceilings.
 * @internal
 */

import type { ClientInput, ClientPolicy, FormPairs, TargetPolicy } from "../../engine/types.js";
import { decodeJson } from "../../shared/b64json.js";
import { type Ctx, type ProviderOptions, publicContext } from "../provider.js";
import type { TokenExchangeClient, TokenExchangeOptions } from "../types.js";
import { first } from "./form.js";
import type { RequestReads } from "./reads.js";

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

/** The provider's model names of resource links and resources. */
function models(opts: ProviderOptions): { link: string; resource: string } {
  return {
    link: opts.schema?.oauthClientResource?.modelName ?? "oauthClientResource",
    resource: opts.schema?.oauthResource?.modelName ?? "oauthResource",
  };
}

/**
 * The resources a request targets (`wanted`) that are registered, enabled
 * and linked to the client, with their `allowedScopes`: the client's links
 * (one read), then the targets' rows (one read; none without a target).
 * Both reads are remembered for the provider's own checks at issuance
 * (reads.ts), which ask for exactly these.
 */
async function linkedResources(
  ctx: Ctx,
  opts: ProviderOptions,
  clientId: string,
  wanted: readonly string[],
  reads: RequestReads,
): Promise<ResourceRow[]> {
  const db = ctx.context.adapter;
  const { link, resource } = models(opts);
  const links = await db.findMany<{ resourceId: string }>({ model: link, where: [{ field: "clientId", value: clientId }] });
  reads.rememberAll(link, "clientId", clientId, links);
  const linked = new Set(links.map((l) => l.resourceId));
  const ids = [...new Set(wanted)].filter((id) => linked.has(id));
  if (ids.length === 0) return [];
  const rows =
    ids.length === 1
      ? [await db.findOne<ResourceRow>({ model: resource, where: [{ field: "identifier", value: ids[0] as string }] })].filter(
          (r): r is ResourceRow => r !== null,
        )
      : await db.findMany<ResourceRow>({ model: resource, where: [{ field: "identifier", value: ids, operator: "in" }] });
  for (const row of rows) reads.rememberOne(resource, "identifier", row);
  return rows.filter((r) => !r.disabled);
}

/**
 * The engine's view of an authenticated client: `linkedResources` holds the
 * targets of this request the client may have (the engine checks only
 * those, TX-6). A linked resource's
 * `allowedScopes` becomes a per-target scope ceiling (intersected with any
 * admin-set one), so the engine decides what `issueTokens` would otherwise
 * narrow silently.
 */
export async function authenticatedClient(
  ctx: Ctx,
  opts: ProviderOptions,
  request: { grant: "exchange" | "assertion"; targets: (policy: ClientPolicy | undefined) => string[] },
  client: TokenExchangeClient,
  method: string | undefined,
  options: TokenExchangeOptions,
  reads: RequestReads,
): Promise<ClientInput> {
  let optedIn: { allowedTokenExchange: boolean; allowedIdJag: boolean };
  let policy: ClientPolicy | undefined;
  if (options.getClientPolicy) {
    const answer = await options.getClientPolicy(client, publicContext(ctx));
    optedIn = { allowedTokenExchange: answer?.allowedTokenExchange === true, allowedIdJag: answer?.allowedIdJag === true };
    policy = answer?.policy;
  } else {
    const metadata = parseMetadata(client.metadata);
    optedIn = { allowedTokenExchange: metadata.allowedTokenExchange === true, allowedIdJag: metadata.allowedIdJag === true };
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
    ...optedIn,
  };
  // An unauthenticated or not opted-in caller causes no further read.
  if (!(request.grant === "exchange" ? optedIn.allowedTokenExchange : optedIn.allowedIdJag)) {
    return { ...base, linkedResources: [] };
  }
  const resources = await linkedResources(ctx, opts, client.clientId, request.targets(policy), reads);
  return {
    ...base,
    linkedResources: resources.map((r) => r.identifier),
    ...(policy || resources.some((r) => r.allowedScopes) ? { policy: withResourceCeilings(policy ?? {}, resources) } : {}),
  };
}

/** The targets a token-exchange request names (`audience`, `resource`), else the policy's defaults (TX-6, TX-9). */
export function exchangeTargets(form: FormPairs): (policy: ClientPolicy | undefined) => string[] {
  return (policy) => {
    const named = form.filter(([k, v]) => (k === "audience" || k === "resource") && v.length > 0).map(([, v]) => v);
    return named.length > 0 ? named : (policy?.defaultTargets ?? []);
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

/** The resources a jwt-bearer request asks for: its `resource` values, else (unverified, only to read their rows) the assertion's. */
export function assertionTargets(form: FormPairs): () => string[] {
  return () => {
    const named = form.filter(([k, v]) => k === "resource" && v.length > 0).map(([, v]) => v);
    if (named.length > 0) return named;
    try {
      const claims = decodeJson(first(form, "assertion")?.split(".")[1] ?? "") as { resource?: unknown } | null;
      const resource = claims?.resource;
      return [resource].flat().filter((r): r is string => typeof r === "string");
    } catch {
      return [];
    }
  };
}
