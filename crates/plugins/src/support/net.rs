//! Sockets for the TCP and UDP plugins: Heka's `net` option values, address resolution,
//! listeners, connections, datagram sockets and TCP keep-alive.
//!
//! Addresses follow Go's `net` package: `host:port`, `[v6]:port`, `:port` (every interface), and
//! for Unix sockets a file path or, on Linux, `@name` for an abstract socket. Sockets here are
//! blocking; a thread blocked on one is woken by shutting it down from another (see [`Closer`]).
//! Listeners are served by `support::reactor` with readiness-based I/O.

use std::io;
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs,
    UdpSocket,
};
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::path::PathBuf;
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, SockRef, Socket, TcpKeepalive, Type};

/// Address families a `tcp*`/`udp*` network value allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// `tcp`, `udp`: IPv4 or IPv6.
    Any,
    /// `tcp4`, `udp4`.
    V4,
    /// `tcp6`, `udp6`.
    V6,
}

/// A stream network (`net` of TcpInput).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamNet {
    /// TCP over the given families.
    Tcp(Family),
    /// A Unix stream socket; the address is a path or `@name`.
    Unix,
}

impl StreamNet {
    /// Parses Heka's `net` value (`tcp`, `tcp4`, `tcp6`, `unix`).
    pub(crate) fn parse(s: &str) -> Result<StreamNet, NetError> {
        Ok(match s {
            "tcp" => StreamNet::Tcp(Family::Any),
            "tcp4" => StreamNet::Tcp(Family::V4),
            "tcp6" => StreamNet::Tcp(Family::V6),
            "unix" => StreamNet::Unix,
            other => return Err(NetError::UnknownNet(other.to_string())),
        })
    }
}

/// A datagram network (`net` of UdpInput and UdpOutput).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DatagramNet {
    /// UDP over the given families.
    Udp(Family),
    /// A Unix datagram socket; the address is a path or `@name`.
    Unixgram,
}

impl DatagramNet {
    /// Parses Heka's `net` value (`udp`, `udp4`, `udp6`, `unixgram`).
    pub(crate) fn parse(s: &str) -> Result<DatagramNet, NetError> {
        Ok(match s {
            "udp" => DatagramNet::Udp(Family::Any),
            "udp4" => DatagramNet::Udp(Family::V4),
            "udp6" => DatagramNet::Udp(Family::V6),
            "unixgram" => DatagramNet::Unixgram,
            other => return Err(NetError::UnknownNet(other.to_string())),
        })
    }
}

/// Socket setup failures.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NetError {
    /// The `net` value is not one this plugin knows.
    #[error("unknown network {0:?}")]
    UnknownNet(String),
    /// The address is not `host:port`.
    #[error("address {0:?} is not host:port")]
    BadAddress(String),
    /// Name resolution failed.
    #[error("can't resolve {address:?}: {source}")]
    Resolve {
        /// The address as configured.
        address: String,
        /// Why.
        source: io::Error,
    },
    /// The name resolved, but not to an address of the wanted family.
    #[error("{address:?} has no address of the requested family")]
    NoAddress {
        /// The address as configured.
        address: String,
    },
    /// Abstract socket names exist only on Linux.
    #[error("abstract sockets are linux-specific")]
    Abstract,
    /// Creating, binding or listening failed.
    #[error("can't listen on {address:?}: {source}")]
    Listen {
        /// The address as configured.
        address: String,
        /// Why.
        source: io::Error,
    },
    /// Connecting failed.
    #[error("can't connect to {address:?}: {source}")]
    Connect {
        /// The address as configured.
        address: String,
        /// Why.
        source: io::Error,
    },
}

/// Splits `host:port` (`[v6]:port`, `:port`) into its host (brackets removed) and port.
fn split_host_port(address: &str) -> Option<(&str, u16)> {
    let (host, port) = address.rsplit_once(':')?;
    let port = port.parse().ok()?;
    let host = match host.strip_prefix('[') {
        Some(h) => h.strip_suffix(']')?,
        None if host.contains(':') => return None,
        None => host,
    };
    Some((host, port))
}

