//! Correlation rules: multi-event detections over the whole timeline.
//!
//! This module owns Sigma correlation rules (specification v2.1: the seven
//! types, `rules` by name or id, `group-by`, `timespan`, `condition`,
//! `aliases`, `generate`, chains; and the v2.2.0 draft's `tags` and boolean
//! `condition` for `temporal` / `temporal_ordered`), legacy aggregations
//! (`| count() by x > n`, `min`/`max`/`avg`/`sum`, `near`) lowered to
//! correlations, and their evaluation as a second stage over the match
//! records of a run. The single-event path is untouched: the stage only sees
//! [`crate::run::engine::LineMatch`]es of rules a correlation references.
//!
//! | part | owns |
//! |---|---|
//! | [`parse`] | a `correlation:` YAML document to a [`Correlation`], errors with line |
//! | [`legacy`] | aggregation / `near` conditions lowered to hidden rules + a correlation |
//! | [`validate`] | references resolved (name or id), unknown rules, cycles |
//! | [`load`] | the rule side of a run: rules + correlations, hidden rules, carried fields |
//! | [`window`] | per-group sliding windows (bounded), firings |
//! | [`stage`] | collecting match records, evaluating chains in order, hiding rules |
//! | [`output`] | report rows, table section, JSON, `--matches` lines, timeline rows |
//! | [`explain`] | one correlation rule explained over an events file |
//! | [`verify`] | `sigma-match verify` findings for correlation documents |
//!
//! Window semantics (docs/correlation.md states them in full): for every
//! type, a window is anchored at an event of a group and covers
//! `[anchor, anchor + timespan]`, both ends inclusive; a window is evaluated
//! when it is complete (an event later than its end arrives for the run, or
//! the input ends); when the condition holds the window fires with all its
//! events, which are then consumed (firings of one group never overlap);
//! when it does not, the anchor moves to the next event (sliding).

pub mod explain;
pub mod legacy;
pub mod load;
pub mod output;
pub mod parse;
pub mod stage;
pub mod validate;
pub mod verify;
pub mod window;

use std::path::PathBuf;

use crate::sigma::yaml::Pos;

/// The correlation types (spec v2.1 "Correlation Types"), plus the legacy
/// `min` / `max` aggregation functions, which only legacy conditions use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    EventCount,
    ValueCount,
    Temporal,
    TemporalOrdered,
    ValueSum,
    ValueAvg,
    ValuePercentile,
    /// Legacy `min(field)`.
    ValueMin,
    /// Legacy `max(field)`.
    ValueMax,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "event_count" => Kind::EventCount,
            "value_count" => Kind::ValueCount,
            "temporal" => Kind::Temporal,
            "temporal_ordered" => Kind::TemporalOrdered,
            "value_sum" => Kind::ValueSum,
            "value_avg" => Kind::ValueAvg,
            "value_percentile" => Kind::ValuePercentile,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::EventCount => "event_count",
            Kind::ValueCount => "value_count",
            Kind::Temporal => "temporal",
            Kind::TemporalOrdered => "temporal_ordered",
            Kind::ValueSum => "value_sum",
            Kind::ValueAvg => "value_avg",
            Kind::ValuePercentile => "value_percentile",
            Kind::ValueMin => "min",
            Kind::ValueMax => "max",
        }
    }

    /// Whether the condition needs a `field`.
    pub fn needs_field(self) -> bool {
        !matches!(
            self,
            Kind::EventCount | Kind::Temporal | Kind::TemporalOrdered
        )
    }

    pub fn is_temporal(self) -> bool {
        matches!(self, Kind::Temporal | Kind::TemporalOrdered)
    }
}

/// A comparison of the condition (`gt`, `gte`, `lt`, `lte`, `eq`, `neq`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Gt,
    Gte,
    Lt,
    Lte,
    Eq,
    Neq,
}

impl Op {
    pub fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            "eq" => Op::Eq,
            "neq" => Op::Neq,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::Lt => "lt",
            Op::Lte => "lte",
            Op::Eq => "eq",
            Op::Neq => "neq",
        }
    }

    pub fn holds(self, value: f64, limit: f64) -> bool {
        match self {
            Op::Gt => value > limit,
            Op::Gte => value >= limit,
            Op::Lt => value < limit,
            Op::Lte => value <= limit,
            Op::Eq => value == limit,
            Op::Neq => value != limit,
        }
    }
}

