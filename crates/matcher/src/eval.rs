//! The compiled matcher tree and its evaluation (Heka's message/message_matcher.go).
//!
//! Evaluation never allocates: header strings and field values are borrowed from the message as
//! `&[u8]`, the UUID is formatted into a stack buffer, numbers are compared as `f64`.

use std::cmp::Ordering;
use std::fmt;

use heka_message::{FieldValue, MessageView};

use crate::go_regex;
use crate::lexer::{FieldRef, NumVar, RelOp, StrVar};

/// A node of the compiled expression. `&&` and `||` chains are flattened into `All`/`Any`, so
/// the depth of the tree is bounded by the parenthesis nesting, not by the expression's length.
#[derive(Clone, Debug)]
pub(crate) enum Node {
    Const(bool),
    All(Vec<Node>),
    Any(Vec<Node>),
    Test(Test),
}

/// One comparison.
#[derive(Clone, Debug)]
pub(crate) enum Test {
    Str { var: StrVar, cmp: StrCmp },
    Num { var: NumVar, op: RelOp, value: f64 },
    Field { field: FieldRef, cmp: FieldCmp },
}

/// The right-hand side of a test on a header string.
#[derive(Clone, Debug)]
pub(crate) enum StrCmp {
    Rel(RelOp, Box<[u8]>),
    Regex { negated: bool, re: RegexMatch },
}

/// The right-hand side of a test on a field; what it means depends on the field's value type.
#[derive(Clone, Debug)]
pub(crate) enum FieldCmp {
    Str(RelOp, Box<[u8]>),
    Num(RelOp, f64),
    /// `== TRUE` / `== FALSE` (the grammar allows no other operator).
    Bool(bool),
    Regex {
        negated: bool,
        re: RegexMatch,
    },
    /// `== NIL` (`eq`) or `!= NIL`.
    Nil {
        eq: bool,
    },
}

/// A compiled `/regex/`, or the equivalent prefix/suffix test for `^literal` and `literal$`.
#[derive(Clone)]
pub(crate) enum RegexMatch {
    Regex {
        re: regex::bytes::Regex,
        source: Box<str>,
    },
    StartsWith(Box<[u8]>),
    EndsWith(Box<[u8]>),
}

impl fmt::Debug for RegexMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegexMatch::Regex { source, .. } => write!(f, "Regex({source:?})"),
            RegexMatch::StartsWith(s) => write!(f, "StartsWith({:?})", String::from_utf8_lossy(s)),
            RegexMatch::EndsWith(s) => write!(f, "EndsWith({:?})", String::from_utf8_lossy(s)),
        }
    }
}

impl RegexMatch {
    /// Compiles a Go pattern. `^literal` becomes a prefix test and `literal$` a suffix test, which
    /// is what the regex would compute (Heka's parser does the same with `LiteralPrefix`).
    pub(crate) fn compile(pattern: &str) -> Result<RegexMatch, regex::Error> {
        if let Some(lit) = pattern.strip_prefix('^').and_then(go_regex::literal) {
            return Ok(RegexMatch::StartsWith(lit.into()));
        }
        if let Some(lit) = pattern.strip_suffix('$').and_then(go_regex::literal) {
            return Ok(RegexMatch::EndsWith(lit.into()));
        }
        Ok(RegexMatch::Regex {
            re: go_regex::compile(pattern)?,
            source: pattern.into(),
        })
    }

    fn is_match(&self, s: &[u8]) -> bool {
        match self {
            RegexMatch::Regex { re, .. } => re.is_match(s),
            RegexMatch::StartsWith(p) => s.starts_with(p),
            RegexMatch::EndsWith(p) => s.ends_with(p),
        }
    }
}

