//! Query-string parity with Timesketch: sigma-match's conversion of every
//! SigmaHQ rule in the shared snapshot against the reference strings made
//! by legacy sigmac 0.19.1 itself (`tests/tools/timesketch_reference.py`,
//! committed as `tests/golden/timesketch_queries.tsv`). Reports the share of
//! identical results (query or error) and fails if it drops below the
//! recorded figure.

use std::path::{Path, PathBuf};

use sigma_match::timesketch::query::{ConvertOptions, TimesketchConfig, timesketch_query};

/// Identical results recorded when the reference was last regenerated,
/// per golden file; the test fails below it (raise it when parity improves).
const RECORDED: [(&str, usize); 2] = [
    // ../shared/sigmahq/rules (3,141 files)
    ("timesketch_queries.tsv", 3141),
    // rules-emerging-threats, rules-threat-hunting, rules-placeholder,
    // deprecated, unsupported (895 files)
    ("timesketch_queries_other.tsv", 895),
];

fn shared() -> PathBuf {
    PathBuf::from(std::env::var("SIGMA_MATCH_SHARED").unwrap_or_else(|_| "../shared".into()))
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('t') => out.push('\t'),
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some(o) => out.push(o),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
#[cfg_attr(not(shared_corpus), ignore = "needs SIGMA_MATCH_SHARED (the shared corpus)")]
fn sigmahq_query_strings_match_sigmac_0_19_1() {
    for (file, recorded) in RECORDED {
        parity(file, recorded);
    }
}

fn parity(file: &str, recorded: usize) {
    let root = shared();
    let cfg = TimesketchConfig::load(&root.join("timesketch/sigma_config.yaml")).unwrap();
    let golden = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(file),
    )
    .unwrap();
    let (mut total, mut same, mut stable, mut stable_same) = (0, 0, 0, 0);
    let mut diffs = Vec::new();
    for line in golden.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.splitn(4, '\t').collect();
        let [rel, status, kind, text] = cols[..] else {
            panic!("bad golden line {line}")
        };
        let path = root.join("sigmahq").join(rel);
        let rule = std::fs::read_to_string(&path).unwrap();
        let ours = match timesketch_query(&rule, &path, &cfg, &ConvertOptions::default()) {
            Ok(q) => ("query", q.es_query),
            Err(e) => ("error", e.to_string()),
        };
        let want = (kind, if kind == "error" { unescape(text) } else { text.to_string() });
        total += 1;
        let ok = ours.0 == want.0 && ours.1 == want.1;
        if ok {
            same += 1;
        } else {
            diffs.push(format!("{rel}\n  sigmac: {} {}\n  ours:   {} {}", want.0, want.1, ours.0, ours.1));
        }
        if status == "stable" {
            stable += 1;
            stable_same += usize::from(ok);
        }
    }
    for d in diffs.iter().take(40) {
        eprintln!("{d}");
    }
    eprintln!(
        "timesketch parity ({file}): {same}/{total} identical ({:.2}%), stable rules {stable_same}/{stable}",
        100.0 * same as f64 / total as f64
    );
    assert!(
        same >= recorded,
        "parity dropped ({file}): {same} identical < recorded {recorded}"
    );
}
