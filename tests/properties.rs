//! Property tests of the decision invariants: whatever the subject token,
//! the actor token, the client's registration and policy and the request,
//! a granted exchange
//!
//! - never carries a scope outside the client's registered scopes, the
//!   policy ceiling, or (unless downscoping is relaxed) the subject token's
//!   scope (TX-30, TX-31), and grants exactly what was asked when a scope
//!   was asked (TX-32);
//! - never outlives the subject token, the actor token or the lifetime cap
//!   (TX-51);
//! - has the subject token's `sub` (TX-40, TX-41);
//! - carries the subject's `act` unchanged (impersonation, TX-40), or the
//!   actor outermost with the subject's previous chain nested unchanged
//!   inside (delegation, TX-41, TX-44).
//!
//! Tokens are really signed (Ed25519) by the fixtures in `tests/common`, so
//! every case goes through full validation.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeSet;

use better_auth_token_exchange::Decision;
use common::*;
use proptest::prelude::*;
use proptest::sample::subsequence;
use serde_json::{json, Value};

/// Every scope value the strategies draw from.
const UNIVERSE: [&str; 8] = [
    "read",
    "write",
    "admin",
    "offline_access",
    "openid",
    "orders:read",
    "billing:read",
    "reports:read",
];

fn scopes() -> impl Strategy<Value = Vec<String>> {
    subsequence(UNIVERSE.to_vec(), 0..=UNIVERSE.len())
        .prop_map(|v| v.into_iter().map(str::to_owned).collect())
}

fn set(v: &[String]) -> BTreeSet<&str> {
    v.iter().map(String::as_str).collect()
}

/// An identifier as issuers write them: printable, non-empty, sometimes
/// exotic (spaces, quotes, non-ASCII).
fn identifier() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9-]{1,24}",
        "\\PC{1,16}",
        Just("user \"quoted\" {json}".to_owned()),
    ]
}

/// An `act` chain of `depth` levels (outermost first), each with a `sub`
/// and sometimes `iss`/`client_id`, as an earlier exchange would have made.
fn chain(max_depth: usize) -> impl Strategy<Value = Option<Value>> {
    proptest::collection::vec(
        (
            identifier(),
            proptest::option::of("[a-z]{1,8}"),
            any::<bool>(),
        ),
        0..=max_depth,
    )
    .prop_map(|levels| {
        let mut act: Option<Value> = None;
        for (sub, client, external) in levels.into_iter().rev() {
            let mut level = json!({ "sub": sub });
            if let Some(c) = client {
                level["client_id"] = json!(c);
            }
            if external {
                level["iss"] = json!(EXTERNAL);
            }
            if let Some(inner) = act {
                level["act"] = inner;
            }
            act = Some(level);
        }
        act
    })
}

fn depth(act: Option<&Value>) -> usize {
    let mut n = 0;
    let mut cursor = act;
    while let Some(v) = cursor {
        n += 1;
        cursor = v.get("act");
    }
    n
}

