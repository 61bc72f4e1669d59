//! Legacy sigmac 0.19.1 (`sigmatools==0.19.1`, the version Timesketch pins)
//! as far as Timesketch uses it: one `SigmaConfiguration`, the rule parser
//! and condition optimizer, and `ElasticsearchQuerystringBackend` (`es-qs`).
//!
//! This module owns reproducing that converter's output *byte for byte*,
//! quirks included, so it is a port of Python code rather than a reading of
//! the Sigma specification. Each function names the sigmac function it
//! follows (files under `tools/sigma/` of SigmaHQ/legacy-sigmatools, as in
//! the `sigmatools` 0.19.1 wheel):
//!
//! * `configuration.py` `SigmaConfiguration`, `SigmaLogsourceConfiguration`
//!   and `config/mapping.py` (`SimpleFieldMapping`, `MultiFieldMapping`,
//!   `ConditionalFieldMapping`, whose conditions are tested against the
//!   rule's *detection* values);
//! * `parser/collection.py`, `parser/rule.py` (`SigmaParser`),
//!   `parser/condition.py` (tokenizer, the precedence-ordered reducer, the
//!   logsource conditions ANDed into every parenthesised subexpression, and
//!   `SigmaConditionOptimizer`), `parser/modifiers/*` (the only modifiers
//!   0.19.1 knows: `contains`, `startswith`, `endswith`, `all`, `base64`,
//!   `base64offset`, `utf16`, `utf16le`, `wide`, `utf16be`, `re`);
//! * `backends/base.py` `SingleTextQueryBackend`, `backends/mixins.py`
//!   `QuoteCharMixin`, `backends/elasticsearch.py` `DeepFieldMappingMixin`,
//!   `ElasticsearchWildcardHandlingMixin` (default options) and
//!   `ElasticsearchQuerystringBackend`, including the backend's mutable
//!   `matchKeyword` state that decides whether a value is quoted.
//!
//! Python objects are modelled closely: condition nodes compare by identity
//! (an id), map items `(field, value)` and plain values by value, and every
//! failure is a [`PyError`] with the exception class and message Python
//! would raise.

use std::fmt;

use base64::Engine as _;

use super::pyyaml::Py;

/// A Python exception: its class name and `str(exception)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyError {
    pub class: String,
    pub message: String,
}

impl PyError {
    pub fn new(class: &str, message: impl Into<String>) -> Self {
        PyError {
            class: class.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for PyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.class, self.message)
    }
}

impl std::error::Error for PyError {}

type R<T> = Result<T, PyError>;

fn parse_err(msg: impl Into<String>) -> PyError {
    PyError::new("SigmaParseError", msg)
}
fn type_err(msg: impl Into<String>) -> PyError {
    PyError::new("TypeError", msg)
}
fn config_err(msg: impl Into<String>) -> PyError {
    PyError::new("SigmaConfigParseError", msg)
}

/// `x[...]` on a value that is not a mapping: Python 3.11's TypeError text.
fn not_subscriptable(v: &Py) -> PyError {
    match v {
        Py::Str(_) => type_err("string indices must be integers, not 'str'"),
        Py::List(_) => type_err("list indices must be integers or slices, not str"),
        Py::Bytes(_) => type_err("byte indices must be integers or slices, not str"),
        other => type_err(format!("'{}' object is not subscriptable", other.type_name())),
    }
}

fn no_attribute(v: &Py, attr: &str) -> PyError {
    PyError::new(
        "AttributeError",
        format!("'{}' object has no attribute '{attr}'", v.type_name()),
    )
}

// ---------------------------------------------------------------------------
// Configuration (configuration.py, config/mapping.py)
// ---------------------------------------------------------------------------

/// One field mapping of the configuration (`config/mapping.py` `FieldMapping`).
#[derive(Debug, Clone)]
pub enum FieldMapping {
    Simple(String),
    Multi(Vec<String>),
    Conditional(ConditionalMapping),
    /// `FieldMapping()` returned `None` (a target that is neither string,
    /// list nor map); using it raises `AttributeError`.
    Invalid,
}

/// `value -> targets` of one condition field.
pub type ByValue = Vec<(String, Vec<String>)>;

/// `ConditionalFieldMapping`: `field=value: targets` and `default`.
#[derive(Debug, Clone)]
pub struct ConditionalMapping {
    /// condition field -> (condition value -> targets), in file order.
    pub conditions: Vec<(String, ByValue)>,
    pub default: Option<Vec<String>>,
}

impl ConditionalMapping {
    fn condition(&self, field: &str) -> Option<&ByValue> {
        self.conditions.iter().find(|(f, _)| f == field).map(|(_, v)| v)
    }
}

/// One `logsources` entry (`SigmaLogsourceConfiguration` from a map).
#[derive(Debug, Clone)]
pub struct LogsourceConf {
    pub category: Option<String>,
    pub product: Option<String>,
    pub service: Option<String>,
    pub rewrite: Option<[Option<String>; 3]>,
    pub conditions: Vec<(String, Py)>,
}

impl LogsourceConf {
    /// `SigmaLogsourceConfiguration.matches`.
    fn matches(&self, search: [&Option<Py>; 3]) -> bool {
        let mut searched = 0;
        for (s, own) in search.iter().zip([&self.category, &self.product, &self.service]) {
            if s.is_none() && own.is_some() {
                return false;
            }
            if let Some(own) = own {
                searched += 1;
                match s {
                    Some(Py::Str(v)) if v == own => {}
                    _ => return false,
                }
            }
        }
        searched > 0
    }
}

/// A legacy sigmac configuration as one `SigmaConfiguration` reads it (with
/// its logsources loaded, as `set_backend` does).
#[derive(Debug, Clone, Default)]
pub struct LegacyConfig {
    pub fieldmappings: Vec<(String, FieldMapping)>,
    pub logsources: Vec<LogsourceConf>,
}

impl LegacyConfig {
    /// `SigmaConfiguration(configyaml)` followed by `set_backend(backend)`.
    pub fn from_py(config: &Py) -> R<LegacyConfig> {
        let mut out = LegacyConfig::default();
        match config {
            Py::Dict(_) => match config.get("fieldmappings") {
                None => {}
                Some(Py::Dict(entries)) => {
                    for (k, v) in entries {
                        let Py::Str(source) = k else { continue };
                        out.fieldmappings.push((source.clone(), field_mapping(source, v)?));
                    }
                }
                Some(other) => return Err(no_attribute(other, "items")),
            },
            _ => return Err(config_err("Configuration has wrong type, should be map")),
        }
        if config.get("overrides").is_some() {
            // applyOverrides rewrites generated text with the config's
            // literals/regexes; Timesketch's file has none and this port does
            // not reproduce it, so refuse rather than differ silently.
            return Err(PyError::new(
                "NotReproduced",
                "the configuration has `overrides`, which sigma-match's port of sigmac does not apply",
            ));
        }
        match config.get("logsources") {
            None => {}
            Some(Py::Dict(entries)) => {
                for (_, ls) in entries {
                    out.logsources.push(logsource_conf(ls)?);
                }
            }
            Some(_) => return Err(config_err("Logsources must be a map")),
        }
        Ok(out)
    }

    /// `SigmaConfiguration.get_fieldmapping`.
    fn get_fieldmapping(&self, field: &str) -> FieldMapping {
        self.fieldmappings
            .iter()
            .find(|(s, _)| s == field)
            .map(|(_, m)| m.clone())
            .unwrap_or_else(|| FieldMapping::Simple(field.to_string()))
    }

    fn configured(&self, field: &str) -> Option<&FieldMapping> {
        self.fieldmappings.iter().find(|(s, _)| s == field).map(|(_, m)| m)
    }
}

