//! The parallel driver: inputs to chunks to evaluation to sinks.
//!
//! This module owns the run. Chunks are read in order, evaluated in
//! parallel on `rayon`'s pool (one [`Matcher`] scratch per worker; each chunk
//! a task, with the next batches read meanwhile, see [`run_feed`]), and
//! their results are handed back in input order to [`Sink`]s, so ordered
//! outputs (tagged timelines, match lists) need no global buffering: memory is
//! bounded by `batches read ahead x batch size x chunk size`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::compile::Ruleset;
use crate::eval::Matcher;
use crate::input::{Chunk, Feed, Next, lines};
use crate::event::time::EventTime;

/// A matched line within a chunk: the match record sinks receive.
#[derive(Debug, Clone, Default)]
pub struct LineMatch {
    /// 1-based line number in its input.
    pub line: u64,
    /// Byte range of the line within the chunk (without newline).
    pub range: std::ops::Range<usize>,
    /// Indexes of the matching rules, ascending.
    pub rules: Vec<u32>,
    /// The event's time (where the event formats keep it, or the
    /// correlation time field), `None` when it has none
    /// that reads as a time.
    pub time: Option<EventTime>,
    /// The Windows record behind a Plaso event, shared by Plaso's copies of
    /// one record.
    pub record: Option<u64>,
    /// First value of each field the ruleset carries
    /// (e.g. correlations' group-by fields), in that order.
    pub carried: Vec<Option<String>>,
}

/// A line that is not a valid event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// The input, as named.
    pub input: String,
    /// 1-based line number.
    pub line: u64,
    /// Why it is not an event.
    pub reason: String,
}

/// Receives evaluated chunks in input order.
pub trait Sink {
    /// `data` is the chunk's bytes, `matches` its matched lines in order.
    fn chunk(
        &mut self,
        input: &str,
        data: &[u8],
        first_line: u64,
        matches: &[LineMatch],
    ) -> std::io::Result<()>;
    /// Called once after the last chunk.
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `--from` / `--to`: only events whose time is in the window count
/// (both ends inclusive); events without a time are left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeWindow {
    pub from: Option<EventTime>,
    pub to: Option<EventTime>,
}

impl TimeWindow {
    /// Reads `--from` and `--to` (any ISO 8601 form). A date alone for `to`
    /// means the end of that day (`--to 2019-04-27` keeps the whole day).
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<TimeWindow, crate::event::time::TimeParseError> {
        let from = from.map(EventTime::parse).transpose()?;
        let to = match to {
            Some(t) => {
                let at = EventTime::parse(t)?;
                let date_only = t.trim().len() == 10 && !t.contains(['T', ' ', ':']);
                Some(if date_only {
                    EventTime::from_micros(at.micros() + 86_400_000_000 - 1)
                } else {
                    at
                })
            }
            None => None,
        };
        Ok(TimeWindow { from, to })
    }

    /// Where `t` falls: `Ok` inside, else why not.
    pub fn place(&self, t: Option<EventTime>) -> Result<(), Outside> {
        let t = t.ok_or(Outside::NoTime)?;
        if self.from.is_some_and(|f| t < f) {
            return Err(Outside::Before);
        }
        if self.to.is_some_and(|x| t > x) {
            return Err(Outside::After);
        }
        Ok(())
    }
}

/// Why an event is outside a [`TimeWindow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outside {
    Before,
    After,
    NoTime,
}

/// Events a time window left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct WindowStats {
    /// Events before the window's start.
    pub before: u64,
    /// Events after the window's end.
    pub after: u64,
    /// Events without a time (left out when a window is set).
    pub without_time: u64,
}

/// Options of a run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Resolve Plaso `xml_string` fields (default on).
    pub no_evtx_xml: bool,
    /// Do not let Plaso's `hostname` and `computer_name` stand in for each
    /// other (default: they do).
    pub no_host_alias: bool,
    /// Collect per-rule evaluation counts and time.
    pub profile: bool,
    /// How many malformed lines to keep in full (the rest are counted).
    pub keep_malformed: usize,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// `--from` / `--to`.
    pub window: Option<TimeWindow>,
}

