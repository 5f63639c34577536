//! Streaming readers for `tix import`: files of messages as JSON Lines or CSV, one record at a time,
//! and files of the channels' own webhook payloads, one payload at a time.
//!
//! Parsing only, no database. Each [`Record`] keeps its starting line and its original bytes, so
//! the caller can report `FILE:LINE: reason` and copy rejected records, unchanged, into a rejects
//! file that can be fixed and imported again. Memory stays bounded by the longest record, never
//! the file.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::Path;
use std::str::FromStr;

use serde_json::Value;

use crate::domain::time::parse_time;
use crate::domain::{ChannelKind, Direction, Inbound, MessageKind, UnknownName};
use crate::sources::reviews::{Review, parse_review_line};
use crate::sources::webhooks::{self, Parsed, WebhookFormat};

/// How an import file is written. `Auto` decides from the file name, then from its content.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Format {
    #[default]
    Auto,
    Jsonl,
    Csv,
    /// A platform's webhook payloads, one per line or one (pretty-printed or not) per file.
    Webhook(WebhookFormat),
    /// Marketplace product reviews in canonical JSON Lines (see [`crate::sources::reviews`]).
    /// Never guessed: a reviews file looks like JSON Lines of messages until read.
    Reviews,
}

impl Format {
    pub const ALL: [Format; 10] = [
        Format::Auto,
        Format::Jsonl,
        Format::Csv,
        Format::Webhook(WebhookFormat::Line),
        Format::Webhook(WebhookFormat::Messenger),
        Format::Webhook(WebhookFormat::Instagram),
        Format::Webhook(WebhookFormat::Whatsapp),
        Format::Webhook(WebhookFormat::Facebook),
        Format::Webhook(WebhookFormat::Shopee),
        Format::Reviews,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::Webhook(w) => w.as_str(),
            Format::Reviews => "reviews",
        }
    }

    /// The format a file name promises (`.jsonl`, `.ndjson`, `.json`, `.csv`), if any. A JSON
    /// file may still turn out to hold webhook payloads.
    pub fn from_extension(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lets clap read `--format auto|jsonl|csv|line|…` through `FromStr`.
impl FromStr for Format {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == wanted)
            .ok_or_else(|| UnknownName {
                what: "format",
                given: s.to_string(),
                expected: Format::ALL.map(Format::as_str).join(", "),
            })
    }
}

/// What a record holds once read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// A JSON Lines or CSV record: one message.
    Message(Inbound),
    /// A webhook payload: its messages, the events skipped by kind, and its comments.
    Payload(Parsed),
    /// A line of a reviews file: one product review.
    Review(Review),
}

/// One record of the file (a message, or a webhook payload), parsed or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 1-based line where the record starts (a quoted CSV field may carry it over more lines).
    pub line: usize,
    /// The record's original bytes with its line ending (the file's last record may have none),
    /// for the rejects file. A byte-order mark belongs to the file, not to its first record.
    pub raw: Vec<u8>,
    /// Offset in the file just after this record, for a progress bar against [`Reader::total_bytes`].
    pub bytes_read: u64,
    /// What the record holds, or what is wrong with it (without the `FILE:LINE: ` prefix).
    pub parsed: Result<Content, String>,
}

/// Yields the records of an import file in order. An `Err` item is an I/O failure, after which
/// the reader stops; a bad record is an `Ok` item whose `parsed` is `Err`, and reading goes on.
pub struct Reader {
    format: Format,
    total_bytes: u64,
    source: Source,
    done: bool,
}

enum Source {
    Jsonl(JsonlSource),
    Csv(Box<CsvSource>),
    Payloads(PayloadSource),
}

/// What the reader may read a file as, before its content is seen.
#[derive(Debug, Clone, Copy)]
enum Wanted {
    Exactly(Format),
    /// A JSON file: JSON Lines, or webhook payloads if the first one is a platform's.
    Json,
    /// Anything: JSON as above, CSV otherwise.
    Any,
}

/// Opens an import file. With [`Format::Auto`] the extension decides between JSON and CSV
/// (`.jsonl`, `.ndjson`, `.json` → JSON, `.csv` → CSV); otherwise the first non-blank byte does
/// (`{` or `[` → JSON, anything else → CSV). JSON whose first value is a webhook payload of a
/// platform tix knows is read as payloads, each recognised on its own; other JSON is JSON Lines.
/// A CSV file whose header lacks a required column fails here, so the caller does not reject
/// every row one by one.
pub fn open(path: &Path, format: Format) -> io::Result<Reader> {
    let file = File::open(path)?;
    let total_bytes = file.metadata()?.len();
    let wanted = match format {
        Format::Auto => match Format::from_extension(path) {
            Some(Format::Csv) => Wanted::Exactly(Format::Csv),
            Some(_) => Wanted::Json,
            None => Wanted::Any,
        },
        f => Wanted::Exactly(f),
    };
    Reader::build(Box::new(file), wanted, total_bytes, READ_BUFFER)
}

/// Bytes read from the source at a time; also how far `Auto` looks for the first non-blank byte.
const READ_BUFFER: usize = 64 * 1024;
const BOM: &[u8] = b"\xEF\xBB\xBF";

impl Reader {
    /// Reads records from any byte source (standard input, a pipe, a test buffer).
    /// `total_bytes` is only reported back, for progress; pass 0 when unknown.
    pub fn new(
        source: impl Read + Send + 'static,
        format: Format,
        total_bytes: u64,
    ) -> io::Result<Reader> {
        Self::with_csv_buffer(Box::new(source), format, total_bytes, READ_BUFFER)
    }

    /// As [`Reader::new`]; tests shrink the CSV buffer to put record ends on buffer boundaries.
    fn with_csv_buffer(
        source: Box<dyn Read + Send>,
        format: Format,
        total_bytes: u64,
        csv_buffer: usize,
    ) -> io::Result<Reader> {
        let wanted = match format {
            Format::Auto => Wanted::Any,
            f => Wanted::Exactly(f),
        };
        Self::build(source, wanted, total_bytes, csv_buffer)
    }

