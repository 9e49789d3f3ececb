// Attacks on the exchange endpoint, over HTTP against a real better-auth
// server with the plugin (SQLite), one test per attack. An exchange endpoint
// mints tokens: a wrong acceptance is a privilege escalation. Each test
// asserts the exact refusal (HTTP status, OAuth error, and the audit
// record's stable reason), that no token came back, and that the attack
// caused no request to leave the process (no key fetch from a URL a token
// names, TX-22).
//
// Tokens of this server come from real sign-ins (authorization_code + PKCE);
// tokens of a trusted external issuer are signed here with keys configured
// inline, so each attack changes one thing in an otherwise valid token. The
// first test shows that such a valid token is accepted, so every refusal
// below is caused by its attack alone.

import assert from "node:assert/strict";
import dc from "node:diagnostics_channel";
import { after, before, describe, test } from "node:test";
import { decodeJwt } from "jose";
import { actor, startJwksServer, startServer, subject, TT } from "./helpers/server.mjs";
import { b64u, hmac, jws, keyPair } from "./helpers/jws.mjs";

const EXT = "https://idp.attack.example"; // trusted, keys inline
const EXT_AUD = "https://as.attack.example/"; // what EXT's tokens name as this server
const RES_BILLING = "https://billing.api.example/";
const RES_UNLINKED = "https://unlinked.api.example/";

let s; // the server
let attacker; // a JWKS server the attacker controls (counts every fetch)
let A, B, PUB; // A: translating client, policy-limited targets; B: another client; PUB: public
let alice, agent;
const keys = {}; // the trusted issuer's key pairs
let evil; // the attacker's own key pair
let own; // Alice's tokens at A from a real sign-in: { access (JWT), id, refresh, opaque }

// --- no request may leave the process ---------------------------------------
// Every HTTP request made in this process (fetch through undici, or
// node:http) is recorded; requests to the server under test itself are the
// test's own.
const outgoing = [];
dc.subscribe("undici:request:create", ({ request }) => outgoing.push(`${request.origin}${request.path}`));
dc.subscribe("http.client.request.start", ({ request }) =>
  outgoing.push(`http://${request.getHeader?.("host") ?? request.host}${request.path}`),
);
const leftTheProcess = () => outgoing.filter((url) => !url.startsWith(s.origin));

// --- helpers -----------------------------------------------------------------
const now = () => Math.floor(Date.now() / 1000);
const target = [["audience", "billing"]];

/** Claims of a valid token of the trusted issuer for Alice (linked as ext-alice). */
const extClaims = (extra = {}) => ({
  iss: EXT,
  sub: "ext-alice",
  aud: EXT_AUD,
  iat: now() - 5,
  exp: now() + 600,
  scope: "profile orders:read",
  ...extra,
});

/** A token of the trusted issuer signed with its Ed25519 key (or as told). */
function extToken(claims = extClaims(), { header, key = keys.ed, ...rest } = {}) {
  return jws(header ?? { alg: "EdDSA", kid: "ed-1", typ: "JWT" }, claims, { key, ...rest });
}

/**
 * Sends an exchange and asserts the exact refusal: status, OAuth error,
 * the audit record's reason, no token in the answer, and no request that
 * left the process.
 */
let attempts = 0; // attack requests sent, for the summary line

async function refused(client, pairs, { status = 400, error = "invalid_request", reason, secret } = {}) {
  attempts++;
  outgoing.length = 0;
  const before = await s.countRows();
  const r = await s.exchange(client, pairs, secret ? { secret } : {});
  assert.deepEqual(
    { status: r.status, error: r.body?.error },
    { status, error },
    `expected ${status} ${error} (${reason}), got ${r.status} ${JSON.stringify(r.body)}`,
  );
  assert.equal(r.body.access_token, undefined, "no token on a refusal");
  assert.equal(r.headers.get("cache-control"), "no-store");
  assert.equal(typeof r.body.error_description, "string");
  assert.equal(await s.countRows(), before + 1, "one audit record per attempt");
  const row = s.lastRecordRow();
  assert.deepEqual([row.decision, row.reason], ["refused", reason], JSON.stringify(row));
  assert.deepEqual(leftTheProcess(), [], "no request left the process");
  return r;
}

