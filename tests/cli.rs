//! The `tix` binary end to end: the lifecycle table of DESIGN §1, imports (§2, §5), agents'
//! actions with undo and redo, the simulator's determinism, safe printing of untrusted text, and
//! an import killed part-way.
//!
//! Every test runs the real binary against its own temporary directory, with `TIX_DB`,
//! `TIX_CONFIG` and `TIX_NOW` set and every other `TIX_*` variable removed, so a developer's
//! environment cannot leak in and every time in the output is exact.
//!

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::{Value, json};
use tempfile::TempDir;

mod support;
use support::{TIX, TIX_VARS};

/// The clock for agents' actions unless a test says otherwise.
const NOW: &str = "2026-11-20T10:00:00Z";

// ----- harness -------------------------------------------------------------------------------

/// One test's world: a temporary directory holding the database, the config file and inputs.
struct Tix {
    dir: TempDir,
    /// `TIX_AGENT` for commands, or `None` to rely on `me` in the config file.
    agent: Option<String>,
    files: AtomicUsize,
}

impl Tix {
    /// A world acting as `alice` through `TIX_AGENT`, with the default 24 h reopen window.
    fn new() -> Tix {
        Tix::with_config("me = \"alice\"\nreopen_window = \"24h\"\n")
    }

    fn with_config(config: &str) -> Tix {
        let dir = tempfile::Builder::new()
            .prefix("tix-cli-")
            .tempdir()
            .unwrap();
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        Tix {
            dir,
            agent: Some("alice".into()),
            files: AtomicUsize::new(0),
        }
    }

    /// Acts as `me` from the config file instead of `TIX_AGENT`.
    fn agent_from_config(mut self) -> Tix {
        self.agent = None;
        self
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn db(&self) -> PathBuf {
        self.path("tix.db")
    }

    fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    /// A `tix` command for this world at `NOW`.
    fn cmd(&self) -> Command {
        self.cmd_at(NOW)
    }

    /// A `tix` command for this world with the clock fixed at `now`.
    fn cmd_at(&self, now: &str) -> Command {
        let mut c = support::tix_in(self.dir.path(), now);
        if let Some(a) = &self.agent {
            c.env("TIX_AGENT", a);
        }
        c
    }

    /// Runs `tix ARGS` at `now`, expects success, returns stdout.
    fn ok_at(&self, now: &str, args: &[&str]) -> String {
        let out = self.cmd_at(now).args(args).output().unwrap();
        assert!(out.status.success(), "tix {args:?} failed\n{}", dump(&out));
        String::from_utf8(out.stdout).unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        self.ok_at(NOW, args)
    }

    /// Runs `tix ARGS`, expects exit code 1, returns stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "tix {args:?} should fail with 1\n{}",
            dump(&out)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    /// Writes JSON lines to a new file and imports it; returns the summary line.
    fn import(&self, lines: &[Value]) -> String {
        let n = self.files.fetch_add(1, Ordering::Relaxed);
        let file = self.write(&format!("in-{n}.jsonl"), jsonl(lines));
        self.ok(&["import", file.to_str().unwrap()])
    }

    /// `tix tickets list --status all --json`, by ticket number.
    fn tickets(&self) -> BTreeMap<i64, Value> {
        let list: Vec<Value> = parse(&self.ok(&["tickets", "list", "--status", "all", "--json"]));
        list.into_iter()
            .map(|t| (t["number"].as_i64().unwrap(), t))
            .collect()
    }

    /// The raw `tickets list --status all --json` output, for exact comparisons.
    fn tickets_json(&self) -> String {
        self.ok(&["tickets", "list", "--status", "all", "--json"])
    }

    fn ticket(&self, n: i64) -> Value {
        self.tickets()
            .remove(&n)
            .unwrap_or_else(|| panic!("no ticket #{n} in the list"))
    }

    /// `tix ticket show N --json`.
    fn show(&self, n: i64) -> Value {
        parse(&self.ok(&["ticket", "show", &n.to_string(), "--json"]))
    }

    fn contacts_json(&self) -> String {
        self.ok(&["contacts", "list", "--json"])
    }

    /// Every message in the database, from `tix`'s own summary (a count over the messages table).
    fn total_messages(&self) -> i64 {
        let out = self.ok(&[]);
        let line = out
            .lines()
            .find(|l| l.trim_end().ends_with(" messages"))
            .unwrap_or_else(|| panic!("no message count in:\n{out}"));
        line.rsplit(", ")
            .next()
            .unwrap()
            .trim()
            .trim_end_matches(" messages")
            .parse()
            .unwrap()
    }
}

fn parse<T: serde::de::DeserializeOwned>(s: &str) -> T {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}):\n{s}"))
}

