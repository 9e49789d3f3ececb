//! The resource authorization server's side of cross-app access: a
//! jwt-bearer request (RFC 7523 §2.1) presenting an ID-JAG
//! (draft-ietf-oauth-identity-assertion-authz-grant §4.4) for an access
//! token.
//!
//! The checks run in the order a request meets them: the client (as for
//! the exchange, with its own opt-in `allowedIdJag` and grant type), the
//! form, the assertion (RFC 7523 §3 and the draft's processing rules:
//! explicit typing, a trusted issuer that issues ID-JAGs to this server and
//! that the client may present, the issuer's keys, times, `sub`, `jti`, an
//! `aud` naming this server alone, `client_id` the authenticated client),
//! then targets, scope and the subject. Every refusal of the assertion
//! itself is answered `invalid_grant` (RFC 7523 §3.1, see
//! [`Reason::assertion_error`]).

use crate::answer::{
    AssertionDecision, AssertionGrant, AuditRecord, Failure, PartyRecord, Provision, Verdict,
};
use crate::config::{AssertionCall, ClientInput, DEFAULT_ACCEPTED_TYPES};
use crate::decide::{
    check_client, check_target, effective_policy, requested_within, scope_set, Client, GrantKind,
};
use crate::error::quote;
use crate::jose::{self, CompactJws, JoseError};
use crate::reason::{Reason, Refusal};
use crate::request::{
    check_single, missing, push_unique, scope, single, split_scope, targets, TokenType, MAX_TARGETS,
};
use crate::token::{numeric_date, string_claim, typ_is, Role, Validator};
use serde_json::{Map, Value};

/// `grant_type` of RFC 7523 §2.1.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The `typ` of an ID-JAG (draft §3.1, RFC 8725 §3.11), compared ASCII
/// case-insensitively, with or without the `application/` prefix (RFC 7515
/// §4.1.9).
pub const ID_JAG_TYP: &str = "oauth-id-jag+jwt";

/// Parameters that may appear at most once (TX-8, RFC 6749 §3.1).
const SINGLE: [&str; 5] = [
    "grant_type",
    "assertion",
    "scope",
    "client_id",
    "client_secret",
];

const ROLE: Role = Role::Assertion;

/// The jwt-bearer form, read.
struct AssertionForm<'f> {
    assertion: &'f str,
    resources: Vec<String>,
    scope: Option<Vec<String>>,
}

/// What a verified assertion says.
struct Assertion<'c> {
    claims: &'c Map<String, Value>,
    iss: &'c str,
    sub: &'c str,
    jti: &'c str,
    exp: i64,
}

/// Decides one jwt-bearer request. Never panics; every path yields a record.
pub fn decide_assertion(validator: &Validator<'_>, call: &AssertionCall) -> AssertionDecision {
    let mut audit = AuditRecord::new(call.now, call.client.client_id().map(str::to_owned));
    audit.subject_token_type = Some(TokenType::IdJag.uri());
    audit.requested_token_type = Some(TokenType::AccessToken.uri());
    let basic = matches!(
        call.client,
        ClientInput::Unauthenticated { basic: true, .. }
    );
    match run(validator, call, &mut audit) {
        Ok(grant) => AssertionDecision::Success(Box::new(grant)),
        Err(mut refusal) => {
            refusal.error = refusal.reason.assertion_error();
            AssertionDecision::Failure(Box::new(Failure::from_refusal(refusal, audit, basic)))
        }
    }
}

fn run(
    validator: &Validator<'_>,
    call: &AssertionCall,
    audit: &mut AuditRecord,
) -> Result<AssertionGrant, Refusal> {
    let client = check_client(&call.client, GrantKind::JwtBearer)?;
    let settings = validator.settings;
    let form = parse_form(&call.form, settings.max_token_bytes as usize)?;
    audit.resources.clone_from(&form.resources);
    audit.requested_scope = form.scope.as_ref().map(|s| s.join(" "));

    let limits = validator.limits();
    let jose_refusal = |e: JoseError| ROLE.refuse(e.code(), e.description());
    let jws = CompactJws::parse(form.assertion, &limits).map_err(jose_refusal)?;
    let claims = jws.claims(&limits).map_err(jose_refusal)?;
    let assertion = verify(validator, &client, &jws, &claims, audit)?;

    // RFC 8707 and draft §4.4: the resources asked for are within the
    // assertion's; without any, the assertion's own. Either way they are
    // this server's, linked to the client.
    let claimed = resource_claim(&claims)?;
    if let Some(claimed) = &claimed {
        if let Some(other) = form.resources.iter().find(|r| !claimed.contains(r)) {
            return Err(Refusal::new(
                Reason::TargetNotAllowed,
                format!("resource {} is not among the assertion's", quote(other)),
            ));
        }
    }
    let resources = match claimed {
        Some(claimed) if form.resources.is_empty() => claimed,
        _ => form.resources,
    };
    audit.resources.clone_from(&resources);
    for resource in &resources {
        check_target(&client, resource)?;
    }

    let refresh_token = client.policy.refresh_tokens.unwrap_or(false);
    let scopes = grant_scope(
        &client,
        &claims,
        &resources,
        form.scope.as_ref(),
        refresh_token,
        settings.max_act_depth as usize,
    )?;
    let scope = scopes.join(" ");
    let (user_id, provision) = subject(validator, call, &assertion)?;

    audit.decision = Verdict::Granted;
    audit.granted_scope = Some(scope.clone());
    Ok(AssertionGrant {
        user_id,
        provision,
        subject: assertion.sub.to_owned(),
        issuer: assertion.iss.to_owned(),
        jti: assertion.jti.to_owned(),
        assertion_expires_at: assertion.exp,
        resources,
        scope_changed: form.scope.as_ref() != Some(&scopes),
        scopes,
        scope,
        refresh_token,
        audit: audit.clone(),
    })
}

