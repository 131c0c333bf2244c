//! The two workloads (framed Heka messages, 100-byte syslog lines) and the generator that
//! writes them over one TCP connection.

use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};
use heka_message::framing::encode_frame;
use heka_message::{DEFAULT_MAX_MESSAGE_SIZE, Field, Message};

/// Messages per pre-built chunk; the generator writes the chunk over and over.
const CHUNK_MESSAGES: usize = 8192;
/// Messages per write on each connection of the many-connection cases (about 13 KB framed).
const MESSAGES_PER_WRITE: usize = 64;
/// Length of every line of the line workload, newline included (peers.md W1).
pub(crate) const LINE_LEN: usize = 100;
/// Type of the data messages of the framed workload.
pub(crate) const DATA_TYPE: &str = "bench.msg";
/// Type of the final marker message of the framed workload.
pub(crate) const END_TYPE: &str = "bench.end";
/// Text that marks the final message (payload of the framed marker, content of the last line).
pub(crate) const END_TEXT: &str = "END-OF-RUN";

/// Which byte stream a case sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Workload {
    /// Heka stream framing around protobuf messages of about 200 bytes.
    Framed,
    /// Newline-terminated 100-byte syslog lines.
    Lines,
    /// One nginx access log read from a file (see `nginx.rs`, `logfile.rs`).
    Logfile,
    /// Nginx lines appended to many files in turn.
    ManyFiles,
}

/// A pre-built stream: a chunk of distinct messages repeated, then the end marker.
#[derive(Debug)]
pub(crate) struct Stream {
    /// `CHUNK_MESSAGES` encoded messages back to back.
    chunk: Vec<u8>,
    /// End offset in `chunk` of each message.
    ends: Vec<usize>,
    /// The final marker message.
    marker: Vec<u8>,
}

impl Stream {
    /// Builds the chunk and marker for `workload`.
    pub(crate) fn build(workload: Workload) -> Result<Stream> {
        let mut chunk = Vec::new();
        let mut ends = Vec::with_capacity(CHUNK_MESSAGES);
        let mut marker = Vec::new();
        match workload {
            Workload::Framed => {
                for i in 0..CHUNK_MESSAGES {
                    let msg = data_message(i).to_bytes();
                    encode_frame(&msg, None, DEFAULT_MAX_MESSAGE_SIZE, &mut chunk)
                        .context("framing a data message")?;
                    ends.push(chunk.len());
                }
                let mut end = Message::new_now();
                end.set_type(END_TYPE);
                end.set_logger("heka-bench");
                end.set_payload(END_TEXT);
                encode_frame(&end.to_bytes(), None, DEFAULT_MAX_MESSAGE_SIZE, &mut marker)
                    .context("framing the end marker")?;
            }
            Workload::Logfile | Workload::ManyFiles => {
                anyhow::bail!("the log-file workloads are not TCP streams");
            }
            Workload::Lines => {
                for i in 0..CHUNK_MESSAGES {
                    chunk.extend_from_slice(&syslog_line(i));
                    ends.push(chunk.len());
                }
                // A full syslog line: a bare word would be taken as the tag by rsyslog's
                // RFC 3164 parser, leaving `$msg` empty.
                marker.extend_from_slice(
                    format!("<13>Oct 11 22:14:15 host007 heka-bench: {END_TEXT}\n").as_bytes(),
                );
            }
        }
        Ok(Stream {
            chunk,
            ends,
            marker,
        })
    }

    /// Average size of one data message on the wire, in bytes.
    pub(crate) fn message_size(&self) -> f64 {
        self.chunk.len() as f64 / self.ends.len() as f64
    }

    /// Size of one data message if all have the same size (true for both workloads).
    pub(crate) fn uniform_message_size(&self) -> Option<usize> {
        let first = *self.ends.first()?;
        let uniform = self
            .ends
            .windows(2)
            .all(|w| w[1].checked_sub(w[0]) == Some(first));
        uniform.then_some(first)
    }

    /// Bytes on the wire for `count` data messages plus the marker.
    pub(crate) fn total_bytes(&self, count: u64) -> u64 {
        let per_chunk = self.ends.len() as u64;
        let full = count / per_chunk;
        let rest = (count % per_chunk) as usize;
        let rest_bytes = if rest == 0 { 0 } else { self.ends[rest - 1] };
        full * self.chunk.len() as u64 + rest_bytes as u64 + self.marker.len() as u64
    }

