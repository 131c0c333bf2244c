//! The filter and output runner: Heka's match runner and `foRunner` on one thread.
//!
//! The router has already matched: each [`Delivery`] holds only what this plugin matched (and
//! what carries its `message_signer`). The runner takes injected deliveries first, hands each
//! pack to the plugin, retries on
//! [`ProcessError::Retry`], drops on [`ProcessError::Drop`], and on [`ProcessError::Fatal`]
//! restarts the plugin per its `retries` policy and hands it the rest of the batch (for an
//! output, from the message that failed). Messages a filter injects are routed after each
//! call. An output's batches that carry an acknowledgement token are held until the output's
//! `flush` says everything taken so far is written. With `use_buffering` the runner's lanes
//! feed its disk queue instead and the plugin is fed from the queue (see `buffered`; user docs in `docs/buffering.md`).

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam_channel::{Receiver, select};
use heka_matcher::Matcher;
use heka_message::{Field, Message, framing};

use crate::config::Globals;
use crate::pack::Pack;
use crate::plugin::{CodecError, Encoder, Filter, Output, ProcessError};
use crate::router::{self, Delivery, Lane, Lanes, Router, send_blocking};
use crate::runner::buffered::{Buffer, Feeder, ReadSide};
use crate::runner::dynamic::FilterControl;
use crate::runner::{Backoff, ShutdownHandle, StopSignal, catch_panic};

/// Why an injection was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InjectError {
    /// The message would exceed `max_message_loops`.
    #[error("exceeded MaxMsgLoops = {0}")]
    LoopLimit(u32),
    /// More injections in one call than `max_process_inject` / `max_timer_inject` allow.
    #[error("exceeded InjectMessage count ({0})")]
    TooMany(u32),
    /// The filter's own matcher matches the new message.
    #[error("attempted to Inject a message to itself")]
    SelfMatch,
}

/// What a filter gets from its runner during a call.
pub struct FilterContext<'a> {
    name: &'a str,
    injected: &'a mut Vec<Pack>,
    budget: u32,
    used: u32,
    loop_count: u32,
    max_loops: u32,
    own_matcher: &'a Matcher,
    hostname: &'a Bytes,
    control: &'a FilterControl,
}

impl FilterContext<'_> {
    /// The filter's instance name.
    pub fn name(&self) -> &str {
        self.name
    }

    /// A new message as Heka pre-fills injected ones: random UUID, now, hekad's hostname and pid.
    pub fn new_message(&self) -> Message {
        let mut m = Message::new_now();
        m.hostname = Some(self.hostname.clone());
        m.pid = Some(std::process::id() as i32);
        m
    }

    /// The pipeline's filters: start one from a config section, stop one (see
    /// [`FilterControl`]).
    pub fn filters(&self) -> &FilterControl {
        self.control
    }

    /// Injects a message into the router (after the current call returns).
    pub fn inject(&mut self, message: Message) -> Result<(), InjectError> {
        if self.loop_count + 1 > self.max_loops {
            return Err(InjectError::LoopLimit(self.max_loops));
        }
        if self.used >= self.budget {
            return Err(InjectError::TooMany(self.budget));
        }
        if self.own_matcher.matches(&message) {
            tracing::warn!(filter = %self.name, "attempted to Inject a message to itself");
            return Err(InjectError::SelfMatch);
        }
        self.used += 1;
        let mut pack = Pack::new(message);
        pack.loop_count = self.loop_count + 1;
        self.injected.push(pack);
        Ok(())
    }
}

/// What an output gets from its runner during a call.
pub struct OutputContext<'a> {
    name: &'a str,
    encoder: Option<&'a mut (dyn Encoder + 'static)>,
    use_framing: bool,
    max_message_size: u32,
    scratch: &'a mut Vec<u8>,
    stop: &'a StopSignal,
    shutdown_seen: &'a Cell<Option<Instant>>,
    flush_requested: bool,
}

