//! Go's `strings.Fields`, `strconv.ParseUint(s, 0, 32)` and `strconv.ParseFloat(s, 64|32)` of the
//! Go release Heka was built with, and their error texts: how Heka read carbon lines
//! (`<name> <value> <unix seconds>`: StatsToFieldsDecoder, CarbonOutput, WhisperOutput) and
//! statsd values (StatsdInput, StatAccumInput); and `strconv.FormatFloat(v, 'f', -1, 64)`, how
//! StatFilter rendered DOUBLE fields.

use std::fmt;

/// Go's `strings.Fields`: the non-empty parts between runs of (Unicode) whitespace. Bytes that
/// are not UTF-8 are split on ASCII whitespace only.
pub(crate) fn go_fields(line: &[u8]) -> Vec<&[u8]> {
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

/// Go's `strconv.ParseFloat(s, 64)` (or `(s, 32)` with `bits32`) of Heka's toolchain: decimal
/// numbers with an optional sign, fraction and exponent, and `inf`, `infinity` (signed or not)
/// and `nan` (unsigned) in any case. A finite number beyond the type's range is
/// [`NumError::Range`], not an infinity.
pub(crate) fn parse_go_float(s: &[u8], bits32: bool) -> Result<f64, NumError> {
    let text = std::str::from_utf8(s).map_err(|_| NumError::Syntax)?;
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    // Rust reads `+nan` and `-nan`; Go does not. Go (the releases Heka was built with) had no
    // hexadecimal floats and no underscores; Rust has neither.
    if unsigned.len() != text.len() && unsigned.starts_with(['n', 'N']) {
        return Err(NumError::Syntax);
    }
    let v = if bits32 {
        f64::from(text.parse::<f32>().map_err(|_| NumError::Syntax)?)
    } else {
        text.parse::<f64>().map_err(|_| NumError::Syntax)?
    };
    if v.is_infinite() && !unsigned.starts_with(['i', 'I']) {
        return Err(NumError::Range);
    }
    Ok(v)
}

/// The value Go's `strconv.ParseFloat` returns along with its error, which Heka's accumulator
/// used without looking at the error: 0 for bad syntax, ±infinity beyond the range.
pub(crate) fn go_float_or_zero(s: &[u8], bits32: bool) -> f64 {
    match parse_go_float(s, bits32) {
        Ok(v) => v,
        Err(NumError::Syntax) => 0.0,
        Err(NumError::Range) if s.first() == Some(&b'-') => f64::NEG_INFINITY,
        Err(NumError::Range) => f64::INFINITY,
    }
}

impl NumError {
    /// Go's error text for `func` (`ParseFloat`, `ParseUint`) on `input`.
    pub(crate) fn go_text(self, func: &'static str, input: &[u8]) -> String {
        GoNumError {
            func,
            input,
            err: self,
        }
        .to_string()
    }
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

/// Appends `v` as Go's `strconv.FormatFloat(v, 'f', -1, 64)` writes it: the shortest digits
/// that read back as `v`, never an exponent (`1.5`, `3`, `0.0000001`, `1000000000000000000000`),
/// and `NaN`, `+Inf`, `-Inf` (how StatFilter renders DOUBLE fields).
pub(crate) fn write_go_f_shortest(out: &mut Vec<u8>, v: f64) {
    use std::io::Write;
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
    } else {
        // Rust's `Display` of a float is the shortest round-trip digits without an exponent.
        let _ = write!(out, "{v}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_split_on_unicode_whitespace() {
        assert_eq!(
            go_fields(b" a\tb\r\n c\xc2\xa0d "),
            [&b"a"[..], b"b", b"c", b"d"]
        );
        assert_eq!(go_fields(b"a\xff b"), [&b"a\xff"[..], b"b"]);
        assert!(go_fields(b"").is_empty());
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
        assert_eq!(parse_go_float(b"+.5", false), Ok(0.5));
        assert_eq!(parse_go_float(b"-Inf", false), Ok(f64::NEG_INFINITY));
        assert_eq!(parse_go_float(b"infinity", false), Ok(f64::INFINITY));
        assert!(parse_go_float(b"NaN", false).is_ok_and(f64::is_nan));
        assert_eq!(parse_go_float(b"-nan", false), Err(NumError::Syntax));
        assert_eq!(parse_go_float(b"1e999", false), Err(NumError::Range));
        assert_eq!(parse_go_float(b"1e-999", false), Ok(0.0));
        assert_eq!(parse_go_float(b"1_0", false), Err(NumError::Syntax));
        assert_eq!(parse_go_float(b"0x1p3", false), Err(NumError::Syntax));
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

    #[test]
    fn statsd_values_and_timestamps() {
        for (s, want) in [
            ("1", Ok(1.0)),
            ("+5", Ok(5.0)),
            ("-2.5e1", Ok(-25.0)),
            (".5", Ok(0.5)),
            ("1.", Ok(1.0)),
            ("Inf", Ok(f64::INFINITY)),
            ("-infinity", Ok(f64::NEG_INFINITY)),
            ("1e400", Err(NumError::Range)),
            ("-1e400", Err(NumError::Range)),
            ("", Err(NumError::Syntax)),
            (".", Err(NumError::Syntax)),
            ("1e", Err(NumError::Syntax)),
            ("1_0", Err(NumError::Syntax)),
            ("0x10", Err(NumError::Syntax)),
            ("-nan", Err(NumError::Syntax)),
            (" 1", Err(NumError::Syntax)),
        ] {
            assert_eq!(parse_go_float(s.as_bytes(), false), want, "{s}");
        }
        assert!(parse_go_float(b"NaN", false).unwrap().is_nan());
        assert_eq!(parse_go_float(b"1e39", true), Err(NumError::Range));
        assert_eq!(parse_go_float(b"0.1", true), Ok(f64::from(0.1f32)));
        assert_eq!(go_float_or_zero(b"x", false), 0.0);
        assert_eq!(go_float_or_zero(b"-1e999", false), f64::NEG_INFINITY);
        for (s, want) in [
            ("1400000000", Ok(1_400_000_000)),
            ("0x10", Ok(16)),
            ("010", Ok(8)),
            ("0", Ok(0)),
            ("4294967295", Ok(u32::MAX)),
            ("4294967296", Err(NumError::Range)),
            ("-1", Err(NumError::Syntax)),
            ("+1", Err(NumError::Syntax)),
            ("08", Err(NumError::Syntax)),
            ("0x", Err(NumError::Syntax)),
            ("", Err(NumError::Syntax)),
        ] {
            assert_eq!(parse_go_uint32(s.as_bytes()), want, "{s}");
        }
        assert_eq!(
            NumError::Syntax.go_text("ParseFloat", b"abc"),
            "strconv.ParseFloat: parsing \"abc\": invalid syntax"
        );
    }

    #[test]
    fn shortest_f_format() {
        let f = |v: f64| {
            let mut out = Vec::new();
            write_go_f_shortest(&mut out, v);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(f(1.5), "1.5");
        assert_eq!(f(3.0), "3");
        assert_eq!(f(-0.0), "-0");
        assert_eq!(f(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(f(1e21), "1000000000000000000000");
        assert_eq!(f(1e-7), "0.0000001");
        assert_eq!(f(f64::NAN), "NaN");
        assert_eq!(f(f64::INFINITY), "+Inf");
        assert_eq!(f(f64::NEG_INFINITY), "-Inf");
    }
}
