//! The sink task: each `put` turns its records into requests and returns only once the server acknowledged every
//! one of them, or each failed record was handed to the worker (`report_errant`, the dead letter queue) or the
//! task failed. Nothing is buffered across calls, so the offsets the worker commits after `pre_commit` (the
//! default: everything `put` accepted) are always of acknowledged records. A stop cancels a pending `put` (a
//! request or a backoff in progress); its records are then not committed and come again after the restart.
//!
//! Requests go out one after the other, in record order within each group (URL and key pattern), so records of a
//! partition arrive in order.

use bytes::Bytes;
use connect_api::async_connector::async_trait;
use connect_api::{AsyncSinkTask, Config, ConnectError, Result, SinkRecord, SinkTaskContext};
use reqwest::Method;

use crate::body::{key_text, Batch, Batcher, Encoder};
use crate::config::{BatchSettings, KeyErrors, KeySet, NullValues, OnError, UrlTemplate};
use crate::sender::{Failure, Sender};
use crate::Flavor;

/// The task of [`crate::HttpSink`].
pub struct HttpSinkTask<F> {
    running: Option<Running>,
    flavor: std::marker::PhantomData<fn() -> F>,
}

impl<F> Default for HttpSinkTask<F> {
    fn default() -> Self {
        HttpSinkTask { running: None, flavor: std::marker::PhantomData }
    }
}

/// A started task.
struct Running {
    key_set: KeySet,
    context: SinkTaskContext,
    sender: Sender,
    encoder: Encoder,
    method: Method,
    url: UrlTemplate,
    batch: BatchSettings,
    nulls: NullValues,
    on_error: OnError,
    tolerate_all: bool,
}

#[async_trait]
impl<F: Flavor> AsyncSinkTask for HttpSinkTask<F> {
    async fn start(&mut self, context: SinkTaskContext, config: &Config) -> Result<()> {
        let settings = F::KEY_SET.settings(config).map_err(KeyErrors::into_error)?;
        if !settings.ignored_keys.is_empty() {
            tracing::warn!(
                "{} are set, but connect-rs writes no response topics (a plugin has no Kafka client): successful and \
                 failed requests are not recorded there; use errors.tolerance=all with \
                 errors.deadletterqueue.topic.name to keep records that failed",
                settings.ignored_keys.join(", ")
            );
        }
        if let Some(backoff) = settings.kafka_retry_backoff_ms {
            context.timeout(backoff);
        }
        let sender = Sender::new(&settings)?;
        tracing::info!(
            key_set = ?settings.key_set,
            method = %settings.method,
            batch = settings.batch.max_records,
            "HTTP sink task started"
        );
        self.running = Some(Running {
            key_set: settings.key_set,
            context,
            sender,
            encoder: Encoder::new(settings.body, settings.replacements),
            method: settings.method,
            url: settings.url,
            batch: settings.batch,
            nulls: settings.nulls,
            on_error: settings.on_error,
            tolerate_all: settings.tolerate_all,
        });
        Ok(())
    }

