//! Fields a plugin adds to the report (Heka's `ReportingPlugin.ReportMsg`).
//!
//! A plugin that has counters of its own (the sandbox plugins: memory, instructions, calls,
//! failures, durations) publishes them at build time through its [`BuildContext::stats`]
//! slot: [`StatsSlot::publish`] hands it a shared value (atomics, typically) that it updates as
//! it works, and the report reads it with [`ReportFields::fields`] from its own thread. The
//! report never waits on the plugin: a busy or stuck plugin shows the values it last stored.
//!
//! One slot per report component (an input, its decoder, a filter, an output, its encoder). The
//! instances built for that component share what the first one published: an input's decoder
//! is built once per stream (connection), a plugin that failed is built again, and their
//! counters go on in the same value.
//!
//! [`BuildContext::stats`]: crate::registry::BuildContext::stats

use std::any::Any;
use std::sync::{Arc, OnceLock};

/// One field's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatValue {
    /// A count, a size in bytes or a duration in ns (printed as Heka printed its numbers).
    Number(u64),
    /// Text, as it is.
    Text(String),
}

/// What a plugin shows in the report.
pub trait ReportFields: Send + Sync + 'static {
    /// Appends the plugin's fields (Heka's names). Runs on the report's thread while the
    /// plugin runs: read atomics or other values that never make the caller wait.
    fn fields(&self, out: &mut Vec<(&'static str, StatValue)>);
}

struct Published {
    value: Arc<dyn Any + Send + Sync>,
    fields: Arc<dyn ReportFields>,
}

/// Where one report component's plugin publishes its fields (see the module docs). A default
/// slot is detached: what is published there is shown nowhere (sub-decoders, check builds).
#[derive(Clone, Default)]
pub struct StatsSlot(Arc<OnceLock<Published>>);

impl std::fmt::Debug for StatsSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatsSlot")
            .field("published", &self.0.get().is_some())
            .finish()
    }
}

impl StatsSlot {
    /// The value the report reads this component's fields from: made by `make` the first
    /// time, the same one for every later instance. An instance asking for a type other than
    /// the published one gets a value of its own, which is not shown.
    pub fn publish<T: ReportFields>(&self, make: impl FnOnce() -> T) -> Arc<T> {
        if let Some(p) = self.0.get() {
            return p
                .value
                .clone()
                .downcast::<T>()
                .unwrap_or_else(|_| Arc::new(make()));
        }
        let v = Arc::new(make());
        let p = self.0.get_or_init(|| Published {
            value: v.clone(),
            fields: v.clone(),
        });
        p.value.clone().downcast::<T>().unwrap_or(v)
    }

    /// The published fields, empty when nothing was published.
    pub fn fields(&self) -> Vec<(&'static str, StatValue)> {
        let mut out = Vec::new();
        if let Some(p) = self.0.get() {
            p.fields.fields(&mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[derive(Default)]
    struct Calls(AtomicU64);

    impl ReportFields for Calls {
        fn fields(&self, out: &mut Vec<(&'static str, StatValue)>) {
            out.push((
                "ProcessMessageCount",
                StatValue::Number(self.0.load(Ordering::Relaxed)),
            ));
        }
    }

    #[test]
    fn instances_share_what_the_first_published() {
        let slot = StatsSlot::default();
        assert!(slot.fields().is_empty());
        let a = slot.publish(Calls::default);
        a.0.fetch_add(2, Ordering::Relaxed);
        let b = slot.clone().publish(|| Calls(AtomicU64::new(100)));
        assert!(Arc::ptr_eq(&a, &b));
        b.0.fetch_add(1, Ordering::Relaxed);
        assert_eq!(
            slot.fields(),
            vec![("ProcessMessageCount", StatValue::Number(3))]
        );
    }
}
