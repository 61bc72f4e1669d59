//! The correlation stage: a second pass over the match records of a run.
//!
//! [`Collector`] is a [`Sink`]: it keeps, for every match of a rule some
//! correlation references, a compact record (time, group key, value, input
//! and line); nothing else of the event. After the run, [`Collector::finish_stage`]
//! sorts each correlation's records by time (so input order never changes a
//! result), evaluates correlations inner first (the firings of an inner
//! correlation are records of the outer one, at the firing's end time) and
//! returns the firings. [`Hide`] keeps rules that only feed correlations out
//! of every other sink.

use super::load::{Plan, Source};
use super::window::{self, Fired, Limits, Rec, Spec};
use crate::run::engine::{LineMatch, Sink};

/// One contributing event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct EventRef {
    /// Index into [`Outcome::inputs`].
    pub input: u32,
    pub line: u64,
    /// Microseconds since the epoch.
    pub time: i64,
}

/// A firing of a correlation.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    /// Index into [`Plan::corrs`].
    pub corr: usize,
    /// Group-by values, in `group-by` order (`None`: missing in the events).
    pub group: Vec<Option<String>>,
    pub start: i64,
    pub end: i64,
    pub value: f64,
    /// Contributing events (through inner correlations too), in time order.
    pub events: Vec<EventRef>,
    /// Inner firings this one is made of (indexes into [`Outcome::firings`]).
    pub inner: Vec<usize>,
}

/// Per correlation: what happened.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct CorrStats {
    /// Records it was evaluated on (matched events and inner firings).
    pub records: u64,
    /// Matched events without a usable time (not correlated; reported).
    pub without_time: u64,
    /// Records without a value for some `group-by` field (not correlated;
    /// reported), as pySigma's SQLite backend leaves them out (`g IS NOT NULL`).
    pub without_group: u64,
    pub firings: u64,
    /// Distinct groups that fired.
    pub groups: u64,
    #[serde(flatten)]
    pub limits: Limits,
}

/// The result of the stage.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub inputs: Vec<String>,
    /// In evaluation order of the correlations, each in window order.
    pub firings: Vec<Firing>,
    /// Per correlation (index into [`Plan::corrs`]).
    pub stats: Vec<CorrStats>,
    /// With [`Collector::tracking`]: per correlation, per group (values in
    /// `group-by` order) the largest value any window reached.
    pub best: Vec<Vec<(Vec<Option<String>>, f64)>>,
}

impl Outcome {
    /// Per input, per line: the correlations a contributing event feeds.
    pub fn contributions(&self) -> std::collections::HashMap<(u32, u64), Vec<usize>> {
        let mut m: std::collections::HashMap<(u32, u64), Vec<usize>> = Default::default();
        for f in &self.firings {
            for e in &f.events {
                let v = m.entry((e.input, e.line)).or_default();
                if !v.contains(&f.corr) {
                    v.push(f.corr);
                }
            }
        }
        m
    }
}

/// Collects match records for the correlations of a [`Plan`].
pub struct Collector<'p> {
    plan: &'p Plan,
    inputs: Vec<String>,
    current: u32,
    recs: Vec<Vec<Rec>>,
    events: Vec<EventRef>,
    without_time: Vec<u64>,
    without_group: Vec<u64>,
    track: bool,
}

const FIRING: u64 = 1 << 63;

impl<'p> Collector<'p> {
    pub fn new(plan: &'p Plan) -> Self {
        Collector {
            plan,
            inputs: Vec::new(),
            current: 0,
            recs: vec![Vec::new(); plan.corrs.len()],
            events: Vec::new(),
            without_time: vec![0; plan.corrs.len()],
            without_group: vec![0; plan.corrs.len()],
            track: false,
        }
    }

    /// [`Collector::new`], and the outcome says per group how close it came
    /// ([`Outcome::best`], for `explain`).
    pub fn tracking(plan: &'p Plan) -> Self {
        Collector { track: true, ..Collector::new(plan) }
    }

    fn first(carried: &[Option<String>], slots: &[usize]) -> Option<usize> {
        slots.iter().copied().find(|&s| carried.get(s).is_some_and(Option::is_some))
    }

