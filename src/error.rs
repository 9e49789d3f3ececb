//! OAuth errors as data: one code per wire error, each carrying its HTTP status.

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
    /// The grant is invalid (kept for completeness; RFC 8693 uses `invalid_request`).
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
        }
    }

    /// HTTP status for this error: 401 for `invalid_client` (TX-70), 500 for
    /// `server_error`, 400 otherwise.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidClient => 401,
            Self::ServerError => 500,
            _ => 400,
        }
    }
}

/// A refused exchange: the wire error, a stable reason code callers can
/// switch on, and a description safe to send (no token contents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The OAuth error code.
    pub error: ErrorCode,
    /// Stable snake_case reason, e.g. `token_expired`.
    pub reason: &'static str,
    /// Human-readable description for `error_description`.
    pub description: String,
}

impl Refusal {
    /// Builds a refusal.
    pub fn new(error: ErrorCode, reason: &'static str, description: impl Into<String>) -> Self {
        Self {
            error,
            reason,
            description: description.into(),
        }
    }

    /// `invalid_request` with a reason.
    pub fn request(reason: &'static str, description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, reason, description)
    }
}

/// Renders caller-supplied text (a parameter name or a token type URI) for a
/// description: printable ASCII only and bounded length, so a description
/// never carries control characters or bulk input.
pub fn quote(input: &str) -> String {
    const MAX: usize = 80;
    let mut out = String::with_capacity(input.len().min(MAX) + 2);
    out.push('"');
    for (count, ch) in input.chars().enumerate() {
        if count == MAX {
            out.push_str("...");
            break;
        }
        out.push(if ch.is_ascii_graphic() || ch == ' ' {
            ch
        } else {
            '?'
        });
    }
    out.push('"');
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
        assert_eq!(quote("a\nb"), "\"a?b\"");
        let long = "x".repeat(500);
        assert!(quote(&long).len() < 100);
    }
}
