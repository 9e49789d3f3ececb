//! Validation of presented subject and actor tokens for their declared type
//! (TX-20 to TX-25), producing the facts the decision works on.

use crate::answer::PartyRecord;
use crate::config::{EngineSettings, OpaqueTokenFacts};
use crate::jose::{self, CompactJws, KeySet, Limits, SignatureVerifier};
use crate::reason::{Reason, Refusal};
use crate::request::{split_scope, TokenType};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Which presented token is being validated; named in descriptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `subject_token`.
    Subject,
    /// `actor_token`.
    Actor,
    /// An access token presented to a resource server (`crate::verify`).
    Access,
    /// An ID-JAG presented with the jwt-bearer grant (`crate::assertion`).
    Assertion,
}

impl Role {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Subject => "subject_token",
            Self::Actor => "actor_token",
            Self::Access => "access_token",
            Self::Assertion => "assertion",
        }
    }

    pub(crate) fn refuse(self, reason: Reason, what: impl std::fmt::Display) -> Refusal {
        Refusal::new(reason, format!("{}: {what}", self.name()))
    }
}

/// What a validated token says.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenFacts {
    /// Issuer (`iss`; this server for opaque tokens).
    pub iss: String,
    /// Subject (`sub`).
    pub sub: String,
    /// The client the token was issued to: `client_id`, else `azp`, else a
    /// single `aud` (TX-26).
    pub holder: Option<String>,
    /// Audiences (`aud`).
    pub aud: Vec<String>,
    /// Scope values.
    pub scopes: Vec<String>,
    /// Expiry.
    pub exp: Option<i64>,
    /// The token's `act` claim, validated (TX-25, TX-44).
    pub act: Option<Value>,
    /// `act` as a list of identities, outermost first.
    pub act_chain: Vec<PartyRecord>,
    /// The `may_act` claim (TX-42).
    pub may_act: Option<Map<String, Value>>,
    /// Claims compared against another token's `may_act` (TX-42).
    pub identity_claims: Map<String, Value>,
    /// Session the token belongs to, when known.
    pub session_id: Option<String>,
    /// Issued by a trusted external issuer, not this server.
    pub external: bool,
}

impl TokenFacts {
    /// The identity recorded in the audit trail.
    pub fn party(&self) -> PartyRecord {
        PartyRecord {
            iss: Some(self.iss.clone()),
            sub: Some(self.sub.clone()),
            client_id: self.holder.clone(),
        }
    }
}

/// Keys by issuer, as the caller set them.
pub type Keys = HashMap<String, KeySet>;

/// A compact JWS has exactly two dots; a JWE (five parts) or anything else
/// is not a JWT this engine reads.
pub fn looks_like_jwt(token: &str) -> bool {
    token.bytes().filter(|b| *b == b'.').count() == 2
}

/// The shared context of one validation.
pub struct Validator<'a> {
    /// Engine settings.
    pub settings: &'a EngineSettings,
    /// Keys by issuer.
    pub keys: &'a Keys,
    /// Signature primitive.
    pub verifier: &'a dyn SignatureVerifier,
    /// Seconds since the epoch.
    pub now: i64,
}

