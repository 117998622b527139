//! Cluster metadata: brokers, topics, partitions with their leader, replicas and in-sync replicas. Fetched with
//! one Metadata request for all topics and reused for `refresh.metadata`, as kafka_exporter's Sarama client does;
//! a leader error during a scrape makes the next scrape refresh it early.

use std::collections::BTreeMap;
use std::time::Instant;

use kafka_protocol::messages::MetadataRequest;

use crate::kafka::{error_name, KafkaClient, KafkaError};

/// One partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionInfo {
    /// The partition id.
    pub id: i32,
    /// The leader's broker id, -1 when there is none.
    pub leader: i32,
    /// Replica broker ids, the preferred leader first.
    pub replicas: Vec<i32>,
    /// In-sync replica broker ids.
    pub isr: Vec<i32>,
}

/// The cluster as one Metadata answer describes it.
#[derive(Clone, Debug)]
pub struct Metadata {
    /// Broker id -> `host:port`.
    pub brokers: BTreeMap<i32, String>,
    /// Topic -> partitions, by partition id.
    pub topics: BTreeMap<String, Vec<PartitionInfo>>,
    /// When it was fetched.
    pub fetched: Instant,
}

impl Metadata {
    /// The address of a partition's leader.
    pub fn leader_address(&self, partition: &PartitionInfo) -> Option<&str> {
        (partition.leader >= 0).then(|| self.brokers.get(&partition.leader).map(String::as_str)).flatten()
    }

    /// The partitions of a topic.
    pub fn partitions(&self, topic: &str) -> Option<&[PartitionInfo]> {
        self.topics.get(topic).map(Vec::as_slice)
    }
}

/// Fetches the metadata of all topics from the first of `addresses` that answers.
pub async fn fetch(
    client: &KafkaClient,
    addresses: &[String],
    allow_auto_topic_creation: bool,
) -> Result<Metadata, KafkaError> {
    let mut last = None;
    for addr in addresses {
        let answer = client
            .request(addr, 1, 12, |_| {
                MetadataRequest::default().with_topics(None).with_allow_auto_topic_creation(allow_auto_topic_creation)
            })
            .await;
        match answer {
            Ok(response) => {
                let brokers =
                    response.brokers.iter().map(|b| (b.node_id.0, format!("{}:{}", b.host.as_str(), b.port))).collect();
                let mut topics = BTreeMap::new();
                for topic in &response.topics {
                    let Some(name) = &topic.name else { continue };
                    if topic.error_code != 0 {
                        tracing::debug!(
                            "metadata of topic {} left out: {}",
                            name.0.as_str(),
                            error_name(topic.error_code)
                        );
                        continue;
                    }
                    let mut partitions: Vec<PartitionInfo> = topic
                        .partitions
                        .iter()
                        .map(|p| PartitionInfo {
                            id: p.partition_index,
                            leader: p.leader_id.0,
                            replicas: p.replica_nodes.iter().map(|b| b.0).collect(),
                            isr: p.isr_nodes.iter().map(|b| b.0).collect(),
                        })
                        .collect();
                    partitions.sort_by_key(|p| p.id);
                    topics.insert(name.0.to_string(), partitions);
                }
                return Ok(Metadata { brokers, topics, fetched: Instant::now() });
            }
            Err(err) => {
                tracing::debug!("metadata from {addr}: {err}");
                last = Some(err);
            }
        }
    }
    Err(KafkaError::NoBroker {
        tried: addresses.join(","),
        last: Box::new(last.unwrap_or(KafkaError::Io { broker: String::new(), message: "no address to try".into() })),
    })
}
