// Cross-app access (the Identity Assertion JWT Authorization Grant, "ID-JAG",
// draft-ietf-oauth-identity-assertion-authz-grant; MCP's enterprise-managed
// authorization, SEP-990), end to end with the real MCP client
// (@modelcontextprotocol/client) on real HTTP:
// - the enterprise IdP: a better-auth server with this plugin, where the
//   MCP client exchanges the user's ID token for an ID-JAG (RFC 8693,
//   requested_token_type id-jag) with `requestJwtAuthorizationGrant`;
// - the resource authorization server: another better-auth server with this
//   plugin, trusting the IdP, where the client redeems the ID-JAG (RFC 7523
//   jwt-bearer) with `exchangeJwtAuthGrant` or `CrossAppAccessProvider`;
// - an MCP server (@modelcontextprotocol/server) that accepts only the
//   resource AS's access tokens (verified with this package's
//   resource-server helper) and serves its RFC 9728 metadata.
// Refusals: wrong typ, wrong aud, another client's ID-JAG, an expired one, a
// replayed jti, an untrusted IdP, an unknown user without JIT, a scope beyond
// the assertion's; and the IdP's own policy refusals.

import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import {
  Client,
  CrossAppAccessProvider,
  exchangeJwtAuthGrant,
  requestJwtAuthorizationGrant,
  StreamableHTTPClientTransport,
} from "@modelcontextprotocol/client";
import { toNodeHandler } from "@modelcontextprotocol/node";
import {
  createMcpHandler,
  getOAuthProtectedResourceMetadataUrl,
  McpServer,
  OAuthError,
  OAuthErrorCode,
  oauthMetadataResponse,
  requireBearerAuth,
} from "@modelcontextprotocol/server";
import { createExchangedTokenVerifier } from "better-auth-token-exchange/resource-server";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { jws, keyPair } from "./helpers/jws.mjs";
import { freePort } from "../scripts/lib/free-port.mjs";
import { SCOPES, startJwksServer, startServer, subject, TT } from "./helpers/server.mjs";

const ID_JAG = "urn:ietf:params:oauth:token-type:id-jag";
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const SCOPE = "mcp:tools";

/** A free loopback port (the resource AS's issuer must be known before it starts). */
let idp, ras, mcp, jwks, fakeKey;
let idpClient, rasClient, otherRasClient;
let alice, bob, idTokenOf;
let MCP_URL;

