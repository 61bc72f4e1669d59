//! Timesketch's index mapping and one event as OpenSearch indexes it.
//!
//! This module owns the *index side* of the emulation:
//!
//! * [`IndexMapping`]: field name to type, as Timesketch creates the index
//!   (`data/generic.mappings`, used for JSONL/CSV uploads, or
//!   `data/plaso.mappings` for `.plaso` files, both in google/timesketch)
//!   and as OpenSearch's dynamic mapping then extends it: `date_detection`
//!   is off, so every JSON string becomes `text` (standard analyzer) with a
//!   `.keyword` sub-field (`keyword`, `ignore_above: 256`) and a `.wildcard`
//!   sub-field (`wildcard`); JSON integers become `long`, other numbers
//!   `float`, booleans `boolean`; objects become object fields whose leaves
//!   are named with dots (`pathspec.location`); `null` adds nothing.
//!   Dynamic mapping is decided by the first event that carries a field
//!   ([`IndexMapping::observe`] in input order), as in a real index.
//! * [`IndexedDoc`]: the terms and values one event puts into each field.
//!   Values are coerced to the field's type as OpenSearch does (a number in
//!   a `text` field is indexed as its text; a numeric string in a `long`
//!   field as the number); an event OpenSearch would refuse
//!   (`mapper_parsing_exception`, e.g. `abc` in a `long` field) is kept with
//!   [`IndexedDoc::rejected`] set and matches nothing.
//!
//! Values of one field in an array are indexed with a position gap of 100
//! (`position_increment_gap`), so phrases never span two values.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;

use serde_json::Value;

use super::analyzer;

/// `ignore_above` of Timesketch's `.keyword` sub-fields.
pub const KEYWORD_IGNORE_ABOVE: usize = 256;
/// `position_increment_gap` of `text` fields.
pub const POSITION_GAP: u32 = 100;

/// A field type of the emulated index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// `text` with the standard analyzer.
    Text,
    /// `keyword` (no normalizer) with `ignore_above`.
    Keyword,
    /// `wildcard`: whole values, no length limit.
    Wildcard,
    Long,
    Float,
    Boolean,
    Date,
    /// An object (has sub-fields, no values).
    Object,
}

impl FieldType {
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Keyword => "keyword",
            FieldType::Wildcard => "wildcard",
            FieldType::Long => "long",
            FieldType::Float => "float",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::Object => "object",
        }
    }
}

/// Which Timesketch mapping file the index was created with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MappingKind {
    /// `data/generic.mappings` (JSONL and CSV uploads).
    #[default]
    Generic,
    /// `data/plaso.mappings` (`.plaso` storage files through psort).
    Plaso,
}

/// Fields `data/plaso.mappings` declares as `text` (with `.keyword` and
/// `.wildcard`), besides the dynamic template.
const PLASO_TEXT_FIELDS: &[&str] = &[
    "message",
    "application",
    "data",
    "doc_type",
    "event_type",
    "exit_status",
    "facility",
    "file_reference",
    "file_size",
    "flags",
    "identifier",
    "message_status",
    "message_type",
    "offset",
    "sequence_number",
    "severity",
    "source_port",
    "user_identifier",
    "version",
    "http_response_bytes",
];

/// Field name to type, including `.keyword` / `.wildcard` sub-fields.
#[derive(Debug, Clone, Default)]
pub struct IndexMapping {
    types: BTreeMap<String, FieldType>,
}

impl IndexMapping {
    /// The index as Timesketch creates it, before any event.
    pub fn new(kind: MappingKind) -> IndexMapping {
        let mut m = IndexMapping::default();
        m.types.insert("datetime".into(), FieldType::Date);
        if kind == MappingKind::Plaso {
            for f in PLASO_TEXT_FIELDS {
                m.add_text(f);
            }
        }
        m
    }

    fn add_text(&mut self, name: &str) {
        self.types.insert(name.to_string(), FieldType::Text);
        self.types
            .insert(format!("{name}.keyword"), FieldType::Keyword);
        self.types
            .insert(format!("{name}.wildcard"), FieldType::Wildcard);
    }

    /// The type of a field (sub-fields included), if mapped.
    pub fn get(&self, name: &str) -> Option<FieldType> {
        self.types.get(name).copied()
    }