/// Totals of a run.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    /// Events read (JSON lines, CSV rows, EVTX records).
    pub events: u64,
    /// Blank lines (not events).
    pub blank_lines: u64,
    /// Lines that are not events.
    pub malformed: u64,
    /// The first malformed lines in full (as many as asked to keep).
    pub malformed_lines: Vec<Malformed>,
    /// Bytes of event data read.
    pub bytes: u64,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
    /// Per rule: events tagged.
    pub counts: Vec<u64>,
    /// Per rule: distinct records tagged (Plaso writes each Windows record
    /// twice, once per copy).
    pub records: Vec<u64>,
    /// Per rule: events the rule was evaluated on (profile only).
    pub evaluated: Vec<u64>,
    /// Per rule: evaluation time in nanoseconds (profile only).
    pub nanos: Vec<u64>,
    /// Per field of the ruleset: events in which it occurred.
    pub field_seen: Vec<u64>,
    /// Inputs that could not be read (completely).
    pub input_errors: Vec<String>,
    /// Problems met while reading that did not stop an input (a corrupt
    /// EVTX chunk skipped, extra CSV columns, an input whose lines are all
    /// malformed).
    pub input_warnings: Vec<String>,
    /// Per input, in order.
    pub inputs: Vec<InputStats>,
    /// Value scans answered by the scan memo, out of all value scans.
    pub memo_hits: u64,
    /// Value scans, of which `memo_hits` the memo answered.
    pub memo_lookups: u64,
    /// Events a time window left out (with `--from`/`--to`).
    pub window: Option<WindowStats>,
    /// Events per logsource (scoped runs only).
    pub scope: Option<crate::mapping::scope::ScopeStats>,
}

/// What one input gave.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct InputStats {
    /// The input as named.
    pub name: String,
    /// What it was read as (`jsonl`, `jsonl+gzip`, `csv`, `evtx`, ...).
    pub format: String,
    /// Events read (JSON lines, CSV rows, EVTX records).
    pub events: u64,
    /// Malformed lines.
    pub malformed: u64,
    /// Blank lines.
    pub blank: u64,
    /// The first malformed line: (line number, reason).
    #[serde(skip)]
    pub first_malformed: Option<(u64, String)>,
    /// Events at least one rule matched.
    pub matched_events: u64,
    /// (event, rule) matches.
    pub tags: u64,
    /// Bytes of event data read (after decompression / conversion to JSON lines).
    pub bytes: u64,
    /// Non-fatal problems.
    pub warnings: Vec<String>,
    /// The error that stopped it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RunStats {
    /// (event, rule) matches over all rules.
    pub fn total_tags(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Events per second of wall-clock time.
    pub fn events_per_second(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 { self.events as f64 / s } else { 0.0 }
    }
}

struct ChunkResult {
    lines: u64,
    events: u64,
    matched_events: u64,
    blank: u64,
    malformed: Vec<(u64, String)>,
    counts: Vec<(u32, u64)>,
    /// (rule, record key) of tagged events that have a record key.
    keyed: Vec<(u32, u64)>,
    matches: Vec<LineMatch>,
    evaluated: Vec<u64>,
    nanos: Vec<u64>,
    field_seen: Vec<u64>,
    window: WindowStats,
}