before(async () => {
  idp = await startServer();
  jwks = await startJwksServer();
  fakeKey = keyPair("p256", { kid: "fake-idp-1", alg: "ES256" });
  jwks.setKeys("fake-idp", { keys: [fakeKey.jwk] });
  const rasPort = await freePort();
  const rasIssuer = `http://127.0.0.1:${rasPort}/api/auth`;
  // The MCP server's resource identifier, known before it listens.
  const mcpPort = await freePort();
  MCP_URL = `http://127.0.0.1:${mcpPort}/mcp`;
  ras = await startServer({
    port: rasPort,
    provider: { scopes: [...SCOPES, SCOPE] },
    // The application's own gate on new users: it refuses one domain.
    auth: {
      user: {
        validateUserInfo: ({ user, source }) =>
          source.method === "id-jag" && String(user.email).endsWith("@refused.example") ? { error: "domain_refused" } : undefined,
      },
    },
    exchange: {
      trustedIssuers: [
        { issuer: idp.issuer, jwksUri: `${idp.base}/jwks`, audiences: [rasIssuer], tokenTypes: ["id_jag"] },
        // A second IdP of the test's own (hand-made ID-JAGs), with just-in-time users.
        { issuer: jwks.issuer("fake-idp"), jwksUri: `${jwks.issuer("fake-idp")}/jwks`, audiences: [rasIssuer], tokenTypes: ["id_jag"], jitProvisioning: true },
      ],
    },
  });
  assert.equal(ras.issuer, rasIssuer);

  // At the resource AS: the MCP server's resource, the client (jwt-bearer, opted in).
  await ras.createResource(MCP_URL);
  const rasClientBody = {
    grant_types: [JWT_BEARER],
    response_types: [],
    token_endpoint_auth_method: "client_secret_basic",
    scope: SCOPE,
    metadata: { allowedIdJag: true, tokenExchange: { trustedIssuers: [idp.issuer, jwks.issuer("fake-idp")] } },
  };
  rasClient = await ras.createClient("MCP client", rasClientBody);
  otherRasClient = await ras.createClient("Another client", rasClientBody);
  for (const c of [rasClient, otherRasClient]) await ras.link(c, [MCP_URL]);

  // At the IdP: the same MCP client (post authentication, as the SDK sends it), allowed ID-JAGs for the resource AS.
  idpClient = await idp.createClient("MCP client", {
    token_endpoint_auth_method: "client_secret_post",
    metadata: {
      allowedTokenExchange: true,
      tokenExchange: {
        subjectTokenTypes: ["id_token"],
        requestedTokenTypes: ["id_jag", "jwt"],
        idJag: { [ras.issuer]: { clientId: rasClient.client_id, scopes: [SCOPE], resources: [MCP_URL] } },
      },
    },
  });
  alice = await idp.signUp("alice@example.com", "Alice");
  bob = await idp.signUp("bob@example.com", "Bob");
  idTokenOf = async (who) => (await idp.authorize(who, idpClient, { scope: "openid profile email" })).id_token;
  // Alice is a user of the resource AS too, linked to her identity at the IdP; Bob is not.
  const rasAlice = await ras.signUp("alice@ras.example", "Alice");
  await ras.linkAccount(rasAlice, idp.issuer, alice.user.id);

  // The MCP server: only the resource AS's tokens for it, with mcp:tools.
  const asMetadata = await (await fetch(`${ras.base}/.well-known/oauth-authorization-server`)).json();
  const verifier = createExchangedTokenVerifier({ issuer: ras.issuer, audience: MCP_URL, jwksUri: `${ras.base}/jwks` });
  const gate = requireBearerAuth({
    verifier: {
      async verifyAccessToken(token) {
        const r = await verifier.verify(token);
        if (!r.ok) throw new OAuthError(OAuthErrorCode.InvalidToken, r.reason);
        return { token, clientId: r.clientId, scopes: r.scopes, expiresAt: r.exp, resource: new URL(MCP_URL), extra: { sub: r.sub } };
      },
    },
    requiredScopes: [SCOPE],
    resourceMetadataUrl: getOAuthProtectedResourceMetadataUrl(new URL(MCP_URL)),
    expectedResource: new URL(MCP_URL),
  });
  const handler = createMcpHandler(() => {
    const server = new McpServer({ name: "tx-test", version: "1.0.0" });
    server.registerTool("whoami", { description: "who the token is for" }, async (ctx) => ({
      content: [{ type: "text", text: JSON.stringify(ctx.http?.authInfo?.extra ?? {}) }],
    }));
    return server;
  });
  const face = {
    async fetch(request) {
      const meta = oauthMetadataResponse(request, { oauthMetadata: asMetadata, resourceServerUrl: new URL(MCP_URL), scopesSupported: [SCOPE] });
      if (meta) return meta;
      const auth = await gate(request);
      return auth instanceof Response ? auth : handler.fetch(request, { authInfo: auth });
    },
  };
  mcp = http.createServer(toNodeHandler(face));
  await new Promise((resolve) => mcp.listen(mcpPort, "127.0.0.1", resolve));
});

after(async () => {
  mcp?.closeAllConnections?.();
  await new Promise((resolve) => (mcp ? mcp.close(resolve) : resolve()));
  await idp?.stop();
  await ras?.stop();
  await jwks?.stop();
});

const tokenEndpoint = () => `${idp.base}/oauth2/token`;
const rasTokenEndpoint = () => `${ras.base}/oauth2/token`;

/** An ID-JAG from the IdP through the MCP client's own request. */
async function idJagFor(who, overrides = {}) {
  const { jwtAuthGrant } = await requestJwtAuthorizationGrant({
    tokenEndpoint: tokenEndpoint(),
    audience: ras.issuer,
    resource: MCP_URL,
    idToken: await idTokenOf(who),
    clientId: idpClient.client_id,
    clientSecret: idpClient.client_secret,
    scope: SCOPE,
    ...overrides,
  });
  return jwtAuthGrant;
}

/** A jwt-bearer request at the resource AS, the client by HTTP Basic. */
function redeem(assertion, { client = rasClient, pairs = [] } = {}) {
  return ras.post("/oauth2/token", [["grant_type", JWT_BEARER], ["assertion", assertion], ...pairs], {
    authorization: ras.basicHeader(client.client_id, client.client_secret),
  });
}