impl OutputContext<'_> {
    /// The output's instance name.
    pub fn name(&self) -> &str {
        self.name
    }

    /// Encodes `pack` with the output's encoder, framed when `use_framing` is on, appending to
    /// `out`. Returns `false` when the encoder produced nothing (skip the message).
    pub fn encode(&mut self, pack: &Pack, out: &mut Vec<u8>) -> Result<bool, CodecError> {
        let Some(enc) = self.encoder.as_deref_mut() else {
            return Err(CodecError::new(format!("{} has no encoder", self.name)));
        };
        if !self.use_framing {
            let before = out.len();
            encode_caught(self.name, enc, pack, out)?;
            return Ok(out.len() > before);
        }
        self.scratch.clear();
        encode_caught(self.name, enc, pack, self.scratch)?;
        if self.scratch.is_empty() {
            return Ok(false);
        }
        // Heka ignores this error and silently skips the message; we report it.
        framing::encode_frame(self.scratch, None, self.max_message_size, out)
            .map_err(|e| CodecError::new(e.to_string()))?;
        Ok(true)
    }

    /// Encodes `pack` with the output's encoder alone, never framed, appending to `out` (for
    /// outputs that frame records themselves, e.g. to sign them). Returns `false` when the
    /// encoder produced nothing.
    pub fn encode_unframed(&mut self, pack: &Pack, out: &mut Vec<u8>) -> Result<bool, CodecError> {
        let Some(enc) = self.encoder.as_deref_mut() else {
            return Err(CodecError::new(format!("{} has no encoder", self.name)));
        };
        let before = out.len();
        encode_caught(self.name, enc, pack, out)?;
        Ok(out.len() > before)
    }

    /// Whether hekad is shutting down (retry loops should give up waiting forever).
    pub fn stopping(&self) -> bool {
        self.stop.is_stopped()
    }

    /// Sleeps up to `d`, returning early (true) when hekad is shutting down.
    pub fn sleep(&self, d: Duration) -> bool {
        self.stop.wait(d)
    }

    /// Whether hekad has been shutting down for longer than [`SHUTDOWN_RETRY_GRACE`], counted
    /// from the first time this output's runner or the output itself looked: once per shutdown,
    /// not per message, so that a backlog does not take a grace period each. An output that
    /// keeps failing should give up what it holds then.
    pub fn shutdown_grace_over(&self) -> bool {
        grace_over(self.stop, self.shutdown_seen)
    }

    /// In `flush`: the runner has held acknowledged messages for long (or many of them), so
    /// write out everything taken so far now, whatever the output's own flush rules. Also set
    /// during `shutdown`.
    pub fn flush_requested(&self) -> bool {
        self.flush_requested
    }
}

/// Encodes with `enc`; a panic in the encoder is an encoding error for this message (what it
/// appended before it panicked is taken back).
fn encode_caught(
    output: &str,
    enc: &mut dyn Encoder,
    pack: &Pack,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let before = out.len();
    match catch_panic(|| enc.encode(pack, out)) {
        Ok(res) => res,
        Err(e) => {
            out.truncate(before);
            tracing::error!(plugin = %output, "encoder {e}");
            Err(CodecError::new(format!("encoder {e}")))
        }
    }
}

/// A filter or an output.
pub(crate) enum FoPlugin {
    Filter(Box<dyn Filter>),
    Output(Box<dyn Output>),
}

/// Messages sent to a runner besides batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Control {
    /// SIGHUP.
    Reload,
}

/// Counters of one filter or output kept by its runner (matching is counted by the router).
#[derive(Debug, Default)]
pub(crate) struct FoStats {
    pub(crate) failures: AtomicU64,
    pub(crate) injected: AtomicU64,
    /// Messages a full disk queue refused (`full_action` drop, shutdown, block at shutdown).
    pub(crate) queue_dropped: AtomicU64,
    /// `use_buffering`: the queue's size, for the report.
    pub(crate) queue: std::sync::OnceLock<crate::runner::queue::QueueSize>,
}

pub(crate) type Rebuild = Box<dyn Fn() -> Result<FoPlugin, String> + Send>;

