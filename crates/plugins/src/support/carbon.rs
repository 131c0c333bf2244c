//! Carbon (Graphite plaintext) lines, `<name> <value> <unix seconds>`, read as Heka read them:
//! fields split as Go's `strings.Fields` splits, the timestamp as `strconv.ParseUint(s, 0, 32)`
//! and the value as `strconv.ParseFloat(s, 64)` of the Go release Heka was built with.

use std::fmt;

/// Go's `strings.Fields`: the non-empty parts between runs of (Unicode) whitespace. Bytes that
/// are not UTF-8 are split on ASCII whitespace only.
pub(crate) fn fields(line: &[u8]) -> Vec<&[u8]> {
    match std::str::from_utf8(line) {
        Ok(s) => s.split_whitespace().map(str::as_bytes).collect(),
        Err(_) => line
            .split(|c| c.is_ascii_whitespace() || *c == 0x0b)
            .filter(|p| !p.is_empty())
            .collect(),
    }
}

/// Why a number did not parse (Go's `strconv.ErrSyntax` / `ErrRange`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumError {
    /// Not a number in Go's syntax.
    Syntax,
    /// A number, but out of the type's range.
    Range,
}

/// Go's `strconv.ParseUint(s, 0, 32)` of Heka's toolchain: decimal, `0x` hex or leading-`0`
/// octal, no sign, no underscores, at most `u32::MAX`.
pub(crate) fn parse_go_uint32(s: &[u8]) -> Result<u32, NumError> {
    let s = std::str::from_utf8(s).map_err(|_| NumError::Syntax)?;
    let (digits, radix) = match s.as_bytes() {
        [b'0', b'x' | b'X', ..] => (&s[2..], 16),
        [b'0', _, ..] => (&s[1..], 8),
        _ => (s, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(NumError::Syntax);
    }
    u32::from_str_radix(digits, radix).map_err(|_| NumError::Range)
}

/// Go's `strconv.ParseFloat(s, 64)` of Heka's toolchain: decimal syntax, `inf`/`infinity`
/// with an optional sign and `nan` without one (any case); out-of-range values are errors, not
/// infinities.
pub(crate) fn parse_go_float(s: &[u8]) -> Result<f64, NumError> {
    let s = std::str::from_utf8(s).map_err(|_| NumError::Syntax)?;
    let v: f64 = s.parse().map_err(|_| NumError::Syntax)?;
    let unsigned = s.trim_start_matches(['+', '-']);
    if v.is_nan() && unsigned.len() != s.len() {
        return Err(NumError::Syntax);
    }
    if v.is_infinite()
        && !unsigned
            .get(..3)
            .is_some_and(|p| p.eq_ignore_ascii_case("inf"))
    {
        return Err(NumError::Range);
    }
    Ok(v)
}

/// Go's `*strconv.NumError` text: `strconv.<func>: parsing "<s>": <invalid syntax|value out of
/// range>`.
pub(crate) struct GoNumError<'a> {
    /// `ParseUint`, `ParseFloat`.
    pub(crate) func: &'static str,
    /// The text that did not parse.
    pub(crate) input: &'a [u8],
    /// Why.
    pub(crate) err: NumError,
}

impl fmt::Display for GoNumError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.err {
            NumError::Syntax => "invalid syntax",
            NumError::Range => "value out of range",
        };
        write!(
            f,
            "strconv.{}: parsing {}: {why}",
            self.func,
            go_quote(self.input)
        )
    }
}

/// Go's `strconv.Quote` for the texts found in carbon lines: printable characters as they are,
/// `"` and `\` escaped, control characters and bytes that are not UTF-8 as escapes.
pub(crate) fn go_quote(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{7}' => out.push_str("\\a"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                '\u{b}' => out.push_str("\\v"),
                c if (c as u32) < 0x20 || c == '\u{7f}' => {
                    out.push_str(&format!("\\x{:02x}", c as u32));
                }
                c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_split_on_unicode_whitespace() {
        assert_eq!(
            fields(b" a\tb\r\n c\xc2\xa0d "),
            [&b"a"[..], b"b", b"c", b"d"]
        );
        assert_eq!(fields(b"a\xff b"), [&b"a\xff"[..], b"b"]);
        assert!(fields(b"").is_empty());
    }

    #[test]
    fn uint32_in_go_syntax() {
        assert_eq!(parse_go_uint32(b"0"), Ok(0));
        assert_eq!(parse_go_uint32(b"4294967295"), Ok(u32::MAX));
        assert_eq!(parse_go_uint32(b"4294967296"), Err(NumError::Range));
        assert_eq!(parse_go_uint32(b"0xfF"), Ok(255));
        assert_eq!(parse_go_uint32(b"010"), Ok(8));
        for bad in [
            &b"0x"[..],
            b"09",
            b"+1",
            b"-1",
            b"1_0",
            b"",
            b"1.0",
            b" 1",
            b"0x+1",
        ] {
            assert_eq!(parse_go_uint32(bad), Err(NumError::Syntax), "{bad:?}");
        }
    }

    #[test]
    fn float_in_go_syntax() {
        assert_eq!(parse_go_float(b"+.5"), Ok(0.5));
        assert_eq!(parse_go_float(b"-Inf"), Ok(f64::NEG_INFINITY));
        assert_eq!(parse_go_float(b"infinity"), Ok(f64::INFINITY));
        assert!(parse_go_float(b"NaN").is_ok_and(f64::is_nan));
        assert_eq!(parse_go_float(b"-nan"), Err(NumError::Syntax));
        assert_eq!(parse_go_float(b"1e999"), Err(NumError::Range));
        assert_eq!(parse_go_float(b"1e-999"), Ok(0.0));
        assert_eq!(parse_go_float(b"1_0"), Err(NumError::Syntax));
        assert_eq!(parse_go_float(b"0x1p3"), Err(NumError::Syntax));
    }

    #[test]
    fn errors_read_as_go_wrote_them() {
        let e = GoNumError {
            func: "ParseUint",
            input: b"12\"x\xff",
            err: NumError::Syntax,
        };
        assert_eq!(
            e.to_string(),
            r#"strconv.ParseUint: parsing "12\"x\xff": invalid syntax"#
        );
        let e = GoNumError {
            func: "ParseFloat",
            input: b"1e999",
            err: NumError::Range,
        };
        assert_eq!(
            e.to_string(),
            r#"strconv.ParseFloat: parsing "1e999": value out of range"#
        );
    }
}
