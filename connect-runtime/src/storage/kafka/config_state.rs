//! The config topic's records in Kafka Connect's format (`KafkaConfigBackingStore`) and the cluster state that
//! replaying them builds.
//!
//! Task configs are held back ("deferred") until their `commit-<connector>` record arrives and are applied only
//! if the commit finds all of them, so a reader never runs half of a task-config update. A record that cannot be
//! parsed is logged and skipped; replaying never fails.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::worker::status::TaskId;
use base64::Engine;
use connect_api::Config;
use serde_json::{json, Map, Value as Json};

const CONNECTOR_PREFIX: &str = "connector-";
const TASK_PREFIX: &str = "task-";
const COMMIT_PREFIX: &str = "commit-";
const TARGET_STATE_PREFIX: &str = "target-state-";
const SESSION_KEY: &str = "session-key";
const RESTART_PREFIX: &str = "restart-connector-";
const LOGGER_PREFIX: &str = "logger-cluster-";
/// Records this worker does not act on, skipped without complaint: KIP-618 task-count (fencing) records.
const IGNORED_PREFIXES: &[&str] = &["tasks-fencing-"];

/// What a connector should be doing (Kafka Connect's `TargetState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TargetState {
    /// Running (also the state of a connector without a target-state record).
    #[default]
    Started,
    /// Paused: instances exist but tasks do not process records.
    Paused,
    /// Stopped: no connector or task instances run (KIP-875).
    Stopped,
}

impl TargetState {
    /// The name written to the config topic.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetState::Started => "STARTED",
            TargetState::Paused => "PAUSED",
            TargetState::Stopped => "STOPPED",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        match name {
            "STARTED" => Some(TargetState::Started),
            "PAUSED" => Some(TargetState::Paused),
            "STOPPED" => Some(TargetState::Stopped),
            _ => None,
        }
    }
}

impl fmt::Display for TargetState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The key that signs internal REST requests (KIP-507), as the leader distributes it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKey {
    /// The raw key bytes.
    pub key: Vec<u8>,
    /// The key's algorithm, e.g. `HmacSHA256`.
    pub algorithm: String,
    /// When the leader created it, in milliseconds since the epoch.
    pub creation_timestamp: i64,
}

impl fmt::Debug for SessionKey {
    // The key is a secret: it never goes to a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionKey")
            .field("key", &"<redacted>")
            .field("algorithm", &self.algorithm)
            .field("creation_timestamp", &self.creation_timestamp)
            .finish()
    }
}

/// A snapshot of the config topic (Kafka Connect's `ClusterConfigState`).
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterConfigState {
    /// The offset after the last record read; -1 when nothing has been read (the group protocol's config
    /// offset).
    pub offset: i64,
    /// Connector configs by name.
    pub connector_configs: BTreeMap<String, Config>,
    /// Committed task configs.
    pub task_configs: BTreeMap<TaskId, Config>,
    /// Target states from `target-state-` records; a connector without one is started.
    pub target_states: BTreeMap<String, TargetState>,
    /// Task counts from the last commit of each connector (also for inconsistent connectors).
    pub task_counts: BTreeMap<String, u32>,
    /// Connectors whose last commit did not find all its task configs (compaction or a writer that died midway):
    /// their tasks must be regenerated.
    pub inconsistent: BTreeSet<String>,
    /// The latest session key.
    pub session_key: Option<SessionKey>,
    /// The latest restart request of each connector (KIP-745), with the offset of its record.
    pub restart_requests: BTreeMap<String, (i64, RestartRequest)>,
    /// The latest cluster-wide log level of each namespace (KIP-976), with the offset of its record.
    pub logger_levels: BTreeMap<String, (i64, String)>,
}

/// A `restart-connector-<name>` record: restart the connector's instances, with its tasks or not, all or only
/// the failed ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestartRequest {
    /// Restart the tasks too.
    pub include_tasks: bool,
    /// Only instances that are FAILED.
    pub only_failed: bool,
}

