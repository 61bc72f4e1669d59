//! Evaluating a compiled [`Ruleset`] on one event.
//!
//! This module owns the hot path. A [`Matcher`] is per-thread scratch (needle
//! hit bits stamped with a generation counter, the candidate rule list, the
//! [`EventView`] and the scan memo); the ruleset itself is immutable and
//! shared. For each event: extract the referenced fields, find each present
//! value's needles (from the memo, or by one pass of its field's
//! automatons), collect the rules whose witness triggers fired (a needle
//! seen at a position its pattern accepts, or a field present; plus the
//! rules that have no witness), and evaluate only those rules' condition
//! trees.

pub mod memo;

use std::net::IpAddr;

use crate::compile::{CompiledRule, Expr, Item, Pat, Ruleset, Scan, Slot, hit};
use crate::event::{EventError, EventView, Kind, Val};
use memo::{Lookup, PackedHit, ScanMemo};
use crate::sigma::rule::{Check, FieldRef};
use crate::sigma::value::{CmpOp, TimePart};

/// Per-event hit state: which needles were seen (with their position bits)
/// and which rules became candidates. Entries are stamped with a
/// generation number so nothing is cleared between events.
struct Hits {
    generation: u32,
    needle_gen: Vec<u32>,
    needle_bits: Vec<u8>,
    rule_gen: Vec<u32>,
    candidates: Vec<u32>,
}

impl Hits {
    fn new(ruleset: &Ruleset) -> Self {
        Hits {
            generation: 0,
            needle_gen: vec![0; ruleset.needle_count],
            needle_bits: vec![0; ruleset.needle_count],
            rule_gen: vec![0; ruleset.rules.len()],
            candidates: Vec::new(),
        }
    }

    /// Starts a new event.
    fn reset(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.needle_gen.iter_mut().for_each(|g| *g = 0);
            self.rule_gen.iter_mut().for_each(|g| *g = 0);
            self.generation = 1;
        }
        self.candidates.clear();
    }

    #[inline]
    fn candidate(&mut self, r: u32) {
        if self.rule_gen[r as usize] != self.generation {
            self.rule_gen[r as usize] = self.generation;
            self.candidates.push(r);
        }
    }

    /// Records that needle `id` was seen with position `bits`, and makes the
    /// rules it witnesses candidates.
    #[inline]
    fn see(&mut self, rs: &Ruleset, id: u32, bits: u8) {
        let i = id as usize;
        let before = if self.needle_gen[i] == self.generation {
            self.needle_bits[i]
        } else {
            0
        };
        let new = bits & !before;
        if new == 0 {
            return;
        }
        self.needle_gen[i] = self.generation;
        self.needle_bits[i] = before | bits;
        for &(r, mode) in &rs.by_needle[i] {
            if mode & new != 0 {
                self.candidate(r);
            }
        }
    }

    /// Records needle `id` with position `bits` without making rules
    /// candidates (needles searched after the candidates are known).
    #[inline]
    fn mark(&mut self, id: u32, bits: u8) {
        let i = id as usize;
        if self.needle_gen[i] != self.generation {
            self.needle_gen[i] = self.generation;
            self.needle_bits[i] = 0;
        }
        self.needle_bits[i] |= bits;
    }

    /// The position bits of a needle in the current event (0: not seen).
    #[inline]
    fn needle(&self, id: u32) -> u8 {
        if self.needle_gen[id as usize] == self.generation {
            self.needle_bits[id as usize]
        } else {
            0
        }
    }
}

/// Runs one automaton over one value and appends every needle found, with
/// whether it was at the start, the end or the whole value.
#[inline]
fn scan_into(out: &mut Vec<PackedHit>, scan: &Scan, hay: &str) {
    let len = hay.len();
    for m in scan.ac.find_overlapping_iter(hay) {
        let id = scan.ids[m.pattern().as_usize()];
        let mut bits = hit::ANY;
        if m.start() == 0 {
            bits |= hit::PREFIX;
        }
        if m.end() == len {
            bits |= hit::SUFFIX;
        }
        if m.start() == 0 && m.end() == len {
            bits |= hit::EXACT;
        }
        out.push(memo::pack(id, bits));
    }
}

