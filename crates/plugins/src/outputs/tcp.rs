//! TcpOutput: streams encoded (by default Heka-framed protobuf) messages to a TCP or TLS peer,
//! usually another hekad's TcpInput.
//!
//! ```toml
//! [TcpOutput]
//! message_matcher = "Type != 'heka.all-report'"
//! address = "aggregator.example.com:5565"
//! # local_address = "10.0.0.5:0"
//! # keep_alive = false
//! # keep_alive_period = 0   # seconds; 0 = the OS default
//! # reconnect_after = 0     # reconnect after every N messages; 0 = never
//! # use_tls = false
//!
//! # [TcpOutput.tls]
//! # root_cafile = "/etc/hekad/ca.pem"
//! # cert_file = "/etc/hekad/client.pem"   # client certificate, when the server asks for one
//! # key_file = "/etc/hekad/client.key"
//!
//! # [TcpOutput.signer]                    # sign every message (not in Heka)
//! # name = "forwarder"
//! # hmac_key = "secret"
//! # hmac_hash = "md5"                     # or "sha1"
//! # version = 1
//! ```
//!
//! Options: `address` (default `localhost:9125`), `local_address`, `use_tls` with the
//! `[<name>.tls]` sub-table (client side: `root_cafile` or the system CAs, `server_name`
//! (default: the host of `address`), `insecure_skip_verify`, and `cert_file`/`key_file` for
//! a client certificate), `keep_alive`, `keep_alive_period` (seconds), `reconnect_after`
//! (messages). The encoder defaults to `ProtobufEncoder`, framed. As in Heka, `use_buffering`
//! defaults to true, with a `[<name>.buffering]` of 128 MiB segments, no `max_buffer_size`,
//! `full_action = "shutdown"` and `cursor_update_count = 50` (a `buffering` table replaces
//! these defaults wholesale): set `use_buffering = false` for no disk queue.
//!
//! Delivery: the connection is made lazily; while it can't be made, each message is retried
//! (the runner backs off up to a second), so nothing taken is lost. Encoded records are
//! buffered and written after each batch; a failed write reconnects and resends from the first
//! record not completely handed to the kernel (with TLS, from the start of the failed write),
//! retrying until it succeeds or hekad has been shutting down for five seconds. Before each
//! write the connection is checked for a close by the peer, so a peer that went away is noticed
//! before data is written into a dead socket. A peer that stops reading is waited for, which
//! pushes back on the router and the inputs; once hekad is stopping, a write blocked for a
//! second fails like any other, so such a peer can't hold up the shutdown. Once the grace is
//! over, no new connection is tried: the messages left are given up at once instead of taking
//! a connect timeout each.
//!
//! Differences from Heka:
//! - `[<name>.signer]` (Heka's message signing config: `name`, `hmac_key`, `hmac_hash` md5 or
//!   sha1, `version`): when present, TcpOutput frames every record itself with a signed
//!   header, whatever `use_framing` says, so that hekad can forward signed messages to another
//!   hekad whose HekaFramingSplitter checks signers. Heka's TcpOutput never signed.
//! - TLS settings are checked when the config is loaded (Heka: at every connection attempt,
//!   retrying a broken TLS config forever), and `local_address` works with `use_tls`
//!   (Heka refused the combination). `keep_alive` applies under TLS too.
//! - Connection attempts time out after 5 s (Heka had no timeout).
//! - Records are written per batch rather than one write per message.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use heka_message::signing::{HmacHash, SigningConfig};
use heka_pipeline::config::{BufferingConfig, ConfigError, FullAction};
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{Output, OutputContext, ProcessError, SHUTDOWN_RETRY_GRACE};
use heka_pipeline::registry::{BuildContext, FramingDefault, OutputSpec, Ticker};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use serde::Deserialize;

use crate::support::net::{
    Family, PendingWrites, connect_tcp, resolve, set_keepalive, write_all_pending,
};
use crate::support::tls::TlsConfig;

