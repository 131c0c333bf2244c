//! CarbonOutput: writes the Graphite lines of a message's payload (StatAccumInput's
//! `heka.statmetric` messages) to a carbon daemon, over TCP or UDP.
//!
//! ```toml
//! [CarbonOutput]
//! message_matcher = "Type == 'heka.statmetric'"
//! address = "localhost:2003"
//! # protocol = "tcp"          # or "udp"
//! # tcp_keep_alive = false    # keep the connection open between writes
//! ```
//!
//! Options: `address` (default `localhost:2003`, resolved when the config is loaded),
//! `protocol` (`tcp`, the default, or `udp`), `tcp_keep_alive`. There is no encoder: the
//! payload is read as it is.
//!
//! The payload is trimmed of spaces, tabs and newlines and split into lines. A line must have
//! three whitespace-separated parts, `<name> <value> <timestamp>`, the timestamp an unsigned
//! 32-bit integer (Go syntax: `0x` hex and leading-`0` octal too) and the value a number;
//! others are logged (`malformed statmetric line: '<line>'`, `parsing time: …`,
//! `parsing value '<v>': …`) and skipped. Valid lines are sent as they are, each ending in a
//! newline.
//!
//! Delivery over TCP: lines are buffered and written after each batch of messages, on a
//! connection made when needed and (without `tcp_keep_alive`) closed after each write. A
//! message is acknowledged only once its lines are written; when the connection can't be made
//! or a write fails, the connection is dropped and the lines not completely written are
//! written again on a new one, with back-off, until carbon takes them or hekad has been
//! stopping for five seconds. A line cut by a failed write is sent again whole (carbon
//! discards the incomplete line of a closed connection). Meanwhile the output takes nothing
//! more, which pushes back on the router.
//!
//! Over UDP, the buffered lines are sent after each batch in datagrams of at most 63,488
//! bytes (62 KiB) cut between lines, from one socket; a datagram that can't be sent is logged
//! and dropped, as UDP would drop it anyway.
//!
//! Differences from Heka:
//! - Nothing is lost when carbon is down or restarts: Heka wrote each message once (with
//!   `tcp_keep_alive`, tried once more) and dropped its lines on any error.
//! - Lines are written per batch of messages, not one connection or datagram per message;
//!   without `tcp_keep_alive` the connection is closed after each batch.
//! - A UDP datagram never grows past 62 KiB by the line that crosses the limit (Heka cut after
//!   that line, so a datagram could exceed what UDP carries); Heka dialled a new socket for
//!   each send and never closed it. A payload without a valid line sends nothing (Heka sent an
//!   empty datagram or write).
//! - Connection attempts time out after 5 s.

use std::io::{self, Write};
use std::net::TcpStream;
use std::time::Duration;

use heka_message::MessageView;
use heka_pipeline::config::ConfigError;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{Output, OutputContext, ProcessError};
use heka_pipeline::registry::{BuildContext, FramingDefault, OutputSpec, Ticker};
use serde::Deserialize;

use crate::support::gonum::{go_fields, parse_go_float, parse_go_uint32};
use crate::support::net::{
    DatagramNet, DatagramSocket, Family, PendingWrites, check_address, connect_tcp,
    write_all_pending,
};

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a write may block before the output looks whether hekad is stopping.
const WRITE_STALL: Duration = Duration::from_secs(1);
/// Buffered bytes above which `process_message` writes before taking more.
const HIGH_WATER: usize = 256 * 1024;
/// Largest UDP datagram sent (Heka's 62 KiB).
const UDP_SPLIT: usize = 63488;

/// CarbonOutput options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct CarbonOutputConfig {
    /// Carbon's plaintext `host:port`.
    address: String,
    /// `tcp` (or empty) or `udp`.
    protocol: String,
    /// Keep the TCP connection open between writes.
    tcp_keep_alive: bool,
}

impl Default for CarbonOutputConfig {
    fn default() -> Self {
        CarbonOutputConfig {
            address: "localhost:2003".into(),
            protocol: "tcp".into(),
            tcp_keep_alive: false,
        }
    }
}

