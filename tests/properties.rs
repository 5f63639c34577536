//! Property tests of the desk (DESIGN §1, §2) over random worlds and random histories.
//!
//! A world is 2–4 customers on 1–2 channels and three agents. A history is 1–60 steps: batches of
//! 1–5 arrivals (repeated message ids, on the same or another account; outbound messages; ids a
//! later reply would want; time gaps from seconds to three days, some landing exactly on the
//! reopen window's edge) and agent actions on random ticket numbers (some that do not exist, some
//! in bulk, some named twice), undo and redo by random agents, contact merges, opening a ticket on
//! a contact, replies and notes. The reopen window is the default 24 h, random (1 min to 7 days),
//! or off.
//!
//! After every step the database is checked three ways:
//! - its own invariant checks (`invariant_violations`) find nothing;
//! - counts shown equal counts computed from scratch: `totals()` against `list_tickets`, stored
//!   messages against per-ticket counts, threads and the distinct (account, id) pairs sent;
//! - everything agrees with a small reference model kept here, written from the DESIGN table:
//!   which ticket each message joins, every ticket's status, close time, reopen count, assignment,
//!   labels, fields, notes, unread count and times, every contact's name and conversations, and
//!   which action each agent's undo and redo take back (or refuse).
//!
//! Refused actions must change nothing at all (the whole database is compared before and after),
//! undo right after an action restores what was seen before it, and redo restores the after-state.
//! At the end of a history the filtered views are checked and the whole history is imported again,
//! which must add and change nothing.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;

use tix::desk::{Ctx, DEFAULT_REOPEN_WINDOW, Desk, DeskError, Done, IngestReport, Settings};
use tix::domain::{
    Assignment, Change, ChannelKind, ContactId, Direction, Inbound, Lifecycle, MessageKind, Millis,
    Status, TicketNumber,
};
use tix::store::{ContactSummary, Store, ThreadItem, Ticket, TicketFilter, TicketSummary, Totals};

const SECOND: Millis = 1_000;
const MINUTE: Millis = 60 * SECOND;
const HOUR: Millis = 60 * MINUTE;
const DAY: Millis = 24 * HOUR;
const T0: Millis = 1_763_600_000_000;

const AGENTS: [&str; 3] = ["alice", "bob", "chen"];
const TEAMS: [&str; 2] = ["billing", "sales"];
const CHANNELS: [ChannelKind; 3] = [
    ChannelKind::Line,
    ChannelKind::Messenger,
    ChannelKind::Shopee,
];
/// Label names as typed; the desk trims them and refuses an empty one.
const LABELS: [&str; 4] = ["vip", " refund ", "late", "  "];
const FIELD_NAMES: [&str; 3] = ["priority", " order ", ""];
/// Field values as typed; an empty value clears the field.
const FIELD_VALUES: [&str; 4] = ["high", " low ", "", "SO-2405"];
const NOTES: [&str; 3] = ["call back tomorrow", "   ", "@bob please check"];
const REPLIES: [&str; 3] = ["ขอบคุณครับ", "", "on its way: SO-2405"];
const TEXTS: [&str; 5] = [
    "hello",
    "where is my order SO-2405?",
    "คืนเงินได้ไหมคะ",
    "50% off? \"really\"",
    "\u{1b}[31mred\u{7}",
];

// ----- the generated world and history -----------------------------------------------------------

#[derive(Debug, Clone)]
struct World {
    channels: Vec<ChannelKind>,
    /// For each customer, the indexes (into `channels`) of the channels they write on.
    customers: Vec<Vec<usize>>,
}

/// A step forward in time. `Window(d)` probes the reopen window's edge: it goes to `d` ms past
/// the end of the window (24 h when off) of the latest close, if that is still ahead.
#[derive(Debug, Clone, Copy)]
enum Gap {
    Ms(Millis),
    Window(Millis),
}

/// The test's clock, and the time of the latest close it has seen.
#[derive(Debug, Clone, Copy)]
struct Clock {
    now: Millis,
    last_close: Millis,
}

impl Clock {
    fn advance(&mut self, gap: Gap, window: Option<Millis>) -> Millis {
        self.now = match gap {
            Gap::Ms(ms) => self.now + ms,
            Gap::Window(d) => {
                let edge = self.last_close + window.unwrap_or(DEFAULT_REOPEN_WINDOW) + d;
                edge.max(self.now + SECOND)
            }
        };
        self.now
    }
}

#[derive(Debug, Clone)]
struct MsgSpec {
    customer: Index,
    channel: Index,
    id: MsgId,
    /// `Some(agent)`: an outbound message, by that agent when known.
    out: Option<Option<usize>>,
    text: Option<usize>,
    named: bool,
    gap: Gap,
}

/// Which message id a generated message carries.
#[derive(Debug, Clone)]
enum MsgId {
    Fresh,
    /// An id sent before, on this or another account (a duplicate, or a webhook echo of a reply).
    Repeat(Index),
    /// The id tix would give one of its next replies (`tix-out-N`), as an import of another tix's
    /// export might hold.
    Squat(u8),
}

/// A ticket (or contact) to act on: one that exists, or a number that does not.
#[derive(Debug, Clone)]
enum Pick {
    Existing(Index),
    Missing(u8),
}

#[derive(Debug, Clone)]
enum Action {
    Assign(Option<usize>, Option<usize>, Vec<Pick>),
    Take(Vec<Pick>),
    Unassign(Vec<Pick>),
    Close(Vec<Pick>),
    Reopen(Vec<Pick>),
    MarkSpam(Vec<Pick>),
    NotSpam(Vec<Pick>),
    FollowUp(bool, Vec<Pick>),
    Label(usize, bool, Vec<Pick>),
    SetField(usize, usize, Vec<Pick>),
    Note(usize, Pick),
    Reply(usize, Pick),
    Merge(Pick, Pick),
    OpenTicket(Pick, usize),
    Undo,
    Redo,
}

impl Action {
    /// Whether a successful run of this action is one the agent can undo.
    fn undoable(&self) -> bool {
        !matches!(
            self,
            Action::Reply(..) | Action::OpenTicket(..) | Action::Undo | Action::Redo
        )
    }
}

#[derive(Debug, Clone)]
enum Step {
    Arrive(Vec<MsgSpec>),
    Act {
        gap: Gap,
        agent: usize,
        action: Action,
    },
}

fn world() -> impl Strategy<Value = World> {
    (
        proptest::sample::subsequence(CHANNELS.to_vec(), 1..=2),
        proptest::collection::vec((any::<Index>(), any::<bool>()), 2..=4),
    )
        .prop_map(|(channels, customers)| {
            let customers = customers
                .into_iter()
                .map(|(first, both)| {
                    let a = first.index(channels.len());
                    if both && channels.len() == 2 {
                        vec![a, 1 - a]
                    } else {
                        vec![a]
                    }
                })
                .collect();
            World {
                channels,
                customers,
            }
        })
}

fn window() -> impl Strategy<Value = Option<Millis>> {
    (MINUTE..=7 * DAY).prop_map(Some)
}

/// Gaps between steps: seconds to three days, and the reopen window's edge.
fn gap() -> impl Strategy<Value = Gap> {
    prop_oneof![
        3 => (SECOND..MINUTE).prop_map(Gap::Ms),
        2 => (MINUTE..HOUR).prop_map(Gap::Ms),
        3 => (HOUR..30 * HOUR).prop_map(Gap::Ms),
        2 => (30 * HOUR..=3 * DAY).prop_map(Gap::Ms),
        2 => prop_oneof![Just(-SECOND), Just(0), Just(1)].prop_map(Gap::Window),
    ]
}

/// Gaps between the messages of one batch: mostly seconds, sometimes long.
fn batch_gap() -> impl Strategy<Value = Gap> {
    prop_oneof![
        8 => (0..MINUTE).prop_map(Gap::Ms),
        2 => gap(),
        1 => prop_oneof![Just(-SECOND), Just(0), Just(1)].prop_map(Gap::Window),
    ]
}

