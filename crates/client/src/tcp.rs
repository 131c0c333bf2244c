//! Sending over stream sockets: TCP and, on Unix, Unix-domain stream sockets.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
#[cfg(unix)]
use std::os::unix::net::UnixStream;
#[cfg(unix)]
use std::path::{Path, PathBuf};
use std::time::Duration;

use heka_message::signing::SigningConfig;
use heka_message::{DEFAULT_MAX_MESSAGE_SIZE, Message};

use crate::{Error, ProtobufEncoder};

/// Settings of a [`TcpSender`] (and the encoding settings of a [`crate::UdpSender`]).
#[derive(Clone, Debug)]
pub struct SenderOptions {
    /// Sign every message with this signer.
    pub signer: Option<SigningConfig>,
    /// Largest message (protobuf bytes) accepted; hekad's `max_message_size`.
    pub max_message_size: u32,
    /// Bytes buffered before a write is issued; 0 writes every message at once.
    pub buffer_size: usize,
    /// Connection attempts after a failed write (or a connection found closed by the peer)
    /// before giving up; 0 disables reconnecting.
    pub reconnect_attempts: u32,
    /// Pause before the second attempt; it doubles for each further attempt.
    pub initial_backoff: Duration,
    /// Upper bound of the pause between attempts.
    pub max_backoff: Duration,
    /// Timeout of each connection attempt; `None` uses the operating system's.
    pub connect_timeout: Option<Duration>,
    /// Timeout of each write; `None` blocks until the peer reads.
    pub write_timeout: Option<Duration>,
}

impl Default for SenderOptions {
    fn default() -> Self {
        SenderOptions {
            signer: None,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            buffer_size: 64 * 1024,
            reconnect_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            connect_timeout: Some(Duration::from_secs(10)),
            write_timeout: None,
        }
    }
}

/// Where a [`TcpSender`] connects.
#[derive(Clone, Debug)]
enum Endpoint {
    Tcp(String),
    #[cfg(unix)]
    Unix(PathBuf),
}

impl Endpoint {
    fn describe(&self) -> String {
        match self {
            Endpoint::Tcp(addr) => addr.clone(),
            #[cfg(unix)]
            Endpoint::Unix(path) => path.display().to_string(),
        }
    }

    fn connect(&self, options: &SenderOptions) -> io::Result<Stream> {
        match self {
            Endpoint::Tcp(addr) => {
                let mut last = None;
                for sockaddr in addr.to_socket_addrs()? {
                    let attempt = match options.connect_timeout {
                        Some(t) => TcpStream::connect_timeout(&sockaddr, t),
                        None => TcpStream::connect(sockaddr),
                    };
                    match attempt {
                        Ok(stream) => {
                            // We batch writes ourselves; a flush should leave at once.
                            stream.set_nodelay(true)?;
                            stream.set_write_timeout(options.write_timeout)?;
                            return Ok(Stream::Tcp(stream));
                        }
                        Err(err) => last = Some(err),
                    }
                }
                Err(last.unwrap_or_else(|| {
                    io::Error::new(io::ErrorKind::NotFound, "address resolved to nothing")
                }))
            }
            #[cfg(unix)]
            Endpoint::Unix(path) => {
                let stream = UnixStream::connect(path)?;
                stream.set_write_timeout(options.write_timeout)?;
                Ok(Stream::Unix(stream))
            }
        }
    }
}

/// A connected stream socket.
#[derive(Debug)]
enum Stream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
}

impl Stream {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.write_all(data),
            #[cfg(unix)]
            Stream::Unix(s) => s.write_all(data),
        }
    }

    /// Whether the peer has closed or reset the connection, checked without blocking.
    ///
    /// hekad never sends anything back on its stream inputs, so a readable socket means end
    /// of stream or an error. A write to such a socket would usually still "succeed" into the
    /// kernel buffer and the data would be lost; checking first lets the sender reconnect
    /// before writing. Bytes the peer did send are left unread (TCP) or discarded (Unix).
    fn peer_closed(&mut self) -> bool {
        let mut probe = [0u8; 1];
        let result = match self {
            Stream::Tcp(s) => {
                if s.set_nonblocking(true).is_err() {
                    return true;
                }
                let r = s.peek(&mut probe);
                if s.set_nonblocking(false).is_err() {
                    return true;
                }
                r
            }
            #[cfg(unix)]
            Stream::Unix(s) => {
                if s.set_nonblocking(true).is_err() {
                    return true;
                }
                let r = s.read(&mut probe);
                if s.set_nonblocking(false).is_err() {
                    return true;
                }
                r
            }
        };
        match result {
            Ok(0) => true,
            Ok(_) => false,
            Err(err) => !matches!(
                err.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
            ),
        }
    }
}

