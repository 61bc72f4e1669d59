//! OpenSearch's `query_string` syntax: the Lucene *classic* query parser
//! (`org.apache.lucene.queryparser.classic`, Lucene 9.12 as shipped with
//! OpenSearch 2.19, the version Timesketch's release compose file pins) with
//! OpenSearch's `QueryStringQueryParser` on top.
//!
//! This module owns reading a query string into a [`QueryAst`] with the
//! same clause structure Lucene builds, and rejecting what Lucene rejects
//! with the message OpenSearch reports ([`QueryParseError`]). It does not
//! know fields or analysis: [`super::evaluate`] turns the AST into per-field
//! queries against Timesketch's mapping.
//!
//! What follows Lucene's grammar (`QueryParser.jj`) exactly:
//! * tokens and lexical states (`DEFAULT`, `Boost` after `^`, `Range`
//!   inside `[..]`/`{..}`), longest match with ties to the earlier token;
//!   `AND`/`&&`, `OR`/`||`, `NOT`/`!`, `+`, `-`, a bare operator followed
//!   by whitespace as a term, `field:` only after a plain term or `*`,
//!   `"phrases"~slop`, `term~fuzzy`, `^boost`, `/regexp/`, `[a TO b]`,
//!   `{a TO b}`, `*` terms, `\` escapes and `\uXXXX`;
//! * `addClause`: with `default_operator: AND` (Timesketch's `build_query`)
//!   every clause is required unless introduced or followed by `OR` or
//!   prohibited by `NOT`/`-`; so `a AND b OR c` is `+a b c`, where `b` and
//!   `c` are optional because `a` is required (Lucene `BooleanQuery`
//!   semantics), which is *not* `a AND (b OR c)`;
//! * runs of plain terms are one multi-term clause (OpenSearch's parser
//!   does not split on whitespace; `MultiTerm` in the grammar);
//! * a whitespace-only query matches nothing (OpenSearch
//!   `QueryStringQueryParser.parse`).
//!
//! Error messages: the `Cannot parse '...'` text of Lucene's
//! `ParseException` / `TokenMgrError` (JavaCC 7 formats, columns as
//! Lucene's `FastCharStream` counts them: 0-based UTF-16 offsets, line 1),
//! wrapped as OpenSearch's `QueryShardException` does (`Failed to parse
//! query [...]`). The "Was expecting" list JavaCC appends is given for the
//! common positions (clause start, after `field:`, after a clause); it may
//! differ from Lucene's in rarer positions.

use std::fmt;

/// How a clause takes part in its boolean query (Lucene `BooleanClause.Occur`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occur {
    Must,
    Should,
    MustNot,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryAst {
    /// The clauses of one `Query` production, with the conjunction and
    /// modifier each was written with. Which clause ends up required,
    /// optional or prohibited depends on which neighbours analyse to
    /// nothing (Lucene's `addClause` skips those but still adjusts the
    /// clause before), so [`build_clauses`] replays `addClause` once that
    /// is known.
    Bool(Vec<Clause>),
    /// One term-level query on a field (`None`: the default field, which
    /// for Timesketch's request is every field, `*`).
    Leaf {
        field: Option<String>,
        term: Term,
        boost: Option<String>,
    },
    /// A whitespace-only query string.
    MatchNone,
}

/// One clause as written: `[AND|OR] [+|-|NOT] query`.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    pub conj: Conj,
    pub modifier: Modifier,
    pub query: QueryAst,
    /// A run of plain terms (`MultiTerm`): added as required, without
    /// touching the clause before (`addMultiTermClauses`).
    pub multi_term: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conj {
    None,
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modifier {
    None,
    /// `+`
    Required,
    /// `-`, `NOT`, `!`
    Not,
}

/// Lucene's `QueryParserBase.addClause` for `default_operator: AND`,
/// replayed over `clauses`; `is_null(q)` says whether a clause's query
/// came out null (analysed to no terms) and is skipped.
pub fn build_clauses<'a>(
    clauses: &'a [Clause],
    is_null: &mut dyn FnMut(usize, &QueryAst) -> bool,
) -> Vec<(Occur, usize, &'a QueryAst)> {
    let mut out: Vec<(Occur, usize, &QueryAst)> = Vec::new();
    for (i, c) in clauses.iter().enumerate() {
        if c.multi_term {
            if !is_null(i, &c.query) {
                out.push((Occur::Must, i, &c.query));
            }
            continue;
        }
        if let Some(last) = out.last_mut().filter(|l| l.0 != Occur::MustNot) {
            match c.conj {
                Conj::And => last.0 = Occur::Must,
                Conj::Or => last.0 = Occur::Should,
                Conj::None => {}
            }
        }
        if is_null(i, &c.query) {
            continue;
        }
        let prohibited = c.modifier == Modifier::Not;
        let required = !prohibited && c.conj != Conj::Or;
        let occur = if prohibited {
            Occur::MustNot
        } else if required {
            Occur::Must
        } else {
            Occur::Should
        };
        out.push((occur, i, &c.query));
    }
    out
}

/// The term part of a leaf, as the classic parser hands it to
/// `getFieldQuery` / `getWildcardQuery` / ... .
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// An unquoted term (escapes removed); analysed per field, tokens ANDed.
    Text(String),
    /// A quoted phrase (escapes removed) and its slop (`"..."~N`).
    Phrase { text: String, slop: u32 },
    /// A wildcard term as written (escapes kept: `\*` is a literal star).
    Wildcard(String),
    /// `foo*`: the prefix, escapes removed.
    Prefix(String),
    /// `/.../`: the regular expression between the slashes, as written.
    Regexp(String),
    /// `term~` or `term~N`: escapes removed; `None` is Fuzziness AUTO.
    Fuzzy { text: String, edits: Option<u32> },
    /// `[a TO b]` / `{a TO b}`, or `field:>a` style one-sided ranges.
    /// `None` is an open end (`*`).
    Range {
        lower: Option<String>,
        upper: Option<String>,
        include_lower: bool,
        include_upper: bool,
    },
    /// `_exists_:field`.
    Exists(String),
    /// `*` on the default field: every document.
    MatchAll,
}

