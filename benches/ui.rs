//! `cargo bench --bench ui`: key press to finished frame at a million messages (DESIGN §7).
//!
//! Builds (once, then reuses) a database of simulated traffic with `tix simulate`, opens the
//! inbox on it with a 200×50 `TestBackend`, and times `update` + queries + drawing for each kind
//! of key. Prints p50 and p99 per kind, `startup_ms=` (open the database, first frame) and the
//! resident memory with the database open.
//!
//! `TIX_BENCH_MESSAGES` changes the size (default 1,000,000). The database is kept under
//! `target/` so later runs skip the build; delete it to rebuild.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use tix::store::Store;
use tix::tui::app::{App, Effect, Msg, Options, Thread};
use tix::tui::worker::Job;

const WIDTH: u16 = 200;
const HEIGHT: u16 = 50;
const NOW: i64 = 1_764_000_000_000;

fn main() {
    let count: usize = std::env::var("TIX_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let (db, built_now) = database(count);

    // Startup: open the database, build the first screen, draw it.
    let started = Instant::now();
    let store = Store::open(&db).expect("open");
    store
        .set_cache_mib(tix::tui::UI_CACHE_MIB)
        .expect("cache size");
    let mut options = Options::for_agent("alice".into()).expect("options");
    options.utc_offset = chrono::FixedOffset::east_opt(0).expect("utc");
    let mut app = App::new(store, options, NOW, Rect::new(0, 0, WIDTH, HEIGHT)).expect("app");
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("terminal");
    terminal
        .draw(|f| tix::tui::draw::draw(f, &app))
        .expect("draw");
    let startup = started.elapsed();

    let all_open = view_key(&app, "All open");
    let mut results: Vec<(&str, Vec<Duration>)> = Vec::new();
    press(&mut app, &mut terminal, key(all_open));

    // `j` down the biggest queue, far past the first page.
    let mut j = Vec::new();
    for _ in 0..2_000 {
        j.push(press(&mut app, &mut terminal, key('j')));
    }
    results.push(("j", j));

    // `G` and `gg`: the far ends of the queue.
    let mut ends = Vec::new();
    for _ in 0..100 {
        ends.push(press(&mut app, &mut terminal, key('G')));
        press(&mut app, &mut terminal, key('g'));
        ends.push(press(&mut app, &mut terminal, key('g')));
    }
    results.push(("G/gg", ends));

    // Switching views: every view in the sidebar in turn.
    let views = app.views.len().min(9);
    let mut switch = Vec::new();
    for i in 0..300 {
        let n = (i % views) as u8 + 1;
        switch.push(press(&mut app, &mut terminal, key((b'0' + n) as char)));
    }
    results.push(("view switch", switch));

    // Opening a thread that is not loaded yet.
    press(&mut app, &mut terminal, key(all_open));
    let mut open = Vec::new();
    for _ in 0..300 {
        press(&mut app, &mut terminal, key('j'));
        app.thread = Thread::default();
        open.push(press(&mut app, &mut terminal, enter()));
        press(&mut app, &mut terminal, esc());
    }
    results.push(("open thread", open));

    // Search: typing a word shows the newest matches after each key.
    let mut search = Vec::new();
    for word in [
        "refund",
        "คืนเงิน",
        "SO-26",
        "tracking",
        "ไซส์",
        "instalments",
        "ok",
    ] {
        for _ in 0..10 {
            press(&mut app, &mut terminal, key('/'));
            for c in word.chars() {
                search.push(press(&mut app, &mut terminal, key(c)));
            }
            press(&mut app, &mut terminal, esc());
        }
    }
    results.push(("search", search));

    println!("database: {count} messages, {}", db.display());
    println!("startup_ms={:.1}", startup.as_secs_f64() * 1000.0);
    for (name, mut samples) in results {
        samples.sort();
        println!(
            "{name}: n={} p50_ms={:.3} p99_ms={:.3} max_ms={:.3}",
            samples.len(),
            ms(percentile(&samples, 0.50)),
            ms(percentile(&samples, 0.99)),
            ms(*samples.last().expect("samples"))
        );
    }
    match resident_mb() {
        Some(_) if built_now => {
            println!("rss_mb: not measured, this run also built the database; run again")
        }
        Some(rss) => println!("rss_mb={rss:.1}"),
        None => {}
    }
}

fn press(app: &mut App, terminal: &mut Terminal<TestBackend>, key: KeyEvent) -> Duration {
    let started = Instant::now();
    let effects = app.update(Msg::Key(key));
    // Opening a thread asks the writer to mark it read; the bench has no writer, and the
    // screen does not wait for it anyway.
    assert!(
        effects
            .iter()
            .all(|e| matches!(e, Effect::Write(Job::MarkRead(_)))),
        "a bench key must not change anything: {effects:?}"
    );
    terminal
        .draw(|f| tix::tui::draw::draw(f, app))
        .expect("draw");
    started.elapsed()
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn enter() -> KeyEvent {
    KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)
}

fn esc() -> KeyEvent {
    KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)
}

fn view_key(app: &App, label: &str) -> char {
    let i = app
        .views
        .iter()
        .position(|v| v.label == label)
        .expect("the view exists");
    (b'1' + i as u8) as char
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The simulated database, built with the real `tix simulate` on first use.
fn database(count: usize) -> (PathBuf, bool) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target");
    let db = dir.join(format!("bench-ui-{count}.db"));
    let marker = dir.join(format!("bench-ui-{count}.done"));
    if db.exists() && marker.exists() {
        return (db, false);
    }
    for stale in [&db, &marker] {
        let _ = std::fs::remove_file(stale);
    }
    println!(
        "building {count} simulated messages into {} (once)",
        db.display()
    );
    let started = Instant::now();
    let cli = tix::cli::Cli::parse_from([
        "tix",
        "--db",
        db.to_str().expect("utf-8 path"),
        "simulate",
        "--messages",
        &count.to_string(),
        "--seed",
        "42",
        "--days",
        "90",
    ]);
    tix::commands::run(cli).expect("simulate");
    std::fs::write(&marker, b"").expect("marker");
    println!("built in {:.1} s", started.elapsed().as_secs_f64());
    (db, true)
}

/// Resident memory of this process, from the kernel.
fn resident_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
