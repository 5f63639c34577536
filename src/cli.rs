//! The command line, as clap definitions. What each command does lives in [`crate::commands`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::domain::{ChannelKind, MessageKind, TicketNumber};
use crate::sources::import::Format;

/// tix: a terminal inbox for customer-support agents.
///
/// Every customer chat from LINE, Messenger, Instagram, WhatsApp, Shopee and Lazada in one local
/// SQLite file, turned into tickets you can triage from the keyboard or from scripts.
#[derive(Debug, Parser)]
#[command(name = "tix", version, propagate_version = true)]
pub struct Cli {
    /// The database file [default: tix.db in your data directory]
    #[arg(long, global = true, env = "TIX_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// The configuration file [default: config.toml in your config directory]
    #[arg(long, global = true, env = "TIX_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// The agent you act as [default: `me` in the config file]
    #[arg(
        id = "acting_agent",
        long = "as",
        global = true,
        env = "TIX_AGENT",
        value_name = "AGENT"
    )]
    pub acting_agent: Option<String>,

    /// Open a throwaway demo database with simulated customers writing in live
    #[arg(long)]
    pub demo: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import messages from JSON Lines, CSV or the channels' webhook payloads (re-importing adds nothing)
    Import(ImportArgs),
    /// Generate realistic simulated traffic into the database
    Simulate(SimulateArgs),
    /// Receive the channels' webhooks over HTTP, verify their signatures and store the messages
    Serve(ServeArgs),
    /// List tickets
    #[command(subcommand)]
    Tickets(TicketsCommand),
    /// Show or act on one ticket (or several, where the action allows)
    #[command(subcommand)]
    Ticket(TicketCommand),
    /// List or merge contacts
    #[command(subcommand)]
    Contacts(ContactsCommand),
    /// Public comments on the shop's Facebook and Instagram posts: list, reply privately
    #[command(subcommand)]
    Comments(CommentsCommand),
    /// Product reviews of the shop's Shopee and Lazada listings: list, convert to a ticket
    #[command(subcommand)]
    Reviews(ReviewsCommand),
    /// Report a period: tickets created, replied, closed and open, response and resolution
    /// times, by agent, team, channel and label, and per day
    Stats(StatsArgs),
    /// Take back your latest action
    Undo,
    /// Do again the action you undid last
    Redo,
    /// Show where tix keeps its files, or check the configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Check the routing rules, or try them out without changing anything
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Evaluate timers now (idle, unassigned_for, auto-close, team backlogs); for cron
    Tick {
        /// The time to evaluate at, RFC 3339 or epoch ms [default: TIX_NOW, else the clock]
        #[arg(long, value_name = "TIME")]
        now: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Check the agents, teams and rules of the configuration and list the rules
    Check,
    /// Run a message through the rules and explain each decision; nothing is written
    Test(RulesTestArgs),
}

