//! Routing rules through the library with a fixed clock (DESIGN §3): every condition operator and
//! action, the assignment strategies and eligibility, `stop` and `once_per_ticket`, timers, the
//! backlog, no loops, and broken configuration files refused with file, line and suggestion.

use std::path::Path;

use tix::config::Config;
use tix::desk::{Ctx, Desk};
use tix::domain::{Actor, ChannelKind, Direction, Inbound, MessageKind, Status, time};
use tix::store::{Store, ThreadItem};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;

/// Friday 2026-11-20 10:00 in Bangkok (03:00 UTC): inside everyone's office hours.
fn t0() -> i64 {
    time::parse_time("2026-11-20T03:00:00Z").unwrap()
}

const TEAM: &str = r#"
labels = ["refund", "vip", "hit", "urgent", "other"]
[[teams]]
name = "support"
[[teams]]
name = "billing"
[[fields]]
name = "priority"
values = ["low", "high"]
[[agents]]
handle = "alice"
teams = ["support"]
[[agents]]
handle = "bob"
teams = ["support"]
[[agents]]
handle = "carol"
teams = ["support"]
"#;

fn parse(text: &str) -> Config {
    Config::parse(text, Path::new("test.toml")).unwrap_or_else(|e| panic!("{e}"))
}

fn desk_with(config: &str) -> Desk {
    let c = parse(config);
    Desk::new(Store::open_in_memory().unwrap(), c.settings().unwrap())
}

fn msg(from: &str, id: &str, text: &str, at: i64) -> Inbound {
    Inbound {
        channel: ChannelKind::Line,
        account: None,
        customer_id: from.into(),
        display_name: Some(format!("Customer {from}")),
        message_id: id.into(),
        kind: MessageKind::Text,
        text: text.into(),
        sent_at: at,
        direction: Direction::In,
        agent: None,
    }
}

fn on(channel: ChannelKind, m: Inbound) -> Inbound {
    Inbound { channel, ..m }
}

fn reply(from: &str, id: &str, at: i64) -> Inbound {
    Inbound {
        direction: Direction::Out,
        agent: Some("alice".into()),
        ..msg(from, id, "on it", at)
    }
}

fn agent_of(d: &Desk, n: i64) -> Option<String> {
    d.read().ticket(n).unwrap().unwrap().assignment.agent
}

fn team_of(d: &Desk, n: i64) -> Option<String> {
    d.read().ticket(n).unwrap().unwrap().assignment.team
}

fn labels(d: &Desk, n: i64) -> Vec<String> {
    d.read().labels(n).unwrap()
}

fn status(d: &Desk, n: i64) -> Status {
    d.read().ticket(n).unwrap().unwrap().lifecycle.status
}

/// Journal lines of a ticket as (kind, actor).
fn events(d: &Desk, n: i64) -> Vec<(String, Actor)> {
    let t = d.read().ticket(n).unwrap().unwrap();
    d.read()
        .thread(t.conversation_id)
        .unwrap()
        .into_iter()
        .filter_map(|i| match i {
            ThreadItem::Event {
                ticket,
                kind,
                actor,
                ..
            } if ticket == n => Some((kind, actor)),
            _ => None,
        })
        .collect()
}

fn sound(d: &Desk) {
    assert_eq!(
        d.read().invariant_violations().unwrap(),
        Vec::<String>::new()
    );
}

fn alice(at: i64) -> Ctx {
    Ctx {
        agent: "alice".into(),
        at,
    }
}

// ----- configuration ----------------------------------------------------------------------------

#[test]
fn example_config_loads_with_its_rules() {
    let c = parse(tix::config::EXAMPLE);
    let routing = c.routing.expect("routing");
    assert!(routing.rules.len() >= 8, "{}", routing.rules.len());
    assert_eq!(routing.agents.len(), 3);
    assert!(routing.team("billing").unwrap().drain_backlog);
    assert_eq!(routing.auto_close, None, "auto-close is off by default");
}

/// Every broken config under tests/configs/, with the exact message it must be refused with.
const BROKEN: &[(&str, &str)] = &[
    (
        "unknown_agent.toml",
        "7:27: unknown agent \"bobb\" (did you mean \"bob\"?)",
    ),
    (
        "unknown_team.toml",
        "6:24: unknown team \"biling\" (did you mean \"billing\"?)",
    ),
    (
        "agent_unknown_team.toml",
        "6:10: unknown team \"suport\" (did you mean \"support\"?)",
    ),
    (
        "unknown_label.toml",
        "5:22: unknown label \"refnd\" (did you mean \"refund\"?)",
    ),
    (
        "unknown_field.toml",
        "9:18: unknown field \"priorty\" (did you mean \"priority\"?)",
    ),
    (
        "unknown_field_value.toml",
        "9:35: unknown value for field priority \"hgh\" (did you mean \"high\"?)",
    ),
    (
        "unknown_channel.toml",
        "4:29: unknown channel \"lien\" (did you mean \"line\"?)",
    ),
    (
        "unknown_attribute.toml",
        "4:8: unknown attribute \"chanel\" (did you mean \"channel\"?)",
    ),
    (
        "unknown_nested_attribute.toml",
        "5:36: unknown attribute \"lable\" (did you mean \"label\"?)",
    ),
    (
        "unknown_action.toml",
        "5:12: unknown action \"add_lable\" (did you mean \"add_label\"?)",
    ),
    (
        "unknown_event.toml",
        "3:7: unknown event \"ticket_create\" (did you mean \"ticket_created\"?)",
    ),
    (
        "unknown_strategy.toml",
        "6:46: unknown strategy \"round_robbin\" (did you mean \"round_robin\"?)",
    ),
    (
        "unknown_time_zone.toml",
        "6:16: unknown time zone \"Asia/Bangkk\" (use a name like \"Asia/Bangkok\")",
    ),
    (
        "bad_regex.toml",
        "4:23: invalid regular expression: error: unclosed group",
    ),
    (
        "text_on_closed.toml",
        "4:8: this condition reads the customer's message, but the rule also listens to ticket_closed",
    ),
    ("duplicate_rule.toml", "8:8: rule \"Tag\" is defined twice"),
    (
        "bad_hours.toml",
        "6:42: \"18:00-09:00\" ends before it starts",
    ),
];

#[test]
fn broken_configs_are_refused_with_file_line_column_and_a_suggestion() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs");
    let mut checked = 0;
    for (file, expected) in BROKEN {
        let path = dir.join(file);
        let err = Config::load(&path, true)
            .err()
            .unwrap_or_else(|| panic!("{file} should be refused"))
            .to_string();
        let want = format!("{}:{expected}", path.display());
        assert!(err.starts_with(&want), "{file}:\n got: {err}\nwant: {want}");
        checked += 1;
    }
    // Every file in the folder has its expectation here.
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(
        files, checked,
        "a config in tests/configs has no expected message"
    );
}

