//! WhatsApp Cloud API webhooks: `{object: "whatsapp_business_account", entry: [{changes: [{field,
//! value: {metadata, contacts, messages | statuses | message_echoes}}]}]}`.
//!
//! Three levels of arrays lead to one message. Times are strings of epoch seconds. Messages the
//! shop sends through the API are not echoed (only their `statuses`), but those typed in the
//! WhatsApp Business app on a shared number arrive as `smb_message_echoes`: stored as outgoing.
//! WhatsApp is the one platform that names the customer in the payload (`contacts[].profile`).

use serde_json::Value;

use super::{At, Parsed, PayloadError};
use crate::domain::{ChannelKind, Direction, Inbound, MessageKind};

pub fn parse(payload: &Value) -> Result<Parsed, PayloadError> {
    let root = At::root(payload);
    let object = root.field("object")?;
    if object.str()? != "whatsapp_business_account" {
        return Err(object.error(format!(
            "expected \"whatsapp_business_account\", found {}",
            super::describe(object.value)
        )));
    }
    let mut parsed = Parsed::default();
    for entry in root.field("entry")?.items()? {
        for change in entry.items_of("changes")? {
            let field = change.field("field")?.str()?;
            let (list, direction) = match field {
                "messages" => ("messages", Direction::In),
                "smb_message_echoes" => ("message_echoes", Direction::Out),
                // account_update, message_template_status_update, …
                other => {
                    parsed.skip(other);
                    continue;
                }
            };
            let value = change.field("value")?;
            let account = value.field("metadata")?.field("phone_number_id")?.id()?;
            let names = contact_names(&value)?;
            // Statuses (sent, delivered, read, failed) of the shop's own messages.
            parsed.skip_many("statuses", value.items_of("statuses")?.len());
            parsed.skip_many("errors", value.items_of("errors")?.len());
            for message in value.items_of(list)? {
                let kind = message.field("type")?.str()?;
                let Some((kind, text)) = content(&message, kind)? else {
                    // reaction, unsupported, system, order, contacts, …
                    parsed.skip(kind);
                    continue;
                };
                let customer_id = match direction {
                    Direction::In => message.field("from")?.id()?,
                    Direction::Out => message.field("to")?.id()?,
                };
                let display_name = names
                    .iter()
                    .find(|(wa_id, _)| *wa_id == customer_id)
                    .map(|(_, name)| name.clone());
                parsed.messages.push(Inbound {
                    channel: ChannelKind::Whatsapp,
                    account: Some(account.clone()),
                    display_name,
                    customer_id,
                    message_id: message.field("id")?.id()?,
                    kind,
                    text,
                    sent_at: message.field("timestamp")?.millis()?,
                    direction,
                    agent: None,
                });
            }
        }
    }
    Ok(parsed)
}

/// The customers' names the change carries, by WhatsApp id (their phone number).
fn contact_names(value: &At<'_>) -> Result<Vec<(String, String)>, PayloadError> {
    let mut names = Vec::new();
    for contact in value.items_of("contacts")? {
        let Some(wa_id) = contact.get("wa_id")? else {
            continue;
        };
        let name = match contact.get("profile")? {
            Some(profile) => profile.opt_text("name")?,
            None => None,
        };
        if let Some(name) = name {
            names.push((wa_id.id()?, name.to_string()));
        }
    }
    Ok(names)
}