    fn build(
        source: Box<dyn Read + Send>,
        wanted: Wanted,
        total_bytes: u64,
        csv_buffer: usize,
    ) -> io::Result<Reader> {
        let mut src = BufReader::with_capacity(READ_BUFFER, source);
        let bom = if src.fill_buf()?.starts_with(BOM) {
            src.consume(BOM.len());
            BOM.len() as u64
        } else {
            0
        };
        let wanted = match wanted {
            Wanted::Any => match src.fill_buf()?.iter().find(|b| !b.is_ascii_whitespace()) {
                Some(b'{' | b'[') | None => Wanted::Json,
                Some(_) => Wanted::Exactly(Format::Csv),
            },
            w => w,
        };
        let jsonl = |src, reviews| {
            Source::Jsonl(JsonlSource {
                src,
                offset: bom,
                line: 0,
                reviews,
            })
        };
        let (format, source) = match wanted {
            Wanted::Exactly(Format::Csv) => (
                Format::Csv,
                Source::Csv(Box::new(CsvSource::new(src, bom, csv_buffer)?)),
            ),
            Wanted::Exactly(Format::Webhook(w)) => (
                Format::Webhook(w),
                Source::Payloads(PayloadSource::new(src, bom, Some(w))),
            ),
            Wanted::Exactly(Format::Reviews) => (Format::Reviews, jsonl(src, true)),
            Wanted::Exactly(_) => (Format::Jsonl, jsonl(src, false)),
            Wanted::Json | Wanted::Any => match PayloadSource::sniff(src, bom)? {
                Ok((w, payloads)) => (Format::Webhook(w), Source::Payloads(payloads)),
                Err(src) => (Format::Jsonl, jsonl(src, false)),
            },
        };
        Ok(Reader {
            format,
            total_bytes,
            source,
            done: false,
        })
    }

    /// The format in use, never `Auto`. For webhook payloads read with `Auto`, the first
    /// payload's platform; each later payload is recognised on its own.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The CSV header line as it was in the file, so a CSV rejects file can start with it.
    pub fn header(&self) -> Option<&[u8]> {
        match &self.source {
            Source::Csv(csv) => csv.header.as_deref(),
            Source::Jsonl(_) | Source::Payloads(_) => None,
        }
    }

    /// The file's size when opened (0 if unknown), the end of the progress bar.
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }
}

impl Iterator for Reader {
    type Item = io::Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = match &mut self.source {
            Source::Jsonl(s) => s.next_record(),
            Source::Csv(s) => s.next_record(),
            Source::Payloads(s) => s.next_record(),
        };
        match next {
            Ok(Some(record)) => Some(Ok(record)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

struct JsonlSource {
    src: BufReader<Box<dyn Read + Send>>,
    /// File offset of the next unread byte.
    offset: u64,
    /// Lines read so far.
    line: usize,
    /// The lines are product reviews, not messages.
    reviews: bool,
}

impl JsonlSource {
    fn next_record(&mut self) -> io::Result<Option<Record>> {
        loop {
            let mut raw = Vec::new();
            let n = self.src.read_until(b'\n', &mut raw)?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            self.offset += n as u64;
            if raw.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let parsed = match std::str::from_utf8(&raw) {
                Ok(line) if self.reviews => parse_review_line(line).map(Content::Review),
                Ok(line) => parse_json_line(line).map(Content::Message),
                Err(e) => Err(format!(
                    "not valid UTF-8 (bad byte at column {})",
                    e.valid_up_to() + 1
                )),
            };
            return Ok(Some(Record {
                line: self.line,
                raw,
                bytes_read: self.offset,
                parsed,
            }));
        }
    }
}

/// A payload larger than this is refused: no platform sends one near it, so a closing brace or
/// quote is missing, and the rest of the file would otherwise be read as one payload.
const MAX_PAYLOAD: usize = 16 * 1024 * 1024;

/// Webhook payloads, one JSON value after another: one per line, or pretty-printed over many.
/// Values are cut out by their balanced braces, so only one payload is held at a time.
struct PayloadSource {
    src: BufReader<Box<dyn Read + Send>>,
    /// File offset of the next unread byte.
    offset: u64,
    /// Line breaks read so far.
    newlines: usize,
    /// The platform every payload must be; `None` recognises each payload on its own.
    format: Option<WebhookFormat>,
    /// The first payload, read to recognise the file: its line, bytes and end offset.
    pending: Option<(usize, Vec<u8>, u64)>,
    /// While sniffing, every byte read, so the file can be handed back unread.
    tape: Option<Vec<u8>>,
}

/// What a file of JSON that is not webhook payloads looks like once handed back.
type Unread = BufReader<Box<dyn Read + Send>>;

impl PayloadSource {
    fn new(src: Unread, offset: u64, format: Option<WebhookFormat>) -> PayloadSource {
        PayloadSource {
            src,
            offset,
            newlines: 0,
            format,
            pending: None,
            tape: None,
        }
    }

    /// Reads the first JSON value. If it is a webhook payload, the file is payloads (each
    /// recognised on its own); if not, the source comes back as if unread, for JSON Lines.
    fn sniff(src: Unread, bom: u64) -> io::Result<Result<(WebhookFormat, PayloadSource), Unread>> {
        let mut me = PayloadSource::new(src, bom, None);
        me.tape = Some(Vec::new());
        let first = match me.next_value() {
            Ok(first) => first,
            Err(e) if e.kind() == io::ErrorKind::InvalidData => None,
            Err(e) => return Err(e),
        };
        let detected = first.as_ref().and_then(|(_, raw)| {
            serde_json::from_slice::<Value>(raw)
                .ok()
                .and_then(|v| webhooks::detect(&v))
        });
        match (detected, first) {
            (Some(format), Some((line, raw))) => {
                me.tape = None;
                me.pending = Some((line, raw, me.offset));
                Ok(Ok((format, me)))
            }
            _ => {
                let read = me.tape.take().unwrap_or_default();
                let rest: Box<dyn Read + Send> = Box::new(Cursor::new(read).chain(me.src));
                Ok(Err(BufReader::with_capacity(READ_BUFFER, rest)))
            }
        }
    }

    fn next_record(&mut self) -> io::Result<Option<Record>> {
        let (line, raw, bytes_read) = match self.pending.take() {
            Some(first) => first,
            None => match self.next_value()? {
                Some((line, raw)) => (line, raw, self.offset),
                None => return Ok(None),
            },
        };
        let parsed = parse_payload(&raw, line, self.format);
        Ok(Some(Record {
            line,
            raw,
            bytes_read,
            parsed,
        }))
    }

    /// The next JSON value's first line and bytes, skipping blank space before it. Anything
    /// that does not start like a JSON object or array is taken to the end of its line, for
    /// the parser to reject.
    fn next_value(&mut self) -> io::Result<Option<(usize, Vec<u8>)>> {
        loop {
            let buf = self.src.fill_buf()?;
            if buf.is_empty() {
                return Ok(None);
            }
            let n = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
            self.newlines += count_newlines(&buf[..n]);
            if let Some(tape) = &mut self.tape {
                tape.extend_from_slice(&buf[..n]);
            }
            let all_blank = n == buf.len();
            self.src.consume(n);
            self.offset += n as u64;
            if !all_blank {
                break;
            }
        }
        let line = self.newlines + 1;
        let mut raw = Vec::new();
        if matches!(self.src.fill_buf()?.first(), Some(b'{' | b'[')) {
            let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
            loop {
                let buf = self.src.fill_buf()?;
                if buf.is_empty() {
                    // The file ends inside the value; the JSON parser will say what is missing.
                    break;
                }
                let mut end = None;
                for (i, &b) in buf.iter().enumerate() {
                    if in_string {
                        if escaped {
                            escaped = false;
                        } else if b == b'\\' {
                            escaped = true;
                        } else if b == b'"' {
                            in_string = false;
                        }
                        continue;
                    }
                    match b {
                        b'"' => in_string = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                end = Some(i + 1);
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                let take = end.unwrap_or(buf.len());
                raw.extend_from_slice(&buf[..take]);
                if let Some(tape) = &mut self.tape {
                    tape.extend_from_slice(&buf[..take]);
                }
                self.src.consume(take);
                if end.is_some() {
                    break;
                }
                if raw.len() > MAX_PAYLOAD {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "line {line}: a payload runs past {} MiB; is a closing brace or quote missing?",
                            MAX_PAYLOAD >> 20
                        ),
                    ));
                }
            }
        } else {
            self.src.read_until(b'\n', &mut raw)?;
            if let Some(tape) = &mut self.tape {
                tape.extend_from_slice(&raw);
            }
        }
        self.offset += raw.len() as u64;
        self.newlines += count_newlines(&raw);
        Ok(Some((line, raw)))
    }
}

/// Reads one webhook payload that starts on `line`. With `format`, the payload must be that
/// platform's; without, it is recognised by its shape.
fn parse_payload(
    raw: &[u8],
    line: usize,
    format: Option<WebhookFormat>,
) -> Result<Content, String> {
    let value: Value = serde_json::from_slice(raw).map_err(|e| json_error(&e, line))?;
    if !value.is_object() {
        return Err(format!(
            "expected a JSON object (one webhook payload), found {}",
            describe_json(&value)
        ));
    }
    let format = match (format, webhooks::detect(&value)) {
        (Some(wanted), Some(found)) if !wanted.reads_same_payloads(found) => {
            return Err(format!(
                "this is a {} payload, not {} (import it with --format {found} or auto)",
                found.title(),
                wanted.title()
            ));
        }
        (Some(wanted), _) => wanted,
        (None, Some(found)) => found,
        (None, None) => {
            return Err(
                "not a webhook payload tix knows: expected LINE (destination and events), \
                 Meta (object \"page\", \"instagram\" or \"whatsapp_business_account\") or \
                 Shopee (shop_id, code and data)"
                    .to_string(),
            );
        }
    };
    format
        .parse(&value)
        .map(Content::Payload)
        .map_err(|e| e.to_string())
}

/// A JSON syntax error with its position counted in the file, not in the payload.
fn json_error(e: &serde_json::Error, first_line: usize) -> String {
    let text = e.to_string();
    let what = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(w, _)| w);
    if e.line() == 0 {
        return format!("not valid JSON: {what}");
    }
    format!(
        "not valid JSON at line {}, column {}: {what}",
        first_line + e.line() - 1,
        e.column()
    )
}

/// The columns and keys of the import format, in the order errors are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Channel,
    From,
    Name,
    Id,
    At,
    Text,
    Kind,
    Direction,
    Agent,
    Account,
}

