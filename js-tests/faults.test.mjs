// Faults: storage and key sources failing under a real server.
//
// - The database failing during the audit write (TX-61): a clear
//   `server_error` and no token; the database's own refusal, made by SQLite
//   (a trigger raising an error, or another connection holding the write
//   lock), not a mock. Failing during issuance, after the record: the record
//   is turned into a refusal and no token row remains.
// - A trusted issuer's JWKS endpoint down, slow (no answer; headers then a
//   stalled body), answering 500, garbage, a key set that is not one, an
//   oversized body or a redirect elsewhere: a clean `invalid_request` within
//   a bounded time, and the endpoint keeps working for other issuers (also
//   while a slow fetch is in flight).
// - After each: nothing half-written (one audit record per attempt, no token
//   rows beyond the granted ones) and the next valid exchange succeeds.
// - The database failing during a revocation that follows the chain, or
//   locked while the revocation checks the token: the revocation answers 503
//   (RFC 7009 §2.2.1) instead of a success that left descendants active (or
//   a bare 500), and the client's retry ends them.

import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { startServer, subject, TT } from "./helpers/server.mjs";
import { jws, keyPair } from "./helpers/jws.mjs";

const EXT_AUD = "https://as.faults.example/";
const FETCH_TIMEOUT_MS = 1000;
/** Generous bound for an answer when a key source hangs (timeout 1 s). */
const BOUND_MS = 10_000;

const now = () => Math.floor(Date.now() / 1000);

