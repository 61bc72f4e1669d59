//! Per-group sliding windows: the evaluation of one correlation over its
//! records in time order, with bounded state.
//!
//! A window is anchored at the oldest event a group still holds and covers
//! `[anchor, anchor + timespan]` (both ends inclusive). It is evaluated once
//! it is complete: when a record later than its end arrives (for any group:
//! records come in global time order), or when the input ends. If the
//! condition holds, the window fires with every event in it and those events
//! are consumed, so firings of one group never overlap; if not, the anchor
//! moves to the group's next event. Aggregates are kept incrementally, so a
//! slide costs O(1) (O(log n) for min / max / percentile; a scan of the
//! window for `temporal_ordered`).
//!
//! Bounds: a group keeps at most `max_events` events (beyond that its window
//! is evaluated early and, if it does not fire, its oldest event is dropped
//! and counted); at most `max_groups` groups hold events at once (beyond
//! that the group with the oldest window is evaluated early and closed, and
//! counted). Both counts are reported by the run.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::hash::BuildHasher;

use super::{BoolExpr, Condition, Kind, Op};

/// One input record of a correlation: a matched event or a firing of an
/// inner correlation.
#[derive(Debug, Clone)]
pub struct Rec {
    /// Event time, microseconds since the epoch.
    pub time: i64,
    /// Tie-break for equal times: input order.
    pub seq: u64,
    /// Position of the referenced rule in the correlation's `rules`.
    pub src: u16,
    /// The group key: group-by values joined by U+001F, a missing value as U+0000.
    pub key: Box<str>,
    /// The `field` value(s) of value types.
    pub value: Option<Box<str>>,
    /// What the record stands for (event or firing), for the caller.
    pub what: u64,
}

/// Separates group-by values in [`Rec::key`].
pub const KEY_SEP: char = '\u{1f}';
/// Stands for a missing group-by value in [`Rec::key`].
pub const KEY_MISSING: &str = "\u{0}";

/// What a correlation is evaluated with.
#[derive(Debug, Clone)]
pub struct Spec<'a> {
    pub kind: Kind,
    /// Microseconds (`i64::MAX`: the whole input).
    pub span: i64,
    pub condition: &'a Condition,
    /// The references of `rules`, in order (names in a boolean condition).
    pub rules: &'a [String],
    pub max_events: usize,
    pub max_groups: usize,
}

/// A window that fired.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    pub key: Box<str>,
    pub start: i64,
    pub end: i64,
    /// The aggregated value the condition was checked on (count, distinct
    /// count, sum, average, percentile, min, max; for temporal types the
    /// number of distinct referenced rules seen).
    pub value: f64,
    /// Indexes of the window's records, in time order.
    pub recs: Vec<u32>,
}

/// What the bounds cut.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Limits {
    /// Events dropped from a window holding `max_events` events.
    pub dropped_events: u64,
    /// Groups closed early because `max_groups` groups were open.
    pub closed_groups: u64,
    /// Most groups open at once.
    pub peak_groups: u64,
}

fn order_key(v: f64) -> u64 {
    let b = v.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

fn from_order_key(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// Kind-specific aggregate parts (boxed: most groups hold one event).
#[derive(Debug, Default)]
struct Extra<'a> {
    per_src: Vec<u32>,
    distinct: HashMap<&'a str, u32, foldhash::fast::FixedState>,
    ordered: BTreeMap<u64, u32>,
}

#[derive(Debug, Default)]
struct Group<'a> {
    alive: bool,
    /// A record holding the group's key.
    key_rec: u32,
    recs: VecDeque<u32>,
    sum: f64,
    nums: u32,
    extra: Option<Box<Extra<'a>>>,
}

struct Eval<'s, 'a> {
    spec: &'s Spec<'s>,
    recs: &'a [Rec],
    groups: Vec<Group<'a>>,
    free: Vec<u32>,
    table: hashbrown::HashTable<u32>,
    hasher: foldhash::fast::FixedState,
    heap: BinaryHeap<Reverse<(i64, u32, u32)>>,
    live: usize,
    fired: Vec<Fired>,
    limits: Limits,
    /// With [`run_tracking`]: per group key, the largest value any of its
    /// windows reached (for `explain`).
    best: Option<HashMap<Box<str>, f64>>,
}

