//! One JSON event, seen through the fields a ruleset needs.
//!
//! This module owns event access. An [`EventView`] is per-thread scratch: it
//! parses one JSON line with `simd-json`'s tape (no DOM, no per-key
//! allocation), walks it once, and keeps only the values of fields the
//! compiled ruleset references ([`FieldIndex`]) as written (case folding is
//! left to the matcher, which needs it only for values its memo has not
//! seen). Nested objects are addressed with dotted paths
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
    /// Also searched by keyword items.
    keyword: bool,
    raw: (u32, u32),
    next: u32,
}

const NONE: u32 = u32::MAX;

/// Parsed `xml_string`s kept for repeats (see `EventView::xml_recent`).
const XML_RECENT: usize = 4;

/// Per-thread scratch holding the extracted fields of the current event.
pub struct EventView {
    generation: u32,
    field_gen: Vec<u32>,
    field_head: Vec<u32>,
    present: Vec<FieldId>,
    recs: Vec<Rec>,
    keyword_recs: Vec<u32>,
    text: String,
    line: Vec<u8>,
    buffers: simd_json::Buffers,
    tape: Option<simd_json::Tape<'static>>,
    path: String,
    /// Set while loading: whether the object has an `xml_string` to resolve.
    xml: Option<(u32, u32)>,
    xml_fields: Vec<FieldId>,
    /// Fields whose current values came from an EVTX `System` element.
    system_fields: Vec<FieldId>,
    /// Set while loading: Plaso's source file (`display_name`, else
    /// `filename`) and `record_number`, for [`EventView::record_key`].
    rec_source: Option<(u32, u32)>,
    rec_filename: Option<(u32, u32)>,
    rec_number: Option<(u32, u32)>,
    /// Recently parsed `xml_string`s with their fields, most recent last:
    /// Plaso writes a Windows record once per timestamp, mostly a few lines
    /// apart (in the shared export 6,418 of 8,507 repeats are 1-2 lines
    /// apart, 7,803 within 4), so the XML of a repeat is not parsed again.
    xml_recent: Vec<(String, crate::evtx_xml::EvtxFields)>,
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
            line: Vec::new(),
            buffers: simd_json::Buffers::new(4096),
            tape: Some(simd_json::Tape::null().reset()),
            path: String::new(),
            xml: None,
            xml_fields: Vec::new(),
            system_fields: Vec::new(),
            rec_source: None,
            rec_filename: None,
            rec_number: None,
            xml_recent: Vec::new(),
            evtx_xml: true,
        }
    }
}

/// Case folding used on both sides of every case-insensitive comparison:
/// ASCII fast path, per-character Unicode lowercase otherwise (so rule
/// needles and event values fold identically).
pub fn fold_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    lower_into(&mut out, s);
    out
}

