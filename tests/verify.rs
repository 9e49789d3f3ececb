//! `Engine::verify_access_token`: a resource server verifying a token this
//! server issued (for example by an exchange), through the same validation
//! as the exchange's subject tokens.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use better_auth_token_exchange::verify::{Verification, VerifiedToken, VerifyCall};
use better_auth_token_exchange::{Engine, EngineSettings};
use common::*;
use serde_json::{json, Map, Value};

/// An exchanged token for `user-1` at API A, issued to `bff`, with `act`.
fn exchanged(act: Value, extra: Value) -> String {
    // `extra` as given: its nulls remove claims in `access_token`.
    let mut more = extra;
    more["act"] = act;
    access_token("user-1", "bff", "read write", more)
}

fn nested_act() -> Value {
    json!({ "sub": "agent-2", "client_id": "bff", "act": { "sub": "agent-1", "client_id": "bff" } })
}

fn call(token: &str) -> VerifyCall {
    VerifyCall {
        token: token.to_owned(),
        now: NOW,
        audiences: vec![API_A.to_owned()],
        ..VerifyCall::default()
    }
}

fn verify(call: &VerifyCall) -> Verification {
    engine().verify_access_token(call)
}

fn valid(v: &Verification) -> &VerifiedToken {
    match v {
        Verification::Valid(t) => t,
        Verification::Invalid {
            reason,
            description,
            ..
        } => panic!("expected a valid token, got {reason}: {description}"),
    }
}

/// The reason of a refusal, after checking it is `invalid_token` and says
/// nothing of the token.
fn invalid(v: &Verification, token: &str) -> &'static str {
    match v {
        Verification::Invalid {
            error,
            reason,
            description,
        } => {
            assert_eq!(error.as_str(), "invalid_token");
            assert!(!description.is_empty());
            for part in token.split('.').filter(|p| p.len() > 8) {
                assert!(!description.contains(part), "{description}");
            }
            reason.as_str()
        }
        Verification::Valid(t) => panic!("expected a refusal, got a token for {}", t.sub),
    }
}

#[test]
fn an_impersonation_token_verifies_with_its_facts() {
    let token = access_token("user-1", "bff", "read write", json!({}));
    let v = verify(&call(&token));
    let t = valid(&v);
    assert_eq!((t.sub.as_str(), t.iss.as_str()), ("user-1", ISSUER));
    assert_eq!(t.aud, vec![API_A.to_owned()]);
    assert_eq!(t.exp, NOW + 600);
    assert_eq!(t.scopes, vec!["read".to_owned(), "write".to_owned()]);
    assert_eq!(t.client_id.as_deref(), Some("bff"));
    assert!(t.actor.is_none() && t.chain.is_empty());
    assert_eq!(t.claims["jti"], "j1");
}

#[test]
fn tx41_tx44_a_nested_act_gives_the_outermost_actor_and_the_whole_chain() {
    let token = exchanged(nested_act(), json!({}));
    let v = verify(&call(&token));
    let t = valid(&v);
    let actor = t.actor.as_ref().unwrap();
    assert_eq!(
        (actor.sub.as_deref(), actor.client_id.as_deref()),
        (Some("agent-2"), Some("bff"))
    );
    let subs: Vec<_> = t.chain.iter().map(|p| p.sub.as_deref().unwrap()).collect();
    assert_eq!(subs, ["agent-2", "agent-1"]);
    assert_eq!(t.claims["act"], nested_act());
}

#[test]
fn tx20_a_tampered_signature_or_payload_is_refused() {
    let token = exchanged(nested_act(), json!({}));
    let (input, sig) = token.rsplit_once('.').unwrap();
    let mut bytes: Vec<char> = sig.chars().collect();
    bytes[10] = if bytes[10] == 'A' { 'B' } else { 'A' };
    let tampered = format!("{input}.{}", bytes.into_iter().collect::<String>());
    assert_eq!(
        invalid(&verify(&call(&tampered)), &tampered),
        "bad_signature"
    );

    // A payload that drops the actor, under the original signature.
    let parts: Vec<&str> = token.split('.').collect();
    let other = access_token("user-1", "bff", "read write", json!({}));
    let swapped = format!(
        "{}.{}.{}",
        parts[0],
        other.split('.').nth(1).unwrap(),
        parts[2]
    );
    assert_eq!(invalid(&verify(&call(&swapped)), &swapped), "bad_signature");
}