#[test]
fn unknown_key_in_a_rule_is_an_error_with_its_line() {
    let err = Config::parse(
        &format!("{TEAM}\n[[rules]]\nname = \"x\"\non = \"ticket_created\"\nthen = \"close\"\nstopp = true\n"),
        Path::new("c.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("line 24, column 1"), "{err}");
    assert!(err.contains("stopp"), "{err}");
}

// ----- conditions ----------------------------------------------------------------------------

/// Runs one message through a rule with condition `cond` and says whether it fired.
fn fires(cond: &str, m: Inbound, prepare: impl Fn(&mut Desk)) -> bool {
    let config = format!(
        "{TEAM}\nbusiness_hours = {{ tz = \"Asia/Bangkok\", mon_fri = \"09:00-18:00\" }}\n\
         [[accounts]]\nname = \"line-shop2\"\nchannel = \"line\"\n\
         [[rules]]\nname = \"probe\"\non = [\"message_received\"]\nif = {cond}\nthen = [{{ add_label = \"hit\" }}]\n"
    );
    // business_hours must come before tables: move it to the top.
    let config = config.replacen(
        "\nbusiness_hours = { tz = \"Asia/Bangkok\", mon_fri = \"09:00-18:00\" }\n",
        "\n",
        1,
    );
    let config = format!(
        "business_hours = {{ tz = \"Asia/Bangkok\", mon_fri = \"09:00-18:00\" }}\n{config}"
    );
    let mut d = desk_with(&config);
    prepare(&mut d);
    // Explained, every condition is evaluated in full; deciding, the message alone may settle
    // the rule first (see `Screen`). Both must come to the same answer.
    let (_, traces) = d.ingest_dry_run(std::slice::from_ref(&m)).unwrap();
    let explained = traces
        .iter()
        .flat_map(|t| &t.rules)
        .any(|r| r.rule == "probe" && r.outcome == tix::rules::trace::Outcome::Matched);
    d.ingest(std::slice::from_ref(&m)).unwrap();
    let n = d
        .read()
        .list_tickets(&Default::default())
        .unwrap()
        .into_iter()
        .find(|t| t.customer_id == m.customer_id && t.status == Status::Open)
        .unwrap()
        .number;
    sound(&d);
    let fired = labels(&d, n).contains(&"hit".to_string());
    assert_eq!(explained, fired, "explained and decided differ for {cond}");
    fired
}

fn plain(text: &str) -> Inbound {
    msg("U1", "probe", text, t0())
}

#[test]
fn every_condition_operator_holds_and_fails_as_it_says() {
    let none = |_: &mut Desk| {};
    let cases: Vec<(&str, Inbound, bool)> = vec![
        ("{ channel = \"line\" }", plain("hi"), true),
        ("{ channel = [\"shopee\", \"lazada\"] }", plain("hi"), false),
        (
            "{ account = \"line-shop2\" }",
            Inbound {
                account: Some("line-shop2".into()),
                ..plain("hi")
            },
            true,
        ),
        ("{ account = \"line-shop2\" }", plain("hi"), false),
        (
            "{ text_contains_any = [\"refund\", \"คืนเงิน\"] }",
            plain("ขอคืนเงินค่ะ"),
            true,
        ),
        (
            "{ text_contains_any = \"refund\" }",
            plain("REFUND now"),
            true,
        ),
        ("{ text_contains_any = \"refund\" }", plain("thanks"), false),
        (
            "{ text_contains_all = [\"order\", \"late\"] }",
            plain("my ORDER is late"),
            true,
        ),
        (
            "{ text_contains_all = [\"order\", \"late\"] }",
            plain("my order"),
            false,
        ),
        (
            "{ text_matches = \"so-\\\\d{4}\" }",
            plain("about SO-2405"),
            true,
        ),
        ("{ text_matches = \"^สวัสดี\" }", plain("สวัสดีครับ"), true),
        (
            "{ text_matches = \"\\\\bso-\\\\d{4}\\\\b\" }",
            plain("about SO-24"),
            false,
        ),
        (
            "{ message_kind = \"image\" }",
            Inbound {
                kind: MessageKind::Image,
                ..plain("")
            },
            true,
        ),
        (
            "{ message_kind = [\"image\", \"sticker\"] }",
            plain("hi"),
            false,
        ),
        ("{ contact_name_contains = \"u1\" }", plain("hi"), true),
        ("{ contact_name_contains = \"zed\" }", plain("hi"), false),
        ("{ status = \"open\" }", plain("hi"), true),
        ("{ status = [\"closed\", \"spam\"] }", plain("hi"), false),
        ("{ assigned = false }", plain("hi"), true),
        ("{ assigned = true }", plain("hi"), false),
        ("{ first_ticket = true }", plain("hi"), true),
        ("{ first_ticket = false }", plain("hi"), false),
        ("{ agent_replies = 0 }", plain("hi"), true),
        ("{ agent_replies = { over = 0 } }", plain("hi"), false),
        ("{ since_created = { under = \"1m\" } }", plain("hi"), true),
        ("{ since_created = { over = \"1m\" } }", plain("hi"), false),
        ("{ in_business_hours = true }", plain("hi"), true),
        // 12:00 UTC is 19:00 in Bangkok: after hours.
        (
            "{ in_business_hours = true }",
            msg("U1", "late", "hi", t0() + 9 * HOUR),
            false,
        ),
        (
            "{ in_business_hours = false }",
            msg("U1", "late", "hi", t0() + 9 * HOUR),
            true,
        ),
        ("{ label = \"vip\" }", plain("hi"), false),
        ("{ field = { priority = \"\" } }", plain("hi"), true),
        ("{ field = { priority = \"high\" } }", plain("hi"), false),
        ("{ team = \"support\" }", plain("hi"), false),
        ("{ in_team_queue = false }", plain("hi"), true),
        ("{ contact_label = \"vip\" }", plain("hi"), false),
        ("{ not = { channel = \"line\" } }", plain("hi"), false),
        (
            "{ any = [ { channel = \"shopee\" }, { text_contains_any = \"hi\" } ] }",
            plain("hi"),
            true,
        ),
        (
            "{ all = [ { channel = \"line\" }, { text_contains_any = \"bye\" } ] }",
            plain("hi"),
            false,
        ),
        (
            "{ all = [ { any = [ { not = { channel = \"shopee\" } }, { label = \"vip\" } ] }, { not = { not = { text_contains_any = \"hi\" } } } ] }",
            plain("hi"),
            true,
        ),
        // Several attributes in one table must all hold.
        (
            "{ channel = \"line\", text_contains_any = \"bye\" }",
            plain("hi"),
            false,
        ),
    ];
    for (cond, m, want) in cases {
        assert_eq!(fires(cond, m, none), want, "{cond}");
    }
}

#[test]
fn conditions_on_the_ticket_and_contact_read_what_agents_did_before() {
    // A returning customer whose earlier ticket was labelled vip, with a field set, assigned.
    let earlier = |d: &mut Desk| {
        d.ingest(&[msg("U1", "old", "first", t0() - 10 * HOUR)])
            .unwrap();
        d.label(&alice(t0() - 9 * HOUR), &[1], "vip", true).unwrap();
        d.set_field(&alice(t0() - 9 * HOUR), &[1], "priority", "high")
            .unwrap();
        d.assign(&alice(t0() - 9 * HOUR), &[1], Some("bob"), Some("support"))
            .unwrap();
        d.ingest(&[
            reply("U1", "r1", t0() - 9 * HOUR),
            reply("U1", "r2", t0() - 8 * HOUR),
        ])
        .unwrap();
    };
    let cases = [
        ("{ label = \"vip\" }", true),
        ("{ contact_label = \"vip\" }", true),
        ("{ field = { priority = [\"high\", \"low\"] } }", true),
        ("{ assignee = \"bob\" }", true),
        ("{ assignee = \"alice\" }", false),
        ("{ team = \"support\" }", true),
        ("{ in_team_queue = false }", true),
        ("{ agent_replies = 2 }", true),
        ("{ agent_replies = { over = 2 } }", false),
        ("{ since_created = { over = \"9h\" } }", true),
        ("{ first_ticket = true }", true),
    ];
    for (cond, want) in cases {
        assert_eq!(fires(cond, plain("again"), earlier), want, "{cond}");
    }
    // After a close and a window that ran out, the contact's new ticket is not their first.
    let closed = |d: &mut Desk| {
        earlier(d);
        d.close(&alice(t0() - 7 * HOUR), &[1]).unwrap();
    };
    let late = msg("U1", "new", "again", t0() + 30 * HOUR);
    assert!(fires("{ first_ticket = false }", late.clone(), closed));
    assert!(fires("{ contact_label = \"vip\" }", late.clone(), closed));
    assert!(!fires("{ label = \"vip\" }", late, closed));
}

// ----- actions -------------------------------------------------------------------------------

fn rule(on: &str, cond: &str, then: &str, extra: &str) -> String {
    format!(
        "{TEAM}\n[[rules]]\nname = \"R\"\non = [{on}]\n{}then = {then}\n{extra}\n",
        if cond.is_empty() {
            String::new()
        } else {
            format!("if = {cond}\n")
        }
    )
}

#[test]
fn every_action_is_applied_and_journalled_with_the_rule_as_actor() {
    let config = rule(
        "\"ticket_created\"",
        "",
        "[ { assign_team = \"support\" }, { add_label = \"refund\" }, { add_label = \"other\" }, \
         { remove_label = \"other\" }, { set_field = { priority = \"high\" } }, { follow_up = true }, \
         { add_note = \"checked by a rule\" }, { auto_reply = \"We got it\" } ]",
        "",
    );
    let mut d = desk_with(&config);
    d.ingest(&[msg("U1", "m1", "hello", t0())]).unwrap();
    let t = d.read().ticket(1).unwrap().unwrap();
    assert_eq!(t.assignment.agent.as_deref(), Some("alice"));
    assert_eq!(t.assignment.team.as_deref(), Some("support"));
    assert!(t.follow_up);
    assert_eq!(labels(&d, 1), vec!["refund"]);
    assert_eq!(
        d.read().field(1, "priority").unwrap().as_deref(),
        Some("high")
    );
    let thread = d.read().thread(t.conversation_id).unwrap();
    assert!(
        thread
            .iter()
            .any(|i| matches!(i, ThreadItem::Note { body, author, .. }
        if body == "checked by a rule" && author == "rule:R"))
    );
    assert!(thread.iter().any(
        |i| matches!(i, ThreadItem::Message { body, direction: Direction::Out, author: Some(a), .. }
        if body == "We got it" && a == "rule:R")
    ));
    // An automatic reply does not answer the customer: the ticket still waits for a person.
    let summary = d.read().ticket_summary(1).unwrap().unwrap();
    assert!(summary.waiting_since.is_some());
    assert_eq!(summary.first_response_at, None);
    let rule_events: Vec<String> = events(&d, 1)
        .into_iter()
        .filter(|(_, a)| *a == Actor::Rule("R".into()))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        rule_events,
        vec![
            "assigned",
            "labelled",
            "labelled",
            "unlabelled",
            "field_set",
            "follow_up_set",
            "note_added",
            "replied"
        ]
    );
    // Rule changes are nobody's action to undo.
    assert!(d.undo(&alice(t0() + MINUTE)).is_err());
    sound(&d);
}

#[test]
fn assign_agent_unassign_close_and_spam_actions() {
    let mut d = desk_with(&rule(
        "\"ticket_created\"",
        "{ text_contains_any = \"bob\" }",
        "[ { assign_agent = \"bob\" } ]",
        "",
    ));
    d.ingest(&[msg("U1", "m1", "for bob", t0())]).unwrap();
    assert_eq!(agent_of(&d, 1).as_deref(), Some("bob"));

    let mut d = desk_with(&rule(
        "\"message_received\"",
        "{ assigned = true }",
        "[\"unassign\"]",
        "",
    ));
    d.ingest(&[msg("U1", "m1", "hi", t0())]).unwrap();
    d.assign(&alice(t0()), &[1], Some("alice"), None).unwrap();
    d.ingest(&[msg("U1", "m2", "hi", t0() + MINUTE)]).unwrap();
    assert_eq!(agent_of(&d, 1), None);

    let mut d = desk_with(&rule(
        "\"ticket_created\"",
        "{ text_contains_any = \"bye\" }",
        "\"close\"",
        "",
    ));
    d.ingest(&[msg("U1", "m1", "bye", t0())]).unwrap();
    assert_eq!(status(&d, 1), Status::Closed);
    assert_eq!(
        d.read()
            .ticket(1)
            .unwrap()
            .unwrap()
            .lifecycle
            .closed_by
            .as_deref(),
        Some("R")
    );

    let mut d = desk_with(&rule(
        "\"ticket_created\"",
        "{ text_contains_any = \"casino\" }",
        "[ { mark_spam = true } ]",
        "",
    ));
    d.ingest(&[msg("U1", "m1", "best casino", t0())]).unwrap();
    assert_eq!(status(&d, 1), Status::Spam);
    assert!(events(&d, 1).contains(&("marked_spam".into(), Actor::Rule("R".into()))));
    sound(&d);
}

#[test]
fn a_rule_closing_on_arrival_gives_the_same_result_batched_or_not() {
    let config = rule(
        "\"ticket_created\"",
        "{ text_contains_any = \"bye\" }",
        "\"close\"",
        "",
    );
    let batch = [
        msg("U1", "m1", "bye", t0()),
        msg("U1", "m2", "wait, one more thing", t0() + MINUTE),
        msg("U2", "m3", "hi", t0() + MINUTE),
    ];
    let mut together = desk_with(&config);
    together.ingest(&batch).unwrap();
    let mut apart = desk_with(&config);
    for m in &batch {
        apart.ingest(std::slice::from_ref(m)).unwrap();
    }
    for d in [&together, &apart] {
        // The second message reopened the closed ticket, as it would arriving on its own.
        assert_eq!(status(d, 1), Status::Open);
        assert_eq!(
            d.read().ticket(1).unwrap().unwrap().lifecycle.reopen_count,
            1
        );
        sound(d);
    }
    assert_eq!(
        together.read().list_tickets(&Default::default()).unwrap(),
        apart.read().list_tickets(&Default::default()).unwrap()
    );
}

#[test]
fn a_rule_closing_an_older_ticket_sends_the_next_message_where_it_would_go_alone() {
    // An agent reopened #1 while #2, newer, is closed. A rule closes #1 again: the next message
    // reopens the newest ticket, #2, whether it comes in the same batch or on its own.
    let config = format!(
        "reopen_window = \"2h\"\n{}",
        rule(
            "\"message_received\"",
            "{ text_contains_any = \"bye\" }",
            "\"close\"",
            ""
        )
    );
    let play = |batched: bool| {
        let mut d = desk_with(&config);
        d.ingest(&[msg("C1", "m1", "hello", t0())]).unwrap();
        d.close(&alice(t0() + MINUTE), &[1]).unwrap();
        d.ingest(&[msg("C1", "m2", "hello", t0() + 3 * HOUR)])
            .unwrap();
        d.close(&alice(t0() + 3 * HOUR + MINUTE), &[2]).unwrap();
        d.reopen(&alice(t0() + 3 * HOUR + 2 * MINUTE), &[1])
            .unwrap();
        let batch = [
            msg("C1", "m3", "bye", t0() + 3 * HOUR + 3 * MINUTE),
            msg("C1", "m4", "hello", t0() + 3 * HOUR + 4 * MINUTE),
        ];
        if batched {
            d.ingest(&batch).unwrap();
        } else {
            for m in &batch {
                d.ingest(std::slice::from_ref(m)).unwrap();
            }
        }
        sound(&d);
        d.read()
            .list_tickets(&Default::default())
            .unwrap()
            .into_iter()
            .map(|t| (t.number, t.status, t.messages, t.reopen_count))
            .collect::<Vec<_>>()
    };
    let alone = play(false);
    assert_eq!(
        alone,
        [(2, Status::Open, 2, 1), (1, Status::Closed, 2, 1)],
        "one at a time"
    );
    assert_eq!(play(true), alone, "in one batch");
}

#[test]
fn a_contact_name_test_sees_the_name_the_contact_had_at_each_message_batched_or_not() {
    let config = rule(
        "\"message_received\"",
        "{ all = [ { contact_name_contains = \"vip\" }, { text_contains_any = \"first\" } ] }",
        "{ add_label = \"vip\" }",
        "",
    );
    let batch = [
        Inbound {
            display_name: None,
            ..msg("U1", "m1", "first", t0())
        },
        Inbound {
            display_name: Some("VIP Ann".into()),
            ..msg("U1", "m2", "second", t0() + MINUTE)
        },
    ];
    let mut together = desk_with(&config);
    together.ingest(&batch).unwrap();
    let mut apart = desk_with(&config);
    for m in &batch {
        apart.ingest(std::slice::from_ref(m)).unwrap();
    }
    for d in [&together, &apart] {
        // The first message came from "U1", not yet from "VIP Ann".
        assert_eq!(d.read().labels(1).unwrap(), Vec::<String>::new());
    }
}

#[test]
fn rule_actions_do_not_trigger_rules() {
    // A rule closes on arrival; a ticket_closed rule must not hear it. An agent's close it hears.
    let config = format!(
        "{TEAM}\n[[rules]]\nname = \"closer\"\non = \"ticket_created\"\nif = {{ text_contains_any = \"bye\" }}\nthen = \"close\"\n\
         [[rules]]\nname = \"on close\"\non = \"ticket_closed\"\nthen = {{ add_label = \"hit\" }}\n"
    );
    let mut d = desk_with(&config);
    d.ingest(&[msg("U1", "m1", "bye", t0()), msg("U2", "m2", "hello", t0())])
        .unwrap();
    assert_eq!(status(&d, 1), Status::Closed);
    assert!(labels(&d, 1).is_empty(), "a rule's close ran another rule");
    d.close(&alice(t0() + MINUTE), &[2]).unwrap();
    assert_eq!(labels(&d, 2), vec!["hit"]);
    assert!(events(&d, 2).contains(&("labelled".into(), Actor::Rule("on close".into()))));
    // The agent's undo takes back the close only, not the rule's label.
    d.undo(&alice(t0() + 2 * MINUTE)).unwrap();
    assert_eq!(status(&d, 2), Status::Open);
    assert_eq!(labels(&d, 2), vec!["hit"]);
    sound(&d);
}

#[test]
fn stop_ends_processing_and_once_per_ticket_fires_once() {
    let config = format!(
        "{TEAM}\n[[rules]]\nname = \"first\"\non = \"message_received\"\nif = {{ text_contains_any = \"stop\" }}\nthen = {{ add_label = \"hit\" }}\nstop = true\n\
         [[rules]]\nname = \"second\"\non = \"message_received\"\nthen = {{ add_label = \"other\" }}\n\
         [[rules]]\nname = \"once\"\non = \"message_received\"\nthen = {{ add_note = \"first message\" }}\nonce_per_ticket = true\n"
    );
    let mut d = desk_with(&config);
    d.ingest(&[msg("U1", "m1", "stop here", t0())]).unwrap();
    assert_eq!(labels(&d, 1), vec!["hit"]);
    d.ingest(&[msg("U2", "m2", "go on", t0())]).unwrap();
    assert_eq!(labels(&d, 2), vec!["other"]);
    d.ingest(&[
        msg("U2", "m3", "more", t0() + MINUTE),
        msg("U2", "m4", "more", t0() + 2 * MINUTE),
    ])
    .unwrap();
    d.ingest(&[msg("U2", "m5", "more", t0() + 3 * MINUTE)])
        .unwrap();
    let notes = events(&d, 2)
        .iter()
        .filter(|(k, _)| k == "note_added")
        .count();
    assert_eq!(notes, 1, "once_per_ticket fired more than once");
    // The stopped ticket never got the once-per-ticket note.
    assert!(!events(&d, 1).iter().any(|(k, _)| k == "note_added"));
}

#[test]
fn once_per_ticket_remembers_a_firing_that_changed_nothing_and_one_that_journalled() {
    let config = format!(
        "{TEAM}\n[[rules]]\nname = \"early\"\non = \"message_received\"\nif = {{ text_contains_any = \"vip\" }}\nthen = {{ add_label = \"hit\" }}\n\
         [[rules]]\nname = \"tag\"\non = \"message_received\"\nthen = {{ add_label = \"hit\" }}\nonce_per_ticket = true\n"
    );
    let mut d = desk_with(&config);
    // #1: "tag" puts the label on, and its journal line records the firing. #2: "early" put it
    // on first, so the firing changes nothing and needs a record of its own.
    d.ingest(&[msg("U1", "m1", "hello", t0())]).unwrap();
    d.ingest(&[msg("U2", "m2", "vip here", t0())]).unwrap();
    {
        let sql = d.read();
        assert_eq!(sql.rule_fired_at(1, "tag", false).unwrap(), None);
        assert_eq!(sql.rule_fired_at(1, "tag", true).unwrap(), Some(t0()));
        assert_eq!(sql.rule_fired_at(2, "tag", false).unwrap(), Some(t0()));
        assert_eq!(sql.rule_fired_at(2, "tag", true).unwrap(), Some(t0()));
    }
    // With the label taken off, neither ticket gets it back from "tag": it fired on both.
    d.label(&alice(t0()), &[1, 2], "hit", false).unwrap();
    d.ingest(&[
        msg("U1", "m3", "again", t0() + MINUTE),
        msg("U2", "m4", "again", t0() + MINUTE),
    ])
    .unwrap();
    assert!(labels(&d, 1).is_empty(), "fired twice on #1");
    assert!(labels(&d, 2).is_empty(), "fired twice on #2");
}

// ----- assignment ----------------------------------------------------------------------------

fn strategy(s: &str, agents: &str) -> String {
    format!(
        "labels = [\"hit\"]\n[[teams]]\nname = \"support\"\ndrain_backlog = true\n{agents}\n\
         [[rules]]\nname = \"route\"\non = [\"ticket_created\", \"ticket_reopened\"]\n\
         then = [ {{ assign_team = \"support\", strategy = \"{s}\" }} ]\n"
    )
}

const THREE: &str = "[[agents]]\nhandle = \"alice\"\nteams = [\"support\"]\n\
    [[agents]]\nhandle = \"bob\"\nteams = [\"support\"]\n\
    [[agents]]\nhandle = \"carol\"\nteams = [\"support\"]\n";

fn customers(n: usize, at: i64) -> Vec<Inbound> {
    (0..n)
        .map(|i| msg(&format!("C{i}"), &format!("c{i}"), "hi", at + i as i64))
        .collect()
}

#[test]
fn round_robin_over_three_agents_gives_thirty_tickets_ten_each_in_strict_turn() {
    let mut d = desk_with(&strategy("round_robin", THREE));
    // In batches of different sizes: the rotation does not depend on batching.
    let all = customers(30, t0());
    for chunk in [&all[..7], &all[7..8], &all[8..30]] {
        d.ingest(chunk).unwrap();
    }
    let order: Vec<String> = (1..=30).map(|n| agent_of(&d, n).unwrap()).collect();
    for (i, a) in order.iter().enumerate() {
        assert_eq!(a, ["alice", "bob", "carol"][i % 3], "ticket #{}", i + 1);
    }
    let count = |who: &str| order.iter().filter(|a| *a == who).count();
    assert_eq!((count("alice"), count("bob"), count("carol")), (10, 10, 10));
    sound(&d);
}

#[test]
fn round_robin_pointer_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tix.db");
    let settings = parse(&strategy("round_robin", THREE)).settings().unwrap();
    let mut d = Desk::new(Store::open(&path).unwrap(), settings.clone());
    d.ingest(&customers(2, t0())).unwrap();
    drop(d);
    let mut d = Desk::new(Store::open(&path).unwrap(), settings);
    d.ingest(&[msg("X", "x", "hi", t0() + MINUTE)]).unwrap();
    assert_eq!(agent_of(&d, 3).as_deref(), Some("carol"));
}

