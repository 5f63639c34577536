//! Every query tix runs, as typed methods on [`Sql`].

use rusqlite::{Connection, OptionalExtension, Row, ToSql, params};
use serde::Serialize;

use super::Result;
use crate::domain::{
    AccountId, Actor, Assignment, ChannelKind, ContactId, ConversationId, Direction, Lifecycle,
    MessageKind, Millis, Status, TicketNumber,
};

/// Rows per statement of a bulk insert ([`Sql::insert_rows`]): well under SQLite's limit on
/// bound parameters for any of the tables.
const ROWS_PER_INSERT: usize = 32;

/// A typed view of a connection or of a write transaction on it.
pub struct Sql<'c> {
    pub(super) conn: &'c Connection,
}

/// A customer identity's conversation and the contact it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConversationRef {
    pub id: ConversationId,
    pub contact_id: ContactId,
}

/// The part of a ticket the arrival path reads and writes back once per batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrivalState {
    pub number: TicketNumber,
    pub lifecycle: Lifecycle,
    pub updated_at: Millis,
    pub first_response_at: Option<Millis>,
    pub message_count: i64,
    pub last_message_id: Option<i64>,
    pub last_message_at: Option<Millis>,
    pub waiting_since: Option<Millis>,
    pub unread: i64,
    /// Replies by people (not by rules).
    pub agent_replies: i64,
}

/// What the arrival path knows of a conversation when a batch first meets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownConversation {
    pub conversation: ConversationRef,
    /// The contact is still named by their channel id: a display name, when one comes, is better.
    pub unnamed: bool,
    /// The ticket an arrival would join: the Open one, else the latest.
    pub ticket: Option<ArrivalState>,
    /// That ticket's assignment and creation time, which rules read (free on the same row).
    pub ticket_routing: Option<(Assignment, Millis)>,
}

/// The arrival path's statements, taken from the statement cache once per batch instead of
/// looked up per message (cached, so a writer for a single reply costs no parsing either).
pub struct ArrivalWriter<'c> {
    conn: &'c Connection,
    conversation: rusqlite::CachedStatement<'c>,
    insert_message: rusqlite::CachedStatement<'c>,
    insert_ticket: rusqlite::CachedStatement<'c>,
    update_ticket: rusqlite::CachedStatement<'c>,
}

impl ArrivalWriter<'_> {
    pub fn conversation(
        &mut self,
        account: AccountId,
        external_id: &str,
    ) -> Result<Option<KnownConversation>> {
        self.conversation
            .query_row(params![account, external_id], |r| {
                let ticket = match r.get::<_, Option<i64>>(3)? {
                    None => None,
                    Some(number) => Some(ArrivalState {
                        number,
                        lifecycle: lifecycle_at(r, 4)?,
                        updated_at: r.get(8)?,
                        first_response_at: r.get(9)?,
                        message_count: r.get(10)?,
                        last_message_id: r.get(11)?,
                        last_message_at: r.get(12)?,
                        waiting_since: r.get(13)?,
                        unread: r.get(14)?,
                        agent_replies: r.get(18)?,
                    }),
                };
                let ticket_routing = match ticket {
                    Some(_) => Some((
                        Assignment {
                            agent: r.get(15)?,
                            team: r.get(16)?,
                        },
                        r.get(17)?,
                    )),
                    None => None,
                };
                Ok(KnownConversation {
                    conversation: ConversationRef {
                        id: r.get(0)?,
                        contact_id: r.get(1)?,
                    },
                    unnamed: r.get(2)?,
                    ticket,
                    ticket_routing,
                })
            })
            .optional()
            .map_err(Into::into)
    }

    pub fn message_exists(&mut self, account: AccountId, external_id: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM messages WHERE account_id = ?1 AND external_id = ?2")?
            .exists(params![account, external_id])?)
    }

    /// Appends a message; `None` if its (account, message id) is already stored.
    pub fn insert_message(&mut self, m: &NewMessage<'_>) -> Result<Option<i64>> {
        let inserted = self.insert_message.execute(params![
            m.account_id,
            m.external_id,
            m.conversation_id,
            m.ticket,
            m.direction.as_str(),
            m.author,
            m.kind.as_str(),
            m.body,
            m.sent_at,
        ])?;
        Ok((inserted == 1).then(|| self.conn.last_insert_rowid()))
    }

    /// Inserts a ticket the batch started, with the number it was given up front and the
    /// assignment and follow-up flag the batch's rules gave it.
    #[allow(clippy::too_many_arguments)]
    pub fn insert_ticket(
        &mut self,
        conversation: ConversationId,
        created_at: Millis,
        created_by: &str,
        s: &ArrivalState,
        assignment: &Assignment,
        follow_up: bool,
    ) -> Result<()> {
        self.insert_ticket.execute(params![
            s.number,
            conversation,
            s.lifecycle.status.as_str(),
            s.lifecycle.closed_at,
            s.lifecycle.closed_by,
            s.lifecycle.reopen_count,
            created_at,
            created_by,
            s.updated_at,
            s.first_response_at,
            s.message_count,
            s.last_message_id,
            s.last_message_at,
            s.waiting_since,
            s.unread,
            s.agent_replies,
            assignment.agent,
            assignment.team,
            follow_up,
        ])?;
        Ok(())
    }

    /// Writes back what a batch did to a ticket that existed before it.
    pub fn update_ticket(&mut self, s: &ArrivalState) -> Result<()> {
        self.update_ticket.execute(params![
            s.number,
            s.lifecycle.status.as_str(),
            s.lifecycle.closed_at,
            s.lifecycle.closed_by,
            s.lifecycle.reopen_count,
            s.updated_at,
            s.first_response_at,
            s.message_count,
            s.last_message_id,
            s.last_message_at,
            s.waiting_since,
            s.unread,
            s.agent_replies,
        ])?;
        Ok(())
    }
}

