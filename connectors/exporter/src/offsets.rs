//! Topic offsets in few requests: the partitions are grouped by leader and each leader gets one ListOffsets
//! request per kind (latest, earliest) holding all its partitions, where kafka_exporter sends two single-partition
//! requests per partition.

use std::collections::{BTreeMap, HashMap};

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{BrokerId, ListOffsetsRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::kafka::{KafkaClient, KafkaError};
use crate::metadata::Metadata;

/// Which offset of a partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spec {
    /// The end (high watermark): the offset the next record gets.
    Latest,
    /// The log start.
    Earliest,
}

impl Spec {
    fn timestamp(self) -> i64 {
        match self {
            Spec::Latest => -1,
            Spec::Earliest => -2,
        }
    }
}

/// A (topic, partition).
pub type Partition = (String, i32);

/// The partitions of one leader, by topic.
pub type LeaderBatch = BTreeMap<String, Vec<i32>>;

/// The partitions grouped by the address of their leader; those without a known leader come back separately.
pub fn by_leader(
    metadata: &Metadata,
    partitions: impl IntoIterator<Item = Partition>,
) -> (HashMap<String, LeaderBatch>, Vec<Partition>) {
    let mut batches: HashMap<String, LeaderBatch> = HashMap::new();
    let mut leaderless = Vec::new();
    for (topic, id) in partitions {
        let leader = metadata
            .partitions(&topic)
            .and_then(|ps| ps.iter().find(|p| p.id == id))
            .and_then(|p| metadata.leader_address(p));
        match leader {
            Some(addr) => batches.entry(addr.to_string()).or_default().entry(topic).or_default().push(id),
            None => leaderless.push((topic, id)),
        }
    }
    (batches, leaderless)
}

/// What one leader answered.
#[derive(Debug, Default)]
pub struct Answer {
    /// Offsets found.
    pub offsets: Vec<(Partition, i64)>,
    /// Partitions the leader answered with an error code.
    pub errors: Vec<(Partition, i16)>,
}

/// One ListOffsets request for all of `batch` at `leader`.
pub async fn list_offsets(
    client: &KafkaClient,
    leader: &str,
    batch: &LeaderBatch,
    spec: Spec,
) -> Result<Answer, KafkaError> {
    let timeout_ms = i32::try_from(client.settings().request_timeout.as_millis()).unwrap_or(i32::MAX);
    let topics: Vec<ListOffsetsTopic> = batch
        .iter()
        .map(|(topic, ids)| {
            ListOffsetsTopic::default().with_name(TopicName(StrBytes::from_string(topic.clone()))).with_partitions(
                ids.iter()
                    .map(|id| {
                        ListOffsetsPartition::default().with_partition_index(*id).with_timestamp(spec.timestamp())
                    })
                    .collect(),
            )
        })
        .collect();
    // Read-uncommitted, as Sarama's default: the high watermark, not the last stable offset.
    let request = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_isolation_level(0)
        .with_topics(topics)
        .with_timeout_ms(timeout_ms);
    let response = client.request(leader, 1, 9, |_| request).await?;
    let mut answer = Answer::default();
    for topic in response.topics {
        let name = topic.name.0.to_string();
        for p in topic.partitions {
            if p.error_code == 0 {
                answer.offsets.push(((name.clone(), p.partition_index), p.offset));
            } else {
                answer.errors.push(((name.clone(), p.partition_index), p.error_code));
            }
        }
    }
    Ok(answer)
}

/// Partition error codes that mean the metadata is out of date (a leader moved, a topic was re-created).
pub fn is_metadata_error(code: i16) -> bool {
    // UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE, NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH,
    // UNKNOWN_LEADER_EPOCH, UNKNOWN_TOPIC_ID.
    matches!(code, 3 | 5 | 6 | 74 | 75 | 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::PartitionInfo;
    use std::time::Instant;

    #[test]
    fn partitions_are_grouped_by_leader() {
        let partition = |id, leader| PartitionInfo { id, leader, replicas: vec![leader], isr: vec![leader] };
        let metadata = Metadata {
            brokers: BTreeMap::from([(1, "a:9092".to_string()), (2, "b:9092".to_string())]),
            topics: BTreeMap::from([
                ("t".to_string(), vec![partition(0, 1), partition(1, 2), partition(2, 1), partition(3, -1)]),
                ("u".to_string(), vec![partition(0, 2), partition(1, 7)]),
            ]),
            fetched: Instant::now(),
        };
        let all = [("t", 0), ("t", 1), ("t", 2), ("t", 3), ("u", 0), ("u", 1), ("gone", 0)];
        let (batches, leaderless) = by_leader(&metadata, all.iter().map(|(t, p)| (t.to_string(), *p)));
        assert_eq!(batches.len(), 2);
        assert_eq!(batches["a:9092"], BTreeMap::from([("t".to_string(), vec![0, 2])]));
        assert_eq!(batches["b:9092"], BTreeMap::from([("t".to_string(), vec![1]), ("u".to_string(), vec![0])]));
        assert_eq!(leaderless, vec![("t".to_string(), 3), ("u".to_string(), 1), ("gone".to_string(), 0)]);
    }
}
