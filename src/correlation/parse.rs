//! Parsing `correlation:` documents (Sigma correlation specification v2.1,
//! with the v2.2.0 draft's `tags` and boolean temporal `condition`) into
//! [`Correlation`]s. Every error carries the line of the offending key.

use std::path::Path;

use super::{BoolExpr, Condition, Correlation, Kind, Op, Origin, Timespan};
use crate::error::{RuleError, RuleIssue};
use crate::sigma::yaml::{Node, Pos, Value};

/// Whether a document is a correlation rule.
pub fn is_correlation(doc: &Node) -> bool {
    doc.get("correlation").is_some()
}

fn err(path: &Path, pos: Pos, msg: impl Into<String>) -> RuleIssue {
    RuleIssue {
        path: path.to_path_buf(),
        pos: Some(pos),
        error: RuleError::Correlation(msg.into()),
    }
}

fn text(doc: &Node, key: &str) -> Option<String> {
    doc.get(key).and_then(Node::scalar_text)
}

fn strings(path: &Path, n: &Node, key: &str) -> Result<Vec<(String, Pos)>, RuleIssue> {
    match &n.value {
        Value::Null => Ok(Vec::new()),
        Value::Seq(items) => items
            .iter()
            .map(|i| {
                i.scalar_text()
                    .map(|s| (s, i.pos))
                    .ok_or_else(|| err(path, i.pos, format!("`{key}` must list strings")))
            })
            .collect(),
        _ => n
            .scalar_text()
            .map(|s| vec![(s, n.pos)])
            .ok_or_else(|| err(path, n.pos, format!("`{key}` must be a string or a list"))),
    }
}

