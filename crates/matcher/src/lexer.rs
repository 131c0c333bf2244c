//! The matcher's lexer: Heka's hand-written lexer (message/message_matcher_parser.y, `Lex`),
//! rewritten over bytes.
//!
//! Heka's lexer signals every lexical failure by returning the end-of-input token, which the
//! grammar then usually rejects. We keep the two end-of-input rules the spec relies on (a newline
//! or NUL character, an unknown capitalised word, `Fields` without `[`) and turn every other
//! failure into a [`ParseError`] that names what is wrong.

use crate::eval::RegexMatch;
use crate::parse::{ParseError, ParseErrorKind, ParseWarning};

/// A header variable compared as a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StrVar {
    Uuid,
    Type,
    Logger,
    Payload,
    EnvVersion,
    Hostname,
}

/// A header variable compared as a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NumVar {
    Timestamp,
    Severity,
    Pid,
}

/// A relational operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RelOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// `Fields[name][field_index][array_index]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FieldRef {
    pub(crate) name: Box<[u8]>,
    pub(crate) field_index: usize,
    pub(crate) array_index: usize,
}

#[derive(Debug)]
pub(crate) enum TokenKind {
    Eof,
    LParen,
    RParen,
    And,
    Or,
    Rel(RelOp),
    /// `=~` (false) or `!~` (true).
    Re(bool),
    StrVar(StrVar),
    NumVar(NumVar),
    Field(FieldRef),
    True,
    False,
    Nil,
    Str(Vec<u8>),
    Num(f64),
    Regex(RegexMatch),
}

#[derive(Debug)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    /// Byte offset of the token's first character.
    pub(crate) start: usize,
    /// Byte offset just past the token.
    pub(crate) end: usize,
}

pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    done: bool,
    pub(crate) warnings: Vec<ParseWarning>,
}

