//! `tix stats` against a hand count: one week of a small desk, built through the real desk with a
//! fixed clock, and every figure of the report checked against what a person counts on paper.
//!
//! The week is Monday 2026-11-02 to Friday 2026-11-06 (UTC). `d(n, h, m)` is day `n` of it (0 is
//! Monday; -1 the Sunday before, 5 the Saturday after) at `h:m`.
//!
//! | ticket | channel  | history                                                                 |
//! |--------|----------|-------------------------------------------------------------------------|
//! | #1     | line     | Sun 10:00 created; never answered; alice closes it Sat 10:00 (after)    |
//! | #2     | line     | Sun 12:00 created; alice replies Sun 13:00; alice closes Mon 09:00      |
//! | #3     | whatsapp | Mon 08:00 created; assigned alice + billing; alice replies 09:00,       |
//! |        |          | label refund, alice closes 10:00; customer writes Tue 08:00 (reopens);  |
//! |        |          | alice replies Tue 09:00, closes Tue 10:00; label vip added Sat (after)  |
//! | #4     | line     | Tue 11:00 created; bob takes it, replies 13:00, closes 14:00, undoes    |
//! |        |          | the close 14:05; label vip                                              |
//! | #5     | line     | Wed 09:00 created; alice marks it spam 09:10                            |
//! | #6     | shopee   | Wed 10:00 created; bob replies 10:30; label refund; a rule closes it    |
//! |        |          | Thu 10:00                                                               |
//! | #7     | whatsapp | Thu 09:00 created; team billing; reassigned to bob Sat 12:00 (after)    |
//! | #8     | line     | Fri 15:00 created; alice takes it, replies 15:45; label vip added and   |
//! |        |          | removed                                                                 |
//! | #9     | line     | Sat 09:00 created (after the week)                                      |

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use chrono::{NaiveDate, Utc};
use serde_json::{Value, json};

use tix::desk::{Ctx, Desk, Settings};
use tix::domain::{Actor, Change, ChannelKind, Direction, Inbound, Lifecycle, MessageKind, Status};
use tix::report::{self, Period, Report, Row, Times};
use tix::store::{NewEvent, Store};

const TIX: &str = env!("CARGO_BIN_EXE_tix");
/// Monday 2026-11-02 00:00 UTC.
const MONDAY: i64 = 1_793_577_600_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

fn d(day: i64, h: i64, m: i64) -> i64 {
    MONDAY + day * 24 * HOUR + h * HOUR + m * MINUTE
}

fn customer(channel: ChannelKind, from: &str, id: &str, at: i64) -> Inbound {
    Inbound {
        channel,
        account: None,
        customer_id: from.into(),
        display_name: Some(format!("Customer {from}")),
        message_id: id.into(),
        kind: MessageKind::Text,
        text: format!("hello {id}"),
        sent_at: at,
        direction: Direction::In,
        agent: None,
    }
}

fn by(agent: &str, at: i64) -> Ctx {
    Ctx {
        agent: agent.into(),
        at,
    }
}

/// Closes a ticket the way a rule does: the same lifecycle change, journalled with the rule as
/// actor. (The rules engine is not on this branch; this writes exactly what its close action
/// writes.)
fn rule_closes(desk: &Desk, ticket: i64, rule: &str, at: i64) {
    let sql = desk.read();
    let before = sql.ticket(ticket).unwrap().unwrap().lifecycle;
    let after = Lifecycle {
        status: Status::Closed,
        closed_at: Some(at),
        closed_by: Some(rule.into()),
        reopen_count: before.reopen_count,
    };
    sql.set_lifecycle(ticket, &after, at).unwrap();
    let change = Change::Lifecycle {
        ticket,
        before,
        after,
    };
    sql.append_event(&NewEvent {
        ticket: Some(ticket),
        kind: change.event_kind(),
        actor: &Actor::Rule(rule.into()),
        at,
        payload: &serde_json::to_string(&change).unwrap(),
        action_id: None,
        via: None,
    })
    .unwrap();
}

