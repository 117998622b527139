//! # connect-mirror
//!
//! MirrorMaker 2 as connect-rs built-in connectors, a drop-in for Java's: the same classes and keys
//! (`org.apache.kafka.connect.mirror.MirrorSourceConnector`, `MirrorCheckpointConnector`,
//! `MirrorHeartbeatConnector`), the same topic naming ([`policy`]) and internal topics whose records are byte for
//! byte Java's ([`wire`]).

pub mod checkpoint;
pub mod clients;
pub mod config;
pub mod discovered;
pub mod groups;
pub mod heartbeat;
pub mod offset_sync_store;
pub mod policy;
pub mod source;
pub mod wire;

pub use checkpoint::{MirrorCheckpointConnector, MirrorCheckpointTask};
pub use heartbeat::{MirrorHeartbeatConnector, MirrorHeartbeatTask};
pub use source::{MirrorSourceConnector, MirrorSourceTask};

/// Java's class names of the three connectors.
pub const SOURCE_CONNECTOR_CLASS: &str = "org.apache.kafka.connect.mirror.MirrorSourceConnector";
/// See [`SOURCE_CONNECTOR_CLASS`].
pub const CHECKPOINT_CONNECTOR_CLASS: &str = "org.apache.kafka.connect.mirror.MirrorCheckpointConnector";
/// See [`SOURCE_CONNECTOR_CLASS`].
pub const HEARTBEAT_CONNECTOR_CLASS: &str = "org.apache.kafka.connect.mirror.MirrorHeartbeatConnector";
