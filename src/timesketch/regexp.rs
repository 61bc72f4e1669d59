//! Lucene's regular expression syntax (`org.apache.lucene.util.automaton.RegExp`,
//! Lucene 9.12, all syntax flags on as the classic query parser's
//! `newRegexpQuery` uses them), for `/.../` terms of a query string.
//!
//! This module owns parsing a Lucene regexp (with Lucene's error messages,
//! e.g. `invalid character class \b`, `expected ')' at position 5`) and
//! matching it against a whole term, as a `RegexpQuery` does. Lucene's
//! syntax is not Perl's: `.` is any character, `@` any string, `#` the
//! empty language, `"..."` a literal string, `<1-10>` a numeric interval,
//! `&` intersection and `~` complement; `\d \D \s \S \w \W` are classes and
//! any other backslash before a letter is an error; there are no anchors,
//! no `(?i)` flags (`(?i)` reads as the literal characters `?i` — `?` at
//! the start of a group has nothing to repeat and is taken literally).
//! Most expressions are translated to the `regex` crate (linear time);
//! those using `&` or `~` are matched by a small set-of-positions
//! interpreter.

use std::fmt::Write;

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Char(char),
    /// Character ranges, possibly negated (`[^...]`).
    Class(Vec<(char, char)>, bool),
    Any,
    AnyString,
    Empty,
    Str(String),
    Interval(u32, u32, usize),
    Concat(Box<Node>, Box<Node>),
    Union(Box<Node>, Box<Node>),
    Inter(Box<Node>, Box<Node>),
    Compl(Box<Node>),
    Repeat(Box<Node>, u32, Option<u32>),
}

/// A compiled Lucene regexp.
#[derive(Debug, Clone)]
pub struct LuceneRegex {
    node: Node,
    re: Option<regex::Regex>,
}

struct P<'a> {
    s: &'a [char],
    pos: usize,
}

type R<T> = Result<T, String>;

