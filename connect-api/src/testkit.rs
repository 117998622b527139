//! The test kit (feature `testkit`): runs a connector and its tasks in-process, without Kafka or a worker, for
//! the unit tests of a plugin crate.
//!
//! The harnesses call the connector exactly as the worker does: through the plugin ABI (the same adapters
//! [`crate::export_plugins!`] generates, so a panic becomes an error and async connectors run on the plugin's
//! runtime), with in-memory contexts in place of the worker's. A source task's offsets are stored only when its
//! records were acknowledged and committed, as in the worker, so a restart shows what a real restart resumes from.
//!
//! ```
//! use connect_api::testkit::SourceHarness;
//! use connect_api::*;
//! # #[derive(Default)] struct Counter { topic: String }
//! # impl Connector for Counter {
//! #     fn version(&self) -> String { "1".into() }
//! #     fn config_def(&self) -> ConfigDef { ConfigDef::new().define(ConfigKey::new("topic", ConfigType::String)) }
//! #     fn start(&mut self, _: ConnectorContext, c: &Config) -> Result<()> { self.topic = c["topic"].clone(); Ok(()) }
//! #     fn task_configs(&mut self, _: usize) -> Result<Vec<Config>> { Ok(vec![Config::from([("topic".to_string(), self.topic.clone())])]) }
//! #     fn stop(&mut self) -> Result<()> { Ok(()) }
//! # }
//! # impl SourceConnector for Counter { type Task = CounterTask; }
//! # #[derive(Default)] struct CounterTask { topic: String, next: i64 }
//! # impl SourceTask for CounterTask {
//! #     fn start(&mut self, ctx: SourceTaskContext, c: &Config) -> Result<()> {
//! #         self.topic = c["topic"].clone();
//! #         self.next = ctx.offset(&SourceMap::new().with("counter", "main")).and_then(|o| o.get("next")?.as_i64()).unwrap_or(0);
//! #         Ok(())
//! #     }
//! #     fn poll(&mut self) -> Result<Vec<SourceRecord>> {
//! #         self.next += 1;
//! #         Ok(vec![SourceRecord::new(SourceMap::new().with("counter", "main"), SourceMap::new().with("next", self.next), self.topic.clone(), None, Value::Int64(self.next))])
//! #     }
//! #     fn stop(&mut self) -> Result<()> { Ok(()) }
//! # }
//! // `Counter` is the connector of `SourceConnector`'s example.
//! let mut connector = SourceHarness::new::<Counter>();
//! connector.start(&Config::from([("topic".to_string(), "numbers".to_string())])).unwrap();
//! let configs = connector.task_configs(1).unwrap();
//! let mut task = connector.start_task(&configs[0]).unwrap();
//! assert_eq!(task.poll().unwrap().len(), 1);
//! task.acknowledge().unwrap();
//! task.commit().unwrap();
//! task.poll().unwrap(); // polled, never acknowledged: lost by the restart, polled again after it
//! let mut task = task.restart().unwrap();
//! assert_eq!(task.poll().unwrap()[0].value, Value::Int64(2));
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RArc, ROption, RResult, RVec};

use crate::abi::{
    self, AckedRecord, ConnectorContextApi, ConnectorContextApi_TO, FfiConnectorBox, FfiSinkTaskBox, FfiSourceTaskBox,
    PluginFactory, RConfig, SinkTaskContextApi, SinkTaskContextApi_TO, SourceTaskContextApi, SourceTaskContextApi_TO,
    TaskCancellerBox,
};
use crate::config::{Config, ConfigValueInfo};
use crate::connector::{config_from_abi, config_to_abi, SinkConnector, SourceConnector};
use crate::error::{ConnectError, Result};
use crate::record::{RecordMetadata, SinkRecord, SourceMap, SourceRecord, TopicPartition, TopicPartitionOffset};

type ConnectorFactory = extern "C" fn() -> RResult<FfiConnectorBox, ConnectError>;

