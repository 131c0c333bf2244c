//! Many stream connections on a few threads: readiness-based I/O with mio.
//!
//! The input's own thread accepts; a fixed set of worker threads (one per core, at most
//! [`MAX_WORKERS`]) each own a share of the connections and wait on one `epoll` set. A
//! connection holds one descriptor, its [`Stream`] (splitter and decoder state plus the bytes of
//! an incomplete record) and, with TLS, its rustls session; the 64 KiB read buffer belongs to the
//! worker. Splitters and decoders stay synchronous: a worker reads what is ready and hands the
//! bytes to the connection's stream.
//!
//! Back-pressure: streams are non-blocking. When a destination is full, the connection's stream
//! keeps the deliveries it could not send and the worker stops reading that connection (its
//! socket buffer fills and the peer's writes stall) while it serves the others; it retries the
//! kept deliveries every millisecond until they are sent.
//!
//! Memory stays bounded when many connections are held back at once: each holds at most what one
//! read brought, and once a worker's held-back connections hold [`MAX_HELD_PER_WORKER`]
//! messages, it reads no connection until some of them are sent. Below that, a full
//! destination delays only the connections that send it something.
//!
//! Accept errors for lack of descriptors back off for 100 ms and are logged once per interval.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam_channel::{Receiver, Sender};
use heka_pipeline::plugin::{Connections, InputContext, ProcessError, Stream};
use mio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use mio::{Events, Interest, Poll, Token, Waker};
use rustls::{ServerConfig, ServerConnection};

use crate::support::net::{Listener, set_keepalive};

/// Most worker threads one input uses.
pub(crate) const MAX_WORKERS: usize = 4;

/// Bytes read from a socket at a time (one buffer per worker).
const READ_SIZE: usize = 64 * 1024;

/// Reads from one connection before the worker turns to the others.
const READS_PER_TURN: usize = 16;

/// Decoded messages a worker's held-back connections may hold before it stops reading.
const MAX_HELD_PER_WORKER: usize = 8 * 1024;

/// How often a connection whose deliveries wait for a full destination tries again.
const RETRY_BLOCKED: Duration = Duration::from_millis(1);

/// Wait after an accept failed for lack of resources.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Accept failures are logged at most this often.
const ACCEPT_LOG_INTERVAL: Duration = Duration::from_secs(10);

const LISTENER: Token = Token(usize::MAX - 1);
const WAKER: Token = Token(usize::MAX);

/// How connections are set up.
pub(crate) struct ServeOptions {
    /// Wrap connections in TLS.
    pub(crate) tls: Option<Arc<ServerConfig>>,
    /// TCP keep-alive: `Some(None)` on with OS timing, `Some(Some(p))` with period `p`.
    pub(crate) keep_alive: Option<Option<Duration>>,
    /// Decorate messages built from records with Type = this (the input's name).
    pub(crate) message_type: Bytes,
}

/// A listening socket registered with mio.
enum MioListener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

