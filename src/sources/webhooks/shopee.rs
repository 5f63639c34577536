//! Shopee Open Platform chat pushes (push code 10, `webchat_push`): `{shop_id, code, timestamp,
//! data: {type, content}}`, one message per push.
//!
//! Shopee writes ids as JSON integers beyond 2^53 (kept as the digits written) and times in
//! seconds. It does not flag the shop's own messages: one is outgoing when it comes from the shop
//! (`from_shop_id`), from a seller's sub-account, or is an automatic reply; its customer is then
//! the recipient. Pushes are repeated by design; the message id makes a repeat a duplicate.

use serde_json::Value;

use super::{At, Parsed, PayloadError};
use crate::domain::{ChannelKind, Direction, Inbound, MessageKind};

/// The push code of chat messages; other codes are orders, products and such.
const WEBCHAT_PUSH: u64 = 10;

pub fn parse(payload: &Value) -> Result<Parsed, PayloadError> {
    let root = At::root(payload);
    let shop_id = root.field("shop_id")?.id()?;
    let mut parsed = Parsed::default();
    let code = root.field("code")?;
    match code.value.as_u64() {
        Some(WEBCHAT_PUSH) => {}
        Some(other) => {
            parsed.skip(format!("push code {other}"));
            return Ok(parsed);
        }
        None => {
            return Err(code.error(format!(
                "expected a push code number, found {}",
                super::describe(code.value)
            )));
        }
    }
    let data = root.field("data")?;
    let kind = data.field("type")?.str()?;
    if kind != "message" {
        // notification (such as mark_as_replied) and types Shopee adds later.
        parsed.skip(kind);
        return Ok(parsed);
    }
    let message = data.field("content")?;
    let message_type = message.field("message_type")?.str()?;
    let Some((kind, text)) = content(&message, message_type)? else {
        parsed.skip(format!("message {message_type}"));
        return Ok(parsed);
    };
    let direction = if from_shop(&message, &shop_id)? {
        Direction::Out
    } else {
        Direction::In
    };
    let (customer, name) = match direction {
        Direction::In => ("from_id", "from_user_name"),
        Direction::Out => ("to_id", "to_user_name"),
    };
    let agent = match direction {
        Direction::Out => sub_account_name(&message)?,
        Direction::In => None,
    };
    let sent_at = match message.get("created_timestamp")? {
        Some(t) => t.millis()?,
        None => root.field("timestamp")?.millis()?,
    };
    parsed.messages.push(Inbound {
        channel: ChannelKind::Shopee,
        account: Some(shop_id),
        customer_id: message.field(customer)?.id()?,
        display_name: message.opt_text(name)?.map(str::to_string),
        message_id: message.field("message_id")?.id()?,
        kind,
        text,
        sent_at,
        direction,
        agent,
    });
    Ok(parsed)
}

/// Whether the shop sent the message: its shop is the sender, a seller's (sub-)account wrote it,
/// or it is one of the shop's automatic replies.
fn from_shop(message: &At<'_>, shop_id: &str) -> Result<bool, PayloadError> {
    if let Some(from_shop) = message.get("from_shop_id")? {
        let from_shop = from_shop.id()?;
        if from_shop != "0" {
            return Ok(from_shop == shop_id);
        }
    }
    if let Some(sub) = message.get("sub_account_id")?
        && sub.id().is_ok_and(|id| id != "0")
    {
        return Ok(true);
    }
    let status = message.opt_text("status")?;
    Ok(matches!(status, Some("auto_reply" | "offwork_autoreply")))
}

/// The seller's sub-account that wrote an outgoing message; Shopee sends `0` when there is none.
fn sub_account_name(message: &At<'_>) -> Result<Option<String>, PayloadError> {
    Ok(match message.get("sub_account_name")? {
        Some(At {
            value: Value::String(s),
            ..
        }) if !s.trim().is_empty() && s.trim() != "0" => Some(s.trim().to_string()),
        _ => None,
    })
}

