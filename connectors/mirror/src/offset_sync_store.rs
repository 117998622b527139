//! Translation of upstream consumer offsets to downstream ones through the offset syncs (Java's
//! `OffsetSyncStore`): per source partition, 64 syncs in exponentially growing buckets of upstream offsets, so
//! recent offsets translate precisely and old ones still translate, in bounded memory.

use std::collections::HashMap;

use crate::wire::OffsetSync;

const SYNCS_PER_PARTITION: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Sync {
    upstream: i64,
    downstream: i64,
}

/// The offset syncs read so far.
#[derive(Default)]
pub struct OffsetSyncStore {
    syncs: HashMap<(String, i32), [Sync; SYNCS_PER_PARTITION]>,
    read_to_end: bool,
}

impl OffsetSyncStore {
    /// An empty store that has not read the topic to its end yet.
    pub fn new() -> Self {
        OffsetSyncStore::default()
    }

    /// Marks the initial read of the offset-syncs topic as complete: translation starts.
    pub fn set_read_to_end(&mut self) {
        self.read_to_end = true;
    }

    /// Whether the initial read is complete.
    pub fn is_read_to_end(&self) -> bool {
        self.read_to_end
    }

    /// Applies one offset sync.
    pub fn apply(&mut self, sync: OffsetSync) {
        let new = Sync { upstream: sync.upstream_offset, downstream: sync.downstream_offset };
        let read_to_end = self.read_to_end;
        let syncs = self.syncs.entry((sync.topic, sync.partition)).or_insert([new; SYNCS_PER_PARTITION]);
        // Before the end is reached only the latest sync counts; a rewind upstream invalidates everything.
        if !read_to_end || syncs[0].upstream > new.upstream {
            *syncs = [new; SYNCS_PER_PARTITION];
            return;
        }
        syncs[0] = new;
        for (i, slot) in syncs.iter_mut().enumerate().skip(1) {
            // Bucket i keeps a sync until one of the high bits above bit i of the upstream offset changes.
            let mask = i64::MAX << i;
            if (slot.upstream ^ new.upstream) & mask != 0 {
                *slot = new;
            } else {
                break;
            }
        }
    }

    /// The downstream offset for a group at `upstream` in `topic`/`partition`: `None` when it cannot be
    /// translated (no sync yet, or the initial read is not complete), `Some(-1)` when the group is older than
    /// every kept sync.
    pub fn translate(&self, topic: &str, partition: i32, upstream: i64) -> Option<i64> {
        if !self.read_to_end {
            return None;
        }
        let syncs = self.syncs.get(&(topic.to_string(), partition))?;
        let oldest = syncs[SYNCS_PER_PARTITION - 1];
        let sync = if oldest.upstream > upstream {
            oldest
        } else {
            syncs.iter().copied().find(|s| s.upstream <= upstream).unwrap_or(oldest)
        };
        if sync.upstream > upstream {
            return Some(-1);
        }
        // Past the sync, only one record further is certain: later records may have been filtered.
        Some(sync.downstream + i64::from(upstream != sync.upstream))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sync(upstream: i64, downstream: i64) -> OffsetSync {
        OffsetSync { topic: "t".into(), partition: 0, upstream_offset: upstream, downstream_offset: downstream }
    }

    #[test]
    fn nothing_translates_before_the_initial_read_ends() {
        let mut store = OffsetSyncStore::new();
        store.apply(sync(10, 5));
        assert_eq!(store.translate("t", 0, 10), None);
        store.set_read_to_end();
        assert_eq!(store.translate("t", 0, 10), Some(5));
        assert_eq!(store.translate("t", 0, 11), Some(6));
        assert_eq!(store.translate("t", 0, 500), Some(6));
        assert_eq!(store.translate("t", 0, 9), Some(-1));
        assert_eq!(store.translate("t", 1, 9), None);
    }

    #[test]
    fn the_initial_read_keeps_only_the_latest_sync() {
        let mut store = OffsetSyncStore::new();
        store.apply(sync(0, 0));
        store.apply(sync(100, 100));
        store.set_read_to_end();
        assert_eq!(store.translate("t", 0, 50), Some(-1));
        assert_eq!(store.translate("t", 0, 100), Some(100));
    }

    #[test]
    fn older_syncs_stay_usable_in_buckets() {
        let mut store = OffsetSyncStore::new();
        store.set_read_to_end();
        for upstream in (0..1000).step_by(10) {
            store.apply(sync(upstream, upstream / 2));
        }
        assert_eq!(store.translate("t", 0, 990), Some(495));
        assert_eq!(store.translate("t", 0, 995), Some(496));
        // Somewhere older: translated through a kept sync at or before it, never past it.
        let old = store.translate("t", 0, 500).unwrap();
        assert!((0..=251).contains(&old), "{old}");
        assert_eq!(store.translate("t", 0, 0), Some(0));
    }

    #[test]
    fn an_upstream_rewind_clears_the_partition() {
        let mut store = OffsetSyncStore::new();
        store.set_read_to_end();
        store.apply(sync(100, 100));
        store.apply(sync(5, 200));
        assert_eq!(store.translate("t", 0, 100), Some(201));
        assert_eq!(store.translate("t", 0, 4), Some(-1));
    }
}