/// An accepted connection's socket.
enum Sock {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Read for Sock {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Sock::Tcp(s) => s.read(buf),
            Sock::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Sock {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sock::Tcp(s) => s.write(buf),
            Sock::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Sock {
    fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Sock::Tcp(s) => s,
            Sock::Unix(s) => s,
        }
    }
}

/// A new connection handed to a worker.
struct NewConn {
    sock: Sock,
    peer: String,
    stream: Stream,
}

/// One worker thread's handle.
struct Worker {
    tx: Sender<NewConn>,
    waker: Arc<Waker>,
    thread: std::thread::JoinHandle<()>,
}

/// Accepts on `listener` and serves every connection until the input stops.
pub(crate) fn serve(
    listener: Listener,
    ctx: &mut InputContext,
    opts: ServeOptions,
) -> Result<(), ProcessError> {
    let fatal = |what: &str, e: io::Error| ProcessError::Fatal(format!("{what}: {e}"));
    let (mut listener, _socket_file) = match listener {
        Listener::Tcp(l) => {
            l.set_nonblocking(true).map_err(|e| fatal("listener", e))?;
            (MioListener::Tcp(TcpListener::from_std(l)), None)
        }
        Listener::Unix { listener, _file } => {
            listener
                .set_nonblocking(true)
                .map_err(|e| fatal("listener", e))?;
            (
                MioListener::Unix(UnixListener::from_std(listener)),
                Some(_file),
            )
        }
    };
    let mut poll = Poll::new().map_err(|e| fatal("poll", e))?;
    match &mut listener {
        MioListener::Tcp(l) => poll.registry().register(l, LISTENER, Interest::READABLE),
        MioListener::Unix(l) => poll.registry().register(l, LISTENER, Interest::READABLE),
    }
    .map_err(|e| fatal("poll", e))?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(|e| fatal("poll", e))?);
    {
        let w = waker.clone();
        ctx.on_stop(move || {
            let _ = w.wake();
        });
    }
    let stop = Arc::new(AtomicBool::new(false));
    // Why a worker panicked: the input then fails, and its runner restarts it per `retries`.
    let crashed: Crashed = Arc::default();
    let conns = ctx.connections();
    let n = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_WORKERS);
    let mut workers = Vec::with_capacity(n);
    for i in 0..n {
        let report = (crashed.clone(), waker.clone());
        match start_worker(
            ctx.name(),
            i,
            stop.clone(),
            conns.clone(),
            opts.tls.clone(),
            report,
        ) {
            Ok(w) => workers.push(w),
            Err(e) => {
                stop_workers(&stop, workers);
                return Err(fatal("starting a connection worker", e));
            }
        }
    }
    let mut events = Events::with_capacity(64);
    let mut next = 0usize;
    let mut paused_until: Option<Instant> = None;
    let mut failures = AcceptFailures::default();
    let name = ctx.name().to_string();
    let result = loop {
        if ctx.stopping() {
            break Ok(());
        }
        let timeout = paused_until.map(|t| t.saturating_duration_since(Instant::now()));
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            break Err(fatal("poll", e));
        }
        if let Some(what) = crashed.lock().ok().and_then(|mut c| c.take()) {
            break Err(ProcessError::Fatal(format!(
                "a connection worker {what}: its connections are lost"
            )));
        }
        if let Some(t) = paused_until {
            if Instant::now() < t {
                continue;
            }
            paused_until = None;
        }
        // Accept everything waiting (edge-triggered: until WouldBlock).
        loop {
            let accepted = match &listener {
                MioListener::Tcp(l) => l.accept().map(|(s, a)| (Sock::Tcp(s), a.to_string())),
                MioListener::Unix(l) => l.accept().map(|(s, _)| (Sock::Unix(s), String::new())),
            };
            let (sock, peer) = match accepted {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    failures.record(&name, &e);
                    if out_of_resources(&e) {
                        paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
                        break;
                    }
                    continue;
                }
            };
            if let (Some(period), Sock::Tcp(s)) = (opts.keep_alive, &sock)
                && let Err(e) = set_keepalive(s, period)
            {
                tracing::warn!(input = %name, "can't set keep-alive: {e}");
            }
            let mut stream = match ctx.stream_decoding_inline() {
                Ok(s) => s,
                Err(e) => {
                    stop_workers(&stop, workers);
                    return Err(e);
                }
            };
            stream.set_decoration(
                Some(opts.message_type.clone()),
                (!peer.is_empty()).then(|| Bytes::from(peer.clone())),
            );
            stream.set_nonblocking(true);
            conns.opened();
            let w = &workers[next % workers.len()];
            next = next.wrapping_add(1);
            if w.tx.send(NewConn { sock, peer, stream }).is_err() {
                conns.closed();
                tracing::error!(input = %name, "a connection worker has stopped");
                continue;
            }
            let _ = w.waker.wake();
        }
    };
    stop_workers(&stop, workers);
    result
}

fn stop_workers(stop: &AtomicBool, workers: Vec<Worker>) {
    stop.store(true, Ordering::Release);
    for w in &workers {
        let _ = w.waker.wake();
    }
    for w in workers {
        let _ = w.thread.join();
    }
}

