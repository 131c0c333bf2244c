//! One input stream: Heka's splitter runner and deliverer in one object.
//!
//! An input creates one [`Stream`] per connection (or file) and feeds it bytes. The stream asks
//! its splitter for records, turns each record into a pack (the message bytes for framing
//! splitters, or a new message with the record as payload), decodes it inline and collects the
//! packs into a batch that goes to the router once the bytes of one read are used up (or the
//! batch is full).
//!
//! Memory follows what is held: the complete records of one read are copied once into one
//! buffer of exactly their size, which their messages share (protobuf decoding borrows from
//! it); only the bytes of an incomplete record stay with the stream, in a buffer that grows
//! while that record needs the room and shrinks again after it.
//!
//! Heka decodes on a separate goroutine unless `synchronous_decode` is set; we always decode in
//! the input's thread (one decoder instance per stream), which saves a hop per message and lets
//! several connections decode in parallel.
//!
//! Routing: a blocking stream (the default) waits while a destination is full. A non-blocking
//! stream ([`Stream::set_nonblocking`], for inputs that serve many connections on one thread)
//! keeps what it could not send; the input then stops reading it until [`Stream::retry`]
//! succeeds, so back-pressure reaches that connection's socket alone.

use std::io::Read;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use heka_message::{Field, Message, framing::max_record_size};

use crate::config::ConfigError;
use crate::pack::{AckTracker, Pack};
use crate::plugin::{CodecError, Decoded, Decoder, Splitter};
use crate::router::{self, Lane, MAX_BATCH, Pending, Router};
use crate::runner::catch_panic;

/// Read size of [`Stream::read_from`].
const MIN_READ: usize = 64 * 1024;

/// A leftover buffer larger than this is given back once its record is done.
const KEEP_LEFTOVER: usize = 16 * 1024;

/// Creates plugin instances for a stream.
pub(crate) type Factory<T> = Arc<dyn Fn() -> Result<Box<T>, ConfigError> + Send + Sync>;

/// Splitter options common to every splitter (Heka's `CommonSplitterConfig`), resolved.
#[derive(Debug, Clone)]
pub(crate) struct SplitterOptions {
    pub(crate) keep_truncated: bool,
    pub(crate) use_message_bytes: bool,
    pub(crate) min_buffer_size: usize,
    pub(crate) deliver_incomplete_final: bool,
}

/// Counters shared by every stream of one input.
#[derive(Debug, Default)]
pub(crate) struct StreamStats {
    pub(crate) records: AtomicU64,
    pub(crate) decode_failures: AtomicU64,
    pub(crate) oversized: AtomicU64,
    /// Whether the input serves connections (then the report shows the counts below).
    pub(crate) serves_connections: std::sync::atomic::AtomicBool,
    pub(crate) connections_open: std::sync::atomic::AtomicI64,
    pub(crate) connections_accepted: AtomicU64,
    /// The address the input listens on, when it told (shown in the report).
    pub(crate) address: parking_lot::Mutex<String>,
}

/// What every stream of one input shares.
pub(crate) struct StreamShared {
    pub(crate) input_name: String,
    pub(crate) logger: Bytes,
    pub(crate) splitter: Factory<dyn Splitter>,
    pub(crate) splitter_options: SplitterOptions,
    pub(crate) decoder: Option<Factory<dyn Decoder>>,
    pub(crate) send_decode_failures: bool,
    pub(crate) log_decode_failures: bool,
    pub(crate) max_message_size: u32,
    pub(crate) router: Arc<Router>,
    pub(crate) stats: Arc<StreamStats>,
}

