//! `tix simulate` and `tix --demo`: simulated traffic through the same arrival path as imports.

use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use super::import::Batcher;
use super::{Setup, now};
use crate::cli::SimulateArgs;
use crate::desk::{Ctx, Desk, DeskError};
use crate::domain::{ChannelKind, Direction, Status, text, time};
use crate::sources::simulate::{SIM_AGENTS, SimConfig, SimEvent, Simulator};
use crate::store::{Page, Queue};

/// Feeds simulated events to the desk: messages in batches, agents' closes and spam marks as
/// their own actions, in an order that keeps each conversation's history as simulated.
struct Feeder<'d> {
    batcher: Batcher<'d>,
    /// Conversations with messages waiting in the current batch.
    pending: HashSet<(ChannelKind, String)>,
    actions: usize,
}

impl<'d> Feeder<'d> {
    fn new(desk: &'d mut Desk) -> Feeder<'d> {
        Feeder {
            batcher: Batcher::new(desk),
            pending: HashSet::new(),
            actions: 0,
        }
    }

    fn feed(&mut self, event: SimEvent) -> Result<()> {
        match event {
            SimEvent::Message(m) => {
                self.pending.insert((m.channel, m.customer_id.clone()));
                self.batcher.push(m)?;
            }
            SimEvent::Close {
                channel,
                customer_id,
                agent,
                at,
            } => self.act(channel, customer_id, Ctx { agent, at }, false)?,
            SimEvent::MarkSpam {
                channel,
                customer_id,
                agent,
                at,
            } => self.act(channel, customer_id, Ctx { agent, at }, true)?,
        }
        Ok(())
    }

    fn act(&mut self, channel: ChannelKind, customer: String, ctx: Ctx, spam: bool) -> Result<()> {
        let key = (channel, customer);
        // The agent acts after what the customer wrote: store that first.
        if self.pending.contains(&key) {
            self.flush()?;
        }
        let desk = self.batcher.desk();
        let Some((ticket, status, last_message_at)) = desk
            .read()
            .current_ticket_of_customer(channel.as_str(), &key.1)?
        else {
            return Ok(());
        };
        // An agent's action predating the ticket's latest message belongs to an earlier run of the
        // same traffic (the same seed again): replaying it would undo what happened since.
        if last_message_at.is_some_and(|last| ctx.at < last) {
            return Ok(());
        }
        let result = match (spam, status) {
            (false, Status::Open) => desk.close(&ctx, &[ticket]),
            (true, Status::Open | Status::Closed) => desk.mark_spam(&ctx, &[ticket]),
            _ => return Ok(()),
        };
        match result {
            Ok(_) => self.actions += 1,
            // Another simulated agent got there first: as in a real shop, nothing to do.
            Err(DeskError::Refused(_)) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.batcher.flush()?;
        self.pending.clear();
        Ok(())
    }
}

pub fn run(setup: &Setup, args: &SimulateArgs) -> Result<()> {
    let mut desk = setup.open_desk()?;
    let sim = Simulator::new(SimConfig {
        seed: args.seed,
        messages: args.messages,
        days: args.days,
        end: now(),
    });
    if let Some(rate) = args.rate {
        let stop = stop_on_ctrl_c()?;
        return live(&mut desk, sim, rate, &stop, &mut std::io::stdout(), None);
    }
    let started = Instant::now();
    let bar = ProgressBar::new(args.messages as u64).with_style(
        ProgressStyle::with_template("{spinner} simulating {wide_bar} {pos}/{len} ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut feeder = Feeder::new(&mut desk);
    let mut messages = 0u64;
    for event in sim {
        if matches!(event, SimEvent::Message(_)) {
            messages += 1;
            if messages.is_multiple_of(1024) {
                bar.set_position(messages);
            }
        }
        feeder.feed(event)?;
    }
    feeder.flush()?;
    bar.finish_and_clear();
    let r = feeder.batcher.report;
    let actions = feeder.actions;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "simulated {} messages (new {}, duplicates {}), tickets created {}, reopened {}, \
         agent actions {}, {:.2} s, {:.0} messages/s",
        r.read,
        r.new,
        r.duplicates,
        r.tickets_created,
        r.tickets_reopened,
        actions,
        secs,
        r.read as f64 / secs.max(1e-9)
    );
    Ok(())
}

/// Sends simulated traffic live, `rate` messages a second stamped with the current time, printing
/// each arrival, until the simulation ends or `stop` is set.
fn live(
    desk: &mut Desk,
    sim: Simulator,
    rate: f64,
    stop: &AtomicBool,
    out: &mut impl Write,
    mut teammates: Option<&mut Teammates>,
) -> Result<()> {
    let rate = rate.clamp(0.01, 10_000.0);
    let started = Instant::now();
    let mut feeder = Feeder::new(desk);
    let mut sent = 0u64;
    for mut event in sim {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let at = now();
        match &mut event {
            SimEvent::Message(m) => {
                let due = started + Duration::from_secs_f64(sent as f64 / rate);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    // Store what is waiting before sleeping, so it shows up at once.
                    feeder.flush()?;
                    sleep_unless_stopped(wait, stop);
                }
                sent += 1;
                m.sent_at = now();
                if let Some(t) = teammates.as_deref_mut() {
                    t.arrivals += 1;
                    if t.arrivals.is_multiple_of(4) {
                        feeder.flush()?;
                        t.share_out(feeder.batcher.desk(), 1, m.sent_at)?;
                    }
                }
                let who = match m.direction {
                    Direction::In => m.display_name.clone().unwrap_or(m.customer_id.clone()),
                    Direction::Out => format!("→ {}", m.agent.as_deref().unwrap_or("agent")),
                };
                let body = if m.text.is_empty() {
                    format!("[{}]", m.kind.as_str())
                } else {
                    m.text.clone()
                };
                writeln!(
                    out,
                    "{}  {:<9}  {}  {}",
                    time::short_local(m.sent_at),
                    m.channel.as_str(),
                    text::fit(&who, 18),
                    text::truncate(&body, 70)
                )?;
            }
            SimEvent::Close { at: t, .. } | SimEvent::MarkSpam { at: t, .. } => *t = at,
        }
        feeder.feed(event)?;
    }
    feeder.flush()?;
    Ok(())
}

fn sleep_unless_stopped(wait: Duration, stop: &AtomicBool) {
    let until = Instant::now() + wait;
    while !stop.load(Ordering::Relaxed) {
        let Some(left) = until.checked_duration_since(Instant::now()) else {
            return;
        };
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

fn stop_on_ctrl_c() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
        .context("cannot watch for Ctrl-C")?;
    Ok(stop)
}

/// `tix --demo`: a throwaway database with a few days of history and customers writing live.
/// The agent a demo runs as, unless `--as` names someone who is not one of the simulated
/// teammates (whose actions would otherwise mix with the agent's own undo history).
pub const DEMO_AGENT: &str = "you";

/// Simulated teammates share out new tickets: every few arrivals, the oldest unassigned ticket
/// goes to the next of them in turn (the demo's agent included, so My inbox fills up too).
struct Teammates {
    names: Vec<String>,
    next: usize,
    arrivals: u64,
}

impl Teammates {
    fn new(me: &str) -> Teammates {
        let mut names: Vec<String> = SIM_AGENTS.iter().map(|s| s.to_string()).collect();
        names.insert(1, me.to_string());
        Teammates {
            names,
            next: 0,
            arrivals: 0,
        }
    }

    /// Hands out up to `count` of the oldest unassigned tickets; the lead (the last teammate)
    /// does the handing out, so the agent's own undo history stays theirs.
    fn share_out(
        &mut self,
        desk: &mut Desk,
        count: usize,
        at: crate::domain::Millis,
    ) -> Result<()> {
        let rows = desk
            .read()
            .queue_page(&Queue::Unassigned, Page::First, count)?;
        let lead = self.names.last().cloned().unwrap_or_default();
        for row in rows {
            let to = self.names[self.next % self.names.len()].clone();
            self.next += 1;
            let ctx = Ctx {
                agent: lead.clone(),
                at,
            };
            match desk.assign(&ctx, &[row.number], Some(&to), None) {
                Ok(_) | Err(DeskError::Refused(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

pub fn run_demo(setup: &Setup) -> Result<()> {
    let me = setup
        .agent
        .clone()
        .filter(|a| !SIM_AGENTS.contains(&a.as_str()))
        .unwrap_or_else(|| DEMO_AGENT.to_string());
    let dir = tempfile::Builder::new().prefix("tix-demo-").tempdir()?;
    let db = dir.path().join("demo.db");
    let settings = setup.config.settings().map_err(anyhow::Error::msg)?;
    let mut desk = Desk::new(crate::store::Store::open(&db)?, settings.clone());
    let end = now();
    let history = Simulator::new(SimConfig {
        seed: 7,
        messages: 3_000,
        days: 3,
        end,
    });
    let mut feeder = Feeder::new(&mut desk);
    for event in history {
        feeder.feed(event)?;
    }
    feeder.flush()?;
    let mut teammates = Teammates::new(&me);
    let open = desk.read().totals()?.open as usize;
    teammates.share_out(&mut desk, open * 3 / 5, end)?;

    // Customers keep writing while the inbox is open: a feeder on its own connection, as another
    // agent's tix or an import would be.
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = {
        let stop = stop.clone();
        let me = me.clone();
        std::thread::Builder::new()
            .name("tix-demo-traffic".into())
            .spawn(move || -> Result<()> {
                let live_traffic = Simulator::new(SimConfig {
                    seed: 8,
                    messages: 1_000_000,
                    days: 365,
                    end: end + 365 * 86_400_000,
                });
                let mut teammates = Teammates::new(&me);
                live(
                    &mut desk,
                    live_traffic,
                    3.0,
                    &stop,
                    &mut std::io::sink(),
                    Some(&mut teammates),
                )
            })?
    };
    let mut options =
        crate::tui::app::Options::from_config(me, &setup.config).map_err(anyhow::Error::msg)?;
    options.tag = Some("demo".into());
    let shown = crate::tui::run(crate::tui::Launch {
        db: db.clone(),
        settings,
        options,
        clock: now,
    });
    stop.store(true, Ordering::Relaxed);
    let fed = traffic
        .join()
        .map_err(|_| anyhow::anyhow!("the demo's traffic stopped with a panic"))?;
    drop(dir);
    shown?;
    fed?;
    println!("demo ended; its database was deleted");
    Ok(())
}
