//! Never a silent nothing, and the bugs of issue 11: every case that used
//! to exit 0 looking like a clean run is an error with a reason and exit
//! status 2; error messages say each cause once; interrupted runs leave no
//! partial output; a closed standard output ends the run quietly.

use std::io::Write;
use std::process::{Command, Stdio};

mod common;

use common::{bin, run_status as run};

const RULES: &str = "testdata/timesketch/rules";
const EVENTS: &str = "testdata/timesketch/sigma_events.jsonl";

#[test]
fn a_missing_rule_path_is_an_error() {
    let (code, _, err) = run(&["./no-such-rules", EVENTS]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("./no-such-rules: no such file or directory (rule path)"), "{err}");
    let (code, _, err) = run(&["fields", "./no-such-rules"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&[RULES, "no-such-events.jsonl"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no-such-events.jsonl: no such file or directory (event file)"), "{err}");
}

#[test]
fn swapped_arguments_get_a_hint() {
    let (code, _, err) = run(&[EVENTS, RULES]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("hint: the rules come first"), "{err}");
}

#[test]
fn unknown_level_and_status_list_the_valid_values() {
    let (code, _, err) = run(&[RULES, EVENTS, "--level", "hihg"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("informational, low, medium, high, critical"), "{err}");
    let (code, _, err) = run(&[RULES, EVENTS, "--status", "stabel"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("stable, test, experimental, deprecated, unsupported"), "{err}");
    // Case does not matter.
    let (code, _, err) = run(&[RULES, EVENTS, "--level", "HIGH", "-q"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_run_that_loads_no_rule_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let (code, _, err) = run(&[&d, EVENTS]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no rule to run: no .yml/.yaml rule file under"), "{err}");
    let (code, _, err) = run(&[RULES, EVENTS, "--level", "low"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("3 left out by --status/--level"), "{err}");
    let (code, _, err) = run(&[RULES, EVENTS, "--min-level", "critical"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("3 below --min-level"), "{err}");
}

#[test]
fn an_input_with_no_readable_line_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // (A CSV timeline is read since issue 13; broken JSON lines are not.)
    let bad = dir.path().join("timeline.jsonl");
    std::fs::write(&bad, "{datetime: 2020-01-01T00:00:00Z\n{message: hello\n").unwrap();
    let b = bad.display().to_string();
    let (code, _, err) = run(&["-q", RULES, EVENTS, &b]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("timeline.jsonl: no line could be read as an event (2 malformed, first at line 1"), "{err}");
    // Some malformed lines among events: reported, not fatal.
    let mixed = dir.path().join("mixed.jsonl");
    std::fs::write(&mixed, "{\"message\":\"a\"}\nnot json\n").unwrap();
    let (code, _, err) = run(&["-q", RULES, &mixed.display().to_string()]);
    assert_eq!(code, 0, "{err}");
    // An empty input is not an error.
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let (code, _, err) = run(&["-q", RULES, EVENTS, &empty.display().to_string()]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn invalid_utf8_is_reported_at_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("u.jsonl");
    std::fs::write(&f, b"{\"message\":\"a\"}\n{\"message\":\"caf\xe9\"}\n").unwrap();
    let (code, out, err) = run(&[RULES, &f.display().to_string()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("u.jsonl:2: invalid UTF-8 at byte 16 of the line (bytes e9)"), "{out}");
}

#[test]
fn io_errors_say_each_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let (code, _, err) = run(&["-q", RULES, EVENTS, "--tag-out", &d]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.matches("is a directory").count(), 1, "{err}");
    #[cfg(unix)]
    {
        let ro = dir.path().join("ro");
        std::fs::create_dir(&ro).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        let target = ro.join("out.jsonl").display().to_string();
        let (_, _, err) = run(&["-q", RULES, EVENTS, "--tag-out", &target]);
        // (root writes anyway; then there is no error to check)
        assert!(err.matches("(os error").count() <= 1, "{err}");
    }
}

/// Every output on standard output ends quietly (exit 0, no "Broken pipe")
/// when its reader goes away.
#[test]
fn closed_stdout_ends_every_output_quietly() {
    for args in [
        vec!["--tag-out", "-"],
        vec!["--matches", "-"],
        vec!["--tag-out", "-", "--matched-only"],
    ] {
        let mut child = bin()
            .args([RULES, "-"])
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let mut stdin = child.stdin.take().unwrap();
        let event = std::fs::read(EVENTS).unwrap();
        for _ in 0..2000 {
            if stdin.write_all(&event).is_err() {
                break;
            }
        }
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe") && !err.contains("error"), "{args:?}: {err}");
    }
}

/// SIGINT / SIGTERM during a run that writes files: no `.partial` file is
/// left behind, and the exit status says which signal ended the run.
#[cfg(unix)]
#[test]
fn interrupted_runs_leave_no_partial_files() {
    for (sig, code) in [("-INT", 130), ("-TERM", 143)] {
        let dir = tempfile::tempdir().unwrap();
        let tag = dir.path().join("tagged.jsonl");
        let matches = dir.path().join("matches.jsonl");
        let mut child = bin()
            .args([RULES, "-", "-q", "--tag-out"])
            .arg(&tag)
            .arg("--matches")
            .arg(&matches)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Feed some events and keep standard input open: the run waits.
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&std::fs::read(EVENTS).unwrap()).unwrap();
        stdin.flush().unwrap();
        // Wait until the partial files exist.
        let partials = || {
            std::fs::read_dir(dir.path())
                .unwrap()
                .filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .file_name()
                        .to_string_lossy()
                        .ends_with(".partial")
                })
                .count()
        };
        for _ in 0..200 {
            if partials() == 2 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(partials(), 2, "outputs not opened");
        std::thread::sleep(std::time::Duration::from_millis(200));
        let st = Command::new("kill")
            .args([sig, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
        let out = child.wait_with_output().unwrap();
        drop(stdin);
        assert_eq!(out.status.code(), Some(code), "{sig}: {:?}", out.status);
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{sig}: left behind: {left:?}");
    }
}
