//! Compiling rules into an immutable, shareable [`Ruleset`].
//!
//! This module owns the compiled form. Design (see docs/performance.md):
//!
//! * every field a rule references is interned once ([`FieldIndex`]);
//! * every literal of every rule (after modifiers, lower-cased unless
//!   `cased`) becomes a *needle* in one `aho-corasick` automaton per field,
//!   shared by all rules. One pass over a field value finds every needle and
//!   records whether it matched anywhere, at the start, at the end, or as
//!   the whole value, so `contains`, `startswith`, `endswith` and plain
//!   equality of thousands of rules cost one scan per field;
//! * wildcards with interior `*` become segment globs, `?` and `re` become
//!   compiled `regex`es; CIDR, numeric, time-part, null/exists and field
//!   reference checks are typed matchers;
//! * each rule gets a *witness*: a set of needles at least one of which must
//!   be present for the rule to possibly match. Rules are evaluated only for
//!   events where a witness needle was seen, so most rules are never touched
//!   for most events. Rules without a witness are evaluated on every event.

pub mod field_usage;
pub mod loader;
pub mod required;

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex::Regex;

use crate::error::{RuleError, RuleIssue};
use crate::event::{EventView, FieldId, FieldIndex};
use crate::event::time::EventTime;
use crate::mapping::{FieldMapping, Identity};
use crate::sigma::modifier::{RegexKey, compile_regex, shared_regex};
use crate::sigma::value::Part;
use crate::sigma::rule::{
    Check, Condition, DetectionItem, FieldRef, Pattern, Quantifier, Rule, Search, SigmaString,
    resolve_of,
};

/// Needle number, global to the ruleset.
pub type NeedleId = u32;

/// Where an item looks: one field, or every keyword-searched value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    Field(FieldId),
    Keywords,
}

/// Bits recorded for a needle while scanning an event.
pub mod hit {
    pub const ANY: u8 = 1;
    pub const PREFIX: u8 = 2;
    pub const SUFFIX: u8 = 4;
    pub const EXACT: u8 = 8;
}

/// A glob with only `*` wildcards, as lower-cased (unless cased) segments.
#[derive(Debug, Clone)]
pub struct Glob {
    pub segments: Vec<String>,
    pub anchored_start: bool,
    pub anchored_end: bool,
}

impl Glob {
    pub fn is_match(&self, s: &str) -> bool {
        let mut rest = s;
        let mut segs = &self.segments[..];
        if self.anchored_start {
            let Some((first, tail)) = segs.split_first() else {
                return rest.is_empty();
            };
            match rest.strip_prefix(first.as_str()) {
                Some(r) => rest = r,
                None => return false,
            }
            segs = tail;
        }
        if self.anchored_end {
            let Some((last, init)) = segs.split_last() else {
                return rest.is_empty();
            };
            match rest.strip_suffix(last.as_str()) {
                Some(r) => rest = r,
                None => return false,
            }
            segs = init;
        }
        for seg in segs {
            match memchr::memmem::find(rest.as_bytes(), seg.as_bytes()) {
                Some(i) => rest = &rest[i + seg.len()..],
                None => return false,
            }
        }
        true
    }
}

/// One compiled value check: a [`Pattern`] lowered for evaluation.
/// Strings become automaton needles, globs or wildcard regexes and regexes
/// are compiled; typed checks and field references pass through.
#[derive(Debug, Clone)]
pub enum Pat {
    /// A literal found by the field's automaton; `mode` is a [`hit`] bit.
    Needle {
        id: NeedleId,
        mode: u8,
    },
    /// The empty literal: `mode == EXACT` means the value is `""`,
    /// anything else means any non-null value.
    Empty {
        mode: u8,
    },
    /// Interior wildcards: `witness` is a needle that must be present.
    Glob {
        glob: Glob,
        cased: bool,
        witness: Option<NeedleId>,
    },
    /// Wildcards with `?`: an anchored regex over the (folded) value.
    Wild {
        re: Regex,
        cased: bool,
        witness: Option<NeedleId>,
    },
    /// A regex, with the literal run every match contains (when it has
    /// one; boxed: most patterns are needles, and they share this enum's size).
    Regex(Regex, Box<required::LazyRequired>),
    FieldRef(FieldRef<FieldId>),
    Check(Check),
}

impl Pat {
    /// A short name of the matcher kind, for `explain`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Pat::Needle { mode, .. } => match *mode {
                hit::EXACT => "exact",
                hit::PREFIX => "prefix",
                hit::SUFFIX => "suffix",
                _ => "substring",
            },
            Pat::Empty { .. } => "empty",
            Pat::Glob { .. } => "glob",
            Pat::Wild { .. } => "wildcard-regex",
            Pat::Regex(..) => "regex",
            Pat::FieldRef(_) => "fieldref",
            Pat::Check(c) => match c {
                Check::Cidr(_) => "cidr",
                Check::Cmp { .. } => "numeric",
                Check::TimePart { .. } => "time-part",
                Check::Exists(_) => "exists",
                Check::Null => "null",
            },
        }
    }
}

/// A compiled detection item on one event field.
#[derive(Debug, Clone)]
pub struct Item {
    pub slot: Slot,
    pub pats: Vec<Pat>,
    /// For each pattern, the index of the rule value it came from (values
    /// expand into alternatives: `windash`, `base64offset`, placeholders).
    pub groups: Vec<u32>,
    /// `all`: every value (group) must match; otherwise any pattern.
    pub all: bool,
    /// The rule-level field name this item came from (before mapping).
    pub rule_field: Option<String>,
    /// The detection item this item was compiled from.
    pub origin: Origin,
}

/// Where a compiled [`Item`] came from. A detection item becomes one item
/// per field its field maps to; the compiler records the source on each so
/// tools (`explain`) read it instead of re-deriving the layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Item `item` (in [`Search::items`] order) of the rule's search number
    /// `search` (in `detection.searches`).
    Search { search: u32, item: u32 },
    /// Item `item` of group `group` of the logsource conditions the mapping
    /// adds (`FieldMapping::logsource_conditions`).
    Logsource { group: u32, item: u32 },
}

impl Item {
    /// The pattern index ranges of each value group (groups are contiguous).
    pub fn group_ranges(&self) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
        let mut start = 0;
        std::iter::from_fn(move || {
            if start >= self.pats.len() {
                return None;
            }
            let g = self.groups[start];
            let end = start + self.groups[start..].iter().take_while(|x| **x == g).count();
            let r = start..end;
            start = end;
            Some(r)
        })
    }
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub enum Expr {
    Item(u32),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    AtLeast(usize, Vec<Expr>),
    Const(bool),
}

/// A rule ready for evaluation.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// The rule as read. Its detection searches (the items' values and
    /// modifier results, a third of the heap a SigmaHQ run holds) are
    /// emptied once the rule is compiled, as nothing but `explain` reads
    /// them; [`RulesetBuilder::keeping_searches`] keeps them.
    pub rule: Rule,
    pub items: Vec<Item>,
    pub expr: Expr,
    /// Triggers of which at least one must fire; `None` = always evaluate.
    pub witness: Option<Vec<Trigger>>,
}

/// Something seen while scanning an event that makes a rule a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Trigger {
    /// The needle was found in its field at a position the pattern accepts
    /// (a [`hit`] mask: `EventID: 4` is not triggered by the `4` in `4688`).
    Needle(NeedleId, u8),
    /// The field is present (for regex, CIDR, numeric, time-part, empty,
    /// `exists`, and field-reference checks, which all need a value).
    Field(FieldId),
}

