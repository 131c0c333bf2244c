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

use bytes::Bytes;
use crossbeam_channel::{Receiver, Sender};
use heka_message::Message;

/// A message in the pipeline.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pack {
    /// The decoded message.
    pub message: Message,
    /// The protobuf encoding of `message`, when it is known to match it.
    pub raw: Option<Bytes>,
    /// The signer name verified by the framing splitter (never set without a verified HMAC).
    pub signer: Option<Bytes>,
    /// How many times this message has been through a filter's injection (Heka's MsgLoopCount).
    pub loop_count: u32,
}

impl Pack {
    /// A pack holding `message`, with no encoding yet.
    pub fn new(message: Message) -> Pack {
        Pack {
            message,
            ..Pack::default()
        }
    }

    /// The protobuf encoding of the message: the trusted bytes, or a fresh encoding.
    pub fn encoded(&self) -> Cow<'_, [u8]> {
        match &self.raw {
            Some(b) => Cow::Borrowed(b),
            None => Cow::Owned(self.message.to_bytes()),
        }
    }

    /// Makes sure `raw` holds the encoding of the message.
    pub fn ensure_encoded(&mut self) {
        if self.raw.is_none() {
            self.raw = Some(Bytes::from(self.message.to_bytes()));
        }
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
        assert_eq!(p.raw.as_deref(), Some(&m.to_bytes()[..]));
    }
}
