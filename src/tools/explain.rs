//! `sigma-match explain`: one rule as sigma-match understands it.
//!
//! This module owns finding the rule (a file, or an id in rule paths),
//! compiling it alone under the given mapping, and printing it: metadata,
//! the logsource conditions the mapping adds, every detection item with its
//! mapped field(s), modifiers and compiled matcher kinds, and the condition
//! tree. Given an event, each item and tree node is annotated with its
//! outcome and the event value it saw ("field absent" otherwise), using
//! [`Matcher::item_outcomes`], so the user sees exactly which part failed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use std::collections::HashMap;
use std::ops::Range;

use crate::compile::{
    CompileOptions, CompiledRule, Item, Origin, Pat, Ruleset, RulesetBuilder, Slot, hit,
};
use crate::error::RuleIssue;
use crate::eval::Matcher;
use crate::event::Kind;
use crate::mapping::FieldMapping;
use crate::sigma::rule::{
    Check, Condition, DetectionItem, FieldRef, Loaded, OfTarget, Quantifier, Rule, Search,
    resolve_of,
};

/// Why a rule cannot be explained.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error("no rule file or rule id `{0}` (give rule paths with -r to look ids up)")]
    NotFound(String),
    #[error("{0}")]
    Rule(RuleIssue),
    #[error("{path}: {message}")]
    Event { path: String, message: String },
}

/// Loads the rules `spec` names: every rule document of a file, or the
/// rules whose `id` is `spec` (case-insensitive) under `paths`.
pub fn find_rules(spec: &str, paths: &[PathBuf]) -> Result<Vec<Rule>, ExplainError> {
    let as_path = Path::new(spec);
    let loaded = if as_path.is_file() {
        crate::sigma::rule::load_file(as_path)
    } else {
        crate::compile::loader::load_paths(paths)
    };
    let mut out = Vec::new();
    for l in loaded {
        match l {
            Loaded::Rule(r)
                if as_path.is_file()
                    || r.id
                        .as_deref()
                        .is_some_and(|id| id.eq_ignore_ascii_case(spec)) =>
            {
                out.push(*r)
            }
            Loaded::Failed { issue, .. } if as_path.is_file() => {
                return Err(ExplainError::Rule(issue));
            }
            _ => {}
        }
    }
    if out.is_empty() {
        return Err(ExplainError::NotFound(spec.to_string()));
    }
    Ok(out)
}

/// Compiles one rule alone (a one-rule [`Ruleset`]).
pub fn compile_one(rule: Rule, opts: CompileOptions<'_>) -> Result<Ruleset, ExplainError> {
    let mut b = RulesetBuilder::new(opts).keeping_searches();
    b.add(rule).map_err(ExplainError::Rule)?;
    Ok(b.build())
}

/// Reads event line `line` (1-based) of `path`: for JSON lines the line
/// itself, for CSV the row starting on that line, for `.evtx` the n-th
/// record (`evtx_dump`'s n-th line), read as a run reads it.
pub fn read_event_line(path: &Path, line: usize) -> Result<Vec<u8>, ExplainError> {
    let err = |message: String| ExplainError::Event {
        path: path.display().to_string(),
        message,
    };
    let mut found = None;
    let mut last = 0;
    crate::input::each_line(&path.to_string_lossy(), |n, text| {
        last = n;
        if n == line as u64 {
            found = Some(text.to_vec());
            return false;
        }
        n < line as u64
    })
    .map_err(|e| err(e.to_string()))?;
    found.ok_or_else(|| err(format!("has only {last} lines, no line {line}")))
}

/// Which compiled items came from which detection item, read from the
/// [`Origin`] the compiler recorded on each (one detection item's compiled
/// items are contiguous: one per mapped field).
struct ItemMap {
    ranges: HashMap<Origin, Range<usize>>,
    /// The logsource conditions the mapping adds: groups of items, each
    /// with its compiled items.
    logsource: Vec<Vec<(DetectionItem, Range<usize>)>>,
}

