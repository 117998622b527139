//! The group leader's side of a Connect rebalance: from the members' JoinGroup metadata and the leader's config
//! snapshot, decide what every member runs (`eager` for protocol "default", `incremental` for "compatible" and
//! "sessioned").
//!
//! An assignor only computes; it never reads the config topic, never does I/O and never panics on what members send.
//! It must never hand out work from a config snapshot older than a member's: that case yields `ConfigMismatch`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::group::protocol::{Assignment, AssignmentError, ConnectProtocol, WorkerMetadata};
use crate::worker::status::TaskId;

pub mod eager;
pub mod incremental;

pub use eager::EagerAssignor;
pub use incremental::IncrementalCooperativeAssignor;

/// The default of `scheduled.rebalance.max.delay.ms`: 5 minutes.
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_millis(300_000);

/// A member of the group as the leader sees it in JoinGroup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The member id the coordinator gave the worker.
    pub member_id: String,
    /// The decoded metadata of the protocol the coordinator selected.
    pub metadata: WorkerMetadata,
}

/// What the leader's config snapshot says should run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterSnapshot {
    /// The config topic offset the snapshot was taken at.
    pub config_offset: i64,
    /// Every configured connector and its task count (tasks are numbered from 0).
    pub connectors: BTreeMap<String, u32 /* task count */>,
}

impl ClusterSnapshot {
    /// Every configured task, by connector then task number.
    pub fn tasks(&self) -> impl Iterator<Item = TaskId> + '_ {
        self.connectors
            .iter()
            .flat_map(|(connector, &count)| (0..count).map(move |task| TaskId { connector: connector.clone(), task }))
    }
}

/// Who runs what after the leader's last successful assignment, for forwarding REST requests to an owner (Java's
/// `WorkerCoordinator.LeaderState`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaderState {
    /// Member id -> advertised REST URL.
    pub member_urls: BTreeMap<String, String>,
    /// Connector -> member id running it.
    pub connector_owners: BTreeMap<String, String>,
    /// Task -> member id running it.
    pub task_owners: BTreeMap<TaskId, String>,
}

impl LeaderState {
    /// The REST URL of the worker running `connector`, if it is assigned.
    pub fn connector_owner_url(&self, connector: &str) -> Option<&str> {
        self.connector_owners.get(connector).and_then(|m| self.member_urls.get(m)).map(String::as_str)
    }

    /// The REST URL of the worker running `task`, if it is assigned.
    pub fn task_owner_url(&self, task: &TaskId) -> Option<&str> {
        self.task_owners.get(task).and_then(|m| self.member_urls.get(m)).map(String::as_str)
    }

    fn new<'a>(
        members: &BTreeMap<&str, &WorkerMetadata>,
        connectors: impl IntoIterator<Item = (&'a String, &'a String)>,
        tasks: impl IntoIterator<Item = (&'a TaskId, &'a String)>,
    ) -> Self {
        LeaderState {
            member_urls: members.iter().map(|(id, md)| (id.to_string(), md.url.clone())).collect(),
            connector_owners: connectors.into_iter().map(|(c, m)| (c.clone(), m.clone())).collect(),
            task_owners: tasks.into_iter().map(|(t, m)| (t.clone(), m.clone())).collect(),
        }
    }
}

/// Computes the assignment of every member; the leader's herder calls it once per rebalance it leads.
///
/// Before calling [`Assignor::assign`], the leader's herder should refresh its snapshot from the config topic (read
/// to the end) if it is behind the highest offset the members report: Java's `ensureLeaderConfig` takes a fresh
/// snapshot at that point, and an assignor here has no access to the config topic. If the snapshot is still behind,
/// every member gets `ConfigMismatch`, reads to the end and rejoins.
pub trait Assignor: Send {
    /// Returns an encode-ready assignment per member id, for `generation` (the JoinGroup generation).
    ///
    /// `leader_id`/`leader_url` identify this worker; `now` drives the scheduled rebalance delay, so that tests need
    /// no sleeping. Members with the same id count once (the last wins); no members yield an empty map.
    fn assign(
        &mut self,
        leader_id: &str,
        leader_url: &str,
        generation: i32,
        snapshot: &ClusterSnapshot,
        members: &[Member],
        now: Instant,
    ) -> BTreeMap<String, Assignment>;

    /// Must be called by the herder on every worker, leader or not, each time a join completes (SyncGroup succeeded
    /// and the assignment was received) with that generation, like Java's `WorkerCoordinator.onJoinComplete` records
    /// `lastCompletedGenerationId`. The incremental assignor forgets its view of the previous assignment when the
    /// generation it last assigned is not the last completed one (KAFKA-9848: a sync that failed means the members
    /// may never have received it). The eager assignor keeps no state and ignores it.
    fn join_completed(&mut self, generation: i32) {
        let _ = generation;
    }

