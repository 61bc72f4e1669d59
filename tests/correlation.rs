//! Correlation rules end to end (the binary): the specification's own
//! examples as rule + event fixtures with their expected firings, window
//! boundaries, input order, missing group-by fields, aliases, chains,
//! `generate`, legacy aggregations, and `verify` errors with line and reason.
//!
//! Reference behaviour where the specification is silent: pySigma
//! (`sigma/correlations.py`: default temporal condition = all rules,
//! timespan units, `generate` disabling referenced rules' output) and its
//! SQLite backend (`pySigma-backend-sqlite`, `sigma/backends/sqlite/sqlite.py`:
//! `GROUP BY` puts events without a group-by field into one group,
//! `COUNT(DISTINCT f)` ignores missing values, temporal windows are
//! `last - first <= timespan`, i.e. inclusive).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> String {
    root().join("testdata/correlation").join(name).display().to_string()
}

struct Run {
    report: Value,
    /// Firing lines of --matches (correlation lines only).
    firings: Vec<Value>,
    /// Per-event match lines of --matches.
    events: Vec<Value>,
    stderr: String,
}

fn run(rules: &[&str], events: &[&str], extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.jsonl");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sigma-match"));
    cmd.args(["-q", "--no-scope", "--format", "json", "--matches"]).arg(&m);
    for r in rules {
        cmd.args(["-r", r]);
    }
    cmd.args(events).args(extra);
    let o = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{stderr}");
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    let text = std::fs::read_to_string(&m).unwrap();
    let (mut firings, mut evs) = (Vec::new(), Vec::new());
    for l in text.lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        if v.get("correlation").is_some() {
            firings.push(v);
        } else {
            evs.push(v);
        }
    }
    Run { report, firings, events: evs, stderr }
}

