//! A Sigma rule as the query string Timesketch stores for it (`es_query`).
//!
//! This module owns Timesketch's own steps around legacy sigmac, as
//! google/timesketch `timesketch/lib/sigma_util.py` does them
//! (`parse_sigma_rule_by_text`, commit 45b339bb):
//!
//! 1. `sanitize_incoming_sigma_rule_text`: every `|endswith` and
//!    `|startswith` is removed from the rule *text* (so those values lose
//!    their wildcards, and the words vanish from titles and descriptions);
//! 2. one `SigmaConfiguration` from the `-c` file, an
//!    `ElasticsearchQuerystringBackend` with no options, and
//!    `SigmaCollectionParser(...).generate(backend)` once per YAML document
//!    ([`super::legacy`]);
//! 3. only the first non-empty generated query is kept;
//! 4. `_sanitize_query` rewrites it ([`sanitize_query`]), then
//!    `*.keyword:` becomes `message.keyword:`;
//! 5. `title`, `description` and `id` must be strings.
//!
//! The analyzer (`timesketch/lib/analyzers/sigma_tagger.py`, `get_kwargs`)
//! then runs only rules whose `status` is `stable`
//! ([`TimesketchQuery::is_analyzed`]). Failures carry the Python exception
//! Timesketch would see and the line its logger writes
//! ([`TimesketchError::log_line`]).

use std::path::{Path, PathBuf};

use super::legacy::{Backend, Ids, LegacyConfig, PyError, py_isspace};
use super::pyyaml::{self, Py};

/// A mapping configuration (`-c`, Timesketch's `data/sigma_config.yaml`) as
/// legacy sigmac's `SigmaConfiguration` reads it.
#[derive(Debug, Clone)]
pub struct TimesketchConfig {
    legacy: LegacyConfig,
}

impl TimesketchConfig {
    /// Reads the configuration text (`path` is for messages).
    pub fn from_yaml(text: &str, path: &Path) -> Result<Self, TimesketchError> {
        let config_err = |error: PyError| TimesketchError::Config {
            path: path.to_path_buf(),
            error,
        };
        let doc = pyyaml::safe_load(text)
            .map_err(|e| config_err(PyError::new(e.class, e.message)))?;
        Ok(TimesketchConfig {
            legacy: LegacyConfig::from_py(&doc).map_err(config_err)?,
        })
    }

    /// Reads the configuration file.
    pub fn load(path: &Path) -> Result<Self, TimesketchError> {
        let text = std::fs::read_to_string(path).map_err(|source| TimesketchError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_yaml(&text, path)
    }
}

/// Options of the conversion.
#[derive(Debug, Clone, Copy)]
pub struct ConvertOptions {
    /// `parse_sigma_rule_by_text(..., sanitize=True)`, what Timesketch
    /// always does; `false` shows sigmac's own string.
    pub sanitize: bool,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions { sanitize: true }
    }
}

/// What Timesketch stores for a rule it imported.
#[derive(Debug, Clone, PartialEq)]
pub struct TimesketchQuery {
    /// The search query, byte for byte (`search_query` / `es_query`).
    pub es_query: String,
    pub title: String,
    pub id: String,
    pub description: String,
    /// `status:` if it is a string (Timesketch stores `experimental` when
    /// it is absent).
    pub status: Option<String>,
    /// `tags:` (strings only).
    pub tags: Vec<String>,
}

impl TimesketchQuery {
    /// Whether Timesketch's Sigma analyzer runs the rule: only `stable`
    /// rules (`sigma_tagger.py` `get_kwargs`), unless all statuses are asked for.
    pub fn is_analyzed(&self, statuses: Statuses) -> bool {
        statuses == Statuses::All || self.status.as_deref() == Some("stable")
    }
}

/// Which rules count as run by Timesketch's Sigma analyzer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statuses {
    /// Only `status: stable` rules, as Timesketch runs them.
    Stable,
    /// Every rule (`--all-statuses`).
    All,
}

impl Statuses {
    /// `All` when `all_statuses` (the `--all-statuses` flag) is set.
    pub fn all_if(all_statuses: bool) -> Statuses {
        if all_statuses { Statuses::All } else { Statuses::Stable }
    }
}

/// Why Timesketch cannot import or convert a rule, or read a configuration.
#[derive(Debug, thiserror::Error)]
pub enum TimesketchError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The configuration is rejected by `SigmaConfiguration`.
    #[error("{}: {error}", path.display())]
    Config { path: PathBuf, error: PyError },
    /// The rule is rejected: `ExceptionClass: message`.
    #[error("{error}")]
    Convert { path: PathBuf, error: PyError },
}

impl TimesketchError {
    /// The Python exception class (`KeyError`, `NotImplementedError`, ...).
    pub fn class(&self) -> &str {
        match self {
            TimesketchError::Read { .. } => "OSError",
            TimesketchError::Config { error, .. } | TimesketchError::Convert { error, .. } => {
                &error.class
            }
        }
    }

    /// The exception's message (`str(exception)`).
    pub fn message(&self) -> String {
        match self {
            TimesketchError::Read { source, .. } => source.to_string(),
            TimesketchError::Config { error, .. } | TimesketchError::Convert { error, .. } => {
                error.message.clone()
            }
        }
    }

    /// The file concerned.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // tests
    pub fn path(&self) -> &Path {
        match self {
            TimesketchError::Read { path, .. }
            | TimesketchError::Config { path, .. }
            | TimesketchError::Convert { path, .. } => path,
        }
    }

