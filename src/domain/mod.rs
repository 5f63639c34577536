//! Plain types of the support desk: channels, statuses, messages, actors and the journal's changes.
//!
//! Nothing here touches the database or the terminal, so every other module can share them.

pub mod fields;
pub mod text;
pub mod time;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, UTC. Stored as-is in SQLite so times sort and compare cheaply.
pub type Millis = i64;

/// A ticket's display number (`#1042`). Sequential and never reused.
pub type TicketNumber = i64;

/// Ids of rows that the desk hands around without exposing the store's internals.
pub type ContactId = i64;
pub type ConversationId = i64;
pub type AccountId = i64;

/// The kinds of channel a shop connects. Each has a default account named after the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    Line,
    Messenger,
    Instagram,
    Whatsapp,
    Shopee,
    Lazada,
    Tiktok,
    Webchat,
    Email,
}

/// Messenger and Instagram let a business reply freely only this long after the customer's
/// last message.
pub const META_REPLY_WINDOW: Millis = 24 * 3_600_000;

impl ChannelKind {
    /// How long after the customer's last message a reply may be sent, where the platform
    /// limits it.
    pub fn reply_window(self) -> Option<Millis> {
        match self {
            ChannelKind::Messenger | ChannelKind::Instagram => Some(META_REPLY_WINDOW),
            _ => None,
        }
    }

    pub const ALL: [ChannelKind; 9] = [
        ChannelKind::Line,
        ChannelKind::Messenger,
        ChannelKind::Instagram,
        ChannelKind::Whatsapp,
        ChannelKind::Shopee,
        ChannelKind::Lazada,
        ChannelKind::Tiktok,
        ChannelKind::Webchat,
        ChannelKind::Email,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Line => "line",
            ChannelKind::Messenger => "messenger",
            ChannelKind::Instagram => "instagram",
            ChannelKind::Whatsapp => "whatsapp",
            ChannelKind::Shopee => "shopee",
            ChannelKind::Lazada => "lazada",
            ChannelKind::Tiktok => "tiktok",
            ChannelKind::Webchat => "webchat",
            ChannelKind::Email => "email",
        }
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a word could not be read as one of our enums; the message lists what would have been accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} \"{given}\" (expected one of: {expected})")]
pub struct UnknownName {
    pub what: &'static str,
    pub given: String,
    pub expected: String,
}

fn parse_by_name<T: Copy>(
    what: &'static str,
    all: &[T],
    name: fn(T) -> &'static str,
    given: &str,
) -> Result<T, UnknownName> {
    let wanted = given.trim().to_ascii_lowercase();
    all.iter()
        .copied()
        .find(|v| name(*v) == wanted)
        .ok_or_else(|| UnknownName {
            what,
            given: given.to_string(),
            expected: all.iter().map(|v| name(*v)).collect::<Vec<_>>().join(", "),
        })
}

impl FromStr for ChannelKind {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_by_name("channel", &ChannelKind::ALL, ChannelKind::as_str, s)
    }
}

/// A ticket's status. See the lifecycle table in the design.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Open,
    Closed,
    Spam,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Open, Status::Closed, Status::Spam];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Closed => "closed",
            Status::Spam => "spam",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_by_name("status", &Status::ALL, Status::as_str, s)
    }
}

/// Whether a message came from the customer or went to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    pub const ALL: [Direction; 2] = [Direction::In, Direction::Out];

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

impl FromStr for Direction {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_by_name("direction", &Direction::ALL, Direction::as_str, s)
    }
}

/// What a message carries. Media kinds need no text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    Text,
    Image,
    Sticker,
    File,
    Location,
    System,
}

impl MessageKind {
    pub const ALL: [MessageKind; 6] = [
        MessageKind::Text,
        MessageKind::Image,
        MessageKind::Sticker,
        MessageKind::File,
        MessageKind::Location,
        MessageKind::System,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Image => "image",
            MessageKind::Sticker => "sticker",
            MessageKind::File => "file",
            MessageKind::Location => "location",
            MessageKind::System => "system",
        }
    }
}

impl FromStr for MessageKind {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_by_name("message kind", &MessageKind::ALL, MessageKind::as_str, s)
    }
}

/// One message as every source hands it to the arrival path: the simulator, `tix import`
/// and (later) the webhook receiver all produce this, so the lifecycle has one implementation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inbound {
    pub channel: ChannelKind,
    /// The channel account's name; `None` means the channel's default account.
    pub account: Option<String>,
    /// The customer's id on that channel (LINE user id, PSID, phone number, ...).
    pub customer_id: String,
    /// The customer's display name, when the source knows it.
    pub display_name: Option<String>,
    /// The platform's message id; unique per channel account, which makes imports idempotent.
    pub message_id: String,
    pub kind: MessageKind,
    pub text: String,
    pub sent_at: Millis,
    pub direction: Direction,
    /// The agent who wrote an outbound message, when known.
    pub agent: Option<String>,
}

impl Inbound {
    /// The account name this message belongs to, falling back to the channel's default account.
    pub fn account_name(&self) -> &str {
        self.account.as_deref().unwrap_or(self.channel.as_str())
    }
}

/// Who made a change. Journal lines and undo both need to know.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "lowercase")]
pub enum Actor {
    Agent(String),
    Rule(String),
    System,
    Customer,
}

