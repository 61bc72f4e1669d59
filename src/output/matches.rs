//! The match list: one JSON line per (event, rule) match, for scripting.
//!
//! This module owns the `--matches` line format:
//!
//! ```json
//! {"source":"events.jsonl","line":4,"time":"2015-07-24T19:01:03.000000Z","timestamp":123456791,"datetime":"2015-07-24T19:01:03+00:00",
//!  "rule_id":"5266a592-…","title":"Suspicious Installation of ZMap","level":"high",
//!  "rule_file":"rules/lnx_susp_zmap.yml","event":{…the event as read…}}
//! ```
//!
//! `time` is the event's time in ISO 8601 UTC, read where its format keeps
//! it (see [`crate::event::time`]; `null` when it has none); `timestamp` and
//! `datetime` are the event's top-level values as written (`null` when
//! absent); `rule_id` and `level` are `null` when the rule has
//! none. The event is embedded byte for byte, not re-serialised.

use std::io::{self, Write};

use crate::compile::Ruleset;
use crate::run::engine::{LineMatch, Sink};

use super::splice::scan_object;

/// Writes the match list (a [`Sink`]).
pub struct MatchWriter<W: Write> {
    out: W,
    /// Per rule: its `"rule_id":…,"title":…,"level":…,"rule_file":…` members.
    rules: Vec<String>,
    /// The current input's name, JSON-encoded.
    source: (String, String),
    buf: Vec<u8>,
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "null".into())
}

fn json_opt(s: Option<&str>) -> String {
    s.map_or_else(|| "null".into(), json_str)
}

impl<W: Write> MatchWriter<W> {
    pub fn new(ruleset: &Ruleset, out: W) -> Self {
        let rules = ruleset
            .rules
            .iter()
            .map(|c| {
                let r = &c.rule;
                format!(
                    "\"rule_id\":{},\"title\":{},\"level\":{},\"rule_file\":{}",
                    json_opt(r.id.as_deref()),
                    json_str(&r.title),
                    json_opt(r.level.as_deref()),
                    json_str(&r.path.to_string_lossy()),
                )
            })
            .collect();
        MatchWriter {
            out,
            rules,
            source: (String::new(), "\"\"".into()),
            buf: Vec::new(),
        }
    }

    pub fn get_ref(&self) -> &W {
        &self.out
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// The event's parts in a match line.
struct EventParts<'a> {
    /// The line without terminator and surrounding blanks.
    text: &'a [u8],
    /// Raw top-level `timestamp` and `datetime` values.
    timestamp: Option<&'a [u8]>,
    datetime: Option<&'a [u8]>,
    is_object: bool,
}

fn event_parts(line: &[u8]) -> EventParts<'_> {
    let start = line
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    let event = &line[start..end];
    let (mut ts, mut dt) = (None, None);
    let shape = scan_object(event, |k, r| match k {
        "timestamp" => ts = Some(&event[r]),
        "datetime" => dt = Some(&event[r]),
        _ => {}
    });
    EventParts {
        text: event,
        timestamp: ts,
        datetime: dt,
        is_object: shape.is_some(),
    }
}

impl<W: Write> Sink for MatchWriter<W> {
    fn chunk(
        &mut self,
        input: &str,
        data: &[u8],
        _first_line: u64,
        matches: &[LineMatch],
    ) -> io::Result<()> {
        if matches.is_empty() {
            return Ok(());
        }
        if self.source.0 != input {
            self.source = (input.to_string(), json_str(input));
        }
        for m in matches {
            let line = &data[m.range.start.min(data.len())..m.range.end.min(data.len())];
            let parts = event_parts(line);
            // The engine only reports lines that parsed as JSON objects; anything
            // else is embedded as a string so the output stays valid JSON.
            let embedded;
            let event: &[u8] = if parts.is_object {
                parts.text
            } else {
                embedded = json_str(&String::from_utf8_lossy(parts.text));
                embedded.as_bytes()
            };
            for &r in &m.rules {
                let Some(rule) = self.rules.get(r as usize) else {
                    continue;
                };
                self.buf.clear();
                let b = &mut self.buf;
                write!(
                    b,
                    "{{\"source\":{},\"line\":{},\"time\":",
                    self.source.1, m.line
                )?;
                match m.time {
                    Some(t) => write!(b, "\"{t}\"")?,
                    None => b.extend_from_slice(b"null"),
                }
                b.extend_from_slice(b",\"timestamp\":");
                b.extend_from_slice(parts.timestamp.unwrap_or(b"null"));
                b.extend_from_slice(b",\"datetime\":");
                b.extend_from_slice(parts.datetime.unwrap_or(b"null"));
                b.push(b',');
                b.extend_from_slice(rule.as_bytes());
                b.extend_from_slice(b",\"event\":");
                b.extend_from_slice(event);
                b.extend_from_slice(b"}\n");
                self.out.write_all(&self.buf)?;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_parts_trim_and_find_times() {
        let p = event_parts(b" {\"timestamp\": 12, \"datetime\" : \"d\"}\r");
        assert_eq!(p.text, b"{\"timestamp\": 12, \"datetime\" : \"d\"}");
        assert_eq!(p.timestamp, Some(&b"12"[..]));
        assert_eq!(p.datetime, Some(&b"\"d\""[..]));
        assert!(p.is_object);
        let p = event_parts(b"{\"a\":1}");
        assert_eq!((p.timestamp, p.datetime), (None, None));
        assert!(!event_parts(b"[1]").is_object);
    }
}
