//! Decision tests, one or more per behaviour the engine owns (TX-n).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use better_auth_token_exchange::answer::Verdict;
use better_auth_token_exchange::{Decision, Reason};
use common::*;
use serde_json::{json, Value};

fn user_token() -> String {
    access_token("user-1", "bff", "read write", json!({}))
}

fn agent_token() -> String {
    access_token("agent-7", "bff", "read", json!({}))
}

fn aud_a() -> [(&'static str, &'static str); 1] {
    [("audience", API_A)]
}

#[test]
fn tx10_unauthenticated_and_public_clients_get_invalid_client() {
    for reason in [
        "no_credentials",
        "unknown_client",
        "bad_credentials",
        "public_client",
    ] {
        let c = json!({ "status": "unauthenticated", "clientId": "bff", "basic": true, "reason": reason });
        let d = decide(form(&user_token(), AT, &aud_a()), c, json!({}));
        assert_eq!(refused(&d).0, "invalid_client");
        let Decision::Failure(f) = &d else {
            unreachable!()
        };
        assert_eq!(f.status, 401);
        assert!(
            f.www_authenticate,
            "Basic was used: WWW-Authenticate is due"
        );
    }
    let c = json!({ "status": "unauthenticated", "basic": false, "reason": "bad_credentials" });
    let Decision::Failure(f) = decide(form(&user_token(), AT, &aud_a()), c, json!({})) else {
        panic!()
    };
    assert!(!f.www_authenticate);
    // A client that authenticated with method `none` is public.
    let mut c = client(json!({}));
    c["authMethod"] = json!("none");
    assert_eq!(
        refused(&decide(form(&user_token(), AT, &aud_a()), c, json!({}))),
        ("invalid_client", "public_client")
    );
}

#[test]
fn tx11_opt_in_and_grant_type_required() {
    let mut c = client(json!({}));
    c["allowedTokenExchange"] = json!(false);
    assert_eq!(
        refused(&decide(form(&user_token(), AT, &aud_a()), c, json!({}))),
        ("unauthorized_client", "token_exchange_not_enabled")
    );
    let mut c = client(json!({}));
    c.as_object_mut().unwrap().remove("allowedTokenExchange");
    assert_eq!(
        refused(&decide(form(&user_token(), AT, &aud_a()), c, json!({}))).0,
        "unauthorized_client"
    );
    let mut c = client(json!({}));
    c["grantTypes"] = json!(["authorization_code"]);
    assert_eq!(
        refused(&decide(form(&user_token(), AT, &aud_a()), c, json!({}))),
        ("unauthorized_client", "grant_type_not_allowed")
    );
}

#[test]
fn tx12_disabled_client_refused_like_unknown() {
    let mut c = client(json!({}));
    c["disabled"] = json!(true);
    let disabled = decide(form(&user_token(), AT, &aud_a()), c, json!({}));
    let unknown = decide(
        form(&user_token(), AT, &aud_a()),
        json!({ "status": "unauthenticated", "clientId": "bff", "basic": false, "reason": "unknown_client" }),
        json!({}),
    );
    let (Decision::Failure(a), Decision::Failure(b)) = (&disabled, &unknown) else {
        panic!()
    };
    assert_eq!(
        (a.error, a.reason, &a.description),
        (b.error, b.reason, &b.description)
    );
}

#[test]
fn tx1_tx2_request_errors_come_after_client_checks() {
    let f: Vec<_> = form(&user_token(), AT, &aud_a())
        .into_iter()
        .filter(|(k, _)| k != "subject_token")
        .collect();
    assert_eq!(
        refused(&decide(f, client(json!({})), json!({}))),
        ("invalid_request", "missing_parameter")
    );
}

#[test]
fn tx20_signature_time_and_issuer_checks() {
    // Tampered payload: signature no longer verifies.
    let token = user_token();
    let parts: Vec<&str> = token.split('.').collect();
    let other = access_token("user-2", "bff", "read write", json!({}));
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        other.split('.').nth(1).unwrap(),
        parts[2]
    );
    assert_eq!(
        refused(&decide(
            form(&forged, AT, &aud_a()),
            client(json!({})),
            json!({})
        )),
        ("invalid_request", "bad_signature")
    );

    let cases = [
        (json!({"exp": NOW - 31}), "token_expired"),
        (json!({"exp": null}), "missing_claim"),
        (json!({"exp": "soon"}), "invalid_claim"),
        (json!({"nbf": NOW + 31}), "token_not_yet_valid"),
        (json!({"iat": NOW + 3600}), "token_issued_in_future"),
        (json!({"sub": null}), "missing_claim"),
    ];
    for (extra, reason) in cases {
        let t = access_token("user-1", "bff", "read", extra.clone());
        assert_eq!(
            refused(&decide(
                form(&t, AT, &aud_a()),
                client(json!({})),
                json!({})
            )),
            ("invalid_request", reason),
            "{extra}"
        );
    }
    // Within leeway (30 s): still accepted.
    let t = access_token(
        "user-1",
        "bff",
        "read",
        json!({"exp": NOW - 10, "nbf": NOW + 10}),
    );
    let g = decide(form(&t, AT, &aud_a()), client(json!({})), json!({}));
    // An expiry already past (inside leeway) still cannot be issued (TX-51).
    assert_eq!(refused(&g), ("invalid_request", "token_expired"));
    let t = access_token(
        "user-1",
        "bff",
        "read",
        json!({"nbf": NOW + 10, "iat": NOW + 10}),
    );
    granted(&decide(
        form(&t, AT, &aud_a()),
        client(json!({})),
        json!({}),
    ));

    // Unknown issuer, and our issuer signed with a different key.
    let t = sign(
        &own_key(),
        &json!({"alg":"EdDSA","kid":"own-1","typ":"at+jwt"}),
        &json!({"iss":"https://evil.example","sub":"u","exp":NOW+60,"client_id":"bff"}),
    );
    assert_eq!(
        refused(&decide(
            form(&t, AT, &aud_a()),
            client(json!({})),
            json!({})
        )),
        ("invalid_request", "untrusted_issuer")
    );
    let t = sign(
        &external_key(),
        &json!({"alg":"EdDSA","kid":"own-1","typ":"at+jwt"}),
        &json!({"iss":ISSUER,"sub":"u","exp":NOW+60,"client_id":"bff"}),
    );
    assert_eq!(
        refused(&decide(
            form(&t, AT, &aud_a()),
            client(json!({})),
            json!({})
        )),
        ("invalid_request", "bad_signature")
    );
}

#[test]
fn tx20_descriptions_leak_no_token_contents() {
    let t = access_token("secret-user-name", "bff", "read", json!({"exp": NOW - 100}));
    let Decision::Failure(f) = decide(form(&t, AT, &aud_a()), client(json!({})), json!({})) else {
        panic!()
    };
    assert!(!f.description.contains("secret-user-name"));
    assert!(!f.description.contains(&t[..20]));
}

#[test]
fn tx21_opaque_tokens_validated_by_lookup() {
    let facts = json!({"active": true, "tokenType": "access_token", "sub": "user-1", "clientId": "bff",
        "scope": "read", "exp": NOW + 300, "sessionId": "s-1"});
    let g = decide(
        form("opaque-abc", AT, &aud_a()),
        client(json!({})),
        json!({"subjectFacts": facts.clone()}),
    );
    let g = granted(&g);
    assert_eq!(
        (g.subject.as_str(), g.session_id.as_deref(), g.expires_at),
        ("user-1", Some("s-1"), NOW + 300)
    );
    for (change, reason) in [
        (json!({"active": false}), "token_inactive"),
        (json!({"exp": NOW}), "token_expired"),
        (json!({"tokenType": "refresh_token"}), "token_type_mismatch"),
    ] {
        let mut f = facts.clone();
        merge(&mut f, change);
        let d = decide(
            form("opaque-abc", AT, &aud_a()),
            client(json!({})),
            json!({"subjectFacts": f}),
        );
        assert_eq!(refused(&d), ("invalid_request", reason));
    }
    // No lookup result at all: inactive.
    assert_eq!(
        refused(&decide(
            form("opaque-abc", AT, &aud_a()),
            client(json!({})),
            json!({})
        ))
        .1,
        "token_inactive"
    );
    // Refresh tokens must be enabled per client before they are accepted.
    let rt = json!({"active": true, "tokenType": "refresh_token", "sub": "user-1", "clientId": "bff", "scope": "read"});
    let d = decide(
        form("opaque-rt", RT, &aud_a()),
        client(json!({})),
        json!({"subjectFacts": rt.clone()}),
    );
    assert_eq!(refused(&d).1, "token_type_not_accepted");
    let d = decide(
        form("opaque-rt", RT, &aud_a()),
        client(json!({"subjectTokenTypes": ["refresh_token"]})),
        json!({"subjectFacts": rt}),
    );
    granted(&d);
}