/// Where lines go.
enum Transport {
    Tcp {
        keep_alive: bool,
        conn: Option<TcpStream>,
    },
    Udp(DatagramSocket),
    /// Built by `hekad -test`: never run.
    Unchecked,
}

/// A CarbonOutput instance.
struct CarbonOutput {
    address: String,
    transport: Transport,
    /// Valid lines, each ending in a newline, not yet written.
    pending: Vec<u8>,
    /// End offsets of the lines in `pending`.
    ends: Vec<usize>,
    /// Whether the last write attempt failed (to log a failure streak once).
    failing: bool,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Output>, ConfigError> {
    let c: CarbonOutputConfig = ctx.options.parse()?;
    let udp = match c.protocol.as_str() {
        "" | "tcp" => false,
        "udp" => true,
        p => {
            return Err(ctx.error(
                Some("protocol"),
                format!(
                    r#"CarbonOutput: "{p}" is not a supported protocol, must be "tcp" or "udp""#
                ),
            ));
        }
    };
    check_address(Some(Family::Any), &c.address).map_err(|e| ctx.error(Some("address"), e))?;
    let transport = if ctx.check_only {
        Transport::Unchecked
    } else if udp {
        let s = DatagramSocket::connect(DatagramNet::Udp(Family::Any), &c.address, None)
            .map_err(|e| ctx.error(Some("address"), e))?;
        Transport::Udp(s)
    } else {
        Transport::Tcp {
            keep_alive: c.tcp_keep_alive,
            conn: None,
        }
    };
    Ok(Box::new(CarbonOutput {
        address: c.address,
        transport,
        pending: Vec::new(),
        ends: Vec::new(),
        failing: false,
    }))
}

/// Checks one line as Heka did; the error text when it is not a valid carbon line.
fn check_line(line: &[u8]) -> Result<(), String> {
    let parts = go_fields(line);
    let [_, value, timestamp] = parts[..] else {
        // Heka compat: plugins/graphite/carbon.go's error texts.
        return Err(format!(
            "malformed statmetric line: '{}'",
            String::from_utf8_lossy(line)
        ));
    };
    if let Err(e) = parse_go_uint32(timestamp) {
        return Err(format!(
            "parsing time: {}",
            e.go_text("ParseUint", timestamp)
        ));
    }
    if let Err(e) = parse_go_float(value, false) {
        return Err(format!(
            "parsing value '{}': {}",
            String::from_utf8_lossy(value),
            e.go_text("ParseFloat", value)
        ));
    }
    Ok(())
}

/// Trims Heka's `" \t\n"` from both ends.
fn trim(b: &[u8]) -> &[u8] {
    let is_space = |c: &u8| matches!(c, b' ' | b'\t' | b'\n');
    let start = b.iter().position(|c| !is_space(c)).unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !is_space(c))
        .map_or(start, |e| e + 1);
    &b[start..end]
}

