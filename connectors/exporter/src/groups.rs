//! Consumer groups: which groups each broker coordinates (ListGroups), their members and assignments
//! (DescribeGroups), their committed offsets (OffsetFetch; many groups per request from v8 on).
//!
//! These functions send one request each and report what the broker said; the collector decides concurrency,
//! batching and what a failure means for the scrape.

use std::collections::{BTreeMap, HashMap};

use bytes::Buf;
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::{
    ConsumerProtocolAssignment, DescribeGroupsRequest, GroupId, ListGroupsRequest, OffsetFetchRequest, TopicName,
};
use kafka_protocol::protocol::{Decodable, StrBytes};

use crate::kafka::{error_name, KafkaClient, KafkaError};

/// A group as ListGroups names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// The group id.
    pub id: String,
    /// `consumer`, `connect`, ... (empty for groups that only commit offsets).
    pub protocol_type: String,
}

/// The groups `addr` coordinates.
pub async fn list_groups(client: &KafkaClient, addr: &str) -> Result<Vec<Listed>, KafkaError> {
    let response = client.request(addr, 0, 4, |_| ListGroupsRequest::default()).await?;
    if response.error_code != 0 {
        return Err(KafkaError::Broker {
            broker: addr.to_string(),
            api: "ListGroups",
            code: response.error_code,
            message: error_name(response.error_code),
        });
    }
    Ok(response
        .groups
        .into_iter()
        .map(|g| Listed { id: g.group_id.0.to_string(), protocol_type: g.protocol_type.to_string() })
        .collect())
}

/// A group as DescribeGroups describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Described {
    /// The error code of the group (0: described).
    pub error: i16,
    /// How many members it has.
    pub members: usize,
    /// The partitions its members are assigned, when they use the consumer protocol; members whose assignment
    /// cannot be read are counted in `unreadable`.
    pub assigned: BTreeMap<String, Vec<i32>>,
    /// Members whose assignment is not in the consumer protocol's format (or empty).
    pub unreadable: usize,
}

/// Describes `ids` at their coordinator `addr`.
pub async fn describe_groups(
    client: &KafkaClient,
    addr: &str,
    ids: &[String],
) -> Result<HashMap<String, Described>, KafkaError> {
    let groups: Vec<GroupId> = ids.iter().map(|id| GroupId(StrBytes::from_string(id.clone()))).collect();
    let response = client.request(addr, 0, 5, |_| DescribeGroupsRequest::default().with_groups(groups)).await?;
    let mut described = HashMap::new();
    for group in response.groups {
        let mut entry = Described { error: group.error_code, members: group.members.len(), ..Described::default() };
        for member in &group.members {
            match consumer_assignment(&member.member_assignment) {
                Some(assigned) if !assigned.is_empty() => {
                    for (topic, partitions) in assigned {
                        entry.assigned.entry(topic).or_default().extend(partitions);
                    }
                }
                _ => entry.unreadable += 1,
            }
        }
        for partitions in entry.assigned.values_mut() {
            partitions.sort_unstable();
            partitions.dedup();
        }
        described.insert(group.group_id.0.to_string(), entry);
    }
    Ok(described)
}

/// A member's assignment in the consumer protocol's format (a version, then the topics and partitions).
fn consumer_assignment(bytes: &[u8]) -> Option<BTreeMap<String, Vec<i32>>> {
    let mut buf = bytes::Bytes::copy_from_slice(bytes);
    if buf.remaining() < 2 {
        return None;
    }
    let version = buf.get_i16().clamp(0, 3);
    let assignment = ConsumerProtocolAssignment::decode(&mut buf, version).ok()?;
    Some(assignment.assigned_partitions.into_iter().map(|tp| (tp.topic.0.to_string(), tp.partitions)).collect())
}

/// Which offsets to fetch for a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wanted {
    /// Every committed offset of the group.
    All,
    /// These partitions.
    Partitions(BTreeMap<String, Vec<i32>>),
}

/// The committed offsets of one group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Committed {
    /// Topic -> (partition, committed offset or -1), partitions without error only.
    pub topics: BTreeMap<String, Vec<(i32, i64)>>,
    /// Partitions the coordinator answered with an error code.
    pub errors: Vec<(String, i32, i16)>,
}

/// A group's answer: its offsets or the group's error code.
pub type GroupAnswer = (String, Result<Committed, i16>);

/// The smallest OffsetFetch version that takes several groups per request.
pub const MULTI_GROUP_VERSION: i16 = 8;