/// A byte stream being split, decoded and routed. See the module docs.
pub struct Stream {
    shared: Arc<StreamShared>,
    splitter: Box<dyn Splitter>,
    decoder: Option<Box<dyn Decoder>>,
    /// The bytes of an incomplete record.
    buf: Vec<u8>,
    records: Vec<(Range<usize>, Option<Bytes>)>,
    batch: Vec<Pack>,
    extra: Vec<Pack>,
    ack: Option<AckTracker>,
    max_record: usize,
    decorate_type: Option<Bytes>,
    decorate_hostname: Option<Bytes>,
    /// Pid set on the messages built from records (see [`Stream::set_pid`]).
    decorate_pid: Option<i32>,
    /// Fields added to the messages built from records (see [`Stream::set_fields`]).
    decorate_fields: Vec<Field>,
    /// Logger of the messages built from records, when not the input's name.
    logger: Option<Bytes>,
    /// Read buffer of [`Stream::read_from`] (allocated on first use).
    scratch: Vec<u8>,
    nonblocking: bool,
    /// Deliveries a non-blocking stream could not send yet, in order.
    pending: Vec<Pending>,
}

impl Stream {
    pub(crate) fn new(shared: Arc<StreamShared>) -> Result<Stream, ConfigError> {
        let splitter = (shared.splitter)()?;
        let decoder = match &shared.decoder {
            Some(f) => Some(f()?),
            None => None,
        };
        let max_record = max_record_size(shared.max_message_size);
        Ok(Stream {
            buf: Vec::new(),
            shared,
            splitter,
            decoder,
            records: Vec::new(),
            batch: Vec::new(),
            extra: Vec::new(),
            ack: None,
            max_record,
            decorate_type: None,
            decorate_hostname: None,
            decorate_pid: None,
            decorate_fields: Vec::new(),
            logger: None,
            scratch: Vec::new(),
            nonblocking: false,
            pending: Vec::new(),
        })
    }

    /// Heka's pack decorator: sets Type and Hostname on the messages this stream builds from
    /// records (only when the splitter does not deliver message bytes).
    pub fn set_decoration(&mut self, message_type: Option<Bytes>, hostname: Option<Bytes>) {
        // Every message of the stream carries them: kept without a reference count.
        self.decorate_type = message_type.map(|t| heka_message::intern(&t));
        self.decorate_hostname = hostname.map(|h| heka_message::intern(&h));
    }

    /// Sets the Pid of the messages this stream builds from records (only when the splitter
    /// does not deliver message bytes).
    pub fn set_pid(&mut self, pid: Option<i32>) {
        self.decorate_pid = pid;
    }

    /// Sets the fields added, in this order, to every message this stream builds from records
    /// from now on (only when the splitter does not deliver message bytes), e.g. a
    /// ProcessInput's `ExitStatus`. Replaces the fields set before.
    pub fn set_fields(&mut self, fields: Vec<Field>) {
        self.decorate_fields = fields;
    }

    /// Sets the Logger of the messages this stream builds from records (default: the input's
    /// name), e.g. a LogstreamerInput's logstream name.
    pub fn set_logger(&mut self, logger: Bytes) {
        self.logger = Some(heka_message::intern(&logger));
    }

    /// Whether the input's splitter delivers an incomplete final record at the end of the
    /// data (`deliver_incomplete_final`).
    pub fn delivers_incomplete_final(&self) -> bool {
        self.shared.splitter_options.deliver_incomplete_final
    }

    /// Attaches a delivery acknowledgement token to every batch this stream routes from now on.
    pub fn enable_ack(&mut self) {
        self.ack.get_or_insert_with(AckTracker::default);
    }

    /// The acknowledgement tracker, when enabled.
    pub fn acks(&mut self) -> Option<&mut AckTracker> {
        self.ack.as_mut()
    }

    /// A non-blocking stream never waits on a full destination: it keeps the deliveries it could
    /// not send ([`Stream::is_blocked`]) and the caller feeds it nothing more until
    /// [`Stream::retry`] has sent them. Turning it off sends what is kept, waiting as needed.
    pub fn set_nonblocking(&mut self, nonblocking: bool) {
        self.nonblocking = nonblocking;
        if !nonblocking {
            router::send_blocking(self.pending.drain(..));
        }
    }

