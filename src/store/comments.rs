//! Comments and reviews: the public comments on the shop's Facebook and Instagram posts and the
//! product reviews of its marketplace shops, each in its own area beside the tickets.

use rusqlite::{OptionalExtension, Row, params};

use super::Result;
use super::queries::{Sql, parse_enum};
use crate::domain::{AccountId, ChannelKind, ContactId, ConversationId, Millis, TicketNumber};

/// A comment to store.
pub struct NewComment<'a> {
    pub account: AccountId,
    pub external_id: &'a str,
    pub post_id: Option<&'a str>,
    pub parent_id: Option<&'a str>,
    pub author_id: Option<&'a str>,
    pub author_name: Option<&'a str>,
    pub from_page: bool,
    pub body: &'a str,
    pub created_at: Millis,
    pub contact: Option<ContactId>,
}

/// A review to store.
pub struct NewReview<'a> {
    pub account: AccountId,
    pub external_id: &'a str,
    pub product: &'a str,
    pub rating: u8,
    pub author: &'a str,
    pub author_id: Option<&'a str>,
    pub body: &'a str,
    pub created_at: Millis,
    pub contact: Option<ContactId>,
}

/// A stored comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentRow {
    pub id: i64,
    /// The channel a private reply uses: Messenger for a Facebook Page, Instagram.
    pub channel: ChannelKind,
    pub account_id: AccountId,
    pub account: String,
    pub external_id: String,
    pub post_id: Option<String>,
    pub parent_id: Option<String>,
    pub author_id: Option<String>,
    pub author_name: Option<String>,
    pub from_page: bool,
    pub text: String,
    pub created_at: Millis,
    pub contact_id: Option<ContactId>,
    pub handled_at: Option<Millis>,
    pub handled_by: Option<String>,
    pub ticket: Option<TicketNumber>,
}

impl CommentRow {
    /// Where the comment was written, for people: Facebook or Instagram.
    pub fn platform(&self) -> &'static str {
        platform_of_comment(self.channel)
    }

    /// Who wrote it: the name if known, else the platform's id.
    pub fn author(&self) -> &str {
        self.author_name
            .as_deref()
            .or(self.author_id.as_deref())
            .unwrap_or("?")
    }
}

/// The platform a comment was written on, named by the channel its private replies use.
pub fn platform_of_comment(channel: ChannelKind) -> &'static str {
    match channel {
        ChannelKind::Messenger => "facebook",
        other => other.as_str(),
    }
}

/// A stored review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRow {
    pub id: i64,
    /// The marketplace: Shopee or Lazada.
    pub channel: ChannelKind,
    pub account_id: AccountId,
    pub account: String,
    pub external_id: String,
    pub product: String,
    pub rating: u8,
    pub author: String,
    pub author_id: Option<String>,
    pub text: String,
    pub created_at: Millis,
    pub contact_id: Option<ContactId>,
    pub handled_at: Option<Millis>,
    pub handled_by: Option<String>,
    pub ticket: Option<TicketNumber>,
}

/// Which comments or reviews to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AreaFilter {
    /// Handled ones too; by default only those still waiting for someone.
    pub all: bool,
    /// Reviews only: ratings below this.
    pub rating_below: Option<u8>,
    /// Keyset paging: only rows older than this (created_at, id).
    pub before: Option<(Millis, i64)>,
    pub limit: Option<i64>,
}

const COMMENT_COLUMNS: &str = "c.id, a.kind, c.account_id, a.name, c.external_id, c.post_id, \
     c.parent_id, c.author_id, c.author_name, c.from_page, c.body, c.created_at, c.contact_id, \
     c.handled_at, c.handled_by, c.ticket_id";

const REVIEW_COLUMNS: &str = "r.id, a.kind, r.account_id, a.name, r.external_id, r.product, \
     r.rating, r.author, r.author_id, r.body, r.created_at, r.contact_id, r.handled_at, \
     r.handled_by, r.ticket_id";

