//! MirrorMaker 2 between two tansu clusters: connector configs, deterministic test records, whole-topic reads for
//! record-by-record comparison, and our own decoders of MM2's internal records.
//!
//! The decoders follow Apache Kafka's schemas (`connect/mirror-client/.../{OffsetSync,Checkpoint,Heartbeat}.java`:
//! Kafka's protocol `Struct` encoding, big-endian integers, STRING = int16 length + UTF-8) and never share code
//! with the connectors' encoders, so a test reading these topics checks the connectors' bytes independently.
//! [`OffsetSyncStore`] models MM2's offset translation (`OffsetSyncStore.java`) for the checkpoint tests.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::ClientConfig;
use serde_json::{json, Value};

use crate::{plugin_dir, start_cluster, Broker, DistributedWorker};

/// `MirrorSourceConnector`'s class.
pub const SOURCE: &str = "org.apache.kafka.connect.mirror.MirrorSourceConnector";
/// `MirrorCheckpointConnector`'s class.
pub const CHECKPOINT: &str = "org.apache.kafka.connect.mirror.MirrorCheckpointConnector";
/// `MirrorHeartbeatConnector`'s class.
pub const HEARTBEAT: &str = "org.apache.kafka.connect.mirror.MirrorHeartbeatConnector";
/// The replication policy that keeps topic names.
pub const IDENTITY_POLICY: &str = "org.apache.kafka.connect.mirror.IdentityReplicationPolicy";
const BYTE_ARRAY: &str = "org.apache.kafka.connect.converters.ByteArrayConverter";

/// The first record timestamp [`test_record`] gives (2023-11-14T22:13:20Z): far from the broker's clock, so a
/// timestamp replaced by the append time shows.
pub const BASE_TIMESTAMP: i64 = 1_700_000_000_000;

/// The config of a mirror connector of `class` replicating `source` (alias `source_alias`) to `target` (alias
/// `target_alias`): byte-array converters, replication factors 1 (tansu), then `extra` (which may override).
pub fn mirror_config(
    class: &str,
    (source_alias, source): (&str, &Broker),
    (target_alias, target): (&str, &Broker),
    extra: &[(&str, &str)],
) -> Value {
    let mut config = json!({
        "connector.class": class,
        "source.cluster.alias": source_alias,
        "target.cluster.alias": target_alias,
        "source.cluster.bootstrap.servers": source.bootstrap(),
        "target.cluster.bootstrap.servers": target.bootstrap(),
        "key.converter": BYTE_ARRAY,
        "value.converter": BYTE_ARRAY,
        "header.converter": BYTE_ARRAY,
        "replication.factor": "1",
        "offset-syncs.topic.replication.factor": "1",
        "checkpoints.topic.replication.factor": "1",
        "heartbeats.topic.replication.factor": "1",
    });
    for (key, value) in extra {
        config[*key] = Value::String(value.to_string());
    }
    config
}

/// `n` distributed workers of `group` on `target` (the mirror connectors are built in: an empty plugin path).
pub fn mirror_workers(
    dir: &Path,
    target: &Broker,
    group: &str,
    n: usize,
    extra: &[(&str, &str)],
) -> Vec<DistributedWorker> {
    let plugins = plugin_dir(dir, &[]);
    start_cluster(n, Duration::from_secs(90), dir, target, &plugins, group, extra)
}

/// A record as read from a topic, everything MM2 must carry over.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Record {
    /// Key bytes (`None`: null key).
    pub key: Option<Vec<u8>>,
    /// Value bytes (`None`: null value).
    pub value: Option<Vec<u8>>,
    /// Headers in order, duplicates kept.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// The record's timestamp (`None` when the broker gave none).
    pub timestamp: Option<i64>,
}

