//! Event inputs: every way events reach the engine, as chunks of JSON lines.
//!
//! This module owns how bytes are read and turned into events, for the run,
//! `explain` and `--parse-only` alike. Whatever the input (a JSONL file, a
//! compressed export, a CSV timeline, a raw `.evtx` log, standard input or any
//! [`std::io::Read`]), it becomes a sequence of [`Chunk`]s: runs of whole JSON
//! lines, in input order. The generic JSON reader downstream never learns where
//! a line came from.
//!
//! | module | owns |
//! |---|---|
//! | [`sniff`] | what a file is, from its first bytes (not its name) |
//! | [`lines`](mod@lines) | cutting a memory map or a stream into newline-aligned chunks |
//! | [`decompress`] | gzip (multi-member), zstd (multi-frame), bzip2, xz streams |
//! | [`background`] | running a decoder on its own thread, bounded, overlapped with evaluation |
//! | [`csv`] | CSV timelines (Timesketch import format, Plaso `psort` CSV) to JSON lines |
//! | [`evtx`] | raw Windows `.evtx` logs to JSON lines in `evtx_dump`'s shape |
//! | [`walk`] | expanding folders into the files worth reading |
//!
//! [`Feed`] is the one batching loop: it opens inputs in order (a few ahead,
//! so decoders of the next files work while this one is evaluated), hands out
//! batches of chunks, and gives every consumer the same read-error behaviour:
//! the chunks read before a read error are delivered first, then the error,
//! then the next input.

pub mod background;
pub mod csv;
pub mod decompress;
pub mod evtx;
pub mod lines;
pub mod sniff;
pub mod walk;

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::InputError;

#[cfg(feature = "internals")] // tests
pub use lines::CHUNK_SIZE;
pub use lines::lines;
pub use sniff::{Compression, Content, Sniffed};

/// Where a chunk's bytes live.
#[derive(Clone)]
pub enum Bytes {
    /// A slice of a memory-mapped file (no copy).
    Mapped(Arc<memmap2::Mmap>, usize, usize),
    /// Bytes read from a stream or made by a decoder.
    Owned(Arc<Vec<u8>>),
}

impl Bytes {
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m, s, e) => &m[*s..*e],
            Bytes::Owned(v) => v,
        }
    }
}

/// A run of whole JSON lines from one input.
#[derive(Clone)]
pub struct Chunk {
    /// The lines, each ending in `\n` (the last one of an input may not).
    pub bytes: Bytes,
    /// The input's own line number of each line of the chunk, when lines are
    /// not the input's lines (CSV rows may span several lines). `None`: the
    /// chunk's lines follow the previous chunk's.
    pub line_numbers: Option<Arc<[u64]>>,
}

impl Chunk {
    /// A chunk whose lines continue the input's numbering.
    pub fn owned(bytes: Vec<u8>) -> Chunk {
        Chunk {
            bytes: Bytes::Owned(Arc::new(bytes)),
            line_numbers: None,
        }
    }

    /// The 1-based input line of line `i` (0-based) of this chunk, given the
    /// line number `base` the chunk would start at if it followed on.
    pub fn line_number(&self, base: u64, i: u64) -> u64 {
        match &self.line_numbers {
            Some(v) => v.get(i as usize).copied().unwrap_or(base + i),
            None => base + i,
        }
    }
}

/// A non-fatal problem found while reading an input (e.g. a corrupt EVTX
/// chunk that was skipped); the input goes on.
pub type Warning = String;

enum Source {
    Empty,
    Mapped(lines::MappedLines),
    Background(background::Receiver),
}

/// One event input, opened: a file, standard input, or a reader.
pub struct Input {
    /// The name reports use (the path as given, `-` for standard input).
    pub name: String,
    /// What the input holds, e.g. `jsonl`, `jsonl+gzip`, `csv`, `evtx`.
    pub format: String,
    /// The size of the file on disk, when known (for progress).
    pub size: Option<u64>,
    consumed: Arc<AtomicU64>,
    source: Source,
    warnings: Vec<Warning>,
}

