//! `heka-cat`: counts, views, filters and extracts the messages of a file of Heka-framed
//! records, such as a FileOutput written with the ProtobufEncoder or a disk-queue `N.log`
//! (Heka's `cmd/heka-cat`).
//!
//! ```text
//! heka-cat [-match EXPR] [-format txt|json|heka|count] [-output FILE] [-offset N] [-tail]
//!          [-max-message-size N] <file>
//! ```
//!
//! Records are found as the `HekaFramingSplitter` finds them: bytes that do not belong to a
//! record are skipped and reported as corruption. Every complete record counts as processed;
//! those whose message satisfies `-match` count as matched and are written to `-output` in the
//! chosen format. Status lines (the settings, corruption, decode errors and the final
//! `Processed: N, matched: M messages`) go to stdout, as in Heka, and so share stdout with the
//! records when no `-output` is given.
//!
//! Exit status, as Heka: 1 usage, 2 bad flag or `-match`, 3 input not readable, 4 output not
//! writable, 5 bad `-offset`, 8 `-max-message-size` too large.
//!
//! Differences from Heka: offsets in status lines are true file offsets (Heka stops advancing
//! its offset after a record that does not match); times are shown in UTC rather than the local
//! zone; a read error is reported on stderr before the final counts (Heka ends silently); a
//! non-finite double in `-format json` is written as `null` (Heka writes an empty line).

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use heka_matcher::Matcher;
use heka_message::framing::scan;
use heka_message::{Field, Message, ValueType};
use heka_pipeline::runner::queue;
use hekad::cli::{FlagSpec, Flags, defaults, usage};

const TOOL: &str = "heka-cat";

/// `println!` that ignores write errors: a closed stdout (`heka-cat ... | head`) must not panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        let mut stdout = io::stdout().lock();
        let _ = writeln!(stdout, $($arg)*);
        let _ = stdout.flush();
    }};
}

const SPEC: &[FlagSpec] = hekad::tools::HEKA_CAT.flags;

/// Heka's default for this tool: 4 MiB.
const DEFAULT_MAX_MESSAGE_SIZE: u64 = 4 * 1024 * 1024;
/// Pause before looking for more data at the end of the file with `-tail`.
const TAIL_POLL: Duration = Duration::from_millis(500);
/// Bytes read from the input at a time.
const READ_CHUNK: usize = 64 * 1024;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Txt,
    Json,
    Heka,
    Count,
}

impl Format {
    fn from_flag(s: &str) -> Format {
        // Heka compat (cmd/heka-cat/main.go): an unknown format prints like txt.
        match s {
            "json" => Format::Json,
            "heka" => Format::Heka,
            "count" => Format::Count,
            _ => Format::Txt,
        }
    }
}

