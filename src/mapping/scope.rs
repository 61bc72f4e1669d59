//! Logsource scoping: which rules may run on which event.
//!
//! This module owns the *logsource table* (`configs/logsources.yml`, built
//! into the binary, replaceable with `--logsources FILE`): how an event's
//! Sigma logsource (product, service, category) is derived from the event
//! itself (Plaso `data_type`/`source_name`/`event_identifier`, EVTX
//! `Channel`/`EventID`/`Provider_Name`, ...), and the decision, per event,
//! of which compiled rules can apply to it. It does not evaluate rules: the
//! evaluator asks [`CompiledScope::allowed`] for the current event and skips
//! the rules it excludes.
//!
//! Semantics (documented for users in `docs/scoping.md`):
//!
//! * every `sources` entry whose `when` matches the event adds its
//!   logsource values to the event's *labels* (three sets: products,
//!   services, categories); an event no entry matches is *unrecognised*
//!   and gets every rule, as without scoping;
//! * a rule runs on a recognised event when each of its product, service
//!   and category that the table *knows* (produced by some entry or listed
//!   under `elsewhere`) is among the event's labels. A value the table does
//!   not know leaves that part of the rule unconstrained; such rules are
//!   reported as (partly) unscoped. A rule without a logsource runs on every
//!   event.
//!
//! This follows what Timesketch's `sigma_config.yaml` `logsources` section
//! expresses as per-rule query conditions (google/timesketch,
//! `data/sigma_config.yaml`) and what pySigma's Windows pipeline expresses
//! as `Channel`/`EventID` conditions (`sigma/pipelines/common.py`,
//! `windows_logsource_mapping`), turned around: the event is classified
//! once and the classification selects rules.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use regex::Regex;
use rustc_hash::FxHashMap;

use crate::error::ConfigError;
use crate::event::{EventView, FieldId, FieldIndex};
use crate::sigma::rule::Logsource;
use crate::sigma::yaml::{self, Node, Pos, Value};

/// The built-in table, `configs/logsources.yml`.
pub const BUILTIN: &str = include_str!("../../configs/logsources.yml");

/// The three logsource dimensions, in this order everywhere.
pub const DIMS: [&str; 3] = ["product", "service", "category"];

/// Logsource values, per dimension (lower-case).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Labels(pub [Vec<String>; 3]);

impl Labels {
    /// `product=windows service=security`, or `(none)`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (d, vals) in DIMS.iter().zip(&self.0) {
            if !vals.is_empty() {
                parts.push(format!("{d}={}", vals.join(",")));
            }
        }
        if parts.is_empty() {
            "(no logsource)".into()
        } else {
            parts.join(" ")
        }
    }
}

/// One test on one event field.
#[derive(Debug, Clone)]
pub enum Test {
    /// Equal to one of the values (case-insensitive).
    Equals(Vec<String>),
    StartsWith(Vec<String>),
    EndsWith(Vec<String>),
    Contains(Vec<String>),
    Regex(Regex),
    Exists(bool),
}

/// `field[|modifier]: values`.
#[derive(Debug, Clone)]
pub struct Cond {
    pub field: String,
    pub test: Test,
}

impl Test {
    /// Whether any of a field's values passes (`Exists`: whether any is there).
    pub fn matches<'a>(&self, mut values: impl Iterator<Item = &'a str>) -> bool {
        let mut any = |vals: &[String], f: fn(&str, &str) -> bool| {
            values.any(|v| {
                let v = v.to_lowercase();
                vals.iter().any(|w| f(&v, w))
            })
        };
        match self {
            Test::Exists(want) => values.next().is_some() == *want,
            Test::Equals(vals) => any(vals, |v, w| v == w),
            Test::StartsWith(vals) => any(vals, |v, w| v.starts_with(w)),
            Test::EndsWith(vals) => any(vals, |v, w| v.ends_with(w)),
            Test::Contains(vals) => any(vals, |v, w| v.contains(w)),
            Test::Regex(re) => values.any(|v| re.is_match(v)),
        }
    }
}

