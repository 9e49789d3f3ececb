//! Public verification keys from JWK and JWK Set documents (RFC 7517, RFC 7518 §6,
//! RFC 8037 §2), parsed once so that verification does no key parsing.

use std::collections::HashMap;

use rsa::BigUint;
use serde_json::{Map, Value};

use super::base64url::b64url_decode;
use super::key::{KeyMaterial, PublicJwk};
use super::{ecdsa, Algorithm, Header, JoseError, Limits};
use crate::json::{self, JsonError};

/// Most keys a key set may hold. Without a `kid` a token is tried against
/// every key that fits its `alg`, so this also bounds the signature checks
/// one token can cause (TX-25).
pub const JWKS_MAX_KEYS: usize = 100;

/// Smallest RSA modulus accepted, in bits (RFC 7518 §3.3 and §3.5 require 2048).
pub const RSA_MIN_BITS: usize = 2048;

/// Largest RSA modulus accepted, in bits; bounds the cost of one verification.
pub const RSA_MAX_BITS: usize = 8192;

/// Members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2,
/// §6.4.1; RFC 8037 §2). A key set for verification must never carry them:
/// one that does is a configuration mistake we refuse to propagate.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

impl PublicJwk {
    /// Parses one JWK object. On refusal the error is a fixed snake_case
    /// reason, the same one [`KeySet::from_value`] reports in [`SkippedKey`].
    pub fn from_map(jwk: &Map<String, Value>) -> Result<Self, &'static str> {
        let kid = match jwk.get("kid") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err("malformed_member"),
        };

        let kty = match jwk.get("kty") {
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err("malformed_member"),
            None => return Err("missing_key_type"),
        };
        if kty == "oct" {
            // Symmetric keys are never used: HMAC verification would let anyone
            // holding the "public" key forge tokens (RFC 8725 §3.1, §3.2).
            return Err("symmetric_key");
        }
        if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
            return Err("private_key_material");
        }

        // RFC 7517 §4.2: `use` other than "sig" means the key is not for
        // signatures.
        match jwk.get("use") {
            None => {}
            Some(Value::String(u)) if u == "sig" => {}
            Some(Value::String(_)) => return Err("not_for_signatures"),
            Some(_) => return Err("malformed_member"),
        }
        // RFC 7517 §4.3: with `key_ops`, the key may only do what it lists;
        // values must be strings and must not repeat.
        if let Some(ops) = jwk.get("key_ops") {
            let Value::Array(ops) = ops else {
                return Err("malformed_member");
            };
            let mut names: Vec<&str> = Vec::with_capacity(ops.len());
            for op in ops {
                let Value::String(op) = op else {
                    return Err("malformed_member");
                };
                if names.contains(&op.as_str()) {
                    return Err("malformed_member");
                }
                names.push(op);
            }
            if !names.contains(&"verify") {
                return Err("no_verify_operation");
            }
        }

        let alg = match jwk.get("alg") {
            None => None,
            Some(Value::String(name)) => {
                Some(Algorithm::from_name(name).ok_or("unsupported_algorithm")?)
            }
            Some(_) => return Err("malformed_member"),
        };

        let material = match kty {
            "OKP" => parse_okp(jwk)?,
            "EC" => parse_ec(jwk)?,
            "RSA" => parse_rsa(jwk)?,
            _ => return Err("unsupported_key_type"),
        };

        // RFC 7517 §4.4 with RFC 8725 §3.1: a key's `alg` must be one its
        // kty/crv can do (e.g. not RS256 on an EC key, not ES256 on P-384).
        if let Some(alg) = alg {
            if !material.supports(alg) {
                return Err("algorithm_key_mismatch");
            }
        }

        Ok(PublicJwk::new(kid, alg, material, jwk))
    }
}

/// Decodes a required base64url member (RFC 7518 §2 Base64urlUInt or raw
/// coordinate octets).
fn member_bytes(
    jwk: &Map<String, Value>,
    name: &str,
    max_chars: usize,
) -> Result<Vec<u8>, &'static str> {
    match jwk.get(name) {
        Some(Value::String(s)) if s.len() <= max_chars => {
            b64url_decode(s).ok_or("bad_key_encoding")
        }
        Some(Value::String(_)) => Err("bad_key_encoding"),
        Some(_) => Err("malformed_member"),
        None => Err("bad_key_encoding"),
    }
}

fn curve_name(jwk: &Map<String, Value>) -> Result<&str, &'static str> {
    match jwk.get("crv") {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err("malformed_member"),
        None => Err("unsupported_curve"),
    }
}

/// RFC 8037 §2: `crv` and `x`, the 32-octet public key for Ed25519.
fn parse_okp(jwk: &Map<String, Value>) -> Result<KeyMaterial, &'static str> {
    if curve_name(jwk)? != "Ed25519" {
        // Ed448 and the X25519/X448 key-agreement curves are not verified here.
        return Err("unsupported_curve");
    }
    let x = member_bytes(jwk, "x", 43)?;
    let bytes: [u8; 32] = x.as_slice().try_into().map_err(|_| "bad_key_encoding")?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|_| "bad_key_encoding")?;
    // A small-order public key lets one signature verify for many messages;
    // strict verification refuses it anyway, so refuse it up front.
    if key.is_weak() {
        return Err("weak_key");
    }
    Ok(KeyMaterial::Ed25519(key))
}

