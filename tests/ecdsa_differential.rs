//! The engine's ECDSA (its own code in `src/jose/ecdsa.rs`) checked against
//! an independent implementation, RustCrypto's `p256`, `p384` and `p521`:
//! over random keys and messages, and over the edge cases of signatures and
//! public keys, the engine accepts exactly when the reference does.
//!
//! The engine is reached through its public API only: a JWK read by
//! `KeySet::from_value`, then `RustCryptoVerifier` as a `SignatureVerifier`.
//! The reference verifies with `VerifyingKey::verify_prehash` over the JWS
//! hash (SHA-256, SHA-384, SHA-512 for ES256, ES384, ES512), after reading
//! the key with `VerifyingKey::from_sec1_bytes` and the signature with
//! `Signature::from_slice`; a refusal at either step is a refusal.
//!
//! What was found, and is asserted below so that a change on either side
//! shows: the `ecdsa` crate (0.16) does not normalise `s` when verifying for
//! these curves (only `k256` insists on low `s`), so the high-s twin
//! `(r, n - s)` of a valid signature verifies in both implementations. That
//! is why a token's identity must not depend on its signature's spelling
//! (TX-29): the plugin derives it from what the signature covers. Both
//! refuse `r` or `s` of 0, `n`, `n + 1` or all ones; `1` and `n - 1` are in
//! range and simply do not verify; every length other than `2·size` is
//! refused; and so are points off the curve, coordinates of `p` or more
//! (including `x + p`, the same field element spelled again) and
//! coordinates of the wrong length.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use better_auth_token_exchange::jose::{Algorithm, KeySet, RustCryptoVerifier, SignatureVerifier};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use serde_json::json;
use sha2::Digest as _;

/// Signs a hash with a secret: `(x, y, signature)`, or `None`.
type Sign = fn(&[u8], &[u8]) -> Option<(Vec<u8>, Vec<u8>, Vec<u8>)>;
/// Verifies `(x, y, hash, signature)`: `None` when the key is refused.
type Verify = fn(&[u8], &[u8], &[u8], &[u8]) -> Option<bool>;

/// One curve on both sides.
struct Curve {
    alg: Algorithm,
    crv: &'static str,
    /// Octets of a coordinate and of each of `r` and `s`.
    size: usize,
    /// The group order `n`, big-endian, `size` octets.
    order: Vec<u8>,
    /// The field prime `p`, big-endian, `size` octets (FIPS 186-4 §D.1.2).
    prime: Vec<u8>,
    hash: fn(&[u8]) -> Vec<u8>,
    /// Signs `hash` with the secret scalar; `None` when the octets are not a
    /// valid secret. Gives `(x, y, signature)`.
    sign: Sign,
    /// The reference's verdict; `None` when it refuses the key itself.
    verify: Verify,
}

/// A deterministic stand-in for a random source (splitmix64): signing
/// needs one, and a test must read the same on every run.
struct FixedRng(u64);

impl p256::elliptic_curve::rand_core::RngCore for FixedRng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }

    fn try_fill_bytes(
        &mut self,
        dest: &mut [u8],
    ) -> Result<(), p256::elliptic_curve::rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl p256::elliptic_curve::rand_core::CryptoRng for FixedRng {}

macro_rules! reference {
    ($krate:ident) => {
        (
            |secret: &[u8], hash: &[u8]| {
                use $krate::ecdsa::signature::hazmat::RandomizedPrehashSigner as _;
                let key = $krate::ecdsa::SigningKey::from_slice(secret).ok()?;
                // p521 signs only with a random source: a fixed one keeps
                // every run the same.
                let sig: $krate::ecdsa::Signature = key
                    .sign_prehash_with_rng(&mut FixedRng(u64::from(secret[0]) + 1), hash)
                    .ok()?;
                let point = $krate::ecdsa::VerifyingKey::from(&key).to_encoded_point(false);
                Some((
                    point.x()?.to_vec(),
                    point.y()?.to_vec(),
                    sig.to_bytes().to_vec(),
                ))
            },
            |x: &[u8], y: &[u8], hash: &[u8], sig: &[u8]| {
                use $krate::ecdsa::signature::hazmat::PrehashVerifier as _;
                let sec1 = [&[4u8][..], x, y].concat();
                let key = $krate::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).ok()?;
                Some(
                    $krate::ecdsa::Signature::from_slice(sig)
                        .is_ok_and(|sig| key.verify_prehash(hash, &sig).is_ok()),
                )
            },
        )
    };
}

fn hex(text: &str) -> Vec<u8> {
    hex::decode(text).unwrap()
}

