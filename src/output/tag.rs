//! The tagged timeline: every input event, with Timesketch's Sigma
//! attributes merged into the matched ones.
//!
//! This module owns what a tagged event looks like. Timesketch's Sigma
//! analyzer (google/timesketch `timesketch/lib/analyzers/sigma_tagger.py`,
//! `SigmaPlugin.run_sigma_rule`) does, for each event a rule matches:
//! - `ts_sigma_rule`: existing list + the rule title + the rule id (if any),
//!   de-duplicated — always set;
//! - `ts_ttp`: existing list + rule tags starting with `attack.` or `car.`,
//!   de-duplicated — set only when that list is not empty;
//! - `tag`: the remaining rule tags, merged into the event's `tag` list via
//!   `Event.add_tags` (`interface.py`), which does nothing for no tags.
//!
//! [`TagWriter`] applies the same merge with [`super::splice::merge_lists`]
//! (a key with nothing to add is left untouched) and copies every other
//! byte of the input through unchanged, in input order.

use std::io::{self, Write};

use crate::compile::Ruleset;
use crate::run::engine::{LineMatch, Sink};

use super::splice::{ListMerge, merge_lists};

/// Timesketch attribute: titles and ids of the matching rules.
pub const TS_SIGMA_RULE: &str = "ts_sigma_rule";
/// Timesketch attribute: ATT&CK / CAR tags of the matching rules.
pub const TS_TTP: &str = "ts_ttp";
/// Timesketch attribute: the event's plain tags.
pub const TAG: &str = "tag";

/// What one rule adds to an event it matches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleAttributes {
    /// Title, then id if the rule has one.
    pub sigma_rule: Vec<String>,
    /// Tags starting with `attack.` or `car.` (case-sensitive, as Python's `startswith`).
    pub ttp: Vec<String>,
    /// The other tags.
    pub tag: Vec<String>,
}

impl RuleAttributes {
    pub fn new(title: &str, id: Option<&str>, tags: &[String]) -> RuleAttributes {
        let mut a = RuleAttributes {
            sigma_rule: vec![title.to_string()],
            ..Default::default()
        };
        // sigma_tagger.py: `if rule_id:` (an empty id is not added).
        if let Some(id) = id.filter(|i| !i.is_empty()) {
            a.sigma_rule.push(id.to_string());
        }
        for t in tags {
            if t.starts_with("attack.") || t.starts_with("car.") {
                a.ttp.push(t.clone());
            } else {
                a.tag.push(t.clone());
            }
        }
        a
    }
}

/// Writes the tagged timeline (a [`Sink`]). With `matched_only`, only the
/// matched events are written, each ending in its own line terminator.
///
/// Without it the output is the input byte for byte, except the edited
/// matched lines and one `\n` added between inputs when an input does not
/// end with a newline (so its last event and the next input's first do not
/// run together).
pub struct TagWriter<W: Write> {
    out: W,
    rules: Vec<RuleAttributes>,
    matched_only: bool,
    /// The last chunk written did not end with a newline.
    open_line: bool,
    buf: Vec<u8>,
    unedited: u64,
}

impl<W: Write> TagWriter<W> {
    pub fn new(ruleset: &Ruleset, out: W, matched_only: bool) -> Self {
        let rules = ruleset
            .rules
            .iter()
            .map(|r| RuleAttributes::new(&r.rule.title, r.rule.id.as_deref(), &r.rule.tags))
            .collect();
        Self::with_rules(rules, out, matched_only)
    }

    /// A writer for rules given by their attributes (index = rule index).
    pub fn with_rules(rules: Vec<RuleAttributes>, out: W, matched_only: bool) -> Self {
        TagWriter {
            out,
            rules,
            matched_only,
            open_line: false,
            buf: Vec::new(),
            unedited: 0,
        }
    }

