//! The platforms' webhook signatures, checked over the raw bytes received.
//!
//! Each is an HMAC-SHA256 of the body under a shared secret, written differently: LINE sends it
//! base64-encoded in `X-Line-Signature`; Meta (Messenger, Instagram, WhatsApp) sends
//! `sha256=` and lowercase hex in `X-Hub-Signature-256`; Shopee signs the registered callback
//! URL, a `|` and the body, and sends hex in `Authorization`. The body is never parsed and
//! re-serialised first: Meta signs its `\uXXXX`-escaped text, which re-encoding would change.
//! Tags are compared in constant time ([`Mac::verify_slice`]).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How a platform signs its webhook requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Line,
    Meta,
    Shopee,
}

impl Scheme {
    /// The request header that carries the signature.
    pub fn header(self) -> &'static str {
        match self {
            Scheme::Line => "X-Line-Signature",
            Scheme::Meta => "X-Hub-Signature-256",
            Scheme::Shopee => "Authorization",
        }
    }

    /// Whether `header` is the signature of `body` under `key`. Shopee's scheme also signs
    /// `callback_url`; the others ignore it.
    pub fn verifies(self, key: &[u8], callback_url: &str, body: &[u8], header: &str) -> bool {
        let Some(tag) = self.decode(header.trim()) else {
            return false;
        };
        let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
            return false;
        };
        if self == Scheme::Shopee {
            mac.update(callback_url.as_bytes());
            mac.update(b"|");
        }
        mac.update(body);
        mac.verify_slice(&tag).is_ok()
    }

    /// The tag bytes a header value carries, if it is well formed.
    fn decode(self, header: &str) -> Option<Vec<u8>> {
        match self {
            Scheme::Line => BASE64.decode(header).ok(),
            Scheme::Meta => {
                let (algorithm, hex) = header.split_once('=')?;
                if !algorithm.eq_ignore_ascii_case("sha256") {
                    return None;
                }
                from_hex(hex)
            }
            Scheme::Shopee => from_hex(header),
        }
    }
}

/// Bytes from hex digits (either case); `None` for anything else.
fn from_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    let digit = |b: u8| (b as char).to_digit(16);
    hex.as_bytes()
        .chunks(2)
        .map(|pair| Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::sources::webhooks::fixture_bytes as fixture;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn meta_hex(key: &[u8], body: &[u8]) -> String {
        let mut mac = HmacSha256::new_from_slice(key).unwrap();
        mac.update(body);
        hex(&mac.finalize().into_bytes())
    }

    // The expected values were computed independently over the same sample files.
    const LINE_SIGNATURE: &str = "CcHyGNpO84n1/nEa01uv6MPU2Fg69htPzkoa0UBfmAo=";
    const META_SIGNATURE: &str =
        "sha256=2aa4e5801d20c8169518f0c1ef9b2736978b58e5d995d0a85bd34485d87c8483";
    const SHOPEE_SIGNATURE: &str =
        "85b356bf8e5625e8a2c734a7667fa8561327f86d04f02c57ebe21485c26d37f8";
    const SHOPEE_URL: &str = "https://example.com/webhooks/shopee";

    #[test]
    fn known_signatures_of_the_samples_verify() {
        let line = fixture("line-text.json");
        assert!(Scheme::Line.verifies(b"testsecret", "", &line, LINE_SIGNATURE));
        let messenger = fixture("messenger-text.json");
        assert!(Scheme::Meta.verifies(b"appsecret", "", &messenger, META_SIGNATURE));
        assert!(
            Scheme::Meta.verifies(
                b"appsecret",
                "",
                &messenger,
                &META_SIGNATURE
                    .to_ascii_uppercase()
                    .replace("SHA256", "sha256")
            )
        );
        let shopee = fixture("shopee-text.json");
        assert!(Scheme::Shopee.verifies(b"pushkey", SHOPEE_URL, &shopee, SHOPEE_SIGNATURE));
    }

    #[test]
    fn wrong_key_body_url_or_form_does_not_verify() {
        let line = fixture("line-text.json");
        assert!(!Scheme::Line.verifies(b"testsecreT", "", &line, LINE_SIGNATURE));
        let mut changed = line.clone();
        changed.push(b'\n');
        assert!(!Scheme::Line.verifies(b"testsecret", "", &changed, LINE_SIGNATURE));
        assert!(!Scheme::Line.verifies(b"testsecret", "", &line, "not base64!"));
        assert!(!Scheme::Line.verifies(b"testsecret", "", &line, ""));
        let messenger = fixture("messenger-text.json");
        // The bare hex without `sha256=`, or another algorithm's name, is not Meta's header.
        let bare = META_SIGNATURE.trim_start_matches("sha256=");
        assert!(!Scheme::Meta.verifies(b"appsecret", "", &messenger, bare));
        assert!(!Scheme::Meta.verifies(b"appsecret", "", &messenger, &format!("sha1={bare}")));
        assert!(!Scheme::Meta.verifies(b"appsecret", "", &messenger, "sha256=2aa4"));
        let shopee = fixture("shopee-text.json");
        assert!(!Scheme::Shopee.verifies(
            b"pushkey",
            "https://example.com/webhooks/shopee/",
            &shopee,
            SHOPEE_SIGNATURE
        ));
        assert!(!Scheme::Shopee.verifies(b"pushkey", SHOPEE_URL, &shopee, &SHOPEE_SIGNATURE[1..]));
    }

    /// Meta signs the body as sent, non-ASCII escaped; the decoded text has another signature.
    #[test]
    fn meta_signature_is_over_the_escaped_bytes() {
        let escaped = br#"{"t":"\u00e4"}"#;
        let decoded = r#"{"t":"ä"}"#.as_bytes();
        let tag = meta_hex(b"appsecret", escaped);
        assert!(
            tag.starts_with("fd3a2dec") && tag.ends_with("65bf"),
            "{tag}"
        );
        assert!(meta_hex(b"appsecret", decoded).starts_with("f188d5e9"));
        let header = format!("sha256={tag}");
        assert!(Scheme::Meta.verifies(b"appsecret", "", escaped, &header));
        assert!(!Scheme::Meta.verifies(b"appsecret", "", decoded, &header));
    }
}