fn field_mapping(source: &str, target: &Py) -> R<FieldMapping> {
    Ok(match target {
        Py::None => FieldMapping::Simple(source.to_string()),
        Py::Str(t) => FieldMapping::Simple(t.clone()),
        Py::List(items) => FieldMapping::Multi(items.iter().map(Py::py_str).collect()),
        Py::Dict(entries) => {
            let mut m = ConditionalMapping {
                conditions: Vec::new(),
                default: None,
            };
            for (cond, target) in entries {
                let Py::Str(cond) = cond else {
                    return Err(no_attribute(cond, "split"));
                };
                let parts: Vec<&str> = cond.split('=').collect();
                if parts.len() == 2 {
                    let targets: Vec<String> = match target {
                        Py::Str(t) => vec![t.clone()],
                        Py::List(l) => l.iter().map(Py::py_str).collect(),
                        _ => Vec::new(),
                    };
                    let (f, v) = (parts[0].to_string(), parts[1].to_string());
                    let slot = match m.conditions.iter_mut().position(|(x, _)| *x == f) {
                        Some(i) => &mut m.conditions[i].1,
                        None => {
                            m.conditions.push((f, Vec::new()));
                            &mut m.conditions.last_mut().unwrap().1
                        }
                    };
                    match slot.iter_mut().find(|(x, _)| *x == v) {
                        Some((_, t)) => t.extend(targets),
                        None => slot.push((v, targets)),
                    }
                } else if cond == "default" {
                    m.default = Some(match target {
                        Py::Str(t) => vec![t.clone()],
                        Py::List(l) => l.iter().map(Py::py_str).collect(),
                        _ => return Err(config_err("Default mapping must be single value or list")),
                    });
                } else {
                    return Err(config_err("Expected condition or default"));
                }
            }
            FieldMapping::Conditional(m)
        }
        _ => FieldMapping::Invalid,
    })
}

fn logsource_conf(ls: &Py) -> R<LogsourceConf> {
    if !matches!(ls, Py::Dict(_)) {
        return Err(config_err("Logsource definitions must be maps"));
    }
    let key = |k: &str| -> R<Option<String>> {
        match ls.get(k) {
            None => Ok(None),
            Some(Py::Str(s)) => Ok(Some(s.clone())),
            Some(_) => Err(config_err(
                "Logsource category, product or service must be a string",
            )),
        }
    };
    let (category, product, service) = (key("category")?, key("product")?, key("service")?);
    if category.is_none() && product.is_none() && service.is_none() {
        return Err(config_err("Log source definition will not match"));
    }
    let rewrite = match ls.get("rewrite") {
        None => None,
        Some(Py::Dict(entries)) => {
            let mut r: [Option<String>; 3] = [None, None, None];
            for (k, v) in entries {
                let idx = match k.as_str() {
                    Some("category") => 0,
                    Some("product") => 1,
                    Some("service") => 2,
                    _ => return Err(config_err("Rewrite rule in log source configuration may only contain the keys 'category', 'product' and 'service'")),
                };
                match v {
                    Py::Str(s) => r[idx] = Some(s.clone()),
                    _ => return Err(config_err("Rewrite rule values may only contain strings")),
                }
            }
            if entries.is_empty() {
                return Err(config_err("Rewrite rule values may only contain strings"));
            }
            Some(r)
        }
        Some(_) => return Err(config_err("Rewrite rule must be a map")),
    };
    match ls.get("index") {
        None | Some(Py::Str(_)) => {}
        Some(Py::List(l)) if l.iter().all(|i| matches!(i, Py::Str(_))) => {}
        Some(Py::List(_)) => return Err(config_err("Logsource index patterns must be strings")),
        Some(_) => return Err(config_err("Logsource index must be string or list of strings")),
    }
    let conditions = match ls.get("conditions") {
        None => Vec::new(),
        Some(Py::Dict(entries)) => entries
            .iter()
            .map(|(k, v)| (k.py_str(), v.clone()))
            .collect(),
        Some(_) => return Err(config_err("Logsource conditions must be a map")),
    };
    Ok(LogsourceConf {
        category,
        product,
        service,
        rewrite,
        conditions,
    })
}

// ---------------------------------------------------------------------------
// Parse tree (parser/condition.py)
// ---------------------------------------------------------------------------

const TOKEN_AND: u8 = 1;
const TOKEN_OR: u8 = 2;
const TOKEN_NOT: u8 = 3;
const TOKEN_ID: u8 = 4;
const TOKEN_LPAR: u8 = 5;
const TOKEN_RPAR: u8 = 6;
const TOKEN_PIPE: u8 = 7;
const TOKEN_ONE: u8 = 8;
const TOKEN_ALL: u8 = 9;
const TOKEN_AGG: u8 = 10;
const TOKEN_EQ: u8 = 11;
const TOKEN_LT: u8 = 12;
const TOKEN_LTE: u8 = 13;
const TOKEN_GT: u8 = 14;
const TOKEN_GTE: u8 = 15;
const TOKEN_BY: u8 = 16;
const TOKEN_NEAR: u8 = 17;

const TOKEN_NAMES: [&str; 18] = [
    "INVALID", "AND", "OR", "NOT", "ID", "LPAR", "RPAR", "PIPE", "ONE", "ALL", "AGG", "EQ", "LT",
    "LTE", "GT", "GTE", "BY", "NEAR",
];

/// `SigmaConditionToken`.
#[derive(Debug, Clone)]
pub struct Token {
    ty: u8,
    matched: String,
    pos: usize,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[ Token: {}: '{}' ]", TOKEN_NAMES[self.ty as usize], self.matched)
    }
}

/// `ConditionAND` / `ConditionOR` / `ConditionNOT` contents.
#[derive(Debug, Clone)]
struct Cond {
    id: u64,
    items: Vec<Item>,
    /// The parser builds `ConditionAND(sigma, op, a, b)` with a tuple of
    /// items; the optimizer turns them into lists (except under NOT).
    tuple_items: bool,
}

/// A map item's value (`SigmaRegularExpressionModifier` is an object).
#[derive(Debug, Clone)]
enum Val {
    Py(Py),
    Re(u64, Py),
}

/// A node of sigmac's parse tree, or anything else found in an item list.
#[derive(Debug, Clone)]
enum Item {
    And(Cond),
    Or(Cond),
    Not(Cond),
    Null(u64, String),
    NotNull(u64, String),
    Sub(Box<Item>),
    /// A `(field, value)` tuple.
    Tuple(String, Val),
    /// A plain value (keyword search).
    Plain(Py),
    /// A condition token left unreduced.
    Token(#[allow(dead_code)] Token),
    /// Python `None` in an item list.
    Nothing,
}

impl Item {
    fn python_type(&self) -> String {
        match self {
            Item::And(_) => "<class 'sigma.parser.condition.ConditionAND'>".into(),
            Item::Or(_) => "<class 'sigma.parser.condition.ConditionOR'>".into(),
            Item::Not(_) => "<class 'sigma.parser.condition.ConditionNOT'>".into(),
            Item::Null(..) => "<class 'sigma.parser.condition.ConditionNULLValue'>".into(),
            Item::NotNull(..) => "<class 'sigma.parser.condition.ConditionNotNULLValue'>".into(),
            Item::Sub(_) => "<class 'sigma.parser.condition.NodeSubexpression'>".into(),
            Item::Tuple(..) => "<class 'tuple'>".into(),
            Item::Plain(p) => p.class_repr(),
            Item::Token(_) => "<class 'sigma.parser.condition.SigmaConditionToken'>".into(),
            Item::Nothing => "<class 'NoneType'>".into(),
        }
    }

    /// Same Python type (for the optimizer's `type(child) == type(node)`).
    fn same_kind(&self, other: &Item) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }

    fn cond(&self) -> Option<&Cond> {
        match self {
            Item::And(c) | Item::Or(c) | Item::Not(c) => Some(c),
            _ => None,
        }
    }

    fn cond_mut(&mut self) -> Option<&mut Cond> {
        match self {
            Item::And(c) | Item::Or(c) | Item::Not(c) => Some(c),
            _ => None,
        }
    }

    fn is_and_or(&self) -> bool {
        matches!(self, Item::And(_) | Item::Or(_))
    }
}