/// The memoised scanning of values: the memo and the scratch buffers of a
/// miss.
#[derive(Default)]
pub struct Scanner {
    /// Scan results of recently seen values (see [`crate::eval::memo`]).
    pub memo: ScanMemo,
    found: Vec<PackedHit>,
    fold: String,
}

impl Scanner {
    /// The needles of one value in one slot: from the memo, or by running
    /// the slot's automatons (and remembering the result). `scans` holds the
    /// field's automatons and, when keyword items search the value too, the
    /// keyword automatons: one lookup answers both.
    ///
    /// `trigger`: found needles make their rules candidates (else they are
    /// only recorded, [`Hits::mark`]).
    #[inline]
    fn value(
        &mut self,
        rs: &Ruleset,
        hits: &mut Hits,
        slot: u32,
        scans: [&[Scan]; 2],
        v: Val<'_>,
        trigger: bool,
    ) {
        let record = |hits: &mut Hits, found: &[PackedHit]| {
            for &h in found {
                let (id, bits) = memo::unpack(h);
                if trigger {
                    hits.see(rs, id, bits);
                } else {
                    hits.mark(id, bits);
                }
            }
        };
        match self.memo.lookup(slot, v.raw.as_bytes()) {
            Lookup::Found(found) => record(hits, found),
            Lookup::Missing(token) => {
                self.found.clear();
                let mut folded = false;
                for scan in scans.into_iter().flatten() {
                    let hay = if scan.cased {
                        v.raw
                    } else {
                        if !folded {
                            self.fold.clear();
                            crate::event::lower_into(&mut self.fold, v.raw);
                            folded = true;
                        }
                        self.fold.as_str()
                    };
                    scan_into(&mut self.found, scan, hay);
                }
                record(hits, &self.found);
                self.memo.insert(token, slot, v.raw.as_bytes(), &self.found);
            }
        }
    }
}

/// How an event's keyword values are searched before its candidates are
/// known: for the keyword needles of the witnesses of the rules that may run
/// on it ([`crate::compile::KeywordIndex`]). One per logsource label set,
/// built on first use.
enum KwPlan {
    /// No such needle: nothing is searched.
    Nothing,
    /// Every keyword needle, value by value through the scan memo.
    Full,
    /// Searchers over these needles only, run once over the event's keyword
    /// values joined by the index's separator.
    Few(Vec<FewScan>),
}

/// A search for a few keyword needles (one case mode).
struct FewScan {
    cased: bool,
    search: FewSearch,
}

enum FewSearch {
    /// SIMD multi-substring search (aho-corasick's packed Teddy): finds
    /// where some needle starts; the needles starting there are then
    /// compared one by one (candidates are rare: every one is a match).
    Packed {
        searcher: aho_corasick::packed::Searcher,
        needles: Vec<(Vec<u8>, u32)>,
    },
    /// An automaton, when no packed searcher could be built.
    Automaton(Scan),
}

impl FewScan {
    /// Makes rules candidates for every needle in `hay`.
    #[inline]
    fn run(&self, rs: &Ruleset, hits: &mut Hits, hay: &str) {
        match &self.search {
            FewSearch::Packed { searcher, needles } => {
                let bytes = hay.as_bytes();
                let mut at = 0;
                while at < bytes.len() {
                    let span = aho_corasick::Span::from(at..bytes.len());
                    let Some(m) = searcher.find_in(bytes, span) else {
                        break;
                    };
                    // The leftmost match starts here; other needles may start
                    // here too (one a prefix of another), and later needles
                    // may start inside this match: check this position for
                    // all, then search again from the next byte.
                    let rest = &bytes[m.start()..];
                    for (text, id) in needles {
                        if rest.starts_with(text) {
                            hits.see(rs, *id, hit::ANY);
                        }
                    }
                    at = m.start() + 1;
                }
            }
            FewSearch::Automaton(scan) => {
                for m in scan.ac.find_overlapping_iter(hay) {
                    hits.see(rs, scan.ids[m.pattern().as_usize()], hit::ANY);
                }
            }
        }
    }
}

