//! The dead letter queue of a sink connector (Kafka Connect's `DeadLetterQueueReporter`): records that failed
//! with a tolerated error are written, as they were consumed, to `errors.deadletterqueue.topic.name`, with the
//! `__connect.errors.*` context headers when `errors.deadletterqueue.context.headers.enable` is set.
//!
//! The queue is flushed before the task commits consumer offsets, so a record is never committed as consumed
//! before its dead letter is acknowledged.

use std::time::Duration;

use connect_api::{Config, ConnectError};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

use super::errors::Failure;
use super::status::TaskId;
use crate::config::WorkerConfig;
use crate::storage::kafka::{create_missing_topics, TopicSpec};

/// How long creating the topic and flushing may take.
const DLQ_TIMEOUT: Duration = Duration::from_secs(30);

/// The dead letter queue settings of one sink task.
pub(crate) struct DlqConfig {
    topic: String,
    replication_factor: i32,
    context_headers: bool,
    producer: rdkafka::ClientConfig,
    admin: rdkafka::ClientConfig,
    id: TaskId,
}

impl DlqConfig {
    /// The queue `props` configures, if any; a bad value is an error naming its key.
    pub(crate) fn from_props(props: &Config, worker: &WorkerConfig, id: &TaskId) -> Result<Option<Self>, ConnectError> {
        let Some(topic) = props.get("errors.deadletterqueue.topic.name").map(|t| t.trim()).filter(|t| !t.is_empty())
        else {
            return Ok(None);
        };
        let key = "errors.deadletterqueue.topic.replication.factor";
        let replication_factor = match props.get(key).map(|v| v.trim()) {
            None | Some("") => 3,
            Some(v) => match v.parse::<i32>() {
                Ok(n) if n == -1 || n >= 1 => n,
                _ => {
                    return Err(ConnectError::config(
                        key,
                        format!("{v} is not a replication factor (-1 or at least 1)"),
                    ))
                }
            },
        };
        let key = "errors.deadletterqueue.context.headers.enable";
        let context_headers = match props.get(key).map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("false") => false,
            Some("true") => true,
            Some(v) => return Err(ConnectError::config(key, format!("{v} is not a boolean"))),
        };
        let mut producer = super::kafka::producer_config(worker, &id.connector, id.task, props);
        producer.set("client.id", format!("connector-dlq-producer-{}-{}", id.connector, id.task));
        Ok(Some(DlqConfig {
            topic: topic.to_string(),
            replication_factor,
            context_headers,
            producer,
            admin: super::kafka::admin_config(worker, &id.connector, props),
            id: id.clone(),
        }))
    }
}

/// A record as it was consumed: what goes to the dead letter queue.
pub(crate) struct RawRecord<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub timestamp: Option<i64>,
    pub headers: Vec<(&'a str, Option<&'a [u8]>)>,
}

/// The open dead letter queue of one sink task.
pub(crate) struct DeadLetterQueue {
    producer: ThreadedProducer<DefaultProducerContext>,
    topic: String,
    context_headers: bool,
    id: TaskId,
}

impl DeadLetterQueue {
    /// Creates the topic when it is missing (one partition, as Kafka Connect) and the producer.
    pub(crate) fn open(config: DlqConfig) -> Result<Self, ConnectError> {
        let spec = TopicSpec {
            name: config.topic.clone(),
            partitions: 1,
            replication_factor: config.replication_factor,
            settings: Default::default(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ConnectError::new(format!("cannot start a runtime for the dead letter queue: {e}")))?;
        runtime.block_on(create_missing_topics(&config.admin, &[spec], DLQ_TIMEOUT)).map_err(|e| {
            ConnectError::new(format!("cannot create the dead letter queue topic {}: {e}", config.topic))
        })?;
        let producer = config
            .producer
            .create()
            .map_err(|e| ConnectError::new(format!("cannot create the dead letter queue producer: {e}")))?;
        Ok(DeadLetterQueue { producer, topic: config.topic, context_headers: config.context_headers, id: config.id })
    }

    /// Sends `record` to the queue, with the context headers of `failure` when enabled.
    pub(crate) fn report(&mut self, record: &RawRecord<'_>, failure: &Failure) -> Result<(), ConnectError> {
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len() + 10);
        for (key, value) in &record.headers {
            headers = headers.insert(Header { key, value: *value });
        }
        if self.context_headers {
            let partition = record.partition.to_string();
            let offset = record.offset.to_string();
            let task = self.id.task.to_string();
            let stack = failure.error.status_trace();
            let context: [(&str, &str); 10] = [
                ("__connect.errors.topic", record.topic),
                ("__connect.errors.partition", &partition),
                ("__connect.errors.offset", &offset),
                ("__connect.errors.connector.name", &self.id.connector),
                ("__connect.errors.task.id", &task),
                ("__connect.errors.stage", failure.stage.name()),
                ("__connect.errors.class.name", &failure.class),
                ("__connect.errors.exception.class.name", failure.error.kind().java_class()),
                ("__connect.errors.exception.message", failure.error.message()),
                ("__connect.errors.exception.stacktrace", &stack),
            ];
            for (key, value) in context {
                headers = headers.insert(Header { key, value: Some(value.as_bytes()) });
            }
        }
        let mut message: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(&self.topic).headers(headers);
        if let Some(key) = record.key {
            message = message.key(key);
        }
        if let Some(value) = record.value {
            message = message.payload(value);
        }
        if let Some(timestamp) = record.timestamp {
            message = message.timestamp(timestamp);
        }
        loop {
            match self.producer.send(message) {
                Ok(()) => return Ok(()),
                Err((
                    rdkafka::error::KafkaError::MessageProduction(rdkafka::types::RDKafkaErrorCode::QueueFull),
                    m,
                )) => {
                    message = m;
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err((err, _)) => {
                    return Err(ConnectError::new(format!(
                        "cannot write to the dead letter queue {}: {err}",
                        self.topic
                    )))
                }
            }
        }
    }

    /// Waits until every record sent to the queue was acknowledged.
    pub(crate) fn flush(&self) -> Result<(), ConnectError> {
        if self.producer.in_flight_count() == 0 {
            return Ok(());
        }
        self.producer
            .flush(DLQ_TIMEOUT)
            .map_err(|e| ConnectError::new(format!("cannot flush the dead letter queue {}: {e}", self.topic)))
    }
}
