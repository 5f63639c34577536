//! `cargo bench --bench ingest`: the arrival path against the raw insert limit (DESIGN §7).
//!
//! Builds simulated messages in memory, then in the same run times (a) the raw limit: the same
//! message rows inserted alone into the messages table, with its real indexes and full-text
//! index, in one transaction; and (b) the full arrival path into a fresh database file, in the
//! time-bounded batches `tix import` uses. Prints the ratio last.
//!
//! Then (c) the same arrival path with 20 realistic routing rules loaded ([`RULES`]), into another
//! fresh database: rules may cost at most 15% of the ingest rate. (b) and (c) take turns, a few
//! rounds each; the fastest of each counts.
//!
//! `TIX_BENCH_MESSAGES` changes the count (default 1,000,000); `TIX_BENCH_RULES=FILE` loads other
//! rules; `TIX_BENCH_ROUNDS` the rounds (default 3).

use std::time::{Duration, Instant};

use std::path::Path;

use tix::commands::Batcher;
use tix::config::Config;
use tix::desk::{Desk, Settings};
use tix::domain::Inbound;
use tix::sources::simulate::{SimConfig, SimEvent, Simulator};
use tix::store::{NewMessage, Store};

fn main() {
    let count: usize = std::env::var("TIX_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let started = Instant::now();
    let messages: Vec<Inbound> = Simulator::new(SimConfig {
        seed: 42,
        messages: count,
        days: 90,
        end: 1_764_000_000_000,
    })
    .filter_map(|e| match e {
        SimEvent::Message(m) => Some(m),
        _ => None,
    })
    .collect();
    println!(
        "built {} simulated messages in {:.2} s",
        messages.len(),
        started.elapsed().as_secs_f64()
    );
    let dir = tempfile::tempdir().expect("temporary directory");

    let raw = raw_limit(&dir.path().join("raw.db"), &messages);
    println!("raw insert: {:.2} s", raw.as_secs_f64());
    remove_database(&dir.path().join("raw.db"));

    // `TIX_BENCH_RULES=FILE` measures other rules instead.
    let rules = std::env::var("TIX_BENCH_RULES")
        .ok()
        .map(|p| std::fs::read_to_string(p).expect("rules file"))
        .unwrap_or_else(|| RULES.to_string());
    let settings = Config::parse(&rules, Path::new("bench-rules.toml"))
        .expect("bench rules")
        .settings()
        .expect("settings");

    // Each arrival path runs `TIX_BENCH_ROUNDS` times (default 5) into a fresh database, the two
    // taking turns, and the fastest round of each counts: a slow spell of the machine then spoils
    // a round, not the figure. Each round's own ratio is printed too, with their median: the two
    // runs of a round are timed moments apart, so a spell that slows both cancels out.
    let rounds: usize = std::env::var("TIX_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let mut ingest = Duration::MAX;
    let mut with_rules = Duration::MAX;
    let mut round_ratios = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let mut took_by_side = [Duration::ZERO; 2];
        // First one, then the other first.
        let sides = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for rules_on in sides {
            let name = if rules_on { "rules" } else { "ingest" };
            let path = dir.path().join(format!("{name}-{round}.db"));
            let settings = match rules_on {
                true => settings.clone(),
                false => Settings::default(),
            };
            let mut desk = Desk::new(Store::open(&path).expect("open"), settings);
            let (report, took) = run(&mut desk, &messages);
            assert_eq!(report.new, messages.len(), "every message stored once");
            took_by_side[usize::from(rules_on)] = took;
            if rules_on {
                with_rules = with_rules.min(took);
                print_rules_round(&desk, round, &report, took);
            } else {
                ingest = ingest.min(took);
                println!(
                    "round {}: arrival path: {:.2} s, {} new, {} tickets created, {} reopened",
                    round + 1,
                    took.as_secs_f64(),
                    report.new,
                    report.tickets_created,
                    report.tickets_reopened
                );
                if round == 0 {
                    queue_and_size(&desk, &path);
                }
            }
            drop(desk);
            remove_database(&path);
        }
        let [plain, ruled] = took_by_side;
        let ratio = plain.as_secs_f64() / ruled.as_secs_f64();
        println!("round {}: rules_ratio={ratio:.3}", round + 1);
        round_ratios.push(ratio);
    }
    round_ratios.sort_by(f64::total_cmp);

    let raw_rate = messages.len() as f64 / raw.as_secs_f64();
    let ingest_rate = messages.len() as f64 / ingest.as_secs_f64();
    let rules_rate = messages.len() as f64 / with_rules.as_secs_f64();
    println!("raw_msgs_per_s={raw_rate:.0}");
    println!("ingest_msgs_per_s={ingest_rate:.0}");
    println!("ratio={:.2}", ingest_rate / raw_rate);
    println!("ingest_with_rules_msgs_per_s={rules_rate:.0}");
    println!(
        "rules_ratio_median_of_rounds={:.2}",
        round_ratios[round_ratios.len() / 2]
    );
    println!("rules_ratio={:.2}", rules_rate / ingest_rate);
    println!("ratio_with_rules={:.2}", rules_rate / raw_rate);
}

/// What the rules did in one round, and a check that they broke no invariant.
fn print_rules_round(desk: &Desk, round: usize, report: &tix::desk::IngestReport, took: Duration) {
    let activity = desk.read().rule_activity().expect("activity");
    let acted: i64 = activity.rules.iter().map(|(_, n)| n).sum();
    println!(
        "round {}: arrival path with {} rules: {:.2} s, {} tickets created; rules acted on \
         tickets {acted} times, assigned {}",
        round + 1,
        settings_rules(desk),
        took.as_secs_f64(),
        report.tickets_created,
        activity
            .agents
            .iter()
            .map(|(a, n)| format!("{a}={n}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    if round == 0 {
        for (rule, n) in &activity.rules {
            println!("  {n:>8} tickets acted on by {rule}");
        }
    }
    assert!(
        desk.read()
            .invariant_violations()
            .expect("check")
            .is_empty(),
        "rules broke an invariant"
    );
}

/// The open queue's first page, timed on the arrival path's database, and the file's size.
fn queue_and_size(desk: &Desk, path: &Path) {
    let sql = desk.read();
    let totals = sql.totals().expect("totals");
    let mut samples = Vec::with_capacity(1_000);
    for _ in 0..1_000 {
        let t = Instant::now();
        let page = sql.open_queue_page(100).expect("queue");
        samples.push(t.elapsed());
        assert!(page.len() <= 100);
    }
    samples.sort();
    println!(
        "open queue first 100 of {} open tickets: p50={:.3} ms p99={:.3} ms",
        totals.open,
        ms(samples[samples.len() / 2]),
        ms(samples[samples.len() * 99 / 100])
    );
    println!(
        "database file: {:.0} MB",
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) as f64 / 1e6
    );
}

fn settings_rules(desk: &Desk) -> usize {
    desk.settings()
        .routing
        .as_ref()
        .map_or(0, |r| r.rules.len())
}

/// The full arrival path over every message, in `tix import`'s time-bounded batches (or fixed
/// ones with `TIX_BENCH_BATCH`).
fn run(desk: &mut Desk, messages: &[Inbound]) -> (tix::desk::IngestReport, Duration) {
    let started = Instant::now();
    let report = match std::env::var("TIX_BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        // A fixed batch size, to see what batching itself costs.
        Some(size) => {
            let mut report = tix::desk::IngestReport::default();
            for chunk in messages.chunks(size) {
                report.add(&desk.ingest(chunk).expect("ingest"));
            }
            report
        }
        None => {
            let mut batcher = Batcher::new(desk);
            for m in messages {
                batcher.push(m.clone()).expect("ingest");
            }
            batcher.flush().expect("ingest");
            batcher.report
        }
    };
    (report, started.elapsed())
}

/// Twenty rules a Thai online shop would run: spam, refunds, orders, VIPs, after-hours replies,
/// routing by channel and language, returning customers.
const RULES: &str = r#"
labels = ["spam-words", "refund", "order", "shipping", "vip", "urgent", "sticker", "media",
          "after-hours", "thai", "marketplace", "returning", "complaint", "cancel", "address"]
business_hours = { tz = "Asia/Bangkok", mon_fri = "09:00-18:00", sat = "10:00-16:00" }

[[teams]]
name = "support"
[[teams]]
name = "billing"
[[teams]]
name = "marketplace"
drain_backlog = true

[[fields]]
name = "priority"
values = ["low", "normal", "high"]
[[fields]]
name = "topic"

[[agents]]
handle = "ploy"
teams = ["support"]
hours = { tz = "Asia/Bangkok", every_day = "08:00-20:00" }
[[agents]]
handle = "nok"
teams = ["support", "billing"]
[[agents]]
handle = "bank"
teams = ["support"]
channels = ["line", "messenger", "instagram", "whatsapp", "webchat", "email"]
[[agents]]
handle = "fah"
teams = ["billing"]
max_open = 100000
[[agents]]
handle = "ton"
teams = ["billing", "marketplace"]
[[agents]]
handle = "mint"
teams = ["marketplace"]
channels = ["shopee", "lazada", "tiktok"]
[[agents]]
handle = "earth"
teams = ["marketplace", "support"]
away = true

[[rules]]
name = "Spam words"
on = ["ticket_created"]
if = { text_contains_any = ["สล็อต", "crypto signals", "cheap followers", "สินเชื่อด่วน", "verify your account"] }
then = [ "mark_spam" ]
stop = true

[[rules]]
name = "Refunds to billing"
on = ["ticket_created"]
if = { text_contains_any = ["refund", "money back", "คืนเงิน", "เงินคืน"] }
then = [ { assign_team = "billing", strategy = "least_open" }, { add_label = "refund" }, { set_field = { topic = "refund" } } ]
stop = true

[[rules]]
name = "Marketplaces"
on = ["ticket_created"]
if = { channel = ["shopee", "lazada", "tiktok"] }
then = [ { assign_team = "marketplace", strategy = "round_robin" }, { add_label = "marketplace" } ]
stop = true

[[rules]]
name = "Returning customers"
on = ["ticket_created"]
if = { first_ticket = false }
then = [ { assign_team = "support", strategy = "last_handler", otherwise = "least_open" }, { add_label = "returning" } ]
stop = true

[[rules]]
name = "Everyone else"
on = ["ticket_created"]
then = [ { assign_team = "support", strategy = "round_robin" } ]

[[rules]]
name = "After hours"
on = ["ticket_created"]
if = { in_business_hours = false }
then = [ { add_label = "after-hours" } ]

[[rules]]
name = "Order numbers"
on = ["message_received"]
if = { text_matches = '\b(SO|ORD)-?\d{4,}\b' }
then = [ { add_label = "order" } ]
once_per_ticket = true

[[rules]]
name = "Where is my order"
on = ["message_received"]
if = { any = [ { text_contains_any = ["where is my order", "ถึงไหน", "ยังไม่ได้รับ", "shipped"] }, { text_contains_all = ["order", "status"] } ] }
then = [ { add_label = "shipping" } ]
once_per_ticket = true

[[rules]]
name = "Complaints"
on = ["message_received"]
if = { text_contains_any = ["complaint", "terrible", "ร้องเรียน", "แย่มาก", "ผิดหวัง"] }
then = [ { add_label = "complaint" }, { set_field = { priority = "high" } }, { follow_up = true } ]
once_per_ticket = true

[[rules]]
name = "Cancellations"
on = ["message_received"]
if = { text_contains_any = ["cancel", "ยกเลิก"] }
then = [ { add_label = "cancel" } ]
once_per_ticket = true

[[rules]]
name = "Address changes"
on = ["message_received"]
if = { all = [ { text_contains_any = ["address", "ที่อยู่"] }, { not = { channel = ["shopee", "lazada"] } } ] }
then = [ { add_label = "address" } ]
once_per_ticket = true

[[rules]]
name = "Stickers"
on = ["message_received"]
if = { message_kind = "sticker" }
then = [ { add_label = "sticker" } ]
once_per_ticket = true

[[rules]]
name = "Photos and files"
on = ["message_received"]
if = { message_kind = ["image", "file"] }
then = [ { add_label = "media" } ]
once_per_ticket = true

[[rules]]
name = "Thai speakers"
on = ["ticket_created"]
if = { text_matches = '\p{Thai}' }
then = [ { add_label = "thai" } ]

[[rules]]
name = "Urgent words"
on = ["message_received"]
if = { all = [ { text_contains_any = ["urgent", "asap", "ด่วน"] }, { not = { text_contains_any = ["สินเชื่อด่วน"] } } ] }
then = [ { add_label = "urgent" }, { set_field = { priority = "high" } } ]
once_per_ticket = true

[[rules]]
name = "Reopened by the customer"
on = ["ticket_reopened"]
then = [ { follow_up = true } ]

[[rules]]
name = "VIP names"
on = ["ticket_created"]
if = { contact_name_contains = ["vip", "gold"] }
then = [ { add_label = "vip" } ]

[[rules]]
name = "Many messages unanswered"
on = ["message_received"]
if = { all = [ { agent_replies = 0 }, { since_created = { over = "4h" } } ] }
then = [ { set_field = { priority = "high" } } ]
once_per_ticket = true

[[rules]]
name = "Chase quiet customers"
on = [{ idle = "3d" }]
then = [ { add_note = "No reply for three days." } ]
once_per_ticket = true

[[rules]]
name = "Refund closed"
on = ["ticket_closed"]
if = { label = "refund" }
then = [ { add_note = "Refund ticket closed: check the payout." } ]
"#;

/// Inserts the message rows alone, as fast as the schema allows: one transaction, every index.
fn raw_limit(path: &std::path::Path, messages: &[Inbound]) -> Duration {
    let mut store = Store::open(path).expect("open");
    let started = Instant::now();
    store
        .write(|sql| {
            let account = sql.account_id(tix::domain::ChannelKind::Line, "line")?;
            let mut writer = sql.arrival_writer()?;
            for (i, m) in messages.iter().enumerate() {
                writer.insert_message(&NewMessage {
                    account_id: account,
                    external_id: &m.message_id,
                    conversation_id: (i % 50_000) as i64 + 1,
                    ticket: (i % 80_000) as i64 + 1,
                    direction: m.direction,
                    author: m.agent.as_deref(),
                    kind: m.kind,
                    body: &m.text,
                    sent_at: m.sent_at,
                })?;
            }
            drop(writer);
            sql.index_messages_after(0)?;
            Ok::<_, tix::store::StoreError>(())
        })
        .expect("raw insert");
    started.elapsed()
}

/// Deletes a measured database: what the system has not written of it yet is dropped rather
/// than written while the next phase is being timed.
fn remove_database(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
