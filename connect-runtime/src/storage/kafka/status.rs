//! The status topic store (Kafka Connect's `KafkaStatusBackingStore`): the state of every connector and task,
//! written by the worker that runs it.
//!
//! Statuses become visible only once read back from the topic. `put_safe` never blocks its caller (task threads)
//! and never overwrites another worker's status from an older generation: a zombie worker cannot hide the state
//! reported by the one that took its work over.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::storage::StorageError;
use crate::worker::status::{State, Status, StatusKey, StatusSink, TaskId};
use serde_json::{json, Value as Json};

use super::log::{KafkaBasedLog, LogRecord, OnDelivery};
use super::KafkaStoreConfig;

const CONNECTOR_PREFIX: &str = "status-connector-";
const TASK_PREFIX: &str = "status-task-";
/// KIP-558 active-topic records: `status-topic-<topic>:connector-<connector>`.
const TOPIC_PREFIX: &str = "status-topic-";
const TOPIC_CONNECTOR_SEPARATOR: &str = ":connector-";

/// A status as stored in the topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredStatus {
    /// The state.
    pub state: State,
    /// Why it failed, for `FAILED`.
    pub trace: Option<String>,
    /// The worker that wrote it (`host:port`).
    pub worker_id: String,
    /// The group generation of that worker when it wrote it.
    pub generation: i32,
}

impl StoredStatus {
    /// Kafka Connect's `putSafe` rule: no status yet, the same worker, or a generation at least as new. In
    /// addition, a worker never overwrites another worker's status with UNASSIGNED: that only says it stopped its
    /// own copy, while the other worker already runs the connector or task (brokers that answer the leader before
    /// the other members rejoined, as tansu 0.6.0 does, can let a revocation arrive after the reassignment).
    fn may_replace(&self, previous: Option<&StoredStatus>) -> bool {
        previous.is_none_or(|p| {
            p.worker_id == self.worker_id || (p.generation <= self.generation && self.state != State::Unassigned)
        })
    }
}

/// What `put_safe` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutOutcome {
    /// Handed to the producer.
    Sent,
    /// Not written: another worker wrote a newer status (or the producer refused the record, which is logged).
    Skipped,
}

fn state_name(name: &str) -> Option<State> {
    Some(match name {
        "UNASSIGNED" => State::Unassigned,
        "RUNNING" => State::Running,
        "PAUSED" => State::Paused,
        "FAILED" => State::Failed,
        "RESTARTING" => State::Restarting,
        "STOPPED" => State::Stopped,
        "DESTROYED" => State::Destroyed,
        _ => return None,
    })
}

fn record_key(key: &StatusKey) -> String {
    match key {
        StatusKey::Connector(name) => format!("{CONNECTOR_PREFIX}{name}"),
        StatusKey::Task(id) => format!("{TASK_PREFIX}{}-{}", id.connector, id.task),
    }
}

/// `{"state":..,"trace":..,"worker_id":..,"generation":..}`, or a tombstone for `DESTROYED`.
fn encode(status: &StoredStatus) -> Option<Vec<u8>> {
    if status.state == State::Destroyed {
        return None;
    }
    let value = json!({
        "state": status.state.to_string(),
        "trace": status.trace,
        "worker_id": status.worker_id,
        "generation": status.generation,
    });
    Some(value.to_string().into_bytes())
}

fn decode(value: &[u8]) -> Result<StoredStatus, String> {
    let json: Json = serde_json::from_slice(value).map_err(|e| format!("not JSON: {e}"))?;
    let state = json.get("state").and_then(Json::as_str).and_then(state_name);
    let worker_id = json.get("worker_id").and_then(Json::as_str);
    let generation = json.get("generation").and_then(Json::as_i64).and_then(|g| i32::try_from(g).ok());
    let trace = match json.get("trace") {
        None | Some(Json::Null) => Some(None),
        Some(Json::String(trace)) => Some(Some(trace.clone())),
        Some(_) => None,
    };
    match (state, trace, worker_id, generation) {
        (Some(state), Some(trace), Some(worker_id), Some(generation)) => {
            Ok(StoredStatus { state, trace, worker_id: worker_id.to_string(), generation })
        }
        _ => Err(format!("needs state, worker_id, generation and an optional trace: {json}")),
    }
}

/// The statuses read from the topic.
#[derive(Default)]
struct Statuses {
    connectors: BTreeMap<String, StoredStatus>,
    tasks: BTreeMap<TaskId, StoredStatus>,
    /// Active topics by connector (KIP-558).
    topics: BTreeMap<String, BTreeSet<String>>,
}

/// The key of an active-topic record.
fn topic_record_key(connector: &str, topic: &str) -> String {
    format!("{TOPIC_PREFIX}{topic}{TOPIC_CONNECTOR_SEPARATOR}{connector}")
}

