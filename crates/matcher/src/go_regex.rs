//! Go RE2 (`regexp` package) patterns, compiled with the `regex` crate.
//!
//! Heka hands every user-supplied regular expression (matcher `/…/` literals, splitter
//! delimiters, `PayloadRegexDecoder` patterns, …) to Go's `regexp.Compile`. The `regex` crate
//! speaks almost the same dialect, but a pattern that is valid in both can mean different things,
//! and some Go patterns are errors here (and the reverse). [`translate`] rewrites a Go pattern into
//! an equivalent `regex` pattern, walking it the way Go's `regexp/syntax` parser does:
//!
//! * `\d \w \s \D \W \S` are ASCII-only in Go (`\s` is `[\t\n\f\r ]`, without `\v`) and become
//!   explicit ASCII classes; `\b` and `\B` become ASCII word boundaries `(?-u:\b)`/`(?-u:\B)`.
//! * Every literal character that is not an ASCII letter or digit is re-emitted as `\x{..}`, so
//!   syntax that `regex` gives a meaning to but Go does not (`\<`, `\>`, `&&`/`--`/`~~` and `[`
//!   inside classes, `\b{start}`) stays literal.
//! * A `{` that does not start a valid counted repetition is a literal in Go (an error in `regex`).
//! * Go-only syntax is expanded: octal escapes (`\0`, `\12`, `\123`), `\Q…\E` quoting,
//!   `\p{^Name}` negation, repeated or empty flag groups (`(?ii)`, `(?)`).
//! * Go-only errors are reported: stacked repetition (`a**`, `a{2}*`), repetition counts above
//!   1000, flags other than `i m s U`, `\C`, `[\b]`, unknown POSIX class names.
//!
//! Remaining differences (accepted): on input that is not valid UTF-8, Go reads each invalid byte
//! as U+FFFD (so `.` matches it) while `regex::bytes` in Unicode mode does not match such bytes
//! with `.`; `regex` accepts some Unicode property names Go rejects (`\p{Alphabetic}`, loose
//! spelling), and capture names must start with a letter or `_` (Go also allows a digit).

use std::fmt::Write as _;

/// Compiles a Go RE2 pattern for matching byte strings, with Go's semantics.
pub fn compile(pattern: &str) -> Result<regex::bytes::Regex, regex::Error> {
    regex::bytes::Regex::new(&translate(pattern)?)
}

/// Compiles a Go RE2 pattern for matching `&str`, with Go's semantics.
pub fn compile_str(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(&translate(pattern)?)
}

/// Rewrites a Go RE2 pattern into a `regex`-crate pattern with the same meaning (see the module
/// doc). Use it with `RegexBuilder` when options such as size limits are needed.
pub fn translate(pattern: &str) -> Result<String, regex::Error> {
    let mut t = Translator {
        rest: pattern,
        out: String::with_capacity(pattern.len() + 16),
    };
    t.run()?;
    Ok(t.out)
}

