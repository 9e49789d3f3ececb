//! Bounds on the work one token may cause (TX-25).

/// Bounds on the work one token may cause (TX-25).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest compact token accepted, in bytes; checked before any decoding.
    pub max_token_bytes: usize,
    /// Deepest nesting of arrays and objects in header, payload and key set JSON.
    pub max_json_depth: usize,
}

impl Limits {
    /// Default token size limit: 16 KiB.
    pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;
    /// Default JSON nesting limit.
    pub const DEFAULT_MAX_JSON_DEPTH: usize = 16;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_token_bytes: Self::DEFAULT_MAX_TOKEN_BYTES,
            max_json_depth: Self::DEFAULT_MAX_JSON_DEPTH,
        }
    }
}
