//! `sigma-match explain` for a correlation rule: what it references, its
//! window, and over an events file its firings and, per group, why it did or
//! did not reach the condition.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::load::{self, Source};
use super::stage::Collector;
use super::{Options, Origin};
use crate::compile::CompileOptions;
use crate::compile::loader::RuleFilter;

/// Explains the correlation rules `spec` names (a rule file holding
/// correlation documents or legacy aggregations, or the id, name or title
/// of one in `paths`); `None` when it names none (then it is a plain rule).
pub fn explain(
    spec: &str,
    paths: &[PathBuf],
    events: Option<&Path>,
    opts: CompileOptions<'_>,
    copts: &Options,
) -> Result<Option<String>, std::io::Error> {
    let as_path = Path::new(spec);
    let is_file = as_path.is_file();
    let mut all: Vec<PathBuf> = Vec::new();
    if is_file {
        all.push(as_path.to_path_buf());
    }
    all.extend(paths.iter().cloned());
    let loaded = load::load_ruleset(&all, &RuleFilter::default(), opts, copts);
    let plan = &loaded.plan;
    let targets: Vec<usize> = (0..plan.corrs.len())
        .filter(|&i| {
            let c = &plan.corrs[i];
            if is_file {
                c.path == as_path && !plan.corr_hidden[i]
            } else {
                c.id.as_deref() == Some(spec) || c.name.as_deref() == Some(spec) || c.title == spec
            }
        })
        .collect();
    let failed: Vec<_> = loaded
        .failed
        .iter()
        .filter(|f| (is_file && f.issue.path == as_path) || f.id.as_deref() == Some(spec) || f.title.as_deref() == Some(spec))
        .filter(|f| matches!(f.issue.error, crate::error::RuleError::Correlation(_) | crate::error::RuleError::Undefined(_)))
        .collect();
    if targets.is_empty() {
        // Nothing runs: the plain explain path reports why (and prints
        // Timesketch's reading with --query timesketch).
        return Ok(None);
    }
    let mut out = String::new();
    for f in &failed {
        let _ = writeln!(out, "correlation rule not run: {}", f.issue);
    }
    let rs = &loaded.ruleset;
    for &ci in &targets {
        let c = &plan.corrs[ci];
        let _ = writeln!(out, "correlation: {} ({}{})", c.title, c.kind.name(), if c.origin == Origin::Legacy { ", lowered from a legacy condition" } else { "" });
        let _ = writeln!(out, "  file: {}:{}", c.path.display(), c.pos);
        if let Some(l) = &c.level {
            let _ = writeln!(out, "  level: {l}");
        }
        if !c.tags.is_empty() {
            let _ = writeln!(out, "  tags: {}", c.tags.join(", "));
        }
        let _ = writeln!(out, "  rules:");
        for ((r, _), s) in c.rules.iter().zip(&plan.sources[ci]) {
            match s {
                Source::Rule { rule, .. } => {
                    let cr = &rs.rules[*rule as usize].rule;
                    let _ = writeln!(out, "    {r} -> rule `{}` ({}){}", cr.title, cr.path.display(), if plan.hidden[*rule as usize] { ", not reported by itself" } else { "" });
                }
                Source::Corr { corr, .. } => {
                    let _ = writeln!(out, "    {r} -> correlation `{}` ({})", plan.corrs[*corr].title, plan.corrs[*corr].kind.name());
                }
            }
        }
        let group = if c.group_by.is_empty() { "(none: all events one group)".to_string() } else { c.group_by.join(", ") };
        let _ = writeln!(out, "  group-by: {group}");
        for (a, m) in &c.aliases {
            let _ = writeln!(out, "  alias {a}: {}", m.iter().map(|(r, f)| format!("{r} -> {f}")).collect::<Vec<_>>().join(", "));
        }
        let _ = writeln!(out, "  condition: {}", c.condition.describe());
        if c.timespan.is_whole_input() {
            let _ = writeln!(out, "  window: the whole input (no timeframe)");
        } else {
            let _ = writeln!(
                out,
                "  window: {} sliding: [anchor, anchor + {}], both ends inclusive, anchored at each event of a group; a window that fires consumes its events",
                c.timespan.describe(),
                c.timespan.describe()
            );
        }
    }
    if let Some(ev) = events {
        let mut col = Collector::tracking(plan);
        let name = ev.display().to_string();
        let stats = crate::run::engine::run(rs, std::slice::from_ref(&name), &crate::run::engine::RunOptions::default(), &mut [&mut col])?;
        let o = col.finish_stage();
        let _ = writeln!(out, "\nevents: {name}: {} events", stats.events);
        for &ci in &targets {
            let c = &plan.corrs[ci];
            let st = &o.stats[ci];
            let _ = writeln!(out, "{}: {} records, {} firings in {} groups{}", c.title, st.records, st.firings, st.groups, if st.without_time > 0 { format!(", {} matched events without a usable time (not correlated)", st.without_time) } else { String::new() });
            for f in o.firings.iter().filter(|f| f.corr == ci).take(20) {
                let lines: Vec<String> = f.events.iter().take(10).map(|e| e.line.to_string()).collect();
                let _ = writeln!(
                    out,
                    "  fired: {}: {} .. {}, value {} ({}), {} events (lines {}{})",
                    super::output::group_text(plan, f),
                    crate::event::time::EventTime::from_micros(f.start),
                    crate::event::time::EventTime::from_micros(f.end),
                    super::fmt_num(f.value),
                    c.condition.describe(),
                    f.events.len(),
                    lines.join(", "),
                    if f.events.len() > 10 { ", ..." } else { "" }
                );
            }
            let fired: std::collections::HashSet<&Vec<Option<String>>> = o.firings.iter().filter(|f| f.corr == ci).map(|f| &f.group).collect();
            for (g, best) in o.best[ci].iter().filter(|(g, _)| !fired.contains(g)).take(20) {
                let text = if c.group_by.is_empty() {
                    "(all events)".to_string()
                } else {
                    c.group_by.iter().zip(g).map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("-"))).collect::<Vec<_>>().join(", ")
                };
                let _ = writeln!(out, "  not reached: {text}: best window {} ({} needed)", super::fmt_num(*best), c.condition.describe());
            }
        }
    }
    Ok(Some(out))
}
