//! The sink data path of one task (Kafka Connect's `WorkerSinkTask`): consumer -> converters -> `put`.
//!
//! Offsets are committed to the consumer group `connect-<connector>` only after `pre_commit` (by default the
//! task's `flush`) returned them: every `offset.flush.interval.ms`, when the task asks, before partitions are
//! revoked, and at stop. A batch that failed with a retriable error is delivered again by seeking back to it,
//! so nothing is lost and no copy of the batch is kept.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::CStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use abi_stable::std_types::{RString, RVec};
use connect_api::abi::{RConfig, SinkTaskContextApi};
use connect_api::{ConnectError, Headers, SinkRecord, TimestampType, TopicPartition, TopicPartitionOffset};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::{BorrowedMessage, Headers as _};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::{ClientContext, Message, Timestamp};

use super::converters::{Converter, HeaderConverter};
use super::dlq::{DeadLetterQueue, DlqConfig, RawRecord};
use super::errors::{Failure, RetryWithTolerance, Stage};
use super::status::{State, StatusBoard, StatusKey, TaskId};
use super::transforms::TransformChain;
use super::{ConverterClasses, TaskControl};
use crate::metrics::{ErrorMetrics, TaskMetrics};
use crate::plugins::SinkTaskHandle;
use connect_api::TransformRecord;

/// How long one consumer poll waits for the first record of a batch.
const POLL_TIMEOUT: Duration = Duration::from_millis(200);
/// The pause before a batch that failed with a retriable error is delivered again, unless the task set one.
const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_millis(100);
/// The time allowed for reading the group's committed offsets when partitions are assigned.
const COMMITTED_TIMEOUT: Duration = Duration::from_secs(5);
/// The time allowed for a synchronous seek.
const SEEK_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Requests {
    pause: Vec<TopicPartition>,
    resume: Vec<TopicPartition>,
    seeks: Vec<TopicPartitionOffset>,
    commit: bool,
    timeout_ms: i64,
}

#[derive(Default)]
struct SinkState {
    assignment: BTreeSet<TopicPartition>,
    /// Next offset to consume per partition, after what `put` accepted.
    current: BTreeMap<TopicPartition, i64>,
    /// Last offsets committed per partition.
    committed: BTreeMap<TopicPartition, i64>,
    requests: Requests,
    /// A failure inside a rebalance callback, reported by the loop.
    failure: Option<ConnectError>,
    /// Records the task reported as errant during `put`, handled by the loop once `put` returned.
    errant: Vec<(SinkRecord, ConnectError)>,
}

/// State shared by the task loop, the consumer's rebalance callbacks and the task's context.
pub(crate) struct SinkShared {
    id: TaskId,
    control: Arc<TaskControl>,
    state: Mutex<SinkState>,
    task: Mutex<SinkTaskHandle>,
    metrics: Arc<TaskMetrics>,
    /// The dead letter queue, flushed before every offset commit.
    dlq: Mutex<Option<DeadLetterQueue>>,
}

