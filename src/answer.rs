//! What the engine decides: a tagged answer, always with its audit record.

use crate::error::{description_safe, ErrorCode};
use crate::reason::{Reason, Refusal};
use serde::Serialize;

/// An identity in the audit record: never a token value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartyRecord {
    /// Issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Client the token was issued to, or the acting client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// Whether the exchange was granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A token will be issued.
    Granted,
    /// The exchange was refused.
    Refused,
}

/// One record per attempt (TX-60): who asked, for whom, for what, and the
/// outcome. It never holds token values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    /// When, seconds since the epoch (the caller's `now`).
    pub time: i64,
    /// The exchanging client, authenticated or claimed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Granted or refused.
    pub decision: Verdict,
    /// The OAuth error of a refusal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorCode>,
    /// The stable reason code of a refusal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// The subject, once its token was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<PartyRecord>,
    /// The actor, once its token was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<PartyRecord>,
    /// The subject token's existing `act` chain, outermost first.
    pub prior_actors: Vec<PartyRecord>,
    /// `subject_token_type` as understood.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_token_type: Option<&'static str>,
    /// `actor_token_type` as understood.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_token_type: Option<&'static str>,
    /// `requested_token_type` as understood.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_token_type: Option<&'static str>,
    /// Requested (or granted) audiences.
    pub audiences: Vec<String>,
    /// Requested (or granted) resources.
    pub resources: Vec<String>,
    /// The `scope` parameter, normalised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_scope: Option<String>,
    /// The scope granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub granted_scope: Option<String>,
    /// Subject and actor token were both given.
    pub delegation: bool,
}

impl AuditRecord {
    /// An empty record for an attempt at `time`.
    pub fn new(time: i64, client_id: Option<String>) -> Self {
        Self {
            time,
            client_id,
            decision: Verdict::Refused,
            error: None,
            reason: None,
            subject: None,
            actor: None,
            prior_actors: Vec::new(),
            subject_token_type: None,
            actor_token_type: None,
            requested_token_type: None,
            audiences: Vec::new(),
            resources: Vec::new(),
            requested_scope: None,
            granted_scope: None,
            delegation: false,
        }
    }
}

/// A granted exchange: what to issue (RFC 8693 §2.2.1).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    /// `sub` of the issued token: the subject's (TX-40, TX-41).
    pub subject: String,
    /// Issuer of the subject token.
    pub subject_issuer: String,
    /// Local user to issue for.
    pub user_id: String,
    /// Session of the subject token, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Audience names, in request order.
    pub audiences: Vec<String>,
    /// Resource URIs, in request order.
    pub resources: Vec<String>,
    /// Granted scope values.
    pub scopes: Vec<String>,
    /// Space-joined `scopes`.
    pub scope: String,
    /// The response must carry `scope` (TX-32).
    pub scope_changed: bool,
    /// The `act` claim of the issued token (TX-40, TX-41).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub act: Option<serde_json::Value>,
    /// An actor token took part.
    pub delegation: bool,
    /// Latest `exp` the issued token may carry (TX-51).
    pub expires_at: i64,
    /// When the subject (or actor) token expires: the end of anything
    /// refreshed from the issued token (TX-55).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain_expires_at: Option<i64>,
    /// `issued_token_type` (TX-50).
    pub issued_token_type: &'static str,
    /// `token_type` (TX-50): `Bearer` for an access token, `N_A` for a JWT
    /// or an ID-JAG.
    pub token_type: &'static str,
    /// What an ID-JAG names beyond the subject; only for an ID-JAG.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_jag: Option<IdJagGrant>,
    /// A refresh token may be issued (TX-55); never for a JWT or an ID-JAG.
    pub refresh_token: bool,
    /// The audit record (TX-60).
    pub audit: AuditRecord,
}