fn shared_canceller(canceller: &TaskCancellerBox) -> TaskCancellerBox {
    abi::TaskCancellerApi_TO::from_sabi(canceller.obj.shallow_clone())
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What a connector asked of the runtime.
#[derive(Default)]
struct ConnectorEvents {
    reconfigurations: Mutex<usize>,
    errors: Mutex<Vec<ConnectError>>,
}

#[derive(Clone)]
struct TestConnectorContext(Arc<ConnectorEvents>);

impl ConnectorContextApi for TestConnectorContext {
    fn request_task_reconfiguration(&self) {
        *lock(&self.0.reconfigurations) += 1;
    }

    fn raise_error(&self, error: ConnectError) {
        lock(&self.0.errors).push(error);
    }
}

/// The connector half, shared by the source and sink harnesses.
struct ConnectorUnderTest {
    create: ConnectorFactory,
    connector: FfiConnectorBox,
    events: Arc<ConnectorEvents>,
}

impl ConnectorUnderTest {
    fn new(create: ConnectorFactory) -> Self {
        let connector = create().into_result().unwrap_or_else(|e| panic!("the connector cannot be created: {e}"));
        ConnectorUnderTest { create, connector, events: Arc::default() }
    }

    fn validate(&self, config: &Config) -> Result<Vec<ConfigValueInfo>> {
        let json = self.connector.validate(config_to_abi(config)).into_result()?;
        serde_json::from_str(json.as_str())
            .map_err(|e| ConnectError::new(format!("the connector returned an unreadable validation result: {e}")))
    }

    fn errors(&self, config: &Config) -> Result<BTreeMap<String, Vec<String>>> {
        Ok(self
            .validate(config)?
            .into_iter()
            .filter(|info| !info.errors.is_empty())
            .map(|info| (info.name, info.errors))
            .collect())
    }

    fn start(&mut self, config: &Config) -> Result<()> {
        self.connector = (self.create)().into_result()?;
        let context = ConnectorContextApi_TO::from_ptr(RArc::new(TestConnectorContext(self.events.clone())), TD_Opaque);
        self.connector.start(context, config_to_abi(config)).into_result()
    }

    fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<Config>> {
        let max = u32::try_from(max_tasks).unwrap_or(u32::MAX);
        Ok(self.connector.task_configs(max).into_result()?.into_iter().map(config_from_abi).collect())
    }
}

macro_rules! connector_methods {
    () => {
        /// Validates `config` as `PUT /connector-plugins/{type}/config/validate` does with the connector's own
        /// rules: one entry per key.
        pub fn validate(&self, config: &Config) -> Result<Vec<ConfigValueInfo>> {
            self.connector.validate(config)
        }

        /// The keys `config` has errors for, with their messages (empty when valid).
        pub fn errors(&self, config: &Config) -> Result<BTreeMap<String, Vec<String>>> {
            self.connector.errors(config)
        }

        /// Starts a new instance of the connector with `config`.
        pub fn start(&mut self, config: &Config) -> Result<()> {
            self.connector.start(config)
        }

        /// The connector's task configurations for at most `max_tasks` tasks.
        pub fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<Config>> {
            self.connector.task_configs(max_tasks)
        }

        /// How many times the connector asked for its task configurations to be generated again.
        pub fn reconfiguration_requests(&self) -> usize {
            *lock(&self.connector.events.reconfigurations)
        }

        /// The errors the connector raised through its context.
        pub fn raised_errors(&self) -> Vec<ConnectError> {
            lock(&self.connector.events.errors).clone()
        }

        /// Stops the connector.
        pub fn stop(&mut self) -> Result<()> {
            self.connector.connector.stop().into_result()
        }
    };
}

/// Runs a source connector and its tasks without Kafka; offsets live in memory and survive task restarts.
pub struct SourceHarness {
    connector: ConnectorUnderTest,
    create_task: extern "C" fn() -> RResult<FfiSourceTaskBox, ConnectError>,
    offsets: Arc<MemoryOffsets>,
}

impl SourceHarness {
    /// A harness for source connector `C`.
    ///
    /// # Panics
    /// When `C` cannot even be described or created (its `Default` or `config_def` panics).
    pub fn new<C: SourceConnector + Default>() -> Self {
        let descriptor =
            abi::source_descriptor::<C>("testkit").unwrap_or_else(|e| panic!("the connector cannot be described: {e}"));
        let PluginFactory::Source { connector, task } = descriptor.factory else {
            unreachable!("a source descriptor has source factories")
        };
        SourceHarness { connector: ConnectorUnderTest::new(connector), create_task: task, offsets: Arc::default() }
    }

    /// A harness for async source connector `C` (feature `async`).
    #[cfg(feature = "async")]
    pub fn new_async<C: crate::async_connector::AsyncSourceConnector + Default>() -> Self {
        Self::new::<crate::async_connector::AsyncSource<C>>()
    }

    connector_methods!();

    /// Starts a task with one of the connector's task configurations; it reads the offsets committed so far.
    pub fn start_task(&self, config: &Config) -> Result<SourceTaskHarness> {
        SourceTaskHarness::start(self.create_task, config.clone(), self.offsets.clone())
    }

    /// The committed offset of a source partition.
    pub fn committed_offset(&self, partition: &SourceMap) -> Option<SourceMap> {
        self.offsets.get(partition)
    }

    /// Stores an offset for a source partition, as `PATCH /connectors/{name}/offsets` does; tasks started after
    /// it read it.
    pub fn set_offset(&self, partition: SourceMap, offset: SourceMap) {
        self.offsets.put(vec![(partition, offset)]);
    }
}

/// Source offsets in memory.
#[derive(Default)]
struct MemoryOffsets(Mutex<Vec<(SourceMap, SourceMap)>>);

impl MemoryOffsets {
    fn get(&self, partition: &SourceMap) -> Option<SourceMap> {
        lock(&self.0).iter().find(|(p, _)| p == partition).map(|(_, o)| o.clone())
    }

    fn put(&self, offsets: Vec<(SourceMap, SourceMap)>) {
        let mut stored = lock(&self.0);
        for (partition, offset) in offsets {
            match stored.iter_mut().find(|(p, _)| *p == partition) {
                Some(entry) => entry.1 = offset,
                None => stored.push((partition, offset)),
            }
        }
    }
}

struct TestSourceContext {
    offsets: Arc<MemoryOffsets>,
    config: RConfig,
}

impl SourceTaskContextApi for TestSourceContext {
    fn offset(&self, partition: &SourceMap) -> ROption<SourceMap> {
        self.offsets.get(partition).into()
    }

    fn config(&self) -> RConfig {
        self.config.clone()
    }
}

/// A running source task: poll, acknowledge as Kafka would, commit, restart.
pub struct SourceTaskHarness {
    create: extern "C" fn() -> RResult<FfiSourceTaskBox, ConnectError>,
    task: FfiSourceTaskBox,
    canceller: Option<TaskCancellerBox>,
    config: Config,
    offsets: Arc<MemoryOffsets>,
    /// Polled, not yet acknowledged, in poll order.
    in_flight: Vec<SourceRecord>,
    /// Offsets of acknowledged records, not yet committed.
    committable: Vec<(SourceMap, SourceMap)>,
    /// The next Kafka offset per topic partition, for the metadata of acknowledgements.
    next_offsets: BTreeMap<(String, i32), i64>,
}

impl SourceTaskHarness {
    fn start(
        create: extern "C" fn() -> RResult<FfiSourceTaskBox, ConnectError>,
        config: Config,
        offsets: Arc<MemoryOffsets>,
    ) -> Result<Self> {
        let mut task = create().into_result()?;
        let canceller = task.canceller().into_option();
        let context = TestSourceContext { offsets: offsets.clone(), config: config_to_abi(&config) };
        task.start(SourceTaskContextApi_TO::from_ptr(RArc::new(context), TD_Opaque), config_to_abi(&config))
            .into_result()?;
        Ok(SourceTaskHarness {
            create,
            task,
            canceller,
            config,
            offsets,
            in_flight: Vec::new(),
            committable: Vec::new(),
            next_offsets: BTreeMap::new(),
        })
    }

    /// Polls one batch; the records are in flight until [`SourceTaskHarness::acknowledge`].
    pub fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let batch = self.task.poll().into_result()?.into_vec();
        self.in_flight.extend(batch.iter().cloned());
        Ok(batch)
    }

    /// Polls until at least `count` records came (or `timeout` passed) and returns them all.
    pub fn poll_until(&mut self, count: usize, timeout: Duration) -> Result<Vec<SourceRecord>> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        while out.len() < count && Instant::now() < deadline {
            out.extend(self.poll()?);
        }
        Ok(out)
    }

    /// The records polled and not yet acknowledged.
    pub fn in_flight(&self) -> &[SourceRecord] {
        &self.in_flight
    }

    /// Acknowledges every record in flight as Kafka would (`commit_record` with its metadata, in poll order);
    /// their offsets become committable. Returns how many were acknowledged.
    pub fn acknowledge(&mut self) -> Result<usize> {
        let records = std::mem::take(&mut self.in_flight);
        let count = records.len();
        let mut acked = RVec::with_capacity(count);
        for record in records {
            let partition = record.kafka_partition.into_option().unwrap_or(0);
            let next = self.next_offsets.entry((record.topic.to_string(), partition)).or_insert(0);
            let metadata = RecordMetadata { topic: record.topic.clone(), partition, offset: *next };
            *next += 1;
            self.note_offset(&record);
            acked.push(AckedRecord { record, metadata: ROption::RSome(metadata) });
        }
        self.task.commit_records(acked).into_result()?;
        Ok(count)
    }

    /// Hands the oldest record in flight to `record_failed` as a record Kafka refused with `error`. When the task
    /// accepts it (returns `Ok`), its offset becomes committable as the runtime does.
    pub fn reject_next(&mut self, error: ConnectError) -> Result<()> {
        if self.in_flight.is_empty() {
            return Err(ConnectError::new("no record in flight to reject"));
        }
        let record = self.in_flight.remove(0);
        self.task.record_failed(record.clone(), error).into_result()?;
        self.note_offset(&record);
        Ok(())
    }

    fn note_offset(&mut self, record: &SourceRecord) {
        if record.source_partition.is_empty() && record.source_offset.is_empty() {
            return;
        }
        match self.committable.iter_mut().find(|(p, _)| *p == record.source_partition) {
            Some(entry) => entry.1 = record.source_offset.clone(),
            None => self.committable.push((record.source_partition.clone(), record.source_offset.clone())),
        }
    }

    /// Commits the offsets of the acknowledged records to the in-memory offset store, then calls `commit`.
    pub fn commit(&mut self) -> Result<()> {
        self.offsets.put(std::mem::take(&mut self.committable));
        self.task.commit().into_result()
    }

    /// The committed offset of a source partition.
    pub fn committed_offset(&self, partition: &SourceMap) -> Option<SourceMap> {
        self.offsets.get(partition)
    }

    /// Interrupts the task as the runtime does when it stops it (a pending `poll` of an async task returns);
    /// false when the task offers no canceller.
    pub fn cancel(&self) -> bool {
        self.canceller.as_ref().map(|c| c.cancel()).is_some()
    }

    /// A handle to interrupt the task from another thread (see [`SourceTaskHarness::cancel`]).
    pub fn canceller(&self) -> Option<impl Fn() + Send + Sync + 'static> {
        let canceller = shared_canceller(self.canceller.as_ref()?);
        Some(move || canceller.cancel())
    }

    /// Stops the task, then starts a new instance with the same configuration, as the worker does after a restart:
    /// it reads the committed offsets; records in flight and uncommitted offsets are forgotten.
    pub fn restart(mut self) -> Result<Self> {
        self.task.stop().into_result()?;
        Self::start(self.create, self.config.clone(), self.offsets.clone())
    }

    /// Stops the task.
    pub fn stop(mut self) -> Result<()> {
        self.task.stop().into_result()
    }
}

