//! Every input format through the command line, with the real files of
//! `testdata/inputs/` (see its NOTICE.md): compressed fixtures give the
//! plain file's counts, damaged inputs are reported with their name while
//! the events before the damage count, CSV edge cases, raw EVTX in
//! `evtx_dump`'s shape, a corrupt EVTX chunk, a folder mixing every format,
//! compressed outputs, and clear messages for what is not read.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;

mod common;

use common::{bin, run_status as run};

/// Runs with `--format json -q` and returns (exit code, report, stderr).
fn report(args: &[&str]) -> (i32, Value, String) {
    let mut a = args.to_vec();
    a.extend(["--format", "json", "-q"]);
    let (code, out, err) = run(&a);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} / {err}"));
    (code, v, err)
}

/// Per-rule counts by title.
fn counts(doc: &Value) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = doc["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["title"].as_str().unwrap().to_string(), r["count"].as_u64().unwrap()))
        .collect();
    v.sort();
    v
}

fn events(doc: &Value) -> u64 {
    doc["summary"]["events"].as_u64().unwrap()
}

const TS_RULES: &str = "testdata/timesketch/rules";
const TS_CONFIG: &str = "testdata/timesketch/sigma_config.yaml";
const PLAIN: &str = "testdata/timesketch/sigma_events.jsonl";

#[test]
fn compressed_fixtures_give_the_plain_counts() {
    let (_, plain, _) = report(&["-c", TS_CONFIG, "-r", TS_RULES, PLAIN]);
    assert!(counts(&plain).iter().any(|(_, c)| *c > 0), "the fixture matches something");
    for (ext, format) in [
        ("gz", "jsonl+gzip"),
        ("zst", "jsonl+zstd"),
        ("bz2", "jsonl+bzip2"),
        ("xz", "jsonl+xz"),
    ] {
        let f = format!("testdata/inputs/sigma_events.jsonl.{ext}");
        let (code, doc, err) = report(&["-c", TS_CONFIG, "-r", TS_RULES, &f]);
        assert_eq!(code, 0, "{f}: {err}");
        assert_eq!(counts(&doc), counts(&plain), "{f}");
        assert_eq!(events(&doc), events(&plain), "{f}");
        assert_eq!(doc["inputs"][0]["format"], format, "{f}");
    }
}