#[test]
fn least_open_picks_the_agent_with_fewest_open_tickets_ties_by_rotation() {
    let mut d = desk_with(&strategy("least_open", THREE));
    // Alice and Bob already hold two and one open tickets.
    d.ingest(&customers(3, t0() - HOUR)).unwrap();
    // The rule assigned them alice, bob, carol (all at zero, by rotation). Rebalance by hand.
    d.assign(&alice(t0()), &[3], Some("alice"), None).unwrap();
    // Now alice 2, bob 1, carol 0: carol, then a tie between bob and carol at 1 goes to the one
    // next in the rotation after carol (bob, since carol just got one).
    d.ingest(&customers(5, t0()).into_iter().skip(3).collect::<Vec<_>>())
        .unwrap();
    assert_eq!(agent_of(&d, 4).as_deref(), Some("carol"));
    assert_eq!(agent_of(&d, 5).as_deref(), Some("bob"));
    // Everyone has 2 open now: the rotation continues after bob.
    d.ingest(&[msg("Z", "z", "hi", t0() + HOUR)]).unwrap();
    assert_eq!(agent_of(&d, 6).as_deref(), Some("carol"));
    sound(&d);
}

#[test]
fn open_counts_kept_between_batches_are_read_again_after_another_inbox_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tix.db");
    let settings = parse(&strategy("least_open", THREE)).settings().unwrap();
    let mut d = Desk::new(Store::open(&path).unwrap(), settings.clone());
    // alice, bob and carol get one open ticket each.
    d.ingest(&customers(3, t0() - HOUR)).unwrap();
    assert_eq!(agent_of(&d, 2).as_deref(), Some("bob"));
    // Another inbox on the same file closes bob's: alice 1, bob 0, carol 1.
    let mut other = Desk::new(Store::open(&path).unwrap(), settings);
    other.close(&alice(t0()), &[2]).unwrap();
    // Counts kept from the first batch (1, 1, 1) would give alice, next in the rotation.
    d.ingest(&[msg("Z", "z", "hi", t0() + HOUR)]).unwrap();
    assert_eq!(agent_of(&d, 4).as_deref(), Some("bob"));
    sound(&d);
}

