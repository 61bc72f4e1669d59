//! The Sigma rule model and its parser.
//!
//! This module owns turning YAML documents into typed [`Rule`]s: metadata,
//! `logsource`, and `detection` (search identifiers made of detection items,
//! and the parsed condition). It handles multi-document rule collections
//! (`action: global`, `reset`, `repeat`) and recognises documents it does not
//! evaluate (correlation and filter documents). Everything here is
//! backend-agnostic: field mapping lives in `mapping`, matchers in `compile`.

use std::path::{Path, PathBuf};

use super::{condition, modifier};
use crate::error::{RuleError, RuleIssue, Unsupported};
use crate::sigma::yaml::{self, Node, Pos, Value};
pub use super::condition::{Condition, OfTarget, Quantifier};
pub use super::modifier::{Applied, Modifier};
pub use super::value::{Check, FieldRef, Pattern, RawValue, SigmaString};

/// A rule's `logsource`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Logsource {
    pub category: Option<String>,
    pub product: Option<String>,
    pub service: Option<String>,
    pub definition: Option<String>,
}

/// One `field|modifiers: values` entry (or a keyword list, `field == None`).
#[derive(Debug, Clone, PartialEq)]
pub struct DetectionItem {
    pub field: Option<String>,
    pub modifiers: Vec<Modifier>,
    pub values: Vec<RawValue>,
    /// The values after applying the modifiers.
    pub applied: Applied,
    pub pos: Pos,
}

/// The body of a search identifier.
#[derive(Debug, Clone, PartialEq)]
pub enum Search {
    /// A mapping: every item must match (AND).
    AllOf(Vec<DetectionItem>),
    /// A list: any element must match (OR). Elements are maps or keywords.
    AnyOf(Vec<Search>),
    /// A single item (keyword list or keyword with modifiers).
    Item(DetectionItem),
}

/// A named search identifier of the `detection` section.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedSearch {
    pub name: String,
    pub pos: Pos,
    pub search: Search,
}

/// The `detection` section.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub searches: Vec<NamedSearch>,
    /// The condition(s); a list of conditions is an OR (spec, "Condition").
    pub conditions: Vec<(String, Pos)>,
    pub condition: Condition,
    pub timeframe: Option<String>,
}

/// A parsed Sigma detection rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub path: PathBuf,
    /// Index of the YAML document in the file (0-based) and its position.
    pub document: usize,
    pub pos: Pos,
    pub title: String,
    pub id: Option<String>,
    /// The rule's `name` (correlation rules reference rules by it).
    pub name: Option<String>,
    pub status: Option<String>,
    pub level: Option<String>,
    pub description: Option<String>,
    pub author: Option<String>,
    pub tags: Vec<String>,
    pub logsource: Logsource,
    pub detection: Detection,
    /// The (merged) YAML document, for checks that look at raw keys.
    pub raw: Node,
}

/// The outcome of loading one rule document.
#[derive(Debug, Clone)]
pub enum Loaded {
    Rule(Box<Rule>),
    /// A document that could not become a rule, with the best known
    /// metadata so reports can still name it.
    Failed {
        issue: RuleIssue,
        title: Option<String>,
        id: Option<String>,
    },
}

/// Reads one rule file and returns one entry per rule document.
pub fn load_file(path: &Path) -> Vec<Loaded> {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => parse_text(path, &text),
            Err(e) => vec![failed(
                path,
                None,
                RuleError::Io(format!("not UTF-8: {e}")),
                None,
            )],
        },
        Err(e) => vec![failed(path, None, RuleError::Io(e.to_string()), None)],
    }
}

fn failed(path: &Path, pos: Option<Pos>, error: RuleError, doc: Option<&Node>) -> Loaded {
    Loaded::Failed {
        issue: RuleIssue {
            path: path.to_path_buf(),
            pos,
            error,
        },
        title: doc
            .and_then(|d| d.get("title"))
            .and_then(|t| t.scalar_text()),
        id: doc.and_then(|d| d.get("id")).and_then(|t| t.scalar_text()),
    }
}

/// Parses the text of a rule file (one or more YAML documents).
pub fn parse_text(path: &Path, text: &str) -> Vec<Loaded> {
    for_each_document(path, text, |index, doc| parse_document(path, index, doc))
}

