//! Topic queries and topic creation: metadata, watermarks and the admin client, all blocking (run on blocking
//! threads by the handlers).

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::metadata::MetadataTopic;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::ClientConfig;
use serde_json::{json, Value as Json};

use crate::error::ApiError;
use crate::format::{check_properties, wrong_type};

const TIMEOUT: Duration = Duration::from_secs(10);

/// Kafka's message for an unknown topic, which Strimzi passes on.
const UNKNOWN_TOPIC: &str = "This server does not host this topic-partition.";

/// Topics known to be internal to Kafka, left out of listings as Kafka's `listTopics()` does.
const INTERNAL_TOPICS: &[&str] = &["__consumer_offsets", "__transaction_state"];

/// The clients for topic requests.
pub struct Topics {
    metadata: BaseConsumer,
    admin: AdminClient<DefaultClientContext>,
}

impl Topics {
    /// Clients with the librdkafka `settings` (`kafka.*`, `kafka.admin.*`).
    pub fn new(settings: &BTreeMap<String, String>) -> Result<Topics, String> {
        let mut config = ClientConfig::new();
        for (key, value) in settings {
            config.set(key, value);
        }
        let metadata = config.create().map_err(|e| e.to_string())?;
        let admin = config.create().map_err(|e| e.to_string())?;
        Ok(Topics { metadata, admin })
    }

    fn topic(&self, name: &str) -> Result<OwnedTopic, ApiError> {
        let metadata = self.metadata.fetch_metadata(Some(name), TIMEOUT).map_err(ApiError::internal)?;
        let topic = metadata.topics().iter().find(|t| t.name() == name);
        match topic {
            Some(t) if t.error().is_none() && !t.partitions().is_empty() => {
                // MetadataTopic borrows the metadata; fetch again into an owned copy of what is needed.
                Ok(clone_topic(t))
            }
            Some(t) if t.error().is_some_and(|e| e != RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) => {
                Err(ApiError::internal(format!("{:?}", t.error().expect("checked"))))
            }
            _ => Err(ApiError::new(404, UNKNOWN_TOPIC)),
        }
    }

    /// `GET /topics`.
    pub fn list(&self) -> Result<Json, ApiError> {
        let metadata = self.metadata.fetch_metadata(None, TIMEOUT).map_err(ApiError::internal)?;
        let mut names: Vec<&str> =
            metadata.topics().iter().map(|t| t.name()).filter(|n| !INTERNAL_TOPICS.contains(n)).collect();
        names.sort_unstable();
        Ok(json!(names))
    }

    /// `GET /topics/{t}`: name, configs (when the broker describes any) and partitions.
    pub async fn describe(&self, name: &str) -> Result<Json, ApiError> {
        let topic = tokio::task::block_in_place(|| self.topic(name))?;
        let mut body = json!({"name": name});
        let options = AdminOptions::new().request_timeout(Some(TIMEOUT));
        if let Ok(results) = self.admin.describe_configs([&ResourceSpecifier::Topic(name)], &options).await {
            let configs: BTreeMap<String, String> = results
                .into_iter()
                .flatten()
                .flat_map(|resource| resource.entries)
                .filter_map(|entry| entry.value.map(|v| (entry.name, v)))
                .collect();
            if !configs.is_empty() {
                body["configs"] = json!(configs);
            }
        }
        body["partitions"] = topic.partitions;
        Ok(body)
    }

    /// `GET /topics/{t}/partitions`.
    pub fn partitions(&self, name: &str) -> Result<Json, ApiError> {
        Ok(self.topic(name)?.partitions)
    }

    /// `GET /topics/{t}/partitions/{p}`.
    pub fn partition(&self, name: &str, partition: i32) -> Result<Json, ApiError> {
        let topic = self.topic(name)?;
        topic
            .partitions
            .as_array()
            .and_then(|all| all.iter().find(|p| p["partition"] == partition).cloned())
            .ok_or_else(|| ApiError::new(404, "Specified partition does not exist."))
    }

    /// `GET /topics/{t}/partitions/{p}/offsets`.
    pub fn offsets(&self, name: &str, partition: i32) -> Result<Json, ApiError> {
        let topic = self.topic(name)?;
        if !topic.ids.contains(&partition) {
            return Err(ApiError::new(404, format!("Topic '{name}' does not have partition with id {partition}")));
        }
        let (low, high) = self.metadata.fetch_watermarks(name, partition, TIMEOUT).map_err(ApiError::internal)?;
        Ok(json!({"beginning_offset": low, "end_offset": high}))
    }

    /// `POST /admin/topics`: `{"topic_name", "partitions_count"?, "replication_factor"?}`; broker defaults otherwise.
    pub async fn create(&self, body: &Json) -> Result<(), ApiError> {
        let Some(fields) = body.as_object() else {
            return Err(ApiError::schema(vec![wrong_type(body, "object")]));
        };
        let mut errors =
            check_properties(fields, &["topic_name"], &["topic_name", "partitions_count", "replication_factor"]);
        for (key, expected) in
            [("topic_name", "string"), ("partitions_count", "integer"), ("replication_factor", "integer")]
        {
            if let Some(value) = fields.get(key) {
                let ok = if expected == "string" { value.is_string() } else { value.as_i64().is_some() };
                if !ok {
                    errors.push(format!("Property \"{key}\" does not match schema"));
                    errors.push(wrong_type(value, expected));
                }
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::schema(errors));
        }
        let name = fields["topic_name"].as_str().unwrap_or_default();
        let count =
            |key: &str| fields.get(key).and_then(Json::as_i64).map_or(-1, |n| n.clamp(-1, i32::MAX as i64) as i32);
        let topic =
            NewTopic::new(name, count("partitions_count"), TopicReplication::Fixed(count("replication_factor")));
        let options = AdminOptions::new().request_timeout(Some(TIMEOUT)).operation_timeout(Some(TIMEOUT));
        let results = self.admin.create_topics([&topic], &options).await.map_err(ApiError::internal)?;
        for result in results {
            if let Err((topic, code)) = result {
                let status = match code {
                    rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists => 409,
                    rdkafka::types::RDKafkaErrorCode::InvalidTopic
                    | rdkafka::types::RDKafkaErrorCode::InvalidPartitions
                    | rdkafka::types::RDKafkaErrorCode::InvalidReplicationFactor => 422,
                    _ => 500,
                };
                return Err(ApiError::new(status, format!("Topic '{topic}': {code}")));
            }
        }
        Ok(())
    }
}

/// What the handlers need of a topic's metadata, owned.
struct OwnedTopic {
    ids: Vec<i32>,
    partitions: Json,
}

fn clone_topic(topic: &MetadataTopic) -> OwnedTopic {
    let mut parts: Vec<_> = topic.partitions().iter().collect();
    parts.sort_by_key(|p| p.id());
    OwnedTopic {
        ids: parts.iter().map(|p| p.id()).collect(),
        partitions: Json::Array(
            parts
                .iter()
                .map(|p| {
                    let replicas: Vec<Json> = p
                        .replicas()
                        .iter()
                        .map(|&broker| {
                            json!({"broker": broker, "leader": broker == p.leader(), "in_sync": p.isr().contains(&broker)})
                        })
                        .collect();
                    json!({"partition": p.id(), "leader": p.leader(), "replicas": replicas})
                })
                .collect(),
        ),
    }
}