fn jsonl(lines: &[Value]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// A customer's message on LINE.
fn msg(from: &str, id: &str, at: &str) -> Value {
    json!({"channel": "line", "from": from, "name": format!("Customer {from}"), "id": id,
           "at": at, "text": format!("text of {id}")})
}

/// The messages of a `ticket show --json` thread, as (ticket, direction, body).
fn thread_messages(show: &Value) -> Vec<(i64, String, String)> {
    show["thread"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "message")
        .map(|i| {
            (
                i["ticket"].as_i64().unwrap(),
                i["direction"].as_str().unwrap().to_string(),
                i["body"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn event_kinds(show: &Value) -> Vec<String> {
    show["thread"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "event")
        .map(|i| i["kind"].as_str().unwrap().to_string())
        .collect()
}

/// A number out of an import summary such as `read 3, new 2, duplicates 1, …`.
fn summary_count(summary: &str, key: &str) -> i64 {
    summary
        .split(", ")
        .find_map(|part| part.trim().strip_prefix(key)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no \"{key}\" in: {summary}"))
}

/// The ticket list without `updated_at`, which an undo or redo stamps with its own time.
fn without_updated_at(json: &str) -> Value {
    let mut v: Value = parse(json);
    for t in v.as_array_mut().unwrap() {
        t.as_object_mut().unwrap().remove("updated_at");
    }
    v
}

// ----- 1. the lifecycle table (DESIGN §1) ----------------------------------------------------

#[test]
fn first_customer_message_opens_an_unassigned_open_ticket() {
    let tix = Tix::new();
    let summary = tix.import(&[msg("U1", "m1", "2026-11-20T09:00:00Z")]);
    assert_eq!(summary_count(&summary, "tickets created"), 1);
    let t = tix.ticket(1);
    assert_eq!(t["status"], "open");
    assert_eq!(t["channel"], "line");
    assert_eq!(t["account"], "line");
    assert_eq!(t["customer_id"], "U1");
    assert_eq!(t["contact_name"], "Customer U1");
    assert_eq!(t["assignee"], Value::Null);
    assert_eq!(t["team"], Value::Null);
    assert_eq!(t["labels"], json!([]));
    assert_eq!(t["follow_up"], false);
    assert_eq!(t["messages"], 1);
    assert_eq!(t["created_at"], "2026-11-20T09:00:00Z");
    assert_eq!(t["closed_at"], Value::Null);
    assert_eq!(t["reopen_count"], 0);
    let show = tix.show(1);
    assert_eq!(show["ticket"]["number"], 1);
    assert_eq!(
        thread_messages(&show),
        [(1, "in".into(), "text of m1".into())]
    );
    assert_eq!(event_kinds(&show), ["created"]);
}

#[test]
fn customer_message_to_an_open_ticket_is_appended() {
    let tix = Tix::new();
    tix.import(&[msg("U1", "m1", "2026-11-20T09:00:00Z")]);
    let summary = tix.import(&[
        msg("U1", "m2", "2026-11-20T09:05:00Z"),
        msg("U1", "m3", "2026-11-20T09:06:00Z"),
    ]);
    assert_eq!(summary_count(&summary, "tickets created"), 0);
    let tickets = tix.tickets();
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[&1]["status"], "open");
    assert_eq!(tickets[&1]["messages"], 3);
    assert_eq!(tickets[&1]["updated_at"], "2026-11-20T09:06:00Z");
    let bodies: Vec<_> = thread_messages(&tix.show(1))
        .into_iter()
        .map(|m| (m.0, m.2))
        .collect();
    assert_eq!(
        bodies,
        [
            (1, "text of m1".to_string()),
            (1, "text of m2".to_string()),
            (1, "text of m3".to_string())
        ]
    );
}

#[test]
fn message_within_reopen_window_of_the_close_reopens_the_same_ticket_keeping_assignee_and_fields() {
    let tix = Tix::new();
    // The last message is three days before the close: the window runs from the close.
    tix.import(&[msg("U1", "m1", "2026-11-17T10:00:00Z")]);
    tix.ok(&["ticket", "assign", "1", "--agent", "bob"]);
    tix.ok(&["ticket", "field", "1", "order", "SO-2405"]);
    tix.ok(&["ticket", "label", "1", "add", "refund"]);
    tix.ok_at("2026-11-20T10:00:00Z", &["ticket", "close", "1"]);
    let closed = tix.ticket(1);
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["closed_at"], "2026-11-20T10:00:00Z");

    // 23 h 59 m after the close.
    let summary = tix.import(&[msg("U1", "m2", "2026-11-21T09:59:00Z")]);
    assert_eq!(summary_count(&summary, "reopened"), 1);
    assert_eq!(summary_count(&summary, "tickets created"), 0);
    let tickets = tix.tickets();
    assert_eq!(tickets.len(), 1, "no new ticket: {tickets:?}");
    let t = &tickets[&1];
    assert_eq!(t["status"], "open");
    assert_eq!(t["assignee"], "bob");
    assert_eq!(t["labels"], json!(["refund"]));
    assert_eq!(t["reopen_count"], 1);
    assert_eq!(t["closed_at"], Value::Null);
    assert_eq!(t["messages"], 2);
    let show = tix.show(1);
    assert_eq!(show["fields"], json!({"order": "SO-2405"}));
    assert_eq!(event_kinds(&show).last().unwrap(), "reopened");
}

#[test]
fn message_exactly_at_the_window_edge_reopens_and_one_second_later_does_not() {
    let tix = Tix::with_config("me = \"alice\"\nreopen_window = \"2h\"\n");
    tix.import(&[
        msg("U1", "a1", "2026-11-20T09:00:00Z"),
        msg("U2", "b1", "2026-11-20T09:00:00Z"),
    ]);
    tix.ok_at("2026-11-20T10:00:00Z", &["ticket", "close", "1", "2"]);
    tix.import(&[
        msg("U1", "a2", "2026-11-20T12:00:00Z"),
        msg("U2", "b2", "2026-11-20T12:00:01Z"),
    ]);
    let tickets = tix.tickets();
    let of = |customer: &str| -> Vec<(i64, String)> {
        tickets
            .values()
            .filter(|t| t["customer_id"] == customer)
            .map(|t| {
                (
                    t["number"].as_i64().unwrap(),
                    t["status"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let u1 = of("U1");
    assert_eq!(u1.len(), 1, "U1 wrote at the edge: reopened, {u1:?}");
    assert_eq!(u1[0].1, "open");
    let u2 = of("U2");
    assert_eq!(
        u2.len(),
        2,
        "U2 wrote 1 s after the edge: new ticket, {u2:?}"
    );
    assert_eq!(u2[0].1, "closed");
    assert_eq!(u2[1].1, "open");
}

#[test]
fn message_after_reopen_window_starts_a_new_ticket_and_the_old_stays_closed() {
    let tix = Tix::new();
    tix.import(&[msg("U1", "m1", "2026-11-20T09:00:00Z")]);
    tix.ok(&["ticket", "take", "1"]);
    tix.ok_at("2026-11-20T10:00:00Z", &["ticket", "close", "1"]);
    // 25 h after the close.
    let summary = tix.import(&[msg("U1", "m2", "2026-11-21T11:00:00Z")]);
    assert_eq!(summary_count(&summary, "tickets created"), 1);
    assert_eq!(summary_count(&summary, "reopened"), 0);
    let tickets = tix.tickets();
    assert_eq!(tickets.len(), 2);
    let old = &tickets[&1];
    assert_eq!(old["status"], "closed");
    assert_eq!(old["closed_at"], "2026-11-20T10:00:00Z");
    assert_eq!(old["messages"], 1);
    assert_eq!(old["reopen_count"], 0);
    let new = &tickets[&2];
    assert_eq!(new["status"], "open");
    assert_eq!(
        new["assignee"],
        Value::Null,
        "a new ticket starts unassigned"
    );
    assert_eq!(new["contact_id"], old["contact_id"]);
    assert_eq!(new["messages"], 1);
    assert_eq!(new["reopen_count"], 0);
    assert_eq!(new["created_at"], "2026-11-21T11:00:00Z");
}

#[test]
fn reopen_window_off_always_starts_a_new_ticket() {
    let tix = Tix::with_config("me = \"alice\"\nreopen_window = \"off\"\n");
    tix.import(&[msg("U1", "m1", "2026-11-20T09:00:00Z")]);
    tix.ok_at("2026-11-20T10:00:00Z", &["ticket", "close", "1"]);
    let summary = tix.import(&[msg("U1", "m2", "2026-11-20T10:00:01Z")]);
    assert_eq!(summary_count(&summary, "reopened"), 0);
    let tickets = tix.tickets();
    assert_eq!(tickets.len(), 2);
    assert_eq!(tickets[&1]["status"], "closed");
    assert_eq!(tickets[&2]["status"], "open");
}

#[test]
fn agent_reopen_opens_a_closed_ticket_outside_the_window() {
    let tix = Tix::new();
    tix.import(&[msg("U1", "m1", "2026-11-10T09:00:00Z")]);
    tix.ok_at("2026-11-10T10:00:00Z", &["ticket", "close", "1"]);
    let out = tix.ok(&["ticket", "reopen", "1"]);
    assert!(out.contains("#1"), "{out}");
    let t = tix.ticket(1);
    assert_eq!(t["status"], "open");
    assert_eq!(t["reopen_count"], 1);
    assert_eq!(t["closed_at"], Value::Null);
    // Reopening an open ticket is refused.
    let err = tix.fails(&["ticket", "reopen", "1"]);
    assert!(err.contains("#1 is already open"), "{err}");
}

#[test]
fn agent_reopen_is_refused_when_the_conversation_has_another_open_ticket() {
    let tix = Tix::new();
    tix.import(&[msg("U1", "m1", "2026-11-10T09:00:00Z")]);
    tix.ok_at("2026-11-10T10:00:00Z", &["ticket", "close", "1"]);
    tix.import(&[msg("U1", "m2", "2026-11-20T09:00:00Z")]);
    let before = tix.tickets_json();
    assert_eq!(tix.ticket(2)["status"], "open");
    let out = tix.cmd().args(["ticket", "reopen", "1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "refusal is not on stdout");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("#1") && err.contains("open ticket #2"),
        "stderr should say which ticket is open: {err}"
    );
    assert_eq!(tix.tickets_json(), before, "a refusal changes nothing");
}

#[test]
fn spam_is_sticky_until_not_spam_which_opens_it() {
    let tix = Tix::new();
    tix.import(&[msg("U1", "m1", "2026-11-20T09:00:00Z")]);
    tix.ok(&["ticket", "spam", "1"]);
    let spam = tix.ticket(1);
    assert_eq!(spam["status"], "spam");
    // Later messages, even days later (past any reopen window), go to the spam ticket silently.
    let summary = tix.import(&[
        msg("U1", "m2", "2026-11-20T11:00:00Z"),
        msg("U1", "m3", "2026-11-29T11:00:00Z"),
    ]);
    assert_eq!(summary_count(&summary, "tickets created"), 0);
    assert_eq!(summary_count(&summary, "reopened"), 0);
    let tickets = tix.tickets();
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    assert_eq!(tickets[&1]["status"], "spam");
    assert_eq!(tickets[&1]["messages"], 3);
    // Silently: nothing more is unread or waiting.
    assert_eq!(tickets[&1]["unread"], spam["unread"]);
    assert_eq!(tickets[&1]["waiting_since"], spam["waiting_since"]);
    assert_eq!(
        tix.ok(&["tickets", "list", "--json"]).trim(),
        "[]",
        "spam is not in the open list"
    );

    tix.ok(&["ticket", "not-spam", "1"]);
    let t = tix.ticket(1);
    assert_eq!(t["status"], "open");
    assert_eq!(t["closed_at"], Value::Null);
    tix.import(&[msg("U1", "m4", "2026-11-29T12:00:00Z")]);
    assert_eq!(tix.tickets().len(), 1);
    assert_eq!(tix.ticket(1)["messages"], 4);
    let err = tix.fails(&["ticket", "not-spam", "1"]);
    assert!(err.contains("#1 is not spam"), "{err}");
}

#[test]
fn a_closed_ticket_marked_spam_keeps_later_messages() {
    let tix = Tix::new();
    tix.import(&[msg("U1", "m1", "2026-11-20T09:00:00Z")]);
    tix.ok(&["ticket", "close", "1"]);
    tix.ok(&["ticket", "spam", "1"]);
    tix.import(&[msg("U1", "m2", "2026-11-20T10:30:00Z")]);
    let tickets = tix.tickets();
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[&1]["status"], "spam");
    assert_eq!(tickets[&1]["messages"], 2);
    assert_eq!(tickets[&1]["reopen_count"], 0);
}

#[test]
fn ticket_open_goes_to_the_open_ticket_or_opens_one() {
    let tix = Tix::new();
    tix.import(&[msg("U1", "m1", "2026-11-20T09:00:00Z")]);
    let contact = tix.ticket(1)["contact_id"].as_i64().unwrap().to_string();

    let out = tix.ok(&["ticket", "open", "--contact", &contact, "--channel", "line"]);
    assert!(out.contains("#1") && out.contains("already open"), "{out}");
    assert_eq!(tix.tickets().len(), 1);

    tix.ok(&["ticket", "close", "1"]);
    let out = tix.ok_at(
        "2026-11-20T11:00:00Z",
        &["ticket", "open", "--contact", &contact, "--channel", "line"],
    );
    assert!(out.contains("opened #2"), "{out}");
    let tickets = tix.tickets();
    assert_eq!(tickets.len(), 2);
    assert_eq!(tickets[&1]["status"], "closed");
    let t = &tickets[&2];
    assert_eq!(t["status"], "open");
    assert_eq!(t["customer_id"], "U1");
    assert_eq!(t["contact_id"].to_string(), contact);
    assert_eq!(t["created_at"], "2026-11-20T11:00:00Z");
    assert_eq!(t["messages"], 0);
    // The customer's next message goes to the open ticket.
    tix.import(&[msg("U1", "m2", "2026-11-20T11:30:00Z")]);
    assert_eq!(tix.ticket(2)["messages"], 1);
    assert_eq!(tix.ticket(1)["messages"], 1);
    assert_eq!(tix.ticket(1)["status"], "closed");
}

#[test]
fn ticket_open_without_a_conversation_on_that_channel_is_refused() {
    let tix = Tix::new();
    tix.import(&[msg("U1", "m1", "2026-11-20T09:00:00Z")]);
    let err = tix.fails(&["ticket", "open", "--contact", "1", "--channel", "messenger"]);
    assert!(err.contains("no conversation"), "{err}");
    let err = tix.fails(&["ticket", "open", "--contact", "99", "--channel", "line"]);
    assert!(err.contains("no contact 99"), "{err}");
    assert_eq!(tix.tickets().len(), 1);
}

// ----- 2. import -----------------------------------------------------------------------------

/// Three customers on three channels, with an agent's reply and optional fields.
fn sample_jsonl() -> String {
    jsonl(&[
        json!({"channel":"line","from":"U1","name":"สมชาย","id":"j1","at":"2026-11-20T09:00:00+07:00","text":"ยังไม่ได้รับของค่ะ"}),
        json!({"channel":"line","from":"U1","id":"j2","at":"2026-11-20T09:05:00+07:00","text":"order SO-1"}),
        json!({"channel":"shopee","from":"B7","name":"Buyer","id":"j3","at":"2026-11-20T03:00:00Z","text":"","kind":"image"}),
        json!({"channel":"messenger","from":"P1","name":"Pat","id":"j4","at":"2026-11-20T04:00:00Z","text":"hello","extra":{"x":1}}),
    ])
}

const SAMPLE_CSV: &str = "channel,from,name,id,at,text\n\
    line,U1,Somchai,c1,2026-11-20T09:00:00Z,hello\n\
    shopee,B7,Buyer,c2,2026-11-20T09:01:00Z,\"where, is \"\"it\"\"\"\n\
    lazada,L3,Lee,c3,1795165260000,\"two\nlines\"\n";

#[test]
fn jsonl_file_imports_tickets_and_contacts() {
    let tix = Tix::new();
    let file = tix.write("in.jsonl", sample_jsonl());
    let out = tix.ok(&["import", file.to_str().unwrap()]);
    assert_eq!(summary_count(&out, "read"), 4);
    assert_eq!(summary_count(&out, "new"), 4);
    assert_eq!(summary_count(&out, "tickets created"), 3);
    let tickets = tix.tickets();
    assert_eq!(tickets.len(), 3);
    let line = tickets.values().find(|t| t["channel"] == "line").unwrap();
    assert_eq!(line["contact_name"], "สมชาย");
    assert_eq!(line["messages"], 2);
    assert_eq!(line["updated_at"], "2026-11-20T02:05:00Z");
    let shopee = tickets.values().find(|t| t["channel"] == "shopee").unwrap();
    let show = tix.show(shopee["number"].as_i64().unwrap());
    assert_eq!(show["thread"][0]["kind"], "image");
    let contacts: Vec<Value> = parse(&tix.contacts_json());
    assert_eq!(contacts.len(), 3);
    assert_eq!(tix.total_messages(), 4);
}

#[test]
fn csv_file_imports_like_jsonl() {
    let tix = Tix::new();
    let file = tix.write("in.csv", SAMPLE_CSV);
    let out = tix.ok(&["import", file.to_str().unwrap()]);
    assert_eq!(summary_count(&out, "new"), 3);
    let tickets = tix.tickets();
    assert_eq!(tickets.len(), 3);
    let shopee = tickets.values().find(|t| t["channel"] == "shopee").unwrap();
    assert_eq!(shopee["contact_name"], "Buyer");
    let n = shopee["number"].as_i64().unwrap();
    assert_eq!(thread_messages(&tix.show(n))[0].2, "where, is \"it\"");
    let lazada = tickets.values().find(|t| t["channel"] == "lazada").unwrap();
    assert_eq!(lazada["created_at"], "2026-11-20T09:01:00Z");
    let n = lazada["number"].as_i64().unwrap();
    assert_eq!(thread_messages(&tix.show(n))[0].2, "two\nlines");
}

#[test]
fn reimporting_the_same_file_adds_nothing() {
    for (name, content) in [("in.jsonl", sample_jsonl()), ("in.csv", SAMPLE_CSV.into())] {
        let tix = Tix::new();
        let file = tix.write(name, content);
        let first = tix.ok(&["import", file.to_str().unwrap()]);
        let read = summary_count(&first, "read");
        let tickets = tix.tickets_json();
        let contacts = tix.contacts_json();
        let again = tix.ok(&["import", file.to_str().unwrap()]);
        assert!(again.contains("new 0,"), "{name}: {again}");
        assert_eq!(summary_count(&again, "duplicates"), read, "{name}: {again}");
        assert_eq!(summary_count(&again, "tickets created"), 0, "{name}");
        assert_eq!(tix.tickets_json(), tickets, "{name}: ticket list changed");
        assert_eq!(tix.contacts_json(), contacts, "{name}: contacts changed");
        assert_eq!(tix.total_messages(), read);
    }
}

/// One bad line per case, its 1-based line number in the file, and what stderr must say.
fn bad_jsonl_cases() -> Vec<(&'static str, String, usize, &'static str)> {
    let good = |id: &str, at: &str| msg("U9", id, at).to_string();
    vec![
        (
            "invalid JSON",
            r#"{"channel":"line","from":"U9","id":"x","at":"2026-11-20T09:00:00Z","text":"hi""#,
            2,
            "not valid JSON",
        ),
        (
            "missing field",
            r#"{"channel":"line","from":"U9","id":"x","text":"hi"}"#,
            2,
            "missing field \"at\"",
        ),
        (
            "unknown channel",
            r#"{"channel":"fax","from":"U9","id":"x","at":"2026-11-20T09:00:00Z","text":"hi"}"#,
            2,
            "unknown channel \"fax\"",
        ),
        (
            "bad time",
            r#"{"channel":"line","from":"U9","id":"x","at":"yesterday","text":"hi"}"#,
            2,
            "field \"at\"",
        ),
        (
            "epoch seconds",
            r#"{"channel":"line","from":"U9","id":"x","at":1795165200,"text":"hi"}"#,
            2,
            "looks like epoch seconds",
        ),
    ]
    .into_iter()
    .map(|(what, bad, line, says)| {
        let file = format!(
            "{}\n{bad}\n{}\n",
            good("g1", "2026-11-20T09:00:00Z"),
            good("g2", "2026-11-20T09:01:00Z")
        );
        (what, file, line, says)
    })
    .collect()
}

#[test]
fn a_file_with_one_bad_line_imports_nothing_and_names_file_and_line() {
    for (what, content, line, says) in bad_jsonl_cases() {
        // A database with data in it: nothing of the file may be added.
        let tix = Tix::new();
        tix.import(&[msg("U1", "m1", "2026-11-20T08:00:00Z")]);
        let tickets = tix.tickets_json();
        let contacts = tix.contacts_json();
        let file = tix.write("bad.jsonl", &content);
        let out = tix
            .cmd()
            .args(["import", file.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{what}");
        let err = String::from_utf8(out.stderr).unwrap();
        let at = format!("{}:{line}:", file.display());
        assert!(
            err.contains(&at) && err.contains(says),
            "{what}: stderr should name {at} and say {says:?}:\n{err}"
        );
        assert!(err.contains("nothing was imported"), "{what}: {err}");
        assert_eq!(tix.tickets_json(), tickets, "{what}: tickets changed");
        assert_eq!(tix.contacts_json(), contacts, "{what}: contacts changed");
        assert_eq!(tix.total_messages(), 1, "{what}");

        // A fresh database stays empty.
        let fresh = Tix::new();
        let file = fresh.write("bad.jsonl", &content);
        fresh
            .cmd()
            .args(["import", file.to_str().unwrap()])
            .assert()
            .code(1)
            .stderr(predicate::str::contains(format!(
                "{}:{line}:",
                file.display()
            )));
        assert_eq!(fresh.tickets_json().trim(), "[]", "{what}");
        assert_eq!(fresh.contacts_json().trim(), "[]", "{what}");
    }
}

#[test]
fn a_bad_line_in_the_second_file_imports_nothing_from_the_first() {
    let tix = Tix::new();
    let good = tix.write("good.jsonl", sample_jsonl());
    let bad = tix.write(
        "bad.jsonl",
        format!(
            "{}\n{{\"channel\":\"line\"}}\n",
            msg("U9", "x1", "2026-11-20T09:00:00Z")
        ),
    );
    let err = tix.fails(&["import", good.to_str().unwrap(), bad.to_str().unwrap()]);
    assert!(err.contains(&format!("{}:2:", bad.display())), "{err}");
    assert!(err.contains("missing field \"from\""), "{err}");
    assert_eq!(tix.tickets_json().trim(), "[]");
}

#[test]
fn a_bad_csv_row_imports_nothing_and_names_file_and_line() {
    let tix = Tix::new();
    let file = tix.write(
        "bad.csv",
        format!("{SAMPLE_CSV}line,U4,Dee,c4,2026-11-20T09:03:00Z,ok\nfax,U5,Eve,c5,2026-11-20T09:04:00Z,no\n"),
    );
    // The multi-line text of c3 makes the bad row's line 7, not 6.
    let err = tix.fails(&["import", file.to_str().unwrap()]);
    assert!(
        err.contains(&format!("{}:7:", file.display())) && err.contains("unknown channel \"fax\""),
        "{err}"
    );
    assert_eq!(tix.tickets_json().trim(), "[]");
    assert_eq!(tix.contacts_json().trim(), "[]");
}

#[test]
fn skip_invalid_imports_valid_lines_and_copies_rejects_unchanged_then_fixed_rejects_import() {
    let tix = Tix::new();
    let bad_json =
        r#"{"channel":"line","from":"U2","id":"r1","at":"2026-11-20T09:02:00Z","text":"a""#;
    let bad_channel =
        r#"{"channel":"fax","from":"U3","id":"r2","at":"2026-11-20T09:03:00Z","text":"b"}"#;
    let bad_time = r#"{"channel":"line", "from":"U4","id":"r3","at":"soon","text":"c"}"#;
    let content = format!(
        "{}\n{bad_json}\n{}\n{bad_channel}\r\n{bad_time}",
        msg("U1", "g1", "2026-11-20T09:00:00Z"),
        msg("U1", "g2", "2026-11-20T09:01:00Z"),
    );
    let file = tix.write("in.jsonl", &content);
    let rejects = tix.path("rejected.jsonl");
    let out = tix
        .cmd()
        .args([
            "import",
            "--skip-invalid",
            "--rejects",
            rejects.to_str().unwrap(),
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", dump(&out));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(summary_count(&stdout, "new"), 2, "{stdout}");
    assert_eq!(summary_count(&stdout, "rejected"), 3, "{stdout}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    for line in [2, 4, 5] {
        assert!(
            stderr.contains(&format!("{}:{line}:", file.display())),
            "line {line}: {stderr}"
        );
    }
    let tickets = tix.tickets();
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[&1]["messages"], 2);

    // The rejected lines, byte for byte (a CRLF stays, a last line without newline gets one).
    let got = std::fs::read_to_string(&rejects).unwrap();
    assert_eq!(got, format!("{bad_json}\n{bad_channel}\r\n{bad_time}\n"));

    // Fixed, the rejects file imports cleanly.
    let fixed = got
        .replace(r#""text":"a""#, r#""text":"a"}"#)
        .replace("fax", "line")
        .replace("soon", "2026-11-20T09:04:00Z");
    std::fs::write(&rejects, fixed).unwrap();
    let out = tix.ok(&["import", rejects.to_str().unwrap()]);
    assert_eq!(summary_count(&out, "new"), 3, "{out}");
    assert_eq!(summary_count(&out, "rejected"), 0, "{out}");
    assert_eq!(tix.tickets().len(), 4);
    assert_eq!(tix.total_messages(), 5);
}

#[test]
fn skip_invalid_csv_rejects_start_with_the_header_and_import_after_fixing() {
    let tix = Tix::new();
    let header = "id,channel,from,at,text\r\n";
    let content = format!(
        "{header}c1,line,U1,2026-11-20T09:00:00Z,hi\r\n\
         c2,fax,U2,2026-11-20T09:01:00Z,\"multi\r\nline\"\r\n\
         c3,line,U3,2026-11-20T09:02:00Z,fine\r\n\
         c4,line,U4,later,bad time\r\n"
    );
    let file = tix.write("in.csv", &content);
    // Without --rejects the file goes next to the input.
    let out = tix.ok(&["import", "--skip-invalid", file.to_str().unwrap()]);
    assert_eq!(summary_count(&out, "new"), 2, "{out}");
    assert_eq!(summary_count(&out, "rejected"), 2, "{out}");
    let rejects = tix.path("in.csv.rejects");
    let got = std::fs::read_to_string(&rejects).unwrap();
    assert_eq!(
        got,
        format!(
            "{header}c2,fax,U2,2026-11-20T09:01:00Z,\"multi\r\nline\"\r\n\
             c4,line,U4,later,bad time\r\n"
        )
    );
    std::fs::write(
        &rejects,
        got.replace("fax", "whatsapp")
            .replace("later", "2026-11-20T09:03:00Z"),
    )
    .unwrap();
    let out = tix.ok(&["import", "--format", "csv", rejects.to_str().unwrap()]);
    assert_eq!(summary_count(&out, "new"), 2, "{out}");
    let tickets = tix.tickets();
    assert_eq!(tickets.len(), 4);
    let wa = tickets
        .values()
        .find(|t| t["channel"] == "whatsapp")
        .unwrap();
    assert_eq!(
        thread_messages(&tix.show(wa["number"].as_i64().unwrap()))[0].2,
        "multi\r\nline"
    );
}

#[test]
fn outbound_lines_are_stored_as_outbound_and_set_first_response() {
    let tix = Tix::new();
    let out = tix.import(&[
        msg("U1", "m1", "2026-11-20T09:00:00Z"),
        json!({"channel":"line","from":"U1","id":"m2","at":"2026-11-20T09:07:00Z",
               "text":"we are checking","direction":"out","agent":"bob"}),
    ]);
    assert_eq!(summary_count(&out, "new"), 2);
    let t = tix.ticket(1);
    assert_eq!(t["messages"], 2);
    assert_eq!(t["first_response_at"], "2026-11-20T09:07:00Z");
    assert_eq!(t["waiting_since"], Value::Null);
    let show = tix.show(1);
    let out_msg = show["thread"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "message" && i["body"] == "we are checking")
        .unwrap();
    assert_eq!(out_msg["direction"], "out");
    assert_eq!(out_msg["author"], "bob");
    // An inbound line with an agent is invalid.
    let bad = tix.write(
        "bad.jsonl",
        r#"{"channel":"line","from":"U1","id":"m3","at":"2026-11-20T09:08:00Z","text":"x","agent":"bob"}"#,
    );
    let err = tix.fails(&["import", bad.to_str().unwrap()]);
    assert!(err.contains("only outbound messages"), "{err}");
}

#[test]
fn epoch_millisecond_times_import_as_numbers_or_strings() {
    let tix = Tix::new();
    // 1795165200000 = 2026-11-20T09:00:00Z.
    tix.import(&[
        json!({"channel":"line","from":66812345678_i64,"id":1,"at":1795165200000_i64,"text":"a"}),
    ]);
    tix.import(&[
        json!({"channel":"line","from":"66812345678","id":"2","at":"1795165260000","text":"b"}),
    ]);
    let t = tix.ticket(1);
    assert_eq!(t["created_at"], "2026-11-20T09:00:00Z");
    assert_eq!(t["updated_at"], "2026-11-20T09:01:00Z");
    assert_eq!(t["customer_id"], "66812345678");
    assert_eq!(t["messages"], 2);
    // Numeric and string ids are the same id: re-importing as strings adds nothing.
    let again = tix.import(&[
        json!({"channel":"line","from":"66812345678","id":"1","at":"1795165200000","text":"a"}),
    ]);
    assert!(again.contains("new 0,"), "{again}");
}

#[test]
fn created_event_of_a_batch_is_at_its_first_message_and_updated_at_at_its_last() {
    let tix = Tix::new();
    tix.import(&[
        msg("U1", "m1", "2026-11-20T09:00:00Z"),
        msg("U1", "m2", "2026-11-20T09:30:00Z"),
    ]);
    let t = tix.ticket(1);
    assert_eq!(t["updated_at"], "2026-11-20T09:30:00Z");
    let show = tix.show(1);
    let created = show["thread"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "created")
        .unwrap();
    assert_eq!(created["at"], "2026-11-20T09:00:00Z");
}

#[test]
fn ticket_created_at_is_the_first_message_time_not_the_last() {
    let tix = Tix::new();
    tix.import(&[
        msg("U1", "m1", "2026-11-20T09:00:00Z"),
        msg("U1", "m2", "2026-11-20T09:30:00Z"),
    ]);
    assert_eq!(tix.ticket(1)["created_at"], "2026-11-20T09:00:00Z");
}

// ----- 3. agents' actions, undo and redo ------------------------------------------------------

/// Three customers on LINE, Messenger and Shopee, one open ticket each (#1, #2, #3).
fn three_tickets(tix: &Tix) {
    tix.import(&[
        json!({"channel":"line","from":"U1","name":"Ann","id":"t1","at":"2026-11-20T09:00:00Z","text":"one"}),
        json!({"channel":"messenger","from":"P1","name":"Ann on FB","id":"t2","at":"2026-11-20T09:01:00Z","text":"two"}),
        json!({"channel":"shopee","from":"S1","name":"Cy","id":"t3","at":"2026-11-20T09:02:00Z","text":"three"}),
    ]);
}

fn who(t: &Value) -> (Value, Value) {
    (t["assignee"].clone(), t["team"].clone())
}

#[test]
fn assign_sets_agent_team_or_both_and_keeps_what_is_not_given() {
    // Acting as `me` from the config; --as and TIX_AGENT have their own tests.
    let tix = Tix::new().agent_from_config();
    three_tickets(&tix);
    tix.ok(&["ticket", "assign", "1", "--agent", "bob"]);
    assert_eq!(who(&tix.ticket(1)), (json!("bob"), Value::Null));
    tix.ok(&["ticket", "assign", "1", "--team", "billing"]);
    assert_eq!(who(&tix.ticket(1)), (json!("bob"), json!("billing")));
    tix.ok(&["ticket", "assign", "2", "--team", "vip"]);
    assert_eq!(who(&tix.ticket(2)), (Value::Null, json!("vip")));
    tix.ok(&["ticket", "assign", "3", "--agent", "carol", "--team", "vip"]);
    assert_eq!(who(&tix.ticket(3)), (json!("carol"), json!("vip")));
    // Nothing to assign to, or already so: refused.
    let err = tix.fails(&["ticket", "assign", "1"]);
    assert!(err.contains("say who to assign to"), "{err}");
    let err = tix.fails(&["ticket", "assign", "3", "--agent", "carol"]);
    assert!(err.contains("already assigned"), "{err}");
}

#[test]
fn acting_agent_does_not_leak_into_assign_and_assign_agent_does_not_change_the_actor() {
    let tix = Tix::new();
    three_tickets(&tix);
    // TIX_AGENT=alice: `--team` alone must not assign alice.
    tix.ok(&["ticket", "assign", "1", "--team", "billing"]);
    assert_eq!(who(&tix.ticket(1)), (Value::Null, json!("billing")));
    // --as carol: the same.
    tix.ok(&["--as", "carol", "ticket", "assign", "2", "--team", "vip"]);
    assert_eq!(who(&tix.ticket(2)), (Value::Null, json!("vip")));
    // Assigning bob is alice's action: the journal says so, and alice can undo it.
    tix.ok(&["--as", "alice", "ticket", "assign", "3", "--agent", "bob"]);
    assert_eq!(who(&tix.ticket(3)), (json!("bob"), Value::Null));
    let show = tix.show(3);
    let assigned = show["thread"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "assigned")
        .unwrap();
    assert_eq!(assigned["actor"], json!({"kind": "agent", "name": "alice"}));
    tix.ok(&["--as", "alice", "undo"]);
    assert_eq!(who(&tix.ticket(3)), (Value::Null, Value::Null));
}

#[test]
fn take_assigns_to_me_and_unassign_clears_agent_and_team() {
    let tix = Tix::new().agent_from_config();
    three_tickets(&tix);
    tix.ok(&["ticket", "assign", "1", "--team", "billing"]);
    tix.ok(&["ticket", "take", "1", "2"]);
    assert_eq!(who(&tix.ticket(1)), (json!("alice"), json!("billing")));
    assert_eq!(who(&tix.ticket(2)), (json!("alice"), Value::Null));
    // TIX_AGENT beats the config file.
    let mut c = tix.cmd();
    c.env("TIX_AGENT", "dave")
        .args(["ticket", "take", "3"])
        .assert()
        .success();
    assert_eq!(who(&tix.ticket(3)), (json!("dave"), Value::Null));
    // And --as beats TIX_AGENT.
    let mut c = tix.cmd();
    c.env("TIX_AGENT", "dave")
        .args(["--as", "erin", "ticket", "take", "3"])
        .assert()
        .success();
    assert_eq!(who(&tix.ticket(3)), (json!("erin"), Value::Null));
    tix.ok(&["ticket", "unassign", "1"]);
    assert_eq!(who(&tix.ticket(1)), (Value::Null, Value::Null));
    let err = tix.fails(&["ticket", "unassign", "1"]);
    assert!(err.contains("#1"), "{err}");
}

#[test]
fn close_records_time_and_closer_and_refuses_twice() {
    let tix = Tix::new();
    three_tickets(&tix);
    let out = tix.ok_at("2026-11-20T10:15:00Z", &["ticket", "close", "2"]);
    assert!(out.contains("closed #2"), "{out}");
    let t = tix.ticket(2);
    assert_eq!(t["status"], "closed");
    assert_eq!(t["closed_at"], "2026-11-20T10:15:00Z");
    let show = tix.show(2);
    let closed = show["thread"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "closed")
        .unwrap();
    assert_eq!(closed["actor"], json!({"kind": "agent", "name": "alice"}));
    assert_eq!(closed["at"], "2026-11-20T10:15:00Z");
    let err = tix.fails(&["ticket", "close", "2"]);
    assert!(err.contains("#2 is already closed"), "{err}");
    // Spam cannot be closed.
    tix.ok(&["ticket", "spam", "3"]);
    let err = tix.fails(&["ticket", "close", "3"]);
    assert!(err.contains("#3 is spam"), "{err}");
}

#[test]
fn follow_up_label_field_note_and_reply_show_in_list_and_thread() {
    let tix = Tix::new();
    three_tickets(&tix);
    tix.ok(&["ticket", "follow-up", "1", "on"]);
    assert_eq!(tix.ticket(1)["follow_up"], true);
    tix.fails(&["ticket", "follow-up", "1", "on"]);
    tix.ok(&["ticket", "follow-up", "1", "off"]);
    assert_eq!(tix.ticket(1)["follow_up"], false);

    tix.ok(&["ticket", "label", "1", "add", "refund"]);
    tix.ok(&["ticket", "label", "1", "add", "vip"]);
    let mut labels: Vec<String> = serde_json::from_value(tix.ticket(1)["labels"].clone()).unwrap();
    labels.sort();
    assert_eq!(labels, ["refund", "vip"]);
    let err = tix.fails(&["ticket", "label", "1", "add", "vip"]);
    assert!(err.contains("already has label \"vip\""), "{err}");
    tix.ok(&["ticket", "label", "1", "remove", "vip"]);
    assert_eq!(tix.ticket(1)["labels"], json!(["refund"]));
    tix.fails(&["ticket", "label", "1", "remove", "vip"]);

    tix.ok(&["ticket", "field", "1", "order", "SO-2405"]);
    assert_eq!(tix.show(1)["fields"], json!({"order": "SO-2405"}));
    tix.ok(&["ticket", "field", "1", "order", "50%"]);
    assert_eq!(tix.show(1)["fields"], json!({"order": "50%"}));
    tix.ok(&["ticket", "field", "1", "order", ""]);
    assert_eq!(tix.show(1)["fields"], json!({}));
    tix.fails(&["ticket", "field", "1", "order", ""]);

    tix.ok(&["ticket", "note", "1", "call back after 5"]);
    let show = tix.show(1);
    let note = show["thread"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "note")
        .unwrap();
    assert_eq!(note["body"], "call back after 5");
    assert_eq!(note["author"], "alice");
    assert_eq!(tix.ticket(1)["messages"], 1, "a note is not a message");

    let out = tix.ok_at(
        "2026-11-20T10:30:00Z",
        &["ticket", "reply", "1", "on its way!"],
    );
    assert!(out.contains("replied on #1"), "{out}");
    let t = tix.ticket(1);
    assert_eq!(t["messages"], 2);
    assert_eq!(t["first_response_at"], "2026-11-20T10:30:00Z");
    assert_eq!(t["waiting_since"], Value::Null);
    let show = tix.show(1);
    let reply = show["thread"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "message" && i["direction"] == "out")
        .unwrap();
    assert_eq!(reply["body"], "on its way!");
    assert_eq!(reply["author"], "alice");
    assert_eq!(reply["at"], "2026-11-20T10:30:00Z");
    let text = tix.ok(&["ticket", "show", "1"]);
    assert!(text.contains("→ alice: on its way!"), "{text}");
    assert!(text.contains("[note] alice: call back after 5"), "{text}");
    assert!(text.contains("labels: refund"), "{text}");
    let list = tix.ok(&["tickets", "list"]);
    assert!(list.contains("[refund] on its way!"), "{list}");
}

#[test]
fn bulk_close_is_one_undo_step_and_undo_redo_restore_the_json() {
    let tix = Tix::new();
    three_tickets(&tix);
    let before = tix.tickets_json();
    let out = tix.ok(&["ticket", "close", "1", "2", "3"]);
    assert!(out.contains("closed #1, #2, #3"), "{out}");
    let closed = tix.tickets_json();
    assert!(tix.tickets().values().all(|t| t["status"] == "closed"));

    let out = tix.ok(&["undo"]);
    assert!(out.contains("undid: closed #1, #2, #3"), "{out}");
    assert!(tix.tickets().values().all(|t| t["status"] == "open"));
    assert_eq!(
        without_updated_at(&tix.tickets_json()),
        without_updated_at(&before)
    );

    let out = tix.ok(&["redo"]);
    assert!(out.contains("redid: closed #1, #2, #3"), "{out}");
    assert_eq!(
        tix.tickets_json(),
        closed,
        "redo at the same clock restores exactly"
    );

    tix.ok(&["undo"]);
    let err = tix.fails(&["undo"]);
    assert!(err.contains("alice has nothing to undo"), "{err}");
    assert_eq!(
        without_updated_at(&tix.tickets_json()),
        without_updated_at(&before)
    );
    // Redo twice: the second has nothing left.
    tix.ok(&["redo"]);
    let err = tix.fails(&["redo"]);
    assert!(err.contains("nothing to redo"), "{err}");
}

#[test]
fn undo_takes_back_each_kind_of_action_exactly() {
    let tix = Tix::new();
    three_tickets(&tix);
    tix.ok(&["ticket", "close", "3"]);
    tix.ok(&["ticket", "take", "2"]);
    let actions: &[&[&str]] = &[
        &["ticket", "take", "1"],
        &["ticket", "unassign", "2"],
        &["ticket", "assign", "1", "2", "--team", "vip"],
        &["ticket", "close", "1"],
        &["ticket", "reopen", "3"],
        &["ticket", "spam", "2"],
        &["ticket", "follow-up", "1", "on"],
        &["ticket", "label", "1", "add", "refund"],
        &["ticket", "field", "1", "order", "SO-1"],
        &["ticket", "note", "1", "a note"],
    ];
    for action in actions {
        let before_list = tix.tickets_json();
        let before_show = tix.show(1);
        tix.ok(action);
        let after_list = tix.tickets_json();
        assert_ne!(
            (&before_list, &before_show),
            (&after_list, &tix.show(1)),
            "{action:?} changed nothing"
        );
        tix.ok(&["undo"]);
        assert_eq!(
            without_updated_at(&tix.tickets_json()),
            without_updated_at(&before_list),
            "undo of {action:?}"
        );
        let show = tix.show(1);
        assert_eq!(show["fields"], before_show["fields"], "undo of {action:?}");
        let notes = |s: &Value| {
            s["thread"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|i| i["type"] == "note")
                .count()
        };
        assert_eq!(notes(&show), notes(&before_show), "undo of {action:?}");
        // Redo, then undo again, so the next action starts from the same state.
        tix.ok(&["redo"]);
        assert_eq!(
            without_updated_at(&tix.tickets_json()),
            without_updated_at(&after_list),
            "redo of {action:?}"
        );
        tix.ok(&["undo"]);
    }
}

#[test]
fn undo_is_refused_when_the_ticket_changed_since() {
    let tix = Tix::new();
    three_tickets(&tix);
    tix.ok(&["ticket", "close", "1"]);
    // The customer writes again: the close's ticket is reopened by the arrival.
    tix.import(&[msg("U1", "later", "2026-11-20T10:30:00Z")]);
    let before = tix.tickets_json();
    let err = tix.fails(&["undo"]);
    assert!(err.contains("#1 has changed since"), "{err}");
    assert_eq!(tix.tickets_json(), before);
}

#[test]
fn acting_on_a_missing_ticket_exits_1_with_a_clear_message() {
    let tix = Tix::new();
    three_tickets(&tix);
    for args in [
        &["ticket", "close", "99"][..],
        &["ticket", "take", "99"],
        &["ticket", "reopen", "99"],
        &["ticket", "note", "99", "x"],
        &["ticket", "reply", "99", "x"],
        &["ticket", "label", "99", "add", "x"],
        &["ticket", "show", "99"],
        &["ticket", "show", "99", "--json"],
    ] {
        let out = tix.cmd().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains("there is no ticket #99"), "{args:?}: {err}");
    }
    // In a bulk action the missing one is reported and the rest done.
    let out = tix
        .cmd()
        .args(["ticket", "close", "1", "99"])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("there is no ticket #99"), "{err}");
    assert_eq!(tix.ticket(1)["status"], "closed");
}

#[test]
fn without_an_agent_actions_exit_1_and_say_how_to_set_one() {
    let tix = Tix::with_config("reopen_window = \"24h\"\n").agent_from_config();
    three_tickets(&tix);
    for args in [
        &["ticket", "close", "1"][..],
        &["undo"],
        &["contacts", "merge", "1", "2"],
    ] {
        let out = tix.cmd().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        for hint in ["--as", "TIX_AGENT", "me = "] {
            assert!(
                err.contains(hint),
                "{args:?}: stderr should mention {hint}: {err}"
            );
        }
    }
    // Reading needs no agent.
    assert_eq!(tix.tickets().len(), 3);
    assert!(tix.tickets().values().all(|t| t["status"] == "open"));
    // An empty TIX_AGENT is no agent either.
    let mut c = tix.cmd();
    c.env("TIX_AGENT", "  ")
        .args(["ticket", "close", "1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("TIX_AGENT"));
}

#[test]
fn a_config_file_named_but_missing_or_invalid_is_an_error() {
    let tix = Tix::new();
    let mut c = tix.cmd();
    c.env("TIX_CONFIG", tix.path("nope.toml"))
        .args(["tickets", "list"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("nope.toml"));
    let bad = tix.write("bad.toml", "me = \"alice\"\nreopen_window = \"9d\"\n");
    let mut c = tix.cmd();
    c.env("TIX_CONFIG", &bad)
        .args(["tickets", "list"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("line 2").and(predicate::str::contains("reopen_window")));
}

#[test]
fn usage_errors_exit_2() {
    let tix = Tix::new();
    for args in [
        &["frobnicate"][..],
        &["ticket", "frob"],
        &["ticket", "close"],
        &["ticket", "close", "one"],
        &["ticket", "follow-up", "1", "maybe"],
        &["ticket", "label", "1", "toggle", "x"],
        &["tickets", "list", "--status", "pending"],
        &["tickets", "list", "--channel", "fax"],
        &["import"],
        &["import", "--rejects", "r.jsonl", "x.jsonl"],
        &["import", "--format", "xml", "x.jsonl"],
        &["ticket", "open", "--contact", "1"],
        &["contacts", "merge", "1"],
    ] {
        let out = tix.cmd().args(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
    assert!(!tix.db().exists(), "usage errors touch no database");
}

#[test]
fn contacts_merge_moves_conversations_and_undo_moves_them_back() {
    let tix = Tix::new();
    three_tickets(&tix);
    let contacts_before = tix.contacts_json();
    let tickets_before = tix.tickets_json();
    let from = tix.ticket(2)["contact_id"].as_i64().unwrap();
    let into = tix.ticket(1)["contact_id"].as_i64().unwrap();
    assert_ne!(from, into);
    let out = tix.ok(&["contacts", "merge", &from.to_string(), &into.to_string()]);
    assert!(out.contains("merged contact"), "{out}");

    let contacts: Vec<Value> = parse(&tix.contacts_json());
    let by_id = |id: i64| contacts.iter().find(|c| c["id"] == id).unwrap().clone();
    let target = by_id(into);
    let mut channels: Vec<&str> = target["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["channel"].as_str().unwrap())
        .collect();
    channels.sort();
    assert_eq!(channels, ["line", "messenger"]);
    assert_eq!(target["open_tickets"], 2);
    let source = by_id(from);
    assert_eq!(source["merged_into"], into);
    assert_eq!(source["identities"], json!([]));
    assert_eq!(tix.ticket(2)["contact_id"], into);
    assert_eq!(tix.ticket(2)["contact_name"], "Ann");
    // Merging again, or into a merged contact, is refused.
    tix.fails(&["contacts", "merge", &from.to_string(), &into.to_string()]);
    tix.fails(&["contacts", "merge", "3", &from.to_string()]);

    tix.ok(&["undo"]);
    assert_eq!(tix.contacts_json(), contacts_before);
    assert_eq!(tix.tickets_json(), tickets_before);
    tix.ok(&["redo"]);
    assert_eq!(tix.ticket(2)["contact_id"], into);
}

// ----- 4. the simulator ----------------------------------------------------------------------

const SIM: [&str; 7] = [
    "simulate",
    "--messages",
    "2000",
    "--seed",
    "5",
    "--days",
    "3",
];

#[test]
fn simulate_with_one_seed_into_two_fresh_databases_gives_identical_tickets() {
    let a = Tix::new();
    let b = Tix::new();
    let out = a.ok(&SIM);
    assert!(out.contains("new 2000"), "{out}");
    b.ok(&SIM);
    let list = a.tickets_json();
    assert_eq!(list, b.tickets_json());
    assert_eq!(a.contacts_json(), b.contacts_json());
    let tickets: Vec<Value> = parse(&list);
    assert!(tickets.len() > 10, "{} tickets", tickets.len());
    let sum: i64 = tickets
        .iter()
        .map(|t| t["messages"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, 2000);
    assert_eq!(a.total_messages(), 2000);
    // A different seed is different traffic.
    let c = Tix::new();
    c.ok(&[
        "simulate",
        "--messages",
        "2000",
        "--seed",
        "6",
        "--days",
        "3",
    ]);
    assert_ne!(c.tickets_json(), list);
}

#[test]
fn simulate_again_on_the_same_database_adds_no_messages() {
    let tix = Tix::new();
    tix.ok(&SIM);
    let count = tix.tickets().len();
    let out = tix.ok(&SIM);
    assert!(out.contains("new 0,"), "{out}");
    assert!(out.contains("duplicates 2000"), "{out}");
    assert!(out.contains("tickets created 0"), "{out}");
    assert_eq!(tix.total_messages(), 2000);
    assert_eq!(tix.tickets().len(), count);
}

#[test]
fn simulate_again_on_the_same_database_changes_no_ticket() {
    let tix = Tix::new();
    tix.ok(&SIM);
    let before = tix.tickets_json();
    let out = tix.ok(&SIM);
    assert!(out.contains("agent actions 0"), "{out}");
    assert_eq!(tix.tickets_json(), before);
}

// ----- 5. untrusted text ---------------------------------------------------------------------

fn assert_no_control_bytes(what: &str, out: &[u8]) {
    for (i, b) in out.iter().enumerate() {
        assert!(
            !matches!(b, 0x1b | 0x07 | 0x00),
            "{what}: byte {b:#04x} at {i} reaches the terminal:\n{:?}",
            String::from_utf8_lossy(out)
        );
    }
    // A C1 CSI (U+009B) is a control sequence introducer too.
    assert!(
        !String::from_utf8_lossy(out).contains('\u{9b}'),
        "{what}: U+009B reaches the terminal"
    );
}

#[test]
fn customer_escape_sequences_and_nul_never_reach_stdout() {
    let tix = Tix::new();
    let evil = "\u{1b}]0;title\u{7}\u{1b}[2J\u{0}";
    tix.import(&[json!({
        "channel": "line",
        "from": format!("U{evil}1"),
        "name": format!("Eve{evil}Evil"),
        "id": format!("e{evil}1"),
        "at": "2026-11-20T09:00:00Z",
        "text": format!("hello{evil} world\r\nsecond line \u{9b}31m red"),
    })]);
    // JSON keeps the text as it was (escaped by JSON).
    let t = tix.ticket(1);
    assert_eq!(t["contact_name"], format!("Eve{evil}Evil"));
    for args in [
        &["tickets", "list"][..],
        &["tickets", "list", "--status", "all"],
        &["ticket", "show", "1"],
        &["contacts", "list"],
    ] {
        let out = tix.cmd().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert_no_control_bytes(&format!("{args:?}"), &out.stdout);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Eve"),
            "{args:?}: the name is still shown:\n{text}"
        );
    }
    let show = tix.ok(&["ticket", "show", "1"]);
    assert!(show.contains("hello") && show.contains("world"), "{show}");
}

#[test]
fn imported_account_and_agent_names_never_reach_stdout_as_control_sequences() {
    let tix = Tix::new();
    let evil = "\u{1b}]0;title\u{7}\u{1b}[2J\u{0}";
    tix.import(&[
        json!({"channel":"line","account":format!("shop{evil}"),"from":"U1","name":"Ann","id":"a1",
               "at":"2026-11-20T09:00:00Z","text":"hi"}),
        json!({"channel":"line","account":format!("shop{evil}"),"from":"U1","id":"a2",
               "at":"2026-11-20T09:01:00Z","text":"hello","direction":"out",
               "agent":format!("bob{evil}")}),
    ]);
    for args in [
        &["tickets", "list"][..],
        &["ticket", "show", "1"],
        &["contacts", "list"],
    ] {
        let out = tix.cmd().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert_no_control_bytes(&format!("{args:?}"), &out.stdout);
    }
}

#[test]
fn label_and_field_names_with_control_characters_are_refused_and_never_echoed() {
    let tix = Tix::new();
    tix.import(&[msg("U1", "m1", "2026-11-20T09:00:00Z")]);
    for args in [
        &["ticket", "label", "1", "add", "x\u{1b}[2J"][..],
        &["ticket", "field", "1", "f\u{1b}]0;t\u{7}", "v"],
    ] {
        let out = tix.cmd().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("control characters"),
            "{args:?}"
        );
        assert_no_control_bytes(&format!("{args:?}"), &out.stdout);
        assert_no_control_bytes(&format!("{args:?} stderr"), &out.stderr);
    }
    for args in [&["ticket", "show", "1"][..], &["tickets", "list"]] {
        let out = tix.cmd().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert_no_control_bytes(&format!("{args:?}"), &out.stdout);
    }
}

#[test]
fn import_errors_never_echo_control_sequences_to_stderr() {
    let tix = Tix::new();
    let file = tix.write(
        "bad.jsonl",
        concat!(
            r#"{"channel":"li\u001b[2Jne","from":"U1","id":"m1","at":"x\u001b]0;t\u0007","#,
            r#""text":"hi"}"#,
            "\n"
        ),
    );
    let out = tix
        .cmd()
        .args(["import", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_no_control_bytes("import stderr", &out.stderr);
}

// ----- 6. an import killed part-way ------------------------------------------------------------

#[test]
fn killing_an_import_part_way_leaves_a_consistent_db_and_a_rerun_completes_without_duplicates() {
    const LINES: usize = 100_000;
    const CUSTOMERS: usize = 2_000;
    let tix = Tix::new();
    let mut content = String::with_capacity(LINES * 110);
    let channels = ["line", "messenger", "shopee", "whatsapp"];
    for i in 0..LINES {
        let c = i % CUSTOMERS;
        // One second apart from 2026-11-19T00:00:00Z: every customer writes about every 33 min,
        // so no ticket is ever closed and each customer has exactly one ticket.
        let at = 1_795_046_400_000_i64 + i as i64 * 1000;
        content.push_str(&format!(
            "{{\"channel\":\"{}\",\"from\":\"C{c}\",\"name\":\"Customer {c}\",\"id\":\"k{i}\",\"at\":{at},\"text\":\"message {i} from C{c}\"}}\n",
            channels[c % channels.len()]
        ));
    }
    let file = tix.write("big.jsonl", content);

    let started = Instant::now();
    let mut child = std::process::Command::new(TIX);
    for v in TIX_VARS {
        child.env_remove(v);
    }
    let mut child = child
        .env("TIX_DB", tix.db())
        .env("TIX_CONFIG", tix.path("config.toml"))
        .env("TIX_NOW", NOW)
        .env("TIX_AGENT", "alice")
        .args(["import", file.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The file is validated before anything is written; wait until writing has started (the
    // write-ahead log appears), then let it run ~300 ms more and kill it.
    let wal = tix.path("tix.db-wal");
    let mut finished_first = false;
    while !wal.exists() && started.elapsed() < Duration::from_secs(60) {
        if child.try_wait().unwrap().is_some() {
            finished_first = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(300));
    if child.try_wait().unwrap().is_some() {
        finished_first = true;
    }
    child.kill().ok();
    let status = child.wait().unwrap();
    let killed_after = started.elapsed();

    // Whatever was stored is consistent: the list works, per-ticket counts add up to the
    // messages stored, and no conversation has two open tickets.
    let stored = tix.total_messages();
    let tickets = tix.tickets();
    let sum: i64 = tickets
        .values()
        .map(|t| t["messages"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, stored, "ticket counts vs messages after the kill");
    assert!(stored <= LINES as i64);
    let mut open_per_customer = BTreeMap::new();
    for t in tickets.values().filter(|t| t["status"] == "open") {
        *open_per_customer
            .entry((t["channel"].to_string(), t["customer_id"].to_string()))
            .or_insert(0) += 1;
    }
    assert!(open_per_customer.values().all(|&n| n == 1));
    assert_eq!(tickets.len(), open_per_customer.len());
    assert_check(&tix.db());
    eprintln!(
        "import killed after {killed_after:?} (exit {status:?}, finished first: {finished_first}) \
         with {stored} of {LINES} messages stored"
    );

    // The rerun stores exactly the rest.
    let out = tix.ok(&["import", file.to_str().unwrap()]);
    assert_eq!(summary_count(&out, "read"), LINES as i64, "{out}");
    assert_eq!(summary_count(&out, "new"), LINES as i64 - stored, "{out}");
    assert_eq!(summary_count(&out, "duplicates"), stored, "{out}");
    assert_eq!(tix.total_messages(), LINES as i64);
    let tickets = tix.tickets();
    assert_eq!(tickets.len(), CUSTOMERS, "one ticket per customer");
    let sum: i64 = tickets
        .values()
        .map(|t| t["messages"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, LINES as i64);
    assert!(
        tickets
            .values()
            .all(|t| t["status"] == "open" && t["messages"] == (LINES / CUSTOMERS) as i64),
        "every customer's {} messages in their one ticket",
        LINES / CUSTOMERS
    );
    assert_check(&tix.db());
}

/// SQLite's own integrity check and the store's invariants (DESIGN §1) hold.
fn assert_check(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    drop(conn);
    let store = tix::store::Store::open(db).unwrap();
    assert_eq!(
        store.read().invariant_violations().unwrap(),
        Vec::<String>::new()
    );
}

// ----- helpers' own sanity -----------------------------------------------------------------------

#[test]
fn tix_without_subcommand_summarises_the_database() {
    let tix = Tix::new();
    three_tickets(&tix);
    let out = tix.ok(&[]);
    assert!(
        out.contains("3 open (3 unassigned), 0 closed, 0 spam"),
        "{out}"
    );
    assert_eq!(tix.total_messages(), 3);
    let paths = tix.ok(&["config", "paths"]);
    assert!(paths.contains(tix.db().to_str().unwrap()), "{paths}");
}

fn dump(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
