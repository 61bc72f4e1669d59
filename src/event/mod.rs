//! One JSON event, seen through the fields a ruleset needs.
//!
//! This module owns generic event access. An [`EventView`] is per-thread
//! scratch: it parses one JSON line with `simd-json`'s tape (no DOM, no
//! per-key allocation), walks it once, and keeps only the values of fields
//! the compiled ruleset references ([`FieldIndex`]) as written (case folding
//! is left to the matcher, which needs it only for values its memo has not
//! seen). Strings are not copied: simd-json unescapes them in place, and the
//! view keeps their ranges of the parsed line (see `Span`); only numbers and
//! values a format derives are written to the view's own text. Nested objects are addressed with dotted paths
//! (`Event.EventData.Image`).
//!
//! What one exporter's JSON means beyond that lives in its format module,
//! which the walk calls through a few hooks (`formats`, below):
//!
//! | module | format | adds |
//! |---|---|---|
//! | [`timesketch`] | Timesketch JSONL | where its time is (`datetime`) |
//! | [`plaso`] | Plaso `json_line` | fields from `xml_string`, record identity, hex padding, the host-name alias, time (`timestamp`) |
//! | [`evtx_dump`] | `evtx_dump` JSON | flat Sigma names of `Event.*` paths, time (`SystemTime`) |
//!
//! [`evtx`] holds the EVTX record conventions the Plaso XML and `evtx_dump`
//! share. Adding a format is one module with its hooks and one line in
//! each hook of `formats`.

use rustc_hash::FxHashMap;

use simd_json::{Node, StaticNode};

mod fold;
pub use fold::{fold_case, lower_into};

pub mod evtx;
pub mod evtx_dump;
pub mod plaso;
pub mod time;
pub mod timesketch;

/// Interned field number.
pub type FieldId = u32;

/// The kind of a JSON value kept for matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Num,
    Bool,
    Null,
}

/// A value seen by matchers: the raw text (numbers and booleans as JSON
/// prints them). Its case-folded form is made on demand ([`Val::folded`]):
/// most values are only looked up in the scan memo, never folded.
#[derive(Debug, Clone, Copy)]
pub struct Val<'a> {
    pub kind: Kind,
    pub raw: &'a str,
}

impl<'a> Val<'a> {
    /// The case-folded value ([`fold_case`]), borrowed when folding would
    /// not change it.
    pub fn folded(&self) -> std::borrow::Cow<'a, str> {
        fold_case_cow(self.raw)
    }
}

