//! Packs and batches: what moves through the pipeline.
//!
//! A [`Pack`] is Heka's `PipelinePack` without the pool: a message, its protobuf encoding when
//! known to be valid (Heka's `MsgBytes` + `TrustMsgBytes`), the verified HMAC signer and the
//! injection loop count. Inputs group packs into a [`Batch`]; the router hands every filter and
//! output the same `Arc<Batch>`, so a message is never copied after decoding and cannot be
//! mutated after the router (the type system enforces Heka's documented rule).
//!
//! Delivery acknowledgement: a batch may carry an [`AckToken`]. The token is released when the
//! last holder of the batch drops it — filters after processing it, outputs once what they took
//! from it is written — and the input that created it learns its sequence number through its
//! [`AckTracker`]. Journals and disk queues advance only on acknowledged sequence numbers.

use std::borrow::Cow;
use std::sync::OnceLock;

use bytes::Bytes;
use crossbeam_channel::{Receiver, Sender};
use heka_message::{DecodeError, FieldValue, Message, MessageView, RawIndex, RawMessage};

/// A message in the pipeline.
///
/// A pack holds its message decoded, or only its encoding: a pack made by
/// [`Pack::decode_record`] (ProtobufDecoder) keeps the validated bytes and an index of their
/// headers, and decodes them the first time something asks for [`Pack::message`]. Routers
/// match such a pack through [`Pack::view`] without decoding it, and encoders send its bytes as
/// they came, so a message that only passes through is never decoded.
#[derive(Clone, Debug, Default)]
pub struct Pack {
    /// The decoded message; unset while it is only known by its trusted bytes.
    message: OnceLock<Message>,
    /// Message bytes: the splitter's record (untrusted), or the encoding of `message`.
    raw: Option<Bytes>,
    /// `raw` is the encoding of the message.
    trusted: bool,
    /// Headers of `raw`, when it was validated by [`Pack::decode_record`].
    index: Option<RawIndex>,
    /// The signer name verified by the framing splitter (never set without a verified HMAC).
    pub signer: Option<Bytes>,
    /// How many times this message has been through a filter's injection (Heka's MsgLoopCount).
    pub loop_count: u32,
}

/// Packs compare by message, trusted encoding, signer and loop count.
impl PartialEq for Pack {
    fn eq(&self, other: &Pack) -> bool {
        self.message() == other.message()
            && self.raw() == other.raw()
            && self.signer == other.signer
            && self.loop_count == other.loop_count
    }
}

impl Pack {
    /// A pack holding `message`, with no encoding yet.
    pub fn new(message: Message) -> Pack {
        Pack {
            message: OnceLock::from(message),
            ..Pack::default()
        }
    }

    /// A pack holding a splitter's record as its message bytes (Heka's `MsgBytes`, not yet
    /// trusted) and an empty message, for a decoder to fill in.
    pub fn from_record(record: Bytes) -> Pack {
        // The message stays unset: `message()` reads an untrusted pack's as empty.
        Pack {
            raw: Some(record),
            ..Pack::default()
        }
    }

    /// A pack holding the message encoded in `raw`, which is validated now and decoded only when
    /// the message is read.
    pub fn from_encoded(raw: Bytes) -> Result<Pack, DecodeError> {
        let mut p = Pack::from_record(raw);
        p.decode_record()?;
        Ok(p)
    }

    /// A pack holding `raw`, the encoding of a message known to be valid, without validating
    /// it again: a disk queue record whose checksum matched, written from a validated pack.
    /// The message is decoded when it is first read (as the empty message should the bytes
    /// not decode after all).
    pub fn from_trusted(raw: Bytes) -> Pack {
        Pack {
            raw: Some(raw),
            trusted: true,
            ..Pack::default()
        }
    }

    /// ProtobufDecoder's work: validates the message bytes as an encoded message, which then
    /// replaces the pack's message (decoded lazily) and becomes its trusted encoding. On error
    /// the pack is unchanged.
    pub fn decode_record(&mut self) -> Result<(), DecodeError> {
        let Some(raw) = &self.raw else {
            return Err(DecodeError::new(
                "no message bytes to decode (the splitter must use message bytes)",
            ));
        };
        let index = RawIndex::build(raw)?;
        self.index = Some(index);
        self.trusted = true;
        self.message = OnceLock::new();
        Ok(())
    }