impl SinkShared {
    fn dlq(&self) -> MutexGuard<'_, Option<DeadLetterQueue>> {
        self.dlq.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn state(&self) -> MutexGuard<'_, SinkState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn task(&self) -> MutexGuard<'_, SinkTaskHandle> {
        self.task.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `pre_commit` then a synchronous commit of the offsets it returned, for `partitions` (all if `None`).
    fn commit(
        &self,
        consumer: &BaseConsumer<SinkContext>,
        partitions: Option<&[TopicPartition]>,
    ) -> Result<(), ConnectError> {
        let offsets: Vec<TopicPartitionOffset> = {
            let state = self.state();
            state
                .current
                .iter()
                .filter(|(tp, _)| state.assignment.contains(*tp) && partitions.is_none_or(|ps| ps.contains(tp)))
                .map(|(tp, offset)| TopicPartitionOffset { topic_partition: tp.clone(), offset: *offset })
                .collect()
        };
        if offsets.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        self.metrics.begin_sink_commit();
        let committed = self.commit_offsets(consumer, offsets);
        self.metrics.record_sink_commit(started.elapsed(), matches!(committed, Ok(true)));
        committed.map(|_| ())
    }

    /// The body of [`SinkShared::commit`]: whether the offsets `pre_commit` returned are committed now (`false`
    /// when the consumer's commit failed, which is retried at the next commit).
    fn commit_offsets(
        &self,
        consumer: &BaseConsumer<SinkContext>,
        offsets: Vec<TopicPartitionOffset>,
    ) -> Result<bool, ConnectError> {
        let to_commit = self.task().pre_commit(offsets)?;
        let mut tpl = TopicPartitionList::new();
        let mut changed = Vec::new();
        {
            let state = self.state();
            for tpo in &to_commit {
                let tp = &tpo.topic_partition;
                if state.committed.get(tp) == Some(&tpo.offset) {
                    continue;
                }
                tpl.add_partition_offset(tp.topic.as_str(), tp.partition, Offset::Offset(tpo.offset))
                    .map_err(|e| ConnectError::new(format!("invalid offset {} for {tp}: {e}", tpo.offset)))?;
                changed.push((tp.clone(), tpo.offset));
            }
        }
        if changed.is_empty() {
            // Nothing new since the last commit: done, as Kafka Connect counts it.
            return Ok(true);
        }
        // Dead letters of the records being committed must be in Kafka first.
        if let Some(dlq) = self.dlq().as_ref() {
            dlq.flush()?;
        }
        match consumer.commit(&tpl, CommitMode::Sync) {
            Ok(()) => {
                tracing::debug!(
                    "task {}: committed offsets {}",
                    self.id,
                    changed.iter().map(|(tp, o)| format!("{tp}={o}")).collect::<Vec<_>>().join(", ")
                );
                self.state().committed.extend(changed);
                Ok(true)
            }
            Err(err) => {
                // Not fatal: the same offsets are committed again at the next attempt.
                tracing::warn!("task {}: offset commit failed: {err}", self.id);
                Ok(false)
            }
        }
    }

    fn on_revoke(&self, consumer: &BaseConsumer<SinkContext>, revoked: Vec<TopicPartition>) {
        if self.control.abandoned() {
            // Its consumer is leaving the group for a task that stays blocked: commit nothing, call nothing.
            let mut state = self.state();
            state.assignment.clear();
            state.current.clear();
            return;
        }
        let revoked: Vec<TopicPartition> = {
            let state = self.state();
            revoked.into_iter().filter(|tp| state.assignment.contains(tp)).collect()
        };
        if revoked.is_empty() {
            return;
        }
        let result = self.commit(consumer, Some(&revoked)).and_then(|_| self.task().close(revoked.clone()));
        let mut state = self.state();
        for tp in &revoked {
            state.assignment.remove(tp);
            state.current.remove(tp);
            state.committed.remove(tp);
        }
        self.metrics.set_partition_count(state.assignment.len());
        if let Err(err) = result {
            state.failure.get_or_insert(err);
        }
    }

    fn on_assign(&self, consumer: &BaseConsumer<SinkContext>, tpl: &TopicPartitionList) {
        if self.control.abandoned() {
            return;
        }
        let assigned = partitions_of(tpl);
        let fresh: Vec<TopicPartition> = {
            let mut state = self.state();
            let fresh = assigned.into_iter().filter(|tp| state.assignment.insert(tp.clone())).collect();
            self.metrics.set_partition_count(state.assignment.len());
            fresh
        };
        if fresh.is_empty() {
            return;
        }
        // Where consumption resumes, as Kafka's consumer logs it: the group's committed offsets.
        let resume = match consumer.committed_offsets(tpl.clone(), COMMITTED_TIMEOUT) {
            Ok(committed) => committed
                .elements()
                .iter()
                .map(|e| match e.offset() {
                    Offset::Offset(o) => {
                        format!("{}-{} at committed offset {o}", e.topic(), e.partition())
                    }
                    _ => format!("{}-{} without a committed offset", e.topic(), e.partition()),
                })
                .collect::<Vec<_>>()
                .join(", "),
            Err(err) => format!("{} (committed offsets unknown: {err})", list(&fresh)),
        };
        tracing::info!("task {}: partitions assigned: {resume}", self.id);
        if self.control.paused() {
            // A paused task gets no records, from new partitions either.
            if let Err(err) = consumer.pause(tpl) {
                tracing::warn!("task {}: cannot pause new partitions: {err}", self.id);
            }
        }
        if let Err(err) = self.task().open(fresh) {
            self.state().failure.get_or_insert(err);
        }
    }
}

fn list(partitions: &[TopicPartition]) -> String {
    partitions.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

fn partitions_of(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
    tpl.elements().iter().map(|e| TopicPartition::new(e.topic(), e.partition())).collect()
}

/// Makes the consumer of an abandoned task leave its group: the task thread, blocked in `put`, never polls again,
/// so its partitions would stay with it until `max.poll.interval.ms`. Polls (serving the revocation, which the
/// context skips for an abandoned task) until the assignment is gone, for at most 30 s.
fn leave_group(consumer: &BaseConsumer<SinkContext>, id: &TaskId) {
    consumer.unsubscribe();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let _ = consumer.poll(Duration::from_millis(100));
        if consumer.assignment().map(|a| a.count() == 0).unwrap_or(true) {
            tracing::info!("task {id}: the abandoned task's consumer left its group");
            return;
        }
    }
    tracing::warn!("task {id}: the abandoned task's consumer did not leave its group within 30 s");
}

/// The consumer's context: runs the task's `close`/`open` around rebalances.
pub(crate) struct SinkContext {
    shared: Arc<SinkShared>,
}

impl ClientContext for SinkContext {}

impl ConsumerContext for SinkContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            self.shared.on_revoke(consumer, partitions_of(tpl));
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => self.shared.on_assign(consumer, tpl),
            Rebalance::Error(err) => {
                tracing::warn!("task {}: rebalance error: {err}", self.shared.id)
            }
            Rebalance::Revoke(_) => {}
        }
    }
}