impl RelOp {
    fn holds(self, ord: Option<Ordering>) -> bool {
        // `None` (a NaN operand) makes every operator false except `!=`, as in Go.
        match self {
            RelOp::Eq => ord == Some(Ordering::Equal),
            RelOp::Ne => ord != Some(Ordering::Equal),
            RelOp::Gt => ord == Some(Ordering::Greater),
            RelOp::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
            RelOp::Lt => ord == Some(Ordering::Less),
            RelOp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
        }
    }
}

impl Node {
    /// A header equality (`Type`, `Logger` or `Hostname` `== 'literal'`) that every matching
    /// message satisfies: the node itself or one of the top-level `&&` operands. `Type` is
    /// preferred, then `Logger`, then `Hostname`.
    pub(crate) fn index_key(&self) -> Option<(crate::IndexHeader, &[u8])> {
        fn key(n: &Node) -> Option<(crate::IndexHeader, &[u8])> {
            match n {
                Node::Test(Test::Str {
                    var,
                    cmp: StrCmp::Rel(RelOp::Eq, lit),
                }) => {
                    let h = match var {
                        StrVar::Type => crate::IndexHeader::Type,
                        StrVar::Logger => crate::IndexHeader::Logger,
                        StrVar::Hostname => crate::IndexHeader::Hostname,
                        _ => return None,
                    };
                    Some((h, &lit[..]))
                }
                _ => None,
            }
        }
        match self {
            Node::All(nodes) => nodes.iter().filter_map(key).min_by_key(|(h, _)| *h),
            n => key(n),
        }
    }

    pub(crate) fn eval<M: MessageView + ?Sized>(&self, msg: &M) -> bool {
        match self {
            Node::Const(b) => *b,
            Node::All(nodes) => nodes.iter().all(|n| n.eval(msg)),
            Node::Any(nodes) => nodes.iter().any(|n| n.eval(msg)),
            Node::Test(t) => t.eval(msg),
        }
    }
}

/// Lowercase `8-4-4-4-12` text of a 16-byte UUID, written into `buf`; empty for any other length
/// (Heka's `GetUuidString`).
fn uuid_text<'b>(uuid: &[u8], buf: &'b mut [u8; 36]) -> &'b [u8] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    if uuid.len() != 16 {
        return &[];
    }
    let mut o = 0;
    for (i, b) in uuid.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            buf[o] = b'-';
            o += 1;
        }
        buf[o] = HEX[usize::from(b >> 4)];
        buf[o + 1] = HEX[usize::from(b & 0x0f)];
        o += 2;
    }
    &buf[..]
}

fn str_test(s: &[u8], cmp: &StrCmp) -> bool {
    match cmp {
        StrCmp::Rel(op, lit) => op.holds(Some(s.cmp(lit))),
        StrCmp::Regex { negated, re } => re.is_match(s) != *negated,
    }
}

impl Test {
    fn eval<M: MessageView + ?Sized>(&self, msg: &M) -> bool {
        match self {
            Test::Str { var, cmp } => {
                let mut buf = [0u8; 36];
                let s = match var {
                    StrVar::Uuid => uuid_text(msg.uuid(), &mut buf),
                    StrVar::Type => msg.type_bytes(),
                    StrVar::Logger => msg.logger_bytes(),
                    StrVar::Payload => msg.payload_bytes(),
                    StrVar::EnvVersion => msg.env_version_bytes(),
                    StrVar::Hostname => msg.hostname_bytes(),
                };
                str_test(s, cmp)
            }
            Test::Num { var, op, value } => {
                // Heka compat (message/message_matcher.go `getNumericValue`): compared as float64,
                // so large timestamps lose precision exactly as in Go.
                let v = match var {
                    NumVar::Timestamp => msg.timestamp() as f64,
                    NumVar::Severity => f64::from(msg.severity_or_default()),
                    NumVar::Pid => f64::from(msg.pid_or_default()),
                };
                op.holds(v.partial_cmp(value))
            }
            Test::Field { field, cmp } => field_test(msg, field, cmp),
        }
    }
}

