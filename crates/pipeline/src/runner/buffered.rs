//! `use_buffering`: a filter's or output's deliveries go through its disk queue.
//!
//! The runner's lanes go to a feeder thread ([`Feeder`]) that appends every matched message to
//! the queue, writes each delivery with one `write(2)` and only then drops the delivery, so the
//! input's acknowledgement (and its journal) moves only once the message is on disk. The
//! runner's own thread reads the queue back ([`ReadSide`]) and hands the plugin batches of
//! what it read; the cursor is committed once a filter has processed a batch, and once an
//! output's flush reports it written.
//!
//! The feeder never sends anything. With `full_action = "block"` it stops taking what inputs
//! route while the queue is full, exactly like a full main lane, and the queue empties through
//! the plugin's side alone; what filters inject is always queued (past the limit if need be),
//! as a runner always takes from its inject lane. So the plugin's side, which may wait to send
//! what a filter injects, never waits on a feeder that waits on it.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::select;

use crate::config::FullAction;
use crate::pack::{Batch, Pack};
use crate::router::{Delivery, Lanes, MAX_BATCH, Mask};
use crate::runner::filter_output::{FoStats, SHUTDOWN_RETRY_GRACE};
use crate::runner::queue::{Position, QueueError, QueueReader, QueueSize, QueueWriter, Record};
use crate::runner::{Backoff, ShutdownHandle, StopSignal};

/// A plugin's queue, as the builder opened it.
pub(crate) struct Buffer {
    pub(crate) writer: QueueWriter,
    pub(crate) reader: QueueReader,
    pub(crate) full_action: FullAction,
}

/// The writing side: takes the runner's deliveries and queues them.
pub(crate) struct Feeder {
    pub(crate) name: Arc<str>,
    pub(crate) lanes: Lanes,
    pub(crate) writer: QueueWriter,
    pub(crate) full_action: FullAction,
    pub(crate) shutdown: ShutdownHandle,
    pub(crate) draining: Arc<StopSignal>,
    pub(crate) stats: Arc<FoStats>,
    /// `full_action = "shutdown"` was acted on.
    shutdown_asked: bool,
    shutdown_seen: Cell<Option<Instant>>,
}

/// How long a feeder blocked on a full queue sleeps at most before it looks again.
const BLOCK_POLL: Duration = Duration::from_millis(100);

impl Feeder {
    /// Starts the feeder thread for `runner`'s lanes.
    pub(crate) fn spawn(
        name: Arc<str>,
        lanes: Lanes,
        writer: QueueWriter,
        full_action: FullAction,
        shutdown: ShutdownHandle,
        draining: Arc<StopSignal>,
        stats: Arc<FoStats>,
    ) -> Result<JoinHandle<()>, String> {
        let f = Feeder {
            name: name.clone(),
            lanes,
            writer,
            full_action,
            shutdown,
            draining,
            stats,
            shutdown_asked: false,
            shutdown_seen: Cell::new(None),
        };
        std::thread::Builder::new()
            .name(format!("{name}-queue"))
            .spawn(move || f.run())
            .map_err(|e| format!("can't start the queue thread of {name}: {e}"))
    }

    fn run(mut self) {
        let (mut inject_closed, mut main_closed) = (false, false);
        let never = crossbeam_channel::never();
        loop {
            let next = if inject_closed {
                None
            } else {
                match self.lanes.inject.try_recv() {
                    Ok(d) => Some(d),
                    Err(e) => {
                        inject_closed = e.is_disconnected();
                        None
                    }
                }
            };
            let (d, injected) = match next {
                Some(d) => (d, true),
                None => {
                    if inject_closed && main_closed {
                        break;
                    }
                    let inject = if inject_closed {
                        &never
                    } else {
                        &self.lanes.inject
                    };
                    let main = if main_closed {
                        &never
                    } else {
                        &self.lanes.main
                    };
                    select! {
                        recv(inject) -> d => match d {
                            Ok(d) => (d, true),
                            Err(_) => { inject_closed = true; continue; }
                        },
                        recv(main) -> d => match d {
                            Ok(d) => (d, false),
                            Err(_) => { main_closed = true; continue; }
                        },
                    }
                }
            };
            self.queue(d, injected);
        }
        tracing::debug!(plugin = %self.name, "queue feeder stopped");
    }