/// The consumer as a sink task sees it.
pub(crate) struct HostSinkContext {
    shared: Arc<SinkShared>,
    config: RConfig,
}

impl SinkTaskContextApi for HostSinkContext {
    fn assignment(&self) -> RVec<TopicPartition> {
        self.shared.state().assignment.iter().cloned().collect()
    }

    fn pause(&self, partitions: RVec<TopicPartition>) {
        self.shared.state().requests.pause.extend(partitions);
    }

    fn resume(&self, partitions: RVec<TopicPartition>) {
        self.shared.state().requests.resume.extend(partitions);
    }

    fn reset_offsets(&self, offsets: RVec<TopicPartitionOffset>) {
        self.shared.state().requests.seeks.extend(offsets);
    }

    fn timeout(&self, timeout_ms: i64) {
        self.shared.state().requests.timeout_ms = timeout_ms;
    }

    fn request_commit(&self) {
        self.shared.state().requests.commit = true;
    }

    fn report_errant(
        &self,
        record: SinkRecord,
        error: ConnectError,
    ) -> abi_stable::std_types::RResult<(), ConnectError> {
        self.shared.state().errant.push((record, error));
        abi_stable::std_types::RResult::ROk(())
    }

    fn config(&self) -> RConfig {
        self.config.clone()
    }
}

/// What to subscribe to.
pub(crate) enum Subscription {
    /// `topics`.
    Topics(Vec<String>),
    /// `topics.regex`.
    Regex(String),
}

/// Everything one sink task needs to run.
pub(crate) struct SinkTaskRun {
    pub id: TaskId,
    pub task: SinkTaskHandle,
    pub config: RConfig,
    pub consumer_config: rdkafka::ClientConfig,
    pub subscription: Subscription,
    pub connector_class: String,
    pub key_converter: Box<dyn Converter>,
    pub value_converter: Box<dyn Converter>,
    pub header_converter: Box<dyn HeaderConverter>,
    pub converter_classes: ConverterClasses,
    pub transforms: TransformChain,
    pub errors: RetryWithTolerance,
    pub dlq: Option<DlqConfig>,
    pub max_poll_records: usize,
    pub commit_interval: Duration,
    pub control: Arc<TaskControl>,
    pub status: Arc<StatusBoard>,
    pub metrics: Arc<TaskMetrics>,
}