    /// Every mapped leaf field (not objects), in name order.
    pub fn leaf_fields(&self) -> impl Iterator<Item = (&str, FieldType)> {
        self.types
            .iter()
            .filter(|(_, t)| **t != FieldType::Object)
            .map(|(n, t)| (n.as_str(), *t))
    }

    /// Dynamic mapping: adds the fields of `event` not mapped yet.
    pub fn observe(&mut self, event: &Value) {
        if let Value::Object(map) = event {
            for (k, v) in map {
                self.observe_value(k, v);
            }
        }
    }

    fn observe_value(&mut self, name: &str, v: &Value) {
        match v {
            Value::Null => {}
            Value::Array(items) => {
                for i in items {
                    self.observe_value(name, i);
                }
            }
            Value::Object(map) => {
                self.types
                    .entry(name.to_string())
                    .or_insert(FieldType::Object);
                for (k, v) in map {
                    self.observe_value(&format!("{name}.{k}"), v);
                }
            }
            Value::String(_) => {
                if !self.types.contains_key(name) {
                    self.add_text(name);
                }
            }
            Value::Number(n) => {
                if !self.types.contains_key(name) {
                    let t = if n.is_i64() || n.is_u64() {
                        FieldType::Long
                    } else {
                        FieldType::Float
                    };
                    self.types.insert(name.to_string(), t);
                }
            }
            Value::Bool(_) => {
                self.types
                    .entry(name.to_string())
                    .or_insert(FieldType::Boolean);
            }
        }
    }
}

/// What one event put into one field.
#[derive(Debug, Clone)]
pub enum FieldData {
    /// Analysed terms with their positions.
    Text(TextData),
    /// Whole values (`keyword` within `ignore_above`, `wildcard`, `date`).
    Exact(Vec<String>),
    Long(Vec<i64>),
    Float(Vec<f64>),
    Boolean(Vec<bool>),
}

/// The terms of a `text` field.
#[derive(Debug, Clone, Default)]
pub struct TextData {
    /// Term to its positions, ascending.
    pub terms: HashMap<String, Vec<u32>>,
    /// Whether any value was indexed (an empty string counts: the field
    /// exists, with no terms).
    pub values: usize,
    /// The distinct terms joined by `\n` (never inside a term), so one
    /// multi-line regex search tests a pattern against every term.
    pub joined: String,
}

impl TextData {
    pub fn has_phrase(&self, tokens: &[String], slop: u32) -> bool {
        let Some(first) = self.terms.get(&tokens[0]) else {
            return false;
        };
        let rest: Option<Vec<&Vec<u32>>> = tokens[1..].iter().map(|t| self.terms.get(t)).collect();
        let Some(rest) = rest else { return false };
        if slop == 0 {
            return first.iter().any(|&p| {
                rest.iter()
                    .enumerate()
                    .all(|(i, ps)| ps.binary_search(&(p + 1 + i as u32)).is_ok())
            });
        }
        // Sloppy phrase (approximation of Lucene's SloppyPhraseMatcher):
        // each following term within `slop` extra positions, in order.
        first.iter().any(|&p| {
            let mut budget = slop;
            let mut cur = p;
            for ps in &rest {
                match ps.iter().find(|&&q| q > cur && q - cur - 1 <= budget) {
                    Some(&q) => {
                        budget -= q - cur - 1;
                        cur = q;
                    }
                    None => return false,
                }
            }
            true
        })
    }
}

/// One event as OpenSearch indexes it under an [`IndexMapping`].
#[derive(Debug, Clone, Default)]
pub struct IndexedDoc {
    pub fields: HashMap<String, FieldData>,
    /// Distinct terms of all `text` fields whose name does not start with
    /// `_` (what an unfielded term-level query searches), for evaluating
    /// one pattern once per event instead of once per field.
    pub all_terms: Vec<String>,
    /// [`Self::all_terms`] joined by `\n`.
    pub all_terms_joined: String,
    /// Whole values of all `keyword` / `wildcard` fields whose name does
    /// not start with `_`.
    pub all_values: Vec<String>,
    /// Why OpenSearch would refuse the event (then nothing matches it).
    pub rejected: Option<String>,
}

#[derive(Default)]
struct Acc {
    text: HashMap<String, (TextData, u32)>,
    exact: HashMap<String, Vec<String>>,
    long: HashMap<String, Vec<i64>>,
    float: HashMap<String, Vec<f64>>,
    boolean: HashMap<String, Vec<bool>>,
    rejected: Option<String>,
}

