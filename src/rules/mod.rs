//! Routing: agents, teams and the rules that decide who handles what (DESIGN §3).
//!
//! The config file is read in [`crate::config`]; [`load`] turns what it says into the checked
//! structures here, refusing unknown names with their line and column, so a loaded [`Routing`]
//! can only refer to things that exist. [`eval`] decides whether a rule's conditions hold,
//! [`assign`] picks an agent, and [`trace`] says in words what happened and why. The desk runs all
//! of it inside its own write transaction; nothing here touches the database.

pub mod assign;
pub mod eval;
pub mod hours;
pub mod load;
pub mod trace;

use std::collections::HashMap;

use regex::Regex;

use crate::domain::{ChannelKind, MessageKind, Millis, Status};

pub use hours::Hours;

/// Everything the desk needs to route tickets: agents, teams and the rules, checked at load.
#[derive(Debug, Default)]
pub struct Routing {
    pub agents: Vec<Agent>,
    pub teams: Vec<Team>,
    /// Shop-wide business hours, for the `in_business_hours` condition.
    pub business_hours: Option<Hours>,
    pub rules: Vec<Rule>,
    /// Close answered tickets the customer has not written to for this long; `None`: never.
    pub auto_close: Option<Millis>,
    /// How often the running inbox evaluates timers.
    pub tick_every: Millis,
    agent_index: HashMap<String, usize>,
    /// Every word the rules look for, in one automaton.
    pub words: WordIndex,
    /// The rules listening to each event (by [`Event`] discriminant), in file order.
    listeners: [Vec<usize>; 4],
    /// What of a contact's history each rule reads, by rule index.
    history: Vec<HistoryReads>,
}

/// The built-in actor name of the auto-close timer, as the journal shows it.
pub const AUTO_CLOSE: &str = "auto-close";

/// The default interval at which the running inbox evaluates timers.
pub const DEFAULT_TICK_EVERY: Millis = 60_000;

impl Routing {
    pub fn new(
        agents: Vec<Agent>,
        teams: Vec<Team>,
        business_hours: Option<Hours>,
        mut rules: Vec<Rule>,
    ) -> Routing {
        let words = WordIndex::build(&mut rules);
        let listeners = Event::ALL.map(|e| {
            (rules.iter().enumerate())
                .filter(|(_, r)| r.listens(e))
                .map(|(i, _)| i)
                .collect()
        });
        let history = rules.iter().map(HistoryReads::of).collect();
        let agent_index = agents
            .iter()
            .enumerate()
            .map(|(i, a)| (a.handle.clone(), i))
            .collect();
        Routing {
            agents,
            teams,
            business_hours,
            rules,
            auto_close: None,
            tick_every: DEFAULT_TICK_EVERY,
            agent_index,
            words,
            listeners,
            history,
        }
    }

    pub fn agent(&self, handle: &str) -> Option<&Agent> {
        self.agent_index.get(handle).map(|&i| &self.agents[i])
    }

    pub fn team(&self, name: &str) -> Option<&Team> {
        self.teams.iter().find(|t| t.name == name)
    }

    /// The team's members in config order: the order of the rotation.
    pub fn members<'a>(&'a self, team: &'a str) -> impl Iterator<Item = &'a Agent> + 'a {
        self.agents
            .iter()
            .filter(move |a| a.teams.iter().any(|t| t == team))
    }

    /// Whether any rule listens to this event: the arrival path skips all rule work if not.
    pub fn listens(&self, event: Event) -> bool {
        !self.listeners(event).is_empty()
    }

    /// The rules listening to `event`, by their place in the file.
    pub fn listeners(&self, event: Event) -> &[usize] {
        &self.listeners[event as usize]
    }

    /// What of a contact's history the rule at `index` reads; `None` past the file's rules (the
    /// auto-close).
    pub fn history_reads(&self, index: usize) -> Option<&HistoryReads> {
        self.history.get(index)
    }

    /// Whether any rule assigns: only then do arrivals need the agents' open counts.
    pub fn assigns(&self) -> bool {
        self.rules
            .iter()
            .flat_map(|r| &r.then)
            .any(|a| matches!(a, Action::AssignAgent(_) | Action::AssignTeam { .. }))
    }

    /// The rules with a timer, and whether there is anything for `tix tick` to do at all.
    pub fn has_timers(&self) -> bool {
        self.auto_close.is_some()
            || self.teams.iter().any(|t| t.drain_backlog)
            || self
                .rules
                .iter()
                .any(|r| r.on.iter().any(|t| !matches!(t, Trigger::Event(_))))
    }
}

