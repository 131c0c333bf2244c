//! StatsdInput: a statsd server on UDP; hands what it receives to a StatAccumInput.
//!
//! ```toml
//! [StatsdInput]
//! address = "127.0.0.1:8125"
//! # stat_accum_name = "StatAccumInput"   # the StatAccumInput section that accumulates
//! # max_msg_size = 512                   # bytes read of each datagram
//! # statsd_semantics = false             # not in Heka: statsd's gauge deltas and sets
//!
//! [StatAccumInput]
//! ticker_interval = 10
//! ```
//!
//! Each datagram holds one or more lines `<bucket>:<value>|<type>[|@<sample rate>]`, with the
//! types `c` (counter; Heka also counts `h` and `m`), `g` (gauge) and `ms` (timer); see
//! `support::stats::parse_datagram` for Heka's exact grammar. Lines it can't parse are logged
//! (`can't parse message: <line>`) and skipped; the other lines of the datagram still count.
//! Only the first `max_msg_size` bytes of a datagram are read, as in Heka. The stats go to the
//! StatAccumInput named by `stat_accum_name`, which emits them; StatsdInput itself emits
//! nothing. A missing or misnamed StatAccumInput is a config error.
//!
//! `statsd_semantics = true` reads two things as statsd's own daemon does and Heka did not: a
//! gauge value with a sign (`+5|g`, `-3|g`) adds to the gauge instead of setting it, and the type
//! `s` (`users:alice|s`) counts the distinct values of a set, emitted by StatAccumInput as
//! `<global>.<set_prefix>.<bucket>.count`.
//!
//! Differences from Heka:
//! - A datagram longer than `max_msg_size` is cut as in Heka, but logged and counted (Heka cut
//!   it silently); `max_msg_size = 0` is a config error (Heka then read nothing).
//! - A sample rate of zero or that is not finite (`@0`, `@nan`) rejects the line (Heka counted
//!   Go's undefined conversion of an infinity).
//! - Logged lines are limited to ten a second; the ones held back are counted in the next line.
//!   At stop, the number of bad lines, cut datagrams and undelivered stats is logged.
//! - At stop, the datagrams already queued in the socket are read (up to 100,000) and their
//!   stats make StatAccumInput's last flush; Heka left them unread.
//! - The socket asks for a 4 MiB receive buffer (the kernel caps it at `net.core.rmem_max`), so
//!   a burst is not dropped while the reader is descheduled; Heka kept the default.
//! - `statsd_semantics` (gauge deltas and sets) is new.

use std::time::Duration;

use heka_pipeline::config::ConfigError;
use heka_pipeline::plugin::{Input, InputContext, ProcessError};
use heka_pipeline::registry::{BuildContext, InputSpec, Link};
use serde::Deserialize;

use super::stat_accum::SINK_WHAT;
use crate::support::net::{
    DatagramNet, DatagramSocket, Family, check_address, start_datagram_input,
};
use crate::support::stats::{LogLimit, Refused, StatSink, parse_datagram};

/// Read buffer: the largest UDP payload fits.
const MAX_DATAGRAM: usize = 65536;

/// Log lines a second about what clients send.
const LOG_PER_SECOND: u32 = 10;

/// Most datagrams read at stop from what the kernel already holds.
const MAX_DRAIN: usize = 100_000;

/// Receive buffer asked for: bursts wait there while the reader is busy or descheduled, where
/// the default (208 KiB, a few hundred datagrams) overflows and the kernel drops them.
const RECV_BUFFER: usize = 4 << 20;

/// StatsdInput options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct StatsdInputConfig {
    /// UDP `host:port` to listen on.
    address: String,
    /// The StatAccumInput section to hand stats to.
    stat_accum_name: String,
    /// Bytes read of each datagram.
    max_msg_size: usize,
    /// statsd's gauge deltas and sets.
    statsd_semantics: bool,
}

impl Default for StatsdInputConfig {
    fn default() -> Self {
        StatsdInputConfig {
            address: "127.0.0.1:8125".into(),
            stat_accum_name: "StatAccumInput".into(),
            max_msg_size: 512,
            statsd_semantics: false,
        }
    }
}