/// The running loop of a sink task.
pub(crate) struct WorkerSinkTask {
    id: TaskId,
    shared: Arc<SinkShared>,
    /// The only strong reference: the hook that makes it leave the group if the task is abandoned holds a weak one.
    consumer: Arc<BaseConsumer<SinkContext>>,
    converters: SinkConverters,
    transforms: TransformChain,
    errors: RetryWithTolerance,
    /// The connector class, as errant-record reports name the failing class.
    connector_class: String,
    max_poll_records: usize,
    /// The topic name of the last consumed message.
    topic: TopicName,
    /// The length of the last batch: the next one is allocated with room for as many records, so a steady stream
    /// fills its batch without growing it record by record.
    batch_capacity: usize,
    commit_interval: Duration,
    next_commit: Instant,
    control: Arc<TaskControl>,
    status: Arc<StatusBoard>,
    /// Whether the consumer's partitions are currently paused for the target state.
    paused: bool,
    reported: Option<State>,
}

/// The first and last offsets of a partition within one batch.
struct Span {
    tp: TopicPartition,
    first: i64,
    last: i64,
}

impl WorkerSinkTask {
    /// Starts the task (with its context) and subscribes the consumer.
    pub fn start(run: SinkTaskRun, task_config: &connect_api::Config) -> Result<Self, ConnectError> {
        let shared = Arc::new(SinkShared {
            id: run.id.clone(),
            control: run.control.clone(),
            state: Mutex::default(),
            task: Mutex::new(run.task),
            metrics: run.metrics,
            dlq: Mutex::new(None),
        });
        if let Some(dlq) = run.dlq {
            *shared.dlq() = Some(DeadLetterQueue::open(dlq)?);
        }
        let consumer: BaseConsumer<SinkContext> = run
            .consumer_config
            .create_with_context(SinkContext { shared: shared.clone() })
            .map_err(|e| ConnectError::new(format!("cannot create the consumer of task {}: {e}", run.id)))?;
        let context = HostSinkContext { shared: shared.clone(), config: run.config };
        shared.task().start(context, task_config)?;
        let subscribed = match &run.subscription {
            Subscription::Topics(topics) => {
                let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
                consumer.subscribe(&topics)
            }
            Subscription::Regex(regex) => {
                let anchored = if regex.starts_with('^') { regex.clone() } else { format!("^{regex}$") };
                consumer.subscribe(&[anchored.as_str()])
            }
        };
        if let Err(err) = subscribed {
            let _ = shared.task().stop();
            return Err(ConnectError::new(format!("task {}: cannot subscribe: {err}", run.id)));
        }
        let consumer = Arc::new(consumer);
        // A weak reference: the hook outlives the task in its control, and must not keep a finished task's
        // consumer (a member of the group that never polls) alive.
        let leaving = Arc::downgrade(&consumer);
        let id = run.id.clone();
        run.control.set_on_abandon(Box::new(move || {
            if let Some(consumer) = leaving.upgrade() {
                leave_group(&consumer, &id)
            }
        }));
        Ok(WorkerSinkTask {
            id: run.id,
            shared,
            consumer,
            converters: SinkConverters {
                key: run.key_converter,
                value: run.value_converter,
                header: run.header_converter,
                classes: run.converter_classes,
            },
            transforms: run.transforms,
            errors: run.errors,
            connector_class: run.connector_class,
            max_poll_records: run.max_poll_records,
            topic: TopicName::default(),
            batch_capacity: 0,
            commit_interval: run.commit_interval,
            next_commit: Instant::now() + run.commit_interval,
            control: run.control,
            status: run.status,
            paused: false,
            reported: None,
        })
    }