fn main() -> ExitCode {
    let flags = Flags::parse_env_or_exit(TOOL, SPEC);
    let [input] = flags.positional() else {
        eprint!("{}", defaults(SPEC));
        return ExitCode::from(1);
    };

    // Go's flag.Parse rejects unparsable numbers before anything else happens.
    let numbers = (
        flags.parsed::<u64>("max-message-size"),
        flags.parsed::<i64>("offset"),
    );
    let (max_size, offset) = match numbers {
        (Ok(max), Ok(offset)) => (max.unwrap_or(DEFAULT_MAX_MESSAGE_SIZE), offset.unwrap_or(0)),
        (Err(err), _) | (_, Err(err)) => {
            eprintln!("{err}");
            eprint!("{}", usage(TOOL, SPEC));
            return ExitCode::from(2);
        }
    };
    let max_size = match u32::try_from(max_size) {
        Ok(max) if max < u32::MAX => max,
        _ => {
            say!("Message size is too large: {max_size}");
            return ExitCode::from(8);
        }
    };

    let match_text = flags.value("match").unwrap_or("TRUE");
    let matcher = match Matcher::parse(match_text) {
        Ok(m) => m,
        Err(err) => {
            say!("Match specification - {err}");
            return ExitCode::from(2);
        }
    };
    for warning in matcher.warnings() {
        eprintln!("{} Match specification warning: {warning}", log_prefix());
    }

    // A disk queue directory (`<base_dir>/output_queue/<name>`): its segments in order.
    if std::path::Path::new(input).is_dir() {
        return cat_queue(input, &flags, matcher, max_size);
    }
    let mut file = match File::open(input) {
        Ok(f) => f,
        Err(err) => {
            say!("open {input}: {err}");
            return ExitCode::from(3);
        }
    };
    let output_name = flags.value("output").unwrap_or("");
    let out: Box<dyn Write> = if output_name.is_empty() {
        Box::new(io::stdout())
    } else {
        match File::create(output_name) {
            Ok(f) => Box::new(f),
            Err(err) => {
                say!("open {output_name}: {err}");
                return ExitCode::from(4);
            }
        }
    };
    let start = u64::try_from(offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "negative offset"))
        .and_then(|start| file.seek(SeekFrom::Start(start)));
    let start = match start {
        Ok(start) => start,
        Err(err) => {
            say!("seek {input}: {err}");
            return ExitCode::from(5);
        }
    };

    let format_text = flags.value("format").unwrap_or("txt");
    let tail = flags.bool("tail");
    say!(
        "Input:{input}  Offset:{offset}  Match:{match_text}  Format:{format_text}  Tail:{tail}  Output:{output_name}"
    );
    let mut cat = Cat {
        matcher,
        format: Format::from_flag(format_text),
        // Heka compat (cmd/heka-cat/main.go): `-tail` is ignored with `-format count`.
        tail: tail && format_text != "count",
        max_size,
        out: BufWriter::new(out),
        offset: start,
        processed: 0,
        matched: 0,
    };
    let result = cat.run(&mut file);
    let flushed = cat.out.flush();
    match result.and(flushed) {
        Ok(()) => {}
        // The reader of our output went away (`| head`): stop quietly, as Go's SIGPIPE does.
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => return ExitCode::SUCCESS,
        Err(err) => eprintln!("{TOOL}: {err}"),
    }
    say!(
        "Processed: {}, matched: {} messages",
        cat.processed,
        cat.matched
    );
    ExitCode::SUCCESS
}

/// Reads every segment of the disk queue in `dir` in order, then says where its cursor is.
fn cat_queue(dir: &str, flags: &Flags, matcher: Matcher, max_size: u32) -> ExitCode {
    let mut ids: Vec<u32> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(".log")?.parse().ok()
            })
            .collect(),
        Err(err) => {
            say!("open {dir}: {err}");
            return ExitCode::from(3);
        }
    };
    ids.sort_unstable();
    let format_text = flags.value("format").unwrap_or("txt");
    let match_text = flags.value("match").unwrap_or("TRUE");
    say!("Queue:{dir}  Match:{match_text}  Format:{format_text}");
    let mut cat = Cat {
        matcher,
        format: Format::from_flag(format_text),
        tail: false,
        max_size,
        out: BufWriter::new(Box::new(io::stdout())),
        offset: 0,
        processed: 0,
        matched: 0,
    };
    for id in ids {
        let path = std::path::Path::new(dir).join(format!("{id}.log"));
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(err) => {
                say!("open {}: {err}", path.display());
                continue;
            }
        };
        let _ = cat.out.flush();
        say!("Segment: {id}.log");
        cat.offset = 0;
        let result = cat.run(&mut file).and_then(|()| cat.out.flush());
        match result {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => return ExitCode::SUCCESS,
            Err(err) => eprintln!("{TOOL}: {err}"),
        }
    }
    match std::fs::read_to_string(std::path::Path::new(dir).join(queue::CHECKPOINT_FILE)) {
        Ok(text) => match queue::Position::parse(&text) {
            Ok(p) => say!(
                "Cursor: {p} (reading resumes in {}.log at offset {})",
                p.file,
                p.offset
            ),
            Err(err) => say!("Cursor: {err}"),
        },
        Err(_) => say!("Cursor: none (reading starts at the oldest segment)"),
    }
    say!(
        "Processed: {}, matched: {} messages",
        cat.processed,
        cat.matched
    );
    ExitCode::SUCCESS
}

