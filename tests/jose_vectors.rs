//! Conformance of the JOSE layer against published vectors:
//! Project Wycheproof signature tests (one file per JWS algorithm family),
//! the RFC 7520 §4 JOSE cookbook signatures, and the RFC 8037 §A.4 Ed25519
//! example. The data lives in `tests/vectors/` with its licences.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use better_auth_token_exchange::jose::{
    self, Algorithm, CompactJws, Header, JoseError, KeySet, Limits, RustCryptoVerifier,
    SignatureVerifier,
};
use serde_json::{Map, Value};

fn vector_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("vectors")
        .join(rel)
}

fn load(rel: &str) -> Value {
    let text = std::fs::read_to_string(vector_path(rel))
        .unwrap_or_else(|e| panic!("cannot read vector file {rel}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("vector file {rel} is not JSON: {e}"))
}

#[derive(Debug, Default)]
struct Counts {
    valid_verified: usize,
    valid_key_refused: usize,
    invalid_rejected: usize,
    invalid_key_refused: usize,
    acceptable_verified: usize,
    acceptable_rejected: usize,
    groups: usize,
    groups_key_refused: usize,
}

/// Runs one Wycheproof file: each group's JWK becomes a key set, and each
/// test goes through key selection (`candidates`) and the built-in verifier.
///
/// A group whose key the key set refuses (say an RSA modulus under 2048
/// bits) counts its vectors apart: its valid ones as `valid_key_refused`,
/// its invalid ones as `invalid_key_refused`. Every key in the files shipped
/// today is usable, so the callers' minimums equal the files' totals of
/// valid vectors: a refused key or a failed valid vector fails the test.
fn run_wycheproof(file: &str, alg: Algorithm, min_valid_verified: usize) -> Counts {
    let doc = load(&format!("wycheproof/{file}"));
    let groups = doc["testGroups"].as_array().expect("testGroups");
    let mut counts = Counts::default();
    let mut failures = Vec::new();
    for group in groups {
        counts.groups += 1;
        let built;
        let jwk = match group.get("publicKeyJwk").or_else(|| group.get("keyJwk")) {
            Some(jwk) => jwk,
            None => {
                built = ec_jwk_from_coordinates(&group["publicKey"]);
                &built
            }
        };
        let (keys, skipped) = KeySet::from_value(jwk).expect("a JWK object is a document");
        let key_ok = keys.len() == 1;
        if !key_ok {
            counts.groups_key_refused += 1;
            assert_eq!(skipped.len(), 1, "{file}: a refused key is reported");
        }
        let kid = jwk.get("kid").and_then(Value::as_str).map(str::to_owned);
        let header = Header {
            alg,
            kid,
            typ: None,
            cty: None,
        };
        for test in group["tests"].as_array().expect("tests") {
            let id = test["tcId"].as_u64().expect("tcId");
            let msg = hex::decode(test["msg"].as_str().expect("msg")).expect("msg hex");
            let sig = hex::decode(test["sig"].as_str().expect("sig")).expect("sig hex");
            let result = test["result"].as_str().expect("result");
            let verified = if key_ok {
                let candidates = keys.candidates(&header).expect("the group key fits");
                assert_eq!(candidates.len(), 1);
                Some(
                    RustCryptoVerifier
                        .verify(alg, candidates[0], &msg, &sig)
                        .is_ok(),
                )
            } else {
                None
            };
            match (result, verified) {
                ("valid", Some(true)) => counts.valid_verified += 1,
                ("valid", Some(false)) => failures.push(format!("tcId {id}: valid did not verify")),
                ("valid", None) => counts.valid_key_refused += 1,
                ("invalid", Some(false)) => counts.invalid_rejected += 1,
                ("invalid", Some(true)) => failures.push(format!("tcId {id}: invalid verified")),
                ("invalid", None) => counts.invalid_key_refused += 1,
                ("acceptable", Some(true)) => counts.acceptable_verified += 1,
                ("acceptable", _) => counts.acceptable_rejected += 1,
                (other, _) => panic!("{file}: unknown result {other}"),
            }
        }
    }
    println!("{file} ({}): {counts:?}", alg.name());
    assert!(failures.is_empty(), "{file}: {failures:#?}");
    assert!(counts.groups > 0, "{file}: no groups ran");
    assert!(
        counts.valid_verified >= min_valid_verified,
        "{file}: only {} valid vectors verified, expected at least {min_valid_verified}",
        counts.valid_verified
    );
    assert!(
        counts.invalid_rejected + counts.invalid_key_refused > 0,
        "{file}: no invalid vectors ran"
    );
    counts
}

/// A few Wycheproof ECDSA groups (the `r`/`x` reduction edge cases) give the
/// key only as hex coordinates; this writes the JWK of RFC 7518 §6.2.1 for
/// them, each coordinate exactly the field size in octets.
fn ec_jwk_from_coordinates(public_key: &Value) -> Value {
    let (crv, size) = match public_key["curve"].as_str().expect("curve") {
        "secp256r1" => ("P-256", 32),
        "secp384r1" => ("P-384", 48),
        "secp521r1" => ("P-521", 66),
        other => panic!("unexpected curve {other}"),
    };
    let coordinate = |name: &str| {
        let raw = hex::decode(public_key[name].as_str().expect("coordinate")).expect("hex");
        let trimmed: Vec<u8> = raw.iter().copied().skip_while(|b| *b == 0).collect();
        assert!(trimmed.len() <= size);
        let mut fixed = vec![0u8; size - trimmed.len()];
        fixed.extend_from_slice(&trimmed);
        URL_SAFE_NO_PAD.encode(fixed)
    };
    serde_json::json!({
        "kty": "EC",
        "crv": crv,
        "x": coordinate("wx"),
        "y": coordinate("wy"),
        "kid": "none",
    })
}

#[test]
fn wycheproof_ed25519() {
    let c = run_wycheproof("ed25519_test.json", Algorithm::EdDsa, 88);
    assert_eq!(c.invalid_rejected, 63);
}

#[test]
fn wycheproof_es256_p1363() {
    let c = run_wycheproof(
        "ecdsa_secp256r1_sha256_p1363_test.json",
        Algorithm::Es256,
        173,
    );
    assert_eq!(c.invalid_rejected, 89);
}

#[test]
fn wycheproof_es384_p1363() {
    let c = run_wycheproof(
        "ecdsa_secp384r1_sha384_p1363_test.json",
        Algorithm::Es384,
        193,
    );
    assert_eq!(c.invalid_rejected, 87);
}

#[test]
fn wycheproof_es512_p1363() {
    let c = run_wycheproof(
        "ecdsa_secp521r1_sha512_p1363_test.json",
        Algorithm::Es512,
        231,
    );
    assert_eq!(c.invalid_rejected, 87);
}

#[test]
fn wycheproof_rs256_pkcs1() {
    let c = run_wycheproof("rsa_signature_2048_sha256_test.json", Algorithm::Rs256, 9);
    assert_eq!(c.invalid_rejected, 249);
}

#[test]
fn wycheproof_ps256() {
    let c = run_wycheproof(
        "rsa_pss_2048_sha256_mgf1_32_test.json",
        Algorithm::Ps256,
        63,
    );
    assert_eq!(c.invalid_rejected, 45);
}

/// Keeps only the public members of a cookbook input key (RFC 7517 §4,
/// RFC 7518 §6.2.1, §6.3.1).
fn public_members(key: &Value) -> Value {
    let public = ["kty", "kid", "use", "alg", "crv", "x", "y", "n", "e"];
    let map: Map<String, Value> = key
        .as_object()
        .expect("key object")
        .iter()
        .filter(|(k, _)| public.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(map)
}

fn cookbook_verifies(file: &str, alg: Algorithm) {
    let doc = load(&format!("jose-cookbook/{file}"));
    let limits = Limits::default();
    let token = doc["output"]["compact"].as_str().expect("compact");

    // The input key as published carries private members: it is refused.
    let (with_private, skipped) = KeySet::from_value(&doc["input"]["key"]).unwrap();
    assert!(with_private.is_empty());
    assert_eq!(skipped[0].reason, "private_key_material");
    assert_eq!(
        skipped[0].kid.as_deref(),
        Some("bilbo.baggins@hobbiton.example")
    );

    let (keys, skipped) = KeySet::from_value(&public_members(&doc["input"]["key"])).unwrap();
    assert!(skipped.is_empty(), "{skipped:?}");
    assert_eq!(keys.len(), 1);

    let jws = CompactJws::parse(token, &limits).unwrap();
    assert_eq!(jws.header().alg, alg);
    assert_eq!(
        jws.header().kid.as_deref(),
        Some("bilbo.baggins@hobbiton.example")
    );
    assert_eq!(
        jws.payload(),
        doc["input"]["payload"].as_str().unwrap().as_bytes()
    );
    jose::verify(&jws, &keys, &RustCryptoVerifier).unwrap();
    // The payload is prose, not a claims set.
    assert_eq!(jws.claims(&limits).unwrap_err().code(), "malformed_token");

    // A one-bit change to the signature fails.
    let mut sig = jws.signature().to_vec();
    sig[7] ^= 0x01;
    let (head, _) = token.rsplit_once('.').unwrap();
    let tampered = format!("{head}.{}", URL_SAFE_NO_PAD.encode(&sig));
    let jws = CompactJws::parse(&tampered, &limits).unwrap();
    assert_eq!(
        jose::verify(&jws, &keys, &RustCryptoVerifier),
        Err(JoseError::BadSignature)
    );
}

#[test]
fn cookbook_4_1_rs256() {
    cookbook_verifies("4_1.rsa_v15_signature.json", Algorithm::Rs256);
}

#[test]
fn cookbook_4_2_ps384() {
    cookbook_verifies("4_2.rsa-pss_signature.json", Algorithm::Ps384);
}

#[test]
fn cookbook_4_3_es512() {
    cookbook_verifies("4_3.ecdsa_signature.json", Algorithm::Es512);
}

#[test]
fn cookbook_4_4_hs256_is_refused_cleanly() {
    let limits = Limits::default();
    let doc = load("jose-cookbook/4_4.hmac-sha2_integrity_protection.json");
    let token = doc["output"]["compact"].as_str().unwrap();
    let err = CompactJws::parse(token, &limits).unwrap_err();
    assert_eq!(
        err,
        JoseError::UnsupportedAlgorithm {
            name: Some("HS256")
        }
    );
    assert_eq!(err.code(), "unsupported_algorithm");

    // The symmetric key itself is never admitted to a key set.
    let (keys, skipped) = KeySet::from_value(&doc["input"]["key"]).unwrap();
    assert!(keys.is_empty());
    assert_eq!(skipped[0].reason, "symmetric_key");

    // Offering an RSA public key (the classic HMAC-with-public-key confusion,
    // RFC 8725 §2.1) changes nothing: the token is refused before any key is
    // looked at, and no algorithm exists that would treat the key as a secret.
    let rsa = load("jose-cookbook/4_1.rsa_v15_signature.json");
    let mut rsa_pub = public_members(&rsa["input"]["key"]);
    rsa_pub["kid"] = doc["input"]["key"]["kid"].clone();
    let (keys, skipped) = KeySet::from_value(&rsa_pub).unwrap();
    assert!(skipped.is_empty());
    assert_eq!(keys.len(), 1);
    assert_eq!(
        CompactJws::parse(token, &limits).unwrap_err().code(),
        "unsupported_algorithm"
    );
    for alg in Algorithm::ALL {
        assert!(alg.name().starts_with(['E', 'R', 'P']));
    }
}

const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
const RFC8037_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const RFC8037_JWS: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

#[test]
fn rfc8037_a4_ed25519() {
    let limits = Limits::default();
    let jwk = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X});
    let (keys, skipped) = KeySet::from_value(&jwk).unwrap();
    assert!(skipped.is_empty());

    let jws = CompactJws::parse(RFC8037_JWS, &limits).unwrap();
    assert_eq!(jws.header().alg, Algorithm::EdDsa);
    assert_eq!(jws.payload(), b"Example of Ed25519 signing");
    jose::verify(&jws, &keys, &RustCryptoVerifier).unwrap();

    // The private key of §A.1 reproduces the published signature, which
    // confirms the key pair and the vector were copied correctly.
    let d: [u8; 32] = URL_SAFE_NO_PAD
        .decode(RFC8037_D)
        .unwrap()
        .try_into()
        .unwrap();
    let sk = ed25519_dalek::SigningKey::from_bytes(&d);
    assert_eq!(
        URL_SAFE_NO_PAD.encode(sk.verifying_key().as_bytes()),
        RFC8037_X
    );
    use ed25519_dalek::Signer as _;
    assert_eq!(
        sk.sign(jws.signing_input()).to_bytes().as_slice(),
        jws.signature()
    );

    // One bit changed anywhere in the signature fails.
    let (head, _) = RFC8037_JWS.rsplit_once('.').unwrap();
    for byte in [0, 31, 32, 63] {
        for bit in [0x01, 0x80] {
            let mut sig = jws.signature().to_vec();
            sig[byte] ^= bit;
            let tampered = format!("{head}.{}", URL_SAFE_NO_PAD.encode(&sig));
            let t = CompactJws::parse(&tampered, &limits).unwrap();
            assert_eq!(
                jose::verify(&t, &keys, &RustCryptoVerifier),
                Err(JoseError::BadSignature)
            );
        }
    }
    // One bit changed in the payload fails.
    let mut payload = jws.payload().to_vec();
    payload[0] ^= 0x01;
    let sig_b64 = RFC8037_JWS.rsplit('.').next().unwrap();
    let tampered = format!(
        "eyJhbGciOiJFZERTQSJ9.{}.{sig_b64}",
        URL_SAFE_NO_PAD.encode(&payload)
    );
    let t = CompactJws::parse(&tampered, &limits).unwrap();
    assert_eq!(
        jose::verify(&t, &keys, &RustCryptoVerifier),
        Err(JoseError::BadSignature)
    );
}

/// RFC 9864 names Ed25519 explicitly; the same key verifies a token whose
/// header says `"alg":"Ed25519"` (signature made here with the §A.1 key).
#[test]
fn fully_specified_ed25519_name() {
    use ed25519_dalek::Signer as _;
    let d: [u8; 32] = URL_SAFE_NO_PAD
        .decode(RFC8037_D)
        .unwrap()
        .try_into()
        .unwrap();
    let sk = ed25519_dalek::SigningKey::from_bytes(&d);
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"Ed25519"}"#),
        URL_SAFE_NO_PAD.encode(b"Example of Ed25519 signing")
    );
    let token = format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(sk.sign(input.as_bytes()).to_bytes())
    );
    let jwk = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X, "alg": "EdDSA"});
    let (keys, _) = KeySet::from_value(&jwk).unwrap();
    let jws = CompactJws::parse(&token, &Limits::default()).unwrap();
    assert_eq!(jws.header().alg, Algorithm::EdDsa);
    jose::verify(&jws, &keys, &RustCryptoVerifier).unwrap();
}