/// The hash of a needle in [`RulesetBuilder`]'s table.
fn needle_hash(slot: Slot, cased: bool, text: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one((slot, cased, text))
}

/// Needle table for one slot and case mode.
#[derive(Debug, Default)]
struct PoolBuilder {
    /// The pool's needles (their text is in `RulesetBuilder::needle_text`).
    ids: Vec<NeedleId>,
    /// Total needle text, bounded by [`POOL_BYTES_LIMIT`].
    bytes: usize,
}

/// The most needle text one automaton may hold. An automaton has at most
/// one state per needle byte, so below this bound aho-corasick's
/// noncontiguous NFA always fits its 32-bit state IDs (the DFA and the
/// contiguous NFA, which fit fewer states, fall back to it); a rule that
/// would push a pool past it is a rule error, not a failed build.
const POOL_BYTES_LIMIT: usize = 1 << 30;

/// From this many needle bytes a pool's automaton stays a noncontiguous
/// NFA (see [`RulesetBuilder::build`]).
const NONCONTIGUOUS_BYTES: usize = 50_000;

/// An automaton over one slot's needles.
#[derive(Debug, Clone)]
pub struct Scan {
    pub ac: LazyAc,
    pub ids: Vec<NeedleId>,
    pub cased: bool,
}

/// An aho-corasick automaton built on first use: a field that no event of
/// the run carries (or a keyword pool that no event's plan searches with)
/// costs no start-up time, and with more than one thread
/// [`RulesetBuilder::build`] has the pool's threads build them all in the
/// background meanwhile ([`LazyAc::prebuild`]). Building one cannot fail
/// ([`build_automaton`] falls back to a kind that always fits), so nothing
/// a rule author could get wrong is deferred past load time; only the work
/// moves. Dereferences to the automaton; concurrent first uses wait for one
/// build. Clones share it.
#[derive(Clone)]
pub struct LazyAc(std::sync::Arc<LazyInner>);

struct LazyInner {
    /// Every needle's text, shared by the ruleset's automatons and
    /// [`Ruleset::needle_text`]; this automaton's are those of `ids`.
    needles: std::sync::Arc<Vec<String>>,
    ids: Vec<NeedleId>,
    kinds: &'static [AhoCorasickKind],
    built: std::sync::OnceLock<AhoCorasick>,
}

impl LazyInner {
    /// The automaton's needle texts.
    fn texts(&self) -> impl Iterator<Item = &String> + Clone {
        self.ids.iter().map(|&id| &self.needles[id as usize])
    }
}

impl LazyAc {
    /// An automaton over the `needles` numbered `ids`, of the first of
    /// `kinds` that builds, built when first dereferenced.
    pub fn new(
        needles: std::sync::Arc<Vec<String>>,
        ids: Vec<NeedleId>,
        kinds: &'static [AhoCorasickKind],
    ) -> LazyAc {
        LazyAc(std::sync::Arc::new(LazyInner {
            needles,
            ids,
            kinds,
            built: std::sync::OnceLock::new(),
        }))
    }

    /// Whether the automaton has been built.
    pub fn is_built(&self) -> bool {
        self.0.built.get().is_some()
    }

    /// Needle bytes (what a build costs, roughly).
    fn bytes(&self) -> usize {
        self.0.texts().map(String::len).sum()
    }

    /// Builds these automatons on the rayon pool's threads, largest first,
    /// without waiting: with more than one thread the rest of start-up (and
    /// the run's first chunk) overlaps them, and a run that needs one
    /// before it is ready waits for that one only. With one thread nothing
    /// happens here: each is built on first use, and unused ones never.
    pub fn prebuild(acs: impl IntoIterator<Item = LazyAc>) {
        if rayon::current_num_threads() < 2 {
            return;
        }
        let mut acs: Vec<(usize, LazyAc)> = acs
            .into_iter()
            .filter(|a| !a.is_built())
            .map(|a| (a.bytes(), a))
            .collect();
        acs.sort_by_key(|(b, _)| std::cmp::Reverse(*b));
        for (_, a) in acs {
            rayon::spawn(move || {
                let _ = &*a;
            });
        }
    }
}

impl From<AhoCorasick> for LazyAc {
    /// An automaton that is already built.
    fn from(ac: AhoCorasick) -> LazyAc {
        LazyAc(std::sync::Arc::new(LazyInner {
            needles: Default::default(),
            ids: Vec::new(),
            kinds: &[],
            built: std::sync::OnceLock::from(ac),
        }))
    }
}

impl std::ops::Deref for LazyAc {
    type Target = AhoCorasick;

    #[inline]
    fn deref(&self) -> &AhoCorasick {
        let inner = &*self.0;
        inner
            .built
            .get_or_init(|| build_automaton(inner.texts(), inner.kinds))
    }
}

impl std::fmt::Debug for LazyAc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyAc")
            .field("needles", &self.0.ids.len())
            .field("built", &self.0.built.get())
            .finish()
    }
}

/// Which keyword needles each rule needs, so an event searches its
/// keyword values only for the needles of the rules that may run on it.
///
/// Keyword items are a full-text search over every string value of an
/// event: on Plaso exports (3.6 KB of `message` and `xml_string` per line)
/// one pass of the automaton of all keyword needles (624 over SigmaHQ
/// `rules/`) costs more than the rest of evaluation. Two facts make most of
/// it unnecessary: a rule becomes a candidate only through its witness, so
/// only the keyword needles that are part of some witness must be searched
/// before the candidates are known (the rest only for a candidate that reads
/// them, [`KeywordIndex::lazy`]); and with logsource scoping only the
/// witnesses of rules that may run on the event count (on a Windows event
/// of SigmaHQ `rules/`, the 20 needles of the Mimikatz keyword rule).
#[derive(Debug, Default)]
pub struct KeywordIndex {
    /// Every keyword needle, with whether it is matched as written.
    pub needles: Vec<(NeedleId, bool)>,
    /// Per rule: the keyword needles of its witness.
    pub witness: Vec<Vec<NeedleId>>,
    /// Per rule: it reads keyword needles that are not in its witness, so
    /// evaluating it needs the search of every keyword needle.
    pub lazy: Vec<bool>,
    /// A byte that occurs in no keyword needle: keyword values joined with it
    /// are searched in one pass, and no match can span two values.
    pub separator: Option<u8>,
}

/// Options for compiling.
pub struct CompileOptions<'a> {
    pub mapping: &'a dyn FieldMapping,
    /// `%name%` placeholder values for the `expand` modifier.
    pub placeholders: &'a HashMap<String, Vec<String>>,
    /// Fields searched by keyword items; `None` = every string value.
    pub keyword_fields: Option<Vec<String>>,
}

impl Default for CompileOptions<'_> {
    fn default() -> Self {
        static EMPTY: std::sync::OnceLock<HashMap<String, Vec<String>>> =
            std::sync::OnceLock::new();
        CompileOptions {
            mapping: &Identity,
            placeholders: EMPTY.get_or_init(HashMap::new),
            keyword_fields: None,
        }
    }
}

