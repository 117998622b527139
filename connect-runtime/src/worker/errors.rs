//! Error handling on the data path (Kafka Connect's `RetryWithToleranceOperator`, KIP-298): a failing stage
//! (a converter, a transformation, an errant record a sink task reports) is retried while its error is retriable
//! and `errors.retry.timeout` allows, then either fails the task (`errors.tolerance=none`) or skips the record
//! (`all`), logging it (`errors.log.enable`) and, for sink connectors, sending it to the dead letter queue.
//!
//! Nothing here ever drops a record silently: a skipped record is always counted, and logged or reported when the
//! connector asks for it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use connect_api::{Config, ConnectError};

use crate::metrics::{ErrorMetrics, TaskMetrics};

/// The first pause before a retry (Kafka's `RETRIES_DELAY_MIN_MS`); it doubles up to `errors.retry.delay.max.ms`.
const RETRY_DELAY_MIN: Duration = Duration::from_millis(300);

/// Where on the data path a failure happened (Kafka Connect's `Stage`, named as in the DLQ's context headers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// A sink task's `put`.
    TaskPut,
    /// A transformation.
    Transformation,
    /// The key converter.
    KeyConverter,
    /// The value converter.
    ValueConverter,
    /// The header converter.
    HeaderConverter,
}

impl Stage {
    /// Kafka Connect's name of the stage.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Stage::TaskPut => "TASK_PUT",
            Stage::Transformation => "TRANSFORMATION",
            Stage::KeyConverter => "KEY_CONVERTER",
            Stage::ValueConverter => "VALUE_CONVERTER",
            Stage::HeaderConverter => "HEADER_CONVERTER",
        }
    }
}

/// A failure the connector tolerates: what failed, where, and why; reported, then the record is skipped.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    /// The stage.
    pub stage: Stage,
    /// The class executing the stage (a converter's, a transformation's, the task's).
    pub class: String,
    /// The error.
    pub error: ConnectError,
}

/// The `errors.*` settings of a connector.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ErrorPolicy {
    /// `errors.tolerance=all`.
    pub tolerate_all: bool,
    /// `errors.retry.timeout`; `None` retries forever (-1).
    pub retry_timeout: Option<Duration>,
    /// `errors.retry.delay.max.ms`.
    pub retry_delay_max: Duration,
    /// `errors.log.enable`.
    pub log: bool,
    /// `errors.log.include.messages`.
    pub log_messages: bool,
}

impl Default for ErrorPolicy {
    fn default() -> Self {
        ErrorPolicy {
            tolerate_all: false,
            retry_timeout: Some(Duration::ZERO),
            retry_delay_max: Duration::from_secs(60),
            log: false,
            log_messages: false,
        }
    }
}

impl ErrorPolicy {
    /// Reads the `errors.*` keys of a connector configuration; a bad value is an error naming its key.
    pub(crate) fn from_props(props: &Config) -> Result<Self, ConnectError> {
        let text = |key: &str| props.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
        let long = |key: &str| -> Result<Option<i64>, ConnectError> {
            text(key)
                .map(|v| v.parse::<i64>().map_err(|_| ConnectError::config(key, format!("{v} is not a number"))))
                .transpose()
        };
        let boolean = |key: &str| -> Result<bool, ConnectError> {
            match text(key).map(str::to_ascii_lowercase).as_deref() {
                None | Some("false") => Ok(false),
                Some("true") => Ok(true),
                Some(other) => Err(ConnectError::config(key, format!("{other} is not a boolean"))),
            }
        };
        let tolerate_all = match text("errors.tolerance").map(str::to_ascii_lowercase).as_deref() {
            None | Some("none") => false,
            Some("all") => true,
            Some(other) => {
                return Err(ConnectError::config("errors.tolerance", format!("{other} is not one of none, all")))
            }
        };
        let retry_timeout = match long("errors.retry.timeout")? {
            None => Some(Duration::ZERO),
            Some(-1) => None,
            Some(ms) if ms >= 0 => Some(Duration::from_millis(ms as u64)),
            Some(ms) => return Err(ConnectError::config("errors.retry.timeout", format!("{ms} is below -1"))),
        };
        let retry_delay_max = match long("errors.retry.delay.max.ms")? {
            None => Duration::from_secs(60),
            Some(ms) if ms >= 1 => Duration::from_millis(ms as u64),
            Some(ms) => return Err(ConnectError::config("errors.retry.delay.max.ms", format!("{ms} is below 1"))),
        };
        Ok(ErrorPolicy {
            tolerate_all,
            retry_timeout,
            retry_delay_max,
            log: boolean("errors.log.enable")?,
            log_messages: boolean("errors.log.include.messages")?,
        })
    }

    /// Whether a retriable failure may be tried again at all.
    pub(crate) fn may_retry(&self) -> bool {
        self.retry_timeout != Some(Duration::ZERO)
    }
}

