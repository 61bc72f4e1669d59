//! `verify --timesketch`: the rules Timesketch would reject, and why.
//!
//! This module owns the Timesketch-mode checks. Each rule file is converted
//! as Timesketch's `tsctl import-sigma-rules` / rule upload does
//! ([`crate::timesketch::query`]); a file it cannot import or convert is an
//! error finding with the exception and the line Timesketch logs. A rule it
//! converts but whose stored query OpenSearch's `query_string` parser would
//! reject when the Sigma analyzer runs it is an error finding too, with the
//! parse error ([`opensearch_rejects`]). The analyzer only runs `stable`
//! rules (`sigma_tagger.py`), so the query check covers only those unless
//! `include_all` is set. The result is a [`Verified`], so `verify`'s output,
//! JSON and `--move` work unchanged.

use std::path::PathBuf;

use rayon::prelude::*;

use super::{Finding, RuleUnit, Severity, Verified};
use crate::timesketch::query::{ConvertOptions, TimesketchConfig, TimesketchError, timesketch_query};

/// Options of the Timesketch-mode check.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimesketchOptions {
    /// Check the queries of every rule, not only the `stable` ones the
    /// analyzer runs.
    pub include_all: bool,
}

/// What the check found besides the findings.
#[derive(Debug, Clone, Default)]
pub struct TimesketchSummary {
    /// Rules converted.
    pub converted: usize,
    /// Converted rules the analyzer runs (stable, or all with `include_all`).
    pub analyzed: usize,
    /// Converted rules skipped by the analyzer (not `stable`).
    pub not_analyzed: usize,
}

/// The reason group of a conversion error (the summary's categories).
fn category(e: &TimesketchError) -> &'static str {
    let msg = e.message();
    match e.class() {
        "KeyError" => "timesketch: modifier unknown to sigmac 0.19.1",
        "NotImplementedError" if msg.starts_with("Aggregations") => "timesketch: aggregation",
        "NotImplementedError" => "timesketch: not implemented by sigmac",
        "SigmaParseError" | "SigmaCollectionParseError" => "timesketch: sigmac parse error",
        "SigmaModifierValueTypeError" => "timesketch: modifier on a value of the wrong type",
        "TypeError" | "AttributeError" => "timesketch: value type sigmac cannot convert",
        "ValueError" if msg.starts_with("Missing value") => "timesketch: title/description/id not a string",
        "YAMLError" | "ComposerError" | "ConstructorError" => "timesketch: YAML",
        "ValueError" if msg.contains("out of range") || msg.starts_with("month") => "timesketch: YAML",
        "OSError" => "timesketch: unreadable",
        _ => "timesketch: conversion failed",
    }
}

/// The OpenSearch `query_string` parse error of a stored query, if
/// OpenSearch would reject it (the analyzer then fails for that rule).
pub fn opensearch_rejects(query: &str) -> Option<String> {
    // Parse errors, and what fails when OpenSearch builds the search on an
    // index where the named fields are strings (Lucene regexp syntax,
    // a query with no terms at all): see `timesketch::evaluate::static_check`.
    crate::timesketch::evaluate::static_check(query)
}

/// Checks every rule file under `paths` as Timesketch would import and run it.
pub fn verify_timesketch(
    paths: &[PathBuf],
    config: &TimesketchConfig,
    opts: TimesketchOptions,
) -> (Verified, TimesketchSummary) {
    let (files, issues) = crate::compile::loader::rule_files(paths);
    let results: Vec<(PathBuf, Result<crate::timesketch::query::TimesketchQuery, TimesketchError>)> = files
        .par_iter()
        .map(|path| {
            let r = std::fs::read_to_string(path)
                .map_err(|source| TimesketchError::Read {
                    path: path.clone(),
                    source,
                })
                .and_then(|text| timesketch_query(&text, path, config, &ConvertOptions::default()));
            (path.clone(), r)
        })
        .collect();
    let mut v = Verified {
        files: files.len(),
        ..Verified::default()
    };
    let mut summary = TimesketchSummary::default();
    for issue in issues {
        v.findings.push(Finding {
            path: issue.path.clone(),
            rule: v.rules.len(),
            pos: None,
            severity: Severity::Error,
            category: "timesketch: unreadable",
            message: issue.error.to_string(),
        });
        v.rules.push(RuleUnit {
            path: issue.path,
            title: None,
            id: None,
            worst: Some(Severity::Error),
        });
    }
    for (path, r) in results {
        let index = v.rules.len();
        let mut unit = RuleUnit {
            path: path.clone(),
            title: None,
            id: None,
            worst: None,
        };
        match r {
            Err(e) => {
                unit.worst = Some(Severity::Error);
                v.findings.push(Finding {
                    path: path.clone(),
                    rule: index,
                    pos: None,
                    severity: Severity::Error,
                    category: category(&e),
                    message: format!("Timesketch cannot import it: {e} (logged: {})", e.log_line()),
                });
            }
            Ok(q) => {
                summary.converted += 1;
                unit.title = Some(q.title.clone());
                unit.id = Some(q.id.clone());
                if q.is_analyzed(crate::timesketch::query::Statuses::all_if(opts.include_all)) {
                    summary.analyzed += 1;
                    if let Some(err) = opensearch_rejects(&q.es_query) {
                        unit.worst = Some(Severity::Error);
                        v.findings.push(Finding {
                            path: path.clone(),
                            rule: index,
                            pos: None,
                            severity: Severity::Error,
                            category: "opensearch: query_string rejected",
                            message: format!(
                                "OpenSearch rejects Timesketch's query when the analyzer runs it: {err}; query: {}",
                                q.es_query
                            ),
                        });
                    }
                } else {
                    summary.not_analyzed += 1;
                }
            }
        }
        v.rules.push(unit);
    }
    (v, summary)
}
