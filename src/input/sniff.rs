//! What an input holds, recognised from its first bytes.
//!
//! Compression is recognised by magic bytes, never by the file name: gzip
//! (`1f 8b`), zstd (`28 b5 2f fd`, or a skippable frame `5? 2a 4d 18`), bzip2
//! (`BZh` + level digit), xz (`fd 37 7a 58 5a 00`). Behind it (or in a plain
//! file) the content is one of: a raw Windows event log (`ElfFile\0`), JSON
//! lines (the first non-blank byte is `{` and the first line is a whole
//! object), a CSV timeline (a `.csv`/`.tsv` name, or a header line naming
//! Timesketch's `message`/`datetime`/`timestamp` columns), or something that
//! is not read, with what it looks like and what to do
//! ([`Content::explain`]): zip and 7z archives, UTF-16 text, a JSON array or
//! pretty-printed JSON, other binary data.

use std::io::Read;

/// How many bytes are looked at.
pub const HEAD: usize = 64 * 1024;

/// A compression format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// gzip, including multi-member files (`pigz`, `bgzip`).
    Gzip,
    /// Zstandard, including multi-frame files.
    Zstd,
    /// bzip2, including concatenated streams (`pbzip2`).
    Bzip2,
    /// xz, including concatenated streams.
    Xz,
}

impl Compression {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Bzip2 => "bzip2",
            Compression::Xz => "xz",
        }
    }

    /// The compression the first bytes show, if any.
    pub fn of(head: &[u8]) -> Option<Compression> {
        if head.starts_with(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
            || (head.len() >= 4 && head[0] & 0xf0 == 0x50 && head[1..4] == [0x2a, 0x4d, 0x18])
        {
            Some(Compression::Zstd)
        } else if head.len() >= 4 && head.starts_with(b"BZh") && (b'1'..=b'9').contains(&head[3]) {
            Some(Compression::Bzip2)
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Some(Compression::Xz)
        } else {
            None
        }
    }

    /// File name suffixes of this compression.
    pub fn suffixes(self) -> &'static [&'static str] {
        match self {
            Compression::Gzip => &[".gz", ".gzip", ".bgz"],
            Compression::Zstd => &[".zst", ".zstd"],
            Compression::Bzip2 => &[".bz2"],
            Compression::Xz => &[".xz"],
        }
    }
}

/// What an input (after decompression) holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// Nothing at all.
    Empty,
    /// One JSON object per line.
    JsonLines,
    /// A CSV timeline with this field delimiter.
    Csv(u8),
    /// A raw Windows event log.
    Evtx,
    /// A zip archive.
    Zip,
    /// A 7-Zip archive.
    SevenZip,
    /// A tar archive (possibly what a compressed file held).
    Tar,
    /// UTF-16 text (with or without a byte order mark).
    Utf16,
    /// One JSON array (or one pretty-printed object) rather than one object per line.
    JsonDocument,
    /// Other binary data.
    Binary,
    /// Text that is neither JSON nor a recognised CSV header.
    Text,
}