fn number(n: &Node) -> Option<f64> {
    match &n.value {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        Value::Str(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// Parses one correlation document (`index`: its place in the file).
pub fn parse(path: &Path, index: usize, doc: &Node) -> Result<Correlation, RuleIssue> {
    let title = match doc.get("title") {
        None => return Err(err(path, doc.pos, "missing required key `title`")),
        Some(t) => t
            .scalar_text()
            .ok_or_else(|| err(path, t.pos, "`title` must be a string"))?,
    };
    let c = doc.get("correlation").ok_or_else(|| err(path, doc.pos, "no `correlation`"))?;
    if !matches!(c.value, Value::Map(_)) {
        return Err(err(path, c.pos, "`correlation` must be a mapping"));
    }
    let kind = match c.get("type") {
        None => return Err(err(path, c.pos, "missing `type` (event_count, value_count, temporal, temporal_ordered, value_sum, value_avg, value_percentile)")),
        Some(t) => {
            let s = t.scalar_text().unwrap_or_default();
            Kind::parse(&s).ok_or_else(|| {
                err(path, t.pos, format!("unknown correlation type `{s}` (event_count, value_count, temporal, temporal_ordered, value_sum, value_avg, value_percentile)"))
            })?
        }
    };
    for (k, _) in c.entries() {
        let key = k.scalar_text().unwrap_or_default();
        if !matches!(
            key.as_str(),
            "type" | "rules" | "group-by" | "timespan" | "timeframe" | "condition" | "aliases" | "generate"
        ) {
            return Err(err(path, k.pos, format!("unknown key `{key}` in `correlation`")));
        }
    }
    let mut rules = match c.get("rules") {
        Some(r) => strings(path, r, "rules")?,
        None => Vec::new(),
    };
    let group_by: Vec<String> = match c.get("group-by") {
        Some(g) => strings(path, g, "group-by")?.into_iter().map(|(s, _)| s).collect(),
        None => Vec::new(),
    };
    // `timeframe` is the pre-2.0 spelling some tools accept; the spec says `timespan`.
    let timespan = match c.get("timespan").or_else(|| c.get("timeframe")) {
        None => return Err(err(path, c.pos, "missing `timespan` (e.g. `timespan: 5m`)")),
        Some(t) => {
            let s = t.scalar_text().unwrap_or_default();
            Timespan::parse(&s).map_err(|m| err(path, t.pos, m))?
        }
    };
    let generate = match c.get("generate") {
        None => false,
        Some(g) => match g.value {
            Value::Bool(b) => b,
            _ => return Err(err(path, g.pos, "`generate` must be true or false")),
        },
    };
    let mut aliases = Vec::new();
    if let Some(a) = c.get("aliases") {
        let Value::Map(entries) = &a.value else {
            return Err(err(path, a.pos, "`aliases` must map alias names to {rule: field} mappings"));
        };
        for (k, v) in entries {
            let alias = k.scalar_text().ok_or_else(|| err(path, k.pos, "alias names must be strings"))?;
            let Value::Map(m) = &v.value else {
                return Err(err(path, v.pos, format!("alias `{alias}` must map rule names to field names")));
            };
            let mut per_rule = Vec::new();
            for (r, f) in m {
                let (Some(r), Some(f)) = (r.scalar_text(), f.scalar_text()) else {
                    return Err(err(path, v.pos, format!("alias `{alias}`: rule and field names must be strings")));
                };
                per_rule.push((r, f));
            }
            aliases.push((alias, per_rule));
        }
    }
    let condition = match c.get("condition") {
        None if kind.is_temporal() => Condition::Compare {
            // Spec v2.1 / pySigma: every referenced rule (count >= number of rules).
            ops: vec![(Op::Gte, rules.len() as f64)],
            fields: Vec::new(),
            percentile: None,
        },
        None => {
            return Err(err(path, c.pos, format!("missing `condition` (required for {})", kind.name())));
        }
        Some(cn) => match &cn.value {
            Value::Map(entries) => {
                let mut ops = Vec::new();
                let mut fields = Vec::new();
                let mut percentile = None;
                for (k, v) in entries {
                    let key = k.scalar_text().unwrap_or_default();
                    if let Some(op) = Op::parse(&key) {
                        let n = number(v).ok_or_else(|| {
                            err(path, v.pos, format!("`{key}` must be a number"))
                        })?;
                        ops.push((op, n));
                    } else if key == "field" {
                        fields = strings(path, v, "field")?.into_iter().map(|(s, _)| s).collect();
                    } else if key == "percentile" {
                        percentile = Some(number(v).ok_or_else(|| err(path, v.pos, "`percentile` must be a number"))?);
                    } else {
                        return Err(err(path, k.pos, format!("unknown key `{key}` in `condition` (gt, gte, lt, lte, eq, neq, field)")));
                    }
                }
                if ops.is_empty() {
                    return Err(err(path, cn.pos, "`condition` has no comparison (gt, gte, lt, lte, eq, neq)"));
                }
                if kind.needs_field() && fields.is_empty() {
                    return Err(err(path, cn.pos, format!("{} needs `field` in `condition`", kind.name())));
                }
                if !kind.needs_field() && !fields.is_empty() {
                    return Err(err(path, cn.pos, format!("{} takes no `field` in `condition`", kind.name())));
                }
                if kind != Kind::ValueCount && fields.len() > 1 {
                    return Err(err(path, cn.pos, format!("{} takes one `field`", kind.name())));
                }
                Condition::Compare { ops, fields, percentile }
            }
            Value::Str(s) if kind.is_temporal() => {
                let e = parse_bool(s).map_err(|m| err(path, cn.pos, m))?;
                let names = e.names();
                if rules.is_empty() {
                    // v2.2.0 draft: `rules` may be left out; the condition names them.
                    rules = names.iter().map(|n| (n.clone(), cn.pos)).collect();
                } else {
                    // pySigma: both directions must agree.
                    let listed: Vec<&str> = rules.iter().map(|(r, _)| r.as_str()).collect();
                    if let Some(n) = names.iter().find(|n| !listed.contains(&n.as_str())) {
                        return Err(err(path, cn.pos, format!("condition names `{n}`, which `rules` does not list")));
                    }
                    if let Some((r, p)) = rules.iter().find(|(r, _)| !names.contains(r)) {
                        return Err(err(path, *p, format!("rule `{r}` is listed in `rules` but not used in the condition")));
                    }
                }
                if e.negated().len() == names.len() {
                    return Err(err(path, cn.pos, "the condition needs at least one rule that is not negated"));
                }
                Condition::Expr(e)
            }
            Value::Str(_) => {
                return Err(err(path, cn.pos, format!("a condition expression is only defined for temporal and temporal_ordered; {} needs a mapping (e.g. `gte: 10`)", kind.name())));
            }
            _ => return Err(err(path, cn.pos, "`condition` must be a mapping (e.g. `gte: 10`) or, for temporal types, an expression")),
        },
    };
    if rules.is_empty() {
        let pos = c.get("rules").map_or(c.pos, |r| r.pos);
        return Err(err(path, pos, "missing `rules` (the rules this correlation counts, by name or id)"));
    }
    if kind == Kind::TemporalOrdered && rules.len() < 2 {
        return Err(err(path, c.pos, "temporal_ordered needs at least two rules"));
    }
    for (a, m) in &aliases {
        for (r, _) in m {
            if !rules.iter().any(|(x, _)| x == r) {
                let pos = c.get("aliases").map_or(c.pos, |n| n.pos);
                return Err(err(path, pos, format!("alias `{a}` names rule `{r}`, which `rules` does not list")));
            }
        }
    }
    let tags = match doc.get("tags") {
        Some(t) => strings(path, t, "tags")?.into_iter().map(|(s, _)| s).collect(),
        None => Vec::new(),
    };
    Ok(Correlation {
        path: path.to_path_buf(),
        document: index,
        pos: doc.pos,
        title,
        id: text(doc, "id"),
        name: text(doc, "name"),
        status: text(doc, "status"),
        level: text(doc, "level"),
        description: text(doc, "description"),
        tags,
        kind,
        rules,
        group_by,
        timespan,
        condition,
        aliases,
        generate,
        origin: Origin::Document,
    })
}

/// Parses a boolean expression over rule names: `and`, `or`, `not`
/// (case-insensitive, `not` binds tightest, then `and`, then `or`, as in
/// pySigma's `SigmaExtendedCorrelationCondition`), parentheses. Names may
/// hold letters, digits, `_`, `-` and `.` (so rule ids work too).
pub fn parse_bool(s: &str) -> Result<BoolExpr, String> {
    let mut toks = Vec::new();
    let mut cur = String::new();
    for ch in s.chars().chain(std::iter::once(' ')) {
        if ch.is_alphanumeric() || matches!(ch, '_' | '-' | '.') {
            cur.push(ch);
            continue;
        }
        if !cur.is_empty() {
            toks.push(std::mem::take(&mut cur));
        }
        match ch {
            '(' | ')' => toks.push(ch.to_string()),
            c if c.is_whitespace() => {}
            c => return Err(format!("unexpected character `{c}` in condition `{s}`")),
        }
    }
    let mut p = BoolParser { toks, at: 0, src: s };
    let e = p.or()?;
    if p.at < p.toks.len() {
        return Err(format!("unexpected `{}` in condition `{s}`", p.toks[p.at]));
    }
    Ok(e)
}

struct BoolParser<'a> {
    toks: Vec<String>,
    at: usize,
    src: &'a str,
}

impl BoolParser<'_> {
    fn peek_kw(&self, kw: &str) -> bool {
        self.toks.get(self.at).is_some_and(|t| t.eq_ignore_ascii_case(kw))
    }
    fn or(&mut self) -> Result<BoolExpr, String> {
        let mut v = vec![self.and()?];
        while self.peek_kw("or") {
            self.at += 1;
            v.push(self.and()?);
        }
        Ok(if v.len() == 1 { v.remove(0) } else { BoolExpr::Or(v) })
    }
    fn and(&mut self) -> Result<BoolExpr, String> {
        let mut v = vec![self.not()?];
        while self.peek_kw("and") {
            self.at += 1;
            v.push(self.not()?);
        }
        Ok(if v.len() == 1 { v.remove(0) } else { BoolExpr::And(v) })
    }
    fn not(&mut self) -> Result<BoolExpr, String> {
        if self.peek_kw("not") {
            self.at += 1;
            return Ok(BoolExpr::Not(Box::new(self.not()?)));
        }
        self.atom()
    }
    fn atom(&mut self) -> Result<BoolExpr, String> {
        let Some(t) = self.toks.get(self.at).cloned() else {
            return Err(format!("condition `{}` ends too early", self.src));
        };
        self.at += 1;
        if t == "(" {
            let e = self.or()?;
            if self.toks.get(self.at).map(String::as_str) != Some(")") {
                return Err(format!("missing `)` in condition `{}`", self.src));
            }
            self.at += 1;
            return Ok(e);
        }
        if t == ")" || ["and", "or", "not"].iter().any(|k| t.eq_ignore_ascii_case(k)) {
            return Err(format!("unexpected `{t}` in condition `{}`", self.src));
        }
        Ok(BoolExpr::Rule(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Result<Correlation, RuleIssue> {
        let docs = crate::sigma::yaml::load_documents(text).unwrap();
        parse(Path::new("c.yml"), 0, &docs[0])
    }

    #[test]
    fn spec_event_count_example() {
        let c = one("title: Many failed logins\nid: 0e95725d-7320-415d-80f7-004da920fc11\ncorrelation:\n    type: event_count\n    rules:\n        - 5638f7c0-ac70-491d-8465-2a65075e0d86\n    group-by:\n        - ComputerName\n    timespan: 1h\n    condition:\n        gte: 100\n").unwrap();
        assert_eq!(c.kind, Kind::EventCount);
        assert_eq!(c.group_by, vec!["ComputerName"]);
        assert_eq!(c.timespan.micros, 3_600_000_000);
        assert_eq!(c.condition.describe(), "gte 100");
    }

    #[test]
    fn errors_have_lines_and_reasons() {
        let e = one("title: x\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5x\n  condition: {gte: 1}\n").unwrap_err();
        assert_eq!(e.pos.unwrap().line, 5);
        assert!(e.error.to_string().contains("timespan `5x`"), "{e}");
        let e = one("title: x\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n").unwrap_err();
        assert!(e.error.to_string().contains("missing `condition`"), "{e}");
        let e = one("title: x\ncorrelation:\n  type: value_count\n  rules: [a]\n  timespan: 5m\n  condition: {gte: 2}\n").unwrap_err();
        assert!(e.error.to_string().contains("needs `field`"), "{e}");
        let e = one("title: x\ncorrelation:\n  type: bogus\n  rules: [a]\n").unwrap_err();
        assert_eq!(e.pos.unwrap().line, 3);
    }

    #[test]
    fn temporal_default_and_boolean_conditions() {
        let c = one("title: t\ncorrelation:\n  type: temporal\n  rules: [a, b, c]\n  group-by: [User]\n  timespan: 5m\n").unwrap();
        assert_eq!(c.condition.describe(), "gte 3");
        // v2.2.0 draft (update-correlation-cond branch): tests/schema/correlation/temporal_condition.yml
        let c = one("title: Recon\ncorrelation:\n    type: temporal\n    rules:\n        - recon_cmd_a\n        - recon_cmd_b\n        - recon_cmd_c\n    group-by:\n        - ComputerName\n        - User\n    timespan: 5m\n    condition: recon_cmd_a AND recon_cmd_b AND recon_cmd_c\n").unwrap();
        assert!(matches!(c.condition, Condition::Expr(BoolExpr::And(ref v)) if v.len() == 3));
        let e = one("title: t\ncorrelation:\n  type: temporal\n  rules: [a, b]\n  timespan: 5m\n  condition: a and c\n").unwrap_err();
        assert!(e.error.to_string().contains("`c`"), "{e}");
        let c = one("title: t\ncorrelation:\n  type: temporal\n  timespan: 5m\n  condition: a and not (b or c)\n").unwrap();
        assert_eq!(c.rules.len(), 3);
        assert_eq!(c.condition.describe(), "(a and not (b or c))");
    }

    #[test]
    fn bool_precedence() {
        let e = parse_bool("a or b and not c").unwrap();
        assert_eq!(e.to_string(), "(a or (b and not c))");
        assert!(parse_bool("a and").is_err());
        assert!(parse_bool("(a").is_err());
        assert!(parse_bool("a | b").is_err());
    }
}
