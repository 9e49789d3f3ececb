//! The whole decision (`Engine::decide`) on fuzzer-chosen subject and actor
//! claims (really signed, so validation goes past the signature), client
//! policy and extra form parameters. No panic, and every answer keeps the
//! invariants the issue names: a grant's scope within the client's, its
//! expiry within the lifetime cap, its `sub` the subject's, its `act` the
//! subject's chain (impersonation) or the actor over that chain unchanged
//! (delegation); a refusal never echoes the presented token.
//!
//! The subject token then goes to a resource server
//! (`Engine::verify_access_token`): no panic, a valid answer only for this
//! server's tokens meant for the resource server, with the token's `sub` and
//! `act`, within the chain bound; a refusal never echoes the token.
//!
//! An ID-JAG or a JWT may be requested (the extra form pairs name
//! `requested_token_type`, and may replace the default `subject_token_type`):
//! an ID-JAG's grant names one audience, carries no `act` and no refresh
//! token, and lives at most `idJagLifetimeSeconds`.
//!
//! The same subject claims, signed as an ID-JAG, then go to
//! `Engine::decide_assertion` with the extra form pairs (see
//! `decide_assertion.rs`).
//!
//! Every description, of a failure or of an invalid token, holds only the
//! characters RFC 6749 §5.2 allows (TX-71).
//!
//! Input layout: one flags byte, then up to five 0x00-separated segments:
//! subject payload, actor payload, client policy JSON, extra form pairs,
//! subject header.
#![no_main]

mod decide_assertion;

use better_auth_token_exchange::answer::Verdict;
use better_auth_token_exchange::error::is_description_safe;
use better_auth_token_exchange::verify::{Verification, VerifyCall};
use better_auth_token_exchange::{DecideCall, Decision, Engine};
use better_auth_token_exchange_fuzz::{
    engine, external_key, form_pairs, own_key, sign_raw, CLIENT_SCOPES, GRANT, ID_JAG,
    ID_JAG_LIFETIME, ISSUER, LINKED, MAX_LIFETIME, NOW,
};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

const AT: &str = "urn:ietf:params:oauth:token-type:access_token";
const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
const OWN_HEADER: &[u8] = br#"{"alg":"EdDSA","kid":"own-1","typ":"at+jwt"}"#;
const EXT_HEADER: &[u8] = br#"{"alg":"EdDSA","kid":"ext-1","typ":"JWT"}"#;

thread_local! {
    static ENGINE: Engine = engine();
}

fn client(variant: u8, policy: Value) -> Value {
    let mut c = json!({
        "status": "authenticated", "clientId": "bff", "authMethod": "client_secret_basic",
        "disabled": false, "grantTypes": [GRANT], "scopes": CLIENT_SCOPES,
        "linkedResources": LINKED, "allowedTokenExchange": true, "policy": policy,
    });
    match variant {
        1 => c["authMethod"] = json!("none"),
        2 => {
            c = json!({ "status": "unauthenticated", "clientId": "bff", "basic": true, "reason": "bad_credentials" })
        }
        3 => c["allowedTokenExchange"] = json!(false),
        _ => {}
    }
    c
}

