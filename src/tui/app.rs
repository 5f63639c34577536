//! The inbox's state and its `update`: a key, a click, a tick or a finished write comes in; the
//! state changes; writes to make go out as [`Effect`]s. Drawing reads the state and nothing else.
//!
//! Reads happen here, on the UI's own connection: each is one page off a partial index and takes
//! well under a millisecond. Writes never do: they go to the writer thread.

use std::collections::BTreeMap;

use chrono::FixedOffset;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use ratatui_textarea::TextArea;

use super::keymap::{Command, Key, Keymap, Lookup};
use super::layout::Areas;
use super::picker::{Choice, Picker};
use super::theme::Theme;
use super::worker::{Act, Job, Outcome};
use crate::desk::Seen;
use crate::domain::{Millis, TicketNumber};
use crate::store::{
    ContactCard, Page, Queue, QueueRow, SavedFilter, SearchResult, Store, ThreadItem, TicketFacts,
    TicketSummary,
};

/// How many rows one read of a queue brings in beyond what the screen shows. Small reads keep
/// every key under a few milliseconds at any queue size.
const PAGE: usize = 40;
/// How many messages of a thread are read at first; scrolling to the top reads more.
const THREAD_MESSAGES: usize = 100;
/// While data keeps changing, the sidebar is recounted at most once a second by the clock, and
/// at least every this many changes seen (they are looked for every quarter second): the clock
/// can be fixed (`TIX_NOW`), and the counts must still move.
const COUNT_EVERY_MS: Millis = 1_000;
const RECOUNT_EVERY_CHANGES: u32 = 4;

/// What the inbox is set up with.
#[derive(Debug, Clone)]
pub struct Options {
    /// The agent acting.
    pub agent: String,
    pub keymap: Keymap,
    pub theme: Theme,
    /// Saved views from the config, after the built-in ones.
    pub saved_views: Vec<(String, SavedFilter)>,
    /// Agents, teams, labels and fields the config names; the pickers add what the data holds.
    pub agents: Vec<String>,
    pub teams: Vec<String>,
    pub labels: Vec<String>,
    /// The config's fields, with their types (dropdowns offer their options).
    pub field_defs: Vec<crate::domain::fields::FieldDef>,
    /// Times are shown at this offset from UTC.
    pub utc_offset: FixedOffset,
    /// Shown in the status line, e.g. "demo".
    pub tag: Option<String>,
    /// How often the inbox runs the config's timers (idle, unassigned_for, auto-close); `None`
    /// when there are none.
    pub timers_every: Option<Millis>,
}

impl Options {
    /// The defaults for an agent: every key as documented, colours unless `NO_COLOR` is set,
    /// times in the machine's time zone.
    pub fn for_agent(agent: String) -> Result<Options, String> {
        use chrono::Offset;
        Ok(Options {
            agent,
            keymap: Keymap::default(),
            theme: Theme::choose(None, Theme::no_color_env())?,
            saved_views: Vec::new(),
            agents: Vec::new(),
            teams: Vec::new(),
            labels: Vec::new(),
            field_defs: Vec::new(),
            utc_offset: chrono::Local::now().offset().fix(),
            tag: None,
            timers_every: None,
        })
    }
}

impl Options {
    /// The options a config file asks for: its keys, theme and saved views.
    pub fn from_config(agent: String, config: &crate::config::Config) -> Result<Options, String> {
        let mut o = Options::for_agent(agent)?;
        if let Some(routing) = &config.routing {
            o.agents = routing.agents.iter().map(|a| a.handle.clone()).collect();
            o.teams = routing.teams.iter().map(|t| t.name.clone()).collect();
            o.timers_every = routing.has_timers().then_some(routing.tick_every);
        }
        o.labels = config.labels.iter().map(|l| l.get_ref().clone()).collect();
        o.field_defs = config.field_defs().map_err(|(_, e)| e)?;
        o.keymap = Keymap::with_overrides(&config.key_overrides())?;
        o.theme = Theme::choose(config.theme.as_deref(), Theme::no_color_env())?;
        o.saved_views = config.saved_views()?;
        Ok(o)
    }
}

/// Something that happened, for `update`.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// Time passes; the database may have changed under us.
    Tick(Millis),
    /// The writer finished a job.
    Done(Outcome),
    /// Text came back from `$EDITOR`.
    Edited(String),
    /// The Reports screen's text, or why it could not be made.
    Report(Result<String, String>),
}

/// Work for the event loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Write(Job),
    /// Suspend the screen and edit this text in `$EDITOR`.
    Edit(String),
    /// Repaint every cell, whatever the terminal shows now.
    Redraw,
    /// Compute the Reports screen off the drawing loop (it reads the journal of a week).
    Report,
}

/// What a sidebar entry lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewKind {
    Tickets(Queue),
    /// Public comments waiting for someone.
    Comments,
    /// Marketplace reviews waiting for someone.
    Reviews,
}

/// A sidebar entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewEntry {
    pub label: String,
    pub kind: ViewKind,
    pub count: i64,
}

impl ViewEntry {
    /// The ticket queue of the view, if it lists tickets.
    pub fn queue(&self) -> Option<&Queue> {
        match &self.kind {
            ViewKind::Tickets(q) => Some(q),
            _ => None,
        }
    }
}

/// The Comments or Reviews view's rows, newest first: a page at a time, like the queues.
#[derive(Debug, Clone, Default)]
pub struct AreaList {
    pub comments: Vec<crate::store::CommentRow>,
    pub reviews: Vec<crate::store::ReviewRow>,
    pub cursor: usize,
    pub offset: usize,
    pub at_bottom: bool,
}