#[test]
fn tx22_alg_none_and_hmac_refused() {
    let claims = json!({"iss": ISSUER, "sub": "u", "exp": NOW + 60, "client_id": "bff"});
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg":"none","typ":"at+jwt"})),
        b64(&claims)
    );
    assert_eq!(
        refused(&decide(
            form(&none, AT, &aud_a()),
            client(json!({})),
            json!({})
        ))
        .1,
        "unsupported_algorithm"
    );
    let hs = format!(
        "{}.{}.AAAA",
        b64(&json!({"alg":"HS256","typ":"at+jwt"})),
        b64(&claims)
    );
    assert_eq!(
        refused(&decide(
            form(&hs, AT, &aud_a()),
            client(json!({})),
            json!({})
        ))
        .1,
        "unsupported_algorithm"
    );
    let crit = sign(
        &own_key(),
        &json!({"alg":"EdDSA","kid":"own-1","typ":"at+jwt","crit":["exp"],"exp":1}),
        &claims,
    );
    assert_eq!(
        refused(&decide(
            form(&crit, AT, &aud_a()),
            client(json!({})),
            json!({})
        ))
        .1,
        "unsupported_critical_header"
    );
    // An embedded key is never imported: signed by an attacker, it fails.
    let attacker = ed25519_dalek::SigningKey::from_bytes(&[1u8; 32]);
    let embedded = sign(
        &attacker,
        &json!({"alg":"EdDSA","typ":"at+jwt","jwk": jwk(&attacker, "x")}),
        &claims,
    );
    assert_eq!(
        refused(&decide(
            form(&embedded, AT, &aud_a()),
            client(json!({})),
            json!({})
        ))
        .1,
        "bad_signature"
    );
}

#[test]
fn tx23_explicit_typing() {
    // An ID token presented as an access token.
    let id = sign(
        &own_key(),
        &json!({"alg":"EdDSA","kid":"own-1","typ":"JWT"}),
        &json!({"iss":ISSUER,"sub":"user-1","aud":"bff","exp":NOW+60,"iat":NOW}),
    );
    assert_eq!(
        refused(&decide(
            form(&id, AT, &aud_a()),
            client(json!({})),
            json!({})
        )),
        ("invalid_request", "token_type_mismatch")
    );
    // ... and accepted as what it is.
    let g = decide(
        form(&id, IDT, &aud_a()),
        client(json!({"relaxDownscoping": true})),
        json!({}),
    );
    assert_eq!(granted(&g).subject, "user-1");
    // An access token presented as an ID token.
    assert_eq!(
        refused(&decide(
            form(&user_token(), IDT, &aud_a()),
            client(json!({})),
            json!({})
        )),
        ("invalid_request", "token_type_mismatch")
    );
    // A JWT is never a refresh token; an opaque string is never an ID token.
    assert_eq!(
        refused(&decide(
            form(&user_token(), RT, &aud_a()),
            client(json!({"subjectTokenTypes":["refresh_token"]})),
            json!({})
        ))
        .1,
        "token_type_mismatch"
    );
    assert_eq!(
        refused(&decide(
            form("opaque", IDT, &aud_a()),
            client(json!({})),
            json!({})
        ))
        .1,
        "malformed_token"
    );
}

fn external_token(claims: Value) -> String {
    let mut c =
        json!({"iss": EXTERNAL, "sub": "ext-user", "aud": ISSUER, "exp": NOW + 600, "iat": NOW});
    merge(&mut c, claims);
    sign(&external_key(), &json!({"alg":"EdDSA","kid":"ext-1"}), &c)
}

#[test]
fn tx24_translation_needs_issuer_allowed_for_client_and_linked_user() {
    let t = external_token(json!({}));
    let d = decide(
        form(&t, JWT, &aud_a()),
        client(json!({"relaxDownscoping": true})),
        json!({}),
    );
    assert_eq!(
        refused(&d),
        ("invalid_request", "issuer_not_allowed_for_client")
    );
    let policy = json!({"trustedIssuers": [EXTERNAL], "relaxDownscoping": true});
    let d = decide(form(&t, JWT, &aud_a()), client(policy.clone()), json!({}));
    assert_eq!(refused(&d).1, "subject_not_linked");
    let user = json!({"subjectUser": {"issuer": EXTERNAL, "sub": "ext-user", "userId": "local-9"}});
    let g = decide(
        form(&t, JWT, &aud_a()),
        client(policy.clone()),
        user.clone(),
    );
    let g = granted(&g);
    assert_eq!(
        (
            g.user_id.as_str(),
            g.subject.as_str(),
            g.subject_issuer.as_str()
        ),
        ("local-9", "ext-user", EXTERNAL)
    );
    // An external `sid` is not one of this server's sessions.
    let with_sid = external_token(json!({"sid": "their-session"}));
    let g = decide(
        form(&with_sid, JWT, &aud_a()),
        client(policy.clone()),
        user.clone(),
    );
    assert_eq!(granted(&g).session_id, None);
    // A mapping for another subject does not count.
    let wrong =
        json!({"subjectUser": {"issuer": EXTERNAL, "sub": "someone-else", "userId": "local-9"}});
    assert_eq!(
        refused(&decide(
            form(&t, JWT, &aud_a()),
            client(policy.clone()),
            wrong
        ))
        .1,
        "subject_not_linked"
    );
    // Not meant for this server.
    let t = external_token(json!({"aud": "https://other.example"}));
    assert_eq!(
        refused(&decide(
            form(&t, JWT, &aud_a()),
            client(policy.clone()),
            user.clone()
        ))
        .1,
        "audience_mismatch"
    );
    // A trusted issuer's kid on a token signed by someone else.
    let forged = sign(
        &own_key(),
        &json!({"alg":"EdDSA","kid":"ext-1"}),
        &json!({"iss": EXTERNAL, "sub": "ext-user", "aud": ISSUER, "exp": NOW + 600}),
    );
    assert_eq!(
        refused(&decide(form(&forged, JWT, &aud_a()), client(policy), user)).1,
        "bad_signature"
    );
}

#[test]
fn tx25_act_chain_depth_and_json_depth_bounded() {
    let mut act = json!({"sub": "a0"});
    for i in 1..6 {
        act = json!({"sub": format!("a{i}"), "act": act});
    }
    let t = access_token("user-1", "bff", "read", json!({"act": act}));
    assert_eq!(
        refused(&decide(
            form(&t, AT, &aud_a()),
            client(json!({})),
            json!({})
        ))
        .1,
        "act_chain_too_deep"
    );
    let mut deep = json!(1);
    for _ in 0..40 {
        deep = json!([deep]);
    }
    let t = access_token("user-1", "bff", "read", json!({"x": deep}));
    assert_eq!(
        refused(&decide(
            form(&t, AT, &aud_a()),
            client(json!({})),
            json!({})
        ))
        .1,
        "json_too_deep"
    );
    let big = "a".repeat(17_000);
    assert_eq!(
        refused(&decide(
            form(&big, AT, &aud_a()),
            client(json!({})),
            json!({})
        ))
        .1,
        "token_too_large"
    );
}

