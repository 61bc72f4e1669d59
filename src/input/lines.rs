//! Cutting bytes into newline-aligned chunks of JSON lines.
//!
//! A regular file is memory-mapped and cut without a copy ([`MappedLines`]);
//! a stream (standard input, a decompressor) is read into owned buffers of
//! the same size ([`StreamLines`]). A chunk ends on a newline, so no event is
//! split between two chunks. A UTF-8 byte order mark at the start of an
//! input is skipped (editors on Windows write one; it is not part of the
//! first event). A read error mid-stream first delivers the whole lines read
//! before it, then the error.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Bytes, Chunk};

/// Target chunk size in bytes (a chunk may be longer by one line).
pub const CHUNK_SIZE: usize = 1 << 20;

/// The UTF-8 byte order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Chunks of a memory-mapped file.
pub struct MappedLines {
    map: Arc<memmap2::Mmap>,
    pos: usize,
    consumed: Arc<AtomicU64>,
}

impl MappedLines {
    /// Chunks of `map`, skipping a leading BOM.
    pub fn new(map: Arc<memmap2::Mmap>, consumed: Arc<AtomicU64>) -> Self {
        let pos = if map.starts_with(BOM) { BOM.len() } else { 0 };
        MappedLines { map, pos, consumed }
    }

    /// The next chunk, `None` at the end.
    pub fn next_chunk(&mut self) -> Option<Chunk> {
        let map = &self.map;
        if self.pos >= map.len() {
            return None;
        }
        let start = self.pos;
        let want = (start + CHUNK_SIZE).min(map.len());
        let end = if want == map.len() {
            want
        } else {
            match memchr::memchr(b'\n', &map[want..]) {
                Some(i) => want + i + 1,
                None => map.len(),
            }
        };
        self.pos = end;
        self.consumed.store(end as u64, Ordering::Relaxed);
        Some(Chunk {
            bytes: Bytes::Mapped(map.clone(), start, end),
            line_numbers: None,
        })
    }
}

/// Chunks of a stream.
pub struct StreamLines {
    r: Box<dyn Read + Send>,
    carry: Vec<u8>,
    eof: bool,
    started: bool,
    /// Bytes delivered so far (for error messages).
    delivered: u64,
    /// A read error to report once the lines before it are delivered.
    pending: Option<std::io::Error>,
}

impl StreamLines {
    /// Chunks of `r`.
    pub fn new(r: Box<dyn Read + Send>) -> Self {
        StreamLines {
            r,
            carry: Vec::new(),
            eof: false,
            started: false,
            delivered: 0,
            pending: None,
        }
    }

