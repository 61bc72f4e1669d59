//! Finding and loading rule files.
//!
//! This module owns the walk over rule paths: `.yml`/`.yaml` files found
//! recursively (in a stable, sorted order), folders named `deprecated`
//! skipped case-insensitively as Timesketch does, and each file parsed into
//! rules or located issues. Loading is parallel over files.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{RuleError, RuleIssue};
use crate::rule::{self, Loaded};

/// Lists rule files under the given paths (files are taken as given).
pub fn rule_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<RuleIssue>) {
    let mut files = Vec::new();
    let mut issues = Vec::new();
    for p in paths {
        if p.is_file() {
            files.push(p.clone());
            continue;
        }
        if !p.exists() {
            issues.push(RuleIssue {
                path: p.clone(),
                pos: None,
                error: RuleError::Io("no such file or directory".into()),
            });
            continue;
        }
        let walker = walkdir::WalkDir::new(p)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter();
        for entry in walker.filter_entry(|e| {
            !(e.depth() > 0
                && e.file_type().is_dir()
                && e.file_name()
                    .to_string_lossy()
                    .eq_ignore_ascii_case("deprecated"))
        }) {
            match entry {
                Ok(e) if e.file_type().is_file() && is_rule_file(e.path()) => {
                    files.push(e.into_path())
                }
                Ok(_) => {}
                Err(err) => issues.push(RuleIssue {
                    path: err
                        .path()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| p.clone()),
                    pos: None,
                    error: RuleError::Io(err.to_string()),
                }),
            }
        }
    }
    (files, issues)
}

fn is_rule_file(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some(e) if e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
}

/// Loads every rule document of the given paths, in path order.
pub fn load_paths(paths: &[PathBuf]) -> Vec<Loaded> {
    load_paths_keeping(paths, true)
}

/// [`load_paths`]; with `keep_yaml` false each rule's YAML tree
/// ([`rule::Rule::raw`], which only `verify` reads) is dropped as soon as its
/// file is parsed, which keeps ~30 MB of the SigmaHQ snapshot from ever
/// being live at once.
fn load_paths_keeping(paths: &[PathBuf], keep_yaml: bool) -> Vec<Loaded> {
    let (files, issues) = rule_files(paths);
    let mut out: Vec<Loaded> = issues
        .into_iter()
        .map(|issue| Loaded::Failed {
            issue,
            title: None,
            id: None,
        })
        .collect();
    let loaded: Vec<Vec<Loaded>> = files
        .par_iter()
        .map(|f| {
            let mut docs = rule::load_file(f);
            if !keep_yaml {
                for d in &mut docs {
                    if let Loaded::Rule(r) = d {
                        r.raw.value = crate::yaml::Value::Null;
                    }
                }
            }
            docs
        })
        .collect();
    out.extend(loaded.into_iter().flatten());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_deprecated_folders_and_non_yaml() {
        let dir = std::env::temp_dir().join(format!("sm-loader-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("a/DePrecated")).unwrap();
        std::fs::write(dir.join("a/r.yml"), "x").unwrap();
        std::fs::write(dir.join("a/r2.YAML"), "x").unwrap();
        std::fs::write(dir.join("a/readme.md"), "x").unwrap();
        std::fs::write(dir.join("a/DePrecated/old.yml"), "x").unwrap();
        let (files, issues) = rule_files(&[dir.clone(), dir.join("missing")]);
        assert_eq!(files.len(), 2, "{files:?}");
        assert_eq!(issues.len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// Which rules to keep, by `status` and `level` (empty = all).
#[derive(Debug, Clone, Default)]
pub struct RuleFilter {
    pub statuses: Vec<String>,
    pub levels: Vec<String>,
}

impl RuleFilter {
    pub fn keeps(&self, r: &rule::Rule) -> bool {
        let ok = |want: &[String], have: &Option<String>| {
            want.is_empty()
                || have
                    .as_deref()
                    .is_some_and(|h| want.iter().any(|w| w.eq_ignore_ascii_case(h)))
        };
        ok(&self.statuses, &r.status) && ok(&self.levels, &r.level)
    }
}

/// Loads, filters and compiles rules: the whole rule side of a run.
/// Returns the ruleset, the rules that failed (to load or to compile), and
/// how many rules the filter left out.
pub fn load_ruleset(
    paths: &[PathBuf],
    filter: &RuleFilter,
    opts: crate::compile::CompileOptions<'_>,
) -> (
    crate::compile::Ruleset,
    Vec<crate::report::FailedRule>,
    usize,
) {
    let mut failed = Vec::new();
    let mut rules = Vec::new();
    let mut filtered = 0;
    for l in load_paths_keeping(paths, false) {
        match l {
            Loaded::Rule(r) => {
                if filter.keeps(&r) {
                    rules.push(*r);
                } else {
                    filtered += 1;
                }
            }
            Loaded::Failed { issue, title, id } => {
                failed.push(crate::report::FailedRule { issue, title, id })
            }
        }
    }
    let mut b = crate::compile::RulesetBuilder::new(opts);
    for r in rules {
        let (title, id) = (r.title.clone(), r.id.clone());
        if let Err(issue) = b.add(r) {
            failed.push(crate::report::FailedRule {
                issue,
                title: Some(title),
                id,
            });
        }
    }
    (b.build(), failed, filtered)
}
