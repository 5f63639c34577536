//! `tix rules check`, `tix rules test`, `tix tick` and the rules on `tix import`, through the real
//! binary with `TIX_DB`, `TIX_CONFIG` and `TIX_NOW` set, every other `TIX_*` variable removed and
//! `TZ=UTC`, so every time in the output is exact.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{Value, json};
use tempfile::TempDir;

mod support;

/// Friday 10:00 in Bangkok.
const NOW: &str = "2026-11-20T03:00:00Z";

const CONFIG: &str = r#"me = "alice"
labels = ["refund", "chased"]
[[teams]]
name = "support"
[[teams]]
name = "billing"
[[agents]]
handle = "alice"
teams = ["support", "billing"]
[[agents]]
handle = "bob"
teams = ["support"]
[[agents]]
handle = "carol"
teams = ["support", "billing"]
away = true

[[rules]]
name = "Refunds to billing"
on = "ticket_created"
if = { text_contains_any = ["refund", "คืนเงิน"] }
then = [ { assign_team = "billing", strategy = "least_open" }, { add_label = "refund" } ]
stop = true

[[rules]]
name = "Everyone else"
on = "ticket_created"
then = { assign_team = "support" }

[[rules]]
name = "Chase"
on = { idle = "1d" }
then = [ { add_label = "chased" }, { auto_reply = "Anything else we can do?" } ]
"#;

struct Tix {
    dir: TempDir,
}

