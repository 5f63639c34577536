//! Reports: the figures a support lead reads for a period, computed from the journal.
//!
//! The store hands over the history of every ticket the period touches ([`TicketHistory`]: its
//! journal and its outbound messages); [`Builder`] turns those into a [`Report`] without touching
//! the database, so every figure can be checked against a hand count.
//!
//! # What each figure means
//!
//! A period is the half-open interval `[start, end)`. Each figure counts on the time of its own
//! event, and each ticket at most once per figure, unless it says otherwise.
//!
//! - **created**: tickets whose creation (`created` journal line) falls in the period.
//! - **agent reply**: an outbound message not written by a rule. Rules sign their auto-replies
//!   `rule:NAME`; an outbound message with no author (sent from the platform's own app and
//!   imported) is a person's reply too, counted in the totals but under no agent.
//! - **replied**: tickets with at least one agent reply sent in the period; **replies**: the
//!   number of those replies.
//! - **closed**: tickets closed in the period; **closed by agents** / **closed by rules**: tickets
//!   closed in the period by an agent / by a rule or the system (a ticket closed by both counts in
//!   both, and once in **closed**).
//! - An **undone** close, reopen or spam marking does not count: an `undo` line cancels the
//!   latest line that still counts of the same ticket (undo is refused unless that line is the
//!   ticket's latest status change), whenever the undo happened. A `redo` line counts again.
//! - **reopened**: tickets reopened in the period, by a customer's message within the reopen
//!   window or by an agent. **reopen rate**: reopened / closed, absent when nothing was closed.
//! - **marked spam**: tickets marked spam in the period.
//! - **open at end**: tickets whose status, replayed from the journal up to the period's end, is
//!   open at that instant.
//! - **first response time**: from the ticket's creation to its first agent reply ever, counted
//!   when that reply falls in the period. A ticket an agent started has a first response of 0.
//! - **resolved** and **resolution time**: a ticket is resolved in the period when it is closed
//!   at the period's end and the close that left it closed (its latest close that still counts)
//!   falls in the period; the time runs from creation to that close.
//! - **one-touch**: resolved tickets with exactly one agent reply up to the resolving close.
//! - **median** and **90th percentile** are nearest-rank: the smallest time that at least half
//!   (nine tenths) of the times are at most.
//!
//! # Breakdowns
//!
//! Team, channel and label rows group tickets by what they are at the period's end (team and
//! labels replayed from the journal; a ticket in no team or with no label is in no such row). Each
//! row has the ticket figures above restricted to its tickets: created, replied, replies, closed,
//! open at end, first response and resolution times.
//!
//! Agent rows follow the agent's own work: replied/replies are the agent's replies, closed the
//! tickets the agent closed, first response the first replies the agent sent, resolution the
//! resolving closes the agent made; created and open at end count the tickets assigned to the
//! agent at the period's end.
//!
//! # Days
//!
//! Each local day of the period (in the time zone the caller gives, the user's `TZ`) counts the
//! tickets created, replied to and closed on it; a ticket closed on two days counts on both.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Days, NaiveDate, NaiveTime, TimeZone};
use serde::Serialize;

use crate::domain::{Assignment, Change, Millis, Status, time};
use crate::store::TicketHistory;

/// The stretch of time a report covers, `[start, end)`, cut into local days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub start: Millis,
    pub end: Millis,
    pub days: Vec<Day>,
}

/// One local day of a period; the first and last may be partial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    pub date: NaiveDate,
    pub start: Millis,
    pub end: Millis,
}

impl Period {
    /// The whole local days `from` to `to`, both included.
    pub fn dates<Tz: TimeZone>(from: NaiveDate, to: NaiveDate, tz: &Tz) -> Result<Period, String> {
        if from > to {
            return Err(format!("the period starts ({from}) after it ends ({to})"));
        }
        let after = to
            .checked_add_days(Days::new(1))
            .ok_or_else(|| format!("{to} is too far in the future"))?;
        Ok(Period::new(midnight(from, tz), midnight(after, tz), tz))
    }

