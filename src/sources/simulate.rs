//! Deterministic simulated shop traffic, for the demo, tests and benchmarks.
//!
//! The simulator plays customers, spam senders and agents on every channel and yields
//! [`SimEvent`]s in time order. It runs an event queue instead of a precomputed plan, so a
//! million messages need memory only for the conversations still in flight. New contacts arrive
//! at a rate that follows the hour of day and is steered by how far the message count is from
//! the timeline, so exactly the asked number of messages spreads over the asked days. All
//! randomness comes from one ChaCha stream seeded by [`SimConfig::seed`]: the same config gives
//! the same events.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Datelike};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

use crate::domain::{ChannelKind, Direction, Inbound, MessageKind, Millis};

/// Handles of the simulated agents, so a demo config can declare them and their actions resolve.
pub const SIM_AGENTS: &[&str] = &["alice", "bob", "chai", "dao"];

/// What to simulate: `messages` messages (customer and agent together) over the `days` days
/// that end at `end`. `days` 0 is treated as 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimConfig {
    pub seed: u64,
    pub messages: usize,
    pub days: u32,
    pub end: Millis,
}

/// One thing that happens in the simulated shop.
#[derive(Debug, Clone, PartialEq)]
pub enum SimEvent {
    /// A customer message (direction `In`) or an agent's reply (direction `Out`, `agent` set).
    Message(Inbound),
    /// A simulated agent closes that conversation's open ticket.
    Close {
        channel: ChannelKind,
        customer_id: String,
        agent: String,
        at: Millis,
    },
    /// A simulated agent marks a spam sender's open ticket as spam.
    MarkSpam {
        channel: ChannelKind,
        customer_id: String,
        agent: String,
        at: Millis,
    },
}

impl SimEvent {
    /// When it happens, so a live demo can pace events against the clock.
    pub fn at(&self) -> Millis {
        match self {
            SimEvent::Message(m) => m.sent_at,
            SimEvent::Close { at, .. } | SimEvent::MarkSpam { at, .. } => *at,
        }
    }
}

const SECOND: Millis = 1_000;
const MINUTE: Millis = 60 * SECOND;
const HOUR: Millis = 60 * MINUTE;
const DAY: Millis = 24 * HOUR;
/// The simulated shop and its customers live in Bangkok (UTC+7, no daylight saving).
const TZ_OFFSET: Millis = 7 * HOUR;
/// When agents start answering in the morning, local time.
const AGENTS_START_HOUR: Millis = 8;

/// How busy each local hour is, relative to the busiest: quiet nights, a midday and an evening peak.
const HOURLY: [f64; 24] = [
    0.30, 0.15, 0.08, 0.05, 0.05, 0.08, 0.18, 0.35, 0.60, 0.85, 1.00, 1.00, //
    0.95, 0.90, 0.90, 0.85, 0.80, 0.80, 0.85, 0.95, 1.00, 1.00, 0.85, 0.55,
];
/// Sum of `HOURLY` before each hour, for the cumulative busyness the pacing aims at.
const HOURLY_PREFIX: [f64; 25] = {
    let mut p = [0.0; 25];
    let mut h = 0;
    while h < 24 {
        p[h + 1] = p[h] + HOURLY[h];
        h += 1;
    }
    p
};
const DAY_WEIGHT: f64 = HOURLY_PREFIX[24];
const HOURLY_MEAN: f64 = DAY_WEIGHT / 24.0;

/// Messages one new contact brings on average (its sessions, replies and returns), measured.
/// Pacing corrects any error; this only sets the starting arrival rate.
const MESSAGES_PER_CONTACT: f64 = 10.7;
/// How far pacing may speed up or slow down new arrivals to keep to the timeline.
const PACE_LIMIT: f64 = 20.0;

/// Channel mix of a Thai shop: LINE first, then Messenger and the marketplaces.
const CHANNELS: &[(ChannelKind, u32)] = &[
    (ChannelKind::Line, 34),
    (ChannelKind::Messenger, 22),
    (ChannelKind::Shopee, 16),
    (ChannelKind::Lazada, 11),
    (ChannelKind::Instagram, 8),
    (ChannelKind::Whatsapp, 5),
    (ChannelKind::Tiktok, 4),
];
/// Foreign customers use WhatsApp and Messenger more than LINE.
const CHANNELS_EN: &[(ChannelKind, u32)] = &[
    (ChannelKind::Line, 8),
    (ChannelKind::Messenger, 30),
    (ChannelKind::Shopee, 12),
    (ChannelKind::Lazada, 10),
    (ChannelKind::Instagram, 12),
    (ChannelKind::Whatsapp, 25),
    (ChannelKind::Tiktok, 3),
];
const CHANNELS_SPAM: &[(ChannelKind, u32)] = &[
    (ChannelKind::Line, 25),
    (ChannelKind::Messenger, 35),
    (ChannelKind::Instagram, 25),
    (ChannelKind::Whatsapp, 10),
    (ChannelKind::Tiktok, 5),
];
const AMOUNTS: &[u32] = &[
    190, 259, 290, 350, 390, 450, 590, 690, 790, 890, 990, 1290, 1590, 2490,
];

// ---------------------------------------------------------------------------------------------
// Phrase bank and names, embedded so the binary needs no files at run time.

#[derive(Deserialize)]
struct CustomerFile {
    greeting: Vec<String>,
    followup: Vec<String>,
    thanks: Vec<String>,
    image_caption: Vec<String>,
    topics: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize)]
struct AgentFile {
    greeting: Vec<String>,
    wait: Vec<String>,
    ack: Vec<String>,
    closing: Vec<String>,
    image_caption: Vec<String>,
    topics: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize)]
struct CustomerLangs {
    th: CustomerFile,
    en: CustomerFile,
    mixed: CustomerFile,
}

#[derive(Deserialize)]
struct AgentLangs {
    th: AgentFile,
    en: AgentFile,
}

#[derive(Deserialize)]
struct SpamFile {
    text: Vec<String>,
}

#[derive(Deserialize)]
struct BankFile {
    customer: CustomerLangs,
    agent: AgentLangs,
    spam: SpamFile,
}

/// Customer phrases of one language, topics in the bank's topic order.
struct CustomerPhrases {
    greeting: Vec<String>,
    followup: Vec<String>,
    thanks: Vec<String>,
    image_caption: Vec<String>,
    topics: Vec<Vec<String>>,
}

struct AgentPhrases {
    greeting: Vec<String>,
    wait: Vec<String>,
    ack: Vec<String>,
    closing: Vec<String>,
    image_caption: Vec<String>,
    topics: Vec<Vec<String>>,
}

