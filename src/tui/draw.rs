//! Drawing: the state in, a frame out. Every piece of customer text passes through
//! `domain::text` on its way here, so no control character reaches the terminal, and columns are
//! measured in display cells.

use chrono::{FixedOffset, TimeZone};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::app::{App, Focus, Input, Mode, Search};
use super::keymap::Command;
use super::picker::Picker;
use super::theme::Theme;
use crate::desk::words;
use crate::domain::{Direction, MessageKind, Millis, Status, text, time};
use crate::store::{QueueRow, ThreadItem};

/// Draws the whole screen.
pub fn draw(frame: &mut Frame<'_>, app: &App) {
    let size = frame.area();
    let areas = app.areas();
    let theme = &app.opts.theme;
    if size.width == 0 || size.height == 0 {
        return;
    }
    sidebar(frame, app, areas.sidebar);
    list(frame, app, areas.list);
    thread(frame, app, areas.thread);
    status_line(frame, app, areas.status);
    let body = Rect::new(
        size.x,
        size.y,
        size.width,
        size.height.saturating_sub(areas.status.height),
    );
    match &app.mode {
        Mode::Normal => {}
        Mode::Help { scroll } => help(frame, app, body, *scroll),
        Mode::Assign(p, tickets, _) => picker(frame, theme, body, p, &about(tickets)),
        Mode::Label(p, tickets, _) => picker(frame, theme, body, p, &about(tickets)),
        Mode::FieldName(p, tickets) => picker(frame, theme, body, p, &about(tickets)),
        Mode::FieldChoice(p, _, tickets) => picker(frame, theme, body, p, &about(tickets)),
        Mode::Palette(p) => picker(frame, theme, body, p, ""),
        Mode::Input(input) => input_box(frame, theme, body, input),
        Mode::Search(s) => search(frame, app, body, s),
        Mode::Reports { text, scroll } => reports(frame, theme, body, text.as_ref(), *scroll),
    }
    split_sara_am(frame.buffer_mut());
}

/// Thai SARA AM (and Lao AM) join the consonant before them into one grapheme two cells wide,
/// made of two narrow characters. Terminals draw those as two separate cells, but the renderer
/// updates a two-cell grapheme as if it were one wide character: overwriting it leaves its second
/// half (a stray "ำ") on the screen. Each such grapheme is split here into two one-cell halves,
/// the consonant with NIKHAHIT and SARA AA: the same letters (its compatibility decomposition),
/// and the same look.
fn split_sara_am(buf: &mut ratatui::buffer::Buffer) {
    let area = buf.area;
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right().saturating_sub(1) {
            let symbol = buf[(x, y)].symbol();
            let Some(at) = symbol.find(['\u{e33}', '\u{eb3}']) else {
                continue;
            };
            let am = &symbol[at..at + 3];
            let (nikhahit, aa) = if am == "\u{e33}" {
                ("\u{e4d}", "\u{e32}")
            } else {
                ("\u{ecd}", "\u{eb2}")
            };
            let head = format!("{}{nikhahit}", &symbol[..at]);
            let tail = format!("{aa}{}", &symbol[at + 3..]);
            if text::width(&head) != 1 || text::width(&tail) != 1 {
                continue;
            }
            let style = buf[(x, y)].style();
            buf[(x, y)].set_symbol(&head);
            buf[(x + 1, y)].set_symbol(&tail).set_style(style);
        }
    }
}

fn about(tickets: &[i64]) -> String {
    match tickets {
        [one] => format!("#{one}"),
        many => format!("{} tickets", many.len()),
    }
}

fn pane<'a>(title: String, focused: bool, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(if focused {
            theme.focused_border
        } else {
            theme.border
        })
        .title(Span::styled(title, theme.title))
}