    /// The `length` up to and including `now`.
    pub fn since<Tz: TimeZone>(now: Millis, length: Millis, tz: &Tz) -> Result<Period, String> {
        if length <= 0 {
            return Err("the period must be longer than nothing".into());
        }
        Ok(Period::new(now.saturating_sub(length), now + 1, tz))
    }

    fn new<Tz: TimeZone>(start: Millis, end: Millis, tz: &Tz) -> Period {
        let mut days = Vec::new();
        if let Some(mut date) = local_date(start, tz) {
            let mut at = start;
            while at < end {
                let Some(next) = date.checked_add_days(Days::new(1)) else {
                    break;
                };
                let day_end = midnight(next, tz).clamp(at + 1, end);
                days.push(Day {
                    date,
                    start: at,
                    end: day_end,
                });
                at = day_end;
                date = next;
            }
        }
        Period { start, end, days }
    }

    pub fn contains(&self, at: Millis) -> bool {
        (self.start..self.end).contains(&at)
    }

    fn day_of(&self, at: Millis) -> Option<usize> {
        let i = self.days.partition_point(|d| d.end <= at);
        (i < self.days.len() && self.days[i].start <= at).then_some(i)
    }
}

/// The first instant of a local day. Where a daylight-saving change skips midnight, the day
/// starts at its first hour that exists.
fn midnight<Tz: TimeZone>(date: NaiveDate, tz: &Tz) -> Millis {
    let naive = date.and_time(NaiveTime::MIN);
    (0..=24)
        .find_map(|h| {
            tz.from_local_datetime(&(naive + chrono::Duration::hours(h)))
                .earliest()
        })
        .map_or_else(
            || naive.and_utc().timestamp_millis(),
            |t| t.timestamp_millis(),
        )
}

fn local_date<Tz: TimeZone>(at: Millis, tz: &Tz) -> Option<NaiveDate> {
    tz.timestamp_millis_opt(at).single().map(|d| d.date_naive())
}

/// Whether an outbound message counts as an agent's reply: anything but a rule's auto-reply.
pub fn is_agent_reply(author: Option<&str>) -> bool {
    author.is_none_or(|a| !a.starts_with("rule:"))
}

/// A set of durations, summarised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Times {
    pub count: usize,
    pub median_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
}

impl Times {
    fn of(mut ms: Vec<Millis>) -> Times {
        ms.sort_unstable();
        Times {
            count: ms.len(),
            median_seconds: nearest_rank(&ms, 50).map(|m| m / 1000),
            p90_seconds: nearest_rank(&ms, 90).map(|m| m / 1000),
        }
    }
}

/// The nearest-rank percentile of sorted values.
fn nearest_rank(sorted: &[Millis], percent: usize) -> Option<Millis> {
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// A duration for people, in its two largest units: `45s`, `12m 5s`, `2h 5m`, `3d 4h`.
pub fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let units = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
    let parts: Vec<String> = units
        .iter()
        .scan(s, |left, &(size, name)| {
            let n = *left / size;
            *left %= size;
            Some((n, name))
        })
        .skip_while(|(n, _)| *n == 0)
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|(n, name)| format!("{n}{name}"))
        .collect();
    if parts.is_empty() {
        "0s".into()
    } else {
        parts.join(" ")
    }
}

/// One row of a breakdown: the figures for one agent, team, channel or label.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Row {
    pub name: String,
    pub created: usize,
    pub replied: usize,
    pub replies: usize,
    pub closed: usize,
    pub open_at_end: usize,
    pub first_response: Times,
    pub resolution: Times,
}

/// The counts of one local day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayCounts {
    pub date: NaiveDate,
    pub created: usize,
    pub replied: usize,
    pub closed: usize,
}

