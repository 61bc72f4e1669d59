//! How `verify` findings are shown: one line per finding, a summary grouped
//! by reason, or one JSON document with the same content.

use std::fmt::Write as _;

use serde::Serialize;

use super::relocate::Moved;
use super::{Severity, Verified};

/// One finding as `path: severity: reason (line:col)`.
pub fn finding_lines(v: &Verified) -> String {
    let mut s = String::new();
    for f in &v.findings {
        let _ = write!(
            s,
            "{}: {}: {}",
            f.path.display(),
            f.severity.name(),
            f.message
        );
        if let Some(p) = f.pos {
            let _ = write!(s, " ({p})");
        }
        s.push('\n');
    }
    s
}

/// The summary: counts of rules, then findings grouped by reason.
pub fn summary(v: &Verified) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "verified {} rules in {} files: {} ok, {} with warnings, {} with errors",
        v.rules.len(),
        v.files,
        v.ok(),
        v.with(Severity::Warning),
        v.with(Severity::Error)
    );
    let reasons = v.by_reason();
    if !reasons.is_empty() {
        let width = reasons.iter().map(|r| r.1.len()).max().unwrap_or(0);
        let _ = writeln!(s, "findings by reason:");
        for (sev, cat, n) in reasons {
            let _ = writeln!(s, "  {:<7}  {cat:<width$}  {n}", sev.name());
        }
    }
    s
}

/// The lines printed for moved (or not moved) files.
pub fn moved_lines(moved: &[Moved]) -> String {
    let mut s = String::new();
    for m in moved {
        match &m.error {
            None => {
                let _ = writeln!(s, "moved {} -> {}", m.from.display(), m.to.display());
            }
            Some(e) => {
                let _ = writeln!(s, "not moved {}: {e}", m.from.display());
            }
        }
    }
    s
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    path: String,
    line: Option<usize>,
    col: Option<usize>,
    severity: Severity,
    category: &'a str,
    message: &'a str,
    title: Option<&'a str>,
    id: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonReason<'a> {
    severity: Severity,
    category: &'a str,
    count: usize,
}

#[derive(Serialize)]
struct JsonMoved {
    from: String,
    to: String,
    error: Option<String>,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    files: usize,
    rules: usize,
    ok: usize,
    warnings: usize,
    errors: usize,
    by_reason: Vec<JsonReason<'a>>,
    findings: Vec<JsonFinding<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    moved: Option<Vec<JsonMoved>>,
}

/// The whole outcome as one JSON document (`--format json`).
pub fn to_json(v: &Verified, moved: Option<&[Moved]>) -> String {
    let report = JsonReport {
        files: v.files,
        rules: v.rules.len(),
        ok: v.ok(),
        warnings: v.with(Severity::Warning),
        errors: v.with(Severity::Error),
        by_reason: v
            .by_reason()
            .into_iter()
            .map(|(severity, category, count)| JsonReason {
                severity,
                category,
                count,
            })
            .collect(),
        findings: v
            .findings
            .iter()
            .map(|f| {
                let unit = &v.rules[f.rule];
                JsonFinding {
                    path: f.path.display().to_string(),
                    line: f.pos.map(|p| p.line),
                    col: f.pos.map(|p| p.col),
                    severity: f.severity,
                    category: f.category,
                    message: &f.message,
                    title: unit.title.as_deref(),
                    id: unit.id.as_deref(),
                }
            })
            .collect(),
        moved: moved.map(|m| {
            m.iter()
                .map(|m| JsonMoved {
                    from: m.from.display().to_string(),
                    to: m.to.display().to_string(),
                    error: m.error.as_ref().map(ToString::to_string),
                })
                .collect()
        }),
    };
    serde_json::to_string_pretty(&report).unwrap_or_default()
}