/// One `sources` entry.
#[derive(Debug, Clone)]
pub struct Source {
    pub labels: Labels,
    /// Alternatives (OR) of condition sets (AND).
    pub when: Vec<Vec<Cond>>,
}

/// The logsource table.
#[derive(Debug, Clone)]
pub struct ScopeTable {
    /// Where it was read from; `None` for the built-in table.
    pub path: Option<PathBuf>,
    pub sources: Vec<Source>,
    /// Values known to exist but produced by no supported export.
    pub elsewhere: Labels,
}

impl ScopeTable {
    /// The table built into the binary (`configs/logsources.yml`).
    pub fn builtin() -> ScopeTable {
        // The built-in table is tested to parse (`builtin_table_parses`).
        Self::parse(Path::new("configs/logsources.yml"), BUILTIN)
            .map(|mut t| {
                t.path = None;
                t
            })
            .unwrap_or_else(|e| panic!("built-in logsource table: {e}"))
    }

    /// Reads a table file.
    pub fn load(path: &Path) -> Result<ScopeTable, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            pos: None,
            message: e.to_string(),
        })?;
        Self::parse(path, &text)
    }

    /// Where the table came from, for messages.
    pub fn origin(&self) -> String {
        match &self.path {
            Some(p) => p.display().to_string(),
            None => "built-in configs/logsources.yml".into(),
        }
    }

    /// Parses a table.
    pub fn parse(path: &Path, text: &str) -> Result<ScopeTable, ConfigError> {
        let err = |pos: Option<Pos>, message: String| ConfigError {
            path: path.to_path_buf(),
            pos,
            message,
        };
        let docs = yaml::load_documents(text).map_err(|e| err(Some(e.pos), e.message))?;
        let [doc] = docs.as_slice() else {
            return Err(err(None, "expected one YAML document".into()));
        };
        if !matches!(doc.value, Value::Map(_)) {
            return Err(err(Some(doc.pos), "expected a mapping with `sources`".into()));
        }
        let mut table = ScopeTable {
            path: Some(path.to_path_buf()),
            sources: Vec::new(),
            elsewhere: Labels::default(),
        };
        for (k, v) in doc.entries() {
            match k.as_str() {
                Some("title") => {}
                Some("sources") => {
                    let Value::Seq(items) = &v.value else {
                        return Err(err(Some(v.pos), "`sources` must be a list".into()));
                    };
                    for item in items {
                        table.sources.push(parse_source(item).map_err(|(p, m)| err(Some(p), m))?);
                    }
                }
                Some("elsewhere") => {
                    table.elsewhere = parse_labels(v).map_err(|(p, m)| err(Some(p), m))?;
                }
                _ => {
                    return Err(err(
                        Some(k.pos),
                        format!(
                            "unknown key `{}` (expected title, sources, elsewhere)",
                            k.scalar_text().unwrap_or_default()
                        ),
                    ));
                }
            }
        }
        if table.sources.is_empty() {
            return Err(err(Some(doc.pos), "the table has no `sources`".into()));
        }
        Ok(table)
    }

    /// Every value the table knows, per dimension.
    fn known(&self) -> [std::collections::HashSet<String>; 3] {
        let mut k: [std::collections::HashSet<String>; 3] = Default::default();
        for labels in self.sources.iter().map(|s| &s.labels).chain([&self.elsewhere]) {
            for (known, values) in k.iter_mut().zip(&labels.0) {
                known.extend(values.iter().cloned());
            }
        }
        k
    }
}

type PError = (Pos, String);

fn strings(n: &Node) -> Result<Vec<String>, PError> {
    let one = |n: &Node| {
        n.scalar_text()
            .map(|s| s.to_lowercase())
            .ok_or_else(|| (n.pos, format!("expected a string, found a {}", n.kind())))
    };
    match &n.value {
        Value::Seq(items) => items.iter().map(one).collect(),
        _ => Ok(vec![one(n)?]),
    }
}

