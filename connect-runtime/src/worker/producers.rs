//! Producers shared by the source tasks of one worker.
//!
//! Kafka Connect gives every source task a producer of its own. A librdkafka producer costs about 3 MiB and five
//! threads (its main thread, one per broker, and the polling thread), so a worker with hundreds of tasks would
//! spend most of its memory and threads on producers. Here the source tasks whose producer settings are equal
//! share one producer; a connector with `producer.override.*` settings gets a producer of its own, shared only by
//! its tasks with the same settings.
//!
//! Sharing keeps what a producer per task gives:
//! - **Acknowledgements per task**: each record carries its task's acknowledgement channel and sequence number as
//!   its delivery opaque, so a delivery report reaches only the task that sent the record, and a task retires and
//!   commits only its own records.
//! - **Ordering per task and partition**: one producer, idempotent, keeps the order of the sends to a partition,
//!   and a task's sends are in its poll order.
//! - **Fair back-pressure**: a task may have at most its share of the producer's queue in flight
//!   ([`ProducerLease::in_flight_limit`]), so one busy task cannot fill the queue and starve the others.
//! - **Isolation**: a task that stops waits only for its own records, never flushes the others'; a task that
//!   fails fails alone. A producer that hit a fatal error (librdkafka's idempotence errors) is never handed out
//!   again: the tasks that used it fail on their own records, and restarted tasks get a new producer.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, Weak};

use rdkafka::producer::{DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientConfig, ClientContext, Message};

/// The most records one task may have sent but not yet seen acknowledged; `poll` waits beyond that.
pub const MAX_IN_FLIGHT: usize = 50_000;

/// The least a task may have in flight however many tasks share its producer.
const MIN_IN_FLIGHT: usize = 500;

/// librdkafka's default `queue.buffering.max.messages`.
const DEFAULT_QUEUE_MESSAGES: usize = 100_000;

/// What became of a record handed to the producer (or skipped before it).
pub(crate) enum Outcome {
    /// Written at this partition and offset.
    Written(i32, i64),
    /// Refused by Kafka.
    Failed(String),
    /// Dropped by a transformation, or skipped after a tolerated failure: never sent, yet done.
    Skipped,
}

/// A delivery report for a task: the sequence number of its record and what became of it.
pub(crate) struct Ack {
    pub seq: u64,
    pub outcome: Outcome,
}

/// Where the delivery report of one record goes: its task's channel, and its sequence number in that task.
pub(crate) struct Route {
    pub acks: Sender<Ack>,
    pub seq: u64,
}

/// Hands each delivery report, on librdkafka's polling thread, to the task that sent the record.
pub(crate) struct RoutingContext;

impl ClientContext for RoutingContext {}

impl ProducerContext for RoutingContext {
    type DeliveryOpaque = Box<Route>;

    fn delivery(&self, result: &DeliveryResult<'_>, route: Box<Route>) {
        let outcome = match result {
            Ok(message) => Outcome::Written(message.partition(), message.offset()),
            Err((err, _)) => Outcome::Failed(err.to_string()),
        };
        // The task may be gone (stopped, failed or abandoned); nothing waits for this report then.
        let _ = route.acks.send(Ack { seq: route.seq, outcome });
    }
}

/// One producer and the number of tasks using it.
pub(crate) struct SharedProducer {
    producer: ThreadedProducer<RoutingContext>,
    /// `queue.buffering.max.messages`: the records the producer holds at most, shared out among its tasks.
    capacity: usize,
    sharers: AtomicUsize,
}

/// A task's use of a shared producer; the producer is closed when its last lease is dropped.
pub(crate) struct ProducerLease {
    shared: Arc<SharedProducer>,
}

impl ProducerLease {
    /// The producer.
    pub fn producer(&self) -> &ThreadedProducer<RoutingContext> {
        &self.shared.producer
    }

    /// How many records this task may have in flight now: its share of the producer's queue, at least
    /// [`MIN_IN_FLIGHT`] and at most [`MAX_IN_FLIGHT`].
    pub fn in_flight_limit(&self) -> usize {
        let sharers = self.shared.sharers.load(Ordering::Relaxed).max(1);
        (self.shared.capacity / sharers).clamp(MIN_IN_FLIGHT, MAX_IN_FLIGHT)
    }