impl AreaList {
    pub fn len(&self) -> usize {
        self.comments.len().max(self.reviews.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Which pane keys go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    List,
    Thread,
}

/// The loaded window of the current queue. Only this window is ever in memory.
#[derive(Debug, Clone, Default)]
pub struct List {
    pub rows: Vec<QueueRow>,
    /// The queue position of `rows[0]`, for "row 12 of 3,402".
    pub start: usize,
    /// The selected row, as an index into `rows`.
    pub cursor: usize,
    /// The first row on screen, as an index into `rows`.
    pub offset: usize,
    /// Rows marked for a bulk action, with what they showed when marked.
    pub marked: BTreeMap<TicketNumber, Seen>,
    /// Whether `rows` reaches the queue's first and last rows.
    pub at_top: bool,
    pub at_bottom: bool,
}

impl List {
    pub fn selected(&self) -> Option<&QueueRow> {
        self.rows.get(self.cursor)
    }
}

/// The thread pane's conversation.
#[derive(Debug, Clone, Default)]
pub struct Thread {
    pub conversation: Option<i64>,
    /// The conversation's newest ticket: the one actions from the thread pane act on.
    pub ticket: Option<TicketSummary>,
    pub items: Vec<ThreadItem>,
    /// Older messages exist beyond what is loaded.
    pub more: bool,
    pub limit: usize,
    pub card: Option<ContactCard>,
    pub facts: TicketFacts,
    /// Lines scrolled up from the bottom (0: the newest message is in view).
    pub scroll: usize,
    /// Search terms to highlight, when opened from search.
    pub highlight: Vec<String>,
    /// On channels that limit replies to a window after the customer's last message: when that
    /// message was, and how long the window is.
    pub reply_window: Option<(Millis, Millis)>,
}

/// A typed-text box: a note, a reply, a field value.
pub struct Input {
    pub purpose: InputPurpose,
    pub area: TextArea<'static>,
    pub tickets: Vec<TicketNumber>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputPurpose {
    Note,
    Reply,
    FieldValue(String),
    /// A private reply to this public comment.
    CommentReply(i64),
}

impl InputPurpose {
    pub fn title(&self) -> String {
        match self {
            InputPurpose::Note => "Internal note".into(),
            InputPurpose::Reply => "Reply to the customer".into(),
            InputPurpose::FieldValue(name) => format!("Set {name}"),
            InputPurpose::CommentReply(id) => format!("Private reply to comment {id}"),
        }
    }
}

/// Who an assignment goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Agent(String),
    Team(String),
    Nobody,
}

/// A command palette entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaletteItem {
    Run(Command),
    View(usize),
}

/// Search across every message.
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub query: String,
    pub result: SearchResult,
    pub cursor: usize,
    pub error: Option<String>,
}

/// What the screen is doing besides showing the inbox.
pub enum Mode {
    Normal,
    Help {
        scroll: usize,
    },
    Assign(Picker<Target>, Vec<TicketNumber>, Vec<Seen>),
    Label(Picker<(String, bool)>, Vec<TicketNumber>, Vec<Seen>),
    FieldName(Picker<String>, Vec<TicketNumber>),
    /// Choosing a dropdown's option (or yes/no); `None` clears the field.
    FieldChoice(Picker<Option<String>>, String, Vec<TicketNumber>),
    Palette(Picker<PaletteItem>),
    Input(Box<Input>),
    Search(Search),
    /// The Reports screen: `None` while it is being computed.
    Reports {
        text: Option<Result<String, String>>,
        scroll: usize,
    },
}

/// A line for the status bar: what just happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub error: bool,
}

/// The whole state of the inbox.
pub struct App {
    pub opts: Options,
    store: Store,
    pub views: Vec<ViewEntry>,
    pub view: usize,
    pub list: List,
    /// The rows of the Comments or Reviews view, when that is the view.
    pub area: AreaList,
    pub thread: Thread,
    pub focus: Focus,
    pub mode: Mode,
    pub pending: Vec<Key>,
    pub notice: Option<Notice>,
    /// The clock, as of the last tick.
    pub now: Millis,
    pub size: Rect,
    pub quit: bool,
    /// Jobs sent to the writer and not yet back.
    pub in_flight: usize,
    data_version: i64,
    counted_at: Millis,
    /// Changes seen since the sidebar was last counted.
    changes_uncounted: u32,
    /// When the timers last ran.
    timers_at: Millis,
}

type Res<T> = crate::store::Result<T>;

impl App {
    /// Opens the inbox on a store (a connection of its own: the writer has another).
    pub fn new(store: Store, opts: Options, now: Millis, size: Rect) -> Res<App> {
        let data_version = store.data_version()?;
        let mut app = App {
            opts,
            store,
            views: Vec::new(),
            view: 0,
            list: List::default(),
            area: AreaList::default(),
            thread: Thread::default(),
            focus: Focus::List,
            mode: Mode::Normal,
            pending: Vec::new(),
            notice: None,
            now,
            size,
            quit: false,
            in_flight: 0,
            data_version,
            counted_at: now,
            changes_uncounted: 0,
            timers_at: now,
        };
        app.build_views()?;
        app.load_list(Page::First)?;
        app.load_thread_of_selection()?;
        Ok(app)
    }

    pub fn areas(&self) -> Areas {
        Areas::of(self.size, self.focus)
    }

    fn list_height(&self) -> usize {
        (self.areas().list.height.saturating_sub(2) as usize).max(1)
    }

    // ----- reading --------------------------------------------------------------------------

    fn build_views(&mut self) -> Res<()> {
        let sql = self.store.read();
        let mut teams = self.opts.teams.clone();
        for t in sql.teams_with_open_tickets()? {
            if !teams.contains(&t) {
                teams.push(t);
            }
        }
        let mut views = vec![
            ("My inbox".to_string(), Queue::Mine(self.opts.agent.clone())),
            ("Unassigned".to_string(), Queue::Unassigned),
        ];
        views.extend(
            teams
                .into_iter()
                .map(|t| (format!("Team {t}"), Queue::Team(t))),
        );
        views.push(("All open".into(), Queue::AllOpen));
        views.push(("Follow-up".into(), Queue::FollowUp));
        views.push(("Closed".into(), Queue::Closed));
        views.push(("Spam".into(), Queue::Spam));
        let current = self.views.get(self.view).map(|v| v.kind.clone());
        let mut entries = Vec::with_capacity(views.len() + 2);
        for (label, queue) in views {
            let count = sql.queue_count(&queue)?;
            entries.push(ViewEntry {
                label,
                kind: ViewKind::Tickets(queue),
                count,
            });
        }
        let (comments, reviews) = sql.unhandled_counts()?;
        entries.push(ViewEntry {
            label: "Comments".into(),
            kind: ViewKind::Comments,
            count: comments,
        });
        entries.push(ViewEntry {
            label: "Reviews".into(),
            kind: ViewKind::Reviews,
            count: reviews,
        });
        for (name, f) in &self.opts.saved_views {
            let queue = Queue::Saved(f.clone());
            let count = sql.queue_count(&queue)?;
            entries.push(ViewEntry {
                label: name.clone(),
                kind: ViewKind::Tickets(queue),
                count,
            });
        }
        self.views = entries;
        self.view = current
            .and_then(|k| self.views.iter().position(|v| v.kind == k))
            .unwrap_or(0);
        self.counted_at = self.now;
        self.changes_uncounted = 0;
        Ok(())
    }

    /// A page of the current view's ticket queue; the Comments and Reviews views have no
    /// tickets, so none.
    fn page_of_view(&self, page: Page, limit: usize) -> Res<Vec<QueueRow>> {
        match &self.views[self.view].kind {
            ViewKind::Tickets(q) => self.store.read().queue_page(q, page, limit),
            _ => Ok(Vec::new()),
        }
    }