/// Record `i` of a test topic, a function of `(topic, i)` alone so that a reader can recompute it: partition
/// `i % partitions`, timestamp [`BASE_TIMESTAMP`] + `i`, and the edge cases MM2 must pass through untouched (null
/// keys, null and empty values, no headers, null header values, repeated header keys).
pub fn test_record(topic: &str, i: u64, partitions: i32) -> (i32, Record) {
    let key = (i % 1000 != 7).then(|| format!("{topic}-key-{i}").into_bytes());
    let value = match i % 5000 {
        13 => None,
        14 => Some(Vec::new()),
        _ => Some(format!("{topic}-value-{i:012}-{}", "v".repeat((i % 64) as usize)).into_bytes()),
    };
    // Headers on few records: tansu 0.6.0 (sqlite) has no index on its header table, so every record it fetches
    // scans all stored headers; headers on every record make reading a topic quadratic in its size.
    let mut headers = Vec::new();
    if i % 1000 == 1 {
        headers.push(("seq".to_string(), Some(i.to_be_bytes().to_vec())));
    }
    if i % 1000 == 2 {
        headers.push(("dup".to_string(), Some(b"first".to_vec())));
        headers.push(("dup".to_string(), Some(b"second".to_vec())));
        headers.push(("null".to_string(), None));
    }
    let record = Record { key, value, headers, timestamp: Some(BASE_TIMESTAMP + i as i64) };
    ((i % partitions as u64) as i32, record)
}

fn client(bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap);
    config
}

/// Produces records `from..to` of [`test_record`] to `topic` (with `partitions` partitions), batched, and waits
/// for every acknowledgement.
pub fn produce(broker: &Broker, topic: &str, partitions: i32, from: u64, to: u64) {
    let producer: ThreadedProducer<DefaultProducerContext> = client(&broker.bootstrap())
        .set("acks", "all")
        .set("linger.ms", "20")
        .set("batch.num.messages", "10000")
        .set("queue.buffering.max.messages", "200000")
        .create()
        .expect("producer");
    for i in from..to {
        let (partition, record) = test_record(topic, i, partitions);
        let mut headers = OwnedHeaders::new();
        for (key, value) in &record.headers {
            headers = headers.insert(Header { key, value: value.as_deref() });
        }
        let mut base = BaseRecord::<[u8], [u8]>::to(topic).partition(partition).headers(headers);
        if let Some(timestamp) = record.timestamp {
            base = base.timestamp(timestamp);
        }
        if let Some(key) = &record.key {
            base = base.key(key.as_slice());
        }
        if let Some(value) = &record.value {
            base = base.payload(value.as_slice());
        }
        loop {
            match producer.send(base) {
                Ok(()) => break,
                Err((e, back)) => {
                    assert!(
                        matches!(e.rdkafka_error_code(), Some(rdkafka::types::RDKafkaErrorCode::QueueFull)),
                        "send to {topic}: {e}"
                    );
                    base = back;
                    producer.poll(Duration::from_millis(5));
                }
            }
        }
    }
    producer.flush(Duration::from_secs(120)).expect("flush");
}

/// Every record [`test_record`] gave for `0..n`, per partition in production order.
pub fn expected_records(topic: &str, partitions: i32, n: u64) -> BTreeMap<i32, Vec<Record>> {
    let mut out: BTreeMap<i32, Vec<Record>> = (0..partitions).map(|p| (p, Vec::new())).collect();
    for i in 0..n {
        let (partition, record) = test_record(topic, i, partitions);
        out.entry(partition).or_default().push(record);
    }
    out
}

/// The names of all topics of a cluster.
pub fn topics(broker: &Broker) -> BTreeSet<String> {
    let consumer: BaseConsumer = client(&broker.bootstrap()).create().expect("consumer");
    let metadata = consumer.fetch_metadata(None, Duration::from_secs(10)).expect("metadata");
    metadata.topics().iter().map(|t| t.name().to_string()).collect()
}

/// The end offset of every partition of `topic` (empty when it does not exist).
pub fn end_offsets(broker: &Broker, topic: &str) -> Vec<i64> {
    let consumer: BaseConsumer = client(&broker.bootstrap()).create().expect("consumer");
    let Ok(metadata) = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)) else { return Vec::new() };
    let Some(found) = metadata.topics().first().filter(|t| t.error().is_none()) else { return Vec::new() };
    (0..found.partitions().len() as i32)
        .map(|p| consumer.fetch_watermarks(topic, p, Duration::from_secs(10)).map(|(_, high)| high).unwrap_or(-1))
        .collect()
}

