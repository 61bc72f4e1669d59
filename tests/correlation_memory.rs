//! Bounded memory of the correlation stage: 1,000,000 distinct group keys,
//! all open at once (one event each, all within the timespan), run through
//! the engine and the stage in this process; the process's peak resident
//! memory (`VmHWM`) must stay within the bound docs/correlation.md states
//! (320 MB; measured 253.9 MB).

use std::io::Write;

use sigma_match::compile::CompileOptions;
use sigma_match::compile::loader::RuleFilter;
use sigma_match::correlation::{self, load, stage::Collector};
use sigma_match::run::engine::{self, RunOptions};

/// docs/correlation.md, "Memory".
const BOUND_KB: u64 = 320 * 1024;

fn vm_hwm_kb() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let l = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    l.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn one_million_open_groups_stay_within_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("r.yml");
    std::fs::write(
        &rules,
        "title: many per user\ncorrelation: {type: event_count, rules: [r], group-by: [User], timespan: 1h, condition: {gte: 2}}\n---\ntitle: r\nname: r\nlogsource: {product: test}\ndetection: {s: {EventID: 1}, condition: s}\n",
    )
    .unwrap();
    let events = dir.path().join("e.jsonl");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&events).unwrap());
        let base: i64 = 1_709_283_600_000_000;
        for i in 0..1_000_000i64 {
            // 3 ms apart: all 1,000,000 within the hour, so every group is open at the end.
            writeln!(w, "{{\"timestamp\": {}, \"EventID\": 1, \"User\": \"user{i:07}\"}}", base + i * 3000).unwrap();
        }
    }
    let loaded = load::load_ruleset(
        &[rules],
        &RuleFilter::default(),
        CompileOptions::default(),
        &correlation::Options::default(),
    );
    assert!(loaded.failed.is_empty());
    let mut col = Collector::new(&loaded.plan);
    let name = events.display().to_string();
    let stats = engine::run(&loaded.ruleset, &[name], &RunOptions::default(), &mut [&mut col]).unwrap();
    assert_eq!(stats.events, 1_000_000);
    let out = col.finish_stage();
    let st = &out.stats[0];
    assert_eq!(st.records, 1_000_000);
    assert_eq!(st.limits.peak_groups, 1_000_000);
    assert_eq!((st.firings, st.limits.closed_groups, st.limits.dropped_events), (0, 0, 0));
    if let Some(kb) = vm_hwm_kb() {
        eprintln!("peak resident memory: {:.1} MB (bound {} MB)", kb as f64 / 1024.0, BOUND_KB / 1024);
        assert!(kb <= BOUND_KB, "peak {kb} kB over the documented bound {BOUND_KB} kB");
    }
}
