//! Writing run results to files: tagged timelines and match lists.
//!
//! This module owns where ordered outputs go and that they never lose data:
//! a [`Destination`] is standard output or an [`AtomicFile`] (a temporary
//! file in the target folder, renamed over the final name only by
//! [`Destination::commit`] after a complete, synced write; dropped on error,
//! leaving nothing under the final name). It refuses to write over an input.
//! An output whose name ends in `.gz` or `.zst` is compressed (gzip at level
//! 1, zstd at level 3: fast enough not to slow a run down); any other name,
//! and standard output, get plain JSON lines.
//! The sinks themselves live in [`tag`] (Timesketch-style tagged JSONL) and
//! [`matches`](mod@matches) (one line per event and rule); [`splice`] edits event lines
//! in place; [`Outputs`] wires them for the command line.

pub mod hits;
pub mod matches;
pub mod report;
pub mod splice;
pub mod tag;
pub mod timeline;

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::compile::Ruleset;
use crate::input::walk::{FileId, file_id};
use crate::run::engine::Sink;

pub use matches::MatchWriter;
pub use tag::TagWriter;
pub use timeline::{TimelineFormat, TimelineWriter};

/// Buffer size of output writers.
const BUF_SIZE: usize = 1 << 20;

/// A problem creating, writing or committing an output.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{path}: refusing to overwrite input file {input}")]
    WouldOverwriteInput { path: String, input: String },
    #[error("{path}: given for more than one output")]
    SameOutputTwice { path: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// Temporary files of outputs not committed yet, removed by
/// [`remove_partials_on_signals`] when the run is interrupted.
static PARTIALS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn forget_partial(p: &Path) {
    if let Ok(mut v) = PARTIALS.lock() {
        v.retain(|x| x != p);
    }
}

/// Removes the temporary file of every uncommitted output (see
/// [`AtomicFile`]) and returns how many were removed.
pub fn remove_partials() -> usize {
    let paths = PARTIALS.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default();
    paths
        .iter()
        .filter(|p| std::fs::remove_file(p).is_ok())
        .count()
}

/// On SIGINT or SIGTERM, removes the temporary files of uncommitted outputs
/// and exits with status 128 + the signal number (130, 143), as a shell
/// reports a process ended by that signal. Without this, the default action
/// of both signals ends the process before `tempfile`'s destructors run,
/// leaving `.NAME.XXXXXX.partial` files behind. A second call does nothing.
#[cfg(unix)]
pub fn remove_partials_on_signals() -> io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    let mut result = Ok(());
    INSTALLED.call_once(|| {
        match signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
            Ok(mut signals) => {
                std::thread::spawn(move || {
                    if let Some(sig) = signals.forever().next() {
                        remove_partials();
                        std::process::exit(128 + sig);
                    }
                });
            }
            Err(e) => result = Err(e),
        }
    });
    result
}

/// Signals are not handled outside Unix (Windows' Ctrl-C ends the process).
#[cfg(not(unix))]
pub fn remove_partials_on_signals() -> io::Result<()> {
    Ok(())
}

/// A file written under a temporary name in its target folder and renamed
/// over `path` only on [`AtomicFile::commit`]. Dropping it uncommitted
/// deletes the temporary file, so a failed run never leaves a truncated
/// file under the final name (an existing file there is kept as it was).
pub struct AtomicFile {
    path: PathBuf,
    /// `None` only while committing.
    w: Option<BufWriter<tempfile::NamedTempFile>>,
}

impl AtomicFile {
    pub fn create(path: &Path) -> io::Result<AtomicFile> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".partial");
        #[cfg(unix)]
        {
            // Like `File::create`: 0666 less the umask (tempfile's default is 0600).
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let tmp = builder.tempfile_in(dir)?;
        if let Ok(mut v) = PARTIALS.lock() {
            v.push(tmp.path().to_path_buf());
        }
        Ok(AtomicFile {
            path: path.to_path_buf(),
            w: Some(BufWriter::with_capacity(BUF_SIZE, tmp)),
        })
    }

    /// Flushes, syncs to disk and renames over the final path.
    pub fn commit(mut self) -> io::Result<()> {
        let w = self.w.take();
        let tmp = w
            .expect("an AtomicFile holds its writer until commit")
            .into_inner()
            .map_err(|e| e.into_error())?;
        tmp.as_file().sync_all()?;
        let tmp_path = tmp.path().to_path_buf();
        tmp.persist(&self.path).map_err(|e| e.error)?;
        forget_partial(&tmp_path);
        Ok(())
    }

    fn writer(&mut self) -> &mut BufWriter<tempfile::NamedTempFile> {
        self.w
            .as_mut()
            .expect("an AtomicFile holds its writer until commit")
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        // Uncommitted: `NamedTempFile` removes the file itself.
        if let Some(w) = &self.w {
            forget_partial(w.get_ref().path());
        }
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer().write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer().write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.writer().flush()
    }
}

