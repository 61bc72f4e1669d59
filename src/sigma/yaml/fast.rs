//! A fast path for the plain block style most rule files are written in.
//!
//! saphyr's scanner reads a document character by character through a
//! lookahead buffer (about 90 instructions per byte of a SigmaHQ rule). Rule
//! files use a small part of YAML: block mappings and sequences, one-line
//! plain and quoted scalars, `|` literal blocks and comments. This reader
//! accepts exactly that part, line by line, and builds the same [`Node`] tree
//! saphyr's events give ([`super::load_documents`]): the same scalar
//! resolution (it calls the same function), the same positions.
//!
//! It never reports an error: anything outside that part or anything it
//! doubts (tabs, CR, control characters, document markers and directives,
//! flow collections, anchors, aliases, tags, `?` keys, folded or indicated
//! block scalars, multi-line plain or quoted scalars, escapes other than
//! `\\ \" \/ \n \t`, unexpected indentation, duplicate keys, a line where a
//! key should be that is not one) makes it return `None`, and the caller
//! parses the text with saphyr from the start, so every error message and
//! every tree outside the fast path is saphyr's. A corpus test
//! (`tests/yaml_fast_path.rs`) compares both trees on every rule file of the
//! shared snapshot and on mutated copies of them.

use std::borrow::Cow;

use saphyr_parser::ScalarStyle;

use super::{Node, Pos, Value, scalar};

/// The tree of a one-document text in the accepted style, or `None`.
pub(super) fn load(text: &str) -> Option<Vec<Node>> {
    let ascii = acceptable_chars(text)?;
    let mut p = Reader::new(text, ascii)?;
    let line = p.cur?;
    if line.indent != 0 {
        return None;
    }
    let root = p.block(line)?;
    if p.cur.is_some() {
        return None;
    }
    Some(vec![root])
}

/// No tab, CR, control character, byte order mark or Unicode line break:
/// `Some(whether the text is all ASCII)`, or `None`.
fn acceptable_chars(text: &str) -> Option<bool> {
    let b = text.as_bytes();
    // Without short-circuits, so that it compiles to vector code.
    let (bad, high) = b.iter().fold((false, false), |(bad, high), &c| {
        (
            bad | ((c < 0x20) & (c != b'\n')) | (c == 0x7f),
            high | (c >= 0x80),
        )
    });
    if bad {
        return None;
    }
    if !high {
        return Some(true);
    }
    let odd = text.chars().any(|c| {
        matches!(c, '\u{80}'..='\u{a0}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}')
    });
    (!odd).then_some(false)
}

/// The unread rest of a line: from byte `off`, which is at column `indent`
/// (spaces before it, or `- ` of a sequence entry on the same line).
#[derive(Clone, Copy)]
struct Line {
    /// Index into `Reader::lines`.
    idx: usize,
    indent: usize,
    off: usize,
}

