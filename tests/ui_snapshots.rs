//! What the inbox draws, as text: each screen is drawn on ratatui's `TestBackend` from fixed data
//! at a fixed clock, in UTC, without colour, and compared with the snapshot in
//! `tests/snapshots/`. A change to the screen shows up as a diff to review.
//!
//! To accept a deliberate change: `INSTA_UPDATE=always cargo test --test ui_snapshots`, then
//! review and commit the changed `.snap` files.

use std::path::PathBuf;

use chrono::FixedOffset;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use tempfile::TempDir;
use tix::desk::{Ctx, Desk, Settings};
use tix::domain::{ChannelKind, Direction, Inbound, MessageKind, Millis};
use tix::store::Store;
use tix::tui::app::{App, Effect, Msg, Options};
use tix::tui::draw::draw;
use tix::tui::theme::Theme;
use tix::tui::worker;
use unicode_width::UnicodeWidthStr;

/// 2026-11-20 09:00:00 UTC: the first customer message.
const T0: Millis = 1_795_165_200_000;
const MINUTE: Millis = 60_000;
/// The inbox's clock: three hours after the first message.
const NOW: Millis = T0 + 180 * MINUTE;

// ----- harness -------------------------------------------------------------------------------

fn inbound(
    channel: ChannelKind,
    customer: &str,
    name: &str,
    id: &str,
    minutes: i64,
    text: &str,
) -> Inbound {
    Inbound {
        channel,
        account: None,
        customer_id: customer.into(),
        display_name: Some(name.into()),
        message_id: id.into(),
        kind: MessageKind::Text,
        text: text.into(),
        sent_at: T0 + minutes * MINUTE,
        direction: Direction::In,
        agent: None,
    }
}

/// A small desk: Thai and English customers on several channels, one ticket assigned and
/// labelled, one answered, one with a note.
fn desk_data() -> Vec<Inbound> {
    use ChannelKind::*;
    vec![
        inbound(
            Line,
            "U1",
            "สมชาย ใจดี",
            "m1",
            0,
            "ยังไม่ได้รับของค่ะ สั่งไปตั้งแต่วันจันทร์",
        ),
        inbound(Line, "U1", "สมชาย ใจดี", "m2", 2, "เลขพัสดุ TH123456789"),
        inbound(
            Shopee,
            "B7",
            "Buyer Seven",
            "m3",
            20,
            "where is my order SO-2405?",
        ),
        inbound(Messenger, "P1", "Pat", "m4", 45, "ขอคืนเงินค่ะ สินค้าชำรุดมาก"),
        inbound(
            Instagram,
            "I9",
            "Malee 🌸",
            "m5",
            70,
            "Is the blue one back in stock?",
        ),
        inbound(
            Whatsapp,
            "W3",
            "Dan",
            "m6",
            95,
            "Can I change the delivery address?",
        ),
        inbound(Lazada, "L4", "Noi", "m7", 130, "ส่งของวันไหนคะ"),
    ]
}

fn options() -> Options {
    let mut opts = Options::for_agent("alice".into()).unwrap();
    opts.theme = Theme::mono();
    opts.utc_offset = FixedOffset::east_opt(0).unwrap();
    opts.agents = vec!["bob".into(), "carol".into()];
    opts.teams = vec!["billing".into()];
    opts.labels = vec!["refund".into(), "vip".into()];
    opts
}

struct Screen {
    _dir: TempDir,
    writer: Desk,
    app: App,
}

impl Screen {
    fn new(messages: &[Inbound], w: u16, h: u16) -> Screen {
        Screen::with(messages, w, h, |_| {})
    }

    /// A screen over `messages`, after `prepare` has acted on the desk (as bob, before the inbox
    /// opens).
    fn with(messages: &[Inbound], w: u16, h: u16, prepare: impl FnOnce(&mut Desk)) -> Screen {
        let dir = tempfile::Builder::new()
            .prefix("tix-snap-")
            .tempdir()
            .unwrap();
        let path: PathBuf = dir.path().join("tix.db");
        let mut writer = Desk::new(Store::open(&path).unwrap(), Settings::default());
        if !messages.is_empty() {
            writer.ingest(messages).unwrap();
        }
        prepare(&mut writer);
        let app = App::new(
            Store::open(&path).unwrap(),
            options(),
            NOW,
            Rect::new(0, 0, w, h),
        )
        .unwrap();
        Screen {
            _dir: dir,
            writer,
            app,
        }
    }