/// The first wait before a message is handed to its plugin again (then doubling to 1 s).
const FIRST_RETRY_WAIT: Duration = Duration::from_millis(10);

/// How long, after shutdown starts, a message whose delivery keeps failing is retried.
pub const SHUTDOWN_RETRY_GRACE: Duration = Duration::from_secs(5);

/// Whether `stop` has been set for longer than [`SHUTDOWN_RETRY_GRACE`], counted from the first
/// call that saw it set (recorded in `seen`).
fn grace_over(stop: &StopSignal, seen: &Cell<Option<Instant>>) -> bool {
    if !stop.is_stopped() {
        return false;
    }
    let since = seen.get().unwrap_or_else(Instant::now);
    seen.set(Some(since));
    since.elapsed() > SHUTDOWN_RETRY_GRACE
}

/// An output asked to flush more often than this while it holds acknowledged batches is told to
/// write everything out, whatever its own flush rules.
const MAX_HOLD_TIME: Duration = Duration::from_secs(1);

/// Everything a filter or output runner needs besides the plugin itself (kept apart so the
/// plugin can be borrowed mutably while a context borrows the rest).
pub(crate) struct FoRunner {
    pub(crate) name: Arc<str>,
    pub(crate) type_name: String,
    /// The runner's own matcher: a filter may not inject what it would match itself.
    pub(crate) matcher: Matcher,
    pub(crate) lanes: Lanes,
    pub(crate) ctl: Receiver<Control>,
    pub(crate) ticker: Option<Duration>,
    pub(crate) encoder: Option<Box<dyn Encoder>>,
    pub(crate) use_framing: bool,
    pub(crate) rebuild: Rebuild,
    pub(crate) backoff: Backoff,
    pub(crate) can_exit: bool,
    pub(crate) router: Arc<Router>,
    pub(crate) shutdown: ShutdownHandle,
    /// Set when hekad starts shutting down: retries get a grace period, restarts give up.
    pub(crate) draining: Arc<StopSignal>,
    /// When this runner (or its output) first saw the shutdown while a delivery kept failing.
    pub(crate) shutdown_seen: Cell<Option<Instant>>,
    pub(crate) globals: Arc<Globals>,
    pub(crate) hostname: Bytes,
    pub(crate) stats: Arc<FoStats>,
    /// The encoder's output before framing.
    pub(crate) scratch: Vec<u8>,
    /// Filters started and stopped at run time.
    pub(crate) control: FilterControl,
    /// `use_buffering`: the disk queue, until `run` splits it between feeder and reader.
    pub(crate) buffer: Option<Buffer>,
}

/// Per-thread working state.
#[derive(Default)]
struct Work {
    /// Acknowledged deliveries an output has taken and not yet reported written.
    held: Vec<Delivery>,
    held_since: Option<Instant>,
    injected: Vec<Pack>,
    /// Deliveries taken from the inject lane while this filter waited to send its own
    /// injections (so that two filters injecting into each other cannot deadlock).
    backlog: VecDeque<Delivery>,
    /// A delivery cut short by a fatal error, and how many of its packs are done with: the
    /// rest goes to the restarted plugin.
    resume: Option<(Delivery, usize)>,
    main_closed: bool,
    inject_closed: bool,
    /// The output's last `flush` left data unwritten: poll it again soon.
    pending: bool,
    /// `use_buffering`: the plugin is fed from the disk queue.
    queue: Option<ReadSide>,
    /// The plugin (new or restarted) has not had its `start` call yet.
    start_pending: bool,
    /// Acknowledged deliveries an output that failed had taken and could not write out: the
    /// restarted output gets them first, so none is acknowledged unwritten.
    replay: VecDeque<Delivery>,
}

/// How often an output with unwritten data is asked to flush while no batches arrive.
const FLUSH_POLL: Duration = Duration::from_millis(50);

