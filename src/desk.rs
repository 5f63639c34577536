//! The desk: the one place that changes tickets.
//!
//! Arrivals from every source, agents' actions from the command line and the inbox, and undo all
//! come through here, and every change is journalled in the same transaction that makes it.

pub mod comments;
mod routing;
mod screens;
pub mod words;

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::domain::fields::{self, FieldDef};
use crate::domain::{
    AccountId, Actor, Assignment, Change, ChannelKind, ContactId, ConversationId, Direction,
    Inbound, Lifecycle, Millis, Status, TicketNumber, time,
};
use crate::rules::assign::Pool;
use crate::rules::eval::{Facts, MessageFacts};
use crate::rules::trace::EventTrace;
use crate::rules::{Event, Routing, Trigger};
use crate::store::{
    ArrivalState, ArrivalWriter, NewEvent, NewMessage, Sql, Store, StoreError, Ticket,
};
use routing::{Draft, Occurrence, Run};
use screens::Screens;

/// The default reopen window: a customer who writes within a day of a close reopens the ticket.
pub const DEFAULT_REOPEN_WINDOW: Millis = 24 * 3_600_000;

/// How the desk behaves; loaded from the config file.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `None`: a message after a close always starts a new ticket.
    pub reopen_window: Option<Millis>,
    /// Agents, teams and rules; `None`: no rules run and nothing is routed.
    pub routing: Option<Arc<Routing>>,
    /// The ticket fields with a type or a `required` flag; any other field name takes any text.
    pub fields: Arc<Vec<FieldDef>>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            reopen_window: Some(DEFAULT_REOPEN_WINDOW),
            routing: None,
            fields: Arc::new(Vec::new()),
        }
    }
}

/// Two settings are the same if they share the same loaded routing (rules hold compiled
/// regular expressions, which cannot be compared).
impl PartialEq for Settings {
    fn eq(&self, other: &Self) -> bool {
        self.reopen_window == other.reopen_window
            && self.fields == other.fields
            && match (&self.routing, &other.routing) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
    }
}

impl Eq for Settings {}

/// Why the desk did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// The action is not allowed as things stand; the text says why and what to do instead.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for DeskError {
    fn from(e: rusqlite::Error) -> Self {
        DeskError::Store(StoreError::Sqlite(e))
    }
}

pub type Result<T, E = DeskError> = std::result::Result<T, E>;

fn refused<T>(why: impl Into<String>) -> Result<T> {
    Err(DeskError::Refused(why.into()))
}

/// Who acts, and when. The time is explicit so imports and the simulator can act in the past
/// and tests can fix the clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ctx {
    pub agent: String,
    pub at: Millis,
}

impl Ctx {
    fn actor(&self) -> Actor {
        Actor::Agent(self.agent.clone())
    }
}

/// What one batch of arrivals did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestReport {
    pub read: usize,
    pub new: usize,
    pub duplicates: usize,
    pub tickets_created: usize,
    pub tickets_reopened: usize,
    /// Messages appended silently to Spam tickets.
    pub to_spam: usize,
}

impl IngestReport {
    pub fn add(&mut self, o: &IngestReport) {
        self.read += o.read;
        self.new += o.new;
        self.duplicates += o.duplicates;
        self.tickets_created += o.tickets_created;
        self.tickets_reopened += o.tickets_reopened;
        self.to_spam += o.to_spam;
    }
}

/// What an agent action did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    /// A sentence for the agent: what happened.
    pub summary: String,
    pub changed: Vec<TicketNumber>,
    /// Tickets of a bulk action left as they were, with the reason.
    pub skipped: Vec<String>,
    /// Whether `undo` can take this back.
    pub undoable: bool,
}

/// What an agent was shown of a ticket when they chose to act on it. An action given these is
/// refused for any ticket whose status or assignment has moved on since, so two agents working
/// the same queue never overwrite each other silently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub number: TicketNumber,
    pub status: Status,
    pub assignee: Option<String>,
    pub team: Option<String>,
}

/// The ticket desk over one database.
pub struct Desk {
    store: Store,
    settings: Settings,
    /// What the next action's tickets looked like to the agent; taken by that action.
    seen: Vec<Seen>,
    /// Open counts and rotation pointers as the last batch of arrivals left them, and the
    /// store's write mark then: the next batch reuses them if nobody has written since, instead
    /// of counting every open ticket again.
    carried: Option<((i64, u64), Pool)>,
}

/// One conversation's working state during a batch of arrivals.
struct ConversationWork {
    id: ConversationId,
    contact: ContactId,
    /// The contact was created by this batch: its first ticket is known without a query.
    new_contact: bool,
    /// Tickets this batch started on the conversation.
    tickets_started: u32,
    /// The contact is named by its channel id so far; the first display name that comes wins.
    unnamed: bool,
    ticket: Option<TicketWork>,
}

/// A ticket's working state during a batch of arrivals.
struct TicketWork {
    state: ArrivalState,
    /// Who started it and when, for a ticket this batch started (inserted at the end of the batch).
    new: Option<(String, Millis)>,
    /// Whether the batch changed it.
    dirty: bool,
    /// A ticket from before the batch: its assignment and creation time, for rules.
    routing: Option<(Assignment, Millis)>,
}

/// The plan for one ticket of a bulk action: its changes, or why it is left alone.
type Plan = std::result::Result<Vec<Change>, String>;

impl Desk {
    pub fn new(store: Store, settings: Settings) -> Desk {
        Desk {
            store,
            settings,
            seen: Vec::new(),
            carried: None,
        }
    }

    /// Makes the next action check that its tickets are still as the agent saw them.
    pub fn as_seen(&mut self, seen: Vec<Seen>) -> &mut Desk {
        self.seen = seen;
        self
    }

