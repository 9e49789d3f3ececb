//! Unit tests for the JOSE layer: header policy, encodings, limits, key
//! selection and key-set skipping. Tokens are minted here with fixed keys.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};

use super::*;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// RFC 8037 §A.1 private key; its public half is `ED_X`.
const ED_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

fn ed_signing_key(d_b64: &str) -> ed25519_dalek::SigningKey {
    let d: [u8; 32] = URL_SAFE_NO_PAD.decode(d_b64).unwrap().try_into().unwrap();
    ed25519_dalek::SigningKey::from_bytes(&d)
}

fn ed_sign(d_b64: &str, input: &[u8]) -> Vec<u8> {
    use ed25519_dalek::Signer as _;
    ed_signing_key(d_b64).sign(input).to_bytes().to_vec()
}

/// Builds `header.payload.signature` with raw JSON text (so tests can put
/// duplicates and oddities in it) and a signing function.
fn mint(header: &str, payload: &str, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let sig = sign(input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

fn ed_token(header: &str, payload: &str) -> String {
    mint(header, payload, |m| ed_sign(ED_D, m))
}

fn ed_jwk(kid: &str) -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "x": ED_X, "kid": kid})
}

fn p256_key() -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_slice(&[0x11; 32]).unwrap()
}

fn p256_jwk(kid: &str) -> Value {
    let point = p256_key().verifying_key().to_encoded_point(false);
    json!({
        "kty": "EC", "crv": "P-256", "kid": kid,
        "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap()),
    })
}

fn p256_sign(input: &[u8]) -> Vec<u8> {
    use p256::ecdsa::signature::Signer as _;
    let sig: p256::ecdsa::Signature = p256_key().sign(input);
    sig.to_bytes().to_vec()
}

/// A P-384 public key (the first key of Wycheproof's secp384r1 P1363 file).
fn p384_jwk(kid: &str) -> Value {
    json!({
        "kty": "EC", "crv": "P-384", "kid": kid,
        "x": "LaV92hCJJ2pUP5_9rAv_DZdsrXHrcoDn2b_Z_uS9svIPR_-IgnQ4l3LZjMV1ITiq",
        "y": "S20FTWnc8-JexJ34cHFeNIg7GDYZfXb4rZYuePZXG7x0B7DWCR-eTYjwFCdEBhdP",
    })
}

/// The RFC 7520 §3.4 RSA key (2048 bits), from the cookbook vector file.
fn rsa_cookbook_key() -> Value {
    let doc: Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/jose-cookbook/4_1.rsa_v15_signature.json"
    )))
    .unwrap();
    doc["input"]["key"].clone()
}

fn rsa_public_jwk(kid: &str) -> Value {
    let key = rsa_cookbook_key();
    json!({"kty": "RSA", "kid": kid, "n": key["n"], "e": key["e"]})
}

fn rsa_sign_rs256(input: &[u8]) -> Vec<u8> {
    use rsa::signature::{SignatureEncoding as _, Signer as _};
    let key = rsa_cookbook_key();
    let num = |name: &str| {
        rsa::BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(key[name].as_str().unwrap()).unwrap())
    };
    let private =
        rsa::RsaPrivateKey::from_components(num("n"), num("e"), num("d"), vec![num("p"), num("q")])
            .unwrap();
    rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(private)
        .sign(input)
        .to_vec()
}

fn set(keys: Value) -> KeySet {
    let (set, skipped) = KeySet::from_value(&keys).unwrap();
    assert!(skipped.is_empty(), "unexpected skips: {skipped:?}");
    set
}

fn parse(token: &str) -> Result<CompactJws<'_>, JoseError> {
    CompactJws::parse(token, &Limits::default())
}

fn check(token: &str, keys: &KeySet) -> Result<(), JoseError> {
    let jws = parse(token)?;
    verify(&jws, keys, &RustCryptoVerifier)
}

const CLAIMS: &str = r#"{"iss":"https://issuer.example","sub":"alice","exp":2000000000}"#;

// ---------------------------------------------------------------- happy paths

