//! Records: what source tasks return ([`SourceRecord`]) and what sink tasks receive ([`SinkRecord`]).

use std::fmt;

use abi_stable::std_types::{ROption, RString, RVec};
use abi_stable::StableAbi;

use crate::data::{Headers, Schema, Value};

/// One entry of a [`SourceMap`].
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct SourceMapEntry {
    /// The key.
    pub key: RString,
    /// A primitive value (string, integer, float, boolean or null).
    pub value: Value,
}

/// A source partition or a source offset: a small map with string keys and primitive values, for example
/// `{"filename": "/var/log/app.log"}` and `{"position": 1024}`. Keys keep insertion order; the runtime stores
/// them in Kafka Connect's offset format.
///
/// ```
/// use connect_api::{SourceMap, Value};
///
/// let partition = SourceMap::new().with("filename", "/tmp/in.txt");
/// let offset = SourceMap::new().with("position", 30i64);
/// assert_eq!(partition.get("filename").and_then(Value::as_str), Some("/tmp/in.txt"));
/// assert_eq!(offset.get("position").and_then(Value::as_i64), Some(30));
/// ```
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq, Default)]
pub struct SourceMap {
    entries: RVec<SourceMapEntry>,
}

impl SourceMap {
    /// An empty map.
    pub fn new() -> Self {
        SourceMap { entries: RVec::new() }
    }

    /// Adds or replaces `key`, returning the map.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.insert(key, value);
        self
    }

    /// Adds or replaces `key`.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        let key = RString::from(key.into());
        let value = value.into();
        match self.entries.iter_mut().find(|e| e.key == key) {
            Some(e) => e.value = value,
            None => self.entries.push(SourceMapEntry { key, value }),
        }
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|e| e.key == key).map(|e| &e.value)
    }

    /// The entries in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = &SourceMapEntry> {
        self.entries.iter()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A topic and partition.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// The topic.
    pub topic: RString,
    /// The partition.
    pub partition: i32,
}

impl TopicPartition {
    /// A topic partition.
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition { topic: RString::from(topic.into()), partition }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// A Kafka offset for a topic partition: the next offset to consume, as Kafka commits them.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq, Eq, Hash)]
pub struct TopicPartitionOffset {
    /// The topic partition.
    pub topic_partition: TopicPartition,
    /// The offset.
    pub offset: i64,
}

/// Where the broker stored a record produced for a source task (Kafka's `RecordMetadata`).
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq, Eq)]
pub struct RecordMetadata {
    /// The topic written to.
    pub topic: RString,
    /// The partition written to.
    pub partition: i32,
    /// The record's offset in that partition.
    pub offset: i64,
}

/// The meaning of a record timestamp.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimestampType {
    /// The record has no timestamp.
    NoTimestampType,
    /// Set by the producer.
    CreateTime,
    /// Set by the broker on append.
    LogAppendTime,
}

/// A record produced by a source task.
///
/// ```
/// use connect_api::{Schema, SourceMap, SourceRecord, Value};
///
/// let record = SourceRecord::new(
///     SourceMap::new().with("filename", "in.txt"),
///     SourceMap::new().with("position", 12i64),
///     "lines",
///     Some(Schema::string()),
///     Value::from("hello"),
/// )
/// .with_key(Some(Schema::string()), Value::from("k"))
/// .with_timestamp(1_700_000_000_000);
/// assert_eq!(record.topic.as_str(), "lines");
/// assert_eq!(record.key, Value::from("k"));
/// ```
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct SourceRecord {
    /// Where the record came from in the source system (for example a file name).
    pub source_partition: SourceMap,
    /// The position after this record in its source partition; stored once the record is acknowledged.
    pub source_offset: SourceMap,
    /// The destination topic.
    pub topic: RString,
    /// The destination partition; none lets the producer's partitioner choose.
    pub kafka_partition: ROption<i32>,
    /// The key schema.
    pub key_schema: ROption<Schema>,
    /// The key.
    pub key: Value,
    /// The value schema.
    pub value_schema: ROption<Schema>,
    /// The value.
    pub value: Value,
    /// The timestamp in milliseconds since the epoch; none lets the producer set it.
    pub timestamp: ROption<i64>,
    /// The headers.
    pub headers: Headers,
}