async function granted(client, pairs) {
  outgoing.length = 0;
  const r = await s.exchange(client, pairs);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(leftTheProcess(), []);
  return r.body;
}

/** Re-spells a segment: adds base64 padding. */
const padded = (seg) => seg + "=".repeat((4 - (seg.length % 4)) % 4 || 1);

before(async () => {
  keys.ed = keyPair("ed25519", { kid: "ed-1", alg: "EdDSA" });
  keys.ec = keyPair("p256", { kid: "ec-1", alg: "ES256" });
  keys.ecNoAlg = keyPair("p256", { kid: "ec-noalg" }); // crv P-256, no alg member
  keys.rsa = keyPair("rsa", { kid: "rsa-1", alg: "RS256" });
  evil = keyPair("ed25519", { kid: "attacker-1", alg: "EdDSA" });

  attacker = await startJwksServer();
  attacker.setKeys("evil", { keys: [evil.jwk, { ...keys.ed.jwk }] });

  s = await startServer({
    exchange: {
      trustedIssuers: [
        {
          issuer: EXT,
          audiences: [EXT_AUD],
          jwks: { keys: [keys.ed.jwk, keys.ec.jwk, keys.ecNoAlg.jwk, keys.rsa.jwk] },
          providerId: "ext-idp",
        },
      ],
    },
  });
  for (const id of ["billing", "orders", RES_BILLING, RES_UNLINKED]) await s.createResource(id);
  A = await s.createClient("A", {
    metadata: {
      allowedTokenExchange: true,
      tokenExchange: { trustedIssuers: [EXT], audiences: ["billing"], resources: [RES_BILLING] },
    },
  });
  B = await s.createClient("B");
  PUB = await s.createClient("public", { token_endpoint_auth_method: "none" });
  await s.link(A, ["billing", "orders", RES_BILLING]);
  await s.link(B, ["billing", RES_BILLING]);

  alice = await s.signUp("alice@example.com", "Alice");
  agent = await s.signUp("agent@example.com", "Agent");
  await s.linkAccount(alice, "ext-idp", "ext-alice");
  const set = await s.authorize(alice, A, { scope: "openid profile orders:read offline_access", resource: RES_BILLING });
  const opaque = await s.authorize(alice, A, { scope: "profile orders:read" });
  own = { access: set.access_token, id: set.id_token, refresh: set.refresh_token, opaque: opaque.access_token };
  assert.equal(own.access.split(".").length, 3, "a JWT access token of this server");
});

after(async () => {
  console.log(`attacks: ${attempts} attack requests refused as expected`);
  await s?.stop();
  await attacker?.stop();
});

describe("controls: the untampered tokens are accepted", () => {
  test("a valid token of the trusted issuer is exchanged", async () => {
    const body = await granted(A, [...subject(extToken(), TT.jwt), ...target]);
    assert.equal(decodeJwt(body.access_token).sub, alice.user.id);
  });

  test("this server's own JWT access token is exchanged", async () => {
    const body = await granted(A, [...subject(own.access), ...target]);
    assert.equal(decodeJwt(body.access_token).sub, alice.user.id);
  });

  test("tokens of the trusted issuer's ES256 and RS256 keys are exchanged", async () => {
    for (const [alg, kid, key] of [
      ["ES256", "ec-1", keys.ec],
      ["ES256", "ec-noalg", keys.ecNoAlg],
      ["RS256", "rsa-1", keys.rsa],
    ]) {
      await granted(A, [...subject(extToken(extClaims(), { header: { alg, kid }, key }), TT.jwt), ...target]);
    }
  });
});

