// Revocation that follows the exchange chain, over HTTP on a real server:
// a chain T0 -> T1 -> T2 (T0 from authorization_code, T1 exchanged from T0,
// T2 from T1), for JWT and for opaque access tokens. Signing out, revoking
// the exchanged-from token, or revoking the subject's grant (its refresh
// token) makes every token derived from it inactive at introspection and at
// the provider's `validateAccessToken`, two hops deep, while what does not
// descend from the revoked token stays active.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { getOAuthProviderApi } from "@better-auth/oauth-provider";
import { startServer, storedHash, subject, tokenIdentity, TT } from "./helpers/server.mjs";

const SCOPE = "profile orders:read offline_access";
/** A resource server's URI: authorization for it gives a JWT access token. */
const RS = "https://orders.api.example/";

for (const kind of ["jwt", "opaque"]) {
  describe(`revocation follows the chain (${kind} access tokens)`, () => {
    let s, BFF, OTHER, R;
    let users = 0;

    // A session to end from inside the next exchange (getClientPolicy runs
    // after the client authenticated, before the decision).
    let ending;
    before(async () => {
      s = await startServer({
        useJwt: kind === "jwt",
        exchange: {
          getClientPolicy: async (client, ctx) => {
            if (ending) {
              const token = ending.match(/better-auth\.session_token=([^.;]+)/)?.[1];
              ending = undefined;
              await ctx.context.internalAdapter.deleteSession(decodeURIComponent(token));
            }
            const metadata = typeof client.metadata === "string" ? JSON.parse(client.metadata) : (client.metadata ?? {});
            return { allowedTokenExchange: metadata.allowedTokenExchange === true, policy: metadata.tokenExchange };
          },
        },
      });
      await s.createResource("billing");
      await s.createResource("reports");
      await s.createResource(RS);
      BFF = await s.createClient("BFF");
      OTHER = await s.createClient("Other");
      R = await s.createClient("R", {
        metadata: { allowedTokenExchange: true, tokenExchange: { refreshTokens: true } },
      });
      for (const c of [BFF, OTHER, R]) await s.link(c, ["billing", "reports", RS]);
    });

    after(async () => {
      await s?.stop();
    });

    /** The provider's own validation, as a resource server in-process would call it. */
    async function validated(token) {
      const opts = s.context.getPlugin("oauth-provider").options;
      try {
        return (await getOAuthProviderApi({ context: s.context }, opts).validateAccessToken(token)).active === true;
      } catch {
        return false;
      }
    }

    /** Active at introspection (by the BFF) and at validateAccessToken, which must agree. */
    async function active(token, client = BFF) {
      const r = await s.introspect(client, token);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const byValidation = await validated(token);
      assert.equal(byValidation, r.body.active, "introspection and validateAccessToken agree");
      return r.body.active;
    }

    async function exchanged(client, token, pairs = [["audience", "billing"]]) {
      const r = await s.exchange(client, [...subject(token), ...pairs]);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.access_token.split(".").length, kind === "jwt" ? 3 : 1);
      return r.body;
    }

    /** A fresh user signed in, T0 (with its refresh token R0), T1 and T2. */
    async function chain(client = BFF) {
      const who = await s.signUp(`user${++users}-${kind}@example.com`);
      const set = await s.authorize(who, client, { scope: SCOPE });
      const t1 = await exchanged(client, set.access_token);
      const t2 = await exchanged(client, t1.access_token, [["audience", "reports"]]);
      for (const t of [set.access_token, t1.access_token, t2.access_token]) assert.equal(await active(t, client), true);
      return { who, t0: set.access_token, r0: set.refresh_token, t1: t1.access_token, t2: t2.access_token };
    }

    test("each delegation has its own session: the issued token's sid, child of the subject's", async () => {
      const c = await chain();
      const rows = (await s.allRecords()).filter((r) => r.decision === "granted").slice(-2);
      const [first, second] = rows;
      assert.ok(first.sessionId && second.sessionId && first.sessionId !== second.sessionId);
      assert.equal(second.parentSessionId, first.sessionId, "hop 2 descends from hop 1's session");
      assert.ok(first.parentSessionId, "hop 1 descends from the login session");
      assert.notEqual(first.parentSessionId, first.sessionId);
      // TX-29: the digest of the subject token's signing input (a JWT) or of the token (opaque).
      assert.equal(first.parentTokenHash, tokenIdentity(c.t0), "base64url SHA-256 of the subject token's identity");
      assert.equal(second.parentTokenHash, tokenIdentity(c.t1));
      assert.equal((await s.introspect(BFF, c.t2)).body.sid, second.sessionId);
      // No token value in the records: only a digest names the parent token.
      const text = JSON.stringify(rows);
      for (const t of [c.t0, c.t1, c.t2]) assert.ok(!text.includes(t));
    });

    test("signing out makes both hops inactive, and the chain cannot be extended", async () => {
      const c = await chain();
      const untouched = await chain();
      const out = await fetch(`${s.base}/sign-out`, {
        method: "POST",
        headers: { cookie: c.who.cookie, origin: s.origin, "content-type": "application/json" },
        body: "{}",
      });
      assert.equal(out.status, 200);
      for (const t of [c.t0, c.t1, c.t2]) assert.equal(await active(t), false);
      const r = await s.exchange(BFF, [...subject(c.t2), ["audience", "billing"]]);
      assert.deepEqual([r.status, r.body.error], [400, "invalid_request"]);
      assert.match((await s.records()).at(-1).reason, /^(session_ended|token_inactive)$/);
      // Another user's chain is not affected.
      for (const t of [untouched.t0, untouched.t1, untouched.t2]) assert.equal(await active(t), true);
      // The revoked hops are stamped in the audit trail.
      const revoked = (await s.allRecords()).filter((r) => r.revokedAt);
      assert.ok(revoked.length >= 2);
    });

    test("revoking the exchanged-from token (T1) makes T1 and T2 inactive; T0 stays active", async () => {
      const c = await chain();
      const sibling = await exchanged(BFF, c.t0, [["audience", "reports"]]);
      const r = await s.revoke(BFF, c.t1);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(await active(c.t1), false);
      assert.equal(await active(c.t2), false);
      assert.equal(await active(c.t0), true);
      assert.equal(await active(sibling.access_token), true, "a sibling exchanged from T0 is not a descendant of T1");
    });

    test("only the client a token was issued to can revoke it (RFC 7009 §2.1)", async () => {
      const c = await chain();
      const r = await s.revoke(OTHER, c.t1);
      assert.ok(r.status === 200 || r.status === 400, `status ${r.status}`);
      assert.equal(await active(c.t1), true);
      assert.equal(await active(c.t2), true);
      // Wrong secret: the provider's client-authentication error, nothing revoked.
      const h = { authorization: s.basicHeader(BFF.client_id, "wrong-secret") };
      const bad = await s.post("/oauth2/revoke", [["token", c.t1]], h);
      assert.equal(bad.status, 401);
      assert.equal(bad.body.error, "invalid_client");
      assert.equal(await active(c.t1), true);
    });

    test("revoking an exchanged token's own session (the user's session list) ends it and what descends", async () => {
      const c = await chain();
      const sid = (await s.allRecords()).filter((r) => r.decision === "granted").at(-2).sessionId;
      const listed = await fetch(`${s.base}/list-sessions`, { headers: { cookie: c.who.cookie } });
      const sessions = await listed.json();
      const own = sessions.find((x) => x.id === sid);
      assert.ok(own, "the exchange session is listed among the user's sessions");
      assert.match(own.userAgent, /^token-exchange \(client /);
      const r = await fetch(`${s.base}/revoke-session`, {
        method: "POST",
        headers: { cookie: c.who.cookie, origin: s.origin, "content-type": "application/json" },
        body: JSON.stringify({ token: own.token }),
      });
      assert.equal(r.status, 200, await r.text());
      assert.equal(await active(c.t1), false);
      assert.equal(await active(c.t2), false);
      assert.equal(await active(c.t0), true);
    });

    test("a refresh token issued by an exchange dies with the chain (TX-55)", async () => {
      const who = await s.signUp(`user${++users}-${kind}@example.com`);
      const set = await s.authorize(who, R, { scope: SCOPE });
      const t1 = await exchanged(R, set.access_token, [["audience", "billing"], ["scope", "orders:read offline_access"]]);
      assert.ok(t1.refresh_token, "policy allows a refresh token");
      await s.revoke(R, set.refresh_token); // the subject's grant
      const out = await fetch(`${s.base}/sign-out`, {
        method: "POST",
        headers: { cookie: who.cookie, origin: s.origin, "content-type": "application/json" },
        body: "{}",
      });
      assert.equal(out.status, 200);
      const refreshed = await s.post("/oauth2/token", [
        ["grant_type", "refresh_token"],
        ["refresh_token", t1.refresh_token],
      ], { authorization: s.basicHeader(R.client_id, R.client_secret) });
      assert.deepEqual([refreshed.status, refreshed.body.error], [400, "invalid_grant"]);
      assert.equal(await active(t1.access_token, R), false);
    });

    test("TX-55: a refresh token from an exchange expires with the subject token; refreshing keeps act", async () => {
      const who = await s.signUp(`user${++users}-${kind}@example.com`);
      const agent = await s.signUp(`agent${users}-${kind}@example.com`);
      const set = await s.authorize(who, R, { scope: SCOPE });
      const actorToken = (await s.authorize(agent, R, { scope: "profile" })).access_token;
      const subjectExp = (await s.introspect(R, set.access_token)).body.exp;
      const t1 = await exchanged(R, set.access_token, [
        ["actor_token", actorToken],
        ["actor_token_type", TT.access],
        ["audience", "billing"],
        ["scope", "orders:read offline_access"],
      ]);
      assert.ok(t1.refresh_token);
      const act = { sub: agent.user.id, client_id: R.client_id };
      const row = await s.context.adapter.findOne({
        model: "oauthRefreshToken",
        where: [{ field: "token", value: storedHash(t1.refresh_token) }],
      });
      // The provider's default refresh lifetime is 30 days; the subject token lives an hour.
      assert.ok(row.expiresAt.getTime() <= subjectExp * 1000, `refresh token ends ${row.expiresAt.toISOString()}`);
      const record = (await s.allRecords()).filter((r) => r.decision === "granted").at(-1);
      const session = await s.context.adapter.findOne({ model: "session", where: [{ field: "id", value: record.sessionId }] });
      assert.ok(session.expiresAt.getTime() <= subjectExp * 1000, "the exchange session ends with the subject token");

      // A second later, the provider's own lifetime (an hour from now) would
      // outlive the subject token: the refreshed access token must not.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const refreshed = await s.post("/oauth2/token", [
        ["grant_type", "refresh_token"],
        ["refresh_token", t1.refresh_token],
      ], { authorization: s.basicHeader(R.client_id, R.client_secret) });
      assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
      assert.equal(refreshed.headers.get("cache-control"), "no-store");
      const now = Math.floor(Date.now() / 1000);
      const { expires_in: expiresIn, expires_at: expiresAt } = refreshed.body;
      assert.ok(expiresAt <= subjectExp && expiresAt > now, `the refreshed access token ends at ${expiresAt}, the subject token at ${subjectExp}`);
      assert.ok(Math.abs(now + expiresIn - expiresAt) <= 1, "expires_in agrees with expires_at");
      const info = (await s.introspect(R, refreshed.body.access_token)).body;
      assert.deepEqual([info.active, info.sub, info.act, info.sid], [true, who.user.id, act, record.sessionId]);
      assert.ok(info.exp <= subjectExp, "introspection reports the capped exp");
      if (kind === "jwt") {
        const claims = JSON.parse(Buffer.from(refreshed.body.access_token.split(".")[1], "base64url").toString());
        assert.deepEqual(claims.act, act, "the refreshed JWT carries act");
        assert.equal(claims.exp, expiresAt, "the refreshed JWT's exp is the cap");
        assert.ok(await validated(refreshed.body.access_token), "the JWT signed again verifies with the server's keys");
      }
      const next = await s.context.adapter.findOne({
        model: "oauthRefreshToken",
        where: [{ field: "token", value: storedHash(refreshed.body.refresh_token) }],
      });
      assert.ok(next.expiresAt.getTime() <= subjectExp * 1000, "the rotated refresh token stays capped");
    });

    if (kind === "jwt") {
      test("a session that ends while its exchange runs: refused, one record, no exchange session left", async () => {
        const who = await s.signUp(`user${++users}-${kind}@example.com`);
        const t0 = (await s.authorize(who, BFF, { scope: SCOPE, resource: RS })).access_token;
        assert.equal(t0.split(".").length, 3, "a JWT subject, naming its session in sid");
        // The sign-out lands after the request started, before issuance.
        ending = who.cookie;
        const before = await s.countRows("session");
        const r = await s.exchange(BFF, [...subject(t0), ["audience", "billing"]]);
        assert.deepEqual([r.status, r.body.error], [400, "invalid_request"], JSON.stringify(r.body));
        const rows = (await s.allRecords()).slice(-1);
        assert.deepEqual([rows[0].decision, rows[0].reason], ["refused", "session_ended"]);
        assert.equal(await s.countRows("session"), before - 1, "the login session ended; no exchange session remains");
      });
    }

    test("a sign-out racing exchanges of its tokens: no token issued from the session survives it", async () => {
      const who = await s.signUp(`user${++users}-${kind}@example.com`);
      const t0 = (await s.authorize(who, BFF, { scope: SCOPE, resource: RS })).access_token;
      const exchanges = Array.from({ length: 40 }, (_, i) =>
        s.exchange(BFF, [...subject(t0), ["audience", i % 2 ? "billing" : "reports"]]),
      );
      const out = fetch(`${s.base}/sign-out`, {
        method: "POST",
        headers: { cookie: who.cookie, origin: s.origin, "content-type": "application/json" },
        body: "{}",
      });
      const answers = await Promise.all(exchanges);
      assert.equal((await out).status, 200);
      for (const r of answers) assert.ok(r.status === 200 || r.body.error === "invalid_request", JSON.stringify(r.body));
      const issued = answers.filter((r) => r.status === 200);
      for (const r of issued) assert.equal(await active(r.body.access_token), false, "an exchanged token outlived the sign-out");
    });

    if (kind === "opaque") {
      test("revoking the subject's grant (T0's refresh token) makes T1 and T2 inactive", async () => {
        const c = await chain();
        const r = await s.revoke(BFF, c.r0);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(await active(c.t0), false, "the provider deletes the grant's access tokens");
        assert.equal(await active(c.t1), false);
        assert.equal(await active(c.t2), false);
      });

      test("a replayed refresh token: the provider ends the grant family, and what was exchanged from it ends too", async () => {
        const c = await chain();
        const refresh = (token) =>
          s.post("/oauth2/token", [
            ["grant_type", "refresh_token"],
            ["refresh_token", token],
          ], { authorization: s.basicHeader(BFF.client_id, BFF.client_secret) });
        const rotated = await refresh(c.r0);
        assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
        assert.equal(await active(c.t1), true, "a rotation ends nothing");
        // R0 again: a replay. The provider deletes every refresh token of this
        // client and user (and their opaque access tokens).
        const replayed = await refresh(c.r0);
        assert.deepEqual([replayed.status, replayed.body.error], [400, "invalid_grant"]);
        assert.deepEqual([await active(rotated.body.access_token), await active(c.t0)], [false, false]);
        assert.equal(await active(c.t1), false, "T1 was exchanged from a token of the ended family");
        assert.equal(await active(c.t2), false);
        const granted = (await s.allRecords()).filter((r) => r.decision === "granted").slice(-2);
        assert.ok(granted.every((r) => r.revokedAt), "the records show the revocation");
      });

      test("a refresh token used as the subject: revoking it ends what was exchanged from it", async () => {
        const who = await s.signUp(`user${++users}-${kind}@example.com`);
        const Rr = await s.createClient("Rr", {
          metadata: { allowedTokenExchange: true, tokenExchange: { subjectTokenTypes: ["access_token", "refresh_token"] } },
        });
        await s.link(Rr, ["billing", "reports"]);
        const set = await s.authorize(who, Rr, { scope: SCOPE });
        const r = await s.exchange(Rr, [...subject(set.refresh_token, TT.refresh), ["audience", "billing"]]);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        const t2 = await exchanged(Rr, r.body.access_token, [["audience", "reports"]]);
        assert.equal(await active(t2.access_token, Rr), true);
        assert.equal((await s.revoke(Rr, set.refresh_token)).status, 200);
        assert.equal(await active(r.body.access_token, Rr), false);
        assert.equal(await active(t2.access_token, Rr), false);
      });
    }
  });
}
