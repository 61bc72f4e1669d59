//! The rule side of a run with correlations: detection rules, correlation
//! documents and legacy aggregations loaded together, references resolved,
//! rules that only feed correlations hidden, and the fields correlations
//! read carried by the match records ([`crate::compile::Ruleset::carry`]).
//!
//! Rule files are loaded once by [`crate::compile::loader`]; only the files in which
//! it met a correlation document, an aggregation or `near` are read again
//! here, so rule sets without correlations pay nothing.
//!
//! [`Compiling`] takes the loaded documents in load order, batch by batch;
//! with [`Eager::Yes`] it compiles the rules the filter keeps as they come
//! (while the pool still loads later files) and leaves only what depends on
//! the correlations to [`Compiling::finish`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::validate::{self, RuleKey, Target};
use super::{Correlation, Options, legacy, parse};
use crate::compile::{CompileOptions, Ruleset, RulesetBuilder};
use crate::error::{RuleError, RuleIssue, Unsupported};
use crate::compile::loader::{Dropped, Filtered, RuleFilter};
use crate::output::report::FailedRule;
use crate::sigma::rule::{self, Loaded, Rule};

/// Where a correlation's referenced rule gets its values.
#[derive(Debug, Clone)]
pub enum Source {
    /// A detection rule: its compiled index, and per `group-by` entry /
    /// per condition `field` the carry slots of the mapped event fields
    /// (the first present one is used).
    Rule {
        rule: u32,
        group: Vec<Vec<usize>>,
        value: Vec<Vec<usize>>,
    },
    /// An inner correlation: per `group-by` entry, its position among the
    /// inner correlation's `group-by` (`None`: the inner one does not group
    /// by it, so the value is missing).
    Corr {
        corr: usize,
        group: Vec<Option<usize>>,
        /// Per condition `field`: its position among the inner `group-by`.
        value: Vec<Option<usize>>,
    },
}

/// What the correlation stage needs from loading.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Correlations that are run (valid, kept by the filters).
    pub corrs: Vec<Correlation>,
    /// Evaluation order (inner correlations first): indexes into `corrs`.
    pub order: Vec<usize>,
    /// Per correlation, per referenced rule: where values come from.
    pub sources: Vec<Vec<Source>>,
    /// Per compiled rule: whether it only feeds correlations (never reported).
    pub hidden: Vec<bool>,
    /// Per correlation: whether it only feeds an outer correlation of its
    /// file that does not `generate` it (evaluated, not reported).
    pub corr_hidden: Vec<bool>,
    /// Per compiled rule: the (correlation, reference position) it feeds.
    pub refs_by_rule: Vec<Vec<(u32, u16)>>,
    pub options: Options,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.corrs.is_empty()
    }

    pub fn hidden_count(&self) -> usize {
        self.hidden.iter().filter(|h| **h).count()
    }
}

/// The whole rule side of a run.
pub struct LoadedRules {
    pub ruleset: Ruleset,
    pub failed: Vec<FailedRule>,
    pub filtered: Filtered,
    pub plan: Plan,
}

fn is_correlation_failure(e: &RuleError) -> bool {
    matches!(
        e,
        RuleError::Unsupported(Unsupported::Correlation | Unsupported::Aggregation | Unsupported::Near)
    )
}

/// Correlation documents and legacy aggregations of one file.
#[derive(Default)]
pub struct FileParts {
    pub corrs: Vec<Correlation>,
    /// Hidden rules of legacy aggregations.
    pub hidden: Vec<Rule>,
    /// Documents that could not be read as correlations.
    pub issues: Vec<FailedRule>,
}

/// Reads the correlation documents and legacy conditions of `path`.
pub fn read_file(path: &Path, parts: &mut FileParts) {
    match std::fs::read_to_string(path) {
        Ok(t) => read_text(path, &t, parts),
        Err(e) => parts.issues.push(FailedRule {
            issue: RuleIssue { path: path.to_path_buf(), pos: None, error: RuleError::Io(e.to_string()) },
            title: None,
            id: None,
        }),
    }
}