fn process(
    m: &mut Matcher<'_>,
    chunk: &Chunk,
    want_matches: bool,
    profile: bool,
    window: Option<&TimeWindow>,
) -> ChunkResult {
    let nrules = m.ruleset.rules.len();
    let mut counts = vec![0u64; nrules];
    let mut r = ChunkResult {
        lines: 0,
        events: 0,
        matched_events: 0,
        blank: 0,
        malformed: Vec::new(),
        counts: Vec::new(),
        keyed: Vec::new(),
        matches: Vec::new(),
        evaluated: Vec::new(),
        nanos: Vec::new(),
        field_seen: vec![0; m.ruleset.fields.len()],
        window: WindowStats::default(),
    };
    for (i, line, range) in lines(chunk.bytes.as_slice()) {
        r.lines = i + 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            r.blank += 1;
            continue;
        }
        match m.match_line(line).map(|_| ()) {
            Ok(()) => {
                r.events += 1;
                if let Some(w) = window
                    && let Err(why) = w.place(m.ruleset.event_time(&m.view))
                {
                    match why {
                        Outside::Before => r.window.before += 1,
                        Outside::After => r.window.after += 1,
                        Outside::NoTime => r.window.without_time += 1,
                    }
                    continue;
                }
                let matched = m.matched();
                r.matched_events += u64::from(!matched.is_empty());
                for &x in matched {
                    counts[x as usize] += 1;
                }
                if let (false, Some(k)) = (matched.is_empty(), m.view.record_key()) {
                    r.keyed.extend(matched.iter().map(|&x| (x, k)));
                }
                if want_matches && !matched.is_empty() {
                    let rs = m.ruleset;
                    r.matches.push(LineMatch {
                        line: i,
                        range,
                        rules: matched.to_vec(),
                        time: rs.event_time(&m.view),
                        record: m.view.record_key(),
                        carried: rs.carried_values(&m.view),
                    });
                }
                for &f in m.view.present() {
                    r.field_seen[f as usize] += 1;
                }
            }
            Err(e) => r.malformed.push((i, e.to_string())),
        }
    }
    r.counts = counts
        .into_iter()
        .enumerate()
        .filter(|(_, c)| *c > 0)
        .map(|(i, c)| (i as u32, c))
        .collect();
    if profile {
        r.evaluated = std::mem::replace(&mut m.evaluated, vec![0; nrules]);
        if let Some(p) = m.profile_nanos.as_mut() {
            r.nanos = std::mem::replace(p, vec![0; nrules]);
        }
    }
    r
}

fn new_matcher<'r>(ruleset: &'r Ruleset, opts: &RunOptions) -> Matcher<'r> {
    let mut m = Matcher::new(ruleset);
    m.view.options.evtx_xml = !opts.no_evtx_xml;
    m.view.options.host_name_alias = !opts.no_host_alias;
    if opts.profile {
        m.enable_profile();
    }
    m
}

/// A matcher borrowed from the run's pool, given back when dropped.
struct Pooled<'p, 'r> {
    m: Option<Matcher<'r>>,
    pool: &'p Mutex<Vec<Matcher<'r>>>,
}

impl<'p, 'r> Pooled<'p, 'r> {
    fn take(pool: &'p Mutex<Vec<Matcher<'r>>>, new: impl FnOnce() -> Matcher<'r>) -> Self {
        let m = pool.lock().ok().and_then(|mut p| p.pop());
        Pooled {
            m: Some(m.unwrap_or_else(new)),
            pool,
        }
    }

    fn get(&mut self) -> &mut Matcher<'r> {
        self.m
            .as_mut()
            .expect("a pooled matcher is present until dropped")
    }
}

impl Drop for Pooled<'_, '_> {
    fn drop(&mut self) {
        if let (Some(m), Ok(mut p)) = (self.m.take(), self.pool.lock()) {
            p.push(m);
        }
    }
}

/// Runs the ruleset over the inputs (paths or `-`; folders expanded
/// beforehand with [`crate::input::walk::expand`]), feeding ordered results
/// to `sinks`.
pub fn run(
    ruleset: &Ruleset,
    inputs: &[String],
    opts: &RunOptions,
    sinks: &mut [&mut dyn Sink],
) -> std::io::Result<RunStats> {
    let mut stats = run_feed(ruleset, Feed::new(inputs, batch_size()), opts, sinks)?;
    for (i, s) in stats.inputs.iter_mut().enumerate() {
        if s.name.is_empty()
            && let Some(n) = inputs.get(i)
        {
            s.name.clone_from(n);
        }
    }
    Ok(stats)
}

/// Chunks per parallel batch.
pub fn batch_size() -> usize {
    rayon::current_num_threads().max(1) * 4
}