#[test]
fn last_handler_returns_the_contact_to_their_previous_agent_if_eligible() {
    let config = format!(
        "[[teams]]\nname = \"support\"\n{THREE}\n[[rules]]\nname = \"back\"\non = \"ticket_created\"\n\
         then = {{ assign_team = \"support\", strategy = \"last_handler\", otherwise = \"round_robin\" }}\n"
    );
    let mut d = desk_with(&config);
    d.ingest(&[msg("U1", "m1", "hi", t0())]).unwrap();
    assert_eq!(
        agent_of(&d, 1).as_deref(),
        Some("alice"),
        "no history: rotation"
    );
    d.assign(&alice(t0()), &[1], Some("carol"), None).unwrap();
    d.close(&alice(t0() + MINUTE), &[1]).unwrap();
    // Two days later (past the reopen window) the same customer writes: back to carol.
    d.ingest(&[msg("U1", "m2", "hi again", t0() + 48 * HOUR)])
        .unwrap();
    assert_eq!(agent_of(&d, 2).as_deref(), Some("carol"));
    sound(&d);
}

#[test]
fn last_handler_away_falls_back_and_says_why() {
    let agents = THREE.replace(
        "handle = \"carol\"\nteams = [\"support\"]\n",
        "handle = \"carol\"\nteams = [\"support\"]\naway = true\n",
    );
    let config = format!(
        "[[teams]]\nname = \"support\"\n{agents}\n[[rules]]\nname = \"back\"\non = \"ticket_created\"\n\
         then = {{ assign_team = \"support\", strategy = \"last_handler\", otherwise = \"round_robin\" }}\n"
    );
    let mut d = desk_with(&config);
    d.ingest(&[msg("U1", "m1", "hi", t0())]).unwrap();
    d.assign(&alice(t0()), &[1], Some("carol"), None).unwrap();
    d.close(&alice(t0() + MINUTE), &[1]).unwrap();
    let (_, traces) = d
        .ingest_dry_run(&[msg("U1", "m2", "hi again", t0() + 48 * HOUR)])
        .unwrap();
    let text = tix::rules::trace::render(&traces);
    assert!(
        text.contains("carol handled this contact before but is away"),
        "{text}"
    );
    assert!(text.contains("carol: is away"), "{text}");
    d.ingest(&[msg("U1", "m2", "hi again", t0() + 48 * HOUR)])
        .unwrap();
    assert_ne!(agent_of(&d, 2).as_deref(), Some("carol"));
    assert!(agent_of(&d, 2).is_some());
}

