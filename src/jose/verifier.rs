//! Signature primitives behind a trait, so a host can supply a faster one.

use rsa::signature::Verifier as _;
use sha2::{Digest as _, Sha256, Sha384, Sha512};

use super::key::{KeyMaterial, PublicJwk};
use super::{Algorithm, JoseError};

/// Checks one signature with one key. The key set has already decided that
/// `key` accepts `alg`; implementations must still refuse any pair that does
/// not fit rather than fall back to another algorithm.
///
/// The built-in implementation is [`RustCryptoVerifier`]; a host (for example
/// JavaScript's WebCrypto or `node:crypto`) can provide another from
/// [`PublicJwk::jwk`].
pub trait SignatureVerifier {
    /// `Ok(())` only if `signature` is a valid `alg` signature of `message`
    /// under `key`. A wrong signature is [`JoseError::BadSignature`].
    fn verify(
        &self,
        alg: Algorithm,
        key: &PublicJwk,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), JoseError>;
}

/// Pure-Rust verification (builds for wasm32): the RustCrypto crates, and
/// for ECDSA this crate's own compact verification.
///
/// - EdDSA: Ed25519 strict verification (RFC 8032 §5.1.7, refusing
///   non-canonical `S`, small-order keys and small-order `R`).
/// - ES256/384/512: ECDSA verification of SEC 1 §4.1.4 with SHA-256/384/512;
///   the JWS signature is the fixed-length `R || S` of RFC 7518 §3.4 (64, 96
///   or 132 octets), any other length is refused, and `r`, `s` must lie in
///   `[1, n-1]`.
/// - RS256/384/512: RSASSA-PKCS1-v1_5 (RFC 7518 §3.3); the signature must be
///   exactly as long as the modulus and smaller than it.
/// - PS256/384/512: RSASSA-PSS with MGF1 over the same hash and a salt as
///   long as the hash (RFC 7518 §3.5), checked exactly.
#[derive(Debug, Clone, Copy, Default)]
pub struct RustCryptoVerifier;

impl SignatureVerifier for RustCryptoVerifier {
    fn verify(
        &self,
        alg: Algorithm,
        key: &PublicJwk,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), JoseError> {
        let bad = |_| JoseError::BadSignature;
        match (alg, &key.material) {
            (Algorithm::EdDsa, KeyMaterial::Ed25519(vk)) => {
                let sig = ed25519_dalek::Signature::from_slice(signature).map_err(bad)?;
                vk.verify_strict(message, &sig).map_err(bad)
            }
            (Algorithm::Es256, KeyMaterial::P256(key)) => {
                ecdsa_result(key.verify_prehash(&Sha256::digest(message), signature))
            }
            (Algorithm::Es384, KeyMaterial::P384(key)) => {
                ecdsa_result(key.verify_prehash(&Sha384::digest(message), signature))
            }
            (Algorithm::Es512, KeyMaterial::P521(key)) => {
                ecdsa_result(key.verify_prehash(&Sha512::digest(message), signature))
            }
            (Algorithm::Rs256, KeyMaterial::Rsa(k)) => pkcs1v15::<Sha256>(k, message, signature),
            (Algorithm::Rs384, KeyMaterial::Rsa(k)) => pkcs1v15::<Sha384>(k, message, signature),
            (Algorithm::Rs512, KeyMaterial::Rsa(k)) => pkcs1v15::<Sha512>(k, message, signature),
            (Algorithm::Ps256, KeyMaterial::Rsa(k)) => pss::<Sha256>(k, message, signature),
            (Algorithm::Ps384, KeyMaterial::Rsa(k)) => pss::<Sha384>(k, message, signature),
            (Algorithm::Ps512, KeyMaterial::Rsa(k)) => pss::<Sha512>(k, message, signature),
            _ => Err(JoseError::AlgorithmKeyMismatch),
        }
    }
}

fn ecdsa_result(valid: bool) -> Result<(), JoseError> {
    if valid {
        Ok(())
    } else {
        Err(JoseError::BadSignature)
    }
}

fn pkcs1v15<D>(key: &rsa::RsaPublicKey, message: &[u8], signature: &[u8]) -> Result<(), JoseError>
where
    D: sha2::Digest + rsa::pkcs8::AssociatedOid,
{
    // The signature type keeps the input length, so the library can refuse
    // one whose length differs from the modulus (RFC 8017 §8.2.2 step 1).
    let sig = rsa::pkcs1v15::Signature::try_from(signature).map_err(|_| JoseError::BadSignature)?;
    rsa::pkcs1v15::VerifyingKey::<D>::new(key.clone())
        .verify(message, &sig)
        .map_err(|_| JoseError::BadSignature)
}

fn pss<D>(key: &rsa::RsaPublicKey, message: &[u8], signature: &[u8]) -> Result<(), JoseError>
where
    D: sha2::Digest + sha2::digest::FixedOutputReset,
{
    let sig = rsa::pss::Signature::try_from(signature).map_err(|_| JoseError::BadSignature)?;
    // `new` fixes the salt length to the hash length, and verification checks
    // it exactly rather than recovering it from the padding.
    rsa::pss::VerifyingKey::<D>::new(key.clone())
        .verify(message, &sig)
        .map_err(|_| JoseError::BadSignature)
}