/// The week of the table above, in the order it happened.
fn the_week(store: Store) -> Desk {
    use ChannelKind::{Line, Shopee, Whatsapp};
    let mut desk = Desk::new(store, Settings::default());
    let ingest = |desk: &mut Desk, m: Inbound| {
        desk.ingest(&[m]).unwrap();
    };

    // Sunday, before the week.
    ingest(&mut desk, customer(Line, "U1", "m1", d(-1, 10, 0)));
    ingest(&mut desk, customer(Line, "U2", "m2", d(-1, 12, 0)));
    desk.reply(&by("alice", d(-1, 13, 0)), 2, "hi").unwrap();

    // Monday.
    ingest(&mut desk, customer(Whatsapp, "W3", "m3", d(0, 8, 0)));
    desk.assign(
        &by("alice", d(0, 8, 30)),
        &[3],
        Some("alice"),
        Some("billing"),
    )
    .unwrap();
    desk.close(&by("alice", d(0, 9, 0)), &[2]).unwrap();
    desk.reply(&by("alice", d(0, 9, 0)), 3, "on it").unwrap();
    desk.label(&by("alice", d(0, 9, 0)), &[3], "refund", true)
        .unwrap();
    desk.close(&by("alice", d(0, 10, 0)), &[3]).unwrap();

    // Tuesday.
    ingest(&mut desk, customer(Whatsapp, "W3", "m3b", d(1, 8, 0)));
    desk.reply(&by("alice", d(1, 9, 0)), 3, "refunded").unwrap();
    desk.close(&by("alice", d(1, 10, 0)), &[3]).unwrap();
    ingest(&mut desk, customer(Line, "U4", "m4", d(1, 11, 0)));
    desk.take(&by("bob", d(1, 11, 30)), &[4]).unwrap();
    desk.label(&by("bob", d(1, 11, 30)), &[4], "vip", true)
        .unwrap();
    desk.reply(&by("bob", d(1, 13, 0)), 4, "let me check")
        .unwrap();
    desk.close(&by("bob", d(1, 14, 0)), &[4]).unwrap();
    desk.undo(&by("bob", d(1, 14, 5))).unwrap();

    // Wednesday.
    ingest(&mut desk, customer(Line, "U5", "m5", d(2, 9, 0)));
    desk.mark_spam(&by("alice", d(2, 9, 10)), &[5]).unwrap();
    ingest(&mut desk, customer(Shopee, "S6", "m6", d(2, 10, 0)));
    desk.reply(&by("bob", d(2, 10, 30)), 6, "shipped").unwrap();
    desk.label(&by("bob", d(2, 10, 30)), &[6], "refund", true)
        .unwrap();

    // Thursday.
    rule_closes(&desk, 6, "Close answered orders", d(3, 10, 0));
    ingest(&mut desk, customer(Whatsapp, "W7", "m7", d(3, 9, 0)));
    desk.assign(&by("alice", d(3, 9, 5)), &[7], None, Some("billing"))
        .unwrap();

    // Friday.
    ingest(&mut desk, customer(Line, "U8", "m8", d(4, 15, 0)));
    desk.take(&by("alice", d(4, 15, 5)), &[8]).unwrap();
    desk.label(&by("alice", d(4, 15, 10)), &[8], "vip", true)
        .unwrap();
    desk.label(&by("alice", d(4, 15, 20)), &[8], "vip", false)
        .unwrap();
    desk.reply(&by("alice", d(4, 15, 45)), 8, "sure").unwrap();

    // Saturday, after the week.
    ingest(&mut desk, customer(Line, "U9", "m9", d(5, 9, 0)));
    desk.close(&by("alice", d(5, 10, 0)), &[1]).unwrap();
    desk.label(&by("alice", d(5, 11, 0)), &[3], "vip", true)
        .unwrap();
    desk.assign(&by("alice", d(5, 12, 0)), &[7], Some("bob"), None)
        .unwrap();

    assert_eq!(
        desk.read().invariant_violations().unwrap(),
        Vec::<String>::new()
    );
    desk
}

fn week_period() -> Period {
    Period::dates(
        NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
        NaiveDate::from_ymd_opt(2026, 11, 6).unwrap(),
        &Utc,
    )
    .unwrap()
}

fn times(count: usize, median_minutes: i64, p90_minutes: i64) -> Times {
    Times {
        count,
        median_seconds: Some(median_minutes * 60),
        p90_seconds: Some(p90_minutes * 60),
    }
}

const NONE: Times = Times {
    count: 0,
    median_seconds: None,
    p90_seconds: None,
};

#[allow(clippy::too_many_arguments)]
fn row(
    name: &str,
    created: usize,
    replied: usize,
    replies: usize,
    closed: usize,
    open_at_end: usize,
    first_response: Times,
    resolution: Times,
) -> Row {
    Row {
        name: name.into(),
        created,
        replied,
        replies,
        closed,
        open_at_end,
        first_response,
        resolution,
    }
}

