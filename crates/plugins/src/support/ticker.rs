//! A polling input's ticker, with Go's `time.Ticker` timing: ticks on a fixed grid from the
//! start, the first one a period after it; a tick that falls while the input is busy waits for
//! it, and the others missed meanwhile are dropped (Go's ticker channel holds one tick).

use std::time::{Duration, Instant};

/// Ticks every `period` (see the module docs).
#[derive(Debug)]
pub(crate) struct Ticker {
    period: Duration,
    next: Instant,
}

impl Ticker {
    /// A ticker whose first tick is one `period` from now. A zero period is taken as 1 ns.
    pub(crate) fn new(period: Duration) -> Ticker {
        let period = period.max(Duration::from_nanos(1));
        Ticker {
            period,
            next: Instant::now() + period,
        }
    }

    /// Waits for the next tick with `sleep`, which sleeps up to the given time and returns true
    /// when the input is stopping. Returns false when stopping, true on a tick.
    pub(crate) fn wait(&mut self, mut sleep: impl FnMut(Duration) -> bool) -> bool {
        loop {
            let now = Instant::now();
            if now >= self.next {
                break;
            }
            if sleep(self.next - now) {
                return false;
            }
        }
        // This tick is taken now; the ones that fell since are dropped.
        let behind = Instant::now().saturating_duration_since(self.next);
        let missed = behind.as_nanos() / self.period.as_nanos();
        let steps = u32::try_from(missed.saturating_add(1)).unwrap_or(u32::MAX);
        self.next += self.period.saturating_mul(steps);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_on_a_grid_and_keeps_one_missed_tick() {
        let ms = Duration::from_millis;
        let start = Instant::now();
        let mut t = Ticker::new(ms(40));
        assert!(t.wait(|d| {
            std::thread::sleep(d);
            false
        }));
        let first = start.elapsed();
        assert!(first >= ms(40), "{first:?}");
        // Busy for 2.5 periods: the tick that fell meanwhile is taken at once, the next one
        // waits for the grid.
        std::thread::sleep(ms(100));
        let before = Instant::now();
        assert!(t.wait(|_| panic!("a missed tick must not wait")));
        assert!(before.elapsed() < ms(20));
        let mut slept = Duration::ZERO;
        assert!(t.wait(|d| {
            slept += d;
            std::thread::sleep(d);
            false
        }));
        assert!(slept <= ms(40), "{slept:?}");
        let grid = start.elapsed().as_millis();
        assert!(
            (160..200).contains(&grid),
            "tick at {grid} ms, expected the 160 ms grid point"
        );
        // A stop while waiting ends the wait.
        assert!(!t.wait(|_| true));
    }
}
