//! Inputs the caller supplies: engine settings, the client and its policy,
//! and what lookups of opaque tokens found. Shapes mirror the package's
//! `engine-types.ts` (camelCase, unknown fields refused).

use crate::request::TokenType;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Engine-wide settings, fixed for the life of an [`crate::engine::Engine`].
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EngineSettings {
    /// This server's issuer identifier (the `iss` of its own tokens).
    pub issuer: String,
    /// Clock leeway for `exp`, `nbf` and `iat`, in seconds (TX-20).
    #[serde(default = "defaults::leeway")]
    pub leeway_seconds: u32,
    /// Largest token accepted, in bytes (TX-25).
    #[serde(default = "defaults::max_token_bytes")]
    pub max_token_bytes: u32,
    /// Deepest JSON nesting accepted in a token header or payload (TX-25).
    #[serde(default = "defaults::max_json_depth")]
    pub max_json_depth: u32,
    /// Deepest `act` chain accepted or produced (TX-25).
    #[serde(default = "defaults::max_act_depth")]
    pub max_act_depth: u32,
    /// Longest lifetime of an issued token, in seconds (caps `expiresAt`).
    #[serde(default = "defaults::max_lifetime")]
    pub max_lifetime_seconds: u32,
    /// Lifetime of an issued ID-JAG, in seconds (default 300, 1 to 3600); it
    /// never outlives the subject ID token either.
    #[serde(default = "defaults::id_jag_lifetime")]
    pub id_jag_lifetime_seconds: u32,
    /// Trusted external issuers (TX-24).
    #[serde(default)]
    pub trusted_issuers: Vec<TrustedIssuer>,
    /// TX-9: refuse (`invalid_target`, `no_target`) an exchange that names
    /// no `audience` or `resource` when the client has no default targets.
    /// Off by default: such an exchange is granted with no audience. A
    /// client's policy `requireTarget` overrides this either way.
    #[serde(default)]
    pub require_target: bool,
}

mod defaults {
    pub fn leeway() -> u32 {
        30
    }
    pub fn max_token_bytes() -> u32 {
        16 * 1024
    }
    pub fn max_json_depth() -> u32 {
        16
    }
    pub fn max_act_depth() -> u32 {
        5
    }
    pub fn max_lifetime() -> u32 {
        3600
    }
    pub fn id_jag_lifetime() -> u32 {
        300
    }
}

/// Upper bounds on the settings themselves, so a configuration cannot
/// switch the work limits off.
pub mod bounds {
    /// Largest allowed `leewaySeconds`.
    pub const MAX_LEEWAY: u32 = 300;
    /// Largest allowed `maxTokenBytes`.
    pub const MAX_TOKEN_BYTES: u32 = 64 * 1024;
    /// Largest allowed `maxJsonDepth`.
    pub const MAX_JSON_DEPTH: u32 = 64;
    /// Largest allowed `maxActDepth`.
    pub const MAX_ACT_DEPTH: u32 = 32;
    /// Largest allowed `idJagLifetimeSeconds`: an ID-JAG is short-lived.
    pub const MAX_ID_JAG_LIFETIME: u32 = 3600;
}

