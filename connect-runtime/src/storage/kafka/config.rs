//! The config topic store (Kafka Connect's `KafkaConfigBackingStore`): connector configs, task configs with
//! their commits, target states and the session key.
//!
//! Only the leader writes connector and task configs (the herder makes sure of it). Every write waits for the
//! broker's acknowledgement and then reads the topic to its end, so the snapshot taken afterwards includes it.
//! Task configs are written before their commit record and never become visible without it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::storage::StorageError;
use connect_api::Config;

use super::config_state::{
    commit_key, connector_key, encode_commit, encode_logger_level, encode_properties, encode_restart,
    encode_session_key, encode_target_state, logger_key, restart_key, session_key_key, target_state_key, task_key,
    ConfigReplay, RestartRequest,
};
use super::log::KafkaBasedLog;
use super::{kafka_error, ClusterConfigState, KafkaStoreConfig, SessionKey, TargetState};

type Record = (Vec<u8>, Option<Vec<u8>>);

fn record(key: String, value: Option<Vec<u8>>) -> Record {
    (key.into_bytes(), value)
}

/// Connector and task configurations in the config topic.
pub struct KafkaConfigStore {
    log: KafkaBasedLog,
    replay: Arc<Mutex<ConfigReplay>>,
    timeout: Duration,
}

impl KafkaConfigStore {
    /// Opens the store and reads the whole topic. The topic must exist and have exactly one partition: with more,
    /// the order of config records would be lost.
    pub fn open(cfg: &KafkaStoreConfig) -> Result<Self, StorageError> {
        let replay = Arc::new(Mutex::new(ConfigReplay::default()));
        let apply = {
            let replay = replay.clone();
            Box::new(move |r: &super::log::LogRecord<'_>| {
                replay.lock().unwrap_or_else(|p| p.into_inner()).apply(r.offset, r.key, r.value)
            })
        };
        let log = KafkaBasedLog::start(cfg, "configs", &[("linger.ms", "0")], apply)?;
        if log.partition_count() != 1 {
            return Err(kafka_error(
                &cfg.topic,
                format!(
                    "topic '{}' supplied via the 'config.storage.topic' property is required to have a single \
                     partition in order to guarantee consistency of connector configurations, but found {} \
                     partitions",
                    cfg.topic,
                    log.partition_count()
                ),
            ));
        }
        let store = KafkaConfigStore { log, replay, timeout: cfg.timeout };
        store.log.read_to_end(cfg.timeout)?;
        tracing::info!(topic = %cfg.topic, "config topic read up to offset {}", store.snapshot().offset);
        Ok(store)
    }

    /// The state as read so far.
    pub fn snapshot(&self) -> ClusterConfigState {
        self.replay.lock().unwrap_or_else(|p| p.into_inner()).state().clone()
    }

    /// Reads the topic up to its current end and returns the state then.
    pub fn refresh(&self, timeout: Duration) -> Result<ClusterConfigState, StorageError> {
        self.log.read_to_end(timeout)?;
        Ok(self.snapshot())
    }

    /// Writes a connector's config, preceded by its target state when one is given (a connector created paused
    /// or stopped).
    pub fn put_connector_config(
        &self,
        name: &str,
        config: Config,
        target: Option<TargetState>,
    ) -> Result<(), StorageError> {
        let mut records = Vec::with_capacity(2);
        if let Some(state) = target {
            records.push(record(target_state_key(name), Some(encode_target_state(state))));
        }
        records.push(record(connector_key(name), Some(encode_properties(&config))));
        tracing::debug!(topic = self.log.topic(), "writing the configuration of connector {name}");
        self.write(&records)
    }

    /// Deletes a connector: tombstones for its config and its target state.
    pub fn remove_connector_config(&self, name: &str) -> Result<(), StorageError> {
        tracing::debug!(topic = self.log.topic(), "removing connector {name}");
        self.write(&[record(connector_key(name), None), record(target_state_key(name), None)])
    }

    /// Replaces a connector's task configs: every `task-<name>-<i>` record, then the `commit-<name>` record that
    /// makes them visible, each step acknowledged and read back before the next.
    pub fn put_task_configs(&self, name: &str, configs: Vec<Config>) -> Result<(), StorageError> {
        let count = u32::try_from(configs.len())
            .map_err(|_| kafka_error(self.log.topic(), format!("connector {name}: too many task configs")))?;
        self.log.read_to_end(self.timeout)?;
        if count > 0 {
            let tasks: Vec<Record> = configs
                .iter()
                .zip(0..)
                .map(|(config, task)| record(task_key(name, task), Some(encode_properties(config))))
                .collect();
            tracing::debug!(topic = self.log.topic(), "writing {count} task config(s) of connector {name}");
            self.write(&tasks)?;
        }
        tracing::debug!(topic = self.log.topic(), "committing {count} task config(s) of connector {name}");
        self.write(&[record(commit_key(name), Some(encode_commit(count)))])
    }

    /// Writes a connector's target state (pause, resume, stop).
    pub fn put_target_state(&self, name: &str, state: TargetState) -> Result<(), StorageError> {
        tracing::debug!(topic = self.log.topic(), "writing target state {state} of connector {name}");
        self.write(&[record(target_state_key(name), Some(encode_target_state(state)))])
    }

    /// Writes a restart request for a connector (KIP-745); every worker restarts what it owns of it.
    pub fn put_restart_request(&self, name: &str, request: RestartRequest) -> Result<(), StorageError> {
        tracing::debug!(topic = self.log.topic(), "writing a restart request for connector {name}: {request:?}");
        self.write(&[record(restart_key(name), Some(encode_restart(request)))])
    }

    /// Writes a cluster-wide log level (KIP-976); every worker applies it.
    pub fn put_logger_level(&self, namespace: &str, level: &str) -> Result<(), StorageError> {
        tracing::debug!(topic = self.log.topic(), "writing log level {level} for namespace {namespace}");
        self.write(&[record(logger_key(namespace), Some(encode_logger_level(level)))])
    }

    /// Writes a new session key (the leader does, on rotation).
    pub fn put_session_key(&self, key: &SessionKey) -> Result<(), StorageError> {
        tracing::debug!(topic = self.log.topic(), "distributing a new session key");
        self.write(&[record(session_key_key(), Some(encode_session_key(key)))])
    }

    fn write(&self, records: &[Record]) -> Result<(), StorageError> {
        self.log.send_all(records, self.timeout)?;
        self.log.read_to_end(self.timeout)
    }
}
