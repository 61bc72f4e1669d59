//! YAML as PyYAML's `yaml.safe_load_all` reads it, into Python-like values.
//!
//! Timesketch and legacy sigmac load rules and the mapping configuration
//! with PyYAML (YAML 1.1 resolution), and their behaviour depends on the
//! Python type of every value: `yes`/`on` are booleans, `0755` is octal,
//! `1:30` is a sexagesimal integer, `2024-01-02` is a `datetime.date`,
//! `1e3` is a string (PyYAML floats need a dot), duplicate keys are
//! allowed (the last value wins, the first position is kept, as a Python
//! `dict` assignment does). This module owns that reading and the few
//! Python operations the converter needs on such values (`str()`, `repr()`,
//! `==`, type names). Resolution follows PyYAML 6 `yaml/resolver.py` and
//! `yaml/constructor.py` (`SafeConstructor`); the event parser is
//! saphyr-parser, so syntax error *messages* differ from PyYAML's.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, SpannedEventReceiver, Tag};

/// A Python value as PyYAML's safe loader builds it (plus `bytes`, which
/// sigmac's encoding modifiers produce).
#[derive(Debug, Clone)]
pub enum Py {
    None,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    /// `datetime.date`, as `str()` prints it.
    Date(String),
    /// `datetime.datetime`, as written.
    DateTime(String),
    List(Vec<Py>),
    Dict(Vec<(Py, Py)>),
}

/// A YAML syntax or construction error (PyYAML's class name and a message).
#[derive(Debug, Clone, PartialEq)]
pub struct PyYamlError {
    /// `YAMLError` (a syntax error), `ConstructorError`, `ValueError` (an
    /// impossible date) or `ComposerError`.
    pub class: &'static str,
    pub message: String,
}