impl Field {
    const ALL: [Field; 10] = [
        Field::Channel,
        Field::From,
        Field::Name,
        Field::Id,
        Field::At,
        Field::Text,
        Field::Kind,
        Field::Direction,
        Field::Agent,
        Field::Account,
    ];

    fn name(self) -> &'static str {
        match self {
            Field::Channel => "channel",
            Field::From => "from",
            Field::Name => "name",
            Field::Id => "id",
            Field::At => "at",
            Field::Text => "text",
            Field::Kind => "kind",
            Field::Direction => "direction",
            Field::Agent => "agent",
            Field::Account => "account",
        }
    }

    fn required(self) -> bool {
        matches!(
            self,
            Field::Channel | Field::From | Field::Id | Field::At | Field::Text
        )
    }

    /// Platform exports often write ids and epoch times as JSON numbers.
    fn accepts_integer(self) -> bool {
        matches!(self, Field::From | Field::Id | Field::At)
    }
}

/// One field's value as read from a JSON object or a CSV row, before meaning is checked.
enum Slot<'a> {
    Missing,
    /// Wrong type or encoding; the error is already recorded.
    Invalid,
    Value(Cow<'a, str>),
}

/// Message kinds a file may carry; `system` lines are the desk's own and never imported.
const IMPORT_KINDS: [MessageKind; 5] = [
    MessageKind::Text,
    MessageKind::Image,
    MessageKind::Sticker,
    MessageKind::File,
    MessageKind::Location,
];

/// Epoch milliseconds outside 1973..5138 are almost surely seconds or microseconds, which would
/// otherwise land silently in 1970 or the far future and upset reopen windows and waiting times.
const PLAUSIBLE_MILLIS: std::ops::Range<i64> = 100_000_000_000..100_000_000_000_000;

/// Reads one JSON Lines message, e.g.
/// `{"channel":"line","from":"U4af…","id":"m-1001","at":"2026-11-20T09:15:00+07:00","text":"hi"}`.
/// Keys the format does not know are ignored, as platform exports carry extras. Every problem
/// found is listed, separated by `; `, each naming its field.
pub fn parse_json_line(line: &str) -> Result<Inbound, String> {
    let value: Value =
        serde_json::from_str(line.trim_end()).map_err(|e| format!("not valid JSON: {e}"))?;
    let object = match value {
        Value::Object(object) => object,
        Value::Array(_) => {
            return Err("expected one JSON object per line, found an array".to_string());
        }
        other => {
            return Err(format!(
                "expected a JSON object, found {}",
                describe_json(&other)
            ));
        }
    };
    let mut errors = Vec::new();
    let slots = Field::ALL.map(|field| match object.get(field.name()) {
        None | Some(Value::Null) => Slot::Missing,
        Some(Value::String(s)) => Slot::Value(Cow::Borrowed(s.as_str())),
        Some(Value::Number(n)) if field.accepts_integer() && (n.is_i64() || n.is_u64()) => {
            Slot::Value(Cow::Owned(n.to_string()))
        }
        Some(other) => {
            let expected = if field.accepts_integer() {
                "a string or an integer"
            } else {
                "a string"
            };
            errors.push(format!(
                "field \"{}\": expected {expected}, found {}",
                field.name(),
                describe_json(other)
            ));
            Slot::Invalid
        }
    });
    build(slots, errors)
}

fn describe_json(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(_) => "a string".to_string(),
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
    }
}