/// The kind and text of a message of Shopee type `message_type`, or `None` for one that holds
/// nothing to read here (a bundle of other messages' ids, types Shopee adds later).
fn content(
    message: &At<'_>,
    message_type: &str,
) -> Result<Option<(MessageKind, String)>, PayloadError> {
    let body = || message.field("content");
    Ok(Some(match message_type {
        "text" | "faq_liveagent" => (MessageKind::Text, body()?.field("text")?.str()?.to_string()),
        "image" => (MessageKind::Image, String::new()),
        "video" => (MessageKind::File, String::new()),
        "sticker" => (MessageKind::Sticker, String::new()),
        // A product card the customer shared: which product they ask about.
        "item" => {
            let card = body()?;
            let item = card.field("item_id")?.id()?;
            let text = match card.get("shop_id")? {
                Some(shop) => format!("[item {item} of shop {}]", shop.id()?),
                None => format!("[item {item}]"),
            };
            (MessageKind::Text, text)
        }
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::webhooks::fixture;
    use serde_json::json;

    #[test]
    fn text_push_is_the_buyers_with_ids_beyond_two_to_the_53() {
        let p = parse(&fixture("shopee-text.json")).unwrap();
        assert_eq!(
            p.messages,
            [Inbound {
                channel: ChannelKind::Shopee,
                account: Some("947042923".into()),
                customer_id: "165105353".into(),
                display_name: Some("vn_cstoreponorogo".into()),
                message_id: "2302748948493123953".into(),
                kind: MessageKind::Text,
                text: "Baik kak .. 🤗".into(),
                sent_at: 1_726_044_721_000,
                direction: Direction::In,
                agent: None,
            }]
        );
    }

    #[test]
    fn media_and_product_cards_have_their_kind() {
        let kinds: Vec<(MessageKind, String)> =
            ["shopee-image.json", "shopee-video.json", "shopee-item.json"]
                .into_iter()
                .map(|f| {
                    let m = parse(&fixture(f)).unwrap().messages.remove(0);
                    (m.kind, m.text)
                })
                .collect();
        assert_eq!(
            kinds,
            [
                (MessageKind::Image, String::new()),
                (MessageKind::File, String::new()),
                (
                    MessageKind::Text,
                    "[item 9112503530 of shop 109157255]".into()
                ),
            ]
        );
    }

    #[test]
    fn notifications_and_other_push_codes_are_counted_not_stored() {
        let p = parse(&fixture("shopee-notification.json")).unwrap();
        assert!(p.messages.is_empty());
        assert_eq!(p.skipped.get("notification"), Some(&1));
        let p = parse(&json!({"shop_id": 1, "code": 3, "timestamp": 1_660_799_915, "data": {}}))
            .unwrap();
        assert_eq!(p.skipped.get("push code 3"), Some(&1));
    }

    /// A seller's reply as Shopee pushes it (fields of the documented message push, with the
    /// shop as the sender): outgoing, to the buyer, by the sub-account.
    #[test]
    fn the_shops_own_message_is_outgoing_to_the_buyer() {
        let push = json!({"shop_id": 947042923u64, "code": 10, "timestamp": 1_726_044_800,
            "data": {"type": "message", "content": {
                "message_id": "2302748948493123999", "from_id": 947151379u64,
                "from_user_name": "keelatofficial", "to_id": 165105353u64,
                "to_user_name": "vn_cstoreponorogo", "from_shop_id": 947042923u64,
                "message_type": "text", "content": {"text": "ส่งแล้วค่ะ"},
                "created_timestamp": 1_726_044_799, "sub_account_id": 55, "sub_account_name": "nok"}}});
        let m = parse(&push).unwrap().messages.remove(0);
        assert_eq!(m.direction, Direction::Out);
        assert_eq!(m.customer_id, "165105353");
        assert_eq!(m.display_name.as_deref(), Some("vn_cstoreponorogo"));
        assert_eq!(m.agent.as_deref(), Some("nok"));
        // Without `from_shop_id` (older pushes), the sub-account alone says it is the shop's.
        let mut older = push.clone();
        older["data"]["content"]
            .as_object_mut()
            .unwrap()
            .remove("from_shop_id");
        assert_eq!(parse(&older).unwrap().messages[0].direction, Direction::Out);
    }

    #[test]
    fn malformed_pushes_name_their_path() {
        let mut push = fixture("shopee-text.json");
        push["data"]["content"]
            .as_object_mut()
            .unwrap()
            .remove("message_id");
        let got = parse(&push).unwrap_err().to_string();
        assert_eq!(got, "data.content.message_id: missing");
        push["data"]["content"]["message_id"] = json!(1.5e20);
        let got = parse(&push).unwrap_err().to_string();
        assert!(
            got.starts_with("data.content.message_id: expected an id"),
            "{got}"
        );
    }
}