    /// Appends the delivery's packs, writes them, then lets go of the delivery. With
    /// `full_action = "block"`, only what inputs route waits for room: what filters inject is
    /// queued past `max_buffer_size` (bounded by `max_message_loops`), so that buffered
    /// filters injecting into each other cannot wait on each other's readers in a cycle.
    fn queue(&mut self, d: Delivery, injected: bool) {
        let mut dropped = 0u64;
        let mut failed = 0u64;
        for pack in d.packs() {
            let bytes = pack.encoded();
            loop {
                match self.writer.append(&bytes, pack.loop_count) {
                    Ok(()) => break,
                    Err(QueueError::Full) => match self.full_action {
                        FullAction::Drop => {
                            dropped += 1;
                            break;
                        }
                        FullAction::Shutdown => {
                            dropped += 1;
                            if !self.shutdown_asked {
                                self.shutdown_asked = true;
                                tracing::error!(plugin = %self.name, "Plugin '{}' error: can't deliver matched message: Queue is full: shutting down", self.name);
                                self.shutdown
                                    .request(1, format!("plugin '{}': queue is full", self.name));
                            }
                            break;
                        }
                        FullAction::Block if injected => {
                            if let Err(e) = self.writer.append_over_limit(&bytes, pack.loop_count) {
                                failed += 1;
                                tracing::error!(plugin = %self.name, "Plugin '{}' error: can't deliver matched message: {e}", self.name);
                            }
                            break;
                        }
                        FullAction::Block => {
                            // What is framed must reach the reader, which makes the room.
                            if let Err(e) = self.writer.flush() {
                                tracing::error!(plugin = %self.name, "{e}");
                            }
                            if self.grace_over() {
                                dropped += 1;
                                break;
                            }
                            // Woken as soon as the reader commits; the timeout only
                            // bounds how late a shutdown is noticed.
                            self.writer.wait_for_room(BLOCK_POLL);
                        }
                    },
                    Err(e) => {
                        failed += 1;
                        tracing::error!(plugin = %self.name, "Plugin '{}' error: can't deliver matched message: {e}", self.name);
                        break;
                    }
                }
            }
        }
        if let Err(e) = self.writer.flush() {
            tracing::error!(plugin = %self.name, "Plugin '{}' error: {e}", self.name);
            failed += d.len() as u64;
        }
        if dropped > 0 {
            if self.full_action != FullAction::Shutdown {
                tracing::error!(plugin = %self.name, "Plugin '{}' error: can't deliver matched message: Queue is full ({dropped} dropped)", self.name);
            }
            self.stats
                .queue_dropped
                .fetch_add(dropped, Ordering::Relaxed);
        }
        if failed > 0 {
            self.stats.failures.fetch_add(failed, Ordering::Relaxed);
        }
        // Only now is the input's acknowledgement released.
        drop(d);
    }

    fn grace_over(&self) -> bool {
        if !self.draining.is_stopped() {
            return false;
        }
        let since = self.shutdown_seen.get().unwrap_or_else(Instant::now);
        self.shutdown_seen.set(Some(since));
        since.elapsed() > SHUTDOWN_RETRY_GRACE
    }
}

/// The reading side, on the runner's thread.
pub(crate) struct ReadSide {
    pub(crate) reader: QueueReader,
    records: Vec<Record>,
    /// Where the batch being handed to the plugin ends, and how many records it had.
    pub(crate) batch_end: Option<(Position, u64)>,
    /// What an output has taken but not yet reported written.
    pub(crate) uncommitted: Option<(Position, u64)>,
    /// The feeder is gone.
    pub(crate) wake_closed: bool,
    pub(crate) feeder: Option<JoinHandle<()>>,
}

impl ReadSide {
    pub(crate) fn new(reader: QueueReader, feeder: JoinHandle<()>) -> ReadSide {
        ReadSide {
            reader,
            records: Vec::new(),
            batch_end: None,
            uncommitted: None,
            wake_closed: false,
            feeder: Some(feeder),
        }
    }