fn family_matches(family: Family, a: &SocketAddr) -> bool {
    match family {
        Family::Any => true,
        Family::V4 => a.is_ipv4(),
        Family::V6 => a.is_ipv6(),
    }
}

/// Resolves `address` to every socket address of `family`, IPv4 ones first (as Go's resolver
/// does for `tcp`/`udp`). An empty host means every interface (the unspecified address).
pub(crate) fn resolve_all(address: &str, family: Family) -> Result<Vec<SocketAddr>, NetError> {
    let (host, port) =
        split_host_port(address).ok_or_else(|| NetError::BadAddress(address.to_string()))?;
    let mut addrs: Vec<SocketAddr> = if host.is_empty() {
        let ip = match family {
            Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        };
        vec![SocketAddr::new(ip, port)]
    } else {
        (host, port)
            .to_socket_addrs()
            .map_err(|source| NetError::Resolve {
                address: address.to_string(),
                source,
            })?
            .filter(|a| family_matches(family, a))
            .collect()
    };
    addrs.sort_by_key(|a| a.is_ipv6());
    if addrs.is_empty() {
        return Err(NetError::NoAddress {
            address: address.to_string(),
        });
    }
    Ok(addrs)
}

/// Resolves `address` to its first socket address of `family` (see [`resolve_all`]).
pub(crate) fn resolve(address: &str, family: Family) -> Result<SocketAddr, NetError> {
    resolve_all(address, family).map(|mut v| v.swap_remove(0))
}

/// A Unix socket address: a file path, or an abstract name (`@name`, Linux only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UnixAddr {
    /// A socket file.
    Path(PathBuf),
    /// An abstract name, without the `@`.
    Abstract(Vec<u8>),
}

impl UnixAddr {
    /// Parses a configured Unix address.
    pub(crate) fn parse(address: &str) -> Result<UnixAddr, NetError> {
        match address.strip_prefix('@') {
            Some(name) if cfg!(target_os = "linux") => {
                Ok(UnixAddr::Abstract(name.as_bytes().to_vec()))
            }
            Some(_) => Err(NetError::Abstract),
            None => Ok(UnixAddr::Path(PathBuf::from(address))),
        }
    }

    #[cfg(target_os = "linux")]
    fn std_addr(&self) -> io::Result<std::os::unix::net::SocketAddr> {
        use std::os::linux::net::SocketAddrExt;
        match self {
            UnixAddr::Path(p) => std::os::unix::net::SocketAddr::from_pathname(p),
            UnixAddr::Abstract(n) => std::os::unix::net::SocketAddr::from_abstract_name(n),
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn std_addr(&self) -> io::Result<std::os::unix::net::SocketAddr> {
        match self {
            UnixAddr::Path(p) => std::os::unix::net::SocketAddr::from_pathname(p),
            UnixAddr::Abstract(_) => Err(io::Error::other("abstract sockets are linux-specific")),
        }
    }

    /// The socket file to remove when the socket is closed (none for abstract names).
    fn cleanup_path(&self) -> Option<PathBuf> {
        match self {
            UnixAddr::Path(p) => Some(p.clone()),
            UnixAddr::Abstract(_) => None,
        }
    }
}

/// `hekad -test`: checks that `address` can be used for `net` without creating a socket: a TCP
/// or UDP address must resolve (to the requested family), and a Unix socket path's directory
/// must exist.
pub(crate) fn check_address(family: Option<Family>, address: &str) -> Result<(), NetError> {
    match family {
        Some(f) => resolve(address, f).map(drop),
        None => match UnixAddr::parse(address)? {
            UnixAddr::Path(p) => {
                let dir = match p.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                if dir.is_dir() {
                    Ok(())
                } else {
                    Err(NetError::Listen {
                        address: address.to_string(),
                        source: io::Error::new(
                            io::ErrorKind::NotFound,
                            format!("no directory {}", dir.display()),
                        ),
                    })
                }
            }
            UnixAddr::Abstract(_) => Ok(()),
        },
    }
}

impl StreamNet {
    /// The address family of a TCP network; `None` for Unix sockets.
    pub(crate) fn family(self) -> Option<Family> {
        match self {
            StreamNet::Tcp(f) => Some(f),
            StreamNet::Unix => None,
        }
    }
}

impl DatagramNet {
    /// The address family of a UDP network; `None` for Unix sockets.
    pub(crate) fn family(self) -> Option<Family> {
        match self {
            DatagramNet::Udp(f) => Some(f),
            DatagramNet::Unixgram => None,
        }
    }
}

/// A socket file removed on drop, as Go removes the files of the Unix sockets it created.
#[derive(Debug)]
pub(crate) struct SocketFile(Option<PathBuf>);

impl Drop for SocketFile {
    fn drop(&mut self) {
        if let Some(p) = &self.0
            && let Err(e) = std::fs::remove_file(p)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %p.display(), "can't remove socket file: {e}");
        }
    }
}

