//! A Timesketch query evaluated on one indexed event as OpenSearch would.
//!
//! This module owns the *search side*: how Timesketch sends a rule's query
//! (`timesketch/lib/datastores/opensearch.py`, `build_query`) and how
//! OpenSearch's `query_string` query then builds per-field Lucene queries
//! (`QueryStringQueryParser`, `MultiMatchQuery`, `QueryParserHelper` in
//! opensearch-project/OpenSearch, 2.x) and matches them against an
//! [`IndexedDoc`].
//!
//! * `build_query`: a query `field:value` whose value (everything after the
//!   first `:`) consists only of `.+-=_&|><!(){}[]^"~?:\/` becomes a `term`
//!   query on `field.keyword` with that raw value; anything else is a
//!   `query_string` with `default_operator: AND` and no fields.
//! * No fields means `index.query.default_field` (`*`): every mapped leaf
//!   field whose name does not start with `_` (metadata filter,
//!   `QueryParserHelper.resolveMappingField` with `acceptMetadataField`
//!   false, which also drops Plaso's `__type__`), *including* the
//!   `.keyword` and `.wildcard` sub-fields; the query is lenient, so a term
//!   a field cannot take (text on a `long`) matches nothing there instead of
//!   failing. Per field the results are OR-ed (`dis_max`).
//! * Unquoted terms and phrases are analysed with the field's analyzer: on
//!   `text`, the standard analyzer's terms, all required for an unquoted
//!   term (default operator AND), consecutive for a phrase; on `keyword` /
//!   `wildcard`, the whole string must equal a whole value (case matters).
//!   A term that analyses to no tokens on every target field is *null*: the
//!   clause is dropped (`MatchQuery.ZeroTermsQuery.NULL`, set in the
//!   `QueryStringQueryParser` constructor), and a query that is null as a
//!   whole makes the search fail (Timesketch puts it in a `bool` `must`,
//!   where Lucene's `BooleanClause` refuses a null query).
//! * Wildcard, prefix and fuzzy terms are not analysed but normalized:
//!   lower-cased on `text` (`normalizedWildcardQuery`,
//!   `analyze_wildcard: false`), kept as written on `keyword`/`wildcard`;
//!   they match single terms of a `text` field and whole values of the
//!   others. Regexps are normalized the same way (Lucene's
//!   `QueryParserBase.getRegexpQuery` calls `Analyzer.normalize`), so
//!   `\D` becomes `\d` on text fields.
//! * Ranges compare terms (text, lower-cased bounds), whole values
//!   (keyword) or numbers; `_exists_:f` and `f:*` test that the field (or
//!   an object's sub-field) has a value.
//! * On an explicitly named field, a term the field type cannot take is an
//!   error of the whole search (e.g. `failed to create query: For input
//!   string: "abc"` on a `long` field), reported by [`TsQuery::compile`].
//! * A boolean query of only prohibited clauses matches everything else
//!   (`Queries.fixNegativeQueryIfNeeded`, applied by OpenSearch's
//!   `getBooleanQuery` override); optional clauses next to a required one
//!   do not need to match (Lucene `BooleanQuery`, minimum_should_match 0).

use std::collections::HashMap;
use std::sync::Arc;

use super::analyzer;
use super::index::{FieldData, FieldType, IndexMapping, IndexedDoc, TextData};
use super::query_string::{self, Occur, QueryAst, QueryParseError, Term};
use super::regexp::LuceneRegex;

/// Characters of `build_query`'s special-character check.
pub const SPECIAL_CHARS: &str = ".+-=_&|><!(){}[]^\"~?:\\/";

/// Why OpenSearch would not run a query.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TsQueryError {
    /// The query string does not parse.
    #[error("{0}")]
    Parse(#[from] QueryParseError),
    /// It parses, but building the search against the index mapping fails.
    #[error("{0}")]
    Search(String),
}

/// A Timesketch query ready to evaluate.
#[derive(Debug, Clone)]
pub struct TsQuery {
    exec: Exec,
}

#[derive(Debug, Clone)]
enum Exec {
    Bool {
        must: Vec<Exec>,
        should: Vec<Exec>,
        must_not: Vec<Exec>,
    },
    /// Any of the fields matches (`dis_max`).
    Fields(Vec<(String, Arc<M>)>),
    /// The default field `*`: every non-`_` field. `text` and `exact` are
    /// the queries on text fields and on keyword/wildcard sub-fields,
    /// evaluated against the event's union of terms / values where that
    /// is equivalent; `rest` lists the other (numeric, date) fields.
    AllFields {
        text: Option<Arc<M>>,
        exact: Option<Arc<M>>,
        rest: Vec<(String, Arc<M>)>,
    },
    Exists(String),
    All,
    Nothing,
}