    /// The message, decoded from its bytes the first time it is asked for.
    pub fn message(&self) -> &Message {
        self.message.get_or_init(|| match &self.raw {
            // Validated by `decode_record` (or known valid: `from_trusted`); the same reader
            // decodes it, so this cannot fail.
            Some(raw) if self.index.is_some() || self.trusted => {
                Message::decode_bytes(raw.clone()).unwrap_or_default()
            }
            _ => Message::default(),
        })
    }

    /// The message, for changing it: its bytes are no longer its encoding, so they are dropped.
    pub fn message_mut(&mut self) -> &mut Message {
        self.message();
        self.raw = None;
        self.trusted = false;
        self.index = None;
        self.message.get_mut().expect("set by message() above")
    }

    /// Replaces the message (dropping any encoding of the old one).
    pub fn set_message(&mut self, message: Message) {
        self.message = OnceLock::from(message);
        self.raw = None;
        self.trusted = false;
        self.index = None;
    }

    /// The message, taken out of the pack.
    pub fn into_message(self) -> Message {
        self.message();
        self.message.into_inner().unwrap_or_default()
    }

    /// The message for reading headers and fields: the decoded message when there is one, else
    /// its bytes read in place (no decoding).
    pub fn view(&self) -> PackView<'_> {
        match (self.message.get(), &self.raw, &self.index) {
            (Some(m), _, _) => PackView::Decoded(m),
            (None, Some(raw), Some(index)) => PackView::Raw(RawMessage::new(raw, index)),
            _ => PackView::Decoded(self.message()),
        }
    }

    /// The trusted protobuf encoding of the message, when the pack has one.
    pub fn raw(&self) -> Option<&Bytes> {
        self.raw.as_ref().filter(|_| self.trusted)
    }

    /// The message bytes a splitter delivered (trusted or not): what a decoder decodes.
    pub fn record(&self) -> Option<&Bytes> {
        self.raw.as_ref()
    }

    /// The protobuf encoding of the message: the trusted bytes, or a fresh encoding.
    pub fn encoded(&self) -> Cow<'_, [u8]> {
        match self.raw() {
            Some(b) => Cow::Borrowed(b),
            None => Cow::Owned(self.message().to_bytes()),
        }
    }

    /// Makes sure the pack holds the trusted encoding of its message.
    pub fn ensure_encoded(&mut self) {
        if self.raw().is_none() {
            self.raw = Some(Bytes::from(self.message().to_bytes()));
            self.trusted = true;
        }
    }
}

/// A pack's message as [`Pack::view`] gives it: decoded, or read from its bytes.
#[derive(Clone, Copy, Debug)]
pub enum PackView<'a> {
    /// The decoded message.
    Decoded(&'a Message),
    /// The validated bytes, not decoded.
    Raw(RawMessage<'a>),
}

impl PackView<'_> {
    fn inner(&self) -> &dyn MessageView {
        match self {
            PackView::Decoded(m) => *m,
            PackView::Raw(r) => r,
        }
    }
}

impl MessageView for PackView<'_> {
    fn uuid(&self) -> &[u8] {
        self.inner().uuid()
    }
    fn timestamp(&self) -> i64 {
        self.inner().timestamp()
    }
    fn type_bytes(&self) -> &[u8] {
        self.inner().type_bytes()
    }
    fn logger_bytes(&self) -> &[u8] {
        self.inner().logger_bytes()
    }
    fn payload_bytes(&self) -> &[u8] {
        self.inner().payload_bytes()
    }
    fn env_version_bytes(&self) -> &[u8] {
        self.inner().env_version_bytes()
    }
    fn hostname_bytes(&self) -> &[u8] {
        self.inner().hostname_bytes()
    }
    fn severity_or_default(&self) -> i32 {
        self.inner().severity_or_default()
    }
    fn pid_or_default(&self) -> i32 {
        self.inner().pid_or_default()
    }
    fn field_value(
        &self,
        name: &[u8],
        field_index: usize,
        array_index: usize,
    ) -> Option<FieldValue<'_>> {
        self.inner().field_value(name, field_index, array_index)
    }
}

/// Packs routed together, with an optional delivery acknowledgement.
#[derive(Debug, Default)]
pub struct Batch {
    /// The packs, in input order.
    pub packs: Vec<Pack>,
    ack: Option<AckToken>,
}