/// Walks the documents of a rule file with collections (`action: global`,
/// `reset`, `repeat`) merged, handing each rule document to `each`;
/// documents that cannot be rules become [`Loaded::Failed`].
pub(crate) fn for_each_document(
    path: &Path,
    text: &str,
    mut each: impl FnMut(usize, Node) -> Loaded,
) -> Vec<Loaded> {
    let docs = match yaml::load_documents(text) {
        Ok(d) => d,
        Err(e) => return vec![failed(path, Some(e.pos), RuleError::Yaml(e.message), None)],
    };
    let mut out = Vec::new();
    let mut global: Option<Node> = None;
    let mut previous: Option<Node> = None;
    // `previous` is only read by a later `action: repeat`: a rule after the
    // last one is not copied (a deep copy of every rule's tree was a tenth
    // of loading).
    fn action_of(d: &Node) -> Option<&str> {
        d.get("action").and_then(|a| a.as_str())
    }
    let last_repeat = docs.iter().rposition(|d| action_of(d) == Some("repeat"));
    let keep_previous = |index: usize| last_repeat.is_some_and(|r| index < r);
    for (index, doc) in docs.into_iter().enumerate() {
        if !matches!(doc.value, Value::Map(_)) {
            if matches!(doc.value, Value::Null) {
                continue; // an empty document (e.g. trailing `---`)
            }
            out.push(failed(
                path,
                Some(doc.pos),
                RuleError::WrongType {
                    key: "document".into(),
                    expected: "mapping",
                    found: doc.kind(),
                },
                None,
            ));
            continue;
        }
        let action = action_of(&doc).map(str::to_string);
        match action.as_deref() {
            Some("global") => {
                global = Some(without_key(&doc, "action"));
                continue;
            }
            Some("reset") => {
                global = None;
                continue;
            }
            Some("repeat") => {
                let Some(prev) = &previous else {
                    out.push(failed(
                        path,
                        Some(doc.pos),
                        RuleError::Collection("`action: repeat` without a previous rule".into()),
                        None,
                    ));
                    continue;
                };
                let merged = merge(prev, &without_key(&doc, "action"));
                previous = keep_previous(index).then(|| merged.clone());
                out.push(each(index, merged));
            }
            Some(other) => {
                let pos = doc.get("action").map(|a| a.pos);
                out.push(failed(
                    path,
                    pos,
                    RuleError::Collection(format!("unknown action `{other}`")),
                    Some(&doc),
                ));
            }
            None => {
                let merged = match &global {
                    Some(g) => merge(g, &doc),
                    None => doc,
                };
                previous = keep_previous(index).then(|| merged.clone());
                out.push(each(index, merged));
            }
        }
    }
    if out.is_empty() {
        out.push(failed(
            path,
            None,
            RuleError::Collection("the file holds no rule".into()),
            None,
        ));
    }
    out
}

fn without_key(doc: &Node, key: &str) -> Node {
    let entries = doc
        .entries()
        .iter()
        .filter(|(k, _)| k.as_str() != Some(key))
        .cloned()
        .collect();
    Node {
        pos: doc.pos,
        value: Value::Map(entries),
    }
}

/// Deep merge used by rule collections: mappings merge key by key, anything
/// else in `over` replaces `base`.
fn merge(base: &Node, over: &Node) -> Node {
    match (&base.value, &over.value) {
        (Value::Map(b), Value::Map(o)) => {
            let mut entries = b.clone();
            for (k, v) in o {
                if let Some(slot) = entries.iter_mut().find(|(bk, _)| bk.value == k.value) {
                    slot.1 = merge(&slot.1, v);
                } else {
                    entries.push((k.clone(), v.clone()));
                }
            }
            Node {
                pos: over.pos,
                value: Value::Map(entries),
            }
        }
        _ => over.clone(),
    }
}

pub(crate) fn parse_document(path: &Path, index: usize, doc: Node) -> Loaded {
    match parse_rule(path, index, &doc) {
        Ok(mut r) => {
            // Move the document in rather than cloning it in `parse_rule`.
            r.raw = doc;
            Loaded::Rule(Box::new(r))
        }
        Err((pos, e)) => failed(path, pos.or(Some(doc.pos)), e, Some(&doc)),
    }
}

type Located<T> = Result<T, (Option<Pos>, RuleError)>;

fn opt_text(doc: &Node, key: &str) -> Option<String> {
    doc.get(key).and_then(|n| n.scalar_text())
}

fn string_list(doc: &Node, key: &str) -> Located<Vec<String>> {
    match doc.get(key) {
        None => Ok(Vec::new()),
        Some(n) => match &n.value {
            Value::Null => Ok(Vec::new()),
            Value::Seq(items) => items
                .iter()
                .map(|i| {
                    i.scalar_text().ok_or((
                        Some(i.pos),
                        RuleError::WrongType {
                            key: key.into(),
                            expected: "list of strings",
                            found: i.kind(),
                        },
                    ))
                })
                .collect(),
            _ => n.scalar_text().map(|s| vec![s]).ok_or((
                Some(n.pos),
                RuleError::WrongType {
                    key: key.into(),
                    expected: "list",
                    found: n.kind(),
                },
            )),
        },
    }
}