/// The immutable compiled ruleset, shared by all threads.
#[derive(Debug)]
pub struct Ruleset {
    pub fields: FieldIndex,
    pub rules: Vec<CompiledRule>,
    /// Per field: automatons (case-insensitive and cased).
    pub field_scans: Vec<Vec<Scan>>,
    pub keyword_scans: Vec<Scan>,
    /// What keyword search each event needs (see [`KeywordIndex`]).
    pub keywords: KeywordIndex,
    pub needle_count: usize,
    /// Needle text, for `explain`; shared with the automatons, which build
    /// from it.
    pub needle_text: std::sync::Arc<Vec<String>>,
    /// Rules to evaluate for every event (no witness).
    pub always: Vec<u32>,
    /// Rules to evaluate when a needle was seen, with the [`hit`] mask of
    /// positions that trigger them.
    pub by_needle: Vec<Vec<(u32, u8)>>,
    /// Rules to evaluate when a field is present.
    pub by_field: Vec<Vec<u32>>,
    /// Fields tried, in order, for an event's time (see [`crate::event::time`]).
    pub time_fields: Vec<FieldId>,
    /// How a number in a time field is read.
    pub time_number: fn(f64) -> Option<EventTime>,
    /// Fields whose values matched events carry to sinks
    /// ([`RulesetBuilder::carry`]), in the order they were asked for.
    pub carried: Vec<FieldId>,
    /// Logsource scoping (see [`crate::mapping::scope`]); `None` runs every rule on
    /// every event.
    pub scope: Option<crate::mapping::scope::CompiledScope>,
}

impl Ruleset {
    /// Turns on logsource scoping with `table`: the fields its conditions
    /// read join the field index (with no matchers), and each rule's
    /// logsource is resolved against it.
    pub fn set_scope(&mut self, table: &crate::mapping::scope::ScopeTable) {
        let logsources: Vec<&crate::sigma::rule::Logsource> =
            self.rules.iter().map(|r| &r.rule.logsource).collect();
        let scope = crate::mapping::scope::CompiledScope::new(table, &mut self.fields, &logsources);
        let n = self.fields.len();
        self.field_scans.resize_with(n, Vec::new);
        self.by_field.resize_with(n, Vec::new);
        self.scope = Some(scope);
    }

    /// [`RulesetBuilder::carry`] for a built ruleset: asks matched events to
    /// carry the values of the event field `name` to sinks; returns its
    /// position in [`crate::run::engine::LineMatch::carried`].
    pub fn carry(&mut self, name: &str) -> usize {
        let id = self.fields.intern(name);
        let n = self.fields.len();
        self.field_scans.resize_with(n, Vec::new);
        self.by_field.resize_with(n, Vec::new);
        match self.carried.iter().position(|&f| f == id) {
            Some(i) => i,
            None => {
                self.carried.push(id);
                self.carried.len() - 1
            }
        }
    }

    /// The time of the event loaded in `view`: the first value of the
    /// [`Ruleset::time_fields`] that reads as a time.
    pub fn event_time(&self, view: &EventView) -> Option<EventTime> {
        self.time_fields.iter().find_map(|&f| {
            view.values(f)
                .find_map(|v| crate::event::time::from_value(v, self.time_number))
        })
    }

    /// The first value of each carried field of the event loaded in `view`
    /// (`None` where the event lacks it or it is JSON `null`), in
    /// [`Ruleset::carried`] order.
    pub fn carried_values(&self, view: &EventView) -> Vec<Option<String>> {
        self.carried
            .iter()
            .map(|&f| {
                view.values(f)
                    .find(|v| v.kind != crate::event::Kind::Null)
                    .map(|v| v.raw.to_string())
            })
            .collect()
    }
}

/// One rule's compiled parts, before they join the ruleset.
struct Compiled {
    items: Vec<Item>,
    expr: Expr,
    uses_keywords: bool,
    witness: Option<Vec<Trigger>>,
}

/// Builds a [`Ruleset`] rule by rule.
pub struct RulesetBuilder<'a> {
    opts: CompileOptions<'a>,
    fields: FieldIndex,
    /// Every needle by slot, case and text: its id, hashed by
    /// [`needle_hash`] and compared against `needle_text` and `needle_slot`,
    /// so the map holds no third copy of the text.
    needles: hashbrown::HashTable<NeedleId>,
    needle_text: Vec<String>,
    /// Per needle: its slot and whether it is cased.
    needle_slot: Vec<(Slot, bool)>,
    pools: rustc_hash::FxHashMap<(Slot, bool), PoolBuilder>,
    /// The pools the rule being added has grown, with their needle count
    /// and bytes before it: what [`RulesetBuilder::add`] checks against
    /// the limit and rolls back on error.
    grown: Vec<((Slot, bool), usize, usize)>,
    rules: Vec<CompiledRule>,
    uses_keywords: bool,
    /// [`POOL_BYTES_LIMIT`] (smaller in tests).
    pool_bytes_limit: usize,
    time_fields: Vec<FieldId>,
    time_number: fn(f64) -> Option<EventTime>,
    carried: Vec<FieldId>,
    /// [`RulesetBuilder::keeping_searches`].
    keep_searches: bool,
}

impl<'a> RulesetBuilder<'a> {
    pub fn new(opts: CompileOptions<'a>) -> Self {
        let mut fields = FieldIndex::default();
        let time_fields = crate::event::formats::time_fields()
            .map(|n| fields.intern(n))
            .collect();
        RulesetBuilder {
            opts,
            fields,
            needles: Default::default(),
            needle_text: Vec::new(),
            needle_slot: Vec::new(),
            pools: Default::default(),
            grown: Vec::new(),
            rules: Vec::new(),
            uses_keywords: false,
            pool_bytes_limit: POOL_BYTES_LIMIT,
            time_fields,
            time_number: crate::event::time::builtin_number,
            carried: Vec::new(),
            keep_searches: false,
        }
    }

    /// Keeps each compiled rule's detection searches (`explain` renders
    /// them); by default they are dropped as each rule is compiled.
    pub fn keeping_searches(mut self) -> Self {
        self.keep_searches = true;
        self
    }

    /// Asks matched events to carry the values of the (mapped, event-side)
    /// field `name` to sinks ([`crate::run::engine::LineMatch::carried`]); returns
    /// its position in that list. Asking twice gives the same position.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // tests/match_records.rs
    pub fn carry(&mut self, name: &str) -> usize {
        let id = self.fields.intern(name);
        match self.carried.iter().position(|&f| f == id) {
            Some(i) => i,
            None => {
                self.carried.push(id);
                self.carried.len() - 1
            }
        }
    }

    /// Reads event time from the field `name` only, instead of the built-in
    /// time fields of the event formats; numbers there are epoch seconds,
    /// milliseconds or microseconds ([`EventTime::from_epoch_number`]).
    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // tests/match_records.rs
    pub fn time_field(&mut self, name: &str) {
        self.time_fields = vec![self.fields.intern(name)];
        self.time_number = EventTime::from_epoch_number;
    }

    /// Compiles one rule; on error nothing of the rule is kept.
    pub fn add(&mut self, mut rule: Rule) -> Result<(), RuleIssue> {
        // Compile against a snapshot so a failing rule leaves no needles.
        let snapshot = (
            self.fields.len(),
            self.needles.len(),
            self.needle_text.len(),
        );
        self.grown.clear();
        let compiled = self.compile_rule(&rule).and_then(|c| {
            // Only the pools this rule grew can have crossed the limit.
            let over = self
                .grown
                .iter()
                .map(|(k, _, _)| (k, &self.pools[k]))
                .find(|(_, p)| p.bytes > self.pool_bytes_limit);
            match over {
                None => Ok(c),
                Some(((slot, _), p)) => Err((
                    None,
                    RuleError::TooLarge(format!(
                        "its values would make the {} automaton hold {} bytes of text, more than {}",
                        match slot {
                            Slot::Keywords => "keyword".to_string(),
                            Slot::Field(f) => format!("`{}` field", self.fields.name(*f)),
                        },
                        p.bytes,
                        self.pool_bytes_limit
                    )),
                )),
            }
        });
        match compiled {
            Ok(Compiled {
                items,
                expr,
                uses_keywords,
                witness,
            }) => {
                self.uses_keywords |= uses_keywords;
                if !self.keep_searches {
                    // Freed now, while later rules compile into the memory.
                    rule.detection.searches = Vec::new();
                }
                self.rules.push(CompiledRule {
                    rule,
                    items,
                    expr,
                    witness,
                });
                Ok(())
            }
            Err((pos, error)) => {
                self.fields.truncate(snapshot.0);
                self.needles.retain(|id| (*id as usize) < snapshot.1);
                self.needle_text.truncate(snapshot.2);
                self.needle_slot.truncate(snapshot.2);
                for (k, n, bytes) in self.grown.drain(..) {
                    if n == 0 {
                        // The rule made this pool.
                        self.pools.remove(&k);
                        continue;
                    }
                    let p = self.pools.get_mut(&k).expect("a grown pool exists");
                    p.ids.truncate(n);
                    p.bytes = bytes;
                }
                Err(RuleIssue {
                    path: rule.path.clone(),
                    pos: pos.or(Some(rule.pos)),
                    error,
                })
            }
        }
    }

