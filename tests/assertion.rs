//! `Engine::decide_assertion`: the resource authorization server's side of
//! cross-app access, a jwt-bearer request (RFC 7523 §2.1) presenting an
//! ID-JAG (draft-ietf-oauth-identity-assertion-authz-grant §4.4). Each rule
//! granted and refused, and the error mapping (RFC 7523 §3.1: a refused
//! assertion is `invalid_grant`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use better_auth_token_exchange::answer::{AssertionGrant, Verdict};
use better_auth_token_exchange::engine::KeysAnswer;
use better_auth_token_exchange::error::is_description_safe;
use better_auth_token_exchange::{AssertionCall, AssertionDecision, Engine, EngineSettings};
use common::*;
use serde_json::{json, Value};

/// A trusted issuer whose ID-JAGs are not accepted (default token types).
const IDP3: &str = "https://idp3.example";
const CLIENT: &str = "mcp-client";

fn idp3_key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[13u8; 32])
}

/// Settings of the resource AS `issuer`: `EXTERNAL` issues ID-JAGs and
/// provisions users, `EXTERNAL2` issues ID-JAGs, `IDP3` issues none.
fn ras_engine(issuer: &str) -> Engine {
    let settings: EngineSettings = serde_json::from_value(json!({
        "issuer": issuer,
        "trustedIssuers": [
            { "issuer": EXTERNAL, "audiences": [issuer], "tokenTypes": ["id_jag"], "jitProvisioning": true },
            { "issuer": EXTERNAL2, "audiences": [issuer], "tokenTypes": ["id_jag", "id_token"] },
            { "issuer": IDP3, "audiences": [issuer] },
        ],
    }))
    .unwrap();
    let mut engine = Engine::new(settings).unwrap();
    for (iss, key, kid) in [
        (issuer, own_key(), "own-1"),
        (EXTERNAL, external_key(), "ext-1"),
        (EXTERNAL2, external2_key(), "ext2-1"),
        (IDP3, idp3_key(), "idp3-1"),
    ] {
        let set = json!({ "keys": [jwk(&key, kid)] }).to_string();
        assert!(matches!(
            engine.set_issuer_keys(iss, set.as_bytes()),
            KeysAnswer::Ok { keys: 1, .. }
        ));
    }
    engine
}

/// An ID-JAG of `issuer` for `ext-user`, issued to `mcp-client` for this
/// server and `API_A` with `read write`; `extra` claims merged in (null
/// removes one).
fn jag_of(issuer: &str, extra: Value) -> String {
    jag_with_header(issuer, json!({"typ": "oauth-id-jag+jwt"}), extra)
}

fn jag(extra: Value) -> String {
    jag_of(EXTERNAL2, extra)
}

fn jag_with_header(issuer: &str, header: Value, extra: Value) -> String {
    let (key, kid) = match issuer {
        EXTERNAL => (external_key(), "ext-1"),
        EXTERNAL2 => (external2_key(), "ext2-1"),
        IDP3 => (idp3_key(), "idp3-1"),
        _ => (own_key(), "own-1"),
    };
    let mut h = json!({"alg": "EdDSA", "kid": kid});
    merge(&mut h, header);
    let mut claims = json!({
        "iss": issuer, "sub": "ext-user", "aud": ISSUER, "client_id": CLIENT,
        "jti": "jti-1", "iat": NOW - 5, "exp": NOW + 300,
        "resource": API_A, "scope": "read write",
        "email": "ext@example.com", "email_verified": true, "name": "Ext User",
    });
    merge(&mut claims, extra);
    sign(&key, &h, &claims)
}

/// An opted-in confidential client with `read write admin offline_access`,
/// both APIs linked, allowed to present ID-JAGs of the three issuers;
/// `policy` merged into its policy.
fn ras_client(policy: Value) -> Value {
    let mut p = json!({"trustedIssuers": [EXTERNAL, EXTERNAL2, IDP3]});
    merge(&mut p, policy);
    json!({
        "status": "authenticated", "clientId": CLIENT, "authMethod": "client_secret_basic",
        "grantTypes": [JWT_BEARER], "scopes": ["read", "write", "admin", "offline_access"],
        "linkedResources": [API_A, API_B], "allowedIdJag": true, "policy": p,
    })
}

