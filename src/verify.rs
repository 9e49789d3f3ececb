//! Verification of an access token where it is used: a resource server
//! receiving a token this server issued (for example by an exchange).
//!
//! The token goes through the very validation an exchange applies to a
//! subject token ([`Validator::validate`] declared as an access token):
//! size and JSON limits (TX-25), the issuer's keys only and the algorithm
//! from the key (TX-22), `exp`/`nbf`/`iat` with leeway (TX-20), `typ:
//! at+jwt` (TX-23, RFC 9068 §4) and the `act` chain read object by object
//! up to the engine's depth limit. On top of that come the checks that
//! belong to the resource server: its audience, and who may act (TX-44:
//! only the outermost `act` is used; nested ones are carried for audit).
//!
//! Refusals reuse the exchange's reason codes where the condition is the
//! same; the OAuth error is always `invalid_token` (RFC 6750 §3.1).

use crate::answer::PartyRecord;
use crate::decide::members_match;
use crate::error::{description_safe, ErrorCode};
use crate::reason::{Reason, Refusal};
use crate::request::TokenType;
use crate::token::{looks_like_jwt, Role, Validator};
use serde::Serialize;
use serde_json::{Map, Value};

/// One verification, as the resource server asks for it. Its JSON form
/// (camelCase, unknown members refused) is read by [`VerifyCall::from_value`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VerifyCall {
    /// The compact JWS from the `Authorization` header.
    pub token: String,
    /// Seconds since the epoch.
    pub now: i64,
    /// Audiences that mean "this resource server"; the token's `aud` must
    /// hold at least one. An empty list accepts nothing.
    pub audiences: Vec<String>,
    /// Refuse tokens without an `act` claim (impersonation tokens).
    pub require_actor: bool,
    /// When set, the outermost actor must match one entry: every member of
    /// the entry (`sub`, `iss`, `client_id`, ...) equal to the actor's, with
    /// the actor's `iss` defaulting to the token's issuer (TX-41 leaves it
    /// out when it is the issuer). Tokens without an actor are not affected;
    /// combine with `require_actor` to refuse them.
    pub allowed_actors: Option<Vec<Map<String, Value>>>,
    /// Most `act` levels accepted; `0` accepts impersonation tokens only.
    pub max_chain_depth: Option<u32>,
}

impl VerifyCall {
    /// Reads the JSON form of a call: `token`, `now` and `audiences`
    /// required; `requireActor`, `allowedActors` (objects) and
    /// `maxChainDepth` optional. The error names the bad member.
    ///
    /// Read by hand from a [`Value`] rather than derived: the engine already
    /// reads values, and a derived reader measured about 0.5 KiB more gzip
    /// in the wasm.
    pub fn from_value(value: &Value) -> Result<Self, String> {
        let Value::Object(map) = value else {
            return Err("the call must be an object".into());
        };
        let mut call = VerifyCall::default();
        let (mut token, mut now, mut audiences) = (false, false, false);
        for (name, value) in map {
            let bad = || format!("invalid member {}", crate::error::quote(name));
            match (name.as_str(), value) {
                ("token", Value::String(s)) => {
                    call.token.clone_from(s);
                    token = true;
                }
                ("now", Value::Number(n)) => {
                    call.now = n.as_i64().ok_or_else(bad)?;
                    now = true;
                }
                ("audiences", Value::Array(items)) => {
                    call.audiences = strings(items).ok_or_else(bad)?;
                    audiences = true;
                }
                ("requireActor", Value::Bool(b)) => call.require_actor = *b,
                ("allowedActors", Value::Array(items)) => {
                    let entries = items.iter().map(|v| v.as_object().cloned());
                    call.allowed_actors = Some(entries.collect::<Option<_>>().ok_or_else(bad)?);
                }
                ("maxChainDepth", Value::Number(n)) => {
                    let depth = n.as_u64().and_then(|d| u32::try_from(d).ok());
                    call.max_chain_depth = Some(depth.ok_or_else(bad)?);
                }
                _ => return Err(bad()),
            }
        }
        if token && now && audiences {
            Ok(call)
        } else {
            Err("token, now and audiences are required".into())
        }
    }
}