fn write_events(dir: &Path, name: &str, events: &[Value]) -> String {
    let p = dir.join(name);
    let text: String = events.iter().map(|e| format!("{e}\n")).collect();
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// `2024-03-01T09:00:00Z` plus `secs` seconds (and `us` microseconds).
fn at(secs: i64, us: i64) -> String {
    let t = sigma_match::event::time::EventTime::from_micros(1_709_283_600_000_000 + secs * 1_000_000 + us);
    t.to_iso()
}

fn groups(r: &Run, title: &str) -> Vec<Value> {
    r.firings.iter().filter(|f| f["title"] == title).map(|f| f["group"].clone()).collect()
}

#[test]
fn spec_example_failed_logins_then_success() {
    let r = run(&[&fixture("spec_failed_then_success.yml")], &[&fixture("spec_failed_then_success.jsonl")], &[]);
    // Only the outermost correlation is output (generate defaults to false,
    // as in pySigma): bob had 10 failures within 10m, then a success.
    assert_eq!(r.firings.len(), 1, "{:#?}", r.firings);
    let f = &r.firings[0];
    assert_eq!(f["title"], "Correlation - Multiple Failed Logins Followed by Successful Login");
    assert_eq!(f["group"], json!({"User": "bob"}));
    assert_eq!(f["events"].as_array().unwrap().len(), 11);
    assert_eq!(f["window_end"], "2024-03-01T09:06:00.000000Z");
    // The referenced single-event rules are not reported by themselves.
    assert!(r.events.is_empty(), "{:?}", r.events);
    let titles: Vec<&str> = r.report["rules"].as_array().unwrap().iter().map(|x| x["title"].as_str().unwrap()).collect();
    assert_eq!(titles, vec!["Correlation - Multiple Failed Logins Followed by Successful Login"]);
    // The inner event_count fired for bob and carol (carol's success came first).
    let inner = &r.report["correlations"].as_array().unwrap().iter().find(|c| c["title"] == "Multiple failed logons").unwrap()["stats"];
    assert_eq!(inner["firings"], 2);
}

#[test]
fn input_order_does_not_change_firings() {
    let rules = fixture("spec_failed_then_success.yml");
    let a = run(&[&rules], &[&fixture("spec_failed_then_success.jsonl")], &[]);
    let b = run(&[&rules], &[&fixture("spec_failed_then_success.shuffled.jsonl")], &[]);
    let strip = |fs: &[Value]| -> Vec<Value> {
        fs.iter()
            .map(|f| {
                let mut f = f.clone();
                let times: Vec<Value> = f["events"].as_array().unwrap().iter().map(|e| e["time"].clone()).collect();
                f["events"] = Value::Array(times);
                f
            })
            .collect()
    };
    assert_eq!(strip(&a.firings), strip(&b.firings));
    // Two inputs, each half of the events, in reverse order: the same.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("spec_failed_then_success.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (x, y) = lines.split_at(lines.len() / 2);
    let p1 = dir.path().join("1.jsonl");
    let p2 = dir.path().join("2.jsonl");
    std::fs::write(&p1, x.join("\n") + "\n").unwrap();
    std::fs::write(&p2, y.join("\n") + "\n").unwrap();
    let c = run(&[&rules], &[&p2.display().to_string(), &p1.display().to_string()], &[]);
    assert_eq!(strip(&a.firings), strip(&c.firings));
}

#[test]
fn spec_example_event_count() {
    let dir = tempfile::tempdir().unwrap();
    let mut ev = Vec::new();
    // HOST-A: 100 failed logons within the hour; HOST-B: 99.
    for i in 0..100 {
        ev.push(json!({"datetime": at(i * 30, 0), "EventID": 4625, "ComputerName": "HOST-A"}));
    }
    for i in 0..99 {
        ev.push(json!({"datetime": at(i * 30, 0), "EventID": 4625, "ComputerName": "HOST-B"}));
    }
    let e = write_events(dir.path(), "e.jsonl", &ev);
    let r = run(&[&fixture("spec_event_count.yml")], &[&e], &[]);
    assert_eq!(groups(&r, "Many failed logins"), vec![json!({"ComputerName": "HOST-A"})]);
    assert_eq!(r.firings[0]["value"], 100.0);
    // The rule it references (by id, in the same file) is not output.
    assert!(r.events.is_empty());
}

#[test]
fn spec_example_value_count() {
    let dir = tempfile::tempdir().unwrap();
    let mut ev = Vec::new();
    for i in 0..100 {
        ev.push(json!({"datetime": at(i * 60, 0), "EventID": 4625, "ComputerName": "DC1", "WorkstationName": "WS1", "User": format!("u{i}")}));
        // The same 50 users over and over on another workstation: 50 distinct.
        ev.push(json!({"datetime": at(i * 60, 0), "EventID": 4625, "ComputerName": "DC1", "WorkstationName": "WS2", "User": format!("u{}", i % 50)}));
    }
    let e = write_events(dir.path(), "e.jsonl", &ev);
    let r = run(&[&fixture("spec_value_count.yml")], &[&e], &[]);
    assert_eq!(groups(&r, "Failed login"), vec![json!({"ComputerName": "DC1", "WorkstationName": "WS1"})]);
    assert_eq!(r.firings[0]["value"], 100.0);
}

fn proc(secs: i64, host: &str, user: &str, image: &str) -> Value {
    json!({"datetime": at(secs, 0), "ComputerName": host, "User": user, "Image": format!("C:\\Windows\\System32\\{image}")})
}

#[test]
fn spec_example_temporal_and_boolean_conditions() {
    let dir = tempfile::tempdir().unwrap();
    let ev = vec![
        // h1/alice: a, c, b within 5 minutes (any order).
        proc(0, "h1", "alice", "whoami.exe"),
        proc(60, "h1", "alice", "ipconfig.exe"),
        proc(120, "h1", "alice", "net.exe"),
        // h2/bob: a and b only.
        proc(0, "h2", "bob", "whoami.exe"),
        proc(10, "h2", "bob", "net.exe"),
        // h3/carol: a, b, c in order, but c 1 microsecond after 5 minutes.
        proc(1000, "h3", "carol", "whoami.exe"),
        proc(1100, "h3", "carol", "net.exe"),
    ];
    let mut ev = ev;
    ev.push(json!({"datetime": at(1300, 1), "ComputerName": "h3", "User": "carol", "Image": "C:\\Windows\\System32\\ipconfig.exe"}));
    let e = write_events(dir.path(), "e.jsonl", &ev);
    let r = run(&[&fixture("spec_temporal.yml")], &[&e], &[]);
    assert_eq!(groups(&r, "Recon commands"), vec![json!({"ComputerName": "h1", "User": "alice"})]);
    assert_eq!(groups(&r, "Recon"), vec![json!({"ComputerName": "h1", "User": "alice"})]);
    // a and b and not c: bob; carol's window [1000s, 1300s] holds a and b but not c (1300s + 1us).
    assert_eq!(
        groups(&r, "Recon a and b without c"),
        vec![json!({"ComputerName": "h2", "User": "bob"}), json!({"ComputerName": "h3", "User": "carol"})]
    );
    // Ordered: alice ran c before b; nobody ran a, b, c in order within 5m.
    assert!(groups(&r, "Recon ordered").is_empty());
    // v2.2.0 tags are kept on correlation rules.
    let c = r.report["correlations"].as_array().unwrap().iter().find(|c| c["title"] == "Recon a and b without c").unwrap().clone();
    assert_eq!(c["tags"], json!(["attack.discovery"]));
}

#[test]
fn spec_examples_value_sum_avg_percentile() {
    let dir = tempfile::tempdir().unwrap();
    let mut ev = Vec::new();
    for i in 0..3 {
        ev.push(json!({"datetime": at(i * 600, 0), "cs-method": "POST", "SourceIP": "10.0.0.5", "User": "eve", "bytes_sent": 400_000, "BytesOut": 300 + i * 300}));
        ev.push(json!({"datetime": at(i * 600, 0), "cs-method": "POST", "SourceIP": "10.0.0.6", "User": "ann", "bytes_sent": 1000, "BytesOut": 100}));
    }
    let e = write_events(dir.path(), "e.jsonl", &ev);
    let r = run(&[&fixture("spec_values.yml")], &[&e], &[]);
    // 3 x 400000 > 1000000 within 1h for eve only.
    assert_eq!(groups(&r, "Possible Exfiltration to Website"), vec![json!({"SourceIP": "10.0.0.5", "User": "eve"})]);
    // Average of 300, 600, 900 = 600 > 500.
    let avg: Vec<&Value> = r.firings.iter().filter(|f| f["title"] == "Suspicious average network traffic").collect();
    assert_eq!(avg.len(), 1);
    assert_eq!(avg[0]["value"], 600.0);
    // Median (percentile 50) of 300, 600, 900 = 600 > 400.
    assert_eq!(groups(&r, "Median upload above 400 bytes"), vec![json!({"SourceIP": "10.0.0.5"})]);
    // The example without `percentile` is reported unsupported, with why.
    let rows = r.report["rules"].as_array().unwrap();
    let p = rows.iter().find(|x| x["title"].as_str().unwrap().starts_with("A computer spawned")).unwrap();
    assert_eq!(p["state"], "unsupported");
    assert!(p["reason"].as_str().unwrap().contains("percentile"), "{p}");
}

#[test]
fn spec_example_aliases() {
    let dir = tempfile::tempdir().unwrap();
    let ev = vec![
        json!({"datetime": at(0, 0), "event.category": "network", "event.type": "connection", "event.outcome": "success", "source.ip": "10.1.1.1", "destination.ip": "192.0.2.7"}),
        // The web server's error: destination = the internal address, source = the remote one.
        json!({"datetime": at(5, 0), "http.response.status_code": 500, "destination.ip": "10.1.1.1", "source.ip": "192.0.2.7"}),
        // An error for other addresses: no pair.
        json!({"datetime": at(6, 0), "http.response.status_code": 500, "destination.ip": "10.1.1.2", "source.ip": "192.0.2.7"}),
    ];
    let e = write_events(dir.path(), "e.jsonl", &ev);
    let r = run(&[&fixture("spec_aliases.yml")], &[&e], &[]);
    assert_eq!(
        groups(&r, "Internal error after a connection from the same address"),
        vec![json!({"internal_ip": "10.1.1.1", "remote_ip": "192.0.2.7"})]
    );
}

const BOUNDARY_RULES: &str = "title: two within a minute\ncorrelation:\n  type: event_count\n  rules: [r]\n  group-by: [User]\n  timespan: 1m\n  condition: {gte: 2}\n---\ntitle: r\nname: r\nlogsource: {product: test}\ndetection: {s: {EventID: 1}, condition: s}\n";

#[test]
fn window_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("r.yml");
    std::fs::write(&rules, BOUNDARY_RULES).unwrap();
    let rules = rules.display().to_string();
    let case = |second_us: i64| {
        let ev = vec![
            json!({"datetime": at(0, 0), "EventID": 1, "User": "u"}),
            json!({"datetime": at(0, second_us), "EventID": 1, "User": "u"}),
        ];
        let e = write_events(dir.path(), "e.jsonl", &ev);
        run(&[&rules], &[&e], &[]).firings.len()
    };
    assert_eq!(case(60_000_000), 1, "exactly timespan apart: one window (inclusive)");
    assert_eq!(case(60_000_000 - 1), 1, "one microsecond less");
    assert_eq!(case(60_000_000 + 1), 0, "one microsecond more");
}