/// A listening stream socket.
#[derive(Debug)]
pub(crate) enum Listener {
    /// TCP.
    Tcp(TcpListener),
    /// Unix stream socket (its file is removed on drop).
    Unix {
        /// The socket.
        listener: UnixListener,
        /// Its file.
        _file: SocketFile,
    },
}

impl Listener {
    /// Binds and listens on `address` (Go's `net.Listen`: `SO_REUSEADDR`; `tcp6` is IPv6-only).
    pub(crate) fn bind(net: StreamNet, address: &str) -> Result<Listener, NetError> {
        let listen_err = |source| NetError::Listen {
            address: address.to_string(),
            source,
        };
        match net {
            StreamNet::Tcp(family) => {
                let addr = resolve(address, family)?;
                let sock =
                    Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
                        .map_err(listen_err)?;
                sock.set_reuse_address(true).map_err(listen_err)?;
                if addr.is_ipv6() {
                    sock.set_only_v6(family == Family::V6).map_err(listen_err)?;
                }
                sock.bind(&SockAddr::from(addr)).map_err(listen_err)?;
                sock.listen(1024).map_err(listen_err)?;
                Ok(Listener::Tcp(sock.into()))
            }
            StreamNet::Unix => {
                let ua = UnixAddr::parse(address)?;
                let l = ua
                    .std_addr()
                    .and_then(|a| UnixListener::bind_addr(&a))
                    .map_err(listen_err)?;
                Ok(Listener::Unix {
                    listener: l,
                    _file: SocketFile(ua.cleanup_path()),
                })
            }
        }
    }

    /// The address bound, as text (`ip:port`, or the socket's path).
    pub(crate) fn local_addr(&self) -> String {
        match self {
            Listener::Tcp(l) => l.local_addr().map(|a| a.to_string()).unwrap_or_default(),
            Listener::Unix { listener, .. } => listener
                .local_addr()
                .ok()
                .and_then(|a| a.as_pathname().map(|p| p.display().to_string()))
                .unwrap_or_default(),
        }
    }
}

/// Shuts a cloned socket down so blocked calls on the original return (accept fails, reads
/// return end of stream).
#[derive(Debug)]
pub(crate) struct Closer(Socket);

impl Closer {
    /// Shuts both directions down; errors (already closed, not connected) are ignored.
    ///
    /// A UDP socket is woken by an empty datagram sent to itself instead: a `recvfrom` that a
    /// shutdown ends returns no sender address, and std's `UdpSocket::recv_from` then reads the
    /// address family from uninitialised memory (it panicked on an `AF_INET6` it found there).
    /// A wake-up datagram lost to a full receive buffer leaves the read timeout to end the wait.
    pub(crate) fn close(&self) {
        if let Some(own) = self.udp_address() {
            let _ = self.0.send_to(&[], &own.into());
            return;
        }
        let _ = self.0.shutdown(Shutdown::Both);
    }