#[test]
fn capacity_away_and_channel_access_decide_eligibility_and_nobody_leaves_the_team_queue() {
    let agents = "[[agents]]\nhandle = \"alice\"\nteams = [\"support\"]\nmax_open = 2\n\
        [[agents]]\nhandle = \"bob\"\nteams = [\"support\"]\naway = true\n\
        [[agents]]\nhandle = \"carol\"\nteams = [\"support\"]\nchannels = [\"shopee\"]\n";
    let mut d = desk_with(&strategy("round_robin", agents));
    d.ingest(&customers(3, t0())).unwrap();
    assert_eq!(agent_of(&d, 1).as_deref(), Some("alice"));
    assert_eq!(agent_of(&d, 2).as_deref(), Some("alice"));
    // Alice is full, Bob away, Carol has no LINE: the third waits in the support queue.
    assert_eq!(agent_of(&d, 3), None);
    assert_eq!(team_of(&d, 3).as_deref(), Some("support"));
    // A Shopee customer goes to carol.
    d.ingest(&[on(ChannelKind::Shopee, msg("S1", "s1", "hi", t0()))])
        .unwrap();
    assert_eq!(agent_of(&d, 4).as_deref(), Some("carol"));
    // The explanation names each reason.
    let (_, traces) = d
        .ingest_dry_run(&[msg("NEW", "n1", "hi", t0() + MINUTE)])
        .unwrap();
    let text = tix::rules::trace::render(&traces);
    for why in [
        "alice: is at capacity: 2 open (max 2)",
        "bob: is away",
        "carol: has no access to line",
        "nobody in support is available: the ticket waits in the support queue",
    ] {
        assert!(text.contains(why), "missing {why:?} in\n{text}");
    }
    // The dry run wrote nothing.
    assert_eq!(d.read().totals().unwrap().open, 4);
    // Closing one of alice's frees capacity: the team drains its backlog to her.
    d.close(&alice(t0() + HOUR), &[1]).unwrap();
    assert_eq!(agent_of(&d, 3).as_deref(), Some("alice"));
    assert!(events(&d, 3).contains(&("assigned".into(), Actor::Rule("support backlog".into()))));
    sound(&d);
}