#[derive(Debug, Args)]
pub struct RulesTestArgs {
    /// The message's channel
    #[arg(long, required_unless_present = "replay")]
    pub channel: Option<ChannelKind>,
    /// The channel account, if not the channel's default one
    #[arg(long, conflicts_with = "replay")]
    pub account: Option<String>,
    /// The customer's id on the channel (an existing customer's, to test returning customers)
    #[arg(
        long,
        value_name = "CUSTOMER_ID",
        default_value = "tix-rules-test",
        conflicts_with = "replay"
    )]
    pub from: String,
    /// The customer's display name
    #[arg(long, conflicts_with = "replay")]
    pub name: Option<String>,
    /// The message text
    #[arg(long, default_value = "", conflicts_with = "replay")]
    pub text: String,
    /// The message kind
    #[arg(long, default_value = "text", conflicts_with = "replay")]
    pub kind: MessageKind,
    /// Run the stored messages through the rules instead, and count what each rule would do
    #[arg(long)]
    pub replay: bool,
    /// With --replay: only messages sent within this long before now (e.g. 7d)
    #[arg(long, requires = "replay", value_name = "DURATION")]
    pub since: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Files to import
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The files' format: auto, jsonl, csv, a channel's webhook payloads (line, messenger,
    /// instagram, whatsapp, facebook, shopee), or reviews (product reviews as JSON Lines); auto
    /// picks by extension, then by content, and never guesses reviews
    #[arg(long, default_value = "auto")]
    pub format: Format,
    /// Import the valid lines and write the invalid ones to the rejects file
    #[arg(long)]
    pub skip_invalid: bool,
    /// Where rejected lines go, unchanged [default: FILE.rejects next to the first file]
    #[arg(long, value_name = "PATH", requires = "skip_invalid")]
    pub rejects: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on; port 0 picks a free one (the address is printed)
    #[arg(long, default_value = "127.0.0.1:8088", value_name = "HOST:PORT")]
    pub listen: String,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// How many messages to generate (customers' and agents' together)
    #[arg(long, default_value_t = 10_000)]
    pub messages: usize,
    /// The seed: the same seed gives the same traffic
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How many days of history the messages span, ending now
    #[arg(long, default_value_t = 14)]
    pub days: u32,
    /// Send the messages live, this many per second, stamped with the current time
    #[arg(long, value_name = "PER_SECOND")]
    pub rate: Option<f64>,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// The period up to now, such as 24h, 7d or 30d [default: 7d]
    #[arg(long, value_name = "DURATION", conflicts_with_all = ["from", "to"])]
    pub since: Option<String>,
    /// The first day of the period, in your time zone: YYYY-MM-DD
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// The last day of the period, included [default: today]
    #[arg(long, value_name = "DATE", requires = "from")]
    pub to: Option<String>,
    /// Print one JSON object
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFilter {
    Open,
    Closed,
    Spam,
    All,
}

#[derive(Debug, Subcommand)]
pub enum TicketsCommand {
    /// List tickets, longest-waiting first for open ones, newest first otherwise
    List {
        #[arg(long, default_value = "open")]
        status: StatusFilter,
        /// Only tickets assigned to this agent
        #[arg(long)]
        assignee: Option<String>,
        /// Only tickets of this team
        #[arg(long)]
        team: Option<String>,
        /// Only tickets on this channel
        #[arg(long)]
        channel: Option<ChannelKind>,
        /// At most this many tickets
        #[arg(long)]
        limit: Option<i64>,
        /// Print one JSON array
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AddRemove {
    Add,
    Remove,
}

#[derive(Debug, Subcommand)]
pub enum TicketCommand {
    /// The ticket's whole conversation: messages, notes and journal lines
    Show {
        number: TicketNumber,
        #[arg(long)]
        json: bool,
    },
    /// Assign tickets to an agent and/or a team
    Assign {
        #[arg(required = true)]
        numbers: Vec<TicketNumber>,
        #[arg(long)]
        agent: Option<String>,
        #[arg(long)]
        team: Option<String>,
    },
    /// Remove the agent and team from tickets
    Unassign {
        #[arg(required = true)]
        numbers: Vec<TicketNumber>,
    },
    /// Assign tickets to yourself
    Take {
        #[arg(required = true)]
        numbers: Vec<TicketNumber>,
    },
    /// Close tickets
    Close {
        #[arg(required = true)]
        numbers: Vec<TicketNumber>,
    },
    /// Reopen closed tickets
    Reopen {
        #[arg(required = true)]
        numbers: Vec<TicketNumber>,
    },
    /// Mark tickets as spam: later messages are kept silently
    Spam {
        #[arg(required = true)]
        numbers: Vec<TicketNumber>,
    },
    /// Bring tickets back from spam, open
    NotSpam {
        #[arg(required = true)]
        numbers: Vec<TicketNumber>,
    },
    /// Flag a ticket for follow-up, or clear the flag
    FollowUp { number: TicketNumber, state: OnOff },
    /// Add or remove a label
    Label {
        number: TicketNumber,
        op: AddRemove,
        name: String,
    },
    /// Add an internal note (never sent to the customer)
    Note { number: TicketNumber, text: String },
    /// Reply to the customer
    Reply { number: TicketNumber, text: String },
    /// Set a field's value (an empty value clears it)
    Field {
        number: TicketNumber,
        name: String,
        value: String,
    },
    /// Open a ticket on a contact's conversation on a channel (or show the open one)
    Open {
        #[arg(long)]
        contact: i64,
        #[arg(long)]
        channel: ChannelKind,
        /// The channel account, if not the channel's default one
        #[arg(long)]
        account: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ContactsCommand {
    /// List contacts with their channel identities
    List {
        #[arg(long)]
        json: bool,
    },
    /// Move every conversation of contact FROM to contact INTO (undo moves them back)
    Merge { from: i64, into: i64 },
}

#[derive(Debug, Subcommand)]
pub enum CommentsCommand {
    /// Comments waiting for an answer, newest first
    List {
        /// Handled comments too (answered, or the page's own)
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Answer a comment privately: the reply goes to the commenter's DM conversation, opened
    /// (or reused) as a ticket linked to the comment
    Reply { id: i64, text: String },
}

#[derive(Debug, Subcommand)]
pub enum ReviewsCommand {
    /// Reviews not yet converted, newest first
    List {
        /// Converted reviews too
        #[arg(long)]
        all: bool,
        /// Only reviews rated below N stars (2 to 5)
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(2..=5))]
        rating_below: Option<u8>,
        #[arg(long)]
        json: bool,
    },
    /// Open (or reuse) the reviewer's chat on the marketplace as a ticket linked to the review
    Convert { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the database and configuration paths in use
    Paths,
    /// Check the configuration file and report the first problem
    Check,
}
