//! The Sigma value model: what one detection item's values mean.
//!
//! This module owns the Sigma string syntax (wildcards `*` and `?`,
//! backslash escapes, `%placeholders%`) and [`Pattern`], the one type a
//! value has from the rule text to the compiled matcher: the modifier chain
//! ([`super::modifier`]) transforms patterns into patterns, and `compile`
//! lowers strings and regexes into automaton needles, globs and regexes
//! while the typed [`Check`]s and [`FieldRef`]s pass through unchanged.

use ipnet::IpNet;

use crate::error::RuleError;

/// One piece of a Sigma string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Part {
    Lit(String),
    /// `*`: any run of characters, including none.
    AnyRun,
    /// `?`: exactly one character.
    AnyOne,
    /// `%name%` after the `expand` modifier.
    Placeholder(String),
}

/// A Sigma string: literal text with wildcards and placeholders.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SigmaString {
    pub parts: Vec<Part>,
}

impl SigmaString {
    /// Parses Sigma string syntax. Per the rules specification ("Wildcards"):
    /// `*` and `?` are wildcards; a backslash escapes `*`, `?` and itself;
    /// a backslash before any other character is a literal backslash. So
    /// `C:\Windows\\*` is the literal `C:\Windows\` followed by a wildcard,
    /// while `C:\Windows\*` ends in a literal star.
    pub fn parse(s: &str) -> SigmaString {
        // Runs of plain text are pushed whole: `*`, `?` and `\\` are ASCII,
        // so byte positions split the text only between characters.
        let b = s.as_bytes();
        if !b.iter().any(|c| matches!(c, b'*' | b'?' | b'\\')) {
            // Most values: one literal, in a vector of one (a pushed first
            // part would reserve four; a rule's values live until it is
            // compiled).
            return SigmaString::literal(s);
        }
        let mut out = SigmaString::default();
        let (mut start, mut i) = (0, 0);
        while i < b.len() {
            match b[i] {
                c @ (b'*' | b'?') => {
                    out.push_str(&s[start..i]);
                    out.push_special(if c == b'*' { Part::AnyRun } else { Part::AnyOne });
                    i += 1;
                    start = i;
                }
                b'\\' => match b.get(i + 1) {
                    Some(&n @ (b'*' | b'?' | b'\\')) => {
                        out.push_str(&s[start..i]);
                        out.push_char(char::from(n));
                        i += 2;
                        start = i;
                    }
                    // A lone backslash stays, as part of the run.
                    _ => i += 1,
                },
                _ => i += 1,
            }
        }
        out.push_str(&s[start..]);
        out
    }

    /// The `expand` modifier: `%name%` inside literal text becomes a
    /// placeholder; `\%` stays a plain percent sign (spec, "Placeholders").
    /// Works on the already-modified string, so `|contains|expand` keeps
    /// its wildcards.
    pub(crate) fn insert_placeholders(&self) -> SigmaString {
        let mut out = SigmaString::default();
        for p in &self.parts {
            let Part::Lit(t) = p else {
                out.parts.push(p.clone());
                continue;
            };
            let mut chars = t.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '\\' if chars.peek() == Some(&'%') => {
                        chars.next();
                        out.push_char('%');
                    }
                    '%' => {
                        let rest: String = chars.clone().collect();
                        match rest.find('%') {
                            Some(end) if end > 0 && !rest[..end].contains(char::is_whitespace) => {
                                out.parts.push(Part::Placeholder(rest[..end].to_string()));
                                for _ in 0..=rest[..end].chars().count() {
                                    chars.next();
                                }
                            }
                            _ => out.push_char('%'),
                        }
                    }
                    c => out.push_char(c),
                }
            }
        }
        out
    }

    /// A string of literal text only.
    pub fn literal(s: &str) -> SigmaString {
        if s.is_empty() {
            return SigmaString::default();
        }
        SigmaString {
            parts: vec![Part::Lit(s.to_string())],
        }
    }

    pub(crate) fn push_char(&mut self, c: char) {
        if let Some(Part::Lit(s)) = self.parts.last_mut() {
            s.push(c);
        } else {
            self.parts.push(Part::Lit(c.to_string()));
        }
    }

    pub(crate) fn push_str(&mut self, t: &str) {
        if t.is_empty() {
            return;
        }
        if let Some(Part::Lit(s)) = self.parts.last_mut() {
            s.push_str(t);
        } else {
            self.parts.push(Part::Lit(t.to_string()));
        }
    }

    fn push_special(&mut self, p: Part) {
        self.parts.push(p);
    }

    pub(crate) fn append(&mut self, other: SigmaString) {
        for p in other.parts {
            match p {
                Part::Lit(s) => self.push_str(&s),
                p => self.parts.push(p),
            }
        }
    }

    /// True when the string has wildcards or placeholders.
    pub fn has_special(&self) -> bool {
        self.parts.iter().any(|p| !matches!(p, Part::Lit(_)))
    }

    pub fn has_placeholder(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Placeholder(_)))
    }

    /// The text when the string has no wildcards.
    pub fn as_plain(&self) -> Option<String> {
        let mut s = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(t) => s.push_str(t),
                _ => return None,
            }
        }
        Some(s)
    }

    pub fn starts_with_any(&self) -> bool {
        matches!(self.parts.first(), Some(Part::AnyRun))
    }

    pub fn ends_with_any(&self) -> bool {
        matches!(self.parts.last(), Some(Part::AnyRun))
    }

    /// Renders the string back into Sigma syntax (for explain output).
    #[cfg(test)]
    pub fn to_sigma(&self) -> String {
        let mut s = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(t) => {
                    for c in t.chars() {
                        if matches!(c, '*' | '?') {
                            s.push('\\');
                        }
                        s.push(c);
                    }
                }
                Part::AnyRun => s.push('*'),
                Part::AnyOne => s.push('?'),
                Part::Placeholder(n) => {
                    s.push('%');
                    s.push_str(n);
                    s.push('%');
                }
            }
        }
        s
    }

    /// Maps each literal part through `f` (encodings), keeping wildcards.
    pub(crate) fn map_literals(
        &self,
        f: impl Fn(&str) -> Result<String, RuleError>,
    ) -> Result<SigmaString, RuleError> {
        let mut out = SigmaString::default();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(&f(s)?),
                p => out.parts.push(p.clone()),
            }
        }
        Ok(out)
    }
}