struct Cat {
    matcher: Matcher,
    format: Format,
    tail: bool,
    max_size: u32,
    out: BufWriter<Box<dyn Write>>,
    /// File offset of the first byte not yet consumed.
    offset: u64,
    processed: u64,
    matched: u64,
}

impl Cat {
    /// Reads and handles records until the end of the file (forever with `-tail`).
    fn run(&mut self, file: &mut File) -> io::Result<()> {
        let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
        let mut start = 0;
        loop {
            let found = scan(&buf[start..], self.max_size);
            if let Some(err) = &found.error {
                // Heka compat (pipeline/splitter_runner.go): header errors are logged by the
                // splitter runner with hekad's log prefix.
                eprintln!(
                    "{} Splitter 'HekaFramingSplitter' error: {err}",
                    log_prefix()
                );
            }
            let skipped = found
                .frame
                .as_ref()
                .map_or(found.consumed, |f| f.record.start);
            if skipped > 0 {
                let offset = self.offset;
                self.status(format_args!(
                    "Corruption detected at offset: {offset} bytes: {skipped}"
                ))?;
            }
            let mut consumed = found.consumed;
            if let Some(frame) = found.frame {
                let record = &buf[start + frame.record.start..start + frame.record.end];
                let message = &buf[start + frame.message.start..start + frame.message.end];
                let header = &buf[start + frame.header_bytes.start..start + frame.header_bytes.end];
                // Records of a disk queue carry a CRC-32 of the message in their header.
                if queue::checksum_matches(header, message) {
                    self.record(record, message)?;
                } else {
                    let offset = self.offset + frame.record.start as u64;
                    self.status(format_args!(
                        "Corruption detected at offset: {offset} bytes: {} (checksum mismatch)",
                        frame.record.len()
                    ))?;
                    // Its length may be the damaged part: look for the next record right
                    // after its separator (what lies between is reported next).
                    consumed = frame.record.start + 1;
                }
            }
            if consumed > 0 {
                start += consumed;
                self.offset += consumed as u64;
                continue;
            }
            // Nothing more in the buffer: read on.
            buf.drain(..start);
            start = 0;
            let have = buf.len();
            buf.resize(have + READ_CHUNK, 0);
            let n = loop {
                match file.read(&mut buf[have..]) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other,
                }
            };
            let n = n.inspect_err(|_| buf.truncate(have))?;
            buf.truncate(have + n);
            if n == 0 {
                if !self.tail {
                    if !buf.is_empty() {
                        let offset = self.offset;
                        self.status(format_args!(
                            "Corruption detected at offset: {offset} bytes: {} (incomplete record at the end of the file)",
                            buf.len()
                        ))?;
                    }
                    return Ok(());
                }
                self.out.flush()?;
                std::thread::sleep(TAIL_POLL);
            }
        }
    }

    /// Handles one complete record.
    fn record(&mut self, record: &[u8], message: &[u8]) -> io::Result<()> {
        self.processed += 1;
        let msg = match Message::decode_slice(message) {
            Ok(msg) => msg,
            Err(err) => {
                let offset = self.offset;
                return self.status(format_args!(
                    "Error unmarshalling message at offset: {offset} error: {err}"
                ));
            }
        };
        if !self.matcher.matches(&msg) {
            return Ok(());
        }
        self.matched += 1;
        match self.format {
            Format::Count => Ok(()),
            Format::Heka => self.out.write_all(record),
            Format::Json => {
                let mut line = Vec::with_capacity(message.len() * 2);
                write_json(&msg, &mut line);
                line.push(b'\n');
                self.out.write_all(&line)
            }
            Format::Txt => {
                let mut text = Vec::with_capacity(message.len() * 2);
                write_txt(&msg, &mut text);
                self.out.write_all(&text)
            }
        }
    }

    /// Prints a status line on stdout, after the records written so far.
    fn status(&mut self, line: std::fmt::Arguments<'_>) -> io::Result<()> {
        self.out.flush()?;
        say!("{line}");
        Ok(())
    }
}