    /// Where a UDP socket receives, with a wildcard address replaced by loopback.
    fn udp_address(&self) -> Option<SocketAddr> {
        if self.0.r#type().ok()? != socket2::Type::DGRAM {
            return None;
        }
        let mut own = self.0.local_addr().ok()?.as_socket()?;
        if own.ip().is_unspecified() {
            own.set_ip(match own {
                SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        Some(own)
    }
}

/// Turns TCP keep-alive on, with Go's `SetKeepAlivePeriod` (idle time and probe interval)
/// when `period` is given.
pub(crate) fn set_keepalive<S: std::os::fd::AsFd>(
    stream: &S,
    period: Option<Duration>,
) -> io::Result<()> {
    let sock = SockRef::from(stream);
    match period {
        Some(p) => sock.set_tcp_keepalive(&TcpKeepalive::new().with_time(p).with_interval(p)),
        None => sock.set_keepalive(true),
    }
}

/// Dials `address` over TCP, trying each resolved address in turn, from `local` when given.
pub(crate) fn connect_tcp(
    address: &str,
    local: Option<SocketAddr>,
    timeout: Duration,
) -> Result<TcpStream, NetError> {
    let family = match local {
        Some(l) if l.is_ipv4() => Family::V4,
        Some(_) => Family::V6,
        None => Family::Any,
    };
    let mut last = None;
    for addr in resolve_all(address, family)? {
        let attempt = (|| -> io::Result<TcpStream> {
            let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
            if let Some(l) = local {
                sock.bind(&SockAddr::from(l))?;
            }
            sock.connect_timeout(&SockAddr::from(addr), timeout)?;
            Ok(sock.into())
        })();
        match attempt {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(NetError::Connect {
        address: address.to_string(),
        source: last.unwrap_or_else(|| io::Error::other("no address")),
    })
}

/// A bound datagram socket.
#[derive(Debug)]
pub(crate) enum DatagramSocket {
    /// UDP.
    Udp(UdpSocket),
    /// Unix datagram socket (its file, if bound to one, is removed on drop).
    Unix {
        /// The socket.
        socket: UnixDatagram,
        /// Its file, if bound to one.
        _file: SocketFile,
    },
}

impl DatagramSocket {
    /// Binds a datagram socket on `address`. A Unix socket file is made world-writable (0666)
    /// as Heka does, so that any local process can send to it.
    pub(crate) fn bind(net: DatagramNet, address: &str) -> Result<DatagramSocket, NetError> {
        let listen_err = |source| NetError::Listen {
            address: address.to_string(),
            source,
        };
        match net {
            DatagramNet::Udp(family) => {
                let addr = resolve(address, family)?;
                let sock = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))
                    .map_err(listen_err)?;
                if addr.is_ipv6() {
                    sock.set_only_v6(family == Family::V6).map_err(listen_err)?;
                }
                sock.bind(&SockAddr::from(addr)).map_err(listen_err)?;
                Ok(DatagramSocket::Udp(sock.into()))
            }
            DatagramNet::Unixgram => {
                let ua = UnixAddr::parse(address)?;
                let s = ua
                    .std_addr()
                    .and_then(|a| UnixDatagram::bind_addr(&a))
                    .map_err(listen_err)?;
                let file = SocketFile(ua.cleanup_path());
                if let UnixAddr::Path(p) = &ua {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o666))
                        .map_err(listen_err)?;
                }
                Ok(DatagramSocket::Unix {
                    socket: s,
                    _file: file,
                })
            }
        }
    }