impl Default for ClusterConfigState {
    fn default() -> Self {
        ClusterConfigState {
            offset: -1,
            connector_configs: BTreeMap::new(),
            task_configs: BTreeMap::new(),
            target_states: BTreeMap::new(),
            task_counts: BTreeMap::new(),
            inconsistent: BTreeSet::new(),
            session_key: None,
            restart_requests: BTreeMap::new(),
            logger_levels: BTreeMap::new(),
        }
    }
}

impl ClusterConfigState {
    /// How many tasks `connector` should run: its committed count, or 0 while it is inconsistent or has no
    /// commit (Kafka Connect's `tasks(connector).size()`).
    pub fn task_count(&self, connector: &str) -> u32 {
        if self.inconsistent.contains(connector) {
            return 0;
        }
        self.task_counts.get(connector).copied().unwrap_or(0)
    }

    /// The target state of `connector`: `Started` when none was written.
    pub fn target_state(&self, connector: &str) -> TargetState {
        self.target_states.get(connector).copied().unwrap_or_default()
    }

    /// The committed task configs of `connector`, by task number (empty while it is inconsistent).
    pub fn task_configs_of(&self, connector: &str) -> Vec<Config> {
        (0..self.task_count(connector))
            .filter_map(|task| self.task_configs.get(&TaskId { connector: connector.to_string(), task }))
            .cloned()
            .collect()
    }
}

/// The key of a connector's config record.
pub(crate) fn connector_key(connector: &str) -> String {
    format!("{CONNECTOR_PREFIX}{connector}")
}

/// The key of a task's config record.
pub(crate) fn task_key(connector: &str, task: u32) -> String {
    format!("{TASK_PREFIX}{connector}-{task}")
}

/// The key of a connector's task-config commit.
pub(crate) fn commit_key(connector: &str) -> String {
    format!("{COMMIT_PREFIX}{connector}")
}

/// The key of a connector's target state.
pub(crate) fn target_state_key(connector: &str) -> String {
    format!("{TARGET_STATE_PREFIX}{connector}")
}

/// The key of the session key record.
pub(crate) fn session_key_key() -> String {
    SESSION_KEY.to_string()
}

/// The key of a connector's restart request.
pub(crate) fn restart_key(connector: &str) -> String {
    format!("{RESTART_PREFIX}{connector}")
}

/// The key of a cluster-wide log level.
pub(crate) fn logger_key(namespace: &str) -> String {
    format!("{LOGGER_PREFIX}{namespace}")
}

/// `{"include-tasks":..,"only-failed":..}`.
pub(crate) fn encode_restart(request: RestartRequest) -> Vec<u8> {
    json!({ "include-tasks": request.include_tasks, "only-failed": request.only_failed }).to_string().into_bytes()
}

/// `{"level":..}`.
pub(crate) fn encode_logger_level(level: &str) -> Vec<u8> {
    json!({ "level": level }).to_string().into_bytes()
}

/// `{"properties":{...}}`: a connector or task config.
pub(crate) fn encode_properties(config: &Config) -> Vec<u8> {
    let properties: Map<String, Json> = config.iter().map(|(k, v)| (k.clone(), Json::String(v.clone()))).collect();
    json!({ "properties": properties }).to_string().into_bytes()
}

/// `{"tasks":N}`: the commit of a connector's task configs.
pub(crate) fn encode_commit(tasks: u32) -> Vec<u8> {
    json!({ "tasks": tasks }).to_string().into_bytes()
}

/// `{"state":...,"state.v2":...}`: workers that predate `STOPPED` read `state`, so it says `PAUSED` then.
pub(crate) fn encode_target_state(state: TargetState) -> Vec<u8> {
    let v1 = if state == TargetState::Stopped { TargetState::Paused } else { state };
    json!({ "state": v1.as_str(), "state.v2": state.as_str() }).to_string().into_bytes()
}