impl Content {
    /// Short name for reports.
    pub fn name(&self) -> &'static str {
        match self {
            Content::Empty => "empty",
            Content::JsonLines => "jsonl",
            Content::Csv(b'\t') => "tsv",
            Content::Csv(_) => "csv",
            Content::Evtx => "evtx",
            Content::Zip => "zip",
            Content::SevenZip => "7z",
            Content::Tar => "tar",
            Content::Utf16 => "utf-16 text",
            Content::JsonDocument => "json document",
            Content::Binary => "binary",
            Content::Text => "text",
        }
    }

    /// Whether this content is read.
    pub fn is_supported(&self) -> bool {
        matches!(
            self,
            Content::Empty | Content::JsonLines | Content::Csv(_) | Content::Evtx
        )
    }

    /// What the input looks like and what to do, for content that is not
    /// read (or whose lines all failed to parse).
    pub fn explain(&self) -> (String, String) {
        let (what, hint) = match self {
            Content::Zip => (
                "a zip archive",
                "archives are not read: unzip it and give the folder (e.g. `unzip -d case/ FILE`)",
            ),
            Content::SevenZip => (
                "a 7-Zip archive",
                "archives are not read: extract it (`7z x FILE -ocase/`) and give the folder",
            ),
            Content::Tar => (
                "a tar archive",
                "archives are not read: extract it (`tar xf FILE -C case/`) and give the folder",
            ),
            Content::Utf16 => (
                "UTF-16 text (as PowerShell's `Out-File` and `>` write)",
                "convert it to UTF-8, e.g. `iconv -f UTF-16 -t UTF-8 FILE > FILE.utf8.jsonl`, or write it with `Out-File -Encoding utf8`",
            ),
            Content::JsonDocument => (
                "one JSON document (an array or a pretty-printed object), not one event per line",
                "turn it into JSON lines, e.g. `jq -c '.[]' FILE > FILE.jsonl` for an array (`jq -c . FILE` for concatenated objects)",
            ),
            Content::Binary => (
                "binary data of no known kind",
                "sigma-match reads JSON lines, CSV timelines and .evtx files, plain or compressed with gzip, zstd, bzip2 or xz",
            ),
            Content::Text => (
                "text that is neither JSON lines nor a CSV timeline with a header",
                "give JSON lines (Plaso `psort -o json_line`, `evtx_dump -o jsonl`), a CSV timeline with a header row naming `message`, `datetime` or `timestamp`, or name the file `.csv`",
            ),
            Content::Empty | Content::JsonLines | Content::Csv(_) | Content::Evtx => {
                ("event data", "")
            }
        };
        (what.to_string(), hint.to_string())
    }
}

/// What an input was recognised as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sniffed {
    /// The compression around the content, if any.
    pub compression: Option<Compression>,
    /// The content.
    pub content: Content,
}

impl Sniffed {
    /// E.g. `jsonl`, `csv+gzip`, `evtx`.
    pub fn describe(&self) -> String {
        match self.compression {
            Some(c) => format!("{}+{}", self.content.name(), c.name()),
            None => self.content.name().to_string(),
        }
    }
}

/// Reads up to [`HEAD`] bytes (fewer only at the end of the stream).
pub fn read_head(r: &mut dyn Read) -> std::io::Result<Vec<u8>> {
    let mut head = vec![0; HEAD];
    let mut n = 0;
    while n < HEAD {
        match r.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(n);
    Ok(head)
}

/// Recognises an input from its first bytes (`name` is used only to tell
/// CSV from other text, and for names inside compressed files).
pub fn sniff(head: &[u8], name: &str) -> Sniffed {
    match Compression::of(head) {
        Some(c) => {
            let inner_name = strip_suffix(name, c);
            let content = match super::decompress::peek(c, head) {
                Some(inner) => content(&inner, inner_name),
                // Too little decoded from the first bytes to tell (bzip2
                // decodes 900 KB blocks): go by the name inside, else JSON
                // lines (the decoder says what is wrong when it is read).
                None if inner_name.to_ascii_lowercase().ends_with(".evtx") => Content::Evtx,
                None => csv_name(inner_name).map_or(Content::JsonLines, Content::Csv),
            };
            Sniffed {
                compression: Some(c),
                content,
            }
        }
        None => Sniffed {
            compression: None,
            content: content(head, name),
        },
    }
}

fn strip_suffix(name: &str, c: Compression) -> &str {
    let lower = name.to_ascii_lowercase();
    for s in c.suffixes() {
        if lower.ends_with(s) {
            return &name[..name.len() - s.len()];
        }
    }
    name
}

/// Whether `name` says CSV / TSV.
fn csv_name(name: &str) -> Option<u8> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".csv") {
        Some(b',')
    } else if lower.ends_with(".tsv") {
        Some(b'\t')
    } else {
        None
    }
}