    /// Whether deliveries wait for room in a destination (non-blocking streams only).
    pub fn is_blocked(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Messages waiting for room in a destination (a message routed to two destinations that
    /// both wait counts twice).
    pub fn blocked_messages(&self) -> usize {
        self.pending.iter().map(Pending::len).sum()
    }

    /// Tries again to send what waits; returns whether nothing waits any more.
    pub fn retry(&mut self) -> bool {
        router::try_send(&mut self.pending)
    }

    /// Bytes of an incomplete record the stream holds.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Does one `read` from `r` and routes every complete record.
    ///
    /// Returns the number of bytes read; 0 means end of stream (call [`Stream::finish`]).
    pub fn read_from(&mut self, r: &mut dyn Read) -> std::io::Result<usize> {
        if self.scratch.is_empty() {
            let read_size = self.shared.splitter_options.min_buffer_size.max(MIN_READ);
            self.scratch = vec![0; read_size];
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        let res = self.read_with(r, &mut scratch);
        self.scratch = scratch;
        res
    }

    /// Like [`Stream::read_from`], reading into `scratch`, a buffer the caller shares between
    /// many streams.
    pub fn read_with(&mut self, r: &mut dyn Read, scratch: &mut [u8]) -> std::io::Result<usize> {
        let n = r.read(scratch)?;
        if n > 0 {
            self.push_bytes(&scratch[..n]);
        }
        Ok(n)
    }

    /// Appends bytes already read and routes every complete record.
    pub fn push_bytes(&mut self, data: &[u8]) {
        if self.buf.is_empty() {
            let off = self.find_records(data, false, false);
            self.emit(data);
            self.keep(&data[off..]);
        } else {
            let mut buf = std::mem::take(&mut self.buf);
            buf.extend_from_slice(data);
            let off = self.find_records(&buf, false, false);
            self.emit(&buf);
            buf.drain(..off);
            if buf.capacity() > KEEP_LEFTOVER && buf.len() < buf.capacity() / 4 {
                buf.shrink_to(buf.len().max(KEEP_LEFTOVER / 4));
            }
            self.buf = buf;
        }
        self.flush();
    }

    /// Keeps the bytes of an incomplete record (the stream's buffer is empty).
    fn keep(&mut self, tail: &[u8]) {
        if !tail.is_empty() {
            self.buf.reserve_exact(tail.len());
            self.buf.extend_from_slice(tail);
        }
    }

    /// End of stream: delivers an incomplete final record when `deliver_incomplete_final` is
    /// set, and routes what is pending.
    pub fn finish(&mut self) {
        let deliver_tail = self.shared.splitter_options.deliver_incomplete_final;
        let buf = std::mem::take(&mut self.buf);
        let dropped = self.split_final(&buf, deliver_tail);
        if dropped > 0 {
            tracing::debug!(input = %self.shared.input_name, bytes = dropped, "discarding incomplete final record");
        }
    }

    /// Ends one source of data in a stream that goes on with another (a log file followed by
    /// the next): an incomplete final record is delivered as a record of its own whatever
    /// `deliver_incomplete_final` says, so it is neither lost nor joined to the next source's
    /// first bytes.
    pub fn finish_source(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        self.split_final(&buf, true);
    }

    /// Splits one datagram on its own: records never span datagrams, and the end of the
    /// datagram ends its last record (an unterminated tail is delivered, not dropped).
    pub fn push_datagram(&mut self, data: &[u8]) {
        self.split_final(data, true);
    }

    /// Splits `data` as the last bytes of a source and routes its records (and the incomplete
    /// tail when `deliver_tail`); returns how many bytes were discarded.
    fn split_final(&mut self, data: &[u8], deliver_tail: bool) -> usize {
        let off = self.find_records(data, true, deliver_tail);
        self.emit(data);
        self.flush();
        data.len() - off
    }

    /// Routes a message built by the input itself, decoding it when the input has a decoder.
    pub fn deliver_message(&mut self, message: Message) {
        self.decode_and_batch(Pack::new(message));
        self.flush();
    }

    /// Routes a message built by the input itself as it is, without the input's decoder (for
    /// inputs whose messages are finished, as SandboxInput's are).
    pub fn route_message(&mut self, message: Message) {
        self.batch.push(Pack::new(message));
        self.flush();
    }

    /// Sends the batch collected so far to the router.
    pub fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        // The next batch starts empty: an idle connection must not keep room for the last
        // burst (1,000 connections x 300 packs of room was 100 MB).
        let n = self.batch.len();
        let mut packs = std::mem::take(&mut self.batch);
        if packs.capacity() > 2 * n + 8 {
            packs.shrink_to_fit();
        }
        let token = self.ack.as_mut().map(|a| a.token().1);
        self.shared
            .router
            .prepare(packs, token, Lane::Main, None, &mut self.pending);
        if self.nonblocking {
            router::try_send(&mut self.pending);
        } else {
            router::send_blocking(self.pending.drain(..));
        }
    }

    /// Finds the records of `data` into `self.records`; returns how many bytes they and the
    /// garbage between them take. At `eof` with `deliver_tail`, a final incomplete record is a
    /// record too. A tail that reaches the maximum record size is dropped (or, with
    /// `keep_truncated`, delivered cut to that size).
    fn find_records(&mut self, data: &[u8], eof: bool, deliver_tail: bool) -> usize {
        let mut off = 0;
        self.records.clear();
        while off < data.len() {
            let splitter = &mut self.splitter;
            let s = match catch_panic(|| splitter.find_record(&data[off..])) {
                Ok(s) => s,
                Err(e) => {
                    // A splitter that panicked may be left in any state, and so may its
                    // view of these bytes: they are dropped and a new splitter goes on with
                    // the next ones (on connection inputs this runs on a shared I/O thread).
                    tracing::error!(input = %self.shared.input_name, "splitter {e}: {} bytes dropped, replacing it", data.len() - off);
                    self.renew_splitter();
                    return data.len();
                }
            };
            if s.consumed == 0 {
                break;
            }
            if let Some(r) = s.record {
                self.records.push((off + r.start..off + r.end, s.signer));
            }
            off += s.consumed.min(data.len() - off);
        }
        let rest = data.len() - off;
        if rest >= self.max_record {
            self.shared.stats.oversized.fetch_add(1, Ordering::Relaxed);
            tracing::error!(input = %self.shared.input_name, "record exceeded MAX_RECORD_SIZE {}", self.max_record);
            if self.shared.splitter_options.keep_truncated {
                self.records.push((off..off + self.max_record, None));
            }
            off = data.len();
        } else if eof && rest > 0 && deliver_tail {
            self.records.push((off..data.len(), None));
            off = data.len();
        }
        off
    }

    /// Turns the records [`Stream::find_records`] found in `data` into packs, copying their
    /// bytes once into one buffer of their size.
    fn emit(&mut self, data: &[u8]) {
        let Some((first, _)) = self.records.first() else {
            return;
        };
        let start = first.start;
        let stop = self
            .records
            .iter()
            .fold(start, |end, (r, _)| end.max(r.end))
            .min(data.len());
        let chunk = Bytes::copy_from_slice(&data[start..stop]);
        let n = self.records.len();
        self.shared
            .stats
            .records
            .fetch_add(n as u64, Ordering::Relaxed);
        // Room for this read's records at once: growing a batch of 512 packs step by step
        // would move each pack several times.
        self.batch
            .reserve(n.min(MAX_BATCH.saturating_sub(self.batch.len())));
        let use_bytes = self.shared.splitter_options.use_message_bytes;
        let ids = if use_bytes {
            Bytes::new()
        } else {
            heka_message::new_uuids(n)
        };
        let now = heka_message::now_ns();
        let records = std::mem::take(&mut self.records);
        for (i, (r, signer)) in records.iter().enumerate() {
            let rec = chunk.slice(r.start - start..r.end - start);
            let pack = if use_bytes {
                let mut pack = Pack::from_record(rec);
                pack.signer = signer.clone();
                pack
            } else {
                let message = Message {
                    uuid: ids.slice(i * 16..i * 16 + 16),
                    timestamp: now,
                    logger: Some(
                        self.logger
                            .clone()
                            .unwrap_or_else(|| self.shared.logger.clone()),
                    ),
                    payload: Some(rec),
                    r#type: self.decorate_type.clone(),
                    hostname: self.decorate_hostname.clone(),
                    pid: self.decorate_pid,
                    fields: self.decorate_fields.clone(),
                    ..Message::default()
                };
                let mut pack = Pack::new(message);
                pack.signer = signer.clone();
                pack
            };
            self.decode_and_batch(pack);
        }
        self.records = records;
        self.records.clear();
    }

    fn decode_and_batch(&mut self, mut pack: Pack) {
        if let Some(d) = self.decoder.as_mut() {
            let extra = &mut self.extra;
            let res = match catch_panic(|| d.decode(&mut pack, extra)) {
                Ok(res) => res,
                Err(e) => {
                    // A decoder that panicked may be left in any state: the stream goes on
                    // with a new one, and the message is a decode failure.
                    tracing::error!(input = %self.shared.input_name, "decoder {e}: replacing it");
                    self.extra.clear();
                    self.renew_decoder();
                    Err(CodecError::new(format!("decoder {e}")))
                }
            };
            match res {
                Ok(Decoded::Keep) => self.batch.push(pack),
                Ok(Decoded::Drop) => {}
                Err(e) => {
                    self.shared
                        .stats
                        .decode_failures
                        .fetch_add(1, Ordering::Relaxed);
                    if self.shared.log_decode_failures {
                        tracing::error!(input = %self.shared.input_name, "decode error: {e}");
                    }
                    if self.shared.send_decode_failures {
                        tag_decode_failure(&mut pack, &e.0);
                        self.batch.push(pack);
                    }
                }
            }
            self.batch.append(&mut self.extra);
        } else {
            self.batch.push(pack);
        }
        if self.batch.len() >= MAX_BATCH {
            self.flush();
        }
    }
}

impl Stream {
    /// A new splitter instance in place of one that panicked (kept when none can be made).
    fn renew_splitter(&mut self) {
        match catch_panic(|| (self.shared.splitter)()) {
            Ok(Ok(s)) => self.splitter = s,
            Ok(Err(e)) => {
                tracing::error!(input = %self.shared.input_name, "can't make a new splitter: {e}")
            }
            Err(e) => {
                tracing::error!(input = %self.shared.input_name, "can't make a new splitter: {e}")
            }
        }
    }

    /// A new decoder instance in place of one that panicked (kept when none can be made).
    fn renew_decoder(&mut self) {
        let Some(factory) = &self.shared.decoder else {
            return;
        };
        match catch_panic(|| factory()) {
            Ok(Ok(d)) => self.decoder = Some(d),
            Ok(Err(e)) => {
                tracing::error!(input = %self.shared.input_name, "can't make a new decoder: {e}")
            }
            Err(e) => {
                tracing::error!(input = %self.shared.input_name, "can't make a new decoder: {e}")
            }
        }
    }
}

impl Drop for Stream {
    /// What a non-blocking stream still holds is sent before it goes: nothing accepted is lost.
    fn drop(&mut self) {
        router::send_blocking(self.pending.drain(..));
    }
}

/// Heka's `AddDecodeFailureFields`: BOOL `decode_failure` = true and STRING `decode_error` (at
/// most 500 bytes).
fn tag_decode_failure(pack: &mut Pack, err: &str) {
    let mut end = err.len().min(500);
    while !err.is_char_boundary(end) {
        end -= 1;
    }
    let message = pack.message_mut();
    message.add_field(Field::new_bool("decode_failure", true));
    message.add_field(Field::new_string("decode_error", err[..end].to_string()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::{CodecError, Split};
    use crate::router::{Delivery, Lanes};

    /// Splits on '\n' (a tiny fake of our own trait); panics on "PANIC".
    struct Lines;
    impl Splitter for Lines {
        fn find_record(&mut self, buf: &[u8]) -> Split {
            if buf.starts_with(b"PANIC") {
                panic!("splitter test panic");
            }
            match memchr::memchr(b'\n', buf) {
                Some(i) => Split {
                    consumed: i + 1,
                    record: Some(0..i + 1),
                    signer: None,
                },
                None => Split::default(),
            }
        }
    }

    /// Fails on payloads starting with "bad", panics on "panic" and is broken after that.
    #[derive(Default)]
    struct Picky {
        broken: bool,
    }
    impl Decoder for Picky {
        fn decode(&mut self, pack: &mut Pack, _: &mut Vec<Pack>) -> Result<Decoded, CodecError> {
            if self.broken {
                return Err(CodecError::new("broken"));
            }
            if pack.message().payload_bytes().starts_with(b"panic") {
                self.broken = true;
                panic!("decoder test panic");
            }
            if pack.message().payload_bytes().starts_with(b"bad") {
                return Err(CodecError::new("bad line"));
            }
            pack.message_mut().set_type("line");
            Ok(Decoded::Keep)
        }
    }

    fn stream(
        opts: SplitterOptions,
        decoder: bool,
        send_failures: bool,
    ) -> (Stream, crossbeam_channel::Receiver<Delivery>) {
        let router = Arc::new(Router::default());
        let Lanes { main: rx, .. } =
            crate::router::testing::destination(&router, "sink", "TRUE", 64);
        let shared = StreamShared {
            input_name: "in".into(),
            logger: Bytes::from_static(b"in"),
            splitter: Arc::new(|| Ok(Box::new(Lines) as Box<dyn Splitter>)),
            splitter_options: opts,
            decoder: decoder.then(|| -> Factory<dyn Decoder> {
                Arc::new(|| Ok(Box::new(Picky::default()) as Box<dyn Decoder>))
            }),
            send_decode_failures: send_failures,
            log_decode_failures: false,
            max_message_size: 2048,
            router,
            stats: Default::default(),
        };
        (Stream::new(Arc::new(shared)).unwrap(), rx)
    }

    fn opts() -> SplitterOptions {
        SplitterOptions {
            keep_truncated: false,
            use_message_bytes: false,
            min_buffer_size: 8192,
            deliver_incomplete_final: false,
        }
    }

    fn payloads(rx: &crossbeam_channel::Receiver<Delivery>) -> Vec<Vec<u8>> {
        rx.try_iter()
            .flat_map(|d| {
                d.packs()
                    .map(|p| p.message().payload_bytes().to_vec())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn records_across_reads_become_messages_with_logger_uuid_and_time() {
        let (mut s, rx) = stream(opts(), false, false);
        let mut r: &[u8] = b"one\ntw";
        s.read_from(&mut r).unwrap();
        s.push_bytes(b"o\nthree");
        s.finish();
        let batches: Vec<_> = rx.try_iter().collect();
        let p = batches[0].packs().next().unwrap();
        assert_eq!(p.message().logger_bytes(), b"in");
        assert_eq!(p.message().uuid.len(), 16);
        assert_eq!(p.message().uuid[6] >> 4, 4);
        assert!(p.message().timestamp > 0);
        let all: Vec<_> = batches
            .iter()
            .flat_map(|b| b.packs().map(|p| p.message().payload_bytes().to_vec()))
            .collect();
        assert_eq!(all, vec![b"one\n".to_vec(), b"two\n".to_vec()]);
    }

    #[test]
    fn decoration_sets_type_hostname_pid_and_fields() {
        let (mut s, rx) = stream(opts(), false, false);
        s.set_decoration(
            Some(Bytes::from_static(b"t")),
            Some(Bytes::from_static(b"h")),
        );
        s.set_pid(Some(42));
        s.set_fields(vec![
            Field::new_string("Name", "x"),
            Field::new_integer("Status", 3),
        ]);
        s.push_bytes(b"a\n");
        s.set_fields(vec![Field::new_integer("Status", 4)]);
        s.push_bytes(b"b\n");
        let msgs: Vec<Message> = rx
            .try_iter()
            .flat_map(|d| d.packs().map(|p| p.message().clone()).collect::<Vec<_>>())
            .collect();
        assert_eq!(msgs[0].type_bytes(), b"t");
        assert_eq!(msgs[0].hostname_bytes(), b"h");
        assert_eq!(msgs[0].pid, Some(42));
        fn status(m: &Message) -> Option<Option<heka_message::FieldValue<'_>>> {
            m.field_value(b"Status")
        }
        assert_eq!(msgs[0].fields.len(), 2);
        assert_eq!(
            status(&msgs[0]),
            Some(Some(heka_message::FieldValue::Integer(3)))
        );
        assert_eq!(msgs[1].fields.len(), 1);
        assert_eq!(
            status(&msgs[1]),
            Some(Some(heka_message::FieldValue::Integer(4)))
        );
    }

    #[test]
    fn incomplete_final_record_is_delivered_only_when_asked() {
        let (mut s, rx) = stream(
            SplitterOptions {
                deliver_incomplete_final: true,
                ..opts()
            },
            false,
            false,
        );
        s.push_bytes(b"a\nrest");
        s.finish();
        assert_eq!(payloads(&rx), vec![b"a\n".to_vec(), b"rest".to_vec()]);
    }

    #[test]
    fn oversized_records_are_dropped_or_truncated() {
        let big = vec![b'x'; 3000];
        let (mut s, rx) = stream(opts(), false, false);
        s.push_bytes(&big);
        s.push_bytes(b"\nok\n");
        assert_eq!(payloads(&rx), vec![b"\n".to_vec(), b"ok\n".to_vec()]);
        let (mut s, rx) = stream(
            SplitterOptions {
                keep_truncated: true,
                ..opts()
            },
            false,
            false,
        );
        s.push_bytes(&big);
        let got = payloads(&rx);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].len(), max_record_size(2048));
    }

    #[test]
    fn a_splitter_that_panics_loses_the_rest_of_that_read_only() {
        let (mut s, rx) = stream(opts(), false, false);
        s.push_bytes(b"a\nPANIC\nlost\n");
        s.push_bytes(b"b\n");
        assert_eq!(payloads(&rx), vec![b"a\n".to_vec(), b"b\n".to_vec()]);
    }

    #[test]
    fn a_decoder_that_panics_fails_one_message_and_is_replaced() {
        let (mut s, rx) = stream(opts(), true, true);
        s.push_bytes(b"one\npanic\ntwo\n");
        let msgs: Vec<Message> = rx
            .try_iter()
            .flat_map(|d| d.packs().map(|p| p.message().clone()).collect::<Vec<_>>())
            .collect();
        assert_eq!(msgs.len(), 3);
        assert_eq!(msgs[0].type_bytes(), b"line");
        assert_eq!(
            msgs[1].field_value(b"decode_error"),
            Some(Some(heka_message::FieldValue::String(
                b"decoder panicked: decoder test panic"
            )))
        );
        // The broken instance is gone: the next record decodes.
        assert_eq!(msgs[2].type_bytes(), b"line");
        assert_eq!(s.shared.stats.decode_failures.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn decode_failures_are_dropped_or_tagged() {
        let (mut s, rx) = stream(opts(), true, false);
        s.push_bytes(b"good\nbad\n");
        assert_eq!(payloads(&rx), vec![b"good\n".to_vec()]);
        let (mut s, rx) = stream(opts(), true, true);
        s.push_bytes(b"bad one\n");
        let b = rx.try_recv().unwrap();
        let m = b.packs().next().unwrap().message();
        assert_eq!(
            m.field_value(b"decode_failure"),
            Some(Some(heka_message::FieldValue::Bool(true)))
        );
        assert_eq!(
            m.field_value(b"decode_error"),
            Some(Some(heka_message::FieldValue::String(b"bad line")))
        );
    }

    #[test]
    fn datagrams_are_split_independently() {
        let (mut s, rx) = stream(opts(), false, false);
        s.push_datagram(b"a\nhalf");
        s.push_datagram(b"-b\n");
        assert_eq!(
            payloads(&rx),
            vec![b"a\n".to_vec(), b"half".to_vec(), b"-b\n".to_vec()]
        );
    }

    #[test]
    fn acked_batches_report_back_once_every_holder_is_done() {
        let (mut s, rx) = stream(opts(), false, false);
        s.enable_ack();
        s.push_bytes(b"x\n");
        assert_eq!(s.acks().unwrap().poll(), 0);
        let held = rx.try_recv().unwrap();
        assert!(held.batch.has_ack());
        drop(held);
        assert_eq!(s.acks().unwrap().poll(), 1);
    }

    #[test]
    fn messages_share_a_buffer_of_their_records_size_and_leftovers_stay_small() {
        let (mut s, rx) = stream(opts(), false, false);
        // Two complete records and the start of a third in one read.
        s.push_bytes(b"aa\nbbb\ncc");
        assert_eq!(s.buffered(), 2);
        let d = rx.try_recv().unwrap();
        let ps: Vec<_> = d.packs().collect();
        // Both payloads are slices of one 7-byte buffer, not of a 64 KiB read buffer.
        let a = ps[0].message().payload.as_ref().unwrap();
        let b = ps[1].message().payload.as_ref().unwrap();
        assert_eq!(b.as_ptr() as usize - a.as_ptr() as usize, 3);
        s.push_bytes(b"c\n");
        assert_eq!(s.buffered(), 0);
        assert_eq!(payloads(&rx), vec![b"ccc\n".to_vec()]);
        // A big record grows the leftover; once it is done, the buffer is given back.
        let big = vec![b'x'; 200_000];
        let (mut s, rx) = stream(opts(), false, false);
        s.shared = Arc::new(StreamShared {
            max_message_size: 1 << 20,
            ..clone_shared(&s.shared)
        });
        s.max_record = max_record_size(1 << 20);
        for c in big.chunks(10_000) {
            s.push_bytes(c);
        }
        assert_eq!(s.buffered(), 200_000);
        s.push_bytes(b"\nz");
        assert_eq!(s.buffered(), 1);
        assert!(s.buf.capacity() <= KEEP_LEFTOVER, "{}", s.buf.capacity());
        assert_eq!(payloads(&rx)[0].len(), 200_001);
    }

    fn clone_shared(s: &StreamShared) -> StreamShared {
        StreamShared {
            input_name: s.input_name.clone(),
            logger: s.logger.clone(),
            splitter: s.splitter.clone(),
            splitter_options: s.splitter_options.clone(),
            decoder: s.decoder.clone(),
            send_decode_failures: s.send_decode_failures,
            log_decode_failures: s.log_decode_failures,
            max_message_size: s.max_message_size,
            router: s.router.clone(),
            stats: s.stats.clone(),
        }
    }

    #[test]
    fn a_nonblocking_stream_keeps_what_a_full_destination_cannot_take() {
        let router = Arc::new(Router::default());
        let full = crate::router::testing::destination(&router, "full", "Payload =~ /^f/", 1);
        let free = crate::router::testing::destination(&router, "free", "Payload !~ /^f/", 64);
        let (mut s, _unused) = stream(opts(), false, false);
        s.shared = Arc::new(StreamShared {
            router: router.clone(),
            ..clone_shared(&s.shared)
        });
        s.set_nonblocking(true);
        s.push_bytes(b"f\nx\n");
        assert!(!s.is_blocked(), "one delivery fits");
        s.push_bytes(b"f\ny\n");
        assert!(s.is_blocked(), "the second waits for the full destination");
        // The other destination was not held back.
        assert_eq!(payloads(&free.main), vec![b"x\n".to_vec(), b"y\n".to_vec()]);
        assert!(!s.retry());
        assert_eq!(payloads(&full.main), vec![b"f\n".to_vec()]);
        assert!(s.retry());
        assert_eq!(payloads(&full.main), vec![b"f\n".to_vec()]);
        assert!(!s.is_blocked());
    }
}