impl Tix {
    fn new(config: &str) -> Tix {
        let dir = tempfile::Builder::new()
            .prefix("tix-rules-")
            .tempdir()
            .unwrap();
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        Tix { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn cmd_at(&self, now: &str) -> Command {
        support::tix_in(self.dir.path(), now)
    }

    fn ok_at(&self, now: &str, args: &[&str]) -> String {
        let out = self.cmd_at(now).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "tix {args:?} failed\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        self.ok_at(NOW, args)
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.cmd_at(NOW).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "tix {args:?} should fail");
        String::from_utf8(out.stderr).unwrap()
    }

    fn import(&self, lines: &[Value]) -> String {
        let file = self.path("in.jsonl");
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(&file, text).unwrap();
        self.ok(&["import", file.to_str().unwrap()])
    }

    fn tickets(&self) -> Vec<Value> {
        serde_json::from_str(&self.ok(&["tickets", "list", "--status", "all", "--json"])).unwrap()
    }
}

fn msg(from: &str, id: &str, at: &str, text: &str) -> Value {
    json!({"channel": "line", "from": from, "name": format!("Customer {from}"), "id": id,
           "at": at, "text": text})
}

#[test]
fn rules_check_lists_the_rules_of_a_valid_file() {
    let tix = Tix::new(CONFIG);
    let out = tix.ok(&["rules", "check"]);
    assert!(out.contains(": ok: 3 agents, 2 teams, 3 rules"), "{out}");
    assert!(
        out.contains("1. Refunds to billing (on ticket_created): assign to team billing by least_open, add label \"refund\" [stops]"),
        "{out}"
    );
    assert!(out.contains("3. Chase (on idle for 1d)"), "{out}");
    let out = tix.ok(&["config", "check"]);
    assert!(out.contains(": ok (3 rules)"), "{out}");
}

#[test]
fn example_config_passes_rules_check() {
    let tix = Tix::new("");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
    let out = tix
        .cmd_at(NOW)
        .env("TIX_CONFIG", &example)
        .args(["rules", "check"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(": ok: 3 agents, 2 teams"));
}

#[test]
fn a_broken_file_stops_every_command_with_file_line_column_and_suggestion() {
    let tix = Tix::new(&CONFIG.replace(
        "then = { assign_team = \"support\" }",
        "then = { assign_agent = \"bobb\" }",
    ));
    let config = tix.path("config.toml");
    let want = format!(
        "tix: {}:28:25: unknown agent \"bobb\" (did you mean \"bob\"?)\n",
        config.display()
    );
    for args in [
        &["config", "check"][..],
        &["rules", "check"],
        &["tickets", "list"],
        &["tick"],
    ] {
        assert_eq!(tix.fails(args), want, "tix {args:?}");
    }
    assert!(!tix.path("tix.db").exists(), "nothing was opened");
}

#[test]
fn rules_test_explains_a_decision_and_writes_nothing() {
    let tix = Tix::new(CONFIG);
    let out = tix.ok(&[
        "rules",
        "test",
        "--channel",
        "line",
        "--from",
        "U1",
        "--text",
        "Refund please",
    ]);
    for want in [
        "A line message from U1 at 2026-11-20T03:00:00Z: it would start a new ticket",
        "✓ \"Refunds to billing\": matched",
        "✓ message contains \"refund\" or \"คืนเงิน\"",
        "→ assign to team billing by least_open: done",
        "alice: available, 0 open",
        "carol: is away",
        "alice has the fewest open tickets (ties go by the rotation)",
        "→ add label \"refund\": done",
        "- \"Everyone else\": not run, an earlier rule said stop",
        "(dry run: nothing was written)",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert!(tix.tickets().is_empty(), "the dry run stored a ticket");
    // A message that matches nothing says so rule by rule.
    let out = tix.ok(&["rules", "test", "--channel", "line", "--text", "hello"]);
    assert!(
        out.contains("✗ \"Refunds to billing\": conditions did not hold"),
        "{out}"
    );
    assert!(out.contains("✓ \"Everyone else\": matched"), "{out}");
}

#[test]
fn rules_test_output_cannot_drive_the_terminal() {
    let tix = Tix::new(CONFIG);
    let out = tix.ok(&[
        "rules",
        "test",
        "--channel",
        "line",
        "--from",
        "U\u{1b}[2J",
        "--text",
        "refund\u{1b}]0;owned\u{7}",
    ]);
    assert!(!out.contains('\u{1b}'), "{out:?}");
    assert!(!out.contains('\u{7}'), "{out:?}");
}

#[test]
fn imports_run_the_rules_and_round_robin_is_exact() {
    let tix = Tix::new(CONFIG);
    let lines: Vec<Value> = (0..30)
        .map(|i| {
            msg(
                &format!("C{i}"),
                &format!("m{i}"),
                &format!("2026-11-20T02:{i:02}:00Z"),
                "hello",
            )
        })
        .collect();
    tix.import(&lines);
    let tickets = tix.tickets();
    let count = |who: &str| tickets.iter().filter(|t| t["assignee"] == who).count();
    // Carol is away: alice and bob share the 30.
    assert_eq!((count("alice"), count("bob"), count("carol")), (15, 15, 0));
    assert!(tickets.iter().all(|t| t["team"] == "support"));
    // The journal names the rule.
    let show: Value = serde_json::from_str(&tix.ok(&["ticket", "show", "1", "--json"])).unwrap();
    let by_rule = show["thread"].as_array().unwrap().iter().any(|i| {
        i["kind"] == "assigned" && i["actor"] == json!({"kind": "rule", "name": "Everyone else"})
    });
    assert!(by_rule, "{show:#}");
}

#[test]
fn replay_counts_what_each_rule_would_do_without_writing() {
    let tix = Tix::new("me = \"alice\"\n");
    let mut lines: Vec<Value> = (0..12)
        .map(|i| {
            msg(
                &format!("C{i}"),
                &format!("m{i}"),
                &format!("2026-11-19T0{}:00:00Z", i % 10),
                if i % 3 == 0 { "refund?" } else { "hi" },
            )
        })
        .collect();
    // One old message, outside --since.
    lines.push(msg("OLD", "old", "2026-11-01T00:00:00Z", "refund"));
    tix.import(&lines);
    std::fs::write(tix.path("config.toml"), CONFIG).unwrap();
    let before = tix.tickets();
    let out = tix.ok(&["rules", "test", "--replay", "--since", "7d"]);
    assert!(
        out.contains("Replayed 12 stored messages since 2026-11-13T03:00:00Z"),
        "{out}"
    );
    assert!(out.contains("        4  Refunds to billing"), "{out}");
    assert!(out.contains("        8  Everyone else"), "{out}");
    assert!(
        out.contains("        0  Chase (timers are not replayed)"),
        "{out}"
    );
    assert!(out.contains("        8  alice (67%)"), "{out}");
    assert!(out.contains("        4  bob (33%)"), "{out}");
    assert_eq!(tix.tickets(), before, "the replay changed the database");
}

#[test]
fn tick_runs_timers_at_the_given_time() {
    let tix = Tix::new(CONFIG);
    tix.import(&[
        msg("U1", "m1", "2026-11-18T02:00:00Z", "hello"),
        json!({"channel": "line", "from": "U1", "id": "r1", "at": "2026-11-18T02:05:00Z",
               "text": "on it", "direction": "out", "agent": "alice"}),
    ]);
    let out = tix.ok_at("2026-11-18T12:00:00Z", &["tick"]);
    assert_eq!(
        out,
        "timers at 2026-11-18T12:00:00Z: 0 rule firings, 0 auto-closed, 0 handed from team backlogs\n"
    );
    let out = tix.ok(&["tick", "--now", "2026-11-19T03:00:00Z"]);
    assert!(out.contains(": 1 rule firings"), "{out}");
    // Once per quiet stretch.
    let out = tix.ok(&["tick"]);
    assert!(out.contains(": 0 rule firings"), "{out}");
    let t = &tix.tickets()[0];
    assert_eq!(t["labels"], json!(["chased"]));
    assert_eq!(t["messages"], 3, "the automatic reply is stored");
    assert!(tix.fails(&["tick", "--now", "soon"]).contains("--now"));
}

#[test]
fn simulated_traffic_is_routed_the_same_way_every_time_with_a_fixed_clock_and_seed() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
    let run = || {
        let tix = Tix::new("");
        let out = tix
            .cmd_at(NOW)
            .env("TIX_CONFIG", &example)
            .args([
                "simulate",
                "--messages",
                "3000",
                "--seed",
                "7",
                "--days",
                "3",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let list = tix
            .cmd_at(NOW)
            .env("TIX_CONFIG", &example)
            .args(["tickets", "list", "--status", "all", "--json"])
            .output()
            .unwrap();
        String::from_utf8(list.stdout).unwrap()
    };
    let first = run();
    let tickets: Vec<Value> = serde_json::from_str(&first).unwrap();
    assert!(
        tickets.iter().filter(|t| !t["assignee"].is_null()).count() > 10,
        "the example rules assigned nothing"
    );
    assert_eq!(first, run());
}
