//! Finding and loading rule files.
//!
//! This module owns the walk over rule paths: `.yml`/`.yaml` files found
//! recursively (in a stable, sorted order), folders named `deprecated`
//! skipped case-insensitively as Timesketch does, and each file parsed into
//! rules or located issues. Loading is parallel over files.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{RuleError, RuleIssue};
use crate::sigma::rule::{self, Loaded};

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
        // Sorted once at the end rather than per directory by walkdir
        // (`sort_by_file_name` parses both paths on every comparison): a
        // depth-first walk with each directory's entries in name order
        // visits the paths in the order of their components.
        let (files_before, issues_before) = (files.len(), issues.len());
        let walker = walkdir::WalkDir::new(p).follow_links(true).into_iter();
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
        // Components compared once each, not parsed on every comparison.
        files[files_before..].sort_by_cached_key(|f| {
            f.components()
                .map(|c| c.as_os_str().to_os_string())
                .collect::<Vec<_>>()
        });
        issues[issues_before..].sort_by(|a, b| a.path.cmp(&b.path));
    }
    (files, issues)
}

fn is_rule_file(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some(e) if e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
}

/// Loads every rule document of the given paths, in path order.
pub fn load_paths(paths: &[PathBuf]) -> Vec<Loaded> {
    load_paths_keeping(paths, Yaml::Keep)
}

/// Whether loaded rules keep their YAML tree ([`rule::Rule::raw`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Yaml {
    /// Keep it (`verify` reads it).
    Keep,
    /// Drop it once the file is parsed (runs never read it).
    Drop,
}

