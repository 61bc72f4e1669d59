//! Sigma value modifiers: the chain `field|mod1|mod2` applied to values.
//!
//! This module owns what each modifier does, exactly as the Sigma modifiers
//! appendix (v2.1) and pySigma's `sigma/modifiers.py` define it. Every step
//! takes a [`Pattern`] and yields patterns: a new modifier is a
//! [`Modifier`] variant with its name(s), and one step function that
//! `apply_one` dispatches to (plus a [`Check`] variant and its evaluation
//! in `eval` when it checks something new).

use base64::Engine as _;
use ipnet::IpNet;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use super::value::{
    Check, CmpOp, FieldRef, Part, Pattern, RawValue, ReFlags, Scalar, SigmaString, TimePart,
};
use crate::error::RuleError;

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

/// What a detection item's values are matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A named field (`Field|modifiers: values`).
    Field,
    /// Any field: a keyword (field-less) item.
    Keywords,
}

/// Which ends of a value a positional modifier leaves open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    /// `contains`: both.
    Both,
    /// `startswith`: the end.
    End,
    /// `endswith`: the start.
    Start,
}

/// Applies `modifiers` (in order) to `values`, as pySigma does.
pub fn apply_modifiers(
    target: Target,
    modifiers: &[Modifier],
    values: &[RawValue],
) -> Result<Applied, RuleError> {
    // `all` and `neq` say how the item combines its values; `all` with a
    // single value is allowed (pySigma accepts it; `verify` warns).
    let all = modifiers.contains(&Modifier::All);
    let negated = modifiers.contains(&Modifier::Neq);
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
    if mods.contains(&Modifier::Exists) && target == Target::Keywords {
        return Err(RuleError::Modifier("`exists` needs a field".into()));
    }
    if mods.contains(&Modifier::FieldRef) && target == Target::Keywords {
        return Err(RuleError::Modifier("`fieldref` needs a field".into()));
    }
    // One pattern per value but for expanding modifiers.
    let mut out = Vec::with_capacity(values.len());
    let mut groups = Vec::with_capacity(values.len());
    for (group, raw) in values.iter().enumerate() {
        let mut vals = vec![Pattern::from_raw(raw)];
        for m in &mods {
            let mut next = Vec::with_capacity(vals.len());
            for v in vals {
                apply_one(*m, v, &mut next)?;
            }
            vals = next;
        }
        for v in vals {
            if let Pattern::Regex { regex, flags } = &v {
                // An invalid regex is an error of the rule, found now.
                compile_regex(regex, *flags)?;
            }
            out.push(v);
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

/// One modifier applied to one value; expanding modifiers push several.
fn apply_one(m: Modifier, v: Pattern, out: &mut Vec<Pattern>) -> Result<(), RuleError> {
    use Modifier as M;
    match m {
        M::Contains => out.push(position(m, v, Open::Both)?),
        M::StartsWith => out.push(position(m, v, Open::End)?),
        M::EndsWith => out.push(position(m, v, Open::Start)?),
        M::Exists => out.push(exists(m, v)?),
        M::Cased => out.push(cased(m, v)?),
        M::Windash => windash_step(m, v, out)?,
        M::Re => out.push(re(m, v)?),
        M::ReIgnoreCase | M::ReMultiline | M::ReDotAll => out.push(re_flag(m, v)?),
        M::Base64 | M::Base64Offset => base64_step(m, v, out)?,
        M::Utf16Le | M::Utf16Be | M::Utf16 => out.push(utf16(m, v)?),
        M::Lt | M::Lte | M::Gt | M::Gte => out.push(compare(m, v)?),
        M::Minute | M::Hour | M::Day | M::Week | M::Month | M::Year => {
            out.push(time_part(m, v)?)
        }
        M::Cidr => out.push(cidr(m, v)?),
        M::Expand => out.push(expand(m, v)?),
        M::FieldRef => out.push(field_ref(m, v)?),
        // Item-level modifiers, taken out of the chain by `apply_modifiers`.
        M::All | M::Neq => out.push(v),
    }
    Ok(())
}

fn type_err(m: Modifier, v: &Pattern) -> RuleError {
    RuleError::Modifier(format!(
        "`{}` cannot be applied to a {} value",
        m.name(),
        v.kind_name()
    ))
}

/// Numbers become strings when a string modifier is applied to them
/// (`EventID|startswith: 46`), as the YAML text would read.
fn as_string(mut v: Pattern) -> Pattern {
    if let Pattern::Str { scalar, .. } = &mut v {
        *scalar = Scalar::Str;
    }
    v
}

/// `contains`, `startswith`, `endswith`: wildcards (or `.*`) where the value
/// may continue; a field reference compares by prefix/suffix instead.
fn position(m: Modifier, v: Pattern, open: Open) -> Result<Pattern, RuleError> {
    let front = matches!(open, Open::Both | Open::Start);
    let back = matches!(open, Open::Both | Open::End);
    Ok(match as_string(v) {
        Pattern::Str {
            mut s,
            cased,
            written,
            scalar,
        } => {
            wrap(&mut s, front, back);
            Pattern::Str {
                s,
                cased,
                written,
                scalar,
            }
        }
        Pattern::Regex { mut regex, flags } => {
            wrap_regex(&mut regex, front, back);
            Pattern::Regex { regex, flags }
        }
        Pattern::FieldRef(r) => Pattern::FieldRef(FieldRef {
            starts: r.starts || back,
            ends: r.ends || front,
            ..r
        }),
        v => return Err(type_err(m, &v)),
    })
}

/// `exists: true/false` (a YAML boolean, or the words in any case).
fn exists(m: Modifier, v: Pattern) -> Result<Pattern, RuleError> {
    match v {
        Pattern::Str {
            scalar: Scalar::Bool(b),
            ..
        } => Ok(Pattern::Check(Check::Exists(b))),
        Pattern::Str {
            cased: false,
            scalar: Scalar::Str,
            ref written,
            ..
        } if written.eq_ignore_ascii_case("true") || written.eq_ignore_ascii_case("false") => Ok(
            Pattern::Check(Check::Exists(written.eq_ignore_ascii_case("true"))),
        ),
        v => Err(RuleError::Modifier(format!(
            "`exists` needs true or false, {}",
            type_err(m, &v)
        ))),
    }
}

/// The text of an uncased string value (after `as_string`), or the error
/// `m` gives for any other value.
fn plain_text(m: Modifier, v: Pattern) -> Result<(SigmaString, String), RuleError> {
    match as_string(v) {
        Pattern::Str {
            s,
            cased: false,
            written,
            ..
        } => Ok((s, written)),
        v => Err(type_err(m, &v)),
    }
}

fn text(s: SigmaString, written: String) -> Pattern {
    Pattern::Str {
        s,
        cased: false,
        written,
        scalar: Scalar::Str,
    }
}

fn cased(m: Modifier, v: Pattern) -> Result<Pattern, RuleError> {
    let (s, written) = plain_text(m, v)?;
    Ok(Pattern::Str {
        s,
        cased: true,
        written,
        scalar: Scalar::Str,
    })
}

fn windash_step(m: Modifier, v: Pattern, out: &mut Vec<Pattern>) -> Result<(), RuleError> {
    match as_string(v) {
        Pattern::Str {
            s,
            cased,
            written,
            scalar,
        } => {
            for e in windash(&s) {
                out.push(Pattern::Str {
                    s: e,
                    cased,
                    written: written.clone(),
                    scalar,
                });
            }
            Ok(())
        }
        v => Err(type_err(m, &v)),
    }
}

/// `re`: the regex is the value exactly as written (pySigma uses
/// `val.original`), so backslashes are regex escapes.
fn re(m: Modifier, v: Pattern) -> Result<Pattern, RuleError> {
    let (_, written) = plain_text(m, v)?;
    Ok(Pattern::Regex {
        regex: written,
        flags: ReFlags::default(),
    })
}

fn re_flag(m: Modifier, v: Pattern) -> Result<Pattern, RuleError> {
    match v {
        Pattern::Regex { regex, mut flags } => {
            match m {
                Modifier::ReIgnoreCase => flags.ignore_case = true,
                Modifier::ReMultiline => flags.multi_line = true,
                _ => flags.dot_all = true,
            }
            Ok(Pattern::Regex { regex, flags })
        }
        v => Err(RuleError::Modifier(format!(
            "`{}` only follows `re`; {}",
            m.name(),
            type_err(m, &v)
        ))),
    }
}

fn base64_step(m: Modifier, v: Pattern, out: &mut Vec<Pattern>) -> Result<(), RuleError> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let (s, written) = plain_text(m, v)?;
    let Some(plain) = s.as_plain() else {
        return Err(RuleError::Value(
            "base64 encoding of strings with wildcards or placeholders is not allowed".into(),
        ));
    };
    let data = base64_input(&plain);
    if m == Modifier::Base64 {
        out.push(text(SigmaString::literal(&b64.encode(&data)), written));
        return Ok(());
    }
    // pySigma SigmaBase64OffsetModifier: three shifted encodings with the
    // unstable leading/trailing characters cut off.
    let start = [0usize, 2, 3];
    let end_cut = [0usize, 3, 2];
    for i in 0..3 {
        let mut shifted = vec![b' '; i];
        shifted.extend_from_slice(&data);
        let enc = b64.encode(&shifted);
        let cut = end_cut[(data.len() + i) % 3];
        let (a, b) = (start[i], enc.len().saturating_sub(cut));
        let piece = if a < b { &enc[a..b] } else { "" };
        out.push(text(SigmaString::literal(piece), written.clone()));
    }
    Ok(())
}

fn utf16(m: Modifier, v: Pattern) -> Result<Pattern, RuleError> {
    let (s, written) = plain_text(m, v)?;
    let mut e = s.map_literals(|t| encode_utf16(t, m == Modifier::Utf16Be, m))?;
    if m == Modifier::Utf16 {
        let mut b = SigmaString::literal("\u{feff}");
        b.append(e);
        e = b;
    }
    Ok(text(e, written))
}

/// `lt`, `lte`, `gt`, `gte`: a YAML number, or a string that reads as one.
fn compare(m: Modifier, v: Pattern) -> Result<Pattern, RuleError> {
    let op = match m {
        Modifier::Lt => CmpOp::Lt,
        Modifier::Lte => CmpOp::Lte,
        Modifier::Gt => CmpOp::Gt,
        _ => CmpOp::Gte,
    };
    let value = match &v {
        Pattern::Str {
            scalar: Scalar::Num(n),
            ..
        } => Some(*n),
        Pattern::Str {
            cased: false,
            scalar: Scalar::Str,
            written,
            ..
        } => written.trim().parse::<f64>().ok(),
        _ => None,
    };
    match value {
        Some(value) => Ok(Pattern::Check(Check::Cmp { op, value })),
        None => Err(RuleError::Value(format!(
            "`{}` needs a number; {}",
            m.name(),
            type_err(m, &v)
        ))),
    }
}

/// `minute` .. `year`: a whole number in the part's range.
fn time_part(m: Modifier, v: Pattern) -> Result<Pattern, RuleError> {
    let part = match m {
        Modifier::Minute => TimePart::Minute,
        Modifier::Hour => TimePart::Hour,
        Modifier::Day => TimePart::Day,
        Modifier::Week => TimePart::Week,
        Modifier::Month => TimePart::Month,
        _ => TimePart::Year,
    };
    let n = match &v {
        Pattern::Str {
            scalar: Scalar::Num(n),
            ..
        } if n.fract() == 0.0 => *n as i64,
        Pattern::Str {
            cased: false,
            scalar: Scalar::Str,
            written,
            ..
        } => written.trim().parse::<i64>().map_err(|_| {
            RuleError::Value(format!(
                "`{}` needs a whole number, found `{written}`",
                m.name()
            ))
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
    Ok(Pattern::Check(Check::TimePart { part, value: n }))
}

/// `cidr`: a network, or a single address as its host network.
fn cidr(m: Modifier, v: Pattern) -> Result<Pattern, RuleError> {
    let (_, written) = plain_text(m, v)?;
    let net = written
        .trim()
        .parse::<IpNet>()
        .or_else(|_| written.trim().parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| RuleError::Cidr(written.clone()))?;
    Ok(Pattern::Check(Check::Cidr(net)))
}

/// `expand`: `%name%` placeholders, filled in by `compile`.
fn expand(m: Modifier, v: Pattern) -> Result<Pattern, RuleError> {
    let (s, written) = plain_text(m, v)?;
    Ok(text(s.insert_placeholders(), written))
}

fn field_ref(m: Modifier, v: Pattern) -> Result<Pattern, RuleError> {
    let (s, written) = plain_text(m, v)?;
    if s.has_special() {
        return Err(RuleError::Value(
            "field references must not contain wildcards".into(),
        ));
    }
    Ok(Pattern::FieldRef(FieldRef {
        field: written,
        starts: false,
        ends: false,
        cased: false,
    }))
}

fn wrap(s: &mut SigmaString, front: bool, back: bool) {
    let front = front && !s.starts_with_any();
    let back = back && !s.ends_with_any();
    // Exactly: the parts live until the rule is compiled.
    s.parts.reserve_exact(usize::from(front) + usize::from(back));
    if front {
        s.parts.insert(0, Part::AnyRun);
    }
    if back {
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
    for p in &s.parts {
        match p {
            Part::Lit(t) => {
                let chars: Vec<char> = t.chars().collect();
                let mut buf = String::new();
                for (i, &c) in chars.iter().enumerate() {
                    // Characters beyond this literal (wildcards) are non-word.
                    let prev = if i > 0 { Some(chars[i - 1]) } else { None };
                    let next = chars.get(i + 1).copied();
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
/// Compiled regexes are shared by pattern and flags ([`shared_regex`]):
/// SigmaHQ repeats regexes across rules (some five times; `\w{1,64}`-style
/// Unicode repetitions cost milliseconds each). `compile` gets the program
/// checked when the rule was read from here again.
pub fn compile_regex(r: &str, f: ReFlags) -> Result<regex::Regex, RuleError> {
    shared_regex(RegexKey::Sigma(r.to_string(), f), || {
        regex::RegexBuilder::new(r)
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
            })
    })
}

/// What a shared compiled regex was built from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RegexKey {
    /// A Sigma `re` value and its flags ([`compile_regex`]).
    Sigma(String, ReFlags),
    /// A wildcard value translated to a regex by the compiler (`?`
    /// wildcards; SigmaHQ `rules/` writes 98, 74 of them distinct, as
    /// `windash` variants repeat).
    Wildcard(String),
}

/// The regex for `key`, built by `build` the first time (errors included)
/// and shared from then on, by every thread and ruleset: a `Regex` clone
/// shares its compiled program.
pub fn shared_regex(
    key: RegexKey,
    build: impl FnOnce() -> Result<regex::Regex, RuleError>,
) -> Result<regex::Regex, RuleError> {
    type Cache = Mutex<HashMap<RegexKey, Result<regex::Regex, RuleError>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(found) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return found;
    }
    // Built outside the lock: other threads keep loading meanwhile.
    let built = build();
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
        apply_modifiers(Target::Field, &mods, &vals)
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
            Pattern::Check(Check::Cidr(_))
        ));
        assert!(matches!(
            apply(&["cidr"], &["10.0.0.0/33"]),
            Err(RuleError::Cidr(_))
        ));
        assert!(apply(&["gt"], &["abc"]).is_err());
        assert_eq!(
            apply(&["gte"], &["5"]).unwrap().patterns[0],
            Pattern::Check(Check::Cmp {
                op: CmpOp::Gte,
                value: 5.0
            })
        );
        assert!(apply(&["hour"], &["24"]).is_err());
        assert!(apply(&["exists"], &["maybe"]).is_err());
        assert!(apply(&["contains", "exists"], &["true"]).is_err());
        let f = apply(&["fieldref", "endswith"], &["User"]).unwrap();
        assert_eq!(
            f.patterns[0],
            Pattern::FieldRef(FieldRef {
                field: "User".into(),
                starts: false,
                ends: true,
                cased: false
            })
        );
        let n = apply(&["neq", "contains", "all"], &["a", "b"]).unwrap();
        assert!(n.negated && n.all);
    }

    /// A YAML number stays a number until a string modifier reads it as
    /// text; the errors say which one the modifier saw.
    #[test]
    fn yaml_numbers_keep_their_type_until_read_as_text() {
        let num = |mods: &[&str], v: RawValue| {
            let mods: Vec<Modifier> = mods.iter().map(|m| Modifier::parse(m).unwrap()).collect();
            apply_modifiers(Target::Field, &mods, &[v])
        };
        assert_eq!(
            num(&["gt"], RawValue::Int(4)).unwrap().patterns[0],
            Pattern::Check(Check::Cmp {
                op: CmpOp::Gt,
                value: 4.0
            })
        );
        let e = num(&["hour"], RawValue::Float(5.5, "5.5".into())).unwrap_err();
        assert!(e.to_string().contains("number value"), "{e}");
        let e = num(&["contains", "hour"], RawValue::Float(5.5, "5.5".into())).unwrap_err();
        assert!(e.to_string().contains("found `5.5`"), "{e}");
        let a = num(&["startswith"], RawValue::Int(46)).unwrap();
        assert_eq!(strs(&a), vec!["46*"]);
        assert!(matches!(
            num(&["exists"], RawValue::Bool(false)).unwrap().patterns[0],
            Pattern::Check(Check::Exists(false))
        ));
        let e = num(&["cased", "gt"], RawValue::Str("4".into())).unwrap_err();
        assert!(e.to_string().contains("cased string"), "{e}");
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