/// A query OpenSearch refuses to parse, with the message it reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Failed to parse query [{query}]: Cannot parse '{query}': {detail}")]
pub struct QueryParseError {
    pub query: String,
    /// Lucene's message after `Cannot parse '...': `.
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
enum Kind {
    Eof = 0,
    And = 8,
    Or = 9,
    Not = 10,
    Plus = 11,
    Minus = 12,
    BareOper = 13,
    LParen = 14,
    RParen = 15,
    Colon = 16,
    Star = 17,
    Carat = 18,
    Quoted = 19,
    TermTok = 20,
    FuzzySlop = 21,
    PrefixTerm = 22,
    WildTerm = 23,
    RegexpTerm = 24,
    RangeInStart = 25,
    RangeExStart = 26,
    Number = 27,
    RangeTo = 28,
    RangeInEnd = 29,
    RangeExEnd = 30,
    RangeQuoted = 31,
    RangeGoop = 32,
}

impl Kind {
    /// `QueryParserConstants.tokenImage`.
    fn image(self) -> &'static str {
        match self {
            Kind::Eof => "<EOF>",
            Kind::And => "<AND>",
            Kind::Or => "<OR>",
            Kind::Not => "<NOT>",
            Kind::Plus => "\"+\"",
            Kind::Minus => "\"-\"",
            Kind::BareOper => "<BAREOPER>",
            Kind::LParen => "\"(\"",
            Kind::RParen => "\")\"",
            Kind::Colon => "\":\"",
            Kind::Star => "\"*\"",
            Kind::Carat => "\"^\"",
            Kind::Quoted => "<QUOTED>",
            Kind::TermTok => "<TERM>",
            Kind::FuzzySlop => "<FUZZY_SLOP>",
            Kind::PrefixTerm => "<PREFIXTERM>",
            Kind::WildTerm => "<WILDTERM>",
            Kind::RegexpTerm => "<REGEXPTERM>",
            Kind::RangeInStart => "\"[\"",
            Kind::RangeExStart => "\"{\"",
            Kind::Number => "<NUMBER>",
            Kind::RangeTo => "\"TO\"",
            Kind::RangeInEnd => "\"]\"",
            Kind::RangeExEnd => "\"}\"",
            Kind::RangeQuoted => "<RANGE_QUOTED>",
            Kind::RangeGoop => "<RANGE_GOOP>",
        }
    }
}

#[derive(Debug, Clone)]
struct Tok {
    kind: Kind,
    image: String,
    /// `FastCharStream` begin column: 0-based UTF-16 offset.
    col: usize,
}

/// The lexer's result: tokens up to the end or up to a lexical error,
/// which is raised when the parser asks for that token (as JavaCC does).
struct Lexed {
    toks: Vec<Tok>,
    error: Option<String>,
}

fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{3000}')
}

/// `_TERM_START_CHAR` without the escape alternative.
fn is_term_start(c: char) -> bool {
    !is_ws(c)
        && !matches!(
            c,
            '+' | '-'
                | '!'
                | '('
                | ')'
                | ':'
                | '^'
                | '['
                | ']'
                | '"'
                | '{'
                | '}'
                | '~'
                | '*'
                | '?'
                | '\\'
                | '/'
        )
}

fn is_term_char(c: char) -> bool {
    is_term_start(c) || c == '+' || c == '-'
}

#[derive(Clone, Copy, PartialEq)]
enum LexState {
    Default,
    Boost,
    Range,
}

impl LexState {
    fn number(self) -> u8 {
        match self {
            LexState::Boost => 0,
            LexState::Range => 1,
            LexState::Default => 2,
        }
    }
}

/// Length of a run of term characters (escapes count as one unit of two
/// chars) starting at `i`, with `extra` also allowed. Returns (chars
/// consumed, whether a trailing lone `\` stopped it).
fn term_run(s: &[char], i: usize, extra: &dyn Fn(char) -> bool) -> (usize, bool) {
    let mut j = i;
    while j < s.len() {
        if s[j] == '\\' {
            if j + 1 < s.len() {
                j += 2;
                continue;
            }
            return (j - i, true);
        }
        if is_term_char(s[j]) || extra(s[j]) {
            j += 1;
        } else {
            break;
        }
    }
    (j - i, false)
}

fn utf16_cols(s: &[char]) -> Vec<usize> {
    let mut cols = Vec::with_capacity(s.len() + 1);
    let mut c = 0;
    for ch in s {
        cols.push(c);
        c += ch.len_utf16();
    }
    cols.push(c);
    cols
}