    pub fn build(mut self) -> Ruleset {
        if self.uses_keywords {
            let kf = self.opts.keyword_fields.clone();
            self.fields.set_keyword_fields(kf.as_deref());
        }
        let mut field_scans: Vec<Vec<Scan>> = vec![Vec::new(); self.fields.len()];
        let mut keyword_scans = Vec::new();
        let needle_text = std::sync::Arc::new(self.needle_text);
        let mut pools: Vec<_> = self.pools.into_iter().collect();
        pools.sort_by_key(|((slot, cased), _)| (format!("{slot:?}"), *cased));
        for ((slot, cased), pool) in pools {
            if pool.ids.is_empty() {
                continue;
            }
            // The kind trades build time, which a run over unique input
            // pays in full (the automatons are built on first use, see
            // [`LazyAc`]), against scan speed, which the scan memo mostly
            // spares on repeated values. A contiguous NFA for a pool, as
            // the automatic choice would build full DFAs for the many small
            // pools at a start-up cost without a measurable scan gain; also
            // for the keyword pool: the keyword plans search most events
            // with a few needles (packed Teddy), so its full DFA (78 M
            // instructions to build over SigmaHQ `rules/`) no longer paid.
            // The largest pools (CommandLine-like fields, hundreds of KB of
            // needles) stay noncontiguous: converting them costs more than
            // it saves on the values the memo has not seen. Measured with
            // callgrind, see docs/performance.md (issue 14). Each kind falls
            // back to a noncontiguous NFA, which always fits
            // (POOL_BYTES_LIMIT).
            let kinds: &'static [AhoCorasickKind] = if pool.bytes >= NONCONTIGUOUS_BYTES {
                &[AhoCorasickKind::NoncontiguousNFA]
            } else {
                &[AhoCorasickKind::ContiguousNFA]
            };
            let scan = Scan {
                ac: LazyAc::new(needle_text.clone(), pool.ids.clone(), kinds),
                ids: pool.ids,
                cased,
            };
            match slot {
                Slot::Field(f) => field_scans[f as usize].push(scan),
                Slot::Keywords => keyword_scans.push(scan),
            }
        }
        LazyAc::prebuild(
            field_scans
                .iter()
                .flatten()
                .chain(&keyword_scans)
                .map(|s| s.ac.clone()),
        );
        let needle_count = needle_text.len();
        let keywords = keyword_index(&self.rules, &keyword_scans, &needle_text);
        let mut always = Vec::new();
        let mut by_needle = vec![Vec::new(); needle_count];
        let mut by_field = vec![Vec::new(); self.fields.len()];
        for (i, r) in self.rules.iter().enumerate() {
            match &r.witness {
                None => always.push(i as u32),
                Some(ts) => {
                    for &t in ts {
                        match t {
                            Trigger::Needle(n, mode) => {
                                by_needle[n as usize].push((i as u32, mode))
                            }
                            Trigger::Field(f) => by_field[f as usize].push(i as u32),
                        }
                    }
                }
            }
        }
        Ruleset {
            fields: self.fields,
            rules: self.rules,
            field_scans,
            keyword_scans,
            keywords,
            needle_count,
            needle_text,
            always,
            by_needle,
            by_field,
            time_fields: self.time_fields,
            time_number: self.time_number,
            carried: self.carried,
            scope: None,
        }
    }

    fn needle(&mut self, slot: Slot, cased: bool, text: String) -> NeedleId {
        let hash = needle_hash(slot, cased, &text);
        let (texts, slots) = (&self.needle_text, &self.needle_slot);
        let same = |&id: &NeedleId| slots[id as usize] == (slot, cased) && texts[id as usize] == text;
        if let Some(&id) = self.needles.find(hash, same) {
            return id;
        }
        let next = self.needle_text.len() as NeedleId;
        let pool = self.pools.entry((slot, cased)).or_default();
        if !self.grown.iter().any(|(k, _, _)| *k == (slot, cased)) {
            self.grown.push(((slot, cased), pool.ids.len(), pool.bytes));
        }
        pool.bytes += text.len();
        pool.ids.push(next);
        self.needle_text.push(text);
        self.needle_slot.push((slot, cased));
        let (texts, slots) = (&self.needle_text, &self.needle_slot);
        self.needles.insert_unique(hash, next, |&id| {
            let (slot, cased) = slots[id as usize];
            needle_hash(slot, cased, &texts[id as usize])
        });
        next
    }

    /// Compiles a rule to its items, condition, keyword use and witness.
    fn compile_rule(
        &mut self,
        rule: &Rule,
    ) -> Result<Compiled, (Option<crate::sigma::yaml::Pos>, RuleError)> {
        let mut items = Vec::new();
        let mut uses_kw = false;
        let mut search_exprs = Vec::with_capacity(rule.detection.searches.len());
        for (si, s) in rule.detection.searches.iter().enumerate() {
            let mut next = Origin::Search {
                search: si as u32,
                item: 0,
            };
            search_exprs.push(self.compile_search(
                rule,
                &s.search,
                &mut items,
                &mut uses_kw,
                &mut next,
            )?);
        }
        let mut expr = self.compile_condition(&rule.detection.condition, rule, &search_exprs);
        // The witness comes from the rule's own detection first: logsource
        // conditions (Channel, EventID) are present in most events and
        // would make a poor filter.
        let own_witness = witness(&simplify(expr.clone()), &items, &self.needle_text);
        let extra = self.opts.mapping.logsource_conditions(&rule.logsource);
        if !extra.is_empty() {
            let mut all = vec![expr];
            for (g, group) in extra.iter().enumerate() {
                let mut alts = Vec::new();
                for (i, item) in group.iter().enumerate() {
                    let origin = Origin::Logsource {
                        group: g as u32,
                        item: i as u32,
                    };
                    alts.push(self.compile_item(rule, item, origin, &mut items, &mut uses_kw)?);
                }
                all.push(Expr::Or(alts));
            }
            expr = Expr::And(all);
        }
        let expr = simplify(expr);
        let witness = own_witness.or_else(|| witness(&expr, &items, &self.needle_text));
        Ok(Compiled {
            items,
            expr,
            uses_keywords: uses_kw,
            witness,
        })
    }

    fn compile_condition(&self, c: &Condition, rule: &Rule, searches: &[Expr]) -> Expr {
        match c {
            Condition::Ident(name) => rule
                .detection
                .searches
                .iter()
                .position(|s| &s.name == name)
                .map(|i| searches[i].clone())
                .unwrap_or(Expr::Const(false)),
            Condition::And(v) => Expr::And(
                v.iter()
                    .map(|c| self.compile_condition(c, rule, searches))
                    .collect(),
            ),
            Condition::Or(v) => Expr::Or(
                v.iter()
                    .map(|c| self.compile_condition(c, rule, searches))
                    .collect(),
            ),
            Condition::Not(c) => Expr::Not(Box::new(self.compile_condition(c, rule, searches))),
            Condition::Of { quantifier, target } => {
                let picked: Vec<Expr> = resolve_of(target, &rule.detection.searches)
                    .into_iter()
                    .map(|i| searches[i].clone())
                    .collect();
                match quantifier {
                    Quantifier::All => Expr::And(picked),
                    Quantifier::AtLeast(1) => Expr::Or(picked),
                    Quantifier::AtLeast(n) => Expr::AtLeast(*n, picked),
                }
            }
        }
    }

    /// Compiles a search's items in [`Search::items`] order; `next` is the
    /// origin of the next item and advances with each.
    fn compile_search(
        &mut self,
        rule: &Rule,
        s: &Search,
        items: &mut Vec<Item>,
        uses_kw: &mut bool,
        next: &mut Origin,
    ) -> Result<Expr, (Option<crate::sigma::yaml::Pos>, RuleError)> {
        let mut item = |this: &mut Self, i: &DetectionItem, items: &mut Vec<Item>| {
            let origin = *next;
            if let Origin::Search { item, .. } = next {
                *item += 1;
            }
            this.compile_item(rule, i, origin, items, uses_kw)
        };
        Ok(match s {
            Search::AllOf(v) => {
                let mut parts = Vec::new();
                for i in v {
                    parts.push(item(self, i, items)?);
                }
                Expr::And(parts)
            }
            Search::AnyOf(v) => {
                let mut parts = Vec::new();
                for s in v {
                    parts.push(self.compile_search(rule, s, items, uses_kw, next)?);
                }
                Expr::Or(parts)
            }
            Search::Item(i) => item(self, i, items)?,
        })
    }

    fn compile_item(
        &mut self,
        rule: &Rule,
        item: &DetectionItem,
        origin: Origin,
        items: &mut Vec<Item>,
        uses_kw: &mut bool,
    ) -> Result<Expr, (Option<crate::sigma::yaml::Pos>, RuleError)> {
        let at = |e: RuleError| (Some(item.pos), e);
        let targets: Vec<Slot> = match &item.field {
            None => {
                *uses_kw = true;
                vec![Slot::Keywords]
            }
            Some(f) => {
                let mapped = self.opts.mapping.map_field(&rule.logsource, f);
                mapped
                    .iter()
                    .map(|m| Slot::Field(self.fields.intern(m)))
                    .collect()
            }
        };
        let mut alts = Vec::new();
        for slot in targets {
            let mut pats = Vec::new();
            let mut groups = Vec::new();
            for (p, g) in item.applied.patterns.iter().zip(&item.applied.groups) {
                self.compile_pattern(rule, slot, p, &mut pats).map_err(at)?;
                groups.resize(pats.len(), *g);
            }
            let idx = items.len() as u32;
            items.push(Item {
                slot,
                pats,
                groups,
                all: item.applied.all,
                rule_field: item.field.clone(),
                origin,
            });
            alts.push(Expr::Item(idx));
        }
        let e = if alts.len() == 1 {
            alts.pop().unwrap()
        } else {
            Expr::Or(alts)
        };
        Ok(if item.applied.negated {
            Expr::Not(Box::new(e))
        } else {
            e
        })
    }

    fn expand_placeholders(&self, s: &SigmaString) -> Result<Vec<SigmaString>, RuleError> {
        expand_placeholders(s, self.opts.placeholders)
    }

    fn compile_pattern(
        &mut self,
        rule: &Rule,
        slot: Slot,
        p: &Pattern,
        out: &mut Vec<Pat>,
    ) -> Result<(), RuleError> {
        match p {
            Pattern::Str { s, cased, .. } => {
                let strings = if s.has_placeholder() {
                    self.expand_placeholders(s)?
                } else {
                    vec![s.clone()]
                };
                for s in strings {
                    let s = if slot == Slot::Keywords {
                        // Keywords are a full-text search: implicit substring.
                        let mut s = s;
                        if !s.starts_with_any() {
                            s.parts.insert(0, Part::AnyRun);
                        }
                        if !s.ends_with_any() {
                            s.parts.push(Part::AnyRun);
                        }
                        s
                    } else {
                        s
                    };
                    out.push(self.compile_string(slot, &s, *cased)?);
                }
            }
            // Validated when the rule was read; the program is shared.
            Pattern::Regex { regex, flags } => out.push(Pat::Regex(
                compile_regex(regex, *flags)?,
                Box::new(required::LazyRequired::new(regex, *flags)),
            )),
            Pattern::Check(c) => out.push(Pat::Check(c.clone())),
            Pattern::FieldRef(r) => {
                let mapped = self.opts.mapping.map_field(&rule.logsource, &r.field);
                let other = self
                    .fields
                    .intern(mapped.first().map(String::as_str).unwrap_or(&r.field));
                out.push(Pat::FieldRef(FieldRef {
                    field: other,
                    starts: r.starts,
                    ends: r.ends,
                    cased: r.cased,
                }));
            }
        }
        Ok(())
    }

    fn compile_string(
        &mut self,
        slot: Slot,
        s: &SigmaString,
        cased: bool,
    ) -> Result<Pat, RuleError> {
        let fold = |t: &str| {
            if cased {
                t.to_string()
            } else {
                crate::event::fold_case(t)
            }
        };
        let parts = &normalize(s.clone()).parts;
        if parts.is_empty() {
            return Ok(Pat::Empty { mode: hit::EXACT });
        }
        if parts.len() == 1 && parts[0] == Part::AnyRun {
            // `*` alone: any non-null value.
            return Ok(Pat::Empty { mode: hit::ANY });
        }
        let lead = parts[0] == Part::AnyRun;
        let trail = parts[parts.len() - 1] == Part::AnyRun;
        let inner = &parts[usize::from(lead)..parts.len() - usize::from(trail)];
        if let [Part::Lit(t)] = inner {
            let mode = match (lead, trail) {
                (false, false) => hit::EXACT,
                (false, true) => hit::PREFIX,
                (true, false) => hit::SUFFIX,
                (true, true) => hit::ANY,
            };
            let id = self.needle(slot, cased, fold(t));
            return Ok(Pat::Needle { id, mode });
        }
        if parts.iter().any(|p| matches!(p, Part::AnyOne)) {
            let mut re = String::from("^");
            for p in parts {
                match p {
                    Part::Lit(t) => re.push_str(&regex::escape(&fold(t))),
                    Part::AnyRun => re.push_str(".*"),
                    Part::AnyOne => re.push('.'),
                    Part::Placeholder(n) => return Err(RuleError::Placeholder(n.clone())),
                }
            }
            re.push('$');
            let re = shared_regex(RegexKey::Wildcard(re.clone()), || {
                regex::RegexBuilder::new(&re)
                    .dot_matches_new_line(true)
                    .build()
                    .map_err(|e| RuleError::Regex {
                        pattern: re.clone(),
                        reason: e.to_string(),
                    })
            })?;
            // The regex runs on the folded value, so it needs no case flag.
            let witness = self.longest_literal(slot, parts, cased);
            return Ok(Pat::Wild { re, cased, witness });
        }
        let segments: Vec<String> = parts
            .iter()
            .filter_map(|p| match p {
                Part::Lit(t) => Some(fold(t)),
                _ => None,
            })
            .collect();
        let witness = self.longest_literal(slot, parts, cased);
        Ok(Pat::Glob {
            glob: Glob {
                segments,
                anchored_start: !lead,
                anchored_end: !trail,
            },
            cased,
            witness,
        })
    }

    fn longest_literal(&mut self, slot: Slot, parts: &[Part], cased: bool) -> Option<NeedleId> {
        let best = parts
            .iter()
            .filter_map(|p| match p {
                Part::Lit(t) => Some(t),
                _ => None,
            })
            .max_by_key(|t| t.len())?;
        let text = if cased {
            best.clone()
        } else {
            crate::event::fold_case(best)
        };
        (!text.is_empty()).then(|| self.needle(slot, cased, text))
    }
}

