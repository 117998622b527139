//! Produce requests between the HTTP handlers and the task: a handler submits a request's records and waits;
//! the task's `poll` takes them for the runtime's producer, and each acknowledgement (or refusal) fills in the
//! record's answer. Kafka reports records back in poll order, so the task only keeps a queue of where each polled
//! record's answer goes.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use connect_api::{ConnectError, RecordMetadata, SourceRecord};
use serde::Serialize;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// The most records accepted from HTTP and not yet answered; further requests wait for room.
pub const MAX_QUEUED_RECORDS: usize = 100_000;

/// The most records one `poll` hands to the runtime.
const MAX_POLL_RECORDS: usize = 10_000;

/// Where one record landed, or why it did not: one entry of a produce response's `offsets`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    /// Written.
    Written {
        /// The partition.
        partition: i32,
        /// The offset.
        offset: i64,
    },
    /// Refused.
    Failed {
        /// An HTTP-like status: 404 unknown topic or partition, 500 otherwise.
        error_code: u16,
        /// Why.
        message: String,
    },
}

/// One produce request on its way to Kafka.
struct Batch {
    records: Vec<SourceRecord>,
    reply: Option<oneshot::Sender<Vec<Outcome>>>,
    _permit: OwnedSemaphorePermit,
}

/// How long the runtime may go without polling the task before produce requests are refused: a paused connector
/// is not polled (the runtime polls a running one at least every [`crate::IDLE_POLL`]).
const NOT_POLLED: Duration = Duration::from_secs(3);

/// When the task last polled, in milliseconds since `epoch`.
struct LastPoll {
    epoch: Instant,
    millis: AtomicU64,
}

impl LastPoll {
    fn mark(&self) {
        self.millis.store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn recent(&self) -> bool {
        let last = Duration::from_millis(self.millis.load(Ordering::Relaxed));
        self.epoch.elapsed().saturating_sub(last) < NOT_POLLED
    }
}

/// The handlers' side.
#[derive(Clone)]
pub struct IntakeSender {
    batches: Sender<Batch>,
    room: Arc<Semaphore>,
    last_poll: Arc<LastPoll>,
}

impl IntakeSender {
    /// Whether the runtime is polling the task (it is not while the connector is paused).
    pub fn polled(&self) -> bool {
        self.last_poll.recent()
    }

    /// Hands `records` to the task and, unless `wait` is false, waits until each has its outcome.
    pub async fn produce(&self, records: Vec<SourceRecord>, wait: bool) -> Result<Vec<Outcome>, ApiError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        if !self.polled() {
            return Err(ApiError::new(
                503,
                "The Bridge connector is paused or stopping: records are accepted again once it runs",
            ));
        }
        let wanted = records.len().min(MAX_QUEUED_RECORDS) as u32;
        let permit = self.room.clone().acquire_many_owned(wanted).await.map_err(|_| stopping())?;
        let (tx, rx) = oneshot::channel();
        let reply = wait.then_some(tx);
        self.batches.send(Batch { records, reply, _permit: permit }).map_err(|_| stopping())?;
        if !wait {
            return Ok(Vec::new());
        }
        rx.await.map_err(|_| stopping())
    }
}

fn stopping() -> ApiError {
    ApiError::internal("The Bridge is stopping; the records may not have been sent")
}

struct Pending {
    outcomes: Vec<Option<Outcome>>,
    missing: usize,
    reply: Option<oneshot::Sender<Vec<Outcome>>>,
    _permit: OwnedSemaphorePermit,
}

/// The task's side: takes requests for `poll` and routes acknowledgements back.
pub struct Intake {
    batches: Receiver<Batch>,
    last_poll: Arc<LastPoll>,
    /// Per polled record, in poll order: its request and its index there.
    order: VecDeque<(u64, usize)>,
    pending: HashMap<u64, Pending>,
    next_id: u64,
}

impl Intake {
    /// A new intake and the sender for the handlers.
    pub fn new() -> (Intake, IntakeSender) {
        let (tx, rx) = mpsc::channel();
        let last_poll = Arc::new(LastPoll { epoch: Instant::now(), millis: AtomicU64::new(0) });
        let intake = Intake {
            batches: rx,
            last_poll: last_poll.clone(),
            order: VecDeque::new(),
            pending: HashMap::new(),
            next_id: 0,
        };
        (intake, IntakeSender { batches: tx, room: Arc::new(Semaphore::new(MAX_QUEUED_RECORDS)), last_poll })
    }

