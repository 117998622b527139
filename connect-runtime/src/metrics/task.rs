//! The metrics of one task: Kafka Connect's `connector-task-metrics` and, by kind, `source-task-metrics` or
//! `sink-task-metrics`.
//!
//! Only the task's own thread records them (the sink's rebalance callbacks run on it too), once per batch or per
//! commit, never per record. A task's series exist while its [`TaskRegistration`] lives, that is while the herder
//! holds the task's handle: they disappear when the task is stopped for good or moved to another worker.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::stats::{Meter, Windowed};
use crate::worker::status::TaskId;

/// Whether a task is a source or a sink task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TaskKind {
    Source,
    Sink,
}

fn micros(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
}

/// The counters and windowed statistics of one task. Times are kept in microseconds and shown in milliseconds.
pub(crate) struct TaskMetrics {
    pub(super) kind: TaskKind,
    // connector-task-metrics
    /// Durations of successful offset commits.
    pub(super) commit_time_us: Windowed,
    /// One value per offset commit: 1 succeeded, 0 failed.
    pub(super) commit_outcomes: Windowed,
    pub(super) batch_size: Windowed,
    // source-task-metrics
    pub(super) source_record_poll: Meter,
    pub(super) source_record_write: Meter,
    pub(super) poll_batch_time_us: Windowed,
    pub(super) source_record_active: AtomicU64,
    // sink-task-metrics
    pub(super) sink_record_read: Meter,
    pub(super) sink_record_send: Meter,
    pub(super) put_batch_time_us: Windowed,
    pub(super) offset_commit_completion: Meter,
    pub(super) offset_commit_seq_no: AtomicU64,
    pub(super) partition_count: AtomicU64,
    // task-error-metrics
    pub(super) errors: ErrorMetrics,
}

/// Kafka Connect's `task-error-metrics` of one task, counted by the task's error handling (on failures only).
#[derive(Default)]
pub(crate) struct ErrorMetrics {
    /// Failed attempts, retried ones included.
    pub(crate) record_failures: AtomicU64,
    /// Records that failed for good.
    pub(crate) record_errors: AtomicU64,
    /// Records skipped because of errors.
    pub(crate) records_skipped: AtomicU64,
    /// Retries made.
    pub(crate) retries: AtomicU64,
    /// Errors logged (`errors.log.enable`).
    pub(crate) errors_logged: AtomicU64,
    /// Records sent to the dead letter queue.
    pub(crate) dlq_produce_requests: AtomicU64,
    /// Records the dead letter queue could not take.
    pub(crate) dlq_produce_failures: AtomicU64,
    /// When the last failure happened, in ms since the epoch (0: never).
    pub(crate) last_error_timestamp: AtomicU64,
}

impl ErrorMetrics {
    /// Adds one to `counter`.
    pub(crate) fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A failed attempt, now.
    pub(crate) fn failure(&self) {
        Self::count(&self.record_failures);
        self.last_error_timestamp.store(super::stats::now_ms(), Ordering::Relaxed);
    }
}

impl TaskMetrics {
    /// Empty metrics of a task of `kind`.
    pub(crate) fn new(kind: TaskKind) -> Self {
        TaskMetrics {
            kind,
            commit_time_us: Windowed::default(),
            commit_outcomes: Windowed::default(),
            batch_size: Windowed::default(),
            source_record_poll: Meter::default(),
            source_record_write: Meter::default(),
            poll_batch_time_us: Windowed::default(),
            source_record_active: AtomicU64::new(0),
            sink_record_read: Meter::default(),
            sink_record_send: Meter::default(),
            put_batch_time_us: Windowed::default(),
            offset_commit_completion: Meter::default(),
            offset_commit_seq_no: AtomicU64::new(0),
            partition_count: AtomicU64::new(0),
            errors: ErrorMetrics::default(),
        }
    }

    /// An offset commit that took `elapsed`; only successful commits count towards the commit times.
    pub(crate) fn record_commit(&self, elapsed: Duration, success: bool) {
        if success {
            self.commit_time_us.record(micros(elapsed));
        }
        self.commit_outcomes.record(u64::from(success));
    }

    /// A source `poll()` that returned `records` records (at least one) after `elapsed`.
    pub(crate) fn record_poll(&self, records: usize, elapsed: Duration) {
        self.source_record_poll.record(records as u64);
        self.poll_batch_time_us.record(micros(elapsed));
        self.batch_size.record(records as u64);
    }

    /// Source records Kafka acknowledged.
    pub(crate) fn record_write(&self, records: usize) {
        self.source_record_write.record(records as u64);
    }

    /// Source records sent (or polled) and not yet acknowledged.
    pub(crate) fn set_active_records(&self, records: usize) {
        self.source_record_active.store(records as u64, Ordering::Relaxed);
    }

    /// Sink records read from the consumer.
    pub(crate) fn record_read(&self, records: usize) {
        self.sink_record_read.record(records as u64);
    }

    /// A sink `put()` of `records` records that returned normally after `elapsed`.
    pub(crate) fn record_put(&self, records: usize, elapsed: Duration) {
        self.sink_record_send.record(records as u64);
        self.put_batch_time_us.record(micros(elapsed));
        self.batch_size.record(records as u64);
    }

    /// A sink offset commit starts: the next commit sequence number.
    pub(crate) fn begin_sink_commit(&self) {
        self.offset_commit_seq_no.fetch_add(1, Ordering::Relaxed);
    }

    /// A sink offset commit ended; a successful one completes (Kafka counts one with nothing new as completed too).
    pub(crate) fn record_sink_commit(&self, elapsed: Duration, success: bool) {
        self.record_commit(elapsed, success);
        if success {
            self.offset_commit_completion.record(1);
        }
    }

    /// The task's error counters.
    pub(crate) fn errors(&self) -> &ErrorMetrics {
        &self.errors
    }

    /// The number of partitions assigned to a sink task.
    pub(crate) fn set_partition_count(&self, partitions: usize) {
        self.partition_count.store(partitions as u64, Ordering::Relaxed);
    }
}

/// The tasks this worker holds, by id.
pub(super) type TaskTable = Mutex<BTreeMap<TaskId, Arc<TaskMetrics>>>;

/// Adds a task's metrics to the worker's table; they leave it when this is dropped.
pub(crate) struct TaskRegistration {
    table: Arc<TaskTable>,
    id: TaskId,
    metrics: Arc<TaskMetrics>,
}

impl TaskRegistration {
    pub(super) fn new(table: Arc<TaskTable>, id: TaskId, kind: TaskKind) -> Self {
        let metrics = Arc::new(TaskMetrics::new(kind));
        table.lock().unwrap_or_else(|p| p.into_inner()).insert(id.clone(), metrics.clone());
        TaskRegistration { table, id, metrics }
    }

    /// The metrics the task records into.
    pub(crate) fn metrics(&self) -> &Arc<TaskMetrics> {
        &self.metrics
    }
}

impl Drop for TaskRegistration {
    fn drop(&mut self) {
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        // A restarted task may already have registered again under the same id: leave its entry alone.
        if table.get(&self.id).is_some_and(|m| Arc::ptr_eq(m, &self.metrics)) {
            table.remove(&self.id);
        }
    }
}