impl P<'_> {
    fn more(&self) -> bool {
        self.pos < self.s.len()
    }
    fn peek(&self, set: &str) -> bool {
        self.more() && set.contains(self.s[self.pos])
    }
    fn matches(&mut self, c: char) -> bool {
        if self.more() && self.s[self.pos] == c {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn next(&mut self) -> R<char> {
        if !self.more() {
            return Err("unexpected end-of-string".into());
        }
        let c = self.s[self.pos];
        self.pos += 1;
        Ok(c)
    }

    fn union(&mut self) -> R<Node> {
        let e = self.inter()?;
        if self.matches('|') {
            return Ok(Node::Union(Box::new(e), Box::new(self.union()?)));
        }
        Ok(e)
    }
    fn inter(&mut self) -> R<Node> {
        let e = self.concat()?;
        if self.matches('&') {
            return Ok(Node::Inter(Box::new(e), Box::new(self.inter()?)));
        }
        Ok(e)
    }
    fn concat(&mut self) -> R<Node> {
        let e = self.repeat()?;
        if self.more() && !self.peek(")|") && !self.peek("&") {
            return Ok(Node::Concat(Box::new(e), Box::new(self.concat()?)));
        }
        Ok(e)
    }
    fn repeat(&mut self) -> R<Node> {
        let mut e = self.compl()?;
        while self.peek("?*+{") {
            if self.matches('?') {
                e = Node::Repeat(Box::new(e), 0, Some(1));
            } else if self.matches('*') {
                e = Node::Repeat(Box::new(e), 0, None);
            } else if self.matches('+') {
                e = Node::Repeat(Box::new(e), 1, None);
            } else if self.matches('{') {
                let start = self.pos;
                while self.peek("0123456789") {
                    self.pos += 1;
                }
                if start == self.pos {
                    return Err(format!("integer expected at position {}", self.pos));
                }
                let n: u32 = self.num(start)?;
                let m = if self.matches(',') {
                    let start = self.pos;
                    while self.peek("0123456789") {
                        self.pos += 1;
                    }
                    if start != self.pos {
                        Some(self.num(start)?)
                    } else {
                        None
                    }
                } else {
                    Some(n)
                };
                if !self.matches('}') {
                    return Err(format!("expected '}}' at position {}", self.pos));
                }
                e = Node::Repeat(Box::new(e), n, m);
            }
        }
        Ok(e)
    }
    fn num(&self, start: usize) -> R<u32> {
        let t: String = self.s[start..self.pos].iter().collect();
        t.parse().map_err(|_| format!("For input string: \"{t}\""))
    }
    fn compl(&mut self) -> R<Node> {
        if self.matches('~') {
            return Ok(Node::Compl(Box::new(self.compl()?)));
        }
        self.char_class_exp()
    }
    fn char_class_exp(&mut self) -> R<Node> {
        if self.matches('[') {
            let negate = self.matches('^');
            let mut ranges = Vec::new();
            self.char_class(&mut ranges)?;
            while self.more() && !self.peek("]") {
                self.char_class(&mut ranges)?;
            }
            if !self.matches(']') {
                return Err(format!("expected ']' at position {}", self.pos));
            }
            return Ok(Node::Class(ranges, negate));
        }
        self.simple()
    }
    fn char_class(&mut self, ranges: &mut Vec<(char, char)>) -> R<()> {
        if let Some(pre) = self.predefined()? {
            match pre {
                Node::Class(r, false) => ranges.extend(r),
                Node::Class(r, true) => ranges.extend(complement(&r)),
                _ => {}
            }
            return Ok(());
        }
        let c = self.char_exp()?;
        if self.matches('-') {
            let d = self.char_exp()?;
            if c > d {
                return Err(format!("invalid range: from ({c}) cannot be > to ({d})"));
            }
            ranges.push((c, d));
        } else {
            ranges.push((c, c));
        }
        Ok(())
    }
    fn predefined(&mut self) -> R<Option<Node>> {
        if self.matches('\\') {
            if self.peek("dDwWsS") {
                let c = self.next()?;
                let digit = vec![('0', '9')];
                let space = vec![(' ', ' '), ('\t', '\t'), ('\n', '\n'), ('\r', '\r')];
                let word = vec![('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];
                return Ok(Some(match c {
                    'd' => Node::Class(digit, false),
                    'D' => Node::Class(digit, true),
                    's' => Node::Class(space, false),
                    'S' => Node::Class(space, true),
                    'w' => Node::Class(word, false),
                    _ => Node::Class(word, true),
                }));
            }
            if self.peek("\\") {
                return Ok(Some(Node::Char(self.next()?)));
            }
            if self.more() && self.s[self.pos].is_ascii_alphabetic() {
                return Err(format!("invalid character class \\{}", self.next()?));
            }
            // Not a class: the backslash escapes the next character.
            self.pos -= 1;
        }
        Ok(None)
    }
    fn simple(&mut self) -> R<Node> {
        if self.matches('.') {
            return Ok(Node::Any);
        }
        if self.matches('#') {
            return Ok(Node::Empty);
        }
        if self.matches('@') {
            return Ok(Node::AnyString);
        }
        if self.matches('"') {
            let start = self.pos;
            while self.more() && !self.peek("\"") {
                self.pos += 1;
            }
            if !self.matches('"') {
                return Err(format!("expected '\"' at position {}", self.pos));
            }
            return Ok(Node::Str(self.s[start..self.pos - 1].iter().collect()));
        }
        if self.matches('(') {
            if self.matches(')') {
                return Ok(Node::Str(String::new()));
            }
            let e = self.union()?;
            if !self.matches(')') {
                return Err(format!("expected ')' at position {}", self.pos));
            }
            return Ok(e);
        }
        if self.matches('<') {
            let start = self.pos;
            while self.more() && !self.peek(">") {
                self.pos += 1;
            }
            if !self.matches('>') {
                return Err(format!("expected '>' at position {}", self.pos));
            }
            let t: String = self.s[start..self.pos - 1].iter().collect();
            let Some(i) = t.find('-') else {
                // A named automaton: RegexpQuery has no provider for it.
                return Err(format!("'{t}' not found"));
            };
            let bad = || format!("interval syntax error at position {}", self.pos - 1);
            if i == 0 || i == t.len() - 1 || i != t.rfind('-').unwrap_or(i) {
                return Err(bad());
            }
            let (smin, smax) = (&t[..i], &t[i + 1..]);
            let (mut a, mut b): (u32, u32) = (
                smin.parse().map_err(|_| bad())?,
                smax.parse().map_err(|_| bad())?,
            );
            let digits = if smin.len() == smax.len() {
                smin.len()
            } else {
                0
            };
            if a > b {
                std::mem::swap(&mut a, &mut b);
            }
            return Ok(Node::Interval(a, b, digits));
        }
        if let Some(p) = self.predefined()? {
            return Ok(p);
        }
        Ok(Node::Char(self.char_exp()?))
    }
    fn char_exp(&mut self) -> R<char> {
        self.matches('\\');
        self.next()
    }
}

fn complement(r: &[(char, char)]) -> Vec<(char, char)> {
    let mut v = r.to_vec();
    v.sort();
    let mut out = Vec::new();
    let mut lo = 0u32;
    for (a, b) in v {
        if let (true, Some(x), Some(y)) = (
            (a as u32) > lo,
            char::from_u32(lo),
            char::from_u32((a as u32).saturating_sub(1)),
        ) {
            out.push((x, y));
        }
        lo = lo.max(b as u32 + 1);
    }
    if let Some(x) = char::from_u32(lo).filter(|_| lo <= 0x10FFFF) {
        out.push((x, char::MAX));
    }
    out
}

fn class_str(r: &[(char, char)], neg: bool) -> String {
    let mut s = String::from(if neg { "[^" } else { "[" });
    for (a, b) in r {
        let _ = write!(s, "\\x{{{:x}}}-\\x{{{:x}}}", *a as u32, *b as u32);
    }
    if r.is_empty() {
        // `[]` cannot be written; an empty class matches nothing.
        return if neg {
            "(?s:.)".into()
        } else {
            "[^\\s\\S]".into()
        };
    }
    s.push(']');
    s
}

fn to_regex(n: &Node, out: &mut String) -> bool {
    match n {
        Node::Char(c) => out.push_str(&regex::escape(&c.to_string())),
        Node::Class(r, neg) => out.push_str(&class_str(r, *neg)),
        Node::Any => out.push_str("(?s:.)"),
        Node::AnyString => out.push_str("(?s:.*)"),
        Node::Empty => out.push_str("[^\\s\\S]"),
        Node::Str(s) => {
            out.push_str("(?:");
            out.push_str(&regex::escape(s));
            out.push(')');
        }
        Node::Interval(a, b, digits) => {
            out.push_str("(?:");
            for (i, v) in (*a..=*b).enumerate() {
                if i > 0 {
                    out.push('|');
                }
                if *digits > 0 {
                    let _ = write!(out, "{v:0width$}", width = *digits);
                } else {
                    let _ = write!(out, "0*{v}");
                }
                if i > 10_000 {
                    return false;
                }
            }
            out.push(')');
        }
        Node::Concat(a, b) => {
            out.push_str("(?:");
            if !to_regex(a, out) {
                return false;
            }
            if !to_regex(b, out) {
                return false;
            }
            out.push(')');
        }
        Node::Union(a, b) => {
            out.push_str("(?:");
            if !to_regex(a, out) {
                return false;
            }
            out.push('|');
            if !to_regex(b, out) {
                return false;
            }
            out.push(')');
        }
        Node::Repeat(e, lo, hi) => {
            out.push_str("(?:");
            if !to_regex(e, out) {
                return false;
            }
            out.push(')');
            match hi {
                None => {
                    let _ = write!(out, "{{{lo},}}");
                }
                Some(h) => {
                    let _ = write!(out, "{{{lo},{h}}}");
                }
            }
        }
        Node::Inter(..) | Node::Compl(..) => return false,
    }
    true
}

impl LuceneRegex {
    /// Parses `pattern` as Lucene's `RegExp` with all flags.
    pub fn new(pattern: &str) -> Result<LuceneRegex, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut p = P { s: &chars, pos: 0 };
        let node = if chars.is_empty() {
            Node::Str(String::new())
        } else {
            p.union()?
        };
        if p.pos < chars.len() {
            return Err(format!("end-of-string expected at position {}", p.pos));
        }
        let mut s = String::from("^(?:");
        let re = if to_regex(&node, &mut s) {
            s.push_str(")$");
            regex::RegexBuilder::new(&s)
                .size_limit(1 << 24)
                .build()
                .ok()
        } else {
            None
        };
        Ok(LuceneRegex { node, re })
    }

    /// Whether the whole of `term` is in the language.
    pub fn is_match(&self, term: &str) -> bool {
        if let Some(re) = &self.re {
            return re.is_match(term);
        }
        let chars: Vec<char> = term.chars().collect();
        if chars.len() > 4096 {
            return false;
        }
        ends(&self.node, &chars, 0).contains(&chars.len())
    }
}

/// Every position where a match of `n` starting at `i` can end.
fn ends(n: &Node, s: &[char], i: usize) -> Vec<usize> {
    let one = |ok: bool| if ok { vec![i + 1] } else { vec![] };
    match n {
        Node::Char(c) => one(i < s.len() && s[i] == *c),
        Node::Class(r, neg) => {
            one(i < s.len() && (r.iter().any(|(a, b)| *a <= s[i] && s[i] <= *b) != *neg))
        }
        Node::Any => one(i < s.len()),
        Node::AnyString => (i..=s.len()).collect(),
        Node::Empty => vec![],
        Node::Str(t) => {
            let t: Vec<char> = t.chars().collect();
            if s[i..].starts_with(&t) {
                vec![i + t.len()]
            } else {
                vec![]
            }
        }
        Node::Interval(..) => {
            let mut tmp = String::from("^(?:");
            to_regex(n, &mut tmp);
            tmp.push(')');
            let Ok(re) = regex::Regex::new(&tmp) else {
                return vec![];
            };
            (i..=s.len())
                .filter(|&j| {
                    re.is_match(&s[i..j].iter().collect::<String>()) && {
                        let sub: String = s[i..j].iter().collect();
                        re.find(&sub).is_some_and(|m| m.end() == sub.len())
                    }
                })
                .collect()
        }
        Node::Concat(a, b) => {
            let mut out: Vec<usize> = ends(a, s, i)
                .into_iter()
                .flat_map(|j| ends(b, s, j))
                .collect();
            out.sort_unstable();
            out.dedup();
            out
        }
        Node::Union(a, b) => {
            let mut out = ends(a, s, i);
            out.extend(ends(b, s, i));
            out.sort_unstable();
            out.dedup();
            out
        }
        Node::Inter(a, b) => {
            let eb = ends(b, s, i);
            ends(a, s, i)
                .into_iter()
                .filter(|j| eb.contains(j))
                .collect()
        }
        Node::Compl(e) => {
            let ee = ends(e, s, i);
            (i..=s.len()).filter(|j| !ee.contains(j)).collect()
        }
        Node::Repeat(e, lo, hi) => {
            let mut frontier = vec![i];
            let mut out = Vec::new();
            let mut k = 0u32;
            let mut seen = std::collections::HashSet::new();
            loop {
                if k >= *lo {
                    out.extend(frontier.iter().copied());
                }
                if hi.is_some_and(|h| k >= h) || frontier.is_empty() {
                    break;
                }
                let mut next: Vec<usize> = frontier.iter().flat_map(|&j| ends(e, s, j)).collect();
                next.sort_unstable();
                next.dedup();
                if k >= *lo {
                    next.retain(|j| seen.insert(*j));
                }
                frontier = next;
                k += 1;
                if k > s.len() as u32 + *lo + 1 {
                    break;
                }
            }
            out.sort_unstable();
            out.dedup();
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        LuceneRegex::new(p).unwrap().is_match(t)
    }

    // Lucene RegExp (lucene/core/.../util/automaton/RegExp.java,
    // matchPredefinedCharacterClass): "It is an error to use a backslash
    // prior to any alphabetic character that does not denote an escaped
    // construct"; \d \s \w and their negations are classes.
    #[test]
    fn backslash_letters() {
        assert!(m(r"a\d+", "a12"));
        assert!(!m(r"a\d+", "ad"));
        assert_eq!(
            LuceneRegex::new(r"\bfoo").unwrap_err(),
            r"invalid character class \b"
        );
        assert!(m(r"a\.b", "a.b"));
        assert!(!m(r"a\.b", "axb"));
    }

    // `?` after `(` repeats nothing in Lucene's grammar: parseSimpleExp
    // falls through to a literal character, so `(?i)` is the string "?i".
    #[test]
    fn inline_flags_are_literals() {
        assert!(m("(?i)abc", "?iabc"));
        assert!(!m("(?i)abc", "abc"));
    }

    #[test]
    fn whole_term_match_and_operators() {
        assert!(m("ab.*", "abc"));
        assert!(!m("b", "abc"));
        assert!(m("@&~(foo.*)", "bar"));
        assert!(!m("@&~(foo.*)", "foobar"));
        assert!(m("<1-10>", "7"));
        assert!(!m("<1-10>", "11"));
        assert!(m("\"a.b\"", "a.b"));
        assert!(!m("#", ""));
        assert!(m("a{2,3}", "aaa"));
        assert!(m("[^a-c]x", "dx"));
    }

    #[test]
    fn errors_like_lucene() {
        assert_eq!(
            LuceneRegex::new("(ab").unwrap_err(),
            "expected ')' at position 3"
        );
        assert_eq!(
            LuceneRegex::new("a{x}").unwrap_err(),
            "integer expected at position 2"
        );
        assert_eq!(
            LuceneRegex::new("[ab").unwrap_err(),
            "expected ']' at position 3"
        );
        assert_eq!(LuceneRegex::new("<foo>").unwrap_err(), "'foo' not found");
        assert_eq!(
            LuceneRegex::new(r"a\").unwrap_err(),
            "unexpected end-of-string"
        );
    }
}
