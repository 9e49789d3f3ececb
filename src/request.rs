//! The token-exchange request (RFC 8693 §2.1) parsed from the token endpoint
//! form, given as name/value pairs so repeats survive (TX-6, TX-8).

use crate::error::quote;
use crate::reason::{Reason, Refusal};
use serde::{Deserialize, Serialize};

/// `grant_type` value of RFC 8693 §2.1.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// `grant_type` of RFC 7523 §2.1, the grant an ID-JAG is redeemed with.
pub const JWT_BEARER_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The `typ` of an ID-JAG (draft §3.1, RFC 8725 §3.11), compared ASCII
/// case-insensitively, with or without the `application/` prefix (RFC 7515
/// §4.1.9).
pub const ID_JAG_TYP: &str = "oauth-id-jag+jwt";

/// Most `audience` plus `resource` values one request may carry (TX-25).
pub const MAX_TARGETS: usize = 128;
/// Most scope tokens one request may carry (TX-25).
pub const MAX_SCOPES: usize = 1024;
/// Longest single `audience`, `resource` or scope token accepted.
pub const MAX_VALUE_BYTES: usize = 2048;

/// Token type identifiers of RFC 8693 §3 that the engine understands (TX-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenType {
    /// `urn:ietf:params:oauth:token-type:access_token`
    AccessToken,
    /// `urn:ietf:params:oauth:token-type:refresh_token`
    RefreshToken,
    /// `urn:ietf:params:oauth:token-type:id_token`
    IdToken,
    /// `urn:ietf:params:oauth:token-type:jwt`
    Jwt,
    /// `urn:ietf:params:oauth:token-type:id-jag`, an Identity Assertion JWT
    /// Authorization Grant (draft-ietf-oauth-identity-assertion-authz-grant
    /// §3). Only ever requested (`requested_token_type`) or presented with
    /// the jwt-bearer grant (`crate::assertion`), never as a subject or actor
    /// token. Its short name is `id_jag`.
    IdJag,
}

const TYPE_PREFIX: &str = "urn:ietf:params:oauth:token-type:";

impl TokenType {
    /// Every understood type.
    pub const ALL: [TokenType; 5] = [
        TokenType::AccessToken,
        TokenType::RefreshToken,
        TokenType::IdToken,
        TokenType::Jwt,
        TokenType::IdJag,
    ];

    /// The full URI, e.g. `urn:ietf:params:oauth:token-type:access_token`.
    pub fn uri(self) -> &'static str {
        match self {
            Self::AccessToken => "urn:ietf:params:oauth:token-type:access_token",
            Self::RefreshToken => "urn:ietf:params:oauth:token-type:refresh_token",
            Self::IdToken => "urn:ietf:params:oauth:token-type:id_token",
            Self::Jwt => "urn:ietf:params:oauth:token-type:jwt",
            Self::IdJag => "urn:ietf:params:oauth:token-type:id-jag",
        }
    }

    /// The short name used in policies, e.g. `access_token` (`id_jag` for
    /// the URI's `id-jag`).
    pub fn name(self) -> &'static str {
        match self {
            Self::IdJag => "id_jag",
            other => other.uri().trim_start_matches(TYPE_PREFIX),
        }
    }

    /// Parses a token type URI; `None` for SAML and anything unknown.
    pub fn from_uri(uri: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.uri() == uri)
    }
}

/// A parsed token-exchange request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeRequest {
    /// `subject_token` (TX-2).
    pub subject_token: String,
    /// `subject_token_type` (TX-2, TX-4).
    pub subject_token_type: TokenType,
    /// `actor_token` with its type, when present (TX-3).
    pub actor: Option<(String, TokenType)>,
    /// `requested_token_type`, defaulting to an access token (TX-5): an
    /// access token, a JWT or an ID-JAG.
    pub requested_token_type: TokenType,
    /// `audience` values, in order, without repeats (TX-6).
    pub audiences: Vec<String>,
    /// `resource` values, in order, without repeats (TX-6, RFC 8707).
    pub resources: Vec<String>,
    /// `scope` tokens, when the parameter was given (TX-7).
    pub scope: Option<Vec<String>>,
}

