//! Recursive-descent parser for the matcher grammar (Heka's goyacc grammar in
//! message/message_matcher_parser.y: `&&` binds tighter than `||`, both left-associative).

use std::fmt;

use crate::eval::{FieldCmp, Node, StrCmp, Test};
use crate::lexer::{Lexer, NumVar, RelOp, Token, TokenKind};

/// Parentheses may nest this deep. Parsing does not recurse, but evaluating and dropping the tree
/// do, so deeper input is rejected rather than risking the stack.
const MAX_DEPTH: usize = 256;

/// Why a matcher expression was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The expression is empty (or starts with a word that ends the input).
    #[error("empty matcher expression")]
    Empty,
    /// A character that starts no token.
    #[error("unexpected character {0:?}")]
    UnexpectedChar(char),
    /// `=`, `!`, `&` or `|` not followed by the character that makes it an operator.
    #[error("'{0}' alone is not an operator")]
    LoneOperator(char),
    /// A quoted string without its closing quote (before the end of input or a newline).
    #[error("unterminated string")]
    UnterminatedString,
    /// A `/regex/` without its closing slash.
    #[error("unterminated regular expression")]
    UnterminatedRegex,
    /// A regular expression that does not compile.
    #[error("invalid regular expression: {0}")]
    InvalidRegex(String),
    /// `Fields[...` without its closing bracket.
    #[error("unterminated field reference")]
    UnterminatedField,
    /// `Fields[]`.
    #[error("empty field name")]
    EmptyFieldName,
    /// A field or array index that is empty, not all digits, or too large.
    #[error("field and array indices must be one or more digits")]
    BadIndex,
    /// A token that cannot start an expression.
    #[error("expected an expression")]
    ExpectedExpression,
    /// A variable not followed by an operator it accepts.
    #[error("expected {0}")]
    ExpectedOperator(&'static str),
    /// An operator not followed by a literal it accepts.
    #[error("expected {0}")]
    ExpectedValue(&'static str),
    /// `(` without its `)`.
    #[error("missing ')'")]
    MissingParen,
    /// A token that cannot follow a complete expression.
    #[error("expected '&&', '||' or the end of the expression")]
    UnexpectedToken,
    /// Parentheses nested deeper than the parser allows.
    #[error("expression nested too deeply")]
    TooDeep,
}

/// A matcher expression that failed to parse.
///
/// Displays like Heka's error (`syntax error: last token: <token> pos: <byte offset>`), followed
/// by what is wrong. The position is the byte offset where the offending token starts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("syntax error: last token: {token} pos: {pos} ({kind})")]
pub struct ParseError {
    kind: ParseErrorKind,
    token: String,
    pos: usize,
}

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind, token: &str, pos: usize) -> ParseError {
        // Keep the message short even for a long unterminated string.
        let mut token: String = token.chars().take(40).collect();
        if token.is_empty() {
            token.push_str("EOF");
        }
        ParseError { kind, token, pos }
    }

    /// What is wrong.
    pub fn kind(&self) -> &ParseErrorKind {
        &self.kind
    }

    /// Byte offset in the expression where the offending token starts.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Text of the offending token (at most 40 characters; `EOF` at the end of input).
    pub fn token(&self) -> &str {
        &self.token
    }
}

/// Something suspicious Heka accepts silently (it logs some of them); the expression still parsed.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ParseWarning {
    /// Several expressions without `&&`/`||` between them: only the last one is evaluated
    /// (Heka quirk Q1).
    Juxtaposed {
        /// How many top-level expressions there were.
        count: usize,
    },
    /// Number text that is not a valid float64 (`1-2`, `7e`); it is read as 0, as in Heka.
    BadNumber {
        /// The number's text.
        text: String,
        /// Byte offset of the number.
        pos: usize,
    },
}

impl fmt::Display for ParseWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseWarning::Juxtaposed { count } => write!(
                f,
                "{count} expressions without '&&' or '||' between them: only the last one is evaluated"
            ),
            ParseWarning::BadNumber { text, pos } => {
                write!(f, "invalid number {text:?} at byte {pos} is read as 0")
            }
        }
    }
}

