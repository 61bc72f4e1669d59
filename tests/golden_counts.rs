//! The "no behaviour change by accident" check: per-rule counts (events and
//! distinct records) of SigmaHQ `rules/` over every shared export, with and
//! without mapping configurations, must equal the recorded baseline in
//! `tests/golden/counts.tsv`; the `--tag-out` bytes of one run must hash to
//! the recorded value.
//!
//! A change made on purpose re-records the baseline with
//! `SIGMA_MATCH_BLESS=1 SIGMA_MATCH_SHARED=../shared cargo test --release --test golden_counts`
//! and says in its commit message what changed and why.
//!
//! Runs only when `SIGMA_MATCH_SHARED` is set (see `build.rs`); shows as
//! ignored otherwise.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Arguments that every run here gets, so that later defaults which change
/// counts on purpose (e.g. log-source scoping) can be switched off here and
/// the baseline keeps meaning "the engine's own semantics".
const BASE_ARGS: &[&str] = &["-q", "--format", "json", "--no-scope"];

/// (name, export under events/, extra arguments)
fn combos(shared: &Path) -> Vec<(String, PathBuf, Vec<String>)> {
    let ts = shared.join("timesketch/sigma_config.yaml");
    let win = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("configs/windows-logsources.yml");
    let cfgs: [(&str, Option<&Path>); 3] = [("none", None), ("ts", Some(&ts)), ("win", Some(&win))];
    let mut out = Vec::new();
    for (ev, file) in [
        ("plaso", "events/plaso-attack.jsonl"),
        ("evtx", "events/evtx-samples.jsonl"),
        ("flat", "events/evtx-samples.flat.jsonl"),
        ("tsfixture", "timesketch/sigma_events.jsonl"),
    ] {
        for (cname, cfg) in &cfgs {
            let mut args = Vec::new();
            if let Some(c) = cfg {
                args.push("-c".to_string());
                args.push(c.display().to_string());
            }
            out.push((format!("{ev}/{cname}"), shared.join(file), args));
        }
    }
    out
}

fn shared() -> PathBuf {
    let p = PathBuf::from(std::env::var_os("SIGMA_MATCH_SHARED").expect("SIGMA_MATCH_SHARED"));
    assert!(
        p.join("sigmahq/rules").is_dir() && p.join("events/plaso-attack.jsonl").is_file(),
        "SIGMA_MATCH_SHARED={} is set but the shared data is missing",
        p.display()
    );
    p
}

fn run(args: &[String]) -> Vec<u8> {
    let o = Command::new(env!("CARGO_BIN_EXE_sigma-match"))
        .args(BASE_ARGS)
        .args(args)
        .output()
        .expect("run sigma-match");
    assert!(
        o.status.code().is_some_and(|c| c == 0 || c == 1),
        "sigma-match {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// FNV-1a, 64 bit: a stable hash with no dependency.
fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf29ce484222325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

fn current(shared: &Path) -> String {
    let rules = shared.join("sigmahq/rules");
    let root = shared.join("sigmahq").display().to_string();
    let mut out = String::new();
    for (name, events, extra) in combos(shared) {
        let mut args = extra.clone();
        args.push(rules.display().to_string());
        args.push(events.display().to_string());
        let json: serde_json::Value =
            serde_json::from_slice(&run(&args)).expect("JSON report");
        let mut rows = BTreeMap::new();
        for r in json["rules"].as_array().expect("rules array") {
            let count = r["count"].as_u64().unwrap_or(0);
            if count == 0 {
                continue;
            }
            let path = r["path"].as_str().unwrap_or("").replacen(&root, "", 1);
            rows.insert(path, (count, r["records"].as_u64().unwrap_or(0)));
        }
        for (path, (c, rec)) in rows {
            writeln!(out, "{name}\t{path}\t{c}\t{rec}").unwrap();
        }
    }
    // --tag-out bytes of the Plaso export under Timesketch's configuration.
    let dir = tempfile::tempdir().expect("tempdir");
    let tagged = dir.path().join("tagged.jsonl");
    run(&[
        "-c".into(),
        shared.join("timesketch/sigma_config.yaml").display().to_string(),
        "--tag-out".into(),
        tagged.display().to_string(),
        rules.display().to_string(),
        shared.join("events/plaso-attack.jsonl").display().to_string(),
    ]);
    let bytes = std::fs::read(&tagged).expect("tag-out written");
    writeln!(out, "tag-out/plaso/ts\tfnv1a64\t{:016x}\t{}", fnv(&bytes), bytes.len()).unwrap();
    out
}

#[test]
#[cfg_attr(
    not(shared_corpus),
    ignore = "set SIGMA_MATCH_SHARED to the shared corpus to run (as .ci/run does)"
)]
fn per_rule_counts_match_the_recorded_baseline() {
    let shared = shared();
    let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/counts.tsv");
    let now = current(&shared);
    if std::env::var_os("SIGMA_MATCH_BLESS").is_some() {
        std::fs::write(&golden, &now).expect("write baseline");
        return;
    }
    let was = std::fs::read_to_string(&golden).expect("tests/golden/counts.tsv");
    if was != now {
        let a: std::collections::BTreeSet<&str> = was.lines().collect();
        let b: std::collections::BTreeSet<&str> = now.lines().collect();
        let mut msg = String::from("per-rule counts differ from tests/golden/counts.tsv\n");
        for l in a.difference(&b).take(40) {
            writeln!(msg, "- {l}").unwrap();
        }
        for l in b.difference(&a).take(40) {
            writeln!(msg, "+ {l}").unwrap();
        }
        panic!("{msg}(re-record with SIGMA_MATCH_BLESS=1 only for a change made on purpose)");
    }
}
