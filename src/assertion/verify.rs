//! The assertion itself (RFC 7523 §3, draft-ietf-oauth-identity-assertion-authz-grant
//! §4.4.1): explicit typing, a trusted issuer that issues ID-JAGs to this
//! server and that the client may present, the issuer's keys, times, `sub`,
//! `jti`, an `aud` naming this server alone and `client_id` the client.

use super::{ID_JAG_TYP, ROLE};
use crate::answer::{AuditRecord, PartyRecord};
use crate::config::DEFAULT_ACCEPTED_TYPES;
use crate::decide::Client;
use crate::jose::{self, CompactJws};
use crate::reason::{Reason, Refusal};
use crate::request::TokenType;
use crate::token::{numeric_date, string_claim, typ_is, Validator};
use serde_json::{Map, Value};

/// What a verified assertion says.
pub(super) struct Assertion<'c> {
    pub(super) claims: &'c Map<String, Value>,
    pub(super) iss: &'c str,
    pub(super) sub: &'c str,
    pub(super) jti: &'c str,
    pub(super) exp: i64,
}

/// RFC 7523 §3 and draft §4.4.1, in order: typing, issuer, signature,
/// times, `sub`, `jti`, `aud`, `client_id`.
pub(super) fn verify<'c>(
    validator: &Validator<'_>,
    client: &Client<'_>,
    jws: &CompactJws<'_>,
    claims: &'c Map<String, Value>,
    audit: &mut AuditRecord,
) -> Result<Assertion<'c>, Refusal> {
    if !typ_is(jws.header().typ.as_deref(), ID_JAG_TYP) {
        return Err(ROLE.refuse(
            Reason::TokenTypeMismatch,
            "the assertion is not an ID-JAG (typ oauth-id-jag+jwt)",
        ));
    }
    let iss = string_claim(claims, "iss")
        .ok_or_else(|| ROLE.refuse(Reason::MissingClaim, "the assertion has no iss claim"))?;
    // Never this server's own issuer (draft: an IdP does not redeem the
    // ID-JAGs it issued); settings keep it out of the trusted issuers.
    let trusted = validator
        .settings
        .trusted_issuer(iss)
        .ok_or_else(|| ROLE.refuse(Reason::UntrustedIssuer, "the issuer is not trusted"))?;
    let types = trusted
        .token_types
        .as_deref()
        .unwrap_or(&DEFAULT_ACCEPTED_TYPES);
    if !types.contains(&TokenType::IdJag) {
        return Err(ROLE.refuse(
            Reason::TokenTypeNotAccepted,
            "ID-JAGs are not accepted from this issuer",
        ));
    }
    let allowed = client.policy.trusted_issuers.as_ref();
    if !allowed.is_some_and(|list| list.iter().any(|i| i == iss)) {
        return Err(ROLE.refuse(
            Reason::IssuerNotAllowedForClient,
            "this client may not present ID-JAGs of that issuer",
        ));
    }
    let keys = validator
        .keys
        .get(iss)
        .ok_or_else(|| ROLE.refuse(Reason::UnknownKey, "no keys are known for the issuer"))?;
    jose::verify(jws, keys, validator.verifier)
        .map_err(|e| ROLE.refuse(e.code(), e.description()))?;
    audit.subject = Some(PartyRecord {
        iss: Some(iss.to_owned()),
        sub: string_claim(claims, "sub").map(str::to_owned),
        client_id: string_claim(claims, "client_id").map(str::to_owned),
    });

    validator.check_times(ROLE, claims)?;
    if !claims.contains_key("iat") {
        return Err(ROLE.refuse(Reason::MissingClaim, "the assertion has no iat claim"));
    }
    if claims.contains_key("cnf") {
        return Err(ROLE.refuse(
            Reason::ProofOfPossessionRequired,
            "the assertion is bound to a key (cnf); proof of possession is not supported",
        ));
    }
    let sub = required_string(claims, "sub")?;
    let jti = required_string(claims, "jti")?;
    // Draft §4.4.1: `aud` is this server's issuer, alone (a one-element
    // array at most), so the assertion cannot be redeemed elsewhere too.
    let aud = match claims.get("aud") {
        None => return Err(ROLE.refuse(Reason::MissingClaim, "the assertion has no aud claim")),
        Some(Value::String(aud)) => Some(aud),
        Some(Value::Array(items)) => match items.as_slice() {
            [Value::String(aud)] => Some(aud),
            _ => None,
        },
        Some(_) => None,
    };
    if !aud.is_some_and(|aud| same_issuer(aud, &validator.settings.issuer)) {
        return Err(ROLE.refuse(
            Reason::AudienceMismatch,
            "the assertion's aud must be this server's issuer alone",
        ));
    }
    if required_string(claims, "client_id")? != client.id {
        return Err(ROLE.refuse(
            Reason::TokenHolderMismatch,
            "the assertion was issued to another client (client_id)",
        ));
    }
    Ok(Assertion {
        claims,
        iss,
        sub,
        jti,
        // check_times refused an assertion without a NumericDate `exp`.
        exp: claims.get("exp").and_then(numeric_date).unwrap_or_default(),
    })
}

/// Equal, or different only by one trailing slash (how clients compare
/// issuer identifiers in discovery).
fn same_issuer(aud: &str, issuer: &str) -> bool {
    aud == issuer || aud.strip_suffix('/') == Some(issuer) || issuer.strip_suffix('/') == Some(aud)
}

fn required_string<'c>(claims: &'c Map<String, Value>, name: &str) -> Result<&'c str, Refusal> {
    match claims.get(name) {
        None => Err(ROLE.refuse(
            Reason::MissingClaim,
            format!("the assertion has no {name} claim"),
        )),
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(_) => Err(ROLE.refuse(
            Reason::InvalidClaim,
            format!("{name} must be a non-empty string"),
        )),
    }
}
