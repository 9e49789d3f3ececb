// A database written by release 0.1.0 (js-tests/fixtures/db-0.1.0.sql, with
// the tokens it holds in db-0.1.0.json: a two-hop chain of exchanged JWTs, an
// exchange of an opaque token with a refresh token, a delegation and a
// refusal) keeps working after better-auth's migrations add what this
// release needs (the delegations table, the records' delegationKey): its
// tokens introspect as before, its records are read by the audit API, new
// exchanges of its tokens are granted, and revocation follows the chains
// 0.1.0 recorded (one session per exchange, lineage in the records) as well
// as the new ones.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { startServer, subject } from "./helpers/server.mjs";

const fixture = JSON.parse(readFileSync(new URL("./fixtures/db-0.1.0.json", import.meta.url), "utf8"));
const dump = readFileSync(new URL("./fixtures/db-0.1.0.sql", import.meta.url), "utf8");
const port = Number(new URL(fixture.origin).port);
const { tokens } = fixture;

let s;
let admin;
// Filled once the admin (a user of the fixture) has signed in.
const adminUserIds = [];
const client = { ...fixture.client, token_endpoint_auth_method: "client_secret_basic" };

before(async () => {
  s = await startServer({
    port,
    seedAdmin: false,
    exchange: { auditApi: { adminUserIds } },
    // The database as 0.1.0 left it; its sessions are moved a year on (a
    // cookie limits them to 400 days), so that they are live whenever this runs.
    seed: (db) => {
      db.exec(dump);
      db.prepare('UPDATE "session" SET "expiresAt" = ?').run(new Date(Date.now() + 365 * 86400_000).toISOString());
    },
    provider: { accessTokenExpiresIn: 10 * 365 * 24 * 3600 },
  });
  assert.equal(s.issuer, fixture.issuer, "the issuer of the tokens the fixture holds");
  admin = s.admin;
  adminUserIds.push(admin.user.id);
});

after(async () => {
  await s?.stop();
});

const active = async (token) => (await s.introspect(client, token)).body;

test("0.1.0's tokens introspect as before, act included", async () => {
  for (const name of ["t0", "t1", "t2", "t1o", "d1"]) assert.equal((await active(tokens[name])).active, true, name);
  assert.deepEqual((await active(tokens.d1)).act, { sub: fixture.users.agent.id, client_id: client.client_id });
});

test("the audit API reads 0.1.0's records", async () => {
  const r = await fetch(`${s.base}/token-exchange/list-records?limit=200`, { headers: { cookie: admin.cookie } });
  assert.equal(r.status, 200, await r.clone().text());
  const { records } = await r.json();
  const old = records.filter((x) => x.delegationKey === null);
  assert.equal(old.length, fixture.records);
  assert.deepEqual(old.map((x) => x.decision).sort(), ["granted", "granted", "granted", "granted", "refused"]);
  const delegation = old.find((x) => x.delegation);
  assert.deepEqual(delegation.audiences, ["reports"]);
  assert.equal(delegation.act.sub, fixture.users.agent.id);
});

test("a token of 0.1.0 is exchanged again, in a delegation of this release", async () => {
  const r = await s.exchange(client, [...subject(tokens.t0), ["audience", "reports"]]);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const rows = await s.context.adapter.findMany({ model: "tokenExchangeDelegation" });
  assert.equal(rows.length, 1);
  assert.equal((await active(r.body.access_token)).sid, rows[0].sessionId);
});

test("revoking a token of 0.1.0 ends what 0.1.0 exchanged from it, and nothing else", async () => {
  assert.equal((await s.revoke(client, tokens.t1)).status, 200);
  assert.equal((await active(tokens.t1)).active, false);
  assert.equal((await active(tokens.t2)).active, false, "T2 was exchanged from T1 by 0.1.0");
  for (const name of ["t0", "t1o", "d1"]) assert.equal((await active(tokens[name])).active, true, name);
});

test("revoking 0.1.0's refresh token ends what was exchanged from its grant", async () => {
  assert.equal((await s.revoke(client, tokens.r0)).status, 200);
  assert.equal((await active(tokens.t1o)).active, false);
  assert.equal((await active(tokens.d1)).active, true);
});

test("signing out ends 0.1.0's chains and this release's together", async () => {
  const fresh = await s.exchange(client, [...subject(tokens.t0), ["audience", "billing"]]);
  assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
  await s.context.internalAdapter.deleteSession(fixture.aliceSessionToken);
  for (const token of [tokens.d1, fresh.body.access_token]) assert.equal((await active(token)).active, false);
  const records = await s.allRecords();
  const grantedOld = records.filter((x) => x.decision === "granted" && !x.delegationKey);
  assert.ok(grantedOld.every((x) => x.revokedAt), "every granted record of 0.1.0 is stamped revoked");
  assert.equal((await s.exchange(client, [...subject(tokens.t0), ["audience", "billing"]])).status, 400);
});
