//! The hit timeline (`--timeline FILE`): one row per hit, ordered by event
//! time, as CSV or JSON lines.
//!
//! This module owns the timeline format (documented in `docs/timeline.md`):
//!
//! | column | content |
//! |---|---|
//! | `time` | the event's time, ISO 8601 UTC with microseconds (`2019-04-27T15:57:25.868863Z`; empty when the event has none) |
//! | `host` | `Computer` / `hostname` / `computer_name` |
//! | `level` | the rule's level |
//! | `rule` | the rule's title |
//! | `tactics`, `techniques` | ATT&CK, from the rule's tags (`execution; persistence`, `T1059.001`) |
//! | `details` | the event's telling fields for the rule's logsource ([`crate::output::hits::DETAILS`]) |
//! | `file`, `line` | where the event is (1-based line) |
//! | `copies` | how many events of the input are this record (Plaso writes each Windows record twice) |
//! | `rule_id`, `rule_file` | the rule |
//!
//! Rows are kept in memory (a few hundred bytes per hit) and written,
//! sorted by time (events without time last, then by file and line), when
//! the run ends. Plaso's copies of one Windows record are one row unless
//! `all_copies` is set. It does not decide what is a hit (the engine) or
//! which fields are shown (see [`crate::output::hits`]).

use std::collections::HashMap;
use std::io::{self, Write};

use crate::compile::Ruleset;
use crate::run::engine::{LineMatch, Sink};
use crate::output::hits::{self, HitFields};
use crate::event::time::EventTime;

/// The format of a hit timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimelineFormat {
    /// Comma-separated values with a header row (RFC 4180).
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl TimelineFormat {
    /// From a file name: `.jsonl`/`.json`/`.ndjson` is JSON lines, anything
    /// else (and `-`) CSV.
    pub fn from_path(path: &str) -> TimelineFormat {
        let lower = path.to_ascii_lowercase();
        if [".jsonl", ".json", ".ndjson"].iter().any(|e| lower.ends_with(e)) {
            TimelineFormat::Jsonl
        } else {
            TimelineFormat::Csv
        }
    }
}

/// The columns, in order.
pub const COLUMNS: [&str; 12] = [
    "time", "host", "level", "rule", "tactics", "techniques", "details", "file", "line", "copies",
    "rule_id", "rule_file",
];

/// Longest value shown per details field, in characters.
const DETAIL_MAX: usize = 400;

struct Row {
    time: Option<EventTime>,
    host: String,
    rule: u32,
    details: String,
    input: u32,
    line: u64,
    copies: u32,
}

/// Per rule: what every row of the rule repeats.
struct RuleCols {
    level: String,
    title: String,
    tactics: String,
    techniques: String,
    id: String,
    file: String,
    details: &'static [&'static str],
}

/// Collects hits and writes the sorted timeline at the end of the run.
pub struct TimelineWriter<W: Write> {
    out: W,
    format: TimelineFormat,
    all_copies: bool,
    fields: HitFields,
    rules: Vec<RuleCols>,
    inputs: Vec<String>,
    rows: Vec<Row>,
    /// (record, rule) -> row, for Plaso's copies.
    seen: HashMap<(u64, u32), usize>,
}

impl<W: Write> TimelineWriter<W> {
    pub fn new(
        ruleset: &Ruleset,
        fields: HitFields,
        out: W,
        format: TimelineFormat,
        all_copies: bool,
    ) -> Self {
        let rules = ruleset
            .rules
            .iter()
            .map(|r| {
                let (tac, tech) = hits::attack(&r.rule.tags);
                RuleCols {
                    level: r.rule.level.clone().unwrap_or_default(),
                    title: r.rule.title.clone(),
                    tactics: tac.join("; "),
                    techniques: tech.join("; "),
                    id: r.rule.id.clone().unwrap_or_default(),
                    file: r.rule.path.display().to_string(),
                    details: hits::detail_fields(&r.rule.logsource),
                }
            })
            .collect();
        TimelineWriter {
            out,
            format,
            all_copies,
            fields,
            rules,
            inputs: Vec::new(),
            rows: Vec::new(),
            seen: HashMap::new(),
        }
    }