/// An agent as configured.
#[derive(Debug, Clone)]
pub struct Agent {
    pub handle: String,
    pub name: String,
    pub teams: Vec<String>,
    /// `None`: every channel.
    pub channels: Option<Vec<ChannelKind>>,
    pub max_open: Option<i64>,
    pub away: bool,
    /// `None`: always working.
    pub hours: Option<Hours>,
}

/// A team as configured.
#[derive(Debug, Clone)]
pub struct Team {
    pub name: String,
    /// Hand the team's waiting tickets to members as they become free again.
    pub drain_backlog: bool,
}

/// What happened to a ticket; rules listen to these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    TicketCreated,
    TicketReopened,
    MessageReceived,
    TicketClosed,
}

impl Event {
    pub const ALL: [Event; 4] = [
        Event::TicketCreated,
        Event::TicketReopened,
        Event::MessageReceived,
        Event::TicketClosed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Event::TicketCreated => "ticket_created",
            Event::TicketReopened => "ticket_reopened",
            Event::MessageReceived => "message_received",
            Event::TicketClosed => "ticket_closed",
        }
    }

    /// Whether the event comes with a customer message that text conditions can read.
    pub fn has_message(self) -> bool {
        !matches!(self, Event::TicketClosed)
    }
}

/// What a rule listens to: an event, or a timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Event(Event),
    /// No customer reply for this long after the last agent reply.
    Idle(Millis),
    /// No agent for this long since the ticket was created.
    UnassignedFor(Millis),
}

impl Trigger {
    pub fn describe(self) -> String {
        match self {
            Trigger::Event(e) => e.as_str().to_string(),
            Trigger::Idle(d) => format!("idle for {}", crate::domain::time::age(d)),
            Trigger::UnassignedFor(d) => format!("unassigned for {}", crate::domain::time::age(d)),
        }
    }
}

/// One rule, checked.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub on: Vec<Trigger>,
    pub when: Option<Cond>,
    pub then: Vec<Action>,
    pub stop: bool,
    pub once_per_ticket: bool,
}

impl Rule {
    pub fn listens(&self, event: Event) -> bool {
        self.on.contains(&Trigger::Event(event))
    }
}

/// A condition tree.
#[derive(Debug, Clone)]
pub enum Cond {
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
    Test(Test),
}

/// A bound on a number or a duration: `{ over = 2 }`, `{ under = "1h" }`, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bound {
    pub over: Option<i64>,
    pub under: Option<i64>,
}

impl Bound {
    pub fn holds(self, value: i64) -> bool {
        self.over.is_none_or(|o| value > o) && self.under.is_none_or(|u| value < u)
    }
}

/// What of a contact's other tickets a rule reads: their labels (`contact_label`, any ticket),
/// whether there are earlier ones (`first_ticket`), or their agents (`last_handler`, earlier
/// tickets).
#[derive(Debug, Clone, Copy, Default)]
pub struct HistoryReads {
    pub contact_labels: bool,
    pub first_ticket: bool,
    pub last_handler: bool,
}

impl HistoryReads {
    pub fn any(&self) -> bool {
        self.contact_labels || self.first_ticket || self.last_handler
    }

