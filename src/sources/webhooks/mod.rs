//! The channels' own webhook payloads, read as import formats: what LINE, Messenger, Instagram,
//! WhatsApp, a Facebook Page's feed and Shopee chat actually POST, turned into [`Inbound`] values.
//!
//! Each parser is pure (a JSON value in, messages out) so the live webhook receiver can reuse it.
//! Payloads differ in ways that break naive readers, and the shared helpers here absorb them:
//! times in seconds or milliseconds, as numbers or numeric strings; ids as strings or integers
//! (Shopee's exceed 2^53, so they are never read through `f64`); several events per delivery,
//! nested arrays at every level. What is not a customer's or agent's message (delivery and read
//! receipts, follows, unsends, reactions, statuses, unknown event types) is skipped and counted
//! by kind, never turned into a message. A payload that lacks what a message needs is an error
//! naming the JSON path, such as `entry[0].messaging[2].message.mid`.
//!
//! The parsers give every message the platform's own id of the shop's account (LINE
//! `destination`, the page or Instagram account id, WhatsApp's phone number id, Shopee's
//! `shop_id`) as its account; [`accounts::AccountIds`] then swaps in the name of the configured
//! account with that id, for `tix import` and `tix serve` alike.

pub mod accounts;
pub mod line;
pub mod meta;
pub mod shopee;
pub mod whatsapp;

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::domain::{ChannelKind, Direction, Millis};

pub use crate::domain::Inbound;

/// The platforms whose webhook payloads tix reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookFormat {
    Line,
    Messenger,
    Instagram,
    Whatsapp,
    /// A Facebook Page's feed: comments on its posts.
    Facebook,
    Shopee,
}

impl WebhookFormat {
    pub const ALL: [WebhookFormat; 6] = [
        WebhookFormat::Line,
        WebhookFormat::Messenger,
        WebhookFormat::Instagram,
        WebhookFormat::Whatsapp,
        WebhookFormat::Facebook,
        WebhookFormat::Shopee,
    ];

    /// The name used by `--format`.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookFormat::Line => "line",
            WebhookFormat::Messenger => "messenger",
            WebhookFormat::Instagram => "instagram",
            WebhookFormat::Whatsapp => "whatsapp",
            WebhookFormat::Facebook => "facebook",
            WebhookFormat::Shopee => "shopee",
        }
    }

    /// The platform's name for people.
    pub fn title(self) -> &'static str {
        match self {
            WebhookFormat::Line => "LINE",
            WebhookFormat::Messenger => "Messenger",
            WebhookFormat::Instagram => "Instagram",
            WebhookFormat::Whatsapp => "WhatsApp",
            WebhookFormat::Facebook => "Facebook Page feed",
            WebhookFormat::Shopee => "Shopee",
        }
    }

    /// Reads one payload as this platform's.
    ///
    /// Messenger and Facebook feed payloads are both `object: "page"` and a page subscription
    /// delivers both to the same address, so either format reads messages and feed comments.
    pub fn parse(self, payload: &Value) -> Result<Parsed, PayloadError> {
        match self {
            WebhookFormat::Line => line::parse(payload),
            WebhookFormat::Messenger | WebhookFormat::Facebook => meta::parse_page(payload),
            WebhookFormat::Instagram => meta::parse_instagram(payload),
            WebhookFormat::Whatsapp => whatsapp::parse(payload),
            WebhookFormat::Shopee => shopee::parse(payload),
        }
    }

    /// Whether payloads of `self` and `other` are read by the same parser.
    pub fn reads_same_payloads(self, other: WebhookFormat) -> bool {
        let page = |f| matches!(f, WebhookFormat::Messenger | WebhookFormat::Facebook);
        self == other || (page(self) && page(other))
    }
}

impl fmt::Display for WebhookFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Recognises a payload's platform from its shape, for `--format auto`.
pub fn detect(payload: &Value) -> Option<WebhookFormat> {
    let o = payload.as_object()?;
    if o.contains_key("destination") && o.contains_key("events") {
        return Some(WebhookFormat::Line);
    }
    match o.get("object").and_then(Value::as_str) {
        Some("page") => {
            let entries = o.get("entry").and_then(Value::as_array);
            let has = |key: &str| entries.is_some_and(|es| es.iter().any(|e| e.get(key).is_some()));
            let feed = entries.is_some_and(|es| {
                es.iter()
                    .filter_map(|e| e.get("changes")?.as_array())
                    .flatten()
                    .any(|c| c.get("field").and_then(Value::as_str) == Some("feed"))
            });
            if feed && !has("messaging") && !has("standby") {
                Some(WebhookFormat::Facebook)
            } else {
                Some(WebhookFormat::Messenger)
            }
        }
        Some("instagram") => Some(WebhookFormat::Instagram),
        Some("whatsapp_business_account") => Some(WebhookFormat::Whatsapp),
        Some(_) => None,
        None if o.contains_key("shop_id") && o.contains_key("code") && o.contains_key("data") => {
            Some(WebhookFormat::Shopee)
        }
        None => None,
    }
}