#[test]
fn working_hours_are_checked_on_each_agents_own_clock_across_time_zones() {
    let agents = "[[agents]]\nhandle = \"somchai\"\nteams = [\"support\"]\n\
        hours = { tz = \"Asia/Bangkok\", mon_fri = \"09:00-18:00\" }\n\
        [[agents]]\nhandle = \"nancy\"\nteams = [\"support\"]\n\
        hours = { tz = \"America/New_York\", mon_fri = \"09:00-17:00\" }\n";
    let at = |s: &str| time::parse_time(s).unwrap();
    let cases = [
        // 01:30 UTC Fri: 08:30 Bangkok (not yet), 20:30 Thu New York (gone): nobody.
        ("2026-11-20T01:30:00Z", None),
        // 02:00 UTC Fri: 09:00 Bangkok.
        ("2026-11-20T02:00:00Z", Some("somchai")),
        // 14:30 UTC Fri: 21:30 Bangkok (gone), 09:30 New York.
        ("2026-11-20T14:30:00Z", Some("nancy")),
        // 01:00 UTC Sat: Sat 08:00 Bangkok, but still Fri 20:00 in New York: nobody.
        ("2026-11-21T01:00:00Z", None),
        // 21:30 UTC Fri: Sat 04:30 Bangkok (weekend), Fri 16:30 New York.
        ("2026-11-20T21:30:00Z", Some("nancy")),
    ];
    for (when, want) in cases {
        let mut d = desk_with(&strategy("round_robin", agents));
        d.ingest(&[msg("U1", "m1", "hi", at(when))]).unwrap();
        assert_eq!(agent_of(&d, 1).as_deref(), want, "at {when}");
    }
}

#[test]
fn routing_is_reproducible_with_a_fixed_clock() {
    let config = format!("{}\n", strategy("least_open", THREE));
    let run = || {
        let mut d = desk_with(&config);
        let all: Vec<Inbound> = (0..60)
            .map(|i| {
                msg(
                    &format!("C{}", i % 23),
                    &format!("m{i}"),
                    "hi",
                    t0() + i * MINUTE,
                )
            })
            .collect();
        for chunk in all.chunks(9) {
            d.ingest(chunk).unwrap();
        }
        d.close(&alice(t0() + 2 * HOUR), &[2, 5, 7]).unwrap();
        d.ingest(&customers(10, t0() + 3 * HOUR)).unwrap();
        d.read().list_tickets(&Default::default()).unwrap()
    };
    assert_eq!(run(), run());
}

// ----- timers --------------------------------------------------------------------------------

#[test]
fn idle_timer_fires_once_per_quiet_stretch_at_a_fixed_clock() {
    let config = rule("{ idle = \"2h\" }", "", "[ { add_note = \"chase\" } ]", "");
    let mut d = desk_with(&config);
    d.ingest(&[
        msg("U1", "m1", "hi", t0()),
        reply("U1", "r1", t0() + MINUTE),
    ])
    .unwrap();
    // Not yet idle for two hours.
    assert_eq!(d.tick(t0() + HOUR).unwrap().fired, 0);
    assert_eq!(d.tick(t0() + 2 * HOUR + MINUTE).unwrap().fired, 1);
    // Not again for the same quiet stretch.
    assert_eq!(d.tick(t0() + 5 * HOUR).unwrap().fired, 0);
    // The customer writes, an agent answers: a new stretch.
    d.ingest(&[
        msg("U1", "m2", "and?", t0() + 6 * HOUR),
        reply("U1", "r2", t0() + 6 * HOUR + MINUTE),
    ])
    .unwrap();
    assert_eq!(d.tick(t0() + 7 * HOUR).unwrap().fired, 0);
    assert_eq!(d.tick(t0() + 9 * HOUR).unwrap().fired, 1);
    // A ticket still waiting for an agent is not idle.
    d.ingest(&[msg("U2", "w1", "hello?", t0())]).unwrap();
    assert_eq!(d.tick(t0() + 20 * HOUR).unwrap().fired, 0);
    let notes = events(&d, 1)
        .iter()
        .filter(|(k, _)| k == "note_added")
        .count();
    assert_eq!(notes, 2);
}

#[test]
fn unassigned_for_timer_and_auto_close() {
    let config = format!(
        "{TEAM}\n[timers]\nauto_close = \"3d\"\n\
         [[rules]]\nname = \"waiting\"\non = {{ unassigned_for = \"30m\" }}\nthen = {{ assign_team = \"support\" }}\n"
    );
    let mut d = desk_with(&config);
    d.ingest(&[
        msg("U1", "m1", "hi", t0()),
        msg("U2", "m2", "hi", t0() + 20 * MINUTE),
    ])
    .unwrap();
    let r = d.tick(t0() + 40 * MINUTE).unwrap();
    assert_eq!(r.fired, 1);
    assert_eq!(agent_of(&d, 1).as_deref(), Some("alice"));
    assert_eq!(agent_of(&d, 2), None);
    assert_eq!(d.tick(t0() + 51 * MINUTE).unwrap().fired, 1);
    assert_eq!(agent_of(&d, 2).as_deref(), Some("bob"));
    // Auto-close: answered tickets the customer left alone for three days.
    d.ingest(&[reply("U1", "r1", t0() + HOUR)]).unwrap();
    assert_eq!(d.tick(t0() + 2 * 24 * HOUR).unwrap().auto_closed, 0);
    assert_eq!(
        d.tick(t0() + 3 * 24 * HOUR + 2 * HOUR).unwrap().auto_closed,
        1
    );
    assert_eq!(status(&d, 1), Status::Closed);
    assert_eq!(status(&d, 2), Status::Open, "never answered: not closed");
    assert!(events(&d, 1).contains(&("closed".into(), Actor::Rule("auto-close".into()))));
    sound(&d);
}

#[test]
fn tick_hands_the_backlog_to_an_agent_back_from_away() {
    let away = "[[agents]]\nhandle = \"alice\"\nteams = [\"support\"]\naway = true\n";
    let back = "[[agents]]\nhandle = \"alice\"\nteams = [\"support\"]\nmax_open = 2\n";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let mut d = Desk::new(
        Store::open(&path).unwrap(),
        parse(&strategy("round_robin", away)).settings().unwrap(),
    );
    d.ingest(&customers(3, t0())).unwrap();
    assert_eq!(agent_of(&d, 1), None, "alice is away: the tickets wait");
    assert_eq!(d.tick(t0() + MINUTE).unwrap().handed, 0);
    drop(d);
    // The config is edited (alice is back); the next tick hands her the oldest two.
    let mut d = Desk::new(
        Store::open(&path).unwrap(),
        parse(&strategy("round_robin", back)).settings().unwrap(),
    );
    assert_eq!(d.tick(t0() + HOUR).unwrap().handed, 2);
    assert_eq!(agent_of(&d, 1).as_deref(), Some("alice"));
    assert_eq!(agent_of(&d, 2).as_deref(), Some("alice"));
    assert_eq!(agent_of(&d, 3), None);
    sound(&d);
}