/// Appends the case-folded `s` to `out`: ASCII runs byte by byte, other
/// characters through Unicode `to_lowercase`.
pub fn lower_into(out: &mut String, s: &str) {
    let mut rest = s;
    while !rest.is_empty() {
        let ascii = rest
            .bytes()
            .position(|b| !b.is_ascii())
            .unwrap_or(rest.len());
        let start = out.len();
        out.push_str(&rest[..ascii]);
        // Lowercasing ASCII bytes keeps the string valid UTF-8.
        out[start..].make_ascii_lowercase();
        rest = &rest[ascii..];
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.extend(c.to_lowercase());
            rest = chars.as_str();
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
        self.xml = None;
        self.rec_source = None;
        self.rec_filename = None;
        self.rec_number = None;
        self.xml_fields.clear();
        self.system_fields.clear();
        self.line.clear();
        self.line.extend_from_slice(line);
        let mut line = std::mem::take(&mut self.line);
        let mut tape = self
            .tape
            .take()
            .unwrap_or_else(|| simd_json::Tape::null().reset())
            .reset();
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
        if result.is_ok() {
            // Current Plaso writes `hostname` where older versions (and the
            // Timesketch config) say `computer_name`: either name finds both.
            self.fill_alias(index, "computer_name", "hostname");
            self.fill_alias(index, "hostname", "computer_name");
        }
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
        let rec = Rec {
            kind,
            keyword: want_kw,
            raw: (rs, self.text.len() as u32),
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
            Node::Static(StaticNode::Bool(b)) => self.push(
                index,
                name,
                Kind::Bool,
                if *b { "true" } else { "false" },
                false,
            ),
            Node::Static(StaticNode::I64(n)) => {
                let s = fmt_num(&mut buf, *n as i128);
                self.push(index, name, Kind::Num, s, false)
            }
            Node::Static(StaticNode::U64(n)) => {
                let s = fmt_num(&mut buf, *n as i128);
                self.push(index, name, Kind::Num, s, false)
            }
            Node::Static(StaticNode::F64(f)) => {
                let s = if f.fract() == 0.0 && f.abs() < 1e15 {
                    format!("{}", *f as i64)
                } else {
                    f.to_string()
                };
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
                    let Some(Node::String(key)) = nodes.get(*i) else {
                        return;
                    };
                    *i += 1;
                    if base > 0 {
                        self.path.push('.');
                    }
                    self.path.push_str(key);
                    if depth == 0 {
                        match *key {
                            "xml_string" => self.xml = self.capture(nodes.get(*i)),
                            "display_name" => self.rec_source = self.capture(nodes.get(*i)),
                            "filename" => self.rec_filename = self.capture(nodes.get(*i)),
                            "record_number" => self.rec_number = self.capture(nodes.get(*i)),
                            _ => {}
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
                if path.starts_with("Event.")
                    && let Some(alias) = evtx_alias(&path)
                {
                    self.alias(index, &alias, path.starts_with("Event.System."), scalar);
                }
                self.path = path;
            }
        }
    }

    /// Records an `evtx_dump` flat alias. EventData/UserData values replace
    /// System values of the same name, as in the flat EVTX JSON of Hayabusa
    /// and Zircolite (`Channel` of a log-cleared record names the cleared log).
    fn alias(&mut self, index: &FieldIndex, alias: &str, from_system: bool, scalar: &Node) {
        let Some(id) = index.get(alias) else { return };
        let f = id as usize;
        if self.field_gen[f] == self.generation && !from_system && self.system_fields.contains(&id)
        {
            self.field_head[f] = NONE;
            self.system_fields.retain(|x| *x != id);
        }
        self.scalar(index, alias, scalar);
        if from_system && !self.system_fields.contains(&id) {
            self.system_fields.push(id);
        }
    }

    /// Keeps the text of a top-level string or integer value.
    fn capture(&mut self, node: Option<&Node>) -> Option<(u32, u32)> {
        let s = self.text.len() as u32;
        match node? {
            Node::String(x) => self.text.push_str(x),
            Node::Static(StaticNode::I64(n)) => self.text.push_str(&n.to_string()),
            Node::Static(StaticNode::U64(n)) => self.text.push_str(&n.to_string()),
            _ => return None,
        }
        Some((s, self.text.len() as u32))
    }

    fn span(&self, s: Option<(u32, u32)>) -> Option<&str> {
        s.map(|(a, b)| &self.text[a as usize..b as usize])
    }

    /// Identifies the Windows record behind a Plaso event, so the two events
    /// Plaso writes per record (one per timestamp) count once: a hash of the
    /// source file (`display_name`, else `filename`), `record_number` (the
    /// record's position in the file), the XML `EventRecordID`, and the XML
    /// text itself: Plaso also writes recovered copies of a record with the
    /// same record number and `EventRecordID` but other content (10 such
    /// pairs in the shared EVTX-ATTACK-SAMPLES export, whose 16,926 events
    /// are 8,463 records). `None` for events without `xml_string` (each is
    /// its own record).
    pub fn record_key(&self) -> Option<u64> {
        use std::hash::BuildHasher;
        let xml = self.span(self.xml)?;
        let erid = xml
            .find("<EventRecordID>")
            .map(|i| &xml[i + "<EventRecordID>".len()..])
            .and_then(|rest| rest.find('<').map(|j| &rest[..j]));
        let source = self.span(self.rec_source).or(self.span(self.rec_filename));
        // A fixed seed: keys must agree across threads. foldhash hashes
        // the multi-KB XML several times faster than SipHash.
        let state = foldhash::quality::FixedState::with_seed(0x5265_636f_7264);
        Some(state.hash_one((source, self.span(self.rec_number), erid, xml)))
    }

    /// If `target` is referenced and absent but `source` is present, gives
    /// `target` the values of `source`.
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
            self.push(index, target, *kind, raw, false);
        }
    }

    /// Plaso Windows records: fill referenced fields that are absent at the
    /// top level from the record XML (parsed at most once per event).
    fn resolve_xml(&mut self, index: &FieldIndex) {
        let Some((s, e)) = self.xml else { return };
        let xml = &self.text[s as usize..e as usize];
        let (text, fields) = match self.xml_recent.iter().position(|(t, _)| t == xml) {
            Some(i) => self.xml_recent.remove(i),
            None => {
                let (mut text, mut fields) = if self.xml_recent.len() >= XML_RECENT {
                    self.xml_recent.remove(0)
                } else {
                    Default::default()
                };
                text.clear();
                text.push_str(xml);
                // On error the fields completed before it are used.
                let _ = fields.parse_into(&text);
                (text, fields)
            }
        };
        let generation = self.generation;
        for (i, (name, value)) in fields.iter().enumerate() {
            let flat;
            let name = if name.contains(' ') {
                flat = flat_name(name);
                flat.as_str()
            } else {
                name
            };
            let Some(id) = index.get(name) else { continue };
            let f = id as usize;
            let seen = self.field_gen[f] == generation;
            // Top-level values win; the XML only fills what is missing.
            if seen && !self.xml_fields.contains(&id) {
                continue;
            }
            // An EventData/UserData value replaces a System value of the same
            // name (e.g. `Channel` of a log-cleared record names the cleared
            // log), as the flat EVTX JSON of Hayabusa and Zircolite does.
            if seen && !fields.is_system(i) && self.system_fields.contains(&id) {
                self.field_head[f] = NONE;
                self.system_fields.retain(|x| *x != id);
            }
            self.push(index, name, Kind::Str, value, false);
            if let Some(short) = windows_hex(value) {
                self.push(index, name, Kind::Str, &short, false);
            }
            if fields.is_system(i) && !self.system_fields.contains(&id) {
                self.system_fields.push(id);
            }
            if !self.xml_fields.contains(&id) {
                self.xml_fields.push(id);
            }
        }
        self.xml_recent.push((text, fields));
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

    pub(crate) fn val(&self, r: u32) -> Val<'_> {
        let rec = &self.recs[r as usize];
        Val {
            kind: rec.kind,
            raw: &self.text[rec.raw.0 as usize..rec.raw.1 as usize],
        }
    }
}

