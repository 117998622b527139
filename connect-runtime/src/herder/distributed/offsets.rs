//! Connector offsets over REST (KIP-875): source offsets live in the offsets topic, sink offsets are the
//! committed offsets of the connector's consumer group `connect-<name>` ([`crate::herder::offsets`]).
//!
//! Offsets may only be changed while the connector is STOPPED (no task configs), so no task can commit over
//! them; the leader makes the change and answers only once the broker acknowledged it.

use connect_api::abi::PluginKind;

use super::DistributedHerder;
use crate::herder::api::{ConnectorOffsets, HerderResult};
use crate::herder::offsets::{self as shared, internal};
use crate::storage::kafka::TargetState;
use crate::storage::OffsetStore;

impl DistributedHerder {
    fn connector_kind(&self, name: &str) -> HerderResult<PluginKind> {
        shared::connector_kind(&self.registry, name, self.snapshot.connector_configs.get(name))
    }

    /// `GET /connectors/{name}/offsets`.
    pub(super) fn connector_offsets(&mut self, name: &str) -> HerderResult<ConnectorOffsets> {
        match self.connector_kind(name)? {
            PluginKind::Source => {
                self.offsets.refresh(super::CONFIG_READ_TIMEOUT).map_err(|e| internal(name, "read", e))?;
                Ok(shared::source_offsets(self.offsets.offsets_of(name)))
            }
            PluginKind::Sink => {
                let config = self.snapshot.connector_configs.get(name).cloned().unwrap_or_default();
                shared::sink_offsets(self.worker.config(), name, &config)
            }
        }
    }

    /// `PATCH` (with offsets) and `DELETE` (without) of `/connectors/{name}/offsets`: leader only, connector
    /// STOPPED.
    pub(super) fn modify_offsets(&mut self, name: &str, offsets: Option<ConnectorOffsets>) -> HerderResult<String> {
        self.require_leader()?;
        let kind = self.connector_kind(name)?;
        if self.snapshot.target_state(name) != TargetState::Stopped || self.snapshot.task_count(name) > 0 {
            return Err(shared::not_stopped(name));
        }
        if kind == PluginKind::Source && offsets.is_none() {
            // A reset tombstones every partition known: read them all first.
            self.offsets.refresh(super::CONFIG_READ_TIMEOUT).map_err(|e| internal(name, "reset", e))?;
        }
        let config = self.snapshot.connector_configs.get(name).cloned().unwrap_or_default();
        shared::modify(self.offsets.as_ref(), self.worker.config(), &self.runtime, name, &config, kind, offsets)
    }
}
