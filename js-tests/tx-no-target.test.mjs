// TX-9 over HTTP: a token-exchange request that names neither `audience`
// nor `resource`. Without `defaultTargets` it is granted as the provider
// grants a user's token requested without `resource`: an opaque access
// token with no audience, for the subject (TX-53), with every other rule of
// a grant (scope narrowing, the lifetime cap, may_act, the audit record,
// revocation). `defaultTargets` still apply when set. Only a client policy
// or the plugin option `requireTarget: true` refuses it (400
// `invalid_target`, reason `no_target`); a policy `requireTarget: false`
// overrides the option.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { decodeJwt } from "jose";
import { actor, startServer, subject, TT } from "./helpers/server.mjs";

const RES_ORDERS = "https://orders.api.example/"; // its access tokens live 300 s (TX-51)
const RES_MAYACT = "https://mayact.api.example/"; // its access tokens carry may_act (TX-42)
const RES_BILLING = "https://billing.api.example/";

/** An opaque token is one segment; a JWT three. */
const isOpaque = (token) => typeof token === "string" && token.length > 0 && !token.includes(".");

/** Asserts an OAuth error answer: status, error, a description, no token, no-store. */
function assertRefused(r, status, error) {
  assert.deepEqual({ status: r.status, error: r.body?.error }, { status, error }, JSON.stringify(r.body));
  assert.equal(typeof r.body.error_description, "string");
  assert.equal(r.body.access_token, undefined, "no token on a refusal");
  assert.equal(r.headers.get("cache-control"), "no-store");
}