fn curves() -> [Curve; 3] {
    let (sign256, verify256) = reference!(p256);
    let (sign384, verify384) = reference!(p384);
    let (sign521, verify521) = reference!(p521);
    [
        Curve {
            alg: Algorithm::Es256,
            crv: "P-256",
            size: 32,
            order: hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"),
            prime: hex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff"),
            hash: |m| sha2::Sha256::digest(m).to_vec(),
            sign: sign256,
            verify: verify256,
        },
        Curve {
            alg: Algorithm::Es384,
            crv: "P-384",
            size: 48,
            order: hex(concat!(
                "ffffffffffffffffffffffffffffffffffffffffffffffff",
                "c7634d81f4372ddf581a0db248b0a77aecec196accc52973"
            )),
            prime: hex(concat!(
                "ffffffffffffffffffffffffffffffffffffffffffffffff",
                "fffffffffffffffeffffffff0000000000000000ffffffff"
            )),
            hash: |m| sha2::Sha384::digest(m).to_vec(),
            sign: sign384,
            verify: verify384,
        },
        Curve {
            alg: Algorithm::Es512,
            crv: "P-521",
            size: 66,
            order: hex(concat!(
                "01ffffffffffffffffffffffffffffffffffffffffff",
                "fffffffffffffffffffffffa51868783bf2f966b7fcc",
                "0148f709a5d03bb5c9b8899c47aebb6fb71e91386409"
            )),
            // 2^521 - 1.
            prime: [vec![0x01], vec![0xff; 65]].concat(),
            hash: |m| sha2::Sha512::digest(m).to_vec(),
            sign: sign521,
            verify: verify521,
        },
    ]
}

/// The engine's verdict; `None` when it refuses the key itself.
fn engine(curve: &Curve, x: &[u8], y: &[u8], message: &[u8], sig: &[u8]) -> Option<bool> {
    let jwk = json!({
        "kty": "EC", "crv": curve.crv,
        "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
    });
    let (keys, _) = KeySet::from_value(&jwk).unwrap();
    let key = keys.iter().next()?;
    Some(
        RustCryptoVerifier
            .verify(curve.alg, key, message, sig)
            .is_ok(),
    )
}

/// Both verdicts, which must agree; returns the common one.
fn agree(
    curve: &Curve,
    case: &str,
    x: &[u8],
    y: &[u8],
    message: &[u8],
    sig: &[u8],
) -> Option<bool> {
    let ours = engine(curve, x, y, message, sig);
    let theirs = (curve.verify)(x, y, &(curve.hash)(message), sig);
    assert_eq!(
        ours, theirs,
        "{}: {case}: engine {ours:?}, reference {theirs:?}",
        curve.crv
    );
    ours
}

/// Big-endian `a + b` (or `a - b`), same width as `a`; `None` on overflow
/// (or a negative result).
fn add(a: &[u8], b: &[u8]) -> Option<Vec<u8>> {
    let mut out = vec![0u8; a.len()];
    let mut carry = 0u16;
    for i in (0..a.len()).rev() {
        let bi = (i + b.len()).checked_sub(a.len()).map_or(0, |j| b[j]);
        let v = u16::from(a[i]) + u16::from(bi) + carry;
        out[i] = v as u8;
        carry = v >> 8;
    }
    (carry == 0).then_some(out)
}

fn sub(a: &[u8], b: &[u8]) -> Option<Vec<u8>> {
    let mut out = vec![0u8; a.len()];
    let mut borrow = 0i16;
    for i in (0..a.len()).rev() {
        let bi = (i + b.len()).checked_sub(a.len()).map_or(0, |j| b[j]);
        let mut v = i16::from(a[i]) - i16::from(bi) - borrow;
        borrow = i16::from(v < 0);
        if v < 0 {
            v += 256;
        }
        out[i] = v as u8;
    }
    (borrow == 0).then_some(out)
}

/// A valid signature to start from: a fixed secret, a fixed message.
fn valid(curve: &Curve) -> (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut secret = vec![0x5au8; curve.size];
    secret[0] = 0x01;
    let message = b"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9".to_vec();
    let (x, y, sig) = (curve.sign)(&secret, &(curve.hash)(&message)).unwrap();
    (x, y, message, sig)
}

#[test]
fn high_s_twins_verify_in_both_implementations() {
    for curve in curves() {
        let (x, y, message, sig) = valid(&curve);
        assert_eq!(agree(&curve, "valid", &x, &y, &message, &sig), Some(true));
        let (r, s) = sig.split_at(curve.size);
        let twin_s = sub(&curve.order, s).unwrap();
        let twin = [r, &twin_s[..]].concat();
        assert_ne!(twin, sig);
        // Recorded behaviour: neither side normalises s.
        assert_eq!(
            agree(&curve, "high-s twin (r, n - s)", &x, &y, &message, &twin),
            Some(true)
        );
    }
}

