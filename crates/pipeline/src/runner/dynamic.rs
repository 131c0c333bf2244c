//! Filters started and stopped while hekad runs (what Heka's `AddFilterRunner` and
//! `RemoveFilterRunner` did for the SandboxManagerFilter).
//!
//! A filter asks through [`FilterControl`], which its runner hands it in every
//! [`FilterContext`](crate::plugin::FilterContext): [`FilterControl::start`] builds a filter
//! from a config [`Section`] exactly as the builder builds a configured one (the section's
//! type names a registered filter type; the pipeline never looks at plugin names), gives it
//! lanes and a place in the router and starts its runner thread; [`FilterControl::stop`]
//! removes it from the router, after which its runner drains what it holds and ends.
//!
//! Neither call waits for another runner: starting only adds a destination and spawns a
//! thread, stopping only removes a destination. The threads are joined when hekad stops
//! (after the configured filters), so a filter that starts or stops others can never wait on
//! one that is waiting on it.

use std::collections::HashMap;
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::Sender;
use parking_lot::Mutex;

use crate::config::{ConfigError, PluginKind, Section};
use crate::registry::{FilterSpec, Registry};
use crate::router::Router;
use crate::runner::build::{Builder, Env, Shared};
use crate::runner::filter_output::Control;
use crate::runner::report::{Report, ReportEntry};
use crate::runner::{ShutdownHandle, StopSignal};

/// Why [`FilterControl::start`] refused a filter.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// hekad is stopping: nothing new starts.
    #[error("hekad is shutting down")]
    ShuttingDown,
    /// The section is not a filter's.
    #[error("Plugin must be a filter, received {0}")]
    NotAFilter(String),
    /// A filter or output of that name is already running.
    #[error("{0} is already running")]
    AlreadyRunning(String),
    /// The section's options are wrong, or its plugin failed to build.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// The runner thread could not be started.
    #[error("cannot start a thread for {name}: {error}")]
    Thread {
        /// The filter's name.
        name: String,
        /// What the OS said.
        error: std::io::Error,
    },
}

/// One filter started through a [`FilterControl`].
struct Started {
    handle: JoinHandle<()>,
    /// Kept so the runner's control channel stays connected.
    _ctl: Sender<Control>,
}

/// What the pipeline shares with every [`FilterControl`].
struct Inner {
    /// The filter types of the registry the pipeline was built with.
    filters: Vec<FilterSpec>,
    /// The globals and section links of the pipeline the filters join.
    env: Env,
    router: Arc<Router>,
    input_stop: Arc<StopSignal>,
    draining: Arc<StopSignal>,
    shutdown: ShutdownHandle,
    /// Running filters by name.
    running: Mutex<HashMap<String, Started>>,
    /// Filters stopped or ended on their own whose threads are not joined yet.
    ended: Mutex<Vec<(String, JoinHandle<()>)>>,
    /// The report's entries of the running ones.
    report: Arc<Mutex<Vec<ReportEntry>>>,
}

/// A filter's handle on the pipeline's filters: start one from a config section, stop one,
/// list those it started (see the module doc). Cheap to clone; every filter runner of a
/// pipeline holds the same one.
#[derive(Clone)]
pub struct FilterControl {
    inner: Arc<Inner>,
}

impl FilterControl {
    pub(crate) fn new(
        registry: &Registry,
        env: Env,
        router: Arc<Router>,
        input_stop: Arc<StopSignal>,
        draining: Arc<StopSignal>,
        shutdown: ShutdownHandle,
        report: Arc<Mutex<Vec<ReportEntry>>>,
    ) -> FilterControl {
        FilterControl {
            inner: Arc::new(Inner {
                filters: registry.filters.clone(),
                env,
                router,
                input_stop,
                draining,
                shutdown,
                running: Mutex::new(HashMap::new()),
                ended: Mutex::new(Vec::new()),
                report,
            }),
        }
    }