/// Runs a sink connector and its tasks without Kafka.
pub struct SinkHarness {
    connector: ConnectorUnderTest,
    create_task: extern "C" fn() -> RResult<FfiSinkTaskBox, ConnectError>,
}

impl SinkHarness {
    /// A harness for sink connector `C`.
    ///
    /// # Panics
    /// When `C` cannot even be described or created (its `Default` or `config_def` panics).
    pub fn new<C: SinkConnector + Default>() -> Self {
        let descriptor =
            abi::sink_descriptor::<C>("testkit").unwrap_or_else(|e| panic!("the connector cannot be described: {e}"));
        let PluginFactory::Sink { connector, task } = descriptor.factory else {
            unreachable!("a sink descriptor has sink factories")
        };
        SinkHarness { connector: ConnectorUnderTest::new(connector), create_task: task }
    }

    /// A harness for async sink connector `C` (feature `async`).
    #[cfg(feature = "async")]
    pub fn new_async<C: crate::async_connector::AsyncSinkConnector + Default>() -> Self {
        Self::new::<crate::async_connector::AsyncSink<C>>()
    }

    connector_methods!();

    /// Starts a task with one of the connector's task configurations.
    pub fn start_task(&self, config: &Config) -> Result<SinkTaskHarness> {
        let mut task = (self.create_task)().into_result()?;
        let canceller = task.canceller().into_option();
        let state = Arc::new(SinkState { config: config_to_abi(config), ..SinkState::default() });
        let context = SinkTaskContextApi_TO::from_ptr(RArc::new(TestSinkContext(state.clone())), TD_Opaque);
        task.start(context, config_to_abi(config)).into_result()?;
        Ok(SinkTaskHarness { task, canceller, state, consumed: BTreeMap::new(), committed: BTreeMap::new() })
    }
}