// ----- explanation ---------------------------------------------------------------------------

#[test]
fn dry_run_explains_each_rule_and_writes_nothing() {
    let mut d = parse(tix::config::EXAMPLE)
        .settings()
        .map(|s| Desk::new(Store::open_in_memory().unwrap(), s))
        .unwrap();
    let (report, traces) = d
        .ingest_dry_run(&[msg("U1", "m1", "I want a refund", t0())])
        .unwrap();
    assert_eq!(report.tickets_created, 1);
    let text = tix::rules::trace::render(&traces);
    assert!(text.contains("✓ \"Refunds to billing\": matched"), "{text}");
    assert!(text.contains("✓ message contains \"refund\""), "{text}");
    assert!(
        text.contains("→ assign to team billing by least_open: done"),
        "{text}"
    );
    assert!(
        text.contains("not run, an earlier rule said stop"),
        "{text}"
    );
    assert_eq!(d.read().totals().unwrap().messages, 0);
}

// ----- properties ----------------------------------------------------------------------------

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Rules that close, mark spam, reassign, label and reply on every kind of event.
    fn busy_rules() -> String {
        format!(
            "{TEAM}\n[timers]\nauto_close = \"6h\"\n\
             [[rules]]\nname = \"spam\"\non = \"ticket_created\"\nif = {{ text_contains_any = \"casino\" }}\nthen = \"mark_spam\"\nstop = true\n\
             [[rules]]\nname = \"bye\"\non = \"message_received\"\nif = {{ text_contains_any = \"bye\" }}\nthen = [\"close\"]\n\
             [[rules]]\nname = \"route\"\non = [\"ticket_created\", \"ticket_reopened\"]\nthen = {{ assign_team = \"support\", strategy = \"least_open\" }}\n\
             [[rules]]\nname = \"ack\"\non = \"message_received\"\nif = {{ agent_replies = 0 }}\nthen = [ {{ auto_reply = \"got it\" }}, {{ add_label = \"hit\" }} ]\nonce_per_ticket = true\n\
             [[rules]]\nname = \"where\"\non = \"message_received\"\nif = {{ all = [ {{ text_contains_any = \"where\" }}, {{ label = \"hit\" }} ] }}\nthen = [ {{ follow_up = true }}, {{ set_field = {{ priority = \"high\" }} }}, {{ remove_label = \"hit\" }}, {{ add_label = \"other\" }} ]\n\
             [[rules]]\nname = \"urgent\"\non = \"message_received\"\nif = {{ not = {{ label = \"hit\" }} }}\nthen = [ {{ add_label = \"urgent\" }}, {{ set_field = {{ priority = \"low\" }} }} ]\nonce_per_ticket = true\n\
             [[rules]]\nname = \"closed\"\non = \"ticket_closed\"\nthen = [ {{ remove_label = \"hit\" }}, \"unassign\" ]\n\
             [[rules]]\nname = \"idle\"\non = {{ idle = \"1h\" }}\nthen = \"close\"\n"
        )
    }

    #[derive(Debug, Clone)]
    enum Step {
        Arrive(Vec<(usize, usize, bool)>),
        Close(i64),
        Reopen(i64),
        Spam(i64),
        Tick,
    }

    const TEXTS: [&str; 4] = ["hello", "bye now", "casino", "where is it"];

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            4 => prop::collection::vec((0..5usize, 0..TEXTS.len(), any::<bool>()), 1..8)
                .prop_map(Step::Arrive),
            1 => (1..12i64).prop_map(Step::Close),
            1 => (1..12i64).prop_map(Step::Reopen),
            1 => (1..12i64).prop_map(Step::Spam),
            1 => Just(Step::Tick),
        ]
    }

    /// The message as an agent's reply from bob.
    fn from_bob(m: Inbound) -> Inbound {
        Inbound {
            direction: Direction::Out,
            agent: Some("bob".into()),
            ..m
        }
    }

    /// Two desks with `rules`: one took `batch` at once, the other message by message.
    fn batched_and_one_by_one(rules: &str, batch: &[Inbound]) -> (Desk, Desk) {
        let mut batched = desk_with(rules);
        batched.ingest(batch).unwrap();
        let mut single = desk_with(rules);
        for m in batch {
            single.ingest(std::slice::from_ref(m)).unwrap();
        }
        (batched, single)
    }

    /// Plays the steps; arrivals go in as one batch or one by one.
    fn play(steps: &[Step], batched: bool) -> Desk {
        let mut d = desk_with(&busy_rules());
        let mut at = t0();
        let mut id = 0;
        for s in steps {
            at += 20 * MINUTE;
            match s {
                Step::Arrive(ms) => {
                    let batch: Vec<Inbound> = ms
                        .iter()
                        .map(|&(who, text, out)| {
                            id += 1;
                            at += 1_000;
                            let m = msg(&format!("C{who}"), &format!("m{id}"), TEXTS[text], at);
                            if out { from_bob(m) } else { m }
                        })
                        .collect();
                    if batched {
                        d.ingest(&batch).unwrap();
                    } else {
                        for m in &batch {
                            d.ingest(std::slice::from_ref(m)).unwrap();
                        }
                    }
                }
                // Refusals are fine; breaking an invariant is not.
                Step::Close(n) => drop(d.close(&alice(at), &[*n])),
                Step::Reopen(n) => drop(d.reopen(&alice(at), &[*n])),
                Step::Spam(n) => drop(d.mark_spam(&alice(at), &[*n])),
                Step::Tick => drop(d.tick(at).unwrap()),
            }
            assert_eq!(
                d.read().invariant_violations().unwrap(),
                Vec::<String>::new(),
                "after {s:?}"
            );
        }
        d
    }

    /// Per ticket: follow-up, labels, fields, rules fired, and the journal in order (kind, actor,
    /// time and payload; a reply's payload names a message row, which batching may number
    /// differently).
    fn everything_rules_did(d: &Desk) -> Vec<String> {
        let sql = d.read();
        let routing = d.settings().routing.as_ref().expect("rules are loaded");
        let mut out = Vec::new();
        let mut conversations = Vec::new();
        for t in sql.list_tickets(&Default::default()).unwrap() {
            let n = t.number;
            let ticket = sql.ticket(n).unwrap().unwrap();
            out.push(format!(
                "#{n}: follow_up={} labels={:?} fields={:?} fired={:?}",
                ticket.follow_up,
                sql.labels(n).unwrap(),
                sql.fields(n).unwrap(),
                routing
                    .rules
                    .iter()
                    .map(|r| sql.rule_fired_at(n, &r.name, r.once_per_ticket).unwrap())
                    .collect::<Vec<_>>()
            ));
            if !conversations.contains(&ticket.conversation_id) {
                conversations.push(ticket.conversation_id);
            }
        }
        conversations.sort();
        for c in conversations {
            for item in sql.thread(c).unwrap() {
                if let ThreadItem::Event {
                    ticket,
                    kind,
                    actor,
                    payload,
                    at,
                    ..
                } = item
                {
                    let payload = if payload["change"] == "reply" {
                        String::new()
                    } else {
                        payload.to_string()
                    };
                    out.push(format!("#{ticket} {kind} by {actor:?} at {at}: {payload}"));
                }
            }
        }
        out
    }

    /// A batch this large is read for the rules on a second thread while its messages are
    /// stored (small ones, as in the property below, are read as they are stored): it still does
    /// what its messages do one by one.
    #[test]
    fn a_large_batch_read_on_a_second_thread_does_what_its_messages_do_one_by_one() {
        let mut at = t0();
        let batch: Vec<Inbound> = (0..700)
            .map(|i| {
                at += 1_000;
                // Each conversation mixes texts and has agents' replies among its messages.
                let m = msg(
                    &format!("C{}", i % 40),
                    &format!("m{i}"),
                    TEXTS[(i * 7 + i / 40) % TEXTS.len()],
                    at,
                );
                if i % 7 == 3 { from_bob(m) } else { m }
            })
            .collect();
        let (batched, single) = batched_and_one_by_one(&busy_rules(), &batch);
        let tickets = batched.read().list_tickets(&Default::default()).unwrap();
        let totals = batched.read().totals().unwrap();
        assert!(
            totals.closed > 0 && totals.spam > 0,
            "the rules closed tickets and marked spam: {totals:?}"
        );
        assert_eq!(
            tickets,
            single.read().list_tickets(&Default::default()).unwrap()
        );
        assert_eq!(
            everything_rules_did(&batched),
            everything_rules_did(&single)
        );
        assert!(batched.read().invariant_violations().unwrap().is_empty());
    }

    /// A batch that leaves hundreds of journal lines in one write (sorted by time, each ticket's
    /// lines in their order) journals what its messages do when each comes alone.
    #[test]
    fn a_batch_with_hundreds_of_journal_lines_journals_what_its_messages_do_one_by_one() {
        let rules = format!(
            "{TEAM}\n\
             [[rules]]\nname = \"route\"\non = \"ticket_created\"\nthen = [ {{ assign_team = \"support\", strategy = \"round_robin\" }}, {{ add_label = \"other\" }}, {{ set_field = {{ priority = \"high\" }} }} ]\n\
             [[rules]]\nname = \"where\"\non = \"message_received\"\nif = {{ text_contains_any = \"where\" }}\nthen = {{ add_label = \"hit\" }}\nonce_per_ticket = true\n"
        );
        let mut at = t0();
        let batch: Vec<Inbound> = (0..400)
            .map(|i| {
                at += 1_000;
                msg(
                    &format!("C{}", i % 300),
                    &format!("m{i}"),
                    TEXTS[i % TEXTS.len()],
                    at,
                )
            })
            .collect();
        let (batched, single) = batched_and_one_by_one(&rules, &batch);
        let did = everything_rules_did(&batched);
        assert!(did.len() > 900, "hundreds of lines: {}", did.len());
        assert_eq!(did, everything_rules_did(&single));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        #[test]
        fn rule_actions_never_break_the_lifecycle_and_do_not_depend_on_batching(
            steps in prop::collection::vec(step(), 1..14)
        ) {
            let batched = play(&steps, true);
            let single = play(&steps, false);
            prop_assert_eq!(
                batched.read().list_tickets(&Default::default()).unwrap(),
                single.read().list_tickets(&Default::default()).unwrap()
            );
            prop_assert_eq!(everything_rules_did(&batched), everything_rules_did(&single));
        }
    }
}

