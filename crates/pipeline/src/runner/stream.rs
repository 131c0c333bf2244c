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
//! Decoding: one decoder instance per stream. Inputs that read on a thread of their own hand
//! their batches to a decode worker (Heka's DecoderRunner, [`crate::runner::decode`]) unless
//! `synchronous_decode` is set; connection inputs decode on their I/O threads, which already
//! decode several connections in parallel.
//!
//! Routing: a blocking stream (the default) waits while a destination is full. A non-blocking
//! stream ([`Stream::set_nonblocking`], for inputs that serve many connections on one thread)
//! keeps what it could not send; the input then stops reading it until [`Stream::retry`]
//! succeeds, so back-pressure reaches that connection's socket alone.

use std::collections::VecDeque;
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
use crate::runner::decode::{DecodePool, Job, Reorder};

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
    /// The input's decode workers (none with `synchronous_decode`, or without a decoder).
    pub(crate) decode_pool: Option<DecodePool>,
}

/// A stream's link to its decode workers.
struct Offload {
    /// The stream's number in its workers.
    id: u64,
    /// The workers it uses, in the input's pool: one, or all of them when its decoder is
    /// parallel-safe.
    workers: Vec<usize>,
    /// Their queues, once something was sent to them (indexed as `workers`).
    txs: Vec<Option<crossbeam_channel::Sender<Job>>>,
    /// The worker (index into `workers`) that takes the next batch.
    turn: usize,
    /// Puts the batches several workers decoded back in the stream's order.
    order: Option<Arc<Reorder>>,
    /// The next batch's place in that order.
    next_seq: u64,
    /// Jobs a non-blocking stream could not hand over yet, in order, with their worker.
    held: VecDeque<(usize, Job)>,
    /// Jobs made and not yet routed (held ones included).
    flight: Arc<std::sync::atomic::AtomicUsize>,
    /// The decoder is parallel-safe: while the stream spreads its batches, it keeps its
    /// instance and the workers make their own.
    parallel: bool,
}

/// A batch smaller than this is decoded where it was read when the stream has nothing with
/// its workers: a trickling stream (one of many files appended a few lines at a time) would
/// pay more for the hand-over than for decoding.
const OFFLOAD_BATCH: usize = 64;

/// A batch at least this large moves a parallel-safe stream on to its next worker; smaller
/// ones stay with the current one, so a quiet stream keeps one decoder instance.
const SPREAD_BATCH: usize = MAX_BATCH / 2;

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
    /// Where the stream's batches are decoded, when not on its own thread.
    offload: Option<Offload>,
}

impl Stream {
    /// A stream of `shared`'s input; it decodes on its own thread when `decode_inline`, or when
    /// the input has no decode workers.
    pub(crate) fn new(
        shared: Arc<StreamShared>,
        decode_inline: bool,
    ) -> Result<Stream, ConfigError> {
        let splitter = (shared.splitter)()?;
        let decoder = match &shared.decoder {
            Some(f) => Some(f()?),
            None => None,
        };
        let offload = match (&shared.decode_pool, &decoder) {
            (Some(pool), Some(d)) if !decode_inline => {
                let parallel = d.parallel_safe();
                let (id, workers) = pool.assign(parallel);
                Some(Offload {
                    flight: Default::default(),
                    parallel,
                    id,
                    txs: workers.iter().map(|_| None).collect(),
                    order: (workers.len() > 1).then(|| Arc::new(Reorder::default())),
                    workers,
                    turn: 0,
                    next_seq: 0,
                    held: VecDeque::new(),
                })
            }
            _ => None,
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
            offload,
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
            self.hand_over_held(true);
        }
    }

    /// Whether deliveries wait for room in a destination or in the decode worker's queue
    /// (non-blocking streams only).
    pub fn is_blocked(&self) -> bool {
        !self.pending.is_empty() || self.offload.as_ref().is_some_and(|o| !o.held.is_empty())
    }

    /// Messages waiting for room in a destination (a message routed to two destinations that
    /// both wait counts twice) or in the decode worker's queue.
    pub fn blocked_messages(&self) -> usize {
        let held: usize = self
            .offload
            .as_ref()
            .map_or(0, |o| o.held.iter().map(|(_, j)| j.len()).sum());
        held + self.pending.iter().map(Pending::len).sum::<usize>()
    }

