//! The traits a connector implements, with Kafka Connect's lifecycle, and the contexts the runtime hands them.
//!
//! The runtime calls every method of one task from that task's own thread, never concurrently; a method may
//! block, but `poll` and `put` should return within about a second so that the task can be stopped and its
//! offsets committed on time.

use abi_stable::std_types::{RString, RVec};

use crate::abi::{ConnectorContextBox, SinkTaskContextBox, SourceTaskContextBox};
use crate::config::{Config, ConfigDef, ConfigValueInfo};
use crate::error::{ConnectError, Result};
use crate::record::{RecordMetadata, SinkRecord, SourceMap, SourceRecord, TopicPartition, TopicPartitionOffset};

/// What every connector does, source or sink: validate and accept a configuration, split the work into task
/// configurations, stop.
pub trait Connector: Send + 'static {
    /// The connector's version, shown by `connect plugins list` and the REST API.
    fn version(&self) -> String;

    /// The configuration keys the connector accepts.
    fn config_def(&self) -> ConfigDef;

    /// Starts the connector with its configuration. Called once before `task_configs`.
    fn start(&mut self, context: ConnectorContext, config: &Config) -> Result<()>;

    /// Splits the work into at most `max_tasks` task configurations.
    fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<Config>>;

    /// Stops the connector and releases what it holds.
    fn stop(&mut self) -> Result<()>;

    /// Validates a configuration key by key; by default against [`Connector::config_def`]. Override to add checks
    /// across keys, appending errors to the entries of the keys concerned.
    fn validate(&self, config: &Config) -> Vec<ConfigValueInfo> {
        self.config_def().validate(config)
    }
}

/// A connector that reads from an external system into Kafka.
///
/// ```
/// use connect_api::*;
///
/// #[derive(Default)]
/// struct Counter { topic: String }
///
/// impl Connector for Counter {
///     fn version(&self) -> String { "1.0".into() }
///     fn config_def(&self) -> ConfigDef {
///         ConfigDef::new().define(ConfigKey::new("topic", ConfigType::String))
///     }
///     fn start(&mut self, _ctx: ConnectorContext, config: &Config) -> Result<()> {
///         self.topic = self.config_def().parse(config)?.string("topic")?.to_string();
///         Ok(())
///     }
///     fn task_configs(&mut self, _max_tasks: usize) -> Result<Vec<Config>> {
///         Ok(vec![Config::from([("topic".to_string(), self.topic.clone())])])
///     }
///     fn stop(&mut self) -> Result<()> { Ok(()) }
/// }
///
/// impl SourceConnector for Counter {
///     type Task = CounterTask;
/// }
///
/// #[derive(Default)]
/// struct CounterTask { topic: String, next: i64 }
///
/// impl SourceTask for CounterTask {
///     fn start(&mut self, ctx: SourceTaskContext, config: &Config) -> Result<()> {
///         self.topic = config["topic"].clone();
///         let partition = SourceMap::new().with("counter", "main");
///         self.next = ctx.offset(&partition).and_then(|o| o.get("next")?.as_i64()).unwrap_or(0);
///         Ok(())
///     }
///     fn poll(&mut self) -> Result<Vec<SourceRecord>> {
///         let n = self.next;
///         self.next += 1;
///         Ok(vec![SourceRecord::new(
///             SourceMap::new().with("counter", "main"),
///             SourceMap::new().with("next", n + 1),
///             self.topic.clone(),
///             Some(Schema::int64()),
///             Value::Int64(n),
///         )])
///     }
///     fn stop(&mut self) -> Result<()> { Ok(()) }
/// }
/// ```
pub trait SourceConnector: Connector {
    /// The task type the connector's task configurations run in.
    type Task: SourceTask + Default;
}

/// A connector that writes records from Kafka to an external system.
pub trait SinkConnector: Connector {
    /// The task type the connector's task configurations run in.
    type Task: SinkTask + Default;
}

