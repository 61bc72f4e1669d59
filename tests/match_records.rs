//! The match-record seam: what a sink learns about each matched event
//! (input, line, time, record identity, carried field values), on real
//! exports of three formats (Plaso `json_line`, flat `evtx_dump`,
//! Timesketch JSONL).

use std::path::Path;

use sigma_match::compile::{CompileOptions, RulesetBuilder};
use sigma_match::run::engine::{self, LineMatch, RunOptions, Sink};
use sigma_match::sigma::rule::{self, Loaded};

#[derive(Default)]
struct Collect(Vec<(String, LineMatch)>);

impl Sink for Collect {
    fn chunk(&mut self, input: &str, _: &[u8], _: u64, m: &[LineMatch]) -> std::io::Result<()> {
        self.0.extend(m.iter().map(|m| (input.to_string(), m.clone())));
        Ok(())
    }
}

const RULE: &str = "title: any process creation or marker\nlogsource: {product: test}\ndetection:\n  sel:\n    EventID: 1\n  ts:\n    extra_field_1: foo\n  condition: sel or ts\n";

fn run(input: &Path, time_field: Option<&str>) -> Vec<(String, LineMatch)> {
    let rules: Vec<_> = rule::parse_text(Path::new("r.yml"), RULE)
        .into_iter()
        .filter_map(|l| match l {
            Loaded::Rule(r) => Some(*r),
            Loaded::Failed { .. } => None,
        })
        .collect();
    let mut b = RulesetBuilder::new(CompileOptions::default());
    for r in rules {
        b.add(r).unwrap();
    }
    assert_eq!(b.carry("Image"), 0);
    assert_eq!(b.carry("hostname"), 1);
    assert_eq!(b.carry("Image"), 0, "asking twice gives the same slot");
    if let Some(f) = time_field {
        b.time_field(f);
    }
    let rs = b.build();
    let mut sink = Collect::default();
    let name = input.display().to_string();
    let stats = engine::run(&rs, &[name], &RunOptions::default(), &mut [&mut sink]).unwrap();
    assert!(stats.input_errors.is_empty());
    sink.0
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn plaso_records_carry_time_record_and_fields() {
    let input = root().join("testdata/plaso/plaso-sample.jsonl");
    let got = run(&input, None);
    assert_eq!(got.len(), 3, "three Plaso events of Sysmon EventID 1");
    let (name, first) = &got[0];
    assert_eq!(name, &input.display().to_string());
    assert_eq!(first.line, 1);
    // Creation Time copy: Plaso's `timestamp` in microseconds.
    assert_eq!(first.time.unwrap().to_iso(), "2019-04-30T20:32:51.168589Z");
    // Content Modification Time copy of the same record: its own timestamp.
    assert_eq!(got[1].1.time.unwrap().to_iso(), "2019-04-30T20:32:51.246714Z");
    assert_eq!(first.record, got[1].1.record, "both copies are one record");
    assert!(first.record.is_some());
    // A copy whose timestamp is Plaso's "Not set" takes the XML SystemTime.
    let unset = &got[2].1;
    assert_eq!(unset.line, 3);
    let t = unset.time.expect("time from SystemTime");
    assert!(t.to_iso().starts_with("20"), "{t}");
    // Carried: Image from xml_string, hostname at the top level.
    assert_eq!(
        first.carried[0].as_deref(),
        Some("C:\\Windows\\System32\\cmd.exe")
    );
    assert_eq!(first.carried[1].as_deref(), Some("IEWIN7"));
}

#[test]
fn timesketch_events_take_datetime_and_a_named_time_field() {
    let input = root().join("testdata/timesketch/sigma_events.jsonl");
    let got = run(&input, None);
    assert_eq!(got.len(), 1);
    let m = &got[0].1;
    assert_eq!(m.time.unwrap().to_iso(), "2015-07-24T19:01:01.000000Z");
    assert_eq!(m.carried, vec![None, None]);
    assert_eq!(m.record, None);
    // --time-field timestamp: 123456789 read by magnitude as seconds.
    let got = run(&input, Some("timestamp"));
    assert_eq!(got[0].1.time.unwrap().to_iso(), "1973-11-29T21:33:09.000000Z");
}
