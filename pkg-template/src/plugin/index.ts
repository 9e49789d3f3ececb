/**
 * The better-auth plugin's wiring, independent of how a runtime loads the
 * engine: `makeTokenExchange(createEngine)` returns the `tokenExchange()`
 * factory. What each part does lives in its own folder:
 *   grant/       the token-exchange grant: request -> verify -> decide -> issue
 *   audit/       the records (trail.ts) and the admin query API (api.ts)
 *   revocation/  delegations and revocation that follows the chain
 *   refresh/     what refreshing an exchange's refresh token may give
 *   jwt-bearer/  the jwt-bearer grant: ID-JAGs redeemed (cross-app access)
 * @internal
 */

import { extendOAuthProvider, type OAuthProviderExtension } from "@better-auth/oauth-provider";
import { createAuthMiddleware } from "better-auth/api";
import type { EngineBase } from "../engine/core.js";
import type { EngineSettings } from "../engine/types.js";
import { ID_JAG_GRANT_PROFILE, JWT_BEARER_GRANT_TYPE, TOKEN_EXCHANGE_GRANT_TYPE, TOKEN_TYPE } from "../shared/urns.js";
import { auditEndpoints } from "./audit/api.js";
import { actClaims } from "./claims.js";
import { providerRefusesBody } from "./grant/form.js";
import { saferAnswer } from "./errors.js";
import { handle, preflight } from "./grant/handle.js";
import { Exchange } from "./grant/state.js";
import { handleAssertion } from "./jwt-bearer/handle.js";
import { validateOptions } from "./options.js";
import { authContext, endpointContext, hookAuthContext, returnedBy } from "./provider.js";
import { isRefresh, refreshed, refreshing } from "./refresh/hooks.js";
import { isRevoke, revoked, revoking, sessionEnded, sessionEnding } from "./revocation/hooks.js";
import { schema } from "./store.js";
import { ERROR_CODES } from "./error-codes.js";
import type { ExchangeRecord, TokenExchangeOptions, TokenExchangePlugin } from "./types.js";

/**
 * Binds the plugin factory to a runtime's engine constructor.
 * @internal
 */
export function makeTokenExchange(
  createEngine: (settings: EngineSettings) => EngineBase,
): (options?: TokenExchangeOptions) => TokenExchangePlugin {
  return (options: TokenExchangeOptions = {}): TokenExchangePlugin => {
    validateOptions(options);
    const x = new Exchange(options, createEngine);
    // The resource AS's side of cross-app access (jwt-bearer/): registered
    // only when a trusted IdP may issue ID-JAGs to this server.
    const redeemsIdJags = (options.trustedIssuers ?? []).some((t) => t.tokenTypes?.includes("id_jag"));
    const extension: OAuthProviderExtension = {
      grants: {
        [TOKEN_EXCHANGE_GRANT_TYPE]: (input) => handle(x, input),
        ...(redeemsIdJags ? { [JWT_BEARER_GRANT_TYPE]: (input) => handleAssertion(x, input) } : {}),
      },
      claims: { accessToken: actClaims },
      // Discovery (RFC 8414): what the token endpoint issues by exchange, and the ID-JAG grant profile.
      metadata: () => ({
        identity_chaining_requested_token_types_supported: [TOKEN_TYPE.accessToken, TOKEN_TYPE.jwt, TOKEN_TYPE.idJag],
        ...(redeemsIdJags ? { authorization_grant_profiles_supported: [ID_JAG_GRANT_PROFILE] } : {}),
      }),
    };
    x.extension = extension;
    const hook = <T>(run: (ctx: ReturnType<typeof endpointContext>) => Promise<T>) =>
      createAuthMiddleware(async (ctx) => run(endpointContext(ctx)));
    // Hooks and init's answer are better-auth's own types: kept out of the
    // public plugin type, which names nothing of better-auth.
    const plugin = {
      id: "token-exchange" as const,
      schema,
      options,
      // The audit query API (audit/api.ts).
      // Left out when disabled (404): the declared type keeps them, so that
      // better-auth infers them whatever the options.
      ...(options.auditApi?.enabled === false ? {} : { endpoints: auditEndpoints(options) }),
      $ERROR_CODES: ERROR_CODES,
      $Infer: {} as { ExchangeRecord: ExchangeRecord },
      init(ctx: unknown) {
        // Registers the grant (dispatch and discovery, TX-1, TX-54) and the
        // claims contributor with the oauth-provider plugin.
        const auth = authContext(ctx);
        extendOAuthProvider(auth, extension);
        // Revocation that follows the chain, when a session ends.
        const context = (hookCtx: unknown) => hookAuthContext(hookCtx, auth);
        return {
          options: {
            databaseHooks: {
              session: {
                delete: {
                  before: (session: { id: string }, hookCtx: unknown) => sessionEnding(x, session, context(hookCtx)),
                  after: (session: { id: string }, hookCtx: unknown) => sessionEnded(x, session, context(hookCtx)),
                },
              },
            },
          },
        };
      },
      hooks: {
        before: [
          { matcher: providerRefusesBody, handler: hook((ctx) => preflight(x, ctx)) },
          { matcher: isRevoke, handler: hook((ctx) => revoking(x, ctx)) },
          { matcher: isRefresh, handler: hook((ctx) => refreshing(x, ctx)) },
        ],
        after: [
          // TX-71, for the provider's own answers at the token endpoint too.
          {
            matcher: (ctx: { path?: string }) => ctx.path === "/oauth2/token",
            handler: hook(async (ctx) => {
              const safer = saferAnswer(returnedBy(ctx));
              if (safer) throw safer;
            }),
          },
          { matcher: isRevoke, handler: hook((ctx) => revoked(x, ctx)) },
          { matcher: isRefresh, handler: hook((ctx) => refreshed(x, ctx)) },
        ],
      },
    };
    return plugin as TokenExchangePlugin;
  };
}