fn bearer(assertion: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut f = vec![
        ("grant_type".to_owned(), JWT_BEARER.to_owned()),
        ("assertion".to_owned(), assertion.to_owned()),
    ];
    f.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    f
}

fn linked() -> Value {
    json!({"subjectUser": {"issuer": EXTERNAL2, "sub": "ext-user", "userId": "local-7"}})
}

fn assertion_call(form: Vec<(String, String)>, client: Value, more: Value) -> AssertionCall {
    let mut c = json!({ "form": form, "now": NOW, "client": client });
    merge(&mut c, more);
    serde_json::from_value(c).unwrap()
}

fn decide_on(
    engine: &Engine,
    form: Vec<(String, String)>,
    client: Value,
    more: Value,
) -> AssertionDecision {
    let d = engine.decide_assertion(&assertion_call(form, client, more));
    if let AssertionDecision::Failure(f) = &d {
        // TX-71 and TX-60 for every refusal of these tests.
        assert!(is_description_safe(&f.description), "{:?}", f.description);
        assert_eq!(
            (f.audit.decision, f.audit.reason, f.audit.error),
            (Verdict::Refused, Some(f.reason), Some(f.error))
        );
        assert_eq!(f.status, f.error.status());
        assert_eq!(f.error, f.reason.assertion_error());
    }
    d
}

fn decide(form: Vec<(String, String)>, client: Value, more: Value) -> AssertionDecision {
    decide_on(&ras_engine(ISSUER), form, client, more)
}

fn refused(d: &AssertionDecision) -> (&'static str, &'static str) {
    match d {
        AssertionDecision::Failure(f) => (f.error.as_str(), f.reason.as_str()),
        AssertionDecision::Success(g) => {
            panic!("expected a refusal, got a grant for {}", g.subject)
        }
    }
}

fn granted(d: &AssertionDecision) -> &AssertionGrant {
    match d {
        AssertionDecision::Success(g) => g,
        AssertionDecision::Failure(f) => {
            panic!(
                "expected a grant, got {} {}: {}",
                f.error.as_str(),
                f.reason,
                f.description
            )
        }
    }
}

/// The refusal of `assertion` presented by the usual client for a linked user.
fn refused_assertion(assertion: &str) -> (&'static str, &'static str) {
    refused(&decide(
        bearer(assertion, &[]),
        ras_client(json!({})),
        linked(),
    ))
}

#[test]
fn s4_4_a_valid_id_jag_is_granted_for_the_linked_user() {
    let d = decide(
        bearer(&jag(json!({})), &[]),
        ras_client(json!({})),
        linked(),
    );
    let g = granted(&d);
    assert_eq!(
        (
            g.user_id.as_deref(),
            g.provision.as_ref(),
            g.subject.as_str(),
            g.issuer.as_str(),
            g.jti.as_str()
        ),
        (Some("local-7"), None, "ext-user", EXTERNAL2, "jti-1")
    );
    assert_eq!(g.assertion_expires_at, NOW + 300);
    // No resource asked for: the assertion's. No scope: the assertion's
    // within the client's, in the assertion's order, reported (RFC 6749 §5.1).
    assert_eq!(g.resources, vec![API_A]);
    assert_eq!(
        (g.scopes.clone(), g.scope.as_str(), g.scope_changed),
        (
            vec!["read".to_owned(), "write".to_owned()],
            "read write",
            true
        )
    );
    assert!(!g.refresh_token);
    let v = serde_json::to_value(&d).unwrap();
    assert_eq!(v["type"], "success");
    assert_eq!(v["userId"], "local-7");
    assert_eq!(v["assertionExpiresAt"], NOW + 300);
    assert_eq!(v["scopeChanged"], true);
    assert!(v.get("provision").is_none());
    // TX-60: the audit record.
    assert_eq!(
        v["audit"],
        json!({
            "time": NOW, "clientId": CLIENT, "decision": "granted",
            "subject": {"iss": EXTERNAL2, "sub": "ext-user", "clientId": CLIENT},
            "priorActors": [],
            "subjectTokenType": ID_JAG,
            "requestedTokenType": AT,
            "audiences": [], "resources": [API_A],
            "grantedScope": "read write", "delegation": false,
        })
    );
    // Asked for exactly what is allowed: unchanged.
    let d = decide(
        bearer(&jag(json!({})), &[("scope", "read"), ("resource", API_A)]),
        ras_client(json!({})),
        linked(),
    );
    let g = granted(&d);
    assert_eq!((g.scope.as_str(), g.scope_changed), ("read", false));
    assert_eq!(g.audit.requested_scope.as_deref(), Some("read"));
}