impl Input {
    /// Opens a file path, or standard input for `-`. What the file holds is
    /// recognised by its first bytes ([`sniff`]); a file of a kind that
    /// cannot be read (a zip archive, UTF-16 text, a JSON array, ...) is an
    /// [`InputError::Unsupported`] saying what it looks like and what to do.
    pub fn open(name: &str) -> Result<Input, InputError> {
        if name == "-" {
            return Input::from_reader("-", Box::new(std::io::stdin()));
        }
        let io = |source| InputError::Io {
            path: name.to_string(),
            source,
        };
        let file = File::open(name).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if meta.is_dir() {
            return Err(io(std::io::Error::other("is a directory")));
        }
        if !meta.is_file() {
            // FIFOs, character devices: stream them.
            return Input::from_reader(name, Box::new(file));
        }
        let consumed = Arc::new(AtomicU64::new(0));
        let mut input = Input {
            name: name.to_string(),
            format: String::new(),
            size: Some(meta.len()),
            consumed: consumed.clone(),
            source: Source::Empty,
            warnings: Vec::new(),
        };
        if meta.len() == 0 {
            input.format = "empty".into();
            return Ok(input);
        }
        let mut head = Vec::with_capacity(sniff::HEAD);
        (&file)
            .take(sniff::HEAD as u64)
            .read_to_end(&mut head)
            .map_err(io)?;
        (&file).seek(SeekFrom::Start(0)).map_err(io)?;
        let sniffed = sniff::sniff(&head, name);
        input.format = sniffed.describe();
        match sniffed {
            Sniffed {
                compression: None,
                content: Content::Evtx,
            } => {
                input.source =
                    Source::Background(evtx::spawn(name, evtx::EvtxSource::Path(name.into()), consumed));
            }
            Sniffed {
                compression: None,
                content: Content::JsonLines,
            } => {
                // SAFETY: the map is read-only; a file truncated by another
                // process while mapped can fault, the accepted trade-off of
                // every mmap reader (ripgrep makes the same one).
                let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
                #[cfg(unix)]
                let _ = map.advise(memmap2::Advice::Sequential);
                input.source = Source::Mapped(lines::MappedLines::new(Arc::new(map), consumed));
            }
            Sniffed {
                compression: None,
                content: Content::Csv(delimiter),
            } => {
                let r = Box::new(decompress::Counting::new(file, consumed));
                input.source = Source::Background(csv::spawn(name, r, delimiter));
            }
            Sniffed {
                compression: Some(c),
                content,
            } => {
                let raw = Box::new(decompress::Counting::new(file, consumed.clone()));
                input.source = Source::Background(decoded(name, c, raw, content, consumed)?);
            }
            Sniffed { content, .. } => return Err(unsupported(name, &content)),
        }
        Ok(input)
    }

    /// Reads events from any reader (standard input, a pipe, a decompressor
    /// of the caller's): compressed, CSV and EVTX content is recognised as
    /// for files, and decoding runs on its own thread.
    pub fn from_reader(name: &str, r: Box<dyn Read + Send>) -> Result<Input, InputError> {
        let consumed = Arc::new(AtomicU64::new(0));
        let mut r: Box<dyn Read + Send> = Box::new(decompress::Counting::new(r, consumed.clone()));
        let head = sniff::read_head(&mut r).map_err(|source| InputError::Io {
            path: name.to_string(),
            source,
        })?;
        let sniffed = sniff::sniff(&head, name);
        let format = sniffed.describe();
        let r: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(head).chain(r));
        let source = match sniffed {
            Sniffed {
                compression: None,
                content: Content::Empty,
            } => Source::Empty,
            Sniffed {
                compression: None,
                content: Content::JsonLines,
            } => Source::Background(background::spawn_lines(name, r, None)),
            Sniffed {
                compression: None,
                content: Content::Csv(d),
            } => Source::Background(csv::spawn(name, r, d)),
            Sniffed {
                compression: None,
                content: Content::Evtx,
            } => Source::Background(evtx::spawn(name, evtx::EvtxSource::Reader(r), consumed.clone())),
            Sniffed {
                compression: Some(c),
                content,
            } => Source::Background(decoded(name, c, r, content, consumed.clone())?),
            Sniffed { content, .. } => return Err(unsupported(name, &content)),
        };
        Ok(Input {
            name: name.to_string(),
            format,
            size: None,
            consumed,
            source,
            warnings: Vec::new(),
        })
    }

    /// Bytes of the input consumed so far (compressed bytes for a compressed
    /// input), for progress.
    pub fn consumed(&self) -> u64 {
        self.consumed.load(Ordering::Relaxed)
    }

    /// Non-fatal problems found so far, taken out.
    pub fn take_warnings(&mut self) -> Vec<Warning> {
        std::mem::take(&mut self.warnings)
    }

    /// The next chunk of whole lines, `None` at the end. After an error the
    /// input is finished.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, InputError> {
        let r = match &mut self.source {
            Source::Empty => Ok(None),
            Source::Mapped(m) => Ok(m.next_chunk()),
            Source::Background(b) => b.next_chunk(&mut self.warnings),
        };
        if !matches!(r, Ok(Some(_))) {
            self.source = Source::Empty;
        }
        r
    }
}

