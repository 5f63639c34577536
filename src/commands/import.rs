//! `tix import`: validate, then stream files through the arrival path in time-bounded batches.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};

use super::Setup;
use crate::cli::ImportArgs;
use crate::desk::comments::Stored;
use crate::desk::{Desk, IngestReport};
use crate::domain::{Inbound, text};
use crate::sources::import::{self, Content, Record};
use crate::sources::reviews::Review;
use crate::sources::webhooks::Comment;
use crate::sources::webhooks::accounts::AccountIds;

/// How many problems are printed before the rest are only counted.
const SHOWN_PROBLEMS: usize = 20;

/// Sizes arrival batches so each write transaction lasts about a quarter of a second: large
/// enough to pay per-batch costs once, short enough that an agent acting meanwhile never waits
/// noticeably.
pub struct BatchSizer {
    size: usize,
    target: Duration,
}

impl BatchSizer {
    pub const MIN: usize = 200;
    pub const MAX: usize = 50_000;

    pub fn new(target: Duration) -> BatchSizer {
        BatchSizer {
            size: 2_000,
            target,
        }
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Adjusts the next batch's size from how long the last one took.
    pub fn record(&mut self, messages: usize, took: Duration) {
        if messages < self.size || took.is_zero() {
            return;
        }
        let per_message = took.as_secs_f64() / messages as f64;
        let ideal = (self.target.as_secs_f64() / per_message) as usize;
        // Move gradually so one slow batch (a checkpoint, another writer) does not swing it.
        self.size = ((self.size + ideal) / 2).clamp(Self::MIN, Self::MAX);
    }
}

/// Feeds messages to the desk in time-bounded batches.
pub struct Batcher<'d> {
    desk: &'d mut Desk,
    sizer: BatchSizer,
    pending: Vec<Inbound>,
    pub report: IngestReport,
}