/// Runs the ruleset over a [`Feed`] of inputs (files or readers).
///
/// With two or more pool threads, called from outside the pool, chunks
/// stream: each is evaluated as a pool task while the main thread reads
/// ahead (up to [`AHEAD`] batches) and merges results in input order, so no
/// thread waits for the slowest chunk of a batch before the next batch
/// starts. Otherwise (one thread, or a caller that is itself a pool worker
/// and must not block on it) each batch is evaluated with a parallel
/// iterator and merged before the next is read. Both merge through
/// [`Merge`], in the same order, so their results are identical.
pub fn run_feed(
    ruleset: &Ruleset,
    mut feed: Feed,
    opts: &RunOptions,
    sinks: &mut [&mut dyn Sink],
) -> std::io::Result<RunStats> {
    let nrules = ruleset.rules.len();
    let mut merge = Merge {
        start: Instant::now(),
        stats: RunStats {
            counts: vec![0; nrules],
            evaluated: vec![0; nrules],
            nanos: vec![0; nrules],
            field_seen: vec![0; ruleset.fields.len()],
            ..Default::default()
        },
        keyed_events: vec![0u64; nrules],
        distinct: Default::default(),
        bar: opts.progress.then(|| progress_bar(feed.total_size)),
        done_bytes: 0,
        line_base: 1,
        keep_malformed: opts.keep_malformed,
        window: opts.window.is_some(),
    };
    let want_matches = !sinks.is_empty();
    // Matchers outlive a batch: their scan memo is the point of keeping
    // them.
    let pool: Mutex<Vec<Matcher<'_>>> = Mutex::new(Vec::new());
    let eval = |m: &mut Matcher<'_>, c: &Chunk| {
        process(m, c, want_matches, opts.profile, opts.window.as_ref())
    };
    if rayon::current_num_threads() >= 2 && rayon::current_thread_index().is_none() {
        // A matcher per chunk from the pool: as many exist as tasks run.
        let run_chunk =
            |c: &Chunk| eval(Pooled::take(&pool, || new_matcher(ruleset, opts)).get(), c);
        stream(&mut feed, &run_chunk, &mut merge, sinks)?;
    } else {
        loop {
            let meta = match Fetched::next(&mut feed) {
                None => break,
                Some(Fetched::OpenError(i, msg)) => {
                    merge.open_error(i, msg);
                    continue;
                }
                Some(Fetched::Batch(b)) => b,
            };
            // `map_init` calls its init once per split.
            let results: Vec<ChunkResult> = meta
                .chunks
                .par_iter()
                .map_init(
                    || Pooled::take(&pool, || new_matcher(ruleset, opts)),
                    |m, c| eval(m.get(), c),
                )
                .collect();
            merge.batch(meta, results, sinks)?;
        }
    }
    let Merge {
        start,
        mut stats,
        keyed_events,
        distinct,
        bar,
        ..
    } = merge;
    for s in sinks.iter_mut() {
        s.finish()?;
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    stats.records = (0..nrules)
        .map(|r| {
            stats.counts[r] - keyed_events[r]
                + distinct.get(&(r as u32)).map_or(0, |s| s.len() as u64)
        })
        .collect();
    if ruleset.scope.is_some() {
        stats.scope = Some(Default::default());
    }
    for m in pool.into_inner().unwrap_or_default() {
        if let (Some(cs), Some(ss)) = (&ruleset.scope, stats.scope.as_mut()) {
            cs.collect(&m.scope, ss);
        }
        stats.memo_hits += m.scanner.memo.hit_count;
        stats.memo_lookups += m.scanner.memo.hit_count + m.scanner.memo.miss_count;
    }
    stats.elapsed = start.elapsed();
    Ok(stats)
}

/// Batches read ahead of the one being merged in the streaming driver of
/// [`run_feed`]: with two, the next batch's chunks queue behind the current
/// one's, so the pool never drains at a batch boundary.
const AHEAD: usize = 2;

/// What the feed handed out, owned, so the next batch can be read while
/// this one's chunks are still being evaluated.
enum Fetched {
    /// An input that could not be opened: its position and the error.
    OpenError(usize, String),
    Batch(BatchMeta),
}

/// A batch's chunks and what the merge needs of its input.
struct BatchMeta {
    index: usize,
    name: String,
    format: String,
    chunks: Vec<Chunk>,
    warnings: Vec<crate::input::Warning>,
    error: Option<String>,
    last: bool,
    /// The input's size and bytes consumed when the batch was read (for
    /// the progress bar).
    size: Option<u64>,
    consumed: u64,
}

impl Fetched {
    /// The feed's next batch, `None` at the end.
    fn next(feed: &mut Feed) -> Option<Fetched> {
        Some(match feed.next_batch() {
            Next::Done => return None,
            Next::OpenError(i, e) => Fetched::OpenError(i, e.to_string()),
            Next::Batch(b) => Fetched::Batch(BatchMeta {
                index: b.index,
                name: b.input.name.clone(),
                format: b.input.format.clone(),
                chunks: b.chunks,
                warnings: b.warnings,
                error: b.error.map(|e| e.to_string()),
                last: b.last,
                size: b.input.size,
                consumed: b.input.consumed(),
            }),
        })
    }
}

