//! Tagged timelines through the library: round trips on an input much larger
//! than one chunk (so chunks are evaluated in parallel and must come back in
//! order), failing runs that must leave no partial output, and the
//! refusal to overwrite an input.

mod common;

use std::collections::HashMap;
use std::io;
use std::path::Path;

use common::{Line, check_matches, check_tagged, timeline, write_rules};
use sigma_match::compile::{CompileOptions, Ruleset};
use sigma_match::run::engine::{self, LineMatch, RunOptions, Sink};
use sigma_match::compile::loader::{self, RuleFilter};
use sigma_match::mapping::Identity;
use sigma_match::output::{OutputError, OutputOptions, Outputs, check_not_input};
use sigma_match::input::CHUNK_SIZE;

fn ruleset(dir: &Path) -> Ruleset {
    let rules = write_rules(dir);
    let placeholders = HashMap::new();
    let opts = CompileOptions {
        mapping: &Identity,
        placeholders: &placeholders,
        keyword_fields: None,
    };
    let (rs, failed, _) = loader::load_ruleset(&[rules], &RuleFilter::default(), opts);
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(rs.rules.len(), 3);
    rs
}

fn opts() -> RunOptions {
    RunOptions {
        keep_malformed: 100,
        ..Default::default()
    }
}

/// A timeline spanning several parallel batches of chunks.
fn big_timeline() -> (Vec<u8>, Vec<Line>) {
    let (data, kinds) = timeline(60_000);
    let batch = rayon::current_num_threads().max(1) * 4;
    assert!(data.len() > 2 * CHUNK_SIZE, "input must span many chunks");
    eprintln!(
        "timeline: {} bytes = {:.1} chunks, batch {batch} chunks",
        data.len(),
        data.len() as f64 / CHUNK_SIZE as f64
    );
    (data, kinds)
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn tag_out_and_matches_round_trip_across_parallel_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let rs = ruleset(dir.path());
    let (data, kinds) = big_timeline();
    let input = dir.path().join("events.jsonl");
    std::fs::write(&input, &data).unwrap();
    let inputs = vec![input.to_string_lossy().into_owned()];
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let spec = OutputOptions {
        tag_out: Some(out.join("tagged.jsonl").to_string_lossy().into_owned()),
        matched_only: false,
        matches: Some(out.join("matches.jsonl").to_string_lossy().into_owned()),
        ..Default::default()
    };
    let mut outputs = Outputs::open(&spec, Default::default(), &rs, &inputs).unwrap();
    // Nothing appears under the final names before the commit.
    assert!(
        files_in(&out)
            .iter()
            .all(|f| f.starts_with('.') && f.ends_with(".partial"))
    );
    let stats = engine::run(&rs, &inputs, &opts(), &mut outputs.sinks()).unwrap();
    assert_eq!(
        stats.malformed,
        (0..60_000).filter(|n| n % 13 == 7).count() as u64 * 2
    );
    assert_eq!(outputs.unedited(), 0);
    outputs.commit().unwrap();
    assert_eq!(files_in(&out), ["matches.jsonl", "tagged.jsonl"]);

    let tagged = std::fs::read(out.join("tagged.jsonl")).unwrap();
    check_tagged(&data, &kinds, &tagged, false);
    let matches = std::fs::read(out.join("matches.jsonl")).unwrap();
    check_matches(
        &data,
        &kinds,
        &matches,
        &inputs[0],
        &dir.path().join("rules"),
    );
    let total: u64 = stats.counts.iter().sum();
    assert_eq!(common::split_lines(&matches).len() as u64, total);
}

#[test]
fn matched_only_writes_matched_events_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let rs = ruleset(dir.path());
    let (data, kinds) = big_timeline();
    let input = dir.path().join("events.jsonl");
    std::fs::write(&input, &data).unwrap();
    let inputs = vec![input.to_string_lossy().into_owned()];
    let tagged = dir.path().join("matched.jsonl");
    let spec = OutputOptions {
        tag_out: Some(tagged.to_string_lossy().into_owned()),
        matched_only: true,
        matches: None,
        ..Default::default()
    };
    let mut outputs = Outputs::open(&spec, Default::default(), &rs, &inputs).unwrap();
    engine::run(&rs, &inputs, &opts(), &mut outputs.sinks()).unwrap();
    outputs.commit().unwrap();
    check_tagged(&data, &kinds, &std::fs::read(&tagged).unwrap(), true);
}

#[test]
fn several_inputs_keep_their_order_and_do_not_run_together() {
    let dir = tempfile::tempdir().unwrap();
    let rs = ruleset(dir.path());
    // The first input has no final newline: its last event must stay a line.
    let a = dir.path().join("a.jsonl");
    std::fs::write(&a, "{\"message\":\"zmap a1\"}\n{\"message\":\"zmap a2\"}").unwrap();
    let b = dir.path().join("b.jsonl");
    std::fs::write(&b, "{\"message\":\"b1\"}\n").unwrap();
    let inputs = vec![
        a.to_string_lossy().into_owned(),
        b.to_string_lossy().into_owned(),
    ];
    let tagged = dir.path().join("t.jsonl");
    let spec = OutputOptions {
        tag_out: Some(tagged.to_string_lossy().into_owned()),
        ..Default::default()
    };
    let mut outputs = Outputs::open(&spec, Default::default(), &rs, &inputs).unwrap();
    engine::run(&rs, &inputs, &opts(), &mut outputs.sinks()).unwrap();
    outputs.commit().unwrap();
    let z = r#""ts_sigma_rule":["Zmap install","11111111-1111-4111-8111-111111111111"],"ts_ttp":["attack.discovery","attack.t1046"],"tag":["cve.2020-0001"]"#;
    assert_eq!(
        std::fs::read_to_string(&tagged).unwrap(),
        format!(
            "{{\"message\":\"zmap a1\",{z}}}\n{{\"message\":\"zmap a2\",{z}}}\n{{\"message\":\"b1\"}}\n"
        )
    );
}

