//! How results are shown: the count table, the JSON document, the summary.
//!
//! This module owns presentation only. [`Report`] is built from the compiled
//! ruleset, the rule issues and the run statistics; it renders as a readable
//! table (sorted by count, zero-count rules included) or as one JSON
//! document with the same content.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::compile::Ruleset;
use crate::event::FieldId;
use crate::run::engine::{Malformed, RunStats};
use crate::error::RuleIssue;

/// Whether a rule ran, as the report shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleState {
    /// Compiled and evaluated.
    Ok,
    /// Did not load or compile.
    Error,
    /// Recognised but not evaluated per event (aggregations, correlations, ...).
    Unsupported,
}

impl std::fmt::Display for RuleState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RuleState::Ok => "ok",
            RuleState::Error => "error",
            RuleState::Unsupported => "unsupported",
        })
    }
}

/// What [`Report::to_table`] shows.
#[derive(Debug, Clone, Copy)]
pub struct TableOptions {
    /// List loaded rules without hits too (off with `--hits-only`).
    pub show_zero: bool,
    /// How many referenced fields that never occurred to list.
    pub max_missing: usize,
    /// How many of the costliest rules to list (0: no profile section).
    pub profile_top: usize,
}

/// One rule's line in the report.
#[derive(Debug, Clone, Serialize)]
pub struct RuleRow {
    pub title: String,
    pub id: Option<String>,
    pub path: String,
    pub level: Option<String>,
    pub status: Option<String>,
    pub state: RuleState,
    pub tags: Vec<String>,
    /// Events tagged (what Timesketch tags).
    pub count: u64,
    /// Distinct records tagged: Plaso's two events per Windows record count
    /// once (see `EventView::record_key`); other events count each.
    pub records: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Hits over distinct records (Plaso's copies of one record count once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hits: Option<u64>,
    /// Time of the first and last hit, ISO 8601 UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    /// With scoping: how the rule's logsource relates to the table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<crate::mapping::scope::RuleScope>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluated: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eval_ms: Option<f64>,
}

/// One rule's cost in a `--profile` run.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileRow {
    pub title: String,
    pub id: Option<String>,
    pub path: String,
    /// Events the rule's condition was evaluated on.
    pub evaluated: u64,
    pub matched: u64,
    pub eval_ms: f64,
    /// Percent of all rules' evaluation time.
    pub share: f64,
    /// The rule has no witness (no literal or field it needs), so it is
    /// evaluated on every event, typically a condition that is only `not ...`.
    pub every_event: bool,
}

/// A referenced field (after mapping) that never occurred in the input.
#[derive(Debug, Clone, Serialize)]
pub struct MissingField {
    pub field: String,
    /// The rule-level names mapped to it (itself when unmapped).
    pub rule_fields: Vec<String>,
    pub rules: usize,
}

/// Run totals.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub rules_loaded: usize,
    pub rules_failed: usize,
    pub rules_unsupported: usize,
    pub events: u64,
    pub malformed_lines: u64,
    pub blank_lines: u64,
    pub total_tags: u64,
    /// Sum over rules of distinct records tagged.
    pub total_records: u64,
    pub rules_with_hits: usize,
    pub bytes: u64,
    pub elapsed_seconds: f64,
    pub events_per_second: f64,
    /// Field values looked up in the scan memo, and how many it answered
    /// without running an automaton (see `sigma_match::eval::memo`).
    pub value_scans: u64,
    pub value_scans_memoised: u64,
}