/// Python `==` between items.
fn item_eq(a: &Item, b: &Item) -> bool {
    match (a, b) {
        (Item::And(x), Item::And(y)) | (Item::Or(x), Item::Or(y)) | (Item::Not(x), Item::Not(y)) => {
            x.id == y.id
        }
        (Item::Null(x, _), Item::Null(y, _)) | (Item::NotNull(x, _), Item::NotNull(y, _)) => x == y,
        (Item::Tuple(f1, v1), Item::Tuple(f2, v2)) => f1 == f2 && val_eq(v1, v2),
        (Item::Plain(p), Item::Plain(q)) => p.py_eq(q),
        (Item::Nothing, Item::Nothing) => true,
        _ => false,
    }
}

fn val_eq(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Py(p), Val::Py(q)) => p.py_eq(q),
        (Val::Re(x, _), Val::Re(y, _)) => x == y,
        _ => false,
    }
}

/// `hash(x)` would raise for this item (a tuple holding a list of lists).
fn unhashable(item: &Item) -> Option<&'static str> {
    match item {
        Item::Tuple(_, Val::Py(Py::Dict(_))) => Some("dict"),
        Item::Tuple(_, Val::Py(Py::List(l))) => l.iter().find_map(|v| match v {
            Py::List(_) => Some("list"),
            Py::Dict(_) => Some("dict"),
            _ => None,
        }),
        Item::Plain(Py::List(_)) => Some("list"),
        Item::Plain(Py::Dict(_)) => Some("dict"),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Tokenizer (SigmaConditionTokenizer)
// ---------------------------------------------------------------------------

/// Python's `str.isspace` (Rust's whitespace plus the ASCII separators).
pub fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn py_isword(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Case-insensitive ASCII prefix match; returns the length in chars.
fn ci_prefix(chars: &[char], lit: &str) -> Option<usize> {
    let l: Vec<char> = lit.chars().collect();
    (chars.len() >= l.len()
        && chars.iter().zip(&l).all(|(a, b)| a.to_ascii_lowercase() == *b))
    .then_some(l.len())
}

fn tokenize(condition: &str) -> R<Vec<Token>> {
    let chars: Vec<char> = condition.chars().collect();
    let mut i = 0;
    let mut pos = 1;
    let mut out = Vec::new();
    while i < chars.len() {
        let rest = &chars[i..];
        let lit = |s: &str| (rest.len() >= s.len() && rest.iter().zip(s.chars()).all(|(a, b)| *a == b)).then_some(s.len());
        let (ty, len) = if let Some(n) = ci_prefix(rest, "1 of") {
            (Some(TOKEN_ONE), n)
        } else if let Some(n) = ci_prefix(rest, "all of") {
            (Some(TOKEN_ALL), n)
        } else if py_isspace(rest[0]) {
            (None, rest.iter().take_while(|c| py_isspace(**c)).count())
        } else if let Some(n) = ["count", "min", "max", "avg", "sum"]
            .iter()
            .find_map(|w| ci_prefix(rest, w))
        {
            (Some(TOKEN_AGG), n)
        } else if let Some(n) = ci_prefix(rest, "near") {
            (Some(TOKEN_NEAR), n)
        } else if let Some(n) = ci_prefix(rest, "by") {
            (Some(TOKEN_BY), n)
        } else if let Some(n) = lit("==") {
            (Some(TOKEN_EQ), n)
        } else if let Some(n) = lit("<") {
            (Some(TOKEN_LT), n)
        } else if let Some(n) = lit("<=") {
            (Some(TOKEN_LTE), n)
        } else if let Some(n) = lit(">") {
            (Some(TOKEN_GT), n)
        } else if let Some(n) = lit(">=") {
            (Some(TOKEN_GTE), n)
        } else if let Some(n) = lit("|") {
            (Some(TOKEN_PIPE), n)
        } else if let Some(n) = ci_prefix(rest, "and") {
            (Some(TOKEN_AND), n)
        } else if let Some(n) = ci_prefix(rest, "or") {
            (Some(TOKEN_OR), n)
        } else if let Some(n) = ci_prefix(rest, "not") {
            (Some(TOKEN_NOT), n)
        } else if py_isword(rest[0]) || rest[0] == '*' {
            (Some(TOKEN_ID), rest.iter().take_while(|c| py_isword(**c) || **c == '*').count())
        } else if rest[0] == '(' {
            (Some(TOKEN_LPAR), 1)
        } else if rest[0] == ')' {
            (Some(TOKEN_RPAR), 1)
        } else {
            let remaining: String = rest.iter().collect();
            return Err(parse_err(format!(
                "Unexpected token in condition at position {remaining}"
            )));
        };
        if let Some(ty) = ty {
            out.push(Token {
                ty,
                matched: rest[..len].iter().collect(),
                pos,
            });
        }
        pos += len;
        i += len;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Rule parser (parser/rule.py, parser/condition.py, parser/modifiers)
// ---------------------------------------------------------------------------

/// A token list entry during `parseSearch`.
#[derive(Debug, Clone)]
enum Tok {
    T(Token),
    N(Item),
}

impl Tok {
    fn is(&self, ty: u8) -> bool {
        matches!(self, Tok::T(t) if t.ty == ty)
    }
    fn into_item(self) -> Item {
        match self {
            Tok::T(t) => Item::Token(t),
            Tok::N(n) => n,
        }
    }
}

/// One parsed condition: the search tree and whether an aggregation follows.
#[derive(Debug, Clone)]
struct ParsedCondition {
    search: Item,
    has_agg: bool,
}

/// `SigmaParser`: one rule document.
struct RuleParser<'c> {
    cfg: &'c LegacyConfig,
    doc: Py,
    definitions: Vec<(Py, Py)>,
    /// `self.values`: raw detection key -> set of `str(value)`.
    values: Vec<(Py, Vec<String>)>,
    condparsed: Vec<ParsedCondition>,
}

/// Allocates node identities (Python object identity).
#[derive(Default)]
pub struct Ids(u64);

impl Ids {
    fn next(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }
    fn and(&mut self, items: Vec<Item>) -> Item {
        Item::And(Cond { id: self.next(), items, tuple_items: false })
    }
    fn or(&mut self, items: Vec<Item>) -> Item {
        Item::Or(Cond { id: self.next(), items, tuple_items: false })
    }
}

impl<'c> RuleParser<'c> {
    /// `SigmaParser.__init__` / `parse_sigma`.
    fn new(doc: Py, cfg: &'c LegacyConfig, ids: &mut Ids) -> R<Self> {
        let mut p = RuleParser {
            cfg,
            doc,
            definitions: Vec::new(),
            values: Vec::new(),
            condparsed: Vec::new(),
        };
        let detection = match p.doc.get("detection") {
            None => return Err(parse_err("No detection definitions found")),
            Some(d) => d.clone(),
        };
        let Py::Dict(entries) = &detection else {
            return Err(no_attribute(&detection, "items"));
        };
        for (name, def) in entries {
            if !matches!(name, Py::Str(s) if s == "condition") {
                if let Some(slot) = p.definitions.iter_mut().find(|(k, _)| k.py_eq(name)) {
                    slot.1 = def.clone();
                } else {
                    p.definitions.push((name.clone(), def.clone()));
                }
                p.extract_values(def);
            }
        }
        let conditions = match detection.get("condition") {
            None => return Err(parse_err("No condition found")),
            Some(c) => c.clone(),
        };
        let mut condtokens = Vec::new();
        match &conditions {
            Py::Str(s) => condtokens.push(tokenize(s)?),
            Py::List(list) => {
                for c in list {
                    match c {
                        Py::Str(s) => condtokens.push(tokenize(s)?),
                        Py::List(_) => {
                            return Err(PyError::new(
                                "NotReproduced",
                                "a condition given as a list of token lists",
                            ));
                        }
                        other => {
                            return Err(type_err(format!(
                                "SigmaConditionTokenizer constructor expects string or list, got {}",
                                other.class_repr()
                            )));
                        }
                    }
                }
            }
            _ => {}
        }
        for tokens in condtokens {
            let parsed = p.parse_condition(tokens, ids)?;
            p.condparsed.push(parsed);
        }
        Ok(p)
    }

    fn extract_values(&mut self, def: &Py) {
        match def {
            Py::List(items) => items.iter().for_each(|i| self.extract_values(i)),
            Py::Dict(entries) => {
                for (k, v) in entries {
                    let s = v.py_str();
                    match self.values.iter_mut().find(|(key, _)| key.py_eq(k)) {
                        Some((_, set)) => {
                            if !set.contains(&s) {
                                set.push(s)
                            }
                        }
                        None => self.values.push((k.clone(), vec![s])),
                    }
                }
            }
            _ => {}
        }
    }

    /// `ConditionalFieldMapping._targets` (a set; kept in insertion order).
    fn targets(&self, m: &ConditionalMapping) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (condfield, by_value) in &m.conditions {
            let Some((_, rulevalues)) = self
                .values
                .iter()
                .find(|(k, _)| matches!(k, Py::Str(s) if s == condfield))
            else {
                continue;
            };
            for (condvalue, targets) in by_value {
                if rulevalues.contains(condvalue) {
                    for t in targets {
                        if !out.contains(t) {
                            out.push(t.clone());
                        }
                    }
                }
            }
        }
        out
    }

    /// `mapping.resolve(key, value, sigmaparser)`.
    fn resolve(&self, mapping: &FieldMapping, key: &str, value: Val, ids: &mut Ids) -> R<Item> {
        match mapping {
            FieldMapping::Simple(t) => Ok(Item::Tuple(t.clone(), value)),
            FieldMapping::Multi(ts) => {
                let items = ts.iter().map(|t| Item::Tuple(t.clone(), value.clone())).collect();
                Ok(Item::Sub(Box::new(ids.or(items))))
            }
            FieldMapping::Conditional(m) => {
                let mut targets = self.targets(m);
                if let (true, Some(d)) = (targets.is_empty(), &m.default) {
                    targets = d.clone();
                }
                let is_none = matches!(value, Val::Py(Py::None));
                match targets.len() {
                    0 => Ok(if is_none {
                        Item::Null(ids.next(), key.to_string())
                    } else {
                        Item::Tuple(key.to_string(), value)
                    }),
                    1 => Ok(if is_none {
                        Item::Null(ids.next(), targets[0].clone())
                    } else {
                        Item::Tuple(targets[0].clone(), value)
                    }),
                    _ => {
                        let items = targets
                            .iter()
                            .map(|t| {
                                if is_none {
                                    Item::Null(ids.next(), t.clone())
                                } else {
                                    Item::Tuple(t.clone(), value.clone())
                                }
                            })
                            .collect();
                        Ok(Item::Sub(Box::new(ids.or(items))))
                    }
                }
            }
            FieldMapping::Invalid => Err(PyError::new(
                "AttributeError",
                "'NoneType' object has no attribute 'resolve'",
            )),
        }
    }

    fn parse_definition_byname(&self, name: &str, over: Option<bool>, ids: &mut Ids) -> R<Item> {
        let def = self
            .definitions
            .iter()
            .find(|(k, _)| matches!(k, Py::Str(s) if s == name))
            .map(|(_, v)| v.clone())
            .ok_or_else(|| parse_err(format!("Unknown definition '{name}'")))?;
        self.parse_definition(&def, over, ids)
    }

    /// `parse_definition`; `over` = condOverride (`Some(true)` = AND, `Some(false)` = OR).
    fn parse_definition(&self, def: &Py, over: Option<bool>, ids: &mut Ids) -> R<Item> {
        match def {
            Py::List(values) => {
                let mut items = Vec::new();
                for v in values {
                    match v {
                        Py::Str(_) | Py::Int(_) => items.push(Item::Plain(v.clone())),
                        Py::Dict(_) | Py::List(_) => items.push(self.parse_definition(v, None, ids)?),
                        _ => return Err(parse_err("Definition list may only contain plain values or maps")),
                    }
                }
                Ok(if over == Some(true) { ids.and(items) } else { ids.or(items) })
            }
            Py::Dict(entries) => {
                let mut items = Vec::new();
                for (key, value) in entries {
                    let Py::Str(key) = key else {
                        return Err(type_err(format!(
                            "argument of type '{}' is not iterable",
                            key.type_name()
                        )));
                    };
                    let (fieldname, value) = if key.contains('|') {
                        let mut parts = key.split('|');
                        let f = parts.next().unwrap_or("");
                        let mods: Vec<&str> = parts.collect();
                        (f, apply_modifiers(value.clone(), &mods, ids)?)
                    } else {
                        (key.as_str(), Modified::Val(Val::Py(value.clone())))
                    };
                    let mapping = self.cfg.get_fieldmapping(fieldname);
                    match value {
                        Modified::And(id, vals) => {
                            let mut resolved = Vec::new();
                            for v in vals {
                                resolved.push(self.resolve(&mapping, key, v, ids)?);
                            }
                            items.push(Item::And(Cond { id, items: resolved, tuple_items: false }));
                        }
                        Modified::Val(v) => items.push(self.resolve(&mapping, key, v, ids)?),
                    }
                }
                Ok(ids.and(items))
            }
            other => Err(parse_err(format!(
                "Expected map or list, got type {}: '{}'",
                other.class_repr(),
                other.py_str()
            ))),
        }
    }

    /// `get_logsource_condition`.
    fn logsource_condition(&self, ids: &mut Ids) -> R<Option<Item>> {
        let Some(ls) = self.doc.get("logsource") else {
            return Ok(None);
        };
        if !matches!(ls, Py::Dict(_)) {
            return Err(not_subscriptable(ls));
        }
        let search = [
            ls.get("category").cloned(),
            ls.get("product").cloned(),
            ls.get("service").cloned(),
        ];
        let matching: Vec<&LogsourceConf> = self
            .cfg
            .logsources
            .iter()
            .filter(|l| l.matches([&search[0], &search[1], &search[2]]))
            .collect();
        let mut rewrites: Vec<&[Option<String>; 3]> = Vec::new();
        for l in &matching {
            if let Some(r) = l.rewrite.as_ref().filter(|r| !rewrites.contains(r)) {
                rewrites.push(r);
            }
        }
        if rewrites.len() > 1 {
            return Err(PyError::new(
                "ValueError",
                "More than one matching log source contains a rewrite part",
            ));
        }
        let mut mapped = Vec::new();
        for l in &matching {
            for (field, value) in &l.conditions {
                let mapping = self.cfg.get_fieldmapping(field);
                mapped.push(self.resolve(&mapping, field, Val::Py(value.clone()), ids)?);
            }
        }
        Ok(Some(ids.and(mapped)))
    }

    /// `SigmaConditionParser.__init__`.
    fn parse_condition(&self, tokens: Vec<Token>, ids: &mut Ids) -> R<ParsedCondition> {
        let toks: Vec<Tok> = tokens.into_iter().map(Tok::T).collect();
        if let Some(pipe) = toks.iter().position(|t| t.is(TOKEN_PIPE)) {
            let search = self.parse_search(toks[..pipe].to_vec(), ids)?;
            let agg: Vec<Token> = toks[pipe + 1..]
                .iter()
                .filter_map(|t| match t {
                    Tok::T(t) => Some(t.clone()),
                    Tok::N(_) => None,
                })
                .collect();
            self.parse_aggregation(&agg)?;
            Ok(ParsedCondition { search, has_agg: true })
        } else {
            Ok(ParsedCondition {
                search: self.parse_search(toks, ids)?,
                has_agg: false,
            })
        }
    }

    /// `SigmaConditionParser.parseSearch`.
    fn parse_search(&self, mut tokens: Vec<Tok>, ids: &mut Ids) -> R<Item> {
        while let Some(lpos) = tokens.iter().position(|t| t.is(TOKEN_LPAR)) {
            let mut depth = 0;
            let mut rpos = None;
            for (i, t) in tokens.iter().enumerate().skip(lpos + 1) {
                if t.is(TOKEN_LPAR) {
                    depth += 1;
                } else if t.is(TOKEN_RPAR) {
                    if depth == 0 {
                        rpos = Some(i);
                        break;
                    }
                    depth -= 1;
                }
            }
            let Some(rpos) = rpos else {
                return Err(parse_err("Missing matching closing parentheses"));
            };
            if lpos + 1 == rpos {
                let Tok::T(l) = &tokens[lpos] else { unreachable!() };
                return Err(parse_err(format!("Empty subexpression at {}", l.pos)));
            }
            let sub = self.parse_search(tokens[lpos + 1..rpos].to_vec(), ids)?;
            let mut next = tokens[..lpos].to_vec();
            next.push(Tok::N(Item::Sub(Box::new(sub))));
            next.extend_from_slice(&tokens[rpos + 1..]);
            tokens = next;
        }
        for (op, arity) in [
            (TOKEN_ALL, 1),
            (TOKEN_ONE, 1),
            (TOKEN_ID, 0),
            (TOKEN_NOT, 1),
            (TOKEN_AND, 2),
            (TOKEN_OR, 2),
        ] {
            while let Some(pos) = tokens.iter().position(|t| t.is(op)) {
                let Tok::T(tok) = tokens[pos].clone() else { unreachable!() };
                match arity {
                    0 => {
                        let node = Item::Sub(Box::new(self.parse_definition_byname(&tok.matched, None, ids)?));
                        tokens[pos] = Tok::N(node);
                    }
                    1 => {
                        let val = tokens
                            .get(pos + 1)
                            .cloned()
                            .ok_or_else(|| PyError::new("IndexError", "list index out of range"))?;
                        let node = if op == TOKEN_NOT {
                            Item::Not(Cond { id: ids.next(), items: vec![val.into_item()], tuple_items: false })
                        } else {
                            let Tok::T(val) = val else {
                                return Err(PyError::new(
                                    "AttributeError",
                                    "'NodeSubexpression' object has no attribute 'matched'",
                                ));
                            };
                            self.generate_x_of(&val, op == TOKEN_ALL, ids)?
                        };
                        tokens.splice(pos..pos + 2, [Tok::N(node)]);
                    }
                    _ => {
                        if pos == 0 {
                            // Python would index tokens[-1] and loop forever.
                            return Err(PyError::new(
                                "NotReproduced",
                                "a binary operator at the start of a condition",
                            ));
                        }
                        let v2 = tokens
                            .get(pos + 1)
                            .cloned()
                            .ok_or_else(|| PyError::new("IndexError", "list index out of range"))?;
                        let v1 = tokens[pos - 1].clone();
                        let c = Cond {
                            id: ids.next(),
                            items: vec![v1.into_item(), v2.into_item()],
                            tuple_items: true,
                        };
                        let node = if op == TOKEN_AND { Item::And(c) } else { Item::Or(c) };
                        tokens.splice(pos - 1..pos + 2, [Tok::N(node)]);
                    }
                }
            }
        }
        if tokens.len() != 1 {
            return Err(PyError::new("ValueError", "Parse tree must have exactly one start node!"));
        }
        let mut query = tokens.pop().unwrap().into_item();
        if let Some(ls) = self.logsource_condition(ids)? {
            query = ids.and(vec![ls, query]);
        }
        optimize_tree(query)
    }

    /// `generateXOf`.
    fn generate_x_of(&self, val: &Token, all: bool, ids: &mut Ids) -> R<Item> {
        let make = |ids: &mut Ids, items| if all { ids.and(items) } else { ids.or(items) };
        if val.matched == "them" {
            let mut items = Vec::new();
            for (name, def) in &self.definitions {
                if matches!(name, Py::Str(s) if s == "timeframe") {
                    continue;
                }
                items.push(Item::Sub(Box::new(self.parse_definition(def, None, ids)?)));
            }
            Ok(Item::Sub(Box::new(make(ids, items))))
        } else if val.matched.find('*').is_some_and(|i| i > 0) {
            let mut items = Vec::new();
            for (name, def) in &self.definitions {
                let Py::Str(name) = name else {
                    return Err(type_err("expected string or bytes-like object, got 'int'"));
                };
                if name != "timeframe" && glob_match(&val.matched, name) {
                    items.push(Item::Sub(Box::new(self.parse_definition(def, None, ids)?)));
                }
            }
            Ok(Item::Sub(Box::new(make(ids, items))))
        } else {
            Ok(Item::Sub(Box::new(self.parse_definition_byname(&val.matched, Some(all), ids)?)))
        }
    }

    /// `SigmaAggregationParser` (only its errors matter: es-qs then raises
    /// "Aggregations not implemented for this backend").
    fn parse_aggregation(&self, tokens: &[Token]) -> R<()> {
        let mut state: i32 = 0;
        for tok in tokens {
            if state < 0 {
                return Err(parse_err(format!("No further token expected, but read {tok}")));
            }
            let cmp = [TOKEN_EQ, TOKEN_LT, TOKEN_LTE, TOKEN_GT, TOKEN_GTE];
            let next: Option<(i32, u8)> = match (state, tok.ty) {
                (0, TOKEN_AGG) => Some((1, 1)),
                (0, TOKEN_NEAR) => Some((8, 1)),
                (1, TOKEN_LPAR) => Some((2, 0)),
                (2, TOKEN_RPAR) => Some((4, 0)),
                (2, TOKEN_ID) => Some((3, 2)),
                (3, TOKEN_RPAR) => Some((4, 0)),
                (4, TOKEN_BY) => Some((5, 0)),
                (4, t) if cmp.contains(&t) => Some((7, 0)),
                (5, TOKEN_ID) => Some((6, 2)),
                (6, t) if cmp.contains(&t) => Some((7, 0)),
                (7, TOKEN_ID) => Some((-1, 0)),
                (8, TOKEN_ID) => Some((9, 0)),
                (9, TOKEN_AND) => Some((10, 0)),
                (10, TOKEN_NOT) => Some((8, 0)),
                (10, TOKEN_ID) => Some((9, 0)),
                _ => None,
            };
            let Some((next, action)) = next else {
                return Err(parse_err(format!(
                    "Unexpected token {tok} at {} in aggregation expression",
                    tok.pos
                )));
            };
            match action {
                1 if !["count", "min", "max", "avg", "sum", "near"].contains(&tok.matched.as_str()) => {
                    return Err(parse_err(format!(
                        "Unknown aggregation function '{}'",
                        tok.matched
                    )));
                }
                2 => self.trans_fieldname(&tok.matched)?,
                _ => {}
            }
            state = next;
        }
        if state != -1 && state != 9 {
            return Err(parse_err(format!("Unexpected end of aggregation expression, state={state}")));
        }
        Ok(())
    }

    fn trans_fieldname(&self, field: &str) -> R<()> {
        let single = match self.cfg.get_fieldmapping(field) {
            FieldMapping::Simple(_) => true,
            FieldMapping::Multi(_) => false,
            FieldMapping::Conditional(m) => !self.targets(&m).is_empty(),
            FieldMapping::Invalid => {
                return Err(PyError::new(
                    "AttributeError",
                    "'NoneType' object has no attribute 'resolve_fieldname'",
                ));
            }
        };
        if single {
            Ok(())
        } else {
            Err(PyError::new("NotImplementedError", "Field mappings in aggregations must be single valued"))
        }
    }
}

/// `re.match("^" + pattern.replace("*", ".*") + "$", name)`.
fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    fn rec(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty() || n == ['\n'],
            Some('*') => (0..=n.len()).any(|k| !n[..k].contains(&'\n') && rec(&p[1..], &n[k..])),
            Some(c) => n.first() == Some(c) && rec(&p[1..], &n[1..]),
        }
    }
    rec(&p, &n)
}