fn strings(items: &[Value]) -> Option<Vec<String>> {
    items
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedToken {
    /// `sub`: the subject the token acts for.
    pub sub: String,
    /// `iss`.
    pub iss: String,
    /// `aud`.
    pub aud: Vec<String>,
    /// `exp`, seconds since the epoch.
    pub exp: i64,
    /// Scope values.
    pub scopes: Vec<String>,
    /// `client_id`: the client the token was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The current actor: the outermost `act` (TX-44).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<PartyRecord>,
    /// Every actor, outermost (newest) first.
    pub chain: Vec<PartyRecord>,
    /// Every claim of the token, `act` included.
    pub claims: Map<String, Value>,
}

/// The answer to [`crate::engine::Engine::verify_access_token`]; serialised
/// camelCase with `type` `valid` or `invalid`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Verification {
    /// The token is valid for this resource server.
    Valid(Box<VerifiedToken>),
    /// The token must be refused.
    Invalid {
        /// Always `invalid_token` (RFC 6750 §3.1).
        error: ErrorCode,
        /// Stable reason code, as in the exchange's audit records.
        reason: Reason,
        /// What failed, without token contents or key material, in RFC 6749
        /// §5.2 characters only (TX-71).
        description: String,
    },
}

impl Verification {
    /// A refusal: `invalid_token` with `reason`, and `description` through
    /// the final guard [`description_safe`] (TX-71).
    pub fn invalid(reason: Reason, description: String) -> Self {
        Verification::Invalid {
            error: ErrorCode::InvalidToken,
            reason,
            description: description_safe(description),
        }
    }
}

impl From<Refusal> for Verification {
    fn from(refusal: Refusal) -> Self {
        Verification::invalid(refusal.reason, refusal.description)
    }
}

/// Verifies `call.token` with the validator of an engine whose issuer is
/// the token's expected issuer.
pub fn verify(validator: &Validator<'_>, call: &VerifyCall) -> Verification {
    match run(validator, call) {
        Ok(token) => Verification::Valid(Box::new(token)),
        Err(refusal) => refusal.into(),
    }
}

fn run(validator: &Validator<'_>, call: &VerifyCall) -> Result<VerifiedToken, Refusal> {
    if !looks_like_jwt(&call.token) {
        // Only a JWT carries what local verification needs; an opaque
        // token means asking the issuer (introspection, RFC 7662).
        return Err(Role::Access.refuse(
            Reason::OpaqueToken,
            "the token is not a JWT; opaque tokens can only be checked by introspection",
        ));
    }
    let refuse = |reason, what| Role::Access.refuse(reason, what);
    let facts = validator.validate(Role::Access, &call.token, TokenType::AccessToken, None)?;
    if facts.external {
        // The engine may also trust other issuers for exchanges; a resource
        // server takes tokens of its one issuer only.
        return Err(refuse(Reason::UntrustedIssuer, "the issuer is not trusted"));
    }
    if !facts.aud.iter().any(|a| call.audiences.contains(a)) {
        return Err(refuse(
            Reason::AudienceMismatch,
            "the token is not meant for this resource server",
        ));
    }
    let depth = facts.act_chain.len();
    if call.require_actor && depth == 0 {
        return Err(refuse(
            Reason::ActorRequired,
            "the token has no actor (act claim)",
        ));
    }
    if call.max_chain_depth.is_some_and(|max| depth > max as usize) {
        return Err(refuse(
            Reason::ActChainTooDeep,
            "the act chain is deeper than allowed",
        ));
    }
    if let (Some(allowed), Some(Value::Object(outermost))) = (&call.allowed_actors, &facts.act) {
        // TX-44: the nested actors are history, not policy.
        let mut identity = outermost.clone();
        identity.remove("act");
        identity
            .entry("iss")
            .or_insert_with(|| Value::String(facts.iss.clone()));
        if !allowed.iter().any(|entry| members_match(entry, &identity)) {
            return Err(refuse(
                Reason::ActorNotAllowed,
                "the token's actor is not allowed here",
            ));
        }
    }
    let client_id = facts
        .identity_claims
        .get("client_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut claims = facts.identity_claims;
    if let Some(act) = facts.act {
        claims.insert("act".into(), act);
    }
    if let Some(may_act) = facts.may_act {
        claims.insert("may_act".into(), Value::Object(may_act));
    }
    Ok(VerifiedToken {
        sub: facts.sub,
        iss: facts.iss,
        aud: facts.aud,
        // Validation refuses a token without `exp`.
        exp: facts.exp.unwrap_or_default(),
        scopes: facts.scopes,
        client_id,
        actor: facts.act_chain.first().cloned(),
        chain: facts.act_chain,
        claims,
    })
}