impl EngineSettings {
    /// Settings with defaults for `issuer`.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            leeway_seconds: defaults::leeway(),
            max_token_bytes: defaults::max_token_bytes(),
            max_json_depth: defaults::max_json_depth(),
            max_act_depth: defaults::max_act_depth(),
            max_lifetime_seconds: defaults::max_lifetime(),
            id_jag_lifetime_seconds: defaults::id_jag_lifetime(),
            trusted_issuers: Vec::new(),
            require_target: false,
        }
    }

    /// Checks the settings are usable; the message names the bad setting.
    pub fn validate(&self) -> Result<(), String> {
        if self.issuer.is_empty() {
            return Err("issuer must not be empty".into());
        }
        let checks = [
            ("leewaySeconds", self.leeway_seconds, 0, bounds::MAX_LEEWAY),
            (
                "maxTokenBytes",
                self.max_token_bytes,
                256,
                bounds::MAX_TOKEN_BYTES,
            ),
            (
                "maxJsonDepth",
                self.max_json_depth,
                2,
                bounds::MAX_JSON_DEPTH,
            ),
            ("maxActDepth", self.max_act_depth, 1, bounds::MAX_ACT_DEPTH),
            ("maxLifetimeSeconds", self.max_lifetime_seconds, 1, u32::MAX),
            (
                "idJagLifetimeSeconds",
                self.id_jag_lifetime_seconds,
                1,
                bounds::MAX_ID_JAG_LIFETIME,
            ),
        ];
        for (name, value, low, high) in checks {
            if value < low || value > high {
                return Err(format!("{name} must be between {low} and {high}"));
            }
        }
        for trusted in &self.trusted_issuers {
            if trusted.issuer == self.issuer {
                return Err("a trusted issuer must not be this server's own issuer".into());
            }
            if trusted.audiences.is_empty() {
                return Err(format!(
                    "trusted issuer {} needs at least one audience",
                    crate::error::quote(&trusted.issuer)
                ));
            }
        }
        Ok(())
    }

    /// The configuration of a trusted external issuer.
    pub fn trusted_issuer(&self, issuer: &str) -> Option<&TrustedIssuer> {
        self.trusted_issuers.iter().find(|t| t.issuer == issuer)
    }
}

/// An external issuer whose tokens may be exchanged (token translation, TX-24).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrustedIssuer {
    /// The issuer identifier (`iss`).
    pub issuer: String,
    /// `aud` values that mean "for this server" in the issuer's tokens.
    pub audiences: Vec<String>,
    /// Token types accepted from this issuer (default [`DEFAULT_ACCEPTED_TYPES`]).
    /// `id_jag` lets the issuer's ID-JAGs be redeemed here with the
    /// jwt-bearer grant (`crate::assertion`); it is never a default.
    #[serde(default)]
    pub token_types: Option<Vec<TokenType>>,
    /// An ID-JAG of this issuer whose subject is linked to no local user is
    /// granted with a user to provision (from its `email`) instead of being
    /// refused (draft-ietf-oauth-identity-assertion-authz-grant, subject
    /// resolution). Default false.
    #[serde(default)]
    pub jit_provisioning: bool,
}

/// Per-target overrides (TX-45).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetPolicy {
    /// Scope ceiling for this target.
    pub scopes: Option<Vec<String>>,
    /// Impersonation allowed for this target.
    pub impersonation: Option<bool>,
    /// Delegation allowed for this target.
    pub delegation: Option<bool>,
    /// Deepest `act` chain for this target.
    pub max_delegation_depth: Option<u32>,
}

/// Who besides the token's own client may exchange a subject token (TX-26).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum HolderBinding {
    /// `"any"`: no holder check (an explicit, per-client choice).
    Keyword(HolderKeyword),
    /// `{ clients: [...] }`: tokens issued to these clients are accepted too.
    Clients {
        /// The other clients whose tokens this client may exchange.
        clients: Vec<String>,
    },
}

/// The keyword form of [`HolderBinding`].
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HolderKeyword {
    /// Accept tokens regardless of the client they were issued to.
    Any,
}

/// A client's token-exchange policy (TX-43, TX-45); every field optional
/// with a safe default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientPolicy {
    /// Audience names this client may target.
    pub audiences: Option<Vec<String>>,
    /// Resource URIs this client may target.
    pub resources: Option<Vec<String>>,
    /// Targets used when a request names none (as audiences).
    pub default_targets: Option<Vec<String>>,
    /// TX-9: whether a request must name a target (or the client have
    /// default targets): without one it is refused with `invalid_target`
    /// `no_target`. Unset, the engine's `requireTarget` applies (default
    /// false: granted with no audience).
    pub require_target: Option<bool>,
    /// Scope ceiling (TX-30).
    pub scopes: Option<Vec<String>>,
    /// Subject token only (default true).
    pub impersonation: Option<bool>,
    /// Subject and actor token (default true).
    pub delegation: Option<bool>,
    /// Accepted subject token types.
    pub subject_token_types: Option<Vec<TokenType>>,
    /// Accepted actor token types.
    pub actor_token_types: Option<Vec<TokenType>>,
    /// External issuers this client may translate from (TX-24).
    pub trusted_issuers: Option<Vec<String>>,
    /// Deepest `act` chain this client may produce.
    pub max_delegation_depth: Option<u32>,
    /// Refresh tokens on exchange (TX-55); default false.
    pub refresh_tokens: Option<bool>,
    /// Widening of holder binding (TX-26); default none.
    pub holder_binding: Option<HolderBinding>,
    /// TX-31: allow scopes the client holds beyond the subject's.
    pub relax_downscoping: Option<bool>,
    /// Overrides per target.
    pub targets: Option<BTreeMap<String, TargetPolicy>>,
    /// Token types this client may request with `requested_token_type`
    /// (`access_token`, `jwt`, `id_jag`); default `["access_token"]`.
    pub requested_token_types: Option<Vec<TokenType>>,
    /// The resource authorization servers, by issuer identifier, this client
    /// may get ID-JAGs for (`requested_token_type` id-jag with that issuer
    /// as the one `audience`); none by default.
    pub id_jag: Option<IdJagTargets>,
}