/// How long a connection attempt (and a TLS handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Buffered bytes above which `process_message` writes before taking more.
const HIGH_WATER: usize = 256 * 1024;
/// How long a write may block before the output looks whether hekad is stopping: a peer that
/// takes nothing must not hold up the shutdown forever.
const WRITE_STALL: Duration = Duration::from_secs(1);

/// Whether a write failed only because it blocked for [`WRITE_STALL`].
fn stalled(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// The `[<name>.signer]` sub-table (Heka's `MessageSigningConfig`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignerConfig {
    /// Signer name written into each header.
    name: String,
    /// `md5` (default) or `sha1`.
    #[serde(default = "default_hash")]
    hmac_hash: String,
    /// The key.
    hmac_key: String,
    /// Key version.
    #[serde(default)]
    version: u32,
}

fn default_hash() -> String {
    "md5".into()
}

/// TcpOutput options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct TcpOutputConfig {
    /// `host:port` to connect to.
    address: String,
    /// Local `ip:port` to connect from.
    local_address: String,
    /// Use TLS.
    use_tls: bool,
    /// The TLS sub-table.
    tls: TlsConfig,
    /// Turn TCP keep-alive on.
    keep_alive: bool,
    /// Keep-alive idle time and probe interval in seconds (0: the OS default).
    keep_alive_period: u64,
    /// Reconnect after this many messages (0: never).
    reconnect_after: u64,
    /// Sign every message.
    signer: Option<SignerConfig>,
}

impl Default for TcpOutputConfig {
    fn default() -> Self {
        TcpOutputConfig {
            address: "localhost:9125".into(),
            local_address: String::new(),
            use_tls: false,
            tls: TlsConfig::default(),
            keep_alive: false,
            keep_alive_period: 0,
            reconnect_after: 0,
            signer: None,
        }
    }
}

/// An open connection.
enum Conn {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Conn {
    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(t) => &t.sock,
        }
    }

    fn is_tls(&self) -> bool {
        matches!(self, Conn::Tls(_))
    }

    /// Whether the peer has closed (or reset) the connection, checked without blocking.
    fn peer_closed(&mut self) -> bool {
        if self.tcp().set_nonblocking(true).is_err() {
            return true;
        }
        let closed = match self {
            Conn::Plain(s) => match s.peek(&mut [0u8; 1]) {
                Ok(0) => true,
                Ok(_) => false,
                Err(e) => e.kind() != io::ErrorKind::WouldBlock,
            },
            Conn::Tls(t) => tls_peer_closed(t),
        };
        closed || self.tcp().set_nonblocking(false).is_err()
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(t) => t.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(t) => t.flush(),
        }
    }

    /// Closes politely (TLS close_notify), without waiting for anything.
    fn close(self) {
        if let Conn::Tls(mut t) = self {
            let _ = t.sock.set_nonblocking(true);
            t.conn.send_close_notify();
            let _ = t.conn.write_tls(&mut t.sock);
        }
    }
}

