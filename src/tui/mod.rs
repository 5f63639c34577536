//! The terminal inbox.
//!
//! The Elm shape (DESIGN §6): terminal events, ticks and finished writes become [`app::Msg`]s;
//! [`app::App::update`] changes the state and hands back effects; [`draw::draw`] paints the state.
//! Writes run on the writer thread ([`worker`]), so the screen never waits on the database.

pub mod app;
pub mod draw;
pub mod keymap;
pub mod layout;
pub mod picker;
pub mod theme;
pub mod worker;

use std::io::{Stdout, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;

use crate::desk::{Desk, Settings};
use crate::domain::Millis;
use crate::store::Store;
use app::{App, Effect, Msg, Options};
use worker::Worker;

/// How often the inbox looks for changes made by others (another agent, an import, the demo's
/// simulated customers).
const POLL_EVERY: Duration = Duration::from_millis(250);

/// The page cache of each of the inbox's two connections. Every screen reads a page of rows off
/// an index, so a small cache holds all it needs; memory stays low at any database size.
pub const UI_CACHE_MIB: u32 = 8;

/// What the inbox needs to start.
pub struct Launch {
    pub db: PathBuf,
    pub settings: Settings,
    pub options: Options,
    /// The time; tests and `TIX_NOW` fix it.
    pub clock: fn() -> Millis,
}

/// Opens the inbox and runs it until the agent quits.
pub fn run(launch: Launch) -> Result<()> {
    let open = |what: &str| -> Result<Store> {
        let store = Store::open(&launch.db)
            .with_context(|| format!("cannot open {} ({what})", launch.db.display()))?;
        store.set_cache_mib(UI_CACHE_MIB)?;
        Ok(store)
    };
    let reader = open("for reading")?;
    let writer = Desk::new(open("for writing")?, launch.settings.clone());
    let agent = launch.options.agent.clone();
    let worker = Worker::spawn(writer, agent, launch.clock);

    install_panic_hook();
    let mut terminal = enter().context("cannot set up the terminal")?;
    let result = (|| {
        let size = terminal.size()?;
        let area = Rect::new(0, 0, size.width, size.height);
        let app = App::new(reader, launch.options, (launch.clock)(), area)?;
        event_loop(&mut terminal, app, &worker, launch.clock, &launch.db)
    })();
    leave(&mut terminal);
    worker.finish();
    result
}

type Term = Terminal<CrosstermBackend<Stdout>>;

fn enter() -> Result<Term> {
    enable_raw_mode()?;
    let mut out = std::io::stdout();
    if let Err(e) = crossterm::execute!(out, EnterAlternateScreen, EnableMouseCapture) {
        let _ = disable_raw_mode();
        return Err(e.into());
    }
    let mut terminal = Terminal::new(CrosstermBackend::new(out))?;
    terminal.hide_cursor()?;
    terminal.clear()?;
    Ok(terminal)
}

/// Gives the terminal back as it was: cooked mode, main screen, cursor shown.
fn restore_terminal() {
    let _ = disable_raw_mode();
    let mut out = std::io::stdout();
    let _ = crossterm::execute!(
        out,
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = out.flush();
}

fn leave(terminal: &mut Term) {
    let _ = terminal.show_cursor();
    restore_terminal();
}

/// A panic restores the terminal before its message is printed, so the message is readable
/// and the shell still works.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
    }));
}

fn event_loop(
    terminal: &mut Term,
    mut app: App,
    worker: &Worker,
    clock: fn() -> Millis,
    db: &std::path::Path,
) -> Result<()> {
    let db = db.to_path_buf();
    // The Reports screen is computed on a thread of its own and comes back here.
    let reports = std::sync::mpsc::channel::<Result<String, String>>();
    let mut last_poll = Instant::now();
    loop {
        terminal.draw(|f| draw::draw(f, &app))?;
        let wait = POLL_EVERY
            .saturating_sub(last_poll.elapsed())
            .min(Duration::from_millis(50));
        // Take every event that is waiting before drawing again, so held-down keys never lag.
        let mut effects = Vec::new();
        if event::poll(wait)? {
            loop {
                let msg = match event::read()? {
                    Event::Key(k) => Some(Msg::Key(k)),
                    Event::Mouse(m) => Some(Msg::Mouse(m)),
                    Event::Resize(w, h) => Some(Msg::Resize(w, h)),
                    _ => None,
                };
                if let Some(msg) = msg {
                    effects.extend(app.update(msg));
                }
                if !event::poll(Duration::ZERO)? {
                    break;
                }
            }
        }
        while let Ok(outcome) = worker.outcomes.try_recv() {
            effects.extend(app.update(Msg::Done(outcome)));
        }
        while let Ok(report) = reports.1.try_recv() {
            effects.extend(app.update(Msg::Report(report)));
        }
        if last_poll.elapsed() >= POLL_EVERY {
            last_poll = Instant::now();
            effects.extend(app.update(Msg::Tick(clock())));
        }
        for effect in effects {
            match effect {
                Effect::Write(job) => {
                    if worker.jobs.send(job).is_err() {
                        anyhow::bail!("the writer stopped; nothing more can be saved");
                    }
                }
                Effect::Edit(text) => {
                    let edited = edit_externally(terminal, &text);
                    match edited {
                        Ok(t) => {
                            app.update(Msg::Edited(t));
                        }
                        Err(e) => {
                            app.update(Msg::Edited(text));
                            app.notice = Some(app::Notice {
                                text: format!("the editor did not run: {e:#}"),
                                error: true,
                            });
                        }
                    }
                }
                Effect::Redraw => terminal.clear()?,
                Effect::Report => {
                    let done = reports.0.clone();
                    let db = db.clone();
                    let now = clock();
                    std::thread::spawn(move || {
                        let _ = done.send(report_text(&db, now));
                    });
                }
            }
        }
        if app.quit {
            return Ok(());
        }
    }
}

/// The Reports screen's text for the week up to `now`, read on a connection of its own.
pub fn report_text(db: &std::path::Path, now: Millis) -> Result<String, String> {
    let store = Store::open(db).map_err(|e| e.to_string())?;
    store
        .set_cache_mib(UI_CACHE_MIB)
        .map_err(|e| e.to_string())?;
    crate::commands::stats::last_week_text(&store.read(), now).map_err(|e| format!("{e:#}"))
}

/// Hands the screen to `$VISUAL` or `$EDITOR` (or `vi`) on a temporary file holding `text`,
/// and returns what the agent saved.
fn edit_externally(terminal: &mut Term, text: &str) -> Result<String> {
    let mut file = tempfile::Builder::new()
        .prefix("tix-")
        .suffix(".txt")
        .tempfile()?;
    file.write_all(text.as_bytes())?;
    file.flush()?;
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    restore_terminal();
    let mut parts = editor.split_whitespace();
    let program = parts.next().unwrap_or("vi");
    let status = std::process::Command::new(program)
        .args(parts)
        .arg(file.path())
        .status();
    enable_raw_mode()?;
    crossterm::execute!(std::io::stdout(), EnterAlternateScreen, EnableMouseCapture)?;
    terminal.clear()?;
    let status = status.with_context(|| format!("cannot start {program}"))?;
    if !status.success() {
        anyhow::bail!("{program} exited with {status}; the text is as it was");
    }
    let edited = std::fs::read_to_string(file.path())?;
    Ok(edited.trim_end_matches('\n').to_string())
}
