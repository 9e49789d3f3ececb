// Typed usage of the published BFF and resource-server helpers, compiled by
// `make typecheck` (never run) with skipLibCheck off, no DOM and no
// @types/node: their typings must stand alone. The @ts-expect-error lines
// fail the check if the typings stop rejecting those mistakes.
import {
  createExchangeTokenCache,
  exchangeToken,
  type ExchangeTokenCache,
  type ExchangeTokenResult,
  type TokenExchangeResponse,
} from "better-auth-token-exchange/bff";
import {
  createExchangedTokenVerifier,
  verifyExchangedToken,
  type ActorRecord,
  type ExchangedTokenVerifier,
  type VerifyExchangedTokenResult,
} from "better-auth-token-exchange/resource-server";

const cache: ExchangeTokenCache = createExchangeTokenCache({ maxEntries: 100, skewSeconds: 30, now: () => 0 });

async function bff(userToken: string, agentToken: string): Promise<string | undefined> {
  const result: ExchangeTokenResult = await exchangeToken({
    tokenEndpoint: "https://auth.example/api/auth/oauth2/token",
    clientAuth: { method: "client_secret_basic", clientId: "bff", clientSecret: "secret" },
    subjectToken: userToken,
    subjectTokenType: "urn:ietf:params:oauth:token-type:access_token",
    actorToken: agentToken,
    audience: ["orders", "billing"],
    resource: "https://api.example/",
    scope: ["orders:read"],
    timeoutMs: 5000,
    cache,
    // Without DOM types, `fetch` is the package's structural type.
    fetch: async () => ({ status: 200, headers: { get: () => null }, body: null }),
  });
  // The discriminated union narrows on `ok`.
  if (!result.ok) {
    const status: number = result.error.status;
    const code: string = result.error.error;
    void status, code;
    return undefined;
  }
  const token: TokenExchangeResponse = result.token;
  const cached: boolean = result.cached;
  void cached;
  // @ts-expect-error clientAuth.method is a closed set
  void exchangeToken({ tokenEndpoint: "x", clientAuth: { method: "none", clientId: "a", clientSecret: "b" }, subjectToken: "t", subjectTokenType: "jwt" });
  return token.access_token;
}

const verifier: ExchangedTokenVerifier = createExchangedTokenVerifier({
  issuer: "https://auth.example/api/auth",
  audience: "https://api.example/",
  jwksUri: "https://auth.example/api/auth/jwks",
  requireActor: true,
  allowedActors: ["agent-1", { sub: "agent-2", client_id: "bff" }],
  maxChainDepth: 2,
});

async function api(token: string): Promise<string> {
  const result: VerifyExchangedTokenResult = await verifier.verify(token);
  if (!result.ok) {
    const error: "invalid_token" = result.error;
    return `${error}: ${result.reason}`;
  }
  const actor: ActorRecord | undefined = result.actor;
  const chain: ActorRecord[] = result.chain;
  // @ts-expect-error the subject is `sub`
  void result.subject;
  return `${result.sub} via ${actor?.sub ?? "nobody"} (${chain.length})`;
}

void verifyExchangedToken("t", { issuer: "i", audience: ["a"], jwks: { keys: [] } });
// @ts-expect-error audience is required
void verifyExchangedToken("t", { issuer: "i", jwks: { keys: [] } });
void bff, api;