/// What one payload holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Customers' messages and the shop's own (echoes), in payload order.
    pub messages: Vec<Inbound>,
    /// Events that are not messages, counted by kind (`read`, `delivery`, `statuses`, …).
    pub skipped: BTreeMap<String, usize>,
    /// Public comments on the shop's posts. They belong to the comments area, which does not
    /// exist yet, so the import only counts them.
    pub comments: Vec<Comment>,
}

impl Parsed {
    pub fn skip(&mut self, kind: impl Into<String>) {
        self.skip_many(kind, 1);
    }

    pub fn skip_many(&mut self, kind: impl Into<String>, n: usize) {
        if n > 0 {
            *self.skipped.entry(kind.into()).or_default() += n;
        }
    }
}

/// A public comment on a post of the shop's Facebook Page or Instagram account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// The channel a private reply to the comment would use: Messenger for a Facebook Page.
    pub channel: ChannelKind,
    /// The page or Instagram account id.
    pub account: String,
    pub comment_id: String,
    /// The post (or Instagram media) commented on, when the payload says.
    pub post_id: Option<String>,
    /// The comment replied to, or the post for a top-level comment, when the payload says.
    pub parent_id: Option<String>,
    pub author_id: Option<String>,
    pub author_name: Option<String>,
    pub text: String,
    pub created_at: Millis,
    /// `Out` when the page itself commented.
    pub direction: Direction,
}

/// A payload that cannot be read: where in it, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PayloadError {
    /// A JSON path such as `entry[0].messaging[2].message.mid`; empty for the payload itself.
    pub path: String,
    pub what: String,
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.what)
        } else {
            write!(f, "{}: {}", self.path, self.what)
        }
    }
}

/// A value inside a payload with the path that leads to it, so every error can say where.
#[derive(Debug, Clone)]
pub(crate) struct At<'a> {
    pub value: &'a Value,
    path: String,
}

/// Epoch times below this are seconds; at or above it, milliseconds (10^11 s is the year 5138,
/// 10^11 ms is 1973).
const SECONDS_BELOW: i64 = 100_000_000_000;
/// Epoch milliseconds at or above this (the year 5138) are micro- or nanoseconds.
const MILLIS_BELOW: i64 = 100_000_000_000_000;

impl<'a> At<'a> {
    pub fn root(value: &'a Value) -> At<'a> {
        At {
            value,
            path: String::new(),
        }
    }

    pub fn error(&self, what: impl Into<String>) -> PayloadError {
        PayloadError {
            path: self.path.clone(),
            what: what.into(),
        }
    }

    fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The field `key`, if present and not null. Errors if this is not an object.
    pub fn get(&self, key: &str) -> Result<Option<At<'a>>, PayloadError> {
        match self.value {
            Value::Object(o) => Ok(o.get(key).filter(|v| !v.is_null()).map(|v| At {
                value: v,
                path: self.key_path(key),
            })),
            other => Err(self.error(format!("expected an object, found {}", describe(other)))),
        }
    }

    /// The field `key`, which must be present.
    pub fn field(&self, key: &str) -> Result<At<'a>, PayloadError> {
        self.get(key)?.ok_or_else(|| PayloadError {
            path: self.key_path(key),
            what: "missing".to_string(),
        })
    }

    /// The items of an array.
    pub fn items(&self) -> Result<Vec<At<'a>>, PayloadError> {
        match self.value {
            Value::Array(a) => Ok(a
                .iter()
                .enumerate()
                .map(|(i, v)| At {
                    value: v,
                    path: format!("{}[{i}]", self.path),
                })
                .collect()),
            other => Err(self.error(format!("expected an array, found {}", describe(other)))),
        }
    }

    /// The items of the array field `key`; none if the field is absent.
    pub fn items_of(&self, key: &str) -> Result<Vec<At<'a>>, PayloadError> {
        match self.get(key)? {
            Some(field) => field.items(),
            None => Ok(Vec::new()),
        }
    }

    /// A non-empty string.
    pub fn str(&self) -> Result<&'a str, PayloadError> {
        match self.value {
            Value::String(s) if !s.trim().is_empty() => Ok(s),
            Value::String(_) => Err(self.error("is empty")),
            other => Err(self.error(format!("expected a string, found {}", describe(other)))),
        }
    }

    /// A string, possibly empty.
    pub fn text(&self) -> Result<&'a str, PayloadError> {
        match self.value {
            Value::String(s) => Ok(s),
            other => Err(self.error(format!("expected a string, found {}", describe(other)))),
        }
    }

    /// The optional string field `key`, `None` when absent or blank.
    pub fn opt_text(&self, key: &str) -> Result<Option<&'a str>, PayloadError> {
        match self.get(key)? {
            Some(f) => Ok(Some(f.text()?).filter(|t| !t.trim().is_empty())),
            None => Ok(None),
        }
    }

    /// An id written as a string or an integer, kept as the digits written.
    pub fn id(&self) -> Result<String, PayloadError> {
        match self.value {
            Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            Value::String(_) => Err(self.error("is empty")),
            Value::Number(n) if n.is_u64() || n.is_i64() => Ok(n.to_string()),
            other => Err(self.error(format!(
                "expected an id (a string or an integer), found {}",
                describe(other)
            ))),
        }
    }

    /// An epoch time in seconds or milliseconds, as an integer or a string of digits.
    pub fn millis(&self) -> Result<Millis, PayloadError> {
        let n = match self.value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => {
                let t = s.trim();
                if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                    None
                } else {
                    t.parse::<i64>().ok()
                }
            }
            _ => None,
        };
        let Some(n) = n.filter(|n| *n > 0) else {
            return Err(self.error(format!(
                "expected an epoch time (seconds or milliseconds, a number or a string of digits), found {}",
                describe(self.value)
            )));
        };
        if n < SECONDS_BELOW {
            Ok(n * 1000)
        } else if n < MILLIS_BELOW {
            Ok(n)
        } else {
            Err(self.error(format!(
                "{n} looks like epoch microseconds or nanoseconds; expected seconds or milliseconds"
            )))
        }
    }

    /// Whether the field `key` is `true`. An absent flag is false; the platforms send flags only
    /// when they hold.
    pub fn flag(&self, key: &str) -> bool {
        self.value.get(key).and_then(Value::as_bool) == Some(true)
    }
}

