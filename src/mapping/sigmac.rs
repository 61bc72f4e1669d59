//! Legacy sigmac / Timesketch mapping configurations (`-c/--config FILE`).
//!
//! This module owns reading the YAML format of Timesketch's
//! `data/sigma_config.yaml` (the legacy `sigmac` configuration format) and
//! applying one or several such files, in order, as a [`FieldMapping`]:
//!
//! * `logsources`: every entry whose `category`/`product`/`service` all equal
//!   the rule's contributes its `conditions` (keys ANDed, a list of values
//!   ORed), and all matching entries are ANDed (legacy sigmac's default
//!   `logsourcemerging: and`). A `rewrite` replaces the rule's logsource for
//!   the entries not applied yet and for later files; sigma-match re-checks
//!   the whole file after a rewrite, so an entry written *before* the one
//!   that rewrites still applies (what the Timesketch file means by
//!   `rewrite: {product: windows, service: sysmon}`). Entry-level
//!   `fieldmappings` apply to rules of that logsource and win over the
//!   top-level ones.
//! * `fieldmappings`: `A: b` (rename), `A: [b, c]` (OR over targets),
//!   `A: {product=linux: b, default: c}` (conditional: a condition is tested
//!   against the rule's `logsource`; several matching conditions give the
//!   union of their targets; no match gives `default`, no default leaves the
//!   field as it is). Each file maps the names the previous file produced,
//!   as sigmac's configuration chains do.
//! * `title`, `order`, `backends`, `defaultindex` and an entry's `index`
//!   are read and ignored (see [`SigmacConfig::ignored`]); any other key is
//!   an error with file and line.
//!
//! Where Timesketch's own converter reads the same file differently (it
//! loads one `SigmaConfiguration`, whose conditional mappings test the
//! rule's *detection* values, which ignores entry-level `fieldmappings` and
//! never applies `rewrite`), [`SigmacConfig::warnings`] says what Timesketch
//! uses instead, together with targets that look like typos.

use std::path::{Path, PathBuf};

use crate::error::ConfigError;
use crate::mapping::FieldMapping;
use crate::sigma::modifier::apply_modifiers;
use crate::sigma::rule::{DetectionItem, Logsource, RawValue};
use crate::sigma::yaml::{self, Node, Pos, Value};

/// Where a mapping sends a field.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A rename (one target) or a list (OR over the targets).
    Fields(Vec<String>),
    /// `key=value: targets` conditions and an optional `default`.
    Conditional {
        conditions: Vec<MapCondition>,
        default: Option<Vec<String>>,
    },
}

/// One `key=value: targets` line of a conditional mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct MapCondition {
    pub key: String,
    pub value: String,
    pub targets: Vec<String>,
    pub pos: Pos,
}

/// A field mapping line.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    pub field: String,
    pub target: Target,
    pub pos: Pos,
}

/// `(category, product, service)`.
type Triple = (Option<String>, Option<String>, Option<String>);

/// One entry of `logsources`.
#[derive(Debug, Clone)]
pub struct LogsourceEntry {
    pub name: String,
    pub pos: Pos,
    pub category: Option<String>,
    pub product: Option<String>,
    pub service: Option<String>,
    /// One detection item per condition key (its values are ORed).
    pub conditions: Vec<DetectionItem>,
    pub rewrite: Option<(Option<String>, Option<String>, Option<String>)>,
    pub fieldmappings: Vec<Mapping>,
}

impl LogsourceEntry {
    /// Legacy sigmac's `matches`: every key the entry gives must be equal.
    fn matches(&self, ls: &Triple) -> bool {
        let want = [&self.category, &self.product, &self.service];
        let have = [&ls.0, &ls.1, &ls.2];
        want.iter().zip(have).all(|(w, h)| w.is_none() || *w == h)
    }
}

/// A warning about a configuration: valid, but probably not what the
/// operator wants, or read differently by Timesketch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    pub path: PathBuf,
    pub pos: Pos,
    pub message: String,
}

impl std::fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: warning: {}",
            self.path.display(),
            self.pos,
            self.message
        )
    }
}

/// One parsed configuration file.
#[derive(Debug, Clone)]
pub struct SigmacConfig {
    pub path: PathBuf,
    pub logsources: Vec<LogsourceEntry>,
    pub fieldmappings: Vec<Mapping>,
    ignored: Vec<(String, Pos)>,
}

