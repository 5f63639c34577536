//! Whether a rule's conditions hold for a ticket.
//!
//! What the arrival batch already knows (channel, account, the message, a new ticket's state) is
//! read from memory; anything else (labels, fields, the contact's history) is fetched on first use
//! and only if a loaded rule asks for it, so rules cost no queries they do not need.

use super::{Bound, Cond, Hours, Routing, Test};
use crate::domain::{
    Assignment, ChannelKind, ContactId, MessageKind, Millis, Status, TicketNumber, time,
};
use crate::store::{Result, Sql};

/// A ticket's state as rules see it; kept up to date as rule actions change it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketState {
    pub status: Status,
    pub assignment: Assignment,
    pub created_at: Millis,
}

/// What is known of a ticket across one run of the rules (one batch, one tick). `None`: not
/// fetched yet.
#[derive(Debug, Clone, Default)]
pub struct Known {
    pub state: Option<TicketState>,
    pub labels: Option<Vec<String>>,
    pub fields: Option<Vec<(String, String)>>,
}

/// The message an event came with.
#[derive(Debug, Clone, Copy)]
pub struct MessageFacts<'a> {
    pub text: &'a str,
    pub kind: MessageKind,
    /// The stored message's id: replies counted for this event are those stored before it.
    pub id: i64,
    /// The message read for every rule.
    pub screen: &'a Screen,
}

/// What is known of one event across the rules that consider it; filled on first use.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Known without a query when the contact is new in this batch.
    pub first_ticket: Option<bool>,
    /// Known without a query for an arrival (the batch keeps the count).
    pub agent_replies: Option<i64>,
    pub contact_name: Option<String>,
    pub contact_labels: Option<Vec<String>>,
}

/// The ticket a rule is looking at, and the event's circumstances.
pub struct Subject<'a, 'c> {
    pub sql: &'a Sql<'c>,
    pub ticket: TicketNumber,
    pub contact: ContactId,
    pub channel: ChannelKind,
    pub account: &'a str,
    pub now: Millis,
    pub message: Option<MessageFacts<'a>>,
    pub known: &'a mut Known,
    pub facts: &'a mut Facts,
    /// The shop's hours, to explain `in_business_hours`.
    pub business_hours: Option<&'a Hours>,
}

impl<'a, 'c> Subject<'a, 'c> {
    pub fn state(&mut self) -> Result<&TicketState> {
        if self.known.state.is_none() {
            let t = self.sql.rule_ticket(self.ticket)?;
            self.known.state = Some(match t {
                Some(t) => TicketState {
                    status: t.status,
                    assignment: t.assignment,
                    created_at: t.created_at,
                },
                None => TicketState {
                    status: Status::Open,
                    assignment: Assignment::default(),
                    created_at: self.now,
                },
            });
        }
        Ok(self.known.state.as_ref().expect("filled above"))
    }

    pub fn labels(&mut self) -> Result<&[String]> {
        if self.known.labels.is_none() {
            self.known.labels = Some(self.sql.labels(self.ticket)?);
        }
        Ok(self.known.labels.as_deref().unwrap_or_default())
    }

    pub fn field(&mut self, name: &str) -> Result<Option<String>> {
        if self.known.fields.is_none() {
            self.known.fields = Some(self.sql.fields(self.ticket)?);
        }
        Ok(self
            .known
            .fields
            .as_ref()
            .and_then(|f| f.iter().find(|(n, _)| n == name))
            .map(|(_, v)| v.clone()))
    }

    fn found_words(&self) -> Option<&[bool]> {
        self.message.map(|m| &m.screen.found_words[..])
    }

    fn contact_name(&mut self) -> Result<&str> {
        if self.facts.contact_name.is_none() {
            self.facts.contact_name = Some(self.sql.contact_name(self.contact)?.to_lowercase());
        }
        Ok(self.facts.contact_name.as_deref().unwrap_or_default())
    }

    fn contact_labels(&mut self) -> Result<&[String]> {
        if self.facts.contact_labels.is_none() {
            self.facts.contact_labels = Some(self.sql.contact_labels(self.contact)?);
        }
        Ok(self.facts.contact_labels.as_deref().unwrap_or_default())
    }

    fn first_ticket(&mut self) -> Result<bool> {
        if let Some(f) = self.facts.first_ticket {
            return Ok(f);
        }
        let f = !self.sql.has_earlier_ticket(self.contact, self.ticket)?;
        self.facts.first_ticket = Some(f);
        Ok(f)
    }