/// A value after modifiers: a plain value or the `all` modifier's AND.
enum Modified {
    Val(Val),
    And(u64, Vec<Val>),
}

const MODIFIERS: [&str; 11] = [
    "contains", "startswith", "endswith", "all", "base64", "base64offset", "utf16", "utf16le",
    "wide", "utf16be", "re",
];

/// `apply_modifiers` with sigmac 0.19.1's modifier classes.
fn apply_modifiers(value: Py, mods: &[&str], ids: &mut Ids) -> R<Modified> {
    let mut cur = Modified::Val(Val::Py(value));
    for m in mods {
        if !MODIFIERS.contains(m) {
            return Err(PyError::new("KeyError", super::pyyaml::str_repr(m)));
        }
        let invalid = || PyError::new("SigmaModifierValueTypeError", "");
        let v = match cur {
            Modified::Val(Val::Py(v)) => v,
            // A type modifier or the AND of `all` accepts no further modifier.
            _ => return Err(invalid()),
        };
        cur = match *m {
            "all" => match v {
                Py::List(items) => Modified::And(ids.next(), items.into_iter().map(Val::Py).collect()),
                _ => return Err(invalid()),
            },
            "re" => match v {
                Py::Str(_) => Modified::Val(Val::Re(ids.next(), v)),
                _ => return Err(invalid()),
            },
            "base64" | "base64offset" => {
                if !matches!(v, Py::List(_) | Py::Str(_) | Py::Bytes(_)) {
                    return Err(invalid());
                }
                Modified::Val(Val::Py(list_or_str(v, |x| base64_mod(x, *m == "base64offset"))?))
            }
            _ => {
                if !matches!(v, Py::List(_) | Py::Str(_)) {
                    return Err(invalid());
                }
                Modified::Val(Val::Py(list_or_str(v, |x| transform(x, m))?))
            }
        };
    }
    Ok(cur)
}