/// A decompressed stream: its content sniffed again (a `.csv.gz` is CSV, a
/// gzipped `.evtx` is EVTX), then decoded on its own thread.
fn decoded(
    name: &str,
    c: Compression,
    raw: Box<dyn Read + Send>,
    content: Content,
    consumed: Arc<AtomicU64>,
) -> Result<background::Receiver, InputError> {
    let dec = decompress::decoder(c, raw, name);
    Ok(match content {
        Content::JsonLines | Content::Empty => background::spawn_lines(name, dec, Some(c)),
        Content::Csv(d) => csv::spawn(name, dec, d),
        Content::Evtx => evtx::spawn(name, evtx::EvtxSource::Reader(dec), consumed),
        other => return Err(unsupported(name, &other)),
    })
}

fn unsupported(name: &str, content: &Content) -> InputError {
    let (what, hint) = content.explain();
    InputError::Unsupported {
        path: name.to_string(),
        what,
        hint,
    }
}

/// A batch of chunks of one input, as [`Feed::next_batch`] hands them out.
pub struct Batch<'f> {
    /// The input the chunks come from.
    pub input: &'f Input,
    /// Position of the input among the expanded inputs.
    pub index: usize,
    /// The chunks, in order (may be empty when only an error is reported).
    pub chunks: Vec<Chunk>,
    /// Problems found while reading this batch that did not stop the input.
    pub warnings: Vec<Warning>,
    /// The error that ended the input after these chunks, if any.
    pub error: Option<InputError>,
    /// This batch is the input's last.
    pub last: bool,
}

/// One input of a [`Feed`] as a caller gives it: a path opened when its
/// turn comes, or an input the caller opened.
pub enum Origin {
    /// A path, or `-` for standard input.
    Path(String),
    /// An opened input (e.g. [`Input::from_reader`]), or why it could not be.
    Opened(Result<Input, InputError>),
}

/// An input waiting in a [`Feed`]: a name to open, or an opened reader.
enum Pending {
    Name(String),
    Opened(Box<Result<Input, InputError>>),
}

/// The one batching loop over a list of inputs: opens them in order (up to
/// `ahead` inputs early, so that their decoders run while the current one
/// is evaluated) and hands out batches of up to `batch_size` chunks.
pub struct Feed {
    pending: VecDeque<Pending>,
    next_index: usize,
    ahead: usize,
    open: VecDeque<(usize, Result<Input, InputError>)>,
    current: Option<(usize, Input)>,
    /// The input whose last batch was handed out (kept for that batch's borrow).
    finished: Option<Input>,
    batch_size: usize,
    /// Sum of the sizes of the inputs that are files (for progress).
    pub total_size: u64,
}

/// What [`Feed::next_batch`] found.
pub enum Next<'f> {
    /// Chunks (or an error) of one input.
    Batch(Batch<'f>),
    /// An input that could not be opened: its position and the error.
    OpenError(usize, InputError),
    /// No more inputs.
    Done,
}

