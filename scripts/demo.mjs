#!/usr/bin/env node
// `make demo`: RFC 8693 token exchange on a real better-auth server.
//
// Starts better-auth with @better-auth/oauth-provider, the jwt plugin and the
// token-exchange plugin (imported from the built package, as a user would) on
// 127.0.0.1 with SQLite in a temporary directory; registers a user, a BFF
// client, two downstream APIs (API A, API B) and an agent client; signs the
// user in through authorization_code + PKCE; then walks through impersonation,
// delegation, a second delegation hop, a may_act refusal, a scope
// escalation refusal and revocation following the two-hop chain (a revoked
// token, then the user signing out), and prints the plugin's audit table.
// Last, cross-app access (ID-JAG): a second better-auth server with the
// plugin is an MCP server's authorization server; the MCP client exchanges
// the user's ID token at the first for an ID-JAG and redeems it at the
// second (jwt-bearer, with @modelcontextprotocol/client), once.
//
// The exchanges go through the package's BFF helper (`exchangeToken`), and
// each API verifies what it receives with the resource-server helper
// (`verifyExchangedToken`), as the README's example does.
//
// Every step checks its outcome (HTTP status, error code, `sub`, `act`, audit
// reason); the first one that is not as expected stops the demo with exit
// code 1. The server is stopped and its directory removed in every case.

import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { exchangeJwtAuthGrant } from "@modelcontextprotocol/client";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { GRANT, startServer, TT } from "../js-tests/helpers/server.mjs";
import { freePort } from "./lib/free-port.mjs";

// The package's BFF and resource-server helpers, from the built package the
// tests install (as a user's project would import them).
const fromPackage = (entry) =>
  import(pathToFileURL(createRequire(new URL("../js-tests/helpers/", import.meta.url)).resolve(entry)).href);
const { exchangeToken } = await fromPackage("better-auth-token-exchange/bff");
const { createExchangedTokenVerifier } = await fromPackage("better-auth-token-exchange/resource-server");

const API_A = "https://api-a.example/";
const API_B = "https://api-b.example/";
/** Alice's tokens for the agent platform carry `may_act` naming the planner agent. */
const AGENTS = "https://agents.example/";
const SCOPES = ["openid", "profile", "email", "offline_access", "a:read", "b:read", "b:write"];
/** Step 7: the MCP server behind the second authorization server, and its scope. */
const MCP = "https://mcp.example/mcp";
const MCP_SCOPE = "mcp:tools";
const ID_JAG = "urn:ietf:params:oauth:token-type:id-jag";
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/** A free loopback port (the second server's issuer is configured before it starts). */
// ---------------------------------------------------------------- output --

const WIDTH = 78;
const out = (line = "") => console.log(line);
const rule = (ch) => ch.repeat(WIDTH);

function heading(title) {
  out();
  out(rule("═"));
  out(` ${title}`);
  out(rule("═"));
}

function subheading(title) {
  out();
  out(`── ${title} ${"─".repeat(Math.max(3, WIDTH - title.length - 4))}`);
}

/** Rows of [key, value] with the keys padded to one column. */
function table(rows, indent = 4) {
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) out(`${" ".repeat(indent)}${k.padEnd(width)}  ${v}`.trimEnd());
}

/** A paragraph wrapped to the page width. */
function prose(text, indent = 2) {
  const words = text.split(/\s+/).filter(Boolean);
  let line = "";
  for (const w of words) {
    if (line && indent + line.length + 1 + w.length > WIDTH) {
      out(" ".repeat(indent) + line);
      line = w;
    } else {
      line = line ? `${line} ${w}` : w;
    }
  }
  if (line) out(" ".repeat(indent) + line);
}

const abbrev = (token) => (typeof token === "string" && token.length > 12 ? `${token.slice(0, 12)}…` : String(token));
const TOKEN_FIELDS = new Set(["subject_token", "actor_token", "access_token", "refresh_token", "id_token"]);
const shortUri = (uri) => uri.replace("urn:ietf:params:oauth:", "urn:…:");

/** Human labels for ids (users, clients) and targets, for display only. */
const labels = new Map();
const label = (value) => labels.get(value) ?? value;
const withLabel = (value) => (labels.has(value) ? `${value}  (${labels.get(value)})` : String(value));

function claimRows(payload, now) {
  const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  return [
    ["iss", payload.iss],
    ["sub", withLabel(payload.sub)],
    ["aud", aud.map(withLabel).join(", ")],
    ["scope", payload.scope ?? "-"],
    ["client_id", withLabel(payload.client_id)],
    ...actRows(payload.act),
    ["exp", `${payload.exp}  (${new Date(payload.exp * 1000).toISOString()}, in ${payload.exp - now} s)`],
  ];
}