/// If the Go pattern `pattern` matches exactly one fixed string (no operators, classes, groups or
/// flags; escaped punctuation and character escapes are allowed), returns that string's bytes.
///
/// Used for the `^literal` / `literal$` optimisations; `None` is always a safe answer.
pub(crate) fn literal(pattern: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        match c {
            '\\' => {
                // `\Q`, classes and assertions are not single literal characters.
                let next = rest[1..].chars().next()?;
                if matches!(next, 'A' | 'b' | 'B' | 'C' | 'Q' | 'z' | 'p' | 'P')
                    || matches!(next, 'd' | 'D' | 's' | 'S' | 'w' | 'W')
                {
                    return None;
                }
                let (lit, after) = parse_escape(rest).ok()?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(lit.encode_utf8(&mut buf).as_bytes());
                rest = after;
            }
            '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$' => {
                return None;
            }
            _ => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    Some(out)
}

fn err(msg: impl std::fmt::Display) -> regex::Error {
    regex::Error::Syntax(format!("regex parse error: {msg}"))
}

/// Go's named ASCII classes (`[[:alpha:]]`); `regex` knows the same names with the same sets.
const POSIX_CLASSES: &[&str] = &[
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "word", "xdigit",
];

/// The members of Go's Perl classes, as the inside of a `regex` class.
fn perl_class_body(c: char) -> Option<(&'static str, bool)> {
    match c {
        'd' => Some(("0-9", false)),
        'D' => Some(("0-9", true)),
        // Go's \s is [\t\n\f\r ] (no \v).
        's' => Some((r"\x{9}\x{A}\x{C}\x{D}\x{20}", false)),
        'S' => Some((r"\x{9}\x{A}\x{C}\x{D}\x{20}", true)),
        'w' => Some(("0-9A-Za-z_", false)),
        'W' => Some(("0-9A-Za-z_", true)),
        _ => None,
    }
}

fn push_literal(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() || !c.is_ascii() {
        out.push(c);
    } else {
        push_hex(out, c);
    }
}

fn push_hex(out: &mut String, c: char) {
    // Writing into a String cannot fail.
    let _ = write!(out, r"\x{{{:X}}}", u32::from(c));
}

fn is_octal(b: Option<&u8>) -> bool {
    matches!(b, Some(b'0'..=b'7'))
}

/// Go's `parseEscape`: `s` starts with a backslash; returns the literal character it denotes.
fn parse_escape(s: &str) -> Result<(char, &str), regex::Error> {
    let t = &s[1..];
    let c = t
        .chars()
        .next()
        .ok_or_else(|| err("trailing backslash at end of expression"))?;
    let mut t = &t[c.len_utf8()..];
    let invalid = |end: &str| {
        err(format!(
            "invalid escape sequence: `{}`",
            &s[..s.len() - end.len()]
        ))
    };
    match c {
        '1'..='7' if !is_octal(t.as_bytes().first()) => Err(invalid(t)),
        '0'..='7' => {
            let mut r = c as u32 - '0' as u32;
            for _ in 1..3 {
                if !is_octal(t.as_bytes().first()) {
                    break;
                }
                r = r * 8 + u32::from(t.as_bytes()[0] - b'0');
                t = &t[1..];
            }
            char::from_u32(r)
                .map(|ch| (ch, t))
                .ok_or_else(|| invalid(t))
        }
        'x' => {
            if let Some(inner) = t.strip_prefix('{') {
                let end = inner.find('}').ok_or_else(|| invalid(""))?;
                let digits = &inner[..end];
                let rest = &inner[end + 1..];
                if digits.is_empty() {
                    return Err(invalid(rest));
                }
                let mut v: u32 = 0;
                for d in digits.chars() {
                    let x = d.to_digit(16).ok_or_else(|| invalid(rest))?;
                    v = v * 16 + x;
                    if v > 0x10FFFF {
                        return Err(invalid(rest));
                    }
                }
                char::from_u32(v)
                    .map(|ch| (ch, rest))
                    .ok_or_else(|| invalid(rest))
            } else {
                let b = t.as_bytes();
                if b.len() >= 2 && b[0].is_ascii_hexdigit() && b[1].is_ascii_hexdigit() {
                    let v = u32::from_str_radix(&t[..2], 16).map_err(|_| invalid(&t[2..]))?;
                    char::from_u32(v)
                        .map(|ch| (ch, &t[2..]))
                        .ok_or_else(|| invalid(&t[2..]))
                } else {
                    Err(invalid(t))
                }
            }
        }
        'a' => Ok(('\x07', t)),
        'f' => Ok(('\x0C', t)),
        'n' => Ok(('\n', t)),
        'r' => Ok(('\r', t)),
        't' => Ok(('\t', t)),
        'v' => Ok(('\x0B', t)),
        // Escaped ASCII punctuation (and control characters, and space) is the character itself.
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok((c, t)),
        _ => Err(invalid(t)),
    }
}

/// Go's `parseInt` for repetition counts: no leading zeros; values of 1e8 and above become -1.
fn parse_count(s: &str) -> Option<(i64, &str)> {
    let b = s.as_bytes();
    if b.first().is_none_or(|c| !c.is_ascii_digit()) {
        return None;
    }
    if b.len() >= 2 && b[0] == b'0' && b[1].is_ascii_digit() {
        return None;
    }
    let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut v: i64 = 0;
    for &d in &b[..n] {
        if v >= 100_000_000 {
            v = -1;
            break;
        }
        v = v * 10 + i64::from(d - b'0');
    }
    Some((v, &s[n..]))
}

/// Go's `parseRepeat`: `{n}`, `{n,}` or `{n,m}`; `None` when `s` is not one (then `{` is a
/// literal). `max` is -1 for "no maximum".
fn parse_repeat(s: &str) -> Option<(i64, i64, &str)> {
    let s = s.strip_prefix('{')?;
    let (mut min, s) = parse_count(s)?;
    let (max, s) = if let Some(s) = s.strip_prefix(',') {
        if let Some(s) = s.strip_prefix('}') {
            return Some((min, -1, s));
        }
        let (max, s) = parse_count(s)?;
        if max < 0 {
            min = -1;
        }
        (max, s)
    } else {
        (min, s)
    };
    let s = s.strip_prefix('}')?;
    Some((min, max, s))
}

struct Translator<'a> {
    rest: &'a str,
    out: String,
}

