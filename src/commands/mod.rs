//! What each command-line command does. `main` parses the arguments and hands them here.

mod areas;
pub mod import;
mod print;
mod rules;
mod simulate;
pub mod stats;

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};

use crate::cli::{
    AddRemove, Cli, Command, ConfigCommand, ContactsCommand, OnOff, RulesCommand, StatusFilter,
    TicketCommand, TicketsCommand,
};
use crate::config::{self, Config};
use crate::desk::{Ctx, Desk, DeskError, Done};
use crate::domain::{Millis, Status, text, time};
use crate::store::{Store, TicketFilter};

pub use import::{BatchSizer, Batcher};
pub use simulate::run_demo;

/// Where the database and config live, and who is acting, after flags, environment and config
/// file have had their say.
pub struct Setup {
    pub db: PathBuf,
    pub config_path: PathBuf,
    pub config: Config,
    pub agent: Option<String>,
}

impl Setup {
    pub fn resolve(cli: &Cli) -> Result<Setup> {
        let defaults = config::default_paths();
        let config_given = cli.config.is_some();
        let config_path = match (&cli.config, &defaults) {
            (Some(p), _) => p.clone(),
            (None, Some((_, c))) => c.clone(),
            (None, None) => bail!("no home directory found: pass --config PATH or set TIX_CONFIG"),
        };
        let config = Config::load(&config_path, config_given)?;
        let db = match (&cli.db, &defaults) {
            (Some(p), _) => p.clone(),
            (None, Some((d, _))) => d.clone(),
            (None, None) => bail!("no home directory found: pass --db PATH or set TIX_DB"),
        };
        let agent = cli
            .acting_agent
            .clone()
            .or_else(|| config.me.clone())
            .filter(|a| !a.trim().is_empty());
        Ok(Setup {
            db,
            config_path,
            config,
            agent,
        })
    }

    pub fn open_desk(&self) -> Result<Desk> {
        let store =
            Store::open(&self.db).with_context(|| format!("cannot open {}", self.db.display()))?;
        let settings = self
            .config
            .settings()
            .map_err(|e| anyhow!("{}: {e}", self.config_path.display()))?;
        Ok(Desk::new(store, settings))
    }

    /// The acting agent at the current time, or an error that says how to name one.
    pub fn ctx(&self) -> Result<Ctx> {
        let agent = self.agent.clone().ok_or_else(|| {
            anyhow!(
                "no agent to act as: pass --as AGENT, set TIX_AGENT, or set \
                 me = \"your-handle\" in {}",
                self.config_path.display()
            )
        })?;
        Ok(Ctx { agent, at: now() })
    }
}

/// The current time. `TIX_NOW` (RFC 3339 or epoch ms) fixes it, for tests and replays.
pub fn now() -> Millis {
    std::env::var("TIX_NOW")
        .ok()
        .and_then(|t| time::parse_time(&t).ok())
        .unwrap_or_else(|| chrono::Utc::now().timestamp_millis())
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let setup = Setup::resolve(&cli)?;
    if cli.demo {
        return run_demo(&setup);
    }
    let Some(command) = cli.command else {
        use std::io::IsTerminal;
        if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
            return inbox(&setup);
        }
        return summary(&setup);
    };
    match command {
        Command::Import(args) => import::run(&setup, &args),
        Command::Simulate(args) => simulate::run(&setup, &args),
        Command::Serve(args) => crate::serve::run(&setup, &args.listen),
        Command::Tickets(TicketsCommand::List {
            status,
            assignee,
            team,
            channel,
            limit,
            json,
        }) => {
            let desk = setup.open_desk()?;
            let filter = TicketFilter {
                status: match status {
                    StatusFilter::Open => Some(Status::Open),
                    StatusFilter::Closed => Some(Status::Closed),
                    StatusFilter::Spam => Some(Status::Spam),
                    StatusFilter::All => None,
                },
                assignee,
                team,
                channel,
                limit,
            };
            let tickets = desk.read().list_tickets(&filter)?;
            let mut out = std::io::stdout().lock();
            if json {
                serde_json::to_writer_pretty(&mut out, &tickets)?;
                writeln!(out)?;
            } else {
                print::ticket_table(&mut out, &tickets, now())?;
            }
            Ok(())
        }
        Command::Ticket(cmd) => ticket(&setup, cmd),
        Command::Contacts(ContactsCommand::List { json }) => {
            let desk = setup.open_desk()?;
            let contacts = desk.read().contacts()?;
            let mut out = std::io::stdout().lock();
            if json {
                serde_json::to_writer_pretty(&mut out, &contacts)?;
                writeln!(out)?;
            } else {
                print::contact_table(&mut out, &contacts)?;
            }
            Ok(())
        }
        Command::Contacts(ContactsCommand::Merge { from, into }) => {
            let ctx = setup.ctx()?;
            report(setup.open_desk()?.merge_contacts(&ctx, from, into))
        }
        Command::Comments(cmd) => areas::comments(&setup, cmd),
        Command::Reviews(cmd) => areas::reviews(&setup, cmd),
        Command::Stats(args) => stats::run(&setup, &args),
        Command::Undo => {
            let ctx = setup.ctx()?;
            report(setup.open_desk()?.undo(&ctx))
        }
        Command::Redo => {
            let ctx = setup.ctx()?;
            report(setup.open_desk()?.redo(&ctx))
        }
        Command::Config(ConfigCommand::Paths) => {
            println!("database: {}", setup.db.display());
            println!(
                "config:   {}{}",
                setup.config_path.display(),
                if setup.config_path.exists() {
                    ""
                } else {
                    " (not there: built-in defaults apply)"
                }
            );
            Ok(())
        }
        Command::Config(ConfigCommand::Check) => {
            // Loading already validated it, rules included; say what was checked.
            if setup.config_path.exists() {
                let rules = setup.config.routing.as_ref().map_or(0, |r| r.rules.len());
                println!("{}: ok ({rules} rules)", setup.config_path.display());
            } else {
                println!(
                    "{}: not there; built-in defaults apply",
                    setup.config_path.display()
                );
            }
            Ok(())
        }
        Command::Rules(RulesCommand::Check) => rules::check(&setup),
        Command::Rules(RulesCommand::Test(args)) => rules::test(&setup, &args),
        Command::Tick { now } => rules::tick(&setup, now.as_deref()),
    }
}