    /// Whether the view lists comments or reviews rather than tickets.
    pub fn in_area(&self) -> bool {
        !matches!(self.views[self.view].kind, ViewKind::Tickets(_))
    }

    /// Reads the first page of the Comments or Reviews view, or the next one.
    fn load_area(&mut self, more: bool) -> Res<()> {
        let sql = self.store.read();
        let limit = (self.list_height() + PAGE) as i64;
        let kind = self.views[self.view].kind.clone();
        if !more {
            self.area = AreaList::default();
        }
        let before = match kind {
            ViewKind::Comments => self.area.comments.last().map(|c| (c.created_at, c.id)),
            _ => self.area.reviews.last().map(|r| (r.created_at, r.id)),
        };
        let filter = crate::store::AreaFilter {
            before: if more { before } else { None },
            limit: Some(limit),
            ..Default::default()
        };
        let got = match kind {
            ViewKind::Comments => {
                let rows = sql.list_comments(&filter)?;
                let n = rows.len();
                self.area.comments.extend(rows);
                n
            }
            ViewKind::Reviews => {
                let rows = sql.list_reviews(&filter)?;
                let n = rows.len();
                self.area.reviews.extend(rows);
                n
            }
            ViewKind::Tickets(_) => 0,
        };
        self.area.at_bottom = (got as i64) < limit;
        self.area.cursor = self.area.cursor.min(self.area.len().saturating_sub(1));
        Ok(())
    }

    fn move_area(&mut self, by: isize) -> Res<()> {
        // The pane beside the list shows the selected comment or review again.
        self.thread = Thread::default();
        let target = (self.area.cursor as isize + by).max(0) as usize;
        while target >= self.area.len() && !self.area.at_bottom {
            let before = self.area.len();
            self.load_area(true)?;
            if self.area.len() == before {
                break;
            }
        }
        self.area.cursor = target.min(self.area.len().saturating_sub(1));
        let h = self.list_height();
        if self.area.cursor < self.area.offset {
            self.area.offset = self.area.cursor;
        } else if self.area.cursor >= self.area.offset + h {
            self.area.offset = self.area.cursor + 1 - h;
        }
        Ok(())
    }

    fn load_list(&mut self, page: Page) -> Res<()> {
        let want = self.list_height() + PAGE;
        let rows = self.page_of_view(page, want)?;
        let total = self.views[self.view].count.max(rows.len() as i64) as usize;
        let got = rows.len();
        self.list.rows = rows;
        match page {
            Page::Last => {
                self.list.start = total.saturating_sub(got);
                self.list.cursor = got.saturating_sub(1);
                self.list.at_top = got < want;
                self.list.at_bottom = true;
            }
            _ => {
                self.list.start = 0;
                self.list.cursor = 0;
                self.list.at_top = true;
                self.list.at_bottom = got < want;
            }
        }
        self.list.offset = 0;
        self.keep_cursor_visible();
        Ok(())
    }

    /// Reads more rows after the window, if there are any. Returns how many came.
    fn extend_down(&mut self) -> Res<usize> {
        if self.list.at_bottom {
            return Ok(0);
        }
        let Some(last) = self.list.rows.last().map(QueueRow::key) else {
            return Ok(0);
        };
        let more = self.page_of_view(Page::After(last), PAGE)?;
        let n = more.len();
        self.list.at_bottom = n < PAGE;
        self.list.rows.extend(more);
        // Keep the window bounded: drop rows far above the cursor.
        let keep = PAGE * 4;
        if self.list.rows.len() > keep && self.list.cursor > PAGE * 2 {
            let drop = PAGE;
            self.list.rows.drain(..drop);
            self.list.start += drop;
            self.list.cursor -= drop;
            self.list.offset = self.list.offset.saturating_sub(drop);
            self.list.at_top = false;
        }
        Ok(n)
    }

    /// Reads more rows before the window, if there are any. Returns how many came.
    fn extend_up(&mut self) -> Res<usize> {
        if self.list.at_top {
            return Ok(0);
        }
        let Some(first) = self.list.rows.first().map(QueueRow::key) else {
            return Ok(0);
        };
        let more = self.page_of_view(Page::Before(first), PAGE)?;
        let n = more.len();
        if n < PAGE {
            self.list.at_top = true;
        }
        self.list.start = if self.list.at_top {
            0
        } else {
            self.list.start.saturating_sub(n)
        };
        let mut rows = more;
        rows.append(&mut self.list.rows);
        self.list.rows = rows;
        self.list.cursor += n;
        self.list.offset += n;
        let keep = PAGE * 4;
        if self.list.rows.len() > keep && self.list.rows.len() - self.list.cursor > PAGE * 2 {
            self.list.rows.truncate(self.list.rows.len() - PAGE);
            self.list.at_bottom = false;
        }
        Ok(n)
    }

    /// Re-reads the window after the data changed, keeping the selection on the same
    /// conversation if it is still in the view, or on the row that took its place if not.
    fn refresh_list(&mut self) -> Res<()> {
        let selected = self.list.selected().map(|r| r.conversation_id);
        // Only the rows from the first one on screen are read again; the window restarts there.
        let offset = self.list.offset.min(self.list.rows.len().saturating_sub(1));
        let old_cursor = self.list.cursor - offset.min(self.list.cursor);
        let want = self.list_height() + PAGE;
        let page = if (self.list.at_top && offset == 0) || self.list.rows.is_empty() {
            Page::First
        } else {
            self.list.start += offset;
            self.list.at_top = false;
            Page::From(self.list.rows[offset].key())
        };
        self.list.offset = 0;
        let rows = self.page_of_view(page, want)?;
        self.list.at_bottom = rows.len() < want;
        if matches!(page, Page::First) {
            self.list.start = 0;
            self.list.at_top = true;
        }
        self.list.rows = rows;
        self.list.cursor = selected
            .and_then(|c| self.list.rows.iter().position(|r| r.conversation_id == c))
            .unwrap_or(old_cursor)
            .min(self.list.rows.len().saturating_sub(1));
        // Marks stay, even on rows that left the view: acting on them then says why each one
        // that moved on was left alone.
        self.keep_cursor_visible();
        Ok(())
    }

    fn keep_cursor_visible(&mut self) {
        let h = self.list_height();
        let l = &mut self.list;
        if l.cursor < l.offset {
            l.offset = l.cursor;
        } else if l.cursor >= l.offset + h {
            l.offset = l.cursor + 1 - h;
        }
        let max_offset = l.rows.len().saturating_sub(h);
        l.offset = l.offset.min(max_offset.max(l.cursor.saturating_sub(h - 1)));
    }

