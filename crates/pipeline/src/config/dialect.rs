//! Heka's TOML dialect, the part TOML 1.0 refuses: bare table names and keys with characters
//! such as `:` and `|` (`[tcp:5565]`, `Url|uri = "%Url%"`), which Heka's 2013 parser allowed
//! (`docs/config.md`, "Keys" and "Table names").
//!
//! Before the file goes to the TOML 1.0 parser, such names are put in double quotes, which gives
//! TOML 1.0 the same keys. Three more of Heka's readings are kept the same way:
//! - a bare key with dots (`http.status = "x"`) is one key named `http.status`, as in Heka, not
//!   TOML 1.0's nested tables (so field names with dots work in `message_fields`);
//! - the `\/` escape in a basic string (Heka's parser had it, TOML 1.0 has not) is written
//!   `\u002F`;
//! - an integer with leading zeros (`007`) is decimal, as Heka read it: the zeros become spaces.
//!
//! No line is added or removed, and the offsets of every inserted character are kept so that
//! errors still point at the column the user wrote. What TOML 1.0 already accepts is otherwise
//! left alone; strings, multi-line strings and arrays are skipped over so that nothing inside
//! them is mistaken for a key.

/// The text with Heka's bare names quoted, and the offsets (in that text) of every quote added.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Normalized {
    pub(crate) text: String,
    pub(crate) inserted: Vec<usize>,
}

/// Where the scanner stands at the start of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// A key, a table header, a comment or an empty line may start here.
    LineStart,
    /// Inside a value that goes on: an array (`depth` open brackets) or an inline table.
    InValue { depth: usize },
    /// Inside a multi-line string opened with this delimiter.
    InString { quote: u8, depth: usize },
}

