//! Shared fixtures of the tagging tests: three rules, a generated timeline
//! whose matches are known in advance, and checkers for `--tag-out` and
//! `--matches` output that recompute Timesketch's attribute merge
//! independently of the library.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// (file name, YAML). Loaded in file-name order, so rule index = position.
pub const RULES: [(&str, &str); 3] = [
    (
        "a_zmap.yml",
        "title: Zmap install
id: 11111111-1111-4111-8111-111111111111
status: stable
level: high
tags:
  - attack.discovery
  - attack.t1046
  - cve.2020-0001
logsource: {product: linux}
detection:
  sel:
    message|contains: zmap
  condition: sel
",
    ),
    (
        "b_netsh.yml",
        "title: Netsh portproxy
status: stable
level: medium
tags:
  - car.2013-04-002
  - custom.tag
logsource: {product: windows}
detection:
  sel:
    message|contains: netsh
  condition: sel
",
    ),
    (
        "c_scan.yml",
        "title: Port scan
id: 33333333-3333-4333-8333-333333333333
level: low
logsource: {product: linux}
detection:
  sel:
    message|contains: port scan
  condition: sel
",
    ),
];

/// Rule metadata as the checkers expect it.
pub struct Meta {
    pub title: &'static str,
    pub id: Option<&'static str>,
    pub level: &'static str,
    /// Tags that go to `ts_ttp`.
    pub ttp: &'static [&'static str],
    /// Tags that go to `tag`.
    pub tag: &'static [&'static str],
}

pub const META: [Meta; 3] = [
    Meta {
        title: "Zmap install",
        id: Some("11111111-1111-4111-8111-111111111111"),
        level: "high",
        ttp: &["attack.discovery", "attack.t1046"],
        tag: &["cve.2020-0001"],
    },
    Meta {
        title: "Netsh portproxy",
        id: None,
        level: "medium",
        ttp: &["car.2013-04-002"],
        tag: &["custom.tag"],
    },
    Meta {
        title: "Port scan",
        id: Some("33333333-3333-4333-8333-333333333333"),
        level: "low",
        ttp: &[],
        tag: &[],
    },
];

/// Writes the rules into `dir/rules` and returns that folder.
pub fn write_rules(dir: &Path) -> PathBuf {
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    for (name, text) in RULES {
        std::fs::write(rules.join(name), text).unwrap();
    }
    rules
}

/// What a physical input line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// An event; the indexes of the rules that match it.
    Event(Vec<usize>),
    /// Blank or malformed: must pass through untouched and never be tagged.
    Other,
}

