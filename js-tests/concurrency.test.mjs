// Concurrency: 1,000 exchanges from 50 clients at once against one server,
// valid and invalid mixed. The engine keeps no state between requests and
// the plugin holds none across an await; this checks it end to end:
//
// - every answer is the right one for its own request: each issued token's
//   `sub`, `act`, `client_id`, `aud` and `scope` match that request's inputs
//   (no cross-talk between concurrent requests);
// - no 5xx;
// - exactly one audit record per request, each naming its own client,
//   subject and actor.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { decodeJwt } from "jose";
import { startServer, TT } from "./helpers/server.mjs";

const CLIENTS = 50;
const PER_CLIENT = 20; // 1,000 requests in all
const RES = "https://billing.api.example/";
const SCOPES = ["profile", "orders:read", "profile orders:read"];

let s;
const parties = []; // per client: { client, user, agent, subjectToken, actorToken }

before(async () => {
  s = await startServer();
  await s.createResource(RES);
  for (let i = 0; i < CLIENTS; i++) {
    const client = await s.createClient(`client-${i}`, i % 2 ? { token_endpoint_auth_method: "client_secret_post" } : {});
    await s.link(client, [RES]);
    const user = await s.signUp(`user-${i}@example.com`, `User ${i}`);
    const agent = await s.signUp(`agent-${i}@example.com`, `Agent ${i}`);
    const subjectToken = (await s.authorize(user, client, { scope: "profile orders:read" })).access_token;
    const actorToken = (await s.authorize(agent, client, { scope: "profile" })).access_token;
    parties.push({ client, user, agent, subjectToken, actorToken });
  }
});

after(async () => {
  await s?.stop();
});

/**
 * The request number `k` of client `i`, and what its answer must be. The
 * kinds rotate so that every client sends each kind several times.
 */
function plan(i, k) {
  const me = parties[i];
  const other = parties[(i + 1) % CLIENTS];
  const scope = SCOPES[(i + k) % SCOPES.length];
  const base = [
    ["subject_token", me.subjectToken],
    ["subject_token_type", TT.access],
    ["resource", RES],
    ["scope", scope],
  ];
  const actor = [
    ["actor_token", me.actorToken],
    ["actor_token_type", TT.access],
  ];
  switch (k % 6) {
    case 0:
      return { kind: "impersonation", pairs: base, status: 200, scope };
    case 1:
      return { kind: "delegation", pairs: [...base, ...actor], status: 200, scope, actor: true };
    case 2: // more than the subject token holds
      return { kind: "upscope", pairs: base.map(([k2, v]) => [k2, k2 === "scope" ? "profile billing:read" : v]), status: 400, error: "invalid_scope", reason: "scope_not_allowed" };
    case 3: // the neighbour's token
      return {
        kind: "holder",
        pairs: base.map(([k2, v]) => [k2, k2 === "subject_token" ? other.subjectToken : v]),
        status: 400,
        error: "invalid_request",
        reason: "token_holder_mismatch",
      };
    case 4:
      return { kind: "secret", pairs: base, secret: "wrong", status: 401, error: "invalid_client", reason: "client_authentication_failed" };
    default:
      return {
        kind: "garbage",
        pairs: base.map(([k2, v]) => [k2, k2 === "subject_token" ? `not-a-token-${i}-${k}` : v]),
        status: 400,
        error: "invalid_request",
        reason: "token_inactive",
      };
  }
}

test("1,000 exchanges from 50 concurrent clients: each answer is its own, no 5xx, one audit record each", async () => {
  const before = await s.countRows();
  const results = await Promise.all(
    parties.map(async (me, i) => {
      const out = [];
      for (let k = 0; k < PER_CLIENT; k++) {
        const p = plan(i, k);
        const r = await s.exchange(me.client, p.pairs, p.secret ? { secret: p.secret } : {});
        out.push({ i, k, p, r });
      }
      return out;
    }),
  );
  const all = results.flat();
  assert.equal(all.length, CLIENTS * PER_CLIENT);

  const statuses = {};
  for (const { i, k, p, r } of all) {
    const where = `client ${i} request ${k} (${p.kind})`;
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    assert.ok(r.status < 500, `${where}: ${r.status} ${JSON.stringify(r.body)}`);
    assert.equal(r.status, p.status, `${where}: ${JSON.stringify(r.body)}`);
    if (p.status !== 200) {
      assert.equal(r.body.error, p.error, where);
      assert.equal(r.body.access_token, undefined, where);
      continue;
    }
    const me = parties[i];
    const claims = decodeJwt(r.body.access_token);
    assert.equal(claims.sub, me.user.user.id, `${where}: sub`);
    assert.equal(claims.client_id, me.client.client_id, `${where}: client_id`);
    assert.equal(claims.scope, p.scope, `${where}: scope`);
    assert.ok([claims.aud].flat().includes(RES), `${where}: aud`);
    assert.deepEqual(
      claims.act,
      p.actor ? { sub: me.agent.user.id, client_id: me.client.client_id } : undefined,
      `${where}: act`,
    );
  }
  assert.deepEqual(statuses, { 200: 400, 400: 450, 401: 150 });

  // Exactly one record per request, each with its own client and parties.
  const rows = (await s.allRecords()).slice(before);
  assert.equal(rows.length, CLIENTS * PER_CLIENT);
  const byClient = new Map(parties.map((p) => [p.client.client_id, []]));
  for (const row of rows) {
    assert.ok(byClient.has(row.clientId), `a record for an unknown client ${row.clientId}`);
    byClient.get(row.clientId).push(row);
  }
  for (const [i, me] of parties.entries()) {
    const mine = byClient.get(me.client.client_id);
    const expected = {};
    for (let k = 0; k < PER_CLIENT; k++) {
      const p = plan(i, k);
      const key = p.status === 200 ? `granted/${p.actor ? "delegation" : "impersonation"}` : `refused/${p.reason}`;
      expected[key] = (expected[key] ?? 0) + 1;
    }
    const actual = {};
    for (const row of mine) {
      const key = row.decision === "granted" ? `granted/${row.delegation ? "delegation" : "impersonation"}` : `refused/${row.reason}`;
      actual[key] = (actual[key] ?? 0) + 1;
      if (row.decision === "granted") {
        assert.equal(row.subject, me.user.user.id, `client ${i}: granted record's subject`);
        assert.equal(row.actor, row.delegation ? me.agent.user.id : null, `client ${i}: granted record's actor`);
      }
      if (row.reason === "token_holder_mismatch") {
        assert.equal(row.subject, parties[(i + 1) % CLIENTS].user.user.id, `client ${i}: the neighbour's token`);
      }
    }
    assert.deepEqual(actual, expected, `client ${i}: records by outcome`);
  }
});