/// Reads the correlation documents and legacy conditions of rule text.
pub fn read_text(path: &Path, text: &str, parts: &mut FileParts) {
    let _ = rule::for_each_document(path, text, |index, doc| {
        let meta = |d: &crate::sigma::yaml::Node, k: &str| d.get(k).and_then(crate::sigma::yaml::Node::scalar_text);
        if parse::is_correlation(&doc) {
            match parse::parse(path, index, &doc) {
                Ok(c) => parts.corrs.push(c),
                Err(issue) => parts.issues.push(FailedRule { issue, title: meta(&doc, "title"), id: meta(&doc, "id") }),
            }
        } else if legacy::legacy_condition(&doc).is_some() {
            match legacy::lower(path, index, &doc) {
                Ok((hidden, c)) => {
                    parts.hidden.extend(hidden);
                    parts.corrs.push(c);
                }
                Err(issue) => parts.issues.push(FailedRule { issue, title: meta(&doc, "title"), id: meta(&doc, "id") }),
            }
        }
        Loaded::Failed {
            issue: RuleIssue { path: path.to_path_buf(), pos: None, error: RuleError::Io(String::new()) },
            title: None,
            id: None,
        }
    });
}

fn corr_dropped(filter: &RuleFilter, c: &Correlation) -> Option<Dropped> {
    filter.dropped_meta(c.status.as_deref(), c.level.as_deref(), c.id.as_deref(), &c.title)
}

fn failed_corr(c: &Correlation, issue: RuleIssue) -> FailedRule {
    FailedRule { issue, title: Some(c.title.clone()), id: c.id.clone() }
}

/// Loads, filters and compiles rules and correlations (the correlation-aware
/// [`crate::compile::loader::load_ruleset`]).
pub fn load_ruleset(paths: &[PathBuf], filter: &RuleFilter, opts: CompileOptions<'_>, copts: &Options) -> LoadedRules {
    compile_loaded(crate::compile::loader::load_paths_keeping(paths, crate::compile::loader::Yaml::Drop), &[], filter, opts, copts)
}

/// [`crate::compile::loader::compile_loaded`] with correlations: `loaded`
/// are the loader's documents; files among them with correlation documents
/// or legacy conditions are read again (from `texts` when they came as
/// text).
pub fn compile_loaded(
    loaded: Vec<Loaded>,
    texts: &[(PathBuf, String)],
    filter: &RuleFilter,
    opts: CompileOptions<'_>,
    copts: &Options,
) -> LoadedRules {
    let mut c = Compiling::new(filter, opts, copts, Eager::No);
    c.take(loaded);
    c.finish(texts)
}

/// Whether [`Compiling`] compiles rules as they arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eager {
    /// Compile the rules the filter keeps as they arrive, up to the first
    /// one it drops: while the pool is still loading.
    Yes,
    /// Everything at [`Compiling::finish`] (one thread: the same work,
    /// without the bookkeeping).
    No,
}

/// A detection rule in load order: compiled already or still to come.
enum Pending {
    /// Kept by the filter and compiled as it arrived ([`Eager::Yes`]); its
    /// keys for resolving references, and its compile failure.
    Added {
        path: PathBuf,
        name: Option<String>,
        id: Option<String>,
        result: Result<(), Box<FailedRule>>,
    },
    /// Filtered and compiled by [`Compiling::finish`].
    Rule(Box<Rule>),
}

impl Pending {
    fn key(&self) -> RuleKey<'_> {
        match self {
            Pending::Added { path, name, id, .. } => RuleKey { path, name: name.as_deref(), id: id.as_deref() },
            Pending::Rule(r) => RuleKey { path: &r.path, name: r.name.as_deref(), id: r.id.as_deref() },
        }
    }
}

