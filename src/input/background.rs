//! Decoding on its own thread, overlapped with evaluation.
//!
//! A decoder (decompression, CSV, EVTX, or just reading a pipe) runs on a
//! thread of its own and hands finished chunks over a bounded channel
//! ([`DEPTH`] chunks), so the engine evaluates one batch while the next is
//! decoded, and memory stays bounded however large the input. Non-fatal
//! problems travel the same channel, in order, as [`Msg::Warning`].

use std::io::Read;
use std::sync::mpsc;

use super::lines::StreamLines;
use super::sniff::Compression;
use super::{Chunk, Warning};
use crate::error::InputError;

/// Chunks decoded ahead of the consumer, per input.
pub const DEPTH: usize = 8;

/// What a decoder thread sends.
pub enum Msg {
    /// The next chunk.
    Chunk(Chunk),
    /// A problem the input goes on after.
    Warning(Warning),
    /// The problem that ended the input.
    Error(InputError),
}

/// The sending side, for decoder threads.
pub type Sender = mpsc::SyncSender<Msg>;

/// The consumer's side of a decoder thread.
pub struct Receiver {
    rx: mpsc::Receiver<Msg>,
}

impl Receiver {
    /// The next chunk; warnings met on the way are added to `warnings`.
    pub fn next_chunk(&mut self, warnings: &mut Vec<Warning>) -> Result<Option<Chunk>, InputError> {
        loop {
            match self.rx.recv() {
                Ok(Msg::Chunk(c)) => return Ok(Some(c)),
                Ok(Msg::Warning(w)) => warnings.push(w),
                Ok(Msg::Error(e)) => return Err(e),
                Err(_) => return Ok(None),
            }
        }
    }
}

/// Runs `body` on a new thread; it sends its chunks to the returned receiver
/// and ends when done (or when the receiver is dropped: sends then fail).
pub fn spawn(name: &str, body: impl FnOnce(Sender) + Send + 'static) -> Receiver {
    let (tx, rx) = mpsc::sync_channel(DEPTH);
    let thread_name = format!("decode {name}");
    let fallback = tx.clone();
    let path = name.to_string();
    let spawned = std::thread::Builder::new()
        .name(thread_name)
        .spawn(move || body(tx));
    if let Err(e) = spawned {
        let _ = fallback.send(Msg::Error(InputError::Io { path, source: e }));
    }
    Receiver {
        rx,
    }
}

/// JSON lines from a stream (a pipe, a decompressor), on their own thread.
pub fn spawn_lines(name: &str, r: Box<dyn Read + Send>, c: Option<Compression>) -> Receiver {
    let path = name.to_string();
    spawn(name, move |tx| {
        let mut s = StreamLines::new(r);
        loop {
            match s.next_bytes() {
                Ok(Some(b)) => {
                    if tx.send(Msg::Chunk(Chunk::owned(b))).is_err() {
                        return;
                    }
                }
                Ok(None) => return,
                Err((source, partial)) => {
                    let _ = tx.send(Msg::Error(InputError::Damaged {
                        path,
                        what: c.map_or("input", Compression::name).to_string(),
                        after: s.delivered(),
                        partial,
                        source,
                    }));
                    return;
                }
            }
        }
    })
}