/// A boolean expression over referenced rules (v2.2.0 draft, temporal).
#[derive(Debug, Clone, PartialEq)]
pub enum BoolExpr {
    Rule(String),
    And(Vec<BoolExpr>),
    Or(Vec<BoolExpr>),
    Not(Box<BoolExpr>),
}

impl BoolExpr {
    /// Rule names in order of first appearance.
    pub fn names(&self) -> Vec<String> {
        fn walk(e: &BoolExpr, out: &mut Vec<String>) {
            match e {
                BoolExpr::Rule(n) => {
                    if !out.contains(n) {
                        out.push(n.clone());
                    }
                }
                BoolExpr::And(v) | BoolExpr::Or(v) => v.iter().for_each(|x| walk(x, out)),
                BoolExpr::Not(x) => walk(x, out),
            }
        }
        let mut out = Vec::new();
        walk(self, &mut out);
        out
    }

    /// Names that occur under a `not`.
    pub fn negated(&self) -> Vec<String> {
        fn walk(e: &BoolExpr, neg: bool, out: &mut Vec<String>) {
            match e {
                BoolExpr::Rule(n) => {
                    if neg && !out.contains(n) {
                        out.push(n.clone());
                    }
                }
                BoolExpr::And(v) | BoolExpr::Or(v) => v.iter().for_each(|x| walk(x, neg, out)),
                BoolExpr::Not(x) => walk(x, !neg, out),
            }
        }
        let mut out = Vec::new();
        walk(self, false, &mut out);
        out
    }

    pub fn eval(&self, present: &dyn Fn(&str) -> bool) -> bool {
        match self {
            BoolExpr::Rule(n) => present(n),
            BoolExpr::And(v) => v.iter().all(|x| x.eval(present)),
            BoolExpr::Or(v) => v.iter().any(|x| x.eval(present)),
            BoolExpr::Not(x) => !x.eval(present),
        }
    }
}

impl std::fmt::Display for BoolExpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BoolExpr::Rule(n) => f.write_str(n),
            BoolExpr::And(v) | BoolExpr::Or(v) => {
                let op = if matches!(self, BoolExpr::And(_)) { " and " } else { " or " };
                f.write_str("(")?;
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(op)?;
                    }
                    write!(f, "{x}")?;
                }
                f.write_str(")")
            }
            BoolExpr::Not(x) => write!(f, "not {x}"),
        }
    }
}

/// The `condition` of a correlation.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Comparisons that must all hold (a range is two of them), on the
    /// count / distinct count / sum / average / percentile of the type.
    Compare {
        ops: Vec<(Op, f64)>,
        /// `field` (value types; several fields of `value_count` form a tuple).
        fields: Vec<String>,
        /// `percentile` (pySigma's key for `value_percentile`).
        percentile: Option<f64>,
    },
    /// A boolean expression over the referenced rules (temporal types).
    Expr(BoolExpr),
}

impl Condition {
    pub fn fields(&self) -> &[String] {
        match self {
            Condition::Compare { fields, .. } => fields,
            Condition::Expr(_) => &[],
        }
    }

    /// `gte: 10`, `gt: 100 and lte: 200`, or the expression.
    pub fn describe(&self) -> String {
        match self {
            Condition::Compare { ops, .. } => ops
                .iter()
                .map(|(o, v)| format!("{} {}", o.name(), fmt_num(*v)))
                .collect::<Vec<_>>()
                .join(" and "),
            Condition::Expr(e) => e.to_string(),
        }
    }
}

/// A number without a needless `.0`.
pub fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// A `timespan`: microseconds, or the whole input (legacy aggregations
/// without `timeframe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timespan {
    /// Microseconds; `i64::MAX` for the whole input.
    pub micros: i64,
}

impl Timespan {
    pub const WHOLE_INPUT: Timespan = Timespan { micros: i64::MAX };