fn parse_labels(n: &Node) -> Result<Labels, PError> {
    if !matches!(n.value, Value::Map(_)) {
        return Err((n.pos, "expected a mapping of product/service/category".into()));
    }
    let mut l = Labels::default();
    for (k, v) in n.entries() {
        let key = k.as_str().unwrap_or("");
        let Some(d) = DIMS.iter().position(|x| *x == key) else {
            return Err((
                k.pos,
                format!("unknown logsource key `{key}` (expected product, service, category)"),
            ));
        };
        l.0[d] = strings(v)?;
    }
    Ok(l)
}

fn parse_conds(n: &Node) -> Result<Vec<Cond>, PError> {
    if !matches!(n.value, Value::Map(_)) {
        return Err((n.pos, format!("`when` items must be mappings, found a {}", n.kind())));
    }
    let mut out = Vec::new();
    for (k, v) in n.entries() {
        let key = k
            .as_str()
            .ok_or_else(|| (k.pos, "field names must be strings".to_string()))?;
        let (field, modifier) = key.split_once('|').unwrap_or((key, ""));
        let test = match modifier {
            "" => Test::Equals(strings(v)?),
            "startswith" => Test::StartsWith(strings(v)?),
            "endswith" => Test::EndsWith(strings(v)?),
            "contains" => Test::Contains(strings(v)?),
            "re" => {
                let pat = v
                    .scalar_text()
                    .ok_or_else(|| (v.pos, "`|re` wants one pattern".to_string()))?;
                Test::Regex(
                    Regex::new(&pat).map_err(|e| (v.pos, format!("invalid regex: {e}")))?,
                )
            }
            "exists" => match v.value {
                Value::Bool(b) => Test::Exists(b),
                _ => return Err((v.pos, "`|exists` wants true or false".into())),
            },
            m => {
                return Err((
                    k.pos,
                    format!("unknown modifier `{m}` (expected startswith, endswith, contains, re, exists)"),
                ));
            }
        };
        out.push(Cond {
            field: field.to_string(),
            test,
        });
    }
    if out.is_empty() {
        return Err((n.pos, "an empty condition set would match every event".into()));
    }
    Ok(out)
}

fn parse_source(n: &Node) -> Result<Source, PError> {
    if !matches!(n.value, Value::Map(_)) {
        return Err((n.pos, "each source must be a mapping with `logsource` and `when`".into()));
    }
    let mut labels = None;
    let mut when = None;
    for (k, v) in n.entries() {
        match k.as_str() {
            // A label for whoever reads the table; nothing uses it.
            Some("name") => {}
            Some("logsource") => labels = Some(parse_labels(v)?),
            Some("when") => {
                when = Some(match &v.value {
                    Value::Seq(items) => items.iter().map(parse_conds).collect::<Result<_, _>>()?,
                    _ => vec![parse_conds(v)?],
                })
            }
            _ => {
                return Err((
                    k.pos,
                    format!(
                        "unknown key `{}` (expected name, logsource, when)",
                        k.scalar_text().unwrap_or_default()
                    ),
                ));
            }
        }
    }
    let labels = labels.ok_or_else(|| (n.pos, "missing `logsource`".to_string()))?;
    let when: Vec<Vec<Cond>> = when.ok_or_else(|| (n.pos, "missing `when`".to_string()))?;
    if when.is_empty() {
        return Err((n.pos, "`when` is empty".into()));
    }
    Ok(Source {
        labels,
        when,
    })
}

/// How a rule is scoped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleScope {
    /// Every logsource value of the rule is known.
    Scoped,
    /// Some values are unknown to the table: those parts do not restrict.
    Partly { unknown: Vec<String> },
    /// No value of the rule is known: it runs on every event.
    Unscoped { unknown: Vec<String> },
    /// The rule has no logsource: it runs on every event by design.
    NoLogsource,
}

/// A per-thread classification cache (see [`CompiledScope::allowed`]).
#[derive(Default)]
pub struct ScopeScratch {
    key: Vec<u8>,
    /// Key -> label set number (`u32::MAX`: unrecognised).
    memo: FxHashMap<Vec<u8>, u32>,
    /// Label set -> its number.
    set_ids: HashMap<[Vec<u16>; 3], u32>,
    /// Per label set: its labels, which rules apply, events seen.
    sets: Vec<([Vec<u16>; 3], Vec<bool>, u64)>,
    /// Events no entry recognised.
    pub unrecognised: u64,
}