/// The claims of an ID-JAG to issue beyond `sub`, `iss`, `iat`, `exp` and
/// `jti` (draft-ietf-oauth-identity-assertion-authz-grant §3.1).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdJagGrant {
    /// `aud`: the resource authorization server's issuer.
    pub audience: String,
    /// `client_id`: the client's id at that server.
    pub client_id: String,
    /// `resource`: the requested resources, in request order.
    pub resources: Vec<String>,
    /// Claims of the subject ID token carried on, as they were:
    /// `auth_time`, `acr`, `amr`, `email`, `email_verified`, `tenant`.
    pub claims: serde_json::Map<String, serde_json::Value>,
}

/// A refused exchange as sent to the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// OAuth error code.
    pub error: ErrorCode,
    /// HTTP status (TX-70).
    pub status: u16,
    /// `error_description`.
    pub description: String,
    /// Stable reason code.
    pub reason: Reason,
    /// `WWW-Authenticate` is due (TX-10).
    pub www_authenticate: bool,
    /// The audit record (TX-60).
    pub audit: AuditRecord,
}

impl Failure {
    /// Completes `audit` with the refusal and wraps both.
    ///
    /// The error is the refusal's (`reason.error()`, or for a jwt-bearer
    /// assertion `reason.assertion_error()`). The description
    /// goes through [`description_safe`], so whatever text a refusal was
    /// built from, only RFC 6749 §5.2 characters leave (TX-71).
    pub fn from_refusal(refusal: Refusal, mut audit: AuditRecord, basic: bool) -> Self {
        audit.decision = Verdict::Refused;
        audit.error = Some(refusal.error);
        audit.reason = Some(refusal.reason);
        audit.granted_scope = None;
        Self {
            error: refusal.error,
            status: refusal.error.status(),
            www_authenticate: basic && refusal.error == ErrorCode::InvalidClient,
            description: description_safe(refusal.description),
            reason: refusal.reason,
            audit,
        }
    }
}

/// The answer to `decide`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Decision {
    /// Issue a token.
    Success(Box<Grant>),
    /// Refuse with an OAuth error.
    Failure(Box<Failure>),
}

impl Decision {
    /// The audit record of either outcome.
    pub fn audit(&self) -> &AuditRecord {
        match self {
            Self::Success(grant) => &grant.audit,
            Self::Failure(failure) => &failure.audit,
        }
    }
}

/// A user to create for an ID-JAG's subject (just-in-time provisioning).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Provision {
    /// The assertion's `email`.
    pub email: String,
    /// The assertion's `email_verified`, when a boolean.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// The assertion's `name`, when a string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A granted jwt-bearer request presenting an ID-JAG: what access token to
/// issue (RFC 7523 §2.1, draft-ietf-oauth-identity-assertion-authz-grant
/// §4.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssertionGrant {
    /// The local user the subject is linked to; absent when one is to be
    /// provisioned (`provision`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The user to create, for an unlinked subject of an issuer with
    /// `jitProvisioning`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provision: Option<Provision>,
    /// The assertion's `sub`.
    pub subject: String,
    /// The assertion's `iss`.
    pub issuer: String,
    /// The assertion's `jti`, to refuse a replay (with `issuer`).
    pub jti: String,
    /// The assertion's `exp`: how long its `jti` must be remembered.
    pub assertion_expires_at: i64,
    /// Resources of the access token (its audience), in order.
    pub resources: Vec<String>,
    /// Granted scope values.
    pub scopes: Vec<String>,
    /// Space-joined `scopes`.
    pub scope: String,
    /// The response must carry `scope` (RFC 6749 §5.1).
    pub scope_changed: bool,
    /// A refresh token may be issued (the client's policy `refreshTokens`).
    pub refresh_token: bool,
    /// The audit record (TX-60).
    pub audit: AuditRecord,
}

/// The answer to `decide_assertion`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AssertionDecision {
    /// Issue an access token.
    Success(Box<AssertionGrant>),
    /// Refuse with an OAuth error.
    Failure(Box<Failure>),
}

impl AssertionDecision {
    /// The audit record of either outcome.
    pub fn audit(&self) -> &AuditRecord {
        match self {
            Self::Success(grant) => &grant.audit,
            Self::Failure(failure) => &failure.audit,
        }
    }
}
