//! The `decide` target's second half: the subject claims signed as an ID-JAG
//! and presented with the jwt-bearer grant (`Engine::decide_assertion`,
//! RFC 7523 §2.1) with the fuzzer's extra form pairs and client policy.
//!
//! No panic, and every answer keeps its invariants: a grant's subject,
//! issuer and `jti` are the assertion's, its issuer trusted, its `aud` this
//! server alone and its `client_id` the client; its scope within the
//! client's and the assertion's, its resources linked; a linked user or a
//! user to provision from an `email`. A refusal is audited with its reason,
//! answered with the reason's jwt-bearer error (`invalid_grant` for the
//! assertion's own faults), in RFC 6749 §5.2 characters (TX-71), without
//! echoing the assertion.

use better_auth_token_exchange::answer::Verdict;
use better_auth_token_exchange::error::is_description_safe;
use better_auth_token_exchange::{AssertionCall, AssertionDecision, Engine};
use better_auth_token_exchange_fuzz::{
    external_key, own_key, sign_raw, CLIENT_SCOPES, EXTERNAL, GRANT, ISSUER, JWT_BEARER, LINKED,
    NOW,
};
use serde_json::{json, Map, Value};
use std::thread::LocalKey;

/// Runs one assertion decision; flags as in `decide.rs` (bit 2: signed by
/// the external issuer, else by this server; bits 4-5: the client variant).
pub fn run(
    engine: &'static LocalKey<Engine>,
    flags: u8,
    payload: &[u8],
    header: &[u8],
    extra: &[(String, String)],
    policy: &Value,
) {
    let key = if flags & 0b100 != 0 {
        external_key()
    } else {
        own_key()
    };
    let assertion = sign_raw(&key, header, payload);
    let mut form = vec![
        ("grant_type".to_owned(), JWT_BEARER.to_owned()),
        ("assertion".to_owned(), assertion.clone()),
    ];
    form.extend(extra.iter().cloned());
    // Without a policy of the fuzzer's, the client may present the
    // external issuer's ID-JAGs.
    let policy = match policy {
        Value::Object(_) => policy.clone(),
        _ => json!({ "trustedIssuers": [EXTERNAL] }),
    };
    let call = json!({
        "form": form,
        "now": NOW,
        "client": client((flags >> 4) & 0b11, policy),
        "subjectUser": { "issuer": EXTERNAL, "sub": "ext-user", "userId": "local-user" },
    });
    let Ok(call) = serde_json::from_value::<AssertionCall>(call) else {
        return;
    };
    let decision = engine.with(|engine| engine.decide_assertion(&call));
    if std::env::var_os("FUZZ_DEBUG").is_some() {
        match &decision {
            AssertionDecision::Success(g) => {
                eprintln!("assertion granted {} {:?}", g.subject, g.scopes)
            }
            AssertionDecision::Failure(f) => {
                eprintln!("assertion refused {} {}", f.reason, f.description)
            }
        }
    }
    match &decision {
        AssertionDecision::Success(grant) => {
            assert_eq!(grant.audit.decision, Verdict::Granted);
            let claims = claims(payload).expect("a granted assertion has JSON claims");
            let text = |name: &str| claims.get(name).and_then(Value::as_str);
            assert_eq!(text("sub"), Some(grant.subject.as_str()));
            assert_eq!(text("jti"), Some(grant.jti.as_str()));
            assert_eq!(grant.issuer, EXTERNAL);
            assert_eq!(text("iss"), Some(EXTERNAL));
            assert_eq!(text("client_id"), Some("bff"));
            let aud = match claims.get("aud") {
                Some(Value::Array(items)) if items.len() == 1 => {
                    items.first().and_then(Value::as_str)
                }
                Some(Value::String(s)) => Some(s.as_str()),
                _ => None,
            };
            assert!(
                matches!(aud, Some(a) if a.trim_end_matches('/') == ISSUER && a.len() <= ISSUER.len() + 1)
            );
            assert!(claims.get("cnf").is_none());
            // Within the client's registered scopes and the assertion's.
            let asserted: Vec<&str> = text("scope").unwrap_or_default().split(' ').collect();
            for scope in &grant.scopes {
                assert!(
                    CLIENT_SCOPES.contains(&scope.as_str()) && asserted.contains(&scope.as_str())
                );
            }
            assert_eq!(grant.scope, grant.scopes.join(" "));
            assert!(grant.resources.iter().all(|r| LINKED.contains(&r.as_str())));
            match (&grant.user_id, &grant.provision) {
                (Some(user), None) => assert_eq!(
                    (user.as_str(), grant.subject.as_str()),
                    ("local-user", "ext-user")
                ),
                (None, Some(provision)) => {
                    assert_eq!(text("email"), Some(provision.email.as_str()))
                }
                _ => panic!("a grant has a user or a user to provision"),
            }
        }
        AssertionDecision::Failure(failure) => {
            assert_eq!(failure.audit.decision, Verdict::Refused);
            assert_eq!(failure.audit.reason, Some(failure.reason));
            assert_eq!(failure.error, failure.reason.assertion_error());
            assert_eq!(failure.status, failure.error.status());
            assert!(
                is_description_safe(&failure.description),
                "description outside RFC 6749 section 5.2: {:?}",
                failure.description
            );
            for part in assertion.split('.').filter(|p| p.len() >= 16) {
                assert!(
                    !failure.description.contains(part),
                    "an assertion part leaked"
                );
            }
        }
    }
}

fn client(variant: u8, policy: Value) -> Value {
    let mut c = json!({
        "status": "authenticated", "clientId": "bff", "authMethod": "client_secret_basic",
        "grantTypes": [GRANT, JWT_BEARER], "scopes": CLIENT_SCOPES,
        "linkedResources": LINKED, "allowedIdJag": true, "policy": policy,
    });
    match variant {
        1 => c["authMethod"] = json!("none"),
        2 => {
            c = json!({ "status": "unauthenticated", "clientId": "bff", "basic": true, "reason": "bad_credentials" })
        }
        3 => c["allowedIdJag"] = json!(false),
        _ => {}
    }
    c
}

fn claims(payload: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice::<Value>(payload) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}
