//! The one place where connectors linked into the worker are registered.
//!
//! Built-ins implement the same connect-api traits as plugin libraries and go through the same adapters
//! (`source_descriptor` / `sink_descriptor`), only without dlopen.

use connect_api::abi::{source_descriptor, PluginDescriptor};
use connect_api::ConnectError;
use connect_bridge::{HttpBridgeConnector, BRIDGE_CONNECTOR_CLASS};
use connect_exporter::{KafkaExporterConnector, EXPORTER_CONNECTOR_CLASS};
use connect_mirror::{
    MirrorCheckpointConnector, MirrorHeartbeatConnector, MirrorSourceConnector, CHECKPOINT_CONNECTOR_CLASS,
    HEARTBEAT_CONNECTOR_CLASS, SOURCE_CONNECTOR_CLASS,
};

/// The descriptors of all built-in plugins: MirrorMaker 2's three connectors, the HTTP Bridge, the Kafka Exporter,
/// and Kafka's transformations and predicates.
pub fn descriptors() -> Vec<Result<PluginDescriptor, ConnectError>> {
    let mut all = vec![
        source_descriptor::<MirrorSourceConnector>(SOURCE_CONNECTOR_CLASS),
        source_descriptor::<MirrorCheckpointConnector>(CHECKPOINT_CONNECTOR_CLASS),
        source_descriptor::<MirrorHeartbeatConnector>(HEARTBEAT_CONNECTOR_CLASS),
        source_descriptor::<HttpBridgeConnector>(BRIDGE_CONNECTOR_CLASS),
        source_descriptor::<KafkaExporterConnector>(EXPORTER_CONNECTOR_CLASS),
    ];
    all.extend(connect_transforms::descriptors());
    all
}

/// Tells the built-ins that default to the worker's own Kafka cluster (the Kafka Exporter without `kafka.server`)
/// how to reach it: `bootstrap.servers` and the worker's `security.*`, `ssl.*` and `sasl.*` settings. connect-api
/// has no way to hand a connector the worker's configuration, so a standalone or distributed worker calls this
/// once at start-up, before it validates or starts any connector.
pub fn share_worker_cluster(worker: &crate::config::WorkerConfig) {
    let mut settings: std::collections::BTreeMap<String, String> = worker
        .props
        .iter()
        .filter(|(key, _)| key.starts_with("security.") || key.starts_with("ssl.") || key.starts_with("sasl."))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    settings.insert("bootstrap.servers".to_string(), worker.bootstrap_servers.clone());
    connect_exporter::set_worker_cluster(settings);
}
