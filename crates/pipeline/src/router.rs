//! The router: matches every batch against every filter's and output's matcher on the thread
//! that produced it, and hands each destination only what it matches.
//!
//! Heka's router is one goroutine that hands each pack to every match runner, and each runner
//! evaluates its matcher on its own goroutine. Ours is a shared object called from the producing
//! thread (an input's connection, a filter's injection). For each batch it evaluates the
//! matchers, builds one [`Delivery`] per destination that matched at least one message (the
//! shared `Arc<Batch>` plus a bit mask of the matching packs) and puts it into that
//! destination's bounded channel. So:
//!
//! * a destination receives only what it matches: a full or failing destination holds back only
//!   the producers that have something for it, and acknowledgements wait only on destinations
//!   that matched;
//! * matching runs on the producers, which already run in parallel;
//! * matchers that test `Type`, `Logger` or `Hostname` for equality (alone or as a top-level
//!   `&&` operand) are indexed by that value, so destinations that cannot match cost one hash
//!   lookup per message and header, not one evaluation each.
//!
//! Every destination has two lanes: `main` for what inputs route and `inject` for what filters
//! inject, which its runner drains first. A filter never receives its own injections.
//!
//! Routing never blocks inside the router: [`Router::prepare`] computes the deliveries, and the
//! caller sends them ([`send_blocking`], [`try_send`]) as its threading model allows.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use crossbeam_channel::{Receiver, Sender, TrySendError};
use heka_matcher::{IndexHeader, Matcher};
use parking_lot::RwLock;

use crate::pack::{Batch, Pack};

/// Largest number of packs in one routed batch (the width of a [`Mask`]).
pub const MAX_BATCH: usize = 512;

const MASK_WORDS: usize = MAX_BATCH / 64;

/// Which packs of a batch a destination matched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mask([u64; MASK_WORDS]);

impl Mask {
    /// The first `n` packs (at most [`MAX_BATCH`]).
    pub(crate) fn first(n: usize) -> Mask {
        let mut m = Mask::default();
        for i in 0..n.min(MAX_BATCH) {
            m.set(i);
        }
        m
    }

    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    /// Whether pack `i` is selected.
    pub fn get(&self, i: usize) -> bool {
        i < MAX_BATCH && self.0[i / 64] & (1 << (i % 64)) != 0
    }

    /// How many packs are selected.
    pub fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    /// The indexes of the selected packs, in order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(w, bits)| {
            let mut b = *bits;
            std::iter::from_fn(move || {
                if b == 0 {
                    return None;
                }
                let i = b.trailing_zeros() as usize;
                b &= b - 1;
                Some(w * 64 + i)
            })
        })
    }
}

/// What one destination receives: a shared batch and the packs of it that it matched.
#[derive(Debug)]
pub struct Delivery {
    /// The routed batch, shared by every destination that matched part of it.
    pub batch: Arc<Batch>,
    /// The packs this destination matched.
    pub mask: Mask,
}

impl Delivery {
    /// The matched packs, in order.
    pub fn packs(&self) -> impl Iterator<Item = &Pack> + '_ {
        self.mask.iter().map(|i| &self.batch.packs[i])
    }

    /// Number of matched packs.
    pub fn len(&self) -> usize {
        self.mask.count()
    }

    /// Whether nothing was matched (never the case for a routed delivery).
    pub fn is_empty(&self) -> bool {
        self.mask.is_empty()
    }
}

/// Which of a destination's channels a delivery goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// What inputs route.
    Main,
    /// What filters inject (drained first by the destination's runner).
    Inject,
}

/// Counters the router keeps for one destination.
#[derive(Debug, Default)]
pub(crate) struct MatchStats {
    pub(crate) matched: AtomicU64,
    /// Matcher evaluations timed, and their total time (Heka's MatchAvgDuration sampling).
    pub(crate) samples: AtomicU64,
    pub(crate) sample_ns: AtomicU64,
    /// Messages to match before the next timed one.
    until_sample: AtomicI64,
}

/// One filter or output as the router sees it.
pub(crate) struct Destination {
    pub(crate) name: Arc<str>,
    pub(crate) matcher: Matcher,
    /// Only messages with this verified signer (`message_signer`).
    pub(crate) signer: Option<Bytes>,
    pub(crate) main: Sender<Delivery>,
    pub(crate) inject: Sender<Delivery>,
    pub(crate) stats: Arc<MatchStats>,
    /// Evaluations are timed one in `sample_denominator` (plus jitter) after the first
    /// `plugin_chansize` (Heka's match runner sampling).
    pub(crate) sample_denominator: u64,
    pub(crate) sample_first: u64,
}