#[test]
fn eddsa_es256_rs256_tokens_verify_and_expose_claims() {
    let keys = set(json!({"keys": [ed_jwk("ed"), p256_jwk("ec"), rsa_public_jwk("rsa")]}));
    let ed = ed_token(r#"{"alg":"EdDSA","kid":"ed","typ":"at+jwt"}"#, CLAIMS);
    let es = mint(r#"{"alg":"ES256","kid":"ec"}"#, CLAIMS, p256_sign);
    let rs = mint(
        r#"{"alg":"RS256","kid":"rsa","cty":"JWT"}"#,
        CLAIMS,
        rsa_sign_rs256,
    );
    for token in [&ed, &es, &rs] {
        let jws = parse(token).unwrap();
        verify(&jws, &keys, &RustCryptoVerifier).unwrap();
        let claims = jws.claims(&Limits::default()).unwrap();
        assert_eq!(claims["sub"], "alice");
    }
    let jws = parse(&ed).unwrap();
    assert_eq!(jws.header().typ.as_deref(), Some("at+jwt"));
    assert_eq!(jws.header().kid.as_deref(), Some("ed"));
    assert_eq!(parse(&rs).unwrap().header().cty.as_deref(), Some("JWT"));
    let key = verify_with_key(&jws, &keys, &RustCryptoVerifier).unwrap();
    assert_eq!(key.kid(), Some("ed"));
    assert_eq!(key.jwk()["x"], ED_X);
}

#[test]
fn without_kid_every_fitting_key_is_tried() {
    // The signing key is second; the first Ed25519 key fails, the second wins.
    let other = b64(ed_signing_key(&b64(&[7; 32])).verifying_key().as_bytes());
    let keys = set(json!({"keys": [
        {"kty": "OKP", "crv": "Ed25519", "x": other},
        p256_jwk("ec"),
        {"kty": "OKP", "crv": "Ed25519", "x": ED_X},
    ]}));
    check(&ed_token(r#"{"alg":"EdDSA"}"#, CLAIMS), &keys).unwrap();
    // Two keys under one kid (rotation overlap) behave the same way.
    let keys = set(json!({"keys": [
        {"kty": "OKP", "crv": "Ed25519", "x": other, "kid": "k"},
        {"kty": "OKP", "crv": "Ed25519", "x": ED_X, "kid": "k"},
    ]}));
    check(&ed_token(r#"{"alg":"EdDSA","kid":"k"}"#, CLAIMS), &keys).unwrap();
    let token = ed_token(r#"{"alg":"EdDSA","kid":"k"}"#, "{}");
    let jws = parse(&token).unwrap();
    assert_eq!(keys.candidates(jws.header()).unwrap().len(), 2);
}

// ---------------------------------------------------------- algorithm policy

#[test]
fn alg_none_is_refused_with_or_without_a_signature() {
    let keys = set(json!({"keys": [ed_jwk("ed")]}));
    let unsigned = format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(CLAIMS.as_bytes()));
    let err = check(&unsigned, &keys).unwrap_err();
    assert_eq!(err, JoseError::UnsupportedAlgorithm { name: Some("none") });
    assert_eq!(err.code(), "unsupported_algorithm");
    let with_sig = ed_token(r#"{"alg":"none"}"#, CLAIMS);
    assert_eq!(
        check(&with_sig, &keys).unwrap_err().code(),
        "unsupported_algorithm"
    );
    for spelling in ["None", "NONE", "nOnE"] {
        let t = ed_token(&format!(r#"{{"alg":"{spelling}"}}"#), CLAIMS);
        assert_eq!(
            check(&t, &keys).unwrap_err(),
            JoseError::UnsupportedAlgorithm { name: None }
        );
    }
}

#[test]
fn hmac_is_refused_even_with_an_rsa_public_key_available() {
    let keys = set(json!({"keys": [rsa_public_jwk("rsa")]}));
    for alg in ["HS256", "HS384", "HS512"] {
        // Signed with anything: the "public key as HMAC secret" confusion can
        // not happen because no HMAC path exists.
        let t = ed_token(&format!(r#"{{"alg":"{alg}","kid":"rsa"}}"#), CLAIMS);
        let err = check(&t, &keys).unwrap_err();
        assert_eq!(err.code(), "unsupported_algorithm");
        assert!(err.description().contains(alg));
    }
    let t = ed_token(r#"{"alg":"XYZ-unknown"}"#, CLAIMS);
    let err = check(&t, &keys).unwrap_err();
    assert_eq!(err, JoseError::UnsupportedAlgorithm { name: None });
    assert!(!err.description().contains("XYZ"));
}

#[test]
fn alg_must_be_a_present_string() {
    let keys = set(json!({"keys": [ed_jwk("ed")]}));
    for header in [r#"{"kid":"ed"}"#, r#"{"alg":["EdDSA"]}"#, r#"{"alg":null}"#] {
        let err = check(&ed_token(header, CLAIMS), &keys).unwrap_err();
        assert_eq!(err.code(), "malformed_token", "{header}");
    }
    for header in [
        r#"{"alg":"EdDSA","kid":1}"#,
        r#"{"alg":"EdDSA","typ":{}}"#,
        r#"{"alg":"EdDSA","cty":false}"#,
        r#"{"alg":"EdDSA","b64":"no"}"#,
    ] {
        let err = check(&ed_token(header, CLAIMS), &keys).unwrap_err();
        assert_eq!(err.code(), "malformed_token", "{header}");
    }
}

#[test]
fn crit_and_unencoded_payload_are_refused() {
    let keys = set(json!({"keys": [ed_jwk("ed")]}));
    for header in [
        r#"{"alg":"EdDSA","crit":["exp"],"exp":1}"#,
        r#"{"alg":"EdDSA","crit":[]}"#,
        r#"{"alg":"EdDSA","crit":["b64"],"b64":false}"#,
        r#"{"alg":"EdDSA","b64":false}"#,
    ] {
        let err = check(&ed_token(header, CLAIMS), &keys).unwrap_err();
        assert_eq!(err, JoseError::UnsupportedCritical, "{header}");
        assert_eq!(err.code(), "unsupported_critical_header");
    }
    // b64 true is the default meaning and harmless.
    check(&ed_token(r#"{"alg":"EdDSA","b64":true}"#, CLAIMS), &keys).unwrap();
}

#[test]
fn embedded_and_remote_keys_are_never_used() {
    // An attacker signs with their own key and points at it every way JOSE
    // allows; only the configured key set counts (TX-22).
    let attacker_d = b64(&[9; 32]);
    let attacker_x = b64(ed_signing_key(&attacker_d).verifying_key().as_bytes());
    let header = json!({
        "alg": "EdDSA",
        "jwk": {"kty": "OKP", "crv": "Ed25519", "x": attacker_x},
        "jku": "https://attacker.example/jwks.json",
        "x5u": "https://attacker.example/cert.pem",
        "x5c": ["MIIB"],
    })
    .to_string();
    let token = mint(&header, CLAIMS, |m| ed_sign(&attacker_d, m));
    let keys = set(json!({"keys": [ed_jwk("ed")]}));
    assert_eq!(check(&token, &keys), Err(JoseError::BadSignature));
    assert_eq!(
        check(&token, &KeySet::empty()),
        Err(JoseError::NoMatchingKey)
    );
}

#[test]
fn algorithm_must_fit_the_key_named_by_kid() {
    let mut rsa_rs256 = rsa_public_jwk("rsa");
    rsa_rs256["alg"] = json!("RS256");
    let mut p256_es256 = p256_jwk("ec");
    p256_es256["alg"] = json!("ES256");
    let keys = set(json!({"keys": [rsa_rs256, p256_es256, ed_jwk("ed")]}));
    let cases = [
        // JWK alg says RS256; PS256 is the same kty but not this key's alg.
        (
            r#"{"alg":"PS256","kid":"rsa"}"#,
            JoseError::AlgorithmKeyMismatch,
        ),
        // RS256 on an EC key.
        (
            r#"{"alg":"RS256","kid":"ec"}"#,
            JoseError::AlgorithmKeyMismatch,
        ),
        // ES384 on a P-256 key whose alg is ES256.
        (
            r#"{"alg":"ES384","kid":"ec"}"#,
            JoseError::AlgorithmKeyMismatch,
        ),
        // EdDSA on an RSA key, and RSA on an Ed25519 key.
        (
            r#"{"alg":"EdDSA","kid":"rsa"}"#,
            JoseError::AlgorithmKeyMismatch,
        ),
        (
            r#"{"alg":"RS256","kid":"ed"}"#,
            JoseError::AlgorithmKeyMismatch,
        ),
        (r#"{"alg":"ES512"}"#, JoseError::NoMatchingKey),
        (r#"{"alg":"EdDSA","kid":"nobody"}"#, JoseError::UnknownKey),
    ];
    for (header, expected) in cases {
        let token = ed_token(header, CLAIMS);
        assert_eq!(check(&token, &keys), Err(expected.clone()), "{header}");
    }
    assert_eq!(
        JoseError::AlgorithmKeyMismatch.code(),
        "algorithm_key_mismatch"
    );
    assert_eq!(JoseError::UnknownKey.code(), "unknown_key");
    assert_eq!(JoseError::NoMatchingKey.code(), "no_matching_key");

    // The same mismatches through PublicJwk::accepts.
    let rsa = keys.iter().find(|k| k.kid() == Some("rsa")).unwrap();
    assert!(rsa.accepts(Algorithm::Rs256));
    assert!(!rsa.accepts(Algorithm::Ps256));
    assert_eq!(rsa.alg(), Some(Algorithm::Rs256));
    let ec = keys.iter().find(|k| k.kid() == Some("ec")).unwrap();
    assert!(ec.accepts(Algorithm::Es256));
    assert!(!ec.accepts(Algorithm::Es384));
    assert!(!ec.accepts(Algorithm::Rs256));

    // The verifier refuses a mismatched pair on its own as well.
    assert_eq!(
        RustCryptoVerifier.verify(Algorithm::Rs256, ec, b"m", &[0; 64]),
        Err(JoseError::AlgorithmKeyMismatch)
    );
}

#[test]
fn the_curve_fixes_the_ecdsa_algorithm() {
    let keys = set(json!({"keys": [p384_jwk("ec384"), p256_jwk("ec256")]}));
    // ES256 on a P-384 key, ES384 on a P-256 key.
    for header in [
        r#"{"alg":"ES256","kid":"ec384"}"#,
        r#"{"alg":"ES384","kid":"ec256"}"#,
        r#"{"alg":"ES512","kid":"ec384"}"#,
    ] {
        assert_eq!(
            check(&ed_token(header, CLAIMS), &keys),
            Err(JoseError::AlgorithmKeyMismatch),
            "{header}"
        );
    }
    let ec384 = keys.iter().find(|k| k.kid() == Some("ec384")).unwrap();
    assert!(ec384.accepts(Algorithm::Es384));
    assert!(!ec384.accepts(Algorithm::Es256));
    assert_eq!(
        RustCryptoVerifier.verify(Algorithm::Es256, ec384, b"m", &[0; 64]),
        Err(JoseError::AlgorithmKeyMismatch)
    );
}

/// The RFC 7520 §3.2 P-521 key's public members, from the cookbook vector file.
fn p521_jwk(kid: &str) -> Value {
    let doc: Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/jose-cookbook/4_3.ecdsa_signature.json"
    )))
    .unwrap();
    let key = &doc["input"]["key"];
    json!({"kty": "EC", "crv": "P-521", "kid": kid, "x": key["x"], "y": key["y"]})
}

#[test]
fn p384_and_p521_points_are_checked_when_the_key_set_is_built() {
    let mut docs = vec![];
    for (jwk, size) in [(p384_jwk("k"), 48), (p521_jwk("k"), 66)] {
        let coordinate = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap();
        let (x, y) = (coordinate("x"), coordinate("y"));
        assert_eq!((x.len(), y.len()), (size, size));
        // The key as given is usable.
        assert_eq!(set(jwk.clone()).len(), 1);

        let mut off_curve = jwk.clone();
        let mut y_off = y.clone();
        y_off[size - 1] ^= 1;
        off_curve["y"] = json!(b64(&y_off));
        // RFC 7518 §6.2.1.2: the coordinate is the full field size, even
        // with leading zero octets; no shorter or longer spelling.
        let mut short_x = jwk.clone();
        short_x["x"] = json!(b64(&x[1..]));
        let mut long_x = jwk.clone();
        long_x["x"] = json!(b64(&[&[0u8][..], &x[..]].concat()));
        // All ones is at least p for both primes.
        let mut huge_x = jwk.clone();
        let mut ones = vec![0xff; size];
        if size == 66 {
            ones[0] = 0x01;
        }
        huge_x["x"] = json!(b64(&ones));
        let mut zero = jwk.clone();
        zero["x"] = json!(b64(&vec![0; size]));
        zero["y"] = json!(b64(&vec![0; size]));
        docs.extend([off_curve, short_x, long_x, huge_x, zero]);
    }
    let (keys, skipped) = KeySet::from_value(&json!({ "keys": docs })).unwrap();
    assert!(keys.is_empty());
    assert_eq!(skipped.len(), 10);
    assert!(
        skipped.iter().all(|s| s.reason == "bad_key_encoding"),
        "{skipped:?}"
    );
}

// ------------------------------------------------------------------ encodings

#[test]
fn base64url_must_be_strict() {
    let keys = set(json!({"keys": [ed_jwk("ed")]}));
    let good = ed_token(r#"{"alg":"EdDSA"}"#, CLAIMS);
    check(&good, &keys).unwrap();
    let parts: Vec<&str> = good.split('.').collect();
    let (h, p, s) = (parts[0], parts[1], parts[2]);
    assert_eq!(s.len(), 86, "a 64-octet signature leaves 4 unused bits");

    let last = s.chars().last().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let pos = alphabet.find(last).unwrap();
    // Same decoded bytes, but a non-zero unused trailing bit.
    let non_canonical = format!("{}{}", &s[..85], &alphabet[pos ^ 1..(pos ^ 1) + 1]);
    assert_ne!(non_canonical, s);

    let padded_sig = format!("{s}==");
    let std_alphabet_sig = s.replace('-', "+").replace('_', "/");
    let bad_tokens = [
        format!("{h}.{p}.{padded_sig}"),
        format!("{h}=.{p}.{s}"),
        format!("{h}.{p}.{non_canonical}"),
        format!("{h}.{p} .{s}"),
        format!("{h}.{p}.{s}\n"),
        format!("{h}.{p}.{s}!"),
        format!("{h}.{p}.{}", &s[..85]),
        format!("{h}.{p}x.{s}"),
    ];
    for token in &bad_tokens {
        assert_eq!(
            check(token, &keys).unwrap_err().code(),
            "malformed_token",
            "{token}"
        );
    }
    if std_alphabet_sig != s {
        let token = format!("{h}.{p}.{std_alphabet_sig}");
        assert_eq!(check(&token, &keys).unwrap_err().code(), "malformed_token");
    }
}

/// TX-29: a token whose every part holds `-` or `_` and has unused
/// trailing bits, so that each second spelling can be tried on each part.
fn token_with_every_spelling_at_stake() -> String {
    let fits = |part: &str| part.contains('-') && part.contains('_') && part.len() % 4 >= 2;
    for i in 0..100_000 {
        // `~` and `?` give the symbols `-` and `_` at some alignments; the
        // run of `a` moves them.
        let shift = "a".repeat(i % 3);
        let header = format!(r#"{{"alg":"EdDSA","x":"{shift}~~~???{i}"}}"#);
        let payload = format!(
            r#"{{"iss":"https://issuer.example","sub":"alice","exp":2000000000,"n":"{shift}~~~???{i}"}}"#
        );
        if !fits(&b64(header.as_bytes())) || !fits(&b64(payload.as_bytes())) {
            continue;
        }
        let token = ed_token(&header, &payload);
        if token.rsplit('.').next().is_some_and(fits) {
            return token;
        }
    }
    panic!("no token with - and _ in every part");
}

/// TX-29: padding, non-zero trailing bits, whitespace anywhere and the
/// standard alphabet (`+`, `/`) are refused in each of the three parts, and
/// each of these spellings really is a second spelling: a lenient decoder
/// reads the same bytes from it.
#[test]
fn tx29_every_second_spelling_is_refused_in_every_part() {
    use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD_NO_PAD};
    use base64::engine::DecodePaddingMode;
    let lenient = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let keys = set(json!({"keys": [ed_jwk("~?")]}));
    let good = token_with_every_spelling_at_stake();
    parse(&good).unwrap();
    let parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (index, part) in parts.iter().enumerate() {
        let bytes = lenient.decode(part).unwrap();
        let mut spellings: Vec<(String, String)> = Vec::new();
        // Padding to a multiple of four.
        let padded = format!("{part}{}", "=".repeat((4 - part.len() % 4) % 4));
        assert_eq!(lenient.decode(&padded).unwrap(), bytes);
        spellings.push(("padding".into(), padded));
        spellings.push(("extra padding".into(), format!("{part}====")));
        // Non-zero unused trailing bits: the lowest bit of the last symbol.
        let last = part.chars().last().unwrap();
        let flipped = alphabet
            .chars()
            .nth(alphabet.find(last).unwrap() ^ 1)
            .unwrap();
        let trailing = format!("{}{flipped}", &part[..part.len() - 1]);
        assert_eq!(lenient.decode(&trailing).unwrap(), bytes);
        spellings.push(("trailing bits".into(), trailing));
        // The standard alphabet.
        let standard = part.replace('-', "+").replace('_', "/");
        assert_ne!(&standard, part);
        assert_eq!(STANDARD_NO_PAD.decode(&standard).unwrap(), bytes);
        spellings.push(("standard alphabet".into(), standard));
        // Whitespace at the start, in the middle and at the end.
        for ws in [" ", "\t", "\n", "\r", "\r\n"] {
            let middle = part.len() / 2;
            for spelled in [
                format!("{ws}{part}"),
                format!("{}{ws}{}", &part[..middle], &part[middle..]),
                format!("{part}{ws}"),
            ] {
                spellings.push((format!("whitespace {ws:?}"), spelled));
            }
        }
        for (what, spelled) in spellings {
            let mut token_parts = parts.clone();
            token_parts[index] = spelled;
            let token = token_parts.join(".");
            assert_eq!(
                parse(&token).unwrap_err(),
                JoseError::MalformedToken(match index {
                    0 => "header is not base64url",
                    1 => "payload is not base64url",
                    _ => "signature is not base64url",
                }),
                "{what} in part {index}: {token}"
            );
            assert_eq!(check(&token, &keys).unwrap_err().code(), "malformed_token");
        }
    }
    // The original spelling still verifies.
    check(&good, &keys).unwrap();
}

#[test]
fn exactly_three_parts() {
    let keys = set(json!({"keys": [ed_jwk("ed")]}));
    let good = ed_token(r#"{"alg":"EdDSA"}"#, CLAIMS);
    let (head, sig) = good.rsplit_once('.').unwrap();
    for token in [
        format!("{good}.{sig}"),
        format!("{head}.{sig}.{sig}.{sig}"),
        head.to_owned(),
        String::new(),
        ".".to_owned(),
        "..".to_owned(),
        "...".to_owned(),
    ] {
        let err = check(&token, &keys).unwrap_err();
        assert_eq!(err.code(), "malformed_token", "{token}");
    }
}

#[test]
fn empty_signature_is_malformed() {
    let token = format!("{}.{}.", b64(br#"{"alg":"EdDSA"}"#), b64(CLAIMS.as_bytes()));
    assert_eq!(
        parse(&token).unwrap_err(),
        JoseError::MalformedToken("signature is empty")
    );
}

#[test]
fn wrong_length_signatures_fail_as_bad_signatures() {
    let keys = set(json!({"keys": [ed_jwk("ed"), p256_jwk("ec"), rsa_public_jwk("rsa")]}));
    let es = mint(r#"{"alg":"ES256","kid":"ec"}"#, CLAIMS, |m| {
        let mut sig = p256_sign(m);
        sig.push(0); // 65 octets: RFC 7518 §3.4 wants exactly 64
        sig
    });
    assert_eq!(check(&es, &keys), Err(JoseError::BadSignature));
    let es_der_like = mint(r#"{"alg":"ES256","kid":"ec"}"#, CLAIMS, |_| vec![0x30; 70]);
    assert_eq!(check(&es_der_like, &keys), Err(JoseError::BadSignature));
    let ed = mint(r#"{"alg":"EdDSA","kid":"ed"}"#, CLAIMS, |m| {
        ed_sign(ED_D, m)[..63].to_vec()
    });
    assert_eq!(check(&ed, &keys), Err(JoseError::BadSignature));
    let rs = mint(r#"{"alg":"RS256","kid":"rsa"}"#, CLAIMS, |m| {
        let mut sig = vec![0];
        sig.extend(rsa_sign_rs256(m)); // a leading zero octet: 257 octets
        sig
    });
    assert_eq!(check(&rs, &keys), Err(JoseError::BadSignature));
}

#[test]
fn every_single_character_change_is_refused() {
    let keys = set(json!({"keys": [ed_jwk("ed")]}));
    let good = ed_token(r#"{"alg":"EdDSA","kid":"ed"}"#, CLAIMS);
    check(&good, &keys).unwrap();
    let bytes = good.as_bytes();
    let mut refused = 0;
    for i in 0..bytes.len() {
        for replacement in [b'A', b'_', b'.', b'='] {
            if bytes[i] == replacement {
                continue;
            }
            let mut changed = bytes.to_vec();
            changed[i] = replacement;
            let changed = String::from_utf8(changed).unwrap();
            assert!(check(&changed, &keys).is_err(), "position {i}");
            refused += 1;
        }
    }
    assert!(refused > 300);
}

// --------------------------------------------------------------------- limits

#[test]
fn oversized_tokens_are_refused_before_decoding() {
    let limits = Limits::default();
    assert_eq!(limits.max_token_bytes, 16384);
    assert_eq!(limits.max_json_depth, 16);
    // Not even base64: the size check must come first.
    let junk = "!".repeat(limits.max_token_bytes + 1);
    let err = CompactJws::parse(&junk, &limits).unwrap_err();
    assert_eq!(err, JoseError::TokenTooLarge { limit: 16384 });
    assert_eq!(err.code(), "token_too_large");
    // A well-formed, validly signed token over the limit too.
    let keys = set(json!({"keys": [ed_jwk("ed")]}));
    let big = ed_token(
        r#"{"alg":"EdDSA"}"#,
        &format!(r#"{{"pad":"{}"}}"#, "x".repeat(limits.max_token_bytes)),
    );
    assert_eq!(check(&big, &keys).unwrap_err().code(), "token_too_large");
    let roomy = Limits {
        max_token_bytes: 1 << 20,
        ..Limits::default()
    };
    let jws = CompactJws::parse(&big, &roomy).unwrap();
    verify(&jws, &keys, &RustCryptoVerifier).unwrap();
    // At exactly the limit the token is accepted.
    let exact = Limits {
        max_token_bytes: big.len(),
        ..Limits::default()
    };
    CompactJws::parse(&big, &exact).unwrap();
}

#[test]
fn ten_thousand_deep_json_is_refused_without_recursion() {
    let roomy = Limits {
        max_token_bytes: 1 << 20,
        ..Limits::default()
    };
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let keys = set(json!({"keys": [ed_jwk("ed")]}));

    let header = format!(r#"{{"alg":"EdDSA","x":{deep}}}"#);
    let token = ed_token(&header, CLAIMS);
    let err = CompactJws::parse(&token, &roomy).unwrap_err();
    assert_eq!(err, JoseError::JsonTooDeep);
    assert_eq!(err.code(), "json_too_deep");

    let payload = format!(r#"{{"sub":"alice","x":{deep}}}"#);
    let token = ed_token(r#"{"alg":"EdDSA"}"#, &payload);
    let jws = CompactJws::parse(&token, &roomy).unwrap();
    verify(&jws, &keys, &RustCryptoVerifier).unwrap();
    assert_eq!(jws.claims(&roomy), Err(JoseError::JsonTooDeep));

    // Run on a small stack to show no recursion is involved.
    let handle = std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(move || {
            let jws = CompactJws::parse(&token, &roomy).unwrap();
            jws.claims(&roomy).unwrap_err()
        })
        .unwrap();
    assert_eq!(handle.join().unwrap(), JoseError::JsonTooDeep);

    // Depth 16 is allowed, 17 is not (the claims object itself is level 1).
    let at_limit = format!(r#"{{"x":{}{}}}"#, "[".repeat(15), "]".repeat(15));
    let over = format!(r#"{{"x":{}{}}}"#, "[".repeat(16), "]".repeat(16));
    let jws_ok = ed_token(r#"{"alg":"EdDSA"}"#, &at_limit);
    let jws_over = ed_token(r#"{"alg":"EdDSA"}"#, &over);
    assert!(parse(&jws_ok).unwrap().claims(&Limits::default()).is_ok());
    assert_eq!(
        parse(&jws_over).unwrap().claims(&Limits::default()),
        Err(JoseError::JsonTooDeep)
    );
}

#[test]
fn duplicate_members_are_refused_in_header_and_payload() {
    let keys = set(json!({"keys": [ed_jwk("ed")]}));
    for header in [
        r#"{"alg":"EdDSA","alg":"EdDSA"}"#,
        r#"{"alg":"EdDSA","kid":"ed","kid":"other"}"#,
        r#"{"alg":"EdDSA","x":{"a":1,"a":1}}"#,
    ] {
        let err = check(&ed_token(header, CLAIMS), &keys).unwrap_err();
        assert_eq!(err, JoseError::DuplicateJsonMember, "{header}");
        assert_eq!(err.code(), "duplicate_json_member");
    }
    let token = ed_token(r#"{"alg":"EdDSA"}"#, r#"{"sub":"alice","sub":"admin"}"#);
    let jws = parse(&token).unwrap();
    verify(&jws, &keys, &RustCryptoVerifier).unwrap();
    assert_eq!(
        jws.claims(&Limits::default()),
        Err(JoseError::DuplicateJsonMember)
    );
}

#[test]
fn header_and_payload_must_be_json_objects() {
    let keys = set(json!({"keys": [ed_jwk("ed")]}));
    for header in ["[]", "\"EdDSA\"", "{", "", "{\"alg\":\"EdDSA\"} x"] {
        let err = check(&ed_token(header, CLAIMS), &keys).unwrap_err();
        assert_eq!(
            err,
            JoseError::MalformedToken("header is not a JSON object"),
            "{header}"
        );
    }
    let bad_utf8 = format!(
        "{}.{}.{}",
        b64(b"{\"alg\":\"EdDSA\",\"k\":\"\xff\"}"),
        b64(b"{}"),
        b64(&[1; 64])
    );
    assert_eq!(
        check(&bad_utf8, &keys).unwrap_err().code(),
        "malformed_token"
    );
    for payload in ["[1]", "", "null", "{\"a\":1}{}"] {
        let token = ed_token(r#"{"alg":"EdDSA"}"#, payload);
        let jws = parse(&token).unwrap();
        assert_eq!(
            jws.claims(&Limits::default()),
            Err(JoseError::MalformedToken("payload is not a JSON object")),
            "{payload}"
        );
    }
}

#[test]
fn descriptions_never_echo_token_or_key_contents() {
    let marker = "SECRETMARKER";
    let keys = set(json!({"keys": [ed_jwk(marker)]}));
    let tokens = [
        ed_token(&format!(r#"{{"alg":"{marker}"}}"#), CLAIMS),
        ed_token(&format!(r#"{{"alg":"EdDSA","kid":"{marker}x"}}"#), CLAIMS),
        ed_token(&format!(r#"{{"alg":"RS256","kid":"{marker}"}}"#), CLAIMS),
        ed_token(&format!(r#"{{"alg":"EdDSA","crit":["{marker}"]}}"#), CLAIMS),
        mint(
            &format!(r#"{{"alg":"EdDSA","kid":"{marker}"}}"#),
            marker,
            |_| vec![1; 64],
        ),
        format!("{marker}.{marker}.{marker}.{marker}"),
    ];
    for token in &tokens {
        let err = check(token, &keys).unwrap_err();
        let text = format!("{err} {} {err:?}", err.description());
        assert!(!text.contains(marker), "{text}");
        assert!(!text.contains(ED_X), "{text}");
    }
    let key = keys.iter().next().unwrap();
    assert!(!format!("{key:?}").contains(ED_X));
    let token = ed_token(
        &format!(r#"{{"alg":"EdDSA","kid":"{marker}"}}"#),
        &format!(r#"{{"sub":"{marker}"}}"#),
    );
    let jws = parse(&token).unwrap();
    assert!(!format!("{jws:?}").contains(marker));
}

// -------------------------------------------------------------------- key sets

#[test]
fn unusable_keys_are_skipped_with_a_reason() {
    let mut rsa_small = rsa_public_jwk("rsa-1024");
    // An odd 1024-bit modulus with its top bit set.
    let mut n = vec![0xc5; 128];
    n[127] = 0x01;
    rsa_small["n"] = json!(b64(&n));
    let mut rsa_huge = rsa_public_jwk("rsa-huge");
    let mut n = vec![0xc5; 1025];
    n[1024] = 0x01;
    rsa_huge["n"] = json!(b64(&n));
    let mut rsa_even = rsa_public_jwk("rsa-even-e");
    rsa_even["e"] = json!(b64(&[2]));
    let mut ec_bad_point = p256_jwk("ec-off-curve");
    ec_bad_point["y"] = json!(b64(&[1; 32]));
    let mut ec_short = p256_jwk("ec-short-x");
    let x = URL_SAFE_NO_PAD
        .decode(ec_short["x"].as_str().unwrap())
        .unwrap();
    ec_short["x"] = json!(b64(&x[1..]));
    let mut ec_private = p256_jwk("ec-private");
    ec_private["d"] = json!(b64(&[0x11; 32]));
    let mut rsa_private = rsa_public_jwk("rsa-private");
    rsa_private["p"] = json!("AQAB");
    let mut rs256_on_ec = p256_jwk("rs256-on-ec");
    rs256_on_ec["alg"] = json!("RS256");
    let mut es256_on_p384 = p384_jwk("es256-on-p384");
    es256_on_p384["alg"] = json!("ES256");
    let mut hs256_on_rsa = rsa_public_jwk("hs256-on-rsa");
    hs256_on_rsa["alg"] = json!("HS256");
    let mut enc_alg = rsa_public_jwk("rsa-oaep");
    enc_alg["alg"] = json!("RSA-OAEP");
    let mut for_enc = ed_jwk("use-enc");
    for_enc["use"] = json!("enc");
    let mut sign_only = ed_jwk("ops-sign");
    sign_only["key_ops"] = json!(["sign"]);
    let mut ops_dup = ed_jwk("ops-dup");
    ops_dup["key_ops"] = json!(["verify", "verify"]);
    let mut padded_x = ed_jwk("padded-x");
    padded_x["x"] = json!(format!("{ED_X}="));
    let mut kid_number = ed_jwk("x");
    kid_number["kid"] = json!(7);
    // Small-order point: y = 1 is the identity (RFC 8032 §5.1.3 encoding).
    let mut identity = [0u8; 32];
    identity[0] = 1;

    let mut good_sig = ed_jwk("good-sig");
    good_sig["use"] = json!("sig");
    good_sig["key_ops"] = json!(["verify"]);
    good_sig["alg"] = json!("EdDSA");

    let doc = json!({"keys": [
        {"kty": "oct", "k": "c2VjcmV0", "kid": "oct"},
        for_enc,
        sign_only,
        ops_dup,
        {"kty": "EC", "crv": "secp256k1", "x": "AA", "y": "AA", "kid": "k1"},
        {"kty": "EC", "crv": "P-192", "x": "AA", "y": "AA", "kid": "p192"},
        {"kty": "OKP", "crv": "X25519", "x": ED_X, "kid": "x25519"},
        {"kty": "OKP", "crv": "Ed448", "x": ED_X, "kid": "ed448"},
        {"kty": "OKP", "crv": "Ed25519", "x": b64(&identity), "kid": "weak"},
        {"kty": "foo", "kid": "foo"},
        {"kid": "no-kty"},
        ec_private,
        rsa_private,
        rsa_small,
        rsa_huge,
        rsa_even,
        ec_bad_point,
        ec_short,
        padded_x,
        rs256_on_ec,
        es256_on_p384,
        hs256_on_rsa,
        enc_alg,
        kid_number,
        "not an object",
        ed_jwk("good-plain"),
        good_sig,
    ]});
    let (keys, skipped) = KeySet::from_value(&doc).unwrap();
    let got: Vec<(Option<&str>, &str)> = skipped
        .iter()
        .map(|s| (s.kid.as_deref(), s.reason))
        .collect();
    let expected = vec![
        (Some("oct"), "symmetric_key"),
        (Some("use-enc"), "not_for_signatures"),
        (Some("ops-sign"), "no_verify_operation"),
        (Some("ops-dup"), "malformed_member"),
        (Some("k1"), "unsupported_curve"),
        (Some("p192"), "unsupported_curve"),
        (Some("x25519"), "unsupported_curve"),
        (Some("ed448"), "unsupported_curve"),
        (Some("weak"), "weak_key"),
        (Some("foo"), "unsupported_key_type"),
        (Some("no-kty"), "missing_key_type"),
        (Some("ec-private"), "private_key_material"),
        (Some("rsa-private"), "private_key_material"),
        (Some("rsa-1024"), "rsa_key_size"),
        (Some("rsa-huge"), "rsa_key_size"),
        (Some("rsa-even-e"), "bad_key_encoding"),
        (Some("ec-off-curve"), "bad_key_encoding"),
        (Some("ec-short-x"), "bad_key_encoding"),
        (Some("padded-x"), "bad_key_encoding"),
        (Some("rs256-on-ec"), "algorithm_key_mismatch"),
        (Some("es256-on-p384"), "algorithm_key_mismatch"),
        (Some("hs256-on-rsa"), "unsupported_algorithm"),
        (Some("rsa-oaep"), "unsupported_algorithm"),
        (None, "malformed_member"),
        (None, "not_an_object"),
    ];
    assert_eq!(got, expected);
    assert_eq!(keys.len(), 2);
    assert!(keys.contains_kid("good-plain"));
    assert!(keys.contains_kid("good-sig"));
    assert!(!keys.contains_kid("oct"));
    // Whatever was skipped, the good keys still work.
    check(
        &ed_token(r#"{"alg":"EdDSA","kid":"good-sig"}"#, CLAIMS),
        &keys,
    )
    .unwrap();
    // A kid that only a skipped key had is unknown.
    assert_eq!(
        check(&ed_token(r#"{"alg":"EdDSA","kid":"weak"}"#, CLAIMS), &keys),
        Err(JoseError::UnknownKey)
    );
}

#[test]
fn rsa_modulus_bounds_are_inclusive() {
    // 2048 bits (the cookbook key) is accepted: 2047 is not.
    let keys = set(rsa_public_jwk("rsa"));
    assert_eq!(keys.len(), 1);
    let mut n = vec![0x7f; 256];
    n[255] = 0x01;
    let mut jwk = rsa_public_jwk("rsa-2047");
    jwk["n"] = json!(b64(&n));
    let (keys, skipped) = KeySet::from_value(&jwk).unwrap();
    assert!(keys.is_empty());
    assert_eq!(skipped[0].reason, "rsa_key_size");
    // A leading zero octet (seen in the wild, RFC 7518 §6.3.1.1) is tolerated.
    let mut jwk = rsa_public_jwk("rsa-zero");
    let mut n = vec![0];
    n.extend(URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap());
    jwk["n"] = json!(b64(&n));
    let keys = set(jwk);
    check(&mint(r#"{"alg":"RS256"}"#, CLAIMS, rsa_sign_rs256), &keys).unwrap();
}

#[test]
fn whole_document_errors() {
    let limits = Limits::default();
    let code = |bytes: &[u8]| KeySet::from_json(bytes, &limits).unwrap_err();
    assert_eq!(
        code(b"not json"),
        JoseError::MalformedJwks("document is not a JSON object")
    );
    assert_eq!(
        code(b"[]"),
        JoseError::MalformedJwks("document is not a JSON object")
    );
    assert_eq!(
        code(br#"{"keys":{}}"#),
        JoseError::MalformedJwks("keys is not an array")
    );
    assert_eq!(
        code(br#"{"other":[]}"#),
        JoseError::MalformedJwks("neither a JWK Set nor a JWK")
    );
    assert_eq!(
        code(br#"{"keys":[],"keys":[]}"#),
        JoseError::MalformedJwks("document has a duplicate member name")
    );
    let deep = format!(
        r#"{{"keys":[{{"x5c":{}{}}}]}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let roomy = Limits {
        max_token_bytes: 1 << 20,
        ..Limits::default()
    };
    assert_eq!(
        KeySet::from_json(deep.as_bytes(), &roomy).unwrap_err(),
        JoseError::MalformedJwks("document is nested too deeply")
    );
    let many = json!({"keys": vec![ed_jwk("k"); JWKS_MAX_KEYS + 1]}).to_string();
    assert_eq!(
        code(many.as_bytes()),
        JoseError::MalformedJwks("too many keys")
    );
    let huge = vec![b' '; limits.max_token_bytes + 1];
    assert_eq!(
        code(&huge),
        JoseError::MalformedJwks("document is too large")
    );
    assert_eq!(code(b"{}").code(), "malformed_jwks");
    assert_eq!(
        KeySet::from_value(&json!("x")).unwrap_err().code(),
        "malformed_jwks"
    );

    // An empty JWKS and a single JWK are both fine.
    let (keys, skipped) = KeySet::from_json(br#"{"keys":[]}"#, &limits).unwrap();
    assert!(keys.is_empty() && skipped.is_empty());
    let single = ed_jwk("one").to_string();
    let (keys, _) = KeySet::from_json(single.as_bytes(), &limits).unwrap();
    assert_eq!(keys.len(), 1);
    assert!(keys.contains_kid("one"));
    let (keys, _) = KeySet::from_json(
        json!({"keys": vec![ed_jwk("k"); JWKS_MAX_KEYS]})
            .to_string()
            .as_bytes(),
        &limits,
    )
    .unwrap();
    assert_eq!(keys.len(), JWKS_MAX_KEYS);

    // The size bound is the caller's: a key set larger than a token is
    // read with a larger bound.
    let mut padded = ed_jwk("big").to_string().into_bytes();
    padded.extend(vec![b' '; 20_000]);
    assert_eq!(
        code(&padded),
        JoseError::MalformedJwks("document is too large")
    );
    let roomy = Limits {
        max_token_bytes: 1 << 20,
        ..Limits::default()
    };
    let (keys, _) = KeySet::from_json(&padded, &roomy).unwrap();
    assert!(keys.contains_kid("big"));
}

#[test]
fn error_codes_are_stable() {
    let all = [
        (JoseError::TokenTooLarge { limit: 1 }, "token_too_large"),
        (JoseError::MalformedToken("x"), "malformed_token"),
        (JoseError::JsonTooDeep, "json_too_deep"),
        (JoseError::DuplicateJsonMember, "duplicate_json_member"),
        (
            JoseError::UnsupportedAlgorithm { name: None },
            "unsupported_algorithm",
        ),
        (
            JoseError::UnsupportedCritical,
            "unsupported_critical_header",
        ),
        (JoseError::UnknownKey, "unknown_key"),
        (JoseError::NoMatchingKey, "no_matching_key"),
        (JoseError::AlgorithmKeyMismatch, "algorithm_key_mismatch"),
        (JoseError::BadSignature, "bad_signature"),
        (JoseError::MalformedJwks("x"), "malformed_jwks"),
    ];
    for (err, code) in all {
        assert_eq!(err.code(), code);
        assert!(!err.description().is_empty());
    }
}

// ------------------------------------------------------------------ robustness

/// A small deterministic generator, so the test needs no randomness crate.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

#[test]
fn arbitrary_input_never_panics() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let keys = set(json!({"keys": [ed_jwk("ed"), p256_jwk("ec"), rsa_public_jwk("rsa")]}));
    let limits = Limits::default();
    let fragments = [
        "eyJhbGciOiJFZERTQSJ9",
        "eyJhbGciOiJSUzI1NiJ9",
        "eyJhbGciOiJFUzI1NiIsImtpZCI6ImVjIn0",
        "e30",
        ".",
        "..",
        "A",
        "_-",
        "=",
        "%",
        "\u{e9}",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ];
    for _ in 0..5_000 {
        let mut token = String::new();
        for _ in 0..(rng.next() % 8) {
            token.push_str(rng.pick(&fragments));
        }
        if let Ok(jws) = CompactJws::parse(&token, &limits) {
            assert!(verify(&jws, &keys, &RustCryptoVerifier).is_err());
            let _ = jws.claims(&limits);
        }
    }
    let json_fragments = [
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"keys\"",
        "\"kty\"",
        "\"RSA\"",
        "\"EC\"",
        "\"OKP\"",
        "\"n\"",
        "\"e\"",
        "\"x\"",
        "\"y\"",
        "\"crv\"",
        "\"P-256\"",
        "\"Ed25519\"",
        "\"AQAB\"",
        "\"\"",
        "1",
        "null",
        "\"\\\"",
        "\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"",
    ];
    for _ in 0..5_000 {
        let mut doc = String::new();
        for _ in 0..(rng.next() % 24) {
            doc.push_str(rng.pick(&json_fragments));
        }
        let _ = KeySet::from_json(doc.as_bytes(), &limits);
    }
}