/// The run's totals, merged from chunk results in input order.
struct Merge {
    start: Instant,
    stats: RunStats,
    keyed_events: Vec<u64>,
    distinct: std::collections::HashMap<u32, std::collections::HashSet<u64>>,
    bar: Option<indicatif::ProgressBar>,
    /// Bytes consumed by finished inputs.
    done_bytes: u64,
    /// The current input's next line number.
    line_base: u64,
    keep_malformed: usize,
    window: bool,
}

impl Merge {
    fn open_error(&mut self, i: usize, msg: String) {
        self.stats.input_errors.push(msg.clone());
        input_stats(&mut self.stats.inputs, i).error = Some(msg);
    }

    /// Merges one batch's results (one per chunk, in order) and hands its
    /// chunks to the sinks.
    fn batch(
        &mut self,
        meta: BatchMeta,
        results: Vec<ChunkResult>,
        sinks: &mut [&mut dyn Sink],
    ) -> std::io::Result<()> {
        let stats = &mut self.stats;
        let name = meta.name.as_str();
        {
            let s = input_stats(&mut stats.inputs, meta.index);
            if s.name.is_empty() {
                s.name.clone_from(&meta.name);
                s.format.clone_from(&meta.format);
            }
        }
        for (chunk, mut res) in meta.chunks.iter().zip(results) {
            let line_base = self.line_base;
            let data = chunk.bytes.as_slice();
            let is = &mut stats.inputs[meta.index];
            is.bytes += data.len() as u64;
            is.events += res.events;
            is.matched_events += res.matched_events;
            is.blank += res.blank;
            is.malformed += res.malformed.len() as u64;
            if is.first_malformed.is_none()
                && let Some((l, r)) = res.malformed.first()
            {
                is.first_malformed = Some((chunk.line_number(line_base, *l), r.clone()));
            }
            stats.bytes += data.len() as u64;
            stats.events += res.events;
            stats.blank_lines += res.blank;
            if self.window {
                let w = stats.window.get_or_insert_default();
                w.before += res.window.before;
                w.after += res.window.after;
                w.without_time += res.window.without_time;
            }
            stats.malformed += res.malformed.len() as u64;
            for (l, reason) in res.malformed.drain(..) {
                if stats.malformed_lines.len() < self.keep_malformed {
                    stats.malformed_lines.push(Malformed {
                        input: name.to_string(),
                        line: chunk.line_number(line_base, l),
                        reason,
                    });
                }
            }
            let mut tags = 0;
            for (r, c) in &res.counts {
                stats.counts[*r as usize] += c;
                tags += c;
            }
            stats.inputs[meta.index].tags += tags;
            for &(r, k) in &res.keyed {
                self.keyed_events[r as usize] += 1;
                self.distinct.entry(r).or_default().insert(k);
            }
            for (i, v) in res.evaluated.iter().enumerate() {
                stats.evaluated[i] += v;
            }
            for (i, v) in res.nanos.iter().enumerate() {
                stats.nanos[i] += v;
            }
            for (i, v) in res.field_seen.iter().enumerate() {
                stats.field_seen[i] += v;
            }
            for m in &mut res.matches {
                m.line = chunk.line_number(line_base, m.line);
            }
            let first_line = chunk.line_number(line_base, 0);
            for s in sinks.iter_mut() {
                s.chunk(name, data, first_line, &res.matches)?;
            }
            self.line_base += res.lines;
        }
        let is = &mut stats.inputs[meta.index];
        for w in meta.warnings {
            stats.input_warnings.push(w.clone());
            is.warnings.push(w);
        }
        if let Some(msg) = meta.error {
            stats.input_errors.push(msg.clone());
            is.error = Some(msg);
        }
        if meta.last {
            self.done_bytes += meta.size.unwrap_or(meta.consumed).max(meta.consumed);
            self.line_base = 1;
        }
        if let Some(b) = &self.bar {
            let pos = if meta.last {
                self.done_bytes
            } else {
                self.done_bytes + meta.consumed
            };
            b.set_position(pos);
            let secs = self.start.elapsed().as_secs_f64().max(1e-9);
            b.set_message(format!(
                "{} events, {:.0} events/s  {}",
                stats.events,
                stats.events as f64 / secs,
                name
            ));
        }
        Ok(())
    }
}

