//! Typed errors of the library.
//!
//! Every problem with a rule is a [`RuleError`] (what is wrong) wrapped in a
//! [`RuleIssue`] (where: file, line, column). Input problems with event files
//! are [`InputError`]s. Nothing in the library panics on bad input; callers
//! decide whether a problem is fatal (`--strict`) or reported and skipped.

use std::path::PathBuf;

use crate::sigma::yaml::Pos;

/// What is wrong with a rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleError {
    /// The file could not be read.
    #[error("cannot read rule file: {0}")]
    Io(String),
    /// The text is not valid YAML.
    #[error("YAML syntax error: {0}")]
    Yaml(String),
    /// A key the specification requires is missing.
    #[error("missing required key `{0}`")]
    MissingKey(&'static str),
    /// A key has a value of the wrong type.
    #[error("`{key}` must be a {expected}, found a {found}")]
    WrongType {
        /// The key.
        key: String,
        /// The type the key wants.
        expected: &'static str,
        /// The type found.
        found: &'static str,
    },
    /// The condition does not parse.
    #[error("condition: {0}")]
    Condition(String),
    /// The condition names a search identifier the detection lacks.
    #[error("condition references unknown search identifier `{0}`")]
    UnknownIdentifier(String),
    /// A `1 of x*` pattern matches no search identifier.
    #[error("condition pattern `{0}` matches no search identifier")]
    EmptyPattern(String),
    /// A modifier the specification does not define.
    #[error("unknown modifier `{0}`")]
    UnknownModifier(String),
    /// Modifiers that do not combine.
    #[error("modifiers: {0}")]
    Modifier(String),
    /// A regular expression that does not compile.
    #[error("invalid regular expression `{pattern}`: {reason}")]
    Regex {
        /// The expression.
        pattern: String,
        /// Why it does not compile.
        reason: String,
    },
    /// A network that is not CIDR.
    #[error("invalid CIDR network `{0}`")]
    Cidr(String),
    /// A placeholder without values.
    #[error("placeholder `%{0}%` is not defined (give values with --placeholders FILE)")]
    Placeholder(String),
    /// A value a modifier cannot use.
    #[error("invalid value: {0}")]
    Value(String),
    /// A detection that is not a map or list of maps.
    #[error("invalid detection: {0}")]
    Detection(String),
    /// A rule collection (action: global/reset/repeat) that is wrong.
    #[error("invalid rule collection: {0}")]
    Collection(String),
    /// The rule's values are more than the matcher can hold.
    #[error("too large: {0}")]
    TooLarge(String),
    /// A correlation rule (or legacy aggregation / `near`) that is not
    /// valid: bad timespan, unknown referenced rule, cycle, ...
    #[error("correlation: {0}")]
    Correlation(String),
    /// A legacy aggregation / `near` whose meaning the specification
    /// leaves undefined (the reason says which part).
    #[error("unsupported: {0}")]
    Undefined(String),
    /// A construct that sigma-match recognises but does not evaluate
    /// per event (aggregations, `near`, correlation and filter documents).
    #[error("unsupported: {0}")]
    Unsupported(Unsupported),
}

/// Sigma constructs that are recognised and reported, not evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, thiserror::Error)]
pub enum Unsupported {
    #[error("legacy aggregation in condition (`| count() ...`); needs a correlation engine")]
    Aggregation,
    #[error("legacy `near` temporal condition; needs a correlation engine")]
    Near,
    #[error("correlation rule (Sigma correlation specification); needs a correlation engine")]
    Correlation,
    #[error("Sigma filter document (meta filter); apply it to its rules with a pipeline")]
    Filter,
}