/// Turns the read fields into a message, collecting every problem rather than the first.
fn build(slots: [Slot<'_>; 10], mut errors: Vec<String>) -> Result<Inbound, String> {
    let [
        channel,
        from,
        name,
        id,
        at,
        text,
        kind,
        direction,
        agent,
        account,
    ] = slots;

    let channel = required(Field::Channel, channel, &mut errors).and_then(|c| {
        c.parse::<ChannelKind>()
            .map_err(|e| errors.push(format!("field \"channel\": {e}")))
            .ok()
    });
    let customer_id = required(Field::From, from, &mut errors);
    let display_name = optional(name);
    let message_id = required(Field::Id, id, &mut errors);
    let sent_at = required(Field::At, at, &mut errors).and_then(|t| {
        parse_sent_at(&t)
            .map_err(|e| errors.push(format!("field \"at\": {e}")))
            .ok()
    });
    let text = match text {
        // An empty text is a value here; whether it may be empty depends on the kind.
        Slot::Value(t) => Some(t.into_owned()),
        Slot::Missing => {
            errors.push("missing field \"text\"".to_string());
            None
        }
        Slot::Invalid => None,
    };
    let kind = match optional(kind) {
        None => Some(MessageKind::Text),
        Some(k) => parse_kind(&k)
            .map_err(|e| errors.push(format!("field \"kind\": {e}")))
            .ok(),
    };
    if let (Some(MessageKind::Text), Some(t)) = (kind, &text)
        && t.trim().is_empty()
    {
        errors.push(
            "field \"text\" is empty, which only media kinds (image, sticker, file, location) may be"
                .to_string(),
        );
    }
    let direction = match optional(direction) {
        None => Some(Direction::In),
        Some(d) => d
            .parse::<Direction>()
            .map_err(|e| errors.push(format!("field \"direction\": {e}")))
            .ok(),
    };
    let agent = optional(agent);
    if direction == Some(Direction::In) && agent.is_some() {
        errors.push(
            "field \"agent\" is set but only outbound messages (direction \"out\") have an agent"
                .to_string(),
        );
    }
    let account = optional(account);

    match (
        channel,
        customer_id,
        message_id,
        sent_at,
        text,
        kind,
        direction,
    ) {
        (
            Some(channel),
            Some(customer_id),
            Some(message_id),
            Some(sent_at),
            Some(text),
            Some(kind),
            Some(direction),
        ) if errors.is_empty() => Ok(Inbound {
            channel,
            account,
            customer_id,
            display_name,
            message_id,
            kind,
            text,
            sent_at,
            direction,
            agent,
        }),
        _ => Err(errors.join("; ")),
    }
}

/// A required field's value; blank counts as absent, since an empty id or time means nothing.
fn required(field: Field, slot: Slot<'_>, errors: &mut Vec<String>) -> Option<String> {
    match slot {
        Slot::Value(v) if !v.trim().is_empty() => Some(v.into_owned()),
        Slot::Value(_) => {
            errors.push(format!("field \"{}\" is empty", field.name()));
            None
        }
        Slot::Missing => {
            errors.push(format!("missing field \"{}\"", field.name()));
            None
        }
        Slot::Invalid => None,
    }
}

/// An optional field, trimmed; empty means absent (a CSV cell cannot be left out, only empty).
fn optional(slot: Slot<'_>) -> Option<String> {
    match slot {
        Slot::Value(v) if !v.trim().is_empty() => Some(v.trim().to_string()),
        _ => None,
    }
}

fn parse_kind(given: &str) -> Result<MessageKind, UnknownName> {
    let wanted = given.trim().to_ascii_lowercase();
    IMPORT_KINDS
        .into_iter()
        .find(|k| k.as_str() == wanted)
        .ok_or_else(|| UnknownName {
            what: "message kind",
            given: given.to_string(),
            expected: IMPORT_KINDS.map(MessageKind::as_str).join(", "),
        })
}

pub(crate) fn parse_sent_at(text: &str) -> Result<i64, String> {
    let ms = parse_time(text)?;
    let t = text.trim();
    if t.bytes().all(|b| b.is_ascii_digit()) && !PLAUSIBLE_MILLIS.contains(&ms) {
        let unit = if ms < PLAUSIBLE_MILLIS.start {
            "seconds"
        } else {
            "microseconds or nanoseconds"
        };
        return Err(format!(
            "{t} looks like epoch {unit}; expected epoch milliseconds or an RFC 3339 time"
        ));
    }
    Ok(ms)
}

/// Hands bytes to the CSV parser while keeping them, so each record's original bytes can be
/// cut out by the parser's byte positions. Only bytes from the last record on are kept.
struct Recording<R> {
    inner: R,
    kept: Vec<u8>,
    /// Stream offset of `kept[0]`.
    base: u64,
    /// How much of `kept` the parser has been given; the rest was peeked at.
    delivered: usize,
    /// How much of `kept` is no longer needed.
    released: usize,
}

impl<R: Read> Recording<R> {
    fn new(inner: R) -> Self {
        Recording {
            inner,
            kept: Vec::new(),
            base: 0,
            delivered: 0,
            released: 0,
        }
    }

    /// The byte at a stream offset at or after the last release, reading ahead if needed.
    fn byte_at(&mut self, offset: u64) -> io::Result<Option<u8>> {
        let index = usize::try_from(offset - self.base).map_err(io::Error::other)?;
        while self.kept.len() <= index {
            let mut chunk = [0u8; 4096];
            let n = read_retrying(&mut self.inner, &mut chunk)?;
            if n == 0 {
                return Ok(None);
            }
            self.kept.extend_from_slice(&chunk[..n]);
        }
        Ok(self.kept.get(index).copied())
    }

    fn slice(&self, start: u64, end: u64) -> &[u8] {
        let from = (start - self.base) as usize;
        let to = (end - self.base) as usize;
        &self.kept[from.min(to)..to.min(self.kept.len())]
    }

    /// Forgets bytes before `offset`; compacts only now and then, so cutting is amortised O(1).
    fn release(&mut self, offset: u64) {
        let upto = ((offset - self.base) as usize).min(self.delivered);
        self.released = self.released.max(upto);
        if self.released >= 8192 && self.released * 2 >= self.kept.len() {
            self.kept.drain(..self.released);
            self.delivered -= self.released;
            self.base += self.released as u64;
            self.released = 0;
        }
    }
}

impl<R: Read> Read for Recording<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.delivered < self.kept.len() {
            let n = buf.len().min(self.kept.len() - self.delivered);
            buf[..n].copy_from_slice(&self.kept[self.delivered..self.delivered + n]);
            self.delivered += n;
            return Ok(n);
        }
        let n = self.inner.read(buf)?;
        self.kept.extend_from_slice(&buf[..n]);
        self.delivered += n;
        Ok(n)
    }
}

