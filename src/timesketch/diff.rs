//! The two readings side by side: the Sigma specification's (sigma-match's
//! own evaluation) and Timesketch's (its query on OpenSearch, [`super::run`]).
//!
//! This module owns joining the two per rule (by rule file), counting,
//! classifying why counts differ, picking example events each way, and
//! writing the report (table, JSON) and the `--diff` list of every event
//! tagged by one reading and not the other.
//!
//! Reason classes (a rule can have several; they are derived from the
//! rule, its Timesketch query and the events that differ):
//! * `rule not stable`: the analyzer only runs `status: stable` rules;
//! * `conversion failure`: Timesketch cannot convert the rule, or
//!   OpenSearch rejects the query (parse or search error);
//! * `modifier stripped`: the rule uses `|endswith`/`|startswith`, which
//!   `sigma_util.py` deletes from the rule text before conversion;
//! * `mapping default target`: the Timesketch query names other event
//!   fields than sigma-match's mapping of the rule (legacy sigmac's reading
//!   of conditional field mappings, see `sigmac` warnings);
//! * `field missing after mapping`: a field the query names does not exist
//!   in the index, so that clause matches nothing;
//! * `.keyword ignore_above`: the query tests a `.keyword` sub-field and an
//!   event the spec tags has a value of that field over 256 characters;
//! * `token vs substring semantics`: what remains: analysed phrases and
//!   per-term wildcards are not the substring / whole-value comparisons the
//!   specification means (case folding, token boundaries, missing spaces).

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::PathBuf;

use serde_json::json;

use super::index::{IndexMapping, KEYWORD_IGNORE_ABOVE};
use super::query_string::{self, QueryAst, Term};
use super::run::{InputText, TsResults, TsRule};
use crate::compile::{Ruleset, Slot};
use crate::run::engine::{LineMatch, Sink};

/// The rules that tagged each line of one input.
type RulesByLine<'a> = HashMap<u64, &'a Vec<u32>>;

/// One input's tagged lines in both readings: the spec reading's and
/// Timesketch's rules per line, and every line either reading tagged, in order.
fn tagged_lines<'a>(
    spec: &'a SpecCollector,
    input: &str,
    ts_hits: &'a LineHits,
) -> (RulesByLine<'a>, RulesByLine<'a>, BTreeSet<u64>) {
    let spec_lines: HashMap<u64, &Vec<u32>> = spec
        .hits
        .iter()
        .find(|(n, _)| n == input)
        .map(|(_, v)| v.iter().map(|(l, r)| (*l, r)).collect())
        .unwrap_or_default();
    let ts_lines: HashMap<u64, &Vec<u32>> = ts_hits.iter().map(|(l, r)| (*l, r)).collect();
    let mut all: BTreeSet<u64> = spec_lines.keys().copied().collect();
    all.extend(ts_lines.keys().copied());
    (spec_lines, ts_lines, all)
}

/// How many example events to keep per rule and direction.
pub const EXAMPLES: usize = 3;

/// One input's matched lines: (line number, indexes of the matching rules).
pub type LineHits = Vec<(u64, Vec<u32>)>;

/// Collects the spec reading's matches per input line (a [`Sink`]).
#[derive(Debug, Default)]
pub struct SpecCollector {
    /// Per input, in the order inputs were given: (input name, its hits).
    pub hits: Vec<(String, LineHits)>,
}

impl Sink for SpecCollector {
    fn chunk(
        &mut self,
        input: &str,
        _data: &[u8],
        _first_line: u64,
        matches: &[LineMatch],
    ) -> std::io::Result<()> {
        if self.hits.last().is_none_or(|(n, _)| n != input) {
            self.hits.push((input.to_string(), Vec::new()));
        }
        let (_, v) = self.hits.last_mut().expect("pushed above");
        v.extend(matches.iter().map(|m| (m.line, m.rules.clone())));
        Ok(())
    }
}

/// Why the two readings differ for a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    NotStable,
    ConversionFailure,
    ModifierStripped,
    MappingDefaultTarget,
    FieldMissing,
    KeywordIgnoreAbove,
    TokenSemantics,
}