struct Bank {
    topics: Vec<String>,
    /// Indexed by [`Lang::customer`]: Thai, English, mixed, then Thai and mixed as men write.
    customer: [CustomerPhrases; 5],
    /// Indexed by [`Lang::agent`].
    agent: [AgentPhrases; 2],
    spam: Vec<String>,
}

#[derive(Deserialize)]
struct Names {
    thai_first_male: Vec<String>,
    thai_first_female: Vec<String>,
    thai_last: Vec<String>,
    nick_latin_male: Vec<String>,
    nick_latin_female: Vec<String>,
    nick_thai: Vec<String>,
    english_first: Vec<String>,
    english_last: Vec<String>,
    emoji: Vec<String>,
    spam: Vec<String>,
}

/// Stops with a clear message when our own embedded asset is broken; no user input reaches here.
fn non_empty(list: Vec<String>, what: &str) -> Vec<String> {
    assert!(!list.is_empty(), "assets: list {what} is empty");
    list
}

fn topic_lists(
    mut map: BTreeMap<String, Vec<String>>,
    topics: &[String],
    what: &str,
) -> Vec<Vec<String>> {
    assert_eq!(
        map.len(),
        topics.len(),
        "assets/phrases.toml: {what} must list the same topics as customer.en"
    );
    topics
        .iter()
        .map(|t| {
            let list = map
                .remove(t)
                .unwrap_or_else(|| panic!("assets/phrases.toml: {what} lacks topic {t}"));
            non_empty(list, &format!("{what}.{t}"))
        })
        .collect()
}

fn customer_phrases(f: CustomerFile, topics: &[String], lang: &str) -> CustomerPhrases {
    let what = format!("customer.{lang}");
    CustomerPhrases {
        greeting: non_empty(f.greeting, &format!("{what}.greeting")),
        followup: non_empty(f.followup, &format!("{what}.followup")),
        thanks: non_empty(f.thanks, &format!("{what}.thanks")),
        image_caption: non_empty(f.image_caption, &format!("{what}.image_caption")),
        topics: topic_lists(f.topics, topics, &format!("{what}.topics")),
    }
}

/// The phrases as a man writes them: the female polite particles become ครับ.
fn masculine(p: &CustomerPhrases) -> CustomerPhrases {
    let convert = |list: &Vec<String>| -> Vec<String> {
        list.iter()
            .map(|t| {
                t.replace("ค่ะ", "ครับ")
                    .replace("คะ", "ครับ")
                    .replace("ค่าาา", "คร้าบ")
            })
            .collect()
    };
    CustomerPhrases {
        greeting: convert(&p.greeting),
        followup: convert(&p.followup),
        thanks: convert(&p.thanks),
        image_caption: convert(&p.image_caption),
        topics: p.topics.iter().map(convert).collect(),
    }
}

fn agent_phrases(f: AgentFile, topics: &[String], lang: &str) -> AgentPhrases {
    let what = format!("agent.{lang}");
    AgentPhrases {
        greeting: non_empty(f.greeting, &format!("{what}.greeting")),
        wait: non_empty(f.wait, &format!("{what}.wait")),
        ack: non_empty(f.ack, &format!("{what}.ack")),
        closing: non_empty(f.closing, &format!("{what}.closing")),
        image_caption: non_empty(f.image_caption, &format!("{what}.image_caption")),
        topics: topic_lists(f.topics, topics, &format!("{what}.topics")),
    }
}

fn bank() -> &'static Bank {
    static BANK: OnceLock<Bank> = OnceLock::new();
    BANK.get_or_init(|| {
        let f: BankFile = toml::from_str(include_str!("../../assets/phrases.toml"))
            .unwrap_or_else(|e| panic!("assets/phrases.toml is invalid: {e}"));
        let topics: Vec<String> = f.customer.en.topics.keys().cloned().collect();
        assert!(!topics.is_empty(), "assets/phrases.toml: no topics");
        let th = customer_phrases(f.customer.th, &topics, "th");
        let mixed = customer_phrases(f.customer.mixed, &topics, "mixed");
        let (th_male, mixed_male) = (masculine(&th), masculine(&mixed));
        Bank {
            customer: [
                th,
                customer_phrases(f.customer.en, &topics, "en"),
                mixed,
                th_male,
                mixed_male,
            ],
            agent: [
                agent_phrases(f.agent.th, &topics, "th"),
                agent_phrases(f.agent.en, &topics, "en"),
            ],
            spam: non_empty(f.spam.text, "spam.text"),
            topics,
        }
    })
}

fn names() -> &'static Names {
    static NAMES: OnceLock<Names> = OnceLock::new();
    NAMES.get_or_init(|| {
        let n: Names = toml::from_str(include_str!("../../assets/names.toml"))
            .unwrap_or_else(|e| panic!("assets/names.toml is invalid: {e}"));
        for (what, list) in [
            ("thai_first_male", &n.thai_first_male),
            ("thai_first_female", &n.thai_first_female),
            ("thai_last", &n.thai_last),
            ("nick_latin_male", &n.nick_latin_male),
            ("nick_latin_female", &n.nick_latin_female),
            ("nick_thai", &n.nick_thai),
            ("english_first", &n.english_first),
            ("english_last", &n.english_last),
            ("emoji", &n.emoji),
            ("spam", &n.spam),
        ] {
            assert!(!list.is_empty(), "assets/names.toml: list {what} is empty");
        }
        n
    })
}

// ---------------------------------------------------------------------------------------------
// The simulated world.

/// The language a customer writes in; agents answer Thai or English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Thai,
    English,
    Mixed,
}

impl Lang {
    fn customer(self, male: bool) -> usize {
        match (self, male) {
            (Lang::Thai, false) => 0,
            (Lang::English, _) => 1,
            (Lang::Mixed, false) => 2,
            (Lang::Thai, true) => 3,
            (Lang::Mixed, true) => 4,
        }
    }

    fn agent(self) -> usize {
        match self {
            Lang::English => 1,
            Lang::Thai | Lang::Mixed => 0,
        }
    }
}

/// One customer; `ids` holds one identity, or two for the contacts who write on two channels.
struct Contact {
    name: String,
    lang: Lang,
    male: bool,
    ids: Vec<(ChannelKind, String)>,
    /// The agent who usually handles them, so the same person tends to answer again.
    agent: &'static str,
}