fn sidebar(frame: &mut Frame<'_>, app: &App, area: Rect) {
    if area.width == 0 {
        return;
    }
    let theme = &app.opts.theme;
    let inner_w = area.width.saturating_sub(2) as usize;
    let lines: Vec<Line<'_>> = app
        .views
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let key = if i < 9 {
                format!("{} ", i + 1)
            } else {
                "  ".into()
            };
            let count = v.count.to_string();
            let label_w = inner_w.saturating_sub(key.len() + count.len() + 1);
            let text = format!("{key}{} {count}", text::fit(&v.label, label_w));
            let style = if i == app.view {
                theme.selected_unfocused
            } else {
                theme.base
            };
            Line::styled(text, style)
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(pane("Views".into(), false, theme)),
        area,
    );
}

fn list(frame: &mut Frame<'_>, app: &App, area: Rect) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    if app.in_area() {
        return area_list(frame, app, area);
    }
    let theme = &app.opts.theme;
    let (pos, total) = app.position();
    let view = app.current_view();
    let title = if app.list.rows.is_empty() {
        format!("{} · empty", view.label)
    } else {
        let marked = if app.list.marked.is_empty() {
            String::new()
        } else {
            format!(" · {} marked", app.list.marked.len())
        };
        format!("{} · {pos}/{total}{marked}", view.label)
    };
    let block = pane(title, app.focus == Focus::List, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if app.list.rows.is_empty() {
        let hint = match view.queue() {
            Some(crate::store::Queue::Mine(_)) => "Nothing assigned to you. A takes a ticket.",
            _ => "No tickets here.",
        };
        frame.render_widget(Paragraph::new(Line::styled(hint, theme.dim)), inner);
        return;
    }
    let h = inner.height as usize;
    let w = inner.width as usize;
    let lines: Vec<Line<'_>> = app
        .list
        .rows
        .iter()
        .enumerate()
        .skip(app.list.offset)
        .take(h)
        .map(|(i, row)| {
            let selected = i == app.list.cursor;
            let marked = app.list.marked.contains_key(&row.number);
            row_line(
                row,
                w,
                app.now,
                selected,
                marked,
                app.focus == Focus::List,
                theme,
            )
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// One inbox row, exactly `w` cells wide.
fn row_line<'a>(
    row: &QueueRow,
    w: usize,
    now: Millis,
    selected: bool,
    marked: bool,
    focused: bool,
    theme: &Theme,
) -> Line<'a> {
    let mark = match (marked, row.unread > 0) {
        (true, _) => "✓",
        (false, true) => "●",
        (false, false) => " ",
    };
    let flag = if row.follow_up { "⚑" } else { " " };
    let wait = match (row.status, row.waiting_since) {
        (Status::Open, Some(since)) => time::age(now - since),
        _ => String::new(),
    };
    let who = match (&row.assignee, &row.team) {
        (Some(a), _) => a.clone(),
        (None, Some(t)) => format!("@{t}"),
        (None, None) => "—".into(),
    };
    let labels = if row.labels.is_empty() {
        String::new()
    } else {
        format!("[{}] ", row.labels.join(", "))
    };
    let preview = row.preview.as_deref().unwrap_or("");
    // Narrow lists drop the less important columns first.
    let fixed = format!("{mark}{flag}#{:<6}", row.number);
    let name_w = if w >= 70 { 16 } else { 12 };
    let show_channel = w >= 60;
    let show_who = w >= 48;
    let mut left = fixed;
    left.push_str(&text::fit(&row.contact_name, name_w));
    left.push(' ');
    if show_channel {
        left.push_str(&text::fit(row.channel.as_str(), 9));
        left.push(' ');
    }
    if show_who {
        left.push_str(&text::fit(&who, 8));
        left.push(' ');
    }
    let wait_w = 5;
    let tail_w = w.saturating_sub(text::width(&left) + wait_w);
    let tail = format!("{labels}{}", text::sanitize(preview, true));
    let line = format!("{left}{}{wait:>5}", text::fit(&tail, tail_w));
    let style = match (selected, focused) {
        (true, true) => theme.selected,
        (true, false) => theme.selected_unfocused,
        _ if marked => theme.marked,
        _ if row.unread > 0 => theme.unread,
        _ => theme.base,
    };
    Line::styled(text::fit(&line, w), style)
}

/// Five stars, `rating` of them filled.
fn stars(rating: u8) -> String {
    let r = rating.min(5) as usize;
    format!("{}{}", "★".repeat(r), "☆".repeat(5 - r))
}

/// The Comments or Reviews view: newest first, one row each.
fn area_list(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let theme = &app.opts.theme;
    let view = app.current_view();
    let a = &app.area;
    let title = if a.is_empty() {
        format!("{} · nothing waiting", view.label)
    } else {
        format!("{} · {}/{}", view.label, a.cursor + 1, view.count)
    };
    let block = pane(title, app.focus == Focus::List, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let w = inner.width as usize;
    let rows: Vec<String> = if !a.comments.is_empty() {
        a.comments
            .iter()
            .map(|c| {
                let left = format!(
                    "{} {} ",
                    text::fit(c.platform(), 9),
                    text::fit(c.author(), 14)
                );
                let age = time::age(app.now - c.created_at);
                let tail_w = w.saturating_sub(text::width(&left) + 5);
                format!("{left}{}{age:>5}", text::fit(&c.text, tail_w))
            })
            .collect()
    } else {
        a.reviews
            .iter()
            .map(|r| {
                let left = format!(
                    "{} {} {} ",
                    stars(r.rating),
                    text::fit(r.channel.as_str(), 7),
                    text::fit(&r.author, 12)
                );
                let age = time::age(app.now - r.created_at);
                let tail_w = w.saturating_sub(text::width(&left) + 5);
                let tail = format!("{}: {}", r.product, r.text);
                format!("{left}{}{age:>5}", text::fit(&tail, tail_w))
            })
            .collect()
    };
    if rows.is_empty() {
        let hint = "Nothing waiting. Comments and reviews arrive with tix import and tix serve.";
        frame.render_widget(Paragraph::new(Line::styled(hint, theme.dim)), inner);
        return;
    }
    let lines: Vec<Line<'_>> = rows
        .into_iter()
        .enumerate()
        .skip(a.offset)
        .take(inner.height as usize)
        .map(|(i, row)| {
            let style = if i == a.cursor {
                theme.selected
            } else {
                theme.base
            };
            Line::styled(text::fit(&row, w), style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The selected comment or review in full, with what Enter does.
fn area_detail(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let theme = &app.opts.theme;
    let a = &app.area;
    let off = app.opts.utc_offset;
    let inner_w = area.width.saturating_sub(2) as usize;
    let mut lines: Vec<Line<'_>> = Vec::new();
    let (title, hint) = if let Some(c) = a.comments.get(a.cursor) {
        lines.push(Line::styled(
            text::truncate(c.author(), inner_w),
            theme.customer,
        ));
        lines.push(Line::styled(
            text::truncate(
                &format!(
                    "{} comment · {} · post {}",
                    c.platform(),
                    clock(c.created_at, off),
                    c.post_id.as_deref().unwrap_or("?")
                ),
                inner_w,
            ),
            theme.dim,
        ));
        lines.push(Line::raw(""));
        for l in text::wrap(&c.text, inner_w.max(1)) {
            lines.push(Line::raw(l));
        }
        (
            format!("Comment {}", c.id),
            "r or Enter: reply privately in their conversation",
        )
    } else if let Some(r) = a.reviews.get(a.cursor) {
        lines.push(Line::from(vec![
            Span::styled(stars(r.rating), theme.key),
            Span::styled(
                format!("  {}", text::truncate(&r.author, inner_w)),
                theme.customer,
            ),
        ]));
        lines.push(Line::styled(
            text::truncate(
                &format!(
                    "{} review · {} · {}",
                    r.channel.as_str(),
                    clock(r.created_at, off),
                    r.product
                ),
                inner_w,
            ),
            theme.dim,
        ));
        lines.push(Line::raw(""));
        for l in text::wrap(&r.text, inner_w.max(1)) {
            lines.push(Line::raw(l));
        }
        (
            format!("Review {}", r.id),
            "Enter: turn it into a ticket in the reviewer's conversation",
        )
    } else {
        ("Nothing selected".to_string(), "")
    };
    if !hint.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled(hint, theme.key));
    }
    frame.render_widget(Paragraph::new(lines).block(pane(title, false, theme)), area);
}

fn clock(ms: Millis, offset: FixedOffset) -> String {
    offset
        .timestamp_millis_opt(ms)
        .single()
        .map(|d| d.format("%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn thread(frame: &mut Frame<'_>, app: &App, area: Rect) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    if app.in_area() && app.thread.ticket.is_none() {
        return area_detail(frame, app, area);
    }
    let theme = &app.opts.theme;
    let t = &app.thread;
    let Some(ticket) = &t.ticket else {
        let block = pane("Thread".into(), false, theme);
        frame.render_widget(
            Paragraph::new(Line::styled("Select a conversation.", theme.dim)).block(block),
            area,
        );
        return;
    };
    let who = match (&ticket.assignee, &ticket.team) {
        (Some(a), Some(team)) => format!("{a} ({team})"),
        (Some(a), None) => a.clone(),
        (None, Some(team)) => format!("team {team}"),
        (None, None) => "unassigned".into(),
    };
    let title = format!(
        "#{} {} · {} · {}",
        ticket.number,
        ticket.status.as_str(),
        text::truncate(&ticket.contact_name, 24),
        text::truncate(&who, 24)
    );
    let block = pane(title, app.focus == Focus::Thread, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let w = inner.width as usize;
    // The header: who this is, where else they are, labels and fields.
    let mut head: Vec<Line<'_>> = Vec::new();
    head.push(Line::from(vec![
        Span::styled(text::truncate(&ticket.contact_name, w / 2), theme.customer),
        Span::styled(
            format!(
                " · {} {}",
                ticket.channel.as_str(),
                text::sanitize(&ticket.customer_id, true)
            ),
            theme.dim,
        ),
    ]));
    if let Some(card) = &t.card {
        let others: Vec<String> = card
            .identities
            .iter()
            .filter(|(kind, _, id)| !(*kind == ticket.channel && *id == ticket.customer_id))
            .map(|(kind, _, _)| kind.as_str().to_string())
            .collect();
        let open: Vec<String> = card
            .other_open
            .iter()
            .map(|(n, kind)| format!("#{n} on {}", kind.as_str()))
            .collect();
        if !others.is_empty() || !open.is_empty() {
            let mut s = String::new();
            if !others.is_empty() {
                s.push_str(&format!("also on {}", others.join(", ")));
            }
            if !open.is_empty() {
                if !s.is_empty() {
                    s.push_str(" · ");
                }
                s.push_str(&format!("open: {}", open.join(", ")));
            }
            head.push(Line::styled(text::truncate(&s, w), theme.dim));
        }
    }
    let mut facts = Vec::new();
    if !t.facts.labels.is_empty() {
        facts.push(format!("labels: {}", t.facts.labels.join(", ")));
    }
    for (k, v) in &t.facts.fields {
        facts.push(format!("{k}: {v}"));
    }
    if ticket.follow_up {
        facts.push("follow-up".into());
    }
    if let Some((last, window)) = t.reply_window {
        let left = last + window - app.now;
        facts.push(if left > 0 {
            format!("reply window: {} left", time::age(left))
        } else {
            format!("reply window closed {} ago", time::age(-left))
        });
    }
    if !facts.is_empty() {
        head.push(Line::styled(
            text::truncate(&facts.join(" · "), w),
            theme.note,
        ));
    }
    let head_h = (head.len() as u16).min(inner.height);
    let [head_area, body_area] =
        Layout::vertical([Constraint::Length(head_h), Constraint::Min(0)]).areas(inner);
    frame.render_widget(Paragraph::new(head), head_area);

    // Lines are built from the newest item back, only as far as the screen (and the scroll)
    // reaches: a long thread of long messages costs no more to draw than a short one.
    let h = body_area.height as usize;
    let mut blocks: Vec<Vec<Line<'_>>> = Vec::new();
    let mut total = 0;
    let mut reached_top = true;
    for i in (0..t.items.len()).rev() {
        if total >= h + t.scroll {
            reached_top = false;
            break;
        }
        let block = item_lines(app, i, w);
        total += block.len();
        blocks.push(block);
    }
    let lines: Vec<Line<'_>> = blocks.into_iter().rev().flatten().collect();
    let scroll = if reached_top {
        t.scroll.min(lines.len().saturating_sub(h))
    } else {
        t.scroll
    };
    let first = lines.len().saturating_sub(h + scroll);
    let mut shown: Vec<Line<'_>> = lines.into_iter().skip(first).take(h).collect();
    if first == 0 && reached_top && t.more && !shown.is_empty() {
        shown[0] = Line::styled("… older messages: scroll up to read them", theme.dim);
    }
    frame.render_widget(Paragraph::new(shown), body_area);
}

/// The screen lines of the thread's item `i`, wrapped to `w` cells, with a ticket boundary
/// above it where a new ticket starts.
fn item_lines<'a>(app: &App, i: usize, w: usize) -> Vec<Line<'a>> {
    let theme = &app.opts.theme;
    let t = &app.thread;
    let off = app.opts.utc_offset;
    let mut lines: Vec<Line<'a>> = Vec::new();
    let body_w = w.saturating_sub(2).max(1);
    let ticket_of = |item: &ThreadItem| match item {
        ThreadItem::Message { ticket, .. }
        | ThreadItem::Note { ticket, .. }
        | ThreadItem::Event { ticket, .. } => *ticket,
    };
    let item = &t.items[i];
    let ticket = ticket_of(item);
    let at = item.at();
    if i == 0 || ticket_of(&t.items[i - 1]) != ticket {
        let label = format!("── #{ticket} ");
        let fill = w.saturating_sub(text::width(&label));
        lines.push(Line::styled(
            format!("{label}{}", "─".repeat(fill)),
            theme.ticket_boundary,
        ));
    }
    match item {
        ThreadItem::Message {
            direction,
            author,
            kind,
            body,
            ..
        } => {
            let (name, style) = match direction {
                Direction::In => (
                    t.ticket
                        .as_ref()
                        .map(|s| s.contact_name.clone())
                        .unwrap_or_default(),
                    theme.customer,
                ),
                Direction::Out => (
                    format!("→ {}", author.as_deref().unwrap_or("agent")),
                    theme.agent,
                ),
            };
            lines.push(Line::from(vec![
                Span::styled(text::truncate(&name, w.saturating_sub(14)), style),
                Span::styled(format!("  {}", clock(at, off)), theme.dim),
            ]));
            if *kind != MessageKind::Text {
                lines.push(Line::styled(format!("  [{}]", kind.as_str()), theme.dim));
            }
            if !body.is_empty() {
                for l in text::wrap(body, body_w) {
                    lines.push(highlighted(format!("  {l}"), &t.highlight, theme));
                }
            }
        }
        ThreadItem::Note { author, body, .. } => {
            lines.push(Line::styled(
                format!(
                    "✎ note by {} · {}",
                    text::truncate(author, 20),
                    clock(at, off)
                ),
                theme.note,
            ));
            for l in text::wrap(body, body_w) {
                lines.push(Line::styled(format!("  {l}"), theme.note));
            }
        }
        ThreadItem::Event {
            kind,
            actor,
            via,
            payload,
            ..
        } => {
            if !words::shown_as_itself(kind) {
                let text = words::describe_event(ticket, kind, actor, via.as_deref(), payload);
                for l in text::wrap(&format!("· {text} · {}", clock(at, off)), w) {
                    lines.push(Line::styled(l, theme.event));
                }
            }
        }
    }
    lines
}

/// A line with every occurrence of the search terms highlighted, matched case-insensitively.
fn highlighted<'a>(line: String, terms: &[String], theme: &Theme) -> Line<'a> {
    if terms.is_empty() {
        return Line::raw(line);
    }
    let chars: Vec<char> = line.chars().collect();
    let lower: Vec<char> = chars
        .iter()
        .map(|c| c.to_lowercase().next().unwrap_or(*c))
        .collect();
    let mut hit = vec![false; chars.len()];
    for term in terms {
        let t: Vec<char> = term
            .chars()
            .map(|c| c.to_lowercase().next().unwrap_or(c))
            .collect();
        if t.is_empty() || t.len() > lower.len() {
            continue;
        }
        for i in 0..=lower.len() - t.len() {
            if lower[i..i + t.len()] == t[..] {
                hit[i..i + t.len()].iter_mut().for_each(|h| *h = true);
            }
        }
    }
    let mut spans = Vec::new();
    let mut cur = String::new();
    let mut cur_hit = false;
    for (c, h) in chars.into_iter().zip(hit) {
        if h != cur_hit && !cur.is_empty() {
            let style = if cur_hit { theme.highlight } else { theme.base };
            spans.push(Span::styled(std::mem::take(&mut cur), style));
        }
        cur_hit = h;
        cur.push(c);
    }
    if !cur.is_empty() {
        let style = if cur_hit { theme.highlight } else { theme.base };
        spans.push(Span::styled(cur, style));
    }
    Line::from(spans)
}

fn status_line(frame: &mut Frame<'_>, app: &App, area: Rect) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let theme = &app.opts.theme;
    let mut spans = Vec::new();
    if let Some(tag) = &app.opts.tag {
        spans.push(Span::styled(format!("{tag} "), theme.key));
    }
    let mine = app.views.first().map(|v| v.count).unwrap_or_default();
    spans.push(Span::styled(
        format!(
            "{} · {} open · {} mine ",
            text::truncate(&app.opts.agent, 16),
            app.open_count(),
            mine
        ),
        theme.dim,
    ));
    if !app.pending.is_empty() {
        let keys: String = app.pending.iter().map(|k| k.to_string()).collect();
        spans.push(Span::styled(format!("{keys}… "), theme.key));
    }
    if app.in_flight > 0 {
        spans.push(Span::styled("saving… ", theme.dim));
    }
    if let Some(n) = &app.notice {
        let style = if n.error { theme.error } else { theme.notice };
        spans.push(Span::styled(text::sanitize(&n.text, true), style));
    }
    let help = "  ? help";
    let used: usize = spans.iter().map(|s| text::width(&s.content)).sum();
    let w = area.width as usize;
    if used + help.len() <= w {
        spans.push(Span::raw(" ".repeat(w - used - help.len())));
        spans.push(Span::styled(help, theme.key));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn centered(body: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(body.width);
    let h = h.min(body.height);
    Rect::new(
        body.x + (body.width - w) / 2,
        body.y + (body.height - h) / 2,
        w,
        h,
    )
}

fn reports(
    frame: &mut Frame<'_>,
    theme: &Theme,
    body: Rect,
    text: Option<&Result<String, String>>,
    scroll: usize,
) {
    let area = Rect::new(
        body.x + body.width / 20,
        body.y,
        body.width - body.width / 10,
        body.height,
    );
    frame.render_widget(Clear, area);
    let lines: Vec<Line<'_>> = match text {
        None => vec![Line::styled("Counting the last seven days…", theme.dim)],
        Some(Err(e)) => vec![Line::styled(text::sanitize(e, true), theme.error)],
        Some(Ok(t)) => t
            .lines()
            .skip(scroll)
            .map(|l| Line::raw(text::sanitize(l, true)))
            .collect(),
    };
    frame.render_widget(
        Paragraph::new(lines).block(pane(
            "Reports: the last seven days (j/k scroll, Esc closes)".into(),
            true,
            theme,
        )),
        area,
    );
}

fn help(frame: &mut Frame<'_>, app: &App, body: Rect, scroll: usize) {
    let theme = &app.opts.theme;
    let map = &app.opts.keymap;
    let mut lines: Vec<Line<'_>> = Command::all()
        .into_iter()
        .map(|c| {
            let keys = map.keys_for(c).join(" ");
            Line::from(vec![
                Span::styled(format!("{:<18}", text::truncate(&keys, 17)), theme.key),
                Span::raw(c.describe()),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    for (k, d) in [
        (
            "in a text box",
            "Enter sends · Alt-Enter new line · Ctrl-e $EDITOR · Esc discards",
        ),
        (
            "in a picker",
            "type to narrow · ↑/↓ · Enter picks · Esc cancels",
        ),
        (
            "in search",
            "type to search · ↑/↓ · Enter opens · Esc closes",
        ),
        ("mouse", "click a view or a row · wheel scrolls"),
    ] {
        lines.push(Line::from(vec![
            Span::styled(format!("{k:<18}"), theme.key),
            Span::raw(d),
        ]));
    }
    let area = centered(body, 84, lines.len() as u16 + 2);
    let shown: Vec<Line<'_>> = lines.into_iter().skip(scroll).collect();
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(shown).block(pane("Keys (Esc closes)".into(), true, theme)),
        area,
    );
}

fn picker<T: Clone>(frame: &mut Frame<'_>, theme: &Theme, body: Rect, p: &Picker<T>, about: &str) {
    let rows = p.match_count() + usize::from(p.new_name().is_some());
    let area = centered(body, 56, (rows as u16).saturating_add(4).min(20));
    frame.render_widget(Clear, area);
    let title = if about.is_empty() {
        p.title.clone()
    } else {
        format!("{} {about}", p.title)
    };
    let block = pane(title, true, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let w = inner.width as usize;
    let mut lines = vec![Line::from(vec![
        Span::styled("› ", theme.key),
        Span::raw(text::sanitize(&p.query, true)),
        Span::styled("▏", theme.key),
    ])];
    let h = inner.height.saturating_sub(1) as usize;
    let skip = p.cursor.saturating_sub(h.saturating_sub(1));
    for (i, c) in p.visible().enumerate().skip(skip).take(h) {
        let hint = text::truncate(&c.hint, 14);
        let label_w = w.saturating_sub(text::width(&hint) + 1);
        let s = format!("{} {hint}", text::fit(&c.label, label_w));
        let style = if i == p.cursor {
            theme.selected
        } else {
            theme.base
        };
        lines.push(Line::styled(s, style));
    }
    if let Some(name) = p.new_name()
        && lines.len() <= h
    {
        let style = if p.selected().is_none() {
            theme.selected
        } else {
            theme.dim
        };
        lines.push(Line::styled(text::fit(&format!("+ new: {name}"), w), style));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn input_box(frame: &mut Frame<'_>, theme: &Theme, body: Rect, input: &Input) {
    let area = centered(body, 72, 10);
    frame.render_widget(Clear, area);
    let block = pane(
        format!(
            "{} {} · Enter sends · Alt-Enter new line · Ctrl-e editor · Esc",
            input.purpose.title(),
            about(&input.tickets)
        ),
        true,
        theme,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    frame.render_widget(&input.area, inner);
}

fn search(frame: &mut Frame<'_>, app: &App, body: Rect, s: &Search) {
    let theme = &app.opts.theme;
    let area = Rect::new(
        body.x + body.width / 20,
        body.y + body.height / 10,
        body.width - body.width / 10,
        body.height - body.height / 5,
    );
    frame.render_widget(Clear, area);
    let block = pane("Search all messages (Esc closes)".into(), true, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let w = inner.width as usize;
    let mut lines = vec![Line::from(vec![
        Span::styled("/ ", theme.key),
        Span::raw(text::sanitize(&s.query, true)),
        Span::styled("▏", theme.key),
    ])];
    let summary = if let Some(e) = &s.error {
        Line::styled(text::sanitize(e, true), theme.error)
    } else if s.query.trim().is_empty() {
        Line::styled(
            "Type words to find; every message is searched, newest first.",
            theme.dim,
        )
    } else {
        let mut t = format!("{} found", s.result.hits.len());
        if s.result.hits.len() >= 200 {
            t = "200 newest shown".into();
        }
        if let Some(n) = s.result.scanned_recent {
            t.push_str(&format!(
                " · words under 3 letters: only the newest {n} messages were searched"
            ));
        }
        Line::styled(t, theme.dim)
    };
    lines.push(summary);
    let terms = crate::store::search_terms(&s.query);
    let h = inner.height.saturating_sub(2) as usize;
    let skip = s.cursor.saturating_sub(h.saturating_sub(1));
    for (i, hit) in s.result.hits.iter().enumerate().skip(skip).take(h) {
        let head = format!(
            "{} {} #{:<6}{} ",
            clock(hit.sent_at, app.opts.utc_offset),
            text::fit(hit.channel.as_str(), 9),
            hit.ticket,
            text::fit(&hit.contact_name, 14)
        );
        let rest = w.saturating_sub(text::width(&head));
        let snippet = text::truncate(&snippet_around(&hit.body, &terms), rest);
        let selected = i == s.cursor;
        let mut line = highlighted(format!("{head}{snippet}"), &terms, theme);
        if selected {
            line = line.patch_style(theme.selected);
        }
        lines.push(line);
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The part of a long message around the first match, so the match is on screen.
fn snippet_around(body: &str, terms: &[String]) -> String {
    let clean = text::sanitize(body, true);
    let lower = clean.to_lowercase();
    let first = terms
        .iter()
        .filter_map(|t| lower.find(&t.to_lowercase()))
        .min();
    match first {
        Some(byte) if lower.len() == clean.len() => {
            let chars_before = clean[..byte.min(clean.len())].chars().count();
            if chars_before > 24 {
                let skip = chars_before - 20;
                format!("…{}", clean.chars().skip(skip).collect::<String>())
            } else {
                clean
            }
        }
        _ => clean,
    }
}

#[cfg(test)]
mod tests {
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    use super::split_sara_am;

    #[test]
    fn sara_am_takes_two_cells_that_are_each_redrawn() {
        let area = Rect::new(0, 0, 8, 1);
        let mut before = Buffer::empty(area);
        before.set_string(0, 0, "xคำy น้ำ", Style::default());
        split_sara_am(&mut before);
        let cells: Vec<&str> = (0..8).map(|x| before[(x, 0)].symbol()).collect();
        assert_eq!(
            cells,
            [
                "x",
                "ค\u{e4d}",
                "\u{e32}",
                "y",
                " ",
                "น\u{e49}\u{e4d}",
                "\u{e32}",
                " "
            ]
        );
        // Blanking the line rewrites both halves, so no stray vowel stays on the terminal.
        let after = Buffer::empty(area);
        let updated: Vec<u16> = before.diff(&after).iter().map(|(x, _, _)| *x).collect();
        for x in [1, 2, 5, 6] {
            assert!(updated.contains(&x), "cell {x} is not redrawn: {updated:?}");
        }
    }
}
