//! The inbox's `update`, key by key: a key becomes an action, the action changes the state, and
//! writes come out as effects. Each test drives a real `App` on a temporary database file and runs
//! every `Effect::Write` through the same `worker::perform` the writer thread uses, then feeds the
//! outcome back as `Msg::Done`, exactly as the event loop does. The clock is fixed.

use std::path::{Path, PathBuf};

use chrono::FixedOffset;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use tempfile::TempDir;
use tix::config::Config;
use tix::desk::{Ctx, Desk, Settings};
use tix::domain::{ChannelKind, Direction, Inbound, MessageKind, Millis, Status, TicketNumber};
use tix::store::{Store, ThreadItem};
use tix::tui::app::{App, Effect, Focus, Mode, Msg, Options};
use tix::tui::theme::Theme;
use tix::tui::worker::{self, Act, Job};

/// 2026-11-20 09:00:00 UTC: the first customer message.
const T0: Millis = 1_795_165_200_000;
const MINUTE: Millis = 60_000;
/// The clock of the inbox and of the agent's actions.
const NOW: Millis = T0 + 24 * 60 * MINUTE;

// ----- harness -------------------------------------------------------------------------------

/// A customer's text message on LINE, sent `minutes` after `T0`.
fn inbound(customer: &str, name: &str, id: &str, minutes: i64, text: &str) -> Inbound {
    Inbound {
        channel: ChannelKind::Line,
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

/// A handful of conversations, oldest waiting first: ticket #n is row n of "All open".
fn handful() -> Vec<Inbound> {
    vec![
        inbound("U1", "Somchai", "m1", 0, "ยังไม่ได้รับของค่ะ"),
        inbound("U2", "Pat", "m2", 5, "where is my order SO-2405?"),
        inbound("U3", "Malee", "m3", 10, "ขอคืนเงินค่ะ สินค้าชำรุดมาก"),
        inbound("U4", "Dan", "m4", 15, "can I change the colour?"),
        inbound("U5", "Noi", "m5", 20, "ส่งของวันไหนคะ"),
    ]
}

/// `n` conversations, one message each, a minute apart.
fn many(n: usize) -> Vec<Inbound> {
    (0..n)
        .map(|i| {
            inbound(
                &format!("C{i:04}"),
                &format!("Customer {i:04}"),
                &format!("x{i}"),
                i as i64,
                &format!("message number {i}"),
            )
        })
        .collect()
}

/// One test's inbox: a database file, the writer's desk on it, and the app on its own
/// connection, as `tix` runs them.
struct World {
    _dir: TempDir,
    path: PathBuf,
    writer: Desk,
    app: App,
    /// The `Job`s the app sent, in order.
    jobs: Vec<Job>,
}

impl World {
    fn new(messages: &[Inbound]) -> World {
        World::sized(messages, 120, 35)
    }

    fn sized(messages: &[Inbound], w: u16, h: u16) -> World {
        let mut opts = Options::for_agent("alice".into()).unwrap();
        opts.agents = vec!["bob".into(), "carol".into()];
        World::build(messages, w, h, Settings::default(), opts)
    }

    /// A world whose desk and inbox are set up by a config file's text.
    fn configured(messages: &[Inbound], config: &str) -> World {
        let config = Config::parse(config, Path::new("config.toml")).unwrap();
        let settings = config.settings().unwrap();
        let opts = Options::from_config("alice".into(), &config).unwrap();
        World::build(messages, 120, 35, settings, opts)
    }

    fn build(messages: &[Inbound], w: u16, h: u16, settings: Settings, mut opts: Options) -> World {
        let dir = tempfile::Builder::new()
            .prefix("tix-ui-")
            .tempdir()
            .unwrap();
        let path = dir.path().join("tix.db");
        let mut writer = Desk::new(Store::open(&path).unwrap(), settings);
        if !messages.is_empty() {
            writer.ingest(messages).unwrap();
        }
        opts.theme = Theme::mono();
        opts.utc_offset = FixedOffset::east_opt(0).unwrap();
        let app = App::new(
            Store::open(&path).unwrap(),
            opts,
            NOW,
            Rect::new(0, 0, w, h),
        )
        .unwrap();
        World {
            _dir: dir,
            path,
            writer,
            app,
            jobs: Vec::new(),
        }
    }

    /// Another agent's tix on the same file.
    fn other_desk(&self) -> Desk {
        Desk::new(Store::open(&self.path).unwrap(), Settings::default())
    }

    /// Sends a message to the app and carries out what it asks for, as the event loop would.
    fn send(&mut self, msg: Msg) -> Vec<Effect> {
        let effects = self.app.update(msg);
        let mut rest = Vec::new();
        for effect in effects {
            match effect {
                Effect::Write(job) => {
                    self.jobs.push(job.clone());
                    let outcome = worker::perform(&mut self.writer, "alice", NOW, job);
                    rest.extend(self.app.update(Msg::Done(outcome)));
                }
                other => rest.push(other),
            }
        }
        rest
    }

    fn key(&mut self, code: KeyCode) -> Vec<Effect> {
        self.send(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    fn ctrl(&mut self, c: char) -> Vec<Effect> {
        self.send(Msg::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::CONTROL,
        )))
    }

    /// Types each character and returns the effects left for the event loop.
    fn keys_effects(&mut self, text: &str) -> Vec<Effect> {
        let mut effects = Vec::new();
        for c in text.chars() {
            let mods = if c.is_uppercase() {
                KeyModifiers::SHIFT
            } else {
                KeyModifiers::NONE
            };
            effects.extend(self.send(Msg::Key(KeyEvent::new(KeyCode::Char(c), mods))));
        }
        effects
    }

    /// Types each character as a key press (capitals with Shift, as terminals send them).
    fn keys(&mut self, text: &str) {
        for c in text.chars() {
            let mods = if c.is_uppercase() {
                KeyModifiers::SHIFT
            } else {
                KeyModifiers::NONE
            };
            self.send(Msg::Key(KeyEvent::new(KeyCode::Char(c), mods)));
        }
    }

    fn selected(&self) -> TicketNumber {
        self.app.list.selected().expect("a row is selected").number
    }

    fn selected_conversation(&self) -> i64 {
        self.app
            .list
            .selected()
            .expect("a row is selected")
            .conversation_id
    }

    fn rows(&self) -> Vec<TicketNumber> {
        self.app.list.rows.iter().map(|r| r.number).collect()
    }

    fn notice(&self) -> String {
        self.app
            .notice
            .as_ref()
            .map(|n| n.text.clone())
            .unwrap_or_default()
    }

    fn notice_is_error(&self) -> bool {
        self.app.notice.as_ref().is_some_and(|n| n.error)
    }

    fn status(&self, n: TicketNumber) -> Status {
        self.writer
            .read()
            .ticket(n)
            .unwrap()
            .unwrap()
            .lifecycle
            .status
    }

    fn assignee(&self, n: TicketNumber) -> Option<String> {
        self.writer
            .read()
            .ticket(n)
            .unwrap()
            .unwrap()
            .assignment
            .agent
    }

    fn view_label(&self) -> String {
        self.app.current_view().label.clone()
    }
}

// ----- moving around -------------------------------------------------------------------------

/// Half a page at 120x35: the list pane holds 33 rows inside its border.
const HALF: usize = 16;

#[test]
fn j_k_gg_g_and_ctrl_d_move_through_a_long_queue_holding_only_a_window() {
    let total = 520;
    let mut w = World::new(&many(total));
    w.key(KeyCode::Char('3'));
    assert_eq!(w.view_label(), "All open");
    assert_eq!(w.app.position(), (1, total as i64));
    assert_eq!(w.selected(), 1);
    assert!(
        w.app.list.rows.len() < total,
        "the first read holds the whole queue"
    );

    w.keys("jj");
    assert_eq!(w.app.position(), (3, total as i64));
    assert_eq!(w.selected(), 3);
    w.keys("k");
    assert_eq!(w.app.position(), (2, total as i64));
    assert_eq!(w.selected(), 2);

    // Down by half pages, reading more rows as the cursor nears the window's end (but staying
    // below row 400: see the next test).
    let mut last = 2;
    while last + HALF < 390 {
        w.ctrl('d');
        let (pos, _) = w.app.position();
        assert_eq!(pos, last + HALF, "Ctrl-d from row {last}");
        last = pos;
        // Ticket #n is the n-th oldest waiting, so the row under the cursor names its position.
        assert_eq!(w.selected(), pos as i64, "row {pos} shows the wrong ticket");
        assert!(
            w.app.list.rows.len() < total,
            "the window grew to the whole queue"
        );
        let l = &w.app.list;
        assert!(
            l.cursor >= l.offset && l.cursor < l.offset + 33,
            "the cursor is off screen"
        );
    }

    w.keys("gg");
    assert_eq!(w.app.position(), (1, total as i64));
    assert_eq!(w.selected(), 1);
    w.keys("G");
    assert_eq!(w.app.position(), (total, total as i64));
    assert_eq!(w.selected(), total as i64);
    assert!(w.app.list.rows.len() < total);

    // Up row by row, across the top of the window read from the end.
    for _ in 0..150 {
        w.keys("k");
    }
    assert_eq!(w.app.position(), (total - 150, total as i64));
    assert_eq!(w.selected(), (total - 150) as i64);
    assert!(w.app.list.rows.len() < total);
    w.ctrl('u');
    assert_eq!(w.app.position().0, total - 150 - HALF);
    assert_eq!(w.selected(), (total - 150 - HALF) as i64);
    w.keys("gg");
    assert_eq!(w.selected(), 1);
}

/// Far down a queue the window drops rows from its front as it reads more; a move must still go
/// exactly one step (a bug once sent the cursor to the end of the queue from here).
#[test]
fn moving_down_past_row_400_moves_one_step_not_to_the_end() {
    let total = 520;
    let mut w = World::new(&many(total));
    w.key(KeyCode::Char('3'));
    for _ in 0..(400 - 1) / HALF {
        w.ctrl('d');
    }
    let start = w.app.position().0;
    assert_eq!(start, 1 + (400 - 1) / HALF * HALF);
    for step in 1..=30 {
        w.keys("j");
        assert_eq!(
            w.app.position().0,
            start + step,
            "moving down past row 400: j from row {} went elsewhere",
            start + step - 1
        );
        assert_eq!(w.selected(), (start + step) as i64);
    }
    assert!(w.app.list.rows.len() < total);
}

#[test]
fn number_keys_switch_views_and_a_missing_view_is_explained() {
    let mut w = World::new(&handful());
    let expected = [
        ('1', "My inbox"),
        ('2', "Unassigned"),
        ('3', "All open"),
        ('4', "Follow-up"),
        ('5', "Closed"),
        ('6', "Spam"),
    ];
    for (key, label) in expected {
        w.key(KeyCode::Char(key));
        assert_eq!(w.view_label(), label, "key {key}");
    }
    w.key(KeyCode::Char('2'));
    assert_eq!(w.rows(), vec![1, 2, 3, 4, 5]);
    w.key(KeyCode::Char('1'));
    assert!(
        w.app.list.rows.is_empty(),
        "nothing is assigned to alice yet"
    );
    w.key(KeyCode::Char('9'));
    assert_eq!(
        w.view_label(),
        "My inbox",
        "a missing view leaves the view alone"
    );
    assert!(w.notice().contains("no view 9"), "{}", w.notice());
}

// ----- acting on tickets ---------------------------------------------------------------------

#[test]
fn c_closes_the_selected_ticket_the_cursor_lands_on_the_next_and_u_undoes() {
    let mut w = World::new(&handful());
    w.keys("3jj");
    assert_eq!(w.selected(), 3);
    w.keys("c");
    assert_eq!(
        w.jobs.last(),
        Some(&Job::Act {
            what: Act::Close,
            tickets: vec![3],
            seen: vec![tix::desk::Seen {
                number: 3,
                status: Status::Open,
                assignee: None,
                team: None,
            }],
        })
    );
    assert_eq!(w.status(3), Status::Closed);
    assert!(
        !w.rows().contains(&3),
        "the closed row is still in All open"
    );
    assert_eq!(w.selected(), 4, "the cursor should land on the next ticket");
    assert!(w.notice().contains('u'), "{}", w.notice());
    assert!(w.notice().contains("u undoes"), "{}", w.notice());
    assert!(!w.notice_is_error());
    assert_eq!(w.app.current_view().count, 4);
    assert_eq!(w.app.in_flight, 0);

    w.keys("u");
    assert_eq!(w.jobs.last(), Some(&Job::Undo));
    assert_eq!(w.status(3), Status::Open);
    assert_eq!(w.rows(), vec![1, 2, 3, 4, 5]);
    assert!(w.notice().starts_with("undid"), "{}", w.notice());
    assert_eq!(w.app.current_view().count, 5);
}

#[test]
fn space_marks_two_rows_and_c_closes_both_in_one_action() {
    let mut w = World::new(&handful());
    w.keys("3 ");
    assert_eq!(w.selected(), 2, "space moves to the next row");
    w.keys(" ");
    assert_eq!(
        w.app.list.marked.keys().copied().collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert!(w.notice().contains("2 marked"), "{}", w.notice());
    w.keys("c");
    let closes: Vec<&Job> = w
        .jobs
        .iter()
        .filter(|j| {
            matches!(
                j,
                Job::Act {
                    what: Act::Close,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(closes.len(), 1, "one action for both rows: {closes:?}");
    let Job::Act { tickets, .. } = closes[0] else {
        unreachable!()
    };
    assert_eq!(tickets, &vec![1, 2]);
    assert_eq!((w.status(1), w.status(2)), (Status::Closed, Status::Closed));
    assert_eq!(w.rows(), vec![3, 4, 5]);
    assert!(w.app.list.marked.is_empty());

    // One action, so one undo brings both back.
    w.keys("u");
    assert_eq!((w.status(1), w.status(2)), (Status::Open, Status::Open));
    assert_eq!(w.rows(), vec![1, 2, 3, 4, 5]);
}

#[test]
fn a_opens_the_assign_picker_typing_narrows_it_and_enter_assigns() {
    let mut w = World::new(&handful());
    w.keys("3j");
    w.keys("a");
    let Mode::Assign(p, tickets, _) = &w.app.mode else {
        panic!("a should open the assign picker");
    };
    assert_eq!(tickets, &vec![2]);
    let all = p.match_count();
    assert!(all >= 4, "alice, bob, carol and nobody at least: {all}");
    w.keys("car");
    let Mode::Assign(p, _, _) = &w.app.mode else {
        panic!("typing closed the picker");
    };
    assert!(p.match_count() < all, "typing did not narrow the picker");
    assert_eq!(p.selected().unwrap().label, "carol");
    w.key(KeyCode::Enter);
    assert!(matches!(w.app.mode, Mode::Normal));
    assert_eq!(w.assignee(2).as_deref(), Some("carol"));
    let row = w.app.list.rows.iter().find(|r| r.number == 2).unwrap();
    assert_eq!(row.assignee.as_deref(), Some("carol"));
    assert!(w.notice().contains("carol"), "{}", w.notice());
}

#[test]
fn l_label_picker_adds_a_label_nobody_used_before() {
    let mut w = World::new(&handful());
    w.keys("3l");
    assert!(matches!(w.app.mode, Mode::Label(..)));
    w.keys("vip-gold");
    let Mode::Label(p, _, _) = &w.app.mode else {
        panic!("typing closed the picker");
    };
    assert_eq!(p.new_name(), Some("vip-gold"));
    w.key(KeyCode::Enter);
    assert!(matches!(w.app.mode, Mode::Normal));
    let Some(Job::Act { what, tickets, .. }) = w.jobs.last() else {
        panic!("Enter sent no action: {:?}", w.jobs);
    };
    assert_eq!(
        what,
        &Act::Label {
            label: "vip-gold".into(),
            add: true
        }
    );
    assert_eq!(tickets, &vec![1]);
    assert_eq!(w.app.list.rows[0].labels, vec!["vip-gold".to_string()]);
    assert_eq!(w.app.thread.facts.labels, vec!["vip-gold".to_string()]);

    // The label is known now: the next picker offers it.
    w.keys("jl");
    let Mode::Label(p, _, _) = &w.app.mode else {
        panic!("l should open the label picker");
    };
    assert!(p.visible().any(|c| c.label == "vip-gold"));
}

#[test]
fn n_adds_a_note_and_r_sends_a_reply_through_the_text_box() {
    let mut w = World::new(&handful());
    w.keys("3n");
    assert!(matches!(w.app.mode, Mode::Input(_)));
    w.keys("VIP customer, call back");
    w.key(KeyCode::Enter);
    assert!(matches!(w.app.mode, Mode::Normal));
    assert_eq!(
        w.jobs.last(),
        Some(&Job::Note {
            ticket: 1,
            text: "VIP customer, call back".into()
        })
    );
    assert!(
        w.app.thread.items.iter().any(
            |i| matches!(i, ThreadItem::Note { author, body, .. } if author == "alice" && body == "VIP customer, call back")
        ),
        "the note is not in the thread"
    );

    w.keys("r");
    w.keys("Sent today, sorry");
    w.key(KeyCode::Enter);
    assert_eq!(
        w.jobs.last(),
        Some(&Job::Reply {
            ticket: 1,
            text: "Sent today, sorry".into()
        })
    );
    assert!(
        w.app.thread.items.iter().any(|i| matches!(
            i,
            ThreadItem::Message { direction: Direction::Out, body, .. } if body == "Sent today, sorry"
        )),
        "the reply is not in the thread"
    );

    // An empty text box sends nothing and stays open.
    let sent = w.jobs.len();
    w.keys("n");
    w.key(KeyCode::Enter);
    assert_eq!(w.jobs.len(), sent);
    assert!(matches!(w.app.mode, Mode::Input(_)));
    w.key(KeyCode::Esc);
    assert!(matches!(w.app.mode, Mode::Normal));
}

#[test]
fn slash_search_finds_a_thai_word_inside_a_sentence_and_enter_opens_its_thread() {
    let mut w = World::new(&handful());
    w.keys("3/");
    assert!(matches!(w.app.mode, Mode::Search(_)));
    // "คืนเงิน" (refund) sits inside "ขอคืนเงินค่ะ", with no space around it.
    w.keys("คืนเงิน");
    let Mode::Search(s) = &w.app.mode else {
        panic!("typing closed the search");
    };
    assert_eq!(s.error, None);
    assert_eq!(s.result.hits.len(), 1, "{:?}", s.result.hits);
    let hit = s.result.hits[0].clone();
    assert_eq!(hit.ticket, 3);
    w.key(KeyCode::Enter);
    assert!(matches!(w.app.mode, Mode::Normal));
    assert_eq!(w.app.focus, Focus::Thread);
    assert_eq!(w.app.thread.conversation, Some(hit.conversation_id));
    assert_eq!(w.app.thread.ticket.as_ref().map(|t| t.number), Some(3));
    assert_eq!(w.app.thread.highlight, vec!["คืนเงิน".to_string()]);
}

// ----- other agents and live data ------------------------------------------------------------

#[test]
fn closing_or_assigning_a_ticket_another_agent_closed_meanwhile_is_refused() {
    let mut w = World::new(&handful());
    w.keys("3j");
    assert_eq!(w.selected(), 2);
    // Bob closes #2 from his own tix on the same file, before alice's screen notices.
    let mut bob = w.other_desk();
    bob.close(
        &Ctx {
            agent: "bob".into(),
            at: NOW - MINUTE,
        },
        &[2],
    )
    .unwrap();
    assert_eq!(w.selected(), 2, "no tick yet: alice still sees #2");

    w.keys("c");
    assert!(w.notice_is_error(), "{}", w.notice());
    assert!(w.notice().contains("was closed by"), "{}", w.notice());
    assert!(w.notice().contains("bob"), "{}", w.notice());
    assert_eq!(w.status(2), Status::Closed);

    // The refusal re-read the list, so #2 is gone. Race again, with an assignment this time.
    let next = w.selected();
    bob.close(
        &Ctx {
            agent: "bob".into(),
            at: NOW - MINUTE,
        },
        &[next],
    )
    .unwrap();
    w.keys("a");
    w.keys("carol");
    w.key(KeyCode::Enter);
    assert!(w.notice_is_error(), "{}", w.notice());
    assert!(w.notice().contains("was closed by"), "{}", w.notice());
    assert_eq!(
        w.assignee(next),
        None,
        "the refused assignment changed the ticket"
    );
}

#[test]
fn a_message_stored_by_another_process_shows_on_the_next_tick_and_the_selection_stays() {
    let mut w = World::new(&handful());
    w.keys("3jj");
    let conversation = w.selected_conversation();
    assert_eq!(w.selected(), 3);
    assert_eq!(w.rows(), vec![1, 2, 3, 4, 5]);

    // A customer who has waited longest writes in through an import on the same file: the new
    // row goes to the top, above the selection.
    let mut import = w.other_desk();
    import
        .ingest(&[inbound("U9", "Early Bird", "m9", -60, "hello from before")])
        .unwrap();
    assert_eq!(
        w.rows(),
        vec![1, 2, 3, 4, 5],
        "nothing changes before a tick"
    );

    w.send(Msg::Tick(NOW + 5_000));
    assert_eq!(w.rows(), vec![6, 1, 2, 3, 4, 5]);
    assert_eq!(
        w.selected_conversation(),
        conversation,
        "the selection moved"
    );
    assert_eq!(w.selected(), 3);
    assert_eq!(w.app.current_view().count, 6);

    // A new message in the selected conversation shows in its thread on the next tick.
    import
        .ingest(&[inbound("U3", "Malee", "m10", 30, "ยังรออยู่นะคะ")])
        .unwrap();
    w.send(Msg::Tick(NOW + 10_000));
    assert_eq!(w.selected_conversation(), conversation);
    assert!(
        w.app
            .thread
            .items
            .iter()
            .any(|i| matches!(i, ThreadItem::Message { body, .. } if body == "ยังรออยู่นะคะ")),
        "the new message is not in the thread"
    );
}

#[test]
fn clicking_a_row_selects_it() {
    let mut w = World::new(&handful());
    w.keys("3");
    let list = w.app.areas().list;
    // The first row sits just inside the pane's top border.
    let click = |row: u16| MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: list.x + 3,
        row: list.y + 1 + row,
        modifiers: KeyModifiers::NONE,
    };
    w.send(Msg::Mouse(click(3)));
    assert_eq!(w.selected(), 4);
    assert_eq!(w.app.thread.ticket.as_ref().map(|t| t.number), Some(4));
    w.send(Msg::Mouse(click(1)));
    assert_eq!(w.selected(), 2);
    // A click below the last row changes nothing.
    w.send(Msg::Mouse(click(20)));
    assert_eq!(w.selected(), 2);
    // The sidebar switches views: its third line is "All open", the fifth "Closed".
    let sidebar = w.app.areas().sidebar;
    w.send(Msg::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: sidebar.x + 2,
        row: sidebar.y + 1 + 4,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(w.view_label(), "Closed");
}

#[test]
fn the_config_fills_the_sidebar_and_pickers_and_the_inbox_runs_its_timers() {
    let mut w = World::configured(
        &handful(),
        r#"
me = "alice"
labels = ["refund", "vip"]
[[teams]]
name = "billing"
[[agents]]
handle = "alice"
teams = ["billing"]
[[agents]]
handle = "dao"
[[fields]]
name = "priority"
[timers]
auto_close = "1h"
check_every = "1m"
"#,
    );
    let labels: Vec<String> = w.app.views.iter().map(|v| v.label.clone()).collect();
    assert_eq!(
        labels[..4],
        ["My inbox", "Unassigned", "Team billing", "All open"]
    );
    w.key(KeyCode::Char('4'));
    w.key(KeyCode::Char('a'));
    match &w.app.mode {
        Mode::Assign(p, _, _) => {
            let names: Vec<&str> = p.visible().map(|c| c.label.as_str()).collect();
            assert!(
                names.contains(&"dao") && names.contains(&"billing"),
                "{names:?}"
            );
        }
        _ => panic!("the assign picker is not open"),
    }
    w.key(KeyCode::Esc);
    w.key(KeyCode::Char('l'));
    match &w.app.mode {
        Mode::Label(p, _, _) => {
            let names: Vec<&str> = p.visible().map(|c| c.label.as_str()).collect();
            assert_eq!(names, vec!["refund", "vip"]);
        }
        _ => panic!("the label picker is not open"),
    }
    w.key(KeyCode::Esc);

    // #1 is answered early on; a day later the customer has been silent for far over an hour.
    w.writer
        .reply(
            &Ctx {
                agent: "dao".into(),
                at: T0 + 30 * MINUTE,
            },
            1,
            "sent today",
        )
        .unwrap();
    // Within a minute of the last run, the timers wait.
    w.send(Msg::Tick(NOW + 30_000));
    assert!(!w.jobs.contains(&Job::Timers), "{:?}", w.jobs);
    w.send(Msg::Tick(NOW + 2 * MINUTE));
    assert!(w.jobs.contains(&Job::Timers), "{:?}", w.jobs);
    assert_eq!(w.status(1), Status::Closed);
    assert_eq!(w.status(2), Status::Open, "still waiting for an answer");
}

#[test]
fn the_thread_shows_messengers_reply_window_and_a_late_reply_is_refused_with_the_reason() {
    let mut recent = inbound("M1", "Recent", "x1", 24 * 60 - 120, "hi from messenger");
    recent.channel = ChannelKind::Messenger;
    let mut old = inbound("M2", "Old", "x2", -60, "hello yesterday");
    old.channel = ChannelKind::Messenger;
    let mut w = World::new(&[old, recent]);
    w.key(KeyCode::Char('3'));
    assert_eq!(w.selected(), 1, "the oldest waiting first");
    let (last, window) = w.app.thread.reply_window.expect("a window on messenger");
    assert_eq!(NOW - last, 25 * 60 * MINUTE);
    assert_eq!(window, 24 * 60 * MINUTE);
    w.key(KeyCode::Char('r'));
    w.keys("sorry for the wait");
    w.key(KeyCode::Enter);
    assert!(w.notice_is_error(), "{}", w.notice());
    assert!(w.notice().contains("within 24 hours"), "{}", w.notice());
    w.key(KeyCode::Char('j'));
    let (last, _) = w.app.thread.reply_window.expect("a window on messenger");
    assert_eq!(NOW - last, 120 * MINUTE);
    w.key(KeyCode::Char('r'));
    w.keys("on it");
    w.key(KeyCode::Enter);
    assert!(!w.notice_is_error(), "{}", w.notice());
}

#[test]
fn shift_r_opens_the_reports_of_the_last_week_computed_off_the_drawing_loop() {
    let mut w = World::new(&handful());
    let effects = w.keys_effects("R");
    assert_eq!(effects, vec![Effect::Report]);
    assert!(matches!(w.app.mode, Mode::Reports { text: None, .. }));
    let text = tix::tui::report_text(&w.path, NOW);
    assert!(
        text.as_ref().is_ok_and(|t| t.contains("created")),
        "{text:?}"
    );
    w.send(Msg::Report(text));
    match &w.app.mode {
        Mode::Reports {
            text: Some(Ok(t)), ..
        } => assert!(t.contains('5'), "five tickets were created:\n{t}"),
        _ => panic!("the report is not shown"),
    }
    w.key(KeyCode::Esc);
    assert!(matches!(w.app.mode, Mode::Normal));
}

#[test]
fn e_sets_a_dropdown_field_from_its_options_and_a_required_field_holds_back_c() {
    let mut w = World::configured(
        &handful(),
        r#"
me = "alice"
[[fields]]
name = "Priority"
values = ["Low", "Normal", "High"]
required = true
"#,
    );
    w.key(KeyCode::Char('3'));
    assert_eq!(w.selected(), 1);
    w.key(KeyCode::Char('c'));
    assert!(w.notice_is_error(), "{}", w.notice());
    assert!(w.notice().contains("#1 needs Priority"), "{}", w.notice());
    assert_eq!(w.status(1), Status::Open);
    w.key(KeyCode::Char('e'));
    w.keys("prio");
    w.key(KeyCode::Enter);
    match &w.app.mode {
        Mode::FieldChoice(p, name, _) => {
            assert_eq!(name, "Priority");
            let options: Vec<&str> = p.visible().map(|c| c.label.as_str()).collect();
            assert_eq!(options, vec!["Low", "Normal", "High", "(empty)"]);
        }
        _ => panic!("the options are not offered"),
    }
    w.keys("hi");
    w.key(KeyCode::Enter);
    assert_eq!(
        w.writer.read().field(1, "Priority").unwrap().as_deref(),
        Some("High")
    );
    w.key(KeyCode::Char('c'));
    assert_eq!(w.status(1), Status::Closed, "{}", w.notice());
}

#[test]
fn comments_and_reviews_have_their_views_a_private_reply_and_a_conversion_make_tickets() {
    use tix::sources::reviews::Review;
    use tix::sources::webhooks::Comment;
    let mut w = World::new(&handful());
    w.writer
        .store_comments(&[Comment {
            channel: ChannelKind::Messenger,
            account: "page-1".into(),
            comment_id: "c-1".into(),
            post_id: Some("post-9".into()),
            parent_id: Some("post-9".into()),
            author_id: Some("FB77".into()),
            author_name: Some("Nok".into()),
            text: "How much is the blue one?".into(),
            created_at: NOW - 30 * MINUTE,
            direction: Direction::In,
        }])
        .unwrap();
    w.writer
        .store_reviews(&[Review {
            platform: ChannelKind::Shopee,
            account: None,
            product: "Linen shirt".into(),
            rating: 2,
            author: "buyer_88".into(),
            author_id: Some("S88".into()),
            text: "the colour is not as shown".into(),
            created_at: NOW - 60 * MINUTE,
            review_id: "r-1".into(),
        }])
        .unwrap();
    w.send(Msg::Tick(NOW + 1_000));
    let labels: Vec<(String, i64)> = w
        .app
        .views
        .iter()
        .map(|v| (v.label.clone(), v.count))
        .collect();
    assert_eq!(
        labels[6..8],
        [("Comments".into(), 1), ("Reviews".into(), 1)]
    );

    // The Comments view: r answers privately, in a new Messenger ticket for Nok.
    w.key(KeyCode::Char('7'));
    assert!(w.app.in_area());
    assert_eq!(w.app.area.comments[0].text, "How much is the blue one?");
    w.key(KeyCode::Char('r'));
    w.keys("It is 390 baht");
    w.key(KeyCode::Enter);
    assert!(!w.notice_is_error(), "{}", w.notice());
    assert!(w.notice().contains("replied privately"), "{}", w.notice());
    let ticket = w
        .app
        .thread
        .ticket
        .clone()
        .expect("the new ticket is shown");
    assert_eq!(ticket.channel, ChannelKind::Messenger);
    assert!(w.app.area.comments.is_empty(), "the comment is handled");

    // The Reviews view: Enter turns the review into a Shopee ticket.
    w.key(KeyCode::Char('8'));
    assert_eq!(w.app.area.reviews[0].rating, 2);
    w.key(KeyCode::Enter);
    assert!(w.notice().contains("converted review"), "{}", w.notice());
    let ticket = w
        .app
        .thread
        .ticket
        .clone()
        .expect("the new ticket is shown");
    assert_eq!(ticket.channel, ChannelKind::Shopee);
    assert!(w.app.area.reviews.is_empty());
    // Ticket actions wait for a ticket.
    w.key(KeyCode::Char('c'));
    assert!(
        w.notice().contains("become tickets first"),
        "{}",
        w.notice()
    );
}

#[test]
fn colon_opens_the_palette_and_its_fuzzy_match_runs_an_action_or_switches_views() {
    let mut w = World::new(&handful());
    w.key(KeyCode::Char('3'));
    assert_eq!(w.selected(), 1);
    w.key(KeyCode::Char(':'));
    w.keys("mark spam");
    match &w.app.mode {
        Mode::Palette(p) => assert_eq!(p.selected().unwrap().label, "mark spam"),
        _ => panic!("the palette is not open"),
    }
    w.key(KeyCode::Enter);
    assert_eq!(w.status(1), Status::Spam, "{}", w.notice());
    w.key(KeyCode::Char(':'));
    w.keys("view: spam");
    w.key(KeyCode::Enter);
    assert_eq!(w.view_label(), "Spam");
    assert_eq!(w.rows(), vec![1]);
}
