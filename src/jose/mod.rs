//! JOSE: JWS compact verification with keys from JWK Sets.
//!
//! The flow is [`CompactJws::parse`] (structure and header policy, no keys
//! involved), then [`verify`] (key selection by [`KeySet::candidates`] and a
//! [`SignatureVerifier`]), then [`CompactJws::claims`]. Only asymmetric
//! algorithms exist in [`Algorithm`], and the algorithm is always checked
//! against the key (TX-22, RFC 8725 §3.1).

mod alg;
mod base64url;
mod ecdsa;
mod error;
mod host;
mod jwk;
mod jws;
mod key;
mod limits;
mod verifier;

pub use alg::Algorithm;
pub use error::JoseError;
pub use host::{host_jwk, HostPrimitive, HostVerifier};
pub use jwk::{KeySet, SkippedKey, JWKS_MAX_KEYS, RSA_MAX_BITS, RSA_MIN_BITS};
pub use jws::{CompactJws, Header};
pub use key::PublicJwk;
pub use limits::Limits;
pub use verifier::{RustCryptoVerifier, SignatureVerifier};

/// Verifies `jws` against `keys`: [`KeySet::candidates`] selects the keys
/// that may be used, then the first candidate that verifies wins; if none
/// does, [`JoseError::BadSignature`].
pub fn verify(
    jws: &CompactJws<'_>,
    keys: &KeySet,
    verifier: &dyn SignatureVerifier,
) -> Result<(), JoseError> {
    verify_with_key(jws, keys, verifier).map(|_| ())
}

/// Like [`verify`], and also returns the key that verified (for audit records
/// or `kid`-specific policy).
pub fn verify_with_key<'k>(
    jws: &CompactJws<'_>,
    keys: &'k KeySet,
    verifier: &dyn SignatureVerifier,
) -> Result<&'k PublicJwk, JoseError> {
    let header = jws.header();
    for key in keys.candidates(header)? {
        // Belt and braces: candidates() already filtered on this.
        if !key.accepts(header.alg) {
            continue;
        }
        if verifier
            .verify(header.alg, key, jws.signing_input(), jws.signature())
            .is_ok()
        {
            return Ok(key);
        }
    }
    Err(JoseError::BadSignature)
}

#[cfg(test)]
mod tests;