/// [`fold_case`], borrowing `s` when it is already folded.
fn fold_case_cow(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii()) {
        std::borrow::Cow::Owned(fold_case(s))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// The fields a ruleset references, by name.
#[derive(Debug, Clone, Default)]
pub struct FieldIndex {
    names: Vec<String>,
    map: FxHashMap<String, FieldId>,
    /// Keyword (field-less) search: `None` = no rule uses keywords,
    /// `Some(None)` = search every string value, `Some(Some(ids))` = only
    /// these fields.
    keywords: Option<Option<Vec<FieldId>>>,
    /// Changes whenever the names change (0: no name yet), so that what a
    /// view derived from an index (Plaso's selected XML fields) can be
    /// known to still hold.
    stamp: u64,
}

impl FieldIndex {
    pub fn intern(&mut self, name: &str) -> FieldId {
        if let Some(&id) = self.map.get(name) {
            return id;
        }
        self.restamp();
        let id = self.names.len() as FieldId;
        self.names.push(name.to_string());
        self.map.insert(name.to_string(), id);
        id
    }

    /// Forgets the fields interned after the first `n` (a failed rule's).
    pub fn truncate(&mut self, n: usize) {
        self.restamp();
        for name in self.names.drain(n.min(self.names.len())..) {
            self.map.remove(&name);
        }
    }

    fn restamp(&mut self) {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        self.stamp = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Equal for two indexes only when their names are (a clone keeps the
    /// stamp until either changes).
    pub(crate) fn stamp(&self) -> u64 {
        self.stamp
    }

    pub fn get(&self, name: &str) -> Option<FieldId> {
        self.map.get(name).copied()
    }

    pub fn name(&self, id: FieldId) -> &str {
        &self.names[id as usize]
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // pairs with len
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }


    /// Declares that keyword items exist; `fields` restricts which fields
    /// they search (`None`: all string values, like a full-text search).
    pub fn set_keyword_fields(&mut self, fields: Option<&[String]>) {
        let ids = fields.map(|f| f.iter().map(|n| self.intern(n)).collect());
        self.keywords = Some(ids);
    }
}

/// Why a line is not an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The line is not valid JSON (the parser's message).
    #[error("invalid JSON: {0}")]
    Json(String),
    /// The line is JSON but not an object (what it is instead).
    #[error("not a JSON object (found {0})")]
    NotObject(&'static str),
    /// Invalid UTF-8 at a byte offset of the line (0-based; the column
    /// shown is 1-based).
    #[error("invalid UTF-8 at byte {} of the line (bytes {bytes})", offset + 1)]
    Utf8 {
        /// 0-based byte offset of the first invalid byte.
        offset: usize,
        /// The invalid bytes, in hex (`ff fe`).
        bytes: String,
    },
}

/// The error for a line that failed to parse: its first invalid UTF-8
/// byte when it has one (simd-json reports those at character 0), else
/// the parser's message.
fn json_error(line: &[u8], e: impl std::fmt::Display) -> EventError {
    match std::str::from_utf8(line) {
        Err(u) => {
            let at = u.valid_up_to();
            let end = (at + u.error_len().unwrap_or(line.len() - at)).min(line.len());
            let bytes = line[at..end]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ");
            EventError::Utf8 { offset: at, bytes }
        }
        Ok(_) => EventError::Json(e.to_string()),
    }
}

#[derive(Debug, Clone, Copy)]
struct Rec {
    kind: Kind,
    /// Also searched by keyword items.
    keyword: bool,
    raw: Span,
    next: u32,
}

/// Where a kept text is: a range of the parsed line (a string of the tape,
/// borrowed: simd-json unescapes strings in place), or of the view's own
/// text (values formatted or derived while loading).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    at: u32,
    end: u32,
    in_line: bool,
}

/// The text of `span`, given the view's `text` and `line`. A free function,
/// so that callers can borrow other fields of the view meanwhile.
#[inline]
fn span_str<'a>(text: &'a str, line: &'a [u8], span: Span) -> &'a str {
    let (a, b) = (span.at as usize, span.end as usize);
    if span.in_line {
        // SAFETY: `line[a..b]` was the bytes of a `&str` that simd-json's
        // tape held (it validates UTF-8 and unescapes strings in place, in
        // the line buffer), and the line buffer is neither written nor
        // reallocated until the next `load` forgets every span first.
        unsafe { std::str::from_utf8_unchecked(&line[a..b]) }
    } else {
        &text[a..b]
    }
}

const NONE: u32 = u32::MAX;

/// Where a value pushed into an [`EventView`] comes from. Keyword
/// (field-less) items search only string values written in the event itself,
/// never values a format derived from them (Plaso `xml_string` fields, host
/// aliases, short hex forms), which would repeat what is already searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A value of the event as read (numbers, booleans and null are never
    /// searched by keywords either: only strings are).
    Event,
    /// A value a format module derived from the event.
    Derived,
}

/// Per-thread scratch holding the extracted fields of the current event.
pub struct EventView {
    generation: u32,
    field_gen: Vec<u32>,
    field_head: Vec<u32>,
    present: Vec<FieldId>,
    recs: Vec<Rec>,
    keyword_recs: Vec<u32>,
    /// Kept texts that are not in the line (see [`Span`]).
    text: String,
    /// The line being parsed, with simd-json's padding after it; the tape's
    /// strings point into it.
    line: Vec<u8>,
    /// While the line is walked: the address range of its bytes, to tell
    /// which pushed texts are in it.
    line_at: (usize, usize),
    buffers: simd_json::Buffers,
    tape: Option<simd_json::Tape<'static>>,
    path: String,
    /// Per-event state of the formats ([`formats`]).
    plaso: plaso::State,
    evtx: evtx::State,
    /// What the formats may add to events.
    pub options: FormatOptions,
}

/// Switches for what the format modules add to events; all on by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatOptions {
    /// Plaso: resolve absent fields of Windows records from `xml_string`
    /// (off: `--no-evtx-xml`).
    pub evtx_xml: bool,
    /// Plaso: `hostname` and `computer_name` stand in for each other
    /// (`event::plaso::HOST_NAME_ALIAS`; off: `--no-host-alias`).
    pub host_name_alias: bool,
}

