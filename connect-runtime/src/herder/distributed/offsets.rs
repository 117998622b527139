//! Connector offsets over REST (KIP-875): source offsets live in the offsets topic, sink offsets are the
//! committed offsets of the connector's consumer group `connect-<name>` ([`crate::herder::offsets`]).
//!
//! Offsets may only be changed while the connector is STOPPED (no task configs), so no task can commit over
//! them; the leader makes the change and answers only once the broker acknowledged it.

use connect_api::abi::PluginKind;
use serde_json::Value as Json;

use super::DistributedHerder;
use crate::herder::api::{ConnectorOffsets, HerderError, HerderResult};
use crate::herder::offsets::{self as shared, internal};
use crate::storage::kafka::TargetState;

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
        let altering = offsets.is_some();
        match (kind, offsets) {
            (PluginKind::Source, Some(offsets)) => {
                self.offsets.write_raw(name, &shared::source_records(offsets)).map_err(|e| match e {
                    crate::storage::StorageError::Format { message, .. } => HerderError::BadRequest(message),
                    other => internal(name, "alter", other),
                })?;
            }
            (PluginKind::Source, None) => {
                self.offsets.refresh(super::CONFIG_READ_TIMEOUT).map_err(|e| internal(name, "reset", e))?;
                let records: Vec<(Json, Option<Json>)> =
                    self.offsets.offsets_of(name).into_iter().map(|(partition, _)| (partition, None)).collect();
                self.offsets.write_raw(name, &records).map_err(|e| internal(name, "reset", e))?;
            }
            (PluginKind::Sink, Some(offsets)) => shared::alter_sink_offsets(self.worker.config(), name, &offsets)?,
            (PluginKind::Sink, None) => shared::reset_sink_offsets(self.worker.config(), &self.runtime, name)?,
        }
        Ok(shared::success_message(altering))
    }
}
