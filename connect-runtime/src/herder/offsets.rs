//! Connector offsets over REST (KIP-875), the parts both herders share: sink offsets are the committed offsets of
//! the connector's consumer group `connect-<name>`; source offsets are listed from whichever offset store the
//! herder has.
//!
//! Offsets may only be changed while the connector is STOPPED (no tasks), so no task can commit over them; the
//! herder checks that before calling these helpers.

use std::time::Duration;

use connect_api::abi::PluginKind;
use connect_api::Config;
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{json, Map, Value as Json};

use crate::config::WorkerConfig;
use crate::herder::api::{ConnectorOffset, ConnectorOffsets, HerderError, HerderResult};
use crate::plugins::PluginRegistry;
use crate::storage::{OffsetStore, StorageError};
use crate::worker::kafka;

const KAFKA_TOPIC: &str = "kafka_topic";
const KAFKA_PARTITION: &str = "kafka_partition";
const KAFKA_OFFSET: &str = "kafka_offset";

/// How long a consumer-group request may take.
const GROUP_TIMEOUT: Duration = Duration::from_secs(30);

/// A 500 naming the connector and what failed (`read`, `alter`, `reset`).
pub(crate) fn internal(name: &str, what: &str, err: impl std::fmt::Display) -> HerderError {
    HerderError::Internal(format!("Failed to {what} the offsets of connector {name}: {err}"))
}

/// Kafka Connect's 400 when offsets are changed while the connector is not STOPPED.
pub(crate) fn not_stopped(name: &str) -> HerderError {
    HerderError::BadRequest(format!(
        "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the \
         specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"
    ))
}

/// The answer to a successful alter (`PATCH`) or reset (`DELETE`).
fn success_message(altered: bool) -> String {
    if altered {
        "The offsets for this connector have been altered successfully".to_string()
    } else {
        "The offsets for this connector have been reset successfully".to_string()
    }
}

/// Whether connector `name` (configured with `config`, if it exists) is a source or a sink.
pub(crate) fn connector_kind(
    registry: &PluginRegistry,
    name: &str,
    config: Option<&Config>,
) -> HerderResult<PluginKind> {
    let config = config.ok_or_else(|| HerderError::NotFound(format!("Connector {name} not found")))?;
    let class = config.get("connector.class").map(String::as_str).unwrap_or("");
    registry
        .resolve(class)
        .map(|p| p.kind())
        .map_err(|e| HerderError::BadRequest(format!("Cannot tell the type of connector {name}: {e}")))
}

/// Source offsets as stored, (partition, offset) JSON pairs, in the REST shape; entries that are not objects are
/// left out.
pub(crate) fn source_offsets(stored: Vec<(Json, Json)>) -> ConnectorOffsets {
    let offsets = stored
        .into_iter()
        .filter_map(|(partition, offset)| match (partition, offset) {
            (Json::Object(partition), Json::Object(offset)) => {
                Some(ConnectorOffset { partition, offset: Some(offset) })
            }
            _ => None,
        })
        .collect();
    ConnectorOffsets { offsets }
}