    /// The protocol whose assignments this assignor produces.
    fn protocol(&self) -> ConnectProtocol;

    /// Switches the protocol stamped on assignments, keeping state, as Java uses one incremental assignor for both
    /// "compatible" and "sessioned". Returns false, changing nothing, when this assignor cannot produce `protocol`
    /// (eager vs incremental): the herder then builds one with [`new_assignor`].
    fn switch_protocol(&mut self, protocol: ConnectProtocol) -> bool;

    /// The owners after the last successful assignment, if any.
    fn leader_state(&self) -> Option<&LeaderState>;
}

/// The assignor for the protocol the coordinator selected; `max_delay` is `scheduled.rebalance.max.delay.ms` (used by
/// the incremental assignor only).
pub fn new_assignor(protocol: ConnectProtocol, max_delay: Duration) -> Box<dyn Assignor> {
    match protocol {
        ConnectProtocol::Eager => Box::new(EagerAssignor::new()),
        incremental => Box::new(IncrementalCooperativeAssignor::new(incremental, max_delay)),
    }
}

/// Members by id; a later duplicate id replaces an earlier one, as Java's `HashMap.put` does.
fn members_by_id(members: &[Member]) -> BTreeMap<&str, &WorkerMetadata> {
    members.iter().map(|m| (m.member_id.as_str(), &m.metadata)).collect()
}

/// The config offset to assign at, or `Err(max member offset)` when the snapshot is behind a member (both assignors'
/// `ensureLeaderConfig`). When the snapshot is not behind, Java's assignment carries the offset of the snapshot it
/// used (equal to the members' maximum unless a fresh snapshot was taken), so that is what is returned.
fn leader_offset(snapshot: &ClusterSnapshot, members: &BTreeMap<&str, &WorkerMetadata>) -> Result<i64, i64> {
    let max = members.values().map(|md| md.config_offset).max().unwrap_or(i64::MIN);
    if snapshot.config_offset < max {
        Err(max)
    } else {
        Ok(snapshot.config_offset)
    }
}

/// Every member gets `ConfigMismatch`, no work and `config_offset = max_offset`, so that each reads the config topic
/// at least that far and rejoins.
fn config_mismatch(
    version: i16,
    leader_id: &str,
    leader_url: &str,
    max_offset: i64,
    members: &BTreeMap<&str, &WorkerMetadata>,
) -> BTreeMap<String, Assignment> {
    members
        .keys()
        .map(|id| {
            let mut assignment = Assignment::empty(version, leader_id, leader_url, max_offset);
            assignment.error = AssignmentError::ConfigMismatch;
            (id.to_string(), assignment)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_assignor_matches_the_protocol() {
        for p in ConnectProtocol::ALL {
            assert_eq!(new_assignor(p, DEFAULT_MAX_DELAY).protocol(), p);
        }
        let mut eager = new_assignor(ConnectProtocol::Eager, DEFAULT_MAX_DELAY);
        assert!(!eager.switch_protocol(ConnectProtocol::Sessioned));
        assert_eq!(eager.protocol(), ConnectProtocol::Eager);
        let mut incremental = new_assignor(ConnectProtocol::Compatible, DEFAULT_MAX_DELAY);
        assert!(!incremental.switch_protocol(ConnectProtocol::Eager));
        assert!(incremental.switch_protocol(ConnectProtocol::Sessioned));
        assert_eq!(incremental.protocol(), ConnectProtocol::Sessioned);
    }

    #[test]
    fn snapshot_tasks_are_numbered_from_zero() {
        let snapshot = ClusterSnapshot { config_offset: 0, connectors: [("a".into(), 2), ("b".into(), 0)].into() };
        let tasks: Vec<String> = snapshot.tasks().map(|t| t.to_string()).collect();
        assert_eq!(tasks, ["a-0", "a-1"]);
    }

    #[test]
    fn leader_state_resolves_owner_urls() {
        let md = WorkerMetadata { url: "http://w1".into(), config_offset: 0, allocation: None };
        let members: BTreeMap<&str, &WorkerMetadata> = [("w1", &md)].into();
        let c = ("c".to_string(), "w1".to_string());
        let t = (TaskId { connector: "c".into(), task: 0 }, "w2".to_string());
        let state = LeaderState::new(&members, [(&c.0, &c.1)], [(&t.0, &t.1)]);
        assert_eq!(state.connector_owner_url("c"), Some("http://w1"));
        assert_eq!(state.connector_owner_url("d"), None);
        // An owner that is not a member has no URL.
        assert_eq!(state.task_owner_url(&t.0), None);
    }
}