/// `ListOrStringModifierMixin.apply`: per element for lists (one level of
/// returned lists flattened), else the value itself.
fn list_or_str(v: Py, f: impl Fn(Py) -> R<Py>) -> R<Py> {
    match v {
        Py::List(items) => {
            let mut out = Vec::new();
            for i in items {
                match f(i)? {
                    Py::List(l) => out.extend(l),
                    x => out.push(x),
                }
            }
            Ok(Py::List(out))
        }
        other => f(other),
    }
}

fn transform(v: Py, m: &str) -> R<Py> {
    match m {
        "contains" | "startswith" | "endswith" => {
            let Py::Str(mut s) = v else {
                let attr = if m == "startswith" { "endswith" } else { "startswith" };
                return Err(no_attribute(&v, attr));
            };
            if m != "startswith" && !s.starts_with('*') {
                s.insert(0, '*');
            }
            if m != "endswith" && !s.ends_with('*') {
                if s.ends_with('\\') {
                    s.push_str("\\*");
                } else {
                    s.push('*');
                }
            }
            Ok(Py::Str(s))
        }
        _ => {
            let Py::Str(s) = v else {
                return Err(no_attribute(&v, "encode"));
            };
            let units: Vec<u16> = s.encode_utf16().collect();
            let mut out = Vec::with_capacity(units.len() * 2 + 2);
            match m {
                "utf16be" => units.iter().for_each(|u| out.extend(u.to_be_bytes())),
                "utf16" => {
                    out.extend([0xff, 0xfe]);
                    units.iter().for_each(|u| out.extend(u.to_le_bytes()));
                }
                _ => units.iter().for_each(|u| out.extend(u.to_le_bytes())),
            }
            Ok(Py::Bytes(out))
        }
    }
}

