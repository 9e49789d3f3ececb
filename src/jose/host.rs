//! Signature checks answered by the host (for example `node:crypto`), with
//! every policy decision kept here.
//!
//! [`HostVerifier`] is a [`SignatureVerifier`] over a [`HostPrimitive`]: a
//! function that only answers "does this signature verify with this key".
//! Before asking it, this module has already decided everything else: the key
//! set chose the key and checked that it accepts the algorithm (TX-22), the
//! key itself was parsed and checked here (point on the curve, RSA size, weak
//! Ed25519 keys), and the signature's encoding is checked below exactly as
//! the built-in path checks it (lengths, canonical Ed25519 `S`, small-order
//! `R`). A host that cannot answer (it throws, or lacks the algorithm) makes
//! the built-in [`RustCryptoVerifier`] answer instead.

use rsa::traits::PublicKeyParts as _;

use super::key::{KeyMaterial, PublicJwk};
use super::{Algorithm, JoseError, RustCryptoVerifier, SignatureVerifier};

/// A host's synchronous signature check.
pub trait HostPrimitive {
    /// Whether `signature` is a valid `alg` signature of `message` under the
    /// key `key_jwk` (the public JWK as JSON text with only the members that
    /// define the key: `kty`, `crv`, `x`, `y`, `n`, `e`). `None` when the
    /// host cannot answer; the built-in verification answers instead.
    fn verify(&self, alg: &str, key_jwk: &str, message: &[u8], signature: &[u8]) -> Option<bool>;
}

/// A [`SignatureVerifier`] that asks a [`HostPrimitive`] for the arithmetic.
#[derive(Debug, Clone, Default)]
pub struct HostVerifier<H> {
    host: H,
}

impl<H: HostPrimitive> HostVerifier<H> {
    /// Wraps a host primitive.
    pub fn new(host: H) -> Self {
        Self { host }
    }
}

impl<H: HostPrimitive> SignatureVerifier for HostVerifier<H> {
    fn verify(
        &self,
        alg: Algorithm,
        key: &PublicJwk,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), JoseError> {
        check_encoding(alg, &key.material, signature)?;
        let Some(jwk) = host_jwk(key) else {
            return RustCryptoVerifier.verify(alg, key, message, signature);
        };
        match self.host.verify(alg.name(), jwk, message, signature) {
            Some(true) => Ok(()),
            Some(false) => Err(JoseError::BadSignature),
            None => RustCryptoVerifier.verify(alg, key, message, signature),
        }
    }
}

/// The checks the built-in path makes before any arithmetic, so that a host
/// library's leniency (say a shorter RSA signature, a non-canonical Ed25519
/// `S`) cannot widen what verifies.
fn check_encoding(alg: Algorithm, key: &KeyMaterial, signature: &[u8]) -> Result<(), JoseError> {
    let expected = match (alg, key) {
        (Algorithm::EdDsa, KeyMaterial::Ed25519(_)) => {
            // RFC 8032 §5.1.7: S must be below the group order; and, as the
            // built-in strict verification does, R must not be of small order.
            let (r, s) = signature
                .split_at_checked(32)
                .ok_or(JoseError::BadSignature)?;
            if s.len() != 32 || !below_order(s) || SMALL_ORDER.iter().any(|p| p == r) {
                return Err(JoseError::BadSignature);
            }
            return Ok(());
        }
        // RFC 7518 §3.4: R || S, each exactly the size of the curve order.
        (Algorithm::Es256, KeyMaterial::P256(_)) => 64,
        (Algorithm::Es384, KeyMaterial::P384(_)) => 96,
        (Algorithm::Es512, KeyMaterial::P521(_)) => 132,
        // RFC 8017 §8.2.2 step 1 and §8.1.2 step 1: exactly the modulus length.
        (
            Algorithm::Rs256
            | Algorithm::Rs384
            | Algorithm::Rs512
            | Algorithm::Ps256
            | Algorithm::Ps384
            | Algorithm::Ps512,
            KeyMaterial::Rsa(k),
        ) => k.size(),
        _ => return Err(JoseError::AlgorithmKeyMismatch),
    };
    if signature.len() == expected {
        Ok(())
    } else {
        Err(JoseError::BadSignature)
    }
}

/// The Ed25519 group order `L` (RFC 8032 §5.1), little-endian.
const ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// Whether the little-endian 32-octet `s` is below `L`.
fn below_order(s: &[u8]) -> bool {
    // Compare from the most significant octet down.
    for (a, b) in s.iter().rev().zip(ORDER.iter().rev()) {
        if a != b {
            return a < b;
        }
    }
    false
}