impl Translator<'_> {
    fn run(&mut self) -> Result<(), regex::Error> {
        // Whether the previous item was a repetition operator (Go forbids stacking them).
        let mut last_repeat = false;
        while let Some(c) = self.rest.chars().next() {
            let mut repeat = false;
            match c {
                '(' if self.rest.as_bytes().get(1) == Some(&b'?') => self.perl_group()?,
                '(' | ')' | '|' | '^' | '$' | '.' => {
                    self.out.push(c);
                    self.rest = &self.rest[1..];
                }
                '[' => self.class()?,
                '*' | '+' | '?' => {
                    let before = self.rest;
                    self.rest = &self.rest[1..];
                    self.out.push(c);
                    self.repeat_suffix(before, last_repeat)?;
                    repeat = true;
                }
                '{' => match parse_repeat(self.rest) {
                    None => {
                        // Heka compat (Go regexp/syntax): an unparsable `{` is a literal.
                        push_hex(&mut self.out, '{');
                        self.rest = &self.rest[1..];
                    }
                    Some((min, max, after)) => {
                        let text = &self.rest[..self.rest.len() - after.len()];
                        if !(0..=1000).contains(&min) || max > 1000 || (max >= 0 && min > max) {
                            return Err(err(format!("invalid repeat count: `{text}`")));
                        }
                        let before = self.rest;
                        self.rest = after;
                        let _ = match max {
                            -1 => write!(self.out, "{{{min},}}"),
                            m if m == min => write!(self.out, "{{{min}}}"),
                            m => write!(self.out, "{{{min},{m}}}"),
                        };
                        self.repeat_suffix(before, last_repeat)?;
                        repeat = true;
                    }
                },
                '\\' => self.escape()?,
                _ => {
                    push_literal(&mut self.out, c);
                    self.rest = &self.rest[c.len_utf8()..];
                }
            }
            last_repeat = repeat;
        }
        Ok(())
    }

    /// After a repetition operator: copies a lazy `?` and rejects stacked repetitions.
    fn repeat_suffix(&mut self, before: &str, last_repeat: bool) -> Result<(), regex::Error> {
        if let Some(after) = self.rest.strip_prefix('?') {
            self.out.push('?');
            self.rest = after;
        }
        if last_repeat {
            let op = &before[..before.len() - self.rest.len()];
            return Err(err(format!("invalid nested repetition operator: `{op}`")));
        }
        Ok(())
    }

    /// `(?` groups: named captures and flag groups, validated as Go does.
    fn perl_group(&mut self) -> Result<(), regex::Error> {
        let s = self.rest;
        let t = &s[2..];
        let named = t
            .strip_prefix("P<")
            .or_else(|| t.strip_prefix('<').filter(|r| !r.starts_with(['=', '!'])));
        if let Some(body) = named {
            let end = body
                .find('>')
                .ok_or_else(|| err(format!("invalid named capture: `{s}`")))?;
            let name = &body[..end];
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                let text = &s[..s.len() - body.len() + end + 1];
                return Err(err(format!("invalid named capture: `{text}`")));
            }
            let _ = write!(self.out, "(?P<{name}>");
            self.rest = &body[end + 1..];
            return Ok(());
        }
        let mut on = String::new();
        let mut off = String::new();
        let mut negated = false;
        let mut saw_flag = false;
        let mut rest = t;
        while let Some(c) = rest.chars().next() {
            rest = &rest[c.len_utf8()..];
            match c {
                'i' | 'm' | 's' | 'U' => {
                    saw_flag = true;
                    let (add, remove) = if negated {
                        (&mut off, &mut on)
                    } else {
                        (&mut on, &mut off)
                    };
                    remove.retain(|x| x != c);
                    if !add.contains(c) {
                        add.push(c);
                    }
                }
                '-' if !negated => {
                    negated = true;
                    saw_flag = false;
                }
                ':' | ')' if !negated || saw_flag => {
                    let open = c == ':';
                    if on.is_empty() && off.is_empty() {
                        if open {
                            self.out.push_str("(?:");
                        }
                    } else {
                        self.out.push_str("(?");
                        self.out.push_str(&on);
                        if !off.is_empty() {
                            self.out.push('-');
                            self.out.push_str(&off);
                        }
                        self.out.push(if open { ':' } else { ')' });
                    }
                    self.rest = rest;
                    return Ok(());
                }
                _ => break,
            }
        }
        let text = &s[..s.len() - rest.len()];
        Err(err(format!("invalid or unsupported Perl syntax: `{text}`")))
    }

    /// A backslash sequence outside a class.
    fn escape(&mut self) -> Result<(), regex::Error> {
        let s = self.rest;
        let next = s[1..].chars().next();
        match next {
            Some('A') => self.out.push_str(r"\A"),
            Some('z') => self.out.push_str(r"\z"),
            // Go's word boundaries are ASCII.
            Some('b') => self.out.push_str(r"(?-u:\b)"),
            Some('B') => self.out.push_str(r"(?-u:\B)"),
            Some('C') => return Err(err("invalid escape sequence: `\\C`")),
            Some('Q') => {
                let body = &s[2..];
                let (lit, rest) = body.split_once(r"\E").unwrap_or((body, ""));
                for c in lit.chars() {
                    push_literal(&mut self.out, c);
                }
                self.rest = rest;
                return Ok(());
            }
            Some('p' | 'P') => {
                let (class, rest) = unicode_class(s)?;
                self.out.push_str(&class);
                self.rest = rest;
                return Ok(());
            }
            Some(c) if perl_class_body(c).is_some() => {
                if let Some((body, negated)) = perl_class_body(c) {
                    self.out.push_str(if negated { "[^" } else { "[" });
                    self.out.push_str(body);
                    self.out.push(']');
                }
            }
            _ => {
                let (c, rest) = parse_escape(s)?;
                push_literal(&mut self.out, c);
                self.rest = rest;
                return Ok(());
            }
        }
        self.rest = &s[2..];
        Ok(())
    }

    /// A bracketed class, parsed with Go's rules and re-emitted with every member escaped.
    fn class(&mut self) -> Result<(), regex::Error> {
        let whole = self.rest;
        let missing = || err(format!("missing closing ]: `{whole}`"));
        let mut t = &whole[1..];
        self.out.push('[');
        if let Some(r) = t.strip_prefix('^') {
            self.out.push('^');
            t = r;
        }
        let mut first = true;
        loop {
            let c = t.chars().next().ok_or_else(missing)?;
            if c == ']' && !first {
                t = &t[1..];
                break;
            }
            first = false;
            // POSIX classes: `[:name:]` / `[:^name:]`.
            if let Some(end) = t.strip_prefix("[:").and_then(|r| r.find(":]")) {
                let name = &t[2..2 + end];
                let base = name.strip_prefix('^').unwrap_or(name);
                if !POSIX_CLASSES.contains(&base) {
                    return Err(err(format!("invalid character class range: `[:{name}:]`")));
                }
                let _ = write!(self.out, "[:{name}:]");
                t = &t[2 + end + 2..];
                continue;
            }
            if c == '\\' {
                match t[1..].chars().next() {
                    Some('p' | 'P') => {
                        let (class, rest) = unicode_class(t)?;
                        self.out.push_str(&class);
                        t = rest;
                        continue;
                    }
                    Some(p) => {
                        if let Some((body, negated)) = perl_class_body(p) {
                            if negated {
                                let _ = write!(self.out, "[^{body}]");
                            } else {
                                self.out.push_str(body);
                            }
                            t = &t[2..];
                            continue;
                        }
                    }
                    None => {}
                }
            }
            let range_start = t;
            let (lo, rest) = class_char(t, whole)?;
            t = rest;
            let mut hi = lo;
            let b = t.as_bytes();
            if b.len() >= 2 && b[0] == b'-' && b[1] != b']' {
                let (h, rest) = class_char(&t[1..], whole)?;
                t = rest;
                hi = h;
                if hi < lo {
                    let text = &range_start[..range_start.len() - t.len()];
                    return Err(err(format!("invalid character class range: `{text}`")));
                }
            }
            push_hex(&mut self.out, lo);
            if hi != lo {
                self.out.push('-');
                push_hex(&mut self.out, hi);
            }
        }
        self.out.push(']');
        self.rest = t;
        Ok(())
    }
}

