//! The values an access log field can hold, each read at a position of the line exactly as
//! `common_log_format.lua`'s LPeg pattern for it reads it: PEG semantics (ordered choice that
//! commits, greedy repetition that never gives back), so a hand-written scanner gives the same
//! match and the same captures with no backtracking.

use std::ops::Range;

/// What a field's value looks like in the line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// Free text up to the delimiter (the byte after the field in the format).
    Text(Delim),
    /// `digit^1`, a number.
    Integer,
    /// `digit^1`, a number with a unit (`B`, `us`, `s`).
    IntegerUnit(&'static str),
    /// Apache's `%b`: `digit^1`, or `-` read as 0; in bytes.
    BytesOrDash,
    /// An IPv4 address, an IPv6 address, else a host name; with what it is as its unit.
    Host,
    /// Three digits, a number.
    Status,
    /// `digit^1 "." digit^1`, a number of seconds.
    DecimalSeconds,
    /// Any four bytes (`$binary_remote_addr`).
    Any4,
    /// The first of these words that matches (may be ""), as text.
    OneOf(&'static [&'static str]),
    /// `digit^1 "." digit^1 "." digit^1`, as text.
    NginxVersion,
    /// `HTTP/` digit^1 `.` digit^1, as text.
    ServerProtocol,
    /// nginx's upstream lists (`, ` and ` : ` between the values).
    UpstreamAddr,
    /// `%a, %d %b %Y %T GMT` as a time in ns, or `-`.
    UpstreamCacheLastModified,
    /// Integers in bytes, or `-`.
    UpstreamResponseLength,
    /// Decimal seconds (`-` is 0).
    UpstreamResponseTime,
    /// Statuses (`-` is 0).
    UpstreamStatus,
    /// Common log format time (`10/Feb/2014:08:46:41 -0800`) in ns.
    ClfTime,
    /// `[` common log format time `]` in ns (Apache's `%t`).
    BracketClfTime,
    /// RFC 3339 time in ns (`$time_iso8601`).
    Iso8601,
    /// Decimal seconds since the epoch in ns (`$msec`).
    Msec,
    /// `digit^1` times this factor (Apache's `%{sec}t`, `%{msec}t`, `%{usec}t`) in ns.
    EpochScaled(f64),
    /// `digit^1` read as the fraction `0.<digits>` (`%{msec_frac}t`).
    SecFrac,
    /// Hex digits, a number (`%{hextid}P`).
    HexTid,
}

/// What ends a free-text field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delim {
    /// Any white space.
    Space,
    /// This byte.
    Byte(u8),
    /// A `"` not preceded by a backslash.
    Quote,
}