/// A source task: polls records from the external system.
pub trait SourceTask: Send + 'static {
    /// Starts the task with its configuration (one of the connector's task configurations).
    fn start(&mut self, context: SourceTaskContext, config: &Config) -> Result<()>;

    /// Returns the next batch of records, possibly empty. Should not block longer than about a second.
    fn poll(&mut self) -> Result<Vec<SourceRecord>>;

    /// Called after the offsets of acknowledged records were committed to the offset store.
    fn commit(&mut self) -> Result<()> {
        Ok(())
    }

    /// Called once per record after Kafka acknowledged it (`metadata` says where it landed), or with `None` when
    /// the record was dropped by a transformation. Records are reported in the order they were polled.
    fn commit_record(&mut self, record: &SourceRecord, metadata: Option<&RecordMetadata>) -> Result<()> {
        let _ = (record, metadata);
        Ok(())
    }

    /// Called, in poll order among the acknowledgements, when Kafka refused a record for good (an unknown topic or
    /// partition, a record too large, retries exhausted). By default the task fails with `error`, as in Kafka
    /// Connect. Return `Ok` to skip the record and go on: nothing was written, and its source offset becomes
    /// committable like an acknowledged record's (Kafka Connect does the same with `errors.tolerance=all`).
    fn record_failed(&mut self, record: &SourceRecord, error: ConnectError) -> Result<()> {
        let _ = record;
        Err(error)
    }

    /// Stops the task.
    fn stop(&mut self) -> Result<()>;

    /// A handle the runtime uses, from another thread, to interrupt a `start` or `poll` that blocks when the task
    /// must stop (Kafka Connect calls `stop()` concurrently for this). Called once, before `start`. By default
    /// none: the runtime then waits for `poll` to return, up to `task.shutdown.graceful.timeout.ms`. Async tasks
    /// (see [`crate::async_connector`]) get one that cancels the pending future.
    fn canceller(&self) -> Option<TaskCanceller> {
        None
    }
}

/// Interrupts what a task is blocked in: see [`SourceTask::canceller`] and [`SinkTask::canceller`].
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use connect_api::connector::TaskCanceller;
///
/// let stop = Arc::new(AtomicBool::new(false));
/// let flag = stop.clone();
/// let canceller = TaskCanceller::new(move || flag.store(true, Ordering::Release));
/// canceller.cancel();
/// assert!(stop.load(Ordering::Acquire));
/// ```
#[derive(Clone)]
pub struct TaskCanceller(std::sync::Arc<dyn Fn() + Send + Sync>);

impl TaskCanceller {
    /// A canceller running `cancel`, which must return quickly and may be called more than once.
    pub fn new(cancel: impl Fn() + Send + Sync + 'static) -> Self {
        TaskCanceller(std::sync::Arc::new(cancel))
    }

    /// Interrupts the task.
    pub fn cancel(&self) {
        (self.0)()
    }
}

impl std::fmt::Debug for TaskCanceller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TaskCanceller")
    }
}

/// A sink task: receives batches of records and writes them out.
pub trait SinkTask: Send + 'static {
    /// Starts the task with its configuration.
    fn start(&mut self, context: SinkTaskContext, config: &Config) -> Result<()>;

    /// Partitions were assigned to this task.
    fn open(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        let _ = partitions;
        Ok(())
    }

    /// Partitions are being taken away from this task; their offsets were committed just before.
    fn close(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        let _ = partitions;
        Ok(())
    }

    /// Writes a batch of records. Return a retriable error to get the same batch again after a pause.
    fn put(&mut self, records: Vec<SinkRecord>) -> Result<()>;

    /// Makes everything `put` so far durable, up to `offsets` (the next offsets to consume).
    fn flush(&mut self, offsets: &[TopicPartitionOffset]) -> Result<()> {
        let _ = offsets;
        Ok(())
    }

    /// Decides which offsets to commit; by default flushes and commits all of `offsets`. Return fewer offsets
    /// (or none) to commit less.
    fn pre_commit(&mut self, offsets: Vec<TopicPartitionOffset>) -> Result<Vec<TopicPartitionOffset>> {
        self.flush(&offsets)?;
        Ok(offsets)
    }

    /// Stops the task.
    fn stop(&mut self) -> Result<()>;

    /// A handle the runtime uses, from another thread, to interrupt a `start` or `put` that blocks when the task
    /// must stop; see [`SourceTask::canceller`]. A `put` interrupted so should return a retriable error: its
    /// records are then not committed and are delivered again after a restart.
    fn canceller(&self) -> Option<TaskCanceller> {
        None
    }
}

/// Lets a connector talk back to the runtime.
pub struct ConnectorContext {
    inner: ConnectorContextBox,
}