#[test]
fn tx10_to_tx12_client_checks_with_their_own_opt_in_and_grant_type() {
    let form = || bearer(&jag(json!({})), &[]);
    for reason in [
        "no_credentials",
        "unknown_client",
        "bad_credentials",
        "public_client",
    ] {
        let c = json!({ "status": "unauthenticated", "clientId": CLIENT, "basic": true, "reason": reason });
        let AssertionDecision::Failure(f) = decide(form(), c, linked()) else {
            panic!()
        };
        assert_eq!(
            (f.error.as_str(), f.status, f.www_authenticate),
            ("invalid_client", 401, true)
        );
    }
    let c =
        json!({ "status": "unauthenticated", "clientId": CLIENT, "reason": "grant_not_allowed" });
    let d = decide(form(), c, linked());
    assert_eq!(
        refused(&d),
        ("unauthorized_client", "grant_type_not_allowed")
    );
    let AssertionDecision::Failure(f) = d else {
        unreachable!()
    };
    assert!(f.description.contains("jwt-bearer"), "{}", f.description);
    let mut c = ras_client(json!({}));
    c["authMethod"] = json!("none");
    assert_eq!(
        refused(&decide(form(), c, linked())),
        ("invalid_client", "public_client")
    );
    let mut c = ras_client(json!({}));
    c["disabled"] = json!(true);
    assert_eq!(
        refused(&decide(form(), c, linked())),
        ("invalid_client", "client_authentication_failed")
    );
    // The opt-in is allowedIdJag, off by default; allowedTokenExchange is
    // another grant's.
    let mut c = ras_client(json!({}));
    c.as_object_mut().unwrap().remove("allowedIdJag");
    c["allowedTokenExchange"] = json!(true);
    assert_eq!(
        refused(&decide(form(), c, linked())),
        ("unauthorized_client", "id_jag_not_enabled")
    );
    let mut c = ras_client(json!({}));
    c["grantTypes"] = json!([GRANT]);
    assert_eq!(
        refused(&decide(form(), c, linked())),
        ("unauthorized_client", "grant_type_not_allowed")
    );
    let d = decide(form(), ras_client(json!({"trustedIssuers": "x"})), linked());
    assert_eq!(refused(&d), ("server_error", "invalid_client_policy"));
}