/// The `idJag` member of a policy: a JSON object from resource
/// authorization server issuer to [`IdJagTarget`], kept as a list in the
/// object's order (a map type of its own measured about 1 KiB more gzip
/// wasm, for the few entries a client has).
#[derive(Debug, Clone, Default)]
pub struct IdJagTargets(pub Vec<(String, IdJagTarget)>);

impl IdJagTargets {
    /// The entry for the server `issuer`.
    pub fn get(&self, issuer: &str) -> Option<&IdJagTarget> {
        self.0.iter().find(|(i, _)| i == issuer).map(|(_, t)| t)
    }
}

impl<'de> Deserialize<'de> for IdJagTargets {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = IdJagTargets;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object from issuer to ID-JAG target")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(IdJagTargets(entries))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

/// One resource authorization server a client may get ID-JAGs for
/// (draft-ietf-oauth-identity-assertion-authz-grant §4.3).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdJagTarget {
    /// The client's `client_id` at that server: the ID-JAG's `client_id`
    /// claim (§3.1: it may differ from its id here).
    pub client_id: String,
    /// Scope ceiling at that server; also what is granted when the request
    /// names no `scope`. Unset: any requested scope, none by default.
    pub scopes: Option<Vec<String>>,
    /// `resource` values allowed; unset, any absolute URI.
    pub resources: Option<Vec<String>>,
}

/// Token types a client may request by default: access tokens only.
pub const DEFAULT_REQUESTED_TYPES: [TokenType; 1] = [TokenType::AccessToken];

/// Token types accepted by default for subject and actor tokens: refresh
/// tokens must be enabled explicitly.
pub const DEFAULT_ACCEPTED_TYPES: [TokenType; 3] =
    [TokenType::AccessToken, TokenType::IdToken, TokenType::Jwt];

/// The exchanging client as the caller found it. Built once per request
/// from the caller's data, so the size gap between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum ClientInput {
    /// The client authenticated at the token endpoint.
    #[serde(rename_all = "camelCase")]
    Authenticated {
        /// The client id.
        client_id: String,
        /// Token endpoint auth method; `none` is a public client (TX-10).
        auth_method: String,
        /// Disabled clients are refused like unknown ones (TX-12).
        #[serde(default)]
        disabled: bool,
        /// Registered grant types.
        #[serde(default)]
        grant_types: Vec<String>,
        /// Registered scopes (TX-30).
        #[serde(default)]
        scopes: Vec<String>,
        /// Registered resources linked to the client (TX-6).
        #[serde(default)]
        linked_resources: Vec<String>,
        /// The opt-in flag (TX-11).
        #[serde(default)]
        allowed_token_exchange: bool,
        /// The opt-in flag of the jwt-bearer grant presenting ID-JAGs
        /// (`crate::assertion`); off by default like `allowed_token_exchange`.
        #[serde(default)]
        allowed_id_jag: bool,
        /// Token-exchange policy from the client's metadata, kept as JSON
        /// here so that a malformed policy is refused with its own reason
        /// rather than failing the whole call.
        #[serde(default)]
        policy: Option<serde_json::Value>,
    },
    /// Authentication failed or was not attempted.
    #[serde(rename_all = "camelCase")]
    Unauthenticated {
        /// The client id the request claimed, for the audit record.
        #[serde(default)]
        client_id: Option<String>,
        /// HTTP Basic was used (the 401 then carries `WWW-Authenticate`).
        #[serde(default)]
        basic: bool,
        /// Why authentication failed.
        reason: AuthFailure,
    },
}