struct Reader<'a> {
    text: &'a str,
    b: &'a [u8],
    /// Byte range of each line, without its `\n`.
    lines: Vec<(usize, usize)>,
    /// The next content line (not blank, not only a comment), if any.
    cur: Option<Line>,
    /// The whole text is ASCII (a column is a byte offset).
    ascii: bool,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str, ascii: bool) -> Option<Reader<'a>> {
        let b = text.as_bytes();
        let mut lines = Vec::with_capacity(b.len() / 24 + 1);
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', b) {
            lines.push((start, nl));
            start = nl + 1;
        }
        if start < b.len() {
            lines.push((start, b.len()));
        }
        for &(s, e) in &lines {
            let l = &b[s..e];
            if l.starts_with(b"---") || l.starts_with(b"...") || l.starts_with(b"%") {
                return None;
            }
        }
        let mut r = Reader {
            text,
            b,
            lines,
            cur: None,
            ascii,
        };
        r.cur = r.content_from(0);
        Some(r)
    }

    /// The first content line at or after line `idx`.
    fn content_from(&self, mut idx: usize) -> Option<Line> {
        while idx < self.lines.len() {
            let (s, e) = self.lines[idx];
            let mut off = s;
            while off < e && self.b[off] == b' ' {
                off += 1;
            }
            if off < e && self.b[off] != b'#' {
                return Some(Line {
                    idx,
                    indent: off - s,
                    off,
                });
            }
            idx += 1;
        }
        None
    }

    fn end(&self, l: Line) -> usize {
        self.lines[l.idx].1
    }

    fn byte(&self, i: usize, end: usize) -> Option<u8> {
        (i < end).then(|| self.b[i])
    }

    /// 1-based line, 1-based column in characters (as saphyr counts).
    fn pos(&self, idx: usize, off: usize) -> Pos {
        let s = self.lines[idx].0;
        let col = if self.ascii || self.b[s..off].is_ascii() {
            off - s
        } else {
            self.text[s..off].chars().count()
        };
        Pos {
            line: idx + 1,
            col: col + 1,
        }
    }

    /// A blank (space) or the end of the line at `i`.
    fn blank_or_end(&self, i: usize, end: usize) -> bool {
        i >= end || self.b[i] == b' '
    }

    /// What ends the plain scalar that starts at `from` (not a `#`) on a
    /// line ending at `end`: the first `:` followed by a blank or the end
    /// of the line (a key's colon), the first ` #` (a comment), or the end
    /// of the line. A key ends at the colon; a value may not hold one.
    fn plain_end(&self, from: usize, end: usize) -> PlainEnd {
        let mut i = from;
        while let Some(p) = memchr::memchr2(b':', b'#', &self.b[i..end]) {
            let p = i + p;
            if self.b[p] == b':' {
                if self.blank_or_end(p + 1, end) {
                    return PlainEnd::Colon(p);
                }
            } else if self.b[p - 1] == b' ' {
                return PlainEnd::Comment(p);
            }
            i = p + 1;
        }
        PlainEnd::Line
    }

    fn is_dash(&self, l: Line) -> bool {
        self.b[l.off] == b'-' && self.blank_or_end(l.off + 1, self.end(l))
    }

    /// Only spaces, then the end of the line or a comment.
    fn rest_is_empty(&self, mut i: usize, end: usize) -> bool {
        let start = i;
        while i < end && self.b[i] == b' ' {
            i += 1;
        }
        i >= end || (self.b[i] == b'#' && i > start)
    }

    /// Moves to the first content line after line `idx`.
    fn next_line(&mut self, idx: usize) {
        self.cur = self.content_from(idx + 1);
    }

    /// A block collection starting at `l` (a sequence if it starts with `- `).
    fn block(&mut self, l: Line) -> Option<Node> {
        if self.is_dash(l) {
            self.seq(l, false)
        } else {
            self.map(l)
        }
    }

    /// A block sequence; `indentless` for one at the indentation of the
    /// mapping whose value it is, which saphyr places at its first item.
    fn seq(&mut self, first: Line, indentless: bool) -> Option<Node> {
        let n = first.indent;
        let mut pos = self.pos(first.idx, first.off);
        let mut items = Vec::new();
        while let Some(l) = self.cur {
            if l.indent < n {
                break;
            }
            if l.indent > n {
                return None;
            }
            if !self.is_dash(l) {
                break;
            }
            let end = self.end(l);
            let mut off = l.off + 1;
            while off < end && self.b[off] == b' ' {
                off += 1;
            }
            if self.rest_is_empty(off, end) {
                return None;
            }
            let item = Line {
                idx: l.idx,
                indent: off - self.lines[l.idx].0,
                off,
            };
            if self.is_dash(item) {
                return None;
            }
            if indentless && items.is_empty() {
                pos = self.pos(item.idx, item.off);
            }
            let node = if self.key_end(item).is_some() {
                self.cur = Some(item);
                self.map(item)?
            } else {
                let node = self.inline_scalar(item)?;
                self.next_line(l.idx);
                node
            };
            items.push(node);
        }
        Some(Node {
            pos,
            value: Value::Seq(items),
        })
    }

    fn map(&mut self, first: Line) -> Option<Node> {
        let n = first.indent;
        let pos = self.pos(first.idx, first.off);
        let mut entries: Vec<(Node, Node)> = Vec::new();
        while let Some(l) = self.cur {
            if l.indent < n {
                break;
            }
            if l.indent > n {
                return None;
            }
            let (key, after) = self.key(l)?;
            if entries.iter().any(|(e, _)| e.value == key.value) {
                return None;
            }
            let end = self.end(l);
            let mut off = after;
            while off < end && self.b[off] == b' ' {
                off += 1;
            }
            let value = if self.rest_is_empty(after, end) {
                self.next_line(l.idx);
                match self.cur {
                    Some(v) if v.indent > n => self.block(v)?,
                    Some(v) if v.indent == n && self.is_dash(v) => self.seq(v, true)?,
                    _ => return None,
                }
            } else if self.b[off] == b'|' {
                self.literal(l, off, n)?
            } else {
                let node = self.inline_scalar(Line {
                    idx: l.idx,
                    indent: 0,
                    off,
                })?;
                self.next_line(l.idx);
                node
            };
            entries.push((key, value));
        }
        Some(Node {
            pos,
            value: Value::Map(entries),
        })
    }

    /// Where the key at `l` ends (the byte after its `:`), if `l` starts
    /// with a one-line key followed by `: ` or `:` at the end of the line.
    fn key_end(&self, l: Line) -> Option<usize> {
        let end = self.end(l);
        let i = match self.b[l.off] {
            q @ (b'\'' | b'"') => self.quoted_end(l.off, end, q)?,
            c => {
                if !plain_start(c, self.byte(l.off + 1, end)) {
                    return None;
                }
                match self.plain_end(l.off, end) {
                    PlainEnd::Colon(p) if p - l.off <= 1000 => p,
                    _ => return None,
                }
            }
        };
        (self.byte(i, end) == Some(b':') && self.blank_or_end(i + 1, end)).then_some(i + 1)
    }

    /// The key node at `l` and the byte after its `:`.
    fn key(&self, l: Line) -> Option<(Node, usize)> {
        let after = self.key_end(l)?;
        let pos = self.pos(l.idx, l.off);
        let value = match self.b[l.off] {
            b'\'' | b'"' => self.quoted(l.off, after - 1)?,
            _ => {
                plain(self.text[l.off..after - 1].trim_end_matches(' '))
            }
        };
        Some((Node { pos, value }, after))
    }

    /// The byte after the closing quote of the quoted scalar at `start`.
    fn quoted_end(&self, start: usize, end: usize, q: u8) -> Option<usize> {
        let mut i = start + 1;
        loop {
            if q == b'\'' {
                let p = i + memchr::memchr(q, &self.b[i..end])?;
                if self.byte(p + 1, end) == Some(b'\'') {
                    i = p + 2;
                    continue;
                }
                return Some(p + 1);
            }
            let p = i + memchr::memchr2(q, b'\\', &self.b[i..end])?;
            if self.b[p] == q {
                return Some(p + 1);
            }
            i = p + 2;
            if i > end {
                return None;
            }
        }
    }

    /// The value of the quoted scalar `start..stop` (quotes included).
    fn quoted(&self, start: usize, stop: usize) -> Option<Value> {
        let inner = &self.text[start + 1..stop - 1];
        if self.b[start] == b'\'' {
            let v = if inner.contains('\'') {
                Cow::Owned(inner.replace("''", "'"))
            } else {
                Cow::Borrowed(inner)
            };
            return Some(scalar(v, ScalarStyle::SingleQuoted, None));
        }
        let v = if inner.contains('\\') {
            let mut s = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c != '\\' {
                    s.push(c);
                    continue;
                }
                s.push(match chars.next()? {
                    '\\' => '\\',
                    '"' => '"',
                    '/' => '/',
                    'n' => '\n',
                    't' => '\t',
                    _ => return None,
                });
            }
            Cow::Owned(s)
        } else {
            Cow::Borrowed(inner)
        };
        Some(scalar(v, ScalarStyle::DoubleQuoted, None))
    }

    /// A one-line plain or quoted scalar at `l.off`, alone on the rest of
    /// its line (a comment may follow).
    fn inline_scalar(&self, l: Line) -> Option<Node> {
        let end = self.end(l);
        let pos = self.pos(l.idx, l.off);
        let value = match self.b[l.off] {
            q @ (b'\'' | b'"') => {
                let stop = self.quoted_end(l.off, end, q)?;
                if !self.rest_is_empty(stop, end) || (stop < end && self.b[stop] == b'#') {
                    return None;
                }
                self.quoted(l.off, stop)?
            }
            c => {
                if !plain_start(c, self.byte(l.off + 1, end)) {
                    return None;
                }
                let stop = match self.plain_end(l.off, end) {
                    PlainEnd::Colon(_) => return None,
                    PlainEnd::Comment(p) => p,
                    PlainEnd::Line => end,
                };
                plain(self.text[l.off..stop].trim_end_matches(' '))
            }
        };
        Some(Node { pos, value })
    }

    /// A `|` literal block scalar (clip chomping, indentation detected) as
    /// the value of a mapping entry at indentation `n` on line `l`.
    fn literal(&mut self, l: Line, bar: usize, n: usize) -> Option<Node> {
        let end = self.end(l);
        if !self.rest_is_empty(bar + 1, end) || self.byte(bar + 1, end) == Some(b'#') {
            return None;
        }
        let mut idx = l.idx + 1;
        let (s, e) = *self.lines.get(idx)?;
        let m = self.b[s..e].iter().take_while(|&&c| c == b' ').count();
        if m <= n || s + m == e {
            return None;
        }
        // saphyr's position of a literal block is where its text starts.
        let pos = self.pos(idx, s + m);
        let mut out = String::new();
        let mut blanks = 0;
        let mut last_content = idx;
        while let Some(&(s, e)) = self.lines.get(idx) {
            let line = &self.b[s..e];
            let spaces = line.iter().take_while(|&&c| c == b' ').count();
            if spaces == line.len() {
                if spaces > m {
                    return None;
                }
                blanks += 1;
            } else if spaces >= m {
                for _ in 0..blanks {
                    out.push('\n');
                }
                blanks = 0;
                out.push_str(&self.text[s + m..e]);
                out.push('\n');
                last_content = idx;
            } else {
                break;
            }
            idx += 1;
        }
        if last_content + 1 == self.lines.len() && !self.text.ends_with('\n') {
            return None;
        }
        self.next_line(last_content);
        if let Some(c) = self.cur
            && c.indent > n
        {
            return None;
        }
        Some(Node {
            pos,
            value: scalar(Cow::Owned(out), ScalarStyle::Literal, None),
        })
    }
}