/// A per-field query.
#[derive(Debug)]
enum M {
    /// Every token is a term of the field.
    Terms(Vec<String>),
    Phrase(Vec<String>, u32),
    /// Some term of the field matches.
    TermPattern(Pat),
    /// Some whole value equals.
    Exact(String),
    /// Some whole value matches.
    ExactPattern(Pat),
    Long(i64),
    Float(f64),
    Bool(bool),
    NumRange {
        lower: Option<(f64, bool)>,
        upper: Option<(f64, bool)>,
    },
    Never,
}

#[derive(Debug)]
enum Pat {
    Regex(regex::Regex),
    /// A wildcard over terms, compiled to search `\n`-joined terms at once
    /// (`*` and `?` never cross a `\n`; anchors are line anchors).
    Joined(regex::Regex),
    Lucene(LuceneRegex),
    Prefix(String),
    Fuzzy(Vec<char>, u32),
    Range {
        lower: Option<(String, bool)>,
        upper: Option<(String, bool)>,
    },
}

impl Pat {
    fn is_match(&self, s: &str) -> bool {
        match self {
            Pat::Regex(r) | Pat::Joined(r) => r.is_match(s),
            Pat::Lucene(r) => r.is_match(s),
            Pat::Prefix(p) => s.starts_with(p.as_str()),
            Pat::Fuzzy(t, d) => {
                let c: Vec<char> = s.chars().collect();
                (c.len() as i64 - t.len() as i64).unsigned_abs() <= u64::from(*d)
                    && osa_distance(t, &c) <= *d as usize
            }
            Pat::Range { lower, upper } => {
                lower.as_ref().is_none_or(|(l, inc)| {
                    if *inc {
                        s >= l.as_str()
                    } else {
                        s > l.as_str()
                    }
                }) && upper.as_ref().is_none_or(|(u, inc)| {
                    if *inc {
                        s <= u.as_str()
                    } else {
                        s < u.as_str()
                    }
                })
            }
        }
    }
}

/// Damerau-Levenshtein (optimal string alignment) distance, as Lucene's
/// `FuzzyQuery` with `transpositions: true` counts edits.
fn osa_distance(a: &[char], b: &[char]) -> usize {
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
}

/// Lucene `WildcardQuery` syntax to an anchored regex: `*` any string,
/// `?` one character, `\` escapes.
fn wildcard_regex(p: &str) -> Result<regex::Regex, String> {
    translate_wildcard(p, "(?s)^", ".*", ".")
}

/// A wildcard pattern as a multi-line regex over `\n`-joined terms.
fn joined_wildcard_regex(p: &str) -> Result<regex::Regex, String> {
    translate_wildcard(p, "(?m)^", "[^\n]*", "[^\n]")
}

/// A Lucene wildcard pattern as an anchored regex: `flags` first, `*` as
/// `any`, `?` as `one`, `\` escaping the next character (a trailing `\`
/// stands for itself), everything else literal.
fn translate_wildcard(p: &str, flags: &str, any: &str, one: &str) -> Result<regex::Regex, String> {
    let mut out = String::from(flags);
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push_str(any),
            '?' => out.push_str(one),
            '\\' => {
                let n = chars.next().unwrap_or('\\');
                out.push_str(&regex::escape(&n.to_string()));
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push('$');
    regex::RegexBuilder::new(&out)
        .size_limit(1 << 24)
        .build()
        .map_err(|e| e.to_string())
}

/// The literal (non-wildcard) characters of a Lucene wildcard pattern.
fn wildcard_literals(p: &str) -> impl Iterator<Item = char> + '_ {
    let mut chars = p.chars();
    std::iter::from_fn(move || {
        loop {
            match chars.next()? {
                '*' | '?' => continue,
                '\\' => return Some(chars.next().unwrap_or('\\')),
                c => return Some(c),
            }
        }
    })
}

/// Fuzziness AUTO (`AUTO:3,6`): 0 edits below 3 characters, 1 below 6, else 2.
fn auto_edits(t: &str) -> u32 {
    match t.chars().count() {
        0..=2 => 0,
        3..=5 => 1,
        _ => 2,
    }
}

