//! The standalone status store: what Kafka's `MemoryStatusBackingStore` keeps. Statuses themselves live on the
//! worker's status board; this only remembers the topics each connector's tasks used (KIP-558), for
//! `GET /connectors/{name}/topics`. Nothing survives a restart, as in Kafka Connect's standalone mode.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use crate::worker::status::{Status, StatusKey, StatusSink, TaskId};

/// The active topics of every connector, in memory.
#[derive(Default)]
pub struct MemoryStatusStore {
    topics: Mutex<BTreeMap<String, BTreeSet<String>>>,
}

impl MemoryStatusStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The topics `connector` has used since it was created or its topics were last reset, sorted.
    pub fn topics(&self, connector: &str) -> Vec<String> {
        let topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        topics.get(connector).map(|t| t.iter().cloned().collect()).unwrap_or_default()
    }

    /// Forgets the topics of `connector`.
    pub fn reset_topics(&self, connector: &str) {
        self.topics.lock().unwrap_or_else(|p| p.into_inner()).remove(connector);
    }
}

impl StatusSink for MemoryStatusStore {
    fn put(&self, _key: &StatusKey, _status: &Status, _generation: i32) {}

    fn put_topic(&self, id: &TaskId, topic: &str) {
        let mut topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        if !topics.get(&id.connector).is_some_and(|t| t.contains(topic)) {
            topics.entry(id.connector.clone()).or_default().insert(topic.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_kept_per_connector_until_reset() {
        let store = MemoryStatusStore::new();
        let task = |c: &str, n| TaskId { connector: c.to_string(), task: n };
        store.put_topic(&task("a", 0), "t2");
        store.put_topic(&task("a", 1), "t1");
        store.put_topic(&task("a", 0), "t2");
        store.put_topic(&task("b", 0), "t3");
        assert_eq!(store.topics("a"), vec!["t1", "t2"]);
        store.reset_topics("a");
        assert!(store.topics("a").is_empty());
        assert_eq!(store.topics("b"), vec!["t3"]);
    }
}