fn lex(q: &str) -> Lexed {
    let s: Vec<char> = q.chars().collect();
    let cols = utf16_cols(&s);
    let mut toks = Vec::new();
    let mut state = LexState::Default;
    let mut i = 0;
    loop {
        // SKIP whitespace in DEFAULT and Range (not in Boost).
        if state != LexState::Boost {
            while i < s.len() && is_ws(s[i]) {
                if state == LexState::Range {
                    // A Range goop may start with whitespace other than ' '.
                    let goop = goop_len(&s, i);
                    if goop > 1 {
                        break;
                    }
                }
                i += 1;
            }
        }
        if i >= s.len() {
            toks.push(Tok {
                kind: Kind::Eof,
                image: String::new(),
                col: cols[s.len()],
            });
            return Lexed { toks, error: None };
        }
        let (best, partial) = match state {
            LexState::Default => lex_default(&s, i),
            LexState::Boost => {
                let mut j = i;
                while j < s.len() && s[j].is_ascii_digit() {
                    j += 1;
                }
                if j > i && j + 1 < s.len() && s[j] == '.' && s[j + 1].is_ascii_digit() {
                    j += 1;
                    while j < s.len() && s[j].is_ascii_digit() {
                        j += 1;
                    }
                }
                (
                    if j > i {
                        Some((Kind::Number, j - i))
                    } else {
                        None
                    },
                    0,
                )
            }
            LexState::Range => lex_range(&s, i),
        };
        match best {
            Some((kind, len)) => {
                let image: String = s[i..i + len].iter().collect();
                toks.push(Tok {
                    kind,
                    image,
                    col: cols[i],
                });
                i += len;
                state = match kind {
                    Kind::Carat => LexState::Boost,
                    Kind::Number => LexState::Default,
                    Kind::RangeInStart | Kind::RangeExStart => LexState::Range,
                    Kind::RangeInEnd | Kind::RangeExEnd => LexState::Default,
                    _ => state,
                };
            }
            None => {
                // JavaCC's lexical error: `partial` characters were read by
                // the automaton before it failed.
                let consumed = partial.max(1);
                let eof = i + consumed >= s.len() && partial > 0;
                let after = if partial <= 1 {
                    String::new()
                } else {
                    s[i..i + partial].iter().collect()
                };
                let msg = if eof {
                    format!(
                        "Lexical error at line 1, column {}.  Encountered: <EOF>{}{}",
                        cols[s.len()] + 1,
                        after_text(&after),
                        state_text(state)
                    )
                } else {
                    let c = s[i + partial];
                    format!(
                        "Lexical error at line 1, column {}.  Encountered: '{}' ({}),{}{}",
                        cols[i + partial] + 1,
                        add_escapes(&c.to_string()),
                        u32::from(c),
                        after_text(&after),
                        state_text(state)
                    )
                };
                return Lexed {
                    toks,
                    error: Some(msg),
                };
            }
        }
    }
}

fn after_text(after: &str) -> String {
    if after.is_empty() {
        String::new()
    } else {
        format!(" after prefix \"{}\"", add_escapes(after))
    }
}

fn state_text(st: LexState) -> String {
    match st.number() {
        0 => String::new(),
        n => format!(" (in lexical state {n})"),
    }
}

fn goop_len(s: &[char], i: usize) -> usize {
    let mut j = i;
    while j < s.len() && !matches!(s[j], ' ' | ']' | '}') {
        j += 1;
    }
    j - i
}

fn lex_range(s: &[char], i: usize) -> (Option<(Kind, usize)>, usize) {
    let mut cands: Vec<(Kind, usize)> = Vec::new();
    if s[i..].starts_with(&['T', 'O']) {
        cands.push((Kind::RangeTo, 2));
    }
    if s[i] == ']' {
        cands.push((Kind::RangeInEnd, 1));
    }
    if s[i] == '}' {
        cands.push((Kind::RangeExEnd, 1));
    }
    let mut partial = 0;
    if s[i] == '"' {
        // "\"" (~["\""] | "\\\"")+ "\"": longest match.
        let mut j = i + 1;
        let mut last = None;
        while j < s.len() {
            if s[j] == '\\' && j + 1 < s.len() && s[j + 1] == '"' {
                // Either an escaped quote (continue) or `\` then the end.
                last = Some(j + 2);
                j += 2;
                continue;
            }
            if s[j] == '"' {
                if j > i + 1 {
                    last = Some(j + 1);
                }
                break;
            }
            j += 1;
        }
        if let Some(e) = last {
            cands.push((Kind::RangeQuoted, e - i));
        } else {
            partial = j - i;
        }
    }
    let g = goop_len(s, i);
    if g > 0 {
        cands.push((Kind::RangeGoop, g));
    }
    (pick(cands), partial)
}

/// Longest candidate; ties go to the token declared first (lowest kind).
fn pick(cands: Vec<(Kind, usize)>) -> Option<(Kind, usize)> {
    let mut best: Option<(Kind, usize)> = None;
    for (k, l) in cands {
        if l == 0 {
            continue;
        }
        match best {
            Some((bk, bl)) if bl > l || (bl == l && bk < k) => {}
            _ => best = Some((k, l)),
        }
    }
    best
}

