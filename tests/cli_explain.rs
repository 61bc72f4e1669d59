//! CLI tests of `sigma-match explain`: output snapshots (insta) without an
//! event, with one event, over an event file, by rule id, with a Lucene
//! query, and the error cases.

mod common;

use common::*;

const DEMO: &str = "testdata/verify/explain/demo.yml";
const EVENTS: &str = "testdata/verify/explain/events.jsonl";

fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn explain_rule_without_event() {
    insta::assert_snapshot!(ok(&["explain", DEMO]));
}

#[test]
fn explain_event_that_does_not_match() {
    insta::assert_snapshot!(ok(&["explain", DEMO, "--event", &format!("{EVENTS}:2")]));
}

#[test]
fn explain_events_file_shows_matches_and_counts() {
    insta::assert_snapshot!(ok(&["explain", DEMO, "--events", EVENTS]));
}

#[test]
fn explain_by_id_with_lucene_query() {
    insta::assert_snapshot!(ok(&[
        "explain",
        "9532df7b-ac88-4706-a764-9bbc9c2b2d5f",
        "-r",
        "testdata/timesketch/rules",
        "--query",
        "lucene"
    ]));
    let demo = ok(&["explain", DEMO, "--query", "lucene"]);
    let lucene = demo.lines().find(|l| l.starts_with("lucene: ")).unwrap();
    insta::assert_snapshot!(lucene);
}

#[test]
fn explain_errors() {
    let o = run(&["explain", "0000", "-r", "testdata/timesketch/rules"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no rule file or rule id `0000`"));
    let o = run(&["explain", DEMO, "--event", &format!("{EVENTS}:3")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("events.jsonl:3: malformed event"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = run(&["explain", DEMO, "--event", &format!("{EVENTS}:9")]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("has only 3 lines, no line 9"));
    let o = run(&["explain", DEMO, "--event", EVENTS]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--event wants FILE:LINE"));
    let o = run(&["explain", "testdata/verify/rules/broken/bad_regex.yml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("bad_regex.yml:9:9: invalid regular expression")
    );
}