/// Above this many needles a plan uses the automatons of all of them.
const FEW_NEEDLES: usize = 256;

impl KwPlan {
    /// The plan for events on which the rules flagged in `allowed` (all
    /// rules when `None`) may run.
    fn new(rs: &Ruleset, allowed: Option<&[bool]>) -> KwPlan {
        let kw = &rs.keywords;
        if rs.keyword_scans.is_empty() {
            return KwPlan::Nothing;
        }
        let mut want = vec![false; rs.needle_count];
        let mut n = 0;
        for (r, w) in kw.witness.iter().enumerate() {
            if allowed.is_some_and(|a| !a[r]) {
                continue;
            }
            for &id in w {
                n += usize::from(!want[id as usize]);
                want[id as usize] = true;
            }
        }
        if n == 0 {
            return KwPlan::Nothing;
        }
        if n > FEW_NEEDLES || kw.separator.is_none() {
            return KwPlan::Full;
        }
        let mut scans = Vec::new();
        for cased in [false, true] {
            let (ids, texts): (Vec<u32>, Vec<&str>) = kw
                .needles
                .iter()
                .filter(|&&(id, c)| c == cased && want[id as usize])
                .map(|&(id, _)| (id, rs.needle_text[id as usize].as_str()))
                .unzip();
            if ids.is_empty() {
                continue;
            }
            let packed = aho_corasick::packed::Config::new()
                .match_kind(aho_corasick::packed::MatchKind::LeftmostFirst)
                .builder()
                .extend(&texts)
                .build();
            let search = match packed {
                Some(searcher) => FewSearch::Packed {
                    searcher,
                    needles: texts.iter().map(|t| t.as_bytes().to_vec()).zip(ids).collect(),
                },
                None => match aho_corasick::AhoCorasick::builder()
                    .match_kind(aho_corasick::MatchKind::Standard)
                    .build(&texts)
                {
                    Ok(ac) => FewSearch::Automaton(Scan { ac: ac.into(), ids, cased }),
                    Err(_) => return KwPlan::Full,
                },
            };
            scans.push(FewScan { cased, search });
        }
        KwPlan::Few(scans)
    }
}

/// Per-thread evaluation scratch.
pub struct Matcher<'r> {
    pub ruleset: &'r Ruleset,
    pub view: EventView,
    hits: Hits,
    pub scanner: Scanner,
    /// Per record of the event: stamped with the event's generation when
    /// its keyword scan was done together with its field scan.
    kw_done: Vec<u32>,
    /// Keyword plans per logsource label set, and for unscoped events.
    kw_plans: Vec<Option<KwPlan>>,
    kw_plan_all: Option<KwPlan>,
    /// The current event's keyword values were searched for every keyword
    /// needle.
    kw_complete: bool,
    /// The current event's keyword values, joined, and case-folded.
    kw_text: String,
    kw_fold: String,
    matched: Vec<u32>,
    /// Logsource classification cache (when the ruleset is scoped).
    pub scope: crate::mapping::scope::ScopeScratch,
    /// Per rule: how many events it was evaluated on (for `--profile`).
    pub evaluated: Vec<u64>,
    pub profile_nanos: Option<Vec<u64>>,
}

impl<'r> Matcher<'r> {
    pub fn new(ruleset: &'r Ruleset) -> Self {
        Matcher {
            ruleset,
            view: EventView::new(),
            hits: Hits::new(ruleset),
            scanner: Scanner::default(),
            kw_done: Vec::new(),
            kw_plans: Vec::new(),
            kw_plan_all: None,
            kw_complete: false,
            kw_text: String::new(),
            kw_fold: String::new(),
            matched: Vec::new(),
            scope: Default::default(),
            evaluated: vec![0; ruleset.rules.len()],
            profile_nanos: None,
        }
    }