#[test]
fn rfc7523_s2_1_form_errors_are_invalid_request() {
    let a = jag(json!({}));
    let without = |name: &str| -> Vec<(String, String)> {
        bearer(&a, &[])
            .into_iter()
            .filter(|(k, _)| k != name)
            .collect()
    };
    let client = || ras_client(json!({}));
    assert_eq!(
        refused(&decide(without("grant_type"), client(), linked())),
        ("invalid_request", "missing_parameter")
    );
    assert_eq!(
        refused(&decide(without("assertion"), client(), linked())),
        ("invalid_request", "missing_parameter")
    );
    let mut f = bearer(&a, &[]);
    f[0].1 = GRANT.to_owned();
    assert_eq!(
        refused(&decide(f, client(), linked())),
        ("invalid_request", "unsupported_grant_type")
    );
    // TX-8.
    for (name, value) in [
        ("grant_type", JWT_BEARER),
        ("assertion", a.as_str()),
        ("scope", "read"),
        ("client_id", CLIENT),
    ] {
        let f = bearer(&a, &[(name, value), (name, value)]);
        assert_eq!(
            refused(&decide(f, client(), linked())),
            ("invalid_request", "duplicate_parameter"),
            "{name}"
        );
    }
    // RFC 6749 §3.3 and RFC 8707 syntax.
    let d = decide(bearer(&a, &[("scope", "read \"x\"")]), client(), linked());
    assert_eq!(refused(&d), ("invalid_scope", "malformed_scope"));
    let d = decide(
        bearer(&a, &[("resource", "https://api-a.example/#frag")]),
        client(),
        linked(),
    );
    assert_eq!(refused(&d), ("invalid_target", "invalid_resource"));
    // The size bound is the assertion's: invalid_grant.
    let d = decide(bearer(&"a".repeat(17_000), &[]), client(), linked());
    assert_eq!(refused(&d), ("invalid_grant", "token_too_large"));
    // An `audience` is not a jwt-bearer parameter: ignored.
    granted(&decide(
        bearer(&a, &[("audience", "https://elsewhere.example")]),
        client(),
        linked(),
    ));
}

#[test]
fn rfc7523_s3_the_assertion_is_a_strictly_parsed_verified_jws() {
    assert_eq!(
        refused_assertion("not-a-jwt"),
        ("invalid_grant", "malformed_token")
    );
    let a = jag(json!({}));
    assert_eq!(
        refused_assertion(&format!("{a}=")),
        ("invalid_grant", "malformed_token")
    );
    let claims = json!({"iss": EXTERNAL2, "sub": "ext-user", "aud": ISSUER, "client_id": CLIENT, "jti": "j", "iat": NOW, "exp": NOW + 60});
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "oauth-id-jag+jwt"})),
        b64(&claims)
    );
    assert_eq!(
        refused_assertion(&none),
        ("invalid_grant", "unsupported_algorithm")
    );
    // Signed by someone else under the issuer's kid.
    let forged = sign(
        &external_key(),
        &json!({"alg": "EdDSA", "kid": "ext2-1", "typ": "oauth-id-jag+jwt"}),
        &claims,
    );
    assert_eq!(
        refused_assertion(&forged),
        ("invalid_grant", "bad_signature")
    );
    let rotated = jag_with_header(
        EXTERNAL2,
        json!({"typ": "oauth-id-jag+jwt", "kid": "rotated"}),
        json!({}),
    );
    assert_eq!(
        refused_assertion(&rotated),
        ("invalid_grant", "unknown_key")
    );
    // Tampered claims.
    let parts: Vec<&str> = a.split('.').collect();
    let other = jag(json!({"sub": "admin"}));
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        other.split('.').nth(1).unwrap(),
        parts[2]
    );
    assert_eq!(
        refused_assertion(&tampered),
        ("invalid_grant", "bad_signature")
    );
}

#[test]
fn s3_1_the_header_typ_is_oauth_id_jag_jwt() {
    for typ in [
        json!(null),
        json!("JWT"),
        json!("at+jwt"),
        json!("oauth-id-jag"),
        json!(7),
    ] {
        let a = jag_with_header(EXTERNAL2, json!({"typ": typ.clone()}), json!({}));
        let expected = if typ.is_number() {
            "malformed_token"
        } else {
            "token_type_mismatch"
        };
        assert_eq!(refused_assertion(&a), ("invalid_grant", expected), "{typ}");
    }
    for typ in ["OAUTH-ID-JAG+JWT", "application/oauth-id-jag+jwt"] {
        let a = jag_with_header(EXTERNAL2, json!({"typ": typ}), json!({}));
        granted(&decide(bearer(&a, &[]), ras_client(json!({})), linked()));
    }
}