const TOP_KEYS: &[&str] = &[
    "title",
    "order",
    "backends",
    "defaultindex",
    "logsourcemerging",
    "logsources",
    "fieldmappings",
];
const ENTRY_KEYS: &[&str] = &[
    "category",
    "product",
    "service",
    "conditions",
    "rewrite",
    "fieldmappings",
    "index",
];
const LOGSOURCE_KEYS: &[&str] = &["category", "product", "service"];

fn key_list(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl SigmacConfig {
    /// Reads and checks one configuration file.
    pub fn load(path: &Path) -> Result<SigmacConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            pos: None,
            message: e.to_string(),
        })?;
        Self::parse(path, &text)
    }

    /// Parses configuration text; `path` is used in messages.
    pub fn parse(path: &Path, text: &str) -> Result<SigmacConfig, ConfigError> {
        let err = |pos: Pos, message: String| ConfigError {
            path: path.to_path_buf(),
            pos: Some(pos),
            message,
        };
        let docs = yaml::load_documents(text).map_err(|e| err(e.pos, e.message))?;
        let mut cfg = SigmacConfig {
            path: path.to_path_buf(),
            logsources: Vec::new(),
            fieldmappings: Vec::new(),
            ignored: Vec::new(),
        };
        let [doc] = docs.as_slice() else {
            return Err(err(
                Pos { line: 1, col: 1 },
                format!("expected one YAML document, found {}", docs.len()),
            ));
        };
        let Value::Map(entries) = &doc.value else {
            return Err(err(
                doc.pos,
                format!("a configuration must be a mapping, found a {}", doc.kind()),
            ));
        };
        for (k, v) in entries {
            let key = k.as_str().unwrap_or_default();
            match key {
                "title" | "order" | "backends" | "defaultindex" => {
                    cfg.ignored.push((key.to_string(), k.pos))
                }
                "logsourcemerging" => match v.as_str().map(str::to_ascii_lowercase).as_deref() {
                    Some("and") => cfg.ignored.push((key.to_string(), k.pos)),
                    _ => {
                        return Err(err(
                            v.pos,
                            "`logsourcemerging` must be `and` (matching logsource entries are ANDed); OR-merging of entries is not part of this format's Timesketch use".into(),
                        ));
                    }
                },
                "logsources" => {
                    let Value::Map(items) = &v.value else {
                        return Err(err(
                            v.pos,
                            format!(
                                "`logsources` must be a mapping of names to entries, found a {}",
                                v.kind()
                            ),
                        ));
                    };
                    for (name, entry) in items {
                        cfg.logsources
                            .push(parse_entry(name, entry).map_err(|(p, m)| err(p, m))?);
                    }
                }
                "fieldmappings" => {
                    cfg.fieldmappings = parse_mappings(v).map_err(|(p, m)| err(p, m))?
                }
                _ => {
                    return Err(err(
                        k.pos,
                        format!(
                            "unknown key `{key}` (expected one of {})",
                            key_list(TOP_KEYS)
                        ),
                    ));
                }
            }
        }
        Ok(cfg)
    }

    /// Keys read and ignored (they configure Elasticsearch output), with
    /// their positions.
    pub fn ignored(&self) -> &[(String, Pos)] {
        &self.ignored
    }

    fn mapping(&self, field: &str) -> Option<&Mapping> {
        self.fieldmappings.iter().find(|m| m.field == field)
    }

    /// Entries applied to a rule of logsource `ls`, in application order,
    /// and the logsource after their rewrites.
    fn resolve(&self, ls: Triple) -> (Vec<usize>, Triple) {
        let mut cur = ls;
        let mut applied: Vec<usize> = Vec::new();
        loop {
            let mut rewritten = false;
            for (i, e) in self.logsources.iter().enumerate() {
                if !applied.contains(&i) && e.matches(&cur) {
                    applied.push(i);
                    if let Some(rw) = &e.rewrite {
                        cur = rw.clone();
                        rewritten = true;
                    }
                }
            }
            if !rewritten {
                return (applied, cur);
            }
        }
    }

    /// What this file maps `field` to, for a rule of logsource `rule_ls`
    /// whose matching entries are `applied`.
    fn map_one(&self, applied: &[usize], rule_ls: &Logsource, field: &str) -> Vec<String> {
        let entry_targets: Vec<&Mapping> = applied
            .iter()
            .flat_map(|&i| self.logsources[i].fieldmappings.iter())
            .filter(|m| m.field == field)
            .collect();
        let mut out = Vec::new();
        if entry_targets.is_empty() {
            match self.mapping(field) {
                Some(m) => push_unique(&mut out, m.target.resolve(rule_ls, field)),
                None => out.push(field.to_string()),
            }
        } else {
            for m in entry_targets {
                push_unique(&mut out, m.target.resolve(rule_ls, field));
            }
        }
        out
    }

    /// Warnings for this file (see the module documentation).
    pub fn warnings(&self) -> Vec<ConfigWarning> {
        let mut out = Vec::new();
        let warn = |pos: Pos, message: String| ConfigWarning {
            path: self.path.clone(),
            pos,
            message,
        };
        // 1. Conditional mappings: Timesketch tests the rule's detection.
        for m in &self.fieldmappings {
            let Target::Conditional {
                conditions,
                default,
            } = &m.target
            else {
                continue;
            };
            let conds: Vec<String> = conditions
                .iter()
                .map(|c| format!("{}={}", c.key, c.value))
                .collect();
            let ts = match default {
                Some(d) => format!(
                    "maps `{}` to the default {} for every rule",
                    m.field,
                    names(d)
                ),
                None => format!("leaves `{}` unmapped for every rule", m.field),
            };
            out.push(warn(
                m.pos,
                format!(
                    "Timesketch will use the default here: its converter (legacy sigmac, one SigmaConfiguration) tests `{}` against values in the rule's detection, not its logsource, so it {ts}; sigma-match tests the rule's logsource",
                    conds.join("`, `"),
                ),
            ));
            for c in conditions
                .iter()
                .filter(|c| !LOGSOURCE_KEYS.contains(&c.key.as_str()))
            {
                out.push(warn(
                    c.pos,
                    format!("condition `{}={}` is not on a logsource key ({}); it never matches in sigma-match", c.key, c.value, key_list(LOGSOURCE_KEYS)),
                ));
            }
        }
        // 2. Entry-level fieldmappings: ignored by legacy sigmac.
        for e in &self.logsources {
            for m in &e.fieldmappings {
                let ts = match self.mapping(&m.field) {
                    Some(top) => top.target.timesketch(&m.field),
                    None => vec![m.field.clone()],
                };
                out.push(warn(
                    m.pos,
                    format!(
                        "Timesketch will use {} here, not {}: legacy sigmac ignores `fieldmappings` inside logsource entries (`{}`), so `{}` gets the top-level mapping",
                        names(&ts),
                        names(&m.target.all_targets()),
                        e.name,
                        m.field
                    ),
                ));
            }
        }
        // 3. Rewrites: Timesketch never applies them. One warning per
        // distinct effect, at the first entry that has it.
        let mut effects: Vec<(Pos, String, String, Vec<String>)> = Vec::new();
        for e in &self.logsources {
            let Some(rw) = &e.rewrite else { continue };
            let own = (e.category.clone(), e.product.clone(), e.service.clone());
            let (with, _) = self.resolve(own.clone());
            let extra: Vec<String> = with
                .iter()
                .filter(|&&i| !self.logsources[i].matches(&own))
                .map(|&i| {
                    format!(
                        "`{}` (line {})",
                        self.logsources[i].name, self.logsources[i].pos.line
                    )
                })
                .collect();
            let (extra, target) = (extra.join(", "), describe_triple(rw));
            let who = format!("`{}` (line {})", e.name, e.pos.line);
            match effects.iter_mut().find(|x| x.1 == extra && x.2 == target) {
                Some(x) => x.3.push(who),
                None => effects.push((e.pos, extra, target, vec![who])),
            }
        }
        for (pos, extra, target, entries) in effects {
            let message = if extra.is_empty() {
                format!(
                    "rewrite to {target} in {} adds no logsource entry in this file; Timesketch ignores `rewrite` anyway (its single SigmaConfiguration applies none)",
                    entries.join(", ")
                )
            } else {
                format!(
                    "Timesketch will not apply {extra} to rules of {}: it ignores `rewrite` (its single SigmaConfiguration applies none); sigma-match applies it after their rewrite to {target}",
                    entries.join(", ")
                )
            };
            out.push(warn(pos, message));
        }
        // 4. Targets that differ only in case from a more common target.
        let mut all: Vec<(String, Pos, String)> = Vec::new();
        for m in self
            .fieldmappings
            .iter()
            .chain(self.logsources.iter().flat_map(|e| e.fieldmappings.iter()))
        {
            for t in m.target.all_targets() {
                all.push((t, m.pos, m.field.clone()));
            }
        }
        let count = |name: &str| all.iter().filter(|(x, _, _)| x == name).count();
        for (t, pos, field) in &all {
            let better = all
                .iter()
                .map(|(x, _, _)| x.as_str())
                .filter(|x| x != t && x.eq_ignore_ascii_case(t) && count(x) > count(t))
                .max_by_key(|x| count(x));
            if let Some(b) = better {
                out.push(warn(
                    *pos,
                    format!(
                        "`{field}` maps to `{t}`, which differs only in case from `{b}` (used {} times); event field names are case-sensitive, so `{t}` is probably a typo and never present",
                        count(b)
                    ),
                ));
            }
        }
        out.sort_by_key(|w| w.pos);
        out
    }
}

