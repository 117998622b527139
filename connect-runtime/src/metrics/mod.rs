//! Prometheus metrics of the worker, named as Strimzi's JMX exporter rules name Kafka Connect's MBeans
//! (`kafka_connect_worker_task_count`, `kafka_connect_source_task_source_record_poll_total`, ...), so that the
//! dashboards and alerts people already run against Kafka Connect work unchanged.
//!
//! The data path only bumps atomics of its own task, never a lock or an allocation per record; which connectors and
//! tasks exist, and their states, are read from the [`StatusBoard`] at scrape time, so metrics never drift from it.

mod rebalance;
mod render;
mod stats;
mod task;
mod task_series;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::prometheus_text;
use prometheus_client::registry::Registry;

use crate::worker::status::{StatusBoard, TaskId};
pub(crate) use rebalance::RebalanceMetrics;
use stats::{Snapshot, Windowed};
use task::TaskTable;
pub(crate) use task::{ErrorMetrics, TaskKind, TaskMetrics, TaskRegistration};

/// The `Content-Type` of [`ConnectMetrics::encode`]'s output: the Prometheus text format 0.0.4, as the JMX
/// exporter serves it.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// The metrics of one worker, shared as `Arc<ConnectMetrics>` by the worker, its herder and the REST server.
///
/// ```
/// use std::sync::Arc;
/// use connect_runtime::metrics::ConnectMetrics;
/// use connect_runtime::worker::status::StatusBoard;
///
/// let metrics = ConnectMetrics::new(Arc::new(StatusBoard::new("worker-1:8083")));
/// assert!(metrics.encode().contains("kafka_connect_worker_task_count 0"));
/// ```
pub struct ConnectMetrics {
    shared: Arc<Shared>,
    registry: Registry,
}

/// What the collector reads on each scrape.
struct Shared {
    status: Arc<StatusBoard>,
    connector_startups: Startups,
    task_startups: Startups,
    rebalance: RebalanceMetrics,
    tasks: Arc<TaskTable>,
}

/// Startup attempts and their outcomes (`connector-startup-*`, `task-startup-*`).
#[derive(Default)]
struct Startups {
    attempts: AtomicU64,
    successes: AtomicU64,
    failures: AtomicU64,
    /// 1 per success, 0 per failure. Task threads record concurrently, and a [`Windowed`] wants one writer.
    results: Mutex<Windowed>,
}

impl Startups {
    fn attempt(&self) {
        self.attempts.fetch_add(1, Ordering::Relaxed);
    }

    fn outcome(&self, success: bool) {
        let counter = if success { &self.successes } else { &self.failures };
        counter.fetch_add(1, Ordering::Relaxed);
        self.results.lock().unwrap_or_else(|p| p.into_inner()).record(u64::from(success));
    }

    fn totals(&self) -> (u64, u64, u64) {
        (
            self.attempts.load(Ordering::Relaxed),
            self.successes.load(Ordering::Relaxed),
            self.failures.load(Ordering::Relaxed),
        )
    }

    fn results(&self) -> Snapshot {
        self.results.lock().unwrap_or_else(|p| p.into_inner()).snapshot()
    }
}

impl ConnectMetrics {
    /// The metrics of the worker whose statuses `status` holds.
    pub fn new(status: Arc<StatusBoard>) -> Self {
        let shared = Arc::new(Shared {
            status,
            connector_startups: Startups::default(),
            task_startups: Startups::default(),
            rebalance: RebalanceMetrics::default(),
            tasks: Arc::new(TaskTable::default()),
        });
        let mut registry = Registry::default();
        registry.register_collector(Box::new(render::Scrape(shared.clone())));
        ConnectMetrics { shared, registry }
    }

    /// Every series, in the Prometheus text format ([`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        let mut text = String::with_capacity(16 * 1024);
        if let Err(err) = prometheus_text::encode(&mut text, &self.registry) {
            // Writing into a String cannot fail; should it, a partial scrape beats none.
            tracing::warn!("cannot encode the metrics: {err}");
        }
        text
    }

    /// A connector instance was started (`success`) or failed to start.
    pub(crate) fn record_connector_startup(&self, success: bool) {
        self.shared.connector_startups.attempt();
        self.shared.connector_startups.outcome(success);
    }

    /// The worker begins starting a task; [`ConnectMetrics::record_task_startup`] follows.
    pub(crate) fn record_task_startup_attempt(&self) {
        self.shared.task_startups.attempt();
    }

    /// A task was started (its `start()` returned normally) or failed to start.
    pub(crate) fn record_task_startup(&self, success: bool) {
        self.shared.task_startups.outcome(success);
    }

    /// The rebalance metrics, recorded by the distributed herder.
    pub(crate) fn rebalance(&self) -> &RebalanceMetrics {
        &self.shared.rebalance
    }

    /// Adds task `id` to this worker's tasks; its series last as long as the returned registration.
    pub(crate) fn register_task(&self, id: TaskId, kind: TaskKind) -> TaskRegistration {
        TaskRegistration::new(self.shared.tasks.clone(), id, kind)
    }
}