    /// Evaluates every correlation (inner first) over the collected records.
    pub fn finish_stage(self) -> Outcome {
        let plan = self.plan;
        let mut out = Outcome {
            inputs: self.inputs,
            firings: Vec::new(),
            stats: vec![CorrStats::default(); plan.corrs.len()],
            best: vec![Vec::new(); plan.corrs.len()],
        };
        let events = self.events;
        let mut recs_all = self.recs;
        // Firing indexes per correlation.
        let mut by_corr: Vec<Vec<usize>> = vec![Vec::new(); plan.corrs.len()];
        for &ci in &plan.order {
            let c = &plan.corrs[ci];
            let mut recs = std::mem::take(&mut recs_all[ci]);
            for (src, s) in plan.sources[ci].iter().enumerate() {
                if let Source::Corr { corr, group, value } = s {
                    for &fi in &by_corr[*corr] {
                        let f = &out.firings[fi];
                        if group.iter().any(|g| g.and_then(|p| f.group.get(p)?.as_deref()).is_none()) {
                            out.stats[ci].without_group += 1;
                            continue;
                        }
                        let key = window::make_key(group.iter().map(|g| g.and_then(|p| f.group.get(p)?.as_deref())));
                        let value = if value.is_empty() {
                            None
                        } else {
                            let vals: Option<Vec<&str>> =
                                value.iter().map(|g| g.and_then(|p| f.group.get(p)?.as_deref())).collect();
                            vals.map(|v| v.join("\u{1f}").into_boxed_str())
                        };
                        let seq = f.events.last().map_or(0, |e| (u64::from(e.input) << 40) | e.line);
                        recs.push(Rec { time: f.end, seq, src: src as u16, key, value, what: FIRING | fi as u64 });
                    }
                }
            }
            recs.sort_by_key(|r| (r.time, r.seq, r.src));
            let names: Vec<String> = c.rules.iter().map(|(r, _)| r.clone()).collect();
            let spec = Spec {
                kind: c.kind,
                span: c.timespan.micros,
                condition: &c.condition,
                rules: &names,
                max_events: plan.options.max_events,
                max_groups: plan.options.max_groups,
            };
            let (fired, limits) = if self.track {
                let (f, l, best) = window::run_tracking(&spec, &recs);
                let mut b: Vec<(Vec<Option<String>>, f64)> = best
                    .into_iter()
                    .map(|(k, v)| (window::key_values(&k, c.group_by.len()), v))
                    .collect();
                b.sort_by(|x, y| y.1.total_cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
                out.best[ci] = b;
                (f, l)
            } else {
                window::run(&spec, &recs)
            };
            let st = &mut out.stats[ci];
            st.records = recs.len() as u64;
            st.without_time = self.without_time[ci];
            st.without_group += self.without_group[ci];
            st.limits = limits;
            st.firings = fired.len() as u64;
            let mut keys = std::collections::HashSet::new();
            for Fired { key, start, end, value, recs: idx } in fired {
                let mut evs = Vec::new();
                let mut inner = Vec::new();
                for i in idx {
                    let w = recs[i as usize].what;
                    if w & FIRING != 0 {
                        let fi = (w & !FIRING) as usize;
                        inner.push(fi);
                        evs.extend_from_slice(&out.firings[fi].events);
                    } else if let Some(e) = events.get(w as usize) {
                        evs.push(*e);
                    }
                }
                evs.sort_by_key(|e| (e.time, e.input, e.line));
                evs.dedup();
                keys.insert(key.clone());
                by_corr[ci].push(out.firings.len());
                out.firings.push(Firing {
                    corr: ci,
                    group: window::key_values(&key, c.group_by.len()),
                    start,
                    end,
                    value,
                    events: evs,
                    inner,
                });
            }
            st.groups = keys.len() as u64;
        }
        out
    }
}

impl Sink for Collector<'_> {
    fn chunk(&mut self, input: &str, _data: &[u8], _first_line: u64, matches: &[LineMatch]) -> std::io::Result<()> {
        if self.inputs.get(self.current as usize).map(String::as_str) != Some(input) {
            self.current = match self.inputs.iter().position(|i| i == input) {
                Some(p) => p as u32,
                None => {
                    self.inputs.push(input.to_string());
                    (self.inputs.len() - 1) as u32
                }
            };
        }
        for m in matches {
            let mut ev: Option<u64> = None;
            for &r in &m.rules {
                let Some(refs) = self.plan.refs_by_rule.get(r as usize) else {
                    continue;
                };
                for &(ci, src) in refs {
                    let Some(t) = m.time else {
                        self.without_time[ci as usize] += 1;
                        continue;
                    };
                    let Some(Source::Rule { group, value, .. }) = self.plan.sources[ci as usize].get(src as usize) else {
                        continue;
                    };
                    let vals: Vec<Option<&str>> = group
                        .iter()
                        .map(|slots| Self::first(&m.carried, slots).and_then(|s| m.carried[s].as_deref()))
                        .collect();
                    if vals.iter().any(Option::is_none) {
                        self.without_group[ci as usize] += 1;
                        continue;
                    }
                    let key = window::make_key(vals.into_iter());
                    let value = if value.is_empty() {
                        None
                    } else {
                        let vals: Option<Vec<&str>> = value
                            .iter()
                            .map(|slots| Self::first(&m.carried, slots).and_then(|s| m.carried[s].as_deref()))
                            .collect();
                        vals.map(|v| v.join("\u{1f}").into_boxed_str())
                    };
                    let what = *ev.get_or_insert_with(|| {
                        self.events.push(EventRef { input: self.current, line: m.line, time: t.micros() });
                        (self.events.len() - 1) as u64
                    });
                    self.recs[ci as usize].push(Rec {
                        time: t.micros(),
                        seq: (u64::from(self.current) << 40) | m.line,
                        src,
                        key,
                        value,
                        what,
                    });
                }
            }
        }
        Ok(())
    }
}

