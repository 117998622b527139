//! The one place where connectors linked into the worker are registered.
//!
//! Built-ins implement the same connect-api traits as plugin libraries and go through the same adapters
//! (`source_descriptor` / `sink_descriptor`), only without dlopen.

use connect_api::abi::{source_descriptor, PluginDescriptor};
use connect_api::ConnectError;
use connect_bridge::{HttpBridgeConnector, BRIDGE_CONNECTOR_CLASS};
use connect_mirror::{
    MirrorCheckpointConnector, MirrorHeartbeatConnector, MirrorSourceConnector, CHECKPOINT_CONNECTOR_CLASS,
    HEARTBEAT_CONNECTOR_CLASS, SOURCE_CONNECTOR_CLASS,
};

/// The descriptors of all built-in plugins: MirrorMaker 2's three connectors, the HTTP Bridge, and Kafka's
/// transformations and predicates; the Kafka Exporter will be registered here.
pub fn descriptors() -> Vec<Result<PluginDescriptor, ConnectError>> {
    let mut all = vec![
        source_descriptor::<MirrorSourceConnector>(SOURCE_CONNECTOR_CLASS),
        source_descriptor::<MirrorCheckpointConnector>(CHECKPOINT_CONNECTOR_CLASS),
        source_descriptor::<MirrorHeartbeatConnector>(HEARTBEAT_CONNECTOR_CLASS),
        source_descriptor::<HttpBridgeConnector>(BRIDGE_CONNECTOR_CLASS),
    ];
    all.extend(connect_transforms::descriptors());
    all
}