    /// Marks a ticket's messages as read. Reading is not a change to the ticket: no journal line,
    /// nothing to undo.
    pub fn mark_read(&mut self, ticket: TicketNumber) -> Result<()> {
        self.store.write(|sql| sql.mark_read(ticket))?;
        Ok(())
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Read-only queries.
    pub fn read(&self) -> Sql<'_> {
        self.store.read()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    // ----- arrivals ----------------------------------------------------------------------------

    /// The one arrival path: stores a batch of messages in one transaction, following the
    /// lifecycle (DESIGN §1, §2). Already-stored message ids are dropped, so re-imports add nothing.
    ///
    /// Work is done once per batch where it can be: each conversation and its ticket are looked up
    /// once, new tickets get their numbers up front and are written once with their final state,
    /// each touched ticket is updated once, and the search index is filled in one statement.
    pub fn ingest(&mut self, batch: &[Inbound]) -> Result<IngestReport> {
        let settings = &self.settings;
        let carried = self.carried.take();
        let (report, carried) = self.store.write(|sql| {
            // Checked inside the write transaction: nobody can write between here and commit.
            let mut pool = match carried {
                Some((mark, pool)) if mark == sql.write_mark()? => pool,
                _ => Pool::default(),
            };
            let report = ingest_in(sql, settings, batch, &mut None, &mut pool)?;
            pool.carry_over();
            // Other connections' part of the mark, while they cannot commit.
            Ok::<_, DeskError>((report, (sql.write_mark()?.0, pool)))
        })?;
        // This connection's part after the commit, which writes too (the search index's
        // pending rows).
        let (others, pool) = carried;
        self.carried = Some(((others, self.store.changes_made()), pool));
        Ok(report)
    }

    /// What [`Desk::ingest`] would do with a batch, rules included, explained rule by rule;
    /// nothing is written (the transaction is rolled back).
    pub fn ingest_dry_run(&mut self, batch: &[Inbound]) -> Result<(IngestReport, Vec<EventTrace>)> {
        let settings = &self.settings;
        self.store.dry_run(|sql| {
            let mut traces = Some(Vec::new());
            let report = ingest_in(sql, settings, batch, &mut traces, &mut Pool::default())?;
            Ok((report, traces.unwrap_or_default()))
        })
    }

    /// Evaluates timers at `now` (`tix tick`, and the running inbox every
    /// [`Routing::tick_every`]). Without routing there is nothing to do.
    pub fn tick(&mut self, now: Millis) -> Result<TickReport> {
        let Some(routing) = self.settings.routing.clone().filter(|r| r.has_timers()) else {
            return Ok(TickReport::default());
        };
        self.store.write(|sql| tick_in(sql, &routing, now))
    }

    // ----- agent actions -----------------------------------------------------------------------

    /// Runs one agent action over one or more tickets as a single undoable step.
    fn act(
        &mut self,
        ctx: &Ctx,
        what: &str,
        tickets: &[TicketNumber],
        plan: impl Fn(&Sql<'_>, &Ticket) -> Result<Plan>,
    ) -> Result<Done> {
        if tickets.is_empty() {
            return refused("no ticket given");
        }
        let mut seen = std::collections::HashSet::new();
        let unique: Vec<TicketNumber> = tickets
            .iter()
            .copied()
            .filter(|n| seen.insert(*n))
            .collect();
        let shown = std::mem::take(&mut self.seen);
        let routing = self.settings.routing.clone();
        self.store.write(|sql| {
            let mut planned = Vec::new();
            let mut skipped = Vec::new();
            for &n in &unique {
                let Some(ticket) = sql.ticket(n)? else {
                    skipped.push(format!("there is no ticket #{n}"));
                    continue;
                };
                if let Some(was) = shown.iter().find(|s| s.number == n)
                    && (was.status != ticket.lifecycle.status
                        || was.assignee != ticket.assignment.agent
                        || was.team != ticket.assignment.team)
                {
                    skipped.push(moved_on(sql, n, ctx.at)?);
                    continue;
                }
                match plan(sql, &ticket)? {
                    Ok(changes) if !changes.is_empty() => planned.push((n, changes)),
                    Ok(_) => skipped.push(format!("#{n} is already so")),
                    Err(why) => skipped.push(why),
                }
            }
            if planned.is_empty() {
                return refused(skipped.join("; "));
            }
            let changed: Vec<TicketNumber> = planned.iter().map(|(n, _)| *n).collect();
            let summary = format!("{what} {}", numbers(&changed));
            let action = sql.begin_action(&ctx.agent, ctx.at, &summary)?;
            let actor = ctx.actor();
            let mut left_open = Vec::new();
            for (_, changes) in &planned {
                for change in changes {
                    apply_checked(sql, change, &actor, ctx.at, Some(action), None)?;
                    if let Change::Lifecycle {
                        ticket,
                        before,
                        after,
                    } = change
                        && before.status == Status::Open
                        && after.status != Status::Open
                    {
                        left_open.push((*ticket, after.status == Status::Closed));
                    }
                }
            }
            if let Some(routing) = routing.as_deref()
                && !left_open.is_empty()
            {
                after_leaving_open(sql, routing, &left_open, ctx.at)?;
            }
            Ok(Done {
                summary,
                changed,
                skipped,
                undoable: true,
            })
        })
    }

    /// Assigns tickets to an agent, a team, or both; what is not given stays as it was.
    pub fn assign(
        &mut self,
        ctx: &Ctx,
        tickets: &[TicketNumber],
        agent: Option<&str>,
        team: Option<&str>,
    ) -> Result<Done> {
        if agent.is_none() && team.is_none() {
            return refused("say who to assign to: an agent, a team, or both");
        }
        let agent = agent.map(|a| plain_name("an agent", a)).transpose()?;
        let team = team.map(|t| plain_name("a team", t)).transpose()?;
        let who = match (agent, team) {
            (Some(a), Some(t)) => format!("{a} ({t})"),
            (Some(a), None) => a.to_string(),
            (None, Some(t)) => format!("team {t}"),
            (None, None) => String::new(),
        };
        self.act(ctx, &format!("assigned to {who}:"), tickets, |_, t| {
            let after = Assignment {
                agent: agent.map(str::to_string).or(t.assignment.agent.clone()),
                team: team.map(str::to_string).or(t.assignment.team.clone()),
            };
            Ok(assignment_plan(t, after))
        })
    }

    /// Assigns tickets to the acting agent.
    pub fn take(&mut self, ctx: &Ctx, tickets: &[TicketNumber]) -> Result<Done> {
        self.act(ctx, "took", tickets, |_, t| {
            Ok(assignment_plan(
                t,
                Assignment {
                    agent: Some(ctx.agent.clone()),
                    team: t.assignment.team.clone(),
                },
            ))
        })
    }

    pub fn unassign(&mut self, ctx: &Ctx, tickets: &[TicketNumber]) -> Result<Done> {
        self.act(ctx, "unassigned", tickets, |_, t| {
            Ok(assignment_plan(t, Assignment::default()))
        })
    }

    /// Closes tickets. A ticket missing a required field is left open, with the fields named;
    /// rules and timers close without this check.
    pub fn close(&mut self, ctx: &Ctx, tickets: &[TicketNumber]) -> Result<Done> {
        let required: Vec<String> = self
            .settings
            .fields
            .iter()
            .filter(|d| d.required)
            .map(|d| d.name.clone())
            .collect();
        self.act(ctx, "closed", tickets, |sql, t| {
            let mut missing = Vec::new();
            if t.lifecycle.status == Status::Open {
                for name in &required {
                    if sql.field(t.number, name)?.is_none() {
                        missing.push(name.as_str());
                    }
                }
            }
            Ok(match t.lifecycle.status {
                Status::Open if !missing.is_empty() => Err(format!(
                    "#{} needs {} before it is closed: set it with e in the inbox or \
                     tix ticket field {} NAME VALUE",
                    t.number,
                    missing.join(", "),
                    t.number
                )),
                Status::Open => Ok(vec![lifecycle_change(
                    t,
                    Lifecycle {
                        status: Status::Closed,
                        closed_at: Some(ctx.at),
                        closed_by: Some(ctx.agent.clone()),
                        reopen_count: t.lifecycle.reopen_count,
                    },
                )]),
                Status::Closed => Err(format!("#{} is already closed", t.number)),
                Status::Spam => Err(format!(
                    "#{} is spam; mark it not spam first if it needs closing",
                    t.number
                )),
            })
        })
    }

    pub fn reopen(&mut self, ctx: &Ctx, tickets: &[TicketNumber]) -> Result<Done> {
        self.act(ctx, "reopened", tickets, |sql, t| {
            Ok(match t.lifecycle.status {
                Status::Closed => match sql.other_open_ticket(t.conversation_id, t.number)? {
                    Some(other) => Err(other_open_refusal(t.number, other)),
                    None => Ok(vec![lifecycle_change(
                        t,
                        Lifecycle {
                            status: Status::Open,
                            closed_at: None,
                            closed_by: None,
                            reopen_count: t.lifecycle.reopen_count + 1,
                        },
                    )]),
                },
                Status::Open => Err(format!("#{} is already open", t.number)),
                Status::Spam => Err(format!(
                    "#{} is spam; use not-spam to bring it back",
                    t.number
                )),
            })
        })
    }

    pub fn mark_spam(&mut self, ctx: &Ctx, tickets: &[TicketNumber]) -> Result<Done> {
        self.act(ctx, "marked spam", tickets, |_, t| {
            Ok(match t.lifecycle.status {
                Status::Spam => Err(format!("#{} is already spam", t.number)),
                _ => Ok(vec![lifecycle_change(
                    t,
                    Lifecycle {
                        status: Status::Spam,
                        ..t.lifecycle.clone()
                    },
                )]),
            })
        })
    }

    pub fn not_spam(&mut self, ctx: &Ctx, tickets: &[TicketNumber]) -> Result<Done> {
        self.act(ctx, "marked not spam", tickets, |sql, t| {
            Ok(match t.lifecycle.status {
                Status::Spam => match sql.other_open_ticket(t.conversation_id, t.number)? {
                    Some(other) => Err(other_open_refusal(t.number, other)),
                    None => Ok(vec![lifecycle_change(
                        t,
                        Lifecycle {
                            status: Status::Open,
                            closed_at: None,
                            closed_by: None,
                            reopen_count: t.lifecycle.reopen_count,
                        },
                    )]),
                },
                _ => Err(format!("#{} is not spam", t.number)),
            })
        })
    }

    pub fn follow_up(&mut self, ctx: &Ctx, tickets: &[TicketNumber], on: bool) -> Result<Done> {
        let what = if on {
            "flagged for follow-up"
        } else {
            "cleared follow-up on"
        };
        self.act(ctx, what, tickets, |_, t| {
            Ok(if t.follow_up == on {
                Err(format!(
                    "#{} is already {}",
                    t.number,
                    if on { "flagged" } else { "not flagged" }
                ))
            } else {
                Ok(vec![Change::FollowUp {
                    ticket: t.number,
                    before: t.follow_up,
                    after: on,
                }])
            })
        })
    }

    pub fn label(
        &mut self,
        ctx: &Ctx,
        tickets: &[TicketNumber],
        label: &str,
        add: bool,
    ) -> Result<Done> {
        let label = plain_name("a label", label)?;
        let what = if add {
            format!("labelled \"{label}\":")
        } else {
            format!("removed label \"{label}\" from")
        };
        self.act(ctx, &what, tickets, |sql, t| {
            Ok(if sql.has_label(t.number, label)? == add {
                Err(format!(
                    "#{} {} label \"{label}\"",
                    t.number,
                    if add { "already has" } else { "has no" }
                ))
            } else {
                Ok(vec![Change::Label {
                    ticket: t.number,
                    label: label.to_string(),
                    added: add,
                }])
            })
        })
    }

    /// Sets a ticket field; an empty value clears it.
    pub fn set_field(
        &mut self,
        ctx: &Ctx,
        tickets: &[TicketNumber],
        name: &str,
        value: &str,
    ) -> Result<Done> {
        let name = plain_name("a field", name)?;
        let def = fields::find(&self.settings.fields, name).cloned();
        let name = def.as_ref().map_or(name, |d| d.name.as_str()).to_string();
        let name = name.as_str();
        let value = match Some(value.trim()).filter(|v| !v.is_empty()) {
            Some(v) => Some(match &def {
                Some(d) => d.check(v).map_err(DeskError::Refused)?,
                None => v.to_string(),
            }),
            None => None,
        };
        let value = value.as_deref();
        self.act(ctx, &format!("set {name} on"), tickets, |sql, t| {
            let before = sql.field(t.number, name)?;
            Ok(if before.as_deref() == value {
                Err(format!("#{} already has that {name}", t.number))
            } else {
                Ok(vec![Change::Field {
                    ticket: t.number,
                    name: name.to_string(),
                    before,
                    after: value.map(str::to_string),
                }])
            })
        })
    }

    /// Adds an internal note, never sent to the customer.
    pub fn note(&mut self, ctx: &Ctx, ticket: TicketNumber, text: &str) -> Result<Done> {
        let text = text.trim();
        if text.is_empty() {
            return refused("a note needs some text");
        }
        self.store.write(|sql| {
            if sql.ticket(ticket)?.is_none() {
                return refused(format!("there is no ticket #{ticket}"));
            }
            let summary = format!("noted on #{ticket}");
            let action = sql.begin_action(&ctx.agent, ctx.at, &summary)?;
            let note = sql.insert_note(ticket, &ctx.agent, text, ctx.at)?;
            journal(
                sql,
                &Change::Note {
                    ticket,
                    note,
                    added: true,
                },
                &ctx.actor(),
                ctx.at,
                Some(action),
                None,
            )?;
            Ok(Done {
                summary,
                changed: vec![ticket],
                skipped: vec![],
                undoable: true,
            })
        })
    }

    /// Stores an agent's reply as an outbound message. A sent reply cannot be taken back, so it is
    /// not an undoable action.
    pub fn reply(&mut self, ctx: &Ctx, ticket: TicketNumber, text: &str) -> Result<Done> {
        if text.trim().is_empty() {
            return refused("a reply needs some text");
        }
        self.store
            .write(|sql| reply_in(sql, ctx, ticket, text, true))
    }

    /// Moves every conversation of `from` to `into`. Undo moves them back.
    pub fn merge_contacts(&mut self, ctx: &Ctx, from: ContactId, into: ContactId) -> Result<Done> {
        if from == into {
            return refused("a contact cannot be merged into itself");
        }
        self.store.write(|sql| {
            match sql.contact_exists(from)? {
                None => return refused(format!("there is no contact {from}")),
                Some(Some(already)) => {
                    return refused(format!("contact {from} was already merged into {already}"));
                }
                Some(None) => {}
            }
            match sql.contact_exists(into)? {
                None => return refused(format!("there is no contact {into}")),
                Some(Some(target)) => {
                    return refused(format!(
                        "contact {into} was merged into {target}; merge into {target} instead"
                    ));
                }
                Some(None) => {}
            }
            let summary = format!("merged contact {from} into {into}");
            let action = sql.begin_action(&ctx.agent, ctx.at, &summary)?;
            let change = Change::ContactMerge {
                from,
                into,
                conversations: sql.conversations_of_contact(from)?,
                merged: true,
            };
            apply_checked(sql, &change, &ctx.actor(), ctx.at, Some(action), None)?;
            Ok(Done {
                summary,
                changed: vec![],
                skipped: vec![],
                undoable: true,
            })
        })
    }

    /// Opens a ticket on a contact's conversation on a channel account; if one is open already,
    /// returns that one. Returns the ticket number and whether it is new.
    pub fn open_ticket(
        &mut self,
        ctx: &Ctx,
        contact: ContactId,
        channel: ChannelKind,
        account: Option<&str>,
    ) -> Result<(TicketNumber, bool)> {
        let account_name = account.unwrap_or(channel.as_str()).to_string();
        self.store.write(|sql| {
            match sql.contact_exists(contact)? {
                None => return refused(format!("there is no contact {contact}")),
                Some(Some(into)) => {
                    return refused(format!(
                        "contact {contact} was merged into {into}; open the ticket there"
                    ));
                }
                Some(None) => {}
            }
            if sql
                .account_kind(&account_name)?
                .is_some_and(|k| k != channel)
            {
                return refused(format!(
                    "account \"{account_name}\" is not a {channel} account"
                ));
            }
            let account = sql.account_id(channel, &account_name)?;
            let Some(conversation) = sql.conversation_of_contact(contact, account)? else {
                return refused(format!(
                    "contact {contact} has no conversation on {account_name}: the customer has to \
                     write there first"
                ));
            };
            open_or_reuse(sql, ctx, conversation)
        })
    }

    // ----- undo and redo -----------------------------------------------------------------------

    /// Takes back the agent's latest action, read from the journal. Refused, changing nothing, if
    /// a ticket has changed since in a way the undo would overwrite, or if it would break an
    /// invariant.
    pub fn undo(&mut self, ctx: &Ctx) -> Result<Done> {
        self.store.write(|sql| {
            let Some(action) = sql.last_done_action(&ctx.agent)? else {
                return refused(format!("{} has nothing to undo", ctx.agent));
            };
            let changes = action_changes(sql, action.id)?;
            let actor = ctx.actor();
            for change in changes.iter().rev() {
                let Some(inverse) = change.inverse() else {
                    return refused(format!("\"{}\" cannot be undone", action.summary));
                };
                apply_checked(sql, &inverse, &actor, ctx.at, None, Some("undo"))?;
            }
            sql.set_action_state(action.id, false)?;
            Ok(Done {
                summary: format!("undid: {}", action.summary),
                changed: tickets_of(&changes),
                skipped: vec![],
                undoable: false,
            })
        })
    }

    /// Does again the action the agent undid last.
    pub fn redo(&mut self, ctx: &Ctx) -> Result<Done> {
        self.store.write(|sql| {
            let Some(action) = sql.next_redo_action(&ctx.agent)? else {
                return refused(format!("{} has nothing to redo", ctx.agent));
            };
            let changes = action_changes(sql, action.id)?;
            let actor = ctx.actor();
            for change in &changes {
                apply_checked(sql, change, &actor, ctx.at, None, Some("redo"))?;
            }
            sql.set_action_state(action.id, true)?;
            Ok(Done {
                summary: format!("redid: {}", action.summary),
                changed: tickets_of(&changes),
                skipped: vec![],
                undoable: true,
            })
        })
    }
}

/// The arrival path inside a write transaction; `traces` collects rule explanations if `Some`.
fn ingest_in(
    sql: &Sql<'_>,
    settings: &Settings,
    batch: &[Inbound],
    traces: &mut Option<Vec<EventTrace>>,
    pool: &mut Pool,
) -> Result<IngestReport> {
    let mut report = IngestReport {
        read: batch.len(),
        ..IngestReport::default()
    };
    let last_before = sql.last_message_id()?;
    let routing = settings.routing.as_deref().filter(|r| !r.rules.is_empty());
    // A rule that closes or marks spam on arrival changes what a later message of the same
    // conversation joins; cutting the batch there keeps the result independent of batching.
    let cut = routing
        .map(routing::status_changing_rules)
        .unwrap_or_default();
    // Conversations and accounts already looked up stay known from one segment to the next, and
    // so does the run of the rules: the batch's tickets are written once, at its end.
    let mut accounts = HashMap::new();
    let mut work = HashMap::new();
    let mut run = match routing {
        Some(r) => {
            let mut run = Run::new(r, traces.is_some());
            run.pool = std::mem::take(pool);
            // Before the batch writes anything: the rules keep the counts in step from here.
            if r.assigns() {
                run.pool.read_counts(sql)?;
            }
            Some(run)
        }
        None => None,
    };
    let mut next_ticket = sql.next_ticket_number()?;
    std::thread::scope(|scope| -> Result<()> {
        let mut screens = routing.map(|r| Screens::new(r, batch, scope));
        let mut start = 0;
        while start < batch.len() {
            start += ingest_segment(
                sql,
                settings.reopen_window,
                routing,
                &batch[start..],
                &cut,
                &mut Segment {
                    accounts: &mut accounts,
                    work: &mut work,
                    run: &mut run,
                    next_ticket: &mut next_ticket,
                    report: &mut report,
                    screens: screens.as_mut().map(|s| (s, start)),
                },
            )?;
        }
        Ok(())
    })?;
    if let Some(mut run) = run {
        run.finish(sql)?;
        *pool = std::mem::take(&mut run.pool);
        if let (Some(all), Some(mine)) = (traces.as_mut(), run.traces.take()) {
            all.extend(mine);
        }
    }
    sql.index_messages_after(last_before)?;
    Ok(report)
}

/// What one segment of a batch carries over to the next, and reports.
struct Segment<'s, 'b, 'r> {
    accounts: &'s mut HashMap<(ChannelKind, &'b str), AccountId>,
    work: &'s mut HashMap<(AccountId, &'b str), ConversationWork>,
    /// The rules' run, if there are rules: it holds the batch's tickets until the batch ends.
    run: &'s mut Option<Run<'r>>,
    /// Read once: tickets the batch started may not be written yet.
    next_ticket: &'s mut TicketNumber,
    report: &'s mut IngestReport,
    /// The batch's messages read for the rules, and where this segment starts in the batch.
    screens: Option<(&'s mut Screens<'b>, usize)>,
}