/// The canonical encodings of the eight points of small order on
/// edwards25519 (the torsion subgroup). A host compares the encoding of the
/// point it computes with the `R` octets, so a non-canonical encoding never
/// verifies there; the canonical ones are refused here.
const SMALL_ORDER: [[u8; 32]; 8] = [
    [
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ],
    [
        199, 23, 106, 112, 61, 77, 216, 79, 186, 60, 11, 118, 13, 16, 103, 15, 42, 32, 83, 250, 44,
        57, 204, 198, 78, 199, 253, 119, 146, 172, 3, 122,
    ],
    [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 128,
    ],
    [
        38, 232, 149, 143, 194, 178, 39, 176, 69, 195, 244, 137, 242, 239, 152, 240, 213, 223, 172,
        5, 211, 198, 51, 57, 177, 56, 2, 136, 109, 83, 252, 5,
    ],
    [
        236, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 127,
    ],
    [
        38, 232, 149, 143, 194, 178, 39, 176, 69, 195, 244, 137, 242, 239, 152, 240, 213, 223, 172,
        5, 211, 198, 51, 57, 177, 56, 2, 136, 109, 83, 252, 133,
    ],
    [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ],
    [
        199, 23, 106, 112, 61, 77, 216, 79, 186, 60, 11, 118, 13, 16, 103, 15, 42, 32, 83, 250, 44,
        57, 204, 198, 78, 199, 253, 119, 146, 172, 3, 250,
    ],
];

/// The key as the host imports it: a JWK with only the members that define
/// the key (`kty`, `crv`, `x`, `y`, `n`, `e`), as JSON text built once when
/// the key was parsed. `None` if a member is somehow missing.
pub fn host_jwk(key: &PublicJwk) -> Option<&str> {
    key.host_jwk.as_deref()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::KeySet;
    use std::cell::Cell;

    /// A host that answers with the built-in path and counts its calls.
    #[derive(Default)]
    struct Counting {
        calls: Cell<usize>,
        answer: Option<bool>,
    }

    impl HostPrimitive for Counting {
        fn verify(&self, _: &str, _: &str, _: &[u8], _: &[u8]) -> Option<bool> {
            self.calls.set(self.calls.get() + 1);
            self.answer
        }
    }

    fn ed_key() -> PublicJwk {
        let signing = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let x = base64::Engine::encode(
            &crate::jose::base64url::B64URL,
            signing.verifying_key().as_bytes(),
        );
        let (set, _) =
            KeySet::from_value(&serde_json::json!({"kty":"OKP","crv":"Ed25519","x":x})).unwrap();
        let key = set.iter().next().unwrap().clone();
        key
    }

    #[test]
    fn the_torsion_table_is_the_eight_small_order_points() {
        let torsion: Vec<[u8; 32]> = curve25519_dalek::constants::EIGHT_TORSION
            .iter()
            .map(|p| p.compress().to_bytes())
            .collect();
        for point in &SMALL_ORDER {
            assert!(torsion.contains(point));
        }
        for point in &torsion {
            assert!(SMALL_ORDER.contains(point));
        }
    }

    #[test]
    fn below_order_matches_canonical_scalars() {
        let mut l_minus_one = ORDER;
        l_minus_one[0] -= 1;
        assert!(below_order(&l_minus_one));
        assert!(!below_order(&ORDER));
        let mut l_plus_one = ORDER;
        l_plus_one[0] += 1;
        assert!(!below_order(&l_plus_one));
        assert!(below_order(&[0u8; 32]));
        assert!(!below_order(&[0xff; 32]));
        for s in [ORDER, l_minus_one, l_plus_one, [0u8; 32], [0xff; 32]] {
            let canonical = Option::<curve25519_dalek::Scalar>::from(
                curve25519_dalek::Scalar::from_canonical_bytes(s),
            )
            .is_some();
            assert_eq!(below_order(&s), canonical);
        }
    }

    #[test]
    fn encodings_the_built_in_path_refuses_never_reach_the_host() {
        let key = ed_key();
        let host = HostVerifier::new(Counting {
            answer: Some(true),
            ..Default::default()
        });
        let mut bad_s = [0u8; 64];
        bad_s[32..].copy_from_slice(&ORDER);
        let mut small_r = [0u8; 64];
        small_r[..32].copy_from_slice(&SMALL_ORDER[0]);
        for sig in [&[0u8; 63][..], &[0u8; 65][..], &bad_s[..], &small_r[..]] {
            assert_eq!(
                host.verify(Algorithm::EdDsa, &key, b"m", sig),
                Err(JoseError::BadSignature)
            );
        }
        assert_eq!(
            host.verify(Algorithm::Es256, &key, b"m", &[1u8; 64]),
            Err(JoseError::AlgorithmKeyMismatch)
        );
        assert_eq!(host.host.calls.get(), 0);
        // A well-formed signature is the host's to judge.
        assert_eq!(
            host.verify(Algorithm::EdDsa, &key, b"m", &[1u8; 64]),
            Ok(())
        );
        assert_eq!(host.host.calls.get(), 1);
    }

    #[test]
    fn a_host_that_cannot_answer_leaves_it_to_the_built_in_path() {
        use ed25519_dalek::Signer as _;
        let signing = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let key = ed_key();
        let host = HostVerifier::new(Counting::default());
        let sig = signing.sign(b"message").to_bytes();
        assert_eq!(
            host.verify(Algorithm::EdDsa, &key, b"message", &sig),
            Ok(())
        );
        assert_eq!(
            host.verify(Algorithm::EdDsa, &key, b"other", &sig),
            Err(JoseError::BadSignature)
        );
        assert_eq!(host.host.calls.get(), 2);
    }

    #[test]
    fn the_host_jwk_holds_only_the_key() {
        let key = ed_key();
        let text = host_jwk(&key).unwrap();
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(value["kty"], "OKP");
        assert_eq!(value["crv"], "Ed25519");
        assert_eq!(value.as_object().unwrap().len(), 3);
    }
}