/// What a sink task asked of its consumer through its context.
#[derive(Default)]
struct SinkState {
    config: RConfig,
    assignment: Mutex<Vec<TopicPartition>>,
    paused: Mutex<Vec<TopicPartition>>,
    resets: Mutex<Vec<TopicPartitionOffset>>,
    timeout_ms: Mutex<Option<i64>>,
    commit_requested: Mutex<bool>,
    errant: Mutex<Vec<(SinkRecord, ConnectError)>>,
}

struct TestSinkContext(Arc<SinkState>);

impl SinkTaskContextApi for TestSinkContext {
    fn assignment(&self) -> RVec<TopicPartition> {
        lock(&self.0.assignment).iter().cloned().collect()
    }

    fn pause(&self, partitions: RVec<TopicPartition>) {
        let mut paused = lock(&self.0.paused);
        for tp in partitions {
            if !paused.contains(&tp) {
                paused.push(tp);
            }
        }
    }

    fn resume(&self, partitions: RVec<TopicPartition>) {
        lock(&self.0.paused).retain(|tp| !partitions.contains(tp));
    }

    fn reset_offsets(&self, offsets: RVec<TopicPartitionOffset>) {
        lock(&self.0.resets).extend(offsets);
    }

    fn timeout(&self, timeout_ms: i64) {
        *lock(&self.0.timeout_ms) = Some(timeout_ms);
    }