impl Batch {
    /// A batch of `packs`, acknowledged through `ack` when every holder has released it.
    pub fn new(packs: Vec<Pack>, ack: Option<AckToken>) -> Batch {
        Batch { packs, ack }
    }

    /// Whether the batch carries an acknowledgement token.
    pub fn has_ack(&self) -> bool {
        self.ack.is_some()
    }
}

/// Releasing this token (dropping it) acknowledges sequence number `seq` to its input.
#[derive(Debug)]
pub struct AckToken {
    seq: u64,
    tx: Sender<u64>,
}

impl Drop for AckToken {
    fn drop(&mut self) {
        // The input may have gone away at shutdown; nothing is waiting then.
        let _ = self.tx.send(self.seq);
    }
}

/// The input side of delivery acknowledgement: hands out tokens with increasing sequence numbers
/// and reports the highest sequence number up to which every batch has been acknowledged.
#[derive(Debug)]
pub struct AckTracker {
    tx: Sender<u64>,
    rx: Receiver<u64>,
    next: u64,
    /// Sequence numbers acknowledged out of order, waiting for the ones before them.
    pending: std::collections::BTreeSet<u64>,
    /// Every sequence number below this one is acknowledged.
    acked_below: u64,
}

impl Default for AckTracker {
    fn default() -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        AckTracker {
            tx,
            rx,
            next: 0,
            pending: Default::default(),
            acked_below: 0,
        }
    }
}

impl AckTracker {
    /// A token for the next batch; its sequence number is returned beside it.
    pub fn token(&mut self) -> (u64, AckToken) {
        let seq = self.next;
        self.next += 1;
        (
            seq,
            AckToken {
                seq,
                tx: self.tx.clone(),
            },
        )
    }

    /// Takes in the acknowledgements that have arrived and returns how many batches, counted from
    /// the first, are acknowledged without a gap.
    pub fn poll(&mut self) -> u64 {
        while let Ok(seq) = self.rx.try_recv() {
            self.pending.insert(seq);
        }
        self.advance()
    }

    /// Like [`AckTracker::poll`], but waits up to `timeout` for at least one acknowledgement.
    pub fn wait(&mut self, timeout: std::time::Duration) -> u64 {
        if let Ok(seq) = self.rx.recv_timeout(timeout) {
            self.pending.insert(seq);
        }
        self.poll()
    }

    fn advance(&mut self) -> u64 {
        while self.pending.remove(&self.acked_below) {
            self.acked_below += 1;
        }
        self.acked_below
    }

    /// Number of tokens handed out so far: once [`AckTracker::poll`] reaches it, everything
    /// routed until now is acknowledged.
    pub fn issued(&self) -> u64 {
        self.next
    }

    /// Number of batches handed out and not yet acknowledged.
    pub fn outstanding(&self) -> u64 {
        self.next - self.acked_below
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn ack_fires_when_the_last_holder_drops_the_batch() {
        let mut t = AckTracker::default();
        let (_, tok) = t.token();
        let b = Arc::new(Batch::new(vec![Pack::default()], Some(tok)));
        let holder2 = b.clone();
        drop(b);
        assert_eq!(t.poll(), 0);
        drop(holder2);
        assert_eq!(t.poll(), 1);
        assert_eq!(t.outstanding(), 0);
    }

    #[test]
    fn acks_advance_only_without_gaps() {
        let mut t = AckTracker::default();
        let toks: Vec<_> = (0..3).map(|_| t.token().1).collect();
        let mut it = toks.into_iter();
        let (a, b, c) = (it.next(), it.next(), it.next());
        drop(c);
        drop(b);
        assert_eq!(t.poll(), 0);
        assert_eq!(t.outstanding(), 3);
        drop(a);
        assert_eq!(t.poll(), 3);
    }

    #[test]
    fn encoded_uses_trusted_bytes_or_encodes() {
        let mut m = Message::default();
        m.set_type("x");
        let mut p = Pack::new(m.clone());
        assert_eq!(&*p.encoded(), &m.to_bytes()[..]);
        p.ensure_encoded();
        assert_eq!(p.raw().map(|b| &b[..]), Some(&m.to_bytes()[..]));
    }
}
