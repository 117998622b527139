//! The offsets topic store (Kafka Connect's `KafkaOffsetBackingStore`): source offsets of every connector.
//!
//! Records are indexed by the parsed key (connector and canonical partition), never by raw bytes, so offsets
//! written by Java workers with another field order are found. A `put` counts only when the broker acknowledged
//! every record; its offsets are then visible to `get` at once, without waiting for the reader thread.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::storage::{
    offset_key, parse_offset_key, source_map_from_json, source_map_to_json, OffsetKey, OffsetStore, StorageError,
};
use connect_api::SourceMap;
use serde_json::Value as Json;

use super::log::{KafkaBasedLog, LogRecord};
use super::KafkaStoreConfig;

/// One stored offset and where its record is, so a record read late never overwrites a newer one.
struct Entry {
    value: Json,
    partition: i32,
    offset: i64,
}

#[derive(Default)]
struct Offsets {
    entries: BTreeMap<OffsetKey, Entry>,
}

impl Offsets {
    /// Applies a record read from the topic (or written by this store) at `partition`/`offset`.
    fn apply(&mut self, partition: i32, offset: i64, key: Option<&[u8]>, value: Option<&[u8]>) {
        let parsed = key
            .ok_or_else(|| "no key".to_string())
            .and_then(|k| serde_json::from_slice::<Json>(k).map_err(|e| format!("key is not JSON: {e}")))
            .and_then(|k| parse_offset_key(&k));
        let key = match parsed {
            Ok((key, _)) => key,
            Err(e) => {
                tracing::error!("offsets topic: skipping the record at {partition}/{offset}: {e}");
                return;
            }
        };
        // Records of one key normally share a partition; a Java worker's differently ordered key may not.
        if self.entries.get(&key).is_some_and(|e| e.partition == partition && e.offset >= offset) {
            return;
        }
        let value = match value.map(serde_json::from_slice::<Json>) {
            None | Some(Ok(Json::Null)) => None,
            Some(Ok(json)) if json.is_object() => Some(json),
            Some(Ok(json)) => {
                tracing::error!("offsets topic: skipping the record at {partition}/{offset}: not an object: {json}");
                return;
            }
            Some(Err(e)) => {
                tracing::error!("offsets topic: skipping the record at {partition}/{offset}: value is not JSON: {e}");
                return;
            }
        };
        match value {
            Some(value) => {
                self.entries.insert(key, Entry { value, partition, offset });
            }
            None => {
                self.entries.remove(&key);
            }
        }
    }
}

/// Source offsets in the offsets topic.
pub struct KafkaOffsetStore {
    log: KafkaBasedLog,
    offsets: Arc<Mutex<Offsets>>,
    timeout: Duration,
}

impl KafkaOffsetStore {
    /// Opens the store and reads the whole topic.
    pub fn open(cfg: &KafkaStoreConfig) -> Result<Self, StorageError> {
        let offsets = Arc::new(Mutex::new(Offsets::default()));
        let apply = {
            let offsets = offsets.clone();
            Box::new(move |r: &LogRecord<'_>| {
                offsets.lock().unwrap_or_else(|p| p.into_inner()).apply(r.partition, r.offset, r.key, r.value)
            })
        };
        let log = KafkaBasedLog::start(cfg, "offsets", &[], apply)?;
        log.read_to_end(cfg.timeout)?;
        Ok(KafkaOffsetStore { log, offsets, timeout: cfg.timeout })
    }

    /// Sends offset records and, once the broker acknowledged all of them, makes them visible to `get` at once.
    fn send_and_apply(&self, records: &[(Vec<u8>, Option<Vec<u8>>)]) -> Result<(), StorageError> {
        if records.is_empty() {
            return Ok(());
        }
        let landed = self.log.send_all(records, self.timeout)?;
        let mut stored = self.offsets.lock().unwrap_or_else(|p| p.into_inner());
        for ((key, value), (partition, offset)) in records.iter().zip(landed) {
            stored.apply(partition, offset, Some(key), value.as_deref());
        }
        Ok(())
    }

    /// Reads the topic up to its current end (the herder does before it starts source tasks that may have run
    /// elsewhere).
    pub fn refresh(&self, timeout: Duration) -> Result<(), StorageError> {
        self.log.read_to_end(timeout)
    }
}