fn msg() -> impl Strategy<Value = MsgSpec> {
    (
        any::<Index>(),
        any::<Index>(),
        prop_oneof![
            16 => Just(MsgId::Fresh),
            4 => any::<Index>().prop_map(MsgId::Repeat),
            1 => (0..2u8).prop_map(MsgId::Squat),
        ],
        proptest::option::weighted(0.2, proptest::option::of(0..AGENTS.len())),
        proptest::option::weighted(0.9, 0..TEXTS.len()),
        any::<bool>(),
        batch_gap(),
    )
        .prop_map(|(customer, channel, id, out, text, named, gap)| MsgSpec {
            customer,
            channel,
            id,
            out,
            text,
            named,
            gap,
        })
}

fn pick() -> impl Strategy<Value = Pick> {
    prop_oneof![
        9 => any::<Index>().prop_map(Pick::Existing),
        1 => any::<u8>().prop_map(Pick::Missing),
    ]
}

fn picks() -> impl Strategy<Value = Vec<Pick>> {
    prop_oneof![
        1 => Just(Vec::new()),
        12 => proptest::collection::vec(pick(), 1..=3),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    let ticket_actions = prop_oneof![
        3 => (
            proptest::option::of(0..AGENTS.len()),
            proptest::option::of(0..TEAMS.len()),
            picks()
        )
            .prop_map(|(a, t, n)| Action::Assign(a, t, n)),
        2 => picks().prop_map(Action::Take),
        1 => picks().prop_map(Action::Unassign),
        5 => picks().prop_map(Action::Close),
        2 => picks().prop_map(Action::Reopen),
        2 => picks().prop_map(Action::MarkSpam),
        2 => picks().prop_map(Action::NotSpam),
        1 => (any::<bool>(), picks()).prop_map(|(on, n)| Action::FollowUp(on, n)),
        2 => (0..LABELS.len(), any::<bool>(), picks())
            .prop_map(|(l, add, n)| Action::Label(l, add, n)),
        1 => (0..FIELD_NAMES.len(), 0..FIELD_VALUES.len(), picks())
            .prop_map(|(f, v, n)| Action::SetField(f, v, n)),
    ];
    let other_actions = prop_oneof![
        1 => (0..NOTES.len(), pick()).prop_map(|(t, n)| Action::Note(t, n)),
        2 => (0..REPLIES.len(), pick()).prop_map(|(t, n)| Action::Reply(t, n)),
        1 => (pick(), pick()).prop_map(|(a, b)| Action::Merge(a, b)),
        1 => (pick(), 0..CHANNELS.len()).prop_map(|(c, ch)| Action::OpenTicket(c, ch)),
        3 => Just(Action::Undo),
        2 => Just(Action::Redo),
    ];
    prop_oneof![21 => ticket_actions, 10 => other_actions]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => proptest::collection::vec(msg(), 1..=5).prop_map(Step::Arrive),
        6 => (gap(), 0..AGENTS.len(), action())
            .prop_map(|(gap, agent, action)| Step::Act { gap, agent, action }),
    ]
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    proptest::collection::vec(step(), 1..=60)
}

// ----- the reference model -----------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
struct MTicket {
    number: TicketNumber,
    /// Index into `Model::convs`.
    conv: usize,
    lifecycle: Lifecycle,
    assignment: Assignment,
    follow_up: bool,
    labels: BTreeSet<String>,
    fields: BTreeMap<String, String>,
    messages: i64,
    unread: i64,
    waiting_since: Option<Millis>,
    created_at: Millis,
    first_response_at: Option<Millis>,
}

#[derive(Debug, Clone)]
struct MConv {
    account: String,
    channel: ChannelKind,
    customer: String,
    contact: ContactId,
    /// (message row id, ticket) of every stored message, oldest first.
    messages: Vec<(i64, TicketNumber)>,
    /// When the customer last wrote (the latest send time of a stored customer message): the
    /// start of Messenger's and Instagram's reply window.
    last_in: Option<Millis>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ActState {
    Done,
    Undone,
    Dropped,
}

#[derive(Debug, Clone)]
struct MAction {
    agent: String,
    state: ActState,
    changes: Vec<Change>,
}

/// What the desk is expected to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Refused,
    Changed(Vec<TicketNumber>),
    Opened(TicketNumber, bool),
}

/// The lifecycle as DESIGN §1/§2 describe it. Row ids are sequential and never reused, so ticket
/// `n` is `tickets[n - 1]`, conversation and contact ids are `index + 1`, and so are note ids.
#[derive(Debug, Clone)]
struct Model {
    window: Option<Millis>,
    tickets: Vec<MTicket>,
    convs: Vec<MConv>,
    /// Each contact's `merged_into`.
    contacts: Vec<Option<ContactId>>,
    /// Each contact's name: the channel id until a stored message brings a display name.
    names: Vec<String>,
    /// The message id of the latest reply.
    last_reply: String,
    /// Each note's ticket and whether it is shown.
    notes: Vec<(TicketNumber, bool)>,
    actions: Vec<MAction>,
    /// Every (account, message id) stored.
    stored: HashSet<(String, String)>,
    /// Messages stored so far (also the latest message row id).
    rows: i64,
}

fn lifecycle(
    status: Status,
    closed_at: Option<Millis>,
    closed_by: Option<&str>,
    n: i64,
) -> Lifecycle {
    Lifecycle {
        status,
        closed_at,
        closed_by: closed_by.map(str::to_string),
        reopen_count: n,
    }
}

/// The change that takes `c` back (written here, not borrowed from the code under test).
fn invert(c: &Change) -> Option<Change> {
    Some(match c.clone() {
        Change::Created { .. } | Change::Reply { .. } => return None,
        Change::Lifecycle {
            ticket,
            before,
            after,
        } => Change::Lifecycle {
            ticket,
            before: after,
            after: before,
        },
        Change::Assignment {
            ticket,
            before,
            after,
        } => Change::Assignment {
            ticket,
            before: after,
            after: before,
        },
        Change::FollowUp {
            ticket,
            before,
            after,
        } => Change::FollowUp {
            ticket,
            before: after,
            after: before,
        },
        Change::Label {
            ticket,
            label,
            added,
        } => Change::Label {
            ticket,
            label,
            added: !added,
        },
        Change::Field {
            ticket,
            name,
            before,
            after,
        } => Change::Field {
            ticket,
            name,
            before: after,
            after: before,
        },
        Change::Note {
            ticket,
            note,
            added,
        } => Change::Note {
            ticket,
            note,
            added: !added,
        },
        Change::ContactMerge {
            from,
            into,
            conversations,
            merged,
        } => Change::ContactMerge {
            from,
            into,
            conversations,
            merged: !merged,
        },
    })
}

fn change_ticket(c: &Change) -> Option<TicketNumber> {
    match c {
        Change::Created { ticket }
        | Change::Lifecycle { ticket, .. }
        | Change::Assignment { ticket, .. }
        | Change::FollowUp { ticket, .. }
        | Change::Label { ticket, .. }
        | Change::Field { ticket, .. }
        | Change::Note { ticket, .. }
        | Change::Reply { ticket, .. } => Some(*ticket),
        Change::ContactMerge { .. } => None,
    }
}

fn tickets_of(changes: &[Change]) -> Vec<TicketNumber> {
    let mut out: Vec<TicketNumber> = changes.iter().filter_map(change_ticket).collect();
    out.dedup();
    out
}

fn at_index<T>(v: &[T], id: i64) -> Option<&T> {
    usize::try_from(id)
        .ok()?
        .checked_sub(1)
        .and_then(|i| v.get(i))
}

impl Model {
    fn new(window: Option<Millis>) -> Model {
        Model {
            window,
            tickets: Vec::new(),
            convs: Vec::new(),
            contacts: Vec::new(),
            names: Vec::new(),
            last_reply: String::new(),
            notes: Vec::new(),
            actions: Vec::new(),
            stored: HashSet::new(),
            rows: 0,
        }
    }

    fn ticket(&self, n: TicketNumber) -> Option<&MTicket> {
        at_index(&self.tickets, n)
    }

