//! The loopback sink for many connections: the limit the many-connection cases are compared
//! with. It accepts every connection, then two threads (as many as hekad's TcpInput uses on
//! this machine) read them with readiness-based I/O (mio, as hekad does) and only count bytes.

use std::io::{self, Read};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use std::{fs, thread};

use anyhow::{Context, Result, bail};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

/// Reader threads.
const THREADS: usize = 2;

/// Accepts `conns` connections, reads until `bytes` bytes came over all of them, writes the
/// marker file, then reads on until every sender has closed.
pub(crate) fn many(listener: &TcpListener, conns: usize, bytes: u64, marker: &Path) -> Result<()> {
    let mut groups: Vec<Vec<std::net::TcpStream>> = (0..THREADS).map(|_| Vec::new()).collect();
    for i in 0..conns {
        let (c, _) = listener.accept().context("sink: accepting")?;
        c.set_nonblocking(true).context("sink: non-blocking")?;
        groups[i % THREADS].push(c);
    }
    let got = AtomicU64::new(0);
    let marked = AtomicBool::new(false);
    thread::scope(|scope| {
        let readers: Vec<_> = groups
            .into_iter()
            .map(|group| scope.spawn(|| read_all(group, bytes, marker, &got, &marked)))
            .collect();
        for r in readers {
            match r.join() {
                Ok(result) => result?,
                Err(_) => bail!("sink: a reader panicked"),
            }
        }
        Ok(())
    })
}

fn read_all(
    group: Vec<std::net::TcpStream>,
    bytes: u64,
    marker: &Path,
    got: &AtomicU64,
    marked: &AtomicBool,
) -> Result<()> {
    let mut poll = Poll::new().context("sink: poll")?;
    let mut socks: Vec<Option<TcpStream>> = Vec::with_capacity(group.len());
    for (i, c) in group.into_iter().enumerate() {
        let mut s = TcpStream::from_std(c);
        poll.registry()
            .register(&mut s, Token(i), Interest::READABLE)
            .context("sink: register")?;
        socks.push(Some(s));
    }
    let mut open = socks.len();
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 64 * 1024];
    while open > 0 {
        match poll.poll(&mut events, Some(Duration::from_millis(100))) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("sink: poll"),
        }
        for ev in events.iter() {
            let Some(slot) = socks.get_mut(ev.token().0) else {
                continue;
            };
            let Some(s) = slot.as_mut() else {
                continue;
            };
            loop {
                match s.read(&mut buf) {
                    Ok(0) => {
                        let _ = poll.registry().deregister(s);
                        *slot = None;
                        open -= 1;
                        break;
                    }
                    Ok(n) => {
                        let total = got.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
                        if total >= bytes && !marked.swap(true, Ordering::Relaxed) {
                            fs::write(marker, "END-OF-RUN\n")
                                .context("sink: writing the marker")?;
                        }
                        // A short read emptied the socket (edge-triggered: new data raises a
                        // new event).
                        if n < buf.len() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e).context("sink: reading"),
                }
            }
        }
    }
    Ok(())
}
