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
//!   the runtime loads from its `plugin.path`;
//! - [`logging`]: a plugin's `tracing` events go to the worker's log, inside the task's span;
//! - with feature `async`, [`async_connector`]: async connectors and tasks on a tokio runtime the plugin owns;
//! - with feature `testkit`, [`testkit`]: runs connectors and tasks in-process, without Kafka, for unit tests.
//!
//! Nothing here knows about Kafka clients or HTTP: the runtime owns all of that. The guide
//! `docs/writing-connectors.md` of the repository goes from `connect new` to a running connector.
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
#[cfg(feature = "async")]
pub mod async_connector;
pub mod config;
pub mod connector;
pub mod data;
mod error;
pub mod logging;
pub mod panic;
pub mod record;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod transform;

/// The `tracing` crate this library logs with; plugins may log through it (or depend on `tracing` 0.1 directly,
/// which is the same crate).
pub use tracing;

#[cfg(feature = "async")]
pub use async_connector::{
    async_trait, AsyncConnector, AsyncSinkConnector, AsyncSinkTask, AsyncSourceConnector, AsyncSourceTask,
};

pub use config::{Config, ConfigDef, ConfigKey, ConfigType, Importance, ParsedConfig, Validator};
pub use connector::{
    Connector, ConnectorContext, SinkConnector, SinkTask, SinkTaskContext, SourceConnector, SourceTask,
    SourceTaskContext, TaskCanceller,
};
pub use data::{Field, Header, Headers, MapEntry, Schema, SchemaBuilder, SchemaType, Struct, Value};
pub use error::{ConnectError, ErrorKind, Result};
pub use record::{
    RecordMetadata, SinkRecord, SourceMap, SourceRecord, TimestampType, TopicPartition, TopicPartitionOffset,
};
pub use transform::{Predicate, TransformRecord, Transformation};
