// The plugin's tables on each of better-auth's adapters: the suites run on
// whichever database TX_TEST_DB names (`make js-test`: Kysely on SQLite;
// `make pg-test`: Kysely and Drizzle on PostgreSQL; `make adapter-test`:
// the memory adapter and Drizzle on SQLite; helpers/server.mjs, DATABASES).
//
// - What is stored: the JSON and list columns (priorActors, act, audiences,
//   resources) hold JSON text that one JSON.parse turns into the value
//   (Drizzle's SQLite schema once encoded it twice), read with raw SQL
//   (better-sqlite3 on the file, the pg pool) or from the memory adapter's
//   store, with no adapter in between; the other columns hold plain values.
// - The audit API's pages: walking list-records two records at a time visits
//   exactly what one page of 200 lists, in the same order, through records
//   sharing one createdAt (the memory adapter compared instants with `===`,
//   which never holds for two Date objects).

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { admin } from "better-auth/plugins";
import { decodeJwt } from "jose";
import { actor, startServer, subject, TT } from "./helpers/server.mjs";

const DB = process.env.TX_TEST_DB || "sqlite";
const RES = "https://billing.api.example/";
const LIST = "/token-exchange/list-records";
const JSON_COLUMNS = ["priorActors", "act", "audiences", "resources"];
/** The adapter better-auth reports for each test database. */
const ADAPTER = {
  sqlite: "kysely",
  postgres: "kysely",
  memory: "memory",
  "drizzle-sqlite": "drizzle",
  "drizzle-pg": "drizzle",
};

let s, A, alice, agent1, agent2;
let hop1, hop2, impersonated; // issued tokens' bodies

before(async () => {
  s = await startServer({ extraPlugins: [admin()] });
  await s.setRole(s.admin, "admin");
  await s.createResource("billing");
  await s.createResource(RES);
  A = await s.createClient("A");
  await s.link(A, ["billing", RES]);
  alice = await s.signUp("alice@example.com", "Alice");
  agent1 = await s.signUp("agent1@example.com", "Agent One");
  agent2 = await s.signUp("agent2@example.com", "Agent Two");
  const tokenOf = async (who, scope = "profile orders:read") => (await s.authorize(who, A, { scope })).access_token;
  const ok = async (pairs) => {
    const r = await s.exchange(A, pairs);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };
  const t0 = await tokenOf(alice);
  // Two hops of delegation: the second record has a prior actor and a nested act.
  hop1 = await ok([...subject(t0), ...actor(await tokenOf(agent1, "profile")), ["audience", "billing"]]);
  hop2 = await ok([
    ...subject(hop1.access_token),
    ...actor(await tokenOf(agent2, "profile")),
    ["audience", "billing"],
    ["resource", RES],
  ]);
  impersonated = await ok([...subject(t0), ["resource", RES]]);
  const refused = await s.exchange(A, [...subject(t0), ["audience", "billing"], ["scope", "billing:read"]]);
  assert.equal(refused.status, 400, JSON.stringify(refused.body));
});

after(async () => {
  await s?.stop();
});

test(`the server runs on ${DB} (better-auth's ${ADAPTER[DB]} adapter)`, () => {
  assert.equal(s.dbKind, DB);
  assert.equal(s.context.adapter.id, ADAPTER[DB]);
});

