//! The parse-only floor of the performance benchmarks.
//!
//! This module owns `sigma-match --parse-only`: the same input path as a real
//! run (the [`crate::input::Feed`] batching loop over memory-mapped, streamed
//! or decoded chunks, parallel `rayon` batches, one `simd-json` tape parse per
//! line into per-thread buffers) and nothing else, so full evaluation can be compared against the cost of
//! merely reading the events.

use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::input::{Feed, Next, lines};

/// Totals of a parse-only pass.
#[derive(Debug, Clone, Default)]
pub struct FloorStats {
    pub events: u64,
    pub malformed: u64,
    pub bytes: u64,
    pub elapsed: Duration,
    pub input_errors: Vec<String>,
}

/// Per-thread parse scratch.
struct Parser {
    line: Vec<u8>,
    buffers: simd_json::Buffers,
    tape: Option<simd_json::Tape<'static>>,
}

impl Parser {
    fn new() -> Self {
        Parser {
            line: Vec::new(),
            buffers: simd_json::Buffers::new(4096),
            tape: Some(simd_json::Tape::null()),
        }
    }

    /// Parses one line; `true` when it is valid JSON.
    fn parse(&mut self, line: &[u8]) -> bool {
        self.line.clear();
        self.line.extend_from_slice(line);
        let mut tape = self
            .tape
            .take()
            .unwrap_or_else(simd_json::Tape::null)
            .reset();
        let ok = simd_json::fill_tape(&mut self.line, &mut self.buffers, &mut tape).is_ok();
        self.tape = Some(tape.reset());
        ok
    }
}

/// Reads and parses every line of the inputs, evaluating nothing.
pub fn parse_only(inputs: &[String]) -> FloorStats {
    let start = Instant::now();
    let mut stats = FloorStats::default();
    let mut feed = Feed::new(inputs, crate::run::engine::batch_size());
    loop {
        let batch = match feed.next_batch() {
            Next::Done => break,
            Next::OpenError(_, e) => {
                stats.input_errors.push(e.to_string());
                continue;
            }
            Next::Batch(b) => b,
        };
        let totals: Vec<(u64, u64, u64)> = batch
            .chunks
            .par_iter()
            .map_init(Parser::new, |p, chunk| {
                let (mut ok, mut bad) = (0, 0);
                let data = chunk.bytes.as_slice();
                for (_, line, _) in lines(data) {
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    if p.parse(line) { ok += 1 } else { bad += 1 }
                }
                (ok, bad, data.len() as u64)
            })
            .collect();
        for (ok, bad, bytes) in totals {
            stats.events += ok;
            stats.malformed += bad;
            stats.bytes += bytes;
        }
        if let Some(e) = batch.error {
            stats.input_errors.push(e.to_string());
        }
    }
    stats.elapsed = start.elapsed();
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_valid_and_malformed_lines() {
        let dir = std::env::temp_dir().join(format!("sigma-match-floor-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("e.jsonl");
        std::fs::write(&f, "{\"a\":1}\n\nnot json\n{\"b\":[1,2]}\n").unwrap();
        let s = parse_only(&[f.display().to_string()]);
        assert_eq!((s.events, s.malformed), (2, 1));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
