//! Why an exchange (or a verification) is refused: one stable reason code per
//! condition, and the [`Refusal`] that carries one.
//!
//! [`Reason`] is the single list of every reason the product answers with:
//! the engine's, the resource-server verifier's, and the few only the
//! TypeScript plugin produces (its body limit, the provider's client
//! authentication, issuance). The plugin's union of reason codes
//! (`reasons.ts`) and the table in `docs/errors.md` are generated from it by
//! `tests/generated.rs`.

use crate::error::ErrorCode;
use serde::{Serialize, Serializer};

/// The part of the exchange a reason belongs to: the grouping of the
/// documentation's error table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// Client authentication and the client's registration (TX-10 to TX-12).
    Client,
    /// The form of the request (RFC 8693 §2.1, TX-1 to TX-8, TX-25).
    Request,
    /// Validation of a presented token (TX-20 to TX-25, TX-29).
    Token,
    /// The subject the token names: linked, known, signed in (TX-24).
    Subject,
    /// The client's token-exchange policy (TX-26, TX-27, TX-40 to TX-46).
    Policy,
    /// `audience` and `resource` (TX-6, TX-9, RFC 8707).
    Target,
    /// `scope` (TX-30 to TX-32).
    Scope,
    /// A failure of the server or of its configuration, never of the request.
    Server,
}

impl Category {
    /// The label in the documentation, e.g. `token`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Request => "request",
            Self::Token => "token",
            Self::Subject => "subject",
            Self::Policy => "policy",
            Self::Target => "target",
            Self::Scope => "scope",
            Self::Server => "server",
        }
    }
}

/// Which part of the product answers with a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// The engine's `decide` (and, for key sets, `set_issuer_keys`). Token
    /// reasons are also answered by the resource-server verifier, which runs
    /// the same token validation.
    Engine,
    /// Only the TypeScript plugin, around the engine's decision.
    Plugin,
    /// Only the resource-server verifier (`Engine::verify_access_token`).
    ResourceServer,
}

impl Origin {
    /// The label in the documentation: `engine`, `plugin` or `resource-server`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Engine => "engine",
            Self::Plugin => "plugin",
            Self::ResourceServer => "resource-server",
        }
    }
}

/// Declares [`Reason`] from one table: each variant's wire code, OAuth error,
/// category, origin and meaning (which is also its `///` documentation), so
/// that none of them can drift from the others.
macro_rules! reasons {
    ($(
        $variant:ident {
            code: $code:literal,
            error: $error:ident,
            category: $category:ident,
            origin: $origin:ident,
            meaning: $meaning:literal $(,)?
        }
    )*) => {
        /// A stable reason code for a refusal, sent as its snake_case code
        /// (the `reason` of failures, audit records and verifications).
        ///
        /// [`Reason::ALL`] lists every variant in the order a request meets
        /// them: client authentication, the form, the presented tokens, the
        /// subject, the client's policy, targets, scope, the server's own
        /// failures, and last the checks only a resource server makes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Reason {
            $(
                #[doc = $meaning]
                $variant,
            )*
        }

        impl Reason {
            /// Every reason, in the documented order (see [`Reason`]).
            pub const ALL: &'static [Reason] = &[$(Reason::$variant),*];

            /// The wire code, e.g. `token_expired`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$variant => $code,)*
                }
            }

            /// The OAuth error this reason is answered with. The engine
            /// builds every refusal from this (see [`Refusal::new`]). Token
            /// reasons answered by the resource-server verifier come with
            /// `invalid_token` there (RFC 6750 §3.1); the few other reasons
            /// that can come with a second error say so in their meaning.
            pub fn error(self) -> ErrorCode {
                match self {
                    $(Reason::$variant => ErrorCode::$error,)*
                }
            }

            /// The part of the exchange this reason belongs to.
            pub fn category(self) -> Category {
                match self {
                    $(Reason::$variant => Category::$category,)*
                }
            }

            /// Which part of the product answers with this reason.
            pub fn origin(self) -> Origin {
                match self {
                    $(Reason::$variant => Origin::$origin,)*
                }
            }

            /// The OAuth error this reason is answered with to a jwt-bearer
            /// request presenting an ID-JAG (`crate::assertion`): a refusal
            /// of the assertion itself (a token, subject or policy reason,
            /// or its size) is `invalid_grant` (RFC 7523 §3.1), a wrong
            /// `grant_type` is `invalid_request`, and client, request,
            /// target, scope and server reasons keep [`Reason::error`].
            pub fn assertion_error(self) -> ErrorCode {
                match (self, self.category()) {
                    _ if self.origin() == Origin::ResourceServer => self.error(),
                    (Reason::UnsupportedGrantType, _) => ErrorCode::InvalidRequest,
                    (Reason::TokenTooLarge, _)
                    | (_, Category::Token | Category::Subject | Category::Policy) => {
                        ErrorCode::InvalidGrant
                    }
                    _ => self.error(),
                }
            }

            /// What the reason means, in one or two sentences (the
            /// documentation of its variant).
            pub fn meaning(self) -> &'static str {
                match self {
                    $(Reason::$variant => $meaning,)*
                }
            }
        }
    };
}