/// [`compile_loaded`] fed in batches, in load order ([`Compiling::take`]).
///
/// A rule the filter keeps compiles the same whatever the correlations
/// say (they only decide whether it is hidden), so with [`Eager::Yes`] the
/// rules up to the first one the filter drops are compiled as they arrive;
/// from that one on, whether a dropped rule runs anyway depends on the
/// correlations that need it, so the rest waits for [`Compiling::finish`].
/// Rules compile in the same order either way (same rule indexes, same
/// needle ids), and the failures are listed in the same order: load
/// failures, correlation documents, correlations, rules, then the
/// correlations whose rules failed.
pub struct Compiling<'f, 'a> {
    filter: &'f RuleFilter,
    copts: &'f Options,
    mapping: &'a dyn crate::mapping::FieldMapping,
    b: RulesetBuilder<'a>,
    /// Still compiling as rules arrive.
    eager: bool,
    rules: Vec<Pending>,
    /// Load failures (correlation documents excepted).
    failed: Vec<FailedRule>,
    /// Files with correlation documents or legacy conditions.
    corr_files: BTreeSet<PathBuf>,
}

impl<'f, 'a> Compiling<'f, 'a> {
    pub fn new(filter: &'f RuleFilter, opts: CompileOptions<'a>, copts: &'f Options, eager: Eager) -> Self {
        Compiling {
            filter,
            copts,
            mapping: opts.mapping,
            b: RulesetBuilder::new(opts),
            eager: eager == Eager::Yes,
            rules: Vec::new(),
            failed: Vec::new(),
            corr_files: BTreeSet::new(),
        }
    }

    /// The next loaded documents, in load order.
    pub fn take(&mut self, loaded: Vec<Loaded>) {
        for l in loaded {
            match l {
                Loaded::Rule(r) => {
                    self.eager &= self.filter.dropped(&r).is_none();
                    let pending = if self.eager { self.add(*r) } else { Pending::Rule(r) };
                    self.rules.push(pending);
                }
                Loaded::Failed { issue, .. } if is_correlation_failure(&issue.error) => {
                    self.corr_files.insert(issue.path.clone());
                }
                Loaded::Failed { issue, title, id } => self.failed.push(FailedRule { issue, title, id }),
            }
        }
    }

    fn add(&mut self, r: Rule) -> Pending {
        let (path, name, id, title) = (r.path.clone(), r.name.clone(), r.id.clone(), r.title.clone());
        let result = self.b.add(r).map_err(|issue| Box::new(FailedRule { issue, title: Some(title), id: id.clone() }));
        Pending::Added { path, name, id, result }
    }