impl SourceRecord {
    /// A record without key, partition, timestamp or headers.
    pub fn new(
        source_partition: SourceMap,
        source_offset: SourceMap,
        topic: impl Into<String>,
        value_schema: Option<Schema>,
        value: Value,
    ) -> Self {
        SourceRecord {
            source_partition,
            source_offset,
            topic: RString::from(topic.into()),
            kafka_partition: ROption::RNone,
            key_schema: ROption::RNone,
            key: Value::Null,
            value_schema: value_schema.into(),
            value,
            timestamp: ROption::RNone,
            headers: Headers::new(),
        }
    }

    /// Sets the key and its schema.
    pub fn with_key(mut self, schema: Option<Schema>, key: Value) -> Self {
        self.key_schema = schema.into();
        self.key = key;
        self
    }

    /// Sets the destination partition.
    pub fn with_partition(mut self, partition: i32) -> Self {
        self.kafka_partition = ROption::RSome(partition);
        self
    }

    /// Sets the timestamp (milliseconds since the epoch).
    pub fn with_timestamp(mut self, timestamp: i64) -> Self {
        self.timestamp = ROption::RSome(timestamp);
        self
    }

    /// Sets the headers.
    pub fn with_headers(mut self, headers: Headers) -> Self {
        self.headers = headers;
        self
    }

    /// The key schema.
    pub fn key_schema(&self) -> Option<&Schema> {
        self.key_schema.as_ref().into()
    }

    /// The value schema.
    pub fn value_schema(&self) -> Option<&Schema> {
        self.value_schema.as_ref().into()
    }
}

/// A record delivered to a sink task.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct SinkRecord {
    /// The topic it was read from.
    pub topic: RString,
    /// The partition it was read from.
    pub kafka_partition: i32,
    /// Its offset in that partition.
    pub kafka_offset: i64,
    /// The key schema.
    pub key_schema: ROption<Schema>,
    /// The key.
    pub key: Value,
    /// The value schema.
    pub value_schema: ROption<Schema>,
    /// The value.
    pub value: Value,
    /// The timestamp in milliseconds since the epoch.
    pub timestamp: ROption<i64>,
    /// What the timestamp means.
    pub timestamp_type: TimestampType,
    /// The headers.
    pub headers: Headers,
}

impl SinkRecord {
    /// A record read from `topic`, `partition` at `offset`, without key, timestamp or headers (the runtime builds
    /// them from Kafka; tests build them with this).
    ///
    /// ```
    /// use connect_api::{Schema, SinkRecord, Value};
    ///
    /// let record = SinkRecord::new("orders", 0, 41, Some(Schema::string()), Value::from("hello"))
    ///     .with_key(Some(Schema::string()), Value::from("k1"))
    ///     .with_timestamp(1_700_000_000_000);
    /// assert_eq!(record.kafka_offset, 41);
    /// assert_eq!(record.topic_partition().to_string(), "orders-0");
    /// ```
    pub fn new(
        topic: impl Into<String>,
        partition: i32,
        offset: i64,
        value_schema: Option<Schema>,
        value: Value,
    ) -> Self {
        SinkRecord {
            topic: RString::from(topic.into()),
            kafka_partition: partition,
            kafka_offset: offset,
            key_schema: ROption::RNone,
            key: Value::Null,
            value_schema: value_schema.into(),
            value,
            timestamp: ROption::RNone,
            timestamp_type: TimestampType::NoTimestampType,
            headers: Headers::new(),
        }
    }

    /// Sets the key and its schema.
    pub fn with_key(mut self, schema: Option<Schema>, key: Value) -> Self {
        self.key_schema = schema.into();
        self.key = key;
        self
    }

    /// Sets a creation timestamp (milliseconds since the epoch).
    pub fn with_timestamp(mut self, timestamp: i64) -> Self {
        self.timestamp = ROption::RSome(timestamp);
        self.timestamp_type = TimestampType::CreateTime;
        self
    }

    /// Sets the headers.
    pub fn with_headers(mut self, headers: Headers) -> Self {
        self.headers = headers;
        self
    }

    /// The key schema.
    pub fn key_schema(&self) -> Option<&Schema> {
        self.key_schema.as_ref().into()
    }

    /// The value schema.
    pub fn value_schema(&self) -> Option<&Schema> {
        self.value_schema.as_ref().into()
    }

    /// The topic partition the record was read from.
    pub fn topic_partition(&self) -> TopicPartition {
        TopicPartition { topic: self.topic.clone(), partition: self.kafka_partition }
    }
}