    /// Turns on per-rule timing (costs two clock reads per evaluated rule).
    pub fn enable_profile(&mut self) {
        self.profile_nanos = Some(vec![0; self.ruleset.rules.len()]);
    }

    /// Parses one JSON line and returns the indexes of the matching rules
    /// (ascending).
    pub fn match_line(&mut self, line: &[u8]) -> Result<&[u32], EventError> {
        self.view.load(line, &self.ruleset.fields)?;
        self.evaluate_loaded();
        Ok(&self.matched)
    }

    /// Evaluates the event currently loaded in `self.view`.
    pub fn evaluate_loaded(&mut self) {
        let rs = self.ruleset;
        self.hits.reset();
        self.matched.clear();
        // 0. Which rules may run (when the ruleset is scoped), and so which
        //    keyword needles must be searched before the candidates are known.
        let allowed = match &rs.scope {
            Some(s) => s.allowed_set(&self.view, &mut self.scope),
            None => None,
        };
        let plan = match allowed {
            Some((id, a)) => {
                let i = id as usize;
                if self.kw_plans.len() <= i {
                    self.kw_plans.resize_with(i + 1, || None);
                }
                &*self.kw_plans[i].get_or_insert_with(|| KwPlan::new(rs, Some(a)))
            }
            None => &*self.kw_plan_all.get_or_insert_with(|| KwPlan::new(rs, None)),
        };
        let allowed = allowed.map(|(_, a)| a);
        let full = matches!(plan, KwPlan::Full);
        self.kw_complete = full;
        let hits = &mut self.hits;
        // 1. One automaton pass per present field (and keyword values),
        //    unless the memo has seen the value. Under the full keyword plan
        //    a value searched both as its field and by keyword items is
        //    looked up once, under a slot of its own (`KEYWORDS_TOO`), and
        //    marked so the keyword pass skips it.
        let kw_scans: &[Scan] = &rs.keyword_scans;
        let gen_ = hits.generation;
        if gen_ == 1 {
            // First event, or the generation counter wrapped.
            self.kw_done.iter_mut().for_each(|g| *g = 0);
        }
        if self.kw_done.len() < self.view.rec_count() {
            self.kw_done.resize(self.view.rec_count(), 0);
        }
        for &f in self.view.present() {
            let scans = &rs.field_scans[f as usize];
            if scans.is_empty() {
                continue;
            }
            for (r, keyword, v) in self.view.recs_of(f) {
                if v.kind == Kind::Null {
                    continue;
                }
                if full && keyword {
                    self.kw_done[r as usize] = gen_;
                    let slot = f | memo::KEYWORDS_TOO;
                    self.scanner
                        .value(rs, hits, slot, [scans, kw_scans], v, true);
                } else {
                    self.scanner.value(rs, hits, f, [scans, &[]], v, true);
                }
            }
        }
        match plan {
            KwPlan::Nothing => {}
            KwPlan::Full => {
                for &r in self.view.keyword_recs() {
                    if self.kw_done[r as usize] != gen_ {
                        let v = self.view.val(r);
                        self.scanner
                            .value(rs, hits, memo::KEYWORDS, [kw_scans, &[]], v, true);
                    }
                }
            }
            KwPlan::Few(scans) => {
                // One pass per case mode over the values joined (folded as
                // they are copied when needed).
                let sep = rs.keywords.separator.unwrap_or(0) as char;
                let (mut raw, mut folded) = (false, false);
                for scan in scans {
                    let hay = if scan.cased {
                        if !raw {
                            self.kw_text.clear();
                            for &r in self.view.keyword_recs() {
                                self.kw_text.push_str(self.view.val(r).raw);
                                self.kw_text.push(sep);
                            }
                            raw = true;
                        }
                        self.kw_text.as_str()
                    } else {
                        if !folded {
                            self.kw_fold.clear();
                            for &r in self.view.keyword_recs() {
                                crate::event::lower_into(&mut self.kw_fold, self.view.val(r).raw);
                                self.kw_fold.push(sep);
                            }
                            folded = true;
                        }
                        self.kw_fold.as_str()
                    };
                    scan.run(rs, hits, hay);
                }
            }
        }
        // 2. Rules triggered by a present field, and rules without a witness.
        for &f in self.view.present() {
            for &r in &rs.by_field[f as usize] {
                hits.candidate(r);
            }
        }
        for &r in &rs.always {
            hits.candidate(r);
        }
        // 3. Evaluate candidates (those whose logsource can apply, when
        //    the ruleset is scoped). A candidate that reads keyword needles
        //    outside its witness needs them all searched first.
        let may_run = |r: u32| allowed.is_none_or(|a| a[r as usize]);
        if !self.kw_complete
            && self
                .hits
                .candidates
                .iter()
                .any(|&r| may_run(r) && rs.keywords.lazy[r as usize])
        {
            self.kw_complete = true;
            search_all_keywords(rs, &self.view, &mut self.scanner, &mut self.hits);
        }
        let ctx = Ctx {
            view: &self.view,
            hits: &self.hits,
        };
        for &r in &self.hits.candidates {
            if !may_run(r) {
                continue;
            }
            let rule = &rs.rules[r as usize];
            self.evaluated[r as usize] += 1;
            let ok = if let Some(p) = self.profile_nanos.as_mut() {
                let t = std::time::Instant::now();
                let ok = ctx.rule(rule);
                p[r as usize] += t.elapsed().as_nanos() as u64;
                ok
            } else {
                ctx.rule(rule)
            };
            if ok {
                self.matched.push(r);
            }
        }
        self.matched.sort_unstable();
    }

