//! The inbox's queries: one page of a queue at a time, counts for the sidebar, the thread pane,
//! the contact card and full-text search.
//!
//! Every list is read by keyset paging on the same partial indexes the queue order uses, so the
//! 80,000th row costs what the first does: nothing here ever uses `OFFSET` or loads a whole
//! queue.

use rusqlite::{OptionalExtension, Row, params_from_iter, types::Value};
use serde::Serialize;

use super::Result;
use super::queries::{Sql, ThreadItem, parse_enum};
use crate::domain::{Actor, ChannelKind, ContactId, ConversationId, Millis, Status, TicketNumber};

/// A list of tickets the sidebar offers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Queue {
    /// Open tickets assigned to this agent.
    Mine(String),
    /// Open tickets with neither an agent nor a team.
    Unassigned,
    /// Open tickets waiting in a team's queue: the team is set, no agent yet.
    Team(String),
    AllOpen,
    /// Open tickets flagged for follow-up.
    FollowUp,
    /// Closed tickets, newest first.
    Closed,
    /// Spam tickets, newest first.
    Spam,
    /// A saved view from the config: open tickets matching every condition given.
    Saved(SavedFilter),
}

/// The conditions a saved view may combine; all given ones must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SavedFilter {
    pub channel: Option<ChannelKind>,
    pub label: Option<String>,
    pub assignee: Option<String>,
    pub team: Option<String>,
}

impl Queue {
    /// Whether the queue is in waiting order (open tickets) rather than newest first.
    fn waiting_order(&self) -> bool {
        !matches!(self, Queue::Closed | Queue::Spam)
    }

    /// The WHERE clause and its arguments.
    fn filter(&self) -> (String, Vec<Value>) {
        let text = |s: &str| Value::Text(s.to_string());
        match self {
            Queue::Mine(agent) => (
                "t.status = 'open' AND t.assignee = ?".into(),
                vec![text(agent)],
            ),
            Queue::Unassigned => (
                "t.status = 'open' AND t.assignee IS NULL AND t.team IS NULL".into(),
                vec![],
            ),
            Queue::Team(team) => (
                "t.status = 'open' AND t.team = ? AND t.assignee IS NULL".into(),
                vec![text(team)],
            ),
            Queue::AllOpen => ("t.status = 'open'".into(), vec![]),
            Queue::FollowUp => ("t.status = 'open' AND t.follow_up = 1".into(), vec![]),
            Queue::Closed => ("t.status = 'closed'".into(), vec![]),
            Queue::Spam => ("t.status = 'spam'".into(), vec![]),
            Queue::Saved(f) => {
                let mut sql = String::from("t.status = 'open'");
                let mut args = Vec::new();
                if let Some(c) = f.channel {
                    sql.push_str(
                        " AND t.conversation_id IN (SELECT cv.id FROM conversations cv \
                         JOIN channel_accounts a ON a.id = cv.account_id WHERE a.kind = ?)",
                    );
                    args.push(text(c.as_str()));
                }
                if let Some(l) = &f.label {
                    sql.push_str(
                        " AND EXISTS (SELECT 1 FROM ticket_labels l \
                         WHERE l.ticket_id = t.id AND l.label = ?)",
                    );
                    args.push(text(l));
                }
                if let Some(a) = &f.assignee {
                    sql.push_str(" AND t.assignee = ?");
                    args.push(text(a));
                }
                if let Some(team) = &f.team {
                    sql.push_str(" AND t.team = ?");
                    args.push(text(team));
                }
                (sql, args)
            }
        }
    }
}

/// Where a row sits in its queue's order: enough to fetch the rows after or before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QueueKey {
    pub waiting_since: Option<Millis>,
    pub number: TicketNumber,
}

/// Which page of a queue to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    First,
    Last,
    /// The rows after this one, in queue order.
    After(QueueKey),
    /// The rows before this one, in queue order (returned in queue order too).
    Before(QueueKey),
    /// The rows from this one on, inclusive: re-reading a window after a change.
    From(QueueKey),
}