fn lex_default(s: &[char], i: usize) -> (Option<(Kind, usize)>, usize) {
    let c = s[i];
    let rest = &s[i..];
    let mut cands: Vec<(Kind, usize)> = Vec::new();
    let lit = |w: &str| -> bool {
        let w: Vec<char> = w.chars().collect();
        rest.starts_with(&w)
    };
    if lit("AND") {
        cands.push((Kind::And, 3));
    } else if lit("&&") {
        cands.push((Kind::And, 2));
    }
    if lit("OR") || lit("||") {
        cands.push((Kind::Or, 2));
    }
    if lit("NOT") {
        cands.push((Kind::Not, 3));
    } else if c == '!' {
        cands.push((Kind::Not, 1));
    }
    if c == '+' {
        cands.push((Kind::Plus, 1));
    }
    if c == '-' {
        cands.push((Kind::Minus, 1));
    }
    if matches!(c, '+' | '-' | '!') && rest.len() > 1 && is_ws(rest[1]) {
        cands.push((Kind::BareOper, 2));
    }
    match c {
        '(' => cands.push((Kind::LParen, 1)),
        ')' => cands.push((Kind::RParen, 1)),
        ':' => cands.push((Kind::Colon, 1)),
        '*' => cands.push((Kind::Star, 1)),
        '^' => cands.push((Kind::Carat, 1)),
        '[' => cands.push((Kind::RangeInStart, 1)),
        '{' => cands.push((Kind::RangeExStart, 1)),
        _ => {}
    }
    let mut partial = 0;
    if c == '"' {
        let mut j = i + 1;
        let mut closed = false;
        while j < s.len() {
            match s[j] {
                '\\' if j + 1 < s.len() => j += 2,
                '\\' => {
                    j += 1;
                    break;
                }
                '"' => {
                    closed = true;
                    j += 1;
                    break;
                }
                _ => j += 1,
            }
        }
        if closed {
            cands.push((Kind::Quoted, j - i));
        } else {
            partial = partial.max(j - i);
        }
    }
    // TERM, PREFIXTERM, WILDTERM.
    let starts_term = is_term_start(c) || (c == '\\' && i + 1 < s.len());
    if c == '\\' && i + 1 >= s.len() {
        partial = partial.max(1);
    }
    if starts_term {
        let (n, _) = term_run(s, i, &|_| false);
        cands.push((Kind::TermTok, n));
        if i + n < s.len() && s[i + n] == '*' {
            cands.push((Kind::PrefixTerm, n + 1));
        }
    }
    if c == '*' {
        cands.push((Kind::PrefixTerm, 1));
    }
    if starts_term || c == '*' || c == '?' {
        let first = if c == '\\' { 2 } else { 1 };
        let (n, _) = term_run(s, i + first, &|ch| ch == '*' || ch == '?');
        cands.push((Kind::WildTerm, first + n));
    }
    if c == '~' {
        let (n, _) = term_run(s, i + 1, &|_| false);
        cands.push((Kind::FuzzySlop, 1 + n));
    }
    if c == '/' {
        // "/" (~["/"] | "\\/")* "/": simulate the NFA, keep the longest accept.
        let (mut in_s, mut in_p) = (true, false);
        let mut accept = None;
        let mut j = i + 1;
        while j < s.len() && (in_s || in_p) {
            let ch = s[j];
            let mut ns = false;
            let mut np = false;
            if in_s && ch == '/' {
                accept = Some(j + 1);
            }
            if in_s && ch != '/' {
                ns = true;
            }
            if in_s && ch == '\\' {
                np = true;
            }
            if in_p && ch == '/' {
                ns = true;
            }
            in_s = ns;
            in_p = np;
            j += 1;
        }
        match accept {
            Some(e) => cands.push((Kind::RegexpTerm, e - i)),
            None => partial = partial.max(j - i),
        }
    }
    (pick(cands), partial)
}

/// JavaCC's `add_escapes` (ParseException / TokenMgrError).
fn add_escapes(s: &str) -> String {
    let mut out = String::new();
    for u in s.encode_utf16() {
        match u {
            0x08 => out.push_str("\\b"),
            0x09 => out.push_str("\\t"),
            0x0a => out.push_str("\\n"),
            0x0c => out.push_str("\\f"),
            0x0d => out.push_str("\\r"),
            0x22 => out.push_str("\\\""),
            0x27 => out.push_str("\\'"),
            0x5c => out.push_str("\\\\"),
            u if !(0x20..=0x7e).contains(&u) => out.push_str(&format!("\\u{u:04x}")),
            u => out.push(char::from(u as u8)),
        }
    }
    out
}

/// Lucene's `QueryParserBase.discardEscapeChar`.
pub fn discard_escape_char(input: &str) -> Result<String, String> {
    let mut out = String::with_capacity(input.len());
    let mut last_escape = false;
    let mut code_point_multiplier = 0u32;
    let mut code_point = 0u32;
    for c in input.chars() {
        if code_point_multiplier > 0 {
            let d = c
                .to_digit(16)
                .ok_or_else(|| format!("Non-hex character in Unicode escape sequence: {c}"))?;
            code_point += d * code_point_multiplier;
            code_point_multiplier >>= 4;
            if code_point_multiplier == 0 {
                out.push(char::from_u32(code_point).unwrap_or('\u{fffd}'));
                code_point = 0;
            }
        } else if last_escape {
            if c == 'u' {
                code_point_multiplier = 16 * 16 * 16;
            } else {
                out.push(c);
            }
            last_escape = false;
        } else if c == '\\' {
            last_escape = true;
        } else {
            out.push(c);
        }
    }
    if code_point_multiplier > 0 {
        return Err("Truncated unicode escape sequence.".into());
    }
    if last_escape {
        return Err("Term can not end with escape character.".into());
    }
    Ok(out)
}

const CONJ_NONE: u8 = 0;
const CONJ_AND: u8 = 1;
const CONJ_OR: u8 = 2;
const MOD_NONE: u8 = 0;
const MOD_NOT: u8 = 10;
const MOD_REQ: u8 = 11;

/// Where a parse error happened, for JavaCC's "Was expecting" list.
#[derive(Clone, Copy)]
enum Expect {
    ClauseStart,
    AfterModifier,
    AfterClause { top: bool, bare_term: bool },
    One(Kind),
    None,
}

const CLAUSE_FIRST: [Kind; 11] = [
    Kind::BareOper,
    Kind::LParen,
    Kind::Star,
    Kind::Quoted,
    Kind::TermTok,
    Kind::PrefixTerm,
    Kind::WildTerm,
    Kind::RegexpTerm,
    Kind::RangeInStart,
    Kind::RangeExStart,
    Kind::Number,
];

struct Parser<'a> {
    query: &'a str,
    toks: Vec<Tok>,
    lex_error: Option<String>,
    pos: usize,
}

type PResult<T> = Result<T, String>;