/// The content the (decompressed) first bytes show.
pub fn content(head: &[u8], name: &str) -> Content {
    if head.is_empty() {
        return Content::Empty;
    }
    if head.starts_with(b"ElfFile\0") {
        return Content::Evtx;
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Content::Zip;
    }
    if head.starts_with(b"7z\xBC\xAF\x27\x1C") {
        return Content::SevenZip;
    }
    if head.len() > 262 && &head[257..262] == b"ustar" {
        return Content::Tar;
    }
    if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") || looks_utf16(head) {
        return Content::Utf16;
    }
    let text = head.strip_prefix(super::lines::BOM).unwrap_or(head);
    let binary = text
        .iter()
        .take(4096)
        .any(|&b| b == 0 || (b < 0x20 && !b"\t\n\r\x0c".contains(&b)));
    if binary {
        return Content::Binary;
    }
    let trimmed = text.trim_ascii_start();
    if trimmed.is_empty() {
        return Content::Empty;
    }
    match trimmed[0] {
        b'{' => {
            // A pretty-printed document opens with a line that does not
            // hold a whole value (`{`, `{"a": 1,`, `"key": {`); JSON lines
            // (even broken ones) are read as lines.
            let first = trimmed.split(|b| *b == b'\n').next().unwrap_or(trimmed);
            let first = first.trim_ascii_end();
            let opens = first == b"{" || first.ends_with(b",") || first.ends_with(b"{") || first.ends_with(b"[");
            if opens && first.len() < trimmed.len() {
                Content::JsonDocument
            } else {
                Content::JsonLines
            }
        }
        b'[' => Content::JsonDocument,
        _ => {
            if let Some(d) = csv_name(name) {
                return Content::Csv(d);
            }
            let header = trimmed.split(|b| *b == b'\n').next().unwrap_or(trimmed);
            let header = String::from_utf8_lossy(header).to_ascii_lowercase();
            for d in [b',', b'\t', b';'] {
                let cols: Vec<&str> = header
                    .split(d as char)
                    .map(|c| c.trim().trim_matches('"'))
                    .collect();
                if cols.len() >= 2
                    && cols
                        .iter()
                        .any(|c| matches!(*c, "message" | "datetime" | "timestamp"))
                {
                    return Content::Csv(d);
                }
            }
            Content::Text
        }
    }
}

/// UTF-16 without a byte order mark: every other byte zero in ASCII text.
fn looks_utf16(head: &[u8]) -> bool {
    let n = head.len().min(512) & !1;
    if n < 8 {
        return false;
    }
    let zeros_even = head[..n].iter().step_by(2).filter(|b| **b == 0).count();
    let zeros_odd = head[1..n].iter().step_by(2).filter(|b| **b == 0).count();
    let half = n / 2;
    (zeros_odd * 10 >= half * 9 && zeros_even == 0) || (zeros_even * 10 >= half * 9 && zeros_odd == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(content(b"{\"a\":1}\n{\"b\":2}\n", "x"), Content::JsonLines);
        assert_eq!(content(b"\xEF\xBB\xBF{\"a\":1}\n", "x"), Content::JsonLines);
        assert_eq!(content(b"{\n  \"a\": 1\n}\n", "x"), Content::JsonDocument);
        assert_eq!(content(b"[{\"a\":1}]", "x"), Content::JsonDocument);
        assert_eq!(content(b"ElfFile\0rest", "x"), Content::Evtx);
        assert_eq!(content(b"PK\x03\x04....", "x"), Content::Zip);
        assert_eq!(content(b"\xFF\xFE{\0\"\0", "x"), Content::Utf16);
        assert_eq!(content(b"{\0\"\0a\0\"\0:\x001\0}\0\n\0", "x"), Content::Utf16);
        assert_eq!(
            content(b"\"message\",\"timestamp\",\"datetime\"\n\"a\",1,2\n", "x"),
            Content::Csv(b',')
        );
        assert_eq!(content(b"a,b\n1,2\n", "x.CSV"), Content::Csv(b','));
        assert_eq!(content(b"datetime\tmessage\n", "x"), Content::Csv(b'\t'));
        assert_eq!(content(b"hello world\n", "x"), Content::Text);
        assert_eq!(content(b"\x7fELF\x02\x01\x01\0", "x"), Content::Binary);
    }

    #[test]
    fn compression_magic() {
        assert_eq!(Compression::of(&[0x1f, 0x8b, 8]), Some(Compression::Gzip));
        assert_eq!(Compression::of(&[0x28, 0xb5, 0x2f, 0xfd]), Some(Compression::Zstd));
        assert_eq!(Compression::of(b"BZh9"), Some(Compression::Bzip2));
        assert_eq!(Compression::of(b"BZhx"), None);
        assert_eq!(Compression::of(b"\xfd7zXZ\0"), Some(Compression::Xz));
        assert_eq!(Compression::of(b"{\"a\":1}"), None);
    }
}
