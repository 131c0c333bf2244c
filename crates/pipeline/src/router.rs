//! The router: fans every batch out to every filter and output runner.
//!
//! Heka's router is one goroutine that hands each pack to every match runner. Ours is a shared
//! object called from the thread that produced the batch (an input stream or a filter's
//! injection), which saves a thread hop per batch: the batch goes into each destination's
//! bounded channel as one `Arc` clone, and each runner evaluates its own matcher (Heka's match
//! runner) on its own thread. A full channel blocks the sender: that is the back-pressure.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_channel::Sender;
use parking_lot::RwLock;

use crate::pack::Batch;

/// One destination of the router.
#[derive(Clone)]
pub(crate) struct Destination {
    pub(crate) name: Arc<str>,
    pub(crate) tx: Sender<Arc<Batch>>,
}

/// Fans batches out to the runners of filters and outputs.
#[derive(Default)]
pub struct Router {
    destinations: RwLock<Arc<Vec<Destination>>>,
    processed: AtomicU64,
}

impl Router {
    /// Routes `batch` to every destination (blocking while a destination's channel is full).
    pub fn route(&self, batch: Batch) {
        if batch.packs.is_empty() {
            return;
        }
        self.processed
            .fetch_add(batch.packs.len() as u64, Ordering::Relaxed);
        let dests = self.destinations.read().clone();
        let batch = Arc::new(batch);
        for d in dests.iter() {
            // A closed channel means the runner has stopped: nothing to deliver to.
            let _ = d.tx.send(batch.clone());
        }
    }

    /// Messages routed so far (Heka's router `ProcessMessageCount`).
    pub fn processed(&self) -> u64 {
        self.processed.load(Ordering::Relaxed)
    }

    pub(crate) fn add(&self, d: Destination) {
        let mut w = self.destinations.write();
        let mut v = (**w).clone();
        v.push(d);
        *w = Arc::new(v);
    }

    /// Removes the destination `name`; its runner drains its channel and stops.
    pub(crate) fn remove(&self, name: &str) {
        let mut w = self.destinations.write();
        let v: Vec<_> = w.iter().filter(|d| &*d.name != name).cloned().collect();
        *w = Arc::new(v);
    }
}
