//! YAML documents as a small positioned tree.
//!
//! This module owns one job: turning YAML text into [`Node`]s that remember the
//! line and column they came from, so every later stage (rule parsing, config
//! parsing, placeholder files) can report errors as `file:line:col`. It wraps
//! the `saphyr` parser (YAML 1.2, duplicate keys rejected) and hides its types
//! from the rest of the crate.

use saphyr::{LoadableYamlNode, MarkedYamlOwned, ScalarOwned, YamlDataOwned};

/// A position in a source file (1-based line, 1-based column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// One YAML node with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub value: Value,
}

/// The value of a YAML node. Mappings keep their key order.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A string scalar. `raw` keeps the scalar exactly as written for plain
    /// numbers that overflowed, etc.; for strings it is the string itself.
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// A YAML syntax error with its position.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{pos}: {message}")]
pub struct YamlError {
    pub pos: Pos,
    pub message: String,
}

/// Parses every document of a YAML stream.
pub fn load_documents(text: &str) -> Result<Vec<Node>, YamlError> {
    let docs = MarkedYamlOwned::load_from_str(text).map_err(|e| YamlError {
        pos: Pos {
            line: e.marker().line(),
            col: e.marker().col() + 1,
        },
        message: e.info().to_string(),
    })?;
    Ok(docs.iter().map(convert).collect())
}

fn convert(n: &MarkedYamlOwned) -> Node {
    let pos = Pos {
        line: n.span.start.line(),
        col: n.span.start.col() + 1,
    };
    let value = match &n.data {
        YamlDataOwned::Value(s) => scalar(s),
        YamlDataOwned::Representation(s, _, _) => Value::Str(s.clone()),
        YamlDataOwned::Sequence(items) => Value::Seq(items.iter().map(convert).collect()),
        YamlDataOwned::Mapping(map) => {
            Value::Map(map.iter().map(|(k, v)| (convert(k), convert(v))).collect())
        }
        YamlDataOwned::Tagged(_, inner) => return convert(inner),
        YamlDataOwned::Alias(_) | YamlDataOwned::BadValue => Value::Null,
    };
    Node { pos, value }
}

fn scalar(s: &ScalarOwned) -> Value {
    match s {
        ScalarOwned::Null => Value::Null,
        ScalarOwned::Boolean(b) => Value::Bool(*b),
        ScalarOwned::Integer(i) => Value::Int(*i),
        ScalarOwned::FloatingPoint(f) => Value::Float(f.into_inner()),
        ScalarOwned::String(s) => Value::Str(s.clone()),
    }
}

impl Node {
    /// Looks a key up in a mapping node (string keys only).
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(&k.value, Value::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The node as a string, if it is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The node rendered as text if it is any scalar (numbers and booleans
    /// as YAML would print them). `None` for null, sequences and mappings.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// Mapping entries, or an empty slice for other nodes.
    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.value {
            Value::Map(e) => e,
            _ => &[],
        }
    }

    /// A short name of the node's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) | Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::Seq(_) => "list",
            Value::Map(_) => "mapping",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_kinds() {
        let docs = load_documents("a: 1\nb:\n  - x\n  - 2.5\n---\nc: null\n").unwrap();
        assert_eq!(docs.len(), 2);
        let b = docs[0].get("b").unwrap();
        assert_eq!(b.kind(), "list");
        let Value::Seq(items) = &b.value else {
            panic!()
        };
        assert_eq!(items[0].pos, Pos { line: 3, col: 5 });
        assert_eq!(items[1].value, Value::Float(2.5));
        assert_eq!(docs[1].get("c").unwrap().value, Value::Null);
    }

    #[test]
    fn duplicate_keys_and_syntax_errors_have_positions() {
        let e = load_documents("a: 1\na: 2\n").unwrap_err();
        assert!(e.pos.line >= 1, "{e}");
        let e = load_documents("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.pos.line >= 1, "{e}");
    }

    #[test]
    fn quoted_numbers_stay_strings() {
        let docs = load_documents("a: '4688'\nb: 4688\n").unwrap();
        assert_eq!(docs[0].get("a").unwrap().value, Value::Str("4688".into()));
        assert_eq!(docs[0].get("b").unwrap().value, Value::Int(4688));
    }
}