/// Why a call into the plugin failed for good.
#[derive(Debug)]
enum Failure {
    /// Restart the plugin per its `retries` policy.
    Fatal(String),
    /// The plugin stopped for good: no restart.
    Exit(String),
    /// Shutting down while a queued message keeps failing: it stays in the queue for the next
    /// start, and the runner stops.
    Parked(String),
}

impl From<String> for Failure {
    fn from(e: String) -> Failure {
        Failure::Fatal(e)
    }
}

/// What the runner does next.
enum Event {
    /// The plugin's `start` call is due.
    Start,
    /// A delivery, and how many of its packs to skip.
    Delivery(Delivery, usize),
    Tick,
    Control(Control),
    Idle,
    Closed,
}

impl FoRunner {
    pub(crate) fn run(mut self, mut plugin: FoPlugin) {
        let mut w = Work::default();
        if let Some(b) = self.buffer.take() {
            let lanes = std::mem::replace(&mut self.lanes, router::Lanes::never());
            match Feeder::spawn(
                self.name.clone(),
                lanes,
                b.writer,
                b.full_action,
                self.shutdown.clone(),
                self.draining.clone(),
                self.stats.clone(),
            ) {
                Ok(h) => w.queue = Some(ReadSide::new(b.reader, h)),
                Err(e) => {
                    self.exit(&mut w, e);
                    return;
                }
            }
        }
        let tick = match self.ticker {
            Some(d) => crossbeam_channel::tick(d),
            None => crossbeam_channel::never(),
        };
        w.start_pending = true;
        let reason = loop {
            let res = match self.next_event(&mut w, &tick) {
                Event::Start => self.start(&mut plugin, &mut w),
                Event::Delivery(d, skip) => self.delivery(&mut plugin, &mut w, d, skip),
                Event::Tick => self.timer(&mut plugin, &mut w),
                Event::Control(Control::Reload) => match &mut plugin {
                    FoPlugin::Output(o) => {
                        let ctx = &mut self.output_ctx(false);
                        catch_panic(|| o.reload(ctx)).map_err(Failure::Fatal)
                    }
                    FoPlugin::Filter(_) => Ok(()),
                },
                Event::Idle => self
                    .flush_output(&mut plugin, &mut w)
                    .map_err(Failure::from),
                Event::Closed => break None,
            };
            match res {
                Ok(()) => {}
                Err(Failure::Fatal(e)) => {
                    tracing::error!(plugin = %self.name, "fatal: {e}");
                    self.cleanup(&mut plugin, &mut w);
                    match self.restart() {
                        Ok(p) => {
                            plugin = p;
                            w.start_pending = true;
                        }
                        Err(why) => break Some(format!("{e} ({why})")),
                    }
                }
                Err(Failure::Exit(e)) => {
                    tracing::error!(plugin = %self.name, "stopped: {e}");
                    self.cleanup(&mut plugin, &mut w);
                    break Some(e);
                }
                Err(Failure::Parked(e)) => {
                    tracing::warn!(plugin = %self.name, "shutting down: what is left in the queue is delivered after the next start ({e})");
                    break None;
                }
            }
        };
        match reason {
            None => {
                self.cleanup(&mut plugin, &mut w);
                tracing::debug!(plugin = %self.name, "stopped");
            }
            Some(reason) => self.exit(&mut w, reason),
        }
        if let Some(q) = w.queue.as_mut() {
            // The router has let go of this runner (or does so before waiting for it), so
            // the feeder ends once it has queued what it was given.
            q.join();
            q.reader.save();
        }
    }

