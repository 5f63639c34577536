//! Meta's webhooks for a Facebook Page (Messenger messages and feed comments) and an Instagram
//! professional account (messages and comments): `{object, entry: [{id, time, messaging | standby
//! | changes}]}`.
//!
//! Meta batches at `entry[]`, so one delivery can hold many events. The shop's own messages come
//! back as echoes (`is_echo`, sender = the page or account): they are stored as outgoing, to the
//! customer who is the recipient, so the page never becomes a contact.

use serde_json::Value;

use super::{At, Comment, Parsed, PayloadError};
use crate::domain::{ChannelKind, Direction, Inbound, MessageKind};

/// A Facebook Page's payload: `object: "page"`, Messenger events and feed changes.
pub fn parse_page(payload: &Value) -> Result<Parsed, PayloadError> {
    parse(payload, "page", ChannelKind::Messenger)
}

/// An Instagram account's payload: `object: "instagram"`.
pub fn parse_instagram(payload: &Value) -> Result<Parsed, PayloadError> {
    parse(payload, "instagram", ChannelKind::Instagram)
}

fn parse(payload: &Value, object: &str, channel: ChannelKind) -> Result<Parsed, PayloadError> {
    let root = At::root(payload);
    let found = root.field("object")?;
    if found.str()? != object {
        return Err(found.error(format!(
            "expected \"{object}\", found {}",
            super::describe(found.value)
        )));
    }
    let mut parsed = Parsed::default();
    for entry in root.field("entry")?.items()? {
        let account = entry.field("id")?.id()?;
        // `standby` carries the events of conversations another app (the Page inbox) controls.
        for event in entry
            .items_of("messaging")?
            .into_iter()
            .chain(entry.items_of("standby")?)
        {
            messaging_event(&entry, &event, &account, channel, &mut parsed)?;
        }
        for change in entry.items_of("changes")? {
            let field = change.field("field")?.str()?;
            match (channel, field) {
                (ChannelKind::Messenger, "feed") => {
                    feed_change(&entry, &change, &account, &mut parsed)?
                }
                (ChannelKind::Instagram, "comments" | "live_comments") => {
                    instagram_comment(&entry, &change, &account, &mut parsed)?;
                }
                _ => parsed.skip(field),
            }
        }
    }
    Ok(parsed)
}

/// Keys of a messaging object that are not the event itself.
const ENVELOPE: [&str; 3] = ["sender", "recipient", "timestamp"];

fn messaging_event(
    entry: &At<'_>,
    event: &At<'_>,
    account: &str,
    channel: ChannelKind,
    parsed: &mut Parsed,
) -> Result<(), PayloadError> {
    let Some(message) = event.get("message")? else {
        // delivery, read, reaction, postback, message_edit, referral, optin, …
        let kind = match event.value {
            Value::Object(o) => o.keys().find(|k| !ENVELOPE.contains(&k.as_str())),
            _ => None,
        };
        parsed.skip(kind.map_or("empty event", String::as_str));
        return Ok(());
    };
    if message.flag("is_deleted") {
        parsed.skip("unsend");
        return Ok(());
    }
    if message.flag("is_unsupported") {
        parsed.skip("unsupported message");
        return Ok(());
    }
    let sender = event.field("sender")?.field("id")?.id()?;
    let echo = message.flag("is_echo") || sender == account;
    let customer_id = if echo {
        event.field("recipient")?.field("id")?.id()?
    } else {
        sender
    };
    let Some((kind, text)) = content(&message)? else {
        parsed.skip("empty message");
        return Ok(());
    };
    // Delivery-like events may lack a timestamp; the entry's time is the delivery's.
    let sent_at = match event.get("timestamp")? {
        Some(t) => t.millis()?,
        None => entry.field("time")?.millis()?,
    };
    parsed.messages.push(Inbound {
        channel,
        account: Some(account.to_string()),
        customer_id,
        display_name: None,
        message_id: message.field("mid")?.id()?,
        kind,
        text,
        sent_at,
        direction: if echo { Direction::Out } else { Direction::In },
        agent: None,
    });
    Ok(())
}