/// Parses `src` into an evaluation tree plus warnings.
pub(crate) fn parse(src: &str) -> Result<(Node, Vec<ParseWarning>), ParseError> {
    let mut p = Parser {
        lex: Lexer::new(src),
        src,
        peeked: None,
    };
    let first = p.peek()?;
    if matches!(first.kind, TokenKind::Eof) {
        let (start, end) = (first.start, first.end);
        return Err(p.error(ParseErrorKind::Empty, start, end));
    }
    // Heka compat (message_matcher_parser.y `spec : expr | spec expr`): expressions may follow
    // each other without an operator, and only the last one is evaluated (quirk Q1).
    let mut last = p.expr()?;
    let mut count = 1;
    loop {
        let t = p.peek()?;
        match t.kind {
            TokenKind::Eof => break,
            TokenKind::LParen
            | TokenKind::True
            | TokenKind::False
            | TokenKind::StrVar(_)
            | TokenKind::NumVar(_)
            | TokenKind::Field(_) => {
                last = p.expr()?;
                count += 1;
            }
            _ => {
                let (start, end) = (t.start, t.end);
                return Err(p.error(ParseErrorKind::UnexpectedToken, start, end));
            }
        }
    }
    let mut warnings = std::mem::take(&mut p.lex.warnings);
    if count > 1 {
        warnings.push(ParseWarning::Juxtaposed { count });
    }
    Ok((last, warnings))
}

struct Parser<'a> {
    lex: Lexer<'a>,
    src: &'a str,
    peeked: Option<Token>,
}