impl OffsetStore for KafkaOffsetStore {
    fn get(&self, connector: &str, partition: &SourceMap) -> Option<SourceMap> {
        let (_, key) = offset_key(connector, partition).ok()?;
        let offsets = self.offsets.lock().unwrap_or_else(|p| p.into_inner());
        let entry = offsets.entries.get(&key)?;
        match source_map_from_json(&entry.value) {
            Ok(map) => Some(map),
            Err(e) => {
                tracing::error!(connector, "unreadable stored offset: {e}");
                None
            }
        }
    }

    fn put(&self, connector: &str, offsets: &[(SourceMap, SourceMap)]) -> Result<(), StorageError> {
        let format = |message: String| StorageError::Format { connector: connector.to_string(), message };
        let mut records = Vec::with_capacity(offsets.len());
        for (partition, offset) in offsets {
            let (key, _) = offset_key(connector, partition).map_err(format)?;
            let value = source_map_to_json(offset).map_err(format)?;
            records.push((key.to_string().into_bytes(), Some(value.to_string().into_bytes())));
        }
        self.send_and_apply(&records)
    }
    /// Every stored partition of `connector` with its offset, as JSON objects (KIP-875's `GET .../offsets`).
    fn offsets_of(&self, connector: &str) -> Vec<(Json, Json)> {
        let offsets = self.offsets.lock().unwrap_or_else(|p| p.into_inner());
        offsets
            .entries
            .iter()
            .filter(|(key, _)| key.connector == connector)
            .filter_map(|(key, entry)| {
                let partition = serde_json::from_str::<Json>(&key.canonical_partition).ok()?;
                Some((partition, entry.value.clone()))
            })
            .collect()
    }

    /// Writes offsets of `connector` as given (a `None` offset writes a tombstone), and waits for the broker.
    /// Partitions and offsets must be JSON objects of primitives.
    fn write_raw(&self, connector: &str, offsets: &[(Json, Option<Json>)]) -> Result<(), StorageError> {
        let format = |message: String| StorageError::Format { connector: connector.to_string(), message };
        let mut records = Vec::with_capacity(offsets.len());
        for (partition, offset) in offsets {
            let partition = source_map_from_json(partition).map_err(format)?;
            let (key, _) = offset_key(connector, &partition).map_err(format)?;
            let value = match offset {
                Some(offset) => {
                    // Checked the same way as a task's offsets: primitives only.
                    let map = source_map_from_json(offset).map_err(format)?;
                    Some(source_map_to_json(&map).map_err(format)?.to_string().into_bytes())
                }
                None => None,
            };
            records.push((key.to_string().into_bytes(), value));
        }
        self.send_and_apply(&records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_apply_by_parsed_key_and_in_order() {
        let mut offsets = Offsets::default();
        let key = |k: &str| Some(k.as_bytes().to_vec());
        let java_key = key(r#"["c",{"b":1,"a":"x"}]"#);
        offsets.apply(3, 10, java_key.as_deref(), Some(br#"{"position":10}"#));
        let (_, wanted) = offset_key("c", &SourceMap::new().with("a", "x").with("b", 1i64)).unwrap();
        assert_eq!(offsets.entries[&wanted].value["position"], 10);
        // An older record of the same partition does not win.
        offsets.apply(3, 9, java_key.as_deref(), Some(br#"{"position":9}"#));
        assert_eq!(offsets.entries[&wanted].value["position"], 10);
        offsets.apply(3, 11, key(r#"["c",{"a":"x","b":1}]"#).as_deref(), Some(br#"{"position":11}"#));
        assert_eq!(offsets.entries[&wanted].value["position"], 11);
        // Bad records are skipped.
        offsets.apply(3, 12, key("not json").as_deref(), Some(b"{}"));
        offsets.apply(3, 13, key(r#"["c"]"#).as_deref(), Some(b"{}"));
        offsets.apply(3, 14, java_key.as_deref(), Some(b"[1]"));
        offsets.apply(3, 15, None, Some(b"{}"));
        assert_eq!(offsets.entries.len(), 1);
        assert_eq!(offsets.entries[&wanted].value["position"], 11);
        // A tombstone deletes.
        offsets.apply(3, 16, java_key.as_deref(), None);
        assert!(offsets.entries.is_empty());
    }
}
