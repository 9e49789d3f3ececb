//! Structural parsing of the JWS compact serialization (RFC 7515 §7.1).

use std::fmt;

use serde_json::{Map, Value};

use super::base64url::b64url_decode;
use super::{Algorithm, JoseError, Limits};
use crate::json;

/// The JOSE header members this engine acts on (RFC 7515 §4.1).
///
/// `jku`, `x5u`, `jwk` and `x5c` are deliberately absent: keys come only from
/// the configured key set, never from the token (TX-22, RFC 8725 §3.10).
/// They remain visible, unused, in [`CompactJws::header_map`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The signature algorithm (RFC 7515 §4.1.1), already known to be supported.
    pub alg: Algorithm,
    /// The key id (RFC 7515 §4.1.4), used only to look a key up in the key set.
    pub kid: Option<String>,
    /// The media type of the whole token (RFC 7515 §4.1.9), e.g. `at+jwt`.
    pub typ: Option<String>,
    /// The media type of the payload (RFC 7515 §4.1.10).
    pub cty: Option<String>,
}

/// A parsed but unverified JWS compact serialization (RFC 7515 §7.1).
///
/// Nothing here has been authenticated: use [`super::verify`] before trusting
/// the header or payload. `Debug` shows the header and part sizes only, so a
/// stray log line cannot carry the token's claims or signature.
#[derive(Clone)]
pub struct CompactJws<'a> {
    header: Header,
    header_map: Map<String, Value>,
    payload: Vec<u8>,
    signing_input: &'a str,
    signature: Vec<u8>,
}

impl<'a> CompactJws<'a> {
    /// Structural checks only, cheapest first:
    ///
    /// 1. the size limit, before any decoding (TX-25);
    /// 2. exactly three dot-separated parts (RFC 7515 §7.1); a JWE's five
    ///    parts or any other count are malformed;
    /// 3. strict base64url for every part (RFC 7515 §2: no padding, no
    ///    characters outside the URL-safe alphabet, non-canonical trailing
    ///    bits refused so each token has one spelling);
    /// 4. the header is a strict JSON object (no duplicate members,
    ///    RFC 7515 §5.2) with a supported asymmetric `alg`: `none` and HMAC
    ///    are [`JoseError::UnsupportedAlgorithm`] (RFC 8725 §3.1, §3.2);
    /// 5. any `crit` is [`JoseError::UnsupportedCritical`]: we understand no
    ///    extensions, and RFC 7515 §4.1.11 says a recipient that does not
    ///    understand a listed extension must reject the JWS; `b64: false`
    ///    (RFC 7797) is refused the same way;
    /// 6. the signature part is not empty.
    ///
    /// `jku`, `x5u`, `jwk` and `x5c` are never consulted (TX-22).
    pub fn parse(token: &'a str, limits: &Limits) -> Result<Self, JoseError> {
        if token.len() > limits.max_token_bytes {
            return Err(JoseError::TokenTooLarge {
                limit: limits.max_token_bytes,
            });
        }

        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoseError::MalformedToken(
                "expected three dot-separated parts",
            ));
        };
        // RFC 7515 §5.2 step 8: the signature covers the ASCII of
        // `BASE64URL(header) || '.' || BASE64URL(payload)`, exactly as sent.
        let signing_input = token
            .get(..header_b64.len() + 1 + payload_b64.len())
            .ok_or(JoseError::MalformedToken(
                "expected three dot-separated parts",
            ))?;

        let header_bytes = b64url_decode(header_b64)
            .ok_or(JoseError::MalformedToken("header is not base64url"))?;
        let header_map = json::parse_object(&header_bytes, limits.max_json_depth)
            .map_err(|e| JoseError::from_token_json(e, "header is not a JSON object"))?;
        let header = read_header(&header_map)?;

        let payload = b64url_decode(payload_b64)
            .ok_or(JoseError::MalformedToken("payload is not base64url"))?;
        let signature = b64url_decode(signature_b64)
            .ok_or(JoseError::MalformedToken("signature is not base64url"))?;
        if signature.is_empty() {
            // Every supported algorithm has a non-empty signature; an empty one
            // is how `alg: none` tokens look (RFC 7519 §6.1).
            return Err(JoseError::MalformedToken("signature is empty"));
        }

        Ok(CompactJws {
            header,
            header_map,
            payload,
            signing_input,
            signature,
        })
    }

    /// The checked header members.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The whole protected header as parsed (strictly), for callers that
    /// need members this layer does not interpret.
    pub fn header_map(&self) -> &Map<String, Value> {
        &self.header_map
    }

    /// The decoded payload bytes (unverified until [`super::verify`] succeeds).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The JWS signing input (RFC 7515 §5.2): the first two parts and the dot.
    pub fn signing_input(&self) -> &[u8] {
        self.signing_input.as_bytes()
    }

    /// The decoded signature bytes.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The payload as a strict JSON object ([`json::parse_object`] with
    /// `limits.max_json_depth`), as JWT claims must be (RFC 7519 §7.2 step 10).
    pub fn claims(&self, limits: &Limits) -> Result<Map<String, Value>, JoseError> {
        json::parse_object(&self.payload, limits.max_json_depth)
            .map_err(|e| JoseError::from_token_json(e, "payload is not a JSON object"))
    }
}

impl fmt::Debug for CompactJws<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompactJws")
            .field("alg", &self.header.alg)
            .field("has_kid", &self.header.kid.is_some())
            .field("payload_len", &self.payload.len())
            .field("signature_len", &self.signature.len())
            .finish_non_exhaustive()
    }
}

/// Reads and checks the header members we act on.
fn read_header(map: &Map<String, Value>) -> Result<Header, JoseError> {
    let alg = match map.get("alg") {
        None => return Err(JoseError::MalformedToken("header has no alg")),
        Some(Value::String(name)) => {
            Algorithm::from_name(name).ok_or_else(|| JoseError::UnsupportedAlgorithm {
                name: Algorithm::known_refused_name(name),
            })?
        }
        Some(_) => return Err(JoseError::MalformedToken("header alg is not a string")),
    };

    // RFC 7515 §4.1.11: we implement no extension, so any `crit` (even an
    // empty list, which the RFC forbids anyway) is refused.
    if map.contains_key("crit") {
        return Err(JoseError::UnsupportedCritical);
    }
    // RFC 7797 §3: `b64: false` means the payload is not base64url-encoded;
    // verifying it as if it were would check different bytes than were signed.
    match map.get("b64") {
        None | Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => return Err(JoseError::UnsupportedCritical),
        Some(_) => return Err(JoseError::MalformedToken("header b64 is not a boolean")),
    }

    Ok(Header {
        alg,
        kid: optional_string(map, "kid", "header kid is not a string")?,
        typ: optional_string(map, "typ", "header typ is not a string")?,
        cty: optional_string(map, "cty", "header cty is not a string")?,
    })
}

fn optional_string(
    map: &Map<String, Value>,
    name: &str,
    wrong_type: &'static str,
) -> Result<Option<String>, JoseError> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(JoseError::MalformedToken(wrong_type)),
    }
}
