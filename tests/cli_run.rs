//! CLI tests of the default command over the bundled testdata: counts,
//! reports of bad rules and bad lines, output formats, exit codes, stdin.

use std::io::Write;
use std::process::Stdio;

mod common;

use common::{bin, run_status as run};

fn json(args: &[&str]) -> serde_json::Value {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    let (code, out, err) = run(&a);
    assert!(code == 0 || code == 1, "exit {code}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn count(doc: &serde_json::Value, title: &str) -> Vec<u64> {
    doc["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["title"] == title)
        .map(|r| r["count"].as_u64().unwrap())
        .collect()
}

#[test]
fn timesketch_fixture_counts() {
    // The fixture has 5 events. ZMap: the keyword `*apt-get install zmap*`
    // is in the apt history event's message -> 1. The PowerShell rule needs
    // `CommandLine`, which no fixture event has -> 0. "General suspicious
    // keywords" uses plain values on `message`, which the spec defines as
    // exact (whole-value) matches; no message equals one -> 0.
    let d = json(&[
        "testdata/timesketch/rules",
        "testdata/timesketch/sigma_events.jsonl",
    ]);
    assert_eq!(count(&d, "Suspicious Installation of ZMap"), vec![1]);
    assert_eq!(count(&d, "General Powershell line suspiciousness"), vec![0]);
    assert_eq!(count(&d, "General suspicious keywords"), vec![0]);
    assert_eq!(d["summary"]["events"], 5);
    assert_eq!(d["summary"]["total_tags"], 1);
    assert_eq!(d["summary"]["rules_loaded"], 3);
}

#[test]
fn own_rules_counts_errors_and_malformed_lines() {
    let d = json(&[
        "testdata/rules",
        "testdata/events/process.jsonl",
        "--placeholders",
        "testdata/placeholders.yml",
    ]);
    assert_eq!(count(&d, "Whoami Execution"), vec![1]);
    // `/EncodedCommand` matches ` -enc` through windash; the admin's event
    // is filtered by the `%Administrators%` placeholder.
    assert_eq!(count(&d, "Encoded PowerShell Command Line"), vec![1]);
    // The collection yields two rules (global + repeat), one hit each.
    assert_eq!(count(&d, "Suspicious Net Use"), vec![1, 1]);
    let s = &d["summary"];
    assert_eq!(s["rules_loaded"], 4);
    assert_eq!(s["rules_failed"], 2);
    assert_eq!(s["rules_unsupported"], 1);
    assert_eq!(s["events"], 5);
    assert_eq!(s["malformed_lines"], 2);
    assert_eq!(s["blank_lines"], 1);
    let malformed: Vec<u64> = d["malformed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["line"].as_u64().unwrap())
        .collect();
    assert_eq!(malformed, vec![5, 7]);
    let reasons: Vec<String> = d["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["reason"].as_str().map(str::to_string))
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("bad_condition.yml:8:") && r.contains("`filter`")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("bad_yaml.yml:") && r.contains("YAML")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("aggregation")),
        "{reasons:?}"
    );
    // The `deprecated` folder is skipped.
    assert!(count(&d, "Deprecated Rule That Must Be Skipped").is_empty());
}

#[test]
fn undefined_placeholder_fails_only_that_rule() {
    let d = json(&["testdata/rules", "testdata/events/process.jsonl"]);
    assert_eq!(d["summary"]["rules_loaded"], 3);
    assert_eq!(count(&d, "Whoami Execution"), vec![1]);
    let row = d["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["title"] == "Encoded PowerShell Command Line")
        .unwrap();
    assert_eq!(row["state"], "error");
    assert!(row["reason"].as_str().unwrap().contains("%Administrators%"));
}

#[test]
fn table_output_and_exit_codes() {
    let (code, out, _) = run(&[
        "testdata/rules",
        "testdata/events/process.jsonl",
        "--placeholders",
        "testdata/placeholders.yml",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("Whoami Execution"));
    assert!(
        out.contains("testdata/events/process.jsonl:5: invalid JSON"),
        "{out}"
    );
    assert!(
        out.contains("rules: 4 loaded, 2 failed, 1 unsupported"),
        "{out}"
    );
    let (code, _, _) = run(&[
        "--strict",
        "testdata/rules",
        "testdata/events/process.jsonl",
        "--placeholders",
        "testdata/placeholders.yml",
    ]);
    assert_eq!(code, 1);
    let (code, _, _) = run(&[
        "--strict",
        "testdata/timesketch/rules",
        "testdata/timesketch/sigma_events.jsonl",
    ]);
    assert_eq!(code, 0);
    let (code, _, err) = run(&["testdata/rules", "no/such/file.jsonl"]);
    assert_eq!(code, 2);
    assert!(err.contains("no/such/file.jsonl"), "{err}");
    let (code, _, err) = run(&["testdata/rules"]);
    assert_eq!(code, 2);
    assert!(err.contains("no event files"), "{err}");
    let (code, _, _) = run(&["--no-such-flag"]);
    assert_eq!(code, 2);
}

#[test]
fn filters_by_status_and_level() {
    let d = json(&[
        "testdata/rules",
        "testdata/events/process.jsonl",
        "--status",
        "stable",
    ]);
    assert_eq!(d["summary"]["rules_loaded"], 1);
    let d = json(&[
        "testdata/rules",
        "testdata/events/process.jsonl",
        "--level",
        "medium,low",
    ]);
    assert_eq!(d["summary"]["rules_loaded"], 3);
}

#[test]
fn several_rule_paths_and_events() {
    let d = json(&[
        "-r",
        "testdata/rules/proc_whoami.yml",
        "-r",
        "testdata/timesketch/rules",
        "testdata/events/process.jsonl",
        "testdata/timesketch/sigma_events.jsonl",
    ]);
    assert_eq!(d["summary"]["rules_loaded"], 4);
    assert_eq!(d["summary"]["events"], 10);
    let d = json(&[
        "testdata/rules/proc_whoami.yml",
        "testdata/timesketch/rules",
        "-e",
        "testdata/events/process.jsonl",
    ]);
    assert_eq!(d["summary"]["rules_loaded"], 4);
    assert_eq!(d["summary"]["events"], 5);
}

#[test]
fn reads_standard_input() {
    let mut child = bin()
        .args(["testdata/rules/proc_whoami.yml", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let data = std::fs::read("testdata/events/process.jsonl").unwrap();
    child.stdin.take().unwrap().write_all(&data).unwrap();
    let out = child.wait_with_output().unwrap();
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["summary"]["events"], 5);
    assert_eq!(count(&d, "Whoami Execution"), vec![1]);
    assert_eq!(d["malformed"][0]["input"], "-");
}

#[test]
fn bundled_windows_logsource_config_restricts_rules_to_their_channels() {
    // testdata/plaso holds 19 real Plaso events (see its NOTICE): 3 are
    // Sysmon EID 1 process creations (2 records), 5 are Security channel
    // events, 17 carry an Execution ProcessID. Without logsource conditions
    // both rules over-match other Sysmon events and other channels; with
    // the bundled config, or with logsource scoping (the default), they
    // keep to their logsource.
    let args = [
        "testdata/windows-logsources",
        "testdata/plaso/plaso-sample.jsonl",
        "--no-scope",
    ];
    let plain = json(&args);
    assert_eq!(
        count(&plain, "Any Process Creation With An Image Path"),
        vec![7]
    );
    assert_eq!(count(&plain, "Any Security Channel Event"), vec![17]);
    let mut with = args.to_vec();
    with.extend(["-c", "configs/windows-logsources.yml"]);
    let mapped = json(&with);
    assert_eq!(
        count(&mapped, "Any Process Creation With An Image Path"),
        vec![3]
    );
    assert_eq!(count(&mapped, "Any Security Channel Event"), vec![5]);
    let scoped = json(&args[..2]);
    assert_eq!(
        count(&scoped, "Any Process Creation With An Image Path"),
        vec![3]
    );
    assert_eq!(count(&scoped, "Any Security Channel Event"), vec![5]);
}

/// `sigma-match ... | head`: a reader that goes away early ends the run
/// quietly (exit 0), never with a panic (`println!` would panic on EPIPE).
#[test]
fn closed_stdout_is_not_a_panic() {
    let mut child = bin()
        .args([
            "testdata/timesketch/rules",
            "testdata/timesketch/sigma_events.jsonl",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("waits");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}