    /// Bytes delivered in chunks so far.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// The next run of whole lines; on error, the error and the length of
    /// the incomplete line that was dropped.
    pub fn next_bytes(&mut self) -> Result<Option<Vec<u8>>, (std::io::Error, usize)> {
        if let Some(e) = self.pending.take() {
            let partial = std::mem::take(&mut self.carry).len();
            return Err((e, partial));
        }
        if self.eof && self.carry.is_empty() {
            return Ok(None);
        }
        let mut buf = std::mem::take(&mut self.carry);
        buf.reserve(CHUNK_SIZE);
        while !self.eof && buf.len() < CHUNK_SIZE {
            let old = buf.len();
            buf.resize(old + CHUNK_SIZE, 0);
            match self.r.read(&mut buf[old..]) {
                Ok(0) => {
                    buf.truncate(old);
                    self.eof = true;
                }
                Ok(n) => buf.truncate(old + n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => buf.truncate(old),
                Err(e) => {
                    buf.truncate(old);
                    self.pending = Some(e);
                    self.eof = true;
                    // Deliver the whole lines before the damage, keep the
                    // incomplete rest to say how much was dropped.
                    match memchr::memrchr(b'\n', &buf) {
                        Some(i) => self.carry = buf.split_off(i + 1),
                        None => {
                            self.carry = std::mem::take(&mut buf);
                        }
                    }
                    if buf.is_empty() {
                        return self.next_bytes();
                    }
                    self.delivered += buf.len() as u64;
                    return Ok(Some(buf));
                }
            }
            if !self.started && buf.len() >= BOM.len() {
                self.started = true;
                if buf.starts_with(BOM) {
                    buf.drain(..BOM.len());
                }
            }
            // Only cut at a newline; keep reading if the chunk has none.
            if buf.len() >= CHUNK_SIZE && memchr::memrchr(b'\n', &buf).is_none() {
                buf.reserve(CHUNK_SIZE);
                continue;
            }
        }
        if !self.eof
            && let Some(i) = memchr::memrchr(b'\n', &buf)
        {
            self.carry = buf.split_off(i + 1);
        }
        if buf.is_empty() {
            return Ok(None);
        }
        self.delivered += buf.len() as u64;
        Ok(Some(buf))
    }
}

/// Iterates the lines of a chunk: `(line index within chunk, line bytes
/// without the newline or a trailing `\r`, byte range in the chunk)`.
pub fn lines(data: &[u8]) -> impl Iterator<Item = (u64, &[u8], std::ops::Range<usize>)> {
    let mut pos = 0;
    let mut n = 0u64;
    std::iter::from_fn(move || {
        if pos >= data.len() {
            return None;
        }
        let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i);
        let start = pos;
        pos = end + 1;
        let mut line = &data[start..end];
        if let Some(l) = line.strip_suffix(b"\r") {
            line = l;
        }
        let i = n;
        n += 1;
        Some((i, line, start..end.min(data.len())))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(mut s: StreamLines) -> (Vec<u8>, usize) {
        let mut out = Vec::new();
        let mut chunks = 0;
        while let Some(b) = s.next_bytes().unwrap() {
            out.extend_from_slice(&b);
            chunks += 1;
        }
        (out, chunks)
    }

    #[test]
    fn stream_chunks_end_on_newlines_and_keep_everything() {
        let mut text = Vec::new();
        for i in 0..200_000 {
            text.extend_from_slice(format!("{{\"n\":{i}}}\n").as_bytes());
        }
        text.extend_from_slice(b"{\"last\":1}"); // no final newline
        let mut s = StreamLines::new(Box::new(std::io::Cursor::new(text.clone())));
        let mut got = Vec::new();
        let mut chunks = 0;
        while let Some(b) = s.next_bytes().unwrap() {
            if got.len() + b.len() < text.len() {
                assert_eq!(b.last(), Some(&b'\n'));
            }
            got.extend_from_slice(&b);
            chunks += 1;
        }
        assert!(chunks > 1);
        assert_eq!(got, text);
    }

    #[test]
    fn a_leading_bom_is_skipped_in_streams() {
        let s = StreamLines::new(Box::new(std::io::Cursor::new(b"\xEF\xBB\xBF{\"a\":1}\n".to_vec())));
        assert_eq!(all(s).0, b"{\"a\":1}\n");
    }

    /// A reader that fails after its data.
    struct Failing(std::io::Cursor<Vec<u8>>);
    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match self.0.read(buf)? {
                0 => Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "cut")),
                n => Ok(n),
            }
        }
    }

    #[test]
    fn lines_before_a_read_error_are_delivered_first() {
        let r = Failing(std::io::Cursor::new(b"{\"a\":1}\n{\"b\":2}\n{\"c\"".to_vec()));
        let mut s = StreamLines::new(Box::new(r));
        assert_eq!(s.next_bytes().unwrap().unwrap(), b"{\"a\":1}\n{\"b\":2}\n");
        let (e, partial) = s.next_bytes().unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
        assert_eq!(partial, 4);
        assert!(s.next_bytes().unwrap().is_none());
    }

    #[test]
    fn lines_strip_crlf() {
        let v: Vec<_> = lines(b"a\r\n\nb")
            .map(|(i, l, _)| (i, l.to_vec()))
            .collect();
        assert_eq!(
            v,
            vec![(0, b"a".to_vec()), (1, b"".to_vec()), (2, b"b".to_vec())]
        );
    }
}