    pub fn get_ref(&self) -> &W {
        &self.out
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    /// Matched lines written unchanged because they are not JSON objects.
    pub fn unedited(&self) -> u64 {
        self.unedited
    }

    /// Writes `line` with the attributes of `rules` merged in.
    fn write_tagged(&mut self, line: &[u8], rules: &[u32]) -> io::Result<()> {
        let mut sigma: Vec<&str> = Vec::new();
        let mut ttp: Vec<&str> = Vec::new();
        let mut tag: Vec<&str> = Vec::new();
        for &r in rules {
            let Some(a) = self.rules.get(r as usize) else {
                continue;
            };
            sigma.extend(a.sigma_rule.iter().map(String::as_str));
            ttp.extend(a.ttp.iter().map(String::as_str));
            tag.extend(a.tag.iter().map(String::as_str));
        }
        let merges = [
            ListMerge {
                key: TS_SIGMA_RULE,
                add: &sigma,
            },
            ListMerge {
                key: TS_TTP,
                add: &ttp,
            },
            ListMerge {
                key: TAG,
                add: &tag,
            },
        ];
        self.buf.clear();
        if merge_lists(line, &merges, &mut self.buf) {
            self.out.write_all(&self.buf)
        } else {
            self.unedited += 1;
            self.out.write_all(line)
        }
    }
}

impl<W: Write> Sink for TagWriter<W> {
    fn chunk(
        &mut self,
        _input: &str,
        data: &[u8],
        _first_line: u64,
        matches: &[LineMatch],
    ) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        if self.open_line {
            self.out.write_all(b"\n")?;
        }
        let mut pos = 0;
        for m in matches {
            let (start, mut end) = (m.range.start, m.range.end.min(data.len()));
            if end > start && data[end - 1] == b'\r' {
                end -= 1;
            }
            if !self.matched_only {
                self.out.write_all(&data[pos..start])?;
            }
            self.write_tagged(&data[start..end], &m.rules)?;
            pos = end;
            if self.matched_only {
                // The line's own terminator (`\r\n` or `\n`), or `\n` at the end of input.
                let term_end =
                    memchr::memchr(b'\n', &data[end..]).map_or(data.len(), |i| end + i + 1);
                let term = &data[end..term_end];
                self.out.write_all(term)?;
                if !term.ends_with(b"\n") {
                    self.out.write_all(b"\n")?;
                }
            }
        }
        if !self.matched_only {
            self.out.write_all(&data[pos..])?;
            self.open_line = data.last() != Some(&b'\n');
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
    fn tags_split_like_sigma_tagger() {
        let tags: Vec<String> = [
            "attack.t1046",
            "car.2013-04-002",
            "cve.2021-44228",
            "Attack.x",
            "detection.threat-hunting",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let a = RuleAttributes::new("Zmap", Some("5266a592"), &tags);
        assert_eq!(a.sigma_rule, ["Zmap", "5266a592"]);
        assert_eq!(a.ttp, ["attack.t1046", "car.2013-04-002"]);
        assert_eq!(
            a.tag,
            ["cve.2021-44228", "Attack.x", "detection.threat-hunting"]
        );
        assert_eq!(RuleAttributes::new("T", Some(""), &[]).sigma_rule, ["T"]);
        assert_eq!(RuleAttributes::new("T", None, &[]).sigma_rule, ["T"]);
    }

    fn writer(matched_only: bool) -> TagWriter<Vec<u8>> {
        let rule = RuleAttributes::new("R", Some("i"), &["attack.x".to_string(), "t".to_string()]);
        TagWriter::with_rules(vec![rule], Vec::new(), matched_only)
    }

    /// Matches for the given 1-based line numbers of `data`.
    fn matches(data: &[u8], lines: &[u64]) -> Vec<LineMatch> {
        crate::input::lines(data)
            .filter(|(i, _, _)| lines.contains(&(i + 1)))
            .map(|(i, _, range)| LineMatch {
                line: i + 1,
                range,
                rules: vec![0],
                ..Default::default()
            })
            .collect()
    }

    const TAGS: &str = r#""ts_sigma_rule":["R","i"],"ts_ttp":["attack.x"],"tag":["t"]"#;

    #[test]
    fn full_output_keeps_crlf_and_separates_inputs() {
        let mut w = writer(false);
        let a = b"{\"a\":1}\r\n\n{\"b\":2}\r\nnot json\n{\"c\":3}";
        w.chunk("a", a, 1, &matches(a, &[1, 5])).unwrap();
        let b = b"{\"d\":4}\n";
        w.chunk("b", b, 1, &matches(b, &[1])).unwrap();
        w.finish().unwrap();
        let want = format!(
            "{{\"a\":1,{TAGS}}}\r\n\n{{\"b\":2}}\r\nnot json\n{{\"c\":3,{TAGS}}}\n{{\"d\":4,{TAGS}}}\n"
        );
        assert_eq!(String::from_utf8(w.into_inner()).unwrap(), want);
    }

    #[test]
    fn matched_only_ends_every_line() {
        let mut w = writer(true);
        let a = b"{\"a\":1}\r\n{\"b\":2}\n{\"c\":3}\r";
        w.chunk("a", a, 1, &matches(a, &[1, 3])).unwrap();
        let b = b"{\"d\":4}";
        w.chunk("b", b, 1, &matches(b, &[1])).unwrap();
        let want = format!("{{\"a\":1,{TAGS}}}\r\n{{\"c\":3,{TAGS}}}\r\n{{\"d\":4,{TAGS}}}\n");
        assert_eq!(String::from_utf8(w.into_inner()).unwrap(), want);
    }

    #[test]
    fn matched_lines_that_are_not_objects_are_counted_and_kept() {
        let mut w = writer(false);
        let a = b"[1]\n";
        w.chunk("a", a, 1, &matches(a, &[1])).unwrap();
        assert_eq!(w.unedited(), 1);
        assert_eq!(w.into_inner(), a);
    }
}
