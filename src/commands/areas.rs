//! `tix comments` and `tix reviews`: the comments and reviews areas from scripts.

use std::io::Write;

use anyhow::Result;
use serde_json::{Value, json};

use super::{Setup, now, report};
use crate::cli::{CommentsCommand, ReviewsCommand};
use crate::domain::{Millis, text, time};
use crate::store::{AreaFilter, CommentRow, ReviewRow};

pub fn comments(setup: &Setup, cmd: CommentsCommand) -> Result<()> {
    match cmd {
        CommentsCommand::List { all, json } => {
            let desk = setup.open_desk()?;
            let rows = desk.read().list_comments(&AreaFilter {
                all,
                ..AreaFilter::default()
            })?;
            let mut out = std::io::stdout().lock();
            if json {
                let rows: Vec<Value> = rows.iter().map(comment_json).collect();
                serde_json::to_writer_pretty(&mut out, &rows)?;
                writeln!(out)?;
            } else {
                comment_table(&mut out, &rows, now())?;
            }
            Ok(())
        }
        CommentsCommand::Reply { id, text } => {
            let ctx = setup.ctx()?;
            report(setup.open_desk()?.reply_privately(&ctx, id, &text))
        }
    }
}

pub fn reviews(setup: &Setup, cmd: ReviewsCommand) -> Result<()> {
    match cmd {
        ReviewsCommand::List {
            all,
            rating_below,
            json,
        } => {
            let desk = setup.open_desk()?;
            let rows = desk.read().list_reviews(&AreaFilter {
                all,
                rating_below,
                ..AreaFilter::default()
            })?;
            let mut out = std::io::stdout().lock();
            if json {
                let rows: Vec<Value> = rows.iter().map(review_json).collect();
                serde_json::to_writer_pretty(&mut out, &rows)?;
                writeln!(out)?;
            } else {
                review_table(&mut out, &rows, now())?;
            }
            Ok(())
        }
        ReviewsCommand::Convert { id } => {
            let ctx = setup.ctx()?;
            report(setup.open_desk()?.convert_review(&ctx, id))
        }
    }
}

fn comment_json(c: &CommentRow) -> Value {
    json!({
        "id": c.id,
        "platform": c.platform(),
        "channel": c.channel.as_str(),
        "account": c.account,
        "comment_id": c.external_id,
        "post_id": c.post_id,
        "parent_id": c.parent_id,
        "author_id": c.author_id,
        "author_name": c.author_name,
        "from_page": c.from_page,
        "text": c.text,
        "created_at": time::rfc3339(c.created_at),
        "contact_id": c.contact_id,
        "handled": c.handled_at.is_some(),
        "handled_at": c.handled_at.map(time::rfc3339),
        "handled_by": c.handled_by,
        "ticket": c.ticket,
    })
}

fn review_json(r: &ReviewRow) -> Value {
    json!({
        "id": r.id,
        "platform": r.channel.as_str(),
        "account": r.account,
        "review_id": r.external_id,
        "product": r.product,
        "rating": r.rating,
        "author": r.author,
        "author_id": r.author_id,
        "text": r.text,
        "created_at": time::rfc3339(r.created_at),
        "contact_id": r.contact_id,
        "handled": r.handled_at.is_some(),
        "handled_at": r.handled_at.map(time::rfc3339),
        "handled_by": r.handled_by,
        "ticket": r.ticket,
    })
}

/// What became of a comment or review: the ticket it went to, or nothing yet.
fn outcome(ticket: Option<i64>, handled: Option<Millis>) -> String {
    match (ticket, handled) {
        (Some(t), _) => format!("#{t}"),
        (None, Some(_)) => "done".into(),
        (None, None) => "-".into(),
    }
}

fn comment_table(out: &mut impl Write, rows: &[CommentRow], now: Millis) -> std::io::Result<()> {
    if rows.is_empty() {
        return writeln!(out, "no comments");
    }
    writeln!(
        out,
        "{:>5}  {:<9}  {}  {}  {:>5}  {:>6}  text",
        "id",
        "platform",
        text::fit("author", 18),
        text::fit("post", 16),
        "age",
        "ticket",
    )?;
    for c in rows {
        writeln!(
            out,
            "{:>5}  {:<9}  {}  {}  {:>5}  {:>6}  {}",
            c.id,
            c.platform(),
            text::fit(c.author(), 18),
            text::fit(c.post_id.as_deref().unwrap_or("-"), 16),
            time::age(now - c.created_at),
            outcome(c.ticket, c.handled_at),
            text::truncate(&c.text, 60)
        )?;
    }
    Ok(())
}

fn review_table(out: &mut impl Write, rows: &[ReviewRow], now: Millis) -> std::io::Result<()> {
    if rows.is_empty() {
        return writeln!(out, "no reviews");
    }
    writeln!(
        out,
        "{:>5}  {:<8}  {:<6}  {}  {}  {:>5}  {:>6}  text",
        "id",
        "platform",
        "rating",
        text::fit("product", 20),
        text::fit("author", 16),
        "age",
        "ticket",
    )?;
    for r in rows {
        writeln!(
            out,
            "{:>5}  {:<8}  {:<6}  {}  {}  {:>5}  {:>6}  {}",
            r.id,
            r.channel.as_str(),
            stars(r.rating),
            text::fit(&r.product, 20),
            text::fit(&r.author, 16),
            time::age(now - r.created_at),
            outcome(r.ticket, r.handled_at),
            text::truncate(&r.text, 60)
        )?;
    }
    Ok(())
}

/// A rating as five stars, filled up to the rating: `★★☆☆☆`.
pub fn stars(rating: u8) -> String {
    let n = usize::from(rating.min(5));
    format!("{}{}", "★".repeat(n), "☆".repeat(5 - n))
}
