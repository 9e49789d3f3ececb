// TX-71 over HTTP: every `error_description` the token endpoint answers
// holds only the characters RFC 6749 §5.2 allows (%x20-21 / %x23-5B /
// %x5D-7E: no `"`, no `\`, no control or non-ASCII character), whatever the
// request contained.
//
// One case per refusal reason of the generated reason list
// (pkg-template/src/shared/reasons.ts), each driven over HTTP against a
// real server with hostile characters (quotes, backslashes, control
// characters, non-ASCII, lone surrogates, long values) in the parameter
// that causes the refusal and in extra parameters (names and values): the
// answer's status and OAuth error are the ones the table gives, the audit
// record carries the reason, and the description is safe. Reasons that only
// the resource-server verifier answers, or that no request can cause, are
// skipped by name with the reason why; a reason added to the list without a
// case here fails the coverage test. Then a seeded random test sends many
// requests with random characters in random parameters (names included,
// invalid UTF-8 and broken percent-encoding too): every answer is JSON with a
// safe description, never a 5xx. Set TX71_SEED to replay a run.
//
// SQLite only: some cases make the database fail on purpose (a trigger) or
// plant a row that no longer has its user (foreign keys off for one insert).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { b64u, jws, keyPair } from "./helpers/jws.mjs";
import { actor, GRANT, startServer, subject, TT } from "./helpers/server.mjs";

