//! The exchange decision: client checks, token validation, holder binding,
//! `may_act`, targets, delegation, scope narrowing and the expiry cap. An
//! ID-JAG requested by exchange follows the rules of [`crate::id_jag`].

use crate::answer::{AuditRecord, Decision, Failure, Grant, IdJagGrant, PartyRecord, Verdict};
use crate::config::{
    AuthFailure, ClientInput, ClientPolicy, DecideCall, HolderBinding, DEFAULT_ACCEPTED_TYPES,
    DEFAULT_REQUESTED_TYPES,
};
use crate::error::{clean, quote};
use crate::reason::{Reason, Refusal};
use crate::request::{ExchangeRequest, TokenType, GRANT_TYPE};
use crate::scope::{requested_within, scope_set};
use crate::token::{Role, TokenFacts, Validator};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// The client after TX-10 to TX-12.
pub(crate) struct Client<'a> {
    /// The client id.
    pub(crate) id: &'a str,
    /// Registered scopes (TX-30).
    pub(crate) scopes: &'a [String],
    /// Linked resources (TX-6).
    pub(crate) linked: &'a [String],
    /// The client's policy, parsed.
    pub(crate) policy: ClientPolicy,
}

/// The grant a client asks for: each has its own opt-in and registered
/// grant type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GrantKind {
    /// Token exchange (RFC 8693), opted in with `allowedTokenExchange`.
    Exchange,
    /// The jwt-bearer grant presenting an ID-JAG (RFC 7523 §2.1), opted
    /// in with `allowedIdJag`.
    JwtBearer,
}

impl GrantKind {
    /// The `grant_type` URI.
    pub(crate) fn uri(self) -> &'static str {
        match self {
            Self::Exchange => GRANT_TYPE,
            Self::JwtBearer => crate::request::JWT_BEARER_GRANT_TYPE,
        }
    }

    fn public_client(self) -> Refusal {
        Refusal::new(
            Reason::PublicClient,
            match self {
                Self::Exchange => "public clients may not use token exchange; authenticate as a confidential client",
                Self::JwtBearer => "public clients may not use the jwt-bearer grant; authenticate as a confidential client",
            },
        )
    }

    fn not_registered(self) -> Refusal {
        Refusal::new(
            Reason::GrantTypeNotAllowed,
            match self {
                Self::Exchange => "the client is not registered for the token-exchange grant type",
                Self::JwtBearer => "the client is not registered for the jwt-bearer grant type",
            },
        )
    }
}

/// Policy effective for one request: the client's, narrowed by every
/// requested target's overrides (TX-45).
pub(crate) struct Effective {
    /// Scope ceiling: the policy's, narrowed by each target's.
    pub(crate) scope_ceiling: Option<Vec<String>>,
    impersonation: bool,
    delegation: bool,
    max_depth: usize,
}

/// Decides one exchange. Never panics; every path yields a record.
pub fn decide(validator: &Validator<'_>, call: &DecideCall) -> Decision {
    let mut audit = AuditRecord::new(call.now, call.client.client_id().map(str::to_owned));
    let basic = matches!(
        call.client,
        ClientInput::Unauthenticated { basic: true, .. }
    );
    match run(validator, call, &mut audit) {
        Ok(grant) => Decision::Success(Box::new(grant)),
        Err(refusal) => Decision::Failure(Box::new(Failure::from_refusal(refusal, audit, basic))),
    }
}