/// A JSON value described for an error message, without echoing long customer text.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.chars().count() <= 40 => format!("{s:?}"),
        Value::String(_) => "a long string".to_string(),
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
    }
}

/// The bytes of a sample payload in `tests/fixtures/webhooks/`, for the parsers' and the
/// receiver's tests.
#[cfg(test)]
pub(crate) fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/webhooks/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(path).unwrap()
}

/// A sample payload as JSON.
#[cfg(test)]
pub(crate) fn fixture(name: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(name)).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_sample_is_recognised_as_its_platform() {
        let cases = [
            ("line-text.json", WebhookFormat::Line),
            ("line-verify-empty.json", WebhookFormat::Line),
            ("messenger-text.json", WebhookFormat::Messenger),
            ("messenger-multi.json", WebhookFormat::Messenger),
            ("messenger-feed-comment.json", WebhookFormat::Facebook),
            (
                "messenger-feed-comment-by-page.json",
                WebhookFormat::Facebook,
            ),
            ("instagram-text.json", WebhookFormat::Instagram),
            ("instagram-comment.json", WebhookFormat::Instagram),
            ("whatsapp-text.json", WebhookFormat::Whatsapp),
            ("whatsapp-status.json", WebhookFormat::Whatsapp),
            ("shopee-text.json", WebhookFormat::Shopee),
            ("shopee-notification.json", WebhookFormat::Shopee),
        ];
        for (name, want) in cases {
            assert_eq!(detect(&fixture(name)), Some(want), "{name}");
        }
        let ours = json!({"channel":"line","from":"U1","id":"m1","at":1,"text":"hi"});
        for other in [ours, json!({"object": "user"}), json!([1]), json!("page")] {
            assert_eq!(detect(&other), None, "{other}");
        }
    }

    #[test]
    fn times_in_seconds_or_millis_as_numbers_or_strings() {
        for (v, want) in [
            (json!(1_749_416_383), Ok(1_749_416_383_000)),
            (json!("1749416383"), Ok(1_749_416_383_000)),
            (json!(1_462_629_479_859_i64), Ok(1_462_629_479_859)),
            (json!(" 1462629479859 "), Ok(1_462_629_479_859)),
        ] {
            assert_eq!(At::root(&v).millis(), want, "{v}");
        }
        for v in [
            json!(1.5),
            json!("2026-11-20"),
            json!(0),
            json!(-5),
            json!(null),
            json!(1_462_629_479_859_000_i64),
        ] {
            assert!(At::root(&v).millis().is_err(), "{v}");
        }
    }

    #[test]
    fn ids_keep_every_digit_as_written() {
        let big: Value = serde_json::from_str("18446744073709551615").unwrap();
        assert_eq!(At::root(&big).id().unwrap(), "18446744073709551615");
        assert_eq!(At::root(&json!("wamid.X")).id().unwrap(), "wamid.X");
        assert_eq!(At::root(&json!(-7)).id().unwrap(), "-7");
        for bad in [json!(""), json!(2.5), json!(true), json!({})] {
            assert!(At::root(&bad).id().is_err(), "{bad}");
        }
    }

    #[test]
    fn paths_name_keys_and_indexes() {
        let v = json!({"entry": [{"messaging": [{}, {"message": {}}]}]});
        let root = At::root(&v);
        let entry = &root.field("entry").unwrap().items().unwrap()[0];
        let event = &entry.field("messaging").unwrap().items().unwrap()[1];
        let err = event.field("message").unwrap().field("mid").unwrap_err();
        assert_eq!(
            err.to_string(),
            "entry[0].messaging[1].message.mid: missing"
        );
        assert_eq!(
            root.field("entry")
                .unwrap()
                .field("x")
                .unwrap_err()
                .to_string(),
            "entry: expected an object, found an array"
        );
    }
}
