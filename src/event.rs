//! One JSON event, seen through the fields a ruleset needs.
//!
//! This module owns event access. An [`EventView`] is per-thread scratch: it
//! parses one JSON line with `simd-json`'s tape (no DOM, no per-key
//! allocation), walks it once, and keeps only the values of fields the
//! compiled ruleset references ([`FieldIndex`]), each with a lower-cased copy
//! made once. Nested objects are addressed with dotted paths
//! (`Event.EventData.Image`); `evtx_dump` JSON (`{"Event": {"System": ...,
//! "EventData": ...}}`) additionally exposes the flat names SigmaHQ rules use
//! (`Image`, `EventID`, `Provider_Name`, ...). Plaso Windows records resolve
//! absent fields from their `xml_string` (see [`crate::evtx_xml`]).

use rustc_hash::FxHashMap;

use simd_json::{Node, StaticNode};

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
/// prints them) and its lower-cased form.
#[derive(Debug, Clone, Copy)]
pub struct Val<'a> {
    pub kind: Kind,
    pub raw: &'a str,
    pub lower: &'a str,
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
}

impl FieldIndex {
    pub fn intern(&mut self, name: &str) -> FieldId {
        if let Some(&id) = self.map.get(name) {
            return id;
        }
        let id = self.names.len() as FieldId;
        self.names.push(name.to_string());
        self.map.insert(name.to_string(), id);
        id
    }

    /// Forgets the fields interned after the first `n` (a failed rule's).
    pub fn truncate(&mut self, n: usize) {
        for name in self.names.drain(n.min(self.names.len())..) {
            self.map.remove(&name);
        }
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

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Declares that keyword items exist; `fields` restricts which fields
    /// they search (`None`: all string values, like a full-text search).
    pub fn set_keyword_fields(&mut self, fields: Option<&[String]>) {
        let ids = fields.map(|f| f.iter().map(|n| self.intern(n)).collect());
        self.keywords = Some(ids);
    }

    pub fn uses_keywords(&self) -> bool {
        self.keywords.is_some()
    }
}

/// Why a line is not an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("not a JSON object (found {0})")]
    NotObject(&'static str),
}

#[derive(Debug, Clone, Copy)]
struct Rec {
    kind: Kind,
    raw: (u32, u32),
    lower: (u32, u32),
    next: u32,
}

const NONE: u32 = u32::MAX;

/// Per-thread scratch holding the extracted fields of the current event.
pub struct EventView {
    generation: u32,
    field_gen: Vec<u32>,
    field_head: Vec<u32>,
    present: Vec<FieldId>,
    recs: Vec<Rec>,
    keyword_recs: Vec<u32>,
    text: String,
    lower: String,
    line: Vec<u8>,
    buffers: simd_json::Buffers,
    tape: Option<simd_json::Tape<'static>>,
    path: String,
    /// Set while loading: whether the object has an `xml_string` to resolve.
    xml: Option<(u32, u32)>,
    xml_fields: Vec<FieldId>,
    pub(crate) evtx: crate::evtx_xml::EvtxFields,
    /// Resolve absent fields of Plaso Windows records from `xml_string`.
    pub evtx_xml: bool,
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
            lower: String::new(),
            line: Vec::new(),
            buffers: simd_json::Buffers::new(4096),
            tape: Some(simd_json::Tape::null().reset()),
            path: String::new(),
            xml: None,
            xml_fields: Vec::new(),
            evtx: Default::default(),
            evtx_xml: true,
        }
    }
}