/// The [`KeywordIndex`] of compiled rules.
fn keyword_index(rules: &[CompiledRule], scans: &[Scan], needle_text: &[String]) -> KeywordIndex {
    let needles: Vec<(NeedleId, bool)> = scans
        .iter()
        .flat_map(|s| s.ids.iter().map(move |&id| (id, s.cased)))
        .collect();
    let mut is_kw = vec![false; needle_text.len()];
    for &(id, _) in &needles {
        is_kw[id as usize] = true;
    }
    let mut witness = Vec::with_capacity(rules.len());
    let mut lazy = Vec::with_capacity(rules.len());
    for r in rules {
        let mut w: Vec<NeedleId> = r
            .witness
            .iter()
            .flatten()
            .filter_map(|t| match *t {
                Trigger::Needle(n, _) if is_kw[n as usize] => Some(n),
                _ => None,
            })
            .collect();
        w.sort_unstable();
        w.dedup();
        let reads_other = r
            .items
            .iter()
            .filter(|i| i.slot == Slot::Keywords)
            .flat_map(|i| &i.pats)
            .any(|p| match p {
                Pat::Needle { id, .. }
                | Pat::Glob {
                    witness: Some(id), ..
                }
                | Pat::Wild {
                    witness: Some(id), ..
                } => w.binary_search(id).is_err(),
                _ => false,
            });
        witness.push(w);
        lazy.push(reads_other);
    }
    // Control characters first: they are the least likely in a needle.
    let separator = (0u8..0x80).find(|b| {
        !b.is_ascii_alphabetic()
            && needles
                .iter()
                .all(|&(id, _)| !needle_text[id as usize].as_bytes().contains(b))
    });
    KeywordIndex {
        needles,
        witness,
        lazy,
        separator,
    }
}