    fn of(rule: &Rule) -> HistoryReads {
        let tests =
            |want: &dyn Fn(&Test) -> bool| rule.when.as_ref().is_some_and(|c| any_test(c, want));
        HistoryReads {
            contact_labels: tests(&|t| matches!(t, Test::ContactLabel(_))),
            first_ticket: tests(&|t| matches!(t, Test::FirstTicket(_))),
            last_handler: rule.then.iter().any(|a| {
                matches!(a, Action::AssignTeam { strategy, otherwise, .. }
                    if *strategy == Strategy::LastHandler
                        || *otherwise == Some(Strategy::LastHandler))
            }),
        }
    }
}

/// Whether any test of the condition is one that `want` picks.
fn any_test(cond: &Cond, want: &dyn Fn(&Test) -> bool) -> bool {
    match cond {
        Cond::All(items) | Cond::Any(items) => items.iter().any(|c| any_test(c, want)),
        Cond::Not(c) => any_test(c, want),
        Cond::Test(t) => want(t),
    }
}

/// Lower-cased words a test looks for in a lower-cased message. Only [`Routing::new`] numbers
/// them in its [`WordIndex`]: tests are read from a routing, never made on their own.
#[derive(Debug, Clone)]
pub struct Words {
    pub words: Vec<String>,
    /// Each word's place in the routing's [`WordIndex`]; empty until the routing is built.
    ids: Vec<usize>,
}

impl Words {
    pub fn new(words: Vec<String>) -> Words {
        Words {
            words,
            ids: Vec::new(),
        }
    }

    /// Whether any of the words is in `found` (see [`WordIndex::find`]).
    pub fn any_found(&self, found: &[bool]) -> bool {
        self.ids.iter().any(|&i| found[i])
    }

    pub fn all_found(&self, found: &[bool]) -> bool {
        self.ids.iter().all(|&i| found[i])
    }
}

/// Every word of every rule in one automaton: each message is read once for all of them,
/// rather than once per word or per test.
#[derive(Debug)]
pub struct WordIndex {
    matcher: aho_corasick::AhoCorasick,
    count: usize,
}

impl Default for WordIndex {
    fn default() -> WordIndex {
        WordIndex::build(&mut [])
    }
}

impl WordIndex {
    /// Numbers the rules' words (each distinct word once) and builds the automaton.
    fn build(rules: &mut [Rule]) -> WordIndex {
        fn number(cond: &mut Cond, all: &mut Vec<String>) {
            match cond {
                Cond::All(items) | Cond::Any(items) => {
                    items.iter_mut().for_each(|c| number(c, all));
                }
                Cond::Not(c) => number(c, all),
                Cond::Test(Test::TextContainsAny(w) | Test::TextContainsAll(w)) => {
                    w.ids = (w.words.iter())
                        .map(|word| match all.iter().position(|a| a == word) {
                            Some(i) => i,
                            None => {
                                all.push(word.clone());
                                all.len() - 1
                            }
                        })
                        .collect();
                }
                Cond::Test(_) => {}
            }
        }
        let mut all = Vec::new();
        for cond in rules.iter_mut().filter_map(|r| r.when.as_mut()) {
            number(cond, &mut all);
        }
        WordIndex {
            // The crate picks the fastest automaton that fits (a DFA for a config's few dozen
            // words); it fails only past sizes no config file reaches.
            matcher: aho_corasick::AhoCorasick::new(&all)
                .expect("the words of a config file fit an automaton"),
            count: all.len(),
        }
    }

    /// Which of the words the text contains, whatever its letter case, by their place in the
    /// index.
    pub fn find(&self, text: &str) -> Vec<bool> {
        let mut found = vec![false; self.count];
        if self.count > 0 {
            for m in self
                .matcher
                .find_overlapping_iter(lower_cased(text).as_ref())
            {
                found[m.pattern().as_usize()] = true;
            }
        }
        found
    }
}

