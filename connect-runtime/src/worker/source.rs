//! The source data path of one task (Kafka Connect's `WorkerSourceTask`): `poll` -> converters -> producer.
//!
//! Sends are pipelined: each record goes to librdkafka without waiting, up to the task's in-flight limit (its
//! share of a producer it may share with other tasks, see [`super::producers`]). Acknowledgements come back
//! through the task's own channel; records are retired strictly in poll order, so a source offset becomes
//! committable only when its record and every record polled before it were acknowledged. The task never commits
//! an offset whose record Kafka has not acknowledged.

use std::collections::VecDeque;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use abi_stable::std_types::{ROption, RVec};
use connect_api::abi::{AckedRecord, RConfig, SourceTaskContextApi};
use connect_api::{ConnectError, RecordMetadata, SourceMap, SourceRecord};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::BaseRecord;

use super::converters::{Converter, HeaderConverter};
use super::errors::{Failure, RetryWithTolerance, Stage};
use super::producers::{Ack, Outcome, ProducerLease, Route};
use super::status::{State, StatusBoard, StatusKey, TaskId};
use super::topic_creation::TopicCreator;
use super::transforms::TransformChain;
use super::{ConverterClasses, TaskControl};
use crate::metrics::TaskMetrics;
use crate::plugins::SourceTaskHandle;
use crate::storage::OffsetStore;
use connect_api::TransformRecord;

/// How long a paused task waits between checks of its target state.
const PAUSE_WAIT: Duration = Duration::from_millis(100);

/// How long to wait for acknowledgements in one go while the pipeline is full.
const ACK_WAIT: Duration = Duration::from_millis(20);

/// The offset store as a source task sees it.
pub(crate) struct HostSourceContext {
    pub connector: String,
    pub offsets: Arc<dyn OffsetStore>,
    pub config: RConfig,
}

impl SourceTaskContextApi for HostSourceContext {
    fn offset(&self, partition: &SourceMap) -> ROption<SourceMap> {
        self.offsets.get(&self.connector, partition).into()
    }

    fn config(&self) -> RConfig {
        self.config.clone()
    }
}

/// A converted record: whether it has a key and a value (in the task's buffers), and its headers.
type Converted = (bool, bool, Option<OwnedHeaders>);

struct InFlight {
    /// The record as the task polled it (before transformations).
    record: SourceRecord,
    outcome: Option<Outcome>,
}

/// Records sent and not yet retired, and the offsets that became committable.
struct Ledger {
    acks: Receiver<Ack>,
    /// The sending end of `acks`, a copy of which goes with every record sent.
    ack_sender: Sender<Ack>,
    submitted: VecDeque<InFlight>,
    /// Sequence number of `submitted[0]`.
    base_seq: u64,
    /// Per source partition, the offset after the last retired record.
    committable: Vec<(SourceMap, SourceMap)>,
    metrics: Arc<TaskMetrics>,
}

impl Ledger {
    fn next_seq(&self) -> u64 {
        self.base_seq + self.submitted.len() as u64
    }

    fn record_ack(&mut self, ack: Ack) {
        if let Some(idx) = ack.seq.checked_sub(self.base_seq) {
            if let Some(entry) = self.submitted.get_mut(idx as usize) {
                entry.outcome = Some(ack.outcome);
            }
        }
    }

    /// Takes the acknowledgements that arrived (waiting up to `wait` for the first), retires the acknowledged
    /// prefix, makes its offsets committable and hands the records back to the task.
    fn drain(&mut self, task: &mut SourceTaskHandle, wait: Option<Duration>) -> Result<(), ConnectError> {
        if let Some(wait) = wait {
            if let Ok(ack) = self.acks.recv_timeout(wait) {
                self.record_ack(ack);
            }
        }
        while let Ok(ack) = self.acks.try_recv() {
            self.record_ack(ack);
        }
        let mut retired = RVec::new();
        while self.submitted.front().is_some_and(|f| f.outcome.is_some()) {
            let Some(InFlight { record, outcome: Some(outcome) }) = self.submitted.pop_front() else {
                break;
            };
            self.base_seq += 1;
            match outcome {
                Outcome::Written(partition, offset) => {
                    let metadata = RecordMetadata { topic: record.topic.clone(), partition, offset };
                    retired.push(AckedRecord { record, metadata: ROption::RSome(metadata) });
                }
                Outcome::Skipped => retired.push(AckedRecord { record, metadata: ROption::RNone }),
                Outcome::Failed(e) => {
                    // The acknowledged records before it go back first, so the task sees poll order.
                    self.retire(task, std::mem::take(&mut retired))?;
                    let error = ConnectError::new(format!(
                        "Unrecoverable exception from producer send callback for topic {}: {e}",
                        record.topic
                    ));
                    // A task that accepts the failure skips the record; its offset is committable as if written.
                    let skipped = AckedRecord { record: record.clone(), metadata: ROption::RNone };
                    task.record_failed(record, error)?;
                    self.note_offsets(std::slice::from_ref(&skipped));
                }
            }
        }
        self.retire(task, retired)
    }