fn item_map(cr: &CompiledRule, mapping: &dyn FieldMapping) -> ItemMap {
    let mut ranges: HashMap<Origin, Range<usize>> = HashMap::new();
    for (i, item) in cr.items.iter().enumerate() {
        ranges.entry(item.origin).or_insert(i..i).end = i + 1;
    }
    let logsource = mapping
        .logsource_conditions(&cr.rule.logsource)
        .into_iter()
        .enumerate()
        .map(|(g, group)| {
            group
                .into_iter()
                .enumerate()
                .map(|(i, item)| {
                    let origin = Origin::Logsource {
                        group: g as u32,
                        item: i as u32,
                    };
                    let range = ranges.get(&origin).cloned().unwrap_or(0..0);
                    (item, range)
                })
                .collect()
        })
        .collect();
    ItemMap { ranges, logsource }
}

/// An evaluated event: per compiled item, its outcome.
pub struct Outcome<'m, 'r> {
    pub matcher: &'m Matcher<'r>,
    pub items: Vec<bool>,
    pub matched: bool,
}

impl<'m, 'r> Outcome<'m, 'r> {
    /// Evaluates rule 0 of the matcher's ruleset on `line`.
    pub fn evaluate(
        matcher: &'m mut Matcher<'r>,
        line: &[u8],
    ) -> Result<Outcome<'m, 'r>, crate::event::EventError> {
        let matched = matcher.match_line(line)?.contains(&0);
        matcher.complete_keywords();
        let items = matcher.item_outcomes(&matcher.ruleset.rules[0]);
        Ok(Outcome {
            matcher,
            items,
            matched,
        })
    }
}

/// Renders rule 0 of `rs`, annotated with `outcome` when given.
pub fn render(
    rs: &Ruleset,
    mapping: &dyn FieldMapping,
    outcome: Option<&Outcome<'_, '_>>,
) -> String {
    let cr = &rs.rules[0];
    let rule = &cr.rule;
    let mut s = String::new();
    let _ = writeln!(s, "rule: {}", rule.title);
    let _ = writeln!(s, "id: {}", rule.id.as_deref().unwrap_or("(none)"));
    let _ = writeln!(
        s,
        "file: {} (document {})",
        rule.path.display(),
        rule.document + 1
    );
    let ls = &rule.logsource;
    let ls_text: Vec<String> = [
        ("category", &ls.category),
        ("product", &ls.product),
        ("service", &ls.service),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
    .collect();
    let _ = writeln!(
        s,
        "logsource: {}",
        if ls_text.is_empty() {
            "(none)".into()
        } else {
            ls_text.join(" ")
        }
    );
    let _ = writeln!(
        s,
        "status: {}, level: {}",
        rule.status.as_deref().unwrap_or("(none)"),
        rule.level.as_deref().unwrap_or("(none)")
    );
    let r = Renderer { rs, cr, outcome };
    let map = item_map(cr, mapping);
    if !map.logsource.is_empty() {
        let _ = writeln!(
            s,
            "logsource conditions added by the mapping (all must hold):{}",
            r.mark(r.logsource_ok(&map))
        );
        for group in &map.logsource {
            let _ = writeln!(s, "  any of:");
            for (item, range) in group {
                r.item(&mut s, item, range.clone(), 2);
            }
        }
    }
    let conds: Vec<&str> = rule
        .detection
        .conditions
        .iter()
        .map(|(c, _)| c.as_str())
        .collect();
    let _ = writeln!(
        s,
        "condition: {}{}",
        conds.join(" | or | "),
        r.mark(r.condition_ok(&rule.detection.condition, &map))
    );
    r.condition(&mut s, &rule.detection.condition, &map, 1);
    if let Some(o) = outcome {
        let computed = r.logsource_ok(&map).unwrap_or(true)
            && r.condition_ok(&rule.detection.condition, &map)
                .unwrap_or(false);
        let _ = writeln!(
            s,
            "result: {}",
            if o.matched { "MATCH" } else { "no match" }
        );
        if computed != o.matched {
            let _ = writeln!(
                s,
                "note: the annotated tree says {computed}; the engine's result above is authoritative"
            );
        }
    }
    s
}

struct Renderer<'a, 'm, 'r> {
    rs: &'a Ruleset,
    cr: &'a CompiledRule,
    outcome: Option<&'a Outcome<'m, 'r>>,
}