describe(`stored values on ${DB}`, () => {
  /** The raw row of the audit record whose issued token carries `sid`, or of `match`. */
  async function rawRecord(match) {
    const rows = (await s.rawRows("tokenExchange")).filter(match);
    assert.equal(rows.length, 1, `one stored record matches (${rows.length})`);
    return rows[0];
  }
  /** The stored text of a JSON column, parsed once. */
  function parsedOnce(row, column) {
    const value = row[column];
    assert.equal(typeof value, "string", `${column} is stored as text, not ${typeof value}: ${JSON.stringify(value)}`);
    const parsed = JSON.parse(value);
    assert.equal(typeof parsed, "object", `${column}: one JSON.parse gives ${typeof parsed} (${value})`);
    assert.notEqual(parsed, null, column);
    return parsed;
  }
  /** A plain value: not JSON text (a quoted string, an array or an object spelled out). */
  function assertPlain(row, column) {
    const value = row[column];
    if (typeof value === "string") assert.doesNotMatch(value, /^["[{]/, `${column} holds JSON text: ${value}`);
  }
  const absent = (value) => value === null || value === undefined;

  test("a delegation's record: each JSON column parses with one JSON.parse into its value", async () => {
    const sid = decodeJwt(hop2.access_token).sid;
    const row = await rawRecord((r) => r.sessionId === sid && r.decision === "granted" && r.actor === agent2.user.id);
    const act = decodeJwt(hop2.access_token).act;
    assert.deepEqual(act, {
      sub: agent2.user.id,
      client_id: A.client_id,
      act: { sub: agent1.user.id, client_id: A.client_id },
    });
    assert.deepEqual(parsedOnce(row, "act"), act);
    const prior = parsedOnce(row, "priorActors");
    assert.ok(Array.isArray(prior));
    assert.deepEqual(
      prior.map((p) => p.sub),
      [agent1.user.id],
    );
    assert.deepEqual(parsedOnce(row, "audiences"), ["billing"]);
    assert.deepEqual(parsedOnce(row, "resources"), [RES]);
    // Read through the adapter, the columns come back as the same values.
    const viaAdapter = (await s.allRecords()).find((r) => r.id === row.id);
    for (const column of JSON_COLUMNS) assert.deepEqual(viaAdapter[column], JSON.parse(row[column]), column);
    for (const column of Object.keys(row)) if (!JSON_COLUMNS.includes(column)) assertPlain(row, column);
    assert.equal(row.subject, alice.user.id);
    assert.equal(row.actor, agent2.user.id);
  });

  test("an impersonation's record: empty lists are [] text, no act is NULL", async () => {
    const sid = decodeJwt(impersonated.access_token).sid;
    const row = await rawRecord((r) => r.sessionId === sid && r.decision === "granted" && absent(r.actor));
    assert.deepEqual(parsedOnce(row, "priorActors"), []);
    assert.deepEqual(parsedOnce(row, "audiences"), []);
    assert.deepEqual(parsedOnce(row, "resources"), [RES]);
    assert.ok(absent(row.act), `act is stored as ${JSON.stringify(row.act)}`);
    for (const column of Object.keys(row)) if (!JSON_COLUMNS.includes(column)) assertPlain(row, column);
  });

  test("a refusal's record: the same encoding", async () => {
    const row = await rawRecord((r) => r.decision === "refused" && r.reason === "scope_not_allowed");
    assert.deepEqual(parsedOnce(row, "audiences"), ["billing"]);
    assert.deepEqual(parsedOnce(row, "priorActors"), []);
    assert.ok(absent(row.act));
  });

  test("the delegation table: one row per delegation, plain values naming its session and parent", async () => {
    const records = (await s.rawRows("tokenExchange")).filter((r) => r.decision === "granted");
    const delegations = await s.rawRows("tokenExchangeDelegation");
    assert.ok(delegations.length >= 3, `${delegations.length} delegation rows`);
    for (const record of records) {
      const rows = delegations.filter((d) => d.key === record.delegationKey);
      assert.equal(rows.length, 1, `the delegation of record ${record.id}`);
      const [d] = rows;
      assert.equal(d.sessionId, record.sessionId);
      assert.equal(d.clientId, A.client_id);
      assert.equal(d.parentSessionId, record.parentSessionId);
      assert.equal(d.parentTokenHash, record.parentTokenHash);
      for (const column of Object.keys(d)) assertPlain(d, column);
    }
    // Hop 2 descends from hop 1's delegation.
    const sid1 = decodeJwt(hop1.access_token).sid;
    const sid2 = decodeJwt(hop2.access_token).sid;
    assert.equal(delegations.find((d) => d.sessionId === sid2).parentSessionId, sid1);
  });
});

describe(`audit pages on ${DB}`, () => {
  // Records sharing an instant, in groups larger than a page.
  const groups = [
    [new Date("2025-04-01T08:00:00.000Z"), 5],
    [new Date("2025-04-01T08:00:00.001Z"), 3],
    [new Date("2025-04-02T00:00:00.000Z"), 1],
    [new Date("2025-04-03T12:30:00.250Z"), 4],
    [new Date("2025-04-04T00:00:00.000Z"), 2],
  ];

  before(async () => {
    let i = 0;
    for (const [createdAt, n] of groups) {
      for (let k = 0; k < n; k++, i++) {
        await s.context.adapter.create({
          model: "tokenExchange",
          forceAllowId: true,
          data: {
            id: randomBytes(16).toString("hex"),
            createdAt,
            clientId: `seed-client-${i % 2}`,
            subject: `seed-user-${i % 3}`,
            priorActors: [],
            audiences: ["billing"],
            resources: [],
            subjectTokenType: TT.access,
            decision: i % 3 === 0 ? "refused" : "granted",
            error: i % 3 === 0 ? "invalid_scope" : null,
            reason: i % 3 === 0 ? "scope_not_allowed" : null,
            delegation: false,
          },
        });
      }
    }
  });

  async function list(query) {
    const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
    const r = await fetch(`${s.base}${LIST}?${qs}`, { headers: { cookie: s.admin.cookie } });
    const body = await r.json();
    assert.equal(r.status, 200, JSON.stringify(body));
    return body;
  }

  for (const [name, filter] of [
    ["every record", {}],
    ["granted records", { decision: "granted" }],
    ["one client's records", { clientId: "seed-client-0" }],
  ]) {
    test(`${name}: a walk with limit 2 visits exactly what one page of 200 lists, in its order`, async () => {
      const whole = await list({ ...filter, limit: 200 });
      assert.equal(whole.nextCursor, null, "everything fits in one page");
      const seen = [];
      const pages = [];
      let cursor;
      do {
        const page = await list({ ...filter, limit: 2, ...(cursor ? { cursor } : {}) });
        assert.ok(page.records.length <= 2);
        seen.push(...page.records);
        pages.push(page.records.length);
        cursor = page.nextCursor;
        assert.ok(pages.length <= whole.records.length + 1, "the walk ends");
      } while (cursor);
      assert.deepEqual(
        seen.map((r) => r.id),
        whole.records.map((r) => r.id),
      );
      assert.deepEqual(seen, whole.records);
      assert.equal(pages.length, Math.max(1, Math.ceil(whole.records.length / 2)));
      // Page boundaries fall between records of one instant.
      const cuts = pages.slice(0, -1).map((_, i) => 2 * (i + 1));
      assert.ok(
        cuts.some((at) => seen[at - 1].createdAt === seen[at]?.createdAt),
        "some page ends inside a group of records sharing a createdAt",
      );
      if (Object.keys(filter).length === 0) {
        const shared = groups.filter(([, n]) => n > 1).map(([t]) => t.toISOString());
        for (const instant of shared) {
          assert.ok(seen.filter((r) => r.createdAt === instant).length > 1, `records at ${instant}`);
        }
        assert.equal(seen.length, (await s.allRecords()).length, "every record of the table");
      }
    });
  }
});
