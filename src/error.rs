//! OAuth errors as data: one code per wire error, each carrying its HTTP
//! status; and the rules for what an `error_description` may hold (TX-71).

use serde::Serialize;

/// OAuth error codes the token endpoint answers with (RFC 6749 §5.2,
/// RFC 8707 §2, RFC 8693 §2.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Malformed request, or a subject/actor token that fails validation
    /// (RFC 8693 §2.2.2 names `invalid_request` for the latter).
    InvalidRequest,
    /// Client authentication failed (RFC 6749 §5.2); HTTP 401.
    InvalidClient,
    /// The grant is invalid: a refused jwt-bearer assertion (RFC 7523
    /// §3.1). Token exchange answers `invalid_request` for a bad subject or
    /// actor token instead (RFC 8693 §2.2.2).
    InvalidGrant,
    /// The authenticated client may not use this grant.
    UnauthorizedClient,
    /// The grant type is not token exchange.
    UnsupportedGrantType,
    /// The requested scope is invalid or exceeds what may be granted.
    InvalidScope,
    /// A requested audience or resource is invalid or not allowed (RFC 8707 §2).
    InvalidTarget,
    /// The server could not complete the exchange (never caused by input).
    ServerError,
    /// The access token presented to a resource server is not valid
    /// (RFC 6750 §3.1); HTTP 401. Only the resource-server verifier answers
    /// it, never the token endpoint.
    InvalidToken,
}

impl ErrorCode {
    /// The wire name, e.g. `invalid_request`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::ServerError => "server_error",
            Self::InvalidToken => "invalid_token",
        }
    }

    /// HTTP status for this error: 401 for `invalid_client` (TX-70) and
    /// `invalid_token` (RFC 6750 §3.1), 500 for `server_error`, 400 otherwise.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidClient | Self::InvalidToken => 401,
            Self::ServerError => 500,
            _ => 400,
        }
    }
}

/// Whether `b` may appear in an `error_description`: RFC 6749 §5.2 allows
/// %x20-21 / %x23-5B / %x5D-7E, so printable ASCII without `"` and `\`.
fn description_char(ch: char) -> bool {
    matches!(ch, ' '..='!' | '#'..='[' | ']'..='~')
}

/// Whether `text` holds only characters an `error_description` may hold
/// (TX-71, RFC 6749 §5.2).
pub fn is_description_safe(text: &str) -> bool {
    text.chars().all(description_char)
}

/// Longest `error_description` sent; longer ones end in `...`.
pub const MAX_DESCRIPTION_CHARS: usize = 400;

/// `text` with every character an `error_description` may not hold (TX-71:
/// `"`, `\`, control and non-ASCII characters) replaced by `?`, at most
/// `max` characters followed by `...` when longer.
pub fn clean(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max) + 3);
    for (count, ch) in text.chars().enumerate() {
        if count == max {
            out.push_str("...");
            break;
        }
        out.push(if description_char(ch) { ch } else { '?' });
    }
    out
}

/// The final guard on every description that leaves the engine: `text`
/// unchanged when it already holds only RFC 6749 §5.2 characters and fits
/// [`MAX_DESCRIPTION_CHARS`] (the usual case, no copy), else [`clean`]ed.
pub fn description_safe(text: String) -> String {
    if text.len() <= MAX_DESCRIPTION_CHARS && is_description_safe(&text) {
        text
    } else {
        clean(&text, MAX_DESCRIPTION_CHARS)
    }
}

/// Renders caller-supplied text (a parameter name, a token type URI, a
/// target) for a description: in single quotes, with every character a
/// description may not hold (TX-71) and the single quote itself replaced by
/// `?` so the quoted span stays unambiguous, and bounded in length so a
/// description never carries bulk input.
pub fn quote(input: &str) -> String {
    const MAX: usize = 80;
    let mut out = String::with_capacity(input.len().min(MAX) + 5);
    out.push('\'');
    for (count, ch) in input.chars().enumerate() {
        if count == MAX {
            out.push_str("...");
            break;
        }
        out.push(if description_char(ch) && ch != '\'' {
            ch
        } else {
            '?'
        });
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tx70_invalid_client_is_401_and_others_400() {
        assert_eq!(ErrorCode::InvalidClient.status(), 401);
        assert_eq!(ErrorCode::InvalidRequest.status(), 400);
        assert_eq!(ErrorCode::InvalidTarget.status(), 400);
        assert_eq!(ErrorCode::InvalidScope.as_str(), "invalid_scope");
    }

    #[test]
    fn quote_bounds_and_cleans_input() {
        assert_eq!(quote("a\nb"), "'a?b'");
        let long = "x".repeat(500);
        assert!(quote(&long).len() < 100);
    }

    #[test]
    fn tx71_quote_uses_single_quotes_and_only_description_characters() {
        assert_eq!(quote("urn:x"), "'urn:x'");
        assert_eq!(quote("say \"hi\""), "'say ?hi?'");
        assert_eq!(quote("a\\b"), "'a?b'");
        assert_eq!(quote("it's"), "'it?s'");
        assert_eq!(quote("tab\there\r\u{7f}\u{0}"), "'tab?here???'");
        assert_eq!(quote("caf\u{e9} \u{1f600}"), "'caf? ?'");
        assert_eq!(quote(""), "''");
        for text in ["\"", "\\", "\u{85}", "\u{2028}", "x'y", "{\"a\":1}"] {
            assert!(is_description_safe(&quote(text)), "{text:?}");
        }
    }

    #[test]
    fn tx71_description_charset_is_rfc6749_section_5_2() {
        for b in 0u8..=0x7f {
            let allowed =
                b == 0x20 || b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b);
            assert_eq!(
                is_description_safe(&char::from(b).to_string()),
                allowed,
                "{b:#x}"
            );
        }
        assert!(!is_description_safe("\u{a0}"));
        assert!(is_description_safe(
            "invalid type: map, expected `a string`"
        ));
    }

    #[test]
    fn tx71_description_safe_replaces_and_bounds_without_copying_clean_text() {
        let clean_text = "the token has expired".to_owned();
        let ptr = clean_text.as_ptr();
        let kept = description_safe(clean_text);
        assert_eq!(kept.as_ptr(), ptr, "a clean description is not copied");
        assert_eq!(
            description_safe("invalid type: string \"\u{1}\\\", expected a boolean".to_owned()),
            "invalid type: string ????, expected a boolean"
        );
        let long = description_safe("y".repeat(5000));
        assert_eq!(long.len(), MAX_DESCRIPTION_CHARS + 3);
        assert!(long.ends_with("..."));
        assert!(is_description_safe(&description_safe(
            "\u{e9}".repeat(1000)
        )));
    }
}