/// Sends framed messages over one TCP (or Unix stream) connection.
///
/// Messages are encoded into a buffer and written when it holds
/// [`SenderOptions::buffer_size`] bytes or on [`TcpSender::flush`]; call `flush` before
/// waiting for anything. Dropping the sender makes one last attempt to write the buffer.
///
/// Reconnecting: when reconnecting is enabled (the default), each write first checks that
/// the peer has not closed the connection, and a failed write drops the connection, connects
/// again (up to [`SenderOptions::reconnect_attempts`] attempts with a doubling pause between
/// them, the first at once) and retries the write once on the new connection. The whole
/// write is retried, so records that reached the old connection before it failed may arrive
/// twice (at-least-once delivery). When the retry fails too, the buffered bytes are dropped
/// and the error is returned. The first connection, made by the constructor, is a single
/// attempt.
#[derive(Debug)]
pub struct TcpSender {
    endpoint: Endpoint,
    stream: Option<Stream>,
    encoder: ProtobufEncoder,
    pending: Vec<u8>,
    options: SenderOptions,
    reconnects: u64,
}

impl TcpSender {
    /// Connects to `addr` (`host:port`) with default options.
    pub fn connect(addr: &str) -> Result<TcpSender, Error> {
        TcpSender::connect_with(addr, SenderOptions::default())
    }

    /// Connects to `addr` (`host:port`).
    pub fn connect_with(addr: &str, options: SenderOptions) -> Result<TcpSender, Error> {
        TcpSender::open(Endpoint::Tcp(addr.to_owned()), options)
    }

    /// Connects to the Unix stream socket at `path` with default options.
    #[cfg(unix)]
    pub fn connect_unix(path: impl AsRef<Path>) -> Result<TcpSender, Error> {
        TcpSender::connect_unix_with(path, SenderOptions::default())
    }

    /// Connects to the Unix stream socket at `path`.
    #[cfg(unix)]
    pub fn connect_unix_with(
        path: impl AsRef<Path>,
        options: SenderOptions,
    ) -> Result<TcpSender, Error> {
        TcpSender::open(Endpoint::Unix(path.as_ref().to_owned()), options)
    }

    fn open(endpoint: Endpoint, options: SenderOptions) -> Result<TcpSender, Error> {
        let stream = endpoint
            .connect(&options)
            .map_err(|source| Error::Connect {
                addr: endpoint.describe(),
                source,
            })?;
        let encoder = ProtobufEncoder::new(options.signer.clone())
            .with_max_message_size(options.max_message_size);
        Ok(TcpSender {
            endpoint,
            stream: Some(stream),
            encoder,
            pending: Vec::with_capacity(options.buffer_size),
            options,
            reconnects: 0,
        })
    }

    /// Encodes, frames (and signs) `message` into the buffer; writes the buffer when full.
    ///
    /// An encoding error leaves the buffer unchanged.
    pub fn send(&mut self, message: &Message) -> Result<(), Error> {
        self.encoder.encode(message, &mut self.pending)?;
        self.flush_if_full()
    }

    /// Frames (and signs) an already protobuf-encoded message into the buffer.
    pub fn send_encoded(&mut self, message_bytes: &[u8]) -> Result<(), Error> {
        self.encoder
            .encode_bytes(message_bytes, &mut self.pending)?;
        self.flush_if_full()
    }

    /// Appends already framed record(s) to the buffer as they are.
    pub fn send_framed(&mut self, frames: &[u8]) -> Result<(), Error> {
        self.pending.extend_from_slice(frames);
        self.flush_if_full()
    }