/// Fails on its `n`th chunk, as a full disk or a closed pipe would.
struct FailingSink {
    n: usize,
    seen: usize,
}

impl Sink for FailingSink {
    fn chunk(&mut self, _: &str, _: &[u8], _: u64, _: &[LineMatch]) -> io::Result<()> {
        self.seen += 1;
        if self.seen == self.n {
            return Err(io::Error::other("disk full (simulated)"));
        }
        Ok(())
    }
}

#[test]
fn a_sink_failing_mid_run_leaves_no_partial_output() {
    let dir = tempfile::tempdir().unwrap();
    let rs = ruleset(dir.path());
    let (data, _) = big_timeline();
    let input = dir.path().join("events.jsonl");
    std::fs::write(&input, &data).unwrap();
    let inputs = vec![input.to_string_lossy().into_owned()];
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // An earlier complete output under the final name must survive the failed run.
    std::fs::write(out.join("tagged.jsonl"), "previous run\n").unwrap();
    let spec = OutputOptions {
        tag_out: Some(out.join("tagged.jsonl").to_string_lossy().into_owned()),
        matched_only: false,
        matches: Some(out.join("matches.jsonl").to_string_lossy().into_owned()),
        ..Default::default()
    };
    let mut outputs = Outputs::open(&spec, Default::default(), &rs, &inputs).unwrap();
    let mut failing = FailingSink { n: 3, seen: 0 };
    let result = {
        let mut sinks = outputs.sinks();
        sinks.push(&mut failing);
        engine::run(&rs, &inputs, &opts(), &mut sinks)
    };
    let err = result.expect_err("the run must fail");
    assert!(err.to_string().contains("disk full"), "{err}");
    assert_eq!(failing.seen, 3, "the run stops at the failing chunk");
    // The partial files were written to (two chunks' worth) ...
    let partial: u64 = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(
        partial > CHUNK_SIZE as u64,
        "partial output was being written: {partial} bytes"
    );
    // ... and dropping the uncommitted outputs removes them.
    let messages = outputs.abandon();
    assert_eq!(messages.len(), 2);
    assert_eq!(files_in(&out), ["tagged.jsonl"]);
    assert_eq!(
        std::fs::read_to_string(out.join("tagged.jsonl")).unwrap(),
        "previous run\n"
    );
}

#[test]
fn outputs_refuse_to_overwrite_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let rs = ruleset(dir.path());
    let input = dir.path().join("events.jsonl");
    std::fs::write(&input, "{\"message\":\"zmap\"}\n").unwrap();
    let inputs = vec![input.to_string_lossy().into_owned()];
    let dotted = dir.path().join(".").join("events.jsonl");
    let hard = dir.path().join("hard.jsonl");
    std::fs::hard_link(&input, &hard).unwrap();
    let mut same: Vec<std::path::PathBuf> = vec![input.clone(), dotted, hard];
    #[cfg(unix)]
    {
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(&input, &link).unwrap();
        same.push(link);
    }
    for p in &same {
        match check_not_input(p, &inputs) {
            Err(OutputError::WouldOverwriteInput { .. }) => {}
            other => panic!("{}: {other:?}", p.display()),
        }
        let spec = OutputOptions {
            matches: Some(p.to_string_lossy().into_owned()),
            ..Default::default()
        };
        assert!(matches!(
            Outputs::open(&spec, Default::default(), &rs, &inputs),
            Err(OutputError::WouldOverwriteInput { .. })
        ));
    }
    assert!(check_not_input(&dir.path().join("other.jsonl"), &inputs).is_ok());
    std::fs::write(dir.path().join("exists.jsonl"), "x").unwrap();
    assert!(check_not_input(&dir.path().join("exists.jsonl"), &inputs).is_ok());
    assert_eq!(
        std::fs::read_to_string(&input).unwrap(),
        "{\"message\":\"zmap\"}\n"
    );
}

#[test]
fn an_output_under_a_file_fails_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let rs = ruleset(dir.path());
    let file = dir.path().join("file.txt");
    std::fs::write(&file, "x").unwrap();
    let spec = OutputOptions {
        tag_out: Some(file.join("out.jsonl").to_string_lossy().into_owned()),
        ..Default::default()
    };
    let err = Outputs::open(&spec, Default::default(), &rs, &[]).err().expect("must fail");
    assert!(matches!(err, OutputError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("file.txt/out.jsonl"), "{err}");
    let names = files_in(dir.path());
    assert_eq!(names, ["file.txt", "rules"]);
}