/// An event of the batch that rules listen to, run once the batch's tickets are written.
struct Pending {
    event: Event,
    ticket: TicketNumber,
    contact: ContactId,
    /// Index of the message in the segment.
    index: usize,
    message_id: i64,
    facts: Facts,
}

/// Stores messages from the start of `batch` and returns how many it took: all of them, or up to
/// the next message of a conversation on which one of the `cut` rules (those that close or mark
/// spam on arrival) might have fired in this segment.
fn ingest_segment<'b>(
    sql: &Sql<'_>,
    window: Option<Millis>,
    routing: Option<&Routing>,
    batch: &'b [Inbound],
    cut: &[usize],
    seg: &mut Segment<'_, 'b, '_>,
) -> Result<usize> {
    let Segment {
        accounts,
        work,
        run,
        next_ticket,
        report,
        screens,
    } = seg;
    let listens = |e: Event| routing.is_some_and(|r| r.listens(e));
    let (on_created, on_reopened, on_received) = (
        listens(Event::TicketCreated),
        listens(Event::TicketReopened),
        listens(Event::MessageReceived),
    );
    // About one event per message: reserved once rather than grown by copying.
    let mut pending: Vec<Pending> =
        Vec::with_capacity(if routing.is_some() { batch.len() } else { 0 });
    // Tickets with an agent that this segment reopens, by message: they count as that agent's
    // open tickets only from their reopening on.
    let mut reopens: Vec<(usize, String)> = Vec::new();
    let mut writer = sql.arrival_writer()?;
    let mut finished: Vec<(ConversationId, ContactId, TicketWork)> = Vec::new();
    let mut journal_lines: Vec<(Change, Actor, Millis)> = Vec::new();
    let mut taken = batch.len();
    let mut unsettled: HashSet<(AccountId, &str)> = HashSet::new();

    for (index, m) in batch.iter().enumerate() {
        let account = match accounts.get(&(m.channel, m.account_name())) {
            Some(id) => *id,
            None => {
                let id = sql.account_id(m.channel, m.account_name())?;
                accounts.insert((m.channel, m.account_name()), id);
                id
            }
        };
        let conv = match work.entry((account, m.customer_id.as_str())) {
            Entry::Occupied(_) if unsettled.contains(&(account, m.customer_id.as_str())) => {
                taken = index;
                break;
            }
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => match open_conversation(sql, &mut writer, account, m)? {
                Some(conv) => e.insert(conv),
                None => {
                    report.duplicates += 1;
                    continue;
                }
            },
        };
        let joins = choose_ticket(conv.ticket.as_ref().map(|t| &t.state), m, window);
        let number = match (&joins, &conv.ticket) {
            (Joins::New, _) | (_, None) => **next_ticket,
            (_, Some(t)) => t.state.number,
        };
        let Some(message_id) = writer.insert_message(&NewMessage {
            account_id: account,
            external_id: &m.message_id,
            conversation_id: conv.id,
            ticket: number,
            direction: m.direction,
            author: m.agent.as_deref(),
            kind: m.kind,
            body: &m.text,
            sent_at: m.sent_at,
        })?
        else {
            report.duplicates += 1;
            continue;
        };
        let actor = arrival_actor(m);
        let mut event = None;
        let t = match (joins, conv.ticket.take()) {
            (Joins::Current, Some(t)) => conv.ticket.insert(t),
            (Joins::Reopen, Some(mut t)) => {
                let before = t.state.lifecycle.clone();
                t.state.lifecycle = Lifecycle {
                    status: Status::Open,
                    closed_at: None,
                    closed_by: None,
                    reopen_count: before.reopen_count + 1,
                };
                journal_lines.push((
                    Change::Lifecycle {
                        ticket: number,
                        before,
                        after: t.state.lifecycle.clone(),
                    },
                    actor,
                    m.sent_at,
                ));
                report.tickets_reopened += 1;
                event = Some(Event::TicketReopened);
                if let Some(run) = run.as_ref() {
                    let agent = match (run.known_assignment(number), &t.routing) {
                        (Some(a), _) | (None, Some((a, _))) => a.agent.clone(),
                        (None, None) => sql.assignment(number)?.and_then(|a| a.agent),
                    };
                    reopens.extend(agent.map(|a| (index, a)));
                }
                conv.ticket.insert(t)
            }
            (_, old) => {
                finished.extend(old.filter(|o| o.dirty).map(|o| (conv.id, conv.contact, o)));
                **next_ticket += 1;
                report.tickets_created += 1;
                let created_by = actor.name().unwrap_or("customer").to_string();
                journal_lines.push((Change::Created { ticket: number }, actor, m.sent_at));
                conv.tickets_started += 1;
                event = Some(Event::TicketCreated);
                conv.ticket.insert(TicketWork {
                    state: fresh_arrival_state(number, m.sent_at),
                    new: Some((created_by, m.sent_at)),
                    dirty: true,
                    routing: None,
                })
            }
        };
        if conv.unnamed
            && let Some(name) = m.display_name.as_deref().filter(|n| !n.trim().is_empty())
        {
            sql.rename_contact(conv.contact, name)?;
            conv.unnamed = false;
        }
        apply_arrival(&mut t.state, message_id, m);
        t.dirty = true;
        let spam = t.state.lifecycle.status == Status::Spam;
        if spam && m.direction == Direction::In {
            report.to_spam += 1;
        }
        report.new += 1;
        // Rules hear customers' messages to tickets that are not spam, each read once for
        // every rule and event.
        if m.direction == Direction::In
            && !spam
            && (on_created || on_reopened || on_received)
            && let Some(screen) = screens
                .as_mut()
                .and_then(|(s, start)| s.get(*start + index))
        {
            let fresh = t.new.is_some();
            let at = |event: Event| Pending {
                event,
                ticket: number,
                contact: conv.contact,
                index,
                message_id,
                facts: Facts {
                    first_ticket: (conv.new_contact && fresh).then_some(conv.tickets_started == 1),
                    agent_replies: Some(t.state.agent_replies),
                    // Still named by its channel id at this message, whatever a later message
                    // of the batch renames it to.
                    contact_name: conv.unnamed.then(|| m.customer_id.to_lowercase()),
                    ..Facts::default()
                },
            };
            match event {
                Some(Event::TicketCreated) if on_created => pending.push(at(Event::TicketCreated)),
                Some(Event::TicketReopened) if on_reopened => {
                    pending.push(at(Event::TicketReopened))
                }
                _ => {}
            }
            if on_received {
                pending.push(at(Event::MessageReceived));
            }
            if let Some(routing) = routing
                && routing::might_change_status(routing, cut, event, screen)
            {
                unsettled.insert((account, m.customer_id.as_str()));
            }
        }
    }

    // With rules to run, the tickets this segment wrote to are left to the run as drafts: it
    // writes them once, at the end of the batch, with what the rules did to them.
    let mut write = |conversation: ConversationId,
                     contact: ContactId,
                     t: &TicketWork,
                     run: &mut Option<Run<'_>>|
     -> Result<()> {
        match (run.as_mut(), &t.new) {
            (Some(run), new) => run.draft(
                sql,
                t.state.number,
                Draft::new(conversation, contact, new.clone(), t.state.clone()),
                t.routing.clone(),
            )?,
            (None, Some((created_by, created_at))) => writer.insert_ticket(
                conversation,
                *created_at,
                created_by,
                &t.state,
                &Assignment::default(),
                false,
            )?,
            (None, None) => writer.update_ticket(&t.state)?,
        }
        Ok(())
    };
    for (conversation, contact, t) in &finished {
        write(*conversation, *contact, t, run)?;
    }
    for w in work.values_mut() {
        if let Some(t) = w.ticket.as_mut().filter(|t| t.dirty) {
            write(w.id, w.contact, t, run)?;
            t.dirty = false;
            // The run knows its assignment from here on.
            t.routing = None;
            // Without rules it is written: later segments update it. (The run tells a ticket it
            // started from one it wrote already by itself, and the rules still need to know
            // which tickets the batch started.)
            if run.is_none() {
                t.new = None;
            }
        }
    }
    drop(writer);
    for (change, actor, at) in journal_lines {
        match run.as_mut().filter(|r| r.is_draft(change.ticket())) {
            Some(run) => run.journal_later(&change, actor, at)?,
            None => journal(sql, &change, &actor, at, None, None)?,
        }
    }
    let Some(run) = run.as_mut() else {
        return Ok(taken);
    };
    let mut reopened = reopens.iter().peekable();
    for p in pending {
        while let Some((_, agent)) = reopened.next_if(|(i, _)| *i <= p.index) {
            run.reopened(agent);
        }
        let m = &batch[p.index];
        let screen = screens
            .as_mut()
            .and_then(|(s, start)| s.get(*start + p.index))
            .expect("an event the rules hear is a message read for them");
        run.fire(
            sql,
            &Occurrence {
                trigger: Trigger::Event(p.event),
                ticket: p.ticket,
                contact: p.contact,
                channel: m.channel,
                account: m.account_name(),
                at: m.sent_at,
                message: Some(MessageFacts {
                    text: &m.text,
                    kind: m.kind,
                    id: p.message_id,
                    screen,
                }),
                facts: p.facts,
            },
        )?;
    }
    for (_, agent) in reopened {
        run.reopened(agent);
    }
    // A rule may have closed these conversations' tickets or marked them spam. The next message
    // goes to the conversation's open ticket, else its newest (as `open_conversation` finds
    // them). A draft the batch started is the newest, and one still open is the open one:
    // carry on from what the rules left in it. Otherwise (a written ticket, or a stored one a
    // rule closed while a newer closed ticket may exist) look the conversation up again when
    // its next message comes, from the store with the drafts written.
    let mut reread = false;
    for key in unsettled {
        let Some(t) = work.get_mut(&key).and_then(|w| w.ticket.as_mut()) else {
            work.remove(&key);
            continue;
        };
        match run.drafted(t.state.number) {
            Some((state, new)) if new || state.lifecycle.status == Status::Open => {
                t.state.lifecycle = state.lifecycle.clone();
                t.state.updated_at = state.updated_at;
            }
            drafted => {
                reread |= drafted.is_some();
                work.remove(&key);
            }
        }
    }
    if reread {
        run.flush(sql)?;
    }
    // An automatic reply moved these tickets' counts in the store (it writes the drafts first):
    // read them again too.
    if !run.replied.is_empty() {
        let replied = std::mem::take(&mut run.replied);
        work.retain(|_, w| {
            !w.ticket
                .as_ref()
                .is_some_and(|t| replied.contains(&t.state.number))
        });
    }
    Ok(taken)
}