/// `{"key":<base64>,"algorithm":...,"creation-timestamp":<ms>}`.
pub(crate) fn encode_session_key(key: &SessionKey) -> Vec<u8> {
    json!({
        "key": base64::engine::general_purpose::STANDARD.encode(&key.key),
        "algorithm": key.algorithm,
        "creation-timestamp": key.creation_timestamp,
    })
    .to_string()
    .into_bytes()
}

/// The state built by replaying the config topic, with the task configs still waiting for their commit.
#[derive(Debug, Default)]
pub(crate) struct ConfigReplay {
    state: ClusterConfigState,
    deferred: BTreeMap<String, BTreeMap<u32, Config>>,
}

impl ConfigReplay {
    /// The state so far.
    pub(crate) fn state(&self) -> &ClusterConfigState {
        &self.state
    }

    /// Applies the record at `offset`.
    pub(crate) fn apply(&mut self, offset: i64, key: Option<&[u8]>, value: Option<&[u8]>) {
        let value = match value.map(serde_json::from_slice::<Json>) {
            None | Some(Ok(Json::Null)) => None,
            Some(Ok(json)) => Some(json),
            Some(Err(e)) => {
                tracing::error!("config topic: skipping the record at offset {offset}: its value is not JSON: {e}");
                return;
            }
        };
        // As Kafka Connect: the offset moves past every record whose value could be read, whatever its key.
        self.state.offset = offset + 1;
        let Some(key) = key.and_then(|k| std::str::from_utf8(k).ok()) else {
            tracing::error!("config topic: discarding the record at offset {offset}: no UTF-8 key");
            return;
        };
        if let Some(connector) = key.strip_prefix(TARGET_STATE_PREFIX) {
            self.apply_target_state(connector, value);
        } else if let Some(connector) = key.strip_prefix(CONNECTOR_PREFIX) {
            self.apply_connector(connector, value);
        } else if let Some(task) = key.strip_prefix(TASK_PREFIX) {
            self.apply_task(key, task, value);
        } else if let Some(connector) = key.strip_prefix(COMMIT_PREFIX) {
            self.apply_commit(connector, value);
        } else if key == SESSION_KEY {
            self.apply_session_key(value);
        } else if let Some(connector) = key.strip_prefix(RESTART_PREFIX) {
            self.apply_restart(offset, connector, value);
        } else if let Some(namespace) = key.strip_prefix(LOGGER_PREFIX) {
            self.apply_logger_level(offset, namespace, value);
        } else if IGNORED_PREFIXES.iter().any(|p| key.starts_with(p)) {
            tracing::debug!("config topic: ignoring record {key} (not supported by this worker)");
        } else {
            tracing::error!("config topic: discarding record with invalid key {key}");
        }
    }

    fn apply_target_state(&mut self, connector: &str, value: Option<Json>) {
        let Some(value) = value else {
            tracing::debug!("config topic: target state of connector {connector} removed");
            self.state.target_states.remove(connector);
            return;
        };
        // Workers that know STOPPED write it in state.v2; older ones only write state.
        let field = value.get("state.v2").filter(|v| !v.is_null()).or_else(|| value.get("state"));
        match field.and_then(Json::as_str).and_then(TargetState::parse) {
            Some(state) => {
                tracing::debug!("config topic: target state of connector {connector} is {state}");
                self.state.target_states.insert(connector.to_string(), state);
            }
            None => tracing::error!("config topic: invalid target state for connector {connector}: {value}"),
        }
    }

    fn apply_connector(&mut self, connector: &str, value: Option<Json>) {
        let Some(value) = value else {
            tracing::info!("config topic: connector {connector} removed");
            let state = &mut self.state;
            state.connector_configs.remove(connector);
            state.task_counts.remove(connector);
            state.task_configs.retain(|id, _| id.connector != connector);
            state.target_states.remove(connector);
            state.inconsistent.remove(connector);
            self.deferred.remove(connector);
            return;
        };
        match properties(&value) {
            Ok(config) => {
                tracing::debug!("config topic: configuration of connector {connector} updated");
                self.state.connector_configs.insert(connector.to_string(), config);
            }
            Err(e) => tracing::error!("config topic: invalid configuration for connector {connector}: {e}"),
        }
    }

