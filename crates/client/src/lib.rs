//! The client library applications use to send messages to hekad, like Heka's Go `client`
//! package.
//!
//! Three steps, each usable on its own:
//!
//! 1. **Build** a [`heka_message::Message`] with [`MessageBuilder`] (type, logger, severity,
//!    payload, typed and repeated fields; a random UUID and the current time by default).
//! 2. **Encode** it into a framed record with [`encode_message`] or a reusable
//!    [`ProtobufEncoder`]: the protobuf bytes behind Heka's stream header
//!    (`0x1E`, header length, header, `0x1F`, message), HMAC-signed when a
//!    [`heka_message::signing::SigningConfig`] is given. hekad's TcpInput and UdpInput with
//!    the default `HekaFramingSplitter` and `ProtobufDecoder` read exactly this.
//! 3. **Send** it with a [`TcpSender`] (buffered; explicit [`TcpSender::flush`]; reconnects
//!    with a bounded backoff and retries a failed write once) or a [`UdpSender`] (one record
//!    per datagram). Both also speak Unix-domain sockets.
//!
//! The senders are plain blocking types with no background thread; share one between threads
//! behind a mutex, or give each thread its own.
//!
//! # Example
//!
//! ```
//! use std::io::Read;
//! use std::net::TcpListener;
//!
//! use heka_client::{MessageBuilder, TcpSender};
//! use heka_message::{DEFAULT_MAX_MESSAGE_SIZE, Message, framing::scan};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Stand-in for hekad's TcpInput.
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let addr = listener.local_addr()?.to_string();
//! let hekad = std::thread::spawn(move || {
//!     let (mut conn, _) = listener.accept().expect("accept");
//!     let mut bytes = Vec::new();
//!     conn.read_to_end(&mut bytes).expect("read");
//!     bytes
//! });
//!
//! let mut sender = TcpSender::connect(&addr)?;
//! let msg = MessageBuilder::new()
//!     .message_type("myapp.login")
//!     .logger("myapp")
//!     .severity(6)
//!     .payload("user logged in")
//!     .string_field("user", "alice")
//!     .process_defaults()
//!     .build();
//! sender.send(&msg)?;
//! sender.close()?; // flushes
//!
//! let bytes = hekad.join().expect("server thread");
//! let frame = scan(&bytes, DEFAULT_MAX_MESSAGE_SIZE).frame.expect("one record");
//! assert_eq!(Message::decode_slice(&bytes[frame.message])?, msg);
//! # Ok(())
//! # }
//! ```
//!
//! A complete program is `examples/send.rs`:
//! `cargo run -p heka-client --example send -- 127.0.0.1:5565 "hello"`.

mod builder;
mod encode;
mod tcp;
mod udp;

use std::io;

pub use builder::{FieldValues, MessageBuilder, local_hostname};
pub use encode::{ProtobufEncoder, encode_message};
pub use heka_message::framing::FramingError;
pub use tcp::{SenderOptions, TcpSender};
pub use udp::{MAX_DATAGRAM_SIZE, UdpSender};

/// Errors from encoding and sending.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The message could not be framed (too big, or a header over 255 bytes).
    #[error("can't encode message: {0}")]
    Encode(#[from] FramingError),
    /// Connecting (or reconnecting) failed.
    #[error("can't connect to {addr}: {source}")]
    Connect {
        /// The address or socket path.
        addr: String,
        /// The last connection error.
        #[source]
        source: io::Error,
    },
    /// A write failed (after the reconnect and retry, when enabled).
    #[error("can't send to {addr}: {source}")]
    Send {
        /// The address or socket path.
        addr: String,
        /// The write error.
        #[source]
        source: io::Error,
    },
    /// An earlier write failed and reconnecting is disabled.
    #[error("not connected to {addr}")]
    NotConnected {
        /// The address or socket path.
        addr: String,
    },
    /// A record does not fit in one datagram.
    #[error("datagram of {len} bytes exceeds the maximum of {max} bytes")]
    DatagramTooLarge {
        /// Size of the record.
        len: usize,
        /// The limit.
        max: usize,
    },
}