impl Validator<'_> {
    pub(crate) fn limits(&self) -> Limits {
        Limits {
            max_token_bytes: self.settings.max_token_bytes as usize,
            max_json_depth: self.settings.max_json_depth as usize,
        }
    }

    /// Validates `token` as `declared`, using `facts` for opaque tokens.
    pub fn validate(
        &self,
        role: Role,
        token: &str,
        declared: TokenType,
        facts: Option<&OpaqueTokenFacts>,
    ) -> Result<TokenFacts, Refusal> {
        if looks_like_jwt(token) {
            if declared == TokenType::RefreshToken {
                return Err(role.refuse(
                    Reason::TokenTypeMismatch,
                    "a JWT was presented as a refresh token",
                ));
            }
            self.validate_jwt(role, token, declared)
        } else {
            match declared {
                TokenType::AccessToken | TokenType::RefreshToken => {
                    self.validate_opaque(role, declared, facts)
                }
                TokenType::IdToken | TokenType::Jwt | TokenType::IdJag => Err(role.refuse(
                    Reason::MalformedToken,
                    format!("a {} must be a signed JWT", declared.name()),
                )),
            }
        }
    }

    fn validate_opaque(
        &self,
        role: Role,
        declared: TokenType,
        facts: Option<&OpaqueTokenFacts>,
    ) -> Result<TokenFacts, Refusal> {
        // TX-21: opaque tokens are this server's, validated by lookup.
        let facts = facts
            .filter(|f| f.active)
            .ok_or_else(|| role.refuse(Reason::TokenInactive, "the token is not active"))?;
        if facts.token_type.unwrap_or(TokenType::AccessToken) != declared {
            return Err(role.refuse(
                Reason::TokenTypeMismatch,
                format!("the token is not a {}", declared.name()),
            ));
        }
        if let Some(exp) = facts.exp {
            if exp <= self.now {
                return Err(role.refuse(Reason::TokenExpired, "the token has expired"));
            }
        }
        let sub = facts
            .sub
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| role.refuse(Reason::MissingClaim, "the token has no subject"))?;
        let iss = self.settings.issuer.clone();
        let (act, act_chain) = self.act_of(role, facts.act.as_ref())?;
        let may_act = match &facts.may_act {
            None => None,
            Some(Value::Object(map)) => Some(map.clone()),
            Some(_) => return Err(role.refuse(Reason::InvalidClaim, "may_act must be an object")),
        };
        let mut identity_claims = Map::new();
        identity_claims.insert("iss".into(), Value::String(iss.clone()));
        identity_claims.insert("sub".into(), Value::String(sub.clone()));
        if let Some(client) = &facts.client_id {
            identity_claims.insert("client_id".into(), Value::String(client.clone()));
        }
        Ok(TokenFacts {
            iss,
            sub,
            holder: facts.client_id.clone(),
            aud: facts.aud.clone().unwrap_or_default(),
            scopes: facts.scope.as_deref().map(split_scope).unwrap_or_default(),
            exp: facts.exp,
            act,
            act_chain,
            may_act,
            identity_claims,
            session_id: facts.session_id.clone(),
            external: false,
        })
    }

    fn validate_jwt(
        &self,
        role: Role,
        token: &str,
        declared: TokenType,
    ) -> Result<TokenFacts, Refusal> {
        let limits = self.limits();
        let jose_refusal = |e: jose::JoseError| role.refuse(e.code(), e.description());
        // Structure, header and payload are bounded and parsed before any
        // key is touched (TX-25).
        let jws = CompactJws::parse(token, &limits).map_err(jose_refusal)?;
        let claims = jws.claims(&limits).map_err(jose_refusal)?;
        let iss = string_claim(&claims, "iss")
            .ok_or_else(|| role.refuse(Reason::MissingClaim, "the token has no iss claim"))?
            .to_owned();
        let own = iss == self.settings.issuer;
        let trusted = if own {
            None
        } else {
            self.settings.trusted_issuer(&iss)
        };
        if !own && trusted.is_none() {
            return Err(role.refuse(Reason::UntrustedIssuer, "the issuer is not trusted"));
        }
        if let Some(trusted) = trusted {
            let accepted = trusted
                .token_types
                .as_deref()
                .unwrap_or(&crate::config::DEFAULT_ACCEPTED_TYPES);
            if !accepted.contains(&declared) {
                return Err(role.refuse(
                    Reason::TokenTypeNotAccepted,
                    format!(
                        "{} tokens are not accepted from this issuer",
                        declared.name()
                    ),
                ));
            }
        }
        // TX-22: only keys configured for this issuer are ever used.
        let keys = self
            .keys
            .get(&iss)
            .ok_or_else(|| role.refuse(Reason::UnknownKey, "no keys are known for the issuer"))?;
        jose::verify(&jws, keys, self.verifier).map_err(jose_refusal)?;

        self.check_times(role, &claims)?;
        check_typing(role, jws.header().typ.as_deref(), declared, own)?;
        let sub = string_claim(&claims, "sub")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| role.refuse(Reason::MissingClaim, "the token has no sub claim"))?
            .to_owned();
        let aud = audiences(role, &claims)?;
        if declared == TokenType::IdToken && aud.is_empty() {
            return Err(role.refuse(Reason::MissingClaim, "an ID token must have an aud claim"));
        }
        if let Some(trusted) = trusted {
            // TX-20/TX-24: a translated token must be meant for this server.
            if !aud.iter().any(|a| trusted.audiences.contains(a)) {
                return Err(role.refuse(
                    Reason::AudienceMismatch,
                    "the token is not meant for this server",
                ));
            }
        }
        let holder = string_claim(&claims, "client_id")
            .or_else(|| string_claim(&claims, "azp"))
            .map(str::to_owned)
            .or_else(|| match aud.as_slice() {
                [single] => Some(single.clone()),
                _ => None,
            });
        let scopes = match claims.get("scope") {
            None => match claims.get("scp") {
                // Some external issuers carry scope as a `scp` array.
                Some(Value::Array(items)) => {
                    let mut out = Vec::new();
                    for item in items {
                        let s = item.as_str().ok_or_else(|| {
                            role.refuse(Reason::InvalidClaim, "scp must hold strings")
                        })?;
                        out.push(s.to_owned());
                    }
                    out
                }
                Some(_) => return Err(role.refuse(Reason::InvalidClaim, "scp must be an array")),
                None => Vec::new(),
            },
            Some(Value::String(s)) => split_scope(s),
            Some(_) => return Err(role.refuse(Reason::InvalidClaim, "scope must be a string")),
        };
        let (act, act_chain) = self.act_of(role, claims.get("act"))?;
        let may_act = match claims.get("may_act") {
            None => None,
            Some(Value::Object(map)) => Some(map.clone()),
            Some(_) => return Err(role.refuse(Reason::InvalidClaim, "may_act must be an object")),
        };
        let session_id = string_claim(&claims, "sid").map(str::to_owned);
        let exp = claims.get("exp").and_then(numeric_date);
        let mut identity_claims = claims;
        identity_claims.remove("act");
        identity_claims.remove("may_act");
        Ok(TokenFacts {
            iss,
            sub,
            holder,
            aud,
            scopes,
            exp,
            act,
            act_chain,
            may_act,
            identity_claims,
            session_id,
            external: !own,
        })
    }

    /// TX-20: `exp` required and in the future, `nbf` and `iat` not in the
    /// future, each with the configured leeway (RFC 7519 §4.1.4-6).
    pub(crate) fn check_times(
        &self,
        role: Role,
        claims: &Map<String, Value>,
    ) -> Result<(), Refusal> {
        let leeway = i64::from(self.settings.leeway_seconds);
        let time = |name: &str| -> Result<Option<i64>, Refusal> {
            match claims.get(name) {
                None => Ok(None),
                Some(v) => numeric_date(v).map(Some).ok_or_else(|| {
                    role.refuse(
                        Reason::InvalidClaim,
                        format!("{name} must be a NumericDate"),
                    )
                }),
            }
        };
        let exp = time("exp")?
            .ok_or_else(|| role.refuse(Reason::MissingClaim, "the token has no exp claim"))?;
        if self.now >= exp.saturating_add(leeway) {
            return Err(role.refuse(Reason::TokenExpired, "the token has expired"));
        }
        if let Some(nbf) = time("nbf")? {
            if nbf > self.now.saturating_add(leeway) {
                return Err(
                    role.refuse(Reason::TokenNotYetValid, "the token is not valid yet (nbf)")
                );
            }
        }
        if let Some(iat) = time("iat")? {
            if iat > self.now.saturating_add(leeway) {
                return Err(role.refuse(
                    Reason::TokenIssuedInFuture,
                    "the token's iat is in the future",
                ));
            }
        }
        Ok(())
    }

    /// Validates an `act` claim: objects all the way down, each with a
    /// string `sub`, no deeper than the limit (TX-25, RFC 8693 §4.1).
    fn act_of(
        &self,
        role: Role,
        act: Option<&Value>,
    ) -> Result<(Option<Value>, Vec<PartyRecord>), Refusal> {
        let Some(act) = act else {
            return Ok((None, Vec::new()));
        };
        let mut chain = Vec::new();
        let mut cursor = Some(act);
        while let Some(value) = cursor {
            if chain.len() >= self.settings.max_act_depth as usize {
                return Err(role.refuse(
                    Reason::ActChainTooDeep,
                    "the act chain is deeper than allowed",
                ));
            }
            let Value::Object(map) = value else {
                return Err(role.refuse(Reason::InvalidClaim, "act must be an object"));
            };
            let sub = string_claim(map, "sub").ok_or_else(|| {
                role.refuse(Reason::InvalidClaim, "every act level needs a string sub")
            })?;
            chain.push(PartyRecord {
                iss: string_claim(map, "iss").map(str::to_owned),
                sub: Some(sub.to_owned()),
                client_id: string_claim(map, "client_id").map(str::to_owned),
            });
            cursor = map.get("act");
        }
        Ok((Some(act.clone()), chain))
    }
}