#[test]
fn missing_group_by_fields_are_left_out_and_counted() {
    // pySigma's SQLite backend (pySigma-backend-sqlite 2.1.1, the queries it
    // generates: `... WHERE ts IS NOT NULL AND eid IS NOT NULL AND g0 IS NOT
    // NULL`) leaves events without a group-by value out of a correlation;
    // sigma-match does the same, and says how many (JSON null counts as
    // missing, as in SQL).
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("r.yml");
    std::fs::write(&rules, BOUNDARY_RULES).unwrap();
    let ev = vec![
        json!({"datetime": at(0, 0), "EventID": 1}),
        json!({"datetime": at(1, 0), "EventID": 1, "User": null}),
        json!({"datetime": at(2, 0), "EventID": 1, "User": "x"}),
        json!({"datetime": at(3, 0), "EventID": 1, "User": "x"}),
    ];
    let e = write_events(dir.path(), "e.jsonl", &ev);
    let r = run(&[&rules.display().to_string()], &[&e], &[]);
    assert_eq!(r.firings.len(), 1);
    assert_eq!(r.firings[0]["group"], json!({"User": "x"}));
    assert_eq!(r.report["correlations"][0]["stats"]["without_group"], 2);
    assert!(r.stderr.contains("2 matched events lacked a group-by field (User)"), "{}", r.stderr);
}