reasons! {
    // ---------------------------------------------------------------- client
    MalformedClientAuthentication {
        code: "malformed_client_authentication",
        error: InvalidRequest,
        category: Client,
        origin: Plugin,
        meaning: "The client authentication is malformed as the provider reads it: for example a repeated `client_id`, or two authentication methods at once.",
    }
    ClientAuthenticationFailed {
        code: "client_authentication_failed",
        error: InvalidClient,
        category: Client,
        origin: Engine,
        meaning: "No client credentials, an unknown or disabled client, or a wrong secret or assertion; these read alike on purpose (TX-10, TX-12).",
    }
    PublicClient {
        code: "public_client",
        error: InvalidClient,
        category: Client,
        origin: Engine,
        meaning: "A public client (token endpoint auth method `none`) tried the grant; only confidential clients may (TX-10).",
    }
    TokenExchangeNotEnabled {
        code: "token_exchange_not_enabled",
        error: UnauthorizedClient,
        category: Client,
        origin: Engine,
        meaning: "The client has not opted in with `allowedTokenExchange: true` (TX-11).",
    }
    IdJagNotEnabled {
        code: "id_jag_not_enabled",
        error: UnauthorizedClient,
        category: Client,
        origin: Engine,
        meaning: "The client has not opted in to presenting ID-JAGs with the jwt-bearer grant (`allowedIdJag: true`).",
    }
    GrantTypeNotAllowed {
        code: "grant_type_not_allowed",
        error: UnauthorizedClient,
        category: Client,
        origin: Engine,
        meaning: "The client is not registered for the grant type: token exchange (TX-11), or jwt-bearer for an ID-JAG.",
    }
    // --------------------------------------------------------------- request
    RequestTooLarge {
        code: "request_too_large",
        error: InvalidRequest,
        category: Request,
        origin: Plugin,
        meaning: "The request body is larger than the plugin reads (TX-25).",
    }
    UnsupportedGrantType {
        code: "unsupported_grant_type",
        error: UnsupportedGrantType,
        category: Request,
        origin: Engine,
        meaning: "`grant_type` is not `urn:ietf:params:oauth:grant-type:token-exchange` (TX-1), or not `urn:ietf:params:oauth:grant-type:jwt-bearer` for an ID-JAG.",
    }
    DuplicateParameter {
        code: "duplicate_parameter",
        error: InvalidRequest,
        category: Request,
        origin: Engine,
        meaning: "A parameter that may appear once (`subject_token`, `assertion`, `grant_type`, `scope`, ...) was given more than once (TX-8).",
    }
    MissingParameter {
        code: "missing_parameter",
        error: InvalidRequest,
        category: Request,
        origin: Engine,
        meaning: "A required parameter is missing or empty: `grant_type`, `subject_token`, `subject_token_type`, `actor_token_type` with `actor_token` (TX-2, TX-3), or the `assertion` of the jwt-bearer grant.",
    }
    UnexpectedParameter {
        code: "unexpected_parameter",
        error: InvalidRequest,
        category: Request,
        origin: Engine,
        meaning: "`actor_token_type` was given without `actor_token` (TX-3).",
    }
    UnsupportedTokenType {
        code: "unsupported_token_type",
        error: InvalidRequest,
        category: Request,
        origin: Engine,
        meaning: "A token type parameter names a type the engine does not understand (SAML or an unknown URI, TX-4), or an ID-JAG as the subject or actor token type.",
    }
    UnsupportedRequestedTokenType {
        code: "unsupported_requested_token_type",
        error: InvalidRequest,
        category: Request,
        origin: Engine,
        meaning: "`requested_token_type` names a type this server does not issue by exchange, or one the client's policy does not list in `requestedTokenTypes` (TX-5).",
    }
    TokenTooLarge {
        code: "token_too_large",
        error: InvalidRequest,
        category: Request,
        origin: Engine,
        meaning: "A presented token (or assertion) is larger than `maxTokenBytes`; refused before any decoding (TX-25).",
    }
    // ----------------------------------------------------------------- token
    MalformedToken {
        code: "malformed_token",
        error: InvalidRequest,
        category: Token,
        origin: Engine,
        meaning: "A presented token is not a well-formed JWS: not three parts, base64url with a second spelling (padding, non-zero trailing bits, whitespace, `+` or `/`), a header or payload that is not a JSON object; or an ID token or JWT that is not a JWT (TX-20, TX-29).",
    }
    JsonTooDeep {
        code: "json_too_deep",
        error: InvalidRequest,
        category: Token,
        origin: Engine,
        meaning: "A token's header or payload JSON is nested deeper than `maxJsonDepth` (TX-25).",
    }
    DuplicateJsonMember {
        code: "duplicate_json_member",
        error: InvalidRequest,
        category: Token,
        origin: Engine,
        meaning: "A token's header or payload JSON repeats a member name (RFC 7515 section 5.2).",
    }
    UnsupportedAlgorithm {
        code: "unsupported_algorithm",
        error: InvalidRequest,
        category: Token,
        origin: Engine,
        meaning: "The token's `alg` is `none`, an HMAC algorithm, or one the engine does not verify (TX-22).",
    }
    UnsupportedCriticalHeader {
        code: "unsupported_critical_header",
        error: InvalidRequest,
        category: Token,
        origin: Engine,
        meaning: "The token's header has `crit`, or `b64: false`: extensions the engine does not implement (TX-22).",
    }
    UntrustedIssuer {
        code: "untrusted_issuer",
        error: InvalidRequest,
        category: Token,
        origin: Engine,
        meaning: "The token's `iss` is neither this server nor a trusted issuer (TX-20, TX-24); an ID-JAG must come from a trusted issuer, never this server; a resource server takes its own issuer's tokens only. Also the answer of setting keys for such an issuer.",
    }
    UnknownKey {
        code: "unknown_key",
        error: InvalidRequest,
        category: Token,
        origin: Engine,
        meaning: "The token's `kid` is not in its issuer's key set, or no keys are known for the issuer (TX-20).",
    }
    NoMatchingKey {
        code: "no_matching_key",
        error: InvalidRequest,
        category: Token,
        origin: Engine,
        meaning: "The token has no `kid` and no key of its issuer can verify its `alg` (TX-22).",
    }
    AlgorithmKeyMismatch {
        code: "algorithm_key_mismatch",
        error: InvalidRequest,
        category: Token,
        origin: Engine,
        meaning: "The token's `alg` does not fit the key its `kid` names: the key's `alg`, `kty` or `crv` says otherwise (TX-22).",
    }
    BadSignature {
        code: "bad_signature",
        error: InvalidRequest,
        category: Token,
        origin: Engine,
        meaning: "The token's signature does not verify with its issuer's keys (TX-20).",
    }
    MissingClaim {
        code: "missing_claim",
        error: InvalidRequest,
        category: Token,
        origin: Engine,
        meaning: "A required claim is missing: `iss`, `sub`, `exp`, the `aud` of an ID token, or an ID-JAG's `aud`, `iat`, `jti` or `client_id`; or an opaque token's lookup has no subject (TX-20).",
    }
    InvalidClaim {
        code: "invalid_claim",
        error: InvalidRequest,
        category: Token,
        origin: Engine,
        meaning: "A claim has the wrong shape: `exp`, `nbf` or `iat` not a NumericDate, or a malformed `aud`, `scope`, `scp`, `act`, `may_act`, or an ID-JAG's `resource`, `jti` or `client_id` (TX-20, TX-25).",
    }
    TokenExpired {
        code: "token_expired",
        error: InvalidRequest,
        category: Token,
        origin: Engine,
        meaning: "A presented token has expired (`exp`, with the clock leeway), or the tokens expire too soon for anything to be issued (TX-20, TX-51).",
    }
    TokenNotYetValid {
        code: "token_not_yet_valid",
        error: InvalidRequest,
        category: Token,
        origin: Engine,
        meaning: "A token's `nbf` is in the future, beyond the clock leeway (TX-20).",
    }
    TokenIssuedInFuture {
        code: "token_issued_in_future",
        error: InvalidRequest,
        category: Token,
        origin: Engine,
        meaning: "A token's `iat` is in the future, beyond the clock leeway (TX-20).",
    }
    TokenTypeMismatch {
        code: "token_type_mismatch",
        error: InvalidRequest,
        category: Token,
        origin: Engine,
        meaning: "A token is not of its declared type: an ID token as an access token or the reverse, a JWT as a refresh token, an opaque token of another kind (TX-23); an ID-JAG (`typ` `oauth-id-jag+jwt`) presented as a subject or actor token, or an assertion not typed so.",
    }
    TokenInactive {
        code: "token_inactive",
        error: InvalidRequest,
        category: Token,
        origin: Engine,
        meaning: "An opaque token's lookup found it inactive: unknown, expired, revoked, or its session ended (TX-21).",
    }
    AudienceMismatch {
        code: "audience_mismatch",
        error: InvalidRequest,
        category: Token,
        origin: Engine,
        meaning: "A trusted issuer's token is not meant for this server (TX-24): for an ID-JAG, its `aud` is not this server's issuer alone; at a resource server, the token is not meant for it.",
    }
    AssertionReplayed {
        code: "assertion_replayed",
        error: InvalidGrant,
        category: Token,
        origin: Plugin,
        meaning: "The ID-JAG was redeemed before: its issuer and `jti` are used once, on every instance sharing the database.",
    }
    ProofOfPossessionRequired {
        code: "proof_of_possession_required",
        error: InvalidRequest,
        category: Token,
        origin: Engine,
        meaning: "The ID-JAG is bound to a key (`cnf`), and the engine checks no proof of possession (DPoP) for the jwt-bearer grant, so it is refused.",
    }
    ActChainTooDeep {
        code: "act_chain_too_deep",
        error: InvalidRequest,
        category: Token,
        origin: Engine,
        meaning: "A token's `act` chain is deeper than `maxActDepth` (TX-25), or at a resource server deeper than its `maxChainDepth`.",
    }
    // --------------------------------------------------------------- subject
    SubjectNotLinked {
        code: "subject_not_linked",
        error: InvalidRequest,
        category: Subject,
        origin: Engine,
        meaning: "A trusted issuer's subject is not linked to a local user (TX-24), and for an ID-JAG its issuer does not provision users (`jitProvisioning`) or the assertion has no `email`.",
    }
    SubjectNotFound {
        code: "subject_not_found",
        error: InvalidRequest,
        category: Subject,
        origin: Plugin,
        meaning: "The granted subject is not a user of this server (for example the user was deleted).",
    }
    SessionEnded {
        code: "session_ended",
        error: InvalidRequest,
        category: Subject,
        origin: Plugin,
        meaning: "The subject token's session ended (a sign-out) before the exchange completed.",
    }
    // ---------------------------------------------------------------- policy
    TokenTypeNotAccepted {
        code: "token_type_not_accepted",
        error: InvalidRequest,
        category: Policy,
        origin: Engine,
        meaning: "The client's policy, or the trusted issuer's configuration, does not accept this type of subject or actor token (TX-45); an ID-JAG is issued for an ID token only, and redeemed only from an issuer whose `tokenTypes` list `id_jag`.",
    }
    IssuerNotAllowedForClient {
        code: "issuer_not_allowed_for_client",
        error: InvalidRequest,
        category: Policy,
        origin: Engine,
        meaning: "The token (or ID-JAG) comes from a trusted issuer this client may not translate from (TX-24).",
    }
    TokenHolderMismatch {
        code: "token_holder_mismatch",
        error: InvalidRequest,
        category: Policy,
        origin: Engine,
        meaning: "The subject or actor token was issued to another client and does not name this one in `aud`, and the policy does not widen holder binding (TX-26); or an ID-JAG's `client_id` is not the authenticated client.",
    }
    ActorEqualsSubject {
        code: "actor_equals_subject",
        error: InvalidRequest,
        category: Policy,
        origin: Engine,
        meaning: "The actor token and the subject token identify the same party (same `iss` and `sub`, TX-27).",
    }
    MayActMismatch {
        code: "may_act_mismatch",
        error: InvalidRequest,
        category: Policy,
        origin: Engine,
        meaning: "The subject token's `may_act` does not name the acting party (the actor, or without an actor token the client); a member set without `iss` names a party of the subject's own issuer (TX-42, TX-46).",
    }
    DelegationNotAllowed {
        code: "delegation_not_allowed",
        error: InvalidRequest,
        category: Policy,
        origin: Engine,
        meaning: "The policy (of the client or of a requested target) does not allow delegation, an exchange with an actor token (TX-43, TX-45); an ID-JAG is never issued for an actor.",
    }
    ImpersonationNotAllowed {
        code: "impersonation_not_allowed",
        error: InvalidRequest,
        category: Policy,
        origin: Engine,
        meaning: "The policy (of the client or of a requested target) does not allow impersonation, an exchange without an actor token (TX-43, TX-45).",
    }
    DelegationTooDeep {
        code: "delegation_too_deep",
        error: InvalidRequest,
        category: Policy,
        origin: Engine,
        meaning: "The issued token's `act` chain would be deeper than the policy's `maxDelegationDepth` or the engine's `maxActDepth` (TX-45, TX-25).",
    }
    // ---------------------------------------------------------------- target
    InvalidTargetValue {
        code: "invalid_target_value",
        error: InvalidTarget,
        category: Target,
        origin: Engine,
        meaning: "An `audience` or `resource` value is longer than 2048 bytes (TX-25).",
    }
    InvalidResource {
        code: "invalid_resource",
        error: InvalidTarget,
        category: Target,
        origin: Engine,
        meaning: "A `resource` is not an absolute URI without a fragment (TX-6, RFC 8707 section 2).",
    }
    TooManyTargets {
        code: "too_many_targets",
        error: InvalidTarget,
        category: Target,
        origin: Engine,
        meaning: "More than 128 `audience` and `resource` values (TX-25), or more than one `audience` for an ID-JAG.",
    }
    NoTarget {
        code: "no_target",
        error: InvalidTarget,
        category: Target,
        origin: Engine,
        meaning: "The request names no `audience` or `resource`, the client has no default targets, and the client's policy or the engine's settings require a target (`requireTarget`, TX-9); or an ID-JAG is requested without an `audience`.",
    }
    TargetNotAllowed {
        code: "target_not_allowed",
        error: InvalidTarget,
        category: Target,
        origin: Engine,
        meaning: "A requested (or default) target is not linked to the client or not allowed by its policy (TX-6, TX-45); for an ID-JAG, an audience not in the policy's `idJag` or a resource its entry does not list; for an assertion, a resource outside its `resource` claim.",
    }
    // ----------------------------------------------------------------- scope
    TooManyScopes {
        code: "too_many_scopes",
        error: InvalidScope,
        category: Scope,
        origin: Engine,
        meaning: "More than 1024 scope values (TX-25).",
    }
    MalformedScope {
        code: "malformed_scope",
        error: InvalidScope,
        category: Scope,
        origin: Engine,
        meaning: "`scope` is not space-separated scope tokens (RFC 6749 section 3.3), or a token is longer than 2048 bytes.",
    }
    ScopeNotAllowed {
        code: "scope_not_allowed",
        error: InvalidScope,
        category: Scope,
        origin: Engine,
        meaning: "A requested scope is outside what may be granted: the client's registered scopes, the policy ceiling, or the subject token's scope (TX-30, TX-31, TX-32); for an ID-JAG, its `idJag` entry's scopes; for an assertion, also its `scope` claim.",
    }
    // ---------------------------------------------------------------- server
    InvalidClientPolicy {
        code: "invalid_client_policy",
        error: ServerError,
        category: Server,
        origin: Engine,
        meaning: "The client's token-exchange policy (its metadata) is not a valid policy: a configuration error, never the request's fault.",
    }
    MalformedJwks {
        code: "malformed_jwks",
        error: ServerError,
        category: Server,
        origin: Engine,
        meaning: "A key set given to the engine is unusable as a whole (not a JSON object, `keys` not an array, too many keys). Answered when keys are set, never to a client: a token of that issuer then fails with `unknown_key`.",
    }
    InvalidEngineCall {
        code: "invalid_engine_call",
        error: ServerError,
        category: Server,
        origin: Engine,
        meaning: "The call the plugin made to the engine is not valid JSON of the expected shape: a bug, answered as data (`invalid_token` from the resource-server verifier).",
    }
    IssuanceFailed {
        code: "issuance_failed",
        error: ServerError,
        category: Server,
        origin: Plugin,
        meaning: "The exchange was granted but the token could not be issued (storage failed, or the provider refused, in which case the record carries the provider's error).",
    }
    // ------------------------------------------------------- resource server
    OpaqueToken {
        code: "opaque_token",
        error: InvalidToken,
        category: Token,
        origin: ResourceServer,
        meaning: "The token is not a JWT; an opaque token can only be checked by introspection (RFC 7662).",
    }
    ActorRequired {
        code: "actor_required",
        error: InvalidToken,
        category: Policy,
        origin: ResourceServer,
        meaning: "The resource server requires an actor and the token has no `act` claim (an impersonation token).",
    }
    ActorNotAllowed {
        code: "actor_not_allowed",
        error: InvalidToken,
        category: Policy,
        origin: ResourceServer,
        meaning: "The token's current actor (its outermost `act`, TX-44) is not one the resource server allows.",
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reason equals its wire code: `Reason::TokenExpired == "token_expired"`.
impl PartialEq<&str> for Reason {
    fn eq(&self, code: &&str) -> bool {
        self.as_str() == *code
    }
}

/// A wire code equals its reason: `"token_expired" == Reason::TokenExpired`.
impl PartialEq<Reason> for &str {
    fn eq(&self, reason: &Reason) -> bool {
        *self == reason.as_str()
    }
}

/// A refused exchange: the wire error, a stable reason code callers can
/// switch on, and a description safe to send (no token contents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The OAuth error code: `reason.error()`, or for a jwt-bearer
    /// assertion `reason.assertion_error()`.
    pub error: ErrorCode,
    /// The stable reason.
    pub reason: Reason,
    /// Human-readable description for `error_description`.
    pub description: String,
}

impl Refusal {
    /// A refusal for `reason`, answered with the reason's OAuth error.
    pub fn new(reason: Reason, description: impl Into<String>) -> Self {
        Self {
            error: reason.error(),
            reason,
            description: description.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// `TokenExpired` to `token_expired`: what serde's `snake_case` would
    /// write for the variant's name.
    fn snake_case(name: &str) -> String {
        let mut out = String::new();
        for (i, ch) in name.chars().enumerate() {
            if ch.is_ascii_uppercase() {
                if i > 0 {
                    out.push('_');
                }
                out.push(ch.to_ascii_lowercase());
            } else {
                out.push(ch);
            }
        }
        out
    }

    #[test]
    fn codes_are_the_snake_case_variant_names_and_unique() {
        let mut seen = HashSet::new();
        for reason in Reason::ALL {
            assert_eq!(reason.as_str(), snake_case(&format!("{reason:?}")));
            assert!(seen.insert(reason.as_str()), "{reason:?} twice");
            assert_eq!(
                serde_json::to_value(reason).unwrap(),
                serde_json::Value::String(reason.as_str().to_owned())
            );
            assert_eq!(reason.to_string(), reason.as_str());
        }
    }

    #[test]
    fn all_lists_every_variant_grouped_by_category() {
        // A variant left out of ALL would be missing from the generated
        // files; the macro builds ALL from the same table, so count them.
        assert_eq!(Reason::ALL.len(), 61);
        // Each category's reasons are together (resource-server ones last).
        let engine: Vec<Category> = Reason::ALL
            .iter()
            .filter(|r| r.origin() != Origin::ResourceServer)
            .map(|r| r.category())
            .collect();
        let mut groups = engine.clone();
        groups.dedup();
        let unique: HashSet<_> = groups.iter().collect();
        assert_eq!(groups.len(), unique.len(), "{groups:?}");
    }

    #[test]
    fn meanings_are_sentences_safe_in_a_table() {
        for reason in Reason::ALL {
            let meaning = reason.meaning();
            assert!(meaning.ends_with('.'), "{reason:?}");
            assert!(!meaning.contains('|') && !meaning.contains('\n'));
        }
    }

    #[test]
    fn refusals_take_the_reasons_error() {
        let r = Refusal::new(Reason::NoTarget, "x");
        assert_eq!(r.error, ErrorCode::InvalidTarget);
        assert_eq!(
            Reason::ClientAuthenticationFailed.error(),
            ErrorCode::InvalidClient
        );
        assert_eq!(Reason::ActorNotAllowed.error().as_str(), "invalid_token");
    }

    #[test]
    fn assertion_refusals_are_invalid_grant_and_the_rest_keep_their_error() {
        // RFC 7523 §3.1: a refused assertion is invalid_grant.
        for reason in [
            Reason::BadSignature,
            Reason::AudienceMismatch,
            Reason::TokenHolderMismatch,
            Reason::SubjectNotLinked,
            Reason::TokenTooLarge,
            Reason::ProofOfPossessionRequired,
        ] {
            assert_eq!(
                reason.assertion_error(),
                ErrorCode::InvalidGrant,
                "{reason}"
            );
        }
        for (reason, error) in [
            (Reason::ClientAuthenticationFailed, ErrorCode::InvalidClient),
            (Reason::IdJagNotEnabled, ErrorCode::UnauthorizedClient),
            (Reason::MissingParameter, ErrorCode::InvalidRequest),
            (Reason::UnsupportedGrantType, ErrorCode::InvalidRequest),
            (Reason::TargetNotAllowed, ErrorCode::InvalidTarget),
            (Reason::ScopeNotAllowed, ErrorCode::InvalidScope),
            (Reason::InvalidClientPolicy, ErrorCode::ServerError),
            (Reason::OpaqueToken, ErrorCode::InvalidToken),
        ] {
            assert_eq!(reason.assertion_error(), error, "{reason}");
        }
    }
}