    /// Builds the filter of `section` (named by the section, of the registered type the
    /// section names, with its common options: matcher, signer, ticker, retries, `can_exit`)
    /// and starts its runner. It receives what inputs route from then on.
    pub fn start(&self, section: &Section) -> Result<(), StartError> {
        let inner = &self.inner;
        if section.kind != PluginKind::Filter {
            return Err(StartError::NotAFilter(section.type_name.clone()));
        }
        let mut running = inner.running.lock();
        if inner.draining.is_stopped() {
            return Err(StartError::ShuttingDown);
        }
        self.reap(&mut running);
        if running.contains_key(&section.name) || inner.router.contains(&section.name) {
            return Err(StartError::AlreadyRunning(section.name.clone()));
        }
        let registry = Registry {
            filters: inner.filters.clone(),
            ..Registry::default()
        };
        let builder = Builder::new(&registry, inner.env.clone(), false);
        let shared = Shared {
            router: inner.router.clone(),
            input_stop: inner.input_stop.clone(),
            draining: inner.draining.clone(),
            shutdown: inner.shutdown.clone(),
            control: self.clone(),
        };
        let mut report = Report::default();
        let Some(fo) = builder.filter_output(section, &shared, &mut report)? else {
            return Err(ConfigError::unknown_type(section).into());
        };
        let name = section.name.clone();
        inner.router.add(fo.destination);
        let (runner, plugin) = (fo.runner, fo.plugin);
        let spawned = std::thread::Builder::new()
            .name(name.chars().take(15).collect())
            .spawn(move || runner.run(plugin));
        let handle = match spawned {
            Ok(h) => h,
            Err(error) => {
                inner.router.remove(&name);
                return Err(StartError::Thread { name, error });
            }
        };
        tracing::info!("Filter started: {name}");
        self.inner.report.lock().append(&mut report.entries);
        running.insert(
            name,
            Started {
                handle,
                _ctl: fo.ctl,
            },
        );
        Ok(())
    }

    /// Stops the filter `name` if it was started through this handle and still runs: it
    /// leaves the router at once, then drains what it holds and ends on its own thread.
    /// Returns whether there was such a filter.
    pub fn stop(&self, name: &str) -> bool {
        let mut running = self.inner.running.lock();
        self.reap(&mut running);
        let Some(started) = running.remove(name) else {
            return false;
        };
        self.inner.router.remove(name);
        self.inner.report.lock().retain(|e| e.name() != name);
        tracing::info!("Stop message sent to filter '{name}'");
        self.inner
            .ended
            .lock()
            .push((name.to_string(), started.handle));
        true
    }

    /// The names of the filters started through this handle that still run (a filter that
    /// stopped for good on its own, e.g. a terminated sandbox, is no longer listed), sorted.
    pub fn running(&self) -> Vec<String> {
        let mut running = self.inner.running.lock();
        self.reap(&mut running);
        let mut names: Vec<String> = running.keys().cloned().collect();
        names.sort_unstable();
        names
    }

    /// Moves the filters whose threads have ended out of `running`.
    fn reap(&self, running: &mut HashMap<String, Started>) {
        let done: Vec<String> = running
            .iter()
            .filter(|(_, s)| s.handle.is_finished())
            .map(|(n, _)| n.clone())
            .collect();
        let mut ended = self.inner.ended.lock();
        if !done.is_empty() {
            self.inner
                .report
                .lock()
                .retain(|e| !done.iter().any(|n| n == e.name()));
        }
        for n in done {
            if let Some(s) = running.remove(&n) {
                ended.push((n, s.handle));
            }
        }
    }

    /// hekad is stopping (the draining signal is set, so nothing new starts): stops every
    /// filter started at run time and waits for all their threads.
    pub(crate) fn stop_all(&self) {
        let started: Vec<(String, Started)> = self.inner.running.lock().drain().collect();
        let mut ended: Vec<(String, JoinHandle<()>)> =
            std::mem::take(&mut *self.inner.ended.lock());
        for (name, s) in started {
            self.inner.router.remove(&name);
            tracing::info!("Stop message sent to filter '{name}'");
            ended.push((name, s.handle));
        }
        for (_, h) in ended {
            let _ = h.join();
        }
    }
}