impl Parser<'_> {
    /// The `k`-th token ahead (0 = next); a lexical error when the lexer
    /// failed before producing it.
    fn peek(&self, k: usize) -> PResult<&Tok> {
        match self.toks.get(self.pos + k) {
            Some(t) => Ok(t),
            None => Err(self
                .lex_error
                .clone()
                .unwrap_or_else(|| "unexpected end of tokens".into())),
        }
    }

    fn kind(&self, k: usize) -> PResult<Kind> {
        Ok(self.peek(k)?.kind)
    }

    fn next(&mut self) -> PResult<Tok> {
        let t = self.peek(0)?.clone();
        self.pos += 1;
        Ok(t)
    }

    fn error(&self, expect: Expect) -> String {
        let Ok(t) = self.peek(0) else {
            return self.lex_error.clone().unwrap_or_default();
        };
        let mut msg = String::from("Encountered \"");
        if t.kind == Kind::Eof {
            msg.push_str("<EOF>");
        } else {
            msg.push_str(&format!(
                " {} \"{} \"",
                t.kind.image(),
                add_escapes(&t.image)
            ));
        }
        msg.push_str(&format!("\" at line 1, column {}.\n", t.col));
        let mut kinds: Vec<Kind> = match expect {
            Expect::ClauseStart => {
                let mut v = vec![Kind::Not, Kind::Plus, Kind::Minus];
                v.extend(CLAUSE_FIRST);
                v
            }
            Expect::AfterModifier => CLAUSE_FIRST.to_vec(),
            Expect::AfterClause { top, bare_term } => {
                let mut v = vec![
                    if top { Kind::Eof } else { Kind::RParen },
                    Kind::And,
                    Kind::Or,
                    Kind::Not,
                    Kind::Plus,
                    Kind::Minus,
                ];
                v.extend(CLAUSE_FIRST);
                if bare_term {
                    v.push(Kind::Carat);
                    v.push(Kind::FuzzySlop);
                }
                v
            }
            Expect::One(k) => vec![k],
            Expect::None => vec![],
        };
        kinds.sort();
        kinds.dedup();
        if !kinds.is_empty() {
            msg.push_str(if kinds.len() == 1 {
                "Was expecting:\n    "
            } else {
                "Was expecting one of:\n    "
            });
            for k in kinds {
                msg.push_str(k.image());
                msg.push(' ');
                if k != Kind::Eof {
                    msg.push_str("...");
                }
                msg.push_str("\n    ");
            }
        }
        msg
    }

    fn expect(&mut self, k: Kind, ctx: Expect) -> PResult<Tok> {
        if self.kind(0)? == k {
            self.next()
        } else {
            Err(self.error(ctx))
        }
    }

    fn is_multiterm_start(&self) -> PResult<bool> {
        if self.kind(0)? != Kind::TermTok {
            return Ok(false);
        }
        // Lexical errors two tokens ahead surface here as in JavaCC's lookahead.
        if self.kind(1)? != Kind::TermTok {
            return Ok(false);
        }
        Ok(allowed_post_multi_term(self.kind(2)?))
    }

    fn query(&mut self, field: &Option<String>, top: bool) -> PResult<Option<QueryAst>> {
        let mut clauses: Vec<Clause> = Vec::new();
        let mut first: Option<QueryAst> = None;
        let mut last_bare;
        if self.is_multiterm_start()? {
            first = self.multi_term(field, &mut clauses)?;
            last_bare = true;
        } else {
            let mods = self.modifiers()?;
            let ctx = if mods == MOD_NONE {
                Expect::ClauseStart
            } else {
                Expect::AfterModifier
            };
            let (q, bare) = self.clause(field, ctx)?;
            last_bare = bare;
            if mods == MOD_NONE {
                first = q.clone();
            }
            add_clause(&mut clauses, CONJ_NONE, mods, q);
        }
        loop {
            if self.is_multiterm_start()? {
                self.multi_term(field, &mut clauses)?;
                last_bare = true;
                continue;
            }
            let k = self.kind(0)?;
            let starts = matches!(
                k,
                Kind::And | Kind::Or | Kind::Not | Kind::Plus | Kind::Minus
            ) || CLAUSE_FIRST.contains(&k);
            if !starts {
                break;
            }
            let conj = match k {
                Kind::And => {
                    self.next()?;
                    CONJ_AND
                }
                Kind::Or => {
                    self.next()?;
                    CONJ_OR
                }
                _ => CONJ_NONE,
            };
            let mods = self.modifiers()?;
            let ctx = if mods == MOD_NONE {
                Expect::ClauseStart
            } else {
                Expect::AfterModifier
            };
            let (q, bare) = self.clause(field, ctx)?;
            last_bare = bare;
            add_clause(&mut clauses, conj, mods, q);
        }
        let k = self.kind(0)?;
        let want = if top { Kind::Eof } else { Kind::RParen };
        if k != want {
            return Err(self.error(Expect::AfterClause {
                top,
                bare_term: last_bare,
            }));
        }
        if clauses.len() == 1 && first.is_some() {
            return Ok(first);
        }
        Ok(boolean_query(clauses))
    }

    fn multi_term(
        &mut self,
        field: &Option<String>,
        clauses: &mut Vec<Clause>,
    ) -> PResult<Option<QueryAst>> {
        let mut text = self.next()?.image;
        while self.kind(0)? == Kind::TermTok && allowed_post_multi_term(self.kind(1)?) {
            let t = self.next()?;
            text.push(' ');
            text.push_str(&t.image);
        }
        let q = QueryAst::Leaf {
            field: field.clone(),
            term: Term::Text(discard_escape_char(&text)?),
            boost: None,
        };
        clauses.push(Clause {
            conj: Conj::None,
            modifier: Modifier::None,
            query: q.clone(),
            multi_term: true,
        });
        Ok(Some(q))
    }

    fn modifiers(&mut self) -> PResult<u8> {
        Ok(match self.kind(0)? {
            Kind::Plus => {
                self.next()?;
                MOD_REQ
            }
            Kind::Minus | Kind::Not => {
                self.next()?;
                MOD_NOT
            }
            _ => MOD_NONE,
        })
    }

    /// A clause; the flag says it ended in a bare term (for error lists).
    fn clause(&mut self, field: &Option<String>, ctx: Expect) -> PResult<(Option<QueryAst>, bool)> {
        let mut field = field.clone();
        let k0 = self.kind(0)?;
        if matches!(k0, Kind::TermTok | Kind::Star) && self.kind(1)? == Kind::Colon {
            let t = self.next()?;
            self.next()?;
            field = Some(if t.kind == Kind::Star {
                "*".to_string()
            } else {
                discard_escape_char(&t.image)?
            });
            let k = self.kind(0)?;
            if k != Kind::LParen && !CLAUSE_FIRST.contains(&k) {
                return Err(self.error(Expect::AfterModifier));
            }
        }
        if self.kind(0)? == Kind::LParen {
            self.next()?;
            let q = self.query(&field, false)?;
            self.expect(Kind::RParen, Expect::One(Kind::RParen))?;
            if self.kind(0)? == Kind::Carat {
                self.next()?;
                self.expect(Kind::Number, Expect::One(Kind::Number))?;
            }
            return Ok((q, false));
        }
        if !CLAUSE_FIRST.contains(&self.kind(0)?) {
            return Err(self.error(ctx));
        }
        self.term(&field)
    }

    fn boost_and_slop(&mut self) -> PResult<(Option<String>, Option<String>)> {
        let mut boost = None;
        let mut slop = None;
        match self.kind(0)? {
            Kind::Carat => {
                self.next()?;
                boost = Some(self.expect(Kind::Number, Expect::One(Kind::Number))?.image);
                if self.kind(0)? == Kind::FuzzySlop {
                    slop = Some(self.next()?.image);
                }
            }
            Kind::FuzzySlop => {
                slop = Some(self.next()?.image);
                if self.kind(0)? == Kind::Carat {
                    self.next()?;
                    boost = Some(self.expect(Kind::Number, Expect::One(Kind::Number))?.image);
                }
            }
            _ => {}
        }
        Ok((boost, slop))
    }

    fn term(&mut self, field: &Option<String>) -> PResult<(Option<QueryAst>, bool)> {
        let t = self.next()?;
        match t.kind {
            Kind::RangeInStart | Kind::RangeExStart => {
                let include_lower = t.kind == Kind::RangeInStart;
                let g1 = self.range_goop()?;
                self.expect(Kind::RangeTo, Expect::One(Kind::RangeTo))?;
                let g2 = self.range_goop()?;
                let end = self.next()?;
                let include_upper = match end.kind {
                    Kind::RangeInEnd => true,
                    Kind::RangeExEnd => false,
                    _ => {
                        self.pos -= 1;
                        let mut e = self.error(Expect::None);
                        e = e.replace(
                            ".\n",
                            ".\nWas expecting one of:\n    \"]\" ...\n    \"}\" ...\n    ",
                        );
                        return Err(e);
                    }
                };
                let mut boost = None;
                if self.kind(0)? == Kind::Carat {
                    self.next()?;
                    boost = Some(self.expect(Kind::Number, Expect::One(Kind::Number))?.image);
                }
                let open = |g: Option<String>| g.filter(|v| v != "*");
                let term = Term::Range {
                    lower: open(g1),
                    upper: open(g2),
                    include_lower,
                    include_upper,
                };
                Ok((Some(leaf(field, term, boost)), false))
            }
            Kind::Quoted => {
                let (boost, slop) = self.boost_and_slop()?;
                let inner: String = {
                    let chars: Vec<char> = t.image.chars().collect();
                    chars[1..chars.len() - 1].iter().collect()
                };
                let text = discard_escape_char(&inner)?;
                let slop = match slop {
                    Some(s) if s.len() > 1 => s[1..].parse::<f32>().map(|f| f as u32).unwrap_or(0),
                    _ => 0,
                };
                if field.as_deref() == Some("_exists_") {
                    return Ok((Some(exists_leaf(text)), false));
                }
                Ok((Some(leaf(field, Term::Phrase { text, slop }, boost)), false))
            }
            Kind::TermTok
            | Kind::Star
            | Kind::PrefixTerm
            | Kind::WildTerm
            | Kind::RegexpTerm
            | Kind::Number
            | Kind::BareOper => {
                let (boost, slop) = self.boost_and_slop()?;
                let q = bare_token_query(field, &t, slop, boost)?;
                Ok((q, true))
            }
            _ => {
                self.pos -= 1;
                Err(self.error(Expect::AfterModifier))
            }
        }
    }

    fn range_goop(&mut self) -> PResult<Option<String>> {
        let t = self.next()?;
        match t.kind {
            Kind::RangeGoop | Kind::RangeTo => Ok(Some(discard_escape_char(&t.image)?)),
            Kind::RangeQuoted => {
                let chars: Vec<char> = t.image.chars().collect();
                let inner: String = chars[1..chars.len() - 1].iter().collect();
                Ok(Some(discard_escape_char(&inner)?))
            }
            _ => {
                self.pos -= 1;
                let mut e = self.error(Expect::None);
                e = e.replace(
                    ".\n",
                    ".\nWas expecting one of:\n    \"TO\" ...\n    <RANGE_QUOTED> ...\n    <RANGE_GOOP> ...\n    ",
                );
                Err(e)
            }
        }
    }
}