#[test]
fn events_without_time_are_counted_not_dropped_silently() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("r.yml");
    std::fs::write(&rules, BOUNDARY_RULES).unwrap();
    let ev = vec![
        json!({"datetime": at(0, 0), "EventID": 1, "User": "u"}),
        json!({"EventID": 1, "User": "u"}),
        json!({"datetime": "not a time", "EventID": 1, "User": "u"}),
    ];
    let e = write_events(dir.path(), "e.jsonl", &ev);
    let r = run(&[&rules.display().to_string()], &[&e], &[]);
    assert!(r.firings.is_empty());
    assert_eq!(r.report["correlations"][0]["stats"]["without_time"], 2);
    assert!(r.stderr.contains("2 matched events had no usable time"), "{}", r.stderr);
}

#[test]
fn time_field_option() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("r.yml");
    std::fs::write(&rules, BOUNDARY_RULES).unwrap();
    let ev = vec![
        json!({"datetime": at(0, 0), "when": 1_700_000_000, "EventID": 1, "User": "u"}),
        json!({"datetime": at(1, 0), "when": 1_700_000_100, "EventID": 1, "User": "u"}),
    ];
    let e = write_events(dir.path(), "e.jsonl", &ev);
    let rules = rules.display().to_string();
    assert_eq!(run(&[&rules], &[&e], &[]).firings.len(), 1);
    // Epoch seconds 100 s apart: no longer within a minute.
    assert_eq!(run(&[&rules], &[&e], &["--time-field", "when"]).firings.len(), 0);
}

