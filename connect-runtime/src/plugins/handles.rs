//! Runtime-side handles on plugin objects: connector and task instances behind the ABI, with plain `Result`s.
//!
//! Handles are owned by exactly one thread at a time (a task's thread, or the herder for connectors); they are
//! `Send` but never shared.

use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RArc, ROption, RString, RVec};
use connect_api::abi::{
    AckedRecord, ConfigEntry, ConnectorContextApi, ConnectorContextApi_TO, FfiConnectorBox, FfiPredicateBox,
    FfiSinkTaskBox, FfiSourceTaskBox, FfiTransformationBox, RConfig, SinkTaskContextApi, SinkTaskContextApi_TO,
    SourceTaskContextApi, SourceTaskContextApi_TO, TaskCancellerBox,
};
use connect_api::config::ConfigValueInfo;
use connect_api::{
    Config, ConnectError, SinkRecord, SourceRecord, TopicPartition, TopicPartitionOffset, TransformRecord,
};

/// A configuration in ABI form.
pub fn config_to_abi(config: &Config) -> RConfig {
    config
        .iter()
        .map(|(k, v)| ConfigEntry { key: RString::from(k.as_str()), value: RString::from(v.as_str()) })
        .collect()
}

/// A connector instance.
pub struct ConnectorHandle(pub(crate) FfiConnectorBox);

impl ConnectorHandle {
    /// Starts the connector with the runtime's context.
    pub fn start(&mut self, context: impl ConnectorContextApi + 'static, config: &Config) -> Result<(), ConnectError> {
        let ctx = ConnectorContextApi_TO::from_ptr(RArc::new(context), TD_Opaque);
        self.0.start(ctx, config_to_abi(config)).into_result()
    }

    /// Generates at most `max_tasks` task configurations.
    pub fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<Config>, ConnectError> {
        let max = u32::try_from(max_tasks).unwrap_or(u32::MAX);
        let configs = self.0.task_configs(max).into_result()?;
        Ok(configs.into_iter().map(|c| c.into_iter().map(|e| (e.key.into(), e.value.into())).collect()).collect())
    }

    /// Stops the connector.
    pub fn stop(&mut self) -> Result<(), ConnectError> {
        self.0.stop().into_result()
    }

    /// Validates a configuration with the connector's own rules.
    pub fn validate(&self, config: &Config) -> Result<Vec<ConfigValueInfo>, ConnectError> {
        let json = self.0.validate(config_to_abi(config)).into_result()?;
        serde_json::from_str(json.as_str())
            .map_err(|e| ConnectError::new(format!("the connector returned an unreadable validation result: {e}")))
    }
}

/// A source task instance.
pub struct SourceTaskHandle(pub(crate) FfiSourceTaskBox);

impl SourceTaskHandle {
    /// The task's handle to interrupt a blocked `start` or `poll`, if it offers one.
    pub fn canceller(&self) -> Option<TaskCancellerBox> {
        self.0.canceller().into_option()
    }

    /// Starts the task.
    pub fn start(&mut self, context: impl SourceTaskContextApi + 'static, config: &Config) -> Result<(), ConnectError> {
        let ctx = SourceTaskContextApi_TO::from_ptr(RArc::new(context), TD_Opaque);
        self.0.start(ctx, config_to_abi(config)).into_result()
    }

    /// Polls the next batch.
    pub fn poll(&mut self) -> Result<RVec<SourceRecord>, ConnectError> {
        self.0.poll().into_result()
    }

    /// Reports a successful offset commit.
    pub fn commit(&mut self) -> Result<(), ConnectError> {
        self.0.commit().into_result()
    }

    /// Hands acknowledged records back, in poll order.
    pub fn commit_records(&mut self, records: RVec<AckedRecord>) -> Result<(), ConnectError> {
        self.0.commit_records(records).into_result()
    }

    /// Reports a record Kafka refused; an error means the task fails.
    pub fn record_failed(&mut self, record: SourceRecord, error: ConnectError) -> Result<(), ConnectError> {
        self.0.record_failed(record, error).into_result()
    }

    /// Stops the task.
    pub fn stop(&mut self) -> Result<(), ConnectError> {
        self.0.stop().into_result()
    }
}

/// A sink task instance.
pub struct SinkTaskHandle(pub(crate) FfiSinkTaskBox);

impl SinkTaskHandle {
    /// The task's handle to interrupt a blocked `start` or `put`, if it offers one.
    pub fn canceller(&self) -> Option<TaskCancellerBox> {
        self.0.canceller().into_option()
    }

    /// Starts the task.
    pub fn start(&mut self, context: impl SinkTaskContextApi + 'static, config: &Config) -> Result<(), ConnectError> {
        let ctx = SinkTaskContextApi_TO::from_ptr(RArc::new(context), TD_Opaque);
        self.0.start(ctx, config_to_abi(config)).into_result()
    }

    /// Partitions were assigned.
    pub fn open(&mut self, partitions: Vec<TopicPartition>) -> Result<(), ConnectError> {
        self.0.open(partitions.into()).into_result()
    }

    /// Partitions are being revoked.
    pub fn close(&mut self, partitions: Vec<TopicPartition>) -> Result<(), ConnectError> {
        self.0.close(partitions.into()).into_result()
    }

    /// An empty batch with room for `capacity` records, allocated by the plugin, so that `put` takes it without a
    /// copy.
    pub fn record_buffer(&self, capacity: usize) -> RVec<SinkRecord> {
        self.0.record_buffer(capacity)
    }

    /// Delivers a batch.
    pub fn put(&mut self, records: RVec<SinkRecord>) -> Result<(), ConnectError> {
        self.0.put(records).into_result()
    }

    /// Flushes and returns the offsets to commit.
    pub fn pre_commit(
        &mut self,
        offsets: Vec<TopicPartitionOffset>,
    ) -> Result<Vec<TopicPartitionOffset>, ConnectError> {
        self.0.pre_commit(offsets.into()).into_result().map(RVec::into_vec)
    }

    /// Stops the task.
    pub fn stop(&mut self) -> Result<(), ConnectError> {
        self.0.stop().into_result()
    }
}

/// A transformation instance.
pub struct TransformationHandle(pub(crate) FfiTransformationBox);

impl TransformationHandle {
    /// Configures it with its settings (`transforms.<alias>.` removed).
    pub fn configure(&mut self, config: &Config) -> Result<(), ConnectError> {
        self.0.configure(config_to_abi(config)).into_result()
    }

    /// Transforms one record; `None` drops it.
    pub fn apply(&mut self, record: TransformRecord) -> Result<Option<TransformRecord>, ConnectError> {
        self.0.apply(record).into_result().map(ROption::into_option)
    }

    /// Releases its resources.
    pub fn close(&mut self) {
        self.0.close()
    }
}

/// A predicate instance.
pub struct PredicateHandle(pub(crate) FfiPredicateBox);

impl PredicateHandle {
    /// Configures it with its settings (`predicates.<alias>.` removed).
    pub fn configure(&mut self, config: &Config) -> Result<(), ConnectError> {
        self.0.configure(config_to_abi(config)).into_result()
    }

    /// Whether `record` matches.
    pub fn test(&mut self, record: &TransformRecord) -> Result<bool, ConnectError> {
        self.0.test(record).into_result()
    }

    /// Releases its resources.
    pub fn close(&mut self) {
        self.0.close()
    }
}
