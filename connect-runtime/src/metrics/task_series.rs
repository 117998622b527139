//! The series of each task, by Kafka Connect's metric group: `connector-task-metrics` for every task, then
//! `source-task-metrics` or `sink-task-metrics` by kind. One table row per series keeps names next to what they read.

use std::sync::atomic::Ordering::Relaxed;

use prometheus_client::metrics::MetricType;

use super::render::Value;
use super::task::TaskMetrics;

/// A task's series: name, help, type, and how to read it.
pub(super) type TaskSeries = (&'static str, &'static str, MetricType, fn(&TaskMetrics) -> Value);

/// Microseconds as milliseconds (NaN stays NaN).
fn ms(us: f64) -> Value {
    Value::Float(us / 1000.0)
}

/// `connector-task-metrics`.
pub(super) const CONNECTOR_TASK: &[TaskSeries] = &[
    (
        "kafka_connect_connector_task_offset_commit_success_percentage",
        "The share (0 to 1) of this task's recent offset commit attempts that succeeded.",
        MetricType::Gauge,
        |m| Value::Float(m.commit_outcomes.snapshot().share()),
    ),
    (
        "kafka_connect_connector_task_offset_commit_failure_percentage",
        "The share (0 to 1) of this task's recent offset commit attempts that failed.",
        MetricType::Gauge,
        |m| Value::Float(m.commit_outcomes.snapshot().zero_share()),
    ),
    (
        "kafka_connect_connector_task_offset_commit_max_time_ms",
        "The maximum time in milliseconds taken by this task to commit offsets.",
        MetricType::Gauge,
        |m| ms(m.commit_time_us.snapshot().max()),
    ),
    (
        "kafka_connect_connector_task_offset_commit_avg_time_ms",
        "The average time in milliseconds taken by this task to commit offsets.",
        MetricType::Gauge,
        |m| ms(m.commit_time_us.snapshot().avg()),
    ),
    (
        "kafka_connect_connector_task_batch_size_max",
        "The number of records in the largest batch the task has processed so far.",
        MetricType::Gauge,
        |m| Value::Float(m.batch_size.snapshot().max()),
    ),
    (
        "kafka_connect_connector_task_batch_size_avg",
        "The average number of records in the batches the task has processed so far.",
        MetricType::Gauge,
        |m| Value::Float(m.batch_size.snapshot().avg()),
    ),
];

/// `source-task-metrics`.
pub(super) const SOURCE_TASK: &[TaskSeries] = &[
    (
        "kafka_connect_source_task_source_record_poll",
        "The number of records produced/polled (before transformation) by this task.",
        MetricType::Counter,
        |m| Value::Count(m.source_record_poll.total()),
    ),
    (
        "kafka_connect_source_task_source_record_poll_rate",
        "The average per-second number of records produced/polled (before transformation) by this task.",
        MetricType::Gauge,
        |m| Value::Float(m.source_record_poll.rate()),
    ),
    (
        "kafka_connect_source_task_source_record_write",
        "The number of records written to Kafka (acknowledged) by this task.",
        MetricType::Counter,
        |m| Value::Count(m.source_record_write.total()),
    ),
    (
        "kafka_connect_source_task_source_record_write_rate",
        "The average per-second number of records written to Kafka (acknowledged) by this task.",
        MetricType::Gauge,
        |m| Value::Float(m.source_record_write.rate()),
    ),
    (
        "kafka_connect_source_task_poll_batch_max_time_ms",
        "The maximum time in milliseconds taken by this task to poll a batch of source records.",
        MetricType::Gauge,
        |m| ms(m.poll_batch_time_us.snapshot().max()),
    ),
    (
        "kafka_connect_source_task_poll_batch_avg_time_ms",
        "The average time in milliseconds taken by this task to poll a batch of source records.",
        MetricType::Gauge,
        |m| ms(m.poll_batch_time_us.snapshot().avg()),
    ),
    (
        "kafka_connect_source_task_source_record_active_count",
        "The number of records that have been produced by this task but not yet completely written to Kafka.",
        MetricType::Gauge,
        |m| Value::Count(m.source_record_active.load(Relaxed)),
    ),
];