/// Parameters that may appear at most once (TX-8). RFC 6749 §3.1: "Request
/// and response parameters MUST NOT be included more than once."
const SINGLE: [&str; 9] = [
    "grant_type",
    "subject_token",
    "subject_token_type",
    "actor_token",
    "actor_token_type",
    "requested_token_type",
    "scope",
    "client_id",
    "client_secret",
];

/// Finds the single value of `name`; empty values count as absent (RFC 6749
/// §3.1: parameters sent without a value are treated as omitted).
pub(crate) fn single<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, v)| k == name && !v.is_empty())
        .map(|(_, v)| v.as_str())
}

fn token_type(value: &str, parameter: &str) -> Result<TokenType, Refusal> {
    TokenType::from_uri(value).ok_or_else(|| {
        Refusal::new(
            Reason::UnsupportedTokenType,
            format!("{parameter} {} is not a supported token type", quote(value)),
        )
    })
}

/// The type of a presented (subject or actor) token: an ID-JAG is refused
/// like SAML, since it is redeemed with the jwt-bearer grant (RFC 7523
/// §2.1), never exchanged.
fn presented_type(value: &str, parameter: &str) -> Result<TokenType, Refusal> {
    match token_type(value, parameter)? {
        TokenType::IdJag => Err(Refusal::new(
            Reason::UnsupportedTokenType,
            format!(
                "{parameter} {} is not accepted: an ID-JAG is presented with the jwt-bearer grant",
                quote(value)
            ),
        )),
        other => Ok(other),
    }
}

/// RFC 8707 §2: a resource is an absolute URI without a fragment.
fn valid_resource(value: &str) -> bool {
    let Some((scheme, rest)) = value.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    let scheme_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    scheme_ok
        && !rest.is_empty()
        && !value.contains('#')
        && value.chars().all(|c| c.is_ascii_graphic())
}

/// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
fn valid_scope_token(token: &str) -> bool {
    token
        .bytes()
        .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// Splits a space-delimited scope value, dropping repeats, keeping order.
pub fn split_scope(value: &str) -> Vec<String> {
    // A set of the tokens seen keeps this linear in the number of scopes.
    let mut seen = std::collections::HashSet::new();
    value
        .split(' ')
        .filter(|t| !t.is_empty() && seen.insert(*t))
        .map(str::to_owned)
        .collect()
}

pub(crate) fn push_unique(list: &mut Vec<String>, value: &str) {
    if !list.iter().any(|v| v == value) {
        list.push(value.to_owned());
    }
}

impl ExchangeRequest {
    /// Parses the form. `max_token_bytes` bounds the presented tokens before
    /// any decoding happens (TX-25).
    pub fn parse(form: &[(String, String)], max_token_bytes: usize) -> Result<Self, Refusal> {
        check_single(form, &SINGLE)?;
        grant_type(form, GRANT_TYPE)?;
        let subject_token =
            single(form, "subject_token").ok_or_else(|| missing("subject_token"))?;
        let subject_type =
            single(form, "subject_token_type").ok_or_else(|| missing("subject_token_type"))?;
        let subject_token_type = presented_type(subject_type, "subject_token_type")?;
        let actor = match (
            single(form, "actor_token"),
            single(form, "actor_token_type"),
        ) {
            (Some(token), Some(kind)) => Some((token, presented_type(kind, "actor_token_type")?)),
            (Some(_), None) => {
                return Err(Refusal::new(
                    Reason::MissingParameter,
                    "actor_token_type is required when actor_token is present",
                ))
            }
            (None, Some(_)) => {
                return Err(Refusal::new(
                    Reason::UnexpectedParameter,
                    "actor_token_type must not be given without actor_token",
                ))
            }
            (None, None) => None,
        };
        for token in std::iter::once(subject_token).chain(actor.as_ref().map(|(t, _)| *t)) {
            if token.len() > max_token_bytes {
                return Err(Refusal::new(
                    Reason::TokenTooLarge,
                    format!("a presented token is larger than {max_token_bytes} bytes"),
                ));
            }
        }
        let requested_token_type = match single(form, "requested_token_type") {
            None => TokenType::AccessToken,
            Some(value) => match token_type(value, "requested_token_type")? {
                kind @ (TokenType::AccessToken | TokenType::Jwt | TokenType::IdJag) => kind,
                other => {
                    return Err(Refusal::new(
                        Reason::UnsupportedRequestedTokenType,
                        format!(
                            "this server does not issue {} tokens by exchange",
                            other.name()
                        ),
                    ))
                }
            },
        };
        let (audiences, resources) = targets(form, true)?;
        let scope = scope(form)?;
        Ok(Self {
            subject_token: subject_token.to_owned(),
            subject_token_type,
            actor: actor.map(|(t, k)| (t.to_owned(), k)),
            requested_token_type,
            audiences,
            resources,
            scope,
        })
    }
}

/// A refusal of a missing required parameter.
pub(crate) fn missing(name: &str) -> Refusal {
    Refusal::new(
        Reason::MissingParameter,
        format!("parameter {name} is required"),
    )
}

/// `grant_type`, present and `expected` (else `unsupported_grant_type`,
/// RFC 6749 §5.2).
pub(crate) fn grant_type(form: &[(String, String)], expected: &str) -> Result<(), Refusal> {
    match single(form, "grant_type") {
        Some(given) if given == expected => Ok(()),
        Some(_) => Err(Refusal::new(
            Reason::UnsupportedGrantType,
            format!("grant_type must be {expected}"),
        )),
        None => Err(missing("grant_type")),
    }
}

/// TX-8: each of `names` at most once (RFC 6749 §3.1: "Request and
/// response parameters MUST NOT be included more than once").
pub(crate) fn check_single(form: &[(String, String)], names: &[&str]) -> Result<(), Refusal> {
    for name in names {
        if form.iter().filter(|(k, _)| k == name).count() > 1 {
            return Err(Refusal::new(
                Reason::DuplicateParameter,
                format!("parameter {name} must not be given more than once"),
            ));
        }
    }
    Ok(())
}

/// The `audience` (when `with_audience`) and `resource` values, in order,
/// without repeats; each bounded, resources absolute URIs without a fragment
/// (TX-6, TX-25, RFC 8707 §2).
pub(crate) fn targets(
    form: &[(String, String)],
    with_audience: bool,
) -> Result<(Vec<String>, Vec<String>), Refusal> {
    let mut audiences = Vec::new();
    let mut resources = Vec::new();
    for (name, value) in form {
        let audience = with_audience && name == "audience";
        if value.is_empty() || !(audience || name == "resource") {
            continue;
        }
        if value.len() > MAX_VALUE_BYTES {
            return Err(Refusal::new(
                Reason::InvalidTargetValue,
                format!("{name} values are limited to {MAX_VALUE_BYTES} bytes"),
            ));
        }
        if audience {
            push_unique(&mut audiences, value);
        } else {
            if !valid_resource(value) {
                return Err(Refusal::new(
                    Reason::InvalidResource,
                    format!(
                        "resource {} is not an absolute URI without a fragment",
                        quote(value)
                    ),
                ));
            }
            push_unique(&mut resources, value);
        }
        if audiences.len() + resources.len() > MAX_TARGETS {
            return Err(Refusal::new(
                Reason::TooManyTargets,
                format!("at most {MAX_TARGETS} audience and resource values are accepted"),
            ));
        }
    }
    Ok((audiences, resources))
}

/// The `scope` parameter's tokens, when given (TX-7, TX-25, RFC 6749 §3.3).
pub(crate) fn scope(form: &[(String, String)]) -> Result<Option<Vec<String>>, Refusal> {
    let Some(value) = single(form, "scope") else {
        return Ok(None);
    };
    let tokens = split_scope(value);
    if tokens.len() > MAX_SCOPES {
        return Err(Refusal::new(
            Reason::TooManyScopes,
            format!("at most {MAX_SCOPES} scope values are accepted"),
        ));
    }
    if tokens
        .iter()
        .any(|t| t.len() > MAX_VALUE_BYTES || !valid_scope_token(t))
    {
        return Err(Refusal::new(
            Reason::MalformedScope,
            "scope must be space-separated scope tokens (RFC 6749 section 3.3)",
        ));
    }
    Ok(Some(tokens))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    const AT: &str = "urn:ietf:params:oauth:token-type:access_token";

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn base() -> Vec<(String, String)> {
        form(&[
            ("grant_type", GRANT_TYPE),
            ("subject_token", "tok"),
            ("subject_token_type", AT),
        ])
    }

    fn reason(f: &[(String, String)]) -> &'static str {
        ExchangeRequest::parse(f, 16384)
            .unwrap_err()
            .reason
            .as_str()
    }

    #[test]
    fn tx1_minimal_request_parses_with_defaults() {
        let r = ExchangeRequest::parse(&base(), 16384).unwrap();
        assert_eq!(r.subject_token, "tok");
        assert_eq!(r.subject_token_type, TokenType::AccessToken);
        assert_eq!(r.requested_token_type, TokenType::AccessToken);
        assert!(r.actor.is_none() && r.scope.is_none());
    }

    #[test]
    fn tx1_other_grant_type_is_unsupported() {
        let mut f = base();
        f[0].1 = "client_credentials".into();
        let e = ExchangeRequest::parse(&f, 16384).unwrap_err();
        assert_eq!(e.error, ErrorCode::UnsupportedGrantType);
    }

    #[test]
    fn tx2_subject_token_and_type_required() {
        for drop in ["subject_token", "subject_token_type"] {
            let f: Vec<_> = base().into_iter().filter(|(k, _)| k != drop).collect();
            let e = ExchangeRequest::parse(&f, 16384).unwrap_err();
            assert_eq!(
                (e.error, e.reason.as_str()),
                (ErrorCode::InvalidRequest, "missing_parameter")
            );
            assert!(e.description.contains(drop));
        }
        // An empty value is an omitted parameter (RFC 6749 §3.1).
        let mut f = base();
        f[1].1.clear();
        assert_eq!(reason(&f), "missing_parameter");
    }

    #[test]
    fn tx3_actor_token_type_goes_with_actor_token() {
        let mut f = base();
        f.push(("actor_token".into(), "act".into()));
        assert_eq!(reason(&f), "missing_parameter");
        let mut f = base();
        f.push(("actor_token_type".into(), AT.into()));
        assert_eq!(reason(&f), "unexpected_parameter");
        let mut f = base();
        f.push(("actor_token".into(), "act".into()));
        f.push((
            "actor_token_type".into(),
            "urn:ietf:params:oauth:token-type:jwt".into(),
        ));
        let r = ExchangeRequest::parse(&f, 16384).unwrap();
        assert_eq!(r.actor, Some(("act".to_owned(), TokenType::Jwt)));
    }

    #[test]
    fn tx4_saml_and_unknown_types_refused_by_name() {
        for t in [
            "urn:ietf:params:oauth:token-type:saml2",
            "urn:ietf:params:oauth:token-type:saml1",
            "urn:example:made-up",
        ] {
            let mut f = base();
            f[2].1 = t.into();
            let e = ExchangeRequest::parse(&f, 16384).unwrap_err();
            assert_eq!(
                (e.error, e.reason.as_str()),
                (ErrorCode::InvalidRequest, "unsupported_token_type")
            );
            assert!(e.description.contains(t), "{}", e.description);
        }
        for t in TokenType::ALL {
            assert_eq!(TokenType::from_uri(t.uri()), Some(t));
            // The short name of policies is the serde name.
            assert_eq!(
                serde_json::to_value(t).unwrap(),
                serde_json::Value::String(t.name().to_owned())
            );
        }
    }

    #[test]
    fn tx5_requested_token_type_default_and_refusal() {
        for (uri, kind) in [
            (AT, TokenType::AccessToken),
            ("urn:ietf:params:oauth:token-type:jwt", TokenType::Jwt),
            ("urn:ietf:params:oauth:token-type:id-jag", TokenType::IdJag),
        ] {
            let mut f = base();
            f.push(("requested_token_type".into(), uri.into()));
            let r = ExchangeRequest::parse(&f, 16384).unwrap();
            assert_eq!(r.requested_token_type, kind);
        }
        for t in [
            "urn:ietf:params:oauth:token-type:id_token",
            "urn:ietf:params:oauth:token-type:refresh_token",
        ] {
            let mut f = base();
            f.push(("requested_token_type".into(), t.into()));
            assert_eq!(reason(&f), "unsupported_requested_token_type");
        }
    }

    #[test]
    fn tx4_an_id_jag_is_requested_never_presented() {
        let id_jag = "urn:ietf:params:oauth:token-type:id-jag";
        assert_eq!(TokenType::from_uri(id_jag), Some(TokenType::IdJag));
        assert_eq!(TokenType::IdJag.name(), "id_jag");
        assert_eq!(
            serde_json::to_value(TokenType::IdJag).unwrap(),
            serde_json::json!("id_jag")
        );
        let mut f = base();
        f[2].1 = id_jag.into();
        assert_eq!(reason(&f), "unsupported_token_type");
        let mut f = base();
        f.push(("actor_token".into(), "act".into()));
        f.push(("actor_token_type".into(), id_jag.into()));
        assert_eq!(reason(&f), "unsupported_token_type");
    }

    #[test]
    fn tx6_repeated_audience_and_resource_kept_in_order() {
        let mut f = base();
        for (k, v) in [
            ("audience", "api-a"),
            ("resource", "https://b.example/api"),
            ("audience", "api-c"),
            ("audience", "api-a"),
        ] {
            f.push((k.into(), v.into()));
        }
        let r = ExchangeRequest::parse(&f, 16384).unwrap();
        assert_eq!(r.audiences, vec!["api-a", "api-c"]);
        assert_eq!(r.resources, vec!["https://b.example/api"]);
    }

    #[test]
    fn tx6_resource_must_be_absolute_without_fragment() {
        for bad in [
            "relative/path",
            "https://a.example/#frag",
            "://x",
            "1http://x",
            "https://a b",
        ] {
            let mut f = base();
            f.push(("resource".into(), bad.into()));
            let e = ExchangeRequest::parse(&f, 16384).unwrap_err();
            assert_eq!(
                (e.error, e.reason.as_str()),
                (ErrorCode::InvalidTarget, "invalid_resource"),
                "{bad}"
            );
        }
        let mut f = base();
        f.push(("resource".into(), "urn:example:api".into()));
        assert!(ExchangeRequest::parse(&f, 16384).is_ok());
    }

    #[test]
    fn tx7_scope_split_deduplicated_and_validated() {
        let mut f = base();
        f.push(("scope".into(), "read  write read".into()));
        let r = ExchangeRequest::parse(&f, 16384).unwrap();
        assert_eq!(r.scope, Some(vec!["read".to_owned(), "write".to_owned()]));
        let mut f = base();
        f.push(("scope".into(), "read \"quoted\"".into()));
        assert_eq!(reason(&f), "malformed_scope");
    }

    #[test]
    fn tx8_single_valued_parameters_given_twice_refused() {
        for name in SINGLE {
            let mut f = base();
            f.push((name.into(), "x".into()));
            f.push((name.into(), "y".into()));
            assert_eq!(reason(&f), "duplicate_parameter", "{name}");
        }
    }

    #[test]
    fn tx25_oversized_tokens_refused_before_decoding() {
        let mut f = base();
        f[1].1 = "a".repeat(20_000);
        assert_eq!(reason(&f), "token_too_large");
        let mut f = base();
        f.push(("actor_token".into(), "a".repeat(20_000)));
        f.push(("actor_token_type".into(), AT.into()));
        assert_eq!(reason(&f), "token_too_large");
    }

    #[test]
    fn tx25_target_and_scope_counts_bounded() {
        let mut f = base();
        for i in 0..=MAX_TARGETS {
            f.push(("audience".into(), format!("aud-{i}")));
        }
        assert_eq!(reason(&f), "too_many_targets");
        let mut f = base();
        let many: Vec<String> = (0..=MAX_SCOPES).map(|i| format!("s{i}")).collect();
        f.push(("scope".into(), many.join(" ")));
        assert_eq!(reason(&f), "too_many_scopes");
    }

    #[test]
    fn unknown_parameters_are_ignored() {
        let mut f = base();
        f.push(("foo".into(), "bar".into()));
        f.push(("foo".into(), "baz".into()));
        assert!(ExchangeRequest::parse(&f, 16384).is_ok());
    }
}