/// TX-10, TX-11, TX-12: confidential, authenticated, enabled, opted in
/// to the grant `kind` and registered for it.
pub(crate) fn check_client(input: &ClientInput, kind: GrantKind) -> Result<Client<'_>, Refusal> {
    match input {
        ClientInput::Unauthenticated { reason, .. } => Err(match reason {
            AuthFailure::PublicClient => kind.public_client(),
            AuthFailure::NoCredentials => Refusal::new(
                Reason::ClientAuthenticationFailed,
                "client authentication is required",
            ),
            AuthFailure::GrantNotAllowed => kind.not_registered(),
            AuthFailure::UnknownClient | AuthFailure::BadCredentials => Refusal::new(
                Reason::ClientAuthenticationFailed,
                "client authentication failed",
            ),
        }),
        ClientInput::Authenticated {
            client_id,
            auth_method,
            disabled,
            grant_types,
            scopes,
            linked_resources,
            allowed_token_exchange,
            allowed_id_jag,
            policy,
        } => {
            // TX-12: a disabled client reads exactly like an unknown one.
            if *disabled {
                return Err(Refusal::new(
                    Reason::ClientAuthenticationFailed,
                    "client authentication failed",
                ));
            }
            if auth_method == "none" || auth_method.is_empty() {
                return Err(kind.public_client());
            }
            match kind {
                GrantKind::Exchange if !*allowed_token_exchange => {
                    return Err(Refusal::new(
                        Reason::TokenExchangeNotEnabled,
                        "token exchange is not enabled for this client",
                    ))
                }
                GrantKind::JwtBearer if !*allowed_id_jag => {
                    return Err(Refusal::new(
                        Reason::IdJagNotEnabled,
                        "the jwt-bearer grant with ID-JAGs is not enabled for this client",
                    ))
                }
                _ => {}
            }
            if !grant_types.iter().any(|g| g == kind.uri()) {
                return Err(kind.not_registered());
            }
            Ok(Client {
                id: client_id,
                scopes,
                linked: linked_resources,
                policy: match policy {
                    None | Some(Value::Null) => ClientPolicy::default(),
                    Some(value) => ClientPolicy::deserialize(value).map_err(|e| {
                        // serde's message may quote the policy's own text.
                        Refusal::new(
                            Reason::InvalidClientPolicy,
                            format!(
                                "the client's token-exchange policy is invalid: {}",
                                clean(&e.to_string(), 300)
                            ),
                        )
                    })?,
                },
            })
        }
    }
}