impl Py {
    /// Python's `type(x).__name__` (qualified for the `datetime` types).
    pub fn type_name(&self) -> &'static str {
        match self {
            Py::None => "NoneType",
            Py::Bool(_) => "bool",
            Py::Int(_) => "int",
            Py::Float(_) => "float",
            Py::Str(_) => "str",
            Py::Bytes(_) => "bytes",
            Py::Date(_) => "datetime.date",
            Py::DateTime(_) => "datetime.datetime",
            Py::List(_) => "list",
            Py::Dict(_) => "dict",
        }
    }

    /// `str(type(x))`, e.g. `<class 'bool'>`.
    pub fn class_repr(&self) -> String {
        format!("<class '{}'>", self.type_name())
    }

    /// `dict.get(key)` with Python equality.
    pub fn get(&self, key: &str) -> Option<&Py> {
        match self {
            Py::Dict(entries) => entries
                .iter()
                .find(|(k, _)| matches!(k, Py::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Py::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Python `==` (numbers compare across `bool`/`int`/`float`).
    pub fn py_eq(&self, other: &Py) -> bool {
        match (self.as_number(), other.as_number()) {
            (Some(a), Some(b)) => return a == b,
            (Some(_), None) | (None, Some(_)) => return false,
            _ => {}
        }
        match (self, other) {
            (Py::None, Py::None) => true,
            (Py::Str(a), Py::Str(b)) => a == b,
            (Py::Bytes(a), Py::Bytes(b)) => a == b,
            (Py::Date(a), Py::Date(b)) | (Py::DateTime(a), Py::DateTime(b)) => a == b,
            (Py::List(a), Py::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.py_eq(y))
            }
            (Py::Dict(a), Py::Dict(b)) => {
                a.len() == b.len()
                    && a.iter().all(|(k, v)| {
                        b.iter().any(|(k2, v2)| k.py_eq(k2) && v.py_eq(v2))
                    })
            }
            _ => false,
        }
    }

    fn as_number(&self) -> Option<f64> {
        match self {
            Py::Bool(b) => Some(f64::from(u8::from(*b))),
            Py::Int(i) => Some(*i as f64),
            Py::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// Whether Python can hash the value (lists and dicts cannot).
    pub fn hashable(&self) -> bool {
        !matches!(self, Py::List(_) | Py::Dict(_))
    }

    /// Python's `str(x)`.
    pub fn py_str(&self) -> String {
        match self {
            Py::Str(s) => s.clone(),
            Py::Date(s) | Py::DateTime(s) => s.clone(),
            _ => self.py_repr(),
        }
    }

    /// Python's `repr(x)` (enough for messages and set membership texts).
    pub fn py_repr(&self) -> String {
        match self {
            Py::None => "None".into(),
            Py::Bool(true) => "True".into(),
            Py::Bool(false) => "False".into(),
            Py::Int(i) => i.to_string(),
            Py::Float(f) => float_repr(*f),
            Py::Str(s) => str_repr(s),
            Py::Bytes(b) => bytes_repr(b),
            Py::Date(s) => {
                let p: Vec<&str> = s.split('-').collect();
                let n = |x: &str| x.trim_start_matches('0').to_string();
                let n = |x: &str| if n(x).is_empty() { "0".to_string() } else { n(x) };
                format!("datetime.date({}, {}, {})", n(p[0]), n(p[1]), n(p[2]))
            }
            Py::DateTime(s) => format!("datetime.datetime({s})"),
            Py::List(items) => {
                let inner: Vec<String> = items.iter().map(Py::py_repr).collect();
                format!("[{}]", inner.join(", "))
            }
            Py::Dict(entries) => {
                let inner: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("{}: {}", k.py_repr(), v.py_repr()))
                    .collect();
                format!("{{{}}}", inner.join(", "))
            }
        }
    }
}

/// Python's `repr(float)`: shortest round-trip digits, exponent outside
/// `1e-4 <= |x| < 1e16`.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    let sci = format!("{f:e}"); // e.g. "1.5e3", "-2e-7"
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let sign = if neg { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        if point <= 0 {
            format!("{sign}0.{}{digits}", "0".repeat((-point) as usize))
        } else if point as usize >= digits.len() {
            format!("{sign}{digits}{}.0", "0".repeat(point as usize - digits.len()))
        } else {
            let (a, b) = digits.split_at(point as usize);
            format!("{sign}{a}.{b}")
        }
    } else {
        let (a, b) = digits.split_at(1);
        let m = if b.is_empty() { a.to_string() } else { format!("{a}.{b}") };
        format!("{sign}{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

/// Python's `repr(str)`.
pub fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

fn bytes_repr(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') { '"' } else { '\'' };
    let mut out = String::from("b");
    out.push(quote);
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            c if c as char == quote => {
                out.push('\\');
                out.push(c as char);
            }
            0x20..=0x7e => out.push(c as char),
            c => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push(quote);
    out
}

/// Every document of a YAML stream, as `yaml.safe_load_all` yields them.
pub fn safe_load_all(text: &str) -> Result<Vec<Py>, PyYamlError> {
    let mut b = Builder::default();
    Parser::new_from_str(text).load(&mut b, true).map_err(|e| PyYamlError {
        // PyYAML would raise a ScannerError or ParserError with its own
        // text; which one is not reproduced.
        class: "YAMLError",
        message: format!(
            "{} at line {}, column {}",
            e.info(),
            e.marker().line(),
            e.marker().col() + 1
        ),
    })?;
    match b.error {
        Some(e) => Err(e),
        None => Ok(b.docs),
    }
}

/// `yaml.safe_load`: the single document (None for an empty stream).
pub fn safe_load(text: &str) -> Result<Py, PyYamlError> {
    let mut docs = safe_load_all(text)?;
    match docs.len() {
        0 => Ok(Py::None),
        1 => Ok(docs.remove(0)),
        _ => Err(PyYamlError {
            class: "ComposerError",
            message: "expected a single document in the stream but found another document"
                .into(),
        }),
    }
}

enum Frame {
    Seq(usize, Vec<Py>),
    Map(usize, Vec<(Py, Py)>, Option<Py>),
}

#[derive(Default)]
struct Builder {
    docs: Vec<Py>,
    root: Option<Py>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Py>,
    error: Option<PyYamlError>,
}

impl<'input> SpannedEventReceiver<'input> for Builder {
    fn on_event(&mut self, ev: Event<'input>, _span: Span) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::DocumentEnd => {
                let root = self.root.take().unwrap_or(Py::None);
                self.docs.push(root);
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq(anchor, Vec::new())),
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map(anchor, Vec::new(), None))
            }
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Seq(anchor, items)) => self.insert(Py::List(items), anchor),
                Some(Frame::Map(anchor, entries, _)) => self.insert(Py::Dict(entries), anchor),
                None => {}
            },
            Event::Scalar(v, style, anchor, tag) => match resolve(&v, style, tag.as_ref()) {
                Ok(value) => self.insert(value, anchor),
                Err(e) => self.error = Some(e),
            },
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().unwrap_or(Py::None);
                self.insert(node, 0);
            }
            _ => {}
        }
    }
}