fn base64_mod(v: Py, offset: bool) -> R<Py> {
    let bytes = match v {
        Py::Str(s) => s.into_bytes(),
        Py::Bytes(b) => b,
        other => {
            return Err(type_err(format!(
                "a bytes-like object is required, not '{}'",
                other.type_name()
            )));
        }
    };
    let enc = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    if !offset {
        return Ok(Py::Str(enc(&bytes)));
    }
    let start = [0usize, 2, 3];
    let end: [Option<usize>; 3] = [None, Some(3), Some(2)]; // None, -3, -2
    let mut out = Vec::new();
    for i in 0..3 {
        let mut padded = vec![b' '; i];
        padded.extend_from_slice(&bytes);
        let e = enc(&padded);
        let cut = end[(bytes.len() + i) % 3].map_or(e.len(), |k| e.len().saturating_sub(k));
        let s = start[i].min(e.len());
        out.push(Py::Str(if s < cut { e[s..cut].to_string() } else { String::new() }));
    }
    Ok(Py::List(out))
}

// ---------------------------------------------------------------------------
// Optimizer (SigmaConditionOptimizer)
// ---------------------------------------------------------------------------

/// A new object identity for nodes the optimizer creates (disjoint from
/// the parser's [`Ids`]).
fn fresh_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1 << 62);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn strip(node: Item) -> Item {
    match node {
        Item::Sub(inner) => strip(*inner),
        Item::And(mut c) => {
            c.items = c.items.into_iter().map(strip).collect();
            c.tuple_items = false;
            Item::And(c)
        }
        Item::Or(mut c) => {
            c.items = c.items.into_iter().map(strip).collect();
            c.tuple_items = false;
            Item::Or(c)
        }
        other => other,
    }
}

fn unstrip(node: Item) -> Item {
    match node {
        Item::And(mut c) => {
            c.items = c.items.into_iter().map(unstrip).collect();
            Item::Sub(Box::new(Item::And(c)))
        }
        Item::Or(mut c) => {
            c.items = c.items.into_iter().map(unstrip).collect();
            Item::Sub(Box::new(Item::Or(c)))
        }
        other => other,
    }
}

fn ordered_uniq(items: &[Item]) -> R<Vec<Item>> {
    let mut out: Vec<Item> = Vec::new();
    for x in items {
        if let Some(t) = unhashable(x) {
            return Err(type_err(format!("unhashable type: '{t}'")));
        }
        if !out.iter().any(|y| item_eq(x, y)) {
            out.push(x.clone());
        }
    }
    Ok(out)
}

/// `_optimizeNode`: returns the new node (`Nothing` for Python `None`) and
/// whether anything changed.
fn optimize_node(mut node: Item, changes: bool) -> R<(Item, bool)> {
    let mut changes = changes;
    if node.is_and_or() {
        let is_and = matches!(node, Item::And(_));
        let c = node.cond_mut().unwrap();
        if c.items.is_empty() {
            return Ok((Item::Nothing, true));
        }
        if c.items.iter().any(|i| matches!(i, Item::Nothing)) {
            c.items.retain(|i| !matches!(i, Item::Nothing));
            return optimize_node(node, true);
        }
        if c.items.len() == 1 {
            let only = c.items.pop().unwrap();
            return optimize_node(only, true);
        }
        let uniq = ordered_uniq(&c.items)?;
        if uniq.len() < c.items.len() {
            c.items = uniq;
            return optimize_node(node, true);
        }
        // OR(X, OR(Y)) => OR(X, Y)
        let kind = node.clone();
        let c = node.cond_mut().unwrap();
        if c.items.iter().any(|ch| ch.same_kind(&kind))
            && c.items.iter().all(|ch| ch.same_kind(&kind) || matches!(ch, Item::Tuple(..)))
        {
            let mut newitems = Vec::new();
            for ch in c.items.drain(..) {
                match ch {
                    Item::And(cc) | Item::Or(cc) => newitems.extend(cc.items),
                    other => newitems.push(other),
                }
            }
            c.items = newitems;
            return optimize_node(node, true);
        }
        // OR(AND(X, ...), AND(X, ...)) => AND(X, OR(AND(...), AND(...)))
        let other_is_and = !is_and;
        let all_other = c.items.iter().all(|ch| {
            if other_is_and { matches!(ch, Item::And(_)) } else { matches!(ch, Item::Or(_)) }
        });
        if all_other {
            let first = c.items[0].cond().unwrap().items.clone();
            let mut promoted = Vec::new();
            for cand in first {
                if c.items[1..]
                    .iter()
                    .all(|ch| ch.cond().unwrap().items.iter().any(|i| item_eq(i, &cand)))
                {
                    promoted.push(cand);
                }
            }
            if !promoted.is_empty() {
                for ch in c.items.iter_mut() {
                    let cc = ch.cond_mut().unwrap();
                    for cand in &promoted {
                        match cc.items.iter().position(|i| item_eq(i, cand)) {
                            Some(p) => {
                                cc.items.remove(p);
                            }
                            None => {
                                return Err(PyError::new("ValueError", "list.remove(x): x not in list"));
                            }
                        }
                    }
                }
                let id = fresh_id();
                let mut items = promoted;
                items.push(node);
                let newnode = if other_is_and {
                    Item::And(Cond { id, items, tuple_items: false })
                } else {
                    Item::Or(Cond { id, items, tuple_items: false })
                };
                return optimize_node(newnode, true);
            }
        }
    } else if let Item::Not(c) = &node {
        if c.items.len() != 1 {
            return Err(PyError::new("AssertionError", ""));
        }
        match &c.items[0] {
            Item::Not(inner) => {
                if inner.items.len() != 1 {
                    return Err(PyError::new("AssertionError", ""));
                }
                let x = inner.items[0].clone();
                return optimize_node(x, true);
            }
            Item::Null(_, f) => return optimize_node(Item::NotNull(fresh_id(), f.clone()), true),
            Item::NotNull(_, f) => return optimize_node(Item::Null(fresh_id(), f.clone()), true),
            _ => {}
        }
    } else {
        return Ok((node, changes));
    }
    let c = node.cond_mut().unwrap();
    let items = std::mem::take(&mut c.items);
    let mut new_items = Vec::with_capacity(items.len());
    for it in items {
        let (n, ch) = optimize_node(it, changes)?;
        if ch {
            changes = true;
        }
        new_items.push(n);
    }
    node.cond_mut().unwrap().items = new_items;
    Ok((node, changes))
}

