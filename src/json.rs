//! Strict parsing of untrusted JSON.
//!
//! Tokens and key sets arrive from outside, so their JSON is parsed more
//! strictly than `serde_json` does by default:
//!
//! - Duplicate member names are refused at every level. RFC 7515 §5.2 and
//!   RFC 7519 §4 require a JOSE header or claims set with duplicate names to
//!   be rejected (or only the last taken); RFC 8725 §3.12 notes that parsers
//!   disagreeing on which duplicate wins is an attack surface, so we refuse.
//! - Nesting deeper than a caller-chosen limit is refused by a linear,
//!   non-recursive pre-scan that runs before `serde_json` sees the bytes, so
//!   a hostile 10,000-deep document costs O(n) and never recurses
//!   (behaviour TX-25).
//! - The top level must be an object, and the input valid UTF-8 and JSON.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Why a JSON document was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonError {
    /// Arrays and objects are nested deeper than the limit.
    TooDeep,
    /// An object has the same member name twice.
    DuplicateMember,
    /// Valid JSON, but the top-level value is not an object.
    NotAnObject,
    /// Not valid JSON (syntax, invalid UTF-8, lone surrogate, number out of range).
    Syntax,
}

impl JsonError {
    /// A stable snake_case code callers can switch on.
    pub fn code(&self) -> &'static str {
        match self {
            JsonError::TooDeep => "json_too_deep",
            JsonError::DuplicateMember => "duplicate_json_member",
            JsonError::NotAnObject | JsonError::Syntax => "malformed_json",
        }
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never echo the input: it may be a token or key material.
        let text = match self {
            JsonError::TooDeep => "JSON is nested too deeply",
            JsonError::DuplicateMember => "JSON object has a duplicate member name",
            JsonError::NotAnObject => "JSON value is not an object",
            JsonError::Syntax => "JSON is malformed",
        };
        f.write_str(text)
    }
}

impl std::error::Error for JsonError {}

/// Checks that arrays and objects in `bytes` nest at most `max_depth` deep
/// (a top-level object alone is depth 1), in one linear pass and constant
/// memory.
///
/// The scan tracks only whether it is inside a string (and whether the next
/// byte is escaped) and counts brackets outside strings. On any input that is
/// valid JSON up to some point, it agrees with a real parser up to that point,
/// so a parser run afterwards can never nest deeper than this scan measured.
/// It does not validate syntax: that is left to the parser.
pub fn check_depth(bytes: &[u8], max_depth: usize) -> Result<(), JsonError> {
    let mut depth: usize = 0;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max_depth {
                    return Err(JsonError::TooDeep);
                }
            }
            // Unbalanced closers are a syntax error the parser reports.
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Strict parse of an untrusted JSON object: refuses duplicate member names at
/// any level, nesting deeper than `max_depth` (checked by [`check_depth`]
/// before parsing), a non-object top level, and invalid UTF-8 or syntax.
pub fn parse_object(bytes: &[u8], max_depth: usize) -> Result<Map<String, Value>, JsonError> {
    match parse_value(bytes, max_depth)? {
        Value::Object(map) => Ok(map),
        _ => Err(JsonError::NotAnObject),
    }
}