/// RFC 7523 §2.1: `grant_type` the jwt-bearer URN and one `assertion`;
/// `scope` (RFC 6749 §3.3) and repeated `resource` (RFC 8707) optional.
fn parse_form(
    form: &[(String, String)],
    max_token_bytes: usize,
) -> Result<AssertionForm<'_>, Refusal> {
    check_single(form, &SINGLE)?;
    match single(form, "grant_type") {
        Some(GRANT_TYPE) => {}
        Some(_) => {
            return Err(Refusal::new(
                Reason::UnsupportedGrantType,
                "grant_type must be urn:ietf:params:oauth:grant-type:jwt-bearer",
            ))
        }
        None => return Err(missing("grant_type")),
    }
    let assertion = single(form, "assertion").ok_or_else(|| missing("assertion"))?;
    let (_, resources) = targets(form, false)?;
    let scope = scope(form)?;
    if assertion.len() > max_token_bytes {
        return Err(Refusal::new(
            Reason::TokenTooLarge,
            format!("the assertion is larger than {max_token_bytes} bytes"),
        ));
    }
    Ok(AssertionForm {
        assertion,
        resources,
        scope,
    })
}

/// RFC 7523 §3 and draft §4.4.1, in order: typing, issuer, signature,
/// times, `sub`, `jti`, `aud`, `client_id`.
fn verify<'c>(
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

/// The `resource` claim (draft §3.1: a URI or an array of URIs), without
/// repeats and bounded like requested targets (TX-25).
fn resource_claim(claims: &Map<String, Value>) -> Result<Option<Vec<String>>, Refusal> {
    let items = match claims.get("resource") {
        None => return Ok(None),
        Some(one @ Value::String(_)) => std::slice::from_ref(one),
        Some(Value::Array(items)) => items.as_slice(),
        Some(_) => &[Value::Null],
    };
    const _: () = assert!(MAX_TARGETS == 128, "the description names the bound");
    if items.len() > MAX_TARGETS {
        return Err(ROLE.refuse(
            Reason::TooManyTargets,
            "the resource claim holds more than 128 values",
        ));
    }
    let mut out = Vec::new();
    for item in items {
        let Some(item) = item.as_str() else {
            return Err(ROLE.refuse(
                Reason::InvalidClaim,
                "resource must be a string or an array of strings",
            ));
        };
        push_unique(&mut out, item);
    }
    Ok(Some(out))
}

/// MCP profile §7.2.1 and RFC 6749 §3.3: within the client's registered
/// scopes, the assertion's `scope` and the policy ceiling (the client's
/// and each resource's); `offline_access` only with refresh tokens.
fn grant_scope(
    client: &Client<'_>,
    claims: &Map<String, Value>,
    resources: &[String],
    requested: Option<&Vec<String>>,
    refresh_token: bool,
    max_act_depth: usize,
) -> Result<Vec<String>, Refusal> {
    let asserted = match claims.get("scope") {
        None => Vec::new(),
        Some(Value::String(s)) => split_scope(s),
        Some(_) => return Err(ROLE.refuse(Reason::InvalidClaim, "scope must be a string")),
    };
    let effective = effective_policy(&client.policy, &[], resources, max_act_depth);
    let ceiling = effective.scope_ceiling.as_deref().map(scope_set);
    let (registered, in_assertion) = (scope_set(client.scopes), scope_set(&asserted));
    let allowed = |s: &String| {
        registered.contains(s.as_str())
            && in_assertion.contains(s.as_str())
            && ceiling.as_ref().is_none_or(|c| c.contains(s.as_str()))
            && (refresh_token || s != "offline_access")
    };
    let Some(requested) = requested else {
        return Ok(asserted.iter().filter(|s| allowed(s)).cloned().collect());
    };
    requested_within(requested, &allowed)
}

/// The local user of (`iss`, `sub`); else, for an issuer with
/// `jitProvisioning`, the user to create from the assertion's `email`.
fn subject(
    validator: &Validator<'_>,
    call: &AssertionCall,
    assertion: &Assertion<'_>,
) -> Result<(Option<String>, Option<Provision>), Refusal> {
    if let Some(user) = &call.subject_user {
        if user.issuer == assertion.iss && user.sub == assertion.sub {
            return Ok((Some(user.user_id.clone()), None));
        }
    }
    let jit = validator
        .settings
        .trusted_issuer(assertion.iss)
        .is_some_and(|t| t.jit_provisioning);
    let claims = assertion.claims;
    match string_claim(claims, "email").filter(|e| !e.is_empty()) {
        Some(email) if jit => Ok((
            None,
            Some(Provision {
                email: email.to_owned(),
                email_verified: claims.get("email_verified").and_then(Value::as_bool),
                name: string_claim(claims, "name").map(str::to_owned),
            }),
        )),
        _ => Err(Refusal::new(
            Reason::SubjectNotLinked,
            if jit {
                "the subject is not linked to a local user, and the assertion has no email"
            } else {
                "the assertion's subject is not linked to a local user"
            },
        )),
    }
}