/// Reads whatever TLS records have arrived (session tickets, alerts) on a non-blocking socket;
/// true when the peer closed, sent a close_notify or broke the protocol.
fn tls_peer_closed(t: &mut StreamOwned<ClientConnection, TcpStream>) -> bool {
    loop {
        match t.conn.read_tls(&mut t.sock) {
            Ok(0) => return true,
            Ok(_) => match t.conn.process_new_packets() {
                Ok(state) if state.peer_has_closed() => return true,
                Ok(state) => {
                    // The peer has no business sending data; discard it.
                    let mut sink = vec![0u8; state.plaintext_bytes_to_read()];
                    let _ = t.conn.reader().read(&mut sink);
                }
                Err(_) => return true,
            },
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
}

/// A TcpOutput instance.
struct TcpOutput {
    address: String,
    local: Option<SocketAddr>,
    tls: Option<(Arc<ClientConfig>, ServerName<'static>)>,
    keep_alive: Option<Option<Duration>>,
    reconnect_after: u64,
    signer: Option<SigningConfig>,
    max_message_size: u32,
    conn: Option<Conn>,
    /// Encoded records not yet written.
    pending: Vec<u8>,
    /// End offsets of the records in `pending`.
    ends: Vec<usize>,
    scratch: Vec<u8>,
    /// Messages taken (encoder skips included, as Heka counts them).
    processed: u64,
    /// Whether the last write attempt failed (to log a failure streak once).
    failing: bool,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Output>, ConfigError> {
    let c: TcpOutputConfig = ctx.options.parse()?;
    let local = match c.local_address.as_str() {
        "" => None,
        l => Some(resolve(l, Family::Any).map_err(|e| ctx.error(Some("local_address"), e))?),
    };
    let tls = if c.use_tls {
        let config = c
            .tls
            .client_config()
            .map_err(|e| ctx.error(Some("tls"), e))?;
        let name = c
            .tls
            .server_name_for(&c.address)
            .map_err(|e| ctx.error(Some("tls"), e))?;
        Some((config, name))
    } else {
        None
    };
    let signer = c.signer.map(|s| SigningConfig {
        name: s.name,
        hash: HmacHash::from_name(&s.hmac_hash),
        key: s.hmac_key.into_bytes(),
        version: s.version,
    });
    Ok(Box::new(TcpOutput {
        address: c.address,
        local,
        tls,
        keep_alive: c
            .keep_alive
            .then(|| (c.keep_alive_period > 0).then(|| Duration::from_secs(c.keep_alive_period))),
        reconnect_after: c.reconnect_after,
        signer,
        max_message_size: ctx.globals.max_message_size,
        conn: None,
        pending: Vec::new(),
        ends: Vec::new(),
        scratch: Vec::new(),
        processed: 0,
        failing: false,
    }))
}

impl TcpOutput {
    fn connect(&mut self) -> Result<(), String> {
        let tcp =
            connect_tcp(&self.address, self.local, CONNECT_TIMEOUT).map_err(|e| e.to_string())?;
        tcp.set_write_timeout(Some(WRITE_STALL))
            .map_err(|e| e.to_string())?;
        if let Some(period) = self.keep_alive
            && let Err(e) = set_keepalive(&tcp, period)
        {
            tracing::warn!(address = %self.address, "can't set keep-alive: {e}");
        }
        let conn = match &self.tls {
            None => Conn::Plain(tcp),
            Some((config, name)) => {
                let cc = ClientConnection::new(config.clone(), name.clone())
                    .map_err(|e| e.to_string())?;
                let mut t = StreamOwned::new(cc, tcp);
                // Handshake now, so that TLS failures are connection failures.
                let _ = t.sock.set_read_timeout(Some(CONNECT_TIMEOUT));
                let _ = t.sock.set_write_timeout(Some(CONNECT_TIMEOUT));
                while t.conn.is_handshaking() {
                    t.conn
                        .complete_io(&mut t.sock)
                        .map_err(|e| format!("TLS handshake: {e}"))?;
                }
                let _ = t.sock.set_read_timeout(None);
                t.sock
                    .set_write_timeout(Some(WRITE_STALL))
                    .map_err(|e| e.to_string())?;
                Conn::Tls(Box::new(t))
            }
        };
        self.conn = Some(conn);
        Ok(())
    }

    /// Connects when there is no live connection.
    fn ensure_connected(&mut self) -> Result<(), String> {
        if let Some(c) = self.conn.as_mut()
            && c.peer_closed()
        {
            tracing::debug!(address = %self.address, "peer closed the connection");
            if let Some(c) = self.conn.take() {
                c.close();
            }
        }
        if self.conn.is_none() {
            self.connect().map_err(|e| format!("can't connect: {e}"))?;
        }
        Ok(())
    }

    /// Writes every pending record. On failure the connection is dropped and the records not
    /// known to be handed over stay pending. A peer that reads slowly (or not at all) is waited
    /// for, which pushes back on the router, until `stopping` says hekad is shutting down.
    fn write_pending(&mut self, stopping: &dyn Fn() -> bool) -> Result<(), String> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.ensure_connected()?;
        let Some(conn) = self.conn.as_mut() else {
            return Err("can't connect".into());
        };
        let mut written = 0;
        let mut res = Ok(());
        while written < self.pending.len() {
            match conn.write(&self.pending[written..]) {
                Ok(0) => {
                    res = Err(format!("truncated output to: {}", self.address));
                    break;
                }
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if stalled(&e) && !stopping() => {}
                Err(e) => {
                    res = Err(format!("writing to {}: {e}", self.address));
                    break;
                }
            }
        }
        while res.is_ok() {
            match conn.flush() {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if stalled(&e) && !stopping() => {}
                Err(e) => res = Err(format!("writing to {}: {e}", self.address)),
            }
        }
        match res {
            Ok(()) => {
                self.pending.clear();
                self.ends.clear();
                Ok(())
            }
            Err(e) => {
                // Plain TCP: records the kernel took completely count as sent (Heka's rule
                // for a successful write). TLS: bytes rustls took may not have left it, so
                // everything is resent.
                let sent = if conn.is_tls() { 0 } else { written };
                let whole = self.ends.partition_point(|&end| end <= sent);
                let cut = if whole == 0 { 0 } else { self.ends[whole - 1] };
                self.pending.drain(..cut);
                self.ends.drain(..whole);
                for end in &mut self.ends {
                    *end -= cut;
                }
                if let Some(c) = self.conn.take() {
                    c.close();
                }
                Err(e)
            }
        }
    }

    /// Appends the encoding of `pack` to `pending`; false when the encoder skipped it.
    fn encode(&mut self, pack: &Pack, ctx: &mut OutputContext<'_>) -> Result<bool, String> {
        let before = self.pending.len();
        let r = match &self.signer {
            None => ctx
                .encode(pack, &mut self.pending)
                .map_err(|e| e.to_string()),
            Some(signer) => {
                self.scratch.clear();
                match ctx.encode_unframed(pack, &mut self.scratch) {
                    Ok(false) => Ok(false),
                    Ok(true) => heka_message::framing::encode_frame(
                        &self.scratch,
                        Some(signer),
                        self.max_message_size,
                        &mut self.pending,
                    )
                    .map(|()| true)
                    .map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                }
            }
        };
        if r.is_err() {
            self.pending.truncate(before);
        }
        r
    }
}

impl PendingWrites for TcpOutput {
    fn address(&self) -> &str {
        &self.address
    }

    fn try_write(&mut self, stopping: &dyn Fn() -> bool) -> Result<(), String> {
        self.write_pending(stopping)
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

impl Output for TcpOutput {
    fn process_message(
        &mut self,
        pack: &Pack,
        ctx: &mut OutputContext<'_>,
    ) -> Result<(), ProcessError> {
        // Heka compat: plugins/tcp/tcp_output.go connects before encoding, so a message waits
        // (is retried) while the destination is unreachable.
        if self.conn.is_none() {
            if ctx.shutdown_grace_over() {
                // Each attempt may take the connect timeout: the messages left must not take
                // one each.
                return Err(ProcessError::Retry(format!(
                    "can't connect: hekad has been stopping for over {}s",
                    SHUTDOWN_RETRY_GRACE.as_secs()
                )));
            }
            self.ensure_connected().map_err(ProcessError::Retry)?;
        }
        if self.pending.len() >= HIGH_WATER {
            self.write_pending(&|| ctx.stopping())
                .map_err(ProcessError::Retry)?;
        }
        match self.encode(pack, ctx) {
            Ok(true) => self.ends.push(self.pending.len()),
            Ok(false) => {}
            Err(e) => return Err(ProcessError::Drop(format!("can't encode: {e}"))),
        }
        self.processed += 1;
        if self.processed.checked_rem(self.reconnect_after) == Some(0) {
            // What can't be written now is written on the next connection.
            if let Err(e) = self.write_pending(&|| ctx.stopping()) {
                tracing::debug!(output = %ctx.name(), "{e}");
            }
            if let Some(c) = self.conn.take() {
                c.close();
            }
        }
        Ok(())
    }

    fn flush(&mut self, ctx: &mut OutputContext<'_>) -> Result<bool, ProcessError> {
        write_all_pending(self, ctx, "messages")?;
        Ok(true)
    }

    fn shutdown(&mut self, ctx: &mut OutputContext<'_>) -> Result<(), ProcessError> {
        let r = write_all_pending(self, ctx, "messages");
        if let Some(c) = self.conn.take() {
            c.close();
        }
        r
    }
}

pub(super) const SPEC: OutputSpec = OutputSpec {
    type_name: "TcpOutput",
    summary: "Streams encoded messages (framed protobuf by default) over TCP or TLS.",
    default_matcher: None,
    default_encoder: Some("ProtobufEncoder"),
    encoder_required: true,
    legacy_encoder: None,
    framing: FramingDefault::WhenProtobuf,
    ticker: Ticker::Optional,
    can_exit: false,
    buffering: Some(BufferingConfig {
        max_file_size: 128 * 1024 * 1024,
        max_buffer_size: None,
        full_action: FullAction::Shutdown,
        cursor_update_count: 50,
    }),
    build,
};

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::{TcpListener, UdpSocket};
    use std::time::Duration;

    use heka_message::framing::Header;
    use heka_message::signing::{SignerKeys, Verification};

    use crate::support::net::testing::{bound_port, build_error, start, unframe_all, wait_for};
    use crate::support::tls::{TlsConfig, testcerts};

    /// Reads framed messages from `r` until `n` have arrived (fails after 5 s).
    fn read_frames(r: &mut impl Read, n: usize) -> Vec<(Header, heka_message::Message)> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let got = unframe_all(&buf);
            if got.len() >= n {
                return got;
            }
            let k = r.read(&mut chunk).expect("read timed out");
            assert!(
                k > 0,
                "connection closed after {} of {n} messages",
                got.len()
            );
            buf.extend_from_slice(&chunk[..k]);
        }
    }

    fn payload(m: &heka_message::Message) -> String {
        String::from_utf8_lossy(m.payload_bytes()).into_owned()
    }

    /// Accepts one connection, failing after 5 s.
    fn accept(l: &TcpListener) -> std::net::TcpStream {
        l.set_nonblocking(true).unwrap();
        let s = wait_for("a connection", || l.accept().ok().map(|(s, _)| s));
        s.set_nonblocking(false).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s
    }

    struct Rig {
        running: Option<heka_pipeline::runner::build::Running>,
        tx: UdpSocket,
        udp_port: u16,
    }

    impl Rig {
        /// A pipeline UdpInput → TcpOutput with `output` as the output's extra options.
        fn new(address: &str, output: &str) -> Rig {
            let running = start(&format!(
                "[UdpInput]\naddress = '127.0.0.1:0'\n\
                 [TcpOutput]\nmessage_matcher = 'TRUE'\naddress = '{address}'\nuse_buffering = false\n{output}"
            ));
            let udp_port = bound_port(&running, "UdpInput");
            Rig {
                running: Some(running),
                tx: UdpSocket::bind("127.0.0.1:0").unwrap(),
                udp_port,
            }
        }

        fn send(&self, payload: &str) {
            self.tx
                .send_to(payload.as_bytes(), ("127.0.0.1", self.udp_port))
                .unwrap();
        }
    }

    impl Drop for Rig {
        fn drop(&mut self) {
            if let Some(r) = self.running.take() {
                r.stop();
            }
        }
    }

    #[test]
    fn delivers_waits_for_a_late_listener_and_reconnects_after_a_close() {
        // A bound socket that does not listen yet: connections are refused, and the port is
        // ours until it starts listening.
        let (sock, addr) = crate::support::net::testing::bound_not_listening();
        let rig = Rig::new(&addr, "");
        // Nobody listens yet: the message is retried until someone does.
        rig.send("early");
        sock.listen(16).unwrap();
        let l: TcpListener = sock.into();
        let mut c1 = accept(&l);
        let got = read_frames(&mut c1, 1);
        assert_eq!(payload(&got[0].1), "early");
        assert_eq!(got[0].1.type_bytes(), b"UdpInput");
        assert!(got[0].0.hmac.is_none());
        rig.send("second");
        assert_eq!(payload(&read_frames(&mut c1, 1)[0].1), "second");
        // The receiver goes away; the next message goes over a new connection.
        drop(c1);
        rig.send("after close");
        let mut c2 = accept(&l);
        let got = read_frames(&mut c2, 1);
        assert_eq!(got.len(), 1);
        assert_eq!(payload(&got[0].1), "after close");
    }

    #[test]
    fn reconnect_after_counts_messages() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let rig = Rig::new(&addr, "reconnect_after = 2\n");
        for p in ["1", "2", "3", "4"] {
            rig.send(p);
        }
        let mut c1 = accept(&l);
        let first = read_frames(&mut c1, 2);
        // The output closes the connection after the second message.
        let mut rest = Vec::new();
        c1.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
        let mut c2 = accept(&l);
        let second = read_frames(&mut c2, 2);
        let all: Vec<_> = first
            .iter()
            .chain(&second)
            .map(|(_, m)| payload(m))
            .collect();
        assert_eq!(all, ["1", "2", "3", "4"]);
    }

    #[test]
    fn tls_delivery_with_a_signer() {
        let certs = testcerts::generate();
        let s = testcerts::Certs::s;
        let server = TlsConfig {
            cert_file: s(&certs.server_cert),
            key_file: s(&certs.server_key),
            ..TlsConfig::default()
        }
        .server_config()
        .unwrap();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let rig = Rig::new(
            &addr,
            &format!(
                "use_tls = true\n[TcpOutput.tls]\nroot_cafile = '{}'\n\
                 [TcpOutput.signer]\nname = 'fwd'\nhmac_key = 'k3y'\nhmac_hash = 'sha1'\nversion = 2\n",
                s(&certs.ca)
            ),
        );
        rig.send("private");
        let sock = accept(&l);
        let conn = rustls::ServerConnection::new(server).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, sock);
        let got = read_frames(&mut tls, 1);
        let (header, m) = &got[0];
        assert_eq!(payload(m), "private");
        assert_eq!(header.hmac_signer.as_deref(), Some(&b"fwd"[..]));
        let mut keys = SignerKeys::default();
        keys.insert("fwd_2", b"k3y".to_vec());
        assert_eq!(
            keys.verify(header, &m.to_bytes()),
            Verification::Signed(bytes::Bytes::from_static(b"fwd"))
        );
    }

    #[test]
    fn tls_options_are_checked_at_load_time() {
        let e = build_error(
            "[TcpOutput]\nmessage_matcher = 'TRUE'\nuse_tls = true\n[TcpOutput.tls]\nmin_version = 'TLS99'\n",
        );
        assert!(e.contains("invalid MinVersion: TLS99"), "{e}");
        let e = build_error("[TcpOutput]\nmessage_matcher = 'TRUE'\nlocal_address = 'nonsense'\n");
        assert!(e.contains("local_address"), "{e}");
    }

    #[test]
    fn use_buffering_is_on_by_default_as_in_heka() {
        let dir = tempfile::tempdir().unwrap();
        let running = start(&format!(
            "[hekad]\nbase_dir = '{}'\n[UdpInput]\naddress = '127.0.0.1:0'\n\
             [TcpOutput]\nmessage_matcher = 'TRUE'\naddress = '127.0.0.1:9'\n\
             [off]\ntype = 'TcpOutput'\nmessage_matcher = 'TRUE'\naddress = '127.0.0.1:9'\n\
             use_buffering = false\n",
            dir.path().display()
        ));
        assert!(dir.path().join("output_queue/TcpOutput").is_dir());
        assert!(!dir.path().join("output_queue/off").exists());
        running.stop();
    }
}