fn parse_long(text: &str) -> Result<Option<i64>, String> {
    let t = text.trim();
    if let Ok(v) = t.parse::<i64>() {
        return Ok(Some(v));
    }
    match t.parse::<f64>() {
        // A decimal part on a long field matches nothing (NumberFieldMapper).
        Ok(f) if f.fract() != 0.0 => Ok(None),
        Ok(f) => Ok(Some(f as i64)),
        Err(_) => Err(format!(
            "failed to create query: For input string: \"{text}\""
        )),
    }
}

fn parse_float(text: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .map_err(|_| format!("failed to create query: For input string: \"{text}\""))
}

fn not_on(kind: &str, field: &str, t: FieldType) -> String {
    format!(
        "Can only use {kind} queries on keyword and text fields - not on [{field}] which is of type [{}]",
        t.name()
    )
}

/// The query a term becomes on one field type: `Ok(None)` is null (no
/// terms), `Err` a failure to build it.
fn field_query(term: &Term, field: &str, t: FieldType) -> Result<Option<M>, String> {
    use FieldType as F;
    let m = match (term, t) {
        (_, F::Object) => return Ok(Some(M::Never)),
        (Term::Text(s), F::Text) => {
            let toks = analyzer::analyze(s);
            if toks.is_empty() {
                return Ok(None);
            }
            M::Terms(toks)
        }
        (Term::Phrase { text, slop }, F::Text) => {
            let toks = analyzer::analyze(text);
            match toks.len() {
                0 => return Ok(None),
                1 => M::Terms(toks),
                _ => M::Phrase(toks, *slop),
            }
        }
        (Term::Text(s) | Term::Phrase { text: s, .. }, F::Keyword | F::Wildcard | F::Date) => {
            M::Exact(s.clone())
        }
        (Term::Text(s) | Term::Phrase { text: s, .. }, F::Long) => match parse_long(s)? {
            Some(v) => M::Long(v),
            None => M::Never,
        },
        (Term::Text(s) | Term::Phrase { text: s, .. }, F::Float) => M::Float(parse_float(s)?),
        (Term::Text(s) | Term::Phrase { text: s, .. }, F::Boolean) => match s.as_str() {
            "true" => M::Bool(true),
            "false" => M::Bool(false),
            _ => {
                return Err(format!(
                    "Can't parse boolean value [{s}], expected [true] or [false]"
                ));
            }
        },
        (Term::Wildcard(w), F::Text) => {
            let n = analyzer::normalize(w);
            if wildcard_literals(&n).any(|c| !analyzer::may_occur_in_term(c)) {
                // No term of a text field holds this character (e.g. `\`):
                // the pattern cannot match; skip scanning the terms.
                M::Never
            } else {
                M::TermPattern(Pat::Joined(joined_wildcard_regex(&n)?))
            }
        }
        (Term::Wildcard(w), F::Keyword | F::Wildcard) => {
            M::ExactPattern(Pat::Regex(wildcard_regex(w)?))
        }
        (Term::Wildcard(_), _) => return Err(not_on("wildcard", field, t)),
        (Term::Prefix(p), F::Text) => {
            let n = analyzer::normalize(p);
            if n.chars().any(|c| !analyzer::may_occur_in_term(c)) {
                M::Never
            } else {
                M::TermPattern(Pat::Prefix(n))
            }
        }
        (Term::Prefix(p), F::Keyword | F::Wildcard) => M::ExactPattern(Pat::Prefix(p.clone())),
        (Term::Prefix(_), _) => {
            return Err(format!(
                "Can only use prefix queries on keyword, text and wildcard fields - not on [{field}] which is of type [{}]",
                t.name()
            ));
        }
        (Term::Regexp(r), F::Text) => {
            M::TermPattern(Pat::Lucene(LuceneRegex::new(&analyzer::normalize(r))?))
        }
        (Term::Regexp(r), F::Keyword | F::Wildcard) => {
            M::ExactPattern(Pat::Lucene(LuceneRegex::new(r)?))
        }
        // Lucene's RegexpQuery on a field without terms (points): no
        // type check, nothing matches. The syntax is still checked.
        (Term::Regexp(r), _) => {
            LuceneRegex::new(r)?;
            M::Never
        }
        (Term::Fuzzy { text, edits }, F::Text) => {
            let n = analyzer::normalize(text);
            let d = edits.unwrap_or_else(|| auto_edits(&n));
            M::TermPattern(Pat::Fuzzy(n.chars().collect(), d))
        }
        (Term::Fuzzy { text, edits }, F::Keyword | F::Wildcard) => {
            let d = edits.unwrap_or_else(|| auto_edits(text));
            M::ExactPattern(Pat::Fuzzy(text.chars().collect(), d))
        }
        (Term::Fuzzy { .. }, _) => return Err(not_on("fuzzy", field, t)),
        (
            Term::Range {
                lower,
                upper,
                include_lower,
                include_upper,
            },
            _,
        ) => match t {
            F::Text => M::TermPattern(Pat::Range {
                lower: lower
                    .as_ref()
                    .map(|l| (analyzer::normalize(l), *include_lower)),
                upper: upper
                    .as_ref()
                    .map(|u| (analyzer::normalize(u), *include_upper)),
            }),
            F::Keyword | F::Wildcard | F::Date => M::ExactPattern(Pat::Range {
                lower: lower.as_ref().map(|l| (l.clone(), *include_lower)),
                upper: upper.as_ref().map(|u| (u.clone(), *include_upper)),
            }),
            F::Long | F::Float => M::NumRange {
                lower: match lower {
                    Some(l) => Some((parse_float(l)?, *include_lower)),
                    None => None,
                },
                upper: match upper {
                    Some(u) => Some((parse_float(u)?, *include_upper)),
                    None => None,
                },
            },
            F::Boolean | F::Object => M::Never,
        },
        (Term::Exists(_) | Term::MatchAll, _) => M::Never,
    };
    Ok(Some(m))
}