/// The first automaton of the `preferred` kinds that builds over `texts`,
/// else a noncontiguous NFA.
fn build_automaton<'a>(
    texts: impl Iterator<Item = &'a String> + Clone,
    preferred: &[AhoCorasickKind],
) -> AhoCorasick {
    let build = |kind| {
        AhoCorasick::builder()
            .kind(Some(kind))
            // Dense transitions for the root and depth 1 only (default: 3):
            // 8 M fewer instructions to build over SigmaHQ `rules/`,
            // scans unchanged within 0.5%.
            .dense_depth(2)
            .match_kind(MatchKind::Standard)
            .build(texts.clone())
    };
    preferred.iter().find_map(|k| build(*k).ok()).unwrap_or_else(|| {
        // A noncontiguous NFA has at most one state per needle byte, and
        // `RulesetBuilder::add` keeps a pool below POOL_BYTES_LIMIT bytes,
        // well inside its 32-bit state IDs: this cannot fail.
        build(AhoCorasickKind::NoncontiguousNFA)
            .expect("a pool within POOL_BYTES_LIMIT fits a noncontiguous NFA")
    })
}

/// Replaces `%name%` placeholders by each of their values (all
/// combinations), normalized; an undefined name is an error.
pub fn expand_placeholders(
    s: &SigmaString,
    placeholders: &HashMap<String, Vec<String>>,
) -> Result<Vec<SigmaString>, RuleError> {
    let mut out = vec![SigmaString::default()];
    for p in &s.parts {
        match p {
            Part::Placeholder(name) => {
                let vals = placeholders
                    .get(name)
                    .ok_or_else(|| RuleError::Placeholder(name.clone()))?;
                let mut next = Vec::new();
                for o in &out {
                    for v in vals {
                        let mut x = o.clone();
                        x.parts.extend(SigmaString::parse(v).parts);
                        next.push(normalize(x));
                    }
                }
                out = next;
            }
            p => out.iter_mut().for_each(|o| o.parts.push(p.clone())),
        }
    }
    Ok(out.into_iter().map(normalize).collect())
}

/// Merges adjacent literals and collapses runs of `*`.
fn normalize(s: SigmaString) -> SigmaString {
    let mut out = SigmaString::default();
    for p in s.parts {
        match (out.parts.last_mut(), p) {
            (Some(Part::Lit(a)), Part::Lit(b)) => a.push_str(&b),
            (Some(Part::AnyRun), Part::AnyRun) => {}
            (_, Part::Lit(b)) if b.is_empty() => {}
            (_, p) => out.parts.push(p),
        }
    }
    out
}

/// Flattens nested AND/OR and folds constants.
fn simplify(e: Expr) -> Expr {
    match e {
        Expr::And(v) => {
            let mut out = Vec::new();
            for x in v.into_iter().map(simplify) {
                match x {
                    Expr::Const(true) => {}
                    Expr::Const(false) => return Expr::Const(false),
                    Expr::And(inner) => out.extend(inner),
                    x => out.push(x),
                }
            }
            match out.len() {
                0 => Expr::Const(true),
                1 => out.pop().unwrap(),
                _ => Expr::And(out),
            }
        }
        Expr::Or(v) => {
            let mut out = Vec::new();
            for x in v.into_iter().map(simplify) {
                match x {
                    Expr::Const(false) => {}
                    Expr::Const(true) => return Expr::Const(true),
                    Expr::Or(inner) => out.extend(inner),
                    x => out.push(x),
                }
            }
            match out.len() {
                0 => Expr::Const(false),
                1 => out.pop().unwrap(),
                _ => Expr::Or(out),
            }
        }
        Expr::Not(x) => match simplify(*x) {
            Expr::Const(b) => Expr::Const(!b),
            x => Expr::Not(Box::new(x)),
        },
        Expr::AtLeast(n, v) => {
            let v: Vec<Expr> = v.into_iter().map(simplify).collect();
            if n > v.len() {
                Expr::Const(false)
            } else {
                Expr::AtLeast(n, v)
            }
        }
        e => e,
    }
}

/// What must be seen for `p` to match a value of `slot`.
fn pat_witness(slot: Slot, p: &Pat) -> Option<Vec<Trigger>> {
    match (p, slot) {
        (Pat::Needle { id, mode }, _) => Some(vec![Trigger::Needle(*id, *mode)]),
        (
            Pat::Glob {
                witness: Some(w), ..
            }
            | Pat::Wild {
                witness: Some(w), ..
            },
            _,
        ) => Some(vec![Trigger::Needle(*w, hit::ANY)]),
        // These only match an existing, non-null value of the field.
        (
            Pat::Glob { .. }
            | Pat::Wild { .. }
            | Pat::Regex(..)
            | Pat::Check(
                Check::Cidr(_) | Check::Cmp { .. } | Check::TimePart { .. } | Check::Exists(true),
            )
            | Pat::Empty { .. }
            | Pat::FieldRef(_),
            Slot::Field(f),
        ) => Some(vec![Trigger::Field(f)]),
        _ => None,
    }
}

