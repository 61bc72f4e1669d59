//! The Sigma condition language: tokenizer and parser.
//!
//! Grammar (Sigma rules specification v2, "Condition"), from least to most
//! binding: `or`, `and`, `not`, `x of pattern`, `( expression )`. Keywords are
//! matched case-insensitively, as pySigma's grammar does. `x` is a number or
//! `all`; `them` means every search identifier not starting with `_`.
//! Legacy aggregations (`... | count() by x > 5`) and `near` are recognised
//! and reported as [`Unsupported`], never silently mis-parsed.

use crate::error::{RuleError, Unsupported};

/// A parsed condition expression, before identifiers are resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Ident(String),
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
    /// `N of pattern`, `all of pattern`, `1 of them`.
    Of {
        quantifier: Quantifier,
        target: OfTarget,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    All,
    AtLeast(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub enum OfTarget {
    Them,
    /// An identifier pattern where `*` matches any run of characters.
    Pattern(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Of,
    Them,
    All,
    Number(usize),
    Ident(String),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, RuleError> {
    let mut toks = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        match c {
            '(' => {
                toks.push(Tok::LParen);
                chars.next();
            }
            ')' => {
                toks.push(Tok::RParen);
                chars.next();
            }
            '|' => return Err(RuleError::Unsupported(Unsupported::Aggregation)),
            _ => {
                let start = i;
                let mut end = s.len();
                while let Some(&(j, d)) = chars.peek() {
                    if d.is_whitespace() || d == '(' || d == ')' || d == '|' {
                        end = j;
                        break;
                    }
                    chars.next();
                }
                let word = &s[start..end];
                let tok = match word.to_ascii_lowercase().as_str() {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    "of" => Tok::Of,
                    "them" => Tok::Them,
                    "all" => Tok::All,
                    "near" => return Err(RuleError::Unsupported(Unsupported::Near)),
                    _ if word.bytes().all(|b| b.is_ascii_digit()) => {
                        Tok::Number(word.parse().map_err(|_| {
                            RuleError::Condition(format!("number `{word}` too large"))
                        })?)
                    }
                    _ => {
                        if let Some(bad) = word
                            .chars()
                            .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '*' | '.')))
                        {
                            return Err(RuleError::Condition(format!(
                                "unexpected character `{bad}` in `{word}`"
                            )));
                        }
                        Tok::Ident(word.to_string())
                    }
                };
                toks.push(tok);
            }
        }
    }
    Ok(toks)
}

/// Parses one condition string.
pub fn parse(s: &str) -> Result<Condition, RuleError> {
    let toks = tokenize(s)?;
    if toks.is_empty() {
        return Err(RuleError::Condition("empty condition".into()));
    }
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let c = p.or()?;
    if p.pos != p.toks.len() {
        return Err(RuleError::Condition(format!(
            "unexpected {} after complete expression",
            describe(&p.toks[p.pos])
        )));
    }
    Ok(c)
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::And => "`and`".into(),
        Tok::Or => "`or`".into(),
        Tok::Not => "`not`".into(),
        Tok::Of => "`of`".into(),
        Tok::Them => "`them`".into(),
        Tok::All => "`all`".into(),
        Tok::Number(n) => format!("number `{n}`"),
        Tok::Ident(s) => format!("identifier `{s}`"),
    }
}

