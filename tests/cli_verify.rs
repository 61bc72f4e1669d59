//! CLI tests of `sigma-match verify`: every kind of finding, the summary,
//! JSON output, exit statuses, and `--move` (never overwrites, never loses).

use std::path::{Path, PathBuf};
mod common;

use common::*;

const RULES: &str = "testdata/verify/rules";

#[test]
fn every_kind_of_problem_is_reported_with_its_position() {
    let o = run(&["verify", RULES]);
    assert_eq!(o.status.code(), Some(1), "errors exit 1");
    let out = stdout(&o);
    for expected in [
        "broken/bad_cidr.yml: error: invalid CIDR network `10.0.0.0/33` (9:9)",
        "broken/bad_condition.yml: error: condition: expression ends too early (10:16)",
        "broken/bad_metadata.yml: error: id `not-a-uuid` is not a UUID (8-4-4-4-12 hexadecimal digits) (2:5)",
        "broken/bad_metadata.yml: error: status `final` is not one of stable, test, experimental, deprecated, unsupported (3:9)",
        "broken/bad_metadata.yml: error: level `severe` is not one of informational, low, medium, high, critical (4:8)",
        "broken/bad_metadata.yml: error: date `2023-02-30` is not a date YYYY-MM-DD (5:7)",
        "broken/bad_number.yml: error: invalid value: `gt` needs a number",
        "broken/bad_regex.yml: error: invalid regular expression `(unclosed`",
        "broken/bad_time.yml: error: invalid value: `hour` value 25 is outside 0..=23 (9:9)",
        "broken/empty_pattern.yml: error: condition pattern `filter*` matches no search identifier (10:16)",
        "broken/missing_detection.yml: error: missing required key `detection` (1:1)",
        "broken/modifier_combination.yml: error: modifiers: `re` must be the first value modifier (9:9)",
        "broken/no_logsource.yml: error: missing required key `logsource` (spec: required) (1:1)",
        "broken/placeholder.yml: error: does not compile: placeholder `%admins%` is not defined",
        "broken/unknown_identifier.yml: error: condition references unknown search identifier `filter` (10:16)",
        "broken/unknown_modifier.yml: error: unknown modifier `endswoth` (9:9)",
        "broken/yaml_syntax.yml: error: YAML syntax error:",
        "good/zz_duplicate_id.yml: error: id `0f06a3a4-6d3c-4a1d-9a45-2b0bcd5c1a01` is also used by",
        "warn/aggregation.yml: warning: unsupported: `near` without `timeframe`",
        "warn/all_single_value.yml: warning: `CommandLine|contains|all` with a single value",
        "warn/tags_and_date.yml: warning: date `2020/06/26` uses the legacy YYYY/MM/DD form",
        "warn/tags_and_date.yml: warning: tag `Attack.Execution` is not lower-case",
        "warn/tags_and_date.yml: warning: tag `execution` has no namespace",
        "warn/unused_search.yml: warning: search identifier `filter` is not used by the condition (10:5)",
    ] {
        assert!(
            out.contains(&format!("{RULES}/{expected}")),
            "missing `{expected}` in:\n{out}"
        );
    }
    assert!(!out.contains("good/correlation.yml"), "a valid correlation rule:\n{out}");
    assert!(
        !out.contains("rules/deprecated/"),
        "deprecated folders are skipped:\n{out}"
    );
    assert!(
        !out.contains("good/good.yml:"),
        "the clean rule has no finding:\n{out}"
    );
    assert!(
        out.contains("verified 21 rules in 21 files: 2 ok, 4 with warnings, 15 with errors"),
        "{out}"
    );
    assert!(
        out.contains("findings by reason:\n  error    missing-key            2\n"),
        "{out}"
    );
}

#[test]
fn exit_status_gates_ci() {
    assert_eq!(
        run(&["verify", &format!("{RULES}/good/good.yml")])
            .status
            .code(),
        Some(0)
    );
    let warn = format!("{RULES}/warn");
    assert_eq!(
        run(&["verify", &warn]).status.code(),
        Some(0),
        "warnings alone pass"
    );
    assert_eq!(
        run(&["verify", "--deny-warnings", &warn]).status.code(),
        Some(1)
    );
    let q = run(&["verify", "-q", &warn]);
    assert!(
        stdout(&q)
            .starts_with("verified 4 rules in 4 files: 0 ok, 4 with warnings, 0 with errors\n"),
        "{}",
        stdout(&q)
    );
    assert_eq!(run(&["verify"]).status.code(), Some(2), "usage error");
    let missing = run(&["verify", "testdata/verify/no-such-dir"]);
    assert_eq!(
        missing.status.code(),
        Some(2),
        "a missing rule path is an I/O error, not a finding"
    );
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("no-such-dir: no such file or directory")
    );
}