fn parse_rule(path: &Path, index: usize, doc: &Node) -> Located<Rule> {
    if doc.get("correlation").is_some() {
        return Err((None, RuleError::Unsupported(Unsupported::Correlation)));
    }
    if doc.get("filter").is_some() && doc.get("detection").is_none() {
        return Err((None, RuleError::Unsupported(Unsupported::Filter)));
    }
    let title = match doc.get("title") {
        None => return Err((None, RuleError::MissingKey("title"))),
        Some(t) => t.scalar_text().ok_or((
            Some(t.pos),
            RuleError::WrongType {
                key: "title".into(),
                expected: "string",
                found: t.kind(),
            },
        ))?,
    };
    let logsource = match doc.get("logsource") {
        None => Logsource::default(),
        Some(ls) if matches!(ls.value, Value::Map(_)) => Logsource {
            category: opt_text(ls, "category"),
            product: opt_text(ls, "product"),
            service: opt_text(ls, "service"),
            definition: opt_text(ls, "definition"),
        },
        Some(ls) => {
            return Err((
                Some(ls.pos),
                RuleError::WrongType {
                    key: "logsource".into(),
                    expected: "mapping",
                    found: ls.kind(),
                },
            ));
        }
    };
    let det_node = doc
        .get("detection")
        .ok_or((None, RuleError::MissingKey("detection")))?;
    let detection = parse_detection(det_node)?;
    Ok(Rule {
        path: path.to_path_buf(),
        document: index,
        pos: doc.pos,
        title,
        id: opt_text(doc, "id"),
        name: opt_text(doc, "name"),
        status: opt_text(doc, "status"),
        level: opt_text(doc, "level"),
        description: opt_text(doc, "description"),
        author: opt_text(doc, "author"),
        tags: string_list(doc, "tags")?,
        logsource,
        detection,
        raw: Node {
            pos: doc.pos,
            value: Value::Null,
        },
    })
}

fn parse_detection(det: &Node) -> Located<Detection> {
    let Value::Map(entries) = &det.value else {
        return Err((
            Some(det.pos),
            RuleError::WrongType {
                key: "detection".into(),
                expected: "mapping",
                found: det.kind(),
            },
        ));
    };
    let mut searches = Vec::new();
    let mut conditions = Vec::new();
    let mut timeframe = None;
    for (k, v) in entries {
        let Some(name) = k.scalar_text() else {
            return Err((
                Some(k.pos),
                RuleError::Detection("search identifier must be a string".into()),
            ));
        };
        match name.as_str() {
            "condition" => match &v.value {
                Value::Str(s) => conditions.push((s.clone(), v.pos)),
                Value::Seq(items) => {
                    for i in items {
                        let s = i.as_str().ok_or((
                            Some(i.pos),
                            RuleError::WrongType {
                                key: "condition".into(),
                                expected: "string",
                                found: i.kind(),
                            },
                        ))?;
                        conditions.push((s.to_string(), i.pos));
                    }
                }
                _ => {
                    return Err((
                        Some(v.pos),
                        RuleError::WrongType {
                            key: "condition".into(),
                            expected: "string",
                            found: v.kind(),
                        },
                    ));
                }
            },
            "timeframe" => timeframe = v.scalar_text(),
            _ => searches.push(NamedSearch {
                name: name.clone(),
                pos: k.pos,
                search: parse_search(v)?,
            }),
        }
    }
    if conditions.is_empty() {
        return Err((Some(det.pos), RuleError::MissingKey("condition")));
    }
    let mut parsed = Vec::new();
    for (c, pos) in &conditions {
        parsed.push(condition::parse(c).map_err(|e| (Some(*pos), e))?);
    }
    let condition = if parsed.len() == 1 {
        parsed.pop().unwrap()
    } else {
        Condition::Or(parsed)
    };
    // Resolve identifiers now so unknown names are reported at parse time.
    check_identifiers(&condition, &searches).map_err(|e| (Some(conditions[0].1), e))?;
    Ok(Detection {
        searches,
        conditions,
        condition,
        timeframe,
    })
}