    fn agent_replies(&mut self) -> Result<i64> {
        if let Some(n) = self.facts.agent_replies {
            return Ok(n);
        }
        let n = self.sql.agent_replies(self.ticket)?;
        self.facts.agent_replies = Some(n);
        Ok(n)
    }
}

/// One line of a condition's explanation: its depth in the tree, what it tests, whether it held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CondLine {
    pub depth: usize,
    pub text: String,
    pub held: bool,
}

/// Whether the condition holds. With `trace`, every part is evaluated and explained; without,
/// evaluation stops as soon as the answer is known.
pub fn holds(
    cond: &Cond,
    s: &mut Subject<'_, '_>,
    routing: &Routing,
    trace: &mut Option<Vec<CondLine>>,
) -> Result<bool> {
    holds_at(cond, s, routing, trace, 0)
}

fn holds_at(
    cond: &Cond,
    s: &mut Subject<'_, '_>,
    routing: &Routing,
    trace: &mut Option<Vec<CondLine>>,
    depth: usize,
) -> Result<bool> {
    let group = |trace: &mut Option<Vec<CondLine>>, text: &str| {
        trace.as_mut().map(|t| {
            t.push(CondLine {
                depth,
                text: text.to_string(),
                held: false,
            });
            t.len() - 1
        })
    };
    let held = match cond {
        Cond::All(items) | Cond::Any(items) => {
            let all = matches!(cond, Cond::All(_));
            let at = group(trace, if all { "all of:" } else { "any of:" });
            let mut result = all;
            if trace.is_some() {
                // Explaining: every part, in file order.
                for c in items {
                    let h = holds_at(c, s, routing, trace, depth + 1)?;
                    if h != all {
                        result = !all;
                    }
                }
            } else {
                // Deciding: the parts are pure, so the cheapest go first and the first decisive
                // answer ends it; a query is only made if the message alone cannot decide.
                'cost: for cost in 0..=2 {
                    for c in items.iter().filter(|c| cost_of(c) == cost) {
                        if holds_at(c, s, routing, trace, depth + 1)? != all {
                            result = !all;
                            break 'cost;
                        }
                    }
                }
            }
            if let (Some(t), Some(i)) = (trace.as_mut(), at) {
                t[i].held = result;
            }
            return Ok(result);
        }
        Cond::Not(c) => {
            let at = group(trace, "not:");
            let result = !holds_at(c, s, routing, trace, depth + 1)?;
            if let (Some(t), Some(i)) = (trace.as_mut(), at) {
                t[i].held = result;
            }
            return Ok(result);
        }
        Cond::Test(t) => test(t, s, routing)?,
    };
    if let (Some(lines), Cond::Test(t)) = (trace.as_mut(), cond) {
        lines.push(CondLine {
            depth,
            text: describe(t, s)?,
            held,
        });
    }
    Ok(held)
}

/// The message-level facts of an arrival, for [`screen`].
struct Glance<'a> {
    channel: ChannelKind,
    account: &'a str,
    text: &'a str,
    /// Which of the rules' words the message contains (see [`super::WordIndex::find`]).
    found_words: &'a [bool],
    kind: MessageKind,
}

/// What a message alone says of a rule's conditions, before any ticket is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// They cannot hold for an event of this message, whatever the ticket.
    Fails,
    /// They hold for every event of this message, whatever the ticket.
    Holds,
    /// The ticket or the contact decides.
    Depends,
}

/// An inbound message read once for all the rules: the rules' words it contains, and what the
/// message alone decides of each rule's conditions. It needs nothing but the message, so the
/// arrival path works it out on a second thread while the first stores messages, and the rules
/// then skip at once every rule the message rules out.
#[derive(Debug)]
pub struct Screen {
    pub found_words: Box<[bool]>,
    /// By rule, in file order.
    pub verdicts: Box<[Verdict]>,
}

/// Reads one message for every rule of `routing` (see [`Screen`]).
pub fn screen(
    routing: &Routing,
    channel: ChannelKind,
    account: &str,
    text: &str,
    kind: MessageKind,
) -> Screen {
    let found_words = routing.words.find(text).into_boxed_slice();
    let glance = Glance {
        channel,
        account,
        text,
        found_words: &found_words,
        kind,
    };
    let verdicts = (routing.rules.iter())
        .map(|r| match r.when.as_ref().map(|c| known(c, &glance)) {
            None | Some(Some(true)) => Verdict::Holds,
            Some(Some(false)) => Verdict::Fails,
            Some(None) => Verdict::Depends,
        })
        .collect();
    Screen {
        found_words,
        verdicts,
    }
}

