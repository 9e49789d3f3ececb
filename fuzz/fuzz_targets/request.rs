//! The request parser (RFC 8693 §2.1) and `inspect` on arbitrary forms: no
//! panic, a parsed request always respects the bounds (TX-8, TX-25), and a
//! refusal's description holds only RFC 6749 §5.2 characters (TX-71), as
//! built, before the final guard every failure goes through.
#![no_main]

use better_auth_token_exchange::error::is_description_safe;
use better_auth_token_exchange::request::{ExchangeRequest, MAX_SCOPES, MAX_TARGETS};
use better_auth_token_exchange_fuzz::{engine, form_pairs};
use libfuzzer_sys::fuzz_target;

thread_local! {
    static ENGINE: better_auth_token_exchange::Engine = engine();
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the token size limit, so small limits are hit too.
    let (limit, rest) = match data.split_first() {
        Some((b, rest)) => (256 + usize::from(*b) * 64, rest),
        None => (16384, data),
    };
    let form = form_pairs(rest);
    let parsed = ExchangeRequest::parse(&form, limit);
    if let Err(refusal) = &parsed {
        assert!(
            is_description_safe(&refusal.description),
            "description outside RFC 6749 section 5.2: {:?}",
            refusal.description
        );
        assert_eq!(refusal.error, refusal.reason.error());
    }
    if let Ok(request) = parsed {
        assert!(!request.subject_token.is_empty());
        assert!(request.subject_token.len() <= limit);
        if let Some((actor, _)) = &request.actor {
            assert!(!actor.is_empty() && actor.len() <= limit);
        }
        assert!(request.audiences.len() + request.resources.len() <= MAX_TARGETS);
        if let Some(scope) = &request.scope {
            assert!(scope.len() <= MAX_SCOPES);
            assert!(scope.iter().all(|s| !s.is_empty() && !s.contains(' ')));
        }
        // TX-8: a request that parsed had each single-valued parameter once.
        for name in ["grant_type", "subject_token", "subject_token_type", "scope"] {
            assert!(form.iter().filter(|(k, _)| k == name).count() <= 1);
        }
    }
    ENGINE.with(|engine| {
        let _ = engine.inspect(&form);
    });
});