/** The `act` claim as nested rows: the newest actor first, its `act` indented below. */
function actRows(act, depth = 0) {
  const pad = "  ".repeat(depth);
  if (!act) return [[`${pad}act`, "- (none)"]];
  const rows = [[`${pad}act`, ""]];
  // sub first, the nested act last, whatever order the token has them in.
  const order = (k) => (k === "sub" ? 0 : k === "act" ? 2 : 1);
  for (const [k, v] of Object.entries(act).sort(([a], [b]) => order(a) - order(b))) {
    if (k === "act") rows.push(...actRows(v, depth + 1).map(([rk, rv]) => [`  ${rk}`, rv]));
    else rows.push([`${pad}  ${k}`, typeof v === "string" ? withLabel(v) : JSON.stringify(v)]);
  }
  return rows;
}

/** A client's metadata as printed rows: the policy one member a line, ids as labels. */
function metadataRows(metadata, notes = {}) {
  const show = (v) => JSON.stringify(v, (_k, x) => (typeof x === "string" && labels.has(x) ? `<${labels.get(x)}>` : x));
  const rows = [];
  for (const [k, v] of Object.entries(metadata)) {
    if (k !== "tokenExchange") {
      rows.push(["", `metadata.${k} = ${show(v)}${k === "allowedTokenExchange" ? "   (TX-11 opt-in)" : ""}`]);
      continue;
    }
    for (const [pk, pv] of Object.entries(v)) {
      const line = `metadata.tokenExchange.${pk} = ${show(pv)}`;
      rows.push(["", notes[pk] ? `${line.padEnd(62)}  ${notes[pk]}` : line]);
    }
  }
  if (!("tokenExchange" in metadata)) rows.push(["", "(no tokenExchange policy: the defaults)"]);
  return rows;
}

// ---------------------------------------------------------- verification --

class DemoFailure extends Error {}

/** Stops before decoding when an exchange that should issue a token did not. */
function mustIssue(step, r) {
  if (r.status === 200 && typeof r.body?.access_token === "string") return;
  throw new DemoFailure(`${step}: expected HTTP 200 with an access_token\n  actual:   HTTP ${r.status} ${JSON.stringify(r.body)}`);
}

/** Prints one check and throws when it does not hold. */
const checks = () => out("  checks");

function check(step, what, actual, expected) {
  if (isDeepStrictEqual(actual, expected)) {
    out(`    ok  ${what}`);
    return;
  }
  out(`    ✗   ${what}`);
  throw new DemoFailure(
    `${step}: ${what}\n  expected: ${JSON.stringify(expected)}\n  actual:   ${JSON.stringify(actual)}`,
  );
}

// ------------------------------------------------------------------ demo --

let server;
let resourceAs; // step 7's second server
let exitCode = 0;
try {
  await main();
} catch (error) {
  exitCode = 1;
  out();
  out(rule("!"));
  if (error instanceof DemoFailure) out(`DEMO FAILED at ${error.message}`);
  else out(`DEMO FAILED: ${error?.stack ?? error}`);
  out(rule("!"));
} finally {
  for (const [name, running] of [["server", server], ["second server", resourceAs]]) {
    if (!running) continue;
    await running.stop();
    out();
    out(`${name} stopped; its temporary directory (SQLite database) removed`);
  }
}
process.exitCode = exitCode;