/// A chunk task's result on its way to the merging thread; a task that
/// unwinds sends `None`, so the merge stops waiting (the scope then
/// re-raises the panic).
type Sent = (u64, usize, Option<ChunkResult>);

/// Sends `None` for a chunk whose task ends without a result.
struct SendOnDrop {
    tx: std::sync::mpsc::Sender<Sent>,
    at: Option<(u64, usize)>,
}

impl Drop for SendOnDrop {
    fn drop(&mut self) {
        if let Some((q, i)) = self.at.take() {
            let _ = self.tx.send((q, i, None));
        }
    }
}

/// The streaming driver of [`run_feed`]: every chunk is a pool task (FIFO,
/// so earlier chunks go first); this thread reads up to [`AHEAD`] batches
/// ahead and merges each batch once its last chunk is back.
fn stream(
    feed: &mut Feed,
    run_chunk: &(dyn Fn(&Chunk) -> ChunkResult + Sync),
    merge: &mut Merge,
    sinks: &mut [&mut dyn Sink],
) -> std::io::Result<()> {
    rayon::in_place_scope_fifo(|s| {
        let (tx, rx) = std::sync::mpsc::channel::<Sent>();
        // (sequence number, the batch, its results, results still missing)
        type Slot = (u64, Fetched, Vec<Option<ChunkResult>>, usize);
        let mut ahead: std::collections::VecDeque<Slot> = Default::default();
        let mut seq = 0u64;
        let mut done = false;
        loop {
            while !done && ahead.len() < AHEAD {
                let Some(f) = Fetched::next(feed) else {
                    done = true;
                    break;
                };
                let mut n = 0;
                if let Fetched::Batch(b) = &f {
                    n = b.chunks.len();
                    for (i, c) in b.chunks.iter().enumerate() {
                        let c = c.clone();
                        let mut guard = SendOnDrop {
                            tx: tx.clone(),
                            at: Some((seq, i)),
                        };
                        s.spawn_fifo(move |_| {
                            let r = run_chunk(&c);
                            guard.at = None;
                            let _ = guard.tx.send((seq, i, Some(r)));
                        });
                    }
                }
                ahead.push_back((seq, f, (0..n).map(|_| None).collect(), n));
                seq += 1;
            }
            let Some(first) = ahead.front().map(|a| a.0) else {
                return Ok(());
            };
            while ahead.front().is_some_and(|a| a.3 > 0) {
                // Every task sends exactly once, and `tx` lives here.
                let Ok((q, i, r)) = rx.recv() else {
                    return Ok(());
                };
                let Some(r) = r else {
                    // A task panicked: stop; the scope re-raises it.
                    return Ok(());
                };
                let slot = &mut ahead[(q - first) as usize];
                slot.2[i] = Some(r);
                slot.3 -= 1;
            }
            let Some((_, f, results, _)) = ahead.pop_front() else {
                return Ok(());
            };
            match f {
                Fetched::OpenError(i, msg) => merge.open_error(i, msg),
                Fetched::Batch(meta) => {
                    let results = results.into_iter().flatten().collect();
                    merge.batch(meta, results, sinks)?;
                }
            }
        }
    })
}

/// The stats slot of input `i`, grown as inputs appear.
fn input_stats(v: &mut Vec<InputStats>, i: usize) -> &mut InputStats {
    if v.len() <= i {
        v.resize_with(i + 1, InputStats::default);
    }
    &mut v[i]
}

/// A bar over the inputs' bytes on disk (compressed bytes for compressed
/// files, so its ETA holds), or, when the size is unknown (standard input,
/// pipes), a spinner with the bytes read and the rate.
fn progress_bar(total: u64) -> indicatif::ProgressBar {
    let (bar, template) = if total > 0 {
        (
            indicatif::ProgressBar::new(total),
            "{spinner} [{elapsed_precise}] {bar:30} {bytes}/{total_bytes} ({bytes_per_sec}, ETA {eta}) {msg}",
        )
    } else {
        (
            indicatif::ProgressBar::new_spinner(),
            "{spinner} [{elapsed_precise}] {bytes} read ({bytes_per_sec}) {msg}",
        )
    };
    let style = indicatif::ProgressStyle::with_template(template)
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
