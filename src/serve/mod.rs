//! `tix serve`: the live webhook receiver.
//!
//! Each platform posts to its own path (`/line`, `/messenger`, `/facebook`, `/instagram`,
//! `/whatsapp`, `/shopee`). A request is answered in this order: the path must belong to a
//! platform with a configured secret; the body is read raw, at most [`MAX_BODY`] bytes; the
//! signature must verify over exactly those bytes under the secret of one of that platform's
//! accounts; only then is the body parsed, by the same parsers `tix import` uses, and the
//! accounts named by [`AccountIds`]. Nothing is written for a request that fails any step.
//!
//! Several requests are served at once, but one thread owns the [`Desk`]: requests hand their
//! messages over a channel and wait for the answer, and that thread stores everything queued in
//! one batch. So the process never contends with itself for SQLite's write lock, and a burst of
//! deliveries costs one transaction. A running inbox on the same file sees the arrivals as it
//! sees an import's.

pub mod verify;

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use self::verify::Scheme;
use crate::commands::Setup;
use crate::config::Config;
use crate::desk::{Desk, IngestReport};
use crate::domain::{ChannelKind, Inbound, text};
use crate::sources::webhooks::accounts::AccountIds;
use crate::sources::webhooks::{Comment, Parsed, WebhookFormat, detect};

/// The largest body accepted; larger ones get 413. Real deliveries are a few kilobytes.
pub const MAX_BODY: usize = 1 << 20;
/// How much of a too-large body is still read (and dropped) so the 413 reaches the sender
/// instead of a reset connection.
const DRAIN_LIMIT: u64 = 16 << 20;
/// Threads reading requests; the store has its own.
const WORKERS: usize = 4;
/// Most messages stored in one transaction; more queued wait for the next.
const MAX_BATCH: usize = 5_000;

/// The channel whose accounts a platform's path receives for. A Facebook Page's feed comes from
/// the page's Messenger account.
fn channel(format: WebhookFormat) -> ChannelKind {
    match format {
        WebhookFormat::Line => ChannelKind::Line,
        WebhookFormat::Messenger | WebhookFormat::Facebook => ChannelKind::Messenger,
        WebhookFormat::Instagram => ChannelKind::Instagram,
        WebhookFormat::Whatsapp => ChannelKind::Whatsapp,
        WebhookFormat::Shopee => ChannelKind::Shopee,
    }
}

fn scheme(format: WebhookFormat) -> Scheme {
    match format {
        WebhookFormat::Line => Scheme::Line,
        WebhookFormat::Shopee => Scheme::Shopee,
        _ => Scheme::Meta,
    }
}

/// Whether the platform checks the address with Meta's `hub.challenge` GET.
fn has_handshake(format: WebhookFormat) -> bool {
    !matches!(format, WebhookFormat::Line | WebhookFormat::Shopee)
}

/// A configured account as `serve` needs it, its secrets read from the environment.
struct Account {
    name: String,
    channel: ChannelKind,
    id: Option<String>,
    secret: Option<Vec<u8>>,
    verify_token: Option<String>,
    callback_url: String,
}

/// Everything a request is checked against: the accounts, their secrets, their ids.
pub struct Receiver {
    accounts: Vec<Account>,
    ids: AccountIds,
}

/// What a request gets back, and the few words the log line says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub note: String,
}

impl Answer {
    /// A refusal: the reason is both the body (one line) and the note.
    fn refuse(status: u16, reason: impl Into<String>) -> Answer {
        let reason = reason.into();
        Answer {
            status,
            body: format!("{reason}\n"),
            note: reason,
        }
    }

    /// Success with an empty body, which every platform accepts and Shopee requires.
    fn ok(note: impl Into<String>) -> Answer {
        Answer {
            status: 200,
            body: String::new(),
            note: note.into(),
        }
    }
}

/// A verified payload, read and with its accounts named.
#[derive(Debug)]
pub enum Accepted {
    /// Nothing to store: an empty body (Shopee checks the address so) or a payload holding no
    /// messages or comments (LINE's address check, receipts, statuses).
    Nothing(String),
    /// Messages or comments to store.
    Messages(Parsed),
}