    /// Creates a socket "connected" to `address` (Go's `DialUDP`/`DialUnix`): bound to `local`
    /// when given, else to an ephemeral port (UDP) or unbound (Unix).
    pub(crate) fn connect(
        net: DatagramNet,
        address: &str,
        local: Option<&str>,
    ) -> Result<DatagramSocket, NetError> {
        let connect_err = |source| NetError::Connect {
            address: address.to_string(),
            source,
        };
        match net {
            DatagramNet::Udp(family) => {
                let local = match local {
                    Some(l) => Some(resolve(l, family)?),
                    None => None,
                };
                let family = match local {
                    Some(l) if l.is_ipv4() => Family::V4,
                    Some(_) => Family::V6,
                    None => family,
                };
                let target = resolve(address, family)?;
                let local = local.unwrap_or_else(|| {
                    let ip = if target.is_ipv4() {
                        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
                    } else {
                        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
                    };
                    SocketAddr::new(ip, 0)
                });
                let s = UdpSocket::bind(local).map_err(connect_err)?;
                s.connect(target).map_err(connect_err)?;
                Ok(DatagramSocket::Udp(s))
            }
            DatagramNet::Unixgram => {
                let target = UnixAddr::parse(address)?;
                let (s, cleanup) = match local {
                    Some(l) => {
                        let la = UnixAddr::parse(l)?;
                        let s = la
                            .std_addr()
                            .and_then(|a| UnixDatagram::bind_addr(&a))
                            .map_err(connect_err)?;
                        (s, la.cleanup_path())
                    }
                    None => (UnixDatagram::unbound().map_err(connect_err)?, None),
                };
                let file = SocketFile(cleanup);
                target
                    .std_addr()
                    .and_then(|a| s.connect_addr(&a))
                    .map_err(connect_err)?;
                Ok(DatagramSocket::Unix {
                    socket: s,
                    _file: file,
                })
            }
        }
    }

    /// Receives one datagram; returns its length and the sender's IP (UDP only).
    pub(crate) fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, Option<IpAddr>)> {
        match self {
            DatagramSocket::Udp(s) => s.recv_from(buf).map(|(n, a)| (n, Some(a.ip()))),
            DatagramSocket::Unix { socket: s, .. } => s.recv_from(buf).map(|(n, _)| (n, None)),
        }
    }

    /// Sends one datagram to the connected peer.
    pub(crate) fn send(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            DatagramSocket::Udp(s) => s.send(buf),
            DatagramSocket::Unix { socket: s, .. } => s.send(buf),
        }
    }

    /// Sets the receive timeout.
    pub(crate) fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        match self {
            DatagramSocket::Udp(s) => s.set_read_timeout(d),
            DatagramSocket::Unix { socket: s, .. } => s.set_read_timeout(d),
        }
    }

    /// Asks for a receive buffer of `bytes` (the kernel caps it at `net.core.rmem_max`).
    pub(crate) fn set_recv_buffer(&self, bytes: usize) -> io::Result<()> {
        match self {
            DatagramSocket::Udp(s) => SockRef::from(s).set_recv_buffer_size(bytes),
            DatagramSocket::Unix { socket: s, .. } => SockRef::from(s).set_recv_buffer_size(bytes),
        }
    }

    /// Makes receives return at once (`WouldBlock`) when nothing is queued.
    pub(crate) fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        match self {
            DatagramSocket::Udp(s) => s.set_nonblocking(nonblocking),
            DatagramSocket::Unix { socket: s, .. } => s.set_nonblocking(nonblocking),
        }
    }

    /// The bound UDP address (None for Unix sockets).
    pub(crate) fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            DatagramSocket::Udp(s) => s.local_addr().ok(),
            DatagramSocket::Unix { .. } => None,
        }
    }

    /// A handle that wakes a blocked receive from another thread.
    pub(crate) fn closer(&self) -> io::Result<Closer> {
        Ok(match self {
            DatagramSocket::Udp(s) => Closer(Socket::from(s.try_clone()?)),
            DatagramSocket::Unix { socket: s, .. } => Closer(Socket::from(s.try_clone()?)),
        })
    }
}