    /// Records handed out and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.order.len()
    }

    /// The records of the requests that arrived, waiting up to `wait` for the first.
    pub fn take(&mut self, wait: Duration) -> Vec<SourceRecord> {
        self.last_poll.mark();
        let first = match self.batches.recv_timeout(wait) {
            Ok(batch) => batch,
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return Vec::new(),
        };
        let mut records = Vec::new();
        let mut next = Some(first);
        while let Some(batch) = next {
            let id = self.next_id;
            self.next_id += 1;
            let count = batch.records.len();
            self.order.extend((0..count).map(|i| (id, i)));
            records.extend(batch.records);
            self.pending.insert(
                id,
                Pending { outcomes: vec![None; count], missing: count, reply: batch.reply, _permit: batch._permit },
            );
            next = if records.len() < MAX_POLL_RECORDS { self.batches.try_recv().ok() } else { None };
        }
        records
    }

    fn settle(&mut self, outcome: Outcome) {
        let Some((id, index)) = self.order.pop_front() else {
            tracing::warn!("the Bridge got an acknowledgement for a record it did not send");
            return;
        };
        let Some(pending) = self.pending.get_mut(&id) else { return };
        if pending.outcomes[index].replace(outcome).is_none() {
            pending.missing -= 1;
        }
        if pending.missing == 0 {
            let done = self.pending.remove(&id).expect("present");
            if let Some(reply) = done.reply {
                // The client may have gone; its records were written all the same.
                let _ = reply.send(done.outcomes.into_iter().map(|o| o.expect("all settled")).collect());
            }
        }
    }

    /// The next record in poll order was acknowledged (`None`: dropped before Kafka, by a transformation).
    pub fn acknowledged(&mut self, metadata: Option<&RecordMetadata>) {
        let outcome = match metadata {
            Some(m) => Outcome::Written { partition: m.partition, offset: m.offset },
            None => Outcome::Failed { error_code: 500, message: "The record was dropped by a transformation".into() },
        };
        self.settle(outcome);
    }

    /// The next record in poll order was refused by Kafka.
    pub fn failed(&mut self, record: &SourceRecord, error: &ConnectError) {
        self.settle(failure(record, error.message()));
    }
}

/// The answer for a record Kafka refused: 404 for an unknown topic or partition (as Strimzi answers the Java
/// client's "not present in metadata"), 500 with the reason otherwise.
fn failure(record: &SourceRecord, reason: &str) -> Outcome {
    let lower = reason.to_ascii_lowercase();
    let topic = record.topic.as_str();
    if lower.contains("unknown partition") || lower.contains("unknownpartition") {
        let partition: Option<i32> = record.kafka_partition.into();
        let message = match partition {
            Some(p) => format!("Partition {p} of topic {topic} is not present in metadata."),
            None => format!("A partition of topic {topic} is not present in metadata."),
        };
        Outcome::Failed { error_code: 404, message }
    } else if lower.contains("unknown topic") || lower.contains("unknowntopic") {
        Outcome::Failed { error_code: 404, message: format!("Topic {topic} not present in metadata.") }
    } else {
        Outcome::Failed { error_code: 500, message: reason.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_api::{SourceMap, Value};

    fn record(partition: Option<i32>) -> SourceRecord {
        let mut r = SourceRecord::new(SourceMap::new(), SourceMap::new(), "t".to_string(), None, Value::Null);
        r.kafka_partition = partition.into();
        r
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn answers_follow_poll_order_across_requests() {
        let (mut intake, sender) = Intake::new();
        let first = tokio::spawn({
            let sender = sender.clone();
            async move { sender.produce(vec![record(None), record(Some(7))], true).await }
        });
        tokio::task::yield_now().await;
        let mut taken = Vec::new();
        while taken.is_empty() {
            taken = tokio::task::block_in_place(|| intake.take(Duration::from_millis(50)));
        }
        let second = tokio::spawn({
            let sender = sender.clone();
            async move { sender.produce(vec![record(None)], true).await }
        });
        let mut more = Vec::new();
        while more.is_empty() {
            more = tokio::task::block_in_place(|| intake.take(Duration::from_millis(50)));
        }
        assert_eq!((taken.len(), more.len(), intake.in_flight()), (2, 1, 3));
        let meta = |partition, offset| RecordMetadata { topic: "t".into(), partition, offset };
        intake.acknowledged(Some(&meta(0, 10)));
        intake.failed(&taken[1], &ConnectError::new("... UnknownPartition (Local: Unknown partition)"));
        intake.acknowledged(Some(&meta(1, 3)));
        assert_eq!(
            first.await.unwrap().unwrap(),
            vec![
                Outcome::Written { partition: 0, offset: 10 },
                Outcome::Failed {
                    error_code: 404,
                    message: "Partition 7 of topic t is not present in metadata.".into()
                }
            ]
        );
        assert_eq!(second.await.unwrap().unwrap(), vec![Outcome::Written { partition: 1, offset: 3 }]);
        assert_eq!(intake.in_flight(), 0);
    }

    #[test]
    fn other_refusals_are_500_with_the_reason() {
        let outcome = failure(&record(None), "Broker: Message size too large");
        assert_eq!(outcome, Outcome::Failed { error_code: 500, message: "Broker: Message size too large".into() });
    }
}
