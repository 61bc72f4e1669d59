//! Corpus tests over the shared data (SigmaHQ snapshot, real exports).
//!
//! They run when `SIGMA_MATCH_SHARED` points at the shared folder (CI sets
//! `../shared`) and fail loudly if it is set but the data is missing. When it
//! is unset they print that they did not run: a user's clone has no corpus.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use sigma_match::compile::{CompileOptions, RulesetBuilder};
use sigma_match::run::engine::{self, RunOptions};
use sigma_match::compile::loader::{self, RuleFilter};
use sigma_match::sigma::rule::{Loaded, Pattern};
use sigma_match::sigma::value::Part;

fn shared() -> Option<PathBuf> {
    match std::env::var_os("SIGMA_MATCH_SHARED") {
        None => {
            eprintln!("SIGMA_MATCH_SHARED is not set: corpus test not run");
            None
        }
        Some(p) => {
            let p = PathBuf::from(p);
            assert!(
                p.join("sigmahq/rules").is_dir() && p.join("events/plaso-attack.jsonl").is_file(),
                "SIGMA_MATCH_SHARED={} is set but the shared data (sigmahq/rules, events/) is missing",
                p.display()
            );
            Some(p)
        }
    }
}

/// Every placeholder name used by `expand` items, each given a value.
fn synthetic_placeholders(loaded: &[Loaded]) -> HashMap<String, Vec<String>> {
    let mut out = HashMap::new();
    for l in loaded {
        if let Loaded::Rule(r) = l {
            for s in &r.detection.searches {
                for item in s.search.items() {
                    for p in &item.applied.patterns {
                        if let Pattern::Str { s, .. } = p {
                            for part in &s.parts {
                                if let Part::Placeholder(n) = part {
                                    out.insert(n.clone(), vec![format!("placeholder-{n}")]);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

#[test]
#[cfg_attr(
    not(shared_corpus),
    ignore = "set SIGMA_MATCH_SHARED to the shared corpus to run (as .ci/run does)"
)]
fn every_sigmahq_rule_compiles_or_has_a_reason() {
    let Some(shared) = shared() else { return };
    let dirs = [
        "rules",
        "rules-threat-hunting",
        "rules-emerging-threats",
        "rules-placeholder",
    ];
    let paths: Vec<PathBuf> = dirs
        .iter()
        .map(|d| shared.join("sigmahq").join(d))
        .collect();
    let loaded = loader::load_paths(&paths);
    let placeholders = synthetic_placeholders(&loaded);
    let mut builder = RulesetBuilder::new(CompileOptions {
        placeholders: &placeholders,
        ..Default::default()
    });
    let mut failures: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut per_dir: BTreeMap<String, usize> = BTreeMap::new();
    for l in loaded {
        match l {
            Loaded::Rule(r) => {
                let dir = dirs
                    .iter()
                    .find(|d| r.path.starts_with(shared.join("sigmahq").join(d)))
                    .unwrap()
                    .to_string();
                match builder.add(*r) {
                    Ok(()) => *per_dir.entry(dir).or_default() += 1,
                    Err(issue) => failures
                        .entry(issue.error.category())
                        .or_default()
                        .push(issue.to_string()),
                }
            }
            Loaded::Failed { issue, .. } => failures
                .entry(issue.error.category())
                .or_default()
                .push(issue.to_string()),
        }
    }
    let rs = builder.build();
    eprintln!(
        "SigmaHQ compile coverage: {} rules compiled {per_dir:?}",
        rs.rules.len()
    );
    for (reason, list) in &failures {
        eprintln!("  {reason}: {}", list.len());
        for l in list.iter().take(5) {
            eprintln!("    {l}");
        }
    }
    assert!(
        rs.rules.len() > 3700,
        "only {} rules compiled",
        rs.rules.len()
    );
    assert!(
        failures.is_empty(),
        "rules that do not compile: {failures:#?}"
    );
    assert!(!placeholders.is_empty());
}

#[test]
#[cfg_attr(
    not(shared_corpus),
    ignore = "set SIGMA_MATCH_SHARED to the shared corpus to run (as .ci/run does)"
)]
fn deprecated_and_unsupported_folders_are_reported_not_crashed() {
    let Some(shared) = shared() else { return };
    for dir in ["deprecated", "unsupported"] {
        // The loader skips folders named `deprecated` below a given path, so
        // point it at the files inside.
        let root = shared.join("sigmahq").join(dir);
        let files: Vec<PathBuf> = walk(&root);
        let loaded = loader::load_paths(&files);
        let mut ok = 0;
        let mut reasons: BTreeMap<&'static str, usize> = BTreeMap::new();
        let mut builder = RulesetBuilder::new(CompileOptions::default());
        for l in loaded {
            match l {
                Loaded::Rule(r) => match builder.add(*r) {
                    Ok(()) => ok += 1,
                    Err(i) => *reasons.entry(i.error.category()).or_default() += 1,
                },
                Loaded::Failed { issue, .. } => {
                    *reasons.entry(issue.error.category()).or_default() += 1
                }
            }
        }
        eprintln!(
            "sigmahq/{dir}: {} files, {ok} compiled, not compiled by reason: {reasons:?}",
            files.len()
        );
        assert!(ok > 0);
        if dir == "unsupported" {
            assert!(
                reasons.keys().any(|r| r.starts_with("unsupported-")),
                "{reasons:?}"
            );
        }
    }
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
#[cfg_attr(
    not(shared_corpus),
    ignore = "set SIGMA_MATCH_SHARED to the shared corpus to run (as .ci/run does)"
)]
fn full_ruleset_over_real_exports() {
    let Some(shared) = shared() else { return };
    let (rs, failed, _) = loader::load_ruleset(
        &[shared.join("sigmahq/rules")],
        &RuleFilter::default(),
        CompileOptions::default(),
    );
    assert!(
        failed.is_empty(),
        "{:?}",
        failed
            .iter()
            .map(|f| f.issue.to_string())
            .collect::<Vec<_>>()
    );
    for (file, lines) in [
        ("events/plaso-attack.jsonl", 16_926u64),
        ("events/evtx-samples.flat.jsonl", 25_062),
        ("events/evtx-samples.jsonl", 25_062),
    ] {
        let path = shared.join(file).display().to_string();
        let stats = engine::run(&rs, &[path], &RunOptions::default(), &mut []).unwrap();
        let hit_rules: HashSet<usize> = stats
            .counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, _)| i)
            .collect();
        eprintln!(
            "{file}: {} events, {} malformed, {} tags by {} rules, {:.0} events/s",
            stats.events,
            stats.malformed,
            stats.total_tags(),
            hit_rules.len(),
            stats.events_per_second()
        );
        assert_eq!(stats.events, lines, "{file}");
        assert_eq!(stats.malformed, 0, "{file}");
        assert!(
            hit_rules.len() > 100,
            "{file}: only {} rules hit",
            hit_rules.len()
        );
    }
}

#[test]
#[cfg_attr(
    not(shared_corpus),
    ignore = "set SIGMA_MATCH_SHARED to the shared corpus to run (as .ci/run does)"
)]
fn nested_and_flat_evtx_json_give_the_same_counts() {
    // `evtx-samples.jsonl` (nested evtx_dump) and `.flat.jsonl` hold the same
    // records; the nested reader's flat aliases must make SigmaHQ rules see
    // the same fields, so per-rule counts agree.
    let Some(shared) = shared() else { return };
    let (rs, _, _) = loader::load_ruleset(
        &[shared.join("sigmahq/rules/windows")],
        &RuleFilter::default(),
        CompileOptions::default(),
    );
    let count = |f: &str| {
        engine::run(
            &rs,
            &[shared.join(f).display().to_string()],
            &RunOptions::default(),
            &mut [],
        )
        .unwrap()
        .counts
    };
    let flat = count("events/evtx-samples.flat.jsonl");
    let nested = count("events/evtx-samples.jsonl");
    let diffs: Vec<String> = flat
        .iter()
        .zip(&nested)
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(i, (a, b))| {
            format!(
                "{} ({}): flat {a}, nested {b}",
                rs.rules[i].rule.title,
                rs.rules[i].rule.path.display()
            )
        })
        .collect();
    eprintln!(
        "flat vs nested evtx JSON: {} of {} rules differ",
        diffs.len(),
        rs.rules.len()
    );
    for d in diffs.iter().take(20) {
        eprintln!("  {d}");
    }
    assert!(diffs.is_empty(), "per-rule counts differ: {diffs:#?}");
}