/// After agents closed tickets or marked them spam: `ticket_closed` rules run, and the agents who
/// had them take waiting tickets from their teams' backlog (`drain_backlog`).
fn after_leaving_open(
    sql: &Sql<'_>,
    routing: &Routing,
    tickets: &[(TicketNumber, bool)],
    at: Millis,
) -> Result<()> {
    let mut run = Run::new(routing, false);
    let on_closed = routing.listens(Event::TicketClosed);
    for &(n, closed) in tickets {
        let Some(t) = sql.rule_ticket(n)? else {
            continue;
        };
        if closed && on_closed {
            run.fire(
                sql,
                &Occurrence {
                    trigger: Trigger::Event(Event::TicketClosed),
                    ticket: n,
                    contact: t.contact,
                    channel: t.channel,
                    account: &t.account,
                    at,
                    message: None,
                    facts: Facts::default(),
                },
            )?;
        }
        if let Some(agent) = &t.assignment.agent {
            run.drain(sql, agent, at)?;
        }
    }
    run.finish(sql)?;
    if let Some(after) = run.wrote_messages_after {
        sql.index_messages_after(after)?;
    }
    Ok(())
}

/// What one `tix tick` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Timer rules that matched a ticket.
    pub fired: usize,
    pub auto_closed: usize,
    /// Waiting tickets handed to agents who became free.
    pub handed: usize,
}

