//! YAML documents as a small positioned tree.
//!
//! This module owns one job: turning YAML text into [`Node`]s that remember the
//! line and column they came from, so every later stage (rule parsing, config
//! parsing, placeholder files) can report errors as `file:line:col`. It wraps
//! the `saphyr` parser (YAML 1.2, duplicate keys rejected) and hides its types
//! from the rest of the crate.

use std::borrow::Cow;
use std::collections::HashMap;

mod fast;

use saphyr::Scalar;
use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Span, SpannedEventReceiver, Tag};

/// A position in a source file (1-based line, 1-based column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
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
///
/// The tree is built straight from the parser's events (saphyr-parser), with
/// saphyr's loading rules: YAML 1.2 core-schema scalars, quoted scalars are
/// strings, duplicate keys are an error, aliases are copies of their anchor
/// within a node budget, tags other than the core schema's are ignored.
/// (Building saphyr's own `MarkedYamlOwned` tree first, then converting it,
/// cost a third more than the event parse itself on the SigmaHQ snapshot.)
///
/// Texts in the plain block style of rule files take a fast path
/// ([`fast`]) that builds the same tree; everything else, and every error,
/// is saphyr's.
pub fn load_documents(text: &str) -> Result<Vec<Node>, YamlError> {
    match fast::load(text) {
        Some(docs) => Ok(docs),
        None => load_documents_saphyr(text),
    }
}

/// The fast path alone: the tree of `text` if it is in the style the fast
/// path accepts, `None` otherwise (for the corpus test that compares it
/// with [`load_documents_saphyr`]).
#[doc(hidden)]
#[cfg_attr(not(feature = "internals"), allow(dead_code))] // tests, fuzz
pub fn load_documents_fast(text: &str) -> Option<Vec<Node>> {
    fast::load(text)
}

/// [`load_documents`] without the fast path: saphyr's events for every text.
#[doc(hidden)]
pub fn load_documents_saphyr(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut b = Builder::default();
    Parser::new_from_str(text)
        .load(&mut b, true)
        .map_err(|e| YamlError {
            pos: pos_of(*e.marker()),
            message: e.info().to_string(),
        })?;
    match b.error {
        Some(e) => Err(e),
        None => Ok(b.docs),
    }
}

fn pos_of(m: Marker) -> Pos {
    Pos {
        line: m.line(),
        col: m.col() + 1,
    }
}

/// Nodes an alias may copy in one stream, in all (the "billion laughs"
/// guard saphyr's own loader has too).
const ALIAS_BUDGET: usize = 100_000;

/// An open sequence or mapping.
enum Frame {
    Seq {
        pos: Pos,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        pos: Pos,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

/// Receives parser events and builds [`Node`]s.
struct Builder {
    docs: Vec<Node>,
    root: Option<Node>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    alias_budget: usize,
    error: Option<YamlError>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            docs: Vec::new(),
            root: None,
            stack: Vec::new(),
            anchors: HashMap::new(),
            alias_budget: ALIAS_BUDGET,
            error: None,
        }
    }
}

impl<'input> SpannedEventReceiver<'input> for Builder {
    fn on_event(&mut self, ev: Event<'input>, span: Span) {
        if self.error.is_some() {
            return;
        }
        let pos = pos_of(span.start);
        match ev {
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentStart(_) => {}
            Event::DocumentEnd => {
                let root = self.root.take().unwrap_or(Node {
                    pos,
                    value: Value::Null,
                });
                self.docs.push(root);
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq {
                pos,
                anchor,
                items: Vec::new(),
            }),
            Event::MappingStart(anchor, _) => self.stack.push(Frame::Map {
                pos,
                anchor,
                entries: Vec::new(),
                key: None,
            }),
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Seq { pos, anchor, items }) => self.insert(
                    Node {
                        pos,
                        value: Value::Seq(items),
                    },
                    anchor,
                ),
                Some(Frame::Map {
                    pos,
                    anchor,
                    entries,
                    ..
                }) => self.insert(
                    Node {
                        pos,
                        value: Value::Map(entries),
                    },
                    anchor,
                ),
                None => {}
            },
            Event::Scalar(v, style, anchor, tag) => {
                let value = scalar(v, style, tag.as_ref());
                self.insert(Node { pos, value }, anchor);
            }
            Event::Alias(id) => {
                let node = match self.anchors.get(&id) {
                    Some(n) => {
                        let size = count_nodes(n);
                        if size > self.alias_budget {
                            self.error = Some(YamlError {
                                pos,
                                message: "alias expansion exceeded the maximum node budget \
                                          (possible billion-laughs attack)"
                                    .into(),
                            });
                            return;
                        }
                        self.alias_budget -= size;
                        Node { pos, ..n.clone() }
                    }
                    None => Node {
                        pos,
                        value: Value::Null,
                    },
                };
                self.insert(node, 0);
            }
        }
    }
}

impl Builder {
    fn insert(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => {
                    if entries.iter().any(|(e, _)| e.value == k.value) {
                        self.error = Some(YamlError {
                            pos: k.pos,
                            message: "duplicated key in mapping".into(),
                        });
                        return;
                    }
                    entries.push((k, node));
                }
            },
        }
    }
}

/// Nodes in a tree (for the alias budget).
fn count_nodes(n: &Node) -> usize {
    1 + match &n.value {
        Value::Seq(items) => items.iter().map(count_nodes).sum(),
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| count_nodes(k) + count_nodes(v))
            .sum(),
        _ => 0,
    }
}

/// A scalar with saphyr's resolution (core schema; quoted = string; a core
/// tag that does not fit the text, e.g. `!!int abc`, gives null).
fn scalar(v: Cow<'_, str>, style: ScalarStyle, tag: Option<&Cow<'_, Tag>>) -> Value {
    match Scalar::parse_from_cow_and_metadata(v, style, tag) {
        None | Some(Scalar::Null) => Value::Null,
        Some(Scalar::Boolean(b)) => Value::Bool(b),
        Some(Scalar::Integer(i)) => Value::Int(i),
        Some(Scalar::FloatingPoint(f)) => Value::Float(f.into_inner()),
        Some(Scalar::String(s)) => Value::Str(s.into_owned()),
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

    #[test]
    fn aliases_copy_their_anchor_and_are_bounded() {
        let docs = load_documents("a: &x [1, 2]\nb: *x\nc: *missing\n");
        // An unknown alias is a parser error or null, never a panic.
        if let Ok(docs) = docs {
            assert_eq!(docs[0].get("b").unwrap().kind(), "list");
        }
        let docs = load_documents("a: &x [1, 2]\nb: *x\n").unwrap();
        assert_eq!(
            docs[0].get("a").unwrap().value,
            docs[0].get("b").unwrap().value
        );
        assert_eq!(docs[0].get("b").unwrap().pos, Pos { line: 2, col: 4 });
        // Billion laughs: every level doubles the copies; stopped by the budget.
        let mut text = String::from("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!("l{i}: &l{i} [*l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}]\n"));
        }
        let e = load_documents(&text).unwrap_err();
        assert!(e.message.contains("alias expansion"), "{e}");
    }

    #[test]
    fn empty_documents_are_null() {
        let docs = load_documents("---\n---\na: 1\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].value, Value::Null);
    }
}
