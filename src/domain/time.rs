//! Reading and writing times and durations the way people and platforms write them.

use chrono::{DateTime, Local, SecondsFormat, TimeZone, Utc};

use super::Millis;

/// Reads an RFC 3339 time (`2026-11-20T09:15:00+07:00`) or integer epoch milliseconds.
pub fn parse_time(text: &str) -> Result<Millis, String> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse::<i64>()
            .map_err(|_| format!("\"{t}\" is too large for epoch milliseconds"));
    }
    DateTime::parse_from_rfc3339(t)
        .map(|d| d.timestamp_millis())
        .map_err(|e| format!("\"{t}\" is not an RFC 3339 time or epoch milliseconds ({e})"))
}

/// RFC 3339 in UTC, for JSON output that other programs read.
pub fn rfc3339(ms: Millis) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|d| d.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_else(|| ms.to_string())
}

/// A short local time for people: `11-20 09:15`.
pub fn short_local(ms: Millis) -> String {
    Local
        .timestamp_millis_opt(ms)
        .single()
        .map(|d| d.format("%m-%d %H:%M").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// A compact age such as `45s`, `12m`, `3h`, `2d`.
pub fn age(ms: Millis) -> String {
    let s = (ms / 1000).max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// Reads a duration such as `90s`, `30m`, `24h`, `7d` or `1h 30m`.
pub fn parse_duration(text: &str) -> Result<Millis, String> {
    humantime::parse_duration(text.trim())
        .map(|d| d.as_millis() as Millis)
        .map_err(|e| format!("\"{text}\" is not a duration like 30m, 24h or 7d ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rfc3339_with_offset_and_epoch_millis() {
        let a = parse_time("2026-11-20T09:15:00+07:00").unwrap();
        let b = parse_time("2026-11-20T02:15:00Z").unwrap();
        assert_eq!(a, b);
        assert_eq!(parse_time("1763604900000").unwrap(), 1_763_604_900_000);
        assert!(parse_time("yesterday").unwrap_err().contains("RFC 3339"));
    }

    #[test]
    fn durations_and_ages() {
        assert_eq!(parse_duration("24h").unwrap(), 86_400_000);
        assert_eq!(parse_duration("1m").unwrap(), 60_000);
        assert!(parse_duration("soon").is_err());
        assert_eq!(age(90_000), "1m");
        assert_eq!(age(2 * 86_400_000), "2d");
    }
}
