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

use crate::answer::{AssertionDecision, AssertionGrant, AuditRecord, Failure, Provision, Verdict};
use crate::config::{AssertionCall, ClientInput};
use crate::decide::{check_client, check_target, effective_policy, Client, GrantKind};
use crate::error::quote;
use crate::jose::{CompactJws, JoseError};
use crate::reason::{Reason, Refusal};
use crate::request::{
    check_single, grant_type, missing, push_unique, scope, single, split_scope, targets, TokenType,
    MAX_TARGETS,
};
use crate::scope::{requested_within, scope_set};
use crate::token::{string_claim, Role, Validator};
use serde_json::{Map, Value};
use verify::{verify, Assertion};

mod verify;

pub use crate::request::{ID_JAG_TYP, JWT_BEARER_GRANT_TYPE as GRANT_TYPE};

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
    grant_type(form, GRANT_TYPE)?;
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