/// Timers at `now`: each timer rule on the tickets whose time has come (once per idle stretch or
/// per ticket), the auto-close, then the backlog of `drain_backlog` teams.
fn tick_in(sql: &Sql<'_>, routing: &Routing, now: Millis) -> Result<TickReport> {
    let mut report = TickReport::default();
    let mut run = Run::new(routing, false);
    let auto_close = routing.auto_close.map(|d| crate::rules::Rule {
        name: crate::rules::AUTO_CLOSE.to_string(),
        on: vec![Trigger::Idle(d)],
        when: None,
        then: vec![crate::rules::Action::Close],
        stop: false,
        once_per_ticket: false,
    });
    let timers = routing
        .rules
        .iter()
        .enumerate()
        .flat_map(|(i, r)| r.on.iter().map(move |t| (i, r, *t)))
        .chain(auto_close.iter().map(|r| (usize::MAX, r, r.on[0])));
    for (index, rule, trigger) in timers {
        let candidates = match trigger {
            Trigger::Event(_) => continue,
            Trigger::Idle(d) => sql.idle_tickets(now - d)?,
            Trigger::UnassignedFor(d) => sql.unassigned_tickets(now - d)?,
        };
        for n in candidates {
            let Some(t) = sql.rule_ticket(n)? else {
                continue;
            };
            // Once per stretch: an idle ticket fires again only after new messages.
            let since = match trigger {
                Trigger::Idle(_) => sql.last_message_at(n)?.unwrap_or(t.created_at),
                _ => t.created_at,
            };
            if sql
                .rule_fired_at(n, &rule.name, rule.once_per_ticket)?
                .is_some_and(|at| at >= since)
            {
                continue;
            }
            let fired = run.fire_one(
                sql,
                &Occurrence {
                    trigger,
                    ticket: n,
                    contact: t.contact,
                    channel: t.channel,
                    account: &t.account,
                    at: now,
                    message: None,
                    facts: Facts::default(),
                },
                index,
                rule,
            )?;
            if fired {
                if index == usize::MAX {
                    report.auto_closed += 1;
                } else {
                    report.fired += 1;
                }
            }
        }
    }
    for team in routing.teams.iter().filter(|t| t.drain_backlog) {
        for agent in routing.members(&team.name) {
            report.handed += run.drain(sql, &agent.handle, now)?;
        }
    }
    run.finish(sql)?;
    if let Some(after) = run.wrote_messages_after {
        sql.index_messages_after(after)?;
    }
    Ok(report)
}