/// The number of records in `topic` (sum of its end offsets; the test topics are never truncated).
pub fn record_count(broker: &Broker, topic: &str) -> i64 {
    end_offsets(broker, topic).iter().filter(|o| **o > 0).sum()
}

/// Reads every partition of `topic` from the beginning to the end offsets it has when the read starts; each record
/// with its offset. Panics after `timeout`.
pub fn read_topic(broker: &Broker, topic: &str, timeout: Duration) -> BTreeMap<i32, Vec<(i64, Record)>> {
    let ends = end_offsets(broker, topic);
    let consumer: BaseConsumer = client(&broker.bootstrap())
        .set("group.id", format!("mirror-test-reader-{}", crate::broker::free_port()))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    let mut out: BTreeMap<i32, Vec<(i64, Record)>> = BTreeMap::new();
    let mut remaining = 0;
    for (p, end) in ends.iter().enumerate() {
        out.insert(p as i32, Vec::new());
        if *end > 0 {
            tpl.add_partition_offset(topic, p as i32, Offset::Beginning).expect("partition");
            remaining += 1;
        }
    }
    if remaining == 0 {
        return out;
    }
    consumer.assign(&tpl).expect("assign");
    let deadline = Instant::now() + timeout;
    while remaining > 0 {
        if Instant::now() > deadline {
            let read: Vec<(i32, usize, Option<i64>)> =
                out.iter().map(|(p, records)| (*p, records.len(), records.last().map(|(o, _)| *o))).collect();
            panic!("reading {topic} to {ends:?} took longer than {timeout:?}; (partition, records, last offset) read: {read:?}");
        }
        let Some(message) = consumer.poll(Duration::from_millis(100)) else { continue };
        let message = match message {
            Ok(message) => message,
            Err(e) => {
                eprintln!("reading {topic}: {e}");
                continue;
            }
        };
        let (p, offset) = (message.partition(), message.offset());
        let end = ends[p as usize];
        if offset >= end {
            continue;
        }
        let record = Record {
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().map(<[u8]>::to_vec),
            headers: message
                .headers()
                .map(|h| h.iter().map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec))).collect())
                .unwrap_or_default(),
            timestamp: message.timestamp().to_millis(),
        };
        out.get_mut(&p).expect("assigned partition").push((offset, record));
        if offset + 1 == end {
            remaining -= 1;
        }
    }
    out
}

/// Reads `topic` whole and decodes each record with `decode` (key, value).
pub fn read_decoded<T>(
    broker: &Broker,
    topic: &str,
    decode: impl Fn(&[u8], &[u8]) -> Result<T, String>,
) -> Vec<(i64, T)> {
    let mut out = Vec::new();
    for (p, records) in read_topic(broker, topic, Duration::from_secs(30)) {
        for (offset, record) in records {
            let key = record.key.unwrap_or_default();
            let value = record.value.unwrap_or_default();
            let decoded = decode(&key, &value)
                .unwrap_or_else(|e| panic!("{topic} partition {p} offset {offset} does not decode: {e}"));
            out.push((record.timestamp.unwrap_or(-1), decoded));
        }
    }
    out
}