/// A StatsdInput instance with its bound socket.
struct StatsdInput {
    socket: Option<DatagramSocket>,
    accumulator: Link<StatSink>,
    max_msg_size: usize,
    statsd_semantics: bool,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Input>, ConfigError> {
    let c: StatsdInputConfig = ctx.options.parse()?;
    if c.max_msg_size == 0 {
        return Err(ctx.error(Some("max_msg_size"), "max_msg_size must be at least 1"));
    }
    let net = DatagramNet::Udp(Family::Any);
    let socket = if ctx.check_only {
        check_address(net.family(), &c.address).map_err(|e| ctx.error(Some("address"), e))?;
        None
    } else {
        Some(DatagramSocket::bind(net, &c.address).map_err(|e| ctx.error(Some("address"), e))?)
    };
    let accumulator = ctx.link("stat_accum_name", &c.stat_accum_name, SINK_WHAT);
    Ok(Box::new(StatsdInput {
        socket,
        accumulator,
        max_msg_size: c.max_msg_size,
        statsd_semantics: c.statsd_semantics,
    }))
}

/// What a StatsdInput counts and how often it may log about it.
struct Tally {
    bad_lines: u64,
    cut: u64,
    undelivered: u64,
    bad_log: LogLimit,
    cut_log: LogLimit,
    undelivered_log: LogLimit,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            bad_lines: 0,
            cut: 0,
            undelivered: 0,
            bad_log: LogLimit::new(LOG_PER_SECOND),
            cut_log: LogLimit::new(LOG_PER_SECOND),
            undelivered_log: LogLimit::new(LOG_PER_SECOND),
        }
    }
}

/// ", and N more" for lines a [`LogLimit`] held back.
fn more(held_back: u64) -> String {
    if held_back == 0 {
        String::new()
    } else {
        format!(" (and {held_back} more not logged)")
    }
}

impl StatsdInput {
    /// Handles the `n` bytes of a datagram received into `buf`, cut to `max_msg_size`.
    fn datagram(&self, buf: &[u8], n: usize, sink: &StatSink, name: &str, tally: &mut Tally) {
        let mut data = &buf[..n];
        if n > self.max_msg_size {
            tally.cut += 1;
            if let Some(held) = tally.cut_log.allow() {
                tracing::warn!(
                    input = %name,
                    "datagram of {n} bytes cut to max_msg_size ({}){}",
                    self.max_msg_size,
                    more(held)
                );
            }
            data = &buf[..self.max_msg_size];
        }
        self.handle(data, sink, name, tally);
    }

    /// Parses one datagram and hands its stats to `sink`.
    fn handle(&self, data: &[u8], sink: &StatSink, name: &str, tally: &mut Tally) {
        let mut stats = Vec::new();
        let mut bad = Vec::new();
        parse_datagram(data, self.statsd_semantics, &mut stats, &mut bad);
        for line in bad {
            tally.bad_lines += 1;
            if let Some(held) = tally.bad_log.allow() {
                // Heka compat: plugins/statsd/statsd_input.go's text.
                tracing::error!(input = %name, "can't parse message: {}{}", String::from_utf8_lossy(line), more(held));
            }
        }
        match sink.submit(&stats) {
            Ok(()) => {}
            Err(Refused::Closed) => {
                tally.undelivered += stats.len() as u64;
                if let Some(held) = tally.undelivered_log.allow() {
                    let first = &stats[0];
                    tracing::error!(
                        input = %name,
                        "undelivered stat: {}:{}|{}{}",
                        String::from_utf8_lossy(first.bucket),
                        String::from_utf8_lossy(first.value),
                        first.kind.as_str(),
                        more(held + stats.len() as u64 - 1)
                    );
                }
            }
            // Counted and logged by the accumulator.
            Err(Refused::OverLimit(_)) => {}
        }
    }
}