/// One row of the inbox list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueRow {
    pub number: TicketNumber,
    pub conversation_id: ConversationId,
    pub contact_id: ContactId,
    pub contact_name: String,
    pub channel: ChannelKind,
    pub status: Status,
    pub assignee: Option<String>,
    pub team: Option<String>,
    pub labels: Vec<String>,
    pub follow_up: bool,
    pub unread: i64,
    pub waiting_since: Option<Millis>,
    pub last_message_at: Option<Millis>,
    /// The start of the last message, cut to what a row can show.
    pub preview: Option<String>,
}

impl QueueRow {
    pub fn key(&self) -> QueueKey {
        QueueKey {
            waiting_since: self.waiting_since,
            number: self.number,
        }
    }
}

const ROW_SELECT: &str = "SELECT t.id, t.conversation_id, c.id, c.name, a.kind, t.status,
        t.assignee, t.team,
        (SELECT group_concat(label, char(31)) FROM ticket_labels l WHERE l.ticket_id = t.id),
        t.follow_up, t.unread, t.waiting_since, t.last_message_at, substr(m.body, 1, 240)
    FROM tickets t
    JOIN conversations cv ON cv.id = t.conversation_id
    JOIN contacts c ON c.id = cv.contact_id
    JOIN channel_accounts a ON a.id = cv.account_id
    LEFT JOIN messages m ON m.id = t.last_message_id";

fn row_from(r: &Row<'_>) -> rusqlite::Result<QueueRow> {
    let labels: Option<String> = r.get(8)?;
    Ok(QueueRow {
        number: r.get(0)?,
        conversation_id: r.get(1)?,
        contact_id: r.get(2)?,
        contact_name: r.get(3)?,
        channel: parse_enum(4, r.get(4)?)?,
        status: parse_enum(5, r.get(5)?)?,
        assignee: r.get(6)?,
        team: r.get(7)?,
        labels: labels
            .map(|l| l.split('\u{1f}').map(str::to_string).collect())
            .unwrap_or_default(),
        follow_up: r.get(9)?,
        unread: r.get(10)?,
        waiting_since: r.get(11)?,
        last_message_at: r.get(12)?,
        preview: r.get(13)?,
    })
}

/// The teams with open tickets, for the sidebar and the assign picker.
const OPEN_TEAMS: &str =
    "SELECT DISTINCT team FROM tickets WHERE status = 'open' AND team IS NOT NULL ORDER BY team";

/// The thread pane's reads, named so the plan tests explain exactly these statements.
const THREAD_MESSAGES: &str = "SELECT id, ticket_id, direction, author, kind, body, sent_at
     FROM messages WHERE conversation_id = ?1 ORDER BY sent_at DESC, id DESC LIMIT ?2";
const THREAD_NOTES: &str = "SELECT n.id, n.ticket_id, n.author, n.body, n.created_at
     FROM tickets t JOIN notes n ON n.ticket_id = t.id
     WHERE t.conversation_id = ?1 AND NOT n.removed AND n.created_at >= ?2
     ORDER BY n.created_at, n.id";
const THREAD_EVENTS: &str =
    "SELECT e.ticket_id, e.kind, e.actor_kind, e.actor, e.via, e.payload, e.at
     FROM tickets t JOIN events e ON e.ticket_id = t.id
     WHERE t.conversation_id = ?1 AND e.at >= ?2 ORDER BY e.at, e.id";
const LAST_INBOUND: &str = "SELECT sent_at FROM messages
     WHERE conversation_id = ?1 AND direction = 'in' ORDER BY sent_at DESC LIMIT 1";
const LATEST_TICKET: &str = "SELECT max(id) FROM tickets WHERE conversation_id = ?1";

/// One message found by search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchHit {
    pub message_id: i64,
    pub ticket: TicketNumber,
    pub conversation_id: ConversationId,
    pub contact_name: String,
    pub channel: ChannelKind,
    pub body: String,
    pub sent_at: Millis,
}

/// What a search found, and how far it looked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchResult {
    pub hits: Vec<SearchHit>,
    /// Set when a term was too short for the full-text index and only the newest messages were
    /// scanned for it: how many.
    pub scanned_recent: Option<i64>,
}

/// Terms shorter than this are below the trigram index's reach.
const TRIGRAM: usize = 3;
/// How many of the newest messages a search of only short terms scans.
pub const SHORT_TERM_SCAN: i64 = 50_000;