fn simple_match(pattern: &str, name: &str) -> bool {
    // OpenSearch `Regex.simpleMatch`: `*` any string.
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let mut rest = name;
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(p) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(p);
        } else {
            match rest.find(p) {
                Some(k) => rest = &rest[k + p.len()..],
                None => return false,
            }
        }
    }
    true
}

struct Compiler<'a> {
    mapping: &'a IndexMapping,
}

impl Compiler<'_> {
    fn compile(&self, q: &QueryAst) -> Result<Option<Exec>, String> {
        match q {
            QueryAst::MatchNone => Ok(Some(Exec::Nothing)),
            QueryAst::Bool(clauses) => {
                let mut compiled: HashMap<usize, Option<Exec>> = HashMap::new();
                let mut err = None;
                let built = query_string::build_clauses(clauses, &mut |i, q| {
                    if err.is_some() {
                        return true;
                    }
                    match self.compile(q) {
                        Ok(e) => {
                            let null = e.is_none();
                            compiled.insert(i, e);
                            null
                        }
                        Err(e) => {
                            err = Some(e);
                            true
                        }
                    }
                });
                if let Some(e) = err {
                    return Err(e);
                }
                let (mut must, mut should, mut must_not) = (Vec::new(), Vec::new(), Vec::new());
                for (occur, i, _) in built {
                    let Some(Some(e)) = compiled.remove(&i) else {
                        continue;
                    };
                    match occur {
                        Occur::Must => must.push(e),
                        Occur::Should => should.push(e),
                        Occur::MustNot => must_not.push(e),
                    }
                }
                if must.is_empty() && should.is_empty() && must_not.is_empty() {
                    return Ok(None);
                }
                if must.is_empty() && should.is_empty() {
                    must.push(Exec::All);
                }
                Ok(Some(Exec::Bool {
                    must,
                    should,
                    must_not,
                }))
            }
            QueryAst::Leaf { field, term, .. } => self.leaf(field.as_deref(), term),
        }
    }

    fn leaf(&self, field: Option<&str>, term: &Term) -> Result<Option<Exec>, String> {
        match term {
            Term::MatchAll => return Ok(Some(Exec::All)),
            Term::Exists(f) => return Ok(Some(Exec::Exists(f.clone()))),
            _ => {}
        }
        let all = matches!(field, None | Some("*"));
        let targets: Vec<(&str, FieldType)> = match field {
            None | Some("*") => self
                .mapping
                .leaf_fields()
                .filter(|(n, _)| !n.starts_with('_'))
                .collect(),
            Some(f) if f.contains('*') => self
                .mapping
                .leaf_fields()
                .filter(|(n, _)| simple_match(f, n))
                .collect(),
            Some(f) => match self.mapping.get(f) {
                Some(t) => vec![(f, t)],
                // Unmapped field: MatchNoDocs (newUnmappedFieldQuery).
                None => return Ok(Some(Exec::Nothing)),
            },
        };
        if targets.is_empty() {
            return Ok(Some(Exec::Nothing));
        }
        let lenient = all;
        let multi = field.is_none_or(|f| f.contains('*'));
        let mut by_type: HashMap<FieldType, Option<Arc<M>>> = HashMap::new();
        let mut out = Vec::new();
        let mut any_non_null = false;
        for (name, t) in targets {
            let m = match by_type.get(&t) {
                Some(m) => m.clone(),
                None => {
                    let m = match field_query(term, name, t) {
                        Ok(m) => m.map(Arc::new),
                        Err(_) if lenient || (multi && t != FieldType::Text) => {
                            Some(Arc::new(M::Never))
                        }
                        Err(e) => return Err(e),
                    };
                    by_type.insert(t, m.clone());
                    m
                }
            };
            if let Some(m) = m {
                any_non_null = true;
                if !matches!(*m, M::Never) {
                    out.push((name.to_string(), m));
                }
            }
        }
        if !any_non_null {
            return Ok(None);
        }
        if all {
            let pick = |t: FieldType| {
                by_type
                    .get(&t)
                    .cloned()
                    .flatten()
                    .filter(|m| !matches!(**m, M::Never))
            };
            let text = pick(FieldType::Text);
            let exact = pick(FieldType::Keyword).or_else(|| pick(FieldType::Wildcard));
            let rest: Vec<(String, Arc<M>)> = out
                .into_iter()
                .filter(|(n, _)| {
                    !matches!(
                        self.mapping.get(n),
                        Some(FieldType::Text | FieldType::Keyword | FieldType::Wildcard)
                    )
                })
                .collect();
            if text.is_none() && exact.is_none() && rest.is_empty() {
                return Ok(Some(Exec::Nothing));
            }
            return Ok(Some(Exec::AllFields { text, exact, rest }));
        }
        Ok(Some(if out.is_empty() {
            Exec::Nothing
        } else {
            Exec::Fields(out)
        }))
    }
}