/// `sink-task-metrics`.
pub(super) const SINK_TASK: &[TaskSeries] = &[
    (
        "kafka_connect_sink_task_sink_record_read",
        "The number of records read from Kafka by this task.",
        MetricType::Counter,
        |m| Value::Count(m.sink_record_read.total()),
    ),
    (
        "kafka_connect_sink_task_sink_record_read_rate",
        "The average per-second number of records read from Kafka by this task.",
        MetricType::Gauge,
        |m| Value::Float(m.sink_record_read.rate()),
    ),
    (
        "kafka_connect_sink_task_sink_record_send",
        "The number of records sent to the sink task (put() returned normally).",
        MetricType::Counter,
        |m| Value::Count(m.sink_record_send.total()),
    ),
    (
        "kafka_connect_sink_task_sink_record_send_rate",
        "The average per-second number of records sent to the sink task.",
        MetricType::Gauge,
        |m| Value::Float(m.sink_record_send.rate()),
    ),
    (
        "kafka_connect_sink_task_put_batch_max_time_ms",
        "The maximum time in milliseconds taken by this task to put a batch of sink records.",
        MetricType::Gauge,
        |m| ms(m.put_batch_time_us.snapshot().max()),
    ),
    (
        "kafka_connect_sink_task_put_batch_avg_time_ms",
        "The average time in milliseconds taken by this task to put a batch of sink records.",
        MetricType::Gauge,
        |m| ms(m.put_batch_time_us.snapshot().avg()),
    ),
    (
        "kafka_connect_sink_task_offset_commit_completion",
        "The number of offset commit completions that were completed successfully.",
        MetricType::Counter,
        |m| Value::Count(m.offset_commit_completion.total()),
    ),
    (
        "kafka_connect_sink_task_offset_commit_completion_rate",
        "The average per-second number of offset commit completions that were completed successfully.",
        MetricType::Gauge,
        |m| Value::Float(m.offset_commit_completion.rate()),
    ),
    (
        "kafka_connect_sink_task_offset_commit_skip",
        "The number of offset commit completions that were received too late and skipped (commits are synchronous here: always 0).",
        MetricType::Counter,
        |_| Value::Count(0),
    ),
    (
        "kafka_connect_sink_task_offset_commit_skip_rate",
        "The average per-second number of offset commit completions that were received too late and skipped.",
        MetricType::Gauge,
        |_| Value::Float(0.0),
    ),
    (
        "kafka_connect_sink_task_offset_commit_seq_no",
        "The current sequence number for offset commits.",
        MetricType::Gauge,
        |m| Value::Count(m.offset_commit_seq_no.load(Relaxed)),
    ),
    (
        "kafka_connect_sink_task_partition_count",
        "The number of topic partitions assigned to this task.",
        MetricType::Gauge,
        |m| Value::Count(m.partition_count.load(Relaxed)),
    ),
];

/// `task-error-metrics`.
pub(super) const TASK_ERROR: &[TaskSeries] = &[
    (
        "kafka_connect_task_error_total_record_failures",
        "The number of record processing failures in this task.",
        MetricType::Counter,
        |m| Value::Count(m.errors.record_failures.load(Relaxed)),
    ),
    (
        "kafka_connect_task_error_total_record_errors",
        "The number of record processing errors in this task.",
        MetricType::Counter,
        |m| Value::Count(m.errors.record_errors.load(Relaxed)),
    ),
    (
        "kafka_connect_task_error_total_records_skipped",
        "The number of records skipped due to errors.",
        MetricType::Counter,
        |m| Value::Count(m.errors.records_skipped.load(Relaxed)),
    ),
    ("kafka_connect_task_error_total_retries", "The number of operations retried.", MetricType::Counter, |m| {
        Value::Count(m.errors.retries.load(Relaxed))
    }),
    (
        "kafka_connect_task_error_total_errors_logged",
        "The number of errors that were logged.",
        MetricType::Counter,
        |m| Value::Count(m.errors.errors_logged.load(Relaxed)),
    ),
    (
        "kafka_connect_task_error_deadletterqueue_produce_requests",
        "The number of attempted writes to the dead letter queue.",
        MetricType::Counter,
        |m| Value::Count(m.errors.dlq_produce_requests.load(Relaxed)),
    ),
    (
        "kafka_connect_task_error_deadletterqueue_produce_failures",
        "The number of failed writes to the dead letter queue.",
        MetricType::Counter,
        |m| Value::Count(m.errors.dlq_produce_failures.load(Relaxed)),
    ),
    (
        "kafka_connect_task_error_last_error_timestamp",
        "The epoch timestamp when this task last encountered an error.",
        MetricType::Gauge,
        |m| Value::Count(m.errors.last_error_timestamp.load(Relaxed)),
    ),
];
