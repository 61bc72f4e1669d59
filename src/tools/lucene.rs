//! A rule as an OpenSearch/Elasticsearch `query_string` (Lucene syntax).
//!
//! This module owns `explain --query lucene`: the query a Timesketch user can
//! paste into the search bar to look at what a rule means on the server. It
//! follows Timesketch's own Sigma conventions (its `sigma_util` tests are the
//! reference, see `tests` below): logsource conditions first, values without
//! interior wildcards as phrases (`field:"value"`; on Timesketch's analysed
//! text fields this is a case-insensitive token match, so `startswith`,
//! `endswith` and exact values match a superset, exactly as Timesketch's
//! analyzer did), keywords as unfielded phrases, lists as `field:("a" OR "b")`.
//! Interior wildcards become escaped wildcard terms, `re` a `/regexp/`,
//! `cidr` a quoted CIDR, `gt`/`lt` range operators, `exists` and `null`
//! `_exists_`. Constructs `query_string` cannot express are an error
//! ([`LuceneError`]); near-equivalents are reported as caveats.

use std::collections::HashMap;

use crate::mapping::FieldMapping;
use crate::sigma::value::{CmpOp, Part, TimePart};
use crate::sigma::rule::{
    Check, Condition, DetectionItem, Logsource, Pattern, Quantifier, Rule, Search, SigmaString, resolve_of,
};

/// A query and what it does not reproduce exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LuceneQuery {
    pub query: String,
    pub caveats: Vec<String>,
}

/// A rule part that `query_string` cannot express.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LuceneError {
    #[error("`{0}` cannot be expressed in query_string")]
    Untranslatable(&'static str),
    #[error("{0}")]
    Rule(#[from] crate::error::RuleError),
    #[error("`{0} of` over {1} search identifiers expands to too many alternatives")]
    TooManyCombinations(usize, usize),
}

/// The query AST before rendering.
#[derive(Debug, Clone, PartialEq)]
enum Q {
    /// Values on one field (or unfielded when `None`): `f:v`, `f:(a OR b)`.
    Vals {
        field: Option<String>,
        vals: Vec<String>,
        all: bool,
    },
    /// A complete clause such as `_exists_:f`.
    Raw(String),
    And(Vec<Q>),
    Or(Vec<Q>),
    Not(Box<Q>),
    /// A search identifier inside a larger condition: keeps its own parentheses.
    Group(Box<Q>),
}

/// Translates `rule` with `mapping` (and `%placeholder%` values).
pub fn to_query(
    rule: &Rule,
    mapping: &dyn FieldMapping,
    placeholders: &HashMap<String, Vec<String>>,
) -> Result<LuceneQuery, LuceneError> {
    let mut t = Translator {
        ls: &rule.logsource,
        mapping,
        placeholders,
        caveats: Vec::new(),
    };
    let mut parts = Vec::new();
    for group in mapping.logsource_conditions(&rule.logsource) {
        let alts = group
            .iter()
            .map(|i| t.item(i))
            .collect::<Result<Vec<_>, _>>()?;
        parts.push(Q::Or(alts));
    }
    let det = &rule.detection;
    let searches = det
        .searches
        .iter()
        .map(|s| t.search(&s.search))
        .collect::<Result<Vec<_>, _>>()?;
    parts.push(t.condition(&det.condition, rule, &searches, true)?);
    let root = simplify(Q::And(parts));
    let query = match &root {
        Q::And(_) | Q::Or(_) => render(&root),
        Q::Vals { vals, .. } if vals.len() > 1 && matches!(root, Q::Vals { field: None, .. }) => {
            render(&root)
        }
        _ => format!("({})", render(&root)),
    };
    let mut caveats = t.caveats;
    caveats.dedup();
    Ok(LuceneQuery { query, caveats })
}

struct Translator<'a> {
    ls: &'a Logsource,
    mapping: &'a dyn FieldMapping,
    placeholders: &'a HashMap<String, Vec<String>>,
    caveats: Vec<String>,
}