/// Go's `log.LstdFlags` prefix, `YYYY/MM/DD HH:MM:SS` (in UTC here).
fn log_prefix() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, mo, d, h, mi, s) = civil(now as i64);
    format!("{y:04}/{mo:02}/{d:02} {h:02}:{mi:02}:{s:02}")
}

/// Splits Unix seconds into UTC (year, month, day, hour, minute, second).
fn civil(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    (year, month, day, h as u32, m as u32, s as u32)
}

/// Go's `time.Time.String()` of a nanosecond timestamp, in UTC:
/// `2006-01-02 15:04:05.999999999 +0000 UTC` (trailing zeros of the fraction dropped).
fn go_time(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    let (y, mo, d, h, mi, s) = civil(secs);
    let mut out = format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}");
    if frac != 0 {
        let digits = format!("{frac:09}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push_str(" +0000 UTC");
    out
}

/// The `txt` rendering: Heka's labelled header lines, then the fields in protobuf text form.
fn write_txt(msg: &Message, out: &mut Vec<u8>) {
    let mut line = |label: &str, value: &[u8]| {
        out.extend_from_slice(label.as_bytes());
        out.extend_from_slice(value);
        out.push(b'\n');
    };
    line("Timestamp: ", go_time(msg.timestamp).as_bytes());
    line("Type: ", msg.type_bytes());
    line("Hostname: ", msg.hostname_bytes());
    line("Pid: ", msg.pid_or_default().to_string().as_bytes());
    line("UUID: ", msg.uuid_string().as_bytes());
    line("Logger: ", msg.logger_bytes());
    line("Payload: ", msg.payload_bytes());
    line("EnvVersion: ", msg.env_version_bytes());
    line(
        "Severity: ",
        msg.severity_or_default().to_string().as_bytes(),
    );
    // Heka compat (cmd/heka-cat/main.go): `%+v` of the field list prints each field's protobuf
    // compact text (every value followed by a space), separated by spaces.
    out.extend_from_slice(b"Fields: [");
    for (i, field) in msg.fields.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        write_field_text(field, out);
    }
    out.extend_from_slice(b"]\n\n");
}

/// One field in the protobuf compact text format of Go's `proto.CompactTextString`.
fn write_field_text(f: &Field, out: &mut Vec<u8>) {
    let mut item = |name: &str, value: &dyn Fn(&mut Vec<u8>)| {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        value(out);
        out.push(b' ');
    };
    item("name", &|o| text_string(&f.name, o));
    if let Some(t) = f.value_type {
        item("value_type", &|o| match ValueType::try_from(t) {
            Ok(vt) => o.extend_from_slice(vt.as_str().as_bytes()),
            Err(_) => o.extend_from_slice(t.to_string().as_bytes()),
        });
    }
    if let Some(r) = &f.representation {
        item("representation", &|o| text_string(r, o));
    }
    for v in &f.value_string {
        item("value_string", &|o| text_string(v, o));
    }
    for v in &f.value_bytes {
        item("value_bytes", &|o| text_string(v, o));
    }
    for v in &f.value_integer {
        item("value_integer", &|o| {
            o.extend_from_slice(v.to_string().as_bytes())
        });
    }
    for v in &f.value_double {
        item("value_double", &|o| {
            let text = if v.is_nan() {
                "nan".to_owned()
            } else if v.is_infinite() {
                if *v > 0.0 { "inf" } else { "-inf" }.to_owned()
            } else {
                go_float_g(*v)
            };
            o.extend_from_slice(text.as_bytes());
        });
    }
    for v in &f.value_bool {
        item("value_bool", &|o| {
            o.extend_from_slice(if *v { b"true" } else { b"false" })
        });
    }
}