/// RFC 7518 §6.2.1: `crv`, `x`, `y`; each coordinate is exactly the field
/// size in octets (§6.2.1.2, §6.2.1.3), and the point must be on the curve.
fn parse_ec(jwk: &Map<String, Value>) -> Result<KeyMaterial, &'static str> {
    let size: usize = match curve_name(jwk)? {
        "P-256" => 32,
        "P-384" => 48,
        "P-521" => 66,
        _ => return Err("unsupported_curve"),
    };
    let max_chars = (size * 4).div_ceil(3);
    let x = member_bytes(jwk, "x", max_chars)?;
    let y = member_bytes(jwk, "y", max_chars)?;
    if x.len() != size || y.len() != size {
        return Err("bad_key_encoding");
    }
    // Each decoder checks that the coordinates are below the field prime
    // and that the point is on the curve (and so is not the identity),
    // SEC 1 §3.2.2.1.
    let material = match size {
        32 => ecdsa::PublicKey::from_coordinates(&ecdsa::P256, &x, &y).map(KeyMaterial::P256),
        48 => ecdsa::PublicKey::from_coordinates(&ecdsa::P384, &x, &y).map(KeyMaterial::P384),
        66 => ecdsa::PublicKey::from_coordinates(&ecdsa::P521, &x, &y).map(KeyMaterial::P521),
        _ => None,
    };
    material.ok_or("bad_key_encoding")
}

/// RFC 7518 §6.3.1: `n` and `e` as Base64urlUInt.
fn parse_rsa(jwk: &Map<String, Value>) -> Result<KeyMaterial, &'static str> {
    // Refuse oversized moduli by their encoded length before decoding them.
    // One extra octet is tolerated: RFC 7518 §6.3.1.1 notes some libraries
    // emit a leading zero octet, and it does not change the value.
    let n_max_chars = ((RSA_MAX_BITS / 8 + 1) * 4).div_ceil(3);
    let n = match jwk.get("n") {
        Some(Value::String(s)) if s.len() > n_max_chars => return Err("rsa_key_size"),
        _ => member_bytes(jwk, "n", n_max_chars)?,
    };
    // The exponent must fit the library's 33-bit bound; 8 octets is plenty.
    let e = member_bytes(jwk, "e", 11)?;
    let n = BigUint::from_bytes_be(&n);
    let e = BigUint::from_bytes_be(&e);
    let bits = n.bits();
    if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
        return Err("rsa_key_size");
    }
    // Checks an odd modulus and an odd exponent in 3..2^33 below the modulus.
    let key =
        rsa::RsaPublicKey::new_with_max_size(n, e, RSA_MAX_BITS).map_err(|_| "bad_key_encoding")?;
    Ok(KeyMaterial::Rsa(key))
}

/// A key that [`KeySet::from_json`] or [`KeySet::from_value`] left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedKey {
    /// The key's `kid`, when it had a string one.
    pub kid: Option<String>,
    /// A fixed snake_case reason: `not_an_object`, `malformed_member`,
    /// `missing_key_type`, `symmetric_key`, `private_key_material`,
    /// `not_for_signatures`, `no_verify_operation`, `unsupported_algorithm`,
    /// `unsupported_key_type`, `unsupported_curve`, `bad_key_encoding`,
    /// `weak_key`, `rsa_key_size` or `algorithm_key_mismatch`.
    pub reason: &'static str,
}

/// The verification keys of one issuer, indexed by `kid` and by algorithm so
/// that looking up candidates costs the same however many keys there are.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<PublicJwk>,
    by_kid: HashMap<String, Vec<usize>>,
    by_alg: [Vec<usize>; Algorithm::ALL.len()],
}

impl KeySet {
    /// A key set with no keys: every token fails with [`JoseError::NoMatchingKey`]
    /// or [`JoseError::UnknownKey`].
    pub fn empty() -> Self {
        Self::default()
    }

    /// Builds a key set from already parsed keys.
    pub fn from_keys(keys: impl IntoIterator<Item = PublicJwk>) -> Self {
        let mut set = Self::empty();
        for key in keys {
            set.push(key);
        }
        set
    }

    fn push(&mut self, key: PublicJwk) {
        let index = self.keys.len();
        if let Some(kid) = key.kid() {
            self.by_kid.entry(kid.to_owned()).or_default().push(index);
        }
        for alg in Algorithm::ALL {
            if key.accepts(alg) {
                if let Some(list) = self.by_alg.get_mut(alg.index()) {
                    list.push(index);
                }
            }
        }
        self.keys.push(key);
    }