/// Everything a run reports.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub summary: Summary,
    pub rules: Vec<RuleRow>,
    pub malformed: Vec<MalformedRow>,
    pub missing_fields: Vec<MissingField>,
    pub input_errors: Vec<String>,
    /// Problems that did not stop an input (corrupt EVTX chunks skipped, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub input_warnings: Vec<String>,
    /// Per input: what it was read as and what it gave.
    pub inputs: Vec<crate::run::engine::InputStats>,
    pub failures_by_reason: BTreeMap<String, usize>,
    /// Warnings about the mapping configuration(s), `file:line:col: warning: ...`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub config_warnings: Vec<String>,
    /// How many rules the filters (`--status`, `--level`, `--min-level`,
    /// `--exclude-rules`) left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filtered: Option<crate::compile::loader::Filtered>,
    /// Hits (over distinct records) by level, most severe first.
    pub hits_by_level: Vec<NameCount>,
    /// Hits by ATT&CK tactic, in matrix order.
    pub hits_by_tactic: Vec<NameCount>,
    /// Hits by host, most first (`-`: events without a host field).
    pub hits_by_host: Vec<NameCount>,
    /// Events `--from`/`--to` left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<crate::run::engine::WindowStats>,
    /// Colour the table by level (a terminal without `NO_COLOR`).
    #[serde(skip)]
    pub color: bool,
    /// Logsource scoping, when on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scoping: Option<Scoping>,
    /// `--profile`: every loaded rule, most expensive first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<Vec<ProfileRow>>,
}

/// A name with a hit count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameCount {
    pub name: String,
    pub hits: u64,
}

/// What logsource scoping did in a run.
#[derive(Debug, Clone, Serialize)]
pub struct Scoping {
    /// The table used.
    pub table: String,
    pub rules_scoped: usize,
    pub rules_partly_scoped: usize,
    pub rules_unscoped: usize,
    pub rules_without_logsource: usize,
    /// Rules whose logsource the table does not (fully) know:
    /// `path: product: x, ...`.
    pub unscoped: Vec<String>,
    #[serde(flatten)]
    pub stats: crate::mapping::scope::ScopeStats,
}