async function main() {
  heading("RFC 8693 token exchange on a real better-auth server");

  let plannerId; // read by customAccessTokenClaims, set once the user exists
  server = await startServer({
    provider: {
      scopes: SCOPES,
      // Alice's tokens for the agent platform name the one agent that may act for her.
      customAccessTokenClaims: ({ resources }) =>
        resources?.includes(AGENTS) && plannerId ? { may_act: { sub: plannerId } } : {},
    },
  });
  const s = server;
  table([
    ["server", `${s.origin} (loopback, random port)`],
    ["issuer", s.issuer],
    ["token endpoint", `${s.base}/oauth2/token`],
    ["database", `SQLite file ${s.db.name}`],
    ["plugins", "jwt, @better-auth/oauth-provider, token-exchange (built package)"],
  ]);

  // ---- setup
  subheading("Setup (through better-auth's admin API)");
  for (const [id, name] of [[API_A, "API A"], [API_B, "API B"], [AGENTS, "agent platform"]]) {
    await s.createResource(id);
    labels.set(id, name);
  }

  const alice = await s.signUp("alice@example.com", "Alice");
  const planner = await s.signUp("planner@agents.example", "Planner agent");
  const tool = await s.signUp("tool@agents.example", "Tool agent");
  plannerId = planner.user.id;
  labels.set(alice.user.id, "alice");
  labels.set(planner.user.id, "planner agent");
  labels.set(tool.user.id, "tool agent");

  const bffMetadata = { allowedTokenExchange: true };
  const BFF = await s.createClient("BFF", {
    scope: "openid profile email a:read b:read b:write",
    metadata: bffMetadata,
  });
  labels.set(BFF.client_id, "bff");
  await s.link(BFF, [API_A, API_B, AGENTS]);

  const agentPolicy = {
    holderBinding: { clients: [BFF.client_id] },
    impersonation: false,
    delegation: true,
    maxDelegationDepth: 2,
  };
  const agentMetadata = { allowedTokenExchange: true, tokenExchange: agentPolicy };
  const AGENT = await s.createClient("Agent runtime", {
    scope: "openid profile a:read b:read",
    metadata: agentMetadata,
  });
  labels.set(AGENT.client_id, "agent");
  await s.link(AGENT, [API_A, API_B]);

  out("  resources (RFC 8707 identifiers)");
  table([
    ["API A", API_A],
    ["API B", API_B],
    ["agent platform", `${AGENTS}  (its tokens carry may_act, see step 4)`],
  ]);
  out("  users");
  table([
    ["alice", `${alice.user.id}  alice@example.com`],
    ["planner agent", `${planner.user.id}  planner@agents.example (service account)`],
    ["tool agent", `${tool.user.id}  tool@agents.example (service account)`],
  ]);
  out("  clients (confidential, client_secret_basic, grant types authorization_code,");
  out("           refresh_token, token-exchange)");
  table([
    ["bff", `${BFF.client_id}`],
    ["", `scope    ${BFF.scope}`],
    ["", `linked   API A, API B, agent platform`],
    ...metadataRows(bffMetadata),
    ["agent", `${AGENT.client_id}`],
    ["", `scope    ${AGENT.scope}`],
    ["", `linked   API A, API B`],
    ...metadataRows(agentMetadata, {
      holderBinding: "TX-26: may exchange tokens held by the bff (step 2)",
      impersonation: "TX-43: delegation only",
      maxDelegationDepth: "TX-45: act chains at most 2 deep",
    }),
  ]);

  // ---- sign-in
  subheading("Alice signs in at the BFF (authorization_code + PKCE S256)");
  const login = await s.authorize(alice, BFF, { scope: "openid profile a:read b:read" });
  const aliceToken = login.access_token;
  table([
    ["scope", login.scope],
    ["access_token", `${abbrev(aliceToken)}  (opaque; the plugin validates it by lookup, TX-21)`],
    ["id_token", abbrev(login.id_token)],
    ["expires_in", `${login.expires_in} s`],
  ]);

  // What the BFF and the agent runtime know of the server: its discovery document.
  const discovery = await (await fetch(`${s.base}/.well-known/openid-configuration`)).json();

  /**
   * Sends one exchange with the package's BFF helper (`exchangeToken`, RFC
   * 8693 §2.1), prints request and response, and answers `{ status, body }`.
   */
  async function exchange(client, pairs) {
    out();
    out(`  request   exchangeToken → POST ${new URL(discovery.token_endpoint).pathname}   as ${label(client.client_id)} (HTTP Basic)`);
    table([["grant_type", shortUri(GRANT)], ...pairs.map(([k, v]) => [k, TOKEN_FIELDS.has(k) ? abbrev(v) : shortUri(v)])], 12);
    const all = (name) => pairs.filter(([k]) => k === name).map(([, v]) => v);
    const one = (name) => all(name)[0];
    const result = await exchangeToken({
      tokenEndpoint: discovery.token_endpoint,
      clientAuth: { method: "client_secret_basic", clientId: client.client_id, clientSecret: client.client_secret },
      subjectToken: one("subject_token"),
      subjectTokenType: one("subject_token_type"),
      ...(one("actor_token") ? { actorToken: one("actor_token"), actorTokenType: one("actor_token_type") } : {}),
      ...(all("resource").length ? { resource: all("resource") } : {}),
      ...(one("scope") ? { scope: one("scope") } : {}),
    });
    const r = result.ok ? { status: 200, body: result.token } : { status: result.error.status, body: result.error };
    out(`  response  HTTP ${r.status}`);
    const shown = result.ok ? r.body : { error: r.body.error, error_description: r.body.error_description };
    table(Object.entries(shown).map(([k, v]) => [k, TOKEN_FIELDS.has(k) ? abbrev(v) : typeof v === "string" ? shortUri(v) : JSON.stringify(v)]), 12);
    return r;
  }

  // Each API verifies what it receives with the package's resource-server
  // helper: signature with the server's published keys, iss, aud, typ at+jwt,
  // expiry, and the act chain, through the same engine as the exchange.
  const verifiers = new Map();
  const verifierFor = (api, extra = {}) => {
    const key = `${api} ${JSON.stringify(extra)}`;
    if (!verifiers.has(key)) {
      verifiers.set(key, createExchangedTokenVerifier({ issuer: discovery.issuer, audience: api, jwksUri: discovery.jwks_uri, ...extra }));
    }
    return verifiers.get(key);
  };

  /** The API `api` verifies the issued token (verifyExchangedToken) and prints what it learns. */
  async function issued(token, api) {
    const v = await verifierFor(api).verify(token);
    if (!v.ok) throw new DemoFailure(`${label(api)} refused the issued token: ${v.reason} (${v.description})`);
    const { alg, typ } = decodeProtectedHeader(token);
    out(`  ${label(api)} verifies it (verifyExchangedToken: ${alg}, typ ${typ}, keys from ${discovery.jwks_uri})`);
    table(claimRows(v.claims, Math.floor(Date.now() / 1000)), 12);
    const chain = v.chain.map((a) => label(a.sub)).join(" < ");
    table([["actor (current)", v.actor ? withLabel(v.actor.sub) : "- (none: impersonation)"], ["chain", chain || "-"]], 12);
    return v.claims;
  }

  const subject = (token) => [["subject_token", token], ["subject_token_type", TT.access]];
  const actor = (token) => [["actor_token", token], ["actor_token_type", TT.access]];
  const lastAudit = async () => (await s.records()).at(-1);


  // ---- step 1
  heading("Step 1  Impersonation: the BFF exchanges Alice's token for API A, then API B");
  prose(
    "Subject token only (RFC 8693 §1.1, TX-40). Each issued token names one API as its audience, carries " +
      "only the scope that API needs, keeps Alice as `sub` and has no `act`: the APIs see Alice.",
  );
  const byApi = {};
  const r1Tokens = {};
  for (const [step, api, scope] of [["1a", API_A, "a:read"], ["1b", API_B, "b:read"]]) {
    subheading(`${step}  for ${label(api)} (${api})`);
    const r = await exchange(BFF, [...subject(aliceToken), ["resource", api], ["scope", scope]]);
    mustIssue(`step ${step}`, r);
    const p = await issued(r.body.access_token, api);
    checks();
    check(`step ${step}`, "HTTP 200, issued_token_type access_token, token_type Bearer", [r.status, r.body.issued_token_type, r.body.token_type], [200, TT.access, "Bearer"]);
    check(`step ${step}`, "sub is alice", label(p.sub), "alice");
    check(`step ${step}`, `aud is ${label(api)}`, p.aud, api);
    check(`step ${step}`, `scope is ${scope}`, p.scope, scope);
    check(`step ${step}`, "client_id is the bff", label(p.client_id), "bff");
    check(`step ${step}`, "no act claim (impersonation)", p.act, undefined);
    byApi[step] = p;
    r1Tokens[step] = r.body.access_token;
  }
  out();
  out("  1a and 1b");
  check("step 1", "same sub (alice), different aud (API A vs API B), neither has act", [byApi["1a"].sub === byApi["1b"].sub, byApi["1a"].aud !== byApi["1b"].aud, "act" in byApi["1a"] || "act" in byApi["1b"]], [true, true, false]);

  // ---- step 2
  heading("Step 2  Delegation: the planner agent acts for Alice (actor token)");
  prose(
    "The agent client presents Alice's token as the subject and the planner agent's own token as the " +
      "actor (TX-41). The planner agent's token comes from its own sign-in at the agent client, so the " +
      "actor token is bound to the agent client like any other token.",
  );
  prose(
    "Holder binding (TX-26): Alice's token was issued to the bff, and by default only the bff (or a " +
      "client named in its aud) may exchange it. The agent client's metadata widens this explicitly " +
      "with tokenExchange.holderBinding = { clients: [<bff>] }; nothing is widened silently. The same " +
      "metadata limits the agent to delegation (impersonation: false) and to act chains of depth 2.",
  );
  subheading("the planner agent signs in at the agent client (code + PKCE)");
  const plannerToken = (await s.authorize(planner, AGENT, { scope: "profile" })).access_token;
  table([["actor token", `${abbrev(plannerToken)}  (opaque, issued to the agent client)`]]);
  subheading("2  agent: subject = Alice's token, actor = planner agent's token");
  const r2 = await exchange(AGENT, [
    ...subject(aliceToken),
    ...actor(plannerToken),
    ["resource", API_A],
    ["resource", API_B],
    ["scope", "a:read b:read"],
  ]);
  mustIssue("step 2", r2);
  const p2 = await issued(r2.body.access_token, API_A);
  checks();
  const act2 = { sub: planner.user.id, client_id: AGENT.client_id };
  check("step 2", "HTTP 200", r2.status, 200);
  check("step 2", "sub is still alice", label(p2.sub), "alice");
  check("step 2", "aud is API A and API B", p2.aud, [API_A, API_B]);
  check("step 2", "client_id is the agent", label(p2.client_id), "agent");
  check("step 2", "act = { sub: planner agent, client_id: agent }", p2.act, act2);

  // ---- step 3
  heading("Step 3  Second hop: the planner hands a narrower token to the tool agent");
  prose(
    "The token from step 2 (sub alice, act planner) becomes the subject; the tool agent's token is the " +
      "actor. The new actor goes outermost and the planner is nested inside it, so the chain reads " +
      "newest actor first (TX-41). Only the outermost act drives policy; the nested one is carried " +
      "for audit (TX-44). The target narrows to API B and the scope to b:read.",
  );
  subheading("the tool agent signs in at the agent client (code + PKCE)");
  const toolToken = (await s.authorize(tool, AGENT, { scope: "profile" })).access_token;
  table([["actor token", `${abbrev(toolToken)}  (opaque, issued to the agent client)`]]);
  subheading("3  agent: subject = step 2's token, actor = tool agent's token");
  const r3 = await exchange(AGENT, [
    ...subject(r2.body.access_token),
    ...actor(toolToken),
    ["resource", API_B],
    ["scope", "b:read"],
  ]);
  mustIssue("step 3", r3);
  const p3 = await issued(r3.body.access_token, API_B);
  checks();
  check("step 3", "HTTP 200", r3.status, 200);
  check("step 3", "sub is still alice", label(p3.sub), "alice");
  check("step 3", "aud is API B, scope b:read", [p3.aud, p3.scope], [API_B, "b:read"]);
  check("step 3", "act = { tool agent, act: { planner agent } } (newest outermost)", p3.act, {
    sub: tool.user.id,
    client_id: AGENT.client_id,
    act: act2,
  });
  const row3 = await lastAudit();
  check("step 3", "audit: actor tool agent, prior actors [planner agent]", [label(row3.actor), row3.priorActors.map((a) => label(a.sub))], ["tool agent", ["planner agent"]]);
  subheading("API B's own rules, in its verifier (verifyExchangedToken options)");
  prose(
    "A resource server can narrow who may act on it. Only the outermost act is the current actor (TX-44): " +
      "a verifier allowing only the planner refuses step 3's token, whose current actor is the tool agent; " +
      "one allowing one level of act refuses the two-level chain; one requiring an actor refuses step 1b's " +
      "impersonation token.",
  );
  const onlyPlanner = await verifierFor(API_B, { requireActor: true, allowedActors: [planner.user.id] }).verify(r3.body.access_token);
  const oneLevel = await verifierFor(API_B, { maxChainDepth: 1 }).verify(r3.body.access_token);
  const needsActor = await verifierFor(API_B, { requireActor: true }).verify(r1Tokens["1b"]);
  table([
    ["allowedActors [planner], step 3", onlyPlanner.ok ? "accepted" : `refused: ${onlyPlanner.error}, ${onlyPlanner.reason}`],
    ["maxChainDepth 1, step 3", oneLevel.ok ? "accepted" : `refused: ${oneLevel.error}, ${oneLevel.reason}`],
    ["requireActor, step 1b", needsActor.ok ? "accepted" : `refused: ${needsActor.error}, ${needsActor.reason}`],
  ]);
  checks();
  check("step 3", "allowedActors [planner agent]: refused, actor_not_allowed", [onlyPlanner.ok, onlyPlanner.reason], [false, "actor_not_allowed"]);
  check("step 3", "maxChainDepth 1: refused, act_chain_too_deep", [oneLevel.ok, oneLevel.reason], [false, "act_chain_too_deep"]);
  check("step 3", "requireActor on an impersonation token: refused, actor_required", [needsActor.ok, needsActor.reason], [false, "actor_required"]);

  // ---- step 4
  heading("Step 4  may_act refusal: Alice's token names the planner, the tool agent tries");
  prose(
    "Tokens Alice's BFF obtains for the agent platform carry may_act naming the one agent allowed to act " +
      "for her (RFC 8693 §4.4; this server adds it through oauth-provider's customAccessTokenClaims). Every member of may_act must match the actor token (TX-42); here the " +
      "actor is the tool agent, so the exchange is refused with invalid_request and audited.",
  );
  subheading("Alice's token for the agent platform (code + PKCE, resource)");
  const mayActToken = (await s.authorize(alice, BFF, { scope: "profile a:read b:read", resource: AGENTS })).access_token;
  const mayActClaims = decodeJwt(mayActToken);
  table([
    ["subject token", `${abbrev(mayActToken)}  (JWT)`],
    ["sub", withLabel(mayActClaims.sub)],
    ["aud", [mayActClaims.aud].flat().map(withLabel).join(", ")],
    ["client_id", withLabel(mayActClaims.client_id)],
    ["may_act", `{ sub: ${withLabel(mayActClaims.may_act?.sub)} }`],
  ]);
  check("step 4", "the subject token's may_act names the planner agent", mayActClaims.may_act, { sub: planner.user.id });
  subheading("4  agent: subject = that token, actor = tool agent's token");
  const r4 = await exchange(AGENT, [...subject(mayActToken), ...actor(toolToken), ["resource", API_A], ["scope", "a:read"]]);
  const row4 = await lastAudit();
  checks();
  check("step 4", "HTTP 400 invalid_request", [r4.status, r4.body?.error], [400, "invalid_request"]);
  check("step 4", "no token issued", r4.body?.access_token, undefined);
  check("step 4", "audit: refused, reason may_act_mismatch, actor tool agent", [row4.decision, row4.reason, label(row4.actor)], ["refused", "may_act_mismatch", "tool agent"]);

  // ---- step 5
  heading("Step 5  Scope escalation refusal: the BFF asks API B for b:write");
  prose(
    "The bff is registered for b:write, but Alice's token only carries profile a:read b:read. An exchange " +
      "never widens the subject token's scope (TX-31): asking for more is invalid_scope, never a silent " +
      "grant (TX-32).",
  );
  const r5 = await exchange(BFF, [...subject(aliceToken), ["resource", API_B], ["scope", "b:read b:write"]]);
  const row5 = await lastAudit();
  checks();
  check("step 5", "HTTP 400 invalid_scope", [r5.status, r5.body?.error], [400, "invalid_scope"]);
  check("step 5", "no token issued", r5.body?.access_token, undefined);
  check("step 5", "audit: refused, reason scope_not_allowed", [row5.decision, row5.reason], ["refused", "scope_not_allowed"]);

  // ---- step 6
  heading("Step 6  Revocation follows the chain");
  prose(
    "Every exchange opens its own session, a child of the subject token's session, and the issued " +
      "token carries it as sid. Revoking a token, its grant or its session ends every token exchanged " +
      "from it, hop after hop; tokens that do not descend from it stay active.",
  );
  const issuedTokens = [
    ["1a (bff, API A)", BFF, r1Tokens["1a"]],
    ["1b (bff, API B)", BFF, r1Tokens["1b"]],
    ["2  (agent, planner)", AGENT, r2.body.access_token],
    ["3  (agent, tool)", AGENT, r3.body.access_token],
  ];
  /** Introspection (RFC 7662) by the client each token was issued to. */
  const states = async () => {
    const rows = [];
    for (const [name, client, token] of issuedTokens) {
      rows.push([name, (await s.introspect(client, token)).body.active ? "active" : "inactive"]);
    }
    table([["token from step", "introspection"], ...rows], 4);
    return rows.map(([, state]) => state);
  };
  subheading("6a  the agent revokes step 2's token (RFC 7009), the token step 3 was exchanged from");
  const revoked = await s.revoke(AGENT, r2.body.access_token);
  out(`  response  HTTP ${revoked.status}`);
  const after6a = await states();
  checks();
  check("step 6a", "HTTP 200", revoked.status, 200);
  check("step 6a", "steps 2 and 3 inactive (two hops), steps 1a and 1b still active", after6a, ["active", "active", "inactive", "inactive"]);
  const local = await verifierFor(API_B).verify(r3.body.access_token);
  prose(
    "Introspection sees the revocation at once. A resource server that only verifies the JWT locally " +
      "(verifyExchangedToken) cannot: it accepts the token until it expires, so an API that must honour " +
      "revocation at once introspects (RFC 7662), or keeps its tokens short-lived.",
  );
  check("step 6a", "local verification of step 3's token still succeeds (until exp)", local.ok, true);
  subheading("6b  Alice signs out");
  const signOut = await fetch(`${s.base}/sign-out`, {
    method: "POST",
    headers: { cookie: alice.cookie, origin: s.origin, "content-type": "application/json" },
    body: "{}",
  });
  out(`  response  HTTP ${signOut.status}`);
  const after6b = await states();
  checks();
  check("step 6b", "HTTP 200", signOut.status, 200);
  check("step 6b", "every token exchanged from Alice's sign-in is inactive", after6b, ["inactive", "inactive", "inactive", "inactive"]);

  // ---- audit
  heading("Audit trail: the plugin's tokenExchange table (TX-60), oldest first");
  const rows = await s.records();
  const targets = (row) => [...(row.audiences ?? []), ...(row.resources ?? [])].map(label).join(", ") || "-";
  const chain = (row) => (row.actor ? [row.actor, ...(row.priorActors ?? []).map((a) => a.sub)].map(label).join(" < ") : "-");
  const grid = [
    ["step", "time (UTC)", "client", "subject", "actor (< prior)", "targets", "scope requested → granted", "decision", "reason", "revoked"],
    ...rows.map((row, i) => [
      ["1a", "1b", "2", "3", "4", "5"][i] ?? "?",
      row.createdAt.toISOString().slice(11, 19),
      label(row.clientId),
      label(row.subject),
      chain(row),
      targets(row),
      `${row.requestedScope ?? "(none)"} → ${row.grantedScope ?? "-"}`,
      row.decision,
      row.reason ?? "-",
      row.revokedAt ? row.revokedAt.toISOString().slice(11, 19) : "-",
    ]),
  ];
  const widths = grid[0].map((_, c) => Math.max(...grid.map((r) => r[c].length)));
  const line = (cells) => `  ${cells.map((cell, c) => cell.padEnd(widths[c])).join("  ")}`.trimEnd();
  out(line(grid[0]));
  out(line(widths.map((w) => "─".repeat(w))));
  for (const r of grid.slice(1)) out(line(r));
  out();
  out("  (names stand for the ids listed under Setup; the table holds no token values)");
  out();
  check(
    "audit",
    "one row per attempt: 4 granted, then may_act_mismatch and scope_not_allowed refusals",
    rows.map((r) => [label(r.clientId), r.decision, r.reason]),
    [
      ["bff", "granted", null],
      ["bff", "granted", null],
      ["agent", "granted", null],
      ["agent", "granted", null],
      ["agent", "refused", "may_act_mismatch"],
      ["bff", "refused", "scope_not_allowed"],
    ],
  );

  await crossAppAccess(s, discovery);

  heading("All steps behaved as expected");
}