describe("TX-9: no target, no defaultTargets, the default settings", () => {
  let s;
  let A, B, ANY, DEF, REQ, REQ_DEF;
  let users = 0;
  const mayAct = new Map(); // user id -> may_act claim of RES_MAYACT tokens

  before(async () => {
    s = await startServer({
      provider: {
        resources: [{ identifier: RES_ORDERS, name: "Orders", accessTokenTtl: 300 }],
        customAccessTokenClaims: ({ user, resources }) =>
          resources?.includes(RES_MAYACT) && mayAct.has(user?.id) ? { may_act: mayAct.get(user.id) } : {},
      },
    });
    for (const id of ["billing", RES_MAYACT, RES_BILLING]) await s.createResource(id);
    A = await s.createClient("A");
    B = await s.createClient("B");
    // Holder binding widened: ANY may exchange tokens issued to other clients (TX-26).
    ANY = await s.createClient("ANY", {
      metadata: { allowedTokenExchange: true, tokenExchange: { holderBinding: "any" } },
    });
    DEF = await s.createClient("DEF", {
      metadata: { allowedTokenExchange: true, tokenExchange: { defaultTargets: ["billing"] } },
    });
    REQ = await s.createClient("REQ", {
      metadata: { allowedTokenExchange: true, tokenExchange: { requireTarget: true } },
    });
    REQ_DEF = await s.createClient("REQ_DEF", {
      metadata: { allowedTokenExchange: true, tokenExchange: { requireTarget: true, defaultTargets: ["billing"] } },
    });
    for (const c of [A, B, ANY, DEF, REQ, REQ_DEF]) await s.link(c, ["billing", RES_ORDERS, RES_MAYACT, RES_BILLING]);
  });

  after(async () => {
    await s?.stop();
  });

  const newUser = () => s.signUp(`user${++users}@example.com`);
  const lastRecord = async () => (await s.allRecords()).at(-1);

  test("TX-9, TX-40, TX-53, TX-60: impersonation without a target: an opaque token with no audience, for the subject", async () => {
    const alice = await newUser();
    const subj = (await s.authorize(alice, A, { scope: "profile orders:read" })).access_token;
    const before = await s.countRows();
    const r = await s.exchange(A, subject(subj));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.headers.get("cache-control"), "no-store");
    assert.ok(isOpaque(r.body.access_token), `an opaque access token: ${r.body.access_token}`);
    assert.equal(r.body.issued_token_type, TT.access);
    assert.equal(r.body.token_type, "Bearer");
    assert.equal(r.body.scope, "profile orders:read");
    assert.ok(r.body.expires_in > 0 && r.body.expires_in <= 3600, `expires_in ${r.body.expires_in}`);
    assert.equal(r.body.refresh_token, undefined);
    assert.equal(r.body.id_token, undefined);

    const info = (await s.introspect(A, r.body.access_token)).body;
    assert.equal(info.active, true, JSON.stringify(info));
    assert.equal(info.sub, alice.user.id);
    assert.equal(info.client_id, A.client_id);
    assert.equal(info.scope, "profile orders:read");
    assert.equal(typeof info.exp, "number");
    assert.ok(
      Math.abs(info.exp - r.body.expires_at) <= 1,
      `introspected exp ${info.exp}, answered ${r.body.expires_at}`,
    );
    assert.ok(
      info.aud === undefined || (Array.isArray(info.aud) && info.aud.length === 0),
      `no audience: ${JSON.stringify(info.aud)}`,
    );
    assert.equal(info.act, undefined, "impersonation adds no act");

    assert.equal(await s.countRows(), before + 1, "one audit record");
    const row = await lastRecord();
    assert.deepEqual(
      [
        row.decision,
        row.reason,
        row.clientId,
        row.subject,
        row.delegation,
        row.audiences,
        row.resources,
        row.grantedScope,
      ],
      ["granted", null, A.client_id, alice.user.id, false, [], [], "profile orders:read"],
    );
  });

  test("TX-9: a JWT subject token without a target gets an opaque token with no audience too", async () => {
    const alice = await newUser();
    const subj = (await s.authorize(alice, A, { scope: "profile orders:read", resource: RES_BILLING })).access_token;
    assert.equal(subj.split(".").length, 3, "the subject token is a JWT");
    const r = await s.exchange(A, subject(subj));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(isOpaque(r.body.access_token));
    const info = (await s.introspect(A, r.body.access_token)).body;
    assert.deepEqual([info.active, info.sub, info.client_id], [true, alice.user.id, A.client_id]);
    assert.ok(info.aud === undefined || info.aud.length === 0, JSON.stringify(info.aud));
  });

  test("TX-9, TX-41, TX-53: delegation without a target: introspection reports act and the exchanging client", async () => {
    const alice = await newUser();
    const agent = await newUser();
    // Issued to B; ANY's policy lets it exchange tokens of other clients.
    const subj = (await s.authorize(alice, B, { scope: "profile orders:read" })).access_token;
    const act = (await s.authorize(agent, ANY, { scope: "profile" })).access_token;
    const r = await s.exchange(ANY, [...subject(subj), ...actor(act), ["scope", "orders:read"]]);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(isOpaque(r.body.access_token));
    assert.equal(r.body.scope, "orders:read");
    const info = (await s.introspect(ANY, r.body.access_token)).body;
    assert.equal(info.active, true, JSON.stringify(info));
    assert.equal(info.sub, alice.user.id);
    assert.equal(info.client_id, ANY.client_id, "the exchanging client, not the subject token's");
    assert.deepEqual(info.act, { sub: agent.user.id, client_id: ANY.client_id });
    assert.equal(info.scope, "orders:read");
    assert.equal(typeof info.exp, "number");
    assert.ok(info.aud === undefined || info.aud.length === 0, JSON.stringify(info.aud));
    const row = await lastRecord();
    assert.deepEqual(
      [row.decision, row.delegation, row.subject, row.actor, row.clientId, row.audiences, row.resources],
      ["granted", true, alice.user.id, agent.user.id, ANY.client_id, [], []],
    );
  });

  test("TX-9, TX-31, TX-32: scope narrowing applies without a target; a wider scope is invalid_scope", async () => {
    const alice = await newUser();
    const subj = (await s.authorize(alice, A, { scope: "profile orders:read" })).access_token;
    const narrow = await s.exchange(A, [...subject(subj), ["scope", "orders:read"]]);
    assert.equal(narrow.status, 200, JSON.stringify(narrow.body));
    assert.equal(narrow.body.scope, "orders:read");
    assert.equal((await s.introspect(A, narrow.body.access_token)).body.scope, "orders:read");
    // A holds billing:read; the subject token does not.
    const wide = await s.exchange(A, [...subject(subj), ["scope", "orders:read billing:read"]]);
    assertRefused(wide, 400, "invalid_scope");
    assert.equal((await lastRecord()).reason, "scope_not_allowed");
  });

  test("TX-9, TX-51: the token without a target never outlives the subject token", async () => {
    const alice = await newUser();
    const subj = (await s.authorize(alice, A, { scope: "profile orders:read", resource: RES_ORDERS })).access_token;
    const subjectExp = decodeJwt(subj).exp;
    const r = await s.exchange(A, subject(subj));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(isOpaque(r.body.access_token));
    assert.ok(r.body.expires_in <= 300, `expires_in ${r.body.expires_in}`);
    const info = (await s.introspect(A, r.body.access_token)).body;
    assert.equal(info.active, true);
    assert.ok(info.exp <= subjectExp, `issued exp ${info.exp} > subject exp ${subjectExp}`);
    assert.ok(info.exp >= subjectExp - 5, `issued exp ${info.exp} capped too hard (subject ${subjectExp})`);
  });

  test("TX-9, TX-42: may_act applies without a target", async () => {
    const carol = await newUser();
    const agent = await newUser();
    const other = await newUser();
    mayAct.set(carol.user.id, { sub: agent.user.id });
    const subj = (await s.authorize(carol, A, { scope: "profile orders:read", resource: RES_MAYACT })).access_token;
    assert.deepEqual(decodeJwt(subj).may_act, { sub: agent.user.id });
    const good = (await s.authorize(agent, A, { scope: "profile" })).access_token;
    const r = await s.exchange(A, [...subject(subj), ...actor(good)]);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((await s.introspect(A, r.body.access_token)).body.act.sub, agent.user.id);
    const bad = (await s.authorize(other, A, { scope: "profile" })).access_token;
    const refused = await s.exchange(A, [...subject(subj), ...actor(bad)]);
    assertRefused(refused, 400, "invalid_request");
    const row = await lastRecord();
    assert.deepEqual([row.decision, row.reason, row.actor], ["refused", "may_act_mismatch", other.user.id]);
  });

  test("TX-9: signing out ends the token exchanged without a target; revoking it ends it too", async () => {
    const alice = await newUser();
    const subj = (await s.authorize(alice, A, { scope: "profile orders:read" })).access_token;
    const first = await s.exchange(A, subject(subj));
    const second = await s.exchange(A, [...subject(subj), ["scope", "profile"]]);
    for (const r of [first, second]) assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((await s.introspect(A, first.body.access_token)).body.active, true);

    // RFC 7009 by the client it was issued to.
    assert.equal((await s.revoke(A, second.body.access_token)).status, 200);
    assert.equal((await s.introspect(A, second.body.access_token)).body.active, false);

    const out = await fetch(`${s.base}/sign-out`, {
      method: "POST",
      headers: { cookie: alice.cookie, origin: s.origin, "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(out.status, 200);
    assert.equal((await s.introspect(A, first.body.access_token)).body.active, false, "the sign-out ended it");
    assert.equal((await s.introspect(A, subj)).body.active, false);
  });

  test("TX-9, TX-6: defaultTargets apply when set, and only then", async () => {
    const alice = await newUser();
    const subjDef = (await s.authorize(alice, DEF, { scope: "profile orders:read" })).access_token;
    const withDefaults = await s.exchange(DEF, subject(subjDef));
    assert.equal(withDefaults.status, 200, JSON.stringify(withDefaults.body));
    assert.equal(withDefaults.body.access_token.split(".").length, 3, "a JWT for the default (registered) resource");
    assert.equal(decodeJwt(withDefaults.body.access_token).aud, "billing");
    const row = await lastRecord();
    assert.deepEqual([...row.audiences, ...row.resources], ["billing"]);
    // A named target replaces the defaults.
    const named = await s.exchange(DEF, [...subject(subjDef), ["resource", RES_BILLING]]);
    assert.equal(named.status, 200, JSON.stringify(named.body));
    assert.equal(decodeJwt(named.body.access_token).aud, RES_BILLING);

    // The same request by a client without defaults: no audience.
    const subjA = (await s.authorize(alice, A, { scope: "profile orders:read" })).access_token;
    const without = await s.exchange(A, subject(subjA));
    assert.equal(without.status, 200, JSON.stringify(without.body));
    assert.ok(isOpaque(without.body.access_token));
  });

  test("TX-9: a client policy requireTarget: true refuses a target-less request with invalid_target no_target", async () => {
    const alice = await newUser();
    // The target-less request by a client without the setting is granted.
    const subjA = (await s.authorize(alice, A, { scope: "profile orders:read" })).access_token;
    const granted = await s.exchange(A, subject(subjA));
    assert.equal(granted.status, 200, JSON.stringify(granted.body));

    const subj = (await s.authorize(alice, REQ, { scope: "profile orders:read" })).access_token;
    const before = await s.countRows();
    const r = await s.exchange(REQ, subject(subj));
    assertRefused(r, 400, "invalid_target");
    assert.equal(await s.countRows(), before + 1, "one audit record");
    const row = await lastRecord();
    assert.deepEqual(
      [row.decision, row.error, row.reason, row.clientId],
      ["refused", "invalid_target", "no_target", REQ.client_id],
    );
    // With a target, the same client is granted; with defaultTargets, requireTarget is met.
    const named = await s.exchange(REQ, [...subject(subj), ["audience", "billing"]]);
    assert.equal(named.status, 200, JSON.stringify(named.body));
    const subjDef = (await s.authorize(alice, REQ_DEF, { scope: "profile orders:read" })).access_token;
    const defaults = await s.exchange(REQ_DEF, subject(subjDef));
    assert.equal(defaults.status, 200, JSON.stringify(defaults.body));
    assert.equal(decodeJwt(defaults.body.access_token).aud, "billing");
  });
});

describe("TX-9: the plugin option requireTarget: true", () => {
  let s;
  let A, OFF, DEF;

  before(async () => {
    s = await startServer({ exchange: { requireTarget: true } });
    await s.createResource("billing");
    A = await s.createClient("A");
    // Metadata `tokenExchange.requireTarget: false` overrides the option.
    OFF = await s.createClient("OFF", {
      metadata: { allowedTokenExchange: true, tokenExchange: { requireTarget: false } },
    });
    DEF = await s.createClient("DEF", {
      metadata: { allowedTokenExchange: true, tokenExchange: { defaultTargets: ["billing"] } },
    });
    for (const c of [A, OFF, DEF]) await s.link(c, ["billing"]);
  });

  after(async () => {
    await s?.stop();
  });

  test("TX-9: a target-less request is refused with invalid_target no_target; a client policy requireTarget: false overrides", async () => {
    const alice = await s.signUp("alice@example.com");
    const subjA = (await s.authorize(alice, A, { scope: "profile orders:read" })).access_token;
    const r = await s.exchange(A, subject(subjA));
    assertRefused(r, 400, "invalid_target");
    const row = (await s.allRecords()).at(-1);
    assert.deepEqual([row.decision, row.error, row.reason], ["refused", "invalid_target", "no_target"]);
    // A named target is granted as usual.
    const named = await s.exchange(A, [...subject(subjA), ["audience", "billing"]]);
    assert.equal(named.status, 200, JSON.stringify(named.body));

    const subjOff = (await s.authorize(alice, OFF, { scope: "profile orders:read" })).access_token;
    const off = await s.exchange(OFF, subject(subjOff));
    assert.equal(off.status, 200, JSON.stringify(off.body));
    assert.ok(isOpaque(off.body.access_token));
    const info = (await s.introspect(OFF, off.body.access_token)).body;
    assert.deepEqual([info.active, info.sub, info.client_id], [true, alice.user.id, OFF.client_id]);

    // defaultTargets meet the requirement.
    const subjDef = (await s.authorize(alice, DEF, { scope: "profile orders:read" })).access_token;
    const defaults = await s.exchange(DEF, subject(subjDef));
    assert.equal(defaults.status, 200, JSON.stringify(defaults.body));
    assert.equal(decodeJwt(defaults.body.access_token).aud, "billing");
  });
});
