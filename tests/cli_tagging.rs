//! `--tag-out`, `--matched-only` and `--matches` through the command line:
//! the Timesketch fixture, standard input and output streams, refusals and
//! failed runs that must leave nothing behind. Over the shared corpus (when
//! `SIGMA_MATCH_SHARED` is set) the SigmaHQ rules tag a real Plaso export and
//! the output must round-trip.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{check_matches, check_tagged, split_lines, timeline, write_rules};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_sigma-match");

fn testdata(p: &str) -> String {
    format!("{}/testdata/{p}", env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).arg("-q").output().unwrap()
}

fn run_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .arg("-q")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    out
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn timesketch_fixture_tagged_like_the_sigma_analyzer() {
    let dir = tempfile::tempdir().unwrap();
    let events = testdata("timesketch/sigma_events.jsonl");
    let out = dir.path().join("tagged.jsonl");
    let o = run(&[
        &testdata("timesketch/rules"),
        &events,
        "--tag-out",
        &s(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let input = std::fs::read(&events).unwrap();
    let output = std::fs::read(&out).unwrap();
    let (ins, outs) = (split_lines(&input), split_lines(&output));
    assert_eq!(ins.len(), outs.len());
    for (k, (i, o)) in ins.iter().zip(&outs).enumerate() {
        if k != 3 {
            assert_eq!(i, o, "line {}", k + 1);
        }
    }
    // Line 4 (apt-get install zmap) is matched by "Suspicious Installation of ZMap".
    let tagged: Value = serde_json::from_slice(outs[3]).unwrap();
    let mut want: Value = serde_json::from_slice(ins[3]).unwrap();
    want["ts_sigma_rule"] = serde_json::json!([
        "Suspicious Installation of ZMap",
        "5266a592-b793-11ea-b3de-0242ac130004"
    ]);
    want["ts_ttp"] = serde_json::json!(["attack.discovery", "attack.t1046"]);
    assert_eq!(tagged, want);
    // Timesketch's JSONL importer needs these, untouched.
    for k in ["message", "datetime", "timestamp", "timestamp_desc"] {
        assert!(tagged.get(k).is_some(), "{k}");
    }
    // The README shows this line as the example of a tagged event.
    let readme =
        std::fs::read_to_string(format!("{}/README.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    assert!(
        readme.contains(std::str::from_utf8(outs[3]).unwrap()),
        "README example is out of date"
    );
    // The input ends without a newline; so does the output.
    assert_eq!(input.last() != Some(&b'\n'), output.last() != Some(&b'\n'));
}

#[test]
fn stdin_to_stdout_streams_in_order_with_the_report_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write_rules(dir.path());
    let (data, kinds) = timeline(25_000); // several stream chunks
    let o = run_stdin(
        &[&s(&rules), "-", "--tag-out", "-", "--format", "json"],
        &data,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    check_tagged(&data, &kinds, &o.stdout, false);
    let report: Value = serde_json::from_str(&stderr(&o)).expect("the report goes to stderr");
    assert_eq!(report["summary"]["events"], 25_000);
}

#[test]
fn matched_only_and_matches_files() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write_rules(dir.path());
    let (data, kinds) = timeline(3_000);
    let events = dir.path().join("events.jsonl");
    std::fs::write(&events, &data).unwrap();
    let tagged = dir.path().join("matched.jsonl");
    let matches = dir.path().join("matches.jsonl");
    let o = run(&[
        &s(&rules),
        &s(&events),
        "--tag-out",
        &s(&tagged),
        "--matched-only",
        "--matches",
        &s(&matches),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Zmap install"),
        "the report stays on stdout"
    );
    check_tagged(&data, &kinds, &std::fs::read(&tagged).unwrap(), true);
    check_matches(
        &data,
        &kinds,
        &std::fs::read(&matches).unwrap(),
        &s(&events),
        &rules,
    );
}

#[test]
fn refuses_to_overwrite_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let original = "{\"message\": \"apt-get install zmap\"}\n";
    std::fs::write(&events, original).unwrap();
    let rules = testdata("timesketch/rules");
    let via_dot = format!("{}/./events.jsonl", dir.path().display());
    for flag in ["--tag-out", "--matches"] {
        for target in [s(&events), via_dot.clone()] {
            let o = run(&[&rules, &s(&events), flag, &target]);
            assert_eq!(o.status.code(), Some(2));
            assert!(
                stderr(&o).contains("refusing to overwrite input file"),
                "{}",
                stderr(&o)
            );
            assert_eq!(std::fs::read_to_string(&events).unwrap(), original);
        }
    }
    // Standard input redirected from the target file counts as an input too.
    let o = Command::new(BIN)
        .args([&rules, "-", "--tag-out", &s(&events), "-q"])
        .stdin(std::fs::File::open(&events).unwrap())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&events).unwrap(), original);
    let names: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(names, [events]);
}

#[test]
fn failed_runs_leave_no_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let rules = testdata("timesketch/rules");
    let events = testdata("timesketch/sigma_events.jsonl");
    let file = dir.path().join("file.txt");
    std::fs::write(&file, "x").unwrap();
    // The parent of the output is a file.
    let o = run(&[&rules, &events, "--tag-out", &s(&file.join("out.jsonl"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("file.txt/out.jsonl"), "{}", stderr(&o));
    // The folder does not exist.
    let o = run(&[
        &rules,
        &events,
        "--matches",
        &s(&dir.path().join("nope/m.jsonl")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    // An input does not exist: an error before any output is opened.
    let out = dir.path().join("tagged.jsonl");
    let o = run(&[
        &rules,
        &events,
        &s(&dir.path().join("missing.jsonl")),
        "--tag-out",
        &s(&out),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no such file"), "{}", stderr(&o));
    // An input cannot be read (a folder without event files): the tagged
    // timeline would miss its events, so it is not written.
    let other = tempfile::tempdir().unwrap();
    let o = run(&[&rules, &events, &s(other.path()), "--tag-out", &s(&out)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no event files"), "{}", stderr(&o));
    assert!(!out.exists());
    // The same file for both outputs.
    let o = run(&[
        &rules,
        &events,
        "--tag-out",
        &s(&out),
        "--matches",
        &s(&out),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("more than one output"),
        "{}",
        stderr(&o)
    );
    let names: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(names, [file], "no output and no temporary file left behind");
}

#[test]
#[cfg_attr(
    not(shared_corpus),
    ignore = "set SIGMA_MATCH_SHARED to the shared corpus to run (as .ci/run does)"
)]
fn matched_only_needs_tag_out() {
    let o = run(&[
        &testdata("timesketch/rules"),
        &testdata("timesketch/sigma_events.jsonl"),
        "--matched-only",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--tag-out"), "{}", stderr(&o));
}

/// The shared corpus, or `None` (with a note) when `SIGMA_MATCH_SHARED` is unset.
fn shared() -> Option<PathBuf> {
    match std::env::var_os("SIGMA_MATCH_SHARED") {
        None => {
            eprintln!("SIGMA_MATCH_SHARED is not set: corpus tagging test NOT run");
            None
        }
        Some(p) => {
            let p = PathBuf::from(p);
            for sub in ["sigmahq/rules", "events/plaso-attack.jsonl"] {
                assert!(
                    p.join(sub).exists(),
                    "SIGMA_MATCH_SHARED={} but {sub} is missing",
                    p.display()
                );
            }
            Some(p)
        }
    }
}

/// SigmaHQ over the real Plaso export: every unmatched line comes out
/// identical, every matched one parses to the original plus the attributes
/// its matches (from `--matches`) call for.
#[test]
#[cfg_attr(
    not(shared_corpus),
    ignore = "set SIGMA_MATCH_SHARED to the shared corpus to run (as .ci/run does)"
)]
fn corpus_plaso_export_round_trips() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let events = shared.join("events/plaso-attack.jsonl");
    let tagged = dir.path().join("tagged.jsonl");
    let matches = dir.path().join("matches.jsonl");
    let rules = shared.join("sigmahq/rules");
    let o = run(&[
        &s(&rules),
        &s(&events),
        "--tag-out",
        &s(&tagged),
        "--matches",
        &s(&matches),
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let input = std::fs::read(&events).unwrap();
    let output = std::fs::read(&tagged).unwrap();
    let (ins, outs) = (split_lines(&input), split_lines(&output));
    assert_eq!(ins.len(), outs.len());
    // Line number -> (titles and ids, tags) from the match list.
    let mut by_line: std::collections::BTreeMap<usize, Vec<Value>> = Default::default();
    for l in split_lines(&std::fs::read(&matches).unwrap()) {
        let m: Value = serde_json::from_slice(l).unwrap();
        by_line
            .entry(m["line"].as_u64().unwrap() as usize)
            .or_default()
            .push(m);
    }
    assert!(
        by_line.len() > 100,
        "SigmaHQ should tag many events of this export, got {}",
        by_line.len()
    );
    for (k, (i, o)) in ins.iter().zip(&outs).enumerate() {
        let Some(ms) = by_line.get(&(k + 1)) else {
            assert_eq!(i, o, "unmatched line {} must be identical", k + 1);
            continue;
        };
        let got: Value = serde_json::from_slice(o).unwrap();
        let mut want: Value = serde_json::from_slice(i).unwrap();
        let mut rule_names: Vec<Value> = Vec::new();
        for m in ms {
            assert_eq!(
                m["event"],
                want,
                "line {}: --matches embeds the event",
                k + 1
            );
            for v in [&m["title"], &m["rule_id"]] {
                if !v.is_null() && !rule_names.contains(v) {
                    rule_names.push(v.clone());
                }
            }
        }
        assert_eq!(
            got["ts_sigma_rule"],
            Value::Array(rule_names),
            "line {}",
            k + 1
        );
        // Apart from the three attributes, the event is unchanged.
        for key in ["ts_sigma_rule", "ts_ttp", "tag"] {
            if let Some(v) = got.get(key) {
                want[key] = v.clone();
            }
        }
        assert_eq!(got, want, "line {}", k + 1);
        if let Some(ttp) = got.get("ts_ttp").and_then(Value::as_array) {
            assert!(ttp.iter().all(|t| {
                t.as_str()
                    .is_some_and(|t| t.starts_with("attack.") || t.starts_with("car."))
            }));
        }
    }
}

#[cfg(unix)]
#[test]
fn symlinks_are_followed_and_devices_written_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let rules = testdata("timesketch/rules");
    let events = testdata("timesketch/sigma_events.jsonl");
    // A link to an earlier output: the file it points to is replaced, the link stays.
    let real = dir.path().join("real.jsonl");
    std::fs::write(&real, "old\n").unwrap();
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let o = run(&[&rules, &events, "--matches", &s(&link)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read_to_string(&real)
            .unwrap()
            .contains("Suspicious Installation of ZMap")
    );
    // A FIFO (like a device) is written, never replaced by a regular file.
    let fifo = dir.path().join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let o = run(&[&rules, &events, "--tag-out", &s(&fifo), "--matched-only"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        std::fs::metadata(&fifo).unwrap().file_type().is_fifo(),
        "the FIFO was replaced"
    );
    let got = String::from_utf8(reader.join().unwrap()).unwrap();
    assert!(
        got.starts_with("{\"message\": \"Install: zmap") && got.contains("ts_sigma_rule"),
        "{got}"
    );
}