impl Builder {
    fn insert(&mut self, value: Py, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, value.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq(_, items)) => items.push(value),
            Some(Frame::Map(_, entries, key)) => match key.take() {
                None => *key = Some(value),
                Some(k) => {
                    if !k.hashable() {
                        self.error = Some(PyYamlError {
                            class: "ConstructorError",
                            message: "while constructing a mapping found unhashable key".into(),
                        });
                        return;
                    }
                    // A Python dict: a repeated key keeps its first position.
                    if let Some(slot) = entries.iter_mut().find(|(e, _)| e.py_eq(&k)) {
                        slot.1 = value;
                    } else {
                        entries.push((k, value));
                    }
                }
            },
        }
    }
}

/// PyYAML's implicit resolution of a plain scalar, or an explicit tag.
fn resolve(text: &str, style: ScalarStyle, tag: Option<&Cow<'_, Tag>>) -> Result<Py, PyYamlError> {
    if let Some(tag) = tag {
        let core = tag.handle == "!!" || tag.handle == "tag:yaml.org,2002:";
        let suffix = tag.suffix.trim_start_matches("tag:yaml.org,2002:");
        if core || tag.handle.is_empty() {
            return match suffix {
                "str" => Ok(Py::Str(text.to_string())),
                "int" => int_value(text).ok_or_else(|| construct_err(text, "int")),
                "float" => float_value(text).ok_or_else(|| construct_err(text, "float")),
                "bool" => bool_value(text).ok_or_else(|| construct_err(text, "bool")),
                "null" => Ok(Py::None),
                other => Err(PyYamlError {
                    class: "ConstructorError",
                    message: format!(
                        "could not determine a constructor for the tag 'tag:yaml.org,2002:{other}'"
                    ),
                }),
            };
        }
        return Err(PyYamlError {
            class: "ConstructorError",
            message: format!(
                "could not determine a constructor for the tag '{}{}'",
                tag.handle, tag.suffix
            ),
        });
    }
    if style != ScalarStyle::Plain {
        return Ok(Py::Str(text.to_string()));
    }
    implicit(text)
}

fn construct_err(text: &str, what: &str) -> PyYamlError {
    PyYamlError {
        class: "ConstructorError",
        message: format!("invalid literal for {what}: {text:?}"),
    }
}

fn implicit(text: &str) -> Result<Py, PyYamlError> {
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Ok(Py::None);
    }
    if let Some(b) = bool_value(text) {
        return Ok(b);
    }
    let first = text.chars().next().unwrap_or(' ');
    if let Some(f) = ("-+0123456789.".contains(first) && is_float(text))
        .then(|| float_value(text))
        .flatten()
    {
        return Ok(f);
    }
    if let Some(i) = ("-+0123456789".contains(first) && is_int(text))
        .then(|| int_value(text))
        .flatten()
    {
        return Ok(i);
    }
    if let Some(ts) = first.is_ascii_digit().then(|| timestamp(text)).flatten() {
        check_date(&ts)?;
        return Ok(ts);
    }
    if text == "=" {
        return Err(PyYamlError {
            class: "ConstructorError",
            message: "could not determine a constructor for the tag 'tag:yaml.org,2002:value'"
                .into(),
        });
    }
    Ok(Py::Str(text.to_string()))
}

fn bool_value(text: &str) -> Option<Py> {
    match text {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Some(Py::Bool(true)),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Some(Py::Bool(false))
        }
        _ => None,
    }
}

fn strip_sign(t: &str) -> (bool, &str) {
    match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    }
}

fn all(s: &str, f: impl Fn(u8) -> bool) -> bool {
    s.bytes().all(f)
}