#[test]
fn tx26_holder_binding() {
    let other = access_token("user-1", "other-client", "read", json!({}));
    assert_eq!(
        refused(&decide(
            form(&other, AT, &aud_a()),
            client(json!({})),
            json!({})
        )),
        ("invalid_request", "token_holder_mismatch")
    );
    // Named in aud: a resource server passing the user on.
    let via_aud = access_token(
        "user-1",
        "other-client",
        "read",
        json!({"aud": ["bff", API_A]}),
    );
    granted(&decide(
        form(&via_aud, AT, &aud_a()),
        client(json!({})),
        json!({}),
    ));
    // Widened per client, explicitly.
    granted(&decide(
        form(&other, AT, &aud_a()),
        client(json!({"holderBinding": {"clients": ["other-client"]}})),
        json!({}),
    ));
    granted(&decide(
        form(&other, AT, &aud_a()),
        client(json!({"holderBinding": "any"})),
        json!({}),
    ));
    assert_eq!(
        refused(&decide(
            form(&other, AT, &aud_a()),
            client(json!({"holderBinding": {"clients": ["third"]}})),
            json!({})
        ))
        .1,
        "token_holder_mismatch"
    );
    // Without client_id: azp, then a single aud. ID tokens alike.
    let id_other = sign(
        &own_key(),
        &json!({"alg":"EdDSA","kid":"own-1"}),
        &json!({"iss":ISSUER,"sub":"user-1","aud":"other-client","exp":NOW+60}),
    );
    assert_eq!(
        refused(&decide(
            form(&id_other, IDT, &aud_a()),
            client(json!({})),
            json!({})
        ))
        .1,
        "token_holder_mismatch"
    );
    let id_azp = sign(
        &own_key(),
        &json!({"alg":"EdDSA","kid":"own-1"}),
        &json!({"iss":ISSUER,"sub":"user-1","aud":["x","y"],"azp":"bff","exp":NOW+60}),
    );
    granted(&decide(
        form(&id_azp, IDT, &aud_a()),
        client(json!({})),
        json!({}),
    ));
    // The actor token is bound the same way.
    let foreign_actor = access_token("agent-7", "other-client", "read", json!({}));
    let d = decide(
        form(
            &user_token(),
            AT,
            &[
                ("audience", API_A),
                ("actor_token", &foreign_actor),
                ("actor_token_type", AT),
            ],
        ),
        client(json!({})),
        json!({}),
    );
    assert_eq!(refused(&d).1, "token_holder_mismatch");
}

#[test]
fn tx27_actor_must_differ_from_subject() {
    let d = decide(
        form(
            &user_token(),
            AT,
            &[
                ("audience", API_A),
                ("actor_token", &user_token()),
                ("actor_token_type", AT),
            ],
        ),
        client(json!({})),
        json!({}),
    );
    assert_eq!(refused(&d), ("invalid_request", "actor_equals_subject"));
}

#[test]
fn tx30_tx31_tx32_scope_narrowing() {
    // No scope: widest allowed = client ∩ subject.
    let g = decide(
        form(&user_token(), AT, &aud_a()),
        client(json!({})),
        json!({}),
    );
    let g = granted(&g);
    assert_eq!(g.scopes, vec!["read", "write"]);
    assert!(
        g.scope_changed,
        "no scope was requested: the response names it"
    );
    // Exactly what was asked.
    let g = decide(
        form(&user_token(), AT, &[("audience", API_A), ("scope", "read")]),
        client(json!({})),
        json!({}),
    );
    assert_eq!(
        (granted(&g).scope.as_str(), granted(&g).scope_changed),
        ("read", false)
    );
    // Beyond the subject token (TX-31): refused, never widened.
    let d = decide(
        form(
            &user_token(),
            AT,
            &[("audience", API_A), ("scope", "read admin")],
        ),
        client(json!({})),
        json!({}),
    );
    assert_eq!(refused(&d), ("invalid_scope", "scope_not_allowed"));
    // Beyond the client's registration (TX-30), even if the subject has it.
    let t = access_token("user-1", "bff", "read superuser", json!({}));
    let d = decide(
        form(&t, AT, &[("audience", API_A), ("scope", "superuser")]),
        client(json!({})),
        json!({}),
    );
    assert_eq!(refused(&d).0, "invalid_scope");
    let g = decide(form(&t, AT, &aud_a()), client(json!({})), json!({}));
    assert_eq!(granted(&g).scopes, vec!["read"]);
    // Relaxed downscoping: only scopes the client itself holds.
    let g = decide(
        form(
            &user_token(),
            AT,
            &[("audience", API_A), ("scope", "read admin")],
        ),
        client(json!({"relaxDownscoping": true})),
        json!({}),
    );
    assert_eq!(granted(&g).scopes, vec!["read", "admin"]);
    let d = decide(
        form(&t, AT, &[("audience", API_A), ("scope", "superuser")]),
        client(json!({"relaxDownscoping": true})),
        json!({}),
    );
    assert_eq!(refused(&d).0, "invalid_scope");
    // Policy ceiling.
    let g = decide(
        form(&user_token(), AT, &aud_a()),
        client(json!({"scopes": ["read"]})),
        json!({}),
    );
    assert_eq!(granted(&g).scopes, vec!["read"]);
}

#[test]
fn tx40_impersonation_keeps_subject_and_existing_act() {
    let g = decide(
        form(&user_token(), AT, &aud_a()),
        client(json!({})),
        json!({}),
    );
    let g = granted(&g);
    assert_eq!(
        (
            g.subject.as_str(),
            g.user_id.as_str(),
            g.act.as_ref(),
            g.delegation
        ),
        ("user-1", "user-1", None, false)
    );
    let prior = json!({"sub": "earlier-agent", "client_id": "x"});
    let t = access_token("user-1", "bff", "read", json!({"act": prior.clone()}));
    let g = decide(form(&t, AT, &aud_a()), client(json!({})), json!({}));
    assert_eq!(granted(&g).act.as_ref(), Some(&prior));
}

#[test]
fn tx41_tx44_delegation_nests_prior_chain_newest_outermost() {
    let prior = json!({"sub": "hop-1", "client_id": "c1", "act": {"sub": "hop-0"}});
    let subject = access_token("user-1", "bff", "read write", json!({"act": prior.clone()}));
    let d = decide(
        form(
            &subject,
            AT,
            &[
                ("audience", API_A),
                ("actor_token", &agent_token()),
                ("actor_token_type", AT),
            ],
        ),
        client(json!({})),
        json!({}),
    );
    let g = granted(&d);
    assert_eq!(g.subject, "user-1");
    assert!(g.delegation);
    assert_eq!(
        g.act,
        Some(json!({"sub": "agent-7", "client_id": "bff", "act": prior}))
    );
    // The audit keeps the prior chain, outermost first.
    let subs: Vec<_> = g
        .audit
        .prior_actors
        .iter()
        .map(|p| p.sub.clone().unwrap())
        .collect();
    assert_eq!(subs, vec!["hop-1", "hop-0"]);
    // An external actor carries its iss.
    let ext_actor = external_token(json!({"sub": "ext-agent"}));
    let d = decide(
        form(
            &user_token(),
            AT,
            &[
                ("audience", API_A),
                ("actor_token", &ext_actor),
                ("actor_token_type", JWT),
            ],
        ),
        client(json!({"trustedIssuers": [EXTERNAL]})),
        json!({}),
    );
    assert_eq!(
        granted(&d).act,
        Some(json!({"sub": "ext-agent", "iss": EXTERNAL, "client_id": "bff"}))
    );
}

