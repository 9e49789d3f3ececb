//! Files generated from the engine's own tables, checked here to match:
//!
//! - `pkg-template/src/shared/reasons.ts`: the plugin's list of reason codes
//!   with their OAuth errors, categories and origins (from `Reason`);
//! - the table between `<!-- reasons:start -->` and `<!-- reasons:end -->`
//!   in `docs/errors.md` (the rest of that file is written by hand).
//!
//! With `UPDATE_GENERATED=1` the files are written instead of checked.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fmt::Write as _;
use std::path::PathBuf;

use better_auth_token_exchange::reason::{Category, Reason};

const REGENERATE: &str = "UPDATE_GENERATED=1 cargo test --test generated";
const START: &str = "<!-- reasons:start -->";
const END: &str = "<!-- reasons:end -->";

fn path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn updating() -> bool {
    std::env::var_os("UPDATE_GENERATED").is_some_and(|v| v == "1")
}

/// Writes `expected` to `relative` when updating, else fails unless the
/// file already holds exactly it.
fn check_or_write(relative: &str, expected: &str) {
    let file = path(relative);
    if updating() {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(&file, expected).unwrap();
        return;
    }
    let actual = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        actual == expected,
        "{relative} is not what src/reason.rs generates; run `{REGENERATE}`"
    );
}

/// One generated map of `reasons.ts`: a reason's value in it.
type Column = fn(Reason) -> &'static str;

/// `pkg-template/src/shared/reasons.ts`, formatted as biome would (two-space
/// indent, double quotes, trailing commas, one entry per line).
fn reasons_ts() -> String {
    let mut out = String::new();
    out.push_str("// Generated from src/reason.rs by tests/generated.rs: do not edit by hand.\n");
    let _ = writeln!(out, "// Regenerate with `{REGENERATE}`.");
    out.push('\n');
    out.push_str(
        "/** Every reason code the product answers with, in the order of src/reason.rs. */\n",
    );
    out.push_str("export const REASON_CODES = [\n");
    for reason in Reason::ALL {
        let _ = writeln!(out, "  \"{}\",", reason.as_str());
    }
    out.push_str("] as const;\n\n");
    out.push_str("/** The stable reason code of a refusal. */\n");
    out.push_str("export type ReasonCode = (typeof REASON_CODES)[number];\n");
    let maps: [(&str, &str, Column); 5] = [
        (
            "REASON_ERRORS",
            "The OAuth error each reason is answered with; a resource server answers `invalid_token` for every reason.",
            |r| r.error().as_str(),
        ),
        (
            "REASON_ASSERTION_ERRORS",
            "The OAuth error each reason is answered with to a jwt-bearer request presenting an ID-JAG (`invalid_grant` for a refused assertion, RFC 7523 section 3.1).",
            |r| r.assertion_error().as_str(),
        ),
        (
            "REASON_CATEGORIES",
            "The part of the exchange each reason belongs to.",
            |r| r.category().as_str(),
        ),
        (
            "REASON_ORIGINS",
            "Which part of the product answers with each reason.",
            |r| r.origin().as_str(),
        ),
        (
            "REASON_MEANINGS",
            "What each reason means, in a sentence (the docs' error table says the same).",
            |r| r.meaning(),
        ),
    ];
    for (name, doc, value) in maps {
        let _ = write!(
            out,
            "\n/** {doc} */\nexport const {name}: {{ readonly [R in ReasonCode]: string }} = {{\n"
        );
        for reason in Reason::ALL {
            let text = value(*reason).replace('\\', "\\\\").replace('"', "\\\"");
            let _ = writeln!(out, "  {}: \"{}\",", reason.as_str(), text);
        }
        out.push_str("};\n");
    }
    out
}

/// The table of `docs/errors.md`: one row per reason in the order of
/// `Reason::ALL`, under a row naming each category.
fn errors_table() -> String {
    let mut out = String::new();
    out.push_str("| reason | OAuth error | jwt-bearer error | HTTP status | where | meaning |\n");
    out.push_str("| --- | --- | --- | --- | --- | --- |\n");
    let mut category: Option<Category> = None;
    for reason in Reason::ALL {
        if category != Some(reason.category()) {
            category = Some(reason.category());
            let _ = writeln!(out, "| **{}** | | | | | |", reason.category().as_str());
        }
        // Both errors of a reason have the same status (400 but for
        // invalid_client, server_error and invalid_token, which the
        // jwt-bearer grant keeps).
        assert_eq!(reason.error().status(), reason.assertion_error().status());
        let _ = writeln!(
            out,
            "| `{}` | `{}` | `{}` | {} | {} | {} |",
            reason.as_str(),
            reason.error().as_str(),
            reason.assertion_error().as_str(),
            reason.error().status(),
            reason.origin().as_str(),
            reason.meaning()
        );
    }
    out
}

#[test]
fn reasons_ts_is_generated_from_the_reason_enum() {
    check_or_write("pkg-template/src/shared/reasons.ts", &reasons_ts());
}

#[test]
fn the_errors_table_is_generated_from_the_reason_enum() {
    let relative = "docs/errors.md";
    let existing = std::fs::read_to_string(path(relative)).ok();
    let table = errors_table();
    let expected = match &existing {
        // Only the part between the markers is generated.
        Some(text) => match (text.find(START), text.find(END)) {
            (Some(start), Some(end)) if start < end => format!(
                "{}{START}\n{table}{}",
                &text[..start],
                &text[end..]
            ),
            _ => panic!("{relative} has no {START} ... {END} markers"),
        },
        None => format!(
            "# Errors\n\nEvery reason code a refusal can carry, with the OAuth error it is answered with.\n\n{START}\n{table}{END}\n"
        ),
    };
    check_or_write(relative, &expected);
}

#[test]
fn the_generated_files_name_every_reason_once() {
    let ts = reasons_ts();
    let table = errors_table();
    for reason in Reason::ALL {
        let code = reason.as_str();
        assert_eq!(
            ts.matches(&format!("\n  \"{code}\",\n")).count(),
            1,
            "{code}"
        );
        assert_eq!(ts.matches(&format!("  {code}: ")).count(), 5, "{code}");
        assert_eq!(table.matches(&format!("| `{code}` |")).count(), 1, "{code}");
    }
}
