//! hekad's log output as Heka's: informational lines on stdout, warnings and errors on stderr,
//! each prefixed as Go's `log` package does for `[hekad] log_flags` (1 date, 2 time,
//! 4 microseconds, 32 UTC; 0 = no prefix). Times are printed in UTC whatever the flags say.
//! An event naming a plugin (a `plugin`, `input`, `filter`, `output`, `splitter` or `decoder`
//! field) is written as Heka's runners write them: `Plugin '<name>': <message>`, or
//! `Plugin '<name>' error: <message>` for warnings and errors.

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicI64, Ordering};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::writer::MakeWriterExt;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Heka's default: date and time.
static LOG_FLAGS: AtomicI64 = AtomicI64::new(3);

/// Sets the prefix flags (from `[hekad] log_flags`) for every line logged from now on.
pub fn set_flags(flags: i64) {
    LOG_FLAGS.store(flags, Ordering::Relaxed);
}

/// Installs the subscriber. `HEKAD_LOG` (an `EnvFilter` directive) overrides the level: `info`,
/// or `error` when `errors_only` (`hekad -test -q`).
pub fn init(errors_only: bool) {
    let level = if errors_only { "error" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("HEKAD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let writer = std::io::stderr
        .with_max_level(Level::WARN)
        .or_else(std::io::stdout);
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .event_format(GoLog)
        .init();
}

/// Civil date (year, month, day) of a day count since 1970-01-01.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Go's `log` prefix for `flags` at `unix_micros`.
fn prefix(flags: i64, unix_micros: i64) -> String {
    let mut p = String::new();
    let secs = unix_micros.div_euclid(1_000_000);
    if flags & 1 != 0 {
        let (y, m, d) = civil(secs.div_euclid(86_400));
        p.push_str(&format!("{y:04}/{m:02}/{d:02} "));
    }
    if flags & (2 | 4) != 0 {
        let s = secs.rem_euclid(86_400);
        p.push_str(&format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60));
        if flags & 4 != 0 {
            p.push_str(&format!(".{:06}", unix_micros.rem_euclid(1_000_000)));
        }
        p.push(' ');
    }
    p
}

/// Field names that carry the name of the plugin an event is about.
const PLUGIN_FIELDS: &[&str] = &["plugin", "input", "filter", "output", "splitter", "decoder"];

/// An event's message, its plugin name and its other fields.
#[derive(Default)]
struct Line {
    message: String,
    plugin: Option<String>,
    rest: String,
}

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let v = format!("{value:?}");
        self.record(field, v);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.record(field, value.to_string());
    }
}

impl Line {
    fn record(&mut self, field: &Field, value: String) {
        match field.name() {
            "message" => self.message = value,
            n if PLUGIN_FIELDS.contains(&n) && self.plugin.is_none() => self.plugin = Some(value),
            n => {
                let _ = write!(self.rest, " {n}={value}");
            }
        }
    }

    fn render(&self, level: &Level) -> String {
        let text = format!("{}{}", self.message, self.rest);
        match (&self.plugin, *level <= Level::WARN) {
            (Some(p), true) => format!("Plugin '{p}' error: {text}"),
            (Some(p), false) => format!("Plugin '{p}': {text}"),
            (None, _) => text,
        }
    }
}

struct GoLog;

impl<S, N> FormatEvent<S, N> for GoLog
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0);
        let mut line = Line::default();
        event.record(&mut line);
        w.write_str(&go_log_line(
            &prefix(LOG_FLAGS.load(Ordering::Relaxed), micros),
            &line.render(event.metadata().level()),
        ))
    }
}

/// One log line as Go's `log.Output` writes it: the prefix, the text, and a newline unless the
/// text already ends with one.
fn go_log_line(prefix: &str, text: &str) -> String {
    // Heka compat: Go's log package adds no second newline, so an error quoting a text record
    // (TokenSplitter keeps its "\n") is one line, not one line and a blank one.
    let newline = if text.ends_with('\n') { "" } else { "\n" };
    format!("{prefix}{text}{newline}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_events_read_like_heka_runner_lines() {
        let line = |plugin: Option<&str>, rest: &str| Line {
            message: "boom".into(),
            plugin: plugin.map(str::to_string),
            rest: rest.into(),
        };
        assert_eq!(
            line(Some("out"), "").render(&Level::ERROR),
            "Plugin 'out' error: boom"
        );
        assert_eq!(
            line(Some("in"), "").render(&Level::INFO),
            "Plugin 'in': boom"
        );
        assert_eq!(
            line(None, " peer=1.2.3.4").render(&Level::INFO),
            "boom peer=1.2.3.4"
        );
    }

    #[test]
    fn a_text_ending_in_a_newline_gets_no_second_one() {
        assert_eq!(go_log_line("p ", "boom"), "p boom\n");
        assert_eq!(go_log_line("p ", "No match: x\n"), "p No match: x\n");
        assert_eq!(go_log_line("", ""), "\n");
    }

    #[test]
    fn prefixes_follow_go_log_flags() {
        // 2026-11-25 14:05:09.000042 UTC
        let t = 1_795_615_509_000_042;
        assert_eq!(prefix(3, t), "2026/11/25 14:05:09 ");
        assert_eq!(prefix(1, t), "2026/11/25 ");
        assert_eq!(prefix(2 | 4, t), "14:05:09.000042 ");
        assert_eq!(prefix(0, t), "");
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(-1), (1969, 12, 31));
        assert_eq!(civil(11_016), (2000, 2, 29));
    }
}