#[test]
fn tx42_may_act_must_name_the_actor() {
    let subject =
        |may_act: Value| access_token("user-1", "bff", "read", json!({"may_act": may_act}));
    let with_actor = |s: &str| {
        form(
            s,
            AT,
            &[
                ("audience", API_A),
                ("actor_token", &agent_token()),
                ("actor_token_type", AT),
            ],
        )
    };
    granted(&decide(
        with_actor(&subject(json!({"sub": "agent-7"}))),
        client(json!({})),
        json!({}),
    ));
    granted(&decide(
        with_actor(&subject(
            json!({"sub": "agent-7", "iss": ISSUER, "client_id": "bff"}),
        )),
        client(json!({})),
        json!({}),
    ));
    for bad in [
        json!({"sub": "someone-else"}),
        json!({"sub": "agent-7", "iss": EXTERNAL}),
        json!({"sub": "agent-7", "email": "a@b"}),
        json!({}),
    ] {
        let d = decide(
            with_actor(&subject(bad.clone())),
            client(json!({})),
            json!({}),
        );
        assert_eq!(
            refused(&d),
            ("invalid_request", "may_act_mismatch"),
            "{bad}"
        );
        assert_eq!(d.audit().decision, Verdict::Refused);
        assert_eq!(d.audit().reason, Some(Reason::MayActMismatch));
    }
    // Without an actor token, may_act must name the client.
    granted(&decide(
        form(&subject(json!({"sub": "bff"})), AT, &aud_a()),
        client(json!({})),
        json!({}),
    ));
    assert_eq!(
        refused(&decide(
            form(&subject(json!({"sub": "agent-7"})), AT, &aud_a()),
            client(json!({})),
            json!({})
        ))
        .1,
        "may_act_mismatch"
    );
}

/// TX-46 fixtures: a client that may translate from both trusted issuers,
/// and a delegation form with `actor` as a JWT actor token.
fn translating_client() -> Value {
    client(json!({"trustedIssuers": [EXTERNAL, EXTERNAL2], "relaxDownscoping": true}))
}

fn delegation(subject: &str, subject_type: &str, actor: &str) -> Vec<(String, String)> {
    form(
        subject,
        subject_type,
        &[
            ("audience", API_A),
            ("actor_token", actor),
            ("actor_token_type", JWT),
        ],
    )
}

fn linked_user(issuer: &str, sub: &str) -> Value {
    json!({"subjectUser": {"issuer": issuer, "sub": sub, "userId": "local-9"}})
}

#[test]
fn tx46_may_act_without_iss_names_an_actor_of_the_subjects_own_issuer() {
    let subject =
        |may_act: Value| access_token("user-1", "bff", "read", json!({"may_act": may_act}));
    let own_bob = access_token("bob", "bff", "read", json!({}));
    let their_bob = trusted_token(EXTERNAL, "bob", json!({}));
    // `{"sub": "bob"}` in a token of this server names this server's bob...
    granted(&decide(
        delegation(&subject(json!({"sub": "bob"})), AT, &own_bob),
        translating_client(),
        json!({}),
    ));
    // ...not a trusted issuer's bob, however trusted.
    let d = decide(
        delegation(&subject(json!({"sub": "bob"})), AT, &their_bob),
        translating_client(),
        json!({}),
    );
    assert_eq!(refused(&d), ("invalid_request", "may_act_mismatch"));
    assert_eq!(d.audit().reason, Some(Reason::MayActMismatch));
    // With `iss`, that issuer's bob and no other.
    let names_theirs = subject(json!({"sub": "bob", "iss": EXTERNAL}));
    granted(&decide(
        delegation(&names_theirs, AT, &their_bob),
        translating_client(),
        json!({}),
    ));
    assert_eq!(
        refused(&decide(
            delegation(&names_theirs, AT, &own_bob),
            translating_client(),
            json!({})
        )),
        ("invalid_request", "may_act_mismatch")
    );
}

#[test]
fn tx46_between_two_trusted_issuers_may_act_without_iss_stays_with_the_subjects() {
    let subject = |may_act: Value| trusted_token(EXTERNAL, "ext-user", json!({"may_act": may_act}));
    let first_bob = trusted_token(EXTERNAL, "bob", json!({}));
    let second_bob = trusted_token(EXTERNAL2, "bob", json!({}));
    let user = || linked_user(EXTERNAL, "ext-user");
    granted(&decide(
        delegation(&subject(json!({"sub": "bob"})), JWT, &first_bob),
        translating_client(),
        user(),
    ));
    assert_eq!(
        refused(&decide(
            delegation(&subject(json!({"sub": "bob"})), JWT, &second_bob),
            translating_client(),
            user()
        )),
        ("invalid_request", "may_act_mismatch")
    );
    let names_second = subject(json!({"sub": "bob", "iss": EXTERNAL2}));
    granted(&decide(
        delegation(&names_second, JWT, &second_bob),
        translating_client(),
        user(),
    ));
    assert_eq!(
        refused(&decide(
            delegation(&names_second, JWT, &first_bob),
            translating_client(),
            user()
        )),
        ("invalid_request", "may_act_mismatch")
    );
}

#[test]
fn tx46_without_an_actor_token_the_client_acts_as_a_party_of_this_server() {
    // The exchanging client's identity is of this server's issuer: a
    // trusted issuer's `may_act` naming `bff` without `iss` names that
    // issuer's bff, not this client.
    let external =
        |may_act: Value| trusted_token(EXTERNAL, "ext-user", json!({"may_act": may_act}));
    let user = || linked_user(EXTERNAL, "ext-user");
    for bad in [json!({"sub": "bff"}), json!({"client_id": "bff"})] {
        assert_eq!(
            refused(&decide(
                form(&external(bad.clone()), JWT, &aud_a()),
                translating_client(),
                user()
            )),
            ("invalid_request", "may_act_mismatch"),
            "{bad}"
        );
    }
    granted(&decide(
        form(
            &external(json!({"sub": "bff", "iss": ISSUER})),
            JWT,
            &aud_a(),
        ),
        translating_client(),
        user(),
    ));
    // In this server's own token, `{"sub": "bff"}` is this server's client.
    let own = access_token("user-1", "bff", "read", json!({"may_act": {"sub": "bff"}}));
    granted(&decide(
        form(&own, AT, &aud_a()),
        translating_client(),
        json!({}),
    ));
}

#[test]
fn tx43_tx45_impersonation_delegation_limits_per_client_and_target() {
    let deleg = |s: &str| {
        form(
            s,
            AT,
            &[
                ("audience", API_A),
                ("actor_token", &agent_token()),
                ("actor_token_type", AT),
            ],
        )
    };
    assert_eq!(
        refused(&decide(
            form(&user_token(), AT, &aud_a()),
            client(json!({"impersonation": false})),
            json!({})
        ))
        .1,
        "impersonation_not_allowed"
    );
    granted(&decide(
        deleg(&user_token()),
        client(json!({"impersonation": false})),
        json!({}),
    ));
    assert_eq!(
        refused(&decide(
            deleg(&user_token()),
            client(json!({"delegation": false})),
            json!({})
        ))
        .1,
        "delegation_not_allowed"
    );
    // Per target: API B forbids impersonation and caps scope.
    let policy = json!({"targets": {API_B: {"impersonation": false}, API_A: {"scopes": ["read"]}}});
    granted(&decide(
        form(&user_token(), AT, &aud_a()),
        client(policy.clone()),
        json!({}),
    ));
    assert_eq!(
        granted(&decide(
            form(&user_token(), AT, &aud_a()),
            client(policy.clone()),
            json!({})
        ))
        .scopes,
        vec!["read"]
    );
    assert_eq!(
        refused(&decide(
            form(
                &user_token(),
                AT,
                &[("audience", API_A), ("resource", API_B)]
            ),
            client(policy),
            json!({})
        ))
        .1,
        "impersonation_not_allowed"
    );
    // Accepted token types per client.
    let d = decide(
        form(&user_token(), AT, &aud_a()),
        client(json!({"subjectTokenTypes": ["id_token"]})),
        json!({}),
    );
    assert_eq!(refused(&d).1, "token_type_not_accepted");
    // Depth: a chain of one plus this hop is two.
    let t = access_token("user-1", "bff", "read", json!({"act": {"sub": "hop-1"}}));
    assert_eq!(
        refused(&decide(
            deleg(&t),
            client(json!({"maxDelegationDepth": 1})),
            json!({})
        ))
        .1,
        "delegation_too_deep"
    );
    granted(&decide(
        deleg(&t),
        client(json!({"maxDelegationDepth": 2})),
        json!({}),
    ));
}

