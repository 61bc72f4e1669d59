//! CSV timelines as JSON lines.
//!
//! This module owns reading CSV: Timesketch's CSV import format (a header
//! row with `message`, `datetime`, `timestamp_desc` and any other columns)
//! and Plaso's `psort` CSV output (`-o dynamic`, whose columns Timesketch
//! accepts). Rows are read with the `csv` crate (RFC 4180: quoted fields with
//! embedded delimiters, quotes and newlines; CRLF or LF; a UTF-8 byte order
//! mark before the header is dropped) with `csv-core`, the parser of the
//! `csv` crate, driven here directly so that every row keeps the exact line
//! it starts on (the `csv` crate's positions skip blank lines) and each becomes one JSON object whose
//! fields are its columns, so the engine and every output see them as JSON.
//!
//! Values follow Timesketch's importer (google/timesketch
//! `timesketch/lib/utils.py`, `read_and_validate_csv`): an empty cell is no
//! field at all (pandas reads it as NaN and the importer drops NaN values
//! with `row.dropna()`); a cell that is a JSON number (`4688`, `-1.5e3`) is a
//! number, as pandas' type inference makes it, so `EventID: 4688` compares
//! the same as on JSON input; everything else is a string, kept as written.
//! Unlike pandas, a row with more cells than the header is not an error: the
//! extra cells are kept as `Unnamed: N` (pandas' name for unnamed columns)
//! and a warning says so once per input; a row with fewer cells lacks the
//! missing columns. Duplicate header names get pandas' `.1`, `.2` suffixes.
//!
//! Each JSON line keeps the input line its row starts on, so reports say
//! `file.csv:LINE` with the line a text editor shows.

use std::io::Read;
use std::sync::Arc;

use super::background::{self, Msg, Receiver};
use super::{Bytes, Chunk, lines::CHUNK_SIZE};
use crate::error::InputError;

/// Reads CSV from `r` on its own thread.
pub fn spawn(name: &str, r: Box<dyn Read + Send>, delimiter: u8) -> Receiver {
    let path = name.to_string();
    background::spawn(name, move |tx| {
        let mut rows = Rows::new(r, delimiter);
        loop {
            match rows.next_chunk() {
                Ok(Some((chunk, warning))) => {
                    if let Some(w) = warning
                        && tx.send(Msg::Warning(format!("{path}: {w}"))).is_err()
                    {
                        return;
                    }
                    if tx.send(Msg::Chunk(chunk)).is_err() {
                        return;
                    }
                }
                Ok(None) => return,
                Err(source) => {
                    let _ = tx.send(Msg::Error(InputError::Damaged {
                        path,
                        what: "CSV".into(),
                        after: rows.read_bytes(),
                        partial: 0,
                        source,
                    }));
                    return;
                }
            }
        }
    })
}

/// CSV rows turned into chunks of JSON lines.
pub struct Rows {
    r: Box<dyn Read + Send>,
    core: csv_core::Reader,
    /// Input buffer and the unread part of it.
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    eof: bool,
    /// Bytes consumed so far.
    consumed: u64,
    /// Newlines consumed so far (the current line is one more).
    newlines: u64,
    /// The current record's fields and their ends.
    fields: Vec<u8>,
    ends: Vec<usize>,
    nfields: usize,
    /// JSON-encoded header names followed by `:`.
    keys: Vec<Vec<u8>>,
    header_read: bool,
    warned_extra: bool,
    done: bool,
}

impl Rows {
    /// Rows of `r`, fields separated by `delimiter`.
    pub fn new(r: Box<dyn Read + Send>, delimiter: u8) -> Rows {
        Rows {
            r,
            core: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            buf: vec![0; 64 * 1024],
            pos: 0,
            len: 0,
            eof: false,
            consumed: 0,
            newlines: 0,
            fields: vec![0; 4096],
            ends: vec![0; 64],
            nfields: 0,
            keys: Vec::new(),
            header_read: false,
            warned_extra: false,
            done: false,
        }
    }

    /// Bytes of CSV read so far.
    pub fn read_bytes(&self) -> u64 {
        self.consumed
    }