/// Three-valued: `Some(answer)` when the message decides it, `None` when it depends on more.
fn known(cond: &Cond, g: &Glance<'_>) -> Option<bool> {
    match cond {
        Cond::All(items) | Cond::Any(items) => {
            // `all` is decided by a false part, `any` by a true one.
            let decisive = matches!(cond, Cond::Any(_));
            let mut unknown = false;
            for c in items {
                match known(c, g) {
                    Some(b) if b == decisive => return Some(decisive),
                    Some(_) => {}
                    None => unknown = true,
                }
            }
            if unknown { None } else { Some(!decisive) }
        }
        Cond::Not(c) => known(c, g).map(|b| !b),
        Cond::Test(t) => match t {
            Test::Channel(list) => Some(list.contains(&g.channel)),
            Test::Account(list) => Some(list.iter().any(|a| a == g.account)),
            Test::TextContainsAny(words) => Some(words.any_found(g.found_words)),
            Test::TextContainsAll(words) => Some(words.all_found(g.found_words)),
            Test::TextMatches(re) => Some(re.is_match(g.text)),
            Test::MessageKind(kinds) => Some(kinds.contains(&g.kind)),
            _ => None,
        },
    }
}

/// How dear a condition is to evaluate: 0 in memory, 1 a query cached per ticket, 2 a query per
/// event.
fn cost_of(cond: &Cond) -> u8 {
    match cond {
        Cond::All(items) | Cond::Any(items) => items.iter().map(cost_of).max().unwrap_or(0),
        Cond::Not(c) => cost_of(c),
        Cond::Test(t) => match t {
            Test::Channel(_)
            | Test::Account(_)
            | Test::TextContainsAny(_)
            | Test::TextContainsAll(_)
            | Test::TextMatches(_)
            | Test::MessageKind(_)
            | Test::InBusinessHours(_) => 0,
            Test::Label(_)
            | Test::Field { .. }
            | Test::Assignee(_)
            | Test::Assigned(_)
            | Test::Team(_)
            | Test::InTeamQueue(_)
            | Test::Status(_)
            | Test::SinceCreated(_) => 1,
            Test::ContactNameContains(_)
            | Test::ContactLabel(_)
            | Test::FirstTicket(_)
            | Test::AgentReplies(_) => 2,
        },
    }
}

fn any_of<T: PartialEq>(list: &[T], value: &T) -> bool {
    list.contains(value)
}

fn test(t: &Test, s: &mut Subject<'_, '_>, routing: &Routing) -> Result<bool> {
    Ok(match t {
        Test::Channel(list) => any_of(list, &s.channel),
        Test::Account(list) => list.iter().any(|a| a == s.account),
        Test::TextContainsAny(words) => s.found_words().is_some_and(|found| words.any_found(found)),
        Test::TextContainsAll(words) => s.found_words().is_some_and(|found| words.all_found(found)),
        Test::TextMatches(re) => s.message.is_some_and(|m| re.is_match(m.text)),
        Test::MessageKind(kinds) => s.message.is_some_and(|m| kinds.contains(&m.kind)),
        Test::ContactNameContains(words) => {
            let name = s.contact_name()?;
            words.iter().any(|w| name.contains(w.as_str()))
        }
        Test::ContactLabel(labels) => {
            let have = s.contact_labels()?;
            labels.iter().any(|l| have.contains(l))
        }
        Test::Label(labels) => {
            let have = s.labels()?;
            labels.iter().any(|l| have.contains(l))
        }
        Test::Field { name, values } => {
            let v = s.field(name)?;
            values.contains(&v)
        }
        Test::Assignee(agents) => s
            .state()?
            .assignment
            .agent
            .as_ref()
            .is_some_and(|a| agents.contains(a)),
        Test::Assigned(want) => s.state()?.assignment.agent.is_some() == *want,
        Test::Team(teams) => s
            .state()?
            .assignment
            .team
            .as_ref()
            .is_some_and(|t| teams.contains(t)),
        Test::InTeamQueue(want) => {
            let a = &s.state()?.assignment;
            (a.team.is_some() && a.agent.is_none()) == *want
        }
        Test::Status(list) => list.contains(&s.state()?.status),
        Test::InBusinessHours(want) => {
            routing
                .business_hours
                .as_ref()
                .is_some_and(|h| h.contains(s.now))
                == *want
        }
        Test::FirstTicket(want) => s.first_ticket()? == *want,
        Test::AgentReplies(b) => b.holds(s.agent_replies()?),
        Test::SinceCreated(b) => {
            let created = s.state()?.created_at;
            b.holds(s.now - created)
        }
    })
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(" or ")
}