    /// Consumes and delivers until stopped or failed; then commits, closes the partitions and stops the task.
    pub fn execute(mut self) -> Result<(), ConnectError> {
        let outcome = self.run_loop();
        if self.control.abandoned() {
            // The worker gave up on this task: commit nothing, call nothing more; dropping the consumer leaves
            // the group.
            return outcome;
        }
        let committed = if outcome.is_ok() { self.shared.commit(&self.consumer, None) } else { Ok(()) };
        let assigned: Vec<TopicPartition> = {
            let mut state = self.shared.state();
            let assigned = state.assignment.iter().cloned().collect();
            state.assignment.clear();
            assigned
        };
        self.shared.metrics.set_partition_count(0);
        let closed = if assigned.is_empty() { Ok(()) } else { self.shared.task().close(assigned) };
        let stopped = self.shared.task().stop();
        self.transforms.close();
        self.errors.log_summary(&self.id);
        self.consumer.unsubscribe();
        outcome.and(committed).and(closed).and(stopped)
    }

    fn run_loop(&mut self) -> Result<(), ConnectError> {
        while !self.control.stopping() {
            self.apply_target_state()?;
            self.apply_requests()?;
            let (batch, spans) = self.poll_batch()?;
            if let Some(err) = self.shared.state().failure.take() {
                return Err(err);
            }
            if batch.is_empty() {
                // Every record of the batch was dropped or skipped: they count as consumed.
                let mut state = self.shared.state();
                for span in spans {
                    if state.assignment.contains(&span.tp) {
                        state.current.insert(span.tp, span.last + 1);
                    }
                }
            } else {
                let records = batch.len();
                self.shared.metrics.record_read(records);
                let started = Instant::now();
                let put = self.shared.task().put(batch);
                if self.control.abandoned() {
                    // A put that outlived the graceful stop timeout: nothing of it is committed.
                    return Ok(());
                }
                self.handle_errant()?;
                match put {
                    Ok(()) => {
                        for span in &spans {
                            self.status.topic_used(&self.id, &span.tp.topic);
                        }
                        self.shared.metrics.record_put(records, started.elapsed());
                        let mut state = self.shared.state();
                        for span in spans {
                            if state.assignment.contains(&span.tp) {
                                state.current.insert(span.tp, span.last + 1);
                            }
                        }
                    }
                    Err(err) if err.is_retriable() => {
                        if self.control.stopping() {
                            // Interrupted by the stop: the batch is not committed and comes again after a restart.
                            tracing::debug!("task {}: put interrupted by the stop: {err}", self.id);
                        } else {
                            tracing::warn!("task {}: put failed, retrying the batch: {err}", self.id);
                        }
                        self.redeliver(&spans)?;
                    }
                    Err(err) => return Err(err),
                }
            }
            let commit_requested = std::mem::take(&mut self.shared.state().requests.commit);
            if commit_requested || Instant::now() >= self.next_commit {
                self.next_commit = Instant::now() + self.commit_interval;
                self.shared.commit(&self.consumer, None)?;
            }
        }
        Ok(())
    }

    /// Handles the records the task reported as errant during `put` (Kafka's `ErrantRecordReporter`): each fails
    /// the task (`errors.tolerance=none`) or is logged and sent to the dead letter queue, its bytes converted back
    /// with the task's converters.
    fn handle_errant(&mut self) -> Result<(), ConnectError> {
        let errant = std::mem::take(&mut self.shared.state().errant);
        for (record, error) in errant {
            self.errors.metrics().failure();
            let failure = match self.errors.fail::<()>(Failure {
                stage: Stage::TaskPut,
                class: self.connector_class.clone(),
                error,
            })? {
                Ok(()) => continue,
                Err(failure) => failure,
            };
            let topic = record.topic.as_str();
            let mut key = Vec::new();
            let mut value = Vec::new();
            let has_key = self.converters.key.from_connect(topic, record.key_schema(), &record.key, &mut key)?;
            let has_value =
                self.converters.value.from_connect(topic, record.value_schema(), &record.value, &mut value)?;
            let mut header_bytes: Vec<(String, Option<Vec<u8>>)> = Vec::new();
            for header in record.headers.iter() {
                let mut out = Vec::new();
                let present = self.converters.header.from_connect_header(
                    topic,
                    &header.key,
                    header.schema(),
                    &header.value,
                    &mut out,
                )?;
                header_bytes.push((header.key.to_string(), present.then_some(out)));
            }
            let raw = RawRecord {
                topic,
                partition: record.kafka_partition,
                offset: record.kafka_offset,
                key: has_key.then_some(&key[..]),
                value: has_value.then_some(&value[..]),
                timestamp: record.timestamp.into_option(),
                headers: header_bytes.iter().map(|(k, v)| (k.as_str(), v.as_deref())).collect(),
            };
            report(&self.id, &self.errors, &self.shared, &raw, &failure)?;
        }
        Ok(())
    }