    /// Injected messages first (the backlog, then the inject lane), then whatever is ready.
    /// `Closed` once both lanes are disconnected and empty: the router has let go of us.
    fn next_event(&self, w: &mut Work, tick: &Receiver<Instant>) -> Event {
        if w.start_pending {
            w.start_pending = false;
            return Event::Start;
        }
        if let Some(d) = w.replay.pop_front() {
            return Event::Delivery(d, 0);
        }
        if let Some((d, skip)) = w.resume.take() {
            return Event::Delivery(d, skip);
        }
        if let Some(d) = w.backlog.pop_front() {
            return Event::Delivery(d, 0);
        }
        if w.queue.is_some() {
            return self.next_queued(w, tick);
        }
        if !w.inject_closed {
            match self.lanes.inject.try_recv() {
                Ok(d) => return Event::Delivery(d, 0),
                Err(e) => w.inject_closed = e.is_disconnected(),
            }
        }
        if w.inject_closed && w.main_closed {
            return Event::Closed;
        }
        let never = crossbeam_channel::never();
        let inject = if w.inject_closed {
            &never
        } else {
            &self.lanes.inject
        };
        let main = if w.main_closed {
            &never
        } else {
            &self.lanes.main
        };
        let idle = if w.pending {
            FLUSH_POLL
        } else {
            Duration::from_secs(3600)
        };
        // A lane's receive fails only once it is disconnected and empty.
        select! {
            recv(inject) -> d => d.map_or_else(|_| { w.inject_closed = true; Event::Idle }, |d| Event::Delivery(d, 0)),
            recv(main) -> d => d.map_or_else(|_| { w.main_closed = true; Event::Idle }, |d| Event::Delivery(d, 0)),
            recv(tick) -> _ => Event::Tick,
            recv(self.ctl) -> c => c.map_or(Event::Idle, Event::Control),
            default(idle) => Event::Idle,
        }
    }

    /// `use_buffering`: the next batch from the disk queue, or whatever else is ready.
    fn next_queued(&self, w: &mut Work, tick: &Receiver<Instant>) -> Event {
        let Some(q) = w.queue.as_mut() else {
            return Event::Idle;
        };
        if let Ok(c) = self.ctl.try_recv() {
            return Event::Control(c);
        }
        if tick.try_recv().is_ok() {
            return Event::Tick;
        }
        if grace_over(&self.draining, &self.shutdown_seen) {
            // A long backlog must not hold the shutdown up: the rest is read after the next
            // start. The feeder ends once the router lets go of this runner.
            tracing::warn!(plugin = %self.name, "shutting down: what is left in the queue is delivered after the next start");
            q.join();
            return Event::Closed;
        }
        if let Some(d) = q.next_batch(&self.name) {
            return Event::Delivery(d, 0);
        }
        if q.wake_closed && q.reader.finished() {
            q.join();
            return Event::Closed;
        }
        let never = crossbeam_channel::never();
        let wake = if q.wake_closed {
            &never
        } else {
            q.reader.wake()
        };
        let idle = if w.pending || q.wake_closed || q.uncommitted.is_some() {
            FLUSH_POLL
        } else {
            Duration::from_secs(3600)
        };
        select! {
            recv(wake) -> r => { if r.is_err() { q.wake_closed = true; } Event::Idle },
            recv(tick) -> _ => Event::Tick,
            recv(self.ctl) -> c => c.map_or(Event::Idle, Event::Control),
            default(idle) => Event::Idle,
        }
    }