/// Fetches the committed offsets of `groups` from their coordinator `addr`: one request for all of them when the
/// broker speaks OffsetFetch v8+, else one request for the first group only (callers pass one group then).
/// `all_partitions` stands in for [`Wanted::All`] with v1, which cannot ask for "all topics".
pub async fn fetch_offsets(
    client: &KafkaClient,
    addr: &str,
    groups: &[(String, Wanted)],
    all_partitions: &BTreeMap<String, Vec<i32>>,
) -> Result<Vec<GroupAnswer>, KafkaError> {
    let conn = client.broker(addr).await?;
    let version = conn.version::<OffsetFetchRequest>(1, 9)?;
    if version >= MULTI_GROUP_VERSION {
        let request = OffsetFetchRequest::default().with_groups(
            groups
                .iter()
                .map(|(id, wanted)| {
                    let topics = match wanted {
                        Wanted::All => None,
                        Wanted::Partitions(p) => Some(
                            p.iter()
                                .map(|(t, ids)| {
                                    OffsetFetchRequestTopics::default()
                                        .with_name(topic_name(t))
                                        .with_partition_indexes(ids.clone())
                                })
                                .collect(),
                        ),
                    };
                    OffsetFetchRequestGroup::default()
                        .with_group_id(GroupId(StrBytes::from_string(id.clone())))
                        .with_topics(topics)
                })
                .collect(),
        );
        let response = client.send(&conn, &request, version).await?;
        return Ok(response
            .groups
            .into_iter()
            .map(|group| {
                let id = group.group_id.0.to_string();
                if group.error_code != 0 {
                    return (id, Err(group.error_code));
                }
                let mut committed = Committed::default();
                for topic in group.topics {
                    let name = topic.name.0.to_string();
                    for p in topic.partitions {
                        committed.add(&name, p.partition_index, p.committed_offset, p.error_code);
                    }
                }
                (id, Ok(committed))
            })
            .collect());
    }
    let Some((id, wanted)) = groups.first() else { return Ok(Vec::new()) };
    let wanted = match (wanted, version) {
        (Wanted::All, 1) => Wanted::Partitions(all_partitions.clone()),
        (wanted, _) => wanted.clone(),
    };
    let topics = match &wanted {
        Wanted::All => None,
        Wanted::Partitions(p) => Some(
            p.iter()
                .map(|(t, ids)| {
                    OffsetFetchRequestTopic::default().with_name(topic_name(t)).with_partition_indexes(ids.clone())
                })
                .collect(),
        ),
    };
    let request =
        OffsetFetchRequest::default().with_group_id(GroupId(StrBytes::from_string(id.clone()))).with_topics(topics);
    let response = client.send(&conn, &request, version).await?;
    if response.error_code != 0 {
        return Ok(vec![(id.clone(), Err(response.error_code))]);
    }
    let mut committed = Committed::default();
    for topic in response.topics {
        let name = topic.name.0.to_string();
        for p in topic.partitions {
            committed.add(&name, p.partition_index, p.committed_offset, p.error_code);
        }
    }
    Ok(vec![(id.clone(), Ok(committed))])
}

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

impl Committed {
    fn add(&mut self, topic: &str, partition: i32, offset: i64, error: i16) {
        if error == 0 {
            self.topics.entry(topic.to_string()).or_default().push((partition, offset));
        } else {
            self.errors.push((topic.to_string(), partition, error));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BufMut;
    use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition;
    use kafka_protocol::protocol::Encodable;

    fn assignment(version: i16, topics: &[(&str, &[i32])]) -> Vec<u8> {
        let assignment = ConsumerProtocolAssignment::default().with_assigned_partitions(
            topics
                .iter()
                .map(|(t, ps)| TopicPartition::default().with_topic(topic_name(t)).with_partitions(ps.to_vec()))
                .collect(),
        );
        let mut buf = bytes::BytesMut::new();
        buf.put_i16(version);
        assignment.encode(&mut buf, version).unwrap();
        buf.to_vec()
    }

    #[test]
    fn consumer_assignments_are_read_in_every_version() {
        for version in 0..=3 {
            let bytes = assignment(version, &[("orders", &[0, 2]), ("payments", &[1])]);
            let read = consumer_assignment(&bytes).unwrap();
            assert_eq!(read["orders"], vec![0, 2]);
            assert_eq!(read["payments"], vec![1]);
        }
        assert_eq!(consumer_assignment(&[]), None);
        assert_eq!(consumer_assignment(&[0, 0, 255]), None);
    }
}