    pub fn get_ref(&self) -> &W {
        &self.out
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    /// Adds a row that is not one event's hit (a correlation firing, see
    /// [`crate::correlation::output::timeline_rows`]); call before the
    /// writer's `finish`.
    #[allow(clippy::too_many_arguments)]
    pub fn add_row(
        &mut self,
        time: Option<EventTime>,
        host: &str,
        level: &str,
        title: &str,
        tags: &[String],
        details: String,
        input: &str,
        line: u64,
        copies: u32,
        id: &str,
        file: &str,
    ) {
        let (tac, tech) = hits::attack(tags);
        self.rules.push(RuleCols {
            level: level.to_string(),
            title: title.to_string(),
            tactics: tac.join("; "),
            techniques: tech.join("; "),
            id: id.to_string(),
            file: file.to_string(),
            details: &[],
        });
        let input = match self.inputs.iter().position(|i| i == input) {
            Some(i) => i,
            None => {
                self.inputs.push(input.to_string());
                self.inputs.len() - 1
            }
        };
        self.rows.push(Row {
            time,
            host: host.to_string(),
            rule: (self.rules.len() - 1) as u32,
            details,
            input: input as u32,
            line,
            copies,
        });
    }

    fn write_all_rows(&mut self) -> io::Result<()> {
        self.rows.sort_by(|a, b| {
            (a.time.is_none(), a.time, a.input, a.line, a.rule).cmp(&(
                b.time.is_none(),
                b.time,
                b.input,
                b.line,
                b.rule,
            ))
        });
        let mut buf = String::new();
        if self.format == TimelineFormat::Csv {
            buf.push_str(&COLUMNS.join(","));
            buf.push_str("\r\n");
        }
        for row in &self.rows {
            let r = &self.rules[row.rule as usize];
            let time = row.time.map(|t| t.to_iso()).unwrap_or_default();
            let line = row.line.to_string();
            let copies = row.copies.to_string();
            let cells: [&str; 12] = [
                &time,
                &row.host,
                &r.level,
                &r.title,
                &r.tactics,
                &r.techniques,
                &row.details,
                &self.inputs[row.input as usize],
                &line,
                &copies,
                &r.id,
                &r.file,
            ];
            match self.format {
                TimelineFormat::Csv => {
                    for (i, c) in cells.iter().enumerate() {
                        if i > 0 {
                            buf.push(',');
                        }
                        csv_cell(&mut buf, c);
                    }
                    buf.push_str("\r\n");
                }
                TimelineFormat::Jsonl => {
                    let mut obj = serde_json::Map::new();
                    for (k, c) in COLUMNS.iter().zip(cells) {
                        let v = match *k {
                            "line" => serde_json::Value::from(row.line),
                            "copies" => serde_json::Value::from(row.copies),
                            "time" if row.time.is_none() => serde_json::Value::Null,
                            "tactics" | "techniques" => serde_json::Value::from(
                                c.split("; ").filter(|s| !s.is_empty()).collect::<Vec<_>>(),
                            ),
                            _ => serde_json::Value::from(c),
                        };
                        obj.insert((*k).to_string(), v);
                    }
                    buf.push_str(&serde_json::Value::Object(obj).to_string());
                    buf.push('\n');
                }
            }
            if buf.len() > 1 << 20 {
                self.out.write_all(buf.as_bytes())?;
                buf.clear();
            }
        }
        self.out.write_all(buf.as_bytes())?;
        self.out.flush()
    }
}

/// RFC 4180: a cell with a comma, quote, or line break is quoted, quotes
/// doubled.
fn csv_cell(buf: &mut String, c: &str) {
    if c.contains([',', '"', '\n', '\r']) {
        buf.push('"');
        buf.push_str(&c.replace('"', "\"\""));
        buf.push('"');
    } else {
        buf.push_str(c);
    }
}

impl<W: Write> Sink for TimelineWriter<W> {
    fn chunk(
        &mut self,
        input: &str,
        _data: &[u8],
        _first_line: u64,
        matches: &[LineMatch],
    ) -> io::Result<()> {
        if matches.is_empty() {
            return Ok(());
        }
        if self.inputs.last().is_none_or(|l| l != input) {
            self.inputs.push(input.to_string());
        }
        let input_idx = (self.inputs.len() - 1) as u32;
        for m in matches {
            for &r in &m.rules {
                if !self.all_copies
                    && let Some(k) = m.record
                {
                    if let Some(&i) = self.seen.get(&(k, r)) {
                        self.rows[i].copies += 1;
                        continue;
                    }
                    self.seen.insert((k, r), self.rows.len());
                }
                let details = self
                    .fields
                    .details(self.rules[r as usize].details, &m.carried, DETAIL_MAX);
                self.rows.push(Row {
                    time: m.time,
                    host: self.fields.host(&m.carried).unwrap_or("").to_string(),
                    rule: r,
                    details,
                    input: input_idx,
                    line: m.line,
                    copies: 1,
                });
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.write_all_rows()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_when_needed() {
        let mut b = String::new();
        csv_cell(&mut b, "plain");
        b.push('|');
        csv_cell(&mut b, "a,b");
        b.push('|');
        csv_cell(&mut b, "say \"hi\"\nthere");
        assert_eq!(b, "plain|\"a,b\"|\"say \"\"hi\"\"\nthere\"");
    }

    #[test]
    fn format_follows_the_file_name() {
        assert_eq!(TimelineFormat::from_path("hits.JSONL"), TimelineFormat::Jsonl);
        assert_eq!(TimelineFormat::from_path("hits.csv"), TimelineFormat::Csv);
        assert_eq!(TimelineFormat::from_path("-"), TimelineFormat::Csv);
    }
}