impl Reason {
    pub fn label(self) -> &'static str {
        match self {
            Reason::NotStable => "rule not stable",
            Reason::ConversionFailure => "conversion failure",
            Reason::ModifierStripped => "modifier stripped",
            Reason::MappingDefaultTarget => "mapping default target",
            Reason::FieldMissing => "field missing after mapping",
            Reason::KeywordIgnoreAbove => ".keyword ignore_above",
            Reason::TokenSemantics => "token vs substring semantics",
        }
    }
}

/// An event: input name and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct EventRef {
    pub input: String,
    pub line: u64,
}

/// One rule in both readings.
#[derive(Debug, Clone)]
pub struct DiffRule {
    pub title: String,
    pub id: Option<String>,
    pub path: PathBuf,
    pub status: Option<String>,
    pub spec_index: Option<u32>,
    pub ts_index: Option<u32>,
    pub spec_count: u64,
    pub ts_count: u64,
    pub es_query: Option<String>,
    /// Why Timesketch produces no tags at all for it (conversion or
    /// OpenSearch error), if so.
    pub error: Option<String>,
    pub reasons: Vec<Reason>,
    pub spec_only: u64,
    pub ts_only: u64,
    pub spec_only_examples: Vec<EventRef>,
    pub ts_only_examples: Vec<EventRef>,
}

/// The whole comparison.
#[derive(Debug, Clone)]
pub struct Diff {
    pub rules: Vec<DiffRule>,
    pub events: u64,
    pub rejected: u64,
    pub rejected_example: Option<String>,
}

/// Explicit field names a query string tests (without `_exists_`).
fn query_fields(ast: &QueryAst, out: &mut BTreeSet<String>) {
    match ast {
        QueryAst::Bool(cs) => cs.iter().for_each(|c| query_fields(&c.query, out)),
        QueryAst::Leaf { field, term, .. } => match (field, term) {
            (_, Term::Exists(f)) => {
                out.insert(f.clone());
            }
            (Some(f), _) if f != "*" && f != "_exists_" => {
                out.insert(f.clone());
            }
            _ => {}
        },
        QueryAst::MatchNone => {}
    }
}

fn base_field(f: &str) -> &str {
    f.strip_suffix(".keyword")
        .or_else(|| f.strip_suffix(".wildcard"))
        .unwrap_or(f)
}

/// A string value of `field` (dotted path) in an event line, if any is
/// longer than the `.keyword` limit.
fn has_long_value(line: &str, field: &str) -> bool {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
        return false;
    };
    let mut cur = vec![&v];
    for part in field.split('.') {
        let mut next = Vec::new();
        for c in cur {
            match c.get(part) {
                Some(serde_json::Value::Array(a)) => next.extend(a.iter()),
                Some(x) => next.push(x),
                None => {}
            }
        }
        cur = next;
    }
    cur.iter().any(|x| {
        x.as_str()
            .is_some_and(|s| s.encode_utf16().count() > KEYWORD_IGNORE_ABOVE)
    })
}

