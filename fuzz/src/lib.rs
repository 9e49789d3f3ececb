//! Shared fixtures of the fuzz targets: a fixed issuer with known keys, token
//! signing, and a lenient split of raw bytes into form pairs.
//!
//! Everything here is deterministic, so a crash input reproduces exactly.
#![forbid(unsafe_code)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use better_auth_token_exchange::engine::KeysAnswer;
use better_auth_token_exchange::{Engine, EngineSettings};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{json, Value};

/// This server's issuer in every target.
pub const ISSUER: &str = "https://as.example";
/// A trusted external issuer.
pub const EXTERNAL: &str = "https://idp.example";
/// The fixed clock.
pub const NOW: i64 = 1_800_000_000;
/// RFC 8693 grant type.
pub const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// RFC 7523 grant type (an ID-JAG presented to this server).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// `requested_token_type` of an ID-JAG.
pub const ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";
/// Largest lifetime of an issued ID-JAG (the engine's default).
pub const ID_JAG_LIFETIME: i64 = 300;
/// Scopes of the exchanging client.
pub const CLIENT_SCOPES: [&str; 4] = ["read", "write", "admin", "offline_access"];
/// Targets linked to the exchanging client.
pub const LINKED: [&str; 3] = ["https://api-a.example", "https://api-b.example", "billing"];
/// Largest lifetime the engine grants (its default).
pub const MAX_LIFETIME: i64 = 3600;

/// This server's signing key.
pub fn own_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

/// The external issuer's signing key.
pub fn external_key() -> SigningKey {
    SigningKey::from_bytes(&[9u8; 32])
}

/// The public JWK of an Ed25519 key.
pub fn jwk(key: &SigningKey, kid: &str) -> Value {
    json!({
        "kty": "OKP", "crv": "Ed25519", "kid": kid, "alg": "EdDSA", "use": "sig",
        "x": URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
    })
}

/// Public halves of the RFC 7520 cookbook keys (RSA and P-521), so the
/// verifier's RSA and ECDSA paths are reachable from the `jws` target.
pub fn cookbook_public_keys() -> Vec<Value> {
    let texts = [
        include_str!("../../tests/vectors/jose-cookbook/4_1.rsa_v15_signature.json"),
        include_str!("../../tests/vectors/jose-cookbook/4_3.ecdsa_signature.json"),
    ];
    let mut keys = Vec::new();
    for text in texts {
        if let Ok(Value::Object(doc)) = serde_json::from_str::<Value>(text) {
            if let Some(Value::Object(key)) = doc.get("input").and_then(|i| i.get("key")) {
                let mut key = key.clone();
                for private in ["d", "p", "q", "dp", "dq", "qi"] {
                    key.remove(private);
                }
                keys.push(Value::Object(key));
            }
        }
    }
    keys
}

/// Signs `payload` bytes under `header` bytes with `key` (EdDSA), without
/// looking at either: the fuzzer chooses both.
pub fn sign_raw(key: &SigningKey, header: &[u8], payload: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

/// The engine every target uses: this server's and the external issuer's
/// Ed25519 keys, and the cookbook keys under this server's issuer. The
/// external issuer's tokens of the default types are accepted, and its
/// ID-JAGs too (with just-in-time provisioning).
pub fn engine() -> Engine {
    let settings: EngineSettings = match serde_json::from_value(json!({
        "issuer": ISSUER,
        "trustedIssuers": [{
            "issuer": EXTERNAL, "audiences": [ISSUER],
            "tokenTypes": ["access_token", "id_token", "jwt", "id_jag"],
            "jitProvisioning": true,
        }],
    })) {
        Ok(s) => s,
        Err(e) => panic!("fixture settings: {e}"),
    };
    let mut engine = match Engine::new(settings) {
        Ok(e) => e,
        Err(e) => panic!("fixture engine: {e}"),
    };
    let mut own = vec![jwk(&own_key(), "own-1")];
    own.extend(cookbook_public_keys());
    let own = json!({ "keys": own }).to_string();
    let ext = json!({ "keys": [jwk(&external_key(), "ext-1")] }).to_string();
    for (issuer, set) in [(ISSUER, own), (EXTERNAL, ext)] {
        if !matches!(
            engine.set_issuer_keys(issuer, set.as_bytes()),
            KeysAnswer::Ok { .. }
        ) {
            panic!("fixture keys for {issuer} refused");
        }
    }
    engine
}

/// Splits bytes like an `application/x-www-form-urlencoded` body, without
/// percent-decoding: `&` between pairs, the first `=` between name and value.
/// Invalid UTF-8 is replaced, as a form decoder would.
pub fn form_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes
        .split(|b| *b == b'&')
        .map(|pair| {
            let text = String::from_utf8_lossy(pair);
            match text.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (text.into_owned(), String::new()),
            }
        })
        .collect()
}