impl Destination {
    fn sender(&self, lane: Lane) -> &Sender<Delivery> {
        match lane {
            Lane::Main => &self.main,
            Lane::Inject => &self.inject,
        }
    }

    fn accepts(&self, pack: &Pack) -> bool {
        if let Some(s) = &self.signer
            && pack.signer.as_ref() != Some(s)
        {
            return false;
        }
        self.matcher.matches(&pack.view())
    }

    /// Evaluates one message, timing this evaluation when the sampling says so.
    fn accepts_timed(&self, pack: &Pack) -> bool {
        let t = Instant::now();
        let m = self.accepts(pack);
        let ns = t.elapsed().as_nanos() as u64;
        self.stats.sample_ns.fetch_add(ns, Ordering::Relaxed);
        let samples = self.stats.samples.fetch_add(1, Ordering::Relaxed) + 1;
        // Heka compat: pipeline/plugin_runners.go times every message until the samples exceed
        // the channel capacity, then one in `random(0..999) + sample_denominator`.
        let next = if samples <= self.sample_first {
            0
        } else {
            fastrand::u64(0..999) + self.sample_denominator
        };
        self.stats
            .until_sample
            .store(next.min(i64::MAX as u64) as i64, Ordering::Relaxed);
        m
    }

    /// Counts `n` messages towards the next timed evaluation; returns which of them (by
    /// index) to time, if any. One sampled evaluation per batch at most; the countdown is
    /// shared by all producers.
    fn sample_in(&self, n: usize) -> Option<usize> {
        let n = n as i64;
        let left = self.stats.until_sample.fetch_sub(n, Ordering::Relaxed);
        (left <= n).then(|| (left.max(1) - 1) as usize)
    }

    /// Sets the bits of the packs this destination matches.
    fn match_batch(&self, packs: &[Pack], mask: &mut Mask) {
        let timed = self.sample_in(packs.len());
        for (i, p) in packs.iter().enumerate() {
            let hit = if timed == Some(i) {
                self.accepts_timed(p)
            } else {
                self.accepts(p)
            };
            if hit {
                mask.set(i);
            }
        }
    }
}

/// Header value → the destinations whose matcher requires that value.
type HeaderIndex = HashMap<Box<[u8]>, Vec<usize>>;

/// The destinations and the matcher index, rebuilt whenever a destination joins or leaves.
#[derive(Default)]
struct Table {
    dests: Vec<Arc<Destination>>,
    /// Destinations whose matcher has no index key: evaluated for every message.
    unindexed: Vec<usize>,
    /// Per header: header value → destinations whose matcher requires that value.
    index: Vec<(IndexHeader, HeaderIndex)>,
}

impl Table {
    fn new(dests: Vec<Arc<Destination>>) -> Table {
        let mut unindexed = Vec::new();
        let mut index: Vec<(IndexHeader, HeaderIndex)> = Vec::new();
        for (i, d) in dests.iter().enumerate() {
            match d.matcher.index_key() {
                Some((h, v)) => {
                    let pos = match index.iter().position(|(ih, _)| *ih == h) {
                        Some(p) => p,
                        None => {
                            index.push((h, HashMap::new()));
                            index.len() - 1
                        }
                    };
                    index[pos].1.entry(v.into()).or_default().push(i);
                }
                None => unindexed.push(i),
            }
        }
        Table {
            dests,
            unindexed,
            index,
        }
    }
}

/// A delivery computed by [`Router::prepare`], not yet sent.
pub struct Pending {
    dest: Arc<Destination>,
    lane: Lane,
    delivery: Delivery,
}

impl Pending {
    /// The destination's name.
    pub fn destination(&self) -> &str {
        &self.dest.name
    }

    /// How many messages this delivery holds.
    pub fn len(&self) -> usize {
        self.delivery.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.delivery.is_empty()
    }

    /// Sends, waiting while the channel is full. A destination that has stopped takes nothing.
    pub(crate) fn send(self) {
        let _ = self.dest.sender(self.lane).send(self.delivery);
    }

    /// Sends if there is room; gives the pending delivery back otherwise.
    pub(crate) fn try_send(self) -> Result<(), Pending> {
        let Pending {
            dest,
            lane,
            delivery,
        } = self;
        match dest.sender(lane).try_send(delivery) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => Ok(()),
            Err(TrySendError::Full(delivery)) => Err(Pending {
                dest,
                lane,
                delivery,
            }),
        }
    }
}