fn number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

impl<'s, 'a> Eval<'s, 'a> {
    fn needs_extra(&self) -> bool {
        !matches!(self.spec.kind, Kind::EventCount | Kind::ValueSum | Kind::ValueAvg)
    }

    fn add(&mut self, g: u32, i: u32) {
        let r = &self.recs[i as usize];
        let kind = self.spec.kind;
        let needs = self.needs_extra();
        let n_rules = self.spec.rules.len();
        let grp = &mut self.groups[g as usize];
        grp.recs.push_back(i);
        let num = r.value.as_deref().and_then(number);
        if let Some(v) = num {
            grp.sum += v;
            grp.nums += 1;
        }
        if needs {
            let x = grp.extra.get_or_insert_with(Default::default);
            match kind {
                Kind::Temporal | Kind::TemporalOrdered => {
                    x.per_src.resize(n_rules.max(x.per_src.len()), 0);
                    if let Some(c) = x.per_src.get_mut(r.src as usize) {
                        *c += 1;
                    }
                }
                Kind::ValueCount => {
                    if let Some(v) = r.value.as_deref() {
                        *x.distinct.entry(v).or_insert(0) += 1;
                    }
                }
                _ => {
                    if let Some(v) = num {
                        *x.ordered.entry(order_key(v)).or_insert(0) += 1;
                    }
                }
            }
        }
    }

    fn remove_front(&mut self, g: u32) -> Option<u32> {
        let kind = self.spec.kind;
        let grp = &mut self.groups[g as usize];
        let i = grp.recs.pop_front()?;
        let r = &self.recs[i as usize];
        let num = r.value.as_deref().and_then(number);
        if let Some(v) = num {
            grp.sum -= v;
            grp.nums -= 1;
        }
        if let Some(x) = grp.extra.as_mut() {
            match kind {
                Kind::Temporal | Kind::TemporalOrdered => {
                    if let Some(c) = x.per_src.get_mut(r.src as usize) {
                        *c = c.saturating_sub(1);
                    }
                }
                Kind::ValueCount => {
                    if let Some(v) = r.value.as_deref()
                        && let Some(c) = x.distinct.get_mut(v)
                    {
                        *c -= 1;
                        if *c == 0 {
                            x.distinct.remove(v);
                        }
                    }
                }
                _ => {
                    if let Some(v) = num {
                        let k = order_key(v);
                        if let Some(c) = x.ordered.get_mut(&k) {
                            *c -= 1;
                            if *c == 0 {
                                x.ordered.remove(&k);
                            }
                        }
                    }
                }
            }
        }
        if grp.recs.is_empty() {
            grp.sum = 0.0;
        }
        Some(i)
    }