impl IndexedDoc {
    /// Indexes `event` (a JSON object) under `mapping`.
    pub fn new(event: &Value, mapping: &IndexMapping) -> IndexedDoc {
        let mut acc = Acc::default();
        if let Value::Object(map) = event {
            for (k, v) in map {
                index_value(&mut acc, mapping, k, v);
            }
        }
        let mut fields = HashMap::default();
        let mut all_terms: Vec<String> = acc
            .text
            .iter()
            .filter(|(k, _)| !k.starts_with('_'))
            .flat_map(|(_, (t, _))| t.terms.keys().cloned())
            .collect();
        all_terms.sort_unstable();
        all_terms.dedup();
        let mut all_values: Vec<String> = acc
            .exact
            .iter()
            .filter(|(k, _)| {
                !k.starts_with('_')
                    && matches!(
                        mapping.get(k),
                        Some(FieldType::Keyword | FieldType::Wildcard)
                    )
            })
            .flat_map(|(_, v)| v.iter().cloned())
            .collect();
        all_values.sort_unstable();
        all_values.dedup();
        for (k, (mut t, _)) in acc.text {
            t.joined = join_terms(t.terms.keys());
            fields.insert(k, FieldData::Text(t));
        }
        for (k, v) in acc.exact {
            fields.insert(k, FieldData::Exact(v));
        }
        for (k, v) in acc.long {
            fields.insert(k, FieldData::Long(v));
        }
        for (k, v) in acc.float {
            fields.insert(k, FieldData::Float(v));
        }
        for (k, v) in acc.boolean {
            fields.insert(k, FieldData::Boolean(v));
        }
        let all_terms_joined = join_terms(all_terms.iter());
        IndexedDoc {
            fields,
            all_terms_joined,
            all_terms,
            all_values,
            rejected: acc.rejected,
        }
    }

    /// Whether `field` (or, for an object, any field below it) has a value.
    pub fn exists(&self, field: &str) -> bool {
        if self.fields.contains_key(field) {
            return true;
        }
        let prefix = format!("{field}.");
        self.fields.keys().any(|k| k.starts_with(&prefix))
    }
}

