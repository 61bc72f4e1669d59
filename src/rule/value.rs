//! Sigma values and value modifiers.
//!
//! This module owns the meaning of one detection item's values: the Sigma
//! string syntax (wildcards `*` and `?`, backslash escapes, `%placeholders%`)
//! and the modifier chain `field|mod1|mod2` applied in order, exactly as the
//! Sigma modifiers appendix (v2.1) and pySigma's `sigma/modifiers.py` define
//! them. The output is a backend-agnostic [`Pattern`] list; turning patterns
//! into fast matchers is the job of `compile`.

use base64::Engine as _;
use ipnet::IpNet;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

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

    /// The `expand` modifier: `%name%` inside literal text becomes a
    /// placeholder; `\%` stays a plain percent sign (spec, "Placeholders").
    /// Works on the already-modified string, so `|contains|expand` keeps
    /// its wildcards.
    fn insert_placeholders(&self) -> SigmaString {
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
        let mut out = SigmaString::default();
        if !s.is_empty() {
            out.parts.push(Part::Lit(s.to_string()));
        }
        out
    }

    fn push_char(&mut self, c: char) {
        if let Some(Part::Lit(s)) = self.parts.last_mut() {
            s.push(c);
        } else {
            self.parts.push(Part::Lit(c.to_string()));
        }
    }

    fn push_str(&mut self, t: &str) {
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

    fn append(&mut self, other: SigmaString) {
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
    fn map_literals(
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

/// A value modifier (`field|modifier`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Modifier {
    Contains,
    StartsWith,
    EndsWith,
    All,
    Exists,
    Cased,
    Neq,
    Windash,
    Re,
    ReIgnoreCase,
    ReMultiline,
    ReDotAll,
    Base64,
    Base64Offset,
    Utf16Le,
    Utf16Be,
    Utf16,
    Lt,
    Lte,
    Gt,
    Gte,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
    Cidr,
    Expand,
    FieldRef,
}

impl Modifier {
    /// Parses a modifier name, with pySigma's aliases (`wide`, `ignorecase`,
    /// `multiline`, `dotall`).
    pub fn parse(s: &str) -> Option<Modifier> {
        use Modifier::*;
        Some(match s {
            "contains" => Contains,
            "startswith" => StartsWith,
            "endswith" => EndsWith,
            "all" => All,
            "exists" => Exists,
            "cased" => Cased,
            "neq" => Neq,
            "windash" => Windash,
            "re" => Re,
            "i" | "ignorecase" => ReIgnoreCase,
            "m" | "multiline" => ReMultiline,
            "s" | "dotall" => ReDotAll,
            "base64" => Base64,
            "base64offset" => Base64Offset,
            "utf16le" | "wide" => Utf16Le,
            "utf16be" => Utf16Be,
            "utf16" => Utf16,
            "lt" => Lt,
            "lte" => Lte,
            "gt" => Gt,
            "gte" => Gte,
            "minute" => Minute,
            "hour" => Hour,
            "day" => Day,
            "week" => Week,
            "month" => Month,
            "year" => Year,
            "cidr" => Cidr,
            "expand" => Expand,
            "fieldref" => FieldRef,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        use Modifier::*;
        match self {
            Contains => "contains",
            StartsWith => "startswith",
            EndsWith => "endswith",
            All => "all",
            Exists => "exists",
            Cased => "cased",
            Neq => "neq",
            Windash => "windash",
            Re => "re",
            ReIgnoreCase => "i",
            ReMultiline => "m",
            ReDotAll => "s",
            Base64 => "base64",
            Base64Offset => "base64offset",
            Utf16Le => "utf16le",
            Utf16Be => "utf16be",
            Utf16 => "utf16",
            Lt => "lt",
            Lte => "lte",
            Gt => "gt",
            Gte => "gte",
            Minute => "minute",
            Hour => "hour",
            Day => "day",
            Week => "week",
            Month => "month",
            Year => "year",
            Cidr => "cidr",
            Expand => "expand",
            FieldRef => "fieldref",
        }
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

/// A compiled `re` value; equal when the source patterns are.
#[derive(Debug, Clone)]
pub struct CompiledRegex(pub regex::Regex);

impl PartialEq for CompiledRegex {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

/// One value of a detection item after all modifiers were applied.
#[derive(Debug, Clone, PartialEq)]
pub enum Pattern {
    /// A Sigma string; matched case-insensitively unless `cased`.
    Str {
        s: SigmaString,
        cased: bool,
    },
    Regex {
        regex: String,
        flags: ReFlags,
        /// The regex compiled with `flags` when the rule was read (compiling
        /// it again for the matcher would double the start-up cost of
        /// regexes).
        compiled: CompiledRegex,
    },
    Cidr(IpNet),
    Cmp {
        op: CmpOp,
        value: f64,
    },
    TimePart {
        part: TimePart,
        value: i64,
    },
    /// `field|exists: true/false`.
    Exists(bool),
    /// `field: null`: the field is absent or null.
    Null,
    /// `field|fieldref: other`: compare with another field of the same event.
    FieldRef {
        field: String,
        starts: bool,
        ends: bool,
        cased: bool,
    },
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
    pub fn from_node(n: &crate::yaml::Node) -> Option<RawValue> {
        use crate::yaml::Value;
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

/// Intermediate value while the modifier chain runs (mirrors pySigma types).
#[derive(Debug, Clone)]
enum V {
    Str(SigmaString, String),
    Num(f64, String),
    Bool(bool),
    Null,
    Cased(SigmaString),
    Re(String, ReFlags),
    Cidr(IpNet),
    Cmp(CmpOp, f64),
    Time(TimePart, i64),
    Exists(bool),
    FieldRef {
        field: String,
        starts: bool,
        ends: bool,
    },
}

/// The outcome of applying a modifier chain to an item's values.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub patterns: Vec<Pattern>,
    /// For each pattern, the index of the original value it came from.
    /// Expanding modifiers (`windash`, `base64offset`) turn one value into
    /// several alternatives (pySigma `SigmaExpansion`): with `all`, every
    /// *value* must match, through any of its alternatives.
    pub groups: Vec<u32>,
    /// `all`: every value must match (default: any).
    pub all: bool,
    /// `neq`: the item is negated.
    pub negated: bool,
}

/// Applies `modifiers` (in order) to `values`, as pySigma does.
pub fn apply_modifiers(
    has_field: bool,
    modifiers: &[Modifier],
    values: &[RawValue],
) -> Result<Applied, RuleError> {
    let mut all = false;
    let mut negated = false;
    let mut out = Vec::new();
    let mut groups = Vec::new();
    for m in modifiers {
        match m {
            Modifier::All => all = true,
            Modifier::Neq => negated = true,
            _ => {}
        }
    }
    if all && values.len() < 2 {
        // Allowed by pySigma at runtime; the spec discourages it. `verify`
        // reports it as a warning. Semantics do not change for one value.
    }
    let mods: Vec<Modifier> = modifiers
        .iter()
        .copied()
        .filter(|m| !matches!(m, Modifier::All | Modifier::Neq))
        .collect();
    // Modifiers that must come first in the chain (pySigma: "only applicable
    // to unmodified values").
    for (i, m) in mods.iter().enumerate() {
        if i > 0 && matches!(m, Modifier::Re | Modifier::Cidr | Modifier::Exists) {
            return Err(RuleError::Modifier(format!(
                "`{}` must be the first value modifier",
                m.name()
            )));
        }
    }
    if mods.contains(&Modifier::Exists) && !has_field {
        return Err(RuleError::Modifier("`exists` needs a field".into()));
    }
    if mods.contains(&Modifier::FieldRef) && !has_field {
        return Err(RuleError::Modifier("`fieldref` needs a field".into()));
    }
    for (group, raw) in values.iter().enumerate() {
        let mut vals = vec![match raw {
            RawValue::Str(s) => V::Str(SigmaString::parse(s), s.clone()),
            RawValue::Int(i) => V::Num(*i as f64, i.to_string()),
            RawValue::Float(f, t) => V::Num(*f, t.clone()),
            RawValue::Bool(b) => V::Bool(*b),
            RawValue::Null => V::Null,
        }];
        for m in &mods {
            let mut next = Vec::with_capacity(vals.len());
            for v in vals {
                apply_one(*m, v, &mut next)?;
            }
            vals = next;
        }
        for v in vals {
            out.push(finish(v)?);
            groups.push(group as u32);
        }
    }
    if out.is_empty() {
        return Err(RuleError::Value("empty value list".into()));
    }
    Ok(Applied {
        patterns: out,
        groups,
        all,
        negated,
    })
}

fn type_err(m: Modifier, v: &V) -> RuleError {
    let what = match v {
        V::Str(..) => "string",
        V::Num(..) => "number",
        V::Bool(_) => "boolean",
        V::Null => "null",
        V::Cased(_) => "cased string",
        V::Re(..) => "regular expression",
        V::Cidr(_) => "CIDR network",
        V::Cmp(..) => "comparison",
        V::Time(..) => "time part",
        V::Exists(_) => "exists check",
        V::FieldRef { .. } => "field reference",
    };
    RuleError::Modifier(format!(
        "`{}` cannot be applied to a {what} value",
        m.name()
    ))
}

/// Numbers become strings when a string modifier is applied to them
/// (`EventID|startswith: 46`), as the YAML text would read.
fn as_string(v: V) -> V {
    match v {
        V::Num(_, t) => V::Str(SigmaString::literal(&t), t),
        V::Bool(b) => V::Str(SigmaString::literal(&b.to_string()), b.to_string()),
        v => v,
    }
}

fn wrap(s: &mut SigmaString, front: bool, back: bool) {
    if front && !s.starts_with_any() {
        s.parts.insert(0, Part::AnyRun);
    }
    if back && !s.ends_with_any() {
        s.parts.push(Part::AnyRun);
    }
}

/// pySigma `_regex_has_toplevel_alternation`.
fn has_toplevel_alternation(re: &str) -> bool {
    let b = re.as_bytes();
    let (mut depth, mut in_class, mut i) = (0i32, false, 0);
    while i < b.len() {
        let c = b[i];
        if c == b'\\' {
            i += 2;
            continue;
        }
        if in_class {
            if c == b']' {
                in_class = false;
            }
        } else if c == b'[' {
            in_class = true;
            if b.get(i + 1) == Some(&b'^') {
                i += 1;
            }
            if b.get(i + 1) == Some(&b']') {
                i += 1;
            }
        } else if c == b'(' {
            depth += 1;
        } else if c == b')' {
            depth -= 1;
        } else if c == b'|' && depth == 0 {
            return true;
        }
        i += 1;
    }
    false
}

fn ends_with_unescaped(re: &str, suffix: &str) -> bool {
    if !re.ends_with(suffix) {
        return false;
    }
    let head = &re[..re.len() - suffix.len()];
    (head.len() - head.trim_end_matches('\\').len()).is_multiple_of(2)
}

fn wrap_regex(re: &mut String, front: bool, back: bool) {
    if has_toplevel_alternation(re) {
        *re = format!("(?:{re})");
    }
    let open_ended = !ends_with_unescaped(re, ".*") && !ends_with_unescaped(re, "$");
    if front && !(re.starts_with(".*") || re.starts_with('^')) {
        re.insert_str(0, ".*");
    }
    if back && open_ended {
        re.push_str(".*");
    }
}

fn encode_utf16(s: &str, be: bool, m: Modifier) -> Result<String, RuleError> {
    // pySigma encodes each character and re-reads the bytes as UTF-8, which
    // only works for ASCII; we reject the rest with the same reason.
    if !s.is_ascii() {
        return Err(RuleError::Value(format!(
            "`{}` only works on ASCII strings, `{s}` is not",
            m.name()
        )));
    }
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if be {
            out.push('\0');
            out.push(c);
        } else {
            out.push(c);
            out.push('\0');
        }
    }
    Ok(out)
}

/// Bytes that the base64 modifiers encode: UTF-8 of the string, except that
/// the BOM from `utf16` (U+FEFF) is written as the UTF-16LE BOM FF FE
/// (pySigma `_base64_input_bytes`); characters U+0001..U+00FF produced by the
/// UTF-16 modifiers stand for single bytes.
fn base64_input(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut rest = s;
    if let Some(r) = rest.strip_prefix('\u{feff}') {
        out.extend_from_slice(&[0xff, 0xfe]);
        rest = r;
    }
    out.extend_from_slice(rest.as_bytes());
    out
}

fn apply_one(m: Modifier, v: V, out: &mut Vec<V>) -> Result<(), RuleError> {
    use Modifier as M;
    let b64 = base64::engine::general_purpose::STANDARD;
    match m {
        M::Contains | M::StartsWith | M::EndsWith => {
            let (front, back) = match m {
                M::Contains => (true, true),
                M::StartsWith => (false, true),
                _ => (true, false),
            };
            match as_string(v) {
                V::Str(mut s, o) => {
                    wrap(&mut s, front, back);
                    out.push(V::Str(s, o));
                }
                V::Cased(mut s) => {
                    wrap(&mut s, front, back);
                    out.push(V::Cased(s));
                }
                V::Re(mut r, f) => {
                    wrap_regex(&mut r, front, back);
                    out.push(V::Re(r, f));
                }
                V::FieldRef {
                    field,
                    starts,
                    ends,
                } => out.push(V::FieldRef {
                    field,
                    starts: starts || back,
                    ends: ends || front,
                }),
                v => return Err(type_err(m, &v)),
            }
        }
        M::Exists => match v {
            V::Bool(b) => out.push(V::Exists(b)),
            V::Str(_, ref o)
                if o.eq_ignore_ascii_case("true") || o.eq_ignore_ascii_case("false") =>
            {
                out.push(V::Exists(o.eq_ignore_ascii_case("true")))
            }
            v => {
                return Err(RuleError::Modifier(format!(
                    "`exists` needs true or false, {}",
                    type_err(m, &v)
                )));
            }
        },
        M::Cased => match as_string(v) {
            V::Str(s, _) => out.push(V::Cased(s)),
            v => return Err(type_err(m, &v)),
        },
        M::Windash => match as_string(v) {
            V::Str(s, o) => {
                for e in windash(&s) {
                    out.push(V::Str(e, o.clone()));
                }
            }
            V::Cased(s) => {
                for e in windash(&s) {
                    out.push(V::Cased(e));
                }
            }
            v => return Err(type_err(m, &v)),
        },
        M::Re => match as_string(v) {
            // The regex is the value exactly as written (pySigma uses
            // `val.original`), so backslashes are regex escapes.
            V::Str(_, o) => out.push(V::Re(o, ReFlags::default())),
            v => return Err(type_err(m, &v)),
        },
        M::ReIgnoreCase | M::ReMultiline | M::ReDotAll => match v {
            V::Re(r, mut f) => {
                match m {
                    M::ReIgnoreCase => f.ignore_case = true,
                    M::ReMultiline => f.multi_line = true,
                    _ => f.dot_all = true,
                }
                out.push(V::Re(r, f));
            }
            v => {
                return Err(RuleError::Modifier(format!(
                    "`{}` only follows `re`; {}",
                    m.name(),
                    type_err(m, &v)
                )));
            }
        },
        M::Base64 | M::Base64Offset => match as_string(v) {
            V::Str(s, o) => {
                let Some(plain) = s.as_plain() else {
                    return Err(RuleError::Value(
                        "base64 encoding of strings with wildcards or placeholders is not allowed"
                            .into(),
                    ));
                };
                let data = base64_input(&plain);
                if m == M::Base64 {
                    out.push(V::Str(SigmaString::literal(&b64.encode(&data)), o));
                } else {
                    // pySigma SigmaBase64OffsetModifier: three shifted encodings
                    // with the unstable leading/trailing characters cut off.
                    let start = [0usize, 2, 3];
                    let end_cut = [0usize, 3, 2];
                    for i in 0..3 {
                        let mut shifted = vec![b' '; i];
                        shifted.extend_from_slice(&data);
                        let enc = b64.encode(&shifted);
                        let cut = end_cut[(data.len() + i) % 3];
                        let (a, b) = (start[i], enc.len().saturating_sub(cut));
                        let piece = if a < b { &enc[a..b] } else { "" };
                        out.push(V::Str(SigmaString::literal(piece), o.clone()));
                    }
                }
            }
            v => return Err(type_err(m, &v)),
        },
        M::Utf16Le | M::Utf16Be | M::Utf16 => match as_string(v) {
            V::Str(s, o) => {
                let mut e = s.map_literals(|t| encode_utf16(t, m == M::Utf16Be, m))?;
                if m == M::Utf16 {
                    let mut b = SigmaString::literal("\u{feff}");
                    b.append(e);
                    e = b;
                }
                out.push(V::Str(e, o));
            }
            v => return Err(type_err(m, &v)),
        },
        M::Lt | M::Lte | M::Gt | M::Gte => {
            let op = match m {
                M::Lt => CmpOp::Lt,
                M::Lte => CmpOp::Lte,
                M::Gt => CmpOp::Gt,
                _ => CmpOp::Gte,
            };
            match v {
                V::Num(n, _) => out.push(V::Cmp(op, n)),
                V::Str(_, ref o) if o.trim().parse::<f64>().is_ok() => {
                    out.push(V::Cmp(op, o.trim().parse().unwrap_or_default()))
                }
                v => {
                    return Err(RuleError::Value(format!(
                        "`{}` needs a number; {}",
                        m.name(),
                        type_err(m, &v)
                    )));
                }
            }
        }
        M::Minute | M::Hour | M::Day | M::Week | M::Month | M::Year => {
            let part = match m {
                M::Minute => TimePart::Minute,
                M::Hour => TimePart::Hour,
                M::Day => TimePart::Day,
                M::Week => TimePart::Week,
                M::Month => TimePart::Month,
                _ => TimePart::Year,
            };
            let n = match &v {
                V::Num(n, _) if n.fract() == 0.0 => *n as i64,
                V::Str(_, o) => o.trim().parse::<i64>().map_err(|_| {
                    RuleError::Value(format!("`{}` needs a whole number, found `{o}`", m.name()))
                })?,
                v => {
                    return Err(RuleError::Value(format!(
                        "`{}` needs a whole number; {}",
                        m.name(),
                        type_err(m, v)
                    )));
                }
            };
            let (lo, hi) = match part {
                TimePart::Minute => (0, 59),
                TimePart::Hour => (0, 23),
                TimePart::Day => (1, 31),
                TimePart::Week => (1, 53),
                TimePart::Month => (1, 12),
                TimePart::Year => (i64::MIN, i64::MAX),
            };
            if n < lo || n > hi {
                return Err(RuleError::Value(format!(
                    "`{}` value {n} is outside {lo}..={hi}",
                    m.name()
                )));
            }
            out.push(V::Time(part, n));
        }
        M::Cidr => match as_string(v) {
            V::Str(_, o) => {
                let net = o
                    .trim()
                    .parse::<IpNet>()
                    .or_else(|_| o.trim().parse::<std::net::IpAddr>().map(IpNet::from))
                    .map_err(|_| RuleError::Cidr(o.clone()))?;
                out.push(V::Cidr(net));
            }
            v => return Err(type_err(m, &v)),
        },
        M::Expand => match as_string(v) {
            V::Str(s, o) => out.push(V::Str(s.insert_placeholders(), o)),
            v => return Err(type_err(m, &v)),
        },
        M::FieldRef => match as_string(v) {
            V::Str(s, o) => {
                if s.has_special() {
                    return Err(RuleError::Value(
                        "field references must not contain wildcards".into(),
                    ));
                }
                out.push(V::FieldRef {
                    field: o,
                    starts: false,
                    ends: false,
                });
            }
            v => return Err(type_err(m, &v)),
        },
        M::All | M::Neq => out.push(v),
    }
    Ok(())
}

fn finish(v: V) -> Result<Pattern, RuleError> {
    Ok(match v {
        V::Str(s, _) => Pattern::Str { s, cased: false },
        V::Num(_, t) => Pattern::Str {
            s: SigmaString::literal(&t),
            cased: false,
        },
        V::Bool(b) => Pattern::Str {
            s: SigmaString::literal(&b.to_string()),
            cased: false,
        },
        V::Null => Pattern::Null,
        V::Cased(s) => Pattern::Str { s, cased: true },
        V::Re(r, f) => {
            let compiled = CompiledRegex(compile_regex(&r, f)?);
            Pattern::Regex {
                regex: r,
                flags: f,
                compiled,
            }
        }
        V::Cidr(n) => Pattern::Cidr(n),
        V::Cmp(op, value) => Pattern::Cmp { op, value },
        V::Time(part, value) => Pattern::TimePart { part, value },
        V::Exists(b) => Pattern::Exists(b),
        V::FieldRef {
            field,
            starts,
            ends,
        } => Pattern::FieldRef {
            field,
            starts,
            ends,
            cased: false,
        },
    })
}

/// The `windash` expansion (pySigma `SigmaWindowsDashModifier`): every `-`
/// or `/` that starts a word (regex `\B[-/]\b`) becomes each of `-`, `/`,
/// en dash, em dash and horizontal bar; all combinations are produced.
pub fn windash(s: &SigmaString) -> Vec<SigmaString> {
    const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];
    // Split literal parts at expandable positions.
    #[derive(Clone)]
    enum Seg {
        Fixed(Part),
        Dash,
    }
    let mut segs: Vec<Seg> = Vec::new();
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let n_parts = s.parts.len();
    for (pi, p) in s.parts.iter().enumerate() {
        match p {
            Part::Lit(t) => {
                let chars: Vec<char> = t.chars().collect();
                let mut buf = String::new();
                for (i, &c) in chars.iter().enumerate() {
                    // Characters beyond this literal (wildcards) are non-word.
                    let prev = if i > 0 { Some(chars[i - 1]) } else { None };
                    let next = chars.get(i + 1).copied();
                    let _ = (pi, n_parts);
                    // \B before a non-word char: previous char is non-word too (or start).
                    if (c == '-' || c == '/') && !is_word(prev) && is_word(next) {
                        if !buf.is_empty() {
                            segs.push(Seg::Fixed(Part::Lit(std::mem::take(&mut buf))));
                        }
                        segs.push(Seg::Dash);
                    } else {
                        buf.push(c);
                    }
                }
                if !buf.is_empty() {
                    segs.push(Seg::Fixed(Part::Lit(buf)));
                }
            }
            p => segs.push(Seg::Fixed(p.clone())),
        }
    }
    let dashes = segs.iter().filter(|s| matches!(s, Seg::Dash)).count();
    // Guard against combinatorial explosion: 5^6 = 15,625 variants at most.
    let dashes_expanded = dashes.min(6);
    let mut results = vec![SigmaString::default()];
    let mut seen = 0;
    for seg in segs {
        match seg {
            Seg::Fixed(Part::Lit(t)) => results.iter_mut().for_each(|r| r.push_str(&t)),
            Seg::Fixed(p) => results.iter_mut().for_each(|r| r.parts.push(p.clone())),
            Seg::Dash => {
                seen += 1;
                if seen > dashes_expanded {
                    results.iter_mut().for_each(|r| r.push_char('-'));
                    continue;
                }
                let mut next = Vec::with_capacity(results.len() * DASHES.len());
                for r in &results {
                    for d in DASHES {
                        let mut x = r.clone();
                        x.push_char(d);
                        next.push(x);
                    }
                }
                results = next;
            }
        }
    }
    results
}

/// Compiles a Sigma `re` value with its `i`/`m`/`s` flags (the regex
/// crate's syntax; the size limit keeps a hostile rule from exhausting
/// memory).
///
/// Compiled regexes are shared by pattern and flags: SigmaHQ repeats
/// regexes across rules (41 of its 217 are duplicates, some five times;
/// `\w{1,64}`-style Unicode repetitions cost milliseconds each), and a
/// `Regex` clone shares its compiled program.
pub fn compile_regex(r: &str, f: ReFlags) -> Result<regex::Regex, RuleError> {
    type Cache = Mutex<HashMap<(String, ReFlags), Result<regex::Regex, RuleError>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (r.to_string(), f);
    if let Some(found) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return found;
    }
    // Compiled outside the lock: other threads keep loading meanwhile.
    let built = regex::RegexBuilder::new(r)
        .case_insensitive(f.ignore_case)
        .multi_line(f.multi_line)
        .dot_matches_new_line(f.dot_all)
        .size_limit(8 << 20)
        .build()
        .map_err(|e| RuleError::Regex {
            pattern: r.to_string(),
            reason: e
                .to_string()
                .lines()
                .last()
                .unwrap_or("")
                .trim()
                .to_string(),
        });
    if let Ok(mut c) = cache.lock() {
        c.insert(key, built.clone());
    }
    built
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Part {
        Part::Lit(s.into())
    }

    fn strs(a: &Applied) -> Vec<String> {
        a.patterns
            .iter()
            .map(|p| match p {
                Pattern::Str { s, .. } => s.to_sigma(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    fn apply(mods: &[&str], vals: &[&str]) -> Result<Applied, RuleError> {
        let mods: Vec<Modifier> = mods.iter().map(|m| Modifier::parse(m).unwrap()).collect();
        let vals: Vec<RawValue> = vals.iter().map(|v| RawValue::Str(v.to_string())).collect();
        apply_modifiers(true, &mods, &vals)
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

    #[test]
    fn contains_startswith_endswith_do_not_double_wildcards() {
        // pySigma: contains adds `*` only where there is none already.
        assert_eq!(
            strs(&apply(&["contains"], &["*abc"]).unwrap()),
            vec!["*abc*"]
        );
        assert_eq!(
            strs(&apply(&["startswith"], &["abc"]).unwrap()),
            vec!["abc*"]
        );
        assert_eq!(strs(&apply(&["endswith"], &["a?c"]).unwrap()), vec!["*a?c"]);
    }

    #[test]
    fn base64_and_offsets_match_pysigma() {
        // Values from pySigma tests/test_modifiers.py (test_base64, test_base64offset).
        assert_eq!(
            strs(&apply(&["base64"], &["foobar"]).unwrap()),
            vec!["Zm9vYmFy"]
        );
        assert_eq!(
            strs(&apply(&["base64offset"], &["foobar"]).unwrap()),
            vec!["Zm9vYmFy", "Zvb2Jhc", "mb29iYX"]
        );
        assert_eq!(
            strs(&apply(&["base64offset"], &["foob"]).unwrap()),
            vec!["Zm9vY", "Zvb2", "mb29i"]
        );
        assert!(apply(&["base64"], &["foo*"]).is_err());
    }

    #[test]
    fn utf16_encodings_then_base64() {
        assert_eq!(
            strs(&apply(&["wide"], &["cmd"]).unwrap()),
            vec!["c\0m\0d\0"]
        );
        assert_eq!(
            strs(&apply(&["utf16be"], &["cmd"]).unwrap()),
            vec!["\0c\0m\0d"]
        );
        // pySigma: utf16|base64 encodes the BOM as FF FE -> "//5jAG0AZAA=".
        assert_eq!(
            strs(&apply(&["utf16", "base64"], &["cmd"]).unwrap()),
            vec!["//5jAG0AZAA="]
        );
        assert_eq!(
            strs(&apply(&["wide", "base64"], &["cmd"]).unwrap()),
            vec!["YwBtAGQA"]
        );
        assert!(apply(&["wide"], &["é"]).is_err());
    }

    #[test]
    fn windash_expands_word_initial_dashes_only() {
        let a = apply(&["windash", "contains"], &[" -foo -bar-baz"]).unwrap();
        assert_eq!(a.patterns.len(), 25);
        let all = strs(&a);
        assert!(all.contains(&"* /foo \u{2014}bar-baz*".to_string()));
        // the dash inside `bar-baz` is not at a word start and stays as it is.
        assert!(all.iter().all(|s| s.contains("bar-baz")));
    }

    #[test]
    fn regex_modifiers_and_wrapping() {
        let a = apply(&["re", "i"], &["^foo|bar$"]).unwrap();
        assert!(matches!(&a.patterns[0], Pattern::Regex { flags, .. } if flags.ignore_case));
        let a = apply(&["re", "contains"], &["a|b"]).unwrap();
        assert_eq!(
            a.patterns[0],
            Pattern::Regex {
                regex: ".*(?:a|b).*".into(),
                flags: ReFlags::default(),
                compiled: CompiledRegex(compile_regex(".*(?:a|b).*", ReFlags::default()).unwrap()),
            }
        );
        assert!(apply(&["contains", "re"], &["a"]).is_err());
        assert!(matches!(
            apply(&["re"], &["a("]),
            Err(RuleError::Regex { .. })
        ));
        assert!(apply(&["i"], &["a"]).is_err());
    }

    #[test]
    fn typed_modifiers() {
        assert!(matches!(
            apply(&["cidr"], &["10.0.0.0/8"]).unwrap().patterns[0],
            Pattern::Cidr(_)
        ));
        assert!(matches!(
            apply(&["cidr"], &["10.0.0.0/33"]),
            Err(RuleError::Cidr(_))
        ));
        assert!(apply(&["gt"], &["abc"]).is_err());
        assert_eq!(
            apply(&["gte"], &["5"]).unwrap().patterns[0],
            Pattern::Cmp {
                op: CmpOp::Gte,
                value: 5.0
            }
        );
        assert!(apply(&["hour"], &["24"]).is_err());
        assert!(apply(&["exists"], &["maybe"]).is_err());
        assert!(apply(&["contains", "exists"], &["true"]).is_err());
        let f = apply(&["fieldref", "endswith"], &["User"]).unwrap();
        assert_eq!(
            f.patterns[0],
            Pattern::FieldRef {
                field: "User".into(),
                starts: false,
                ends: true,
                cased: false
            }
        );
        let n = apply(&["neq", "contains", "all"], &["a", "b"]).unwrap();
        assert!(n.negated && n.all);
    }

    #[test]
    fn expand_inserts_placeholders_with_escapes() {
        let a = apply(&["expand"], &[r"\%plain%name%"]).unwrap();
        let Pattern::Str { s, .. } = &a.patterns[0] else {
            panic!()
        };
        assert_eq!(
            s.parts,
            vec![lit("%plain"), Part::Placeholder("name".into())]
        );
        // `contains` before `expand` keeps its wildcards (8 SigmaHQ rules do this).
        let a = apply(&["contains", "expand"], &["%name%"]).unwrap();
        let Pattern::Str { s, .. } = &a.patterns[0] else {
            panic!()
        };
        assert_eq!(
            s.parts,
            vec![Part::AnyRun, Part::Placeholder("name".into()), Part::AnyRun]
        );
        // Without `expand`, percent signs are literal (spec, "Placeholders").
        let a = apply(&[], &["%name%"]).unwrap();
        assert!(!matches!(&a.patterns[0], Pattern::Str { s, .. } if s.has_placeholder()));
    }
}
