//! WebAssembly bindings: typed call/answer objects (camelCase), errors as
//! data. Only construction with bad settings throws, with a JS `Error`.

use crate::answer::{AuditRecord, Decision, Failure};
use crate::config::{DecideCall, EngineSettings};
use crate::engine::{Engine, KeysAnswer};
use crate::error::{ErrorCode, Refusal};
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
import type { EngineSettings, KeysAnswer, FormPairs, Inspection, DecideCall, Decision, Jwks } from "../dist/engine-types.js";
"#;

fn to_js<T: Serialize>(value: &T) -> JsValue {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    // Serialising our own answer types cannot fail (no maps with non-string
    // keys, no unsupported numbers); fall back to `undefined` rather than
    // panic if it ever did.
    value.serialize(&serializer).unwrap_or(JsValue::UNDEFINED)
}

/// Reads a JS value through `serde_json::Value`: serde-wasm-bindgen does not
/// honour `deny_unknown_fields`, and a misspelt setting or policy key must be
/// refused, not ignored.
fn from_js<T: serde::de::DeserializeOwned>(value: JsValue) -> Result<T, String> {
    let json: serde_json::Value =
        serde_wasm_bindgen::from_value(value).map_err(|e| e.to_string())?;
    serde_json::from_value(json).map_err(|e| e.to_string())
}

fn bad_input(error: &str) -> JsValue {
    // A malformed call is the caller's bug; it is still answered as data.
    let refusal = Refusal::new(
        ErrorCode::ServerError,
        "invalid_engine_call",
        format!("invalid decide call: {error}"),
    );
    to_js(&Decision::Failure(Box::new(Failure::from_refusal(
        refusal,
        AuditRecord::new(0, None),
        false,
    ))))
}

/// The exchange engine, held by the caller for the life of the server.
#[wasm_bindgen(js_name = Engine)]
pub struct WasmEngine {
    inner: Engine,
}

#[wasm_bindgen(js_class = Engine)]
impl WasmEngine {
    /// Creates an engine; throws an `Error` naming a bad setting.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "EngineSettings")] settings: JsValue,
    ) -> Result<WasmEngine, JsError> {
        let settings: EngineSettings = from_js(settings)
            .map_err(|e| JsError::new(&format!("invalid token-exchange engine settings: {e}")))?;
        Engine::new(settings)
            .map(|inner| WasmEngine { inner })
            .map_err(|e| JsError::new(&format!("invalid token-exchange engine settings: {e}")))
    }

    /// Replaces the key set of an issuer (JWKS object or JSON text).
    #[wasm_bindgen(js_name = setIssuerKeys, unchecked_return_type = "KeysAnswer")]
    pub fn set_issuer_keys(
        &mut self,
        issuer: &str,
        #[wasm_bindgen(unchecked_param_type = "Jwks | string")] jwks: JsValue,
    ) -> JsValue {
        let bytes = match jwks.as_string() {
            Some(text) => text.into_bytes(),
            None => match serde_wasm_bindgen::from_value::<serde_json::Value>(jwks) {
                Ok(value) => value.to_string().into_bytes(),
                Err(e) => {
                    return to_js(&KeysAnswer::Failure {
                        reason: "malformed_jwks",
                        description: format!("the key set is not JSON: {e}"),
                    })
                }
            },
        };
        to_js(&self.inner.set_issuer_keys(issuer, &bytes))
    }

    /// Whether a key for the issuer (and `kid`) is known.
    #[wasm_bindgen(js_name = hasKey)]
    pub fn has_key(&self, issuer: &str, kid: Option<String>) -> bool {
        self.inner.has_key(issuer, kid.as_deref())
    }

    /// Unverified hints about the presented tokens.
    #[wasm_bindgen(unchecked_return_type = "Inspection")]
    pub fn inspect(
        &self,
        #[wasm_bindgen(unchecked_param_type = "FormPairs")] form: JsValue,
    ) -> JsValue {
        match serde_wasm_bindgen::from_value::<Vec<(String, String)>>(form) {
            Ok(form) => to_js(&self.inner.inspect(&form)),
            Err(_) => to_js(&crate::engine::Inspection::default()),
        }
    }

    /// Decides one exchange.
    #[wasm_bindgen(unchecked_return_type = "Decision")]
    pub fn decide(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DecideCall")] call: JsValue,
    ) -> JsValue {
        match from_js::<DecideCall>(call) {
            Ok(call) => to_js(&self.inner.decide(&call)),
            Err(e) => bad_input(&e),
        }
    }
}