/** A hand-made ID-JAG of the test's IdP (signed with its key), with `claims` and `header` overriding the defaults. */
function fakeIdJag({ claims = {}, header = {} } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return jws(
    { alg: "ES256", kid: "fake-idp-1", typ: "oauth-id-jag+jwt", ...header },
    {
      iss: jwks.issuer("fake-idp"),
      sub: "fake-user-1",
      aud: ras.issuer,
      client_id: rasClient.client_id,
      jti: crypto.randomUUID(),
      iat: now,
      exp: now + 300,
      resource: MCP_URL,
      scope: SCOPE,
      email: "carol@corp.example",
      ...claims,
    },
    { key: fakeKey },
  );
}

async function lastRecord(server) {
  return (await server.allRecords()).at(-1);
}

describe("the IdP: an ID token exchanged for an ID-JAG", () => {
  test("requestJwtAuthorizationGrant gets an ID-JAG: typ, claims as the draft lists them, N_A, a short lifetime", async () => {
    const idToken = await idTokenOf(alice);
    const raw = await idp.exchange(idpClient, [
      ...subject(idToken, TT.id),
      ["requested_token_type", ID_JAG],
      ["audience", ras.issuer],
      ["resource", MCP_URL],
      ["scope", SCOPE],
    ]);
    assert.equal(raw.status, 200, JSON.stringify(raw.body));
    assert.deepEqual([raw.body.issued_token_type, raw.body.token_type, raw.body.scope], [ID_JAG, "N_A", SCOPE]);
    assert.equal(typeof raw.body.expires_in, "number");
    assert.ok(raw.body.expires_in <= 300 && raw.body.expires_in > 290);
    assert.equal(raw.body.refresh_token, undefined);
    assert.equal(raw.headers.get("cache-control"), "no-store");
    const jag = raw.body.access_token;
    assert.equal(decodeProtectedHeader(jag).typ, "oauth-id-jag+jwt");
    const claims = decodeJwt(jag);
    assert.deepEqual(
      [claims.iss, claims.sub, claims.aud, claims.client_id, claims.resource, claims.scope],
      [idp.issuer, alice.user.id, ras.issuer, rasClient.client_id, MCP_URL, SCOPE],
    );
    assert.ok(typeof claims.jti === "string" && claims.jti.length > 0);
    assert.equal(claims.exp - claims.iat, raw.body.expires_in);
    assert.equal(claims.email, "alice@example.com");
    // The SDK's own request gets one too (client_secret_post, its shape checks).
    assert.equal(decodeJwt(await idJagFor(alice)).aud, ras.issuer);
    const record = await lastRecord(idp);
    assert.deepEqual([record.decision, record.requestedTokenType, record.audiences[0]], ["granted", ID_JAG, ras.issuer]);
  });

  test("the IdP's policy: another authorization server, a resource or a scope beyond the client's entry, an access token subject", async () => {
    const idToken = await idTokenOf(alice);
    const ask = (pairs) => idp.exchange(idpClient, [...subject(idToken, TT.id), ["requested_token_type", ID_JAG], ...pairs]);
    const cases = [
      [[["audience", "https://elsewhere.example"]], "invalid_target", "target_not_allowed"],
      [[["audience", ras.issuer], ["resource", "https://other.api.example/"]], "invalid_target", "target_not_allowed"],
      [[["audience", ras.issuer], ["scope", "mcp:admin"]], "invalid_scope", "scope_not_allowed"],
      [[], "invalid_target", "no_target"],
    ];
    for (const [pairs, error, reason] of cases) {
      const r = await ask(pairs);
      assert.deepEqual([r.status, r.body.error, (await lastRecord(idp)).reason], [400, error, reason], JSON.stringify(pairs));
    }
    const accessToken = (await idp.authorize(alice, idpClient, { scope: "openid profile" })).access_token;
    const r = await idp.exchange(idpClient, [...subject(accessToken, TT.access), ["requested_token_type", ID_JAG], ["audience", ras.issuer]]);
    assert.equal(r.status, 400);
    assert.equal((await lastRecord(idp)).reason, "token_type_not_accepted");
  });

  test("requested_token_type jwt: a signed JWT that is not an access token (N_A, typ JWT)", async () => {
    const idToken = await idTokenOf(alice);
    await idp.createResource("reports");
    await idp.link(idpClient, ["reports"]);
    const r = await idp.exchange(idpClient, [...subject(idToken, TT.id), ["requested_token_type", TT.jwt], ["audience", "reports"]]);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual([r.body.issued_token_type, r.body.token_type], [TT.jwt, "N_A"]);
    assert.equal(decodeProtectedHeader(r.body.access_token).typ, "JWT");
    const claims = decodeJwt(r.body.access_token);
    assert.deepEqual([claims.sub, claims.aud, claims.client_id], [alice.user.id, "reports", idpClient.client_id]);
  });
});