/// Characters TOML 1.0 takes in a bare key.
fn bare_ok(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Whether a table-name part as written must be quoted for TOML 1.0 to read it as Heka did: it
/// has a character that a bare key may not contain.
fn needs_quotes(name: &str) -> bool {
    !name.is_empty() && !name.chars().all(bare_ok)
}

/// Writes `name` as a TOML basic string.
fn push_quoted(out: &mut Normalized, name: &str) {
    out.inserted.push(out.text.len());
    out.text.push('"');
    for c in name.chars() {
        if c == '"' || c == '\\' {
            out.text.push('\\');
        }
        out.text.push(c);
    }
    out.inserted.push(out.text.len());
    out.text.push('"');
}

/// Quotes Heka's bare table names and keys in `text` (see the module docs).
pub(crate) fn normalize(text: &str) -> Normalized {
    let mut out = Normalized {
        text: String::with_capacity(text.len() + 16),
        inserted: Vec::new(),
    };
    let mut state = State::LineStart;
    for line in text.split_inclusive('\n') {
        state = match state {
            State::LineStart => line_start(line, &mut out),
            State::InValue { depth } => value(line, depth, &mut out),
            State::InString { quote, depth } => match close_string(line, quote) {
                Some(end) => {
                    out.text.push_str(&line[..end]);
                    value(&line[end..], depth, &mut out)
                }
                None => {
                    out.text.push_str(line);
                    State::InString { quote, depth }
                }
            },
        };
    }
    out
}

/// A line that starts outside any value.
fn line_start(line: &str, out: &mut Normalized) -> State {
    let body = line.trim_start_matches([' ', '\t']);
    let indent = &line[..line.len() - body.len()];
    out.text.push_str(indent);
    if body.starts_with("[[") {
        // An array of tables (TOML 1.0; Heka's parser had none): as written.
        out.text.push_str(body);
        return State::LineStart;
    }
    if body.starts_with('[') {
        return header(body, out);
    }
    if body.starts_with(['#', '\n', '\r', '"', '\'']) || body.is_empty() {
        // A comment, an empty line, or a key TOML 1.0 reads as written (quoted).
        return value(body, 0, out);
    }
    let key_len = body
        .find([' ', '\t', '=', '\r', '\n'])
        .unwrap_or(body.len());
    let key = &body[..key_len];
    // A dotted key is one key in Heka (`http.status`), so it is quoted whole.
    if needs_quotes(key) {
        push_quoted(out, key);
        return value(&body[key_len..], 0, out);
    }
    value(body, 0, out)
}

/// A `[table.name]` header: each part that TOML 1.0 would refuse bare is quoted.
fn header(body: &str, out: &mut Normalized) -> State {
    let Some(close) = body.find(']') else {
        out.text.push_str(body);
        return State::LineStart;
    };
    let inner = &body[1..close];
    if inner.contains(['"', '\'']) || !inner.split('.').any(|p| needs_quotes(p.trim())) {
        // Already TOML 1.0 (or quoted by the user): left to the parser as written.
        out.text.push_str(body);
        return State::LineStart;
    }
    out.text.push('[');
    for (i, part) in inner.split('.').enumerate() {
        if i > 0 {
            out.text.push('.');
        }
        let name = part.trim_matches([' ', '\t']);
        let lead = &part[..part.len() - part.trim_start_matches([' ', '\t']).len()];
        out.text.push_str(lead);
        if needs_quotes(name) {
            push_quoted(out, name);
        } else {
            out.text.push_str(name);
        }
        out.text.push_str(&part[lead.len() + name.len()..]);
    }
    out.text.push_str(&body[close..]);
    State::LineStart
}

/// Copies `s`, part of a value with `depth` brackets open, and says where the next line starts.
/// On the way it rewrites `\/` in one-line basic strings and leading zeros of integers (see the
/// module docs).
fn value(s: &str, mut depth: usize, out: &mut Normalized) -> State {
    let b = s.as_bytes();
    // Bytes of `s` before `copied` are in `out` already.
    let mut copied = 0;
    // The last byte that was not a space or tab, outside strings: `=`, `[` or `,` before a
    // number means the number starts a value.
    let mut before = b'=';
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'#' => break,
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth = depth.saturating_sub(1),
            q @ (b'"' | b'\'') => {
                let triple = b[i..].starts_with(if q == b'"' { b"\"\"\"" } else { b"\'\'\'" });
                if triple {
                    match close_string(&s[i + 3..], q) {
                        Some(end) => i += 3 + end,
                        None => {
                            out.text.push_str(&s[copied..]);
                            return State::InString { quote: q, depth };
                        }
                    }
                    before = q;
                    continue;
                }
                // A one-line string: to its closing quote (a backslash escapes in "...").
                i += 1;
                while i < b.len() && b[i] != q {
                    if q == b'"' && b[i] == b'\\' {
                        if b.get(i + 1) == Some(&b'/') {
                            // Heka's `\/`: TOML 1.0 reads the same character as `\u002F`.
                            out.text.push_str(&s[copied..=i]);
                            for c in "u002".chars() {
                                out.inserted.push(out.text.len());
                                out.text.push(c);
                            }
                            out.text.push('F');
                            copied = i + 2;
                        }
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'0' if matches!(before, b'=' | b'[' | b',') => {
                let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                let next = b.get(i + digits).copied();
                let ends_number = matches!(
                    next,
                    None | Some(b' ' | b'\t' | b',' | b']' | b'}' | b'#' | b'\r' | b'\n')
                );
                if digits > 1 && ends_number {
                    // `007` as Heka read it: 7. Zeros become spaces, so no column moves.
                    let zeros = b[i..i + digits - 1]
                        .iter()
                        .take_while(|c| **c == b'0')
                        .count();
                    out.text.push_str(&s[copied..i]);
                    out.text.extend(std::iter::repeat_n(' ', zeros));
                    copied = i + zeros;
                }
                i += digits;
                before = b'0';
                continue;
            }
            _ => {}
        }
        // A string that ends in a lone backslash leaves `i` past the end.
        if let Some(&c) = b.get(i)
            && !matches!(c, b' ' | b'\t')
        {
            before = c;
        }
        i += 1;
    }
    out.text.push_str(&s[copied.min(s.len())..]);
    if depth > 0 {
        State::InValue { depth }
    } else {
        State::LineStart
    }
}

/// The offset just past the closing `"""` (or `'''`) of a multi-line string in `s`, if any.
fn close_string(s: &str, quote: u8) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if quote == b'"' && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i..].starts_with(&[quote, quote, quote]) {
            let mut end = i + 3;
            // Up to two more quotes belong to the string's content.
            while end < b.len() && b[end] == quote && end < i + 5 {
                end += 1;
            }
            return Some(end);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        normalize(s).text
    }

    #[test]
    fn heka_table_names_and_keys_are_quoted() {
        assert_eq!(norm("[tcp:5565]\n"), "[\"tcp:5565\"]\n");
        assert_eq!(
            norm("[TCP:5565.signer.telemetry_0]\n"),
            "[\"TCP:5565\".signer.telemetry_0]\n"
        );
        assert_eq!(
            norm("  Url|uri = \"%Url%\"\n"),
            "  \"Url|uri\" = \"%Url%\"\n"
        );
        assert_eq!(norm("duration|ms=\"x\"\n"), "\"duration|ms\"=\"x\"\n");
    }

    #[test]
    fn what_toml_1_reads_is_left_alone() {
        let text = "# [not:a table]\n[ok-name.sub_1]\nkey = \"a|b = [c:d]\"\n\"q:k\" = 1\n\
                    a . b = 2\n[[arr]]\nx = 'lit|eral'\nn = 0\nf = 0.5\nd = 1979-05-27\n\
                    h = 0x0F\ns = \"007\"\n";
        assert_eq!(norm(text), text);
        assert!(normalize(text).inserted.is_empty());
    }

    #[test]
    fn values_spanning_lines_are_not_read_as_keys() {
        let text = "list = [\n  \"a\",\n  b:c = 1,\n]\ns = \"\"\"\nx|y = 1\n\"\"\"\nz|w = 2\n";
        let want = "list = [\n  \"a\",\n  b:c = 1,\n]\ns = \"\"\"\nx|y = 1\n\"\"\"\n\"z|w\" = 2\n";
        assert_eq!(norm(text), want);
    }

    #[test]
    fn dotted_keys_are_one_key_as_in_heka() {
        assert_eq!(
            norm("  http.status = \"%S%\"\n"),
            "  \"http.status\" = \"%S%\"\n"
        );
        // Table names keep their dots as separators.
        assert_eq!(norm("[a.b]\n"), "[a.b]\n");
    }

    #[test]
    fn heka_escapes_and_numbers_become_toml_1() {
        let n = normalize("p = \"\\/var\\/log\" # a \\/ comment\n");
        assert_eq!(n.text, "p = \"\\u002Fvar\\u002Flog\" # a \\/ comment\n");
        assert_eq!(n.inserted.len(), 8);
        // Not in literal strings, and an escaped backslash before `/` stays.
        let text = "p = '\\/x'\nq = \"\\\\/\"\n";
        assert_eq!(norm(text), text);
        assert_eq!(norm("a = 007\n"), "a =   7\n");
        assert_eq!(norm("a = [00, 010,0]\n"), "a = [ 0,  10,0]\n");
        assert_eq!(norm("a = 0 # x\n"), "a = 0 # x\n");
        assert_eq!(norm("a = -07\n"), "a = -07\n");
        // An unterminated string ending in a backslash (found by fuzzing).
        assert_eq!(norm("a = \"x\\"), "a = \"x\\");
        assert_eq!(norm("a = \"\\"), "a = \"\\");
    }

    #[test]
    fn quotes_and_backslashes_in_names_are_escaped() {
        assert_eq!(norm("a\\b|c = 1\n"), "\"a\\\\b|c\" = 1\n");
    }

    #[test]
    fn inserted_quotes_are_recorded_where_they_are() {
        let n = normalize("x = 1\n[a:b]\nk|v = 2\n");
        for &at in &n.inserted {
            assert_eq!(&n.text[at..=at], "\"");
        }
        assert_eq!(n.inserted.len(), 4);
    }
}