impl Translator<'_> {
    fn caveat(&mut self, c: String) {
        if !self.caveats.contains(&c) {
            self.caveats.push(c);
        }
    }

    fn condition(
        &mut self,
        c: &Condition,
        rule: &Rule,
        searches: &[Q],
        root: bool,
    ) -> Result<Q, LuceneError> {
        let group = |q: &Q| {
            if root {
                q.clone()
            } else {
                Q::Group(Box::new(q.clone()))
            }
        };
        Ok(match c {
            Condition::Ident(name) => {
                let i = rule.detection.searches.iter().position(|s| &s.name == name);
                // The loader rejects unknown identifiers; an empty OR never matches.
                i.map(|i| group(&searches[i])).unwrap_or(Q::Or(Vec::new()))
            }
            Condition::And(v) => Q::And(
                v.iter()
                    .map(|c| self.condition(c, rule, searches, false))
                    .collect::<Result<_, _>>()?,
            ),
            Condition::Or(v) => Q::Or(
                v.iter()
                    .map(|c| self.condition(c, rule, searches, false))
                    .collect::<Result<_, _>>()?,
            ),
            Condition::Not(c) => Q::Not(Box::new(self.condition(c, rule, searches, false)?)),
            Condition::Of { quantifier, target } => {
                let picked: Vec<Q> = resolve_of(target, &rule.detection.searches)
                    .into_iter()
                    .map(|i| Q::Group(Box::new(searches[i].clone())))
                    .collect();
                match quantifier {
                    Quantifier::All => Q::And(picked),
                    Quantifier::AtLeast(1) => Q::Or(picked),
                    Quantifier::AtLeast(n) => {
                        Q::Or(combinations(&picked, *n)?.into_iter().map(Q::And).collect())
                    }
                }
            }
        })
    }

    fn search(&mut self, s: &Search) -> Result<Q, LuceneError> {
        Ok(match s {
            Search::AllOf(items) => Q::And(
                items
                    .iter()
                    .map(|i| self.item(i))
                    .collect::<Result<_, _>>()?,
            ),
            Search::AnyOf(v) => Q::Or(v.iter().map(|s| self.search(s)).collect::<Result<_, _>>()?),
            Search::Item(i) => self.item(i)?,
        })
    }

    fn item(&mut self, item: &DetectionItem) -> Result<Q, LuceneError> {
        let fields: Vec<Option<String>> = match &item.field {
            None => vec![None],
            Some(f) => self
                .mapping
                .map_field(self.ls, f)
                .into_iter()
                .map(Some)
                .collect(),
        };
        let mut alts = Vec::new();
        for field in fields {
            let mut vals = Vec::new();
            let mut others = Vec::new();
            for p in &item.applied.patterns {
                for c in self.pattern(field.as_deref(), p)? {
                    match c {
                        Clause::Val(v) => vals.push(v),
                        Clause::Full(q) => others.push(q),
                    }
                }
            }
            let all = item.applied.all;
            let mut parts = Vec::new();
            if !vals.is_empty() {
                parts.push(Q::Vals {
                    field: field.clone(),
                    vals,
                    all,
                });
            }
            parts.extend(others);
            alts.push(if all { Q::And(parts) } else { Q::Or(parts) });
        }
        let q = Q::Or(alts);
        Ok(if item.applied.negated {
            Q::Not(Box::new(q))
        } else {
            q
        })
    }

    fn pattern(&mut self, field: Option<&str>, p: &Pattern) -> Result<Vec<Clause>, LuceneError> {
        let exists =
            |f: Option<&str>| Q::Raw(format!("_exists_:{}", escape_term(f.unwrap_or("*"))));
        Ok(match p {
            Pattern::Str { s, cased, .. } => {
                if *cased {
                    self.caveat(
                        "`cased`: query_string phrases on analysed fields ignore case".into(),
                    );
                }
                let mut out = Vec::new();
                for s in crate::compile::expand_placeholders(s, self.placeholders)? {
                    out.push(self.string(field, &s));
                }
                out
            }
            Pattern::Regex { regex, flags } => {
                if flags.ignore_case || flags.multi_line || flags.dot_all {
                    self.caveat("regex flags (i, m, s) have no query_string equivalent; the regexp runs without them".into());
                }
                let (re, problems) = lucene_regexp(regex);
                if !problems.is_empty() {
                    self.caveat(format!(
                        "regex `{regex}` uses syntax Lucene's regexp lacks: {}",
                        problems.join(", ")
                    ));
                }
                vec![Clause::Val(format!("/{re}/"))]
            }
            Pattern::Check(Check::Cidr(net)) => vec![Clause::Val(phrase(&net.to_string()))],
            Pattern::Check(Check::Cmp { op, value }) => {
                let op = match op {
                    CmpOp::Lt => "<",
                    CmpOp::Lte => "<=",
                    CmpOp::Gt => ">",
                    CmpOp::Gte => ">=",
                };
                vec![Clause::Val(format!("{op}{value}"))]
            }
            Pattern::Check(Check::TimePart { part, value }) => {
                self.caveat("time-part modifiers are matched as a regexp on the timestamp text (keyword fields only)".into());
                let re = match part {
                    TimePart::Year => format!("{value:04}-.*"),
                    TimePart::Month => format!("[0-9]{{4}}-{value:02}-.*"),
                    TimePart::Day => format!("[0-9]{{4}}-[0-9]{{2}}-{value:02}.*"),
                    TimePart::Hour => format!("[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[T ]{value:02}:.*"),
                    TimePart::Minute => {
                        format!("[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[T ][0-9]{{2}}:{value:02}.*")
                    }
                    TimePart::Week => return Err(LuceneError::Untranslatable("week")),
                };
                vec![Clause::Val(format!("/{re}/"))]
            }
            Pattern::Check(Check::Exists(true)) => vec![Clause::Full(exists(field))],
            Pattern::Check(Check::Exists(false) | Check::Null) => {
                vec![Clause::Full(Q::Not(Box::new(exists(field))))]
            }
            Pattern::FieldRef(_) => return Err(LuceneError::Untranslatable("fieldref")),
        })
    }

    /// A Sigma string: a phrase when only leading/trailing `*` (Timesketch's
    /// convention), `_exists_` for a lone `*`, else an escaped wildcard term.
    fn string(&mut self, field: Option<&str>, s: &SigmaString) -> Clause {
        let parts = &s.parts;
        let lead = usize::from(parts.first() == Some(&Part::AnyRun));
        let trail = usize::from(parts.len() > lead && parts.last() == Some(&Part::AnyRun));
        let inner = &parts[lead..parts.len() - trail];
        match inner {
            [] if lead + trail > 0 => match field {
                Some(f) => Clause::Full(Q::Raw(format!("_exists_:{}", escape_term(f)))),
                None => Clause::Val("*".into()),
            },
            [] => Clause::Val("\"\"".into()),
            [Part::Lit(t)] => Clause::Val(phrase(t)),
            _ => {
                let mut term = String::new();
                for p in parts {
                    match p {
                        Part::Lit(t) => {
                            if t.contains(['<', '>']) {
                                self.caveat("`<` and `>` cannot be escaped in query_string; matched with `?`".into());
                            }
                            term.push_str(&escape_term(&t.replace(['<', '>'], "?")));
                        }
                        Part::AnyRun => term.push('*'),
                        Part::AnyOne => term.push('?'),
                        // Expanded above; kept as written if one ever remains.
                        Part::Placeholder(n) => term.push_str(&escape_term(&format!("%{n}%"))),
                    }
                }
                self.caveat("wildcard terms match single terms of analysed fields; use keyword fields for exact wildcard semantics".into());
                Clause::Val(term)
            }
        }
    }
}

