// The benchmark's baseline: the obvious token-exchange plugin a better-auth
// user would write by hand in thirty lines. It verifies a JWT subject (and
// actor) token with `jose` against the server's JWKS, or hands an opaque one
// to the provider's validation, writes one audit row, and has the provider
// issue the token. Not shipped and not safe to run: it checks none of what
// RFC 8693 and the product check (token types, holder binding, targets,
// scope narrowing, the lifetime cap, may_act, bounded input), records no
// lineage and answers failures with stacks. It is a measuring device: what a
// minimal exchange costs on the same server, for the product to beat.

import { extendOAuthProvider } from "@better-auth/oauth-provider";
import { createLocalJWKSet, jwtVerify } from "jose";

const GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";

export function handwrittenExchange() {
  let jwks;
  return {
    id: "handwritten-token-exchange",
    schema: {
      handwrittenExchange: {
        fields: {
          createdAt: { type: "date", required: true },
          clientId: { type: "string", required: true },
          subject: { type: "string", required: true },
          actor: { type: "string", required: false },
          scope: { type: "string", required: false },
        },
      },
    },
    init(ctx) {
      extendOAuthProvider(ctx, {
        grants: {
          [GRANT]: async ({ ctx: c, provider }) => {
            const { client } = await provider.authenticateClient();
            const { subject_token: subject, actor_token: actor, scope, resource } = c.body;
            if (!jwks) {
              const answer = await c.context.getPlugin("jwt").endpoints.getJwks(c);
              jwks = createLocalJWKSet(answer.keys ? answer : answer.response);
            }
            const verify = async (token) => (await jwtVerify(token, jwks, { issuer: c.context.baseURL })).payload;
            const sub = subject.includes(".") ? (await verify(subject)).sub : (await provider.validateAccessToken(subject)).sub;
            const act = actor ? { sub: (await verify(actor)).sub } : undefined;
            const user = await c.context.internalAdapter.findUserById(sub);
            await c.context.adapter.create({
              model: "handwrittenExchange",
              data: { createdAt: new Date(), clientId: client.clientId, subject: sub, actor: act?.sub, scope },
            });
            return provider.issueTokens({
              client,
              user,
              scopes: scope.split(" "),
              resources: [resource],
              ...(act ? { accessTokenClaims: { act } } : {}),
            });
          },
        },
      });
    },
  };
}