/// Helpers for the plugin tests: free ports, in-process pipelines, waiting with a deadline,
/// framed messages.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::Path;
    use std::time::{Duration, Instant};

    use heka_message::Message;
    use heka_pipeline::runner::build::{Pipeline, Running};

    /// A FileOutput section writing every message, framed protobuf, to `path` at once.
    pub(crate) fn file_output(path: &Path) -> String {
        format!(
            "[FileOutput]\nmessage_matcher = 'TRUE'\npath = '{}'\nencoder = 'ProtobufEncoder'\nflush_interval = 0\n",
            path.display()
        )
    }

    /// A TCP socket bound to a free port of 127.0.0.1 that does not listen, and its address:
    /// connections to it are refused, and no one else can take the port while it is held
    /// (call `listen` on it to become the listener).
    pub(crate) fn bound_not_listening() -> (socket2::Socket, String) {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("socket");
        let any: std::net::SocketAddr = "127.0.0.1:0".parse().expect("address");
        s.bind(&any.into()).expect("bind");
        let addr = s
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .expect("bound address");
        (s, addr.to_string())
    }

    /// Stops `running`, failing the test if that takes more than `secs` seconds (stopping must
    /// not wait for clients or sockets; a hang fails clearly instead of blocking the suite).
    pub(crate) fn stop_within(running: Running, secs: u64) {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            running.stop();
            let _ = tx.send(());
        });
        assert!(
            rx.recv_timeout(Duration::from_secs(secs)).is_ok(),
            "stop did not return within {secs} s"
        );
    }

    /// The port the input `name` of `running` bound (configure it with `127.0.0.1:0`), once
    /// it has started: no test depends on a port staying free.
    pub(crate) fn bound_port(running: &Running, name: &str) -> u16 {
        wait_for(&format!("{name} to listen"), || {
            running
                .input_address(name)
                .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
                .map(|a| a.port())
        })
    }

    /// Builds and starts a pipeline from TOML with every built-in plugin.
    pub(crate) fn start(toml: &str) -> Running {
        let cfg = heka_pipeline::config::load_str(toml, Path::new("test.toml")).unwrap();
        let p = Pipeline::build(&cfg, &crate::builtin()).unwrap_or_else(|e| panic!("{e}"));
        p.start().unwrap()
    }

    /// The build errors of a pipeline that must not build.
    pub(crate) fn build_error(toml: &str) -> String {
        let cfg = heka_pipeline::config::load_str(toml, Path::new("test.toml")).unwrap();
        match Pipeline::build(&cfg, &crate::builtin()) {
            Ok(_) => panic!("pipeline built"),
            Err(e) => e.to_string(),
        }
    }

    /// Polls `f` until it returns `Some`, failing the test after 5 s.
    pub(crate) fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(v) = f() {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// A message with a type and payload.
    pub(crate) fn message(ty: &str, payload: &str) -> Message {
        let mut m = Message::new_now();
        m.set_type(ty.to_string());
        m.set_payload(payload.to_string());
        m
    }

    /// Every complete framed message in `buf`, with the header of each.
    pub(crate) fn unframe_all(buf: &[u8]) -> Vec<(heka_message::framing::Header, Message)> {
        let mut out = Vec::new();
        let mut off = 0;
        while off < buf.len() {
            let s = heka_message::framing::scan(&buf[off..], 1 << 20);
            let Some(f) = s.frame else { break };
            let m = Message::decode_slice(&buf[off..][f.message.clone()]).unwrap();
            out.push((f.header, m));
            off += s.consumed;
        }
        out
    }

    /// The payloads of the framed messages in `buf`.
    pub(crate) fn payloads(buf: &[u8]) -> Vec<String> {
        unframe_all(buf)
            .into_iter()
            .map(|(_, m)| String::from_utf8_lossy(m.payload_bytes()).into_owned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_udp_sockets_closer_wakes_its_receive_with_a_sender_address() {
        for address in ["0.0.0.0:0", "127.0.0.1:0"] {
            let socket = DatagramSocket::bind(DatagramNet::Udp(Family::V4), address).unwrap();
            let closer = socket.closer().unwrap();
            let receiver = std::thread::spawn(move || {
                let mut buf = [0u8; 16];
                socket.recv_from(&mut buf)
            });
            std::thread::sleep(Duration::from_millis(50));
            closer.close();
            // An empty datagram from the socket itself, with its address: not a shutdown's
            // "no sender", which std's recv_from reads from uninitialised memory.
            let (n, from) = receiver.join().unwrap().unwrap();
            assert_eq!(n, 0, "{address}");
            assert_eq!(from, Some(IpAddr::V4(Ipv4Addr::LOCALHOST)), "{address}");
        }
    }

    #[test]
    fn host_port_forms() {
        assert_eq!(split_host_port("127.0.0.1:5565"), Some(("127.0.0.1", 5565)));
        assert_eq!(split_host_port("[::1]:80"), Some(("::1", 80)));
        assert_eq!(split_host_port(":80"), Some(("", 80)));
        assert_eq!(split_host_port("::1:80"), None);
        assert_eq!(split_host_port("host"), None);
        assert_eq!(split_host_port("host:http"), None);
    }

    #[test]
    fn resolution_filters_families() {
        let v4 = resolve("127.0.0.1:1", Family::V4).unwrap();
        assert_eq!(v4, "127.0.0.1:1".parse().unwrap());
        assert!(matches!(
            resolve("127.0.0.1:1", Family::V6),
            Err(NetError::NoAddress { .. })
        ));
        assert_eq!(
            resolve(":7", Family::Any).unwrap(),
            "0.0.0.0:7".parse().unwrap()
        );
        assert_eq!(
            resolve(":7", Family::V6).unwrap(),
            "[::]:7".parse().unwrap()
        );
        assert!(matches!(
            StreamNet::parse("unixpacket"),
            Err(NetError::UnknownNet(_))
        ));
        assert_eq!(
            DatagramNet::parse("udp6").unwrap(),
            DatagramNet::Udp(Family::V6)
        );
    }

    #[test]
    fn listeners_tell_the_address_bound_and_unix_files_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let l = Listener::bind(StreamNet::Tcp(Family::V4), "127.0.0.1:0").unwrap();
        let addr: SocketAddr = l.local_addr().parse().unwrap();
        assert_eq!(addr.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_ne!(addr.port(), 0);
        let l = Listener::bind(StreamNet::Unix, &path.to_string_lossy()).unwrap();
        assert_eq!(l.local_addr(), path.display().to_string());
        assert!(path.exists());
        drop(l);
        assert!(!path.exists());
    }

    #[test]
    fn udp_and_unixgram_round_trip() {
        let rx = DatagramSocket::bind(DatagramNet::Udp(Family::V4), "127.0.0.1:0").unwrap();
        let addr = rx.local_addr().unwrap().to_string();
        let tx = DatagramSocket::connect(DatagramNet::Udp(Family::Any), &addr, None).unwrap();
        tx.send(b"ping").unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = rx.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"ping");
        assert_eq!(from, Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));

        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("g.sock");
        let ps = p.to_string_lossy().into_owned();
        let rx = DatagramSocket::bind(DatagramNet::Unixgram, &ps).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o666
        );
        let tx = DatagramSocket::connect(DatagramNet::Unixgram, &ps, None).unwrap();
        tx.send(b"pong").unwrap();
        let (n, from) = rx.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from), (&b"pong"[..], None));
        drop(rx);
        assert!(!p.exists());
    }
}