#[test]
fn tx6_targets_union_and_refusals() {
    let g = decide(
        form(
            &user_token(),
            AT,
            &[
                ("audience", API_A),
                ("resource", API_B),
                ("audience", API_A),
            ],
        ),
        client(json!({})),
        json!({}),
    );
    let g = granted(&g);
    assert_eq!(
        (g.audiences.clone(), g.resources.clone()),
        (vec![API_A.to_owned()], vec![API_B.to_owned()])
    );
    let d = decide(
        form(
            &user_token(),
            AT,
            &[("audience", "https://not-linked.example")],
        ),
        client(json!({})),
        json!({}),
    );
    assert_eq!(refused(&d), ("invalid_target", "target_not_allowed"));
    let d = decide(
        form(&user_token(), AT, &[("resource", API_B)]),
        client(json!({"audiences": [API_A]})),
        json!({}),
    );
    assert_eq!(refused(&d).1, "target_not_allowed");
}

/// An engine like `engine()` whose settings require a target (TX-9).
fn engine_requiring_target() -> better_auth_token_exchange::Engine {
    let mut s = settings();
    s.require_target = true;
    let mut e = better_auth_token_exchange::Engine::new(s).unwrap();
    let own = json!({ "keys": [jwk(&own_key(), "own-1")] }).to_string();
    e.set_issuer_keys(ISSUER, own.as_bytes());
    e
}

#[test]
fn tx9_no_audience_nor_resource_is_granted_with_no_target() {
    let g = decide(form(&user_token(), AT, &[]), client(json!({})), json!({}));
    let g = granted(&g);
    assert!(g.audiences.is_empty() && g.resources.is_empty());
    assert!(g.audit.audiences.is_empty() && g.audit.resources.is_empty());
    // Scope narrowing, the lifetime cap and the rest apply unchanged.
    assert_eq!(g.scopes, vec!["read", "write"]);
    assert_eq!(g.expires_at, NOW + 600);
    assert_eq!(g.audit.decision, Verdict::Granted);
    let narrowed = decide(
        form(&user_token(), AT, &[("scope", "read")]),
        client(json!({"targets": {API_A: {"scopes": []}}})),
        json!({}),
    );
    assert_eq!(granted(&narrowed).scopes, vec!["read"]);
    assert_eq!(
        refused(&decide(
            form(&user_token(), AT, &[("scope", "admin")]),
            client(json!({})),
            json!({})
        )),
        ("invalid_scope", "scope_not_allowed")
    );
    // may_act and the impersonation limit still apply without a target.
    let may_act = access_token("user-1", "bff", "read", json!({"may_act": {"sub": "x"}}));
    assert_eq!(
        refused(&decide(
            form(&may_act, AT, &[]),
            client(json!({})),
            json!({})
        ))
        .1,
        "may_act_mismatch"
    );
    assert_eq!(
        refused(&decide(
            form(&user_token(), AT, &[]),
            client(json!({"impersonation": false})),
            json!({})
        ))
        .1,
        "impersonation_not_allowed"
    );
}

#[test]
fn tx9_default_targets_apply_when_no_target_is_named() {
    let g = decide(
        form(&user_token(), AT, &[]),
        client(json!({"defaultTargets": [API_B]})),
        json!({}),
    );
    assert_eq!(granted(&g).audiences, vec![API_B]);
    // Even where a target is required.
    let c = call(
        form(&user_token(), AT, &[]),
        client(json!({"defaultTargets": [API_B], "requireTarget": true})),
        json!({}),
    );
    assert_eq!(
        granted(&engine_requiring_target().decide(&c)).audiences,
        vec![API_B]
    );
    // Defaults are checked like named targets.
    let d = decide(
        form(&user_token(), AT, &[]),
        client(json!({"defaultTargets": ["https://not-linked.example"]})),
        json!({}),
    );
    assert_eq!(refused(&d), ("invalid_target", "target_not_allowed"));
}

#[test]
fn tx9_require_target_in_settings_or_policy_refuses_no_target() {
    let no_target = || form(&user_token(), AT, &[]);
    // Engine-wide.
    let d = engine_requiring_target().decide(&call(no_target(), client(json!({})), json!({})));
    assert_eq!(refused(&d), ("invalid_target", "no_target"));
    assert_eq!(d.audit().reason, Some(Reason::NoTarget));
    // Per client.
    let d = decide(
        no_target(),
        client(json!({"requireTarget": true})),
        json!({}),
    );
    assert_eq!(refused(&d), ("invalid_target", "no_target"));
    // A named target satisfies either.
    let c = call(
        form(&user_token(), AT, &aud_a()),
        client(json!({"requireTarget": true})),
        json!({}),
    );
    granted(&engine_requiring_target().decide(&c));
    // The client's policy overrides the engine's setting.
    let c = call(
        no_target(),
        client(json!({"requireTarget": false})),
        json!({}),
    );
    granted(&engine_requiring_target().decide(&c));
    // Settings and policy read their camelCase names.
    let s: better_auth_token_exchange::EngineSettings =
        serde_json::from_value(json!({"issuer": ISSUER, "requireTarget": true})).unwrap();
    assert!(s.require_target);
    assert!(!better_auth_token_exchange::EngineSettings::new(ISSUER).require_target);
}

#[test]
fn tx50_tx55_response_facts_and_refresh_policy() {
    let g = decide(
        form(&user_token(), AT, &aud_a()),
        client(json!({})),
        json!({}),
    );
    let g = granted(&g);
    assert_eq!(
        (g.issued_token_type, g.token_type, g.refresh_token),
        (AT, "Bearer", false)
    );
    // offline_access only when refresh tokens are allowed.
    let t = access_token("user-1", "bff", "read offline_access", json!({}));
    let d = decide(
        form(
            &t,
            AT,
            &[("audience", API_A), ("scope", "read offline_access")],
        ),
        client(json!({})),
        json!({}),
    );
    assert_eq!(refused(&d).0, "invalid_scope");
    let g = decide(
        form(
            &t,
            AT,
            &[("audience", API_A), ("scope", "read offline_access")],
        ),
        client(json!({"refreshTokens": true})),
        json!({}),
    );
    assert!(granted(&g).refresh_token);
}

#[test]
fn tx51_expiry_capped_by_subject_actor_and_lifetime() {
    let t = access_token("user-1", "bff", "read", json!({"exp": NOW + 120}));
    assert_eq!(
        granted(&decide(
            form(&t, AT, &aud_a()),
            client(json!({})),
            json!({})
        ))
        .expires_at,
        NOW + 120
    );
    let actor = access_token("agent-7", "bff", "read", json!({"exp": NOW + 60}));
    let d = decide(
        form(
            &t,
            AT,
            &[
                ("audience", API_A),
                ("actor_token", &actor),
                ("actor_token_type", AT),
            ],
        ),
        client(json!({})),
        json!({}),
    );
    assert_eq!(
        (granted(&d).expires_at, granted(&d).chain_expires_at),
        (NOW + 60, Some(NOW + 60))
    );
    let long = access_token("user-1", "bff", "read", json!({"exp": NOW + 100_000}));
    let d = decide(form(&long, AT, &aud_a()), client(json!({})), json!({}));
    // The lifetime caps the issued token; TX-55: the subject's expiry caps
    // what is refreshed from it.
    assert_eq!(
        (granted(&d).expires_at, granted(&d).chain_expires_at),
        (NOW + 3600, Some(NOW + 100_000))
    );
}

#[test]
fn tx60_every_attempt_has_one_audit_record_without_token_values() {
    let token = user_token();
    let d = decide(
        form(&token, AT, &[("audience", API_A), ("scope", "read")]),
        client(json!({})),
        json!({}),
    );
    let a = d.audit();
    assert_eq!(
        (a.decision, a.client_id.as_deref(), a.time),
        (Verdict::Granted, Some("bff"), NOW)
    );
    assert_eq!(a.subject.as_ref().unwrap().sub.as_deref(), Some("user-1"));
    assert_eq!(
        (a.requested_scope.as_deref(), a.granted_scope.as_deref()),
        (Some("read"), Some("read"))
    );
    let text = serde_json::to_string(a).unwrap();
    assert!(!text.contains(&token[..30]), "no token value in the record");
    // Refusals carry their reason.
    let d = decide(
        form(&token, AT, &[("audience", "https://nope.example")]),
        client(json!({})),
        json!({}),
    );
    let a = d.audit();
    assert_eq!(
        (a.decision, a.reason, a.granted_scope.as_deref()),
        (Verdict::Refused, Some(Reason::TargetNotAllowed), None)
    );
    assert_eq!(a.audiences, vec!["https://nope.example"]);
}