    fn apply_task(&mut self, key: &str, task: &str, value: Option<Json>) {
        let parsed = task.rsplit_once('-').and_then(|(c, n)| Some((c, n.parse::<u32>().ok()?)));
        let Some((connector, task)) = parsed.filter(|(c, _)| !c.is_empty()) else {
            tracing::error!("config topic: ignoring task configuration: {key} is not a task config key");
            return;
        };
        let Some(value) = value else {
            tracing::error!("config topic: ignoring task configuration {key}: it is unexpectedly null");
            return;
        };
        match properties(&value) {
            Ok(config) => {
                tracing::debug!("config topic: task config {connector}-{task} waits for its commit");
                self.deferred.entry(connector.to_string()).or_default().insert(task, config);
            }
            Err(e) => tracing::error!("config topic: invalid configuration for task {connector}-{task}: {e}"),
        }
    }

    fn apply_commit(&mut self, connector: &str, value: Option<Json>) {
        let count = value.as_ref().and_then(|v| v.get("tasks")).and_then(Json::as_i64);
        let Some(count) = count.and_then(|n| u32::try_from(n).ok()) else {
            tracing::error!(
                "config topic: ignoring the task commit of connector {connector}: invalid value {}",
                value.unwrap_or(Json::Null)
            );
            return;
        };
        // Whatever happens, the task configs seen so far are used up by this commit.
        let deferred = self.deferred.remove(connector).unwrap_or_default();
        let state = &mut self.state;
        if !state.connector_configs.contains_key(connector) {
            tracing::debug!("config topic: ignoring the task commit of unknown connector {connector}");
            return;
        }
        // All of 0..count must be there; more is fine: compaction can leave task configs of an earlier, larger
        // generation in front of a smaller one (Kafka Connect's `completeTaskIdSet`).
        if (0..count).all(|task| deferred.contains_key(&task)) {
            state.task_configs.retain(|id, _| id.connector != connector || id.task < count);
            for (task, config) in deferred.into_iter().filter(|(task, _)| *task < count) {
                state.task_configs.insert(TaskId { connector: connector.to_string(), task }, config);
            }
            state.inconsistent.remove(connector);
            tracing::debug!("config topic: {count} task config(s) of connector {connector} committed");
        } else {
            tracing::warn!(
                "config topic: the task commit of connector {connector} ({count} tasks) found only tasks {:?}; the \
                 connector is inconsistent until its tasks are reconfigured",
                deferred.keys().collect::<Vec<_>>()
            );
            state.inconsistent.insert(connector.to_string());
        }
        state.task_counts.insert(connector.to_string(), count);
    }

    fn apply_restart(&mut self, offset: i64, connector: &str, value: Option<Json>) {
        let Some(value) = value else {
            self.state.restart_requests.remove(connector);
            return;
        };
        // Kafka Connect defaults both flags to false when absent.
        let flag = |name: &str| value.get(name).and_then(Json::as_bool).unwrap_or(false);
        let request = RestartRequest { include_tasks: flag("include-tasks"), only_failed: flag("only-failed") };
        tracing::debug!("config topic: restart request for connector {connector}: {request:?}");
        self.state.restart_requests.insert(connector.to_string(), (offset, request));
    }

    fn apply_logger_level(&mut self, offset: i64, namespace: &str, value: Option<Json>) {
        match value.as_ref().and_then(|v| v.get("level")).and_then(Json::as_str) {
            Some(level) => {
                self.state.logger_levels.insert(namespace.to_string(), (offset, level.to_string()));
            }
            None => tracing::error!("config topic: invalid log level record for namespace {namespace}"),
        }
    }