#[test]
fn a_token_for_another_audience_is_refused() {
    let token = exchanged(nested_act(), json!({ "aud": [API_B, "billing"] }));
    assert_eq!(invalid(&verify(&call(&token)), &token), "audience_mismatch");
    let mut c = call(&token);
    c.audiences = vec!["orders".into(), "billing".into()];
    valid(&verify(&c));
    // No audience configured accepts nothing.
    c.audiences.clear();
    assert_eq!(invalid(&verify(&c), &token), "audience_mismatch");
    // A token without aud is for nobody.
    let token = exchanged(nested_act(), json!({ "aud": null }));
    assert_eq!(invalid(&verify(&call(&token)), &token), "audience_mismatch");
}

#[test]
fn a_token_of_another_issuer_is_refused_even_a_trusted_one() {
    // Signed with our own key but naming another issuer.
    let token = access_token(
        "user-1",
        "bff",
        "read",
        json!({ "iss": "https://evil.example" }),
    );
    assert_eq!(invalid(&verify(&call(&token)), &token), "untrusted_issuer");
    // The engine trusts EXTERNAL for exchanges, not for its resource servers.
    let claims = json!({
        "iss": EXTERNAL, "sub": "ext-user", "aud": [ISSUER, API_A], "iat": NOW, "exp": NOW + 600,
    });
    let token = sign(
        &external_key(),
        &json!({"alg": "EdDSA", "kid": "ext-1", "typ": "at+jwt"}),
        &claims,
    );
    assert_eq!(invalid(&verify(&call(&token)), &token), "untrusted_issuer");
}

#[test]
fn tx20_times_are_checked_with_leeway() {
    let token = exchanged(nested_act(), json!({}));
    let mut c = call(&token);
    c.now = NOW + 600 + 29; // within the default 30 s leeway
    valid(&verify(&c));
    c.now = NOW + 600 + 30;
    assert_eq!(invalid(&verify(&c), &token), "token_expired");

    let token = exchanged(nested_act(), json!({ "nbf": NOW + 120 }));
    assert_eq!(
        invalid(&verify(&call(&token)), &token),
        "token_not_yet_valid"
    );
    let token = exchanged(nested_act(), json!({ "iat": NOW + 120 }));
    assert_eq!(
        invalid(&verify(&call(&token)), &token),
        "token_issued_in_future"
    );
    let token = exchanged(nested_act(), json!({ "exp": null }));
    assert_eq!(invalid(&verify(&call(&token)), &token), "missing_claim");
}

#[test]
fn tx22_tx23_algorithm_and_typing() {
    let claims = json!({
        "iss": ISSUER, "sub": "user-1", "aud": API_A, "client_id": "bff", "iat": NOW, "exp": NOW + 600,
    });
    // alg none, unsigned or not.
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "at+jwt"})),
        b64(&claims)
    );
    assert_eq!(
        invalid(&verify(&call(&none)), &none),
        "unsupported_algorithm"
    );
    let none = format!(
        "{}.{}.AAAA",
        b64(&json!({"alg": "none", "typ": "at+jwt"})),
        b64(&claims)
    );
    assert_eq!(
        invalid(&verify(&call(&none)), &none),
        "unsupported_algorithm"
    );
    // HS256 (the public key as an HMAC secret).
    let hs = format!(
        "{}.{}.c2lnbmF0dXJl",
        b64(&json!({"alg": "HS256", "kid": "own-1", "typ": "at+jwt"})),
        b64(&claims)
    );
    assert_eq!(invalid(&verify(&call(&hs)), &hs), "unsupported_algorithm");
    // A JWT that is not typed as an access token (an ID token, say).
    let untyped = sign(
        &own_key(),
        &json!({"alg": "EdDSA", "kid": "own-1", "typ": "JWT"}),
        &claims,
    );
    assert_eq!(
        invalid(&verify(&call(&untyped)), &untyped),
        "token_type_mismatch"
    );
    let typed = sign(
        &own_key(),
        &json!({"alg": "EdDSA", "kid": "own-1", "typ": "application/at+jwt"}),
        &claims,
    );
    valid(&verify(&call(&typed)));
    // jku is never followed: the token verifies only with configured keys.
    let foreign = ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]);
    let jku = sign(
        &foreign,
        &json!({"alg": "EdDSA", "kid": "own-1", "typ": "at+jwt", "jku": "https://evil.example/jwks"}),
        &claims,
    );
    assert_eq!(invalid(&verify(&call(&jku)), &jku), "bad_signature");
}