impl Receiver {
    /// The accounts of a loaded config, with `secret_env` and `verify_token_env` looked up
    /// through `env`. A variable that is named but not set is an error naming it.
    pub fn from_config(
        config: &Config,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Receiver, String> {
        let mut accounts = Vec::new();
        for a in &config.accounts {
            let name = a.name.get_ref().clone();
            let read = |plain: Option<String>, var: Option<&String>, what: &str| match var {
                None => Ok(plain),
                Some(var) => match env(var) {
                    Some(v) if !v.is_empty() => Ok(Some(v)),
                    Some(_) => Err(format!(
                        "account \"{name}\": {what}_env names {var}, which is empty"
                    )),
                    None => Err(format!(
                        "account \"{name}\": {what}_env names {var}, which is not set in the \
                         environment"
                    )),
                },
            };
            let secret = read(
                a.secret.as_ref().map(|s| s.get_ref().0.clone()),
                a.secret_env.as_ref().map(|s| s.get_ref()),
                "secret",
            )?;
            let verify_token = read(
                a.verify_token.as_ref().map(|s| s.get_ref().0.clone()),
                a.verify_token_env.as_ref().map(|s| s.get_ref()),
                "verify_token",
            )?;
            let Ok(channel) = a.channel.get_ref().parse::<ChannelKind>() else {
                continue;
            };
            accounts.push(Account {
                name,
                channel,
                id: a.id.as_ref().map(|i| i.get_ref().0.clone()),
                secret: secret.map(String::into_bytes),
                verify_token,
                callback_url: a
                    .callback_url
                    .as_ref()
                    .map(|u| u.get_ref().clone())
                    .unwrap_or_default(),
            });
        }
        Ok(Receiver {
            accounts,
            ids: AccountIds::from_config(config),
        })
    }

    /// The accounts whose webhooks a path can verify.
    fn signing(&self, format: WebhookFormat) -> impl Iterator<Item = &Account> {
        let channel = channel(format);
        self.accounts
            .iter()
            .filter(move |a| a.channel == channel && a.secret.is_some())
    }

    /// The paths that have a secret to check against, with their accounts' names.
    pub fn paths(&self) -> Vec<(String, Vec<String>)> {
        WebhookFormat::ALL
            .iter()
            .map(|f| {
                let names = self.signing(*f).map(|a| a.name.clone()).collect();
                (format!("/{f}"), names)
            })
            .filter(|(_, names): &(String, Vec<String>)| !names.is_empty())
            .collect()
    }

    /// Meta's subscription check: `hub.mode=subscribe`, a verify token one of the path's
    /// accounts has, and the challenge to echo.
    pub fn handshake(&self, format: WebhookFormat, query: &str) -> Answer {
        let params: HashMap<String, String> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (form_decode(k), form_decode(v))
            })
            .collect();
        let (Some(mode), Some(token), Some(challenge)) = (
            params.get("hub.mode"),
            params.get("hub.verify_token"),
            params.get("hub.challenge"),
        ) else {
            return Answer::refuse(
                400,
                "expected hub.mode, hub.verify_token and hub.challenge (Meta's subscription check)",
            );
        };
        if mode != "subscribe" {
            return Answer::refuse(400, "hub.mode must be subscribe");
        }
        if challenge.len() > 1_000 || challenge.chars().any(char::is_control) {
            return Answer::refuse(400, "hub.challenge is not a plain short value");
        }
        let channel = channel(format);
        let matched = self
            .accounts
            .iter()
            .filter(|a| a.channel == channel)
            .filter_map(|a| Some((a, a.verify_token.as_deref()?)))
            .find(|(_, t)| same_bytes(t.as_bytes(), token.as_bytes()));
        match matched {
            Some((a, _)) => Answer {
                status: 200,
                body: challenge.clone(),
                note: format!("subscription confirmed for {}", a.name),
            },
            None => Answer::refuse(
                403,
                format!("verify token matches no {channel} account's verify_token"),
            ),
        }
    }

    /// The accounts whose secret signed `body`, or the refusal.
    fn verify<'a>(
        &'a self,
        format: WebhookFormat,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<Vec<&'a Account>, Answer> {
        let scheme = scheme(format);
        let Some(signature) = signature.filter(|s| !s.trim().is_empty()) else {
            return Err(Answer::refuse(
                401,
                format!("missing {} header", scheme.header()),
            ));
        };
        let signers: Vec<&Account> = self
            .signing(format)
            .filter(|a| {
                let key = a.secret.as_deref().unwrap_or_default();
                scheme.verifies(key, &a.callback_url, body, signature)
            })
            .collect();
        if signers.is_empty() {
            return Err(Answer::refuse(
                401,
                format!(
                    "{} does not match the secret of any {} account",
                    scheme.header(),
                    channel(format)
                ),
            ));
        }
        Ok(signers)
    }

    /// Checks a request's signature, then reads its body as the path's platform.
    pub fn accept(
        &self,
        format: WebhookFormat,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<Accepted, Answer> {
        let signers = self.verify(format, signature, body)?;
        if body.trim_ascii().is_empty() {
            return Ok(Accepted::Nothing("empty body".into()));
        }
        let payload: Value = serde_json::from_slice(body).map_err(|e| {
            Answer::refuse(
                400,
                format!("not valid JSON at line {}, column {}", e.line(), e.column()),
            )
        })?;
        if let Some(found) = detect(&payload)
            && !found.reads_same_payloads(format)
        {
            return Err(Answer::refuse(
                400,
                format!(
                    "this is a {} payload, not {}: send it to /{found}",
                    found.title(),
                    format.title()
                ),
            ));
        }
        let mut parsed = format
            .parse(&payload)
            .map_err(|e| Answer::refuse(400, text::sanitize(&e.to_string(), true)))?;
        // A payload for an account that has its own secret must be signed with that secret,
        // not with another account's.
        let channel = channel(format);
        let raw_ids = parsed
            .messages
            .iter()
            .filter_map(|m| m.account.as_deref())
            .chain(parsed.comments.iter().map(|c| c.account.as_str()));
        for id in raw_ids {
            let owner = self.accounts.iter().find(|a| {
                a.channel == channel && a.secret.is_some() && a.id.as_deref() == Some(id)
            });
            if let Some(owner) = owner
                && !signers.iter().any(|s| std::ptr::eq(*s, owner))
            {
                return Err(Answer::refuse(
                    401,
                    format!(
                        "the payload is for account \"{}\" but is not signed with its secret",
                        owner.name
                    ),
                ));
            }
        }
        self.ids.name_accounts(&mut parsed);
        if parsed.messages.is_empty() && parsed.comments.is_empty() {
            return Ok(Accepted::Nothing(describe_not_stored(&parsed)));
        }
        Ok(Accepted::Messages(parsed))
    }

    /// Answers one request; messages go to the store through `store`.
    fn answer(&self, request: &mut tiny_http::Request, store: &Store) -> Answer {
        let url = request.url().to_string();
        let (path, query) = url.split_once('?').unwrap_or((&url, ""));
        let Some(format) = WebhookFormat::ALL
            .into_iter()
            .find(|f| path.strip_prefix('/') == Some(f.as_str()))
        else {
            return Answer::refuse(
                404,
                "no such path; webhooks go to /line, /messenger, /facebook, /instagram, \
                 /whatsapp or /shopee",
            );
        };
        match request.method() {
            tiny_http::Method::Get if has_handshake(format) => {
                return self.handshake(format, query);
            }
            tiny_http::Method::Post => {}
            _ => return Answer::refuse(405, format!("/{format} takes POST")),
        }
        if self.signing(format).next().is_none() {
            return Answer::refuse(
                404,
                format!(
                    "no {} account has a secret in the config, so /{format} is off",
                    channel(format)
                ),
            );
        }
        let body = match read_body(request) {
            Ok(Some(body)) => body,
            Ok(None) => {
                return Answer::refuse(413, format!("body larger than {MAX_BODY} bytes"));
            }
            Err(e) => return Answer::refuse(400, format!("cannot read the body: {e}")),
        };
        let header = scheme(format).header();
        let signature = request
            .headers()
            .iter()
            .find(|h| h.field.equiv(header))
            .map(|h| h.value.as_str().to_string());
        match self.accept(format, signature.as_deref(), &body) {
            Err(refusal) => refusal,
            Ok(Accepted::Nothing(what)) => Answer::ok(what),
            Ok(Accepted::Messages(parsed)) => {
                let n = parsed.messages.len();
                let extra = describe_not_stored(&parsed);
                let c = parsed.comments.len();
                match store.store(parsed.messages, parsed.comments) {
                    Ok(stored) => {
                        let mut note = if c == 0 {
                            format!("{n} message{}, {stored}", plural(n))
                        } else if n == 0 {
                            format!("{c} comment{}, {stored}", plural(c))
                        } else {
                            format!(
                                "{n} message{}, {c} comment{}, {stored}",
                                plural(n),
                                plural(c)
                            )
                        };
                        if !extra.is_empty() && extra != "nothing to store" {
                            note.push_str("; ");
                            note.push_str(&extra);
                        }
                        Answer::ok(note)
                    }
                    Err(e) => Answer::refuse(500, format!("could not store: {e}")),
                }
            }
        }
    }
}