/// Numeric comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Lt,
    Lte,
    Gt,
    Gte,
}

/// Parts of a timestamp extracted by the time modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimePart {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

/// Regular expression flags set by `re|i`, `re|m`, `re|s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ReFlags {
    pub ignore_case: bool,
    pub multi_line: bool,
    pub dot_all: bool,
}

/// A typed check on a field's values. The rule model and the compiled
/// matcher share it: nothing about it is lowered.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// `cidr`: a value is an IP address inside the network.
    Cidr(IpNet),
    /// `lt`, `lte`, `gt`, `gte`: a value is a number that compares so.
    Cmp { op: CmpOp, value: f64 },
    /// `minute` .. `year`: that part of a timestamp value equals `value`.
    TimePart { part: TimePart, value: i64 },
    /// `field|exists: true/false`: the field is present (or not).
    Exists(bool),
    /// `field: null`: the field is absent or null.
    Null,
}

impl Check {
    /// What the check is, for messages (`cannot be applied to a ...`).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Check::Cidr(_) => "CIDR network",
            Check::Cmp { .. } => "comparison",
            Check::TimePart { .. } => "time part",
            Check::Exists(_) => "exists check",
            Check::Null => "null",
        }
    }
}

/// `field|fieldref: other`: a value compared with the values of another
/// field of the same event. `F` names the other field: its rule-level name
/// in the rule model, its interned id once compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRef<F> {
    pub field: F,
    /// The value starts with the other field's value (`startswith`, `contains`).
    pub starts: bool,
    /// The value ends with the other field's value (`endswith`, `contains`).
    pub ends: bool,
    pub cased: bool,
}

/// The YAML type of a value as written. Numbers and booleans keep it until
/// a modifier reads them as text (`EventID|startswith: 46`); `exists`,
/// comparisons and time parts accept them as they are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    Str,
    Num(f64),
    Bool(bool),
}

/// One value of a detection item: the state of the modifier chain and, at
/// its end, what `compile` lowers into matchers.
#[derive(Debug, Clone, PartialEq)]
pub enum Pattern {
    /// A Sigma string; matched case-insensitively unless `cased`.
    Str {
        s: SigmaString,
        cased: bool,
        /// The value as the rule wrote it (what `re`, `cidr`, `fieldref`,
        /// comparisons and time parts read, whatever came before them).
        written: String,
        scalar: Scalar,
    },
    /// `re` (with `i`, `m`, `s` flags). Validated when the chain ends;
    /// [`super::modifier::compile_regex`] shares the compiled program.
    Regex { regex: String, flags: ReFlags },
    FieldRef(FieldRef<String>),
    Check(Check),
}

