//! `tix stats`: the report of a period, as a table with a per-day chart or as JSON.

use std::io::{self, Write};

use anyhow::{Result, anyhow};
use chrono::{Local, NaiveDate, TimeZone};

use super::{Setup, now};
use crate::cli::StatsArgs;
use crate::domain::{Millis, text, time};
use crate::report::{self, Period, Report, Row, Times};

/// The period when none is given: the last seven days.
const DEFAULT_SINCE: &str = "7d";
/// The longest bar of the per-day chart, in cells.
const BAR_CELLS: usize = 24;

pub fn run(setup: &Setup, args: &StatsArgs) -> Result<()> {
    let period = period(args, now(), &Local)?;
    let desk = setup.open_desk()?;
    let report = report::compute(&desk.read(), &period)?;
    let mut out = io::stdout().lock();
    if args.json {
        // Written as text, so a reader that goes away (`| head`) is the quiet broken pipe.
        let text = serde_json::to_string_pretty(&report)?;
        writeln!(out, "{text}")?;
    } else {
        print(&mut out, &report, &period, &Local)?;
    }
    Ok(())
}

/// The last seven days up to `now` as the text `tix stats` prints, for the inbox's Reports
/// screen.
pub fn last_week_text(sql: &crate::store::Sql<'_>, now: Millis) -> Result<String> {
    let length = time::parse_duration(DEFAULT_SINCE).map_err(|e| anyhow!(e))?;
    let period = Period::since(now, length, &Local).map_err(|e| anyhow!(e))?;
    let report = report::compute(sql, &period)?;
    let mut out = Vec::new();
    print(&mut out, &report, &period, &Local)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// The period the arguments ask for, in the time zone `tz`.
fn period<Tz: TimeZone>(args: &StatsArgs, now: Millis, tz: &Tz) -> Result<Period> {
    let Some(from) = &args.from else {
        let since = args.since.as_deref().unwrap_or(DEFAULT_SINCE);
        let length = time::parse_duration(since).map_err(|e| anyhow!("--since: {e}"))?;
        return Period::since(now, length, tz).map_err(|e| anyhow!("--since: {e}"));
    };
    let from = date("--from", from)?;
    let to = match &args.to {
        Some(to) => date("--to", to)?,
        None => tz
            .timestamp_millis_opt(now)
            .single()
            .map(|d| d.date_naive())
            .ok_or_else(|| anyhow!("the clock reads an impossible time"))?,
    };
    Period::dates(from, to, tz).map_err(anyhow::Error::msg)
}

fn date(flag: &str, given: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(given.trim(), "%Y-%m-%d").map_err(|_| {
        anyhow!(
            "{flag} \"{}\" is not a date like 2026-11-01",
            text::sanitize(given, true)
        )
    })
}

fn local<Tz: TimeZone>(at: Millis, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    tz.timestamp_millis_opt(at)
        .single()
        .map(|d| d.format("%Y-%m-%d %H:%M (%:z)").to_string())
        .unwrap_or_else(|| at.to_string())
}

fn times(t: &Times) -> String {
    match (t.median_seconds, t.p90_seconds) {
        (Some(m), Some(p)) => format!(
            "median {}, 90th percentile {}  ({} ticket{})",
            report::duration(m),
            report::duration(p),
            t.count,
            plural(t.count)
        ),
        _ => "-".into(),
    }
}

fn short_times(t: &Times) -> String {
    match (t.median_seconds, t.p90_seconds) {
        (Some(m), Some(p)) => format!("{} / {}", report::duration(m), report::duration(p)),
        _ => "-".into(),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn print<Tz: TimeZone>(out: &mut impl Write, r: &Report, p: &Period, tz: &Tz) -> io::Result<()>
where
    Tz::Offset: std::fmt::Display,
{
    writeln!(
        out,
        "Tickets from {} to {}",
        local(p.start, tz),
        local(p.end, tz)
    )?;
    writeln!(out)?;
    let rate = r
        .reopen_rate
        .map(|x| format!("  (reopen rate {:.0}%)", x * 100.0))
        .unwrap_or_default();
    let lines = [
        ("created", r.created.to_string()),
        (
            "replied",
            format!(
                "{}  ({} repl{})",
                r.replied,
                r.replies,
                if r.replies == 1 { "y" } else { "ies" }
            ),
        ),
        (
            "closed",
            format!(
                "{}  ({} by agents, {} by rules)",
                r.closed, r.closed_by_agents, r.closed_by_rules
            ),
        ),
        ("reopened", format!("{}{rate}", r.reopened)),
        ("marked spam", r.marked_spam.to_string()),
        ("open at end", r.open_at_end.to_string()),
        (
            "resolved",
            format!("{}  ({} one-touch)", r.resolved, r.one_touch),
        ),
        ("first response", times(&r.first_response)),
        ("resolution", times(&r.resolution)),
    ];
    for (name, value) in lines {
        writeln!(out, "  {name:<16} {value}")?;
    }
    for (title, rows) in [
        ("By agent", &r.by_agent),
        ("By team", &r.by_team),
        ("By channel", &r.by_channel),
        ("By label", &r.by_label),
        ("By field", &r.by_field),
    ] {
        writeln!(out)?;
        breakdown(out, title, rows)?;
    }
    writeln!(out)?;
    chart(out, r)
}

fn breakdown(out: &mut impl Write, title: &str, rows: &[Row]) -> io::Result<()> {
    writeln!(
        out,
        "{}  {:>7}  {:>7}  {:>7}  {:>6}  {:>4}  {}  resolution (median / p90)",
        text::fit(title, 18),
        "created",
        "replied",
        "replies",
        "closed",
        "open",
        text::fit("first response", 16),
    )?;
    if rows.is_empty() {
        return writeln!(out, "  none");
    }
    for row in rows {
        writeln!(
            out,
            "  {}  {:>7}  {:>7}  {:>7}  {:>6}  {:>4}  {}  {}",
            text::fit(&row.name, 16),
            row.created,
            row.replied,
            row.replies,
            row.closed,
            row.open_at_end,
            text::fit(&short_times(&row.first_response), 16),
            short_times(&row.resolution),
        )?;
    }
    Ok(())
}

/// Tickets created and closed per day, as bars scaled to the busiest day.
fn chart(out: &mut impl Write, r: &Report) -> io::Result<()> {
    let most = r
        .days
        .iter()
        .map(|d| d.created.max(d.closed))
        .max()
        .unwrap_or(0)
        .max(1);
    let bar = |n: usize| -> String {
        match (n * BAR_CELLS).div_ceil(most) {
            0 => n.to_string(),
            cells => format!("{} {n}", "█".repeat(cells)),
        }
    };
    writeln!(
        out,
        "{}  {}  closed",
        text::fit("Per day", 18),
        text::fit("created", BAR_CELLS + 4)
    )?;
    for d in &r.days {
        writeln!(
            out,
            "  {}  {}  {}",
            text::fit(&d.date.format("%a %Y-%m-%d").to_string(), 16),
            text::fit(&bar(d.created), BAR_CELLS + 4),
            bar(d.closed)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn args(since: Option<&str>, from: Option<&str>, to: Option<&str>) -> StatsArgs {
        StatsArgs {
            since: since.map(Into::into),
            from: from.map(Into::into),
            to: to.map(Into::into),
            json: false,
        }
    }

    const NOW: Millis = 1_795_000_000_000; // 2026-11-18T08:26:40Z

    #[test]
    fn default_period_is_the_last_seven_days_up_to_now() {
        let p = period(&args(None, None, None), NOW, &Utc).unwrap();
        assert_eq!((p.start, p.end), (NOW - 7 * 86_400_000, NOW + 1));
        assert_eq!(
            p.days.len(),
            8,
            "seven days back from mid-morning touch eight dates"
        );
    }

    #[test]
    fn from_without_to_runs_through_today() {
        let p = period(&args(None, Some("2026-11-16"), None), NOW, &Utc).unwrap();
        assert_eq!(p.days.len(), 3);
        assert_eq!(p.end, time::parse_time("2026-11-19T00:00:00Z").unwrap());
    }

    #[test]
    fn bad_dates_and_durations_say_what_was_expected() {
        let e = period(&args(None, Some("2026-13-01"), None), NOW, &Utc).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--from \"2026-13-01\" is not a date like 2026-11-01"
        );
        let e = period(&args(Some("a week"), None, None), NOW, &Utc).unwrap_err();
        assert!(e.to_string().starts_with("--since: \"a week\""), "{e}");
        let e = period(
            &args(None, Some("2026-11-07"), Some("2026-11-01")),
            NOW,
            &Utc,
        )
        .unwrap_err();
        assert!(e.to_string().contains("after it ends"), "{e}");
    }
}
