//! Evaluation cost: one event against 1, 100 and 3,000 rules (an event that
//! some rule matches, and one that none matches), throughput over a real
//! chunk of events, and throughput over distinct Plaso records against the
//! parse-only floor of the same lines (`unique_plaso`).
//!
//! Each case runs twice: with the scan memo (`sigma_match::eval::memo`), as the
//! engine runs, and without it (`no_memo`), every value scanned by the
//! automatons. A repeated single event is the memo's best case (all of its
//! values were seen); the 5,000-event chunk repeats too, so its `memo`
//! figure is an upper bound and `no_memo` the lower one.

mod common;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sigma_match::eval::Matcher;

/// The first event some rule matches and the first no rule matches (a rule
/// whose condition is only `not ...` can match every event; then none).
fn pick_events<'e>(
    m: &mut Matcher<'_>,
    events: &'e [Vec<u8>],
) -> (Option<&'e [u8]>, Option<&'e [u8]>) {
    let (mut hit, mut miss) = (None, None);
    for e in events {
        let matched = !m.match_line(e).map(<[u32]>::is_empty).unwrap_or(true);
        if matched && hit.is_none() {
            hit = Some(e.as_slice());
        } else if !matched && miss.is_none() {
            miss = Some(e.as_slice());
        }
        if hit.is_some() && miss.is_some() {
            break;
        }
    }
    (hit, miss)
}

fn single_event(c: &mut Criterion) {
    let events = common::event_lines(25_000);
    let mut g = c.benchmark_group("single_event");
    g.sample_size(20)
        .measurement_time(std::time::Duration::from_secs(2))
        .warm_up_time(std::time::Duration::from_secs(1));
    for n in [1, 100, 3000] {
        let rs = common::compile(&common::first_rules(n));
        let mut m = Matcher::new(&rs);
        let (hit, miss) = pick_events(&mut m, &events);
        for memo in [true, false] {
            m.scanner.memo.enabled = memo;
            let suffix = if memo { "memo" } else { "no_memo" };
            for (name, ev) in [("matching", hit), ("non_matching", miss)] {
                match ev {
                    Some(ev) => {
                        let id = BenchmarkId::new(format!("{name}_{suffix}"), rs.rules.len());
                        g.bench_with_input(id, ev, |b, ev| {
                            b.iter(|| m.match_line(ev).map(<[u32]>::len))
                        });
                    }
                    None => {
                        eprintln!("single_event/{name}/{n}: no such event in the input, skipped")
                    }
                }
            }
        }
    }
    g.finish();
}

fn throughput(c: &mut Criterion) {
    let events = common::event_lines(5_000);
    let bytes: usize = events.iter().map(Vec::len).sum();
    let rs = common::compile(&common::first_rules(usize::MAX));
    let mut m = Matcher::new(&rs);
    let mut g = c.benchmark_group("throughput");
    g.sample_size(10)
        .measurement_time(std::time::Duration::from_secs(3));
    g.throughput(Throughput::Elements(events.len() as u64));
    for memo in [true, false] {
        m.scanner.memo.enabled = memo;
        g.bench_function(
            format!(
                "{}_events_{bytes}_bytes_{}_rules_{}",
                events.len(),
                rs.rules.len(),
                if memo { "memo" } else { "no_memo" }
            ),
            |b| {
                b.iter(|| {
                    events
                        .iter()
                        .map(|e| m.match_line(e).map_or(0, <[u32]>::len))
                        .sum::<usize>()
                })
            },
        );
    }
    g.finish();
}

/// Distinct Plaso records (no repeated line, no second copy of a record),
/// the analyst's real input: 3.6 KB lines whose `message` and `xml_string`
/// keyword items search, Windows fields resolved from `xml_string`; SigmaHQ
/// `rules/` with logsource scoping, as the binary runs. `parse_only` is the
/// floor over the same lines (one simd-json tape parse each).
fn unique_plaso(c: &mut Criterion) {
    let events = common::unique_plaso_lines(5_000);
    let bytes: usize = events.iter().map(Vec::len).sum();
    let rs = common::compile_scoped(&common::first_rules(usize::MAX));
    let mut m = Matcher::new(&rs);
    let mut g = c.benchmark_group("unique_plaso");
    g.sample_size(10)
        .measurement_time(std::time::Duration::from_secs(3));
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function(
        format!("{}_events_{bytes}_bytes_{}_rules", events.len(), rs.rules.len()),
        |b| {
            b.iter(|| {
                events
                    .iter()
                    .map(|e| m.match_line(e).map_or(0, <[u32]>::len))
                    .sum::<usize>()
            })
        },
    );
    let mut buffers = simd_json::Buffers::new(4096);
    let mut line = Vec::new();
    g.bench_function(format!("{}_events_parse_only", events.len()), |b| {
        b.iter(|| {
            events
                .iter()
                .filter(|e| {
                    line.clear();
                    line.extend_from_slice(e);
                    let mut tape = simd_json::Tape::null().reset();
                    simd_json::fill_tape(&mut line, &mut buffers, &mut tape).is_ok()
                })
                .count()
        })
    });
    g.finish();
}

criterion_group!(benches, single_event, throughput, unique_plaso);
criterion_main!(benches);