    fn fill(&mut self) -> std::io::Result<()> {
        if self.pos < self.len || self.eof {
            return Ok(());
        }
        loop {
            match self.r.read(&mut self.buf) {
                Ok(0) => {
                    self.eof = true;
                    self.pos = 0;
                    self.len = 0;
                    return Ok(());
                }
                Ok(n) => {
                    if self.consumed == 0 && self.newlines == 0 && self.buf[..n].starts_with(super::lines::BOM) {
                        self.pos = super::lines::BOM.len();
                        self.consumed = self.pos as u64;
                    } else {
                        self.pos = 0;
                    }
                    self.len = n;
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn eat(&mut self, n: usize) {
        let s = &self.buf[self.pos..self.pos + n];
        self.newlines += memchr::memchr_iter(b'\n', s).count() as u64;
        self.pos += n;
        self.consumed += n as u64;
    }

    /// Reads the next record into `fields`/`ends`; returns its starting line,
    /// `None` at the end. Blank lines between records are skipped, as the
    /// CSV parser does, but counted.
    fn read(&mut self) -> std::io::Result<Option<u64>> {
        // Skip line ends before the record, so its first byte gives its line.
        loop {
            self.fill()?;
            if self.pos >= self.len {
                if self.eof {
                    return Ok(None);
                }
                continue;
            }
            let skip = self.buf[self.pos..self.len]
                .iter()
                .take_while(|b| **b == b'\n' || **b == b'\r')
                .count();
            self.eat(skip);
            if self.pos < self.len {
                break;
            }
        }
        let line = self.newlines + 1;
        let (mut out, mut nend) = (0, 0);
        loop {
            self.fill()?;
            let input = &self.buf[self.pos..self.len];
            let (res, nin, nout, ne) = self
                .core
                .read_record(input, &mut self.fields[out..], &mut self.ends[nend..]);
            // `ends` are relative to the output slice given.
            for e in &mut self.ends[nend..nend + ne] {
                *e += out;
            }
            self.eat(nin);
            out += nout;
            nend += ne;
            match res {
                csv_core::ReadRecordResult::InputEmpty => {
                    if self.eof {
                        // Tell the parser the input ended.
                        continue;
                    }
                }
                csv_core::ReadRecordResult::OutputFull => {
                    let n = self.fields.len() * 2;
                    self.fields.resize(n, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    let n = self.ends.len() * 2;
                    self.ends.resize(n, 0);
                }
                csv_core::ReadRecordResult::Record => {
                    self.nfields = nend;
                    return Ok(Some(line));
                }
                csv_core::ReadRecordResult::End => {
                    if nend == 0 && out == 0 {
                        return Ok(None);
                    }
                    self.nfields = nend;
                    return Ok(Some(line));
                }
            }
        }
    }

    /// Field `i` of the current record.
    fn field(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.fields[start..self.ends[i]]
    }

    fn header(&mut self) -> std::io::Result<bool> {
        if self.read()?.is_none() {
            return Ok(false);
        }
        let mut seen: std::collections::HashMap<String, usize> = Default::default();
        for i in 0..self.nfields {
            let mut name = String::from_utf8_lossy(self.field(i)).trim().to_string();
            if name.is_empty() {
                name = format!("Unnamed: {i}");
            }
            let n = seen.entry(name.clone()).or_insert(0);
            if *n > 0 {
                name = format!("{name}.{n}");
            }
            *n += 1;
            self.keys.push(key(&name));
        }
        Ok(true)
    }

    /// The next chunk of JSON lines (with a warning to give), `None` at the end.
    pub fn next_chunk(&mut self) -> std::io::Result<Option<(Chunk, Option<String>)>> {
        if self.done {
            return Ok(None);
        }
        if !self.header_read {
            self.header_read = true;
            if !self.header()? {
                self.done = true;
                return Ok(None);
            }
        }
        let mut out = Vec::with_capacity(CHUNK_SIZE + CHUNK_SIZE / 8);
        let mut lines = Vec::new();
        let mut warning = None;
        while out.len() < CHUNK_SIZE {
            let Some(line) = self.read()? else {
                self.done = true;
                break;
            };
            let n = self.nfields;
            if n > self.keys.len() {
                if !self.warned_extra {
                    self.warned_extra = true;
                    warning = Some(format!(
                        "line {line}: {n} fields where the header names {}; extra fields kept as `Unnamed: N` (warned once)",
                        self.keys.len()
                    ));
                }
                for i in self.keys.len()..n {
                    self.keys.push(key(&format!("Unnamed: {i}")));
                }
            }
            out.push(b'{');
            let mut first = true;
            for i in 0..n {
                let cell = self.field(i);
                if cell.is_empty() {
                    continue;
                }
                if !first {
                    out.push(b',');
                }
                first = false;
                out.extend_from_slice(&self.keys[i]);
                value(&mut out, cell);
            }
            out.extend_from_slice(b"}\n");
            lines.push(line);
        }
        if lines.is_empty() {
            return Ok(None);
        }
        Ok(Some((
            Chunk {
                bytes: Bytes::Owned(Arc::new(out)),
                line_numbers: Some(lines.into()),
            },
            warning,
        )))
    }
}

/// `"name":` as JSON.
fn key(name: &str) -> Vec<u8> {
    let mut k = serde_json::to_vec(name).unwrap_or_else(|_| b"\"\"".to_vec());
    k.push(b':');
    k
}

/// A cell as a JSON value: a number when it is a JSON number, else a string.
fn value(out: &mut Vec<u8>, cell: &[u8]) {
    if is_json_number(cell) {
        out.extend_from_slice(cell);
        return;
    }
    let s = String::from_utf8_lossy(cell);
    let _ = serde_json::to_writer(&mut *out, s.as_ref());
}

/// Whether `s` is a number in JSON's grammar (RFC 8259 section 6).
pub fn is_json_number(s: &[u8]) -> bool {
    let mut i = 0;
    if s.get(i) == Some(&b'-') {
        i += 1;
    }
    match s.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while s.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        _ => return false,
    }
    if s.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while s.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(s.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let start = i;
        while s.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    i == s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(text: &str) -> (String, Vec<u64>, Option<String>) {
        let mut rows = Rows::new(Box::new(std::io::Cursor::new(text.as_bytes().to_vec())), b',');
        let mut out = String::new();
        let mut lines = Vec::new();
        let mut warn = None;
        while let Some((c, w)) = rows.next_chunk().unwrap() {
            out.push_str(std::str::from_utf8(c.bytes.as_slice()).unwrap());
            lines.extend(c.line_numbers.unwrap().iter());
            warn = warn.or(w);
        }
        (out, lines, warn)
    }

    #[test]
    fn rows_become_json_objects_with_their_lines() {
        let (j, l, w) = convert(
            "\u{feff}message,timestamp,datetime,EventID\r\n\"a, \"\"quoted\"\"\nline\",1437764461000000,2015-07-24T19:01:01+00:00,4688\r\nb,,x,007\r\n",
        );
        assert_eq!(
            j,
            "{\"message\":\"a, \\\"quoted\\\"\\nline\",\"timestamp\":1437764461000000,\"datetime\":\"2015-07-24T19:01:01+00:00\",\"EventID\":4688}\n\
             {\"message\":\"b\",\"datetime\":\"x\",\"EventID\":\"007\"}\n"
        );
        assert_eq!(l, vec![2, 4]);
        assert_eq!(w, None);
    }

    #[test]
    fn missing_and_extra_columns() {
        let (j, l, w) = convert("a,b\n1\n\n1,2,3\n");
        assert_eq!(j, "{\"a\":1}\n{\"a\":1,\"b\":2,\"Unnamed: 2\":3}\n");
        assert_eq!(l, vec![2, 4]);
        assert!(w.unwrap().starts_with("line 4: 3 fields"));
    }

    #[test]
    fn duplicate_and_empty_header_names() {
        let (j, _, _) = convert("a,a,\nx,y,z\n");
        assert_eq!(j, "{\"a\":\"x\",\"a.1\":\"y\",\"Unnamed: 2\":\"z\"}\n");
    }

    #[test]
    fn json_numbers() {
        for n in ["0", "-1", "12.5", "1e9", "-0.5E-3"] {
            assert!(is_json_number(n.as_bytes()), "{n}");
        }
        for n in ["", "-", "01", "1.", ".5", "+1", "1e", "0x10", "12a", "NaN"] {
            assert!(!is_json_number(n.as_bytes()), "{n}");
        }
    }
}