    fn move_cursor(&mut self, by: isize) -> Res<()> {
        // The target is a queue position: reading more rows may drop rows from the window's
        // other end and move `start`, and the target must not move with it.
        let here = self.list.start + self.list.cursor;
        if by > 0 {
            let target = here + by as usize;
            while target >= self.list.start + self.list.rows.len() && self.extend_down()? > 0 {}
            self.list.cursor = target
                .saturating_sub(self.list.start)
                .min(self.list.rows.len().saturating_sub(1));
        } else {
            let target = here.saturating_sub(by.unsigned_abs());
            while target < self.list.start && self.extend_up()? > 0 {}
            self.list.cursor = target
                .saturating_sub(self.list.start)
                .min(self.list.rows.len().saturating_sub(1));
        }
        self.keep_cursor_visible();
        self.load_thread_of_selection()
    }

    /// Shows the selected row's conversation in the thread pane.
    fn load_thread_of_selection(&mut self) -> Res<()> {
        match self.list.selected().map(|r| r.conversation_id) {
            Some(c) => {
                if self.thread.conversation != Some(c) {
                    self.load_thread(c, Vec::new())?;
                }
            }
            None => self.thread = Thread::default(),
        }
        Ok(())
    }

    fn load_thread(&mut self, conversation: i64, highlight: Vec<String>) -> Res<()> {
        let same = self.thread.conversation == Some(conversation);
        let limit = if same {
            self.thread.limit.max(THREAD_MESSAGES)
        } else {
            THREAD_MESSAGES
        };
        let sql = self.store.read();
        let (items, more) = sql.thread_tail(conversation, limit)?;
        let ticket = match sql.latest_ticket_of_conversation(conversation)? {
            Some(n) => sql.ticket_summary(n)?,
            None => None,
        };
        let facts = match &ticket {
            Some(t) => sql.ticket_facts(t.number)?,
            None => TicketFacts::default(),
        };
        let card = match &ticket {
            Some(t) => sql.contact_card(t.contact_id, conversation)?,
            None => None,
        };
        let reply_window = match &ticket {
            Some(t) => match t.channel.reply_window() {
                Some(window) => sql
                    .last_inbound_at(conversation)?
                    .map(|last| (last, window)),
                None => None,
            },
            None => None,
        };
        let scroll = if same { self.thread.scroll } else { 0 };
        self.thread = Thread {
            conversation: Some(conversation),
            ticket,
            items,
            more,
            limit,
            card,
            facts,
            scroll,
            reply_window,
            highlight: if same && highlight.is_empty() {
                std::mem::take(&mut self.thread.highlight)
            } else {
                highlight
            },
        };
        Ok(())
    }

    // ----- update ---------------------------------------------------------------------------

