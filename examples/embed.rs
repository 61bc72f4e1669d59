//! Embedding sigma-match: compile a rule folder, run it over an events
//! file and a reader, and receive the match records in a sink of your own.
//!
//! ```text
//! cargo run --release --example embed -- [RULES] [EVENTS]
//! ```
//!
//! Without arguments it runs the bundled Timesketch test rules over their
//! test events.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sigma_match::{Match, Rules, RulesBuilder, Run, Sink};

/// A sink of our own: how often each rule matched, and the first line of each.
struct PerRule<'r> {
    rules: &'r Rules,
    hits: BTreeMap<u32, (u64, String)>,
}

impl Sink for PerRule<'_> {
    fn chunk(
        &mut self,
        input: &str,
        _data: &[u8],
        _first_line: u64,
        matches: &[Match],
    ) -> std::io::Result<()> {
        for m in matches {
            for &r in &m.rules {
                let e = self
                    .hits
                    .entry(r)
                    .or_insert_with(|| (0, format!("{input}:{}", m.line)));
                e.0 += 1;
            }
        }
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut args = std::env::args().skip(1);
    let rules_path = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("testdata/timesketch/rules"));
    let events = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("testdata/timesketch/sigma_events.jsonl"));

    let rules = RulesBuilder::new().path(&rules_path).build()?;
    for issue in rules.failed() {
        eprintln!("rule not loaded: {issue}");
    }
    println!("{} rules compiled from {}", rules.len(), rules_path.display());

    // The same file twice: once by path, once through a reader (as stdin or
    // a decompressor would hand it over).
    let reader = std::fs::File::open(&events)?;
    let mut sink = PerRule {
        rules: &rules,
        hits: BTreeMap::new(),
    };
    let stats = Run::new(&rules)
        .path(&events)
        .reader("events (reader)", reader)
        .run(&mut [&mut sink])?;
    println!("{} events read, {} malformed", stats.events, stats.malformed);
    for (r, (n, first)) in &sink.hits {
        let info = sink.rules.rule(*r).expect("a rule index from a match");
        println!("{n:>4}  {}  (first: {first})", info.title);
    }
    Ok(())
}