/// [`load_paths`]; with [`Yaml::Drop`] each rule's YAML tree
/// ([`rule::Rule::raw`], which only `verify` reads) is dropped as soon as its
/// file is parsed, which keeps ~30 MB of the SigmaHQ snapshot from ever
/// being live at once.
pub(crate) fn load_paths_keeping(paths: &[PathBuf], yaml: Yaml) -> Vec<Loaded> {
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
            if yaml == Yaml::Drop {
                for d in &mut docs {
                    if let Loaded::Rule(r) = d {
                        r.raw.value = crate::sigma::yaml::Value::Null;
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

/// Which rules to keep: by `status` and `level` (empty = all), by a
/// minimum level, and not those named in an exclusion list.
#[derive(Debug, Clone, Default)]
pub struct RuleFilter {
    pub statuses: Vec<String>,
    pub levels: Vec<String>,
    /// `--min-level`: keep rules at this level or above (a rule without a
    /// level counts as `informational`, as Hayabusa reads it).
    pub min_level: Option<String>,
    /// `--exclude-rules`: rule ids or titles (compared case-insensitively).
    pub exclude: Vec<String>,
}

/// Why the filter left a rule out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// `--status` / `--level`.
    StatusOrLevel,
    MinLevel,
    /// The exclusion list entry it matched.
    Excluded(usize),
}

/// The rank of a level in [`crate::tools::verify::LEVELS`] (unknown or missing:
/// 0, `informational`).
pub fn level_rank(level: Option<&str>) -> usize {
    level
        .and_then(|l| {
            crate::tools::verify::LEVELS
                .iter()
                .position(|x| x.eq_ignore_ascii_case(l))
        })
        .unwrap_or(0)
}

impl RuleFilter {
    /// Why `r` is left out, `None` if it is kept.
    pub fn dropped(&self, r: &rule::Rule) -> Option<Dropped> {
        self.dropped_meta(r.status.as_deref(), r.level.as_deref(), r.id.as_deref(), &r.title)
    }

    /// Why a rule (detection or correlation) with this metadata is left
    /// out, `None` if it is kept.
    pub fn dropped_meta(
        &self,
        status: Option<&str>,
        level: Option<&str>,
        id: Option<&str>,
        title: &str,
    ) -> Option<Dropped> {
        let ok = |want: &[String], have: Option<&str>| {
            want.is_empty() || have.is_some_and(|h| want.iter().any(|w| w.eq_ignore_ascii_case(h)))
        };
        if !(ok(&self.statuses, status) && ok(&self.levels, level)) {
            return Some(Dropped::StatusOrLevel);
        }
        if let Some(min) = &self.min_level
            && level_rank(level) < level_rank(Some(min))
        {
            return Some(Dropped::MinLevel);
        }
        self.exclude
            .iter()
            .position(|e| id.is_some_and(|id| id.eq_ignore_ascii_case(e)) || title.eq_ignore_ascii_case(e))
            .map(Dropped::Excluded)
    }

    /// The exclusion entries that matched no rule (`used[i]` says whether
    /// entry `i` matched one), for the report.
    pub fn unmatched_exclusions(&self, used: &[bool]) -> Vec<String> {
        self.exclude
            .iter()
            .zip(used)
            .filter(|(_, u)| !**u)
            .map(|(e, _)| e.clone())
            .collect()
    }
}

/// Reads an exclusion list: one rule id or title per line; blank lines and
/// lines starting with `#` are ignored, as is text after ` #`.
pub fn read_exclusions(path: &Path) -> Result<Vec<String>, crate::error::ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| crate::error::ConfigError {
        path: path.to_path_buf(),
        pos: None,
        message: e.to_string(),
    })?;
    Ok(text
        .lines()
        .map(|l| l.split_once(" #").map_or(l, |(a, _)| a).trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect())
}

/// How many rules each filter left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Filtered {
    /// By `--status` / `--level`.
    pub status_or_level: usize,
    /// By `--min-level`.
    pub min_level: usize,
    /// By the exclusion list.
    pub excluded: usize,
    /// Exclusion list entries that matched no rule (typos, renamed rules).
    pub unmatched_exclusions: Vec<String>,
}

impl Filtered {
    pub fn total(&self) -> usize {
        self.status_or_level + self.min_level + self.excluded
    }
}

/// A compiled ruleset, the rules that failed (to load or to compile), and
/// how many rules the filter left out.
#[cfg_attr(not(feature = "internals"), allow(dead_code))] // tests, benches, fuzz
pub type Compiled = (
    crate::compile::Ruleset,
    Vec<crate::output::report::FailedRule>,
    Filtered,
);

/// Loads, filters and compiles rules: the whole rule side of a run.
/// Returns the ruleset, the rules that failed (to load or to compile), and
/// how many rules the filter left out.
#[cfg_attr(not(feature = "internals"), allow(dead_code))] // tests, benches, fuzz
pub fn load_ruleset(
    paths: &[PathBuf],
    filter: &RuleFilter,
    opts: crate::compile::CompileOptions<'_>,
) -> Compiled {
    compile_loaded(load_paths_keeping(paths, Yaml::Drop), filter, opts)
}

/// Filters and compiles loaded rule documents (from files or text), in
/// order: [`load_ruleset`] after the walk.
#[cfg_attr(not(feature = "internals"), allow(dead_code))] // tests, benches, fuzz
pub fn compile_loaded(
    loaded: Vec<Loaded>,
    filter: &RuleFilter,
    opts: crate::compile::CompileOptions<'_>,
) -> Compiled {
    let mut failed = Vec::new();
    let mut rules = Vec::new();
    let mut filtered = Filtered::default();
    let mut used = vec![false; filter.exclude.len()];
    for l in loaded {
        match l {
            Loaded::Rule(r) => match filter.dropped(&r) {
                None => rules.push(*r),
                Some(Dropped::StatusOrLevel) => filtered.status_or_level += 1,
                Some(Dropped::MinLevel) => filtered.min_level += 1,
                Some(Dropped::Excluded(i)) => {
                    filtered.excluded += 1;
                    used[i] = true;
                }
            },
            Loaded::Failed { issue, title, id } => {
                failed.push(crate::output::report::FailedRule { issue, title, id })
            }
        }
    }
    let mut b = crate::compile::RulesetBuilder::new(opts);
    for r in rules {
        let (title, id) = (r.title.clone(), r.id.clone());
        if let Err(issue) = b.add(r) {
            failed.push(crate::output::report::FailedRule {
                issue,
                title: Some(title),
                id,
            });
        }
    }
    filtered.unmatched_exclusions = filter.unmatched_exclusions(&used);
    (b.build(), failed, filtered)
}