// --- the generated reason table ---------------------------------------------
const reasonsSource = readFileSync(new URL("../pkg-template/src/shared/reasons.ts", import.meta.url), "utf8");
/** A `const NAME = { key: "value", ... }` or `[ "value", ... ]` of reasons.ts, parsed. */
function generated(name) {
  const start = reasonsSource.indexOf(`export const ${name}`);
  assert.ok(start >= 0, `reasons.ts declares ${name}`);
  const body = reasonsSource.slice(start, reasonsSource.indexOf(";\n", start));
  const open = body.indexOf("=") + 1;
  const text = body
    .slice(open)
    .replace(/\s+as const$/, "")
    .trim();
  if (text.startsWith("[")) return [...text.matchAll(/"([a-z_]+)"/g)].map((m) => m[1]);
  return Object.fromEntries([...text.matchAll(/^\s*([a-z_]+): "([^"]*)",?$/gm)].map((m) => [m[1], m[2]]));
}
const REASON_CODES = generated("REASON_CODES");
const REASON_ERRORS = generated("REASON_ERRORS");
const REASON_ORIGINS = generated("REASON_ORIGINS");

// --- what a description may hold (RFC 6749 §5.2) ------------------------------
const SAFE = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
function assertSafeDescription(description, context) {
  assert.equal(typeof description, "string", `${context}: error_description is a string`);
  assert.match(description, SAFE, `${context}: unsafe error_description ${JSON.stringify(description)}`);
}

// --- hostile text --------------------------------------------------------------
/** In JSON (claims, header members): every kind of character that must not reach a description. */
const HOSTILE_TEXT =
  "q\"uo'te\\back\u0000nul\u0001\u0008\u001f\u007f\u0080\u009f\u00a0\u00e9\u00ff\u2028\u2029\ufeff\ufffd\u{1f600}<>&%+=;";
/** In form values and names: also a lone surrogate (sent as U+FFFD) and CR LF. */
const HOSTILE = `${HOSTILE_TEXT}\ud800\r\n`;
const HOSTILE_LONG = HOSTILE.repeat(60);
/** Extra parameters every case carries: hostile names and values the exchange does not read. */
const EXTRAS = [
  [HOSTILE, HOSTILE],
  [`x-${HOSTILE_LONG}`, HOSTILE_LONG],
  ["error_description", HOSTILE],
];

const EXT = "https://idp.tx71.example"; // trusted, keys inline
const EXT_AUD = "https://as.tx71.example/";
const RES_BILLING = "https://billing.api.example/";
const RES_DPOP = "https://dpop.api.example/"; // issuance needs a DPoP proof
const now = () => Math.floor(Date.now() / 1000);
const JAG_ISS = "https://idp-jag.tx71.example"; // trusted for ID-JAGs, keys inline
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/** Reasons no token-endpoint request can produce, each with why. */
const SKIPPED = {
  opaque_token: "answered by the resource-server verifier only (origin resource-server)",
  actor_required: "answered by the resource-server verifier only (origin resource-server)",
  actor_not_allowed: "answered by the resource-server verifier only (origin resource-server)",
  invalid_engine_call:
    "the plugin's calls to the engine are well-formed whatever the request holds; only a bug in the plugin could produce it",
  malformed_jwks:
    "answered when a key set is given to the engine, never to a client: a trusted issuer's unusable key set makes its tokens fail with unknown_key",
};

let s; // the server
let JAG, NOJAG; // clients registered for jwt-bearer: opted in to ID-JAGs, and not
let A, B, PUB, NOOPT, NOGRANT, IMP, DEL, REQ, BADPOL, SURROGATE;
let alice, agent;
const keys = {
  ed: keyPair("ed25519", { kid: "ed-1", alg: "EdDSA" }),
  ec: keyPair("p256", { kid: "ec-1", alg: "ES256" }),
};
const evil = keyPair("ed25519", { kid: "ed-1", alg: "EdDSA" }); // not the issuer's
const rsa = keyPair("rsa"); // the issuer has no RSA key
const own = {}; // tokens of this server

/** Claims of a valid token of the trusted issuer for Alice (ext-alice). */
const extClaims = (extra = {}) => ({
  iss: EXT,
  sub: "ext-alice",
  aud: EXT_AUD,
  iat: now() - 5,
  exp: now() + 600,
  scope: "profile orders:read",
  note: HOSTILE_TEXT, // a claim nobody reads, in every token
  ...extra,
});
const extToken = (
  claims = extClaims(),
  { header = { alg: "EdDSA", kid: "ed-1", typ: "JWT" }, key = keys.ed, ...rest } = {},
) => jws(header, claims, { key, ...rest });
/** An act chain `depth` deep, hostile subs. */
const nest = (depth) => {
  let act = { sub: `agent-0${HOSTILE_TEXT}` };
  for (let i = 1; i < depth; i++) act = { sub: `agent-${i}${HOSTILE_TEXT}`, act };
  return act;
};
const target = [["audience", "billing"]];

/** An ID-JAG of JAG_ISS for Alice (jag-alice), for client JAG at this server; `claims` override. */
const idJag = (claims = {}) =>
  jws(
    { alg: "ES256", kid: "ec-1", typ: "oauth-id-jag+jwt" },
    {
      iss: JAG_ISS,
      sub: "jag-alice",
      aud: s.issuer,
      client_id: JAG.client_id,
      jti: `jti-${crypto.randomUUID()}`,
      iat: now() - 5,
      exp: now() + 300,
      scope: "profile",
      note: HOSTILE_TEXT,
      ...claims,
    },
    { key: keys.ec },
  );
/** A jwt-bearer request (RFC 7523 §2.1) by `client` with HTTP Basic, hostile extras. */
const redeemJag = (client, assertion) =>
  s.post("/oauth2/token", [["grant_type", JWT_BEARER], ["assertion", assertion], ...EXTRAS], {
    authorization: s.basicHeader(client.client_id, client.client_secret),
  });

/**
 * One case per reason. `send` overrides the request; `client` (default A)
 * authenticates by its method; `error` / `status` override the table's
 * (issuance refused by the provider answers the provider's error);
 * `record: false` when no exchange record is written; `recordsClient`:
 * the record must name the (authenticated) client.
 */
const CASES = [
  // --- the client (TX-10 to TX-12) ---
  {
    reason: "malformed_client_authentication",
    name: "a repeated, hostile client_id",
    client: () => null,
    pairs: () => [...subject(own.opaque), ...target, ["client_id", HOSTILE], ["client_id", HOSTILE_LONG]],
  },
  {
    reason: "malformed_client_authentication",
    name: "HTTP Basic and a hostile client_secret in the body",
    pairs: () => [...subject(own.opaque), ...target, ["client_id", A.client_id], ["client_secret", HOSTILE]],
  },
  {
    reason: "client_authentication_failed",
    name: "an unknown hostile client id and secret over HTTP Basic",
    client: () => ({ client_id: HOSTILE_TEXT, client_secret: HOSTILE_TEXT }),
    pairs: () => [...subject(own.opaque), ...target],
  },
  {
    reason: "client_authentication_failed",
    name: "a hostile client_secret in the body",
    client: () => ({ ...B, token_endpoint_auth_method: "client_secret_post" }),
    secret: HOSTILE_LONG,
    pairs: () => [...subject(own.opaque), ...target],
  },
  {
    reason: "public_client",
    name: "a public client with a made-up hostile secret",
    client: () => ({ ...PUB, client_secret: HOSTILE, token_endpoint_auth_method: "client_secret_post" }),
    pairs: () => [...subject(own.opaque), ...target],
  },
  {
    reason: "token_exchange_not_enabled",
    client: () => NOOPT,
    pairs: () => [...subject(HOSTILE, HOSTILE), ["audience", HOSTILE]],
  },
  {
    reason: "grant_type_not_allowed",
    client: () => NOGRANT,
    pairs: () => [...subject(HOSTILE, HOSTILE), ["audience", HOSTILE]],
  },
  // --- the request (TX-1 to TX-8, TX-25) ---
  {
    reason: "request_too_large",
    pairs: () => [...subject(HOSTILE), ...target, ["padding", HOSTILE.repeat(2500)]],
  },
  {
    reason: "unsupported_grant_type",
    name: "a hostile grant_type, answered by the provider: it hands only the exchange grant to the plugin",
    record: false,
    send: () =>
      s.post("/oauth2/token", [["grant_type", HOSTILE], ...subject(own.opaque), ...target, ...EXTRAS], {
        authorization: s.basicHeader(A.client_id, A.client_secret),
      }),
  },
  { reason: "duplicate_parameter", pairs: () => [...subject(HOSTILE), ["subject_token", HOSTILE_LONG], ...target] },
  {
    reason: "duplicate_parameter",
    name: "a repeated hostile scope",
    pairs: () => [...subject(own.opaque), ...target, ["scope", HOSTILE], ["scope", HOSTILE]],
  },
  {
    reason: "missing_parameter",
    pairs: () => [
      ["subject_token", HOSTILE],
      ["audience", HOSTILE],
    ],
  },
  {
    reason: "missing_parameter",
    name: "an actor_token without its type",
    pairs: () => [...subject(own.opaque), ["actor_token", HOSTILE], ...target],
  },
  { reason: "unexpected_parameter", pairs: () => [...subject(own.opaque), ["actor_token_type", HOSTILE], ...target] },
  { reason: "unsupported_token_type", pairs: () => [...subject(own.opaque, HOSTILE), ...target] },
  {
    reason: "unsupported_token_type",
    name: "a long hostile actor_token_type",
    pairs: () => [...subject(own.opaque), ...actor(own.agent, HOSTILE_LONG), ...target],
  },
  {
    reason: "unsupported_token_type",
    name: "a hostile requested_token_type",
    pairs: () => [...subject(own.opaque), ["requested_token_type", `urn:${HOSTILE}`], ...target],
  },
  {
    reason: "unsupported_requested_token_type",
    pairs: () => [...subject(own.opaque), ["requested_token_type", TT.refresh], ["audience", HOSTILE]],
  },
  { reason: "token_too_large", pairs: () => [...subject(`${HOSTILE}${"A".repeat(17 * 1024)}`), ...target] },
  // --- the tokens (TX-20 to TX-25) ---
  { reason: "malformed_token", pairs: () => [...subject(`${HOSTILE}.${HOSTILE}.${HOSTILE}`, TT.jwt), ...target] },
  {
    reason: "malformed_token",
    name: "a header that is hostile text, not JSON",
    pairs: () => [...subject(`${b64u(HOSTILE_TEXT)}.${b64u(JSON.stringify(extClaims()))}.AAAA`, TT.jwt), ...target],
  },
  {
    reason: "json_too_deep",
    pairs: () => [
      ...subject(
        extToken(
          JSON.stringify(
            extClaims({ deep: JSON.parse(`${"[".repeat(20)}${JSON.stringify(HOSTILE_TEXT)}${"]".repeat(20)}`) }),
          ),
        ),
        TT.jwt,
      ),
      ...target,
    ],
  },
  {
    reason: "duplicate_json_member",
    pairs: () => {
      const name = JSON.stringify(HOSTILE_TEXT);
      return [
        ...subject(
          extToken(extClaims(), { header: `{"alg":"EdDSA","kid":"ed-1",${name}:1,${name}:2}`, alg: "EdDSA" }),
          TT.jwt,
        ),
        ...target,
      ];
    },
  },
  {
    reason: "unsupported_algorithm",
    pairs: () => [
      ...subject(
        jws({ alg: HOSTILE_TEXT, kid: "ed-1" }, extClaims(), { signature: Buffer.from(HOSTILE_TEXT) }),
        TT.jwt,
      ),
      ...target,
    ],
  },
  {
    reason: "unsupported_critical_header",
    pairs: () => [
      ...subject(
        extToken(extClaims(), {
          header: { alg: "EdDSA", kid: "ed-1", crit: [HOSTILE_TEXT], [HOSTILE_TEXT]: HOSTILE_TEXT },
        }),
        TT.jwt,
      ),
      ...target,
    ],
  },
  {
    reason: "untrusted_issuer",
    pairs: () => [...subject(extToken(extClaims({ iss: HOSTILE_TEXT })), TT.jwt), ...target],
  },
  {
    reason: "unknown_key",
    pairs: () => [
      ...subject(extToken(extClaims(), { header: { alg: "EdDSA", kid: HOSTILE_TEXT.repeat(20) } }), TT.jwt),
      ...target,
    ],
  },
  {
    reason: "no_matching_key",
    pairs: () => [
      ...subject(extToken(extClaims(), { header: { alg: "RS256", typ: HOSTILE_TEXT }, key: rsa }), TT.jwt),
      ...target,
    ],
  },
  {
    reason: "algorithm_key_mismatch",
    pairs: () => [
      ...subject(extToken(extClaims(), { header: { alg: "EdDSA", kid: "ec-1", typ: HOSTILE_TEXT } }), TT.jwt),
      ...target,
    ],
  },
  {
    reason: "bad_signature",
    pairs: () => [...subject(extToken(extClaims({ sub: HOSTILE_TEXT }), { key: evil }), TT.jwt), ...target],
  },
  {
    reason: "missing_claim",
    pairs: () => {
      const { exp: _, ...claims } = extClaims({ sub: HOSTILE_TEXT });
      return [...subject(extToken(claims), TT.jwt), ...target];
    },
  },
  { reason: "invalid_claim", pairs: () => [...subject(extToken(extClaims({ exp: HOSTILE_TEXT })), TT.jwt), ...target] },
  {
    reason: "invalid_claim",
    name: "a hostile may_act that is no object",
    pairs: () => [...subject(extToken(extClaims({ may_act: HOSTILE_TEXT })), TT.jwt), ...target],
  },
  {
    reason: "token_expired",
    pairs: () => [
      ...subject(extToken(extClaims({ sub: HOSTILE_TEXT, iat: now() - 7200, exp: now() - 3600 })), TT.jwt),
      ...target,
    ],
  },
  {
    reason: "token_not_yet_valid",
    pairs: () => [...subject(extToken(extClaims({ sub: HOSTILE_TEXT, nbf: now() + 3600 })), TT.jwt), ...target],
  },
  {
    reason: "token_issued_in_future",
    pairs: () => [
      ...subject(extToken(extClaims({ sub: HOSTILE_TEXT, iat: now() + 86_400, exp: now() + 90_000 })), TT.jwt),
      ...target,
    ],
  },
  { reason: "token_type_mismatch", pairs: () => [...subject(own.id, TT.access), ["audience", HOSTILE]] },
  { reason: "token_inactive", pairs: () => [...subject(HOSTILE_LONG), ...target] },
  {
    reason: "audience_mismatch",
    pairs: () => [
      ...subject(extToken(extClaims({ aud: [HOSTILE_TEXT, `${EXT_AUD}${HOSTILE_TEXT}`] })), TT.jwt),
      ...target,
    ],
  },
  { reason: "act_chain_too_deep", pairs: () => [...subject(extToken(extClaims({ act: nest(6) })), TT.jwt), ...target] },
  // --- the subject (TX-24) ---
  {
    reason: "subject_not_linked",
    pairs: () => [...subject(extToken(extClaims({ sub: HOSTILE_TEXT })), TT.jwt), ...target],
  },
  {
    reason: "subject_not_found",
    name: "a linked external subject whose local user no longer exists",
    pairs: () => [...subject(extToken(extClaims({ sub: "ext-ghost" })), TT.jwt), ...target],
  },
  {
    reason: "session_ended",
    name: "a JWT subject token after its user signed out",
    pairs: () => [...subject(own.signedOut), ...target],
  },
  // --- policy (TX-26, TX-27, TX-42 to TX-46) ---
  { reason: "token_type_not_accepted", pairs: () => [...subject(own.refresh, TT.refresh), ["audience", HOSTILE]] },
  {
    reason: "issuer_not_allowed_for_client",
    client: () => B,
    pairs: () => [...subject(extToken(extClaims({ sub: HOSTILE_TEXT })), TT.jwt), ...target],
  },
  { reason: "token_holder_mismatch", pairs: () => [...subject(own.ofB), ["scope", "profile"], ...target] },
  { reason: "actor_equals_subject", pairs: () => [...subject(own.opaque), ...actor(own.opaque), ...target] },
  {
    reason: "may_act_mismatch",
    pairs: () => [
      ...subject(extToken(extClaims({ may_act: { sub: HOSTILE_TEXT, [HOSTILE_TEXT]: HOSTILE_TEXT } })), TT.jwt),
      ...actor(own.agent),
      ...target,
    ],
  },
  {
    reason: "delegation_not_allowed",
    client: () => DEL,
    pairs: () => [...subject(own.opaqueDel), ...actor(own.agentDel), ...target],
  },
  { reason: "impersonation_not_allowed", client: () => IMP, pairs: () => [...subject(own.opaqueImp), ...target] },
  {
    reason: "delegation_too_deep",
    pairs: () => [...subject(extToken(extClaims({ act: nest(5) })), TT.jwt), ...actor(own.agent), ...target],
  },
  // --- targets (TX-6, TX-9, TX-25) ---
  { reason: "invalid_target_value", pairs: () => [...subject(own.opaque), ["audience", HOSTILE_LONG]] },
  { reason: "invalid_resource", pairs: () => [...subject(own.opaque), ["resource", HOSTILE]] },
  {
    reason: "invalid_resource",
    name: "an absolute URI with a hostile fragment",
    pairs: () => [...subject(own.opaque), ["resource", `${RES_BILLING}#${HOSTILE}`]],
  },
  {
    reason: "too_many_targets",
    pairs: () => [...subject(own.opaque), ...Array.from({ length: 129 }, (_, i) => ["audience", `${i}${HOSTILE}`])],
  },
  { reason: "no_target", client: () => REQ, pairs: () => [...subject(own.opaqueReq), ["scope", "profile"]] },
  { reason: "target_not_allowed", pairs: () => [...subject(own.opaque), ["audience", HOSTILE]] },
  {
    reason: "target_not_allowed",
    name: "an absolute URI, hostile text percent-encoded",
    pairs: () => [...subject(own.opaque), ["resource", `https://x.example/'${encodeURIComponent(HOSTILE_TEXT)}`]],
  },
  // --- scope (TX-30 to TX-32, TX-25) ---
  {
    reason: "too_many_scopes",
    pairs: () => [
      ...subject(own.opaque),
      ...target,
      ["scope", Array.from({ length: 1025 }, (_, i) => `s${i}"\\\u00e9`).join(" ")],
    ],
  },
  { reason: "malformed_scope", pairs: () => [...subject(own.opaque), ...target, ["scope", HOSTILE]] },
  {
    reason: "scope_not_allowed",
    pairs: () => [...subject(own.opaque), ...target, ["scope", "profile ~'<>{}|^`!#$%&()*+,-./:;=?@[]"]],
  },
  // --- the server ---
  {
    reason: "invalid_client_policy",
    name: "an admin-set policy of hostile members",
    client: () => BADPOL,
    recordsClient: true,
    pairs: () => [...subject(own.opaqueBad), ...target],
  },
  {
    // The lone surrogate reaches the engine as U+FFFD (engine/core.ts): the
    // policy is read, and names no such target.
    reason: "target_not_allowed",
    name: "an admin-set policy holding a lone surrogate",
    client: () => SURROGATE,
    recordsClient: true,
    pairs: () => [...subject(own.opaqueSurrogate), ...target],
  },
  {
    reason: "id_jag_not_enabled",
    name: "an ID-JAG presented by a client not opted in (allowedIdJag)",
    send: () => redeemJag(NOJAG, idJag({ client_id: NOJAG.client_id })),
  },
  {
    reason: "proof_of_possession_required",
    name: "an ID-JAG bound to a key (cnf), hostile thumbprint",
    error: "invalid_grant", // the jwt-bearer grant's error for it (REASON_ASSERTION_ERRORS)
    send: () => redeemJag(JAG, idJag({ cnf: { jkt: HOSTILE_TEXT } })),
  },
  {
    reason: "assertion_replayed",
    name: "an ID-JAG redeemed a second time",
    async setup() {
      this.assertion = idJag({ sub: "jag-alice", [HOSTILE_TEXT]: HOSTILE_TEXT });
      const first = await redeemJag(JAG, this.assertion);
      assert.equal(first.status, 200, JSON.stringify(first.body));
    },
    send() {
      return redeemJag(JAG, this.assertion);
    },
  },
  {
    reason: "issuance_failed",
    name: "the token store refusing the insert (with hostile text in its error)",
    pairs: () => [...subject(own.opaque), ["scope", "profile"]], // no target: an opaque token, stored
    async setup() {
      const message = `simulated storage failure ${HOSTILE_TEXT}`.replaceAll("\u0000", "").replaceAll("'", "''");
      s.db.exec(
        `CREATE TRIGGER tx71_token_down BEFORE INSERT ON "oauthAccessToken" BEGIN SELECT RAISE(ABORT, '${message}'); END;`,
      );
    },
    async teardown() {
      s.db.exec("DROP TRIGGER IF EXISTS tx71_token_down");
    },
  },
  {
    reason: "issuance_failed",
    name: "the provider refusing a hostile DPoP proof (its own error passes on)",
    error: "invalid_dpop_proof",
    status: 400,
    pairs: () => [...subject(own.opaque), ["resource", RES_DPOP]],
    headers: () => ({
      dpop: `${b64u(JSON.stringify({ typ: HOSTILE_TEXT, alg: "ES256" }))}.${b64u(HOSTILE_TEXT)}.AAAA`,
    }),
  },
];

before(async () => {
  s = await startServer({
    db: "sqlite",
    exchange: {
      trustedIssuers: [
        { issuer: EXT, audiences: [EXT_AUD], jwks: { keys: [keys.ed.jwk, keys.ec.jwk] }, providerId: "ext-idp" },
        { issuer: JAG_ISS, audiences: [EXT_AUD], jwks: { keys: [keys.ec.jwk] }, providerId: "jag-idp", tokenTypes: ["id_jag"] },
      ],
    },
  });
  for (const id of ["billing", RES_BILLING]) await s.createResource(id);
  await s.createResource(RES_DPOP, { dpopBoundAccessTokensRequired: true });
  const policy = (tokenExchange) => ({ metadata: { allowedTokenExchange: true, tokenExchange } });
  A = await s.createClient("A", policy({ trustedIssuers: [EXT] }));
  B = await s.createClient("B");
  PUB = await s.createClient("public", { token_endpoint_auth_method: "none" });
  NOOPT = await s.createClient("not opted in", { metadata: { somethingElse: HOSTILE } });
  NOGRANT = await s.createClient("no grant", { grant_types: ["authorization_code"] });
  IMP = await s.createClient("delegation only", policy({ impersonation: false }));
  DEL = await s.createClient("impersonation only", policy({ delegation: false }));
  REQ = await s.createClient("requires a target", policy({ requireTarget: true }));
  BADPOL = await s.createClient(
    "bad policy",
    policy({ audiences: HOSTILE_TEXT, [HOSTILE_TEXT]: [HOSTILE_TEXT], maxDelegationDepth: HOSTILE_TEXT }),
  );
  // JSON text can carry a lone surrogate (an escape); the metadata keeps it.
  SURROGATE = await s.createClient("lone surrogate", policy({ audiences: [`billing\ud800`] }));
  JAG = await s.createClient("redeems ID-JAGs", {
    grant_types: [JWT_BEARER],
    response_types: [],
    scope: "profile",
    metadata: { allowedIdJag: true, tokenExchange: { trustedIssuers: [JAG_ISS] } },
  });
  NOJAG = await s.createClient("jwt-bearer, not opted in", { grant_types: [JWT_BEARER], response_types: [], scope: "profile" });
  for (const c of [A, B, IMP, DEL, REQ, BADPOL, SURROGATE]) await s.link(c, ["billing", RES_BILLING, RES_DPOP]);

  alice = await s.signUp("alice@example.com", "Alice");
  agent = await s.signUp("agent@example.com", "Agent");
  await s.linkAccount(alice, "ext-idp", "ext-alice");
  await s.linkAccount(alice, "jag-idp", "jag-alice");
  // An account row whose user is gone (foreign keys off for this one insert).
  s.db.exec("PRAGMA foreign_keys = OFF");
  try {
    await s.context.adapter.create({
      model: "account",
      data: {
        userId: "deleted-user",
        providerId: "ext-idp",
        accountId: "ext-ghost",
        createdAt: new Date(),
        updatedAt: new Date(),
      },
    });
  } finally {
    s.db.exec("PRAGMA foreign_keys = ON");
  }

  const opaque = async (who, client, scope = "profile orders:read") =>
    (await s.authorize(who, client, { scope })).access_token;
  const set = await s.authorize(alice, A, { scope: "openid profile orders:read offline_access" });
  own.id = set.id_token;
  own.refresh = set.refresh_token;
  own.opaque = await opaque(alice, A);
  own.agent = await opaque(agent, A, "profile");
  own.ofB = await opaque(alice, B);
  own.opaqueDel = await opaque(alice, DEL);
  own.agentDel = await opaque(agent, DEL, "profile");
  own.opaqueImp = await opaque(alice, IMP);
  own.opaqueReq = await opaque(alice, REQ);
  own.opaqueBad = await opaque(alice, BADPOL);
  own.opaqueSurrogate = await opaque(alice, SURROGATE);
  // A JWT subject token (it names a resource) whose user then signs out.
  const bob = await s.signUp("bob@example.com", "Bob");
  own.signedOut = (await s.authorize(bob, A, { scope: "profile orders:read", resource: RES_BILLING })).access_token;
  assert.equal(own.signedOut.split(".").length, 3);
  const out = await fetch(`${s.base}/sign-out`, {
    method: "POST",
    headers: { cookie: bob.cookie, origin: s.origin, "content-type": "application/json" },
    body: "{}",
  });
  assert.equal(out.status, 200);
});

after(async () => {
  await s?.stop();
});

const statusOf = (error) => (error === "invalid_client" ? 401 : error === "server_error" ? 500 : 400);

describe("TX-71: every refusal reason over HTTP, hostile characters in the request", () => {
  for (const c of CASES) {
    const label = c.name ? `${c.reason} (${c.name})` : c.reason;
    test(`TX-71, TX-70, TX-60: ${label}`, async () => {
      const error = c.error ?? REASON_ERRORS[c.reason];
      assert.ok(error, `${c.reason} is in the reason table`);
      const status = c.status ?? statusOf(error);
      await c.setup?.();
      let r;
      let before;
      try {
        before = await s.countRows();
        r = c.send
          ? await c.send()
          : await s.exchange(c.client ? c.client() : A, [...c.pairs(), ...EXTRAS], {
              ...(c.secret ? { secret: c.secret } : {}),
              headers: c.headers?.() ?? {},
            });
      } finally {
        await c.teardown?.();
      }
      assert.deepEqual(
        { status: r.status, error: r.body?.error },
        { status, error },
        `expected ${status} ${error} (${c.reason}), got ${r.status} ${JSON.stringify(r.body)}`,
      );
      assert.match(r.headers.get("content-type") ?? "", /application\/json/);
      assert.equal(r.headers.get("cache-control"), "no-store");
      assert.equal(r.body.access_token, undefined, "no token on a refusal");
      assertSafeDescription(r.body.error_description, label);
      if (c.record === false) return;
      assert.equal(await s.countRows(), before + 1, "one audit record for the attempt");
      const row = s.lastRecordRow();
      assert.deepEqual([row.decision, row.reason], ["refused", c.reason], JSON.stringify(row));
      if (c.recordsClient) assert.equal(row.clientId, c.client().client_id, "the record names the client");
    });
  }

  test("TX-71: the cases cover every reason of the generated list that is not skipped by name", () => {
    assert.ok(REASON_CODES.length >= 50, `parsed ${REASON_CODES.length} reason codes`);
    for (const table of [REASON_ERRORS, REASON_ORIGINS]) assert.deepEqual(Object.keys(table), REASON_CODES);
    const covered = new Set(CASES.map((c) => c.reason));
    for (const reason of covered) assert.ok(REASON_CODES.includes(reason), `case for an unknown reason ${reason}`);
    for (const [reason, why] of Object.entries(SKIPPED)) {
      assert.ok(REASON_CODES.includes(reason), `skipped reason ${reason} is not in the list`);
      assert.ok(!covered.has(reason), `${reason} is both covered and skipped`);
      assert.ok(why.length > 20, `${reason} is skipped with a reason`);
    }
    // Every reason only a resource server answers is skipped as such; nothing else is, but by name.
    for (const reason of REASON_CODES.filter((r) => REASON_ORIGINS[r] === "resource-server")) {
      assert.match(SKIPPED[reason] ?? "", /resource-server/, `${reason} (origin resource-server) is skipped as such`);
    }
    const missing = REASON_CODES.filter((r) => !covered.has(r) && !(r in SKIPPED));
    assert.deepEqual(missing, [], "reasons without a TX-71 case: add a case (or skip it by name, with why)");
  });
});

// --- random requests -------------------------------------------------------------

/** mulberry32: a small seeded PRNG, so that a failing run can be replayed. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("TX-71: random characters in random parameters", () => {
  const seed = Number(process.env.TX71_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const rand = prng(seed);
  const int = (n) => Math.floor(rand() * n);
  const pick = (list) => list[int(list.length)];
  const chance = (p) => rand() < p;

  const ranges = [
    [0x00, 0x1f], // C0 controls
    [0x7f, 0x9f], // DEL, C1 controls
    [0x20, 0x7e], // printable ASCII (quote, backslash, ...)
    [0xa0, 0xff], // Latin-1
    [0x100, 0xd7ff], // the rest of the BMP before the surrogates
    [0xd800, 0xdfff], // lone surrogates
    [0xe000, 0xfffd],
    [0x10000, 0x10ffff], // astral
  ];
  const specials = [
    '"',
    "\\",
    "'",
    "%",
    "+",
    "&",
    "=",
    ";",
    " ",
    "\r",
    "\n",
    "\u2028",
    "\u2029",
    "\ufeff",
    "\u0000",
    ".",
    "~",
  ];
  function randomText() {
    const length = chance(0.03) ? 0 : chance(0.1) ? 2000 + int(3000) : pick([1, 2, 3, 8, 20, 60, 300]);
    let out = "";
    for (let i = 0; i < length; i++) {
      if (chance(0.3)) out += pick(specials);
      else {
        const [lo, hi] = pick(ranges);
        out += String.fromCodePoint(lo + int(hi - lo + 1));
      }
    }
    return out;
  }

  /** Percent-encodes `text` as UTF-8 (a lone surrogate becomes U+FFFD), sometimes with broken escapes or raw bytes. */
  function encode(text) {
    const parts = [];
    for (const byte of Buffer.from(text, "utf8")) {
      if (chance(0.01)) parts.push(pick(["%FF", "%C3", "%", "%G1", "%e2%80", "%00", "\u00ff", "&", "="]));
      else if (/[A-Za-z0-9._~-]/.test(String.fromCharCode(byte))) parts.push(String.fromCharCode(byte));
      else parts.push(`%${byte.toString(16).padStart(2, "0").toUpperCase()}`);
    }
    return parts.join("");
  }

  const NAMES = [
    "subject_token",
    "subject_token_type",
    "actor_token",
    "actor_token_type",
    "requested_token_type",
    "audience",
    "resource",
    "scope",
  ];
  const TYPES = Object.values(TT);

  function validValue(name) {
    if (name.endsWith("_token")) return pick([own.opaque, own.agent, own.id, extToken()]);
    if (name.endsWith("_type")) return pick(TYPES);
    if (name === "audience") return "billing";
    if (name === "resource") return RES_BILLING;
    return pick(["profile", "orders:read", "profile orders:read"]);
  }

  function randomRequest() {
    const pairs = [];
    if (chance(0.95)) {
      pairs.push(["subject_token", chance(0.6) ? validValue("subject_token") : randomText()]);
      pairs.push(["subject_token_type", chance(0.7) ? TT.access : chance(0.5) ? pick(TYPES) : randomText()]);
    }
    // Each optional parameter at most once (targets may repeat), so that
    // most requests get past the form checks to the tokens, targets and scope.
    for (const name of NAMES.slice(2)) {
      if (!chance(0.3)) continue;
      const repeats = name === "audience" || name === "resource" ? 1 + int(3) : 1;
      for (let i = 0; i < repeats; i++) pairs.push([name, chance(0.4) ? validValue(name) : randomText()]);
      if (name === "actor_token" && chance(0.7))
        pairs.push(["actor_token_type", chance(0.5) ? TT.access : randomText()]);
    }
    for (let i = int(3); i > 0; i--) pairs.push([randomText(), randomText()]);
    // Shuffled: the order of parameters is not significant.
    for (let i = pairs.length - 1; i > 0; i--) {
      const j = int(i + 1);
      [pairs[i], pairs[j]] = [pairs[j], pairs[i]];
    }
    // grant_type stays the exchange's: other grants are the provider's (see the unsupported_grant_type case).
    const raw = [`grant_type=${encodeURIComponent(GRANT)}`, ...pairs.map(([k, v]) => `${encode(k)}=${encode(v)}`)];
    const headers = { "content-type": "application/x-www-form-urlencoded" };
    const auth = rand();
    if (auth < 0.85) headers.authorization = s.basicHeader(A.client_id, A.client_secret);
    else if (auth < 0.92) headers.authorization = `Basic ${Buffer.from(randomText(), "utf8").toString("base64")}`;
    else if (auth < 0.97)
      raw.push(
        `client_id=${encode(chance(0.5) ? A.client_id : randomText())}`,
        `client_secret=${encode(randomText())}`,
      );
    return { headers, body: Buffer.from(raw.join("&"), "latin1") };
  }

  test("TX-71, TX-70: 300 random requests: JSON answers, safe descriptions, never a 5xx", async () => {
    const statuses = new Map();
    for (let i = 0; i < 300; i++) {
      const { headers, body } = randomRequest();
      const res = await fetch(`${s.base}/oauth2/token`, { method: "POST", headers, body });
      const text = await res.text();
      const context = `seed ${seed}, request ${i} (replay with TX71_SEED=${seed}): ${res.status} ${text.slice(0, 300)}`;
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      assert.ok(res.status < 500, context);
      assert.match(res.headers.get("content-type") ?? "", /application\/json/, context);
      let answer;
      assert.doesNotThrow(() => {
        answer = JSON.parse(text);
      }, context);
      assert.equal(typeof answer, "object", context);
      if (res.status === 200) {
        assert.equal(typeof answer.access_token, "string", context);
        continue;
      }
      assert.equal(typeof answer.error, "string", context);
      assert.equal(res.headers.get("cache-control"), "no-store", context);
      assertSafeDescription(answer.error_description, context);
    }
    // Most requests are refusals of every kind; some are granted.
    assert.ok((statuses.get(400) ?? 0) > 100, `statuses ${JSON.stringify([...statuses])}`);
  });
});