/// Events per label set, and unrecognised events, over a run.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ScopeStats {
    /// Label description -> events.
    pub events_by_logsource: BTreeMap<String, u64>,
    /// Events no label set recognised.
    pub unrecognised_events: u64,
}

struct CSource {
    /// (field id, test) alternatives.
    when: Vec<Vec<(FieldId, Test)>>,
    labels: [Vec<u16>; 3],
}

/// The table compiled against a ruleset's field index and rules.
pub struct CompiledScope {
    pub origin: String,
    sources: Vec<CSource>,
    key_fields: Vec<FieldId>,
    /// Per rule: the label numbers it requires, per dimension.
    rule_needs: Vec<[Option<u16>; 3]>,
    /// Per rule: how it is scoped.
    pub rule_scope: Vec<RuleScope>,
    vocab: [Vec<String>; 3],
}

impl std::fmt::Debug for CompiledScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledScope")
            .field("origin", &self.origin)
            .field("sources", &self.sources.len())
            .finish()
    }
}

/// Lower-cased logsource values of a rule, per dimension.
pub fn rule_labels(ls: &Logsource) -> [Option<String>; 3] {
    [&ls.product, &ls.service, &ls.category].map(|v| v.as_ref().map(|s| s.to_lowercase()))
}

impl CompiledScope {
    /// Compiles `table` for rules with the given logsources, interning the
    /// fields its conditions read into `fields`.
    pub fn new(table: &ScopeTable, fields: &mut FieldIndex, rules: &[&Logsource]) -> CompiledScope {
        let mut vocab: [Vec<String>; 3] = Default::default();
        let vid = |d: usize, v: &str, vocab: &mut [Vec<String>; 3]| -> u16 {
            if let Some(i) = vocab[d].iter().position(|x| x == v) {
                return i as u16;
            }
            vocab[d].push(v.to_string());
            (vocab[d].len() - 1) as u16
        };
        let mut key_fields = Vec::new();
        let mut sources = Vec::new();
        for s in &table.sources {
            let mut labels: [Vec<u16>; 3] = Default::default();
            for (d, (ids, values)) in labels.iter_mut().zip(&s.labels.0).enumerate() {
                *ids = values.iter().map(|v| vid(d, v, &mut vocab)).collect();
            }
            let when = s
                .when
                .iter()
                .map(|alt| {
                    alt.iter()
                        .map(|c| {
                            let f = fields.intern(&c.field);
                            if !key_fields.contains(&f) {
                                key_fields.push(f);
                            }
                            (f, c.test.clone())
                        })
                        .collect()
                })
                .collect();
            sources.push(CSource { when, labels });
        }
        for d in 0..3 {
            for v in &table.elsewhere.0[d] {
                vid(d, v, &mut vocab);
            }
        }
        let known = table.known();
        let mut rule_needs = Vec::with_capacity(rules.len());
        let mut rule_scope = Vec::with_capacity(rules.len());
        for ls in rules {
            let want = rule_labels(ls);
            let mut needs = [None; 3];
            let mut unknown = Vec::new();
            let mut given = 0;
            for d in 0..3 {
                if let Some(v) = &want[d] {
                    given += 1;
                    if known[d].contains(v) {
                        needs[d] = vocab[d].iter().position(|x| x == v).map(|i| i as u16);
                    } else {
                        unknown.push(format!("{}: {v}", DIMS[d]));
                    }
                }
            }
            rule_scope.push(if given == 0 {
                RuleScope::NoLogsource
            } else if unknown.is_empty() {
                RuleScope::Scoped
            } else if unknown.len() == given {
                RuleScope::Unscoped { unknown }
            } else {
                RuleScope::Partly { unknown }
            });
            rule_needs.push(needs);
        }
        CompiledScope {
            origin: table.origin(),
            sources,
            key_fields,
            rule_needs,
            rule_scope,
            vocab,
        }
    }