    fn request_commit(&self) {
        *lock(&self.0.commit_requested) = true;
    }

    fn config(&self) -> RConfig {
        self.0.config.clone()
    }

    fn report_errant(&self, record: SinkRecord, error: ConnectError) -> RResult<(), ConnectError> {
        lock(&self.0.errant).push((record, error));
        RResult::ROk(())
    }
}

/// A running sink task: assign partitions, put records, commit, and see what it asked of its consumer.
pub struct SinkTaskHarness {
    task: FfiSinkTaskBox,
    canceller: Option<TaskCancellerBox>,
    state: Arc<SinkState>,
    /// The next offset to consume per partition, after the records `put` accepted.
    consumed: BTreeMap<TopicPartition, i64>,
    committed: BTreeMap<TopicPartition, i64>,
}

impl SinkTaskHarness {
    /// Assigns `partitions` to the task (`open`).
    pub fn open(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        {
            let mut assignment = lock(&self.state.assignment);
            for tp in partitions {
                if !assignment.contains(tp) {
                    assignment.push(tp.clone());
                }
            }
        }
        self.task.open(RVec::from_slice(partitions)).into_result()
    }

    /// Takes `partitions` away as a rebalance does: their offsets are committed first, then `close`.
    pub fn close(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        self.commit_partitions(|tp| partitions.contains(tp))?;
        lock(&self.state.assignment).retain(|tp| !partitions.contains(tp));
        for tp in partitions {
            self.consumed.remove(tp);
        }
        self.task.close(RVec::from_slice(partitions)).into_result()
    }