fn run(
    validator: &Validator<'_>,
    call: &DecideCall,
    audit: &mut AuditRecord,
) -> Result<Grant, Refusal> {
    let client = check_client(&call.client, GrantKind::Exchange)?;
    let settings = validator.settings;
    let request = ExchangeRequest::parse(&call.form, settings.max_token_bytes as usize)?;
    audit.subject_token_type = Some(request.subject_token_type.uri());
    audit.actor_token_type = request.actor.as_ref().map(|(_, t)| t.uri());
    audit.requested_token_type = Some(request.requested_token_type.uri());
    audit.audiences.clone_from(&request.audiences);
    audit.resources.clone_from(&request.resources);
    audit.requested_scope = request.scope.as_ref().map(|s| s.join(" "));
    audit.delegation = request.actor.is_some();
    let policy = &client.policy;

    // TX-5: the types this client may request (access tokens by default).
    let requested = request.requested_token_type;
    let requestable = policy
        .requested_token_types
        .as_deref()
        .unwrap_or(&DEFAULT_REQUESTED_TYPES);
    if !requestable.contains(&requested) {
        return Err(Refusal::new(
            Reason::UnsupportedRequestedTokenType,
            format!("this client may not request {} tokens", requested.name()),
        ));
    }
    let id_jag = requested == TokenType::IdJag;
    if id_jag {
        crate::id_jag::check_request(&request)?;
    }

    // TX-45: accepted token types, before any token is read.
    let accepts = |list: &Option<Vec<TokenType>>, kind: TokenType| {
        list.as_deref()
            .unwrap_or(&DEFAULT_ACCEPTED_TYPES)
            .contains(&kind)
    };
    if !accepts(&policy.subject_token_types, request.subject_token_type) {
        return Err(Refusal::new(
            Reason::TokenTypeNotAccepted,
            format!(
                "this client may not exchange {} subject tokens",
                request.subject_token_type.name()
            ),
        ));
    }
    if let Some((_, kind)) = &request.actor {
        if !accepts(&policy.actor_token_types, *kind) {
            return Err(Refusal::new(
                Reason::TokenTypeNotAccepted,
                format!("this client may not present {} actor tokens", kind.name()),
            ));
        }
    }

    let subject = validator.validate(
        Role::Subject,
        &request.subject_token,
        request.subject_token_type,
        call.subject_facts.as_ref(),
    )?;
    audit.subject = Some(subject.party());
    audit.prior_actors.clone_from(&subject.act_chain);
    let actor = match &request.actor {
        None => None,
        Some((token, kind)) => {
            let facts = validator.validate(Role::Actor, token, *kind, call.actor_facts.as_ref())?;
            audit.actor = Some(facts.party());
            Some(facts)
        }
    };
    if actor.is_none() {
        // Without an actor token the exchanging client is the party acting.
        audit.actor = Some(PartyRecord {
            iss: None,
            sub: None,
            client_id: Some(client.id.to_owned()),
        });
    }

    // TX-24: translation only from issuers this client may translate from.
    for facts in std::iter::once(&subject).chain(actor.as_ref()) {
        if facts.external
            && !policy
                .trusted_issuers
                .as_ref()
                .is_some_and(|list| list.contains(&facts.iss))
        {
            return Err(Refusal::new(
                Reason::IssuerNotAllowedForClient,
                "this client may not exchange tokens from that issuer",
            ));
        }
    }

    // TX-26: holder binding, for the subject and the actor token alike.
    check_holder(Role::Subject, &subject, client.id, policy)?;
    if let Some(actor) = &actor {
        check_holder(Role::Actor, actor, client.id, policy)?;
        // TX-27: an actor acting for itself is not delegation.
        if actor.iss == subject.iss && actor.sub == subject.sub {
            return Err(Refusal::new(
                Reason::ActorEqualsSubject,
                "the actor token and the subject token identify the same party",
            ));
        }
    }

    // TX-42: may_act names who may act; with no actor token, the client,
    // whose identity is of this server's issuer. TX-46: without `iss`,
    // may_act names a party of the subject token's own issuer.
    if let Some(may_act) = &subject.may_act {
        let client_identity = client_identity(client.id, &settings.issuer);
        let identity = actor
            .as_ref()
            .map(|a| &a.identity_claims)
            .unwrap_or(&client_identity);
        if !may_act_matches(may_act, identity, &subject.iss) {
            return Err(Refusal::new(
                Reason::MayActMismatch,
                "the subject token's may_act does not name the acting party",
            ));
        }
    }

    // TX-6: targets; for an ID-JAG, the other server and its resources,
    // to which this server's per-target policy does not apply.
    let (audiences, resources, id_jag_entry) = if id_jag {
        let (audience, entry) = crate::id_jag::target(&request, policy)?;
        (vec![audience], request.resources.clone(), Some(entry))
    } else {
        let (audiences, resources) = targets(&request, &client, settings.require_target)?;
        (audiences, resources, None)
    };
    audit.audiences.clone_from(&audiences);
    audit.resources.clone_from(&resources);
    let (own_audiences, own_resources): (&[String], &[String]) = if id_jag {
        (&[], &[])
    } else {
        (&audiences, &resources)
    };
    let effective = effective_policy(
        policy,
        own_audiences,
        own_resources,
        settings.max_act_depth as usize,
    );

    // TX-40, TX-41, TX-43: impersonation or delegation.
    let delegation = actor.is_some();
    if delegation && !effective.delegation {
        return Err(Refusal::new(
            Reason::DelegationNotAllowed,
            "this client may not act for a subject with an actor token (delegation)",
        ));
    }
    if !delegation && !effective.impersonation {
        return Err(Refusal::new(
            Reason::ImpersonationNotAllowed,
            "this client may not exchange a subject token without an actor token (impersonation)",
        ));
    }
    let act = match &actor {
        Some(actor) => Some(new_act(
            actor,
            client.id,
            &settings.issuer,
            subject.act.as_ref(),
        )),
        // An ID-JAG asserts the user's identity; it names no actor.
        None if id_jag => None,
        None => subject.act.clone(),
    };
    let depth = subject.act_chain.len() + usize::from(delegation);
    if depth > effective.max_depth {
        return Err(Refusal::new(
            Reason::DelegationTooDeep,
            format!(
                "the act chain would be {depth} deep; at most {} allowed",
                effective.max_depth
            ),
        ));
    }

    // TX-30 to TX-32, TX-55: scope. Refresh tokens come with access tokens
    // only, never with a JWT or an ID-JAG.
    let refresh_token =
        requested == TokenType::AccessToken && policy.refresh_tokens.unwrap_or(false);
    let scopes = match id_jag_entry {
        Some(entry) => crate::id_jag::scope(&request, entry)?,
        None => grant_scope(&request, &client, &subject, &effective, refresh_token)?,
    };
    let scope = scopes.join(" ");

    // TX-51: never outlive the subject (nor the actor) token; TX-55: nor
    // does anything refreshed from the issued token.
    let chain_expires_at = [subject.exp, actor.as_ref().and_then(|a| a.exp)]
        .into_iter()
        .flatten()
        .min();
    let lifetime = if id_jag {
        settings.id_jag_lifetime_seconds
    } else {
        settings.max_lifetime_seconds
    };
    let lifetime_cap = call.now.saturating_add(i64::from(lifetime));
    let expires_at = chain_expires_at.map_or(lifetime_cap, |e| e.min(lifetime_cap));
    if expires_at <= call.now {
        return Err(Refusal::new(
            Reason::TokenExpired,
            "the presented tokens have expired",
        ));
    }

    let user_id = if subject.external {
        match &call.subject_user {
            Some(user) if user.issuer == subject.iss && user.sub == subject.sub => {
                user.user_id.clone()
            }
            _ => {
                return Err(Refusal::new(
                    Reason::SubjectNotLinked,
                    "the external subject is not linked to a local user",
                ))
            }
        }
    } else {
        subject.sub.clone()
    };

    audit.decision = Verdict::Granted;
    audit.granted_scope = Some(scope.clone());
    let scope_changed = request.scope.as_ref() != Some(&scopes);
    let id_jag_grant = id_jag_entry.map(|entry| IdJagGrant {
        audience: audiences.first().cloned().unwrap_or_default(),
        client_id: entry.client_id.clone(),
        resources: resources.clone(),
        claims: crate::id_jag::carried_claims(&subject),
    });
    Ok(Grant {
        subject: subject.sub.clone(),
        subject_issuer: subject.iss.clone(),
        user_id,
        // Another issuer's `sid` names none of our sessions.
        session_id: if subject.external {
            None
        } else {
            subject.session_id.clone()
        },
        audiences,
        resources,
        scopes,
        scope,
        scope_changed,
        act,
        delegation,
        expires_at,
        chain_expires_at,
        issued_token_type: requested.uri(),
        // RFC 8693 §2.2.1: N_A when the issued token is not an access token.
        token_type: if requested == TokenType::AccessToken {
            "Bearer"
        } else {
            "N_A"
        },
        id_jag: id_jag_grant,
        refresh_token,
        audit: audit.clone(),
    })
}