impl Parser<'_> {
    fn peek(&mut self) -> Result<&Token, ParseError> {
        let t = match self.peeked.take() {
            Some(t) => t,
            None => self.lex.next_token()?,
        };
        Ok(self.peeked.insert(t))
    }

    fn next(&mut self) -> Result<Token, ParseError> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lex.next_token(),
        }
    }

    fn error(&self, kind: ParseErrorKind, start: usize, end: usize) -> ParseError {
        let end = end.clamp(start, self.src.len());
        ParseError::new(kind, self.src.get(start..end).unwrap_or(""), start)
    }

    fn error_at(&self, kind: ParseErrorKind, t: &Token) -> ParseError {
        self.error(kind, t.start, t.end)
    }

    /// One expression (without juxtaposition), parsed with an explicit operator stack so that
    /// nesting costs no call stack.
    fn expr(&mut self) -> Result<Node, ParseError> {
        let mut operands: Vec<Node> = Vec::new();
        // Open parentheses (with their token, for errors) and pending `&&`/`||`.
        let mut ops: Vec<Op> = Vec::new();
        let mut open_parens = 0usize;
        loop {
            // An operand, after any number of `(`.
            let t = self.next()?;
            match t.kind {
                TokenKind::LParen => {
                    if open_parens >= MAX_DEPTH {
                        return Err(self.error_at(ParseErrorKind::TooDeep, &t));
                    }
                    open_parens += 1;
                    ops.push(Op::Paren);
                    continue;
                }
                TokenKind::True => operands.push(Node::Const(true)),
                TokenKind::False => operands.push(Node::Const(false)),
                TokenKind::StrVar(var) => operands.push(Node::Test(Test::Str {
                    var,
                    cmp: self.string_cmp()?,
                })),
                TokenKind::NumVar(var) => operands.push(self.numeric_test(var)?),
                TokenKind::Field(field) => operands.push(Node::Test(Test::Field {
                    field,
                    cmp: self.field_cmp()?,
                })),
                _ => return Err(self.error_at(ParseErrorKind::ExpectedExpression, &t)),
            }
            // Then operators and closing parentheses, until the next operand.
            loop {
                let t = self.peek()?;
                match t.kind {
                    TokenKind::And | TokenKind::Or => {
                        let op = if matches!(t.kind, TokenKind::And) {
                            Op::And
                        } else {
                            Op::Or
                        };
                        self.next()?;
                        // Left-associative; && binds tighter than ||.
                        while let Some(&top) = ops.last() {
                            if top == Op::Paren || (top == Op::Or && op == Op::And) {
                                break;
                            }
                            ops.pop();
                            reduce(&mut operands, top);
                        }
                        ops.push(op);
                        break;
                    }
                    TokenKind::RParen if open_parens > 0 => {
                        self.next()?;
                        while let Some(top) = ops.pop() {
                            if top == Op::Paren {
                                break;
                            }
                            reduce(&mut operands, top);
                        }
                        open_parens -= 1;
                    }
                    _ if open_parens > 0 => {
                        let (start, end) = (t.start, t.end);
                        return Err(self.error(ParseErrorKind::MissingParen, start, end));
                    }
                    _ => {
                        while let Some(top) = ops.pop() {
                            reduce(&mut operands, top);
                        }
                        return operands
                            .pop()
                            .ok_or_else(|| self.error(ParseErrorKind::ExpectedExpression, 0, 0));
                    }
                }
            }
        }
    }

    #[inline(never)]
    fn string_cmp(&mut self) -> Result<StrCmp, ParseError> {
        let op = self.next()?;
        match op.kind {
            TokenKind::Rel(rel) => {
                let v = self.next()?;
                match v.kind {
                    TokenKind::Str(s) => Ok(StrCmp::Rel(rel, s.into())),
                    _ => Err(self.error_at(ParseErrorKind::ExpectedValue("a quoted string"), &v)),
                }
            }
            TokenKind::Re(negated) => Ok(StrCmp::Regex {
                negated,
                re: self.regex()?,
            }),
            _ => Err(self.error_at(
                ParseErrorKind::ExpectedOperator("one of == != < <= > >= =~ !~"),
                &op,
            )),
        }
    }

    #[inline(never)]
    fn numeric_test(&mut self, var: NumVar) -> Result<Node, ParseError> {
        let op = self.next()?;
        let TokenKind::Rel(op) = op.kind else {
            return Err(self.error_at(
                ParseErrorKind::ExpectedOperator("one of == != < <= > >="),
                &op,
            ));
        };
        let v = self.next()?;
        let TokenKind::Num(value) = v.kind else {
            return Err(self.error_at(ParseErrorKind::ExpectedValue("a number"), &v));
        };
        Ok(Node::Test(Test::Num { var, op, value }))
    }

    #[inline(never)]
    fn field_cmp(&mut self) -> Result<FieldCmp, ParseError> {
        let op = self.next()?;
        let rel = match op.kind {
            TokenKind::Rel(rel) => rel,
            TokenKind::Re(negated) => {
                return Ok(FieldCmp::Regex {
                    negated,
                    re: self.regex()?,
                });
            }
            _ => {
                return Err(self.error_at(
                    ParseErrorKind::ExpectedOperator("one of == != < <= > >= =~ !~"),
                    &op,
                ));
            }
        };
        let v = self.next()?;
        match (v.kind, rel) {
            (TokenKind::Num(n), _) => Ok(FieldCmp::Num(rel, n)),
            (TokenKind::Str(s), _) => Ok(FieldCmp::Str(rel, s.into())),
            (TokenKind::True, RelOp::Eq) => Ok(FieldCmp::Bool(true)),
            (TokenKind::False, RelOp::Eq) => Ok(FieldCmp::Bool(false)),
            (TokenKind::Nil, RelOp::Eq) => Ok(FieldCmp::Nil { eq: true }),
            (TokenKind::Nil, RelOp::Ne) => Ok(FieldCmp::Nil { eq: false }),
            (TokenKind::True | TokenKind::False, _) => Err(self.error_at(
                ParseErrorKind::ExpectedOperator("== before TRUE or FALSE"),
                &op,
            )),
            (TokenKind::Nil, _) => {
                Err(self.error_at(ParseErrorKind::ExpectedOperator("== or != before NIL"), &op))
            }
            _ => Err(self.error(
                ParseErrorKind::ExpectedValue("a quoted string, a number, TRUE, FALSE or NIL"),
                v.start,
                v.end,
            )),
        }
    }

    fn regex(&mut self) -> Result<crate::eval::RegexMatch, ParseError> {
        let v = self.next()?;
        match v.kind {
            TokenKind::Regex(re) => Ok(re),
            _ => Err(self.error(
                ParseErrorKind::ExpectedValue("a /regular expression/"),
                v.start,
                v.end,
            )),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Paren,
    And,
    Or,
}

/// Replaces the two topmost operands with `left op right`, flattening chains of the same
/// operator (both are associative, and evaluation order stays left to right).
fn reduce(operands: &mut Vec<Node>, op: Op) {
    let (Some(right), Some(left)) = (operands.pop(), operands.pop()) else {
        // The parser pushes an operand after every operator, so this cannot happen.
        return;
    };
    let node = match op {
        Op::And => Node::All(join(left, right, |n| match n {
            Node::All(v) => Ok(v),
            other => Err(other),
        })),
        _ => Node::Any(join(left, right, |n| match n {
            Node::Any(v) => Ok(v),
            other => Err(other),
        })),
    };
    operands.push(node);
}

fn join(left: Node, right: Node, same: fn(Node) -> Result<Vec<Node>, Node>) -> Vec<Node> {
    let mut terms = same(left).unwrap_or_else(|n| vec![n]);
    match same(right) {
        Ok(more) => terms.extend(more),
        Err(n) => terms.push(n),
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders the tree compactly: `&(a,b)`, `|(a,b)`, `T`, `F`, `test`.
    fn shape(n: &Node) -> String {
        match n {
            Node::Const(true) => "T".into(),
            Node::Const(false) => "F".into(),
            Node::Test(_) => "t".into(),
            Node::All(v) => format!("&({})", v.iter().map(shape).collect::<Vec<_>>().join(",")),
            Node::Any(v) => format!("|({})", v.iter().map(shape).collect::<Vec<_>>().join(",")),
        }
    }

    fn check(src: &str, want: &str) {
        match parse(src) {
            Ok((node, _)) => assert_eq!(shape(&node), want, "parsing {src:?}"),
            Err(e) => assert_eq!(format!("ERR {e}"), want, "parsing {src:?}"),
        }
    }

    #[test]
    fn precedence_and_associativity() {
        check("TRUE || FALSE && FALSE", "|(T,&(F,F))");
        check("FALSE && TRUE || TRUE", "|(&(F,T),T)");
        check("(TRUE || FALSE) && FALSE", "&(|(T,F),F)");
        check("TRUE && TRUE && FALSE && Type == 'x'", "&(T,T,F,t)");
        check("((TRUE))", "T");
        check("TRUE || (FALSE || TRUE) || FALSE", "|(T,F,T,F)");
        check("TRUE && (FALSE || TRUE) && FALSE", "&(T,|(F,T),F)");
    }

    #[test]
    fn juxtaposition_keeps_the_last_expression() {
        check("TRUE FALSE", "F");
        check("TRUE FALSE && TRUE", "&(F,T)");
        check("TRUE && FALSE TRUE", "T");
        check("TRUE (FALSE || TRUE)", "|(F,T)");
        let (_, warnings) = parse("TRUE FALSE Type == 'a'").unwrap();
        assert_eq!(warnings, vec![ParseWarning::Juxtaposed { count: 3 }]);
        // Inside parentheses only one expression is allowed.
        check(
            "(TRUE FALSE)",
            "ERR syntax error: last token: FALSE pos: 6 (missing ')')",
        );
    }

    #[test]
    fn end_of_input_quirks() {
        check("TRUE\nFALSE", "T");
        check("TRUE Bogus FALSE", "T");
        check("TRUE Fields == 1", "T");
        check(
            "Invalid == 'bogus'",
            "ERR syntax error: last token: EOF pos: 0 (empty matcher expression)",
        );
        check(
            "\nTRUE",
            "ERR syntax error: last token: EOF pos: 0 (empty matcher expression)",
        );
    }

    #[test]
    fn errors_name_the_token_and_position() {
        check(
            "Type == 'test' && (Severity==7 || Payload == 'Test Payload'",
            "ERR syntax error: last token: EOF pos: 59 (missing ')')",
        );
        check(
            "Pid == 'test='",
            "ERR syntax error: last token: 'test=' pos: 7 (expected a number)",
        );
        check(
            "Type = 'test'",
            "ERR syntax error: last token: = pos: 5 ('=' alone is not an operator)",
        );
        check(
            "Fields[b] != TRUE",
            "ERR syntax error: last token: != pos: 10 (expected == before TRUE or FALSE)",
        );
        check(
            "Fields[test] > NIL",
            "ERR syntax error: last token: > pos: 13 (expected == or != before NIL)",
        );
        check(
            "Type == NIL",
            "ERR syntax error: last token: NIL pos: 8 (expected a quoted string)",
        );
        check(
            "Severity > -1",
            "ERR syntax error: last token: - pos: 11 (unexpected character '-')",
        );
        check(
            "TRUE )",
            "ERR syntax error: last token: ) pos: 5 (expected '&&', '||' or the end of the expression)",
        );
        check(
            "TRUE &&",
            "ERR syntax error: last token: EOF pos: 7 (expected an expression)",
        );
        check(
            "Type =~ 'test'",
            "ERR syntax error: last token: 'test' pos: 8 (expected a /regular expression/)",
        );
    }

    #[test]
    fn random_fragment_soup_never_panics() {
        const FRAGMENTS: &[&str] = &[
            "Type",
            "Fields[",
            "Fields[a]",
            "[0]",
            "[",
            "]",
            "==",
            "!=",
            "=~",
            "!~",
            "<",
            ">=",
            "&&",
            "||",
            "&",
            "|",
            "=",
            "!",
            "(",
            ")",
            "'x'",
            "\"",
            "'",
            "/a/",
            "/",
            "\\",
            "TRUE",
            "FALSE",
            "NIL",
            "1.5",
            "-",
            "e",
            "é",
            "\n",
            "\0",
            " ",
            "\t",
            "Pid",
            "Uuid",
            "Bogus",
        ];
        let msg = heka_message::Message::default();
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut parsed = 0;
        for _ in 0..20_000 {
            let len = next() % 8;
            let src: String = (0..len)
                .map(|_| FRAGMENTS[(next() % FRAGMENTS.len() as u64) as usize])
                .collect();
            if let Ok((node, _)) = parse(&src) {
                parsed += 1;
                let _ = node.eval(&msg);
            }
        }
        // The soup is not all rejects: the grammar is exercised.
        assert!(parsed > 100, "only {parsed} inputs parsed");
    }

    #[test]
    fn nesting_is_bounded() {
        let ok = format!("{}TRUE{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        check(&ok, "T");
        let deep = format!("{}TRUE{}", "(".repeat(100_000), ")".repeat(100_000));
        assert_eq!(parse(&deep).unwrap_err().kind(), &ParseErrorKind::TooDeep);
        // Long flat chains are not nested.
        let long = vec!["TRUE"; 100_000].join(" && ");
        assert!(parse(&long).is_ok());
    }
}