    async fn put(&mut self, records: Vec<SinkRecord>) -> Result<()> {
        let run = self.running.as_ref().ok_or_else(|| ConnectError::new("the HTTP sink task was not started"))?;
        if records.is_empty() {
            return Ok(());
        }
        // Aiven refuses the whole batch before sending any of it.
        if run.nulls == NullValues::FailTask {
            if let Some(record) = records.iter().find(|r| r.value.is_null()) {
                return Err(ConnectError::data(format!(
                    "Record value must not be null (topic {}, partition {}, offset {})",
                    record.topic, record.kafka_partition, record.kafka_offset
                )));
            }
        }
        let mut batcher = Batcher::new(run.batch.clone(), run.url.clone());
        for (index, record) in records.iter().enumerate() {
            if record.value.is_null() {
                run.null_value(&mut batcher, &records, index).await?;
                continue;
            }
            match batcher.add(index, record, &run.encoder) {
                Ok(ready) => {
                    for batch in ready {
                        run.deliver(batch, &records).await?;
                    }
                }
                Err(err) => run.give_up(&records, &[index], err.context(coordinates(record)))?,
            }
        }
        for batch in batcher.drain() {
            run.deliver(batch, &records).await?;
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<()> {
        self.running = None;
        Ok(())
    }
}

impl Running {
    async fn null_value(&self, batcher: &mut Batcher, records: &[SinkRecord], index: usize) -> Result<()> {
        let record = &records[index];
        match self.nulls {
            NullValues::FailTask | NullValues::Ignore => Ok(()),
            NullValues::Log => {
                tracing::info!(
                    "skipping a record with a null value: {}, key {}",
                    coordinates(record),
                    key_text(&record.key)
                );
                Ok(())
            }
            NullValues::Fail => self.give_up(
                records,
                &[index],
                ConnectError::data(format!("{} has a null value (behavior.on.null.values=fail)", coordinates(record))),
            ),
            NullValues::Delete => {
                // Whatever came before it in the batch goes first, so a delete never overtakes an earlier write.
                for batch in batcher.drain() {
                    self.deliver(batch, records).await?;
                }
                let url = match batcher.target(record) {
                    Ok(url) => url,
                    Err(err) => return self.give_up(records, &[index], err.context(coordinates(record))),
                };
                match self.sender.send(&Method::DELETE, &url, None).await {
                    Ok(()) => Ok(()),
                    Err(failure) => self.give_up(records, &[index], self.failure_error(&failure)),
                }
            }
        }
    }

    /// Sends one request; its records are acknowledged, or handed on by [`Running::give_up`].
    async fn deliver(&self, batch: Batch, records: &[SinkRecord]) -> Result<()> {
        match self.sender.send(&self.method, &batch.url, Some(Bytes::from(batch.body))).await {
            Ok(()) => Ok(()),
            Err(failure) => self.give_up(records, &batch.records, self.failure_error(&failure)),
        }
    }

    /// The error a failed request stands for, worded as each upstream connector words it.
    fn failure_error(&self, failure: &Failure) -> ConnectError {
        match self.key_set {
            KeySet::Aiven => ConnectError::new(format!("Sending failed and no retries remain, stopping: {failure}")),
            KeySet::Confluent => {
                let message = match failure.status {
                    Some(status) => format!(
                        "Error while processing HTTP request with Url : {}, Status code : {}, Reason Phrase : {}, \
                         Response Content : {}",
                        failure.url,
                        status.as_u16(),
                        status.canonical_reason().unwrap_or(""),
                        failure.detail
                    ),
                    None => format!(
                        "Error while processing HTTP request with Url : {}, Error Message : {}",
                        failure.url, failure.detail
                    ),
                };
                ConnectError::new(if failure.attempts > 1 {
                    format!("{message} (after {} attempts)", failure.attempts)
                } else {
                    message
                })
            }
        }
    }

    /// Records that failed for good: to the dead letter queue with `errors.tolerance=all` (not with Aiven's
    /// batching, whose failed batch fails the task), else as the key set says: fail the task, log, or go on.
    fn give_up(&self, records: &[SinkRecord], indices: &[usize], error: ConnectError) -> Result<()> {
        let to_dlq = self.tolerate_all && self.on_error != (OnError::Aiven { batching: true });
        if to_dlq {
            for &index in indices {
                self.context.report_errant(records[index].clone(), error.clone())?;
            }
            tracing::debug!(records = indices.len(), "records reported as errant: {error}");
            return Ok(());
        }
        match self.on_error {
            OnError::Aiven { .. } | OnError::Fail => Err(error),
            OnError::Log => {
                tracing::error!(records = indices.len(), "{error}; going on (behavior.on.error=log)");
                Ok(())
            }
            OnError::Ignore => {
                tracing::debug!(records = indices.len(), "{error}; ignored (behavior.on.error=ignore)");
                Ok(())
            }
        }
    }
}

fn coordinates(record: &SinkRecord) -> String {
    format!("the record at topic {} partition {} offset {}", record.topic, record.kafka_partition, record.kafka_offset)
}
