//! Connector offsets over REST (KIP-875): source offsets live in the offsets topic, sink offsets are the
//! committed offsets of the connector's consumer group `connect-<name>`.
//!
//! Offsets may only be changed while the connector is STOPPED (no task configs), so no task can commit over
//! them; the leader makes the change and answers only once the broker acknowledged it.

use std::time::Duration;

use connect_api::abi::PluginKind;
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{json, Map, Value as Json};

use super::DistributedHerder;
use crate::herder::api::{ConnectorOffset, ConnectorOffsets, HerderError, HerderResult};
use crate::storage::kafka::TargetState;
use crate::worker::kafka;

const KAFKA_TOPIC: &str = "kafka_topic";
const KAFKA_PARTITION: &str = "kafka_partition";
const KAFKA_OFFSET: &str = "kafka_offset";

/// How long a consumer-group request may take.
const GROUP_TIMEOUT: Duration = Duration::from_secs(30);

fn internal(name: &str, what: &str, err: impl std::fmt::Display) -> HerderError {
    HerderError::Internal(format!("Failed to {what} the offsets of connector {name}: {err}"))
}

/// A sink partition `{"kafka_topic":..,"kafka_partition":..}` and its offset `{"kafka_offset":..}` (or none).
fn sink_entry(entry: &ConnectorOffset) -> HerderResult<(String, i32, Option<i64>)> {
    let bad = |m: String| HerderError::BadRequest(m);
    let topic = entry
        .partition
        .get(KAFKA_TOPIC)
        .and_then(Json::as_str)
        .ok_or_else(|| bad(format!("Sink connector partitions must name a string '{KAFKA_TOPIC}'")))?;
    let partition = entry
        .partition
        .get(KAFKA_PARTITION)
        .and_then(Json::as_i64)
        .and_then(|p| i32::try_from(p).ok())
        .filter(|p| *p >= 0)
        .ok_or_else(|| {
            bad(format!("Sink connector partitions must hold a non-negative integer '{KAFKA_PARTITION}'"))
        })?;
    let offset = match &entry.offset {
        None => None,
        Some(offset) => {
            Some(offset.get(KAFKA_OFFSET).and_then(Json::as_i64).filter(|o| *o >= 0).ok_or_else(|| {
                bad(format!("Sink connector offsets must hold a non-negative integer '{KAFKA_OFFSET}'"))
            })?)
        }
    };
    Ok((topic.to_string(), partition, offset))
}

impl DistributedHerder {
    fn connector_kind(&self, name: &str) -> HerderResult<PluginKind> {
        let config = self
            .snapshot
            .connector_configs
            .get(name)
            .ok_or_else(|| HerderError::NotFound(format!("Connector {name} not found")))?;
        let class = config.get("connector.class").map(String::as_str).unwrap_or("");
        self.registry
            .resolve(class)
            .map(|p| p.kind())
            .map_err(|e| HerderError::BadRequest(format!("Cannot tell the type of connector {name}: {e}")))
    }

    fn group_consumer(&self, name: &str) -> HerderResult<BaseConsumer> {
        let mut config = kafka::consumer_config(self.worker.config(), name, 0);
        config.set("client.id", format!("connector-offsets-{name}"));
        config.create().map_err(|e| internal(name, "read", e))
    }

    /// `GET /connectors/{name}/offsets`.
    pub(super) fn connector_offsets(&mut self, name: &str) -> HerderResult<ConnectorOffsets> {
        match self.connector_kind(name)? {
            PluginKind::Source => {
                self.offsets.refresh(super::CONFIG_READ_TIMEOUT).map_err(|e| internal(name, "read", e))?;
                let offsets = self
                    .offsets
                    .offsets_of(name)
                    .into_iter()
                    .filter_map(|(partition, offset)| match (partition, offset) {
                        (Json::Object(partition), Json::Object(offset)) => {
                            Some(ConnectorOffset { partition, offset: Some(offset) })
                        }
                        _ => None,
                    })
                    .collect();
                Ok(ConnectorOffsets { offsets })
            }
            PluginKind::Sink => self.sink_offsets(name),
        }
    }