    fn ticket_mut(&mut self, n: TicketNumber) -> &mut MTicket {
        &mut self.tickets[n as usize - 1]
    }

    /// The conversation's Open ticket other than `except`.
    fn open_in(&self, conv: usize, except: TicketNumber) -> Option<TicketNumber> {
        self.tickets
            .iter()
            .find(|t| t.conv == conv && t.number != except && t.lifecycle.status == Status::Open)
            .map(|t| t.number)
    }

    /// The ticket a message to this conversation looks at: the Open one, else the latest one.
    /// "Latest" is the highest number, as the code has it; DESIGN §2's "the latest Closed one"
    /// could also be read as the one closed most recently (they differ after an agent reopens
    /// and closes an older ticket again).
    fn arrival_ticket(&self, conv: usize) -> Option<TicketNumber> {
        self.open_in(conv, 0).or_else(|| {
            self.tickets
                .iter()
                .filter(|t| t.conv == conv)
                .map(|t| t.number)
                .max()
        })
    }

    fn new_ticket(&mut self, conv: usize, at: Millis) -> TicketNumber {
        let number = self.tickets.len() as TicketNumber + 1;
        self.tickets.push(MTicket {
            number,
            conv,
            lifecycle: lifecycle(Status::Open, None, None, 0),
            assignment: Assignment::default(),
            follow_up: false,
            labels: BTreeSet::new(),
            fields: BTreeMap::new(),
            messages: 0,
            unread: 0,
            waiting_since: None,
            created_at: at,
            first_response_at: None,
        });
        number
    }

    fn store_message(&mut self, conv: usize, ticket: TicketNumber, m: &Inbound) {
        self.rows += 1;
        let row = self.rows;
        self.convs[conv].messages.push((row, ticket));
        if m.direction == Direction::In {
            let last = &mut self.convs[conv].last_in;
            *last = Some(last.map_or(m.sent_at, |l| l.max(m.sent_at)));
        }
        let t = self.ticket_mut(ticket);
        t.messages += 1;
        match (m.direction, t.lifecycle.status) {
            (Direction::Out, _) => {
                t.unread = 0;
                t.waiting_since = None;
                t.first_response_at.get_or_insert(m.sent_at);
            }
            // Spam takes messages silently: nothing waits, nothing is unread.
            (Direction::In, Status::Spam) => {}
            (Direction::In, _) => {
                t.unread += 1;
                t.waiting_since.get_or_insert(m.sent_at);
            }
        }
    }

    /// DESIGN §2, message by message.
    fn ingest(&mut self, batch: &[Inbound]) -> IngestReport {
        let mut r = IngestReport {
            read: batch.len(),
            ..IngestReport::default()
        };
        for m in batch {
            let account = m.account_name().to_string();
            // 1. Drop it if (account, message id) is stored already.
            if !self.stored.insert((account.clone(), m.message_id.clone())) {
                r.duplicates += 1;
                continue;
            }
            // 2. The conversation, with a new contact if the identity is new.
            let conv = match self
                .convs
                .iter()
                .position(|c| c.account == account && c.customer == m.customer_id)
            {
                Some(i) => i,
                None => {
                    self.contacts.push(None);
                    self.names.push(m.customer_id.clone());
                    self.convs.push(MConv {
                        account,
                        channel: m.channel,
                        customer: m.customer_id.clone(),
                        contact: self.contacts.len() as ContactId,
                        messages: Vec::new(),
                        last_in: None,
                    });
                    self.convs.len() - 1
                }
            };
            // 3. Choose the ticket.
            let window = self.window;
            let ticket = match self.arrival_ticket(conv) {
                None => {
                    r.tickets_created += 1;
                    self.new_ticket(conv, m.sent_at)
                }
                Some(n) => {
                    let t = self.ticket_mut(n);
                    match (m.direction, t.lifecycle.status) {
                        // An agent's message never changes a ticket's status.
                        (Direction::Out, _) | (_, Status::Open) => n,
                        // Spam is sticky: appended silently.
                        (_, Status::Spam) => {
                            r.to_spam += 1;
                            n
                        }
                        (Direction::In, Status::Closed) => {
                            let within = match (window, t.lifecycle.closed_at) {
                                (Some(w), Some(closed)) => m.sent_at - closed <= w,
                                _ => false,
                            };
                            if within {
                                let count = t.lifecycle.reopen_count + 1;
                                t.lifecycle = lifecycle(Status::Open, None, None, count);
                                r.tickets_reopened += 1;
                                n
                            } else {
                                r.tickets_created += 1;
                                self.new_ticket(conv, m.sent_at)
                            }
                        }
                    }
                }
            };
            // 4. Append the message; its display name names a contact known only by channel id.
            self.store_message(conv, ticket, m);
            let c = &self.convs[conv];
            let name = &mut self.names[c.contact as usize - 1];
            if let Some(given) = m.display_name.as_ref().filter(|n| !n.trim().is_empty())
                && *name == c.customer
            {
                name.clone_from(given);
            }
            r.new += 1;
        }
        r
    }

    /// Applies a change if what it changes is still as the change expects.
    fn apply(&mut self, c: &Change) -> bool {
        match c {
            Change::Lifecycle {
                ticket,
                before,
                after,
            } => {
                let Some(t) = self.ticket(*ticket) else {
                    return false;
                };
                if &t.lifecycle != before
                    || (after.status == Status::Open && self.open_in(t.conv, *ticket).is_some())
                {
                    return false;
                }
                self.ticket_mut(*ticket).lifecycle = after.clone();
            }
            Change::Assignment {
                ticket,
                before,
                after,
            } => {
                if self.ticket(*ticket).map(|t| &t.assignment) != Some(before) {
                    return false;
                }
                self.ticket_mut(*ticket).assignment = after.clone();
            }
            Change::FollowUp {
                ticket,
                before,
                after,
            } => {
                if self.ticket(*ticket).map(|t| t.follow_up) != Some(*before) {
                    return false;
                }
                self.ticket_mut(*ticket).follow_up = *after;
            }
            Change::Label {
                ticket,
                label,
                added,
            } => {
                if self.ticket(*ticket).map(|t| t.labels.contains(label)) != Some(!added) {
                    return false;
                }
                let labels = &mut self.ticket_mut(*ticket).labels;
                if *added {
                    labels.insert(label.clone());
                } else {
                    labels.remove(label);
                }
            }
            Change::Field {
                ticket,
                name,
                before,
                after,
            } => {
                if self.ticket(*ticket).map(|t| t.fields.get(name)) != Some(before.as_ref()) {
                    return false;
                }
                let fields = &mut self.ticket_mut(*ticket).fields;
                match after {
                    Some(v) => fields.insert(name.clone(), v.clone()),
                    None => fields.remove(name),
                };
            }
            Change::Note {
                ticket,
                note,
                added,
            } => {
                match at_index(&self.notes, *note) {
                    Some(&(t, shown)) if t == *ticket && shown != *added => {}
                    _ => return false,
                }
                self.notes[*note as usize - 1].1 = *added;
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
                if conversations
                    .iter()
                    .any(|c| at_index(&self.convs, *c).map(|v| v.contact) != Some(source))
                {
                    return false;
                }
                // (Re)merging needs both contacts unmerged, as a new merge does.
                let unmerged = |c: ContactId| at_index(&self.contacts, c) == Some(&None);
                if *merged && !(unmerged(*from) && unmerged(*into)) {
                    return false;
                }
                for c in conversations {
                    self.convs[*c as usize - 1].contact = target;
                }
                self.contacts[*from as usize - 1] = merged.then_some(*into);
            }
            Change::Created { .. } | Change::Reply { .. } => return false,
        }
        true
    }