/// Heka compat (message_matcher_parser.y `getrune`): a newline or a NUL character reads as the
/// end of input.
fn ends_input(b: Option<u8>) -> bool {
    matches!(b, None | Some(b'\n') | Some(0))
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str) -> Lexer<'a> {
        Lexer {
            src,
            pos: 0,
            done: false,
            warnings: Vec::new(),
        }
    }

    fn byte(&self, at: usize) -> Option<u8> {
        self.src.as_bytes().get(at).copied()
    }

    fn error(&self, kind: ParseErrorKind, start: usize, end: usize) -> ParseError {
        let end = end.clamp(start, self.src.len());
        let mut end_char = end;
        while !self.src.is_char_boundary(end_char) {
            end_char += 1;
        }
        ParseError::new(kind, &self.src[start..end_char], start)
    }

    fn token(&self, kind: TokenKind, start: usize) -> Token {
        Token {
            kind,
            start,
            end: self.pos,
        }
    }

    fn eof(&mut self, start: usize) -> Token {
        self.done = true;
        Token {
            kind: TokenKind::Eof,
            start,
            end: start,
        }
    }

    pub(crate) fn next_token(&mut self) -> Result<Token, ParseError> {
        if self.done {
            return Ok(self.eof(self.pos));
        }
        while matches!(self.byte(self.pos), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(c) = self.byte(start).filter(|_| !ends_input(self.byte(start))) else {
            return Ok(self.eof(start));
        };
        match c {
            b'A'..=b'Z' => self.word(start),
            b'0'..=b'9' | b'.' => Ok(self.number(start)),
            b'(' | b')' => {
                self.pos += 1;
                let kind = if c == b'(' {
                    TokenKind::LParen
                } else {
                    TokenKind::RParen
                };
                Ok(self.token(kind, start))
            }
            b'=' | b'!' | b'&' | b'|' => {
                let next = self.byte(start + 1);
                let kind = match (c, next) {
                    (b'=', Some(b'=')) => TokenKind::Rel(RelOp::Eq),
                    (b'=', Some(b'~')) => TokenKind::Re(false),
                    (b'!', Some(b'=')) => TokenKind::Rel(RelOp::Ne),
                    (b'!', Some(b'~')) => TokenKind::Re(true),
                    (b'&', Some(b'&')) => TokenKind::And,
                    (b'|', Some(b'|')) => TokenKind::Or,
                    // Deviation: Heka's lexer drops the lone character and returns the one after
                    // it, so `TRUE &` parses as `TRUE`; we reject it.
                    _ => {
                        return Err(self.error(
                            ParseErrorKind::LoneOperator(char::from(c)),
                            start,
                            start + 1,
                        ));
                    }
                };
                self.pos += 2;
                Ok(self.token(kind, start))
            }
            b'>' | b'<' => {
                let eq = self.byte(start + 1) == Some(b'=');
                self.pos += if eq { 2 } else { 1 };
                let op = match (c, eq) {
                    (b'>', false) => RelOp::Gt,
                    (b'>', true) => RelOp::Ge,
                    (_, false) => RelOp::Lt,
                    (_, true) => RelOp::Le,
                };
                Ok(self.token(TokenKind::Rel(op), start))
            }
            b'"' | b'\'' => self.string(start, c),
            b'/' => self.regex(start),
            _ => {
                let ch = self.src[start..].chars().next().unwrap_or('\u{FFFD}');
                Err(self.error(
                    ParseErrorKind::UnexpectedChar(ch),
                    start,
                    start + ch.len_utf8(),
                ))
            }
        }
    }

    fn word(&mut self, start: usize) -> Result<Token, ParseError> {
        let len = self.src.as_bytes()[start..]
            .iter()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        self.pos = start + len;
        let kind = match &self.src[start..self.pos] {
            "Uuid" => TokenKind::StrVar(StrVar::Uuid),
            "Type" => TokenKind::StrVar(StrVar::Type),
            "Logger" => TokenKind::StrVar(StrVar::Logger),
            "Payload" => TokenKind::StrVar(StrVar::Payload),
            "EnvVersion" => TokenKind::StrVar(StrVar::EnvVersion),
            "Hostname" => TokenKind::StrVar(StrVar::Hostname),
            "Timestamp" => TokenKind::NumVar(NumVar::Timestamp),
            "Severity" => TokenKind::NumVar(NumVar::Severity),
            "Pid" => TokenKind::NumVar(NumVar::Pid),
            "TRUE" => TokenKind::True,
            "FALSE" => TokenKind::False,
            "NIL" => TokenKind::Nil,
            "Fields" if self.byte(self.pos) == Some(b'[') => return self.field(start),
            // Heka compat (message_matcher_parser.y `Lex`): an unknown capitalised word, or
            // `Fields` not followed by `[`, is read as the end of input (quirk Q3).
            _ => return Ok(self.eof(start)),
        };
        Ok(self.token(kind, start))
    }

    /// `Fields[name]`, optionally followed by `[field index]` and `[array index]`; `self.pos` is
    /// on the first `[`.
    fn field(&mut self, start: usize) -> Result<Token, ParseError> {
        let name_start = self.pos + 1;
        let mut i = name_start;
        while self.byte(i) != Some(b']') {
            if ends_input(self.byte(i)) {
                return Err(self.error(ParseErrorKind::UnterminatedField, start, i));
            }
            i += 1;
        }
        if i == name_start {
            return Err(self.error(ParseErrorKind::EmptyFieldName, start, i + 1));
        }
        let name: Box<[u8]> = self.src.as_bytes()[name_start..i].into();
        i += 1;
        let mut indices = [0usize; 2];
        for slot in &mut indices {
            if self.byte(i) != Some(b'[') {
                break;
            }
            let digits_start = i + 1;
            i = digits_start;
            while self.byte(i) != Some(b']') {
                match self.byte(i) {
                    None | Some(b'\n' | 0) => {
                        return Err(self.error(ParseErrorKind::UnterminatedField, start, i));
                    }
                    Some(b'0'..=b'9') => i += 1,
                    _ => return Err(self.error(ParseErrorKind::BadIndex, start, i + 1)),
                }
            }
            *slot = self.src[digits_start..i]
                .parse()
                .map_err(|_| self.error(ParseErrorKind::BadIndex, start, i + 1))?;
            i += 1;
        }
        self.pos = i;
        let field = FieldRef {
            name,
            field_index: indices[0],
            array_index: indices[1],
        };
        Ok(self.token(TokenKind::Field(field), start))
    }

    fn number(&mut self, start: usize) -> Token {
        let len = self.src.as_bytes()[start..]
            .iter()
            .take_while(|b| matches!(b, b'0'..=b'9' | b'.' | b'e' | b'+' | b'-'))
            .count();
        self.pos = start + len;
        let text = &self.src[start..self.pos];
        // Heka compat (message_matcher_parser.y `Lex`): text that is not a valid float64 (`1-2`,
        // `7e`, `1e400`) is logged and read as 0.
        let value = match text.parse::<f64>() {
            Ok(v) if v.is_finite() => v,
            _ => {
                self.warnings.push(ParseWarning::BadNumber {
                    text: text.to_owned(),
                    pos: start,
                });
                0.0
            }
        };
        self.token(TokenKind::Num(value), start)
    }

    /// A quoted string. A backslash before the opening quote character yields that quote; before
    /// anything else both characters are kept.
    fn string(&mut self, start: usize, quote: u8) -> Result<Token, ParseError> {
        let mut out = Vec::new();
        let mut i = start + 1;
        loop {
            match self.byte(i) {
                None | Some(b'\n' | 0) => {
                    return Err(self.error(ParseErrorKind::UnterminatedString, start, i));
                }
                Some(b) if b == quote => break,
                Some(b'\\') => {
                    let next = self.byte(i + 1);
                    match next {
                        None => {
                            return Err(self.error(
                                ParseErrorKind::UnterminatedString,
                                start,
                                i + 1,
                            ));
                        }
                        Some(q) if q == quote => {
                            out.push(quote);
                            i += 2;
                        }
                        Some(b'\n' | 0) => {
                            // Heka compat (message_matcher_parser.y `Lex`): the escaped newline
                            // is consumed, read as NUL, and the string goes on past it.
                            out.extend_from_slice(b"\\\0");
                            i += 2;
                        }
                        Some(_) => {
                            let ch_len = self.src[i + 1..].chars().next().map_or(1, char::len_utf8);
                            out.extend_from_slice(&self.src.as_bytes()[i..i + 1 + ch_len]);
                            i += 1 + ch_len;
                        }
                    }
                }
                Some(b) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        self.pos = i + 1;
        Ok(self.token(TokenKind::Str(out), start))
    }

    /// A `/regex/`: `\/` is a slash; every other backslash sequence goes to the regex unchanged.
    fn regex(&mut self, start: usize) -> Result<Token, ParseError> {
        let mut pattern = String::new();
        let mut i = start + 1;
        let mut run = i;
        loop {
            match self.byte(i) {
                None | Some(b'\n' | 0) => {
                    return Err(self.error(ParseErrorKind::UnterminatedRegex, start, i));
                }
                Some(b'/') => break,
                Some(b'\\') => match self.byte(i + 1) {
                    None => {
                        return Err(self.error(ParseErrorKind::UnterminatedRegex, start, i + 1));
                    }
                    Some(b'/') => {
                        pattern.push_str(&self.src[run..i]);
                        pattern.push('/');
                        i += 2;
                        run = i;
                    }
                    Some(b'\n' | 0) => {
                        // Heka compat (message_matcher_parser.y `Lex`): as in strings.
                        pattern.push_str(&self.src[run..i]);
                        pattern.push_str("\\\0");
                        i += 2;
                        run = i;
                    }
                    // The escaped character is copied with the rest of the run; skipping it here
                    // keeps `\\` from escaping the closing slash.
                    Some(_) => {
                        let ch_len = self.src[i + 1..].chars().next().map_or(1, char::len_utf8);
                        i += 1 + ch_len;
                    }
                },
                Some(_) => i += 1,
            }
        }
        pattern.push_str(&self.src[run..i]);
        self.pos = i + 1;
        let re = RegexMatch::compile(&pattern).map_err(|e| {
            self.error(ParseErrorKind::InvalidRegex(e.to_string()), start, self.pos)
        })?;
        Ok(self.token(TokenKind::Regex(re), start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lexes `src` to the end and describes each token, or the error.
    fn lex(src: &str) -> Vec<String> {
        let mut lexer = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            match lexer.next_token() {
                Ok(t) => {
                    let text = match &t.kind {
                        TokenKind::Eof => {
                            out.push(format!("EOF@{}", t.start));
                            return out;
                        }
                        TokenKind::Str(s) => format!("STR {:?}", String::from_utf8_lossy(s)),
                        TokenKind::Num(v) => format!("NUM {v}"),
                        TokenKind::Field(f) => format!(
                            "FIELD {:?} {} {}",
                            String::from_utf8_lossy(&f.name),
                            f.field_index,
                            f.array_index
                        ),
                        TokenKind::Regex(r) => format!("RE {r:?}"),
                        other => format!("{other:?}"),
                    };
                    out.push(text);
                }
                Err(e) => {
                    out.push(format!("ERR {e}"));
                    return out;
                }
            }
        }
    }

    fn check(src: &str, want: &[&str]) {
        assert_eq!(lex(src), want, "lexing {src:?}");
    }

    #[test]
    fn operators_and_words() {
        check(
            "Type==Severity!=Pid>Timestamp>=Hostname<Logger<=Payload=~EnvVersion!~Uuid&&TRUE||FALSE(NIL)",
            &[
                "StrVar(Type)",
                "Rel(Eq)",
                "NumVar(Severity)",
                "Rel(Ne)",
                "NumVar(Pid)",
                "Rel(Gt)",
                "NumVar(Timestamp)",
                "Rel(Ge)",
                "StrVar(Hostname)",
                "Rel(Lt)",
                "StrVar(Logger)",
                "Rel(Le)",
                "StrVar(Payload)",
                "Re(false)",
                "StrVar(EnvVersion)",
                "Re(true)",
                "StrVar(Uuid)",
                "And",
                "True",
                "Or",
                "False",
                "LParen",
                "Nil",
                "RParen",
                "EOF@91",
            ],
        );
    }

    #[test]
    fn whitespace_newline_and_nul() {
        check(" \tTRUE \t", &["True", "EOF@8"]);
        check("TRUE\nFALSE", &["True", "EOF@4"]);
        check("TRUE\0FALSE", &["True", "EOF@4"]);
        check(
            "TRUE\rFALSE",
            &[
                "True",
                "ERR syntax error: last token: \r pos: 4 (unexpected character '\\r')",
            ],
        );
    }

    #[test]
    fn unknown_words_end_the_input() {
        check("TRUE Invalid == 'x'", &["True", "EOF@5"]);
        check("Fields == 1", &["EOF@0"]);
        check("Typo", &["EOF@0"]);
        check("Type2", &["StrVar(Type)", "NUM 2", "EOF@5"]);
        check(
            "true",
            &["ERR syntax error: last token: t pos: 0 (unexpected character 't')"],
        );
    }

    #[test]
    fn field_references() {
        check("Fields[foo]", &["FIELD \"foo\" 0 0", "EOF@11"]);
        check("Fields[a b.'c[]", &["FIELD \"a b.'c[\" 0 0", "EOF@15"]);
        check("Fields[foo][12][3]", &["FIELD \"foo\" 12 3", "EOF@18"]);
        check(
            "Fields[x][1]]",
            &[
                "FIELD \"x\" 1 0",
                "ERR syntax error: last token: ] pos: 12 (unexpected character ']')",
            ],
        );
        for bad in [
            "Fields[]",
            "Fields[test][]",
            "Fields[test][a]",
            "Fields[test][0][]",
            "Fields[test][0][a]",
            "Fields[test][xxxx",
            "Fields[test",
            "Fields[te\nst]",
            "Fields[a][99999999999999999999999]",
        ] {
            let got = lex(bad);
            assert!(got[0].starts_with("ERR "), "{bad}: {got:?}");
        }
        // The fourth bracket is not part of the field reference.
        check(
            "Fields[t][0][0][1]",
            &[
                "FIELD \"t\" 0 0",
                "ERR syntax error: last token: [ pos: 15 (unexpected character '[')",
            ],
        );
    }

    #[test]
    fn strings_and_their_escapes() {
        check(r#"'te"st'"#, &["STR \"te\\\"st\"", "EOF@7"]);
        check(r"'it\'s'", &["STR \"it's\"", "EOF@7"]);
        check(r"'a\nb'", &["STR \"a\\\\nb\"", "EOF@6"]);
        check(r"'\\'", &["STR \"\\\\\\\\\"", "EOF@4"]);
        check(r#""a\"b\'c""#, &["STR \"a\\\"b\\\\'c\"", "EOF@9"]);
        check("'é'", &["STR \"é\"", "EOF@4"]);
        check("'a\\\nb'", &["STR \"a\\\\\\0b\"", "EOF@6"]);
        for bad in ["'abc", "'abc\"", "'ab\nc'", "'ab\\"] {
            assert!(lex(bad)[0].starts_with("ERR "), "{bad}");
        }
    }

    #[test]
    fn numbers_follow_go_parse_float() {
        check("12", &["NUM 12", "EOF@2"]);
        check("1.5e+3", &["NUM 1500", "EOF@6"]);
        check(".5", &["NUM 0.5", "EOF@2"]);
        check("99.9)", &["NUM 99.9", "RParen", "EOF@5"]);
        for zero in ["1-2", "7e", ".", "1e400", "1..2"] {
            check(zero, &["NUM 0", &format!("EOF@{}", zero.len())]);
        }
        let mut lexer = Lexer::new("1-2");
        assert!(lexer.next_token().is_ok());
        assert_eq!(lexer.warnings.len(), 1);
        check(
            "-1",
            &["ERR syntax error: last token: - pos: 0 (unexpected character '-')"],
        );
    }

    #[test]
    fn regexes() {
        check(r"/a\/b/", &["RE Regex(\"a/b\")", "EOF@6"]);
        check(r"/^abc/", &["RE StartsWith(\"abc\")", "EOF@6"]);
        check(r"/abc$/", &["RE EndsWith(\"abc\")", "EOF@6"]);
        check(r"/\\/", &["RE Regex(\"\\\\\\\\\")", "EOF@4"]);
        for bad in ["/test", r"/\ytest/", "/[/", "/ab\nc/", "/ab\\"] {
            assert!(lex(bad)[0].starts_with("ERR "), "{bad}");
        }
    }

    #[test]
    fn lone_operator_characters_are_rejected() {
        for (src, pos) in [
            ("TRUE &", 5),
            ("TRUE &(FALSE)", 5),
            ("Type = 'x'", 5),
            ("TRUE |", 5),
        ] {
            let got = lex(src);
            let last = got.last().map(String::as_str).unwrap_or("");
            assert!(
                last.starts_with("ERR ") && last.contains(&format!("pos: {pos}")),
                "{src}: {got:?}"
            );
        }
    }
}