/// Nesting limit so hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 200;

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn or(&mut self) -> Result<Condition, RuleError> {
        let mut parts = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap()
        } else {
            Condition::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Condition, RuleError> {
        let mut parts = vec![self.unary()?];
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap()
        } else {
            Condition::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Condition, RuleError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(RuleError::Condition("expression nested too deeply".into()));
        }
        let r = if self.peek() == Some(&Tok::Not) {
            self.pos += 1;
            self.unary().map(|c| Condition::Not(Box::new(c)))
        } else {
            self.primary()
        };
        self.depth -= 1;
        r
    }

    fn primary(&mut self) -> Result<Condition, RuleError> {
        let Some(tok) = self.peek().cloned() else {
            return Err(RuleError::Condition("expression ends too early".into()));
        };
        self.pos += 1;
        match tok {
            Tok::LParen => {
                let inner = self.or()?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(RuleError::Condition("missing `)`".into()));
                }
                self.pos += 1;
                Ok(inner)
            }
            Tok::Number(n) => self.of(Quantifier::AtLeast(n)),
            Tok::All => self.of(Quantifier::All),
            Tok::Ident(s) => {
                if s.contains('*') {
                    return Err(RuleError::Condition(format!(
                        "wildcard identifier `{s}` must follow `1 of` or `all of`"
                    )));
                }
                Ok(Condition::Ident(s))
            }
            other => Err(RuleError::Condition(format!(
                "unexpected {}",
                describe(&other)
            ))),
        }
    }

    fn of(&mut self, quantifier: Quantifier) -> Result<Condition, RuleError> {
        if quantifier == Quantifier::AtLeast(0) {
            return Err(RuleError::Condition("`0 of` is not meaningful".into()));
        }
        if self.peek() != Some(&Tok::Of) {
            return Err(RuleError::Condition(
                "expected `of` after quantifier".into(),
            ));
        }
        self.pos += 1;
        let target = match self.peek().cloned() {
            Some(Tok::Them) => OfTarget::Them,
            Some(Tok::Ident(s)) => OfTarget::Pattern(s),
            Some(t) => {
                return Err(RuleError::Condition(format!(
                    "expected `them` or an identifier pattern after `of`, found {}",
                    describe(&t)
                )));
            }
            None => return Err(RuleError::Condition("expression ends after `of`".into())),
        };
        self.pos += 1;
        Ok(Condition::Of { quantifier, target })
    }
}

/// Whether `name` matches an identifier pattern (`*` = any run of characters).
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Condition {
        Condition::Ident(s.into())
    }

    #[test]
    fn precedence_or_and_not() {
        // spec: `or` binds least, then `and`, then `not`.
        assert_eq!(
            parse("a or b and not c").unwrap(),
            Condition::Or(vec![
                id("a"),
                Condition::And(vec![id("b"), Condition::Not(Box::new(id("c")))])
            ])
        );
        assert_eq!(
            parse("(a or b) and c").unwrap(),
            Condition::And(vec![Condition::Or(vec![id("a"), id("b")]), id("c")])
        );
        assert_eq!(
            parse("not not a").unwrap(),
            Condition::Not(Box::new(Condition::Not(Box::new(id("a")))))
        );
    }

    #[test]
    fn quantifiers() {
        assert_eq!(
            parse("1 of selection* and not all of filter_*").unwrap(),
            Condition::And(vec![
                Condition::Of {
                    quantifier: Quantifier::AtLeast(1),
                    target: OfTarget::Pattern("selection*".into())
                },
                Condition::Not(Box::new(Condition::Of {
                    quantifier: Quantifier::All,
                    target: OfTarget::Pattern("filter_*".into())
                })),
            ])
        );
        assert_eq!(
            parse("ALL OF them").unwrap(),
            Condition::Of {
                quantifier: Quantifier::All,
                target: OfTarget::Them
            }
        );
    }

    #[test]
    fn errors() {
        assert!(matches!(
            parse("selection | count() > 5"),
            Err(RuleError::Unsupported(Unsupported::Aggregation))
        ));
        assert!(matches!(
            parse("a near b"),
            Err(RuleError::Unsupported(Unsupported::Near))
        ));
        for bad in [
            "",
            "a and",
            "(a",
            "a b",
            "1 of",
            "of them",
            "sel*",
            "0 of them",
            "a = b",
            "a)",
        ] {
            assert!(
                matches!(parse(bad), Err(RuleError::Condition(_))),
                "{bad:?}"
            );
        }
        let deep = "(".repeat(10_000) + "a" + &")".repeat(10_000);
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn identifier_patterns() {
        assert!(pattern_matches("selection*", "selection_img"));
        assert!(pattern_matches("*_img", "selection_img"));
        assert!(pattern_matches("sel*_*g", "selection_img"));
        assert!(!pattern_matches("filter*", "selection"));
        assert!(pattern_matches("a", "a"));
        assert!(!pattern_matches("a*a", "a"));
    }
}