fn indent(s: &mut String, depth: usize) {
    for _ in 0..depth {
        s.push_str("  ");
    }
}

/// A value in YAML single-quote style (`'C:\x'`, `''` for a quote), as
/// rules write them; control characters escaped; long values cut.
fn quote(t: &str) -> String {
    let mut q = String::from("'");
    for (n, c) in t.chars().enumerate() {
        if n == 120 {
            q.push('…');
            break;
        }
        match c {
            '\'' => q.push_str("''"),
            c if c.is_control() => q.extend(c.escape_default()),
            c => q.push(c),
        }
    }
    q.push('\'');
    q
}

fn raw_value(v: &crate::sigma::rule::RawValue) -> String {
    match v {
        crate::sigma::rule::RawValue::Str(s) => quote(s),
        other => other.display(),
    }
}

impl Renderer<'_, '_, '_> {
    fn mark(&self, b: Option<bool>) -> &'static str {
        match (self.outcome, b) {
            (Some(_), Some(true)) => "  => true",
            (Some(_), Some(false)) => "  => false",
            _ => "",
        }
    }

    /// The origin of `item`, a detection item of search number `search`
    /// (found by identity in the rule, which `explain` never copies).
    fn origin(&self, search: usize, item: &DetectionItem) -> Option<Origin> {
        let items = self.cr.rule.detection.searches.get(search)?.search.items();
        let k = items.iter().position(|x| std::ptr::eq(*x, item))?;
        Some(Origin::Search {
            search: search as u32,
            item: k as u32,
        })
    }

    /// The compiled items of detection item `item` of search `search`.
    fn range(&self, search: usize, item: &DetectionItem, map: &ItemMap) -> Option<Range<usize>> {
        map.ranges.get(&self.origin(search, item)?).cloned()
    }

    fn range_ok(&self, item: &DetectionItem, range: Range<usize>) -> Option<bool> {
        let o = self.outcome?;
        let any = o.items.get(range)?.iter().any(|b| *b);
        Some(any != item.applied.negated)
    }

    fn logsource_ok(&self, map: &ItemMap) -> Option<bool> {
        self.outcome?;
        let mut all = true;
        for group in &map.logsource {
            let mut any = false;
            for (item, range) in group {
                any |= self.range_ok(item, range.clone())?;
            }
            all &= any;
        }
        Some(all)
    }

    /// `search` is (part of) the body of search number `si`.
    fn search_ok(&self, si: usize, search: &Search, map: &ItemMap) -> Option<bool> {
        Some(match search {
            Search::AllOf(v) => {
                let mut all = true;
                for i in v {
                    all &= self.item_ok(si, i, map)?;
                }
                all
            }
            Search::AnyOf(v) => {
                let mut any = false;
                for x in v {
                    any |= self.search_ok(si, x, map)?;
                }
                any
            }
            Search::Item(i) => self.item_ok(si, i, map)?,
        })
    }

    fn item_ok(&self, si: usize, item: &DetectionItem, map: &ItemMap) -> Option<bool> {
        self.range_ok(item, self.range(si, item, map)?)
    }

    fn condition_ok(&self, c: &Condition, map: &ItemMap) -> Option<bool> {
        let searches = &self.cr.rule.detection.searches;
        Some(match c {
            Condition::Ident(n) => {
                let si = searches.iter().position(|s| &s.name == n)?;
                self.search_ok(si, &searches[si].search, map)?
            }
            Condition::And(v) => v
                .iter()
                .map(|c| self.condition_ok(c, map))
                .collect::<Option<Vec<_>>>()?
                .into_iter()
                .all(|b| b),
            Condition::Or(v) => v
                .iter()
                .map(|c| self.condition_ok(c, map))
                .collect::<Option<Vec<_>>>()?
                .into_iter()
                .any(|b| b),
            Condition::Not(c) => !self.condition_ok(c, map)?,
            Condition::Of { quantifier, target } => {
                let picked = resolve_of(target, searches);
                let mut n = 0;
                for i in &picked {
                    n += usize::from(self.search_ok(*i, &searches[*i].search, map)?);
                }
                match quantifier {
                    Quantifier::All => n == picked.len(),
                    Quantifier::AtLeast(k) => n >= *k,
                }
            }
        })
    }

    fn condition(&self, s: &mut String, c: &Condition, map: &ItemMap, depth: usize) {
        let searches = &self.cr.rule.detection.searches;
        indent(s, depth);
        match c {
            Condition::Ident(n) => match searches.iter().position(|x| &x.name == n) {
                Some(si) => {
                    let ns = &searches[si];
                    let _ = writeln!(
                        s,
                        "search {} (line {}){}",
                        ns.name,
                        ns.pos.line,
                        self.mark(self.search_ok(si, &ns.search, map))
                    );
                    self.search(s, si, &ns.search, map, depth + 1);
                }
                None => {
                    let _ = writeln!(s, "search {n}: not defined");
                }
            },
            Condition::And(v) | Condition::Or(v) => {
                let op = if matches!(c, Condition::And(_)) {
                    "AND"
                } else {
                    "OR"
                };
                let _ = writeln!(s, "{op}{}", self.mark(self.condition_ok(c, map)));
                for x in v {
                    self.condition(s, x, map, depth + 1);
                }
            }
            Condition::Not(x) => {
                let _ = writeln!(s, "NOT{}", self.mark(self.condition_ok(c, map)));
                self.condition(s, x, map, depth + 1);
            }
            Condition::Of { quantifier, target } => {
                let q = match quantifier {
                    Quantifier::All => "all".to_string(),
                    Quantifier::AtLeast(n) => n.to_string(),
                };
                let t = match target {
                    OfTarget::Them => "them".to_string(),
                    OfTarget::Pattern(p) => p.clone(),
                };
                let _ = writeln!(s, "{q} of {t}{}", self.mark(self.condition_ok(c, map)));
                for i in resolve_of(target, searches) {
                    self.condition(
                        s,
                        &Condition::Ident(searches[i].name.clone()),
                        map,
                        depth + 1,
                    );
                }
            }
        }
    }

    /// Renders `search`, (part of) the body of search number `si`.
    fn search(&self, s: &mut String, si: usize, search: &Search, map: &ItemMap, depth: usize) {
        match search {
            Search::AllOf(v) => {
                let depth = if v.len() > 1 {
                    indent(s, depth);
                    let _ = writeln!(s, "all of:{}", self.mark(self.search_ok(si, search, map)));
                    depth + 1
                } else {
                    depth
                };
                for i in v {
                    self.search_item(s, si, i, map, depth);
                }
            }
            Search::AnyOf(v) => {
                indent(s, depth);
                let _ = writeln!(s, "any of:{}", self.mark(self.search_ok(si, search, map)));
                for x in v {
                    self.search(s, si, x, map, depth + 1);
                }
            }
            Search::Item(i) => self.search_item(s, si, i, map, depth),
        }
    }

    fn search_item(
        &self,
        s: &mut String,
        si: usize,
        item: &DetectionItem,
        map: &ItemMap,
        depth: usize,
    ) {
        match self.range(si, item, map) {
            Some(range) => self.item(s, item, range, depth),
            None => {
                indent(s, depth);
                let _ = writeln!(s, "{} (not compiled)", item_key(item));
            }
        }
    }

    fn item(
        &self,
        s: &mut String,
        item: &DetectionItem,
        range: Range<usize>,
        depth: usize,
    ) {
        indent(s, depth);
        let values: Vec<String> = item.values.iter().take(5).map(raw_value).collect();
        let more = item.values.len().saturating_sub(5);
        let _ = write!(s, "{}: {}", item_key(item), values.join(", "));
        if more > 0 {
            let _ = write!(s, " (+{more} more)");
        }
        let _ = writeln!(
            s,
            "  (line {}){}",
            item.pos.line,
            self.mark(self.range_ok(item, range.clone()))
        );
        for i in range {
            self.compiled_item(s, i, depth + 1);
        }
    }

    fn compiled_item(&self, s: &mut String, i: usize, depth: usize) {
        let Some(item) = self.cr.items.get(i) else {
            return;
        };
        indent(s, depth);
        let target = match item.slot {
            Slot::Field(f) => format!("field {}", self.rs.fields.name(f)),
            Slot::Keywords => "keywords (every string value)".to_string(),
        };
        let pats: Vec<String> = item.pats.iter().take(6).map(|p| self.pat(p)).collect();
        let more = item.pats.len().saturating_sub(6);
        let join = if item.all { "all of" } else { "any of" };
        let _ = write!(s, "{target}: ");
        if item.pats.len() == 1 {
            let _ = write!(s, "{}", pats[0]);
        } else {
            let _ = write!(
                s,
                "{join} [{}{}]",
                pats.join(", "),
                if more > 0 {
                    format!(", +{more} more")
                } else {
                    String::new()
                }
            );
        }
        match self.outcome {
            None => s.push('\n'),
            Some(o) => {
                let _ = writeln!(
                    s,
                    "  => {}; {}",
                    o.items.get(i).copied().unwrap_or(false),
                    self.seen(o, item)
                );
            }
        }
    }

    fn seen(&self, o: &Outcome<'_, '_>, item: &Item) -> String {
        let view = &o.matcher.view;
        match item.slot {
            Slot::Field(f) if !view.has(f) => "field absent".into(),
            Slot::Field(f) => {
                let vals: Vec<String> = view
                    .values(f)
                    .map(|v| {
                        if v.kind == Kind::Null {
                            "null".into()
                        } else {
                            quote(v.raw)
                        }
                    })
                    .collect();
                format!("seen {}", vals.join(", "))
            }
            Slot::Keywords => format!("searched {} string values", view.keyword_values().count()),
        }
    }

    fn pat(&self, p: &Pat) -> String {
        let kind = p.kind_name();
        match p {
            Pat::Needle { id, .. } => {
                format!("{kind} {}", quote(&self.rs.needle_text[*id as usize]))
            }
            Pat::Empty { mode } if *mode == hit::EXACT => "empty value".into(),
            Pat::Empty { .. } => "any value".into(),
            Pat::Glob { glob, cased, .. } => {
                let mut t = String::new();
                if !glob.anchored_start {
                    t.push('*');
                }
                t.push_str(&glob.segments.join("*"));
                if !glob.anchored_end {
                    t.push('*');
                }
                format!(
                    "{kind}{} {}",
                    if *cased { " (cased)" } else { "" },
                    quote(&t)
                )
            }
            Pat::Wild { re, .. } | Pat::Regex(re, _) => format!("{kind} /{}/", re.as_str()),
            Pat::Check(Check::Cidr(n)) => format!("{kind} {n}"),
            Pat::Check(Check::Cmp { op, value }) => format!("{kind} {op:?} {value}"),
            Pat::Check(Check::TimePart { part, value }) => format!("{kind} {part:?} = {value}"),
            Pat::Check(Check::Exists(b)) => format!("{kind} {b}"),
            Pat::Check(Check::Null) => "null (absent or null)".into(),
            Pat::FieldRef(FieldRef {
                field: other,
                starts,
                ends,
                cased,
            }) => {
                let how = match (starts, ends) {
                    (false, false) => "equals",
                    (true, false) => "starts with",
                    (false, true) => "ends with",
                    (true, true) => "contains",
                };
                format!(
                    "{kind}: {how} field {}{}",
                    self.rs.fields.name(*other),
                    if *cased { " (cased)" } else { "" }
                )
            }
        }
    }
}

