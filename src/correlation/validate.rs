//! Resolving what correlations reference: rules and correlations by `name`
//! or `id` (the same file first, then every loaded rule path), unknown
//! references, cycles in chains, and the order chains are evaluated in
//! (inner correlations first).

use std::path::Path;

use super::Correlation;
use crate::error::{RuleError, RuleIssue};

/// What a reference points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A detection rule (index in the list given to [`resolve`]).
    Rule(usize),
    /// Another correlation (index in the correlation list).
    Corr(usize),
}

/// A detection rule as references see it.
#[derive(Debug, Clone, Copy)]
pub struct RuleKey<'a> {
    pub path: &'a Path,
    pub name: Option<&'a str>,
    pub id: Option<&'a str>,
}

/// The outcome of resolving.
#[derive(Debug, Default)]
pub struct Resolved {
    /// Per correlation: its targets, in `rules` order (empty when it failed).
    pub targets: Vec<Vec<Target>>,
    /// Correlations without errors, inner ones first.
    pub order: Vec<usize>,
    /// Per correlation: its error, if any.
    pub errors: Vec<Option<RuleIssue>>,
}

fn issue(c: &Correlation, pos: Option<crate::sigma::yaml::Pos>, msg: String) -> RuleIssue {
    RuleIssue {
        path: c.path.clone(),
        pos: pos.or(Some(c.pos)),
        error: RuleError::Correlation(msg),
    }
}

/// Resolves the references of every correlation.
pub fn resolve(rules: &[RuleKey<'_>], corrs: &[Correlation]) -> Resolved {
    let n = corrs.len();
    let mut out = Resolved {
        targets: vec![Vec::new(); n],
        order: Vec::new(),
        errors: vec![None; n],
    };
    for (ci, c) in corrs.iter().enumerate() {
        let mut targets = Vec::new();
        for (r, pos) in &c.rules {
            let is = |name: Option<&str>, id: Option<&str>| name == Some(r.as_str()) || id == Some(r.as_str());
            let corr_hits: Vec<usize> = (0..n)
                .filter(|&j| is(corrs[j].name.as_deref(), corrs[j].id.as_deref()))
                .collect();
            let rule_hits: Vec<usize> = (0..rules.len())
                .filter(|&j| is(rules[j].name, rules[j].id))
                .collect();
            let same_file_corr = corr_hits.iter().find(|&&j| corrs[j].path == c.path && j != ci);
            let same_file_rule = rule_hits.iter().find(|&&j| rules[j].path == c.path);
            let t = same_file_corr
                .map(|&j| Target::Corr(j))
                .or(same_file_rule.map(|&j| Target::Rule(j)))
                .or(corr_hits.iter().find(|&&j| j != ci).map(|&j| Target::Corr(j)))
                .or(rule_hits.first().map(|&j| Target::Rule(j)));
            match t {
                Some(t) => targets.push(t),
                None if corr_hits.contains(&ci) => {
                    out.errors[ci] = Some(issue(c, Some(*pos), format!("references itself (`{r}`)")));
                    break;
                }
                None => {
                    out.errors[ci] = Some(issue(
                        c,
                        Some(*pos),
                        format!("unknown referenced rule `{r}`: no rule or correlation in the loaded rule paths has this name or id"),
                    ));
                    break;
                }
            }
        }
        if out.errors[ci].is_none() {
            out.targets[ci] = targets;
        }
    }
    // Cycles and failed dependencies: depth-first, inner first.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut mark = vec![Mark::New; n];
    fn visit(
        i: usize,
        corrs: &[Correlation],
        mark: &mut Vec<Mark>,
        stack: &mut Vec<usize>,
        out: &mut Resolved,
    ) -> bool {
        match mark[i] {
            Mark::Done => return out.errors[i].is_none(),
            Mark::Active => {
                let from = stack.iter().position(|&x| x == i).unwrap_or(0);
                let names: Vec<String> = stack[from..]
                    .iter()
                    .chain(std::iter::once(&i))
                    .map(|&x| corrs[x].name.clone().or(corrs[x].id.clone()).unwrap_or(corrs[x].title.clone()))
                    .collect();
                for &x in &stack[from..] {
                    if out.errors[x].is_none() {
                        out.errors[x] = Some(issue(&corrs[x], None, format!("cycle in correlation chain: {}", names.join(" -> "))));
                    }
                }
                return false;
            }
            Mark::New => {}
        }
        mark[i] = Mark::Active;
        stack.push(i);
        let mut ok = out.errors[i].is_none();
        let deps: Vec<usize> = out.targets[i]
            .iter()
            .filter_map(|t| match t {
                Target::Corr(j) => Some(*j),
                Target::Rule(_) => None,
            })
            .collect();
        for j in deps {
            if !visit(j, corrs, mark, stack, out) {
                if ok && out.errors[i].is_none() {
                    let what = corrs[j].name.clone().or(corrs[j].id.clone()).unwrap_or(corrs[j].title.clone());
                    out.errors[i] = Some(issue(&corrs[i], None, format!("references correlation `{what}`, which has an error")));
                }
                ok = false;
            }
        }
        stack.pop();
        mark[i] = Mark::Done;
        ok = ok && out.errors[i].is_none();
        if ok {
            out.order.push(i);
        }
        ok
    }
    let mut stack = Vec::new();
    for i in 0..n {
        visit(i, corrs, &mut mark, &mut stack, &mut out);
    }
    for (i, e) in out.errors.iter().enumerate() {
        if e.is_some() {
            out.targets[i].clear();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corr(text: &str) -> Correlation {
        let docs = crate::sigma::yaml::load_documents(text).unwrap();
        super::super::parse::parse(Path::new("c.yml"), 0, &docs[0]).unwrap()
    }

    #[test]
    fn unknown_cycles_and_order() {
        let a = corr("title: A\nname: a\ncorrelation: {type: event_count, rules: [b], timespan: 1m, condition: {gte: 1}}\n");
        let b = corr("title: B\nname: b\ncorrelation: {type: event_count, rules: [a], timespan: 1m, condition: {gte: 1}}\n");
        let c = corr("title: C\nname: c\ncorrelation: {type: event_count, rules: [r], timespan: 1m, condition: {gte: 1}}\n");
        let d = corr("title: D\nname: d\ncorrelation: {type: event_count, rules: [c], timespan: 1m, condition: {gte: 1}}\n");
        let e = corr("title: E\ncorrelation: {type: event_count, rules: [nope], timespan: 1m, condition: {gte: 1}}\n");
        let rules = [RuleKey { path: Path::new("c.yml"), name: Some("r"), id: None }];
        let res = resolve(&rules, &[a, b, c, d, e]);
        assert!(res.errors[0].as_ref().unwrap().to_string().contains("cycle"), "{:?}", res.errors[0]);
        assert!(res.errors[1].is_some());
        assert!(res.errors[2].is_none() && res.errors[3].is_none());
        assert_eq!(res.order, vec![2, 3]);
        assert_eq!(res.targets[3], vec![Target::Corr(2)]);
        let e4 = res.errors[4].as_ref().unwrap().to_string();
        assert!(e4.contains("unknown referenced rule `nope`"), "{e4}");
    }
}
