//! A text every match of a regex contains, checked before the regex runs.
//!
//! SigmaHQ's `|re` items are evaluated on every event that has their field
//! (a regex has no needle to witness it), and most values cannot match:
//! `\.exe["']?\s+[^"]{0,64}werfaultsecure\.exe` runs on every command line
//! of a process-creation event. The regex engine's own prefilter looks for
//! the literals a match *starts* with (`.exe` here, present in nearly every
//! command line), so the search then runs its automaton anyway.
//! [`Required::of`] reads the regex's syntax tree for a literal run that
//! every match must contain (`werfaul` and `ecure.exe` above: the Unicode
//! case folding of `s` admits `ſ`, so it does not count as an ASCII letter),
//! and [`Required::may_match`] says "no match possible" when the value lacks
//! it, without running the regex.
//!
//! A run is read only where the tree guarantees it: literals and
//! single-character classes in sequence (through captures, and repetitions
//! of at least one, whose inside is a sequence of its own); anything else
//! (alternations, optional parts, wider classes, assertions) ends a run. A
//! class counts as a letter whose case does not matter only when it is
//! exactly an ASCII letter and its other case (`(?i)k` also admits the
//! Kelvin sign, so it ends the run). The check is exact: the bytes of the
//! run, ASCII letters of a case-insensitive run in either case.

use aho_corasick::AhoCorasick;
use regex_syntax::hir::{Class, Hir, HirKind};

use crate::sigma::value::ReFlags;

/// Runs shorter than this are not worth checking (most values hold them).
const MIN_RUN: usize = 3;

/// A literal run every match of one regex contains.
#[derive(Debug, Clone)]
pub struct Required {
    /// The run, ASCII letters lower-cased when case does not matter.
    #[cfg_attr(not(test), allow(dead_code))]
    text: Vec<u8>,
    #[cfg_attr(not(test), allow(dead_code))]
    ci: bool,
    search: Search,
}

// One per regex, behind the pattern's box: the size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
enum Search {
    /// The exact bytes.
    Exact(memchr::memmem::Finder<'static>),
    /// ASCII letters in either case, other bytes exact.
    AsciiCi(AhoCorasick),
}

/// One unit of a run: a byte, or an ASCII letter in either case (lower).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Byte(u8),
    Letter(u8),
}

/// The runs found so far and the one being built.
#[derive(Default)]
struct Runs {
    done: Vec<(Vec<u8>, bool)>,
    cur: Vec<u8>,
    /// The current run has case-insensitive letters (`Some(true)`), exact
    /// letters (`Some(false)`) or no letter yet (`None`).
    ci: Option<bool>,
}

impl Runs {
    fn flush(&mut self) {
        if !self.cur.is_empty() {
            let text = std::mem::take(&mut self.cur);
            self.done.push((text, self.ci == Some(true)));
        }
        self.ci = None;
    }

    fn push(&mut self, u: Unit) {
        let (b, ci) = match u {
            Unit::Byte(b) if b.is_ascii_alphabetic() => (b, Some(false)),
            Unit::Byte(b) => (b, None),
            Unit::Letter(b) => (b, Some(true)),
        };
        if let Some(want) = ci {
            if self.ci.is_some_and(|have| have != want) {
                self.flush();
            }
            self.ci = Some(want);
        }
        self.cur.push(b);
    }

    /// The units of a sequence element, in order; anything that is not one
    /// ends the current run.
    fn walk(&mut self, hir: &Hir) {
        match hir.kind() {
            HirKind::Empty => {}
            HirKind::Literal(lit) => {
                for &b in lit.0.iter() {
                    self.push(Unit::Byte(b));
                }
            }
            HirKind::Class(c) => match unit_of(c) {
                Some(units) => units.into_iter().for_each(|u| self.push(u)),
                None => self.flush(),
            },
            HirKind::Capture(c) => self.walk(&c.sub),
            HirKind::Concat(subs) => subs.iter().for_each(|h| self.walk(h)),
            HirKind::Repetition(r) if r.min >= 1 => {
                if r.min == 1 && r.max == Some(1) {
                    self.walk(&r.sub);
                } else {
                    // The inside occurs at least once: its runs are required,
                    // but not joined to what comes before or after.
                    self.flush();
                    self.walk(&r.sub);
                    self.flush();
                }
            }
            HirKind::Repetition(_) | HirKind::Look(_) | HirKind::Alternation(_) => self.flush(),
        }
    }
}