/// The hand count of the week, figure by figure, with the tickets each one is made of.
fn hand_count() -> Report {
    Report {
        from: "2026-11-02T00:00:00Z".into(),
        to: "2026-11-07T00:00:00Z".into(),
        // #3 #4 #5 #6 #7 #8.
        created: 6,
        // #3 (two replies), #4, #6, #8; #2's only reply was on Sunday.
        replied: 4,
        replies: 5,
        // #2 and #3 by alice, #6 by a rule; bob's close of #4 was undone.
        closed: 3,
        closed_by_agents: 2,
        closed_by_rules: 1,
        // #3 by its customer; bob's undo is not a reopen.
        reopened: 1,
        reopen_rate: Some(1.0 / 3.0),
        // #5.
        marked_spam: 1,
        // #1 (closed only on Saturday), #4, #7, #8.
        open_at_end: 4,
        // #2 in 21h, #3 in 26h (on its final close), #6 in 24h; one-touch: #2 and #6.
        resolved: 3,
        one_touch: 2,
        // #6 30m, #8 45m, #3 1h, #4 2h.
        first_response: times(4, 45, 120),
        resolution: times(3, 24 * 60, 26 * 60),
        by_agent: vec![
            // Assigned at the end: #3, #8 (both created this week; #8 open). Replies: #3 twice,
            // #8. Closed #2 and #3. First responses #3 1h, #8 45m; resolutions #2 21h, #3 26h.
            row(
                "alice",
                2,
                2,
                3,
                2,
                1,
                times(2, 45, 60),
                times(2, 21 * 60, 26 * 60),
            ),
            // Assigned at the end: #4 (open; #7 only on Saturday). Replies on #4 and #6, first
            // responses both; no close that counts.
            row("bob", 1, 2, 2, 0, 1, times(2, 30, 120), NONE),
        ],
        // #3 and #7.
        by_team: vec![row(
            "billing",
            2,
            1,
            2,
            1,
            1,
            times(1, 60, 60),
            times(1, 26 * 60, 26 * 60),
        )],
        by_channel: vec![
            // #1 #2 #4 #5 #8 (#9 came after the week).
            row(
                "line",
                3,
                2,
                2,
                1,
                3,
                times(2, 45, 120),
                times(1, 21 * 60, 21 * 60),
            ),
            // #6.
            row(
                "shopee",
                1,
                1,
                1,
                1,
                0,
                times(1, 30, 30),
                times(1, 24 * 60, 24 * 60),
            ),
            // #3 #7.
            row(
                "whatsapp",
                2,
                1,
                2,
                1,
                1,
                times(1, 60, 60),
                times(1, 26 * 60, 26 * 60),
            ),
        ],
        by_label: vec![
            // #3 #6.
            row(
                "refund",
                2,
                2,
                3,
                2,
                0,
                times(2, 30, 60),
                times(2, 24 * 60, 26 * 60),
            ),
            // #4 only: #8's was removed, #3's came on Saturday.
            row("vip", 1, 1, 1, 0, 1, times(1, 120, 120), NONE),
        ],
        // The week sets no fields.
        by_field: vec![],
        days: vec![
            day(2, 1, 1, 2),
            day(3, 1, 2, 1),
            day(4, 2, 1, 0),
            day(5, 1, 0, 1),
            day(6, 1, 1, 0),
        ],
    }
}

fn day(date: u32, created: usize, replied: usize, closed: usize) -> report::DayCounts {
    report::DayCounts {
        date: NaiveDate::from_ymd_opt(2026, 11, date).unwrap(),
        created,
        replied,
        closed,
    }
}

#[test]
fn every_figure_of_the_week_matches_the_hand_count() {
    let desk = the_week(Store::open_in_memory().unwrap());
    let report = report::compute(&desk.read(), &week_period()).unwrap();
    let expected = hand_count();
    // Field by field first, so a failure names the figure.
    assert_eq!(report.created, expected.created, "created");
    assert_eq!(report.replied, expected.replied, "replied");
    assert_eq!(report.replies, expected.replies, "replies");
    assert_eq!(report.closed, expected.closed, "closed");
    assert_eq!(report.closed_by_agents, expected.closed_by_agents);
    assert_eq!(report.closed_by_rules, expected.closed_by_rules);
    assert_eq!(report.reopened, expected.reopened, "reopened");
    assert_eq!(report.marked_spam, expected.marked_spam, "marked spam");
    assert_eq!(report.open_at_end, expected.open_at_end, "open at end");
    assert_eq!(report.resolved, expected.resolved, "resolved");
    assert_eq!(report.one_touch, expected.one_touch, "one-touch");
    assert_eq!(report.first_response, expected.first_response);
    assert_eq!(report.resolution, expected.resolution);
    assert_eq!(report.by_agent, expected.by_agent);
    assert_eq!(report.by_team, expected.by_team);
    assert_eq!(report.by_channel, expected.by_channel);
    assert_eq!(report.by_label, expected.by_label);
    assert_eq!(report.by_field, expected.by_field);
    assert_eq!(report.days, expected.days);
    assert_eq!(report, expected);
}