    /// Writes `count` data messages then the marker to `conn`, counting sent messages in
    /// `sent`. Returns the instant the first byte was handed to the kernel and the CPU time
    /// this thread used.
    pub(crate) fn send(
        &self,
        conn: &mut TcpStream,
        count: u64,
        sent: &Arc<AtomicU64>,
    ) -> Result<(Instant, f64)> {
        let cpu_before = crate::procfs::thread_cpu_seconds().unwrap_or(0.0);
        let per_chunk = self.ends.len() as u64;
        let started = Instant::now();
        let mut left = count;
        while left >= per_chunk {
            conn.write_all(&self.chunk)
                .context("sending to the daemon")?;
            left -= per_chunk;
            sent.fetch_add(per_chunk, Ordering::Relaxed);
        }
        if left > 0 {
            let end = self.ends[left as usize - 1];
            conn.write_all(&self.chunk[..end])
                .context("sending to the daemon")?;
            sent.fetch_add(left, Ordering::Relaxed);
        }
        conn.write_all(&self.marker)
            .context("sending the end marker")?;
        conn.flush().context("flushing the connection")?;
        let cpu = crate::procfs::thread_cpu_seconds().unwrap_or(0.0) - cpu_before;
        Ok((started, cpu))
    }
}

impl Stream {
    /// Like [`Stream::send`] over many connections at once: every connection in turn gets the
    /// next slice of [`MESSAGES_PER_WRITE`] messages of the chunk (wrapping round it), so every
    /// connection streams all the time and each write is as big as a busy agent's. The marker
    /// goes last, on the first connection.
    pub(crate) fn send_many<W: Write>(
        &self,
        conns: &mut [W],
        count: u64,
        sent: &Arc<AtomicU64>,
    ) -> Result<(Instant, f64)> {
        let cpu_before = crate::procfs::thread_cpu_seconds().unwrap_or(0.0);
        // Slices of the chunk: (first message, end message).
        let slices: Vec<(usize, usize)> = (0..self.ends.len())
            .step_by(MESSAGES_PER_WRITE)
            .map(|first| (first, (first + MESSAGES_PER_WRITE).min(self.ends.len())))
            .collect();
        let started = Instant::now();
        let mut left = count;
        let mut next = 0usize;
        'rounds: while left > 0 {
            for conn in conns.iter_mut() {
                if left == 0 {
                    break 'rounds;
                }
                let (first, end) = slices[next % slices.len()];
                next += 1;
                let last = end.min(first + left as usize);
                let from = if first == 0 { 0 } else { self.ends[first - 1] };
                conn.write_all(&self.chunk[from..self.ends[last - 1]])
                    .context("sending to the daemon")?;
                sent.fetch_add((last - first) as u64, Ordering::Relaxed);
                left -= (last - first) as u64;
            }
            if conns.is_empty() {
                break;
            }
        }
        let first = conns
            .first_mut()
            .ok_or_else(|| anyhow::anyhow!("no connections"))?;
        first
            .write_all(&self.marker)
            .context("sending the end marker")?;
        for c in conns.iter_mut() {
            c.flush().context("flushing a connection")?;
        }
        let cpu = crate::procfs::thread_cpu_seconds().unwrap_or(0.0) - cpu_before;
        Ok((started, cpu))
    }
}

/// Data message `i` of the framed workload (about 200 bytes encoded).
fn data_message(i: usize) -> Message {
    let mut msg = Message::new_now();
    msg.set_type(DATA_TYPE);
    msg.set_logger("heka-bench");
    msg.set_hostname("host007");
    msg.severity = Some(6);
    msg.pid = Some(1007);
    let mut payload = format!(
        "user=u{:04} action=login status=ok id={:06} ",
        i % 10_000,
        i
    );
    payload.extend(std::iter::repeat_n('x', 100 - payload.len()));
    msg.set_payload(payload);
    msg.fields.push(Field::new_string("status", "ok"));
    msg.fields
        .push(Field::new_integer("bytes", 1000 + (i % 9000) as i64).with_representation("B"));
    msg
}