/// Counts of what the operator saw, read from the task's `task-error-metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ErrorCounts {
    /// Failed attempts, retried ones included (`total-record-failures`).
    pub failures: u64,
    /// Records that failed for good (`total-record-errors`).
    pub errors: u64,
    /// Records skipped because of errors (`total-records-skipped`).
    pub skipped: u64,
    /// Retries made (`total-retries`).
    pub retries: u64,
}

/// Runs the stages of one task under its [`ErrorPolicy`].
pub(crate) struct RetryWithTolerance {
    policy: ErrorPolicy,
    metrics: Arc<TaskMetrics>,
}

impl RetryWithTolerance {
    /// An operator for one task, counting into its metrics.
    pub(crate) fn new(policy: ErrorPolicy, metrics: Arc<TaskMetrics>) -> Self {
        RetryWithTolerance { policy, metrics }
    }

    /// The task's error metrics, for the reporters (errors logged, dead letters).
    pub(crate) fn metrics(&self) -> &ErrorMetrics {
        self.metrics.errors()
    }

    /// The policy.
    pub(crate) fn policy(&self) -> &ErrorPolicy {
        &self.policy
    }

    /// What was counted so far.
    pub(crate) fn counts(&self) -> ErrorCounts {
        let m = self.metrics();
        let read = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
        ErrorCounts {
            failures: read(&m.record_failures),
            errors: read(&m.record_errors),
            skipped: read(&m.records_skipped),
            retries: read(&m.retries),
        }
    }

    /// Logs a tolerated failure when `errors.log.enable` is set, in Kafka Connect's words; `record(full)` describes
    /// the record (`full` with `errors.log.include.messages`), as a suffix starting with `, where`.
    pub(crate) fn log_failure(
        &self,
        task: &impl std::fmt::Display,
        failure: &Failure,
        record: impl FnOnce(bool) -> String,
    ) {
        if !self.policy.log {
            return;
        }
        ErrorMetrics::count(&self.metrics().errors_logged);
        tracing::error!(
            "Error encountered in task {task}. Executing stage '{}' with class '{}'{}: {}",
            failure.stage.name(),
            failure.class,
            record(self.policy.log_messages),
            failure.error.status_trace()
        );
    }

    /// Logs what was counted, when any record failed (at task stop).
    pub(crate) fn log_summary(&self, task: &impl std::fmt::Display) {
        let c = self.counts();
        if c.failures > 0 {
            tracing::warn!(
                "task {task}: {} failed attempts, {} retries, {} records in error, {} records skipped",
                c.failures,
                c.retries,
                c.errors,
                c.skipped
            );
        }
    }

    /// Runs `op` for `stage` of class `class`: retries retriable failures with backoff while `errors.retry.timeout`
    /// allows (and `stopping` is false), then `Ok(Ok(value))` on success, `Ok(Err(failure))` when the failure is
    /// tolerated (the caller reports it and skips the record), or `Err` when it is not: the task must fail.
    pub(crate) fn execute<T>(
        &mut self,
        stage: Stage,
        class: &str,
        stopping: &dyn Fn() -> bool,
        mut op: impl FnMut() -> Result<T, ConnectError>,
    ) -> Result<Result<T, Failure>, ConnectError> {
        // Taken at the first failure, not before every call: this runs per record and per stage.
        let mut started: Option<Instant> = None;
        let mut delay = RETRY_DELAY_MIN;
        loop {
            let error = match op() {
                Ok(value) => return Ok(Ok(value)),
                Err(error) => error,
            };
            let started = *started.get_or_insert_with(Instant::now);
            self.metrics().failure();
            if error.is_retriable() && !stopping() {
                let deadline = self.policy.retry_timeout.map(|t| started + t);
                let now = Instant::now();
                if deadline.is_none_or(|d| now + delay.min(self.policy.retry_delay_max) <= d) {
                    let pause = delay.min(self.policy.retry_delay_max);
                    tracing::debug!("{} failed with a retriable error, retrying in {pause:?}: {error}", stage.name());
                    sleep_unless(pause, stopping);
                    delay = (delay * 2).min(self.policy.retry_delay_max);
                    ErrorMetrics::count(&self.metrics().retries);
                    continue;
                }
            }
            return self.fail(Failure { stage, class: class.to_string(), error });
        }
    }

    /// A failure that happened outside [`RetryWithTolerance::execute`] (an errant record a sink task reports):
    /// tolerated or not, as `execute` decides.
    pub(crate) fn fail<T>(&mut self, failure: Failure) -> Result<Result<T, Failure>, ConnectError> {
        ErrorMetrics::count(&self.metrics().record_errors);
        if self.policy.tolerate_all {
            ErrorMetrics::count(&self.metrics().records_skipped);
            Ok(Err(failure))
        } else {
            Err(tolerance_exceeded(&failure))
        }
    }
}