fn stalled(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Whether the peer has closed (or reset) the connection, checked without blocking.
fn peer_closed(s: &TcpStream) -> bool {
    if s.set_nonblocking(true).is_err() {
        return true;
    }
    let closed = match s.peek(&mut [0u8; 1]) {
        Ok(0) => true,
        // Carbon sends nothing; whatever it is, it is not ours to read.
        Ok(_) => false,
        Err(e) => e.kind() != io::ErrorKind::WouldBlock,
    };
    closed || s.set_nonblocking(false).is_err()
}

impl CarbonOutput {
    /// Drops the lines a write handed over completely (`written` bytes from the start).
    fn consume(&mut self, written: usize) {
        let whole = self.ends.partition_point(|&end| end <= written);
        let cut = if whole == 0 { 0 } else { self.ends[whole - 1] };
        self.pending.drain(..cut);
        self.ends.drain(..whole);
        for end in &mut self.ends {
            *end -= cut;
        }
    }

    /// Writes the pending lines over TCP once; on failure the connection is dropped and the
    /// lines not completely written stay pending.
    fn write_tcp(&mut self, stopping: &dyn Fn() -> bool) -> Result<(), String> {
        let Transport::Tcp { keep_alive, conn } = &mut self.transport else {
            return Ok(());
        };
        if conn.as_ref().is_some_and(peer_closed) {
            *conn = None;
        }
        if conn.is_none() {
            let s = connect_tcp(&self.address, None, CONNECT_TIMEOUT)
                .map_err(|e| format!("Dial failed: {e}"))?;
            s.set_write_timeout(Some(WRITE_STALL))
                .map_err(|e| e.to_string())?;
            *conn = Some(s);
        }
        let Some(s) = conn.as_mut() else {
            return Err("no connection".into());
        };
        let mut written = 0;
        let mut res = Ok(());
        while written < self.pending.len() {
            match s.write(&self.pending[written..]) {
                Ok(0) => {
                    res = Err("Write to server failed: wrote nothing".to_string());
                    break;
                }
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if stalled(&e) && !stopping() => {}
                Err(e) => {
                    res = Err(format!("Write to server failed: {e}"));
                    break;
                }
            }
        }
        if res.is_err() || !*keep_alive {
            *conn = None;
        }
        self.consume(written);
        res
    }

    /// Sends the pending lines over UDP in datagrams cut between lines.
    fn send_udp(&mut self, name: &str) {
        let Transport::Udp(socket) = &self.transport else {
            return;
        };
        let mut start = 0;
        let mut i = 0;
        while i < self.ends.len() {
            // As many whole lines as fit; at least one.
            let mut end = self.ends[i];
            i += 1;
            while i < self.ends.len() && self.ends[i] - start <= UDP_SPLIT {
                end = self.ends[i];
                i += 1;
            }
            let datagram = &self.pending[start..end];
            // A refused send (an ICMP error from an earlier datagram) is tried once more.
            if let Err(e) = socket.send(datagram).or_else(|_| socket.send(datagram)) {
                tracing::error!(output = %name, "Write to server failed: {e}");
            }
            start = end;
        }
        self.pending.clear();
        self.ends.clear();
    }

    /// Writes everything pending, retrying TCP with back-off; gives up only after hekad has
    /// been stopping for `SHUTDOWN_RETRY_GRACE`.
    fn write_all(&mut self, ctx: &OutputContext<'_>) -> Result<(), ProcessError> {
        if self.pending.is_empty() {
            if let Transport::Tcp { keep_alive, conn } = &mut self.transport
                && !*keep_alive
            {
                *conn = None;
            }
            return Ok(());
        }
        if matches!(self.transport, Transport::Udp(_)) {
            self.send_udp(ctx.name());
            return Ok(());
        }
        write_all_pending(self, ctx, "lines")
    }
}

impl PendingWrites for CarbonOutput {
    fn address(&self) -> &str {
        &self.address
    }

    fn try_write(&mut self, stopping: &dyn Fn() -> bool) -> Result<(), String> {
        self.write_tcp(stopping)
    }

    fn failing(&mut self) -> &mut bool {
        &mut self.failing
    }

    fn drop_pending(&mut self) -> usize {
        let n = self.ends.len();
        self.pending.clear();
        self.ends.clear();
        n
    }
}

impl Output for CarbonOutput {
    fn process_message(
        &mut self,
        pack: &Pack,
        ctx: &mut OutputContext<'_>,
    ) -> Result<(), ProcessError> {
        if matches!(self.transport, Transport::Unchecked) {
            return Err(ProcessError::Fatal(
                "built by hekad -test: not runnable".into(),
            ));
        }
        if self.pending.len() >= HIGH_WATER {
            self.write_all(ctx)?;
        }
        let view = pack.view();
        let payload = trim(view.payload_bytes());
        if payload.is_empty() {
            // Heka compat: an empty payload is one empty line, which is malformed.
            tracing::error!(output = %ctx.name(), "malformed statmetric line: ''");
            return Ok(());
        }
        for line in payload.split(|&c| c == b'\n') {
            match check_line(line) {
                Ok(()) => {
                    self.pending.extend_from_slice(line);
                    self.pending.push(b'\n');
                    self.ends.push(self.pending.len());
                }
                Err(e) => tracing::error!(output = %ctx.name(), "{e}"),
            }
        }
        Ok(())
    }

    fn flush(&mut self, ctx: &mut OutputContext<'_>) -> Result<bool, ProcessError> {
        self.write_all(ctx)?;
        Ok(true)
    }

    fn shutdown(&mut self, ctx: &mut OutputContext<'_>) -> Result<(), ProcessError> {
        let r = self.write_all(ctx);
        if let Transport::Tcp { conn, .. } = &mut self.transport {
            *conn = None;
        }
        r
    }
}

pub(super) const SPEC: OutputSpec = OutputSpec {
    type_name: "CarbonOutput",
    summary: "Writes the Graphite lines of message payloads to carbon over TCP or UDP.",
    default_matcher: None,
    default_encoder: None,
    encoder_required: false,
    legacy_encoder: None,
    framing: FramingDefault::Never,
    ticker: Ticker::Optional,
    can_exit: false,
    buffering: None,
    build,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_checked_as_heka_checks_them() {
        assert_eq!(check_line(b"stats.foo 1.5 1400000000"), Ok(()));
        assert_eq!(check_line(b"a  2\t0x10\r"), Ok(()));
        assert_eq!(
            check_line(b"a 1"),
            Err("malformed statmetric line: 'a 1'".into())
        );
        assert_eq!(
            check_line(b"a 1 2 3"),
            Err("malformed statmetric line: 'a 1 2 3'".into())
        );
        assert_eq!(
            check_line(b"a 1 -5"),
            Err("parsing time: strconv.ParseUint: parsing \"-5\": invalid syntax".into())
        );
        assert_eq!(
            check_line(b"a 1 4294967296"),
            Err(
                "parsing time: strconv.ParseUint: parsing \"4294967296\": value out of range"
                    .into()
            )
        );
        // The timestamp is checked first.
        assert_eq!(
            check_line(b"a x y"),
            Err("parsing time: strconv.ParseUint: parsing \"y\": invalid syntax".into())
        );
        assert_eq!(
            check_line(b"a x 1"),
            Err("parsing value 'x': strconv.ParseFloat: parsing \"x\": invalid syntax".into())
        );
    }

    #[test]
    fn partial_writes_keep_whole_lines() {
        let mut o = CarbonOutput {
            address: String::new(),
            transport: Transport::Unchecked,
            pending: b"a 1 1\nbb 2 2\nc 3 3\n".to_vec(),
            ends: vec![6, 13, 19],
            failing: false,
        };
        o.consume(8);
        assert_eq!(o.pending, b"bb 2 2\nc 3 3\n");
        assert_eq!(o.ends, [7, 13]);
        o.consume(13);
        assert!(o.pending.is_empty() && o.ends.is_empty());
    }

    use std::io::Read;
    use std::net::{TcpListener, UdpSocket};

    use crate::support::net::testing::{
        bound_not_listening, bound_port, build_error, start, stop_within, wait_for,
    };

    /// A pipeline UdpInput → CarbonOutput with `output` as the output's extra options; returns
    /// it with a function that sends one payload.
    fn rig(address: &str, output: &str) -> (heka_pipeline::runner::build::Running, impl Fn(&str)) {
        let running = start(&format!(
            "[UdpInput]\naddress = '127.0.0.1:0'\n\
             [CarbonOutput]\nmessage_matcher = 'TRUE'\naddress = '{address}'\n{output}"
        ));
        let port = bound_port(&running, "UdpInput");
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let send = move |p: &str| {
            tx.send_to(p.as_bytes(), ("127.0.0.1", port)).unwrap();
        };
        (running, send)
    }

    fn accept(l: &TcpListener) -> TcpStream {
        l.set_nonblocking(true).unwrap();
        let s = wait_for("a connection", || l.accept().ok().map(|(s, _)| s));
        s.set_nonblocking(false).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s
    }

    /// Reads until `want` bytes have come.
    fn read_exactly(s: &mut TcpStream, want: &str) {
        let mut buf = vec![0u8; want.len()];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(String::from_utf8_lossy(&buf), want);
    }

    #[test]
    fn tcp_lines_wait_for_carbon_and_connections_close_after_each_write() {
        let (sock, addr) = bound_not_listening();
        let (running, send) = rig(&addr, "");
        // Carbon is not listening yet: the lines wait.
        send("  a.b 1 1400000000\nnot a line\nc.d 2.5 1400000001\n\n");
        std::thread::sleep(Duration::from_millis(300));
        sock.listen(16).unwrap();
        let l: TcpListener = sock.into();
        let mut c1 = accept(&l);
        read_exactly(&mut c1, "a.b 1 1400000000\nc.d 2.5 1400000001\n");
        // Without tcp_keep_alive the connection ends after the write.
        let mut rest = Vec::new();
        c1.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
        send("e.f 3 1400000002");
        let mut c2 = accept(&l);
        read_exactly(&mut c2, "e.f 3 1400000002\n");
        stop_within(running, 10);
    }

    #[test]
    fn tcp_keep_alive_reuses_the_connection_and_reconnects_after_a_close() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let (running, send) = rig(&addr, "tcp_keep_alive = true\n");
        send("a 1 1");
        let mut c1 = accept(&l);
        read_exactly(&mut c1, "a 1 1\n");
        send("b 2 2");
        read_exactly(&mut c1, "b 2 2\n");
        // Carbon closes the connection: the next lines go over a new one.
        drop(c1);
        std::thread::sleep(Duration::from_millis(100));
        send("c 3 3");
        let mut c2 = accept(&l);
        read_exactly(&mut c2, "c 3 3\n");
        stop_within(running, 10);
    }

    #[test]
    fn udp_datagrams_hold_whole_lines_within_62_kib() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let addr = rx.local_addr().unwrap().to_string();
        let socket = DatagramSocket::connect(DatagramNet::Udp(Family::Any), &addr, None).unwrap();
        let mut o = CarbonOutput {
            address: addr,
            transport: Transport::Udp(socket),
            pending: Vec::new(),
            ends: Vec::new(),
            failing: false,
        };
        let mut want = Vec::new();
        for i in 0..3000 {
            let line = format!("metric.number.{i:05} {i} 1400000000\n");
            want.extend_from_slice(line.as_bytes());
            o.pending.extend_from_slice(line.as_bytes());
            o.ends.push(o.pending.len());
        }
        o.send_udp("carbon");
        assert!(o.pending.is_empty() && o.ends.is_empty());
        let mut got = Vec::new();
        let mut buf = vec![0u8; 65536];
        let mut datagrams = 0;
        while got.len() < want.len() {
            let n = rx.recv(&mut buf).unwrap();
            assert!(n <= UDP_SPLIT, "{n}");
            assert!(buf[..n].ends_with(b"\n"));
            got.extend_from_slice(&buf[..n]);
            datagrams += 1;
        }
        assert_eq!(got, want);
        assert_eq!(datagrams, 2);
    }

    #[test]
    fn udp_delivery_through_the_pipeline() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let addr = rx.local_addr().unwrap().to_string();
        let (running, send) = rig(&addr, "protocol = 'udp'\n");
        send("x 1 1\nbad\ny 2 2");
        let mut buf = vec![0u8; 65536];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"x 1 1\ny 2 2\n");
        stop_within(running, 10);
    }

    #[test]
    fn config_errors() {
        let e = build_error("[CarbonOutput]\nmessage_matcher = 'TRUE'\nprotocol = 'sctp'\n");
        assert!(
            e.contains(
                r#"CarbonOutput: "sctp" is not a supported protocol, must be "tcp" or "udp""#
            ),
            "{e}"
        );
        let e = build_error("[CarbonOutput]\nmessage_matcher = 'TRUE'\naddress = 'nowhere'\n");
        assert!(e.contains("address"), "{e}");
    }
}