/// The units of a class that admits exactly one character (its UTF-8
/// bytes), or exactly an ASCII letter in both cases.
fn unit_of(c: &Class) -> Option<Vec<Unit>> {
    match c {
        Class::Unicode(u) => match u.ranges() {
            [r] if r.start() == r.end() => {
                let mut buf = [0; 4];
                Some(
                    r.start()
                        .encode_utf8(&mut buf)
                        .bytes()
                        .map(Unit::Byte)
                        .collect(),
                )
            }
            [a, b] if a.start() == a.end() && b.start() == b.end() => {
                let (a, b) = (a.start(), b.start());
                (a.is_ascii_uppercase() && b == a.to_ascii_lowercase())
                    .then(|| vec![Unit::Letter(b as u8)])
            }
            _ => None,
        },
        Class::Bytes(by) => match by.ranges() {
            [r] if r.start() == r.end() => Some(vec![Unit::Byte(r.start())]),
            [a, b] if a.start() == a.end() && b.start() == b.end() => {
                let (a, b) = (a.start(), b.start());
                (a.is_ascii_uppercase() && b == a.to_ascii_lowercase())
                    .then(|| vec![Unit::Letter(b)])
            }
            _ => None,
        },
    }
}

/// The longest run of `pattern` of at least [`MIN_RUN`] bytes (ASCII
/// letters lower-cased when case does not matter), and whether case does not
/// matter.
fn longest_run(pattern: &str, flags: ReFlags) -> Option<(Vec<u8>, bool)> {
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(flags.ignore_case)
        .multi_line(flags.multi_line)
        .dot_matches_new_line(flags.dot_all)
        .build()
        .parse(pattern)
        .ok()?;
    let mut runs = Runs::default();
    runs.walk(&hir);
    runs.flush();
    let (text, ci) = runs.done.into_iter().max_by_key(|(t, _)| t.len())?;
    (text.len() >= MIN_RUN).then_some((text, ci))
}

/// [`Required::of`] a regex, read on first use: most regexes of a ruleset
/// are never evaluated on a given input, and the rules are compiled on one
/// thread.
#[derive(Debug)]
pub struct LazyRequired {
    pattern: String,
    flags: ReFlags,
    cell: std::sync::OnceLock<Option<Required>>,
}

impl LazyRequired {
    pub fn new(pattern: &str, flags: ReFlags) -> LazyRequired {
        LazyRequired {
            pattern: pattern.to_string(),
            flags,
            cell: std::sync::OnceLock::new(),
        }
    }

    /// False when `value` lacks the run every match contains, so that the
    /// regex cannot match it; true when it has it or the regex has no run.
    #[inline]
    pub fn may_match(&self, value: &str) -> bool {
        self.cell
            .get_or_init(|| Required::of(&self.pattern, self.flags))
            .as_ref()
            .is_none_or(|r| r.may_match(value))
    }
}

impl Clone for LazyRequired {
    fn clone(&self) -> Self {
        LazyRequired::new(&self.pattern, self.flags)
    }
}

impl Required {
    /// The longest literal run every match of `pattern` (compiled with
    /// `flags`, as [`crate::sigma::modifier::compile_regex`] does) contains,
    /// when there is one of at least [`MIN_RUN`] bytes.
    pub fn of(pattern: &str, flags: ReFlags) -> Option<Required> {
        let (text, ci) = longest_run(pattern, flags)?;
        let search = if ci {
            Search::AsciiCi(
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build([&text])
                    .ok()?,
            )
        } else {
            Search::Exact(memchr::memmem::Finder::new(&text).into_owned())
        };
        Some(Required { text, ci, search })
    }