fn read_retrying(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

struct CsvSource {
    csv: csv::Reader<Recording<BufReader<Box<dyn Read + Send>>>>,
    record: csv::ByteRecord,
    header: Option<Vec<u8>>,
    /// Where each known field's column is, if the header has it.
    columns: [Option<usize>; 10],
    width: usize,
    /// Offset (after any BOM) just past the last record, and the line number there.
    end: u64,
    line: usize,
    bom: u64,
}

impl CsvSource {
    fn new(src: BufReader<Box<dyn Read + Send>>, bom: u64, buffer: usize) -> io::Result<Self> {
        let csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(buffer)
            .from_reader(Recording::new(src));
        let mut me = CsvSource {
            csv,
            record: csv::ByteRecord::new(),
            header: None,
            columns: [None; 10],
            width: 0,
            end: 0,
            line: 1,
            bom,
        };
        while let Some((line, raw)) = me.next_raw()? {
            if !raw.iter().all(u8::is_ascii_whitespace) {
                me.read_header(line)?;
                me.header = Some(raw);
                break;
            }
        }
        Ok(me)
    }

    fn read_header(&mut self, line: usize) -> io::Result<()> {
        let invalid = |msg: String| io::Error::new(io::ErrorKind::InvalidData, msg);
        if matches!(
            self.record
                .get(0)
                .and_then(|f| f.trim_ascii_start().first()),
            Some(b'{' | b'[')
        ) {
            return Err(invalid(format!(
                "line {line}: expected a CSV header, found JSON (read the file as JSON Lines)"
            )));
        }
        let names: Vec<String> = self
            .record
            .iter()
            .map(|n| String::from_utf8_lossy(n).trim().to_string())
            .collect();
        for (i, name) in names.iter().enumerate() {
            let name = name.to_ascii_lowercase();
            if let Some(field) = Field::ALL.into_iter().find(|f| f.name() == name) {
                if self.columns[field as usize].is_some() {
                    return Err(invalid(format!(
                        "line {line}: the CSV header has column \"{name}\" twice"
                    )));
                }
                self.columns[field as usize] = Some(i);
            }
        }
        let missing: Vec<String> = Field::ALL
            .into_iter()
            .filter(|f| f.required() && self.columns[*f as usize].is_none())
            .map(|f| format!("\"{}\"", f.name()))
            .collect();
        if !missing.is_empty() {
            return Err(invalid(format!(
                "line {line}: the CSV header lacks column {} (it has: {}; needed: channel, from, id, at, text)",
                missing.join(", "),
                shorten(&names.join(", "), 200)
            )));
        }
        self.width = names.len();
        Ok(())
    }

    fn next_record(&mut self) -> io::Result<Option<Record>> {
        loop {
            let Some((line, raw)) = self.next_raw()? else {
                return Ok(None);
            };
            // JSON Lines skips blank lines; a row of only spaces is as blank here.
            if raw.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let parsed = self.parse_row().map(Content::Message);
            return Ok(Some(Record {
                line,
                raw,
                bytes_read: self.bom + self.end,
                parsed,
            }));
        }
    }

    /// Reads the next record into `self.record`; returns its first line and original bytes.
    ///
    /// The parser's positions include blank lines skipped before a record, and may end a CRLF
    /// record after its `\r`; both are corrected here, so records and their line numbers
    /// tile the file exactly.
    fn next_raw(&mut self) -> io::Result<Option<(usize, Vec<u8>)>> {
        let more = self
            .csv
            .read_byte_record(&mut self.record)
            .map_err(csv_error)?;
        if !more {
            return Ok(None);
        }
        let parser_start = self.record.position().map_or(self.end, |p| p.byte());
        let parser_end = self.csv.position().byte();
        let kept = self.csv.get_mut();
        let mut start = parser_start.max(self.end);
        while start < parser_end && matches!(kept.byte_at(start)?, Some(b'\r' | b'\n')) {
            start += 1;
        }
        let mut end = parser_end;
        if end > start && kept.byte_at(end - 1)? == Some(b'\r') && kept.byte_at(end)? == Some(b'\n')
        {
            end += 1;
        }
        let line = self.line + count_newlines(kept.slice(self.end, start));
        let raw = kept.slice(start, end).to_vec();
        kept.release(end);
        self.line = line + count_newlines(&raw);
        self.end = end;
        Ok(Some((line, raw)))
    }

    fn parse_row(&self) -> Result<Inbound, String> {
        if self.record.len() != self.width {
            return Err(format!(
                "has {} fields but the header has {}",
                self.record.len(),
                self.width
            ));
        }
        let mut errors = Vec::new();
        let slots = Field::ALL.map(|field| {
            let Some(bytes) = self.columns[field as usize].and_then(|i| self.record.get(i)) else {
                return Slot::Missing;
            };
            match std::str::from_utf8(bytes) {
                Ok(s) => Slot::Value(Cow::Borrowed(s)),
                Err(_) => {
                    errors.push(format!("field \"{}\": not valid UTF-8", field.name()));
                    Slot::Invalid
                }
            }
        });
        build(slots, errors)
    }
}

/// Keeps an error message readable when a "header" turns out to be a long line of data.
fn shorten(text: &str, max_chars: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => Cow::Owned(format!("{}…", &text[..cut])),
        None => Cow::Borrowed(text),
    }
}

fn count_newlines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