    /// Delivers a batch. When `put` succeeds the records count as consumed: their offsets are offered at the next
    /// [`SinkTaskHarness::commit`]. Records of partitions not assigned are assigned first (`open`).
    pub fn put(&mut self, records: Vec<SinkRecord>) -> Result<()> {
        let mut unassigned: Vec<TopicPartition> = Vec::new();
        {
            let assignment = lock(&self.state.assignment);
            for record in &records {
                let tp = record.topic_partition();
                if !assignment.contains(&tp) && !unassigned.contains(&tp) {
                    unassigned.push(tp);
                }
            }
        }
        if !unassigned.is_empty() {
            self.open(&unassigned)?;
        }
        let next: Vec<(TopicPartition, i64)> =
            records.iter().map(|r| (r.topic_partition(), r.kafka_offset + 1)).collect();
        self.task.put(RVec::from(records)).into_result()?;
        for (tp, offset) in next {
            let entry = self.consumed.entry(tp).or_insert(offset);
            *entry = (*entry).max(offset);
        }
        Ok(())
    }

    /// Offers the offsets consumed so far to `pre_commit` (which flushes by default) and commits what it returns;
    /// returns those offsets.
    pub fn commit(&mut self) -> Result<Vec<TopicPartitionOffset>> {
        self.commit_partitions(|_| true)
    }

    fn commit_partitions(&mut self, wanted: impl Fn(&TopicPartition) -> bool) -> Result<Vec<TopicPartitionOffset>> {
        *lock(&self.state.commit_requested) = false;
        let offered: Vec<TopicPartitionOffset> = self
            .consumed
            .iter()
            .filter(|(tp, _)| wanted(tp))
            .map(|(tp, offset)| TopicPartitionOffset { topic_partition: tp.clone(), offset: *offset })
            .collect();
        let chosen = self.task.pre_commit(RVec::from(offered)).into_result()?.into_vec();
        for tpo in &chosen {
            self.committed.insert(tpo.topic_partition.clone(), tpo.offset);
        }
        Ok(chosen)
    }

    /// The committed offsets (the next offset to consume) per partition.
    pub fn committed(&self) -> Vec<TopicPartitionOffset> {
        self.committed
            .iter()
            .map(|(tp, offset)| TopicPartitionOffset { topic_partition: tp.clone(), offset: *offset })
            .collect()
    }

    /// The partitions the task paused and did not resume.
    pub fn paused(&self) -> Vec<TopicPartition> {
        lock(&self.state.paused).clone()
    }

    /// The offsets the task asked to rewind to (`SinkTaskContext::offset`), in order.
    pub fn requested_offsets(&self) -> Vec<TopicPartitionOffset> {
        lock(&self.state.resets).clone()
    }

    /// The retry backoff the task set, if any.
    pub fn timeout_ms(&self) -> Option<i64> {
        *lock(&self.state.timeout_ms)
    }

    /// Whether the task asked for a commit since the last one.
    pub fn commit_requested(&self) -> bool {
        *lock(&self.state.commit_requested)
    }

    /// The records the task reported as errant (`report_errant`), with their errors.
    pub fn errant(&self) -> Vec<(SinkRecord, ConnectError)> {
        lock(&self.state.errant).clone()
    }

    /// Interrupts the task as the runtime does when it stops it (a pending `put` of an async task returns a
    /// retriable error); false when the task offers no canceller.
    pub fn cancel(&self) -> bool {
        self.canceller.as_ref().map(|c| c.cancel()).is_some()
    }