    /// Writes `bytes` at once, as one write, after flushing the buffer; the bytes are not
    /// checked or framed (load generators use it to send corrupt records).
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.flush()?;
        self.write_with_retry(bytes)
    }

    /// Writes everything buffered.
    pub fn flush(&mut self) -> Result<(), Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let data = std::mem::take(&mut self.pending);
        let result = self.write_with_retry(&data);
        self.pending = data;
        self.pending.clear();
        result
    }

    /// Flushes and closes the connection.
    pub fn close(mut self) -> Result<(), Error> {
        self.flush()
    }

    /// Bytes waiting in the buffer.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// How many times the sender has reconnected.
    pub fn reconnects(&self) -> u64 {
        self.reconnects
    }

    /// Whether the sender holds a connection (it may still be closed by the peer).
    pub fn is_connected(&self) -> bool {
        self.stream.is_some()
    }

    /// The address or socket path the sender connects to.
    pub fn endpoint(&self) -> String {
        self.endpoint.describe()
    }

    fn flush_if_full(&mut self) -> Result<(), Error> {
        if self.pending.len() >= self.options.buffer_size {
            self.flush()
        } else {
            Ok(())
        }
    }

    fn write_with_retry(&mut self, data: &[u8]) -> Result<(), Error> {
        let reconnect = self.options.reconnect_attempts > 0;
        if reconnect {
            if self.stream.as_mut().is_some_and(Stream::peer_closed) {
                self.stream = None;
            }
            if self.stream.is_none() {
                self.reconnect()?;
            }
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(Error::NotConnected {
                addr: self.endpoint.describe(),
            });
        };
        let Err(first) = stream.write_all(data) else {
            return Ok(());
        };
        self.stream = None;
        if !reconnect {
            return Err(self.send_error(first));
        }
        self.reconnect()?;
        let Some(stream) = self.stream.as_mut() else {
            return Err(self.send_error(first));
        };
        match stream.write_all(data) {
            Ok(()) => Ok(()),
            Err(err) => {
                self.stream = None;
                Err(self.send_error(err))
            }
        }
    }

    fn send_error(&self, source: io::Error) -> Error {
        Error::Send {
            addr: self.endpoint.describe(),
            source,
        }
    }

    /// Connects again, with a bounded, doubling pause between attempts.
    fn reconnect(&mut self) -> Result<(), Error> {
        let mut backoff = self.options.initial_backoff;
        let mut last = None;
        for attempt in 0..self.options.reconnect_attempts {
            if attempt > 0 {
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(self.options.max_backoff);
            }
            match self.endpoint.connect(&self.options) {
                Ok(stream) => {
                    self.stream = Some(stream);
                    self.reconnects += 1;
                    return Ok(());
                }
                Err(err) => last = Some(err),
            }
        }
        Err(Error::Connect {
            addr: self.endpoint.describe(),
            source: last.unwrap_or_else(|| {
                io::Error::new(io::ErrorKind::NotConnected, "reconnecting is disabled")
            }),
        })
    }
}

impl Drop for TcpSender {
    fn drop(&mut self) {
        if let Some(stream) = self.stream.as_mut()
            && !self.pending.is_empty()
        {
            // Best effort: nobody is left to report an error to.
            let _ = stream.write_all(&self.pending);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MessageBuilder;
    use heka_message::framing::scan;
    use heka_message::signing::{HmacHash, SignerKeys, Verification};
    use std::net::TcpListener;
    use std::sync::mpsc;
    use std::thread;

    const DEADLINE: Duration = Duration::from_secs(10);

    /// Reads frames from `stream` until `count` messages arrived or the stream ends.
    fn read_frames(stream: &mut impl Read, count: usize) -> Vec<(Message, Verification)> {
        let mut keys = SignerKeys::default();
        keys.insert("client_2", b"secret".to_vec());
        let mut buf = Vec::new();
        let mut out = Vec::new();
        let mut chunk = [0u8; 8192];
        while out.len() < count {
            let found = scan(&buf, DEFAULT_MAX_MESSAGE_SIZE);
            if let Some(frame) = found.frame {
                let msg = Message::decode_slice(&buf[frame.message.clone()]).unwrap();
                let verdict = keys.verify(&frame.header, &buf[frame.message]);
                out.push((msg, verdict));
                buf.drain(..found.consumed);
                continue;
            }
            match stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(err) => panic!("read failed: {err}"),
            }
        }
        out
    }

    fn listener() -> (TcpListener, String) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        (listener, addr)
    }

    fn accept(listener: &TcpListener) -> TcpStream {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        stream
    }

