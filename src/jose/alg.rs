//! The asymmetric JWS algorithms this engine verifies (RFC 7518 §3, RFC 8037 §3.1).

use std::fmt;

/// A JWS signature algorithm the engine can verify.
///
/// Only asymmetric algorithms exist here on purpose: `none` and the HMAC
/// family are unrepresentable, so no code path can verify a token with them
/// (RFC 8725 §3.1 and §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// EdDSA with Ed25519 (RFC 8037 §3.1; also named `Ed25519`, RFC 9864).
    EdDsa,
    /// ECDSA with P-256 and SHA-256 (RFC 7518 §3.4).
    Es256,
    /// ECDSA with P-384 and SHA-384 (RFC 7518 §3.4).
    Es384,
    /// ECDSA with P-521 and SHA-512 (RFC 7518 §3.4).
    Es512,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3).
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384 (RFC 7518 §3.3).
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512 (RFC 7518 §3.3).
    Rs512,
    /// RSASSA-PSS with SHA-256, MGF1 with SHA-256 (RFC 7518 §3.5).
    Ps256,
    /// RSASSA-PSS with SHA-384, MGF1 with SHA-384 (RFC 7518 §3.5).
    Ps384,
    /// RSASSA-PSS with SHA-512, MGF1 with SHA-512 (RFC 7518 §3.5).
    Ps512,
}

impl Algorithm {
    /// Every supported algorithm, in a fixed order.
    pub const ALL: [Algorithm; 10] = [
        Algorithm::EdDsa,
        Algorithm::Es256,
        Algorithm::Es384,
        Algorithm::Es512,
        Algorithm::Rs256,
        Algorithm::Rs384,
        Algorithm::Rs512,
        Algorithm::Ps256,
        Algorithm::Ps384,
        Algorithm::Ps512,
    ];

    /// Looks up a JWS `alg` value (case-sensitive, RFC 7515 §4.1.1).
    ///
    /// `Ed25519` (RFC 9864's fully-specified name) maps to [`Algorithm::EdDsa`]:
    /// the only EdDSA curve this engine supports is Ed25519, so the two names
    /// select the same verification.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "EdDSA" | "Ed25519" => Algorithm::EdDsa,
            "ES256" => Algorithm::Es256,
            "ES384" => Algorithm::Es384,
            "ES512" => Algorithm::Es512,
            "RS256" => Algorithm::Rs256,
            "RS384" => Algorithm::Rs384,
            "RS512" => Algorithm::Rs512,
            "PS256" => Algorithm::Ps256,
            "PS384" => Algorithm::Ps384,
            "PS512" => Algorithm::Ps512,
            _ => return None,
        })
    }

    /// The registered JWS `alg` name (RFC 7518 §3.1, RFC 8037 §3.1).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::EdDsa => "EdDSA",
            Algorithm::Es256 => "ES256",
            Algorithm::Es384 => "ES384",
            Algorithm::Es512 => "ES512",
            Algorithm::Rs256 => "RS256",
            Algorithm::Rs384 => "RS384",
            Algorithm::Rs512 => "RS512",
            Algorithm::Ps256 => "PS256",
            Algorithm::Ps384 => "PS384",
            Algorithm::Ps512 => "PS512",
        }
    }

    /// Position in [`Algorithm::ALL`], used to index per-algorithm tables.
    pub(crate) fn index(self) -> usize {
        match self {
            Algorithm::EdDsa => 0,
            Algorithm::Es256 => 1,
            Algorithm::Es384 => 2,
            Algorithm::Es512 => 3,
            Algorithm::Rs256 => 4,
            Algorithm::Rs384 => 5,
            Algorithm::Rs512 => 6,
            Algorithm::Ps256 => 7,
            Algorithm::Ps384 => 8,
            Algorithm::Ps512 => 9,
        }
    }

    /// For an `alg` value we refuse, a fixed copy of its name when it is a
    /// well-known one, so error messages can name it without echoing input.
    pub(crate) fn known_refused_name(name: &str) -> Option<&'static str> {
        const KNOWN: [&str; 7] = ["none", "HS256", "HS384", "HS512", "ES256K", "Ed448", "RS1"];
        KNOWN.iter().copied().find(|k| *k == name)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (i, alg) in Algorithm::ALL.iter().enumerate() {
            assert_eq!(Algorithm::from_name(alg.name()), Some(*alg));
            assert_eq!(alg.index(), i);
        }
        assert_eq!(Algorithm::from_name("Ed25519"), Some(Algorithm::EdDsa));
        for refused in [
            "none", "None", "HS256", "HS384", "HS512", "es256", "", "RSA-OAEP",
        ] {
            assert_eq!(Algorithm::from_name(refused), None);
        }
        assert_eq!(Algorithm::known_refused_name("HS256"), Some("HS256"));
        assert_eq!(Algorithm::known_refused_name("whatever"), None);
    }
}
