//! `tix import` of the channels' own webhook payloads, end to end: each platform's documented
//! sample payloads (in `tests/fixtures/webhooks/`) become the right contacts, conversations,
//! tickets and directions, with `--format auto` exactly as with the platform's format; a second
//! delivery adds nothing; what is not a message is counted, never stored; a malformed payload is
//! reported with file, line and JSON path.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

mod support;

const NOW: &str = "2026-11-20T10:00:00Z";

/// One test's world: a temporary directory holding the database and the config file.
struct Tix {
    dir: TempDir,
}

impl Tix {
    fn new() -> Tix {
        let dir = tempfile::Builder::new()
            .prefix("tix-hooks-")
            .tempdir()
            .unwrap();
        std::fs::write(
            dir.path().join("config.toml"),
            "me = \"alice\"\nreopen_window = \"24h\"\n",
        )
        .unwrap();
        Tix { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    fn cmd(&self) -> Command {
        support::tix_in(self.dir.path(), NOW)
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "tix {args:?} failed\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs `tix ARGS`, expects exit code 1, returns stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "tix {args:?} should fail\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    /// `tix import --format FORMAT FILES…`; returns the summary.
    fn import(&self, format: &str, files: &[PathBuf]) -> String {
        let mut args = vec!["import", "--format", format];
        args.extend(files.iter().map(|f| f.to_str().unwrap()));
        self.ok(&args)
    }

    fn tickets_json(&self) -> String {
        self.ok(&["tickets", "list", "--status", "all", "--json"])
    }

    fn tickets(&self) -> Vec<Value> {
        parse(&self.tickets_json())
    }

    fn contacts_json(&self) -> String {
        self.ok(&["contacts", "list", "--json"])
    }

    fn contacts(&self) -> Vec<Value> {
        parse(&self.contacts_json())
    }

    /// The messages of ticket `n` as (direction, kind, body), in thread order.
    fn thread(&self, n: i64) -> Vec<(String, String, String)> {
        let show: Value = parse(&self.ok(&["ticket", "show", &n.to_string(), "--json"]));
        show["thread"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["type"] == "message")
            .map(|i| {
                let s = |k: &str| i[k].as_str().unwrap().to_string();
                (s("direction"), s("kind"), s("body"))
            })
            .collect()
    }
}

fn parse<T: serde::de::DeserializeOwned>(s: &str) -> T {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}):\n{s}"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/webhooks")
        .join(name)
}

fn fixtures(names: &[&str]) -> Vec<PathBuf> {
    names.iter().map(|n| fixture(n)).collect()
}

/// A number out of an import summary such as `read 3, new 2, duplicates 1, …`.
fn summary_count(summary: &str, key: &str) -> i64 {
    summary
        .lines()
        .next()
        .unwrap()
        .split(", ")
        .find_map(|part| part.trim().strip_prefix(key)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no \"{key}\" in: {summary}"))
}

/// The summary's `skipped:` line, if any.
fn skipped_line(summary: &str) -> Option<&str> {
    summary.lines().find(|l| l.starts_with("skipped: "))
}

/// Imports `files` with `--format auto` into one world and with `format` into another, checks
/// both give the same tickets and contacts, then imports them again into the first to show that
/// a second delivery adds nothing. Returns the first world and its first summary.
fn import_both_ways(format: &str, files: &[PathBuf]) -> (Tix, String) {
    let auto = Tix::new();
    let summary = auto.import("auto", files);
    let explicit = Tix::new();
    assert_eq!(
        without_timing(&explicit.import(format, files)),
        without_timing(&summary)
    );
    assert_eq!(explicit.tickets_json(), auto.tickets_json(), "{format}");
    assert_eq!(explicit.contacts_json(), auto.contacts_json(), "{format}");

    let tickets = auto.tickets_json();
    let contacts = auto.contacts_json();
    let again = auto.import("auto", files);
    assert_eq!(summary_count(&again, "new"), 0, "{format}: {again}");
    assert_eq!(
        summary_count(&again, "duplicates"),
        summary_count(&summary, "read"),
        "{format}: {again}"
    );
    assert_eq!(summary_count(&again, "tickets created"), 0, "{format}");
    assert_eq!(auto.tickets_json(), tickets, "{format}: tickets changed");
    assert_eq!(auto.contacts_json(), contacts, "{format}: contacts changed");
    (auto, summary)
}