/// How selective a witness is (lower is better): a field being present is
/// much more common than a needle being found, and a short needle is found
/// far more often than a long one (`:` is in every timestamp; keyword rule
/// `Remote File Copy` must be triggered by `scp `, not by `:` or `@`).
fn witness_cost(w: &[Trigger], needle_text: &[String]) -> usize {
    w.iter()
        .map(|t| match t {
            Trigger::Field(_) => 64,
            Trigger::Needle(n, _) => match needle_text[*n as usize].len() {
                0..=1 => 32,
                2 => 16,
                3 => 4,
                _ => 1,
            },
        })
        .sum()
}

/// The cheapest of the witnesses that exist: for a conjunction, any one
/// conjunct's witness will do.
fn cheapest(
    ws: impl Iterator<Item = Option<Vec<Trigger>>>,
    needle_text: &[String],
) -> Option<Vec<Trigger>> {
    ws.flatten().min_by_key(|w| witness_cost(w, needle_text))
}

/// All branches' witnesses together: for a disjunction each branch needs
/// one, and one branch without a witness leaves the whole without one.
fn union(ws: impl Iterator<Item = Option<Vec<Trigger>>>) -> Option<Vec<Trigger>> {
    let mut out = Vec::new();
    for w in ws {
        out.extend(w?);
    }
    out.sort_unstable();
    out.dedup();
    Some(out)
}

/// Triggers of which at least one is necessary for `not e` to be true.
/// Only one kind of negation promises anything: `not field: null` (common
/// as `filter_main_null` in SigmaHQ rules made of filters only) needs the
/// field to be present; De Morgan carries that through `and`/`or`.
fn negated_witness(e: &Expr, items: &[Item], needle_text: &[String]) -> Option<Vec<Trigger>> {
    match e {
        Expr::Item(i) => {
            let item = &items[*i as usize];
            let Slot::Field(f) = item.slot else {
                return None;
            };
            let absent_only = !item.pats.is_empty()
                && item
                    .pats
                    .iter()
                    .all(|p| matches!(p, Pat::Check(Check::Null | Check::Exists(false))));
            absent_only.then(|| vec![Trigger::Field(f)])
        }
        Expr::Not(x) => witness(x, items, needle_text),
        // not (a or b) = not a and not b.
        Expr::Or(v) => cheapest(
            v.iter().map(|x| negated_witness(x, items, needle_text)),
            needle_text,
        ),
        // not (a and b) = not a or not b.
        Expr::And(v) => union(v.iter().map(|x| negated_witness(x, items, needle_text))),
        Expr::Const(false) => None,
        Expr::Const(true) => Some(Vec::new()),
        Expr::AtLeast(..) => None,
    }
}

/// Triggers of which at least one is necessary for `e` to be true.
fn witness(e: &Expr, items: &[Item], needle_text: &[String]) -> Option<Vec<Trigger>> {
    match e {
        Expr::Item(i) => {
            let item = &items[*i as usize];
            let of_pats = |pats: &[Pat]| union(pats.iter().map(|p| pat_witness(item.slot, p)));
            if item.all {
                // Any one value's alternatives, all of which must have witnesses.
                cheapest(
                    item.group_ranges().map(|r| of_pats(&item.pats[r])),
                    needle_text,
                )
            } else {
                of_pats(&item.pats).filter(|w| !w.is_empty())
            }
        }
        Expr::And(v) => cheapest(
            v.iter().map(|x| witness(x, items, needle_text)),
            needle_text,
        ),
        Expr::Or(v) | Expr::AtLeast(_, v) => {
            union(v.iter().map(|x| witness(x, items, needle_text)))
        }
        Expr::Not(x) => negated_witness(x, items, needle_text),
        Expr::Const(true) => None,
        Expr::Const(false) => Some(Vec::new()),
    }
}

