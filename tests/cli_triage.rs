//! The triage outputs of issue 11: the hit timeline, the summary table,
//! and the filters (`--min-level`, `--exclude-rules`, `--from`/`--to`),
//! over the bundled real Plaso sample (testdata/plaso, see its NOTICE).

mod common;

use common::run_status as run;

const RULES: &str = "testdata/sigmahq/rules";
const PLASO: &str = "testdata/plaso/plaso-sample.jsonl";

#[test]
fn timeline_csv_is_time_ordered_with_one_row_per_record() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("hits.csv");
    let (code, _, err) = run(&["-q", RULES, PLASO, "--timeline", csv.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("time,host,level,rule,tactics,techniques,details,file,line,copies,rule_id,rule_file")
    );
    let rows: Vec<&str> = lines.collect();
    // 8 events tagged = 6 records (two rules hit both Plaso copies).
    assert_eq!(rows.len(), 6, "{text}");
    let times: Vec<&str> = rows.iter().map(|r| r.split(',').next().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "rows are in time order");
    assert!(times.iter().all(|t| t.len() == 27 && t.ends_with('Z')), "{times:?}");
    let wmi = rows
        .iter()
        .find(|r| r.contains("WmiPrvSE Spawned A Process"))
        .unwrap();
    assert!(wmi.starts_with("2019-04-30T20:32:51.168589Z,IEWIN7,medium,"), "{wmi}");
    assert!(wmi.contains(",execution,T1047,"), "{wmi}");
    assert!(wmi.contains("Image: C:\\Windows\\System32\\cmd.exe ¦ CommandLine: cmd.exe /Q /c"), "{wmi}");
    assert!(wmi.contains("ParentImage: C:\\Windows\\System32\\wbem\\WmiPrvSE.exe"), "{wmi}");
    assert!(wmi.contains(",testdata/plaso/plaso-sample.jsonl,1,2,"), "line 1, 2 copies: {wmi}");
    // Both copies on request.
    let (code, _, err) = run(&[
        "-q", RULES, PLASO, "--timeline", csv.to_str().unwrap(), "--timeline-all-copies",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 1 + 8);
}

#[test]
fn timeline_jsonl_and_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let jl = dir.path().join("hits.jsonl");
    let (code, _, err) = run(&["-q", RULES, PLASO, "--timeline", jl.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<serde_json::Value> = std::fs::read_to_string(&jl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 6);
    let pp = rows
        .iter()
        .find(|r| r["rule"] == "New PortProxy Registry Entry Added")
        .unwrap();
    assert_eq!(pp["tactics"], serde_json::json!(["lateral-movement", "command-and-control"]));
    assert_eq!(pp["line"], 7);
    assert_eq!(pp["copies"], 1);
    // `-`: the timeline on stdout (CSV), the report on stderr.
    let (code, out, err) = run(&["-q", RULES, PLASO, "--timeline", "-"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("time,host,"), "{out}");
    assert!(err.contains("hits: 6"), "{err}");
    // --timeline-format overrides the name.
    let (_, out, _) = run(&["-q", RULES, PLASO, "--timeline", "-", "--timeline-format", "jsonl"]);
    assert!(out.starts_with('{'), "{out}");
}

#[test]
fn summary_comes_first_lists_hits_by_level_and_fits_120_columns() {
    let dir = tempfile::tempdir().unwrap();
    // A rule with a long title that matches (copy of a bundled one).
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    for f in std::fs::read_dir(RULES).unwrap() {
        let p = f.unwrap().path();
        if p.extension().is_some_and(|e| e == "yml") {
            std::fs::copy(&p, rules.join(p.file_name().unwrap())).unwrap();
        }
    }
    let long = std::fs::read_to_string(rules.join("win_mssql_failed_logon.yml"))
        .unwrap()
        .replace("title: MSSQL Server Failed Logon", "title: MSSQL Server Failed Logon With A Title Far Too Long For Its Column In The Table");
    std::fs::write(rules.join("win_mssql_failed_logon.yml"), long).unwrap();
    std::fs::write(rules.join("never.yml"), "title: Never Matches\nlevel: critical\nlogsource: {product: windows}\ndetection:\n  s: {Image: nothing-at-all}\n  condition: s\n").unwrap();
    let r = rules.to_str().unwrap();
    let (code, out, err) = run(&["-q", r, PLASO]);
    assert_eq!(code, 0, "{err}");
    let first: Vec<&str> = out.lines().take(6).collect();
    assert!(first[0].starts_with("rules: 7 loaded"), "{out}");
    assert!(first[2].starts_with("hits: 6"), "{out}");
    assert!(first[3].contains("by level:  high 2 · medium 2 · low 2"), "{out}");
    assert!(out.contains("by host:   MSEDGEWIN10 3 · IEWIN7 2"), "{out}");
    assert!(out.contains("by tactic: execution 1"), "{out}");
    // Every line but the listed details (file paths, reasons) fits 120.
    assert!(
        out.lines().all(|l| l.chars().count() <= 120 || l.starts_with("    ")),
        "{out}"
    );
    assert!(out.contains("MSSQL Server Failed Logon With A Title Far Too Lo…"), "{out}");
    assert!(!out.contains("Never Matches"), "rules without hits are not listed by default");
    assert!(!out.contains('\x1b'), "no colour when not a terminal");
    // Sorted by level, then hits.
    let levels: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("level "))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(levels, ["high", "high", "medium", "medium", "low", "low"]);
    // --all-rules shows every rule.
    let (_, out, _) = run(&["-q", r, PLASO, "--all-rules"]);
    assert!(out.contains("Never Matches"), "{out}");
    // Failed rules are counted up front.
    let (_, out, _) = run(&[
        "-q",
        "testdata/rules",
        "testdata/events/process.jsonl",
        "--placeholders",
        "testdata/placeholders.yml",
    ]);
    assert!(out.lines().next().unwrap().contains("2 FAILED to load and 1 unsupported"), "{out}");
    // JSON has the same.
    let (_, out, _) = run(&["-q", RULES, PLASO, "--format", "json"]);
    let d: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(d["hits_by_level"][0], serde_json::json!({"name": "high", "hits": 2}));
    let wmi = d["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["title"] == "WmiPrvSE Spawned A Process")
        .unwrap();
    assert_eq!(wmi["hits"], 1);
    assert_eq!(wmi["count"], 2);
    assert_eq!(wmi["first_seen"], "2019-04-30T20:32:51.168589Z");
}

#[test]
fn filters_are_applied_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let json = |extra: &[&str]| -> serde_json::Value {
        let mut a = vec!["-q", "--format", "json", RULES, PLASO];
        a.extend(extra);
        let (code, out, err) = run(&a);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str(&out).unwrap()
    };
    let d = json(&["--min-level", "medium"]);
    assert_eq!(d["summary"]["rules_loaded"], 4);
    assert_eq!(d["filtered"]["min_level"], 2);
    // Exclusions by id and by title, case-insensitive; unknown entries listed.
    let ex = dir.path().join("noisy.txt");
    std::fs::write(
        &ex,
        "# known noisy\nd21374ff-f574-44a7-9998-4a8c8bf33d7d  # WmiPrvSE\nmssql server failed logon\nno such rule\n",
    )
    .unwrap();
    let d = json(&["--exclude-rules", ex.to_str().unwrap()]);
    assert_eq!(d["summary"]["rules_loaded"], 4);
    assert_eq!(d["filtered"]["excluded"], 2);
    assert_eq!(d["filtered"]["unmatched_exclusions"], serde_json::json!(["no such rule"]));
    let (_, out, _) = run(&["-q", RULES, PLASO, "--exclude-rules", ex.to_str().unwrap()]);
    assert!(out.lines().next().unwrap().contains("2 by --exclude-rules; exclusions matching no rule: no such rule"), "{out}");
    // Time window: inclusive ends, any ISO form, a date alone for --to
    // meaning the whole day.
    let d = json(&["--from", "2019-04-30T20:32:51.168589Z", "--to", "2019-05-23"]);
    let hits: Vec<&str> = d["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["count"].as_u64().unwrap() > 0)
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert!(hits.contains(&"WmiPrvSE Spawned A Process") && hits.contains(&"New PortProxy Registry Entry Added"));
    assert!(d["window"]["before"].as_u64().unwrap() > 0);
    assert!(d["window"]["after"].as_u64().unwrap() > 0);
    let (code, _, err) = run(&[RULES, PLASO, "--from", "yesterday"]);
    assert_eq!(code, 2);
    assert!(err.contains("not an ISO 8601"), "{err}");
}

#[test]
fn help_has_examples_and_valid_values() {
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Examples:"), "{out}");
    assert!(out.contains("--timeline hits.csv"), "{out}");
    assert!(out.contains("[possible values: informational, low, medium, high, critical]"), "{out}");
    assert!(out.contains("[possible values: stable, test, experimental, deprecated, unsupported]"), "{out}");
    assert!(out.contains("csv:") && out.contains("jsonl:"), "{out}");
    assert!(out.contains("Exit codes:"), "{out}");
}