    /// `number + unit`: `s`, `m`, `h`, `d` (spec v2.1 "Time Selection"),
    /// and `w`, `M` (30.436875 days), `y` (365.2425 days) as pySigma reads
    /// them (`SigmaCorrelationTimespan`).
    pub fn parse(s: &str) -> Result<Timespan, String> {
        let t = s.trim();
        let bad = || {
            format!(
                "timespan `{s}` is not a number followed by a unit (s, m, h, d, w, M, y), e.g. `5m`, `1h`, `90s`"
            )
        };
        let unit = t.chars().last().ok_or_else(bad)?;
        let num = &t[..t.len() - unit.len_utf8()];
        if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n: i64 = num.parse().map_err(|_| bad())?;
        let secs: i64 = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            'M' => 2_629_746,
            'y' => 31_556_952,
            _ => return Err(bad()),
        };
        if n == 0 {
            return Err(format!("timespan `{s}` is zero"));
        }
        let micros = n
            .checked_mul(secs)
            .and_then(|x| x.checked_mul(1_000_000))
            .ok_or_else(|| format!("timespan `{s}` is too large"))?;
        Ok(Timespan { micros })
    }

    pub fn is_whole_input(self) -> bool {
        self.micros == i64::MAX
    }

    pub fn describe(self) -> String {
        if self.is_whole_input() {
            return "whole input".into();
        }
        let s = self.micros / 1_000_000;
        if self.micros % 1_000_000 != 0 {
            return format!("{}us", self.micros);
        }
        for (u, n) in [("d", 86_400), ("h", 3600), ("m", 60)] {
            if s % n == 0 {
                return format!("{}{u}", s / n);
            }
        }
        format!("{s}s")
    }
}

/// Where a correlation comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A `correlation:` document.
    Document,
    /// A detection rule's legacy aggregation or `near` condition.
    Legacy,
}

/// A parsed correlation rule (before references are resolved).
#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    pub path: PathBuf,
    pub document: usize,
    pub pos: Pos,
    pub title: String,
    pub id: Option<String>,
    pub name: Option<String>,
    pub status: Option<String>,
    pub level: Option<String>,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub kind: Kind,
    /// Referenced rules (name or id) with their position.
    pub rules: Vec<(String, Pos)>,
    pub group_by: Vec<String>,
    pub timespan: Timespan,
    pub condition: Condition,
    /// alias -> (rule reference -> field).
    pub aliases: Vec<(String, Vec<(String, String)>)>,
    pub generate: bool,
    pub origin: Origin,
}

impl Correlation {
    /// The field a `group-by` entry reads in events of the rule referenced
    /// as `reference` (aliases resolved).
    pub fn group_field<'a>(&'a self, group: &'a str, reference: &str) -> &'a str {
        self.aliases
            .iter()
            .find(|(a, _)| a == group)
            .and_then(|(_, m)| m.iter().find(|(r, _)| r == reference))
            .map_or(group, |(_, f)| f.as_str())
    }
}

/// Options of the correlation stage.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--time-field`: read event time from this field only.
    pub time_field: Option<String>,
    /// `--correlation-max-events`: events one group's open window keeps.
    pub max_events: usize,
    /// `--correlation-max-groups`: groups with an open window at once.
    pub max_groups: usize,
}

/// Default of `--correlation-max-events`.
pub const DEFAULT_MAX_EVENTS: usize = 100_000;
/// Default of `--correlation-max-groups`.
pub const DEFAULT_MAX_GROUPS: usize = 1_000_000;

impl Default for Options {
    fn default() -> Self {
        Options {
            time_field: None,
            max_events: DEFAULT_MAX_EVENTS,
            max_groups: DEFAULT_MAX_GROUPS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans() {
        assert_eq!(Timespan::parse("90m").unwrap().micros, 5_400_000_000);
        assert_eq!(Timespan::parse("1s").unwrap().micros, 1_000_000);
        assert_eq!(Timespan::parse("1w").unwrap().micros, 604_800_000_000);
        assert_eq!(Timespan::parse("1M").unwrap().micros, 2_629_746_000_000);
        assert!(Timespan::parse("5").is_err());
        assert!(Timespan::parse("m").is_err());
        assert!(Timespan::parse("5 m").is_err());
        assert!(Timespan::parse("1.5h").is_err());
        assert!(Timespan::parse("0s").is_err());
        assert!(Timespan::parse("99999999999999y").is_err());
        assert_eq!(Timespan::parse("90m").unwrap().describe(), "90m");
        assert_eq!(Timespan::parse("2h").unwrap().describe(), "2h");
    }

    #[test]
    fn ops() {
        assert!(Op::Gte.holds(10.0, 10.0));
        assert!(!Op::Gt.holds(10.0, 10.0));
        assert!(Op::Neq.holds(1.0, 2.0));
    }
}
