//! Legacy aggregations and `near` (Sigma 1.x conditions such as
//! `selection | count(TargetUserName) by IpAddress > 10` and
//! `selector | near dllload1 and not exclusion`), lowered to a
//! [`Correlation`] over hidden rules made from the same detection.
//!
//! Meaning (Sigma 1.x specification, "Aggregation expression" and "Near
//! aggregation expression"): the aggregation runs over the events the part
//! before `|` matches, per `by` group, within the rule's `timeframe` (a
//! sliding window over event time) or, without `timeframe`, over the whole
//! input. `count()` is an `event_count`, `count(f)` a `value_count` of `f`,
//! `sum`/`avg` are `value_sum`/`value_avg`, `min`/`max` compare the smallest
//! / largest value of the field. `near` asks that events of the listed
//! searches occur within `timeframe` of an event of the part before `|`
//! (a `temporal` correlation with a boolean condition); `near` without
//! `timeframe` has no defined window and stays unsupported.

use std::path::Path;

use super::{BoolExpr, Condition, Correlation, Kind, Op, Origin, Timespan};
use crate::error::{RuleError, RuleIssue};
use crate::sigma::rule::{Loaded, Rule};
use crate::sigma::yaml::{Node, Pos, Value};

/// Whether a condition text uses an aggregation or `near`.
pub fn is_legacy(condition: &str) -> bool {
    condition.contains('|')
        || condition
            .split_whitespace()
            .any(|w| w.eq_ignore_ascii_case("near"))
}

/// The legacy condition of a detection document, if any.
pub fn legacy_condition(doc: &Node) -> Option<(String, Pos)> {
    let det = doc.get("detection")?;
    let c = det.get("condition")?;
    match &c.value {
        Value::Str(s) if is_legacy(s) => Some((s.clone(), c.pos)),
        Value::Seq(items) => items.iter().find_map(|i| match &i.value {
            Value::Str(s) if is_legacy(s) => Some((s.clone(), i.pos)),
            _ => None,
        }),
        _ => None,
    }
}

fn undefined(path: &Path, pos: Pos, why: String) -> RuleIssue {
    RuleIssue {
        path: path.to_path_buf(),
        pos: Some(pos),
        error: RuleError::Undefined(why),
    }
}

fn bad(path: &Path, pos: Pos, why: String) -> RuleIssue {
    RuleIssue {
        path: path.to_path_buf(),
        pos: Some(pos),
        error: RuleError::Correlation(why),
    }
}

/// A copy of mapping `node` with `key` set to `value` (or removed).
fn with_entry(node: &Node, key: &str, value: Option<Node>) -> Node {
    let mut entries: Vec<(Node, Node)> = node
        .entries()
        .iter()
        .filter(|(k, _)| k.as_str() != Some(key))
        .cloned()
        .collect();
    if let Some(v) = value {
        entries.push((
            Node {
                pos: v.pos,
                value: Value::Str(key.to_string()),
            },
            v,
        ));
    }
    Node {
        pos: node.pos,
        value: Value::Map(entries),
    }
}

fn str_node(pos: Pos, s: &str) -> Node {
    Node {
        pos,
        value: Value::Str(s.to_string()),
    }
}

/// A hidden rule: the document with `condition` replaced, a synthetic
/// `name` and no `id`.
fn hidden_rule(path: &Path, index: usize, doc: &Node, condition: &str, name: &str, pos: Pos) -> Result<Rule, RuleIssue> {
    let det = doc.get("detection").cloned().unwrap_or(Node {
        pos,
        value: Value::Null,
    });
    let det = with_entry(&det, "condition", Some(str_node(pos, condition)));
    let det = with_entry(&det, "timeframe", None);
    let d = with_entry(doc, "detection", Some(det));
    let d = with_entry(&d, "id", None);
    let d = with_entry(&d, "name", Some(str_node(pos, name)));
    match crate::sigma::rule::parse_document(path, index, d) {
        Loaded::Rule(r) => Ok(*r),
        Loaded::Failed { issue, .. } => Err(issue),
    }
}