    #[test]
    fn buffered_messages_arrive_after_flush() {
        let (listener, addr) = listener();
        let server = thread::spawn(move || {
            let mut conn = accept(&listener);
            read_frames(&mut conn, 3)
        });
        let options = SenderOptions {
            signer: Some(SigningConfig {
                name: "client".into(),
                hash: HmacHash::Sha1,
                key: b"secret".to_vec(),
                version: 2,
            }),
            ..SenderOptions::default()
        };
        let mut sender = TcpSender::connect_with(&addr, options).unwrap();
        assert_eq!(sender.endpoint(), addr);
        for i in 0..3 {
            let msg = MessageBuilder::new()
                .message_type("tcp.test")
                .payload(format!("message {i}"))
                .build();
            sender.send(&msg).unwrap();
        }
        assert!(sender.pending_len() > 0, "small messages stay buffered");
        sender.flush().unwrap();
        assert_eq!(sender.pending_len(), 0);
        let got = server.join().unwrap();
        assert_eq!(got.len(), 3);
        for (i, (msg, verdict)) in got.iter().enumerate() {
            assert_eq!(msg.type_bytes(), b"tcp.test");
            assert_eq!(msg.payload_bytes(), format!("message {i}").as_bytes());
            assert_eq!(*verdict, Verification::Signed("client".into()));
        }
    }