fn comment_row(r: &Row<'_>) -> rusqlite::Result<CommentRow> {
    Ok(CommentRow {
        id: r.get(0)?,
        channel: parse_enum(1, r.get(1)?)?,
        account_id: r.get(2)?,
        account: r.get(3)?,
        external_id: r.get(4)?,
        post_id: r.get(5)?,
        parent_id: r.get(6)?,
        author_id: r.get(7)?,
        author_name: r.get(8)?,
        from_page: r.get(9)?,
        text: r.get(10)?,
        created_at: r.get(11)?,
        contact_id: r.get(12)?,
        handled_at: r.get(13)?,
        handled_by: r.get(14)?,
        ticket: r.get(15)?,
    })
}

fn review_row(r: &Row<'_>) -> rusqlite::Result<ReviewRow> {
    Ok(ReviewRow {
        id: r.get(0)?,
        channel: parse_enum(1, r.get(1)?)?,
        account_id: r.get(2)?,
        account: r.get(3)?,
        external_id: r.get(4)?,
        product: r.get(5)?,
        rating: r.get(6)?,
        author: r.get(7)?,
        author_id: r.get(8)?,
        text: r.get(9)?,
        created_at: r.get(10)?,
        contact_id: r.get(11)?,
        handled_at: r.get(12)?,
        handled_by: r.get(13)?,
        ticket: r.get(14)?,
    })
}

/// The WHERE clause of a listing and its arguments; `alias` is the table's.
fn area_where(alias: &str, f: &AreaFilter) -> (String, Vec<i64>) {
    let mut clauses = Vec::new();
    let mut args = Vec::new();
    if !f.all {
        clauses.push(format!("{alias}.handled_at IS NULL"));
    }
    if let Some(below) = f.rating_below {
        clauses.push(format!("{alias}.rating < ?"));
        args.push(i64::from(below));
    }
    if let Some((at, id)) = f.before {
        clauses.push(format!("({alias}.created_at, {alias}.id) < (?, ?)"));
        args.extend([at, id]);
    }
    if clauses.is_empty() {
        (String::new(), args)
    } else {
        (format!("WHERE {}", clauses.join(" AND ")), args)
    }
}

/// The statement of a page of the Comments or Reviews view, and its arguments.
fn area_sql(table: &str, alias: &str, columns: &str, f: &AreaFilter) -> (String, Vec<i64>) {
    let (filter, args) = area_where(alias, f);
    let sql = format!(
        "SELECT {columns} FROM {table} {alias}
         JOIN channel_accounts a ON a.id = {alias}.account_id {filter}
         ORDER BY {alias}.created_at DESC, {alias}.id DESC LIMIT {}",
        f.limit.unwrap_or(-1)
    );
    (sql, args)
}

