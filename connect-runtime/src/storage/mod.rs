//! Where the worker keeps state: source offsets (a file in standalone mode) and active topics (memory), and in
//! distributed mode the config, offsets and status topics ([`kafka`]).
//!
//! Offsets are stored in Kafka Connect's format: key `["<connector>",{<source partition>}]`, value
//! `{<source offset>}`, both JSON. Lookups match on the parsed key (the partition map with sorted keys), never on
//! raw bytes, so offsets written by other workers with a different key order are found.

mod file;
pub mod kafka;
mod memory;
mod offsets;

pub use file::FileOffsetStore;
pub use memory::MemoryStatusStore;
pub use offsets::{offset_key, parse_offset_key, source_map_from_json, source_map_to_json, OffsetKey};

use connect_api::SourceMap;

/// A storage failure, with the file or topic concerned.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// Reading or writing the backing file failed.
    #[error("offset file {path}: {message}")]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// What failed.
        message: String,
    },
    /// Reading or writing an internal Kafka topic failed.
    #[error("topic {topic}: {message}")]
    Kafka {
        /// The topic.
        topic: String,
        /// What failed.
        message: String,
    },
    /// An offset or partition that cannot be stored in Kafka Connect's format.
    #[error("connector {connector}: {message}")]
    Format {
        /// The connector.
        connector: String,
        /// What is wrong.
        message: String,
    },
}

/// Source offsets of every connector on this worker.
pub trait OffsetStore: Send + Sync {
    /// The committed offset of `partition` for `connector`.
    fn get(&self, connector: &str, partition: &SourceMap) -> Option<SourceMap>;

    /// Stores offsets (partition, offset) of `connector` durably and atomically: all or none.
    fn put(&self, connector: &str, offsets: &[(SourceMap, SourceMap)]) -> Result<(), StorageError>;

    /// Every stored (partition, offset) of `connector`, as JSON objects (KIP-875's `GET .../offsets`).
    fn offsets_of(&self, connector: &str) -> Vec<(serde_json::Value, serde_json::Value)>;

    /// Writes offsets of `connector` as given, a `None` offset removing the partition (KIP-875's alter and
    /// reset). Partitions and offsets must be JSON objects of primitives, as a task's; otherwise `Format`.
    fn write_raw(
        &self,
        connector: &str,
        offsets: &[(serde_json::Value, Option<serde_json::Value>)],
    ) -> Result<(), StorageError>;
}