fn claims(payload: &[u8]) -> Option<serde_json::Map<String, Value>> {
    match serde_json::from_slice::<Value>(payload) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut segments = rest.splitn(5, |b| *b == 0);
    let subject_payload = segments.next().unwrap_or_default();
    let actor_payload = segments.next().unwrap_or_default();
    let policy_bytes = segments.next().unwrap_or_default();
    let extra = segments.next().unwrap_or_default();
    let header = segments.next().unwrap_or_default();

    let external_subject = flags & 0b100 != 0;
    let subject_header = if !header.is_empty() {
        header
    } else if external_subject {
        EXT_HEADER
    } else {
        OWN_HEADER
    };
    let subject_key = if external_subject {
        external_key()
    } else {
        own_key()
    };
    let subject_token = sign_raw(&subject_key, subject_header, subject_payload);
    let subject_type = if flags & 0b10 != 0 { JWT } else { AT };
    let extra_pairs = form_pairs(extra);

    let mut form = vec![
        ("grant_type".to_owned(), GRANT.to_owned()),
        ("subject_token".to_owned(), subject_token.clone()),
    ];
    // The extra pairs may name the subject token's type themselves (an ID
    // token, for an ID-JAG).
    if !extra_pairs.iter().any(|(k, _)| k == "subject_token_type") {
        form.push(("subject_token_type".to_owned(), subject_type.to_owned()));
    }
    let actor_token = if flags & 0b1 != 0 {
        let external_actor = flags & 0b1000 != 0;
        let (key, header) = if external_actor {
            (external_key(), EXT_HEADER)
        } else {
            (own_key(), OWN_HEADER)
        };
        let token = sign_raw(&key, header, actor_payload);
        form.push(("actor_token".to_owned(), token.clone()));
        form.push(("actor_token_type".to_owned(), AT.to_owned()));
        Some(token)
    } else {
        None
    };
    form.extend(extra_pairs.iter().cloned());

    let policy = serde_json::from_slice::<Value>(policy_bytes).unwrap_or(Value::Null);
    decide_assertion::run(
        &ENGINE,
        flags,
        subject_payload,
        &header_or_default(header, external_subject),
        &extra_pairs,
        &policy,
    );
    let call = json!({
        "form": form,
        "now": NOW,
        "client": client((flags >> 4) & 0b11, policy),
        "subjectUser": { "issuer": "https://idp.example", "sub": "ext-user", "userId": "local-user" },
    });
    let call: DecideCall = match serde_json::from_value(call) {
        Ok(c) => c,
        // A policy that is not even the right JSON shape for the call.
        Err(_) => return,
    };
    verify_at_resource_server(flags, &subject_token, subject_payload);
    let decision = ENGINE.with(|engine| engine.decide(&call));
    if std::env::var_os("FUZZ_DEBUG").is_some() {
        match &decision {
            Decision::Success(g) => eprintln!(
                "granted {} {} {:?}",
                g.issued_token_type, g.subject, g.scopes
            ),
            Decision::Failure(f) => eprintln!("refused {} {}", f.reason, f.description),
        }
    }

    match &decision {
        Decision::Success(grant) if grant.issued_token_type == ID_JAG => {
            // Draft §4.3: one audience (the other server), its resources and
            // scope; no actor, no refresh token, a short lifetime.
            assert_eq!(grant.audit.decision, Verdict::Granted);
            let id_jag = grant
                .id_jag
                .as_ref()
                .expect("an ID-JAG grant names its claims");
            assert_eq!(grant.audiences, vec![id_jag.audience.clone()]);
            assert_eq!(grant.resources, id_jag.resources);
            assert_eq!(
                (grant.token_type, grant.refresh_token, grant.act.as_ref()),
                ("N_A", false, None)
            );
            assert!(grant.expires_at > NOW && grant.expires_at <= NOW + ID_JAG_LIFETIME);
            let subject = claims(subject_payload).expect("a granted subject has JSON claims");
            assert_eq!(
                subject.get("sub").and_then(Value::as_str),
                Some(grant.subject.as_str())
            );
            for (name, value) in &id_jag.claims {
                assert_eq!(subject.get(name), Some(value));
            }
        }
        Decision::Success(grant) => {
            assert_eq!(grant.audit.decision, Verdict::Granted);
            assert!(grant.id_jag.is_none());
            if grant.issued_token_type != AT {
                // A JWT: N_A, and never a refresh token.
                assert_eq!((grant.token_type, grant.refresh_token), ("N_A", false));
            }
            // TX-30: never wider than the client's registered scopes.
            assert!(grant
                .scopes
                .iter()
                .all(|s| CLIENT_SCOPES.contains(&s.as_str())));
            // TX-51: within the lifetime cap and still in the future.
            assert!(grant.expires_at > NOW && grant.expires_at <= NOW + MAX_LIFETIME);
            // TX-6: only linked targets.
            assert!(grant
                .audiences
                .iter()
                .chain(&grant.resources)
                .all(|t| LINKED.contains(&t.as_str())));
            let subject = claims(subject_payload).expect("a granted subject has JSON claims");
            // TX-40/41: sub is the subject's.
            assert_eq!(
                subject.get("sub").and_then(Value::as_str),
                Some(grant.subject.as_str())
            );
            // TX-51: never outlives the subject token.
            if let Some(exp) = subject.get("exp").and_then(Value::as_i64) {
                assert!(grant.expires_at <= exp);
            }
            match &actor_token {
                // TX-40: impersonation keeps the subject's act as it was.
                None => assert_eq!(grant.act.as_ref(), subject.get("act")),
                // TX-41: the actor outermost, the previous chain nested unchanged.
                Some(_) => {
                    let actor = claims(actor_payload).expect("a granted actor has JSON claims");
                    let act = grant
                        .act
                        .as_ref()
                        .and_then(Value::as_object)
                        .expect("delegation has act");
                    assert_eq!(act.get("sub"), actor.get("sub"));
                    assert_eq!(act.get("act"), subject.get("act"));
                }
            }
        }
        Decision::Failure(failure) => {
            assert_eq!(failure.audit.decision, Verdict::Refused);
            assert!(matches!(failure.status, 400 | 401 | 500));
            assert_eq!(failure.audit.reason, Some(failure.reason));
            assert_eq!(failure.error, failure.reason.error());
            // TX-71: RFC 6749 §5.2 characters only, whatever the input held.
            assert!(
                is_description_safe(&failure.description),
                "description outside RFC 6749 section 5.2: {:?}",
                failure.description
            );
            // TX-20, TX-70: no token contents in the description.
            for token in std::iter::once(&subject_token).chain(actor_token.as_ref()) {
                for part in token.split('.').filter(|p| p.len() >= 16) {
                    assert!(
                        !failure.description.contains(part),
                        "a token part leaked into a description"
                    );
                }
            }
        }
    }
});

