//! `tix rules check`, `tix rules test` and `tix tick`.

use std::io::Write;

use anyhow::{Result, anyhow};

use super::{Setup, now};
use crate::cli::RulesTestArgs;
use crate::desk::Desk;
use crate::domain::text::sanitize;
use crate::domain::{Direction, Inbound, Millis, time};
use crate::rules::trace::render;
use crate::rules::{Routing, Trigger};
use crate::store::Store;

/// Checks the configuration (loading it already did) and lists what it routes.
pub fn check(setup: &Setup) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let path = setup.config_path.display();
    if !setup.config_path.exists() {
        writeln!(out, "{path}: not there; no rules run")?;
        return Ok(());
    }
    let routing = setup.config.routing.clone().unwrap_or_default();
    writeln!(
        out,
        "{path}: ok: {} agents, {} teams, {} rules",
        routing.agents.len(),
        routing.teams.len(),
        routing.rules.len()
    )?;
    for (i, r) in routing.rules.iter().enumerate() {
        let on: Vec<String> = r.on.iter().map(|t| t.describe()).collect();
        let mut notes = Vec::new();
        if r.once_per_ticket {
            notes.push("once per ticket");
        }
        if r.stop {
            notes.push("stops");
        }
        writeln!(
            out,
            "{:>3}. {} (on {}): {}{}",
            i + 1,
            sanitize(&r.name, true),
            on.join(", "),
            r.then
                .iter()
                .map(|a| sanitize(&a.describe(), true))
                .collect::<Vec<_>>()
                .join(", "),
            if notes.is_empty() {
                String::new()
            } else {
                format!(" [{}]", notes.join(", "))
            }
        )?;
    }
    Ok(())
}

fn routing_of(setup: &Setup) -> Result<std::sync::Arc<Routing>> {
    setup
        .config
        .routing
        .clone()
        .filter(|r| !r.rules.is_empty())
        .ok_or_else(|| {
            anyhow!(
                "no rules are configured in {}; see config.example.toml",
                setup.config_path.display()
            )
        })
}

/// Runs one made-up message, or the stored ones, through the rules without writing.
pub fn test(setup: &Setup, args: &RulesTestArgs) -> Result<()> {
    routing_of(setup)?;
    if args.replay {
        return replay(setup, args.since.as_deref());
    }
    let channel = args
        .channel
        .ok_or_else(|| anyhow!("say which channel the message comes from: --channel line"))?;
    let at = now();
    let message = Inbound {
        channel,
        account: args.account.clone(),
        customer_id: args.from.clone(),
        display_name: args.name.clone(),
        message_id: format!("tix-rules-test-{at}"),
        kind: args.kind,
        text: args.text.clone(),
        sent_at: at,
        direction: Direction::In,
        agent: None,
    };
    let mut desk = setup.open_desk()?;
    let (report, traces) = desk.ingest_dry_run(std::slice::from_ref(&message))?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "A {} message from {} at {}: {}",
        channel,
        sanitize(&args.from, true),
        time::rfc3339(at),
        if report.tickets_created > 0 {
            "it would start a new ticket"
        } else if report.tickets_reopened > 0 {
            "it would reopen the customer's closed ticket"
        } else if report.to_spam > 0 {
            "it would go silently to a spam ticket: no rules run"
        } else {
            "it would join the customer's open ticket"
        }
    )?;
    if traces.is_empty() && report.to_spam == 0 {
        writeln!(out, "No rule listens to what this message does.")?;
    }
    write!(out, "{}", render(&traces))?;
    writeln!(out, "(dry run: nothing was written)")?;
    Ok(())
}

/// Replays stored messages into a scratch database with the rules loaded, then counts what the
/// rules did there.
fn replay(setup: &Setup, since: Option<&str>) -> Result<()> {
    let at = now();
    let since: Millis = match since {
        Some(d) => at - time::parse_duration(d).map_err(|e| anyhow!("--since: {e}"))?,
        None => Millis::MIN,
    };
    let source = setup.open_desk()?;
    let settings = source.settings().clone();
    let routing = routing_of(setup)?;
    let mut scratch = Desk::new(Store::open_in_memory()?, settings);
    let mut after = 0;
    let mut messages = 0usize;
    loop {
        let page = source.read().stored_arrivals(after, since, 10_000)?;
        let Some((last, _)) = page.last() else {
            break;
        };
        after = *last;
        messages += page.len();
        let batch: Vec<Inbound> = page.into_iter().map(|(_, m)| m).collect();
        scratch.ingest(&batch)?;
    }
    let activity = scratch.read().rule_activity()?;
    let (rules, agents) = (activity.rules, activity.agents);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Replayed {messages} stored messages{} through {} rules (nothing was written):",
        if since == Millis::MIN {
            String::new()
        } else {
            format!(" since {}", time::rfc3339(since))
        },
        routing.rules.len()
    )?;
    writeln!(out, "Tickets each rule acted on:")?;
    for r in &routing.rules {
        let n = rules
            .iter()
            .find(|(name, _)| name == &r.name)
            .map_or(0, |(_, n)| *n);
        let timer = r.on.iter().all(|t| !matches!(t, Trigger::Event(_)));
        writeln!(
            out,
            "  {n:>7}  {}{}",
            sanitize(&r.name, true),
            if timer {
                " (timers are not replayed)"
            } else {
                ""
            }
        )?;
    }
    writeln!(out, "Assignments by rules, per agent:")?;
    if agents.is_empty() {
        writeln!(out, "  none")?;
    }
    let total: i64 = agents.iter().map(|(_, n)| n).sum();
    for (agent, n) in &agents {
        writeln!(
            out,
            "  {n:>7}  {} ({:.0}%)",
            sanitize(agent, true),
            *n as f64 * 100.0 / total.max(1) as f64
        )?;
    }
    Ok(())
}

/// `tix tick`: evaluates timers once.
pub fn tick(setup: &Setup, at: Option<&str>) -> Result<()> {
    let at = match at {
        Some(t) => time::parse_time(t).map_err(|e| anyhow!("--now: {e}"))?,
        None => now(),
    };
    let mut desk = setup.open_desk()?;
    let report = desk.tick(at)?;
    println!(
        "timers at {}: {} rule firings, {} auto-closed, {} handed from team backlogs",
        time::rfc3339(at),
        report.fired,
        report.auto_closed,
        report.handed
    );
    Ok(())
}
