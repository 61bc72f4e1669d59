//! Which fields a compiled ruleset references, before and after mapping.
//!
//! This module owns the field inventory behind `sigma-match fields` and the
//! "never present in the input" diagnostic: for every rule-level field name
//! (as written in the rules, and in logsource conditions of a mapping
//! configuration) the event fields it was mapped to, and for every event
//! field the rule-level names that lead to it, each with the number of rules
//! that depend on it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use crate::compile::{Ruleset, Slot};
use crate::event::FieldId;

/// A field as written in rules, and where the mapping sends it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RuleField {
    pub field: String,
    pub rules: usize,
    pub mapped_to: Vec<String>,
}

/// A field looked up in events, and the rule-level names mapped to it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EventField {
    pub field: String,
    pub rules: usize,
    pub from: Vec<String>,
}

/// The inventory of a ruleset's fields.
#[derive(Debug, Clone, Serialize)]
pub struct FieldUsage {
    pub rules: usize,
    /// Rules with keyword (field-less) searches.
    pub keyword_rules: usize,
    /// Before mapping, sorted by rule count then name.
    pub rule_fields: Vec<RuleField>,
    /// After mapping, sorted by rule count then name.
    pub event_fields: Vec<EventField>,
}

impl FieldUsage {
    /// Collects the inventory of a compiled ruleset.
    pub fn of(ruleset: &Ruleset) -> FieldUsage {
        let mut before: BTreeMap<&str, (BTreeSet<usize>, BTreeSet<&str>)> = BTreeMap::new();
        let mut keyword_rules = 0;
        for (ri, r) in ruleset.rules.iter().enumerate() {
            let mut kw = false;
            for it in &r.items {
                match (it.slot, it.rule_field.as_deref()) {
                    (Slot::Field(f), Some(name)) => {
                        let b = before.entry(name).or_default();
                        b.0.insert(ri);
                        b.1.insert(ruleset.fields.name(f));
                    }
                    (Slot::Keywords, _) => kw = true,
                    (Slot::Field(_), None) => {}
                }
            }
            keyword_rules += usize::from(kw);
        }
        let mut rule_fields: Vec<RuleField> = before
            .into_iter()
            .map(|(f, (rules, to))| RuleField {
                field: f.to_string(),
                rules: rules.len(),
                mapped_to: to.into_iter().map(str::to_string).collect(),
            })
            .collect();
        rule_fields.sort_by(|a, b| b.rules.cmp(&a.rules).then_with(|| a.field.cmp(&b.field)));
        FieldUsage {
            rules: ruleset.rules.len(),
            keyword_rules,
            rule_fields,
            event_fields: Self::event_fields_where(ruleset, |_| true),
        }
    }

    /// The event-field rows ([`FieldUsage::event_fields`], same order) of
    /// the fields `keep` accepts, without the rule-field half: what the
    /// report's missing-field list needs, for the fields never seen.
    pub fn event_fields_where(ruleset: &Ruleset, keep: impl Fn(FieldId) -> bool) -> Vec<EventField> {
        let mut after: BTreeMap<FieldId, (BTreeSet<usize>, BTreeSet<&str>)> = BTreeMap::new();
        for (ri, r) in ruleset.rules.iter().enumerate() {
            for it in &r.items {
                if let (Slot::Field(f), Some(name)) = (it.slot, it.rule_field.as_deref())
                    && keep(f)
                {
                    let a = after.entry(f).or_default();
                    a.0.insert(ri);
                    a.1.insert(name);
                }
            }
        }
        let mut event_fields: Vec<EventField> = after
            .into_iter()
            .map(|(f, (rules, from))| EventField {
                field: ruleset.fields.name(f).to_string(),
                rules: rules.len(),
                from: from.into_iter().map(str::to_string).collect(),
            })
            .collect();
        event_fields.sort_by(|a, b| b.rules.cmp(&a.rules).then_with(|| a.field.cmp(&b.field)));
        event_fields
    }

    /// The event-field row of `name`, if any rule uses it.
    #[cfg(test)]
    pub fn event_field(&self, name: &str) -> Option<&EventField> {
        self.event_fields.iter().find(|e| e.field == name)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Two tables: rule fields (before mapping) and event fields (after).
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let before = self
            .rule_fields
            .iter()
            .map(|r| (r.rules, r.field.as_str(), &r.mapped_to));
        let title = format!(
            "rule fields (as written in rules and logsource conditions), {} rules:",
            self.rules
        );
        table(&mut out, &title, "mapped to", before);
        let after = self
            .event_fields
            .iter()
            .map(|r| (r.rules, r.field.as_str(), &r.from));
        table(
            &mut out,
            "\nevent fields (looked up in events, after mapping):",
            "from",
            after,
        );
        if self.keyword_rules > 0 {
            let _ = writeln!(
                out,
                "\n{} rules also use keyword (field-less) searches.",
                self.keyword_rules
            );
        }
        out
    }
}

/// One table: rule count, field name, related names.
fn table<'a>(
    out: &mut String,
    title: &str,
    related: &str,
    rows: impl Iterator<Item = (usize, &'a str, &'a Vec<String>)> + Clone,
) {
    let w = rows
        .clone()
        .map(|r| r.1.len())
        .chain([10])
        .max()
        .unwrap_or(10)
        .min(48);
    let _ = writeln!(out, "{title}");
    let _ = writeln!(out, "{:>6}  {:<w$}  {related}", "rules", "field");
    for (rules, field, names) in rows {
        let _ = writeln!(out, "{rules:>6}  {field:<w$}  {}", names.join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::{CompileOptions, Ruleset};
    use crate::sigma::rule::{Loaded, parse_text};

    #[test]
    fn before_and_after_mapping() {
        let text = "title: A\nlogsource: {product: windows}\ndetection:\n  s:\n    CommandLine|contains: x\n    EventID: 1\n  k: [evil]\n  condition: s or k\n---\ntitle: B\nlogsource: {product: linux}\ndetection:\n  s:\n    CommandLine: y\n  condition: s\n";
        let rules: Vec<_> = parse_text(std::path::Path::new("t.yml"), text)
            .into_iter()
            .map(|l| match l {
                Loaded::Rule(r) => *r,
                Loaded::Failed { issue, .. } => panic!("{issue}"),
            })
            .collect();
        let cfg = crate::mapping::sigmac::SigmacConfig::parse(
            std::path::Path::new("c.yml"),
            "fieldmappings:\n  EventID: event_identifier\n  CommandLine:\n    product=windows: xml_string\n    default: cmd\n",
        )
        .unwrap();
        let chain = crate::mapping::sigmac::SigmacChain { configs: vec![cfg] };
        let (rs, issues) = Ruleset::compile(
            rules,
            CompileOptions {
                mapping: &chain,
                ..Default::default()
            },
        );
        assert!(issues.is_empty());
        let u = FieldUsage::of(&rs);
        assert_eq!(u.keyword_rules, 1);
        assert_eq!(
            u.rule_fields[0],
            RuleField {
                field: "CommandLine".into(),
                rules: 2,
                mapped_to: vec!["cmd".into(), "xml_string".into()]
            }
        );
        assert_eq!(
            u.event_field("event_identifier").unwrap().from,
            vec!["EventID".to_string()]
        );
        assert_eq!(u.event_field("cmd").unwrap().rules, 1);
        let t = u.to_table();
        assert!(
            t.contains("CommandLine") && t.contains("cmd, xml_string"),
            "{t}"
        );
    }
}