/// Splits a search into terms: words separated by spaces, or a "quoted phrase".
pub fn search_terms(query: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut rest = query.trim();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('"')
            && let Some(end) = after.find('"')
        {
            let phrase = after[..end].trim();
            if !phrase.is_empty() {
                terms.push(phrase.to_string());
            }
            rest = after[end + 1..].trim_start();
            continue;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let word = rest[..end].trim_matches('"');
        if !word.is_empty() {
            terms.push(word.to_string());
        }
        rest = rest[end..].trim_start();
    }
    terms
}

/// A term as an FTS5 string literal: whatever it holds, MATCH reads it as plain text.
fn fts_literal(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

/// A term as a LIKE pattern matching it anywhere, with the wildcards in it escaped.
fn like_pattern(term: &str) -> String {
    let mut p = String::from("%");
    for ch in term.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

/// The contact card of the thread pane.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ContactCard {
    pub contact_id: ContactId,
    pub name: String,
    /// Every identity of the contact: channel, account and the customer's id there.
    pub identities: Vec<(ChannelKind, String, String)>,
    /// Open tickets of the contact's other conversations.
    pub other_open: Vec<(TicketNumber, ChannelKind)>,
}

/// The ticket-level facts the thread pane shows beside the messages.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TicketFacts {
    pub labels: Vec<String>,
    pub fields: Vec<(String, String)>,
}

/// The query for one part of the waiting order (see [`Sql::queue_page`]).
fn part_sql(
    queue: &Queue,
    waiting: bool,
    forward: bool,
    from: Option<(Millis, TicketNumber)>,
    inclusive: bool,
    limit: usize,
) -> (String, Vec<Value>) {
    let (filter, mut args) = queue.filter();
    let null = if waiting { 0 } else { 1 };
    let mut sql = format!("{ROW_SELECT} WHERE {filter} AND (t.waiting_since IS NULL) = {null}");
    let cmp = match (forward, inclusive) {
        (true, false) => ">",
        (true, true) => ">=",
        (false, false) => "<",
        (false, true) => "<=",
    };
    if let Some((w, n)) = from {
        if waiting {
            sql.push_str(&format!(" AND (t.waiting_since, t.id) {cmp} (?, ?)"));
            args.push(Value::Integer(w));
        } else {
            sql.push_str(&format!(" AND t.id {cmp} ?"));
        }
        args.push(Value::Integer(n));
    }
    // The WHERE fixes `waiting_since IS NULL`; naming it in the ORDER BY as well would make
    // SQLite sort in a temporary b-tree instead of walking the index.
    let dir = if forward { "ASC" } else { "DESC" };
    sql.push_str(&format!(
        " ORDER BY t.waiting_since {dir}, t.id {dir} LIMIT {limit}"
    ));
    (sql, args)
}

/// The query for a page of a newest-first queue (Closed, Spam).
fn newest_first_sql(queue: &Queue, page: Page, limit: usize) -> (String, Vec<Value>) {
    let (filter, mut args) = queue.filter();
    let (bound, ascending) = match page {
        Page::First => ("", false),
        Page::Last => ("", true),
        Page::After(_) => (" AND t.id < ?", false),
        Page::From(_) => (" AND t.id <= ?", false),
        Page::Before(_) => (" AND t.id > ?", true),
    };
    if let Page::After(k) | Page::From(k) | Page::Before(k) = page {
        args.push(Value::Integer(k.number));
    }
    let dir = if ascending { "ASC" } else { "DESC" };
    let sql = format!("{ROW_SELECT} WHERE {filter}{bound} ORDER BY t.id {dir} LIMIT {limit}");
    (sql, args)
}