    /// Searches the loaded event's keyword values for every keyword needle
    /// (once per event), recording what is found without making rules
    /// candidates: the needles of the witnesses of the rules that may run
    /// were searched before (the event's keyword plan), so this only completes what
    /// evaluating (or explaining) a rule reads.
    pub fn complete_keywords(&mut self) {
        if self.kw_complete {
            return;
        }
        self.kw_complete = true;
        search_all_keywords(self.ruleset, &self.view, &mut self.scanner, &mut self.hits);
    }

    /// Evaluates one rule on the loaded event, with each item's outcome
    /// (for `explain`). Needle scans must have run (`evaluate_loaded`).
    /// [`Self::complete_keywords`] first when the rule has keyword items.
    pub fn item_outcomes(&self, rule: &CompiledRule) -> Vec<bool> {
        let ctx = Ctx {
            view: &self.view,
            hits: &self.hits,
        };
        rule.items.iter().map(|i| ctx.item(i)).collect()
    }

    /// The matching rules of the last evaluated event.
    pub fn matched(&self) -> &[u32] {
        &self.matched
    }
}

/// [`Matcher::complete_keywords`]: every keyword needle over the event's
/// keyword values, value by value through the memo, without triggers.
fn search_all_keywords(rs: &Ruleset, view: &EventView, scanner: &mut Scanner, hits: &mut Hits) {
    for &r in view.keyword_recs() {
        let v = view.val(r);
        scanner.value(rs, hits, memo::KEYWORDS, [&rs.keyword_scans, &[]], v, false);
    }
}

struct Ctx<'a> {
    view: &'a EventView,
    hits: &'a Hits,
}