/// Lowers a detection document with a legacy condition: the hidden rules
/// (to compile and evaluate, never reported) and the correlation.
pub fn lower(path: &Path, index: usize, doc: &Node) -> Result<(Vec<Rule>, Correlation), RuleIssue> {
    let (cond, pos) = legacy_condition(doc).ok_or_else(|| bad(path, doc.pos, "no aggregation or near in the condition".into()))?;
    let det = doc.get("detection").ok_or_else(|| bad(path, doc.pos, "no detection".into()))?;
    if matches!(det.get("condition").map(|c| &c.value), Some(Value::Seq(v)) if v.len() > 1) {
        return Err(undefined(path, pos, "a list of conditions one of which aggregates: the 1.x specification does not say how an aggregation combines with the other conditions".into()));
    }
    let timeframe = match det.get("timeframe").or_else(|| doc.get("timeframe")) {
        Some(t) => Some(Timespan::parse(&t.scalar_text().unwrap_or_default()).map_err(|m| bad(path, t.pos, format!("timeframe: {m}")))?),
        None => None,
    };
    // Comments after the condition are YAML comments and already gone.
    let (left, right) = match cond.split_once('|') {
        Some((l, r)) => (l.trim().to_string(), r.trim().to_string()),
        None => {
            // `a near b` without a pipe: the 1.x grammar puts near after `|`.
            return Err(undefined(path, pos, format!("`near` outside an aggregation expression (`{cond}`): the 1.x grammar defines `search | near ...` only")));
        }
    };
    if right.contains('|') {
        return Err(undefined(path, pos, format!("more than one `|` in `{cond}`: the 1.x grammar has one aggregation per condition")));
    }
    if left.is_empty() {
        return Err(undefined(path, pos, format!("aggregation without a search before `|` (`{cond}`)")));
    }
    let title = doc.get("title").and_then(Node::scalar_text).unwrap_or_default();
    let key = doc
        .get("id")
        .and_then(Node::scalar_text)
        .unwrap_or_else(|| format!("{}#{index}", path.display()));
    let searches: Vec<String> = det
        .entries()
        .iter()
        .filter_map(|(k, _)| k.scalar_text())
        .filter(|k| k != "condition" && k != "timeframe")
        .collect();
    let mut first = right.split_whitespace();
    let (kind, rules, group_by, condition, hidden) = if first.next().is_some_and(|w| w.eq_ignore_ascii_case("near")) {
        let Some(span) = timeframe else {
            return Err(undefined(path, pos, format!("`near` without `timeframe` (`{cond}`): the 1.x specification defines near only within a timeframe")));
        };
        let rest = right[4..].trim();
        let expr = super::parse::parse_bool(rest).map_err(|m| bad(path, pos, format!("near: {m}")))?;
        let base_name = format!("legacy:{key}:base");
        let mut hidden = vec![hidden_rule(path, index, doc, &left, &base_name, pos)?];
        let mut rules = vec![(base_name.clone(), pos)];
        for n in expr.names() {
            if !searches.contains(&n) {
                return Err(bad(path, pos, format!("near: `{n}` is not a search identifier of this rule")));
            }
            let name = format!("legacy:{key}:{n}");
            hidden.push(hidden_rule(path, index, doc, &n, &name, pos)?);
            rules.push((name, pos));
        }
        fn rename(e: &BoolExpr, key: &str) -> BoolExpr {
            match e {
                BoolExpr::Rule(n) => BoolExpr::Rule(format!("legacy:{key}:{n}")),
                BoolExpr::And(v) => BoolExpr::And(v.iter().map(|x| rename(x, key)).collect()),
                BoolExpr::Or(v) => BoolExpr::Or(v.iter().map(|x| rename(x, key)).collect()),
                BoolExpr::Not(x) => BoolExpr::Not(Box::new(rename(x, key))),
            }
        }
        let c = BoolExpr::And(vec![BoolExpr::Rule(base_name), rename(&expr, &key)]);
        let _ = span;
        (Kind::Temporal, rules, Vec::new(), Condition::Expr(c), hidden)
    } else {
        let agg = parse_aggregation(&right).map_err(|m| bad(path, pos, m))?;
        let kind = match (agg.func.as_str(), agg.field.is_some()) {
            ("count", false) => Kind::EventCount,
            ("count", true) => Kind::ValueCount,
            ("sum", true) => Kind::ValueSum,
            ("avg", true) => Kind::ValueAvg,
            ("min", true) => Kind::ValueMin,
            ("max", true) => Kind::ValueMax,
            (f, false) => return Err(undefined(path, pos, format!("aggregation `{f}()` without a field: the 1.x specification gives it no meaning"))),
            (f, true) => return Err(bad(path, pos, format!("unknown aggregation function `{f}`"))),
        };
        let base_name = format!("legacy:{key}:base");
        let hidden = vec![hidden_rule(path, index, doc, &left, &base_name, pos)?];
        let c = Condition::Compare {
            ops: vec![(agg.op, agg.value)],
            fields: agg.field.into_iter().collect(),
            percentile: None,
        };
        (kind, vec![(base_name, pos)], agg.by, c, hidden)
    };
    let text = |k: &str| doc.get(k).and_then(Node::scalar_text);
    let tags = match doc.get("tags").map(|t| &t.value) {
        Some(Value::Seq(v)) => v.iter().filter_map(Node::scalar_text).collect(),
        _ => Vec::new(),
    };
    Ok((
        hidden,
        Correlation {
            path: path.to_path_buf(),
            document: index,
            pos: doc.pos,
            title,
            id: text("id"),
            name: text("name"),
            status: text("status"),
            level: text("level"),
            description: text("description"),
            tags,
            kind,
            rules,
            group_by,
            timespan: timeframe.unwrap_or(Timespan::WHOLE_INPUT),
            condition,
            aliases: Vec::new(),
            generate: false,
            origin: Origin::Legacy,
        },
    ))
}

