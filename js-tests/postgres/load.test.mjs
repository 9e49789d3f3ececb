// Load across two instances on one PostgreSQL database: 2,000 exchanges
// from 50 concurrent clients, each client alternating between the two
// instances, valid and invalid mixed:
//
// - no 5xx;
// - every answer is its own request's (no cross-talk): each issued token's
//   `sub`, `act`, `client_id`, `aud` and `scope` match that request's inputs,
//   and each refusal has the error its request earns;
// - exactly one audit record per request (TX-60), each naming its own
//   client, subject and actor, whichever instance wrote it.
//
// Half the clients present JWT subject tokens (verified with the signing
// keys each instance loads from the shared table), half opaque ones (looked
// up in the shared table).

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { decodeJwt } from "jose";
import { TT } from "../helpers/server.mjs";
import { startInstances } from "./instances.mjs";

const CLIENTS = 50;
const PER_CLIENT = 40; // 2,000 requests in all
const RES = "https://billing.api.example/";
const SCOPES = ["profile", "orders:read", "profile orders:read"];

let cluster;
const parties = []; // per client: { client, user, agent, subjectToken, actorToken, jwt }

/** Runs `work(i)` for i in [0, n) with at most `limit` at a time. */
async function pool(n, limit, work) {
  const out = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await work(i);
      }
    }),
  );
  return out;
}

before(async () => {
  cluster = await startInstances(2);
  const [one, two] = cluster.instances;
  await one.call("createResource", RES);
  // Set up through both instances, a few at a time.
  const made = await pool(CLIENTS, 4, async (i) => {
    const at = i % 2 ? two : one;
    const client = await at.call("createClient", `client-${i}`, i % 3 ? {} : { token_endpoint_auth_method: "client_secret_post" });
    await at.call("link", client, [RES]);
    const user = await at.call("signUp", `user-${i}@example.com`, `User ${i}`);
    const agent = await at.call("signUp", `agent-${i}@example.com`, `Agent ${i}`);
    const jwt = i % 2 === 0;
    const subjectToken = (await at.call("authorize", user, client, { scope: "profile orders:read", ...(jwt ? { resource: RES } : {}) })).access_token;
    const actorToken = (await at.call("authorize", agent, client, { scope: "profile" })).access_token;
    assert.equal(subjectToken.split(".").length, jwt ? 3 : 1);
    return { client, user, agent, subjectToken, actorToken, jwt };
  });
  parties.push(...made);
});

after(async () => {
  await cluster?.stop();
});

/**
 * Request `k` of client `i`: what it sends, where, and what its answer must
 * be. The kinds rotate so that every client sends each kind several times,
 * to both instances.
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
  const at = (i + k) % 2;
  const swap = (name, value) => base.map(([n, v]) => [n, n === name ? value : v]);
  switch (k % 8) {
    case 0:
    case 4:
      return { at, kind: "impersonation", pairs: base, status: 200, scope };
    case 1:
    case 5:
      return { at, kind: "delegation", pairs: [...base, ...actor], status: 200, scope, actor: true };
    case 2: // more than the subject token holds
      return { at, kind: "upscope", pairs: swap("scope", "profile billing:read"), status: 400, error: "invalid_scope", reason: "scope_not_allowed" };
    case 3: // the neighbour's token
      return { at, kind: "holder", pairs: swap("subject_token", other.subjectToken), status: 400, error: "invalid_request", reason: "token_holder_mismatch", neighbour: true };
    case 6:
      return { at, kind: "secret", pairs: base, secret: "wrong", status: 401, error: "invalid_client", reason: "client_authentication_failed" };
    default:
      return {
        at,
        kind: "garbage",
        pairs: swap("subject_token", `not-a-token-${i}-${k}`),
        status: 400,
        error: "invalid_request",
        reason: "token_inactive",
      };
  }
}

test("2,000 exchanges from 50 concurrent clients over two instances: each answer its own, no 5xx, one audit record each", async () => {
  const [one] = cluster.instances;
  const rowsBefore = await one.call("countRows", "tokenExchange");
  const results = await Promise.all(
    parties.map(async (me, i) => {
      const out = [];
      for (let k = 0; k < PER_CLIENT; k++) {
        const p = plan(i, k);
        const r = await cluster.instances[p.at].exchange(me.client, p.pairs, p.secret ? { secret: p.secret } : {});
        out.push({ i, k, p, r });
      }
      return out;
    }),
  );
  const all = results.flat();
  assert.equal(all.length, CLIENTS * PER_CLIENT);

  const statuses = {};
  const perInstance = [0, 0];
  for (const { i, k, p, r } of all) {
    const where = `client ${i} request ${k} (${p.kind}, instance ${p.at})`;
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    perInstance[p.at]++;
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
  assert.deepEqual(statuses, { 200: 1000, 400: 750, 401: 250 });
  assert.deepEqual(perInstance, [1000, 1000]);

  // Exactly one record per request, each with its own client and parties.
  assert.equal(await one.call("countRows", "tokenExchange"), rowsBefore + CLIENTS * PER_CLIENT);
  const rows = await one.call("allRecords");
  assert.equal(rows.length, rowsBefore + CLIENTS * PER_CLIENT);
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
        assert.deepEqual(row.act, row.delegation ? { sub: me.agent.user.id, client_id: me.client.client_id } : null, `client ${i}: act`);
      }
      if (row.reason === "token_holder_mismatch") {
        assert.equal(row.subject, parties[(i + 1) % CLIENTS].user.user.id, `client ${i}: the neighbour's token`);
      }
    }
    assert.deepEqual(actual, expected, `client ${i}: records by outcome`);
  }
});