    /// Records a new action of `agent`, applying its changes all or nothing.
    fn commit(&mut self, agent: &str, changes: Vec<Change>, changed: Vec<TicketNumber>) -> Outcome {
        let mut next = self.clone();
        for c in &changes {
            if !next.apply(c) {
                return Outcome::Refused;
            }
        }
        for a in &mut next.actions {
            if a.agent == agent && a.state == ActState::Undone {
                a.state = ActState::Dropped;
            }
        }
        next.actions.push(MAction {
            agent: agent.to_string(),
            state: ActState::Done,
            changes,
        });
        *self = next;
        Outcome::Changed(changed)
    }

    /// A ticket action: each existing ticket is planned against the state before the action;
    /// `None` leaves the ticket out. Refused when no ticket is left.
    fn act(
        &mut self,
        agent: &str,
        tickets: &[TicketNumber],
        plan: impl Fn(&Model, &MTicket) -> Option<Change>,
    ) -> Outcome {
        let mut changed = Vec::new();
        let mut changes = Vec::new();
        let mut seen = HashSet::new();
        // A ticket named twice is acted on once.
        for &n in tickets.iter().filter(|&&n| seen.insert(n)) {
            if let Some(c) = self.ticket(n).and_then(|t| plan(self, t)) {
                changed.push(n);
                changes.push(c);
            }
        }
        if changes.is_empty() {
            return Outcome::Refused;
        }
        self.commit(agent, changes, changed)
    }

    fn undo(&mut self, agent: &str) -> Outcome {
        let Some(i) = self
            .actions
            .iter()
            .rposition(|a| a.agent == agent && a.state == ActState::Done)
        else {
            return Outcome::Refused;
        };
        let changes = self.actions[i].changes.clone();
        let mut next = self.clone();
        for c in changes.iter().rev() {
            match invert(c) {
                Some(inverse) if next.apply(&inverse) => {}
                _ => return Outcome::Refused,
            }
        }
        next.actions[i].state = ActState::Undone;
        *self = next;
        Outcome::Changed(tickets_of(&changes))
    }

    fn redo(&mut self, agent: &str) -> Outcome {
        let Some(i) = self
            .actions
            .iter()
            .position(|a| a.agent == agent && a.state == ActState::Undone)
        else {
            return Outcome::Refused;
        };
        let changes = self.actions[i].changes.clone();
        let mut next = self.clone();
        for c in &changes {
            if !next.apply(c) {
                return Outcome::Refused;
            }
        }
        next.actions[i].state = ActState::Done;
        *self = next;
        Outcome::Changed(tickets_of(&changes))
    }

    fn note(&mut self, agent: &str, ticket: TicketNumber, text: &str) -> Outcome {
        if text.trim().is_empty() || self.ticket(ticket).is_none() {
            return Outcome::Refused;
        }
        let note = self.notes.len() as i64 + 1;
        let mut next = self.clone();
        // The note row, as the journalled change `Note { added: true }` finds it.
        next.notes.push((ticket, false));
        let out = next.commit(
            agent,
            vec![Change::Note {
                ticket,
                note,
                added: true,
            }],
            vec![ticket],
        );
        *self = next;
        out
    }

    fn reply(&mut self, ticket: TicketNumber, text: &str, at: Millis) -> Outcome {
        let Some(t) = self.ticket(ticket) else {
            return Outcome::Refused;
        };
        if text.trim().is_empty() || t.lifecycle.status == Status::Spam {
            return Outcome::Refused;
        }
        let conv = t.conv;
        let c = &self.convs[conv];
        if let (Some(window), Some(last_in)) = (c.channel.reply_window(), c.last_in)
            && at - last_in > window
        {
            return Outcome::Refused;
        }
        let account = self.convs[conv].account.clone();
        // tix's own id for the reply, or the next free variant if an import holds it.
        let n = self.rows + 1;
        let id = (1..)
            .map(|k| match k {
                1 => format!("tix-out-{n}"),
                _ => format!("tix-out-{n}-{k}"),
            })
            .find(|id| !self.stored.contains(&(account.clone(), id.clone())))
            .unwrap();
        self.stored.insert((account, id.clone()));
        self.last_reply = id;
        let m = Inbound {
            channel: self.convs[conv].channel,
            account: None,
            customer_id: String::new(),
            display_name: None,
            message_id: String::new(),
            kind: MessageKind::Text,
            text: text.to_string(),
            sent_at: at,
            direction: Direction::Out,
            agent: None,
        };
        self.store_message(conv, ticket, &m);
        Outcome::Changed(vec![ticket])
    }

    fn merge(&mut self, agent: &str, from: ContactId, into: ContactId) -> Outcome {
        if from == into
            || at_index(&self.contacts, from) != Some(&None)
            || at_index(&self.contacts, into) != Some(&None)
        {
            return Outcome::Refused;
        }
        let conversations = (0..self.convs.len())
            .filter(|&i| self.convs[i].contact == from)
            .map(|i| i as i64 + 1)
            .collect();
        let change = Change::ContactMerge {
            from,
            into,
            conversations,
            merged: true,
        };
        self.commit(agent, vec![change], vec![])
    }

    fn open_ticket(&mut self, contact: ContactId, channel: ChannelKind, at: Millis) -> Outcome {
        if at_index(&self.contacts, contact) != Some(&None) {
            return Outcome::Refused;
        }
        let Some(conv) = self
            .convs
            .iter()
            .position(|c| c.contact == contact && c.account == channel.as_str())
        else {
            return Outcome::Refused;
        };
        match self.open_in(conv, 0) {
            Some(open) => Outcome::Opened(open, false),
            None => Outcome::Opened(self.new_ticket(conv, at), true),
        }
    }
}

// ----- what the database shows -------------------------------------------------------------------

/// Everything a refused action must leave as it was: every ticket row as listed, labels, fields,
/// totals, contacts, and every conversation's thread (messages, notes and journal lines).
#[derive(Debug, PartialEq)]
struct DbSnapshot {
    tickets: Vec<TicketSummary>,
    rows: Vec<Ticket>,
    fields: Vec<Vec<(String, String)>>,
    totals: Totals,
    contacts: Vec<ContactSummary>,
    threads: Vec<Vec<ThreadItem>>,
}

fn db_snapshot(desk: &Desk) -> DbSnapshot {
    let sql = desk.read();
    let mut tickets = sql.list_tickets(&TicketFilter::default()).unwrap();
    tickets.sort_by_key(|t| t.number);
    for t in &mut tickets {
        t.labels.sort();
    }
    let fields = tickets
        .iter()
        .map(|t| sql.fields(t.number).unwrap())
        .collect();
    let rows = tickets
        .iter()
        .map(|t| sql.ticket(t.number).unwrap().unwrap())
        .collect();
    let totals = sql.totals().unwrap();
    let threads = (1..=totals.conversations)
        .map(|c| sql.thread(c).unwrap())
        .collect();
    DbSnapshot {
        tickets,
        rows,
        fields,
        totals,
        contacts: sql.contacts().unwrap(),
        threads,
    }
}

/// What an agent sees of tickets and contacts, without times of change or journal lines: what
/// undo must restore and redo must bring back.
#[derive(Debug, PartialEq)]
struct TicketState {
    tickets: Vec<TicketView>,
    shown_notes: Vec<i64>,
    /// Each contact's id, `merged_into` and conversations.
    contacts: Vec<(ContactId, Option<ContactId>, Vec<i64>)>,
}

#[derive(Debug, PartialEq)]
struct TicketView {
    number: TicketNumber,
    lifecycle: Lifecycle,
    assignment: Assignment,
    follow_up: bool,
    labels: Vec<String>,
    fields: Vec<(String, String)>,
    messages: i64,
}

fn ticket_state(db: &DbSnapshot) -> TicketState {
    let tickets = db
        .tickets
        .iter()
        .zip(&db.rows)
        .zip(&db.fields)
        .map(|((s, t), fields)| TicketView {
            number: s.number,
            lifecycle: t.lifecycle.clone(),
            assignment: t.assignment.clone(),
            follow_up: t.follow_up,
            labels: s.labels.clone(),
            fields: fields.clone(),
            messages: s.messages,
        })
        .collect();
    let mut shown_notes: Vec<i64> = db
        .threads
        .iter()
        .flatten()
        .filter_map(|i| match i {
            ThreadItem::Note { id, .. } => Some(*id),
            _ => None,
        })
        .collect();
    shown_notes.sort();
    let contacts = db
        .contacts
        .iter()
        .map(|c| {
            let mut convs: Vec<i64> = c.identities.iter().map(|i| i.conversation_id).collect();
            convs.sort();
            (c.id, c.merged_into, convs)
        })
        .collect();
    TicketState {
        tickets,
        shown_notes,
        contacts,
    }
}