/// The kind and text of a message of WhatsApp type `kind`, or `None` if it is not a message a
/// person reads (a reaction, an unsupported or system message, an order, a shared contact).
fn content(message: &At<'_>, kind: &str) -> Result<Option<(MessageKind, String)>, PayloadError> {
    let body = |key| message.field(key);
    let caption = |key| -> Result<String, PayloadError> {
        Ok(body(key)?
            .opt_text("caption")?
            .unwrap_or_default()
            .to_string())
    };
    Ok(Some(match kind {
        "text" => (
            MessageKind::Text,
            body("text")?.field("body")?.str()?.to_string(),
        ),
        "image" => (MessageKind::Image, caption("image")?),
        "video" | "audio" => (MessageKind::File, caption(kind)?),
        "document" => {
            let doc = body("document")?;
            let text = doc.opt_text("caption")?.or(doc.opt_text("filename")?);
            (MessageKind::File, text.unwrap_or_default().to_string())
        }
        "sticker" => (MessageKind::Sticker, String::new()),
        "location" => {
            let place = body("location")?;
            let parts: Vec<&str> = [place.opt_text("name")?, place.opt_text("address")?]
                .into_iter()
                .flatten()
                .collect();
            (MessageKind::Location, parts.join(", "))
        }
        // A quick-reply button the customer tapped: its label is what they said.
        "button" => (
            MessageKind::Text,
            body("button")?.field("text")?.str()?.to_string(),
        ),
        "interactive" => {
            let reply = body("interactive")?;
            let chosen = match reply.get("button_reply")? {
                Some(r) => r,
                None => reply.field("list_reply")?,
            };
            (MessageKind::Text, chosen.field("title")?.str()?.to_string())
        }
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::webhooks::fixture;

    #[test]
    fn text_carries_the_customers_name_and_seconds_become_millis() {
        let p = parse(&fixture("whatsapp-text.json")).unwrap();
        assert_eq!(
            p.messages,
            [Inbound {
                channel: ChannelKind::Whatsapp,
                account: Some("106540352242922".into()),
                customer_id: "16505551234".into(),
                display_name: Some("Sheena Nelson".into()),
                message_id: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=".into(),
                kind: MessageKind::Text,
                text: "Does it come in another color?".into(),
                sent_at: 1_749_416_383_000,
                direction: Direction::In,
                agent: None,
            }]
        );
    }

    #[test]
    fn media_messages_have_their_kind() {
        let p = parse(&fixture("whatsapp-media.json")).unwrap();
        let got: Vec<(&str, MessageKind, &str)> = p
            .messages
            .iter()
            .map(|m| (m.message_id.as_str(), m.kind, m.text.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("wamid.xyzxyz1", MessageKind::Image, ""),
                ("wamid.xyzxyz2", MessageKind::File, "caption"),
                ("wamid.xyzxyz3", MessageKind::File, ""),
                ("wamid.xyzxyz4", MessageKind::Sticker, ""),
                (
                    "wamid.xyzxyz5",
                    MessageKind::Location,
                    "Facebook HQ, 1 Hacker Way, Menlo Park, CA 94025"
                ),
            ]
        );
    }

    #[test]
    fn statuses_and_reactions_are_counted_not_stored() {
        let p = parse(&fixture("whatsapp-status.json")).unwrap();
        assert!(p.messages.is_empty());
        assert_eq!(p.skipped.get("statuses"), Some(&2));
        let p = parse(&fixture("whatsapp-multi.json")).unwrap();
        let ids: Vec<&str> = p.messages.iter().map(|m| m.message_id.as_str()).collect();
        assert_eq!(ids, ["wamid.A1"]);
        let skipped: Vec<(&str, usize)> = p.skipped.iter().map(|(k, n)| (k.as_str(), *n)).collect();
        assert_eq!(skipped, [("reaction", 1), ("statuses", 1)]);
    }

    #[test]
    fn business_app_echo_is_outgoing_to_the_customer() {
        let p = parse(&fixture("whatsapp-echo-smb.json")).unwrap();
        let m = &p.messages[0];
        assert_eq!(m.direction, Direction::Out);
        assert_eq!(m.customer_id, "<WHATSAPP_USER_PHONE_NUMBER>");
        assert_eq!(m.account.as_deref(), Some("1122334455667"));
        assert_eq!(m.text, "Test message");
        assert_eq!(m.sent_at, 1_697_043_223_000);
    }

    #[test]
    fn malformed_payloads_name_their_path() {
        let msg = |extra: &str| {
            format!(
                r#"{{"object":"whatsapp_business_account","entry":[{{"changes":[{{"field":"messages","value":{{"metadata":{{"phone_number_id":"1"}},"messages":[{{"from":"2","id":"w1","type":"text"{extra}}}]}}}}]}}]}}"#
            )
        };
        let cases = [
            (msg(r#","timestamp":"1749416383""#), "entry[0].changes[0].value.messages[0].text: missing"),
            (
                msg(r#","timestamp":"yesterday","text":{"body":"hi"}"#),
                "entry[0].changes[0].value.messages[0].timestamp: expected an epoch time",
            ),
            (
                r#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[]}}]}]}"#.to_string(),
                "entry[0].changes[0].value.metadata: missing",
            ),
        ];
        for (payload, want) in cases {
            let got = parse(&serde_json::from_str(&payload).unwrap())
                .unwrap_err()
                .to_string();
            assert!(
                got.starts_with(want),
                "{payload}\n  got:  {got}\n  want: {want}"
            );
        }
    }
}
