//! The distributed worker's state in Kafka Connect's three internal topics: connector and task configs (config
//! topic), source offsets (offsets topic) and connector and task statuses (status topic).
//!
//! Every store reads its whole topic from the beginning on a thread of its own ([`log`]) and writes records
//! byte-for-byte as Kafka Connect does, so Rust and Java workers can share a cluster. A store never trusts a
//! record it cannot parse: it logs and skips it. `refresh` returns only once everything written before the call,
//! by any worker, has been read.

mod config;
mod config_state;
mod log;
mod offsets;
mod status;
mod topics;

use std::time::Duration;

use crate::config::WorkerConfig;
use crate::storage::StorageError;

pub use config::KafkaConfigStore;
pub use config_state::{ClusterConfigState, RestartRequest, SessionKey, TargetState};
pub use offsets::KafkaOffsetStore;
pub use status::{KafkaStatusStore, PutOutcome, StoredStatus};
pub use topics::{create_missing_topics, ensure_topics, topic_settings, TopicSpec};

/// How long a store waits for the broker by default (Kafka Connect's `READ_WRITE_TOTAL_TIMEOUT_MS`).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a store's topic lives and how its clients are named.
#[derive(Clone)]
pub struct KafkaStoreConfig {
    /// Connection settings shared by the store's producer and consumer (see [`internal_client_config`]).
    pub client: rdkafka::ClientConfig,
    /// The start of the clients' `client.id`; the store appends `configs`, `offsets` or `statuses`.
    pub client_id_base: String,
    /// The topic.
    pub topic: String,
    /// How long opening, writing and reading to the end may take.
    pub timeout: Duration,
}

impl KafkaStoreConfig {
    /// Settings for `topic`, with a 30 s timeout.
    pub fn new(client: rdkafka::ClientConfig, client_id_base: impl Into<String>, topic: impl Into<String>) -> Self {
        KafkaStoreConfig {
            client,
            client_id_base: client_id_base.into(),
            topic: topic.into(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    fn client_id(&self, kind: &str) -> String {
        let base = &self.client_id_base;
        if base.is_empty() || base.ends_with('-') {
            format!("{base}{kind}")
        } else {
            format!("{base}-{kind}")
        }
    }
}

impl std::fmt::Debug for KafkaStoreConfig {
    // The client settings may hold SASL passwords: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaStoreConfig")
            .field("client_id_base", &self.client_id_base)
            .field("topic", &self.topic)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Client settings for the internal topics: `bootstrap.servers` and the worker's `security.*`, `ssl.*` and
/// `sasl.*` keys (the top-level connection settings, as Kafka Connect passes its originals to these clients).
pub fn internal_client_config(worker: &WorkerConfig) -> rdkafka::ClientConfig {
    let mut config = rdkafka::ClientConfig::new();
    config.set("bootstrap.servers", &worker.bootstrap_servers);
    crate::worker::kafka::apply_connection_settings(&mut config, &worker.props);
    config
}

/// A failure talking to Kafka about `topic`.
pub(crate) fn kafka_error(topic: &str, message: impl Into<String>) -> StorageError {
    StorageError::Kafka { topic: topic.to_string(), message: message.into() }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;

    #[test]
    fn client_config_keeps_only_connection_settings() {
        let props: BTreeMap<String, String> = [
            ("bootstrap.servers", "k:9092"),
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "PLAIN"),
            ("ssl.ca.location", "/ca.pem"),
            ("producer.linger.ms", "5"),
            ("group.id", "g"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let worker = WorkerConfig::from_props(Path::new("w.properties"), props).unwrap();
        let config = internal_client_config(&worker);
        assert_eq!(config.get("bootstrap.servers"), Some("k:9092"));
        assert_eq!(config.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(config.get("sasl.mechanism"), Some("PLAIN"));
        assert_eq!(config.get("ssl.ca.location"), Some("/ca.pem"));
        assert_eq!(config.get("linger.ms"), None);
        assert_eq!(config.get("group.id"), None);
    }

    #[test]
    fn client_ids_join_base_and_kind() {
        let config = |base: &str| KafkaStoreConfig::new(rdkafka::ClientConfig::new(), base, "t");
        assert_eq!(config("connect-cluster-").client_id("configs"), "connect-cluster-configs");
        assert_eq!(config("w1").client_id("offsets"), "w1-offsets");
        assert_eq!(config("").client_id("statuses"), "statuses");
        assert_eq!(config("x").timeout, Duration::from_secs(30));
    }
}