    /// Tries again to send what waits; returns whether nothing waits any more.
    pub fn retry(&mut self) -> bool {
        let routed = router::try_send(&mut self.pending);
        self.hand_over_held(false) && routed
    }

    /// Waits up to `timeout` for room for what the stream holds, handing it over as room
    /// appears in the decode queue (only a full destination: waits out `timeout`, then tries
    /// again); returns whether nothing waits any more. For an input with nothing else to do
    /// while its stream is blocked: it resumes as soon as the decode threads catch up.
    pub fn wait_for_room(&mut self, timeout: std::time::Duration) -> bool {
        let front = self.offload.as_mut().and_then(|off| {
            let (k, job) = off.held.pop_front()?;
            Some((k, job, off.txs[k].clone()))
        });
        match front {
            Some((k, job, Some(tx))) => match tx.send_timeout(job, timeout) {
                Ok(()) => {}
                Err(e) => {
                    let timed_out = e.is_timeout();
                    if let Some(off) = self.offload.as_mut() {
                        off.held.push_front((k, e.into_inner()));
                    }
                    if timed_out {
                        return false;
                    }
                    // The worker is gone: hand_over_held decodes it here.
                }
            },
            Some((k, job, None)) => {
                if let Some(off) = self.offload.as_mut() {
                    off.held.push_front((k, job));
                }
            }
            None if !self.pending.is_empty() => std::thread::sleep(timeout),
            None => {}
        }
        self.retry()
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
        self.take_pack(Pack::new(message));
        self.flush();
    }

    /// Routes a message built by the input itself as it is, without the input's decoder (for
    /// inputs whose messages are finished, as SandboxInput's are).
    pub fn route_message(&mut self, message: Message) {
        if self.offload.is_some() {
            // Behind what the worker still has to decode, in order.
            self.flush();
            let ack = self.ack.as_mut().map(|a| a.token().1);
            self.hand_over(vec![Pack::new(message)], false, ack);
            return;
        }
        self.batch.push(Pack::new(message));
        self.flush();
    }

    /// Sends the batch collected so far to the router (or to the decode worker).
    pub fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        if let Some(off) = &self.offload {
            let packs = std::mem::take(&mut self.batch);
            let ack = self.ack.as_mut().map(|a| a.token().1);
            // Decoded here when the decoder instance is here and nothing is with the workers
            // (so the order holds): a small batch, or one behind deliveries waiting here.
            let here = self.decoder.is_some()
                && off.flight.load(Ordering::Acquire) == 0
                && (packs.len() < OFFLOAD_BATCH || !self.pending.is_empty());
            if here {
                self.route_here(packs, true, ack);
            } else {
                self.hand_over(packs, true, ack);
            }
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
        self.send(packs, token);
    }

