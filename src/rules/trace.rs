//! What the rules did and why, in words a support agent understands: `tix rules test` prints it.

use std::fmt::Write;

use super::eval::CondLine;
use crate::domain::TicketNumber;
use crate::domain::text::sanitize;

/// The rules run for one event on one ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTrace {
    /// `ticket_created`, `idle for 3d`, ...
    pub event: String,
    pub ticket: TicketNumber,
    pub rules: Vec<RuleTrace>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleTrace {
    pub rule: String,
    pub outcome: Outcome,
    pub conditions: Vec<CondLine>,
    pub actions: Vec<ActionTrace>,
}

/// How far a rule got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It listens to other events.
    NotListening,
    /// An earlier rule had `stop = true`.
    Stopped,
    /// `once_per_ticket`, and it already fired on this ticket.
    AlreadyFired,
    NotMatched,
    Matched,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionTrace {
    pub action: String,
    /// What happened: "done", or why nothing was changed.
    pub result: String,
    /// For an assignment: each agent considered and the decision.
    pub why: Vec<String>,
}

/// The traces as indented text; everything from the config or the customer is sanitised.
pub fn render(traces: &[EventTrace]) -> String {
    let mut out = String::new();
    for t in traces {
        let _ = writeln!(out, "#{} {}:", t.ticket, sanitize(&t.event, true));
        for r in &t.rules {
            let name = sanitize(&r.rule, true);
            let head = match r.outcome {
                Outcome::NotListening => format!("  - \"{name}\": does not listen to this event"),
                Outcome::Stopped => {
                    format!("  - \"{name}\": not run, an earlier rule said stop")
                }
                Outcome::AlreadyFired => {
                    format!("  - \"{name}\": not run, it fires once per ticket and already did")
                }
                Outcome::NotMatched => format!("  ✗ \"{name}\": conditions did not hold"),
                Outcome::Matched => format!("  ✓ \"{name}\": matched"),
            };
            let _ = writeln!(out, "{head}");
            for c in &r.conditions {
                let _ = writeln!(
                    out,
                    "{}{} {}",
                    "    ".repeat(c.depth + 1),
                    if c.held { "✓" } else { "✗" },
                    sanitize(&c.text, true)
                );
            }
            for a in &r.actions {
                let _ = writeln!(
                    out,
                    "      → {}: {}",
                    sanitize(&a.action, true),
                    sanitize(&a.result, true)
                );
                for w in &a.why {
                    let _ = writeln!(out, "          {}", sanitize(w, true));
                }
            }
        }
    }
    out
}
