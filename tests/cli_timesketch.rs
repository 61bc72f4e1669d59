//! CLI tests of the Timesketch-mode conversion: `verify --timesketch` (the
//! rules Timesketch cannot import, with the exception and its log line,
//! `--move`) and `explain --query timesketch` (the stored query, byte for
//! byte). Expected errors are those of sigmatools 0.19.1 itself, produced
//! with `tests/tools/timesketch_reference.py` over `testdata/verify/rules`.

use std::path::Path;
mod common;

use common::*;

const CONFIG: &str = "testdata/timesketch/sigma_config.yaml";

#[test]
fn verify_timesketch_lists_what_timesketch_rejects_with_its_reasons() {
    let o = run(&["verify", "--timesketch", "-c", CONFIG, "testdata/verify/rules"]);
    assert_eq!(o.status.code(), Some(1), "rejected rules exit 1");
    let out = stdout(&o);
    for expected in [
        "broken/bad_cidr.yml: error: Timesketch cannot import it: KeyError: 'cidr' (logged: KeyError: 'cidr')",
        "broken/bad_condition.yml: error: Timesketch cannot import it: IndexError: list index out of range",
        "broken/bad_metadata.yml: error: Timesketch cannot import it: ValueError: day is out of range for month",
        "broken/bad_number.yml: error: Timesketch cannot import it: KeyError: 'gt'",
        "broken/bad_regex.yml: error: Timesketch cannot import it: ValueError: Missing value: 'description' from the YAML data. (logged: Missing value: 'description' from the YAML data.)",
        "broken/missing_detection.yml: error: Timesketch cannot import it: SigmaParseError: No detection definitions found (logged: Sigma parsing error rule No detection definitions found)",
        "broken/placeholder.yml: error: Timesketch cannot import it: KeyError: 'expand'",
        "broken/unknown_identifier.yml: error: Timesketch cannot import it: SigmaParseError: Unknown definition 'filter'",
        "broken/unknown_modifier.yml: error: Timesketch cannot import it: KeyError: 'endswoth'",
        "broken/yaml_syntax.yml: error: Timesketch cannot import it: YAMLError:",
        "warn/aggregation.yml: error: Timesketch cannot import it: NotImplementedError: Aggregations not implemented for this backend (logged: Error generating rule Aggregations not implemented for this backend)",
        "warn/all_single_value.yml: error: Timesketch cannot import it: SigmaModifierValueTypeError: ",
        "good/correlation.yml: error: Timesketch cannot import it: SigmaParseError: No detection definitions found",
        "timesketch: 0 rules converted",
    ] {
        assert!(out.contains(expected), "missing `{expected}` in:\n{out}");
    }
    assert!(out.contains("timesketch: modifier unknown to sigmac 0.19.1"), "{out}");
}

#[test]
fn verify_timesketch_passes_the_sample_rules_and_counts_stable_ones() {
    let o = run(&["verify", "--timesketch", "-c", CONFIG, "testdata/timesketch/rules"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("timesketch: 3 rules converted; 2 run by the Sigma analyzer (stable), 1 skipped (status not stable)"),
        "{out}"
    );
    let o = run(&["verify", "--timesketch", "--all-statuses", "-c", CONFIG, "testdata/timesketch/rules"]);
    assert!(stdout(&o).contains("3 run by the Sigma analyzer (--all-statuses"), "{}", stdout(&o));
}

#[test]
fn verify_timesketch_json_carries_the_counts() {
    let o = run(&["verify", "--timesketch", "--format", "json", "-c", CONFIG, "testdata/timesketch/rules"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["timesketch"]["converted"], 3);
    assert_eq!(v["timesketch"]["analyzed"], 2);
    assert_eq!(v["timesketch"]["not_analyzed"], 1);
}

#[test]
fn timesketch_mode_needs_exactly_one_config() {
    let o = run(&["verify", "--timesketch", "testdata/timesketch/rules"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("exactly one -c file"));
}

#[test]
fn verify_timesketch_moves_rejected_rules_aside() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for f in ["testdata/verify/rules/broken/bad_cidr.yml", "testdata/timesketch/rules/lnx_susp_zmap.yml"] {
        let p = root.join(f);
        std::fs::copy(&p, rules.join(p.file_name().unwrap())).unwrap();
    }
    let aside = tmp.path().join("aside");
    let o = run(&[
        "verify",
        "--timesketch",
        "-c",
        CONFIG,
        "--move",
        aside.to_str().unwrap(),
        rules.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(aside.join("bad_cidr.yml").is_file());
    assert!(!rules.join("bad_cidr.yml").exists());
    assert!(rules.join("lnx_susp_zmap.yml").is_file());
    let log = std::fs::read_to_string(aside.join("debug.log")).unwrap();
    assert!(log.contains("KeyError: 'cidr'"), "{log}");
}

#[test]
fn explain_query_timesketch_prints_the_stored_query() {
    let o = run(&[
        "explain",
        "--query",
        "timesketch",
        "-c",
        CONFIG,
        "testdata/timesketch/rules/lnx_susp_zmap.yml",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    let line = out.lines().find(|l| l.starts_with("timesketch: ")).expect(&out);
    assert_eq!(
        line,
        r#"timesketch: (data_type:("shell:zsh:history" OR "bash:history:command" OR "apt:history:line" OR "selinux:line") AND "apt-get install zmap")"#
    );
    assert!(out.contains("note: status is not set"), "{out}");
    // A rule Timesketch rejects (sigma-match loads it).
    let o = run(&["explain", "--query", "timesketch", "-c", CONFIG, "testdata/verify/rules/warn/aggregation.yml"]);
    assert!(
        stdout(&o).contains("timesketch: not imported: NotImplementedError: Aggregations not implemented for this backend"),
        "{}",
        stdout(&o)
    );
}
