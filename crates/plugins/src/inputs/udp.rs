//! UdpInput: receives UDP or Unix datagrams; each datagram goes through the splitter on its own.
//!
//! ```toml
//! [UdpInput]
//! address = "127.0.0.1:4880"
//! # net = "udp"          # udp, udp4, udp6 or unixgram (address is then a socket path or @name)
//! # set_hostname = false # Hostname = the sender's IP
//! # splitter = "NullSplitter"
//! # decoder = ...        # none by default
//! ```
//!
//! Options: `address` (required), `net` (default `udp`), `set_hostname` (not with `unixgram`).
//! The splitter defaults to `NullSplitter` (one datagram, one message); there is no default
//! decoder. The socket is bound when the config is loaded; a Unix socket file is made
//! world-writable (0666) and removed when the input stops. When the splitter does not use
//! message bytes, messages get Type = the input's name and, with `set_hostname`, Hostname =
//! the sender's IP.
//!
//! Differences from Heka:
//! - Each datagram is split on its own: a record never spans two datagrams, and with a stream
//!   splitter an unterminated tail is dropped (or delivered with `deliver_incomplete_final`).
//!   Heka read the socket as one endless stream, so such a tail was joined to the next
//!   datagram, whoever sent it.
//! - `fd:<N>` addresses (an inherited socket) are refused at load time.

use std::net::IpAddr;
use std::time::Duration;

use bytes::Bytes;
use heka_pipeline::config::ConfigError;
use heka_pipeline::plugin::{Input, InputContext, ProcessError};
use heka_pipeline::registry::{BuildContext, InputSpec};
use serde::Deserialize;

use crate::support::net::{DatagramNet, DatagramSocket, check_address, start_datagram_input};

/// Largest datagram read (the largest UDP payload fits).
const MAX_DATAGRAM: usize = 65536;

/// UdpInput options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct UdpInputConfig {
    /// `host:port`, or a socket path / `@name` for `unixgram`.
    address: String,
    /// `udp`, `udp4`, `udp6` or `unixgram`.
    net: String,
    /// Set Hostname to the sender's IP.
    set_hostname: bool,
}

impl Default for UdpInputConfig {
    fn default() -> Self {
        UdpInputConfig {
            address: String::new(),
            net: "udp".into(),
            set_hostname: false,
        }
    }
}