impl Clone for ConnectorContext {
    fn clone(&self) -> Self {
        ConnectorContext { inner: crate::abi::ConnectorContextApi_TO::from_sabi(self.inner.obj.shallow_clone()) }
    }
}

impl ConnectorContext {
    /// Wraps a runtime-side implementation.
    pub fn new(inner: ConnectorContextBox) -> Self {
        ConnectorContext { inner }
    }

    /// Asks the runtime to call `task_configs` again (for example because the set of tables changed).
    pub fn request_task_reconfiguration(&self) {
        self.inner.request_task_reconfiguration();
    }

    /// Reports an unrecoverable error: the connector is marked FAILED.
    pub fn raise_error(&self, error: ConnectError) {
        self.inner.raise_error(error);
    }
}

/// Lets a source task read the offsets stored for its source partitions.
pub struct SourceTaskContext {
    inner: SourceTaskContextBox,
}

impl Clone for SourceTaskContext {
    fn clone(&self) -> Self {
        SourceTaskContext { inner: crate::abi::SourceTaskContextApi_TO::from_sabi(self.inner.obj.shallow_clone()) }
    }
}

impl SourceTaskContext {
    /// Wraps a runtime-side implementation.
    pub fn new(inner: SourceTaskContextBox) -> Self {
        SourceTaskContext { inner }
    }

    /// The last committed offset of `partition`, if any.
    pub fn offset(&self, partition: &SourceMap) -> Option<SourceMap> {
        self.inner.offset(partition).into()
    }

    /// The task configuration it was started with.
    pub fn config(&self) -> Config {
        config_from_abi(self.inner.config())
    }
}

/// Lets a sink task see and steer its consumer.
pub struct SinkTaskContext {
    inner: SinkTaskContextBox,
}

impl Clone for SinkTaskContext {
    fn clone(&self) -> Self {
        SinkTaskContext { inner: crate::abi::SinkTaskContextApi_TO::from_sabi(self.inner.obj.shallow_clone()) }
    }
}

impl SinkTaskContext {
    /// Wraps a runtime-side implementation.
    pub fn new(inner: SinkTaskContextBox) -> Self {
        SinkTaskContext { inner }
    }

    /// The partitions currently assigned to the task.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.inner.assignment().into_vec()
    }

    /// Stops fetching from `partitions` until resumed.
    pub fn pause(&self, partitions: &[TopicPartition]) {
        self.inner.pause(RVec::from_slice(partitions));
    }

    /// Resumes fetching from `partitions`.
    pub fn resume(&self, partitions: &[TopicPartition]) {
        self.inner.resume(RVec::from_slice(partitions));
    }

    /// Rewinds (or forwards) the consumer: the next records delivered for each partition start at its offset.
    pub fn offset(&self, offsets: &[TopicPartitionOffset]) {
        self.inner.reset_offsets(RVec::from_slice(offsets));
    }

    /// Sets the backoff before a batch that failed with a retriable error is delivered again.
    pub fn timeout(&self, timeout_ms: i64) {
        self.inner.timeout(timeout_ms);
    }

    /// Reports a record this task could not process, from `put` (Kafka Connect's `ErrantRecordReporter`, KIP-610).
    /// After `put` returns, the runtime handles it as the connector's `errors.*` settings say: with
    /// `errors.tolerance=all` it is logged and written to the dead letter queue, and `put` should carry on with
    /// the other records; with `none` the task fails. An error here means the report itself failed.
    pub fn report_errant(&self, record: SinkRecord, error: ConnectError) -> Result<()> {
        self.inner.report_errant(record, error).into_result()
    }

    /// Asks for an offset commit (`pre_commit`) as soon as possible.
    pub fn request_commit(&self) {
        self.inner.request_commit();
    }

    /// The task configuration it was started with.
    pub fn config(&self) -> Config {
        config_from_abi(self.inner.config())
    }
}

/// Helper: converts a [`Config`] to and from its ABI form.
pub(crate) fn config_to_abi(config: &Config) -> RVec<crate::abi::ConfigEntry> {
    config
        .iter()
        .map(|(k, v)| crate::abi::ConfigEntry { key: RString::from(k.as_str()), value: RString::from(v.as_str()) })
        .collect()
}

pub(crate) fn config_from_abi(config: RVec<crate::abi::ConfigEntry>) -> Config {
    config.into_iter().map(|e| (e.key.into(), e.value.into())).collect()
}