/// Why client authentication failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthFailure {
    /// No client credentials at all.
    NoCredentials,
    /// No such client.
    UnknownClient,
    /// Wrong secret or assertion.
    BadCredentials,
    /// A public client tried the grant.
    PublicClient,
    /// The client is not registered for the token-exchange grant.
    GrantNotAllowed,
}

impl ClientInput {
    /// The client id, authenticated or claimed.
    pub fn client_id(&self) -> Option<&str> {
        match self {
            Self::Authenticated { client_id, .. } => Some(client_id),
            Self::Unauthenticated { client_id, .. } => client_id.as_deref(),
        }
    }
}

/// What a lookup of an opaque token found (TX-21).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpaqueTokenFacts {
    /// Active: issued here, not expired, not revoked, session alive.
    pub active: bool,
    /// The kind of token the lookup found.
    pub token_type: Option<TokenType>,
    /// Subject.
    pub sub: Option<String>,
    /// The client the token was issued to.
    pub client_id: Option<String>,
    /// Space-delimited scope.
    pub scope: Option<String>,
    /// Audiences.
    pub aud: Option<Vec<String>>,
    /// Expiry, seconds since the epoch.
    pub exp: Option<i64>,
    /// Issued-at, seconds since the epoch.
    pub iat: Option<i64>,
    /// `act` recorded for the token.
    pub act: Option<serde_json::Value>,
    /// `may_act` recorded for the token.
    pub may_act: Option<serde_json::Value>,
    /// The session the token belongs to.
    pub session_id: Option<String>,
}

/// A local user that an external subject maps to (TX-24).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubjectUser {
    /// The external issuer.
    pub issuer: String,
    /// The external subject.
    pub sub: String,
    /// The local user id.
    pub user_id: String,
}

/// Everything `decide_assertion` needs for one jwt-bearer request
/// presenting an ID-JAG (RFC 7523 §2.1, `crate::assertion`). Its JSON form
/// is a [`DecideCall`] without `subjectFacts` and `actorFacts` (camelCase,
/// unknown members refused).
#[derive(Debug, Clone)]
pub struct AssertionCall {
    /// The token endpoint form, in order, repeats kept.
    pub form: Vec<(String, String)>,
    /// Seconds since the epoch.
    pub now: i64,
    /// The client presenting the assertion.
    pub client: ClientInput,
    /// The local user the assertion's subject (its `iss` and `sub`) is
    /// linked to, when there is one.
    pub subject_user: Option<SubjectUser>,
}

/// Read through [`DecideCall`]'s reader, which has the same members but
/// two: a derived reader of its own measured about 1 KiB more gzip wasm.
impl<'de> Deserialize<'de> for AssertionCall {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let call = DecideCall::deserialize(deserializer)?;
        if call.subject_facts.is_some() || call.actor_facts.is_some() {
            return Err(serde::de::Error::custom(
                "unknown field, expected one of `form`, `now`, `client`, `subjectUser`",
            ));
        }
        Ok(Self {
            form: call.form,
            now: call.now,
            client: call.client,
            subject_user: call.subject_user,
        })
    }
}

/// Everything `decide` needs for one request.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecideCall {
    /// The token endpoint form, in order, repeats kept.
    pub form: Vec<(String, String)>,
    /// Seconds since the epoch.
    pub now: i64,
    /// The exchanging client.
    pub client: ClientInput,
    /// Lookup result for an opaque subject token.
    #[serde(default)]
    pub subject_facts: Option<OpaqueTokenFacts>,
    /// Lookup result for an opaque actor token.
    #[serde(default)]
    pub actor_facts: Option<OpaqueTokenFacts>,
    /// Local user for an external subject.
    #[serde(default)]
    pub subject_user: Option<SubjectUser>,
}