#[test]
fn a_day_alone_counts_only_its_own_events() {
    let desk = the_week(Store::open_in_memory().unwrap());
    let tuesday = NaiveDate::from_ymd_opt(2026, 11, 3).unwrap();
    let r = report::compute(
        &desk.read(),
        &Period::dates(tuesday, tuesday, &Utc).unwrap(),
    )
    .unwrap();
    // Created #4; replies on #3 and #4; #3 reopened by its customer and closed again.
    assert_eq!((r.created, r.replied, r.replies), (1, 2, 2));
    assert_eq!((r.closed, r.reopened, r.resolved), (1, 1, 1));
    assert_eq!(r.reopen_rate, Some(1.0));
    // #4's first response (2h) is Tuesday's; #3's was on Monday.
    assert_eq!(r.first_response, times(1, 120, 120));
    assert_eq!(r.resolution, times(1, 26 * 60, 26 * 60));
    // Open at Tuesday's end: #1 and #4 (#2 and #3 are closed, the rest not yet created).
    assert_eq!(r.open_at_end, 2);
    assert_eq!(r.days.len(), 1);
}

#[test]
fn field_rows_count_the_values_a_ticket_was_closed_with() {
    use ChannelKind::Line;
    let mut desk = Desk::new(Store::open_in_memory().unwrap(), Settings::default());
    for (from, id) in [("U1", "m1"), ("U2", "m2"), ("U3", "m3")] {
        desk.ingest(&[customer(Line, from, id, d(0, 9, 0))])
            .unwrap();
    }
    let alice = |h| by("alice", d(0, h, 0));
    desk.set_field(&alice(10), &[1, 2], "Resolution", "Refunded")
        .unwrap();
    desk.reply(&alice(10), 1, "done").unwrap();
    desk.close(&alice(11), &[1]).unwrap();
    // Changed after the close: a report goes by what #1 was closed with.
    desk.set_field(&alice(12), &[1], "Resolution", "Replaced")
        .unwrap();
    // #2 is still open at the end: its value then. #3 has none.
    desk.set_field(&alice(12), &[2], "Resolution", "Answered")
        .unwrap();
    // #3: closed with no value, then given one.
    desk.close(&alice(13), &[3]).unwrap();
    desk.set_field(&alice(14), &[3], "Resolution", "Escalated")
        .unwrap();
    let r = report::compute(&desk.read(), &week_period()).unwrap();
    let rows: Vec<(String, usize, usize, usize)> = r
        .by_field
        .iter()
        .map(|row| (row.name.clone(), row.created, row.closed, row.open_at_end))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("Resolution: Answered".to_string(), 1, 0, 1),
            ("Resolution: Refunded".to_string(), 1, 1, 0),
        ]
    );
}

// ----- the command line ----------------------------------------------------------------------

/// A database holding the week, and a config file, in a temporary directory.
fn week_on_disk() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.toml"), "me = \"alice\"\n").unwrap();
    drop(the_week(Store::open(&dir.path().join("tix.db")).unwrap()));
    dir
}

fn tix(dir: &Path, now: &str, args: &[&str]) -> Output {
    let mut c = Command::new(TIX);
    for v in ["TIX_DB", "TIX_CONFIG", "TIX_AGENT", "TIX_NOW", "TIX_LOG"] {
        c.env_remove(v);
    }
    c.env("TIX_DB", dir.join("tix.db"))
        .env("TIX_CONFIG", dir.join("config.toml"))
        .env("TIX_NOW", now)
        .env("TZ", "UTC")
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(120))
        .args(args)
        .output()
        .unwrap()
}

