//! The engine's two drivers give the same run: the streaming one (chunks as
//! pool tasks, merged in order while the next batches are read; used with
//! two or more threads from outside the pool) and the batch one (a parallel
//! iterator per batch; used with one thread, or from inside a pool). Over
//! many batches of a Plaso export, several inputs, an input that cannot be
//! opened, malformed and blank lines: the same matches in the same order,
//! and the same totals.

use std::io::Write;
use std::path::{Path, PathBuf};

use sigma_match::compile::{CompileOptions, Ruleset, loader};
use sigma_match::run::engine::{self, LineMatch, RunOptions, RunStats, Sink};

#[derive(Default)]
struct Collect(Vec<String>);

impl Sink for Collect {
    fn chunk(&mut self, input: &str, data: &[u8], first: u64, m: &[LineMatch]) -> std::io::Result<()> {
        self.0.push(format!("{input} {} bytes from line {first}", data.len()));
        self.0.extend(m.iter().map(|m| format!("{input} {m:?}")));
        Ok(())
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn ruleset() -> Ruleset {
    let paths = [root().join("testdata/sigmahq/rules"), root().join("testdata/rules")];
    let (rs, _, _) = loader::load_ruleset(&paths, &Default::default(), CompileOptions::default());
    assert!(rs.rules.len() > 5, "{} rules", rs.rules.len());
    rs
}

/// A Plaso export of many chunks (1 MiB each): the sample's lines repeated
/// with a line number made unique, a malformed and a blank line now and
/// then.
fn big_input(dir: &Path) -> PathBuf {
    let sample = std::fs::read_to_string(root().join("testdata/plaso/plaso-sample.jsonl")).unwrap();
    let lines: Vec<&str> = sample.lines().collect();
    let path = dir.join("big.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut written = 0usize;
    let mut i = 0usize;
    while written < 24 << 20 {
        let l = lines[i % lines.len()];
        let l = l.replacen("\"timestamp\":", &format!("\"copy\": {i}, \"timestamp\":"), 1);
        let extra = match i % 997 {
            3 => "{\"not json\n",
            5 => "\n",
            _ => "",
        };
        write!(f, "{l}\n{extra}").unwrap();
        written += l.len() + 1 + extra.len();
        i += 1;
    }
    f.flush().unwrap();
    path
}

fn run(rs: &Ruleset, inputs: &[String]) -> (RunStats, Vec<String>) {
    let mut sink = Collect::default();
    let opts = RunOptions { keep_malformed: 50, ..Default::default() };
    let stats = engine::run(rs, inputs, &opts, &mut [&mut sink]).unwrap();
    (stats, sink.0)
}

/// What must not depend on the driver (not the timings).
fn summary(s: &RunStats) -> String {
    format!(
        "{} {} {} {} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {} {:?}",
        s.events,
        s.blank_lines,
        s.malformed,
        s.bytes,
        s.malformed_lines,
        s.counts,
        s.records,
        s.field_seen,
        s.input_errors,
        s.input_warnings,
        s.inputs,
        s.memo_lookups > 0,
        s.scope.is_some()
    )
}

#[test]
fn streaming_and_batch_drivers_give_the_same_run() {
    // The streaming driver runs on the global pool, from this (non-pool)
    // thread, when the pool has two threads or more.
    let _ = rayon::ThreadPoolBuilder::new().num_threads(3).build_global();
    assert!(rayon::current_num_threads() >= 2);
    let dir = tempfile::tempdir().unwrap();
    let big = big_input(dir.path());
    let inputs: Vec<String> = [
        big.clone(),
        dir.path().join("missing.jsonl"),
        root().join("testdata/inputs/truncated.jsonl.gz"),
        root().join("testdata/inputs/edge-cases.csv"),
        root().join("testdata/inputs/sigma_events.jsonl.zst"),
        big,
    ]
    .iter()
    .map(|p| p.display().to_string())
    .collect();
    let rs = ruleset();
    let streamed = run(&rs, &inputs);
    assert!(streamed.0.events > 10_000, "{} events", streamed.0.events);
    assert!(streamed.0.total_tags() > 0);
    assert!(streamed.0.malformed > 10 && streamed.0.blank_lines > 10);
    assert_eq!(streamed.0.input_errors.len(), 2, "{:?}", streamed.0.input_errors);
    // One thread, and a caller that is a pool worker: the batch driver.
    for threads in [1, 2, 3] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let batched = pool.install(|| run(&rs, &inputs));
        assert_eq!(summary(&batched.0), summary(&streamed.0), "{threads} threads");
        assert_eq!(batched.1.len(), streamed.1.len());
        for (i, (a, b)) in batched.1.iter().zip(&streamed.1).enumerate() {
            assert_eq!(a, b, "sink call {i}, {threads} threads");
        }
    }
}