/// A timeline of `events` events (plus blank and malformed lines) with
/// varied shapes: compact and spaced JSON, CRLF endings, existing `tag`,
/// `ts_sigma_rule` and `ts_ttp` values, nested `tag` keys, escapes and
/// non-ASCII text. Returns the bytes and what each line is.
pub fn timeline(events: usize) -> (Vec<u8>, Vec<Line>) {
    let mut out = Vec::new();
    let mut lines = Vec::new();
    let pad = "x".repeat(120);
    for n in 0..events {
        let mut msg = format!("event {n}");
        let mut rules = Vec::new();
        if n % 7 == 0 {
            msg.push_str(" apt-get install ZMap");
            rules.push(0);
        }
        if n % 11 == 0 {
            msg.push_str(" netsh interface portproxy");
            rules.push(1);
        }
        if n % 5 == 0 {
            msg.push_str(" port scan started");
            rules.push(2);
        }
        let ts = 1_600_000_000_000_000u64 + n as u64;
        let common = format!(
            r#""timestamp": {ts}, "datetime": "2020-09-13T12:26:40+00:00", "timestamp_desc": "Event Time""#
        );
        let variant = n % 13;
        if variant == 6 {
            out.extend_from_slice(b"   \n");
            lines.push(Line::Other);
        }
        if variant == 7 {
            out.extend_from_slice(b"{\"message\": \"zmap netsh port scan broken\n");
            lines.push(Line::Other);
            out.extend_from_slice(b"[\"zmap\"]\n");
            lines.push(Line::Other);
        }
        let line = match variant {
            1 => format!(
                r#"{{"message": "{msg}", {common}, "tag": ["existing", "custom.tag", "existing"], "n": {n}, "pad": "{pad}"}}"#
            ),
            2 => format!(
                r#"{{"message": "{msg}", "ts_sigma_rule": ["Older rule", "Zmap install"], {common}, "ts_ttp": ["attack.t1046"], "n": {n}, "pad": "{pad}"}}"#
            ),
            4 => format!(
                r#"{{"message": "{msg}", {common}, "extra": {{"tag": ["inner"], "ts_ttp": 1}}, "n": {n}, "pad": "{pad}"}}"#
            ),
            5 => format!(
                r#"{{"message": "{msg} \"quoted\" \u00e9 ü \\ tab\t", {common}, "n": {n}, "pad": "{pad}", "num": 1.50e+2}}"#
            ),
            8 => format!(
                r#"{{"message":"{msg}","tag":"single","n":{n},"pad":"{pad}","timestamp":{ts}}}"#
            ),
            9 => format!(r#"  {{ "n" : {n} , "message" : "{msg}" , "pad" : "{pad}" }}  "#),
            _ => format!(
                r#"{{"message":"{msg}","n":{n},"pad":"{pad}","timestamp":{ts},"timestamp_desc":"t"}}"#
            ),
        };
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(if variant == 3 { b"\r\n" } else { b"\n" });
        lines.push(Line::Event(rules));
    }
    (out, lines)
}

/// Splits output into lines keeping terminators off (like `str::split('\n')`
/// without the empty tail).
pub fn split_lines(data: &[u8]) -> Vec<&[u8]> {
    let mut v: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    if v.last().is_some_and(|l| l.is_empty()) {
        v.pop();
    }
    v
}

fn strip_cr(l: &[u8]) -> &[u8] {
    l.strip_suffix(b"\r").unwrap_or(l)
}

/// Timesketch's merge (sigma_tagger.py), recomputed: existing list (a
/// scalar becomes a one-element list, null none), duplicates dropped, new
/// values appended; a key is only written when something is added.
pub fn expected_event(input: &[u8], rules: &[usize]) -> Value {
    let mut v: Value = serde_json::from_slice(strip_cr(input)).unwrap();
    let mut adds: [(&str, Vec<&str>); 3] = [
        ("ts_sigma_rule", vec![]),
        ("ts_ttp", vec![]),
        ("tag", vec![]),
    ];
    for &r in rules {
        let m = &META[r];
        adds[0].1.push(m.title);
        adds[0].1.extend(m.id);
        adds[1].1.extend(m.ttp);
        adds[2].1.extend(m.tag);
    }
    let obj = v.as_object_mut().unwrap();
    for (key, add) in adds {
        if add.is_empty() {
            continue;
        }
        let mut list: Vec<Value> = match obj.get(key) {
            Some(Value::Array(a)) => a.clone(),
            Some(Value::Null) | None => vec![],
            Some(other) => vec![other.clone()],
        };
        let mut dedup: Vec<Value> = Vec::new();
        for x in list.drain(..).chain(add.iter().map(|s| json!(s))) {
            if !dedup.contains(&x) {
                dedup.push(x);
            }
        }
        obj.insert(key.to_string(), Value::Array(dedup));
    }
    v
}

/// Checks a `--tag-out` output against its input, line by line.
pub fn check_tagged(input: &[u8], kinds: &[Line], output: &[u8], matched_only: bool) {
    let ins = split_lines(input);
    assert_eq!(ins.len(), kinds.len());
    let outs = split_lines(output);
    let mut o = 0;
    for (i, (line, kind)) in ins.iter().zip(kinds).enumerate() {
        let rules = match kind {
            Line::Event(r) if !r.is_empty() => r,
            _ => {
                if !matched_only {
                    assert_eq!(
                        outs.get(o),
                        Some(line),
                        "input line {} must pass through unchanged",
                        i + 1
                    );
                    o += 1;
                }
                continue;
            }
        };
        let out = *outs
            .get(o)
            .unwrap_or_else(|| panic!("output ends before input line {}", i + 1));
        o += 1;
        assert_eq!(
            out.ends_with(b"\r"),
            line.ends_with(b"\r"),
            "line {}: CRLF kept",
            i + 1
        );
        let got: Value =
            serde_json::from_slice(strip_cr(out)).unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
        assert_eq!(got, expected_event(line, rules), "line {}", i + 1);
        // Members that were not edited keep their bytes: when none of the
        // three keys existed, the output is the input plus inserted members.
        let text = std::str::from_utf8(strip_cr(line)).unwrap();
        if !["\"tag\"", "\"ts_sigma_rule\"", "\"ts_ttp\""]
            .iter()
            .any(|k| text.contains(k))
        {
            let close = text.rfind('}').unwrap();
            let last = text[..close].trim_end().len();
            assert!(
                out.starts_with(&line[..last]),
                "line {}: prefix kept",
                i + 1
            );
            assert!(
                strip_cr(out).ends_with(&line[last..strip_cr(line).len()]),
                "line {}: suffix kept",
                i + 1
            );
        }
    }
    assert_eq!(o, outs.len(), "no extra output lines");
}

/// Checks a `--matches` output: one line per (event, rule) in input order.
/// The `time` a match line should carry: `datetime`, else `timestamp` in
/// microseconds (see `sigma_match::event::time`).
fn expected_time(ev: &Value) -> Value {
    use sigma_match::event::time::EventTime;
    let t = ev
        .get("datetime")
        .and_then(Value::as_str)
        .and_then(|s| EventTime::parse(s).ok())
        .or_else(|| {
            ev.get("timestamp")
                .and_then(Value::as_i64)
                .and_then(EventTime::from_plaso_micros)
        });
    t.map_or(Value::Null, |t| Value::String(t.to_iso()))
}

pub fn check_matches(input: &[u8], kinds: &[Line], output: &[u8], source: &str, rule_dir: &Path) {
    let ins = split_lines(input);
    let mut want = Vec::new();
    for (i, (line, kind)) in ins.iter().zip(kinds).enumerate() {
        let Line::Event(rules) = kind else { continue };
        let ev: Value = serde_json::from_slice(strip_cr(line)).unwrap();
        for &r in rules {
            let Meta {
                title, id, level, ..
            } = META[r];
            want.push(json!({
                "source": source,
                "line": i + 1,
                "time": expected_time(&ev),
                "timestamp": ev.get("timestamp").cloned().unwrap_or(Value::Null),
                "datetime": ev.get("datetime").cloned().unwrap_or(Value::Null),
                "rule_id": id,
                "title": title,
                "level": level,
                "rule_file": rule_dir.join(RULES[r].0).to_string_lossy(),
                "event": ev.clone(),
            }));
        }
    }
    let got: Vec<Value> = split_lines(output)
        .iter()
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(got.len(), want.len());
    for (k, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "match {k}");
    }
}

/// Runs the built binary from the crate root (CLI tests of verify/explain).
pub fn run(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_sigma-match"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("runs the binary")
}

/// A command's standard output as text.
pub fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The built binary, run from the crate root.
pub fn bin() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_sigma-match"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// Runs the binary: (exit code, standard output, standard error).
pub fn run_status(args: &[&str]) -> (i32, String, String) {
    let out = bin().args(args).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
