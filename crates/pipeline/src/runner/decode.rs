//! The decode stage: Heka's DecoderRunner, on a few threads per input.
//!
//! Heka decoded on a task of its own unless an input set `synchronous_decode`; so do we, for
//! inputs that read on a thread of their own (LogstreamerInput, UdpInput, ProcessInput, …):
//! their thread reads and splits, and a decode worker decodes and routes, so a costly decoder (a
//! Lua grammar) and the reading run on two cores. Connection inputs decode on their I/O threads,
//! which already spread connections over the cores (see [`crate::runner::input::InputContext`]).
//!
//! An input has at most [`MAX_WORKERS`] workers (one per core), started when a stream first
//! sends them something. Each stream is tied to one worker, which keeps that stream's decoder
//! instance, so a stream's messages stay in order and a stateful decoder sees one stream only.
//! A stream whose decoder is parallel-safe ([`Decoder::parallel_safe`]: it keeps no state
//! between messages) hands its large batches to every worker in turn, each with its own
//! instance, and a [`Reorder`] routes the decoded batches in the stream's order: one busy log
//! file is decoded on every core. It does so only while the input has fewer streams than
//! workers; beyond that the streams themselves keep the workers busy.
//! A worker's queue holds [`QUEUE_BATCHES`] batches: a full queue holds back the stream
//! (non-blocking streams keep the batch and report themselves blocked, as with a full
//! destination), and a destination that is full holds back the worker. The worker never waits
//! on its input, so no wait-for cycle can form through it.
//!
//! A batch's acknowledgement token is issued by the stream when it hands the batch over and
//! travels with it; a batch the decoder drops entirely is acknowledged at once.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

use crate::pack::{AckToken, Pack};
use crate::plugin::Decoder;
use crate::router::{self, Lane};
use crate::runner::catch_panic;
use crate::runner::stream::{StreamShared, decode_batch, new_decoder};

/// Most decode workers one input has.
pub(crate) const MAX_WORKERS: usize = 4;

/// Batches a worker's queue holds.
pub(crate) const QUEUE_BATCHES: usize = 4;

/// How long the input runner waits for its workers to finish at shutdown.
const JOIN_WAIT: Duration = Duration::from_secs(30);

/// What a stream hands its worker.
pub(crate) enum Job {
    /// Packs to decode (when `decode`) and route, in the stream's order.
    Batch {
        /// The stream they come from.
        stream: u64,
        /// The stream's decoder instance, with its first batch.
        decoder: Option<Box<dyn Decoder>>,
        packs: Vec<Pack>,
        decode: bool,
        ack: Option<AckToken>,
        /// The batch's place in its stream, when several workers decode the stream.
        order: Option<(u64, Arc<Reorder>)>,
        /// The stream's count of jobs not yet routed, taken down once this one is.
        flight: Arc<AtomicUsize>,
    },
    /// The stream is gone: its decoder instance can go too.
    Close { stream: u64 },
}

impl Job {
    /// Messages the job carries.
    pub(crate) fn len(&self) -> usize {
        match self {
            Job::Batch { packs, .. } => packs.len(),
            Job::Close { .. } => 0,
        }
    }
}

/// One worker's queue and thread.
struct Worker {
    tx: Sender<Job>,
    thread: JoinHandle<()>,
}

/// The decode workers of one input.
pub(crate) struct DecodePool {
    size: usize,
    /// The worker the next stream is tied to.
    next_worker: AtomicUsize,
    /// The next stream's number.
    next_stream: AtomicU64,
    /// Streams made and not yet gone.
    live: AtomicUsize,
    /// Started workers; `None` once the pool is closed.
    workers: Mutex<Option<Vec<Option<Worker>>>>,
}

impl DecodePool {
    /// A pool of one worker per core, at most [`MAX_WORKERS`]; none is started yet.
    pub(crate) fn new() -> DecodePool {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        DecodePool::with_workers(cores.clamp(1, MAX_WORKERS))
    }

    /// A pool of `size` workers (at least one).
    pub(crate) fn with_workers(size: usize) -> DecodePool {
        let size = size.max(1);
        DecodePool {
            size,
            next_worker: AtomicUsize::new(0),
            next_stream: AtomicU64::new(0),
            live: AtomicUsize::new(0),
            workers: Mutex::new(Some((0..size).map(|_| None).collect())),
        }
    }

    /// A new stream's number and the workers it uses: the one it is tied to (streams are
    /// spread in turn), followed by all the others when its decoder is `parallel_safe`.
    pub(crate) fn assign(&self, parallel_safe: bool) -> (u64, Vec<usize>) {
        let stream = self.next_stream.fetch_add(1, Ordering::Relaxed);
        self.live.fetch_add(1, Ordering::Relaxed);
        let first = self.next_worker.fetch_add(1, Ordering::Relaxed) % self.size;
        let n = if parallel_safe { self.size } else { 1 };
        (stream, (0..n).map(|i| (first + i) % self.size).collect())
    }

    /// A stream made by [`DecodePool::assign`] is gone.
    pub(crate) fn release(&self) {
        self.live.fetch_sub(1, Ordering::Relaxed);
    }

    /// Whether a parallel-safe stream should spread its batches over the workers: only while
    /// the input has fewer streams than workers. With more, the streams already keep every
    /// worker busy, and spreading would only multiply decoder instances (one Lua state each,
    /// for a SandboxDecoder).
    pub(crate) fn spreads(&self) -> bool {
        self.live.load(Ordering::Relaxed) < self.size
    }

