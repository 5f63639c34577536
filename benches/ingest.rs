//! `cargo bench --bench ingest`: the arrival path against the raw insert limit (DESIGN §7).
//!
//! Builds simulated messages in memory, then in the same run times (a) the raw limit: the same
//! message rows inserted alone into the messages table, with its real indexes and full-text
//! index, in one transaction; and (b) the full arrival path into a fresh database file, in the
//! time-bounded batches `tix import` uses. Prints the ratio last.
//!
//! `TIX_BENCH_MESSAGES` changes the count (default 1,000,000).

use std::time::{Duration, Instant};

use tix::commands::Batcher;
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

    let path = dir.path().join("ingest.db");
    let mut desk = Desk::new(Store::open(&path).expect("open"), Settings::default());
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
            let mut batcher = Batcher::new(&mut desk);
            for m in &messages {
                batcher.push(m.clone()).expect("ingest");
            }
            batcher.flush().expect("ingest");
            batcher.report
        }
    };
    let ingest = started.elapsed();
    println!(
        "arrival path: {:.2} s, {} new, {} tickets created, {} reopened",
        ingest.as_secs_f64(),
        report.new,
        report.tickets_created,
        report.tickets_reopened
    );
    assert_eq!(report.new, messages.len(), "every message stored once");

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
        std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64 / 1e6
    );

    let raw_rate = messages.len() as f64 / raw.as_secs_f64();
    let ingest_rate = messages.len() as f64 / ingest.as_secs_f64();
    println!("raw_msgs_per_s={raw_rate:.0}");
    println!("ingest_msgs_per_s={ingest_rate:.0}");
    println!("ratio={:.2}", ingest_rate / raw_rate);
}

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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