/// A quoted string in protobuf text format: `"`, `\` and `\n \r \t` escaped, every other byte
/// outside printable ASCII as a three-digit octal escape.
fn text_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in s {
        match b {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(format!("\\{b:03o}").as_bytes()),
        }
    }
    out.push(b'"');
}

/// The shortest decimal digits of a finite `v` and the decimal exponent of the first digit
/// (`99.9` → `("999", 1)`), plus its sign.
fn float_digits(v: f64) -> (bool, String, i32) {
    // `{:e}` prints the shortest digits that read back as `v`, like Go's strconv with -1.
    let sci = format!("{:e}", v.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    (v.is_sign_negative(), digits, exp.parse().unwrap_or(0))
}

fn place_point(digits: &str, exp: i32) -> String {
    let nd = digits.len() as i32;
    if exp < 0 {
        format!("0.{}{digits}", "0".repeat((-exp - 1) as usize))
    } else if exp + 1 >= nd {
        format!("{digits}{}", "0".repeat((exp + 1 - nd) as usize))
    } else {
        let (int, frac) = digits.split_at((exp + 1) as usize);
        format!("{int}.{frac}")
    }
}

fn exp_form(digits: &str, exp: i32, min_exp_digits: usize) -> String {
    let (first, rest) = digits.split_at(1);
    let point = if rest.is_empty() { "" } else { "." };
    let sign = if exp < 0 { '-' } else { '+' };
    format!(
        "{first}{point}{rest}e{sign}{:0min_exp_digits$}",
        exp.unsigned_abs()
    )
}

/// Go's `%v` / `strconv.FormatFloat(v, 'g', -1, 64)` of a finite float.
fn go_float_g(v: f64) -> String {
    let (neg, digits, exp) = float_digits(v);
    let body = if !(-4..6).contains(&exp) {
        exp_form(&digits, exp, 2)
    } else {
        place_point(&digits, exp)
    };
    format!("{}{body}", if neg { "-" } else { "" })
}

/// Go's `encoding/json` rendering of a finite float64.
fn go_float_json(v: f64) -> String {
    let (neg, digits, exp) = float_digits(v);
    let abs = v.abs();
    let body = if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Go writes `1e-07` as `1e-7` but keeps `1e+21`.
        exp_form(&digits, exp, if exp < 0 { 1 } else { 2 })
    } else {
        place_point(&digits, exp)
    };
    format!("{}{body}", if neg { "-" } else { "" })
}

/// A JSON string as Go's `encoding/json` writes it: HTML-sensitive characters and U+2028/9
/// escaped, invalid UTF-8 replaced by U+FFFD.
fn json_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                '<' | '>' | '&' | '\u{2028}' | '\u{2029}' | '\0'..='\x1f' => {
                    out.extend_from_slice(format!("\\u{:04x}", u32::from(c)).as_bytes());
                }
                c => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        if !chunk.invalid().is_empty() {
            out.extend_from_slice(b"\\ufffd");
        }
    }
    out.push(b'"');
}

/// Standard base64 with padding (Go's encoding of `[]byte` in JSON).
fn base64(data: &[u8], out: &mut Vec<u8>) {
    use base64::Engine as _;
    out.extend_from_slice(
        base64::engine::general_purpose::STANDARD
            .encode(data)
            .as_bytes(),
    );
}

/// Writes `"key":` preceded by a comma unless it is the object's first member.
fn json_key(key: &str, first: &mut bool, out: &mut Vec<u8>) {
    if !*first {
        out.push(b',');
    }
    *first = false;
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

fn json_array<T>(
    key: &str,
    items: &[T],
    first: &mut bool,
    out: &mut Vec<u8>,
    each: impl Fn(&T, &mut Vec<u8>),
) {
    if items.is_empty() {
        return;
    }
    json_key(key, first, out);
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        each(item, out);
    }
    out.push(b']');
}