/**
 * Step 7: cross-app access (ID-JAG, draft-ietf-oauth-identity-assertion-authz-grant;
 * MCP's enterprise-managed authorization). The demo's server is the
 * enterprise IdP; a second better-auth server with the plugin is the MCP
 * server's authorization server.
 */
async function crossAppAccess(idp, idpDiscovery) {
  heading("Step 7  Cross-app access (ID-JAG): from the IdP to an MCP server's authorization server");
  prose(
    "An MCP client holds Alice's ID token from the enterprise IdP (the server above). It exchanges it at " +
      "the IdP for an ID-JAG (RFC 8693, requested_token_type id-jag) naming a second authorization " +
      "server, the MCP server's, and redeems that there with the jwt-bearer grant (RFC 7523) for an access " +
      "token for the MCP server. No browser, no consent screen: the IdP's policy decides.",
  );
  const port = await freePort();
  const rasIssuer = `http://127.0.0.1:${port}/api/auth`;
  resourceAs = await startServer({
    port,
    provider: { scopes: [...SCOPES, MCP_SCOPE] },
    exchange: {
      trustedIssuers: [
        // The IdP, trusted for ID-JAGs only; its keys from its jwks_uri.
        { issuer: idp.issuer, jwksUri: idpDiscovery.jwks_uri, audiences: [rasIssuer], tokenTypes: ["id_jag"] },
      ],
    },
  });
  const ras = resourceAs;
  labels.set(ras.issuer, "MCP authorization server");
  labels.set(MCP, "MCP server");
  await ras.createResource(MCP);
  const rasMetadata = { allowedIdJag: true, tokenExchange: { trustedIssuers: [idp.issuer] } };
  const rasClient = await ras.createClient("MCP client", {
    grant_types: [JWT_BEARER],
    response_types: [],
    scope: MCP_SCOPE,
    metadata: rasMetadata,
  });
  await ras.link(rasClient, [MCP]);
  labels.set(rasClient.client_id, "mcp client (at the MCP AS)");
  const idpMetadata = {
    allowedTokenExchange: true,
    tokenExchange: {
      subjectTokenTypes: ["id_token"],
      requestedTokenTypes: ["id_jag"],
      idJag: { [ras.issuer]: { clientId: rasClient.client_id, scopes: [MCP_SCOPE], resources: [MCP] } },
    },
  };
  const idpClient = await idp.createClient("MCP client", { scope: "openid profile email", metadata: idpMetadata });
  labels.set(idpClient.client_id, "mcp client (at the IdP)");
  // Alice signed out in step 6; she signs in again. At the MCP AS she is a
  // user too, linked to her IdP identity (an account row).
  const alice = await idp.signIn("alice@example.com");
  const rasAlice = await ras.signUp("alice@example.com", "Alice");
  await ras.linkAccount(rasAlice, idp.issuer, alice.user.id);
  labels.set(rasAlice.user.id, "alice (at the MCP AS)");

  subheading("Setup");
  table([
    ["MCP authorization server", `${ras.issuer}  (a second better-auth server, SQLite)`],
    ["", `trustedIssuers  [{ issuer: <IdP>, tokenTypes: ["id_jag"], jwksUri: <IdP's jwks_uri> }]`],
    ["MCP server (resource)", MCP],
    ["mcp client at the MCP AS", rasClient.client_id],
    ["", `grant type jwt-bearer, scope ${MCP_SCOPE}, linked to the MCP server`],
    ...metadataRows(rasMetadata, { allowedIdJag: "opt-in, off by default" }),
    ["mcp client at the IdP", idpClient.client_id],
    ...metadataRows(idpMetadata, { tokenExchange: "which AS it may get ID-JAGs for, its client_id there, a scope ceiling" }),
    ["alice at the MCP AS", `${rasAlice.user.id}  (account linked to the IdP's ${alice.user.id})`],
  ]);

  subheading("7a  Alice's ID token at the IdP (code + PKCE, openid)");
  const idToken = (await idp.authorize(alice, idpClient, { scope: "openid profile email" })).id_token;
  table([["id_token", abbrev(idToken)]]);

  subheading("7b  the MCP client exchanges it at the IdP for an ID-JAG (exchangeToken)");
  const result = await exchangeToken({
    tokenEndpoint: idpDiscovery.token_endpoint,
    clientAuth: { method: "client_secret_basic", clientId: idpClient.client_id, clientSecret: idpClient.client_secret },
    subjectToken: idToken,
    subjectTokenType: "id_token",
    requestedTokenType: ID_JAG,
    audience: ras.issuer,
    resource: MCP,
    scope: MCP_SCOPE,
  });
  if (!result.ok) throw new DemoFailure(`step 7b: HTTP ${result.error.status} ${result.error.error}: ${result.error.error_description}`);
  const jag = result.token;
  out("  response  HTTP 200");
  table(Object.entries(jag).map(([k, v]) => [k, k === "access_token" ? abbrev(v) : typeof v === "string" ? shortUri(v) : JSON.stringify(v)]), 12);
  const jagClaims = decodeJwt(jag.access_token);
  out(`  the ID-JAG (header typ ${decodeProtectedHeader(jag.access_token).typ})`);
  table(claimRows(jagClaims, Math.floor(Date.now() / 1000)), 12);
  checks();
  check("step 7b", "issued_token_type id-jag, token_type N_A, no refresh token", [jag.issued_token_type, jag.token_type, jag.refresh_token], [ID_JAG, "N_A", undefined]);
  check("step 7b", "typ oauth-id-jag+jwt", decodeProtectedHeader(jag.access_token).typ, "oauth-id-jag+jwt");
  check("step 7b", "aud the MCP AS, client_id the client there, resource the MCP server", [jagClaims.aud, jagClaims.client_id, jagClaims.resource], [ras.issuer, rasClient.client_id, MCP]);
  check("step 7b", "sub alice (at the IdP), lifetime at most 5 minutes", [label(jagClaims.sub), jagClaims.exp - jagClaims.iat <= 300], ["alice", true]);

  subheading("7c  the MCP client redeems it at the MCP AS (jwt-bearer, @modelcontextprotocol/client)");
  const tokens = await exchangeJwtAuthGrant({
    tokenEndpoint: `${ras.base}/oauth2/token`,
    jwtAuthGrant: jag.access_token,
    clientId: rasClient.client_id,
    clientSecret: rasClient.client_secret,
  });
  table(Object.entries(tokens).map(([k, v]) => [k, k === "access_token" ? abbrev(v) : String(v)]), 12);
  const verified = await createExchangedTokenVerifier({ issuer: ras.issuer, audience: MCP, jwksUri: `${ras.base}/jwks` }).verify(tokens.access_token);
  if (!verified.ok) throw new DemoFailure(`step 7c: the MCP server refused the token: ${verified.reason}`);
  out("  the MCP server verifies it (verifyExchangedToken, the MCP AS's keys)");
  table(claimRows(verified.claims, Math.floor(Date.now() / 1000)), 12);
  checks();
  check("step 7c", "Bearer, no refresh token", [tokens.token_type, tokens.refresh_token], ["Bearer", undefined]);
  check("step 7c", "sub alice at the MCP AS, aud the MCP server, scope mcp:tools", [label(verified.claims.sub), verified.claims.aud, verified.claims.scope], ["alice (at the MCP AS)", MCP, MCP_SCOPE]);

  subheading("7d  the same ID-JAG a second time: its jti is used once");
  const replay = await ras.post("/oauth2/token", [["grant_type", JWT_BEARER], ["assertion", jag.access_token]], {
    authorization: ras.basicHeader(rasClient.client_id, rasClient.client_secret),
  });
  out(`  response  HTTP ${replay.status}`);
  table([["error", replay.body.error], ["error_description", replay.body.error_description]], 12);
  checks();
  check("step 7d", "HTTP 400 invalid_grant", [replay.status, replay.body.error], [400, "invalid_grant"]);

  subheading("audit, both servers (newest rows)");
  const idpRow = (await idp.records()).at(-1);
  const rasRows = await ras.records();
  table([
    ["IdP", `${label(idpRow.clientId)}  ${idpRow.decision}  requested ${shortUri(idpRow.requestedTokenType)} for ${label(idpRow.audiences[0])}`],
    ...rasRows.map((row) => ["MCP AS", `${label(row.clientId)}  ${row.decision}  ${row.reason ?? ""}  (grant ${shortUri(row.grantType)}, subject ${label(row.subject)})`.replace(/ {2,}\(/, "  (")]),
  ]);
  checks();
  check("step 7", "IdP: granted, an ID-JAG for the MCP AS", [idpRow.decision, idpRow.requestedTokenType, idpRow.audiences], ["granted", ID_JAG, [ras.issuer]]);
  check("step 7", "MCP AS: granted, then assertion_replayed", rasRows.map((r) => [r.decision, r.reason]), [["granted", null], ["refused", "assertion_replayed"]]);
}
