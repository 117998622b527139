//! The standalone offset store: one JSON file holding every connector's source offsets.
//!
//! Every `put` rewrites the whole file atomically (write a temporary file, fsync, rename over the old one), so a
//! crash at any moment leaves either the previous or the new offsets, never a torn file. The file is JSON rather
//! than the Java-serialized map Kafka's `FileOffsetBackingStore` writes; see the README.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use connect_api::SourceMap;
use serde_json::{json, Value as Json};

use super::{
    offset_key, parse_offset_key, source_map_from_json, source_map_to_json, OffsetKey, OffsetStore, StorageError,
};

struct Entry {
    key: Json,
    value: Json,
}

/// Offsets kept in a file (`offset.storage.file.filename`).
pub struct FileOffsetStore {
    path: PathBuf,
    entries: Mutex<BTreeMap<OffsetKey, Entry>>,
}

impl FileOffsetStore {
    /// Opens the store, reading the file if it exists.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let err = |message: String| StorageError::File { path: path.to_path_buf(), message };
        let mut entries = BTreeMap::new();
        match std::fs::read(path) {
            Ok(bytes) if !bytes.is_empty() => {
                let doc: Json = serde_json::from_slice(&bytes).map_err(|e| err(format!("unreadable: {e}")))?;
                let list =
                    doc.get("offsets").and_then(Json::as_array).ok_or_else(|| err("no \"offsets\" array".into()))?;
                for item in list {
                    let (Some(key), Some(value)) = (item.get("key"), item.get("value")) else {
                        return Err(err(format!("entry without key or value: {item}")));
                    };
                    let (parsed, _) = parse_offset_key(key).map_err(err)?;
                    if value.is_null() {
                        entries.remove(&parsed);
                    } else {
                        entries.insert(parsed, Entry { key: key.clone(), value: value.clone() });
                    }
                }
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(err(format!("cannot read: {e}"))),
        }
        Ok(FileOffsetStore { path: path.to_path_buf(), entries: Mutex::new(entries) })
    }

    /// Replaces the file with `entries`. On any failure (an unwritable directory, a full disk) the previous file is
    /// left as it was and the temporary file is removed; the caller keeps its offsets for the next attempt.
    fn write(&self, entries: &BTreeMap<OffsetKey, Entry>) -> Result<(), StorageError> {
        let err = |message: String| StorageError::File { path: self.path.clone(), message };
        let list: Vec<Json> = entries.values().map(|e| json!({"key": e.key, "value": e.value})).collect();
        let body = serde_json::to_vec_pretty(&json!({"version": 1, "offsets": list}))
            .map_err(|e| err(format!("cannot encode: {e}")))?;
        let dir = self.path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let (tmp_path, mut tmp) = tempfile_in(dir, &self.path)
            .map_err(|e| err(format!("cannot create a temporary file in {}: {e}", dir.display())))?;
        let written = tmp
            .write_all(&body)
            .and_then(|()| tmp.sync_all())
            .map_err(|e| format!("cannot write {}: {e}", tmp_path.display()))
            .and_then(|()| std::fs::rename(&tmp_path, &self.path).map_err(|e| format!("cannot replace the file: {e}")));
        if let Err(message) = written {
            drop(tmp);
            let _ = std::fs::remove_file(&tmp_path);
            return Err(err(format!("{message}; the previous offsets file is kept")));
        }
        // The rename is durable once the directory is synced; a failure here leaves a complete file either way.
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

fn tempfile_in(dir: &Path, target: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "offsets".into());
    let path = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let file = std::fs::File::create(&path)?;
    Ok((path, file))
}

impl OffsetStore for FileOffsetStore {
    fn get(&self, connector: &str, partition: &SourceMap) -> Option<SourceMap> {
        let (_, key) = offset_key(connector, partition).ok()?;
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(&key).and_then(|e| source_map_from_json(&e.value).ok())
    }

