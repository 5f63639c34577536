//! The real `tix` binary in a real pseudo-terminal: the database is built with `tix import`, the
//! inbox is opened at 120x35, keys are typed as a terminal sends them, and what the program
//! writes is read back through a terminal emulator (`vt100`). Afterwards the command line says
//! what was saved.
//!
//! Waiting is always for something to appear on the emulated screen, with a generous deadline;
//! no assertion depends on how long anything took.

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};
use serde_json::{Value, json};
use tempfile::TempDir;

mod support;
use support::{TIX, TIX_VARS};

const NOW: &str = "2026-11-20T12:00:00Z";
const ROWS: u16 = 35;
const COLS: u16 = 120;
/// How long to wait for the screen to show something before giving up.
const DEADLINE: Duration = Duration::from_secs(20);

// ----- harness -------------------------------------------------------------------------------

/// A temporary directory with a database and a config file acting as alice.
struct World {
    dir: TempDir,
}

impl World {
    fn new() -> World {
        let dir = tempfile::Builder::new()
            .prefix("tix-pty-")
            .tempdir()
            .unwrap();
        std::fs::write(dir.path().join("config.toml"), "me = \"alice\"\n").unwrap();
        World { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `tix ARGS` outside the terminal; expects success and returns stdout.
    fn tix(&self, args: &[&str]) -> String {
        let mut c = Command::new(TIX);
        for v in TIX_VARS {
            c.env_remove(v);
        }
        let out = c
            .env("TIX_DB", self.path("tix.db"))
            .env("TIX_CONFIG", self.path("config.toml"))
            .env("TIX_NOW", NOW)
            .env("TZ", "UTC")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tix {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn import(&self, lines: &[Value]) {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let file = self.path("in.jsonl");
        std::fs::write(&file, text).unwrap();
        self.tix(&["import", file.to_str().unwrap()]);
    }

    fn ticket(&self, n: i64) -> Value {
        serde_json::from_str(&self.tix(&["ticket", "show", &n.to_string(), "--json"])).unwrap()
    }
}

/// Window titles and other OSC requests the program made, as the emulator saw them.
#[derive(Default)]
struct Seen {
    titles: Vec<Vec<u8>>,
}

impl vt100::Callbacks for Seen {
    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        self.titles.push(title.to_vec());
    }
    fn set_window_icon_name(&mut self, _: &mut vt100::Screen, name: &[u8]) {
        self.titles.push(name.to_vec());
    }
    fn unhandled_osc(&mut self, _: &mut vt100::Screen, params: &[&[u8]]) {
        self.titles.push(params.concat());
    }
}

/// What the program wrote: every raw byte, and the screen they make.
struct Output {
    raw: Vec<u8>,
    parser: vt100::Parser<Seen>,
}

/// `tix` running in a pseudo-terminal.
struct Session {
    child: Box<dyn Child + Send + Sync>,
    _master: Box<dyn MasterPty + Send>,
    keyboard: Arc<Mutex<Box<dyn Write + Send>>>,
    output: Arc<Mutex<Output>>,
}

impl Session {
    /// Opens the inbox of `world` in a 120x35 terminal.
    fn start(world: &World) -> Session {
        Session::start_with(world, &[])
    }

    /// Opens the inbox with extra environment variables.
    fn start_with(world: &World, env: &[(&str, &std::ffi::OsStr)]) -> Session {
        Session::spawn(world, &[], env)
    }

    /// Runs `tix ARGS` in the terminal with extra environment variables.
    fn spawn(world: &World, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Session {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(TIX);
        cmd.args(args);
        cmd.env_clear();
        if let Ok(path) = std::env::var("PATH") {
            cmd.env("PATH", path);
        }
        cmd.env("HOME", world.dir.path());
        cmd.env("TIX_DB", world.path("tix.db"));
        cmd.env("TIX_CONFIG", world.path("config.toml"));
        cmd.env("TIX_NOW", NOW);
        cmd.env("TZ", "UTC");
        cmd.env("TERM", "xterm-256color");
        cmd.env("NO_COLOR", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.cwd(world.dir.path());
        let child = pty.slave.spawn_command(cmd).unwrap();
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().unwrap();
        let keyboard = Arc::new(Mutex::new(pty.master.take_writer().unwrap()));
        let answer = Arc::clone(&keyboard);
        let output = Arc::new(Mutex::new(Output {
            raw: Vec::new(),
            parser: vt100::Parser::new_with_callbacks(
                NonZeroU16::new(ROWS).unwrap(),
                NonZeroU16::new(COLS).unwrap(),
                0,
                Seen::default(),
            ),
        }));
        let sink = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            let mut scanned = 0;
            // Ends when the program exits and the terminal closes (EOF or EIO).
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut out = sink.lock().unwrap();
                out.raw.extend_from_slice(&buf[..n]);
                out.parser.process(&buf[..n]);
                // Answer "where is the cursor?" (DSR 6) as a terminal does; crossterm asks it
                // while setting up and gives up after a few seconds without an answer.
                while let Some(at) = find(&out.raw[scanned..], CURSOR_QUERY) {
                    scanned += at + CURSOR_QUERY.len();
                    let (row, col) = out.parser.screen().cursor_position();
                    let reply = format!("\x1b[{};{}R", row + 1, col + 1);
                    let mut keys = answer.lock().unwrap();
                    let _ = keys.write_all(reply.as_bytes());
                    let _ = keys.flush();
                }
                scanned = scanned.max(out.raw.len().saturating_sub(CURSOR_QUERY.len() - 1));
            }
        });
        Session {
            child,
            _master: pty.master,
            keyboard,
            output,
        }
    }

    fn screen(&self) -> String {
        self.output.lock().unwrap().parser.screen().contents()
    }

    /// Waits until the screen shows `text`; fails with the screen as it is if it never does.
    fn wait_for(&mut self, text: &str) {
        let start = Instant::now();
        loop {
            if self.screen().contains(text) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "tix exited ({status:?}) before showing {text:?}; the screen:\n{}",
                    self.screen()
                );
            }
            if start.elapsed() > DEADLINE {
                let _ = self.child.kill();
                panic!(
                    "the screen never showed {text:?}; it shows:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until `row` of the screen (0-based) contains `text`.
    fn wait_for_row(&mut self, row: u16, text: &str) {
        let start = Instant::now();
        loop {
            let line = self.row(row);
            if line.contains(text) {
                return;
            }
            if start.elapsed() > DEADLINE {
                let _ = self.child.kill();
                panic!(
                    "row {row} never showed {text:?}; it shows {line:?}; the screen:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn row(&self, row: u16) -> String {
        let out = self.output.lock().unwrap();
        out.parser
            .screen()
            .rows(0, COLS)
            .nth(row as usize)
            .unwrap_or_default()
    }

    fn type_keys(&mut self, keys: &str) {
        let mut keyboard = self.keyboard.lock().unwrap();
        keyboard.write_all(keys.as_bytes()).unwrap();
        keyboard.flush().unwrap();
    }

    /// Waits for the program to end and returns whether it succeeded.
    fn wait_exit(&mut self) -> bool {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            if start.elapsed() > DEADLINE {
                let _ = self.child.kill();
                panic!("tix did not exit; the screen:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn raw(&self) -> Vec<u8> {
        self.output.lock().unwrap().raw.clone()
    }

    fn titles(&self) -> Vec<Vec<u8>> {
        self.output
            .lock()
            .unwrap()
            .parser
            .callbacks()
            .titles
            .clone()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn line(from: &str, name: &str, id: &str, at: &str, text: &str) -> Value {
    json!({"channel": "line", "from": from, "name": name, "id": id, "at": at, "text": text})
}

/// The terminal query for the cursor's position (Device Status Report 6).
const CURSOR_QUERY: &[u8] = b"\x1b[6n";

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

fn assignee(ticket: &Value) -> Value {
    ticket["ticket"]["assignee"].clone()
}

fn status(ticket: &Value) -> String {
    ticket["ticket"]["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

// ----- tests ---------------------------------------------------------------------------------

#[test]
fn an_agent_closes_undoes_assigns_and_marks_spam_from_the_keyboard() {
    let world = World::new();
    world.import(&[
        line("U1", "Anong", "m1", "2026-11-20T09:00:00Z", "first in line"),
        line("U2", "Boon", "m2", "2026-11-20T09:10:00Z", "second in line"),
        line("U3", "Chai", "m3", "2026-11-20T09:20:00Z", "third in line"),
        line("U4", "Dao", "m4", "2026-11-20T09:30:00Z", "fourth in line"),
        line(
            "U5",
            "Ekkachai",
            "m5",
            "2026-11-20T09:40:00Z",
            "fifth in line",
        ),
    ]);
    assert_eq!(status(&world.ticket(2)), "open");

    let mut tix = Session::start(&world);
    tix.wait_for("My inbox");
    tix.wait_for("alice · 5 open");

    // The list pane's title is on row 0; its first row on row 1. Oldest waiting first.
    tix.type_keys("3");
    tix.wait_for("All open · 1/5");
    tix.wait_for_row(1, "#1");
    tix.type_keys("j");
    tix.wait_for("All open · 2/5");
    tix.wait_for("#2 open · Boon");

    // c closes #2: it leaves the view and the cursor lands on #3.
    tix.type_keys("c");
    tix.wait_for("closed #2 · u undoes");
    tix.wait_for("All open · 2/4");
    tix.wait_for("#3 open · Chai");

    // u brings #2 back; the selection stays on #3.
    tix.type_keys("u");
    tix.wait_for("undid: closed #2");
    tix.wait_for("All open · 3/5");

    // a, a name, Enter: #3 goes to bob.
    tix.type_keys("a");
    tix.wait_for("Assign to #3");
    tix.type_keys("bob");
    tix.wait_for("+ new: bob");
    tix.type_keys("\r");
    tix.wait_for("assigned to bob: #3");
    tix.wait_for("#3 open · Chai · bob");

    // j, s: #4 is spam.
    tix.type_keys("j");
    tix.wait_for("#4 open · Dao");
    tix.type_keys("s");
    tix.wait_for("marked spam #4");

    tix.type_keys("q");
    assert!(tix.wait_exit(), "tix did not exit cleanly");
    drop(tix);

    assert_eq!(status(&world.ticket(2)), "open", "the close was not undone");
    assert_eq!(assignee(&world.ticket(2)), Value::Null);
    assert_eq!(status(&world.ticket(3)), "open");
    assert_eq!(assignee(&world.ticket(3)), json!("bob"));
    assert_eq!(status(&world.ticket(4)), "spam");
    assert_eq!(status(&world.ticket(1)), "open");
    assert_eq!(status(&world.ticket(5)), "open");
}

#[test]
fn escape_sequences_from_a_customer_never_reach_the_terminal() {
    let world = World::new();
    let evil = "Mallory\u{1b}]0;title\u{7}\u{1b}[2J\u{0}X";
    world.import(&[
        line("U1", "Plain", "m1", "2026-11-20T09:00:00Z", "hello"),
        line(
            "U6",
            evil,
            "m2",
            "2026-11-20T09:30:00Z",
            "pay here\u{1b}]0;title\u{7} now\u{1b}[2J\u{0}!",
        ),
    ]);

    let mut tix = Session::start(&world);
    tix.wait_for("My inbox");
    tix.type_keys("3");
    tix.wait_for("All open · 1/2");
    tix.type_keys("j");
    tix.wait_for("All open · 2/2");
    // Its thread is shown, and then the thread pane gets the focus.
    tix.wait_for("pay here");
    tix.type_keys("\r");
    tix.wait_for("· line U6");
    let screen = tix.screen();
    tix.type_keys("q");
    assert!(tix.wait_exit(), "tix did not exit cleanly");

    let raw = tix.raw();
    for bad in [
        &b"\x1b]0;title"[..],
        b"]0;title\x07",
        b"\x1b[2J\x00",
        b"\x1b[2J!",
        b"\x1b[2JX",
        b"\x00",
        b"\x07",
    ] {
        assert!(
            !contains(&raw, bad),
            "the program wrote {:?} from the customer's text",
            String::from_utf8_lossy(bad)
        );
    }
    // No operating-system command at all: nothing set the window title.
    assert!(!contains(&raw, b"\x1b]"), "an OSC sequence was written");
    assert_eq!(
        tix.titles(),
        Vec::<Vec<u8>>::new(),
        "the window title was set"
    );
    assert!(
        contains(&raw, "␛]0;title␇".as_bytes()),
        "the stand-ins were never written"
    );
    // What shows instead: the control pictures, in the list, the thread's title and its body.
    assert!(screen.contains("pay here␛]0;title␇ now␛[2J␀!"), "{screen}");
    assert!(
        screen.contains("Mallory␛]0;title␇␛[2J␀X · line U6"),
        "{screen}"
    );
}

#[test]
fn ctrl_e_writes_a_note_in_the_editor() {
    let world = World::new();
    world.import(&[line("U1", "Anong", "m1", "2026-11-20T09:00:00Z", "hello")]);
    // An "editor" that writes the note and exits, as an agent would after typing it.
    let editor = world.path("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nprintf 'written in the editor' > \"$1\"\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut tix = Session::start_with(&world, &[("EDITOR", editor.as_os_str())]);
    tix.wait_for("alice · 1 open");
    tix.type_keys("3");
    tix.wait_for("#1 open · Anong");
    tix.type_keys("n");
    tix.wait_for("Internal note #1");
    tix.type_keys("\x05");
    tix.wait_for("written in the editor");
    tix.type_keys("\r");
    tix.wait_for("note by alice");
    tix.type_keys("q");
    assert!(tix.wait_exit(), "tix did not exit cleanly");
    drop(tix);
    let shown = world.tix(&["ticket", "show", "1", "--json"]);
    assert!(shown.contains("written in the editor"), "{shown}");
}

/// The open-ticket count on the status line ("you · 57 open · 7 mine").
fn open_count(screen: &str) -> Option<u64> {
    let line = screen.lines().find(|l| l.starts_with("demo you · "))?;
    let before = line.split(" open · ").next()?;
    before.rsplit(' ').next()?.parse().ok()
}

#[test]
fn the_demo_opens_a_live_desk_and_deletes_its_database_on_quit() {
    let world = World::new();
    let tmp = world.path("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut tix = Session::spawn(&world, &["--demo"], &[("TMPDIR", tmp.as_os_str())]);
    tix.wait_for("demo you · ");
    tix.wait_for("7 Comments");
    let first = open_count(&tix.screen()).expect("an open count");
    assert!(
        first > 20,
        "a few hundred tickets of history:\n{}",
        tix.screen()
    );
    assert!(
        std::fs::read_dir(&tmp).unwrap().count() > 0,
        "the demo database is in the temporary folder"
    );
    // Customers keep writing: new tickets arrive without a key press.
    let start = Instant::now();
    while open_count(&tix.screen()) == Some(first) {
        assert!(
            start.elapsed() < DEADLINE,
            "no new arrivals:\n{}",
            tix.screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    tix.type_keys("q");
    assert!(tix.wait_exit(), "the demo did not exit cleanly");
    tix.wait_for("demo ended; its database was deleted");
    drop(tix);
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "the demo database was left behind"
    );
}