#[test]
fn compressed_standard_input_is_recognised() {
    let data = std::fs::read("testdata/inputs/sigma_events.jsonl.zst").unwrap();
    let mut child = bin()
        .args(["-c", TS_CONFIG, "-r", TS_RULES, "-", "--format", "json", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&data).unwrap();
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    assert!(child.wait().unwrap().success());
    let doc: Value = serde_json::from_str(&out).unwrap();
    let (_, plain, _) = report(&["-c", TS_CONFIG, "-r", TS_RULES, PLAIN]);
    assert_eq!(counts(&doc), counts(&plain));
    assert_eq!(doc["inputs"][0]["format"], "jsonl+zstd");
}

#[test]
fn a_truncated_gzip_is_reported_and_the_events_before_it_count() {
    let f = "testdata/inputs/truncated.jsonl.gz";
    let (code, doc, err) = report(&["testdata/sigmahq/rules", f]);
    assert_eq!(code, 2, "an input that could not be read completely: {err}");
    assert_eq!(events(&doc), 9, "the 9 whole lines before the damage");
    let e = doc["input_errors"][0].as_str().unwrap();
    assert!(e.starts_with(f) && e.contains("gzip"), "{e}");
    assert!(err.contains(f), "{err}");
    assert_eq!(doc["inputs"][0]["error"].as_str(), Some(e));
}

#[test]
fn a_corrupt_zstd_frame_is_reported_and_the_first_frame_counts() {
    let f = "testdata/inputs/corrupt-frame.jsonl.zst";
    let (code, doc, _) = report(&["testdata/sigmahq/rules", f]);
    assert_eq!(code, 2);
    assert_eq!(events(&doc), 10, "frame 1 holds 10 whole lines");
    let e = doc["input_errors"][0].as_str().unwrap();
    assert!(e.starts_with(f) && e.contains("zstd"), "{e}");
}

fn write_rule(dir: &Path, name: &str, detection: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(
        &p,
        format!(
            "title: {name}\nid: 0e0e0e0e-0000-4000-8000-{:012}\nlogsource: {{product: windows}}\ndetection:\n{detection}\n",
            name.len()
        ),
    )
    .unwrap();
    p
}

#[test]
fn csv_edge_cases() {
    let d = tempfile::tempdir().unwrap();
    write_rule(
        d.path(),
        "whoami.yml",
        "  sel:\n    CommandLine|contains: whoami\n  condition: sel",
    );
    write_rule(d.path(), "eventid.yml", "  sel:\n    EventID: 4688\n  condition: sel");
    let rules = d.path().display().to_string();
    let matches = d.path().join("m.jsonl");
    let (code, doc, err) = report(&[
        &rules,
        "testdata/inputs/edge-cases.csv",
        "--matches",
        &matches.display().to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(events(&doc), 4);
    assert_eq!(doc["summary"]["malformed_lines"], 0);
    assert_eq!(doc["inputs"][0]["malformed"], 0);
    let c = counts(&doc);
    assert_eq!(
        c,
        vec![
            ("eventid.yml".into(), 2),
            ("whoami.yml".into(), 2)
        ],
        "numbers compare as in JSON"
    );
    assert!(err.contains("edge-cases.csv: line 6: 6 fields"), "{err}");
    let lines: Vec<Value> = std::fs::read_to_string(&matches)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The rows start on input lines 2 and 6 (row 2 spans lines 3-4).
    let whoami: Vec<u64> = lines
        .iter()
        .filter(|m| m["title"] == "whoami.yml")
        .map(|m| m["line"].as_u64().unwrap())
        .collect();
    assert_eq!(whoami, vec![2, 6]);
    let long = &lines.iter().find(|m| m["line"] == 6).unwrap()["event"];
    assert_eq!(long["Unnamed: 5"], "extra value");
    assert_eq!(long["EventID"], 4688);
    assert_eq!(long["message"], "long row");
}

#[test]
fn csv_quoted_newline_row_is_one_event() {
    let d = tempfile::tempdir().unwrap();
    write_rule(
        d.path(),
        "newline.yml",
        "  sel:\n    message|contains: 'a comma'\n  condition: sel",
    );
    let matches = d.path().join("m.jsonl");
    let (_, doc, _) = report(&[
        &d.path().display().to_string(),
        "testdata/inputs/edge-cases.csv",
        "--matches",
        &matches.display().to_string(),
    ]);
    assert_eq!(counts(&doc), vec![("newline.yml".into(), 1)]);
    let m: Value =
        serde_json::from_str(std::fs::read_to_string(&matches).unwrap().trim()).unwrap();
    assert_eq!(m["line"], 3);
    assert_eq!(
        m["event"]["message"],
        "a message with a \"quote\", a comma\r\nand a newline"
    );
    assert!(m["event"].get("CommandLine").is_some());
}

#[test]
fn evtx_records_come_out_exactly_as_evtx_dump_prints_them() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("tagged.jsonl");
    // No rule matches, so --tag-out is the input as read, byte for byte.
    write_rule(d.path(), "none.yml", "  sel:\n    EventID: 999999\n  condition: sel");
    let (code, doc, err) = report(&[
        &d.path().join("none.yml").display().to_string(),
        "testdata/inputs/rundll32_cmd_schtask.evtx",
        "--tag-out",
        &out.display().to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(events(&doc), 50);
    assert_eq!(doc["inputs"][0]["format"], "evtx");
    let ours = std::fs::read(&out).unwrap();
    let theirs = std::fs::read("testdata/inputs/rundll32_cmd_schtask.evtx_dump.jsonl").unwrap();
    assert!(ours == theirs, "the records differ from evtx_dump -o jsonl");
}

#[test]
fn evtx_and_its_evtx_dump_output_give_the_same_counts() {
    let a = report(&["testdata/sigmahq/rules", "testdata/inputs/rundll32_cmd_schtask.evtx"]).1;
    let b = report(&[
        "testdata/sigmahq/rules",
        "testdata/inputs/rundll32_cmd_schtask.evtx_dump.jsonl",
    ])
    .1;
    assert_eq!(counts(&a), counts(&b));
    assert_eq!(events(&a), 50);
}

#[test]
fn a_corrupt_evtx_chunk_is_a_warning_and_the_other_chunks_count() {
    let f = "testdata/inputs/corrupt-chunk.evtx";
    let (code, doc, err) = report(&["testdata/sigmahq/rules", f]);
    assert_eq!(code, 0, "not fatal: {err}");
    assert_eq!(events(&doc), 81, "chunks 0 and 2 (evtx_dump reads 81 records too)");
    let w = doc["inputs"][0]["warnings"][0].as_str().unwrap();
    assert!(w.starts_with(f) && w.contains("chunk number 1"), "{w}");
    assert!(err.contains("warning") && err.contains(f), "{err}");
    let (code, _, _) = report(&["testdata/sigmahq/rules", f, "--strict"]);
    assert_eq!(code, 1, "--strict fails on a skipped chunk");
}

#[test]
fn a_folder_mixing_every_format() {
    let d = tempfile::tempdir().unwrap();
    let case = d.path().join("case");
    std::fs::create_dir_all(case.join("host1/.cache")).unwrap();
    let copy = |from: &str, to: &str| std::fs::copy(from, case.join(to)).unwrap();
    copy(PLAIN, "a.jsonl");
    copy("testdata/inputs/sigma_events.jsonl.gz", "b.jsonl.gz");
    copy("testdata/inputs/sigma_events.jsonl.zst", "host1/c.jsonl.zst");
    copy("testdata/inputs/edge-cases.csv", "host1/d.csv");
    copy("testdata/inputs/rundll32_cmd_schtask.evtx", "host1/e.evtx");
    copy(PLAIN, "host1/.cache/hidden.jsonl");
    std::fs::write(case.join("notes.txt"), "analyst notes\n").unwrap();
    let tag = case.join("tagged.jsonl.gz");
    let matches = case.join("matches.jsonl");
    let rules = "testdata/sigmahq/rules";
    let (code, doc, err) = report(&[
        rules,
        &case.display().to_string(),
        "--tag-out",
        &tag.display().to_string(),
        "--matches",
        &matches.display().to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    let inputs = doc["inputs"].as_array().unwrap();
    let names: Vec<String> = inputs
        .iter()
        .map(|i| {
            Path::new(i["name"].as_str().unwrap())
                .strip_prefix(&case)
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(
        names,
        vec!["a.jsonl", "b.jsonl.gz", "host1/c.jsonl.zst", "host1/d.csv", "host1/e.evtx"],
        "sorted, hidden and non-event files skipped"
    );
    let formats: Vec<&str> = inputs.iter().map(|i| i["format"].as_str().unwrap()).collect();
    assert_eq!(formats, vec!["jsonl", "jsonl+gzip", "jsonl+zstd", "csv", "evtx"]);
    let per_input: Vec<u64> = inputs.iter().map(|i| i["events"].as_u64().unwrap()).collect();
    assert_eq!(per_input, vec![5, 5, 5, 4, 50]);
    assert_eq!(events(&doc), 69);
    assert!(err.contains("notes.txt"), "skipped files are named: {err}");
    // A second run over the same folder does not read its own outputs.
    let (_, again, _) = report(&[
        rules,
        &case.display().to_string(),
        "--tag-out",
        &tag.display().to_string(),
        "--matches",
        &matches.display().to_string(),
    ]);
    assert_eq!(events(&again), 69);
    // The tagged timeline is gzip (its name asks for it) and holds every event.
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(&tag).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text.lines().count(), 69);
    // Every match line names its input and line.
    for l in std::fs::read_to_string(&matches).unwrap().lines() {
        let m: Value = serde_json::from_str(l).unwrap();
        assert!(m["source"].as_str().unwrap().starts_with(&*case.to_string_lossy()));
        assert!(m["line"].as_u64().unwrap() >= 1);
    }
}

#[test]
fn zstd_output_when_the_name_asks() {
    let d = tempfile::tempdir().unwrap();
    let z = d.path().join("t.jsonl.zst");
    let plain = d.path().join("t.jsonl");
    for out in [&z, &plain] {
        let (code, _, err) = run(&[
            "-c",
            TS_CONFIG,
            "-r",
            TS_RULES,
            PLAIN,
            "-q",
            "--tag-out",
            &out.display().to_string(),
        ]);
        assert_eq!(code, 0, "{err}");
    }
    let decoded = zstd::decode_all(std::fs::File::open(&z).unwrap()).unwrap();
    assert_eq!(decoded, std::fs::read(&plain).unwrap());
    assert!(std::fs::read(&plain).unwrap().starts_with(b"{"));
}

#[test]
fn a_bom_does_not_make_the_first_event_malformed() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("bom.jsonl");
    let mut data = b"\xEF\xBB\xBF".to_vec();
    data.extend(std::fs::read("testdata/events/process.jsonl").unwrap());
    std::fs::write(&f, &data).unwrap();
    let (code, doc, _) = report(&["testdata/rules/proc_whoami.yml", &f.display().to_string()]);
    assert_eq!(code, 0);
    let (_, plain, _) = report(&["testdata/rules/proc_whoami.yml", "testdata/events/process.jsonl"]);
    assert_eq!(doc["summary"]["malformed_lines"], plain["summary"]["malformed_lines"]);
    assert_eq!(doc["malformed"], plain["malformed"].to_string().replace("testdata/events/process.jsonl", &f.display().to_string()).parse::<Value>().unwrap());
    assert_eq!(counts(&doc), counts(&plain));
    assert!(counts(&doc)[0].1 > 0, "the first event is whoami");
}

#[test]
fn what_is_not_read_is_named_with_what_to_do() {
    let d = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 4] = [
        ("x.zip", b"PK\x03\x04\x14\0\0\0\0\0", "unzip"),
        ("x.json", b"[{\"a\":1},\n{\"a\":2}]\n", "jq -c"),
        ("x.txt", b"\xFF\xFE{\0\"\0a\0\"\0:\x001\0}\0\n\0", "UTF-16"),
        ("x.bin", b"\x7fELF\x02\x01\x01\0\0\0\0\0", "binary"),
    ];
    for (name, bytes, hint) in cases {
        let f = d.path().join(name);
        std::fs::write(&f, bytes).unwrap();
        let (code, _, err) = run(&["testdata/rules/proc_whoami.yml", &f.display().to_string(), "-q"]);
        assert_eq!(code, 2, "{name}");
        assert!(err.contains(&*f.to_string_lossy()) && err.contains(hint), "{name}: {err}");
    }
}

#[test]
fn an_input_of_only_malformed_lines_gets_a_hint() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("broken.jsonl");
    std::fs::write(&f, "{not json\n{also not\n").unwrap();
    let (code, _, err) = run(&["testdata/rules/proc_whoami.yml", &f.display().to_string(), "-q"]);
    assert_eq!(code, 2);
    assert!(err.contains("no line could be read as an event (2 malformed"), "{err}");
    assert!(err.contains("it was read as jsonl: give JSON lines"), "{err}");
}

#[test]
fn explain_reads_every_format() {
    let (code, out, err) = run(&[
        "explain",
        "testdata/rules/proc_whoami.yml",
        "--events",
        "testdata/inputs/sigma_events.jsonl.gz",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("0 of 5 events matched"), "{out}");
    let (code, out, err) = run(&[
        "explain",
        "testdata/rules/proc_whoami.yml",
        "--event",
        "testdata/inputs/edge-cases.csv:6",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("edge-cases.csv:6"), "{out}");
}

#[test]
fn parse_only_reads_compressed_and_evtx_input() {
    let (code, out, err) = run(&[
        "--parse-only",
        "testdata/inputs/sigma_events.jsonl.xz",
        "testdata/inputs/rundll32_cmd_schtask.evtx",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("parse-only: 55 events, 0 malformed"), "{out}");
}

/// The shared CSV export of Timesketch's fixture gives exactly the counts of
/// its JSONL twin.
#[test]
#[cfg_attr(not(shared_corpus), ignore = "needs SIGMA_MATCH_SHARED")]
fn shared_timesketch_csv_counts_equal_its_jsonl() {
    let shared = std::env::var("SIGMA_MATCH_SHARED").unwrap();
    let ts = format!("{shared}/timesketch");
    for with_config in [false, true] {
        let mut base = vec!["-r".to_string(), format!("{ts}/rules")];
        if with_config {
            base.extend(["-c".to_string(), format!("{ts}/sigma_config.yaml")]);
        }
        let doc = |f: &str| {
            let mut a: Vec<&str> = base.iter().map(String::as_str).collect();
            let p = format!("{ts}/{f}");
            a.push(&p);
            report(&a).1
        };
        let (csv, jsonl) = (doc("sigma_events.csv"), doc("sigma_events.jsonl"));
        assert_eq!(counts(&csv), counts(&jsonl), "config {with_config}");
        assert!(counts(&csv).iter().any(|(_, c)| *c > 0));
    }
}

/// The 277 raw `.evtx` files of the shared EVTX-ATTACK-SAMPLES give, per
/// SigmaHQ rule, the counts `evtx_dump -o jsonl` of the same files gives
/// (recorded by `tests/tools/evtx_vs_evtx_dump.sh --golden`, which runs
/// `evtx_dump` itself), with logsource scoping (the default) and without.
#[test]
#[cfg_attr(not(shared_corpus), ignore = "needs SIGMA_MATCH_SHARED")]
fn shared_evtx_attack_samples_give_evtx_dumps_counts() {
    let shared = PathBuf::from(std::env::var("SIGMA_MATCH_SHARED").unwrap());
    let rules = shared.join("sigmahq/rules");
    let folder = shared.join("events/evtx-attack-samples");
    let golden = std::fs::read_to_string("tests/golden/evtx-attack-samples.tsv").unwrap();
    for cfg in ["scoped", "noscope"] {
        let mut want: Vec<(String, u64)> = Vec::new();
        let mut want_events = 0;
        for l in golden.lines() {
            let f: Vec<&str> = l.split('\t').collect();
            if f[0] != cfg {
                continue;
            }
            let n: u64 = f[2].parse().unwrap();
            if f[1] == "events" {
                want_events = n;
            } else {
                want.push((f[1].to_string(), n));
            }
        }
        let mut args = vec![rules.display().to_string(), folder.display().to_string()];
        if cfg == "noscope" {
            args.push("--no-scope".into());
        }
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, doc, err) = report(&a);
        assert_eq!(code, 0, "{err}");
        assert_eq!(events(&doc), want_events, "{cfg}");
        assert_eq!(doc["inputs"].as_array().unwrap().len(), 277);
        let mut got: Vec<(String, u64)> = doc["rules"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["count"].as_u64().unwrap() > 0)
            .map(|r| {
                let p = PathBuf::from(r["path"].as_str().unwrap());
                let rel = p.strip_prefix(&rules).unwrap().display().to_string();
                (rel, r["count"].as_u64().unwrap())
            })
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{cfg}");
    }
}
