//! The comments and reviews areas from the command line, with the real binary: public comments
//! from the channels' webhook payloads and product reviews from JSON Lines are stored once each,
//! listed, answered privately or converted into the customer's DM ticket, and linked to it.

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

mod support;

/// A day after the fixtures' Facebook comments (2025-03-22), inside Meta's private-reply window.
const NOW: &str = "2025-03-23T10:00:00Z";

const REVIEWS: &str = concat!(
    r#"{"platform":"shopee","product":"Linen shirt M","rating":2,"author":"nok_88","author_id":"88120455","text":"ผ้าบางมาก \u001b[31mred","time":"2025-03-23T09:15:00+07:00","id":"rv-1"}"#,
    "\n",
    r#"{"platform":"lazada","product":"Mug","rating":5,"author":"tom","text":"great","time":1742700000000,"id":"lz-9"}"#,
    "\n",
);

struct Tix {
    dir: TempDir,
}

impl Tix {
    fn new() -> Tix {
        let dir = tempfile::Builder::new()
            .prefix("tix-comments-")
            .tempdir()
            .unwrap();
        std::fs::write(dir.path().join("config.toml"), "me = \"alice\"\n").unwrap();
        Tix { dir }
    }

    fn write(&self, name: &str, content: &str) -> PathBuf {
        let p = self.dir.path().join(name);
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
            "tix {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command that must be refused; returns its stderr.
    fn refused(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "tix {args:?} should be refused");
        String::from_utf8(out.stderr).unwrap()
    }