/// A plain scalar's value: [`scalar`]'s resolution, whose answer is a
/// string for any text without a digit that does not start like `~`,
/// `null`, `true`, `false`, `.inf`, `.nan` or a sign (the core schema's
/// null, booleans and numbers), which is most of a rule's text.
fn plain(raw: &str) -> Value {
    let b = raw.as_bytes();
    if !b.is_empty()
        && !matches!(b[0], b'~' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'.' | b'+' | b'-')
        && !b.iter().any(u8::is_ascii_digit)
    {
        return Value::Str(raw.to_owned());
    }
    scalar(Cow::Borrowed(raw), ScalarStyle::Plain, None)
}

/// What ends a plain scalar on its line ([`Reader::plain_end`]).
enum PlainEnd {
    /// A `:` followed by a blank or the end of the line, at this byte.
    Colon(usize),
    /// A `#` after a space, at this byte.
    Comment(usize),
    /// Neither: the end of the line.
    Line,
}

/// Whether a plain scalar may start with `c` (followed by `next`) in block
/// context.
fn plain_start(c: u8, next: Option<u8>) -> bool {
    match c {
        b'-' | b'?' | b':' => matches!(next, Some(n) if n != b' '),
        b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\''
        | b'"' | b'%' | b'@' | b'`' | b' ' => false,
        _ => true,
    }
}