#[test]
fn s4_4_1_the_issuer_is_trusted_for_id_jags_and_for_this_client() {
    assert_eq!(
        refused_assertion(&jag(json!({"iss": null}))),
        ("invalid_grant", "missing_claim")
    );
    let unknown = jag(json!({"iss": "https://evil.example"}));
    assert_eq!(
        refused_assertion(&unknown),
        ("invalid_grant", "untrusted_issuer")
    );
    // Never one of this server's own (an IdP does not redeem its own ID-JAGs).
    assert_eq!(
        refused_assertion(&jag_of(ISSUER, json!({}))),
        ("invalid_grant", "untrusted_issuer")
    );
    // A trusted issuer whose tokenTypes do not list id_jag.
    assert_eq!(
        refused_assertion(&jag_of(IDP3, json!({}))),
        ("invalid_grant", "token_type_not_accepted")
    );
    // TX-24: the client's policy names the issuer.
    for policy in [
        json!({"trustedIssuers": null}),
        json!({"trustedIssuers": [EXTERNAL]}),
    ] {
        let d = decide(bearer(&jag(json!({})), &[]), ras_client(policy), linked());
        assert_eq!(
            refused(&d),
            ("invalid_grant", "issuer_not_allowed_for_client")
        );
    }
}

#[test]
fn rfc7523_s3_times_sub_and_jti() {
    let cases = [
        (json!({"exp": null}), "missing_claim"),
        (json!({"exp": NOW - 31}), "token_expired"),
        (json!({"exp": "later"}), "invalid_claim"),
        (json!({"iat": null}), "missing_claim"),
        (json!({"iat": NOW + 31}), "token_issued_in_future"),
        (json!({"nbf": NOW + 31}), "token_not_yet_valid"),
        (json!({"sub": null}), "missing_claim"),
        (json!({"sub": ""}), "invalid_claim"),
        (json!({"jti": null}), "missing_claim"),
        (json!({"jti": 42}), "invalid_claim"),
    ];
    for (extra, reason) in cases {
        assert_eq!(
            refused_assertion(&jag(extra.clone())),
            ("invalid_grant", reason),
            "{extra}"
        );
    }
    // Within the leeway (30 s).
    let d = decide(
        bearer(
            &jag(json!({"exp": NOW - 10, "iat": NOW + 10, "nbf": NOW + 10})),
            &[],
        ),
        ras_client(json!({})),
        linked(),
    );
    assert_eq!(granted(&d).assertion_expires_at, NOW - 10);
}

#[test]
fn s4_4_1_aud_is_this_servers_issuer_alone() {
    for aud in [
        json!(ISSUER),
        json!([ISSUER]),
        json!(format!("{ISSUER}/")),
        json!([format!("{ISSUER}/")]),
    ] {
        granted(&decide(
            bearer(&jag(json!({"aud": aud.clone()})), &[]),
            ras_client(json!({})),
            linked(),
        ));
    }
    // Audience injection: two audiences, even with this server among them.
    for aud in [
        json!([ISSUER, "https://other.example"]),
        json!([ISSUER, ISSUER]),
        json!([]),
        json!("https://other.example"),
        json!(format!("{ISSUER}//")),
        json!("https://as.example.evil"),
        json!(1),
        json!([1]),
    ] {
        assert_eq!(
            refused_assertion(&jag(json!({"aud": aud.clone()}))),
            ("invalid_grant", "audience_mismatch"),
            "{aud}"
        );
    }
    assert_eq!(
        refused_assertion(&jag(json!({"aud": null}))),
        ("invalid_grant", "missing_claim")
    );
    // An issuer configured with a trailing slash takes the aud without it.
    let slashed = ras_engine("https://as.example/");
    granted(&decide_on(
        &slashed,
        bearer(&jag(json!({"aud": ISSUER})), &[]),
        ras_client(json!({})),
        linked(),
    ));
    granted(&decide_on(
        &slashed,
        bearer(&jag(json!({"aud": "https://as.example/"})), &[]),
        ras_client(json!({})),
        linked(),
    ));
}