    /// Parses a JWK Set (`{"keys":[...]}`, RFC 7517 §5) or a single JWK object
    /// from untrusted bytes, with the strict JSON rules of [`json::parse_object`]
    /// (nesting bounded by `limits.max_json_depth`).
    ///
    /// `limits.max_token_bytes` bounds the document size: a key set is
    /// usually larger than a token, so callers pass a larger bound here
    /// (for example 1 MiB). Unusable keys are skipped and reported, not
    /// fatal; see [`KeySet::from_value`].
    pub fn from_json(
        bytes: &[u8],
        limits: &Limits,
    ) -> Result<(KeySet, Vec<SkippedKey>), JoseError> {
        if bytes.len() > limits.max_token_bytes {
            return Err(JoseError::MalformedJwks("document is too large"));
        }
        let map = json::parse_object(bytes, limits.max_json_depth).map_err(|e| {
            JoseError::MalformedJwks(match e {
                JsonError::TooDeep => "document is nested too deeply",
                JsonError::DuplicateMember => "document has a duplicate member name",
                JsonError::NotAnObject | JsonError::Syntax => "document is not a JSON object",
            })
        })?;
        Self::from_object(&map)
    }

    /// Builds a key set from an already parsed JWK Set or single JWK.
    ///
    /// Skipped, with a reason: non-object entries, `oct` keys, `use` other
    /// than `sig`, `key_ops` without `verify`, unknown `kty` or `crv`, keys
    /// with private members, RSA moduli outside 2048..=8192 bits, bad
    /// encodings, and an `alg` that is unknown or does not fit the kty/crv.
    /// Errors are for the whole document: not an object, `keys` not an
    /// array, more than [`JWKS_MAX_KEYS`] entries.
    pub fn from_value(v: &Value) -> Result<(KeySet, Vec<SkippedKey>), JoseError> {
        match v {
            Value::Object(map) => Self::from_object(map),
            _ => Err(JoseError::MalformedJwks("document is not a JSON object")),
        }
    }

    fn from_object(map: &Map<String, Value>) -> Result<(KeySet, Vec<SkippedKey>), JoseError> {
        let single;
        let entries: &[Value] = match map.get("keys") {
            Some(Value::Array(keys)) => keys,
            Some(_) => return Err(JoseError::MalformedJwks("keys is not an array")),
            None if map.contains_key("kty") => {
                single = [Value::Object(map.clone())];
                &single
            }
            None => return Err(JoseError::MalformedJwks("neither a JWK Set nor a JWK")),
        };
        if entries.len() > JWKS_MAX_KEYS {
            return Err(JoseError::MalformedJwks("too many keys"));
        }

        let mut set = KeySet::empty();
        let mut skipped = Vec::new();
        for entry in entries {
            let Value::Object(jwk) = entry else {
                skipped.push(SkippedKey {
                    kid: None,
                    reason: "not_an_object",
                });
                continue;
            };
            match PublicJwk::from_map(jwk) {
                Ok(key) => set.push(key),
                Err(reason) => skipped.push(SkippedKey {
                    kid: jwk.get("kid").and_then(Value::as_str).map(str::to_owned),
                    reason,
                }),
            }
        }
        Ok((set, skipped))
    }

    /// How many usable keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether some usable key has this `kid`.
    pub fn contains_kid(&self, kid: &str) -> bool {
        self.by_kid.contains_key(kid)
    }

    /// The usable keys, in document order.
    pub fn iter(&self) -> impl Iterator<Item = &PublicJwk> {
        self.keys.iter()
    }

    /// The keys that may verify a token with this header (TX-22: the
    /// algorithm comes from the key, RFC 8725 §3.1).
    ///
    /// With a `kid`, only keys with that kid are considered: none is
    /// [`JoseError::UnknownKey`]; if none of them accepts the header `alg`
    /// (its JWK `alg` differs, or its kty/crv cannot do it, e.g. RS256 on an
    /// EC key or ES256 on P-384) it is [`JoseError::AlgorithmKeyMismatch`].
    /// Without a `kid`, every key that accepts the header `alg`; none is
    /// [`JoseError::NoMatchingKey`].
    pub fn candidates(&self, header: &Header) -> Result<Vec<&PublicJwk>, JoseError> {
        let indexes: Vec<usize> = match &header.kid {
            Some(kid) => {
                let same_kid = self.by_kid.get(kid).ok_or(JoseError::UnknownKey)?;
                let fitting: Vec<usize> = same_kid
                    .iter()
                    .copied()
                    .filter(|&i| self.keys.get(i).is_some_and(|k| k.accepts(header.alg)))
                    .collect();
                if fitting.is_empty() {
                    return Err(JoseError::AlgorithmKeyMismatch);
                }
                fitting
            }
            None => self
                .by_alg
                .get(header.alg.index())
                .cloned()
                .unwrap_or_default(),
        };
        let keys: Vec<&PublicJwk> = indexes.iter().filter_map(|&i| self.keys.get(i)).collect();
        if keys.is_empty() {
            return Err(JoseError::NoMatchingKey);
        }
        Ok(keys)
    }
}