/** A JWKS server whose every path misbehaves in its own way. */
async function startFaultyJwks(good) {
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    const path = req.url.replace(/\/jwks$/, "");
    switch (path) {
      case "/good":
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify(good));
        return;
      case "/slow": // accepts, never answers
        return;
      case "/stall": // headers, then a body that never ends
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"keys":[');
        return;
      case "/error":
        res.statusCode = 500;
        res.end("internal error");
        return;
      case "/garbage":
        res.setHeader("content-type", "application/json");
        res.end("<html>\u0000\u00ff not json");
        return;
      case "/notjwks":
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ keys: "everything" }));
        return;
      case "/deep":
        res.setHeader("content-type", "application/json");
        res.end(`{"keys":${"[".repeat(100_000)}`);
        return;
      case "/huge": // 2 MiB, no content-length
        res.setHeader("content-type", "application/json");
        res.write('{"keys":[],"pad":"');
        for (let i = 0; i < 32; i++) res.write("x".repeat(64 * 1024));
        res.end('"}');
        return;
      case "/redirect":
        res.statusCode = 302;
        res.setHeader("location", "http://127.0.0.2:9/jwks");
        res.end();
        return;
      default:
        res.statusCode = 404;
        res.end();
    }
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A port nothing listens on. */
async function closedPort() {
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = server.address().port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("the database fails (TX-61)", () => {
  let s, A, alice, subj;

  before(async () => {
    s = await startServer({ useJwt: false }); // opaque tokens: issuance writes rows
    await s.createResource("billing");
    A = await s.createClient("A");
    await s.link(A, ["billing"]);
    alice = await s.signUp("alice@example.com", "Alice");
    subj = (await s.authorize(alice, A, { scope: "profile orders:read" })).access_token;
  });

  after(async () => {
    await s?.stop();
  });

  /** Row counts of everything an exchange may write. */
  const counts = async () => ({
    records: await s.countRows("tokenExchange"),
    access: await s.countRows("oauthAccessToken"),
    refresh: await s.countRows("oauthRefreshToken"),
  });

  async function assertRecovered() {
    const r = await s.exchange(A, [...subject(subj), ["audience", "billing"]]);
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }

  test("an audit insert refused by the database: 500 server_error, no token, nothing written", async () => {
    s.db.exec(`CREATE TRIGGER audit_down BEFORE INSERT ON "tokenExchange"
      BEGIN SELECT RAISE(ABORT, 'simulated storage failure'); END;`);
    try {
      const before = await counts();
      for (const pairs of [
        [...subject(subj), ["audience", "billing"]], // would be granted
        [...subject(subj), ["audience", "billing"], ["scope", "billing:read"]], // would be refused
      ]) {
        const r = await s.exchange(A, pairs);
        assert.equal(r.status, 500);
        assert.deepEqual(r.body, { error: "server_error", error_description: "the exchange could not be recorded" });
        assert.equal(r.headers.get("cache-control"), "no-store");
      }
      assert.deepEqual(await counts(), before, "no record and no token row");
    } finally {
      s.db.exec("DROP TRIGGER audit_down");
    }
    await assertRecovered();
  });

  test("the database write-locked by another connection: 500 server_error within the busy timeout, nothing written", async () => {
    const other = await s.openOtherConnection();
    const before = await counts();
    other.exec("BEGIN IMMEDIATE"); // holds the write lock; readers still read
    let r;
    const started = Date.now();
    try {
      r = await s.exchange(A, [...subject(subj), ["audience", "billing"]]);
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
    assert.ok(Date.now() - started < 30_000, "bounded by the driver's busy timeout");
    assert.equal(r.status, 500, JSON.stringify(r.body));
    assert.equal(r.body.error, "server_error");
    assert.equal(r.body.access_token, undefined);
    assert.deepEqual(await counts(), before, "no record and no token row");
    await assertRecovered();
  });

  test("the database locked while /oauth2/revoke checks the token: 503 temporarily_unavailable, the token untouched", async () => {
    const other = await s.openOtherConnection();
    other.exec("BEGIN EXCLUSIVE"); // no reader gets through until the busy timeout
    let r;
    try {
      r = await s.revoke(A, subj);
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
    assert.equal(r.status, 503, JSON.stringify(r.body));
    assert.deepEqual(r.body, {
      error: "temporarily_unavailable",
      error_description: "the revocation could not be completed; retry later",
    });
    assert.equal(r.headers.get("cache-control"), "no-store");
    assert.equal((await s.introspect(A, subj)).body.active, true, "nothing was revoked");
  });

  test("a token insert refused after the record: the record becomes a refusal, no token row", async () => {
    s.db.exec(`CREATE TRIGGER token_down BEFORE INSERT ON "oauthAccessToken"
      BEGIN SELECT RAISE(ABORT, 'simulated storage failure'); END;`);
    let before;
    try {
      before = await counts();
      const r = await s.exchange(A, [...subject(subj), ["audience", "billing"]]);
      assert.equal(r.status, 500, JSON.stringify(r.body));
      assert.equal(r.body.error, "server_error");
      assert.equal(r.body.access_token, undefined);
    } finally {
      s.db.exec("DROP TRIGGER token_down");
    }
    const after = await counts();
    assert.deepEqual(after, { ...before, records: before.records + 1 }, "one record, no token row");
    const row = await s.context.adapter.findOne({ model: "tokenExchange", where: [{ field: "id", value: s.lastRecordRow().id }] });
    assert.deepEqual(
      [row.decision, row.error, row.reason, row.grantedScope, row.act, row.expiresAt],
      ["refused", "server_error", "issuance_failed", null, null, null],
    );
    await assertRecovered();
  });
});

describe("a trusted issuer's key source fails", () => {
  let s, jwksServer, A, alice;
  const key = keyPair("ed25519", { kid: "k1", alg: "EdDSA" });
  const MODES = ["down", "slow", "stall", "error", "garbage", "notjwks", "deep", "huge", "redirect"];
  const issuerOf = (mode) => `https://${mode}.faults.example`;

  const tokenOf = (issuer) =>
    jws({ alg: "EdDSA", kid: "k1", typ: "JWT" }, { iss: issuer, sub: "ext-alice", aud: EXT_AUD, iat: now(), exp: now() + 600, scope: "profile" }, { key });

  before(async () => {
    jwksServer = await startFaultyJwks({ keys: [key.jwk] });
    const down = `http://127.0.0.1:${await closedPort()}/jwks`;
    const trusted = [
      { issuer: issuerOf("good"), audiences: [EXT_AUD], jwksUri: `${jwksServer.origin}/good/jwks`, providerId: "ext" },
      { issuer: issuerOf("inline"), audiences: [EXT_AUD], jwks: { keys: [key.jwk] }, providerId: "ext" },
      ...MODES.map((mode) => ({
        issuer: issuerOf(mode),
        audiences: [EXT_AUD],
        jwksUri: mode === "down" ? down : `${jwksServer.origin}/${mode}/jwks`,
        providerId: "ext",
      })),
    ];
    s = await startServer({ exchange: { trustedIssuers: trusted, jwksFetchTimeoutMs: FETCH_TIMEOUT_MS } });
    await s.createResource("billing");
    A = await s.createClient("A", {
      metadata: { allowedTokenExchange: true, tokenExchange: { trustedIssuers: trusted.map((t) => t.issuer) } },
    });
    await s.link(A, ["billing"]);
    alice = await s.signUp("alice@example.com", "Alice");
    await s.linkAccount(alice, "ext", "ext-alice");
  });

  after(async () => {
    await s?.stop();
    await jwksServer?.stop();
  });

  const exchangeAs = (issuer) => s.exchange(A, [...subject(tokenOf(issuer), TT.jwt), ["audience", "billing"]]);

  test("controls: the healthy remote and inline issuers are accepted", async () => {
    for (const issuer of [issuerOf("good"), issuerOf("inline")]) {
      const r = await exchangeAs(issuer);
      assert.equal(r.status, 200, `${issuer}: ${JSON.stringify(r.body)}`);
    }
  });

  for (const mode of MODES) {
    test(`JWKS ${mode}: invalid_request (unknown_key) within a bounded time, one refusal record, no token`, async () => {
      const before = await s.countRows();
      const started = Date.now();
      const r = await exchangeAs(issuerOf(mode));
      const took = Date.now() - started;
      assert.deepEqual([r.status, r.body.error, r.body.access_token], [400, "invalid_request", undefined], JSON.stringify(r.body));
      assert.match(r.body.error_description, /no keys are known for the issuer/);
      assert.ok(took < BOUND_MS, `answered after ${took} ms`);
      assert.equal(await s.countRows(), before + 1);
      const row = s.lastRecordRow();
      assert.deepEqual([row.decision, row.reason], ["refused", "unknown_key"]);
      // The endpoint still serves everyone else.
      const ok = await exchangeAs(issuerOf("good"));
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
    });
  }

  test("a hanging key source does not hold up other issuers' exchanges", async () => {
    // A fresh issuer name is not needed: the slow one is refetched only after
    // its refetch interval, so use the stall path through a new server.
    const s2 = await startServer({
      exchange: {
        trustedIssuers: [
          { issuer: issuerOf("slow"), audiences: [EXT_AUD], jwksUri: `${jwksServer.origin}/slow/jwks`, providerId: "ext" },
          { issuer: issuerOf("inline"), audiences: [EXT_AUD], jwks: { keys: [key.jwk] }, providerId: "ext" },
        ],
        jwksFetchTimeoutMs: 4000,
      },
    });
    try {
      await s2.createResource("billing");
      const C = await s2.createClient("C", {
        metadata: { allowedTokenExchange: true, tokenExchange: { trustedIssuers: [issuerOf("slow"), issuerOf("inline")] } },
      });
      await s2.link(C, ["billing"]);
      const carol = await s2.signUp("carol@example.com", "Carol");
      await s2.linkAccount(carol, "ext", "ext-alice");
      const order = [];
      const slow = s2.exchange(C, [...subject(tokenOf(issuerOf("slow")), TT.jwt), ["audience", "billing"]]).then((r) => {
        order.push("slow");
        return r;
      });
      // Give the slow request time to reach its fetch.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const fast = await Promise.all(
        Array.from({ length: 5 }, () => s2.exchange(C, [...subject(tokenOf(issuerOf("inline")), TT.jwt), ["audience", "billing"]])),
      );
      order.push("others");
      for (const r of fast) assert.equal(r.status, 200, JSON.stringify(r.body));
      const r = await slow;
      assert.deepEqual([r.status, r.body.error], [400, "invalid_request"]);
      assert.deepEqual(order, ["others", "slow"], "the other issuers' exchanges finished while the fetch hung");
    } finally {
      await s2.stop();
    }
  });
});

for (const kind of ["jwt", "opaque"]) {
  describe(`a revocation that follows the chain fails midway (${kind} access tokens)`, () => {
    let s, BFF, alice;

    before(async () => {
      s = await startServer({ useJwt: kind === "jwt" });
      for (const r of ["billing", "reports"]) await s.createResource(r);
      BFF = await s.createClient("BFF");
      await s.link(BFF, ["billing", "reports"]);
      alice = await s.signUp("alice@example.com", "Alice");
    });

    after(async () => {
      await s?.stop();
    });

    const active = async (token) => {
      const r = await s.introspect(BFF, token);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.active;
    };

    test("revoking T1 while T2's session cannot be ended: 503, and the retry ends T2", async () => {
      const t0 = (await s.authorize(alice, BFF, { scope: "profile orders:read" })).access_token;
      const exchanged = async (token, target) => {
        const r = await s.exchange(BFF, [...subject(token), ["audience", target]]);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return r.body.access_token;
      };
      const t1 = await exchanged(t0, "billing");
      const t2 = await exchanged(t1, "reports");
      const t2Record = (await s.allRecords()).at(-1);
      assert.ok(t2Record.sessionId);
      const stamped = async () => (await s.allRecords()).find((r) => r.id === t2Record.id).revokedAt;

      // T1 itself is revoked; the database then refuses to end T2's session.
      s.db.exec(`CREATE TRIGGER t2_session_down BEFORE DELETE ON "session" WHEN OLD."id" = '${t2Record.sessionId}'
        BEGIN SELECT RAISE(ABORT, 'simulated storage failure'); END;`);
      let failed;
      try {
        failed = await s.revoke(BFF, t1);
      } finally {
        s.db.exec("DROP TRIGGER t2_session_down");
      }
      assert.equal(failed.status, 503, JSON.stringify(failed.body));
      assert.deepEqual(failed.body, {
        error: "temporarily_unavailable",
        error_description: "the revocation could not be completed; retry later",
      });
      assert.equal(failed.headers.get("cache-control"), "no-store");
      assert.equal(await stamped(), null, "T2 is not recorded as revoked");

      // Finishing it takes an authenticated client, like any revocation.
      const stranger = await s.revoke({ ...BFF, client_secret: "not-the-secret" }, t1);
      assert.equal(stranger.status, 401, JSON.stringify(stranger.body));
      assert.equal(await stamped(), null);

      // The client retries, as RFC 7009 §2.2.1 tells it to.
      const retried = await s.revoke(BFF, t1);
      assert.equal(retried.status, 200, JSON.stringify(retried.body));
      assert.equal(await active(t1), false);
      assert.equal(await active(t2), false);
      assert.ok(await stamped(), "T2's record is stamped revoked");
      assert.equal(await active(t0), true, "T0 does not descend from T1");
    });
  });
}