#[test]
fn an_unknown_kid_or_an_issuer_without_keys_is_unknown_key() {
    let claims = json!({
        "iss": ISSUER, "sub": "user-1", "aud": API_A, "iat": NOW, "exp": NOW + 600,
    });
    let token = sign(
        &own_key(),
        &json!({"alg": "EdDSA", "kid": "rotated-2", "typ": "at+jwt"}),
        &claims,
    );
    assert_eq!(invalid(&verify(&call(&token)), &token), "unknown_key");
    let bare = Engine::new(EngineSettings::new(ISSUER)).unwrap();
    let token = access_token("user-1", "bff", "read", json!({}));
    assert_eq!(
        invalid(&bare.verify_access_token(&call(&token)), &token),
        "unknown_key"
    );
}

#[test]
fn an_opaque_token_is_refused_with_its_own_reason() {
    for token in ["opaque-access-token-value", "a.b.c.d.e", ""] {
        assert_eq!(invalid(&verify(&call(token)), token), "opaque_token");
    }
}

#[test]
fn require_actor_refuses_an_impersonation_token() {
    let token = access_token("user-1", "bff", "read", json!({}));
    let mut c = call(&token);
    c.require_actor = true;
    assert_eq!(invalid(&verify(&c), &token), "actor_required");
    let token = exchanged(nested_act(), json!({}));
    let mut c = call(&token);
    c.require_actor = true;
    valid(&verify(&c));
}

#[test]
fn tx25_max_chain_depth_bounds_the_act_chain() {
    let token = exchanged(nested_act(), json!({}));
    let mut c = call(&token);
    c.max_chain_depth = Some(2);
    valid(&verify(&c));
    c.max_chain_depth = Some(1);
    assert_eq!(invalid(&verify(&c), &token), "act_chain_too_deep");
    c.max_chain_depth = Some(0);
    assert_eq!(invalid(&verify(&c), &token), "act_chain_too_deep");
    let plain = access_token("user-1", "bff", "read", json!({}));
    let mut c = call(&plain);
    c.max_chain_depth = Some(0);
    valid(&verify(&c));

    // The engine's own limit (maxActDepth, default 5) holds whatever the call says.
    let mut act = json!({ "sub": "agent-0" });
    for i in 1..6 {
        act = json!({ "sub": format!("agent-{i}"), "act": act });
    }
    let deep = exchanged(act, json!({}));
    let mut c = call(&deep);
    c.max_chain_depth = Some(100);
    assert_eq!(invalid(&verify(&c), &deep), "act_chain_too_deep");
    // A malformed level is refused, not skipped.
    let broken = exchanged(
        json!({ "sub": "agent-2", "act": { "client_id": "x" } }),
        json!({}),
    );
    assert_eq!(invalid(&verify(&call(&broken)), &broken), "invalid_claim");
}

fn actors(entries: Value) -> Option<Vec<Map<String, Value>>> {
    Some(serde_json::from_value(entries).unwrap())
}