/// A cursor over Kafka's protocol `Struct` encoding.
struct StructReader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> StructReader<'a> {
    fn new(bytes: &'a [u8], what: &'static str) -> Self {
        StructReader { bytes, what }
    }

    fn take<const N: usize>(&mut self, field: &str) -> Result<[u8; N], String> {
        if self.bytes.len() < N {
            return Err(format!("{}: {field}: {} bytes left, {N} needed", self.what, self.bytes.len()));
        }
        let (head, rest) = self.bytes.split_at(N);
        self.bytes = rest;
        Ok(head.try_into().expect("N bytes"))
    }

    fn int16(&mut self, field: &str) -> Result<i16, String> {
        self.take::<2>(field).map(i16::from_be_bytes)
    }

    fn int32(&mut self, field: &str) -> Result<i32, String> {
        self.take::<4>(field).map(i32::from_be_bytes)
    }

    fn int64(&mut self, field: &str) -> Result<i64, String> {
        self.take::<8>(field).map(i64::from_be_bytes)
    }

    /// Kafka's `Type.STRING`: int16 length (never negative: not nullable), then that many bytes of UTF-8.
    fn string(&mut self, field: &str) -> Result<String, String> {
        let len = self.int16(field)?;
        let len = usize::try_from(len).map_err(|_| format!("{}: {field}: negative string length {len}", self.what))?;
        if self.bytes.len() < len {
            return Err(format!("{}: {field}: string of {len} bytes, {} left", self.what, self.bytes.len()));
        }
        let (text, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        String::from_utf8(text.to_vec()).map_err(|e| format!("{}: {field}: {e}", self.what))
    }

    /// The version header of a versioned value (`int16`, only version 0 exists).
    fn version0(&mut self) -> Result<(), String> {
        match self.int16("version")? {
            0 => Ok(()),
            v => Err(format!("{}: unknown version {v}", self.what)),
        }
    }

    fn end(self) -> Result<(), String> {
        match self.bytes.len() {
            0 => Ok(()),
            n => Err(format!("{}: {n} bytes after the last field", self.what)),
        }
    }
}

/// A record of the offset-syncs topic (`mm2-offset-syncs.<target>.internal`): upstream offset `upstream_offset`
/// of `topic`/`partition` on the source was written at `offset` of the remote topic on the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetSync {
    /// The source topic.
    pub topic: String,
    /// The partition (same number on both sides).
    pub partition: i32,
    /// The offset on the source.
    pub upstream_offset: i64,
    /// The offset on the target.
    pub offset: i64,
}

impl OffsetSync {
    /// Key `{topic: STRING, partition: INT32}`, value `{upstreamOffset: INT64, offset: INT64}` (no version).
    pub fn decode(key: &[u8], value: &[u8]) -> Result<Self, String> {
        let mut k = StructReader::new(key, "offset sync key");
        let (topic, partition) = (k.string("topic")?, k.int32("partition")?);
        k.end()?;
        let mut v = StructReader::new(value, "offset sync value");
        let (upstream_offset, offset) = (v.int64("upstreamOffset")?, v.int64("offset")?);
        v.end()?;
        Ok(OffsetSync { topic, partition, upstream_offset, offset })
    }
}

/// A record of the checkpoints topic (`<source>.checkpoints.internal` on the target).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The consumer group.
    pub group: String,
    /// The topic as named on the target (`A.orders`).
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The group's committed offset on the source.
    pub upstream_offset: i64,
    /// Its translation on the target.
    pub offset: i64,
    /// The commit's metadata.
    pub metadata: String,
}

impl Checkpoint {
    /// Key `{group: STRING, topic: STRING, partition: INT32}`, value `version: INT16 = 0` then
    /// `{upstreamOffset: INT64, offset: INT64, metadata: STRING}`.
    pub fn decode(key: &[u8], value: &[u8]) -> Result<Self, String> {
        let mut k = StructReader::new(key, "checkpoint key");
        let (group, topic, partition) = (k.string("group")?, k.string("topic")?, k.int32("partition")?);
        k.end()?;
        let mut v = StructReader::new(value, "checkpoint value");
        v.version0()?;
        let (upstream_offset, offset, metadata) =
            (v.int64("upstreamOffset")?, v.int64("offset")?, v.string("metadata")?);
        v.end()?;
        Ok(Checkpoint { group, topic, partition, upstream_offset, offset, metadata })
    }
}

/// A record of the `heartbeats` topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    /// The cluster the heartbeat was emitted for.
    pub source_cluster_alias: String,
    /// The cluster it was written to.
    pub target_cluster_alias: String,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
}

impl Heartbeat {
    /// Key `{sourceClusterAlias: STRING, targetClusterAlias: STRING}`, value `version: INT16 = 0` then
    /// `{timestamp: INT64}`.
    pub fn decode(key: &[u8], value: &[u8]) -> Result<Self, String> {
        let mut k = StructReader::new(key, "heartbeat key");
        let (source_cluster_alias, target_cluster_alias) =
            (k.string("sourceClusterAlias")?, k.string("targetClusterAlias")?);
        k.end()?;
        let mut v = StructReader::new(value, "heartbeat value");
        v.version0()?;
        let timestamp = v.int64("timestamp")?;
        v.end()?;
        Ok(Heartbeat { source_cluster_alias, target_cluster_alias, timestamp })
    }
}