    /// The one entry point: every event goes through here.
    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        let result = match msg {
            Msg::Key(k) => self.on_key(k),
            Msg::Mouse(m) => self.on_mouse(m).map(|()| Vec::new()),
            Msg::Resize(w, h) => {
                self.size = Rect::new(0, 0, w, h);
                self.keep_cursor_visible();
                Ok(Vec::new())
            }
            Msg::Tick(now) => self.on_tick(now),
            Msg::Done(outcome) => self.on_done(outcome).map(|()| Vec::new()),
            Msg::Report(result) => {
                if let Mode::Reports { text, .. } = &mut self.mode {
                    *text = Some(result);
                }
                Ok(Vec::new())
            }
            Msg::Edited(text) => {
                if let Mode::Input(input) = &mut self.mode {
                    let lines: Vec<String> = text.lines().map(str::to_string).collect();
                    let mut area = TextArea::new(if lines.is_empty() {
                        vec![String::new()]
                    } else {
                        lines
                    });
                    area.move_cursor(ratatui_textarea::CursorMove::Bottom);
                    area.move_cursor(ratatui_textarea::CursorMove::End);
                    input.area = area;
                }
                Ok(Vec::new())
            }
        };
        result.unwrap_or_else(|e| {
            self.error(format!("cannot read the database: {e}"));
            Vec::new()
        })
    }

    fn say(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice {
            text: text.into(),
            error: false,
        });
    }

    fn error(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice {
            text: text.into(),
            error: true,
        });
    }

    fn on_tick(&mut self, now: Millis) -> Res<Vec<Effect>> {
        self.now = now;
        let mut effects = Vec::new();
        if let Some(every) = self.opts.timers_every
            && now - self.timers_at >= every
        {
            self.timers_at = now;
            effects = self.send(Job::Timers);
        }
        let version = self.store.data_version()?;
        if version != self.data_version {
            self.data_version = version;
            self.refresh_after_change(false)?;
        }
        Ok(effects)
    }

    fn refresh_after_change(&mut self, recount: bool) -> Res<()> {
        self.changes_uncounted += 1;
        if recount
            || self.now - self.counted_at >= COUNT_EVERY_MS
            || self.changes_uncounted >= RECOUNT_EVERY_CHANGES
        {
            self.build_views()?;
        }
        if self.in_area() {
            let (cursor, offset) = (self.area.cursor, self.area.offset);
            self.load_area(false)?;
            self.area.cursor = cursor.min(self.area.len().saturating_sub(1));
            self.area.offset = offset.min(self.area.cursor);
            return Ok(());
        }
        self.refresh_list()?;
        // The thread pane follows the selection while the list has the focus, and keeps its own
        // conversation (opened from search, say) while it has the focus itself. Read once.
        let shown = match self.focus {
            Focus::List => self.list.selected().map(|r| r.conversation_id),
            Focus::Thread => self.thread.conversation,
        };
        match shown {
            Some(c) => self.load_thread(c, Vec::new()),
            None => {
                self.thread = Thread::default();
                Ok(())
            }
        }
    }

    fn on_done(&mut self, outcome: Outcome) -> Res<()> {
        self.in_flight = self.in_flight.saturating_sub(1);
        if outcome.is_quiet() && outcome.result.is_ok() {
            return Ok(());
        }
        match &outcome.result {
            Ok(done) => {
                let mut text = done.summary.clone();
                if !done.skipped.is_empty() {
                    text.push_str(&format!(" (left alone: {})", done.skipped.join("; ")));
                }
                if done.undoable && !matches!(outcome.job, Job::Undo) {
                    text.push_str(" · u undoes");
                }
                self.say(text);
                if let Job::Act { tickets, .. } = &outcome.job {
                    for n in tickets {
                        self.list.marked.remove(n);
                    }
                }
                // A review or comment turned into a ticket: show that ticket's thread.
                if matches!(
                    outcome.job,
                    Job::ConvertReview(_) | Job::ReplyComment { .. }
                ) && let Some(&n) = done.changed.first()
                    && let Some(t) = self.store.read().ticket(n)?
                {
                    self.load_thread(t.conversation_id, Vec::new())?;
                }
            }
            Err(why) => self.error(why.clone()),
        }
        self.data_version = self.store.data_version()?;
        self.refresh_after_change(true)
    }

    fn on_key(&mut self, key: KeyEvent) -> Res<Vec<Effect>> {
        if key.kind == crossterm::event::KeyEventKind::Release {
            return Ok(Vec::new());
        }
        let mode = std::mem::replace(&mut self.mode, Mode::Normal);
        match mode {
            Mode::Normal => self.on_normal_key(key),
            Mode::Help { scroll } => {
                let scroll = match key.code {
                    KeyCode::Char('j') | KeyCode::Down => scroll + 1,
                    KeyCode::Char('k') | KeyCode::Up => scroll.saturating_sub(1),
                    KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('?') | KeyCode::Enter => {
                        return Ok(Vec::new());
                    }
                    _ => scroll,
                };
                self.mode = Mode::Help { scroll };
                Ok(Vec::new())
            }
            Mode::Assign(mut p, tickets, seen) => match picker_key(&mut p, key) {
                PickerKey::Stay => {
                    self.mode = Mode::Assign(p, tickets, seen);
                    Ok(Vec::new())
                }
                PickerKey::Cancel => Ok(Vec::new()),
                PickerKey::Chosen => {
                    let target = match p.new_name() {
                        Some(name) if p.selected().is_none() => Target::Agent(name.to_string()),
                        _ => match p.selected() {
                            Some(c) => c.value.clone(),
                            None => return Ok(Vec::new()),
                        },
                    };
                    let what = match target {
                        Target::Agent(a) => Act::Assign {
                            agent: Some(a),
                            team: None,
                        },
                        Target::Team(t) => Act::Assign {
                            agent: None,
                            team: Some(t),
                        },
                        Target::Nobody => Act::Unassign,
                    };
                    Ok(self.send_act(what, tickets, seen))
                }
            },
            Mode::Label(mut p, tickets, seen) => match picker_key(&mut p, key) {
                PickerKey::Stay => {
                    self.mode = Mode::Label(p, tickets, seen);
                    Ok(Vec::new())
                }
                PickerKey::Cancel => Ok(Vec::new()),
                PickerKey::Chosen => {
                    let (label, add) = match (p.selected(), p.new_name()) {
                        (Some(c), _) => c.value.clone(),
                        (None, Some(name)) => (name.to_string(), true),
                        (None, None) => return Ok(Vec::new()),
                    };
                    Ok(self.send_act(Act::Label { label, add }, tickets, seen))
                }
            },
            Mode::FieldName(mut p, tickets) => match picker_key(&mut p, key) {
                PickerKey::Stay => {
                    self.mode = Mode::FieldName(p, tickets);
                    Ok(Vec::new())
                }
                PickerKey::Cancel => Ok(Vec::new()),
                PickerKey::Chosen => {
                    let name = match (p.selected(), p.new_name()) {
                        (Some(c), _) => c.value.clone(),
                        (None, Some(n)) => n.to_string(),
                        (None, None) => return Ok(Vec::new()),
                    };
                    let def = crate::domain::fields::find(&self.opts.field_defs, &name).cloned();
                    let options = match def.as_ref().map(|d| &d.kind) {
                        Some(crate::domain::fields::FieldKind::Dropdown(o)) => Some(o.clone()),
                        Some(crate::domain::fields::FieldKind::Checkbox) => {
                            Some(vec!["yes".to_string(), "no".to_string()])
                        }
                        _ => None,
                    };
                    if let Some(options) = options {
                        let mut choices: Vec<Choice<Option<String>>> = options
                            .into_iter()
                            .map(|o| Choice {
                                label: o.clone(),
                                hint: String::new(),
                                value: Some(o),
                            })
                            .collect();
                        choices.push(Choice {
                            label: "(empty)".into(),
                            hint: "clear".into(),
                            value: None,
                        });
                        self.mode = Mode::FieldChoice(
                            Picker::new(name.clone(), choices, false),
                            name,
                            tickets,
                        );
                        return Ok(Vec::new());
                    }
                    let current = match tickets.as_slice() {
                        [one] => self.store.read().field(*one, &name)?.unwrap_or_default(),
                        _ => String::new(),
                    };
                    self.mode = Mode::Input(Box::new(Input {
                        purpose: InputPurpose::FieldValue(name),
                        area: TextArea::new(vec![current]),
                        tickets,
                    }));
                    Ok(Vec::new())
                }
            },
            Mode::FieldChoice(mut p, name, tickets) => match picker_key(&mut p, key) {
                PickerKey::Stay => {
                    self.mode = Mode::FieldChoice(p, name, tickets);
                    Ok(Vec::new())
                }
                PickerKey::Cancel => Ok(Vec::new()),
                PickerKey::Chosen => match p.selected() {
                    Some(c) => {
                        let value = c.value.clone().unwrap_or_default();
                        let seen = self.targets().1;
                        Ok(self.send_act(Act::Field { name, value }, tickets, seen))
                    }
                    None => Ok(Vec::new()),
                },
            },
            Mode::Palette(mut p) => match picker_key(&mut p, key) {
                PickerKey::Stay => {
                    self.mode = Mode::Palette(p);
                    Ok(Vec::new())
                }
                PickerKey::Cancel => Ok(Vec::new()),
                PickerKey::Chosen => match p.selected().map(|c| c.value.clone()) {
                    Some(PaletteItem::Run(c)) => self.run(c),
                    Some(PaletteItem::View(i)) => {
                        self.switch_view(i)?;
                        Ok(Vec::new())
                    }
                    None => Ok(Vec::new()),
                },
            },
            Mode::Input(input) => self.on_input_key(*input, key),
            Mode::Reports { text, scroll } => {
                let scroll = match key.code {
                    KeyCode::Char('j') | KeyCode::Down => scroll + 1,
                    KeyCode::Char('k') | KeyCode::Up => scroll.saturating_sub(1),
                    KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('R') | KeyCode::Enter => {
                        return Ok(Vec::new());
                    }
                    _ => scroll,
                };
                self.mode = Mode::Reports { text, scroll };
                Ok(Vec::new())
            }
            Mode::Search(search) => self.on_search_key(search, key),
        }
    }

    fn on_normal_key(&mut self, key: KeyEvent) -> Res<Vec<Effect>> {
        let Some(k) = Key::from_event(&key) else {
            return Ok(Vec::new());
        };
        let pending = std::mem::take(&mut self.pending);
        match self.opts.keymap.lookup(&pending, k) {
            Lookup::Run(c) => self.run(c),
            Lookup::Pending => {
                self.pending = pending;
                self.pending.push(k);
                Ok(Vec::new())
            }
            Lookup::Unbound if !pending.is_empty() => {
                // An unfinished binding followed by another key: try that key on its own.
                self.on_normal_key(key)
            }
            Lookup::Unbound => Ok(Vec::new()),
        }
    }
}

