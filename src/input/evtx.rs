//! Raw Windows event logs (`.evtx`) as JSON lines in `evtx_dump`'s shape.
//!
//! This module owns reading `.evtx` files with the `evtx` crate (the parser
//! Chainsaw and Hayabusa build on). Records are rendered exactly as
//! `evtx_dump -o jsonl` renders them (the same crate, the same settings:
//! attributes under `#attributes`, no indentation, no record-number lines,
//! checksums not enforced, ANSI strings as windows-1252), through the same
//! per-chunk renderer `evtx_dump` uses, so rules, mappings and the
//! `evtx_dump` aliases of [`crate::event`] work unchanged, and the n-th JSON
//! line of a file is the n-th line `evtx_dump -o jsonl` prints for it (the
//! line number reports give).
//!
//! Chunks of one file are parsed in parallel on the rayon pool; files are
//! parallel through [`super::Feed`], which opens several inputs ahead, each
//! decoded on its own thread. A chunk or record that cannot be parsed is a
//! warning naming the file and chunk (the rest of the file is read), as
//! `evtx_dump` prints it and goes on. An `.evtx` arriving through a stream
//! (standard input, a compressed file) is first copied to a temporary file,
//! since the format needs random access.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use evtx::{EvtxParser, ParserSettings, RenderedChunkItem};

use super::background::{self, Msg, Receiver, Sender};
use super::{Bytes, Chunk};
use crate::error::InputError;

/// Where the `.evtx` bytes are.
pub enum EvtxSource {
    /// A file on disk.
    Path(PathBuf),
    /// A stream, copied to a temporary file first.
    Reader(Box<dyn Read + Send>),
}

/// Warnings given in full per input; the rest are counted.
const MAX_WARNINGS: usize = 20;

/// The size of an EVTX chunk (and of the file header block).
const EVTX_CHUNK: u64 = 64 * 1024;

/// The parser settings of `evtx_dump -o jsonl`.
pub fn settings() -> ParserSettings {
    ParserSettings::new()
        .num_threads(0)
        .separate_json_attributes(false)
        .indent(false)
        .validate_checksums(false)
}

/// Reads an `.evtx` on its own thread.
pub fn spawn(name: &str, source: EvtxSource, consumed: Arc<AtomicU64>) -> Receiver {
    let path = name.to_string();
    background::spawn(name, move |tx| run(&path, source, &consumed, &tx))
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

fn run(path: &str, source: EvtxSource, consumed: &AtomicU64, tx: &Sender) {
    let fail = |message: String| {
        let _ = tx.send(Msg::Error(InputError::Io {
            path: path.to_string(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, message),
        }));
    };
    let parser = match source {
        EvtxSource::Path(p) => EvtxParser::from_path(&p).map(|p| p.with_configuration(settings())),
        EvtxSource::Reader(mut r) => {
            let spooled = tempfile::tempfile().and_then(|mut f| {
                std::io::copy(&mut r, &mut f)?;
                Ok(f)
            });
            match spooled {
                Ok(f) => EvtxParser::from_read_seek(f).map(|p| p.with_configuration(settings())),
                Err(e) => return fail(format!("copying the EVTX stream to a temporary file: {e}")),
            }
        }
    };
    let mut parser = match parser {
        Ok(p) => p,
        Err(e) => return fail(format!("not a readable EVTX file: {}", chain(&e))),
    };
    let mut warnings = 0usize;
    let mut warn = |w: String| -> bool {
        warnings += 1;
        if warnings <= MAX_WARNINGS {
            tx.send(Msg::Warning(format!("{path}: {w}"))).is_ok()
        } else {
            true
        }
    };
    if !parser.header().validate_checksum() {
        let h = parser.header();
        let w = format!(
            "the file header's CRC32 is invalid (stored {:#010x}, computed {:#010x}); reading the file anyway",
            h.checksum, h.computed_checksum
        );
        if !warn(w) {
            return;
        }
    }
    let mut chunks = 0u64;
    for rendered in parser.chunks_json_bytes(false) {
        chunks += 1;
        consumed.store(EVTX_CHUNK * (chunks + 1), Ordering::Relaxed);
        for item in &rendered.items {
            if let RenderedChunkItem::Failed(e) = item
                && !warn(format!("{}; skipped (as evtx_dump skips it)", chain(e)))
            {
                return;
            }
        }
        if rendered.data.is_empty() {
            continue;
        }
        let chunk = Chunk {
            bytes: Bytes::Owned(Arc::new(rendered.data)),
            line_numbers: None,
        };
        if tx.send(Msg::Chunk(chunk)).is_err() {
            return;
        }
    }
    if warnings > MAX_WARNINGS {
        let _ = tx.send(Msg::Warning(format!(
            "{path}: {} more unreadable chunks or records skipped",
            warnings - MAX_WARNINGS
        )));
    }
}