fn describe_triple(t: &Triple) -> String {
    let parts: Vec<String> = [("category", &t.0), ("product", &t.1), ("service", &t.2)]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect();
    parts.join(",")
}

fn names(v: &[String]) -> String {
    v.iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(" or ")
}

fn push_unique(out: &mut Vec<String>, items: Vec<String>) {
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
}

impl Target {
    /// Targets for a rule of logsource `ls` (the file's meaning).
    fn resolve(&self, ls: &Logsource, field: &str) -> Vec<String> {
        match self {
            Target::Fields(v) => v.clone(),
            Target::Conditional {
                conditions,
                default,
            } => {
                let mut out = Vec::new();
                for c in conditions {
                    let have = match c.key.as_str() {
                        "category" => &ls.category,
                        "product" => &ls.product,
                        "service" => &ls.service,
                        _ => &None,
                    };
                    if have.as_deref() == Some(c.value.as_str()) {
                        push_unique(&mut out, c.targets.clone());
                    }
                }
                if out.is_empty() {
                    out = default.clone().unwrap_or_else(|| vec![field.to_string()]);
                }
                out
            }
        }
    }

    /// What Timesketch's converter uses: conditions effectively never
    /// match (they test detection values), so the default or the field.
    fn timesketch(&self, field: &str) -> Vec<String> {
        match self {
            Target::Fields(v) => v.clone(),
            Target::Conditional { default, .. } => {
                default.clone().unwrap_or_else(|| vec![field.to_string()])
            }
        }
    }

