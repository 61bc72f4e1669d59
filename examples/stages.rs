//! Per-stage cost of evaluation on one thread: what each stage of the hot
//! path costs alone, measured over one input file (one tape parse, the
//! event view's walk, Plaso XML resolution, the whole evaluation).
//!
//! ```text
//! cargo run --release --example stages -- RULES... -- EVENTS.jsonl [ROUNDS]
//! ```
//!
//! Each stage is timed over every line of the file, `ROUNDS` times (default
//! 3, the fastest round is reported), stages interleaved so that load on a
//! shared machine hits them alike. The difference of two rows is what the
//! later stage adds; each row is a lower bound of the run that includes it.
//! Rules are loaded with logsource scoping on, as `sigma-match` runs.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use sigma_match::compile::CompileOptions;
use sigma_match::eval::Matcher;
use sigma_match::compile::loader::{self, RuleFilter};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let split = args.iter().position(|a| a == "--").unwrap_or_else(|| {
        eprintln!("usage: stages RULES... -- EVENTS.jsonl [ROUNDS]");
        std::process::exit(2)
    });
    let rules: Vec<PathBuf> = args[..split].iter().map(PathBuf::from).collect();
    let events = &args[split + 1];
    let rounds: usize = args.get(split + 2).and_then(|r| r.parse().ok()).unwrap_or(3);
    let t = Instant::now();
    let (mut rs, _, _) = loader::load_ruleset(&rules, &RuleFilter::default(), CompileOptions::default());
    rs.set_scope(&sigma_match::mapping::scope::ScopeTable::builtin());
    eprintln!("{} rules loaded in {:.2?}", rs.rules.len(), t.elapsed());
    let text = std::fs::read(events).expect("events");
    let lines: Vec<&[u8]> = text.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
    let n = lines.len();

    let mut best = [Duration::MAX; 5];
    let names = [
        "simd-json tape parse (the --parse-only floor)",
        "+ event view walk (fields kept, no Plaso XML)",
        "+ Plaso xml_string resolution",
        "full evaluation, Plaso XML off (--no-evtx-xml)",
        "full evaluation (default)",
    ];
    let mut counts = [0usize; 5];
    for _ in 0..rounds {
        // 0: parse only.
        let mut buffers = simd_json::Buffers::new(4096);
        let mut line = Vec::new();
        let t = Instant::now();
        let mut ok = 0;
        for l in &lines {
            line.clear();
            line.extend_from_slice(l);
            let mut tape = simd_json::Tape::null().reset();
            ok += usize::from(simd_json::fill_tape(&mut line, &mut buffers, &mut tape).is_ok());
        }
        best[0] = best[0].min(t.elapsed());
        counts[0] = ok;
        for (stage, xml) in [(1, false), (2, true)] {
            let mut m = Matcher::new(&rs);
            m.view.options.evtx_xml = xml;
            let t = Instant::now();
            let mut ok = 0;
            for l in &lines {
                ok += usize::from(m.view.load(l, &rs.fields).is_ok());
            }
            best[stage] = best[stage].min(t.elapsed());
            counts[stage] = ok;
        }
        for (stage, xml) in [(3, false), (4, true)] {
            let mut m = Matcher::new(&rs);
            m.view.options.evtx_xml = xml;
            let t = Instant::now();
            let mut hits = 0;
            for l in &lines {
                hits += m.match_line(l).map_or(0, <[u32]>::len);
            }
            best[stage] = best[stage].min(t.elapsed());
            counts[stage] = hits;
        }
    }
    println!("{n} events from {events}, best of {rounds} rounds, one thread");
    for (i, name) in names.iter().enumerate() {
        let s = best[i].as_secs_f64();
        println!(
            "  {name:50} {s:7.3} s  {:6.2} us/event  {:5.2}x floor  ({})",
            s * 1e6 / n as f64,
            s / best[0].as_secs_f64(),
            if i < 3 { format!("{} events", counts[i]) } else { format!("{} rule matches", counts[i]) }
        );
    }
}