/// The checks run after every step.
fn check(desk: &Desk, model: &Model, db: &DbSnapshot) -> Result<(), TestCaseError> {
    let sql = desk.read();

    // The database's own invariants (DESIGN §1).
    prop_assert_eq!(sql.invariant_violations().unwrap(), Vec::<String>::new());

    // Counts shown equal counts computed from scratch.
    let totals = &db.totals;
    let count = |s: Status| db.tickets.iter().filter(|t| t.status == s).count() as i64;
    prop_assert_eq!(
        (totals.open, totals.closed, totals.spam),
        (
            count(Status::Open),
            count(Status::Closed),
            count(Status::Spam)
        ),
        "totals() against list_tickets()"
    );
    let unassigned = db
        .tickets
        .iter()
        .filter(|t| t.status == Status::Open && t.assignee.is_none() && t.team.is_none())
        .count() as i64;
    prop_assert_eq!(totals.unassigned_open, unassigned, "unassigned open count");
    let thread_messages: Vec<(i64, TicketNumber)> = db
        .threads
        .iter()
        .flatten()
        .filter_map(|i| match i {
            ThreadItem::Message { id, ticket, .. } => Some((*id, *ticket)),
            _ => None,
        })
        .collect();
    prop_assert_eq!(
        totals.messages,
        db.tickets.iter().map(|t| t.messages).sum::<i64>(),
        "stored messages against the sum of per-ticket counts"
    );
    prop_assert_eq!(
        totals.messages,
        thread_messages.len() as i64,
        "stored messages against messages in threads"
    );
    prop_assert_eq!(
        totals.messages,
        model.stored.len() as i64,
        "stored messages against distinct (account, message id) pairs sent"
    );
    prop_assert_eq!(
        totals.conversations,
        model.convs.len() as i64,
        "conversations: one per (account, customer) with a stored message"
    );
    prop_assert_eq!(
        totals.contacts,
        model.contacts.iter().filter(|m| m.is_none()).count() as i64,
        "unmerged contacts"
    );

    // Every ticket as the model has it.
    prop_assert_eq!(db.tickets.len(), model.tickets.len(), "number of tickets");
    for (((s, t), fields), m) in db
        .tickets
        .iter()
        .zip(&db.rows)
        .zip(&db.fields)
        .zip(&model.tickets)
    {
        let conv = &model.convs[m.conv];
        let n = m.number;
        prop_assert_eq!(s.number, n);
        prop_assert_eq!(&t.lifecycle, &m.lifecycle, "#{} lifecycle", n);
        prop_assert_eq!(t.conversation_id, m.conv as i64 + 1, "#{} conversation", n);
        prop_assert_eq!(
            (s.channel, s.account.as_str(), s.customer_id.as_str()),
            (conv.channel, conv.account.as_str(), conv.customer.as_str()),
            "#{} identity",
            n
        );
        prop_assert_eq!(s.contact_id, conv.contact, "#{} contact", n);
        prop_assert_eq!(
            &s.contact_name,
            &model.names[conv.contact as usize - 1],
            "#{} contact name",
            n
        );
        prop_assert_eq!(&t.assignment, &m.assignment, "#{} assignment", n);
        prop_assert_eq!(s.follow_up, m.follow_up, "#{} follow-up", n);
        let labels: Vec<String> = m.labels.iter().cloned().collect();
        prop_assert_eq!(&s.labels, &labels, "#{} labels", n);
        let want_fields: Vec<(String, String)> = m
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        prop_assert_eq!(fields, &want_fields, "#{} fields", n);
        prop_assert_eq!(s.messages, m.messages, "#{} message count", n);
        prop_assert_eq!(s.unread, m.unread, "#{} unread", n);
        prop_assert_eq!(s.waiting_since, m.waiting_since, "#{} waiting since", n);
        prop_assert_eq!(s.created_at, m.created_at, "#{} created at", n);
        prop_assert_eq!(
            s.first_response_at,
            m.first_response_at,
            "#{} first response at",
            n
        );
    }

    // Every message on the ticket the lifecycle predicts, and notes as the model has them.
    for (i, (conv, thread)) in model.convs.iter().zip(&db.threads).enumerate() {
        let mut got: Vec<(i64, TicketNumber)> = thread
            .iter()
            .filter_map(|item| match item {
                ThreadItem::Message { id, ticket, .. } => Some((*id, *ticket)),
                _ => None,
            })
            .collect();
        got.sort();
        prop_assert_eq!(
            &got,
            &conv.messages,
            "conversation {} ({} {}): (message, ticket) pairs",
            i + 1,
            conv.account,
            conv.customer
        );
    }
    let mut notes: Vec<i64> = db
        .threads
        .iter()
        .flatten()
        .filter_map(|i| match i {
            ThreadItem::Note { id, .. } => Some(*id),
            _ => None,
        })
        .collect();
    notes.sort();
    let want_notes: Vec<i64> = (1..=model.notes.len() as i64)
        .filter(|&id| model.notes[id as usize - 1].1)
        .collect();
    prop_assert_eq!(notes, want_notes, "shown notes");

    // Contacts and the conversations they hold: a merged contact holds none.
    for c in &db.contacts {
        prop_assert!(
            c.merged_into.is_none() || c.identities.is_empty(),
            "contact {} was merged into {:?} but still holds conversations {:?}",
            c.id,
            c.merged_into,
            c.identities
        );
    }
    prop_assert_eq!(
        db.contacts.len(),
        model.contacts.len(),
        "number of contacts"
    );
    for ((c, merged_into), name) in db.contacts.iter().zip(&model.contacts).zip(&model.names) {
        prop_assert_eq!(c.merged_into, *merged_into, "contact {} merged_into", c.id);
        prop_assert_eq!(&c.name, name, "contact {} name", c.id);
        let mut convs: Vec<i64> = c.identities.iter().map(|i| i.conversation_id).collect();
        convs.sort();
        let want: Vec<i64> = (0..model.convs.len())
            .filter(|&i| model.convs[i].contact == c.id)
            .map(|i| i as i64 + 1)
            .collect();
        prop_assert_eq!(convs, want, "contact {} conversations", c.id);
    }
    Ok(())
}

/// The filtered lists the sidebar counts come from hold exactly the tickets they name (checked
/// at the end of a history: these queries are the slow part of a step in debug builds).
fn check_views(desk: &Desk, db: &DbSnapshot) -> Result<(), TestCaseError> {
    let sql = desk.read();
    let numbers = |f: &TicketFilter| {
        let mut n: Vec<TicketNumber> = sql
            .list_tickets(f)
            .unwrap()
            .iter()
            .map(|t| t.number)
            .collect();
        n.sort();
        n
    };
    let matching = |keep: &dyn Fn(&TicketSummary) -> bool| -> Vec<TicketNumber> {
        db.tickets
            .iter()
            .filter(|t| keep(t))
            .map(|t| t.number)
            .collect()
    };
    for s in [Status::Open, Status::Closed, Status::Spam] {
        let f = TicketFilter {
            status: Some(s),
            ..TicketFilter::default()
        };
        prop_assert_eq!(numbers(&f), matching(&|t| t.status == s), "the {} view", s);
    }
    for a in AGENTS {
        let f = TicketFilter {
            status: Some(Status::Open),
            assignee: Some(a.to_string()),
            ..TicketFilter::default()
        };
        let want = matching(&|t| t.status == Status::Open && t.assignee.as_deref() == Some(a));
        prop_assert_eq!(numbers(&f), want, "{}'s open view", a);
    }
    for team in TEAMS {
        let f = TicketFilter {
            status: Some(Status::Open),
            team: Some(team.to_string()),
            ..TicketFilter::default()
        };
        let want = matching(&|t| t.status == Status::Open && t.team.as_deref() == Some(team));
        prop_assert_eq!(numbers(&f), want, "team {}'s open view", team);
    }
    Ok(())
}