/// What a key did to a picker.
enum PickerKey {
    Stay,
    Cancel,
    Chosen,
}

fn picker_key<T: Clone>(p: &mut Picker<T>, key: KeyEvent) -> PickerKey {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Esc => PickerKey::Cancel,
        KeyCode::Enter => PickerKey::Chosen,
        KeyCode::Down | KeyCode::Tab => {
            p.down();
            PickerKey::Stay
        }
        KeyCode::Up | KeyCode::BackTab => {
            p.up();
            PickerKey::Stay
        }
        KeyCode::Char('n') if ctrl => {
            p.down();
            PickerKey::Stay
        }
        KeyCode::Char('p') if ctrl => {
            p.up();
            PickerKey::Stay
        }
        KeyCode::Backspace => {
            p.backspace();
            PickerKey::Stay
        }
        KeyCode::Char(c) if !ctrl => {
            p.type_char(c);
            PickerKey::Stay
        }
        _ => PickerKey::Stay,
    }
}

impl App {
    /// Runs a command from a key, the palette or a click.
    fn run(&mut self, c: Command) -> Res<Vec<Effect>> {
        if self.in_area()
            && let Some(done) = self.run_in_area(c)
        {
            return done;
        }
        let thread_focus = self.focus == Focus::Thread;
        match c {
            Command::Quit => self.quit = true,
            Command::Down | Command::Up if thread_focus => {
                self.scroll_thread(if c == Command::Down { -1 } else { 1 })?
            }
            Command::HalfPageDown | Command::HalfPageUp if thread_focus => {
                let half = (self.areas().thread.height / 2).max(1) as isize;
                self.scroll_thread(if c == Command::HalfPageDown {
                    -half
                } else {
                    half
                })?
            }
            Command::Top if thread_focus => self.scroll_thread(isize::MAX / 2)?,
            Command::Bottom if thread_focus => self.thread.scroll = 0,
            Command::Down => self.move_cursor(1)?,
            Command::Up => self.move_cursor(-1)?,
            Command::HalfPageDown => self.move_cursor((self.list_height() / 2).max(1) as isize)?,
            Command::HalfPageUp => self.move_cursor(-((self.list_height() / 2).max(1) as isize))?,
            Command::Top => {
                if self.list.at_top {
                    self.list.cursor = 0;
                    self.keep_cursor_visible();
                } else {
                    self.load_list(Page::First)?;
                }
                self.load_thread_of_selection()?;
            }
            Command::Bottom => {
                if self.list.at_bottom {
                    self.list.cursor = self.list.rows.len().saturating_sub(1);
                    self.keep_cursor_visible();
                } else {
                    self.load_list(Page::Last)?;
                }
                self.load_thread_of_selection()?;
            }
            Command::Open => {
                if let Some(row) = self.list.selected().cloned() {
                    if self.thread.conversation != Some(row.conversation_id) {
                        self.load_thread(row.conversation_id, Vec::new())?;
                    }
                    self.focus = Focus::Thread;
                    if row.unread > 0 {
                        return Ok(self.send(Job::MarkRead(row.number)));
                    }
                }
            }
            Command::Back => {
                if !self.list.marked.is_empty() && self.focus == Focus::List {
                    self.list.marked.clear();
                    self.say("marks cleared");
                } else {
                    self.focus = Focus::List;
                    self.load_thread_of_selection()?;
                }
            }
            Command::Focus => {
                self.focus = match self.focus {
                    Focus::List if self.thread.conversation.is_some() => Focus::Thread,
                    _ => Focus::List,
                };
            }
            Command::View(n) => self.switch_view(n as usize - 1)?,
            Command::Mark => {
                if let Some(seen) = self.list.selected().map(seen_of_row) {
                    let n = seen.number;
                    if self.list.marked.remove(&n).is_none() {
                        self.list.marked.insert(n, seen);
                    }
                    let count = self.list.marked.len();
                    self.say(format!(
                        "{count} marked: the next action applies to all of them (Esc clears)"
                    ));
                    self.move_cursor(1)?;
                }
            }
            Command::Take => return Ok(self.act(Act::Take)),
            Command::Close => return Ok(self.act(Act::Close)),
            Command::Reopen => return Ok(self.act(Act::Reopen)),
            Command::Spam => return Ok(self.act(Act::Spam)),
            Command::NotSpam => return Ok(self.act(Act::NotSpam)),
            Command::FollowUp => {
                let on = !self.target_rows_follow_up();
                return Ok(self.act(Act::FollowUp(on)));
            }
            Command::Undo => return Ok(self.send(Job::Undo)),
            Command::Redo => return Ok(self.send(Job::Redo)),
            Command::Assign => {
                let (tickets, seen) = self.targets();
                if tickets.is_empty() {
                    self.say("no ticket selected");
                } else {
                    let picker = self.assign_picker()?;
                    self.mode = Mode::Assign(picker, tickets, seen);
                }
            }
            Command::Label => {
                let (tickets, seen) = self.targets();
                if tickets.is_empty() {
                    self.say("no ticket selected");
                } else {
                    let picker = self.label_picker(&tickets)?;
                    self.mode = Mode::Label(picker, tickets, seen);
                }
            }
            Command::Fields => {
                let (tickets, _) = self.targets();
                if tickets.is_empty() {
                    self.say("no ticket selected");
                } else {
                    let mut names: Vec<String> = self
                        .opts
                        .field_defs
                        .iter()
                        .map(|f| f.name.clone())
                        .collect();
                    for n in self.store.read().known_field_names()? {
                        if !names.contains(&n) {
                            names.push(n);
                        }
                    }
                    let choices = names
                        .into_iter()
                        .map(|n| {
                            let hint = match crate::domain::fields::find(&self.opts.field_defs, &n)
                            {
                                Some(d) if d.required => format!("{}, required", d.kind.name()),
                                Some(d) => d.kind.name().to_string(),
                                None => String::new(),
                            };
                            Choice {
                                label: n.clone(),
                                hint,
                                value: n,
                            }
                        })
                        .collect();
                    self.mode = Mode::FieldName(Picker::new("Field", choices, true), tickets);
                }
            }
            Command::Note | Command::Reply => {
                let ticket = self.single_target();
                match ticket {
                    Some(n) => {
                        let purpose = if c == Command::Note {
                            InputPurpose::Note
                        } else {
                            InputPurpose::Reply
                        };
                        self.mode = Mode::Input(Box::new(Input {
                            purpose,
                            area: TextArea::default(),
                            tickets: vec![n],
                        }));
                    }
                    None => self.say("no ticket selected"),
                }
            }
            Command::Search => self.mode = Mode::Search(Search::default()),
            Command::Palette => self.mode = Mode::Palette(self.palette()),
            Command::Help => self.mode = Mode::Help { scroll: 0 },
            Command::Reports => {
                self.mode = Mode::Reports {
                    text: None,
                    scroll: 0,
                };
                return Ok(vec![Effect::Report]);
            }
            Command::Redraw => return Ok(vec![Effect::Redraw]),
        }
        Ok(Vec::new())
    }

