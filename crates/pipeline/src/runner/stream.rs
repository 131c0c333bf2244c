//! One input stream: Heka's splitter runner and deliverer in one object.
//!
//! An input creates one [`Stream`] per connection (or file) and feeds it bytes. The stream owns
//! a growable buffer, asks its splitter for records, turns each record into a pack (the message
//! bytes for framing splitters, or a new message with the record as payload), decodes it inline
//! and collects the packs into a batch that goes to the router once the bytes of one read are
//! used up (or the batch is full). Records are slices of one frozen read buffer, so neither
//! splitting nor protobuf decoding copies message bytes.
//!
//! Heka decodes on a separate goroutine unless `synchronous_decode` is set; we always decode in
//! the input's thread (one decoder instance per stream), which saves a hop per message and lets
//! several connections decode in parallel.

use std::io::Read;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Bytes, BytesMut};
use heka_message::{Field, Message, framing::max_record_size};

use crate::config::ConfigError;
use crate::pack::{AckTracker, Batch, Pack};
use crate::plugin::{Decoded, Decoder, Splitter};
use crate::router::Router;

/// Largest number of packs routed as one batch.
pub(crate) const MAX_BATCH: usize = 512;
/// Smallest read size.
const MIN_READ: usize = 64 * 1024;

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
    buf: BytesMut,
    records: Vec<(Range<usize>, Option<Bytes>)>,
    batch: Vec<Pack>,
    extra: Vec<Pack>,
    ack: Option<AckTracker>,
    max_record: usize,
    decorate_type: Option<Bytes>,
    decorate_hostname: Option<Bytes>,
    scratch: Vec<u8>,
}