fn check_identifiers(c: &Condition, searches: &[NamedSearch]) -> Result<(), RuleError> {
    match c {
        Condition::Ident(name) => {
            if searches.iter().any(|s| &s.name == name) {
                Ok(())
            } else {
                Err(RuleError::UnknownIdentifier(name.clone()))
            }
        }
        Condition::And(v) | Condition::Or(v) => {
            v.iter().try_for_each(|c| check_identifiers(c, searches))
        }
        Condition::Not(c) => check_identifiers(c, searches),
        Condition::Of { target, .. } => {
            if resolve_of(target, searches).is_empty() {
                Err(match target {
                    OfTarget::Them => {
                        RuleError::Detection("`them` but no search identifiers".into())
                    }
                    OfTarget::Pattern(p) => RuleError::EmptyPattern(p.clone()),
                })
            } else {
                Ok(())
            }
        }
    }
}

/// The indexes of the search identifiers an `of` target selects. `them`
/// skips identifiers starting with `_` (spec, "1/all of them").
pub fn resolve_of(target: &OfTarget, searches: &[NamedSearch]) -> Vec<usize> {
    searches
        .iter()
        .enumerate()
        .filter(|(_, s)| match target {
            OfTarget::Them => !s.name.starts_with('_'),
            OfTarget::Pattern(p) => condition::pattern_matches(p, &s.name),
        })
        .map(|(i, _)| i)
        .collect()
}

fn raw_value(n: &Node) -> Located<RawValue> {
    RawValue::from_node(n).ok_or_else(|| {
        (
            Some(n.pos),
            RuleError::Detection(format!("a value must be a scalar, found a {}", n.kind())),
        )
    })
}

fn parse_item(key: Option<&str>, pos: Pos, v: &Node) -> Located<DetectionItem> {
    let (field, modifiers) = match key {
        None => (None, Vec::new()),
        Some(k) => {
            let mut parts = k.split('|');
            let field = parts.next().unwrap_or("");
            let mut mods = Vec::new();
            for m in parts {
                mods.push(
                    Modifier::parse(m)
                        .ok_or((Some(pos), RuleError::UnknownModifier(m.to_string())))?,
                );
            }
            ((!field.is_empty()).then(|| field.to_string()), mods)
        }
    };
    let values = match &v.value {
        Value::Seq(items) => items.iter().map(raw_value).collect::<Result<Vec<_>, _>>()?,
        Value::Map(_) => {
            return Err((
                Some(v.pos),
                RuleError::Detection("a field value cannot be a mapping".into()),
            ));
        }
        _ => vec![raw_value(v)?],
    };
    if field.is_none() && values.iter().any(|v| matches!(v, RawValue::Null)) {
        return Err((
            Some(v.pos),
            RuleError::Detection("a keyword cannot be null".into()),
        ));
    }
    let applied =
        modifier::apply_modifiers(
            if field.is_some() { modifier::Target::Field } else { modifier::Target::Keywords },
            &modifiers,
            &values,
        ).map_err(|e| (Some(pos), e))?;
    Ok(DetectionItem {
        field,
        modifiers,
        values,
        applied,
        pos,
    })
}

fn parse_map(entries: &[(Node, Node)]) -> Located<Vec<DetectionItem>> {
    let mut items = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        let key = k.scalar_text().ok_or((
            Some(k.pos),
            RuleError::Detection("field name must be a string".into()),
        ))?;
        items.push(parse_item(Some(&key), k.pos, v)?);
    }
    if items.is_empty() {
        return Err((None, RuleError::Detection("empty search identifier".into())));
    }
    Ok(items)
}

fn parse_search(v: &Node) -> Located<Search> {
    match &v.value {
        Value::Map(entries) => parse_map(entries).map(Search::AllOf),
        Value::Seq(items) => {
            if items.is_empty() {
                return Err((
                    Some(v.pos),
                    RuleError::Detection("empty search identifier".into()),
                ));
            }
            // A list of plain values is one keyword item (OR); a list of maps
            // is an OR of ANDs; pySigma also accepts a mix.
            if items
                .iter()
                .all(|i| !matches!(i.value, Value::Map(_) | Value::Seq(_)))
            {
                return parse_item(None, v.pos, v).map(Search::Item);
            }
            let mut alts = Vec::new();
            for i in items {
                alts.push(match &i.value {
                    Value::Map(e) => Search::AllOf(parse_map(e)?),
                    Value::Seq(_) => {
                        return Err((
                            Some(i.pos),
                            RuleError::Detection("nested lists are not allowed".into()),
                        ));
                    }
                    _ => Search::Item(parse_item(None, i.pos, i)?),
                });
            }
            Ok(Search::AnyOf(alts))
        }
        Value::Null => Err((
            Some(v.pos),
            RuleError::Detection("empty search identifier".into()),
        )),
        _ => parse_item(None, v.pos, v).map(Search::Item),
    }
}