/// A captured value (string values are ranges of the line).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    /// Text.
    Str(Range<usize>),
    /// Text with a representation.
    StrUnit(Range<usize>, &'static str),
    /// A number.
    Num(f64),
    /// A number with a representation.
    NumUnit(f64, &'static str),
    /// Several texts.
    Strs(Vec<Range<usize>>),
    /// Several numbers.
    Nums(Vec<f64>),
    /// Several numbers with a representation.
    NumsUnit(Vec<f64>, &'static str),
    /// A text of our own (a user agent's browser or OS).
    Static(&'static str),
}

/// Lua's `%s` / LPeg's `space` set.
pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn digit(s: &[u8], i: usize) -> bool {
    s.get(i).is_some_and(u8::is_ascii_digit)
}

fn byte_in(s: &[u8], i: usize, lo: u8, hi: u8) -> bool {
    s.get(i).is_some_and(|b| (lo..=hi).contains(b))
}

fn lit(s: &[u8], i: usize, l: &[u8]) -> Option<usize> {
    s.get(i..)?.starts_with(l).then_some(i + l.len())
}

/// `digit^1`: the end.
fn digits(s: &[u8], i: usize) -> Option<usize> {
    let n = s
        .get(i..)?
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    (n > 0).then_some(i + n)
}

/// Lua's `tonumber` of an ASCII decimal text (as C's strtod: the nearest double).
fn number(text: &[u8]) -> f64 {
    if text.len() <= 15 && text.iter().all(u8::is_ascii_digit) {
        // Exact in a double: no rounding to worry about.
        return text.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')) as f64;
    }
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(f64::NAN)
}

/// `integer`: `digit^1 / tonumber`.
fn integer(s: &[u8], i: usize) -> Option<(usize, f64)> {
    let e = digits(s, i)?;
    Some((e, number(&s[i..e])))
}

/// `decimal`: `digit^1 "." digit^1`, its end.
fn decimal(s: &[u8], i: usize) -> Option<usize> {
    let e = digits(s, i)?;
    let e = lit(s, e, b".")?;
    digits(s, e)
}

fn decimal_number(s: &[u8], i: usize) -> Option<(usize, f64)> {
    let e = decimal(s, i)?;
    Some((e, number(&s[i..e])))
}

/// `status`: three digits.
fn status(s: &[u8], i: usize) -> Option<(usize, f64)> {
    (digit(s, i) && digit(s, i + 1) && digit(s, i + 2)).then(|| (i + 3, number(&s[i..i + 3])))
}

/// `ip.v4`'s octet: `"25"[0-5] / "2"[0-4]d / "1"dd / [1-9]d / d`.
fn octet(s: &[u8], i: usize) -> Option<usize> {
    if lit(s, i, b"25").is_some() && byte_in(s, i + 2, b'0', b'5') {
        return Some(i + 3);
    }
    if lit(s, i, b"2").is_some() && byte_in(s, i + 1, b'0', b'4') && digit(s, i + 2) {
        return Some(i + 3);
    }
    if lit(s, i, b"1").is_some() && digit(s, i + 1) && digit(s, i + 2) {
        return Some(i + 3);
    }
    if byte_in(s, i, b'1', b'9') && digit(s, i + 1) {
        return Some(i + 2);
    }
    digit(s, i).then_some(i + 1)
}

/// `ip.v4`: a dotted quad.
pub(crate) fn ipv4(s: &[u8], i: usize) -> Option<usize> {
    let mut e = octet(s, i)?;
    for _ in 0..3 {
        e = lit(s, e, b".")?;
        e = octet(s, e)?;
    }
    Some(e)
}

fn is_hex(s: &[u8], i: usize) -> bool {
    s.get(i).is_some_and(u8::is_ascii_hexdigit)
}

/// `h16`: one to four hex digits.
fn h16(s: &[u8], i: usize) -> Option<usize> {
    let n = (0..4).take_while(|k| is_hex(s, i + k)).count();
    (n > 0).then_some(i + n)
}

/// `h16 ":"` `n` times in a row.
fn groups(s: &[u8], mut i: usize, n: usize) -> Option<usize> {
    for _ in 0..n {
        i = lit(s, h16(s, i)?, b":")?;
    }
    Some(i)
}

/// `ls32`: a dotted quad, else `h16 ":" h16`.
fn ls32(s: &[u8], i: usize) -> Option<usize> {
    ipv4(s, i).or_else(|| h16(s, lit(s, h16(s, i)?, b":")?))
}

/// `head(n)`: the groups before a `::` (longest run first), else one `h16`.
fn head(s: &[u8], i: usize, n: usize) -> Option<usize> {
    for k in (1..=n).rev() {
        if let Some(e) = groups(s, i, k).and_then(|e| h16(s, e))
            && lit(s, e, b"::").is_some()
        {
            return Some(e);
        }
    }
    h16(s, i)
}

/// `head(n)^-1 "::"`: the end after the `::`.
fn head_colons(s: &[u8], i: usize, n: Option<usize>) -> Option<usize> {
    let e = match n {
        Some(n) => head(s, i, n).unwrap_or(i),
        None => i,
    };
    lit(s, e, b"::")
}

/// `ip.v6`: any RFC 4291 text form.
pub(crate) fn ipv6(s: &[u8], i: usize) -> Option<usize> {
    groups(s, i, 6)
        .and_then(|e| ls32(s, e))
        .or_else(|| ls32(s, groups(s, lit(s, i, b"::")?, 5)?))
        .or_else(|| ls32(s, groups(s, head_colons(s, i, Some(0))?, 4)?))
        .or_else(|| ls32(s, groups(s, head_colons(s, i, Some(1))?, 3)?))
        .or_else(|| ls32(s, groups(s, head_colons(s, i, Some(2))?, 2)?))
        .or_else(|| ls32(s, groups(s, head_colons(s, i, Some(3))?, 1)?))
        .or_else(|| ls32(s, head_colons(s, i, Some(4))?))
        .or_else(|| h16(s, head_colons(s, i, Some(5))?))
        .or_else(|| head_colons(s, i, Some(6)))
}

/// RFC 3986 reg-name characters (with `%hh`), one or more.
fn host_name(s: &[u8], i: usize) -> Option<usize> {
    let mut e = i;
    loop {
        match s.get(e) {
            Some(b) if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(b) => e += 1,
            Some(b'%') if is_hex(s, e + 1) && is_hex(s, e + 2) => e += 3,
            _ => break,
        }
    }
    (e > i).then_some(e)
}

fn host(s: &[u8], i: usize) -> Option<(usize, Val)> {
    if let Some(e) = ipv4(s, i) {
        return Some((e, Val::StrUnit(i..e, "ipv4")));
    }
    if let Some(e) = ipv6(s, i) {
        return Some((e, Val::StrUnit(i..e, "ipv6")));
    }
    let e = host_name(s, i)?;
    Some((e, Val::StrUnit(i..e, "hostname")))
}

/// Free text up to the delimiter (possibly empty).
fn text(s: &[u8], i: usize, delim: Delim) -> usize {
    let rest = &s[i..];
    match delim {
        Delim::Space => i + rest.iter().position(|b| is_space(*b)).unwrap_or(rest.len()),
        Delim::Byte(d) => i + memchr::memchr(d, rest).unwrap_or(rest.len()),
        Delim::Quote => {
            // `(P'\\"' + (1 - P'"'))^0`: a backslash followed by a quote is taken whole.
            let mut e = i;
            while let Some(k) = memchr::memchr2(b'"', b'\\', &s[e..]) {
                let at = e + k;
                if s[at] == b'"' {
                    return at;
                }
                e = if s.get(at + 1) == Some(&b'"') {
                    at + 2
                } else {
                    at + 1
                };
            }
            s.len()
        }
    }
}

/// `item (sep item)^0` with nginx's upstream separators; each repetition is all or nothing.
fn list<T>(
    s: &[u8],
    i: usize,
    item: impl Fn(&[u8], usize) -> Option<(usize, T)>,
) -> Option<(usize, Vec<T>)> {
    let (mut e, first) = item(s, i)?;
    let mut out = vec![first];
    while let Some(after_sep) = lit(s, e, b", ").or_else(|| lit(s, e, b" : ")) {
        let Some((next_end, v)) = item(s, after_sep) else {
            break;
        };
        out.push(v);
        e = next_end;
    }
    Some((e, out))
}

fn dash_as_zero(s: &[u8], i: usize) -> Option<(usize, f64)> {
    lit(s, i, b"-").map(|e| (e, 0.0))
}

/// Reads a value of `kind` at `i` of `s`: the end of the match and the capture.
pub(crate) fn read(kind: &Kind, s: &[u8], i: usize) -> Option<(usize, Val)> {
    match kind {
        Kind::Text(d) => {
            let e = text(s, i, *d);
            Some((e, Val::Str(i..e)))
        }
        Kind::Integer => integer(s, i).map(|(e, n)| (e, Val::Num(n))),
        Kind::IntegerUnit(u) => integer(s, i).map(|(e, n)| (e, Val::NumUnit(n, u))),
        Kind::BytesOrDash => integer(s, i)
            .or_else(|| dash_as_zero(s, i))
            .map(|(e, n)| (e, Val::NumUnit(n, "B"))),
        Kind::Host => host(s, i),
        Kind::Status => status(s, i).map(|(e, n)| (e, Val::Num(n))),
        Kind::DecimalSeconds => decimal_number(s, i).map(|(e, n)| (e, Val::NumUnit(n, "s"))),
        Kind::Any4 => (s.len() >= i + 4).then(|| (i + 4, Val::Str(i..i + 4))),
        Kind::OneOf(words) => words
            .iter()
            .find_map(|w| lit(s, i, w.as_bytes()))
            .map(|e| (e, Val::Str(i..e))),
        Kind::NginxVersion => {
            let e = decimal(s, i)?;
            let e = digits(s, lit(s, e, b".")?)?;
            Some((e, Val::Str(i..e)))
        }
        Kind::ServerProtocol => {
            let e = decimal(s, lit(s, i, b"HTTP/")?)?;
            Some((e, Val::Str(i..e)))
        }
        Kind::UpstreamAddr => {
            let item = |s: &[u8], i: usize| {
                let n = s[i..].iter().take_while(|b| !b", ".contains(b)).count();
                (n > 0).then_some((i + n, i..i + n))
            };
            match list(s, i, item) {
                Some((e, v)) => Some((e, Val::Strs(v))),
                None => lit(s, i, b"-").map(|e| (e, Val::Str(i..e))),
            }
        }
        Kind::UpstreamCacheLastModified => match super::time::last_modified(s, i) {
            Some((e, ns)) => Some((e, Val::Num(ns))),
            None => lit(s, i, b"-").map(|e| (e, Val::Str(i..e))),
        },
        Kind::UpstreamResponseLength => match list(s, i, integer) {
            Some((e, v)) => Some((e, Val::NumsUnit(v, "B"))),
            None => lit(s, i, b"-").map(|e| (e, Val::Str(i..e))),
        },
        Kind::UpstreamResponseTime => {
            let item = |s: &[u8], i: usize| decimal_number(s, i).or_else(|| dash_as_zero(s, i));
            list(s, i, item).map(|(e, v)| (e, Val::NumsUnit(v, "s")))
        }
        Kind::UpstreamStatus => {
            let item = |s: &[u8], i: usize| status(s, i).or_else(|| dash_as_zero(s, i));
            list(s, i, item).map(|(e, v)| (e, Val::Nums(v)))
        }
        Kind::ClfTime => super::time::clf(s, i).map(|(e, ns)| (e, Val::Num(ns))),
        Kind::BracketClfTime => {
            let (e, ns) = super::time::clf(s, lit(s, i, b"[")?)?;
            Some((lit(s, e, b"]")?, Val::Num(ns)))
        }
        Kind::Iso8601 => super::time::rfc3339(s, i).map(|(e, ns)| (e, Val::Num(ns))),
        Kind::Msec => decimal_number(s, i).map(|(e, n)| (e, Val::Num(n * 1e9))),
        Kind::EpochScaled(f) => integer(s, i).map(|(e, n)| (e, Val::Num(n * f))),
        Kind::SecFrac => {
            let e = digits(s, i)?;
            let mut t = b"0.".to_vec();
            t.extend_from_slice(&s[i..e]);
            Some((e, Val::Num(number(&t))))
        }
        Kind::HexTid => {
            let n = s[i..].iter().take_while(|b| b.is_ascii_hexdigit()).count();
            if n == 0 {
                return None;
            }
            // Lua's tonumber(h, 16) is C's strtoul: it saturates.
            let v = s[i..i + n].iter().fold(0u64, |acc, d| {
                let d = char::from(*d).to_digit(16).unwrap_or(0);
                acc.saturating_mul(16).saturating_add(u64::from(d))
            });
            Some((i + n, Val::Num(v as f64)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(f: fn(&[u8], usize) -> Option<usize>, t: &str) -> Option<usize> {
        f(t.as_bytes(), 0)
    }

    #[test]
    fn ipv4_reads_a_dotted_quad_prefix() {
        assert_eq!(whole(ipv4, "10.0.0.1"), Some(8));
        assert_eq!(whole(ipv4, "255.255.255.255x"), Some(15));
        assert_eq!(whole(ipv4, "256.1.1.1"), None);
        // "01" is an octet "0", then "1" where a dot is due.
        assert_eq!(whole(ipv4, "01.2.3.4"), None);
        assert_eq!(whole(ipv4, "1.2.3.45x"), Some(8));
    }

    #[test]
    fn ipv6_reads_every_text_form() {
        for a in [
            "2001:db8::1",
            "::1",
            "::",
            "fe80::1:2:3:4",
            "1:2:3:4:5:6:7:8",
            "::ffff:192.0.2.1",
            "1::",
            "1:2:3:4:5:6::8",
            "1:2:3:4:5:6:7::",
        ] {
            assert_eq!(whole(ipv6, a), Some(a.len()), "{a}");
        }
        assert_eq!(whole(ipv6, "1:2"), None);
        assert_eq!(whole(ipv6, "g::1"), None);
        // PEG: "1:2:3:4:5:6:7:8:9" matches its first eight groups.
        assert_eq!(whole(ipv6, "1:2:3:4:5:6:7:8:9"), Some(15));
    }

    #[test]
    fn hosts_are_tagged() {
        let r = |t: &str| read(&Kind::Host, t.as_bytes(), 0);
        assert_eq!(r("10.1.2.3 x"), Some((8, Val::StrUnit(0..8, "ipv4"))));
        assert_eq!(r("::1 x"), Some((3, Val::StrUnit(0..3, "ipv6"))));
        assert_eq!(
            r("web%41.ex-1 x"),
            Some((11, Val::StrUnit(0..11, "hostname")))
        );
        assert_eq!(r("- x"), Some((1, Val::StrUnit(0..1, "hostname"))));
        assert_eq!(r(" x"), None);
    }

    #[test]
    fn quoted_text_skips_escaped_quotes() {
        assert_eq!(text(br#"a\"b" rest"#, 0, Delim::Quote), 4);
        // The second backslash escapes the quote: the text runs on.
        assert_eq!(text(br#"a\\" b"#, 0, Delim::Quote), 6);
        assert_eq!(text(b"abc", 0, Delim::Quote), 3);
        assert_eq!(text(b"ab]c", 0, Delim::Byte(b']')), 2);
        assert_eq!(text(b"ab\tc", 0, Delim::Space), 2);
    }

    #[test]
    fn upstream_lists() {
        let r = |k: Kind, t: &str| read(&k, t.as_bytes(), 0);
        assert_eq!(
            r(Kind::UpstreamStatus, "200, - : 502 x"),
            Some((12, Val::Nums(vec![200.0, 0.0, 502.0])))
        );
        assert_eq!(
            r(Kind::UpstreamResponseTime, "0.010, x"),
            Some((5, Val::NumsUnit(vec![0.01], "s")))
        );
        assert_eq!(r(Kind::UpstreamResponseTime, "1 x"), None);
        assert_eq!(
            r(Kind::UpstreamResponseLength, "- x"),
            Some((1, Val::Str(0..1)))
        );
        assert_eq!(
            r(Kind::UpstreamAddr, "10.0.0.1:80, 10.0.0.2:80 x"),
            Some((24, Val::Strs(vec![0..11, 13..24])))
        );
        assert_eq!(
            r(Kind::UpstreamAddr, "- x"),
            Some((1, Val::Strs(std::iter::once(0..1).collect())))
        );
    }

    #[test]
    fn numbers_are_luas() {
        let r = |k: Kind, t: &str| read(&k, t.as_bytes(), 0);
        assert_eq!(r(Kind::Status, "2004"), Some((3, Val::Num(200.0))));
        assert_eq!(r(Kind::Status, "20"), None);
        assert_eq!(
            r(Kind::IntegerUnit("B"), "12345678901234567890"),
            Some((20, Val::NumUnit(12_345_678_901_234_567_890.0, "B")))
        );
        assert_eq!(r(Kind::BytesOrDash, "-"), Some((1, Val::NumUnit(0.0, "B"))));
        assert_eq!(r(Kind::SecFrac, "250"), Some((3, Val::Num(0.25))));
        assert_eq!(r(Kind::HexTid, "ff "), Some((2, Val::Num(255.0))));
        assert_eq!(r(Kind::Msec, "1.5"), Some((3, Val::Num(1.5e9))));
        assert_eq!(r(Kind::OneOf(&["on", ""]), "x"), Some((0, Val::Str(0..0))));
    }
}
