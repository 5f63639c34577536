//! The queries routing needs: what rules read about tickets and contacts, the rotation pointer,
//! rule firings for `once_per_ticket` and timers, timer candidates and the stored messages a
//! replay runs through the rules.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, ToSql, params};

use super::Result;
use super::queries::{Sql, parse_enum};
use crate::domain::{Assignment, ChannelKind, ContactId, Inbound, Millis, Status, TicketNumber};

/// What rules read about a ticket that did not just arrive in the batch at hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleTicket {
    pub number: TicketNumber,
    pub contact: ContactId,
    pub channel: ChannelKind,
    pub account: String,
    pub status: Status,
    pub assignment: Assignment,
    pub created_at: Millis,
}

/// What rules did, counted from the journal: tickets per rule, assignments per agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleActivity {
    pub rules: Vec<(String, i64)>,
    pub agents: Vec<(String, i64)>,
}

/// The open-ticket condition both timer queries share; matches the partial indexes' WHERE.
const IDLE_SQL: &str = "SELECT id FROM tickets INDEXED BY tickets_open_answered
     WHERE status = 'open' AND waiting_since IS NULL AND last_message_at <= ?1
       AND first_response_at IS NOT NULL
     ORDER BY last_message_at, id";

const UNASSIGNED_SQL: &str = "SELECT id FROM tickets INDEXED BY tickets_open_unassigned
     WHERE status = 'open' AND assignee IS NULL AND created_at <= ?1
     ORDER BY created_at, id";

// Oldest first over all waiting tickets: a team's queue is a large share of them, and the
// partial index keeps assigned and closed tickets out of the walk.
const BACKLOG_SQL: &str = "SELECT id FROM tickets INDEXED BY tickets_open_unassigned
     WHERE status = 'open' AND assignee IS NULL AND team = ?1
     ORDER BY created_at, id LIMIT ?2";

// A once-per-ticket rule's firing: a row of its own, or a journal line of the rule on the ticket
// (found through the ticket's lines, a few dozen at most).
const RULE_FIRED_OR_JOURNALLED_SQL: &str = "SELECT max(at) FROM (
         SELECT at FROM rule_fired WHERE ticket_id = ?1 AND rule = ?2
         UNION ALL
         SELECT at FROM events WHERE ticket_id = ?1 AND actor_kind = 'rule' AND actor = ?2)";