/// `[-+]?0b[0-1_]+ | [-+]?0[0-7_]+ | [-+]?(0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+ |
/// [-+]?[1-9][0-9_]*(:[0-5]?[0-9])+`
fn is_int(t: &str) -> bool {
    let (_, b) = strip_sign(t);
    if let Some(r) = b.strip_prefix("0b") {
        return !r.is_empty() && all(r, |c| c == b'0' || c == b'1' || c == b'_');
    }
    if let Some(r) = b.strip_prefix("0x") {
        return !r.is_empty() && all(r, |c| c.is_ascii_hexdigit() || c == b'_');
    }
    if b == "0" {
        return true;
    }
    if let Some(r) = b.strip_prefix('0') {
        return !r.is_empty() && all(r, |c| (b'0'..=b'7').contains(&c) || c == b'_');
    }
    let mut parts = b.split(':');
    let head = parts.next().unwrap_or("");
    if head.is_empty() || !head.as_bytes()[0].is_ascii_digit() || head.starts_with('0') {
        return false;
    }
    if !all(head, |c| c.is_ascii_digit() || c == b'_') {
        return false;
    }
    parts.all(sexagesimal_part)
}

fn sexagesimal_part(p: &str) -> bool {
    let b = p.as_bytes();
    match b.len() {
        1 => b[0].is_ascii_digit(),
        2 => (b'0'..=b'5').contains(&b[0]) && b[1].is_ascii_digit(),
        _ => false,
    }
}

fn int_value(t: &str) -> Option<Py> {
    let v = t.replace('_', "");
    let (neg, b) = strip_sign(&v);
    let sign: i128 = if neg { -1 } else { 1 };
    let n = if b == "0" {
        0
    } else if let Some(r) = b.strip_prefix("0b") {
        i128::from_str_radix(r, 2).ok()?
    } else if let Some(r) = b.strip_prefix("0x") {
        i128::from_str_radix(r, 16).ok()?
    } else if b.starts_with('0') {
        i128::from_str_radix(b, 8).ok()?
    } else if b.contains(':') {
        let mut value: i128 = 0;
        for part in b.split(':') {
            value = value.checked_mul(60)?.checked_add(part.parse::<i128>().ok()?)?;
        }
        value
    } else {
        b.parse::<i128>().ok()?
    };
    Some(Py::Int(sign * n))
}