#[test]
fn generate_true_reports_the_referenced_rule_too() {
    let dir = tempfile::tempdir().unwrap();
    let ev: Vec<Value> = (0..3).map(|i| json!({"datetime": at(i, 0), "Computer": "h", "Image": "C:\\w\\whoami.exe"})).collect();
    let e = write_events(dir.path(), "e.jsonl", &ev);
    let r = run(&[&fixture("generate.yml")], &[&e], &[]);
    assert_eq!(r.firings.len(), 1);
    assert_eq!(r.events.len(), 3, "generate: true keeps the rule's own matches");
    // Without generate (the default), they are hidden.
    let text = std::fs::read_to_string(fixture("generate.yml")).unwrap().replace("generate: true", "generate: false");
    let g = dir.path().join("g.yml");
    std::fs::write(&g, text).unwrap();
    let r = run(&[&g.display().to_string()], &[&e], &[]);
    assert_eq!((r.firings.len(), r.events.len()), (1, 0));
}

#[test]
fn referenced_rules_in_other_files_keep_reporting() {
    // v2.2.0 draft, "Generate": no effect on rules outside the correlation's file.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yml"), "title: r\nname: r\nlogsource: {product: test}\ndetection: {s: {EventID: 1}, condition: s}\n").unwrap();
    std::fs::write(dir.path().join("b.yml"), "title: two\ncorrelation: {type: event_count, rules: [r], group-by: [User], timespan: 1m, condition: {gte: 2}}\n").unwrap();
    let ev: Vec<Value> = (0..2).map(|i| json!({"datetime": at(i, 0), "EventID": 1, "User": "u"})).collect();
    let e = write_events(dir.path(), "e.jsonl", &ev);
    let r = run(&[&dir.path().display().to_string()], &[&e], &[]);
    assert_eq!((r.firings.len(), r.events.len()), (1, 2));
}

#[test]
fn chained_correlations() {
    // A correlation over a correlation over rules: many failures (event_count)
    // on two hosts (value_count over the inner firings' group) for one user.
    let dir = tempfile::tempdir().unwrap();
    let rules = "title: Spray across hosts\ncorrelation:\n  type: value_count\n  rules: [many_failures]\n  group-by: [User]\n  timespan: 1h\n  condition: {field: Computer, gte: 2}\n---\ntitle: Many failures\nname: many_failures\ncorrelation:\n  type: event_count\n  rules: [failure]\n  group-by: [User, Computer]\n  timespan: 10m\n  condition: {gte: 3}\n---\ntitle: failure\nname: failure\nlogsource: {product: test}\ndetection: {s: {EventID: 4625}, condition: s}\n";
    let rp = dir.path().join("r.yml");
    std::fs::write(&rp, rules).unwrap();
    let mut ev = Vec::new();
    for (host, base) in [("h1", 0), ("h2", 1200)] {
        for i in 0..3 {
            ev.push(json!({"datetime": at(base + i, 0), "EventID": 4625, "User": "bob", "Computer": host}));
        }
    }
    for i in 0..3 {
        ev.push(json!({"datetime": at(i, 0), "EventID": 4625, "User": "amy", "Computer": "h1"}));
    }
    let e = write_events(dir.path(), "e.jsonl", &ev);
    let r = run(&[&rp.display().to_string()], &[&e], &[]);
    // A correlation over firings reads the inner firing's group-by values
    // (here `User` to group and `Computer` to count), as pySigma's SQL does:
    // the inner query selects only its group-by fields.
    assert_eq!(groups(&r, "Spray across hosts"), vec![json!({"User": "bob"})]);
    assert_eq!(r.firings[0]["events"].as_array().unwrap().len(), 6);
}

fn verify(paths: &[&str]) -> (i32, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_sigma-match")).arg("verify").args(paths).output().unwrap();
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).to_string())
}

#[test]
fn verify_reports_invalid_correlations_with_line_and_reason() {
    let (code, out) = verify(&[&fixture("invalid")]);
    assert_eq!(code, 1, "{out}");
    for (file, want) in [
        ("unknown_rule.yml", "unknown referenced rule `no_such_rule`"),
        ("bad_timespan.yml", "timespan `5 minutes`"),
        ("missing_condition.yml", "missing `condition`"),
        ("cycle.yml", "cycle in correlation chain: a -> b -> a"),
    ] {
        let line = out.lines().find(|l| l.contains(file) && l.contains(want)).unwrap_or_else(|| panic!("{file}: {want}\n{out}"));
        assert!(line.contains(": error: correlation:"), "{line}");
        assert!(line.trim_end().ends_with(')') && line.contains(':'), "position missing: {line}");
    }
    assert!(out.contains("unknown_rule.yml: error: correlation: unknown referenced rule `no_such_rule`: no rule or correlation in the loaded rule paths has this name or id (5:11)"), "{out}");
    assert!(out.contains("(5:15)"), "bad timespan at line 5: {out}");
}