/// How an arrival joins its conversation's tickets.
enum Joins {
    Current,
    Reopen,
    New,
}

/// The lifecycle's decision for one arriving message (DESIGN §2, step 3).
fn choose_ticket(current: Option<&ArrivalState>, m: &Inbound, window: Option<Millis>) -> Joins {
    let Some(t) = current else {
        return Joins::New;
    };
    if m.direction == Direction::Out {
        // An agent's message from a history export never changes a ticket's status.
        return Joins::Current;
    }
    match t.lifecycle.status {
        Status::Open | Status::Spam => Joins::Current,
        Status::Closed => {
            let closed_at = t.lifecycle.closed_at.unwrap_or(i64::MIN);
            match window {
                Some(w) if m.sent_at.saturating_sub(closed_at) <= w => Joins::Reopen,
                _ => Joins::New,
            }
        }
    }
}

/// The conversation's open ticket, or a new one opened by the agent (journalled). Returns the
/// ticket and whether it is new.
fn open_or_reuse(
    sql: &Sql<'_>,
    ctx: &Ctx,
    conversation: ConversationId,
) -> Result<(TicketNumber, bool)> {
    if let Some(open) = sql.other_open_ticket(conversation, 0)? {
        return Ok((open, false));
    }
    let number = sql.insert_ticket(conversation, ctx.at, &ctx.agent)?;
    journal(
        sql,
        &Change::Created { ticket: number },
        &ctx.actor(),
        ctx.at,
        None,
        None,
    )?;
    Ok((number, true))
}

