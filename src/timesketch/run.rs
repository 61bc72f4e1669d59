//! The Timesketch reading of a run: every rule's Timesketch query
//! evaluated on every event, in parallel.
//!
//! This module owns the driver of `sigma-match --timesketch`: it reads the
//! event files into memory, builds the index mapping OpenSearch would have
//! after ingesting them in order ([`IndexMapping::observe`]), compiles each
//! rule's query against that mapping once ([`TsQuery::compile`]), then
//! indexes each event once ([`IndexedDoc`], shared by all rules) and
//! evaluates every query on it with `rayon`. The rule side (conversion of a
//! rule to its Timesketch query, stable-only filtering) is the caller's:
//! it hands in [`TsRule`]s.

use std::path::PathBuf;

use rayon::prelude::*;

use super::evaluate::{TsQuery, TsQueryError};
use super::index::{IndexMapping, IndexedDoc, MappingKind};
use crate::error::InputError;

/// One rule as Timesketch's Sigma analyzer sees it.
#[derive(Debug, Clone)]
pub struct TsRule {
    pub path: PathBuf,
    pub title: String,
    pub id: Option<String>,
    pub status: Option<String>,
    pub tags: Vec<String>,
    /// Whether the analyzer runs it (`status: stable`, or every rule with
    /// `--all-statuses`).
    pub analyzed: bool,
    /// The stored `es_query`, or the error Timesketch logs converting it.
    pub es_query: Result<String, String>,
    /// The rule text uses `|endswith` / `|startswith` (Timesketch removes them).
    pub modifiers_stripped: bool,
}

/// One event file, held in memory.
#[derive(Debug)]
pub struct InputText {
    pub name: String,
    pub text: String,
}

impl InputText {
    /// Reads `name` (`-` = standard input).
    pub fn read(name: &str) -> Result<InputText, InputError> {
        let text = if name == "-" {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(|source| {
                InputError::Io {
                    path: name.into(),
                    source,
                }
            })?;
            s
        } else {
            let bytes = std::fs::read(name).map_err(|source| InputError::Io {
                path: name.into(),
                source,
            })?;
            String::from_utf8_lossy(&bytes).into_owned()
        };
        Ok(InputText {
            name: name.to_string(),
            text,
        })
    }

    /// Non-blank lines with their 1-based numbers.
    pub fn lines(&self) -> impl Iterator<Item = (u64, &str)> {
        self.text
            .split('\n')
            .enumerate()
            .map(|(i, l)| (i as u64 + 1, l.strip_suffix('\r').unwrap_or(l)))
            .filter(|(_, l)| !l.trim().is_empty())
    }
}

/// The Timesketch reading of all inputs.
#[derive(Debug, Default)]
pub struct TsResults {
    pub mapping: IndexMapping,
    /// Per rule: the compiled query, or why OpenSearch would not run it.
    pub queries: Vec<Option<Result<TsQuery, TsQueryError>>>,
    /// Per input: (line, matching rule indexes) for lines with a match.
    pub hits: Vec<Vec<(u64, Vec<u32>)>>,
    /// Per rule: events tagged.
    pub counts: Vec<u64>,
    pub events: u64,
    /// Events OpenSearch would refuse under the mapping (first reason kept).
    pub rejected: u64,
    pub rejected_example: Option<String>,
}

/// Evaluates `rules` on `inputs` as Timesketch would.
pub fn evaluate(rules: &[TsRule], inputs: &[InputText], kind: MappingKind) -> TsResults {
    // Dynamic mapping, in input order.
    let mut mapping = IndexMapping::new(kind);
    for inp in inputs {
        for (_, line) in inp.lines() {
            match serde_json::from_str::<serde_json::Value>(line) {
                Ok(v) if v.is_object() => mapping.observe(&v),
                // Lines that are not JSON objects: Timesketch's importer refuses them.
                _ => {}
            }
        }
    }
    let queries: Vec<Option<Result<TsQuery, TsQueryError>>> = rules
        .par_iter()
        .map(|r| match (&r.es_query, r.analyzed) {
            (Ok(q), true) => Some(TsQuery::compile(q, &mapping)),
            _ => None,
        })
        .collect();
    let runnable: Vec<(u32, &TsQuery)> = queries
        .iter()
        .enumerate()
        .filter_map(|(i, q)| match q {
            Some(Ok(q)) => Some((i as u32, q)),
            _ => None,
        })
        .collect();
    let mut counts = vec![0u64; rules.len()];
    let mut hits = Vec::new();
    let mut events = 0;
    let mut rejected = 0;
    let mut rejected_example = None;
    for inp in inputs {
        let lines: Vec<(u64, &str)> = inp.lines().collect();
        let per_line: Vec<(u64, Option<Vec<u32>>, Option<String>)> = lines
            .par_iter()
            .map(|&(n, line)| {
                let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                    return (n, None, None);
                };
                if !v.is_object() {
                    return (n, None, None);
                }
                let doc = IndexedDoc::new(&v, &mapping);
                if let Some(r) = &doc.rejected {
                    return (n, Some(Vec::new()), Some(r.clone()));
                }
                let m: Vec<u32> = runnable
                    .iter()
                    .filter(|(_, q)| q.matches(&doc))
                    .map(|(i, _)| *i)
                    .collect();
                (n, Some(m), None)
            })
            .collect();
        let mut h = Vec::new();
        for (n, m, rej) in per_line {
            let Some(m) = m else { continue };
            events += 1;
            if let Some(r) = rej {
                rejected += 1;
                if rejected_example.is_none() {
                    rejected_example = Some(format!("{}:{n}: {r}", inp.name));
                }
            }
            for &i in &m {
                counts[i as usize] += 1;
            }
            if !m.is_empty() {
                h.push((n, m));
            }
        }
        hits.push(h);
    }
    TsResults {
        mapping,
        queries,
        hits,
        counts,
        events,
        rejected,
        rejected_example,
    }
}