    fn all_targets(&self) -> Vec<String> {
        match self {
            Target::Fields(v) => v.clone(),
            Target::Conditional {
                conditions,
                default,
            } => {
                let mut out = Vec::new();
                for c in conditions {
                    push_unique(&mut out, c.targets.clone());
                }
                push_unique(&mut out, default.clone().unwrap_or_default());
                out
            }
        }
    }
}

type PErr = (Pos, String);

fn string_of(n: &Node, what: &str) -> Result<String, PErr> {
    n.as_str().map(str::to_string).ok_or_else(|| {
        (
            n.pos,
            format!("{what} must be a string, found a {}", n.kind()),
        )
    })
}

fn targets_of(n: &Node, what: &str) -> Result<Vec<String>, PErr> {
    match &n.value {
        Value::Seq(items) if !items.is_empty() => {
            items.iter().map(|i| string_of(i, what)).collect()
        }
        Value::Seq(_) => Err((n.pos, format!("{what} must not be an empty list"))),
        _ => Ok(vec![string_of(n, what)?]),
    }
}

fn parse_mappings(n: &Node) -> Result<Vec<Mapping>, PErr> {
    let Value::Map(items) = &n.value else {
        return Err((
            n.pos,
            format!(
                "`fieldmappings` must be a mapping of rule fields to targets, found a {}",
                n.kind()
            ),
        ));
    };
    let mut out = Vec::new();
    for (k, v) in items {
        let field = k
            .scalar_text()
            .ok_or_else(|| (k.pos, "a mapped field name must be a string".to_string()))?;
        let what = format!("the target of `{field}`");
        let target = match &v.value {
            Value::Map(conds) => {
                let mut conditions = Vec::new();
                let mut default = None;
                for (ck, cv) in conds {
                    let c = string_of(ck, "a conditional mapping key")?;
                    let targets = targets_of(cv, &what)?;
                    if c == "default" {
                        default = Some(targets);
                    } else if let Some((key, value)) = c.split_once('=') {
                        conditions.push(MapCondition {
                            key: key.trim().to_string(),
                            value: value.trim().to_string(),
                            targets,
                            pos: ck.pos,
                        });
                    } else {
                        return Err((
                            ck.pos,
                            format!(
                                "conditional mapping key `{c}` must be `key=value` or `default`"
                            ),
                        ));
                    }
                }
                Target::Conditional {
                    conditions,
                    default,
                }
            }
            Value::Null => return Err((v.pos, format!("{what} is empty"))),
            _ => Target::Fields(targets_of(v, &what)?),
        };
        out.push(Mapping {
            field,
            target,
            pos: k.pos,
        });
    }
    Ok(out)
}