fn allowed_post_multi_term(k: Kind) -> bool {
    !matches!(
        k,
        Kind::Colon | Kind::Star | Kind::FuzzySlop | Kind::Carat | Kind::And | Kind::Or
    )
}

fn leaf(field: &Option<String>, term: Term, boost: Option<String>) -> QueryAst {
    QueryAst::Leaf {
        field: field.clone(),
        term,
        boost,
    }
}

fn exists_leaf(field_name: String) -> QueryAst {
    QueryAst::Leaf {
        field: Some("_exists_".into()),
        term: Term::Exists(field_name),
        boost: None,
    }
}

/// `QueryParserBase.handleBareTokenQuery` with OpenSearch's overrides.
fn bare_token_query(
    field: &Option<String>,
    t: &Tok,
    fuzzy_slop: Option<String>,
    boost: Option<String>,
) -> PResult<Option<QueryAst>> {
    let image = if t.kind == Kind::BareOper {
        t.image[..1].to_string()
    } else {
        t.image.clone()
    };
    let exists_field = field.as_deref() == Some("_exists_");
    let term = match t.kind {
        Kind::Star | Kind::WildTerm => {
            if image == "*" {
                match field.as_deref() {
                    None | Some("*") => Term::MatchAll,
                    Some(f) => Term::Exists(f.to_string()),
                }
            } else {
                Term::Wildcard(image)
            }
        }
        Kind::PrefixTerm => {
            if image == "*" {
                match field.as_deref() {
                    None | Some("*") => Term::MatchAll,
                    Some(f) => Term::Exists(f.to_string()),
                }
            } else {
                Term::Prefix(discard_escape_char(&image[..image.len() - 1])?)
            }
        }
        Kind::RegexpTerm => {
            let chars: Vec<char> = image.chars().collect();
            Term::Regexp(chars[1..chars.len() - 1].iter().collect())
        }
        _ => {
            let text = discard_escape_char(&image)?;
            if let Some(slop) = fuzzy_slop {
                let edits = if slop.len() == 1 {
                    None
                } else {
                    // Fuzziness.build("N").asDistance: an integer edit count,
                    // capped at 2 by FuzzyQuery.
                    Some(
                        slop[1..]
                            .parse::<f32>()
                            .map(|f| (f as u32).min(2))
                            .map_err(|_| format!("invalid fuzziness `{}`", &slop[1..]))?,
                    )
                };
                Term::Fuzzy { text, edits }
            } else if exists_field {
                return Ok(Some(exists_leaf(text)));
            } else if let Some(f) = field.as_deref() {
                // OpenSearch's getFieldQuery: `field:>x`, `>=`, `<`, `<=`.
                one_sided_range(f, &text).unwrap_or(Term::Text(text))
            } else {
                Term::Text(text)
            }
        }
    };
    Ok(Some(leaf(field, term, boost)))
}

