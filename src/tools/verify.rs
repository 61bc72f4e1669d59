//! `sigma-match verify`: checking a ruleset before it is run.
//!
//! This module owns the checks and their findings. Every rule document is
//! loaded (YAML, required keys, condition, modifiers, regexes, CIDRs, value
//! types: the loader's typed [`RuleError`]s), compiled alone under the given
//! mapping and placeholders, and its metadata is checked against the Sigma
//! rules specification v2.1 (`id` a UUID, `status`/`level` values, dates,
//! tags, `related`) and pySigma's validators (unused search identifiers,
//! `all` with one value, duplicate ids). Presentation of the findings is in
//! [`output`]; moving broken rules aside is [`relocate`]; the Timesketch-mode
//! checks (`verify --timesketch`) are [`timesketch`].

pub mod output;
pub mod relocate;
pub mod timesketch;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::compile::{CompileOptions, RulesetBuilder};
use crate::error::RuleError;
use crate::mapping::FieldMapping;
use crate::sigma::condition;
use crate::sigma::rule::{Condition, Loaded, OfTarget, Rule};
use crate::sigma::yaml::{Node, Pos, Value};

/// How bad a finding is: errors make the rule unusable (and `verify` exit
/// non-zero); warnings are legal Sigma that sigma-match cannot run (e.g.
/// correlation rules) or that the specification discourages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One problem of one rule document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub path: PathBuf,
    /// Index of the rule unit in [`Verified::rules`].
    #[serde(skip)]
    pub rule: usize,
    #[serde(skip)]
    pub pos: Option<Pos>,
    pub severity: Severity,
    /// Short stable name used to group findings (e.g. `regex`, `status`).
    pub category: &'static str,
    pub message: String,
}

/// One loaded rule document (or a file that could not become one).
#[derive(Debug, Clone, Serialize)]
pub struct RuleUnit {
    pub path: PathBuf,
    pub title: Option<String>,
    pub id: Option<String>,
    /// The worst severity of the unit's findings, `None` when clean.
    pub worst: Option<Severity>,
}

/// What the checks need besides the rules.
pub struct Options<'a> {
    /// The field mapping the rules must compile under (`-c CONFIG`).
    pub mapping: &'a dyn FieldMapping,
    /// Values of `%placeholders%` for the `expand` modifier.
    pub placeholders: &'a HashMap<String, Vec<String>>,
    /// Fields searched by keyword (field-less) detections (`None`: every string value).
    pub keyword_fields: Option<Vec<String>>,
    /// Which rules are checked (`--status`, `--level`, ...); the default keeps all.
    pub filter: &'a crate::compile::loader::RuleFilter,
}

/// The outcome of verifying a set of rule paths.
#[derive(Debug, Clone, Default)]
pub struct Verified {
    pub files: usize,
    pub rules: Vec<RuleUnit>,
    /// Findings in path order, then position.
    pub findings: Vec<Finding>,
}

impl Verified {
    /// Rule documents without any finding.
    pub fn ok(&self) -> usize {
        self.rules.iter().filter(|r| r.worst.is_none()).count()
    }