fn arrival_actor(m: &Inbound) -> Actor {
    match m.direction {
        Direction::In => Actor::Customer,
        Direction::Out => m.agent.clone().map(Actor::Agent).unwrap_or(Actor::System),
    }
}

fn open_conversation(
    sql: &Sql<'_>,
    writer: &mut ArrivalWriter<'_>,
    account: AccountId,
    m: &Inbound,
) -> Result<Option<ConversationWork>> {
    if let Some(known) = writer.conversation(account, &m.customer_id)? {
        return Ok(Some(ConversationWork {
            id: known.conversation.id,
            contact: known.conversation.contact_id,
            new_contact: false,
            tickets_started: 0,
            unnamed: known.unnamed,
            ticket: known.ticket.map(|state| TicketWork {
                state,
                new: None,
                dirty: false,
                routing: known.ticket_routing.clone(),
            }),
        }));
    }
    // A message id already stored under another customer id is a duplicate too: find out before
    // creating a contact for it.
    if writer.message_exists(account, &m.message_id)? {
        return Ok(None);
    }
    // Named by the channel id until a message brings a display name (the one being stored does
    // it right away), so the name never depends on how arrivals were batched.
    let contact = sql.create_contact(&m.customer_id, m.sent_at)?;
    let id = sql.create_conversation(account, &m.customer_id, contact, m.sent_at)?;
    Ok(Some(ConversationWork {
        id,
        contact,
        new_contact: true,
        tickets_started: 0,
        unnamed: true,
        ticket: None,
    }))
}

fn fresh_arrival_state(number: TicketNumber, at: Millis) -> ArrivalState {
    ArrivalState {
        number,
        lifecycle: Lifecycle {
            status: Status::Open,
            closed_at: None,
            closed_by: None,
            reopen_count: 0,
        },
        updated_at: at,
        first_response_at: None,
        message_count: 0,
        last_message_id: None,
        last_message_at: None,
        waiting_since: None,
        unread: 0,
        agent_replies: 0,
    }
}

/// Updates a ticket's working state for one stored message (DESIGN §2, step 4).
fn apply_arrival(t: &mut ArrivalState, message_id: i64, m: &Inbound) {
    t.message_count += 1;
    if t.last_message_at.is_none_or(|at| m.sent_at >= at) {
        t.last_message_at = Some(m.sent_at);
        t.last_message_id = Some(message_id);
    }
    t.updated_at = t.updated_at.max(m.sent_at);
    match (m.direction, t.lifecycle.status) {
        (Direction::Out, _) => {
            t.agent_replies += 1;
            t.first_response_at.get_or_insert(m.sent_at);
            t.waiting_since = None;
            t.unread = 0;
        }
        // Spam takes messages silently: nothing waits, nothing is unread.
        (Direction::In, Status::Spam) => {}
        (Direction::In, _) => {
            t.waiting_since.get_or_insert(m.sent_at);
            t.unread += 1;
        }
    }
}

fn assignment_plan(t: &Ticket, after: Assignment) -> Plan {
    if t.assignment == after {
        Err(format!("#{} is already assigned so", t.number))
    } else {
        Ok(vec![Change::Assignment {
            ticket: t.number,
            before: t.assignment.clone(),
            after,
        }])
    }
}

fn lifecycle_change(t: &Ticket, after: Lifecycle) -> Change {
    Change::Lifecycle {
        ticket: t.number,
        before: t.lifecycle.clone(),
        after,
    }
}

fn other_open_refusal(ticket: TicketNumber, other: TicketNumber) -> String {
    format!(
        "#{ticket} cannot be opened: its conversation already has open ticket #{other}; \
         close #{other} first"
    )
}

/// A name for an agent, team, label or field: trimmed, not empty, no control characters (names
/// are printed in lists and journal lines, where they must not drive the terminal).
fn plain_name<'a>(what: &str, name: &'a str) -> Result<&'a str> {
    let name = name.trim();
    if name.is_empty() {
        return refused(format!("{what} needs a name"));
    }
    if name.chars().any(char::is_control) {
        return refused(format!("{what} name cannot contain control characters"));
    }
    Ok(name)
}