impl Ctx<'_> {
    fn rule(&self, r: &CompiledRule) -> bool {
        self.expr(&r.expr, &r.items)
    }

    fn expr(&self, e: &Expr, items: &[Item]) -> bool {
        match e {
            Expr::Item(i) => self.item(&items[*i as usize]),
            Expr::And(v) => v.iter().all(|x| self.expr(x, items)),
            Expr::Or(v) => v.iter().any(|x| self.expr(x, items)),
            Expr::Not(x) => !self.expr(x, items),
            Expr::AtLeast(n, v) => v.iter().filter(|x| self.expr(x, items)).take(*n).count() >= *n,
            Expr::Const(b) => *b,
        }
    }

    fn item(&self, item: &Item) -> bool {
        if item.all {
            item.group_ranges()
                .all(|r| item.pats[r].iter().any(|p| self.pat_inline(item.slot, p)))
        } else {
            item.pats.iter().any(|p| self.pat_inline(item.slot, p))
        }
    }

    /// [`Self::pat`], with the needle test (most patterns) inline.
    #[inline(always)]
    fn pat_inline(&self, slot: Slot, p: &Pat) -> bool {
        match p {
            Pat::Needle { id, mode } => self.needle(*id) & mode != 0,
            _ => self.pat(slot, p),
        }
    }

    fn needle(&self, id: u32) -> u8 {
        self.hits.needle(id)
    }

    fn values<'v>(&'v self, slot: Slot) -> Box<dyn Iterator<Item = Val<'v>> + 'v> {
        match slot {
            Slot::Field(f) => Box::new(self.view.values(f)),
            Slot::Keywords => Box::new(self.view.keyword_values()),
        }
    }

    fn any_value(&self, slot: Slot, f: impl Fn(Val<'_>) -> bool) -> bool {
        match slot {
            Slot::Field(id) => self.view.values(id).any(f),
            Slot::Keywords => self.view.keyword_values().any(f),
        }
    }

    /// A wildcard pattern: `matches` over the non-null values of `slot`, as
    /// written when `cased`, else case-folded; never when its witness
    /// needle was not seen.
    fn wildcard(
        &self,
        slot: Slot,
        cased: bool,
        witness: Option<u32>,
        matches: impl Fn(&str) -> bool,
    ) -> bool {
        if let Some(w) = witness
            && self.needle(w) == 0
        {
            return false;
        }
        self.any_value(slot, |v| {
            v.kind != Kind::Null
                && if cased {
                    matches(v.raw)
                } else {
                    matches(&v.folded())
                }
        })
    }

    fn pat(&self, slot: Slot, p: &Pat) -> bool {
        match p {
            Pat::Needle { id, mode } => self.needle(*id) & mode != 0,
            Pat::Empty { mode } => self.any_value(slot, |v| {
                v.kind != Kind::Null && (*mode != hit::EXACT || v.raw.is_empty())
            }),
            Pat::Glob {
                glob,
                cased,
                witness,
            } => self.wildcard(slot, *cased, *witness, |s| glob.is_match(s)),
            Pat::Wild { re, cased, witness } => {
                self.wildcard(slot, *cased, *witness, |s| re.is_match(s))
            }
            Pat::Regex(re, required) => self.any_value(slot, |v| {
                v.kind != Kind::Null
                    && required.may_match(v.raw)
                    && re.is_match(v.raw)
            }),
            Pat::Check(c) => self.check(slot, c),
            Pat::FieldRef(FieldRef {
                field: other,
                starts,
                ends,
                cased,
            }) => {
                let others: Vec<Val<'_>> = self
                    .view
                    .values(*other)
                    .filter(|v| v.kind != Kind::Null)
                    .collect();
                if others.is_empty() {
                    return false;
                }
                self.values(slot).any(|v| {
                    v.kind != Kind::Null
                        && others.iter().any(|o| {
                            let (a, b) = if *cased {
                                (v.raw.into(), o.raw.into())
                            } else {
                                (v.folded(), o.folded())
                            };
                            let (a, b): (&str, &str) = (&a, &b);
                            match (starts, ends) {
                                (false, false) => a == b,
                                (true, false) => a.starts_with(b),
                                (false, true) => a.ends_with(b),
                                (true, true) => a.contains(b),
                            }
                        })
                })
            }
        }
    }
}