/// A sink that does not see rules hidden by the plan (rules that only feed
/// correlations): they are removed from every match, and matches left with
/// no rule are dropped.
pub struct Hide<'a> {
    inner: &'a mut dyn Sink,
    hidden: &'a [bool],
    buf: Vec<LineMatch>,
    defer_finish: bool,
}

impl<'a> Hide<'a> {
    pub fn new(inner: &'a mut dyn Sink, hidden: &'a [bool]) -> Self {
        Hide { inner, hidden, buf: Vec::new(), defer_finish: false }
    }

    /// [`Hide::new`], and the run's `finish` does not reach `inner`: the
    /// caller finishes it after adding the correlation firings.
    pub fn deferring(inner: &'a mut dyn Sink, hidden: &'a [bool]) -> Self {
        Hide { inner, hidden, buf: Vec::new(), defer_finish: true }
    }
}

impl Sink for Hide<'_> {
    fn chunk(&mut self, input: &str, data: &[u8], first_line: u64, matches: &[LineMatch]) -> std::io::Result<()> {
        let hides = |r: &u32| self.hidden.get(*r as usize).copied().unwrap_or(false);
        if !matches.iter().any(|m| m.rules.iter().any(hides)) {
            return self.inner.chunk(input, data, first_line, matches);
        }
        self.buf.clear();
        for m in matches {
            if m.rules.iter().any(hides) {
                let rules: Vec<u32> = m.rules.iter().copied().filter(|r| !hides(r)).collect();
                if !rules.is_empty() {
                    self.buf.push(LineMatch { rules, ..m.clone() });
                }
            } else {
                self.buf.push(m.clone());
            }
        }
        self.inner.chunk(input, data, first_line, &self.buf)
    }

    fn finish(&mut self) -> std::io::Result<()> {
        if self.defer_finish {
            return Ok(());
        }
        self.inner.finish()
    }
}

/// The second pass of `--tag-out` with correlations: every event as the tag
/// writer gets it, hidden rules removed, and the correlations an event
/// contributes to added as rules `nrules + correlation` (the tag writer is
/// made with their attributes after the ruleset's).
pub struct Tagging<'a> {
    inner: &'a mut dyn Sink,
    hidden: &'a [bool],
    nrules: u32,
    inputs: &'a [String],
    contrib: std::collections::HashMap<(u32, u64), Vec<usize>>,
    shown: Vec<u32>,
    buf: Vec<LineMatch>,
}

impl<'a> Tagging<'a> {
    pub fn new(inner: &'a mut dyn Sink, plan: &'a Plan, out: &'a Outcome, nrules: usize) -> Self {
        let shown: Vec<u32> = (0..plan.corrs.len())
            .map(|c| u32::from(!plan.corr_hidden.get(c).copied().unwrap_or(false)))
            .collect();
        Tagging {
            inner,
            hidden: &plan.hidden,
            nrules: nrules as u32,
            inputs: &out.inputs,
            contrib: out.contributions(),
            shown,
            buf: Vec::new(),
        }
    }
}

impl Sink for Tagging<'_> {
    fn chunk(&mut self, input: &str, data: &[u8], first_line: u64, matches: &[LineMatch]) -> std::io::Result<()> {
        let idx = self.inputs.iter().position(|i| i == input).map(|i| i as u32);
        self.buf.clear();
        for m in matches {
            let mut rules: Vec<u32> = m
                .rules
                .iter()
                .copied()
                .filter(|r| !self.hidden.get(*r as usize).copied().unwrap_or(false))
                .collect();
            if let Some(cs) = idx.and_then(|i| self.contrib.get(&(i, m.line))) {
                for &c in cs {
                    if self.shown.get(c).copied() == Some(1) {
                        rules.push(self.nrules + c as u32);
                    }
                }
            }
            if !rules.is_empty() {
                self.buf.push(LineMatch { rules, ..m.clone() });
            }
        }
        self.inner.chunk(input, data, first_line, &self.buf)
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.inner.finish()
    }
}

/// Zeroes the counts of hidden rules (their matches are not hits).
pub fn hide_stats(stats: &mut crate::run::engine::RunStats, plan: &Plan) {
    for (i, h) in plan.hidden.iter().enumerate() {
        if *h {
            if let Some(c) = stats.counts.get_mut(i) {
                *c = 0;
            }
            if let Some(c) = stats.records.get_mut(i) {
                *c = 0;
            }
        }
    }
}