/// The kind and text of a message: its text, or what its first attachment is. `None` when it
/// carries neither.
fn content(message: &At<'_>) -> Result<Option<(MessageKind, String)>, PayloadError> {
    let text = message.opt_text("text")?.map(str::to_string);
    let attachments = message.items_of("attachments")?;
    let mut media = None;
    let mut link = None;
    for a in &attachments {
        let payload = a.get("payload")?;
        // A sticker arrives as an `image` with a `sticker_id`, lately also as a `sticker`.
        let sticker = payload
            .as_ref()
            .is_some_and(|p| p.value.get("sticker_id").is_some());
        let kind = match a.field("type")?.str()? {
            _ if sticker => Some(MessageKind::Sticker),
            "sticker" => Some(MessageKind::Sticker),
            "image" => Some(MessageKind::Image),
            "video" | "audio" | "file" => Some(MessageKind::File),
            "location" => Some(MessageKind::Location),
            // fallback (a link), share, story_mention, reels, posts, templates.
            other => {
                if link.is_none() {
                    let title = match &payload {
                        Some(p) => p.opt_text("title")?.or(p.opt_text("url")?),
                        None => None,
                    };
                    link = Some(match title {
                        Some(t) => format!("[{other}] {t}"),
                        None => format!("[{other}]"),
                    });
                }
                None
            }
        };
        if media.is_none() {
            media = kind;
        }
    }
    Ok(match (media, text, link) {
        (Some(kind), text, _) => Some((kind, text.unwrap_or_default())),
        (None, Some(text), _) => Some((MessageKind::Text, text)),
        (None, None, Some(link)) => Some((MessageKind::Text, link)),
        (None, None, None) => None,
    })
}

/// A change of a Facebook Page's feed: a comment is kept, other items are counted.
fn feed_change(
    entry: &At<'_>,
    change: &At<'_>,
    account: &str,
    parsed: &mut Parsed,
) -> Result<(), PayloadError> {
    let value = change.field("value")?;
    let item = value.field("item")?.str()?;
    let verb = value.opt_text("verb")?.unwrap_or("add");
    if item != "comment" {
        parsed.skip(format!("feed {item}"));
        return Ok(());
    }
    if !matches!(verb, "add" | "edited") {
        parsed.skip(format!("comment {verb}"));
        return Ok(());
    }
    let (author_id, author_name, direction) = comment_author(&value, "name", account)?;
    let created_at = match value.get("created_time")? {
        Some(t) => t.millis()?,
        None => entry.field("time")?.millis()?,
    };
    parsed.comments.push(Comment {
        channel: ChannelKind::Messenger,
        account: account.to_string(),
        comment_id: value.field("comment_id")?.id()?,
        post_id: value.get("post_id")?.map(|p| p.id()).transpose()?,
        parent_id: value.get("parent_id")?.map(|p| p.id()).transpose()?,
        direction,
        author_id,
        author_name,
        text: value.opt_text("message")?.unwrap_or_default().to_string(),
        created_at,
    });
    Ok(())
}

/// A comment's author (`from`: its id and, under `name_key`, its name) and whether the page
/// itself wrote it.
fn comment_author(
    value: &At<'_>,
    name_key: &str,
    account: &str,
) -> Result<(Option<String>, Option<String>, Direction), PayloadError> {
    let from = value.get("from")?;
    let author_id = from.as_ref().map(|f| f.field("id")?.id()).transpose()?;
    let author_name = match &from {
        Some(f) => f.opt_text(name_key)?.map(str::to_string),
        None => None,
    };
    let direction = if author_id.as_deref() == Some(account) {
        Direction::Out
    } else {
        Direction::In
    };
    Ok((author_id, author_name, direction))
}

