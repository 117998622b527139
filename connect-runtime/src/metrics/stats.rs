//! Windowed statistics as Kafka's metrics library keeps them (`SampledStat`, two samples of 30 s): max, average and
//! rate over the last 30 to 60 seconds, so that a spike ages out instead of staying forever.
//!
//! Recording is a few relaxed atomic operations, never a lock or an allocation; each statistic has one writer at a
//! time (a task's thread, the herder's), and a reader never blocks it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

/// The length of one sample window (Kafka's `metrics.sample.window.ms`).
pub(crate) const WINDOW_MS: u64 = 30_000;

/// Milliseconds on a monotonic clock shared by every statistic of the process.
pub(crate) fn now_ms() -> u64 {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// The window that `now` falls in, counted from 1 (0 marks a sample never written).
fn window_of(now: u64) -> u64 {
    now / WINDOW_MS + 1
}

#[derive(Default)]
struct Sample {
    window: AtomicU64,
    count: AtomicU64,
    sum: AtomicU64,
    max: AtomicU64,
}

/// Count, sum and max of the values recorded in the current and the previous window.
#[derive(Default)]
pub(crate) struct Windowed {
    samples: [Sample; 2],
}

/// What a [`Windowed`] statistic holds at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Snapshot {
    pub count: u64,
    pub sum: u64,
    pub max: u64,
    /// The time the samples cover: from the start of the previous window to now, at least one window.
    pub elapsed_ms: u64,
}

impl Snapshot {
    /// The largest value, NaN without values (as Kafka's `Max`).
    pub fn max(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.max as f64
        }
    }

    /// The mean value, NaN without values (as Kafka's `Avg`).
    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.sum as f64 / self.count as f64
        }
    }

    /// The mean of values recorded as 0 or 1: the share of ones, 0 without values (as Kafka's `Frequencies`).
    pub fn share(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }

    /// The share of values recorded as 0 (failures among 1/0 outcomes), 0 without values.
    pub fn zero_share(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            (self.count - self.sum.min(self.count)) as f64 / self.count as f64
        }
    }

    /// The sum per second (as Kafka's `Rate`).
    pub fn rate_per_second(&self) -> f64 {
        self.sum as f64 * 1000.0 / self.elapsed_ms.max(1) as f64
    }
}

impl Windowed {
    /// Records `value` now.
    pub fn record(&self, value: u64) {
        self.record_at(value, now_ms());
    }

    /// Records `value` at `now` (milliseconds of [`now_ms`]).
    pub fn record_at(&self, value: u64, now: u64) {
        let window = window_of(now);
        let sample = &self.samples[(window % 2) as usize];
        if sample.window.load(Ordering::Acquire) != window {
            // The slot holds a window two or more behind: start it afresh. Counts are cleared before the window is
            // published, so a reader that sees the new window never sees the old counts.
            sample.count.store(0, Ordering::Relaxed);
            sample.sum.store(0, Ordering::Relaxed);
            sample.max.store(0, Ordering::Relaxed);
            sample.window.store(window, Ordering::Release);
        }
        sample.count.fetch_add(1, Ordering::Relaxed);
        sample.sum.fetch_add(value, Ordering::Relaxed);
        sample.max.fetch_max(value, Ordering::Relaxed);
    }

    /// The statistic now.
    pub fn snapshot(&self) -> Snapshot {
        self.snapshot_at(now_ms())
    }

    /// The statistic at `now`: the current and the previous window only.
    pub fn snapshot_at(&self, now: u64) -> Snapshot {
        let current = window_of(now);
        let mut snapshot = Snapshot::default();
        for sample in &self.samples {
            let window = sample.window.load(Ordering::Acquire);
            if window != 0 && (window == current || window + 1 == current) {
                snapshot.count += sample.count.load(Ordering::Relaxed);
                snapshot.sum += sample.sum.load(Ordering::Relaxed);
                snapshot.max = snapshot.max.max(sample.max.load(Ordering::Relaxed));
            }
        }
        let previous_start = (now / WINDOW_MS).saturating_sub(1) * WINDOW_MS;
        snapshot.elapsed_ms = (now - previous_start).max(WINDOW_MS);
        snapshot
    }
}

/// A running total and its windowed rate (Kafka's `Meter`: `<name>-total` and `<name>-rate`).
#[derive(Default)]
pub(crate) struct Meter {
    total: AtomicU64,
    window: Windowed,
}

impl Meter {
    /// Adds `n` events.
    pub fn record(&self, n: u64) {
        self.total.fetch_add(n, Ordering::Relaxed);
        self.window.record(n);
    }

    /// Every event since the meter was created.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Events per second over the last 30 to 60 seconds.
    pub fn rate(&self) -> f64 {
        self.window.snapshot().rate_per_second()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_avg_and_share_cover_the_current_and_previous_windows() {
        let stat = Windowed::default();
        assert!(stat.snapshot_at(0).max().is_nan());
        assert!(stat.snapshot_at(0).avg().is_nan());
        assert_eq!(stat.snapshot_at(0).share(), 0.0);
        stat.record_at(10, 1_000);
        stat.record_at(30, 2_000);
        stat.record_at(2, WINDOW_MS + 5);
        let now = stat.snapshot_at(WINDOW_MS + 10);
        assert_eq!((now.count, now.sum, now.max), (3, 42, 30));
        assert_eq!(now.avg(), 14.0);
        assert_eq!(now.max(), 30.0);
        // Two windows later the first window is gone, the second remains.
        let later = stat.snapshot_at(2 * WINDOW_MS + 1);
        assert_eq!((later.count, later.sum, later.max), (1, 2, 2));
        // Three windows later nothing remains.
        assert_eq!(stat.snapshot_at(3 * WINDOW_MS + 1).count, 0);
    }

    #[test]
    fn a_reused_slot_starts_afresh() {
        let stat = Windowed::default();
        stat.record_at(100, 10);
        stat.record_at(1, 2 * WINDOW_MS + 10); // same slot as the first window
        let now = stat.snapshot_at(2 * WINDOW_MS + 20);
        assert_eq!((now.count, now.sum, now.max), (1, 1, 1));
    }

    #[test]
    fn rate_divides_by_at_least_one_window() {
        let stat = Windowed::default();
        stat.record_at(300, 1_000);
        // Early on the elapsed time is one full window, as Kafka's `Rate` assumes.
        assert_eq!(stat.snapshot_at(1_000).rate_per_second(), 10.0);
        stat.record_at(300, WINDOW_MS + 1_000);
        // 600 events from the start of the previous window to 45 s.
        let snapshot = stat.snapshot_at(WINDOW_MS + 15_000);
        assert_eq!(snapshot.elapsed_ms, 45_000);
        assert!((snapshot.rate_per_second() - 600.0 / 45.0).abs() < 1e-9);
    }

    #[test]
    fn share_is_the_fraction_of_ones() {
        let stat = Windowed::default();
        for value in [1, 1, 1, 0] {
            stat.record_at(value, 5);
        }
        assert_eq!(stat.snapshot_at(6).share(), 0.75);
        assert_eq!(stat.snapshot_at(6).zero_share(), 0.25);
    }

    #[test]
    fn meter_keeps_the_total_beyond_the_windows() {
        let meter = Meter::default();
        meter.record(5);
        meter.record(7);
        assert_eq!(meter.total(), 12);
        assert!(meter.rate() > 0.0);
    }
}