/// `field|mod1|mod2` (or `keywords|mods`) as written in the rule.
fn item_key(i: &DetectionItem) -> String {
    let mut k = i.field.clone().unwrap_or_else(|| "keywords".into());
    for m in &i.modifiers {
        k.push('|');
        k.push_str(m.name());
    }
    k
}

/// `explain --events FILE`: evaluates every line, explains the first
/// `limit` matching ones, and counts.
pub fn explain_events(
    rs: &Ruleset,
    mapping: &dyn FieldMapping,
    path: &Path,
    limit: usize,
    format_options: crate::event::FormatOptions,
) -> Result<(String, usize, usize, usize), ExplainError> {
    let err = |message: String| ExplainError::Event {
        path: path.display().to_string(),
        message,
    };
    let mut m = Matcher::new(rs);
    m.view.options = format_options;
    let (mut lines, mut matched, mut malformed) = (0, 0, 0);
    let mut out = String::new();
    crate::input::each_line(&path.to_string_lossy(), |n, line| {
        if line.iter().all(u8::is_ascii_whitespace) {
            return true;
        }
        lines += 1;
        match Outcome::evaluate(&mut m, line) {
            Err(_) => malformed += 1,
            Ok(o) if o.matched => {
                matched += 1;
                if matched <= limit {
                    let _ = writeln!(out, "--- {}:{}", path.display(), n);
                    out.push_str(&render(rs, mapping, Some(&o)));
                }
            }
            Ok(_) => {}
        }
        true
    })
    .map_err(|e| err(e.to_string()))?;
    Ok((out, lines, matched, malformed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigma::rule::{Logsource, parse_text};

    /// A mapping that fans `Image` out to two fields and adds a logsource
    /// condition, like Timesketch's config does for Windows rules.
    struct TwoFields;

    impl FieldMapping for TwoFields {
        fn map_field(&self, _ls: &Logsource, field: &str) -> Vec<String> {
            match field {
                "Image" => vec!["Image".into(), "NewProcessName".into()],
                f => vec![f.into()],
            }
        }

        fn logsource_conditions(&self, ls: &Logsource) -> Vec<Vec<DetectionItem>> {
            if ls.product.as_deref() != Some("windows") {
                return Vec::new();
            }
            let doc =
                "title: x\ndetection:\n  s: {data_type: 'windows:evtx:record'}\n  condition: s\n";
            let Loaded::Rule(r) = parse_text(Path::new("ls.yml"), doc).remove(0) else {
                unreachable!()
            };
            vec![
                r.detection.searches[0]
                    .search
                    .items()
                    .into_iter()
                    .cloned()
                    .collect(),
            ]
        }
    }

    fn ruleset() -> Ruleset {
        let text = "title: T\nid: 6f1c1d7e-3b0a-4d8e-9a51-0c7e2f4b9a11\nlogsource: {product: windows}\ndetection:\n  sel:\n    Image|endswith: '\\cmd.exe'\n    CommandLine|contains: whoami\n  keywords: ['mimikatz']\n  condition: sel or keywords\n";
        let Loaded::Rule(r) = parse_text(Path::new("t.yml"), text).remove(0) else {
            unreachable!()
        };
        let empty = std::collections::HashMap::new();
        compile_one(
            *r,
            CompileOptions {
                mapping: &TwoFields,
                placeholders: &empty,
                keyword_fields: None,
            },
        )
        .unwrap()
    }

    #[test]
    fn mapped_fields_and_logsource_conditions() {
        insta::assert_snapshot!(render(&ruleset(), &TwoFields, None));
    }

    #[test]
    fn outcomes_follow_the_mapped_fields() {
        let rs = ruleset();
        let mut m = Matcher::new(&rs);
        let line = br#"{"data_type": "windows:evtx:record", "NewProcessName": "C:\\x\\CMD.exe", "CommandLine": "whoami /all"}"#;
        let o = Outcome::evaluate(&mut m, line).unwrap();
        assert!(o.matched);
        insta::assert_snapshot!(render(&rs, &TwoFields, Some(&o)));
    }
}