// ----- running a history -------------------------------------------------------------------------

fn outcome(r: Result<Done, DeskError>) -> Result<Outcome, TestCaseError> {
    match r {
        Ok(done) => Ok(Outcome::Changed(done.changed)),
        Err(DeskError::Refused(_)) => Ok(Outcome::Refused),
        Err(e) => Err(TestCaseError::fail(format!("store error: {e}"))),
    }
}

fn resolve(p: &Pick, len: usize) -> i64 {
    match p {
        Pick::Existing(i) if len > 0 => i.index(len) as i64 + 1,
        Pick::Existing(_) => 1,
        Pick::Missing(k) => match k % 3 {
            0 => 0,
            1 => len as i64 + 1 + i64::from(k % 5),
            _ => -1 - i64::from(*k),
        },
    }
}

fn resolve_all(ps: &[Pick], len: usize) -> Vec<i64> {
    ps.iter().map(|p| resolve(p, len)).collect()
}

/// Runs one agent action on the model and on the desk, returning (expected, actual).
fn perform(
    desk: &mut Desk,
    model: &mut Model,
    ctx: &Ctx,
    action: &Action,
) -> Result<(Outcome, Outcome), TestCaseError> {
    let agent = ctx.agent.as_str();
    let at = ctx.at;
    let len = model.tickets.len();
    let lc = |t: &MTicket, status, closed_at, closed_by: Option<&str>, n| Change::Lifecycle {
        ticket: t.number,
        before: t.lifecycle.clone(),
        after: lifecycle(status, closed_at, closed_by, n),
    };
    Ok(match action {
        Action::Assign(a, t, ps) => {
            let ns = resolve_all(ps, len);
            let (a, t) = (a.map(|i| AGENTS[i]), t.map(|i| TEAMS[i]));
            let want = if a.is_none() && t.is_none() {
                Outcome::Refused
            } else {
                model.act(agent, &ns, |_, tk| {
                    let after = Assignment {
                        agent: a.map(str::to_string).or(tk.assignment.agent.clone()),
                        team: t.map(str::to_string).or(tk.assignment.team.clone()),
                    };
                    (after != tk.assignment).then(|| Change::Assignment {
                        ticket: tk.number,
                        before: tk.assignment.clone(),
                        after,
                    })
                })
            };
            (want, outcome(desk.assign(ctx, &ns, a, t))?)
        }
        Action::Take(ps) | Action::Unassign(ps) => {
            let ns = resolve_all(ps, len);
            let take = matches!(action, Action::Take(_));
            let want = model.act(agent, &ns, |_, tk| {
                let after = if take {
                    Assignment {
                        agent: Some(agent.to_string()),
                        team: tk.assignment.team.clone(),
                    }
                } else {
                    Assignment::default()
                };
                (after != tk.assignment).then(|| Change::Assignment {
                    ticket: tk.number,
                    before: tk.assignment.clone(),
                    after,
                })
            });
            let got = if take {
                desk.take(ctx, &ns)
            } else {
                desk.unassign(ctx, &ns)
            };
            (want, outcome(got)?)
        }
        Action::Close(ps) => {
            let ns = resolve_all(ps, len);
            let want = model.act(agent, &ns, |_, t| {
                (t.lifecycle.status == Status::Open).then(|| {
                    lc(
                        t,
                        Status::Closed,
                        Some(at),
                        Some(agent),
                        t.lifecycle.reopen_count,
                    )
                })
            });
            (want, outcome(desk.close(ctx, &ns))?)
        }
        Action::Reopen(ps) => {
            let ns = resolve_all(ps, len);
            let want = model.act(agent, &ns, |m, t| {
                (t.lifecycle.status == Status::Closed && m.open_in(t.conv, t.number).is_none())
                    .then(|| lc(t, Status::Open, None, None, t.lifecycle.reopen_count + 1))
            });
            (want, outcome(desk.reopen(ctx, &ns))?)
        }
        Action::MarkSpam(ps) => {
            let ns = resolve_all(ps, len);
            let want = model.act(agent, &ns, |_, t| {
                (t.lifecycle.status != Status::Spam).then(|| Change::Lifecycle {
                    ticket: t.number,
                    before: t.lifecycle.clone(),
                    after: Lifecycle {
                        status: Status::Spam,
                        ..t.lifecycle.clone()
                    },
                })
            });
            (want, outcome(desk.mark_spam(ctx, &ns))?)
        }
        Action::NotSpam(ps) => {
            let ns = resolve_all(ps, len);
            let want = model.act(agent, &ns, |m, t| {
                (t.lifecycle.status == Status::Spam && m.open_in(t.conv, t.number).is_none())
                    .then(|| lc(t, Status::Open, None, None, t.lifecycle.reopen_count))
            });
            (want, outcome(desk.not_spam(ctx, &ns))?)
        }
        Action::FollowUp(on, ps) => {
            let ns = resolve_all(ps, len);
            let want = model.act(agent, &ns, |_, t| {
                (t.follow_up != *on).then_some(Change::FollowUp {
                    ticket: t.number,
                    before: t.follow_up,
                    after: *on,
                })
            });
            (want, outcome(desk.follow_up(ctx, &ns, *on))?)
        }
        Action::Label(l, add, ps) => {
            let ns = resolve_all(ps, len);
            let label = LABELS[*l].trim();
            let want = if label.is_empty() {
                Outcome::Refused
            } else {
                model.act(agent, &ns, |_, t| {
                    (t.labels.contains(label) != *add).then(|| Change::Label {
                        ticket: t.number,
                        label: label.to_string(),
                        added: *add,
                    })
                })
            };
            (want, outcome(desk.label(ctx, &ns, LABELS[*l], *add))?)
        }
        Action::SetField(f, v, ps) => {
            let ns = resolve_all(ps, len);
            let name = FIELD_NAMES[*f].trim();
            let value = Some(FIELD_VALUES[*v].trim())
                .filter(|v| !v.is_empty())
                .map(str::to_string);
            let want = if name.is_empty() {
                Outcome::Refused
            } else {
                model.act(agent, &ns, |_, t| {
                    let before = t.fields.get(name).cloned();
                    (before != value).then(|| Change::Field {
                        ticket: t.number,
                        name: name.to_string(),
                        before,
                        after: value.clone(),
                    })
                })
            };
            let got = desk.set_field(ctx, &ns, FIELD_NAMES[*f], FIELD_VALUES[*v]);
            (want, outcome(got)?)
        }
        Action::Note(text, p) => {
            let n = resolve(p, len);
            (
                model.note(agent, n, NOTES[*text]),
                outcome(desk.note(ctx, n, NOTES[*text]))?,
            )
        }
        Action::Reply(text, p) => {
            let n = resolve(p, len);
            (
                model.reply(n, REPLIES[*text], at),
                outcome(desk.reply(ctx, n, REPLIES[*text]))?,
            )
        }
        Action::Merge(from, into) => {
            let (from, into) = (
                resolve(from, model.contacts.len()),
                resolve(into, model.contacts.len()),
            );
            (
                model.merge(agent, from, into),
                outcome(desk.merge_contacts(ctx, from, into))?,
            )
        }
        Action::OpenTicket(contact, channel) => {
            let contact = resolve(contact, model.contacts.len());
            let channel = CHANNELS[*channel];
            let got = match desk.open_ticket(ctx, contact, channel, None) {
                Ok((n, new)) => Outcome::Opened(n, new),
                Err(DeskError::Refused(_)) => Outcome::Refused,
                Err(e) => return Err(TestCaseError::fail(format!("store error: {e}"))),
            };
            (model.open_ticket(contact, channel, at), got)
        }
        Action::Undo => (model.undo(agent), outcome(desk.undo(ctx))?),
        Action::Redo => (model.redo(agent), outcome(desk.redo(ctx))?),
    })
}