enum Target {
    Stdout(BufWriter<io::StdoutLock<'static>>),
    File(AtomicFile),
    /// A device or FIFO (`/dev/null`, a named pipe): written in place, as
    /// there is no file to replace.
    Special(BufWriter<std::fs::File>),
}

/// A compressor in front of a [`Target`]: compressed bytes collect in its
/// buffer and are moved to the target when it grows past [`BUF_SIZE`].
enum Compress {
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
}

impl Compress {
    /// The compression the output name asks for.
    fn for_name(name: &str) -> io::Result<Option<Compress>> {
        let lower = name.to_ascii_lowercase();
        Ok(if lower.ends_with(".gz") {
            Some(Compress::Gzip(flate2::write::GzEncoder::new(
                Vec::with_capacity(2 * BUF_SIZE),
                flate2::Compression::fast(),
            )))
        } else if lower.ends_with(".zst") || lower.ends_with(".zstd") {
            Some(Compress::Zstd(zstd::stream::write::Encoder::new(
                Vec::with_capacity(2 * BUF_SIZE),
                3,
            )?))
        } else {
            None
        })
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Compress::Gzip(e) => e.write_all(buf),
            Compress::Zstd(e) => e.write_all(buf),
        }
    }

    /// Compressed bytes ready to be written.
    fn ready(&mut self) -> &mut Vec<u8> {
        match self {
            Compress::Gzip(e) => e.get_mut(),
            Compress::Zstd(e) => e.get_mut(),
        }
    }

    fn finish(self) -> io::Result<Vec<u8>> {
        match self {
            Compress::Gzip(e) => e.finish(),
            Compress::Zstd(e) => e.finish(),
        }
    }
}

/// Where one output goes: a file (written atomically) or standard output
/// (`-`). Write errors carry the destination's name.
pub struct Destination {
    name: String,
    target: Target,
    compress: Option<Compress>,
}