describe("the resource authorization server: an ID-JAG redeemed (jwt-bearer)", () => {
  test("exchangeJwtAuthGrant redeems it for an access token for the MCP server, no refresh token", async () => {
    const jag = await idJagFor(alice);
    const tokens = await exchangeJwtAuthGrant({
      tokenEndpoint: rasTokenEndpoint(),
      jwtAuthGrant: jag,
      clientId: rasClient.client_id,
      clientSecret: rasClient.client_secret,
    });
    assert.equal(tokens.token_type, "Bearer");
    assert.equal(tokens.refresh_token, undefined);
    const claims = decodeJwt(tokens.access_token);
    assert.equal(claims.aud, MCP_URL);
    assert.equal(claims.client_id, rasClient.client_id);
    assert.equal(claims.scope, SCOPE);
    const record = await lastRecord(ras);
    assert.deepEqual([record.decision, record.grantType, record.subjectIss], ["granted", JWT_BEARER, idp.issuer]);
  });

  test("an MCP client reaches the MCP server through CrossAppAccessProvider", async () => {
    const idToken = await idTokenOf(alice);
    const authProvider = new CrossAppAccessProvider({
      clientId: rasClient.client_id,
      clientSecret: rasClient.client_secret,
      expectedIssuer: ras.issuer,
      assertion: async (ctx) =>
        (
          await requestJwtAuthorizationGrant({
            tokenEndpoint: tokenEndpoint(),
            audience: ctx.authorizationServerUrl,
            resource: ctx.resourceUrl,
            idToken,
            clientId: idpClient.client_id,
            clientSecret: idpClient.client_secret,
            scope: ctx.scope,
          })
        ).jwtAuthGrant,
    });
    const client = new Client({ name: "tx-test-client", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(MCP_URL), { authProvider }));
    try {
      const tools = await client.listTools();
      assert.deepEqual(tools.tools.map((t) => t.name), ["whoami"]);
      const answer = await client.callTool({ name: "whoami", arguments: {} });
      const rasAlice = (await ras.context.adapter.findOne({ model: "account", where: [{ field: "accountId", value: alice.user.id }] })).userId;
      assert.deepEqual(JSON.parse(answer.content[0].text), { sub: rasAlice });
    } finally {
      await client.close();
    }
  });

  test("the MCP server refuses the IdP's own tokens: only the resource AS's", async () => {
    const idToken = await idTokenOf(alice);
    const r = await fetch(MCP_URL, { method: "POST", headers: { authorization: `Bearer ${idToken}`, "content-type": "application/json" }, body: "{}" });
    assert.equal(r.status, 401);
  });

  const refusals = [
    ["wrong typ", () => fakeIdJag({ header: { typ: "JWT" } }), {}, "invalid_grant", "token_type_mismatch"],
    ["wrong aud", () => fakeIdJag({ claims: { aud: "https://other-as.example" } }), {}, "invalid_grant", "audience_mismatch"],
    ["two audiences", () => fakeIdJag({ claims: { aud: ["https://other-as.example", "placeholder"] } }), {}, "invalid_grant", "audience_mismatch"],
    ["another client's ID-JAG", () => fakeIdJag(), { client: "other" }, "invalid_grant", "token_holder_mismatch"],
    ["an expired one", () => fakeIdJag({ claims: { iat: Math.floor(Date.now() / 1000) - 900, exp: Math.floor(Date.now() / 1000) - 600 } }), {}, "invalid_grant", "token_expired"],
    ["a scope beyond the assertion's", () => fakeIdJag(), { pairs: [["scope", `${SCOPE} mcp:admin`]] }, "invalid_scope", "scope_not_allowed"],
    ["no jti", () => fakeIdJag({ claims: { jti: undefined } }), {}, "invalid_grant", "missing_claim"],
  ];
  for (const [name, make, { client, pairs }, error, reason] of refusals) {
    test(`refused: ${name}`, async () => {
      const r = await redeem(make(), { client: client === "other" ? otherRasClient : rasClient, pairs });
      assert.deepEqual([r.status, r.body.error], [400, error], JSON.stringify(r.body));
      assert.equal(r.body.access_token, undefined);
      const record = await lastRecord(ras);
      assert.deepEqual([record.decision, record.reason, record.grantType], ["refused", reason, JWT_BEARER]);
    });
  }

  test("refused: an untrusted IdP (a key it does not have, an issuer it does not know)", async () => {
    const stranger = keyPair("p256", { kid: "stranger", alg: "ES256" });
    const now = Math.floor(Date.now() / 1000);
    const token = jws(
      { alg: "ES256", kid: "stranger", typ: "oauth-id-jag+jwt" },
      { iss: "https://stranger.example", sub: "x", aud: ras.issuer, client_id: rasClient.client_id, jti: "j", iat: now, exp: now + 300 },
      { key: stranger },
    );
    const r = await redeem(token);
    assert.deepEqual([r.status, r.body.error, (await lastRecord(ras)).reason], [400, "invalid_grant", "untrusted_issuer"]);
  });

  test("refused: a replayed jti", async () => {
    const jag = await idJagFor(alice);
    assert.equal((await redeem(jag)).status, 200);
    const again = await redeem(jag);
    assert.deepEqual([again.status, again.body.error, (await lastRecord(ras)).reason], [400, "invalid_grant", "assertion_replayed"]);
  });

  test("one assertion presented twice at once: one grant, one replay (the redemption row serializes them)", async () => {
    const jag = fakeIdJag({ claims: { sub: `fake-user-${crypto.randomUUID()}`, email: `${crypto.randomUUID()}@corp.example` } });
    const answers = await Promise.all([redeem(jag), redeem(jag)]);
    assert.deepEqual(answers.map((r) => r.status).sort(), [200, 400], JSON.stringify(answers.map((r) => r.body)));
    assert.equal(answers.find((r) => r.status === 400).body.error, "invalid_grant");
    const records = (await ras.allRecords()).slice(-2);
    assert.deepEqual(records.map((r) => r.reason ?? "granted").sort(), ["assertion_replayed", "granted"]);
    // Provisioned once.
    const email = decodeJwt(jag).email;
    assert.equal((await ras.context.adapter.findMany({ model: "user", where: [{ field: "email", value: email }] })).length, 1);
  });

  test("refused: an unknown user without just-in-time provisioning", async () => {
    const r = await redeem(await idJagFor(bob));
    assert.deepEqual([r.status, r.body.error, (await lastRecord(ras)).reason], [400, "invalid_grant", "subject_not_linked"]);
  });

  test("just-in-time provisioning (an IdP that allows it): a new user, linked, once", async () => {
    const sub = `fake-user-${crypto.randomUUID()}`;
    const email = `${sub}@corp.example`;
    const first = await redeem(fakeIdJag({ claims: { sub, email } }));
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const user = await ras.context.internalAdapter.findUserByEmail(email);
    assert.ok(user, "the user was created");
    const second = await redeem(fakeIdJag({ claims: { sub, email } }));
    assert.equal(second.status, 200);
    assert.equal(decodeJwt(second.body.access_token).sub, decodeJwt(first.body.access_token).sub);
    // An email that belongs to a user already is not linked to another IdP subject.
    const takenJag = fakeIdJag({ claims: { sub: `other-${sub}`, email } });
    const taken = await redeem(takenJag);
    assert.deepEqual([taken.status, taken.body.error, (await lastRecord(ras)).reason], [400, "invalid_grant", "subject_not_linked"]);
    // Nothing half-written: no account for that subject, and the assertion not spent.
    assert.equal(await ras.context.adapter.findOne({ model: "account", where: [{ field: "accountId", value: `other-${sub}` }] }), null);
    assert.equal((await redeem(takenJag)).status, 400);
    assert.equal((await lastRecord(ras)).reason, "subject_not_linked");
  });

  test("just-in-time provisioning refused by the application (validateUserInfo): invalid_grant, no user", async () => {
    const email = `${crypto.randomUUID()}@refused.example`;
    const r = await redeem(fakeIdJag({ claims: { sub: `fake-user-${crypto.randomUUID()}`, email } }));
    assert.deepEqual([r.status, r.body.error, (await lastRecord(ras)).reason], [400, "invalid_grant", "subject_not_linked"]);
    assert.equal(await ras.context.internalAdapter.findUserByEmail(email), null);
  });

  test("discovery: the grant type and the ID-JAG grant profile", async () => {
    const meta = await (await fetch(`${ras.base}/.well-known/oauth-authorization-server`)).json();
    assert.ok(meta.grant_types_supported.includes(JWT_BEARER));
    assert.deepEqual(meta.authorization_grant_profiles_supported, ["urn:ietf:params:oauth:grant-profile:id-jag"]);
  });
});
