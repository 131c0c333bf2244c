//! Runners: one thread per input, filter and output, doing the work all plugins share.
//!
//! * [`stream`]: splitting, decoding and batching for inputs (the hot path).
//! * [`decode`]: the decode workers that decode and route for inputs with a thread of their own.
//! * [`input`]: the input runner and [`input::InputContext`].
//! * [`filter_output`]: the match runner and the filter/output loop, injection, encoding,
//!   retries and delivery acknowledgement.
//! * [`dynamic`]: filters started and stopped at run time ([`dynamic::FilterControl`]).
//! * [`queue`]: the disk queue behind `use_buffering` (segments, cursor, checksums).
//! * [`build`]: turns a loaded [`crate::config::Config`] into a running [`build::Pipeline`].
//! * [`report`]: the all-report (SIGUSR1).

mod buffered;
pub mod build;
mod decode;
pub mod dynamic;
pub mod filter_output;
pub mod input;
pub mod queue;
pub mod report;
pub mod stream;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::Sender;
use parking_lot::{Condvar, Mutex};

/// Why the pipeline should stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShutdownRequest {
    /// Exit code hekad should end with.
    pub code: i32,
    /// What happened.
    pub reason: String,
}

/// A handle runners use to ask for a pipeline shutdown (a plugin that died without `can_exit`).
#[derive(Clone)]
pub(crate) struct ShutdownHandle(pub(crate) Sender<ShutdownRequest>);

impl ShutdownHandle {
    pub(crate) fn request(&self, code: i32, reason: impl Into<String>) {
        let _ = self.0.send(ShutdownRequest {
            code,
            reason: reason.into(),
        });
    }
}

type Waker = Box<dyn Fn() + Send + Sync>;

/// A stop flag that wakes blocked plugins through the callbacks they registered.
#[derive(Default)]
pub(crate) struct StopSignal {
    stopped: AtomicBool,
    wakers: Mutex<Vec<Waker>>,
    lock: Mutex<()>,
    cv: Condvar,
}

impl StopSignal {
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        for w in self.wakers.lock().drain(..) {
            w();
        }
        let _g = self.lock.lock();
        self.cv.notify_all();
    }

    pub(crate) fn on_stop(&self, f: Waker) {
        let mut w = self.wakers.lock();
        if self.is_stopped() {
            drop(w);
            f();
        } else {
            w.push(f);
        }
    }

    /// Sleeps up to `d`; returns early (true) when stopped.
    pub(crate) fn wait(&self, d: Duration) -> bool {
        let mut g = self.lock.lock();
        if !self.is_stopped() {
            self.cv.wait_for(&mut g, d);
        }
        self.is_stopped()
    }
}

/// Heka's retry helper (`retries` option): delay, doubling to `max_delay`, plus jitter.
pub(crate) struct Backoff {
    cur: Duration,
    max: Duration,
    jitter: Duration,
    left: i64,
}

impl Backoff {
    pub(crate) fn new(
        delay: Duration,
        max: Duration,
        jitter: Duration,
        max_retries: i64,
    ) -> Backoff {
        Backoff {
            cur: delay,
            max,
            jitter,
            left: max_retries,
        }
    }

    /// The next wait, or `None` when the retries are used up (`max_retries` -1 is forever).
    pub(crate) fn next_delay(&mut self) -> Option<Duration> {
        if self.left == 0 {
            return None;
        }
        if self.left > 0 {
            self.left -= 1;
        }
        let jitter = if self.jitter.is_zero() {
            Duration::ZERO
        } else {
            Duration::from_nanos(fastrand::u64(..self.jitter.as_nanos() as u64))
        };
        let d = self.cur + jitter;
        self.cur = (self.cur * 2).min(self.max);
        Some(d)
    }
}

/// Runs a call into a plugin, turning a panic into an error that names it, so that a plugin
/// that panics fails like one that returns an error and is restarted or stopped per its
/// `retries` policy, while hekad and the other plugins go on. (The default panic hook has
/// printed the panic and its location to stderr by then.)
pub fn catch_panic<T>(call: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)).map_err(|p| {
        let what = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_string());
        format!("panicked: {what}")
    })
}

pub(crate) fn stop_signal() -> Arc<StopSignal> {
    Arc::new(StopSignal::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_and_counts_retries() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(250), ms(600), Duration::ZERO, 3);
        assert_eq!(b.next_delay(), Some(ms(250)));
        assert_eq!(b.next_delay(), Some(ms(500)));
        assert_eq!(b.next_delay(), Some(ms(600)));
        assert_eq!(b.next_delay(), None);
        let mut forever = Backoff::new(ms(1), ms(2), ms(5), -1);
        for _ in 0..100 {
            let d = forever.next_delay().unwrap();
            assert!(d < ms(7));
        }
    }

    #[test]
    fn a_panic_becomes_an_error_naming_it() {
        assert_eq!(catch_panic(|| 7), Ok(7));
        assert_eq!(
            catch_panic(|| -> u8 { panic!("boom") }),
            Err("panicked: boom".to_string())
        );
        let n = 3;
        assert_eq!(
            catch_panic(|| -> u8 { panic!("boom {n}") }),
            Err("panicked: boom 3".to_string())
        );
    }

    #[test]
    fn stop_signal_runs_wakers_and_ends_waits() {
        let s = stop_signal();
        let hit = Arc::new(AtomicBool::new(false));
        let h = hit.clone();
        s.on_stop(Box::new(move || h.store(true, Ordering::SeqCst)));
        let s2 = s.clone();
        let t = std::thread::spawn(move || s2.wait(Duration::from_secs(30)));
        s.stop();
        assert!(t.join().unwrap());
        assert!(hit.load(Ordering::SeqCst));
        // Registering after the stop runs the waker at once.
        let late = Arc::new(AtomicBool::new(false));
        let l = late.clone();
        s.on_stop(Box::new(move || l.store(true, Ordering::SeqCst)));
        assert!(late.load(Ordering::SeqCst));
    }
}