/// Every figure of a period. `--json` prints exactly this.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub from: String,
    pub to: String,
    pub created: usize,
    pub replied: usize,
    pub replies: usize,
    pub closed: usize,
    pub closed_by_agents: usize,
    pub closed_by_rules: usize,
    pub reopened: usize,
    pub reopen_rate: Option<f64>,
    pub marked_spam: usize,
    pub open_at_end: usize,
    pub resolved: usize,
    pub one_touch: usize,
    pub first_response: Times,
    pub resolution: Times,
    pub by_agent: Vec<Row>,
    pub by_team: Vec<Row>,
    pub by_channel: Vec<Row>,
    pub by_label: Vec<Row>,
    /// One row per field value ("Resolution: Refunded"), with the values a ticket was closed
    /// with (or has at the period's end if it was not closed then).
    pub by_field: Vec<Row>,
    pub days: Vec<DayCounts>,
}

/// A breakdown row while tickets are being added.
#[derive(Default)]
struct RowWork {
    created: usize,
    replied: usize,
    replies: usize,
    closed: usize,
    open_at_end: usize,
    first_response: Vec<Millis>,
    resolution: Vec<Millis>,
}

impl RowWork {
    fn finish(self, name: String) -> Row {
        Row {
            name,
            created: self.created,
            replied: self.replied,
            replies: self.replies,
            closed: self.closed,
            open_at_end: self.open_at_end,
            first_response: Times::of(self.first_response),
            resolution: Times::of(self.resolution),
        }
    }
}

/// What a breakdown row groups tickets by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Dimension {
    Team,
    Channel,
    Label,
    Field,
}

/// A status change of the journal that still counts (not undone).
struct StatusLine {
    kind: String,
    at: Millis,
    /// The agent who made it, or `None` for a rule, the system or a customer.
    agent: Option<String>,
}

/// What the report needs of one ticket, worked out from its history.
struct Facts {
    created_at: Millis,
    status_at_end: Status,
    assignment_at_end: Assignment,
    labels_at_end: BTreeSet<String>,
    /// Field values as they stood at the ticket's last counted close before the period's end,
    /// or at the end if it was not closed then: what a closed ticket was closed with.
    fields: BTreeMap<String, String>,
    /// Counted status changes, in journal order.
    status_lines: Vec<StatusLine>,
    /// Agent replies: author and time, oldest first.
    replies: Vec<(Option<String>, Millis)>,
}

fn facts(t: &TicketHistory, end: Millis) -> Result<Facts, String> {
    let mut f = Facts {
        created_at: t
            .journal
            .iter()
            .find(|r| r.kind == "created")
            .map_or(t.created_at, |r| r.at),
        status_at_end: Status::Open,
        assignment_at_end: Assignment::default(),
        labels_at_end: BTreeSet::new(),
        fields: BTreeMap::new(),
        status_lines: Vec::new(),
        replies: t
            .outbound
            .iter()
            .filter(|m| is_agent_reply(m.author.as_deref()))
            .map(|m| (m.author.clone(), m.sent_at))
            .collect(),
    };
    // Field values as the journal goes, and as they were at each counted status change.
    let mut fields_now: BTreeMap<String, String> = BTreeMap::new();
    let mut close_fields: Vec<BTreeMap<String, String>> = Vec::new();
    // Replayed in the order the journal was written: that is the order the changes were made in.
    for row in &t.journal {
        // Only the lines that move status, assignment or labels matter here; other kinds (and
        // kinds added later, whatever their payload) are passed over.
        let change = match row.kind.as_str() {
            "closed" | "reopened" | "marked_spam" | "not_spam" | "status_changed" | "assigned"
            | "unassigned" | "labelled" | "unlabelled" | "field_set" => {
                serde_json::from_str::<Change>(&row.payload).map_err(|e| {
                    format!(
                        "the journal of #{} has an unreadable line ({}): {e}",
                        t.number, row.id
                    )
                })?
            }
            _ => continue,
        };
        let before_end = row.at < end;
        match change {
            Change::Lifecycle { after, .. } => {
                if before_end {
                    f.status_at_end = after.status;
                }
                if row.via.as_deref() == Some("undo") {
                    f.status_lines.pop();
                    close_fields.pop();
                } else {
                    close_fields.push(fields_now.clone());
                    f.status_lines.push(StatusLine {
                        kind: row.kind.clone(),
                        at: row.at,
                        agent: (row.actor_kind == "agent")
                            .then(|| row.actor.clone())
                            .flatten(),
                    });
                }
            }
            Change::Assignment { after, .. } if before_end => f.assignment_at_end = after,
            Change::Field { name, after, .. } if before_end => match after {
                Some(v) => {
                    fields_now.insert(name, v);
                }
                None => {
                    fields_now.remove(&name);
                }
            },
            Change::Label { label, added, .. } if before_end => {
                if added {
                    f.labels_at_end.insert(label);
                } else {
                    f.labels_at_end.remove(&label);
                }
            }
            _ => {}
        }
    }
    // What the ticket was closed with, if its last counted change before the end is a close.
    f.fields = match f
        .status_lines
        .iter()
        .zip(&close_fields)
        .rev()
        .find(|(line, _)| line.at < end)
    {
        Some((line, at_close)) if line.kind == "closed" => at_close.clone(),
        _ => fields_now,
    };
    Ok(f)
}