/// A comment on an Instagram post; the comment id is `id` or, in older payloads, `comment_id`.
fn instagram_comment(
    entry: &At<'_>,
    change: &At<'_>,
    account: &str,
    parsed: &mut Parsed,
) -> Result<(), PayloadError> {
    let value = change.field("value")?;
    let (author_id, author_name, direction) = comment_author(&value, "username", account)?;
    let comment_id = match value.get("id")? {
        Some(id) => id.id()?,
        None => value.field("comment_id")?.id()?,
    };
    let post_id = match value.get("media")? {
        Some(media) => media.get("id")?.map(|m| m.id()).transpose()?,
        None => None,
    };
    parsed.comments.push(Comment {
        channel: ChannelKind::Instagram,
        account: account.to_string(),
        comment_id,
        post_id,
        parent_id: value.get("parent_id")?.map(|p| p.id()).transpose()?,
        direction,
        author_id,
        author_name,
        text: value.opt_text("text")?.unwrap_or_default().to_string(),
        created_at: entry.field("time")?.millis()?,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::webhooks::fixture;

    const PAGE: &str = "682498302938465";
    const PSID: &str = "1254459154682919";
    const IG: &str = "17841405726653026";
    const IGSID: &str = "6543210987654321";

    fn one(p: &Parsed) -> &Inbound {
        assert_eq!(p.messages.len(), 1, "{p:?}");
        &p.messages[0]
    }

    #[test]
    fn messenger_text_is_the_customers_on_the_page_account() {
        let p = parse_page(&fixture("messenger-text.json")).unwrap();
        assert_eq!(
            one(&p),
            &Inbound {
                channel: ChannelKind::Messenger,
                account: Some(PAGE.into()),
                customer_id: PSID.into(),
                display_name: None,
                message_id: "mid.1457764197618:41d102a3e1ae206a38".into(),
                kind: MessageKind::Text,
                text: "hello, world!".into(),
                sent_at: 1_458_692_752_478,
                direction: Direction::In,
                agent: None,
            }
        );
    }

    #[test]
    fn messenger_echo_is_outgoing_to_the_recipient() {
        let p = parse_page(&fixture("messenger-echo.json")).unwrap();
        let m = one(&p);
        assert_eq!(m.direction, Direction::Out);
        assert_eq!(m.customer_id, PSID);
        assert_eq!(m.account.as_deref(), Some(PAGE));
        assert_eq!(m.text, "hello, world!");
    }

    #[test]
    fn messenger_media_and_stickers_have_their_kind_and_no_text() {
        let p = parse_page(&fixture("messenger-media.json")).unwrap();
        assert_eq!(
            (one(&p).kind, one(&p).text.as_str()),
            (MessageKind::Image, "")
        );
        // Sent as an image with a sticker id and a sticker: one sticker message.
        let p = parse_page(&fixture("messenger-sticker.json")).unwrap();
        assert_eq!(one(&p).kind, MessageKind::Sticker);
    }

    #[test]
    fn messenger_batch_reads_every_entry_and_counts_the_read() {
        let p = parse_page(&fixture("messenger-multi.json")).unwrap();
        let texts: Vec<(&str, MessageKind)> = p
            .messages
            .iter()
            .map(|m| (m.text.as_str(), m.kind))
            .collect();
        assert_eq!(
            texts,
            [
                ("hello, world!", MessageKind::Text),
                (
                    "This is where I want to go: https://youtu.be/bbo_fZAjIhg",
                    MessageKind::Text
                ),
            ]
        );
        assert_eq!(p.skipped.get("read"), Some(&1));
    }

    #[test]
    fn messenger_non_message_events_are_counted_by_kind() {
        let p = parse_page(&fixture("messenger-nonmessage.json")).unwrap();
        assert!(p.messages.is_empty());
        let skipped: Vec<&str> = p.skipped.keys().map(String::as_str).collect();
        assert_eq!(
            skipped,
            ["delivery", "message_edit", "postback", "reaction"]
        );
    }

    #[test]
    fn feed_comments_are_comments_never_messages() {
        let p = parse_page(&fixture("messenger-feed-comment.json")).unwrap();
        assert!(p.messages.is_empty());
        assert_eq!(
            p.comments,
            [Comment {
                channel: ChannelKind::Messenger,
                account: "448242228374517".into(),
                comment_id: "122131676912594941_1213590066982749".into(),
                post_id: Some("448242228374517_122131676912594941".into()),
                parent_id: Some("448242228374517_122131676912594941".into()),
                author_id: Some("7000000000000001".into()),
                author_name: Some("Jane Customer".into()),
                text: "How much is shipping to Chiang Mai?".into(),
                created_at: 1_742_667_604_000,
                direction: Direction::In,
            }]
        );
        let by_page = parse_page(&fixture("messenger-feed-comment-by-page.json")).unwrap();
        assert_eq!(by_page.comments[0].direction, Direction::Out);
    }

    #[test]
    fn instagram_text_echo_and_media() {
        let p = parse_instagram(&fixture("instagram-text.json")).unwrap();
        let m = one(&p);
        assert_eq!(
            (
                m.channel,
                m.account.as_deref(),
                m.customer_id.as_str(),
                m.direction
            ),
            (ChannelKind::Instagram, Some(IG), IGSID, Direction::In)
        );
        let p = parse_instagram(&fixture("instagram-echo.json")).unwrap();
        let m = one(&p);
        assert_eq!(
            (m.customer_id.as_str(), m.direction),
            (IGSID, Direction::Out)
        );
        let p = parse_instagram(&fixture("instagram-media.json")).unwrap();
        assert_eq!(one(&p).kind, MessageKind::Image);
    }

    #[test]
    fn instagram_reactions_reads_unsends_and_postbacks_are_skipped() {
        let p = parse_instagram(&fixture("instagram-multi-nonmessage.json")).unwrap();
        assert!(p.messages.is_empty());
        let skipped: Vec<&str> = p.skipped.keys().map(String::as_str).collect();
        assert_eq!(skipped, ["postback", "reaction", "read", "unsend"]);
    }

    #[test]
    fn instagram_comment_is_a_comment_timed_by_the_entry() {
        let p = parse_instagram(&fixture("instagram-comment.json")).unwrap();
        assert!(p.messages.is_empty());
        let c = &p.comments[0];
        assert_eq!(c.comment_id, "17865799348089039");
        assert_eq!(c.author_name.as_deref(), Some("some_customer"));
        assert_eq!(c.post_id.as_deref(), Some("17918195224117851"));
        assert_eq!(c.created_at, 1_520_622_968_000);
    }

    #[test]
    fn a_message_from_the_page_without_the_echo_flag_is_still_outgoing() {
        let p = parse_page(
            &serde_json::json!({"object":"page","entry":[{"id":"P","time":1,
            "messaging":[{"sender":{"id":"P"},"recipient":{"id":"C"},"timestamp":"1700000000",
            "message":{"mid":"m1","text":"thanks!"}}]}]}),
        )
        .unwrap();
        let m = one(&p);
        assert_eq!((m.customer_id.as_str(), m.direction), ("C", Direction::Out));
        assert_eq!(m.sent_at, 1_700_000_000_000);
    }

    #[test]
    fn malformed_payloads_name_their_path() {
        let cases = [
            (
                r#"{"object":"instagram","entry":[]}"#,
                r#"object: expected "page", found "instagram""#,
            ),
            (r#"{"object":"page"}"#, "entry: missing"),
            (
                r#"{"object":"page","entry":[{"id":"P","messaging":[{"read":{}}, {"sender":{"id":"C"},"recipient":{"id":"P"},"timestamp":1458692752478,"message":{"text":"hi"}}]}]}"#,
                "entry[0].messaging[1].message.mid: missing",
            ),
            (
                r#"{"object":"page","entry":[{"id":"P","messaging":[{"recipient":{"id":"P"},"timestamp":1458692752478,"message":{"mid":"m","text":"hi"}}]}]}"#,
                "entry[0].messaging[0].sender: missing",
            ),
            (
                r#"{"object":"page","entry":[{"id":"P","changes":[{"field":"feed","value":{"item":"comment","verb":"add","from":{"id":"C"},"created_time":1742667604}}]}]}"#,
                "entry[0].changes[0].value.comment_id: missing",
            ),
        ];
        for (payload, want) in cases {
            let got = parse_page(&serde_json::from_str(payload).unwrap())
                .unwrap_err()
                .to_string();
            assert!(
                got.starts_with(want),
                "{payload}\n  got:  {got}\n  want: {want}"
            );
        }
    }
}