/// MM2's offset translation (`OffsetSyncStore.java`) over the syncs a checkpoint task has read: per partition 64
/// syncs, `syncs[0]` the latest, `syncs[i]` kept in power-of-two buckets of upstream offsets; an upstream offset
/// translates through the latest sync at or before it: to its downstream offset when equal, one past it when
/// ahead; -1 when every kept sync is ahead of it.
///
/// This models a store that read the syncs one by one after its initial read to the end; a store that loaded
/// them at start keeps only the latest. Both keep the latest sync in `syncs[0]`, so the translation of an
/// upstream offset at or after the latest sync is the same for both, whatever a task read when.
#[derive(Default)]
pub struct OffsetSyncStore {
    syncs: HashMap<(String, i32), Vec<(i64, i64)>>,
}

impl OffsetSyncStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one sync, in the order of the offset-syncs topic.
    pub fn apply(&mut self, sync: &OffsetSync) {
        let entry = (sync.upstream_offset, sync.offset);
        let syncs = self.syncs.entry((sync.topic.clone(), sync.partition)).or_insert_with(|| vec![entry; 64]);
        if syncs[0].0 > sync.upstream_offset {
            // A rewound upstream invalidates everything kept.
            syncs.iter_mut().for_each(|s| *s = entry);
            return;
        }
        syncs[0] = entry;
        // Bucket i is replaced when the new offset differs from its sync above the lowest i bits.
        for (i, kept) in syncs.iter_mut().enumerate().skip(1) {
            if (kept.0 ^ sync.upstream_offset) & (i64::MAX << i) != 0 {
                *kept = entry;
            } else {
                break;
            }
        }
    }

    /// The latest sync of a partition (`upstream`, `downstream`).
    pub fn latest(&self, topic: &str, partition: i32) -> Option<(i64, i64)> {
        self.syncs.get(&(topic.to_string(), partition)).map(|s| s[0])
    }

    /// The downstream offset of `upstream` (`None`: no sync for the partition).
    pub fn translate(&self, topic: &str, partition: i32, upstream: i64) -> Option<i64> {
        let syncs = self.syncs.get(&(topic.to_string(), partition))?;
        let found = syncs.iter().find(|(u, _)| *u <= upstream);
        Some(match found {
            None => -1,
            Some((u, d)) if *u == upstream => *d,
            Some((_, d)) => d + 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Java's `Type.STRING` of `s`.
    fn string(s: &str) -> Vec<u8> {
        let mut out = (s.len() as i16).to_be_bytes().to_vec();
        out.extend_from_slice(s.as_bytes());
        out
    }

    fn concat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    fn offset_sync_decodes_javas_struct_bytes() {
        // new OffsetSync(new TopicPartition("orders", 2), 1234, 1230): key then value as KEY_SCHEMA/VALUE_SCHEMA.
        let key = [0, 6, b'o', b'r', b'd', b'e', b'r', b's', 0, 0, 0, 2];
        let value = [0, 0, 0, 0, 0, 0, 0x04, 0xd2, 0, 0, 0, 0, 0, 0, 0x04, 0xce];
        let sync = OffsetSync::decode(&key, &value).unwrap();
        assert_eq!(sync, OffsetSync { topic: "orders".into(), partition: 2, upstream_offset: 1234, offset: 1230 });
        assert!(OffsetSync::decode(&key[..11], &value).unwrap_err().contains("partition"));
        assert!(OffsetSync::decode(&key, &[&value[..], &[0]].concat()).unwrap_err().contains("after the last field"));
    }

    #[test]
    fn checkpoint_decodes_javas_struct_bytes_with_version_header() {
        let key = concat(&[&string("g1"), &string("A.orders"), &7i32.to_be_bytes()]);
        let value = concat(&[&0i16.to_be_bytes(), &500i64.to_be_bytes(), &498i64.to_be_bytes(), &string("meta")]);
        let checkpoint = Checkpoint::decode(&key, &value).unwrap();
        assert_eq!(
            checkpoint,
            Checkpoint {
                group: "g1".into(),
                topic: "A.orders".into(),
                partition: 7,
                upstream_offset: 500,
                offset: 498,
                metadata: "meta".into()
            }
        );
        let empty_metadata = concat(&[&0i16.to_be_bytes(), &1i64.to_be_bytes(), &1i64.to_be_bytes(), &[0, 0]]);
        assert_eq!(Checkpoint::decode(&key, &empty_metadata).unwrap().metadata, "");
        let version1 = concat(&[&1i16.to_be_bytes(), &value[2..]]);
        assert!(Checkpoint::decode(&key, &version1).unwrap_err().contains("unknown version 1"));
        // Without the version header the value is two bytes short: an encoder that forgot it is caught.
        assert!(Checkpoint::decode(&key, &value[2..]).is_err());
    }

    #[test]
    fn heartbeat_decodes_javas_struct_bytes_with_version_header() {
        let key = concat(&[&string("A"), &string("B")]);
        let value = concat(&[&0i16.to_be_bytes(), &1_764_633_600_000i64.to_be_bytes()]);
        assert_eq!(
            Heartbeat::decode(&key, &value).unwrap(),
            Heartbeat {
                source_cluster_alias: "A".into(),
                target_cluster_alias: "B".into(),
                timestamp: 1_764_633_600_000
            }
        );
        assert!(Heartbeat::decode(&key, &value[2..]).is_err());
        assert!(Heartbeat::decode(&[0, 5, b'A'], &value).unwrap_err().contains("string of 5 bytes"));
        assert!(Heartbeat::decode(&[0xff, 0xff], &value).unwrap_err().contains("negative string length"));
    }

    fn sync(upstream: i64, downstream: i64) -> OffsetSync {
        OffsetSync { topic: "t".into(), partition: 0, upstream_offset: upstream, offset: downstream }
    }

    #[test]
    fn translation_follows_mm2s_offset_sync_store() {
        let mut store = OffsetSyncStore::new();
        assert_eq!(store.translate("t", 0, 5), None, "no sync: no translation");
        // Syncs every 100 offsets, downstream 10 behind (records dropped early on).
        for upstream in (0..=1000).step_by(100) {
            store.apply(&sync(upstream, upstream - 10));
        }
        assert_eq!(store.latest("t", 0), Some((1000, 990)));
        assert_eq!(store.translate("t", 0, 1000), Some(990), "exactly at a sync: its downstream offset");
        assert_eq!(store.translate("t", 0, 1500), Some(991), "past the latest sync: one past it, never more");
        // The buckets keep 1000, 900, 800, 600 and the first sync 0 (the others expired): 950 translates through
        // 900, one past it; 700 through 600. Never past the exact position (upstream - 10), so nothing is skipped.
        assert_eq!(store.translate("t", 0, 950), Some(891));
        assert_eq!(store.translate("t", 0, 700), Some(591));
        assert_eq!(store.translate("t", 0, 0), Some(-10), "the first sync is kept in the oldest bucket");
        // A rewind (a re-created source topic) clears everything.
        store.apply(&sync(3, 3));
        assert_eq!(store.translate("t", 0, 2), Some(-1), "every kept sync is ahead");
        assert_eq!(store.translate("t", 0, 1000), Some(4));
    }

    #[test]
    fn test_records_cover_the_edge_cases() {
        let records: Vec<Record> = (0..10_000).map(|i| test_record("t", i, 3).1).collect();
        assert!(records.iter().filter(|r| !r.headers.is_empty()).count() <= 20, "headers are rare");
        assert!(records.iter().any(|r| r.key.is_none()));
        assert!(records.iter().any(|r| r.value.is_none()));
        assert!(records.iter().any(|r| r.value.as_deref() == Some(&[][..])));
        assert!(records.iter().any(|r| r.headers.is_empty()));
        assert!(records.iter().any(|r| r.headers.iter().any(|(_, v)| v.is_none())));
        assert_eq!(test_record("t", 4, 3).0, 1);
        assert_eq!(expected_records("t", 3, 10)[&0].len(), 4);
    }
}
