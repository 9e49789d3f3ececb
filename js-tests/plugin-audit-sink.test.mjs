// The plugin with a custom audit sink (`options.audit`) instead of its
// table: the sink sees one record per attempt, a failing sink means no
// token (fail closed, TX-61), and opaque tokens still report `act` at
// introspection through their referenceId (TX-53).

import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";
import { startServer, subject, TT } from "./helpers/server.mjs";

const RES_DPOP = "https://dpop.api.example/"; // issuance needs a DPoP proof

let s;
let A;
let alice, agent;
const sunk = [];
let failing = false;


async function accessTokenRows() {
  return (await s.context.adapter.findMany({ model: "oauthAccessToken" })).length;
}

before(async () => {
  s = await startServer({
    useJwt: false,
    exchange: {
      audit: async (record) => {
        if (failing) throw new Error("the audit store is down");
        sunk.push(structuredClone(record));
      },
    },
  });
  await s.createResource("billing");
  await s.createResource(RES_DPOP, { dpopBoundAccessTokensRequired: true });
  A = await s.createClient("A");
  await s.link(A, ["billing", RES_DPOP]);
  alice = await s.signUp("alice@example.com", "Alice");
  agent = await s.signUp("agent@example.com", "Agent");
});

beforeEach(() => {
  sunk.length = 0;
  failing = false;
});

after(async () => {
  await s?.stop();
});

test("TX-60: the sink gets one record per attempt and the table stays empty", async () => {
  const subj = (await s.authorize(alice, A, { scope: "profile orders:read" })).access_token;
  const ok = await s.exchange(A, [...subject(subj), ["audience", "billing"]]);
  assert.equal(ok.status, 200);
  const refused = await s.exchange(A, [...subject(subj), ["audience", "billing"], ["scope", "billing:read"]]);
  assert.deepEqual([refused.status, refused.body.error], [400, "invalid_scope"]);
  assert.deepEqual(
    sunk.map((r) => [r.clientId, r.subject, r.decision, r.error, r.reason]),
    [
      [A.client_id, alice.user.id, "granted", null, null],
      [A.client_id, alice.user.id, "refused", "invalid_scope", "scope_not_allowed"],
    ],
  );
  assert.equal(typeof sunk[0].id, "string");
  assert.notEqual(sunk[0].id, sunk[1].id);
  assert.ok(sunk[0].createdAt instanceof Date);
  assert.ok(!JSON.stringify(sunk).includes(subj), "no token value in a record");
  assert.equal((await s.records()).length, 0);
});

test("TX-53: with a custom sink, opaque tokens still report act at introspection", async () => {
  const subj = (await s.authorize(alice, A, { scope: "profile orders:read" })).access_token;
  const act = (await s.authorize(agent, A, { scope: "profile" })).access_token;
  const r = await s.exchange(A, [
    ...subject(subj),
    ["actor_token", act],
    ["actor_token_type", TT.access],
    ["audience", "billing"],
  ]);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const introspection = await s.introspect(A, r.body.access_token);
  assert.deepEqual(
    [introspection.body.active, introspection.body.sub, introspection.body.act],
    [true, alice.user.id, { sub: agent.user.id, client_id: A.client_id }],
  );
  assert.deepEqual(sunk.at(-1).act, { sub: agent.user.id, client_id: A.client_id });
});

test("TX-61: when the audit record cannot be written, no token is issued (500 server_error)", async () => {
  const subj = (await s.authorize(alice, A, { scope: "profile orders:read" })).access_token;
  const tokens = await accessTokenRows();
  failing = true;
  const r = await s.exchange(A, [...subject(subj), ["audience", "billing"]]);
  assert.deepEqual(r.body, { error: "server_error", error_description: "the exchange could not be recorded" });
  assert.equal(r.status, 500);
  assert.equal(r.headers.get("cache-control"), "no-store");
  assert.equal(await accessTokenRows(), tokens, "no access token was stored");
  // Refusals fail closed the same way.
  const refused = await s.exchange(A, [...subject(subj), ["audience", "billing"], ["scope", "billing:read"]]);
  assert.deepEqual([refused.status, refused.body.error], [500, "server_error"]);
  assert.equal(sunk.length, 0);
});

test("TX-60: a failed issuance is reported to the sink again under the same id, as a refusal", async () => {
  const subj = (await s.authorize(alice, A, { scope: "profile orders:read" })).access_token;
  const r = await s.exchange(A, [...subject(subj), ["resource", RES_DPOP]]);
  assert.deepEqual([r.status, r.body.error], [400, "invalid_dpop_proof"]);
  assert.equal(sunk.length, 2);
  assert.equal(sunk[0].id, sunk[1].id);
  assert.deepEqual(
    sunk.map((x) => [x.decision, x.error, x.reason]),
    [
      ["granted", null, null],
      ["refused", "invalid_dpop_proof", "issuance_failed"],
    ],
  );
});
