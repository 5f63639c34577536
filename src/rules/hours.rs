//! Working hours in a time zone: an agent's shift, or the shop's business hours.

use chrono::{Datelike, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use crate::domain::Millis;

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Opening times per weekday, in minutes since local midnight, in one time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hours {
    pub tz: Tz,
    /// Monday first; each day's ranges are `[start, end)` and do not cross midnight.
    pub days: [Vec<(u32, u32)>; 7],
}

impl Hours {
    /// Whether `at` falls inside the hours, on the local clock of their time zone.
    pub fn contains(&self, at: Millis) -> bool {
        let Some(local) = Utc.timestamp_millis_opt(at).single() else {
            return false;
        };
        let local = local.with_timezone(&self.tz);
        let day = local.weekday().num_days_from_monday() as usize;
        let minute = local.hour() * 60 + local.minute();
        self.days[day]
            .iter()
            .any(|&(start, end)| (start..end).contains(&minute))
    }

    /// The local time and that day's hours, to explain why someone is off: `Sat 19:30 (Asia/Bangkok; Sat 10:00-16:00)`.
    pub fn explain(&self, at: Millis) -> String {
        let Some(local) = Utc.timestamp_millis_opt(at).single() else {
            return String::new();
        };
        let local = local.with_timezone(&self.tz);
        let day = local.weekday().num_days_from_monday() as usize;
        let ranges = if self.days[day].is_empty() {
            "off".to_string()
        } else {
            self.days[day]
                .iter()
                .map(|&(s, e)| format!("{}-{}", hhmm(s), hhmm(e)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "{} {} ({}; {} {ranges})",
            DAYS[day],
            local.format("%H:%M"),
            self.tz.name(),
            DAYS[day]
        )
    }
}

fn hhmm(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// Reads a day's hours: `09:00-18:00`, several ranges as `09:00-12:00, 13:00-18:00`, or `off`.
pub fn parse_ranges(text: &str) -> Result<Vec<(u32, u32)>, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("off") || t.eq_ignore_ascii_case("closed") {
        return Ok(Vec::new());
    }
    t.split(',')
        .map(|range| {
            let (start, end) = range.trim().split_once('-').ok_or_else(|| {
                format!("\"{range}\" is not a range of hours like \"09:00-18:00\" or \"off\"")
            })?;
            let (start, end) = (clock(start)?, clock(end)?);
            if end <= start {
                return Err(format!(
                    "\"{}\" ends before it starts; split a night shift at midnight \
                     (\"22:00-24:00\" and \"00:00-06:00\" the next day)",
                    range.trim()
                ));
            }
            Ok((start, end))
        })
        .collect()
}

/// `HH:MM` as minutes since midnight; `24:00` is the end of the day.
fn clock(text: &str) -> Result<u32, String> {
    let t = text.trim();
    let parsed = t.split_once(':').and_then(|(h, m)| {
        let (h, m) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
        (m < 60 && (h < 24 || (h == 24 && m == 0)) && t.len() == 5).then_some(h * 60 + m)
    });
    parsed.ok_or_else(|| format!("\"{t}\" is not a time of day like \"09:00\""))
}

/// The weekday keys a working-hours table accepts, with the days each covers (Monday = 0).
pub const DAY_KEYS: [(&str, &[usize]); 10] = [
    ("every_day", &[0, 1, 2, 3, 4, 5, 6]),
    ("mon_fri", &[0, 1, 2, 3, 4]),
    ("mon", &[0]),
    ("tue", &[1]),
    ("wed", &[2]),
    ("thu", &[3]),
    ("fri", &[4]),
    ("sat", &[5]),
    ("sun", &[6]),
    ("sat_sun", &[5, 6]),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn bangkok_office() -> Hours {
        let mut days: [Vec<(u32, u32)>; 7] = Default::default();
        for d in days.iter_mut().take(5) {
            *d = parse_ranges("09:00-18:00").unwrap();
        }
        days[5] = parse_ranges("10:00-16:00").unwrap();
        Hours {
            tz: "Asia/Bangkok".parse().unwrap(),
            days,
        }
    }

    fn at(rfc3339: &str) -> Millis {
        crate::domain::time::parse_time(rfc3339).unwrap()
    }

    #[test]
    fn hours_are_read_on_the_local_clock_of_their_time_zone() {
        let h = bangkok_office();
        // Friday 01:30 UTC is Friday 08:30 in Bangkok: not yet.
        assert!(!h.contains(at("2026-11-20T01:30:00Z")));
        // Friday 02:00 UTC is 09:00 in Bangkok: open.
        assert!(h.contains(at("2026-11-20T02:00:00Z")));
        // Friday 10:59 UTC is 17:59: open; 11:00 UTC is 18:00: closed.
        assert!(h.contains(at("2026-11-20T10:59:00Z")));
        assert!(!h.contains(at("2026-11-20T11:00:00Z")));
        // Friday 20:00 UTC is already Saturday 03:00 in Bangkok: closed, and Saturday 10:00
        // local (Saturday 03:00 UTC) is open.
        assert!(!h.contains(at("2026-11-20T20:00:00Z")));
        assert!(h.contains(at("2026-11-21T03:00:00Z")));
        // Sunday is off.
        assert!(!h.contains(at("2026-11-22T05:00:00Z")));
        assert_eq!(
            h.explain(at("2026-11-21T12:30:00Z")),
            "Sat 19:30 (Asia/Bangkok; Sat 10:00-16:00)"
        );
    }

    #[test]
    fn ranges_parse_and_refuse_nonsense() {
        assert_eq!(
            parse_ranges("09:00-12:00, 13:00-18:00").unwrap(),
            vec![(540, 720), (780, 1080)]
        );
        assert_eq!(parse_ranges("off").unwrap(), vec![]);
        assert_eq!(parse_ranges("00:00-24:00").unwrap(), vec![(0, 1440)]);
        assert!(parse_ranges("18:00-09:00").unwrap_err().contains("night"));
        assert!(parse_ranges("9-5").unwrap_err().contains("time of day"));
        assert!(parse_ranges("09:00").unwrap_err().contains("range"));
        assert!(parse_ranges("25:00-26:00").is_err());
    }
}