impl Default for FormatOptions {
    fn default() -> Self {
        FormatOptions {
            evtx_xml: true,
            host_name_alias: true,
        }
    }
}

impl Default for EventView {
    fn default() -> Self {
        EventView {
            generation: 0,
            field_gen: Vec::new(),
            field_head: Vec::new(),
            present: Vec::new(),
            recs: Vec::new(),
            keyword_recs: Vec::new(),
            text: String::new(),
            line: Vec::new(),
            line_at: (0, 0),
            buffers: simd_json::Buffers::new(4096),
            tape: Some(simd_json::Tape::null().reset()),
            path: String::new(),
            plaso: plaso::State::default(),
            evtx: evtx::State::default(),
            options: FormatOptions::default(),
        }
    }
}

impl EventView {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses one JSON line and extracts the indexed fields.
    pub fn load(&mut self, line: &[u8], index: &FieldIndex) -> Result<(), EventError> {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.field_gen.iter_mut().for_each(|g| *g = 0);
            self.generation = 1;
        }
        if self.field_gen.len() < index.len() {
            self.field_gen.resize(index.len(), 0);
            self.field_head.resize(index.len(), NONE);
        }
        self.present.clear();
        self.recs.clear();
        self.keyword_recs.clear();
        self.text.clear();
        formats::start(self);
        // The line and simd-json's padding: parsing it in place saves the
        // padded copy `fill_tape` would make.
        self.line.clear();
        self.line.extend_from_slice(line);
        self.line.resize(line.len() + simd_json::INPUT_PADDING, 0);
        let original = line;
        let len = line.len();
        let mut line = std::mem::take(&mut self.line);
        self.line_at = (line.as_ptr() as usize, len);
        let mut tape = self
            .tape
            .take()
            .unwrap_or_else(|| simd_json::Tape::null().reset())
            .reset();
        let result = match simd_json::fill_tape_padded(&mut line, len, &mut self.buffers, &mut tape)
        {
            Err(e) => Err(json_error(original, e)),
            Ok(()) => match tape.0.first() {
                Some(Node::Object { .. }) => {
                    self.path.clear();
                    let mut i = 0;
                    self.walk(&tape.0, &mut i, index, 0);
                    Ok(())
                }
                Some(Node::Array { .. }) => Err(EventError::NotObject("an array")),
                Some(Node::String(_)) => Err(EventError::NotObject("a string")),
                _ => Err(EventError::NotObject("a scalar")),
            },
        };
        self.tape = Some(tape.reset());
        self.line = line;
        if result.is_ok() {
            formats::finish(self, index);
        }
        result
    }

    fn push(&mut self, index: &FieldIndex, name: &str, kind: Kind, raw: &str, origin: Origin) {
        self.push_id(index, index.get(name), kind, raw, origin);
    }

    /// [`Self::push`] with the field's id already looked up (`None`: not
    /// referenced; kept only when keyword items search it).
    fn push_id(
        &mut self,
        index: &FieldIndex,
        id: Option<FieldId>,
        kind: Kind,
        raw: &str,
        origin: Origin,
    ) {
        let want_kw = origin == Origin::Event
            && kind == Kind::Str
            && match &index.keywords {
                None => false,
                Some(None) => true,
                Some(Some(ids)) => id.is_some_and(|i| ids.contains(&i)),
            };
        if id.is_none() && !want_kw {
            return;
        }
        let rec = Rec {
            kind,
            keyword: want_kw,
            raw: self.keep(raw),
            next: NONE,
        };
        let ri = self.recs.len() as u32;
        self.recs.push(rec);
        if want_kw {
            self.keyword_recs.push(ri);
        }
        if let Some(id) = id {
            let f = id as usize;
            if self.field_gen[f] != self.generation {
                self.field_gen[f] = self.generation;
                self.field_head[f] = NONE;
                self.present.push(id);
            }
            self.recs[ri as usize].next = self.field_head[f];
            self.field_head[f] = ri;
        }
    }

    /// Records a field as present with a JSON `null`.
    fn scalar(&mut self, index: &FieldIndex, name: &str, node: &Node) {
        let id = index.get(name);
        if let Node::String(s) = node {
            return self.push_id(index, id, Kind::Str, s, Origin::Event);
        }
        // Only strings are searched by keyword items: other values of a
        // field no rule references are not kept (nor formatted).
        if id.is_none() {
            return;
        }
        let mut buf = itoa_buf();
        match node {
            Node::String(_) => {}
            Node::Static(StaticNode::Null) => self.push_id(index, id, Kind::Null, "", Origin::Event),
            Node::Static(StaticNode::Bool(b)) => self.push_id(
                index,
                id,
                Kind::Bool,
                if *b { "true" } else { "false" },
                Origin::Event,
            ),
            Node::Static(StaticNode::I64(n)) => {
                let s = fmt_num(&mut buf, *n as i128);
                self.push_id(index, id, Kind::Num, s, Origin::Event)
            }
            Node::Static(StaticNode::U64(n)) => {
                let s = fmt_num(&mut buf, *n as i128);
                self.push_id(index, id, Kind::Num, s, Origin::Event)
            }
            Node::Static(StaticNode::F64(f)) => {
                let s = if f.fract() == 0.0 && f.abs() < 1e15 {
                    format!("{}", *f as i64)
                } else {
                    f.to_string()
                };
                self.push_id(index, id, Kind::Num, &s, Origin::Event)
            }
            _ => {}
        }
    }

    fn walk(&mut self, nodes: &[Node], i: &mut usize, index: &FieldIndex, depth: usize) {
        let Some(node) = nodes.get(*i) else { return };
        match *node {
            Node::Object { len, count } => {
                *i += 1;
                if depth > 64 {
                    *i += count;
                    return;
                }
                let base = self.path.len();
                for _ in 0..len {
                    let Some(Node::String(key)) = nodes.get(*i) else {
                        return;
                    };
                    *i += 1;
                    if depth == 0 {
                        formats::top_key(self, key, nodes.get(*i));
                        // A top-level scalar (most of them): its path is
                        // its key, no need to build it.
                        if let Some(node) = nodes.get(*i)
                            && !matches!(node, Node::Object { .. } | Node::Array { .. })
                        {
                            *i += 1;
                            self.scalar(index, key, node);
                            formats::scalar(self, index, key, node);
                            continue;
                        }
                    }
                    if base > 0 {
                        self.path.push('.');
                    }
                    self.path.push_str(key);
                    self.walk(nodes, i, index, depth + 1);
                    self.path.truncate(base);
                }
            }
            Node::Array { len, count } => {
                *i += 1;
                if depth > 64 {
                    *i += count;
                    return;
                }
                for _ in 0..len {
                    self.walk(nodes, i, index, depth + 1);
                }
            }
            ref scalar => {
                *i += 1;
                let path = std::mem::take(&mut self.path);
                self.scalar(index, &path, scalar);
                formats::scalar(self, index, &path, scalar);
                self.path = path;
            }
        }
    }

    /// Where `raw` is kept: its range of the line when it is a string of
    /// the line being walked, else a copy in the view's text.
    #[inline]
    fn keep(&mut self, raw: &str) -> Span {
        let (base, len) = self.line_at;
        let p = raw.as_ptr() as usize;
        if p >= base && p + raw.len() <= base + len {
            let at = p - base;
            return Span {
                at: at as u32,
                end: (at + raw.len()) as u32,
                in_line: true,
            };
        }
        let at = self.text.len() as u32;
        self.text.push_str(raw);
        Span {
            at,
            end: self.text.len() as u32,
            in_line: false,
        }
    }

    /// Keeps the text of a top-level string or integer value.
    fn capture(&mut self, node: Option<&Node>) -> Option<Span> {
        match node? {
            Node::String(x) => Some(self.keep(x)),
            Node::Static(StaticNode::I64(n)) => Some(self.keep(&n.to_string())),
            Node::Static(StaticNode::U64(n)) => Some(self.keep(&n.to_string())),
            _ => None,
        }
    }

    fn span(&self, s: Option<Span>) -> Option<&str> {
        s.map(|s| span_str(&self.text, &self.line, s))
    }

    /// If `target` is referenced and absent but `source` is present, gives
    /// `target` the values of `source` (an event-side field alias).
    fn fill_alias(&mut self, index: &FieldIndex, target: &str, source: &str) {
        let (Some(t), Some(s)) = (index.get(target), index.get(source)) else {
            return;
        };
        if self.has(t) || !self.has(s) {
            return;
        }
        let vals: Vec<(Kind, String)> = self
            .values(s)
            .map(|v| (v.kind, v.raw.to_string()))
            .collect();
        for (kind, raw) in vals.iter().rev() {
            self.push(index, target, *kind, raw, Origin::Derived);
        }
    }

    /// Drops the values a field has so far in this event (it stays
    /// present); the next [`Self::push`] gives it new ones.
    fn reset_values(&mut self, id: FieldId) {
        self.field_head[id as usize] = NONE;
    }

    /// The identity of the record behind the current event, when its
    /// format has records that several events share (Plaso writes a Windows
    /// record once per timestamp; see [`plaso::record_key`]).
    pub fn record_key(&self) -> Option<u64> {
        formats::record_key(self)
    }

    /// Fields present in the current event (each once).
    pub fn present(&self) -> &[FieldId] {
        &self.present
    }

    pub fn has(&self, id: FieldId) -> bool {
        self.field_gen.get(id as usize) == Some(&self.generation)
    }

    /// The values of a field (several when the JSON held an array).
    pub fn values(&self, id: FieldId) -> Values<'_> {
        let head = if self.has(id) {
            self.field_head[id as usize]
        } else {
            NONE
        };
        Values {
            view: self,
            next: head,
        }
    }

    /// String values searched by keyword items.
    pub fn keyword_values(&self) -> impl Iterator<Item = Val<'_>> {
        self.keyword_recs.iter().map(|&r| self.val(r))
    }

    /// A field's values with their record numbers (unique within the event)
    /// and whether keyword items search them too, for the scan phase.
    pub(crate) fn recs_of(&self, id: FieldId) -> impl Iterator<Item = (u32, bool, Val<'_>)> {
        let mut next = if self.has(id) {
            self.field_head[id as usize]
        } else {
            NONE
        };
        std::iter::from_fn(move || {
            if next == NONE {
                return None;
            }
            let r = next;
            let rec = &self.recs[r as usize];
            next = rec.next;
            Some((r, rec.keyword, self.val(r)))
        })
    }

    /// The records searched by keyword items, by number.
    pub(crate) fn keyword_recs(&self) -> &[u32] {
        &self.keyword_recs
    }

    /// Records in the current event (an upper bound of record numbers).
    pub(crate) fn rec_count(&self) -> usize {
        self.recs.len()
    }

    #[inline]
    pub(crate) fn val(&self, r: u32) -> Val<'_> {
        let rec = &self.recs[r as usize];
        Val {
            kind: rec.kind,
            raw: span_str(&self.text, &self.line, rec.raw),
        }
    }
}

