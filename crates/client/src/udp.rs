//! Sending over datagram sockets: UDP and, on Unix, Unix-domain datagram sockets.

use std::io;
use std::net::{ToSocketAddrs, UdpSocket};
#[cfg(unix)]
use std::os::unix::net::UnixDatagram;
#[cfg(unix)]
use std::path::Path;

use heka_message::Message;

use crate::{Error, ProtobufEncoder, SenderOptions};

/// Largest datagram a [`UdpSender`] sends: the largest UDP payload over IPv4
/// (65 535 − 8 bytes of UDP header − 20 bytes of IP header).
pub const MAX_DATAGRAM_SIZE: usize = 65_507;

#[derive(Debug)]
enum Datagram {
    Udp(UdpSocket),
    #[cfg(unix)]
    Unix(UnixDatagram),
}

/// Sends each framed message as one datagram, as Heka's UDP sender does (hekad's UdpInput
/// with the Heka framing splitter reads one or more frames per datagram).
///
/// There is no buffering and no delivery guarantee. A record larger than
/// [`MAX_DATAGRAM_SIZE`] is refused with [`Error::DatagramTooLarge`].
#[derive(Debug)]
pub struct UdpSender {
    socket: Datagram,
    addr: String,
    encoder: ProtobufEncoder,
    buf: Vec<u8>,
}

impl UdpSender {
    /// Sends to `addr` (`host:port`) from an ephemeral local port, with default options.
    pub fn connect(addr: &str) -> Result<UdpSender, Error> {
        UdpSender::connect_with(addr, SenderOptions::default())
    }