    /// Rule documents whose worst finding has `severity`.
    pub fn with(&self, severity: Severity) -> usize {
        self.rules
            .iter()
            .filter(|r| r.worst == Some(severity))
            .count()
    }

    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// Findings grouped by (severity, category), most frequent first.
    pub fn by_reason(&self) -> Vec<(Severity, &'static str, usize)> {
        let mut counts: BTreeMap<(Severity, &'static str), usize> = BTreeMap::new();
        for f in &self.findings {
            *counts.entry((f.severity, f.category)).or_default() += 1;
        }
        let mut out: Vec<_> = counts.into_iter().map(|((s, c), n)| (s, c, n)).collect();
        out.sort_by(|a, b| b.0.cmp(&a.0).then(b.2.cmp(&a.2)).then(a.1.cmp(b.1)));
        out
    }

    /// Files that hold at least one rule with an error, in order.
    pub fn erroring_files(&self) -> Vec<&Path> {
        let mut out: Vec<&Path> = Vec::new();
        for f in &self.findings {
            if f.severity == Severity::Error && !out.contains(&f.path.as_path()) {
                out.push(&f.path);
            }
        }
        out
    }
}

/// Verifies every rule under `paths` (walked like the main command).
pub fn verify_paths(paths: &[PathBuf], opts: &Options<'_>) -> Verified {
    let (files, _) = crate::compile::loader::rule_files(paths);
    let mut loaded = crate::compile::loader::load_paths(paths);
    loaded.retain(|l| match l {
        Loaded::Rule(r) => opts.filter.dropped(r).is_none(),
        Loaded::Failed { .. } => true,
    });
    let per_unit: Vec<(RuleUnit, Vec<Finding>)> = loaded
        .into_par_iter()
        .enumerate()
        .map(|(i, l)| check_loaded(i, l, opts))
        .collect();
    let mut out = Verified {
        files: files.len(),
        ..Verified::default()
    };
    for (unit, findings) in per_unit {
        out.rules.push(unit);
        out.findings.extend(findings);
    }
    crate::correlation::verify::amend(paths, &mut out);
    for f in duplicate_ids(&out.rules) {
        out.findings.push(f);
    }
    for f in &out.findings {
        let w = &mut out.rules[f.rule].worst;
        *w = (*w).max(Some(f.severity));
    }
    out.findings
        .sort_by(|a, b| a.rule.cmp(&b.rule).then(a.pos.cmp(&b.pos)));
    // Documents of one collection file share their global part: report a
    // problem at one place of a file once (the rule counts keep each rule).
    let mut seen = std::collections::HashSet::new();
    out.findings.retain(|f| {
        seen.insert((
            f.path.clone(),
            f.pos.map(|p| (p.line, p.col)),
            f.message.clone(),
        ))
    });
    out
}

/// Checks one loaded document: loader failure, compile, metadata.
fn check_loaded(i: usize, l: Loaded, opts: &Options<'_>) -> (RuleUnit, Vec<Finding>) {
    match l {
        Loaded::Failed { issue, title, id } => {
            let severity = if issue.error.is_unsupported() {
                Severity::Warning
            } else {
                Severity::Error
            };
            let finding = Finding {
                path: issue.path.clone(),
                rule: i,
                pos: issue.pos,
                severity,
                category: issue.error.category(),
                message: issue.error.to_string(),
            };
            (
                RuleUnit {
                    path: issue.path,
                    title,
                    id,
                    worst: None,
                },
                vec![finding],
            )
        }
        Loaded::Rule(rule) => {
            let mut c = Checker {
                rule: &rule,
                unit: i,
                out: Vec::new(),
            };
            c.metadata();
            c.detection();
            let unit = RuleUnit {
                path: rule.path.clone(),
                title: Some(rule.title.clone()),
                id: rule.id.clone(),
                worst: None,
            };
            let mut findings = c.out;
            let compile = CompileOptions {
                mapping: opts.mapping,
                placeholders: opts.placeholders,
                keyword_fields: opts.keyword_fields.clone(),
            };
            if let Err(issue) = RulesetBuilder::new(compile).add(*rule) {
                findings.push(Finding {
                    path: issue.path,
                    rule: i,
                    pos: issue.pos,
                    severity: Severity::Error,
                    category: issue.error.category(),
                    message: format!("does not compile: {}", issue.error),
                });
            }
            (unit, findings)
        }
    }
}

/// Statuses of the Sigma specification v2.1 ("Status").
pub const STATUSES: [&str; 5] = [
    "stable",
    "test",
    "experimental",
    "deprecated",
    "unsupported",
];
/// Levels of the Sigma specification v2.1 ("Level").
pub const LEVELS: [&str; 5] = ["informational", "low", "medium", "high", "critical"];
/// Relation types of `related` (spec v2.1, "Related").
pub const RELATED_TYPES: [&str; 5] = ["derived", "obsolete", "merged", "renamed", "similar"];

/// Whether `s` is a UUID in its canonical 8-4-4-4-12 hexadecimal form, as
/// the specification requires for `id`.
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Whether `s` is a date `YYYY-MM-DD` that exists in the calendar.
fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| {
        s.get(r)
            .filter(|t| t.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|t| t.parse::<u32>().ok())
    };
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// Tag format of the specification ("Tags"): lower-case namespace and name
/// separated by a dot, made of `a-z 0-9 _ - .` (pySigma's tag validator).
fn tag_problem(tag: &str) -> Option<String> {
    let Some((ns, name)) = tag.split_once('.') else {
        return Some(format!(
            "tag `{tag}` has no namespace (expected `namespace.name`)"
        ));
    };
    let ok = |s: &str, dots: bool| {
        !s.is_empty()
            && s.bytes().all(|c| {
                c.is_ascii_lowercase()
                    || c.is_ascii_digit()
                    || c == b'_'
                    || c == b'-'
                    || (dots && c == b'.')
            })
    };
    if !ok(ns, false) || !ok(name, true) {
        return Some(format!(
            "tag `{tag}` is not lower-case `namespace.name` of a-z, 0-9, `_`, `-`, `.`"
        ));
    }
    if ns == "attack" {
        let t = name.as_bytes();
        let technique = t.len() >= 5 && t[0] == b't' && t[1..5].iter().all(u8::is_ascii_digit);
        if technique
            && !(t.len() == 5
                || (t.len() == 9 && t[5] == b'.' && t[6..].iter().all(u8::is_ascii_digit)))
        {
            return Some(format!(
                "ATT&CK tag `{tag}` is not `attack.tNNNN` or `attack.tNNNN.NNN`"
            ));
        }
    }
    None
}

struct Checker<'r> {
    rule: &'r Rule,
    unit: usize,
    out: Vec<Finding>,
}