describe("algorithm attacks (TX-22, RFC 8725 §3.1)", () => {
  test("alg none, in any spelling, with or without a signature", async () => {
    for (const alg of ["none", "None", "NONE", "nOnE"]) {
      const header = b64u(JSON.stringify({ alg, typ: "at+jwt" }));
      const payload = own.access.split(".")[1];
      for (const token of [`${header}.${payload}.`, `${header}.${payload}.${own.access.split(".")[2]}`]) {
        await refused(A, [...subject(token), ...target], { reason: "unsupported_algorithm" });
      }
    }
  });

  test("HS256 signed with this server's public key as the secret", async () => {
    const jwks = await (await fetch(`${s.base}/jwks`)).json();
    const key = jwks.keys[0];
    const payload = JSON.parse(Buffer.from(own.access.split(".")[1], "base64url"));
    const input = `${b64u(JSON.stringify({ alg: "HS256", kid: key.kid, typ: "at+jwt" }))}.${b64u(JSON.stringify(payload))}`;
    for (const secret of [JSON.stringify(key), key.x, Buffer.from(key.x, "base64url")]) {
      await refused(A, [...subject(`${input}.${b64u(hmac(secret, input))}`), ...target], { reason: "unsupported_algorithm" });
    }
  });

  test("HS256 signed with the trusted issuer's RSA public key (PEM and JWK) as the secret", async () => {
    const pem = keys.rsa.publicKey.export({ type: "spki", format: "pem" });
    for (const secret of [pem, JSON.stringify(keys.rsa.jwk)]) {
      const header = { alg: "HS256", kid: "rsa-1", typ: "JWT" };
      const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(extClaims()))}`;
      await refused(A, [...subject(`${input}.${b64u(hmac(secret, input))}`, TT.jwt), ...target], {
        reason: "unsupported_algorithm",
      });
    }
  });

  test("an alg that does not fit the key's kty (RS256 on an EC key, EdDSA on RSA)", async () => {
    await refused(A, [...subject(extToken(extClaims(), { header: { alg: "RS256", kid: "ec-1" }, key: keys.rsa }), TT.jwt), ...target], {
      reason: "algorithm_key_mismatch",
    });
    await refused(A, [...subject(extToken(extClaims(), { header: { alg: "EdDSA", kid: "rsa-1" }, key: keys.ed }), TT.jwt), ...target], {
      reason: "algorithm_key_mismatch",
    });
    // This server's Ed25519 key named under ES256.
    const [h, p, sig] = own.access.split(".");
    const header = JSON.parse(Buffer.from(h, "base64url"));
    const forged = `${b64u(JSON.stringify({ ...header, alg: "ES256" }))}.${p}.${sig}`;
    await refused(A, [...subject(forged), ...target], { reason: "algorithm_key_mismatch" });
  });

  test("an alg that does not fit the key's crv (ES384 on a P-256 key without alg)", async () => {
    const p384 = keyPair("p384");
    await refused(A, [...subject(extToken(extClaims(), { header: { alg: "ES384", kid: "ec-noalg" }, key: p384 }), TT.jwt), ...target], {
      reason: "algorithm_key_mismatch",
    });
  });

  test("an alg that does not fit the JWK's own alg (PS256 really signed with the RS256 key)", async () => {
    const token = extToken(extClaims(), { header: { alg: "PS256", kid: "rsa-1" }, key: keys.rsa });
    await refused(A, [...subject(token, TT.jwt), ...target], { reason: "algorithm_key_mismatch" });
  });

  test("an unknown crit header, and b64:false, validly signed", async () => {
    const crit = extToken(extClaims(), { header: { alg: "EdDSA", kid: "ed-1", crit: ["urn:example:ext"], "urn:example:ext": true } });
    await refused(A, [...subject(crit, TT.jwt), ...target], { reason: "unsupported_critical_header" });
    const b64 = extToken(extClaims(), { header: { alg: "EdDSA", kid: "ed-1", crit: ["b64"], b64: false } });
    await refused(A, [...subject(b64, TT.jwt), ...target], { reason: "unsupported_critical_header" });
  });
});

describe("key-source headers are never followed (TX-22, RFC 8725 §3.10)", () => {
  const evilJwks = () => `${attacker.issuer("evil")}/jwks`;

  test("jku naming the attacker's key set", async () => {
    const token = extToken(extClaims(), { header: { alg: "EdDSA", kid: "attacker-1", jku: evilJwks() }, key: evil });
    await refused(A, [...subject(token, TT.jwt), ...target], { reason: "unknown_key" });
    // Even with a trusted kid, the attacker's signature does not verify.
    const trustedKid = extToken(extClaims(), { header: { alg: "EdDSA", kid: "ed-1", jku: evilJwks() }, key: evil });
    await refused(A, [...subject(trustedKid, TT.jwt), ...target], { reason: "bad_signature" });
    assert.equal(attacker.fetchCount("evil"), 0);
  });

  test("x5u naming the attacker's certificate URL", async () => {
    const token = extToken(extClaims(), { header: { alg: "EdDSA", x5u: `${attacker.issuer("evil")}/cert.pem` }, key: evil });
    await refused(A, [...subject(token, TT.jwt), ...target], { reason: "bad_signature" });
    assert.equal(attacker.fetchCount("evil"), 0);
  });

  test("jwk embedding the attacker's public key", async () => {
    const token = extToken(extClaims(), { header: { alg: "EdDSA", jwk: evil.jwk }, key: evil });
    await refused(A, [...subject(token, TT.jwt), ...target], { reason: "bad_signature" });
    const withKid = extToken(extClaims(), { header: { alg: "EdDSA", kid: "attacker-1", jwk: evil.jwk }, key: evil });
    await refused(A, [...subject(withKid, TT.jwt), ...target], { reason: "unknown_key" });
  });

  test("x5c embedding a certificate chain", async () => {
    const fakeCert = Buffer.from(`0\x82\x01\x00${"certificate".repeat(20)}`).toString("base64");
    const token = extToken(extClaims(), { header: { alg: "EdDSA", x5c: [fakeCert] }, key: evil });
    await refused(A, [...subject(token, TT.jwt), ...target], { reason: "bad_signature" });
  });
});

describe("kid values with path or SQL characters", () => {
  const kids = [
    "../../../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "/dev/random",
    "' OR '1'='1",
    '"; DROP TABLE jwks; --',
    "1 UNION SELECT privateKey FROM jwks",
    "%2e%2e%2f%00",
    "kid\u0000nul",
    "file:///etc/passwd",
  ];

  test("this server's issuer: unknown_key, and the key table is intact", async () => {
    const [, p, sig] = own.access.split(".");
    const header = JSON.parse(Buffer.from(own.access.split(".")[0], "base64url"));
    for (const kid of kids) {
      await refused(A, [...subject(`${b64u(JSON.stringify({ ...header, kid }))}.${p}.${sig}`), ...target], { reason: "unknown_key" });
    }
    const rows = await s.context.adapter.findMany({ model: "jwks" });
    assert.ok(rows.length >= 1, "the jwks table still has its keys");
    await granted(A, [...subject(own.access), ...target]);
  });

  test("the trusted issuer: unknown_key", async () => {
    for (const kid of kids) {
      await refused(A, [...subject(extToken(extClaims(), { header: { alg: "EdDSA", kid } }), TT.jwt), ...target], {
        reason: "unknown_key",
      });
    }
  });
});

describe("encoding and structure (RFC 7515 §2, §7.1)", () => {
  test("padded base64url, in the header, the payload and the signature", async () => {
    for (const which of ["header", "payload"]) {
      const token = extToken(extClaims({ pad: "x" }), { respell: (seg, part) => (part === which ? padded(seg) : seg) });
      await refused(A, [...subject(token, TT.jwt), ...target], { reason: "malformed_token" });
    }
    const [h, p, sig] = extToken().split(".");
    await refused(A, [...subject(`${h}.${p}.${sig}==`, TT.jwt), ...target], { reason: "malformed_token" });
  });

  test("the standard base64 alphabet (+ and /) instead of base64url", async () => {
    // Six '?' (0x3f) bytes contain an aligned triple, spelled "Pz8_".
    const claims = extClaims({ blob: "??????" });
    const token = extToken(claims, { respell: (seg, part) => (part === "payload" ? seg.replace(/-/g, "+").replace(/_/g, "/") : seg) });
    assert.match(token.split(".")[1], /[+/]/, "the payload is spelled with + or /");
    await refused(A, [...subject(token, TT.jwt), ...target], { reason: "malformed_token" });
  });

  test("non-canonical trailing bits (a second spelling of the same bytes)", async () => {
    // Pad the header so its length is 1 mod 3: the last character then
    // carries 4 unused bits, which must be zero.
    let header = { alg: "EdDSA", kid: "ed-1", typ: "JWT", p: "" };
    while (JSON.stringify(header).length % 3 !== 1) header = { ...header, p: `${header.p}x` };
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const token = extToken(extClaims(), {
      header,
      respell: (seg, part) => {
        if (part !== "header") return seg;
        const last = alphabet.indexOf(seg.at(-1));
        assert.equal(last & 0b1111, 0);
        return seg.slice(0, -1) + alphabet[last | 1];
      },
    });
    // A lenient decoder reads the same header bytes from the re-spelled segment.
    assert.deepEqual(JSON.parse(Buffer.from(token.split(".")[0], "base64url")), header);
    await refused(A, [...subject(token, TT.jwt), ...target], { reason: "malformed_token" });
  });

  test("duplicate JSON member names in the header", async () => {
    for (const header of [
      '{"alg":"EdDSA","kid":"ed-1","kid":"ed-1"}',
      '{"alg":"none","alg":"EdDSA","kid":"ed-1"}',
      '{"alg":"EdDSA","kid":"ed-1","\\u006bid":"ec-1"}',
    ]) {
      await refused(A, [...subject(extToken(extClaims(), { header, alg: "EdDSA" }), TT.jwt), ...target], {
        reason: "duplicate_json_member",
      });
    }
  });

  test("duplicate JSON member names in the payload", async () => {
    const claims = JSON.stringify(extClaims());
    for (const payload of [
      claims.replace('"sub":"ext-alice"', '"sub":"ext-alice","sub":"admin"'),
      claims.replace('"scope":', '"scope":"admin","scope":'),
      claims.replace('"sub":"ext-alice"', '"sub":"ext-alice","s\\u0075b":"admin"'),
    ]) {
      assert.notEqual(payload, claims);
      await refused(A, [...subject(extToken(payload), TT.jwt), ...target], { reason: "duplicate_json_member" });
    }
  });

  test("a trailing garbage segment, or garbage after the signature", async () => {
    const token = extToken();
    await refused(A, [...subject(`${token}.Zm9v`, TT.jwt), ...target], { reason: "malformed_token" });
    // Declared as an access token, a four-part value is no JWT: it is looked
    // up as an opaque token of this server, and is not one.
    await refused(A, [...subject(`${own.access}.Zm9v`), ...target], { reason: "token_inactive" });
    await refused(A, [...subject(`${token}AAAA`, TT.jwt), ...target], { reason: "bad_signature" });
  });
});

describe("token confusion (TX-23, TX-24)", () => {
  test("an ID token presented as an access token", async () => {
    await refused(A, [...subject(own.id, TT.access), ...target], { reason: "token_type_mismatch" });
  });

  test("an access token presented as an ID token", async () => {
    await refused(A, [...subject(own.access, TT.id), ...target], { reason: "token_type_mismatch" });
  });

  test("a refresh token presented as an access token", async () => {
    assert.equal(typeof own.refresh, "string");
    await refused(A, [...subject(own.refresh, TT.access), ...target], { reason: "token_inactive" });
    // As what it is, it is refused too: refresh tokens need the client's policy.
    await refused(A, [...subject(own.refresh, TT.refresh), ...target], { reason: "token_type_not_accepted" });
  });

  test("an untrusted issuer's token signed with its own key under a trusted issuer's kid", async () => {
    const token = extToken(extClaims({ iss: "https://evil.example" }), { header: { alg: "EdDSA", kid: "ed-1" }, key: evil });
    await refused(A, [...subject(token, TT.jwt), ...target], { reason: "untrusted_issuer" });
    // The same with the trusted issuer's real key: still not its issuer.
    const real = extToken(extClaims({ iss: "https://evil.example" }));
    await refused(A, [...subject(real, TT.jwt), ...target], { reason: "untrusted_issuer" });
  });

  test("the trusted issuer's key used to forge a token of this server", async () => {
    const forged = extToken(extClaims({ iss: s.issuer, sub: alice.user.id, client_id: A.client_id }), {
      header: { alg: "EdDSA", kid: "ed-1", typ: "at+jwt" },
    });
    await refused(A, [...subject(forged), ...target], { reason: "unknown_key" });
  });
});

describe("time claims (TX-20)", () => {
  test("expired", async () => {
    await refused(A, [...subject(extToken(extClaims({ iat: now() - 7200, exp: now() - 3600 })), TT.jwt), ...target], {
      reason: "token_expired",
    });
  });

  test("not yet valid (nbf)", async () => {
    await refused(A, [...subject(extToken(extClaims({ nbf: now() + 3600 })), TT.jwt), ...target], { reason: "token_not_yet_valid" });
  });

  test("issued in the far future (iat)", async () => {
    const far = now() + 10 * 365 * 24 * 3600;
    await refused(A, [...subject(extToken(extClaims({ iat: far, exp: far + 600 })), TT.jwt), ...target], {
      reason: "token_issued_in_future",
    });
  });

  test("no exp at all", async () => {
    const { exp: _, ...claims } = extClaims();
    await refused(A, [...subject(extToken(claims), TT.jwt), ...target], { reason: "missing_claim" });
  });
});

describe("whose token, who acts (TX-26, TX-27)", () => {
  test("a subject token held by another client", async () => {
    const bobs = (await s.authorize(alice, B, { scope: "profile orders:read" })).access_token;
    await refused(A, [...subject(bobs), ...target], { reason: "token_holder_mismatch" });
    // Nor may it be slipped in as the actor token.
    await refused(A, [...subject(own.opaque), ...actor(bobs), ...target], { reason: "token_holder_mismatch" });
  });

  test("the actor equal to the subject", async () => {
    await refused(A, [...subject(own.opaque), ...actor(own.opaque), ...target], { reason: "actor_equals_subject" });
    const again = (await s.authorize(alice, A, { scope: "profile" })).access_token;
    await refused(A, [...subject(own.opaque), ...actor(again), ...target], { reason: "actor_equals_subject" });
  });
});

describe("scope and targets (TX-6, TX-30, TX-31)", () => {
  test("upscoping beyond the subject token", async () => {
    // A holds billing:read; Alice's token does not.
    await refused(A, [...subject(own.opaque), ...target, ["scope", "orders:read billing:read"]], {
      error: "invalid_scope",
      reason: "scope_not_allowed",
    });
  });

  test("upscoping beyond the client", async () => {
    for (const scope of ["reports:read", "admin", "orders:read orders:write"]) {
      await refused(A, [...subject(own.opaque), ...target, ["scope", scope]], { error: "invalid_scope", reason: "scope_not_allowed" });
    }
    // A token of the trusted issuer claiming more than the client holds.
    const wide = extToken(extClaims({ scope: "profile orders:read reports:read admin" }));
    await refused(A, [...subject(wide, TT.jwt), ...target, ["scope", "reports:read"]], { error: "invalid_scope", reason: "scope_not_allowed" });
  });

  test("an audience or resource the client may not target", async () => {
    for (const pairs of [
      [["audience", "orders"]], // linked, but not in the client's policy
      [["resource", RES_UNLINKED]], // registered, not linked
      [["audience", "https://evil.example/"]], // not registered at all
      [["audience", "billing"], ["audience", "orders"]], // one bad among good
    ]) {
      await refused(A, [...subject(own.opaque), ...pairs], { error: "invalid_target", reason: "target_not_allowed" });
    }
    // A resource with a fragment, which the provider's own request
    // validation would refuse before the grant: refused by the engine's rule
    // (RFC 8707 §2, invalid_target) and audited like every attempt (TX-60).
    await refused(A, [...subject(own.opaque), ["resource", "https://billing.api.example/#frag"]], {
      error: "invalid_target",
      reason: "invalid_resource",
    });
  });

  test("an audience copied from the subject token is not a grant to target it", async () => {
    const aud = extToken(extClaims({ aud: [EXT_AUD, RES_UNLINKED] }));
    await refused(A, [...subject(aud, TT.jwt), ["resource", RES_UNLINKED]], { error: "invalid_target", reason: "target_not_allowed" });
  });
});

describe("bounded work (TX-25)", () => {
  const nest = (depth) => {
    let act = { sub: "agent-0" };
    for (let i = 1; i < depth; i++) act = { sub: `agent-${i}`, act };
    return act;
  };

  test("a nested act chain past the depth limit", async () => {
    await refused(A, [...subject(extToken(extClaims({ act: nest(6) })), TT.jwt), ...target], { reason: "act_chain_too_deep" });
    // At the limit, one more actor would pass it.
    const agentToken = (await s.authorize(agent, A, { scope: "profile" })).access_token;
    await refused(A, [...subject(extToken(extClaims({ act: nest(5) })), TT.jwt), ...actor(agentToken), ...target], {
      reason: "delegation_too_deep",
    });
  });

  test("a 1 MB token", async () => {
    const huge = `${extToken().split(".")[0]}.${"A".repeat(1024 * 1024)}.AAAA`;
    await refused(A, [...subject(huge, TT.jwt), ...target], { reason: "request_too_large" });
    // Under the body limit, over the token limit (16 KiB).
    const big = extToken(extClaims({ filler: "x".repeat(20 * 1024) }));
    await refused(A, [...subject(big, TT.jwt), ...target], { reason: "token_too_large" });
  });

  test("JSON nested 10,000 deep, in the payload and in the header", async () => {
    const deep = `{"a":${"[".repeat(10_000)}`;
    await refused(A, [...subject(extToken(deep), TT.jwt), ...target], { reason: "json_too_deep" });
    await refused(A, [...subject(extToken(extClaims(), { header: `{"alg":"EdDSA","x":${"[".repeat(10_000)}`, alg: "EdDSA" }), TT.jwt), ...target], {
      reason: "json_too_deep",
    });
    // A well-formed 17-deep value under the size limit: refused the same way.
    const seventeen = JSON.stringify(extClaims({ x: JSON.parse(`${"[".repeat(16)}${"]".repeat(16)}`) }));
    await refused(A, [...subject(extToken(seventeen), TT.jwt), ...target], { reason: "json_too_deep" });
  });
});

describe("client authentication (TX-10)", () => {
  test("a public client authenticating with a made-up secret", async () => {
    for (const method of ["basic", "post"]) {
      const client = { ...PUB, client_secret: "made-up-secret", token_endpoint_auth_method: method === "basic" ? "client_secret_basic" : "client_secret_post" };
      const r = await refused(client, [...subject(own.opaque), ...target], {
        status: 401,
        error: "invalid_client",
        reason: "public_client",
      });
      assert.equal(r.headers.get("www-authenticate"), method === "basic" ? 'Basic realm="oauth"' : null);
    }
  });

  test("a confidential client with another client's secret", async () => {
    await refused(A, [...subject(own.opaque), ...target], {
      status: 401,
      error: "invalid_client",
      reason: "client_authentication_failed",
      secret: B.client_secret,
    });
  });
});
