//! LINE Messaging API webhooks: `{destination, events: [...]}`.
//!
//! LINE never echoes the shop's own messages back, so every message here is the customer's.
//! The message id (`message.id`) is kept on redelivery, which makes a second delivery a duplicate.

use serde_json::Value;

use super::{At, Parsed, PayloadError};
use crate::domain::{ChannelKind, Direction, Inbound, MessageKind};

pub fn parse(payload: &Value) -> Result<Parsed, PayloadError> {
    let root = At::root(payload);
    let account = root.field("destination")?.id()?;
    let mut parsed = Parsed::default();
    for event in root.field("events")?.items()? {
        let kind = event.field("type")?.str()?;
        if kind != "message" {
            // follow, unfollow, unsend, postback, join, leave, … and types LINE adds later.
            parsed.skip(kind);
            continue;
        }
        let message = event.field("message")?;
        let Some((kind, text)) = content(&message)? else {
            parsed.skip(format!("message {}", message.field("type")?.str()?));
            continue;
        };
        parsed.messages.push(Inbound {
            channel: ChannelKind::Line,
            account: Some(account.clone()),
            customer_id: customer(&event)?,
            display_name: None,
            message_id: message.field("id")?.id()?,
            kind,
            text,
            sent_at: event.field("timestamp")?.millis()?,
            direction: Direction::In,
            agent: None,
        });
    }
    Ok(parsed)
}

/// Who the conversation is with: the user in a one-to-one chat, the group or room otherwise, as
/// that is where a reply must go.
fn customer(event: &At<'_>) -> Result<String, PayloadError> {
    let source = event.field("source")?;
    let key = match source.get("type")?.map(|t| t.str()).transpose()? {
        Some("group") => "groupId",
        Some("room") => "roomId",
        _ => "userId",
    };
    source.field(key)?.id()
}

/// The message's kind and text, or `None` for a message type tix does not know.
fn content(message: &At<'_>) -> Result<Option<(MessageKind, String)>, PayloadError> {
    let text = |key| -> Result<String, PayloadError> {
        Ok(message.opt_text(key)?.unwrap_or_default().to_string())
    };
    Ok(Some(match message.field("type")?.str()? {
        "text" => (MessageKind::Text, message.field("text")?.str()?.to_string()),
        "image" => (MessageKind::Image, String::new()),
        "video" | "audio" => (MessageKind::File, String::new()),
        "file" => (MessageKind::File, text("fileName")?),
        "sticker" => (MessageKind::Sticker, text("text")?),
        "location" => {
            let parts: Vec<&str> = [message.opt_text("title")?, message.opt_text("address")?]
                .into_iter()
                .flatten()
                .collect();
            (MessageKind::Location, parts.join(", "))
        }
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::webhooks::fixture;

    #[test]
    fn text_message_is_the_customers_on_the_destination_account() {
        let p = parse(&fixture("line-text.json")).unwrap();
        assert_eq!(
            p.messages,
            [Inbound {
                channel: ChannelKind::Line,
                account: Some("U123".into()),
                customer_id: "U206d25c2ea6bd87c17655609a1c37cb8".into(),
                display_name: None,
                message_id: "325708".into(),
                kind: MessageKind::Text,
                text: "Hello, world".into(),
                sent_at: 1_462_629_479_859,
                direction: Direction::In,
                agent: None,
            }]
        );
        assert!(p.skipped.is_empty() && p.comments.is_empty());
    }

    #[test]
    fn every_event_of_a_delivery_is_read_with_its_kind() {
        let p = parse(&fixture("line-multi.json")).unwrap();
        let got: Vec<(MessageKind, &str, &str)> = p
            .messages
            .iter()
            .map(|m| (m.kind, m.text.as_str(), m.customer_id.as_str()))
            .collect();
        let user = "U206d25c2ea6bd87c17655609a1c37cb8";
        assert_eq!(
            got,
            [
                (MessageKind::File, "", user),
                (MessageKind::File, "", user),
                (MessageKind::Location, "my location, Tokyo", user),
                (MessageKind::Sticker, "Just sticker", user),
                (MessageKind::File, "file.txt", user),
                (
                    MessageKind::Text,
                    "Hello, world",
                    "Ca56f94637cc4347f90a25382909b24b9"
                ),
                (MessageKind::Text, "Hello, world", user),
            ]
        );
        let media = parse(&fixture("line-media.json")).unwrap();
        assert_eq!(media.messages[0].kind, MessageKind::Image);
        assert_eq!(media.messages[0].message_id, "354718705033693861");
    }

    #[test]
    fn non_message_events_are_counted_not_stored() {
        let p = parse(&fixture("line-nonmessage.json")).unwrap();
        assert!(p.messages.is_empty());
        let skipped: Vec<(&str, usize)> = p.skipped.iter().map(|(k, n)| (k.as_str(), *n)).collect();
        assert_eq!(
            skipped,
            [
                ("follow", 1),
                ("postback", 1),
                ("undefined", 1),
                ("unfollow", 1),
                ("unsend", 1)
            ]
        );
    }

    #[test]
    fn the_verification_delivery_holds_nothing() {
        assert_eq!(
            parse(&fixture("line-verify-empty.json")).unwrap(),
            Parsed::default()
        );
    }

    #[test]
    fn malformed_events_name_their_path() {
        let cases = [
            (r#"{"events":[]}"#, "destination: missing"),
            (
                r#"{"destination":"U1","events":{}}"#,
                "events: expected an array, found an object",
            ),
            (
                r#"{"destination":"U1","events":[{"type":"follow"},{"type":"message","timestamp":1,"source":{"userId":"u"},"message":{"type":"text","text":"hi"}}]}"#,
                "events[1].message.id: missing",
            ),
            (
                r#"{"destination":"U1","events":[{"type":"message","timestamp":"soon","source":{"userId":"u"},"message":{"id":"1","type":"text","text":"hi"}}]}"#,
                "events[0].timestamp: expected an epoch time",
            ),
            (
                r#"{"destination":"U1","events":[{"type":"message","timestamp":1462629479859,"source":{"type":"group"},"message":{"id":"1","type":"image"}}]}"#,
                "events[0].source.groupId: missing",
            ),
            (
                r#"{"destination":"U1","events":[{"type":"message","timestamp":1462629479859,"source":{"userId":"u"},"message":{"id":1.5,"type":"image"}}]}"#,
                "events[0].message.id: expected an id (a string or an integer), found 1.5",
            ),
        ];
        for (payload, want) in cases {
            let got = parse(&serde_json::from_str(payload).unwrap())
                .unwrap_err()
                .to_string();
            assert!(
                got.starts_with(want),
                "{payload}\n  got:  {got}\n  want: {want}"
            );
        }
    }

    #[test]
    fn unknown_message_types_are_skipped_by_type() {
        let p = parse(&serde_json::json!({"destination":"U1","events":[
            {"type":"message","timestamp":1_462_629_479_859_i64,"source":{"userId":"u"},
             "message":{"id":"9","type":"hologram"}}]}))
        .unwrap();
        assert!(p.messages.is_empty());
        assert_eq!(p.skipped.get("message hologram"), Some(&1));
    }
}
