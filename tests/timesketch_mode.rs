//! `--timesketch`: the spec reading next to Timesketch's (its query on an
//! emulated OpenSearch), through the command line. The fixture is
//! Timesketch's own (`testdata/timesketch`: its sample rules, configuration
//! and `sigma_events.jsonl`); over the shared corpus (`SIGMA_MATCH_SHARED`)
//! the SigmaHQ rules run on the Plaso export and the report must be complete.

use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_sigma-match");

fn testdata(p: &str) -> String {
    format!("{}/testdata/{p}", env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).arg("-q").output().unwrap()
}

fn json_report(args: &[&str]) -> Value {
    let out = run(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn rule<'a>(report: &'a Value, title: &str) -> &'a Value {
    report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["title"] == title)
        .unwrap_or_else(|| panic!("no rule {title}"))
}

#[test]
fn zmap_keyword_matches_through_the_keyword_subfield() {
    // `*apt-get install zmap*` becomes an unfielded wildcard with escaped
    // spaces: no single term of a text field can match it, the whole value
    // of `command.keyword` ("Commandline: apt-get install zmap") does.
    let r = json_report(&[
        "--timesketch",
        "--all-statuses",
        "--format",
        "json",
        "-c",
        &testdata("timesketch/sigma_config.yaml"),
        &testdata("timesketch/rules"),
        &testdata("timesketch/sigma_events.jsonl"),
    ]);
    let z = rule(&r, "Suspicious Installation of ZMap");
    assert_eq!(z["timesketch_count"], 1, "{z}");
    assert_eq!(z["spec_count"], 1, "{z}");
    assert!(z["es_query"].as_str().unwrap().contains("zmap"));
    assert_eq!(r["summary"]["events"], 5);
}

#[test]
fn only_stable_rules_run_by_default() {
    let r = json_report(&[
        "--timesketch",
        "--format",
        "json",
        "-c",
        &testdata("timesketch/sigma_config.yaml"),
        &testdata("timesketch/rules"),
        &testdata("timesketch/sigma_events.jsonl"),
    ]);
    let z = rule(&r, "Suspicious Installation of ZMap");
    // The ZMap rule has no status: the analyzer skips it.
    assert_eq!(z["timesketch_count"], 0, "{z}");
    assert_eq!(z["reasons"][0], "rule not stable", "{z}");
    assert_eq!(z["examples"]["spec_only"][0]["line"], 4, "{z}");
}

#[test]
fn diff_lists_events_tagged_by_one_reading_only() {
    let dir = tempfile::tempdir().unwrap();
    let diff = dir.path().join("diff.jsonl");
    let tags = dir.path().join("tagged.jsonl");
    let out = run(&[
        "--timesketch",
        "-c",
        &testdata("timesketch/sigma_config.yaml"),
        "--diff",
        diff.to_str().unwrap(),
        "--tag-out",
        tags.to_str().unwrap(),
        &testdata("timesketch/rules"),
        &testdata("timesketch/sigma_events.jsonl"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("timesketch"), "{table}");
    let lines: Vec<Value> = std::fs::read_to_string(&diff)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["rule"] == "Suspicious Installation of ZMap"
                && l["tagged_by"] == "spec"
                && l["line"] == 4),
        "{lines:?}"
    );
    // Timesketch's tags: stable rules only, so the ZMap event is untagged.
    let tagged = std::fs::read_to_string(&tags).unwrap();
    assert_eq!(tagged.lines().count(), 5);
    assert!(!tagged.contains("ts_sigma_rule") || !tagged.lines().nth(3).unwrap().contains("ZMap"));
}

#[test]
fn timesketch_mode_needs_one_config() {
    let out = run(&[
        "--timesketch",
        &testdata("timesketch/rules"),
        &testdata("timesketch/sigma_events.jsonl"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("-c"));
}

#[test]
// Ignored in every configuration (it takes minutes): run it with
// `cargo test --release --test timesketch_mode -- --ignored`.
#[cfg_attr(
    any(not(shared_corpus), shared_corpus),
    ignore = "slow (about 200 s CPU) and needs SIGMA_MATCH_SHARED; run with --ignored"
)]
fn sigmahq_on_the_plaso_export() {
    let shared = std::env::var("SIGMA_MATCH_SHARED").unwrap();
    let r = json_report(&[
        "--timesketch",
        "--all-statuses",
        "--format",
        "json",
        "-c",
        &format!("{shared}/timesketch/sigma_config.yaml"),
        &format!("{shared}/sigmahq/rules"),
        &format!("{shared}/events/plaso-attack.jsonl"),
    ]);
    let s = &r["summary"];
    assert_eq!(s["events"], 16926);
    // Both readings fire on a good part of the rules and disagree on many.
    assert!(s["firing_either"].as_u64().unwrap() > 100, "{s}");
    assert!(s["timesketch_only"].as_u64().unwrap() > 10, "{s}");
    // The deliberate space of the UAC bypass rule is lost in tokens.
    let t = rule(&r, "TrustedPath UAC Bypass Pattern");
    assert!(
        t["timesketch_count"].as_u64().unwrap() > t["spec_count"].as_u64().unwrap(),
        "{t}"
    );
}