    /// The aggregated value and whether the condition holds.
    fn check(&self, g: u32) -> (f64, bool) {
        let grp = &self.groups[g as usize];
        let x = grp.extra.as_deref();
        let cmp = |v: f64| match self.spec.condition {
            Condition::Compare { ops, .. } => ops.iter().all(|(o, l): &(Op, f64)| o.holds(v, *l)),
            Condition::Expr(_) => false,
        };
        match self.spec.kind {
            Kind::EventCount => {
                let v = grp.recs.len() as f64;
                (v, cmp(v))
            }
            Kind::ValueCount => {
                let v = x.map_or(0, |x| x.distinct.len()) as f64;
                (v, cmp(v))
            }
            Kind::ValueSum => {
                if grp.nums == 0 {
                    return (0.0, false);
                }
                (grp.sum, cmp(grp.sum))
            }
            Kind::ValueAvg => {
                if grp.nums == 0 {
                    return (0.0, false);
                }
                let v = grp.sum / grp.nums as f64;
                (v, cmp(v))
            }
            Kind::ValueMin | Kind::ValueMax | Kind::ValuePercentile => {
                let Some(x) = x.filter(|x| !x.ordered.is_empty()) else {
                    return (0.0, false);
                };
                let v = match self.spec.kind {
                    Kind::ValueMin => x.ordered.keys().next().map(|k| from_order_key(*k)),
                    Kind::ValueMax => x.ordered.keys().next_back().map(|k| from_order_key(*k)),
                    _ => {
                        let p = match self.spec.condition {
                            Condition::Compare { percentile, .. } => percentile.unwrap_or(50.0),
                            Condition::Expr(_) => 50.0,
                        };
                        let total: u64 = x.ordered.values().map(|c| u64::from(*c)).sum();
                        // pySigma's SQLite backend: ORDER BY field LIMIT 1 OFFSET count * p / 100.
                        let at = ((total as f64 * p / 100.0).floor() as u64).min(total - 1);
                        let mut seen = 0u64;
                        x.ordered.iter().find_map(|(k, c)| {
                            seen += u64::from(*c);
                            (seen > at).then(|| from_order_key(*k))
                        })
                    }
                };
                let v = v.unwrap_or(0.0);
                (v, cmp(v))
            }
            Kind::Temporal => {
                let per = x.map(|x| x.per_src.as_slice()).unwrap_or(&[]);
                let seen = per.iter().filter(|c| **c > 0).count() as f64;
                match self.spec.condition {
                    Condition::Compare { .. } => (seen, cmp(seen)),
                    Condition::Expr(e) => {
                        let present = |n: &str| {
                            self.spec.rules.iter().position(|r| r == n).is_some_and(|i| per.get(i).copied().unwrap_or(0) > 0)
                        };
                        (seen, e.eval(&present))
                    }
                }
            }
            Kind::TemporalOrdered => {
                let per = x.map(|x| x.per_src.as_slice()).unwrap_or(&[]);
                let seen = per.iter().filter(|c| **c > 0).count() as f64;
                match self.spec.condition {
                    Condition::Compare { .. } => {
                        let all: Vec<u16> = (0..self.spec.rules.len() as u16).collect();
                        let k = self.ordered_prefix(grp, &all) as f64;
                        (k, cmp(k))
                    }
                    Condition::Expr(e) => {
                        let neg = e.negated();
                        let positive: Vec<u16> = (0..self.spec.rules.len())
                            .filter(|&i| !neg.contains(&self.spec.rules[i]))
                            .map(|i| i as u16)
                            .collect();
                        let k = self.ordered_prefix(grp, &positive);
                        let present = |n: &str| match self.spec.rules.iter().position(|r| r == n) {
                            Some(i) if neg.iter().any(|x| x == n) => per.get(i).copied().unwrap_or(0) > 0,
                            Some(i) => positive[..k].contains(&(i as u16)),
                            None => false,
                        };
                        (seen, e.eval(&present))
                    }
                }
            }
        }
    }

    /// How many of `seq` occur in that order among the group's records.
    fn ordered_prefix(&self, grp: &Group<'_>, seq: &[u16]) -> usize {
        let mut k = 0;
        for &i in &grp.recs {
            if k < seq.len() && self.recs[i as usize].src == seq[k] {
                k += 1;
            }
        }
        k
    }

    fn hash(&self, key: &str) -> u64 {
        self.hasher.hash_one(key)
    }

    fn drop_group(&mut self, g: u32) {
        let key = &self.recs[self.groups[g as usize].key_rec as usize].key;
        let h = self.hash(key);
        if let Ok(e) = self.table.find_entry(h, |&x| x == g) {
            e.remove();
        }
        self.groups[g as usize] = Group::default();
        self.free.push(g);
        self.live -= 1;
    }

    fn fire(&mut self, g: u32, value: f64) {
        let recs: Vec<u32> = self.groups[g as usize].recs.iter().copied().collect();
        let (Some(&first), Some(&last)) = (recs.first(), recs.last()) else {
            return;
        };
        self.fired.push(Fired {
            key: self.recs[self.groups[g as usize].key_rec as usize].key.clone(),
            start: self.recs[first as usize].time,
            end: self.recs[last as usize].time,
            value,
            recs,
        });
        self.drop_group(g);
    }

    fn schedule(&mut self, g: u32) {
        if let Some(&f) = self.groups[g as usize].recs.front() {
            let dl = self.recs[f as usize].time.saturating_add(self.spec.span);
            self.heap.push(Reverse((dl, g, f)));
        }
    }

