//! UdpOutput: sends each encoded message as one UDP or Unix datagram.
//!
//! ```toml
//! [UdpOutput]
//! message_matcher = "Type == 'metric'"
//! address = "127.0.0.1:4880"
//! encoder = "PayloadEncoder"
//! # net = "udp"                # udp, udp4, udp6 or unixgram (address is then a socket path)
//! # local_address = ""         # source ip:port, or local socket path for unixgram
//! # max_message_size = 65507
//! ```
//!
//! Options: `address` (required), `net` (default `udp`), `local_address`,
//! `max_message_size` (bytes, at least 512). An encoder is required; framing applies only with
//! `use_framing = true`. The socket is created and "connected" when the config is loaded, so
//! resolution errors are config errors. A message whose encoding exceeds
//! `max_message_size` is dropped; send errors (nobody listening, for instance) are ignored, as
//! in Heka.
//!
//! Differences from Heka: encoding errors and oversized messages are logged (Heka reported
//! them only when disk buffering was on).

use heka_pipeline::config::ConfigError;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{Output, OutputContext, ProcessError};
use heka_pipeline::registry::{BuildContext, FramingDefault, OutputSpec, Ticker};
use serde::Deserialize;

use crate::support::net::{DatagramNet, DatagramSocket, check_address};

/// UdpOutput options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct UdpOutputConfig {
    /// `udp`, `udp4`, `udp6` or `unixgram`.
    net: String,
    /// Destination `host:port` or socket path.
    address: String,
    /// Source address or local socket path.
    local_address: String,
    /// Largest datagram sent.
    max_message_size: usize,
}

impl Default for UdpOutputConfig {
    fn default() -> Self {
        UdpOutputConfig {
            net: "udp".into(),
            address: String::new(),
            local_address: String::new(),
            max_message_size: 65507,
        }
    }
}

/// A UdpOutput instance.
struct UdpOutput {
    socket: DatagramSocket,
    max_message_size: usize,
    buf: Vec<u8>,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Output>, ConfigError> {
    let c: UdpOutputConfig = ctx.options.parse()?;
    if c.address.is_empty() {
        return Err(ctx.error(Some("address"), "address is required"));
    }
    if c.max_message_size < 512 {
        return Err(ctx.error(
            Some("max_message_size"),
            "maximum message size can't be smaller than 512 bytes",
        ));
    }
    let net = DatagramNet::parse(&c.net).map_err(|e| ctx.error(Some("net"), e))?;
    let local = (!c.local_address.is_empty()).then_some(c.local_address.as_str());
    if ctx.check_only {
        check_address(net.family(), &c.address).map_err(|e| ctx.error(Some("address"), e))?;
        if let Some(l) = local {
            check_address(net.family(), l).map_err(|e| ctx.error(Some("local_address"), e))?;
        }
        return Ok(Box::new(Unchecked));
    }
    let socket = DatagramSocket::connect(net, &c.address, local)
        .map_err(|e| ctx.error(Some("address"), e))?;
    Ok(Box::new(UdpOutput {
        socket,
        max_message_size: c.max_message_size,
        buf: Vec::new(),
    }))
}

/// What `hekad -test` builds: the options are checked, no socket exists; never run.
struct Unchecked;

impl Output for Unchecked {
    fn process_message(&mut self, _: &Pack, _: &mut OutputContext<'_>) -> Result<(), ProcessError> {
        Err(ProcessError::Fatal(
            "built by hekad -test: not runnable".into(),
        ))
    }
}

impl Output for UdpOutput {
    fn process_message(
        &mut self,
        pack: &Pack,
        ctx: &mut OutputContext<'_>,
    ) -> Result<(), ProcessError> {
        self.buf.clear();
        match ctx.encode(pack, &mut self.buf) {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(e) => return Err(ProcessError::Drop(format!("error encoding message: {e}"))),
        }
        if self.buf.len() > self.max_message_size {
            return Err(ProcessError::Drop(format!(
                "message has exceeded allowed UDP data size: {} > {}",
                self.buf.len(),
                self.max_message_size
            )));
        }
        // Heka compat: plugins/udp/udp_output.go ignores write errors.
        if let Err(e) = self.socket.send(&self.buf) {
            tracing::debug!(output = %ctx.name(), "send failed: {e}");
        }
        Ok(())
    }
}

pub(super) const SPEC: OutputSpec = OutputSpec {
    type_name: "UdpOutput",
    summary: "Sends each encoded message as one UDP or Unix datagram.",
    default_matcher: None,
    default_encoder: None,
    encoder_required: true,
    legacy_encoder: None,
    framing: FramingDefault::Never,
    ticker: Ticker::Optional,
    can_exit: false,
    buffering: None,
    build,
};

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;
    use std::time::Duration;

    use crate::support::net::testing::{bound_port, build_error, start};

    /// A pipeline UdpInput → UdpOutput (PayloadEncoder); returns the sender.
    fn rig(
        output: &str,
    ) -> (
        heka_pipeline::runner::build::Running,
        impl Fn(&[u8]) + use<>,
    ) {
        let running = start(&format!(
            "[UdpInput]\naddress = '127.0.0.1:0'\n[PayloadEncoder]\n\
             [UdpOutput]\nmessage_matcher = 'TRUE'\nencoder = 'PayloadEncoder'\n{output}"
        ));
        let port = bound_port(&running, "UdpInput");
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        (running, move |p: &[u8]| {
            tx.send_to(p, ("127.0.0.1", port)).unwrap();
        })
    }

    #[test]
    fn each_message_is_one_datagram_and_oversized_ones_are_dropped() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let (running, send) = rig(&format!(
            "address = '{}'\nmax_message_size = 512\n",
            rx.local_addr().unwrap()
        ));
        send(b"first");
        send(&[b'x'; 600]);
        send(b"last");
        let mut buf = [0u8; 2048];
        let mut got = Vec::new();
        for _ in 0..2 {
            let n = rx.recv(&mut buf).unwrap();
            got.push(buf[..n].to_vec());
        }
        running.stop();
        assert_eq!(got, [b"first\n".to_vec(), b"last\n".to_vec()]);
    }

    #[test]
    fn unixgram_delivery() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.sock");
        let rx = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let (running, send) = rig(&format!(
            "net = 'unixgram'\naddress = '{}'\n",
            path.display()
        ));
        send(b"hello");
        let mut buf = [0u8; 64];
        let n = rx.recv(&mut buf).unwrap();
        running.stop();
        assert_eq!(&buf[..n], b"hello\n");
    }

    #[test]
    fn config_errors() {
        let base = "[UdpOutput]\nmessage_matcher = 'TRUE'\nencoder = 'ProtobufEncoder'\n";
        let e = build_error(&format!(
            "{base}address = '127.0.0.1:9'\nmax_message_size = 100\n"
        ));
        assert!(e.contains("can't be smaller than 512 bytes"), "{e}");
        let e = build_error(base);
        assert!(e.contains("address is required"), "{e}");
        let e = build_error(&format!(
            "{base}net = 'unixgram'\naddress = '/nonexistent/dir/sock'\n"
        ));
        assert!(e.contains("can't connect to"), "{e}");
    }
}
