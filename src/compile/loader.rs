//! Finding and loading rule files.
//!
//! This module owns the walk over rule paths: `.yml`/`.yaml` files found
//! recursively (in a stable, sorted order), folders named `deprecated`
//! skipped case-insensitively as Timesketch does, and each file parsed into
//! rules or located issues. Loading is parallel over files; with two or
//! more threads [`load_paths_in_order`] also hands the documents over in
//! path order while later files are still loading, so that the caller can
//! compile rules while the pool reads the rest.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{RuleError, RuleIssue};
use crate::sigma::rule::{self, Loaded};

/// Lists rule files under the given paths (files are taken as given).
pub fn rule_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<RuleIssue>) {
    let mut files = Vec::new();
    let issues = walk(paths, Order::AtEnd, &mut |f| files.push(f));
    (files, issues)
}

/// How [`walk`] puts each folder's files in the order of their path
/// components (a depth-first walk with each directory's entries in name
/// order visits them in that order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// Sorted once per folder at the end (cheapest: walkdir's
    /// `sort_by_file_name` parses both paths on every comparison).
    AtEnd,
    /// Each directory's entries sorted as it is read, so that files reach
    /// the caller during the walk.
    AsWalked,
}

/// Hands the rule files under `paths` to `on_file` in path order (files
/// are taken as given); returns the paths that could not be read, sorted
/// per given path.
fn walk(paths: &[PathBuf], order: Order, on_file: &mut dyn FnMut(PathBuf)) -> Vec<RuleIssue> {
    let mut issues = Vec::new();
    for p in paths {
        if p.is_file() {
            on_file(p.clone());
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
        let issues_before = issues.len();
        let mut found = Vec::new();
        let mut walker = walkdir::WalkDir::new(p).follow_links(true);
        if order == Order::AsWalked {
            walker = walker.sort_by_file_name();
        }
        for entry in walker.into_iter().filter_entry(|e| {
            !(e.depth() > 0
                && e.file_type().is_dir()
                && e.file_name()
                    .to_string_lossy()
                    .eq_ignore_ascii_case("deprecated"))
        }) {
            match entry {
                Ok(e) if e.file_type().is_file() && is_rule_file(e.path()) => match order {
                    Order::AtEnd => found.push(e.into_path()),
                    Order::AsWalked => on_file(e.into_path()),
                },
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
        found.sort_by_cached_key(|f| {
            f.components()
                .map(|c| c.as_os_str().to_os_string())
                .collect::<Vec<_>>()
        });
        found.into_iter().for_each(&mut *on_file);
        issues[issues_before..].sort_by(|a, b| a.path.cmp(&b.path));
    }
    issues
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
pub enum Yaml {
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
    let mut out = walk_failures(issues);
    let loaded: Vec<Vec<Loaded>> = files.par_iter().map(|f| load_file(f, yaml)).collect();
    out.extend(loaded.into_iter().flatten());
    out
}

/// The walk's issues as failed documents (they come before every file's).
fn walk_failures(issues: Vec<RuleIssue>) -> Vec<Loaded> {
    issues
        .into_iter()
        .map(|issue| Loaded::Failed {
            issue,
            title: None,
            id: None,
        })
        .collect()
}

/// The documents of one file, without their YAML trees with [`Yaml::Drop`].
fn load_file(f: &Path, yaml: Yaml) -> Vec<Loaded> {
    let mut docs = rule::load_file(f);
    if yaml == Yaml::Drop {
        for d in &mut docs {
            if let Loaded::Rule(r) = d {
                r.raw.value = crate::sigma::yaml::Value::Null;
            }
        }
    }
    docs
}

/// Files per job of [`load_paths_in_order`]: a few milliseconds of YAML,
/// small enough that the first rules reach the caller early and that the
/// last job does not hold up the end.
const CHUNK_FILES: usize = 16;

/// Whether [`load_paths_in_order`] hands documents over while the pool is
/// still loading: two or more threads.
pub(crate) fn pipelined() -> bool {
    pipelined_on(None)
}

/// [`pipelined`] on `pool` (`None`: the current pool).
#[cfg_attr(not(feature = "internals"), allow(dead_code))] // tests
pub fn pipelined_on(pool: Option<&rayon::ThreadPool>) -> bool {
    pool.map_or_else(rayon::current_num_threads, rayon::ThreadPool::current_num_threads) >= 2
}

/// [`load_paths_keeping`], handing the documents to `take` in path order
/// (the walk's issues first), in several batches.
///
/// With two or more threads ([`pipelined`]) everything runs in the pool:
/// one worker walks the paths and spawns a load for every [`CHUNK_FILES`]
/// files found, then runs `take` on the walk's issues and on each chunk's
/// documents in path order as soon as they are loaded, and loads chunks
/// itself when the next one is not ready yet; the other workers load. So
/// the walk and what `take` does (compiling) overlap loading, with no more
/// threads busy than the pool has. With one thread `take` gets every
/// document at once after [`load_paths_keeping`]'s load, as before: a
/// one-thread run stays a one-thread measurement.
pub(crate) fn load_paths_in_order(paths: &[PathBuf], yaml: Yaml, take: impl FnMut(Vec<Loaded>) + Send) {
    load_paths_in_order_on(None, paths, yaml, take)
}

/// [`load_paths_in_order`] on `pool` (`None`: the current pool).
pub fn load_paths_in_order_on(
    pool: Option<&rayon::ThreadPool>,
    paths: &[PathBuf],
    yaml: Yaml,
    mut take: impl FnMut(Vec<Loaded>) + Send,
) {
    if !pipelined_on(pool) {
        let docs = match pool {
            Some(p) => p.install(|| load_paths_keeping(paths, yaml)),
            None => load_paths_keeping(paths, yaml),
        };
        take(docs);
        return;
    }
    match pool {
        Some(p) => p.scope_fifo(|s| load_chunks(s, paths, yaml, &mut take)),
        None => rayon::scope_fifo(|s| load_chunks(s, paths, yaml, &mut take)),
    }
}

/// [`load_paths_in_order_on`]'s pipeline, on a worker of the pool: walks
/// `paths`, spawning a load for every [`CHUNK_FILES`] files found, then
/// runs `take` on the walk's issues and on each chunk's documents, in path
/// order, as they are loaded.
fn load_chunks(s: &rayon::ScopeFifo<'_>, paths: &[PathBuf], yaml: Yaml, take: &mut impl FnMut(Vec<Loaded>)) {
    let (tx, rx) = std::sync::mpsc::channel();
    let mut chunks = 0;
    let mut spawn = |chunk: Vec<PathBuf>| {
        let (tx, i) = (tx.clone(), chunks);
        chunks += 1;
        s.spawn_fifo(move |_| {
            let docs: Vec<Loaded> = chunk.iter().flat_map(|f| load_file(f, yaml)).collect();
            // The receiver only goes away if `take` panicked.
            let _ = tx.send((i, docs));
        });
    };
    let mut chunk = Vec::with_capacity(CHUNK_FILES);
    let issues = walk(paths, Order::AsWalked, &mut |f| {
        chunk.push(f);
        if chunk.len() == CHUNK_FILES {
            spawn(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_FILES)));
        }
    });
    if !chunk.is_empty() {
        spawn(chunk);
    }
    drop(tx);
    take(walk_failures(issues));
    // Chunks finished out of order wait here for their predecessors.
    let mut early: std::collections::BTreeMap<usize, Vec<Loaded>> = Default::default();
    let mut next = 0;
    while next < chunks {
        let ready = match rx.try_recv() {
            Ok(done) => Some(done),
            // A load panicked: the scope raises it.
            Err(std::sync::mpsc::TryRecvError::Disconnected) => break,
            // Not ready: load a chunk here, or, when every chunk left is
            // loading on another worker, wait for one.
            Err(std::sync::mpsc::TryRecvError::Empty) => match rayon::yield_now() {
                Some(rayon::Yield::Executed) => None,
                _ => rx.recv().ok(),
            },
        };
        if let Some((i, docs)) = ready {
            early.insert(i, docs);
            while let Some(docs) = early.remove(&next) {
                take(docs);
                next += 1;
            }
        }
    }
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
