//! (filled in by the transforms work)

use connect_api::abi::PluginDescriptor;
use connect_api::ConnectError;

/// The descriptors of this module's transformations.
pub fn descriptors() -> Vec<Result<PluginDescriptor, ConnectError>> {
    Vec::new()
}