impl Scoping {
    fn of(ruleset: &Ruleset, stats: &RunStats) -> Option<Scoping> {
        use crate::mapping::scope::RuleScope;
        let scope = ruleset.scope.as_ref()?;
        let mut s = Scoping {
            table: scope.origin.clone(),
            rules_scoped: 0,
            rules_partly_scoped: 0,
            rules_unscoped: 0,
            rules_without_logsource: 0,
            unscoped: Vec::new(),
            stats: stats.scope.clone().unwrap_or_default(),
        };
        for (r, rs) in ruleset.rules.iter().zip(&scope.rule_scope) {
            let unknown = match rs {
                RuleScope::Scoped => {
                    s.rules_scoped += 1;
                    continue;
                }
                RuleScope::NoLogsource => {
                    s.rules_without_logsource += 1;
                    continue;
                }
                RuleScope::Partly { unknown } => {
                    s.rules_partly_scoped += 1;
                    unknown
                }
                RuleScope::Unscoped { unknown } => {
                    s.rules_unscoped += 1;
                    unknown
                }
            };
            s.unscoped.push(format!(
                "{}: {} not in the table",
                r.rule.path.display(),
                unknown.join(", ")
            ));
        }
        Some(s)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MalformedRow {
    pub input: String,
    pub line: u64,
    pub reason: String,
}

impl From<&Malformed> for MalformedRow {
    fn from(m: &Malformed) -> Self {
        MalformedRow {
            input: m.input.clone(),
            line: m.line,
            reason: m.reason.clone(),
        }
    }
}

/// A rule that failed to load or compile, with whatever metadata is known.
#[derive(Debug, Clone)]
pub struct FailedRule {
    pub issue: RuleIssue,
    pub title: Option<String>,
    pub id: Option<String>,
}

/// Whether a [`Report`] carries what each rule cost (`--profile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Costs {
    /// Counts only.
    Omit,
    /// Per-rule evaluation counts and times, and the profile section.
    Include,
}

impl Report {
    pub fn new(ruleset: &Ruleset, failed: &[FailedRule], stats: &RunStats, costs: Costs) -> Report {
        let profile = costs == Costs::Include;
        let mut rows: Vec<RuleRow> = ruleset
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| RuleRow {
                title: r.rule.title.clone(),
                id: r.rule.id.clone(),
                path: r.rule.path.display().to_string(),
                level: r.rule.level.clone(),
                status: r.rule.status.clone(),
                state: RuleState::Ok,
                tags: r.rule.tags.clone(),
                count: stats.counts.get(i).copied().unwrap_or(0),
                records: stats.records.get(i).copied().unwrap_or(0),
                reason: None,
                hits: None,
                first_seen: None,
                last_seen: None,
                scope: ruleset.scope.as_ref().map(|s| s.rule_scope[i].clone()),
                evaluated: profile.then(|| stats.evaluated.get(i).copied().unwrap_or(0)),
                eval_ms: profile.then(|| stats.nanos.get(i).copied().unwrap_or(0) as f64 / 1e6),
            })
            .collect();
        let mut by_reason = BTreeMap::new();
        let mut unsupported = 0;
        for f in failed {
            let uns = f.issue.error.is_unsupported();
            unsupported += usize::from(uns);
            *by_reason
                .entry(f.issue.error.category().to_string())
                .or_insert(0) += 1;
            rows.push(RuleRow {
                title: f.title.clone().unwrap_or_default(),
                id: f.id.clone(),
                path: f.issue.path.display().to_string(),
                level: None,
                status: None,
                state: if uns {
                    RuleState::Unsupported
                } else {
                    RuleState::Error
                },
                tags: Vec::new(),
                count: 0,
                records: 0,
                reason: Some(f.issue.to_string()),
                hits: None,
                first_seen: None,
                last_seen: None,
                scope: None,
                evaluated: None,
                eval_ms: None,
            });
        }
        // Each row's level rank once, not twice per comparison.
        let mut ranked: Vec<(usize, RuleRow)> = rows
            .into_iter()
            .map(|r| (crate::compile::loader::level_rank(r.level.as_deref()), r))
            .collect();
        ranked.sort_by(|(rank_a, a), (rank_b, b)| {
            rank_b
                .cmp(rank_a)
                .then_with(|| b.count.cmp(&a.count))
                .then_with(|| a.path.cmp(&b.path))
                .then_with(|| a.title.cmp(&b.title))
        });
        let rows: Vec<RuleRow> = ranked.into_iter().map(|(_, r)| r).collect();
        // Fields referenced by rules (after mapping) that never occurred in
        // the input, most used first.
        let seen = |f: FieldId| stats.field_seen.get(f as usize).is_some_and(|n| *n > 0);
        let missing: Vec<MissingField> =
            crate::compile::field_usage::FieldUsage::event_fields_where(ruleset, |f| !seen(f))
                .into_iter()
                .map(|u| MissingField {
                    field: u.field,
                    rule_fields: u.from,
                    rules: u.rules,
                })
                .collect();
        let profile = profile.then(|| profile_rows(ruleset, stats));
        Report {
            summary: Summary {
                rules_loaded: ruleset.rules.len(),
                rules_failed: failed.len() - unsupported,
                rules_unsupported: unsupported,
                events: stats.events,
                malformed_lines: stats.malformed,
                blank_lines: stats.blank_lines,
                total_tags: stats.total_tags(),
                total_records: stats.records.iter().sum(),
                rules_with_hits: stats.counts.iter().filter(|c| **c > 0).count(),
                bytes: stats.bytes,
                elapsed_seconds: stats.elapsed.as_secs_f64(),
                events_per_second: stats.events_per_second(),
                value_scans: stats.memo_lookups,
                value_scans_memoised: stats.memo_hits,
            },
            rules: rows,
            malformed: stats
                .malformed_lines
                .iter()
                .map(MalformedRow::from)
                .collect(),
            missing_fields: missing,
            input_errors: stats.input_errors.clone(),
            input_warnings: stats.input_warnings.clone(),
            inputs: stats.inputs.clone(),
            failures_by_reason: by_reason,
            config_warnings: Vec::new(),
            scoping: Scoping::of(ruleset, stats),
            filtered: None,
            hits_by_level: Vec::new(),
            hits_by_tactic: Vec::new(),
            hits_by_host: Vec::new(),
            window: stats.window,
            color: false,
            profile,
        }
    }