/// A parsed `func(field) by a, b op value`.
#[derive(Debug, PartialEq)]
pub struct Aggregation {
    pub func: String,
    pub field: Option<String>,
    pub by: Vec<String>,
    pub op: Op,
    pub value: f64,
}

/// Parses the part after `|` of an aggregation condition.
pub fn parse_aggregation(s: &str) -> Result<Aggregation, String> {
    let bad = || format!("`{s}` is not an aggregation (`count() by field > 10`, `count(field) > 5`, `sum(field) by f < 3`)");
    let open = s.find('(').ok_or_else(bad)?;
    let func = s[..open].trim().to_ascii_lowercase();
    if !["count", "min", "max", "avg", "sum"].contains(&func.as_str()) {
        return Err(format!("unknown aggregation function `{}` in `{s}` (count, min, max, avg, sum)", s[..open].trim()));
    }
    let close = s[open..].find(')').map(|i| i + open).ok_or_else(bad)?;
    let field = s[open + 1..close].trim();
    let field = (!field.is_empty()).then(|| field.to_string());
    let rest = s[close + 1..].trim();
    let op_at = rest.find(['<', '>', '=', '!']).ok_or_else(bad)?;
    let by_part = rest[..op_at].trim();
    let by = if by_part.is_empty() {
        Vec::new()
    } else {
        let words = by_part.strip_prefix("by").or_else(|| by_part.strip_prefix("BY")).ok_or_else(bad)?;
        let v: Vec<String> = words.split(',').map(|w| w.trim().to_string()).filter(|w| !w.is_empty()).collect();
        if v.is_empty() || v.iter().any(|w| w.contains(char::is_whitespace)) {
            return Err(bad());
        }
        v
    };
    let cmp = &rest[op_at..];
    let (op, num) = [("<=", Op::Lte), (">=", Op::Gte), ("==", Op::Eq), ("!=", Op::Neq), ("<", Op::Lt), (">", Op::Gt), ("=", Op::Eq)]
        .iter()
        .find_map(|(t, o)| cmp.strip_prefix(t).map(|r| (*o, r.trim())))
        .ok_or_else(bad)?;
    let value: f64 = num.parse().ok().filter(|v: &f64| v.is_finite()).ok_or_else(bad)?;
    Ok(Aggregation { func, field, by, op, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregations_parse() {
        let a = parse_aggregation("count(TargetUserName) by IpAddress > 10").unwrap();
        assert_eq!(a.func, "count");
        assert_eq!(a.field.as_deref(), Some("TargetUserName"));
        assert_eq!(a.by, vec!["IpAddress"]);
        assert_eq!((a.op, a.value), (Op::Gt, 10.0));
        let a = parse_aggregation("count() > 5").unwrap();
        assert_eq!((a.field, a.by.len()), (None, 0));
        let a = parse_aggregation("count() by TaskName < 5").unwrap();
        assert_eq!(a.op, Op::Lt);
        let a = parse_aggregation("sum(question_length) by src_ip > 300000").unwrap();
        assert_eq!(a.func, "sum");
        assert!(parse_aggregation("median(x) > 3").is_err());
        assert!(parse_aggregation("count() by > 3").is_err());
    }

    #[test]
    fn lowers_count_by_with_timeframe() {
        let text = "title: Brute\nid: r1\nlevel: high\nlogsource: {product: windows, service: security}\ndetection:\n  selection:\n    EventID: 4625\n  timeframe: 5m\n  condition: selection | count(TargetUserName) by IpAddress > 3\n";
        let doc = &crate::sigma::yaml::load_documents(text).unwrap()[0];
        let (hidden, c) = lower(Path::new("r.yml"), 0, doc).unwrap();
        assert_eq!(hidden.len(), 1);
        assert_eq!(hidden[0].name.as_deref(), Some("legacy:r1:base"));
        assert_eq!(hidden[0].id, None);
        assert_eq!(c.kind, Kind::ValueCount);
        assert_eq!(c.group_by, vec!["IpAddress"]);
        assert_eq!(c.timespan.micros, 300_000_000);
        assert_eq!(c.level.as_deref(), Some("high"));
    }

    #[test]
    fn near_needs_a_timeframe() {
        let text = "title: N\ndetection:\n  a: {x: 1}\n  b: {y: 2}\n  condition: a | near b\n";
        let doc = &crate::sigma::yaml::load_documents(text).unwrap()[0];
        let e = lower(Path::new("r.yml"), 0, doc).unwrap_err();
        assert!(e.error.is_unsupported(), "{e}");
        let text = "title: N\ndetection:\n  a: {x: 1}\n  b: {y: 2}\n  c: {z: 3}\n  timeframe: 30s\n  condition: a | near b and not c\n";
        let doc = &crate::sigma::yaml::load_documents(text).unwrap()[0];
        let (hidden, c) = lower(Path::new("r.yml"), 0, doc).unwrap();
        assert_eq!(hidden.len(), 3);
        assert_eq!(c.kind, Kind::Temporal);
        assert!(c.condition.describe().contains("not legacy:"), "{}", c.condition.describe());
    }
}