    fn json(&self, args: &[&str]) -> Vec<Value> {
        serde_json::from_str::<Value>(&self.ok(args))
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    fn import_comments(&self) -> String {
        let files: Vec<String> = [
            "messenger-feed-comment.json",
            "messenger-feed-comment-by-page.json",
            "instagram-comment.json",
        ]
        .iter()
        .map(|f| format!("{}/tests/fixtures/webhooks/{f}", env!("CARGO_MANIFEST_DIR")))
        .collect();
        let mut args = vec!["import"];
        args.extend(files.iter().map(String::as_str));
        self.ok(&args)
    }

    fn import_reviews(&self) -> String {
        let path = self.write("reviews.jsonl", REVIEWS);
        self.ok(&["import", "--format", "reviews", path.to_str().unwrap()])
    }

    /// The id of the comment with this platform id.
    fn comment_id(&self, external: &str) -> String {
        self.json(&["comments", "list", "--all", "--json"])
            .iter()
            .find(|c| c["comment_id"] == external)
            .unwrap()["id"]
            .to_string()
    }
}

const JANE: &str = "122131676912594941_1213590066982749";
const BY_PAGE: &str = "122131676912594941_1213590066982748";

#[test]
fn comments_are_stored_once_and_listed_unhandled_by_default() {
    let tix = Tix::new();
    let summary = tix.import_comments();
    assert!(
        summary.contains("comments: read 3, new 3, duplicates 0"),
        "{summary}"
    );
    let again = tix.import_comments();
    assert!(
        again.contains("comments: read 3, new 0, duplicates 3"),
        "{again}"
    );
    let waiting = tix.json(&["comments", "list", "--json"]);
    let authors: Vec<&str> = waiting
        .iter()
        .map(|c| c["author_name"].as_str().unwrap())
        .collect();
    // Newest first; the page's own comment needs nobody.
    assert_eq!(authors, ["Jane Customer", "some_customer"]);
    assert_eq!(waiting[0]["platform"], "facebook");
    assert_eq!(waiting[0]["channel"], "messenger");
    assert_eq!(waiting[0]["account"], "448242228374517");
    assert_eq!(waiting[0]["post_id"], "448242228374517_122131676912594941");
    assert_eq!(waiting[0]["created_at"], "2025-03-22T18:20:04Z");
    assert_eq!(waiting[1]["platform"], "instagram");
    let all = tix.json(&["comments", "list", "--all", "--json"]);
    assert_eq!(all.len(), 3);
    let page = all.iter().find(|c| c["comment_id"] == BY_PAGE).unwrap();
    assert_eq!(
        (&page["from_page"], &page["handled"]),
        (&true.into(), &true.into())
    );
    // Comments are not tickets; their authors are contacts.
    assert_eq!(
        tix.json(&["tickets", "list", "--status", "all", "--json"])
            .len(),
        0
    );
    assert_eq!(tix.json(&["contacts", "list", "--json"]).len(), 2);
    let table = tix.ok(&["comments", "list"]);
    assert!(table.contains("Jane Customer"), "{table}");
    assert!(
        table.contains("How much is shipping to Chiang Mai?"),
        "{table}"
    );
}

#[test]
fn replying_privately_opens_the_commenters_messenger_ticket_with_the_reply_and_links_it() {
    let tix = Tix::new();
    tix.import_comments();
    let id = tix.comment_id(JANE);
    let done = tix.ok(&["comments", "reply", &id, "Hi Jane, shipping is 50 baht"]);
    assert!(done.contains("on #1 (new ticket)"), "{done}");
    let tickets = tix.json(&["tickets", "list", "--json"]);
    assert_eq!(tickets.len(), 1);
    let t = &tickets[0];
    assert_eq!(t["channel"], "messenger");
    assert_eq!(t["account"], "448242228374517");
    assert_eq!(t["customer_id"], "7000000000000001");
    assert_eq!(t["contact_name"], "Jane Customer");
    assert_eq!(t["messages"], 1);
    let show = tix.ok(&["ticket", "show", "1"]);
    assert!(
        show.contains("→ alice: Hi Jane, shipping is 50 baht"),
        "{show}"
    );
    assert!(
        show.contains("linked: opened from Facebook comment 1 \"How much is shipping to Chiang Mai?\" by alice"),
        "{show}"
    );
    // Handled: gone from the default list, linked in the full one.
    let waiting = tix.json(&["comments", "list", "--json"]);
    assert!(waiting.iter().all(|c| c["comment_id"] != JANE));
    let all = tix.json(&["comments", "list", "--all", "--json"]);
    let jane = all.iter().find(|c| c["comment_id"] == JANE).unwrap();
    assert_eq!(
        (&jane["ticket"], &jane["handled_by"]),
        (&1.into(), &"alice".into())
    );
    // The customer answering in Messenger lands on the same ticket.
    let answer = tix.write(
        "answer.jsonl",
        r#"{"channel":"messenger","account":"448242228374517","from":"7000000000000001","id":"m-1","at":"2025-03-23T10:05:00Z","text":"thanks!"}"#,
    );
    tix.ok(&["import", answer.to_str().unwrap()]);
    let tickets = tix.json(&["tickets", "list", "--json"]);
    assert_eq!((tickets.len(), &tickets[0]["messages"]), (1, &2.into()));
}

#[test]
fn replying_privately_reuses_the_open_conversation_and_refusals_say_why() {
    let tix = Tix::new();
    let earlier = tix.write(
        "earlier.jsonl",
        r#"{"channel":"messenger","account":"448242228374517","from":"7000000000000001","id":"m-0","at":"2025-03-23T09:00:00Z","text":"hello?"}"#,
    );
    tix.ok(&["import", earlier.to_str().unwrap()]);
    tix.import_comments();
    // The commenter already wrote in: same contact, same ticket.
    assert_eq!(tix.json(&["contacts", "list", "--json"]).len(), 2);
    let id = tix.comment_id(JANE);
    let done = tix.ok(&["comments", "reply", &id, "Replied in chat"]);
    assert_eq!(
        done.trim(),
        format!("replied privately to comment {id} on #1")
    );
    let show = tix.ok(&["ticket", "show", "1"]);
    assert!(
        show.contains("linked: linked to Facebook comment"),
        "{show}"
    );

    let again = tix.refused(&["comments", "reply", &id, "twice"]);
    assert!(
        again.contains(&format!(
            "comment {id} was already answered privately on #1 by alice"
        )),
        "{again}"
    );
    let page = tix.refused(&["comments", "reply", &tix.comment_id(BY_PAGE), "x"]);
    assert!(page.contains("written by the page itself"), "{page}");
    let old = tix.refused(&[
        "comments",
        "reply",
        &tix.comment_id("17865799348089039"),
        "x",
    ]);
    assert!(old.contains("within 7 days of the comment"), "{old}");
    let blank = tix.refused(&["comments", "reply", &id, "  "]);
    assert!(blank.contains("a reply needs some text"), "{blank}");
    let missing = tix.refused(&["comments", "reply", "99", "x"]);
    assert!(missing.contains("there is no comment 99"), "{missing}");
    assert_eq!(tix.json(&["tickets", "list", "--json"])[0]["messages"], 2);
}

#[test]
fn reviews_are_imported_once_listed_and_converted_to_the_reviewers_chat() {
    let tix = Tix::new();
    let summary = tix.import_reviews();
    assert!(
        summary.contains("reviews: read 2, new 2, duplicates 0"),
        "{summary}"
    );
    let again = tix.import_reviews();
    assert!(
        again.contains("reviews: read 2, new 0, duplicates 2"),
        "{again}"
    );

    let reviews = tix.json(&["reviews", "list", "--json"]);
    assert_eq!(reviews.len(), 2);
    let low = tix.json(&["reviews", "list", "--rating-below", "3", "--json"]);
    assert_eq!(low.len(), 1);
    let r = &low[0];
    assert_eq!(
        (&r["platform"], &r["rating"], &r["review_id"]),
        (&"shopee".into(), &2.into(), &"rv-1".into())
    );
    assert_eq!(r["created_at"], "2025-03-23T02:15:00Z");
    // Customer text reaches the terminal harmlessly.
    let table = tix.ok(&["reviews", "list"]);
    assert!(table.contains("★★☆☆☆"), "{table}");
    assert!(
        table.contains("␛[31mred") && !table.contains('\u{1b}'),
        "{table}"
    );

    let id = r["id"].to_string();
    let done = tix.ok(&["reviews", "convert", &id]);
    assert!(
        done.contains(&format!("converted review {id} to #1 (new ticket)")),
        "{done}"
    );
    let t = &tix.json(&["tickets", "list", "--json"])[0];
    assert_eq!(
        (&t["channel"], &t["customer_id"], &t["contact_name"]),
        (&"shopee".into(), &"88120455".into(), &"nok_88".into())
    );
    let show = tix.ok(&["ticket", "show", "1"]);
    assert!(
        show.contains("linked: opened from Shopee review 1 (2★ Linen shirt M)"),
        "{show}"
    );
    assert_eq!(tix.json(&["reviews", "list", "--json"]).len(), 1);
    let all = tix.json(&["reviews", "list", "--all", "--json"]);
    assert_eq!(all.iter().filter(|r| r["ticket"] == 1).count(), 1);

    let twice = tix.refused(&["reviews", "convert", &id]);
    assert!(
        twice.contains(&format!("review {id} was already converted to #1 by alice")),
        "{twice}"
    );
    let lazada = tix.json(&["reviews", "list", "--json"])[0]["id"].to_string();
    let anonymous = tix.refused(&["reviews", "convert", &lazada]);
    assert!(
        anonymous.contains("does not give the buyer's id (author_id)"),
        "{anonymous}"
    );
    assert!(
        tix.refused(&["reviews", "convert", "42"])
            .contains("there is no review 42")
    );
}

#[test]
fn a_malformed_review_line_is_reported_by_file_line_and_field_and_nothing_is_imported() {
    let tix = Tix::new();
    let path = tix.write(
        "bad.jsonl",
        &format!(
            "{}{}\n",
            REVIEWS,
            r#"{"platform":"shopee","product":"Mug","rating":6,"author":"x","text":"","time":"2025-03-23T09:15:00Z","id":"rv-3"}"#
        ),
    );
    let out = tix
        .cmd()
        .args(["import", "--format", "reviews", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(&format!(
            "{}:3: field \"rating\": expected a whole number from 1 to 5, found 6",
            path.display()
        )),
        "{err}"
    );
    assert!(err.contains("nothing was imported"), "{err}");
    assert_eq!(tix.json(&["reviews", "list", "--all", "--json"]).len(), 0);
}