/// One support session of a contact on one identity: what it is about and how far it got.
#[derive(Clone)]
struct Session {
    contact: Arc<Contact>,
    ident: usize,
    agent: &'static str,
    topic: usize,
    order: String,
    tracking: String,
    amount: u32,
    round: u8,
    /// The contact's other identity runs its own sessions, so this one must not switch to it
    /// (two sessions on one conversation would close each other's ticket).
    pinned: bool,
    /// The last two phrases the customer and the agent used, so neither repeats itself.
    said_in: [&'static str; 2],
    said_out: [&'static str; 2],
}

/// What a customer burst is for.
#[derive(Debug, Clone, Copy)]
enum Mood {
    Open,
    More,
    Thanks,
}

/// What an agent's reply is for.
#[derive(Debug, Clone, Copy)]
enum Reply {
    Answer,
    Ack,
    Closing,
}

enum Step {
    /// A new contact arrives (`arrive`), or only the arrival rate is read again at an hour's start.
    Arrival {
        arrive: bool,
    },
    Customer {
        s: Box<Session>,
        mood: Mood,
        pos: u8,
        len: u8,
    },
    Agent {
        s: Box<Session>,
        reply: Reply,
        pos: u8,
        len: u8,
    },
    Close(Box<Session>),
    Spam {
        s: Box<Session>,
        pos: u8,
        len: u8,
        marked: bool,
    },
    MarkSpam(Box<Session>),
}

/// A step due at a time; `seq` breaks ties in scheduling order, which keeps runs identical.
struct Due {
    at: Millis,
    seq: u64,
    step: Step,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at && self.seq == other.seq
    }
}

impl Eq for Due {}

impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Due {
    /// Reversed, so the max-heap pops the earliest step first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.at.cmp(&self.at).then(other.seq.cmp(&self.seq))
    }
}

/// Busyness accumulated from the epoch to `t`; differences give the expected share of traffic.
fn cum_weight(t: Millis) -> f64 {
    let local = t.saturating_add(TZ_OFFSET);
    let day = local.div_euclid(DAY);
    let in_day = local.rem_euclid(DAY);
    let hour = (in_day / HOUR) as usize;
    let frac = (in_day % HOUR) as f64 / HOUR as f64;
    day as f64 * DAY_WEIGHT + HOURLY_PREFIX[hour] + HOURLY[hour] * frac
}

fn local_hour(t: Millis) -> usize {
    (t.saturating_add(TZ_OFFSET).rem_euclid(DAY) / HOUR) as usize
}