/// The latest successful undoable action, while nothing else has happened since.
struct Watch {
    agent: String,
    before: TicketState,
    after: TicketState,
    undone: bool,
}

/// Ids used so far, so later messages can repeat them.
struct Sender {
    clock: Clock,
    fresh: u32,
    sent: Vec<String>,
}

impl Sender {
    fn batch(&mut self, world: &World, model: &Model, specs: &[MsgSpec]) -> Vec<Inbound> {
        let mut batch = Vec::new();
        for s in specs {
            let sent_at = self.clock.advance(s.gap, model.window);
            let customer = s.customer.index(world.customers.len());
            let channels = &world.customers[customer];
            let channel = world.channels[channels[s.channel.index(channels.len())]];
            let message_id = match &s.id {
                MsgId::Repeat(i) if !self.sent.is_empty() => {
                    self.sent[i.index(self.sent.len())].clone()
                }
                // This message will be stored as row `rows + batch.len() + 1` at most, so a reply
                // right after this batch would want the next one.
                MsgId::Squat(k) => format!(
                    "tix-out-{}",
                    model.rows + batch.len() as i64 + 2 + i64::from(*k)
                ),
                _ => {
                    self.fresh += 1;
                    format!("m{}", self.fresh)
                }
            };
            self.sent.push(message_id.clone());
            let (kind, text) = match s.text {
                Some(i) => (MessageKind::Text, TEXTS[i].to_string()),
                None => (MessageKind::Image, String::new()),
            };
            batch.push(Inbound {
                channel,
                account: None,
                customer_id: format!("U{customer}"),
                display_name: s.named.then(|| format!("Customer {customer}")),
                message_id,
                kind,
                text,
                sent_at,
                direction: if s.out.is_some() {
                    Direction::Out
                } else {
                    Direction::In
                },
                agent: s.out.flatten().map(|a| AGENTS[a].to_string()),
            });
        }
        batch
    }
}

/// Runs a history step by step, checking everything after each step. Returns how many times
/// an undo (and redo) right after an action was checked against the before (and after) state.
fn run(window: Option<Millis>, world: &World, steps: &[Step]) -> Result<usize, TestCaseError> {
    let mut desk = Desk::new(
        Store::open_in_memory().unwrap(),
        Settings {
            reopen_window: window,
            ..Settings::default()
        },
    );
    let mut model = Model::new(window);
    let mut sender = Sender {
        clock: Clock {
            now: T0,
            last_close: T0,
        },
        fresh: 0,
        sent: Vec::new(),
    };
    let mut batches = Vec::new();
    let mut watch: Option<Watch> = None;
    let mut snap = db_snapshot(&desk);
    let mut undo_checks = 0;
    for (i, step) in steps.iter().enumerate() {
        let after = match step {
            Step::Arrive(specs) => {
                let batch = sender.batch(world, &model, specs);
                let want = model.ingest(&batch);
                let got = desk
                    .ingest(&batch)
                    .map_err(|e| TestCaseError::fail(format!("step {i}: ingest failed: {e}")))?;
                prop_assert_eq!(got, want, "step {}: ingest report of {:#?}", i, batch);
                batches.push(batch);
                watch = None;
                db_snapshot(&desk)
            }
            Step::Act { gap, agent, action } => {
                let ctx = Ctx {
                    agent: AGENTS[*agent].to_string(),
                    at: sender.clock.advance(*gap, window),
                };
                let before_db = &snap;
                let (want, got) = perform(&mut desk, &mut model, &ctx, action)?;
                let after_db = db_snapshot(&desk);
                prop_assert_eq!(&got, &want, "step {}: {} {:?}", i, ctx.agent, action);
                match (action, &got) {
                    (Action::Close(_), Outcome::Changed(_)) => sender.clock.last_close = ctx.at,
                    // A later arrival may repeat a reply's id, as a webhook echo would.
                    (Action::Reply(..), Outcome::Changed(_)) => {
                        sender.sent.push(model.last_reply.clone());
                    }
                    _ => {}
                }
                if let Outcome::Opened(_, false) = got {
                    prop_assert_eq!(
                        &after_db,
                        before_db,
                        "step {}: going to an open ticket changed something",
                        i
                    );
                }
                if got == Outcome::Refused {
                    prop_assert_eq!(
                        &after_db,
                        before_db,
                        "step {}: refused {:?} changed something",
                        i,
                        action
                    );
                    // Undo (redo) right after an action (undo) by the same agent always works.
                    if let Some(w) = &watch
                        && w.agent == ctx.agent
                    {
                        let right_after = matches!(
                            (action, w.undone),
                            (Action::Undo, false) | (Action::Redo, true)
                        );
                        prop_assert!(
                            !right_after,
                            "step {}: {:?} right after the action was refused",
                            i,
                            action
                        );
                    }
                    // Nothing happened: an undo after the watched action is still right after it.
                } else {
                    let same_agent = watch.as_ref().is_some_and(|w| w.agent == ctx.agent);
                    let now = ticket_state(&after_db);
                    match (action, watch.take()) {
                        (Action::Undo, Some(mut w)) if same_agent && !w.undone => {
                            prop_assert_eq!(&now, &w.before, "step {}: undo did not restore", i);
                            w.undone = true;
                            undo_checks += 1;
                            watch = Some(w);
                        }
                        (Action::Redo, Some(mut w)) if same_agent && w.undone => {
                            prop_assert_eq!(&now, &w.after, "step {}: redo did not restore", i);
                            w.undone = false;
                            undo_checks += 1;
                            watch = Some(w);
                        }
                        _ if action.undoable() => {
                            watch = Some(Watch {
                                agent: ctx.agent.clone(),
                                before: ticket_state(before_db),
                                after: now,
                                undone: false,
                            });
                        }
                        _ => {}
                    }
                }
                after_db
            }
        };
        check(&desk, &model, &after)
            .map_err(|e| TestCaseError::fail(format!("after step {i}: {e}")))?;
        snap = after;
    }
    // Importing the same history again adds nothing and changes nothing.
    let before = db_snapshot(&desk);
    check_views(&desk, &before)?;
    for b in &batches {
        let r = desk.ingest(b).unwrap();
        prop_assert_eq!(
            (r.new, r.duplicates),
            (0, b.len()),
            "re-import stored something"
        );
    }
    prop_assert_eq!(db_snapshot(&desk), before, "re-import changed something");
    Ok(undo_checks)
}

// ----- the properties ----------------------------------------------------------------------------

/// No regressions file: a failure prints its minimal history, to be pinned as a plain test.
/// Case counts keep the whole file at a few seconds in a debug build (SQLite is unoptimised there).
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(cases)
    }
}

