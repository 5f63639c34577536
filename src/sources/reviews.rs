//! Marketplace product reviews in tix's canonical JSON Lines, one review a line:
//!
//! ```json
//! {"platform":"shopee","product":"Linen shirt M","rating":2,"author":"nok_88","text":"ผ้าบางมาก","time":"2026-11-20T09:15:00+07:00","id":"rv-1001"}
//! ```
//!
//! Required: `platform` (`shopee` or `lazada`), `product`, `rating` (1 to 5), `author`, `text`
//! (may be empty: a rating alone is a review), `time` (RFC 3339 or epoch milliseconds), `id` (the
//! platform's review id). Optional: `account` (the shop's channel account, default the
//! platform's default account) and `author_id` (the buyer's id on the platform, which lets an
//! agent open a chat with them). Every problem of a line is reported, each naming its field.

use serde_json::{Map, Value};

use crate::domain::{ChannelKind, Millis};
use crate::sources::import::parse_sent_at;

/// One product review as read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// The marketplace: Shopee or Lazada.
    pub platform: ChannelKind,
    /// The shop's channel account; `None`: the platform's default account.
    pub account: Option<String>,
    pub product: String,
    pub rating: u8,
    pub author: String,
    pub author_id: Option<String>,
    pub text: String,
    pub created_at: Millis,
    pub review_id: String,
}

/// The marketplaces whose reviews tix stores.
pub const REVIEW_PLATFORMS: [ChannelKind; 2] = [ChannelKind::Shopee, ChannelKind::Lazada];

/// Reads one review line. Keys the format does not know are ignored, as exports carry extras.
pub fn parse_review_line(line: &str) -> Result<Review, String> {
    let value: Value =
        serde_json::from_str(line.trim_end()).map_err(|e| format!("not valid JSON: {e}"))?;
    let Value::Object(o) = value else {
        return Err("expected one JSON object (a review) per line".to_string());
    };
    let mut errors = Vec::new();
    let platform = string(&o, "platform", true, false, &mut errors).and_then(|p| {
        match p.trim().to_ascii_lowercase().as_str() {
            "shopee" => Some(ChannelKind::Shopee),
            "lazada" => Some(ChannelKind::Lazada),
            _ => {
                errors.push(format!(
                    "field \"platform\": \"{}\" is not a marketplace with reviews; expected shopee or lazada",
                    shorten(&p)
                ));
                None
            }
        }
    });
    let product = string(&o, "product", true, false, &mut errors);
    let rating = match o.get("rating") {
        None | Some(Value::Null) => {
            errors.push("missing field \"rating\"".to_string());
            None
        }
        Some(v) => match v
            .as_u64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        {
            Some(n @ 1..=5) => u8::try_from(n).ok(),
            _ => {
                errors.push(format!(
                    "field \"rating\": expected a whole number from 1 to 5, found {}",
                    describe(v)
                ));
                None
            }
        },
    };
    let author = string(&o, "author", true, false, &mut errors);
    let text = string(&o, "text", true, true, &mut errors);
    let created_at = string(&o, "time", true, false, &mut errors).and_then(|t| {
        parse_sent_at(&t)
            .map_err(|e| errors.push(format!("field \"time\": {e}")))
            .ok()
    });
    let review_id = string(&o, "id", true, false, &mut errors);
    let account = string(&o, "account", false, false, &mut errors);
    let author_id = string(&o, "author_id", false, false, &mut errors);
    match (
        platform, product, rating, author, text, created_at, review_id,
    ) {
        (
            Some(platform),
            Some(product),
            Some(rating),
            Some(author),
            Some(text),
            Some(created_at),
            Some(review_id),
        ) if errors.is_empty() => Ok(Review {
            platform,
            account,
            product,
            rating,
            author,
            author_id,
            text,
            created_at,
            review_id,
        }),
        _ => Err(errors.join("; ")),
    }
}

/// A string field (ids and times may be written as integers). A blank value counts as absent,
/// except where `empty_ok`.
fn string(
    o: &Map<String, Value>,
    key: &str,
    required: bool,
    empty_ok: bool,
    errors: &mut Vec<String>,
) -> Option<String> {
    let integer_ok = matches!(key, "id" | "time" | "author_id");
    let value = match o.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) if integer_ok && (n.is_u64() || n.is_i64()) => Some(n.to_string()),
        Some(other) => {
            let expected = if integer_ok {
                "a string or an integer"
            } else {
                "a string"
            };
            errors.push(format!(
                "field \"{key}\": expected {expected}, found {}",
                describe(other)
            ));
            return None;
        }
    };
    match value {
        Some(v) if empty_ok || !v.trim().is_empty() => {
            Some(if empty_ok { v } else { v.trim().to_string() })
        }
        Some(_) if required => {
            errors.push(format!("field \"{key}\" is empty"));
            None
        }
        None if required => {
            errors.push(format!("missing field \"{key}\""));
            None
        }
        _ => None,
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{}\"", shorten(s)),
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
        other => other.to_string(),
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() <= 40 {
        s.to_string()
    } else {
        let head: String = s.chars().take(40).collect();
        format!("{head}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_review_line_is_read_with_its_optional_fields() {
        let r = parse_review_line(
            r#"{"platform":"Shopee","product":"Linen shirt M","rating":2,"author":"nok_88","author_id":88120455,"text":"ผ้าบาง","time":"2026-11-20T09:15:00+07:00","id":"rv-1"}"#,
        )
        .unwrap();
        assert_eq!(r.platform, ChannelKind::Shopee);
        assert_eq!(r.rating, 2);
        assert_eq!(r.author_id.as_deref(), Some("88120455"));
        assert_eq!(r.account, None);
        assert_eq!(r.created_at, 1_795_140_900_000);
    }

    #[test]
    fn every_problem_of_a_line_is_named_by_its_field() {
        let err = parse_review_line(
            r#"{"platform":"line","product":"","rating":7,"author":"a","text":"x","time":"yesterday"}"#,
        )
        .unwrap_err();
        for want in [
            "field \"platform\": \"line\" is not a marketplace",
            "field \"product\" is empty",
            "field \"rating\": expected a whole number from 1 to 5, found 7",
            "field \"time\":",
            "missing field \"id\"",
        ] {
            assert!(err.contains(want), "{want} in {err}");
        }
        assert!(parse_review_line("[1]").is_err());
    }

    #[test]
    fn a_rating_alone_is_a_review() {
        let r = parse_review_line(
            r#"{"platform":"lazada","product":"P","rating":"5","author":"a","text":"","time":1763604900000,"id":9}"#,
        )
        .unwrap();
        assert_eq!(
            (r.rating, r.text.as_str(), r.review_id.as_str()),
            (5, "", "9")
        );
    }
}