fn opt_string(n: &Node, key: &str) -> Result<Option<String>, PErr> {
    n.get(key)
        .map(|v| string_of(v, &format!("`{key}`")))
        .transpose()
}

fn raw_value(n: &Node) -> Result<RawValue, PErr> {
    RawValue::from_node(n).ok_or_else(|| {
        (
            n.pos,
            format!("a condition value must be a scalar, found a {}", n.kind()),
        )
    })
}

/// Rejects any key of a mapping that is not in `allowed`; `place` says
/// where (e.g. " in `rewrite`") for the error message.
fn check_keys(keys: &[(Node, Node)], allowed: &[&str], place: &str) -> Result<(), PErr> {
    for (k, _) in keys {
        let key = k.as_str().unwrap_or_default();
        if !allowed.contains(&key) {
            return Err((
                k.pos,
                format!(
                    "unknown key `{key}`{place} (expected one of {})",
                    key_list(allowed)
                ),
            ));
        }
    }
    Ok(())
}

fn parse_entry(name: &Node, e: &Node) -> Result<LogsourceEntry, PErr> {
    let name = name
        .scalar_text()
        .ok_or_else(|| (name.pos, "a logsource name must be a string".to_string()))?;
    let Value::Map(keys) = &e.value else {
        return Err((
            e.pos,
            format!("logsource `{name}` must be a mapping, found a {}", e.kind()),
        ));
    };
    check_keys(keys, ENTRY_KEYS, &format!(" in logsource `{name}`"))?;
    let (category, product, service) = (
        opt_string(e, "category")?,
        opt_string(e, "product")?,
        opt_string(e, "service")?,
    );
    if category.is_none() && product.is_none() && service.is_none() {
        return Err((
            e.pos,
            format!(
                "logsource `{name}` gives none of `category`, `product`, `service`, so it can never match"
            ),
        ));
    }
    let mut conditions = Vec::new();
    if let Some(c) = e.get("conditions") {
        let Value::Map(items) = &c.value else {
            return Err((
                c.pos,
                format!(
                    "`conditions` of `{name}` must be a mapping of fields to values, found a {}",
                    c.kind()
                ),
            ));
        };
        for (k, v) in items {
            let field = k
                .scalar_text()
                .ok_or_else(|| (k.pos, "a condition field must be a string".to_string()))?;
            let values = match &v.value {
                Value::Seq(items) if !items.is_empty() => {
                    items.iter().map(raw_value).collect::<Result<Vec<_>, _>>()?
                }
                Value::Seq(_) => {
                    return Err((
                        v.pos,
                        format!("condition `{field}` has an empty list of values"),
                    ));
                }
                _ => vec![raw_value(v)?],
            };
            let applied =
                apply_modifiers(crate::sigma::modifier::Target::Field, &[], &values).map_err(|e| (v.pos, e.to_string()))?;
            conditions.push(DetectionItem {
                field: Some(field),
                modifiers: Vec::new(),
                values,
                applied,
                pos: k.pos,
            });
        }
    }
    let rewrite = match e.get("rewrite") {
        None => None,
        Some(r) => {
            let Value::Map(items) = &r.value else {
                return Err((
                    r.pos,
                    format!("`rewrite` must be a mapping, found a {}", r.kind()),
                ));
            };
            check_keys(items, LOGSOURCE_KEYS, " in `rewrite`")?;
            Some((
                opt_string(r, "category")?,
                opt_string(r, "product")?,
                opt_string(r, "service")?,
            ))
        }
    };
    if let Some(i) = e.get("index") {
        match &i.value {
            Value::Str(_) => {}
            Value::Seq(items) if items.iter().all(|x| x.as_str().is_some()) => {}
            _ => {
                return Err((
                    i.pos,
                    "`index` must be a string or a list of strings".into(),
                ));
            }
        }
    }
    let fieldmappings = match e.get("fieldmappings") {
        Some(m) => parse_mappings(m)?,
        None => Vec::new(),
    };
    Ok(LogsourceEntry {
        name,
        pos: e.pos,
        category,
        product,
        service,
        conditions,
        rewrite,
        fieldmappings,
    })
}

/// Several configuration files applied in order.
#[derive(Debug, Clone, Default)]
pub struct SigmacChain {
    pub configs: Vec<SigmacConfig>,
}

impl SigmacChain {
    /// Loads the files in order.
    pub fn load(paths: &[PathBuf]) -> Result<SigmacChain, ConfigError> {
        Ok(SigmacChain {
            configs: paths
                .iter()
                .map(|p| SigmacConfig::load(p))
                .collect::<Result<_, _>>()?,
        })
    }