fn ticket(setup: &Setup, cmd: TicketCommand) -> Result<()> {
    if let TicketCommand::Show { number, json } = cmd {
        let desk = setup.open_desk()?;
        let sql = desk.read();
        let summary = sql
            .ticket_summary(number)?
            .ok_or_else(|| anyhow!("there is no ticket #{number}; see `tix tickets list`"))?;
        let t = sql
            .ticket(number)?
            .ok_or_else(|| anyhow!("there is no ticket #{number}"))?;
        let thread = sql.thread(t.conversation_id)?;
        let fields = sql.fields(number)?;
        let mut out = std::io::stdout().lock();
        if json {
            let value = serde_json::json!({
                "ticket": summary,
                "fields": fields.into_iter().collect::<std::collections::BTreeMap<_, _>>(),
                "thread": thread,
            });
            serde_json::to_writer_pretty(&mut out, &value)?;
            writeln!(out)?;
        } else {
            print::ticket_thread(&mut out, &summary, &fields, &thread)?;
        }
        return Ok(());
    }
    let ctx = setup.ctx()?;
    let mut desk = setup.open_desk()?;
    let done = match cmd {
        TicketCommand::Show { .. } => unreachable!("handled above"),
        TicketCommand::Assign {
            numbers,
            agent,
            team,
        } => desk.assign(&ctx, &numbers, agent.as_deref(), team.as_deref()),
        TicketCommand::Unassign { numbers } => desk.unassign(&ctx, &numbers),
        TicketCommand::Take { numbers } => desk.take(&ctx, &numbers),
        TicketCommand::Close { numbers } => desk.close(&ctx, &numbers),
        TicketCommand::Reopen { numbers } => desk.reopen(&ctx, &numbers),
        TicketCommand::Spam { numbers } => desk.mark_spam(&ctx, &numbers),
        TicketCommand::NotSpam { numbers } => desk.not_spam(&ctx, &numbers),
        TicketCommand::FollowUp { number, state } => {
            desk.follow_up(&ctx, &[number], state == OnOff::On)
        }
        TicketCommand::Label { number, op, name } => {
            desk.label(&ctx, &[number], &name, op == AddRemove::Add)
        }
        TicketCommand::Note { number, text } => desk.note(&ctx, number, &text),
        TicketCommand::Reply { number, text } => desk.reply(&ctx, number, &text),
        TicketCommand::Field {
            number,
            name,
            value,
        } => desk.set_field(&ctx, &[number], &name, &value),
        TicketCommand::Open {
            contact,
            channel,
            account,
        } => {
            let (number, new) = desk.open_ticket(&ctx, contact, channel, account.as_deref())?;
            if new {
                println!("opened #{number}");
            } else {
                println!("#{number} is already open on that conversation");
            }
            return Ok(());
        }
    };
    report(done)
}

/// Prints what an action did, or turns a refusal into an error that exits with 1.
pub(crate) fn report(done: Result<Done, DeskError>) -> Result<()> {
    let done = done?;
    let mut line = text::sanitize(&done.summary, true);
    if done.undoable {
        line.push_str(" (tix undo takes it back)");
    }
    println!("{line}");
    for s in &done.skipped {
        eprintln!("skipped: {}", text::sanitize(s, true));
    }
    Ok(())
}

/// `tix` without a subcommand: what is in the database.
/// Opens the terminal inbox on the configured database as the configured agent.
fn inbox(setup: &Setup) -> Result<()> {
    let agent = setup.ctx()?.agent;
    let settings = setup
        .config
        .settings()
        .map_err(|e| anyhow!("{}: {e}", setup.config_path.display()))?;
    let options =
        crate::tui::app::Options::from_config(agent, &setup.config).map_err(anyhow::Error::msg)?;
    crate::tui::run(crate::tui::Launch {
        db: setup.db.clone(),
        settings,
        options,
        clock: now,
    })
}

/// What `tix` prints when it is not on a terminal: the database in figures.
fn summary(setup: &Setup) -> Result<()> {
    let desk = setup.open_desk()?;
    let t = desk.read().totals()?;
    println!("tix: {}", setup.db.display());
    println!(
        "  {} open ({} unassigned), {} closed, {} spam",
        t.open, t.unassigned_open, t.closed, t.spam
    );
    println!(
        "  {} contacts, {} conversations, {} messages",
        t.contacts, t.conversations, t.messages
    );
    println!();
    println!("Run tix on a terminal to open the inbox; `tix --help` lists the commands.");
    Ok(())
}
