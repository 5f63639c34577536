//! `tix serve`, end to end on loopback: the real binary, a config holding each platform's secret,
//! the platforms' sample payloads posted with signatures computed here. A signed delivery is
//! stored under the configured account and a second one adds nothing; an unsigned, wrongly
//! signed, oversized or unreadable one is refused and writes nothing; Meta's subscription check
//! and LINE's address check are answered; Ctrl-C stops the server cleanly.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;
use tempfile::TempDir;

mod support;
use support::{TIX, TIX_VARS};

const LINE_SECRET: &str = "testsecret";
const META_SECRET: &str = "appsecret";
const SHOPEE_KEY: &str = "pushkey";
const SHOPEE_URL: &str = "https://example.com/webhooks/shopee";
const VERIFY_TOKEN: &str = "meta verify&token";

const CONFIG: &str = r#"me = "alice"

[[accounts]]
name = "line-main"
channel = "line"
id = "U123"
secret_env = "TEST_LINE_SECRET"

[[accounts]]
name = "line-other"
channel = "line"
id = "Uother"
secret = "othersecret"

[[accounts]]
name = "fb-page"
channel = "messenger"
id = "682498302938465"
secret = "appsecret"
verify_token_env = "TEST_VERIFY_TOKEN"

[[accounts]]
name = "fb-feed"
channel = "messenger"
id = "448242228374517"
secret_env = "TEST_META_SECRET"

[[accounts]]
name = "ig-shop"
channel = "instagram"
id = "17841405726653026"
secret_env = "TEST_META_SECRET"

[[accounts]]
name = "wa-shop"
channel = "whatsapp"
id = "106540352242922"
secret_env = "TEST_META_SECRET"
verify_token = "wa-token"

[[accounts]]
name = "shopee-shop"
channel = "shopee"
id = 947042923
secret_env = "TEST_SHOPEE_KEY"
callback_url = "https://example.com/webhooks/shopee"
"#;

/// A running `tix serve` on a temporary database; killed when dropped.
struct Serve {
    dir: TempDir,
    child: Child,
    addr: String,
}

fn base_command(dir: &Path) -> Command {
    let mut c = Command::new(TIX);
    for v in TIX_VARS {
        c.env_remove(v);
    }
    c.env("TIX_DB", dir.join("tix.db"))
        .env("TIX_CONFIG", dir.join("config.toml"))
        .env("TEST_LINE_SECRET", LINE_SECRET)
        .env("TEST_META_SECRET", META_SECRET)
        .env("TEST_SHOPEE_KEY", SHOPEE_KEY)
        .env("TEST_VERIFY_TOKEN", VERIFY_TOKEN)
        .env("TZ", "UTC");
    c
}

impl Serve {
    fn start() -> Serve {
        let dir = tempfile::Builder::new()
            .prefix("tix-serve-")
            .tempdir()
            .unwrap();
        std::fs::write(dir.path().join("config.toml"), CONFIG).unwrap();
        let log = std::fs::File::create(dir.path().join("serve.log")).unwrap();
        let mut child = base_command(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let addr = first
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_string();
        Serve { dir, child, addr }
    }

    /// Sends one request; returns the status and the body.
    fn request(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String) {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(body).unwrap();
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).unwrap();
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("no status in {answer:?}"));
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    fn post(&self, path: &str, header: &str, signature: &str, body: &[u8]) -> (u16, String) {
        self.request(
            "POST",
            path,
            &[(header, signature), ("Content-Type", "application/json")],
            body,
        )
    }

    fn tix(&self, args: &[&str]) -> String {
        let out = base_command(self.dir.path()).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "tix {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn tickets(&self) -> Vec<Value> {
        serde_json::from_str(&self.tix(&["tickets", "list", "--status", "all", "--json"])).unwrap()
    }

    /// Messages stored, over all tickets.
    fn messages(&self) -> i64 {
        self.tickets()
            .iter()
            .map(|t| t["messages"].as_i64().unwrap())
            .sum()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/webhooks")
            .join(name),
    )
    .unwrap()
}