/// Adds tickets one at a time and sums them into a [`Report`].
pub struct Builder<'p> {
    period: &'p Period,
    created: usize,
    replied: usize,
    replies: usize,
    closed: usize,
    closed_by_agents: usize,
    closed_by_rules: usize,
    reopened: usize,
    marked_spam: usize,
    open_at_end: usize,
    resolved: usize,
    one_touch: usize,
    first_response: Vec<Millis>,
    resolution: Vec<Millis>,
    agents: BTreeMap<String, RowWork>,
    rows: BTreeMap<(Dimension, String), RowWork>,
    days: Vec<DayCounts>,
}

impl<'p> Builder<'p> {
    pub fn new(period: &'p Period) -> Builder<'p> {
        Builder {
            period,
            created: 0,
            replied: 0,
            replies: 0,
            closed: 0,
            closed_by_agents: 0,
            closed_by_rules: 0,
            reopened: 0,
            marked_spam: 0,
            open_at_end: 0,
            resolved: 0,
            one_touch: 0,
            first_response: Vec::new(),
            resolution: Vec::new(),
            agents: BTreeMap::new(),
            rows: BTreeMap::new(),
            days: period
                .days
                .iter()
                .map(|d| DayCounts {
                    date: d.date,
                    created: 0,
                    replied: 0,
                    closed: 0,
                })
                .collect(),
        }
    }

    /// Adds one ticket's history. A ticket the period does not touch adds nothing, so callers
    /// may pass more tickets than needed. Fails only on a journal line that cannot be read.
    pub fn add(&mut self, t: &TicketHistory) -> Result<(), String> {
        let period = self.period;
        let f = facts(t, period.end)?;
        if f.created_at >= period.end {
            return Ok(());
        }
        let inside = |at: Millis| period.contains(at);

        // The rows this ticket belongs to by what it is at the period's end.
        let mut keys = vec![(Dimension::Channel, t.channel.as_str().to_string())];
        if let Some(team) = &f.assignment_at_end.team {
            keys.push((Dimension::Team, team.clone()));
        }
        keys.extend(
            f.labels_at_end
                .iter()
                .map(|l| (Dimension::Label, l.clone())),
        );
        keys.extend(
            f.fields
                .iter()
                .map(|(name, value)| (Dimension::Field, format!("{name}: {value}"))),
        );
        let rows = &mut self.rows;
        let mut each_row = |work: &dyn Fn(&mut RowWork)| {
            for k in &keys {
                work(rows.entry(k.clone()).or_default());
            }
        };

        // Created.
        if inside(f.created_at) {
            self.created += 1;
            if let Some(d) = period.day_of(f.created_at) {
                self.days[d].created += 1;
            }
            each_row(&|r| r.created += 1);
        }

        // Replies in the period.
        let in_period: Vec<&(Option<String>, Millis)> =
            f.replies.iter().filter(|(_, at)| inside(*at)).collect();
        if !in_period.is_empty() {
            self.replied += 1;
            self.replies += in_period.len();
            each_row(&|r| {
                r.replied += 1;
                r.replies += in_period.len();
            });
            let days: BTreeSet<usize> = in_period
                .iter()
                .filter_map(|(_, at)| period.day_of(*at))
                .collect();
            days.into_iter().for_each(|d| self.days[d].replied += 1);
        }

        // First response.
        let first_response = f
            .replies
            .first()
            .filter(|(_, at)| inside(*at))
            .map(|(author, at)| (author.clone(), (at - f.created_at).max(0)));
        if let Some((_, took)) = &first_response {
            self.first_response.push(*took);
            each_row(&|r| r.first_response.push(*took));
        }

        // Closes, reopens and spam in the period.
        let closes: Vec<&StatusLine> = f
            .status_lines
            .iter()
            .filter(|l| l.kind == "closed" && inside(l.at))
            .collect();
        if !closes.is_empty() {
            self.closed += 1;
            if closes.iter().any(|l| l.agent.is_some()) {
                self.closed_by_agents += 1;
            }
            if closes.iter().any(|l| l.agent.is_none()) {
                self.closed_by_rules += 1;
            }
            each_row(&|r| r.closed += 1);
            let days: BTreeSet<usize> = closes.iter().filter_map(|l| period.day_of(l.at)).collect();
            days.into_iter().for_each(|d| self.days[d].closed += 1);
        }
        let counted = |kind: &str| {
            f.status_lines
                .iter()
                .any(|l| l.kind == kind && inside(l.at))
        };
        if counted("reopened") {
            self.reopened += 1;
        }
        if counted("marked_spam") {
            self.marked_spam += 1;
        }

        // Open at the end.
        let open_at_end = f.status_at_end == Status::Open;
        if open_at_end {
            self.open_at_end += 1;
            each_row(&|r| r.open_at_end += 1);
        }

        // Resolution: the close that left the ticket closed at the period's end.
        let resolving = (f.status_at_end == Status::Closed)
            .then(|| {
                f.status_lines
                    .iter()
                    .rev()
                    .find(|l| l.kind == "closed" && l.at < period.end)
            })
            .flatten()
            .filter(|l| inside(l.at));
        if let Some(close) = resolving {
            let took = (close.at - f.created_at).max(0);
            self.resolved += 1;
            self.resolution.push(took);
            each_row(&|r| r.resolution.push(took));
            if f.replies.iter().filter(|(_, at)| *at <= close.at).count() == 1 {
                self.one_touch += 1;
            }
        }

        // The agents' own rows.
        if let Some(agent) = &f.assignment_at_end.agent {
            let row = self.agents.entry(agent.clone()).or_default();
            if inside(f.created_at) {
                row.created += 1;
            }
            if open_at_end {
                row.open_at_end += 1;
            }
        }
        let mut by_author: BTreeMap<&str, usize> = BTreeMap::new();
        for (author, _) in &in_period {
            if let Some(a) = author {
                *by_author.entry(a).or_default() += 1;
            }
        }
        for (agent, n) in by_author {
            let row = self.agents.entry(agent.to_string()).or_default();
            row.replied += 1;
            row.replies += n;
        }
        if let Some((Some(agent), took)) = first_response {
            self.agents
                .entry(agent)
                .or_default()
                .first_response
                .push(took);
        }
        let closers: BTreeSet<&str> = closes.iter().filter_map(|l| l.agent.as_deref()).collect();
        for agent in closers {
            self.agents.entry(agent.to_string()).or_default().closed += 1;
        }
        if let Some(close) = resolving
            && let Some(agent) = &close.agent
        {
            self.agents
                .entry(agent.clone())
                .or_default()
                .resolution
                .push((close.at - f.created_at).max(0));
        }
        Ok(())
    }

    pub fn finish(self) -> Report {
        let (mut by_team, mut by_channel, mut by_label) = (Vec::new(), Vec::new(), Vec::new());
        let mut by_field = Vec::new();
        for ((dimension, name), work) in self.rows {
            match dimension {
                Dimension::Team => &mut by_team,
                Dimension::Channel => &mut by_channel,
                Dimension::Label => &mut by_label,
                Dimension::Field => &mut by_field,
            }
            .push(work.finish(name));
        }
        Report {
            from: time::rfc3339(self.period.start),
            to: time::rfc3339(self.period.end),
            created: self.created,
            replied: self.replied,
            replies: self.replies,
            closed: self.closed,
            closed_by_agents: self.closed_by_agents,
            closed_by_rules: self.closed_by_rules,
            reopened: self.reopened,
            reopen_rate: (self.closed > 0).then(|| self.reopened as f64 / self.closed as f64),
            marked_spam: self.marked_spam,
            open_at_end: self.open_at_end,
            resolved: self.resolved,
            one_touch: self.one_touch,
            first_response: Times::of(self.first_response),
            resolution: Times::of(self.resolution),
            by_agent: self
                .agents
                .into_iter()
                .map(|(name, work)| work.finish(name))
                .collect(),
            by_team,
            by_channel,
            by_label,
            by_field,
            days: self.days,
        }
    }
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Journal(String),
}

/// The report of a period over the database: reads every ticket the period touches, one at a
/// time, and sums them.
pub fn compute(sql: &crate::store::Sql<'_>, period: &Period) -> Result<Report, ReportError> {
    let mut builder = Builder::new(period);
    for number in sql.report_tickets(period.start, period.end)? {
        if let Some(history) = sql.ticket_history(number)? {
            builder.add(&history).map_err(ReportError::Journal)?;
        }
    }
    Ok(builder.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ChannelKind, Lifecycle};
    use crate::store::{JournalRow, OutboundRow};
    use chrono::Utc;

    const H: Millis = 3_600_000;
    /// 2026-11-02T00:00:00Z, a Monday.
    const MON: Millis = 1_793_577_600_000;

    fn lifecycle(status: Status) -> Lifecycle {
        Lifecycle {
            status,
            closed_at: None,
            closed_by: None,
            reopen_count: 0,
        }
    }

    /// A ticket's history written line by line, as the desk would journal it.
    struct History(TicketHistory);

    impl History {
        fn created(at: Millis) -> History {
            let mut h = History(TicketHistory {
                number: 1,
                channel: ChannelKind::Line,
                created_at: at,
                journal: Vec::new(),
                outbound: Vec::new(),
            });
            h.line(Change::Created { ticket: 1 }, "customer", None, at, None);
            h
        }

        fn line(
            &mut self,
            change: Change,
            actor_kind: &str,
            actor: Option<&str>,
            at: Millis,
            via: Option<&str>,
        ) -> &mut History {
            self.0.journal.push(JournalRow {
                id: self.0.journal.len() as i64 + 1,
                kind: change.event_kind().into(),
                actor_kind: actor_kind.into(),
                actor: actor.map(Into::into),
                at,
                payload: serde_json::to_string(&change).unwrap(),
                via: via.map(Into::into),
            });
            self
        }

        fn status(&mut self, from: Status, to: Status, by: &str, at: Millis) -> &mut History {
            self.status_via(from, to, by, at, None)
        }

        fn status_via(
            &mut self,
            from: Status,
            to: Status,
            by: &str,
            at: Millis,
            via: Option<&str>,
        ) -> &mut History {
            let (kind, name) = match by {
                "customer" => ("customer", None),
                rule if rule.starts_with("rule ") => ("rule", Some(&rule[5..])),
                agent => ("agent", Some(agent)),
            };
            let change = Change::Lifecycle {
                ticket: 1,
                before: lifecycle(from),
                after: lifecycle(to),
            };
            self.line(change, kind, name, at, via)
        }

        fn reply(&mut self, author: &str, at: Millis) -> &mut History {
            self.0.outbound.push(OutboundRow {
                author: Some(author.into()),
                sent_at: at,
            });
            self
        }
    }

    fn week() -> Period {
        let mon = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        let sun = NaiveDate::from_ymd_opt(2026, 11, 8).unwrap();
        Period::dates(mon, sun, &Utc).unwrap()
    }

    fn report(histories: &[&History]) -> Report {
        let period = week();
        let mut b = Builder::new(&period);
        for h in histories {
            b.add(&h.0).unwrap();
        }
        b.finish()
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let ms = [1000, 2000, 3000, 4000, 10_000];
        assert_eq!(nearest_rank(&ms, 50), Some(3000));
        assert_eq!(nearest_rank(&ms, 90), Some(10_000));
        assert_eq!(nearest_rank(&ms[..4], 50), Some(2000));
        assert_eq!(nearest_rank(&ms[..1], 90), Some(1000));
        assert_eq!(nearest_rank(&[], 50), None);
    }

    #[test]
    fn durations_show_their_two_largest_units() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(45), "45s");
        assert_eq!(duration(90), "1m 30s");
        assert_eq!(duration(2 * 3600 + 5 * 60 + 30), "2h 5m");
        assert_eq!(duration(3600), "1h");
        assert_eq!(duration(86_400 + 60), "1d");
        assert_eq!(duration(3 * 86_400 + 4 * 3600), "3d 4h");
    }

    #[test]
    fn days_follow_the_local_time_zone() {
        let bangkok: chrono_tz::Tz = "Asia/Bangkok".parse().unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        let p = Period::dates(d, d.succ_opt().unwrap(), &bangkok).unwrap();
        assert_eq!(p.start, MON - 7 * H);
        assert_eq!(p.end, MON + 41 * H);
        assert_eq!(p.days.len(), 2);
        assert_eq!(p.day_of(MON + 16 * H), Some(0));
        assert_eq!(p.day_of(MON + 17 * H), Some(1));
        assert_eq!(p.day_of(MON + 41 * H), None);
        // A day of a daylight-saving change is 25 hours long, and still one day.
        let london: chrono_tz::Tz = "Europe/London".parse().unwrap();
        let change = NaiveDate::from_ymd_opt(2026, 10, 25).unwrap();
        let p = Period::dates(change, change, &london).unwrap();
        assert_eq!(p.end - p.start, 25 * H);
    }

    #[test]
    fn an_undone_close_counts_neither_as_close_nor_as_reopen() {
        let mut h = History::created(MON);
        h.status(Status::Open, Status::Closed, "alice", MON + H)
            .status_via(
                Status::Closed,
                Status::Open,
                "alice",
                MON + 2 * H,
                Some("undo"),
            );
        let r = report(&[&h]);
        assert_eq!((r.closed, r.reopened, r.resolved), (0, 0, 0));
        assert_eq!(r.open_at_end, 1);
        assert_eq!(r.reopen_rate, None);
        assert!(r.by_agent.is_empty(), "{:?}", r.by_agent);
        // Redone, it counts again, on the redo's day.
        h.status_via(
            Status::Open,
            Status::Closed,
            "alice",
            MON + 30 * H,
            Some("redo"),
        );
        let r = report(&[&h]);
        assert_eq!((r.closed, r.closed_by_agents, r.resolved), (1, 1, 1));
        assert_eq!(r.resolution.median_seconds, Some(30 * 3600));
        assert_eq!(r.days[1].closed, 1);
        assert_eq!(r.by_agent[0].name, "alice");
        assert_eq!(r.by_agent[0].closed, 1);
    }

    #[test]
    fn rule_closes_count_apart_from_agents_and_resolve_under_no_agent() {
        let mut h = History::created(MON);
        h.status(Status::Open, Status::Closed, "rule Auto-close", MON + 5 * H);
        let r = report(&[&h]);
        assert_eq!((r.closed, r.closed_by_agents, r.closed_by_rules), (1, 0, 1));
        assert_eq!(r.resolved, 1);
        assert!(r.by_agent.is_empty());
        assert_eq!(r.by_channel[0].closed, 1);
    }

    #[test]
    fn a_close_followed_by_a_reopen_does_not_resolve() {
        let mut h = History::created(MON);
        h.reply("bob", MON + H)
            .status(Status::Open, Status::Closed, "bob", MON + 2 * H)
            .status(Status::Closed, Status::Open, "customer", MON + 3 * H);
        let r = report(&[&h]);
        assert_eq!(
            (r.closed, r.reopened, r.resolved, r.open_at_end),
            (1, 1, 0, 1)
        );
        assert_eq!(r.reopen_rate, Some(1.0));
        // Closed again: resolved on the final close, from creation, with two replies.
        h.reply("bob", MON + 4 * H)
            .status(Status::Open, Status::Closed, "bob", MON + 5 * H);
        let r = report(&[&h]);
        assert_eq!((r.closed, r.resolved, r.one_touch), (1, 1, 0));
        assert_eq!(r.resolution.median_seconds, Some(5 * 3600));
    }

    #[test]
    fn the_end_of_the_period_decides_state_not_later_changes() {
        let end = week().end;
        let mut h = History::created(MON);
        h.reply("bob", MON + H)
            .status(Status::Open, Status::Closed, "bob", MON + 2 * H)
            .status(Status::Closed, Status::Open, "customer", end + H);
        let r = report(&[&h]);
        assert_eq!(
            (r.resolved, r.one_touch, r.reopened, r.open_at_end),
            (1, 1, 0, 0)
        );
        // A ticket created after the period is not in it at all.
        let later = History::created(end);
        assert_eq!(report(&[&later]).open_at_end, 0);
    }

    #[test]
    fn rule_auto_replies_are_not_responses() {
        let mut h = History::created(MON);
        h.reply("rule:Greeting", MON + 1000).reply("carol", MON + H);
        let r = report(&[&h]);
        assert_eq!((r.replied, r.replies), (1, 1));
        assert_eq!(r.first_response.median_seconds, Some(3600));
        assert_eq!(r.by_agent.len(), 1);
        assert_eq!(r.by_agent[0].first_response.count, 1);
    }

    #[test]
    fn a_first_reply_before_the_period_is_not_a_first_response_in_it() {
        let mut h = History::created(MON - 48 * H);
        h.reply("bob", MON - 47 * H).reply("bob", MON + H);
        let r = report(&[&h]);
        assert_eq!((r.created, r.replied, r.first_response.count), (0, 1, 0));
        assert_eq!(r.open_at_end, 1);
    }

    #[test]
    fn journal_kinds_reports_do_not_read_are_passed_over() {
        let mut h = History::created(MON);
        h.0.journal.push(JournalRow {
            id: 9,
            kind: "rule_applied".into(),
            actor_kind: "rule".into(),
            actor: Some("Greeting".into()),
            at: MON + H,
            payload: "{\"rule\": \"Greeting\"}".into(),
            via: None,
        });
        assert_eq!(report(&[&h]).created, 1);
    }

    #[test]
    fn an_unreadable_journal_line_is_an_error_naming_the_ticket() {
        let mut h = History::created(MON);
        h.0.journal.push(JournalRow {
            id: 9,
            kind: "closed".into(),
            actor_kind: "agent".into(),
            actor: Some("bob".into()),
            at: MON + H,
            payload: "{".into(),
            via: None,
        });
        let period = week();
        let err = Builder::new(&period).add(&h.0).unwrap_err();
        assert!(err.contains("journal of #1"), "{err}");
    }
}