impl Sql<'_> {
    /// One page of a queue, in queue order.
    pub fn queue_page(&self, queue: &Queue, page: Page, limit: usize) -> Result<Vec<QueueRow>> {
        let limit = limit.max(1);
        if !queue.waiting_order() {
            return self.newest_first_page(queue, page, limit);
        }
        // The waiting order puts tickets with a waiting customer first (oldest wait first), then
        // answered ones by number. The two parts are read separately so each is one range of
        // the partial index; a row-value comparison over a NULL would match nothing.
        let inclusive = matches!(page, Page::From(_));
        let (forward, key) = match page {
            Page::First => (true, None),
            Page::Last => (false, None),
            Page::After(k) | Page::From(k) => (true, Some(k)),
            Page::Before(k) => (false, Some(k)),
        };
        // Where each part starts: `None` for its end, `Some(None)` to skip the part entirely.
        let (waiting_from, answered_from) = match key {
            None => (Some(None), Some(None)),
            Some(QueueKey {
                waiting_since: Some(w),
                number,
            }) => {
                let w = Some(Some((w, number)));
                if forward { (w, Some(None)) } else { (w, None) }
            }
            Some(QueueKey {
                waiting_since: None,
                number,
            }) => {
                let a = Some(Some((0, number)));
                if forward { (None, a) } else { (Some(None), a) }
            }
        };
        let parts = if forward {
            [(true, waiting_from), (false, answered_from)]
        } else {
            [(false, answered_from), (true, waiting_from)]
        };
        let mut rows = Vec::new();
        for (waiting, from) in parts {
            let Some(from) = from else { continue };
            if rows.len() >= limit {
                break;
            }
            let bound_inclusive = inclusive && from.is_some();
            let more = self.part(
                queue,
                waiting,
                forward,
                from,
                bound_inclusive,
                limit - rows.len(),
            )?;
            rows.extend(more);
        }
        if !forward {
            rows.reverse();
        }
        Ok(rows)
    }

    /// One part of the waiting order: the waiting rows (`waiting`) or the answered ones, forward
    /// or backward from a key (exclusive unless `inclusive`).
    fn part(
        &self,
        queue: &Queue,
        waiting: bool,
        forward: bool,
        from: Option<(Millis, TicketNumber)>,
        inclusive: bool,
        limit: usize,
    ) -> Result<Vec<QueueRow>> {
        let (sql, args) = part_sql(queue, waiting, forward, from, inclusive, limit);
        self.rows(&sql, args)
    }

    fn newest_first_page(&self, queue: &Queue, page: Page, limit: usize) -> Result<Vec<QueueRow>> {
        let (sql, args) = newest_first_sql(queue, page, limit);
        let ascending = matches!(page, Page::Last | Page::Before(_));
        let mut rows = self.rows(&sql, args)?;
        if ascending {
            rows.reverse();
        }
        Ok(rows)
    }

    fn rows(&self, sql: &str, args: Vec<Value>) -> Result<Vec<QueueRow>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt
            .query_map(params_from_iter(args), row_from)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// How SQLite plans every read a queue's pages make, for the tests that keep each queue
    /// on its index.
    pub fn explain_queue_pages(&self, queue: &Queue) -> Result<Vec<String>> {
        let key = QueueKey {
            waiting_since: Some(1),
            number: 1,
        };
        let mut reads = Vec::new();
        if queue.waiting_order() {
            for waiting in [true, false] {
                for forward in [true, false] {
                    for from in [None, Some((1, 1))] {
                        reads.push(part_sql(queue, waiting, forward, from, false, 50));
                    }
                }
            }
        } else {
            for page in [Page::First, Page::Last, Page::After(key), Page::Before(key)] {
                reads.push(newest_first_sql(queue, page, 50));
            }
        }
        let mut plans = Vec::new();
        for (sql, args) in reads {
            let mut stmt = self.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
            let lines = stmt
                .query_map(params_from_iter(args), |r| r.get::<_, String>(3))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            plans.push(lines.join("; "));
        }
        Ok(plans)
    }

    /// How many tickets a queue holds.
    pub fn queue_count(&self, queue: &Queue) -> Result<i64> {
        let (filter, args) = queue.filter();
        let sql = format!("SELECT count(*) FROM tickets t WHERE {filter}");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row(params_from_iter(args), |r| r.get(0))?)
    }

    /// The teams that have open tickets, for the sidebar when the config names none.
    pub fn teams_with_open_tickets(&self) -> Result<Vec<String>> {
        self.strings(OPEN_TEAMS)
    }

    /// Every agent and team named on a ticket, for the assign picker.
    pub fn known_assignees(&self) -> Result<(Vec<String>, Vec<String>)> {
        Ok((
            self.strings(
                "SELECT DISTINCT assignee FROM tickets WHERE status = 'open' AND assignee IS NOT NULL ORDER BY assignee",
            )?,
            self.strings(OPEN_TEAMS)?,
        ))
    }

    /// Every label in use, for the label picker.
    pub fn known_labels(&self) -> Result<Vec<String>> {
        self.strings("SELECT DISTINCT label FROM ticket_labels ORDER BY label LIMIT 500")
    }

    /// Every field name in use, for the field picker.
    pub fn known_field_names(&self) -> Result<Vec<String>> {
        self.strings("SELECT DISTINCT name FROM ticket_fields ORDER BY name LIMIT 500")
    }

    /// The one text column of every row of a query without parameters.
    fn strings(&self, sql: &str) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(rows)
    }

    /// The newest `limit` messages of a conversation, with the notes and journal lines of the
    /// same stretch of time, oldest first. `more` is set when older messages exist.
    pub fn thread_tail(
        &self,
        conversation: ConversationId,
        limit: usize,
    ) -> Result<(Vec<ThreadItem>, bool)> {
        let mut items = Vec::new();
        let mut stmt = self.conn.prepare_cached(THREAD_MESSAGES)?;
        let fetch = i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1;
        let mut rows = stmt.query(rusqlite::params![conversation, fetch])?;
        while let Some(r) = rows.next()? {
            items.push(ThreadItem::Message {
                id: r.get(0)?,
                ticket: r.get(1)?,
                direction: parse_enum(2, r.get(2)?)?,
                author: r.get(3)?,
                kind: parse_enum(4, r.get(4)?)?,
                body: r.get(5)?,
                at: r.get(6)?,
            });
        }
        let more = items.len() > limit;
        items.truncate(limit);
        items.reverse();
        let since = if more {
            items.first().map(ThreadItem::at).unwrap_or(Millis::MIN)
        } else {
            Millis::MIN
        };
        let mut stmt = self.conn.prepare_cached(THREAD_NOTES)?;
        let mut rows = stmt.query(rusqlite::params![conversation, since])?;
        while let Some(r) = rows.next()? {
            items.push(ThreadItem::Note {
                id: r.get(0)?,
                ticket: r.get(1)?,
                author: r.get(2)?,
                body: r.get(3)?,
                at: r.get(4)?,
            });
        }
        let mut stmt = self.conn.prepare_cached(THREAD_EVENTS)?;
        let mut rows = stmt.query(rusqlite::params![conversation, since])?;
        while let Some(r) = rows.next()? {
            let kind: String = r.get(2)?;
            let payload: String = r.get(5)?;
            items.push(ThreadItem::Event {
                ticket: r.get(0)?,
                kind: r.get(1)?,
                actor: Actor::from_parts(&kind, r.get(3)?),
                via: r.get(4)?,
                payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
                at: r.get(6)?,
            });
        }
        items.sort_by_key(ThreadItem::at);
        Ok((items, more))
    }

    /// A contact's identities and the open tickets of its other conversations.
    pub fn contact_card(
        &self,
        contact: ContactId,
        except: ConversationId,
    ) -> Result<Option<ContactCard>> {
        let Some(name) = self
            .conn
            .prepare_cached("SELECT name FROM contacts WHERE id = ?1")?
            .query_row([contact], |r| r.get::<_, String>(0))
            .optional()?
        else {
            return Ok(None);
        };
        let mut card = ContactCard {
            contact_id: contact,
            name,
            ..ContactCard::default()
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT cv.id, a.kind, a.name, cv.external_id,
                    (SELECT t.id FROM tickets t WHERE t.conversation_id = cv.id AND t.status = 'open')
             FROM conversations cv JOIN channel_accounts a ON a.id = cv.account_id
             WHERE cv.contact_id = ?1 ORDER BY cv.id LIMIT 50",
        )?;
        let mut rows = stmt.query([contact])?;
        while let Some(r) = rows.next()? {
            let conversation: ConversationId = r.get(0)?;
            let kind: ChannelKind = parse_enum(1, r.get(1)?)?;
            card.identities.push((kind, r.get(2)?, r.get(3)?));
            let open: Option<TicketNumber> = r.get(4)?;
            if let Some(n) = open
                && conversation != except
            {
                card.other_open.push((n, kind));
            }
        }
        Ok(Some(card))
    }

    /// Labels and fields of one ticket.
    pub fn ticket_facts(&self, ticket: TicketNumber) -> Result<TicketFacts> {
        Ok(TicketFacts {
            labels: self.labels(ticket)?,
            fields: self.fields(ticket)?,
        })
    }

    /// Messages matching every term, newest first.
    ///
    /// Terms of three characters or more go to the trigram index (any language, any position in
    /// a word, Thai included); shorter ones can only be matched by scanning, so when there is no
    /// longer term to narrow by, only the newest [`SHORT_TERM_SCAN`] messages are searched.
    pub fn search(&self, query: &str, limit: usize) -> Result<SearchResult> {
        let terms = search_terms(query);
        if terms.is_empty() {
            return Ok(SearchResult::default());
        }
        let (long, short): (Vec<&String>, Vec<&String>) =
            terms.iter().partition(|t| t.chars().count() >= TRIGRAM);
        let mut args: Vec<Value> = Vec::new();
        let mut clauses: Vec<String> = Vec::new();
        let mut scanned_recent = None;
        let from = if long.is_empty() {
            let newest: i64 =
                self.conn
                    .query_row("SELECT coalesce(max(id), 0) FROM messages", [], |r| {
                        r.get(0)
                    })?;
            clauses.push("m.id > ?".into());
            args.push(Value::Integer(newest - SHORT_TERM_SCAN));
            scanned_recent = Some(SHORT_TERM_SCAN);
            "messages m"
        } else {
            let expr: Vec<String> = long.iter().map(|t| fts_literal(t)).collect();
            clauses.push("messages_fts MATCH ?".into());
            args.push(Value::Text(expr.join(" AND ")));
            "messages_fts f JOIN messages m ON m.id = f.rowid"
        };
        for t in &short {
            clauses.push("m.body LIKE ? ESCAPE '\\'".into());
            args.push(Value::Text(like_pattern(t)));
        }
        let order = if long.is_empty() { "m.id" } else { "f.rowid" };
        let sql = format!(
            "SELECT m.id, m.ticket_id, m.conversation_id, c.name, a.kind, m.body, m.sent_at
             FROM {from}
             JOIN conversations cv ON cv.id = m.conversation_id
             JOIN contacts c ON c.id = cv.contact_id
             JOIN channel_accounts a ON a.id = cv.account_id
             WHERE {} ORDER BY {order} DESC LIMIT {}",
            clauses.join(" AND "),
            limit.max(1)
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let hits = stmt
            .query_map(params_from_iter(args), |r| {
                Ok(SearchHit {
                    message_id: r.get(0)?,
                    ticket: r.get(1)?,
                    conversation_id: r.get(2)?,
                    contact_name: r.get(3)?,
                    channel: parse_enum(4, r.get(4)?)?,
                    body: r.get(5)?,
                    sent_at: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(SearchResult {
            hits,
            scanned_recent,
        })
    }

    /// The newest ticket of a conversation: the one its thread pane acts on.
    pub fn latest_ticket_of_conversation(
        &self,
        conversation: ConversationId,
    ) -> Result<Option<TicketNumber>> {
        Ok(self
            .conn
            .prepare_cached(LATEST_TICKET)?
            .query_row([conversation], |r| r.get(0))?)
    }

    /// When the customer last wrote in a conversation.
    pub fn last_inbound_at(&self, conversation: ConversationId) -> Result<Option<Millis>> {
        Ok(self
            .conn
            .prepare_cached(LAST_INBOUND)?
            .query_row([conversation], |r| r.get(0))
            .optional()?)
    }

    /// Marks a ticket's messages as read.
    pub fn mark_read(&self, ticket: TicketNumber) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE tickets SET unread = 0 WHERE id = ?1 AND unread > 0")?
            .execute([ticket])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desk::{Ctx, Desk, Settings};
    use crate::domain::{Direction, Inbound, MessageKind};
    use crate::store::{Store, TicketFilter};

    /// A desk with `n` open tickets: some waiting (at shuffled times), some answered, some
    /// assigned, a few closed and spam.
    fn desk_with(n: usize) -> Desk {
        let mut desk = Desk::new(Store::open_in_memory().unwrap(), Settings::default());
        let batch: Vec<Inbound> = (0..n)
            .map(|i| Inbound {
                channel: ChannelKind::Line,
                account: None,
                customer_id: format!("U{i}"),
                display_name: Some(format!("Customer {i}")),
                message_id: format!("m{i}"),
                kind: crate::domain::MessageKind::Text,
                text: format!("hello {i}"),
                // Arrival times out of ticket order, with ties.
                sent_at: 1_000_000 + ((i * 7919) % n) as i64 / 3 * 1000,
                direction: Direction::In,
                agent: None,
            })
            .collect();
        desk.ingest(&batch).unwrap();
        let ctx = Ctx {
            agent: "alice".into(),
            at: 9_000_000,
        };
        for t in (1..=n as i64).filter(|t| t % 3 == 0) {
            desk.reply(&ctx, t, "on it").unwrap();
        }
        let assigned: Vec<i64> = (1..=n as i64).filter(|t| t % 4 == 0).collect();
        desk.assign(&ctx, &assigned, Some("bob"), None).unwrap();
        let closed: Vec<i64> = (1..=n as i64).filter(|t| t % 10 == 1).collect();
        desk.close(&ctx, &closed).unwrap();
        desk.mark_spam(&ctx, &[2]).unwrap();
        let _ = MessageKind::Text;
        desk
    }

    fn numbers(rows: &[QueueRow]) -> Vec<i64> {
        rows.iter().map(|r| r.number).collect()
    }

    #[test]
    fn paging_either_way_visits_the_queue_in_order_exactly_once() {
        let desk = desk_with(230);
        let sql = desk.read();
        for (queue, status, assignee) in [
            (Queue::AllOpen, Status::Open, None),
            (
                Queue::Mine("bob".into()),
                Status::Open,
                Some("bob".to_string()),
            ),
            (Queue::Closed, Status::Closed, None),
        ] {
            let expected: Vec<i64> = sql
                .list_tickets(&TicketFilter {
                    status: Some(status),
                    assignee,
                    ..TicketFilter::default()
                })
                .unwrap()
                .iter()
                .map(|t| t.number)
                .collect();
            assert!(expected.len() > 10, "{queue:?}");
            for size in [1, 7, 50, 500] {
                let mut forward = sql.queue_page(&queue, Page::First, size).unwrap();
                loop {
                    let last = forward.last().unwrap().key();
                    let more = sql.queue_page(&queue, Page::After(last), size).unwrap();
                    if more.is_empty() {
                        break;
                    }
                    forward.extend(more);
                }
                assert_eq!(numbers(&forward), expected, "{queue:?} forward by {size}");
                let mut backward = sql.queue_page(&queue, Page::Last, size).unwrap();
                loop {
                    let first = backward[0].key();
                    let mut more = sql.queue_page(&queue, Page::Before(first), size).unwrap();
                    if more.is_empty() {
                        break;
                    }
                    more.extend(backward);
                    backward = more;
                }
                assert_eq!(numbers(&backward), expected, "{queue:?} backward by {size}");
                // Re-reading from a row includes it.
                let mid = forward[forward.len() / 2].key();
                let from = sql.queue_page(&queue, Page::From(mid), 3).unwrap();
                assert_eq!(from[0].number, mid.number);
            }
            assert_eq!(sql.queue_count(&queue).unwrap() as usize, expected.len());
        }
    }

    #[test]
    fn every_queue_reads_its_pages_off_an_index() {
        let desk = desk_with(50);
        let sql = desk.read();
        let queues = [
            Queue::Mine("bob".into()),
            Queue::Unassigned,
            Queue::Team("billing".into()),
            Queue::AllOpen,
            Queue::FollowUp,
            Queue::Closed,
            Queue::Spam,
        ];
        for q in &queues {
            for plan in sql.explain_queue_pages(q).unwrap() {
                assert!(!plan.contains("TEMP B-TREE"), "{q:?} sorts: {plan}");
                let first = plan.split("; ").next().unwrap();
                assert!(
                    first.contains("USING INDEX tickets_")
                        || first.contains("USING COVERING INDEX tickets_"),
                    "{q:?} does not walk a queue index: {plan}"
                );
            }
        }
    }

    #[test]
    fn the_thread_pane_and_search_read_through_indexes() {
        let desk = desk_with(20);
        let sql = desk.read();
        // The statements themselves, with their parameters bound.
        let plan = |q: &str| -> String {
            let mut stmt = sql
                .conn
                .prepare(&format!("EXPLAIN QUERY PLAN {q}"))
                .unwrap();
            let n = stmt.parameter_count();
            let args: Vec<i64> = vec![1; n];
            stmt.query_map(params_from_iter(args), |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<rusqlite::Result<Vec<_>>>()
                .unwrap()
                .join("; ")
        };
        for (what, q) in [
            ("thread messages", THREAD_MESSAGES),
            ("thread notes", THREAD_NOTES),
            ("thread journal", THREAD_EVENTS),
            ("last customer message", LAST_INBOUND),
            ("latest ticket", LATEST_TICKET),
        ] {
            let p = plan(q);
            // Every table is reached by a key, never scanned; the journal and notes of one
            // conversation may be sorted, the messages (the long part) never.
            assert!(!p.contains("SCAN "), "{what}: {p}");
            if q.contains("FROM messages") {
                assert!(!p.contains("TEMP B-TREE"), "{what}: {p}");
            }
        }
        // Full-text search walks the index newest first, without sorting the matches.
        let p = plan(
            "SELECT m.id FROM messages_fts f JOIN messages m ON m.id = f.rowid
             WHERE messages_fts MATCH '\"refund\"' ORDER BY f.rowid DESC LIMIT 50",
        );
        assert!(p.contains("VIRTUAL TABLE INDEX"), "{p}");
        assert!(!p.contains("TEMP B-TREE"), "{p}");
    }

    #[test]
    fn search_finds_thai_inside_a_sentence_and_survives_any_query() {
        let mut desk = desk_with(5);
        let m = |id: &str, text: &str| Inbound {
            channel: ChannelKind::Line,
            account: None,
            customer_id: "T1".into(),
            display_name: None,
            message_id: id.into(),
            kind: crate::domain::MessageKind::Text,
            text: text.into(),
            sent_at: 5_000_000,
            direction: Direction::In,
            agent: None,
        };
        desk.ingest(&[
            m("t1", "ได้รับของไม่ตรงปกค่ะ ขอคืนเงินได้ไหมคะ"),
            m("t2", "order SO-2405 is 50% off"),
        ])
        .unwrap();
        let sql = desk.read();
        let hits = |q: &str| sql.search(q, 10).unwrap();
        assert_eq!(hits("คืนเงิน").hits.len(), 1);
        assert_eq!(hits("so-2405").hits[0].body, "order SO-2405 is 50% off");
        assert_eq!(hits("50%").hits.len(), 1);
        let short = hits("ok");
        assert_eq!(short.scanned_recent, Some(SHORT_TERM_SCAN));
        assert_eq!(hits("\"order 50%\"").hits.len(), 0);
        assert_eq!(hits("50% order").hits.len(), 1);
        for nasty in ["\"", "'", "AND", "NEAR(", "*", "a\"b OR", "%_", "^"] {
            sql.search(nasty, 10).unwrap();
        }
    }

    #[test]
    fn terms_split_on_spaces_and_keep_quoted_phrases() {
        assert_eq!(
            search_terms("  refund  SO-2405 "),
            vec!["refund", "SO-2405"]
        );
        assert_eq!(
            search_terms("\"where is\" order"),
            vec!["where is", "order"]
        );
        assert_eq!(search_terms("50% \"\""), vec!["50%"]);
        assert_eq!(search_terms("a\"b"), vec!["a\"b"]);
    }

    #[test]
    fn literals_and_patterns_escape_what_they_must() {
        assert_eq!(fts_literal("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(like_pattern("5%_\\"), "%5\\%\\_\\\\%");
    }
}