    /// Seeks back to the start of a batch `put` refused, after the task's backoff.
    fn redeliver(&mut self, spans: &[Span]) -> Result<(), ConnectError> {
        for span in spans {
            self.consumer
                .seek(span.tp.topic.as_str(), span.tp.partition, Offset::Offset(span.first), SEEK_TIMEOUT)
                .map_err(|e| {
                    ConnectError::new(format!("task {}: cannot rewind {} to {}: {e}", self.id, span.tp, span.first))
                })?;
        }
        let timeout_ms = self.shared.state().requests.timeout_ms;
        let backoff = if timeout_ms > 0 { Duration::from_millis(timeout_ms as u64) } else { DEFAULT_RETRY_BACKOFF };
        let until = Instant::now() + backoff;
        while Instant::now() < until && !self.control.stopping() {
            std::thread::sleep(Duration::from_millis(20).min(backoff));
        }
        Ok(())
    }

    /// Pauses or resumes every assigned partition when the target state changed, and reports the state.
    fn apply_target_state(&mut self) -> Result<(), ConnectError> {
        let paused = self.control.paused();
        if paused != self.paused {
            let assignment = self
                .consumer
                .assignment()
                .map_err(|e| ConnectError::new(format!("task {}: cannot read the assignment: {e}", self.id)))?;
            let result = if paused { self.consumer.pause(&assignment) } else { self.consumer.resume(&assignment) };
            result.map_err(|e| ConnectError::new(format!("task {}: cannot pause or resume: {e}", self.id)))?;
            self.paused = paused;
        }
        let state = if paused { State::Paused } else { State::Running };
        if self.reported != Some(state) {
            self.status.set(StatusKey::Task(self.id.clone()), state, None);
            self.reported = Some(state);
        }
        Ok(())
    }

    fn apply_requests(&mut self) -> Result<(), ConnectError> {
        let requests = {
            let mut state = self.shared.state();
            let r = &mut state.requests;
            (std::mem::take(&mut r.pause), std::mem::take(&mut r.resume), std::mem::take(&mut r.seeks))
        };
        let tpl_of = |tps: &[TopicPartition]| {
            let mut tpl = TopicPartitionList::new();
            for tp in tps {
                tpl.add_partition(tp.topic.as_str(), tp.partition);
            }
            tpl
        };
        if !requests.0.is_empty() {
            self.consumer.pause(&tpl_of(&requests.0)).map_err(|e| ConnectError::new(format!("pause failed: {e}")))?;
        }
        if !requests.1.is_empty() {
            self.consumer.resume(&tpl_of(&requests.1)).map_err(|e| ConnectError::new(format!("resume failed: {e}")))?;
        }
        for seek in requests.2 {
            let tp = &seek.topic_partition;
            self.consumer
                .seek(tp.topic.as_str(), tp.partition, Offset::Offset(seek.offset), SEEK_TIMEOUT)
                .map_err(|e| ConnectError::new(format!("cannot reset {tp} to offset {}: {e}", seek.offset)))?;
            self.shared.state().current.insert(tp.clone(), seek.offset);
        }
        Ok(())
    }

