//! # connect-api
//!
//! The contract between the connect-rs runtime and every connector. A plugin crate depends on this crate alone:
//!
//! - the data model of Kafka Connect ([`Schema`], [`Value`], [`Struct`], [`Headers`], logical types in
//!   [`data::logical`]) and the records ([`SourceRecord`], [`SinkRecord`]);
//! - configuration definitions and validation ([`config::ConfigDef`]);
//! - the connector and task traits with Kafka Connect's lifecycle ([`SourceConnector`], [`SourceTask`],
//!   [`SinkConnector`], [`SinkTask`]) and their contexts;
//! - the stable ABI ([`abi`]) and [`export_plugins!`], which turns a `cdylib` crate into a plugin library that
//!   the runtime loads from its `plugin.path`.
//!
//! Nothing here knows about Kafka clients, HTTP or threads: the runtime owns all of that.
//!
//! ```ignore
//! // src/lib.rs of a plugin crate with crate-type = ["cdylib"]
//! use connect_api::*;
//!
//! #[derive(Default)]
//! pub struct MySource;
//! // impl Connector + SourceConnector for MySource, and SourceTask for its task ...
//!
//! connect_api::export_plugins! {
//!     source "com.example.MySourceConnector" => MySource,
//! }
//! ```

#![deny(missing_docs)]

pub mod abi;
pub mod config;
pub mod connector;
pub mod data;
mod error;
pub mod panic;
pub mod record;
pub mod transform;

pub use config::{Config, ConfigDef, ConfigKey, ConfigType, Importance, ParsedConfig, Validator};
pub use connector::{
    Connector, ConnectorContext, SinkConnector, SinkTask, SinkTaskContext, SourceConnector, SourceTask,
    SourceTaskContext,
};
pub use data::{Field, Header, Headers, MapEntry, Schema, SchemaBuilder, SchemaType, Struct, Value};
pub use error::{ConnectError, ErrorKind, Result};
pub use record::{
    RecordMetadata, SinkRecord, SourceMap, SourceRecord, TimestampType, TopicPartition, TopicPartitionOffset,
};
pub use transform::{Predicate, TransformRecord, Transformation};
