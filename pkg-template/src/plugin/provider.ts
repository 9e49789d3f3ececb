/**
 * The plugin's typed view of better-auth and `@better-auth/oauth-provider`:
 * the endpoint context, the provider's options and API, the database
 * adapter and the jwt plugin. The few places where better-auth's types and
 * the plugin's public, structural ones meet are converted here, and nowhere
 * else.
 * @internal
 */

import {
  getOAuthProviderApi,
  type OAuthExtensionGrantHandlerInput,
  type OAuthProviderApi,
  type OAuthTokenResponse,
} from "@better-auth/oauth-provider";
import { signJWT } from "better-auth/plugins/jwt";
import type { Jwks } from "../engine/types.js";
import type { TokenExchangeClient, TokenExchangeContext } from "./types.js";

export type GrantInput = OAuthExtensionGrantHandlerInput;
/** The endpoint context of a request (better-auth's `GenericEndpointContext`). */
export type Ctx = GrantInput["ctx"];
export type ProviderOptions = GrantInput["opts"];
export type ProviderApi = OAuthProviderApi;
export type AuthContext = Ctx["context"];
/** better-auth's database adapter. */
export type Db = AuthContext["adapter"];
export type Where = NonNullable<Parameters<Db["findOne"]>[0]["where"]>[number];
type IssueParams = Parameters<ProviderApi["issueTokens"]>[0];
export type ProviderClient = IssueParams["client"];
export type ProviderUser = NonNullable<IssueParams["user"]>;

/**
 * A hook's context as an endpoint's: better-auth hands hooks the endpoint
 * context of the request, typed by better-call's middleware.
 */
export function endpointContext(ctx: unknown): Ctx {
  return ctx as Ctx;
}

/** What the endpoint answered, as an after-hook sees it (an answer, or the error thrown). */
export function returnedBy(ctx: Ctx): unknown {
  return (ctx.context as { returned?: unknown }).returned;
}

/** The auth context better-auth hands a plugin's `init`. */
export function authContext(ctx: unknown): AuthContext {
  return ctx as AuthContext;
}

/** The auth context of a database hook's endpoint context, else `fallback` (no request). */
export function hookAuthContext(hookCtx: unknown, fallback: AuthContext): AuthContext {
  return (hookCtx as { context?: AuthContext } | null | undefined)?.context ?? fallback;
}

/** The context a user's callback receives (the public, structural type). */
export function publicContext(ctx: Ctx): TokenExchangeContext {
  return ctx as unknown as TokenExchangeContext;
}

/** The provider's client row as the plugin's public type, and back. */
export function exchangeClient(client: unknown): TokenExchangeClient {
  return client as TokenExchangeClient;
}
export function providerClient(client: TokenExchangeClient): ProviderClient {
  return client as unknown as ProviderClient;
}

/**
 * The user to issue for when only its id is used (see
 * {@link issuanceReadsUser}): the provider reads nothing else of it.
 */
export function userWithId(id: string): ProviderUser {
  return { id } as ProviderUser;
}

/** A token response the plugin edited (fields removed or added). */
export function tokenResponse(body: Record<string, unknown>): OAuthTokenResponse {
  return body as OAuthTokenResponse;
}

/** The provider's options, from its plugin (hooks get no `opts`). */
export function providerOptions(context: AuthContext): ProviderOptions | undefined {
  return (context.getPlugin("oauth-provider") as { options?: ProviderOptions } | null | undefined)?.options;
}

/**
 * The provider's API for `ctx`. Inside a hook as inside an endpoint: the
 * provider reads the jwt plugin's JWKS endpoint answer as `{ response }`,
 * which a hook's context (`asResponse`) does not give, so the context is
 * made an endpoint's.
 */
export function providerApi(ctx: Ctx, opts: ProviderOptions, grantType?: string): { ctx: Ctx; api: ProviderApi } {
  const endpointLike = { ...ctx, asResponse: false, returnHeaders: true } as Ctx;
  return {
    ctx: endpointLike,
    api: getOAuthProviderApi(endpointLike, opts, grantType as Parameters<typeof getOAuthProviderApi>[2]),
  };
}

