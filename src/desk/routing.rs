//! Running the routing rules inside the desk's write transaction.
//!
//! Rules change the tickets of a batch of arrivals in its drafts (see [`Draft`]), and any other
//! ticket through the same check-and-set path as agents ([`apply_checked`]). Every change is
//! journalled with the rule's name as actor, but never as an agent action: rule changes are not
//! on anyone's undo stack, and they trigger no further rules, so rules cannot loop.

use std::collections::BTreeMap;

// Looked up for every rule of every message: a fast hash, as keys are the batch's own numbers.
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use super::{Result, apply_checked, journal, payload_of};
use crate::desk::DeskError;
use crate::domain::{
    Actor, Assignment, Change, ChannelKind, ContactId, ConversationId, Direction, Lifecycle,
    MessageKind, Millis, Status, TicketNumber,
};
use crate::rules::assign::Pool;
use crate::rules::eval::{
    Facts, Known, MessageFacts, Screen, Subject, TicketState, Verdict, holds,
};
use crate::rules::trace::{ActionTrace, EventTrace, Outcome, RuleTrace};
use crate::rules::{Action, Event, HistoryReads, Routing, Rule, Strategy, Trigger, rule_author};
use crate::store::{ArrivalState, NewEvent, NewMessage, Sql};

/// One event on one ticket for the rules to consider.
pub(crate) struct Occurrence<'a> {
    pub trigger: Trigger,
    pub ticket: TicketNumber,
    pub contact: ContactId,
    pub channel: ChannelKind,
    pub account: &'a str,
    pub at: Millis,
    pub message: Option<MessageFacts<'a>>,
    /// What is known of the event without a query (see [`Facts`]).
    pub facts: Facts,
}

/// A ticket the batch's messages went to, not written yet: one the batch started, or a stored
/// one with new messages. The batch holds it alone inside its write transaction, so rules change
/// it here without a check-and-set, and [`Run::flush`] writes it once with its final state
/// instead of writing it and then updating it per change.
pub(crate) struct Draft {
    conversation: ConversationId,
    contact: ContactId,
    /// Who started it and when, for a ticket the batch started; `None`: it is stored already.
    new: Option<(String, Millis)>,
    state: ArrivalState,
    /// What rules changed, `None` where they left it as it was.
    assignment: Option<Assignment>,
    follow_up: Option<bool>,
    /// Labels put on (`true`) or taken off, last word per label.
    labels: Vec<(String, bool)>,
    /// Fields set or cleared, last word per field.
    fields: Vec<(String, Option<String>)>,
}

impl Draft {
    pub fn new(
        conversation: ConversationId,
        contact: ContactId,
        new: Option<(String, Millis)>,
        state: ArrivalState,
    ) -> Draft {
        Draft {
            conversation,
            contact,
            new,
            state,
            assignment: None,
            follow_up: None,
            labels: Vec::new(),
            fields: Vec::new(),
        }
    }

    /// Does in memory what [`apply_checked`] does to a stored ticket.
    fn fold(&mut self, change: &Change, at: Millis) {
        match change {
            Change::Assignment { after, .. } => {
                self.assignment = Some(after.clone());
                self.state.updated_at = self.state.updated_at.max(at);
            }
            Change::FollowUp { after, .. } => {
                self.follow_up = Some(*after);
                self.state.updated_at = self.state.updated_at.max(at);
            }
            Change::Lifecycle { after, .. } => {
                self.state.lifecycle = after.clone();
                self.state.updated_at = self.state.updated_at.max(at);
            }
            Change::Label { label, added, .. } => {
                self.labels.retain(|(l, _)| l != label);
                self.labels.push((label.clone(), *added));
            }
            Change::Field { name, after, .. } => {
                self.fields.retain(|(f, _)| f != name);
                self.fields.push((name.clone(), after.clone()));
            }
            // Notes and replies write rows of their own: the draft is written before them.
            Change::Created { .. }
            | Change::Note { .. }
            | Change::Reply { .. }
            | Change::ContactMerge { .. } => {
                unreachable!("only a ticket's own state is folded into a draft")
            }
        }
    }
}

/// A journal line waiting for its draft ticket to be written.
struct Line {
    ticket: TicketNumber,
    kind: &'static str,
    actor: Actor,
    at: Millis,
    payload: String,
}