/// Joins and compares the two readings.
pub fn compare(
    ruleset: &Ruleset,
    spec_counts: &[u64],
    spec: &SpecCollector,
    ts_rules: &[TsRule],
    ts: &TsResults,
    inputs: &[InputText],
) -> Diff {
    // Join by rule file (Timesketch converts a file as one rule).
    let mut by_path: HashMap<&std::path::Path, u32> = HashMap::new();
    for (i, r) in ts_rules.iter().enumerate() {
        by_path.entry(r.path.as_path()).or_insert(i as u32);
    }
    let mut rules: Vec<DiffRule> = Vec::new();
    let mut ts_to_diff: HashMap<u32, usize> = HashMap::new();
    let mut spec_to_diff: Vec<Option<usize>> = vec![None; ruleset.rules.len()];
    for (si, cr) in ruleset.rules.iter().enumerate() {
        let r = &cr.rule;
        let ti = if r.document == 0 {
            by_path.get(r.path.as_path()).copied()
        } else {
            None
        };
        if let Some(t) = ti {
            if ts_to_diff.contains_key(&t) {
                continue;
            }
            ts_to_diff.insert(t, rules.len());
        }
        spec_to_diff[si] = Some(rules.len());
        rules.push(DiffRule {
            title: r.title.clone(),
            id: r.id.clone(),
            path: r.path.clone(),
            status: r.status.clone(),
            spec_index: Some(si as u32),
            ts_index: ti,
            spec_count: spec_counts.get(si).copied().unwrap_or(0),
            ts_count: 0,
            es_query: None,
            error: None,
            reasons: Vec::new(),
            spec_only: 0,
            ts_only: 0,
            spec_only_examples: Vec::new(),
            ts_only_examples: Vec::new(),
        });
    }
    for (ti, t) in ts_rules.iter().enumerate() {
        if ts_to_diff.contains_key(&(ti as u32)) {
            continue;
        }
        ts_to_diff.insert(ti as u32, rules.len());
        rules.push(DiffRule {
            title: t.title.clone(),
            id: t.id.clone(),
            path: t.path.clone(),
            status: t.status.clone(),
            spec_index: None,
            ts_index: Some(ti as u32),
            spec_count: 0,
            ts_count: 0,
            es_query: None,
            error: None,
            reasons: Vec::new(),
            spec_only: 0,
            ts_only: 0,
            spec_only_examples: Vec::new(),
            ts_only_examples: Vec::new(),
        });
    }
    for (&ti, &d) in &ts_to_diff {
        let t = &ts_rules[ti as usize];
        let dr = &mut rules[d];
        dr.ts_count = ts.counts[ti as usize];
        match &t.es_query {
            Ok(q) => dr.es_query = Some(q.clone()),
            Err(e) => dr.error = Some(e.clone()),
        }
        if let Some(Err(e)) = &ts.queries[ti as usize] {
            dr.error = Some(format!("OpenSearch: {e}"));
        }
    }
    // Per event: who tagged it.
    let line_text: Vec<HashMap<u64, &str>> = inputs.iter().map(|i| i.lines().collect()).collect();
    for (ii, inp) in inputs.iter().enumerate() {
        let (spec_lines, ts_lines, all) = tagged_lines(spec, &inp.name, &ts.hits[ii]);
        for line in all {
            let s: BTreeSet<usize> = spec_lines
                .get(&line)
                .map(|v| v.iter().filter_map(|&i| spec_to_diff[i as usize]).collect())
                .unwrap_or_default();
            let t: BTreeSet<usize> = ts_lines
                .get(&line)
                .map(|v| {
                    v.iter()
                        .filter_map(|i| ts_to_diff.get(i).copied())
                        .collect()
                })
                .unwrap_or_default();
            let ev = || EventRef {
                input: inp.name.clone(),
                line,
            };
            for &d in s.difference(&t) {
                let r = &mut rules[d];
                r.spec_only += 1;
                if r.spec_only_examples.len() < EXAMPLES {
                    r.spec_only_examples.push(ev());
                }
            }
            for &d in t.difference(&s) {
                let r = &mut rules[d];
                r.ts_only += 1;
                if r.ts_only_examples.len() < EXAMPLES {
                    r.ts_only_examples.push(ev());
                }
            }
        }
    }
    for r in &mut rules {
        classify(r, ruleset, ts_rules, &ts.mapping, inputs, &line_text);
    }
    Diff {
        rules,
        events: ts.events,
        rejected: ts.rejected,
        rejected_example: ts.rejected_example.clone(),
    }
}