#[test]
fn verify_accepts_valid_correlations() {
    let (code, out) = verify(&[
        &fixture("spec_failed_then_success.yml"),
        &fixture("spec_event_count.yml"),
        &fixture("spec_value_count.yml"),
        &fixture("spec_temporal.yml"),
        &fixture("spec_aliases.yml"),
        &fixture("generate.yml"),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains(": error:"), "{out}");
    assert!(!out.contains("unsupported"), "{out}");
}

#[test]
fn legacy_count_by_with_timeframe() {
    let dir = tempfile::tempdir().unwrap();
    let rule = "title: Legacy brute force\nid: 0b1c5d0e-8d55-4a48-b1b4-3f3b5c1e2a10\nlevel: medium\nlogsource: {product: windows, service: security}\ndetection:\n  selection:\n    EventID: 4625\n  timeframe: 5m\n  condition: selection | count(TargetUserName) by IpAddress > 2\n";
    let rp = dir.path().join("r.yml");
    std::fs::write(&rp, rule).unwrap();
    let mut ev = Vec::new();
    for (i, u) in ["a", "b", "c", "a"].iter().enumerate() {
        ev.push(json!({"datetime": at(i as i64 * 10, 0), "EventID": 4625, "IpAddress": "10.0.0.9", "TargetUserName": u}));
    }
    // Three users, but the third 1 s after the 5-minute window.
    for (i, u) in ["a", "b"].iter().enumerate() {
        ev.push(json!({"datetime": at(i as i64, 0), "EventID": 4625, "IpAddress": "10.0.0.8", "TargetUserName": u}));
    }
    ev.push(json!({"datetime": at(301, 0), "EventID": 4625, "IpAddress": "10.0.0.8", "TargetUserName": "c"}));
    let e = write_events(dir.path(), "e.jsonl", &ev);
    let r = run(&[&rp.display().to_string()], &[&e], &[]);
    assert_eq!(groups(&r, "Legacy brute force"), vec![json!({"IpAddress": "10.0.0.9"})]);
    assert_eq!(r.firings[0]["value"], 3.0);
    assert_eq!(r.firings[0]["correlation"], "value_count");
    assert!(r.events.is_empty(), "the hidden base rule reports nothing itself");
    let (code, out) = verify(&[&rp.display().to_string()]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("unsupported"), "{out}");
}

#[test]
fn legacy_near_and_undefined_near() {
    let dir = tempfile::tempdir().unwrap();
    let rule = "title: Near\nlogsource: {product: test}\ndetection:\n  svc: {EventID: 7045}\n  proc: {EventID: 1}\n  timeframe: 5m\n  condition: svc | near proc\n";
    let rp = dir.path().join("n.yml");
    std::fs::write(&rp, rule).unwrap();
    let ev = vec![
        json!({"datetime": at(0, 0), "EventID": 7045}),
        json!({"datetime": at(100, 0), "EventID": 1}),
        json!({"datetime": at(1000, 0), "EventID": 7045}),
    ];
    let e = write_events(dir.path(), "e.jsonl", &ev);
    let r = run(&[&rp.display().to_string()], &[&e], &[]);
    assert_eq!(r.firings.len(), 1);
    assert_eq!(r.firings[0]["window_start"], at(0, 0));
    // Without timeframe the 1.x specification gives near no window.
    std::fs::write(&rp, rule.replace("  timeframe: 5m\n", "")).unwrap();
    let (code, out) = verify(&[&rp.display().to_string()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("warning: unsupported: `near` without `timeframe`"), "{out}");
}

#[test]
fn real_bruteforce_4625_records() {
    // testdata/correlation/NOTICE.md: 60 real 4625 records of an SMB
    // password-guessing burst (hayabusa-sample-evtx via the shared
    // evtx_dump export) and one unrelated failed logon.
    let r = run(&[&fixture("bruteforce_4625.yml")], &[&fixture("bruteforce-4625.flat.jsonl")], &[]);
    let bf = groups(&r, "Brute force - many failed network logons from one address");
    assert_eq!(bf, vec![json!({"IpAddress": "192.168.198.149", "TargetUserName": "Administrator"})]);
    let f = r.firings.iter().find(|f| f["correlation"] == "event_count").unwrap();
    assert_eq!(f["value"], 59.0);
    assert_eq!(f["window_start"], "2016-09-19T16:50:06.513129Z");
    assert_eq!(f["window_end"], "2016-09-19T16:50:09.144009Z");
    let spray = groups(&r, "Password spraying - several accounts from one address");
    assert_eq!(spray, vec![json!({"IpAddress": "192.168.198.149"})]);
    assert!(r.events.is_empty());
}

#[test]
fn tag_out_and_timeline_carry_firings() {
    let dir = tempfile::tempdir().unwrap();
    let tag = dir.path().join("t.jsonl");
    let tl = dir.path().join("tl.csv");
    let o = Command::new(env!("CARGO_BIN_EXE_sigma-match"))
        .args(["-q", "--no-scope"])
        .arg(fixture("bruteforce_4625.yml"))
        .arg(fixture("bruteforce-4625.flat.jsonl"))
        .arg("--tag-out")
        .arg(&tag)
        .arg("--timeline")
        .arg(&tl)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<Value> = std::fs::read_to_string(&tag).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 61, "every event is written");
    let tagged = |title: &str| lines.iter().filter(|l| l["ts_sigma_rule"].as_array().is_some_and(|a| a.iter().any(|x| x == title))).count();
    assert_eq!(tagged("Brute force - many failed network logons from one address"), 59);
    assert_eq!(tagged("Password spraying - several accounts from one address"), 60);
    assert_eq!(tagged("Failed network logon"), 0, "the hidden rule tags nothing");
    let csv = std::fs::read_to_string(&tl).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.contains("correlation event_count: IpAddress=192.168.198.149, TargetUserName=Administrator; count 59"), "{csv}");
}