/// Whether an accept error means "no descriptors or memory now": wait before trying again.
fn out_of_resources(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Accept failures, logged at most once per [`ACCEPT_LOG_INTERVAL`].
#[derive(Default)]
struct AcceptFailures {
    last_log: Option<Instant>,
    suppressed: u64,
}

impl AcceptFailures {
    fn record(&mut self, input: &str, e: &io::Error) {
        if self
            .last_log
            .is_some_and(|t| t.elapsed() < ACCEPT_LOG_INTERVAL)
        {
            self.suppressed += 1;
            return;
        }
        if self.suppressed > 0 {
            tracing::error!(
                input,
                "TCP accept failed: {e} ({} more since the last report)",
                self.suppressed
            );
        } else {
            tracing::error!(input, "TCP accept failed: {e}");
        }
        self.last_log = Some(Instant::now());
        self.suppressed = 0;
    }
}

/// Where a worker that panicked leaves why.
type Crashed = Arc<Mutex<Option<String>>>;

/// Unit tests: the worker of the input of this name panics at its next new connection.
#[cfg(test)]
pub(crate) static PANIC_IN_WORKER: Mutex<Option<String>> = Mutex::new(None);

fn start_worker(
    input: &str,
    i: usize,
    stop: Arc<AtomicBool>,
    conns: Connections,
    tls: Option<Arc<ServerConfig>>,
    (crashed, acceptor): (Crashed, Arc<Waker>),
) -> io::Result<Worker> {
    let poll = Poll::new()?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
    let (tx, rx) = crossbeam_channel::unbounded();
    let mut w = WorkerLoop {
        input: input.to_string(),
        poll,
        rx,
        stop,
        conns,
        tls,
        slots: Vec::new(),
        free: Vec::new(),
        ready: VecDeque::new(),
        blocked: Vec::new(),
        over_budget: false,
        scratch: vec![0; READ_SIZE],
    };
    let thread = std::thread::Builder::new()
        .name(format!(
            "{}-io{i}",
            input.chars().take(10).collect::<String>()
        ))
        .spawn(move || {
            if let Err(what) = heka_pipeline::runner::catch_panic(|| w.run()) {
                if let Ok(mut c) = crashed.lock() {
                    *c = Some(what);
                }
                let _ = acceptor.wake();
            }
        })?;
    Ok(Worker { tx, waker, thread })
}

/// Where a connection stands after its turn.
enum Turn {
    /// Read until the socket had nothing more: wait for the next readiness event.
    Idle,
    /// Still readable after its share of reads: serve it again after the others.
    Again,
    /// Its deliveries wait for a full destination: read nothing until they are sent.
    Blocked,
    /// End of stream or an error: finish the stream and close.
    Closed,
}

/// One connection.
struct Conn {
    sock: Option<Sock>,
    tls: Option<ServerConnection>,
    stream: Stream,
    peer: String,
    /// Queued in `ready` (so it is not queued twice).
    queued: bool,
    /// Closed, with deliveries still waiting to be sent.
    closing: bool,
}

struct WorkerLoop {
    input: String,
    poll: Poll,
    rx: Receiver<NewConn>,
    stop: Arc<AtomicBool>,
    conns: Connections,
    tls: Option<Arc<ServerConfig>>,
    /// Connections by token; boxed, so that the slots of closed connections cost a pointer.
    slots: Vec<Option<Box<Conn>>>,
    free: Vec<usize>,
    ready: VecDeque<usize>,
    blocked: Vec<usize>,
    /// The held-back connections hold too much: read nothing until they send some.
    over_budget: bool,
    scratch: Vec<u8>,
}

impl WorkerLoop {
    fn run(&mut self) {
        let mut events = Events::with_capacity(1024);
        loop {
            if self.stop.load(Ordering::Acquire) {
                break;
            }
            let timeout = if !self.ready.is_empty() && !self.over_budget {
                Some(Duration::ZERO)
            } else if !self.blocked.is_empty() {
                Some(RETRY_BLOCKED)
            } else {
                None
            };
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                tracing::error!(input = %self.input, "poll failed: {e}");
                break;
            }
            for ev in events.iter() {
                match ev.token() {
                    WAKER => self.take_new(),
                    Token(id) => self.mark_ready(id),
                }
            }
            let mut held = self.retry_blocked();
            for _ in 0..self.ready.len() {
                if held >= MAX_HELD_PER_WORKER {
                    // Read nothing more until what is held back shrinks; the rest stay ready.
                    break;
                }
                let Some(id) = self.ready.pop_front() else {
                    break;
                };
                held += self.turn(id);
            }
            self.over_budget = held >= MAX_HELD_PER_WORKER;
        }
        self.shut_down();
    }

    fn take_new(&mut self) {
        #[cfg(test)]
        if let Ok(mut p) = PANIC_IN_WORKER.lock()
            && p.as_deref() == Some(self.input.as_str())
        {
            *p = None;
            drop(p);
            panic!("worker test panic");
        }
        while let Ok(nc) = self.rx.try_recv() {
            let id = self.free.pop().unwrap_or_else(|| {
                self.slots.push(None);
                self.slots.len() - 1
            });
            let mut sock = nc.sock;
            let interest = if self.tls.is_some() {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            if let Err(e) = self
                .poll
                .registry()
                .register(sock.source(), Token(id), interest)
            {
                tracing::error!(input = %self.input, "can't watch the connection from {}: {e}", nc.peer);
                self.free.push(id);
                self.conns.closed();
                continue;
            }
            let tls = match &self.tls {
                None => None,
                Some(cfg) => match ServerConnection::new(cfg.clone()) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        tracing::error!(input = %self.input, "TLS setup for {} failed: {e}", nc.peer);
                        let _ = self.poll.registry().deregister(sock.source());
                        self.free.push(id);
                        self.conns.closed();
                        continue;
                    }
                },
            };
            self.slots[id] = Some(Box::new(Conn {
                sock: Some(sock),
                tls,
                stream: nc.stream,
                peer: nc.peer,
                queued: false,
                closing: false,
            }));
            // Data may have arrived before the registration.
            self.mark_ready(id);
        }
    }

    fn mark_ready(&mut self, id: usize) {
        if let Some(Some(c)) = self.slots.get_mut(id)
            && !c.queued
            && !c.closing
            && !c.stream.is_blocked()
        {
            c.queued = true;
            self.ready.push_back(id);
        }
    }

    /// Retries the held-back connections; returns how many messages they still hold.
    fn retry_blocked(&mut self) -> usize {
        let blocked = std::mem::take(&mut self.blocked);
        let mut held = 0;
        for id in blocked {
            let Some(Some(c)) = self.slots.get_mut(id) else {
                continue;
            };
            if !c.stream.retry() {
                held += c.stream.blocked_messages();
                self.blocked.push(id);
            } else if c.closing {
                self.remove(id);
            } else {
                // It was not read to WouldBlock: no readiness event will come for what waits.
                self.mark_ready(id);
            }
        }
        held
    }

    /// Serves one connection; returns how many messages it now holds back.
    fn turn(&mut self, id: usize) -> usize {
        let Some(Some(c)) = self.slots.get_mut(id) else {
            return 0;
        };
        c.queued = false;
        let t = match c.tls.as_mut() {
            None => plain_turn(c, &mut self.scratch),
            Some(_) => tls_turn(c, &mut self.scratch),
        };
        let held = c.stream.blocked_messages();
        match t {
            Turn::Idle => {}
            Turn::Again => self.mark_ready(id),
            Turn::Blocked => self.blocked.push(id),
            Turn::Closed => self.close(id),
        }
        held
    }

    /// Closes the socket and finishes the stream; the connection stays until what its stream
    /// holds has been sent.
    fn close(&mut self, id: usize) {
        let Some(Some(c)) = self.slots.get_mut(id) else {
            return;
        };
        if let Some(tls) = c.tls.as_mut()
            && let Some(sock) = c.sock.as_mut()
        {
            tls.send_close_notify();
            let _ = tls.write_tls(sock);
        }
        if let Some(mut sock) = c.sock.take() {
            let _ = self.poll.registry().deregister(sock.source());
        }
        tracing::debug!(input = %self.input, "connection from {} closed", c.peer);
        c.stream.finish();
        if c.stream.is_blocked() {
            c.closing = true;
            self.blocked.push(id);
        } else {
            self.remove(id);
        }
    }

    fn remove(&mut self, id: usize) {
        if let Some(slot) = self.slots.get_mut(id)
            && slot.take().is_some()
        {
            self.free.push(id);
            self.conns.closed();
        }
    }

    /// hekad is stopping: every stream routes what it has (waiting as needed) and closes.
    fn shut_down(&mut self) {
        // Connections handed over but not yet taken.
        self.take_new();
        for id in 0..self.slots.len() {
            if let Some(c) = self.slots[id].as_mut() {
                if let Some(mut sock) = c.sock.take() {
                    let _ = self.poll.registry().deregister(sock.source());
                }
                c.stream.set_nonblocking(false);
                c.stream.finish();
            }
            self.remove(id);
        }
    }
}