/// The Windows rendering of a hexadecimal value that Plaso zero-padded.
///
/// libfwevt (Plaso's EVTX reader) formats `win:HexInt32`/`win:HexInt64`
/// values as `0x%08x`/`0x%016x` (`GrantedAccess` `0x001fffff`,
/// `SubjectLogonId` `0x00000000000003e7`), where Windows, `evtx_dump` and
/// the SigmaHQ rules written against them say `0x1fffff` and `0x3e7`. For a
/// value of exactly 8 or 16 lower-case hex digits with a leading zero this
/// returns the unpadded form; the event view keeps *both* values for the
/// field (a field with several values matches when any does), because a
/// few providers write such strings themselves (Sysmon 8 `StartAddress`
/// `0x00590000`, which `evtx_dump` shows padded too). Measured on the
/// shared EVTX-ATTACK-SAMPLES exports: 9,840 `EventData` values joined by
/// record differ between Plaso and `evtx_dump` only by this padding.
fn windows_hex(v: &str) -> Option<String> {
    let digits = v.strip_prefix("0x")?;
    let ok = matches!(digits.len(), 8 | 16)
        && digits.starts_with('0')
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    ok.then(|| {
        let t = digits.trim_start_matches('0');
        format!("0x{}", if t.is_empty() { "0" } else { t })
    })
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
        return Some(if elem == "Provider" {
            format!("Provider_{attr}")
        } else {
            attr.to_string()
        });
    }
    if let Some(elem) = rest.strip_suffix(".#text") {
        return Some(flat_name(elem.rsplit('.').next().unwrap_or(elem)));
    }
    Some(flat_name(rest.rsplit('.').next().unwrap_or(rest)))
}

