//! OpenSearch's `standard` analyzer, as Timesketch's index mapping applies
//! it to every string field (`text` type, see `data/generic.mappings` and
//! `data/plaso.mappings` in google/timesketch).
//!
//! This module owns turning a string into the terms OpenSearch indexes and
//! searches for it:
//!
//! * Lucene's `StandardTokenizer` splits on the word boundaries of Unicode
//!   UAX #29 and keeps only segments that contain a letter or digit
//!   (ALPHANUM/NUM/ideographic types). We use the `unicode-segmentation`
//!   crate's implementation of the same rules, so `C:\Windows\System32`
//!   gives `c`, `windows`, `system32`; `_` joins (`foo_bar` is one term);
//!   `.` between letters or digits joins (`cmd.exe`, `1.2.3.4`); `-` splits.
//! * Tokens longer than the tokenizer's `max_token_length` (255) are split
//!   into pieces of 255 characters (Lucene >= 7 `StandardTokenizer`
//!   behaviour: "tokens longer than maxTokenLength are split").
//! * `LowerCaseFilter` lower-cases code point by code point (Java's simple
//!   case mapping: one character in, one out).
//! * The standard analyzer has no stop words by default (`stopwords:
//!   _none_`, OpenSearch "Standard analyzer" documentation).
//!
//! Known gap: Lucene emits emoji sequences as `<EMOJI>` tokens; UAX #29
//! segments without letters or digits are dropped here.

use unicode_segmentation::UnicodeSegmentation;

/// `StandardTokenizer`'s default maximum token length, in characters.
pub const MAX_TOKEN_LENGTH: usize = 255;

/// The terms of `text` under the standard analyzer, in order.
pub fn analyze(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    analyze_into(text, &mut out);
    out
}

/// Like [`analyze`], appending to `out`.
pub fn analyze_into(text: &str, out: &mut Vec<String>) {
    for word in text.unicode_words() {
        let mut piece = String::new();
        let mut n = 0;
        for c in word.chars() {
            if n == MAX_TOKEN_LENGTH {
                out.push(std::mem::take(&mut piece));
                n = 0;
            }
            piece.push(lower(c));
            n += 1;
        }
        if !piece.is_empty() {
            out.push(piece);
        }
    }
}

/// Java's `Character.toLowerCase(int)`: a one-to-one mapping. Rust's
/// `char::to_lowercase` is the full mapping (`İ` becomes two characters);
/// its first character is the simple mapping for every such case.
pub fn lower(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    c.to_lowercase().next().unwrap_or(c)
}

/// Whether `c` can be part of a term the standard analyzer produces. Terms
/// are UAX #29 words: letters, digits, `_` (ExtendNumLet), and between
/// letters or digits the MidLetter / MidNum / MidNumLet punctuation
/// (`.`, `'`, `:`, `,`, `;`). Every other ASCII character is a boundary and
/// never inside a term (non-ASCII characters are conservatively allowed).
pub fn may_occur_in_term(c: char) -> bool {
    !c.is_ascii() || c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '\'' | ':' | ',' | ';')
}

/// What `Analyzer.normalize` does for the standard analyzer: lower-casing
/// only (no tokenization). Used on wildcard, prefix, regexp, fuzzy and
/// range terms of text fields.
pub fn normalize(text: &str) -> String {
    text.chars().map(lower).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Token boundaries per UAX #29 (unicode.org/reports/tr29, word boundary
    // rules WB6/WB7 for MidLetter/MidNumLet, WB13a/b for ExtendNumLet `_`),
    // which Lucene's StandardTokenizer implements.
    #[test]
    fn windows_paths_split_at_backslash_and_lowercase() {
        assert_eq!(
            analyze(r"C:\Windows\System32\cmd.exe"),
            ["c", "windows", "system32", "cmd.exe"]
        );
    }

    #[test]
    fn dot_between_letters_or_digits_joins_but_not_at_the_edges() {
        assert_eq!(analyze("1.2.3.4"), ["1.2.3.4"]);
        assert_eq!(analyze(".exe"), ["exe"]);
        assert_eq!(analyze("a. b"), ["a", "b"]);
    }

    #[test]
    fn underscore_joins_hyphen_splits() {
        assert_eq!(analyze("foo_bar-baz"), ["foo_bar", "baz"]);
        assert_eq!(analyze("-EncodedCommand"), ["encodedcommand"]);
    }

    #[test]
    fn letters_and_digits_stay_together() {
        assert_eq!(analyze("v4tov4 x64"), ["v4tov4", "x64"]);
    }

    #[test]
    fn only_punctuation_gives_no_terms() {
        assert!(analyze(r"\ - * ").is_empty());
    }

    #[test]
    fn long_tokens_are_split_at_255_characters() {
        let long = "a".repeat(600);
        let t = analyze(&long);
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].len(), 255);
        assert_eq!(t[2].len(), 90);
    }

    // Every ASCII character `may_occur_in_term` rejects is a boundary: it
    // never ends up inside a term, whatever surrounds it.
    #[test]
    fn term_characters() {
        for c in (0x20u8..0x7f).map(char::from) {
            let s = format!("a{c}b a{c}{c}b 1{c}2 a{c}1");
            let inside = analyze(&s)
                .iter()
                .any(|t| t.contains(c.to_ascii_lowercase()));
            if !may_occur_in_term(c) {
                assert!(!inside, "{c:?} {:?}", analyze(&s));
            }
        }
        assert!(analyze("a:b").contains(&"a:b".to_string()));
    }

    #[test]
    fn lowercasing_is_one_to_one() {
        assert_eq!(analyze("İSTANBUL"), ["istanbul"]);
    }
}
