//! The eager assignor (protocol "default", V0), as Java's `EagerAssignor`: a full round-robin assignment every
//! rebalance, after every worker has stopped everything.
//!
//! It keeps no memory between rounds and must never depend on what members currently run: the same members and
//! snapshot always give the same layout.

use std::collections::BTreeMap;
use std::time::Instant;

use super::{config_mismatch, leader_offset, members_by_id, Assignor, ClusterSnapshot, LeaderState, Member};
use crate::group::protocol::{Assignment, ConnectProtocol};

/// Round-robin over members sorted by id: all connectors (sorted) first, then all tasks (connector by connector, task
/// ids ascending) continuing from the member where the connector pass stopped. Handing out connectors first and
/// continuing the same cycle avoids putting every connector on even workers and every task on odd ones when
/// connectors have one task each.
#[derive(Debug, Default)]
pub struct EagerAssignor {
    leader_state: Option<LeaderState>,
}

impl EagerAssignor {
    /// A new eager assignor.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Assignor for EagerAssignor {
    fn assign(
        &mut self,
        leader_id: &str,
        leader_url: &str,
        _generation: i32,
        snapshot: &ClusterSnapshot,
        members: &[Member],
        _now: Instant,
    ) -> BTreeMap<String, Assignment> {
        let version = ConnectProtocol::Eager.version();
        let members = members_by_id(members);
        if members.is_empty() {
            return BTreeMap::new();
        }
        let offset = match leader_offset(snapshot, &members) {
            Ok(offset) => offset,
            Err(max) => return config_mismatch(version, leader_id, leader_url, max, &members),
        };

        let mut assignments: BTreeMap<String, Assignment> = members
            .keys()
            .map(|id| (id.to_string(), Assignment::empty(version, leader_id, leader_url, offset)))
            .collect();
        // BTreeMap keys are already sorted; `cycle` is the circular member iterator shared by both passes.
        let ids: Vec<String> = assignments.keys().cloned().collect();
        let mut next_member = ids.iter().cycle();
        let mut connector_owners = BTreeMap::new();
        let mut task_owners = BTreeMap::new();
        for connector in snapshot.connectors.keys() {
            if let Some(id) = next_member.next() {
                if let Some(a) = assignments.get_mut(id) {
                    a.connectors.push(connector.clone());
                }
                connector_owners.insert(connector.clone(), id.clone());
            }
        }
        for task in snapshot.tasks() {
            if let Some(id) = next_member.next() {
                if let Some(a) = assignments.get_mut(id) {
                    a.tasks.push(task.clone());
                }
                task_owners.insert(task, id.clone());
            }
        }
        self.leader_state = Some(LeaderState::new(&members, &connector_owners, &task_owners));
        assignments
    }

    fn protocol(&self) -> ConnectProtocol {
        ConnectProtocol::Eager
    }

    fn switch_protocol(&mut self, protocol: ConnectProtocol) -> bool {
        protocol == ConnectProtocol::Eager
    }

