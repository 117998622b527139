//! One internal topic as a log (Kafka Connect's `KafkaBasedLog`): a producer, and a consumer that reads every
//! partition from the beginning on a thread of its own and hands each record, in order, to the store's state.
//!
//! The consumer joins no group and never commits. [`KafkaBasedLog::read_to_end`] asks the broker for the end
//! offsets at call time and waits until the reader thread has handed over everything before them, so a write
//! acknowledged before the call (by any worker) is applied when it returns.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::storage::StorageError;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use super::{kafka_error, KafkaStoreConfig};

/// How long the reader waits for records before looking at its stop flag.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How often the reader takes the consumer's own position, which moves past offsets that hold no record to hand
/// over (compacted away, or transaction markers).
const POSITION_CHECK_INTERVAL: Duration = Duration::from_millis(200);
/// How long closing a log waits for records still in flight (pending status updates, for one).
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// A record as read from the topic.
pub(crate) struct LogRecord<'a> {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
}

/// What the reader thread does with each record: the owning store applies it to its state.
pub(crate) type ApplyRecord = Box<dyn FnMut(&LogRecord<'_>) + Send>;

/// Where the outcome of one send goes: `(index in the batch, (partition, offset) or the error)`.
type Report = mpsc::Sender<(usize, Result<(i32, i64), String>)>;

/// What happens when the broker acknowledged (or refused) a record.
pub(crate) enum OnDelivery {
    /// A writer waits for the outcome.
    Report { index: usize, to: Report },
    /// Nobody waits: a failure is logged.
    Log { key: String },
}

/// Routes librdkafka's logs and delivery reports; one per client.
pub(crate) struct LogContext {
    topic: String,
}

impl ClientContext for LogContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        let topic = &self.topic;
        match level {
            RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical | RDKafkaLogLevel::Error => {
                tracing::error!(topic, "librdkafka {fac}: {message}")
            }
            RDKafkaLogLevel::Warning => tracing::warn!(topic, "librdkafka {fac}: {message}"),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => tracing::info!(topic, "librdkafka {fac}: {message}"),
            RDKafkaLogLevel::Debug => tracing::debug!(topic, "librdkafka {fac}: {message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(topic = %self.topic, "Kafka client error: {error}: {reason}");
    }
}

impl ConsumerContext for LogContext {}

impl ProducerContext for LogContext {
    type DeliveryOpaque = Box<OnDelivery>;

    fn delivery(&self, result: &DeliveryResult<'_>, on_delivery: Box<OnDelivery>) {
        let outcome = match result {
            Ok(message) => Ok((message.partition(), message.offset())),
            Err((err, _)) => Err(err.to_string()),
        };
        match *on_delivery {
            // The writer may have given up waiting; nobody needs the report then.
            OnDelivery::Report { index, to } => drop(to.send((index, outcome))),
            OnDelivery::Log { key } => {
                if let Err(err) = outcome {
                    tracing::error!(topic = %self.topic, "failed to write record {key}: {err}");
                }
            }
        }
    }
}

/// How far the reader thread got: per partition, the offset of the next record to hand over.
struct Progress {
    positions: Mutex<BTreeMap<i32, i64>>,
    advanced: Condvar,
}

impl Progress {
    fn advance(&self, partition: i32, next: i64) {
        let mut positions = self.positions.lock().unwrap_or_else(|p| p.into_inner());
        let position = positions.entry(partition).or_insert(0);
        if next > *position {
            *position = next;
            self.advanced.notify_all();
        }
    }
}

/// A topic's producer and its reader thread.
pub(crate) struct KafkaBasedLog {
    topic: String,
    partitions: Vec<i32>,
    producer: ThreadedProducer<LogContext>,
    end_offsets: BaseConsumer<LogContext>,
    progress: Arc<Progress>,
    stop: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
}

impl KafkaBasedLog {
    /// Connects to `cfg.topic` (which must exist), starts reading it from the beginning and hands every record to
    /// `apply`. `kind` ends the clients' `client.id`; `producer_settings` come on top of the defaults (`acks=all`,
    /// idempotence off, one request in flight so retries keep the order, Java's murmur2 partitioner).
    pub(crate) fn start(
        cfg: &KafkaStoreConfig,
        kind: &str,
        producer_settings: &[(&str, &str)],
        mut apply: ApplyRecord,
    ) -> Result<Self, StorageError> {
        let topic = cfg.topic.clone();
        let err = |message: String| kafka_error(&topic, message);
        let context = || LogContext { topic: topic.clone() };
        let client_id = cfg.client_id(kind);

        let mut consumer_config = cfg.client.clone();
        consumer_config
            .set("client.id", &client_id)
            // librdkafka wants a group to assign partitions; it is never joined and nothing is committed to it.
            .set("group.id", reader_group_id(&client_id))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            // Other workers' writes should show up quickly: do not let the broker hold an empty fetch for long.
            .set("fetch.wait.max.ms", "100");
        let consumer: BaseConsumer<LogContext> = consumer_config
            .create_with_context(context())
            .map_err(|e| err(format!("cannot create the consumer: {e}")))?;
        // End offsets are asked on a connection of their own: on the reader's, the request would wait behind the
        // fetch the broker holds open (up to `fetch.wait.max.ms`), as a broker answers one request at a time.
        let end_offsets: BaseConsumer<LogContext> = consumer_config
            .create_with_context(context())
            .map_err(|e| err(format!("cannot create the end-offsets client: {e}")))?;
        let partitions = partitions_of(&end_offsets, &topic, cfg.timeout)?;
        let mut assignment = TopicPartitionList::new();
        for &partition in &partitions {
            assignment
                .add_partition_offset(&topic, partition, Offset::Beginning)
                .map_err(|e| err(format!("cannot assign partition {partition}: {e}")))?;
        }
        consumer.assign(&assignment).map_err(|e| err(format!("cannot assign the partitions: {e}")))?;

        let mut producer_config = cfg.client.clone();
        producer_config
            .set("client.id", &client_id)
            .set("acks", "all")
            .set("enable.idempotence", "false")
            .set("max.in.flight.requests.per.connection", "1")
            .set("partitioner", "murmur2_random");
        for (key, value) in producer_settings {
            producer_config.set(*key, *value);
        }
        let producer: ThreadedProducer<LogContext> = producer_config
            .create_with_context(context())
            .map_err(|e| err(format!("cannot create the producer: {e}")))?;

        let progress = Arc::new(Progress {
            positions: Mutex::new(partitions.iter().map(|&p| (p, 0)).collect()),
            advanced: Condvar::new(),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            // The reader thread owns the consumer.
            let (progress, stop) = (progress.clone(), stop.clone());
            let topic = topic.clone();
            std::thread::Builder::new()
                .name(format!("{client_id}-reader"))
                .spawn(move || {
                    let mut last_position_check = Instant::now();
                    while !stop.load(Ordering::Acquire) {
                        match consumer.poll(POLL_INTERVAL) {
                            Some(Ok(message)) => {
                                apply(&LogRecord {
                                    partition: message.partition(),
                                    offset: message.offset(),
                                    key: message.key(),
                                    value: message.payload(),
                                });
                                progress.advance(message.partition(), message.offset() + 1);
                            }
                            Some(Err(e)) => tracing::warn!(topic, "error reading the topic: {e}"),
                            None => {}
                        }
                        if last_position_check.elapsed() >= POSITION_CHECK_INTERVAL {
                            last_position_check = Instant::now();
                            if let Ok(positions) = consumer.position() {
                                for element in positions.elements() {
                                    if let Offset::Offset(next) = element.offset() {
                                        progress.advance(element.partition(), next);
                                    }
                                }
                            }
                        }
                    }
                })
                .map_err(|e| err(format!("cannot start the reader thread: {e}")))?
        };
        Ok(KafkaBasedLog { topic, partitions, producer, end_offsets, progress, stop, reader: Some(reader) })
    }

    /// The topic.
    pub(crate) fn topic(&self) -> &str {
        &self.topic
    }

    /// How many partitions the topic had when the log started.
    pub(crate) fn partition_count(&self) -> usize {
        self.partitions.len()
    }

    /// Waits until every record written before this call has been handed over.
    pub(crate) fn read_to_end(&self, timeout: Duration) -> Result<(), StorageError> {
        let deadline = Instant::now() + timeout;
        let ends = self.end_offsets(timeout)?;
        let mut positions = self.progress.positions.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let behind = ends.iter().find(|(p, end)| positions.get(p).copied().unwrap_or(0) < **end);
            let Some((&partition, &end)) = behind else { return Ok(()) };
            let now = Instant::now();
            if now >= deadline {
                let at = positions.get(&partition).copied().unwrap_or(0);
                return Err(kafka_error(
                    &self.topic,
                    format!(
                        "timed out after {timeout:?} reading to the end of the topic (partition {partition} read up \
                         to offset {at} of {end})"
                    ),
                ));
            }
            positions =
                self.progress.advanced.wait_timeout(positions, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    /// The offset after the last record of each partition, asked of the broker now (one ListOffsets request).
    fn end_offsets(&self, timeout: Duration) -> Result<BTreeMap<i32, i64>, StorageError> {
        let mut request = TopicPartitionList::new();
        for &partition in &self.partitions {
            // As a timestamp, -1 (`Offset::End`) asks for the latest offset.
            request
                .add_partition_offset(&self.topic, partition, Offset::End)
                .map_err(|e| kafka_error(&self.topic, format!("cannot ask for end offsets: {e}")))?;
        }
        let answer = self
            .end_offsets
            .offsets_for_times(request, timeout)
            .map_err(|e| kafka_error(&self.topic, format!("cannot fetch the end offsets: {e}")))?;
        let mut ends = BTreeMap::new();
        for element in answer.elements() {
            if let Err(e) = element.error() {
                return Err(kafka_error(
                    &self.topic,
                    format!("cannot fetch the end offset of partition {}: {e}", element.partition()),
                ));
            }
            match element.offset() {
                Offset::Offset(end) => ends.insert(element.partition(), end),
                other => {
                    return Err(kafka_error(
                        &self.topic,
                        format!("no end offset for partition {}: {other:?}", element.partition()),
                    ))
                }
            };
        }
        Ok(ends)
    }

    /// Queues a record (`value` `None`: a tombstone) without waiting.
    pub(crate) fn send(&self, key: &[u8], value: Option<&[u8]>, on_delivery: OnDelivery) -> Result<(), StorageError> {
        let mut record =
            BaseRecord::<[u8], [u8], Box<OnDelivery>>::with_opaque_to(&self.topic, Box::new(on_delivery)).key(key);
        if let Some(value) = value {
            record = record.payload(value);
        }
        self.producer.send(record).map_err(|(e, _)| {
            kafka_error(&self.topic, format!("cannot send record {}: {e}", String::from_utf8_lossy(key)))
        })
    }

    /// Sends `records` in order and waits until the broker acknowledged all of them; returns where each landed
    /// (partition, offset). Any failure fails the whole call (some records may have been written nonetheless).
    pub(crate) fn send_all(
        &self,
        records: &[(Vec<u8>, Option<Vec<u8>>)],
        timeout: Duration,
    ) -> Result<Vec<(i32, i64)>, StorageError> {
        let deadline = Instant::now() + timeout;
        let (to, reports) = mpsc::channel();
        for (index, (key, value)) in records.iter().enumerate() {
            self.send(key, value.as_deref(), OnDelivery::Report { index, to: to.clone() })?;
        }
        drop(to);
        let mut landed = vec![None; records.len()];
        let mut failure = None;
        for _ in 0..records.len() {
            let wait = deadline.saturating_duration_since(Instant::now());
            match reports.recv_timeout(wait) {
                Ok((index, Ok(position))) => landed[index] = Some(position),
                Ok((index, Err(e))) => {
                    let key = String::from_utf8_lossy(&records[index].0);
                    failure.get_or_insert_with(|| format!("cannot write record {key}: {e}"));
                }
                Err(_) => {
                    let pending = landed.iter().filter(|l| l.is_none()).count();
                    return Err(kafka_error(
                        &self.topic,
                        format!("timed out after {timeout:?} waiting for {pending} record(s) to be acknowledged"),
                    ));
                }
            }
        }
        match failure {
            Some(message) => Err(kafka_error(&self.topic, message)),
            None => Ok(landed.into_iter().map(|l| l.unwrap_or((-1, -1))).collect()),
        }
    }

    /// Waits until every queued record has been acknowledged or has failed.
    pub(crate) fn flush(&self, timeout: Duration) -> Result<(), StorageError> {
        self.producer.flush(timeout).map_err(|e| kafka_error(&self.topic, format!("cannot flush: {e}")))
    }
}

impl Drop for KafkaBasedLog {
    fn drop(&mut self) {
        // The producer drops whatever is still queued when it is destroyed: give pending writes a chance first.
        if let Err(e) = self.producer.flush(CLOSE_TIMEOUT) {
            tracing::warn!(topic = %self.topic, "records still unacknowledged when closing: {e}");
        }
        self.stop.store(true, Ordering::Release);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// A group id of this reader alone.
fn reader_group_id(client_id: &str) -> String {
    static READERS: AtomicU64 = AtomicU64::new(0);
    let n = READERS.fetch_add(1, Ordering::Relaxed);
    format!("{client_id}-reader-{}-{n}", std::process::id())
}

/// The partitions of `topic`, which must exist.
fn partitions_of(
    consumer: &BaseConsumer<LogContext>,
    topic: &str,
    timeout: Duration,
) -> Result<Vec<i32>, StorageError> {
    let metadata = consumer
        .fetch_metadata(Some(topic), timeout)
        .map_err(|e| kafka_error(topic, format!("cannot fetch the topic's metadata: {e}")))?;
    let found = metadata.topics().iter().find(|t| t.name() == topic);
    match found {
        Some(t) if t.error().is_none() && !t.partitions().is_empty() => {
            let mut partitions: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
            partitions.sort_unstable();
            Ok(partitions)
        }
        Some(t) => Err(kafka_error(
            topic,
            match t.error() {
                Some(code) => format!("the topic is not available: {:?}", rdkafka::types::RDKafkaErrorCode::from(code)),
                None => "the topic has no partitions".to_string(),
            },
        )),
        None => Err(kafka_error(topic, "the topic does not exist")),
    }
}