/// Whether a JOSE `typ` names the media type `name` (`at+jwt`, ...): ASCII
/// case-insensitive, with or without the `application/` prefix (RFC 7515
/// §4.1.9).
pub(crate) fn typ_is(typ: Option<&str>, name: &str) -> bool {
    typ.is_some_and(|t| {
        let t = t.to_ascii_lowercase();
        t.strip_prefix("application/").unwrap_or(&t) == name
    })
}

/// TX-23: explicit typing (RFC 9068 §2.1, RFC 8725 §3.11). This server's
/// access tokens carry `typ: at+jwt`; an ID token never does; an ID-JAG
/// (`oauth-id-jag+jwt`) is only ever presented with the jwt-bearer grant,
/// so that its `client_id` binding cannot be side-stepped by an exchange.
fn check_typing(
    role: Role,
    typ: Option<&str>,
    declared: TokenType,
    own: bool,
) -> Result<(), Refusal> {
    if typ_is(typ, crate::request::ID_JAG_TYP) {
        return Err(role.refuse(
            Reason::TokenTypeMismatch,
            "an ID-JAG (typ oauth-id-jag+jwt) is presented with the jwt-bearer grant only",
        ));
    }
    let at_jwt = typ_is(typ, "at+jwt");
    match declared {
        TokenType::AccessToken if own && !at_jwt => Err(role.refuse(
            Reason::TokenTypeMismatch,
            "this server's access tokens are typed at+jwt; the token is not an access token",
        )),
        TokenType::IdToken if at_jwt => Err(role.refuse(
            Reason::TokenTypeMismatch,
            "an access token (typ at+jwt) was presented as an ID token",
        )),
        _ => Ok(()),
    }
}

pub(crate) fn string_claim<'m>(claims: &'m Map<String, Value>, name: &str) -> Option<&'m str> {
    claims.get(name).and_then(Value::as_str)
}

/// A NumericDate (RFC 7519 §2): a JSON number of seconds; fractions are
/// truncated, values outside the i64 range are refused.
pub(crate) fn numeric_date(value: &Value) -> Option<i64> {
    let n = value.as_number()?;
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    let f = n.as_f64()?;
    // Within ±2^62 the cast is exact enough and cannot saturate surprisingly.
    (f.is_finite() && f.abs() < 4.6e18).then_some(f.trunc() as i64)
}

fn audiences(role: Role, claims: &Map<String, Value>) -> Result<Vec<String>, Refusal> {
    match claims.get("aud") {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| role.refuse(Reason::InvalidClaim, "aud must hold strings"))
            })
            .collect(),
        Some(_) => Err(role.refuse(Reason::InvalidClaim, "aud must be a string or an array")),
    }
}
