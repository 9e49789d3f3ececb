//! The JOSE layer's error type.

use std::fmt;

use crate::json::JsonError;
use crate::reason::Reason;

/// Why a token or key set was refused.
///
/// [`JoseError::code`] gives a stable [`Reason`] to switch on;
/// [`JoseError::description`] (and `Display`) says what failed in words.
/// Neither ever contains token contents or key material: variants carry only
/// fixed reason strings and numbers chosen by this crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoseError {
    /// The token is longer than the configured limit (TX-25); nothing was decoded.
    TokenTooLarge {
        /// The limit in bytes that was exceeded.
        limit: usize,
    },
    /// The token is not a well-formed JWS compact serialization; the reason is
    /// a fixed phrase naming the part that failed.
    MalformedToken(&'static str),
    /// A header or payload JSON document is nested deeper than the limit.
    JsonTooDeep,
    /// A header or payload JSON object repeats a member name (RFC 7515 §5.2).
    DuplicateJsonMember,
    /// The header `alg` is not one this engine verifies: `none`, HMAC, or unknown
    /// (RFC 8725 §3.1, §3.2). `name` is set only for well-known names.
    UnsupportedAlgorithm {
        /// The refused algorithm when it is one of a fixed list of known names.
        name: Option<&'static str>,
    },
    /// The header has a `crit` member (RFC 7515 §4.1.11: we understand no
    /// extensions) or asks for an unencoded payload (RFC 7797 `b64: false`).
    UnsupportedCritical,
    /// The header names a `kid` that is not in the key set.
    UnknownKey,
    /// No key in the set can verify a token with this algorithm.
    NoMatchingKey,
    /// The key selected by `kid` cannot be used with the header `alg`: its JWK
    /// `alg`, `kty` or `crv` says otherwise (TX-22, RFC 8725 §3.1).
    AlgorithmKeyMismatch,
    /// The signature did not verify with any candidate key.
    BadSignature,
    /// The key set document as a whole is unusable; the reason is a fixed phrase.
    MalformedJwks(&'static str),
}

impl JoseError {
    /// The stable reason callers can switch on.
    pub fn code(&self) -> Reason {
        match self {
            JoseError::TokenTooLarge { .. } => Reason::TokenTooLarge,
            JoseError::MalformedToken(_) => Reason::MalformedToken,
            JoseError::JsonTooDeep => Reason::JsonTooDeep,
            JoseError::DuplicateJsonMember => Reason::DuplicateJsonMember,
            JoseError::UnsupportedAlgorithm { .. } => Reason::UnsupportedAlgorithm,
            JoseError::UnsupportedCritical => Reason::UnsupportedCriticalHeader,
            JoseError::UnknownKey => Reason::UnknownKey,
            JoseError::NoMatchingKey => Reason::NoMatchingKey,
            JoseError::AlgorithmKeyMismatch => Reason::AlgorithmKeyMismatch,
            JoseError::BadSignature => Reason::BadSignature,
            JoseError::MalformedJwks(_) => Reason::MalformedJwks,
        }
    }

    /// What failed, in words, without token contents or key material.
    pub fn description(&self) -> String {
        self.to_string()
    }

    /// Maps a strict-JSON failure on a token part, naming the part.
    pub(crate) fn from_token_json(err: JsonError, part_malformed: &'static str) -> Self {
        match err {
            JsonError::TooDeep => JoseError::JsonTooDeep,
            JsonError::DuplicateMember => JoseError::DuplicateJsonMember,
            JsonError::NotAnObject | JsonError::Syntax => JoseError::MalformedToken(part_malformed),
        }
    }
}

impl fmt::Display for JoseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoseError::TokenTooLarge { limit } => {
                write!(f, "token is larger than the limit of {limit} bytes")
            }
            JoseError::MalformedToken(why) => write!(f, "token is malformed: {why}"),
            JoseError::JsonTooDeep => f.write_str("token JSON is nested too deeply"),
            JoseError::DuplicateJsonMember => f.write_str("token JSON has a duplicate member name"),
            JoseError::UnsupportedAlgorithm { name: Some(name) } => {
                write!(f, "token algorithm {name} is not accepted")
            }
            JoseError::UnsupportedAlgorithm { name: None } => {
                f.write_str("token algorithm is not supported")
            }
            JoseError::UnsupportedCritical => {
                f.write_str("token header uses an extension that is not supported")
            }
            JoseError::UnknownKey => f.write_str("token key id is not in the issuer's key set"),
            JoseError::NoMatchingKey => {
                f.write_str("no key in the issuer's key set can verify the token algorithm")
            }
            JoseError::AlgorithmKeyMismatch => {
                f.write_str("token algorithm does not match the key it names")
            }
            JoseError::BadSignature => f.write_str("token signature is invalid"),
            JoseError::MalformedJwks(why) => write!(f, "key set is malformed: {why}"),
        }
    }
}

impl std::error::Error for JoseError {}