/// One run of the rules: a batch of arrivals (all its segments), an agent's close, or a tick.
/// Holds what was read so far, so each fact is fetched once per run.
pub(crate) struct Run<'r> {
    routing: &'r Routing,
    /// Shared by the segments of a batch: take it in, and back out after [`Run::finish`].
    pub pool: Pool,
    known: HashMap<TicketNumber, Known>,
    /// Tickets this run started: no rule has fired on them before.
    fresh: HashSet<TicketNumber>,
    /// (ticket, rule index) fired during this run.
    fired: HashSet<(TicketNumber, usize)>,
    /// The id after which this run stored messages (automatic replies), if it did.
    pub wrote_messages_after: Option<i64>,
    pub traces: Option<Vec<EventTrace>>,
    /// How many times a rule matched in this run.
    pub matched: usize,
    /// Tickets the run sent a message on: their stored counts moved.
    pub replied: HashSet<TicketNumber>,
    /// Tickets of the batch not written yet, in number order.
    drafts: BTreeMap<TicketNumber, Draft>,
    /// The contacts of the drafts, with their lowest draft number: their history in the store
    /// is not complete yet. Tickets the batch started, then stored tickets.
    new_drafts_of: HashMap<ContactId, TicketNumber>,
    stored_drafts_of: HashMap<ContactId, TicketNumber>,
    /// Journal lines and rule firings of drafts, written after them, in order.
    lines: Vec<Line>,
    fired_rows: Vec<(TicketNumber, String, Millis)>,
}