#[test]
fn when_nobody_can_take_a_ticket_the_journal_says_why_each_agent_was_passed_over() {
    let agents = "[[agents]]\nhandle = \"alice\"\nteams = [\"support\"]\naway = true\n\
        [[agents]]\nhandle = \"bob\"\nteams = [\"support\"]\nchannels = [\"shopee\"]\n";
    let mut d = desk_with(&strategy("round_robin", agents));
    d.ingest(&[msg("U1", "m1", "hi", t0())]).unwrap();
    assert_eq!(team_of(&d, 1).as_deref(), Some("support"));
    assert_eq!(agent_of(&d, 1), None);
    let t = d.read().ticket(1).unwrap().unwrap();
    let why = d
        .read()
        .thread(t.conversation_id)
        .unwrap()
        .into_iter()
        .find_map(|i| match i {
            ThreadItem::Event {
                kind,
                actor,
                payload,
                ..
            } if kind == "no_agent_available" => Some((actor, payload)),
            _ => None,
        })
        .expect("a journal line saying why");
    assert_eq!(why.0, Actor::Rule("route".into()));
    assert_eq!(why.1["team"], "support");
    assert_eq!(
        why.1["why"],
        serde_json::json!([
            "alice: is away",
            "bob: has no access to line",
            "nobody in support is available: the ticket waits in the support queue"
        ])
    );
}

#[test]
fn required_fields_hold_back_an_agents_close_but_not_a_rules() {
    let mut d = desk_with(
        r#"
[[fields]]
name = "Resolution"
values = ["Answered", "Refunded"]
required = true
[[fields]]
name = "Amount"
type = "number"
[[fields]]
name = "Summary"
[[rules]]
name = "Close thank-yous"
on = ["ticket_created"]
if = { text_contains_any = ["thank you"] }
then = [ { close = true } ]
"#,
    );
    d.ingest(&[
        msg("U1", "m1", "where is my order", t0()),
        msg("U2", "m2", "and mine?", t0()),
        msg("U3", "m3", "thank you so much", t0()),
    ])
    .unwrap();
    // The rule closed #3 although its Resolution is empty.
    assert_eq!(status(&d, 3), Status::Closed);
    let why = d.close(&alice(t0() + HOUR), &[1]).unwrap_err().to_string();
    assert!(
        why.contains("#1 needs Resolution before it is closed"),
        "{why}"
    );
    assert_eq!(status(&d, 1), Status::Open);
    // Values are checked against the field's type, and stored as the config spells them.
    let bad = d
        .set_field(&alice(t0() + HOUR), &[1], "resolution", "shrug")
        .unwrap_err()
        .to_string();
    assert!(bad.contains("\"Answered\", \"Refunded\""), "{bad}");
    assert!(
        d.set_field(&alice(t0() + HOUR), &[1], "Amount", "ten")
            .is_err()
    );
    d.set_field(&alice(t0() + HOUR), &[1], "resolution", "answered")
        .unwrap();
    assert_eq!(
        d.read().field(1, "Resolution").unwrap().as_deref(),
        Some("Answered")
    );
    // A bulk close closes what it can and names what held the rest back.
    let done = d.close(&alice(t0() + 2 * HOUR), &[1, 2]).unwrap();
    assert_eq!(done.changed, vec![1]);
    assert!(
        done.skipped[0].contains("#2 needs Resolution"),
        "{:?}",
        done.skipped
    );
    sound(&d);
}

#[test]
fn field_types_are_checked_at_load_with_their_place() {
    let err = |text: &str| {
        Config::parse(text, Path::new("f.toml"))
            .unwrap_err()
            .to_string()
    };
    let e = err("[[fields]]\nname = \"Due\"\ntype = \"dat\"\n");
    assert!(
        e.starts_with("f.toml:3:8: unknown field type \"dat\" (did you mean \"date\"?)"),
        "{e}"
    );
    let e = err("[[fields]]\nname = \"Size\"\ntype = \"number\"\nvalues = [\"S\"]\n");
    assert!(e.starts_with("f.toml:4:"), "{e}");
    // No [[fields]]: the defaults.
    let c = parse("me = \"alice\"\n");
    let names: Vec<String> = c
        .field_defs()
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(
        names,
        [
            "Summary",
            "Enquiry Type",
            "Resolution",
            "Priority",
            "Product Enquired"
        ]
    );
}