/// A ticket as agents' actions see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub number: TicketNumber,
    pub conversation_id: ConversationId,
    pub contact_id: ContactId,
    pub channel: ChannelKind,
    pub lifecycle: Lifecycle,
    pub assignment: Assignment,
    pub follow_up: bool,
}

/// One row of a ticket list, as `tix tickets list` and the inbox show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketSummary {
    pub number: TicketNumber,
    pub status: Status,
    pub channel: ChannelKind,
    pub account: String,
    pub customer_id: String,
    pub contact_id: ContactId,
    pub contact_name: String,
    pub assignee: Option<String>,
    pub team: Option<String>,
    pub labels: Vec<String>,
    pub follow_up: bool,
    pub messages: i64,
    pub unread: i64,
    #[serde(serialize_with = "ser_time")]
    pub created_at: Millis,
    #[serde(serialize_with = "ser_time")]
    pub updated_at: Millis,
    #[serde(serialize_with = "ser_opt_time")]
    pub first_response_at: Option<Millis>,
    #[serde(serialize_with = "ser_opt_time")]
    pub closed_at: Option<Millis>,
    #[serde(serialize_with = "ser_opt_time")]
    pub waiting_since: Option<Millis>,
    pub reopen_count: i64,
    pub preview: Option<String>,
}

fn ser_time<S: serde::Serializer>(ms: &Millis, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&crate::domain::time::rfc3339(*ms))
}

fn ser_opt_time<S: serde::Serializer>(
    ms: &Option<Millis>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => ser_time(ms, s),
        None => s.serialize_none(),
    }
}

/// Which tickets a list shows. `status: None` means every status.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub status: Option<Status>,
    pub assignee: Option<String>,
    pub team: Option<String>,
    pub channel: Option<ChannelKind>,
    pub limit: Option<i64>,
}

/// One line of a conversation's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ThreadItem {
    Message {
        id: i64,
        ticket: TicketNumber,
        direction: Direction,
        author: Option<String>,
        kind: MessageKind,
        body: String,
        #[serde(serialize_with = "ser_time")]
        at: Millis,
    },
    Note {
        id: i64,
        ticket: TicketNumber,
        author: String,
        body: String,
        #[serde(serialize_with = "ser_time")]
        at: Millis,
    },
    Event {
        ticket: TicketNumber,
        kind: String,
        actor: Actor,
        via: Option<String>,
        payload: serde_json::Value,
        #[serde(serialize_with = "ser_time")]
        at: Millis,
    },
}

impl ThreadItem {
    pub fn at(&self) -> Millis {
        match self {
            ThreadItem::Message { at, .. }
            | ThreadItem::Note { at, .. }
            | ThreadItem::Event { at, .. } => *at,
        }
    }
}

/// A contact with the conversations it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactSummary {
    pub id: ContactId,
    pub name: String,
    pub merged_into: Option<ContactId>,
    pub identities: Vec<IdentitySummary>,
    pub open_tickets: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentitySummary {
    pub conversation_id: ConversationId,
    pub channel: ChannelKind,
    pub account: String,
    pub customer_id: String,
}

/// A row of the `actions` table: one agent action, the unit of undo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRecord {
    pub id: i64,
    pub summary: String,
}

/// A journal line to append.
pub struct NewEvent<'a> {
    pub ticket: Option<TicketNumber>,
    pub kind: &'a str,
    pub actor: &'a Actor,
    pub at: Millis,
    pub payload: &'a str,
    pub action_id: Option<i64>,
    pub via: Option<&'a str>,
}

/// A message row to append.
pub struct NewMessage<'a> {
    pub account_id: AccountId,
    pub external_id: &'a str,
    pub conversation_id: ConversationId,
    pub ticket: TicketNumber,
    pub direction: Direction,
    pub author: Option<&'a str>,
    pub kind: MessageKind,
    pub body: &'a str,
    pub sent_at: Millis,
}

/// Whole-database figures, for the summary screen and the invariant checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub contacts: i64,
    pub conversations: i64,
    pub messages: i64,
    pub open: i64,
    pub closed: i64,
    pub spam: i64,
    pub unassigned_open: i64,
}

pub(super) fn parse_enum<T: std::str::FromStr>(idx: usize, text: String) -> rusqlite::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    text.parse::<T>().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
    })
}