#[test]
fn out_of_range_scalars_and_wrong_lengths_are_refused_alike() {
    for curve in curves() {
        let (x, y, message, sig) = valid(&curve);
        let (r, s) = sig.split_at(curve.size);
        let n = &curve.order;
        let one = {
            let mut v = vec![0u8; curve.size];
            v[curve.size - 1] = 1;
            v
        };
        let edges: Vec<(&str, Vec<u8>)> = vec![
            ("0", vec![0u8; curve.size]),
            ("1", one.clone()),
            ("n - 1", sub(n, &one).unwrap()),
            ("n", n.clone()),
            ("n + 1", add(n, &one).unwrap()),
            ("all ones", vec![0xff; curve.size]),
        ];
        for (name, value) in &edges {
            for (which, sig) in [
                ("r", [&value[..], s].concat()),
                ("s", [r, &value[..]].concat()),
            ] {
                let verdict = agree(&curve, &format!("{which} = {name}"), &x, &y, &message, &sig);
                assert_eq!(verdict, Some(false), "{}: {which} = {name}", curve.crv);
            }
        }
        // r + n is r again modulo n, spelled out of range.
        if let Some(r_plus_n) = add(r, n) {
            let sig = [&r_plus_n[..], s].concat();
            assert_eq!(agree(&curve, "r + n", &x, &y, &message, &sig), Some(false));
        }
        let lengths: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("one octet short", sig[1..].to_vec()),
            ("one octet long", [&sig[..], &[0u8]].concat()),
            ("leading zero", [&[0u8][..], &sig[..]].concat()),
            ("r only", r.to_vec()),
            ("twice", [&sig[..], &sig[..]].concat()),
        ];
        for (name, sig) in &lengths {
            assert_eq!(
                agree(&curve, name, &x, &y, &message, sig),
                Some(false),
                "{name}"
            );
        }
    }
}

#[test]
fn public_keys_off_the_curve_out_of_range_or_misshapen_are_refused_alike() {
    for curve in curves() {
        let (x, y, message, sig) = valid(&curve);
        let p = &curve.prime;
        let mut off = y.clone();
        off[curve.size - 1] ^= 1;
        let zero = vec![0u8; curve.size];
        let mut keys: Vec<(&str, Vec<u8>, Vec<u8>)> = vec![
            ("off the curve", x.clone(), off),
            ("origin", zero.clone(), zero.clone()),
            ("x = p", p.clone(), y.clone()),
            ("y = p", x.clone(), p.clone()),
            ("x all ones", vec![0xff; curve.size], y.clone()),
            ("x short", x[1..].to_vec(), y.clone()),
            ("y short", x.clone(), y[1..].to_vec()),
            ("x long", [&[0u8][..], &x[..]].concat(), y.clone()),
            ("empty", Vec::new(), Vec::new()),
        ];
        // x + p and y + p name the same field elements; on P-521 they fit.
        if let Some(x_plus_p) = add(&x, p) {
            keys.push(("x + p", x_plus_p, y.clone()));
        }
        if let Some(y_plus_p) = add(&y, p) {
            keys.push(("y + p", x.clone(), y_plus_p));
        }
        if curve.size == 66 {
            assert!(keys.iter().any(|(name, ..)| *name == "x + p"));
        }
        for (name, kx, ky) in &keys {
            assert_eq!(agree(&curve, name, kx, ky, &message, &sig), None, "{name}");
        }
        // -Q = (x, p - y) is a valid key, but not the signer's.
        let minus_y = sub(p, &y).unwrap();
        assert_eq!(
            agree(&curve, "-Q", &x, &minus_y, &message, &sig),
            Some(false)
        );
    }
}

/// Random keys and messages: a signature verifies on both sides, and the
/// same signature with one bit changed, or over another message, on none.
fn random_agreement(
    curve: &Curve,
    secret: &[u8],
    message: &[u8],
    flip: usize,
) -> Result<(), TestCaseError> {
    let Some((x, y, sig)) = (curve.sign)(secret, &(curve.hash)(message)) else {
        // Not a valid secret (zero, or not below n): nothing to compare.
        return Ok(());
    };
    prop_assert_eq!(agree(curve, "random", &x, &y, message, &sig), Some(true));
    let mut bent = sig.clone();
    let at = flip % bent.len();
    bent[at] ^= 1 << (flip % 8);
    prop_assert_eq!(
        agree(curve, "one bit changed", &x, &y, message, &bent),
        Some(false)
    );
    let other = [message, b"."].concat();
    prop_assert_eq!(
        agree(curve, "other message", &x, &y, &other, &sig),
        Some(false)
    );
    Ok(())
}

/// Case counts for the debug test profile: P-521 costs the most on both sides.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(0x8693),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(24))]
    #[test]
    fn es256_random_keys_and_messages_agree(
        secret in proptest::collection::vec(any::<u8>(), 32),
        message in proptest::collection::vec(any::<u8>(), 0..96),
        flip in any::<usize>(),
    ) {
        random_agreement(&curves()[0], &secret, &message, flip)?;
    }
}

proptest! {
    #![proptest_config(config(12))]
    #[test]
    fn es384_random_keys_and_messages_agree(
        secret in proptest::collection::vec(any::<u8>(), 48),
        message in proptest::collection::vec(any::<u8>(), 0..96),
        flip in any::<usize>(),
    ) {
        random_agreement(&curves()[1], &secret, &message, flip)?;
    }
}

proptest! {
    #![proptest_config(config(6))]
    #[test]
    fn es512_random_keys_and_messages_agree(
        // The top octet of a P-521 secret holds one bit.
        secret in (0u8..=1, proptest::collection::vec(any::<u8>(), 65))
            .prop_map(|(top, rest)| [vec![top], rest].concat()),
        message in proptest::collection::vec(any::<u8>(), 0..96),
        flip in any::<usize>(),
    ) {
        random_agreement(&curves()[2], &secret, &message, flip)?;
    }
}