impl Destination {
    /// Opens `spec` (`-` = standard output) for writing, refusing a path that
    /// is one of `inputs` (same file after symlinks and hard links, or the
    /// file standard input reads when an input is `-`). A symlink to a
    /// regular file is followed (the file it points to is replaced, the link
    /// kept); a device or FIFO is written directly.
    pub fn create(spec: &str, inputs: &[String]) -> Result<Destination, OutputError> {
        if spec == "-" {
            let out = BufWriter::with_capacity(BUF_SIZE, io::stdout().lock());
            return Ok(Destination {
                name: "<stdout>".into(),
                target: Target::Stdout(out),
                compress: None,
            });
        }
        let path = Path::new(spec);
        check_not_input(path, inputs)?;
        let io_err = |source| OutputError::Io {
            path: spec.into(),
            source,
        };
        let target = match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => {
                return Err(io_err(io::Error::new(
                    io::ErrorKind::IsADirectory,
                    "is a directory",
                )));
            }
            Ok(m) if !m.is_file() => {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(io_err)?;
                Target::Special(BufWriter::with_capacity(BUF_SIZE, f))
            }
            Ok(_) => Target::File(
                AtomicFile::create(&path.canonicalize().map_err(io_err)?).map_err(io_err)?,
            ),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Target::File(AtomicFile::create(path).map_err(io_err)?)
            }
            Err(e) => return Err(io_err(e)),
        };
        Ok(Destination {
            name: spec.into(),
            target,
            compress: Compress::for_name(spec).map_err(io_err)?,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn is_stdout(&self) -> bool {
        matches!(self.target, Target::Stdout(_))
    }

    /// Whether nothing is visible under the name before [`Self::commit`].
    pub fn is_atomic(&self) -> bool {
        matches!(self.target, Target::File(_))
    }

    /// Completes the output: flush, and for a file sync and rename it into place.
    pub fn commit(mut self) -> Result<(), OutputError> {
        let tail = match self.compress.take().map(Compress::finish) {
            Some(Ok(rest)) => self.write_target(&rest),
            Some(Err(e)) => Err(e),
            None => Ok(()),
        };
        let r = tail.and_then(|()| match self.target {
            Target::Stdout(mut w) => w.flush(),
            Target::Special(mut w) => w.flush(),
            Target::File(f) => f.commit(),
        });
        r.map_err(|source| OutputError::Io {
            path: self.name,
            source,
        })
    }

    fn with_name(&self, e: io::Error) -> io::Error {
        io::Error::new(e.kind(), format!("{}: {e}", self.name))
    }
}

impl Destination {
    fn write_target(&mut self, buf: &[u8]) -> io::Result<()> {
        match &mut self.target {
            Target::Stdout(w) => w.write_all(buf),
            Target::Special(w) => w.write_all(buf),
            Target::File(f) => f.write_all(buf),
        }
    }

    /// Through the compressor, moving its output on when it has grown.
    fn write_compressed(&mut self, buf: &[u8]) -> io::Result<()> {
        let Some(c) = self.compress.as_mut() else {
            return self.write_target(buf);
        };
        c.write_all(buf)?;
        if c.ready().len() >= BUF_SIZE {
            let ready = std::mem::take(c.ready());
            self.write_target(&ready)?;
            if let Some(c) = self.compress.as_mut() {
                *c.ready() = ready;
                c.ready().clear();
            }
        }
        Ok(())
    }
}

impl Write for Destination {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.compress.is_some() {
            return self
                .write_compressed(buf)
                .map(|()| buf.len())
                .map_err(|e| self.with_name(e));
        }
        let r = match &mut self.target {
            Target::Stdout(w) => w.write(buf),
            Target::Special(w) => w.write(buf),
            Target::File(f) => f.write(buf),
        };
        r.map_err(|e| self.with_name(e))
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let r = self.write_compressed(buf);
        r.map_err(|e| self.with_name(e))
    }
    fn flush(&mut self) -> io::Result<()> {
        // A compressed output is flushed whole by `commit`.
        let r = match &mut self.target {
            Target::Stdout(w) => w.flush(),
            Target::Special(w) => w.flush(),
            Target::File(f) => f.flush(),
        };
        r.map_err(|e| self.with_name(e))
    }
}

/// Fails if `out` is the same file as one of `inputs` (compared by device
/// and inode, so symlinks, hard links and `./a` vs `a` are all caught; the
/// files are only `stat`ed, never opened, so FIFOs do not block).
pub fn check_not_input(out: &Path, inputs: &[String]) -> Result<(), OutputError> {
    let Some(id) = file_id(out) else {
        return Ok(()); // does not exist (yet): cannot be an input
    };
    for input in inputs {
        let other = if input == "-" {
            stdin_id()
        } else {
            file_id(Path::new(input))
        };
        let same = other.as_ref() == Some(&id);
        if same {
            let input = if input == "-" {
                "- (standard input)"
            } else {
                input
            };
            return Err(OutputError::WouldOverwriteInput {
                path: out.display().to_string(),
                input: input.into(),
            });
        }
    }
    Ok(())
}

#[cfg(unix)]
fn stdin_id() -> Option<FileId> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let fd = io::stdin().as_fd().try_clone_to_owned().ok()?;
    std::fs::File::from(fd)
        .metadata()
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn stdin_id() -> Option<FileId> {
    None
}

/// Which outputs a run writes besides its report. A file name `-` is the
/// process's standard output (the report then goes to the error stream);
/// a name ending in `.gz`/`.zst` is compressed. Files are written under a
/// temporary name and renamed into place when the run succeeds.
#[derive(Debug, Clone, Default)]
pub struct OutputOptions {
    /// Every event as JSON lines, matched ones with Timesketch's Sigma
    /// attributes (`--tag-out`).
    pub tag_out: Option<String>,
    /// With `tag_out`: only the matched events (`--matched-only`).
    pub matched_only: bool,
    /// One JSON line per (event, rule) match (`--matches`).
    pub matches: Option<String>,
    /// The hits as a time-ordered timeline (`--timeline`).
    pub timeline: Option<String>,
    /// The timeline's format (default: from the file name; CSV for `-`).
    pub timeline_format: Option<TimelineFormat>,
    /// With `timeline`: one row per event, also for Plaso's second copy of
    /// a record.
    pub timeline_all_copies: bool,
}

/// The outputs of one run, opened before it and committed after it.
#[derive(Default)]
pub struct Outputs {
    tag: Option<TagWriter<Destination>>,
    matches: Option<MatchWriter<Destination>>,
    timeline: Option<TimelineWriter<Destination>>,
}

