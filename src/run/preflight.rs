//! Never a silent nothing: the checks that turn a run which would quietly
//! find nothing into an error with a reason.
//!
//! This module owns deciding, before and after a run, that its result
//! cannot be trusted: a rule or event path that does not exist, paths given
//! in the wrong order (events first, rules second), a run in which no rule
//! was loaded (empty folder, filters that leave nothing, every rule
//! broken), and an input of which no line could be read as an event. The
//! command line maps every [`RunError`] to exit status 2 (see the README's
//! exit-code table). It does not read events or rules itself beyond a
//! glance at a path's name, kind and first bytes.

use std::path::{Path, PathBuf};

use crate::run::engine::InputStats;
use crate::compile::loader::Filtered;
use crate::output::report::FailedRule;

/// A run that would otherwise look clean but found nothing for a reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error("{path}: no such file or directory (rule path){hint}")]
    MissingRules { path: String, hint: String },
    #[error("{path}: no such file or directory (event file){hint}")]
    MissingEvents { path: String, hint: String },
    #[error("no rule to run: {detail}{hint}")]
    NoRules { detail: String, hint: String },
    #[error(
        "{input}: no line could be read as an event ({malformed} malformed, first at line {first_line}: {first_reason}){hint}"
    )]
    Unreadable {
        input: String,
        malformed: u64,
        first_line: u64,
        first_reason: String,
        /// What the file looks like and what to do, when known.
        hint: String,
    },
}