#[test]
fn tx44_allowed_actors_match_the_outermost_actor_only() {
    let token = exchanged(nested_act(), json!({}));
    let mut c = call(&token);
    c.allowed_actors = actors(json!([{ "sub": "agent-9" }, { "sub": "agent-2" }]));
    valid(&verify(&c));
    // agent-1 acted earlier in the chain: history, not the current actor.
    c.allowed_actors = actors(json!([{ "sub": "agent-1" }]));
    assert_eq!(invalid(&verify(&c), &token), "actor_not_allowed");
    // Every member of an entry must match.
    c.allowed_actors = actors(json!([{ "sub": "agent-2", "client_id": "other" }]));
    assert_eq!(invalid(&verify(&c), &token), "actor_not_allowed");
    c.allowed_actors = actors(json!([{ "sub": "agent-2", "client_id": "bff" }]));
    valid(&verify(&c));
    // An actor without iss is the token issuer's.
    c.allowed_actors = actors(json!([{ "sub": "agent-2", "iss": ISSUER }]));
    valid(&verify(&c));
    c.allowed_actors = actors(json!([{ "sub": "agent-2", "iss": EXTERNAL }]));
    assert_eq!(invalid(&verify(&c), &token), "actor_not_allowed");
    // An empty entry names nobody; an empty list allows nobody.
    c.allowed_actors = actors(json!([{}]));
    assert_eq!(invalid(&verify(&c), &token), "actor_not_allowed");
    c.allowed_actors = actors(json!([]));
    assert_eq!(invalid(&verify(&c), &token), "actor_not_allowed");

    // An external actor keeps its own iss.
    let token = exchanged(json!({ "sub": "agent-x", "iss": EXTERNAL }), json!({}));
    let mut c = call(&token);
    c.allowed_actors = actors(json!([{ "sub": "agent-x", "iss": ISSUER }]));
    assert_eq!(invalid(&verify(&c), &token), "actor_not_allowed");
    c.allowed_actors = actors(json!([{ "sub": "agent-x", "iss": EXTERNAL }]));
    valid(&verify(&c));

    // Without an actor there is nobody to check (requireActor refuses those).
    let plain = access_token("user-1", "bff", "read", json!({}));
    let mut c = call(&plain);
    c.allowed_actors = actors(json!([{ "sub": "agent-2" }]));
    valid(&verify(&c));
}

#[test]
fn the_call_reads_from_json_strictly() {
    let ok = json!({
        "token": "t", "now": NOW, "audiences": [API_A], "requireActor": true,
        "allowedActors": [{ "sub": "agent-2" }], "maxChainDepth": 3,
    });
    let c = VerifyCall::from_value(&ok).unwrap();
    assert!(c.require_actor);
    assert_eq!(c.max_chain_depth, Some(3));
    assert_eq!(c.allowed_actors.unwrap().len(), 1);
    for (bad, why) in [
        (json!({ "token": "t", "now": NOW }), "required"),
        (
            json!({ "token": "t", "now": NOW, "audiences": [API_A], "audience": API_A }),
            "'audience'",
        ),
        (
            json!({ "token": "t", "now": "soon", "audiences": [API_A] }),
            "'now'",
        ),
        (
            json!({ "token": "t", "now": NOW, "audiences": [1] }),
            "'audiences'",
        ),
        (
            json!({ "token": "t", "now": NOW, "audiences": [], "allowedActors": ["agent"] }),
            "'allowedActors'",
        ),
        (
            json!({ "token": "t", "now": NOW, "audiences": [], "maxChainDepth": -1 }),
            "'maxChainDepth'",
        ),
        (
            json!({ "token": "t", "now": NOW, "audiences": [], "requireActor": "yes" }),
            "'requireActor'",
        ),
        (json!(["token"]), "object"),
    ] {
        let error = VerifyCall::from_value(&bad).unwrap_err();
        assert!(error.contains(why), "{bad}: {error}");
    }
}

#[test]
fn the_answer_serialises_camel_case_and_tagged() {
    let token = exchanged(nested_act(), json!({}));
    let v = serde_json::to_value(verify(&call(&token))).unwrap();
    assert_eq!(v["type"], "valid");
    assert_eq!(v["sub"], "user-1");
    assert_eq!(v["clientId"], "bff");
    assert_eq!(v["actor"], json!({ "sub": "agent-2", "clientId": "bff" }));
    assert_eq!(
        v["chain"][1],
        json!({ "sub": "agent-1", "clientId": "bff" })
    );
    assert_eq!(v["claims"]["act"]["act"]["sub"], "agent-1");
    let v = serde_json::to_value(verify(&call("opaque"))).unwrap();
    assert_eq!(
        (&v["type"], &v["error"], &v["reason"]),
        (
            &json!("invalid"),
            &json!("invalid_token"),
            &json!("opaque_token")
        )
    );
    assert!(v["description"]
        .as_str()
        .unwrap()
        .starts_with("access_token: "));
}