    /// What Timesketch logs: `sigma_util.py`'s `logger.error` line for the
    /// exceptions it catches and logs, otherwise the last line of the
    /// traceback of the exception that escapes.
    pub fn log_line(&self) -> String {
        let msg = self.message();
        match self.class() {
            "NotImplementedError" => format!("Error generating rule {msg}"),
            "SigmaParseError" => format!("Sigma parsing error rule {msg}"),
            "ParserError" => format!("Yaml parsing error rule {msg}"),
            "ValueError" if msg.starts_with("Missing value: ") => msg,
            class => format!("{class}: {msg}"),
        }
    }
}

/// Converts one rule file's text as Timesketch does.
pub fn timesketch_query(
    rule_text: &str,
    path: &Path,
    config: &TimesketchConfig,
    opts: &ConvertOptions,
) -> Result<TimesketchQuery, TimesketchError> {
    convert(rule_text, &config.legacy, opts).map_err(|error| TimesketchError::Convert {
        path: path.to_path_buf(),
        error,
    })
}

fn convert(rule_text: &str, cfg: &LegacyConfig, opts: &ConvertOptions) -> Result<TimesketchQuery, PyError> {
    // sanitize_incoming_sigma_rule_text
    let text = rule_text.replace("|endswith", "").replace("|startswith", "");
    let docs = pyyaml::safe_load_all(&text).map_err(|e| PyError::new(e.class, e.message))?;
    let mut backend = Backend::new(cfg);
    let mut ids = Ids::default();
    let mut rule_return: Vec<(Py, Py)> = Vec::new();
    let mut parsed: Option<Vec<Option<String>>> = None;
    for doc in &docs {
        // Each document re-parses the whole text with the same backend.
        parsed = Some(backend.generate_collection(&docs, &mut ids)?);
        if let Py::Dict(entries) = doc {
            for (k, v) in entries {
                match rule_return.iter_mut().find(|(rk, _)| rk.py_eq(k)) {
                    Some(slot) => slot.1 = v.clone(),
                    None => rule_return.push((k.clone(), v.clone())),
                }
            }
        }
    }
    let Some(parsed) = parsed else {
        return Err(PyError::new("AssertionError", ""));
    };
    let first = parsed
        .into_iter()
        .flatten()
        .find(|q| !q.is_empty())
        .ok_or_else(|| PyError::new("IndexError", "list index out of range"))?;
    let mut query = if opts.sanitize { sanitize_query(&first) } else { first };
    query = query.replace("*.keyword:", "message.keyword:");
    let rule = Py::Dict(rule_return);
    let string = |key: &str| -> Result<String, PyError> {
        match rule.get(key) {
            Some(Py::Str(s)) => Ok(s.clone()),
            _ => Err(PyError::new(
                "ValueError",
                format!("Missing value: '{key}' from the YAML data."),
            )),
        }
    };
    let (title, description, id) = (string("title")?, string("description")?, string("id")?);
    let status = rule.get("status").and_then(Py::as_str).map(str::to_string);
    let tags = match rule.get("tags") {
        Some(Py::List(l)) => l.iter().filter_map(Py::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    };
    Ok(TimesketchQuery {
        es_query: query,
        title,
        id,
        description,
        status,
        tags,
    })
}

/// `_sanitize_query` of `timesketch/lib/sigma_util.py`, step for step.
pub fn sanitize_query(q: &str) -> String {
    let mut q = q.replace(".keyword:", ":");
    for (from, to) in [
        ("\\ ", " "),
        ("\\:", ":"),
        ("\\-", "-"),
        ("*\\\\", " *"),
        ("::", "\\:\\:"),
        (" * OR", " \" OR"),
        (" * AND", " \" AND"),
        ("OR * ", "OR \" "),
        ("AND * ", "AND \" "),
        ("(* ", "(\" "),
        (" *)", " \")"),
        ("*)", "\")"),
        ("(*", "(\""),
        ("\\*:", ""),
    ] {
        q = q.replace(from, to);
    }
    // re.split(r"\s+", q): runs of whitespace separate elements, and an
    // element with exactly one `*` has it turned into `"`.
    let mut elements: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut in_space = false;
    for c in q.chars() {
        if py_isspace(c) {
            if !in_space {
                elements.push(std::mem::take(&mut cur));
                in_space = true;
            }
        } else {
            in_space = false;
            cur.push(c);
        }
    }
    elements.push(cur);
    let san: Vec<String> = elements
        .into_iter()
        .map(|el| {
            if el.matches('*').count() == 1 {
                el.replace('*', "\"")
            } else {
                el
            }
        })
        .collect();
    san.join(" ").replace("\"\"", "\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// timesketch/lib/sigma_util_test.py, the `_sanitize_query` cases.
    #[test]
    fn sanitize_query_as_sigma_util_test() {
        assert_eq!(sanitize_query("test.keyword:foobar"), "test:foobar");
        assert_eq!(sanitize_query("(* foobar *)"), "(\" foobar \")");
        assert_eq!(sanitize_query("*foo bar*"), "\"foo bar\"");
        assert_eq!(
            sanitize_query("*mimikatz* OR *mimikatz.exe* OR *mimilib.dll*"),
            "*mimikatz* OR *mimikatz.exe* OR *mimilib.dll*"
        );
        assert_eq!(sanitize_query("(*a:b* OR *c::d*)"), r#"("a:b" OR "c\:\:d")"#);
        assert_eq!(
            sanitize_query("(xml_string.keyword:\"\\foobar.exe\" AND GrantedAccess.keyword:\"10\")"),
            r#"(xml_string:"\foobar.exe" AND GrantedAccess:"10")"#
        );
    }
}