/// Iterator over one field's values.
pub struct Values<'a> {
    view: &'a EventView,
    next: u32,
}

impl<'a> Iterator for Values<'a> {
    type Item = Val<'a>;
    fn next(&mut self) -> Option<Val<'a>> {
        if self.next == NONE {
            return None;
        }
        let r = self.next;
        self.next = self.view.recs[r as usize].next;
        Some(self.view.val(r))
    }
}

fn itoa_buf() -> [u8; 40] {
    [0; 40]
}

fn fmt_num(buf: &mut [u8; 40], n: i128) -> &str {
    use std::io::Write;
    let mut cur = std::io::Cursor::new(&mut buf[..]);
    let _ = write!(cur, "{n}");
    let len = cur.position() as usize;
    std::str::from_utf8(&buf[..len]).unwrap_or("0")
}

/// The registered formats: each hook of the generic walk calls every
/// format's, in this order (which is also the order their time fields are
/// tried in). A new format adds one line to each hook it needs.
pub(crate) mod formats {
    use super::*;

    /// Field names that hold an event's time, tried in order
    /// ([`crate::compile::Ruleset::event_time`]).
    pub fn time_fields() -> impl Iterator<Item = &'static str> {
        [
            timesketch::TIME_FIELDS,
            plaso::TIME_FIELDS,
            evtx_dump::TIME_FIELDS,
        ]
        .into_iter()
        .flatten()
        .copied()
    }

    /// A new event starts: formats forget the last one.
    #[inline]
    pub(super) fn start(v: &mut EventView) {
        v.plaso.clear();
        v.evtx.clear();
    }

    /// A top-level key, with its value node, while the line is walked.
    #[inline]
    pub(super) fn top_key(v: &mut EventView, key: &str, value: Option<&Node>) {
        plaso::top_key(v, key, value);
    }

    /// A scalar value at `path`, after the generic view kept it.
    #[inline]
    pub(super) fn scalar(v: &mut EventView, index: &FieldIndex, path: &str, node: &Node) {
        evtx_dump::scalar(v, index, path, node);
    }

    /// The line was walked: formats add what they derive.
    pub(super) fn finish(v: &mut EventView, index: &FieldIndex) {
        plaso::finish(v, index);
    }

    pub(super) fn record_key(v: &EventView) -> Option<u64> {
        plaso::record_key(v)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn index(names: &[&str]) -> FieldIndex {
        let mut i = FieldIndex::default();
        for n in names {
            i.intern(n);
        }
        i
    }

    pub(crate) fn raws(v: &EventView, i: &FieldIndex, name: &str) -> Vec<String> {
        let mut out: Vec<String> = v
            .values(i.get(name).unwrap())
            .map(|x| x.raw.to_string())
            .collect();
        out.sort();
        out
    }

    #[test]
    fn extracts_only_indexed_fields_with_types() {
        let i = index(&["a", "b.c", "n", "f", "t", "z", "arr"]);
        let mut v = EventView::new();
        v.load(br#"{"a":"HeLLo","b":{"c":"x"},"n":4688,"f":1.5,"t":true,"z":null,"arr":["p",2],"skip":"q"}"#, &i)
            .unwrap();
        assert_eq!(raws(&v, &i, "a"), vec!["HeLLo"]);
        assert_eq!(
            v.values(i.get("a").unwrap()).next().unwrap().folded(),
            "hello"
        );
        assert_eq!(raws(&v, &i, "b.c"), vec!["x"]);
        assert_eq!(raws(&v, &i, "n"), vec!["4688"]);
        assert_eq!(raws(&v, &i, "f"), vec!["1.5"]);
        assert_eq!(raws(&v, &i, "t"), vec!["true"]);
        assert_eq!(
            v.values(i.get("z").unwrap()).next().unwrap().kind,
            Kind::Null
        );
        assert_eq!(raws(&v, &i, "arr"), vec!["2", "p"]);
        assert_eq!(v.present().len(), 7);
    }

    /// What the view must hold for a flat line, read with serde_json: each
    /// top-level string or integer under its key (strings unescaped), and
    /// every string value as a keyword value.
    fn expected_flat(line: &str) -> (Vec<(String, String)>, Vec<String>) {
        fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::String(s) => out.push(s.clone()),
                serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
                serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
                _ => {}
            }
        }
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let (mut fields, mut keywords) = (Vec::new(), Vec::new());
        for (k, x) in v.as_object().unwrap() {
            match x {
                serde_json::Value::String(s) => fields.push((k.clone(), s.clone())),
                serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => {
                    fields.push((k.clone(), n.to_string()))
                }
                _ => {}
            }
            strings(x, &mut keywords);
        }
        (fields, keywords)
    }

    /// Loads `line` into a reused view and compares it with
    /// [`expected_flat`]: the values borrowed from the parsed line (and
    /// those copied) are the strings as written.
    fn same_as_serde(v: &mut EventView, i: &mut FieldIndex, line: &str) {
        let (fields, keywords) = expected_flat(line);
        for (k, _) in &fields {
            i.intern(k);
        }
        i.set_keyword_fields(None);
        v.options.evtx_xml = false;
        v.options.host_name_alias = false;
        v.load(line.as_bytes(), i).unwrap();
        for (k, want) in &fields {
            let got: Vec<&str> = v.values(i.get(k).unwrap()).map(|x| x.raw).collect();
            assert_eq!(got, [want.as_str()], "{k} in {line}");
        }
        // (serde_json's objects may not keep the document's order.)
        let mut got: Vec<&str> = v.keyword_values().map(|x| x.raw).collect();
        let mut keywords = keywords;
        got.sort_unstable();
        keywords.sort_unstable();
        assert_eq!(got, keywords, "{line}");
    }

    #[test]
    fn borrowed_values_are_the_unescaped_strings() {
        let mut i = FieldIndex::default();
        let mut v = EventView::new();
        for line in [
            r#"{"a":"plain","b":"esc\"aped\\ \u00e9\n","c":12,"d":["x\ty",{"e":"\ud83d\ude00z"}]}"#,
            r#"{"b":"","a":"\"","c":-3}"#,
            r#"{"a":"Microsoft® Windows®","xml_string":"<Event>\u003c</Event>"}"#,
        ] {
            same_as_serde(&mut v, &mut i, line);
        }
    }

    /// Every line of the shared flat `evtx_dump` and Plaso exports, and
    /// damaged copies of their string values (escapes, quotes, non-ASCII
    /// put in): the view's values equal serde_json's reading.
    #[test]
    #[cfg_attr(
        not(shared_corpus),
        ignore = "set SIGMA_MATCH_SHARED to the shared corpus to run (as .ci/run does)"
    )]
    fn values_equal_serde_json_on_the_shared_exports() {
        let mut i = FieldIndex::default();
        let mut v = EventView::new();
        let specials = ['"', '\\', '\n', '\t', 'é', '®', '\u{1F600}', '\u{0}'];
        let mut damage =
            crate::event::plaso::evtx_xml::Damage::new(0x0BAD_5EED_1234_5678, &specials);
        let mut n = 0;
        for file in ["plaso-attack.jsonl", "evtx-samples.flat.jsonl"] {
            let text = crate::test_support::shared_text(&format!("events/{file}"));
            for (k, line) in text.lines().enumerate() {
                same_as_serde(&mut v, &mut i, line);
                n += 1;
                if k % 10 != 0 {
                    continue;
                }
                // The same event with its string values damaged, written
                // back as JSON (serde_json escapes what needs it).
                let mut o: serde_json::Value = serde_json::from_str(line).unwrap();
                for x in o.as_object_mut().unwrap().values_mut() {
                    if let serde_json::Value::String(s) = x
                        && s.chars().count() > 8
                    {
                        let chars: Vec<char> = s.chars().collect();
                        *s = damage.apply(&chars, 3);
                    }
                }
                same_as_serde(&mut v, &mut i, &o.to_string());
                n += 1;
            }
        }
        assert!(n > 45_000, "{n} lines");
    }

    #[test]
    fn reuse_between_events_forgets_old_values() {
        let i = index(&["a"]);
        let mut v = EventView::new();
        v.load(br#"{"a":"1"}"#, &i).unwrap();
        v.load(br#"{"b":"1"}"#, &i).unwrap();
        assert!(!v.has(0));
        assert_eq!(v.values(0).count(), 0);
    }

    #[test]
    fn malformed_lines() {
        let i = index(&["a"]);
        let mut v = EventView::new();
        assert!(matches!(v.load(b"{\"a\":", &i), Err(EventError::Json(_))));
        assert!(matches!(
            v.load(b"[1,2]", &i),
            Err(EventError::NotObject(_))
        ));
        assert!(matches!(
            v.load(b"\"s\"", &i),
            Err(EventError::NotObject(_))
        ));
        assert_eq!(
            v.load(b"{\"a\":\"\xff\"}", &i),
            Err(EventError::Utf8 {
                offset: 6,
                bytes: "ff".into()
            })
        );
        assert_eq!(
            v.load(b"{\"a\":\"\xff\"}", &i).unwrap_err().to_string(),
            "invalid UTF-8 at byte 7 of the line (bytes ff)"
        );
        assert!(v.load(b"{\"a\":\"ok\"}", &i).is_ok());
    }





}
