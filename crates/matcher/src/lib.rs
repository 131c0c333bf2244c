//! Heka's message matcher: parse an expression once, then test messages against it without
//! allocating.
//!
//! Filters and outputs select messages with a `message_matcher` such as
//! `Type == 'nginx.access' && Fields[status] >= 500`. This crate reimplements Heka's matcher
//! (message/message_matcher_parser.y and message/message_matcher.go) including the quirks configs
//! in the wild depend on.
//!
//! ```
//! use heka_matcher::Matcher;
//! use heka_message::{Field, Message};
//!
//! let m = Matcher::parse("Type == 'web' && Fields[status] >= 500").unwrap();
//! let mut msg = Message::default();
//! msg.set_type("web");
//! msg.add_field(Field::new_integer("status", 503));
//! assert!(m.matches(&msg));
//! ```
//!
//! # Grammar
//!
//! ```text
//! spec        ::= expr { expr }                  only the last expr is evaluated (quirk Q1)
//! expr        ::= expr '||' expr | expr '&&' expr | '(' expr ')' | TRUE | FALSE | test
//!                 (&& binds tighter than ||; both are left-associative and short-circuit)
//! test        ::= string_var relop STRING | string_var ('=~' | '!~') REGEX
//!               | numeric_var relop NUMBER
//!               | FIELD relop (NUMBER | STRING) | FIELD '==' (TRUE | FALSE)
//!               | FIELD ('=~' | '!~') REGEX | FIELD ('==' | '!=') NIL
//! string_var  ::= Uuid | Type | Logger | Payload | EnvVersion | Hostname
//! numeric_var ::= Timestamp | Severity | Pid
//! relop       ::= '==' | '!=' | '<' | '<=' | '>' | '>='
//! FIELD       ::= 'Fields[' name ']' [ '[' digits ']' [ '[' digits ']' ] ]
//! ```
//!
//! The variable is always on the left and the literal on the right.
//!
//! # Lexical rules
//!
//! * Whitespace is space and tab. A newline (or NUL) ends the expression: the rest is ignored
//!   (quirk Q2). Any other unexpected character, including `\r` and `-`, is an error, so negative
//!   numbers cannot be written.
//! * Words start with `A`–`Z` and continue with ASCII letters. An unknown capitalised word, or
//!   `Fields` not followed by `[`, ends the expression (quirk Q3): `TRUE Foo == 1` is `TRUE`,
//!   while `Foo == 1` is an empty, hence invalid, expression.
//! * `Fields[name]`: the name is everything up to the next `]`. The optional field index and array
//!   index are one or more digits each, default 0.
//! * Strings use `'` or `"`. A backslash before the opening quote character gives that quote;
//!   before anything else the backslash is kept (`'a\nb'` is four characters).
//! * Numbers start with a digit or `.` and continue with `0-9 . e + -`; they are read as `f64`.
//!   Text that is not a valid number (`1-2`, `7e`) is read as 0, as Heka does (see
//!   [`ParseWarning::BadNumber`]).
//! * Regular expressions use `/…/`; `\/` is a slash. They follow Go's RE2 syntax and semantics
//!   (see [`go_regex`]) and search anywhere in the value. `/^literal/` and `/literal$/` run as
//!   prefix and suffix tests.
//!
//! # Semantics
//!
//! * String variables are byte strings compared byte-wise (`EnvVersion > '0.7'` is a string
//!   comparison). `Uuid` is the lowercase `8-4-4-4-12` text, or empty when the UUID is not 16
//!   bytes.
//! * `Timestamp` (ns), `Severity` (7 when unset) and `Pid` are compared as `f64`, as in Go.
//! * `Fields[name][i][j]` is the `j`-th value of the `i`-th field called `name`. A missing field or
//!   index satisfies only `== NIL`; every other test on it is false, even `!= 'x'`. An existing
//!   one satisfies `!= NIL` and never `== NIL`.
//! * STRING and BYTES fields compare with strings and regexes; against a number every operator is
//!   false; `== TRUE`/`== FALSE` compares with the text `"TRUE"`/`"FALSE"`.
//! * INTEGER and DOUBLE fields compare with numbers (as `f64`); against strings, regexes and
//!   booleans every operator is false.
//! * BOOL fields compare with `TRUE`/`FALSE`. Against a number, string or regex the result is
//!   "the value is false", whatever the operator (quirk Q4).
//!
//! # Differences from Heka
//!
//! * A lone `=`, `!`, `&` or `|` is an error. Heka's lexer drops it and returns the next
//!   character instead, so `TRUE &` parses as `TRUE` and `TRUE &(FALSE)` as `TRUE (FALSE)`.
//! * A lexical error after a complete expression (an unterminated string or regex, an invalid
//!   regex, a malformed `Fields[...]`) is an error. Heka reads it as the end of input and accepts
//!   the expression before it (`TRUE 'abc` is `TRUE` in Heka).
//! * Parentheses may nest at most 256 levels deep.
//! * Regexes see field values and header strings as bytes: on bytes that are not valid UTF-8,
//!   `.` does not match, where Go would read them as U+FFFD.

pub mod go_regex;

mod eval;
mod lexer;
mod parse;