impl<'r> Run<'r> {
    pub fn new(routing: &'r Routing, explain: bool) -> Run<'r> {
        Run {
            routing,
            pool: Pool::default(),
            known: HashMap::new(),
            fresh: HashSet::new(),
            fired: HashSet::new(),
            wrote_messages_after: None,
            traces: explain.then(Vec::new),
            matched: 0,
            replied: HashSet::new(),
            drafts: BTreeMap::new(),
            new_drafts_of: HashMap::new(),
            stored_drafts_of: HashMap::new(),
            lines: Vec::new(),
            fired_rows: Vec::new(),
        }
    }

    /// Takes a ticket the batch's messages went to: the run writes it (see [`Draft`]). Handed
    /// again by a later segment, only its arrival state is new; `routing` is its assignment and
    /// creation time if the batch read them.
    pub fn draft(
        &mut self,
        sql: &Sql<'_>,
        number: TicketNumber,
        mut draft: Draft,
        routing: Option<(Assignment, Millis)>,
    ) -> Result<()> {
        let status = draft.state.lifecycle.status;
        if let Some(d) = self.drafts.get_mut(&number) {
            d.state = draft.state;
        } else {
            // Written by an earlier flush of this run: an update from now on.
            if self.fresh.contains(&number) {
                draft.new = None;
            }
            match &draft.new {
                Some((_, created_at)) => {
                    self.fresh_ticket(number, *created_at);
                    let first = self.new_drafts_of.entry(draft.contact).or_insert(number);
                    *first = (*first).min(number);
                }
                None => {
                    let first = self.stored_drafts_of.entry(draft.contact).or_insert(number);
                    *first = (*first).min(number);
                }
            }
            self.drafts.insert(number, draft);
        }
        if let Some((assignment, created_at)) = routing {
            self.known.entry(number).or_default().state = Some(TicketState {
                status,
                assignment,
                created_at,
            });
        }
        // The arrival may have reopened it: the rules see the status the batch gave it.
        self.state(sql, number)?;
        if let Some(s) = self.known.get_mut(&number).and_then(|k| k.state.as_mut()) {
            s.status = status;
        }
        Ok(())
    }

    /// A draft's lifecycle and last update as the rules left them, for the batch to carry on
    /// from, and whether the batch started it; `None` if the ticket is written.
    pub fn drafted(&self, ticket: TicketNumber) -> Option<(&ArrivalState, bool)> {
        self.drafts
            .get(&ticket)
            .map(|d| (&d.state, d.new.is_some()))
    }

    /// The ticket's assignment as the run knows it, if it does.
    pub fn known_assignment(&self, ticket: TicketNumber) -> Option<&Assignment> {
        self.known
            .get(&ticket)
            .and_then(|k| k.state.as_ref())
            .map(|s| &s.assignment)
    }

    /// Whether the ticket is a draft: its journal lines must wait for it.
    pub fn is_draft(&self, ticket: Option<TicketNumber>) -> bool {
        ticket.is_some_and(|n| self.drafts.contains_key(&n))
    }

    /// Journals a change to a draft once the draft is written.
    pub fn journal_later(&mut self, change: &Change, actor: Actor, at: Millis) -> Result<()> {
        let ticket = change
            .ticket()
            .expect("a change to a draft names its ticket");
        self.lines.push(Line {
            ticket,
            kind: change.event_kind(),
            actor,
            at,
            payload: payload_of(change)?,
        });
        Ok(())
    }

    /// Writes the drafts with their labels and fields, then their journal lines and rule
    /// firings, in bulk. Afterwards those tickets are stored like any other.
    pub fn flush(&mut self, sql: &Sql<'_>) -> Result<()> {
        if self.drafts.is_empty() {
            return Ok(());
        }
        let drafts = std::mem::take(&mut self.drafts);
        self.new_drafts_of.clear();
        self.stored_drafts_of.clear();
        let mut writer = sql.arrival_writer()?;
        let unassigned = Assignment::default();
        for d in drafts.values() {
            match &d.new {
                Some((created_by, created_at)) => writer.insert_ticket(
                    d.conversation,
                    *created_at,
                    created_by,
                    &d.state,
                    d.assignment.as_ref().unwrap_or(&unassigned),
                    d.follow_up.unwrap_or(false),
                )?,
                None => writer.update_ticket(&d.state)?,
            }
        }
        drop(writer);
        // Stored tickets: only what the rules changed.
        for (n, d) in drafts.iter().filter(|(_, d)| d.new.is_none()) {
            let at = d.state.updated_at;
            if let Some(a) = &d.assignment {
                sql.set_assignment(*n, a, at)?;
            }
            if let Some(on) = d.follow_up {
                sql.set_follow_up(*n, on, at)?;
            }
            for (label, on) in &d.labels {
                sql.set_label(*n, label, *on)?;
            }
            for (name, value) in &d.fields {
                sql.set_field(*n, name, value.as_deref())?;
            }
        }
        // Started by the batch: everything in bulk.
        let started = || drafts.iter().filter(|(_, d)| d.new.is_some());
        let labels: Vec<(TicketNumber, &str)> = started()
            .flat_map(|(n, d)| {
                d.labels
                    .iter()
                    .filter(|(_, on)| *on)
                    .map(|(l, _)| (*n, l.as_str()))
            })
            .collect();
        sql.insert_labels(&labels)?;
        let fields: Vec<(TicketNumber, &str, &str)> = started()
            .flat_map(|(n, d)| {
                d.fields
                    .iter()
                    .filter_map(|(f, v)| Some((*n, f.as_str(), v.as_deref()?)))
            })
            .collect();
        sql.insert_fields(&fields)?;
        let mut lines = std::mem::take(&mut self.lines);
        // In time order, so the journal's index by time grows at its end instead of all over
        // the batch's stretch of time (and its index by ticket mostly too: the batch numbers
        // new tickets in time order). Each ticket's lines keep their order: a line sorts no
        // earlier than the ticket's line before it, should messages have come out of order.
        let mut latest: HashMap<TicketNumber, Millis> = HashMap::new();
        let mut keyed: Vec<((Millis, TicketNumber), Line)> = lines
            .drain(..)
            .map(|l| {
                let at = latest.entry(l.ticket).or_insert(l.at);
                *at = (*at).max(l.at);
                ((*at, l.ticket), l)
            })
            .collect();
        keyed.sort_by_key(|(key, _)| *key);
        lines.extend(keyed.into_iter().map(|(_, l)| l));
        let events: Vec<NewEvent<'_>> = lines
            .iter()
            .map(|l| NewEvent {
                ticket: Some(l.ticket),
                kind: l.kind,
                actor: &l.actor,
                at: l.at,
                payload: &l.payload,
                action_id: None,
                via: None,
            })
            .collect();
        sql.append_events(&events)?;
        let mut fired = std::mem::take(&mut self.fired_rows);
        fired.sort_by_key(|(n, _, _)| *n);
        let fired: Vec<(TicketNumber, &str, Millis)> = fired
            .iter()
            .map(|(n, rule, at)| (*n, rule.as_str(), *at))
            .collect();
        sql.record_rules_fired(&fired)?;
        Ok(())
    }

    /// Writes the drafts first if the ticket is one: what follows needs it stored.
    fn flush_for(&mut self, sql: &Sql<'_>, ticket: TicketNumber) -> Result<()> {
        if self.drafts.contains_key(&ticket) {
            self.flush(sql)?;
        }
        Ok(())
    }

    /// Registers a ticket the run just created: its state is known without a query.
    fn fresh_ticket(&mut self, ticket: TicketNumber, created_at: Millis) {
        self.fresh.insert(ticket);
        self.known.insert(
            ticket,
            Known {
                state: Some(TicketState {
                    status: Status::Open,
                    assignment: Assignment::default(),
                    created_at,
                }),
                labels: Some(Vec::new()),
                fields: Some(Vec::new()),
            },
        );
    }

    /// A ticket of `agent` that the batch reopened: it counts as theirs from the rules of its
    /// message on (the counts were read before the batch wrote anything).
    pub fn reopened(&mut self, agent: &str) {
        self.pool.moved(None, Some(agent));
    }

    /// Writes what must outlive the run (drafts, rotation pointers).
    pub fn finish(&mut self, sql: &Sql<'_>) -> Result<()> {
        self.flush(sql)?;
        self.pool.save(sql)?;
        Ok(())
    }

    /// Runs every rule listening to the occurrence's event, in file order, until one says stop.
    pub fn fire(&mut self, sql: &Sql<'_>, o: &Occurrence<'_>) -> Result<()> {
        let routing = self.routing;
        match o.trigger {
            // Deciding, not explaining: only the rules that listen, and of those with
            // `once_per_ticket` only the ones that have not fired on this ticket in this run.
            Trigger::Event(e) if self.traces.is_none() => self.fire_rules(
                sql,
                o,
                (routing.listeners(e).iter()).map(|&i| (i, &routing.rules[i])),
                |_| true,
            ),
            _ => self.fire_rules(sql, o, routing.rules.iter().enumerate(), |r| {
                r.on.contains(&o.trigger)
            }),
        }
    }

    /// Runs one timer rule on one ticket; returns whether it matched.
    pub fn fire_one(
        &mut self,
        sql: &Sql<'_>,
        o: &Occurrence<'_>,
        index: usize,
        rule: &Rule,
    ) -> Result<bool> {
        let before = self.matched;
        self.fire_rules(sql, o, std::iter::once((index, rule)), |_| true)?;
        Ok(self.matched > before)
    }

    fn fire_rules<'x>(
        &mut self,
        sql: &Sql<'_>,
        o: &Occurrence<'_>,
        rules: impl Iterator<Item = (usize, &'x Rule)>,
        listens: impl Fn(&Rule) -> bool,
    ) -> Result<()> {
        let explain = self.traces.is_some();
        let mut trace = EventTrace {
            event: if explain {
                o.trigger.describe()
            } else {
                String::new()
            },
            ticket: o.ticket,
            rules: Vec::new(),
        };
        let mut stopped = false;
        let mut facts = o.facts.clone();
        // Deciding: what the message alone settled, worked out before the run (see [`Screen`]).
        let screen = o.message.map(|m| m.screen).filter(|_| !explain);
        for (index, rule) in rules {
            let mut rt = RuleTrace {
                rule: if explain {
                    rule.name.clone()
                } else {
                    String::new()
                },
                outcome: Outcome::NotListening,
                conditions: Vec::new(),
                actions: Vec::new(),
            };
            if !listens(rule) {
                if explain {
                    trace.rules.push(rt);
                }
                continue;
            }
            let verdict = screen
                .and_then(|s| s.verdicts.get(index).copied())
                .unwrap_or(Verdict::Depends);
            if verdict == Verdict::Fails {
                continue;
            }
            // Fired already in this run: known without a look at the conditions (an explanation
            // still shows them).
            if !explain && rule.once_per_ticket && self.fired.contains(&(o.ticket, index)) {
                continue;
            }
            if stopped {
                rt.outcome = Outcome::Stopped;
                if explain {
                    trace.rules.push(rt);
                }
                continue;
            }
            // (The auto-close is no rule of the file and reads no history.)
            if let Some(reads) = self.routing.history_reads(index)
                && reads.any()
                && self.unwritten(o.contact).hides_from(o.ticket, reads)
            {
                self.flush(sql)?;
            }
            let matched = match &rule.when {
                None => true,
                Some(_) if verdict == Verdict::Holds => true,
                Some(cond) => {
                    let mut subject = Subject {
                        sql,
                        ticket: o.ticket,
                        contact: o.contact,
                        channel: o.channel,
                        account: o.account,
                        now: o.at,
                        message: o.message,
                        known: self.known.entry(o.ticket).or_default(),
                        facts: &mut facts,
                        business_hours: self.routing.business_hours.as_ref(),
                    };
                    let mut lines = explain.then(Vec::new);
                    let held = holds(cond, &mut subject, self.routing, &mut lines)?;
                    rt.conditions = lines.unwrap_or_default();
                    held
                }
            };
            if !matched {
                rt.outcome = Outcome::NotMatched;
                if explain {
                    trace.rules.push(rt);
                }
                continue;
            }
            // Checked after the conditions: they are usually cheaper than the lookup.
            if rule.once_per_ticket && self.has_fired(sql, o.ticket, index, rule)? {
                rt.outcome = Outcome::AlreadyFired;
                if explain {
                    trace.rules.push(rt);
                }
                continue;
            }
            rt.outcome = Outcome::Matched;
            self.matched += 1;
            let on_record = rule.once_per_ticket || !matches!(o.trigger, Trigger::Event(_));
            if on_record {
                self.fired.insert((o.ticket, index));
            }
            let mut journalled = false;
            for action in &rule.then {
                let (at, wrote) = self.act(sql, o, rule, action, explain)?;
                journalled |= wrote;
                if explain {
                    rt.actions.push(at);
                }
            }
            // A once-per-ticket rule's journal lines on the ticket record its firing already
            // (`Sql::rule_fired_at`): a row is written only for a firing that changed nothing,
            // and for every timer firing of other rules.
            if on_record && !(rule.once_per_ticket && journalled) {
                if self.drafts.contains_key(&o.ticket) {
                    self.fired_rows.push((o.ticket, rule.name.clone(), o.at));
                } else {
                    sql.record_rule_fired(o.ticket, &rule.name, o.at)?;
                }
            }
            if explain {
                trace.rules.push(rt);
            }
            stopped = rule.stop;
        }
        if let Some(traces) = self.traces.as_mut() {
            traces.push(trace);
        }
        Ok(())
    }

    /// The part of the contact's history still in drafts.
    fn unwritten(&self, contact: ContactId) -> Unwritten {
        Unwritten {
            first_new: self.new_drafts_of.get(&contact).copied(),
            first_stored: self.stored_drafts_of.get(&contact).copied(),
        }
    }

    fn has_fired(
        &mut self,
        sql: &Sql<'_>,
        ticket: TicketNumber,
        index: usize,
        rule: &Rule,
    ) -> Result<bool> {
        if self.fired.contains(&(ticket, index)) {
            return Ok(true);
        }
        if self.fresh.contains(&ticket) {
            return Ok(false);
        }
        Ok(sql
            .rule_fired_at(ticket, &rule.name, rule.once_per_ticket)?
            .is_some())
    }

    fn state(&mut self, sql: &Sql<'_>, ticket: TicketNumber) -> Result<TicketState> {
        let known = self.known.entry(ticket).or_default();
        if let Some(s) = &known.state {
            return Ok(s.clone());
        }
        let t = sql
            .rule_ticket(ticket)?
            .ok_or_else(|| DeskError::Refused(format!("there is no ticket #{ticket}")))?;
        let s = TicketState {
            // A draft's status is the batch's, not yet the store's.
            status: self
                .drafts
                .get(&ticket)
                .map_or(t.status, |d| d.state.lifecycle.status),
            assignment: t.assignment,
            created_at: t.created_at,
        };
        self.known.entry(ticket).or_default().state = Some(s.clone());
        Ok(s)
    }

    /// Applies one action, returning what happened for the trace and whether it wrote a
    /// journal line.
    fn act(
        &mut self,
        sql: &Sql<'_>,
        o: &Occurrence<'_>,
        rule: &Rule,
        action: &Action,
        explain: bool,
    ) -> Result<(ActionTrace, bool)> {
        let mut trace = ActionTrace {
            action: if explain {
                action.describe()
            } else {
                String::new()
            },
            result: String::new(),
            why: Vec::new(),
        };
        let actor = Actor::Rule(rule.name.clone());
        let n = o.ticket;
        let state = self.state(sql, n)?;
        // Nobody could take the ticket: journalled with the reasons, after the assignment.
        let mut unrouted = None;
        let change = match action {
            Action::AssignAgent(handle) => {
                let agent = self.routing.agent(handle).ok_or_else(|| {
                    DeskError::Refused(format!("agent {handle} is not configured"))
                })?;
                match self.pool.eligible(sql, agent, o.channel, o.at)? {
                    Ok(_) => Some(Change::Assignment {
                        ticket: n,
                        before: state.assignment.clone(),
                        after: Assignment {
                            agent: Some(handle.clone()),
                            team: state.assignment.team.clone(),
                        },
                    }),
                    Err(reason) => {
                        let why = format!("{handle}: {reason}");
                        unrouted = Some(serde_json::json!({ "agent": handle, "why": [why] }));
                        trace.why.push(why);
                        trace.result = format!("{handle} {reason}; the ticket stays where it is");
                        None
                    }
                }
            }
            Action::AssignTeam {
                team,
                strategy,
                otherwise,
            } => {
                let (agent, mut why) = self.decide(sql, o, team, *strategy, *otherwise, explain)?;
                let last = otherwise.unwrap_or(*strategy);
                if agent.is_none() && last != Strategy::Queue {
                    // The journal says why nobody got it; worked out again only in that case.
                    let why = if explain {
                        why.clone()
                    } else {
                        self.decide(sql, o, team, *strategy, *otherwise, true)?.1
                    };
                    unrouted = Some(serde_json::json!({ "team": team, "why": why }));
                }
                trace.why.append(&mut why);
                Some(Change::Assignment {
                    ticket: n,
                    before: state.assignment.clone(),
                    after: Assignment {
                        agent,
                        team: Some(team.clone()),
                    },
                })
            }
            Action::Unassign => Some(Change::Assignment {
                ticket: n,
                before: state.assignment.clone(),
                after: Assignment::default(),
            }),
            Action::AddLabel(label) | Action::RemoveLabel(label) => {
                let add = matches!(action, Action::AddLabel(_));
                let has = self.has_label(sql, n, label)?;
                (has != add).then(|| Change::Label {
                    ticket: n,
                    label: label.clone(),
                    added: add,
                })
            }
            Action::SetField { name, value } => {
                let before = self.field(sql, n, name)?;
                Some(Change::Field {
                    ticket: n,
                    name: name.clone(),
                    before,
                    after: value.clone(),
                })
            }
            Action::FollowUp(on) => {
                let before = match self.drafts.get(&n).map(|d| (d.follow_up, d.new.is_some())) {
                    Some((Some(on), _)) => on,
                    // Started by the batch: not flagged yet.
                    Some((None, true)) => false,
                    _ => sql.ticket(n)?.is_some_and(|t| t.follow_up),
                };
                Some(Change::FollowUp {
                    ticket: n,
                    before,
                    after: *on,
                })
            }
            Action::AddNote(text) => {
                self.flush_for(sql, n)?;
                let note = sql.insert_note(n, &rule_author(&rule.name), text, o.at)?;
                journal(
                    sql,
                    &Change::Note {
                        ticket: n,
                        note,
                        added: true,
                    },
                    &actor,
                    o.at,
                    None,
                    None,
                )?;
                trace.result = "done".into();
                return Ok((trace, true));
            }
            Action::AutoReply(text) => {
                if state.status == Status::Spam {
                    trace.result = "not sent: the ticket is spam".into();
                    return Ok((trace, false));
                }
                self.flush_for(sql, n)?;
                self.auto_reply(sql, o, rule, text)?;
                trace.result = "sent".into();
                return Ok((trace, true));
            }
            Action::Close | Action::MarkSpam => {
                let target = if matches!(action, Action::Close) {
                    Status::Closed
                } else {
                    Status::Spam
                };
                match (state.status, target) {
                    (Status::Open, _) | (Status::Closed, Status::Spam) => {
                        let before = match self.drafts.get(&n) {
                            Some(d) => d.state.lifecycle.clone(),
                            None => {
                                sql.ticket(n)?
                                    .ok_or_else(|| {
                                        DeskError::Refused(format!("there is no ticket #{n}"))
                                    })?
                                    .lifecycle
                            }
                        };
                        let after = if target == Status::Closed {
                            Lifecycle {
                                status: Status::Closed,
                                closed_at: Some(o.at),
                                closed_by: Some(rule.name.clone()),
                                reopen_count: before.reopen_count,
                            }
                        } else {
                            Lifecycle {
                                status: Status::Spam,
                                ..before.clone()
                            }
                        };
                        Some(Change::Lifecycle {
                            ticket: n,
                            before,
                            after,
                        })
                    }
                    _ => None,
                }
            }
        };
        if let Some(payload) = unrouted {
            // After the change below (if any), so the thread reads "assigned to team, nobody
            // available because ...".
            let result = self.apply(sql, &state, change, &actor, o.at, explain, &mut trace);
            if self.drafts.contains_key(&n) {
                self.lines.push(Line {
                    ticket: n,
                    kind: "no_agent_available",
                    actor,
                    at: o.at,
                    payload: payload.to_string(),
                });
            } else {
                sql.append_event(&NewEvent {
                    ticket: Some(n),
                    kind: "no_agent_available",
                    actor: &actor,
                    at: o.at,
                    payload: &payload.to_string(),
                    action_id: None,
                    via: None,
                })?;
            }
            result?;
            return Ok((trace, true));
        }
        let applied = self.apply(sql, &state, change, &actor, o.at, explain, &mut trace)?;
        Ok((trace, applied))
    }

    /// Applies a planned change, in its draft or check-and-set, noting the outcome in the trace;
    /// returns whether it was applied (and journalled).
    #[allow(clippy::too_many_arguments)]
    fn apply(
        &mut self,
        sql: &Sql<'_>,
        state: &TicketState,
        change: Option<Change>,
        actor: &Actor,
        at: Millis,
        explain: bool,
        trace: &mut ActionTrace,
    ) -> Result<bool> {
        let Some(change) = change else {
            if trace.result.is_empty() {
                trace.result = "nothing to do: it already is so".into();
            }
            return Ok(false);
        };
        if is_noop(&change) {
            trace.result = "nothing to do: it already is so".into();
            return Ok(false);
        }
        let applied = match change.ticket().and_then(|n| self.drafts.get_mut(&n)) {
            // The batch holds a draft alone: nothing to check, nothing to write yet.
            Some(draft) => {
                draft.fold(&change, at);
                self.journal_later(&change, actor.clone(), at)
            }
            None => apply_checked(sql, &change, actor, at, None, None),
        };
        match applied {
            Ok(()) => {
                if explain {
                    trace.result = match &change {
                        Change::Assignment { after, .. } => match (&after.agent, &after.team) {
                            (Some(a), _) => format!("done: assigned to {a}"),
                            (None, Some(t)) => format!("done: waits in the {t} queue, no agent"),
                            (None, None) => "done".into(),
                        },
                        _ => "done".into(),
                    };
                }
                self.after_change(state, &change);
                Ok(true)
            }
            Err(DeskError::Refused(why)) => {
                trace.result = format!("not done: {why}");
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Keeps what the run knows in step with a change it just made; `before` is the ticket's
    /// state as the run knew it when the action began.
    fn after_change(&mut self, before: &TicketState, change: &Change) {
        let Some(n) = change.ticket() else {
            return;
        };
        let known = self.known.entry(n).or_default();
        let state = known.state.get_or_insert_with(|| before.clone());
        match change {
            Change::Assignment { after, .. } => {
                if before.status == Status::Open {
                    self.pool
                        .moved(before.assignment.agent.as_deref(), after.agent.as_deref());
                }
                state.assignment = after.clone();
            }
            Change::Lifecycle { after, .. } => {
                if before.status == Status::Open && after.status != Status::Open {
                    self.pool.moved(before.assignment.agent.as_deref(), None);
                }
                state.status = after.status;
            }
            Change::Label { label, added, .. } => {
                if let Some(labels) = known.labels.as_mut() {
                    if *added {
                        labels.push(label.clone());
                    } else {
                        labels.retain(|l| l != label);
                    }
                }
            }
            Change::Field { name, after, .. } => {
                if let Some(fields) = known.fields.as_mut() {
                    fields.retain(|(f, _)| f != name);
                    if let Some(v) = after {
                        fields.push((name.clone(), v.clone()));
                    }
                }
            }
            _ => {}
        }
    }

    /// Picks an agent of the team by the strategy, then by `otherwise` if nobody was found.
    fn decide(
        &mut self,
        sql: &Sql<'_>,
        o: &Occurrence<'_>,
        team: &str,
        strategy: Strategy,
        otherwise: Option<Strategy>,
        explain: bool,
    ) -> Result<(Option<String>, Vec<String>)> {
        let routing = self.routing;
        let pick = |pool: &mut Pool, s: Strategy| {
            pool.pick(
                sql, routing, team, s, o.channel, o.contact, o.ticket, o.at, explain,
            )
        };
        let mut first = pick(&mut self.pool, strategy)?;
        if first.agent.is_none()
            && let Some(other) = otherwise
        {
            let mut second = pick(&mut self.pool, other)?;
            if explain {
                first.why.push(format!("otherwise, by {}:", other.as_str()));
            }
            first.why.append(&mut second.why);
            first.agent = second.agent;
        }
        Ok((first.agent, first.why))
    }

    fn has_label(&mut self, sql: &Sql<'_>, n: TicketNumber, label: &str) -> Result<bool> {
        let known = self.known.entry(n).or_default();
        if known.labels.is_none() {
            known.labels = Some(sql.labels(n)?);
        }
        Ok(known
            .labels
            .as_ref()
            .is_some_and(|labels| labels.iter().any(|l| l == label)))
    }

    fn field(&mut self, sql: &Sql<'_>, n: TicketNumber, name: &str) -> Result<Option<String>> {
        let known = self.known.entry(n).or_default();
        if known.fields.is_none() {
            known.fields = Some(sql.fields(n)?);
        }
        Ok(known
            .fields
            .as_ref()
            .and_then(|f| f.iter().find(|(f, _)| f == name))
            .map(|(_, v)| v.clone()))
    }

    fn auto_reply(
        &mut self,
        sql: &Sql<'_>,
        o: &Occurrence<'_>,
        rule: &Rule,
        text: &str,
    ) -> Result<()> {
        let t = sql
            .ticket(o.ticket)?
            .ok_or_else(|| DeskError::Refused(format!("there is no ticket #{}", o.ticket)))?;
        let account = sql.account_of_conversation(t.conversation_id)?;
        let last = sql.last_message_id()?;
        self.wrote_messages_after.get_or_insert(last);
        let author = rule_author(&rule.name);
        let mut writer = sql.arrival_writer()?;
        let mut attempt = 0;
        let message = loop {
            attempt += 1;
            let external_id = match attempt {
                1 => format!("tix-rule-{}", last + 1),
                _ => format!("tix-rule-{}-{attempt}", last + 1),
            };
            let stored = writer.insert_message(&NewMessage {
                account_id: account,
                external_id: &external_id,
                conversation_id: t.conversation_id,
                ticket: o.ticket,
                direction: Direction::Out,
                author: Some(&author),
                kind: MessageKind::Text,
                body: text,
                sent_at: o.at,
            })?;
            if let Some(id) = stored {
                break id;
            }
        };
        drop(writer);
        sql.record_rule_message(o.ticket, message, o.at)?;
        self.replied.insert(o.ticket);
        journal(
            sql,
            &Change::Reply {
                ticket: o.ticket,
                message,
            },
            &Actor::Rule(rule.name.clone()),
            o.at,
            None,
            None,
        )
    }

    /// Hands the oldest waiting tickets of the agent's `drain_backlog` teams to them while they
    /// stay eligible. Returns how many were handed over.
    pub fn drain(&mut self, sql: &Sql<'_>, handle: &str, at: Millis) -> Result<usize> {
        let Some(agent) = self.routing.agent(handle) else {
            return Ok(0);
        };
        let mut handed = 0;
        for team in &agent.teams {
            if !self.routing.team(team).is_some_and(|t| t.drain_backlog) {
                continue;
            }
            let actor = Actor::Rule(format!("{team} backlog"));
            for n in sql.team_backlog(team, 200)? {
                let Some(t) = sql.rule_ticket(n)? else {
                    continue;
                };
                // No access to this ticket's channel: try the next one.
                if agent
                    .channels
                    .as_ref()
                    .is_some_and(|c| !c.contains(&t.channel))
                {
                    continue;
                }
                // Away, off shift or full: nothing more for this agent now.
                if self.pool.eligible(sql, agent, t.channel, at)?.is_err() {
                    return Ok(handed);
                }
                let change = Change::Assignment {
                    ticket: n,
                    before: t.assignment.clone(),
                    after: Assignment {
                        agent: Some(handle.to_string()),
                        team: t.assignment.team.clone(),
                    },
                };
                apply_checked(sql, &change, &actor, at, None, None)?;
                self.pool.moved(None, Some(handle));
                if let Some(k) = self.known.get_mut(&n) {
                    k.state = None;
                }
                handed += 1;
            }
        }
        Ok(handed)
    }
}

/// The part of a contact's history still in drafts: their lowest-numbered draft the batch
/// started (not in the store at all), and their lowest stored one (in the store, but without
/// what the batch did to it).
struct Unwritten {
    first_new: Option<TicketNumber>,
    first_stored: Option<TicketNumber>,
}

impl Unwritten {
    /// Whether a rule that reads `reads` may read that part of the history for `ticket`.
    fn hides_from(&self, ticket: TicketNumber, reads: &HistoryReads) -> bool {
        let earlier = |first: Option<TicketNumber>| first.is_some_and(|f| f < ticket);
        (reads.contact_labels && (self.first_new.is_some() || self.first_stored.is_some()))
            || (reads.first_ticket && earlier(self.first_new))
            || (reads.last_handler && (earlier(self.first_new) || earlier(self.first_stored)))
    }
}

fn is_noop(change: &Change) -> bool {
    match change {
        Change::Assignment { before, after, .. } => before == after,
        Change::Field { before, after, .. } => before == after,
        Change::FollowUp { before, after, .. } => before == after,
        _ => false,
    }
}

/// The rules that listen to arrivals and can close a ticket or mark it spam, by their place in the
/// file: a later message of the same conversation in the batch must see that change, so the batch
/// is cut there.
pub(crate) fn status_changing_rules(routing: &Routing) -> Vec<usize> {
    (routing.rules.iter().enumerate())
        .filter(|(_, r)| {
            r.on.iter().any(|t| {
                matches!(
                    t,
                    Trigger::Event(
                        Event::TicketCreated | Event::TicketReopened | Event::MessageReceived
                    )
                )
            }) && r
                .then
                .iter()
                .any(|a| matches!(a, Action::Close | Action::MarkSpam))
        })
        .map(|(i, _)| i)
        .collect()
}

/// Whether one of those rules might fire for this arrival's event, judging by the message alone.
pub(crate) fn might_change_status(
    routing: &Routing,
    rules: &[usize],
    event: Option<Event>,
    screen: &Screen,
) -> bool {
    rules.iter().any(|&i| {
        let r = &routing.rules[i];
        let hears = r.listens(Event::MessageReceived) || event.is_some_and(|e| r.listens(e));
        hears && screen.verdicts[i] != Verdict::Fails
    })
}