impl Statuses {
    fn get(&self, key: &StatusKey) -> Option<&StoredStatus> {
        match key {
            StatusKey::Connector(name) => self.connectors.get(name),
            StatusKey::Task(id) => self.tasks.get(id),
        }
    }

    fn apply(&mut self, key: Option<&[u8]>, value: Option<&[u8]>) {
        let Some(key) = key.and_then(|k| std::str::from_utf8(k).ok()) else {
            tracing::warn!("status topic: discarding a record without a UTF-8 key");
            return;
        };
        let parsed = if let Some(connector) = key.strip_prefix(CONNECTOR_PREFIX).filter(|c| !c.is_empty()) {
            StatusKey::Connector(connector.to_string())
        } else if let Some(task) = key.strip_prefix(TASK_PREFIX) {
            let id = task.rsplit_once('-').and_then(|(c, n)| Some((c, n.parse::<u32>().ok()?)));
            match id.filter(|(c, _)| !c.is_empty()) {
                Some((connector, task)) => StatusKey::Task(TaskId { connector: connector.to_string(), task }),
                None => {
                    tracing::warn!("status topic: discarding record with invalid task status key {key}");
                    return;
                }
            }
        } else if let Some(rest) = key.strip_prefix(TOPIC_PREFIX) {
            self.apply_topic(key, rest, value);
            return;
        } else {
            tracing::warn!("status topic: discarding record with invalid key {key}");
            return;
        };
        let Some(value) = value else {
            tracing::trace!("status topic: {parsed} removed");
            match parsed {
                StatusKey::Connector(name) => {
                    // As Kafka Connect: a connector's tombstone also forgets its tasks.
                    self.tasks.retain(|id, _| id.connector != name);
                    self.connectors.remove(&name);
                }
                StatusKey::Task(id) => {
                    self.tasks.remove(&id);
                }
            }
            return;
        };
        match decode(value) {
            Ok(status) => match parsed {
                StatusKey::Connector(name) => {
                    self.connectors.insert(name, status);
                }
                StatusKey::Task(id) => {
                    self.tasks.insert(id, status);
                }
            },
            Err(e) => tracing::warn!("status topic: discarding the status of {parsed}: {e}"),
        }
    }
}

impl Statuses {
    fn apply_topic(&mut self, key: &str, rest: &str, value: Option<&[u8]>) {
        // Topic names cannot hold ':', so the first separator ends the topic.
        let Some((topic, connector)) = rest.split_once(TOPIC_CONNECTOR_SEPARATOR) else {
            tracing::warn!("status topic: discarding record with invalid topic status key {key}");
            return;
        };
        match value {
            None => {
                if let Some(topics) = self.topics.get_mut(connector) {
                    topics.remove(topic);
                    if topics.is_empty() {
                        self.topics.remove(connector);
                    }
                }
            }
            Some(_) => {
                self.topics.entry(connector.to_string()).or_default().insert(topic.to_string());
            }
        }
    }
}

/// `{"topic":{"name":..,"connector":..,"task":..,"discoverTimestamp":..}}`, Kafka Connect's `TopicStatus`.
fn encode_topic(topic: &str, id: &TaskId) -> Vec<u8> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    json!({ "topic": { "name": topic, "connector": id.connector, "task": id.task, "discoverTimestamp": now } })
        .to_string()
        .into_bytes()
}

/// Connector and task statuses in the status topic.
pub struct KafkaStatusStore {
    log: KafkaBasedLog,
    statuses: Arc<Mutex<Statuses>>,
    timeout: Duration,
}