    /// Up to `max.poll.records` records: waits for the first, then takes what is already fetched.
    fn poll_batch(&mut self) -> Result<(RVec<SinkRecord>, Vec<Span>), ConnectError> {
        // Allocated by the plugin, which then takes it as it is.
        let mut batch = self.shared.task().record_buffer(self.batch_capacity);
        let mut spans: Vec<Span> = Vec::new();
        let mut timeout = POLL_TIMEOUT;
        let mut processing = Processing {
            id: &self.id,
            shared: &self.shared,
            control: &self.control,
            converters: &mut self.converters,
            transforms: &mut self.transforms,
            errors: &mut self.errors,
        };
        while batch.len() < self.max_poll_records {
            let Some(polled) = self.consumer.poll(timeout) else {
                break;
            };
            timeout = Duration::ZERO;
            let message = match polled {
                Ok(message) => message,
                Err(err) => {
                    tracing::warn!("task {}: consumer error: {err}", self.id);
                    break;
                }
            };
            let (topic, partition, offset) = (self.topic.of(&message), message.partition(), message.offset());
            match spans.iter_mut().find(|s| s.tp.partition == partition && s.tp.topic == *topic) {
                Some(span) => span.last = offset,
                None => spans.push(Span {
                    tp: TopicPartition { topic: topic.clone(), partition },
                    first: offset,
                    last: offset,
                }),
            }
            if let Some(record) = processing.process(&message, topic)? {
                batch.push(record);
            }
        }
        self.batch_capacity = batch.len();
        Ok((batch, spans))
    }
}

/// The topic name of the last consumed message: librdkafka gives each message's topic as a C string, which
/// `Message::topic` measures and checks as UTF-8 every time; a run of messages from one topic reads it once.
#[derive(Default)]
struct TopicName {
    name: RString,
}

impl TopicName {
    /// The name of `message`'s topic.
    fn of(&mut self, message: &BorrowedMessage<'_>) -> &RString {
        // SAFETY: the message holds a reference on its topic handle, which owns the NUL-terminated name.
        let name = unsafe { CStr::from_ptr(rdkafka::bindings::rd_kafka_topic_name(message.topic_ptr())) };
        if name.to_bytes() != self.name.as_bytes() {
            self.name = RString::from(message.topic());
        }
        &self.name
    }
}

/// What converting and transforming a consumed message needs, borrowed apart from the consumer that holds the
/// message.
struct Processing<'a> {
    id: &'a TaskId,
    shared: &'a SinkShared,
    control: &'a TaskControl,
    converters: &'a mut SinkConverters,
    transforms: &'a mut TransformChain,
    errors: &'a mut RetryWithTolerance,
}

impl Processing<'_> {
    /// Converts and transforms one consumed message; `None` when a transformation dropped it or it failed with a
    /// tolerated error (then it was reported).
    fn process(&mut self, message: &BorrowedMessage<'_>, topic: &RString) -> Result<Option<SinkRecord>, ConnectError> {
        let control = self.control;
        let stopping = || control.stopping();
        let record = match self.converters.convert(message, topic, self.errors, &stopping)? {
            Ok(record) => record,
            Err(failure) => {
                report(self.id, self.errors, self.shared, &raw_record(message), &failure)?;
                return Ok(None);
            }
        };
        if self.transforms.is_empty() {
            return Ok(Some(record));
        }
        let (partition, offset) = (record.kafka_partition, record.kafka_offset);
        match self.transforms.apply(TransformRecord::from_sink(record), self.errors, &stopping)? {
            Ok(Some(transformed)) => Ok(Some(transformed.into_sink(partition, offset))),
            Ok(None) => Ok(None),
            Err(failure) => {
                report(self.id, self.errors, self.shared, &raw_record(message), &failure)?;
                Ok(None)
            }
        }
    }
}