/// Strict parse of any untrusted JSON value, with the same rules as
/// [`parse_object`] except that the top level may be any value.
pub fn parse_value(bytes: &[u8], max_depth: usize) -> Result<Value, JsonError> {
    check_depth(bytes, max_depth)?;
    let duplicate = Cell::new(false);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = StrictValue {
        duplicate: &duplicate,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    match parsed {
        Ok(v) => Ok(v),
        Err(_) if duplicate.get() => Err(JsonError::DuplicateMember),
        Err(_) => Err(JsonError::Syntax),
    }
}

/// Builds a `serde_json::Value` like `serde_json`'s own visitor, but fails on
/// a duplicate member name (after unescaping, so `"a"` and `"\u0061"` are the
/// same name). The flag tells the caller the failure was a duplicate rather
/// than a syntax error, without matching on error message text.
#[derive(Clone, Copy)]
struct StrictValue<'f> {
    duplicate: &'f Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        // JSON text cannot express NaN or infinity; serde_json already
        // refuses out-of-range literals, so this only guards the invariant.
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                self.duplicate.set(true);
                return Err(de::Error::custom("duplicate member name"));
            }
            let value = access.next_value_seed(self)?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn parses_a_plain_object() {
        let m = parse_object(br#"{"a":1,"b":[true,null,"x",{"c":-2.5}]}"#, 16).unwrap();
        assert_eq!(m["a"], 1);
        assert_eq!(m["b"][3]["c"], -2.5);
    }

    #[test]
    fn refuses_duplicates_at_top_and_nested_levels() {
        assert_eq!(
            parse_object(br#"{"a":1,"a":2}"#, 16),
            Err(JsonError::DuplicateMember)
        );
        assert_eq!(
            parse_object(br#"{"x":[{"a":1,"b":2,"a":3}]}"#, 16),
            Err(JsonError::DuplicateMember)
        );
        // Escaped and plain spellings of one name are the same name.
        assert_eq!(
            parse_object(br#"{"a":1,"\u0061":2}"#, 16),
            Err(JsonError::DuplicateMember)
        );
    }

    #[test]
    fn depth_limit_counts_arrays_and_objects() {
        assert!(parse_object(br#"{"a":{"b":[1]}}"#, 3).is_ok());
        assert_eq!(
            parse_object(br#"{"a":{"b":[1]}}"#, 2),
            Err(JsonError::TooDeep)
        );
        // Brackets inside strings, including after escaped quotes, do not count.
        assert!(parse_object(br#"{"a":"[[[[\"{{{{"}"#, 1).is_ok());
    }

    #[test]
    fn ten_thousand_deep_is_refused_without_recursion() {
        let mut s = String::from("{\"a\":");
        s.push_str(&"[".repeat(10_000));
        s.push_str(&"]".repeat(10_000));
        s.push('}');
        assert_eq!(parse_object(s.as_bytes(), 16), Err(JsonError::TooDeep));
        assert_eq!(check_depth(s.as_bytes(), 16), Err(JsonError::TooDeep));
        // Unterminated deep input is refused the same way.
        let open = "[".repeat(10_000);
        assert_eq!(parse_object(open.as_bytes(), 16), Err(JsonError::TooDeep));
    }

    #[test]
    fn refuses_non_objects_and_bad_syntax() {
        assert_eq!(parse_object(b"[1,2]", 16), Err(JsonError::NotAnObject));
        assert_eq!(parse_object(b"\"s\"", 16), Err(JsonError::NotAnObject));
        assert_eq!(parse_object(b"", 16), Err(JsonError::Syntax));
        assert_eq!(parse_object(b"{", 16), Err(JsonError::Syntax));
        assert_eq!(parse_object(b"{} {}", 16), Err(JsonError::Syntax));
        assert_eq!(parse_object(b"{\"a\":1,}", 16), Err(JsonError::Syntax));
        assert_eq!(parse_object(b"{\"a\":\xff}", 16), Err(JsonError::Syntax));
        assert_eq!(
            parse_object(b"{\"a\":\"\xc3\x28\"}", 16),
            Err(JsonError::Syntax)
        );
        assert_eq!(
            parse_object(br#"{"a":"\ud800"}"#, 16),
            Err(JsonError::Syntax)
        );
        assert_eq!(parse_object(br#"{"a":1e400}"#, 16), Err(JsonError::Syntax));
        assert_eq!(parse_object(b"]]]]{}", 16), Err(JsonError::Syntax));
    }

    #[test]
    fn codes_are_stable() {
        assert_eq!(JsonError::TooDeep.code(), "json_too_deep");
        assert_eq!(JsonError::DuplicateMember.code(), "duplicate_json_member");
        assert_eq!(JsonError::NotAnObject.code(), "malformed_json");
        assert_eq!(JsonError::Syntax.code(), "malformed_json");
    }
}
