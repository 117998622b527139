//! Creating the internal topics at start-up, as Kafka Connect's `TopicAdmin` does: compacted always, an existing
//! topic is used as it is.
//!
//! The cleanup policy of an existing topic is not checked: brokers such as tansu 0.6.0 answer DescribeConfigs
//! with nothing. The config store itself refuses a config topic with more than one partition.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::storage::StorageError;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

use super::kafka_error;

/// Keys under a `<prefix>` that describe the topic rather than configure it.
const NOT_TOPIC_CONFIGS: &[&str] = &["topic", "partitions", "replication.factor", "file.filename"];

/// An internal topic to create if it is missing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicSpec {
    /// Topic name.
    pub name: String,
    /// Partitions (-1: the broker's default).
    pub partitions: i32,
    /// Replication factor (-1: the broker's default).
    pub replication_factor: i32,
    /// Topic configs (see [`topic_settings`]).
    pub settings: BTreeMap<String, String>,
}

/// The topic configs given with `prefix` (`config.storage.`, `offset.storage.`, `status.storage.`) in the worker
/// properties, e.g. `config.storage.min.insync.replicas`; the prefix's own keys (topic, partitions, replication
/// factor) are left out and `cleanup.policy` is always `compact`.
pub fn topic_settings(props: &BTreeMap<String, String>, prefix: &str) -> BTreeMap<String, String> {
    let prefix = if prefix.ends_with('.') { prefix.to_string() } else { format!("{prefix}.") };
    let mut settings: BTreeMap<String, String> = props
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix.as_str()).map(|rest| (rest.to_string(), v.clone())))
        .filter(|(k, _)| !k.is_empty() && !NOT_TOPIC_CONFIGS.contains(&k.as_str()))
        .collect();
    if let Some(policy) = settings.insert("cleanup.policy".to_string(), "compact".to_string()) {
        if policy != "compact" {
            tracing::warn!("ignoring '{prefix}cleanup.policy={policy}': internal topics are always compacted");
        }
    }
    settings
}

/// Creates the missing topics (compacted), then waits until every topic is visible in the cluster's metadata.
/// An existing topic is accepted as it is; a partition count other than the one asked for is logged. The config
/// store refuses a config topic with more than one partition when it opens.
pub async fn ensure_topics(
    client: &rdkafka::ClientConfig,
    topics: &[TopicSpec],
    timeout: Duration,
) -> Result<(), StorageError> {
    let compacted: Vec<TopicSpec> = topics
        .iter()
        .cloned()
        .map(|mut t| {
            t.settings.insert("cleanup.policy".to_string(), "compact".to_string());
            t
        })
        .collect();
    create_missing_topics(client, &compacted, timeout).await
}

/// Creates the topics that do not exist yet with their partitions, replication factor and settings, then waits
/// until every topic is visible in the cluster's metadata. An existing topic is used as it is.
pub async fn create_missing_topics(
    client: &rdkafka::ClientConfig,
    topics: &[TopicSpec],
    timeout: Duration,
) -> Result<(), StorageError> {
    let all = || topics.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ");
    let deadline = Instant::now() + timeout;
    let admin: AdminClient<DefaultClientContext> =
        client.create().map_err(|e| kafka_error(&all(), format!("cannot create an admin client: {e}")))?;
    let settings: Vec<Vec<(&str, &str)>> =
        topics.iter().map(|t| t.settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()).collect();
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .zip(&settings)
        .map(|(t, settings)| {
            let mut topic = NewTopic::new(&t.name, t.partitions, TopicReplication::Fixed(t.replication_factor));
            topic.config = settings.clone();
            topic
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(timeout)).request_timeout(Some(timeout));
    let results = tokio::time::timeout(timeout, admin.create_topics(&new_topics, &options))
        .await
        .map_err(|_| kafka_error(&all(), format!("timed out after {timeout:?} creating the topics")))?
        .map_err(|e| kafka_error(&all(), format!("cannot create the topics: {e}")))?;
    let mut created = Vec::new();
    for result in results {
        match result {
            Ok(name) => {
                tracing::info!(topic = %name, "created topic");
                created.push(name);
            }
            Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => tracing::debug!(topic = %name, "topic exists"),
            Err((name, code)) => return Err(kafka_error(&name, format!("cannot create the topic: {code}"))),
        }
    }

    // Metadata calls block: keep them off the async runtime's threads.
    let specs = topics.to_vec();
    tokio::task::spawn_blocking(move || wait_until_visible(&admin, &specs, &created, deadline))
        .await
        .map_err(|e| kafka_error(&all(), format!("the metadata check failed: {e}")))?
}

/// Polls the metadata until every topic has all its partitions with a leader.
fn wait_until_visible(
    admin: &AdminClient<DefaultClientContext>,
    topics: &[TopicSpec],
    created: &[String],
    deadline: Instant,
) -> Result<(), StorageError> {
    let mut pending: Vec<&TopicSpec> = topics.iter().collect();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let last_error = match admin.inner().fetch_metadata(None, left.max(Duration::from_millis(100))) {
            Ok(metadata) => {
                pending.retain(|spec| {
                    let Some(found) = metadata.topics().iter().find(|t| t.name() == spec.name) else { return true };
                    let partitions = found.partitions();
                    let ready = found.error().is_none()
                        && !partitions.is_empty()
                        && partitions.iter().all(|p| p.leader() >= 0)
                        && (!created.contains(&spec.name)
                            || spec.partitions < 0
                            || partitions.len() as i32 >= spec.partitions);
                    if ready && spec.partitions > 0 && partitions.len() as i32 != spec.partitions {
                        tracing::warn!(
                            topic = %spec.name,
                            "the topic has {} partitions, not the {} configured; using it as it is",
                            partitions.len(),
                            spec.partitions
                        );
                    }
                    !ready
                });
                None
            }
            Err(e) => Some(e.to_string()),
        };
        if pending.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let names = pending.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ");
            let why = last_error.map(|e| format!(" (last error: {e})")).unwrap_or_default();
            return Err(kafka_error(&names, format!("the topic(s) did not appear in the cluster's metadata{why}")));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_come_from_the_prefix_and_are_always_compacted() {
        let props: BTreeMap<String, String> = [
            ("config.storage.topic", "connect-configs"),
            ("config.storage.replication.factor", "3"),
            ("config.storage.partitions", "4"),
            ("config.storage.min.insync.replicas", "2"),
            ("config.storage.cleanup.policy", "delete"),
            ("offset.storage.segment.ms", "1000"),
            ("offset.storage.file.filename", "/tmp/x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let config = topic_settings(&props, "config.storage.");
        assert_eq!(
            config.into_iter().collect::<Vec<_>>(),
            [("cleanup.policy".to_string(), "compact".to_string()), ("min.insync.replicas".into(), "2".into())]
        );
        let offsets = topic_settings(&props, "offset.storage");
        assert_eq!(offsets.len(), 2);
        assert_eq!(offsets["segment.ms"], "1000");
        assert_eq!(topic_settings(&BTreeMap::new(), "status.storage.").len(), 1);
    }
}