fn text_matches(m: &M, t: &TextData) -> bool {
    match m {
        M::Terms(toks) => toks.iter().all(|x| t.terms.contains_key(x)),
        M::Phrase(toks, slop) => t.has_phrase(toks, *slop),
        M::TermPattern(Pat::Joined(r)) => r.is_match(&t.joined),
        M::TermPattern(p) => t.terms.keys().any(|k| p.is_match(k)),
        _ => false,
    }
}

fn field_matches(m: &M, d: &FieldData) -> bool {
    match d {
        FieldData::Text(t) => text_matches(m, t),
        FieldData::Exact(vals) => match m {
            M::Exact(s) => vals.iter().any(|v| v == s),
            M::ExactPattern(p) => vals.iter().any(|v| p.is_match(v)),
            _ => false,
        },
        FieldData::Long(vals) => match m {
            M::Long(x) => vals.contains(x),
            M::NumRange { lower, upper } => vals.iter().any(|&v| in_range(v as f64, lower, upper)),
            _ => false,
        },
        FieldData::Float(vals) => match m {
            // A float field stores single precision.
            M::Float(x) => vals.iter().any(|v| (*v as f32) == (*x as f32)),
            M::Long(x) => vals.iter().any(|v| (*v as f32) == (*x as f32)),
            M::NumRange { lower, upper } => vals.iter().any(|&v| in_range(v, lower, upper)),
            _ => false,
        },
        FieldData::Boolean(vals) => matches!(m, M::Bool(b) if vals.contains(b)),
    }
}

fn in_range(v: f64, lower: &Option<(f64, bool)>, upper: &Option<(f64, bool)>) -> bool {
    lower.is_none_or(|(l, inc)| if inc { v >= l } else { v > l })
        && upper.is_none_or(|(u, inc)| if inc { v <= u } else { v < u })
}