/// What a payload held that is not stored: skipped events, or "nothing to store".
fn describe_not_stored(parsed: &Parsed) -> String {
    let parts: Vec<String> = parsed
        .skipped
        .iter()
        .map(|(kind, n)| format!("{n} {kind} skipped"))
        .collect();
    if parts.is_empty() {
        "nothing to store".into()
    } else {
        parts.join(", ")
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The body, or `None` when it is larger than [`MAX_BODY`] (read on and dropped, up to a limit,
/// so the sender gets the 413).
fn read_body(request: &mut tiny_http::Request) -> io::Result<Option<Vec<u8>>> {
    let too_large = request.body_length().is_some_and(|n| n > MAX_BODY);
    let reader = request.as_reader();
    if !too_large {
        let mut body = Vec::new();
        reader.take(MAX_BODY as u64 + 1).read_to_end(&mut body)?;
        if body.len() <= MAX_BODY {
            return Ok(Some(body));
        }
    }
    io::copy(&mut reader.take(DRAIN_LIMIT), &mut io::sink())?;
    Ok(None)
}

/// `application/x-www-form-urlencoded` decoding of a query part.
fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let digit = |k: usize| bytes.get(k).and_then(|b| (*b as char).to_digit(16));
                if let (Some(hi), Some(lo)) = (digit(i + 1), digit(i + 2)) {
                    out.push((hi * 16 + lo) as u8);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Equality whose time does not depend on where the inputs differ.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// One request's messages and comments on their way to the store, and where the outcome goes.
struct Job {
    messages: Vec<Inbound>,
    comments: Vec<Comment>,
    done: mpsc::Sender<Result<String, String>>,
}

/// The request threads' handle on the one thread that writes.
struct Store {
    jobs: mpsc::Sender<Job>,
}

impl Store {
    /// Stores messages and comments and waits until they are committed; says how they fared.
    fn store(&self, messages: Vec<Inbound>, comments: Vec<Comment>) -> Result<String, String> {
        let (done, outcome) = mpsc::channel();
        self.jobs
            .send(Job {
                messages,
                comments,
                done,
            })
            .map_err(|_| "the store has stopped".to_string())?;
        outcome
            .recv()
            .map_err(|_| "the store has stopped".to_string())?
    }
}

/// The writing thread: takes everything queued, stores it in one batch, answers each request.
fn write_loop(mut desk: Desk, jobs: mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        let mut count = batch[0].messages.len();
        while count < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => {
                    count += job.messages.len();
                    batch.push(job);
                }
                Err(_) => break,
            }
        }
        let messages: Vec<Inbound> = batch
            .iter()
            .flat_map(|j| j.messages.iter().cloned())
            .collect();
        let comments: Vec<Comment> = batch
            .iter()
            .flat_map(|j| j.comments.iter().cloned())
            .collect();
        let outcome = desk
            .ingest(&messages)
            .and_then(|r| {
                let mut said = describe_report(&r, batch.len());
                if !comments.is_empty() {
                    let c = desk.store_comments(&comments)?;
                    let counted = format!(
                        "{} new, {} duplicate{}",
                        c.new,
                        c.duplicates,
                        plural(c.duplicates)
                    );
                    said = if messages.is_empty() {
                        counted
                    } else {
                        format!("{said}; comments: {counted}")
                    };
                }
                Ok(said)
            })
            .map_err(|e| format!("{e:#}"));
        for job in batch {
            // The request may have gone away meanwhile; its messages are stored all the same.
            let _ = job.done.send(outcome.clone());
        }
    }
}

fn describe_report(r: &IngestReport, requests: usize) -> String {
    let mut s = format!(
        "{} new, {} duplicate{}",
        r.new,
        r.duplicates,
        plural(r.duplicates)
    );
    if r.tickets_created > 0 {
        s.push_str(&format!(
            ", {} ticket{} created",
            r.tickets_created,
            plural(r.tickets_created)
        ));
    }
    if r.tickets_reopened > 0 {
        s.push_str(&format!(", {} reopened", r.tickets_reopened));
    }
    if requests > 1 {
        s.push_str(&format!(
            " (stored together with {} other request{})",
            requests - 1,
            plural(requests - 1)
        ));
    }
    s
}

/// `tix serve`: listens until Ctrl-C.
pub fn run(setup: &Setup, listen: &str) -> Result<()> {
    let receiver = Receiver::from_config(&setup.config, |var| std::env::var(var).ok())
        .map_err(|e| anyhow!("{}: {e}", setup.config_path.display()))?;
    let paths = receiver.paths();
    if paths.is_empty() {
        bail!(
            "{}: no account has a secret (or secret_env), so no webhook could be verified; \
             see \"Live webhooks\" in the README",
            setup.config_path.display()
        );
    }
    let desk = setup.open_desk()?;
    let server =
        tiny_http::Server::http(listen).map_err(|e| anyhow!("cannot listen on {listen}: {e}"))?;
    let address = server
        .server_addr()
        .to_ip()
        .map_or_else(|| listen.to_string(), |a| a.to_string());
    let server = Arc::new(server);
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .context("cannot catch Ctrl-C")?;
    }
    {
        let mut out = io::stdout().lock();
        writeln!(out, "listening on http://{address}")?;
        out.flush()?;
    }
    for (path, names) in &paths {
        eprintln!("{path}: {}", text::sanitize(&names.join(", "), true));
    }

    let (jobs, queue) = mpsc::channel();
    let writer = thread::Builder::new()
        .name("store".into())
        .spawn(move || write_loop(desk, queue))?;
    let receiver = Arc::new(receiver);
    let mut workers = Vec::new();
    for i in 0..WORKERS {
        let server = Arc::clone(&server);
        let stop = Arc::clone(&stop);
        let receiver = Arc::clone(&receiver);
        let store = Store { jobs: jobs.clone() };
        workers.push(
            thread::Builder::new()
                .name(format!("http-{i}"))
                .spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        match server.recv_timeout(Duration::from_millis(200)) {
                            Ok(Some(request)) => respond(&receiver, &store, request),
                            Ok(None) => {}
                            Err(e) => {
                                eprintln!("{} cannot accept a request: {e}", stamp());
                                thread::sleep(Duration::from_millis(200));
                            }
                        }
                    }
                })?,
        );
    }
    drop(jobs);
    for w in workers {
        w.join().map_err(|_| anyhow!("a request thread panicked"))?;
    }
    // Every request thread has finished, so the store gets nothing more and ends.
    writer
        .join()
        .map_err(|_| anyhow!("the store thread panicked"))?;
    eprintln!("{} stopped", stamp());
    Ok(())
}

