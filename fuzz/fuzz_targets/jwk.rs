//! JWK and JWK Set parsing from untrusted bytes, and the strict JSON parser
//! under it: no panic, bounded work (at most 100 keys kept), and a key set
//! that parsed can select keys for any header without panicking.
#![no_main]

use better_auth_token_exchange::jose::{Algorithm, Header, KeySet, Limits, JWKS_MAX_KEYS};
use better_auth_token_exchange::json;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_token_bytes: 1 << 20,
        max_json_depth: 16,
    };
    let _ = json::parse_value(data, limits.max_json_depth);
    let Ok((set, skipped)) = KeySet::from_json(data, &limits) else {
        return;
    };
    assert!(set.len() + skipped.len() <= JWKS_MAX_KEYS.max(1));
    let kids: Vec<Option<String>> = set
        .iter()
        .map(|k| k.kid().map(str::to_owned))
        .chain([None, Some("no-such-kid".to_owned())])
        .collect();
    for kid in kids {
        for alg in Algorithm::ALL {
            let header = Header {
                alg,
                kid: kid.clone(),
                typ: None,
                cty: None,
            };
            if let Ok(candidates) = set.candidates(&header) {
                // TX-22: every candidate key accepts the header's algorithm.
                assert!(candidates.iter().all(|k| k.accepts(alg)));
            }
        }
    }
});