    /// Sends to `addr` (`host:port`); only the signer and `max_message_size` of `options`
    /// apply to datagrams.
    pub fn connect_with(addr: &str, options: SenderOptions) -> Result<UdpSender, Error> {
        let connect_error = |source| Error::Connect {
            addr: addr.to_owned(),
            source,
        };
        let mut last = None;
        let mut socket = None;
        for sockaddr in addr.to_socket_addrs().map_err(connect_error)? {
            let local = if sockaddr.is_ipv4() {
                "0.0.0.0:0"
            } else {
                "[::]:0"
            };
            match UdpSocket::bind(local).and_then(|s| s.connect(sockaddr).map(|()| s)) {
                Ok(s) => {
                    socket = Some(s);
                    break;
                }
                Err(err) => last = Some(err),
            }
        }
        let socket = socket.ok_or_else(|| {
            connect_error(last.unwrap_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, "address resolved to nothing")
            }))
        })?;
        Ok(UdpSender::new(
            Datagram::Udp(socket),
            addr.to_owned(),
            options,
        ))
    }

    /// Sends to the Unix datagram socket at `path`, with default options.
    #[cfg(unix)]
    pub fn connect_unix(path: impl AsRef<Path>) -> Result<UdpSender, Error> {
        UdpSender::connect_unix_with(path, SenderOptions::default())
    }

    /// Sends to the Unix datagram socket at `path`; only the signer and `max_message_size` of
    /// `options` apply.
    #[cfg(unix)]
    pub fn connect_unix_with(
        path: impl AsRef<Path>,
        options: SenderOptions,
    ) -> Result<UdpSender, Error> {
        let path = path.as_ref();
        let addr = path.display().to_string();
        let socket = UnixDatagram::unbound()
            .and_then(|s| s.connect(path).map(|()| s))
            .map_err(|source| Error::Connect {
                addr: addr.clone(),
                source,
            })?;
        Ok(UdpSender::new(Datagram::Unix(socket), addr, options))
    }

    fn new(socket: Datagram, addr: String, options: SenderOptions) -> UdpSender {
        UdpSender {
            socket,
            addr,
            encoder: ProtobufEncoder::new(options.signer)
                .with_max_message_size(options.max_message_size),
            buf: Vec::new(),
        }
    }

    /// Encodes, frames (and signs) `message` and sends it as one datagram.
    pub fn send(&mut self, message: &Message) -> Result<(), Error> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let result = match self.encoder.encode(message, &mut buf) {
            Ok(()) => self.send_raw(&buf),
            Err(err) => Err(err.into()),
        };
        self.buf = buf;
        result
    }

    /// Frames (and signs) an already protobuf-encoded message and sends it as one datagram.
    pub fn send_encoded(&mut self, message_bytes: &[u8]) -> Result<(), Error> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let result = match self.encoder.encode_bytes(message_bytes, &mut buf) {
            Ok(()) => self.send_raw(&buf),
            Err(err) => Err(err.into()),
        };
        self.buf = buf;
        result
    }

    /// Sends already framed record(s) as one datagram.
    pub fn send_framed(&mut self, frames: &[u8]) -> Result<(), Error> {
        self.send_raw(frames)
    }

    /// Sends `bytes` as one datagram, unchecked.
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if bytes.len() > MAX_DATAGRAM_SIZE {
            return Err(Error::DatagramTooLarge {
                len: bytes.len(),
                max: MAX_DATAGRAM_SIZE,
            });
        }
        let sent = match &self.socket {
            Datagram::Udp(s) => s.send(bytes),
            #[cfg(unix)]
            Datagram::Unix(s) => s.send(bytes),
        };
        match sent {
            Ok(n) if n == bytes.len() => Ok(()),
            Ok(n) => Err(Error::Send {
                addr: self.addr.clone(),
                source: io::Error::new(
                    io::ErrorKind::WriteZero,
                    format!("datagram truncated to {n} of {} bytes", bytes.len()),
                ),
            }),
            Err(source) => Err(Error::Send {
                addr: self.addr.clone(),
                source,
            }),
        }
    }

    /// The address or socket path datagrams go to.
    pub fn endpoint(&self) -> &str {
        &self.addr
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MessageBuilder;
    use heka_message::DEFAULT_MAX_MESSAGE_SIZE;
    use heka_message::framing::scan;
    use heka_message::signing::{HmacHash, SignerKeys, SigningConfig, Verification};
    use std::time::Duration;

    fn receive(socket: &UdpSocket) -> Vec<u8> {
        let mut buf = vec![0u8; 70_000];
        let n = socket.recv(&mut buf).unwrap();
        buf.truncate(n);
        buf
    }

    #[test]
    fn one_frame_per_datagram() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let addr = server.local_addr().unwrap().to_string();
        let options = SenderOptions {
            signer: Some(SigningConfig {
                name: "udp".into(),
                hash: HmacHash::Md5,
                key: b"k".to_vec(),
                version: 0,
            }),
            ..SenderOptions::default()
        };
        let mut sender = UdpSender::connect_with(&addr, options).unwrap();
        assert_eq!(sender.endpoint(), addr);
        let mut keys = SignerKeys::default();
        keys.insert("udp_0", b"k".to_vec());
        for i in 0..3 {
            let msg = MessageBuilder::new()
                .message_type("udp.test")
                .payload(format!("datagram {i}"))
                .build();
            sender.send(&msg).unwrap();
            let datagram = receive(&server);
            let found = scan(&datagram, DEFAULT_MAX_MESSAGE_SIZE);
            assert_eq!(found.consumed, datagram.len(), "exactly one frame");
            let frame = found.frame.unwrap();
            let got = Message::decode_slice(&datagram[frame.message.clone()]).unwrap();
            assert_eq!(got, msg);
            assert_eq!(
                keys.verify(&frame.header, &datagram[frame.message]),
                Verification::Signed("udp".into())
            );
        }
        sender
            .send_encoded(&MessageBuilder::new().payload("pre").build().to_bytes())
            .unwrap();
        let datagram = receive(&server);
        let frame = scan(&datagram, DEFAULT_MAX_MESSAGE_SIZE).frame.unwrap();
        let got = Message::decode_slice(&datagram[frame.message]).unwrap();
        assert_eq!(got.payload_bytes(), b"pre");
        sender.send_framed(b"raw").unwrap();
        assert_eq!(receive(&server), b"raw");
    }

    #[test]
    fn oversized_datagrams_are_refused() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap().to_string();
        let options = SenderOptions {
            max_message_size: 1 << 20,
            ..SenderOptions::default()
        };
        let mut sender = UdpSender::connect_with(&addr, options).unwrap();
        let big = MessageBuilder::new().payload(vec![b'x'; 70_000]).build();
        let err = sender.send(&big).unwrap_err();
        assert!(
            matches!(err, Error::DatagramTooLarge { max: MAX_DATAGRAM_SIZE, len } if len > 70_000),
            "got {err:?}"
        );
        assert!(matches!(
            sender.send_raw(&vec![0u8; MAX_DATAGRAM_SIZE + 1]),
            Err(Error::DatagramTooLarge { .. })
        ));
        // Beyond the default maximum message size the encoder refuses first.
        let mut default = UdpSender::connect(&addr).unwrap();
        assert!(matches!(default.send(&big), Err(Error::Encode(_))));
    }

    #[cfg(unix)]
    #[test]
    fn unix_datagram_socket() {
        let dir = std::env::temp_dir().join(format!("heka-client-udp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("dgram.sock");
        let _ = std::fs::remove_file(&path);
        let server = UnixDatagram::bind(&path).unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut sender = UdpSender::connect_unix(&path).unwrap();
        sender
            .send(&MessageBuilder::new().payload("unixgram").build())
            .unwrap();
        let mut buf = vec![0u8; 4096];
        let n = server.recv(&mut buf).unwrap();
        let frame = scan(&buf[..n], DEFAULT_MAX_MESSAGE_SIZE).frame.unwrap();
        let got = Message::decode_slice(&buf[frame.message]).unwrap();
        assert_eq!(got.payload_bytes(), b"unixgram");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