fn join_terms<'a>(terms: impl Iterator<Item = &'a String>) -> String {
    let mut s = String::new();
    for t in terms {
        if !s.is_empty() {
            s.push('\n');
        }
        s.push_str(t);
    }
    s
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn index_value(acc: &mut Acc, mapping: &IndexMapping, name: &str, v: &Value) {
    if acc.rejected.is_some() {
        return;
    }
    if let Value::Array(items) = v {
        for i in items {
            index_value(acc, mapping, name, i);
        }
        return;
    }
    if v.is_null() {
        return;
    }
    let Some(t) = mapping.get(name) else {
        // Not in the mapping (the mapping was built from other input):
        // not searchable.
        return;
    };
    match (t, v) {
        (FieldType::Object, Value::Object(map)) => {
            for (k, v) in map {
                index_value(acc, mapping, &format!("{name}.{k}"), v);
            }
        }
        (FieldType::Object, _) => {
            acc.rejected = Some(format!(
                "object mapping for [{name}] tried to parse field [{name}] as object, but found a concrete value"
            ));
        }
        (_, Value::Object(_)) => {
            acc.rejected = Some(format!(
                "failed to parse field [{name}] of type [{}]: tried to parse an object",
                t.name()
            ));
        }
        (FieldType::Text, _) => {
            let Some(s) = scalar_text(v) else { return };
            let (data, next_pos) = acc.text.entry(name.to_string()).or_default();
            if data.values > 0 {
                *next_pos += POSITION_GAP;
            }
            data.values += 1;
            for tok in analyzer::analyze(&s) {
                data.terms.entry(tok).or_default().push(*next_pos);
                *next_pos += 1;
            }
            let kw = format!("{name}.keyword");
            if mapping.get(&kw) == Some(FieldType::Keyword)
                && s.encode_utf16().count() <= KEYWORD_IGNORE_ABOVE
            {
                acc.exact.entry(kw).or_default().push(s.clone());
            }
            let wc = format!("{name}.wildcard");
            if mapping.get(&wc) == Some(FieldType::Wildcard) {
                acc.exact.entry(wc).or_default().push(s);
            }
        }
        (FieldType::Keyword | FieldType::Wildcard | FieldType::Date, _) => {
            if let Some(s) = scalar_text(v) {
                acc.exact.entry(name.to_string()).or_default().push(s);
            }
        }
        (FieldType::Long, _) => match coerce_f64(v) {
            Some(f) => acc
                .long
                .entry(name.to_string())
                .or_default()
                .push(f.trunc() as i64),
            None => {
                acc.rejected = Some(format!(
                    "failed to parse field [{name}] of type [long]: For input string: \"{}\"",
                    scalar_text(v).unwrap_or_default()
                ))
            }
        },
        (FieldType::Float, _) => match coerce_f64(v) {
            Some(f) => acc.float.entry(name.to_string()).or_default().push(f),
            None => {
                acc.rejected = Some(format!(
                    "failed to parse field [{name}] of type [float]: For input string: \"{}\"",
                    scalar_text(v).unwrap_or_default()
                ))
            }
        },
        (FieldType::Boolean, _) => {
            let b = match v {
                Value::Bool(b) => Some(*b),
                Value::String(s) if s == "true" => Some(true),
                Value::String(s) if s == "false" || s.is_empty() => Some(false),
                _ => None,
            };
            match b {
                Some(b) => acc.boolean.entry(name.to_string()).or_default().push(b),
                None => {
                    acc.rejected = Some(format!("failed to parse field [{name}] of type [boolean]"))
                }
            }
        }
    }
}

fn coerce_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        Value::Bool(_) => None,
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(events: &[Value]) -> (IndexMapping, Vec<IndexedDoc>) {
        let mut m = IndexMapping::new(MappingKind::Generic);
        for e in events {
            m.observe(e);
        }
        let docs = events.iter().map(|e| IndexedDoc::new(e, &m)).collect();
        (m, docs)
    }

    #[test]
    fn strings_get_text_keyword_and_wildcard() {
        let (m, d) = doc(&[json!({"a": "C:\\Windows\\cmd.exe", "n": 4688, "o": {"p": "x"}})]);
        assert_eq!(m.get("a"), Some(FieldType::Text));
        assert_eq!(m.get("a.keyword"), Some(FieldType::Keyword));
        assert_eq!(m.get("a.wildcard"), Some(FieldType::Wildcard));
        assert_eq!(m.get("n"), Some(FieldType::Long));
        assert_eq!(m.get("o.p"), Some(FieldType::Text));
        let FieldData::Text(t) = &d[0].fields["a"] else {
            panic!()
        };
        assert_eq!(t.terms["windows"], vec![1]);
        assert!(d[0].exists("o"));
    }

    // OpenSearch keyword `ignore_above`: "Strings longer than the
    // ignore_above setting will not be indexed or stored" (OpenSearch
    // documentation, Keyword field type).
    #[test]
    fn long_values_skip_keyword_but_not_wildcard() {
        let long = "x".repeat(300);
        let (_, d) = doc(&[json!({ "a": long })]);
        assert!(!d[0].fields.contains_key("a.keyword"));
        assert!(d[0].fields.contains_key("a.wildcard"));
    }

    // Dynamic mapping is fixed by the first event; later values are
    // coerced, or the event is refused.
    #[test]
    fn first_event_decides_the_type() {
        let (m, d) = doc(&[json!({"v": 5}), json!({"v": "7"}), json!({"v": "seven"})]);
        assert_eq!(m.get("v"), Some(FieldType::Long));
        assert!(matches!(&d[1].fields["v"], FieldData::Long(v) if v == &vec![7]));
        assert!(d[2].rejected.is_some());
        let (m, d) = doc(&[json!({"v": "x"}), json!({"v": 12})]);
        assert_eq!(m.get("v"), Some(FieldType::Text));
        assert!(
            matches!(&d[1].fields["v.keyword"], FieldData::Exact(v) if v == &vec!["12".to_string()])
        );
    }

    #[test]
    fn array_values_do_not_form_phrases_across_elements() {
        let (_, d) = doc(&[json!({"s": ["a b", "c d"]})]);
        let FieldData::Text(t) = &d[0].fields["s"] else {
            panic!()
        };
        assert!(t.has_phrase(&["a".into(), "b".into()], 0));
        assert!(!t.has_phrase(&["b".into(), "c".into()], 0));
    }
}
