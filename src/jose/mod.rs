//! JOSE: JWS compact verification with keys from JWK Sets.
//!
//! The flow is [`CompactJws::parse`] (structure and header policy, no keys
//! involved), then [`verify`] (key selection by [`KeySet::candidates`] and a
//! [`SignatureVerifier`]), then [`CompactJws::claims`]. Only asymmetric
//! algorithms exist in [`Algorithm`], and the algorithm is always checked
//! against the key (TX-22, RFC 8725 §3.1).

mod alg;
mod ecdsa;
mod error;
mod host;
mod jwk;
mod jws;
mod verifier;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

pub use alg::Algorithm;
pub use error::JoseError;
pub use host::{host_jwk, HostPrimitive, HostVerifier};
pub use jwk::{KeySet, PublicJwk, SkippedKey, JWKS_MAX_KEYS, RSA_MAX_BITS, RSA_MIN_BITS};
pub use jws::{CompactJws, Header};
pub use verifier::{RustCryptoVerifier, SignatureVerifier};

/// Bounds on the work one token may cause (TX-25).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest compact token accepted, in bytes; checked before any decoding.
    pub max_token_bytes: usize,
    /// Deepest nesting of arrays and objects in header, payload and key set JSON.
    pub max_json_depth: usize,
}

impl Limits {
    /// Default token size limit: 16 KiB.
    pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;
    /// Default JSON nesting limit.
    pub const DEFAULT_MAX_JSON_DEPTH: usize = 16;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_token_bytes: Self::DEFAULT_MAX_TOKEN_BYTES,
            max_json_depth: Self::DEFAULT_MAX_JSON_DEPTH,
        }
    }
}

/// Base64url as JWS requires it (RFC 7515 §2, RFC 4648 §5): URL-safe
/// alphabet, padding refused, and trailing bits that do not encode data must
/// be zero, so every value has exactly one accepted spelling.
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// Strict base64url decoding; `None` on any deviation.
pub(crate) fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    B64URL.decode(text).ok()
}

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
