//! Reading event inputs as newline-aligned chunks.
//!
//! This module owns how bytes are read: a regular file is memory-mapped
//! (`memmap2`) and cut into chunks that end on a newline, so no copy is made
//! and memory stays bounded by what the OS pages in; standard input (`-`) and
//! other streams are read into owned buffers of the same size. Chunks are
//! handed out in input order; the engine evaluates them in parallel and puts
//! results back in order.

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use crate::error::InputError;

/// Target chunk size in bytes (a chunk may be longer by one line).
pub const CHUNK_SIZE: usize = 1 << 20;

/// Where a chunk's bytes live.
#[derive(Clone)]
pub enum Bytes {
    Mapped(Arc<memmap2::Mmap>, usize, usize),
    Owned(Arc<Vec<u8>>),
}

impl Bytes {
    pub fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m, s, e) => &m[*s..*e],
            Bytes::Owned(v) => v,
        }
    }
}

/// A run of whole lines from one input.
#[derive(Clone)]
pub struct Chunk {
    /// Index of the input in the list given to [`Inputs::open`].
    pub input: usize,
    /// Byte offset of the chunk in its input.
    pub offset: u64,
    pub bytes: Bytes,
}

enum Reader {
    Mapped {
        map: Arc<memmap2::Mmap>,
        pos: usize,
    },
    Stream {
        r: Box<dyn Read + Send>,
        carry: Vec<u8>,
        eof: bool,
    },
    Empty,
}

/// One event input: a file path or `-` for standard input.
pub struct Input {
    pub name: String,
    /// Total size when known (regular files), for progress.
    pub size: Option<u64>,
    reader: Reader,
    offset: u64,
}

impl Input {
    /// Opens a path (`-` is standard input).
    pub fn open(name: &str) -> Result<Input, InputError> {
        let io = |source| InputError::Io {
            path: name.to_string(),
            source,
        };
        if name == "-" {
            return Ok(Input::from_reader("-", Box::new(std::io::stdin())));
        }
        let file = File::open(PathBuf::from(name)).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if meta.is_dir() {
            return Err(io(std::io::Error::other("is a directory")));
        }
        if !meta.is_file() {
            // FIFOs, character devices: stream them.
            return Ok(Input::from_reader(name, Box::new(file)));
        }
        if meta.len() == 0 {
            return Ok(Input {
                name: name.to_string(),
                size: Some(0),
                reader: Reader::Empty,
                offset: 0,
            });
        }
        // SAFETY: the map is read-only; a file truncated by another process
        // while mapped can fault, the accepted trade-off of every mmap reader
        // (ripgrep makes the same one).
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        #[cfg(unix)]
        let _ = map.advise(memmap2::Advice::Sequential);
        Ok(Input {
            name: name.to_string(),
            size: Some(meta.len()),
            reader: Reader::Mapped {
                map: Arc::new(map),
                pos: 0,
            },
            offset: 0,
        })
    }

    /// Streams from any reader.
    pub fn from_reader(name: &str, r: Box<dyn Read + Send>) -> Input {
        Input {
            name: name.to_string(),
            size: None,
            reader: Reader::Stream {
                r,
                carry: Vec::new(),
                eof: false,
            },
            offset: 0,
        }
    }

    /// The next chunk of whole lines, `None` at the end.
    pub fn next_chunk(&mut self, input: usize) -> Result<Option<Chunk>, InputError> {
        let offset = self.offset;
        let bytes = match &mut self.reader {
            Reader::Empty => return Ok(None),
            Reader::Mapped { map, pos } => {
                if *pos >= map.len() {
                    return Ok(None);
                }
                let start = *pos;
                let want = (start + CHUNK_SIZE).min(map.len());
                let end = if want == map.len() {
                    want
                } else {
                    match memchr::memchr(b'\n', &map[want..]) {
                        Some(i) => want + i + 1,
                        None => map.len(),
                    }
                };
                *pos = end;
                Bytes::Mapped(map.clone(), start, end)
            }
            Reader::Stream { r, carry, eof } => {
                if *eof && carry.is_empty() {
                    return Ok(None);
                }
                let mut buf = std::mem::take(carry);
                buf.reserve(CHUNK_SIZE);
                while !*eof && buf.len() < CHUNK_SIZE {
                    let old = buf.len();
                    buf.resize(old + CHUNK_SIZE, 0);
                    match r.read(&mut buf[old..]) {
                        Ok(0) => {
                            buf.truncate(old);
                            *eof = true;
                        }
                        Ok(n) => buf.truncate(old + n),
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => buf.truncate(old),
                        Err(e) => {
                            buf.truncate(old);
                            return Err(InputError::Io {
                                path: self.name.clone(),
                                source: e,
                            });
                        }
                    }
                    // Only cut at a newline; keep reading if the chunk has none.
                    if buf.len() >= CHUNK_SIZE && memchr::memrchr(b'\n', &buf).is_none() {
                        buf.reserve(CHUNK_SIZE);
                        continue;
                    }
                }
                if !*eof && let Some(i) = memchr::memrchr(b'\n', &buf) {
                    *carry = buf.split_off(i + 1);
                }
                if buf.is_empty() {
                    return Ok(None);
                }
                Bytes::Owned(Arc::new(buf))
            }
        };
        self.offset += bytes.as_slice().len() as u64;
        Ok(Some(Chunk {
            input,
            offset,
            bytes,
        }))
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

    #[test]
    fn stream_chunks_end_on_newlines_and_keep_everything() {
        let mut text = Vec::new();
        for i in 0..200_000 {
            text.extend_from_slice(format!("{{\"n\":{i}}}\n").as_bytes());
        }
        text.extend_from_slice(b"{\"last\":1}"); // no final newline
        let mut input = Input::from_reader("t", Box::new(std::io::Cursor::new(text.clone())));
        let mut all = Vec::new();
        let mut chunks = 0;
        while let Some(c) = input.next_chunk(0).unwrap() {
            let s = c.bytes.as_slice();
            assert_eq!(c.offset as usize, all.len());
            if all.len() + s.len() < text.len() {
                assert_eq!(s.last(), Some(&b'\n'));
            }
            all.extend_from_slice(s);
            chunks += 1;
        }
        assert!(chunks > 1);
        assert_eq!(all, text);
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
