//! The input runner: runs an input on its own thread, restarts it per its `retries` policy, and
//! hands it an [`InputContext`].

use std::sync::Arc;
use std::time::Duration;

use crate::config::Globals;
use crate::plugin::{Input, ProcessError};
use crate::runner::stream::{Stream, StreamShared};
use crate::runner::{Backoff, ShutdownHandle, StopSignal, catch_panic};

/// What an input gets from its runner.
pub struct InputContext {
    pub(crate) name: Arc<str>,
    pub(crate) stop: Arc<StopSignal>,
    pub(crate) streams: Arc<StreamShared>,
    pub(crate) globals: Arc<Globals>,
    pub(crate) ticker: Option<Duration>,
    pub(crate) shutdown: ShutdownHandle,
    pub(crate) splitter_type: String,
}

impl InputContext {
    /// The input's instance name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether hekad is shutting down; a running input should return soon.
    pub fn stopping(&self) -> bool {
        self.stop.is_stopped()
    }

    /// Registers a callback run once when hekad starts shutting down, to wake blocking calls
    /// (close a listener, shut a socket down). Runs at once when already stopping.
    pub fn on_stop(&self, f: impl Fn() + Send + Sync + 'static) {
        self.stop.on_stop(Box::new(f));
    }

    /// Sleeps up to `d`, returning early (true) when hekad starts shutting down.
    pub fn sleep(&self, d: Duration) -> bool {
        self.stop.wait(d)
    }

    /// A new stream with its own splitter and decoder instances (one per file or source).
    /// Unless the input sets `synchronous_decode`, its batches are decoded and routed by one of
    /// the input's decode threads (Heka's DecoderRunner), so this thread only reads and splits.
    pub fn stream(&self) -> Result<Stream, ProcessError> {
        Stream::new(self.streams.clone(), false).map_err(|e| ProcessError::Fatal(e.to_string()))
    }

    /// A new stream that decodes on the thread that feeds it, whatever `synchronous_decode`
    /// says: for connection inputs, whose I/O threads already decode many connections in
    /// parallel and must not wait on a queue.
    pub fn stream_decoding_inline(&self) -> Result<Stream, ProcessError> {
        Stream::new(self.streams.clone(), true).map_err(|e| ProcessError::Fatal(e.to_string()))
    }

    /// The `[hekad]` globals.
    pub fn globals(&self) -> &Globals {
        &self.globals
    }

    /// Counts this input's connections for the report (`Connections`, `ConnectionsAccepted`).
    pub fn connections(&self) -> Connections {
        self.streams
            .stats
            .serves_connections
            .store(true, std::sync::atomic::Ordering::Relaxed);
        Connections(self.streams.stats.clone())
    }

    /// Records the address the input listens on: logged (`<name> listening on <address>`) and
    /// shown in the report, so that a config with port 0 tells which port it got.
    pub fn listening_on(&self, address: &str) {
        tracing::info!("{} listening on {address}", self.name);
        *self.streams.stats.address.lock() = address.to_string();
    }

    /// The input's `ticker_interval`, when set.
    pub fn ticker_interval(&self) -> Option<Duration> {
        self.ticker
    }

    /// The type of the input's splitter (`NullSplitter`, `TokenSplitter`, …), for inputs that
    /// read differently with the NullSplitter, as Heka's did (ProcessInput collects a run's
    /// whole output into one record with it).
    pub fn splitter_type(&self) -> &str {
        &self.splitter_type
    }

    /// Asks hekad to shut down with exit status 1, as the runner does when an input without
    /// `can_exit` stops. For an input that runs others of its own (ProcessDirectoryInput) when
    /// one of those stops without `can_exit`.
    pub fn request_shutdown(&self, reason: impl Into<String>) {
        self.shutdown.request(1, reason);
    }
}

/// An input's connection counters (see [`InputContext::connections`]).
#[derive(Clone)]
pub struct Connections(Arc<crate::runner::stream::StreamStats>);

impl Connections {
    /// A connection was accepted.
    pub fn opened(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        self.0.connections_open.fetch_add(1, Relaxed);
        self.0.connections_accepted.fetch_add(1, Relaxed);
    }

    /// A connection ended.
    pub fn closed(&self) {
        self.0
            .connections_open
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Everything the input runner thread needs.
pub(crate) struct InputRunner {
    pub(crate) ctx: InputContext,
    pub(crate) input: Box<dyn Input>,
    pub(crate) rebuild: Box<dyn Fn() -> Result<Box<dyn Input>, String> + Send>,
    pub(crate) backoff: Backoff,
    pub(crate) can_exit: bool,
    pub(crate) shutdown: ShutdownHandle,
}

impl InputRunner {
    pub(crate) fn run(mut self) {
        let name = self.ctx.name.clone();
        loop {
            let res = catch_panic(|| self.input.run(&mut self.ctx))
                .unwrap_or_else(|e| Err(ProcessError::Fatal(e)));
            if self.ctx.stopping() {
                if let Err(e) = res {
                    tracing::debug!(input = %name, "stopped with: {e}");
                }
                break;
            }
            let reason = match res {
                Ok(()) => {
                    tracing::info!(input = %name, "input exited");
                    "Run exited.".to_string()
                }
                Err(ProcessError::Exit(e)) => {
                    // Stopped for good: never restarted.
                    tracing::error!(input = %name, "{e}");
                    e
                }
                Err(e) => {
                    tracing::error!(input = %name, "input failed: {e}");
                    match self.restart() {
                        Ok(()) => continue,
                        Err(why) => why,
                    }
                }
            };
            if self.can_exit {
                tracing::info!(input = %name, "input has stopped, exiting plugin without shutting down");
            } else {
                tracing::error!(input = %name, "input has stopped, shutting down");
                self.shutdown
                    .request(1, format!("input '{name}' stopped: {reason}"));
            }
            break;
        }
        // What the input's decode threads still hold is routed before the input counts as
        // stopped (hekad stops the filters and outputs only after its inputs).
        drop(self.input);
        if let Some(pool) = &self.ctx.streams.decode_pool {
            pool.close(&name);
        }
    }

    fn restart(&mut self) -> Result<(), String> {
        loop {
            let Some(d) = self.backoff.next_delay() else {
                return Err("Max retries exceeded".into());
            };
            if self.ctx.stop.wait(d) {
                return Err("stopping".into());
            }
            tracing::info!(input = %self.ctx.name, "restarting");
            match catch_panic(|| (self.rebuild)()).unwrap_or_else(Err) {
                Ok(i) => {
                    self.input = i;
                    return Ok(());
                }
                Err(e) => tracing::error!(input = %self.ctx.name, "restart failed: {e}"),
            }
        }
    }
}