    /// Routes packs with `ack`: a blocking stream waits for room, a non-blocking one keeps
    /// what a full destination cannot take.
    fn send(&mut self, packs: Vec<Pack>, ack: Option<crate::pack::AckToken>) {
        self.shared
            .router
            .prepare(packs, ack, Lane::Main, None, &mut self.pending);
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
            self.take_pack(pack);
        }
        self.records = records;
        self.records.clear();
    }

    /// Takes one pack: decodes it here, or batches it for the decode worker.
    fn take_pack(&mut self, pack: Pack) {
        if self.offload.is_some() {
            self.batch.push(pack);
            if self.batch.len() >= MAX_BATCH {
                self.flush();
            }
        } else {
            self.decode_and_batch(pack);
        }
    }

    fn decode_and_batch(&mut self, pack: Pack) {
        match self.decoder.as_mut() {
            Some(d) => decode_into(&self.shared, d, pack, &mut self.extra, &mut self.batch),
            None => self.batch.push(pack),
        }
        if self.batch.len() >= MAX_BATCH {
            self.flush();
        }
    }

    /// Hands packs to a decode worker (with the decoder instance, the first time). A
    /// non-blocking stream keeps what the worker's queue has no room for; a stream whose worker
    /// cannot be reached decodes on its own thread from then on.
    fn hand_over(&mut self, packs: Vec<Pack>, decode: bool, ack: Option<crate::pack::AckToken>) {
        let Some(off) = self.offload.as_mut() else {
            return self.route_here(packs, decode, ack);
        };
        let k = off.turn;
        if off.txs[k].is_none() {
            off.txs[k] = self
                .shared
                .decode_pool
                .as_ref()
                .and_then(|p| p.sender(off.workers[k], &self.shared));
            if off.txs[k].is_none() {
                self.hand_over_held(true);
                self.leave_pool();
                return self.route_here(packs, decode, ack);
            }
        }
        let spreads = off.workers.len() > 1
            && self
                .shared
                .decode_pool
                .as_ref()
                .is_some_and(DecodePool::spreads);
        if spreads && packs.len() >= SPREAD_BATCH {
            off.turn = (off.turn + 1) % off.workers.len();
        }
        let order = off.order.as_ref().map(|o| {
            off.next_seq += 1;
            (off.next_seq - 1, o.clone())
        });
        // The stream's instance moves to the worker for good, unless the stream spreads its
        // batches (a parallel-safe decoder, few streams): then each worker makes its own and
        // the stream keeps its instance for small batches. Not spreading, a parallel-safe
        // stream has one instance too (a thousand files must not hold two thousand).
        let decoder = if off.parallel && spreads {
            None
        } else {
            self.decoder.take()
        };
        off.flight.fetch_add(1, Ordering::AcqRel);
        let job = Job::Batch {
            stream: off.id,
            decoder,
            packs,
            decode,
            ack,
            order,
            flight: off.flight.clone(),
        };
        off.held.push_back((k, job));
        self.hand_over_held(!self.nonblocking);
    }

    /// Hands the held jobs to their workers in order, waiting for room when `block`; returns
    /// whether none is held any more.
    fn hand_over_held(&mut self, block: bool) -> bool {
        let Some(off) = self.offload.as_mut() else {
            return true;
        };
        while let Some((k, job)) = off.held.pop_front() {
            let Some(tx) = off.txs[k].as_ref() else {
                off.held.push_front((k, job));
                return false;
            };
            let refused = if block {
                tx.send(job).err().map(|e| e.0)
            } else {
                match tx.try_send(job) {
                    Ok(()) => None,
                    Err(crossbeam_channel::TrySendError::Full(job)) => {
                        off.held.push_front((k, job));
                        return false;
                    }
                    Err(crossbeam_channel::TrySendError::Disconnected(job)) => Some(job),
                }
            };
            if let Some(job) = refused {
                // The worker is gone (the pool was closed): this stream decodes itself.
                off.held.push_front((k, job));
                let held = std::mem::take(&mut off.held);
                self.leave_pool();
                for (_, job) in held {
                    if let Job::Batch {
                        decoder,
                        packs,
                        decode,
                        ack,
                        ..
                    } = job
                    {
                        if decoder.is_some() {
                            self.decoder = decoder;
                        }
                        self.route_here(packs, decode, ack);
                    }
                }
                return self.pending.is_empty();
            }
        }
        true
    }

    /// Stops using the decode workers (they are gone): the stream decodes itself from now on.
    fn leave_pool(&mut self) {
        if self.offload.take().is_some()
            && let Some(pool) = &self.shared.decode_pool
        {
            pool.release();
        }
    }

    /// Decodes (when `decode`) and routes packs on this thread, with `ack`.
    fn route_here(&mut self, packs: Vec<Pack>, decode: bool, ack: Option<crate::pack::AckToken>) {
        if self.decoder.is_none() && decode {
            self.renew_decoder();
        }
        let packs = match self.decoder.as_mut() {
            Some(d) if decode => decode_batch(&self.shared, d, packs, &mut self.extra),
            _ => packs,
        };
        self.send(packs, ack);
    }
}

/// Decodes every pack of a batch with `decoder` (see [`decode_into`]).
pub(crate) fn decode_batch(
    shared: &StreamShared,
    decoder: &mut Box<dyn Decoder>,
    packs: Vec<Pack>,
    extra: &mut Vec<Pack>,
) -> Vec<Pack> {
    let mut out = Vec::with_capacity(packs.len());
    for pack in packs {
        decode_into(shared, decoder, pack, extra, &mut out);
    }
    out
}