    fn retire(&mut self, task: &mut SourceTaskHandle, retired: RVec<AckedRecord>) -> Result<(), ConnectError> {
        if retired.is_empty() {
            return Ok(());
        }
        self.metrics.record_write(retired.len());
        self.metrics.set_active_records(self.submitted.len());
        self.note_offsets(&retired);
        task.commit_records(retired)
    }

    /// Keeps the newest offset of each source partition among `retired` (in poll order).
    fn note_offsets(&mut self, retired: &[AckedRecord]) {
        let mut updated: Vec<usize> = Vec::new();
        for acked in retired.iter().rev() {
            let record = &acked.record;
            if record.source_partition.is_empty() && record.source_offset.is_empty() {
                continue;
            }
            match self.committable.iter().position(|(p, _)| *p == record.source_partition) {
                Some(i) if updated.contains(&i) => {}
                Some(i) => {
                    self.committable[i].1 = record.source_offset.clone();
                    updated.push(i);
                }
                None => {
                    self.committable.push((record.source_partition.clone(), record.source_offset.clone()));
                    updated.push(self.committable.len() - 1);
                }
            }
        }
    }
}

/// Everything one source task needs to run.
pub(crate) struct SourceTaskRun {
    pub id: TaskId,
    pub task: SourceTaskHandle,
    pub producer: ProducerLease,
    pub key_converter: Box<dyn Converter>,
    pub value_converter: Box<dyn Converter>,
    pub header_converter: Box<dyn HeaderConverter>,
    pub converter_classes: ConverterClasses,
    pub transforms: TransformChain,
    pub errors: RetryWithTolerance,
    pub topic_creator: Option<TopicCreator>,
    pub offsets: Arc<dyn OffsetStore>,
    pub flush_interval: Duration,
    pub flush_timeout: Duration,
    pub control: Arc<TaskControl>,
    pub status: Arc<StatusBoard>,
    pub metrics: Arc<TaskMetrics>,
}

/// The running loop; created after the task started.
pub(crate) struct WorkerSourceTask {
    id: TaskId,
    task: SourceTaskHandle,
    producer: ProducerLease,
    ledger: Ledger,
    key_converter: Box<dyn Converter>,
    value_converter: Box<dyn Converter>,
    header_converter: Box<dyn HeaderConverter>,
    converter_classes: ConverterClasses,
    transforms: TransformChain,
    errors: RetryWithTolerance,
    topic_creator: Option<TopicCreator>,
    /// The topic of the last record sent, for topic tracking.
    last_topic: String,
    key_buf: Vec<u8>,
    value_buf: Vec<u8>,
    header_buf: Vec<u8>,
    offsets: Arc<dyn OffsetStore>,
    flush_interval: Duration,
    flush_timeout: Duration,
    next_flush: Instant,
    control: Arc<TaskControl>,
    status: Arc<StatusBoard>,
    reported: Option<State>,
    metrics: Arc<TaskMetrics>,
}

impl WorkerSourceTask {
    /// The loop of a created task; [`WorkerSourceTask::start`] starts it.
    pub fn new(run: SourceTaskRun) -> Self {
        let (tx, rx) = mpsc::channel();
        tracing::debug!("task {} sends through a producer shared by {} tasks", run.id, run.producer.sharers());
        WorkerSourceTask {
            id: run.id,
            task: run.task,
            producer: run.producer,
            ledger: Ledger {
                acks: rx,
                ack_sender: tx,
                submitted: VecDeque::new(),
                base_seq: 0,
                committable: Vec::new(),
                metrics: run.metrics.clone(),
            },
            key_converter: run.key_converter,
            value_converter: run.value_converter,
            header_converter: run.header_converter,
            converter_classes: run.converter_classes,
            transforms: run.transforms,
            errors: run.errors,
            topic_creator: run.topic_creator,
            last_topic: String::new(),
            key_buf: Vec::with_capacity(256),
            value_buf: Vec::with_capacity(4096),
            header_buf: Vec::new(),
            offsets: run.offsets,
            flush_interval: run.flush_interval,
            flush_timeout: run.flush_timeout,
            next_flush: Instant::now() + run.flush_interval,
            control: run.control,
            status: run.status,
            reported: None,
            metrics: run.metrics,
        }
    }

    /// Starts the task with its context.
    pub fn start(&mut self, context: HostSourceContext, config: &connect_api::Config) -> Result<(), ConnectError> {
        self.task.start(context, config)
    }

