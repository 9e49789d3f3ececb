//! Scope narrowing shared by exchange, ID-JAG and assertion grants (TX-30 to
//! TX-32): a requested scope is granted as asked or refused, never widened.

use crate::error::quote;
use crate::reason::{Reason, Refusal};
use std::collections::HashSet;

/// TX-32: the requested scope, never widened, when `allowed` takes each of
/// its values; else `scope_not_allowed` naming those it does not.
pub(crate) fn requested_within(
    requested: &[String],
    allowed: &dyn Fn(&String) -> bool,
) -> Result<Vec<String>, Refusal> {
    let refused: Vec<&str> = requested
        .iter()
        .filter(|s| !allowed(s))
        .map(String::as_str)
        .collect();
    if refused.is_empty() {
        Ok(requested.to_vec())
    } else {
        Err(Refusal::new(
            Reason::ScopeNotAllowed,
            format!("scope {} may not be granted", quote(&refused.join(" "))),
        ))
    }
}

/// The scope tokens of `list`, for membership tests.
pub(crate) fn scope_set(list: &[String]) -> HashSet<&str> {
    list.iter().map(String::as_str).collect()
}