/// An output holding encoded bytes it has not yet written to one address: TcpOutput's
/// messages, CarbonOutput's lines. [`write_all_pending`] retries it.
pub(crate) trait PendingWrites {
    /// Where the bytes go, for log lines.
    fn address(&self) -> &str;
    /// Tries once to write everything pending; `stopping` tells a blocked write to give up.
    fn try_write(&mut self, stopping: &dyn Fn() -> bool) -> Result<(), String>;
    /// Whether the last attempt failed (so only the first failure is an error in the log).
    fn failing(&mut self) -> &mut bool;
    /// Drops everything pending; returns how many messages or lines that was.
    fn drop_pending(&mut self) -> usize;
}

/// Writes everything `w` has pending, retrying with back-off (10 ms doubling to 1 s); gives up
/// and drops the rest only after hekad has been stopping for the runner's shutdown grace.
/// `unit` names what is pending in the error ("messages", "lines").
pub(crate) fn write_all_pending(
    w: &mut impl PendingWrites,
    ctx: &heka_pipeline::plugin::OutputContext<'_>,
    unit: &str,
) -> Result<(), heka_pipeline::plugin::ProcessError> {
    let mut wait = Duration::from_millis(10);
    loop {
        let e = match w.try_write(&|| ctx.stopping()) {
            Ok(()) => {
                if std::mem::take(w.failing()) {
                    tracing::info!(output = %ctx.name(), "delivering to {} again", w.address());
                }
                return Ok(());
            }
            Err(e) => e,
        };
        if std::mem::replace(w.failing(), true) {
            tracing::debug!(output = %ctx.name(), "{e}; retrying");
        } else {
            tracing::error!(output = %ctx.name(), "{e}; retrying");
        }
        if ctx.stopping() {
            if ctx.shutdown_grace_over() {
                let n = w.drop_pending();
                return Err(heka_pipeline::plugin::ProcessError::Drop(format!(
                    "shutting down: {n} {unit} not delivered to {}: {e}",
                    w.address()
                )));
            }
            std::thread::sleep(wait);
        } else {
            ctx.sleep(wait);
        }
        wait = (wait * 2).min(Duration::from_secs(1));
    }
}

