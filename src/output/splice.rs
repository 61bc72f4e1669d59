//! Editing top-level members of one JSON object line in place.
//!
//! This module owns byte-level surgery on an event line: finding the value
//! ranges of top-level keys ([`scan_object`]) and merging string lists into
//! keys ([`merge_lists`]) by replacing or inserting only those members, so
//! every other byte of the line (key order, spacing, number spelling,
//! escapes) stays exactly as it was read.

use std::ops::Range;

use serde_json::Value;

/// What [`scan_object`] learned about an object line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectShape {
    /// Index of the byte just after the opening `{`.
    pub open_end: usize,
    /// End of the last member's value (insertion point for new members),
    /// `None` for an empty object.
    pub last_value_end: Option<usize>,
    /// Separator style of the line: `": "` or `":"` after keys.
    pub colon_space: bool,
    /// `", "` or `","` between members (and list elements we write).
    pub comma_space: bool,
}

/// Scans the top-level members of a JSON object, calling `member(key, value
/// range)` for each in order. Returns `None` if `line` is not a JSON object
/// (blank, array, scalar, or structurally broken). This is a structural
/// scan, not a validator: the engine has already parsed the line.
pub fn scan_object(line: &[u8], mut member: impl FnMut(&str, Range<usize>)) -> Option<ObjectShape> {
    let mut i = skip_ws(line, 0);
    if line.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    let mut shape = ObjectShape {
        open_end: i,
        last_value_end: None,
        colon_space: false,
        comma_space: false,
    };
    let mut first = true;
    loop {
        i = skip_ws(line, i);
        match line.get(i)? {
            b'}' if first => break,
            b'"' => {}
            _ => return None,
        }
        let key_start = i;
        i = skip_string(line, i)?;
        let key_raw = &line[key_start + 1..i - 1];
        let decoded;
        let key = if key_raw.contains(&b'\\') {
            decoded = serde_json::from_slice::<String>(&line[key_start..i]).ok()?;
            decoded.as_str()
        } else {
            std::str::from_utf8(key_raw).ok()?
        };
        i = skip_ws(line, i);
        if line.get(i) != Some(&b':') {
            return None;
        }
        if first {
            shape.colon_space = line.get(i + 1).is_some_and(u8::is_ascii_whitespace);
        }
        i = skip_ws(line, i + 1);
        let value_start = i;
        i = skip_value(line, i)?;
        member(key, value_start..i);
        shape.last_value_end = Some(i);
        i = skip_ws(line, i);
        match line.get(i)? {
            b',' => {
                if first {
                    shape.comma_space = line.get(i + 1).is_some_and(u8::is_ascii_whitespace);
                }
                i += 1;
                first = false;
            }
            b'}' => break,
            _ => return None,
        }
    }
    // Only whitespace may follow the closing brace.
    (skip_ws(line, i + 1) == line.len()).then_some(shape)
}

fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while s.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// `s[i]` is `"`; returns the index after the closing quote.
fn skip_string(s: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        i += memchr::memchr2(b'"', b'\\', s.get(i..)?)?;
        if s[i] == b'"' {
            return Some(i + 1);
        }
        i += 2;
    }
}