/// Waits until the first of `pending` can be sent (and sends it, returning `None`) or `rx` has
/// something (returning what its receive gave). Used by a filter waiting to send its injections
/// while it keeps taking what is injected into it.
pub(crate) fn send_first_or_recv<T>(
    pending: &mut Vec<Pending>,
    rx: Option<&Receiver<T>>,
) -> Option<Result<T, crossbeam_channel::RecvError>> {
    let first = pending.first()?;
    let (dest, lane) = (first.dest.clone(), first.lane);
    let tx = dest.sender(lane);
    let mut sel = crossbeam_channel::Select::new();
    sel.send(tx);
    let ri = rx.map(|r| (sel.recv(r), r));
    let op = sel.select();
    match ri {
        Some((i, r)) if op.index() == i => Some(op.recv(r)),
        // The only other operation: the send.
        _ => {
            let p = pending.remove(0);
            let _ = op.send(tx, p.delivery);
            None
        }
    }
}

/// Sends every delivery, waiting while a destination is full.
pub fn send_blocking(pending: impl IntoIterator<Item = Pending>) {
    for p in pending {
        p.send();
    }
}

/// Sends what fits, in order, and keeps the rest in `pending`. A destination that is full takes
/// nothing more in this call, so each destination still receives its deliveries in order.
/// Returns whether everything was sent.
pub fn try_send(pending: &mut Vec<Pending>) -> bool {
    if pending.is_empty() {
        return true;
    }
    let mut full: Vec<*const Destination> = Vec::new();
    let mut kept = Vec::new();
    for p in pending.drain(..) {
        let key = Arc::as_ptr(&p.dest);
        if full.contains(&key) {
            kept.push(p);
            continue;
        }
        if let Err(p) = p.try_send() {
            full.push(key);
            kept.push(p);
        }
    }
    *pending = kept;
    pending.is_empty()
}

/// Fans batches out to the runners of filters and outputs.
#[derive(Default)]
pub struct Router {
    table: RwLock<Arc<Table>>,
    processed: AtomicU64,
}

impl Router {
    /// Matches `packs` against every destination (except `origin`, the filter that injected
    /// them) and appends the resulting deliveries to `out`, in destination order. Batches larger
    /// than [`MAX_BATCH`] are split. `ack` travels with the batch: it is released when the last
    /// destination that matched part of it lets go (at once when none did).
    pub fn prepare(
        &self,
        mut packs: Vec<Pack>,
        ack: Option<crate::pack::AckToken>,
        lane: Lane,
        origin: Option<&str>,
        out: &mut Vec<Pending>,
    ) {
        if packs.is_empty() {
            return;
        }
        let table = self.table.read().clone();
        while packs.len() > MAX_BATCH {
            let rest = packs.split_off(MAX_BATCH);
            let head = std::mem::replace(&mut packs, rest);
            self.prepare_one(&table, head, None, lane, origin, out);
        }
        self.prepare_one(&table, packs, ack, lane, origin, out);
    }

    fn prepare_one(
        &self,
        table: &Table,
        packs: Vec<Pack>,
        ack: Option<crate::pack::AckToken>,
        lane: Lane,
        origin: Option<&str>,
        out: &mut Vec<Pending>,
    ) {
        self.processed
            .fetch_add(packs.len() as u64, Ordering::Relaxed);
        let mut masks = vec![Mask::default(); table.dests.len()];
        for &d in &table.unindexed {
            table.dests[d].match_batch(&packs, &mut masks[d]);
        }
        // Indexed destinations: evaluated only for messages whose header value they require.
        // The first such message of the batch may be timed for the report.
        let mut seen = vec![false; table.dests.len()];
        for (header, map) in &table.index {
            for (i, p) in packs.iter().enumerate() {
                if let Some(ds) = map.get(header.value(&p.view())) {
                    for &d in ds {
                        let dest = &table.dests[d];
                        let timed = !seen[d] && {
                            seen[d] = true;
                            dest.sample_in(packs.len()).is_some()
                        };
                        let hit = if timed {
                            dest.accepts_timed(p)
                        } else {
                            dest.accepts(p)
                        };
                        if hit {
                            masks[d].set(i);
                        }
                    }
                }
            }
        }
        let batch = Arc::new(Batch::new(packs, ack));
        for (d, mask) in table.dests.iter().zip(masks) {
            if mask.is_empty() || origin == Some(&*d.name) {
                continue;
            }
            d.stats
                .matched
                .fetch_add(mask.count() as u64, Ordering::Relaxed);
            out.push(Pending {
                dest: d.clone(),
                lane,
                delivery: Delivery {
                    batch: batch.clone(),
                    mask,
                },
            });
        }
    }