    /// Polls and sends until stopped or failed, then commits what was acknowledged and stops the task.
    pub fn execute(mut self) -> Result<(), ConnectError> {
        let outcome = self.run_loop();
        if self.control.abandoned() {
            // The worker gave up on this task; a new instance may own its offsets now.
            return outcome;
        }
        // Whatever happened, offsets of acknowledged records are safe to commit.
        let drained = self.finish_in_flight();
        self.commit_offsets();
        self.transforms.close();
        self.errors.log_summary(&self.id);
        let stopped = self.task.stop();
        outcome.and(drained).and(stopped)
    }

    fn run_loop(&mut self) -> Result<(), ConnectError> {
        while !self.control.stopping() {
            self.ledger.drain(&mut self.task, None)?;
            if Instant::now() >= self.next_flush {
                self.commit_offsets();
            }
            let paused = self.control.paused();
            self.report(if paused { State::Paused } else { State::Running });
            if paused {
                // Acknowledgements keep arriving and offsets keep being committed; nothing new is polled.
                self.ledger.drain(&mut self.task, Some(PAUSE_WAIT))?;
                continue;
            }
            if self.ledger.submitted.len() >= self.producer.in_flight_limit() {
                self.ledger.drain(&mut self.task, Some(ACK_WAIT))?;
                continue;
            }
            let polled_at = Instant::now();
            let batch = self.task.poll()?;
            if self.control.abandoned() {
                // A poll that outlived the graceful stop timeout: its records are dropped, never sent.
                return Ok(());
            }
            if !batch.is_empty() {
                self.metrics.record_poll(batch.len(), polled_at.elapsed());
            }
            for record in batch {
                self.process(record)?;
            }
            self.metrics.set_active_records(self.ledger.submitted.len());
        }
        Ok(())
    }

    /// Transforms, converts and sends one polled record; a record a transformation drops, or that failed with
    /// a tolerated error, is retired as skipped in its turn, so its offset still becomes committable.
    fn process(&mut self, record: SourceRecord) -> Result<(), ConnectError> {
        if self.transforms.is_empty() {
            return self.send(record, None);
        }
        let original = record.clone();
        let (transformable, partition, offset) = TransformRecord::from_source(record);
        let control = &self.control;
        let stopping = || control.stopping();
        match self.transforms.apply(transformable, &mut self.errors, &stopping)? {
            Ok(Some(transformed)) => self.send(transformed.into_source(partition, offset), Some(original)),
            Ok(None) => {
                self.skip(original);
                Ok(())
            }
            Err(failure) => {
                self.errors.log_failure(&self.id, &failure, |full| {
                    if full {
                        format!(", where source record is = {original:?}")
                    } else {
                        String::new()
                    }
                });
                self.skip(original);
                Ok(())
            }
        }
    }

    fn skip(&mut self, original: SourceRecord) {
        self.ledger.submitted.push_back(InFlight { record: original, outcome: Some(Outcome::Skipped) });
    }

    /// Converts the key, value and headers into the buffers; `Ok(Err)` is a tolerated failure.
    fn convert(&mut self, record: &SourceRecord) -> Result<Result<Converted, Failure>, ConnectError> {
        let topic = record.topic.as_str();
        let control = &self.control;
        let stopping = || control.stopping();
        let (key_buf, value_buf, header_buf) = (&mut self.key_buf, &mut self.value_buf, &mut self.header_buf);
        let key_converter = &mut self.key_converter;
        let has_key = match self.errors.execute(Stage::KeyConverter, &self.converter_classes.key, &stopping, || {
            key_buf.clear();
            key_converter.from_connect(topic, record.key_schema(), &record.key, key_buf)
        })? {
            Ok(present) => present,
            Err(failure) => return Ok(Err(failure)),
        };
        let value_converter = &mut self.value_converter;
        let has_value =
            match self.errors.execute(Stage::ValueConverter, &self.converter_classes.value, &stopping, || {
                value_buf.clear();
                value_converter.from_connect(topic, record.value_schema(), &record.value, value_buf)
            })? {
                Ok(present) => present,
                Err(failure) => return Ok(Err(failure)),
            };
        if record.headers.is_empty() {
            return Ok(Ok((has_key, has_value, None)));
        }
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
        let header_converter = &mut self.header_converter;
        for header in record.headers.iter() {
            let present =
                match self.errors.execute(Stage::HeaderConverter, &self.converter_classes.header, &stopping, || {
                    header_buf.clear();
                    header_converter
                        .from_connect_header(topic, &header.key, header.schema(), &header.value, header_buf)
                        .map_err(|e| e.context(format!("header {}", header.key)))
                })? {
                    Ok(present) => present,
                    Err(failure) => return Ok(Err(failure)),
                };
            let value = if present { Some(&header_buf[..]) } else { None };
            headers = headers.insert(Header { key: header.key.as_str(), value });
        }
        Ok(Ok((has_key, has_value, Some(headers))))
    }