    /// How many tasks use this producer (this one included).
    pub fn sharers(&self) -> usize {
        self.shared.sharers.load(Ordering::Relaxed)
    }
}

impl Drop for ProducerLease {
    fn drop(&mut self) {
        self.shared.sharers.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The worker's producers for source tasks, one per distinct set of producer settings.
#[derive(Default)]
pub(crate) struct ProducerPool {
    producers: Mutex<HashMap<String, Weak<SharedProducer>>>,
}

impl ProducerPool {
    /// A lease on the producer with `config`, created when no live, healthy one has these settings.
    pub fn acquire(&self, config: &ClientConfig) -> Result<ProducerLease, String> {
        let key = settings_key(config);
        let mut producers = self.producers.lock().unwrap_or_else(|p| p.into_inner());
        producers.retain(|_, weak| weak.strong_count() > 0);
        if let Some(shared) = producers.get(&key).and_then(Weak::upgrade) {
            match shared.producer.client().fatal_error() {
                None => {
                    shared.sharers.fetch_add(1, Ordering::Relaxed);
                    return Ok(ProducerLease { shared });
                }
                Some((code, reason)) => {
                    tracing::warn!("a shared producer failed fatally ({code:?}: {reason}); new tasks get a new one")
                }
            }
        }
        let producer: ThreadedProducer<RoutingContext> =
            config.create_with_context(RoutingContext).map_err(|e| e.to_string())?;
        let capacity = config
            .get("queue.buffering.max.messages")
            .and_then(|v| v.trim().parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_QUEUE_MESSAGES);
        let shared = Arc::new(SharedProducer { producer, capacity, sharers: AtomicUsize::new(1) });
        producers.insert(key, Arc::downgrade(&shared));
        Ok(ProducerLease { shared })
    }

    /// How many producers are alive.
    #[cfg(test)]
    pub fn live(&self) -> usize {
        let producers = self.producers.lock().unwrap_or_else(|p| p.into_inner());
        producers.values().filter(|weak| weak.strong_count() > 0).count()
    }
}

/// The settings of a producer as one string, in key order: equal settings, equal keys.
fn settings_key(config: &ClientConfig) -> String {
    let sorted: BTreeMap<&str, &str> = config.config_map().iter().map(|(k, v)| (*k, *v)).collect();
    let mut key = format!("log_level={:?}", config.log_level);
    for (k, v) in sorted {
        key.push('\n');
        key.push_str(k);
        key.push('=');
        key.push_str(v);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", "127.0.0.1:1");
        for (k, v) in pairs {
            config.set(*k, *v);
        }
        config
    }

    #[test]
    fn equal_settings_share_a_producer_and_others_get_their_own() {
        let pool = ProducerPool::default();
        let a = pool.acquire(&config(&[("linger.ms", "5")])).unwrap();
        let b = pool.acquire(&config(&[("linger.ms", "5")])).unwrap();
        assert!(Arc::ptr_eq(&a.shared, &b.shared));
        assert_eq!(a.sharers(), 2);
        let c = pool.acquire(&config(&[("linger.ms", "50")])).unwrap();
        assert!(!Arc::ptr_eq(&a.shared, &c.shared));
        assert_eq!(pool.live(), 2);
        drop(c);
        assert_eq!(pool.live(), 1);
        drop(a);
        assert_eq!(b.sharers(), 1);
        drop(b);
        assert_eq!(pool.live(), 0);
    }

    #[test]
    fn each_task_gets_its_share_of_the_queue() {
        let pool = ProducerPool::default();
        let settings = config(&[("queue.buffering.max.messages", "100000")]);
        let first = pool.acquire(&settings).unwrap();
        assert_eq!(first.in_flight_limit(), MAX_IN_FLIGHT);
        let mut more: Vec<ProducerLease> = (0..9).map(|_| pool.acquire(&settings).unwrap()).collect();
        assert_eq!(first.in_flight_limit(), 10_000);
        more.extend((0..990).map(|_| pool.acquire(&settings).unwrap()));
        assert_eq!(first.in_flight_limit(), MIN_IN_FLIGHT);
        drop(more);
        assert_eq!(first.in_flight_limit(), MAX_IN_FLIGHT);
    }
}
