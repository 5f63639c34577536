//! What reports read: which tickets a period touches, and each such ticket's history.
//!
//! The figures themselves are computed in [`crate::report`], over these rows, so the arithmetic
//! can be tested without a database.

use std::collections::BTreeSet;

use rusqlite::{OptionalExtension, params};

use super::{Result, Sql};
use crate::domain::{ChannelKind, Millis, TicketNumber};

/// One line of a ticket's journal, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalRow {
    pub id: i64,
    pub kind: String,
    /// `agent`, `rule`, `system` or `customer`.
    pub actor_kind: String,
    pub actor: Option<String>,
    pub at: Millis,
    /// The `Change`, as JSON.
    pub payload: String,
    /// `undo` or `redo` when the line was written by one.
    pub via: Option<String>,
}

/// One outbound message of a ticket: who sent it and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRow {
    pub author: Option<String>,
    pub sent_at: Millis,
}

/// Everything a report needs to know about one ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketHistory {
    pub number: TicketNumber,
    pub channel: ChannelKind,
    pub created_at: Millis,
    /// The whole journal of the ticket, in the order it was written.
    pub journal: Vec<JournalRow>,
    /// Every outbound message of the ticket, oldest first.
    pub outbound: Vec<OutboundRow>,
}

/// Tickets that had a journal line in `[from, to)` (contact merges have no ticket: NULL). The
/// NULLs are dropped in Rust: `ticket_id IS NOT NULL` would tempt SQLite to walk the per-ticket
/// index over the whole journal instead of the time index over the period. No `DISTINCT` for the
/// same reason (the per-ticket index hands out ticket ids in order); the caller's set drops repeats.
const EVENTS_IN_PERIOD: &str = "SELECT ticket_id FROM events WHERE at >= ?1 AND at < ?2";
/// Tickets that had an outbound message in `[from, to)`.
const OUTBOUND_IN_PERIOD: &str =
    "SELECT ticket_id FROM messages WHERE direction = 'out' AND sent_at >= ?1 AND sent_at < ?2";
/// Tickets whose status changed after `at`: they may have been open then though they are not now.
const STATUS_CHANGED_AFTER: &str = "SELECT ticket_id FROM events
     WHERE at >= ?1 AND kind IN ('closed', 'reopened', 'marked_spam', 'not_spam', 'status_changed')";
/// Tickets open now.
const OPEN_NOW: &str = "SELECT id FROM tickets WHERE status = 'open'";

impl Sql<'_> {
    /// The tickets a report over `[from, to)` has to look at: every ticket with a journal line or
    /// an outbound message in the period, and every ticket that may have been open at its end
    /// (open now, or its status changed since). Each query walks an index by time; only a period
    /// far in the past reads much, the journal's status lines since its end.
    pub fn report_tickets(&self, from: Millis, to: Millis) -> Result<BTreeSet<TicketNumber>> {
        let mut out = BTreeSet::new();
        for sql in [EVENTS_IN_PERIOD, OUTBOUND_IN_PERIOD] {
            let mut stmt = self.conn.prepare_cached(sql)?;
            let rows =
                stmt.query_map(params![from, to], |r| r.get::<_, Option<TicketNumber>>(0))?;
            for n in rows {
                out.extend(n?);
            }
        }
        let mut stmt = self.conn.prepare_cached(STATUS_CHANGED_AFTER)?;
        for n in stmt.query_map([to], |r| r.get::<_, Option<TicketNumber>>(0))? {
            out.extend(n?);
        }
        let mut stmt = self.conn.prepare_cached(OPEN_NOW)?;
        for n in stmt.query_map([], |r| r.get::<_, TicketNumber>(0))? {
            out.insert(n?);
        }
        Ok(out)
    }

    /// One ticket's channel, creation time, journal and outbound messages; `None` if there is no
    /// such ticket. Reads the journal and messages through their per-ticket indexes.
    pub fn ticket_history(&self, number: TicketNumber) -> Result<Option<TicketHistory>> {
        let head = self
            .conn
            .prepare_cached(
                "SELECT a.kind, t.created_at FROM tickets t
                 JOIN conversations c ON c.id = t.conversation_id
                 JOIN channel_accounts a ON a.id = c.account_id
                 WHERE t.id = ?1",
            )?
            .query_row([number], |r| {
                Ok((
                    super::queries::parse_enum::<ChannelKind>(0, r.get(0)?)?,
                    r.get::<_, Millis>(1)?,
                ))
            })
            .optional()?;
        let Some((channel, created_at)) = head else {
            return Ok(None);
        };
        let journal = self
            .conn
            .prepare_cached(
                "SELECT id, kind, actor_kind, actor, at, payload, via FROM events
                 WHERE ticket_id = ?1 ORDER BY id",
            )?
            .query_map([number], |r| {
                Ok(JournalRow {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    actor_kind: r.get(2)?,
                    actor: r.get(3)?,
                    at: r.get(4)?,
                    payload: r.get(5)?,
                    via: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let outbound = self
            .conn
            .prepare_cached(
                "SELECT author, sent_at FROM messages
                 WHERE ticket_id = ?1 AND direction = 'out' ORDER BY sent_at, id",
            )?
            .query_map([number], |r| {
                Ok(OutboundRow {
                    author: r.get(0)?,
                    sent_at: r.get(1)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Some(TicketHistory {
            number,
            channel,
            created_at,
            journal,
            outbound,
        }))
    }

    /// How SQLite plans each query of [`Sql::report_tickets`] and [`Sql::ticket_history`], for
    /// the tests that guard them.
    pub fn explain_report_queries(&self) -> Result<Vec<(String, Vec<String>)>> {
        let queries = [
            EVENTS_IN_PERIOD,
            OUTBOUND_IN_PERIOD,
            STATUS_CHANGED_AFTER,
            OPEN_NOW,
            "SELECT id FROM events WHERE ticket_id = ?1 ORDER BY id",
            "SELECT author, sent_at FROM messages
             WHERE ticket_id = ?1 AND direction = 'out' ORDER BY sent_at, id",
        ];
        queries
            .iter()
            .map(|q| {
                let mut stmt = self.conn.prepare(&format!("EXPLAIN QUERY PLAN {q}"))?;
                // The plan does not depend on the values: bind NULL to every parameter.
                let nulls = vec![rusqlite::types::Null; stmt.parameter_count()];
                let plan = stmt
                    .query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok((q.to_string(), plan))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Store;

    #[test]
    fn report_queries_walk_indexes_instead_of_scanning_tables() {
        let store = Store::open_in_memory().unwrap();
        let plans = store.read().explain_report_queries().unwrap();
        // Each query's acceptable indexes: the open tickets may come from either partial index
        // of open tickets, both hold open tickets only.
        let expected: [&[&str]; 6] = [
            &["events_by_time"],
            &["messages_out_by_time"],
            &["events_by_time"],
            &["tickets_one_open_per_conversation", "tickets_open_queue"],
            &["events_by_ticket"],
            &["messages_by_ticket"],
        ];
        assert_eq!(plans.len(), expected.len());
        for ((query, plan), indexes) in plans.iter().zip(expected) {
            assert!(
                plan.iter()
                    .any(|l| indexes.iter().any(|index| l.contains(index))),
                "{query} should use one of {indexes:?}: {plan:#?}"
            );
            assert!(
                !plan
                    .iter()
                    .any(|l| l.starts_with("SCAN") && !l.contains("USING")),
                "{query} scans a table: {plan:#?}"
            );
        }
    }
}