/// With byte records and `flexible`, the parser's only failures are I/O ones.
fn csv_error(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const LINE_RAW: &str = r#"{"channel":"line","from":"U4af4980629","name":"สมชาย","id":"m-1001","at":"2026-11-20T09:15:00+07:00","text":"ยังไม่ได้รับของค่ะ"}"#;

    fn write_file(name: &str, content: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        File::create(&path).unwrap().write_all(content).unwrap();
        (dir, path)
    }

    fn read_all(name: &str, content: &[u8], format: Format) -> (Format, Vec<Record>) {
        let (_dir, path) = write_file(name, content);
        let reader = open(&path, format).unwrap();
        assert_eq!(reader.total_bytes(), content.len() as u64);
        let format = reader.format();
        (format, reader.map(|r| r.unwrap()).collect())
    }

    fn thai_message() -> Inbound {
        Inbound {
            channel: ChannelKind::Line,
            account: None,
            customer_id: "U4af4980629".into(),
            display_name: Some("สมชาย".into()),
            message_id: "m-1001".into(),
            kind: MessageKind::Text,
            text: "ยังไม่ได้รับของค่ะ".into(),
            sent_at: parse_time("2026-11-20T02:15:00Z").unwrap(),
            direction: Direction::In,
            agent: None,
        }
    }

    fn err(r: &Record) -> &str {
        r.parsed.as_ref().unwrap_err()
    }

    fn message(r: &Record) -> &Inbound {
        match &r.parsed {
            Ok(Content::Message(m)) => m,
            other => panic!("expected a message, found {other:?}"),
        }
    }

    #[test]
    fn json_line_maps_to_inbound_with_defaults() {
        assert_eq!(parse_json_line(LINE_RAW).unwrap(), thai_message());
    }

    #[test]
    fn json_line_reads_optional_fields_and_ignores_extras() {
        let m = parse_json_line(
            r#"{"channel":"Shopee","account":"shop-2","from":"buyer9","id":"x1","at":"2026-11-20T02:15:00Z","text":"","kind":"image","direction":"out","agent":"alice","platform_extra":{"a":[1]},"name":"","timestamp":null}"#,
        )
        .unwrap();
        assert_eq!(m.channel, ChannelKind::Shopee);
        assert_eq!(m.account.as_deref(), Some("shop-2"));
        assert_eq!(m.display_name, None);
        assert_eq!(m.kind, MessageKind::Image);
        assert_eq!(m.text, "");
        assert_eq!(m.direction, Direction::Out);
        assert_eq!(m.agent.as_deref(), Some("alice"));
    }

    #[test]
    fn epoch_millis_as_number_or_string_and_numeric_ids() {
        let a = parse_json_line(
            r#"{"channel":"line","from":66812345678,"id":42,"at":1763604900000,"text":"hi"}"#,
        )
        .unwrap();
        let b = parse_json_line(
            r#"{"channel":"line","from":"66812345678","id":"42","at":"1763604900000","text":"hi"}"#,
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.sent_at, 1_763_604_900_000);
        assert_eq!(a.customer_id, "66812345678");
    }

    #[test]
    fn bad_json_lines_name_the_field_and_reason() {
        let cases = [
            (
                r#"{"channel":"line","from":"u","id":"1","text":"hi"}"#,
                "missing field \"at\"",
            ),
            (
                r#"{"channel":"fax","from":"u","id":"1","at":1763604900000,"text":"hi"}"#,
                "field \"channel\": unknown channel \"fax\" (expected one of: line, messenger",
            ),
            (
                r#"{"channel":"line","from":"u","id":"1","at":"yesterday","text":"hi"}"#,
                "field \"at\": \"yesterday\" is not an RFC 3339 time",
            ),
            (
                r#"{"channel":"line","from":"u","id":"1","at":1763604900,"text":"hi"}"#,
                "field \"at\": 1763604900 looks like epoch seconds",
            ),
            (
                r#"{"channel":"line","from":"u","id":"1","at":1.5,"text":"hi"}"#,
                "field \"at\": expected a string or an integer, found 1.5",
            ),
            (
                r#"{"channel":"line","from":"u","id":"1","at":1763604900000,"text":5}"#,
                "field \"text\": expected a string, found 5",
            ),
            (
                r#"{"channel":"line","from":"u","id":"1","at":1763604900000}"#,
                "missing field \"text\"",
            ),
            (
                r#"{"channel":"line","from":"u","id":"1","at":1763604900000,"text":""}"#,
                "field \"text\" is empty",
            ),
            (
                r#"{"channel":"line","from":" ","id":"1","at":1763604900000,"text":"hi"}"#,
                "field \"from\" is empty",
            ),
            (
                r#"{"channel":"line","from":"u","id":"1","at":1763604900000,"text":"hi","kind":"system"}"#,
                "field \"kind\": unknown message kind \"system\" (expected one of: text, image, sticker, file, location)",
            ),
            (
                r#"{"channel":"line","from":"u","id":"1","at":1763604900000,"text":"hi","direction":"sideways"}"#,
                "field \"direction\": unknown direction \"sideways\"",
            ),
            (
                r#"{"channel":"line","from":"u","id":"1","at":1763604900000,"text":"hi","agent":"bob"}"#,
                "field \"agent\" is set but only outbound messages",
            ),
            (r#"{"channel":"line","#, "not valid JSON: "),
            (
                r#"[{"channel":"line"}]"#,
                "expected one JSON object per line, found an array",
            ),
            ("42", "expected a JSON object, found 42"),
        ];
        for (line, want) in cases {
            let got = parse_json_line(line).unwrap_err();
            assert!(got.contains(want), "{line}\n  got:  {got}\n  want: {want}");
        }
    }

    #[test]
    fn every_problem_of_a_line_is_listed() {
        let got = parse_json_line(r#"{"channel":"fax","text":"hi"}"#).unwrap_err();
        assert_eq!(
            got.split("; ")
                .map(|e| e.split(':').next().unwrap())
                .collect::<Vec<_>>(),
            [
                "field \"channel\"",
                "missing field \"from\"",
                "missing field \"id\"",
                "missing field \"at\""
            ]
        );
    }

    #[test]
    fn jsonl_file_reports_bad_lines_with_line_numbers_and_keeps_going() {
        let good2 = LINE_RAW.replace("m-1001", "m-1002");
        let content = format!(
            "{LINE_RAW}\n\n   \n{{\"channel\":\"fax\"\n{{\"channel\":\"line\",\"from\":\"u\",\"id\":\"9\",\"text\":\"x\"}}\n{good2}"
        );
        let mut bytes = content.into_bytes();
        bytes.extend_from_slice(b"\n\xff\xfe{}\n");
        let (format, records) = read_all("in.jsonl", &bytes, Format::Auto);
        assert_eq!(format, Format::Jsonl);
        let lines: Vec<usize> = records.iter().map(|r| r.line).collect();
        assert_eq!(lines, [1, 4, 5, 6, 7]);
        assert_eq!(message(&records[0]), &thai_message());
        assert!(err(&records[1]).starts_with("not valid JSON"));
        assert_eq!(err(&records[2]), "missing field \"at\"");
        assert_eq!(message(&records[3]).message_id, "m-1002");
        assert_eq!(err(&records[4]), "not valid UTF-8 (bad byte at column 1)");
        assert_eq!(
            records[2].raw,
            br#"{"channel":"line","from":"u","id":"9","text":"x"}
"#
        );
        assert_eq!(records[4].raw, b"\xff\xfe{}\n");
        assert_eq!(records[4].bytes_read, bytes.len() as u64);
    }

    #[test]
    fn jsonl_crlf_and_bom_are_tolerated() {
        let content = format!("\u{feff}{LINE_RAW}\r\n\r\n{LINE_RAW}\r\n");
        let (_, records) = read_all("x.ndjson", content.as_bytes(), Format::Auto);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].raw, format!("{LINE_RAW}\r\n").into_bytes());
        assert_eq!(records[1].line, 3);
        for r in &records {
            assert_eq!(message(r), &thai_message());
        }
        assert_eq!(records[1].bytes_read, content.len() as u64);
    }

    const CSV_HEADER: &str = "text,at,id,extra,name,from,channel\n";

    #[test]
    fn csv_rows_map_like_jsonl_in_any_column_order() {
        let row = "ยังไม่ได้รับของค่ะ,2026-11-20T09:15:00+07:00,m-1001,ignored,สมชาย,U4af4980629,line\n";
        let content = format!("{CSV_HEADER}{row}");
        let (format, records) = read_all("in.csv", content.as_bytes(), Format::Auto);
        assert_eq!(format, Format::Csv);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].line, 2);
        assert_eq!(records[0].raw, row.as_bytes());
        assert_eq!(message(&records[0]), &thai_message());
        assert_eq!(records[0].bytes_read, content.len() as u64);
    }

    #[test]
    fn csv_header_is_kept_raw_and_optional_columns_read() {
        let content = "\u{feff}Channel , from,id,at,text,kind,direction,agent,account\r\n\
                       lazada,b1,z,1763604900000,,sticker,out,alice,\r\n";
        let (_dir, path) = write_file("in.csv", content.as_bytes());
        let mut reader = open(&path, Format::Auto).unwrap();
        assert_eq!(
            reader.header(),
            Some(&b"Channel , from,id,at,text,kind,direction,agent,account\r\n"[..])
        );
        let r = reader.next().unwrap().unwrap();
        assert!(reader.next().is_none());
        let m = message(&r).clone();
        assert_eq!(m.channel, ChannelKind::Lazada);
        assert_eq!(
            (m.kind, m.direction),
            (MessageKind::Sticker, Direction::Out)
        );
        assert_eq!(m.agent.as_deref(), Some("alice"));
        assert_eq!(m.account, None);
        assert_eq!(m.sent_at, 1_763_604_900_000);
        assert_eq!(r.raw, b"lazada,b1,z,1763604900000,,sticker,out,alice,\r\n");
    }

    #[test]
    fn csv_multi_line_quoted_field_keeps_start_line_and_raw() {
        let multi = "\"line one\r\nline \"\"two\"\", with comma\",1763604900000,m2,,,u,line\r\n";
        let content = format!(
            "{}\r\n{multi}\r\n\r\nok,1763604900000,m3,,,u,line",
            CSV_HEADER.trim_end()
        );
        let (_, records) = read_all("in.csv", content.as_bytes(), Format::Csv);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].line, 2);
        assert_eq!(records[0].raw, multi.as_bytes());
        assert_eq!(
            message(&records[0]).text,
            "line one\r\nline \"two\", with comma"
        );
        assert_eq!(records[1].line, 6);
        assert_eq!(records[1].raw, b"ok,1763604900000,m3,,,u,line");
        assert_eq!(message(&records[1]).message_id, "m3");
        assert_eq!(records[1].bytes_read, content.len() as u64);
    }

    #[test]
    fn csv_bad_rows_are_errors_and_later_rows_parse() {
        let content = format!(
            "{CSV_HEADER}\
             too,few\n\
             hi,yesterday,m1,,,u,line\n\
             hi,1763604900000,m2,,,u,fax\n\
             hi,1763604900000,m3,,,,line\n"
        );
        let mut bytes = content.into_bytes();
        bytes.extend_from_slice(
            b"\"hi\xff\",1763604900000,m4,,,u,line\nhi,1763604900000,m5,,,u,line\n",
        );
        let (_, records) = read_all("in.csv", &bytes, Format::Csv);
        let lines: Vec<usize> = records.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6, 7]);
        assert_eq!(err(&records[0]), "has 2 fields but the header has 7");
        assert!(err(&records[1]).starts_with("field \"at\": \"yesterday\" is not an RFC 3339"));
        assert!(err(&records[2]).starts_with("field \"channel\": unknown channel \"fax\""));
        assert_eq!(err(&records[3]), "field \"from\" is empty");
        assert_eq!(err(&records[4]), "field \"text\": not valid UTF-8");
        assert_eq!(records[4].raw, b"\"hi\xff\",1763604900000,m4,,,u,line\n");
        assert_eq!(message(&records[5]).message_id, "m5");
    }

    #[test]
    fn csv_header_without_required_columns_fails_to_open() {
        let (_dir, path) = write_file("in.csv", b"channel,from,text\nline,u,hi\n");
        let e = open(&path, Format::Auto).err().unwrap();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        let msg = e.to_string();
        assert!(msg.contains("lacks column \"id\", \"at\""), "{msg}");
        let (_dir, path) = write_file("in.csv", b"channel,from,id,at,text,From\n");
        let msg = open(&path, Format::Auto).err().unwrap().to_string();
        assert!(msg.contains("column \"from\" twice"), "{msg}");
    }

    #[test]
    fn empty_files_yield_nothing() {
        for name in ["a.csv", "a.jsonl", "a.txt"] {
            let (_, records) = read_all(name, b"", Format::Auto);
            assert!(records.is_empty());
        }
    }

    #[test]
    fn auto_detection_by_extension_then_content() {
        let csv = format!("{CSV_HEADER}hi,1763604900000,m5,,,u,line\n");
        let jsonl = format!("\n  {LINE_RAW}\n");
        assert_eq!(
            read_all("a.TXT", csv.as_bytes(), Format::Auto).0,
            Format::Csv
        );
        assert_eq!(
            read_all("a", jsonl.as_bytes(), Format::Auto).0,
            Format::Jsonl
        );
        assert_eq!(
            read_all("a.json", jsonl.as_bytes(), Format::Auto).0,
            Format::Jsonl
        );
        // An explicit format wins over the extension.
        assert_eq!(
            read_all("a.jsonl", csv.as_bytes(), Format::Csv).0,
            Format::Csv
        );
        let (_dir, path) = write_file("a.csv", jsonl.as_bytes());
        let msg = open(&path, Format::Auto).err().unwrap().to_string();
        assert_eq!(
            msg,
            "line 2: expected a CSV header, found JSON (read the file as JSON Lines)"
        );
    }

    #[test]
    fn reader_can_move_to_an_import_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<Reader>();
    }

    #[test]
    fn format_names_parse() {
        for f in Format::ALL {
            assert_eq!(f.to_string().parse::<Format>().unwrap(), f);
        }
        assert_eq!(" CSV ".parse::<Format>().unwrap(), Format::Csv);
        let e = "xml".parse::<Format>().unwrap_err().to_string();
        assert_eq!(
            e,
            "unknown format \"xml\" (expected one of: auto, jsonl, csv, line, messenger, instagram, \
             whatsapp, facebook, shopee, reviews)"
        );
    }

    // ----- webhook payloads --------------------------------------------------------------------

    const LINE_PAYLOAD: &str = r#"{"destination":"U1","events":[{"type":"message","timestamp":1462629479859,"source":{"type":"user","userId":"Ua"},"message":{"id":"L1","type":"text","text":"braces } { and \"quotes\" in text"}}]}"#;
    const SHOPEE_PAYLOAD: &str = r#"{"shop_id":947042923,"code":10,"timestamp":1726044722,"data":{"type":"message","content":{"message_id":"2302748948493123953","from_id":165105353,"to_id":1,"message_type":"text","content":{"text":"hi"},"created_timestamp":1726044721}}}"#;

    fn payload(r: &Record) -> &Parsed {
        match &r.parsed {
            Ok(Content::Payload(p)) => p,
            other => panic!("expected a payload, found {other:?}"),
        }
    }

    /// Hands out one byte per read, so every payload boundary falls on a buffer boundary.
    struct Trickle(io::Cursor<Vec<u8>>);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(1);
            self.0.read(&mut buf[..n])
        }
    }

    fn read_payloads(content: &str, format: Format) -> (Format, Vec<Record>) {
        let reader = Reader::new(
            Trickle(io::Cursor::new(content.as_bytes().to_vec())),
            format,
            0,
        )
        .unwrap();
        let format = reader.format();
        (format, reader.map(|r| r.unwrap()).collect())
    }

    #[test]
    fn pretty_printed_payloads_are_read_whole_with_their_first_line() {
        let pretty =
            serde_json::to_string_pretty(&serde_json::from_str::<Value>(LINE_PAYLOAD).unwrap())
                .unwrap();
        let content = format!("\n{pretty}\n\n{LINE_PAYLOAD}\n{pretty}");
        for format in [Format::Auto, Format::Webhook(WebhookFormat::Line)] {
            let (found, records) = read_payloads(&content, format);
            assert_eq!(found, Format::Webhook(WebhookFormat::Line));
            let lines: Vec<usize> = records.iter().map(|r| r.line).collect();
            let pretty_lines = pretty.lines().count();
            assert_eq!(lines, [2, pretty_lines + 3, pretty_lines + 4]);
            for r in &records {
                let m = &payload(r).messages[0];
                assert_eq!(m.text, "braces } { and \"quotes\" in text");
            }
            assert_eq!(records[0].raw, pretty.as_bytes());
            assert_eq!(records[1].raw, LINE_PAYLOAD.as_bytes());
            assert_eq!(records[2].bytes_read, content.len() as u64);
        }
    }

    #[test]
    fn auto_recognises_each_payload_on_its_own() {
        let content = format!("{SHOPEE_PAYLOAD}\n{LINE_PAYLOAD}\n");
        let (format, records) = read_payloads(&content, Format::Auto);
        assert_eq!(format, Format::Webhook(WebhookFormat::Shopee));
        assert_eq!(
            payload(&records[0]).messages[0].channel,
            ChannelKind::Shopee
        );
        assert_eq!(payload(&records[1]).messages[0].channel, ChannelKind::Line);
    }

    #[test]
    fn json_lines_are_not_mistaken_for_payloads() {
        let content = format!("\n{LINE_RAW}\n{LINE_RAW}\n");
        let (format, records) = read_payloads(&content, Format::Auto);
        assert_eq!(format, Format::Jsonl);
        assert_eq!(records.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3]);
        assert_eq!(message(&records[0]), &thai_message());
        assert_eq!(records[1].bytes_read, content.len() as u64);
        // A broken first line is not a payload either: the lines are still read one by one.
        let content = format!("{{\"channel\":\n{LINE_RAW}\n");
        let (format, records) = read_payloads(&content, Format::Auto);
        assert_eq!(format, Format::Jsonl);
        assert!(err(&records[0]).starts_with("not valid JSON"));
        assert_eq!(message(&records[1]), &thai_message());
    }

    #[test]
    fn bad_payloads_say_where_and_reading_goes_on() {
        let missing_id = LINE_PAYLOAD.replace(r#""id":"L1","#, "");
        let content = format!(
            "{LINE_PAYLOAD}\n{missing_id}\n{{\"destination\":\"U1\",\n \"events\": [,]}}\nhello\n[1]\n{SHOPEE_PAYLOAD}\n{LINE_PAYLOAD}\n"
        );
        let (_, records) = read_payloads(&content, Format::Webhook(WebhookFormat::Line));
        let got: Vec<(usize, &str)> = records
            .iter()
            .map(|r| (r.line, r.parsed.as_ref().err().map_or("ok", String::as_str)))
            .collect();
        assert_eq!(
            got,
            [
                (1, "ok"),
                (2, "events[0].message.id: missing"),
                (3, "not valid JSON at line 4, column 13: expected value"),
                (5, "not valid JSON at line 5, column 1: expected value"),
                (
                    6,
                    "expected a JSON object (one webhook payload), found an array"
                ),
                (
                    7,
                    "this is a Shopee payload, not LINE (import it with --format shopee or auto)"
                ),
                (8, "ok"),
            ]
        );
        assert_eq!(records[3].raw, b"hello\n");
    }

    #[test]
    fn a_payload_cut_short_is_one_error() {
        let content = &LINE_PAYLOAD[..LINE_PAYLOAD.len() - 3];
        let (_, records) = read_payloads(content, Format::Webhook(WebhookFormat::Line));
        assert_eq!(records.len(), 1);
        assert!(
            err(&records[0]).contains("EOF while parsing"),
            "{}",
            err(&records[0])
        );
    }

    /// Record ends must be right wherever the parser's buffer happens to end, CRLF included.
    #[test]
    fn csv_records_tile_the_file_at_any_buffer_size() {
        let mut content = String::from("\u{feff}\r\n  \n");
        content.push_str("channel,from,id,at,text\r\n");
        let mut expected = Vec::new();
        for i in 0..40 {
            let text = match i % 4 {
                0 => format!("plain {i}"),
                1 => format!("\"multi\r\nline\n{i}\""),
                2 => format!("\"quote \"\" {i}\""),
                _ => format!("\"a,b {i}\""),
            };
            let eol = if i % 3 == 0 { "\n" } else { "\r\n" };
            let row = format!("line,u{i},m{i},1763604900000,{text}{eol}");
            let line = 1 + count_newlines(content.as_bytes());
            expected.push((line, row.clone()));
            content.push_str(&row);
            if i % 5 == 0 {
                content.push_str("\r\n\n");
            }
        }
        for buffer in (1..=24).chain([4096]) {
            let reader = Reader::with_csv_buffer(
                Box::new(io::Cursor::new(content.clone().into_bytes())),
                Format::Auto,
                0,
                buffer,
            )
            .unwrap();
            assert_eq!(reader.format(), Format::Csv);
            assert_eq!(reader.header(), Some(&b"channel,from,id,at,text\r\n"[..]));
            let records: Vec<Record> = reader.map(|r| r.unwrap()).collect();
            assert_eq!(records.len(), expected.len(), "buffer {buffer}");
            for (i, (r, (line, row))) in records.iter().zip(&expected).enumerate() {
                assert_eq!(
                    (r.line, String::from_utf8_lossy(&r.raw)),
                    (*line, row.as_str().into()),
                    "buffer {buffer}, row {i}"
                );
                assert_eq!(message(r).message_id, format!("m{i}"));
            }
        }
    }
}