    /// False when `value` lacks the run, so that the regex cannot match it.
    #[inline]
    pub fn may_match(&self, value: &str) -> bool {
        match &self.search {
            Search::Exact(f) => f.find(value.as_bytes()).is_some(),
            Search::AsciiCi(ac) => ac.is_match(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(p: &str, ignore_case: bool) -> Option<String> {
        let flags = ReFlags {
            ignore_case,
            ..ReFlags::default()
        };
        longest_run(p, flags).map(|(t, _)| String::from_utf8(t).unwrap())
    }

    #[test]
    fn runs_every_match_contains() {
        assert_eq!(run(r"ipconfig\s+/all", false).as_deref(), Some("ipconfig"));
        assert_eq!(
            run(
                r#"(?i)\.exe["']?\s+[^"]{0,64}werfaultsecure\.exe["']?\s+\d{2,10}"#,
                false
            )
            .as_deref(),
            Some("ecure.exe")
        );
        assert_eq!(
            run(r"\$VerbosePreference\.ToString\(", false).as_deref(),
            Some("$VerbosePreference.ToString(")
        );
        assert_eq!(run(r"(abc)+def", false).as_deref(), Some("def"));
        assert_eq!(run(r"(abcd)+def", false).as_deref(), Some("abcd"));
        assert_eq!(run(r"x(abcd)?def", false).as_deref(), Some("def"));
        assert_eq!(run(r"abc|defgh", false), None);
        assert_eq!(run(r"ab\bcd", false), None);
        assert_eq!(run(r"a.c", false), None);
        // Mixed case sensitivity splits the run.
        assert_eq!(run(r"abc(?i:def)gh", false).as_deref(), Some("def"));
        assert_eq!(run(r"abcd(?i:def)gh", false).as_deref(), Some("abcd"));
        assert_eq!(run(r"ABCD", true).as_deref(), Some("abcd"));
        // `k` and `s` admit the Kelvin sign and the long s: not ASCII letters.
        assert_eq!(run(r"(?i)ask", false), None);
        assert_eq!(run(r"(?i)xyzkxy", false).as_deref(), Some("xyz"));
        assert_eq!(run(r"(?i-u)kkk", false).as_deref(), Some("kkk"));
        assert_eq!(run(r"é{2}éé", false).as_deref(), Some("éé"));
        assert_eq!(run(r"[", false), None);
    }

    #[test]
    fn may_match_is_exact() {
        let flags = |ignore_case| ReFlags {
            ignore_case,
            ..ReFlags::default()
        };
        let r = Required::of(r"(?i)werfault\.exe", flags(false)).unwrap();
        assert!(r.may_match("C:\\x\\WerFault.EXE -u"));
        assert!(!r.may_match("C:\\x\\WerFault-exe -u"));
        let r = Required::of(r"Werfault\.exe", flags(false)).unwrap();
        assert!(!r.may_match("werfault.exe"));
        assert!(r.may_match("xWerfault.exe"));
    }

    /// What [`Required::may_match`] must say: the run is in `value` (ASCII
    /// letters in either case when case does not matter).
    fn naive(r: &Required, value: &str) -> bool {
        value.as_bytes().windows(r.text.len()).any(|w| {
            if r.ci {
                w.eq_ignore_ascii_case(&r.text)
            } else {
                w == r.text.as_slice()
            }
        })
    }

    /// The check before the regex against the regex itself, for every `|re`
    /// of SigmaHQ `rules/` on every value of its field in the shared Plaso
    /// and flat `evtx_dump` exports (fields from `xml_string` included), and
    /// on damaged copies of them with the run put in (its letters in random
    /// case, `k`/`s` also as the Kelvin sign and the long s): a value the
    /// check turns away never matches, and the check finds the run exactly
    /// where a plain search does.
    #[test]
    #[cfg_attr(
        not(shared_corpus),
        ignore = "set SIGMA_MATCH_SHARED to the shared corpus to run (as .ci/run does)"
    )]
    fn the_check_never_turns_away_a_match_on_the_shared_exports() {
        use crate::compile::{CompileOptions, Pat, Slot, loader};
        use std::collections::BTreeSet;
        let (rs, _, _) = loader::load_ruleset(
            &[crate::test_support::shared("sigmahq/rules")],
            &loader::RuleFilter::default(),
            CompileOptions::default(),
        );
        let mut regexes = Vec::new();
        for rule in &rs.rules {
            for item in &rule.items {
                for p in &item.pats {
                    if let (Pat::Regex(re, lazy), Slot::Field(f)) = (p, item.slot) {
                        regexes.push((f, re, Required::of(&lazy.pattern, lazy.flags)));
                    }
                }
            }
        }
        assert!(regexes.len() > 100, "{} regexes", regexes.len());
        // The distinct values of each field the regexes read.
        let mut values: Vec<BTreeSet<String>> = vec![BTreeSet::new(); rs.fields.len()];
        let mut view = crate::event::EventView::new();
        for file in ["plaso-attack.jsonl", "evtx-samples.flat.jsonl"] {
            let text = crate::test_support::shared_text(&format!("events/{file}"));
            for line in text.as_bytes().split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                view.load(line, &rs.fields).unwrap();
                for &(f, _, _) in &regexes {
                    for v in view.values(f) {
                        if !values[f as usize].contains(v.raw) {
                            values[f as usize].insert(v.raw.to_string());
                        }
                    }
                }
            }
        }
        let specials = [
            '\\', '"', '\'', ' ', '.', 'K', 's', '\u{212a}', '\u{17f}', 'é', '\u{0}',
        ];
        let mut damage =
            crate::event::plaso::evtx_xml::Damage::new(0x005E_ED0F_0123_4567, &specials);
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut rand = move |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        let (mut checked, mut turned_away, mut matched) = (0usize, 0usize, 0usize);
        for (f, re, required) in &regexes {
            let Some(r) = required else { continue };
            let mut check = |value: &str| {
                let may = r.may_match(value);
                assert_eq!(
                    may,
                    naive(r, value),
                    "{:?} in {value:?}",
                    String::from_utf8_lossy(&r.text)
                );
                let m = re.is_match(value);
                assert!(
                    may || !m,
                    "/{}/ matches {value:?} without {:?}",
                    re.as_str(),
                    String::from_utf8_lossy(&r.text)
                );
                checked += 1;
                turned_away += usize::from(!may);
                matched += usize::from(m);
            };
            let run = String::from_utf8(r.text.clone()).unwrap();
            for (n, value) in values[*f as usize].iter().enumerate() {
                check(value);
                if n >= 300 || value.chars().count() < 8 {
                    continue;
                }
                let chars: Vec<char> = value.chars().collect();
                for _ in 0..3 {
                    check(&damage.apply(&chars, 3));
                    // The run (in random case where case does not matter),
                    // put into a damaged copy.
                    let mut with: Vec<char> = damage.apply(&chars, 2).chars().collect();
                    let at = rand(with.len() + 1);
                    let flips = rand(4);
                    let cased: String = run
                        .chars()
                        .enumerate()
                        .map(|(i, c)| match (r.ci, (i + flips) % 4, c) {
                            (true, 0, 'k') => '\u{212a}',
                            (true, 0, 's') => '\u{17f}',
                            (true, 1, c) => c.to_ascii_uppercase(),
                            (_, _, c) => c,
                        })
                        .collect();
                    with.splice(at..at, cased.chars());
                    check(&with.into_iter().collect::<String>());
                }
            }
        }
        // The check is worth having: it turns most values away, and the
        // test saw matches.
        assert!(
            turned_away > checked / 2 && matched > 100,
            "{turned_away} of {checked}, {matched} matches"
        );
    }
}