fn classify(
    r: &mut DiffRule,
    ruleset: &Ruleset,
    ts_rules: &[TsRule],
    mapping: &IndexMapping,
    inputs: &[InputText],
    line_text: &[HashMap<u64, &str>],
) {
    if r.spec_only == 0 && r.ts_only == 0 {
        return;
    }
    let mut reasons = BTreeSet::new();
    let Some(ti) = r.ts_index else {
        reasons.insert(Reason::ConversionFailure);
        r.reasons = reasons.into_iter().collect();
        return;
    };
    let t = &ts_rules[ti as usize];
    if !t.analyzed {
        reasons.insert(Reason::NotStable);
    }
    if r.error.is_some() {
        reasons.insert(Reason::ConversionFailure);
    }
    if t.modifiers_stripped {
        reasons.insert(Reason::ModifierStripped);
    }
    let mut qfields = BTreeSet::new();
    if let Some(Ok(ast)) = r.es_query.as_deref().map(query_string::parse) {
        query_fields(&ast, &mut qfields);
    }
    if let Some(si) = r.spec_index {
        let cr = &ruleset.rules[si as usize];
        let spec_fields: BTreeSet<&str> = cr
            .items
            .iter()
            .filter_map(|it| match it.slot {
                Slot::Field(f) => Some(ruleset.fields.name(f)),
                Slot::Keywords => None,
            })
            .collect();
        let ts_fields: BTreeSet<&str> = qfields.iter().map(|f| base_field(f)).collect();
        if !ts_fields.is_empty() && ts_fields != spec_fields {
            reasons.insert(Reason::MappingDefaultTarget);
        }
    }
    if qfields
        .iter()
        .any(|f| !f.contains('*') && mapping.get(f).is_none() && !mapping_has_object(mapping, f))
    {
        reasons.insert(Reason::FieldMissing);
    }
    let kw: Vec<&str> = qfields
        .iter()
        .filter_map(|f| f.strip_suffix(".keyword"))
        .collect();
    if !kw.is_empty() {
        let long = r.spec_only_examples.iter().any(|e| {
            inputs
                .iter()
                .position(|i| i.name == e.input)
                .and_then(|ii| line_text[ii].get(&e.line))
                .is_some_and(|l| kw.iter().any(|f| has_long_value(l, f)))
        });
        if long {
            reasons.insert(Reason::KeywordIgnoreAbove);
        }
    }
    let explained =
        reasons.contains(&Reason::NotStable) || reasons.contains(&Reason::ConversionFailure);
    if !explained {
        reasons.insert(Reason::TokenSemantics);
    }
    r.reasons = reasons.into_iter().collect();
}

fn mapping_has_object(m: &IndexMapping, f: &str) -> bool {
    m.get(f) == Some(super::index::FieldType::Object)
}

impl Diff {
    /// Rules where either reading tags something.
    pub fn firing(&self) -> impl Iterator<Item = &DiffRule> {
        self.rules
            .iter()
            .filter(|r| r.spec_count > 0 || r.ts_count > 0)
    }

    /// Counts for the summary line.
    pub fn summary(&self) -> (usize, usize, usize, usize, usize) {
        let firing: Vec<&DiffRule> = self.firing().collect();
        let same = firing
            .iter()
            .filter(|r| r.spec_count == r.ts_count && r.spec_only == 0 && r.ts_only == 0)
            .count();
        let ts_only = firing.iter().filter(|r| r.spec_count == 0).count();
        let spec_only = firing.iter().filter(|r| r.ts_count == 0).count();
        let errors = self.rules.iter().filter(|r| r.error.is_some()).count();
        (firing.len(), same, ts_only, spec_only, errors)
    }

    /// The comparison table: rules that fire in either reading, largest
    /// difference first.
    pub fn to_table(&self, limit: usize) -> String {
        let mut rows: Vec<&DiffRule> = self.firing().collect();
        rows.sort_by(|a, b| {
            let da = a.spec_only + a.ts_only;
            let db = b.spec_only + b.ts_only;
            db.cmp(&da).then_with(|| a.title.cmp(&b.title))
        });
        let mut s = String::new();
        let w = rows
            .iter()
            .map(|r| r.title.chars().count())
            .max()
            .unwrap_or(5)
            .clamp(5, 60);
        s.push_str(&format!(
            "{:<w$}  {:>7}  {:>10}  {:>9}  {:>7}  reasons\n",
            "rule", "spec", "timesketch", "spec-only", "ts-only"
        ));
        for r in rows.iter().take(limit) {
            let title: String = r.title.chars().take(w).collect();
            let reasons: Vec<&str> = r.reasons.iter().map(|x| x.label()).collect();
            s.push_str(&format!(
                "{title:<w$}  {:>7}  {:>10}  {:>9}  {:>7}  {}\n",
                r.spec_count,
                r.ts_count,
                r.spec_only,
                r.ts_only,
                reasons.join(", ")
            ));
            for e in &r.spec_only_examples {
                s.push_str(&format!("    spec only: {}:{}\n", e.input, e.line));
            }
            for e in &r.ts_only_examples {
                s.push_str(&format!("    timesketch only: {}:{}\n", e.input, e.line));
            }
        }
        if rows.len() > limit {
            s.push_str(&format!(
                "... {} more rules (see --format json)\n",
                rows.len() - limit
            ));
        }
        let (firing, same, ts_only, spec_only, errors) = self.summary();
        s.push_str(&format!(
            "\n{firing} rules fire in either reading: {same} with identical events, {ts_only} only in Timesketch's, {spec_only} only in the spec's; {errors} rules Timesketch cannot run (conversion or OpenSearch error)\n"
        ));
        s.push_str(&format!(
            "{} events; {} would be refused by OpenSearch under the dynamic mapping{}\n",
            self.events,
            self.rejected,
            self.rejected_example
                .as_deref()
                .map(|e| format!(" (e.g. {e})"))
                .unwrap_or_default()
        ));
        s
    }