impl Search {
    /// Every detection item below this search.
    pub fn items(&self) -> Vec<&DetectionItem> {
        match self {
            Search::AllOf(v) => v.iter().collect(),
            Search::AnyOf(v) => v.iter().flat_map(|s| s.items()).collect(),
            Search::Item(i) => vec![i],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Result<Rule, RuleIssue> {
        match parse_text(Path::new("t.yml"), text).remove(0) {
            Loaded::Rule(r) => Ok(*r),
            Loaded::Failed { issue, .. } => Err(issue),
        }
    }

    #[test]
    fn parses_a_rule() {
        let r = one("title: T\nid: x\nlogsource: {product: windows}\ndetection:\n  sel:\n    Image|endswith: '\\cmd.exe'\n    EventID: [1, 4688]\n  condition: sel\nlevel: high\ntags: [attack.t1059]\n").unwrap();
        assert_eq!(r.title, "T");
        assert_eq!(r.logsource.product.as_deref(), Some("windows"));
        assert_eq!(r.tags, vec!["attack.t1059"]);
        let Search::AllOf(items) = &r.detection.searches[0].search else {
            panic!()
        };
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].values, vec![RawValue::Int(1), RawValue::Int(4688)]);
    }

    #[test]
    fn errors_have_positions() {
        let e = one("title: T\ndetection:\n  sel:\n    a|foo: 1\n  condition: sel\n").unwrap_err();
        assert_eq!(e.error, RuleError::UnknownModifier("foo".into()));
        assert_eq!(e.pos.unwrap().line, 4);
        let e = one("title: T\ndetection:\n  sel:\n    a: 1\n  condition: sel and other\n")
            .unwrap_err();
        assert_eq!(e.error, RuleError::UnknownIdentifier("other".into()));
        assert_eq!(e.pos.unwrap().line, 5);
        let e = one("title: T\ndetection:\n  sel:\n    a: 1\n").unwrap_err();
        assert_eq!(e.error, RuleError::MissingKey("condition"));
        let e = one("title: T\nlogsource: {}\n").unwrap_err();
        assert_eq!(e.error, RuleError::MissingKey("detection"));
        let e = one("title: T\ndetection:\n  sel:\n    a|re: '('\n  condition: sel\n").unwrap_err();
        assert!(matches!(e.error, RuleError::Regex { .. }));
        let e = one("title: [\n").unwrap_err();
        assert!(matches!(e.error, RuleError::Yaml(_)));
        let e = one("title: T\ndetection:\n  sel: {a: 1}\n  condition: sel | count() > 3\n")
            .unwrap_err();
        assert_eq!(e.error, RuleError::Unsupported(Unsupported::Aggregation));
    }

    #[test]
    fn collections_global_repeat_reset() {
        let text = "action: global\ntitle: G\ndetection:\n  condition: sel\n---\nlogsource: {product: a}\ndetection:\n  sel: {x: 1}\n---\naction: repeat\nlogsource: {product: b}\n---\naction: reset\n---\ntitle: Other\ndetection:\n  s: {y: 2}\n  condition: s\n";
        let loaded = parse_text(Path::new("c.yml"), text);
        let rules: Vec<Rule> = loaded
            .into_iter()
            .map(|l| match l {
                Loaded::Rule(r) => *r,
                Loaded::Failed { issue, .. } => panic!("{issue}"),
            })
            .collect();
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[0].title, "G");
        assert_eq!(rules[1].title, "G");
        assert_eq!(rules[1].logsource.product.as_deref(), Some("b"));
        assert_eq!(rules[2].title, "Other");
    }

    #[test]
    fn keyword_lists_and_mixed_lists() {
        let r = one("title: K\ndetection:\n  kw:\n    - foo\n    - bar\n  sel:\n    - a: 1\n    - b: 2\n  kwall:\n    '|all':\n      - x\n      - y\n  condition: kw or sel or kwall\n").unwrap();
        assert!(
            matches!(&r.detection.searches[0].search, Search::Item(i) if i.field.is_none() && i.values.len() == 2)
        );
        assert!(matches!(&r.detection.searches[1].search, Search::AnyOf(v) if v.len() == 2));
        assert!(
            matches!(&r.detection.searches[2].search, Search::AllOf(v) if v[0].field.is_none() && v[0].applied.all)
        );
    }

    #[test]
    fn correlation_documents_are_reported_as_unsupported() {
        let e = one("title: C\ncorrelation:\n  type: event_count\n  rules: [a]\n").unwrap_err();
        assert_eq!(e.error, RuleError::Unsupported(Unsupported::Correlation));
    }
}