const LIFECYCLE_COLUMNS: &str = "t.status, t.closed_at, t.closed_by, t.reopen_count";

fn lifecycle_at(row: &Row<'_>, first: usize) -> rusqlite::Result<Lifecycle> {
    Ok(Lifecycle {
        status: parse_enum(first, row.get(first)?)?,
        closed_at: row.get(first + 1)?,
        closed_by: row.get(first + 2)?,
        reopen_count: row.get(first + 3)?,
    })
}

const SUMMARY_SELECT: &str = "SELECT t.id, t.status, a.kind, a.name, cv.external_id, c.id, c.name,
        t.assignee, t.team,
        (SELECT group_concat(label, char(31)) FROM ticket_labels l WHERE l.ticket_id = t.id),
        t.follow_up, t.message_count, t.unread, t.created_at, t.updated_at, t.first_response_at,
        t.closed_at, t.waiting_since, t.reopen_count, m.body
    FROM tickets t
    JOIN conversations cv ON cv.id = t.conversation_id
    JOIN contacts c ON c.id = cv.contact_id
    JOIN channel_accounts a ON a.id = cv.account_id
    LEFT JOIN messages m ON m.id = t.last_message_id";

/// The queue order: longest-waiting first, then answered tickets. Matches the partial indexes.
const QUEUE_ORDER: &str = "ORDER BY (t.waiting_since IS NULL), t.waiting_since, t.id";

fn summary_from_row(row: &Row<'_>) -> rusqlite::Result<TicketSummary> {
    let labels: Option<String> = row.get(9)?;
    Ok(TicketSummary {
        number: row.get(0)?,
        status: parse_enum(1, row.get(1)?)?,
        channel: parse_enum(2, row.get(2)?)?,
        account: row.get(3)?,
        customer_id: row.get(4)?,
        contact_id: row.get(5)?,
        contact_name: row.get(6)?,
        assignee: row.get(7)?,
        team: row.get(8)?,
        labels: labels
            .map(|l| l.split('\u{1f}').map(str::to_string).collect())
            .unwrap_or_default(),
        follow_up: row.get(10)?,
        messages: row.get(11)?,
        unread: row.get(12)?,
        created_at: row.get(13)?,
        updated_at: row.get(14)?,
        first_response_at: row.get(15)?,
        closed_at: row.get(16)?,
        waiting_since: row.get(17)?,
        reopen_count: row.get(18)?,
        preview: row.get(19)?,
    })
}

