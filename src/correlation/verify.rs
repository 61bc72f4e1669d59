//! `sigma-match verify` for correlation documents and legacy aggregations:
//! the loader reports them as "unsupported"; here they are parsed and their
//! references resolved over every verified path, and the findings become
//! the real ones: errors with line and reason (bad timespan, missing
//! condition, unknown referenced rule, cycle, ...), warnings for legacy
//! conditions whose meaning the specification leaves undefined, nothing for
//! valid correlations.

use std::path::PathBuf;

use super::validate::{self, RuleKey};
use super::{Correlation, legacy, parse};
use crate::error::RuleIssue;
use crate::sigma::rule::{self, Loaded, Rule};
use crate::tools::verify::{Finding, Severity, Verified};

const CATEGORIES: [&str; 3] = ["unsupported-correlation", "unsupported-aggregation", "unsupported-near"];

fn finding(unit: usize, issue: &RuleIssue) -> Finding {
    Finding {
        path: issue.path.clone(),
        rule: unit,
        pos: issue.pos,
        severity: if issue.error.is_unsupported() { Severity::Warning } else { Severity::Error },
        category: issue.error.category(),
        message: issue.error.to_string(),
    }
}

/// Replaces the loader's "unsupported" findings of correlation documents
/// and legacy conditions under `paths` with the real checks.
pub fn amend(paths: &[PathBuf], out: &mut Verified) {
    let mut units: Vec<(PathBuf, usize)> = Vec::new();
    out.findings.retain(|f| {
        if CATEGORIES.contains(&f.category) {
            units.push((f.path.clone(), f.rule));
            false
        } else {
            true
        }
    });
    if units.is_empty() {
        return;
    }
    let mut files: Vec<PathBuf> = units.iter().map(|(p, _)| p.clone()).collect();
    files.dedup();
    // Per file, in document order: the correlation or the issue.
    let mut corrs: Vec<(usize, Correlation)> = Vec::new();
    let mut hidden: Vec<Rule> = Vec::new();
    for path in &files {
        let mut unit_iter = units.iter().filter(|(p, _)| p == path).map(|(_, u)| *u);
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let _ = rule::for_each_document(path, &text, |index, doc| {
            let outcome = if parse::is_correlation(&doc) {
                Some(parse::parse(path, index, &doc).map(|c| (Vec::new(), c)))
            } else if legacy::legacy_condition(&doc).is_some() {
                Some(legacy::lower(path, index, &doc))
            } else {
                None
            };
            if let Some(o) = outcome {
                let unit = unit_iter.next().unwrap_or(0);
                match o {
                    Ok((h, c)) => {
                        hidden.extend(h);
                        corrs.push((unit, c));
                    }
                    Err(issue) => out.findings.push(finding(unit, &issue)),
                }
            }
            Loaded::Failed {
                issue: RuleIssue { path: path.clone(), pos: None, error: crate::error::RuleError::Io(String::new()) },
                title: None,
                id: None,
            }
        });
    }
    if corrs.is_empty() {
        return;
    }
    // References resolve over every rule of the verified paths.
    let mut rules: Vec<Rule> = crate::compile::loader::load_paths(paths)
        .into_iter()
        .filter_map(|l| match l {
            Loaded::Rule(r) => Some(*r),
            Loaded::Failed { .. } => None,
        })
        .collect();
    rules.extend(hidden);
    let keys: Vec<RuleKey<'_>> = rules
        .iter()
        .map(|r| RuleKey { path: &r.path, name: r.name.as_deref(), id: r.id.as_deref() })
        .collect();
    let list: Vec<Correlation> = corrs.iter().map(|(_, c)| c.clone()).collect();
    let res = validate::resolve(&keys, &list);
    for (i, (unit, c)) in corrs.iter().enumerate() {
        if let Some(issue) = &res.errors[i] {
            out.findings.push(finding(*unit, issue));
        } else if c.kind == super::Kind::ValuePercentile
            && matches!(c.condition, super::Condition::Compare { percentile: None, .. })
        {
            out.findings.push(finding(
                *unit,
                &RuleIssue {
                    path: c.path.clone(),
                    pos: Some(c.pos),
                    error: crate::error::RuleError::Undefined("value_percentile without `percentile`: the specification (v2.1) does not say which percentile its condition compares".into()),
                },
            ));
        }
    }
}