    /// A handle to interrupt the task from another thread (see [`SinkTaskHarness::cancel`]).
    pub fn canceller(&self) -> Option<impl Fn() + Send + Sync + 'static> {
        let canceller = shared_canceller(self.canceller.as_ref()?);
        Some(move || canceller.cancel())
    }

    /// Commits, closes the assigned partitions and stops the task, as the worker does.
    pub fn stop(mut self) -> Result<()> {
        let assigned = lock(&self.state.assignment).clone();
        if !assigned.is_empty() {
            self.close(&assigned)?;
        }
        self.task.stop().into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigDef, ConfigKey, ConfigType};
    use crate::connector::{Connector, ConnectorContext, SinkTask, SinkTaskContext};
    use crate::data::Value;

    #[derive(Default)]
    struct Collect;

    impl Connector for Collect {
        fn version(&self) -> String {
            "1".into()
        }
        fn config_def(&self) -> ConfigDef {
            ConfigDef::new().define(ConfigKey::new("max", ConfigType::Int))
        }
        fn start(&mut self, ctx: ConnectorContext, _config: &Config) -> Result<()> {
            ctx.request_task_reconfiguration();
            Ok(())
        }
        fn task_configs(&mut self, max: usize) -> Result<Vec<Config>> {
            Ok(vec![Config::new(); max])
        }
        fn stop(&mut self) -> Result<()> {
            Ok(())
        }
    }

    impl SinkConnector for Collect {
        type Task = CollectTask;
    }

    #[derive(Default)]
    struct CollectTask {
        context: Option<SinkTaskContext>,
        seen: usize,
    }

    impl SinkTask for CollectTask {
        fn start(&mut self, context: SinkTaskContext, _config: &Config) -> Result<()> {
            self.context = Some(context);
            Ok(())
        }
        fn put(&mut self, records: Vec<SinkRecord>) -> Result<()> {
            let context = self.context.as_ref().expect("started");
            for record in records {
                if record.value == Value::from("bad") {
                    context.report_errant(record, ConnectError::data("bad value"))?;
                } else if record.value == Value::from("panic") {
                    panic!("cannot take it");
                } else {
                    self.seen += 1;
                }
            }
            context.request_commit();
            Ok(())
        }
        fn pre_commit(&mut self, offsets: Vec<TopicPartitionOffset>) -> Result<Vec<TopicPartitionOffset>> {
            // Commits only partition 0.
            Ok(offsets.into_iter().filter(|o| o.topic_partition.partition == 0).collect())
        }
        fn stop(&mut self) -> Result<()> {
            Ok(())
        }
    }

    fn record(partition: i32, offset: i64, value: &str) -> SinkRecord {
        SinkRecord::new("t", partition, offset, None, Value::from(value))
    }

    #[test]
    fn a_sink_task_runs_as_in_the_worker() {
        let mut harness = SinkHarness::new::<Collect>();
        let errors = harness.errors(&Config::from([("max".to_string(), "x".to_string())])).unwrap();
        assert!(errors["max"][0].contains("max"), "{errors:?}");
        harness.start(&Config::new()).unwrap();
        assert_eq!(harness.reconfiguration_requests(), 1);
        assert_eq!(harness.task_configs(2).unwrap().len(), 2);
        let mut task = harness.start_task(&Config::new()).unwrap();
        task.put(vec![record(0, 5, "a"), record(1, 9, "b"), record(0, 6, "bad")]).unwrap();
        assert!(task.commit_requested());
        assert_eq!(task.errant().len(), 1);
        let committed = task.commit().unwrap();
        assert_eq!(committed, vec![TopicPartitionOffset { topic_partition: TopicPartition::new("t", 0), offset: 7 }]);
        let err = task.put(vec![record(0, 7, "panic")]).unwrap_err();
        assert!(err.message().contains("put panicked: cannot take it"), "{err}");
        assert!(!task.cancel(), "a sync task has no canceller");
        task.stop().unwrap();
    }
}