/// Decodes one pack with `decoder` and appends the result to `out`: the pack (unless the
/// decoder dropped it), tagged or dropped on failure (`send_decode_failures`), then what the
/// decoder added. A decoder that panics is replaced by a new instance.
pub(crate) fn decode_into(
    shared: &StreamShared,
    decoder: &mut Box<dyn Decoder>,
    mut pack: Pack,
    extra: &mut Vec<Pack>,
    out: &mut Vec<Pack>,
) {
    let res = match catch_panic(|| decoder.decode(&mut pack, extra)) {
        Ok(res) => res,
        Err(e) => {
            // A decoder that panicked may be left in any state: the stream goes on with a new
            // one, and the message is a decode failure.
            tracing::error!(input = %shared.input_name, "decoder {e}: replacing it");
            extra.clear();
            if let Some(d) = new_decoder(shared) {
                *decoder = d;
            }
            Err(CodecError::new(format!("decoder {e}")))
        }
    };
    match res {
        Ok(Decoded::Keep) => out.push(pack),
        Ok(Decoded::Drop) => {}
        Err(e) => {
            shared.stats.decode_failures.fetch_add(1, Ordering::Relaxed);
            if shared.log_decode_failures {
                tracing::error!(input = %shared.input_name, "decode error: {e}");
            }
            if shared.send_decode_failures {
                tag_decode_failure(&mut pack, &e.0);
                out.push(pack);
            }
        }
    }
    out.append(extra);
}

