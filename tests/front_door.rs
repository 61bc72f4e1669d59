//! The public front door (issue 10, point 1): rules from paths and text
//! with filters, per-thread scratch, runs over paths and readers with a
//! sink of one's own, and the one error type.

use sigma_match::{Error, Match, RulesBuilder, Run, Scoping, Sink};

const RULES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/timesketch/rules");
const EVENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/timesketch/sigma_events.jsonl");

const TEXT_RULE: &str = "title: Another message
id: 22222222-2222-4222-8222-222222222222
status: test
level: low
logsource: {product: linux}
detection:
  sel: {message: Another message}
  condition: sel
";

/// Collects (input, line, rule) of every match.
#[derive(Default)]
struct Collect(Vec<(String, u64, u32)>, bool);

impl Sink for Collect {
    fn chunk(&mut self, input: &str, _: &[u8], _: u64, matches: &[Match]) -> std::io::Result<()> {
        for m in matches {
            for &r in &m.rules {
                self.0.push((input.to_string(), m.line, r));
            }
        }
        Ok(())
    }
    fn finish(&mut self) -> std::io::Result<()> {
        self.1 = true;
        Ok(())
    }
}

#[test]
fn rules_from_paths_and_text_with_filters_and_failures() {
    let all = RulesBuilder::new()
        .path(RULES)
        .text("extra.yml", TEXT_RULE)
        .text("broken.yml", "title: broken\ndetection: {condition: nothing}\n")
        .build()
        .unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all.failed().len(), 1);
    let last = all.rule(3).unwrap();
    assert_eq!(last.id, Some("22222222-2222-4222-8222-222222222222"));
    assert_eq!(last.path, std::path::Path::new("extra.yml"));
    assert!(all.rule(4).is_none());

    let low = RulesBuilder::new()
        .path(RULES)
        .text("extra.yml", TEXT_RULE)
        .levels(vec!["low".into()])
        .build()
        .unwrap();
    assert_eq!(low.len(), 1);
    let none = RulesBuilder::new().text("extra.yml", TEXT_RULE).exclude(vec!["Another message".into()]).build().unwrap();
    assert!(none.is_empty());
}

#[test]
fn a_run_over_a_path_and_a_reader_gives_the_same_matches() {
    let rules = RulesBuilder::new().path(RULES).text("extra.yml", TEXT_RULE).build().unwrap();
    let mut sink = Collect::default();
    let stats = Run::new(&rules)
        .path(EVENTS)
        .reader("reader", std::fs::File::open(EVENTS).unwrap())
        .run(&mut [&mut sink])
        .unwrap();
    assert!(sink.1, "finish is called");
    assert!(stats.input_errors.is_empty(), "{:?}", stats.input_errors);
    let by_path: Vec<(u64, u32)> = sink.0.iter().filter(|m| m.0 == EVENTS).map(|m| (m.1, m.2)).collect();
    let by_reader: Vec<(u64, u32)> = sink.0.iter().filter(|m| m.0 == "reader").map(|m| (m.1, m.2)).collect();
    assert!(!by_path.is_empty());
    assert_eq!(by_path, by_reader);
    assert_eq!(stats.events, 10);
    assert_eq!(stats.total_tags(), sink.0.len() as u64);

    // The same through per-thread scratch, line by line.
    let mut scratch = rules.scratch();
    let text = std::fs::read_to_string(EVENTS).unwrap();
    let mut one_by_one = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for &r in scratch.matches(line.as_bytes()).unwrap() {
            one_by_one.push((n as u64 + 1, r));
        }
    }
    assert_eq!(one_by_one, by_path);
}

#[test]
fn errors_are_typed_and_unreadable_inputs_do_not_stop_a_run() {
    let rules = RulesBuilder::new().text("extra.yml", TEXT_RULE).scoping(Scoping::Off).build().unwrap();
    let mut scratch = rules.scratch();
    assert!(matches!(scratch.matches(b"{not json"), Err(Error::Event(_))));
    let stats = Run::new(&rules)
        .path("/no/such/events.jsonl")
        .path(EVENTS)
        .run(&mut [])
        .unwrap();
    assert_eq!(stats.input_errors.len(), 1, "{:?}", stats.input_errors);
    assert_eq!(stats.events, 5);
    assert!(matches!(
        RulesBuilder::new().config("/no/such/config.yml").build(),
        Err(Error::Config(_))
    ));
    assert!(matches!(Run::new(&rules).window(Some("not a time"), None), Err(Error::Time(_))));
}