    /// Sends `record`; the ledger keeps `original` (the record before transformations) when there is one.
    fn send(&mut self, record: SourceRecord, original: Option<SourceRecord>) -> Result<(), ConnectError> {
        if let Some(creator) = self.topic_creator.as_mut() {
            creator.ensure(record.topic.as_str())?;
        }
        let (has_key, has_value, headers) = match self.convert(&record)? {
            Ok(converted) => converted,
            Err(failure) => {
                let original = original.unwrap_or(record);
                self.errors.log_failure(&self.id, &failure, |full| {
                    if full {
                        format!(", where source record is = {original:?}")
                    } else {
                        String::new()
                    }
                });
                self.skip(original);
                return Ok(());
            }
        };
        let topic = record.topic.as_str();
        // Topic tracking, of the topic written to (after transformations): one report per run of records to the
        // same topic, not one per record.
        if topic != self.last_topic {
            self.last_topic = topic.to_string();
            self.status.topic_used(&self.id, topic);
        }
        let seq = self.ledger.next_seq();
        let route = Box::new(Route { acks: self.ledger.ack_sender.clone(), seq });
        let mut message = BaseRecord::with_opaque_to(topic, route);
        if has_key {
            message = message.key(&self.key_buf[..]);
        }
        if has_value {
            message = message.payload(&self.value_buf[..]);
        }
        if let ROption::RSome(partition) = record.kafka_partition {
            message = message.partition(partition);
        }
        if let ROption::RSome(timestamp) = record.timestamp {
            message = message.timestamp(timestamp);
        }
        if let Some(headers) = headers {
            message = message.headers(headers);
        }
        loop {
            match self.producer.producer().send(message) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    // librdkafka's queue is full: let acknowledgements retire records, then try again.
                    message = returned;
                    self.ledger.drain(&mut self.task, Some(ACK_WAIT))?;
                    if self.control.stopping() {
                        // Not sent, so its offset is never committed: it is polled again after a restart.
                        return Ok(());
                    }
                }
                Err((err, _)) => {
                    // Refused at once (an unknown partition, a record too large): it fails in its turn, after the
                    // records sent before it, so the task hears of it in poll order.
                    let record = original.unwrap_or(record);
                    self.ledger
                        .submitted
                        .push_back(InFlight { record, outcome: Some(Outcome::Failed(err.to_string())) });
                    return Ok(());
                }
            }
        }
        let record = original.unwrap_or(record);
        self.ledger.submitted.push_back(InFlight { record, outcome: None });
        Ok(())
    }

    fn report(&mut self, state: State) {
        if self.reported != Some(state) {
            self.status.set(StatusKey::Task(self.id.clone()), state, None);
            self.reported = Some(state);
        }
    }

    /// Waits up to `offset.flush.timeout.ms` for outstanding acknowledgements and retires them. The producer is
    /// not flushed: it may carry other tasks' records, which this task must not wait for; librdkafka sends this
    /// task's records within `linger.ms` anyway.
    fn finish_in_flight(&mut self) -> Result<(), ConnectError> {
        if self.ledger.submitted.is_empty() {
            return Ok(());
        }
        let deadline = Instant::now() + self.flush_timeout;
        while !self.ledger.submitted.is_empty() && Instant::now() < deadline {
            self.ledger.drain(&mut self.task, Some(ACK_WAIT))?;
        }
        if !self.ledger.submitted.is_empty() {
            tracing::warn!(
                "task {}: {} records were not acknowledged in time; their offsets are not committed",
                self.id,
                self.ledger.submitted.len()
            );
        }
        Ok(())
    }

    /// Writes the committable offsets to the offset store, then tells the task. On failure the offsets are
    /// kept for the next attempt.
    fn commit_offsets(&mut self) {
        self.next_flush = Instant::now() + self.flush_interval;
        let started = Instant::now();
        if self.ledger.committable.is_empty() {
            // As in Kafka Connect, a commit with nothing new to commit is a successful one.
            self.metrics.record_commit(started.elapsed(), true);
            return;
        }
        match self.offsets.put(&self.id.connector, &self.ledger.committable) {
            Ok(()) => {
                self.metrics.record_commit(started.elapsed(), true);
                tracing::debug!(
                    "task {}: committed offsets of {} source partitions",
                    self.id,
                    self.ledger.committable.len()
                );
                self.ledger.committable.clear();
                if let Err(err) = self.task.commit() {
                    tracing::warn!("task {}: commit() failed: {err}", self.id);
                }
            }
            Err(err) => {
                self.metrics.record_commit(started.elapsed(), false);
                tracing::error!("task {}: failed to commit offsets: {err}", self.id);
            }
        }
    }
}