fn one_sided_range(_field: &str, text: &str) -> Option<Term> {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= 1 {
        return None;
    }
    let rest = |n: usize| -> String { chars[n..].iter().collect() };
    match chars[0] {
        '>' if chars.len() > 2 && chars[1] == '=' => Some(Term::Range {
            lower: Some(rest(2)),
            upper: None,
            include_lower: true,
            include_upper: true,
        }),
        '>' => Some(Term::Range {
            lower: Some(rest(1)),
            upper: None,
            include_lower: false,
            include_upper: true,
        }),
        '<' if chars.len() > 2 && chars[1] == '=' => Some(Term::Range {
            lower: None,
            upper: Some(rest(2)),
            include_lower: true,
            include_upper: true,
        }),
        '<' => Some(Term::Range {
            lower: None,
            upper: Some(rest(1)),
            include_lower: true,
            include_upper: false,
        }),
        _ => None,
    }
}

/// Records a clause; null queries (none at parse time) are not recorded.
fn add_clause(clauses: &mut Vec<Clause>, conj: u8, mods: u8, q: Option<QueryAst>) {
    let Some(query) = q else { return };
    clauses.push(Clause {
        conj: match conj {
            CONJ_AND => Conj::And,
            CONJ_OR => Conj::Or,
            _ => Conj::None,
        },
        modifier: match mods {
            MOD_NOT => Modifier::Not,
            MOD_REQ => Modifier::Required,
            _ => Modifier::None,
        },
        query,
        multi_term: false,
    });
}

/// `getBooleanQuery`: no clauses gives null.
fn boolean_query(clauses: Vec<Clause>) -> Option<QueryAst> {
    if clauses.is_empty() {
        None
    } else {
        Some(QueryAst::Bool(clauses))
    }
}

/// Parses `q` as OpenSearch's `query_string` query does.
pub fn parse(q: &str) -> Result<QueryAst, QueryParseError> {
    let err = |detail: String| QueryParseError {
        query: q.to_string(),
        detail,
    };
    if q.trim().is_empty() {
        return Ok(QueryAst::MatchNone);
    }
    let lexed = lex(q);
    let mut p = Parser {
        query: q,
        toks: lexed.toks,
        lex_error: lexed.error,
        pos: 0,
    };
    let _ = p.query;
    let ast = p.query(&None, true).map_err(err)?;
    // An all-null query: OpenSearch's QueryStringQueryBuilder returns null.
    Ok(ast.unwrap_or(QueryAst::Bool(Vec::new())))
}

