//! Shared fixtures for the decision tests: an engine with known keys, token
//! minting, and call builders.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use better_auth_token_exchange::{DecideCall, Decision, Engine, EngineSettings};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{json, Value};

pub const ISSUER: &str = "https://as.example";
pub const EXTERNAL: &str = "https://idp.example";
/// A second trusted issuer, for rules between two issuers (TX-46).
pub const EXTERNAL2: &str = "https://idp2.example";
pub const NOW: i64 = 1_800_000_000;
pub const AT: &str = "urn:ietf:params:oauth:token-type:access_token";
pub const IDT: &str = "urn:ietf:params:oauth:token-type:id_token";
pub const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
pub const RT: &str = "urn:ietf:params:oauth:token-type:refresh_token";
pub const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const API_A: &str = "https://api-a.example";
pub const API_B: &str = "https://api-b.example";

pub fn own_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

pub fn external_key() -> SigningKey {
    SigningKey::from_bytes(&[9u8; 32])
}

pub fn external2_key() -> SigningKey {
    SigningKey::from_bytes(&[11u8; 32])
}

/// A JWT of a trusted issuer (`EXTERNAL` or `EXTERNAL2`) for `sub`, meant
/// for this server, with `extra` claims merged in.
pub fn trusted_token(issuer: &str, sub: &str, extra: Value) -> String {
    let (key, kid) = if issuer == EXTERNAL2 {
        (external2_key(), "ext2-1")
    } else {
        (external_key(), "ext-1")
    };
    let mut claims =
        json!({"iss": issuer, "sub": sub, "aud": ISSUER, "exp": NOW + 600, "iat": NOW});
    merge(&mut claims, extra);
    sign(&key, &json!({"alg": "EdDSA", "kid": kid}), &claims)
}

pub fn jwk(key: &SigningKey, kid: &str) -> Value {
    json!({
        "kty": "OKP", "crv": "Ed25519", "kid": kid, "alg": "EdDSA", "use": "sig",
        "x": URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
    })
}

pub fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// Signs `claims` with `key` under `header` (EdDSA).
pub fn sign(key: &SigningKey, header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let sig = key.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
}

/// An access token of this server, issued to `client` for `sub`.
pub fn access_token(sub: &str, client: &str, scope: &str, extra: Value) -> String {
    let mut claims = json!({
        "iss": ISSUER, "sub": sub, "aud": API_A, "client_id": client, "scope": scope,
        "iat": NOW - 60, "exp": NOW + 600, "jti": "j1",
    });
    merge(&mut claims, extra);
    sign(
        &own_key(),
        &json!({"alg": "EdDSA", "kid": "own-1", "typ": "at+jwt"}),
        &claims,
    )
}

pub fn merge(target: &mut Value, extra: Value) {
    if let (Value::Object(t), Value::Object(e)) = (target, extra) {
        for (k, v) in e {
            if v.is_null() {
                t.remove(&k);
            } else {
                t.insert(k, v);
            }
        }
    }
}

pub fn settings() -> EngineSettings {
    serde_json::from_value(json!({
        "issuer": ISSUER,
        "trustedIssuers": [
            { "issuer": EXTERNAL, "audiences": [ISSUER] },
            { "issuer": EXTERNAL2, "audiences": [ISSUER] },
        ],
    }))
    .unwrap()
}

pub fn engine() -> Engine {
    let mut engine = Engine::new(settings()).unwrap();
    let own = json!({ "keys": [jwk(&own_key(), "own-1")] }).to_string();
    let ext = json!({ "keys": [jwk(&external_key(), "ext-1")] }).to_string();
    let ext2 = json!({ "keys": [jwk(&external2_key(), "ext2-1")] }).to_string();
    assert!(matches!(
        engine.set_issuer_keys(ISSUER, own.as_bytes()),
        better_auth_token_exchange::engine::KeysAnswer::Ok { keys: 1, .. }
    ));
    assert!(matches!(
        engine.set_issuer_keys(EXTERNAL, ext.as_bytes()),
        better_auth_token_exchange::engine::KeysAnswer::Ok { keys: 1, .. }
    ));
    assert!(matches!(
        engine.set_issuer_keys(EXTERNAL2, ext2.as_bytes()),
        better_auth_token_exchange::engine::KeysAnswer::Ok { keys: 1, .. }
    ));
    engine
}