fn mac(key: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn line_signature(secret: &str, body: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(mac(secret, &[body]))
}

fn meta_signature(body: &[u8]) -> String {
    format!("sha256={}", hex(&mac(META_SECRET, &[body])))
}

fn shopee_signature(body: &[u8]) -> String {
    hex(&mac(SHOPEE_KEY, &[SHOPEE_URL.as_bytes(), b"|", body]))
}

/// Posts a sample payload to its platform's path, correctly signed.
fn post_signed(serve: &Serve, path: &str, name: &str) -> (u16, String) {
    let body = fixture(name);
    match path {
        "/line" => serve.post(
            path,
            "X-Line-Signature",
            &line_signature(LINE_SECRET, &body),
            &body,
        ),
        "/shopee" => serve.post(path, "Authorization", &shopee_signature(&body), &body),
        _ => serve.post(path, "X-Hub-Signature-256", &meta_signature(&body), &body),
    }
}

const SAMPLES: [(&str, &str); 5] = [
    ("/line", "line-text.json"),
    ("/messenger", "messenger-text.json"),
    ("/instagram", "instagram-text.json"),
    ("/whatsapp", "whatsapp-text.json"),
    ("/shopee", "shopee-text.json"),
];

#[test]
fn signed_payloads_of_every_platform_are_stored_under_their_accounts_once() {
    let serve = Serve::start();
    for (path, name) in SAMPLES {
        let (status, body) = post_signed(&serve, path, name);
        assert_eq!((status, body.as_str()), (200, ""), "{path} {name}");
    }
    let mut accounts: Vec<String> = serve
        .tickets()
        .iter()
        .map(|t| {
            format!(
                "{}/{}",
                t["channel"].as_str().unwrap(),
                t["account"].as_str().unwrap()
            )
        })
        .collect();
    accounts.sort();
    assert_eq!(
        accounts,
        [
            "instagram/ig-shop",
            "line/line-main",
            "messenger/fb-page",
            "shopee/shopee-shop",
            "whatsapp/wa-shop"
        ]
    );
    let stored = serve.messages();
    assert_eq!(stored, 5);
    // Platforms redeliver: the same deliveries again add nothing.
    for (path, name) in SAMPLES {
        assert_eq!(post_signed(&serve, path, name).0, 200, "{path} again");
    }
    assert_eq!(serve.messages(), stored);
    assert_eq!(serve.tickets().len(), 5);
    // A page's feed is received on /facebook; its comments go to the comments area, never to
    // the messages, and a redelivery adds nothing.
    for _ in 0..2 {
        let (status, _) = post_signed(&serve, "/facebook", "messenger-feed-comment.json");
        assert_eq!(status, 200);
    }
    assert_eq!(serve.messages(), stored);
    let log = serve.log();
    assert!(log.contains("POST /line 200 1 message, 1 new"), "{log}");
    assert!(
        log.contains("POST /line 200 1 message, 0 new, 1 duplicate"),
        "{log}"
    );
    assert!(
        log.contains("POST /facebook 200 1 comment, 1 new, 0 duplicates"),
        "{log}"
    );
    assert!(
        log.contains("POST /facebook 200 1 comment, 0 new, 1 duplicate"),
        "{log}"
    );
}

#[test]
fn bad_or_missing_signatures_are_refused_and_nothing_is_written() {
    let serve = Serve::start();
    let body = fixture("line-text.json");
    let (status, reason) = serve.post(
        "/line",
        "X-Line-Signature",
        &line_signature("wrong", &body),
        &body,
    );
    assert_eq!(status, 401);
    assert!(
        reason.contains("X-Line-Signature does not match"),
        "{reason}"
    );
    let (status, reason) = serve.request("POST", "/line", &[], &body);
    assert_eq!(status, 401);
    assert!(reason.contains("missing X-Line-Signature"), "{reason}");
    // Signed with another configured account's secret: that account's secret verifies, but
    // the payload is for line-main (destination U123), which has its own.
    let (status, reason) = serve.post(
        "/line",
        "X-Line-Signature",
        &line_signature("othersecret", &body),
        &body,
    );
    assert_eq!(status, 401);
    assert!(reason.contains("\"line-main\""), "{reason}");
    // One changed byte after signing.
    let signature = line_signature(LINE_SECRET, &body);
    let mut changed = body.clone();
    let at = changed.len() / 2;
    changed[at] ^= 1;
    assert_eq!(
        serve
            .post("/line", "X-Line-Signature", &signature, &changed)
            .0,
        401
    );
    // Meta and Shopee alike.
    let body = fixture("messenger-text.json");
    let bad = format!("sha256={}", hex(&mac("not-the-secret", &[&body])));
    assert_eq!(
        serve
            .post("/messenger", "X-Hub-Signature-256", &bad, &body)
            .0,
        401
    );
    assert_eq!(
        serve
            .request("POST", "/whatsapp", &[], &fixture("whatsapp-text.json"))
            .0,
        401
    );
    let body = fixture("shopee-text.json");
    let other_url = hex(&mac(
        SHOPEE_KEY,
        &[b"https://elsewhere.example/shopee|", &body],
    ));
    assert_eq!(
        serve.post("/shopee", "Authorization", &other_url, &body).0,
        401
    );
    assert!(serve.tickets().is_empty());
}

#[test]
fn meta_subscription_check_echoes_the_challenge_only_for_the_right_token() {
    let serve = Serve::start();
    let token = "meta+verify%26token";
    let (status, body) = serve.request(
        "GET",
        &format!("/messenger?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444"),
        &[],
        b"",
    );
    assert_eq!((status, body.as_str()), (200, "1158201444"));
    let (status, _) = serve.request(
        "GET",
        "/messenger?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1",
        &[],
        b"",
    );
    assert_eq!(status, 403);
    // WhatsApp's token is its own account's; the Messenger token does not open it.
    let get = |path: &str, token: &str| {
        serve
            .request(
                "GET",
                &format!("{path}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=77"),
                &[],
                b"",
            )
            .0
    };
    assert_eq!(get("/whatsapp", "wa-token"), 200);
    assert_eq!(get("/whatsapp", token), 403);
    assert_eq!(get("/instagram", "wa-token"), 403);
    assert_eq!(get("/line", "wa-token"), 405);
    assert_eq!(get("/nowhere", "wa-token"), 404);
    // The token never reaches the log.
    let log = serve.log();
    assert!(log.contains("GET /messenger 200"), "{log}");
    assert!(
        !log.contains("guess") && !log.contains("wa-token") && !log.contains("meta+verify"),
        "{log}"
    );
}

#[test]
fn line_address_check_empty_body_oversized_and_malformed_bodies() {
    let serve = Serve::start();
    // LINE's "Verify" button posts a signed payload without events.
    let (status, _) = post_signed(&serve, "/line", "line-verify-empty.json");
    assert_eq!(status, 200);
    // Shopee checks the address with an empty body.
    assert_eq!(
        serve
            .post("/shopee", "Authorization", &shopee_signature(b""), b"")
            .0,
        200
    );
    // Over a mebibyte: refused before anything is checked.
    let big = vec![b' '; (1 << 20) + 1];
    let (status, _) = serve.post(
        "/line",
        "X-Line-Signature",
        &line_signature(LINE_SECRET, &big),
        &big,
    );
    assert_eq!(status, 413);
    // Signed, but not JSON, or not this platform's payload.
    let junk = b"{\"destination\": \"U123\", \"events\": [";
    let (status, reason) = serve.post(
        "/line",
        "X-Line-Signature",
        &line_signature(LINE_SECRET, junk),
        junk,
    );
    assert_eq!(status, 400);
    assert!(reason.starts_with("not valid JSON at line 1"), "{reason}");
    let shopee = fixture("shopee-text.json");
    let (status, reason) = serve.post(
        "/line",
        "X-Line-Signature",
        &line_signature(LINE_SECRET, &shopee),
        &shopee,
    );
    assert_eq!(status, 400);
    assert!(reason.contains("send it to /shopee"), "{reason}");
    assert!(serve.tickets().is_empty());
}

#[test]
fn concurrent_deliveries_are_all_stored() {
    let serve = Serve::start();
    std::thread::scope(|s| {
        for i in 0..12 {
            let serve = &serve;
            s.spawn(move || {
                let body = format!(
                    r#"{{"destination":"U123","events":[{{"type":"message","mode":"active","timestamp":1763604900000,"source":{{"type":"user","userId":"Ucustomer{i}"}},"webhookEventId":"E{i}","message":{{"id":"m{i}","type":"text","text":"hello {i}"}}}}]}}"#
                );
                let body = body.as_bytes();
                let (status, reason) =
                    serve.post("/line", "X-Line-Signature", &line_signature(LINE_SECRET, body), body);
                assert_eq!(status, 200, "{reason}");
            });
        }
    });
    assert_eq!(serve.messages(), 12);
    assert_eq!(serve.tickets().len(), 12);
}

#[test]
fn a_secret_variable_that_is_not_set_stops_serve_with_its_name() {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("config.toml"), CONFIG).unwrap();
    let out = base_command(dir.path())
        .env_remove("TEST_SHOPEE_KEY")
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("account \"shopee-shop\": secret_env names TEST_SHOPEE_KEY, which is not set"),
        "{err}"
    );
}

#[test]
fn ctrl_c_stops_serve_cleanly() {
    let mut serve = Serve::start();
    assert_eq!(post_signed(&serve, "/line", "line-text.json").0, 200);
    let pid = serve.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = serve.child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(serve.log().contains("stopped"), "{}", serve.log());
    assert_eq!(serve.messages(), 1);
}