/** How the provider stores refresh tokens (prefix, encryption). */
export interface RefreshTokenFormat {
  prefix?: string | undefined;
  decrypt?: ((token: string) => unknown) | undefined;
}

export function refreshFormat(opts: ProviderOptions): RefreshTokenFormat {
  const decrypt = opts.formatRefreshToken?.decrypt as ((token: string) => unknown) | undefined;
  return { prefix: opts.prefix?.refreshToken, decrypt };
}

/** The prefix the provider puts on opaque access tokens, if any. */
export function opaqueAccessPrefix(opts: ProviderOptions): string | undefined {
  return opts.prefix?.opaqueAccessToken;
}

/**
 * Whether issuance reads the user's fields: a claims or response callback of
 * the provider, or another extension's access-token claims, receives the
 * user. Otherwise the provider uses only its id.
 */
export function issuanceReadsUser(opts: ProviderOptions, own: unknown): boolean {
  return (
    opts.customAccessTokenClaims !== undefined ||
    opts.customTokenResponseFields !== undefined ||
    (opts.extensions ?? []).some((e) => e !== own && e.claims?.accessToken !== undefined)
  );
}

/** What the plugin uses of better-auth's jwt plugin. */
export interface JwtPluginView {
  /** `jwt.issuer`, when configured. */
  issuer: string | undefined;
  /** `jwks.remoteUrl`: this server's keys are kept elsewhere. */
  remoteUrl: string | undefined;
  /** The plugin's options, as its `signJWT` takes them. */
  options: unknown;
  /** The JWKS endpoint, when the plugin serves one. */
  getJwks: ((ctx: unknown) => Promise<unknown>) | undefined;
}

export function jwtPlugin(context: AuthContext): JwtPluginView | undefined {
  const plugin = context.getPlugin("jwt") as
    | { options?: { jwt?: { issuer?: string }; jwks?: { remoteUrl?: string } }; endpoints?: Record<string, unknown> }
    | null
    | undefined;
  if (!plugin) return undefined;
  const remoteUrl = plugin.options?.jwks?.remoteUrl;
  return {
    issuer: plugin.options?.jwt?.issuer,
    remoteUrl: typeof remoteUrl === "string" ? remoteUrl : undefined,
    options: plugin.options,
    getJwks: plugin.endpoints?.getJwks as ((ctx: unknown) => Promise<unknown>) | undefined,
  };
}

/**
 * A JWT signed with this server's keys (the jwt plugin's, as for its access
 * tokens), with the header's `typ` and, when given, the key `kid`.
 */
export function signJwt(ctx: Ctx, jwt: { typ?: string; kid?: string; payload: Record<string, unknown> }): Promise<string> {
  return signJWT(ctx, {
    options: jwtPlugin(ctx.context)?.options as Parameters<typeof signJWT>[1]["options"],
    header: jwt.typ ? { typ: jwt.typ } : {},
    ...(jwt.kid ? { signingKeyId: jwt.kid } : {}),
    payload: jwt.payload,
  });
}

/** This server's key set through the jwt plugin's JWKS endpoint, or null. */
export async function ownJwks(ctx: Ctx): Promise<Jwks | null> {
  const getJwks = jwtPlugin(ctx.context)?.getJwks;
  if (!getJwks) return null;
  // The endpoint answers the JWKS body when called with a context.
  const answer = (await getJwks(ctx)) as { keys?: unknown; response?: unknown } | null;
  const jwks = answer && Array.isArray(answer.keys) ? answer : (answer?.response as Jwks | undefined);
  return (jwks ?? null) as Jwks | null;
}

/** The issuer of this server's tokens for `ctx`'s host (the jwt plugin's, else the base URL). */
export function ownIssuer(context: AuthContext): string {
  return jwtPlugin(context)?.issuer ?? context.baseURL;
}