/// The summary without its timing figures, which differ between runs.
fn without_timing(summary: &str) -> String {
    summary
        .lines()
        .map(|l| match l.find(", reopened ") {
            Some(i) => {
                let rest = &l[i + ", reopened ".len()..];
                format!("{}, reopened {}", &l[..i], rest.split(',').next().unwrap())
            }
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn only<T: std::fmt::Debug>(mut items: Vec<T>) -> T {
    assert_eq!(items.len(), 1, "{items:?}");
    items.remove(0)
}

// ----- each platform's samples ---------------------------------------------------------------

#[test]
fn line_samples_become_one_customers_ticket_on_the_destination_account() {
    let files = fixtures(&[
        "line-multi.json",
        "line-media.json",
        "line-nonmessage.json",
        "line-verify-empty.json",
    ]);
    let (tix, summary) = import_both_ways("line", &files);
    // The seven events of line-multi.json all carry message id 325708: one message, six repeats.
    assert_eq!(summary_count(&summary, "read"), 8);
    assert_eq!(summary_count(&summary, "new"), 2);
    assert_eq!(summary_count(&summary, "duplicates"), 6);
    assert_eq!(
        skipped_line(&summary),
        Some("skipped: 1 follow, 1 postback, 1 undefined, 1 unfollow, 1 unsend")
    );
    let t = only(tix.tickets());
    assert_eq!(
        (
            &t["channel"],
            &t["account"],
            &t["customer_id"],
            &t["status"]
        ),
        (
            &Value::from("line"),
            &Value::from("U123"),
            &Value::from("U206d25c2ea6bd87c17655609a1c37cb8"),
            &Value::from("open")
        )
    );
    let thread = tix.thread(t["number"].as_i64().unwrap());
    let kinds: Vec<(&str, &str)> = thread
        .iter()
        .map(|(d, k, _)| (d.as_str(), k.as_str()))
        .collect();
    assert_eq!(kinds, [("in", "file"), ("in", "image")]);
    only(tix.contacts());
}

#[test]
fn messenger_samples_keep_the_page_out_of_the_contacts_and_its_echo_outgoing() {
    let files = fixtures(&[
        "messenger-multi.json",
        "messenger-echo.json",
        "messenger-media.json",
        "messenger-nonmessage.json",
    ]);
    let (tix, summary) = import_both_ways("messenger", &files);
    assert_eq!(summary_count(&summary, "new"), 4);
    assert_eq!(
        skipped_line(&summary),
        Some("skipped: 1 delivery, 1 message_edit, 1 postback, 1 reaction, 1 read")
    );
    let t = only(tix.tickets());
    assert_eq!(t["account"], "682498302938465");
    assert_eq!(t["customer_id"], "1254459154682919");
    assert_eq!(
        tix.thread(t["number"].as_i64().unwrap()),
        [
            ("out".into(), "text".into(), "hello, world!".into()),
            ("in".into(), "text".into(), "hello, world!".into()),
            ("in".into(), "image".into(), String::new()),
            (
                "in".into(),
                "text".into(),
                "This is where I want to go: https://youtu.be/bbo_fZAjIhg".into()
            ),
        ]
    );
    let contact = only(tix.contacts());
    assert_eq!(contact["name"], "1254459154682919");
    assert_eq!(contact["identities"][0]["customer_id"], "1254459154682919");
}

#[test]
fn messenger_text_and_sticker_samples_import_on_their_own() {
    // These samples reuse the mid of the echo and media samples, so they get worlds of their own.
    let (tix, _) = import_both_ways("messenger", &fixtures(&["messenger-text.json"]));
    let t = only(tix.tickets());
    assert_eq!(
        tix.thread(t["number"].as_i64().unwrap()),
        [("in".into(), "text".into(), "hello, world!".into())]
    );
    let (tix, _) = import_both_ways("messenger", &fixtures(&["messenger-sticker.json"]));
    let t = only(tix.tickets());
    assert_eq!(
        tix.thread(t["number"].as_i64().unwrap()),
        [("in".into(), "sticker".into(), String::new())]
    );
}

#[test]
fn instagram_samples_give_one_conversation_with_the_echo_outgoing_and_the_comment_stored() {
    let files = fixtures(&[
        "instagram-text.json",
        "instagram-echo.json",
        "instagram-media.json",
        "instagram-multi-nonmessage.json",
        "instagram-comment.json",
    ]);
    let (tix, summary) = import_both_ways("instagram", &files);
    assert_eq!(summary_count(&summary, "new"), 3);
    assert_eq!(
        skipped_line(&summary),
        Some("skipped: 1 postback, 1 reaction, 1 read, 1 unsend")
    );
    assert!(
        summary.contains("\ncomments: read 1, new 1, duplicates 0\n"),
        "{summary}"
    );
    let t = only(tix.tickets());
    assert_eq!(t["channel"], "instagram");
    assert_eq!(t["account"], "17841405726653026");
    assert_eq!(t["customer_id"], "6543210987654321");
    let directions: Vec<String> = tix
        .thread(t["number"].as_i64().unwrap())
        .into_iter()
        .map(|(d, _, _)| d)
        .collect();
    assert_eq!(directions, ["in", "out", "in"]);
    // The commenter is the customer who wrote in: the same identity on the same account, so
    // still one contact.
    only(tix.contacts());
    let again = tix.import("auto", &files);
    assert!(
        again.contains("\ncomments: read 1, new 0, duplicates 1\n"),
        "{again}"
    );
}

#[test]
fn whatsapp_samples_name_the_customer_and_count_statuses() {
    let files = fixtures(&[
        "whatsapp-text.json",
        "whatsapp-media.json",
        "whatsapp-multi.json",
        "whatsapp-status.json",
    ]);
    let (tix, summary) = import_both_ways("whatsapp", &files);
    assert_eq!(summary_count(&summary, "new"), 7);
    assert_eq!(
        skipped_line(&summary),
        Some("skipped: 1 reaction, 3 statuses")
    );
    let t = only(tix.tickets());
    assert_eq!(t["contact_name"], "Sheena Nelson");
    assert_eq!(t["account"], "106540352242922");
    assert_eq!(t["customer_id"], "16505551234");
    let kinds: Vec<String> = tix
        .thread(t["number"].as_i64().unwrap())
        .into_iter()
        .map(|(d, k, _)| format!("{d} {k}"))
        .collect();
    assert_eq!(
        kinds,
        [
            "in image",
            "in file",
            "in file",
            "in sticker",
            "in location",
            "in text",
            "in text"
        ]
    );
}

#[test]
fn whatsapp_business_app_echo_is_the_shops_outgoing_message() {
    let (tix, _) = import_both_ways("whatsapp", &fixtures(&["whatsapp-echo-smb.json"]));
    let t = only(tix.tickets());
    assert_eq!(t["account"], "1122334455667");
    assert_eq!(t["customer_id"], "<WHATSAPP_USER_PHONE_NUMBER>");
    assert_eq!(
        tix.thread(t["number"].as_i64().unwrap()),
        [("out".into(), "text".into(), "Test message".into())]
    );
}

#[test]
fn facebook_feed_comments_are_stored_as_comments_never_as_tickets() {
    let files = fixtures(&[
        "messenger-feed-comment.json",
        "messenger-feed-comment-by-page.json",
    ]);
    let (tix, summary) = import_both_ways("facebook", &files);
    assert_eq!(summary_count(&summary, "read"), 0);
    assert!(
        summary.contains("\ncomments: read 2, new 2, duplicates 0\n"),
        "{summary}"
    );
    assert!(tix.tickets().is_empty());
    // The commenter is a contact; the page's own comment makes none.
    assert_eq!(only(tix.contacts())["name"], "Jane Customer");
}

#[test]
fn shopee_samples_give_each_buyer_a_ticket_named_by_username_on_the_shop_account() {
    let files = fixtures(&[
        "shopee-text.json",
        "shopee-image.json",
        "shopee-video.json",
        "shopee-item.json",
        "shopee-notification.json",
    ]);
    let (tix, summary) = import_both_ways("shopee", &files);
    assert_eq!(summary_count(&summary, "new"), 4);
    assert_eq!(skipped_line(&summary), Some("skipped: 1 notification"));
    let mut got: Vec<(String, String, String)> = tix
        .tickets()
        .iter()
        .map(|t| {
            let s = |k: &str| t[k].as_str().unwrap().to_string();
            (s("account"), s("customer_id"), s("contact_name"))
        })
        .collect();
    got.sort();
    let want = [
        ("123456789", "161057467", "hyhy2606"),
        ("123456789", "163219823", "fadlyjo."),
        ("123456789", "679422730", "thutrang290402"),
        ("947042923", "165105353", "vn_cstoreponorogo"),
    ];
    assert_eq!(
        got,
        want.map(|(a, c, n)| (a.to_string(), c.to_string(), n.to_string()))
    );
    let text = tix
        .tickets()
        .into_iter()
        .find(|t| t["customer_id"] == "165105353")
        .unwrap();
    assert_eq!(
        tix.thread(text["number"].as_i64().unwrap()),
        [("in".into(), "text".into(), "Baik kak .. 🤗".into())]
    );
}

// ----- files of many payloads, and bad ones --------------------------------------------------

/// A payload squeezed onto one line.
fn compact(name: &str) -> String {
    let v: Value = parse(&std::fs::read_to_string(fixture(name)).unwrap());
    v.to_string()
}

#[test]
fn one_payload_per_line_of_several_platforms_imports_like_the_files_one_by_one() {
    let names = [
        "whatsapp-text.json",
        "shopee-text.json",
        "instagram-text.json",
        "line-media.json",
        "whatsapp-status.json",
    ];
    let together = Tix::new();
    let lines: String = names.iter().map(|n| compact(n) + "\n").collect();
    let file = together.write("deliveries.jsonl", lines);
    let summary = together.import("auto", &[file]);
    assert_eq!(summary_count(&summary, "new"), 4);
    assert_eq!(skipped_line(&summary), Some("skipped: 2 statuses"));

    let apart = Tix::new();
    for name in names {
        apart.import("auto", &[fixture(name)]);
    }
    assert_eq!(together.contacts_json(), apart.contacts_json());
    let strip = |mut v: Vec<Value>| {
        for t in &mut v {
            t.as_object_mut().unwrap().remove("number");
        }
        v.sort_by_key(|t| t["customer_id"].as_str().unwrap().to_string());
        v
    };
    assert_eq!(strip(together.tickets()), strip(apart.tickets()));
}

#[test]
fn a_malformed_payload_names_file_line_and_path_and_nothing_is_imported() {
    let tix = Tix::new();
    let good = compact("messenger-multi.json");
    let bad = std::fs::read_to_string(fixture("messenger-echo.json"))
        .unwrap()
        .replace("\"mid\": \"mid.1457764197618:41d102a3e1ae206a38\",", "");
    let file = tix.write("page.json", format!("{good}\n{bad}"));
    let err = tix.fails(&["import", file.to_str().unwrap()]);
    let want = format!(
        "{}:2: entry[0].messaging[0].message.mid: missing",
        file.display()
    );
    assert!(err.contains(&want), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    assert!(tix.tickets().is_empty());

    // With --skip-invalid the good payload is imported and the bad one kept, unchanged.
    let out = tix.ok(&["import", "--skip-invalid", file.to_str().unwrap()]);
    assert_eq!(summary_count(&out, "new"), 2);
    assert_eq!(summary_count(&out, "rejected"), 1);
    let rejects = std::fs::read_to_string(tix.path("page.json.rejects")).unwrap();
    assert_eq!(rejects.trim_end(), bad.trim_end());
}

#[test]
fn a_payload_of_another_platform_than_the_format_given_is_refused() {
    let tix = Tix::new();
    let file = fixture("whatsapp-text.json");
    let err = tix.fails(&["import", "--format", "line", file.to_str().unwrap()]);
    assert!(
        err.contains(&format!(
            "{}:1: this is a WhatsApp payload, not LINE (import it with --format whatsapp or auto)",
            file.display()
        )),
        "{err}"
    );
}

#[test]
fn broken_json_in_a_pretty_payload_points_at_the_file_line() {
    let tix = Tix::new();
    let text = std::fs::read_to_string(fixture("line-text.json")).unwrap();
    // Line 9 of the sample, line 11 of the file, is `"source": {`; drop its colon.
    let broken = text.replacen("\"source\": {", "\"source\" {", 1);
    let file = tix.write("line.json", format!("\n\n{broken}"));
    let err = tix.fails(&["import", "--format", "line", file.to_str().unwrap()]);
    assert!(
        err.contains(&format!(
            "{}:3: not valid JSON at line 11, column 16: expected `:`",
            file.display()
        )),
        "{err}"
    );
}

#[test]
fn payload_account_ids_are_stored_under_the_configured_account_names() {
    let tix = Tix::new();
    tix.write(
        "config.toml",
        "me = \"alice\"\n\
         [[accounts]]\nname = \"line-main\"\nchannel = \"line\"\nid = \"U123\"\n\
         [[accounts]]\nname = \"shop-id\"\nchannel = \"shopee\"\nid = 947042923\n\
         [[accounts]]\nname = \"wa-other\"\nchannel = \"whatsapp\"\nid = \"999\"\n",
    );
    tix.import(
        "auto",
        &fixtures(&["line-text.json", "shopee-text.json", "whatsapp-text.json"]),
    );
    let mut accounts: Vec<String> = tix
        .tickets()
        .iter()
        .map(|t| t["account"].as_str().unwrap().to_string())
        .collect();
    accounts.sort();
    accounts.dedup();
    // WhatsApp's phone number id 106540352242922 is not configured: it stays the account name.
    assert_eq!(accounts, ["106540352242922", "line-main", "shop-id"]);
}