/// Go's `parseClassChar`: one (possibly escaped) character inside a class.
fn class_char<'a>(t: &'a str, whole: &str) -> Result<(char, &'a str), regex::Error> {
    match t.chars().next() {
        None => Err(err(format!("missing closing ]: `{whole}`"))),
        Some('\\') => parse_escape(t),
        Some(c) => Ok((c, &t[c.len_utf8()..])),
    }
}

/// `\pL`, `\p{Name}`, `\p{^Name}`, `\PL`, … → `\p{Name}` / `\P{Name}`.
fn unicode_class(s: &str) -> Result<(String, &str), regex::Error> {
    let mut negated = s.as_bytes()[1] == b'P';
    let t = &s[2..];
    let (name, rest) = match t.chars().next() {
        Some('{') => {
            let end = t
                .find('}')
                .ok_or_else(|| err(format!("invalid character class range: `{s}`")))?;
            (&t[1..end], &t[end + 1..])
        }
        Some(c) => (&t[..c.len_utf8()], &t[c.len_utf8()..]),
        None => ("", t),
    };
    let name = match name.strip_prefix('^') {
        Some(n) => {
            negated = !negated;
            n
        }
        None => name,
    };
    if name.is_empty() || name.contains(['{', '}']) {
        let text = &s[..s.len() - rest.len()];
        return Err(err(format!("invalid character class range: `{text}`")));
    }
    let class = format!(r"\{}{{{name}}}", if negated { 'P' } else { 'p' });
    Ok((class, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Some(true/false)`: compiles and matches / does not match; `None`: rejected.
    fn check(pattern: &str, input: &[u8]) -> Option<bool> {
        compile(pattern).ok().map(|re| re.is_match(input))
    }

    #[test]
    fn perl_classes_are_ascii_only() {
        let cases: &[(&str, &[u8], Option<bool>)] = &[
            (r"^\d$", "٣".as_bytes(), Some(false)),
            (r"^\d$", b"7", Some(true)),
            (r"^\w$", "é".as_bytes(), Some(false)),
            (r"^\w+$", b"a_Z9", Some(true)),
            (r"^\W$", "é".as_bytes(), Some(true)),
            (r"^\D$", "é".as_bytes(), Some(true)),
            (r"^\s$", b"\x0b", Some(false)),
            (r"^\s$", b"\x0c", Some(true)),
            (r"^\S$", b"\x0b", Some(true)),
            (r"^\s$", "\u{a0}".as_bytes(), Some(false)),
            (r"a\b", "aé".as_bytes(), Some(true)),
            (r"a\B", "aé".as_bytes(), Some(false)),
            (r"^[\d]$", "٣".as_bytes(), Some(false)),
            (r"^[^\D]$", b"5", Some(true)),
            (r"^[\s]$", b"\x0b", Some(false)),
            (r"^[\w-]+$", b"a-b", Some(true)),
            (r"^[\d-z]+$", b"1-z", Some(true)),
        ];
        for (p, input, want) in cases {
            assert_eq!(check(p, input), *want, "{p} on {input:?}");
        }
    }

    #[test]
    fn go_only_syntax_is_expanded() {
        let cases: &[(&str, &[u8], Option<bool>)] = &[
            (r"^\0$", b"\0", Some(true)),
            (r"^\101\12$", b"A\n", Some(true)),
            (r"\1", b"", None),
            (r"\8", b"", None),
            (r"^\Qa.b*\E$", b"a.b*", Some(true)),
            (r"^\Qa.b*\E$", b"axb", Some(false)),
            (r"^\Qa+", b"a+", Some(true)),
            (r"^x{$", b"x{", Some(true)),
            (r"^x{,3}$", b"x{,3}", Some(true)),
            (r"^x{01}$", b"x{01}", Some(true)),
            (r"^x{2}$", b"xx", Some(true)),
            (r"^x{2,}$", b"xxxx", Some(true)),
            (r"^x{1,2}?$", b"xx", Some(true)),
            (r"^\<a\>$", b"<a>", Some(true)),
            (r"\b{start}", b"a{start}", Some(true)),
            (r"\b{start}", b"{start}", Some(false)),
            (r"^[[]$", b"[", Some(true)),
            (r"^[a&&b]+$", b"a&b", Some(true)),
            (r"^[a--]$", b"", None),
            (r"^[]a]+$", b"]a", Some(true)),
            (r"^[a-]+$", b"a-", Some(true)),
            (r"^\p{^Greek}$", b"a", Some(true)),
            (r"^\P{^Greek}$", "α".as_bytes(), Some(true)),
            (r"^\pL$", "é".as_bytes(), Some(true)),
            (r"^[[:^alpha:]]$", b"1", Some(true)),
            (r"^(?ii)a$", b"A", Some(true)),
            (r"^(?i-i)a$", b"A", Some(false)),
            (r"^a(?)$", b"a", Some(true)),
            (r"^(?:a)(?s:.)$", b"a\n", Some(true)),
            (r"^(?P<x>a)(?<y>b)$", b"ab", Some(true)),
            (r"^\x41\x{42}$", b"AB", Some(true)),
            (r"^\a\f\v\t$", b"\x07\x0c\x0b\t", Some(true)),
            (r"^\_\ \#$", b"_ #", Some(true)),
            (r"^a]}$", b"a]}", Some(true)),
        ];
        for (p, input, want) in cases {
            assert_eq!(check(p, input), *want, "{p} on {input:?}");
        }
    }

    #[test]
    fn go_errors_are_errors() {
        for p in [
            r"a**",
            r"a+*",
            r"a{2}*",
            r"a{2}{3}",
            r"a*??",
            r"a{1001}",
            r"a{2,1}",
            r"(?x)a",
            r"(?u)a",
            r"(?i-)a",
            r"(?-)a",
            r"(?=a)",
            r"(?P<>a)",
            r"(?P<a-b>a)",
            r"\C",
            r"[\b]",
            r"[[:bogus:]]",
            r"\ytest",
            r"\p{Bogus}",
            r"\p{",
            r"[a",
            r"a\",
            r"\x{110000}",
            r"\xZZ",
            r"(",
            r")",
            r"*",
            "\\é",
        ] {
            assert!(compile(p).is_err(), "{p} should be rejected");
        }
    }

    #[test]
    fn lazy_repetition_is_not_stacking() {
        assert_eq!(check(r"^a*?b$", b"aab"), Some(true));
        assert_eq!(check(r"^(a*)*$", b"aa"), Some(true));
    }

    #[test]
    fn compile_str_uses_the_same_translation() {
        let re = compile_str(r"^\w+\s\d$").unwrap();
        assert!(re.is_match("ab 1"));
        assert!(!re.is_match("éb 1"));
    }

    #[test]
    fn random_fragment_soup_never_panics() {
        const FRAGMENTS: &[&str] = &[
            "a", "é", "\\", "(", ")", "(?", "P<", ">", "i", "-", ":", "[", "]", "^", "$", "*", "+",
            "?", "{", "}", ",", "1", "0", "x", "Q", "E", "p", "P", "d", "w", "s", "b", "[:", ":]",
            "alpha", "|", ".", "&&", "<",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut compiled = 0;
        for _ in 0..20_000 {
            let len = next() % 10;
            let p: String = (0..len)
                .map(|_| FRAGMENTS[(next() % FRAGMENTS.len() as u64) as usize])
                .collect();
            let _ = literal(&p);
            if let Ok(re) = compile(&p) {
                compiled += 1;
                let _ = re.is_match("aé1 x".as_bytes());
            }
        }
        assert!(compiled > 1000, "only {compiled} patterns compiled");
    }

    #[test]
    fn literal_detection() {
        assert_eq!(literal("abc"), Some(b"abc".to_vec()));
        assert_eq!(literal(r"a\.b\/c\x41"), Some(b"a.b/cA".to_vec()));
        assert_eq!(literal(""), Some(Vec::new()));
        assert_eq!(literal("é"), Some("é".as_bytes().to_vec()));
        for p in [
            "a.b", "a*", "a$", "^a", r"a\", r"\d", r"\Qa\E", "(a)", "a{2}", "a]", r"\1",
        ] {
            assert_eq!(literal(p), None, "{p}");
        }
    }
}