/// The text lower-cased for matching the (lower-cased) words. Most messages are ASCII, Thai and
/// emoji, and only ASCII of those has letter case: they need at most ASCII lower-casing, which
/// is much cheaper than the full Unicode mapping the rest gets.
fn lower_cased(text: &str) -> std::borrow::Cow<'_, str> {
    let caseless =
        |c: char| c.is_ascii() || ('\u{0E00}'..='\u{0E7F}').contains(&c) || !c.is_alphabetic();
    if !text.chars().all(caseless) {
        text.to_lowercase().into()
    } else if text.bytes().any(|b| b.is_ascii_uppercase()) {
        text.to_ascii_lowercase().into()
    } else {
        text.into()
    }
}

/// One typed test on a ticket, its contact or the message that arrived.
#[derive(Debug, Clone)]
pub enum Test {
    Channel(Vec<ChannelKind>),
    Account(Vec<String>),
    /// Lower-cased needles; the text is lower-cased once per message.
    TextContainsAny(Words),
    TextContainsAll(Words),
    TextMatches(Regex),
    MessageKind(Vec<MessageKind>),
    ContactNameContains(Vec<String>),
    /// A label on any ticket of the contact, now or before.
    ContactLabel(Vec<String>),
    /// The ticket has any of these labels.
    Label(Vec<String>),
    /// The field has one of these values (`None` in the list: the field is not set).
    Field {
        name: String,
        values: Vec<Option<String>>,
    },
    Assignee(Vec<String>),
    Assigned(bool),
    Team(Vec<String>),
    InTeamQueue(bool),
    Status(Vec<Status>),
    InBusinessHours(bool),
    FirstTicket(bool),
    AgentReplies(Bound),
    /// Milliseconds since the ticket was created.
    SinceCreated(Bound),
}

impl Test {
    /// Whether the test reads the message that arrived (and so needs an event that has one).
    pub fn reads_message(&self) -> bool {
        matches!(
            self,
            Test::TextContainsAny(_)
                | Test::TextContainsAll(_)
                | Test::TextMatches(_)
                | Test::MessageKind(_)
        )
    }
}

/// How `assign_team` picks an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Strict rotation over the team's members; the pointer is kept in the database.
    RoundRobin,
    /// Fewest open tickets; ties broken by the rotation.
    LeastOpen,
    /// This contact's previous agent, if eligible.
    LastHandler,
    /// No agent: the ticket waits in the team queue.
    Queue,
}

impl Strategy {
    pub const ALL: [Strategy; 4] = [
        Strategy::RoundRobin,
        Strategy::LeastOpen,
        Strategy::LastHandler,
        Strategy::Queue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::RoundRobin => "round_robin",
            Strategy::LeastOpen => "least_open",
            Strategy::LastHandler => "last_handler",
            Strategy::Queue => "queue",
        }
    }
}

/// One action of a rule.
#[derive(Debug, Clone)]
pub enum Action {
    /// A named agent, if eligible; otherwise the ticket stays where it is.
    AssignAgent(String),
    AssignTeam {
        team: String,
        strategy: Strategy,
        /// Tried when the strategy finds nobody (for example `last_handler` then `least_open`).
        otherwise: Option<Strategy>,
    },
    Unassign,
    AddLabel(String),
    RemoveLabel(String),
    /// `None` clears the field.
    SetField {
        name: String,
        value: Option<String>,
    },
    FollowUp(bool),
    AddNote(String),
    /// Stored as an outbound message written by the rule.
    AutoReply(String),
    Close,
    MarkSpam,
}