impl Sql<'_> {
    /// The conversation and contact of a customer identity (their id on a channel account),
    /// created if new, as an arrival would create them. A comment's author or a reviewer becomes
    /// the same contact their messages on that account would.
    pub fn identity(
        &self,
        account: AccountId,
        external_id: &str,
        name: Option<&str>,
        at: Millis,
    ) -> Result<(ConversationId, ContactId)> {
        let found = self
            .conn
            .prepare_cached(
                "SELECT id, contact_id FROM conversations WHERE account_id = ?1 AND external_id = ?2",
            )?
            .query_row(params![account, external_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some(found) = found {
            return Ok(found);
        }
        let contact = self.create_contact(name.unwrap_or(external_id), at)?;
        let conversation = self.create_conversation(account, external_id, contact, at)?;
        Ok((conversation, contact))
    }

    pub fn comment_exists(&self, account: AccountId, external_id: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM comments WHERE account_id = ?1 AND external_id = ?2")?
            .exists(params![account, external_id])?)
    }

    pub fn insert_comment(&self, c: &NewComment<'_>) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO comments (account_id, external_id, post_id, parent_id, author_id,
                     author_name, from_page, body, created_at, contact_id, handled_at, handled_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?
            .execute(params![
                c.account,
                c.external_id,
                c.post_id,
                c.parent_id,
                c.author_id,
                c.author_name,
                c.from_page,
                c.body,
                c.created_at,
                c.contact,
                // The page's own comments need nobody: handled as they arrive.
                c.from_page.then_some(c.created_at),
                c.from_page.then_some("page"),
            ])?;
        Ok(())
    }

    pub fn review_exists(&self, account: AccountId, external_id: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM reviews WHERE account_id = ?1 AND external_id = ?2")?
            .exists(params![account, external_id])?)
    }

    pub fn insert_review(&self, r: &NewReview<'_>) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO reviews (account_id, external_id, product, rating, author, author_id,
                     body, created_at, contact_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                r.account,
                r.external_id,
                r.product,
                r.rating,
                r.author,
                r.author_id,
                r.body,
                r.created_at,
                r.contact,
            ])?;
        Ok(())
    }

    pub fn comment(&self, id: i64) -> Result<Option<CommentRow>> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {COMMENT_COLUMNS} FROM comments c
                 JOIN channel_accounts a ON a.id = c.account_id WHERE c.id = ?1"
            ))?
            .query_row([id], comment_row)
            .optional()
            .map_err(Into::into)
    }

    pub fn review(&self, id: i64) -> Result<Option<ReviewRow>> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {REVIEW_COLUMNS} FROM reviews r
                 JOIN channel_accounts a ON a.id = r.account_id WHERE r.id = ?1"
            ))?
            .query_row([id], review_row)
            .optional()
            .map_err(Into::into)
    }

    /// Comments newest first; only one page's worth when the filter has a limit.
    pub fn list_comments(&self, f: &AreaFilter) -> Result<Vec<CommentRow>> {
        self.list_area("comments", "c", COMMENT_COLUMNS, f, comment_row)
    }

    /// Reviews newest first; only one page's worth when the filter has a limit.
    pub fn list_reviews(&self, f: &AreaFilter) -> Result<Vec<ReviewRow>> {
        self.list_area("reviews", "r", REVIEW_COLUMNS, f, review_row)
    }

    /// One area's rows, newest first, through its `(created_at, id)` indexes.
    fn list_area<T>(
        &self,
        table: &str,
        alias: &str,
        columns: &str,
        f: &AreaFilter,
        row: fn(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let (sql, args) = area_sql(table, alias, columns, f);
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args), row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// How many comments and reviews wait for someone, for the sidebar.
    pub fn unhandled_counts(&self) -> Result<(i64, i64)> {
        Ok(self.conn.query_row(
            "SELECT (SELECT count(*) FROM comments WHERE handled_at IS NULL),
                    (SELECT count(*) FROM reviews WHERE handled_at IS NULL)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// Marks a comment handled by an agent, through a ticket.
    pub fn handle_comment(
        &self,
        id: i64,
        ticket: TicketNumber,
        agent: &str,
        at: Millis,
    ) -> Result<()> {
        self.mark_handled("comments", id, ticket, agent, at)
    }

    /// Marks a review handled by an agent, through a ticket.
    pub fn handle_review(
        &self,
        id: i64,
        ticket: TicketNumber,
        agent: &str,
        at: Millis,
    ) -> Result<()> {
        self.mark_handled("reviews", id, ticket, agent, at)
    }

    /// Marks a row of an area (`comments` or `reviews`) handled through a ticket.
    fn mark_handled(
        &self,
        table: &'static str,
        id: i64,
        ticket: TicketNumber,
        agent: &str,
        at: Millis,
    ) -> Result<()> {
        self.conn
            .prepare_cached(&format!(
                "UPDATE {table} SET handled_at = ?2, handled_by = ?3, ticket_id = ?4 WHERE id = ?1"
            ))?
            .execute(params![id, at, agent, ticket])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn the_comments_and_reviews_views_walk_their_unhandled_indexes() {
        let store = Store::open_in_memory().unwrap();
        let sql = store.read();
        for (table, alias, columns, index) in [
            ("comments", "c", COMMENT_COLUMNS, "comments_unhandled"),
            ("reviews", "r", REVIEW_COLUMNS, "reviews_unhandled"),
        ] {
            for before in [None, Some((1, 1))] {
                let f = AreaFilter {
                    before,
                    limit: Some(50),
                    ..AreaFilter::default()
                };
                // The page's very statement, with its keys written in.
                let (mut statement, args) = area_sql(table, alias, columns, &f);
                for a in args {
                    statement = statement.replacen('?', &a.to_string(), 1);
                }
                let plan = sql.explain(&statement).unwrap().join("; ");
                assert!(plan.contains(index), "{table}: {plan}");
                assert!(!plan.contains("TEMP B-TREE"), "{table}: {plan}");
            }
        }
    }
}
