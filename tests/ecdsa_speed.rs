//! Rough verification timing for ES256, ES384 and ES512, for comparing
//! implementations by hand: `cargo test --release --test ecdsa_speed -- --ignored --nocapture`.
//! Ignored by default and asserts nothing about time.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Instant;

use better_auth_token_exchange::jose::{Algorithm, KeySet, RustCryptoVerifier, SignatureVerifier};
use serde_json::Value;

/// The first valid vector of a Wycheproof P1363 file: its key, message and signature.
fn first_valid(file: &str) -> (KeySet, Vec<u8>, Vec<u8>) {
    let path = format!(
        "{}/tests/vectors/wycheproof/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let group = &doc["testGroups"][0];
    let (keys, _) = KeySet::from_value(&group["publicKeyJwk"]).unwrap();
    let test = group["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["result"] == "valid")
        .unwrap();
    let msg = hex::decode(test["msg"].as_str().unwrap()).unwrap();
    let sig = hex::decode(test["sig"].as_str().unwrap()).unwrap();
    (keys, msg, sig)
}

fn time(file: &str, alg: Algorithm, rounds: u32) {
    let (keys, msg, sig) = first_valid(file);
    let key = keys.iter().next().unwrap();
    RustCryptoVerifier.verify(alg, key, &msg, &sig).unwrap();
    let start = Instant::now();
    for _ in 0..rounds {
        assert!(RustCryptoVerifier.verify(alg, key, &msg, &sig).is_ok());
    }
    let per = start.elapsed() / rounds;
    println!("{alg}: {per:?} per verification ({rounds} rounds)");
}

#[test]
#[ignore = "timing report only; run by hand with --release"]
fn ecdsa_verification_speed() {
    time(
        "ecdsa_secp256r1_sha256_p1363_test.json",
        Algorithm::Es256,
        500,
    );
    time(
        "ecdsa_secp384r1_sha384_p1363_test.json",
        Algorithm::Es384,
        300,
    );
    time(
        "ecdsa_secp521r1_sha512_p1363_test.json",
        Algorithm::Es512,
        200,
    );
}