/// Fills `n` random version-4 UUIDs into one shared buffer.
fn uuids(n: usize) -> Bytes {
    let mut b = BytesMut::with_capacity(n * 16);
    for _ in 0..n {
        let mut u = fastrand::u128(..).to_le_bytes();
        u[6] = (u[6] & 0x0f) | 0x40;
        u[8] = (u[8] & 0x3f) | 0x80;
        b.extend_from_slice(&u);
    }
    b.freeze()
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
            buf: BytesMut::with_capacity(shared.splitter_options.min_buffer_size.max(MIN_READ)),
            shared,
            splitter,
            decoder,
            records: Vec::new(),
            batch: Vec::with_capacity(MAX_BATCH),
            extra: Vec::new(),
            ack: None,
            max_record,
            decorate_type: None,
            decorate_hostname: None,
            scratch: Vec::new(),
        })
    }

    /// Heka's pack decorator: sets Type and Hostname on the messages this stream builds from
    /// records (only when the splitter does not deliver message bytes).
    pub fn set_decoration(&mut self, message_type: Option<Bytes>, hostname: Option<Bytes>) {
        self.decorate_type = message_type;
        self.decorate_hostname = hostname;
    }

    /// Attaches a delivery acknowledgement token to every batch this stream routes from now on.
    pub fn enable_ack(&mut self) {
        self.ack.get_or_insert_with(AckTracker::default);
    }

    /// The acknowledgement tracker, when enabled.
    pub fn acks(&mut self) -> Option<&mut AckTracker> {
        self.ack.as_mut()
    }

    /// Does one `read` from `r` into the buffer and routes every complete record.
    ///
    /// Returns the number of bytes read; 0 means end of stream (call [`Stream::finish`]).
    pub fn read_from(&mut self, r: &mut dyn Read) -> std::io::Result<usize> {
        if self.scratch.is_empty() {
            let read_size = self.shared.splitter_options.min_buffer_size.max(MIN_READ);
            self.scratch = vec![0; read_size];
        }
        // Reading into a reused, already zeroed buffer and copying what arrived is cheaper than
        // zeroing fresh space in `buf` before every read (small reads are common).
        let n = r.read(&mut self.scratch)?;
        self.buf.extend_from_slice(&self.scratch[..n]);
        if n > 0 {
            self.split(false);
            self.flush();
        }
        Ok(n)
    }

    /// Appends bytes already read (for inputs that do their own reading) and routes every
    /// complete record.
    pub fn push_bytes(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
        self.split(false);
        self.flush();
    }

    /// End of stream: delivers an incomplete final record when `deliver_incomplete_final` is
    /// set, and routes what is pending.
    pub fn finish(&mut self) {
        self.split(true);
        if !self.buf.is_empty() {
            tracing::debug!(input = %self.shared.input_name, bytes = self.buf.len(), "discarding incomplete final record");
            self.buf.clear();
        }
        self.flush();
    }

    /// Splits one datagram on its own: records never span datagrams, and the end of the
    /// datagram ends its last record (an unterminated tail is delivered, not dropped).
    pub fn push_datagram(&mut self, data: &[u8]) {
        let leftover = std::mem::take(&mut self.buf);
        self.buf.extend_from_slice(data);
        self.split_with(true, true);
        self.buf = leftover;
        self.flush();
    }

    /// Routes a message built by the input itself, decoding it when the input has a decoder.
    pub fn deliver_message(&mut self, message: Message) {
        self.decode_and_batch(Pack::new(message));
        self.flush();
    }

    /// Sends the batch collected so far to the router.
    pub fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let packs = std::mem::replace(&mut self.batch, Vec::with_capacity(MAX_BATCH));
        let token = self.ack.as_mut().map(|a| a.token().1);
        self.shared.router.route(Batch::new(packs, token));
    }

    fn split(&mut self, eof: bool) {
        let deliver_tail = self.shared.splitter_options.deliver_incomplete_final;
        self.split_with(eof, deliver_tail);
    }

    fn split_with(&mut self, eof: bool, deliver_tail: bool) {
        let mut off = 0;
        self.records.clear();
        while off < self.buf.len() {
            let s = self.splitter.find_record(&self.buf[off..]);
            if s.consumed == 0 {
                break;
            }
            if let Some(r) = s.record {
                self.records.push((off + r.start..off + r.end, s.signer));
            }
            off += s.consumed.min(self.buf.len() - off);
        }
        let rest = self.buf.len() - off;
        let opts = &self.shared.splitter_options;
        if rest >= self.max_record {
            self.shared.stats.oversized.fetch_add(1, Ordering::Relaxed);
            tracing::error!(input = %self.shared.input_name, "record exceeded MAX_RECORD_SIZE {}", self.max_record);
            if opts.keep_truncated {
                self.records.push((off..off + self.max_record, None));
            }
            off = self.buf.len();
        } else if eof && rest > 0 && deliver_tail {
            self.records.push((off..self.buf.len(), None));
            off = self.buf.len();
        }
        if self.records.is_empty() {
            let _ = self.buf.split_to(off);
            return;
        }
        let chunk = self.buf.split_to(off).freeze();
        let n = self.records.len();
        self.shared
            .stats
            .records
            .fetch_add(n as u64, Ordering::Relaxed);
        let use_bytes = opts.use_message_bytes;
        let ids = if use_bytes { Bytes::new() } else { uuids(n) };
        let now = heka_message::now_ns();
        let records = std::mem::take(&mut self.records);
        for (i, (r, signer)) in records.iter().enumerate() {
            let rec = chunk.slice(r.clone());
            let pack = if use_bytes {
                Pack {
                    raw: Some(rec),
                    signer: signer.clone(),
                    ..Pack::default()
                }
            } else {
                let message = Message {
                    uuid: ids.slice(i * 16..i * 16 + 16),
                    timestamp: now,
                    logger: Some(self.shared.logger.clone()),
                    payload: Some(rec),
                    r#type: self.decorate_type.clone(),
                    hostname: self.decorate_hostname.clone(),
                    ..Message::default()
                };
                Pack {
                    message,
                    signer: signer.clone(),
                    ..Pack::default()
                }
            };
            self.decode_and_batch(pack);
        }
        self.records = records;
        self.records.clear();
    }

    fn decode_and_batch(&mut self, mut pack: Pack) {
        if let Some(d) = self.decoder.as_mut() {
            match d.decode(&mut pack, &mut self.extra) {
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

/// Heka's `AddDecodeFailureFields`: BOOL `decode_failure` = true and STRING `decode_error` (at
/// most 500 bytes).
fn tag_decode_failure(pack: &mut Pack, err: &str) {
    let mut end = err.len().min(500);
    while !err.is_char_boundary(end) {
        end -= 1;
    }
    pack.raw = None;
    pack.message
        .add_field(Field::new_bool("decode_failure", true));
    pack.message
        .add_field(Field::new_string("decode_error", err[..end].to_string()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::{CodecError, Split};
    use crate::router::Destination;

    /// Splits on '\n' (a tiny fake of our own trait).
    struct Lines;
    impl Splitter for Lines {
        fn find_record(&mut self, buf: &[u8]) -> Split {
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

    /// Fails on payloads starting with "bad".
    struct Picky;
    impl Decoder for Picky {
        fn decode(&mut self, pack: &mut Pack, _: &mut Vec<Pack>) -> Result<Decoded, CodecError> {
            if pack.message.payload_bytes().starts_with(b"bad") {
                return Err(CodecError::new("bad line"));
            }
            pack.message.set_type("line");
            Ok(Decoded::Keep)
        }
    }

    fn stream(
        opts: SplitterOptions,
        decoder: bool,
        send_failures: bool,
    ) -> (Stream, crossbeam_channel::Receiver<Arc<Batch>>) {
        let router = Arc::new(Router::default());
        let (tx, rx) = crossbeam_channel::unbounded();
        router.add(Destination {
            name: "sink".into(),
            tx,
        });
        let shared = StreamShared {
            input_name: "in".into(),
            logger: Bytes::from_static(b"in"),
            splitter: Arc::new(|| Ok(Box::new(Lines) as Box<dyn Splitter>)),
            splitter_options: opts,
            decoder: decoder.then(|| -> Factory<dyn Decoder> {
                Arc::new(|| Ok(Box::new(Picky) as Box<dyn Decoder>))
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

    fn payloads(rx: &crossbeam_channel::Receiver<Arc<Batch>>) -> Vec<Vec<u8>> {
        rx.try_iter()
            .flat_map(|b| {
                b.packs
                    .iter()
                    .map(|p| p.message.payload_bytes().to_vec())
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
        let p = &batches[0].packs[0];
        assert_eq!(p.message.logger_bytes(), b"in");
        assert_eq!(p.message.uuid.len(), 16);
        assert_eq!(p.message.uuid[6] >> 4, 4);
        assert!(p.message.timestamp > 0);
        let all: Vec<_> = batches
            .iter()
            .flat_map(|b| b.packs.iter().map(|p| p.message.payload_bytes().to_vec()))
            .collect();
        assert_eq!(all, vec![b"one\n".to_vec(), b"two\n".to_vec()]);
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
    fn decode_failures_are_dropped_or_tagged() {
        let (mut s, rx) = stream(opts(), true, false);
        s.push_bytes(b"good\nbad\n");
        assert_eq!(payloads(&rx), vec![b"good\n".to_vec()]);
        let (mut s, rx) = stream(opts(), true, true);
        s.push_bytes(b"bad one\n");
        let b = rx.try_recv().unwrap();
        let m = &b.packs[0].message;
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
        assert!(held.has_ack());
        drop(held);
        assert_eq!(s.acks().unwrap().poll(), 1);
    }
}