fn lower_into(out: &mut String, s: &str) {
    if s.is_ascii() {
        let start = out.len();
        out.push_str(s);
        // SAFETY-free: ASCII lowercasing keeps the string valid UTF-8.
        let tail = unsafe { out[start..].as_bytes_mut() };
        tail.make_ascii_lowercase();
    } else {
        for c in s.chars() {
            out.extend(c.to_lowercase());
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
        self.lower.clear();
        self.xml = None;
        self.xml_fields.clear();
        self.line.clear();
        self.line.extend_from_slice(line);
        let mut line = std::mem::take(&mut self.line);
        let mut tape = self.tape.take().unwrap_or_else(|| simd_json::Tape::null().reset()).reset();
        let result = match simd_json::fill_tape(&mut line, &mut self.buffers, &mut tape) {
            Err(e) => Err(EventError::Json(e.to_string())),
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
        if result.is_ok() && self.evtx_xml {
            self.resolve_xml(index);
        }
        result
    }

    fn push(&mut self, index: &FieldIndex, name: &str, kind: Kind, raw: &str, keyword_ok: bool) {
        let id = index.get(name);
        let want_kw = keyword_ok
            && kind == Kind::Str
            && match &index.keywords {
                None => false,
                Some(None) => true,
                Some(Some(ids)) => id.is_some_and(|i| ids.contains(&i)),
            };
        if id.is_none() && !want_kw {
            return;
        }
        let rs = self.text.len() as u32;
        self.text.push_str(raw);
        let ls = self.lower.len() as u32;
        lower_into(&mut self.lower, raw);
        let rec = Rec {
            kind,
            raw: (rs, self.text.len() as u32),
            lower: (ls, self.lower.len() as u32),
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
        let mut buf = itoa_buf();
        match node {
            Node::String(s) => self.push(index, name, Kind::Str, s, true),
            Node::Static(StaticNode::Null) => self.push(index, name, Kind::Null, "", false),
            Node::Static(StaticNode::Bool(b)) => {
                self.push(index, name, Kind::Bool, if *b { "true" } else { "false" }, false)
            }
            Node::Static(StaticNode::I64(n)) => {
                let s = fmt_num(&mut buf, *n as i128);
                self.push(index, name, Kind::Num, s, false)
            }
            Node::Static(StaticNode::U64(n)) => {
                let s = fmt_num(&mut buf, *n as i128);
                self.push(index, name, Kind::Num, s, false)
            }
            Node::Static(StaticNode::F64(f)) => {
                let s = if f.fract() == 0.0 && f.abs() < 1e15 { format!("{}", *f as i64) } else { f.to_string() };
                self.push(index, name, Kind::Num, &s, false)
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
                    let Some(Node::String(key)) = nodes.get(*i) else { return };
                    *i += 1;
                    if base > 0 {
                        self.path.push('.');
                    }
                    self.path.push_str(key);
                    if depth == 0 && *key == "xml_string" {
                        if let Some(Node::String(x)) = nodes.get(*i) {
                            let s = self.text.len() as u32;
                            self.text.push_str(x);
                            self.xml = Some((s, self.text.len() as u32));
                        }
                    }
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
                if let Some(alias) = evtx_alias(&path) {
                    if alias != path {
                        self.scalar(index, &alias, scalar);
                    }
                }
                self.path = path;
            }
        }
    }

    /// Plaso Windows records: fill referenced fields that are absent at the
    /// top level from the record XML (parsed at most once per event).
    fn resolve_xml(&mut self, index: &FieldIndex) {
        let Some((s, e)) = self.xml else { return };
        let xml = self.text[s as usize..e as usize].to_string();
        if self.evtx.parse_into(&xml).is_err() && self.evtx.is_empty() {
            return;
        }
        let fields = std::mem::take(&mut self.evtx);
        let generation = self.generation;
        for (name, value) in fields.iter() {
            let Some(id) = index.get(name) else { continue };
            // Top-level values win; the XML only fills what is missing.
            if self.field_gen[id as usize] == generation && !self.from_xml(id) {
                continue;
            }
            self.push(index, name, Kind::Str, value, false);
            self.mark_xml(id);
        }
        self.evtx = fields;
    }

    fn from_xml(&self, id: FieldId) -> bool {
        self.xml_fields.contains(&id)
    }

    fn mark_xml(&mut self, id: FieldId) {
        if !self.xml_fields.contains(&id) {
            self.xml_fields.push(id);
        }
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
        let head = if self.has(id) { self.field_head[id as usize] } else { NONE };
        Values { view: self, next: head }
    }

    /// String values searched by keyword items.
    pub fn keyword_values(&self) -> impl Iterator<Item = Val<'_>> {
        self.keyword_recs.iter().map(|&r| self.val(r))
    }

    fn val(&self, r: u32) -> Val<'_> {
        let rec = &self.recs[r as usize];
        Val {
            kind: rec.kind,
            raw: &self.text[rec.raw.0 as usize..rec.raw.1 as usize],
            lower: &self.lower[rec.lower.0 as usize..rec.lower.1 as usize],
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

/// The flat Sigma name of an `evtx_dump` path, as Hayabusa and Zircolite
/// flatten EVTX JSON: `Event.EventData.Image` -> `Image`,
/// `Event.System.Provider.#attributes.Name` -> `Provider_Name`,
/// `Event.System.TimeCreated.#attributes.SystemTime` -> `SystemTime`,
/// `Event.System.EventID.#text` -> `EventID`.
pub fn evtx_alias(path: &str) -> Option<String> {
    let rest = path.strip_prefix("Event.")?;
    let rest = if let Some(r) = rest.strip_prefix("System.") {
        r
    } else if let Some(r) = rest.strip_prefix("EventData.") {
        r
    } else if let Some(r) = rest.strip_prefix("UserData.") {
        r.split_once('.').map(|(_, leaf)| leaf)?
    } else {
        return None;
    };
    if let Some((elem, attr)) = rest.split_once(".#attributes.") {
        let elem = elem.rsplit('.').next().unwrap_or(elem);
        return Some(if elem == "Provider" { format!("Provider_{attr}") } else { attr.to_string() });
    }
    if let Some(elem) = rest.strip_suffix(".#text") {
        return Some(elem.rsplit('.').next().unwrap_or(elem).to_string());
    }
    Some(rest.rsplit('.').next().unwrap_or(rest).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(names: &[&str]) -> FieldIndex {
        let mut i = FieldIndex::default();
        for n in names {
            i.intern(n);
        }
        i
    }

    fn raws(v: &EventView, i: &FieldIndex, name: &str) -> Vec<String> {
        let mut out: Vec<String> = v.values(i.get(name).unwrap()).map(|x| x.raw.to_string()).collect();
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
        assert_eq!(v.values(i.get("a").unwrap()).next().unwrap().lower, "hello");
        assert_eq!(raws(&v, &i, "b.c"), vec!["x"]);
        assert_eq!(raws(&v, &i, "n"), vec!["4688"]);
        assert_eq!(raws(&v, &i, "f"), vec!["1.5"]);
        assert_eq!(raws(&v, &i, "t"), vec!["true"]);
        assert_eq!(v.values(i.get("z").unwrap()).next().unwrap().kind, Kind::Null);
        assert_eq!(raws(&v, &i, "arr"), vec!["2", "p"]);
        assert_eq!(v.present().len(), 7);
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
        assert!(matches!(v.load(b"[1,2]", &i), Err(EventError::NotObject(_))));
        assert!(matches!(v.load(b"\"s\"", &i), Err(EventError::NotObject(_))));
        assert!(matches!(v.load(b"{\"a\":\"\xff\"}", &i), Err(EventError::Json(_))));
        assert!(v.load(b"{\"a\":\"ok\"}", &i).is_ok());
    }

    #[test]
    fn evtx_dump_aliases() {
        assert_eq!(evtx_alias("Event.EventData.Image").as_deref(), Some("Image"));
        assert_eq!(evtx_alias("Event.System.Provider.#attributes.Name").as_deref(), Some("Provider_Name"));
        assert_eq!(evtx_alias("Event.System.TimeCreated.#attributes.SystemTime").as_deref(), Some("SystemTime"));
        assert_eq!(evtx_alias("Event.System.EventID.#text").as_deref(), Some("EventID"));
        assert_eq!(evtx_alias("Event.UserData.LogFileCleared.SubjectUserName").as_deref(), Some("SubjectUserName"));
        assert_eq!(evtx_alias("Image"), None);
        let i = index(&["Image", "EventID", "Event.EventData.Image"]);
        let mut v = EventView::new();
        v.load(br#"{"Event":{"System":{"EventID":1},"EventData":{"Image":"C:\\x.exe"}}}"#, &i).unwrap();
        assert_eq!(raws(&v, &i, "Image"), vec!["C:\\x.exe"]);
        assert_eq!(raws(&v, &i, "Event.EventData.Image"), vec!["C:\\x.exe"]);
        assert_eq!(raws(&v, &i, "EventID"), vec!["1"]);
    }
}