impl Sql<'_> {
    // ----- channel accounts, contacts, conversations -------------------------------------------

    /// The id of a channel account, created on first use (each kind has a default account).
    pub fn account_id(&self, kind: ChannelKind, name: &str) -> Result<AccountId> {
        let found = self
            .conn
            .prepare_cached("SELECT id, kind FROM channel_accounts WHERE name = ?1")?
            .query_row([name], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .optional()?;
        if let Some((id, _)) = found {
            return Ok(id);
        }
        self.conn
            .prepare_cached("INSERT INTO channel_accounts (kind, name) VALUES (?1, ?2)")?
            .execute(params![kind.as_str(), name])?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The kind of a named channel account, if it exists.
    pub fn account_kind(&self, name: &str) -> Result<Option<ChannelKind>> {
        self.conn
            .prepare_cached("SELECT kind FROM channel_accounts WHERE name = ?1")?
            .query_row([name], |r| parse_enum(0, r.get(0)?))
            .optional()
            .map_err(Into::into)
    }

    pub fn create_contact(&self, name: &str, at: Millis) -> Result<ContactId> {
        self.conn
            .prepare_cached("INSERT INTO contacts (name, created_at) VALUES (?1, ?2)")?
            .execute(params![name, at])?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn create_conversation(
        &self,
        account: AccountId,
        external_id: &str,
        contact: ContactId,
        at: Millis,
    ) -> Result<ConversationId> {
        self.conn
            .prepare_cached(
                "INSERT INTO conversations (account_id, external_id, contact_id, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![account, external_id, contact, at])?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The conversation of a contact on a channel account, if the contact has one there.
    pub fn conversation_of_contact(
        &self,
        contact: ContactId,
        account: AccountId,
    ) -> Result<Option<ConversationId>> {
        self.conn
            .prepare_cached(
                "SELECT id FROM conversations WHERE contact_id = ?1 AND account_id = ?2
                 ORDER BY id LIMIT 1",
            )?
            .query_row(params![contact, account], |r| r.get(0))
            .optional()
            .map_err(Into::into)
    }

    /// A customer's current ticket on an account (the Open one, else the latest), its status
    /// and when its last message was sent.
    pub fn current_ticket_of_customer(
        &self,
        account: &str,
        external_id: &str,
    ) -> Result<Option<(TicketNumber, Status, Option<Millis>)>> {
        self.conn
            .prepare_cached(
                "SELECT t.id, t.status, t.last_message_at FROM tickets t
                 JOIN conversations cv ON cv.id = t.conversation_id
                 JOIN channel_accounts a ON a.id = cv.account_id
                 WHERE a.name = ?1 AND cv.external_id = ?2
                 ORDER BY t.status = 'open' DESC, t.id DESC LIMIT 1",
            )?
            .query_row(params![account, external_id], |r| {
                Ok((r.get(0)?, parse_enum(1, r.get(1)?)?, r.get(2)?))
            })
            .optional()
            .map_err(Into::into)
    }

    pub fn contact_exists(&self, contact: ContactId) -> Result<Option<Option<ContactId>>> {
        self.conn
            .prepare_cached("SELECT merged_into FROM contacts WHERE id = ?1")?
            .query_row([contact], |r| r.get(0))
            .optional()
            .map_err(Into::into)
    }

    pub fn conversations_of_contact(&self, contact: ContactId) -> Result<Vec<ConversationId>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id FROM conversations WHERE contact_id = ?1 ORDER BY id")?;
        let ids = stmt
            .query_map([contact], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(ids)
    }

    /// Moves conversations to another contact.
    pub fn move_conversations(
        &self,
        conversations: &[ConversationId],
        to: ContactId,
    ) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached("UPDATE conversations SET contact_id = ?1 WHERE id = ?2")?;
        for c in conversations {
            stmt.execute(params![to, c])?;
        }
        Ok(())
    }

    /// The contact a conversation belongs to.
    pub fn contact_of_conversation(
        &self,
        conversation: ConversationId,
    ) -> Result<Option<ContactId>> {
        self.conn
            .prepare_cached("SELECT contact_id FROM conversations WHERE id = ?1")?
            .query_row([conversation], |r| r.get(0))
            .optional()
            .map_err(Into::into)
    }

    /// Records that a contact was merged into another, or clears it.
    pub fn set_merged_into(&self, contact: ContactId, into: Option<ContactId>) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE contacts SET merged_into = ?1 WHERE id = ?2")?
            .execute(params![into, contact])?;
        Ok(())
    }

    pub fn rename_contact(&self, contact: ContactId, name: &str) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE contacts SET name = ?1 WHERE id = ?2")?
            .execute(params![name, contact])?;
        Ok(())
    }

    pub fn contacts(&self) -> Result<Vec<ContactSummary>> {
        let mut stmt = self.conn.prepare(
            "SELECT c.id, c.name, c.merged_into,
                    (SELECT count(*) FROM tickets t JOIN conversations v ON v.id = t.conversation_id
                      WHERE v.contact_id = c.id AND t.status = 'open')
             FROM contacts c ORDER BY c.id",
        )?;
        let mut contacts = stmt
            .query_map([], |r| {
                Ok(ContactSummary {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    merged_into: r.get(2)?,
                    identities: Vec::new(),
                    open_tickets: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut ids = self.conn.prepare(
            "SELECT cv.contact_id, cv.id, a.kind, a.name, cv.external_id
             FROM conversations cv JOIN channel_accounts a ON a.id = cv.account_id
             ORDER BY cv.contact_id, cv.id",
        )?;
        let mut rows = ids.query([])?;
        let index: std::collections::HashMap<ContactId, usize> = contacts
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id, i))
            .collect();
        while let Some(r) = rows.next()? {
            let contact: ContactId = r.get(0)?;
            if let Some(&i) = index.get(&contact) {
                contacts[i].identities.push(IdentitySummary {
                    conversation_id: r.get(1)?,
                    channel: parse_enum(2, r.get(2)?)?,
                    account: r.get(3)?,
                    customer_id: r.get(4)?,
                });
            }
        }
        Ok(contacts)
    }

    // ----- the arrival path --------------------------------------------------------------------

    /// Statements the arrival path runs for every message or conversation, prepared once per batch.
    pub fn arrival_writer(&self) -> Result<ArrivalWriter<'_>> {
        Ok(ArrivalWriter {
            conn: self.conn,
            conversation: self.conn.prepare_cached(&format!(
                "SELECT cv.id, cv.contact_id, c.name = cv.external_id,
                        t.id, {LIFECYCLE_COLUMNS}, t.updated_at, t.first_response_at,
                        t.message_count, t.last_message_id, t.last_message_at, t.waiting_since,
                        t.unread, t.assignee, t.team, t.created_at, t.agent_replies
                 FROM conversations cv JOIN contacts c ON c.id = cv.contact_id
                 LEFT JOIN tickets t ON t.id = (
                    SELECT id FROM tickets WHERE conversation_id = cv.id
                    ORDER BY status = 'open' DESC, id DESC LIMIT 1)
                 WHERE cv.account_id = ?1 AND cv.external_id = ?2"
            ))?,
            insert_message: self.conn.prepare_cached(
                "INSERT INTO messages (account_id, external_id, conversation_id, ticket_id,
                    direction, author, kind, body, sent_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (account_id, external_id) DO NOTHING",
            )?,
            insert_ticket: self.conn.prepare_cached(
                "INSERT INTO tickets (id, conversation_id, status, closed_at, closed_by,
                    reopen_count, created_at, created_by, updated_at, first_response_at,
                    message_count, last_message_id, last_message_at, waiting_since, unread,
                    agent_replies, assignee, team, follow_up)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                    ?17, ?18, ?19)",
            )?,
            update_ticket: self.conn.prepare_cached(
                "UPDATE tickets SET status = ?2, closed_at = ?3, closed_by = ?4, reopen_count = ?5,
                    updated_at = ?6, first_response_at = ?7, message_count = ?8,
                    last_message_id = ?9, last_message_at = ?10, waiting_since = ?11, unread = ?12,
                    agent_replies = ?13
                 WHERE id = ?1",
            )?,
        })
    }

    /// Changes when anyone, this connection included, has written since it was last taken: the
    /// other connections' commits (`data_version`) and this connection's changed rows.
    pub fn write_mark(&self) -> Result<(i64, u64)> {
        let others = self
            .conn
            .pragma_query_value(None, "data_version", |r| r.get(0))?;
        Ok((others, self.conn.total_changes()))
    }

    /// The highest message id so far; the search index is filled from here after a batch.
    pub fn last_message_id(&self) -> Result<i64> {
        Ok(self
            .conn
            .prepare_cached("SELECT coalesce(max(id), 0) FROM messages")?
            .query_row([], |r| r.get(0))?)
    }

    /// Adds every message after `after_id` to the search index in one statement.
    pub fn index_messages_after(&self, after_id: i64) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO messages_fts (rowid, body)
                 SELECT id, body FROM messages WHERE id > ?1 AND body <> ''",
            )?
            .execute([after_id])?;
        Ok(())
    }

    /// The number the next new ticket will get. Only meaningful inside a write transaction.
    pub fn next_ticket_number(&self) -> Result<TicketNumber> {
        Ok(self.conn.query_row(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'tickets'), 0),
                        coalesce((SELECT max(id) FROM tickets), 0)) + 1",
            [],
            |r| r.get(0),
        )?)
    }

    // ----- tickets -----------------------------------------------------------------------------

    /// Starts a new, empty Open ticket (an agent opening one) and returns its number.
    pub fn insert_ticket(
        &self,
        conversation: ConversationId,
        at: Millis,
        created_by: &str,
    ) -> Result<TicketNumber> {
        self.conn
            .prepare_cached(
                "INSERT INTO tickets (conversation_id, status, created_at, created_by, updated_at)
                 VALUES (?1, 'open', ?2, ?3, ?2)",
            )?
            .execute(params![conversation, at, created_by])?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn ticket(&self, number: TicketNumber) -> Result<Option<Ticket>> {
        self.conn
            .prepare_cached(&format!(
                "SELECT t.id, t.conversation_id, cv.contact_id, a.kind, {LIFECYCLE_COLUMNS},
                        t.assignee, t.team, t.follow_up
                 FROM tickets t JOIN conversations cv ON cv.id = t.conversation_id
                 JOIN channel_accounts a ON a.id = cv.account_id
                 WHERE t.id = ?1"
            ))?
            .query_row([number], |r| {
                Ok(Ticket {
                    number: r.get(0)?,
                    conversation_id: r.get(1)?,
                    contact_id: r.get(2)?,
                    channel: parse_enum(3, r.get(3)?)?,
                    lifecycle: lifecycle_at(r, 4)?,
                    assignment: Assignment {
                        agent: r.get(8)?,
                        team: r.get(9)?,
                    },
                    follow_up: r.get(10)?,
                })
            })
            .optional()
            .map_err(Into::into)
    }

    /// The Open ticket of a conversation, other than `except`.
    pub fn other_open_ticket(
        &self,
        conversation: ConversationId,
        except: TicketNumber,
    ) -> Result<Option<TicketNumber>> {
        self.conn
            .prepare_cached(
                "SELECT id FROM tickets WHERE conversation_id = ?1 AND status = 'open' AND id <> ?2",
            )?
            .query_row(params![conversation, except], |r| r.get(0))
            .optional()
            .map_err(Into::into)
    }

    pub fn set_lifecycle(&self, ticket: TicketNumber, l: &Lifecycle, at: Millis) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE tickets SET status = ?2, closed_at = ?3, closed_by = ?4, reopen_count = ?5,
                    updated_at = max(updated_at, ?6)
                 WHERE id = ?1",
            )?
            .execute(params![
                ticket,
                l.status.as_str(),
                l.closed_at,
                l.closed_by,
                l.reopen_count,
                at
            ])?;
        Ok(())
    }

    pub fn set_assignment(&self, ticket: TicketNumber, a: &Assignment, at: Millis) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE tickets SET assignee = ?2, team = ?3, updated_at = max(updated_at, ?4)
                 WHERE id = ?1",
            )?
            .execute(params![ticket, a.agent, a.team, at])?;
        Ok(())
    }

    pub fn set_follow_up(&self, ticket: TicketNumber, on: bool, at: Millis) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE tickets SET follow_up = ?2, updated_at = max(updated_at, ?3) WHERE id = ?1",
            )?
            .execute(params![ticket, on, at])?;
        Ok(())
    }

    pub fn labels(&self, ticket: TicketNumber) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT label FROM ticket_labels WHERE ticket_id = ?1 ORDER BY label",
        )?;
        let labels = stmt
            .query_map([ticket], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(labels)
    }

    pub fn has_label(&self, ticket: TicketNumber, label: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM ticket_labels WHERE ticket_id = ?1 AND label = ?2")?
            .exists(params![ticket, label])?)
    }

    pub fn set_label(&self, ticket: TicketNumber, label: &str, on: bool) -> Result<()> {
        let sql = if on {
            "INSERT OR IGNORE INTO ticket_labels (ticket_id, label) VALUES (?1, ?2)"
        } else {
            "DELETE FROM ticket_labels WHERE ticket_id = ?1 AND label = ?2"
        };
        self.conn
            .prepare_cached(sql)?
            .execute(params![ticket, label])?;
        Ok(())
    }

    pub fn field(&self, ticket: TicketNumber, name: &str) -> Result<Option<String>> {
        self.conn
            .prepare_cached("SELECT value FROM ticket_fields WHERE ticket_id = ?1 AND name = ?2")?
            .query_row(params![ticket, name], |r| r.get(0))
            .optional()
            .map_err(Into::into)
    }

    pub fn fields(&self, ticket: TicketNumber) -> Result<Vec<(String, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT name, value FROM ticket_fields WHERE ticket_id = ?1 ORDER BY name",
        )?;
        let fields = stmt
            .query_map([ticket], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(fields)
    }

    pub fn set_field(&self, ticket: TicketNumber, name: &str, value: Option<&str>) -> Result<()> {
        match value {
            Some(v) => self
                .conn
                .prepare_cached(
                    "INSERT INTO ticket_fields (ticket_id, name, value) VALUES (?1, ?2, ?3)
                     ON CONFLICT (ticket_id, name) DO UPDATE SET value = excluded.value",
                )?
                .execute(params![ticket, name, v])?,
            None => self
                .conn
                .prepare_cached("DELETE FROM ticket_fields WHERE ticket_id = ?1 AND name = ?2")?
                .execute(params![ticket, name])?,
        };
        Ok(())
    }

    pub fn insert_note(
        &self,
        ticket: TicketNumber,
        author: &str,
        body: &str,
        at: Millis,
    ) -> Result<i64> {
        self.conn
            .prepare_cached(
                "INSERT INTO notes (ticket_id, author, body, created_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![ticket, author, body, at])?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Whether a note is shown: `None` if there is no such note on that ticket.
    pub fn note_shown(&self, ticket: TicketNumber, note: i64) -> Result<Option<bool>> {
        self.conn
            .prepare_cached("SELECT NOT removed FROM notes WHERE id = ?1 AND ticket_id = ?2")?
            .query_row(params![note, ticket], |r| r.get(0))
            .optional()
            .map_err(Into::into)
    }

    pub fn set_note_shown(&self, note: i64, shown: bool) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE notes SET removed = ?2 WHERE id = ?1")?
            .execute(params![note, !shown])?;
        Ok(())
    }

    /// Records an agent's reply on its ticket: the customer is no longer waiting.
    pub fn record_reply(&self, ticket: TicketNumber, message: i64, at: Millis) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE tickets SET message_count = message_count + 1,
                    agent_replies = agent_replies + 1,
                    last_message_id = ?2, last_message_at = max(coalesce(last_message_at, 0), ?3),
                    first_response_at = coalesce(first_response_at, ?3),
                    waiting_since = NULL, unread = 0, updated_at = max(updated_at, ?3)
                 WHERE id = ?1",
            )?
            .execute(params![ticket, message, at])?;
        Ok(())
    }

    pub fn account_of_conversation(&self, conversation: ConversationId) -> Result<AccountId> {
        Ok(self
            .conn
            .prepare_cached("SELECT account_id FROM conversations WHERE id = ?1")?
            .query_row([conversation], |r| r.get(0))?)
    }

    pub fn list_tickets(&self, f: &TicketFilter) -> Result<Vec<TicketSummary>> {
        let mut clauses: Vec<&str> = Vec::new();
        let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
        if let Some(s) = f.status {
            clauses.push("t.status = ?");
            args.push(Box::new(s.as_str()));
        }
        if let Some(a) = &f.assignee {
            clauses.push("t.assignee = ?");
            args.push(Box::new(a.clone()));
        }
        if let Some(t) = &f.team {
            clauses.push("t.team = ?");
            args.push(Box::new(t.clone()));
        }
        if let Some(c) = f.channel {
            clauses.push("a.kind = ?");
            args.push(Box::new(c.as_str()));
        }
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let order = if f.status == Some(Status::Open) {
            QUEUE_ORDER
        } else {
            "ORDER BY t.id DESC"
        };
        let limit = f.limit.map(|n| format!("LIMIT {n}")).unwrap_or_default();
        let sql = format!("{SUMMARY_SELECT} {filter} {order} {limit}");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), summary_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The first page of the open queue: the inbox's hot query.
    pub fn open_queue_page(&self, limit: i64) -> Result<Vec<TicketSummary>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{SUMMARY_SELECT} WHERE t.status = 'open' {QUEUE_ORDER} LIMIT ?1"
        ))?;
        let rows = stmt
            .query_map([limit], summary_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// How SQLite plans the open-queue page, for tests that guard it.
    pub fn explain_open_queue_page(&self) -> Result<Vec<String>> {
        self.explain(&format!(
            "{SUMMARY_SELECT} WHERE t.status = 'open' {QUEUE_ORDER} LIMIT 100"
        ))
    }

    pub(super) fn explain(&self, sql: &str) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(3))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub fn ticket_summary(&self, number: TicketNumber) -> Result<Option<TicketSummary>> {
        self.conn
            .prepare_cached(&format!("{SUMMARY_SELECT} WHERE t.id = ?1"))?
            .query_row([number], summary_from_row)
            .optional()
            .map_err(Into::into)
    }

    /// A conversation's whole history across its tickets, oldest first: the thread pane's read
    /// with no limit.
    pub fn thread(&self, conversation: ConversationId) -> Result<Vec<ThreadItem>> {
        Ok(self.thread_tail(conversation, usize::MAX)?.0)
    }

    pub fn totals(&self) -> Result<Totals> {
        Ok(self.conn.query_row(
            "SELECT (SELECT count(*) FROM contacts WHERE merged_into IS NULL),
                    (SELECT count(*) FROM conversations),
                    (SELECT count(*) FROM messages),
                    (SELECT count(*) FROM tickets WHERE status = 'open'),
                    (SELECT count(*) FROM tickets WHERE status = 'closed'),
                    (SELECT count(*) FROM tickets WHERE status = 'spam'),
                    (SELECT count(*) FROM tickets WHERE status = 'open' AND assignee IS NULL
                        AND team IS NULL)",
            [],
            |r| {
                Ok(Totals {
                    contacts: r.get(0)?,
                    conversations: r.get(1)?,
                    messages: r.get(2)?,
                    open: r.get(3)?,
                    closed: r.get(4)?,
                    spam: r.get(5)?,
                    unassigned_open: r.get(6)?,
                })
            },
        )?)
    }

    // ----- the journal and undo ----------------------------------------------------------------

    pub fn append_event(&self, e: &NewEvent<'_>) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO events (ticket_id, kind, actor_kind, actor, at, payload, action_id, via)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                e.ticket,
                e.kind,
                e.actor.kind_str(),
                e.actor.name(),
                e.at,
                e.payload,
                e.action_id,
                e.via,
            ])?;
        Ok(())
    }

    /// Appends many journal lines in order, several rows per statement.
    pub fn append_events(&self, events: &[NewEvent<'_>]) -> Result<()> {
        let actors: Vec<(&str, Option<&str>)> = events
            .iter()
            .map(|e| (e.actor.kind_str(), e.actor.name()))
            .collect();
        let rows: Vec<[&dyn ToSql; 8]> = events
            .iter()
            .zip(&actors)
            .map(|(e, (kind, name))| -> [&dyn ToSql; 8] {
                [
                    &e.ticket,
                    &e.kind,
                    kind,
                    name,
                    &e.at,
                    &e.payload,
                    &e.action_id,
                    &e.via,
                ]
            })
            .collect();
        self.insert_rows(
            "INSERT OR FAIL INTO events (ticket_id, kind, actor_kind, actor, at, payload, action_id, via)",
            "",
            &rows,
        )
    }

    /// Inserts `rows` with `head VALUES (..), (..) tail`: [`ROWS_PER_INSERT`] rows per statement
    /// while there are that many, the rest one by one; rows keep their order. Each row costs one
    /// statement step less than a single-row insert, which is what bulk writes pay for.
    ///
    /// `head` says `INSERT OR FAIL`, and the tables written this way keep no foreign keys
    /// (schema version 6): a statement that may stop half-way with its earlier rows to undo
    /// makes SQLite copy every page it changes into a statement journal first. A failed write
    /// is rolled back whole anyway.
    pub(super) fn insert_rows<const W: usize>(
        &self,
        head: &str,
        tail: &str,
        rows: &[[&dyn ToSql; W]],
    ) -> Result<()> {
        let one = format!("({})", vec!["?"; W].join(", "));
        let mut chunks = rows.chunks_exact(ROWS_PER_INSERT);
        if rows.len() >= ROWS_PER_INSERT {
            let values = vec![one.as_str(); ROWS_PER_INSERT].join(", ");
            let mut stmt = self
                .conn
                .prepare_cached(&format!("{head} VALUES {values} {tail}"))?;
            for chunk in &mut chunks {
                stmt.execute(rusqlite::params_from_iter(chunk.iter().flatten()))?;
            }
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut stmt = self
                .conn
                .prepare_cached(&format!("{head} VALUES {one} {tail}"))?;
            for row in rest {
                stmt.execute(rusqlite::params_from_iter(row.iter()))?;
            }
        }
        Ok(())
    }

    /// Starts a new agent action; the agent's undone actions can no longer be redone.
    pub fn begin_action(&self, agent: &str, at: Millis, summary: &str) -> Result<i64> {
        self.conn
            .prepare_cached(
                "UPDATE actions SET state = 'dropped' WHERE agent = ?1 AND state = 'undone'",
            )?
            .execute([agent])?;
        self.conn
            .prepare_cached(
                "INSERT INTO actions (agent, at, summary, state) VALUES (?1, ?2, ?3, 'done')",
            )?
            .execute(params![agent, at, summary])?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The agent's newest action that can be undone.
    pub fn last_done_action(&self, agent: &str) -> Result<Option<ActionRecord>> {
        self.action_where(
            agent,
            "SELECT id, summary FROM actions WHERE agent = ?1 AND state = 'done'
             ORDER BY id DESC LIMIT 1",
        )
    }

    /// The agent's most recently undone action (undone actions form the newest tail, so it is
    /// the oldest of them).
    pub fn next_redo_action(&self, agent: &str) -> Result<Option<ActionRecord>> {
        self.action_where(
            agent,
            "SELECT id, summary FROM actions WHERE agent = ?1 AND state = 'undone'
             ORDER BY id ASC LIMIT 1",
        )
    }

    fn action_where(&self, agent: &str, sql: &str) -> Result<Option<ActionRecord>> {
        self.conn
            .prepare_cached(sql)?
            .query_row([agent], |r| {
                Ok(ActionRecord {
                    id: r.get(0)?,
                    summary: r.get(1)?,
                })
            })
            .optional()
            .map_err(Into::into)
    }

    pub fn set_action_state(&self, action: i64, done: bool) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE actions SET state = ?2 WHERE id = ?1")?
            .execute(params![action, if done { "done" } else { "undone" }])?;
        Ok(())
    }

    /// The journal payloads an action wrote, in the order it wrote them.
    pub fn action_payloads(&self, action: i64) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT payload FROM events WHERE action_id = ?1 ORDER BY id")?;
        let rows = stmt
            .query_map([action], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The latest journal line on a ticket, to tell an agent what changed under them.
    pub fn last_event(&self, ticket: TicketNumber) -> Result<Option<(String, Actor, Millis)>> {
        self.conn
            .prepare_cached(
                "SELECT kind, actor_kind, actor, at FROM events WHERE ticket_id = ?1
                 ORDER BY id DESC LIMIT 1",
            )?
            .query_row([ticket], |r| {
                let kind: String = r.get(1)?;
                Ok((r.get(0)?, Actor::from_parts(&kind, r.get(2)?), r.get(3)?))
            })
            .optional()
            .map_err(Into::into)
    }

    // ----- invariant checks (used by tests and `tix doctor`-style checks) ----------------------

    /// Every broken invariant of the lifecycle, in words. Empty when the database is sound.
    pub fn invariant_violations(&self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        let checks: [(&str, &str); 8] = [
            (
                "conversations with more than one open ticket",
                "SELECT count(*) FROM (SELECT conversation_id FROM tickets WHERE status = 'open'
                  GROUP BY conversation_id HAVING count(*) > 1)",
            ),
            (
                "messages whose ticket is missing or of another conversation",
                "SELECT count(*) FROM messages m LEFT JOIN tickets t ON t.id = m.ticket_id
                  WHERE t.id IS NULL OR t.conversation_id <> m.conversation_id",
            ),
            (
                "message ids stored twice on one account",
                "SELECT count(*) FROM (SELECT 1 FROM messages GROUP BY account_id, external_id
                  HAVING count(*) > 1)",
            ),
            (
                "tickets whose message count differs from their messages",
                "SELECT count(*) FROM tickets t WHERE t.message_count <>
                  (SELECT count(*) FROM messages m WHERE m.ticket_id = t.id)",
            ),
            (
                "tickets whose reply count differs from their replies",
                "SELECT count(*) FROM tickets t WHERE t.agent_replies <>
                  (SELECT count(*) FROM messages m WHERE m.ticket_id = t.id AND m.direction = 'out'
                     AND (m.author IS NULL OR m.author NOT LIKE 'rule:%'))",
            ),
            (
                "journal lines, labels, fields or rule firings of a ticket that does not exist",
                "SELECT (SELECT count(*) FROM events e WHERE e.ticket_id IS NOT NULL
                           AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.id = e.ticket_id))
                      + (SELECT count(*) FROM ticket_labels l
                           WHERE NOT EXISTS (SELECT 1 FROM tickets t WHERE t.id = l.ticket_id))
                      + (SELECT count(*) FROM ticket_fields f
                           WHERE NOT EXISTS (SELECT 1 FROM tickets t WHERE t.id = f.ticket_id))
                      + (SELECT count(*) FROM rule_fired r
                           WHERE NOT EXISTS (SELECT 1 FROM tickets t WHERE t.id = r.ticket_id))",
            ),
            (
                "journal lines of an agent action that does not exist",
                "SELECT count(*) FROM events e WHERE e.action_id IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM actions a WHERE a.id = e.action_id)",
            ),
            (
                "messages missing from the search index",
                "SELECT (SELECT count(*) FROM messages WHERE body <> '')
                      - (SELECT count(*) FROM messages_fts_docsize)",
            ),
        ];
        for (what, sql) in checks {
            let n: i64 = self.conn.query_row(sql, [], |r| r.get(0))?;
            if n != 0 {
                problems.push(format!("{what}: {n}"));
            }
        }
        Ok(problems)
    }
}