fn check_holder(
    role: Role,
    facts: &TokenFacts,
    client_id: &str,
    policy: &ClientPolicy,
) -> Result<(), Refusal> {
    // External tokens are bound by their audience (checked at validation)
    // and the per-client issuer allow-list (TX-24) instead.
    if facts.external {
        return Ok(());
    }
    let holder_ok = facts.holder.as_deref() == Some(client_id)
        || facts.aud.iter().any(|a| a == client_id)
        || match &policy.holder_binding {
            None => false,
            Some(HolderBinding::Keyword(_)) => true,
            Some(HolderBinding::Clients { clients }) => {
                facts.holder.as_ref().is_some_and(|h| clients.contains(h))
            }
        };
    if holder_ok {
        Ok(())
    } else {
        Err(Refusal::new(
            Reason::TokenHolderMismatch,
            format!("{} was not issued to this client", role.name()),
        ))
    }
}

fn client_identity(client_id: &str, issuer: &str) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("iss".into(), Value::String(issuer.to_owned()));
    map.insert("sub".into(), Value::String(client_id.to_owned()));
    map.insert("client_id".into(), Value::String(client_id.to_owned()));
    map
}

/// TX-42: every member of `may_act` must equal the same member of the actor
/// (RFC 8693 §4.4); an empty `may_act` names nobody. TX-46: a `may_act`
/// without `iss` names a party of the subject token's issuer `subject_iss`,
/// so an actor of another (trusted) issuer with the same `sub` does not
/// match; with `iss`, the actor's must equal it like any other member.
pub(crate) fn may_act_matches(
    may_act: &Map<String, Value>,
    identity: &Map<String, Value>,
    subject_iss: &str,
) -> bool {
    let issuer_ok = may_act.contains_key("iss")
        || identity.get("iss").and_then(Value::as_str) == Some(subject_iss);
    issuer_ok && members_match(may_act, identity)
}

/// Every member of `wanted` equals the same member of `identity`; an empty
/// `wanted` matches nothing.
pub(crate) fn members_match(wanted: &Map<String, Value>, identity: &Map<String, Value>) -> bool {
    !wanted.is_empty()
        && wanted
            .iter()
            .all(|(name, value)| identity.get(name) == Some(value))
}

/// TX-41: the new outermost actor, with the subject's chain nested inside
/// unchanged (RFC 8693 §4.1: the newest actor is outermost).
fn new_act(actor: &TokenFacts, client_id: &str, issuer: &str, prior: Option<&Value>) -> Value {
    let mut act = Map::new();
    act.insert("sub".into(), Value::String(actor.sub.clone()));
    if actor.iss != issuer {
        act.insert("iss".into(), Value::String(actor.iss.clone()));
    }
    // An external token's client_id/azp name the other issuer's clients,
    // not ours: the exchanging client is the one acting here.
    let acting_client = match &actor.holder {
        Some(holder) if !actor.external => holder.as_str(),
        _ => client_id,
    };
    act.insert("client_id".into(), Value::String(acting_client.to_owned()));
    if let Some(prior) = prior {
        act.insert("act".into(), prior.clone());
    }
    Value::Object(act)
}