    pub fn to_json(&self) -> serde_json::Value {
        let ev = |v: &[EventRef]| -> Vec<serde_json::Value> {
            v.iter()
                .map(|e| json!({"input": e.input, "line": e.line}))
                .collect()
        };
        let rules: Vec<serde_json::Value> = self
            .rules
            .iter()
            .map(|r| {
                json!({
                    "title": r.title,
                    "id": r.id,
                    "path": r.path.display().to_string(),
                    "status": r.status,
                    "spec_count": r.spec_count,
                    "timesketch_count": r.ts_count,
                    "spec_only": r.spec_only,
                    "timesketch_only": r.ts_only,
                    "es_query": r.es_query,
                    "error": r.error,
                    "reasons": r.reasons.iter().map(|x| x.label()).collect::<Vec<_>>(),
                    "examples": {
                        "spec_only": ev(&r.spec_only_examples),
                        "timesketch_only": ev(&r.ts_only_examples),
                    },
                })
            })
            .collect();
        let (firing, same, ts_only, spec_only, errors) = self.summary();
        json!({
            "summary": {
                "events": self.events,
                "rejected_events": self.rejected,
                "rules": self.rules.len(),
                "firing_either": firing,
                "identical": same,
                "timesketch_only": ts_only,
                "spec_only": spec_only,
                "timesketch_errors": errors,
            },
            "rules": rules,
        })
    }
}

/// Writes every (event, rule) tagged by one reading and not the other, one
/// JSON object per line, in input order.
pub fn write_diff(
    out: &mut dyn Write,
    ruleset: &Ruleset,
    spec: &SpecCollector,
    ts_rules: &[TsRule],
    ts: &TsResults,
    inputs: &[InputText],
    diff: &Diff,
) -> std::io::Result<()> {
    let mut spec_to_diff: HashMap<u32, usize> = HashMap::new();
    let mut ts_to_diff: HashMap<u32, usize> = HashMap::new();
    for (d, r) in diff.rules.iter().enumerate() {
        if let Some(s) = r.spec_index {
            spec_to_diff.insert(s, d);
        }
        if let Some(t) = r.ts_index {
            ts_to_diff.insert(t, d);
        }
    }
    let _ = (ruleset, ts_rules);
    for (ii, inp) in inputs.iter().enumerate() {
        let (spec_lines, ts_lines, all) = tagged_lines(spec, &inp.name, &ts.hits[ii]);
        for line in all {
            let s: BTreeSet<usize> = spec_lines
                .get(&line)
                .map(|v| {
                    v.iter()
                        .filter_map(|i| spec_to_diff.get(i).copied())
                        .collect()
                })
                .unwrap_or_default();
            let t: BTreeSet<usize> = ts_lines
                .get(&line)
                .map(|v| {
                    v.iter()
                        .filter_map(|i| ts_to_diff.get(i).copied())
                        .collect()
                })
                .unwrap_or_default();
            for (set, other, by) in [(&s, &t, "spec"), (&t, &s, "timesketch")] {
                for &d in set.difference(other) {
                    let r = &diff.rules[d];
                    let o = json!({
                        "input": inp.name,
                        "line": line,
                        "rule": r.title,
                        "id": r.id,
                        "path": r.path.display().to_string(),
                        "tagged_by": by,
                        "reasons": r.reasons.iter().map(|x| x.label()).collect::<Vec<_>>(),
                    });
                    writeln!(out, "{o}")?;
                }
            }
        }
    }
    Ok(())
}