    #[test]
    fn reconnects_after_the_peer_closes_the_connection() {
        let (listener, addr) = listener();
        let (closed_tx, closed_rx) = mpsc::channel();
        let server = thread::spawn(move || {
            let mut first = accept(&listener);
            let got_first = read_frames(&mut first, 1);
            drop(first);
            closed_tx.send(()).unwrap();
            let mut second = accept(&listener);
            let got_second = read_frames(&mut second, 2);
            (got_first, got_second)
        });
        let mut sender = TcpSender::connect(&addr).unwrap();
        let one = MessageBuilder::new().payload("one").build();
        sender.send(&one).unwrap();
        sender.flush().unwrap();
        closed_rx.recv_timeout(DEADLINE).unwrap();
        sender
            .send(&MessageBuilder::new().payload("two").build())
            .unwrap();
        sender.flush().unwrap();
        sender
            .send(&MessageBuilder::new().payload("three").build())
            .unwrap();
        sender.flush().unwrap();
        let (first, second) = server.join().unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].0, one);
        assert_eq!(first[0].1, Verification::Unsigned);
        let payloads: Vec<&[u8]> = second.iter().map(|(m, _)| m.payload_bytes()).collect();
        assert_eq!(payloads, vec![&b"two"[..], &b"three"[..]]);
        assert_eq!(sender.reconnects(), 1);
    }

    /// A listener whose port stays ours after the listener is dropped, and the socket that
    /// keeps it: `held` is bound to the same port but never listens, so once the listener is
    /// gone every connection to the address is refused (there is no window in which the port
    /// is free). Both sockets set SO_REUSEPORT, which is what lets them share the port; Linux
    /// shares such a port only with sockets of the same user that set SO_REUSEPORT and bind
    /// this very port, and does not hand it out to a socket binding port 0, so no other test
    /// or process can start listening on it while `held` lives.
    #[cfg(unix)]
    fn listener_on_held_port() -> (TcpListener, socket2::Socket, String) {
        use socket2::{Domain, Socket, Type};
        let held = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        held.set_reuse_port(true).unwrap();
        let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
        held.bind(&any.into()).unwrap();
        let addr = held.local_addr().unwrap().as_socket().unwrap();
        let listening = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        listening.set_reuse_port(true).unwrap();
        // As std's listeners: its closed connections then do not hold the port themselves.
        listening.set_reuse_address(true).unwrap();
        listening.bind(&addr.into()).unwrap();
        listening.listen(128).unwrap();
        (listening.into(), held, addr.to_string())
    }

    #[test]
    fn write_error_without_reconnect_is_reported() {
        // The listener stays open for the whole test: without reconnecting the sender must
        // stay down even though a new connection would be accepted, so nothing here depends
        // on whether the port refuses connections.
        let (listener, addr) = listener();
        let options = SenderOptions {
            reconnect_attempts: 0,
            buffer_size: 0,
            ..SenderOptions::default()
        };
        let mut sender = TcpSender::connect_with(&addr, options).unwrap();
        drop(accept(&listener));
        let msg = MessageBuilder::new().payload(vec![b'x'; 1000]).build();
        // The first writes may land in the kernel buffer before the reset is seen; within a
        // bounded number of writes the failure must surface, and then the sender stays down.
        let mut failed = None;
        for _ in 0..1000 {
            if let Err(err) = sender.send(&msg) {
                failed = Some(err);
                break;
            }
        }
        assert!(matches!(failed, Some(Error::Send { .. })), "got {failed:?}");
        assert!(!sender.is_connected());
        assert!(matches!(sender.send(&msg), Err(Error::NotConnected { .. })));
        assert!(!sender.is_connected());
        assert_eq!(sender.reconnects(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn reconnect_gives_up_after_the_configured_attempts() {
        let (listener, _held, addr) = listener_on_held_port();
        let options = SenderOptions {
            reconnect_attempts: 2,
            initial_backoff: Duration::from_millis(1),
            ..SenderOptions::default()
        };
        let mut sender = TcpSender::connect_with(&addr, options).unwrap();
        drop(accept(&listener));
        // From here on `_held` alone holds the port, bound but not listening: every attempt
        // to reconnect is refused, and nobody else can listen there meanwhile.
        drop(listener);
        // The sender sees the closed connection before writing, or its write fails, within a
        // bounded number of writes; either way it reconnects, and gives up.
        let err = (0..1000)
            .find_map(|_| sender.send_raw(&[b'x'; 1000]).err())
            .expect("a reconnect must fail: nothing listens any more");
        match &err {
            Error::Connect { addr: to, source } => {
                assert_eq!(to, &addr);
                assert_eq!(source.kind(), io::ErrorKind::ConnectionRefused, "{source}");
            }
            other => panic!("expected a connect error, got {other:?}"),
        }
        assert!(err.to_string().starts_with("can't connect to 127.0.0.1:"));
        assert!(!sender.is_connected());
        assert_eq!(sender.reconnects(), 0);
        // Only `_held` keeps others off the port (the closed connection's socket does not:
        // it has SO_REUSEADDR, as std's listeners do).
        let taken = TcpListener::bind(&addr).map(drop);
        assert_eq!(
            taken.map_err(|e| e.kind()),
            Err(io::ErrorKind::AddrInUse),
            "the port must stay held"
        );
    }

    #[test]
    fn connect_failure_is_an_error() {
        // A bound socket that does not listen refuses connections and keeps its port ours.
        let held =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
        held.bind(&any.into()).unwrap();
        let addr = held.local_addr().unwrap().as_socket().unwrap().to_string();
        let err = TcpSender::connect(&addr).unwrap_err();
        assert!(matches!(err, Error::Connect { .. }));
    }

    #[test]
    fn raw_and_framed_bytes_are_written_unchanged() {
        let (listener, addr) = listener();
        let server = thread::spawn(move || {
            let mut conn = accept(&listener);
            let mut all = Vec::new();
            conn.read_to_end(&mut all).unwrap();
            all
        });
        let mut sender = TcpSender::connect(&addr).unwrap();
        let mut frame = Vec::new();
        crate::encode_message(
            &MessageBuilder::new().payload("framed").build(),
            None,
            DEFAULT_MAX_MESSAGE_SIZE,
            &mut frame,
        )
        .unwrap();
        sender.send_framed(&frame).unwrap();
        sender.send_raw(b"garbage").unwrap();
        sender
            .send_encoded(&MessageBuilder::new().payload("enc").build().to_bytes())
            .unwrap();
        sender.close().unwrap();
        let all = server.join().unwrap();
        assert!(all.starts_with(&frame));
        assert_eq!(&all[frame.len()..frame.len() + 7], b"garbage");
        let rest = &all[frame.len() + 7..];
        let found = scan(rest, DEFAULT_MAX_MESSAGE_SIZE).frame.unwrap();
        let msg = Message::decode_slice(&rest[found.message]).unwrap();
        assert_eq!(msg.payload_bytes(), b"enc");
    }

    #[cfg(unix)]
    #[test]
    fn unix_stream_socket() {
        use std::os::unix::net::UnixListener;
        let dir = std::env::temp_dir().join(format!("heka-client-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("stream.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        let server = thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            conn.set_read_timeout(Some(DEADLINE)).unwrap();
            read_frames(&mut conn, 1)
        });
        let mut sender = TcpSender::connect_unix(&path).unwrap();
        sender
            .send(&MessageBuilder::new().payload("unix").build())
            .unwrap();
        sender.flush().unwrap();
        let got = server.join().unwrap();
        assert_eq!(got[0].0.payload_bytes(), b"unix");
        drop(sender);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn drop_flushes_the_buffer() {
        let (listener, addr) = listener();
        let server = thread::spawn(move || {
            let mut conn = accept(&listener);
            read_frames(&mut conn, 1)
        });
        let mut sender = TcpSender::connect(&addr).unwrap();
        sender
            .send(&MessageBuilder::new().payload("late").build())
            .unwrap();
        drop(sender);
        let got = server.join().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0.payload_bytes(), b"late");
    }
}