use std::fmt;
use std::str::FromStr;

use heka_message::MessageView;

pub use parse::{ParseError, ParseErrorKind, ParseWarning};

/// A compiled message matcher.
///
/// Parsing validates the whole expression and compiles every regex once; [`Matcher::matches`]
/// then only reads the message. Cloning shares the compiled regexes.
#[derive(Clone, Debug)]
pub struct Matcher {
    source: Box<str>,
    root: eval::Node,
    warnings: Vec<ParseWarning>,
}

impl Matcher {
    /// Parses and compiles a matcher expression.
    pub fn parse(expr: &str) -> Result<Matcher, ParseError> {
        let (root, warnings) = parse::parse(expr)?;
        Ok(Matcher {
            source: expr.into(),
            root,
            warnings,
        })
    }

    /// Whether `msg` satisfies the expression. Never allocates.
    pub fn matches<M: MessageView + ?Sized>(&self, msg: &M) -> bool {
        self.root.eval(msg)
    }

    /// A header equality every matching message satisfies (`Type == 'x'`, alone or as an operand
    /// of the top-level `&&`), so that callers can index many matchers by that header's value:
    /// a message whose header differs cannot match. `None` when the expression has none.
    pub fn index_key(&self) -> Option<(IndexHeader, &[u8])> {
        self.root.index_key()
    }

    /// The expression's source text, as given to [`Matcher::parse`].
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Things Heka accepts silently that the expression contains; callers should log them.
    pub fn warnings(&self) -> &[ParseWarning] {
        &self.warnings
    }
}

/// A message header a matcher can be indexed by (see [`Matcher::index_key`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IndexHeader {
    /// `Type`.
    Type,
    /// `Logger`.
    Logger,
    /// `Hostname`.
    Hostname,
}

impl IndexHeader {
    /// The header's value in `msg`, as the matcher compares it (empty when unset).
    pub fn value<M: MessageView + ?Sized>(self, msg: &M) -> &[u8] {
        match self {
            IndexHeader::Type => msg.type_bytes(),
            IndexHeader::Logger => msg.logger_bytes(),
            IndexHeader::Hostname => msg.hostname_bytes(),
        }
    }
}

impl FromStr for Matcher {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Matcher, ParseError> {
        Matcher::parse(s)
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use heka_message::Message;

    fn assert_send_sync<T: Send + Sync + Clone + fmt::Debug>() {}

    #[test]
    fn matcher_is_send_sync_clone_debug() {
        assert_send_sync::<Matcher>();
    }

    #[test]
    fn source_text_and_warnings_are_kept() {
        let m: Matcher = "TRUE Severity == 1-2".parse().unwrap();
        assert_eq!(m.as_str(), "TRUE Severity == 1-2");
        assert_eq!(m.to_string(), "TRUE Severity == 1-2");
        assert_eq!(m.warnings().len(), 2);
        assert!(
            m.warnings()
                .contains(&ParseWarning::Juxtaposed { count: 2 })
        );
        // `1-2` is 0, so this is `Severity == 0`.
        let msg = Message {
            severity: Some(0),
            ..Message::default()
        };
        assert!(m.matches(&msg));
        assert!(!m.matches(&Message::default()));
    }

    #[test]
    fn index_keys_are_top_level_header_equalities() {
        let key = |e: &str| {
            Matcher::parse(e)
                .unwrap()
                .index_key()
                .map(|(h, v)| (h, String::from_utf8(v.to_vec()).unwrap()))
        };
        let k = |h, v: &str| Some((h, v.to_string()));
        assert_eq!(key("Type == 'a'"), k(IndexHeader::Type, "a"));
        assert_eq!(
            key("Hostname == 'h' && Logger == 'l' && Type == 't'"),
            k(IndexHeader::Type, "t")
        );
        assert_eq!(
            key("Fields[x] > 1 && Hostname == 'h'"),
            k(IndexHeader::Hostname, "h")
        );
        assert_eq!(
            key("(Type == 'a' && Logger == 'l')"),
            k(IndexHeader::Type, "a")
        );
        // Not implied by every match: no key.
        assert_eq!(key("Type == 'a' || Logger == 'l'"), None);
        assert_eq!(key("Type != 'a'"), None);
        assert_eq!(key("Type =~ /^a$/"), None);
        assert_eq!(key("Payload == 'a'"), None);
        assert_eq!(key("TRUE"), None);
        // Quirk Q1: only the last expression counts.
        assert_eq!(
            key("Type == 'a' Logger == 'b'"),
            k(IndexHeader::Logger, "b")
        );
        // The key agrees with evaluation: a message without the header has it empty.
        let m = Matcher::parse("Type == ''").unwrap();
        assert_eq!(m.index_key().map(|(_, v)| v.len()), Some(0));
        assert!(m.matches(&Message::default()));
        assert_eq!(IndexHeader::Type.value(&Message::default()), b"");
    }

    #[test]
    fn parse_error_is_a_std_error() {
        let e: Box<dyn std::error::Error> = Box::new(Matcher::parse("").unwrap_err());
        assert!(e.to_string().starts_with("syntax error: last token:"));
    }
}
