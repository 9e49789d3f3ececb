//! The engine: settings and key sets the caller holds, and the two calls a
//! request makes (`inspect`, then `decide`, or `decide_assertion` for a
//! jwt-bearer request presenting an ID-JAG); `verify_access_token` for a
//! resource server.

use crate::answer::{AssertionDecision, Decision};
use crate::config::{AssertionCall, DecideCall, EngineSettings};
use crate::jose::{CompactJws, KeySet, Limits, RustCryptoVerifier, SignatureVerifier};
use crate::reason::Reason;
use crate::token::{looks_like_jwt, Keys, Validator};
use crate::verify::{Verification, VerifyCall};
use serde::Serialize;

/// Holds what outlives a request: settings, parsed key sets per issuer and
/// the signature primitive. It keeps nothing from one request to the next.
pub struct Engine {
    settings: EngineSettings,
    keys: Keys,
    verifier: Box<dyn SignatureVerifier>,
}

/// Answer to [`Engine::set_issuer_keys`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KeysAnswer {
    /// Keys stored (replacing the issuer's previous set).
    Ok {
        /// Usable keys.
        keys: usize,
        /// Members left out, with why.
        skipped: Vec<SkippedRecord>,
    },
    /// Nothing stored; the previous set stays.
    Failure {
        /// Stable reason code: `untrusted_issuer` or `malformed_jwks`.
        reason: Reason,
        /// What was wrong.
        description: String,
    },
}

/// A JWKS member that was not usable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedRecord {
    /// Its `kid`, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Why it was left out.
    pub reason: &'static str,
}

/// Unverified facts about a presented token, so the caller knows which keys
/// or lookup it needs before `decide`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "format", rename_all = "snake_case")]
pub enum TokenHint {
    /// A compact JWS.
    #[serde(rename_all = "camelCase")]
    Jwt {
        /// Unverified `iss`.
        #[serde(skip_serializing_if = "Option::is_none")]
        issuer: Option<String>,
        /// `kid` header.
        #[serde(skip_serializing_if = "Option::is_none")]
        key_id: Option<String>,
        /// `alg` header.
        #[serde(skip_serializing_if = "Option::is_none")]
        algorithm: Option<&'static str>,
        /// Unverified `sub`.
        #[serde(skip_serializing_if = "Option::is_none")]
        subject: Option<String>,
    },
    /// Not a JWT: look it up.
    Opaque,
    /// A JWT that cannot be read; `decide` will say why.
    Unreadable,
}

/// Answer to [`Engine::inspect`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Inspection {
    /// The subject token's hint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<TokenHint>,
    /// The actor token's hint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<TokenHint>,
    /// The hint of a jwt-bearer request's `assertion` (RFC 7523 §2.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assertion: Option<TokenHint>,
}

impl Engine {
    /// An engine with the built-in signature primitive. Fails with a message
    /// naming the bad setting.
    pub fn new(settings: EngineSettings) -> Result<Self, String> {
        Self::with_verifier(settings, Box::new(RustCryptoVerifier))
    }

    /// An engine with a caller-supplied signature primitive.
    pub fn with_verifier(
        settings: EngineSettings,
        verifier: Box<dyn SignatureVerifier>,
    ) -> Result<Self, String> {
        settings.validate()?;
        Ok(Self {
            settings,
            keys: Keys::new(),
            verifier,
        })
    }

    /// The settings.
    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    fn limits(&self) -> Limits {
        Limits {
            max_token_bytes: self.settings.max_token_bytes as usize,
            max_json_depth: self.settings.max_json_depth as usize,
        }
    }

    /// Replaces the key set of `issuer` with the JWKS (or single JWK) in
    /// `jwks`. Only this server's issuer and trusted issuers take keys.
    pub fn set_issuer_keys(&mut self, issuer: &str, jwks: &[u8]) -> KeysAnswer {
        if issuer != self.settings.issuer && self.settings.trusted_issuer(issuer).is_none() {
            return KeysAnswer::Failure {
                reason: Reason::UntrustedIssuer,
                description: "keys can be set only for this server and trusted issuers".into(),
            };
        }
        // JWKS documents may be larger than one token; bound them separately.
        let limits = Limits {
            max_token_bytes: MAX_JWKS_BYTES,
            ..self.limits()
        };
        match KeySet::from_json(jwks, &limits) {
            Ok((set, skipped)) => {
                let answer = KeysAnswer::Ok {
                    keys: set.len(),
                    skipped: skipped
                        .into_iter()
                        .map(|s| SkippedRecord {
                            kid: s.kid,
                            reason: s.reason,
                        })
                        .collect(),
                };
                self.keys.insert(issuer.to_owned(), set);
                answer
            }
            Err(e) => KeysAnswer::Failure {
                reason: e.code(),
                description: e.description(),
            },
        }
    }

    /// Whether a key for `issuer` (with `kid`, when given) is known, so the
    /// caller can refetch a JWKS once on an unknown `kid`.
    pub fn has_key(&self, issuer: &str, kid: Option<&str>) -> bool {
        match (self.keys.get(issuer), kid) {
            (None, _) => false,
            (Some(set), None) => !set.is_empty(),
            (Some(set), Some(kid)) => set.contains_kid(kid),
        }
    }

    /// Reads what the caller must resolve before `decide`: for each
    /// presented token, its format and unverified issuer and key id.
    pub fn inspect(&self, form: &[(String, String)]) -> Inspection {
        let hint = |name: &str| -> Option<TokenHint> {
            let token = form
                .iter()
                .find(|(k, v)| k == name && !v.is_empty())
                .map(|(_, v)| v)?;
            Some(self.hint(token))
        };
        Inspection {
            subject: hint("subject_token"),
            actor: hint("actor_token"),
            assertion: hint("assertion"),
        }
    }

    fn hint(&self, token: &str) -> TokenHint {
        if !looks_like_jwt(token) {
            return TokenHint::Opaque;
        }
        let limits = self.limits();
        let Ok(jws) = CompactJws::parse(token, &limits) else {
            return TokenHint::Unreadable;
        };
        let Ok(claims) = jws.claims(&limits) else {
            return TokenHint::Unreadable;
        };
        let text = |name: &str| claims.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        TokenHint::Jwt {
            issuer: text("iss"),
            key_id: jws.header().kid.clone(),
            algorithm: Some(jws.header().alg.name()),
            subject: text("sub"),
        }
    }

    /// Decides one exchange.
    pub fn decide(&self, call: &DecideCall) -> Decision {
        crate::decide::decide(&self.validator(call.now), call)
    }

    /// Decides one jwt-bearer request presenting an ID-JAG (see
    /// [`crate::assertion`]).
    pub fn decide_assertion(&self, call: &AssertionCall) -> AssertionDecision {
        crate::assertion::decide_assertion(&self.validator(call.now), call)
    }

    /// Verifies an access token of this engine's issuer for a resource
    /// server: the exchange's own token validation, then the audience and
    /// actor checks of `call` (see [`crate::verify`]).
    pub fn verify_access_token(&self, call: &VerifyCall) -> Verification {
        crate::verify::verify(&self.validator(call.now), call)
    }

    fn validator(&self, now: i64) -> Validator<'_> {
        Validator {
            settings: &self.settings,
            keys: &self.keys,
            verifier: self.verifier.as_ref(),
            now,
        }
    }
}

/// Largest JWKS document accepted.
pub const MAX_JWKS_BYTES: usize = 1024 * 1024;
