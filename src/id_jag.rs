//! The identity provider's side of cross-app access: a token exchange whose
//! `requested_token_type` is `urn:ietf:params:oauth:token-type:id-jag`
//! (draft-ietf-oauth-identity-assertion-authz-grant §4.3). The exchange's
//! client checks, token validation, issuer allow-list (TX-24), holder
//! binding (TX-26) and `may_act` (TX-42) apply unchanged; this module holds
//! the rules that differ: an ID token subject and no actor, one resource
//! authorization server as the audience, and that server's scope ceiling
//! and resources instead of this server's.

use crate::config::{ClientPolicy, IdJagTarget};
use crate::error::quote;
use crate::reason::{Reason, Refusal};
use crate::request::{ExchangeRequest, TokenType};
use crate::scope::requested_within;
use crate::token::TokenFacts;
use serde_json::{Map, Value};

/// Claims of the subject ID token an ID-JAG carries on (§3.1: `auth_time`,
/// `acr`, `amr` and `email` are ID token claims; `tenant` names the IdP
/// tenant for a multi-tenant issuer).
pub const CARRIED_CLAIMS: [&str; 6] = [
    "auth_time",
    "acr",
    "amr",
    "email",
    "email_verified",
    "tenant",
];

/// §4.3: the subject is an ID token and no actor takes part. Checked
/// before any token is read.
pub(crate) fn check_request(request: &ExchangeRequest) -> Result<(), Refusal> {
    if request.subject_token_type != TokenType::IdToken {
        return Err(Refusal::new(
            Reason::TokenTypeNotAccepted,
            format!(
                "an ID-JAG is issued for an id_token subject, not for a {} subject token",
                request.subject_token_type.name()
            ),
        ));
    }
    if request.actor.is_some() {
        return Err(Refusal::new(
            Reason::DelegationNotAllowed,
            "ID-JAGs are not issued for an actor; send the subject token without actor_token",
        ));
    }
    Ok(())
}

/// §4.3: exactly one `audience`, the issuer of a resource authorization
/// server the client's policy lists in `idJag`; each `resource` among that
/// entry's `resources` when it has any. The resources are the other
/// server's, so this server's linked resources and target policy do not
/// apply to them.
pub(crate) fn target<'p>(
    request: &ExchangeRequest,
    policy: &'p ClientPolicy,
) -> Result<(String, &'p IdJagTarget), Refusal> {
    let audience = match request.audiences.as_slice() {
        [] => {
            return Err(Refusal::new(
                Reason::NoTarget,
                "an ID-JAG needs the resource authorization server's issuer as audience",
            ))
        }
        [one] => one,
        _ => {
            return Err(Refusal::new(
                Reason::TooManyTargets,
                "an ID-JAG names exactly one audience, the resource authorization server",
            ))
        }
    };
    let entry = policy
        .id_jag
        .as_ref()
        .and_then(|targets| targets.get(audience))
        .ok_or_else(|| {
            Refusal::new(
                Reason::TargetNotAllowed,
                format!(
                    "this client may not request ID-JAGs for {}",
                    quote(audience)
                ),
            )
        })?;
    if let Some(allowed) = &entry.resources {
        if let Some(resource) = request.resources.iter().find(|r| !allowed.contains(r)) {
            return Err(Refusal::new(
                Reason::TargetNotAllowed,
                format!(
                    "this client may not request ID-JAGs for resource {}",
                    quote(resource)
                ),
            ));
        }
    }
    Ok((audience.clone(), entry))
}

/// §4.3: the scope is the resource authorization server's. A requested
/// scope must be within the entry's `scopes` when it has them; without a
/// requested scope the entry's `scopes` are granted (or none). This
/// server's registered scopes and the ID token (which has none) do not
/// apply.
pub(crate) fn scope(
    request: &ExchangeRequest,
    entry: &IdJagTarget,
) -> Result<Vec<String>, Refusal> {
    match (&request.scope, &entry.scopes) {
        (None, ceiling) => Ok(ceiling.clone().unwrap_or_default()),
        (Some(requested), None) => Ok(requested.clone()),
        (Some(requested), Some(ceiling)) => {
            requested_within(requested, &|s: &String| ceiling.contains(s))
        }
    }
}

/// The [`CARRIED_CLAIMS`] the verified subject ID token has, as they are.
pub(crate) fn carried_claims(subject: &TokenFacts) -> Map<String, Value> {
    // Inserted one by one: collecting into the map would bring in a sort
    // (about 3 KiB of wasm) for six entries.
    let mut claims = Map::new();
    for name in CARRIED_CLAIMS {
        if let Some(value) = subject.identity_claims.get(name) {
            claims.insert(name.to_owned(), value.clone());
        }
    }
    claims
}