impl Sql<'_> {
    pub fn rule_ticket(&self, number: TicketNumber) -> Result<Option<RuleTicket>> {
        self.conn
            .prepare_cached(
                "SELECT t.id, cv.contact_id, a.kind, a.name, t.status, t.assignee, t.team,
                        t.created_at
                 FROM tickets t JOIN conversations cv ON cv.id = t.conversation_id
                 JOIN channel_accounts a ON a.id = cv.account_id
                 WHERE t.id = ?1",
            )?
            .query_row([number], |r| {
                Ok(RuleTicket {
                    number: r.get(0)?,
                    contact: r.get(1)?,
                    channel: parse_enum(2, r.get(2)?)?,
                    account: r.get(3)?,
                    status: parse_enum(4, r.get(4)?)?,
                    assignment: Assignment {
                        agent: r.get(5)?,
                        team: r.get(6)?,
                    },
                    created_at: r.get(7)?,
                })
            })
            .optional()
            .map_err(Into::into)
    }

    /// A ticket's assignment alone: the check before an assignment changes.
    pub fn assignment(&self, number: TicketNumber) -> Result<Option<Assignment>> {
        self.conn
            .prepare_cached("SELECT assignee, team FROM tickets WHERE id = ?1")?
            .query_row([number], |r| {
                Ok(Assignment {
                    agent: r.get(0)?,
                    team: r.get(1)?,
                })
            })
            .optional()
            .map_err(Into::into)
    }

    /// Check-and-set of an assignment in one statement: changes it only if it is still
    /// `before`; returns whether it did.
    pub fn swap_assignment(
        &self,
        ticket: TicketNumber,
        before: &Assignment,
        after: &Assignment,
        at: Millis,
    ) -> Result<bool> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE tickets SET assignee = ?2, team = ?3, updated_at = max(updated_at, ?4)
                 WHERE id = ?1 AND assignee IS ?5 AND team IS ?6",
            )?
            .execute(params![
                ticket,
                after.agent,
                after.team,
                at,
                before.agent,
                before.team
            ])?;
        Ok(changed == 1)
    }

    /// Check-and-set of a label in one statement: adds it only if absent, removes it only if
    /// present; returns whether it did.
    pub fn toggle_label(&self, ticket: TicketNumber, label: &str, on: bool) -> Result<bool> {
        let sql = if on {
            "INSERT OR IGNORE INTO ticket_labels (ticket_id, label) VALUES (?1, ?2)"
        } else {
            "DELETE FROM ticket_labels WHERE ticket_id = ?1 AND label = ?2"
        };
        Ok(self
            .conn
            .prepare_cached(sql)?
            .execute(params![ticket, label])?
            == 1)
    }

    pub fn contact_name(&self, contact: ContactId) -> Result<String> {
        Ok(self
            .conn
            .prepare_cached("SELECT name FROM contacts WHERE id = ?1")?
            .query_row([contact], |r| r.get(0))
            .optional()?
            .unwrap_or_default())
    }

    /// Every label on any ticket of the contact: what the desk knows about this customer.
    pub fn contact_labels(&self, contact: ContactId) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT l.label FROM conversations cv
             JOIN tickets t ON t.conversation_id = cv.id
             JOIN ticket_labels l ON l.ticket_id = t.id
             WHERE cv.contact_id = ?1 ORDER BY l.label",
        )?;
        let rows = stmt
            .query_map([contact], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Whether the contact had a ticket before this one, on any of their conversations.
    pub fn has_earlier_ticket(&self, contact: ContactId, ticket: TicketNumber) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT 1 FROM conversations cv JOIN tickets t ON t.conversation_id = cv.id
                 WHERE cv.contact_id = ?1 AND t.id < ?2 LIMIT 1",
            )?
            .exists(params![contact, ticket])?)
    }

    /// How many replies people (not rules) sent on a ticket.
    pub fn agent_replies(&self, ticket: TicketNumber) -> Result<i64> {
        Ok(self
            .conn
            .prepare_cached("SELECT agent_replies FROM tickets WHERE id = ?1")?
            .query_row([ticket], |r| r.get(0))
            .optional()?
            .unwrap_or(0))
    }

    /// The agent of this contact's latest earlier ticket that had one.
    pub fn previous_handler(
        &self,
        contact: ContactId,
        before: TicketNumber,
    ) -> Result<Option<String>> {
        self.conn
            .prepare_cached(
                "SELECT t.assignee FROM conversations cv JOIN tickets t ON t.conversation_id = cv.id
                 WHERE cv.contact_id = ?1 AND t.id < ?2 AND t.assignee IS NOT NULL
                 ORDER BY t.id DESC LIMIT 1",
            )?
            .query_row(params![contact, before], |r| r.get(0))
            .optional()
            .map_err(Into::into)
    }

    /// Open tickets per agent, for capacity and `least_open`.
    pub fn open_counts(&self) -> Result<HashMap<String, i64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT assignee, count(*) FROM tickets
             WHERE status = 'open' AND assignee IS NOT NULL GROUP BY assignee",
        )?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<HashMap<_, _>>>()?;
        Ok(rows)
    }

    pub fn rotation_pointers(&self) -> Result<HashMap<String, String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT team, last_agent FROM rotation")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<HashMap<_, _>>>()?;
        Ok(rows)
    }

    pub fn set_rotation_pointer(&self, team: &str, agent: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO rotation (team, last_agent) VALUES (?1, ?2)
                 ON CONFLICT (team) DO UPDATE SET last_agent = excluded.last_agent",
            )?
            .execute(params![team, agent])?;
        Ok(())
    }

    /// When a rule last fired on a ticket, as far as `once_per_ticket` and the timers need to
    /// know: `rule_fired` holds the firings of a once-per-ticket rule that changed nothing and
    /// every timer firing; a once-per-ticket rule's other firings are on record as its own
    /// journal lines on the ticket, which the arrival path writes anyway.
    pub fn rule_fired_at(
        &self,
        ticket: TicketNumber,
        rule: &str,
        once_per_ticket: bool,
    ) -> Result<Option<Millis>> {
        let sql = if once_per_ticket {
            RULE_FIRED_OR_JOURNALLED_SQL
        } else {
            "SELECT at FROM rule_fired WHERE ticket_id = ?1 AND rule = ?2"
        };
        self.conn
            .prepare_cached(sql)?
            .query_row(params![ticket, rule], |r| r.get(0))
            .optional()
            .map(Option::flatten)
            .map_err(Into::into)
    }

    pub fn record_rule_fired(&self, ticket: TicketNumber, rule: &str, at: Millis) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO rule_fired (ticket_id, rule, at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (ticket_id, rule) DO UPDATE SET at = excluded.at",
            )?
            .execute(params![ticket, rule, at])?;
        Ok(())
    }

    /// Records many rule firings at once (see [`Sql::record_rule_fired`]).
    pub fn record_rules_fired(&self, fired: &[(TicketNumber, &str, Millis)]) -> Result<()> {
        let rows: Vec<[&dyn ToSql; 3]> = fired
            .iter()
            .map(|(ticket, rule, at)| -> [&dyn ToSql; 3] { [ticket, rule, at] })
            .collect();
        self.insert_rows(
            "INSERT OR FAIL INTO rule_fired (ticket_id, rule, at)",
            "ON CONFLICT (ticket_id, rule) DO UPDATE SET at = excluded.at",
            &rows,
        )
    }

    /// Puts labels on tickets that do not have them yet (tickets the batch is starting).
    pub fn insert_labels(&self, labels: &[(TicketNumber, &str)]) -> Result<()> {
        let rows: Vec<[&dyn ToSql; 2]> = labels
            .iter()
            .map(|(ticket, label)| -> [&dyn ToSql; 2] { [ticket, label] })
            .collect();
        self.insert_rows(
            "INSERT OR FAIL INTO ticket_labels (ticket_id, label)",
            "",
            &rows,
        )
    }

    /// Sets fields on tickets that have none yet (tickets the batch is starting).
    pub fn insert_fields(&self, fields: &[(TicketNumber, &str, &str)]) -> Result<()> {
        let rows: Vec<[&dyn ToSql; 3]> = fields
            .iter()
            .map(|(ticket, name, value)| -> [&dyn ToSql; 3] { [ticket, name, value] })
            .collect();
        self.insert_rows(
            "INSERT OR FAIL INTO ticket_fields (ticket_id, name, value)",
            "",
            &rows,
        )
    }

    /// Open tickets answered by an agent whose last message is at or before `before`, with
    /// that time: candidates for an idle timer.
    pub fn idle_tickets(&self, before: Millis) -> Result<Vec<TicketNumber>> {
        let mut stmt = self.conn.prepare_cached(IDLE_SQL)?;
        let rows = stmt
            .query_map([before], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Open tickets without an agent created at or before `before`, oldest first.
    pub fn unassigned_tickets(&self, before: Millis) -> Result<Vec<TicketNumber>> {
        let mut stmt = self.conn.prepare_cached(UNASSIGNED_SQL)?;
        let rows = stmt
            .query_map([before], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// A team's queue: its open tickets without an agent, oldest first.
    pub fn team_backlog(&self, team: &str, limit: i64) -> Result<Vec<TicketNumber>> {
        let mut stmt = self.conn.prepare_cached(BACKLOG_SQL)?;
        let rows = stmt
            .query_map(params![team, limit], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// When the ticket's current idle stretch began: its last message.
    pub fn last_message_at(&self, ticket: TicketNumber) -> Result<Option<Millis>> {
        Ok(self
            .conn
            .prepare_cached("SELECT last_message_at FROM tickets WHERE id = ?1")?
            .query_row([ticket], |r| r.get::<_, Option<Millis>>(0))
            .optional()?
            .flatten())
    }

    /// Counts a message a rule sent on its ticket. Unlike an agent's reply it does not answer
    /// the customer: the ticket keeps waiting and has no first response yet. A rule runs after
    /// its batch is stored, so a later message of the batch stays the last one.
    pub fn record_rule_message(
        &self,
        ticket: TicketNumber,
        message: i64,
        at: Millis,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE tickets SET message_count = message_count + 1,
                    last_message_id = CASE WHEN ?3 >= coalesce(last_message_at, 0) THEN ?2
                                           ELSE last_message_id END,
                    last_message_at = max(coalesce(last_message_at, 0), ?3),
                    updated_at = max(updated_at, ?3)
                 WHERE id = ?1",
            )?
            .execute(params![ticket, message, at])?;
        Ok(())
    }

    /// Stored messages after id `after` sent at or after `since`, as arrivals, oldest first:
    /// what a replay runs through the rules.
    pub fn stored_arrivals(
        &self,
        after: i64,
        since: Millis,
        limit: i64,
    ) -> Result<Vec<(i64, Inbound)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT m.id, a.kind, a.name, cv.external_id, c.name, m.external_id, m.kind, m.body,
                    m.sent_at, m.direction, m.author
             FROM messages m JOIN conversations cv ON cv.id = m.conversation_id
             JOIN contacts c ON c.id = cv.contact_id
             JOIN channel_accounts a ON a.id = m.account_id
             WHERE m.id > ?1 AND m.sent_at >= ?2 ORDER BY m.id LIMIT ?3",
        )?;
        let rows = stmt
            .query_map(params![after, since, limit], |r| {
                let channel: ChannelKind = parse_enum(1, r.get(1)?)?;
                let account: String = r.get(2)?;
                let customer_id: String = r.get(3)?;
                let name: String = r.get(4)?;
                Ok((
                    r.get(0)?,
                    Inbound {
                        channel,
                        account: (account != channel.as_str()).then_some(account),
                        display_name: (name != customer_id).then_some(name),
                        customer_id,
                        message_id: r.get(5)?,
                        kind: parse_enum(6, r.get(6)?)?,
                        text: r.get(7)?,
                        sent_at: r.get(8)?,
                        direction: parse_enum(9, r.get(9)?)?,
                        agent: r.get(10)?,
                    },
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Per rule, how many tickets it acted on, and per agent, how many tickets rules assigned.
    pub fn rule_activity(&self) -> Result<RuleActivity> {
        let mut stmt = self.conn.prepare(
            "SELECT actor, count(DISTINCT ticket_id) FROM events WHERE actor_kind = 'rule'
             GROUP BY actor ORDER BY actor",
        )?;
        let rules = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut stmt = self.conn.prepare(
            "SELECT json_extract(payload, '$.after.agent') AS agent, count(*) FROM events
             WHERE actor_kind = 'rule' AND kind = 'assigned' AND agent IS NOT NULL
             GROUP BY agent ORDER BY agent",
        )?;
        let agents = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(RuleActivity { rules, agents })
    }

    /// How SQLite plans undo's lookup of an action's journal lines.
    pub fn explain_action_payloads(&self) -> Result<Vec<String>> {
        self.explain("SELECT payload FROM events WHERE action_id = 1 ORDER BY id")
    }

    /// How SQLite plans the look-up of a once-per-ticket rule's firing on a ticket.
    pub fn explain_rule_fired(&self) -> Result<Vec<String>> {
        self.explain(
            &RULE_FIRED_OR_JOURNALLED_SQL
                .replace("?1", "1")
                .replace("?2", "'rule'"),
        )
    }

    /// How SQLite plans the timer and backlog queries, for tests that guard them.
    pub fn explain_routing_queries(&self) -> Result<Vec<(&'static str, Vec<String>)>> {
        Ok(vec![
            ("idle", self.explain(&IDLE_SQL.replace("?1", "0"))?),
            (
                "unassigned",
                self.explain(&UNASSIGNED_SQL.replace("?1", "0"))?,
            ),
            (
                "backlog",
                self.explain(&BACKLOG_SQL.replace("?1", "'support'").replace("?2", "10"))?,
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Store;

    #[test]
    fn timer_and_backlog_queries_walk_their_partial_indexes_without_sorting() {
        let store = Store::open_in_memory().unwrap();
        for (what, plan) in store.read().explain_routing_queries().unwrap() {
            let index = match what {
                "idle" => "tickets_open_answered",
                _ => "tickets_open_unassigned",
            };
            assert!(plan.iter().any(|l| l.contains(index)), "{what}: {plan:#?}");
            assert!(
                !plan.iter().any(|l| l.contains("TEMP B-TREE")),
                "{what}: {plan:#?}"
            );
            assert!(
                !plan
                    .iter()
                    .any(|l| l.starts_with("SCAN") && !l.contains(index)),
                "{what}: {plan:#?}"
            );
        }
    }

    #[test]
    fn a_rules_firing_is_looked_up_by_ticket_in_both_records() {
        let store = Store::open_in_memory().unwrap();
        let plan = store.read().explain_rule_fired().unwrap();
        // The firings' own table by its key, the journal by the ticket's lines: never a scan.
        assert!(
            plan.iter()
                .any(|l| l.contains("SEARCH rule_fired USING PRIMARY KEY")),
            "{plan:#?}"
        );
        assert!(
            plan.iter()
                .any(|l| l.contains("SEARCH events USING INDEX events_by_ticket")),
            "{plan:#?}"
        );
        assert!(!plan.iter().any(|l| l.starts_with("SCAN")), "{plan:#?}");
    }

    #[test]
    fn undo_still_finds_an_actions_journal_lines_by_index() {
        let store = Store::open_in_memory().unwrap();
        let plan = store.read().explain_action_payloads().unwrap();
        assert!(
            plan.iter()
                .any(|l| l.contains("USING INDEX events_by_action")),
            "{plan:#?}"
        );
    }
}
