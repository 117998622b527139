//! Single message transformations and predicates (Kafka Connect's `Transformation` and `Predicate`, KIP-66 and
//! KIP-585).
//!
//! A connector configuration lists transformations (`transforms=a,b`, `transforms.a.type=<class>`,
//! `transforms.a.<key>=...`) that the runtime applies in order to every record: on the source path after `poll`
//! and before the converters, on the sink path after the converters and before `put`. A transformation may be
//! guarded by a predicate (`transforms.a.predicate=p`, `transforms.a.negate=true`, `predicates=p`,
//! `predicates.p.type=<class>`): it then applies only to the records the predicate matches (or, negated, does not
//! match).
//!
//! Both see a record as a [`TransformRecord`]: the parts that source and sink records share. The runtime moves
//! the record's fields in and out, so a chain costs no copy of keys, values or headers.
//!
//! ```
//! use connect_api::transform::{TransformRecord, Transformation};
//! use connect_api::{Config, ConfigDef, ConfigKey, ConfigType, Result};
//!
//! /// Appends a suffix to the topic name.
//! #[derive(Default)]
//! struct Suffix { suffix: String }
//!
//! impl Transformation for Suffix {
//!     fn config_def(&self) -> ConfigDef {
//!         ConfigDef::new().define(ConfigKey::new("suffix", ConfigType::String))
//!     }
//!     fn configure(&mut self, config: &Config) -> Result<()> {
//!         self.suffix = self.config_def().parse(config)?.string("suffix")?.to_string();
//!         Ok(())
//!     }
//!     fn apply(&mut self, mut record: TransformRecord) -> Result<Option<TransformRecord>> {
//!         record.topic = format!("{}{}", record.topic, self.suffix).into();
//!         Ok(Some(record))
//!     }
//! }
//!
//! let mut t = Suffix::default();
//! t.configure(&Config::from([("suffix".to_string(), "-copy".to_string())])).unwrap();
//! let out = t.apply(TransformRecord::new("orders")).unwrap().unwrap();
//! assert_eq!(out.topic.as_str(), "orders-copy");
//! ```

use abi_stable::std_types::{ROption, RString};
use abi_stable::StableAbi;

use crate::config::{Config, ConfigDef};
use crate::data::{Headers, Schema, Value};
use crate::error::Result;
use crate::record::{SinkRecord, SourceMap, SourceRecord, TimestampType};

/// A record as transformations and predicates see it: topic, partition, key, value, timestamp and headers, plus
/// the Kafka offset of a sink record (Kafka Connect's `ConnectRecord`).
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct TransformRecord {
    /// The topic: the destination of a source record, the origin of a sink record.
    pub topic: RString,
    /// The partition; none lets the producer's partitioner choose (source records only).
    pub kafka_partition: ROption<i32>,
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
    /// The headers.
    pub headers: Headers,
    /// The record's offset in its partition: set for sink records, none for source records.
    pub kafka_offset: ROption<i64>,
    /// What the timestamp means (`NoTimestampType` for source records).
    pub timestamp_type: TimestampType,
}

impl TransformRecord {
    /// An empty record for `topic`: no partition, null key and value without schemas, no timestamp or headers.
    pub fn new(topic: impl Into<String>) -> Self {
        TransformRecord {
            topic: RString::from(topic.into()),
            kafka_partition: ROption::RNone,
            key_schema: ROption::RNone,
            key: Value::Null,
            value_schema: ROption::RNone,
            value: Value::Null,
            timestamp: ROption::RNone,
            headers: Headers::new(),
            kafka_offset: ROption::RNone,
            timestamp_type: TimestampType::NoTimestampType,
        }
    }

    /// Sets the key and its schema.
    pub fn with_key(mut self, schema: Option<Schema>, key: Value) -> Self {
        self.key_schema = schema.into();
        self.key = key;
        self
    }