    /// The entries each file applies to a rule of this logsource.
    fn resolve(&self, ls: &Logsource) -> Vec<Vec<usize>> {
        let mut cur = (ls.category.clone(), ls.product.clone(), ls.service.clone());
        let mut out = Vec::with_capacity(self.configs.len());
        for c in &self.configs {
            let (applied, next) = c.resolve(cur);
            cur = next;
            out.push(applied);
        }
        out
    }

    /// Names of the logsource entries applied to a rule of this logsource,
    /// as `file:entry`.
    #[cfg(test)]
    pub fn applied_entries(&self, ls: &Logsource) -> Vec<String> {
        let mut out = Vec::new();
        for (c, applied) in self.configs.iter().zip(self.resolve(ls)) {
            for i in applied {
                out.push(format!("{}:{}", c.path.display(), c.logsources[i].name));
            }
        }
        out
    }

    /// All warnings of all files.
    pub fn warnings(&self) -> Vec<ConfigWarning> {
        self.configs
            .iter()
            .flat_map(SigmacConfig::warnings)
            .collect()
    }
}

impl FieldMapping for SigmacChain {
    fn map_field(&self, logsource: &Logsource, field: &str) -> Vec<String> {
        let applied = self.resolve(logsource);
        let mut cur = vec![field.to_string()];
        for (c, a) in self.configs.iter().zip(&applied) {
            let mut next = Vec::new();
            for f in &cur {
                push_unique(&mut next, c.map_one(a, logsource, f));
            }
            cur = next;
        }
        cur
    }