    /// Adds what the [`HitSummary`] of the run saw: per rule hits over
    /// distinct records and first/last time; hits by level, tactic, host.
    pub fn add_hits(&mut self, ruleset: &Ruleset, hits: &crate::output::hits::HitSummary) {
        let mut by_path: std::collections::HashMap<(&str, &str), usize> = Default::default();
        for (i, r) in ruleset.rules.iter().enumerate() {
            by_path.insert((r.rule.path.to_str().unwrap_or(""), r.rule.title.as_str()), i);
        }
        let mut levels: BTreeMap<usize, u64> = BTreeMap::new();
        let mut tactics: BTreeMap<usize, u64> = BTreeMap::new();
        for (i, r) in ruleset.rules.iter().enumerate() {
            let h = &hits.rules[i];
            if h.hits == 0 {
                continue;
            }
            *levels.entry(crate::compile::loader::level_rank(r.rule.level.as_deref())).or_default() += h.hits;
            for t in crate::output::hits::attack(&r.rule.tags).0 {
                let t = t.replace('-', "_");
                if let Some(k) = crate::output::hits::TACTICS.iter().position(|x| *x == t) {
                    *tactics.entry(k).or_default() += h.hits;
                }
            }
        }
        for row in &mut self.rules {
            let Some(&i) = by_path.get(&(row.path.as_str(), row.title.as_str())) else {
                continue;
            };
            if row.state != RuleState::Ok {
                continue;
            }
            let h = &hits.rules[i];
            row.hits = Some(h.hits);
            row.first_seen = h.first_seen.map(|t| t.to_iso());
            row.last_seen = h.last_seen.map(|t| t.to_iso());
        }
        self.hits_by_level = levels
            .into_iter()
            .rev()
            .map(|(k, n)| NameCount {
                name: crate::tools::verify::LEVELS[k].to_string(),
                hits: n,
            })
            .collect();
        self.hits_by_tactic = tactics
            .into_iter()
            .map(|(k, n)| NameCount {
                name: crate::output::hits::TACTICS[k].replace('_', "-"),
                hits: n,
            })
            .collect();
        let mut hosts: Vec<NameCount> = hits
            .hosts
            .iter()
            .map(|(h, n)| NameCount {
                name: h.clone(),
                hits: *n,
            })
            .collect();
        hosts.sort_by(|a, b| b.hits.cmp(&a.hits).then_with(|| a.name.cmp(&b.name)));
        self.hits_by_host = hosts;
    }

    /// What an analyst reads first: rules loaded and failed, filters,
    /// events, hits by level, tactic and host.
    fn write_head(&self, out: &mut String) {
        let s = &self.summary;
        let mut line = format!("rules: {} loaded", s.rules_loaded);
        if s.rules_failed + s.rules_unsupported > 0 {
            let _ = write!(
                line,
                ", {} FAILED to load and {} unsupported (listed at the end)",
                s.rules_failed, s.rules_unsupported
            );
        }
        if let Some(f) = &self.filtered {
            let mut parts = Vec::new();
            if f.status_or_level > 0 {
                parts.push(format!("{} by --status/--level", f.status_or_level));
            }
            if f.min_level > 0 {
                parts.push(format!("{} below --min-level", f.min_level));
            }
            if f.excluded > 0 {
                parts.push(format!("{} by --exclude-rules", f.excluded));
            }
            if !parts.is_empty() {
                let _ = write!(line, "; left out {}", parts.join(", "));
            }
            if !f.unmatched_exclusions.is_empty() {
                let _ = write!(
                    line,
                    "; exclusions matching no rule: {}",
                    f.unmatched_exclusions.join(", ")
                );
            }
        }
        let _ = writeln!(out, "{line}");
        let mut ev = format!("events: {} read", s.events);
        if s.malformed_lines > 0 {
            let _ = write!(ev, ", {} malformed lines skipped", s.malformed_lines);
        }
        if let Some(w) = &self.window {
            let _ = write!(
                ev,
                "; outside --from/--to: {} before, {} after, {} without a time",
                w.before, w.after, w.without_time
            );
        }
        let _ = writeln!(out, "{ev}");
        let hits: u64 = self.hits_by_level.iter().map(|n| n.hits).sum();
        let _ = writeln!(
            out,
            "hits: {hits} (rule x distinct record; {} events tagged) by {} rules",
            s.total_tags, s.rules_with_hits
        );
        // Items while the line (13 columns of label) fits 120 columns.
        let list = |v: &[NameCount], max: usize| -> String {
            let mut line = String::new();
            let mut shown = 0;
            for n in v.iter().take(max) {
                let item = format!("{} {}", n.name, n.hits);
                let sep = if line.is_empty() { 0 } else { 3 };
                if 13 + line.chars().count() + sep + item.chars().count() + 14 > 120 {
                    break;
                }
                if sep > 0 {
                    line.push_str(" · ");
                }
                line.push_str(&item);
                shown += 1;
            }
            if shown < v.len() {
                let _ = write!(line, " · ... {} more", v.len() - shown);
            }
            line
        };
        if !self.hits_by_level.is_empty() {
            let _ = writeln!(out, "  by level:  {}", list(&self.hits_by_level, 5));
            if !self.hits_by_tactic.is_empty() {
                let _ = writeln!(out, "  by tactic: {}", list(&self.hits_by_tactic, 14));
            }
            let _ = writeln!(out, "  by host:   {}", list(&self.hits_by_host, 8));
        }
        out.push('\n');
    }