#[test]
fn tx70_failures_serialise_as_tagged_data() {
    let d = decide(
        form(&user_token(), AT, &[("audience", "https://nope.example")]),
        client(json!({})),
        json!({}),
    );
    let v = serde_json::to_value(&d).unwrap();
    assert_eq!(v["type"], "failure");
    assert_eq!(v["error"], "invalid_target");
    assert_eq!(v["status"], 400);
    assert_eq!(v["audit"]["decision"], "refused");
    let g = serde_json::to_value(decide(
        form(&user_token(), AT, &aud_a()),
        client(json!({})),
        json!({}),
    ))
    .unwrap();
    assert_eq!(g["type"], "success");
    assert_eq!(g["issuedTokenType"], AT);
    assert!(g["expiresAt"].is_i64());
}

#[test]
fn inspect_hints_issuer_and_kid_without_verifying() {
    let e = engine();
    let f = form(
        &user_token(),
        AT,
        &[("actor_token", "opaque-x"), ("actor_token_type", AT)],
    );
    let i = serde_json::to_value(e.inspect(&f)).unwrap();
    assert_eq!(
        i["subject"],
        json!({"format": "jwt", "issuer": ISSUER, "keyId": "own-1", "algorithm": "EdDSA", "subject": "user-1"})
    );
    assert_eq!(i["actor"], json!({"format": "opaque"}));
    assert!(e.has_key(ISSUER, Some("own-1")));
    assert!(!e.has_key(ISSUER, Some("rotated")));
    assert!(!e.has_key("https://evil.example", None));
}

#[test]
fn malformed_client_policy_is_a_server_error_with_its_own_reason() {
    let d = decide(
        form(&user_token(), AT, &aud_a()),
        client(json!({"audiences": [API_A], "delegaton": false})),
        json!({}),
    );
    assert_eq!(refused(&d), ("server_error", "invalid_client_policy"));
    let Decision::Failure(f) = &d else {
        unreachable!()
    };
    assert_eq!(f.status, 500);
    assert!(f.description.contains("delegaton"), "{}", f.description);
    assert_eq!(d.audit().client_id.as_deref(), Some("bff"));
}

// ---------------------------------------------------------------------------
// Cross-app access, the identity provider's side: an ID-JAG requested by
// token exchange (draft-ietf-oauth-identity-assertion-authz-grant §4.3).

/// An exchange of `subject` (an ID token unless said otherwise) asking for
/// an ID-JAG, with `extra` parameters.
fn jag_form(subject: &str, kind: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut f = form(subject, kind, &[("requested_token_type", ID_JAG)]);
    f.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    f
}

/// The usual ID-JAG request: audience `RAS`, resource `MCP`, and `extra`.
fn jag(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs = vec![("audience", RAS), ("resource", MCP)];
    pairs.extend_from_slice(extra);
    jag_form(&id_token(json!({})), IDT, &pairs)
}

#[test]
fn id_jag_s4_3_granted_for_the_resource_authorization_server() {
    let d = decide(
        jag(&[("scope", "chat.read")]),
        client(id_jag_policy(json!({}))),
        json!({}),
    );
    let g = granted(&d);
    assert_eq!(
        (g.issued_token_type, g.token_type, g.refresh_token),
        (ID_JAG, "N_A", false)
    );
    assert_eq!(
        (
            g.subject.as_str(),
            g.user_id.as_str(),
            g.subject_issuer.as_str()
        ),
        ("user-1", "user-1", ISSUER)
    );
    assert_eq!(
        (g.audiences.clone(), g.resources.clone()),
        (vec![RAS.to_owned()], vec![MCP.to_owned()])
    );
    assert_eq!(
        (g.scopes.clone(), g.scope_changed),
        (vec!["chat.read".to_owned()], false)
    );
    assert_eq!((g.act.as_ref(), g.delegation), (None, false));
    // §3.1: lifetime the engine's idJagLifetimeSeconds (300 by default).
    assert_eq!(g.expires_at, NOW + 300);
    // §3.1: aud, client_id at that server, resource, and the ID token's
    // auth_time, acr, amr, email, email_verified and tenant as they were.
    let v = serde_json::to_value(&d).unwrap();
    assert_eq!(
        v["idJag"],
        json!({
            "audience": RAS, "clientId": "bff-at-ras", "resources": [MCP],
            "claims": {
                "auth_time": NOW - 100, "acr": "urn:mace:incommon:iap:silver",
                "amr": ["pwd", "otp"], "email": "user@example.com",
                "email_verified": true, "tenant": "acme",
            },
        })
    );
    assert_eq!(
        (v["issuedTokenType"].as_str(), v["tokenType"].as_str()),
        (Some(ID_JAG), Some("N_A"))
    );
    // TX-60: the audit record names what was granted.
    let a = d.audit();
    assert_eq!(a.requested_token_type, Some(ID_JAG));
    assert_eq!(
        (a.audiences.clone(), a.resources.clone()),
        (vec![RAS.to_owned()], vec![MCP.to_owned()])
    );
    assert_eq!(
        (
            a.requested_scope.as_deref(),
            a.granted_scope.as_deref(),
            a.delegation
        ),
        (Some("chat.read"), Some("chat.read"), false)
    );
    // Only the claims present are carried on.
    let bare = id_token(
        json!({"auth_time": null, "acr": null, "amr": null, "tenant": null, "email_verified": null}),
    );
    let d = decide(
        jag_form(&bare, IDT, &[("audience", RAS)]),
        client(id_jag_policy(json!({}))),
        json!({}),
    );
    let v = serde_json::to_value(&d).unwrap();
    assert_eq!(v["idJag"]["claims"], json!({"email": "user@example.com"}));
    assert_eq!(v["idJag"]["resources"], json!([]));
    // An access token's answer has no idJag.
    let v = serde_json::to_value(decide(
        form(&user_token(), AT, &aud_a()),
        client(json!({})),
        json!({}),
    ))
    .unwrap();
    assert!(v.get("idJag").is_none());
}

#[test]
fn tx5_requested_token_types_are_per_client_access_tokens_by_default() {
    // Not listed (the default is access tokens only): refused.
    for policy in [
        json!({}),
        json!({"idJag": id_jag_policy(json!({}))["idJag"].clone()}),
    ] {
        assert_eq!(
            refused(&decide(jag(&[]), client(policy), json!({}))),
            ("invalid_request", "unsupported_requested_token_type")
        );
    }
    let d = decide(
        form(
            &user_token(),
            AT,
            &[("audience", API_A), ("requested_token_type", JWT)],
        ),
        client(json!({})),
        json!({}),
    );
    assert_eq!(
        refused(&d),
        ("invalid_request", "unsupported_requested_token_type")
    );
    // A client listing only ID-JAGs may not ask for access tokens.
    let only = id_jag_policy(json!({"requestedTokenTypes": ["id_jag"]}));
    assert_eq!(
        refused(&decide(
            form(&user_token(), AT, &aud_a()),
            client(only.clone()),
            json!({})
        )),
        ("invalid_request", "unsupported_requested_token_type")
    );
    granted(&decide(jag(&[]), client(only), json!({})));
    // Types never issued by exchange, whatever the policy lists.
    for kind in [RT, IDT] {
        let d = decide(
            form(
                &user_token(),
                AT,
                &[("audience", API_A), ("requested_token_type", kind)],
            ),
            client(json!({"requestedTokenTypes": ["refresh_token", "id_token"]})),
            json!({}),
        );
        assert_eq!(
            refused(&d),
            ("invalid_request", "unsupported_requested_token_type")
        );
    }
}

