// TX-29 over HTTP: one token, one identity, whatever the spelling of its
// signature. The server signs its access tokens with ES256 (the jwt
// plugin's P-256 keys), so every token has a second valid signature: the
// ECDSA twin (r, n - s) verifies just as well. A subject token and its twin
// must be one token for lineage and revocation: the audit record's
// `parentTokenHash` is the base64url SHA-256 of the JWS signing input
// (header.payload), both exchanges land in one delegation (one session,
// the issued tokens' `sid`), and revoking what was exchanged from one ends
// what was exchanged from the other. Spellings of a signature that a
// lenient base64url decoder reads as the same bytes (padding, non-zero
// trailing bits, whitespace, the standard alphabet) are refused as
// malformed, and nothing is issued.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import { startServer, subject } from "./helpers/server.mjs";

const RS = "https://orders.api.example/"; // a resource: its access tokens are JWTs
const RES_BILLING = "https://billing.api.example/";
/** The order of P-256's base point. */
const P256_N = BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** `token` with its ES256 signature (r, s) replaced by its twin (r, n - s), canonical base64url. */
function ecdsaTwin(token) {
  const [h, p, sig] = token.split(".");
  const bytes = Buffer.from(sig, "base64url");
  assert.equal(bytes.length, 64, "an ES256 signature is r || s, 32 bytes each");
  const s = BigInt(`0x${bytes.subarray(32).toString("hex")}`);
  const twinS = Buffer.from((P256_N - s).toString(16).padStart(64, "0"), "hex");
  return `${h}.${p}.${Buffer.concat([bytes.subarray(0, 32), twinS]).toString("base64url")}`;
}

/** The identity TX-29 names: base64url SHA-256 of the JWS signing input. */
const signingInputDigest = (token) =>
  createHash("sha256")
    .update(token.slice(0, token.lastIndexOf(".")))
    .digest("base64url");