/// Line `i` of the line workload: exactly [`LINE_LEN`] bytes ending in `\n`.
fn syslog_line(i: usize) -> Vec<u8> {
    let mut line = format!(
        "<13>Oct 11 22:14:15 host{:03} sshd[{}]: user=u{:04} action=login status=ok id={:06} ",
        i % 1000,
        1000 + i % 9000,
        i % 10_000,
        i % 1_000_000
    )
    .into_bytes();
    line.resize(LINE_LEN - 1, b'x');
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use heka_message::framing::scan;

    #[test]
    fn lines_are_exactly_100_bytes_and_only_the_marker_says_end() {
        let s = Stream::build(Workload::Lines).unwrap();
        assert_eq!(s.uniform_message_size(), Some(LINE_LEN));
        for line in s.chunk.chunks(LINE_LEN) {
            assert_eq!(line.len(), LINE_LEN);
            assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
            assert_eq!(line[LINE_LEN - 1], b'\n');
            assert!(line.starts_with(b"<13>Oct 11 22:14:15 host"));
        }
        let text = String::from_utf8(s.chunk.clone()).unwrap();
        assert!(!text.contains(END_TEXT));
        assert_eq!(
            s.marker,
            b"<13>Oct 11 22:14:15 host007 heka-bench: END-OF-RUN\n"
        );
    }

    #[test]
    fn framed_chunk_holds_decodable_messages_of_about_200_bytes() {
        let s = Stream::build(Workload::Framed).unwrap();
        let size = s.uniform_message_size().unwrap();
        assert!((180..=230).contains(&size), "frame size {size}");
        let mut buf = &s.chunk[..];
        let mut n = 0;
        while !buf.is_empty() {
            let sc = scan(buf, DEFAULT_MAX_MESSAGE_SIZE);
            let frame = sc.frame.unwrap();
            let msg = Message::decode_slice(&buf[frame.message.clone()]).unwrap();
            assert_eq!(msg.type_bytes(), DATA_TYPE.as_bytes());
            assert_eq!(msg.payload_bytes().len(), 100);
            assert_eq!(msg.fields.len(), 2);
            buf = &buf[sc.consumed..];
            n += 1;
        }
        assert_eq!(n, CHUNK_MESSAGES);
        let sc = scan(&s.marker, DEFAULT_MAX_MESSAGE_SIZE);
        let frame = sc.frame.unwrap();
        let end = Message::decode_slice(&s.marker[frame.message]).unwrap();
        assert_eq!(end.type_bytes(), END_TYPE.as_bytes());
        assert_eq!(end.payload_bytes(), END_TEXT.as_bytes());
    }

    #[test]
    fn send_many_gives_each_connection_whole_slices_in_turn() {
        let s = Stream::build(Workload::Lines).unwrap();
        let mut conns = vec![Vec::new(), Vec::new(), Vec::new()];
        let sent = Arc::new(AtomicU64::new(0));
        // More than one chunk, so the slices wrap round it, and a partial last slice.
        let count = CHUNK_MESSAGES as u64 + 3 * MESSAGES_PER_WRITE as u64 + 7;
        s.send_many(&mut conns, count, &sent).unwrap();
        assert_eq!(sent.load(Ordering::Relaxed), count);
        let lines: u64 = conns.iter().map(|c| c.len() as u64 / 100).sum();
        // Every line once, plus the marker on the first connection.
        assert_eq!(lines, count);
        assert!(conns[0].ends_with(&s.marker));
        let total: u64 = conns.iter().map(|c| c.len() as u64).sum();
        assert_eq!(total, s.total_bytes(count));
        // Each connection got whole lines only.
        for c in &conns[1..] {
            assert_eq!(c.len() % 100, 0);
        }
    }

    #[test]
    fn total_bytes_counts_partial_chunks_and_the_marker() {
        let s = Stream::build(Workload::Lines).unwrap();
        let m = s.marker.len() as u64;
        assert_eq!(s.total_bytes(0), m);
        assert_eq!(s.total_bytes(3), 300 + m);
        let n = CHUNK_MESSAGES as u64 * 2 + 5;
        assert_eq!(s.total_bytes(n), n * 100 + m);
    }
}