impl fmt::Display for QueryAst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryAst::MatchNone => write!(f, "MatchNoDocs"),
            QueryAst::Bool(cs) => {
                write!(f, "(")?;
                let built = build_clauses(cs, &mut |_, _| false);
                for (i, (o, _, q)) in built.iter().enumerate() {
                    if i > 0 {
                        write!(f, " ")?;
                    }
                    let p = match o {
                        Occur::Must => "+",
                        Occur::Should => "",
                        Occur::MustNot => "-",
                    };
                    write!(f, "{p}{q}")?;
                }
                write!(f, ")")
            }
            QueryAst::Leaf { field, term, .. } => {
                let fname = field.as_deref().unwrap_or("*");
                match term {
                    Term::Text(t) => write!(f, "{fname}:{t:?}"),
                    Term::Phrase { text, slop } if *slop > 0 => {
                        write!(f, "{fname}:phrase({text:?})~{slop}")
                    }
                    Term::Phrase { text, .. } => write!(f, "{fname}:phrase({text:?})"),
                    Term::Wildcard(w) => write!(f, "{fname}:wildcard({w})"),
                    Term::Prefix(p) => write!(f, "{fname}:prefix({p})"),
                    Term::Regexp(r) => write!(f, "{fname}:/{r}/"),
                    Term::Fuzzy { text, edits } => write!(f, "{fname}:fuzzy({text},{edits:?})"),
                    Term::Range {
                        lower,
                        upper,
                        include_lower,
                        include_upper,
                    } => write!(
                        f,
                        "{fname}:{}{} TO {}{}",
                        if *include_lower { "[" } else { "{" },
                        lower.as_deref().unwrap_or("*"),
                        upper.as_deref().unwrap_or("*"),
                        if *include_upper { "]" } else { "}" }
                    ),
                    Term::Exists(e) => write!(f, "_exists_:{e}"),
                    Term::MatchAll => write!(f, "*:*"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(q: &str) -> String {
        parse(q).map(|a| a.to_string()).unwrap_or_else(|e| e.detail)
    }

    #[test]
    fn fields_phrases_and_default_and() {
        assert_eq!(
            p(r#"data_type:"windows:evtx:record" AND event_identifier:4688"#),
            r#"(+data_type:phrase("windows:evtx:record") +event_identifier:"4688")"#
        );
        // No operator: still required (default_operator AND).
        assert_eq!(p("a:x b:y"), r#"(+a:"x" +b:"y")"#);
    }

    // Lucene classic addClause: `a AND b OR c` makes b optional, a stays
    // required; BooleanQuery then ignores the optional clauses.
    // (lucene/queryparser/.../classic/QueryParserBase.java addClause)
    #[test]
    fn and_then_or_is_not_grouped() {
        assert_eq!(p("a:1 AND b:2 OR c:3"), r#"(+a:"1" b:"2" c:"3")"#);
        assert_eq!(p("a:1 OR b:2"), r#"(a:"1" b:"2")"#);
        assert_eq!(p("NOT a:1"), r#"(-a:"1")"#);
        assert_eq!(p("x:1 AND NOT a:1"), r#"(+x:"1" -a:"1")"#);
    }

    #[test]
    fn wildcards_prefix_regexp_exists() {
        assert_eq!(p(r"f:*\\cmd.exe"), r"f:wildcard(*\\cmd.exe)");
        assert_eq!(p("f:abc*"), "f:prefix(abc)");
        assert_eq!(p("f:*"), "_exists_:f");
        assert_eq!(p("*"), "*:*");
        assert_eq!(p("_exists_:foo"), "_exists_:foo");
        assert_eq!(p(r"f:/a\/b.*/"), r"f:/a\/b.*/");
        assert_eq!(p(r"f:a\ b"), r#"f:"a b""#);
    }

    #[test]
    fn ranges_boost_fuzzy_groups() {
        assert_eq!(p("n:[1 TO 5}"), "n:[1 TO 5}");
        assert_eq!(p("n:>=10"), "n:[10 TO *]");
        assert_eq!(p("n:{* TO 3]"), "n:{* TO 3]");
        assert_eq!(p("f:abc^2"), r#"f:"abc""#);
        assert_eq!(p("f:abc~"), "f:fuzzy(abc,None)");
        assert_eq!(p(r#"f:"a b"~3"#), r#"f:phrase("a b")~3"#);
        assert_eq!(p("f:(a OR b)"), r#"(f:"a" f:"b")"#);
        assert_eq!(p("(f:a)"), r#"f:"a""#);
    }

    #[test]
    fn runs_of_plain_terms_are_one_clause() {
        assert_eq!(p("foo bar"), r#"*:"foo bar""#);
        assert_eq!(p("foo bar:x"), r#"(+*:"foo" +bar:"x")"#);
    }

    // What Timesketch's `_sanitize_query` produces from a lone `*`:
    // an unbalanced quote, a lexical error at the end of the input.
    #[test]
    fn unbalanced_quote_is_a_lexical_error() {
        let e = parse(r#"hostPath:""#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Failed to parse query [hostPath:\"]: Cannot parse 'hostPath:\"': \
             Lexical error at line 1, column 11.  Encountered: <EOF> (in lexical state 2)"
        );
        let e = parse(r#"a:"bc AND d"#).unwrap_err();
        assert_eq!(
            e.detail,
            "Lexical error at line 1, column 12.  Encountered: <EOF> after prefix \"\\\"bc AND d\" (in lexical state 2)"
        );
    }

    // `\*:` removal leaves `:"value"`: the parser rejects a clause that
    // starts with a colon.
    #[test]
    fn empty_field_name_is_a_parse_error() {
        let e = parse(r#":"FileNotFoundException""#).unwrap_err();
        assert!(
            e.detail
                .starts_with("Encountered \" \":\" \": \"\" at line 1, column 0.\nWas expecting one of:\n    <NOT> ...\n    \"+\" ...\n"),
            "{}",
            e.detail
        );
    }

    #[test]
    fn unbalanced_parentheses() {
        let e = parse("(a:1").unwrap_err();
        assert!(
            e.detail
                .starts_with("Encountered \"<EOF>\" at line 1, column 4."),
            "{}",
            e.detail
        );
        let e = parse("a:1)").unwrap_err();
        assert!(
            e.detail
                .starts_with("Encountered \" \")\" \") \"\" at line 1, column 3."),
            "{}",
            e.detail
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(p(r"f:a\u0041"), r#"f:"aA""#);
        let e = parse(r"f:a\").unwrap_err();
        assert!(
            e.detail.contains("Lexical error at line 1, column 5"),
            "{}",
            e.detail
        );
        assert_eq!(
            discard_escape_char(r"a\u00").unwrap_err(),
            "Truncated unicode escape sequence."
        );
    }

    #[test]
    fn closing_bracket_outside_a_range_is_a_lexical_error() {
        assert_eq!(
            p("a:b]"),
            "Lexical error at line 1, column 4.  Encountered: ']' (93), (in lexical state 2)"
        );
    }

    #[test]
    fn boost_needs_a_number() {
        assert_eq!(
            p("a^x"),
            "Lexical error at line 1, column 3.  Encountered: 'x' (120),"
        );
    }

    #[test]
    fn whitespace_only_matches_nothing() {
        assert_eq!(parse("  ").unwrap(), QueryAst::MatchNone);
    }

    #[test]
    fn and_words_are_operators_only_alone() {
        assert_eq!(p("f:ANDROID"), r#"f:"ANDROID""#);
        assert_eq!(p("f:a && g:b"), r#"(+f:"a" +g:"b")"#);
        assert_eq!(p("f:a || g:b"), r#"(f:"a" g:"b")"#);
    }
}