impl Outputs {
    pub fn open(
        spec: &OutputOptions,
        hit_fields: crate::output::hits::HitFields,
        ruleset: &Ruleset,
        inputs: &[String],
    ) -> Result<Outputs, OutputError> {
        let named: Vec<&String> = [&spec.tag_out, &spec.matches, &spec.timeline]
            .into_iter()
            .flatten()
            .collect();
        for (i, a) in named.iter().enumerate() {
            for b in &named[i + 1..] {
                if a == b
                    || file_id(Path::new(a.as_str()))
                        .is_some_and(|x| Some(x) == file_id(Path::new(b.as_str())))
                {
                    return Err(OutputError::SameOutputTwice {
                        path: (*a).clone(),
                    });
                }
            }
        }
        let tag = match &spec.tag_out {
            Some(p) => Some(TagWriter::new(
                ruleset,
                Destination::create(p, inputs)?,
                spec.matched_only,
            )),
            None => None,
        };
        let matches = match &spec.matches {
            Some(p) => Some(MatchWriter::new(ruleset, Destination::create(p, inputs)?)),
            None => None,
        };
        let timeline = match &spec.timeline {
            Some(p) => Some(TimelineWriter::new(
                ruleset,
                hit_fields,
                Destination::create(p, inputs)?,
                spec.timeline_format
                    .unwrap_or_else(|| TimelineFormat::from_path(p)),
                spec.timeline_all_copies,
            )),
            None => None,
        };
        Ok(Outputs {
            tag,
            matches,
            timeline,
        })
    }

    /// Whether any output writes to standard output (the report then goes to stderr).
    pub fn uses_stdout(&self) -> bool {
        self.tag.as_ref().is_some_and(|t| t.get_ref().is_stdout())
            || self
                .matches
                .as_ref()
                .is_some_and(|m| m.get_ref().is_stdout())
            || self
                .timeline
                .as_ref()
                .is_some_and(|t| t.get_ref().is_stdout())
    }

    /// The sinks to hand to [`crate::run::engine::run`].
    pub fn sinks(&mut self) -> Vec<&mut dyn Sink> {
        let mut v: Vec<&mut dyn Sink> = Vec::new();
        if let Some(t) = &mut self.tag {
            v.push(t);
        }
        if let Some(m) = &mut self.matches {
            v.push(m);
        }
        if let Some(t) = &mut self.timeline {
            v.push(t);
        }
        v
    }

    /// Drops every output uncommitted (files are not created; what went to
    /// standard output or a device stays incomplete) and says so, one
    /// message each.
    pub fn abandon(self) -> Vec<String> {
        let t = self.tag.map(TagWriter::into_inner);
        let m = self.matches.map(MatchWriter::into_inner);
        let l = self.timeline.map(TimelineWriter::into_inner);
        t.into_iter()
            .chain(m)
            .chain(l)
            .map(|d| match d.is_atomic() {
                true => format!("{} not written", d.name()),
                false => format!("{} is incomplete", d.name()),
            })
            .collect()
    }

    /// The `--timeline` writer, to add correlation firings before it is
    /// finished ([`Outputs::finish_sinks`]).
    pub fn timeline_mut(&mut self) -> Option<&mut TimelineWriter<Destination>> {
        self.timeline.as_mut()
    }

    /// Finishes every sink, for a run whose sinks' own `finish` was held
    /// back (correlations add firings after the run,
    /// [`crate::correlation::stage::Hide::deferring`]).
    pub fn finish_sinks(&mut self) -> io::Result<()> {
        for s in self.sinks() {
            s.finish()?;
        }
        Ok(())
    }

    /// The `--matches` output, to append correlation firings after the run.
    pub fn matches_mut(&mut self) -> Option<&mut Destination> {
        self.matches.as_mut().map(MatchWriter::get_mut)
    }

    /// Lines written unchanged although they matched (not JSON objects).
    pub fn unedited(&self) -> u64 {
        self.tag.as_ref().map_or(0, |t| t.unedited())
    }

    /// Commits every output (see [`Destination::commit`]).
    pub fn commit(self) -> Result<(), OutputError> {
        if let Some(t) = self.tag {
            t.into_inner().commit()?;
        }
        if let Some(m) = self.matches {
            m.into_inner().commit()?;
        }
        if let Some(t) = self.timeline {
            t.into_inner().commit()?;
        }
        Ok(())
    }
}