impl KafkaStatusStore {
    /// Opens the store and reads the whole topic.
    pub fn open(cfg: &KafkaStoreConfig) -> Result<Self, StorageError> {
        let statuses = Arc::new(Mutex::new(Statuses::default()));
        let apply = {
            let statuses = statuses.clone();
            Box::new(move |r: &LogRecord<'_>| statuses.lock().unwrap_or_else(|p| p.into_inner()).apply(r.key, r.value))
        };
        let log = KafkaBasedLog::start(cfg, "statuses", &[], apply)?;
        log.read_to_end(cfg.timeout)?;
        Ok(KafkaStatusStore { log, statuses, timeout: cfg.timeout })
    }

    /// Writes a status whatever is stored, and waits for the broker's acknowledgement. `DESTROYED` writes a
    /// tombstone.
    pub fn put(&self, key: &StatusKey, status: &StoredStatus) -> Result<(), StorageError> {
        self.log.send_all(&[(record_key(key).into_bytes(), encode(status))], self.timeout).map(drop)
    }

    /// Writes a status unless another worker wrote one from a newer generation; does not wait (failures are
    /// logged).
    pub fn put_safe(&self, key: &StatusKey, status: &StoredStatus) -> PutOutcome {
        {
            let statuses = self.statuses.lock().unwrap_or_else(|p| p.into_inner());
            let previous = statuses.get(key);
            if !status.may_replace(previous) {
                if let Some(previous) = previous {
                    tracing::debug!(
                        "not writing {} of {key} (generation {}): worker {} wrote {} in generation {}",
                        status.state,
                        status.generation,
                        previous.worker_id,
                        previous.state,
                        previous.generation
                    );
                }
                return PutOutcome::Skipped;
            }
        }
        let record_key = record_key(key);
        let value = encode(status);
        match self.log.send(record_key.as_bytes(), value.as_deref(), OnDelivery::Log { key: record_key.clone() }) {
            Ok(()) => PutOutcome::Sent,
            Err(e) => {
                tracing::error!("failed to write the status of {key}: {e}");
                PutOutcome::Skipped
            }
        }
    }

    /// Waits until every status sent so far has been acknowledged (before a rebalance, as Kafka Connect does).
    pub fn flush(&self, timeout: Duration) -> Result<(), StorageError> {
        self.log.flush(timeout)
    }

    /// Reads the topic up to its current end.
    pub fn refresh(&self, timeout: Duration) -> Result<(), StorageError> {
        self.log.read_to_end(timeout)
    }

    /// The stored status of a connector.
    pub fn get_connector(&self, name: &str) -> Option<StoredStatus> {
        self.statuses.lock().unwrap_or_else(|p| p.into_inner()).connectors.get(name).cloned()
    }

    /// The stored status of a task.
    pub fn get_task(&self, id: &TaskId) -> Option<StoredStatus> {
        self.statuses.lock().unwrap_or_else(|p| p.into_inner()).tasks.get(id).cloned()
    }

    /// The topics `connector` has used, sorted.
    pub fn topics(&self, connector: &str) -> Vec<String> {
        let statuses = self.statuses.lock().unwrap_or_else(|p| p.into_inner());
        statuses.topics.get(connector).map(|t| t.iter().cloned().collect()).unwrap_or_default()
    }

    /// Records that task `id` used `topic`, unless the connector is already known to use it. Does not wait.
    pub fn put_topic(&self, id: &TaskId, topic: &str) {
        {
            let mut statuses = self.statuses.lock().unwrap_or_else(|p| p.into_inner());
            // Called once per batch: a known topic costs a lookup, no allocation.
            if statuses.topics.get(&id.connector).is_some_and(|t| t.contains(topic)) {
                return;
            }
            // Marked at once, so concurrent tasks of the connector write it once.
            statuses.topics.entry(id.connector.clone()).or_default().insert(topic.to_string());
        }
        let key = topic_record_key(&id.connector, topic);
        tracing::debug!("connector {} uses topic {topic}", id.connector);
        if let Err(e) =
            self.log.send(key.as_bytes(), Some(&encode_topic(topic, id)), OnDelivery::Log { key: key.clone() })
        {
            tracing::error!("failed to record that connector {} uses topic {topic}: {e}", id.connector);
        }
    }

    /// Forgets every topic `connector` has used: a tombstone for each, acknowledged before returning.
    pub fn reset_topics(&self, connector: &str) -> Result<(), StorageError> {
        let topics = self.topics(connector);
        let records: Vec<(Vec<u8>, Option<Vec<u8>>)> =
            topics.iter().map(|t| (topic_record_key(connector, t).into_bytes(), None)).collect();
        if records.is_empty() {
            return Ok(());
        }
        self.log.send_all(&records, self.timeout)?;
        let mut statuses = self.statuses.lock().unwrap_or_else(|p| p.into_inner());
        statuses.topics.remove(connector);
        Ok(())
    }

    /// The connectors that have a stored status.
    pub fn connectors(&self) -> Vec<String> {
        self.statuses.lock().unwrap_or_else(|p| p.into_inner()).connectors.keys().cloned().collect()
    }
}

impl StatusSink for KafkaStatusStore {
    fn put(&self, key: &StatusKey, status: &Status, generation: i32) {
        let stored = StoredStatus {
            state: status.state,
            trace: status.trace.clone(),
            worker_id: status.worker_id.clone(),
            generation,
        };
        self.put_safe(key, &stored);
    }

    fn put_topic(&self, id: &TaskId, topic: &str) {
        KafkaStatusStore::put_topic(self, id, topic);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: State, worker: &str, generation: i32) -> StoredStatus {
        StoredStatus { state, trace: None, worker_id: worker.to_string(), generation }
    }