/// Kafka Connect's error for a failure with `errors.tolerance=none`; the cause goes into the trace.
pub(crate) fn tolerance_exceeded(failure: &Failure) -> ConnectError {
    let cause = failure.error.status_trace();
    ConnectError::new("Tolerance exceeded in error handler").with_trace(format!(
        "Caused by: {cause}\n\tin stage {} with class {}",
        failure.stage.name(),
        failure.class
    ))
}

fn sleep_unless(pause: Duration, stopping: &dyn Fn() -> bool) {
    let until = Instant::now() + pause;
    while !stopping() {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::TaskKind;
    use std::sync::atomic::Ordering::Relaxed;

    fn operator(policy: ErrorPolicy) -> RetryWithTolerance {
        RetryWithTolerance::new(policy, Arc::new(TaskMetrics::new(TaskKind::Source)))
    }

    fn policy(pairs: &[(&str, &str)]) -> Result<ErrorPolicy, ConnectError> {
        ErrorPolicy::from_props(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn policy_reads_kafka_keys_and_names_bad_ones() {
        assert_eq!(policy(&[]).unwrap(), ErrorPolicy::default());
        let p = policy(&[
            ("errors.tolerance", "ALL"),
            ("errors.retry.timeout", "-1"),
            ("errors.retry.delay.max.ms", "5"),
            ("errors.log.enable", "true"),
            ("errors.log.include.messages", "true"),
        ])
        .unwrap();
        assert!(p.tolerate_all && p.log && p.log_messages && p.retry_timeout.is_none() && p.may_retry());
        assert_eq!(p.retry_delay_max, Duration::from_millis(5));
        for (key, value) in [
            ("errors.tolerance", "some"),
            ("errors.retry.timeout", "-2"),
            ("errors.retry.timeout", "soon"),
            ("errors.retry.delay.max.ms", "0"),
            ("errors.log.enable", "yes"),
        ] {
            let err = policy(&[(key, value)]).unwrap_err();
            assert!(err.to_string().contains(key), "{err}");
        }
    }

    #[test]
    fn retriable_failures_are_retried_until_they_pass() {
        let mut op = operator(policy(&[("errors.retry.timeout", "5000"), ("errors.retry.delay.max.ms", "1")]).unwrap());
        let mut calls = 0;
        let out = op
            .execute(Stage::Transformation, "T", &|| false, || {
                calls += 1;
                if calls < 3 {
                    Err(ConnectError::retriable("not yet"))
                } else {
                    Ok(calls)
                }
            })
            .unwrap()
            .unwrap();
        assert_eq!(out, 3);
        assert_eq!(op.counts(), ErrorCounts { failures: 2, errors: 0, skipped: 0, retries: 2 });
        let m = op.metrics();
        assert_eq!(
            (m.record_failures.load(Relaxed), m.retries.load(Relaxed), m.record_errors.load(Relaxed)),
            (2, 2, 0)
        );
        assert!(m.last_error_timestamp.load(Relaxed) > 0);
    }

    #[test]
    fn without_retries_or_tolerance_the_task_fails_with_kafkas_message() {
        let mut op = operator(ErrorPolicy::default());
        let err = op
            .execute(Stage::ValueConverter, "JsonConverter", &|| false, || {
                Err::<(), _>(ConnectError::retriable("down"))
            })
            .unwrap_err();
        assert_eq!(err.message(), "Tolerance exceeded in error handler");
        let trace = err.status_trace();
        assert!(trace.contains("RetriableException: down") && trace.contains("VALUE_CONVERTER"), "{trace}");
    }

    #[test]
    fn tolerated_failures_are_handed_back_and_counted() {
        let mut op = operator(policy(&[("errors.tolerance", "all")]).unwrap());
        let failure = op
            .execute(Stage::KeyConverter, "K", &|| false, || Err::<(), _>(ConnectError::data("bad")))
            .unwrap()
            .unwrap_err();
        assert_eq!((failure.stage, failure.class.as_str(), failure.error.message()), (Stage::KeyConverter, "K", "bad"));
        assert_eq!(op.counts().skipped, 1);
        assert_eq!(op.metrics().records_skipped.load(Relaxed), 1);
        assert_eq!(op.metrics().record_errors.load(Relaxed), 1);
    }

    #[test]
    fn a_retry_timeout_ends_the_retries() {
        let mut op = operator(
            policy(&[
                ("errors.retry.timeout", "100"),
                ("errors.retry.delay.max.ms", "30"),
                ("errors.tolerance", "all"),
            ])
            .unwrap(),
        );
        let mut calls = 0;
        let out = op.execute(Stage::Transformation, "T", &|| false, || {
            calls += 1;
            Err::<(), _>(ConnectError::retriable("down"))
        });
        assert!(out.unwrap().is_err());
        assert!((2..=5).contains(&calls), "{calls} attempts");
    }
}
