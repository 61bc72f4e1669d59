//! How correlation results are shown: report rows (hits = firings, events =
//! contributing events), the table's correlation section, the JSON
//! `correlations` member, `--matches` firing lines and timeline rows.
//!
//! A `--matches` firing line:
//!
//! ```json
//! {"correlation":"event_count","title":"Brute force","rule_id":"…","level":"high","rule_file":"…",
//!  "group":{"IpAddress":"10.0.0.5"},"window_start":"…Z","window_end":"…Z","value":12,
//!  "condition":"gte 10","timespan":"5m","events":[{"source":"sec.jsonl","line":4,"time":"…Z"},…]}
//! ```

use std::fmt::Write as _;
use std::io::{self, Write};

use super::load::Plan;
use super::stage::{Firing, Outcome};
use crate::output::report::{Report, RuleRow, RuleState};
use crate::event::time::EventTime;

fn iso(us: i64) -> String {
    EventTime::from_micros(us).to_iso()
}

/// Removes the rows of hidden rules and adds one row per correlation.
pub fn amend_report(report: &mut Report, ruleset: &crate::compile::Ruleset, plan: &Plan, out: &Outcome) {
    if plan.is_empty() && plan.hidden_count() == 0 {
        return;
    }
    let hidden: std::collections::HashSet<(String, String, Option<String>)> = ruleset
        .rules
        .iter()
        .zip(&plan.hidden)
        .filter(|(_, h)| **h)
        .map(|(r, _)| (r.rule.path.display().to_string(), r.rule.title.clone(), r.rule.id.clone()))
        .collect();
    report
        .rules
        .retain(|r| r.state != RuleState::Ok || !hidden.contains(&(r.path.clone(), r.title.clone(), r.id.clone())));
    let n_hidden = plan.hidden_count();
    let s = &mut report.summary;
    let shown = plan.corr_hidden.iter().filter(|h| !**h).count();
    s.rules_loaded = s.rules_loaded + shown - n_hidden.min(s.rules_loaded);
    for (ci, c) in plan.corrs.iter().enumerate() {
        if plan.corr_hidden.get(ci).copied().unwrap_or(false) {
            continue;
        }
        let st = out.stats.get(ci).cloned().unwrap_or_default();
        let fs: Vec<&Firing> = out.firings.iter().filter(|f| f.corr == ci).collect();
        let events: usize = fs.iter().map(|f| f.events.len()).sum();
        if st.firings > 0 {
            s.rules_with_hits += 1;
        }
        report.rules.push(RuleRow {
            title: c.title.clone(),
            id: c.id.clone(),
            path: c.path.display().to_string(),
            level: c.level.clone(),
            status: c.status.clone(),
            state: RuleState::Ok,
            tags: c.tags.clone(),
            count: events as u64,
            records: st.groups,
            reason: None,
            hits: Some(st.firings),
            first_seen: fs.iter().map(|f| f.start).min().map(iso),
            last_seen: fs.iter().map(|f| f.end).max().map(iso),
            scope: None,
            evaluated: None,
            eval_ms: None,
        });
    }
    report.rules.sort_by(|a, b| {
        crate::compile::loader::level_rank(b.level.as_deref())
            .cmp(&crate::compile::loader::level_rank(a.level.as_deref()))
            .then_with(|| b.count.cmp(&a.count))
            .then_with(|| a.path.cmp(&b.path))
            .then_with(|| a.title.cmp(&b.title))
    });
}

