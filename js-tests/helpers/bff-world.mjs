// The setting of the BFF and resource-server helper suites: a real
// better-auth server (startServer: HTTP, SQLite) with two downstream APIs
// registered as resources, a BFF client of each authentication method
// opted in to token exchange, a client that is not, a user and two agents,
// and the server's endpoints as discovery publishes them.

import { startServer } from "./server.mjs";

export const API_A = "https://api-a.example/";
export const API_B = "https://api-b.example/";
export const UNLINKED = "https://unlinked.example/";
export const SCOPE = "openid profile orders:read billing:read";

/** Starts the server and creates the clients, users and resources. `options` go to startServer. */
export async function startWorld(options) {
  const s = await startServer(options);
  for (const id of [API_A, API_B, UNLINKED]) await s.createResource(id);
  const bff = await s.createClient("BFF (basic)");
  const bffPost = await s.createClient("BFF (post)", { token_endpoint_auth_method: "client_secret_post" });
  const notOptedIn = await s.createClient("not opted in", { metadata: { note: "no token exchange" } });
  for (const c of [bff, bffPost, notOptedIn]) await s.link(c, [API_A, API_B]);
  const alice = await s.signUp("alice@example.com", "Alice");
  const agent1 = await s.signUp("agent1@example.com", "Agent One");
  const agent2 = await s.signUp("agent2@example.com", "Agent Two");
  const meta = await (await fetch(`${s.base}/.well-known/openid-configuration`)).json();

  /** A user token from authorization_code + PKCE at `client` (a JWT for API_A). */
  const userToken = async (who, client = bff, scope = SCOPE) =>
    (await s.authorize(who, client, { scope, resource: API_A })).access_token;

  /** exchangeToken's clientAuth for a client created here. */
  const clientAuth = (client, secret = client.client_secret) => ({
    method: client.token_endpoint_auth_method === "client_secret_post" ? "client_secret_post" : "client_secret_basic",
    clientId: client.client_id,
    clientSecret: secret,
  });

  return {
    s,
    bff,
    bffPost,
    notOptedIn,
    alice,
    agent1,
    agent2,
    issuer: meta.issuer,
    tokenEndpoint: meta.token_endpoint,
    jwksUri: meta.jwks_uri,
    userToken,
    clientAuth,
  };
}