fn numbers(tickets: &[TicketNumber]) -> String {
    tickets
        .iter()
        .map(|n| format!("#{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn tickets_of(changes: &[Change]) -> Vec<TicketNumber> {
    let mut out: Vec<TicketNumber> = changes.iter().filter_map(Change::ticket).collect();
    out.dedup();
    out
}

fn action_changes(sql: &Sql<'_>, action: i64) -> Result<Vec<Change>> {
    sql.action_payloads(action)?
        .iter()
        .map(|p| {
            serde_json::from_str::<Change>(p).map_err(|e| {
                DeskError::Refused(format!(
                    "the journal entry of this action is unreadable: {e}"
                ))
            })
        })
        .collect()
}

/// Stores a reply on a ticket, in the caller's transaction. `check_window` holds it to the
/// channel's reply window; a private reply to a comment has its own window instead.
fn reply_in(
    sql: &Sql<'_>,
    ctx: &Ctx,
    ticket: TicketNumber,
    text: &str,
    check_window: bool,
) -> Result<Done> {
    let Some(t) = sql.ticket(ticket)? else {
        return refused(format!("there is no ticket #{ticket}"));
    };
    if t.lifecycle.status == Status::Spam {
        return refused(format!("#{ticket} is spam; mark it not spam to reply"));
    }
    if check_window
        && let Some(window) = t.channel.reply_window()
        && let Some(last_in) = sql.last_inbound_at(t.conversation_id)?
        && ctx.at - last_in > window
    {
        return refused(format!(
            "#{ticket}: {} allows a reply only within {} hours of the customer's last \
             message, and they last wrote {} ago; wait for them to write again",
            t.channel.as_str(),
            window / 3_600_000,
            time::age(ctx.at - last_in)
        ));
    }
    let account = sql.account_of_conversation(t.conversation_id)?;
    let last = sql.last_message_id()?;
    let mut writer = sql.arrival_writer()?;
    // Our own id for the reply; an imported message may hold one like it, so take the
    // next free one.
    let mut attempt = 0;
    let message = loop {
        attempt += 1;
        let external_id = match attempt {
            1 => format!("tix-out-{}", last + 1),
            _ => format!("tix-out-{}-{attempt}", last + 1),
        };
        let stored = writer.insert_message(&NewMessage {
            account_id: account,
            external_id: &external_id,
            conversation_id: t.conversation_id,
            ticket,
            direction: Direction::Out,
            author: Some(&ctx.agent),
            kind: crate::domain::MessageKind::Text,
            body: text,
            sent_at: ctx.at,
        })?;
        if let Some(id) = stored {
            break id;
        }
    };
    drop(writer);
    sql.record_reply(ticket, message, ctx.at)?;
    sql.index_messages_after(last)?;
    journal(
        sql,
        &Change::Reply { ticket, message },
        &ctx.actor(),
        ctx.at,
        None,
        None,
    )?;
    Ok(Done {
        summary: format!("replied on #{ticket}"),
        changed: vec![ticket],
        skipped: vec![],
        undoable: false,
    })
}

fn journal(
    sql: &Sql<'_>,
    change: &Change,
    actor: &Actor,
    at: Millis,
    action_id: Option<i64>,
    via: Option<&str>,
) -> Result<()> {
    let payload = payload_of(change)?;
    sql.append_event(&NewEvent {
        ticket: change.ticket(),
        kind: change.event_kind(),
        actor,
        at,
        payload: &payload,
        action_id,
        via,
    })?;
    Ok(())
}

/// A change as its journal line records it.
fn payload_of(change: &Change) -> Result<String> {
    serde_json::to_string(change)
        .map_err(|e| DeskError::Refused(format!("cannot journal this change: {e}")))
}

/// Applies a change only if what it changes is still as it was when the change was planned, then
/// journals it. This is what makes undo safe against other agents' work, and it keeps the
/// one-open-ticket invariant whatever the change.
fn apply_checked(
    sql: &Sql<'_>,
    change: &Change,
    actor: &Actor,
    at: Millis,
    action_id: Option<i64>,
    via: Option<&str>,
) -> Result<()> {
    let ticket = |n: TicketNumber| -> Result<Ticket> {
        sql.ticket(n)?
            .ok_or_else(|| DeskError::Refused(format!("there is no ticket #{n}")))
    };
    match change {
        Change::Lifecycle {
            ticket: n,
            before,
            after,
        } => {
            let t = ticket(*n)?;
            if &t.lifecycle != before {
                return refused(changed_since(sql, *n)?);
            }
            if after.status == Status::Open
                && let Some(other) = sql.other_open_ticket(t.conversation_id, *n)?
            {
                return refused(other_open_refusal(*n, other));
            }
            sql.set_lifecycle(*n, after, at)?;
        }
        Change::Assignment {
            ticket: n,
            before,
            after,
        } => {
            if !sql.swap_assignment(*n, before, after, at)? {
                ticket(*n)?;
                return refused(changed_since(sql, *n)?);
            }
        }
        Change::FollowUp {
            ticket: n,
            before,
            after,
        } => {
            if ticket(*n)?.follow_up != *before {
                return refused(changed_since(sql, *n)?);
            }
            sql.set_follow_up(*n, *after, at)?;
        }
        Change::Label {
            ticket: n,
            label,
            added,
        } => {
            if !sql.toggle_label(*n, label, *added)? {
                return refused(changed_since(sql, *n)?);
            }
        }
        Change::Field {
            ticket: n,
            name,
            before,
            after,
        } => {
            if &sql.field(*n, name)? != before {
                return refused(changed_since(sql, *n)?);
            }
            sql.set_field(*n, name, after.as_deref())?;
        }
        Change::Note {
            ticket: n,
            note,
            added,
        } => {
            if sql.note_shown(*n, *note)? != Some(!added) {
                return refused(changed_since(sql, *n)?);
            }
            sql.set_note_shown(*note, *added)?;
        }
        Change::ContactMerge {
            from,
            into,
            conversations,
            merged,
        } => {
            let (source, target) = if *merged {
                (*from, *into)
            } else {
                (*into, *from)
            };
            if *merged && let Some(Some(elsewhere)) = sql.contact_exists(target)? {
                return refused(format!(
                    "contact {target} has since been merged into {elsewhere}; nothing was changed"
                ));
            }
            for c in conversations {
                if sql.contact_of_conversation(*c)? != Some(source) {
                    return refused(format!(
                        "contact {source} no longer holds the conversations this would move"
                    ));
                }
            }
            sql.move_conversations(conversations, target)?;
            sql.set_merged_into(*from, merged.then_some(*into))?;
        }
        Change::Created { .. } | Change::Reply { .. } => {
            return refused("a created ticket or a sent reply cannot be changed back");
        }
    }
    journal(sql, change, actor, at, action_id, via)
}

/// Tells an agent what happened to a ticket since they last saw it.
/// Why an action on a ticket that moved on since the agent saw it was refused, in the words of
/// the journal: "#245 was closed by bob 2m ago".
fn moved_on(sql: &Sql<'_>, ticket: TicketNumber, now: Millis) -> Result<String> {
    Ok(match sql.last_event(ticket)? {
        Some((kind, actor, at)) => {
            let what = match kind.as_str() {
                "created" => "opened".to_string(),
                "marked_spam" => "marked spam".to_string(),
                "not_spam" => "marked not spam".to_string(),
                other => other.replace('_', " "),
            };
            let when = if now - at < 60_000 {
                "a moment ago".to_string()
            } else {
                format!("{} ago", time::age(now - at))
            };
            format!("#{ticket} was {what} by {actor} {when}; nothing was changed")
        }
        None => format!("#{ticket} has changed since you saw it; nothing was changed"),
    })
}

fn changed_since(sql: &Sql<'_>, ticket: TicketNumber) -> Result<String> {
    Ok(match sql.last_event(ticket)? {
        Some((kind, actor, at)) => format!(
            "#{ticket} has changed since: {} by {actor} at {}; nothing was changed",
            kind.replace('_', " "),
            time::short_local(at)
        ),
        None => format!("#{ticket} has changed since; nothing was changed"),
    })
}