/// EventData names with spaces (Defender's `New Value`) lose them in the
/// flat EVTX convention (`NewValue`), which is how SigmaHQ rules name them.
pub fn flat_name(name: &str) -> String {
    if name.contains(' ') {
        name.replace(' ', "")
    } else {
        name.to_string()
    }
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
        assert!(matches!(
            v.load(b"{\"a\":\"\xff\"}", &i),
            Err(EventError::Json(_))
        ));
        assert!(v.load(b"{\"a\":\"ok\"}", &i).is_ok());
    }

    #[test]
    fn plaso_hex_padding_gets_the_windows_form_too() {
        assert_eq!(windows_hex("0x001fffff").as_deref(), Some("0x1fffff"));
        assert_eq!(windows_hex("0x00000000000003e7").as_deref(), Some("0x3e7"));
        assert_eq!(windows_hex("0x00000000").as_deref(), Some("0x0"));
        assert_eq!(windows_hex("0x8000000000000000"), None);
        assert_eq!(windows_hex("0x001A0000"), None);
        assert_eq!(windows_hex("0x0123"), None);
        assert_eq!(windows_hex("x001fffff"), None);
        let i = index(&["GrantedAccess", "Image"]);
        let mut v = EventView::new();
        let line = br#"{"xml_string":"<Event><System><EventID>10</EventID></System><EventData><Data Name=\"GrantedAccess\">0x001fffff</Data><Data Name=\"Image\">0x00000001</Data></EventData></Event>"}"#;
        v.load(line, &i).unwrap();
        assert_eq!(
            raws(&v, &i, "GrantedAccess"),
            vec!["0x001fffff", "0x1fffff"]
        );
        v.evtx_xml = false;
        v.load(line, &i).unwrap();
        assert!(!v.has(i.get("GrantedAccess").unwrap()));
    }

    /// A repeated `xml_string` (Plaso writes a record once per timestamp)
    /// resolves from the parsed copy, and still to its own fields, whatever
    /// came between; top-level values keep winning.
    #[test]
    fn repeated_xml_is_resolved_from_the_parsed_copy() {
        let i = index(&["Image", "User"]);
        let mut v = EventView::new();
        let a = br#"{"xml_string":"<Event><EventData><Data Name=\"Image\">a.exe</Data></EventData></Event>"}"#;
        let b = br#"{"xml_string":"<Event><EventData><Data Name=\"Image\">b.exe</Data></EventData></Event>"}"#;
        let a_top = br#"{"Image":"top.exe","xml_string":"<Event><EventData><Data Name=\"Image\">a.exe</Data></EventData></Event>"}"#;
        let broken =
            br#"{"xml_string":"<Event><EventData><Data Name=\"User\">u</Data></EventData><Even"}"#;
        for line in [&a[..], b, a, broken, a_top, b, a, broken] {
            v.load(line, &i).unwrap();
            let want = match line {
                l if l == a_top => vec!["top.exe"],
                l if l == a => vec!["a.exe"],
                l if l == b => vec!["b.exe"],
                _ => vec![],
            };
            assert_eq!(raws(&v, &i, "Image"), want);
            // The fields completed before an XML error are used, each time.
            assert_eq!(v.has(i.get("User").unwrap()), line == broken);
        }
        for n in 0..10 {
            let line = format!(
                r#"{{"xml_string":"<Event><EventData><Data Name=\"Image\">{n}.exe</Data></EventData></Event>"}}"#
            );
            v.load(line.as_bytes(), &i).unwrap();
            assert_eq!(raws(&v, &i, "Image"), vec![format!("{n}.exe")]);
        }
        assert!(v.xml_recent.len() <= XML_RECENT);
    }

    #[test]
    fn hostname_and_computer_name_find_each_other() {
        let i = index(&["computer_name", "hostname"]);
        let mut v = EventView::new();
        v.load(br#"{"hostname":"IEWIN7"}"#, &i).unwrap();
        assert_eq!(raws(&v, &i, "computer_name"), vec!["IEWIN7"]);
        v.load(br#"{"computer_name":"DESKTOP-B0TAAAA"}"#, &i)
            .unwrap();
        assert_eq!(raws(&v, &i, "hostname"), vec!["DESKTOP-B0TAAAA"]);
        v.load(br#"{"computer_name":"a","hostname":"b"}"#, &i)
            .unwrap();
        assert_eq!(raws(&v, &i, "computer_name"), vec!["a"]);
    }

    #[test]
    fn record_key_identifies_the_record_not_the_event() {
        let i = index(&["x"]);
        let mut v = EventView::new();
        let key = |v: &mut EventView, line: &str| {
            v.load(line.as_bytes(), &i).unwrap();
            v.record_key()
        };
        let a = key(
            &mut v,
            r#"{"display_name":"OS:/a.evtx","record_number":2,"timestamp_desc":"Creation Time","xml_string":"<Event><System><EventRecordID>9826</EventRecordID></System></Event>"}"#,
        );
        let b = key(
            &mut v,
            r#"{"display_name":"OS:/a.evtx","record_number":2,"timestamp_desc":"Content Modification Time","xml_string":"<Event><System><EventRecordID>9826</EventRecordID></System></Event>"}"#,
        );
        let c = key(
            &mut v,
            r#"{"display_name":"OS:/b.evtx","record_number":2,"xml_string":"<Event><System><EventRecordID>9826</EventRecordID></System></Event>"}"#,
        );
        let recovered = key(
            &mut v,
            r#"{"display_name":"OS:/a.evtx","record_number":2,"xml_string":"<Event><System><EventRecordID>9826</EventRecordID><Level>0</Level></System></Event>"}"#,
        );
        assert_ne!(a, recovered);
        let d = key(
            &mut v,
            r#"{"filename":"/a.evtx","record_number":3,"xml_string":"<Event><System><EventRecordID>9826</EventRecordID></System></Event>"}"#,
        );
        assert!(a.is_some());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert_eq!(key(&mut v, r#"{"record_number":2}"#), None);
    }

    #[test]
    fn evtx_dump_aliases() {
        assert_eq!(
            evtx_alias("Event.EventData.Image").as_deref(),
            Some("Image")
        );
        assert_eq!(
            evtx_alias("Event.System.Provider.#attributes.Name").as_deref(),
            Some("Provider_Name")
        );
        assert_eq!(
            evtx_alias("Event.System.TimeCreated.#attributes.SystemTime").as_deref(),
            Some("SystemTime")
        );
        assert_eq!(
            evtx_alias("Event.System.EventID.#text").as_deref(),
            Some("EventID")
        );
        assert_eq!(
            evtx_alias("Event.UserData.LogFileCleared.SubjectUserName").as_deref(),
            Some("SubjectUserName")
        );
        assert_eq!(
            evtx_alias("Event.EventData.New Value").as_deref(),
            Some("NewValue")
        );
        assert_eq!(evtx_alias("Image"), None);
        let i = index(&["Image", "EventID", "Event.EventData.Image"]);
        let mut v = EventView::new();
        v.load(
            br#"{"Event":{"System":{"EventID":1},"EventData":{"Image":"C:\\x.exe"}}}"#,
            &i,
        )
        .unwrap();
        assert_eq!(raws(&v, &i, "Image"), vec!["C:\\x.exe"]);
        assert_eq!(raws(&v, &i, "Event.EventData.Image"), vec!["C:\\x.exe"]);
        assert_eq!(raws(&v, &i, "EventID"), vec!["1"]);
    }
}