/// Reads a plain connection until it would block, its turn is over, or its stream is blocked.
fn plain_turn(c: &mut Conn, scratch: &mut [u8]) -> Turn {
    let Some(sock) = c.sock.as_mut() else {
        return Turn::Closed;
    };
    for _ in 0..READS_PER_TURN {
        match c.stream.read_with(sock, scratch) {
            Ok(0) => return Turn::Closed,
            Ok(n) => {
                if c.stream.is_blocked() {
                    return Turn::Blocked;
                }
                if n < scratch.len() {
                    // A short read took everything the socket held. Readiness is edge-triggered
                    // and the next data to arrive raises a new event, so the read that would only
                    // say "would block" is saved (one system call per turn with many small
                    // connections; tokio does the same).
                    return Turn::Idle;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Turn::Idle,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                tracing::debug!("connection from {} ended: {e}", c.peer);
                return Turn::Closed;
            }
        }
    }
    Turn::Again
}

/// The same for a TLS connection: TLS records in, plaintext to the stream, handshake and alert
/// bytes out.
fn tls_turn(c: &mut Conn, scratch: &mut [u8]) -> Turn {
    let (Some(sock), Some(tls)) = (c.sock.as_mut(), c.tls.as_mut()) else {
        return Turn::Closed;
    };
    let mut turn = Turn::Again;
    for _ in 0..READS_PER_TURN {
        match tls.read_tls(sock) {
            Ok(0) => {
                turn = Turn::Closed;
                break;
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                turn = Turn::Idle;
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::debug!("connection from {} ended: {e}", c.peer);
                return Turn::Closed;
            }
        }
        if let Err(e) = tls.process_new_packets() {
            tracing::error!("TLS connection from {} failed: {e}", c.peer);
            // Send the alert, best effort.
            let _ = tls.write_tls(sock);
            return Turn::Closed;
        }
        // Everything decrypted goes to the stream (rustls buffers little).
        loop {
            match tls.reader().read(scratch) {
                Ok(0) => {
                    turn = Turn::Closed;
                    break;
                }
                Ok(n) => c.stream.push_bytes(&scratch[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    tracing::debug!("connection from {} ended: {e}", c.peer);
                    return Turn::Closed;
                }
            }
        }
        if matches!(turn, Turn::Closed) {
            break;
        }
        if c.stream.is_blocked() {
            turn = Turn::Blocked;
            break;
        }
    }
    while tls.wants_write() {
        match tls.write_tls(sock) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                tracing::debug!("connection from {} ended: {e}", c.peer);
                return Turn::Closed;
            }
        }
    }
    if matches!(turn, Turn::Again | Turn::Idle) && c.stream.is_blocked() {
        return Turn::Blocked;
    }
    turn
}
