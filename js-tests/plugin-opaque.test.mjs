// The plugin on a server whose access tokens are opaque (oauth-provider
// with `disableJwtPlugin`): the issued tokens are opaque too, and what they
// carry, `act` included, is reported at introspection (TX-53). The `act`
// claim is re-derived from the audit record the token's referenceId names.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { actor, startServer, storedHash, subject, TT } from "./helpers/server.mjs";

let s;
let A, R; // A: defaults; R: also accepts refresh tokens as subject tokens
let alice, agent1, agent2;


async function exchangeOk(client, pairs) {
  const r = await s.exchange(client, pairs);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.access_token.split(".").length, 1, "the issued token is opaque");
  return r.body;
}

before(async () => {
  s = await startServer({ useJwt: false });
  await s.createResource("billing");
  A = await s.createClient("A");
  R = await s.createClient("R", {
    metadata: {
      allowedTokenExchange: true,
      tokenExchange: { subjectTokenTypes: ["access_token", "refresh_token"] },
    },
  });
  await s.link(A, ["billing"]);
  await s.link(R, ["billing"]);
  alice = await s.signUp("alice@example.com", "Alice");
  agent1 = await s.signUp("agent1@example.com", "Agent One");
  agent2 = await s.signUp("agent2@example.com", "Agent Two");
});

after(async () => {
  await s?.stop();
});

test("TX-53: an opaque token issued by delegation reports act at introspection", async () => {
  const subj = (await s.authorize(alice, A, { scope: "profile orders:read" })).access_token;
  const act = (await s.authorize(agent1, A, { scope: "profile" })).access_token;
  const body = await exchangeOk(A, [...subject(subj), ...actor(act), ["audience", "billing"]]);
  assert.equal(body.issued_token_type, TT.access);
  const r = await s.introspect(A, body.access_token);
  assert.equal(r.status, 200);
  assert.deepEqual(
    [r.body.active, r.body.sub, r.body.client_id, r.body.scope, r.body.act],
    [true, alice.user.id, A.client_id, "profile orders:read", { sub: agent1.user.id, client_id: A.client_id }],
  );
  const record = (await s.records()).at(-1);
  assert.deepEqual(record.act, { sub: agent1.user.id, client_id: A.client_id });
});

test("TX-40, TX-53: an opaque token issued by impersonation reports no act", async () => {
  const subj = (await s.authorize(alice, A, { scope: "profile orders:read" })).access_token;
  const body = await exchangeOk(A, [...subject(subj), ["audience", "billing"], ["scope", "orders:read"]]);
  const r = await s.introspect(A, body.access_token);
  assert.deepEqual([r.body.active, r.body.sub, r.body.scope, r.body.act], [true, alice.user.id, "orders:read", undefined]);
});

test("TX-41, TX-21: an exchanged opaque token is itself a subject token; the chain nests", async () => {
  const subj = (await s.authorize(alice, A, { scope: "profile orders:read" })).access_token;
  const act1 = (await s.authorize(agent1, A, { scope: "profile" })).access_token;
  const act2 = (await s.authorize(agent2, A, { scope: "profile" })).access_token;
  const first = await exchangeOk(A, [...subject(subj), ...actor(act1), ["audience", "billing"]]);
  const second = await exchangeOk(A, [...subject(first.access_token), ...actor(act2), ["audience", "billing"]]);
  const r = await s.introspect(A, second.access_token);
  assert.deepEqual(r.body.act, {
    sub: agent2.user.id,
    client_id: A.client_id,
    act: { sub: agent1.user.id, client_id: A.client_id },
  });
  assert.equal(r.body.sub, alice.user.id);
});

test("TX-51: an opaque issued token expires no later than its opaque subject", async () => {
  const subj = (await s.authorize(alice, A, { scope: "profile orders:read" })).access_token;
  // The subject has two minutes left; the exchanged token would live an hour.
  await s.context.adapter.update({
    model: "oauthAccessToken",
    where: [{ field: "token", value: storedHash(subj) }],
    update: { expiresAt: new Date(Date.now() + 120_000) },
  });
  const subjectExp = (await s.introspect(A, subj)).body.exp;
  const body = await exchangeOk(A, [...subject(subj), ["audience", "billing"]]);
  const issued = (await s.introspect(A, body.access_token)).body;
  assert.ok(issued.exp <= subjectExp, `issued exp ${issued.exp} > subject exp ${subjectExp}`);
  assert.ok(issued.exp >= subjectExp - 3, `issued exp ${issued.exp} capped too hard (subject ${subjectExp})`);
  assert.equal(body.expires_at, issued.exp);
});

test("TX-21, TX-45: a refresh token is a subject token only where policy accepts it", async () => {
  const set = await s.authorize(alice, R, { scope: "profile orders:read offline_access" });
  assert.ok(set.refresh_token, "the authorization gave a refresh token");
  const body = await exchangeOk(R, [...subject(set.refresh_token, TT.refresh), ["audience", "billing"]]);
  const issued = (await s.introspect(R, body.access_token)).body;
  assert.deepEqual([issued.sub, issued.scope], [alice.user.id, "profile orders:read"]);
  assert.equal(body.refresh_token, undefined);

  const other = await s.authorize(alice, A, { scope: "profile offline_access" });
  const refused = await s.exchange(A, [...subject(other.refresh_token, TT.refresh), ["audience", "billing"]]);
  assert.deepEqual([refused.status, refused.body.error], [400, "invalid_request"]);
  assert.equal((await s.records()).at(-1).reason, "token_type_not_accepted");

  // A refresh token presented as an access token is not found as one.
  const mistyped = await s.exchange(R, [...subject(set.refresh_token, TT.access), ["audience", "billing"]]);
  assert.deepEqual([mistyped.status, mistyped.body.error], [400, "invalid_request"]);
  assert.equal((await s.records()).at(-1).reason, "token_inactive");
});