impl Action {
    /// The action in a few words, for traces.
    pub fn describe(&self) -> String {
        match self {
            Action::AssignAgent(a) => format!("assign to {a}"),
            Action::AssignTeam {
                team,
                strategy,
                otherwise,
            } => match otherwise {
                Some(o) => format!(
                    "assign to team {team} by {}, otherwise by {}",
                    strategy.as_str(),
                    o.as_str()
                ),
                None => format!("assign to team {team} by {}", strategy.as_str()),
            },
            Action::Unassign => "unassign".into(),
            Action::AddLabel(l) => format!("add label \"{l}\""),
            Action::RemoveLabel(l) => format!("remove label \"{l}\""),
            Action::SetField {
                name,
                value: Some(v),
            } => format!("set {name} to \"{v}\""),
            Action::SetField { name, value: None } => format!("clear {name}"),
            Action::FollowUp(true) => "flag for follow-up".into(),
            Action::FollowUp(false) => "clear follow-up".into(),
            Action::AddNote(_) => "add a note".into(),
            Action::AutoReply(_) => "send an automatic reply".into(),
            Action::Close => "close".into(),
            Action::MarkSpam => "mark spam".into(),
        }
    }
}

/// The author stored on a message a rule sent, so replies by people and by rules stay apart.
pub fn rule_author(rule: &str) -> String {
    format!("rule:{rule}")
}

#[cfg(test)]
mod tests {
    use super::{Cond, Event, Routing, Rule, Test, Trigger, Words};

    fn words(w: &[&str]) -> Words {
        Words::new(w.iter().map(|s| s.to_string()).collect())
    }

    /// Each list as the condition of a rule of one routing: (any of, all of) per list.
    fn check(lists: &[&[&str]], text: &str) -> Vec<(bool, bool)> {
        let rules = lists
            .iter()
            .map(|w| Rule {
                name: "r".into(),
                on: vec![Trigger::Event(Event::MessageReceived)],
                when: Some(Cond::Test(Test::TextContainsAny(words(w)))),
                then: Vec::new(),
                stop: false,
                once_per_ticket: false,
            })
            .collect();
        let routing = Routing::new(Vec::new(), Vec::new(), None, rules);
        let found = routing.words.find(text);
        routing
            .rules
            .iter()
            .map(|r| match &r.when {
                Some(Cond::Test(Test::TextContainsAny(w))) => {
                    (w.any_found(&found), w.all_found(&found))
                }
                _ => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn thai_has_no_letter_case_so_only_ascii_is_lowered_in_thai_text() {
        let unchanged = |c: char| c.to_lowercase().eq(std::iter::once(c));
        assert!(('\u{0E00}'..='\u{0E7F}').all(unchanged));
        // Nor has anything that is not a letter (emoji, digits, punctuation).
        assert!(
            (char::MIN..=char::MAX)
                .filter(|c| !c.is_alphabetic())
                .all(unchanged)
        );
        assert_eq!(super::lower_cased("ขอ REFUND ค่ะ"), "ขอ refund ค่ะ");
        assert_eq!(super::lower_cased("Größe ÉTÉ"), "größe été");
        assert!(matches!(
            super::lower_cased("ขอคืนเงิน ok 🙏"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn words_are_found_whatever_the_letter_case() {
        assert_eq!(
            check(&[&["refund"], &["été"]], "REFUND d'ÉTÉ"),
            [(true, true), (true, true)]
        );
    }

    #[test]
    fn any_word_is_found_inside_thai_and_overlapping_text() {
        let lists: &[&[&str]] = &[&["คืนเงิน", "refund"], &["fun"], &["order"]];
        assert_eq!(
            check(lists, "ขอคืนเงินด้วยค่ะ"),
            [(true, false), (false, false), (false, false)]
        );
        assert_eq!(
            check(lists, "a refund please"),
            [(true, false), (true, true), (false, false)]
        );
    }

    #[test]
    fn all_words_must_be_there_even_when_they_overlap_repeat_or_are_shared() {
        let lists: &[&[&str]] = &[&["order", "status", "der"], &["ab", "ab"], &["ab", "bc"]];
        assert_eq!(
            check(lists, "order status? ab"),
            [(true, true), (true, true), (true, false)]
        );
        assert_eq!(
            check(lists, "order abc"),
            [(true, false), (true, true), (true, true)]
        );
        assert_eq!(check(&[], "anything"), []);
    }
}