enum Clause {
    /// Goes after `field:`.
    Val(String),
    /// A complete clause.
    Full(Q),
}

/// Every way to pick `n` of `items` (for `N of pattern`), bounded.
fn combinations(items: &[Q], n: usize) -> Result<Vec<Vec<Q>>, LuceneError> {
    const MAX: usize = 256;
    let mut out: Vec<Vec<Q>> = Vec::new();
    let mut idx: Vec<usize> = (0..n).collect();
    if n > items.len() {
        return Ok(Vec::new());
    }
    loop {
        if out.len() >= MAX {
            return Err(LuceneError::TooManyCombinations(n, items.len()));
        }
        out.push(idx.iter().map(|&i| items[i].clone()).collect());
        let Some(k) = (0..n).rev().find(|&k| idx[k] < items.len() - n + k) else {
            return Ok(out);
        };
        idx[k] += 1;
        for j in k + 1..n {
            idx[j] = idx[j - 1] + 1;
        }
    }
}

/// A quoted phrase: only `"` and `\` need escaping inside quotes.
pub fn phrase(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Escapes query_string's reserved characters and whitespace in a term or
/// field name (Elasticsearch query_string reference, "Reserved characters").
pub fn escape_term(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "+-=&|!(){}[]^\"~*?:\\/".contains(c) || c.is_whitespace() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Sigma `re` (an unanchored search) as a Lucene regexp (anchored on the
/// whole term), with the constructs Lucene lacks listed.
fn lucene_regexp(re: &str) -> (String, Vec<&'static str>) {
    let mut problems = Vec::new();
    for (needle, what) in [
        ("(?", "groups with `(?` flags or lookaround"),
        ("\\d", "`\\d`"),
        ("\\w", "`\\w`"),
        ("\\s", "`\\s`"),
        ("\\b", "`\\b`"),
        ("\\D", "`\\D`"),
        ("\\W", "`\\W`"),
        ("\\S", "`\\S`"),
        ("*?", "lazy quantifiers"),
        ("+?", "lazy quantifiers"),
    ] {
        if re.contains(needle) && !problems.contains(&what) {
            problems.push(what);
        }
    }
    let mut body = re;
    let anchored_start = body.starts_with('^');
    if anchored_start {
        body = &body[1..];
    }
    let anchored_end = body.ends_with('$') && !body.ends_with("\\$");
    if anchored_end {
        body = &body[..body.len() - 1];
    }
    if body.contains('^') && !body.contains("[^") || body.contains('$') && !body.contains("\\$") {
        problems.push("anchors inside the expression");
    }
    let body = body.replace('/', "\\/");
    let mut out = String::new();
    if !anchored_start {
        out.push_str(".*");
    }
    if anchored_start && anchored_end {
        out.push_str(&body);
    } else {
        out.push('(');
        out.push_str(&body);
        out.push(')');
    }
    if !anchored_end {
        out.push_str(".*");
    }
    (out, problems)
}

/// Flattens nested AND/OR (not through groups) and merges OR-ed value lists
/// of one field into `field:(a OR b)`.
fn simplify(q: Q) -> Q {
    match q {
        Q::And(v) | Q::Or(v) if v.len() == 1 => {
            simplify(v.into_iter().next().unwrap_or(Q::Or(Vec::new())))
        }
        Q::And(v) => {
            let mut out = Vec::new();
            for x in v.into_iter().map(simplify) {
                match x {
                    Q::And(inner) => out.extend(inner),
                    x => out.push(x),
                }
            }
            if out.len() == 1 {
                out.pop().unwrap_or(Q::And(Vec::new()))
            } else {
                Q::And(out)
            }
        }
        Q::Or(v) => {
            let mut out: Vec<Q> = Vec::new();
            for x in v.into_iter().map(simplify) {
                let items = match x {
                    Q::Or(inner) => inner,
                    x => vec![x],
                };
                for x in items {
                    if let Q::Vals { field, vals, all } = &x {
                        let mergeable = !*all || vals.len() == 1;
                        if let Some(Q::Vals { vals: prev, .. }) = out.iter_mut().find(|o| {
                            matches!(o, Q::Vals { field: f, vals: pv, all: pa } if f == field && mergeable && (!*pa || pv.len() == 1))
                        }) {
                            prev.extend(vals.iter().cloned());
                            if let Some(Q::Vals { all, .. }) = out.iter_mut().find(|o| matches!(o, Q::Vals { field: f, .. } if f == field)) {
                                *all = false;
                            }
                            continue;
                        }
                    }
                    out.push(x);
                }
            }
            if out.len() == 1 {
                out.pop().unwrap_or(Q::Or(Vec::new()))
            } else {
                Q::Or(out)
            }
        }
        Q::Not(x) => Q::Not(Box::new(simplify(*x))),
        Q::Group(x) => match simplify(*x) {
            x @ (Q::And(_) | Q::Or(_)) => Q::Group(Box::new(x)),
            x => x,
        },
        q => q,
    }
}

fn render(q: &Q) -> String {
    match q {
        Q::Vals { field, vals, all } => {
            let list = if vals.len() == 1 {
                vals[0].clone()
            } else {
                format!("({})", vals.join(if *all { " AND " } else { " OR " }))
            };
            match field {
                Some(f) => format!("{}:{list}", escape_term(f)),
                None => list,
            }
        }
        Q::Raw(s) => s.clone(),
        Q::And(v) if v.is_empty() => "*:*".into(),
        // An empty OR matches nothing.
        Q::Or(v) if v.is_empty() => "(NOT *:*)".into(),
        Q::And(v) => format!(
            "({})",
            v.iter().map(render).collect::<Vec<_>>().join(" AND ")
        ),
        Q::Or(v) => format!(
            "({})",
            v.iter().map(render).collect::<Vec<_>>().join(" OR ")
        ),
        Q::Not(x) => format!("NOT {}", render(x)),
        Q::Group(x) => render(x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::Identity;
    use crate::sigma::rule::{Loaded, parse_text};
    use std::path::Path;

    /// The parts of Timesketch's `data/sigma_config.yaml` (copied in
    /// testdata/timesketch) that its `sigma_util_test.py` rules touch:
    /// logsource conditions in config order, and field mappings.
    struct TimesketchLike;

    impl FieldMapping for TimesketchLike {
        fn map_field(&self, _ls: &Logsource, field: &str) -> Vec<String> {
            let f = match field {
                "EventID" => "event_identifier",
                "ProcessName" | "TargetImage" | "GrantedAccess" | "SourceImage" => "xml_string",
                f => f,
            };
            vec![f.to_string()]
        }

        fn logsource_conditions(&self, ls: &Logsource) -> Vec<Vec<DetectionItem>> {
            let cond = |field: &str, values: &[&str]| {
                let text = format!(
                    "x:\n  {field}: [{}]\n",
                    values
                        .iter()
                        .map(|v| format!("'{v}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                let doc = crate::sigma::yaml::load_documents(&text).unwrap().remove(0);
                let (k, v) = &doc.entries()[0].1.entries()[0];
                let values: Vec<crate::sigma::rule::RawValue> = match &v.value {
                    crate::sigma::yaml::Value::Seq(items) => items
                        .iter()
                        .map(|i| crate::sigma::rule::RawValue::Str(i.scalar_text().unwrap()))
                        .collect(),
                    _ => unreachable!(),
                };
                let applied = crate::sigma::modifier::apply_modifiers(crate::sigma::modifier::Target::Field, &[], &values).unwrap();
                vec![DetectionItem {
                    field: k.scalar_text(),
                    modifiers: vec![],
                    values,
                    applied,
                    pos: k.pos,
                }]
            };
            let is = |a: &Option<String>, b: &str| a.as_deref() == Some(b);
            let mut out = Vec::new();
            if is(&ls.product, "windows") {
                out.push(cond("data_type", &["windows:evtx:record"]));
            }
            if is(&ls.service, "security") {
                out.push(cond(
                    "source_name",
                    &[
                        "Microsoft-Windows-Security-Auditing",
                        "Microsoft-Windows-Eventlog",
                    ],
                ));
            }
            if is(&ls.service, "shell") {
                out.push(cond(
                    "data_type",
                    &[
                        "shell:zsh:history",
                        "bash:history:command",
                        "apt:history:line",
                        "selinux:line",
                    ],
                ));
            }
            if is(&ls.category, "process_access") && is(&ls.product, "windows") {
                out.push(cond("EventID", &["10"]));
            }
            out
        }
    }

    fn q(text: &str, m: &dyn FieldMapping) -> String {
        match parse_text(Path::new("t.yml"), text).remove(0) {
            Loaded::Rule(r) => to_query(&r, m, &HashMap::new()).unwrap().query,
            Loaded::Failed { issue, .. } => panic!("{issue}"),
        }
    }

    // Expected strings from google/timesketch timesketch/lib/sigma_util_test.py
    // (test_get_rule_by_text), for the same rules and config.

    #[test]
    fn timesketch_zmap_keyword_rule() {
        let rule = "title: Z\nlogsource:\n    product: linux\n    service: shell\ndetection:\n    keywords:\n        - '*apt-get install zmap*'\n    condition: keywords\n";
        assert_eq!(
            q(rule, &TimesketchLike),
            r#"(data_type:("shell:zsh:history" OR "bash:history:command" OR "apt:history:line" OR "selinux:line") AND "apt-get install zmap")"#
        );
    }

    #[test]
    fn timesketch_whitespace_keywords() {
        let rule = "title: W\ndetection:\n    keywords:\n        - 'Whitespace at'\n        - ' beginning '\n        - ' and extra text '\n    condition: keywords\n";
        assert_eq!(
            q(rule, &TimesketchLike),
            r#"("Whitespace at" OR " beginning " OR " and extra text ")"#
        );
        let rule3 = "title: L\nlogsource:\n    product: windows\ndetection:\n    keywords:\n        - ' lorem '\n    condition: keywords\n";
        assert_eq!(
            q(rule3, &TimesketchLike),
            r#"(data_type:"windows:evtx:record" AND " lorem ")"#
        );
    }

    #[test]
    fn timesketch_login_with_wmi() {
        let rule = "title: Login with WMI\nlogsource:\n    product: windows\n    service: security\ndetection:\n    selection:\n        EventID: 4624\n        ProcessName|endswith: '\\WmiPrvSE.exe'\n    condition: selection\n";
        assert_eq!(
            q(rule, &TimesketchLike),
            r#"(data_type:"windows:evtx:record" AND source_name:("Microsoft-Windows-Security-Auditing" OR "Microsoft-Windows-Eventlog") AND event_identifier:"4624" AND xml_string:"\\WmiPrvSE.exe")"#
        );
    }

    #[test]
    fn timesketch_startswith_endswith_selection_is_grouped() {
        let rule = "title: M\nlogsource:\n    category: process_access\n    product: windows\ndetection:\n    selection:\n        TargetImage|endswith: '\\foobar.exe'\n        GrantedAccess|endswith: '10'\n    filter1:\n        SourceImage: 'C:\\WINDOWS\\system32\\foo.exe'\n    condition: selection and not 1 of filter*\n";
        let got = q(rule, &TimesketchLike);
        // Timesketch asserts this substring.
        assert!(
            got.contains(
                r#"event_identifier:"10" AND (xml_string:"\\foobar.exe" AND xml_string:"10""#
            ),
            "{got}"
        );
        assert!(
            got.ends_with(r#"AND NOT xml_string:"C:\\WINDOWS\\system32\\foo.exe")"#),
            "{got}"
        );
    }

    #[test]
    fn timesketch_dots_agree_in_meaning() {
        // Timesketch expects `("aaa:bbb" OR "ccc\:\:ddd")`: inside a phrase
        // `\:` is just `:`, so the unescaped form is the same query.
        let rule = "title: D\ndetection:\n    keywords:\n        - 'aaa:bbb'\n        - 'ccc::ddd'\n    condition: keywords\n";
        assert_eq!(q(rule, &Identity), r#"("aaa:bbb" OR "ccc::ddd")"#);
    }

    #[test]
    fn escaping_and_typed_values() {
        let rule = |sel: &str| format!("title: E\ndetection:\n  sel:\n{sel}\n  condition: sel\n");
        assert_eq!(
            q(&rule("    a: 'say \"hi\" \\\\ now'"), &Identity),
            r#"(a:"say \"hi\" \\ now")"#
        );
        assert_eq!(
            q(
                &rule("    'my field': 'C:\\Users\\\\*\\x y.exe'"),
                &Identity
            ),
            r#"(my\ field:C\:\\Users\\*\\x\ y.exe)"#
        );
        assert_eq!(q(&rule("    a: 'a?c'"), &Identity), "(a:a?c)");
        assert_eq!(q(&rule("    a: '*'"), &Identity), "(_exists_:a)");
        assert_eq!(q(&rule("    a: null"), &Identity), "(NOT _exists_:a)");
        assert_eq!(q(&rule("    a|exists: true"), &Identity), "(_exists_:a)");
        assert_eq!(
            q(&rule("    a|cidr: 10.0.0.0/8"), &Identity),
            r#"(a:"10.0.0.0/8")"#
        );
        assert_eq!(q(&rule("    a|gte: 5"), &Identity), "(a:>=5)");
        assert_eq!(q(&rule("    a|re: 'x/y'"), &Identity), r"(a:/.*(x\/y).*/)");
        assert_eq!(q(&rule("    a|re: '^ab$'"), &Identity), "(a:/ab/)");
        assert_eq!(
            q(&rule("    a|contains|all: [x, y]"), &Identity),
            r#"(a:("x" AND "y"))"#
        );
        assert_eq!(q(&rule("    a|neq: x"), &Identity), r#"(NOT a:"x")"#);
        assert_eq!(
            q(&rule("    a|hour: 7"), &Identity),
            "(a:/[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]07:.*/)"
        );
    }

    #[test]
    fn conditions_and_errors() {
        let text = "title: C\ndetection:\n  s1: {a: 1}\n  s2: {b: 2}\n  s3: {c: 3}\n  condition: 2 of s*\n";
        assert_eq!(
            q(text, &Identity),
            r#"((a:"1" AND b:"2") OR (a:"1" AND c:"3") OR (b:"2" AND c:"3"))"#
        );
        let fr = "title: F\ndetection:\n  s: {a|fieldref: b}\n  condition: s\n";
        let Loaded::Rule(r) = parse_text(Path::new("t.yml"), fr).remove(0) else {
            panic!()
        };
        assert_eq!(
            to_query(&r, &Identity, &HashMap::new()),
            Err(LuceneError::Untranslatable("fieldref"))
        );
        let re = "title: R\ndetection:\n  s: {a|re|i: '\\d+'}\n  condition: s\n";
        let Loaded::Rule(r) = parse_text(Path::new("t.yml"), re).remove(0) else {
            panic!()
        };
        assert_eq!(
            to_query(&r, &Identity, &HashMap::new())
                .unwrap()
                .caveats
                .len(),
            2
        );
    }
}