fn field_test<M: MessageView + ?Sized>(msg: &M, r: &FieldRef, cmp: &FieldCmp) -> bool {
    // A missing field, field index or array index only satisfies `== NIL`.
    let Some(value) = msg.field_value(&r.name, r.field_index, r.array_index) else {
        return matches!(cmp, FieldCmp::Nil { eq: true });
    };
    match value {
        FieldValue::String(s) | FieldValue::Bytes(s) => match cmp {
            FieldCmp::Str(op, lit) => op.holds(Some(s.cmp(lit))),
            FieldCmp::Regex { negated, re } => re.is_match(s) != *negated,
            // Heka compat (message/message_matcher.go `stringTest`): a string compared with
            // TRUE/FALSE is compared with the literal's text.
            FieldCmp::Bool(b) => s == if *b { &b"TRUE"[..] } else { &b"FALSE"[..] },
            FieldCmp::Nil { eq } => !eq,
            // Heka compat (message/message_matcher.go `stringTest`): a string never compares
            // with a number, whatever the operator.
            FieldCmp::Num(..) => false,
        },
        FieldValue::Integer(_) | FieldValue::Double(_) => {
            let v = match value {
                FieldValue::Integer(i) => i as f64,
                FieldValue::Double(d) => d,
                _ => return false,
            };
            match cmp {
                FieldCmp::Num(op, value) => op.holds(v.partial_cmp(value)),
                FieldCmp::Nil { eq } => !eq,
                // Heka compat (message/message_matcher.go `numericTest`): a number never compares
                // with a string, a regex or a boolean.
                FieldCmp::Str(..) | FieldCmp::Regex { .. } | FieldCmp::Bool(_) => false,
            }
        }
        FieldValue::Bool(b) => match cmp {
            FieldCmp::Nil { eq } => !eq,
            FieldCmp::Bool(lit) => b == *lit,
            // Heka compat (message/message_matcher.go `testExpr`): against anything but
            // TRUE/FALSE/NIL the test is "value is false", whatever the operator (quirk Q4).
            FieldCmp::Str(..) | FieldCmp::Num(..) | FieldCmp::Regex { .. } => !b,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_text_formats_16_bytes_only() {
        let mut buf = [0u8; 36];
        let u: Vec<u8> = (0u8..16).map(|i| i * 17).collect();
        assert_eq!(
            uuid_text(&u, &mut buf),
            b"00112233-4455-6677-8899-aabbccddeeff"
        );
        assert_eq!(uuid_text(&u[..15], &mut buf), b"");
        assert_eq!(uuid_text(&[], &mut buf), b"");
    }

    #[test]
    fn relational_operators_with_nan() {
        for op in [RelOp::Eq, RelOp::Gt, RelOp::Ge, RelOp::Lt, RelOp::Le] {
            assert!(!op.holds(f64::NAN.partial_cmp(&1.0)), "{op:?}");
        }
        assert!(RelOp::Ne.holds(f64::NAN.partial_cmp(&1.0)));
    }

    #[test]
    fn regex_literal_optimisations() {
        let starts = RegexMatch::compile("^Te").unwrap();
        assert!(matches!(starts, RegexMatch::StartsWith(_)));
        assert!(starts.is_match(b"Test"));
        assert!(!starts.is_match(b"aTest"));
        let ends = RegexMatch::compile(r"st\.$").unwrap();
        assert!(matches!(ends, RegexMatch::EndsWith(_)));
        assert!(ends.is_match(b"Test."));
        assert!(!ends.is_match(b"Test"));
        let full = RegexMatch::compile("^Test$").unwrap();
        assert!(matches!(full, RegexMatch::Regex { .. }));
        assert!(full.is_match(b"Test"));
        assert!(!full.is_match(b"Tests"));
        let always = RegexMatch::compile("^").unwrap();
        assert!(always.is_match(b""));
        assert!(RegexMatch::compile("^a(").is_err());
    }
}
