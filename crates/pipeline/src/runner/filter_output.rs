//! The filter and output runner: Heka's match runner and `foRunner` on one thread.
//!
//! For each batch from the router it skips packs whose verified signer differs from
//! `message_signer`, evaluates the matcher, and hands matches to the plugin. It retries on
//! [`ProcessError::Retry`], drops on [`ProcessError::Drop`], and on [`ProcessError::Fatal`]
//! restarts the plugin per its `retries` policy. Messages a filter injects are routed after each
//! call. An output's batches that carry an acknowledgement token are held until the output's
//! `flush` says everything taken so far is written.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam_channel::{Receiver, select};
use heka_matcher::Matcher;
use heka_message::{Field, Message, framing};

use crate::config::Globals;
use crate::pack::{Batch, Pack};
use crate::plugin::{CodecError, Encoder, Filter, Output, ProcessError};
use crate::router::Router;
use crate::runner::{Backoff, ShutdownHandle, StopSignal};

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
        self.injected.push(Pack {
            message,
            loop_count: self.loop_count + 1,
            ..Pack::default()
        });
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
            enc.encode(pack, out)?;
            return Ok(out.len() > before);
        }
        self.scratch.clear();
        enc.encode(pack, self.scratch)?;
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
        enc.encode(pack, out)?;
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

/// Counters of one filter or output.
#[derive(Debug, Default)]
pub(crate) struct FoStats {
    pub(crate) matched: AtomicU64,
    /// Matcher evaluations timed, and their total time (Heka's MatchAvgDuration sampling).
    pub(crate) match_samples: AtomicU64,
    pub(crate) match_ns: AtomicU64,
    pub(crate) failures: AtomicU64,
    pub(crate) injected: AtomicU64,
}

pub(crate) type Rebuild = Box<dyn Fn() -> Result<FoPlugin, String> + Send>;

/// The first wait before a message is handed to its plugin again (then doubling to 1 s).
const FIRST_RETRY_WAIT: Duration = Duration::from_millis(10);

/// How long, after shutdown starts, a message whose delivery keeps failing is retried.
const SHUTDOWN_RETRY_GRACE: Duration = Duration::from_secs(5);

/// Everything a filter or output runner needs besides the plugin itself (kept apart so the
/// plugin can be borrowed mutably while a context borrows the rest).
pub(crate) struct FoRunner {
    pub(crate) name: Arc<str>,
    pub(crate) type_name: String,
    pub(crate) matcher: Matcher,
    pub(crate) signer: Option<Bytes>,
    pub(crate) rx: Receiver<Arc<Batch>>,
    pub(crate) ctl: Receiver<Control>,
    pub(crate) ticker: Option<Duration>,
    pub(crate) encoder: Option<Box<dyn Encoder>>,
    pub(crate) use_framing: bool,
    pub(crate) rebuild: Rebuild,
    pub(crate) backoff: Backoff,
    pub(crate) can_exit: bool,
    pub(crate) router: Arc<Router>,
    pub(crate) shutdown: ShutdownHandle,
    pub(crate) stop: Arc<StopSignal>,
    pub(crate) globals: Arc<Globals>,
    pub(crate) hostname: Bytes,
    pub(crate) stats: Arc<FoStats>,
    /// The encoder's output before framing.
    pub(crate) scratch: Vec<u8>,
}

/// Per-thread working state.
#[derive(Default)]
struct Work {
    held: Vec<Arc<Batch>>,
    injected: Vec<Pack>,
    stop_seen: Option<Instant>,
    /// The output's last `flush` left data unwritten: poll it again soon.
    pending: bool,
    /// Messages to match before the next timed one.
    next_sample: u64,
}

/// How often an output with unwritten data is asked to flush while no batches arrive.
const FLUSH_POLL: Duration = Duration::from_millis(50);