impl Feed {
    /// A feed over `names` (paths or `-`; folders must be expanded first,
    /// see [`walk::expand`]).
    pub fn new(names: &[String], batch_size: usize) -> Feed {
        let total_size = names
            .iter()
            .filter(|n| *n != "-")
            .filter_map(|n| std::fs::metadata(n).ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum();
        Feed::with(names.iter().cloned().map(Pending::Name).collect(), batch_size, total_size)
    }

    /// A feed over paths and opened inputs, in the order given.
    pub fn from_sources(sources: Vec<Origin>, batch_size: usize) -> Feed {
        let total_size = sources
            .iter()
            .map(|s| match s {
                Origin::Path(n) if n != "-" => std::fs::metadata(n)
                    .ok()
                    .filter(|m| m.is_file())
                    .map_or(0, |m| m.len()),
                Origin::Opened(Ok(i)) => i.size.unwrap_or(0),
                _ => 0,
            })
            .sum();
        let pending = sources
            .into_iter()
            .map(|s| match s {
                Origin::Path(n) => Pending::Name(n),
                Origin::Opened(r) => Pending::Opened(Box::new(r)),
            })
            .collect();
        Feed::with(pending, batch_size, total_size)
    }

    fn with(pending: VecDeque<Pending>, batch_size: usize, total_size: u64) -> Feed {
        Feed {
            pending,
            next_index: 0,
            ahead: rayon::current_num_threads().clamp(2, 8),
            open: VecDeque::new(),
            current: None,
            finished: None,
            batch_size: batch_size.max(1),
            total_size,
        }
    }

    fn fill(&mut self) {
        while self.open.len() < self.ahead {
            let Some(p) = self.pending.pop_front() else {
                break;
            };
            let i = self.next_index;
            self.next_index += 1;
            let opened = match p {
                Pending::Name(n) => Input::open(&n),
                Pending::Opened(r) => *r,
            };
            self.open.push_back((i, opened));
        }
    }

    /// The next batch, in input order.
    pub fn next_batch(&mut self) -> Next<'_> {
        self.finished = None;
        if self.current.is_none() {
            self.fill();
            match self.open.pop_front() {
                None => return Next::Done,
                Some((i, Err(e))) => return Next::OpenError(i, e),
                Some((i, Ok(input))) => self.current = Some((i, input)),
            }
            self.fill();
        }
        let batch_size = self.batch_size;
        let Some((index, input)) = self.current.as_mut() else {
            return Next::Done;
        };
        let index = *index;
        let mut chunks = Vec::with_capacity(batch_size);
        let mut error = None;
        let mut last = false;
        while chunks.len() < batch_size {
            match input.next_chunk() {
                Ok(Some(c)) => chunks.push(c),
                Ok(None) => {
                    last = true;
                    break;
                }
                Err(e) => {
                    error = Some(e);
                    last = true;
                    break;
                }
            }
        }
        let warnings = input.take_warnings();
        if last {
            // The batch borrows the input from `finished` until the next call.
            self.finished = self.current.take().map(|(_, i)| i);
        }
        let input = match (&self.finished, &self.current) {
            (Some(i), _) if last => i,
            (_, Some((_, i))) => i,
            _ => return Next::Done,
        };
        Next::Batch(Batch {
            input,
            index,
            chunks,
            warnings,
            error,
            last,
        })
    }
}

/// Calls `f` with every line of input `name` (its input line number and its
/// bytes), in order, through the same [`Feed`] as a run, until `f` returns
/// `false`. A read error is returned after the lines before it were given.
pub fn each_line(name: &str, mut f: impl FnMut(u64, &[u8]) -> bool) -> Result<(), InputError> {
    let mut feed = Feed::new(&[name.to_string()], 1);
    let mut base = 1u64;
    loop {
        match feed.next_batch() {
            Next::Done => return Ok(()),
            Next::OpenError(_, e) => return Err(e),
            Next::Batch(b) => {
                for chunk in &b.chunks {
                    let mut n = 0;
                    for (i, line, _) in lines(chunk.bytes.as_slice()) {
                        n = i + 1;
                        if !f(chunk.line_number(base, i), line) {
                            return Ok(());
                        }
                    }
                    base += n;
                }
                if let Some(e) = b.error {
                    return Err(e);
                }
            }
        }
    }
}