/// Returns the index just after the value starting at `s[i]`.
fn skip_value(s: &[u8], mut i: usize) -> Option<usize> {
    match *s.get(i)? {
        b'"' => skip_string(s, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            loop {
                match *s.get(i)? {
                    b'"' => {
                        i = skip_string(s, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            let start = i;
            while s
                .get(i)
                .is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace())
            {
                i += 1;
            }
            (i > start).then_some(i)
        }
    }
}

/// A list of strings to merge into one top-level key.
#[derive(Debug, Clone, Copy)]
pub struct ListMerge<'a> {
    pub key: &'a str,
    pub add: &'a [&'a str],
}

/// Writes `line` to `out` with each [`ListMerge`] applied: values already in
/// the event's list are kept (in their order, duplicates dropped) and new
/// ones appended, as Timesketch merges `ts_sigma_rule`, `ts_ttp` and `tag`
/// (sigma_tagger.py: `list(set(existing + new))`; we keep a stable order).
/// A merge with nothing to add leaves its key untouched. An existing value
/// that is not a list is kept as the list's first element (`null` counts as
/// empty). If the same key occurs twice, the last one is edited (the one
/// Python's `json.loads` keeps). Returns `false`, writing nothing, when
/// `line` is not a JSON object.
pub fn merge_lists(line: &[u8], merges: &[ListMerge<'_>], out: &mut Vec<u8>) -> bool {
    let mut found: Vec<Option<Range<usize>>> = vec![None; merges.len()];
    let shape = scan_object(line, |key, range| {
        if let Some(k) = merges.iter().position(|m| m.key == key) {
            found[k] = Some(range);
        }
    });
    let Some(shape) = shape else { return false };
    let sep: &[u8] = if shape.comma_space { b", " } else { b"," };
    let colon: &[u8] = if shape.colon_space { b": " } else { b":" };
    let mut replace: Vec<(Range<usize>, Vec<u8>)> = Vec::new();
    let mut insert: Vec<u8> = Vec::new();
    let mut has_members = shape.last_value_end.is_some();
    for (m, range) in merges.iter().zip(found) {
        if m.add.is_empty() {
            continue;
        }
        match range {
            Some(r) => {
                let existing =
                    serde_json::from_slice::<Value>(&line[r.clone()]).unwrap_or(Value::Null);
                if let Some(list) = merged(existing, m.add) {
                    replace.push((r, json_list(&list, sep)));
                }
            }
            None => {
                if has_members {
                    insert.extend_from_slice(sep);
                }
                has_members = true;
                insert
                    .extend_from_slice(serde_json::to_string(m.key).unwrap_or_default().as_bytes());
                insert.extend_from_slice(colon);
                let list: Vec<Value> = dedup(
                    m.add
                        .iter()
                        .map(|s| Value::String((*s).to_string()))
                        .collect(),
                );
                insert.extend_from_slice(&json_list(&list, sep));
            }
        }
    }
    // Every replaced value ends at or before the insertion point (the end
    // of the last member), so replacements come first.
    replace.sort_by_key(|(r, _)| r.start);
    let at = shape.last_value_end.unwrap_or(shape.open_end);
    let mut pos = 0;
    for (r, bytes) in &replace {
        out.extend_from_slice(&line[pos..r.start]);
        out.extend_from_slice(bytes);
        pos = r.end;
    }
    out.extend_from_slice(&line[pos..at]);
    out.extend_from_slice(&insert);
    pos = at;
    out.extend_from_slice(&line[pos..]);
    true
}

/// The existing value merged with `add`, or `None` if that changes nothing.
fn merged(existing: Value, add: &[&str]) -> Option<Vec<Value>> {
    let (list, was_list) = match existing {
        Value::Array(a) => (a, true),
        Value::Null => (Vec::new(), false),
        other => (vec![other], false),
    };
    let before = list.len();
    let mut list = dedup(list);
    let mut changed = !was_list || list.len() != before;
    for s in add {
        if !list.iter().any(|v| v.as_str() == Some(s)) {
            list.push(Value::String((*s).to_string()));
            changed = true;
        }
    }
    changed.then_some(list)
}

fn dedup(list: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(list.len());
    for v in list {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

fn json_list(list: &[Value], sep: &[u8]) -> Vec<u8> {
    let mut out = vec![b'['];
    for (i, v) in list.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(sep);
        }
        out.extend_from_slice(serde_json::to_string(v).unwrap_or_default().as_bytes());
    }
    out.push(b']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merge(line: &str, merges: &[ListMerge<'_>]) -> Option<String> {
        let mut out = Vec::new();
        merge_lists(line.as_bytes(), merges, &mut out).then(|| String::from_utf8(out).unwrap())
    }

    const RULE: ListMerge<'static> = ListMerge {
        key: "ts_sigma_rule",
        add: &["Rule A", "id-a"],
    };

    #[test]
    fn scan_finds_top_level_members_only() {
        let line = br#" {"a": {"b": [1, "}", {"c": "\"x"}]}, "d" : -1.5e3 ,"e\u0041":"v"} "#;
        let mut keys = Vec::new();
        let shape = scan_object(line, |k, r| {
            keys.push((k.to_string(), String::from_utf8(line[r].to_vec()).unwrap()))
        });
        let shape = shape.unwrap();
        assert!(shape.colon_space);
        assert!(shape.comma_space);
        assert_eq!(
            keys,
            vec![
                ("a".into(), r#"{"b": [1, "}", {"c": "\"x"}]}"#.into()),
                ("d".into(), "-1.5e3".into()),
                ("eA".into(), r#""v""#.into()),
            ]
        );
    }

    #[test]
    fn scan_rejects_non_objects() {
        for s in [
            "",
            "  ",
            "[1]",
            "\"s\"",
            "12",
            "{\"a\":1",
            "{\"a\":1} x",
            "{\"a\"}",
            "{,}",
            "{\"a\":}",
        ] {
            assert_eq!(scan_object(s.as_bytes(), |_, _| {}), None, "{s}");
        }
        assert!(scan_object(b"{}", |_, _| {}).is_some());
        assert!(scan_object(b"{ }", |_, _| {}).is_some());
    }

    #[test]
    fn inserts_after_last_member_in_the_line_style() {
        assert_eq!(
            merge(r#"{"message": "m", "n": 1 }"#, &[RULE]).unwrap(),
            r#"{"message": "m", "n": 1, "ts_sigma_rule": ["Rule A", "id-a"] }"#
        );
        assert_eq!(
            merge(r#"{"message":"m"}"#, &[RULE]).unwrap(),
            r#"{"message":"m","ts_sigma_rule":["Rule A","id-a"]}"#
        );
        assert_eq!(
            merge("{}", &[RULE]).unwrap(),
            r#"{"ts_sigma_rule":["Rule A","id-a"]}"#
        );
    }

    #[test]
    fn merges_existing_lists_in_place_without_duplicates() {
        let line = r#"{"tag": ["x", "Rule A", "x"], "message": "m", "ts_sigma_rule": ["old"]}"#;
        let tags = ListMerge {
            key: "tag",
            add: &["Rule A", "y"],
        };
        assert_eq!(
            merge(line, &[RULE, tags]).unwrap(),
            r#"{"tag": ["x", "Rule A", "y"], "message": "m", "ts_sigma_rule": ["old", "Rule A", "id-a"]}"#
        );
    }

    #[test]
    fn nothing_to_add_leaves_the_line_unchanged() {
        let line = r#"{"tag": ["a",  "a"], "ts_sigma_rule": ["Rule A", "id-a"]}"#;
        let empty = ListMerge {
            key: "tag",
            add: &[],
        };
        assert_eq!(merge(line, &[RULE, empty]).unwrap(), line);
    }

    #[test]
    fn non_list_values_become_the_first_element() {
        assert_eq!(
            merge(
                r#"{"tag":"t"}"#,
                &[ListMerge {
                    key: "tag",
                    add: &["u"]
                }]
            )
            .unwrap(),
            r#"{"tag":["t","u"]}"#
        );
        assert_eq!(
            merge(
                r#"{"tag":null}"#,
                &[ListMerge {
                    key: "tag",
                    add: &["u"]
                }]
            )
            .unwrap(),
            r#"{"tag":["u"]}"#
        );
    }

    #[test]
    fn duplicate_keys_edit_the_last() {
        assert_eq!(
            merge(
                r#"{"tag":["a"],"tag":["b"]}"#,
                &[ListMerge {
                    key: "tag",
                    add: &["c"]
                }]
            )
            .unwrap(),
            r#"{"tag":["a"],"tag":["b","c"]}"#
        );
    }

    #[test]
    fn escaped_key_names_are_recognised() {
        assert_eq!(
            merge(
                r#"{"t\u0061g":["a"]}"#,
                &[ListMerge {
                    key: "tag",
                    add: &["b"]
                }]
            )
            .unwrap(),
            r#"{"t\u0061g":["a","b"]}"#
        );
    }

    #[test]
    fn not_an_object_writes_nothing() {
        let mut out = Vec::new();
        assert!(!merge_lists(b"[1,2]", &[RULE], &mut out));
        assert!(out.is_empty());
    }
}