/// The `json` rendering: Go's `encoding/json` of Heka's generated `Message` struct (members in
/// struct order, unset ones omitted, bytes as base64, the value type as its number).
fn write_json(msg: &Message, out: &mut Vec<u8>) {
    let mut first = true;
    out.push(b'{');
    if !msg.uuid.is_empty() {
        json_key("uuid", &mut first, out);
        out.push(b'"');
        base64(&msg.uuid, out);
        out.push(b'"');
    }
    json_key("timestamp", &mut first, out);
    out.extend_from_slice(msg.timestamp.to_string().as_bytes());
    let string = |key: &str, v: &Option<bytes::Bytes>, first: &mut bool, out: &mut Vec<u8>| {
        if let Some(v) = v {
            json_key(key, first, out);
            json_string(v, out);
        }
    };
    string("type", &msg.r#type, &mut first, out);
    string("logger", &msg.logger, &mut first, out);
    if let Some(s) = msg.severity {
        json_key("severity", &mut first, out);
        out.extend_from_slice(s.to_string().as_bytes());
    }
    string("payload", &msg.payload, &mut first, out);
    string("env_version", &msg.env_version, &mut first, out);
    if let Some(p) = msg.pid {
        json_key("pid", &mut first, out);
        out.extend_from_slice(p.to_string().as_bytes());
    }
    string("hostname", &msg.hostname, &mut first, out);
    json_array("fields", &msg.fields, &mut first, out, write_json_field);
    out.push(b'}');
}

fn write_json_field(f: &Field, out: &mut Vec<u8>) {
    let mut first = true;
    out.push(b'{');
    json_key("name", &mut first, out);
    json_string(&f.name, out);
    if let Some(t) = f.value_type {
        json_key("value_type", &mut first, out);
        out.extend_from_slice(t.to_string().as_bytes());
    }
    if let Some(r) = &f.representation {
        json_key("representation", &mut first, out);
        json_string(r, out);
    }
    json_array("value_string", &f.value_string, &mut first, out, |v, o| {
        json_string(v, o)
    });
    json_array("value_bytes", &f.value_bytes, &mut first, out, |v, o| {
        o.push(b'"');
        base64(v, o);
        o.push(b'"');
    });
    json_array(
        "value_integer",
        &f.value_integer,
        &mut first,
        out,
        |v, o| o.extend_from_slice(v.to_string().as_bytes()),
    );
    json_array("value_double", &f.value_double, &mut first, out, |v, o| {
        if v.is_finite() {
            o.extend_from_slice(go_float_json(*v).as_bytes());
        } else {
            o.extend_from_slice(b"null");
        }
    });
    json_array("value_bool", &f.value_bool, &mut first, out, |v, o| {
        o.extend_from_slice(if *v { b"true" } else { b"false" })
    });
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_time_strings() {
        assert_eq!(go_time(0), "1970-01-01 00:00:00 +0000 UTC");
        assert_eq!(
            go_time(1_136_214_245_999_999_999),
            "2006-01-02 15:04:05.999999999 +0000 UTC"
        );
        assert_eq!(
            go_time(1_136_214_245_500_000_000),
            "2006-01-02 15:04:05.5 +0000 UTC"
        );
        assert_eq!(go_time(-1), "1969-12-31 23:59:59.999999999 +0000 UTC");
        assert_eq!(
            go_time(951_782_400_000_000_000),
            "2000-02-29 00:00:00 +0000 UTC"
        );
    }

    #[test]
    fn go_float_formats() {
        for (v, g, json) in [
            (0.0, "0", "0"),
            (-0.0, "-0", "-0"),
            (99.9, "99.9", "99.9"),
            (1.0, "1", "1"),
            (100000.0, "100000", "100000"),
            (1e6, "1e+06", "1000000"),
            (1234567.0, "1.234567e+06", "1234567"),
            (0.0001, "0.0001", "0.0001"),
            (0.00001, "1e-05", "0.00001"),
            (1e-7, "1e-07", "1e-7"),
            (1e21, "1e+21", "1e+21"),
            (-2.5e-300, "-2.5e-300", "-2.5e-300"),
        ] {
            assert_eq!(go_float_g(v), g, "{v} as %v");
            assert_eq!(go_float_json(v), json, "{v} as json");
        }
    }

    #[test]
    fn text_and_json_strings() {
        let mut out = Vec::new();
        text_string("a\"\\\n\té\x01".as_bytes(), &mut out);
        assert_eq!(out, br#""a\"\\\n\t\303\251\001""#);
        let mut out = Vec::new();
        json_string(b"a<b>&\"\\\n\x01\xff\xc3\xa9", &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\u003cb\\u003e\\u0026\\\"\\\\\\n\\u0001\\ufffdé\""
        );
    }

    #[test]
    fn base64_padding() {
        for (input, want) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
        ] {
            let mut out = Vec::new();
            base64(input, &mut out);
            assert_eq!(out, want.as_bytes());
        }
    }

    fn sample() -> Message {
        let mut msg = Message {
            uuid: bytes::Bytes::from_static(&[0xab; 16]),
            timestamp: 1_136_214_245_000_000_000,
            severity: Some(6),
            pid: Some(42),
            ..Message::default()
        };
        msg.set_type("TEST");
        msg.set_payload("line1\nline2");
        msg.add_field(Field::new_string("foo", "bar"));
        msg.add_field(Field::new_integers("int", &[1, 2]).with_representation("count"));
        msg.add_field(Field::new_double("d", 1e6));
        msg.add_field(Field::new_bool("b", true));
        msg.add_field(Field::new_bytes("raw", b"\x00\x01".to_vec()));
        msg
    }

    #[test]
    fn txt_rendering() {
        let mut out = Vec::new();
        write_txt(&sample(), &mut out);
        let want = "Timestamp: 2006-01-02 15:04:05 +0000 UTC\n\
            Type: TEST\n\
            Hostname: \n\
            Pid: 42\n\
            UUID: abababab-abab-abab-abab-abababababab\n\
            Logger: \n\
            Payload: line1\nline2\n\
            EnvVersion: \n\
            Severity: 6\n\
            Fields: [name:\"foo\" value_type:STRING representation:\"\" value_string:\"bar\"  \
            name:\"int\" value_type:INTEGER representation:\"count\" value_integer:1 value_integer:2  \
            name:\"d\" value_type:DOUBLE representation:\"\" value_double:1e+06  \
            name:\"b\" value_type:BOOL representation:\"\" value_bool:true  \
            name:\"raw\" value_type:BYTES representation:\"\" value_bytes:\"\\000\\001\" ]\n\n";
        assert_eq!(String::from_utf8(out).unwrap(), want);
        let mut out = Vec::new();
        write_txt(&Message::default(), &mut out);
        assert!(
            String::from_utf8(out)
                .unwrap()
                .ends_with("Severity: 7\nFields: []\n\n")
        );
    }

    #[test]
    fn json_rendering() {
        let mut out = Vec::new();
        write_json(&sample(), &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["uuid"], "q6urq6urq6urq6urq6urqw==");
        assert_eq!(v["timestamp"], 1_136_214_245_000_000_000i64);
        assert_eq!(v["type"], "TEST");
        assert_eq!(v["payload"], "line1\nline2");
        assert_eq!(v["severity"], 6);
        assert!(v.get("logger").is_none());
        assert_eq!(v["fields"][0]["value_string"][0], "bar");
        assert_eq!(v["fields"][1]["value_type"], 2);
        assert_eq!(v["fields"][1]["value_integer"][1], 2);
        assert_eq!(v["fields"][2]["value_double"][0], 1e6);
        assert_eq!(v["fields"][3]["value_bool"][0], true);
        assert_eq!(v["fields"][4]["value_bytes"][0], "AAE=");
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("{\"uuid\":\"q6urq6urq6urq6urq6urqw==\",\"timestamp\":"));
        assert!(text.contains("\"value_double\":[1000000]"));
    }
}
