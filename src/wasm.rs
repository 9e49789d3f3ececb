//! WebAssembly bindings. Calls and answers cross the boundary as JSON text
//! (the shapes of the package's `engine-types.ts`, camelCase, unknown fields
//! refused): one string each way is much faster than reading and writing a
//! JS object member by member, and needs no per-type glue in the module.
//! The package's typed wrapper (`engine-core.ts`) does the `JSON.stringify`
//! and `JSON.parse`. Errors are data; only construction with bad settings
//! throws, with a JS `Error`.

use crate::answer::{AssertionDecision, AuditRecord, Decision, Failure};
use crate::config::{AssertionCall, DecideCall, EngineSettings};
use crate::engine::{Engine, Inspection};
use crate::error::clean;
use crate::jose::{
    Algorithm, HostPrimitive, HostVerifier, KeySet, RustCryptoVerifier, SignatureVerifier,
};
use crate::reason::{Reason, Refusal};
use crate::verify::{Verification, VerifyCall};
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/**
 * A host's synchronous signature check (for example over `node:crypto`).
 * `verify` answers whether `signature` is a valid `alg` signature of
 * `message` under the public key `keyJwk` (JSON text of a JWK with only
 * `kty`, `crv`, `x`, `y`, `n`, `e`). It must not keep `message` or
 * `signature`: they are views into the engine's memory. Throwing means
 * "cannot answer": the engine's own verification answers instead.
 */
export interface HostCrypto {
  verify(alg: string, keyJwk: string, message: Uint8Array, signature: Uint8Array): boolean;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// The host's signature primitive (`HostCrypto` above).
    #[wasm_bindgen(typescript_type = "HostCrypto")]
    pub type HostCrypto;

    #[wasm_bindgen(method, catch, structural, js_name = verify)]
    fn host_verify(
        this: &HostCrypto,
        alg: &str,
        key_jwk: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<JsValue, JsValue>;
}

impl HostPrimitive for HostCrypto {
    fn verify(&self, alg: &str, key_jwk: &str, message: &[u8], signature: &[u8]) -> Option<bool> {
        // Only a boolean is an answer; a throw or anything else is not.
        self.host_verify(alg, key_jwk, message, signature)
            .ok()
            .and_then(|answer| answer.as_bool())
    }
}

fn verifier_for(host: Option<HostCrypto>) -> Box<dyn SignatureVerifier> {
    match host {
        Some(host) => Box::new(HostVerifier::new(host)),
        None => Box::new(RustCryptoVerifier),
    }
}

/// JSON text of an answer. Serialising our own answer types cannot fail; an
/// empty string (which the caller cannot parse) stands in rather than panic.
fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Reads JSON text; `deny_unknown_fields` makes a misspelt setting or policy
/// key an error rather than something silently ignored.
fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

fn bad_input(call: &str, error: &str) -> Box<Failure> {
    // A malformed call is the caller's bug; it is still answered as data.
    // serde's message may quote the call's own text: cleaned and bounded.
    let refusal = Refusal::new(
        Reason::InvalidEngineCall,
        format!("invalid {call} call: {}", clean(error, 300)),
    );
    Box::new(Failure::from_refusal(
        refusal,
        AuditRecord::new(0, None),
        false,
    ))
}

fn settings_error(error: &str) -> JsError {
    JsError::new(&format!("invalid token-exchange engine settings: {error}"))
}

/// The exchange engine, held by the caller for the life of the server.
#[wasm_bindgen(js_name = Engine)]
pub struct WasmEngine {
    inner: Engine,
}

#[wasm_bindgen(js_class = Engine)]
impl WasmEngine {
    /// Creates an engine from the JSON text of its `EngineSettings`; throws
    /// an `Error` naming a bad setting. With `host`, signatures are checked
    /// by the host's primitive (every other decision stays in the engine);
    /// without, by the built-in Rust code.
    #[wasm_bindgen(constructor)]
    pub fn new(settings: &str, host: Option<HostCrypto>) -> Result<WasmEngine, JsError> {
        let settings: EngineSettings = from_json(settings).map_err(|e| settings_error(&e))?;
        Engine::with_verifier(settings, verifier_for(host))
            .map(|inner| WasmEngine { inner })
            .map_err(|e| settings_error(&e))
    }