/// The header of the assertion: the fuzzer's, else an ID-JAG's of the
/// subject's key.
fn header_or_default(header: &[u8], external: bool) -> Vec<u8> {
    if !header.is_empty() {
        return header.to_vec();
    }
    let kid = if external { "ext-1" } else { "own-1" };
    format!(r#"{{"alg":"EdDSA","kid":"{kid}","typ":"oauth-id-jag+jwt"}}"#).into_bytes()
}

/// The subject token presented to a resource server of `LINKED[0]`; flag bit
/// 6 requires an actor, bit 7 bounds the chain to one level.
fn verify_at_resource_server(flags: u8, token: &str, payload: &[u8]) {
    let max_chain_depth = (flags & 0b1000_0000 != 0).then_some(1u32);
    let call = VerifyCall {
        token: token.to_owned(),
        now: NOW,
        audiences: vec![LINKED[0].to_owned()],
        require_actor: flags & 0b100_0000 != 0,
        allowed_actors: None,
        max_chain_depth,
    };
    match ENGINE.with(|engine| engine.verify_access_token(&call)) {
        Verification::Valid(t) => {
            let claims = claims(payload).expect("a valid token has JSON claims");
            // Only this server's tokens, never a trusted issuer's.
            assert_eq!(t.iss, ISSUER);
            assert_eq!(
                claims.get("sub").and_then(Value::as_str),
                Some(t.sub.as_str())
            );
            assert!(t.aud.iter().any(|a| a == LINKED[0]));
            assert_eq!(t.claims.get("act"), claims.get("act"));
            assert_eq!(t.actor.as_ref(), t.chain.first());
            if call.require_actor {
                assert!(!t.chain.is_empty());
            }
            if let Some(max) = max_chain_depth {
                assert!(t.chain.len() <= max as usize);
            }
        }
        Verification::Invalid {
            error, description, ..
        } => {
            assert_eq!(error.as_str(), "invalid_token");
            assert!(is_description_safe(&description), "{description:?}");
            for part in token.split('.').filter(|p| p.len() >= 16) {
                assert!(
                    !description.contains(part),
                    "a token part leaked into a description"
                );
            }
        }
    }
}