impl<'d> Batcher<'d> {
    pub fn new(desk: &'d mut Desk) -> Batcher<'d> {
        Batcher {
            desk,
            sizer: BatchSizer::new(Duration::from_millis(250)),
            pending: Vec::new(),
            report: IngestReport::default(),
        }
    }

    pub fn push(&mut self, m: Inbound) -> Result<()> {
        self.pending.push(m);
        if self.pending.len() >= self.sizer.size() {
            self.flush()?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let r = self.desk.ingest(&self.pending)?;
        self.sizer.record(self.pending.len(), started.elapsed());
        self.report.add(&r);
        self.pending.clear();
        Ok(())
    }

    pub fn desk(&mut self) -> &mut Desk {
        self.desk
    }
}

pub fn run(setup: &Setup, args: &ImportArgs) -> Result<()> {
    for f in &args.files {
        if !f.is_file() {
            bail!("{}: no such file", f.display());
        }
    }
    if !args.skip_invalid {
        validate(args)?;
    }
    let mut desk = setup.open_desk()?;
    let started = Instant::now();
    let mut rejects = Rejects::new(args);
    let mut batcher = Batcher::new(&mut desk);
    let total: u64 = args
        .files
        .iter()
        .filter_map(|f| f.metadata().ok())
        .map(|m| m.len())
        .sum();
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template(
            "{spinner} importing {wide_bar} {bytes}/{total_bytes} ({eta} left)",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut done_bytes = 0;
    let mut not_messages = NotMessages::default();
    let mut areas = Areas::default();
    let account_ids = AccountIds::from_config(&setup.config);
    for file in &args.files {
        let mut reader = open(file, args)?;
        let mut last = 0;
        while let Some(record) = reader.next() {
            let record = record.with_context(|| format!("{}: read failed", file.display()))?;
            bar.set_position(done_bytes + record.bytes_read);
            last = record.bytes_read;
            match record.parsed {
                Ok(Content::Message(m)) => batcher.push(m)?,
                Ok(Content::Payload(mut p)) => {
                    account_ids.name_accounts(&mut p);
                    for m in p.messages {
                        batcher.push(m)?;
                    }
                    for (kind, n) in p.skipped {
                        *not_messages.skipped.entry(kind).or_default() += n;
                    }
                    areas.comments.extend(p.comments);
                    areas.flush_if_full(batcher.desk())?;
                }
                Ok(Content::Review(r)) => {
                    areas.reviews.push(r);
                    areas.flush_if_full(batcher.desk())?;
                }
                Err(ref why) => rejects.add(file, &record, why, reader.header())?,
            }
        }
        done_bytes += last;
    }
    batcher.flush()?;
    areas.flush(batcher.desk())?;
    bar.finish_and_clear();
    let r = batcher.report;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "read {}, new {}, duplicates {}, rejected {}, tickets created {}, reopened {}, \
         {:.2} s, {:.0} messages/s",
        r.read + rejects.count,
        r.new,
        r.duplicates,
        rejects.count,
        r.tickets_created,
        r.tickets_reopened,
        secs,
        r.read as f64 / secs.max(1e-9)
    );
    not_messages.print();
    areas.print();
    rejects.finish()
}

/// What webhook payloads held besides messages, for the summary.
#[derive(Default)]
struct NotMessages {
    /// Events that are not messages (read receipts, follows, statuses, …), by kind.
    skipped: BTreeMap<String, usize>,
}

/// Comments and reviews on their way to their own areas, stored a batch at a time.
#[derive(Default)]
struct Areas {
    comments: Vec<Comment>,
    reviews: Vec<Review>,
    comments_read: usize,
    reviews_read: usize,
    comments_stored: Stored,
    reviews_stored: Stored,
}

impl Areas {
    /// Pending comments or reviews held before they are written in one transaction.
    const BATCH: usize = 2_000;

    fn flush_if_full(&mut self, desk: &mut Desk) -> Result<()> {
        if self.comments.len() + self.reviews.len() >= Self::BATCH {
            self.flush(desk)?;
        }
        Ok(())
    }

    fn flush(&mut self, desk: &mut Desk) -> Result<()> {
        if !self.comments.is_empty() {
            self.comments_read += self.comments.len();
            self.comments_stored
                .add(desk.store_comments(&self.comments)?);
            self.comments.clear();
        }
        if !self.reviews.is_empty() {
            self.reviews_read += self.reviews.len();
            self.reviews_stored.add(desk.store_reviews(&self.reviews)?);
            self.reviews.clear();
        }
        Ok(())
    }

    fn print(&self) {
        for (what, read, stored) in [
            ("comments", self.comments_read, self.comments_stored),
            ("reviews", self.reviews_read, self.reviews_stored),
        ] {
            if read > 0 {
                println!(
                    "{what}: read {read}, new {}, duplicates {}",
                    stored.new, stored.duplicates
                );
            }
        }
    }
}

impl NotMessages {
    fn print(&self) {
        if !self.skipped.is_empty() {
            let kinds: Vec<String> = self
                .skipped
                .iter()
                .map(|(kind, n)| format!("{n} {}", text::sanitize(kind, true)))
                .collect();
            println!("skipped: {}", kinds.join(", "));
        }
    }
}

fn open(file: &Path, args: &ImportArgs) -> Result<import::Reader> {
    import::open(file, args.format).with_context(|| format!("cannot read {}", file.display()))
}

/// Reads every file once and reports every bad record; nothing is written if there is one.
fn validate(args: &ImportArgs) -> Result<()> {
    let mut problems = Vec::new();
    let mut count = 0usize;
    for file in &args.files {
        for record in open(file, args)? {
            let record = record.with_context(|| format!("{}: read failed", file.display()))?;
            if let Err(why) = record.parsed {
                count += 1;
                if problems.len() < SHOWN_PROBLEMS {
                    problems.push(format!(
                        "{}:{}: {}",
                        file.display(),
                        record.line,
                        text::sanitize(&why, true)
                    ));
                }
            }
        }
    }
    if count == 0 {
        return Ok(());
    }
    for p in &problems {
        eprintln!("{p}");
    }
    if count > problems.len() {
        eprintln!("… and {} more", count - problems.len());
    }
    bail!(
        "{count} invalid record{} found; nothing was imported. Fix them, or pass --skip-invalid \
         to import the rest and collect the invalid ones in a rejects file",
        if count == 1 { "" } else { "s" }
    )
}

/// The rejects file: invalid records copied unchanged, so they can be fixed and imported again.
struct Rejects {
    path: PathBuf,
    out: Option<BufWriter<File>>,
    count: usize,
    header_written_for: Option<PathBuf>,
}

impl Rejects {
    fn new(args: &ImportArgs) -> Rejects {
        let path = args.rejects.clone().unwrap_or_else(|| {
            let first = &args.files[0];
            let mut name = first.file_name().unwrap_or_default().to_os_string();
            name.push(".rejects");
            first.with_file_name(name)
        });
        Rejects {
            path,
            out: None,
            count: 0,
            header_written_for: None,
        }
    }

    /// Copies a bad record; a CSV file's header goes first, so the rejects can be imported again.
    fn add(
        &mut self,
        file: &Path,
        record: &Record,
        why: &str,
        header: Option<&[u8]>,
    ) -> Result<()> {
        self.count += 1;
        if self.count <= SHOWN_PROBLEMS {
            eprintln!(
                "{}:{}: {}",
                file.display(),
                record.line,
                text::sanitize(why, true)
            );
        }
        if self.out.is_none() {
            let f = File::create(&self.path)
                .with_context(|| format!("cannot write {}", self.path.display()))?;
            self.out = Some(BufWriter::new(f));
        }
        let out = self.out.as_mut().context("rejects file")?;
        if let Some(h) = header
            && self.header_written_for.as_deref() != Some(file)
        {
            out.write_all(h)?;
            self.header_written_for = Some(file.to_path_buf());
        }
        out.write_all(&record.raw)?;
        if !record.raw.ends_with(b"\n") {
            out.write_all(b"\n")?;
        }
        Ok(())
    }

    fn finish(self) -> Result<()> {
        if let Some(mut out) = self.out {
            out.flush()?;
            eprintln!(
                "{} rejected record{} written to {}",
                self.count,
                if self.count == 1 { "" } else { "s" },
                self.path.display()
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_size_moves_toward_a_quarter_second() {
        let mut s = BatchSizer::new(Duration::from_millis(250));
        for _ in 0..20 {
            let n = s.size();
            // 10 µs per message: the ideal is 25,000.
            s.record(n, Duration::from_micros(10 * n as u64));
        }
        assert!((20_000..=25_000).contains(&s.size()), "{}", s.size());
        for _ in 0..20 {
            let n = s.size();
            s.record(n, Duration::from_millis(10 * n as u64));
        }
        assert_eq!(s.size(), BatchSizer::MIN);
    }
}