    /// Sets the value and its schema.
    pub fn with_value(mut self, schema: Option<Schema>, value: Value) -> Self {
        self.value_schema = schema.into();
        self.value = value;
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

    /// Whether this is a sink record (it has a Kafka offset).
    pub fn is_sink(&self) -> bool {
        self.kafka_offset.is_some()
    }

    /// Splits a source record into what transformations see and its source partition and offset, which they
    /// never change.
    pub fn from_source(record: SourceRecord) -> (TransformRecord, SourceMap, SourceMap) {
        let SourceRecord {
            source_partition,
            source_offset,
            topic,
            kafka_partition,
            key_schema,
            key,
            value_schema,
            value,
            timestamp,
            headers,
        } = record;
        let transformed = TransformRecord {
            topic,
            kafka_partition,
            key_schema,
            key,
            value_schema,
            value,
            timestamp,
            headers,
            kafka_offset: ROption::RNone,
            timestamp_type: TimestampType::NoTimestampType,
        };
        (transformed, source_partition, source_offset)
    }

    /// The source record again, with the source partition and offset [`TransformRecord::from_source`] took.
    pub fn into_source(self, source_partition: SourceMap, source_offset: SourceMap) -> SourceRecord {
        SourceRecord {
            source_partition,
            source_offset,
            topic: self.topic,
            kafka_partition: self.kafka_partition,
            key_schema: self.key_schema,
            key: self.key,
            value_schema: self.value_schema,
            value: self.value,
            timestamp: self.timestamp,
            headers: self.headers,
        }
    }

    /// A sink record as transformations see it.
    pub fn from_sink(record: SinkRecord) -> TransformRecord {
        TransformRecord {
            topic: record.topic,
            kafka_partition: ROption::RSome(record.kafka_partition),
            key_schema: record.key_schema,
            key: record.key,
            value_schema: record.value_schema,
            value: record.value,
            timestamp: record.timestamp,
            headers: record.headers,
            kafka_offset: ROption::RSome(record.kafka_offset),
            timestamp_type: record.timestamp_type,
        }
    }

    /// The sink record again. A partition or offset a transformation removed falls back to `original`'s, the
    /// position the record was consumed from.
    pub fn into_sink(self, original_partition: i32, original_offset: i64) -> SinkRecord {
        SinkRecord {
            topic: self.topic,
            kafka_partition: self.kafka_partition.unwrap_or(original_partition),
            kafka_offset: self.kafka_offset.unwrap_or(original_offset),
            key_schema: self.key_schema,
            key: self.key,
            value_schema: self.value_schema,
            value: self.value,
            timestamp: self.timestamp,
            timestamp_type: self.timestamp_type,
            headers: self.headers,
        }
    }
}

/// A single message transformation: changes a record, replaces it, or drops it (Kafka Connect's
/// `Transformation`). One instance serves one task, from that task's thread only.
pub trait Transformation: Send + 'static {
    /// The transformation's version, shown by `GET /connector-plugins?connectorsOnly=false`.
    fn version(&self) -> String {
        crate::abi::API_VERSION.to_string()
    }

    /// The configuration keys the transformation accepts (without `type`, `predicate` and `negate`, which the
    /// runtime handles).
    fn config_def(&self) -> ConfigDef;

    /// Takes the transformation's settings: the keys under `transforms.<alias>.` with that prefix removed. An
    /// invalid setting is a [`crate::ErrorKind::Config`] error naming the key.
    fn configure(&mut self, config: &Config) -> Result<()>;

    /// Transforms one record; `None` drops it. An error is handled by the connector's `errors.tolerance`.
    fn apply(&mut self, record: TransformRecord) -> Result<Option<TransformRecord>>;

    /// Releases what the transformation holds; called once when its task stops.
    fn close(&mut self) {}
}

/// A condition on records that decides whether a transformation applies (Kafka Connect's `Predicate`). One
/// instance serves one task, from that task's thread only.
pub trait Predicate: Send + 'static {
    /// The predicate's version.
    fn version(&self) -> String {
        crate::abi::API_VERSION.to_string()
    }

    /// The configuration keys the predicate accepts (without `type`).
    fn config_def(&self) -> ConfigDef;

    /// Takes the predicate's settings: the keys under `predicates.<alias>.` with that prefix removed.
    fn configure(&mut self, config: &Config) -> Result<()>;

    /// Whether `record` matches.
    fn test(&mut self, record: &TransformRecord) -> Result<bool>;

    /// Releases what the predicate holds; called once when its task stops.
    fn close(&mut self) {}
}
