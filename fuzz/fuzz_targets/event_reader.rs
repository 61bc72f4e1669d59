//! Fuzzes the event side: arbitrary lines through extraction and evaluation
//! of a ruleset that touches every matcher kind.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sigma_match::compile::{CompileOptions, Ruleset};
use sigma_match::eval::Matcher;
use sigma_match::sigma::rule::{parse_text, Loaded};

const RULE: &str = r#"
title: fuzz
detection:
  a:
    Image|endswith: '\cmd.exe'
    CommandLine|windash|contains|all: [' -a', 'b?c']
  b:
    n|gt: 3
    ip|cidr: 10.0.0.0/8
    t|hour: 3
  c:
    x|re: '^a.*b$'
    y|fieldref: z
    e|exists: true
    nul: null
  kw:
    - 'mimi*katz'
  condition: 1 of them or not a
"#;

fn ruleset() -> &'static Ruleset {
    static RS: OnceLock<Ruleset> = OnceLock::new();
    RS.get_or_init(|| {
        let rules = parse_text(std::path::Path::new("r.yml"), RULE)
            .into_iter()
            .map(|l| match l {
                Loaded::Rule(r) => *r,
                Loaded::Failed { issue, .. } => panic!("{issue}"),
            })
            .collect();
        Ruleset::compile(rules, CompileOptions::default()).0
    })
}

fuzz_target!(|data: &[u8]| {
    let mut m = Matcher::new(ruleset());
    for line in data.split(|b| *b == b'\n') {
        let _ = m.match_line(line);
    }
});