impl FoRunner {
    pub(crate) fn run(mut self, mut plugin: FoPlugin) {
        let mut w = Work::default();
        let tick = match self.ticker {
            Some(d) => crossbeam_channel::tick(d),
            None => crossbeam_channel::never(),
        };
        let reason = loop {
            let res = select! {
                recv(self.rx) -> b => match b {
                    Ok(b) => self.batch(&mut plugin, &mut w, b),
                    Err(_) => break None,
                },
                recv(tick) -> _ => self.timer(&mut plugin, &mut w),
                recv(self.ctl) -> c => {
                    if let (Ok(Control::Reload), FoPlugin::Output(o)) = (c, &mut plugin) {
                        o.reload(&mut self.output_ctx());
                    }
                    Ok(())
                },
                default(if w.pending { FLUSH_POLL } else { Duration::from_secs(3600) }) => {
                    self.flush_output(&mut plugin, &mut w)
                },
            };
            if let Err(e) = res {
                tracing::error!(plugin = %self.name, "fatal: {e}");
                self.cleanup(&mut plugin, &mut w);
                match self.restart() {
                    Ok(p) => plugin = p,
                    Err(why) => break Some(format!("{e} ({why})")),
                }
            }
        };
        match reason {
            None => {
                self.cleanup(&mut plugin, &mut w);
                tracing::debug!(plugin = %self.name, "stopped");
            }
            Some(reason) => self.exit(reason),
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
        }
    }