    fn track(&mut self, g: u32, v: f64) {
        if let Some(b) = self.best.as_mut() {
            let key = &self.recs[self.groups[g as usize].key_rec as usize].key;
            let e = b.entry(key.clone()).or_insert(v);
            if v > *e {
                *e = v;
            }
        }
    }

    /// Evaluates the window anchored at the group's oldest event.
    fn close_front(&mut self, g: u32) {
        let (v, ok) = self.check(g);
        self.track(g, v);
        if ok {
            self.fire(g, v);
            return;
        }
        self.remove_front(g);
        if self.groups[g as usize].recs.is_empty() {
            self.drop_group(g);
        } else {
            self.schedule(g);
        }
    }

    fn valid(&self, g: u32, anchor: u32) -> bool {
        let grp = &self.groups[g as usize];
        grp.alive && grp.recs.front() == Some(&anchor)
    }

    /// Closes windows that ended before `t`.
    fn advance(&mut self, t: i64) {
        while let Some(&Reverse((dl, g, a))) = self.heap.peek() {
            if dl >= t {
                break;
            }
            self.heap.pop();
            if self.valid(g, a) {
                self.close_front(g);
            }
        }
    }

    /// Evaluates and closes the group with the oldest window (over the group bound).
    fn close_oldest(&mut self) {
        while let Some(Reverse((_, g, a))) = self.heap.pop() {
            if self.valid(g, a) {
                self.limits.closed_groups += 1;
                while self.groups[g as usize].alive {
                    self.close_front(g);
                    // close_front scheduled the next anchor; the stale heap
                    // entries are skipped later.
                }
                return;
            }
        }
    }

    fn group_of(&mut self, i: u32) -> u32 {
        let key = &self.recs[i as usize].key;
        let h = self.hash(key);
        let recs = self.recs;
        let groups = &self.groups;
        if let Some(&g) = self.table.find(h, |&g| recs[groups[g as usize].key_rec as usize].key == *key) {
            return g;
        }
        if self.live >= self.spec.max_groups.max(1) {
            self.close_oldest();
        }
        let g = match self.free.pop() {
            Some(g) => g,
            None => {
                self.groups.push(Group::default());
                (self.groups.len() - 1) as u32
            }
        };
        let grp = &mut self.groups[g as usize];
        grp.alive = true;
        grp.key_rec = i;
        self.live += 1;
        self.limits.peak_groups = self.limits.peak_groups.max(self.live as u64);
        let hasher = self.hasher.clone();
        let groups = &self.groups;
        self.table.insert_unique(h, g, |&x| hasher.hash_one(&*recs[groups[x as usize].key_rec as usize].key));
        g
    }
}

/// Evaluates one correlation over `recs`, which must be sorted by
/// `(time, seq)`.
pub fn run(spec: &Spec<'_>, recs: &[Rec]) -> (Vec<Fired>, Limits) {
    let (f, l, _) = run_inner(spec, recs, false);
    (f, l)
}

/// [`run`], and per group key the largest value any of its windows reached.
pub fn run_tracking(spec: &Spec<'_>, recs: &[Rec]) -> (Vec<Fired>, Limits, Best) {
    let (f, l, b) = run_inner(spec, recs, true);
    (f, l, b.unwrap_or_default())
}

/// Per group key, the largest value any of its windows reached.
pub type Best = HashMap<Box<str>, f64>;

fn run_inner(spec: &Spec<'_>, recs: &[Rec], track: bool) -> (Vec<Fired>, Limits, Option<Best>) {
    let mut e = Eval {
        spec,
        recs,
        groups: Vec::new(),
        free: Vec::new(),
        table: hashbrown::HashTable::new(),
        hasher: foldhash::fast::FixedState::default(),
        heap: BinaryHeap::new(),
        live: 0,
        fired: Vec::new(),
        limits: Limits::default(),
        best: track.then(HashMap::new),
    };
    for (i, r) in recs.iter().enumerate() {
        let i = i as u32;
        e.advance(r.time);
        let g = e.group_of(i);
        let was_empty = e.groups[g as usize].recs.is_empty();
        e.add(g, i);
        if was_empty {
            e.schedule(g);
        }
        if e.groups[g as usize].recs.len() > spec.max_events.max(1) {
            let (v, ok) = e.check(g);
            e.track(g, v);
            if ok {
                e.fire(g, v);
            } else {
                e.remove_front(g);
                e.limits.dropped_events += 1;
                e.schedule(g);
            }
        }
    }
    e.advance(i64::MAX);
    // Windows of the whole input (span i64::MAX) end at i64::MAX.
    while let Some(Reverse((_, g, a))) = e.heap.pop() {
        if e.valid(g, a) {
            e.close_front(g);
        }
    }
    let mut fired = e.fired;
    fired.sort_by(|a, b| (a.start, a.recs[0]).cmp(&(b.start, b.recs[0])));
    (fired, e.limits, e.best)
}

