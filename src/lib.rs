//! RFC 8693 OAuth 2.0 Token Exchange engine.
//!
//! The engine is pure and synchronous: it performs no I/O, reads no clock and
//! keeps no global state. Everything it needs arrives as data (the token
//! endpoint form, the client's policy, key sets, opaque-token facts and
//! `now`), and everything it decides leaves as data (a tagged [`answer::Decision`]
//! carrying the claims to issue or the OAuth error, plus the audit record).
//!
//! Behaviour numbers (`TX-n`) refer to the project's token-exchange behaviour
//! list; RFC sections are cited where a rule comes from a specification.
#![forbid(unsafe_code)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod answer;
pub mod assertion;
pub mod config;
pub mod decide;
pub mod engine;
pub mod error;
pub mod id_jag;
pub mod jose;
pub mod json;
pub mod reason;
pub mod request;
pub mod scope;
pub mod token;
pub mod verify;
#[cfg(feature = "wasm")]
pub mod wasm;

pub use answer::{AssertionDecision, AuditRecord, Decision};
pub use config::{AssertionCall, ClientInput, ClientPolicy, DecideCall, EngineSettings};
pub use engine::Engine;
pub use error::ErrorCode;
pub use reason::{Reason, Refusal};