describe("TX-29: an ECDSA token and its twin are one token", () => {
  let s, A;
  let users = 0;
  let jwks;

  before(async () => {
    s = await startServer({ jwt: { jwks: { keyPairConfig: { alg: "ES256" } } } });
    await s.createResource(RS);
    await s.createResource(RES_BILLING);
    A = await s.createClient("A");
    await s.link(A, [RS, RES_BILLING]);
    jwks = createRemoteJWKSet(new URL(`${s.base}/jwks`));
  });

  after(async () => {
    await s?.stop();
  });

  /** A fresh user's ES256 JWT access token at A. */
  async function jwtSubject() {
    const who = await s.signUp(`user${++users}@example.com`);
    const token = (await s.authorize(who, A, { scope: "profile orders:read", resource: RS })).access_token;
    assert.equal(token.split(".").length, 3, "a JWT access token");
    assert.equal(decodeProtectedHeader(token).alg, "ES256");
    return { who, token };
  }

  /** Both spellings verify with the server's published keys: the twin is a second valid signature. */
  async function assertBothVerify(token, twin) {
    assert.notEqual(twin, token);
    assert.equal(twin.slice(0, twin.lastIndexOf(".")), token.slice(0, token.lastIndexOf(".")), "same signing input");
    for (const t of [token, twin]) await jwtVerify(t, jwks, { issuer: s.issuer, typ: "at+jwt" });
  }

  const lastRecord = async () => (await s.allRecords()).at(-1);

  test("TX-29: the subject token and its twin make one delegation with one parentTokenHash; revoking its token ends both", async () => {
    const { who, token: t0 } = await jwtSubject();
    const twin0 = ecdsaTwin(t0);
    await assertBothVerify(t0, twin0);

    const first = await s.exchange(A, [...subject(t0), ["resource", RES_BILLING]]);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const t1 = first.body.access_token;
    const firstRecord = await lastRecord();
    const second = await s.exchange(A, [...subject(twin0), ["resource", RES_BILLING]]);
    assert.equal(second.status, 200, JSON.stringify(second.body));
    const t2 = second.body.access_token;
    const secondRecord = await lastRecord();
    assert.notEqual(secondRecord.id, firstRecord.id);

    // One identity: the digest of header.payload, not of the whole token.
    assert.equal(secondRecord.parentTokenHash, firstRecord.parentTokenHash, "the twin names the same parent token");
    assert.equal(firstRecord.parentTokenHash, signingInputDigest(t0));
    // One delegation: its session is the sid of both issued tokens.
    assert.equal(secondRecord.sessionId, firstRecord.sessionId, "one delegation session");
    assert.equal(decodeJwt(t1).sid, firstRecord.sessionId);
    assert.equal(decodeJwt(t2).sid, firstRecord.sessionId);
    const [i1, i2] = [(await s.introspect(A, t1)).body, (await s.introspect(A, t2)).body];
    assert.deepEqual([i1.active, i2.active, i1.sub, i2.sub], [true, true, who.user.id, who.user.id]);
    assert.equal(i2.sid, i1.sid);

    // Revoking T1 (RFC 7009, by the client it was issued to) ends T2 too.
    const revoked = await s.revoke(A, t1);
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    assert.equal((await s.introspect(A, t1)).body.active, false, "T1 revoked");
    assert.equal(
      (await s.introspect(A, t2)).body.active,
      false,
      "the twin's exchange is the same delegation, revoked with it",
    );
    assert.equal((await s.introspect(A, t0)).body.active, true, "the subject token itself is not revoked");

    // T1 (an exchanged JWT, revoked) and its twin are no subject tokens any more.
    const twin1 = ecdsaTwin(t1);
    await assertBothVerify(t1, twin1);
    for (const revokedToken of [t1, twin1]) {
      const before = await s.countRows();
      const r = await s.exchange(A, [...subject(revokedToken), ["resource", RES_BILLING]]);
      assert.deepEqual([r.status, r.body.error], [400, "invalid_request"], JSON.stringify(r.body));
      assert.equal(r.body.access_token, undefined);
      assert.equal(await s.countRows(), before + 1);
      const row = await lastRecord();
      assert.equal(row.decision, "refused");
      assert.match(row.reason, /^(session_ended|token_inactive)$/);
    }
  });

  test("TX-29: re-spelled signatures (padding, trailing bits, whitespace, standard alphabet) are malformed; nothing is issued", async () => {
    // Both spellings of one token, and a signature with a '-' or '_' to
    // re-spell in the standard alphabet (a few tokens suffice).
    let pair;
    for (let i = 0; i < 8 && !pair; i++) {
      const { token } = await jwtSubject();
      const candidates = [token, ecdsaTwin(token)];
      if (candidates.some((t) => /[-_]/.test(t.split(".")[2]))) pair = candidates;
    }
    assert.ok(pair, "a signature with - or _");
    await assertBothVerify(pair[0], pair[1]);

    const respellings = {
      padding: (sig) => `${sig}==`,
      "one padding character": (sig) => `${sig}=`,
      "non-zero trailing bits": (sig) => {
        // 64 bytes: the last of 86 characters carries 4 unused bits, zero when canonical.
        const last = ALPHABET.indexOf(sig.at(-1));
        assert.equal(last & 0b1111, 0);
        return sig.slice(0, -1) + ALPHABET[last | 0b0101];
      },
      "a space inside": (sig) => `${sig.slice(0, 40)} ${sig.slice(40)}`,
      "a newline inside": (sig) => `${sig.slice(0, 40)}\n${sig.slice(40)}`,
      "a trailing CRLF": (sig) => `${sig}\r\n`,
      "the standard alphabet": (sig) => sig.replace(/-/g, "+").replace(/_/g, "/"),
    };
    const tokensBefore = await s.countRows("oauthAccessToken");
    let tried = 0;
    for (const token of pair) {
      const [h, p, sig] = token.split(".");
      for (const [name, respell] of Object.entries(respellings)) {
        const spelled = respell(sig);
        if (spelled === sig) continue; // no '-' or '_' in this spelling
        // A lenient decoder reads the very same signature bytes.
        assert.deepEqual(Buffer.from(spelled.replace(/\s/g, ""), "base64url"), Buffer.from(sig, "base64url"), name);
        const before = await s.countRows();
        const r = await s.exchange(A, [...subject(`${h}.${p}.${spelled}`), ["resource", RES_BILLING]]);
        assert.deepEqual([r.status, r.body.error], [400, "invalid_request"], `${name}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.access_token, undefined, `${name}: no token`);
        assert.equal(await s.countRows(), before + 1, `${name}: one audit record`);
        const row = await lastRecord();
        assert.deepEqual([row.decision, row.reason], ["refused", "malformed_token"], name);
        tried++;
      }
    }
    assert.ok(tried >= 13, `${tried} re-spellings tried`);
    assert.equal(await s.countRows("oauthAccessToken"), tokensBefore, "no token row was written");
    // The canonical spellings are still accepted.
    for (const token of pair) {
      const r = await s.exchange(A, [...subject(token), ["resource", RES_BILLING]]);
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
  });
});