    fn sink_offsets(&self, name: &str) -> HerderResult<ConnectorOffsets> {
        let config = self.snapshot.connector_configs.get(name).cloned().unwrap_or_default();
        let consumer = self.group_consumer(name)?;
        let metadata = consumer.fetch_metadata(None, GROUP_TIMEOUT).map_err(|e| internal(name, "read", e))?;
        let listed: Vec<String> = config
            .get("topics")
            .map(|t| t.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
        let pattern = match config.get("topics.regex").filter(|r| !r.trim().is_empty()) {
            Some(regex) => Some(
                regex::Regex::new(&format!("^(?:{})$", regex.trim()))
                    .map_err(|e| HerderError::BadRequest(format!("Invalid topics.regex of connector {name}: {e}")))?,
            ),
            None => None,
        };
        let mut tpl = TopicPartitionList::new();
        for topic in metadata.topics() {
            let wanted =
                listed.iter().any(|t| t == topic.name()) || pattern.as_ref().is_some_and(|p| p.is_match(topic.name()));
            if wanted {
                for partition in topic.partitions() {
                    tpl.add_partition(topic.name(), partition.id());
                }
            }
        }
        if tpl.count() == 0 {
            return Ok(ConnectorOffsets::default());
        }
        let committed = consumer.committed_offsets(tpl, GROUP_TIMEOUT).map_err(|e| internal(name, "read", e))?;
        let offsets = committed
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(offset) => Some(ConnectorOffset {
                    partition: json_object(json!({ KAFKA_TOPIC: e.topic(), KAFKA_PARTITION: e.partition() })),
                    offset: Some(json_object(json!({ KAFKA_OFFSET: offset }))),
                }),
                _ => None,
            })
            .collect();
        Ok(ConnectorOffsets { offsets })
    }

    /// `PATCH` (with offsets) and `DELETE` (without) of `/connectors/{name}/offsets`: leader only, connector
    /// STOPPED.
    pub(super) fn modify_offsets(&mut self, name: &str, offsets: Option<ConnectorOffsets>) -> HerderResult<String> {
        self.require_leader()?;
        let kind = self.connector_kind(name)?;
        if self.snapshot.target_state(name) != TargetState::Stopped || self.snapshot.task_count(name) > 0 {
            return Err(HerderError::BadRequest(
                "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for \
                 the specified connector by issuing a 'PUT' request to the '/connectors/"
                    .to_string()
                    + name
                    + "/stop' endpoint",
            ));
        }
        let altering = offsets.is_some();
        match (kind, offsets) {
            (PluginKind::Source, Some(offsets)) => {
                let mut records = Vec::new();
                for entry in offsets.offsets {
                    records.push((Json::Object(entry.partition), entry.offset.map(Json::Object)));
                }
                self.offsets.write_raw(name, &records).map_err(|e| match e {
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
            (PluginKind::Sink, Some(offsets)) => self.alter_sink_offsets(name, &offsets)?,
            (PluginKind::Sink, None) => self.reset_sink_offsets(name)?,
        }
        Ok(if altering {
            "The offsets for this connector have been altered successfully".to_string()
        } else {
            "The offsets for this connector have been reset successfully".to_string()
        })
    }

    fn alter_sink_offsets(&self, name: &str, offsets: &ConnectorOffsets) -> HerderResult<()> {
        let mut tpl = TopicPartitionList::new();
        for entry in &offsets.offsets {
            let (topic, partition, offset) = sink_entry(entry)?;
            let Some(offset) = offset else {
                return Err(HerderError::BadRequest(format!(
                    "Resetting the offset of a single sink partition ({topic}-{partition}) is not supported by \
                     connect-rs; reset all of them with DELETE /connectors/{name}/offsets"
                )));
            };
            tpl.add_partition_offset(&topic, partition, Offset::Offset(offset))
                .map_err(|e| internal(name, "alter", e))?;
        }
        let consumer = self.group_consumer(name)?;
        consumer.commit(&tpl, CommitMode::Sync).map_err(|e| internal(name, "alter", e))
    }

    fn reset_sink_offsets(&self, name: &str) -> HerderResult<()> {
        let group = format!("connect-{name}");
        let mut config = rdkafka::ClientConfig::new();
        config.set("bootstrap.servers", &self.worker.config().bootstrap_servers);
        let admin: AdminClient<DefaultClientContext> = config.create().map_err(|e| internal(name, "reset", e))?;
        let options = AdminOptions::new().request_timeout(Some(GROUP_TIMEOUT));
        let results = self
            .runtime
            .block_on(admin.delete_groups(&[group.as_str()], &options))
            .map_err(|e| internal(name, "reset", e))?;
        for result in results {
            match result {
                Ok(_) => {}
                // Nothing committed yet: nothing to reset.
                Err((_, rdkafka::types::RDKafkaErrorCode::GroupIdNotFound)) => {}
                Err((_, code)) => return Err(internal(name, "reset", code)),
            }
        }
        Ok(())
    }
}

fn json_object(value: Json) -> Map<String, Json> {
    match value {
        Json::Object(map) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sink_entries_need_topic_partition_and_offset() {
        let entry =
            |p: Json, o: Option<Json>| ConnectorOffset { partition: json_object(p), offset: o.map(json_object) };
        let good = entry(json!({"kafka_topic": "t", "kafka_partition": 2}), Some(json!({"kafka_offset": 7})));
        assert_eq!(sink_entry(&good).unwrap(), ("t".to_string(), 2, Some(7)));
        let reset = entry(json!({"kafka_topic": "t", "kafka_partition": 0}), None);
        assert_eq!(sink_entry(&reset).unwrap(), ("t".to_string(), 0, None));
        for bad in [
            entry(json!({"kafka_partition": 0}), None),
            entry(json!({"kafka_topic": "t", "kafka_partition": -1}), None),
            entry(json!({"kafka_topic": "t", "kafka_partition": 0}), Some(json!({"kafka_offset": "x"}))),
        ] {
            assert!(matches!(sink_entry(&bad), Err(HerderError::BadRequest(_))));
        }
    }
}