    fn apply_session_key(&mut self, value: Option<Json>) {
        let Some(value) = value else {
            tracing::error!("config topic: ignoring session key: it is unexpectedly null");
            return;
        };
        let key = value
            .get("key")
            .and_then(Json::as_str)
            .and_then(|k| base64::engine::general_purpose::STANDARD.decode(k).ok());
        let algorithm = value.get("algorithm").and_then(Json::as_str);
        let created = value.get("creation-timestamp").and_then(Json::as_i64);
        match (key, algorithm, created) {
            (Some(key), Some(algorithm), Some(creation_timestamp)) => {
                tracing::debug!("config topic: new session key ({algorithm})");
                self.state.session_key = Some(SessionKey { key, algorithm: algorithm.to_string(), creation_timestamp });
            }
            _ => tracing::error!(
                "config topic: ignoring session key: needs key (base64), algorithm and creation-timestamp"
            ),
        }
    }
}

/// The `properties` map of a connector or task config. Values are strings; a null value is dropped, other JSON
/// values (not written by Kafka Connect) are kept as their JSON text.
fn properties(value: &Json) -> Result<Config, String> {
    let Some(Json::Object(properties)) = value.get("properties") else {
        return Err(format!("'properties' should be a map: {value}"));
    };
    Ok(properties
        .iter()
        .filter_map(|(k, v)| match v {
            Json::Null => None,
            Json::String(s) => Some((k.clone(), s.clone())),
            other => Some((k.clone(), other.to_string())),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    struct Replay {
        replay: ConfigReplay,
        next: i64,
    }

    impl Replay {
        fn new() -> Self {
            Replay { replay: ConfigReplay::default(), next: 0 }
        }

        fn record(&mut self, key: &str, value: Option<&str>) -> &mut Self {
            self.replay.apply(self.next, Some(key.as_bytes()), value.map(str::as_bytes));
            self.next += 1;
            self
        }

        fn state(&self) -> &ClusterConfigState {
            self.replay.state()
        }
    }

    fn id(connector: &str, task: u32) -> TaskId {
        TaskId { connector: connector.to_string(), task }
    }

    #[test]
    fn values_are_written_as_kafka_connect_writes_them() {
        assert_eq!(encode_properties(&config(&[("b", "2"), ("a", "1")])), br#"{"properties":{"a":"1","b":"2"}}"#);
        assert_eq!(encode_commit(2), br#"{"tasks":2}"#);
        assert_eq!(encode_target_state(TargetState::Stopped), br#"{"state":"PAUSED","state.v2":"STOPPED"}"#);
        assert_eq!(encode_target_state(TargetState::Started), br#"{"state":"STARTED","state.v2":"STARTED"}"#);
        let key = SessionKey { key: vec![1, 2, 3], algorithm: "HmacSHA256".into(), creation_timestamp: 1700 };
        assert_eq!(encode_session_key(&key), br#"{"key":"AQID","algorithm":"HmacSHA256","creation-timestamp":1700}"#);
        assert_eq!(task_key("my-conn", 3), "task-my-conn-3");
        assert_eq!(commit_key("c"), "commit-c");
        assert_eq!(target_state_key("c"), "target-state-c");
        assert_eq!(connector_key("c"), "connector-c");
        assert!(!format!("{key:?}").contains("[1, 2, 3]"));
    }

    #[test]
    fn task_configs_wait_for_their_commit() {
        let mut r = Replay::new();
        assert_eq!(r.state().offset, -1);
        r.record("connector-my-conn", Some(r#"{"properties":{"connector.class":"X","tasks.max":"2"}}"#))
            .record("task-my-conn-0", Some(r#"{"properties":{"t":"0"}}"#))
            .record("task-my-conn-1", Some(r#"{"properties":{"t":"1"}}"#));
        assert_eq!(r.state().offset, 3);
        assert_eq!(r.state().connector_configs["my-conn"]["tasks.max"], "2");
        assert!(r.state().task_configs.is_empty());
        assert_eq!(r.state().task_count("my-conn"), 0);
        r.record("commit-my-conn", Some(r#"{"tasks":2}"#));
        assert_eq!(r.state().task_count("my-conn"), 2);
        assert_eq!(r.state().task_configs[&id("my-conn", 1)], config(&[("t", "1")]));
        assert_eq!(r.state().task_configs_of("my-conn"), vec![config(&[("t", "0")]), config(&[("t", "1")])]);
        assert_eq!(r.state().target_state("my-conn"), TargetState::Started);

        // Fewer tasks: the old task 1 goes away.
        r.record("task-my-conn-0", Some(r#"{"properties":{"t":"new"}}"#))
            .record("commit-my-conn", Some(r#"{"tasks":1}"#));
        assert_eq!(r.state().task_configs_of("my-conn"), vec![config(&[("t", "new")])]);
        assert!(!r.state().task_configs.contains_key(&id("my-conn", 1)));
    }

    #[test]
    fn a_commit_missing_a_task_marks_the_connector_inconsistent() {
        let mut r = Replay::new();
        r.record("connector-c", Some(r#"{"properties":{}}"#))
            .record("task-c-0", Some(r#"{"properties":{"t":"0"}}"#))
            .record("commit-c", Some(r#"{"tasks":2}"#));
        assert!(r.state().inconsistent.contains("c"));
        assert_eq!(r.state().task_counts["c"], 2);
        assert_eq!(r.state().task_count("c"), 0);
        assert!(r.state().task_configs_of("c").is_empty());
        assert!(r.state().task_configs.is_empty());
        // The deferred task 0 was used up: a commit of 1 now finds nothing.
        r.record("commit-c", Some(r#"{"tasks":1}"#));
        assert!(r.state().inconsistent.contains("c"));
        // A complete generation repairs it; a leftover task 2 of an older generation is fine.
        r.record("task-c-2", Some(r#"{"properties":{}}"#))
            .record("task-c-0", Some(r#"{"properties":{"t":"a"}}"#))
            .record("task-c-1", Some(r#"{"properties":{"t":"b"}}"#))
            .record("commit-c", Some(r#"{"tasks":2}"#));
        assert!(r.state().inconsistent.is_empty());
        assert_eq!(r.state().task_count("c"), 2);
        assert!(!r.state().task_configs.contains_key(&id("c", 2)));
    }

    #[test]
    fn commits_of_unknown_connectors_are_ignored() {
        let mut r = Replay::new();
        r.record("task-gone-0", Some(r#"{"properties":{}}"#)).record("commit-gone", Some(r#"{"tasks":1}"#));
        assert!(r.state().task_counts.is_empty());
        assert!(r.state().task_configs.is_empty());
        // Its deferred configs were cleared by the commit.
        r.record("connector-gone", Some(r#"{"properties":{}}"#)).record("commit-gone", Some(r#"{"tasks":1}"#));
        assert!(r.state().inconsistent.contains("gone"));
    }

    #[test]
    fn tombstones_remove_connectors_with_their_tasks_and_target_state() {
        let mut r = Replay::new();
        r.record("connector-c", Some(r#"{"properties":{"a":"1"}}"#))
            .record("target-state-c", Some(r#"{"state":"PAUSED","state.v2":"PAUSED"}"#))
            .record("task-c-0", Some(r#"{"properties":{}}"#))
            .record("commit-c", Some(r#"{"tasks":1}"#))
            .record("connector-d", Some(r#"{"properties":{}}"#));
        assert_eq!(r.state().target_state("c"), TargetState::Paused);
        r.record("connector-c", None);
        let state = r.state();
        assert!(!state.connector_configs.contains_key("c"));
        assert!(state.task_configs.is_empty());
        assert!(state.task_counts.is_empty());
        assert_eq!(state.target_state("c"), TargetState::Started);
        assert!(state.connector_configs.contains_key("d"));
        assert_eq!(state.offset, 6);
        r.record("target-state-d", Some(r#"{"state":"PAUSED"}"#)).record("target-state-d", None);
        assert_eq!(r.state().target_state("d"), TargetState::Started);
    }

    #[test]
    fn target_states_prefer_v2() {
        let mut r = Replay::new();
        r.record("target-state-a", Some(r#"{"state":"PAUSED"}"#))
            .record("target-state-b", Some(r#"{"state":"PAUSED","state.v2":"STOPPED"}"#))
            .record("target-state-c", Some(r#"{"state":"STARTED","state.v2":null}"#))
            .record("target-state-d", Some(r#"{"state":"RUNNING"}"#));
        assert_eq!(r.state().target_state("a"), TargetState::Paused);
        assert_eq!(r.state().target_state("b"), TargetState::Stopped);
        assert_eq!(r.state().target_state("c"), TargetState::Started);
        assert!(!r.state().target_states.contains_key("d"));
    }

    #[test]
    fn session_keys_are_parsed() {
        let mut r = Replay::new();
        r.record("session-key", Some(r#"{"key":"AQID","algorithm":"HmacSHA256","creation-timestamp":1700}"#));
        let key = r.state().session_key.clone().unwrap();
        assert_eq!(key.key, vec![1, 2, 3]);
        assert_eq!(key.algorithm, "HmacSHA256");
        assert_eq!(key.creation_timestamp, 1700);
        r.record("session-key", Some(r#"{"key":"!!","algorithm":"HmacSHA256","creation-timestamp":1}"#));
        assert_eq!(r.state().session_key, Some(key));
    }

    #[test]
    fn generated_session_keys_round_trip_through_the_record() {
        use crate::rest::signature::{generate_key, HmacAlgorithm};
        for algorithm in HmacAlgorithm::ALL {
            let key = generate_key(algorithm, None).unwrap();
            let record = String::from_utf8(encode_session_key(&key)).unwrap();
            let mut r = Replay::new();
            r.record("session-key", Some(&record));
            assert_eq!(r.state().session_key.as_ref(), Some(&key), "{algorithm}");
        }
    }

    #[test]
    fn bad_and_unknown_records_are_skipped() {
        let mut r = Replay::new();
        r.record("connector-c", Some("{not json"));
        assert_eq!(r.state().offset, -1, "an unreadable value does not move the offset, as in Kafka Connect");
        r.record("connector-c", Some(r#"{"properties":"x"}"#))
            .record("connector-d", Some(r#"{"properties":{"n":1,"z":null,"s":"v"}}"#))
            .record("task-c-x", Some(r#"{"properties":{}}"#))
            .record("task-c-1", None)
            .record("commit-c", Some(r#"{"tasks":"two"}"#))
            .record("restart-connector-c", Some(r#"{"include-tasks":true,"only-failed":false}"#))
            .record("logger-cluster-org.apache", Some(r#"{"level":"DEBUG"}"#))
            .record("tasks-fencing-c", Some(r#"{"task-count":1}"#))
            .record("something-else", Some("{}"));
        r.replay.apply(r.next, None, Some(b"{}"));
        let state = r.state();
        assert!(!state.connector_configs.contains_key("c"));
        assert_eq!(state.connector_configs["d"], config(&[("n", "1"), ("s", "v")]));
        assert!(state.task_counts.is_empty());
        assert_eq!(state.offset, 11);
        assert_eq!(
            state.restart_requests["c"],
            (6, RestartRequest { include_tasks: true, only_failed: false }),
            "restart requests are kept with their offset"
        );
        assert_eq!(state.logger_levels["org.apache"], (7, "DEBUG".to_string()));
    }

    #[test]
    fn restart_and_logger_records_round_trip() {
        let mut r = Replay::new();
        let restart = RestartRequest { include_tasks: false, only_failed: true };
        let value = String::from_utf8(encode_restart(restart)).unwrap();
        r.record(&restart_key("c"), Some(&value));
        let level = String::from_utf8(encode_logger_level("TRACE")).unwrap();
        r.record(&logger_key("connect_runtime::worker"), Some(&level));
        assert_eq!(r.state().restart_requests["c"], (0, restart));
        assert_eq!(r.state().logger_levels["connect_runtime::worker"], (1, "TRACE".to_string()));
        r.record(&restart_key("c"), None);
        assert!(r.state().restart_requests.is_empty());
    }
}