    /// Which rules may run on the event loaded in `view`: `None` when no
    /// entry recognises it (every rule runs), else one flag per rule.
    #[cfg(test)]
    pub fn allowed<'s>(&self, view: &EventView, s: &'s mut ScopeScratch) -> Option<&'s [bool]> {
        self.allowed_set(view, s).map(|(_, a)| a)
    }

    /// `allowed` (as the unit tests use it) with the number of the event's label set (stable
    /// within one [`ScopeScratch`], so per-thread caches can be keyed by it).
    pub fn allowed_set<'s>(
        &self,
        view: &EventView,
        s: &'s mut ScopeScratch,
    ) -> Option<(u32, &'s [bool])> {
        s.key.clear();
        for &f in &self.key_fields {
            for v in view.values(f) {
                s.key.extend_from_slice(v.raw.as_bytes());
                s.key.push(0x1f);
            }
            s.key.push(0x1e);
        }
        let id = match s.memo.get(&s.key) {
            Some(&id) => id,
            None => {
                let id = self.classify(view, s);
                if s.memo.len() >= 4096 {
                    s.memo.clear();
                }
                s.memo.insert(s.key.clone(), id);
                id
            }
        };
        if id == u32::MAX {
            s.unrecognised += 1;
            return None;
        }
        let set = &mut s.sets[id as usize];
        set.2 += 1;
        Some((id, &set.1))
    }

    fn classify(&self, view: &EventView, s: &mut ScopeScratch) -> u32 {
        let mut labels: [Vec<u16>; 3] = Default::default();
        let mut recognised = false;
        for src in &self.sources {
            let hit = src.when.iter().any(|alt| {
                alt.iter()
                    .all(|(f, t)| t.matches(view.values(*f).map(|v| v.raw)))
            });
            if hit {
                recognised = true;
                for (have, add) in labels.iter_mut().zip(&src.labels) {
                    for &v in add {
                        if !have.contains(&v) {
                            have.push(v);
                        }
                    }
                }
            }
        }
        if !recognised {
            return u32::MAX;
        }
        for l in &mut labels {
            l.sort_unstable();
        }
        if let Some(&id) = s.set_ids.get(&labels) {
            return id;
        }
        let applies = self
            .rule_needs
            .iter()
            .map(|needs| {
                (0..3).all(|d| needs[d].is_none_or(|v| labels[d].contains(&v)))
            })
            .collect();
        let id = s.sets.len() as u32;
        s.set_ids.insert(labels.clone(), id);
        s.sets.push((labels, applies, 0));
        id
    }

    /// Adds a matcher's counts to `stats`.
    pub fn collect(&self, s: &ScopeScratch, stats: &mut ScopeStats) {
        stats.unrecognised_events += s.unrecognised;
        for (labels, _, n) in &s.sets {
            if *n == 0 {
                continue;
            }
            let l = Labels(std::array::from_fn(|d| {
                labels[d].iter().map(|&i| self.vocab[d][i as usize].clone()).collect()
            }));
            *stats.events_by_logsource.entry(l.describe()).or_default() += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(p: Option<&str>, s: Option<&str>, c: Option<&str>) -> Logsource {
        Logsource {
            product: p.map(Into::into),
            service: s.map(Into::into),
            category: c.map(Into::into),
            definition: None,
        }
    }

    #[test]
    fn builtin_table_parses() {
        let t = ScopeTable::builtin();
        assert!(t.sources.len() > 50);
        assert!(t.elsewhere.0[0].contains(&"zeek".to_string()) || t.known()[0].contains("zeek"));
    }

    #[test]
    fn errors_have_positions() {
        let e = ScopeTable::parse(Path::new("t.yml"), "sources:\n  - logsource: {product: x}\n    when: {a|bogus: 1}\n")
            .unwrap_err();
        assert_eq!(e.pos.map(|p| p.line), Some(3), "{e}");
        assert!(e.to_string().contains("unknown modifier `bogus`"), "{e}");
        let e = ScopeTable::parse(Path::new("t.yml"), "sources:\n  - logsource: {produkt: x}\n    when: {a: 1}\n")
            .unwrap_err();
        assert!(e.to_string().contains("t.yml:2:"), "{e}");
        assert!(ScopeTable::parse(Path::new("t.yml"), "nope: 1").is_err());
    }

    fn allowed(scope: &CompiledScope, fields: &FieldIndex, line: &str) -> Option<Vec<bool>> {
        let mut v = EventView::new();
        v.load(line.as_bytes(), fields).unwrap();
        let mut s = ScopeScratch::default();
        scope.allowed(&v, &mut s).map(<[bool]>::to_vec)
    }

    #[test]
    fn rules_run_only_where_their_logsource_applies() {
        let t = ScopeTable::builtin();
        let rules = [
            ls(Some("windows"), None, Some("process_creation")),
            ls(Some("windows"), Some("security"), None),
            ls(Some("zeek"), Some("rdp"), None),
            ls(Some("linux"), Some("shell"), None),
            ls(None, None, None),
            ls(Some("no-such-product"), None, None),
            ls(Some("windows"), Some("no-such-service"), None),
            ls(None, None, Some("webserver")),
        ];
        let refs: Vec<&Logsource> = rules.iter().collect();
        let mut fields = FieldIndex::default();
        let scope = CompiledScope::new(&t, &mut fields, &refs);
        assert_eq!(scope.rule_scope[0], RuleScope::Scoped);
        assert_eq!(scope.rule_scope[4], RuleScope::NoLogsource);
        assert!(matches!(scope.rule_scope[5], RuleScope::Unscoped { .. }));
        assert!(matches!(scope.rule_scope[6], RuleScope::Partly { .. }));
        // Security 4688, flat EVTX JSON.
        let a = allowed(&scope, &fields, r#"{"Channel":"Security","EventID":4688,"Provider_Name":"Microsoft-Windows-Security-Auditing"}"#).unwrap();
        assert_eq!(a, [true, true, false, false, true, true, true, false]);
        // Plaso without XML: provider and event identifier.
        let a = allowed(&scope, &fields, r#"{"data_type":"windows:evtx:record","source_name":"Microsoft-Windows-Sysmon","event_identifier":"1"}"#).unwrap();
        assert_eq!(a, [true, false, false, false, true, true, true, false]);
        // Plaso record through its XML.
        let a = allowed(&scope, &fields, r#"{"data_type":"windows:evtx:record","xml_string":"<Event><System><EventID>4624</EventID><Channel>Security</Channel></System></Event>"}"#).unwrap();
        assert_eq!(a, [false, true, false, false, true, true, true, false]);
        // apt history: linux shell (the Timesketch ZMap fixture).
        let a = allowed(&scope, &fields, r#"{"data_type":"apt:history:line","parser":"apt_history"}"#).unwrap();
        assert_eq!(a, [false, false, false, true, true, true, false, false]);
        // Browser history: recognised, no logsource.
        let a = allowed(&scope, &fields, r#"{"data_type":"chrome:history:page_visited"}"#).unwrap();
        assert_eq!(a, [false, false, false, false, true, true, false, false]);
        // Unrecognised: every rule.
        assert_eq!(allowed(&scope, &fields, r#"{"message":"x"}"#), None);
    }

    #[test]
    fn conditions() {
        let t = ScopeTable::parse(
            Path::new("t.yml"),
            "sources:\n  - logsource: {product: p}\n    when: [{a|startswith: Ab}, {b|re: '^x[0-9]$'}, {c|contains: mid, d|exists: false}]\n",
        )
        .unwrap();
        let r = ls(Some("p"), None, None);
        let mut fields = FieldIndex::default();
        let scope = CompiledScope::new(&t, &mut fields, &[&r]);
        let yes = |l: &str| allowed(&scope, &fields, l).is_some();
        assert!(yes(r#"{"a":"abc"}"#));
        assert!(!yes(r#"{"a":"cab"}"#));
        assert!(yes(r#"{"b":"x1"}"#));
        assert!(!yes(r#"{"b":"x12"}"#));
        assert!(yes(r#"{"c":"a MID b"}"#));
        assert!(!yes(r#"{"c":"a MID b","d":1}"#));
    }
}