    fn send(&mut self, msg: Msg) {
        for effect in self.app.update(msg) {
            if let Effect::Write(job) = effect {
                let outcome = worker::perform(&mut self.writer, "alice", NOW, job);
                self.app.update(Msg::Done(outcome));
            }
        }
    }

    fn keys(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    fn key(&mut self, code: KeyCode) {
        self.send(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    /// The screen as text at the app's own size.
    fn text(&self) -> String {
        let size = self.app.size;
        render(&self.app, size.width, size.height)
    }
}

/// "4" on the keyboard: with the config's team "billing" third, "All open" is the fourth view.
///
/// The standard desk, with a little history: #3 assigned to bob and labelled, #1 answered by
/// bob, a note on #4.
fn standard(w: u16, h: u16) -> Screen {
    Screen::with(&desk_data(), w, h, |d| {
        let bob = Ctx {
            agent: "bob".into(),
            at: T0 + 100 * MINUTE,
        };
        d.assign(&bob, &[3], Some("bob"), None).unwrap();
        d.label(&bob, &[3], "refund", true).unwrap();
        d.reply(&bob, 1, "ขออภัยค่ะ จะตรวจสอบให้นะคะ").unwrap();
        d.note(&bob, 4, "customer sent photos of the damage")
            .unwrap();
    })
}

/// Draws `app` on a `w`×`h` test terminal and returns the buffer as text.
fn render(app: &App, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| draw(f, app)).unwrap();
    buffer_text(terminal.backend().buffer())
}

/// Each row of cells as a line, trailing spaces cut. A wide character's hidden second cell is
/// skipped, so each line reads as the terminal shows it.
fn buffer_text(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        let mut line = String::new();
        let mut x = area.left();
        while x < area.right() {
            let symbol = buf[(x, y)].symbol();
            line.push_str(symbol);
            x += (symbol.width() as u16).max(1);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

// ----- snapshots -----------------------------------------------------------------------------

#[test]
fn inbox_all_open() {
    let mut s = standard(120, 35);
    s.keys("4");
    insta::assert_snapshot!("inbox_all_open_120x35", s.text());
}

#[test]
fn thread_opened() {
    let mut s = standard(120, 35);
    // #1, answered by bob, is last in the waiting order.
    s.keys("4G");
    s.key(KeyCode::Enter);
    insta::assert_snapshot!("thread_opened_120x35", s.text());
}

#[test]
fn assign_picker_narrowed() {
    let mut s = standard(120, 35);
    s.keys("4ja");
    insta::assert_snapshot!("assign_picker_120x35", s.text());
    s.keys("b");
    insta::assert_snapshot!("assign_picker_typed_b_120x35", s.text());
}

#[test]
fn label_picker_with_a_new_name() {
    let mut s = standard(120, 35);
    s.keys("4jjl");
    insta::assert_snapshot!("label_picker_120x35", s.text());
    s.keys("gift");
    insta::assert_snapshot!("label_picker_new_name_120x35", s.text());
}

#[test]
fn help() {
    let mut s = standard(120, 35);
    s.keys("?");
    insta::assert_snapshot!("help_120x35", s.text());
}

#[test]
fn search_results_for_a_thai_query() {
    let mut s = standard(120, 35);
    s.keys("/ค่ะ");
    insta::assert_snapshot!("search_thai_120x35", s.text());
}

#[test]
fn empty_database() {
    let s = Screen::new(&[], 120, 35);
    insta::assert_snapshot!("empty_database_120x35", s.text());
}

#[test]
fn narrow_terminal() {
    let mut s = standard(40, 12);
    s.keys("4");
    insta::assert_snapshot!("narrow_list_40x12", s.text());
    s.key(KeyCode::Enter);
    insta::assert_snapshot!("narrow_thread_40x12", s.text());
}

#[test]
fn tiny_terminal() {
    let mut s = standard(20, 5);
    s.keys("4");
    insta::assert_snapshot!("tiny_20x5", s.text());
}

// ----- any size, any text --------------------------------------------------------------------

/// Text that has broken terminal programs: a 10,000-character line, Thai with stacked combining
/// marks, emoji sequences, and escape sequences in a name and a message.
fn hostile_data() -> Vec<Inbound> {
    use ChannelKind::*;
    let long: String = "ยาวมาก long-word-"
        .repeat(600)
        .chars()
        .take(10_000)
        .collect();
    assert_eq!(long.chars().count(), 10_000);
    vec![
        inbound(Line, "H1", "Long Talker", "h1", 0, &long),
        inbound(Line, "H2", "น้ํ่าาา ก็็็็็", "h2", 1, "กิ๊ก ก๊ก ที่นี่ ญัตติ ฤๅษี ป้่้่้่้่้่้่ เบิ้ลลลลล"),
        inbound(
            Messenger,
            "H3",
            "👩‍👩‍👧‍👦 Family 🇹🇭",
            "h3",
            2,
            "🎉🎉 👍🏽 ❤️‍🔥 ok 🙏🙏🙏",
        ),
        inbound(
            Shopee,
            "H4",
            "Evil\x1b[2J\x1b]0;pwned\x07Name",
            "h4",
            3,
            "hi\x1b[2J\x1b[31mred\x1b]0;title\x07\0 \u{202e}desrever\u{9b}31m",
        ),
        inbound(Whatsapp, "H5", "", "h5", 4, ""),
    ]
}

/// Every mode the screen can be in, reached by keys from the inbox.
const MODES: [&str; 7] = ["", "\n", "?", "a", "l", "/ก", "n"];

#[test]
fn every_size_from_1x1_to_130x40_draws_without_panicking_in_every_mode() {
    for mode in MODES {
        let mut s = Screen::new(&hostile_data(), 120, 35);
        s.keys("4");
        for c in mode.chars() {
            match c {
                '\n' => s.key(KeyCode::Enter),
                c => s.key(KeyCode::Char(c)),
            }
        }
        let mut sizes: Vec<(u16, u16)> = Vec::new();
        for w in (1..=130).step_by(3) {
            for h in (1..=40).step_by(3) {
                sizes.push((w, h));
            }
        }
        sizes.extend([
            (1, 1),
            (2, 1),
            (1, 2),
            (130, 40),
            (63, 20),
            (64, 20),
            (99, 20),
            (100, 20),
        ]);
        for (w, h) in sizes {
            s.send(Msg::Resize(w, h));
            let text =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| render(&s.app, w, h)))
                    .unwrap_or_else(|_| panic!("drawing at {w}x{h} in mode {mode:?} panicked"));
            assert_eq!(text.lines().count(), h as usize);
            for line in text.lines() {
                assert!(
                    line.width() <= w as usize,
                    "{w}x{h} mode {mode:?}: a line is wider than the screen: {line:?}"
                );
            }
        }
    }
}

#[test]
fn hostile_text_reaches_the_screen_only_as_visible_stand_ins() {
    let mut s = Screen::new(&hostile_data(), 130, 40);
    s.keys("4");
    // Walk every row so each thread is drawn too.
    for i in 0..5 {
        if i > 0 {
            s.keys("j");
        }
        let mut terminal = Terminal::new(TestBackend::new(130, 40)).unwrap();
        terminal.draw(|f| draw(f, &s.app)).unwrap();
        let buf = terminal.backend().buffer();
        for cell in &buf.content {
            assert!(
                !cell
                    .symbol()
                    .chars()
                    .any(|c| c.is_control() || c == '\u{202e}'),
                "row {i}: a control character reached the screen: {:?}",
                cell.symbol()
            );
        }
        let text = buffer_text(buf);
        assert!(!text.contains("\x1b"), "row {i}");
    }
    // The escape-laden conversation shows its stand-ins.
    s.keys("gg");
    let row = s
        .app
        .list
        .rows
        .iter()
        .position(|r| r.contact_name.starts_with("Evil"))
        .unwrap();
    for _ in 0..row {
        s.keys("j");
    }
    let text = s.text();
    assert!(text.contains("Evil␛[2J␛]0;pwned␇Name"), "{text}");
    assert!(text.contains("hi␛[2J␛[31mred␛]0;title␇␀"), "{text}");
}

/// Between the terminal shrinking and its resize event reaching `update`, the event loop draws
/// once with the old size in the state (ratatui resizes its buffer on its own before each draw).
/// That frame must not panic either.
#[test]
fn a_frame_drawn_before_the_resize_event_arrives_does_not_panic() {
    for mode in MODES {
        let mut s = Screen::new(&hostile_data(), 130, 40);
        s.keys("4");
        for c in mode.chars() {
            match c {
                '\n' => s.key(KeyCode::Enter),
                c => s.key(KeyCode::Char(c)),
            }
        }
        for (w, h) in [(40, 12), (20, 5), (1, 1), (129, 39)] {
            let drawn =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| render(&s.app, w, h)));
            assert!(
                drawn.is_ok(),
                "state sized 130x40, terminal {w}x{h}, mode {mode:?}: drawing panicked"
            );
        }
    }
}