impl Input for StatsdInput {
    fn run(&mut self, ctx: &mut InputContext) -> Result<(), ProcessError> {
        let sink = self.accumulator.get().ok_or_else(|| {
            ProcessError::Fatal(format!("No Input named '{}'", self.accumulator.target()))
        })?;
        // First of all, so that a StatAccumInput stopping now waits for what we read.
        let user = sink.attach();
        let (socket, _closer) = start_datagram_input(&mut self.socket, ctx)?;
        if let Err(e) = socket.set_recv_buffer(RECV_BUFFER) {
            tracing::debug!(input = %ctx.name(), "can't enlarge the receive buffer: {e}");
        }
        let mut tally = Tally::new();
        let mut buf = vec![0u8; MAX_DATAGRAM.max(self.max_msg_size)];
        while !ctx.stopping() {
            match socket.recv_from(&mut buf) {
                Ok((n, _)) => {
                    if n > 0 {
                        self.datagram(&buf, n, user.sink(), ctx.name(), &mut tally);
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => {
                    if ctx.stopping() {
                        break;
                    }
                    tracing::error!(input = %ctx.name(), "read error: {e}");
                    if ctx.sleep(Duration::from_millis(100)) {
                        break;
                    }
                }
            }
        }
        // What the kernel already holds was sent before the stop: it makes the last flush.
        if socket.set_nonblocking(true).is_ok() {
            for _ in 0..MAX_DRAIN {
                match socket.recv_from(&mut buf) {
                    Ok((n, _)) if n > 0 => {
                        self.datagram(&buf, n, user.sink(), ctx.name(), &mut tally);
                    }
                    _ => break,
                }
            }
        }
        drop(user);
        if tally.bad_lines + tally.cut + tally.undelivered > 0 {
            tracing::info!(
                input = %ctx.name(),
                "{} bad lines, {} datagrams cut to max_msg_size, {} stats undelivered",
                tally.bad_lines,
                tally.cut,
                tally.undelivered
            );
        }
        Ok(())
    }
}

pub(super) const SPEC: InputSpec = InputSpec {
    type_name: "StatsdInput",
    summary: "A statsd server on UDP; hands counters, gauges and timers to a StatAccumInput.",
    default_splitter: "NullSplitter",
    default_decoder: None,
    can_exit: false,
    build,
};

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;

    use heka_message::{FieldValue, Message};

    use crate::support::net::testing::{
        bound_port, build_error, file_output, start, stop_within, unframe_all, wait_for,
    };

    /// The messages FileOutput wrote to `out` so far.
    fn messages(out: &std::path::Path) -> Vec<Message> {
        unframe_all(&std::fs::read(out).unwrap_or_default())
            .into_iter()
            .map(|(_, m)| m)
            .collect()
    }

    /// Every payload line of `msgs`, without its timestamp.
    fn lines(msgs: &[Message]) -> Vec<String> {
        msgs.iter()
            .flat_map(|m| {
                String::from_utf8_lossy(m.payload_bytes())
                    .lines()
                    .map(|l| l.rsplit_once(' ').unwrap().0.to_string())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn datagrams_reach_the_accumulator_and_come_out_as_one_message_a_flush() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.log");
        let running = start(&format!(
            "[hekad]\nhostname = 'box'\n\
             [statsd]\ntype = 'StatsdInput'\naddress = '127.0.0.1:0'\nstat_accum_name = 'acc'\n\
             statsd_semantics = true\n\
             [acc]\ntype = 'StatAccumInput'\nticker_interval = 1\nemit_in_fields = true\n{}",
            file_output(&out)
        ));
        let port = bound_port(&running, "statsd");
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let datagram = "hits:1|c\nhits:3|c|@0.5\nbad line\nload:2|g\nload:+5|g\n\
                        lat:10|ms\nlat:30|ms\nusers:a|s\nusers:b|s\nusers:a|s\n";
        tx.send_to(datagram.as_bytes(), ("127.0.0.1", port))
            .unwrap();
        let want = [
            "stats.counters.hits.count 7",
            "stats.gauges.load 7.000000",
            "stats.timers.lat.count 2",
            "stats.timers.lat.mean 20.000000",
            "stats.sets.users.count 2",
        ];
        let msgs = wait_for("the flush with the datagram's stats", || {
            let msgs = messages(&out);
            let got = lines(&msgs);
            want.iter()
                .all(|w| got.iter().any(|l| l == w))
                .then_some(msgs)
        });
        stop_within(running, 10);
        let m = msgs
            .iter()
            .find(|m| String::from_utf8_lossy(m.payload_bytes()).contains("hits.count 7"))
            .unwrap();
        assert_eq!(m.type_bytes(), b"heka.statmetric");
        assert_eq!(m.logger_bytes(), b"acc");
        assert_eq!(m.hostname_bytes(), b"box");
        assert_eq!(m.pid, i32::try_from(std::process::id()).ok());
        // Fields: the timestamp first, then one per payload line.
        assert_eq!(&m.fields[0].name[..], b"timestamp");
        let ts = match m.fields[0].value(0) {
            Some(FieldValue::Integer(ts)) => ts,
            other => panic!("timestamp {other:?}"),
        };
        assert_eq!(ts, m.timestamp / 1_000_000_000);
        let payload = String::from_utf8_lossy(m.payload_bytes()).into_owned();
        assert_eq!(m.fields.len(), payload.lines().count() + 1);
        assert!(payload.lines().all(|l| l.ends_with(&format!(" {ts}"))));
        assert!(payload.ends_with(&format!("stats.statsd.numStats 4 {ts}\n")));
    }

    #[test]
    fn long_datagrams_are_cut_to_max_msg_size() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.log");
        let running = start(&format!(
            "[StatsdInput]\naddress = '127.0.0.1:0'\nmax_msg_size = 10\n\
             [StatAccumInput]\nticker_interval = 1\n{}",
            file_output(&out)
        ));
        let port = bound_port(&running, "StatsdInput");
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        // Read: "a:1|c\nbbbb" (the second line is cut and rejected).
        tx.send_to(b"a:1|c\nbbbbbbbb:1|c", ("127.0.0.1", port))
            .unwrap();
        wait_for("a's count", || {
            lines(&messages(&out))
                .contains(&"stats.counters.a.count 1".to_string())
                .then_some(())
        });
        stop_within(running, 10);
        assert!(!lines(&messages(&out)).iter().any(|l| l.contains("bbbb")));
    }

    #[test]
    fn the_last_flush_at_stop_has_what_came_last() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.log");
        // A flush every hour: only the one at stop can hold the stats.
        let running = start(&format!(
            "[StatsdInput]\naddress = '127.0.0.1:0'\n\
             [StatAccumInput]\nticker_interval = 3600\n{}",
            file_output(&out)
        ));
        let port = bound_port(&running, "StatsdInput");
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        // Datagrams still queued in the socket when hekad stops are read before the last flush.
        tx.send_to(b"last:1|c", ("127.0.0.1", port)).unwrap();
        stop_within(running, 10);
        assert_eq!(
            lines(&messages(&out)),
            [
                "stats.counters.last.rate 0.000278",
                "stats.counters.last.count 1",
                "stats.statsd.numStats 1"
            ]
        );
    }

    #[test]
    fn config_errors() {
        let e = build_error("[StatsdInput]\naddress = '127.0.0.1:0'\n");
        assert!(
            e.contains("stat_accum_name")
                && e.contains("no section named 'StatAccumInput' provides a stat accumulator"),
            "{e}"
        );
        let e = build_error(
            "[StatsdInput]\naddress = '127.0.0.1:0'\nstat_accum_name = 'udp'\n\
             [udp]\ntype = 'UdpInput'\naddress = '127.0.0.1:0'\n",
        );
        assert!(
            e.contains("section 'udp' (type UdpInput) does not provide a stat accumulator"),
            "{e}"
        );
        // A StatAccumInput that fails has its own error, and no second one for the link.
        let e = build_error(
            "[StatsdInput]\naddress = '127.0.0.1:0'\n\
             [StatAccumInput]\nemit_in_payload = false\n",
        );
        assert!(e.contains("EmitInPayload"), "{e}");
        assert!(!e.contains("stat accumulator"), "{e}");
        assert!(e.ends_with("1 errors loading plugins"), "{e}");
        let e = build_error(
            "[StatsdInput]\naddress = '127.0.0.1:0'\nmax_msg_size = 0\n[StatAccumInput]\n",
        );
        assert!(e.contains("max_msg_size must be at least 1"), "{e}");
        let busy = UdpSocket::bind("127.0.0.1:0").unwrap();
        let e = build_error(&format!(
            "[StatsdInput]\naddress = '{}'\n[StatAccumInput]\n",
            busy.local_addr().unwrap()
        ));
        assert!(e.contains("address"), "{e}");
    }

    #[test]
    fn two_statsd_inputs_can_feed_one_accumulator() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.log");
        let running = start(&format!(
            "[s1]\ntype = 'StatsdInput'\naddress = '127.0.0.1:0'\n\
             [s2]\ntype = 'StatsdInput'\naddress = '127.0.0.1:0'\n\
             [StatAccumInput]\nticker_interval = 1\n{}",
            file_output(&out)
        ));
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        for name in ["s1", "s2"] {
            let port = bound_port(&running, name);
            tx.send_to(b"both:1|c", ("127.0.0.1", port)).unwrap();
        }
        wait_for("both counts", || {
            let got = lines(&messages(&out));
            let total: i64 = got
                .iter()
                .filter_map(|l| l.strip_prefix("stats.counters.both.count "))
                .map(|n| n.parse::<i64>().unwrap())
                .sum();
            (total == 2).then_some(())
        });
        stop_within(running, 10);
    }
}