/// Logs a tolerated failure (`errors.log.enable`) and sends the record to the dead letter queue, if any.
fn report(
    id: &TaskId,
    errors: &RetryWithTolerance,
    shared: &SinkShared,
    record: &RawRecord<'_>,
    failure: &Failure,
) -> Result<(), ConnectError> {
    let metrics = errors.metrics();
    errors.log_failure(id, failure, |full| {
        let at = format!("topic='{}', partition={}, offset={}", record.topic, record.partition, record.offset);
        if full {
            let (key, value) = (record.key.map(String::from_utf8_lossy), record.value.map(String::from_utf8_lossy));
            format!(", where consumed record is {{{at}, key={key:?}, value={value:?}}}")
        } else {
            format!(", where consumed record is {{{at}}}")
        }
    });
    if let Some(dlq) = shared.dlq().as_mut() {
        ErrorMetrics::count(&metrics.dlq_produce_requests);
        dlq.report(record, failure).inspect_err(|_| ErrorMetrics::count(&metrics.dlq_produce_failures))?;
    }
    Ok(())
}

/// A consumed message as the dead letter queue takes it.
fn raw_record<'a>(message: &'a BorrowedMessage<'a>) -> RawRecord<'a> {
    RawRecord {
        topic: message.topic(),
        partition: message.partition(),
        offset: message.offset(),
        key: message.key(),
        value: message.payload(),
        timestamp: message.timestamp().to_millis(),
        headers: message.headers().map(|h| h.iter().map(|h| (h.key, h.value)).collect()).unwrap_or_default(),
    }
}

/// The converters of a sink task.
struct SinkConverters {
    key: Box<dyn Converter>,
    value: Box<dyn Converter>,
    header: Box<dyn HeaderConverter>,
    classes: ConverterClasses,
}

impl SinkConverters {
    /// A consumed message as a sink record; `Ok(Err)` is a tolerated failure.
    fn convert(
        &mut self,
        message: &BorrowedMessage<'_>,
        topic_name: &RString,
        errors: &mut RetryWithTolerance,
        stopping: &dyn Fn() -> bool,
    ) -> Result<Result<SinkRecord, Failure>, ConnectError> {
        let topic = topic_name.as_str();
        let at = || format!("topic {topic} partition {} offset {}", message.partition(), message.offset());
        let key_converter = &mut self.key;
        let (key_schema, key) = match errors.execute(Stage::KeyConverter, &self.classes.key, stopping, || {
            key_converter
                .to_connect(topic, message.key())
                .map_err(|e| e.context(format!("key converter failed on the record at {}", at())))
        })? {
            Ok(converted) => converted,
            Err(failure) => return Ok(Err(failure)),
        };
        let value_converter = &mut self.value;
        let (value_schema, value) =
            match errors.execute(Stage::ValueConverter, &self.classes.value, stopping, || {
                value_converter
                    .to_connect(topic, message.payload())
                    .map_err(|e| e.context(format!("value converter failed on the record at {}", at())))
            })? {
                Ok(converted) => converted,
                Err(failure) => return Ok(Err(failure)),
            };
        let mut headers = Headers::new();
        if let Some(kafka_headers) = message.headers() {
            let header_converter = &mut self.header;
            for header in kafka_headers.iter() {
                let (schema, value) =
                    match errors.execute(Stage::HeaderConverter, &self.classes.header, stopping, || {
                        header_converter.to_connect_header(topic, header.key, header.value).map_err(|e| {
                            e.context(format!("header converter failed on header {} at {}", header.key, at()))
                        })
                    })? {
                        Ok(converted) => converted,
                        Err(failure) => return Ok(Err(failure)),
                    };
                headers.add(header.key, schema, value);
            }
        }
        let (timestamp, timestamp_type) = match message.timestamp() {
            Timestamp::NotAvailable => (None, TimestampType::NoTimestampType),
            Timestamp::CreateTime(t) => (Some(t), TimestampType::CreateTime),
            Timestamp::LogAppendTime(t) => (Some(t), TimestampType::LogAppendTime),
        };
        Ok(Ok(SinkRecord {
            topic: topic_name.clone(),
            kafka_partition: message.partition(),
            kafka_offset: message.offset(),
            key_schema: key_schema.into(),
            key,
            value_schema: value_schema.into(),
            value,
            timestamp: timestamp.into(),
            timestamp_type,
            headers,
        }))
    }
}