#[test]
fn tx4_an_id_jag_is_never_a_subject_or_actor_token() {
    let d = decide(
        form(&id_token(json!({})), ID_JAG, &aud_a()),
        client(json!({"subjectTokenTypes": ["id_jag"]})),
        json!({}),
    );
    assert_eq!(refused(&d), ("invalid_request", "unsupported_token_type"));
    let d = decide(
        form(
            &user_token(),
            AT,
            &[
                ("audience", API_A),
                ("actor_token", &agent_token()),
                ("actor_token_type", ID_JAG),
            ],
        ),
        client(json!({})),
        json!({}),
    );
    assert_eq!(refused(&d), ("invalid_request", "unsupported_token_type"));
    let Decision::Failure(f) = d else {
        unreachable!()
    };
    assert!(f.description.contains("jwt-bearer"), "{}", f.description);
}

#[test]
fn id_jag_s4_3_subject_is_an_id_token_without_an_actor() {
    // An access token subject: refused before it is read.
    let d = decide(
        jag_form(&user_token(), AT, &[("audience", RAS)]),
        client(id_jag_policy(json!({}))),
        json!({}),
    );
    assert_eq!(refused(&d), ("invalid_request", "token_type_not_accepted"));
    // Not for an actor (TX-41 has no meaning here).
    let d = decide(
        jag(&[("actor_token", &agent_token()), ("actor_token_type", AT)]),
        client(id_jag_policy(json!({}))),
        json!({}),
    );
    assert_eq!(refused(&d), ("invalid_request", "delegation_not_allowed"));
    let Decision::Failure(f) = d else {
        unreachable!()
    };
    assert!(
        f.description
            .contains("ID-JAGs are not issued for an actor"),
        "{}",
        f.description
    );
    // The client's accepted subject types still apply (TX-45).
    let d = decide(
        jag(&[]),
        client(id_jag_policy(
            json!({"subjectTokenTypes": ["access_token"]}),
        )),
        json!({}),
    );
    assert_eq!(refused(&d), ("invalid_request", "token_type_not_accepted"));
    // So does the impersonation limit (TX-43): an ID-JAG has no actor.
    let d = decide(
        jag(&[]),
        client(id_jag_policy(json!({"impersonation": false}))),
        json!({}),
    );
    assert_eq!(
        refused(&d),
        ("invalid_request", "impersonation_not_allowed")
    );
}

#[test]
fn id_jag_s4_3_one_audience_listed_in_the_policy() {
    let id = id_token(json!({}));
    let policy = || client(id_jag_policy(json!({})));
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("resource", MCP)], "no_target"),
        (
            &[("audience", RAS), ("audience", "https://ras2.example")],
            "too_many_targets",
        ),
        (
            &[("audience", "https://ras2.example")],
            "target_not_allowed",
        ),
        // This server's own linked target is not a resource AS of the policy.
        (&[("audience", API_A)], "target_not_allowed"),
    ];
    for (extra, reason) in cases {
        assert_eq!(
            refused(&decide(jag_form(&id, IDT, extra), policy(), json!({}))),
            ("invalid_target", reason),
            "{extra:?}"
        );
    }
    // Requested without any idJag entries: nothing is allowed.
    let d = decide(
        jag_form(&id, IDT, &[("audience", RAS)]),
        client(json!({"requestedTokenTypes": ["id_jag"]})),
        json!({}),
    );
    assert_eq!(refused(&d), ("invalid_target", "target_not_allowed"));
    // A requireTarget engine and default targets change nothing for an
    // ID-JAG: the audience is always named.
    let c = call(
        jag(&[]),
        client(id_jag_policy(json!({"defaultTargets": [API_A]}))),
        json!({}),
    );
    assert_eq!(
        granted(&engine_requiring_target().decide(&c)).audiences,
        vec![RAS]
    );
}

#[test]
fn id_jag_s4_3_resources_are_the_other_servers() {
    let id = id_token(json!({}));
    // Not among the entry's resources.
    let d = decide(
        jag_form(
            &id,
            IDT,
            &[("audience", RAS), ("resource", "https://other.example/mcp")],
        ),
        client(id_jag_policy(json!({}))),
        json!({}),
    );
    assert_eq!(refused(&d), ("invalid_target", "target_not_allowed"));
    // An entry without resources takes any absolute URI: neither the
    // client's linked resources nor its target policy apply (TX-6).
    let open = id_jag_policy(json!({
        "idJag": {RAS: {"clientId": "bff-at-ras"}},
        "resources": [API_A],
    }));
    let g = decide(
        jag_form(
            &id,
            IDT,
            &[
                ("audience", RAS),
                ("resource", "https://anything.example/x"),
                ("resource", MCP),
            ],
        ),
        client(open.clone()),
        json!({}),
    );
    assert_eq!(
        granted(&g).resources,
        vec!["https://anything.example/x", MCP]
    );
    // RFC 8707 syntax still holds.
    let d = decide(
        jag_form(&id, IDT, &[("audience", RAS), ("resource", "not a uri")]),
        client(open),
        json!({}),
    );
    assert_eq!(refused(&d), ("invalid_target", "invalid_resource"));
}

#[test]
fn id_jag_s4_3_scope_is_the_entrys_not_this_servers() {
    let policy = || client(id_jag_policy(json!({})));
    // Within the entry's ceiling; the client's registered scopes (read,
    // write, ...) and the ID token (no scope) do not apply.
    let g = decide(
        jag(&[("scope", "chat.history chat.read")]),
        policy(),
        json!({}),
    );
    assert_eq!(granted(&g).scopes, vec!["chat.history", "chat.read"]);
    assert_eq!(
        refused(&decide(
            jag(&[("scope", "chat.read chat.write")]),
            policy(),
            json!({})
        )),
        ("invalid_scope", "scope_not_allowed")
    );
    // This server's scopes are not the other server's.
    assert_eq!(
        refused(&decide(jag(&[("scope", "read")]), policy(), json!({}))),
        ("invalid_scope", "scope_not_allowed")
    );
    // No scope: the ceiling, reported as changed (TX-32).
    let g = decide(jag(&[]), policy(), json!({}));
    assert_eq!(
        (granted(&g).scope.as_str(), granted(&g).scope_changed),
        ("chat.read chat.history", true)
    );
    // An entry without scopes: what is asked, else none.
    let open = || {
        client(id_jag_policy(
            json!({"idJag": {RAS: {"clientId": "bff-at-ras"}}}),
        ))
    };
    let g = decide(jag(&[("scope", "anything at:all")]), open(), json!({}));
    assert_eq!(granted(&g).scopes, vec!["anything", "at:all"]);
    let g = decide(jag(&[]), open(), json!({}));
    assert!(granted(&g).scopes.is_empty() && granted(&g).scope.is_empty());
    // No refresh token, whatever the policy (§4.3.4: SHOULD NOT).
    let g = decide(
        jag(&[("scope", "chat.read")]),
        client(id_jag_policy(json!({"refreshTokens": true}))),
        json!({}),
    );
    assert!(!granted(&g).refresh_token);
}

#[test]
fn id_jag_tx26_tx42_holder_binding_and_may_act_apply() {
    // TX-26: an ID token issued to another client.
    let other = id_token(json!({"aud": "other-client"}));
    let d = decide(
        jag_form(&other, IDT, &[("audience", RAS)]),
        client(id_jag_policy(json!({}))),
        json!({}),
    );
    assert_eq!(refused(&d), ("invalid_request", "token_holder_mismatch"));
    granted(&decide(
        jag_form(&other, IDT, &[("audience", RAS)]),
        client(id_jag_policy(
            json!({"holderBinding": {"clients": ["other-client"]}}),
        )),
        json!({}),
    ));
    // TX-42: may_act names the client (this server's) or it is refused.
    let named = id_token(json!({"may_act": {"client_id": "bff"}}));
    granted(&decide(
        jag_form(&named, IDT, &[("audience", RAS)]),
        client(id_jag_policy(json!({}))),
        json!({}),
    ));
    let someone = id_token(json!({"may_act": {"sub": "someone-else"}}));
    let d = decide(
        jag_form(&someone, IDT, &[("audience", RAS)]),
        client(id_jag_policy(json!({}))),
        json!({}),
    );
    assert_eq!(refused(&d), ("invalid_request", "may_act_mismatch"));
    // TX-20: the ID token is validated as ever.
    let expired = id_token(json!({"exp": NOW - 100}));
    let d = decide(
        jag_form(&expired, IDT, &[("audience", RAS)]),
        client(id_jag_policy(json!({}))),
        json!({}),
    );
    assert_eq!(refused(&d), ("invalid_request", "token_expired"));
}