impl Ctx<'_> {
    fn check(&self, slot: Slot, c: &Check) -> bool {
        match c {
            Check::Cidr(net) => self.any_value(slot, |v| {
                v.raw
                    .trim()
                    .parse::<IpAddr>()
                    .is_ok_and(|ip| net.contains(&ip))
            }),
            Check::Cmp { op, value } => self.any_value(slot, |v| {
                parse_number(v).is_some_and(|n| match op {
                    CmpOp::Lt => n < *value,
                    CmpOp::Lte => n <= *value,
                    CmpOp::Gt => n > *value,
                    CmpOp::Gte => n >= *value,
                })
            }),
            Check::TimePart { part, value } => self.any_value(slot, |v| {
                time_part(v.raw, *part).is_some_and(|x| x == *value)
            }),
            Check::Exists(b) => match slot {
                Slot::Field(f) => self.view.has(f) == *b,
                Slot::Keywords => false,
            },
            Check::Null => match slot {
                Slot::Field(f) => {
                    !self.view.has(f) || self.view.values(f).any(|v| v.kind == Kind::Null)
                }
                Slot::Keywords => false,
            },
        }
    }
}

fn parse_number(v: Val<'_>) -> Option<f64> {
    match v.kind {
        Kind::Num | Kind::Str => {
            let t = v.raw.trim();
            if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                return i64::from_str_radix(h, 16).ok().map(|n| n as f64);
            }
            t.parse::<f64>().ok().filter(|n| n.is_finite())
        }
        _ => None,
    }
}

/// Extracts a part of a timestamp written as ISO 8601 / RFC 3339
/// (`2024-03-05T14:07:09.123Z`, `2024-03-05 14:07:09`). As the spec warns,
/// no time zone conversion is done: the parts are read as written.
pub fn time_part(s: &str, part: TimePart) -> Option<i64> {
    let b = s.trim().as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = b.get(r)?;
        if t.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(t).ok()?.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let time = |r| {
        if b.len() >= 16 && matches!(b[10], b'T' | b't' | b' ') {
            num(r)
        } else {
            None
        }
    };
    Some(match part {
        TimePart::Year => y,
        TimePart::Month => mo,
        TimePart::Day => d,
        TimePart::Hour => time(11..13)?,
        TimePart::Minute => time(14..16)?,
        TimePart::Week => iso_week(y, mo, d),
    })
}

/// ISO 8601 week number of a date.
fn iso_week(y: i64, m: i64, d: i64) -> i64 {
    fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
        let y = if m <= 2 { y - 1 } else { y };
        let era = if y >= 0 { y } else { y - 399 } / 400;
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146097 + doe - 719468
    }
    let weekday = |days: i64| (days + 3).rem_euclid(7) + 1; // Monday = 1
    let days = days_from_civil(y, m, d);
    let ordinal = days - days_from_civil(y, 1, 1) + 1;
    let wd = weekday(days);
    let w = (ordinal - wd + 10) / 7;
    if w < 1 {
        let py = y - 1;
        let p_ord = days - days_from_civil(py, 1, 1) + 1;
        (p_ord - wd + 10) / 7
    } else if w == 53 {
        let jan1_next = weekday(days_from_civil(y + 1, 1, 1));
        if jan1_next <= 4 { 1 } else { 53 }
    } else {
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_parts() {
        let t = "2024-03-05T14:07:09.123Z";
        assert_eq!(time_part(t, TimePart::Year), Some(2024));
        assert_eq!(time_part(t, TimePart::Month), Some(3));
        assert_eq!(time_part(t, TimePart::Day), Some(5));
        assert_eq!(time_part(t, TimePart::Hour), Some(14));
        assert_eq!(time_part(t, TimePart::Minute), Some(7));
        assert_eq!(time_part("2015-07-24 19:01:01", TimePart::Hour), Some(19));
        assert_eq!(time_part("2015-07-24", TimePart::Hour), None);
        assert_eq!(time_part("garbage", TimePart::Year), None);
        // ISO weeks: 2021-01-03 is in week 53 of 2020; 2024-12-30 is week 1 of 2025.
        assert_eq!(time_part("2021-01-03", TimePart::Week), Some(53));
        assert_eq!(time_part("2024-12-30", TimePart::Week), Some(1));
        assert_eq!(time_part("2024-03-05", TimePart::Week), Some(10));
    }
}