/// The (partition, offset) pairs of a source `PATCH`, as an offset store writes them.
pub(crate) fn source_records(offsets: ConnectorOffsets) -> Vec<(Json, Option<Json>)> {
    offsets.offsets.into_iter().map(|e| (Json::Object(e.partition), e.offset.map(Json::Object))).collect()
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

/// A consumer of the sink's group with the settings its tasks use (the worker's `consumer.*`, then the connector's
/// `consumer.override.*`, config providers resolved), so it reaches the cluster as the tasks do (TLS, SASL).
fn group_consumer(worker: &WorkerConfig, name: &str, connector: &Config) -> HerderResult<BaseConsumer> {
    let connector = resolved(worker, name, connector)?;
    let mut config = kafka::consumer_config(worker, name, 0, &connector);
    config.set("client.id", format!("connector-offsets-{name}"));
    config.create().map_err(|e| internal(name, "read", e))
}

/// `connector` with its config-provider placeholders resolved.
fn resolved(worker: &WorkerConfig, name: &str, connector: &Config) -> HerderResult<Config> {
    worker.config_providers.resolve(connector).map_err(|e| internal(name, "resolve the configuration of", e))
}

/// `GET /connectors/{name}/offsets` of a sink: the group's committed offsets of the topics it consumes.
pub(crate) fn sink_offsets(worker: &WorkerConfig, name: &str, config: &Config) -> HerderResult<ConnectorOffsets> {
    let consumer = group_consumer(worker, name, config)?;
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

/// `PATCH /connectors/{name}/offsets` of a sink: commits the given offsets for the group.
pub(crate) fn alter_sink_offsets(
    worker: &WorkerConfig,
    name: &str,
    connector: &Config,
    offsets: &ConnectorOffsets,
) -> HerderResult<()> {
    let mut tpl = TopicPartitionList::new();
    for entry in &offsets.offsets {
        let (topic, partition, offset) = sink_entry(entry)?;
        let Some(offset) = offset else {
            return Err(HerderError::BadRequest(format!(
                "Resetting the offset of a single sink partition ({topic}-{partition}) is not supported by \
                 connect-rs; reset all of them with DELETE /connectors/{name}/offsets"
            )));
        };
        tpl.add_partition_offset(&topic, partition, Offset::Offset(offset)).map_err(|e| internal(name, "alter", e))?;
    }
    let consumer = group_consumer(worker, name, connector)?;
    consumer.commit(&tpl, CommitMode::Sync).map_err(|e| internal(name, "alter", e))
}

/// `DELETE /connectors/{name}/offsets` of a sink: deletes the group (nothing to do when it has none). Blocks on
/// `runtime`; call it from a herder thread, never from an async task.
pub(crate) fn reset_sink_offsets(
    worker: &WorkerConfig,
    runtime: &tokio::runtime::Handle,
    name: &str,
    connector: &Config,
) -> HerderResult<()> {
    let group = format!("connect-{name}");
    // As Kafka Connect: the worker's admin settings, then the connector's `admin.override.*`.
    let config = kafka::admin_config(worker, name, &resolved(worker, name, connector)?);
    let admin: AdminClient<DefaultClientContext> = config.create().map_err(|e| internal(name, "reset", e))?;
    let options = AdminOptions::new().request_timeout(Some(GROUP_TIMEOUT));
    let results =
        runtime.block_on(admin.delete_groups(&[group.as_str()], &options)).map_err(|e| internal(name, "reset", e))?;
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

/// Alters (`Some`) or resets (`None`) the offsets of STOPPED connector `name` of kind `kind`: source offsets in
/// `store`, sink offsets in its consumer group. Returns the success message. Blocks; herder threads only.
pub(crate) fn modify(
    store: &dyn OffsetStore,
    worker: &WorkerConfig,
    runtime: &tokio::runtime::Handle,
    name: &str,
    connector: &Config,
    kind: PluginKind,
    offsets: Option<ConnectorOffsets>,
) -> HerderResult<String> {
    let altering = offsets.is_some();
    match (kind, offsets) {
        (PluginKind::Source, Some(offsets)) => {
            store.write_raw(name, &source_records(offsets)).map_err(|e| match e {
                StorageError::Format { message, .. } => HerderError::BadRequest(message),
                other => internal(name, "alter", other),
            })?;
        }
        (PluginKind::Source, None) => {
            let records: Vec<(Json, Option<Json>)> =
                store.offsets_of(name).into_iter().map(|(partition, _)| (partition, None)).collect();
            store.write_raw(name, &records).map_err(|e| internal(name, "reset", e))?;
        }
        (PluginKind::Sink, Some(offsets)) => alter_sink_offsets(worker, name, connector, &offsets)?,
        (PluginKind::Sink, None) => reset_sink_offsets(worker, runtime, name, connector)?,
    }
    Ok(success_message(altering))
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