#[test]
fn id_jag_tx24_an_id_token_of_a_trusted_issuer_needs_the_issuer_and_a_linked_user() {
    let external = trusted_token(EXTERNAL, "ext-user", json!({"email": "ext@example.com"}));
    let f = || jag_form(&external, IDT, &[("audience", RAS)]);
    assert_eq!(
        refused(&decide(f(), client(id_jag_policy(json!({}))), json!({}))),
        ("invalid_request", "issuer_not_allowed_for_client")
    );
    let policy = || client(id_jag_policy(json!({"trustedIssuers": [EXTERNAL]})));
    assert_eq!(
        refused(&decide(f(), policy(), json!({}))).1,
        "subject_not_linked"
    );
    let d = decide(f(), policy(), linked_user(EXTERNAL, "ext-user"));
    let g = granted(&d);
    assert_eq!(
        (
            g.user_id.as_str(),
            g.subject.as_str(),
            g.subject_issuer.as_str()
        ),
        ("local-9", "ext-user", EXTERNAL)
    );
    assert_eq!(
        g.id_jag.as_ref().unwrap().claims,
        json!({"email": "ext@example.com"})
            .as_object()
            .unwrap()
            .clone()
    );
}

#[test]
fn id_jag_tx51_expiry_is_the_subjects_or_the_id_jag_lifetime() {
    let policy = || client(id_jag_policy(json!({})));
    let short = id_token(json!({"exp": NOW + 120}));
    let g = decide(
        jag_form(&short, IDT, &[("audience", RAS)]),
        policy(),
        json!({}),
    );
    assert_eq!(granted(&g).expires_at, NOW + 120);
    let long = id_token(json!({"exp": NOW + 100_000}));
    let g = decide(
        jag_form(&long, IDT, &[("audience", RAS)]),
        policy(),
        json!({}),
    );
    assert_eq!(granted(&g).expires_at, NOW + 300);
    // idJagLifetimeSeconds, between 1 and 3600.
    let mut s = settings();
    s.id_jag_lifetime_seconds = 60;
    let mut e = better_auth_token_exchange::Engine::new(s).unwrap();
    e.set_issuer_keys(
        ISSUER,
        json!({ "keys": [jwk(&own_key(), "own-1")] })
            .to_string()
            .as_bytes(),
    );
    let c = call(
        jag_form(&long, IDT, &[("audience", RAS)]),
        policy(),
        json!({}),
    );
    assert_eq!(granted(&e.decide(&c)).expires_at, NOW + 60);
    for bad in [0, 3601] {
        let s: better_auth_token_exchange::EngineSettings =
            serde_json::from_value(json!({"issuer": ISSUER, "idJagLifetimeSeconds": bad})).unwrap();
        let e = better_auth_token_exchange::Engine::new(s).err().unwrap();
        assert!(e.contains("idJagLifetimeSeconds"), "{e}");
    }
    assert_eq!(
        better_auth_token_exchange::EngineSettings::new(ISSUER).id_jag_lifetime_seconds,
        300
    );
}

#[test]
fn tx50_a_requested_jwt_is_an_access_token_answered_as_n_a_without_refresh() {
    let policy = json!({"requestedTokenTypes": ["access_token", "jwt"], "refreshTokens": true});
    let d = decide(
        form(
            &user_token(),
            AT,
            &[("audience", API_A), ("requested_token_type", JWT)],
        ),
        client(policy.clone()),
        json!({}),
    );
    let g = granted(&d);
    assert_eq!(
        (
            g.issued_token_type,
            g.token_type,
            g.refresh_token,
            g.id_jag.is_none()
        ),
        (JWT, "N_A", false, true)
    );
    // Scope, targets and the lifetime cap as for an access token.
    assert_eq!(
        (g.scopes.clone(), g.expires_at),
        (vec!["read".to_owned(), "write".to_owned()], NOW + 600)
    );
    assert_eq!(d.audit().requested_token_type, Some(JWT));
    let d = decide(
        form(
            &user_token(),
            AT,
            &[
                ("audience", "https://not-linked.example"),
                ("requested_token_type", JWT),
            ],
        ),
        client(policy.clone()),
        json!({}),
    );
    assert_eq!(refused(&d), ("invalid_target", "target_not_allowed"));
    let d = decide(
        form(
            &user_token(),
            AT,
            &[
                ("audience", API_A),
                ("requested_token_type", JWT),
                ("scope", "admin"),
            ],
        ),
        client(policy.clone()),
        json!({}),
    );
    assert_eq!(refused(&d), ("invalid_scope", "scope_not_allowed"));
    // offline_access asks for a refresh token, which a JWT never comes with.
    let t = access_token("user-1", "bff", "read offline_access", json!({}));
    let d = decide(
        form(
            &t,
            AT,
            &[
                ("audience", API_A),
                ("requested_token_type", JWT),
                ("scope", "read offline_access"),
            ],
        ),
        client(policy.clone()),
        json!({}),
    );
    assert_eq!(refused(&d), ("invalid_scope", "scope_not_allowed"));
    // Delegation works as for access tokens (TX-41).
    let d = decide(
        form(
            &user_token(),
            AT,
            &[
                ("audience", API_A),
                ("requested_token_type", JWT),
                ("actor_token", &agent_token()),
                ("actor_token_type", AT),
            ],
        ),
        client(policy),
        json!({}),
    );
    assert_eq!(granted(&d).act.as_ref().unwrap()["sub"], "agent-7");
}

#[test]
fn tx23_rfc8725_s3_11_an_id_jag_is_never_exchanged_whatever_its_declared_type() {
    // A trusted issuer's ID-JAG for this server, issued to another client:
    // exchanged as a JWT it would side-step its client_id binding (draft
    // §4.4.1), since translated tokens are bound by audience only (TX-26).
    let claims = json!({"iss": EXTERNAL, "sub": "ext-user", "aud": ISSUER, "client_id": "someone-else",
        "jti": "j", "iat": NOW, "exp": NOW + 300, "scope": "read"});
    let typed = |typ: &str| {
        sign(
            &external_key(),
            &json!({"alg": "EdDSA", "kid": "ext-1", "typ": typ}),
            &claims,
        )
    };
    let user = linked_user(EXTERNAL, "ext-user");
    for typ in ["oauth-id-jag+jwt", "application/OAUTH-ID-JAG+JWT"] {
        for kind in [JWT, AT, IDT] {
            let d = decide(
                form(&typed(typ), kind, &aud_a()),
                translating_client(),
                user.clone(),
            );
            assert_eq!(
                refused(&d),
                ("invalid_request", "token_type_mismatch"),
                "{typ} {kind}"
            );
        }
    }
    granted(&decide(
        form(&typed("JWT"), JWT, &aud_a()),
        translating_client(),
        user,
    ));
    // Nor one of this server's own, as a JWT subject or actor.
    let own = sign(
        &own_key(),
        &json!({"alg": "EdDSA", "kid": "own-1", "typ": "oauth-id-jag+jwt"}),
        &json!({"iss": ISSUER, "sub": "user-1", "aud": RAS, "client_id": "bff", "jti": "j", "iat": NOW, "exp": NOW + 300}),
    );
    let d = decide(form(&own, JWT, &aud_a()), client(json!({})), json!({}));
    assert_eq!(refused(&d), ("invalid_request", "token_type_mismatch"));
    let d = decide(
        form(
            &user_token(),
            AT,
            &[
                ("audience", API_A),
                ("actor_token", &own),
                ("actor_token_type", JWT),
            ],
        ),
        client(json!({})),
        json!({}),
    );
    assert_eq!(refused(&d), ("invalid_request", "token_type_mismatch"));
}