    #[test]
    fn values_are_written_as_kafka_connect_writes_them() {
        let running = status(State::Running, "w1:8083", 3);
        assert_eq!(
            encode(&running).unwrap(),
            br#"{"state":"RUNNING","trace":null,"worker_id":"w1:8083","generation":3}"#
        );
        let failed = StoredStatus { trace: Some("boom\n\tat X".into()), ..status(State::Failed, "w", 0) };
        assert_eq!(
            encode(&failed).unwrap(),
            br#"{"state":"FAILED","trace":"boom\n\tat X","worker_id":"w","generation":0}"#
        );
        assert_eq!(decode(&encode(&failed).unwrap()), Ok(failed));
        assert_eq!(encode(&status(State::Destroyed, "w", 1)), None);
        let task = StatusKey::Task(TaskId { connector: "my-conn".into(), task: 2 });
        assert_eq!(record_key(&task), "status-task-my-conn-2");
        assert_eq!(record_key(&StatusKey::Connector("c".into())), "status-connector-c");
    }

    #[test]
    fn fencing_follows_put_safe() {
        let stored = status(State::Running, "w2", 5);
        assert!(status(State::Unassigned, "w1", 4).may_replace(None));
        assert!(!status(State::Unassigned, "w1", 4).may_replace(Some(&stored)));
        assert!(status(State::Failed, "w2", 1).may_replace(Some(&stored)), "same worker");
        assert!(status(State::Running, "w1", 5).may_replace(Some(&stored)), "same generation");
        assert!(status(State::Running, "w1", 6).may_replace(Some(&stored)));
        assert!(
            !status(State::Unassigned, "w1", 9).may_replace(Some(&stored)),
            "a newer UNASSIGNED of another worker's task"
        );
    }

    #[test]
    fn records_are_parsed_and_bad_ones_skipped() {
        let mut statuses = Statuses::default();
        let apply =
            |s: &mut Statuses, key: &str, value: Option<&str>| s.apply(Some(key.as_bytes()), value.map(str::as_bytes));
        apply(
            &mut statuses,
            "status-connector-my-conn",
            Some(r#"{"state":"RUNNING","trace":null,"worker_id":"w","generation":1}"#),
        );
        apply(
            &mut statuses,
            "status-task-my-conn-0",
            Some(r#"{"state":"FAILED","trace":"t","worker_id":"w","generation":2}"#),
        );
        apply(&mut statuses, "status-task-my-conn-1", Some(r#"{"state":"RUNNING","worker_id":"w","generation":2}"#));
        apply(&mut statuses, "status-task-other-0", Some(r#"{"state":"RUNNING","worker_id":"w","generation":2}"#));
        apply(&mut statuses, "status-task-my-conn-x", Some("{}"));
        apply(&mut statuses, "status-connector-bad", Some(r#"{"state":"DANCING","worker_id":"w","generation":1}"#));
        apply(&mut statuses, "status-connector-bad2", Some(r#"{"state":"RUNNING","worker_id":"w"}"#));
        apply(&mut statuses, "status-connector-bad3", Some("garbage"));
        apply(&mut statuses, "status-topic-t:connector-my-conn", Some(r#"{"topic":{}}"#));
        apply(&mut statuses, "what", Some("{}"));
        assert_eq!(statuses.connectors.keys().collect::<Vec<_>>(), ["my-conn"]);
        assert_eq!(statuses.tasks.len(), 3);
        let t0 = &statuses.tasks[&TaskId { connector: "my-conn".into(), task: 0 }];
        assert_eq!((t0.state, t0.trace.as_deref(), t0.generation), (State::Failed, Some("t"), 2));
        apply(&mut statuses, "status-task-my-conn-1", None);
        assert_eq!(statuses.tasks.len(), 2);
        apply(&mut statuses, "status-connector-my-conn", None);
        assert!(statuses.connectors.is_empty());
        assert_eq!(statuses.tasks.keys().map(|id| id.connector.as_str()).collect::<Vec<_>>(), ["other"]);
        assert_eq!(statuses.topics["my-conn"].iter().collect::<Vec<_>>(), ["t"]);
        apply(&mut statuses, "status-topic-u:connector-my-conn", Some(r#"{"topic":{}}"#));
        apply(&mut statuses, "status-topic-t:connector-my-conn", None);
        assert_eq!(statuses.topics["my-conn"].iter().collect::<Vec<_>>(), ["u"]);
        apply(&mut statuses, "status-topic-u:connector-my-conn", None);
        assert!(statuses.topics.is_empty());
        let id = TaskId { connector: "c".into(), task: 1 };
        let value: Json = serde_json::from_slice(&encode_topic("orders", &id)).unwrap();
        assert_eq!(value["topic"]["name"], "orders");
        assert_eq!(value["topic"]["connector"], "c");
        assert_eq!(value["topic"]["task"], 1);
        assert!(value["topic"]["discoverTimestamp"].as_i64().unwrap() > 0);
        assert_eq!(topic_record_key("c", "orders"), "status-topic-orders:connector-c");
    }
}
