//! Log formats compiled into item lists: nginx's `log_format` and Apache's `LogFormat`, read
//! exactly as `common_log_format.lua`'s `build_nginx_grammar` and `build_apache_grammar` read
//! them (the same tokens, field names, value kinds and delimiters; the same errors).

use super::values::{Delim, Kind, is_space};

/// One step of a compiled format.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item {
    /// One or more white-space characters.
    Space,
    /// These bytes exactly.
    Literal(Vec<u8>),
    /// A value stored under the field name `name`.
    Field { name: String, kind: Kind },
}

/// The field name under which every time variable gives the message its Timestamp.
pub(crate) const TIME: &str = "time";

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The delimiter of free text that follows a literal: its last byte.
fn delimiter_after(lit: &[u8]) -> Delim {
    match lit.last() {
        Some(b'"') => Delim::Quote,
        Some(b) => Delim::Byte(*b),
        None => Delim::Space,
    }
}

const REQUEST_METHODS: &[&str] = &[
    "GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT",
];

/// nginx's variables with a grammar of their own (any other is free text).
fn nginx_variable(name: &str) -> Option<Kind> {
    Some(match name {
        "body_bytes_sent" | "bytes_sent" | "content_length" | "request_length" => {
            Kind::IntegerUnit("B")
        }
        "connection"
        | "connection_requests"
        | "pid"
        | "remote_port"
        | "server_port"
        | "tcpinfo_rtt"
        | "tcpinfo_rttvar"
        | "tcpinfo_snd_cwnd"
        | "tcpinfo_rcv_space" => Kind::Integer,
        "remote_addr"
        | "host"
        | "hostname"
        | "server_addr"
        | "server_name"
        | "proxy_protocol_addr" => Kind::Host,
        "status" => Kind::Status,
        "request_time" => Kind::DecimalSeconds,
        "binary_remote_addr" => Kind::Any4,
        "https" => Kind::OneOf(&["on", ""]),
        "is_args" => Kind::OneOf(&["?", ""]),
        "request_completion" => Kind::OneOf(&["OK", ""]),
        "pipe" => Kind::OneOf(&["p", "."]),
        "nginx_version" => Kind::NginxVersion,
        "server_protocol" => Kind::ServerProtocol,
        "scheme" => Kind::OneOf(&["https", "http"]),
        "request_method" => Kind::OneOf(REQUEST_METHODS),
        "upstream_addr" => Kind::UpstreamAddr,
        "upstream_cache_status" => Kind::OneOf(&[
            "HIT",
            "MISS",
            "EXPIRED",
            "BYPASS",
            "STALE",
            "UPDATING",
            "REVALIDATED",
            "-",
        ]),
        "upstream_cache_last_modified" => Kind::UpstreamCacheLastModified,
        "upstream_response_length" => Kind::UpstreamResponseLength,
        "upstream_response_time" => Kind::UpstreamResponseTime,
        "upstream_status" => Kind::UpstreamStatus,
        _ => return None,
    })
}

/// nginx's time variables.
fn nginx_time(name: &str) -> Option<Kind> {
    match name {
        "time_local" => Some(Kind::ClfTime),
        "time_iso8601" => Some(Kind::Iso8601),
        "msec" => Some(Kind::Msec),
        _ => None,
    }
}

/// Compiles an nginx `log_format`; `None` for an empty one.
pub(crate) fn nginx(format: &str) -> Option<Vec<Item>> {
    let b = format.as_bytes();
    let mut items = Vec::new();
    let mut delim = Delim::Space;
    let mut pos = 0;
    while pos < b.len() {
        if is_space(b[pos]) {
            pos += b[pos..].iter().take_while(|c| is_space(**c)).count();
            items.push(Item::Space);
            delim = Delim::Space;
        } else if b[pos] == b'$' && b.get(pos + 1).is_some_and(|c| is_name_byte(*c)) {
            let n = b[pos + 1..]
                .iter()
                .take_while(|c| is_name_byte(**c))
                .count();
            let name = &format[pos + 1..pos + 1 + n];
            items.push(match nginx_time(name) {
                Some(kind) => Item::Field {
                    name: TIME.into(),
                    kind,
                },
                None => Item::Field {
                    name: name.into(),
                    kind: nginx_variable(name).unwrap_or(Kind::Text(delim)),
                },
            });
            pos += 1 + n;
        } else {
            // A literal runs to the next white space or variable; a "$" not followed by a
            // name is literal text.
            let mut end = pos + 1;
            while end < b.len()
                && !is_space(b[end])
                && !(b[end] == b'$' && b.get(end + 1).is_some_and(|c| is_name_byte(*c)))
            {
                end += 1;
            }
            let lit = b[pos..end].to_vec();
            delim = delimiter_after(&lit);
            items.push(Item::Literal(lit));
            pos = end;
        }
    }
    (!items.is_empty()).then_some(items)
}