/// `optimizeTree`.
fn optimize_tree(tree: Item) -> R<Item> {
    let mut tree = strip(tree);
    loop {
        let (t, changes) = optimize_node(tree, false)?;
        tree = t;
        if !changes {
            break;
        }
    }
    Ok(unstrip(tree))
}

// ---------------------------------------------------------------------------
// es-qs backend (backends/base.py, backends/elasticsearch.py)
// ---------------------------------------------------------------------------

/// `ElasticsearchQuerystringBackend` with Timesketch's options (none): the
/// backend object lives for one `parse_sigma_rule_by_text` call and keeps
/// `matchKeyword` between the values it generates.
pub struct Backend<'c> {
    cfg: &'c LegacyConfig,
    match_keyword: bool,
    logsource: Py,
}

impl<'c> Backend<'c> {
    pub fn new(cfg: &'c LegacyConfig) -> Self {
        Backend {
            cfg,
            match_keyword: true,
            logsource: Py::Dict(Vec::new()),
        }
    }

    /// `SigmaCollectionParser(text).generate(backend)`, eagerly: the
    /// generated strings of every rule document (`None` for a rule whose
    /// `generate` returns nothing).
    pub fn generate_collection(&mut self, docs: &[Py], ids: &mut Ids) -> R<Vec<Option<String>>> {
        let parsers = collection_parsers(docs, self.cfg, ids)?;
        let mut out = Vec::new();
        for p in &parsers {
            out.push(self.generate(p)?);
        }
        Ok(out)
    }

    /// `DeepFieldMappingMixin.generate` / `BaseBackend.generate`.
    fn generate(&mut self, p: &RuleParser<'_>) -> R<Option<String>> {
        self.logsource = p.doc.get("logsource").cloned().unwrap_or(Py::Dict(Vec::new()));
        let Some(parsed) = p.condparsed.first() else {
            return Ok(None);
        };
        let query = self.generate_node(&parsed.search)?;
        if parsed.has_agg {
            return Err(PyError::new("NotImplementedError", "Aggregations not implemented for this backend"));
        }
        Ok(Some(query.unwrap_or_default()))
    }

    fn generate_node(&mut self, node: &Item) -> R<Option<String>> {
        match node {
            Item::And(c) => self.join(c, " AND "),
            Item::Or(c) => self.join(c, " OR "),
            Item::Not(c) => {
                let expr = match c.items.first() {
                    Some(i) => self.generate_node(i)?,
                    None => self.generate_node(&Item::Nothing)?,
                };
                Ok(expr.filter(|e| !e.is_empty()).map(|e| format!("(NOT {e})")))
            }
            Item::Null(_, f) => Ok(Some(format!("NOT _exists_:{f}"))),
            Item::NotNull(_, f) => Ok(Some(format!("_exists_:{f}"))),
            Item::Sub(inner) => self.generate_subexpression(inner),
            Item::Tuple(f, v) => self.generate_map_item(f, v).map(Some),
            Item::Plain(p @ (Py::Str(_) | Py::Int(_))) => Ok(Some(self.generate_value(p))),
            Item::Plain(Py::List(l)) => self.generate_list(l).map(Some),
            other => Err(type_err(format!(
                "Node type {} was not expected in Sigma parse tree",
                other.python_type()
            ))),
        }
    }

    fn join(&mut self, c: &Cond, token: &str) -> R<Option<String>> {
        let mut parts = Vec::new();
        for i in &c.items {
            if let Some(g) = self.generate_node(i)? {
                parts.push(g);
            }
        }
        Ok((!parts.is_empty()).then(|| parts.join(token)))
    }

    /// `ElasticsearchQuerystringBackend.generateSubexpressionNode`.
    fn generate_subexpression(&mut self, inner: &Item) -> R<Option<String>> {
        if let Some(c) = inner.cond().filter(|_| inner.is_and_or()) {
            let keywords = !c.tuple_items
                && c.items.iter().all(|i| matches!(i, Item::Plain(Py::Str(_) | Py::Int(_))));
            if keywords {
                let newitems: Vec<Item> = c
                    .items
                    .iter()
                    .map(|i| match i {
                        Item::Plain(Py::Str(s)) => {
                            let mut s = s.clone();
                            if !s.starts_with('*') {
                                s.insert(0, '*');
                            }
                            if !s.ends_with('*') {
                                s.push('*');
                            }
                            Item::Plain(Py::Str(s))
                        }
                        other => other.clone(),
                    })
                    .collect();
                let cond = Cond { id: 0, items: newitems, tuple_items: true };
                let newnode = if matches!(inner, Item::And(_)) { Item::And(cond) } else { Item::Or(cond) };
                self.match_keyword = true;
                let generated = self.generate_node(&newnode)?;
                let Some(g) = generated.filter(|g| !g.is_empty()) else {
                    return Err(type_err("can only concatenate str (not \"NoneType\") to str"));
                };
                let result = format!("\\*.keyword:({g})");
                self.match_keyword = false;
                return Ok(Some(result));
            }
        }
        let generated = self.generate_node(inner)?;
        Ok(generated.filter(|g| !g.is_empty()).map(|g| format!("({g})")))
    }

    /// `SingleTextQueryBackend.generateValueNode` + the es-qs override.
    fn generate_value(&self, p: &Py) -> String {
        let result = clean_value(&p.py_str());
        if result.is_empty() || result.chars().all(py_isspace) {
            return "\"\"".into();
        }
        if self.match_keyword {
            result
        } else {
            format!("\"{result}\"")
        }
    }

    fn generate_list(&mut self, l: &[Py]) -> R<String> {
        if !l.iter().all(|v| matches!(v, Py::Str(_) | Py::Int(_))) {
            return Err(type_err("List values must be strings or numbers"));
        }
        let parts: Vec<String> = l.iter().map(|v| self.generate_value(v)).collect();
        Ok(format!("({})", parts.join(" OR ")))
    }