fn stdout_of(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

const LATER: &str = "2026-11-10T12:00:00Z";

#[test]
fn stats_json_prints_the_hand_count() {
    let dir = week_on_disk();
    let out = tix(
        dir.path(),
        LATER,
        &[
            "stats",
            "--from",
            "2026-11-02",
            "--to",
            "2026-11-06",
            "--json",
        ],
    );
    let got: Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(got, serde_json::to_value(hand_count()).unwrap());
    // A few figures spelled out, so the JSON's shape is pinned too.
    assert_eq!(got["created"], 6);
    assert_eq!(got["closed_by_rules"], 1);
    assert_eq!(
        got["first_response"],
        json!({"count": 4, "median_seconds": 2700, "p90_seconds": 7200})
    );
    assert_eq!(
        got["days"][0],
        json!({"date": "2026-11-02", "created": 1, "replied": 1, "closed": 2})
    );
}

#[test]
fn since_counts_back_from_now() {
    let dir = week_on_disk();
    // Five days back from Saturday 00:00 is the same week, plus the first instant of Saturday.
    let out = tix(
        dir.path(),
        "2026-11-07T00:00:00Z",
        &["stats", "--since", "5d", "--json"],
    );
    let got: Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    let mut expected = serde_json::to_value(hand_count()).unwrap();
    expected["to"] = json!("2026-11-07T00:00:00Z");
    expected["days"]
        .as_array_mut()
        .unwrap()
        .push(json!({"date": "2026-11-07", "created": 0, "replied": 0, "closed": 0}));
    assert_eq!(got, expected);
}

#[test]
fn stats_prints_figures_tables_and_a_per_day_chart() {
    let dir = week_on_disk();
    let out = stdout_of(&tix(
        dir.path(),
        LATER,
        &["stats", "--from", "2026-11-02", "--to", "2026-11-06"],
    ));
    for expected in [
        "Tickets from 2026-11-02 00:00 (+00:00) to 2026-11-07 00:00 (+00:00)",
        "  created          6\n",
        "  replied          4  (5 replies)\n",
        "  closed           3  (2 by agents, 1 by rules)\n",
        "  reopened         1  (reopen rate 33%)\n",
        "  marked spam      1\n",
        "  open at end      4\n",
        "  resolved         3  (2 one-touch)\n",
        "  first response   median 45m, 90th percentile 2h  (4 tickets)\n",
        "  resolution       median 1d, 90th percentile 1d 2h  (3 tickets)\n",
        "  alice                   2        2        3       2     1  45m / 1h          21h / 1d 2h\n",
        "  billing                 2        1        2       1     1  1h / 1h           1d 2h / 1d 2h\n",
        "  vip                     1        1        1       0     1  2h / 2h           -\n",
        "Per day             created                       closed\n",
        // Wednesday's two created tickets are the longest bar; Monday's two closes too.
        "  Mon 2026-11-02    ████████████ 1                ████████████████████████ 2\n",
        "  Wed 2026-11-04    ████████████████████████ 2    0\n",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in\n{out}");
    }
    assert!(!out.contains('\x1b'), "{out}");
}

#[test]
fn names_from_imports_cannot_drive_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.toml"), "").unwrap();
    let mut desk = Desk::new(
        Store::open(&dir.path().join("tix.db")).unwrap(),
        Settings::default(),
    );
    let mut m = customer(ChannelKind::Line, "U1", "m1", d(0, 9, 0));
    let mut reply = customer(ChannelKind::Line, "U1", "m2", d(0, 9, 30));
    reply.direction = Direction::Out;
    reply.agent = Some("mal\x1b[2Jlory".into());
    m.text = "hi".into();
    desk.ingest(&[m, reply]).unwrap();
    drop(desk);
    let out = stdout_of(&tix(
        dir.path(),
        LATER,
        &["stats", "--from", "2026-11-02", "--to", "2026-11-02"],
    ));
    assert!(!out.contains('\x1b'), "{out:?}");
    assert!(out.contains("mal␛[2Jlory"), "{out}");
}

#[test]
fn bad_dates_and_periods_are_clear_errors() {
    let dir = week_on_disk();
    for (args, says) in [
        (
            &["stats", "--from", "2026-11-31"][..],
            "tix: --from \"2026-11-31\" is not a date like 2026-11-01\n",
        ),
        (
            &["stats", "--from", "2026-11-02", "--to", "tomorrow"][..],
            "tix: --to \"tomorrow\" is not a date like 2026-11-01\n",
        ),
        (
            &["stats", "--from", "2026-11-06", "--to", "2026-11-02"][..],
            "tix: the period starts (2026-11-06) after it ends (2026-11-02)\n",
        ),
    ] {
        let out = tix(dir.path(), LATER, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), says, "{args:?}");
        assert!(out.stdout.is_empty());
    }
    let out = tix(dir.path(), LATER, &["stats", "--since", "a while"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .starts_with("tix: --since: \"a while\" is not a duration"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
