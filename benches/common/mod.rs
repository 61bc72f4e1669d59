//! Inputs shared by the criterion benches: the SigmaHQ snapshot and real
//! events from `$SIGMA_MATCH_SHARED` (e.g. `../shared`), or the small
//! `testdata/` files when the variable is unset (said so on stderr).

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use sigma_match::compile::{CompileOptions, Ruleset};
use sigma_match::compile::loader::{self, RuleFilter};

/// The shared data folder, or `None` (with a message) when unset.
pub fn shared() -> Option<PathBuf> {
    match std::env::var_os("SIGMA_MATCH_SHARED") {
        Some(p) => {
            let p = PathBuf::from(p);
            assert!(
                p.join("sigmahq/rules").is_dir(),
                "SIGMA_MATCH_SHARED={} has no sigmahq/rules",
                p.display()
            );
            Some(p)
        }
        None => {
            eprintln!(
                "SIGMA_MATCH_SHARED is unset: benchmarking the small testdata/ rules and events instead"
            );
            None
        }
    }
}

pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// Rule folders of the full snapshot (or the testdata rules).
pub fn snapshot_dirs() -> Vec<PathBuf> {
    match shared() {
        Some(s) => [
            "rules",
            "rules-threat-hunting",
            "rules-emerging-threats",
            "rules-placeholder",
        ]
        .iter()
        .map(|d| s.join("sigmahq").join(d))
        .collect(),
        None => vec![testdata().join("timesketch/rules")],
    }
}

/// The first `n` rule files of SigmaHQ `rules/`: `windows/` first (the
/// events are Windows events), then the other folders, each sorted by path.
pub fn first_rules(n: usize) -> Vec<PathBuf> {
    let root = match shared() {
        Some(s) => s.join("sigmahq/rules"),
        None => testdata().join("timesketch/rules"),
    };
    let (mut files, _) = loader::rule_files(std::slice::from_ref(&root));
    files.sort_by_key(|f| (!f.starts_with(root.join("windows")), f.clone()));
    files.truncate(n);
    files
}

pub fn compile(paths: &[PathBuf]) -> Ruleset {
    loader::load_ruleset(paths, &RuleFilter::default(), CompileOptions::default()).0
}

/// Real event lines: the flat evtx export (shared) or the Timesketch fixture.
pub fn event_lines(max: usize) -> Vec<Vec<u8>> {
    let file = match shared() {
        Some(s) => s.join("events/evtx-samples.flat.jsonl"),
        None => testdata().join("timesketch/sigma_events.jsonl"),
    };
    let text = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    text.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .take(max)
        .map(<[u8]>::to_vec)
        .collect()
}

/// Distinct Plaso event lines: the shared Plaso export with each Windows
/// record once (Plaso writes every record twice, once per timestamp; the
/// second copy is dropped by its `xml_string`), or the Timesketch fixture.
pub fn unique_plaso_lines(max: usize) -> Vec<Vec<u8>> {
    let file = match shared() {
        Some(s) => s.join("events/plaso-attack.jsonl"),
        None => testdata().join("timesketch/sigma_events.jsonl"),
    };
    let text = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let mut seen = std::collections::HashSet::new();
    text.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .filter(|l| {
            let key = l
                .windows(14)
                .position(|w| w == b"\"xml_string\": ")
                .map_or(&l[..], |i| &l[i..]);
            seen.insert(key.to_vec())
        })
        .take(max)
        .map(<[u8]>::to_vec)
        .collect()
}

/// [`compile`] with logsource scoping on, as `sigma-match` runs by default.
pub fn compile_scoped(paths: &[PathBuf]) -> Ruleset {
    let mut rs = compile(paths);
    rs.set_scope(&sigma_match::mapping::scope::ScopeTable::builtin());
    rs
}