impl Actor {
    pub fn kind_str(&self) -> &'static str {
        match self {
            Actor::Agent(_) => "agent",
            Actor::Rule(_) => "rule",
            Actor::System => "system",
            Actor::Customer => "customer",
        }
    }

    pub fn name(&self) -> Option<&str> {
        match self {
            Actor::Agent(n) | Actor::Rule(n) => Some(n),
            Actor::System | Actor::Customer => None,
        }
    }

    /// Rebuilds an actor from its two stored columns.
    pub fn from_parts(kind: &str, name: Option<String>) -> Actor {
        match (kind, name) {
            ("agent", Some(n)) => Actor::Agent(n),
            ("rule", Some(n)) => Actor::Rule(n),
            ("customer", _) => Actor::Customer,
            _ => Actor::System,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Agent(n) => f.write_str(n),
            Actor::Rule(n) => write!(f, "rule {n}"),
            Actor::System => f.write_str("system"),
            Actor::Customer => f.write_str("customer"),
        }
    }
}

/// The lifecycle part of a ticket that status changes move together, so one change can be inverted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    pub status: Status,
    pub closed_at: Option<Millis>,
    pub closed_by: Option<String>,
    pub reopen_count: i64,
}

/// Who a ticket is with: an agent, a team, both or neither.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub agent: Option<String>,
    pub team: Option<String>,
}

/// One invertible change to a ticket or contact, as written to the journal.
///
/// Undo reads these back and applies the inverse, so each variant carries both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// A ticket came into being (from an arrival or opened by an agent).
    Created { ticket: TicketNumber },
    Lifecycle {
        ticket: TicketNumber,
        before: Lifecycle,
        after: Lifecycle,
    },
    Assignment {
        ticket: TicketNumber,
        before: Assignment,
        after: Assignment,
    },
    FollowUp {
        ticket: TicketNumber,
        before: bool,
        after: bool,
    },
    Label {
        ticket: TicketNumber,
        label: String,
        added: bool,
    },
    Field {
        ticket: TicketNumber,
        name: String,
        before: Option<String>,
        after: Option<String>,
    },
    Note {
        ticket: TicketNumber,
        note: i64,
        added: bool,
    },
    /// A reply sent to the customer. It cannot be taken back, so it has no inverse.
    Reply { ticket: TicketNumber, message: i64 },
    /// Conversations moved from one contact to another (a merge, or the undo of one).
    ContactMerge {
        from: ContactId,
        into: ContactId,
        conversations: Vec<ConversationId>,
        merged: bool,
    },
}

impl Change {
    /// The ticket the change belongs to, for the journal's index; merges belong to no ticket.
    pub fn ticket(&self) -> Option<TicketNumber> {
        match self {
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

    /// The journal's short name for this change, as shown in threads and read by reports.
    pub fn event_kind(&self) -> &'static str {
        match self {
            Change::Created { .. } => "created",
            Change::Lifecycle { before, after, .. } => match (before.status, after.status) {
                (_, Status::Spam) => "marked_spam",
                (Status::Spam, _) => "not_spam",
                (Status::Open, Status::Closed) => "closed",
                (Status::Closed, Status::Open) => "reopened",
                _ => "status_changed",
            },
            Change::Assignment { after, .. } => {
                if after.agent.is_none() && after.team.is_none() {
                    "unassigned"
                } else {
                    "assigned"
                }
            }
            Change::FollowUp { after, .. } => {
                if *after {
                    "follow_up_set"
                } else {
                    "follow_up_cleared"
                }
            }
            Change::Label { added, .. } => {
                if *added {
                    "labelled"
                } else {
                    "unlabelled"
                }
            }
            Change::Field { .. } => "field_set",
            Change::Note { added, .. } => {
                if *added {
                    "note_added"
                } else {
                    "note_removed"
                }
            }
            Change::Reply { .. } => "replied",
            Change::ContactMerge { merged, .. } => {
                if *merged {
                    "contacts_merged"
                } else {
                    "contacts_unmerged"
                }
            }
        }
    }

    /// The change that undoes this one, or `None` where nothing can take it back.
    pub fn inverse(&self) -> Option<Change> {
        Some(match self.clone() {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_round_trip_and_unknown_lists_choices() {
        for c in ChannelKind::ALL {
            assert_eq!(c.as_str().parse::<ChannelKind>().unwrap(), c);
        }
        let err = "fax".parse::<ChannelKind>().unwrap_err();
        assert!(err.to_string().contains("unknown channel \"fax\""));
        assert!(err.to_string().contains("line, messenger"));
    }

    #[test]
    fn inverse_of_inverse_is_the_change() {
        let c = Change::Field {
            ticket: 4,
            name: "priority".into(),
            before: None,
            after: Some("high".into()),
        };
        assert_eq!(c.inverse().unwrap().inverse().unwrap(), c);
        assert!(
            Change::Reply {
                ticket: 1,
                message: 2
            }
            .inverse()
            .is_none()
        );
    }

    #[test]
    fn event_kind_names_lifecycle_moves() {
        let open = Lifecycle {
            status: Status::Open,
            closed_at: None,
            closed_by: None,
            reopen_count: 0,
        };
        let closed = Lifecycle {
            status: Status::Closed,
            closed_at: Some(5),
            closed_by: Some("alice".into()),
            reopen_count: 0,
        };
        let c = Change::Lifecycle {
            ticket: 1,
            before: open,
            after: closed,
        };
        assert_eq!(c.event_kind(), "closed");
        assert_eq!(c.inverse().unwrap().event_kind(), "reopened");
    }
}