    fn filter_ctx<'a>(
        &'a self,
        injected: &'a mut Vec<Pack>,
        budget: u32,
        loop_count: u32,
    ) -> FilterContext<'a> {
        FilterContext {
            name: &self.name,
            injected,
            budget,
            used: 0,
            loop_count,
            max_loops: self.globals.max_message_loops,
            own_matcher: &self.matcher,
            hostname: &self.hostname,
            control: &self.control,
        }
    }

    fn output_ctx(&mut self, flush_requested: bool) -> OutputContext<'_> {
        OutputContext {
            name: &self.name,
            encoder: self.encoder.as_deref_mut(),
            use_framing: self.use_framing,
            max_message_size: self.globals.max_message_size,
            scratch: &mut self.scratch,
            stop: &self.draining,
            shutdown_seen: &self.shutdown_seen,
            flush_requested,
        }
    }

    /// The plugin is gone for good: leave the router and either tell the others or stop hekad.
    fn exit(&mut self, w: &mut Work, reason: String) {
        self.router.remove(&self.name);
        let lost: usize = w
            .resume
            .take()
            .map_or(0, |(d, skip)| d.len().saturating_sub(skip))
            + w.replay.drain(..).map(|d| d.len()).sum::<usize>()
            + w.backlog.drain(..).map(|d| d.len()).sum::<usize>()
            + self
                .lanes
                .inject
                .try_iter()
                .chain(self.lanes.main.try_iter())
                .map(|d| d.len())
                .sum::<usize>();
        if lost > 0 {
            tracing::error!(plugin = %self.name, "Lost/Dropped {lost} messages");
        }
        if self.can_exit {
            tracing::warn!(plugin = %self.name, "has stopped, exiting plugin without shutting down");
            let mut m = Message::new_now();
            m.set_type("heka.terminated");
            m.set_logger("hekad");
            m.hostname = Some(self.hostname.clone());
            m.pid = Some(std::process::id() as i32);
            m.set_payload(format!(
                "{} (type {}) terminated. Error: {reason}",
                self.name, self.type_name
            ));
            m.add_field(Field::new_string("plugin", self.name.to_string()));
            let mut out = Vec::new();
            self.router.prepare(
                vec![Pack::new(m)],
                None,
                Lane::Inject,
                Some(&self.name),
                &mut out,
            );
            send_blocking(out);
        } else {
            tracing::error!(plugin = %self.name, "has stopped, shutting down");
            self.shutdown
                .request(1, format!("plugin '{}' stopped: {reason}", self.name));
        }
    }

    /// Lets a filter act once before its first message (and after each restart).
    fn start(&mut self, plugin: &mut FoPlugin, w: &mut Work) -> Result<(), Failure> {
        if let FoPlugin::Filter(f) = plugin {
            let budget = self.globals.max_timer_inject;
            let ctx = &mut self.filter_ctx(&mut w.injected, budget, 0);
            let res = catch_panic(|| f.start(ctx));
            self.route_injected(w);
            res.map_err(Failure::Fatal)?;
        }
        Ok(())
    }

    /// A new plugin instance after the `retries` wait, or why there is none.
    fn restart(&mut self) -> Result<FoPlugin, String> {
        loop {
            let Some(d) = self.backoff.next_delay() else {
                return Err("Max retries exceeded".into());
            };
            // Shutting down cuts the wait short: one last try, so what is queued can drain.
            let draining = self.draining.wait(d);
            match catch_panic(|| (self.rebuild)()).unwrap_or_else(Err) {
                Ok(p) => {
                    tracing::info!(plugin = %self.name, "restarted");
                    return Ok(p);
                }
                Err(e) => tracing::error!(plugin = %self.name, "restart failed: {e}"),
            }
            if draining {
                return Err("shutting down".into());
            }
        }
    }

    /// The plugin's last call. An output that cannot write out what it holds (its `shutdown`
    /// fails or panics) has its acknowledged deliveries handed to the restarted output, and a
    /// buffered one reads again from its committed cursor, so nothing is acknowledged or
    /// committed unwritten.
    fn cleanup(&mut self, plugin: &mut FoPlugin, w: &mut Work) {
        match plugin {
            FoPlugin::Filter(f) => {
                let budget = self.globals.max_timer_inject;
                let ctx = &mut self.filter_ctx(&mut w.injected, budget, 0);
                if let Err(e) = catch_panic(|| f.shutdown(ctx)) {
                    tracing::error!(plugin = %self.name, "shutdown: {e}");
                }
            }
            FoPlugin::Output(o) => {
                let ctx = &mut self.output_ctx(true);
                let res =
                    catch_panic(|| o.shutdown(ctx)).unwrap_or_else(|e| Err(ProcessError::Fatal(e)));
                match res {
                    Ok(()) => {
                        if let Some(q) = w.queue.as_mut() {
                            q.written();
                        }
                    }
                    Err(e) => {
                        tracing::error!(plugin = %self.name, "shutdown: {e}");
                        if let Some(q) = w.queue.as_mut() {
                            q.rewind();
                            w.resume = None;
                        } else if let Some((d, _)) = w.resume.take() {
                            // The packs of the failed batch it took before failing were not
                            // written either: the restarted output gets the whole batch.
                            w.resume = Some((d, 0));
                        }
                        w.replay.extend(w.held.drain(..));
                    }
                }
            }
        }
        if let Some(q) = w.queue.as_mut() {
            q.reader.save();
        }
        w.held.clear();
        w.held_since = None;
        self.route_injected(w);
    }

    /// Routes what the filter injected. While a destination is full, the filter keeps taking
    /// deliveries from its own inject lane into its backlog, so a cycle of filters injecting
    /// into each other always makes progress; it takes nothing from its main lane meanwhile,
    /// which is the back-pressure on inputs.
    fn route_injected(&self, w: &mut Work) {
        if w.injected.is_empty() {
            return;
        }
        self.stats
            .injected
            .fetch_add(w.injected.len() as u64, Ordering::Relaxed);
        let mut pending = Vec::new();
        self.router.prepare(
            std::mem::take(&mut w.injected),
            None,
            Lane::Inject,
            Some(&self.name),
            &mut pending,
        );
        while !router::try_send(&mut pending) {
            let own = (!w.inject_closed).then_some(&self.lanes.inject);
            match router::send_first_or_recv(&mut pending, own) {
                None => {}
                Some(Ok(d)) => w.backlog.push_back(d),
                Some(Err(_)) => w.inject_closed = true,
            }
        }
    }

    fn delivery(
        &mut self,
        plugin: &mut FoPlugin,
        w: &mut Work,
        d: Delivery,
        skip: usize,
    ) -> Result<(), Failure> {
        let mut failed = None;
        for (i, pack) in d.packs().enumerate().skip(skip) {
            if let Err(e) = self.deliver(plugin, w, pack) {
                failed = Some((i, e));
                break;
            }
        }
        if let Some((i, e)) = failed {
            // An output that fails fatally has not taken the message, so the restarted output
            // gets it, and the rest of the batch. A filter may have acted on it: the restarted
            // filter gets the rest only (Heka loses the pack in flight either way).
            let next = match plugin {
                FoPlugin::Output(_) => i,
                FoPlugin::Filter(_) => i + 1,
            };
            w.resume = Some((d, next));
            return Err(e);
        }
        if let Some(q) = w.queue.as_mut() {
            let is_output = matches!(plugin, FoPlugin::Output(_));
            q.taken(is_output);
            if is_output {
                w.held_since.get_or_insert_with(Instant::now);
            }
        }
        if let FoPlugin::Output(_) = plugin {
            if d.batch.has_ack() {
                w.held.push(d);
                w.held_since.get_or_insert_with(Instant::now);
            }
            return self.flush_output(plugin, w).map_err(Failure::from);
        }
        Ok(())
    }

    /// Asks the output to write out what it must; releases held deliveries once all is
    /// written. An output holding acknowledged batches for long, or many of them, is asked to
    /// write everything out now.
    fn flush_output(&mut self, plugin: &mut FoPlugin, w: &mut Work) -> Result<(), String> {
        let FoPlugin::Output(o) = plugin else {
            return Ok(());
        };
        let queued = w
            .queue
            .as_ref()
            .and_then(|q| q.uncommitted)
            .map_or(0, |(_, n)| n);
        let force = w.held.len() >= self.globals.plugin_chansize.max(1)
            || queued
                >= crate::router::MAX_BATCH as u64 * self.globals.plugin_chansize.max(1) as u64
            || w.held_since.is_some_and(|t| t.elapsed() >= MAX_HOLD_TIME);
        let ctx = &mut self.output_ctx(force);
        let res = catch_panic(|| o.flush(ctx)).unwrap_or_else(|e| Err(ProcessError::Fatal(e)));
        match res {
            Ok(done) => {
                w.pending = !done;
                if done {
                    w.held.clear();
                    w.held_since = None;
                    if let Some(q) = w.queue.as_mut() {
                        q.written();
                    }
                }
                Ok(())
            }
            Err(ProcessError::Fatal(e)) => Err(e),
            Err(other) => {
                w.pending = true;
                tracing::error!(plugin = %self.name, "flush: {other}");
                Ok(())
            }
        }
    }

    /// Hands one matched pack to the plugin, retrying on `Retry`.
    fn deliver(&mut self, plugin: &mut FoPlugin, w: &mut Work, pack: &Pack) -> Result<(), Failure> {
        let mut wait = FIRST_RETRY_WAIT;
        loop {
            let res = match plugin {
                FoPlugin::Filter(f) => {
                    let budget = self.globals.max_process_inject;
                    let ctx = &mut self.filter_ctx(&mut w.injected, budget, pack.loop_count);
                    let r = catch_panic(|| f.process_message(pack, ctx));
                    self.route_injected(w);
                    r
                }
                FoPlugin::Output(o) => {
                    let ctx = &mut self.output_ctx(false);
                    catch_panic(|| o.process_message(pack, ctx))
                }
            }
            .unwrap_or_else(|e| Err(ProcessError::Fatal(e)));
            match res {
                Ok(()) => return Ok(()),
                Err(ProcessError::Drop(e)) => {
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(plugin = %self.name, "dropping message: {e}");
                    return Ok(());
                }
                Err(ProcessError::Fatal(e)) => {
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    return Err(Failure::Fatal(e));
                }
                Err(ProcessError::Exit(e)) => {
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    return Err(Failure::Exit(e));
                }
                Err(ProcessError::Retry(e)) => {
                    if w.queue.is_some() && self.draining.is_stopped() {
                        // Queued: it stays on disk for the next start rather than being dropped.
                        return Err(Failure::Parked(e));
                    }
                    if grace_over(&self.draining, &self.shutdown_seen) {
                        self.stats.failures.fetch_add(1, Ordering::Relaxed);
                        tracing::error!(plugin = %self.name, "shutting down: giving up on a message: {e}");
                        return Ok(());
                    }
                    if wait == FIRST_RETRY_WAIT {
                        tracing::warn!(plugin = %self.name, "retrying message: {e}");
                    } else {
                        tracing::debug!(plugin = %self.name, "retrying message: {e}");
                    }
                    let jitter =
                        Duration::from_millis(fastrand::u64(..=wait.as_millis() as u64 / 2));
                    if self.draining.is_stopped() {
                        // The grace period runs: keep backing off, without sleeping past it.
                        std::thread::sleep((wait + jitter).min(Duration::from_millis(250)));
                    } else {
                        self.draining.wait(wait + jitter);
                    }
                    wait = (wait * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    fn timer(&mut self, plugin: &mut FoPlugin, w: &mut Work) -> Result<(), Failure> {
        let now = heka_message::now_ns();
        let res = match plugin {
            FoPlugin::Filter(f) => {
                let budget = self.globals.max_timer_inject;
                let ctx = &mut self.filter_ctx(&mut w.injected, budget, 0);
                let r = catch_panic(|| f.timer_event(ctx, now));
                self.route_injected(w);
                r
            }
            FoPlugin::Output(o) => {
                let ctx = &mut self.output_ctx(false);
                catch_panic(|| o.timer_event(ctx, now))
            }
        }
        .unwrap_or_else(|e| Err(ProcessError::Fatal(e)));
        let res = res.and_then(|()| self.flush_output(plugin, w).map_err(ProcessError::Fatal));
        match res {
            Ok(()) => Ok(()),
            Err(ProcessError::Fatal(e)) => Err(Failure::Fatal(e)),
            Err(ProcessError::Exit(e)) => Err(Failure::Exit(e)),
            Err(e) => {
                // Heka compat: pipeline/plugin_runners.go ignores non-fatal TimerEvent errors; we log them.
                tracing::error!(plugin = %self.name, "timer_event: {e}");
                Ok(())
            }
        }
    }
}
