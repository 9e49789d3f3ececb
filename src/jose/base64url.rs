//! Base64url as JWS requires it (RFC 7515 §2, RFC 4648 §5), with one
//! accepted spelling per value (TX-29).

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

/// URL-safe alphabet only (`+` and `/` refused), padding refused, and
/// trailing bits that do not encode data must be zero; any other byte,
/// whitespace included, is refused. So every value has exactly one
/// accepted spelling.
pub(crate) const B64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// Strict base64url decoding; `None` on any deviation.
pub(crate) fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    B64URL.decode(text).ok()
}