fn client_with(scopes: &[String], policy: Value) -> Value {
    let mut c = client(policy);
    c["scopes"] = json!(scopes);
    c
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// TX-30, TX-31, TX-32: the granted scope is within the client's, the
    /// policy ceiling's and (unless relaxed) the subject's; a requested scope
    /// is granted exactly or refused, never widened; with no scope requested
    /// the grant is the widest allowed set.
    #[test]
    fn granted_scope_is_within_client_and_subject(
        subject_scopes in scopes(),
        client_scopes in scopes(),
        requested in proptest::option::of(scopes()),
        ceiling in proptest::option::of(scopes()),
        relax in any::<bool>(),
        refresh in any::<bool>(),
    ) {
        let token = access_token("user-1", "bff", &subject_scopes.join(" "), json!({}));
        let mut extra = vec![("audience", API_A)];
        let requested_text = requested.as_ref().map(|r| r.join(" "));
        if let Some(text) = &requested_text {
            extra.push(("scope", text.as_str()));
        }
        let mut policy = json!({ "relaxDownscoping": relax, "refreshTokens": refresh });
        if let Some(c) = &ceiling {
            policy["scopes"] = json!(c);
        }
        let d = decide(form(&token, AT, &extra), client_with(&client_scopes, policy), json!({}));

        let allowed = |s: &str| {
            set(&client_scopes).contains(s)
                && ceiling.as_ref().is_none_or(|c| set(c).contains(s))
                && (relax || set(&subject_scopes).contains(s))
                && (refresh || s != "offline_access")
        };
        match (&d, &requested) {
            (Decision::Success(g), _) => {
                for s in &g.scopes {
                    prop_assert!(set(&client_scopes).contains(s.as_str()), "{s} not the client's");
                    prop_assert!(allowed(s), "{s} granted but not allowed");
                    if !relax {
                        prop_assert!(set(&subject_scopes).contains(s.as_str()), "{s} not the subject's");
                    }
                }
                match &requested {
                    Some(r) if !r.is_empty() => prop_assert_eq!(&g.scopes, r),
                    _ => {
                        let widest: BTreeSet<&str> = UNIVERSE.iter().copied().filter(|s| allowed(s)).collect();
                        prop_assert_eq!(set(&g.scopes), widest);
                    }
                }
            }
            (Decision::Failure(_), Some(r)) => {
                prop_assert_eq!(refused(&d), ("invalid_scope", "scope_not_allowed"));
                prop_assert!(r.iter().any(|s| !allowed(s)), "refused although every scope was allowed");
            }
            (Decision::Failure(f), None) => {
                prop_assert!(false, "refused without a scope request: {} {}", f.reason, f.description);
            }
        }
    }

    /// TX-51: the issued token never outlives the subject token, the actor
    /// token or the configured lifetime, and is never issued already expired.
    #[test]
    fn issued_exp_never_exceeds_subject_or_actor(
        subject_left in -40i64..20_000,
        actor_left in proptest::option::of(-40i64..20_000),
    ) {
        let subject = access_token("user-1", "bff", "read", json!({ "exp": NOW + subject_left }));
        let mut extra = vec![("audience", API_A.to_owned())];
        if let Some(left) = actor_left {
            let actor = access_token("agent-7", "bff", "read", json!({ "exp": NOW + left }));
            extra.push(("actor_token", actor));
            extra.push(("actor_token_type", AT.to_owned()));
        }
        let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let d = decide(form(&subject, AT, &extra), client(json!({})), json!({}));
        let soonest = actor_left.map_or(subject_left, |a| a.min(subject_left));
        match &d {
            Decision::Success(g) => {
                prop_assert!(g.expires_at <= NOW + subject_left);
                if let Some(a) = actor_left {
                    prop_assert!(g.expires_at <= NOW + a);
                }
                prop_assert!(g.expires_at <= NOW + 3600);
                prop_assert!(g.expires_at > NOW);
                prop_assert_eq!(g.expires_at, (NOW + soonest).min(NOW + 3600));
            }
            Decision::Failure(_) => {
                prop_assert!(soonest <= 0, "refused a token valid for {soonest}s");
                prop_assert_eq!(refused(&d), ("invalid_request", "token_expired"));
            }
        }
    }

    /// TX-40, TX-41: the issued `sub` is always the subject token's, whoever
    /// acts and whatever the identifiers look like.
    #[test]
    fn sub_is_always_the_subjects(
        sub in identifier(),
        actor_sub in proptest::option::of(identifier()),
    ) {
        prop_assume!(actor_sub.as_deref() != Some(sub.as_str()));
        let subject = access_token(&sub, "bff", "read write", json!({}));
        let mut extra = vec![("audience", API_A.to_owned())];
        if let Some(a) = &actor_sub {
            extra.push(("actor_token", access_token(a, "bff", "read", json!({}))));
            extra.push(("actor_token_type", AT.to_owned()));
        }
        let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let d = decide(form(&subject, AT, &extra), client(json!({})), json!({}));
        let g = granted(&d);
        prop_assert_eq!(&g.subject, &sub);
        prop_assert_eq!(&g.user_id, &sub);
        prop_assert_eq!(g.audit.subject.as_ref().and_then(|p| p.sub.as_deref()), Some(sub.as_str()));
    }

    /// TX-40, TX-41, TX-44, TX-25: impersonation keeps the subject's `act`
    /// as it was; delegation puts the actor outermost with the previous
    /// chain nested unchanged; a chain that would pass the depth limit is
    /// refused, never truncated.
    #[test]
    fn act_chain_ends_with_the_previous_chain_unchanged(
        prior in chain(6),
        actor_sub in proptest::option::of("agent-[a-z0-9]{1,8}"),
    ) {
        let mut claims = json!({});
        if let Some(p) = &prior {
            claims["act"] = p.clone();
        }
        let subject = access_token("user-1", "bff", "read", claims);
        let mut extra = vec![("audience", API_A.to_owned())];
        if let Some(a) = &actor_sub {
            extra.push(("actor_token", access_token(a, "bff", "read", json!({}))));
            extra.push(("actor_token_type", AT.to_owned()));
        }
        let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let d = decide(form(&subject, AT, &extra), client(json!({})), json!({}));
        let prior_depth = depth(prior.as_ref());
        let new_depth = prior_depth + usize::from(actor_sub.is_some());
        if prior_depth > 5 {
            prop_assert_eq!(refused(&d), ("invalid_request", "act_chain_too_deep"));
        } else if new_depth > 5 {
            prop_assert_eq!(refused(&d), ("invalid_request", "delegation_too_deep"));
        } else {
            let g = granted(&d);
            match &actor_sub {
                None => prop_assert_eq!(g.act.as_ref(), prior.as_ref()),
                Some(a) => {
                    let act = g.act.as_ref().expect("delegation carries act");
                    prop_assert_eq!(act.get("sub"), Some(&json!(a)));
                    prop_assert_eq!(act.get("client_id"), Some(&json!("bff")));
                    prop_assert_eq!(act.get("act"), prior.as_ref());
                    prop_assert_eq!(depth(g.act.as_ref()), new_depth);
                }
            }
        }
    }

    /// TX-26: a token issued to another client, not naming this one in `aud`,
    /// is refused unless the policy widens holder binding for that client.
    #[test]
    fn tokens_of_other_clients_are_refused(
        holder in "[a-z]{1,10}",
        widen in any::<bool>(),
    ) {
        prop_assume!(holder != "bff");
        let token = access_token("user-1", &holder, "read", json!({}));
        let policy = if widen { json!({ "holderBinding": { "clients": [holder] } }) } else { json!({}) };
        let d = decide(form(&token, AT, &[("audience", API_A)]), client(policy), json!({}));
        if widen {
            prop_assert_eq!(&granted(&d).subject, "user-1");
        } else {
            prop_assert_eq!(refused(&d), ("invalid_request", "token_holder_mismatch"));
        }
    }

    /// The decision is a function of its input: the same call twice gives
    /// the same answer (no state kept between requests).
    #[test]
    fn decide_is_deterministic(
        subject_scopes in scopes(),
        requested in proptest::option::of(scopes()),
        prior in chain(3),
    ) {
        let mut claims = json!({});
        if let Some(p) = prior {
            claims["act"] = p;
        }
        let token = access_token("user-1", "bff", &subject_scopes.join(" "), claims);
        let text = requested.map(|r| r.join(" "));
        let mut extra = vec![("audience", API_A)];
        if let Some(t) = &text {
            extra.push(("scope", t.as_str()));
        }
        let e = engine();
        let c = call(form(&token, AT, &extra), client(json!({})), json!({}));
        prop_assert_eq!(e.decide(&c), e.decide(&c));
    }
}