/// A UdpInput instance with its bound socket.
struct UdpInput {
    socket: Option<DatagramSocket>,
    set_hostname: bool,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Input>, ConfigError> {
    let c: UdpInputConfig = ctx.options.parse()?;
    if c.address.is_empty() {
        return Err(ctx.error(Some("address"), "address is required"));
    }
    if c.address.starts_with("fd:") {
        return Err(ctx.error(
            Some("address"),
            "fd: addresses (inherited sockets) are not supported",
        ));
    }
    let net = DatagramNet::parse(&c.net).map_err(|e| ctx.error(Some("net"), e))?;
    if c.set_hostname && net == DatagramNet::Unixgram {
        return Err(ctx.error(
            Some("set_hostname"),
            "can't set Hostname from Unix datagram",
        ));
    }
    let socket = if ctx.check_only {
        check_address(net.family(), &c.address).map_err(|e| ctx.error(Some("address"), e))?;
        None
    } else {
        Some(DatagramSocket::bind(net, &c.address).map_err(|e| ctx.error(Some("address"), e))?)
    };
    Ok(Box::new(UdpInput {
        socket,
        set_hostname: c.set_hostname,
    }))
}

impl Input for UdpInput {
    fn run(&mut self, ctx: &mut InputContext) -> Result<(), ProcessError> {
        let (socket, _closer) = start_datagram_input(&mut self.socket, ctx)?;
        let mut stream = ctx.stream()?;
        let message_type = Bytes::from(ctx.name().to_string());
        stream.set_decoration(Some(message_type.clone()), None);
        let mut last_sender: Option<IpAddr> = None;
        let mut buf = vec![0u8; MAX_DATAGRAM];
        while !ctx.stopping() {
            match socket.recv_from(&mut buf) {
                Ok((n, from)) => {
                    if n == 0 && ctx.stopping() {
                        break;
                    }
                    if self.set_hostname && from != last_sender {
                        last_sender = from;
                        let host = from.map(|ip| Bytes::from(ip.to_string()));
                        stream.set_decoration(Some(message_type.clone()), host);
                    }
                    stream.push_datagram(&buf[..n]);
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
        stream.finish();
        Ok(())
    }
}

pub(super) const SPEC: InputSpec = InputSpec {
    type_name: "UdpInput",
    summary: "Receives UDP or Unix datagrams; each datagram is split and decoded on its own.",
    default_splitter: "NullSplitter",
    default_decoder: None,
    can_exit: false,
    build,
};

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;

    use crate::support::net::testing::{
        bound_port, build_error, file_output, start, stop_within, unframe_all, wait_for,
    };

    #[test]
    fn each_datagram_is_a_message_with_type_and_sender() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.log");
        let running = start(&format!(
            "[udp_in]\ntype = 'UdpInput'\naddress = '127.0.0.1:0'\nset_hostname = true\n{}",
            file_output(&out)
        ));
        let port = bound_port(&running, "udp_in");
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        for p in ["one", "two\nlines", ""] {
            tx.send_to(p.as_bytes(), ("127.0.0.1", port)).unwrap();
        }
        tx.send_to(b"three", ("127.0.0.1", port)).unwrap();
        let msgs = wait_for("three messages", || {
            let m = unframe_all(&std::fs::read(&out).unwrap_or_default());
            (m.len() == 3).then_some(m)
        });
        stop_within(running, 10);
        let payloads: Vec<_> = msgs
            .iter()
            .map(|(_, m)| m.payload_bytes().to_vec())
            .collect();
        assert_eq!(payloads, [&b"one"[..], b"two\nlines", b"three"]);
        for (_, m) in &msgs {
            assert_eq!(m.type_bytes(), b"udp_in");
            assert_eq!(m.logger_bytes(), b"udp_in");
            assert_eq!(m.hostname_bytes(), b"127.0.0.1");
        }
    }

    #[test]
    fn unixgram_socket_is_world_writable_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.log");
        let sock = dir.path().join("in.sock");
        let running = start(&format!(
            "[UdpInput]\nnet = 'unixgram'\naddress = '{}'\n{}",
            sock.display(),
            file_output(&out)
        ));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&sock).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o666);
        let tx = std::os::unix::net::UnixDatagram::unbound().unwrap();
        tx.send_to(b"local", &sock).unwrap();
        let msgs = wait_for("a message", || {
            let m = unframe_all(&std::fs::read(&out).unwrap_or_default());
            (!m.is_empty()).then_some(m)
        });
        running.stop();
        assert_eq!(msgs[0].1.payload_bytes(), b"local");
        assert_eq!(msgs[0].1.type_bytes(), b"UdpInput");
        assert!(msgs[0].1.hostname.is_none());
        assert!(!sock.exists());
    }

    #[test]
    fn config_errors() {
        let e = build_error(
            "[UdpInput]\nnet = 'unixgram'\naddress = '/tmp/x.sock'\nset_hostname = true\n",
        );
        assert!(e.contains("can't set Hostname from Unix datagram"), "{e}");
        let e = build_error("[UdpInput]\naddress = 'fd:3'\n");
        assert!(e.contains("not supported"), "{e}");
        let e = build_error("[UdpInput]\naddress = '127.0.0.1:1'\nnet = 'tcp'\n");
        assert!(e.contains("unknown network"), "{e}");
        let busy = UdpSocket::bind("127.0.0.1:0").unwrap();
        let e = build_error(&format!(
            "[UdpInput]\naddress = '{}'\n",
            busy.local_addr().unwrap()
        ));
        assert!(e.contains("can't listen on"), "{e}");
    }
}