/// Replaces `{order}`, `{tracking}`, `{amount}` and `{name}`; anything else stays as written.
fn fill(template: &str, s: &Session) -> String {
    if !template.contains('{') {
        return template.to_owned();
    }
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let tail = ["{order}", "{tracking}", "{amount}", "{name}"]
            .into_iter()
            .find(|p| rest.starts_with(p));
        match tail {
            Some(p) => {
                match p {
                    "{order}" => out.push_str(&s.order),
                    "{tracking}" => out.push_str(&s.tracking),
                    "{amount}" => push_baht(&mut out, s.amount),
                    _ => out.push_str(first_name(&s.contact.name)),
                }
                rest = &rest[p.len()..];
            }
            None => {
                out.push('{');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// How an agent addresses a customer: "คุณสมชาย", "Hi John".
fn first_name(name: &str) -> &str {
    name.split(' ').next().unwrap_or(name)
}

/// Writes an amount the way Thai shops do: `1,290`.
fn push_baht(out: &mut String, amount: u32) {
    if amount >= 1000 {
        let _ = write!(out, "{},{:03}", amount / 1000, amount % 1000);
    } else {
        let _ = write!(out, "{amount}");
    }
}

/// Streams simulated events; see the module docs.
pub struct Simulator {
    cfg: SimConfig,
    rng: ChaCha8Rng,
    bank: &'static Bank,
    names: &'static Names,
    queue: BinaryHeap<Due>,
    seq: u64,
    now: Millis,
    start: Millis,
    end: Millis,
    /// Message events yielded so far; also the next message id's number.
    sent: usize,
    /// Identities created so far; scrambled into numeric customer ids so that none collide
    /// (for the first ten million of a run).
    identities: u64,
    id_offset: u64,
    /// New contacts per millisecond at an average hour and on pace.
    contact_rate: f64,
    /// Busyness from `start` to where pacing wants the last message (a little before `end`).
    target_weight: f64,
    /// How many messages behind or ahead it takes for pacing to change the arrival rate e-fold.
    pace_gain: f64,
    /// Accumulated lag (see [`Simulator::pace`]) and when it was last updated.
    pace_bias: f64,
    bias_at: Millis,
    #[cfg(test)]
    stats: Stats,
}

#[cfg(test)]
#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    contacts: usize,
    two_channel: usize,
    spam: usize,
}

impl Simulator {
    pub fn new(cfg: SimConfig) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let days = cfg.days.max(1);
        let span = Millis::from(days) * DAY;
        let end = cfg.end;
        let start = end.saturating_sub(span);
        let target_end = end - span / 100;
        let target_weight = (cum_weight(target_end) - cum_weight(start)).max(f64::MIN_POSITIVE);
        let contacts_per_ms = cfg.messages as f64 / (MESSAGES_PER_CONTACT * span as f64);
        let id_offset = rng.random::<u64>();
        let mut sim = Simulator {
            cfg,
            rng,
            bank: bank(),
            names: names(),
            queue: BinaryHeap::new(),
            seq: 0,
            now: start,
            start,
            end,
            sent: 0,
            identities: 0,
            id_offset,
            contact_rate: contacts_per_ms,
            target_weight,
            pace_gain: (cfg.messages as f64 / (100.0 * f64::from(days))).max(2.0),
            pace_bias: 0.0,
            bias_at: start,
            #[cfg(test)]
            stats: Stats::default(),
        };
        if cfg.messages > 0 {
            sim.schedule_arrival(start);
        }
        sim
    }

    /// Queues a step. A step due after `end` is dropped: that part of the future never comes.
    fn schedule(&mut self, at: Millis, step: Step) {
        if at > self.end {
            return;
        }
        let at = at.max(self.now);
        self.seq += 1;
        self.queue.push(Due {
            at,
            seq: self.seq,
            step,
        });
    }

    fn between(&mut self, lo: Millis, hi: Millis) -> Millis {
        self.rng.random_range(lo..=hi)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn pick<'a>(&mut self, list: &'a [String]) -> &'a str {
        &list[self.rng.random_range(0..list.len())]
    }

    fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut roll = self.rng.random_range(0..total);
        for (item, w) in items {
            if roll < *w {
                return *item;
            }
            roll -= w;
        }
        items[items.len() - 1].0
    }

    fn agent(&mut self) -> &'static str {
        SIM_AGENTS[self.rng.random_range(0..SIM_AGENTS.len())]
    }

    /// Schedules the next new contact. The rate follows the hour of day and the pace and is
    /// constant within an hour, so a gap reaching past the hour is redrawn there (exact, since
    /// exponential gaps are memoryless). Arrivals never pass `end`: if the timeline is still
    /// short of messages there, the rest arrive at `end`.
    fn schedule_arrival(&mut self, t: Millis) {
        let rate = self.contact_rate * HOURLY[local_hour(t)] / HOURLY_MEAN * self.pace(t);
        let gap = -(1.0 - self.rng.random::<f64>()).ln() / rate;
        let next = t.saturating_add(gap.ceil().min(i64::MAX as f64) as Millis);
        let hour_end = t - t.saturating_add(TZ_OFFSET).rem_euclid(HOUR) + HOUR;
        if next < hour_end {
            self.schedule(next.min(self.end), Step::Arrival { arrive: true });
        } else if hour_end < self.end {
            self.schedule(hour_end, Step::Arrival { arrive: false });
        } else {
            self.schedule(self.end, Step::Arrival { arrive: true });
        }
    }

    /// Speeds new arrivals up when behind the timeline and slows them when ahead, so exactly
    /// `messages` messages fill the span whatever the mix of sessions turns out to be.
    /// A lasting lag (such as nights, when agents' replies wait for the morning) builds up
    /// `pace_bias`, so the pace does not settle short of the timeline.
    fn pace(&mut self, t: Millis) -> f64 {
        let share = ((cum_weight(t) - cum_weight(self.start)) / self.target_weight).min(1.0);
        let behind = (self.cfg.messages as f64 * share - self.sent as f64) / self.pace_gain;
        let limit = PACE_LIMIT.ln();
        let hours = (t - self.bias_at) as f64 / HOUR as f64;
        self.pace_bias = (self.pace_bias + behind * hours).clamp(-limit, limit);
        self.bias_at = t;
        (behind + self.pace_bias).clamp(-limit, limit).exp()
    }

    /// Agents sleep: a reply due at night waits for the morning shift.
    fn agent_time(&mut self, t: Millis) -> Millis {
        let hour = local_hour(t) as Millis;
        if hour >= AGENTS_START_HOUR {
            return t;
        }
        let local = t + TZ_OFFSET;
        let morning = local - local.rem_euclid(DAY) + AGENTS_START_HOUR * HOUR - TZ_OFFSET;
        morning + self.between(0, 50 * MINUTE)
    }

    fn reply_delay(&mut self) -> Millis {
        let r = self.rng.random::<f64>();
        if r < 0.70 {
            self.between(30 * SECOND, 8 * MINUTE)
        } else if r < 0.95 {
            self.between(8 * MINUTE, 45 * MINUTE)
        } else {
            self.between(45 * MINUTE, 4 * HOUR)
        }
    }

    fn customer_delay(&mut self) -> Millis {
        if self.chance(0.85) {
            self.between(20 * SECOND, 20 * MINUTE)
        } else {
            self.between(30 * MINUTE, 6 * HOUR)
        }
    }

    fn burst_len(&mut self, mood: Mood) -> u8 {
        match mood {
            Mood::Open => self.weighted(&[(1, 30), (2, 30), (3, 20), (4, 12), (5, 8)]),
            Mood::More => self.weighted(&[(1, 60), (2, 30), (3, 10)]),
            Mood::Thanks => self.weighted(&[(1, 70), (2, 30)]),
        }
    }

    /// A channel id shaped like the platform's. Numeric ids end in the identity number scrambled
    /// by a bijection, so two identities of one run never share an id.
    fn customer_id(&mut self, channel: ChannelKind) -> String {
        let n = self.identities;
        self.identities += 1;
        let scrambled = |modulus: u64| -> u64 {
            let m = u128::from(modulus);
            ((u128::from(n) * 7_654_321 + u128::from(self.id_offset)) % m) as u64
        };
        match channel {
            ChannelKind::Line => format!(
                "U{:016x}{:016x}",
                self.rng.random::<u64>(),
                self.rng.random::<u64>()
            ),
            ChannelKind::Messenger => {
                let tail = scrambled(100_000_000);
                let head = self.rng.random_range(24_000_000..=79_999_999_u64);
                format!("{head}{tail:08}")
            }
            ChannelKind::Instagram => {
                let tail = scrambled(100_000_000);
                let head = self.rng.random_range(178_400_000..=178_499_999_u64);
                format!("{head}{tail:08}")
            }
            ChannelKind::Whatsapp => {
                let tail = scrambled(100_000_000);
                let mobile = [6, 8, 9][self.rng.random_range(0..3)];
                format!("66{mobile}{tail:08}")
            }
            ChannelKind::Shopee => {
                let tail = scrambled(10_000_000);
                let head = self.rng.random_range(10..=99_u64);
                format!("{head}{tail:07}")
            }
            ChannelKind::Lazada => {
                let tail = scrambled(10_000_000);
                let head = self.rng.random_range(100..=999_u64);
                format!("{head}{tail:07}")
            }
            ChannelKind::Tiktok => {
                let tail = scrambled(100_000_000);
                let head = self.rng.random_range(7_000_000_000..=7_499_999_999_u64);
                format!("{head}{tail:08}0")
            }
            ChannelKind::Webchat => format!("web-{:08}", scrambled(100_000_000)),
            ChannelKind::Email => format!("customer{:08}@example.com", scrambled(100_000_000)),
        }
    }

    /// A display name, the language its owner writes in, and whether he is a man (Thai men
    /// end sentences with ครับ, women with ค่ะ).
    fn display_name(&mut self) -> (String, Lang, bool) {
        let n = self.names;
        let male = self.chance(0.4);
        let style = self.weighted(&[(0, 40), (1, 30), (2, 12), (3, 18)]);
        match style {
            0 => {
                let first = if male {
                    &n.thai_first_male
                } else {
                    &n.thai_first_female
                };
                let name = format!("{} {}", self.pick(first), self.pick(&n.thai_last));
                let lang = self.weighted(&[(Lang::Thai, 85), (Lang::Mixed, 15)]);
                (name, lang, male)
            }
            1 => {
                let nicks = if male {
                    &n.nick_latin_male
                } else {
                    &n.nick_latin_female
                };
                let mut name = self.pick(nicks).to_owned();
                let deco = self.rng.random::<f64>();
                if deco < 0.2 {
                    name.push(' ');
                    name.push_str(self.pick(&n.emoji));
                } else if deco < 0.35 {
                    let initial = char::from(self.rng.random_range(b'A'..=b'Z'));
                    let _ = write!(name, " {initial}.");
                }
                let lang =
                    self.weighted(&[(Lang::Thai, 60), (Lang::Mixed, 35), (Lang::English, 5)]);
                (name, lang, male)
            }
            2 => {
                let name = self.pick(&n.nick_thai).to_owned();
                let lang = self.weighted(&[(Lang::Thai, 90), (Lang::Mixed, 10)]);
                (name, lang, false)
            }
            _ => {
                let first = self.pick(&n.english_first);
                let last = self.pick(&n.english_last);
                (format!("{first} {last}"), Lang::English, male)
            }
        }
    }

    fn order_number(&mut self, at: Millis) -> String {
        let (yy, mm) = DateTime::from_timestamp_millis(at + TZ_OFFSET)
            .map(|d| (d.year().rem_euclid(100), d.month()))
            .unwrap_or((0, 1));
        let n = self.rng.random_range(0..10_000);
        format!("SO-{yy:02}{mm:02}-{n:04}")
    }

    fn tracking_number(&mut self) -> String {
        if self.chance(0.7) {
            format!("TH{:012}", self.rng.random_range(0..1_000_000_000_000_u64))
        } else {
            format!("EF{:09}TH", self.rng.random_range(0..1_000_000_000_u64))
        }
    }

    fn new_session(
        &mut self,
        contact: Arc<Contact>,
        ident: usize,
        pinned: bool,
        at: Millis,
    ) -> Box<Session> {
        let agent = if self.chance(0.7) {
            contact.agent
        } else {
            self.agent()
        };
        Box::new(Session {
            contact,
            ident,
            agent,
            topic: self.rng.random_range(0..self.bank.topics.len()),
            order: self.order_number(at),
            tracking: self.tracking_number(),
            amount: AMOUNTS[self.rng.random_range(0..AMOUNTS.len())],
            round: 0,
            pinned,
            said_in: [""; 2],
            said_out: [""; 2],
        })
    }

    fn open_burst(&mut self, at: Millis, s: Box<Session>) {
        let len = self.burst_len(Mood::Open);
        self.schedule(
            at,
            Step::Customer {
                s,
                mood: Mood::Open,
                pos: 0,
                len,
            },
        );
    }

    /// A new contact arrives: a customer (one in ten on two channels) or, rarely, a spammer.
    fn start_contact(&mut self, at: Millis) {
        #[cfg(test)]
        {
            self.stats.contacts += 1;
        }
        let agent = self.agent();
        if self.chance(0.02) {
            #[cfg(test)]
            {
                self.stats.spam += 1;
            }
            let name = self.pick(&self.names.spam).to_owned();
            let channel = self.weighted(CHANNELS_SPAM);
            let id = self.customer_id(channel);
            let contact = Arc::new(Contact {
                name,
                lang: Lang::Mixed,
                male: false,
                ids: vec![(channel, id)],
                agent,
            });
            let s = self.new_session(contact, 0, true, at);
            let len = self.weighted(&[(1, 50), (2, 30), (3, 20)]);
            self.schedule(
                at,
                Step::Spam {
                    s,
                    pos: 0,
                    len,
                    marked: false,
                },
            );
            return;
        }
        let (name, lang, male) = self.display_name();
        let table = if lang == Lang::English {
            CHANNELS_EN
        } else {
            CHANNELS
        };
        let first = self.weighted(table);
        let mut ids = vec![(first, self.customer_id(first))];
        if self.chance(0.1) {
            #[cfg(test)]
            {
                self.stats.two_channel += 1;
            }
            let others: Vec<(ChannelKind, u32)> =
                table.iter().copied().filter(|(c, _)| *c != first).collect();
            let second = self.weighted(&others);
            ids.push((second, self.customer_id(second)));
        }
        let two = ids.len() == 2;
        let contact = Arc::new(Contact {
            name,
            lang,
            male,
            ids,
            agent,
        });
        // Half of the two-channel contacts ask the same thing on both channels at once.
        let parallel = two && self.chance(0.5);
        let s = self.new_session(contact.clone(), 0, parallel, at);
        if parallel {
            let mut other = self.new_session(contact, 1, true, at);
            other.topic = s.topic;
            other.order = s.order.clone();
            let later = at + self.between(2 * MINUTE, 90 * MINUTE);
            self.open_burst(later, other);
        }
        self.open_burst(at, s);
    }

    /// After a close (or a session left open): come back soon (reopens), days later (new
    /// ticket), or never.
    fn come_back(&mut self, s: &Session, at: Millis) {
        let r = self.rng.random::<f64>();
        let (when, fresh) = if r < 0.2 {
            (at + self.between(5 * MINUTE, 23 * HOUR), false)
        } else if r < 0.5 {
            (at + self.between(36 * HOUR, 21 * DAY), true)
        } else {
            return;
        };
        let mut ident = s.ident;
        if fresh && !s.pinned && s.contact.ids.len() == 2 && self.chance(0.5) {
            ident = 1 - ident;
        }
        let mut next = self.new_session(s.contact.clone(), ident, s.pinned, when);
        if !fresh && self.chance(0.5) {
            next.topic = s.topic;
            next.order = s.order.clone();
        }
        self.open_burst(when, next);
    }

    fn message(
        &self,
        s: &Session,
        at: Millis,
        direction: Direction,
        kind: MessageKind,
        text: String,
    ) -> SimEvent {
        let (channel, customer_id) = &s.contact.ids[s.ident];
        let (display_name, agent) = match direction {
            Direction::In => (Some(s.contact.name.clone()), None),
            Direction::Out => (None, Some(s.agent.to_owned())),
        };
        SimEvent::Message(Inbound {
            channel: *channel,
            account: None,
            customer_id: customer_id.clone(),
            display_name,
            message_id: format!("sim-{}-{}", self.cfg.seed, self.sent),
            kind,
            text,
            sent_at: at,
            direction,
            agent,
        })
    }

    /// Sometimes a photo (with or without a caption) or a sticker instead of words.
    fn media(
        &mut self,
        captions: &[String],
        p_image: f64,
        p_sticker: f64,
    ) -> Option<(MessageKind, String)> {
        let r = self.rng.random::<f64>();
        if r < p_image {
            let caption = if self.chance(0.5) {
                self.pick(captions).to_owned()
            } else {
                String::new()
            };
            Some((MessageKind::Image, caption))
        } else if r < p_image + p_sticker {
            Some((MessageKind::Sticker, String::new()))
        } else {
            None
        }
    }

    /// A phrase from `list`, preferably not one of the `recent` two, which it then remembers.
    fn pick_new(
        &mut self,
        list: &'static [String],
        recent: &mut [&'static str; 2],
    ) -> &'static str {
        let mut phrase = self.pick(list);
        for _ in 0..4 {
            if !recent.contains(&phrase) {
                break;
            }
            phrase = self.pick(list);
        }
        *recent = [phrase, recent[0]];
        phrase
    }

    fn customer_text(
        &mut self,
        s: &mut Session,
        mood: Mood,
        pos: u8,
        len: u8,
    ) -> (MessageKind, String) {
        let bank = self.bank;
        let p = &bank.customer[s.contact.lang.customer(s.contact.male)];
        let list = match mood {
            Mood::Open if pos == 0 && len > 1 && self.chance(0.5) => &p.greeting,
            Mood::Open => {
                if pos > 0
                    && let Some(media) = self.media(&p.image_caption, 0.10, 0.04)
                {
                    return media;
                }
                &p.topics[s.topic]
            }
            Mood::More => {
                if let Some(media) = self.media(&p.image_caption, 0.08, 0.06) {
                    return media;
                }
                if self.chance(0.5) {
                    &p.followup
                } else {
                    &p.topics[s.topic]
                }
            }
            Mood::Thanks if pos > 0 && self.chance(0.7) => {
                return (MessageKind::Sticker, String::new());
            }
            Mood::Thanks => &p.thanks,
        };
        let phrase = self.pick_new(list, &mut s.said_in);
        (MessageKind::Text, fill(phrase, s))
    }

    fn agent_text(
        &mut self,
        s: &mut Session,
        reply: Reply,
        pos: u8,
        len: u8,
    ) -> (MessageKind, String) {
        let bank = self.bank;
        let p = &bank.agent[s.contact.lang.agent()];
        let list = match reply {
            Reply::Answer if pos + 1 < len => {
                if self.chance(0.5) {
                    &p.greeting
                } else {
                    &p.wait
                }
            }
            Reply::Answer | Reply::Ack => {
                if let Some(media) = self.media(&p.image_caption, 0.06, 0.0) {
                    return media;
                }
                if matches!(reply, Reply::Ack) && self.chance(0.5) {
                    &p.ack
                } else {
                    &p.topics[s.topic]
                }
            }
            Reply::Closing => &p.closing,
        };
        let phrase = self.pick_new(list, &mut s.said_out);
        (MessageKind::Text, fill(phrase, s))
    }

    /// Runs one due step; returns the event it produced, if any.
    fn run(&mut self, at: Millis, step: Step) -> Option<SimEvent> {
        match step {
            Step::Arrival { arrive } => {
                if arrive {
                    self.start_contact(at);
                }
                self.schedule_arrival(at);
                None
            }
            Step::Customer {
                mut s,
                mood,
                pos,
                len,
            } => {
                let (kind, text) = self.customer_text(&mut s, mood, pos, len);
                let event = self.message(&s, at, Direction::In, kind, text);
                if pos + 1 < len {
                    let next = at + self.between(2 * SECOND, 45 * SECOND);
                    self.schedule(
                        next,
                        Step::Customer {
                            s,
                            mood,
                            pos: pos + 1,
                            len,
                        },
                    );
                } else {
                    self.after_customer(s, mood, at);
                }
                Some(event)
            }
            Step::Agent {
                mut s,
                reply,
                pos,
                len,
            } => {
                let (kind, text) = self.agent_text(&mut s, reply, pos, len);
                let event = self.message(&s, at, Direction::Out, kind, text);
                if pos + 1 < len {
                    let next = at + self.between(10 * SECOND, 90 * SECOND);
                    self.schedule(
                        next,
                        Step::Agent {
                            s,
                            reply,
                            pos: pos + 1,
                            len,
                        },
                    );
                } else {
                    self.after_agent(s, reply, at);
                }
                Some(event)
            }
            Step::Close(s) => {
                let (channel, customer_id) = s.contact.ids[s.ident].clone();
                let event = SimEvent::Close {
                    channel,
                    customer_id,
                    agent: s.agent.to_owned(),
                    at,
                };
                self.come_back(&s, at);
                Some(event)
            }
            Step::Spam {
                s,
                pos,
                len,
                marked,
            } => {
                let text = self.pick(&self.bank.spam).to_owned();
                let kind = if self.chance(0.15) {
                    MessageKind::Image
                } else {
                    MessageKind::Text
                };
                let event = self.message(&s, at, Direction::In, kind, text);
                if pos + 1 < len {
                    let next = at + self.between(SECOND, 20 * SECOND);
                    self.schedule(
                        next,
                        Step::Spam {
                            s,
                            pos: pos + 1,
                            len,
                            marked,
                        },
                    );
                } else {
                    if !marked {
                        let when = at + self.between(5 * MINUTE, 2 * HOUR);
                        let when = self.agent_time(when);
                        self.schedule(when, Step::MarkSpam(s.clone()));
                    }
                    // Marked or not, spammers keep trying now and then.
                    if self.chance(0.65) {
                        let next = at + self.between(6 * HOUR, 6 * DAY);
                        let len = self.weighted(&[(1, 70), (2, 30)]);
                        self.schedule(
                            next,
                            Step::Spam {
                                s,
                                pos: 0,
                                len,
                                marked: true,
                            },
                        );
                    }
                }
                Some(event)
            }
            Step::MarkSpam(s) => {
                let (channel, customer_id) = s.contact.ids[s.ident].clone();
                Some(SimEvent::MarkSpam {
                    channel,
                    customer_id,
                    agent: self.agent().to_owned(),
                    at,
                })
            }
        }
    }

    fn after_customer(&mut self, s: Box<Session>, mood: Mood, at: Millis) {
        let (reply, len) = match mood {
            Mood::Open => (Reply::Answer, self.weighted(&[(1, 55), (2, 45)])),
            Mood::More => (Reply::Ack, 1),
            Mood::Thanks => {
                if self.chance(0.4) {
                    let when = at + self.between(MINUTE, 15 * MINUTE);
                    let when = self.agent_time(when);
                    self.schedule(when, Step::Close(s));
                    return;
                }
                (Reply::Closing, 1)
            }
        };
        let when = at + self.reply_delay();
        let when = self.agent_time(when);
        self.schedule(
            when,
            Step::Agent {
                s,
                reply,
                pos: 0,
                len,
            },
        );
    }

    fn after_agent(&mut self, mut s: Box<Session>, reply: Reply, at: Millis) {
        if let Reply::Closing = reply {
            let when = at + self.between(MINUTE, 10 * MINUTE);
            self.schedule(when, Step::Close(s));
            return;
        }
        s.round += 1;
        let more = match s.round {
            1 => 0.5,
            2 | 3 => 0.3,
            _ => 0.1,
        };
        let r = self.rng.random::<f64>();
        if r < more + 0.25 {
            let mood = if r < more { Mood::More } else { Mood::Thanks };
            let len = self.burst_len(mood);
            let when = at + self.customer_delay();
            self.schedule(
                when,
                Step::Customer {
                    s,
                    mood,
                    pos: 0,
                    len,
                },
            );
        } else if self.chance(0.85) {
            let when = at + self.between(10 * MINUTE, 3 * HOUR);
            let when = self.agent_time(when);
            self.schedule(when, Step::Close(s));
        } else {
            // Left open: the customer's next message lands on the same ticket.
            self.come_back(&s, at);
        }
    }
}

