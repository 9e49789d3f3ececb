//! JWS compact parsing, header policy, claims parsing and verification
//! against a fixed key set (Ed25519, RSA, P-521): no panic on any input, and
//! nothing verifies that was not signed by one of those keys. Input that is
//! not a signed token still exercises every structural check; the first
//! byte, when it is 0x01, makes the rest the payload of a token really
//! signed with the Ed25519 key (header bytes, 0x00, payload bytes), so the
//! claims parser is reached past the signature too.
#![no_main]

use better_auth_token_exchange::jose::{self, CompactJws, KeySet, Limits, RustCryptoVerifier};
use better_auth_token_exchange::json;
use better_auth_token_exchange_fuzz::{cookbook_public_keys, jwk, own_key, sign_raw};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

thread_local! {
    static KEYS: KeySet = {
        let mut keys = vec![jwk(&own_key(), "own-1")];
        keys.extend(cookbook_public_keys());
        let doc = json!({ "keys": keys }).to_string();
        match KeySet::from_json(doc.as_bytes(), &Limits { max_token_bytes: 1 << 20, max_json_depth: 16 }) {
            Ok((set, _)) => set,
            Err(e) => panic!("fixture key set: {e}"),
        }
    };
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let signed;
    let token: &str = match data.split_first() {
        Some((1, rest)) => {
            // header bytes, 0x00, payload bytes
            let (header, payload) = match rest.iter().position(|b| *b == 0) {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (
                    &br#"{"alg":"EdDSA","kid":"own-1","typ":"at+jwt"}"#[..],
                    rest,
                ),
            };
            signed = sign_raw(&own_key(), header, payload);
            &signed
        }
        _ => match std::str::from_utf8(data) {
            Ok(s) => s,
            Err(_) => return,
        },
    };
    let Ok(jws) = CompactJws::parse(token, &limits) else {
        return;
    };
    // Header policy held: no crit, and an asymmetric algorithm.
    assert!(!jws.header_map().contains_key("crit"));
    let _ = jws.claims(&limits);
    let _ = json::parse_value(jws.payload(), limits.max_json_depth);
    KEYS.with(|keys| {
        // TX-22: a key that verified fits the header's algorithm.
        if let Ok(key) = jose::verify_with_key(&jws, keys, &RustCryptoVerifier) {
            assert!(key.accepts(jws.header().alg));
        }
    });
});