    fn switch_view(&mut self, index: usize) -> Res<()> {
        if index >= self.views.len() {
            self.say(format!("there is no view {}", index + 1));
            return Ok(());
        }
        self.view = index;
        self.list.marked.clear();
        self.focus = Focus::List;
        if self.in_area() {
            self.list = List::default();
            self.thread = Thread::default();
            return self.load_area(false);
        }
        self.load_list(Page::First)?;
        self.load_thread_of_selection()
    }

    /// Keys in the Comments and Reviews views: moving, a private reply to a comment (`r` or
    /// Enter), converting a review into a ticket (Enter); the rest as anywhere.
    fn run_in_area(&mut self, c: Command) -> Option<Res<Vec<Effect>>> {
        let h = (self.list_height() / 2).max(1) as isize;
        let moved = match c {
            Command::Down => self.move_area(1),
            Command::Up => self.move_area(-1),
            Command::HalfPageDown => self.move_area(h),
            Command::HalfPageUp => self.move_area(-h),
            Command::Top => self.move_area(-(self.area.cursor as isize)),
            Command::Bottom => self.move_area(isize::MAX / 4),
            Command::Open | Command::Reply => {
                let kind = self.views[self.view].kind.clone();
                return Some(Ok(match kind {
                    ViewKind::Comments => match self.area.comments.get(self.area.cursor) {
                        Some(comment) => {
                            self.mode = Mode::Input(Box::new(Input {
                                purpose: InputPurpose::CommentReply(comment.id),
                                area: TextArea::default(),
                                tickets: Vec::new(),
                            }));
                            Vec::new()
                        }
                        None => Vec::new(),
                    },
                    ViewKind::Reviews if c == Command::Open => {
                        match self.area.reviews.get(self.area.cursor).map(|r| r.id) {
                            Some(id) => self.send(Job::ConvertReview(id)),
                            None => Vec::new(),
                        }
                    }
                    _ => {
                        self.say("Enter turns a review into a ticket; reply there");
                        Vec::new()
                    }
                }));
            }
            Command::Assign
            | Command::Take
            | Command::Close
            | Command::Reopen
            | Command::Spam
            | Command::NotSpam
            | Command::FollowUp
            | Command::Label
            | Command::Note
            | Command::Fields
            | Command::Mark => {
                self.say("comments and reviews become tickets first: Enter (or r on a comment)");
                Ok(())
            }
            _ => return None,
        };
        Some(moved.map(|()| Vec::new()))
    }

    fn scroll_thread(&mut self, up: isize) -> Res<()> {
        let s = self.thread.scroll as isize + up;
        self.thread.scroll = s.max(0) as usize;
        // Scrolling far up reads older messages, a page at a time.
        if up > 0
            && self.thread.more
            && self.thread.scroll > self.thread.items.len()
            && let Some(c) = self.thread.conversation
        {
            self.thread.limit += THREAD_MESSAGES;
            self.load_thread(c, Vec::new())?;
        }
        Ok(())
    }

    /// The tickets an action applies to: the marked rows, or else the thread's ticket when the
    /// thread has the focus, or else the selected row; with what the agent saw of each.
    pub fn targets(&self) -> (Vec<TicketNumber>, Vec<Seen>) {
        if self.focus == Focus::List && !self.list.marked.is_empty() {
            let seen: Vec<Seen> = self.list.marked.values().cloned().collect();
            return (seen.iter().map(|s| s.number).collect(), seen);
        }
        if self.focus == Focus::Thread
            && let Some(t) = &self.thread.ticket
        {
            let seen = Seen {
                number: t.number,
                status: t.status,
                assignee: t.assignee.clone(),
                team: t.team.clone(),
            };
            return (vec![t.number], vec![seen]);
        }
        match self.list.selected() {
            Some(row) => (vec![row.number], vec![seen_of_row(row)]),
            None => (Vec::new(), Vec::new()),
        }
    }

    fn single_target(&self) -> Option<TicketNumber> {
        if self.focus == Focus::Thread {
            return self.thread.ticket.as_ref().map(|t| t.number);
        }
        self.list.selected().map(|r| r.number)
    }

    fn target_rows_follow_up(&self) -> bool {
        if self.focus == Focus::Thread {
            return self.thread.ticket.as_ref().is_some_and(|t| t.follow_up);
        }
        let (tickets, _) = self.targets();
        !tickets.is_empty()
            && tickets
                .iter()
                .all(|n| self.list.rows.iter().any(|r| r.number == *n && r.follow_up))
    }

    fn act(&mut self, what: Act) -> Vec<Effect> {
        let (tickets, seen) = self.targets();
        if tickets.is_empty() {
            self.say("no ticket selected");
            return Vec::new();
        }
        self.send_act(what, tickets, seen)
    }

    fn send_act(&mut self, what: Act, tickets: Vec<TicketNumber>, seen: Vec<Seen>) -> Vec<Effect> {
        self.send(Job::Act {
            what,
            tickets,
            seen,
        })
    }

    fn send(&mut self, job: Job) -> Vec<Effect> {
        self.in_flight += 1;
        vec![Effect::Write(job)]
    }

    fn assign_picker(&self) -> Res<Picker<Target>> {
        let (db_agents, db_teams) = self.store.read().known_assignees()?;
        let mut agents = vec![self.opts.agent.clone()];
        for a in self.opts.agents.iter().chain(&db_agents) {
            if !agents.contains(a) {
                agents.push(a.clone());
            }
        }
        let mut teams = self.opts.teams.clone();
        for t in db_teams {
            if !teams.contains(&t) {
                teams.push(t);
            }
        }
        let mut choices: Vec<Choice<Target>> = agents
            .into_iter()
            .map(|a| Choice {
                hint: if a == self.opts.agent {
                    "me".into()
                } else {
                    "agent".into()
                },
                label: a.clone(),
                value: Target::Agent(a),
            })
            .collect();
        choices.extend(teams.into_iter().map(|t| Choice {
            label: t.clone(),
            hint: "team".into(),
            value: Target::Team(t),
        }));
        choices.push(Choice {
            label: "nobody".into(),
            hint: "unassign".into(),
            value: Target::Nobody,
        });
        Ok(Picker::new("Assign to", choices, true))
    }

