//! The one place where connectors linked into the worker are registered.
//!
//! Built-ins implement the same connect-api traits as plugin libraries and go through the same adapters
//! (`source_descriptor` / `sink_descriptor`), only without dlopen. Add a connector crate here with one line,
//! e.g. `connect_api::abi::source_descriptor::<MirrorSourceConnector>("org.apache.kafka.connect.mirror.MirrorSourceConnector")`.

use connect_api::abi::PluginDescriptor;
use connect_api::ConnectError;

/// The descriptors of all built-in connectors. None are shipped yet: MirrorMaker 2, the Bridge and the Kafka
/// Exporter will be registered here.
pub fn descriptors() -> Vec<Result<PluginDescriptor, ConnectError>> {
    Vec::new()
}
