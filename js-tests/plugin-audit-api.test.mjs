// The audit query API end to end: GET /token-exchange/list-records and
// /token-exchange/get-record on a real better-auth server (SQLite, over
// HTTP) with better-auth's admin plugin, and better-auth's own client with
// tokenExchangeClient() from the built package.
//
// Ground truth is the table itself, read through the adapter: each answer is
// compared with the rows a filter should select, in (createdAt, id) order,
// newest first. Records come from real exchanges (granted and refused, with
// and without an actor) and, where exact instants matter (time ranges,
// many records in one second), from rows written through the adapter.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

import { createAuthClient } from "better-auth/client";
import { admin } from "better-auth/plugins";
import { tokenExchange } from "better-auth-token-exchange";
import { tokenExchangeClient } from "better-auth-token-exchange/client";
import { actor, PASSWORD, startServer, subject, TT } from "./helpers/server.mjs";

const LIST = "/token-exchange/list-records";
const GET = "/token-exchange/get-record";

/** GET `path` with `params` (an object, or pairs to repeat a name) and an optional session cookie. */
async function call(s, path, params = {}, cookie) {
  const pairs = Array.isArray(params) ? params : Object.entries(params).map(([k, v]) => [k, String(v)]);
  const qs = new URLSearchParams(pairs).toString();
  const res = await fetch(`${s.base}${path}${qs ? `?${qs}` : ""}`, { headers: cookie ? { cookie } : {} });
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** Newest first, ties on createdAt broken by id (descending). */
function newestFirst(a, b) {
  const t = new Date(b.createdAt).getTime() - new Date(a.createdAt).getTime();
  return t !== 0 ? t : a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** The table, newest first, optionally filtered. */
async function truth(s, keep = () => true) {
  return (await s.allRecords()).filter(keep).sort(newestFirst);
}

const ids = (records) => records.map((r) => r.id);

/** Follows nextCursor to the end; `between(page)` runs between pages. */
async function walk(s, cookie, query = {}, between) {
  const seen = [];
  let cursor = null;
  let pages = 0;
  do {
    const r = await call(s, LIST, { ...query, ...(cursor ? { cursor } : {}) }, cookie);
    assert.equal(r.status, 200, r.text);
    seen.push(...r.body.records);
    cursor = r.body.nextCursor;
    pages += 1;
    assert.ok(pages < 500, "the walk does not end");
    if (cursor && between) await between(pages);
  } while (cursor);
  return { seen, pages };
}

/** A 400 with a message naming what was wrong, and nothing else in the body. */
function assertBadQuery(r, pattern) {
  assert.equal(r.status, 400, r.text);
  assert.deepEqual(Object.keys(r.body).sort(), ["code", "message"], r.text);
  assert.equal(r.body.code, "INVALID_QUERY");
  assert.match(r.body.message, pattern);
  assert.doesNotMatch(r.text, /\bat [\w.<>]+ \(|node_modules|\.js:\d+/, "no stack trace");
}

/** The session cookie of a sign-in response. */
function cookieOf(headers) {
  return headers
    .get("set-cookie")
    .split(/,(?=\s*[^;,]+=)/)
    .map((c) => c.split(";")[0].trim())
    .join("; ");
}

/** A user with a chosen id (for `adminUserIds`), signed in with a password. */
async function userWithId(s, id, email) {
  const now = new Date();
  await s.context.adapter.create({
    model: "user",
    data: { id, email, name: id, emailVerified: false, role: "user", createdAt: now, updatedAt: now },
    forceAllowId: true,
  });
  await s.context.internalAdapter.createAccount({
    userId: id,
    providerId: "credential",
    accountId: id,
    password: await s.context.password.hash(PASSWORD),
  });
  const r = await s.auth.api.signInEmail({ body: { email, password: PASSWORD }, returnHeaders: true });
  return { user: r.response.user, cookie: cookieOf(r.headers) };
}

const hexId = () => randomBytes(16).toString("hex");

/** A stored record of the table's shape, written through the adapter. */
async function seed(s, createdAt, i, extra = {}) {
  const refused = i % 3 === 0;
  const delegated = i % 4 === 0;
  const data = {
    id: hexId(),
    createdAt,
    clientId: `seed-client-${i % 3}`,
    subjectIss: "https://seed.example",
    subject: `seed-user-${i % 5}`,
    actorIss: delegated ? "https://seed.example" : null,
    actor: delegated ? `seed-agent-${i % 2}` : null,
    actorClientId: null,
    priorActors: [],
    audiences: ["billing"],
    resources: [],
    subjectTokenType: TT.access,
    actorTokenType: delegated ? TT.access : null,
    requestedScope: null,
    grantedScope: refused ? null : "profile",
    decision: refused ? "refused" : "granted",
    error: refused ? "invalid_scope" : null,
    reason: refused ? "scope_not_allowed" : null,
    delegation: delegated,
    act: null,
    expiresAt: null,
    ...extra,
  };
  await s.context.adapter.create({ model: "tokenExchange", data, forceAllowId: true });
  return data;
}

// ---------------------------------------------------------------------------
// Records from real exchanges; access rules; better-auth's client.

describe("records of real exchanges", () => {
  let s;
  let A, B, C;
  let alice, bob, agent1, agent2;
  let adminUser, plainUser, supportUser, multiRoleUser;
  const tokens = new Set();
  let started;

  const track = (body) => {
    for (const k of ["access_token", "refresh_token", "id_token"]) if (body?.[k]) tokens.add(body[k]);
    return body;
  };
  const tokenFor = async (who, client, scope = "profile orders:read") =>
    track(await s.authorize(who, client, { scope })).access_token;

  before(async () => {
    s = await startServer({ extraPlugins: [admin()] });
    started = Math.floor(Date.now() / 1000);
    await s.createResource("billing");
    A = await s.createClient("A");
    B = await s.createClient("B", { token_endpoint_auth_method: "client_secret_post" });
    C = await s.createClient("C");
    for (const c of [A, B, C]) await s.link(c, ["billing"]);
    alice = await s.signUp("alice@example.com", "Alice");
    bob = await s.signUp("bob@example.com", "Bob");
    agent1 = await s.signUp("agent1@example.com", "Agent One");
    agent2 = await s.signUp("agent2@example.com", "Agent Two");
    adminUser = s.admin;
    await s.setRole(adminUser, "admin");
    plainUser = await s.signUp("plain@example.com", "Plain");
    supportUser = await s.signUp("support@example.com", "Support");
    await s.setRole(supportUser, "support");
    multiRoleUser = await s.signUp("multi@example.com", "Multi");
    await s.setRole(multiRoleUser, "support, admin");

    const aliceAtA = await tokenFor(alice, A);
    const agent1AtA = await tokenFor(agent1, A, "profile");
    const bobAtB = await tokenFor(bob, B);
    const agent2AtB = await tokenFor(agent2, B, "profile");
    const agent1AtB = await tokenFor(agent1, B, "profile");
    const aliceAtC = await tokenFor(alice, C);
    const expect = async (client, pairs, status) => {
      const r = await s.exchange(client, pairs);
      assert.equal(r.status, status, JSON.stringify(r.body));
      track(r.body);
    };
    const billing = ["audience", "billing"];
    await expect(A, [...subject(aliceAtA), billing], 200); // impersonation
    await expect(A, [...subject(aliceAtA), ...actor(agent1AtA), billing], 200); // delegation
    await expect(A, [...subject(aliceAtA), billing, ["scope", "billing:read"]], 400); // invalid_scope
    await expect(B, [...subject(bobAtB), billing], 200);
    await expect(B, [...subject(bobAtB), ...actor(agent2AtB), billing], 200);
    await expect(B, [...subject(bobAtB), ...actor(agent1AtB), billing, ["scope", "billing:read"]], 400);
    await expect(C, [...subject(aliceAtC), ...actor(agent1AtA), billing, ["scope", "billing:read"]], 400);
    await expect(C, [...subject(aliceAtC), billing], 200);
    await expect(A, [...subject(aliceAtA), billing], 200);
    const wrong = await s.exchange(A, [...subject(aliceAtA), billing], { secret: "wrong" });
    assert.equal(wrong.status, 401);
  });

  after(async () => {
    await s?.stop();
  });

  test("the admin lists every record, newest first, with the stored fields and no token values", async () => {
    const all = await truth(s);
    assert.equal(all.length, 10);
    const r = await call(s, LIST, {}, adminUser.cookie);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get("cache-control"), "no-store");
    assert.deepEqual(ids(r.body.records), ids(all));
    assert.equal(r.body.nextCursor, null);
    // Every column of the table, nothing else; dates as ISO strings.
    const fields = s.auth.options.plugins.find((p) => p.id === "token-exchange").schema.tokenExchange.fields;
    const columns = ["id", ...Object.keys(fields)].sort();
    for (const record of r.body.records) assert.deepEqual(Object.keys(record).sort(), columns);
    const row = all.find((x) => x.actor === agent1.user.id && x.decision === "granted");
    const listed = r.body.records.find((x) => x.id === row.id);
    assert.deepEqual(listed, {
      ...row,
      createdAt: row.createdAt.toISOString(),
      expiresAt: row.expiresAt.toISOString(),
    });
    assert.equal(listed.actor, agent1.user.id);
    assert.deepEqual(listed.act, { sub: agent1.user.id, client_id: A.client_id });
    assert.ok(tokens.size >= 10);
    for (const token of tokens) assert.ok(!r.text.includes(token), "a token value is in the answer");
  });

  test("each filter alone selects exactly its records", async () => {
    const cases = [
      [{ subject: alice.user.id }, (x) => x.subject === alice.user.id],
      [{ subject: bob.user.id }, (x) => x.subject === bob.user.id],
      [{ actor: agent1.user.id }, (x) => x.actor === agent1.user.id],
      [{ actor: agent2.user.id }, (x) => x.actor === agent2.user.id],
      [{ clientId: A.client_id }, (x) => x.clientId === A.client_id],
      [{ clientId: C.client_id }, (x) => x.clientId === C.client_id],
      [{ decision: "granted" }, (x) => x.decision === "granted"],
      [{ decision: "refused" }, (x) => x.decision === "refused"],
      [{ subject: "nobody" }, () => false],
    ];
    const total = (await truth(s)).length;
    for (const [query, keep] of cases) {
      const expected = await truth(s, keep);
      if (query.subject !== "nobody") assert.ok(expected.length > 0 && expected.length < total, JSON.stringify(query));
      const r = await call(s, LIST, query, adminUser.cookie);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(ids(r.body.records), ids(expected), JSON.stringify(query));
    }
  });

  test("filters combine with AND", async () => {
    const cases = [
      [{ subject: alice.user.id, decision: "granted" }, (x) => x.subject === alice.user.id && x.decision === "granted"],
      [{ subject: alice.user.id, clientId: C.client_id }, (x) => x.subject === alice.user.id && x.clientId === C.client_id],
      [{ actor: agent1.user.id, decision: "refused" }, (x) => x.actor === agent1.user.id && x.decision === "refused"],
      [
        { subject: bob.user.id, actor: agent1.user.id, clientId: B.client_id, decision: "refused" },
        (x) => x.subject === bob.user.id && x.actor === agent1.user.id && x.clientId === B.client_id && x.decision === "refused",
      ],
      [{ subject: bob.user.id, clientId: A.client_id }, () => false],
    ];
    for (const [query, keep] of cases) {
      const expected = await truth(s, keep);
      const r = await call(s, LIST, query, adminUser.cookie);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(ids(r.body.records), ids(expected), JSON.stringify(query));
    }
    // The combinations above are not all trivially empty or full.
    const sizes = [];
    for (const [, keep] of cases) sizes.push((await truth(s, keep)).length);
    assert.ok(sizes.filter((n) => n > 0).length >= 3, String(sizes));
  });

  test("a time range bounds createdAt (inclusive), in ISO-8601 or epoch seconds", async () => {
    const all = await truth(s);
    const newest = all[0].createdAt;
    const sameSecond = all.filter((x) => x.createdAt.getTime() === newest.getTime());
    let r = await call(s, LIST, { from: newest.toISOString(), to: newest.getTime() / 1000 }, adminUser.cookie);
    assert.deepEqual(ids(r.body.records), ids(sameSecond));
    r = await call(s, LIST, { from: started - 5, to: Math.ceil(Date.now() / 1000) + 5 }, adminUser.cookie);
    assert.deepEqual(ids(r.body.records), ids(all));
    r = await call(s, LIST, { from: new Date(Date.now() + 3600_000).toISOString() }, adminUser.cookie);
    assert.deepEqual(r.body.records, []);
    r = await call(s, LIST, { to: started - 60 }, adminUser.cookie);
    assert.deepEqual(r.body.records, []);
  });

  test("pages walk every record exactly once while new exchanges arrive between pages", async () => {
    const before = await truth(s);
    const aliceAtA = await tokenFor(alice, A);
    const { seen, pages } = await walk(s, adminUser.cookie, { limit: 3 }, async (page) => {
      // A granted and a refused exchange after every page.
      const ok = await s.exchange(A, [...subject(aliceAtA), ["audience", "billing"]]);
      assert.equal(ok.status, 200);
      track(ok.body);
      const no = await s.exchange(A, [...subject(aliceAtA), ["audience", "billing"], ["scope", `billing:read`]]);
      assert.equal(no.status, 400, `page ${page}`);
    });
    assert.ok(pages >= 4, `pages: ${pages}`);
    const seenIds = ids(seen);
    assert.equal(new Set(seenIds).size, seenIds.length, "a record was listed twice");
    for (const id of ids(before)) assert.ok(seenIds.includes(id), `record ${id} was skipped`);
    // The walk is in (createdAt, id) order, newest first, whatever arrived meanwhile.
    assert.deepEqual(seenIds, ids([...seen].sort(newestFirst)));
    assert.ok((await truth(s)).length >= before.length + 2 * (pages - 1));
  });

  test("get-record answers one record by id; an unknown id is 404", async () => {
    const [newest] = await truth(s);
    const r = await call(s, GET, { id: newest.id }, adminUser.cookie);
    assert.equal(r.status, 200, r.text);
    const listed = await call(s, LIST, { limit: 1 }, adminUser.cookie);
    assert.deepEqual(r.body.record, listed.body.records[0]);
    const missing = await call(s, GET, { id: "0".repeat(32) }, adminUser.cookie);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, "RECORD_NOT_FOUND");
    assertBadQuery(await call(s, GET, {}, adminUser.cookie), /id is required/);
    assertBadQuery(await call(s, GET, { id: newest.id, subject: "x" }, adminUser.cookie), /unknown query parameter "subject"/);
    assertBadQuery(await call(s, GET, [["id", "a"], ["id", "b"]], adminUser.cookie), /id is given more than once/);
  });

  test("without a session: 401, before the query is even looked at", async () => {
    for (const [path, query] of [
      [LIST, {}],
      [LIST, { limit: "9999", bogus: "1" }],
      [GET, { id: "x" }],
    ]) {
      const r = await call(s, path, query);
      assert.equal(r.status, 401, `${path} ${r.text}`);
      assert.equal(r.body.code, "UNAUTHORIZED");
      assert.ok(!("records" in r.body));
    }
    const forged = await call(s, LIST, {}, "better-auth.session_token=forged.value");
    assert.equal(forged.status, 401);
  });

  test("a signed-in user without an admin role: 403 (list and get)", async () => {
    const [newest] = await truth(s);
    for (const who of [plainUser, supportUser, alice]) {
      for (const [path, query] of [
        [LIST, {}],
        [GET, { id: newest.id }],
        [LIST, { bogus: "1" }],
      ]) {
        const r = await call(s, path, query, who.cookie);
        assert.equal(r.status, 403, `${who.user.email} ${path}: ${r.text}`);
        assert.equal(r.body.code, "NOT_AUDIT_ADMIN");
        assert.ok(!r.text.includes(newest.id));
      }
    }
  });

  test("roles are comma-separated like the admin plugin's; a role change applies at once", async () => {
    assert.equal((await call(s, LIST, { limit: 1 }, multiRoleUser.cookie)).status, 200);
    await s.setRole(multiRoleUser, "support");
    assert.equal((await call(s, LIST, { limit: 1 }, multiRoleUser.cookie)).status, 403);
    await s.setRole(multiRoleUser, "admin,support");
    assert.equal((await call(s, LIST, { limit: 1 }, multiRoleUser.cookie)).status, 200);
    // A signed-out session no longer reads.
    const temp = await s.signUp("temp-admin@example.com", "Temp");
    await s.setRole(temp, "admin");
    assert.equal((await call(s, LIST, { limit: 1 }, temp.cookie)).status, 200);
    const out = await fetch(`${s.base}/sign-out`, { method: "POST", headers: { cookie: temp.cookie, origin: s.origin } });
    assert.equal(out.status, 200);
    assert.equal((await call(s, LIST, { limit: 1 }, temp.cookie)).status, 401);
  });

  test("bad query parameters: 400 naming the parameter", async () => {
    const c = adminUser.cookie;
    const cases = [
      [{ subjet: "x" }, /unknown query parameter "subjet"; known: subject, actor, clientId/],
      [[["subject", "a"], ["subject", "b"]], /subject is given more than once/],
      [{ subject: "" }, /subject is empty/],
      [{ actor: "a".repeat(3000) }, /actor is longer than 2048 characters/],
      [{ decision: "maybe" }, /decision must be "granted" or "refused"/],
      [{ decision: "GRANTED" }, /decision must be "granted" or "refused"/],
      [{ from: "yesterday" }, /from must be epoch seconds or an ISO-8601 date/],
      [{ from: "2026-05-01T10:00:00" }, /from must be .* with a zone/],
      [{ to: "2026-02-30" }, /to is not a valid date: 2026-02-30/],
      [{ to: "2026-13-01T00:00:00Z" }, /to is not a valid date/],
      [{ from: "2026-01-01T24:00:00Z" }, /from is not a valid date/],
      [{ from: "2026-01-01T00:00:00+25:00" }, /from has an invalid zone offset/],
      [{ from: "-5" }, /from must be epoch seconds/],
      [{ from: "99999999999999" }, /from must be epoch seconds|from is out of range/],
      [{ from: "1800000000", to: "1700000000" }, /from is later than to/],
      [{ limit: "0" }, /limit must be a whole number from 1 to 200/],
      [{ limit: "201" }, /limit must be a whole number from 1 to 200/],
      [{ limit: "-1" }, /limit must be a whole number from 1 to 200/],
      [{ limit: "1.5" }, /limit must be a whole number from 1 to 200/],
      [{ limit: "ten" }, /limit must be a whole number from 1 to 200/],
      [{ cursor: "not a cursor" }, /cursor is not one this endpoint gave out/],
      [{ cursor: Buffer.from('{"a":1}').toString("base64url") }, /cursor is not one this endpoint gave out/],
      [{ cursor: Buffer.from('[-1,"x"]').toString("base64url") }, /cursor is not one this endpoint gave out/],
      [{ cursor: Buffer.from("[1,2]").toString("base64url") }, /cursor is not one this endpoint gave out/],
    ];
    for (const [query, pattern] of cases) assertBadQuery(await call(s, LIST, query, c), pattern);
  });

  test("better-auth's client with tokenExchangeClient() gets the same data over HTTP", async () => {
    const authClient = createAuthClient({
      baseURL: s.origin,
      plugins: [tokenExchangeClient()],
      fetchOptions: { headers: { cookie: adminUser.cookie } },
    });
    const query = { subject: alice.user.id, decision: "granted" };
    const viaClient = await authClient.tokenExchange.listRecords({ query });
    assert.equal(viaClient.error, null);
    const viaHttp = await call(s, LIST, query, adminUser.cookie);
    // The client revives the wire's ISO strings into Dates.
    assert.ok(viaClient.data.records[0].createdAt instanceof Date);
    assert.deepEqual(JSON.parse(JSON.stringify(viaClient.data)), viaHttp.body);
    assert.ok(viaClient.data.records.length >= 2);

    // Paging through the client, with a number for `limit`.
    const all = await truth(s);
    const seen = [];
    let cursor;
    do {
      const page = await authClient.tokenExchange.listRecords({ query: { limit: 4, ...(cursor ? { cursor } : {}) } });
      assert.equal(page.error, null);
      seen.push(...page.data.records);
      cursor = page.data.nextCursor;
    } while (cursor);
    assert.deepEqual(ids(seen), ids(all));

    const one = await authClient.tokenExchange.getRecord({ query: { id: all[0].id } });
    assert.equal(one.data.record.id, all[0].id);

    const bad = await authClient.tokenExchange.listRecords({ query: { limit: 500 } });
    assert.equal(bad.data, null);
    assert.equal(bad.error.status, 400);
    assert.equal(bad.error.code, "INVALID_QUERY");

    const asPlainUser = createAuthClient({
      baseURL: s.origin,
      plugins: [tokenExchangeClient()],
      fetchOptions: { headers: { cookie: plainUser.cookie } },
    });
    const refused = await asPlainUser.tokenExchange.listRecords();
    assert.equal(refused.error.status, 403);
    assert.equal(refused.error.code, "NOT_AUDIT_ADMIN");
  });

  test("in-process auth.api calls answer the same records (with Date objects)", async () => {
    const headers = new Headers({ cookie: adminUser.cookie });
    const page = await s.auth.api.listTokenExchangeRecords({ headers, query: { limit: 2 } });
    const http = await call(s, LIST, { limit: 2 }, adminUser.cookie);
    assert.ok(page.records[0].createdAt instanceof Date);
    assert.deepEqual(JSON.parse(JSON.stringify(page)), http.body);
    await assert.rejects(s.auth.api.listTokenExchangeRecords({ headers: new Headers({ cookie: plainUser.cookie }) }), {
      status: "FORBIDDEN",
    });
  });
});

// ---------------------------------------------------------------------------
// Pagination and time ranges over rows with exact instants.

describe("pagination and time ranges", () => {
  let s;
  let cookie;
  const T = {
    t0: new Date("2025-03-01T00:00:00Z"),
    t1: new Date("2025-03-01T00:00:01Z"),
    t2: new Date("2025-03-02T12:00:00Z"),
    t3: new Date("2025-06-30T23:59:59Z"),
    t4: new Date("2025-07-01T00:00:00Z"),
    t5: new Date("2025-07-01T00:00:00.500Z"),
  };
  // Many records share an instant: pages must cut through them cleanly.
  const counts = { t0: 80, t1: 1, t2: 61, t3: 40, t4: 30, t5: 5 };

  before(async () => {
    s = await startServer({ extraPlugins: [admin()] });
    await s.setRole(s.admin, "admin");
    cookie = s.admin.cookie;
    let i = 0;
    for (const [name, n] of Object.entries(counts)) {
      for (let k = 0; k < n; k++) await seed(s, T[name], i++);
    }
  });

  after(async () => {
    await s?.stop();
  });

  test("the default page is 50; limit 200 is the largest", async () => {
    const all = await truth(s);
    assert.equal(all.length, 217);
    let r = await call(s, LIST, {}, cookie);
    assert.equal(r.body.records.length, 50);
    assert.deepEqual(ids(r.body.records), ids(all.slice(0, 50)));
    assert.equal(typeof r.body.nextCursor, "string");
    r = await call(s, LIST, { limit: 200 }, cookie);
    assert.deepEqual(ids(r.body.records), ids(all.slice(0, 200)));
    r = await call(s, LIST, { limit: 1 }, cookie);
    assert.deepEqual(ids(r.body.records), ids(all.slice(0, 1)));
  });

  for (const limit of [1, 7, 50, 80, 200]) {
    test(`limit ${limit}: the walk lists every record once, in order; the last page has no cursor`, async () => {
      const all = await truth(s);
      const { seen, pages } = await walk(s, cookie, { limit });
      assert.deepEqual(ids(seen), ids(all));
      assert.equal(pages, Math.ceil(all.length / limit));
    });
  }

  test("a filtered walk lists exactly the filtered records", async () => {
    const keep = (x) => x.decision === "refused" && x.clientId === "seed-client-0";
    const expected = await truth(s, keep);
    assert.ok(expected.length > 13);
    const { seen } = await walk(s, cookie, { decision: "refused", clientId: "seed-client-0", limit: 13 });
    assert.deepEqual(ids(seen), ids(expected));
    const actors = await truth(s, (x) => x.actor === "seed-agent-0");
    assert.deepEqual(ids((await walk(s, cookie, { actor: "seed-agent-0", limit: 6 })).seen), ids(actors));
  });

  test("records arriving during a walk neither repeat nor push older ones out", async () => {
    const before = await truth(s);
    let n = 1000;
    const { seen } = await walk(s, cookie, { limit: 9 }, async () => {
      // New records, as the plugin writes them: stamped with the current time.
      await seed(s, new Date(), n++);
      await seed(s, new Date(), n++, { decision: "refused" });
    });
    const seenIds = ids(seen);
    assert.equal(new Set(seenIds).size, seenIds.length);
    assert.deepEqual(seenIds, ids(before), "exactly the records that existed when the walk began");
  });

  test("from and to are inclusive and accept dates, date-times with zones, and epoch seconds", async () => {
    const between = (a, b) => (x) => x.createdAt >= a && x.createdAt <= b;
    const cases = [
      [{ from: T.t1.toISOString(), to: T.t3.toISOString() }, between(T.t1, T.t3)],
      [{ from: "2025-03-01T00:00:01Z", to: "2025-06-30T23:59:59Z" }, between(T.t1, T.t3)],
      [{ from: "2025-03-01T02:00:01+02:00", to: "2025-06-30T19:59:59-04:00" }, between(T.t1, T.t3)],
      [{ from: T.t1.getTime() / 1000, to: T.t3.getTime() / 1000 }, between(T.t1, T.t3)],
      [{ from: "2025-03-02", to: "2025-07-01" }, between(new Date("2025-03-02T00:00:00Z"), T.t4)],
      [{ from: "2025-07-01T00:00:00.5Z" }, (x) => x.createdAt >= T.t5],
      [{ from: "1751328000.5" }, (x) => x.createdAt >= T.t5],
      [{ to: "2025-03-01T00:00:00Z" }, (x) => x.createdAt <= T.t0],
      [{ to: "2025-03-01T00:00:00.999Z" }, (x) => x.createdAt <= T.t0],
      [{ from: T.t2.toISOString(), to: T.t2.toISOString() }, between(T.t2, T.t2)],
    ];
    // Records added by the walk above are newer than t5: every query here ends at t5 at the latest.
    for (const [query, keep] of cases) {
      const expected = await truth(s, (x) => keep(x) && x.createdAt <= T.t5);
      assert.ok(expected.length > 0, JSON.stringify(query));
      const { seen } = await walk(s, cookie, { to: T.t5.getTime() / 1000, ...query, limit: 37 });
      assert.deepEqual(ids(seen), ids(expected), JSON.stringify(query));
    }
  });

  test("a time range and a filter page together", async () => {
    const keep = (x) => x.subject === "seed-user-1" && x.createdAt >= T.t0 && x.createdAt <= T.t2;
    const expected = await truth(s, keep);
    assert.ok(expected.length > 5);
    const { seen } = await walk(s, cookie, { subject: "seed-user-1", from: "2025-03-01", to: T.t2.toISOString(), limit: 5 });
    assert.deepEqual(ids(seen), ids(expected));
  });
});

// ---------------------------------------------------------------------------
// Options: adminRoles, adminUserIds, the admin plugin's own settings, a
// custom audit sink, and the API switched off.

describe("access options", () => {
  test("auditApi.adminUserIds and auditApi.adminRoles (replacing the default admin role)", async () => {
    const s = await startServer({
      extraPlugins: [admin()],
      exchange: { auditApi: { adminUserIds: ["ops-lead-1"], adminRoles: "auditor, reviewer" } },
    });
    try {
      await seed(s, new Date(), 1);
      const lead = await userWithId(s, "ops-lead-1", "lead@example.com");
      assert.equal(lead.user.role, "user");
      const auditor = await s.signUp("auditor@example.com");
      await s.setRole(auditor, "auditor");
      const reviewer = await s.signUp("reviewer@example.com");
      await s.setRole(reviewer, "user,reviewer");
      const adminRole = await s.signUp("role-admin@example.com");
      await s.setRole(adminRole, "admin");
      for (const who of [lead, auditor, reviewer]) {
        const r = await call(s, LIST, {}, who.cookie);
        assert.equal(r.status, 200, `${who.user.email}: ${r.text}`);
        assert.equal(r.body.records.length, 1);
      }
      assert.equal((await call(s, LIST, {}, adminRole.cookie)).status, 403);
      assert.equal((await call(s, LIST, {}, s.admin.cookie)).status, 403);
    } finally {
      await s.stop();
    }
  });

  test("without auditApi settings, the admin plugin's adminUserIds count; a custom audit sink answers 501", async () => {
    const sunk = [];
    const s = await startServer({
      extraPlugins: [admin({ adminUserIds: ["ops-lead-2"] })],
      exchange: { audit: (record) => void sunk.push(record) },
    });
    try {
      await s.createResource("billing");
      const A = await s.createClient("A");
      await s.link(A, ["billing"]);
      const alice = await s.signUp("alice@example.com");
      const token = (await s.authorize(alice, A, { scope: "profile" })).access_token;
      assert.equal((await s.exchange(A, [...subject(token), ["audience", "billing"]])).status, 200);
      assert.equal(sunk.length, 1);

      const lead = await userWithId(s, "ops-lead-2", "lead2@example.com");
      await s.setRole(s.admin, "admin");
      for (const who of [lead, s.admin]) {
        for (const [path, query] of [
          [LIST, {}],
          [GET, { id: sunk[0].id }],
        ]) {
          const r = await call(s, path, query, who.cookie);
          assert.equal(r.status, 501, r.text);
          assert.equal(r.body.code, "AUDIT_RECORDS_NOT_QUERYABLE");
          assert.match(r.body.message, /custom audit sink/);
        }
      }
      assert.equal((await call(s, LIST, {}, alice.cookie)).status, 403);
      assert.equal((await call(s, LIST, {})).status, 401);
    } finally {
      await s.stop();
    }
  });

  test("auditApi.enabled: false registers no endpoints", async () => {
    const s = await startServer({ extraPlugins: [admin()], exchange: { auditApi: { enabled: false } } });
    try {
      await s.setRole(s.admin, "admin");
      assert.equal((await call(s, LIST, {}, s.admin.cookie)).status, 404);
      assert.equal((await call(s, GET, { id: "x" }, s.admin.cookie)).status, 404);
      assert.equal(s.auth.api.listTokenExchangeRecords, undefined);
    } finally {
      await s.stop();
    }
  });

  test("malformed auditApi options fail when the plugin is created", () => {
    assert.throws(() => tokenExchange({ auditApi: { adminUserIds: "ops-lead-1" } }), /auditApi\.adminUserIds` must be an array of strings/);
    assert.throws(() => tokenExchange({ auditApi: { adminRoles: [1] } }), /auditApi\.adminRoles` must be a string or an array of strings/);
    assert.throws(() => tokenExchange({ auditApi: { enabled: "yes" } }), /auditApi\.enabled` must be a boolean/);
    assert.equal(tokenExchange({ auditApi: { enabled: false } }).endpoints, undefined);
    assert.deepEqual(Object.keys(tokenExchange().endpoints).sort(), ["getTokenExchangeRecord", "listTokenExchangeRecords"]);
  });
});

// ---------------------------------------------------------------------------
// The client entry itself.

test("better-auth-token-exchange/client loads no engine and no server code", async () => {
  const file = fileURLToPath(import.meta.resolve("better-auth-token-exchange/client"));
  const code = readFileSync(file, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "");
  assert.doesNotMatch(code, /^\s*import\s|^\s*export\s.*\sfrom\s|\bimport\s*\(|\brequire\s*\(/m);
  assert.doesNotMatch(code, /wasm/);
  const plugin = tokenExchangeClient();
  assert.equal(plugin.id, "token-exchange-client");
  assert.deepEqual(plugin.pathMethods, { [LIST]: "GET", [GET]: "GET" });
});