/// Answers a request and logs one line about it. The query string is never logged: it holds
/// Meta's verify token.
fn respond(receiver: &Receiver, store: &Store, mut request: tiny_http::Request) {
    let started = Instant::now();
    let answer = receiver.answer(&mut request, store);
    let url = request.url();
    let path = url.split('?').next().unwrap_or_default();
    let line = format!(
        "{} {} {} {} {} {} ({} ms)",
        stamp(),
        request
            .remote_addr()
            .map_or_else(|| "-".to_string(), ToString::to_string),
        request.method(),
        text::truncate(path, 60),
        answer.status,
        answer.note,
        started.elapsed().as_millis()
    );
    let mut response =
        tiny_http::Response::from_data(answer.body.into_bytes()).with_status_code(answer.status);
    if let Ok(h) = tiny_http::Header::from_bytes("Content-Type", "text/plain; charset=utf-8") {
        response.add_header(h);
    }
    // Logged before answering, so the log already holds the line when the sender hears back.
    eprintln!("{}", text::sanitize(&line, true));
    if let Err(e) = request.respond(response) {
        eprintln!("{} could not send the answer: {e}", stamp());
    }
}

fn stamp() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use hmac::{KeyInit, Mac};

    use super::*;

    const CONFIG: &str = "[[accounts]]\nname = \"a\"\nchannel = \"line\"\nsecret_env = \"A_SECRET\"\n\
                          [[accounts]]\nname = \"b\"\nchannel = \"line\"\nid = \"Ub\"\nsecret = \"b\"\n";

    fn receiver(env: &[(&str, &str)]) -> Result<Receiver, String> {
        let config = Config::parse(CONFIG, Path::new("c.toml")).unwrap();
        Receiver::from_config(&config, |var| {
            env.iter()
                .find(|(k, _)| *k == var)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn secrets_named_by_env_must_be_set_and_not_empty() {
        assert_eq!(
            receiver(&[]).err().unwrap(),
            "account \"a\": secret_env names A_SECRET, which is not set in the environment"
        );
        assert!(
            receiver(&[("A_SECRET", "")])
                .err()
                .unwrap()
                .contains("empty")
        );
        let r = receiver(&[("A_SECRET", "s")]).unwrap();
        assert_eq!(
            r.paths(),
            [("/line".to_string(), vec!["a".to_string(), "b".to_string()])]
        );
    }

    #[test]
    fn payload_for_an_account_with_its_own_secret_needs_that_secret() {
        let r = receiver(&[("A_SECRET", "s")]).unwrap();
        let body = br#"{"destination":"Ub","events":[{"type":"message","timestamp":1763604900000,"source":{"type":"user","userId":"U1"},"message":{"id":"1","type":"text","text":"hi"}}]}"#;
        let sign = |key: &str| {
            let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
            m.update(body);
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                m.finalize().into_bytes(),
            )
        };
        let refused = r
            .accept(WebhookFormat::Line, Some(&sign("s")), body)
            .unwrap_err();
        assert_eq!(refused.status, 401);
        match r
            .accept(WebhookFormat::Line, Some(&sign("b")), body)
            .unwrap()
        {
            Accepted::Messages(p) => assert_eq!(p.messages[0].account.as_deref(), Some("b")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn query_values_are_form_decoded() {
        assert_eq!(form_decode("a+b%26c%3D"), "a b&c=");
        assert_eq!(form_decode("100%"), "100%");
        assert_eq!(form_decode("%zz%4"), "%zz%4");
        assert_eq!(form_decode("%E0%B8%81"), "ก");
        assert!(same_bytes(b"token", b"token"));
        assert!(!same_bytes(b"token", b"tokem"));
        assert!(!same_bytes(b"token", b"token2"));
    }
}