fn bound_text(b: Bound, show: impl Fn(i64) -> String) -> String {
    match (b.over, b.under) {
        (Some(o), Some(u)) if u == o + 2 => format!("exactly {}", show(o + 1)),
        (Some(o), Some(u)) => format!("more than {} and less than {}", show(o), show(u)),
        (Some(o), None) => format!("more than {}", show(o)),
        (None, Some(u)) => format!("less than {}", show(u)),
        (None, None) => "any".into(),
    }
}

fn routing_hours(s: &Subject<'_, '_>) -> String {
    s.business_hours
        .map_or_else(|| time::rfc3339(s.now), |h| h.explain(s.now))
}

/// A condition in words, with what the ticket actually had where that helps.
fn describe(t: &Test, s: &mut Subject<'_, '_>) -> Result<String> {
    let yes_no = |b: bool| if b { "" } else { "not " };
    Ok(match t {
        Test::Channel(l) => format!("channel is {} (it is {})", list(l), s.channel),
        Test::Account(l) => format!("account is {} (it is \"{}\")", list(l), s.account),
        Test::TextContainsAny(w) => format!("message contains {}", list(&w.words)),
        Test::TextContainsAll(w) => format!(
            "message contains all of {}",
            w.words
                .iter()
                .map(|x| format!("\"{x}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Test::TextMatches(re) => format!("message matches /{}/", re.as_str()),
        Test::MessageKind(k) => format!(
            "message is {} (it is {})",
            list(&k.iter().map(|k| k.as_str()).collect::<Vec<_>>()),
            s.message.map_or("none", |m| m.kind.as_str())
        ),
        Test::ContactNameContains(w) => format!("contact name contains {}", list(w)),
        Test::ContactLabel(l) => format!("contact has had label {}", list(l)),
        Test::Label(l) => format!("ticket has label {}", list(l)),
        Test::Field { name, values } => {
            let shown: Vec<String> = values
                .iter()
                .map(|v| v.as_ref().map_or("not set".into(), |v| format!("\"{v}\"")))
                .collect();
            let now = s
                .field(name)?
                .map_or("not set".into(), |v| format!("\"{v}\""));
            format!("{name} is {} (it is {now})", shown.join(" or "))
        }
        Test::Assignee(a) => format!(
            "assigned to {} (it is {})",
            list(a),
            s.state()?.assignment.agent.as_deref().unwrap_or("nobody")
        ),
        Test::Assigned(b) => format!("ticket is {}assigned to an agent", yes_no(*b)),
        Test::Team(t) => format!(
            "team is {} (it is {})",
            list(t),
            s.state()?.assignment.team.as_deref().unwrap_or("none")
        ),
        Test::InTeamQueue(b) => format!("ticket is {}waiting in a team queue", yes_no(*b)),
        Test::Status(l) => format!(
            "status is {} (it is {})",
            list(&l.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
            s.state()?.status
        ),
        Test::InBusinessHours(b) => format!(
            "{}within business hours (it is {})",
            yes_no(*b),
            routing_hours(s)
        ),
        Test::FirstTicket(true) => format!(
            "this is the contact's first ticket ({})",
            if s.first_ticket()? {
                "it is"
            } else {
                "they have had tickets before"
            }
        ),
        Test::FirstTicket(false) => format!(
            "the contact has had tickets before ({})",
            if s.first_ticket()? {
                "no: this is their first"
            } else {
                "yes"
            }
        ),
        Test::AgentReplies(b) => format!(
            "agent replies: {} (there are {})",
            bound_text(*b, |n| n.to_string()),
            s.agent_replies()?
        ),
        Test::SinceCreated(b) => {
            let age = s.now - s.state()?.created_at;
            format!(
                "created {} ago (it was {} ago)",
                bound_text(*b, time::age),
                time::age(age)
            )
        }
    })
}