    /// Routes `packs` from an input and waits while a destination is full.
    pub fn route(&self, packs: Vec<Pack>, ack: Option<crate::pack::AckToken>) {
        let mut out = Vec::new();
        self.prepare(packs, ack, Lane::Main, None, &mut out);
        send_blocking(out);
    }

    /// Messages routed so far (Heka's router `ProcessMessageCount`).
    pub fn processed(&self) -> u64 {
        self.processed.load(Ordering::Relaxed)
    }

    pub(crate) fn add(&self, d: Destination) {
        let mut w = self.table.write();
        let mut v = w.dests.clone();
        v.push(Arc::new(d));
        *w = Arc::new(Table::new(v));
    }

    /// Whether a destination called `name` is in the table.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.table.read().dests.iter().any(|d| &*d.name == name)
    }

    /// Removes the destination `name`; once in-flight sends are done its channels disconnect,
    /// and its runner drains them and stops.
    pub(crate) fn remove(&self, name: &str) {
        let mut w = self.table.write();
        let v: Vec<_> = w
            .dests
            .iter()
            .filter(|d| &*d.name != name)
            .cloned()
            .collect();
        *w = Arc::new(Table::new(v));
    }
}

/// The receiving ends of a destination's lanes.
pub(crate) struct Lanes {
    pub(crate) main: Receiver<Delivery>,
    pub(crate) inject: Receiver<Delivery>,
}

impl Lanes {
    /// Lanes that never deliver (a buffered runner's plugin side: its queue feeder holds the
    /// real ones).
    pub(crate) fn never() -> Lanes {
        Lanes {
            main: crossbeam_channel::never(),
            inject: crossbeam_channel::never(),
        }
    }
}