    /// The next batch read from the queue, as a delivery; `None` when nothing is there now.
    pub(crate) fn next_batch(&mut self, name: &str) -> Option<Delivery> {
        self.records.clear();
        if let Err(e) = self.reader.read(MAX_BATCH, &mut self.records) {
            tracing::error!(plugin = %name, "{e}");
            return None;
        }
        let last = self.records.last()?.end;
        let n = self.records.len() as u64;
        let mut packs = Vec::with_capacity(self.records.len());
        for r in self.records.drain(..) {
            if r.checked {
                let mut p = Pack::from_trusted(r.message);
                p.loop_count = r.loops;
                packs.push(p);
                continue;
            }
            match Pack::from_encoded(r.message) {
                Ok(mut p) => {
                    p.loop_count = r.loops;
                    packs.push(p);
                }
                Err(e) => tracing::error!(
                    plugin = %name,
                    queue = %self.reader.dir().display(),
                    "corrupt queue record before {}: skipped: {e}",
                    r.end
                ),
            }
        }
        self.batch_end = Some((last, n));
        let mask = Mask::first(packs.len());
        Some(Delivery {
            batch: Arc::new(Batch::new(packs, None)),
            mask,
        })
    }

    /// The plugin has taken the current batch: a filter is done with it, an output holds it
    /// until its flush.
    pub(crate) fn taken(&mut self, is_output: bool) {
        let Some((end, n)) = self.batch_end.take() else {
            return;
        };
        if is_output {
            let count = self.uncommitted.map_or(0, |(_, c)| c);
            self.uncommitted = Some((end, count + n));
        } else {
            self.reader.commit(end, n);
        }
    }

    /// The output has written everything it took.
    pub(crate) fn written(&mut self) {
        if let Some((end, n)) = self.uncommitted.take() {
            self.reader.commit(end, n);
        }
    }

    /// Forgets what was read past the committed cursor and reads it again (an output that
    /// failed before writing it out).
    pub(crate) fn rewind(&mut self) {
        self.batch_end = None;
        self.uncommitted = None;
        self.reader.rewind();
    }

    /// Waits for the feeder thread once it is done.
    pub(crate) fn join(&mut self) {
        if let Some(h) = self.feeder.take()
            && h.join().is_err()
        {
            tracing::error!("queue feeder panicked");
        }
    }
}

/// A buffered plugin's queue, as the start delay sees it.
pub(crate) struct StartCheck {
    pub(crate) name: Arc<str>,
    pub(crate) size: QueueSize,
    pub(crate) full_action: FullAction,
}

/// Heka's start delay: while a buffered plugin's queue is back-pressured (it holds 90 % of its
/// `max_buffer_size` or more, say after hekad stopped on a full queue), the inputs are not
/// started yet: the plugin, already running, gets `retries` waits (250 ms doubling to 1 s, plus
/// up to 500 ms) to drain it. A queue still back-pressured then with `full_action =
/// "shutdown"` is why hekad shuts down (returned); with the other actions start-up goes on.
pub(crate) fn delay_start(
    queues: &[StartCheck],
    retries: u32,
    stop: &StopSignal,
) -> Result<(), String> {
    for q in queues {
        if !q.size.back_pressured() {
            continue;
        }
        tracing::warn!(plugin = %q.name, "Plugin '{}': Delaying start while trying to relieve back-pressure...", q.name);
        let mut backoff = Backoff::new(
            Duration::from_millis(250),
            Duration::from_secs(1),
            Duration::from_millis(500),
            i64::from(retries),
        );
        while q.size.back_pressured() {
            let Some(d) = backoff.next_delay() else {
                break;
            };
            if stop.wait(d) {
                return Ok(());
            }
        }
        if !q.size.back_pressured() {
            tracing::info!(plugin = %q.name, "Plugin '{}': back-pressure relieved", q.name);
        } else if q.full_action == FullAction::Shutdown {
            return Err(format!(
                "Plugin '{}': back-pressure not resolving: triggering shutdown",
                q.name
            ));
        } else {
            tracing::warn!(plugin = %q.name, "Plugin '{}': back-pressure not resolving: starting anyway", q.name);
        }
    }
    Ok(())
}