    /// The rules table: rules with hits (all with `show_zero`), most severe
    /// level first, then most hits; 120 columns.
    fn write_rules(&self, out: &mut String, show_zero: bool) {
        let rows: Vec<&RuleRow> = self
            .rules
            .iter()
            .filter(|r| r.state == RuleState::Ok && (show_zero || r.count > 0))
            .collect();
        if rows.is_empty() {
            let _ = writeln!(out, "no rule tagged anything");
            return;
        }
        // 8 + 2 + 7 + 2 + 7 + 2 + 19 + 2 + 19 + 2 = 70; the title gets 50.
        const TITLE: usize = 50;
        let _ = writeln!(
            out,
            "{:<8}  {:>7}  {:>7}  {:<19}  {:<19}  rule",
            "level", "hits", "events", "first seen (UTC)", "last seen (UTC)"
        );
        for r in rows {
            let level = match r.level.as_deref().unwrap_or("-") {
                "informational" => "info",
                l => l,
            };
            let cell = format!("{level:<8}");
            let cell = if self.color { colour(level, &cell) } else { cell };
            let time = |t: &Option<String>| {
                t.as_deref()
                    .map(|t| t.get(..19).unwrap_or(t).replace('T', " "))
                    .unwrap_or_else(|| "-".into())
            };
            let _ = writeln!(
                out,
                "{cell}  {:>7}  {:>7}  {:<19}  {:<19}  {}",
                r.hits.unwrap_or(r.records),
                r.count,
                time(&r.first_seen),
                time(&r.last_seen),
                cut(&r.title, TITLE)
            );
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The human-readable table and summary.
    pub fn to_table(&self, opts: TableOptions) -> String {
        let TableOptions {
            show_zero,
            max_missing,
            profile_top,
        } = opts;
        let mut out = String::new();
        self.write_head(&mut out);
        self.write_rules(&mut out, show_zero);
        if let (Some(prof), true) = (&self.profile, profile_top > 0) {
            let every = prof.iter().filter(|r| r.every_event).count();
            let _ = writeln!(
                out,
                "\nprofile (top {profile_top} of {} rules by evaluation time; {every} rules have no witness and run on every event, marked *):",
                prof.len()
            );
            let s = &self.summary;
            let _ = writeln!(
                out,
                "value scans: {}, {:.1}% answered by the scan memo",
                s.value_scans,
                100.0 * s.value_scans_memoised as f64 / (s.value_scans.max(1)) as f64
            );
            let _ = writeln!(
                out,
                "{:>10}  {:>8}  {:>10}  {:>6}  title",
                "evaluated", "matched", "time ms", "share"
            );
            for r in prof.iter().take(profile_top) {
                let _ = writeln!(
                    out,
                    "{:>10}  {:>8}  {:>10.2}  {:>5.1}%  {}{}",
                    r.evaluated,
                    r.matched,
                    r.eval_ms,
                    r.share,
                    if r.every_event { "* " } else { "" },
                    r.title
                );
            }
        }
        let failed: Vec<&RuleRow> = self
            .rules
            .iter()
            .filter(|r| r.state != RuleState::Ok)
            .collect();
        if !failed.is_empty() {
            let _ = writeln!(out, "\nrules not loaded ({}):", failed.len());
            for r in &failed {
                let _ = writeln!(out, "  {}: {}", r.state, r.reason.as_deref().unwrap_or(""));
            }
        }
        if !self.malformed.is_empty() || self.summary.malformed_lines > 0 {
            let _ = writeln!(
                out,
                "\nmalformed lines ({}, skipped):",
                self.summary.malformed_lines
            );
            for m in &self.malformed {
                let _ = writeln!(out, "  {}:{}: {}", m.input, m.line, m.reason);
            }
            let more = self
                .summary
                .malformed_lines
                .saturating_sub(self.malformed.len() as u64);
            if more > 0 {
                let _ = writeln!(out, "  ... and {more} more");
            }
        }
        for e in &self.input_errors {
            let _ = writeln!(out, "\ninput error: {e}");
        }
        if !self.missing_fields.is_empty() && max_missing > 0 {
            let _ = writeln!(
                out,
                "\nfields the rules need (after mapping) that the input never has ({}; a rule needing one\ncannot match unless a list mapping gave it an alternative that is present):",
                self.missing_fields.len()
            );
            for m in self.missing_fields.iter().take(max_missing) {
                let from = if m.rule_fields.len() == 1 && m.rule_fields[0] == m.field {
                    String::new()
                } else {
                    format!("  (mapped from {})", m.rule_fields.join(", "))
                };
                let _ = writeln!(out, "  {:<40} {:>5} rules{from}", m.field, m.rules);
            }
            if self.missing_fields.len() > max_missing {
                let _ = writeln!(
                    out,
                    "  ... {} more (see --format json)",
                    self.missing_fields.len() - max_missing
                );
            }
        }
        if !self.config_warnings.is_empty() {
            let _ = writeln!(
                out,
                "\nmapping configuration warnings ({}):",
                self.config_warnings.len()
            );
            for w in &self.config_warnings {
                let _ = writeln!(out, "  {w}");
            }
        }
        if let Some(sc) = &self.scoping {
            let _ = writeln!(
                out,
                "\nlogsource scoping: {} (--no-scope: every rule on every event)\n  {} rules scoped, {} partly, {} unscoped, {} without logsource; {} events unrecognised (all rules ran)",
                sc.table,
                sc.rules_scoped,
                sc.rules_partly_scoped,
                sc.rules_unscoped,
                sc.rules_without_logsource,
                sc.stats.unrecognised_events
            );
            let mut by: Vec<(&String, &u64)> = sc.stats.events_by_logsource.iter().collect();
            by.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
            for (l, n) in by.iter().take(12) {
                let _ = writeln!(out, "  {n:>9} events  {l}");
            }
            if by.len() > 12 {
                let _ = writeln!(out, "  ... {} more logsources (see --format json)", by.len() - 12);
            }
            if !sc.unscoped.is_empty() {
                let _ = writeln!(
                    out,
                    "  rules with logsource values the table does not know ({}; those values do not restrict them):",
                    sc.unscoped.len()
                );
                for u in sc.unscoped.iter().take(max_missing.max(5)) {
                    let _ = writeln!(out, "    {u}");
                }
                if sc.unscoped.len() > max_missing.max(5) {
                    let _ = writeln!(out, "    ... {} more (see --format json)", sc.unscoped.len() - max_missing.max(5));
                }
            }
        }
        let s = &self.summary;
        let _ = writeln!(
            out,
            "\nrules: {} loaded, {} failed, {} unsupported | events: {}, {} malformed | tags: {} ({} records) by {} rules | {:.2}s {:.0}/s",
            s.rules_loaded,
            s.rules_failed,
            s.rules_unsupported,
            s.events,
            s.malformed_lines,
            s.total_tags,
            s.total_records,
            s.rules_with_hits,
            s.elapsed_seconds,
            s.events_per_second
        );
        out
    }
}

/// `s` cut to `max` characters, the cut marked with `…`.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// ANSI colour by level (bold red, red, yellow, green, dim).
fn colour(level: &str, cell: &str) -> String {
    let code = match level {
        "critical" => "1;31",
        "high" => "31",
        "medium" => "33",
        "low" => "32",
        "info" => "2",
        _ => return cell.to_string(),
    };
    format!("\x1b[{code}m{cell}\x1b[0m")
}

/// Per-rule cost rows, most expensive first.
fn profile_rows(ruleset: &Ruleset, stats: &RunStats) -> Vec<ProfileRow> {
    let total: u64 = stats.nanos.iter().sum();
    let mut rows: Vec<ProfileRow> = ruleset
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let nanos = stats.nanos.get(i).copied().unwrap_or(0);
            ProfileRow {
                title: r.rule.title.clone(),
                id: r.rule.id.clone(),
                path: r.rule.path.display().to_string(),
                evaluated: stats.evaluated.get(i).copied().unwrap_or(0),
                matched: stats.counts.get(i).copied().unwrap_or(0),
                eval_ms: nanos as f64 / 1e6,
                share: if total > 0 {
                    nanos as f64 * 100.0 / total as f64
                } else {
                    0.0
                },
                every_event: r.witness.is_none(),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.eval_ms
            .total_cmp(&a.eval_ms)
            .then_with(|| b.evaluated.cmp(&a.evaluated))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_marks_the_level_cell_only() {
        assert_eq!(colour("critical", "critical"), "\x1b[1;31mcritical\x1b[0m");
        assert_eq!(colour("high", "high    "), "\x1b[31mhigh    \x1b[0m");
        assert_eq!(colour("-", "-"), "-");
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abcd", 4), "abcd");
    }
    use crate::compile::CompileOptions;
    use crate::sigma::rule::{Loaded, parse_text};

    #[test]
    fn profile_lists_every_rule_by_cost_and_marks_rules_without_witness() {
        let text = "title: a\\nlogsource: {product: x}\\ndetection:\\n  s: {f: v}\\n  condition: s\\n---\\n\
                    title: b\\nlogsource: {product: x}\\ndetection:\\n  s: {f: v}\\n  condition: not s\\n";
        let text = text.replace("\\n", "\n");
        let rules = parse_text(std::path::Path::new("t.yml"), &text)
            .into_iter()
            .filter_map(|l| {
                if let Loaded::Rule(r) = l {
                    Some(*r)
                } else {
                    None
                }
            })
            .collect();
        let (rs, _) = Ruleset::compile(rules, CompileOptions::default());
        let stats = RunStats {
            counts: vec![1, 3],
            evaluated: vec![1, 4],
            nanos: vec![100, 300],
            ..Default::default()
        };
        let report = Report::new(&rs, &[], &stats, Costs::Include);
        let prof = report.profile.as_ref().unwrap();
        assert_eq!(
            prof.iter().map(|r| r.title.as_str()).collect::<Vec<_>>(),
            ["b", "a"]
        );
        assert_eq!(prof[0].share, 75.0);
        assert!(prof[0].every_event && !prof[1].every_event);
        assert!(report.to_json().contains("\"every_event\": true"));
        let table = report.to_table(TableOptions {
            show_zero: true,
            max_missing: 0,
            profile_top: 5,
        });
        assert!(table.contains("* b"));
        assert!(Report::new(&rs, &[], &stats, Costs::Omit).profile.is_none());
    }
}