impl<'r> Checker<'r> {
    fn push(
        &mut self,
        pos: Option<Pos>,
        severity: Severity,
        category: &'static str,
        message: String,
    ) {
        self.out.push(Finding {
            path: self.rule.path.clone(),
            rule: self.unit,
            pos,
            severity,
            category,
            message,
        });
    }

    fn wrong_type(&mut self, key: &str, node: &Node, expected: &'static str) {
        let e = RuleError::WrongType {
            key: key.into(),
            expected,
            found: node.kind(),
        };
        self.push(Some(node.pos), Severity::Error, e.category(), e.to_string());
    }

    fn string_key(&mut self, key: &str) -> Option<&'r Node> {
        let rule: &'r Rule = self.rule;
        let node = rule.raw.get(key)?;
        if node.as_str().is_none() {
            self.wrong_type(key, node, "string");
            return None;
        }
        Some(node)
    }

    fn string_list_key(&mut self, key: &str, single_ok: bool) -> Vec<&'r Node> {
        let rule: &'r Rule = self.rule;
        let Some(node) = rule.raw.get(key) else {
            return Vec::new();
        };
        match &node.value {
            Value::Seq(items) => {
                let mut out = Vec::new();
                for i in items {
                    if i.as_str().is_some() || matches!(i.value, Value::Int(_) | Value::Float(_)) {
                        out.push(i);
                    } else {
                        self.wrong_type(key, i, "list of strings");
                    }
                }
                out
            }
            Value::Str(_) if single_ok => vec![node],
            _ => {
                self.wrong_type(key, node, "list of strings");
                Vec::new()
            }
        }
    }

    fn metadata(&mut self) {
        let raw = &self.rule.raw;
        if let Some(t) = self.string_key("title") {
            let n = t.as_str().map_or(0, |s| s.chars().count());
            if n > 256 {
                let pos = t.pos;
                self.push(
                    Some(pos),
                    Severity::Warning,
                    "title-length",
                    format!("title is {n} characters (spec: at most 256)"),
                );
            }
        }
        match raw.get("id") {
            None => self.push(
                Some(self.rule.pos),
                Severity::Warning,
                "missing-id",
                "no `id` (spec: a UUID is recommended so the rule can be referenced)".into(),
            ),
            Some(n) => match n.as_str() {
                Some(s) if is_uuid(s) => {}
                Some(s) => {
                    let msg = format!("id `{s}` is not a UUID (8-4-4-4-12 hexadecimal digits)");
                    self.push(Some(n.pos), Severity::Error, "id", msg)
                }
                None => self.wrong_type("id", n, "string"),
            },
        }
        if raw.get("logsource").is_none() {
            let e = RuleError::MissingKey("logsource");
            self.push(
                Some(self.rule.pos),
                Severity::Error,
                e.category(),
                format!("{e} (spec: required)"),
            );
        }
        self.enum_key("status", &STATUSES);
        self.enum_key("level", &LEVELS);
        for key in ["description", "author", "license", "taxonomy", "name"] {
            self.string_key(key);
        }
        for key in ["date", "modified"] {
            self.date_key(key);
        }
        for key in ["references", "fields", "scope"] {
            self.string_list_key(key, false);
        }
        self.string_list_key("falsepositives", true);
        self.tags();
        self.related();
    }

    fn enum_key(&mut self, key: &'static str, allowed: &[&str]) {
        let Some(n) = self.string_key(key) else {
            return;
        };
        let v = n.as_str().unwrap_or_default();
        if !allowed.contains(&v) {
            let msg = format!("{key} `{v}` is not one of {}", allowed.join(", "));
            let pos = n.pos;
            self.push(Some(pos), Severity::Error, key, msg);
        }
    }

    fn date_key(&mut self, key: &'static str) {
        let Some(n) = self.rule.raw.get(key) else {
            return;
        };
        let pos = n.pos;
        match n.as_str() {
            Some(s) if is_iso_date(s) => {}
            // Older SigmaHQ rules used `2020/06/26`; pySigma still reads it.
            Some(s) if is_iso_date(&s.replace('/', "-")) => self.push(
                Some(pos),
                Severity::Warning,
                "date-format",
                format!("{key} `{s}` uses the legacy YYYY/MM/DD form (spec: YYYY-MM-DD)"),
            ),
            Some(s) => self.push(
                Some(pos),
                Severity::Error,
                "date",
                format!("{key} `{s}` is not a date YYYY-MM-DD"),
            ),
            None => self.wrong_type(key, n, "string"),
        }
    }

    fn tags(&mut self) {
        let tags: Vec<(String, Pos)> = self
            .string_list_key("tags", false)
            .into_iter()
            .filter_map(|n| n.scalar_text().map(|t| (t, n.pos)))
            .collect();
        for (i, (t, pos)) in tags.iter().enumerate() {
            if let Some(p) = tag_problem(t) {
                self.push(Some(*pos), Severity::Warning, "tag-format", p);
            }
            if tags[..i].iter().any(|(o, _)| o == t) {
                self.push(
                    Some(*pos),
                    Severity::Warning,
                    "duplicate-tag",
                    format!("tag `{t}` is listed twice"),
                );
            }
        }
    }

    fn related(&mut self) {
        let Some(rel) = self.rule.raw.get("related") else {
            return;
        };
        let Value::Seq(items) = &rel.value else {
            return self.wrong_type("related", rel, "list of mappings");
        };
        for item in items {
            if !matches!(item.value, Value::Map(_)) {
                self.wrong_type("related", item, "list of mappings");
                continue;
            }
            match item.get("id").and_then(Node::as_str) {
                Some(id) if is_uuid(id) => {}
                Some(id) => self.push(
                    Some(item.pos),
                    Severity::Error,
                    "related",
                    format!("related id `{id}` is not a UUID"),
                ),
                None => self.push(
                    Some(item.pos),
                    Severity::Error,
                    "related",
                    "related entry without an `id`".into(),
                ),
            }
            match item.get("type").and_then(Node::as_str) {
                Some(t) if RELATED_TYPES.contains(&t) => {}
                other => self.push(
                    Some(item.pos),
                    Severity::Error,
                    "related",
                    format!(
                        "related type `{}` is not one of {}",
                        other.unwrap_or("(missing)"),
                        RELATED_TYPES.join(", ")
                    ),
                ),
            }
        }
    }

    fn detection(&mut self) {
        let det = &self.rule.detection;
        // Search identifiers the condition never uses (pySigma's
        // DanglingDetectionValidator): almost always a typo in the condition.
        for s in &det.searches {
            if !uses(&det.condition, &s.name) {
                let (pos, msg) = (
                    s.pos,
                    format!(
                        "search identifier `{}` is not used by the condition",
                        s.name
                    ),
                );
                self.push(Some(pos), Severity::Warning, "unused-search", msg);
            }
        }
        let single_all: Vec<(Pos, String)> = det
            .searches
            .iter()
            .flat_map(|s| s.search.items())
            .filter(|i| i.applied.all && i.values.len() < 2)
            .map(|i| {
                let mods: Vec<&str> = i.modifiers.iter().map(|m| m.name()).collect();
                (
                    i.pos,
                    format!("{}|{}", i.field.as_deref().unwrap_or(""), mods.join("|")),
                )
            })
            .collect();
        for (pos, field) in single_all {
            self.push(
                Some(pos),
                Severity::Warning,
                "all-single-value",
                format!("`{field}` with a single value (spec: `all` is for lists; drop it)"),
            );
        }
    }
}

