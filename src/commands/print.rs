//! Plain-text output for people. Every customer-written string goes through
//! [`text::sanitize`]/[`text::fit`] first, so nothing a customer typed reaches the terminal as a
//! control sequence.

use std::io::{self, Write};

use crate::desk::words;
use crate::domain::{Direction, Millis, text, time};
use crate::store::{ContactSummary, ThreadItem, TicketSummary};

pub fn ticket_table(
    out: &mut impl Write,
    tickets: &[TicketSummary],
    now: Millis,
) -> io::Result<()> {
    if tickets.is_empty() {
        return writeln!(out, "no tickets");
    }
    writeln!(
        out,
        "{:>7}  {:<6}  {:<9}  {}  {}  {:>4}  {:>7}  last message",
        "#",
        "status",
        "channel",
        text::fit("contact", 20),
        text::fit("assignee", 14),
        "msgs",
        "waiting",
    )?;
    for t in tickets {
        let who = match (&t.assignee, &t.team) {
            (Some(a), _) => a.clone(),
            (None, Some(team)) => format!("[{team}]"),
            (None, None) => "-".to_string(),
        };
        let waiting = t
            .waiting_since
            .map(|w| time::age(now - w))
            .unwrap_or_else(|| "-".into());
        let mut preview = t.preview.clone().unwrap_or_default();
        if !t.labels.is_empty() {
            preview = format!("[{}] {preview}", t.labels.join(", "));
        }
        writeln!(
            out,
            "{:>7}  {:<6}  {:<9}  {}  {}  {:>4}  {:>7}  {}",
            format!("#{}", t.number),
            t.status.as_str(),
            t.channel.as_str(),
            text::fit(&t.contact_name, 20),
            text::fit(&who, 14),
            t.messages,
            waiting,
            text::truncate(&preview, 50)
        )?;
    }
    Ok(())
}

pub fn contact_table(out: &mut impl Write, contacts: &[ContactSummary]) -> io::Result<()> {
    if contacts.is_empty() {
        return writeln!(out, "no contacts");
    }
    writeln!(
        out,
        "{:>6}  {}  {:>4}  identities",
        "id",
        text::fit("name", 24),
        "open"
    )?;
    for c in contacts {
        let ids = c
            .identities
            .iter()
            .map(|i| text::sanitize(&format!("{}:{}", i.account, i.customer_id), true))
            .collect::<Vec<_>>()
            .join(" ");
        let merged = c
            .merged_into
            .map(|m| format!("  (merged into {m})"))
            .unwrap_or_default();
        writeln!(
            out,
            "{:>6}  {}  {:>4}  {ids}{merged}",
            c.id,
            text::fit(&c.name, 24),
            c.open_tickets
        )?;
    }
    Ok(())
}

pub fn ticket_thread(
    out: &mut impl Write,
    t: &TicketSummary,
    fields: &[(String, String)],
    thread: &[ThreadItem],
) -> io::Result<()> {
    let who = match (&t.assignee, &t.team) {
        (Some(a), Some(team)) => format!("assigned to {a} ({team})"),
        (Some(a), None) => format!("assigned to {a}"),
        (None, Some(team)) => format!("in team {team}'s queue"),
        (None, None) => "unassigned".into(),
    };
    writeln!(
        out,
        "#{} {} · {} · {} ({}) · {}",
        t.number,
        t.status,
        text::sanitize(&t.account, true),
        text::sanitize(&t.contact_name, true),
        text::sanitize(&t.customer_id, true),
        text::sanitize(&who, true),
    )?;
    let mut facts = vec![
        format!("created {}", time::short_local(t.created_at)),
        format!(
            "{} message{}",
            t.messages,
            if t.messages == 1 { "" } else { "s" }
        ),
    ];
    if t.reopen_count > 0 {
        facts.push(format!("reopened {}×", t.reopen_count));
    }
    if t.follow_up {
        facts.push("follow-up".into());
    }
    if !t.labels.is_empty() {
        facts.push(format!("labels: {}", t.labels.join(", ")));
    }
    for (name, value) in fields {
        facts.push(format!("{name}: {value}"));
    }
    writeln!(out, "  {}", text::sanitize(&facts.join(" · "), true))?;
    let mut current = None;
    for item in thread {
        let ticket = match item {
            ThreadItem::Message { ticket, .. }
            | ThreadItem::Note { ticket, .. }
            | ThreadItem::Event { ticket, .. } => *ticket,
        };
        if current != Some(ticket) {
            writeln!(out, "── #{ticket} ──")?;
            current = Some(ticket);
        }
        let at = time::short_local(item.at());
        match item {
            ThreadItem::Message {
                direction,
                author,
                kind,
                body,
                ..
            } => {
                let who = match direction {
                    Direction::In => text::sanitize(&t.contact_name, true),
                    Direction::Out => format!(
                        "→ {}",
                        text::sanitize(author.as_deref().unwrap_or("agent"), true)
                    ),
                };
                let body = if body.is_empty() {
                    format!("[{}]", kind.as_str())
                } else {
                    indent(&text::sanitize(body, false))
                };
                writeln!(out, "{at}  {who}: {body}")?;
            }
            ThreadItem::Note { author, body, .. } => {
                writeln!(
                    out,
                    "{at}  [note] {}: {}",
                    text::sanitize(author, true),
                    indent(&text::sanitize(body, false))
                )?;
            }
            ThreadItem::Event {
                kind,
                actor,
                via,
                payload,
                ticket,
                ..
            } => {
                let line = words::describe_event(*ticket, kind, actor, via.as_deref(), payload);
                writeln!(out, "{at}  · {line}")?;
            }
        }
    }
    Ok(())
}

fn indent(body: &str) -> String {
    body.replace('\n', "\n               ")
}
