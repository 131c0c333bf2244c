//! Socket helpers shared by the test binaries of this folder.

/// An address where nothing listens, for as long as the returned socket is held: a bound socket
/// that does not listen refuses connections, and no other process can take its port meanwhile.
pub(crate) fn refusing_address() -> (socket2::Socket, String) {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    s.bind(&any.into()).unwrap();
    let addr = s.local_addr().unwrap().as_socket().unwrap().to_string();
    (s, addr)
}
