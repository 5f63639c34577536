//! Comments and reviews: storing them in their own areas, and turning one into a ticket.
//!
//! A public comment's author is taken to be the customer identity with the commenter's id on the
//! channel account a private reply goes through: the Messenger account of a Facebook Page (its
//! account is the page), or the Instagram account. Meta gives page-scoped ids, and a commenter's id
//! is not always their Messenger id; keying them the same way means a private reply opens the
//! conversation that the customer's answer will arrive in (Meta threads a private reply's answers
//! under the commenter), which is what an agent expects to find. A reviewer with an `author_id` is
//! the identity of that buyer on the marketplace's account, so converting the review opens the
//! shop's chat with them.

use std::collections::HashSet;

use super::{Ctx, Desk, Done, Result, open_or_reuse, refused, reply_in};
use crate::domain::{ChannelKind, Direction, TicketNumber, text};
use crate::sources::reviews::Review;
use crate::sources::webhooks::Comment;
use crate::store::{NewComment, NewEvent, NewReview, Sql, platform_of_comment};

/// Meta lets a page answer a comment privately once, within seven days of the comment.
pub const PRIVATE_REPLY_WINDOW: crate::domain::Millis = 7 * 24 * 3_600_000;

/// How many of a batch of comments or reviews were new.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stored {
    pub new: usize,
    pub duplicates: usize,
}

impl Stored {
    pub fn add(&mut self, o: Stored) {
        self.new += o.new;
        self.duplicates += o.duplicates;
    }
}

impl Desk {
    /// Stores comments in one transaction; a comment already stored on its account is dropped, so
    /// re-imports and redeliveries add nothing. A new comment's author becomes (or is found as) a
    /// contact with a conversation on the comment's account.
    pub fn store_comments(&mut self, comments: &[Comment]) -> Result<Stored> {
        self.store.write(|sql| {
            let mut stored = Stored::default();
            let mut seen = HashSet::new();
            for c in comments {
                let account = sql.account_id(c.channel, account_name(c.channel, &c.account))?;
                if !seen.insert((account, c.comment_id.as_str()))
                    || sql.comment_exists(account, &c.comment_id)?
                {
                    stored.duplicates += 1;
                    continue;
                }
                let from_page = c.direction == Direction::Out;
                let contact = match (&c.author_id, from_page) {
                    (Some(author), false) => Some(
                        sql.identity(account, author, c.author_name.as_deref(), c.created_at)?
                            .1,
                    ),
                    _ => None,
                };
                sql.insert_comment(&NewComment {
                    account,
                    external_id: &c.comment_id,
                    post_id: c.post_id.as_deref(),
                    parent_id: c.parent_id.as_deref(),
                    author_id: c.author_id.as_deref(),
                    author_name: c.author_name.as_deref(),
                    from_page,
                    body: &c.text,
                    created_at: c.created_at,
                    contact,
                })?;
                stored.new += 1;
            }
            Ok(stored)
        })
    }

    /// Stores reviews in one transaction, dropping those already stored for the same shop.
    pub fn store_reviews(&mut self, reviews: &[Review]) -> Result<Stored> {
        self.store.write(|sql| {
            let mut stored = Stored::default();
            let mut seen = HashSet::new();
            for r in reviews {
                let name = r.account.as_deref().unwrap_or(r.platform.as_str());
                if sql.account_kind(name)?.is_some_and(|k| k != r.platform) {
                    return refused(format!(
                        "review {}: account \"{name}\" is not a {} account",
                        r.review_id, r.platform
                    ));
                }
                let account = sql.account_id(r.platform, name)?;
                if !seen.insert((account, r.review_id.as_str()))
                    || sql.review_exists(account, &r.review_id)?
                {
                    stored.duplicates += 1;
                    continue;
                }
                let contact = match &r.author_id {
                    Some(buyer) => Some(
                        sql.identity(account, buyer, Some(&r.author), r.created_at)?
                            .1,
                    ),
                    None => None,
                };
                sql.insert_review(&NewReview {
                    account,
                    external_id: &r.review_id,
                    product: &r.product,
                    rating: r.rating,
                    author: &r.author,
                    author_id: r.author_id.as_deref(),
                    body: &r.text,
                    created_at: r.created_at,
                    contact,
                })?;
                stored.new += 1;
            }
            Ok(stored)
        })
    }