/// Whether the condition references the search identifier `name`.
fn uses(c: &Condition, name: &str) -> bool {
    match c {
        Condition::Ident(n) => n == name,
        Condition::And(v) | Condition::Or(v) => v.iter().any(|c| uses(c, name)),
        Condition::Not(c) => uses(c, name),
        Condition::Of {
            target: OfTarget::Them,
            ..
        } => !name.starts_with('_'),
        Condition::Of {
            target: OfTarget::Pattern(p),
            ..
        } => condition::pattern_matches(p, name),
    }
}

/// Rules sharing an id across files. Documents of one multi-document file
/// (rule collections) legitimately share the global part, so only ids seen
/// in another file count; the first file (in path order) keeps the id.
fn duplicate_ids(rules: &[RuleUnit]) -> Vec<Finding> {
    let mut first: HashMap<String, &Path> = HashMap::new();
    let mut out = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let Some(id) = &r.id else { continue };
        match first.get(&id.to_ascii_lowercase()) {
            None => {
                first.insert(id.to_ascii_lowercase(), &r.path);
            }
            Some(p) if *p == r.path.as_path() => {}
            Some(p) => out.push(Finding {
                path: r.path.clone(),
                rule: i,
                pos: None,
                severity: Severity::Error,
                category: "duplicate-id",
                message: format!("id `{id}` is also used by {}", p.display()),
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::Identity;

    fn verify_dir(dir: &Path) -> Verified {
        let placeholders = HashMap::new();
        verify_paths(
            &[dir.to_path_buf()],
            &Options {
                mapping: &Identity,
                placeholders: &placeholders,
                keyword_fields: None,
                filter: &Default::default(),
            },
        )
    }

    fn check(text: &str) -> Vec<(Severity, &'static str)> {
        let dir = tempdir("check");
        std::fs::write(dir.join("r.yml"), text).unwrap();
        let v = verify_dir(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        v.findings
            .iter()
            .map(|f| (f.severity, f.category))
            .collect()
    }

    pub(crate) fn tempdir(name: &str) -> PathBuf {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let d = std::env::temp_dir().join(format!("sm-verify-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    const GOOD: &str = "title: T\nid: 5266a592-b793-11ea-b3de-0242ac130004\nstatus: test\nlevel: high\ndate: 2024-02-29\ntags: [attack.t1059.001, attack.execution]\nlogsource: {product: windows}\ndetection:\n  sel:\n    Image|endswith: '\\cmd.exe'\n  condition: sel\n";

    #[test]
    fn a_good_rule_has_no_findings() {
        assert_eq!(check(GOOD), vec![]);
    }

    #[test]
    fn metadata_checks() {
        let f = |from: &str, to: &str| check(&GOOD.replace(from, to));
        assert_eq!(
            f("id: 5266a592-b793-11ea-b3de-0242ac130004", "id: 5266a592"),
            vec![(Severity::Error, "id")]
        );
        assert_eq!(
            f("id: 5266a592-b793-11ea-b3de-0242ac130004\n", ""),
            vec![(Severity::Warning, "missing-id")]
        );
        assert_eq!(
            f("status: test", "status: final"),
            vec![(Severity::Error, "status")]
        );
        assert_eq!(
            f("level: high", "level: severe"),
            vec![(Severity::Error, "level")]
        );
        assert_eq!(
            f("level: high", "level: [high]"),
            vec![(Severity::Error, "wrong-type")]
        );
        assert_eq!(
            f("date: 2024-02-29", "date: 2023-02-29"),
            vec![(Severity::Error, "date")]
        );
        assert_eq!(
            f("date: 2024-02-29", "date: 2024/02/29"),
            vec![(Severity::Warning, "date-format")]
        );
        assert_eq!(
            f("attack.execution", "Attack.Execution"),
            vec![(Severity::Warning, "tag-format")]
        );
        assert_eq!(
            f("attack.execution", "execution"),
            vec![(Severity::Warning, "tag-format")]
        );
        assert_eq!(
            f("attack.execution", "attack.t10590"),
            vec![(Severity::Warning, "tag-format")]
        );
        assert_eq!(
            f("attack.execution", "attack.t1059.001"),
            vec![(Severity::Warning, "duplicate-tag")]
        );
        assert_eq!(
            f("logsource: {product: windows}\n", ""),
            vec![(Severity::Error, "missing-key")]
        );
        assert_eq!(
            f("title: T", &format!("title: {}", "x".repeat(300))),
            vec![(Severity::Warning, "title-length")]
        );
        assert_eq!(
            f("status: test", "status: test\ndescription: [a]"),
            vec![(Severity::Error, "wrong-type")]
        );
        assert_eq!(
            f(
                "status: test",
                "status: test\nrelated:\n  - id: 5266a592-b793-11ea-b3de-0242ac130004\n    type: derived\n  - id: x\n    type: cousin"
            ),
            vec![(Severity::Error, "related"), (Severity::Error, "related")]
        );
    }

    #[test]
    fn detection_checks() {
        let f = |from: &str, to: &str| check(&GOOD.replace(from, to));
        assert_eq!(
            f("  condition: sel", "  other: {a: 1}\n  condition: sel"),
            vec![(Severity::Warning, "unused-search")]
        );
        assert_eq!(
            f("Image|endswith: '\\cmd.exe'", "Image|contains|all: x"),
            vec![(Severity::Warning, "all-single-value")]
        );
        assert_eq!(
            f("Image|endswith", "Image|endswoth"),
            vec![(Severity::Error, "unknown-modifier")]
        );
        assert_eq!(
            f("Image|endswith: '\\cmd.exe'", "Image|re: '(a'"),
            vec![(Severity::Error, "regex")]
        );
        assert_eq!(
            f("Image|endswith: '\\cmd.exe'", "Ip|cidr: 10.0.0.0/33"),
            vec![(Severity::Error, "cidr")]
        );
        assert_eq!(
            f("Image|endswith: '\\cmd.exe'", "N|gt: many"),
            vec![(Severity::Error, "value")]
        );
        assert_eq!(
            f("Image|endswith: '\\cmd.exe'", "T|hour: 25"),
            vec![(Severity::Error, "value")]
        );
        assert_eq!(
            f("Image|endswith: '\\cmd.exe'", "I|contains|re: a"),
            vec![(Severity::Error, "modifier-combination")]
        );
        assert_eq!(
            f("Image|endswith: '\\cmd.exe'", "I|expand: '%admins%'"),
            vec![(Severity::Error, "placeholder")]
        );
        assert_eq!(
            f("condition: sel", "condition: sel and nope"),
            vec![(Severity::Error, "unknown-identifier")]
        );
        assert_eq!(
            f("condition: sel", "condition: sel and"),
            vec![(Severity::Error, "condition-syntax")]
        );
        assert_eq!(
            f("condition: sel", "condition: 1 of x*"),
            vec![(Severity::Error, "empty-pattern")]
        );
        // A legacy aggregation is lowered to a correlation (src/correlation/legacy.rs).
        assert_eq!(f("condition: sel", "condition: sel | count() > 5"), vec![]);
        assert_eq!(
            f("condition: sel", "condition: sel | near sel"),
            vec![(Severity::Warning, "unsupported-undefined")]
        );
        assert_eq!(f("title: T", "title: [T"), vec![(Severity::Error, "yaml")]);
    }

    #[test]
    fn duplicate_ids_across_files_are_errors() {
        let dir = tempdir("dup");
        std::fs::write(dir.join("a.yml"), GOOD).unwrap();
        std::fs::write(dir.join("b.yml"), GOOD).unwrap();
        let v = verify_dir(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(v.findings.len(), 1);
        assert_eq!(v.findings[0].category, "duplicate-id");
        assert!(v.findings[0].path.ends_with("b.yml"));
        assert_eq!((v.ok(), v.with(Severity::Error)), (1, 1));
    }

    #[test]
    fn uuid_and_dates() {
        assert!(is_uuid("5266a592-b793-11ea-b3de-0242ac130004"));
        assert!(!is_uuid("aa35a627-33fb-4d04-abcde-asdasdasdasd"));
        assert!(
            is_iso_date("2000-02-29") && !is_iso_date("1900-02-29") && !is_iso_date("2024-13-01")
        );
    }
}