/// Takes a datagram input's bound socket for one run of the input: announces its address,
/// has hekad's stop close it (which wakes a blocked receive on Linux), and sets a one-second
/// read timeout as a backstop where closing does not wake it. Keep the returned guard for the
/// run: dropping it releases the stop's handle, so the socket closes when the run ends and a
/// restarted instance can bind again.
pub(crate) fn start_datagram_input(
    slot: &mut Option<DatagramSocket>,
    ctx: &mut heka_pipeline::plugin::InputContext,
) -> Result<(DatagramSocket, StopCloser), heka_pipeline::plugin::ProcessError> {
    use heka_pipeline::plugin::ProcessError;
    let socket = slot
        .take()
        .ok_or_else(|| ProcessError::Fatal("socket already used".into()))?;
    if let Some(a) = socket.local_addr() {
        ctx.listening_on(&a.to_string());
    }
    let closer = socket
        .closer()
        .map_err(|e| ProcessError::Fatal(format!("can't clone socket: {e}")))?;
    let guard = StopCloser(std::sync::Arc::new(parking_lot::Mutex::new(Some(closer))));
    let on_stop = guard.0.clone();
    ctx.on_stop(move || {
        if let Some(c) = on_stop.lock().take() {
            c.close();
        }
    });
    if let Err(e) = socket.set_read_timeout(Some(Duration::from_secs(1))) {
        tracing::warn!(input = %ctx.name(), "can't set a read timeout: {e}");
    }
    Ok((socket, guard))
}

/// Holds the handle hekad's stop uses to close a datagram input's socket; see
/// [`start_datagram_input`].
pub(crate) struct StopCloser(std::sync::Arc<parking_lot::Mutex<Option<Closer>>>);

impl Drop for StopCloser {
    fn drop(&mut self) {
        self.0.lock().take();
    }
}