proptest! {
    #![proptest_config(config(32))]

    #[test]
    fn every_step_keeps_invariants_counts_and_the_lifecycle_with_a_random_reopen_window(
        window in window(),
        world in world(),
        steps in steps(),
    ) {
        run(window, &world, &steps)?;
    }

    #[test]
    fn every_step_keeps_invariants_counts_and_the_lifecycle_with_reopening_off(
        world in world(),
        steps in steps(),
    ) {
        run(None, &world, &steps)?;
    }
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn every_step_keeps_invariants_counts_and_the_lifecycle_with_the_default_24h_window(
        world in world(),
        steps in steps(),
    ) {
        run(Some(DEFAULT_REOPEN_WINDOW), &world, &steps)?;
    }

    #[test]
    fn undo_right_after_an_action_restores_before_and_redo_restores_after(
        window in prop_oneof![Just(Some(DEFAULT_REOPEN_WINDOW)), window(), Just(None)],
        world in world(),
        prefix in proptest::collection::vec(step(), 0..30),
        agent in 0..AGENTS.len(),
        action in action().prop_filter("an undoable action", Action::undoable),
        gaps in proptest::collection::vec(gap(), 4),
    ) {
        let mut steps = prefix;
        steps.push(Step::Act { gap: gaps[0], agent, action });
        for (gap, action) in gaps[1..].iter().zip([Action::Undo, Action::Redo, Action::Undo]) {
            steps.push(Step::Act { gap: *gap, agent, action });
        }
        run(window, &world, &steps)?;
    }

    #[test]
    fn a_customer_message_reopens_up_to_the_end_of_the_window_and_starts_a_new_ticket_after(
        window in prop_oneof![Just(Some(DEFAULT_REOPEN_WINDOW)), window(), Just(None)],
        open_for in SECOND..3 * DAY,
        offset in prop_oneof![-1..=1i64, -2 * SECOND..=2 * SECOND, -3 * DAY..=3 * DAY],
        assigned in any::<bool>(),
    ) {
        let mut d = Desk::new(Store::open_in_memory().unwrap(), Settings { reopen_window: window, ..Settings::default() });
        d.ingest(&[line_msg("U1", "m1", T0, None)]).unwrap();
        if assigned {
            d.assign(&ctx("alice", T0 + 1), &[1], Some("alice"), Some("billing")).unwrap();
        }
        let closed_at = T0 + open_for;
        d.close(&ctx("bob", closed_at), &[1]).unwrap();
        // The message's own time, from the close: the window's end plus `offset`, never before.
        let delay = (window.unwrap_or(DEFAULT_REOPEN_WINDOW) + offset).max(0);
        let r = d.ingest(&[line_msg("U1", "m2", closed_at + delay, None)]).unwrap();
        let reopens = window.is_some_and(|w| delay <= w);
        prop_assert_eq!(
            (r.tickets_reopened, r.tickets_created),
            if reopens { (1, 0) } else { (0, 1) }
        );
        let first = d.read().ticket(1).unwrap().unwrap();
        let landed = d
            .read()
            .thread(1)
            .unwrap()
            .iter()
            .filter_map(|i| match i {
                ThreadItem::Message { ticket, .. } => Some(*ticket),
                _ => None,
            })
            .collect::<Vec<_>>();
        if reopens {
            prop_assert_eq!(first.lifecycle, lifecycle(Status::Open, None, None, 1));
            prop_assert_eq!(landed, vec![1, 1]);
        } else {
            prop_assert_eq!(
                first.lifecycle,
                lifecycle(Status::Closed, Some(closed_at), Some("bob"), 0)
            );
            prop_assert_eq!(landed, vec![1, 2]);
            let second = d.read().ticket(2).unwrap().unwrap();
            prop_assert_eq!(second.lifecycle, lifecycle(Status::Open, None, None, 0));
            prop_assert_eq!(second.assignment, Assignment::default(), "a new ticket is unassigned");
        }
        // Reopening keeps the assignee and team.
        let kept = if assigned {
            Assignment { agent: Some("alice".into()), team: Some("billing".into()) }
        } else {
            Assignment::default()
        };
        prop_assert_eq!(first.assignment, kept);
        prop_assert_eq!(d.read().invariant_violations().unwrap(), Vec::<String>::new());
    }
}

// ----- regressions ------------------------------------------------------------------------------
//
// Minimal cases of bugs the properties found (all fixed since), pinned as plain tests.

fn line_msg(from: &str, id: &str, at: Millis, name: Option<&str>) -> Inbound {
    Inbound {
        channel: ChannelKind::Line,
        account: None,
        customer_id: from.into(),
        display_name: name.map(str::to_string),
        message_id: id.into(),
        kind: MessageKind::Text,
        text: format!("hello {id}"),
        sent_at: at,
        direction: Direction::In,
        agent: None,
    }
}

fn ctx(agent: &str, at: Millis) -> Ctx {
    Ctx {
        agent: agent.into(),
        at,
    }
}

fn new_desk() -> Desk {
    Desk::new(Store::open_in_memory().unwrap(), Settings::default())
}

#[test]
fn a_dropped_duplicate_from_a_new_customer_creates_no_contact() {
    // DESIGN §2: step 1 (drop a stored message id) comes before step 2 (create the contact).
    let mut d = new_desk();
    d.ingest(&[line_msg("U1", "m1", T0, None)]).unwrap();
    let r = d.ingest(&[line_msg("U2", "m1", T0 + 1, None)]).unwrap();
    assert_eq!((r.new, r.duplicates), (0, 1));
    let t = d.read().totals().unwrap();
    assert_eq!((t.contacts, t.conversations), (1, 1));
    let r = d
        .ingest(&[
            line_msg("U3", "m2", T0 + 2, None),
            line_msg("U4", "m2", T0 + 3, None),
        ])
        .unwrap();
    assert_eq!((r.new, r.duplicates), (1, 1));
    let t = d.read().totals().unwrap();
    assert_eq!((t.contacts, t.conversations), (2, 2));
}

#[test]

fn a_contacts_name_does_not_depend_on_how_arrivals_are_batched() {
    let batch = [
        line_msg("U1", "m1", T0, None),
        line_msg("U1", "m2", T0 + SECOND, Some("Ann")),
    ];
    let mut whole = new_desk();
    whole.ingest(&batch).unwrap();
    let mut split = new_desk();
    for m in &batch {
        split.ingest(std::slice::from_ref(m)).unwrap();
    }
    let name = |d: &Desk| d.read().contacts().unwrap()[0].name.clone();
    assert_eq!(name(&split), "Ann");
    assert_eq!(
        name(&whole),
        name(&split),
        "one batch vs one message at a time"
    );
    whole.ingest(&batch).unwrap();
    assert_eq!(
        name(&whole),
        "Ann",
        "re-importing the same batch changes nothing"
    );
}

#[test]
fn a_ticket_created_by_a_batch_is_created_at_its_first_message() {
    let mut d = new_desk();
    d.ingest(&[
        line_msg("U1", "m1", T0, None),
        line_msg("U1", "m2", T0 + 30 * SECOND, None),
    ])
    .unwrap();
    let t = d.read().ticket_summary(1).unwrap().unwrap();
    assert_eq!(t.created_at, T0);
}

#[test]

fn redo_of_a_merge_never_leaves_conversations_on_a_merged_contact() {
    let mut d = new_desk();
    d.ingest(&[
        line_msg("U1", "m1", T0, None),
        line_msg("U2", "m2", T0, None),
        line_msg("U3", "m3", T0, None),
    ])
    .unwrap();
    d.merge_contacts(&ctx("alice", T0 + 1), 1, 2).unwrap();
    d.undo(&ctx("alice", T0 + 2)).unwrap();
    d.merge_contacts(&ctx("bob", T0 + 3), 2, 3).unwrap();
    // Contact 2 is now merged into 3; alice's redo would move contact 1's conversation onto it.
    let _ = d.redo(&ctx("alice", T0 + 4));
    for c in d.read().contacts().unwrap() {
        assert!(
            c.merged_into.is_none() || c.identities.is_empty(),
            "contact {} is merged into {:?} but holds {:?}",
            c.id,
            c.merged_into,
            c.identities
        );
    }
}

#[test]

fn a_bulk_action_naming_a_ticket_twice_acts_on_it_once() {
    let mut d = new_desk();
    d.ingest(&[
        line_msg("U1", "m1", T0, None),
        line_msg("U2", "m2", T0, None),
    ])
    .unwrap();
    let done = d.close(&ctx("alice", T0 + 1), &[1, 2, 1]);
    assert!(done.is_ok(), "{:?}", done.err().map(|e| e.to_string()));
    let t = d.read().totals().unwrap();
    assert_eq!((t.open, t.closed), (0, 2));
}

#[test]

fn a_reply_never_collides_with_an_imported_message_id() {
    let mut d = new_desk();
    // An import (e.g. of another tix's export) holding an id of the form tix makes for replies.
    d.ingest(&[line_msg("U1", "tix-out-2", T0, None)]).unwrap();
    let r = d.reply(&ctx("alice", T0 + 1), 1, "on its way");
    assert!(r.is_ok(), "{:?}", r.err().map(|e| e.to_string()));
    assert_eq!(d.read().totals().unwrap().messages, 2);
}