/// TX-6: requested targets (or the client's defaults), each linked to the
/// client and allowed by its policy. TX-9: with neither, no target at all
/// (the token is issued with no audience) unless the client's policy, else
/// the engine's settings (`require_target`), ask for one.
fn targets(
    request: &ExchangeRequest,
    client: &Client<'_>,
    require_target: bool,
) -> Result<(Vec<String>, Vec<String>), Refusal> {
    let policy = &client.policy;
    let (audiences, resources) = if request.audiences.is_empty() && request.resources.is_empty() {
        match &policy.default_targets {
            Some(defaults) if !defaults.is_empty() => (defaults.clone(), Vec::new()),
            _ if policy.require_target.unwrap_or(require_target) => {
                return Err(Refusal::new(
                    Reason::NoTarget,
                    "name the target with audience or resource; this client has no default",
                ))
            }
            _ => (Vec::new(), Vec::new()),
        }
    } else {
        (request.audiences.clone(), request.resources.clone())
    };
    for target in audiences.iter().chain(&resources) {
        check_target(client, target)?;
    }
    Ok((audiences, resources))
}

/// TX-6, TX-45: `target` is linked to the client and, when its policy
/// lists audiences or resources, among them.
pub(crate) fn check_target(client: &Client<'_>, target: &String) -> Result<(), Refusal> {
    let policy = &client.policy;
    let listed = (policy.audiences.is_none() && policy.resources.is_none())
        || [&policy.audiences, &policy.resources]
            .into_iter()
            .flatten()
            .any(|list| list.contains(target));
    if client.linked.contains(target) && listed {
        Ok(())
    } else {
        Err(Refusal::new(
            Reason::TargetNotAllowed,
            format!("this client may not request tokens for {}", quote(target)),
        ))
    }
}

pub(crate) fn effective_policy(
    policy: &ClientPolicy,
    audiences: &[String],
    resources: &[String],
    max_act_depth: usize,
) -> Effective {
    let mut effective = Effective {
        scope_ceiling: policy.scopes.clone(),
        impersonation: policy.impersonation.unwrap_or(true),
        delegation: policy.delegation.unwrap_or(true),
        max_depth: policy
            .max_delegation_depth
            .map_or(max_act_depth, |d| (d as usize).min(max_act_depth)),
    };
    let Some(per_target) = &policy.targets else {
        return effective;
    };
    for target in audiences.iter().chain(resources) {
        let Some(t) = per_target.get(target) else {
            continue;
        };
        if let Some(scopes) = &t.scopes {
            effective.scope_ceiling = Some(match effective.scope_ceiling.take() {
                None => scopes.clone(),
                Some(ceiling) => ceiling.into_iter().filter(|s| scopes.contains(s)).collect(),
            });
        }
        effective.impersonation &= t.impersonation.unwrap_or(true);
        effective.delegation &= t.delegation.unwrap_or(true);
        if let Some(d) = t.max_delegation_depth {
            effective.max_depth = effective.max_depth.min(d as usize);
        }
    }
    effective
}

/// TX-30 to TX-32: the grantable scope is the client's registered scope,
/// under the policy ceiling, and (unless relaxed) within the subject's.
fn grant_scope(
    request: &ExchangeRequest,
    client: &Client<'_>,
    subject: &TokenFacts,
    effective: &Effective,
    refresh_token: bool,
) -> Result<Vec<String>, Refusal> {
    let relax = client.policy.relax_downscoping.unwrap_or(false);
    // Sets, so the check stays linear in the number of scopes (up to
    // MAX_SCOPES of them on each side).
    let client_scopes = scope_set(client.scopes);
    let ceiling = effective.scope_ceiling.as_deref().map(scope_set);
    let subject_scopes = scope_set(&subject.scopes);
    let allowed = |s: &String| {
        client_scopes.contains(s.as_str())
            && ceiling.as_ref().is_none_or(|c| c.contains(s.as_str()))
            && (relax || subject_scopes.contains(s.as_str()))
            // offline_access asks for a refresh token; only when policy allows.
            && (refresh_token || s != "offline_access")
    };
    match &request.scope {
        Some(requested) => requested_within(requested, &allowed),
        None => {
            // Subject order first, then the client's own (when relaxed).
            let mut out: Vec<String> = subject
                .scopes
                .iter()
                .filter(|s| allowed(s))
                .cloned()
                .collect();
            if relax {
                let mut seen: HashSet<&str> = subject
                    .scopes
                    .iter()
                    .filter(|s| allowed(s))
                    .map(String::as_str)
                    .collect();
                for s in client.scopes {
                    if allowed(s) && seen.insert(s.as_str()) {
                        out.push(s.clone());
                    }
                }
            }
            Ok(out)
        }
    }
}