/// A new decoder instance from the input's factory (`None`, logged, when none can be made).
pub(crate) fn new_decoder(shared: &StreamShared) -> Option<Box<dyn Decoder>> {
    let factory = shared.decoder.as_ref()?;
    match catch_panic(|| factory()) {
        Ok(Ok(d)) => Some(d),
        Ok(Err(e)) => {
            tracing::error!(input = %shared.input_name, "can't make a new decoder: {e}");
            None
        }
        Err(e) => {
            tracing::error!(input = %shared.input_name, "can't make a new decoder: {e}");
            None
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

    /// A new decoder instance in place of one that is gone (kept when none can be made).
    fn renew_decoder(&mut self) {
        if let Some(d) = new_decoder(&self.shared) {
            self.decoder = Some(d);
        }
    }
}

impl Drop for Stream {
    /// What a non-blocking stream still holds is sent before it goes: nothing accepted is lost.
    fn drop(&mut self) {
        router::send_blocking(self.pending.drain(..));
        self.hand_over_held(true);
        if let Some(off) = self.offload.take() {
            for tx in off.txs.into_iter().flatten() {
                let _ = tx.send(Job::Close { stream: off.id });
            }
            if let Some(pool) = &self.shared.decode_pool {
                pool.release();
            }
        }
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
            decode_pool: None,
        };
        (Stream::new(Arc::new(shared), true).unwrap(), rx)
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
            decode_pool: None,
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
    /// Tags each message with the number of the instance that decoded it (instances are
    /// numbered as the factory makes them); parallel-safe or not as asked.
    struct Numbered {
        id: i64,
        parallel: bool,
    }
    impl Decoder for Numbered {
        fn decode(&mut self, pack: &mut Pack, _: &mut Vec<Pack>) -> Result<Decoded, CodecError> {
            let m = pack.message_mut();
            m.set_type("line");
            m.add_field(Field::new_integer("instance", self.id));
            Ok(Decoded::Keep)
        }
        fn parallel_safe(&self) -> bool {
            self.parallel
        }
    }

    /// Streams of an input with `workers` decode workers and a [`Numbered`] decoder; the
    /// counter says how many instances were made.
    fn offloaded(
        workers: usize,
        parallel: bool,
        cap: usize,
    ) -> (
        Arc<StreamShared>,
        crossbeam_channel::Receiver<Delivery>,
        Arc<AtomicU64>,
    ) {
        let router = Arc::new(Router::default());
        let Lanes { main: rx, .. } =
            crate::router::testing::destination(&router, "sink", "TRUE", cap);
        let made = Arc::new(AtomicU64::new(0));
        let counter = made.clone();
        let shared = StreamShared {
            input_name: "in".into(),
            logger: Bytes::from_static(b"in"),
            splitter: Arc::new(|| Ok(Box::new(Lines) as Box<dyn Splitter>)),
            splitter_options: opts(),
            decoder: Some(Arc::new(move || {
                let id = counter.fetch_add(1, Ordering::Relaxed) as i64;
                Ok(Box::new(Numbered { id, parallel }) as Box<dyn Decoder>)
            })),
            send_decode_failures: false,
            log_decode_failures: false,
            max_message_size: 2048,
            router,
            stats: Default::default(),
            decode_pool: Some(DecodePool::with_workers(workers)),
        };
        (Arc::new(shared), rx, made)
    }

    /// `lines` numbered lines from `from`, as one chunk of bytes.
    fn numbered_lines(from: usize, lines: usize) -> Vec<u8> {
        (from..from + lines)
            .flat_map(|i| format!("{i}\n").into_bytes())
            .collect()
    }

    /// The messages delivered so far: (payload, the decoding instance).
    fn decoded(rx: &crossbeam_channel::Receiver<Delivery>) -> Vec<(String, i64)> {
        rx.try_iter()
            .flat_map(|d| {
                d.packs()
                    .map(|p| {
                        let m = p.message();
                        assert_eq!(m.type_bytes(), b"line");
                        let id = match m.field_value(b"instance") {
                            Some(Some(heka_message::FieldValue::Integer(n))) => n,
                            other => panic!("no instance field: {other:?}"),
                        };
                        (String::from_utf8_lossy(m.payload_bytes()).into_owned(), id)
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn a_parallel_safe_decoder_spreads_a_busy_stream_over_the_workers_in_order() {
        let (shared, rx, made) = offloaded(2, true, 1024);
        let mut s = Stream::new(shared.clone(), false).unwrap();
        s.enable_ack();
        // 40 reads of 300 lines: each batch is large enough to move on to the next worker.
        for k in 0..40 {
            s.push_bytes(&numbered_lines(k * 300, 300));
        }
        let issued = s.acks().unwrap().issued();
        assert_eq!(issued, 40);
        // Every batch is acknowledged once its delivery is taken and dropped.
        let mut got = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while s.acks().unwrap().poll() < 40 {
            assert!(
                std::time::Instant::now() < deadline,
                "batches left unacknowledged"
            );
            got.extend(decoded(&rx));
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        drop(s);
        shared.decode_pool.as_ref().unwrap().close("in");
        got.extend(decoded(&rx));
        let want: Vec<String> = (0..12_000).map(|i| format!("{i}\n")).collect();
        assert_eq!(got.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>(), want);
        // The workers' instances (one each; the stream's own, instance 0, is kept for small
        // batches) decoded alternate batches.
        assert_eq!(made.load(Ordering::Relaxed), 3);
        assert_ne!(got[0].1, 0);
        assert_ne!(got[0].1, got[300].1);
        assert_eq!(got[0].1, got[600].1);
    }

    /// One stream's lines as routed: the instances that decoded them, and their numbers in
    /// the order they came.
    type StreamSeen = (std::collections::BTreeSet<i64>, Vec<usize>);

    /// Feeds `streams` streams of an input with two workers ten reads of 300 lines each, in
    /// turn; returns what was routed of each stream, and the number of instances made.
    fn feed_streams(parallel: bool, streams: usize) -> (Vec<StreamSeen>, u64) {
        let (shared, rx, made) = offloaded(2, parallel, 1024);
        let mut all: Vec<Stream> = (0..streams)
            .map(|_| Stream::new(shared.clone(), false).unwrap())
            .collect();
        for k in 0..10 {
            for (n, s) in all.iter_mut().enumerate() {
                s.push_bytes(&numbered_lines(n * 100_000 + k * 300, 300));
            }
        }
        drop(all);
        shared.decode_pool.as_ref().unwrap().close("in");
        let mut per_stream = vec![Default::default(); streams];
        for (p, id) in decoded(&rx) {
            let line: usize = p.trim_end().parse().unwrap();
            let (ids, lines): &mut StreamSeen = &mut per_stream[line / 100_000];
            ids.insert(id);
            lines.push(line);
        }
        (per_stream, made.load(Ordering::Relaxed))
    }

    #[test]
    fn small_batches_and_stateful_decoders_keep_one_instance_per_stream() {
        // A stateful decoder: one instance per stream, whatever the batch size; and as many
        // parallel-safe streams as workers: each keeps to its own worker and instance (no
        // stream spreads).
        for (parallel, streams) in [(false, 3), (true, 2)] {
            let (per_stream, made) = feed_streams(parallel, streams);
            assert_eq!(made, streams as u64);
            let mut instances: std::collections::BTreeSet<i64> = Default::default();
            for (n, (ids, lines)) in per_stream.iter().enumerate() {
                assert_eq!(ids.len(), 1, "stream {n} saw instances {ids:?}");
                instances.extend(ids);
                let want: Vec<usize> = (n * 100_000..n * 100_000 + 3_000).collect();
                assert!(lines == &want, "stream {n} lost or reordered lines");
            }
            assert_eq!(instances.len(), streams);
        }
        // Small batches of a stream with nothing at its workers are decoded where they are
        // read, by the stream's own instance.
        let (shared, rx, made) = offloaded(2, true, 1024);
        let mut s = Stream::new(shared.clone(), false).unwrap();
        for k in 0..50 {
            s.push_bytes(&numbered_lines(k * 10, 10));
        }
        drop(s);
        shared.decode_pool.as_ref().unwrap().close("in");
        assert_eq!(made.load(Ordering::Relaxed), 1);
        assert_eq!(decoded(&rx).len(), 500);
    }

    #[test]
    fn a_full_decode_queue_blocks_a_nonblocking_stream_until_retry_hands_it_over() {
        // The destination takes one delivery: the worker waits on it, its queue fills, and
        // then the stream holds what it cannot hand over.
        let (shared, rx, _) = offloaded(1, false, 1);
        let mut s = Stream::new(shared.clone(), false).unwrap();
        s.set_nonblocking(true);
        let mut k = 0;
        while !s.is_blocked() {
            assert!(k < 1_000, "the stream never reported itself blocked");
            s.push_bytes(&numbered_lines(k * 100, 100));
            k += 1;
        }
        assert!(s.blocked_messages() >= 100);
        let mut got = Vec::new();
        while !s.retry() {
            got.extend(decoded(&rx));
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        // A route_message after decoded batches keeps its place behind them.
        s.route_message(Message {
            r#type: Some(Bytes::from_static(b"line")),
            payload: Some(Bytes::from_static(b"routed")),
            fields: vec![Field::new_integer("instance", -1)],
            ..Message::default()
        });
        let pool_closer = {
            let shared = shared.clone();
            std::thread::spawn(move || {
                s.set_nonblocking(false);
                drop(s);
                shared.decode_pool.as_ref().unwrap().close("in");
            })
        };
        while !pool_closer.is_finished() || !rx.is_empty() {
            got.extend(decoded(&rx));
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        pool_closer.join().unwrap();
        let mut want: Vec<String> = (0..k * 100).map(|i| format!("{i}\n")).collect();
        want.push("routed".into());
        assert_eq!(got.into_iter().map(|(p, _)| p).collect::<Vec<_>>(), want);
    }

    #[test]
    fn a_stateful_decoders_instance_moves_to_the_worker_with_the_first_large_batch() {
        let (shared, rx, made) = offloaded(2, false, 1024);
        let mut s = Stream::new(shared.clone(), false).unwrap();
        s.push_bytes(&numbered_lines(0, 10));
        s.push_bytes(&numbered_lines(10, 300));
        s.push_bytes(&numbered_lines(310, 10));
        drop(s);
        shared.decode_pool.as_ref().unwrap().close("in");
        // One instance throughout: it decoded the first small batch here, then went with the
        // large one to the worker, which decoded the small one after it too.
        assert_eq!(made.load(Ordering::Relaxed), 1);
        let want: Vec<(String, i64)> = (0..320).map(|i| (format!("{i}\n"), 0)).collect();
        assert_eq!(decoded(&rx), want);
    }

    #[test]
    fn once_the_pool_is_closed_streams_decode_on_their_own_thread() {
        let (shared, rx, made) = offloaded(2, false, 64);
        shared.decode_pool.as_ref().unwrap().close("in");
        let mut s = Stream::new(shared.clone(), false).unwrap();
        // Large enough to be handed over, had the workers been there.
        s.push_bytes(&numbered_lines(0, 100));
        let want: Vec<(String, i64)> = (0..100).map(|i| (format!("{i}\n"), 0)).collect();
        assert_eq!(decoded(&rx), want);
        assert_eq!(made.load(Ordering::Relaxed), 1);
    }
}