/// Apache directives without an argument: field name and kind (`None`: free text).
fn apache_plain(letter: u8) -> Option<(&'static str, Option<Kind>)> {
    Some(match letter {
        b'a' | b'h' => ("remote_addr", Some(Kind::Host)),
        b'A' => ("server_addr", Some(Kind::Host)),
        b'v' | b'V' => ("server_name", Some(Kind::Host)),
        b'B' => ("body_bytes_sent", Some(Kind::IntegerUnit("B"))),
        b'b' => ("body_bytes_sent", Some(Kind::BytesOrDash)),
        b'D' => ("request_time", Some(Kind::IntegerUnit("us"))),
        b'T' => ("request_time", Some(Kind::IntegerUnit("s"))),
        b'H' => ("server_protocol", Some(Kind::ServerProtocol)),
        b'm' => ("request_method", Some(Kind::OneOf(REQUEST_METHODS))),
        b's' => ("status", Some(Kind::Status)),
        b'k' => ("connection_requests", Some(Kind::Integer)),
        b'p' => ("server_port", Some(Kind::Integer)),
        b'P' => ("pid", Some(Kind::Integer)),
        b'I' => ("request_length", Some(Kind::IntegerUnit("B"))),
        b'O' => ("response_length", Some(Kind::IntegerUnit("B"))),
        b'S' => ("total_length", Some(Kind::IntegerUnit("B"))),
        b't' => (TIME, Some(Kind::BracketClfTime)),
        b'X' => ("connection_status", Some(Kind::OneOf(&["X", "+", "-"]))),
        b'f' => ("request_filename", None),
        b'l' | b'u' => ("remote_user", None),
        b'L' => ("request_log_id", None),
        b'q' => ("query_string", None),
        b'r' => ("request", None),
        b'R' => ("request_handler", None),
        b'U' => ("uri", None),
        _ => return None,
    })
}

/// Field name and kind (`None`: free text) of a directive with an argument.
fn apache_with_arg(letter: u8, arg: &str) -> Result<(String, Option<Kind>), String> {
    let prefixed = |p: &str| format!("{p}{arg}");
    let header = |p: &str| format!("{p}{}", arg.to_lowercase().replace('-', "_"));
    Ok(match letter {
        b'i' => (header("http_"), None),
        b'o' => (header("sent_http_"), None),
        b'C' => (prefixed("cookie_"), None),
        b'e' => (prefixed("env_"), None),
        b'n' => (prefixed("module_"), None),
        // %{c}a: the peer.
        b'a' => ("remote_addr".into(), Some(Kind::Host)),
        b'p' => match arg {
            "canonical" | "local" => ("server_port".into(), Some(Kind::Integer)),
            "remote" => ("remote_port".into(), Some(Kind::Integer)),
            _ => return Err(format!("unknown port format: {arg}")),
        },
        b'P' => match arg {
            "pid" => ("pid".into(), Some(Kind::Integer)),
            "tid" => ("tid".into(), Some(Kind::Integer)),
            "hextid" => ("tid".into(), Some(Kind::HexTid)),
            _ => return Err(format!("unknown pid format: {arg}")),
        },
        b't' => {
            // The unit is recognised by its prefix, after an optional "begin:" or "end:".
            let unit = arg
                .strip_prefix("begin:")
                .or_else(|| arg.strip_prefix("end:"))
                .unwrap_or(arg);
            if unit.starts_with("sec") {
                (TIME.into(), Some(Kind::EpochScaled(1e9)))
            } else if unit.starts_with("msec_frac") || unit.starts_with("usec_frac") {
                ("sec_frac".into(), Some(Kind::SecFrac))
            } else if unit.starts_with("msec") {
                (TIME.into(), Some(Kind::EpochScaled(1e6)))
            } else if unit.starts_with("usec") {
                (TIME.into(), Some(Kind::EpochScaled(1e3)))
            } else {
                return Err(format!(
                    "%{{{arg}}}t: strftime times are read by lua_decoders/apache_access.lua \
                     only, not by the native decoder"
                ));
            }
        }
        _ => return Err(format!("unknown variable: {}", char::from(letter))),
    })
}