impl Ruleset {
    /// Compiles rules; rules that fail are returned as issues.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // tests, benches, fuzz
    pub fn compile(rules: Vec<Rule>, opts: CompileOptions<'_>) -> (Ruleset, Vec<RuleIssue>) {
        let mut b = RulesetBuilder::new(opts);
        let mut issues = Vec::new();
        for r in rules {
            if let Err(e) = b.add(r) {
                issues.push(e);
            }
        }
        (b.build(), issues)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::Matcher;
    use crate::sigma::rule::{Loaded, parse_text};

    fn ruleset(yaml: &str) -> Ruleset {
        let rules = parse_text(std::path::Path::new("t.yml"), yaml)
            .into_iter()
            .map(|l| match l {
                Loaded::Rule(r) => *r,
                Loaded::Failed { issue, .. } => panic!("{issue}"),
            })
            .collect();
        let (rs, issues) = Ruleset::compile(rules, CompileOptions::default());
        assert!(issues.is_empty());
        rs
    }

    /// A regex-only rule is a candidate only when its field is present, not
    /// on every event; a `not`-only rule still runs on every event.
    #[test]
    fn field_presence_triggers() {
        let rs = ruleset(
            "title: r\nlogsource: {product: windows}\ndetection:\n  s:\n    CommandLine|re: 'a.c'\n  condition: s\n\
             ---\ntitle: n\nlogsource: {product: windows}\ndetection:\n  s:\n    Image: x\n  condition: not s\n",
        );
        let cl = rs.fields.get("CommandLine").unwrap();
        assert_eq!(rs.rules[0].witness, Some(vec![Trigger::Field(cl)]));
        assert_eq!(rs.always, vec![1]);
        let mut m = Matcher::new(&rs);
        assert_eq!(m.match_line(br#"{"CommandLine":"xABCx"}"#).unwrap(), &[1]);
        assert_eq!(
            m.match_line(br#"{"CommandLine":"xabcx"}"#).unwrap(),
            &[0, 1]
        );
        assert_eq!(m.match_line(br#"{"Image":"x"}"#).unwrap(), &[] as &[u32]);
        assert_eq!(m.evaluated, vec![2, 3]);
    }

    /// A needle triggers a rule only at a position its pattern accepts:
    /// `EventID: 4` is not evaluated on `4688` (which contains `4`).
    #[test]
    fn exact_needles_trigger_only_on_exact_values() {
        let rs = ruleset(
            "title: e\nlogsource: {product: windows}\ndetection:\n  s:\n    EventID: 4\n  condition: s\n",
        );
        let mut m = Matcher::new(&rs);
        assert_eq!(m.match_line(br#"{"EventID":4688}"#).unwrap(), &[] as &[u32]);
        assert_eq!(m.evaluated, vec![0]);
        assert_eq!(m.match_line(br#"{"EventID":4}"#).unwrap(), &[0]);
        // Several values: the exact one still triggers after a substring hit.
        assert_eq!(m.match_line(br#"{"EventID":[4688, 4]}"#).unwrap(), &[0]);
        assert_eq!(m.evaluated, vec![2]);
    }

    /// Filter-only rules (`not 1 of filter_*`) with a `field: null` filter
    /// need the field; short keyword needles make poor witnesses.
    #[test]
    fn negated_null_and_needle_length_choose_witnesses() {
        let rs = ruleset(
            "title: f\nlogsource: {product: windows}\ndetection:\n  filter_a:\n    Image|endswith: '.exe'\n  \
             filter_null:\n    Image: null\n  condition: not 1 of filter_*\n\
             ---\ntitle: k\nlogsource: {product: linux}\ndetection:\n  tools:\n    - 'scp '\n  \
             filter:\n    - ':'\n  condition: tools and filter\n",
        );
        let image = rs.fields.get("Image").unwrap();
        assert_eq!(rs.rules[0].witness, Some(vec![Trigger::Field(image)]));
        let Some(w) = &rs.rules[1].witness else {
            panic!("keyword rule has a witness")
        };
        assert_eq!(w.len(), 1);
        let Trigger::Needle(n, _) = w[0] else {
            panic!("needle witness")
        };
        assert_eq!(rs.needle_text[n as usize], "scp ");
        assert!(rs.always.is_empty());
        let mut m = Matcher::new(&rs);
        assert_eq!(m.match_line(br#"{"Image":"a.dll"}"#).unwrap(), &[0]);
        assert_eq!(
            m.match_line(br#"{"Image":"a.exe"}"#).unwrap(),
            &[] as &[u32]
        );
        assert_eq!(m.match_line(br#"{"Image":null}"#).unwrap(), &[] as &[u32]);
        assert_eq!(m.match_line(br#"{"t":"12:00"}"#).unwrap(), &[] as &[u32]);
        assert_eq!(m.match_line(br#"{"m":"scp a b:c"}"#).unwrap(), &[1]);
        assert_eq!(m.evaluated, vec![3, 1]);
    }

    /// A rule whose values would push an automaton past its size bound is
    /// a rule error; the rules before it and after it still compile.
    #[test]
    fn an_oversized_keyword_list_is_a_rule_error() {
        let rules: Vec<Rule> = parse_text(
            std::path::Path::new("t.yml"),
            "title: small\nlogsource: {product: windows}\ndetection:\n  k: ['mimikatz']\n  condition: k\n\
             ---\ntitle: huge\nlogsource: {product: windows}\ndetection:\n  k: ['aaaaaaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbbbbbb', 'cccccccccccccccccccc']\n  condition: k\n\
             ---\ntitle: after\nlogsource: {product: windows}\ndetection:\n  k: ['psexec']\n  condition: k\n",
        )
        .into_iter()
        .map(|l| match l {
            Loaded::Rule(r) => *r,
            Loaded::Failed { issue, .. } => panic!("{issue}"),
        })
        .collect();
        let mut b = RulesetBuilder::new(CompileOptions::default());
        b.pool_bytes_limit = 40;
        let mut errors = Vec::new();
        for r in rules {
            if let Err(e) = b.add(r) {
                errors.push(e);
            }
        }
        assert_eq!(errors.len(), 1);
        assert!(matches!(errors[0].error, RuleError::TooLarge(_)), "{}", errors[0]);
        assert!(errors[0].to_string().contains("keyword automaton"), "{}", errors[0]);
        let rs = b.build();
        let titles: Vec<&str> = rs.rules.iter().map(|r| r.rule.title.as_str()).collect();
        assert_eq!(titles, ["small", "after"]);
        assert_eq!(*rs.needle_text, ["mimikatz", "psexec"]);
        let mut m = Matcher::new(&rs);
        assert_eq!(m.match_line(br#"{"a":"x psexec y"}"#).unwrap(), &[1]);
    }

    /// Every compiled item records the detection item it came from: one
    /// per mapped field, in `Search::items` order within each search.
    #[test]
    fn items_record_their_origin() {
        struct Fan;
        impl FieldMapping for Fan {
            fn map_field(&self, _: &crate::sigma::rule::Logsource, f: &str) -> Vec<String> {
                match f {
                    "Image" => vec!["Image".into(), "NewProcessName".into()],
                    f => vec![f.into()],
                }
            }
        }
        let rules = parse_text(
            std::path::Path::new("t.yml"),
            "title: o\nlogsource: {product: windows}\ndetection:\n  a:\n    - Image: x\n    - User: y\n  \
             b:\n    Image: z\n    CommandLine: w\n  condition: a or b\n",
        )
        .into_iter()
        .map(|l| match l {
            Loaded::Rule(r) => *r,
            Loaded::Failed { issue, .. } => panic!("{issue}"),
        })
        .collect();
        let opts = CompileOptions {
            mapping: &Fan,
            ..CompileOptions::default()
        };
        let (rs, issues) = Ruleset::compile(rules, opts);
        assert!(issues.is_empty());
        let origins: Vec<(u32, u32)> = rs.rules[0]
            .items
            .iter()
            .map(|i| match i.origin {
                Origin::Search { search, item } => (search, item),
                o => panic!("{o:?}"),
            })
            .collect();
        assert_eq!(origins, [(0, 0), (0, 0), (0, 1), (1, 0), (1, 0), (1, 1)]);
    }

    /// A value searched both as its field and by keyword items is looked up
    /// in the memo once for both; the answers stay those of separate scans,
    /// on first sight and from the memo.
    #[test]
    fn field_and_keyword_scans_share_one_lookup() {
        let rs = ruleset(
            "title: f\nlogsource: {product: windows}\ndetection:\n  s:\n    CommandLine|contains: whoami\n  condition: s\n\
             ---\ntitle: k\nlogsource: {product: windows}\ndetection:\n  k:\n    - 'whoami'\n  condition: k\n",
        );
        let mut m = Matcher::new(&rs);
        for _ in 0..2 {
            assert_eq!(
                m.match_line(br#"{"CommandLine":"WHOAMI /all"}"#).unwrap(),
                &[0, 1]
            );
            assert_eq!(m.match_line(br#"{"Other":"whoami"}"#).unwrap(), &[1]);
            assert_eq!(
                m.match_line(br#"{"CommandLine":"id","Other":"x"}"#)
                    .unwrap(),
                &[] as &[u32]
            );
            assert_eq!(
                m.match_line(br#"{"CommandLine":"id","Other":"whoami"}"#)
                    .unwrap(),
                &[1]
            );
        }
        // Second round: every field value came from the memo (a keyword
        // search of a few needles runs without it, see `KwPlan`).
        assert!(
            m.scanner.memo.hit_count >= 3,
            "{}",
            m.scanner.memo.hit_count
        );
    }

    /// Keyword needles are searched before the candidates are known only
    /// when some rule's witness holds them; every needle is found, also one
    /// inside or at the start of another, and a rule that reads keyword
    /// needles outside its witness still sees them once it is a candidate.
    #[test]
    fn keyword_needles_of_witnesses_first_the_rest_on_demand() {
        let rs = ruleset(
            "title: a\nlogsource: {product: windows}\ndetection:\n  k:\n    - 'lsadump::'\n    - 'dump::'\n    - 'lsadump::sam'\n  condition: k\n\
             ---\ntitle: b\nlogsource: {product: windows}\ndetection:\n  s:\n    Image|endswith: '\\x.exe'\n  k:\n    - 'secret'\n  condition: s and k\n\
             ---\ntitle: c\nlogsource: {product: windows}\ndetection:\n  k:\n    - 'dump::'\n  condition: k\n",
        );
        assert_eq!(rs.keywords.witness[1], Vec::<NeedleId>::new());
        assert!(rs.keywords.lazy[1] && !rs.keywords.lazy[0] && !rs.keywords.lazy[2]);
        let mut m = Matcher::new(&rs);
        assert_eq!(m.match_line(br#"{"m":"run LSADUMP::SAM now"}"#).unwrap(), &[0, 2]);
        assert_eq!(m.match_line(br#"{"m":"xdump::"}"#).unwrap(), &[0, 2]);
        assert_eq!(m.match_line(br#"{"m":"lsadump:"}"#).unwrap(), &[] as &[u32]);
        assert_eq!(
            m.match_line(br#"{"Image":"C:\\x.exe","m":"a Secret"}"#).unwrap(),
            &[1]
        );
        assert_eq!(
            m.match_line(br#"{"Image":"C:\\x.exe","m":"nothing"}"#).unwrap(),
            &[] as &[u32]
        );
        // Values are searched apart: no needle spans two of them.
        assert_eq!(m.match_line(br#"{"a":"lsadu","b":"mp::"}"#).unwrap(), &[] as &[u32]);
    }
}
