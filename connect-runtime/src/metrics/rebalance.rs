//! Kafka Connect's `connect-worker-rebalance-metrics`: how often and how long this worker rebalanced.
//!
//! Recorded by the distributed herder's thread only. A standalone worker never rebalances and shows none of these
//! series, as a standalone Kafka Connect worker has no such group.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

use super::stats::{now_ms, Windowed};

/// The rebalance state of this worker.
pub(crate) struct RebalanceMetrics {
    /// Set at the first rebalance: this worker is a member of a group.
    pub(super) in_group: AtomicBool,
    pub(super) rebalancing: AtomicBool,
    started_ms: AtomicU64,
    pub(super) completed: AtomicU64,
    last_completed_ms: AtomicU64,
    pub(super) epoch: AtomicI64,
    pub(super) time_ms: Windowed,
    /// The protocol and the leader's URL of the last completed rebalance.
    pub(super) group: Mutex<Option<(String, String)>>,
}

impl Default for RebalanceMetrics {
    fn default() -> Self {
        RebalanceMetrics {
            in_group: AtomicBool::new(false),
            rebalancing: AtomicBool::new(false),
            started_ms: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            last_completed_ms: AtomicU64::new(0),
            epoch: AtomicI64::new(-1),
            time_ms: Windowed::default(),
            group: Mutex::new(None),
        }
    }
}

impl RebalanceMetrics {
    /// A rebalance begins; a retry of an unfinished one keeps its start, so its time covers every attempt.
    pub(crate) fn started(&self) {
        self.in_group.store(true, Ordering::Relaxed);
        if !self.rebalancing.swap(true, Ordering::AcqRel) {
            self.started_ms.store(now_ms(), Ordering::Release);
        }
    }

    /// The rebalance ended with an assignment of `generation` applied.
    pub(crate) fn completed(&self, generation: i32, protocol: &str, leader_url: &str) {
        let now = now_ms();
        let started = self.started_ms.load(Ordering::Acquire);
        if self.rebalancing.swap(false, Ordering::AcqRel) {
            self.time_ms.record(now.saturating_sub(started));
        }
        self.epoch.store(i64::from(generation), Ordering::Relaxed);
        self.last_completed_ms.store(now, Ordering::Relaxed);
        self.completed.fetch_add(1, Ordering::Relaxed);
        *self.group.lock().unwrap_or_else(|p| p.into_inner()) = Some((protocol.to_string(), leader_url.to_string()));
    }

    /// Milliseconds since the last completed rebalance; +Inf before the first (as Kafka reports it).
    pub(super) fn time_since_last_ms(&self) -> f64 {
        if self.completed.load(Ordering::Relaxed) == 0 {
            f64::INFINITY
        } else {
            now_ms().saturating_sub(self.last_completed_ms.load(Ordering::Relaxed)) as f64
        }
    }
}