    /// The queue of worker `k`, starting it when needed; `None` once the pool is closed (or
    /// when no thread can be started), and the stream then decodes itself.
    pub(crate) fn sender(&self, k: usize, shared: &Arc<StreamShared>) -> Option<Sender<Job>> {
        let mut guard = self.workers.lock();
        let slot = guard.as_mut()?.get_mut(k % self.size)?;
        if let Some(w) = slot {
            return Some(w.tx.clone());
        }
        let (tx, rx) = crossbeam_channel::bounded(QUEUE_BATCHES);
        let ctx = shared.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("{}-dec{k}", shared.input_name))
            .spawn(move || work(&ctx, rx));
        match spawned {
            Ok(thread) => {
                *slot = Some(Worker {
                    tx: tx.clone(),
                    thread,
                });
                Some(tx)
            }
            Err(e) => {
                tracing::error!(input = %shared.input_name, "can't start a decode thread ({e}): decoding on the input's thread");
                None
            }
        }
    }

    /// Closes the pool and waits for its workers to route what they hold (up to 30 s: a stream
    /// kept alive past its input's end keeps its worker's queue open). Streams made afterwards
    /// decode on their own thread.
    pub(crate) fn close(&self, input: &str) {
        let Some(workers) = self.workers.lock().take() else {
            return;
        };
        let threads: Vec<JoinHandle<()>> = workers
            .into_iter()
            .flatten()
            .map(|w| {
                drop(w.tx);
                w.thread
            })
            .collect();
        let deadline = Instant::now() + JOIN_WAIT;
        for t in threads {
            while !t.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if t.is_finished() {
                let _ = t.join();
            } else {
                tracing::error!(input = %input, "a decode thread still has a stream open after the input ended; not waiting for it");
            }
        }
    }
}

/// A worker: decodes and routes each job in the order its streams sent them, until every
/// queue sender is gone.
fn work(shared: &Arc<StreamShared>, rx: Receiver<Job>) {
    let mut decoders: HashMap<u64, Box<dyn Decoder>> = HashMap::new();
    let mut extra = Vec::new();
    let mut pending = Vec::new();
    for job in rx {
        match job {
            Job::Close { stream } => {
                decoders.remove(&stream);
            }
            Job::Batch {
                stream,
                decoder,
                packs,
                decode,
                ack,
                order,
                flight,
            } => {
                if let Some(d) = decoder {
                    decoders.insert(stream, d);
                } else if decode && !decoders.contains_key(&stream) {
                    // Another worker got the stream's first instance: this one makes its own.
                    if let Some(d) = new_decoder(shared) {
                        decoders.insert(stream, d);
                    }
                }
                let packs = match decoders.get_mut(&stream) {
                    Some(d) if decode => decode_batch(shared, d, packs, &mut extra),
                    _ => packs,
                };
                match order {
                    Some((seq, order)) => {
                        order.deliver(seq, (packs, ack, flight), shared, &mut pending);
                    }
                    None => {
                        route(shared, packs, ack, &mut pending);
                        flight.fetch_sub(1, Ordering::AcqRel);
                    }
                }
            }
        }
    }
}

/// Routes one decoded batch, waiting for room in full destinations.
fn route(
    shared: &StreamShared,
    packs: Vec<Pack>,
    ack: Option<AckToken>,
    pending: &mut Vec<router::Pending>,
) {
    let routed = catch_panic(|| {
        shared.router.prepare(packs, ack, Lane::Main, None, pending);
        router::send_blocking(pending.drain(..));
    });
    if let Err(e) = routed {
        tracing::error!(input = %shared.input_name, "routing {e}");
        pending.clear();
    }
}

/// Routes the batches of one stream that several workers decode in the order the stream
/// numbered them. A batch decoded ahead of its turn waits here; the worker that delivers the
/// batch whose turn it is routes it and every waiting batch that follows, while the others go
/// on decoding. Bounded by the workers' queues: the stream hands over no more than they hold.
#[derive(Default)]
pub(crate) struct Reorder {
    state: Mutex<ReorderState>,
}

/// A decoded batch, its acknowledgement and its stream's count of jobs not yet routed.
type Decoded = (Vec<Pack>, Option<AckToken>, Arc<AtomicUsize>);

#[derive(Default)]
struct ReorderState {
    /// The number of the batch to route next.
    next: u64,
    /// Decoded batches waiting for their turn.
    ready: std::collections::BTreeMap<u64, Decoded>,
    /// A worker is routing this stream's batches (outside the lock).
    routing: bool,
}

impl Reorder {
    /// Hands over batch `seq`, decoded; routes it now if its turn has come and no other worker
    /// is routing this stream.
    fn deliver(
        &self,
        seq: u64,
        batch: Decoded,
        shared: &StreamShared,
        pending: &mut Vec<router::Pending>,
    ) {
        let mut state = self.state.lock();
        state.ready.insert(seq, batch);
        if state.routing {
            return;
        }
        loop {
            let next = state.next;
            let Some((packs, ack, flight)) = state.ready.remove(&next) else {
                state.routing = false;
                return;
            };
            state.next += 1;
            state.routing = true;
            drop(state);
            route(shared, packs, ack, pending);
            flight.fetch_sub(1, Ordering::AcqRel);
            state = self.state.lock();
        }
    }
}