fn eval(e: &Exec, doc: &IndexedDoc) -> bool {
    match e {
        Exec::All => true,
        Exec::Nothing => false,
        Exec::Exists(f) => {
            if f.contains('*') {
                doc.fields.keys().any(|k| simple_match(f, k))
            } else {
                doc.exists(f)
            }
        }
        Exec::Fields(fs) => fs
            .iter()
            .any(|(name, m)| doc.fields.get(name).is_some_and(|d| field_matches(m, d))),
        Exec::AllFields { text, exact, rest } => {
            let text_hit = text.as_deref().is_some_and(|m| match m {
                M::TermPattern(Pat::Joined(r)) => r.is_match(&doc.all_terms_joined),
                M::TermPattern(p) => doc.all_terms.iter().any(|t| p.is_match(t)),
                M::Terms(toks) if toks.len() == 1 => doc.all_terms.binary_search(&toks[0]).is_ok(),
                _ => doc.fields.iter().any(|(name, d)| {
                    !name.starts_with('_') && matches!(d, FieldData::Text(t) if text_matches(m, t))
                }),
            });
            text_hit
                || exact.as_deref().is_some_and(|m| match m {
                    M::Exact(s) => doc.all_values.binary_search(s).is_ok(),
                    M::ExactPattern(p) => doc.all_values.iter().any(|v| p.is_match(v)),
                    _ => false,
                })
                || rest
                    .iter()
                    .any(|(name, m)| doc.fields.get(name).is_some_and(|d| field_matches(m, d)))
        }
        Exec::Bool {
            must,
            should,
            must_not,
        } => {
            if !must.iter().all(|x| eval(x, doc)) {
                return false;
            }
            if must_not.iter().any(|x| eval(x, doc)) {
                return false;
            }
            must.is_empty() && !should.is_empty() && should.iter().any(|x| eval(x, doc))
                || !must.is_empty()
        }
    }
}

/// What OpenSearch rejects in `query` without looking at events: parse
/// errors, and the search-building errors on an index where every field
/// the query names is a string field (Timesketch's dynamic template), e.g.
/// Lucene regexp syntax or a query that analyses to no terms. Errors that
/// depend on a field being numeric need the events' mapping
/// ([`TsQuery::compile`]).
pub fn static_check(query: &str) -> Option<String> {
    let ast = match query_string::parse(query) {
        Ok(a) => a,
        Err(e) => return Some(e.to_string()),
    };
    fn names(q: &QueryAst, out: &mut Vec<String>) {
        match q {
            QueryAst::Bool(cs) => cs.iter().for_each(|c| names(&c.query, out)),
            QueryAst::Leaf { field: Some(f), .. } if !f.contains('*') && f != "_exists_" => {
                out.push(f.clone())
            }
            _ => {}
        }
    }
    let mut fields = Vec::new();
    names(&ast, &mut fields);
    let mut mapping = IndexMapping::new(super::index::MappingKind::Generic);
    let mut obj = serde_json::Map::new();
    for f in fields {
        let base = f
            .strip_suffix(".keyword")
            .or_else(|| f.strip_suffix(".wildcard"))
            .unwrap_or(&f)
            .to_string();
        obj.insert(base, serde_json::Value::String(String::new()));
    }
    mapping.observe(&serde_json::Value::Object(obj));
    TsQuery::compile(query, &mapping)
        .err()
        .map(|e| e.to_string())
}

impl TsQuery {
    /// Builds the search Timesketch's `build_query` sends for `query` on an
    /// index with `mapping`.
    pub fn compile(query: &str, mapping: &IndexMapping) -> Result<TsQuery, TsQueryError> {
        if let Some((field, value)) = query
            .split_once(':')
            .filter(|(_, v)| v.chars().all(|c| SPECIAL_CHARS.contains(c)))
        {
            let name = format!("{field}.keyword");
            let exec = match mapping.get(&name) {
                Some(FieldType::Keyword | FieldType::Wildcard) => {
                    Exec::Fields(vec![(name, Arc::new(M::Exact(value.to_string())))])
                }
                _ => Exec::Nothing,
            };
            return Ok(TsQuery { exec });
        }
        let ast = query_string::parse(query)?;
        let c = Compiler { mapping };
        match c.compile(&ast).map_err(TsQueryError::Search)? {
            Some(exec) => Ok(TsQuery { exec }),
            None => Err(TsQueryError::Search(
                "the query analyses to no terms at all: OpenSearch's query_string returns a null \
                 query and the bool query Timesketch wraps it in fails (\"Query must not be null\")"
                    .into(),
            )),
        }
    }