impl RuleError {
    /// A short stable category name, used to group errors in summaries.
    pub fn category(&self) -> &'static str {
        match self {
            RuleError::Io(_) => "io",
            RuleError::Yaml(_) => "yaml",
            RuleError::MissingKey(_) => "missing-key",
            RuleError::WrongType { .. } => "wrong-type",
            RuleError::Condition(_) => "condition-syntax",
            RuleError::UnknownIdentifier(_) => "unknown-identifier",
            RuleError::EmptyPattern(_) => "empty-pattern",
            RuleError::UnknownModifier(_) => "unknown-modifier",
            RuleError::Modifier(_) => "modifier-combination",
            RuleError::Regex { .. } => "regex",
            RuleError::Cidr(_) => "cidr",
            RuleError::Placeholder(_) => "placeholder",
            RuleError::Value(_) => "value",
            RuleError::Detection(_) => "detection",
            RuleError::Collection(_) => "collection",
            RuleError::TooLarge(_) => "too-large",
            RuleError::Correlation(_) => "correlation",
            RuleError::Undefined(_) => "unsupported-undefined",
            RuleError::Unsupported(Unsupported::Aggregation) => "unsupported-aggregation",
            RuleError::Unsupported(Unsupported::Near) => "unsupported-near",
            RuleError::Unsupported(Unsupported::Correlation) => "unsupported-correlation",
            RuleError::Unsupported(Unsupported::Filter) => "unsupported-filter",
        }
    }

    /// Whether this is a known-but-deferred construct rather than a broken rule.
    pub fn is_unsupported(&self) -> bool {
        matches!(self, RuleError::Unsupported(_) | RuleError::Undefined(_))
    }
}

/// A rule problem with its location.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{}: {error}", path.display(), pos.map(|p| format!(":{p}")).unwrap_or_default())]
pub struct RuleIssue {
    /// The rule file (or the name its text was given under).
    pub path: PathBuf,
    /// Line and column, when known.
    pub pos: Option<Pos>,
    /// What is wrong.
    pub error: RuleError,
}

/// A problem reading event input that stops a whole input (not one line).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The input could not be opened or read at all.
    #[error("{path}: {source}")]
    Io {
        /// The input as named.
        path: String,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// Reading stopped part-way (a truncated or corrupt compressed file, a
    /// failing disk); the events before the damage were read and count.
    #[error(
        "{path}: {source} (after {after} bytes of {what} content); the events before it were read{}",
        if *partial > 0 { format!(", an incomplete last line of {partial} bytes was skipped") } else { String::new() }
    )]
    Damaged {
        /// The input as named.
        path: String,
        /// What was being read: `gzip`, `zstd`, ..., or `input`.
        what: String,
        /// Content bytes delivered before the damage.
        after: u64,
        /// Bytes of an incomplete line before the damage, dropped.
        partial: usize,
        /// The reader's error.
        #[source]
        source: std::io::Error,
    },
    /// The input holds something that is not read (an archive, UTF-16 text,
    /// a JSON array, unknown binary data).
    #[error("{path}: not read: it looks like {what}; {hint}")]
    Unsupported {
        /// The input as named.
        path: String,
        /// What it looks like.
        what: String,
        /// What to do.
        hint: String,
    },
}

/// A problem with a mapping configuration or placeholder file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{}: {message}", path.display(), pos.map(|p| format!(":{p}")).unwrap_or_default())]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// Line and column, when known.
    pub pos: Option<Pos>,
    /// What is wrong.
    pub message: String,
}

/// An error and its causes as one line, each distinct text once: `a: b: c`.
///
/// Error types that print their source inside their own message (`{path}:
/// {source}`) and also return it from `source()` would otherwise show it
/// twice (`evdir: is a directory: is a directory`); a cause whose text the
/// line already holds is left out.
pub fn display_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let text = c.to_string();
        if !text.is_empty() && !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_show_each_cause_once() {
        let e = InputError::Io {
            path: "evdir".into(),
            source: std::io::Error::other("is a directory"),
        };
        assert_eq!(display_chain(&e), "evdir: is a directory");
        #[derive(Debug, thiserror::Error)]
        #[error("writing output")]
        struct Outer(#[source] InputError);
        let o = Outer(e);
        assert_eq!(display_chain(&o), "writing output: evdir: is a directory");
    }
}
