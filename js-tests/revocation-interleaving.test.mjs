// A sign-out and an exchange of the same delegation interleaved at one
// chosen point, on whichever database TX_TEST_DB names: the exchange's
// opaque access token is inserted after the sign-out revoked the tokens of
// the delegation's session and before it deleted that session.
// (plugin-revocation.test.mjs races 40 exchanges against a sign-out and
// hits this point only now and then, on PostgreSQL.)
//
// The interleaving is forced by wrapping the adapter's `create` and
// `updateMany` (the plugin and the provider reach the database through
// better-auth's context adapter): the token's insert waits until the
// revocation's update has run, and the revocation goes on (to the delete)
// once the insert is done.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startServer, storedHash, subject } from "./helpers/server.mjs";

// On SQL databases the session's delete sets the token's sessionId to NULL
// (the provider's foreign key, ON DELETE SET NULL), and the provider checks
// no session for a token without one: the revocation finds such a token by
// its referenceId (the delegation's latest records) after the delete. The
// memory adapter keeps the sessionId, so the missing session ends it too.

let s, BFF;

before(async () => {
  s = await startServer({ useJwt: false });
  await s.createResource("billing");
  BFF = await s.createClient("BFF");
  await s.link(BFF, ["billing"]);
});

after(async () => {
  await s?.stop();
});

const within = (promise, what) =>
  Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} did not happen`)), 5000)),
  ]);

test("an exchange whose token is stored while a sign-out ends its delegation: the token is inactive after the sign-out", async () => {
  const who = await s.signUp("alice@example.com");
  const t0 = (await s.authorize(who, BFF, { scope: "profile orders:read" })).access_token;
  // The delegation opens; the next exchange of it reuses its session.
  const first = await s.exchange(BFF, [...subject(t0), ["audience", "billing"]]);
  assert.equal(first.status, 200, JSON.stringify(first.body));

  const adapter = s.context.adapter;
  const original = { create: adapter.create, updateMany: adapter.updateMany };
  let tokensRevoked, tokenStored;
  const revokedSeen = new Promise((resolve) => (tokensRevoked = resolve));
  const storedSeen = new Promise((resolve) => (tokenStored = resolve));
  const steps = [];
  adapter.create = async function (input) {
    if (input.model !== "oauthAccessToken") return original.create.call(this, input);
    await within(revokedSeen, "the revocation of the session's tokens");
    try {
      return await original.create.call(this, input);
    } finally {
      steps.push("token stored");
      tokenStored();
    }
  };
  adapter.updateMany = async function (input) {
    const answer = await original.updateMany.call(this, input);
    if (input.model === "oauthAccessToken" && input.where?.some((w) => w.field === "sessionId")) {
      steps.push("session's tokens revoked");
      tokensRevoked();
      await within(storedSeen, "the exchange's token insert").catch(() => undefined);
    }
    return answer;
  };
  let exchanged, out;
  try {
    const exchange = s.exchange(BFF, [...subject(t0), ["audience", "billing"]]);
    // The exchange has planned (the sessions read live) and waits at its insert.
    await new Promise((resolve) => setTimeout(resolve, 50));
    out = await fetch(`${s.base}/sign-out`, {
      method: "POST",
      headers: { cookie: who.cookie, origin: s.origin, "content-type": "application/json" },
      body: "{}",
    });
    exchanged = await exchange;
  } finally {
    Object.assign(adapter, original);
  }
  assert.equal(out.status, 200);
  assert.deepEqual(steps, ["session's tokens revoked", "token stored"], "the interleaving happened");
  if (exchanged.status !== 200) {
    // Refusing the exchange is a correct answer too.
    assert.deepEqual([exchanged.status, exchanged.body.error], [400, "invalid_request"]);
    return;
  }
  const info = await s.introspect(BFF, exchanged.body.access_token);
  const row = await s.context.adapter.findOne({
    model: "oauthAccessToken",
    where: [{ field: "token", value: storedHash(exchanged.body.access_token) }],
  });
  assert.equal(
    info.body.active,
    false,
    `active after the sign-out; stored as ${JSON.stringify({ sessionId: row?.sessionId, revoked: row?.revoked })}`,
  );
});
