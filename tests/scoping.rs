//! Logsource scoping (on by default): rules run only on events their
//! logsource can apply to, and scoping loses no true positive.
//!
//! The corpus checks run when `SIGMA_MATCH_SHARED` is set (see `build.rs`)
//! and show as ignored otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sigma-match"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn json(args: &[&str]) -> serde_json::Value {
    let o = bin()
        .args(["-q", "--format", "json"])
        .args(args)
        .output()
        .expect("runs");
    let code = o.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "exit {code}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("JSON report")
}

/// path -> count, for rules with hits.
fn hits(doc: &serde_json::Value) -> std::collections::BTreeMap<String, u64> {
    doc["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["count"].as_u64().unwrap_or(0) > 0)
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// A rule whose condition is only `not ...` on a field Windows records lack
/// (the shape of SigmaHQ's "Publicly Accessible RDP Service" Zeek rule)
/// tags every event without scoping, none with it; the Windows rule keeps
/// its hit either way.
#[test]
fn a_zeek_rule_does_not_run_on_windows_records() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("zeek.yml"),
        "title: Zeek not-rule\nlogsource: {product: zeek, service: rdp}\ndetection:\n  selection:\n    id.orig_h|cidr: 10.0.0.0/8\n  condition: not selection\n",
    )
    .unwrap();
    std::fs::copy("testdata/rules/proc_whoami.yml", dir.path().join("whoami.yml")).unwrap();
    let rules = dir.path().display().to_string();
    let plain = hits(&json(&["--no-scope", &rules, "testdata/plaso/plaso-sample.jsonl"]));
    let scoped_doc = json(&[&rules, "testdata/plaso/plaso-sample.jsonl"]);
    let scoped = hits(&scoped_doc);
    let zeek = dir.path().join("zeek.yml").display().to_string();
    assert_eq!(plain.get(&zeek), Some(&19), "{plain:?}");
    assert_eq!(scoped.get(&zeek), None, "{scoped:?}");
    let who: Vec<_> = plain.keys().filter(|k| k.ends_with("whoami.yml")).collect();
    for w in who {
        assert_eq!(plain.get(w), scoped.get(w));
    }
    let sc = &scoped_doc["scoping"];
    assert_eq!(sc["unrecognised_events"], 0);
    assert_eq!(sc["rules_scoped"], 2, "{sc}");
}

/// A table given with --logsources is used, and its errors have positions.
#[test]
fn a_custom_table_is_used_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t.yml");
    // A table that recognises nothing of the sample: every rule runs.
    std::fs::write(
        &table,
        "sources:\n  - logsource: {product: zeek}\n    when: {uid|exists: true}\n",
    )
    .unwrap();
    let t = table.display().to_string();
    let d = json(&["--logsources", &t, "testdata/windows-logsources", "testdata/plaso/plaso-sample.jsonl"]);
    assert_eq!(d["scoping"]["unrecognised_events"], 19);
    assert_eq!(d["scoping"]["rules_unscoped"], 2);
    std::fs::write(&table, "sources:\n  - logsource: {product: zeek}\n    when: {uid|bogus: true}\n").unwrap();
    let o = bin()
        .args(["--logsources", &t, "testdata/windows-logsources", "testdata/plaso/plaso-sample.jsonl"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("t.yml:3:12") && err.contains("unknown modifier `bogus`"), "{err}");
}

fn shared() -> PathBuf {
    PathBuf::from(std::env::var_os("SIGMA_MATCH_SHARED").expect("SIGMA_MATCH_SHARED"))
}

/// Scoping keeps every hit that Channel/EventID-correct matching finds:
/// for each SigmaHQ Windows rule, the scoped count (no mapping) is at least
/// its count under `configs/windows-logsources.yml` without scoping, which
/// restricts each rule to its channel and event IDs as native EVTX tools do.
/// No rule outside `rules/windows/` tags anything in the Windows exports.
fn keeps_windows_hits(export: &str) {
    let s = shared();
    let rules = s.join("sigmahq/rules").display().to_string();
    let events = s.join(export).display().to_string();
    let win = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/windows-logsources.yml");
    let reference = hits(&json(&[
        "--no-scope",
        "-c",
        &win.display().to_string(),
        &rules,
        &events,
    ]));
    let scoped = hits(&json(&[&rules, &events]));
    let mut lost = Vec::new();
    for (path, n) in &reference {
        if !path.contains("/rules/windows/") {
            continue;
        }
        let got = scoped.get(path).copied().unwrap_or(0);
        if got < *n {
            lost.push(format!("{path}: {n} -> {got}"));
        }
    }
    assert!(lost.is_empty(), "scoping lost hits:\n{}", lost.join("\n"));
    let foreign: Vec<_> = scoped.keys().filter(|p| !p.contains("/rules/windows/")).collect();
    assert!(foreign.is_empty(), "non-Windows rules tag Windows records: {foreign:?}");
}

#[test]
#[cfg_attr(not(shared_corpus), ignore = "set SIGMA_MATCH_SHARED to the shared corpus to run (as .ci/run does)")]
fn scoping_keeps_windows_hits_on_the_plaso_export() {
    keeps_windows_hits("events/plaso-attack.jsonl");
}

#[test]
#[cfg_attr(not(shared_corpus), ignore = "set SIGMA_MATCH_SHARED to the shared corpus to run (as .ci/run does)")]
fn scoping_keeps_windows_hits_on_the_evtx_dump_export() {
    keeps_windows_hits("events/evtx-samples.jsonl");
}

/// The Timesketch fixture still gives ZMap 1 (its apt history event is
/// `product: linux, service: shell` as Timesketch's config says).
#[test]
#[cfg_attr(not(shared_corpus), ignore = "set SIGMA_MATCH_SHARED to the shared corpus to run (as .ci/run does)")]
fn timesketch_fixture_still_gives_zmap_one() {
    let s = shared();
    let d = json(&[
        &s.join("timesketch/rules").display().to_string(),
        &s.join("timesketch/sigma_events.jsonl").display().to_string(),
    ]);
    let zmap: Vec<u64> = d["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["title"] == "Suspicious Installation of ZMap")
        .map(|r| r["count"].as_u64().unwrap())
        .collect();
    assert_eq!(zmap, vec![1]);
}