    /// Answers a public comment privately: opens (or reuses) the commenter's conversation ticket on
    /// the comment's channel, sends the reply there, and marks the comment handled, linked to the
    /// ticket. Not undoable: the reply has been sent.
    pub fn reply_privately(&mut self, ctx: &Ctx, comment: i64, reply: &str) -> Result<Done> {
        if reply.trim().is_empty() {
            return refused("a reply needs some text");
        }
        self.store.write(|sql| {
            let Some(c) = sql.comment(comment)? else {
                return refused(format!(
                    "there is no comment {comment}; see `tix comments list --all`"
                ));
            };
            if c.from_page {
                return refused(format!(
                    "comment {comment} was written by the page itself; there is nobody to answer"
                ));
            }
            if let Some(ticket) = c.ticket {
                return refused(format!(
                    "comment {comment} was already answered privately on #{ticket}{}",
                    by(c.handled_by.as_deref())
                ));
            }
            let Some(author) = c.author_id.as_deref() else {
                return refused(format!(
                    "comment {comment} does not say who wrote it, so it cannot be answered \
                     privately; answer it on the post"
                ));
            };
            if ctx.at - c.created_at > PRIVATE_REPLY_WINDOW {
                return refused(format!(
                    "comment {comment} is older than 7 days, and {} allows a private reply only \
                     within 7 days of the comment; answer it on the post",
                    title(platform_of_comment(c.channel))
                ));
            }
            let (conversation, _) =
                sql.identity(c.account_id, author, c.author_name.as_deref(), c.created_at)?;
            let (ticket, new) = open_or_reuse(sql, ctx, conversation)?;
            let origin = format!(
                "{} comment {comment} \"{}\"",
                title(platform_of_comment(c.channel)),
                preview(&c.text)
            );
            link(sql, ctx, ticket, "comment", comment, &origin, new)?;
            reply_in(sql, ctx, ticket, reply, false)?;
            sql.handle_comment(comment, ticket, &ctx.agent, ctx.at)?;
            Ok(Done {
                summary: format!(
                    "replied privately to comment {comment} on #{ticket}{}",
                    if new { " (new ticket)" } else { "" }
                ),
                changed: vec![ticket],
                skipped: vec![],
                undoable: false,
            })
        })
    }

    /// Turns a review into a ticket: opens (or reuses) the reviewer's conversation ticket on the
    /// review's marketplace account and links the review to it, marking it handled.
    pub fn convert_review(&mut self, ctx: &Ctx, review: i64) -> Result<Done> {
        self.store.write(|sql| {
            let Some(r) = sql.review(review)? else {
                return refused(format!(
                    "there is no review {review}; see `tix reviews list --all`"
                ));
            };
            if let Some(ticket) = r.ticket {
                return refused(format!(
                    "review {review} was already converted to #{ticket}{}",
                    by(r.handled_by.as_deref())
                ));
            }
            let Some(buyer) = r.author_id.as_deref() else {
                return refused(format!(
                    "review {review} does not give the buyer's id (author_id), so there is no \
                     chat to open; answer it on {}",
                    title(r.channel.as_str())
                ));
            };
            let (conversation, _) =
                sql.identity(r.account_id, buyer, Some(&r.author), r.created_at)?;
            let (ticket, new) = open_or_reuse(sql, ctx, conversation)?;
            sql.handle_review(review, ticket, &ctx.agent, ctx.at)?;
            let origin = format!(
                "{} review {review} ({}★ {}) \"{}\"",
                title(r.channel.as_str()),
                r.rating,
                preview(&r.product),
                preview(&r.text)
            );
            link(sql, ctx, ticket, "review", review, &origin, new)?;
            Ok(Done {
                summary: format!(
                    "converted review {review} to #{ticket}{}",
                    if new { " (new ticket)" } else { "" }
                ),
                changed: vec![ticket],
                skipped: vec![],
                undoable: false,
            })
        })
    }
}

/// The account a comment is stored under: the one its payload named, or the channel's default.
fn account_name(channel: ChannelKind, account: &str) -> &str {
    if account.trim().is_empty() {
        channel.as_str()
    } else {
        account
    }
}

/// Journals where a ticket came from: the thread shows "#12 opened from Facebook comment 3 …".
fn link(
    sql: &Sql<'_>,
    ctx: &Ctx,
    ticket: TicketNumber,
    origin: &str,
    id: i64,
    described: &str,
    new: bool,
) -> Result<()> {
    let payload = serde_json::json!({
        "ticket": ticket,
        "origin": origin,
        "id": id,
        "described": described,
        "new": new,
    })
    .to_string();
    sql.append_event(&NewEvent {
        ticket: Some(ticket),
        kind: "linked",
        actor: &ctx.actor(),
        at: ctx.at,
        payload: &payload,
        action_id: None,
        via: None,
    })?;
    Ok(())
}

/// The journal line of a `linked` event, without ticket and actor: "opened from Facebook comment
/// 3 "How much…"".
pub fn describe_link(payload: &serde_json::Value) -> String {
    let verb = if payload["new"].as_bool() == Some(false) {
        "linked to"
    } else {
        "opened from"
    };
    format!(
        "{verb} {}",
        payload["described"].as_str().unwrap_or("its origin")
    )
}

fn by(agent: Option<&str>) -> String {
    agent.map(|a| format!(" by {a}")).unwrap_or_default()
}

/// A platform's name for people.
fn title(platform: &str) -> &'static str {
    match platform {
        "facebook" => "Facebook",
        "instagram" => "Instagram",
        "shopee" => "Shopee",
        "lazada" => "Lazada",
        _ => "the platform",
    }
}

/// The start of a text on one line, for journal lines.
fn preview(s: &str) -> String {
    let one_line = text::sanitize(s, true);
    let mut out: String = one_line.chars().take(40).collect();
    if one_line.chars().count() > 40 {
        out.push('…');
    }
    out
}