/// A literal's backslash escapes resolved: `\t`, `\n`, `\"`, `\\` and `\NNN` (a decimal
/// byte); any other escape is an error.
fn unescape(lit: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(lit.len());
    let mut i = 0;
    while i < lit.len() {
        if lit[i] != b'\\' {
            out.push(lit[i]);
            i += 1;
            continue;
        }
        let n = lit[i + 1..]
            .iter()
            .take(3)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if n > 0 {
            let text = String::from_utf8_lossy(&lit[i + 1..i + 1 + n]).into_owned();
            match text.parse::<u16>() {
                Ok(v) if v <= 255 => out.push(v as u8),
                _ => return Err(format!("bad escape in log format: \\{text}")),
            }
            i += 1 + n;
            continue;
        }
        match lit.get(i + 1) {
            Some(b't') => out.push(b'\t'),
            Some(b'n') => out.push(b'\n'),
            Some(c @ (b'"' | b'\\')) => out.push(*c),
            other => {
                let c = other.map(|c| String::from_utf8_lossy(&[*c]).into_owned());
                return Err(format!(
                    "bad escape in log format: \\{}",
                    c.unwrap_or_default()
                ));
            }
        }
        i += 2;
    }
    Ok(out)
}

/// `"%" condition? "{" arg "}" letter`: (arg, letter, end).
fn with_arg(b: &[u8], pos: usize) -> Option<(&[u8], u8, usize)> {
    let mut j = pos + 1;
    // condition = "!"? digit^3 ("," digit^3)*, all optional (LPeg's ^3 is "3 or more").
    let digits_at = |j: usize| {
        b[j.min(b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let start = j;
    if b.get(j) == Some(&b'!') {
        j += 1;
    }
    let n = digits_at(j);
    if n >= 3 {
        j += n;
        while b.get(j) == Some(&b',') && digits_at(j + 1) >= 3 {
            j += 1 + digits_at(j + 1);
        }
    } else {
        j = start;
    }
    if b.get(j) != Some(&b'{') {
        return None;
    }
    let n = b[j + 1..].iter().take_while(|c| **c != b'}').count();
    if n == 0 || b.get(j + 1 + n) != Some(&b'}') {
        return None;
    }
    let letter = *b.get(j + 2 + n).filter(|c| c.is_ascii_alphabetic())?;
    Some((&b[j + 1..j + 1 + n], letter, j + 3 + n))
}

/// Compiles an Apache `LogFormat`; `Ok(None)` for an empty one, an error (with
/// `common_log_format`'s text) for a directive it does not know.
pub(crate) fn apache(format: &str) -> Result<Option<Vec<Item>>, String> {
    let b = format.as_bytes();
    let mut items = Vec::new();
    let mut delim = Delim::Space;
    let mut pos = 0;
    let field = |name: String, kind: Option<Kind>, delim: Delim| Item::Field {
        name,
        kind: kind.unwrap_or(Kind::Text(delim)),
    };
    while pos < b.len() {
        if is_space(b[pos]) {
            pos += b[pos..].iter().take_while(|c| is_space(**c)).count();
            items.push(Item::Space);
            delim = Delim::Space;
        } else if b[pos..].starts_with(b"%%") {
            // A literal percent sign: the delimiter stays.
            items.push(Item::Literal(b"%".to_vec()));
            pos += 2;
        } else if let Some((arg, letter, end)) =
            (b[pos] == b'%').then(|| with_arg(b, pos)).flatten()
        {
            let (name, kind) = apache_with_arg(letter, &String::from_utf8_lossy(arg))?;
            items.push(field(name, kind, delim));
            pos = end;
        } else if let Some((letter, end)) = plain(b, pos) {
            let Some((name, kind)) = apache_plain(letter) else {
                return Err(format!("unknown variable: {}", char::from(letter)));
            };
            items.push(field(name.into(), kind, delim));
            pos = end;
        } else {
            let mut end = pos;
            while end < b.len() {
                if b[end] == b'\\' && end + 1 < b.len() {
                    end += 2;
                } else if !is_space(b[end]) && b[end] != b'%' {
                    end += 1;
                } else {
                    break;
                }
            }
            if end == pos {
                end = pos + 1;
            }
            let lit = unescape(&b[pos..end])?;
            delim = delimiter_after(&lit);
            items.push(Item::Literal(lit));
            pos = end;
        }
    }
    Ok((!items.is_empty()).then_some(items))
}

/// `"%" [<>]? letter`: (letter, end).
fn plain(b: &[u8], pos: usize) -> Option<(u8, usize)> {
    if b[pos] != b'%' {
        return None;
    }
    let mut j = pos + 1;
    if matches!(b.get(j), Some(b'<' | b'>')) {
        j += 1;
    }
    let letter = *b.get(j).filter(|c| c.is_ascii_alphabetic())?;
    Some((letter, j + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, kind: Kind) -> Item {
        Item::Field {
            name: name.into(),
            kind,
        }
    }

    #[test]
    fn nginx_combined() {
        let items =
            nginx(r#"$remote_addr - $remote_user [$time_local] "$request" $status"#).unwrap();
        assert_eq!(
            items,
            vec![
                field("remote_addr", Kind::Host),
                Item::Space,
                Item::Literal(b"-".to_vec()),
                Item::Space,
                field("remote_user", Kind::Text(Delim::Space)),
                Item::Space,
                Item::Literal(b"[".to_vec()),
                field(TIME, Kind::ClfTime),
                Item::Literal(b"]".to_vec()),
                Item::Space,
                Item::Literal(b"\"".to_vec()),
                field("request", Kind::Text(Delim::Quote)),
                Item::Literal(b"\"".to_vec()),
                Item::Space,
                field("status", Kind::Status),
            ]
        );
        assert_eq!(nginx(""), None);
        // "$" before a non-name byte is literal; the delimiter is the literal's last byte.
        assert_eq!(
            nginx("a$-x:$foo").unwrap(),
            vec![
                Item::Literal(b"a$-x:".to_vec()),
                field("foo", Kind::Text(Delim::Byte(b':')))
            ]
        );
    }

    #[test]
    fn apache_combined() {
        let items =
            apache(r#"%h %l %>s %{Referer}i \"%{User-Agent}i\" %{local}p %{msec_frac}t %%"#)
                .unwrap()
                .unwrap();
        assert_eq!(
            items,
            vec![
                field("remote_addr", Kind::Host),
                Item::Space,
                field("remote_user", Kind::Text(Delim::Space)),
                Item::Space,
                field("status", Kind::Status),
                Item::Space,
                field("http_referer", Kind::Text(Delim::Space)),
                Item::Space,
                Item::Literal(b"\"".to_vec()),
                field("http_user_agent", Kind::Text(Delim::Quote)),
                Item::Literal(b"\"".to_vec()),
                Item::Space,
                field("server_port", Kind::Integer),
                Item::Space,
                field("sec_frac", Kind::SecFrac),
                Item::Space,
                Item::Literal(b"%".to_vec()),
            ]
        );
        assert_eq!(apache(""), Ok(None));
        assert_eq!(apache("%Z"), Err("unknown variable: Z".into()));
        assert_eq!(apache("%{x}p"), Err("unknown port format: x".into()));
        assert_eq!(apache(r"a\q"), Err(r"bad escape in log format: \q".into()));
        assert_eq!(
            apache(r"\300"),
            Err(r"bad escape in log format: \300".into())
        );
        assert_eq!(
            apache(r"\101\t%!200,404{X-Id}o").unwrap().unwrap(),
            vec![
                Item::Literal(b"e\t".to_vec()),
                field("sent_http_x_id", Kind::Text(Delim::Byte(b'\t')))
            ]
        );
        // A "%" that starts no directive is a one-byte literal.
        assert_eq!(
            apache("%!x").unwrap().unwrap(),
            vec![Item::Literal(b"%".to_vec()), Item::Literal(b"!x".to_vec())]
        );
    }
}
