//! A parsed verification key: its material and the members it came with.
//! Shared by key-set parsing (`jwk.rs`), the built-in verifier
//! (`verifier.rs`) and the host verifier (`host.rs`), none of which needs
//! the others to name a key.

use std::fmt;

use serde_json::{Map, Value};

use super::{ecdsa, Algorithm};

/// Parsed key material, ready to verify with.
#[derive(Clone)]
pub(crate) enum KeyMaterial {
    Ed25519(ed25519_dalek::VerifyingKey),
    P256(ecdsa::PublicKey),
    P384(ecdsa::PublicKey),
    P521(ecdsa::PublicKey),
    Rsa(rsa::RsaPublicKey),
}

impl KeyMaterial {
    /// Whether this kind of key can do `alg` at all (RFC 7518 §3.1 and §6.1,
    /// RFC 8037 §3.1): the curve fixes the ECDSA algorithm (RFC 7518 §3.4),
    /// while an RSA key serves the PKCS#1 v1.5 and PSS families alike.
    pub(crate) fn supports(&self, alg: Algorithm) -> bool {
        match self {
            KeyMaterial::Ed25519(_) => alg == Algorithm::EdDsa,
            KeyMaterial::P256(_) => alg == Algorithm::Es256,
            KeyMaterial::P384(_) => alg == Algorithm::Es384,
            KeyMaterial::P521(_) => alg == Algorithm::Es512,
            KeyMaterial::Rsa(_) => matches!(
                alg,
                Algorithm::Rs256
                    | Algorithm::Rs384
                    | Algorithm::Rs512
                    | Algorithm::Ps256
                    | Algorithm::Ps384
                    | Algorithm::Ps512
            ),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            KeyMaterial::Ed25519(_) => "OKP/Ed25519",
            KeyMaterial::P256(_) => "EC/P-256",
            KeyMaterial::P384(_) => "EC/P-384",
            KeyMaterial::P521(_) => "EC/P-521",
            KeyMaterial::Rsa(_) => "RSA",
        }
    }
}

/// A verification key parsed once: its key material is decoded and checked
/// (point on the curve, modulus size) when the key set is built.
#[derive(Clone)]
pub struct PublicJwk {
    kid: Option<String>,
    alg: Option<Algorithm>,
    pub(crate) material: KeyMaterial,
    jwk: Map<String, Value>,
    /// The key as a host signature primitive imports it (`host::host_jwk`).
    pub(crate) host_jwk: Option<String>,
}

impl PublicJwk {
    /// A key from checked parts: `kid` and `alg` as the JWK names them, the
    /// parsed `material`, and the JWK members it was parsed from.
    pub(crate) fn new(
        kid: Option<String>,
        alg: Option<Algorithm>,
        material: KeyMaterial,
        jwk: &Map<String, Value>,
    ) -> Self {
        let host_jwk = host_jwk_text(&material, jwk);
        PublicJwk {
            kid,
            alg,
            material,
            jwk: jwk.clone(),
            host_jwk,
        }
    }

    /// The key id, if the JWK has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The algorithm the JWK is restricted to, if it names one.
    pub fn alg(&self) -> Option<Algorithm> {
        self.alg
    }

    /// The JWK members as given. Keys with private members are refused at
    /// parse time, so this holds public members only.
    pub fn jwk(&self) -> &Map<String, Value> {
        &self.jwk
    }

    /// Whether this key may verify a signature made with `alg`: its kty/crv
    /// must support `alg`, and its own `alg`, if any, must be the same
    /// (TX-22: the algorithm comes from the key, RFC 8725 §3.1).
    pub fn accepts(&self, alg: Algorithm) -> bool {
        self.material.supports(alg) && self.alg.is_none_or(|own| own == alg)
    }
}

impl fmt::Debug for PublicJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicJwk")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("kty", &self.material.kind())
            .finish_non_exhaustive()
    }
}

/// The text of `host::host_jwk`: a JWK with only the members that define
/// the key. The members were checked when the key was parsed (`kty` and
/// `crv` are known names, the others strict base64url), so none needs
/// escaping. `None` if a member is somehow missing. Built once, when the
/// key is parsed, so verification does no formatting.
fn host_jwk_text(material: &KeyMaterial, jwk: &Map<String, Value>) -> Option<String> {
    let member = |name: &str| jwk.get(name).and_then(|v| v.as_str());
    Some(match material {
        KeyMaterial::Ed25519(_) => {
            format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{}"}}"#, member("x")?)
        }
        KeyMaterial::P256(_) | KeyMaterial::P384(_) | KeyMaterial::P521(_) => format!(
            r#"{{"kty":"EC","crv":"{}","x":"{}","y":"{}"}}"#,
            member("crv")?,
            member("x")?,
            member("y")?
        ),
        KeyMaterial::Rsa(_) => format!(
            r#"{{"kty":"RSA","n":"{}","e":"{}"}}"#,
            member("n")?,
            member("e")?
        ),
    })
}