/// The group-by values of a key (`None`: the event lacked the field).
pub fn key_values(key: &str, n: usize) -> Vec<Option<String>> {
    if n == 0 {
        return Vec::new();
    }
    key.split(KEY_SEP)
        .map(|v| (v != KEY_MISSING).then(|| v.to_string()))
        .collect()
}

/// Builds a key from values.
pub fn make_key<'v>(values: impl Iterator<Item = Option<&'v str>>) -> Box<str> {
    let mut s = String::new();
    for (i, v) in values.enumerate() {
        if i > 0 {
            s.push(KEY_SEP);
        }
        s.push_str(v.unwrap_or(KEY_MISSING));
    }
    s.into_boxed_str()
}

#[allow(dead_code)]
fn _uses(_: &BoolExpr) {}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000;

    fn rec(t: i64, key: &str, src: u16, value: Option<&str>) -> Rec {
        Rec { time: t, seq: 0, src, key: key.into(), value: value.map(Into::into), what: 0 }
    }

    fn count(ops: Vec<(Op, f64)>) -> Condition {
        Condition::Compare { ops, fields: Vec::new(), percentile: None }
    }

    fn go(kind: Kind, span: i64, c: &Condition, rules: &[String], recs: &[Rec]) -> Vec<Fired> {
        let spec = Spec { kind, span, condition: c, rules, max_events: 1000, max_groups: 1000 };
        run(&spec, recs).0
    }

    #[test]
    fn boundaries_are_inclusive() {
        let c = count(vec![(Op::Gte, 2.0)]);
        let r = ["a".to_string()];
        // exactly timespan apart: one window
        let f = go(Kind::EventCount, 60 * S, &c, &r, &[rec(0, "k", 0, None), rec(60 * S, "k", 0, None)]);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].start, f[0].end, f[0].value), (0, 60 * S, 2.0));
        // 1 microsecond less: one window
        let f = go(Kind::EventCount, 60 * S, &c, &r, &[rec(0, "k", 0, None), rec(60 * S - 1, "k", 0, None)]);
        assert_eq!(f.len(), 1);
        // 1 microsecond more: none
        let f = go(Kind::EventCount, 60 * S, &c, &r, &[rec(0, "k", 0, None), rec(60 * S + 1, "k", 0, None)]);
        assert!(f.is_empty());
    }

    #[test]
    fn firings_do_not_overlap_and_windows_slide() {
        let c = count(vec![(Op::Gte, 3.0)]);
        let r = ["a".to_string()];
        let recs: Vec<Rec> = [0, 10, 70, 80, 90, 100, 110, 120].iter().map(|t| rec(t * S, "k", 0, None)).collect();
        let f = go(Kind::EventCount, 60 * S, &c, &r, &recs);
        // [0,60]: 2 events, slide; [10,70]: 2, slide; [70,130]: 6 events fire.
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].recs.len(), 6);
        assert_eq!(f[0].start, 70 * S);
    }

    #[test]
    fn groups_and_ranges() {
        let c = count(vec![(Op::Gt, 1.0), (Op::Lte, 2.0)]);
        let r = ["a".to_string()];
        let recs = vec![rec(0, "x", 0, None), rec(1, "y", 0, None), rec(2, "x", 0, None), rec(3, "y", 0, None), rec(4, "y", 0, None)];
        let f = go(Kind::EventCount, 60 * S, &c, &r, &recs);
        // x: 2 events (fires); y: window of 3 fails, slides to 2 (fires).
        assert_eq!(f.len(), 2);
        assert_eq!(&*f[0].key, "x");
        assert_eq!(&*f[1].key, "y");
        assert_eq!(f[1].recs, vec![3, 4]);
    }

    #[test]
    fn value_types() {
        let r = ["a".to_string()];
        let recs = vec![rec(0, "k", 0, Some("u1")), rec(1, "k", 0, Some("u2")), rec(2, "k", 0, Some("u1")), rec(3, "k", 0, None)];
        let c = Condition::Compare { ops: vec![(Op::Gte, 2.0)], fields: vec!["f".into()], percentile: None };
        let f = go(Kind::ValueCount, 60 * S, &c, &r, &recs);
        assert_eq!(f[0].value, 2.0);
        let recs = vec![rec(0, "k", 0, Some("10")), rec(1, "k", 0, Some("30")), rec(2, "k", 0, Some("x"))];
        let c = Condition::Compare { ops: vec![(Op::Gt, 39.0)], fields: vec!["f".into()], percentile: None };
        assert_eq!(go(Kind::ValueSum, 60 * S, &c, &r, &recs)[0].value, 40.0);
        let c = Condition::Compare { ops: vec![(Op::Eq, 20.0)], fields: vec!["f".into()], percentile: None };
        assert_eq!(go(Kind::ValueAvg, 60 * S, &c, &r, &recs)[0].value, 20.0);
        let c = Condition::Compare { ops: vec![(Op::Gte, 30.0)], fields: vec!["f".into()], percentile: None };
        assert_eq!(go(Kind::ValueMax, 60 * S, &c, &r, &recs)[0].value, 30.0);
        let c = Condition::Compare { ops: vec![(Op::Gte, 30.0)], fields: vec!["f".into()], percentile: Some(50.0) };
        assert_eq!(go(Kind::ValuePercentile, 60 * S, &c, &r, &recs)[0].value, 30.0);
    }

    #[test]
    fn temporal_and_ordered() {
        let r = vec!["a".to_string(), "b".to_string()];
        let c = count(vec![(Op::Gte, 2.0)]);
        let recs = vec![rec(0, "k", 1, None), rec(5 * S, "k", 0, None)];
        assert_eq!(go(Kind::Temporal, 60 * S, &c, &r, &recs).len(), 1);
        assert!(go(Kind::TemporalOrdered, 60 * S, &c, &r, &recs).is_empty(), "b before a is not in order");
        let recs = vec![rec(0, "k", 0, None), rec(5 * S, "k", 1, None)];
        assert_eq!(go(Kind::TemporalOrdered, 60 * S, &c, &r, &recs).len(), 1);
        // a and not b
        let e = Condition::Expr(super::super::parse::parse_bool("a and not b").unwrap());
        assert!(go(Kind::Temporal, 60 * S, &e, &r, &recs).is_empty());
        let recs = vec![rec(0, "k", 0, None), rec(61 * S, "k", 1, None)];
        assert_eq!(go(Kind::Temporal, 60 * S, &e, &r, &recs).len(), 1);
    }

    #[test]
    fn group_bound_closes_oldest_and_counts() {
        let c = count(vec![(Op::Gte, 1.0)]);
        let r = ["a".to_string()];
        let recs: Vec<Rec> = (0..10).map(|i| rec(i, &format!("g{i}"), 0, None)).collect();
        let spec = Spec { kind: Kind::EventCount, span: 60 * S, condition: &c, rules: &r, max_events: 10, max_groups: 3 };
        let (f, l) = run(&spec, &recs);
        assert_eq!(f.len(), 10, "early closing still fires every group");
        assert_eq!(l.closed_groups, 7);
        assert_eq!(l.peak_groups, 3);
    }

    #[test]
    fn whole_input_span() {
        let c = count(vec![(Op::Gt, 2.0)]);
        let r = ["a".to_string()];
        let recs: Vec<Rec> = (0..3).map(|i| rec(i * 86_400 * S * 365, "k", 0, None)).collect();
        assert_eq!(go(Kind::EventCount, i64::MAX, &c, &r, &recs).len(), 1);
    }
}