impl Iterator for Simulator {
    type Item = SimEvent;

    fn next(&mut self) -> Option<SimEvent> {
        while self.sent < self.cfg.messages {
            let due = self.queue.pop()?;
            self.now = due.at;
            if let Some(event) = self.run(due.at, due.step) {
                if matches!(event, SimEvent::Message(_)) {
                    self.sent += 1;
                }
                return Some(event);
            }
        }
        if !self.queue.is_empty() {
            self.queue = BinaryHeap::new();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    const END: Millis = 1_767_225_600_000; // 2026-01-01T00:00:00Z

    fn cfg(seed: u64, messages: usize, days: u32) -> SimConfig {
        SimConfig {
            seed,
            messages,
            days,
            end: END,
        }
    }

    fn messages(events: &[SimEvent]) -> impl Iterator<Item = &Inbound> {
        events.iter().filter_map(|e| match e {
            SimEvent::Message(m) => Some(m),
            _ => None,
        })
    }

    #[test]
    fn same_seed_gives_same_events() {
        let a: Vec<_> = Simulator::new(cfg(7, 3000, 7)).collect();
        let b: Vec<_> = Simulator::new(cfg(7, 3000, 7)).collect();
        assert_eq!(a, b);
    }

    #[test]
    fn different_seeds_differ() {
        let a: Vec<_> = Simulator::new(cfg(1, 500, 7)).collect();
        let b: Vec<_> = Simulator::new(cfg(2, 500, 7)).collect();
        assert_ne!(a, b);
        let ids_a: HashSet<_> = messages(&a).map(|m| m.message_id.clone()).collect();
        assert!(messages(&b).all(|m| !ids_a.contains(&m.message_id)));
    }

    #[test]
    fn yields_exactly_the_asked_number_of_messages() {
        for (n, days) in [(0, 7), (1, 7), (7, 1), (1000, 30), (5000, 1), (300, 0)] {
            let mut sim = Simulator::new(cfg(3, n, days));
            let events: Vec<_> = sim.by_ref().collect();
            assert_eq!(messages(&events).count(), n, "n={n} days={days}");
            assert!(matches!(events.last(), None | Some(SimEvent::Message(_))));
            assert!(sim.next().is_none());
        }
    }

    #[test]
    fn events_are_in_time_order_and_fill_the_span() {
        for (n, days) in [(20_000, 30), (20_000, 1), (1000, 365), (50, 30)] {
            let events: Vec<_> = Simulator::new(cfg(11, n, days)).collect();
            let start = END - Millis::from(days) * DAY;
            let span = END - start;
            assert!(events.windows(2).all(|w| w[0].at() <= w[1].at()));
            assert!(events.iter().all(|e| (start..=END).contains(&e.at())));
            // Pacing keeps to the timeline: no pile-up of leftovers at `end`.
            let at_end = events.iter().filter(|e| e.at() == END).count();
            assert!(
                at_end * 100 <= events.len(),
                "{at_end} of {} at end",
                events.len()
            );
            if n >= 1000 {
                let last = events.last().map_or(start, SimEvent::at);
                assert!(last > END - span / 20, "n={n} days={days} ends early");
            }
            if days >= 7 && n >= 1000 {
                let early = events.iter().filter(|e| e.at() < start + span / 4).count();
                let late = events.iter().filter(|e| e.at() > END - span / 4).count();
                assert!(
                    early > events.len() / 6,
                    "early {early} of {}",
                    events.len()
                );
                assert!(late > events.len() / 6, "late {late} of {}", events.len());
            }
        }
    }

    #[test]
    fn days_are_busier_than_nights() {
        let events: Vec<_> = Simulator::new(cfg(5, 20_000, 14)).collect();
        let in_hours = |range: std::ops::Range<usize>| {
            messages(&events)
                .filter(|m| range.contains(&local_hour(m.sent_at)))
                .count()
        };
        assert!(in_hours(10..14) > 4 * in_hours(2..6));
    }

    #[test]
    fn message_ids_are_unique_and_carry_the_seed() {
        let events: Vec<_> = Simulator::new(cfg(42, 20_000, 30)).collect();
        let ids: HashSet<_> = messages(&events).map(|m| m.message_id.as_str()).collect();
        assert_eq!(ids.len(), 20_000);
        assert!(ids.iter().all(|id| id.starts_with("sim-42-")));
    }

    #[test]
    fn traffic_has_replies_closes_spam_media_and_two_channel_contacts() {
        let mut sim = Simulator::new(cfg(9, 20_000, 30));
        let events: Vec<_> = sim.by_ref().collect();
        let count = |f: &dyn Fn(&SimEvent) -> bool| events.iter().filter(|e| f(e)).count();
        let out = count(&|e| matches!(e, SimEvent::Message(m) if m.direction == Direction::Out));
        let closes = count(&|e| matches!(e, SimEvent::Close { .. }));
        let spam = count(&|e| matches!(e, SimEvent::MarkSpam { .. }));
        let media = count(&|e| matches!(e, SimEvent::Message(m) if m.kind != MessageKind::Text));
        assert!(out > 20_000 / 5, "out {out}");
        assert!(closes > 500, "closes {closes}");
        assert!(spam > 5, "spam {spam}");
        assert!(media > 200, "media {media}");

        let stats = sim.stats;
        assert!(stats.two_channel * 20 > stats.contacts, "{stats:?}");
        assert!(
            stats.spam > 0 && stats.spam * 20 < stats.contacts,
            "{stats:?}"
        );

        // Two-channel contacts show up as one display name on two channels.
        let mut channels: HashMap<&str, HashSet<ChannelKind>> = HashMap::new();
        for m in messages(&events).filter(|m| m.direction == Direction::In) {
            assert!(m.display_name.is_some());
            channels
                .entry(m.display_name.as_deref().unwrap_or_default())
                .or_default()
                .insert(m.channel);
        }
        assert!(channels.values().any(|c| c.len() >= 2));

        // Outbound messages name a simulated agent; every closed or spammed id has written.
        for m in messages(&events).filter(|m| m.direction == Direction::Out) {
            assert!(m.agent.as_deref().is_some_and(|a| SIM_AGENTS.contains(&a)));
        }
        let writers: HashSet<(ChannelKind, &str)> = messages(&events)
            .map(|m| (m.channel, m.customer_id.as_str()))
            .collect();
        for e in &events {
            if let SimEvent::Close {
                channel,
                customer_id,
                ..
            }
            | SimEvent::MarkSpam {
                channel,
                customer_id,
                ..
            } = e
            {
                assert!(writers.contains(&(*channel, customer_id.as_str())));
            }
        }
    }

    #[test]
    fn customers_come_back_both_within_and_after_the_reopen_window() {
        let events: Vec<_> = Simulator::new(cfg(13, 20_000, 30)).collect();
        let mut closed: HashMap<(ChannelKind, &str), Millis> = HashMap::new();
        let (mut soon, mut later) = (0, 0);
        for e in &events {
            match e {
                SimEvent::Close {
                    channel,
                    customer_id,
                    at,
                    ..
                } => {
                    closed.insert((*channel, customer_id.as_str()), *at);
                }
                SimEvent::Message(m) if m.direction == Direction::In => {
                    if let Some(at) = closed.remove(&(m.channel, m.customer_id.as_str())) {
                        if m.sent_at - at < DAY {
                            soon += 1;
                        } else {
                            later += 1;
                        }
                    }
                }
                _ => {}
            }
        }
        assert!(soon > 50 && later > 50, "soon {soon} later {later}");
    }

    #[test]
    fn customer_ids_look_like_the_platforms() {
        let events: Vec<_> = Simulator::new(cfg(21, 20_000, 30)).collect();
        let mut seen = HashSet::new();
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        for m in messages(&events) {
            let id = m.customer_id.as_str();
            seen.insert(m.channel);
            let ok = match m.channel {
                ChannelKind::Line => {
                    id.len() == 33
                        && id.starts_with('U')
                        && id[1..].bytes().all(|b| b.is_ascii_hexdigit())
                }
                ChannelKind::Whatsapp => id.len() == 11 && id.starts_with("66") && digits(id),
                ChannelKind::Messenger => id.len() == 16 && digits(id),
                ChannelKind::Instagram => id.len() == 17 && digits(id),
                ChannelKind::Shopee => id.len() == 9 && digits(id),
                ChannelKind::Lazada => id.len() == 10 && digits(id),
                ChannelKind::Tiktok => id.len() == 19 && digits(id),
                ChannelKind::Webchat | ChannelKind::Email => false,
            };
            assert!(ok, "{} id {id}", m.channel);
        }
        assert_eq!(seen.len(), 7, "{seen:?}");
    }

    #[test]
    fn texts_are_varied_and_searchable() {
        let events: Vec<_> = Simulator::new(cfg(4, 20_000, 30)).collect();
        let texts: Vec<&str> = messages(&events).map(|m| m.text.as_str()).collect();
        let thai = |t: &str| t.chars().any(|c| ('\u{0E00}'..='\u{0E7F}').contains(&c));
        assert!(texts.iter().filter(|t| thai(t)).count() > 5000);
        assert!(texts.iter().any(|t| t.contains("SO-25")));
        assert!(
            texts
                .iter()
                .all(|t| !t.contains("{order}") && !t.contains("{name}"))
        );
        // Each customer keeps to one polite particle: ครับ (men) or ค่ะ/คะ (women).
        let mut particles: HashMap<&str, (bool, bool)> = HashMap::new();
        for m in messages(&events).filter(|m| m.direction == Direction::In) {
            let e = particles.entry(m.customer_id.as_str()).or_default();
            e.0 |= m.text.contains("ครับ");
            e.1 |= m.text.contains("ค่ะ") || m.text.contains("คะ");
        }
        assert!(particles.values().any(|p| p.0) && particles.values().any(|p| p.1));
        assert!(particles.values().all(|p| !(p.0 && p.1)));
        let distinct: HashSet<_> = texts.iter().collect();
        assert!(distinct.len() > 500, "{}", distinct.len());
    }

    #[test]
    fn phrase_bank_is_complete() {
        let b = bank();
        assert!(b.topics.len() >= 6);
        for (lang, p) in ["th", "en", "mixed"].iter().zip(&b.customer) {
            let total = p.greeting.len()
                + p.followup.len()
                + p.thanks.len()
                + p.topics.iter().map(Vec::len).sum::<usize>();
            assert!(total >= 30, "customer.{lang} has {total} phrases");
        }
        let _ = names();
    }

    #[test]
    fn fill_replaces_known_placeholders_only() {
        let contact = Arc::new(Contact {
            name: "Nok 🌸".into(),
            lang: Lang::Thai,
            male: false,
            ids: vec![(ChannelKind::Line, "U1".into())],
            agent: "alice",
        });
        let s = Session {
            contact,
            ident: 0,
            agent: "alice",
            topic: 0,
            order: "SO-2405-1234".into(),
            tracking: "TH000000000001".into(),
            amount: 1290,
            round: 0,
            pinned: false,
            said_in: [""; 2],
            said_out: [""; 2],
        };
        assert_eq!(
            fill("{name}: {order} {tracking} {amount} {x} {", &s),
            "Nok: SO-2405-1234 TH000000000001 1,290 {x} {"
        );
    }

    /// `cargo test --release --lib sources::simulate -- --ignored --nocapture`
    #[test]
    #[ignore = "timing; run in release"]
    fn million_events_timing() {
        let t = std::time::Instant::now();
        let mut n = 0usize;
        let mut bytes = 0usize;
        for e in Simulator::new(cfg(1, 1_000_000, 30)) {
            n += 1;
            if let SimEvent::Message(m) = e {
                bytes += m.text.len();
            }
        }
        println!("{n} events ({bytes} text bytes) in {:?}", t.elapsed());
    }
}