    /// Whether OpenSearch returns `doc` for this query.
    pub fn matches(&self, doc: &IndexedDoc) -> bool {
        doc.rejected.is_none() && eval(&self.exec, doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timesketch::index::MappingKind;
    use serde_json::{Value, json};

    fn setup(events: &[Value]) -> (IndexMapping, Vec<IndexedDoc>) {
        let mut m = IndexMapping::new(MappingKind::Generic);
        for e in events {
            m.observe(e);
        }
        let docs = events.iter().map(|e| IndexedDoc::new(e, &m)).collect();
        (m, docs)
    }

    /// Which events (by index) the query returns.
    fn hits(q: &str, events: &[Value]) -> Vec<usize> {
        let (m, docs) = setup(events);
        let tq = TsQuery::compile(q, &m).unwrap_or_else(|e| panic!("{q}: {e}"));
        (0..docs.len()).filter(|&i| tq.matches(&docs[i])).collect()
    }

    fn err(q: &str, events: &[Value]) -> String {
        let (m, _) = setup(events);
        TsQuery::compile(q, &m).unwrap_err().to_string()
    }

    fn paths() -> Vec<Value> {
        vec![
            json!({"Image": "C:\\Windows\\System32\\cmd.exe", "n": 4688}),
            json!({"Image": "C:\\Windows \\System32\\evil.exe", "n": 1}),
            json!({"Image": "C:\\Users\\bob\\AppData\\cmd.exe.bak", "n": 4689}),
        ]
    }

    // Standard analyzer on text fields: a phrase is a token sequence, so
    // the deliberate space in `C:\Windows \System32\` is lost and the
    // phrase matches every System32 path (OpenSearch "Standard analyzer",
    // Lucene StandardTokenizer / UAX#29).
    #[test]
    fn phrase_is_a_token_sequence_case_insensitive() {
        assert_eq!(
            hits(r#"Image:"C:\\Windows \\System32\\""#, &paths()),
            [0, 1]
        );
        assert_eq!(hits(r#"Image:"system32\\CMD.EXE""#, &paths()), [0]);
        // A token is not a substring: `cmd.exe` is not `cmd.exe.bak`.
        assert_eq!(hits(r#"Image:"cmd.exe""#, &paths()), [0]);
    }

    // Wildcards are not analysed on text fields, only lower-cased
    // (QueryStringQueryParser.getWildcardQuerySingle ->
    // normalizedWildcardQuery), and match single terms: a pattern with a
    // backslash can never match a term, but does match whole values of the
    // `.keyword` / `.wildcard` sub-fields, case-sensitively.
    #[test]
    fn wildcard_terms_against_terms_and_whole_values() {
        assert_eq!(hits(r"Image:*CMD*", &paths()), [0, 2]);
        assert_eq!(hits(r"Image:*\\cmd.exe", &paths()), Vec::<usize>::new());
        assert_eq!(hits(r"Image.keyword:*\\cmd.exe", &paths()), [0]);
        assert_eq!(
            hits(r"Image.keyword:*\\CMD.exe", &paths()),
            Vec::<usize>::new()
        );
        // Unfielded: all fields, including the sub-fields.
        assert_eq!(hits(r"*\\cmd.exe", &paths()), [0]);
    }

    // `.keyword` has ignore_above 256: longer values are not indexed there.
    #[test]
    fn keyword_ignore_above() {
        let long = format!("C:\\{}\\x.exe", "a".repeat(300));
        let ev = vec![
            json!({"Image": long.clone()}),
            json!({"Image": "C:\\b\\x.exe"}),
        ];
        assert_eq!(hits(r"Image.keyword:*x.exe", &ev), [1]);
        assert_eq!(hits(r"Image.wildcard:*x.exe", &ev), [0, 1]);
    }

    // zero_terms_query NULL in query_string: a clause with no tokens is
    // dropped, so the rest of the query decides alone.
    #[test]
    fn clause_without_tokens_is_dropped() {
        assert_eq!(hits(r#"n:4688 AND Image:"\\""#, &paths()), [0]);
        assert_eq!(hits(r#"Image:"\\" OR n:1"#, &paths()), [1]);
        // ... and a query that is nothing but such clauses fails.
        assert!(err(r#"Image:"\\" AND Image:"-""#, &paths()).contains("Query must not be null"));
    }

    // Lucene addClause: the clause before a dropped one keeps the
    // adjustment the dropped one's conjunction made; the next AND then
    // re-adjusts the last *recorded* clause.
    #[test]
    fn dropped_clause_still_adjusts_its_neighbours() {
        // `a OR "-" AND b`: a becomes SHOULD, then MUST again through b's AND.
        assert_eq!(
            hits(r#"n:4688 OR Image:"-" AND Image:cmd.exe"#, &paths()),
            [0]
        );
    }

    #[test]
    fn and_then_or_leaves_the_or_part_optional() {
        // +n:4688 Image:foo Image:bar -> n:4688 alone decides.
        assert_eq!(hits("n:4688 AND Image:foo OR Image:bar", &paths()), [0]);
        // Only optional clauses: one must match.
        assert_eq!(hits("n:1 OR n:4689", &paths()), [1, 2]);
    }

    #[test]
    fn pure_negative_groups_match_the_rest() {
        assert_eq!(hits("n:[1 TO 5000] AND (NOT n:4688)", &paths()), [1, 2]);
        assert_eq!(hits("NOT Image:cmd.exe", &paths()), [1, 2]);
    }

    #[test]
    fn numbers_and_ranges() {
        assert_eq!(hits("n:4688", &paths()), [0]);
        assert_eq!(hits(r#"n:"4688""#, &paths()), [0]);
        assert_eq!(hits("n:>4688", &paths()), [2]);
        assert_eq!(hits("n:[4688 TO 4689]", &paths()), [0, 2]);
        // Unfielded terms also reach numeric fields (lenient).
        assert_eq!(hits("4689", &paths()), [2]);
        assert!(err("n:abc", &paths()).contains("For input string: \"abc\""));
        assert!(err("n:*abc*", &paths()).contains("not on [n] which is of type [long]"));
    }

    #[test]
    fn exists_and_star() {
        let ev = vec![json!({"a": "x"}), json!({"b": ""}), json!({"o": {"p": 1}})];
        assert_eq!(hits("_exists_:a", &ev), [0]);
        // An empty string is a value (OpenSearch exists query docs).
        assert_eq!(hits("b:*", &ev), [1]);
        assert_eq!(hits("_exists_:o", &ev), [2]);
        assert_eq!(hits("*", &ev), [0, 1, 2]);
    }

    // build_query: `field:value` with only special characters is a term
    // query on field.keyword with the raw value.
    #[test]
    fn special_character_values_use_keyword_term() {
        let ev = vec![
            json!({"a": "-"}),
            json!({"a": "\\-"}),
            json!({"a": "x - y"}),
        ];
        assert_eq!(hits(r"a:-", &ev), [0]);
        assert_eq!(hits(r"a:\-", &ev), [1]);
    }

    // Metadata filter of `*`: names starting with `_` are not searched by
    // unfielded terms (QueryParserHelper.resolveMappingField).
    #[test]
    fn underscore_fields_are_not_in_the_default_field() {
        let ev = vec![
            json!({"__type__": "AttributeContainer"}),
            json!({"t": "AttributeContainer"}),
        ];
        assert_eq!(hits("attributecontainer", &ev), [1]);
        assert_eq!(hits("__type__:attributecontainer", &ev), [0]);
    }

    #[test]
    fn unquoted_multi_token_terms_need_all_tokens_in_one_field() {
        let ev = vec![json!({"a": "foo", "b": "bar"}), json!({"a": "bar-foo"})];
        assert_eq!(hits(r"a:foo\-bar", &ev), [1]);
        assert_eq!(hits(r"foo\ bar", &ev), [1]);
    }

    #[test]
    fn regexp_is_normalized_and_whole_term() {
        let ev = vec![json!({"a": "Abc123"}), json!({"a": "abcdef"})];
        // Lower-casing the pattern turns `\D` (non-digit) into `\d`.
        assert_eq!(hits(r"a:/ABC\D+/", &ev), [0]);
        assert_eq!(hits(r"a:/abc[0-9]+/", &ev), [0]);
        assert_eq!(hits(r"a.keyword:/Abc.*/", &ev), [0]);
        assert!(err(r"a:/\bfoo/", &ev).contains("invalid character class"));
    }

    #[test]
    fn fuzzy_terms() {
        let ev = vec![json!({"a": "mimikatz"}), json!({"a": "mimidogs"})];
        assert_eq!(hits("a:mimikatx~", &ev), [0]);
        assert_eq!(hits("a:mimikatx~0", &ev), Vec::<usize>::new());
    }

    #[test]
    fn unmapped_fields_match_nothing() {
        assert_eq!(hits("CommandLine:cmd", &paths()), Vec::<usize>::new());
        assert_eq!(hits("CommandLine:cmd OR n:1", &paths()), [1]);
    }

    #[test]
    fn rejected_events_match_nothing() {
        let ev = vec![json!({"n": 5}), json!({"n": "five", "a": "x"})];
        assert_eq!(hits("a:x", &ev), Vec::<usize>::new());
    }
}
