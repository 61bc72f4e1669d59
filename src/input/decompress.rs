//! Decompressing streams: gzip, zstd, bzip2, xz.
//!
//! Each decoder reads a stream with bounded memory (the decoder's window plus
//! one chunk) and continues across members/frames/streams, as `zcat`,
//! `zstdcat`, `bzcat` and `xzcat` do: `pigz`/`bgzip` write multi-member gzip,
//! `zstd --long`/`pzstd` multi-frame zstd. The crates are `flate2` (with the
//! pure-Rust `zlib-rs` backend), `zstd` (the reference C library),
//! `bzip2` (pure-Rust `libbz2-rs-sys`) and `liblzma` (the xz C library); see
//! `docs/dependencies.md`.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::sniff::Compression;

/// A reader that counts the bytes read through it (compressed bytes, for
/// progress of a compressed input).
pub struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R> Counting<R> {
    /// Counts into `count`.
    pub fn new(inner: R, count: Arc<AtomicU64>) -> Self {
        Counting { inner, count }
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The input buffer size of the decoders.
const IN_BUF: usize = 256 * 1024;

/// A decoder of `c` over `r`. Errors carry what was being decoded.
pub fn decoder(c: Compression, r: Box<dyn Read + Send>, name: &str) -> Box<dyn Read + Send> {
    let inner: Box<dyn Read + Send> = match c {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(io::BufReader::with_capacity(
            IN_BUF, r,
        ))),
        Compression::Zstd => match zstd::stream::read::Decoder::with_buffer(io::BufReader::with_capacity(
            IN_BUF, r,
        )) {
            Ok(mut d) => {
                // Files made with `zstd --long` need a window past the default.
                let _ = d.window_log_max(31);
                Box::new(d)
            }
            Err(e) => Box::new(Failed(Some(e))),
        },
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(io::BufReader::with_capacity(
            IN_BUF, r,
        ))),
        Compression::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(
            io::BufReader::with_capacity(IN_BUF, r),
        )),
    };
    Box::new(Named {
        inner,
        what: format!("{} data", c.name()),
        _name: name.to_string(),
    })
}

/// Adds what was being decoded to error messages.
struct Named {
    inner: Box<dyn Read + Send>,
    what: String,
    _name: String,
}

impl Read for Named {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner
            .read(buf)
            .map_err(|e| io::Error::new(e.kind(), format!("{} damaged: {e}", self.what)))
    }
}

/// A reader that only returns an error (a decoder that could not be set up).
struct Failed(Option<io::Error>);

impl Read for Failed {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(self.0.take().unwrap_or_else(|| io::Error::other("decoder failed")))
    }
}

/// The first decoded bytes of `head` (a compressed input's first bytes), to
/// recognise what it holds; `None` when nothing could be decoded from them.
pub fn peek(c: Compression, head: &[u8]) -> Option<Vec<u8>> {
    let mut d = decoder(c, Box::new(io::Cursor::new(head.to_vec())), "");
    let mut out = vec![0; 8192];
    let mut n = 0;
    while n < out.len() {
        match d.read(&mut out[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    out.truncate(n);
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn all(c: Compression, data: Vec<u8>) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        decoder(c, Box::new(io::Cursor::new(data)), "t").read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn gzip_members_and_zstd_frames_are_all_read() {
        let mut two = gzip(b"{\"a\":1}\n");
        two.extend(gzip(b"{\"b\":2}\n"));
        assert_eq!(all(Compression::Gzip, two).unwrap(), b"{\"a\":1}\n{\"b\":2}\n");
        let mut z = zstd::encode_all(&b"{\"a\":1}\n"[..], 3).unwrap();
        z.extend(zstd::encode_all(&b"{\"b\":2}\n"[..], 3).unwrap());
        assert_eq!(all(Compression::Zstd, z).unwrap(), b"{\"a\":1}\n{\"b\":2}\n");
    }

    #[test]
    fn a_truncated_gzip_is_an_error_naming_gzip() {
        let mut g = gzip(&b"{\"a\":1}\n".repeat(1000));
        g.truncate(g.len() / 2);
        let e = all(Compression::Gzip, g).unwrap_err();
        assert!(e.to_string().contains("gzip data damaged"), "{e}");
    }

    #[test]
    fn peek_sees_the_content() {
        let g = gzip(b"{\"a\":1}\n");
        assert_eq!(peek(Compression::Gzip, &g).unwrap(), b"{\"a\":1}\n");
    }
}