    fn logsource_conditions(&self, logsource: &Logsource) -> Vec<Vec<DetectionItem>> {
        let mut out = Vec::new();
        for (c, applied) in self.configs.iter().zip(self.resolve(logsource)) {
            for i in applied {
                for item in &c.logsources[i].conditions {
                    out.push(vec![item.clone()]);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::{CompileOptions, Ruleset};
    use crate::eval::Matcher;
    use crate::sigma::rule::{Loaded, parse_text};

    fn chain(configs: &[&str]) -> SigmacChain {
        let configs = configs
            .iter()
            .enumerate()
            .map(|(i, c)| SigmacConfig::parse(Path::new(&format!("c{i}.yml")), c).unwrap())
            .collect();
        SigmacChain { configs }
    }

    /// Whether the single rule in `rule` matches each event, under `configs`.
    fn run(configs: &[&str], rule: &str, events: &[&str]) -> Vec<bool> {
        let rules: Vec<_> = parse_text(Path::new("r.yml"), rule)
            .into_iter()
            .map(|l| match l {
                Loaded::Rule(r) => *r,
                Loaded::Failed { issue, .. } => panic!("{issue}"),
            })
            .collect();
        let chain = chain(configs);
        let (rs, issues) = Ruleset::compile(
            rules,
            CompileOptions {
                mapping: &chain,
                ..Default::default()
            },
        );
        assert!(issues.is_empty(), "{issues:?}");
        let mut m = Matcher::new(&rs);
        events
            .iter()
            .map(|e| m.match_line(e.as_bytes()).unwrap().contains(&0))
            .collect()
    }

    fn rule(logsource: &str, detection: &str) -> String {
        format!(
            "title: t\nlogsource: {logsource}\ndetection:\n  sel:\n{detection}\n  condition: sel\n"
        )
    }

    #[test]
    fn rename_and_list() {
        let cfg = "fieldmappings:\n  EventID: event_identifier\n  User: [user, username]\n";
        let r = rule("{product: windows}", "    EventID: 4688\n    User: bob");
        assert_eq!(
            run(
                &[cfg],
                &r,
                &[
                    r#"{"event_identifier": 4688, "username": "BOB"}"#,
                    r#"{"event_identifier": "4688", "user": "bob"}"#,
                    r#"{"EventID": 4688, "user": "bob"}"#,
                    r#"{"event_identifier": 4688, "User": "bob"}"#,
                ]
            ),
            [true, true, false, false]
        );
    }

    #[test]
    fn conditional_and_default_test_the_rule_logsource() {
        let cfg = "fieldmappings:\n  TargetFilename:\n    product=linux: filename\n    default: xml_string\n";
        let ev = [r#"{"filename": "/tmp/x"}"#, r#"{"xml_string": "/tmp/x"}"#];
        assert_eq!(
            run(
                &[cfg],
                &rule("{product: linux}", "    TargetFilename: /tmp/x"),
                &ev
            ),
            [true, false]
        );
        assert_eq!(
            run(
                &[cfg],
                &rule("{product: windows}", "    TargetFilename: /tmp/x"),
                &ev
            ),
            [false, true]
        );
        // Several matching conditions: the union of their targets.
        let cfg2 = "fieldmappings:\n  F:\n    product=linux: a\n    service=auditd: b\n";
        let r = rule("{product: linux, service: auditd}", "    F: v");
        assert_eq!(
            run(
                &[cfg2],
                &r,
                &[r#"{"a": "v"}"#, r#"{"b": "v"}"#, r#"{"F": "v"}"#]
            ),
            [true, true, false]
        );
        // No match and no default: the field stays as written.
        let r = rule("{product: windows}", "    F: v");
        assert_eq!(
            run(&[cfg2], &r, &[r#"{"a": "v"}"#, r#"{"F": "v"}"#]),
            [false, true]
        );
    }

    #[test]
    fn logsource_conditions_are_anded_with_the_rule_and_mapped() {
        let cfg = "logsources:\n  win:\n    product: windows\n    conditions:\n      data_type: 'windows:evtx:record'\n  ps:\n    product: windows\n    service: powershell\n    conditions:\n      EventID: [4103, 4104]\n      source_name: Microsoft-Windows-PowerShell\nfieldmappings:\n  EventID: event_identifier\n";
        let r = rule(
            "{product: windows, service: powershell}",
            "    msg|contains: evil",
        );
        let ok = r#"{"data_type": "windows:evtx:record", "event_identifier": 4104, "source_name": "Microsoft-Windows-PowerShell", "msg": "so evil"}"#;
        let other_id = r#"{"data_type": "windows:evtx:record", "event_identifier": 1, "source_name": "Microsoft-Windows-PowerShell", "msg": "so evil"}"#;
        let no_type = r#"{"event_identifier": 4103, "source_name": "Microsoft-Windows-PowerShell", "msg": "so evil"}"#;
        let unmapped = r#"{"data_type": "windows:evtx:record", "EventID": 4104, "source_name": "Microsoft-Windows-PowerShell", "msg": "so evil"}"#;
        let no_hit = r#"{"data_type": "windows:evtx:record", "event_identifier": 4104, "source_name": "Microsoft-Windows-PowerShell", "msg": "fine"}"#;
        assert_eq!(
            run(&[cfg], &r, &[ok, other_id, no_type, unmapped, no_hit]),
            [true, false, false, false, false]
        );
        // A rule of another logsource gets no condition (as in Timesketch).
        let r = rule("{product: linux}", "    msg|contains: evil");
        assert_eq!(run(&[cfg], &r, &[r#"{"msg": "evil"}"#]), [true]);
        // An entry whose keys are not all equal does not match: category differs.
        let c = chain(&[cfg]);
        let ls = Logsource {
            product: Some("windows".into()),
            category: Some("process_creation".into()),
            ..Default::default()
        };
        assert_eq!(c.applied_entries(&ls), ["c0.yml:win"]);
    }

    #[test]
    fn rewrite_applies_entries_of_the_new_logsource_even_if_written_before() {
        let cfg = "logsources:\n  sysmon:\n    service: sysmon\n    conditions:\n      source_name: Microsoft-Windows-Sysmon\n  process_access:\n    category: process_access\n    product: windows\n    conditions:\n      EventID: 10\n    rewrite:\n      product: windows\n      service: sysmon\n";
        let r = rule(
            "{category: process_access, product: windows}",
            "    GrantedAccess: '0x1fffff'",
        );
        let ok = r#"{"EventID": 10, "source_name": "Microsoft-Windows-Sysmon", "GrantedAccess": "0x1FFFFF"}"#;
        let other = r#"{"EventID": 10, "source_name": "Other", "GrantedAccess": "0x1FFFFF"}"#;
        assert_eq!(run(&[cfg], &r, &[ok, other]), [true, false]);
        let ls = Logsource {
            category: Some("process_access".into()),
            product: Some("windows".into()),
            ..Default::default()
        };
        assert_eq!(
            chain(&[cfg]).applied_entries(&ls),
            ["c0.yml:process_access", "c0.yml:sysmon"]
        );
        // A later file sees the rewritten logsource.
        let later = "logsources:\n  s:\n    service: sysmon\n    conditions:\n      channel: x\n";
        assert_eq!(
            chain(&[cfg, later]).applied_entries(&ls),
            ["c0.yml:process_access", "c0.yml:sysmon", "c1.yml:s"]
        );
    }

    #[test]
    fn entry_fieldmappings_win_for_their_logsource_only() {
        let cfg = "logsources:\n  pc:\n    category: process_creation\n    product: windows\n    fieldmappings:\n      Image: NewProcessName\nfieldmappings:\n  Image: xml_string\n";
        let ev = [
            r#"{"NewProcessName": "C:\\x.exe"}"#,
            r#"{"xml_string": "C:\\x.exe"}"#,
        ];
        let d = "    Image: 'C:\\x.exe'";
        assert_eq!(
            run(
                &[cfg],
                &rule("{category: process_creation, product: windows}", d),
                &ev
            ),
            [true, false]
        );
        assert_eq!(
            run(
                &[cfg],
                &rule("{category: image_load, product: windows}", d),
                &ev
            ),
            [false, true]
        );
    }

    #[test]
    fn chained_files_map_the_previous_names() {
        let a = "fieldmappings:\n  CommandLine: cmd\n";
        let b = "fieldmappings:\n  cmd: [process.command_line, message]\n";
        let r = rule("{product: windows}", "    CommandLine|contains: whoami");
        let ev = [
            r#"{"process": {"command_line": "whoami /all"}}"#,
            r#"{"message": "ran whoami"}"#,
            r#"{"cmd": "whoami"}"#,
        ];
        assert_eq!(run(&[a, b], &r, &ev), [true, true, false]);
    }

    #[test]
    fn errors_name_file_line_and_reason() {
        let e = |text: &str| {
            SigmacConfig::parse(Path::new("cfg.yml"), text)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            e("title: x\nlogsource:\n  a: 1\n"),
            "cfg.yml:2:1: unknown key `logsource` (expected one of `title`, `order`, `backends`, `defaultindex`, `logsourcemerging`, `logsources`, `fieldmappings`)"
        );
        assert!(
            e("logsources:\n  a:\n    product: x\n    condition:\n      a: 1\n")
                .starts_with("cfg.yml:4:5: unknown key `condition` in logsource `a`")
        );
        assert!(
            e("logsources:\n  a:\n    conditions:\n      a: 1\n")
                .starts_with("cfg.yml:3:5: logsource `a` gives none of")
        );
        assert!(
            e("fieldmappings:\n  F:\n    product: x\n")
                .starts_with("cfg.yml:3:5: conditional mapping key `product` must be")
        );
        assert!(e("fieldmappings:\n  F:\n").starts_with("cfg.yml:2:"));
        assert!(
            e("logsources:\n  a:\n    product: x\n    rewrite:\n      channel: y\n")
                .starts_with("cfg.yml:5:7: unknown key `channel` in `rewrite`")
        );
        assert!(
            e("fieldmappings: [a]\n")
                .starts_with("cfg.yml:1:16: `fieldmappings` must be a mapping")
        );
        assert!(e("logsourcemerging: or\n").contains("must be `and`"));
        assert!(e("a: [\n").starts_with("cfg.yml:"));
        let ok = SigmacConfig::parse(
            Path::new("c"),
            "title: t\norder: 20\nbackends: [es-qs]\nlogsourcemerging: and\n",
        )
        .unwrap();
        assert_eq!(
            ok.ignored()
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>(),
            ["title", "order", "backends", "logsourcemerging"]
        );
    }

    #[test]
    fn warnings_say_what_timesketch_uses() {
        let cfg = "logsources:\n  pc:\n    category: process_creation\n    product: windows\n    fieldmappings:\n      Image: NewProcessName\n  s:\n    service: sysmon\n    conditions:\n      source_name: Sysmon\n  pa:\n    category: process_access\n    product: windows\n    rewrite:\n      product: windows\n      service: sysmon\nfieldmappings:\n  A: xml_string\n  B: xml_string\n  C: xml_String\n  Image:\n    product=windows: xml_string\n    default: message\n";
        let w: Vec<String> = SigmacConfig::parse(Path::new("c.yml"), cfg)
            .unwrap()
            .warnings()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(w.len(), 4, "{w:#?}");
        assert!(
            w[0].starts_with(
                "c.yml:6:7: warning: Timesketch will use `message` here, not `NewProcessName`"
            ),
            "{}",
            w[0]
        );
        assert!(w[1].starts_with("c.yml:12:5: warning: Timesketch will not apply `s` (line 8) to rules of `pa` (line 12)"), "{}", w[1]);
        assert!(w[2].starts_with("c.yml:20:3: warning: `C` maps to `xml_String`, which differs only in case from `xml_string`"), "{}", w[2]);
        assert!(
            w[3].starts_with("c.yml:21:3: warning: Timesketch will use the default here"),
            "{}",
            w[3]
        );
        assert!(
            w[3].contains("maps `Image` to the default `message`"),
            "{}",
            w[3]
        );
    }
}