    fn label_picker(&self, tickets: &[TicketNumber]) -> Res<Picker<(String, bool)>> {
        let sql = self.store.read();
        let on: Vec<String> = match tickets {
            [one] => sql.labels(*one)?,
            _ => Vec::new(),
        };
        let mut choices: Vec<Choice<(String, bool)>> = on
            .iter()
            .map(|l| Choice {
                label: l.clone(),
                hint: "remove".into(),
                value: (l.clone(), false),
            })
            .collect();
        let mut known = self.opts.labels.clone();
        for l in sql.known_labels()? {
            if !known.contains(&l) {
                known.push(l);
            }
        }
        choices.extend(
            known
                .into_iter()
                .filter(|l| !on.contains(l))
                .map(|l| Choice {
                    label: l.clone(),
                    hint: "add".into(),
                    value: (l, true),
                }),
        );
        Ok(Picker::new("Label", choices, true))
    }

    fn palette(&self) -> Picker<PaletteItem> {
        let mut choices: Vec<Choice<PaletteItem>> = Command::all()
            .into_iter()
            .filter(|c| !matches!(c, Command::View(_) | Command::Palette))
            .map(|c| Choice {
                label: c.describe(),
                hint: self.opts.keymap.keys_for(c).join(" "),
                value: PaletteItem::Run(c),
            })
            .collect();
        choices.extend(self.views.iter().enumerate().map(|(i, v)| Choice {
            label: format!("view: {}", v.label),
            hint: format!("{}", v.count),
            value: PaletteItem::View(i),
        }));
        Picker::new("Command", choices, false)
    }

    fn on_input_key(&mut self, mut input: Input, key: KeyEvent) -> Res<Vec<Effect>> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        match key.code {
            KeyCode::Esc => {
                self.say("discarded");
                return Ok(Vec::new());
            }
            KeyCode::Char('e') if ctrl => {
                let text = input.area.lines().join("\n");
                self.mode = Mode::Input(Box::new(input));
                return Ok(vec![Effect::Edit(text)]);
            }
            KeyCode::Enter if !alt && !key.modifiers.contains(KeyModifiers::SHIFT) => {
                let text = input.area.lines().join("\n");
                let text = text.trim().to_string();
                if text.is_empty() && !matches!(input.purpose, InputPurpose::FieldValue(_)) {
                    self.say("nothing to send: type some text, or Esc to discard");
                    self.mode = Mode::Input(Box::new(input));
                    return Ok(Vec::new());
                }
                // A note or a reply is on the one ticket the box was opened for.
                let job = match input.purpose {
                    InputPurpose::Note => Job::Note {
                        ticket: input.tickets[0],
                        text,
                    },
                    InputPurpose::Reply => Job::Reply {
                        ticket: input.tickets[0],
                        text,
                    },
                    InputPurpose::CommentReply(comment) => Job::ReplyComment { comment, text },
                    InputPurpose::FieldValue(name) => {
                        let seen = self.targets().1;
                        Job::Act {
                            what: Act::Field { name, value: text },
                            tickets: input.tickets,
                            seen,
                        }
                    }
                };
                return Ok(self.send(job));
            }
            KeyCode::Enter => {
                input.area.insert_newline();
            }
            _ => {
                input.area.input(key);
            }
        }
        self.mode = Mode::Input(Box::new(input));
        Ok(Vec::new())
    }

    fn on_search_key(&mut self, mut search: Search, key: KeyEvent) -> Res<Vec<Effect>> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let mut changed = false;
        match key.code {
            KeyCode::Esc => return Ok(Vec::new()),
            KeyCode::Enter => {
                if let Some(hit) = search.result.hits.get(search.cursor).cloned() {
                    let terms = crate::store::search_terms(&search.query);
                    self.load_thread(hit.conversation_id, terms)?;
                    self.thread.scroll = 0;
                    self.focus = Focus::Thread;
                    self.say(format!(
                        "#{} from search; Esc goes back to the list",
                        hit.ticket
                    ));
                    return Ok(Vec::new());
                }
            }
            KeyCode::Down => search.cursor += 1,
            KeyCode::Up => search.cursor = search.cursor.saturating_sub(1),
            KeyCode::Char('n') if ctrl => search.cursor += 1,
            KeyCode::Char('p') if ctrl => search.cursor = search.cursor.saturating_sub(1),
            KeyCode::Backspace => {
                search.query.pop();
                changed = true;
            }
            KeyCode::Char(c) if !ctrl && !c.is_control() => {
                search.query.push(c);
                changed = true;
            }
            _ => {}
        }
        if changed {
            search.cursor = 0;
            match self.store.read().search(&search.query, 200) {
                Ok(r) => {
                    search.result = r;
                    search.error = None;
                }
                Err(e) => search.error = Some(e.to_string()),
            }
        }
        search.cursor = search
            .cursor
            .min(search.result.hits.len().saturating_sub(1));
        self.mode = Mode::Search(search);
        Ok(Vec::new())
    }

    fn on_mouse(&mut self, m: MouseEvent) -> Res<()> {
        if !matches!(self.mode, Mode::Normal) {
            return Ok(());
        }
        let areas = self.areas();
        let at = Position::new(m.column, m.row);
        match m.kind {
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                let down = m.kind == MouseEventKind::ScrollDown;
                if areas.thread.contains(at) {
                    self.scroll_thread(if down { -3 } else { 3 })?;
                } else if areas.list.contains(at) {
                    self.move_cursor(if down { 3 } else { -3 })?;
                }
            }
            MouseEventKind::Down(MouseButton::Left) => {
                if areas.sidebar.contains(at) {
                    let row = m.row.saturating_sub(areas.sidebar.y + 1) as usize;
                    if row < self.views.len() {
                        self.switch_view(row)?;
                    }
                } else if areas.list.contains(at) {
                    let row = m.row.saturating_sub(areas.list.y + 1) as usize;
                    let index = self.list.offset + row;
                    if m.row > areas.list.y && index < self.list.rows.len() {
                        self.list.cursor = index;
                        self.focus = Focus::List;
                        self.load_thread_of_selection()?;
                    }
                } else if areas.thread.contains(at) && self.thread.conversation.is_some() {
                    self.focus = Focus::Thread;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The selected view's entry.
    pub fn current_view(&self) -> &ViewEntry {
        &self.views[self.view]
    }

    /// The queue position of the selected row and the view's size, for "12/3,402".
    pub fn position(&self) -> (usize, i64) {
        (
            self.list.start + self.list.cursor + 1,
            self.current_view().count,
        )
    }

    /// Waiting tickets in the whole desk, for the status line.
    pub fn open_count(&self) -> i64 {
        self.views
            .iter()
            .find(|v| v.kind == ViewKind::Tickets(Queue::AllOpen))
            .map_or(0, |v| v.count)
    }
}

fn seen_of_row(row: &QueueRow) -> Seen {
    Seen {
        number: row.number,
        status: row.status,
        assignee: row.assignee.clone(),
        team: row.team.clone(),
    }
}