impl Pattern {
    /// The value a YAML scalar starts the modifier chain as.
    pub fn from_raw(raw: &RawValue) -> Pattern {
        let text = |written: String, scalar| Pattern::Str {
            s: SigmaString::literal(&written),
            cased: false,
            written,
            scalar,
        };
        match raw {
            RawValue::Str(s) => Pattern::Str {
                s: SigmaString::parse(s),
                cased: false,
                written: s.clone(),
                scalar: Scalar::Str,
            },
            RawValue::Int(i) => text(i.to_string(), Scalar::Num(*i as f64)),
            RawValue::Float(f, t) => text(t.clone(), Scalar::Num(*f)),
            RawValue::Bool(b) => text(b.to_string(), Scalar::Bool(*b)),
            RawValue::Null => Pattern::Check(Check::Null),
        }
    }

    /// What the value is, for messages (`cannot be applied to a ...`).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Pattern::Str { cased: true, .. } => "cased string",
            Pattern::Str { scalar, .. } => match scalar {
                Scalar::Str => "string",
                Scalar::Num(_) => "number",
                Scalar::Bool(_) => "boolean",
            },
            Pattern::Regex { .. } => "regular expression",
            Pattern::FieldRef(_) => "field reference",
            Pattern::Check(c) => c.kind_name(),
        }
    }
}

/// A raw YAML value of a detection item.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    Str(String),
    Int(i64),
    Float(f64, String),
    Bool(bool),
    Null,
}

impl RawValue {
    /// The value of a YAML scalar node; `None` for lists and mappings.
    pub fn from_node(n: &crate::sigma::yaml::Node) -> Option<RawValue> {
        use crate::sigma::yaml::Value;
        Some(match &n.value {
            Value::Str(s) => RawValue::Str(s.clone()),
            Value::Int(i) => RawValue::Int(*i),
            Value::Float(f) => RawValue::Float(*f, f.to_string()),
            Value::Bool(b) => RawValue::Bool(*b),
            Value::Null => RawValue::Null,
            Value::Seq(_) | Value::Map(_) => return None,
        })
    }

    pub fn display(&self) -> String {
        match self {
            RawValue::Str(s) => s.clone(),
            RawValue::Int(i) => i.to_string(),
            RawValue::Float(_, t) => t.clone(),
            RawValue::Bool(b) => b.to_string(),
            RawValue::Null => "null".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_pushes_runs_like_the_char_by_char_reading() {
        // The char-by-char reading `parse` replaced, as the reference.
        fn reference(s: &str) -> SigmaString {
            let mut out = SigmaString::default();
            let mut chars = s.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '*' => out.push_special(Part::AnyRun),
                    '?' => out.push_special(Part::AnyOne),
                    '\\' => match chars.peek() {
                        Some(&n @ ('*' | '?' | '\\')) => {
                            chars.next();
                            out.push_char(n);
                        }
                        _ => out.push_char('\\'),
                    },
                    c => out.push_char(c),
                }
            }
            out
        }
        for s in [
            "", "*", "?", "\\", "\\\\", "\\\\\\", "a\\", "\\*", "\\?", "\\\\*", "C:\\Windows\\*",
            "C:\\Windows\\\\*", "**a??b*", "é*ü\\ß?\\\\€", "x\\y\\*z\\?", "*\\",
        ] {
            assert_eq!(SigmaString::parse(s), reference(s), "{s:?}");
        }
    }

    fn lit(s: &str) -> Part {
        Part::Lit(s.into())
    }

    #[test]
    fn wildcard_and_escape_syntax() {
        // Spec "Wildcards": \* and \? are literals, \\ is one backslash,
        // a backslash before anything else stays a literal backslash. So
        // `C:\Windows\*` ends in a literal star; a folder wildcard is `\\*`.
        assert_eq!(
            SigmaString::parse("a*b?c").parts,
            vec![lit("a"), Part::AnyRun, lit("b"), Part::AnyOne, lit("c")]
        );
        assert_eq!(SigmaString::parse(r"a\*b\?").parts, vec![lit("a*b?")]);
        assert_eq!(
            SigmaString::parse(r"C:\Windows\*").parts,
            vec![lit(r"C:\Windows*")]
        );
        assert_eq!(
            SigmaString::parse(r"C:\Windows\\*").parts,
            vec![lit(r"C:\Windows\"), Part::AnyRun]
        );
        assert_eq!(
            SigmaString::parse(r"C:\\*").parts,
            vec![lit(r"C:\"), Part::AnyRun]
        );
        assert_eq!(SigmaString::parse(r"a\\\*").parts, vec![lit(r"a\*")]);
        assert_eq!(SigmaString::parse(r"end\").parts, vec![lit(r"end\")]);
        assert_eq!(SigmaString::parse("").parts, vec![]);
    }
}