/// Makes a destination's two lanes of `cap` deliveries each.
pub(crate) fn lanes(cap: usize) -> ((Sender<Delivery>, Sender<Delivery>), Lanes) {
    let (mt, mr) = crossbeam_channel::bounded(cap.max(1));
    let (it, ir) = crossbeam_channel::bounded(cap.max(1));
    (
        (mt, it),
        Lanes {
            main: mr,
            inject: ir,
        },
    )
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// Adds a destination called `name` with lanes of `cap` deliveries; returns its lanes.
    pub(crate) fn destination(router: &Router, name: &str, matcher: &str, cap: usize) -> Lanes {
        let ((main, inject), lanes) = lanes(cap);
        router.add(Destination {
            name: name.into(),
            matcher: Matcher::parse(matcher).expect("test matcher"),
            signer: None,
            main,
            inject,
            stats: Default::default(),
            sample_denominator: 1000,
            sample_first: 0,
        });
        lanes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use heka_message::Message;

    fn pack(ty: &str, payload: &str) -> Pack {
        let mut m = Message::default();
        m.set_type(ty.to_string());
        m.set_payload(payload.to_string());
        Pack::new(m)
    }

    use super::testing::destination as dest;

    fn payloads(rx: &Receiver<Delivery>) -> Vec<String> {
        rx.try_iter()
            .flat_map(|d| {
                d.packs()
                    .map(|p| String::from_utf8_lossy(p.message().payload_bytes()).into_owned())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn each_destination_gets_only_what_it_matches_indexed_or_not() {
        let r = Router::default();
        let a = dest(&r, "a", "Type == 'a'", 8);
        let b = dest(&r, "b", "Type == 'b' && Payload != 'b2'", 8);
        let all = dest(&r, "all", "TRUE", 8);
        let none = dest(&r, "none", "Type == 'zzz'", 8);
        let odd = dest(&r, "odd", "Payload =~ /[13]$/", 8);
        r.route(
            vec![
                pack("a", "a1"),
                pack("b", "b2"),
                pack("a", "a3"),
                pack("b", "b4"),
            ],
            None,
        );
        assert_eq!(payloads(&a.main), ["a1", "a3"]);
        assert_eq!(payloads(&b.main), ["b4"]);
        assert_eq!(payloads(&all.main), ["a1", "b2", "a3", "b4"]);
        assert_eq!(payloads(&odd.main), ["a1", "a3"]);
        assert!(none.main.try_recv().is_err(), "no delivery without a match");
        assert_eq!(r.processed(), 4);
    }

    #[test]
    fn injections_use_the_inject_lane_and_skip_their_origin() {
        let r = Router::default();
        let f = dest(&r, "f", "TRUE", 8);
        let o = dest(&r, "o", "TRUE", 8);
        let mut out = Vec::new();
        r.prepare(
            vec![pack("x", "1")],
            None,
            Lane::Inject,
            Some("f"),
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].destination(), "o");
        send_blocking(out);
        assert!(f.inject.try_recv().is_err() && f.main.try_recv().is_err());
        assert!(o.main.try_recv().is_err());
        assert_eq!(payloads(&o.inject), ["1"]);
    }

    #[test]
    fn try_send_keeps_order_per_destination_and_lets_others_through() {
        let r = Router::default();
        let slow = dest(&r, "slow", "Type == 's'", 1);
        let fast = dest(&r, "fast", "Type == 'f'", 8);
        let mut pending = Vec::new();
        for i in 0..3 {
            r.prepare(
                vec![pack("s", &format!("s{i}")), pack("f", &format!("f{i}"))],
                None,
                Lane::Main,
                None,
                &mut pending,
            );
        }
        assert!(!try_send(&mut pending));
        // The fast destination got everything; the slow one its first batch only.
        assert_eq!(payloads(&fast.main), ["f0", "f1", "f2"]);
        assert_eq!(pending.len(), 2);
        assert_eq!(payloads(&slow.main), ["s0"]);
        assert!(!try_send(&mut pending));
        assert_eq!(payloads(&slow.main), ["s1"]);
        assert!(try_send(&mut pending));
        assert_eq!(payloads(&slow.main), ["s2"]);
    }

    #[test]
    fn big_batches_are_split_and_acks_wait_only_on_matching_destinations() {
        let r = Router::default();
        let d = dest(&r, "d", "Type == 'x'", 8);
        let _never = dest(&r, "never", "Type == 'nothing'", 1);
        let packs: Vec<Pack> = (0..MAX_BATCH + 3)
            .map(|i| pack("x", &i.to_string()))
            .collect();
        r.route(packs, None);
        let ds: Vec<Delivery> = d.main.try_iter().collect();
        assert_eq!(ds.len(), 2);
        assert_eq!(ds[0].len(), MAX_BATCH);
        assert_eq!(ds[1].len(), 3);

        let mut t = crate::pack::AckTracker::default();
        let (_, tok) = t.token();
        r.route(vec![pack("x", "acked")], Some(tok));
        assert_eq!(t.poll(), 0, "d holds the batch");
        drop(d.main.try_recv().unwrap());
        assert_eq!(t.poll(), 1, "the non-matching destination never held it");
        let (_, tok) = t.token();
        r.route(vec![pack("other", "nobody")], Some(tok));
        assert_eq!(
            t.poll(),
            2,
            "a batch nobody matched is acknowledged at once"
        );
    }

    #[test]
    fn removed_destinations_receive_nothing_more() {
        let r = Router::default();
        let a = dest(&r, "a", "TRUE", 8);
        r.remove("a");
        r.route(vec![pack("x", "1")], None);
        assert!(a.main.try_recv().is_err());
        // Its senders are gone with the table: the lane reports disconnection once empty.
        assert!(matches!(
            a.main.try_recv(),
            Err(crossbeam_channel::TryRecvError::Disconnected)
        ));
    }

    #[test]
    fn matching_is_timed_now_and_then_for_indexed_and_other_matchers() {
        let r = Router::default();
        let _a = dest(&r, "indexed", "Type == 'x'", 64);
        let _b = dest(&r, "scanned", "Payload =~ /1/", 64);
        for _ in 0..3 {
            r.route(vec![pack("x", "1"), pack("x", "2")], None);
        }
        let table = r.table.read().clone();
        for d in &table.dests {
            // The countdown starts at 0: the first batch is timed, then one message in about
            // `sample_denominator` (1000 here).
            assert_eq!(d.stats.samples.load(Ordering::Relaxed), 1, "{}", d.name);
            assert!(d.stats.until_sample.load(Ordering::Relaxed) > 900);
        }
        assert_eq!(table.dests[0].stats.matched.load(Ordering::Relaxed), 6);
        assert_eq!(table.dests[1].stats.matched.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn mask_iterates_set_bits_in_order() {
        let mut m = Mask::default();
        for i in [0, 5, 63, 64, 200, 511] {
            m.set(i);
        }
        assert_eq!(m.iter().collect::<Vec<_>>(), [0, 5, 63, 64, 200, 511]);
        assert_eq!(m.count(), 6);
        assert!(m.get(511) && !m.get(512) && !m.get(1));
    }
}