/// An opted-in confidential client `bff` with `read write` and both APIs linked.
pub fn client(policy: Value) -> Value {
    json!({
        "status": "authenticated", "clientId": "bff", "authMethod": "client_secret_basic",
        "disabled": false, "grantTypes": [GRANT], "scopes": ["read", "write", "admin", "offline_access"],
        "linkedResources": [API_A, API_B], "allowedTokenExchange": true, "policy": policy,
    })
}

pub fn form(subject: &str, kind: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut f = vec![
        ("grant_type".to_owned(), GRANT.to_owned()),
        ("subject_token".to_owned(), subject.to_owned()),
        ("subject_token_type".to_owned(), kind.to_owned()),
    ];
    f.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    f
}

/// A call built through serde, as the wasm boundary builds it.
pub fn call(form: Vec<(String, String)>, client: Value, more: Value) -> DecideCall {
    let mut c = json!({ "form": form, "now": NOW, "client": client });
    merge(&mut c, more);
    serde_json::from_value(c).unwrap()
}

pub fn decide(form: Vec<(String, String)>, client: Value, more: Value) -> Decision {
    engine().decide(&call(form, client, more))
}

/// The (error, reason) of a failure; panics on success.
pub fn refused(d: &Decision) -> (&'static str, &'static str) {
    match d {
        Decision::Failure(f) => (f.error.as_str(), f.reason.as_str()),
        Decision::Success(g) => panic!("expected a refusal, got a grant for {}", g.subject),
    }
}

pub fn granted(d: &Decision) -> &better_auth_token_exchange::answer::Grant {
    match d {
        Decision::Success(g) => g,
        Decision::Failure(f) => panic!(
            "expected a grant, got {} {}: {}",
            f.error.as_str(),
            f.reason,
            f.description
        ),
    }
}

// ------------------------------------------------------------ cross-app access

/// `requested_token_type` of an ID-JAG (draft-ietf-oauth-identity-assertion-authz-grant §4.3).
pub const ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";
/// RFC 7523 §2.1 grant type.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// A resource authorization server (another server's issuer).
pub const RAS: &str = "https://ras.example";
/// A resource (MCP server) behind `RAS`.
pub const MCP: &str = "https://mcp.example/mcp";

/// An ID token of this server for `user-1`, issued to `bff`, with the
/// claims an ID-JAG carries on and a few it does not; `extra` merged in.
pub fn id_token(extra: Value) -> String {
    let mut claims = json!({
        "iss": ISSUER, "sub": "user-1", "aud": "bff", "exp": NOW + 600, "iat": NOW - 10,
        "auth_time": NOW - 100, "acr": "urn:mace:incommon:iap:silver", "amr": ["pwd", "otp"],
        "email": "user@example.com", "email_verified": true, "tenant": "acme",
        "name": "User One", "nonce": "n-1",
    });
    merge(&mut claims, extra);
    sign(
        &own_key(),
        &json!({"alg": "EdDSA", "kid": "own-1", "typ": "JWT"}),
        &claims,
    )
}

/// A client policy that may request ID-JAGs for `RAS` (as `bff-at-ras`,
/// scopes `chat.read chat.history`, resource `MCP`), with `extra` merged in.
pub fn id_jag_policy(extra: Value) -> Value {
    let mut policy = json!({
        "requestedTokenTypes": ["access_token", "id_jag"],
        "idJag": { RAS: {
            "clientId": "bff-at-ras",
            "scopes": ["chat.read", "chat.history"],
            "resources": [MCP],
        }},
    });
    merge(&mut policy, extra);
    policy
}