#[test]
fn s4_4_1_client_id_is_the_authenticated_client_and_cnf_is_refused() {
    assert_eq!(
        refused_assertion(&jag(json!({"client_id": "someone-else"}))),
        ("invalid_grant", "token_holder_mismatch")
    );
    assert_eq!(
        refused_assertion(&jag(json!({"client_id": null}))),
        ("invalid_grant", "missing_claim")
    );
    // A key-bound ID-JAG needs a proof of possession the engine does not check.
    let bound = jag(json!({"cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}));
    assert_eq!(
        refused_assertion(&bound),
        ("invalid_grant", "proof_of_possession_required")
    );
    // A refusal after verification records the assertion's parties.
    let d = decide(
        bearer(&jag(json!({"client_id": "someone-else"})), &[]),
        ras_client(json!({})),
        linked(),
    );
    let subject = d.audit().subject.clone().unwrap();
    assert_eq!(
        (subject.iss.as_deref(), subject.client_id.as_deref()),
        (Some(EXTERNAL2), Some("someone-else"))
    );
}

#[test]
fn rfc8707_resources_within_the_assertion_and_linked_to_the_client() {
    let client = || ras_client(json!({}));
    let both = jag(json!({"resource": [API_A, API_B, API_A]}));
    // None asked for: the assertion's, without repeats.
    assert_eq!(
        granted(&decide(bearer(&both, &[]), client(), linked())).resources,
        vec![API_A, API_B]
    );
    // A subset.
    let d = decide(bearer(&both, &[("resource", API_B)]), client(), linked());
    assert_eq!(granted(&d).resources, vec![API_B]);
    // Outside the assertion's.
    let d = decide(
        bearer(&jag(json!({})), &[("resource", API_B)]),
        client(),
        linked(),
    );
    assert_eq!(refused(&d), ("invalid_target", "target_not_allowed"));
    // No resource claim: the requested ones, linked to the client.
    let open = jag(json!({"resource": null}));
    assert_eq!(
        granted(&decide(
            bearer(&open, &[("resource", API_B)]),
            client(),
            linked()
        ))
        .resources,
        vec![API_B]
    );
    let d = decide(
        bearer(&open, &[("resource", "https://unlinked.example")]),
        client(),
        linked(),
    );
    assert_eq!(refused(&d), ("invalid_target", "target_not_allowed"));
    assert!(granted(&decide(bearer(&open, &[]), client(), linked()))
        .resources
        .is_empty());
    // The assertion's resource must be linked too (MCP profile §7.6.2).
    let elsewhere = jag(json!({"resource": "https://unlinked.example"}));
    assert_eq!(
        refused(&decide(bearer(&elsewhere, &[]), client(), linked())),
        ("invalid_target", "target_not_allowed")
    );
    // And allowed by the policy's target list when it has one (TX-45).
    let d = decide(
        bearer(&both, &[]),
        ras_client(json!({"resources": [API_A]})),
        linked(),
    );
    assert_eq!(refused(&d), ("invalid_target", "target_not_allowed"));
    // A resource claim of the wrong shape is the assertion's fault.
    for bad in [json!(7), json!([API_A, 7]), json!({"uri": API_A})] {
        assert_eq!(
            refused_assertion(&jag(json!({"resource": bad.clone()}))),
            ("invalid_grant", "invalid_claim"),
            "{bad}"
        );
    }
    let many: Vec<String> = (0..129).map(|i| format!("https://r{i}.example")).collect();
    assert_eq!(
        refused_assertion(&jag(json!({"resource": many}))),
        ("invalid_target", "too_many_targets")
    );
}

#[test]
fn mcp_s7_2_1_scope_is_client_assertion_and_policy_intersected() {
    let client = |policy: Value| ras_client(policy);
    let wide = jag(json!({"scope": "admin superuser read write offline_access"}));
    // None asked for: the assertion's order, within the client's registered
    // scopes; offline_access only with refresh tokens.
    let g = decide(bearer(&wide, &[]), client(json!({})), linked());
    assert_eq!(granted(&g).scopes, vec!["admin", "read", "write"]);
    let g = decide(
        bearer(&wide, &[]),
        client(json!({"refreshTokens": true})),
        linked(),
    );
    assert_eq!(
        (granted(&g).scopes.len(), granted(&g).refresh_token),
        (4, true)
    );
    // Requested beyond the assertion, the client, or refresh tokens.
    for scope in ["read delete", "superuser", "offline_access"] {
        let d = decide(
            bearer(&wide, &[("scope", scope)]),
            client(json!({})),
            linked(),
        );
        assert_eq!(
            refused(&d),
            ("invalid_scope", "scope_not_allowed"),
            "{scope}"
        );
    }
    let d = decide(
        bearer(&jag(json!({})), &[("scope", "admin")]),
        client(json!({})),
        linked(),
    );
    assert_eq!(refused(&d), ("invalid_scope", "scope_not_allowed"));
    // The policy ceiling, the client's and each resource's.
    let g = decide(
        bearer(&wide, &[]),
        client(json!({"scopes": ["read", "admin"]})),
        linked(),
    );
    assert_eq!(granted(&g).scopes, vec!["admin", "read"]);
    let g = decide(
        bearer(&wide, &[]),
        client(json!({"targets": {API_A: {"scopes": ["write"]}}})),
        linked(),
    );
    assert_eq!(granted(&g).scopes, vec!["write"]);
    let d = decide(
        bearer(&wide, &[("scope", "read")]),
        client(json!({"targets": {API_A: {"scopes": ["write"]}}})),
        linked(),
    );
    assert_eq!(refused(&d), ("invalid_scope", "scope_not_allowed"));
    // An assertion without scope grants none; a malformed one is refused.
    let g = decide(
        bearer(&jag(json!({"scope": null})), &[]),
        client(json!({})),
        linked(),
    );
    assert!(granted(&g).scopes.is_empty());
    let d = decide(
        bearer(&jag(json!({"scope": null})), &[("scope", "read")]),
        client(json!({})),
        linked(),
    );
    assert_eq!(refused(&d), ("invalid_scope", "scope_not_allowed"));
    assert_eq!(
        refused_assertion(&jag(json!({"scope": ["read"]}))),
        ("invalid_grant", "invalid_claim")
    );
}

#[test]
fn s4_4_subject_resolution_linked_or_provisioned() {
    let client = || ras_client(json!({}));
    // Without a link, and the issuer does not provision.
    assert_eq!(
        refused(&decide(bearer(&jag(json!({})), &[]), client(), json!({}))),
        ("invalid_grant", "subject_not_linked")
    );
    let wrong =
        json!({"subjectUser": {"issuer": EXTERNAL2, "sub": "someone-else", "userId": "local-7"}});
    assert_eq!(
        refused(&decide(bearer(&jag(json!({})), &[]), client(), wrong)),
        ("invalid_grant", "subject_not_linked")
    );
    let other_issuer =
        json!({"subjectUser": {"issuer": EXTERNAL, "sub": "ext-user", "userId": "local-7"}});
    assert_eq!(
        refused(&decide(
            bearer(&jag(json!({})), &[]),
            client(),
            other_issuer
        ))
        .1,
        "subject_not_linked"
    );
    // jitProvisioning: a user to create from the assertion.
    let d = decide(
        bearer(&jag_of(EXTERNAL, json!({})), &[]),
        client(),
        json!({}),
    );
    let g = granted(&d);
    assert_eq!(g.user_id, None);
    let v = serde_json::to_value(&d).unwrap();
    assert!(v.get("userId").is_none());
    assert_eq!(
        v["provision"],
        json!({"email": "ext@example.com", "emailVerified": true, "name": "Ext User"})
    );
    let d = decide(
        bearer(
            &jag_of(EXTERNAL, json!({"email_verified": "yes", "name": null})),
            &[],
        ),
        client(),
        json!({}),
    );
    assert_eq!(
        serde_json::to_value(&d).unwrap()["provision"],
        json!({"email": "ext@example.com"})
    );
    for email in [json!(null), json!(""), json!(7)] {
        let d = decide(
            bearer(&jag_of(EXTERNAL, json!({"email": email.clone()})), &[]),
            client(),
            json!({}),
        );
        assert_eq!(
            refused(&d),
            ("invalid_grant", "subject_not_linked"),
            "{email}"
        );
    }
    // A linked user wins over provisioning.
    let link = json!({"subjectUser": {"issuer": EXTERNAL, "sub": "ext-user", "userId": "local-1"}});
    let g = decide(bearer(&jag_of(EXTERNAL, json!({})), &[]), client(), link);
    assert_eq!(
        (
            granted(&g).user_id.as_deref(),
            granted(&g).provision.as_ref()
        ),
        (Some("local-1"), None)
    );
}

#[test]
fn rfc7523_s3_1_failures_serialise_like_the_exchanges_with_safe_descriptions() {
    let d = decide(
        bearer(&jag(json!({"aud": "https://other.example"})), &[]),
        ras_client(json!({})),
        linked(),
    );
    let v = serde_json::to_value(&d).unwrap();
    assert_eq!(
        (
            v["type"].as_str(),
            v["error"].as_str(),
            v["status"].as_i64(),
            v["reason"].as_str(),
            v["wwwAuthenticate"].as_bool()
        ),
        (
            Some("failure"),
            Some("invalid_grant"),
            Some(400),
            Some("audience_mismatch"),
            Some(false)
        )
    );
    assert!(v["description"]
        .as_str()
        .unwrap()
        .starts_with("assertion: "));
    assert_eq!(v["audit"]["error"], "invalid_grant");
    assert_eq!(v["audit"]["subjectTokenType"], ID_JAG);
    // TX-71: hostile values are quoted within the RFC 6749 §5.2 charset
    // (checked in decide_on), and no token part is echoed.
    let a = jag(json!({}));
    for extra in [
        [("resource", "https://x.example/\"\\\u{1}\u{e9}")],
        [("scope", "read \u{7f}\"")],
    ] {
        let AssertionDecision::Failure(f) =
            decide(bearer(&a, &extra), ras_client(json!({})), linked())
        else {
            panic!()
        };
        for part in a.split('.') {
            assert!(!f.description.contains(part));
        }
    }
    let d = decide(
        bearer(
            &jag(json!({"resource": null})),
            &[("resource", "urn:\"quoted\"")],
        ),
        ras_client(json!({})),
        linked(),
    );
    let AssertionDecision::Failure(f) = d else {
        panic!()
    };
    assert!(
        f.description.contains("'urn:?quoted?'"),
        "{}",
        f.description
    );
}

#[test]
fn inspect_hints_the_assertion() {
    let e = ras_engine(ISSUER);
    let i = serde_json::to_value(e.inspect(&bearer(&jag(json!({})), &[]))).unwrap();
    assert_eq!(
        i,
        json!({"assertion": {"format": "jwt", "issuer": EXTERNAL2, "keyId": "ext2-1", "algorithm": "EdDSA", "subject": "ext-user"}})
    );
    assert!(e.has_key(EXTERNAL2, Some("ext2-1")));
}

#[test]
fn an_assertion_call_refuses_unknown_members() {
    let c = json!({ "form": bearer(&jag(json!({})), &[]), "now": NOW, "client": ras_client(json!({})), "subjectFacts": {} });
    assert!(serde_json::from_value::<AssertionCall>(c).is_err());
    let s = json!({"issuer": ISSUER, "trustedIssuers": [{"issuer": EXTERNAL, "audiences": [ISSUER], "jitProvision": true}]});
    assert!(serde_json::from_value::<EngineSettings>(s).is_err());
}