    fn output_ctx(&mut self) -> OutputContext<'_> {
        OutputContext {
            name: &self.name,
            encoder: self.encoder.as_deref_mut(),
            use_framing: self.use_framing,
            max_message_size: self.globals.max_message_size,
            scratch: &mut self.scratch,
            stop: &self.stop,
        }
    }

    /// The plugin is gone for good: leave the router and either tell the others or stop hekad.
    fn exit(&mut self, reason: String) {
        self.router.remove(&self.name);
        let lost: usize = self.rx.try_iter().map(|b| b.packs.len()).sum();
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
            self.router.route(Batch::new(vec![Pack::new(m)], None));
        } else {
            tracing::error!(plugin = %self.name, "has stopped, shutting down");
            self.shutdown
                .request(1, format!("plugin '{}' stopped: {reason}", self.name));
        }
    }

    /// A new plugin instance after the `retries` wait, or why there is none.
    fn restart(&mut self) -> Result<FoPlugin, String> {
        loop {
            let Some(d) = self.backoff.next_delay() else {
                return Err("Max retries exceeded".into());
            };
            if self.stop.wait(d) {
                return Err("shutting down".into());
            }
            match (self.rebuild)() {
                Ok(p) => {
                    tracing::info!(plugin = %self.name, "restarted");
                    return Ok(p);
                }
                Err(e) => tracing::error!(plugin = %self.name, "restart failed: {e}"),
            }
        }
    }

    fn cleanup(&mut self, plugin: &mut FoPlugin, w: &mut Work) {
        match plugin {
            FoPlugin::Filter(f) => {
                let budget = self.globals.max_timer_inject;
                f.shutdown(&mut self.filter_ctx(&mut w.injected, budget, 0));
            }
            FoPlugin::Output(o) => {
                if let Err(e) = o.shutdown(&mut self.output_ctx()) {
                    tracing::error!(plugin = %self.name, "shutdown: {e}");
                }
            }
        }
        w.held.clear();
        self.route_injected(w);
    }

    fn route_injected(&self, w: &mut Work) {
        if !w.injected.is_empty() {
            self.stats
                .injected
                .fetch_add(w.injected.len() as u64, Ordering::Relaxed);
            self.router
                .route(Batch::new(std::mem::take(&mut w.injected), None));
        }
    }

    /// Evaluates the matcher, timing one evaluation now and then (Heka's MatchAvgDuration).
    fn matches(&self, w: &mut Work, message: &Message) -> bool {
        if w.next_sample > 0 {
            w.next_sample -= 1;
            return self.matcher.matches(message);
        }
        let t = Instant::now();
        let m = self.matcher.matches(message);
        let ns = t.elapsed().as_nanos() as u64;
        self.stats.match_ns.fetch_add(ns, Ordering::Relaxed);
        let samples = self.stats.match_samples.fetch_add(1, Ordering::Relaxed) + 1;
        // Heka compat: pipeline/plugin_runners.go times every message until the samples exceed
        // the channel capacity, then one in `random(0..999) + sample_denominator`.
        w.next_sample = if samples <= self.globals.plugin_chansize as u64 {
            0
        } else {
            fastrand::u64(0..999) + self.globals.sample_denominator
        };
        m
    }

    fn batch(&mut self, plugin: &mut FoPlugin, w: &mut Work, b: Arc<Batch>) -> Result<(), String> {
        for pack in &b.packs {
            if let Some(s) = &self.signer
                && pack.signer.as_ref() != Some(s)
            {
                continue;
            }
            if !self.matches(w, &pack.message) {
                continue;
            }
            self.stats.matched.fetch_add(1, Ordering::Relaxed);
            self.deliver(plugin, w, pack)?;
        }
        if let FoPlugin::Output(_) = plugin {
            if b.has_ack() {
                w.held.push(b);
            }
            return self.flush_output(plugin, w);
        }
        Ok(())
    }

    /// Asks the output to write out what it must; releases held batches once all is written.
    fn flush_output(&mut self, plugin: &mut FoPlugin, w: &mut Work) -> Result<(), String> {
        let FoPlugin::Output(o) = plugin else {
            return Ok(());
        };
        match o.flush(&mut self.output_ctx()) {
            Ok(done) => {
                w.pending = !done;
                if done {
                    w.held.clear();
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
    fn deliver(&mut self, plugin: &mut FoPlugin, w: &mut Work, pack: &Pack) -> Result<(), String> {
        let mut wait = FIRST_RETRY_WAIT;
        loop {
            let res = match plugin {
                FoPlugin::Filter(f) => {
                    let budget = self.globals.max_process_inject;
                    let r = f.process_message(
                        pack,
                        &mut self.filter_ctx(&mut w.injected, budget, pack.loop_count),
                    );
                    self.route_injected(w);
                    r
                }
                FoPlugin::Output(o) => o.process_message(pack, &mut self.output_ctx()),
            };
            match res {
                Ok(()) => return Ok(()),
                Err(ProcessError::Drop(e)) => {
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(plugin = %self.name, "dropping message: {e}");
                    return Ok(());
                }
                Err(ProcessError::Fatal(e)) => {
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    return Err(e);
                }
                Err(ProcessError::Retry(e)) => {
                    if self.stop.is_stopped() {
                        let since = *w.stop_seen.get_or_insert_with(Instant::now);
                        if since.elapsed() > SHUTDOWN_RETRY_GRACE {
                            self.stats.failures.fetch_add(1, Ordering::Relaxed);
                            tracing::error!(plugin = %self.name, "shutting down: giving up on a message: {e}");
                            return Ok(());
                        }
                    }
                    if wait == FIRST_RETRY_WAIT {
                        tracing::warn!(plugin = %self.name, "retrying message: {e}");
                    } else {
                        tracing::debug!(plugin = %self.name, "retrying message: {e}");
                    }
                    let jitter =
                        Duration::from_millis(fastrand::u64(..=wait.as_millis() as u64 / 2));
                    std::thread::sleep(wait + jitter);
                    wait = (wait * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    fn timer(&mut self, plugin: &mut FoPlugin, w: &mut Work) -> Result<(), String> {
        let now = heka_message::now_ns();
        let res = match plugin {
            FoPlugin::Filter(f) => {
                let budget = self.globals.max_timer_inject;
                let r = f.timer_event(&mut self.filter_ctx(&mut w.injected, budget, 0), now);
                self.route_injected(w);
                r
            }
            FoPlugin::Output(o) => o.timer_event(&mut self.output_ctx(), now),
        };
        let res = res.and_then(|()| self.flush_output(plugin, w).map_err(ProcessError::Fatal));
        match res {
            Ok(()) => Ok(()),
            Err(ProcessError::Fatal(e)) => Err(e),
            Err(e) => {
                // Heka compat: pipeline/plugin_runners.go ignores non-fatal TimerEvent errors; we log them.
                tracing::error!(plugin = %self.name, "timer_event: {e}");
                Ok(())
            }
        }
    }
}