    /// Reads the correlations (from `texts` for files that came as text),
    /// resolves them, compiles the rules still pending and builds.
    pub fn finish(self, texts: &[(PathBuf, String)]) -> LoadedRules {
        let Compiling { filter, copts, mapping, mut b, rules: mut pending, mut failed, corr_files, .. } = self;
        let mut parts = FileParts::default();
        for f in &corr_files {
            match texts.iter().find(|(n, _)| n == f) {
                Some((_, t)) => read_text(f, t, &mut parts),
                None => read_file(f, &mut parts),
            }
        }
        failed.extend(parts.issues);
        let n_plain = pending.len();
        pending.extend(parts.hidden.into_iter().map(|r| Pending::Rule(Box::new(r))));
        let rules = pending;
        let corrs = parts.corrs;
        // Resolve over every loaded rule, before filtering.
        let keys: Vec<RuleKey<'_>> = rules.iter().map(Pending::key).collect();
        let res = validate::resolve(&keys, &corrs);
        let mut filtered = Filtered::default();
        let mut used = vec![false; filter.exclude.len()];
        let mut corr_ok = vec![false; corrs.len()];
        for (i, c) in corrs.iter().enumerate() {
            match corr_dropped(filter, c) {
                Some(Dropped::StatusOrLevel) => filtered.status_or_level += 1,
                Some(Dropped::MinLevel) => filtered.min_level += 1,
                Some(Dropped::Excluded(e)) => {
                    filtered.excluded += 1;
                    used[e] = true;
                }
                None => match &res.errors[i] {
                    Some(issue) => failed.push(failed_corr(c, issue.clone())),
                    None => corr_ok[i] = true,
                },
            }
        }
        // Correlations needed by kept ones (chains) run too.
        let mut needed_corr = corr_ok.clone();
        for &i in res.order.iter().rev() {
            if needed_corr[i] {
                for t in &res.targets[i] {
                    if let Target::Corr(j) = t {
                        needed_corr[*j] = true;
                    }
                }
            }
        }
        let mut needed_rule = vec![false; rules.len()];
        let mut shown_by_generate = vec![false; rules.len()];
        let mut hidden_by_generate = vec![false; rules.len()];
        for (i, c) in corrs.iter().enumerate() {
            if !needed_corr[i] {
                continue;
            }
            for t in &res.targets[i] {
                if let Target::Rule(j) = t {
                    needed_rule[*j] = true;
                    // v2.2.0 draft, "Generate": no effect on rules outside the correlation's file.
                    if keys[*j].path == c.path {
                        if c.generate {
                            shown_by_generate[*j] = true;
                        } else {
                            hidden_by_generate[*j] = true;
                        }
                    }
                }
            }
        }
        // Filter and compile the detection rules still pending.
        let mut compiled: Vec<Option<u32>> = vec![None; rules.len()];
        let mut hidden = Vec::new();
        let mut rule_errors: Vec<Option<String>> = vec![None; rules.len()];
        for (j, r) in rules.into_iter().enumerate() {
            let legacy_hidden = j >= n_plain;
            let (dropped, result) = match r {
                Pending::Added { result, .. } => (None, result),
                Pending::Rule(r) => {
                    let dropped = if legacy_hidden { None } else { filter.dropped(&r) };
                    if let Some(d) = dropped {
                        if let Dropped::Excluded(e) = d {
                            used[e] = true;
                        }
                        if !needed_rule[j] {
                            match d {
                                Dropped::StatusOrLevel => filtered.status_or_level += 1,
                                Dropped::MinLevel => filtered.min_level += 1,
                                Dropped::Excluded(_) => filtered.excluded += 1,
                            }
                            continue;
                        }
                    }
                    if legacy_hidden && !needed_rule[j] {
                        continue;
                    }
                    let (title, id) = (r.title.clone(), r.id.clone());
                    (dropped, b.add(*r).map_err(|issue| Box::new(FailedRule { issue, title: Some(title), id })))
                }
            };
            let hide = legacy_hidden || dropped.is_some() || (hidden_by_generate[j] && !shown_by_generate[j]);
            match result {
                Ok(()) => {
                    compiled[j] = Some(hidden.len() as u32);
                    hidden.push(hide);
                }
                Err(f) => {
                    rule_errors[j] = Some(f.issue.error.to_string());
                    if !legacy_hidden {
                        failed.push(*f);
                    }
                }
            }
        }
        filtered.unmatched_exclusions = filter.unmatched_exclusions(&used);
        let mut ruleset = b.build();
        if let Some(tf) = &copts.time_field {
            let id = ruleset.fields.intern(tf);
            let n = ruleset.fields.len();
            ruleset.field_scans.resize_with(n, Vec::new);
            ruleset.by_field.resize_with(n, Vec::new);
            ruleset.time_fields = vec![id];
            ruleset.time_number = crate::event::time::EventTime::from_epoch_number;
        }
        // Correlations whose rules failed to compile fail too (inner first).
        let mut runs = vec![false; corrs.len()];
        let mut order = Vec::new();
        for &i in &res.order {
            if !needed_corr[i] {
                continue;
            }
            let c = &corrs[i];
            let mut problem = None;
            for (t, (r, pos)) in res.targets[i].iter().zip(&c.rules) {
                match t {
                    Target::Rule(j) if compiled[*j].is_none() => {
                        let why = rule_errors[*j].clone().unwrap_or_else(|| "it was not loaded".into());
                        problem = Some((*pos, format!("referenced rule `{r}` cannot run: {why}")));
                    }
                    Target::Corr(j) if !runs[*j] => {
                        problem = Some((*pos, format!("referenced correlation `{r}` cannot run")));
                    }
                    _ => {}
                }
            }
            if problem.is_none()
                && c.kind == super::Kind::ValuePercentile
                && matches!(c.condition, super::Condition::Compare { percentile: None, .. })
            {
                let issue = RuleIssue {
                    path: c.path.clone(),
                    pos: Some(c.pos),
                    error: RuleError::Undefined("value_percentile without `percentile`: the specification (v2.1) does not say which percentile its condition compares (pySigma reads a `percentile` key)".into()),
                };
                failed.push(failed_corr(c, issue));
                continue;
            }
            match problem {
                Some((pos, msg)) => failed.push(failed_corr(
                    c,
                    RuleIssue { path: c.path.clone(), pos: Some(pos), error: RuleError::Correlation(msg) },
                )),
                None => {
                    runs[i] = true;
                    order.push(i);
                }
            }
        }
        // Renumber the correlations that run.
        let mut new_index = vec![usize::MAX; corrs.len()];
        let mut kept = Vec::new();
        for &i in &order {
            new_index[i] = kept.len();
            kept.push(i);
        }
        let mut plan = Plan {
            hidden,
            refs_by_rule: vec![Vec::new(); ruleset.rules.len()],
            options: copts.clone(),
            ..Plan::default()
        };
        for &i in &kept {
            let c = &corrs[i];
            let ci = plan.corrs.len();
            let mut sources = Vec::new();
            for (src, (t, (reference, _))) in res.targets[i].iter().zip(&c.rules).enumerate() {
                match t {
                    Target::Rule(j) => {
                        let rule = compiled[*j].unwrap_or(0);
                        let logsource = &ruleset.rules[rule as usize].rule.logsource.clone();
                        let mut slots = |field: &str| -> Vec<usize> {
                            mapping.map_field(logsource, field).iter().map(|f| ruleset.carry(f)).collect()
                        };
                        let group = c.group_by.iter().map(|g| slots(c.group_field(g, reference))).collect();
                        let value = c.condition.fields().iter().map(|f| slots(c.group_field(f, reference))).collect();
                        plan.refs_by_rule[rule as usize].push((ci as u32, src as u16));
                        sources.push(Source::Rule { rule, group, value });
                    }
                    Target::Corr(j) => {
                        let inner = &corrs[*j];
                        let group = c
                            .group_by
                            .iter()
                            .map(|g| {
                                let f = c.group_field(g, reference);
                                inner.group_by.iter().position(|x| x == f)
                            })
                            .collect();
                        let value = c
                            .condition
                            .fields()
                            .iter()
                            .map(|f| {
                                let f = c.group_field(f, reference);
                                inner.group_by.iter().position(|x| x == f)
                            })
                            .collect();
                        sources.push(Source::Corr { corr: new_index[*j], group, value });
                    }
                }
            }
            // pySigma (`resolve_rule_references`: `rule.disable_output()`) and the
            // v2.2.0 draft: a correlation referenced from its own file by one that
            // does not `generate` is not output by itself.
            let fed_hidden = kept.iter().any(|&o| {
                corrs[o].path == c.path
                    && !corrs[o].generate
                    && res.targets[o].contains(&Target::Corr(i))
            });
            let fed_shown = kept.iter().any(|&o| {
                corrs[o].path == c.path && corrs[o].generate && res.targets[o].contains(&Target::Corr(i))
            });
            // A correlation run only for a chain (the filters left it out) is not shown either.
            plan.corr_hidden.push((fed_hidden && !fed_shown) || !corr_ok[i]);
            plan.corrs.push(c.clone());
            plan.sources.push(sources);
            plan.order.push(ci);
        }
        LoadedRules { ruleset, failed, filtered, plan }
    }
}