    fn put(&self, connector: &str, offsets: &[(SourceMap, SourceMap)]) -> Result<(), StorageError> {
        let format = |message: String| StorageError::Format { connector: connector.to_string(), message };
        let mut encoded = Vec::with_capacity(offsets.len());
        for (partition, offset) in offsets {
            let (key_json, key) = offset_key(connector, partition).map_err(format)?;
            encoded.push((key, Entry { key: key_json, value: source_map_to_json(offset).map_err(format)? }));
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let mut next: BTreeMap<OffsetKey, Entry> =
            entries.iter().map(|(k, e)| (k.clone(), Entry { key: e.key.clone(), value: e.value.clone() })).collect();
        next.extend(encoded);
        self.write(&next)?;
        *entries = next;
        Ok(())
    }
    /// Every stored (partition, offset) of `connector`, as JSON objects (`GET /connectors/{name}/offsets`).
    fn offsets_of(&self, connector: &str) -> Vec<(Json, Json)> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .iter()
            .filter(|(key, _)| key.connector == connector)
            .filter_map(|(_, e)| Some((e.key.get(1)?.clone(), e.value.clone())))
            .collect()
    }

    /// Writes offsets of `connector` as given, a `None` offset removing the partition, all at once (KIP-875's
    /// alter and reset). Partitions and offsets must be JSON objects of primitives, as a task's.
    fn write_raw(&self, connector: &str, offsets: &[(Json, Option<Json>)]) -> Result<(), StorageError> {
        let format = |message: String| StorageError::Format { connector: connector.to_string(), message };
        let mut changes = Vec::with_capacity(offsets.len());
        for (partition, offset) in offsets {
            let (key_json, key) =
                offset_key(connector, &source_map_from_json(partition).map_err(format)?).map_err(format)?;
            let value = match offset {
                Some(offset) => {
                    Some(source_map_to_json(&source_map_from_json(offset).map_err(format)?).map_err(format)?)
                }
                None => None,
            };
            changes.push((key, key_json, value));
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let mut next: BTreeMap<OffsetKey, Entry> =
            entries.iter().map(|(k, e)| (k.clone(), Entry { key: e.key.clone(), value: e.value.clone() })).collect();
        for (key, key_json, value) in changes {
            match value {
                Some(value) => next.insert(key, Entry { key: key_json, value }),
                None => next.remove(&key),
            };
        }
        self.write(&next)?;
        *entries = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offsets.json");
        let store = FileOffsetStore::open(&path).unwrap();
        let partition = SourceMap::new().with("filename", "/tmp/a");
        assert_eq!(store.get("c", &partition), None);
        store.put("c", &[(partition.clone(), SourceMap::new().with("position", 10i64))]).unwrap();
        store.put("c", &[(partition.clone(), SourceMap::new().with("position", 20i64))]).unwrap();
        store.put("d", &[(partition.clone(), SourceMap::new().with("position", 5i64))]).unwrap();
        let reopened = FileOffsetStore::open(&path).unwrap();
        assert_eq!(reopened.get("c", &partition), Some(SourceMap::new().with("position", 20i64)));
        assert_eq!(reopened.get("d", &partition), Some(SourceMap::new().with("position", 5i64)));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(r#""key": ["#), "{text}");
    }

    #[test]
    fn offsets_are_listed_altered_and_removed_per_connector() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offsets.json");
        let store = FileOffsetStore::open(&path).unwrap();
        let partition = SourceMap::new().with("filename", "/tmp/a");
        store.put("c", &[(partition.clone(), SourceMap::new().with("position", 10i64))]).unwrap();
        store.put("d", &[(partition.clone(), SourceMap::new().with("position", 5i64))]).unwrap();
        assert_eq!(store.offsets_of("c"), vec![(json!({"filename": "/tmp/a"}), json!({"position": 10}))]);

        store.write_raw("c", &[(json!({"filename": "/tmp/a"}), Some(json!({"position": 0})))]).unwrap();
        assert_eq!(store.get("c", &partition), Some(SourceMap::new().with("position", 0i64)));
        store.write_raw("c", &[(json!({"filename": "/tmp/a"}), None)]).unwrap();
        assert!(store.offsets_of("c").is_empty());
        let reopened = FileOffsetStore::open(&path).unwrap();
        assert!(reopened.offsets_of("c").is_empty());
        assert_eq!(reopened.offsets_of("d").len(), 1);

        let err = store.write_raw("c", &[(json!({"filename": ["not", "primitive"]}), None)]).unwrap_err();
        assert!(matches!(err, StorageError::Format { .. }), "{err}");
    }

    #[test]
    fn a_corrupt_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offsets.json");
        std::fs::write(&path, "{not json").unwrap();
        let err = FileOffsetStore::open(&path).err().unwrap();
        assert!(err.to_string().contains("offsets.json"), "{err}");
    }
}