/// Text as hostile as a request can carry: any Unicode (controls, `"`, `\`,
/// non-ASCII, line and paragraph separators), and a few pointed cases.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\"\\\\\\x00-\\x1f\\x7f]{0,8}",
        "\\PC{0,24}",
        Just("urn:ietf:params:oauth:token-type:saml2\"\\\n".to_owned()),
        Just("https://api-a.example/\u{2028}\"".to_owned()),
        Just("caf\u{e9} \u{1f600} \u{85}".to_owned()),
    ]
}

/// A parameter name: one the engine reads, or anything at all.
fn parameter_name() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "audience",
            "resource",
            "scope",
            "subject_token",
            "subject_token_type",
            "actor_token",
            "actor_token_type",
            "requested_token_type",
            "grant_type",
            "client_id",
        ])
        .prop_map(str::to_owned),
        hostile_text(),
    ]
}

/// Any JSON, with hostile strings for keys and values, and the policy's own
/// member names among the keys so that serde's messages about wrong types
/// (which quote the offending text) are reached too.
fn hostile_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        proptest::sample::select(vec![
            "audiences",
            "resources",
            "defaultTargets",
            "scopes",
            "impersonation",
            "delegation",
            "subjectTokenTypes",
            "trustedIssuers",
            "maxDelegationDepth",
            "holderBinding",
            "targets",
            "requireTarget",
        ])
        .prop_map(str::to_owned),
        hostile_text(),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        hostile_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(key.clone(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// TX-71: whatever the form (any names, any values), the client policy
    /// and the presented token hold, every description the engine produces
    /// holds only %x20-21 / %x23-5B / %x5D-7E (RFC 6749 §5.2): the request
    /// parser's own refusals (before the final guard), every failure of
    /// `decide`, and every refusal of the resource-server verifier.
    #[test]
    fn tx71_every_description_holds_only_rfc6749_characters(
        pairs in proptest::collection::vec((parameter_name(), hostile_text()), 0..6),
        subject_type in prop_oneof![Just(AT.to_owned()), hostile_text()],
        policy in prop_oneof![Just(json!({})), hostile_json()],
        real_token in any::<bool>(),
        odd_token in hostile_text(),
    ) {
        use better_auth_token_exchange::error::is_description_safe;
        use better_auth_token_exchange::request::ExchangeRequest;
        use better_auth_token_exchange::verify::{Verification, VerifyCall};

        let token = if real_token { access_token("user-1", "bff", "read", json!({})) } else { odd_token };
        let mut f = form(&token, &subject_type, &[]);
        f.extend(pairs);
        if let Err(refusal) = ExchangeRequest::parse(&f, 16 * 1024) {
            prop_assert!(is_description_safe(&refusal.description), "{:?}", refusal.description);
        }
        let c = call(f, client(Value::Null), json!({}));
        let c = better_auth_token_exchange::DecideCall {
            client: serde_json::from_value(client(policy)).unwrap(),
            ..c
        };
        let e = engine();
        if let Decision::Failure(failure) = e.decide(&c) {
            prop_assert!(is_description_safe(&failure.description), "{:?}", failure.description);
        }
        let v = e.verify_access_token(&VerifyCall {
            token,
            now: NOW,
            audiences: vec![API_A.to_owned()],
            ..VerifyCall::default()
        });
        if let Verification::Invalid { description, .. } = v {
            prop_assert!(is_description_safe(&description), "{description:?}");
        }
    }
}