/// PyYAML's float pattern (a dot is required, unlike YAML 1.2).
fn is_float(t: &str) -> bool {
    let (_, b) = strip_sign(t);
    let signed = b.len() != t.len();
    if matches!(b, ".inf" | ".Inf" | ".INF") {
        return true;
    }
    if !signed && matches!(b, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let (body, exp) = match b.find(['e', 'E']) {
        Some(i) => (&b[..i], Some(&b[i + 1..])),
        None => (b, None),
    };
    if let Some(e) = exp {
        let eb = e.as_bytes();
        if eb.len() < 2 || !(eb[0] == b'-' || eb[0] == b'+') || !all(&e[1..], |c| c.is_ascii_digit()) {
            return false;
        }
    }
    // `.[0-9][0-9_]*` (unsigned only)
    if let Some(r) = body.strip_prefix('.') {
        return !signed
            && !r.is_empty()
            && r.as_bytes()[0].is_ascii_digit()
            && all(r, |c| c.is_ascii_digit() || c == b'_');
    }
    let Some((int, frac)) = body.split_once('.') else {
        return false;
    };
    if !all(frac, |c| c.is_ascii_digit() || c == b'_') {
        return false;
    }
    if int.contains(':') {
        // sexagesimal float: no exponent
        if exp.is_some() {
            return false;
        }
        let mut parts = int.split(':');
        let head = parts.next().unwrap_or("");
        return !head.is_empty()
            && head.as_bytes()[0].is_ascii_digit()
            && all(head, |c| c.is_ascii_digit() || c == b'_')
            && parts.all(sexagesimal_part);
    }
    !int.is_empty() && int.as_bytes()[0].is_ascii_digit() && all(int, |c| c.is_ascii_digit() || c == b'_')
}

fn float_value(t: &str) -> Option<Py> {
    let v = t.replace('_', "").to_lowercase();
    let (neg, b) = strip_sign(&v);
    let sign = if neg { -1.0 } else { 1.0 };
    let f = if b == ".inf" {
        f64::INFINITY
    } else if b == ".nan" {
        f64::NAN
    } else if b.contains(':') {
        let mut value = 0.0;
        for part in b.split(':') {
            value = value * 60.0 + part.parse::<f64>().ok()?;
        }
        value
    } else {
        let b = if b.ends_with('.') { format!("{b}0") } else { b.to_string() };
        let b = if b.starts_with('.') { format!("0{b}") } else { b };
        b.replace(".e", ".0e").parse::<f64>().ok()?
    };
    Some(Py::Float(sign * f))
}

/// `datetime.date(y, m, d)` raises `ValueError` for impossible dates.
fn check_date(v: &Py) -> Result<(), PyYamlError> {
    let Py::Date(s) = v else { return Ok(()) };
    let n: Vec<u32> = s.split('-').filter_map(|p| p.parse().ok()).collect();
    let [y, m, d] = n[..] else { return Ok(()) };
    let err = |m: &str| PyYamlError { class: "ValueError", message: m.to_string() };
    if y == 0 {
        return Err(err(&format!("year {y} is out of range")));
    }
    if !(1..=12).contains(&m) {
        return Err(err("month must be in 1..12"));
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m as usize - 1];
    if d == 0 || d > days {
        return Err(err("day is out of range for month"));
    }
    Ok(())
}

fn timestamp(t: &str) -> Option<Py> {
    let b = t.as_bytes();
    let d = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    if b.len() == 10 && (0..4).all(d) && b[4] == b'-' && d(5) && d(6) && b[7] == b'-' && d(8) && d(9) {
        let (y, m, dd) = (&t[0..4], &t[5..7], &t[8..10]);
        return Some(Py::Date(format!("{y}-{m}-{dd}")));
    }
    // Date and time: `YYYY-M-D(T| +)H:MM:SS(.f)?( *(Z|±H(:MM)?))?`
    let re = regex::Regex::new(
        r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?$",
    )
    .ok()?;
    re.is_match(t).then(|| Py::DateTime(t.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Py {
        safe_load(&format!("v: {text}\n")).unwrap().get("v").unwrap().clone()
    }

    #[test]
    fn yaml_1_1_scalars_as_pyyaml_resolves_them() {
        assert!(matches!(one("yes"), Py::Bool(true)));
        assert!(matches!(one("Off"), Py::Bool(false)));
        assert!(matches!(one("y"), Py::Str(_)));
        assert!(matches!(one("0755"), Py::Int(493)));
        assert!(matches!(one("08"), Py::Str(_)));
        assert!(matches!(one("1:30"), Py::Int(90)));
        assert!(matches!(one("1_000"), Py::Int(1000)));
        assert!(matches!(one("0x1F"), Py::Int(31)));
        assert!(matches!(one("1e3"), Py::Str(_)));
        assert!(matches!(one("1.0e+3"), Py::Float(f) if f == 1000.0));
        assert!(matches!(one("2024-01-02"), Py::Date(_)));
        assert!(matches!(one("'yes'"), Py::Str(_)));
        assert!(matches!(one("~"), Py::None));
        assert!(matches!(one(""), Py::None));
        assert!(safe_load("v: =\n").is_err());
        assert_eq!(safe_load("v: 2023-02-30\n").unwrap_err().message, "day is out of range for month");
        assert!(matches!(one("2024-02-29"), Py::Date(_)));
    }

    #[test]
    fn duplicate_keys_keep_first_position_and_last_value() {
        let d = safe_load("a: 1\nb: 2\na: 3\n").unwrap();
        let Py::Dict(e) = d else { panic!() };
        assert_eq!(e.len(), 2);
        assert!(matches!(e[0], (Py::Str(ref k), Py::Int(3)) if k == "a"));
    }

    #[test]
    fn python_reprs() {
        assert_eq!(float_repr(1.5), "1.5");
        assert_eq!(float_repr(1e16), "1e+16");
        assert_eq!(float_repr(100.0), "100.0");
        assert_eq!(float_repr(0.0001), "0.0001");
        assert_eq!(float_repr(0.00001), "1e-05");
        assert_eq!(str_repr("it's"), "\"it's\"");
        assert_eq!(Py::List(vec![Py::Str("a".into()), Py::Int(1)]).py_str(), "['a', 1]");
    }
}