    /// `ElasticsearchWildcardHandlingMixin.generateMapItemNode`.
    fn generate_map_item(&mut self, field: &str, value: &Val) -> R<String> {
        let mut value = value.clone();
        if field.to_lowercase().contains("hash") {
            value = match value {
                Val::Py(Py::List(items)) => {
                    let mut res = Vec::new();
                    for i in items {
                        match i {
                            Py::Str(s) => {
                                res.push(Py::Str(s.to_lowercase()));
                                res.push(Py::Str(s.to_uppercase()));
                            }
                            other => res.push(other),
                        }
                    }
                    Val::Py(Py::List(res))
                }
                Val::Py(Py::Str(s)) => {
                    Val::Py(Py::List(vec![Py::Str(s.to_uppercase()), Py::Str(s.to_lowercase())]))
                }
                other => other,
            };
        }
        let f = self.deep_field_name_mapping(field, &value)?;
        match &value {
            Val::Py(p @ (Py::Str(_) | Py::Int(_))) => Ok(format!("{f}:{}", self.generate_value(p))),
            Val::Py(Py::List(l)) => Ok(format!("{f}:{}", self.generate_list(l)?)),
            Val::Re(_, p) => Ok(format!("{f}:/{}/", p.py_str())),
            Val::Py(Py::None) => Ok(format!("NOT _exists_:{f}")),
            Val::Py(other) => Err(type_err(format!(
                "Backend does not support map values of type {}",
                other.class_repr()
            ))),
        }
    }

    /// `DeepFieldMappingMixin.fieldNameMapping`.
    fn deep_field_name_mapping(&mut self, field: &str, value: &Val) -> R<String> {
        let mut fieldname = field;
        let mut conf = self.cfg.configured(fieldname);
        if conf.is_none() && fieldname.contains('|') {
            fieldname = fieldname.split('|').next().unwrap_or("");
            conf = self.cfg.configured(fieldname);
        }
        if let Some(FieldMapping::Conditional(m)) = conf {
            let Py::Dict(entries) = &self.logsource else {
                return Err(no_attribute(&self.logsource, "items"));
            };
            for (key, item) in entries {
                let Py::Str(key) = key else { continue };
                let Some(by_value) = m.condition(key).filter(|c| !c.is_empty()) else {
                    continue;
                };
                if !item.hashable() {
                    return Err(type_err(format!("unhashable type: '{}'", item.type_name())));
                }
                let Py::Str(item) = item else { continue };
                let Some((_, targets)) = by_value.iter().find(|(v, _)| v == item) else {
                    continue;
                };
                if targets.iter().any(|t| !t.is_empty()) {
                    let t = targets[0].clone();
                    return Ok(self.wildcard_field_name_mapping(&t, value));
                }
            }
        }
        Ok(self.wildcard_field_name_mapping(fieldname, value))
    }

    /// `ElasticsearchWildcardHandlingMixin.fieldNameMapping` with default
    /// options: `.keyword` when a value has an unescaped wildcard or is a
    /// regular expression.
    fn wildcard_field_name_mapping(&mut self, field: &str, value: &Val) -> String {
        self.match_keyword = match value {
            Val::Py(Py::List(l)) => l.iter().any(contains_wildcard),
            Val::Py(p) => contains_wildcard(p),
            Val::Re(..) => true,
        };
        if self.match_keyword {
            format!("{field}.keyword")
        } else {
            field.to_string()
        }
    }
}

/// `reContainsWildcard = (?:(?<!\\)|\\\\)[*?]` (search).
fn contains_wildcard(v: &Py) -> bool {
    let Py::Str(s) = v else { return false };
    let c: Vec<char> = s.chars().collect();
    (0..c.len()).any(|i| {
        (c[i] == '*' || c[i] == '?')
            && (i == 0 || c[i - 1] != '\\' || (i >= 2 && c[i - 2] == '\\'))
    })
}

/// `QuoteCharMixin.cleanValue` with es-qs's
/// `reEscape = ([\s+\-=!(){}\[\]^"~:/]|(?<!\\)\\(?![*?\\])|\\u|&&|\|\|)`:
/// a backslash before each match.
pub fn clean_value(val: &str) -> String {
    let c: Vec<char> = val.chars().collect();
    let mut out = String::with_capacity(val.len() + 8);
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        let single = py_isspace(ch)
            || "+-=!(){}[]^\"~:/".contains(ch)
            || (ch == '\\'
                && (i == 0 || c[i - 1] != '\\')
                && !matches!(c.get(i + 1), Some('*' | '?' | '\\')));
        let pair = (ch == '\\' && c.get(i + 1) == Some(&'u'))
            || (ch == '&' && c.get(i + 1) == Some(&'&'))
            || (ch == '|' && c.get(i + 1) == Some(&'|'));
        let len = if single {
            1
        } else if pair {
            2
        } else {
            0
        };
        if len == 0 {
            out.push(ch);
            i += 1;
        } else {
            out.push('\\');
            out.extend(&c[i..i + len]);
            i += len;
        }
    }
    out
}

/// `SigmaCollectionParser.__init__`: one parser per rule document, with
/// `action: global / reset / repeat` handled.
fn collection_parsers<'c>(docs: &[Py], cfg: &'c LegacyConfig, ids: &mut Ids) -> R<Vec<RuleParser<'c>>> {
    let mut global: Vec<(Py, Py)> = Vec::new();
    let mut parsers = Vec::new();
    let mut prev: Option<Py> = None;
    for doc in docs {
        let Py::Dict(entries) = doc else {
            return Err(not_subscriptable(doc));
        };
        let mut entries = entries.clone();
        let action = entries
            .iter()
            .position(|(k, _)| matches!(k, Py::Str(s) if s == "action"))
            .map(|i| entries.remove(i).1);
        match action.as_ref().and_then(Py::as_str) {
            Some("global") => deep_update(&mut global, &entries),
            Some("reset") => global.clear(),
            Some("repeat") => {
                let Some(Py::Dict(p)) = &prev else {
                    return Err(PyError::new(
                        "SigmaCollectionParseError",
                        "action 'repeat' is only applicable after first valid Sigma rule",
                    ));
                };
                let mut newrule = p.clone();
                deep_update(&mut newrule, &entries);
                parsers.push(RuleParser::new(Py::Dict(newrule.clone()), cfg, ids)?);
                prev = Some(Py::Dict(newrule));
            }
            _ => {
                deep_update(&mut entries, &global);
                parsers.push(RuleParser::new(Py::Dict(entries.clone()), cfg, ids)?);
                prev = Some(Py::Dict(entries));
            }
        }
    }
    Ok(parsers)
}

/// `deep_update_dict(dest, src)`.
fn deep_update(dest: &mut Vec<(Py, Py)>, src: &[(Py, Py)]) {
    for (k, v) in src {
        match (v, dest.iter_mut().find(|(dk, _)| dk.py_eq(k))) {
            (Py::Dict(sv), Some((_, Py::Dict(dv)))) => deep_update(dv, sv),
            (_, Some(slot)) => slot.1 = v.clone(),
            (_, None) => dest.push((k.clone(), v.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_value_escapes_like_es_qs() {
        assert_eq!(clean_value("a b"), "a\\ b");
        assert_eq!(clean_value("C:\\Windows\\*"), "C\\:\\\\Windows\\*");
        assert_eq!(clean_value("\\\\foo"), "\\\\foo");
        assert_eq!(clean_value("a&&b||c"), "a\\&&b\\||c");
        assert_eq!(clean_value("x\\\\u"), "x\\\\\\u");
    }

    #[test]
    fn wildcards_escaped_or_not() {
        assert!(contains_wildcard(&Py::Str("*a".into())));
        assert!(!contains_wildcard(&Py::Str("\\*a".into())));
        assert!(contains_wildcard(&Py::Str("\\\\*a".into())));
    }

    #[test]
    fn tokenizer_quirks() {
        // `sum`, `by`, `or`, `not` are matched as prefixes of identifiers.
        let t = tokenize("summary or notepad").unwrap();
        let kinds: Vec<u8> = t.iter().map(|t| t.ty).collect();
        assert_eq!(kinds, vec![TOKEN_AGG, TOKEN_ID, TOKEN_OR, TOKEN_NOT, TOKEN_ID]);
        assert_eq!(t[1].pos, 4);
    }

    #[test]
    fn base64offset_matches_python() {
        // python3 -c "from sigma.parser.modifiers.transform import *;
        //   print(SigmaBase64OffsetModifier('http').apply())"
        let Py::List(l) = base64_mod(Py::Str("http".into()), true).unwrap() else { panic!() };
        let l: Vec<String> = l.iter().map(Py::py_str).collect();
        assert_eq!(l, vec!["aHR0c", "h0dH", "odHRw"]);
    }
}