    /// Replaces the key set of an issuer from JWKS (or JWK) JSON text;
    /// answers the JSON text of a `KeysAnswer`.
    #[wasm_bindgen(js_name = setIssuerKeys)]
    pub fn set_issuer_keys(&mut self, issuer: &str, jwks: &str) -> String {
        to_json(&self.inner.set_issuer_keys(issuer, jwks.as_bytes()))
    }

    /// Whether a key for the issuer (and `kid`) is known.
    #[wasm_bindgen(js_name = hasKey)]
    pub fn has_key(&self, issuer: &str, kid: Option<String>) -> bool {
        self.inner.has_key(issuer, kid.as_deref())
    }

    /// Unverified hints about the presented tokens: `FormPairs` JSON text
    /// in, `Inspection` JSON text out.
    pub fn inspect(&self, form: &str) -> String {
        match from_json::<Vec<(String, String)>>(form) {
            Ok(form) => to_json(&self.inner.inspect(&form)),
            Err(_) => to_json(&Inspection::default()),
        }
    }

    /// Decides one exchange: `DecideCall` JSON text in, `Decision` JSON text
    /// out.
    pub fn decide(&self, call: &str) -> String {
        let decision = match from_json::<DecideCall>(call) {
            Ok(call) => self.inner.decide(&call),
            Err(e) => Decision::Failure(bad_input("decide", &e)),
        };
        to_json(&decision)
    }

    /// Decides one jwt-bearer request presenting an ID-JAG: `AssertionCall`
    /// JSON text in, `AssertionDecision` JSON text out.
    #[wasm_bindgen(js_name = decideAssertion)]
    pub fn decide_assertion(&self, call: &str) -> String {
        let decision = match from_json::<AssertionCall>(call) {
            Ok(call) => self.inner.decide_assertion(&call),
            Err(e) => AssertionDecision::Failure(bad_input("decideAssertion", &e)),
        };
        to_json(&decision)
    }

    /// Verifies an access token for a resource server: `VerifyCall` JSON
    /// text in, `Verification` JSON text out.
    #[wasm_bindgen(js_name = verifyAccessToken)]
    pub fn verify_access_token(&self, call: &str) -> String {
        let answer = match from_json(call).and_then(|value| VerifyCall::from_value(&value)) {
            Ok(call) => self.inner.verify_access_token(&call),
            Err(e) => Verification::invalid(
                Reason::InvalidEngineCall,
                format!("invalid verify call: {}", clean(&e, 300)),
            ),
        };
        to_json(&answer)
    }
}

/// Verifies one raw signature through the engine's key parsing and key
/// selection and then the chosen signature path (`host`, else the built-in
/// one): a conformance hook for test vectors, not part of the package API.
/// `jwk` is JSON text. Answers `true` or `false`, or throws when the key is
/// refused or does not accept `alg`.
#[wasm_bindgen(js_name = verifySignature)]
pub fn verify_signature(
    alg: &str,
    jwk: &str,
    message: &[u8],
    signature: &[u8],
    host: Option<HostCrypto>,
) -> Result<bool, JsError> {
    let alg = Algorithm::from_name(alg).ok_or_else(|| JsError::new("unsupported algorithm"))?;
    let jwk: serde_json::Value = from_json(jwk).map_err(|e| JsError::new(&e))?;
    let (keys, skipped) = KeySet::from_value(&jwk).map_err(|e| JsError::new(&e.description()))?;
    let key = match (keys.iter().next(), skipped.first()) {
        (Some(key), _) => key,
        (None, Some(skipped)) => return Err(JsError::new(skipped.reason)),
        (None, None) => return Err(JsError::new("no key")),
    };
    if !key.accepts(alg) {
        return Err(JsError::new("algorithm_key_mismatch"));
    }
    Ok(verifier_for(host)
        .verify(alg, key, message, signature)
        .is_ok())
}