#[test]
fn json_output() {
    let o = run(&["verify", "--format", "json", RULES]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    assert_eq!(
        (
            v["rules"].as_u64(),
            v["ok"].as_u64(),
            v["warnings"].as_u64(),
            v["errors"].as_u64()
        ),
        (Some(21), Some(2), Some(4), Some(15))
    );
    // A valid correlation rule (issue 12) has no finding.
    assert!(
        !v["findings"].as_array().unwrap().iter().any(|f| f["path"].as_str().unwrap_or("").ends_with("good/correlation.yml")),
        "{v}"
    );
    let cidr = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["category"] == "cidr")
        .unwrap();
    assert_eq!(
        (
            cidr["line"].as_u64(),
            cidr["col"].as_u64(),
            cidr["severity"].as_str()
        ),
        (Some(9), Some(9), Some("error"))
    );
    assert_eq!(cidr["title"], "bad_cidr");
    let reasons = v["by_reason"].as_array().unwrap();
    assert_eq!(reasons[0]["category"], "missing-key");
    assert_eq!(reasons[0]["count"], 2);
    assert!(v.get("moved").is_none());
}

/// Every file under `dir` with its content, relative paths.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

fn copy_tree(from: &Path, to: &Path) {
    for (rel, data) in tree(from) {
        std::fs::create_dir_all(to.join(&rel).parent().unwrap()).unwrap();
        std::fs::write(to.join(rel), data).unwrap();
    }
}

#[test]
fn move_never_overwrites_and_never_loses_a_file() {
    let base = std::env::temp_dir().join(format!("sm-cli-move-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let (rules, quarantine) = (base.join("rules"), base.join("quarantine"));
    copy_tree(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(RULES).as_path(),
        &rules,
    );
    // A file already waiting at one destination must survive untouched.
    std::fs::create_dir_all(quarantine.join("broken")).unwrap();
    std::fs::write(
        quarantine.join("broken/bad_cidr.yml"),
        "older quarantined copy",
    )
    .unwrap();
    let before: Vec<Vec<u8>> = {
        let mut all: Vec<Vec<u8>> = tree(&rules).into_iter().map(|(_, d)| d).collect();
        all.push(b"older quarantined copy".to_vec());
        all.sort();
        all
    };

    let move_run = || {
        run(&[
            "verify",
            "-q",
            "--move",
            quarantine.to_str().unwrap(),
            rules.to_str().unwrap(),
        ])
    };
    let o = move_run();
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "moved {} -> {}",
            rules.join("broken/bad_regex.yml").display(),
            quarantine.join("broken/bad_regex.yml").display()
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "not moved {}: destination",
            rules.join("broken/bad_cidr.yml").display()
        )),
        "{out}"
    );

    // Nothing lost, nothing overwritten: the same contents exist, split between the two trees.
    let mut after: Vec<Vec<u8>> = tree(&rules)
        .into_iter()
        .chain(tree(&quarantine))
        .filter(|(p, _)| p != Path::new("debug.log"))
        .map(|(_, d)| d)
        .collect();
    after.sort();
    assert_eq!(before, after);
    assert_eq!(
        std::fs::read_to_string(quarantine.join("broken/bad_cidr.yml")).unwrap(),
        "older quarantined copy"
    );
    assert!(rules.join("broken/bad_cidr.yml").exists());
    // 14 erroring files moved (one blocked), warnings-only files stay.
    assert_eq!(
        tree(&quarantine).len(),
        14 + 1 + 1,
        "{:?}",
        tree(&quarantine)
            .iter()
            .map(|t| t.0.clone())
            .collect::<Vec<_>>()
    );
    assert!(rules.join("warn/aggregation.yml").exists() && rules.join("good/good.yml").exists());
    assert!(!rules.join("good/zz_duplicate_id.yml").exists());
    let log = std::fs::read_to_string(quarantine.join("debug.log")).unwrap();
    assert!(
        log.contains("broken/bad_regex.yml: regex: invalid regular expression"),
        "{log}"
    );
    assert!(
        !log.contains("bad_cidr"),
        "only moved files are logged: {log}"
    );

    // A second run appends to the log and moves what is left.
    let o = move_run();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        std::fs::read_to_string(quarantine.join("debug.log"))
            .unwrap()
            .starts_with(&log)
    );
    std::fs::remove_dir_all(&base).unwrap();
}