    fn leader_state(&self) -> Option<&LeaderState> {
        self.leader_state.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::protocol::{AssignmentError, WorkerMetadata};
    use crate::worker::status::TaskId;

    fn member(id: &str, offset: i64) -> Member {
        Member {
            member_id: id.into(),
            metadata: WorkerMetadata { url: format!("http://{id}:8083"), config_offset: offset, allocation: None },
        }
    }

    fn snapshot(offset: i64, connectors: &[(&str, u32)]) -> ClusterSnapshot {
        ClusterSnapshot {
            config_offset: offset,
            connectors: connectors.iter().map(|(c, n)| (c.to_string(), *n)).collect(),
        }
    }

    fn t(connector: &str, task: u32) -> TaskId {
        TaskId { connector: connector.into(), task }
    }

    fn run(snapshot: &ClusterSnapshot, members: &[Member]) -> BTreeMap<String, Assignment> {
        EagerAssignor::new().assign("leader", "http://leader:8083", 1, snapshot, members, Instant::now())
    }

    // WorkerCoordinatorTest.testLeaderPerformAssignment1: 1 connector, 1 task.
    #[test]
    fn one_connector_one_task() {
        let result = run(&snapshot(1, &[("connector1", 1)]), &[member("leader", 1), member("member", 1)]);
        assert_eq!(result["leader"].connectors, ["connector1"]);
        assert!(result["leader"].tasks.is_empty());
        assert!(result["member"].connectors.is_empty());
        assert_eq!(result["member"].tasks, [t("connector1", 0)]);
    }

    // WorkerCoordinatorTest.testLeaderPerformAssignment2: 2 connectors, 3 tasks.
    #[test]
    fn connectors_first_then_tasks_continuing_the_cycle() {
        let result =
            run(&snapshot(7, &[("connector1", 2), ("connector2", 1)]), &[member("member", 7), member("leader", 7)]);
        let leader = &result["leader"];
        assert_eq!((leader.version, leader.error), (0, AssignmentError::NoError));
        assert_eq!((leader.leader.as_str(), leader.leader_url.as_str()), ("leader", "http://leader:8083"));
        assert_eq!(leader.config_offset, 7);
        assert_eq!(leader.connectors, ["connector1"]);
        assert_eq!(leader.tasks, [t("connector1", 0), t("connector2", 0)]);
        let member = &result["member"];
        assert_eq!(member.connectors, ["connector2"]);
        assert_eq!(member.tasks, [t("connector1", 1)]);
    }

    // WorkerCoordinatorTest.testLeaderPerformAssignmentSingleTaskConnectors.
    #[test]
    fn single_task_connectors_spread_evenly() {
        let result = run(
            &snapshot(3, &[("connector1", 1), ("connector2", 1), ("connector3", 1)]),
            &[member("leader", 3), member("member", 3)],
        );
        assert_eq!(result["leader"].connectors, ["connector1", "connector3"]);
        assert_eq!(result["leader"].tasks, [t("connector2", 0)]);
        assert_eq!(result["member"].connectors, ["connector2"]);
        assert_eq!(result["member"].tasks, [t("connector1", 0), t("connector3", 0)]);
    }

    #[test]
    fn every_round_is_a_full_assignment_and_every_item_runs_once() {
        let snap = snapshot(5, &[("b", 3), ("a", 4), ("c", 0)]);
        let mut assignor = EagerAssignor::new();
        let members = [member("w3", 5), member("w1", 5), member("w2", 5)];
        let now = Instant::now();
        let first = assignor.assign("w1", "u", 1, &snap, &members, now);
        let second = assignor.assign("w1", "u", 2, &snap, &members, now);
        assert_eq!(first, second);
        let mut connectors: Vec<&String> = first.values().flat_map(|a| &a.connectors).collect();
        let mut tasks: Vec<&TaskId> = first.values().flat_map(|a| &a.tasks).collect();
        connectors.sort();
        tasks.sort();
        assert_eq!(connectors, ["a", "b", "c"]);
        assert_eq!(tasks, snap.tasks().collect::<Vec<_>>().iter().collect::<Vec<_>>());
        // 3 connectors + 7 tasks over 3 workers: 10 items, so 4/3/3.
        let mut loads: Vec<usize> = first.values().map(|a| a.connectors.len() + a.tasks.len()).collect();
        loads.sort();
        assert_eq!(loads, [3, 3, 4]);
        // w1 got a, w2 b, w3 c; tasks continue with w1: a-0 w1, a-1 w2, a-2 w3, a-3 w1, b-0 w2, ...
        assert_eq!(first["w1"].connectors, ["a"]);
        assert_eq!(first["w1"].tasks, [t("a", 0), t("a", 3), t("b", 2)]);
        assert_eq!(first["w2"].tasks, [t("a", 1), t("b", 0)]);
        let state = assignor.leader_state().unwrap();
        assert_eq!(state.connector_owners["c"], "w3");
        assert_eq!(state.task_owner_url(&t("b", 2)), Some("http://w1:8083"));
    }

    #[test]
    fn stale_leader_snapshot_is_a_config_mismatch_for_everyone() {
        let result = run(&snapshot(4, &[("a", 2)]), &[member("leader", 4), member("member", 9)]);
        assert_eq!(result.len(), 2);
        for a in result.values() {
            assert_eq!(a.error, AssignmentError::ConfigMismatch);
            assert_eq!(a.config_offset, 9);
            assert_eq!(a.version, 0);
            assert!(a.connectors.is_empty() && a.tasks.is_empty());
        }
    }

    #[test]
    fn no_members_no_assignments() {
        assert!(run(&snapshot(0, &[("a", 1)]), &[]).is_empty());
    }

    #[test]
    fn more_members_than_work() {
        let result = run(&snapshot(0, &[("a", 1)]), &[member("w1", 0), member("w2", 0), member("w3", 0)]);
        assert_eq!(result["w1"].connectors, ["a"]);
        assert_eq!(result["w2"].tasks, [t("a", 0)]);
        assert!(result["w3"].connectors.is_empty() && result["w3"].tasks.is_empty());
    }
}