#[test]
fn explain_a_correlation_rule_over_events() {
    let o = Command::new(env!("CARGO_BIN_EXE_sigma-match"))
        .args(["explain"])
        .arg(fixture("bruteforce_4625.yml"))
        .arg("--events")
        .arg(fixture("bruteforce-4625.flat.jsonl"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("failed_network_logon -> rule `Failed network logon`"), "{out}");
    assert!(out.contains("window: 1m sliding: [anchor, anchor + 1m], both ends inclusive"), "{out}");
    assert!(out.contains("fired: IpAddress=192.168.198.149, TargetUserName=Administrator"), "{out}");
    assert!(out.contains("not reached: IpAddress=192.168.198.149, TargetUserName=JcDfcZTc: best window 1 (gte 20 needed)"), "{out}");
}

#[test]
#[cfg_attr(not(shared_corpus), ignore = "needs SIGMA_MATCH_SHARED (the shared event exports)")]
fn shared_bruteforce_over_the_whole_evtx_export() {
    let shared = PathBuf::from(std::env::var_os("SIGMA_MATCH_SHARED").expect("SIGMA_MATCH_SHARED"));
    let ev = shared.join("events/evtx-samples.flat.jsonl").display().to_string();
    let r = run(&[&fixture("bruteforce_4625.yml")], &[&ev], &[]);
    let bf: Vec<&Value> = r.firings.iter().filter(|f| f["correlation"] == "event_count").collect();
    // 3,560 failed logons to Administrator from one address in 2m43s: one
    // firing per non-overlapping minute-long window.
    assert!(bf.len() >= 3, "{}", bf.len());
    assert!(bf.iter().all(|f| f["group"] == json!({"IpAddress": "192.168.198.149", "TargetUserName": "Administrator"})));
    let total: usize = bf.iter().map(|f| f["events"].as_array().unwrap().len()).sum();
    assert_eq!(total, 3560);
}