/// Whether a path looks like Sigma rules: a folder, or a `.yml`/`.yaml` file.
fn looks_like_rules(p: &Path) -> bool {
    p.is_dir()
        || matches!(p.extension().and_then(|e| e.to_str()),
            Some(e) if e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
}

/// Whether a path looks like an event file: a known extension, or a file
/// whose first non-blank byte opens a JSON object.
fn looks_like_events(p: &Path) -> bool {
    const EXT: [&str; 9] = ["jsonl", "json", "ndjson", "csv", "evtx", "gz", "zst", "log", "plaso"];
    if matches!(p.extension().and_then(|e| e.to_str()),
        Some(e) if EXT.iter().any(|x| x.eq_ignore_ascii_case(e)))
    {
        return true;
    }
    if !p.is_file() {
        return false;
    }
    use std::io::Read;
    let mut buf = [0u8; 64];
    let n = std::fs::File::open(p)
        .and_then(|mut f| f.read(&mut buf))
        .unwrap_or(0);
    buf[..n]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{')
}

/// A hint when the arguments look swapped (events first, rules second),
/// starting with a newline; empty otherwise.
pub fn swapped_hint(rules: &[PathBuf], events: &[String]) -> String {
    let first_is_events = rules
        .first()
        .is_some_and(|r| !looks_like_rules(r) && looks_like_events(r));
    let later_is_rules = events
        .iter()
        .find(|e| *e != "-" && looks_like_rules(Path::new(e)));
    match (first_is_events, later_is_rules) {
        (true, Some(r)) => format!(
            "\n  hint: the rules come first: sigma-match RULES EVENTS... ({} looks like events, {r} like rules)",
            rules[0].display()
        ),
        (true, None) => format!(
            "\n  hint: {} looks like an event file; the rules come first: sigma-match RULES EVENTS...",
            rules[0].display()
        ),
        _ => String::new(),
    }
}

/// Every rule path and event file must exist (`-` is standard input).
pub fn check_paths(rules: &[PathBuf], events: &[String]) -> Result<(), RunError> {
    let hint = || swapped_hint(rules, events);
    if let Some(p) = rules.iter().find(|p| !p.exists()) {
        return Err(RunError::MissingRules {
            path: p.display().to_string(),
            hint: hint(),
        });
    }
    if let Some(e) = events
        .iter()
        .find(|e| *e != "-" && !Path::new(e).exists())
    {
        return Err(RunError::MissingEvents {
            path: e.clone(),
            hint: hint(),
        });
    }
    Ok(())
}

/// A run must have at least one rule to run: says why there is none.
pub fn check_loaded(
    loaded: usize,
    failed: &[FailedRule],
    filtered: &Filtered,
    rules: &[PathBuf],
    events: &[String],
) -> Result<(), RunError> {
    if loaded > 0 {
        return Ok(());
    }
    let paths: Vec<String> = rules.iter().map(|p| p.display().to_string()).collect();
    let found = failed.len() + filtered.total();
    let detail = if found == 0 {
        format!("no .yml/.yaml rule file under {}", paths.join(", "))
    } else {
        let mut parts = Vec::new();
        if !failed.is_empty() {
            parts.push(format!(
                "{} failed to load (first: {})",
                failed.len(),
                failed[0].issue
            ));
        }
        if filtered.status_or_level > 0 {
            parts.push(format!("{} left out by --status/--level", filtered.status_or_level));
        }
        if filtered.min_level > 0 {
            parts.push(format!("{} below --min-level", filtered.min_level));
        }
        if filtered.excluded > 0 {
            parts.push(format!("{} excluded by --exclude-rules", filtered.excluded));
        }
        format!("{found} rules found in {}: {}", paths.join(", "), parts.join(", "))
    };
    Err(RunError::NoRules {
        detail,
        hint: swapped_hint(rules, events),
    })
}

/// Inputs of which not one line was an event (only malformed lines).
/// Empty inputs and inputs of blank lines are not errors.
pub fn check_inputs(inputs: &[InputStats]) -> Vec<RunError> {
    inputs
        .iter()
        .filter(|i| i.events == 0 && i.malformed > 0)
        .map(|i| RunError::Unreadable {
            input: i.name.clone(),
            malformed: i.malformed,
            first_line: i.first_malformed.as_ref().map_or(0, |m| m.0),
            first_reason: i
                .first_malformed
                .as_ref()
                .map_or_else(String::new, |m| m.1.clone()),
            hint: if i.format.is_empty() {
                String::new()
            } else {
                format!(
                    "; it was read as {}: give JSON lines (one object per line), a CSV timeline with a header row, or an .evtx file, plain or compressed with gzip, zstd, bzip2 or xz",
                    i.format
                )
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swapped_arguments_get_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let ev = dir.path().join("events.jsonl");
        std::fs::write(&ev, "{\"a\":1}\n").unwrap();
        let rules = dir.path().join("rules");
        std::fs::create_dir(&rules).unwrap();
        let h = swapped_hint(std::slice::from_ref(&ev), &[rules.display().to_string()]);
        assert!(h.contains("the rules come first"), "{h}");
        assert!(swapped_hint(std::slice::from_ref(&rules), &[ev.display().to_string()]).is_empty());
        // An extension-less JSON file is recognised by its first byte.
        let odd = dir.path().join("timeline");
        std::fs::write(&odd, "  {\"a\":1}\n").unwrap();
        assert!(!swapped_hint(&[odd], &["-".into()]).is_empty());
    }

    #[test]
    fn missing_paths_and_empty_runs_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-rules");
        let e = check_paths(&[missing], &["-".into()]).unwrap_err();
        assert!(e.to_string().contains("no-such-rules: no such file or directory (rule path)"));
        let e = check_paths(&[dir.path().to_path_buf()], &["nope.jsonl".into()]).unwrap_err();
        assert!(matches!(e, RunError::MissingEvents { .. }));
        let e = check_loaded(0, &[], &Filtered::default(), &[dir.path().to_path_buf()], &[])
            .unwrap_err();
        assert!(e.to_string().contains("no .yml/.yaml rule file"), "{e}");
        let f = Filtered {
            status_or_level: 3,
            ..Default::default()
        };
        let e = check_loaded(0, &[], &f, &[dir.path().to_path_buf()], &[]).unwrap_err();
        assert!(e.to_string().contains("3 left out by --status/--level"), "{e}");
        assert!(check_loaded(1, &[], &f, &[], &[]).is_ok());
    }

    #[test]
    fn inputs_without_a_single_event_are_errors() {
        let stats = [
            InputStats {
                name: "bad.gz".into(),
                events: 0,
                malformed: 7,
                blank: 0,
                first_malformed: Some((1, "invalid JSON".into())),
                ..Default::default()
            },
            InputStats {
                name: "ok.jsonl".into(),
                events: 3,
                malformed: 1,
                blank: 0,
                first_malformed: Some((2, "invalid JSON".into())),
                ..Default::default()
            },
            InputStats {
                name: "empty.jsonl".into(),
                ..Default::default()
            },
        ];
        let errs = check_inputs(&stats);
        assert_eq!(errs.len(), 1);
        assert!(errs[0].to_string().starts_with("bad.gz: no line could be read as an event (7 malformed, first at line 1"));
    }
}