/// The group as `field=value, ...` (`-` for a missing value).
pub fn group_text(plan: &Plan, f: &Firing) -> String {
    let c = &plan.corrs[f.corr];
    if c.group_by.is_empty() {
        return "(all events)".into();
    }
    c.group_by
        .iter()
        .zip(&f.group)
        .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("-")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The table's correlation section.
pub fn table_section(plan: &Plan, out: &Outcome, show_firings: usize) -> String {
    let mut s = String::new();
    if plan.is_empty() {
        return s;
    }
    let fired = out.stats.iter().filter(|x| x.firings > 0).count();
    let _ = writeln!(
        s,
        "\ncorrelations: {} rules, {} fired ({} firings)",
        plan.corrs.len(),
        fired,
        out.firings.len()
    );
    let _ = writeln!(s, "{:>7}  {:>6}  {:<16}  {:<8}  {:<10}  rule", "firings", "groups", "type", "timespan", "condition");
    for (ci, c) in plan.corrs.iter().enumerate() {
        let st = &out.stats[ci];
        let _ = writeln!(
            s,
            "{:>7}  {:>6}  {:<16}  {:<8}  {:<10}  {}{}",
            st.firings,
            st.groups,
            c.kind.name(),
            c.timespan.describe(),
            c.condition.describe(),
            c.title,
            if c.origin == super::Origin::Legacy {
                " (legacy aggregation)"
            } else if plan.corr_hidden.get(ci).copied().unwrap_or(false) {
                " (feeds a chain; not reported by itself)"
            } else {
                ""
            }
        );
        let shown: Vec<&Firing> = out.firings.iter().filter(|f| f.corr == ci).take(show_firings).collect();
        for f in &shown {
            let _ = writeln!(
                s,
                "           {} .. {}  {}  value {}  {} events",
                iso(f.start).get(..19).unwrap_or_default().replace('T', " "),
                iso(f.end).get(..19).unwrap_or_default().replace('T', " "),
                group_text(plan, f),
                super::fmt_num(f.value),
                f.events.len()
            );
        }
        if (st.firings as usize) > shown.len() {
            let _ = writeln!(s, "           ... {} more firings (--matches lists all)", st.firings as usize - shown.len());
        }
        if st.without_time > 0 {
            let _ = writeln!(
                s,
                "           note: {} matched events had no usable time and were not correlated (see --time-field)",
                st.without_time
            );
        }
        if st.without_group > 0 {
            let _ = writeln!(
                s,
                "           note: {} matched events lacked a group-by field and were not correlated",
                st.without_group
            );
        }
        if st.limits.dropped_events > 0 || st.limits.closed_groups > 0 {
            let _ = writeln!(
                s,
                "           warning: limits reached: {} events dropped from windows over --correlation-max-events {}, {} groups closed early over --correlation-max-groups {}",
                st.limits.dropped_events, plan.options.max_events, st.limits.closed_groups, plan.options.max_groups
            );
        }
    }
    s
}

/// Warnings for stderr: limits reached, events without time.
pub fn warnings(plan: &Plan, out: &Outcome) -> Vec<String> {
    let mut v = Vec::new();
    for (ci, c) in plan.corrs.iter().enumerate() {
        let st = &out.stats[ci];
        if st.limits.dropped_events > 0 {
            v.push(format!("correlation `{}`: {} events dropped from windows holding --correlation-max-events {} events; counts may be low", c.title, st.limits.dropped_events, plan.options.max_events));
        }
        if st.limits.closed_groups > 0 {
            v.push(format!("correlation `{}`: {} groups closed before their window ended (--correlation-max-groups {} open at once)", c.title, st.limits.closed_groups, plan.options.max_groups));
        }
        if st.without_group > 0 {
            v.push(format!("correlation `{}`: {} matched events lacked a group-by field ({}) and were not correlated", c.title, st.without_group, c.group_by.join(", ")));
        }
        if st.without_time > 0 {
            v.push(format!("correlation `{}`: {} matched events had no usable time and were not correlated", c.title, st.without_time));
        }
    }
    v
}

fn firing_json(plan: &Plan, out: &Outcome, f: &Firing) -> serde_json::Value {
    let c = &plan.corrs[f.corr];
    let group: serde_json::Map<String, serde_json::Value> = c
        .group_by
        .iter()
        .zip(&f.group)
        .map(|(k, v)| (k.clone(), v.clone().map_or(serde_json::Value::Null, serde_json::Value::String)))
        .collect();
    serde_json::json!({
        "correlation": c.kind.name(),
        "title": c.title,
        "rule_id": c.id,
        "level": c.level,
        "rule_file": c.path.display().to_string(),
        "group": group,
        "window_start": iso(f.start),
        "window_end": iso(f.end),
        "value": f.value,
        "condition": c.condition.describe(),
        "timespan": c.timespan.describe(),
        "events": f.events.iter().map(|e| serde_json::json!({
            "source": out.inputs.get(e.input as usize),
            "line": e.line,
            "time": iso(e.time),
        })).collect::<Vec<_>>(),
    })
}

/// Writes one JSON line per firing (after the per-event match lines).
pub fn write_matches(w: &mut dyn Write, plan: &Plan, out: &Outcome) -> io::Result<()> {
    let mut order: Vec<&Firing> = out
        .firings
        .iter()
        .filter(|f| !plan.corr_hidden.get(f.corr).copied().unwrap_or(false))
        .collect();
    order.sort_by_key(|f| (f.start, f.corr));
    for f in order {
        let line = firing_json(plan, out, f);
        writeln!(w, "{line}")?;
    }
    Ok(())
}

/// The JSON report's `correlations` member.
pub fn json(plan: &Plan, out: &Outcome) -> serde_json::Value {
    serde_json::Value::Array(
        plan.corrs
            .iter()
            .enumerate()
            .map(|(ci, c)| {
                let st = &out.stats[ci];
                serde_json::json!({
                    "title": c.title,
                    "id": c.id,
                    "name": c.name,
                    "path": c.path.display().to_string(),
                    "type": c.kind.name(),
                    "legacy": c.origin == super::Origin::Legacy,
                    "level": c.level,
                    "tags": c.tags,
                    "group_by": c.group_by,
                    "timespan": c.timespan.describe(),
                    "condition": c.condition.describe(),
                    "stats": st,
                    "firings": out.firings.iter().filter(|f| f.corr == ci).map(|f| firing_json(plan, out, f)).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

/// Adds one timeline row per reported firing: the window start as time,
/// the group and value as details, the first contributing event as file and
/// line, the number of contributing events as copies.
pub fn timeline_rows<W: Write>(t: &mut crate::output::TimelineWriter<W>, plan: &Plan, out: &Outcome) {
    const HOSTS: [&str; 5] = ["Computer", "ComputerName", "hostname", "computer_name", "Hostname"];
    for f in &out.firings {
        if plan.corr_hidden.get(f.corr).copied().unwrap_or(false) {
            continue;
        }
        let c = &plan.corrs[f.corr];
        let host = c
            .group_by
            .iter()
            .zip(&f.group)
            .find(|(k, _)| HOSTS.iter().any(|h| h.eq_ignore_ascii_case(k)))
            .and_then(|(_, v)| v.clone())
            .unwrap_or_default();
        let details = format!(
            "correlation {}: {}; {} {} (condition {}); {} events {} .. {}",
            c.kind.name(),
            group_text(plan, f),
            match c.kind {
                super::Kind::EventCount => "count",
                super::Kind::ValueCount => "distinct",
                super::Kind::Temporal | super::Kind::TemporalOrdered => "rules",
                _ => "value",
            },
            super::fmt_num(f.value),
            c.condition.describe(),
            f.events.len(),
            iso(f.start),
            iso(f.end)
        );
        let first = f.events.first();
        let input = first.and_then(|e| out.inputs.get(e.input as usize)).map_or("", String::as_str);
        t.add_row(
            Some(EventTime::from_micros(f.start)),
            &host,
            c.level.as_deref().unwrap_or(""),
            &c.title,
            &c.tags,
            details,
            input,
            first.map_or(0, |e| e.line),
            f.events.len() as u32,
            c.id.as_deref().unwrap_or(""),
            &c.path.display().to_string(),
        );
    }
}

/// Attributes of the correlation rules for the tag writer (after the ruleset's).
pub fn tag_attributes(plan: &Plan) -> Vec<crate::output::tag::RuleAttributes> {
    plan.corrs
        .iter()
        .map(|c| crate::output::tag::RuleAttributes::new(&c.title, c.id.as_deref(), &c.tags))
        .collect()
}
