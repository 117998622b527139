//! Rebalances: joining the group with this worker's metadata, computing assignments as leader, and applying the
//! assignment (eager: everything restarts; incremental: only revoked work stops, new work starts).
//!
//! An assignment that is empty, undecodable, failed (CONFIG_MISMATCH) or ahead of the config we could read is
//! never applied: the worker reads the config topic and rejoins instead.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{Allocation, DistributedHerder, Joined, JOIN_BACKOFF};
use crate::config::DistributedConfig;
use crate::group::assignor::{new_assignor, ClusterSnapshot, Member};
use crate::group::client::{GroupConfig, LeaderView, MemberEvent};
use crate::group::protocol::{Assignment, ConnectProtocol, WorkerMetadata};
use crate::herder::api::HerderRequest;
use crate::worker::status::StatusKey;

/// The group membership settings of a worker.
pub(super) fn group_config(config: &DistributedConfig) -> GroupConfig {
    let mut group = GroupConfig::new(
        config.worker.bootstrap_servers.split(',').map(|s| s.trim().to_string()).collect(),
        config.group_id.clone(),
    );
    group.client_id = format!("connect-{}", config.worker_id());
    group.session_timeout = config.session_timeout;
    group.rebalance_timeout = config.rebalance_timeout;
    group.heartbeat_interval = config.heartbeat_interval;
    group
}

impl DistributedHerder {
    /// What this worker runs, as the allocation it reports in its metadata.
    fn current_allocation(&self, protocol: ConnectProtocol) -> Option<Assignment> {
        let joined = self.joined.as_ref()?;
        let mut assignment =
            Assignment::empty(protocol.version(), &joined.leader_id, &joined.leader_url, self.snapshot.offset);
        assignment.connectors = self.allocation.connectors.iter().cloned().collect();
        // The round stamp, negated (see `allocation_stamp`). It also makes the metadata of every rejoin after a new
        // assignment differ: Kafka starts a round whenever the leader rejoins, tansu 0.6.0 only when some member's
        // metadata changed (otherwise it answers with the current generation and its stored assignment).
        assignment.delay_ms = -self.applied_stamp;
        assignment.tasks = self.allocation.tasks.iter().cloned().collect();
        Some(assignment)
    }

    fn cluster_snapshot(&self) -> ClusterSnapshot {
        ClusterSnapshot {
            config_offset: self.snapshot.offset,
            connectors: self
                .snapshot
                .connector_configs
                .keys()
                .map(|name| (name.clone(), self.snapshot.task_count(name)))
                .collect(),
        }
    }

    /// Joins (or rejoins) the group and applies the assignment.
    pub(super) fn rebalance(&mut self) {
        self.worker.metrics().rebalance().started();
        self.rejoin_requested = false;
        self.scheduled_rebalance = None;
        if !self.mode.is_incremental() {
            // Eager: everything stops before the join, and the new assignment is complete.
            self.stop_all_work();
            self.flush_statuses();
        }
        let metadata = WorkerMetadata {
            url: self.config.advertised_url.clone(),
            config_offset: self.snapshot.offset,
            allocation: if self.mode.is_incremental() { self.current_allocation(self.mode) } else { None },
        };
        let protocols: Vec<(String, Bytes)> = match metadata.join_protocols(self.mode) {
            Ok(list) => list.into_iter().map(|(p, bytes)| (p.name().to_string(), bytes)).collect(),
            Err(err) => {
                tracing::error!("cannot encode this worker's group metadata: {err}");
                std::thread::sleep(JOIN_BACKOFF);
                self.rejoin_requested = true;
                return;
            }
        };
        let deadline = Instant::now() + self.config.rebalance_timeout + Duration::from_secs(5);
        let my_url = self.config.advertised_url.clone();
        let snapshot = self.cluster_snapshot();
        let max_delay = self.config.scheduled_rebalance_max_delay;
        let assignor = &mut self.assignor;
        let started = Instant::now();
        let result = self.runtime.block_on(self.member.join(&protocols, deadline, |view: &LeaderView<'_>| {
            let protocol = ConnectProtocol::from_name(view.protocol).map_err(|e| e.to_string())?;
            let mut members = Vec::with_capacity(view.members.len());
            for m in view.members {
                let metadata = WorkerMetadata::decode(&m.metadata)
                    .map_err(|e| format!("undecodable metadata of member {}: {e}", m.member_id))?;
                members.push(Member { member_id: m.member_id.clone(), metadata });
            }
            let keep = assignor.as_mut().is_some_and(|a| a.protocol() == protocol || a.switch_protocol(protocol));
            if !keep {
                *assignor = Some(new_assignor(protocol, max_delay));
            }
            let assignor = assignor.as_mut().ok_or("no assignor")?;
            for m in &members {
                tracing::debug!(
                    "generation {} member {} (config offset {}) reports {:?}",
                    view.generation,
                    m.member_id,
                    m.metadata.config_offset,
                    m.metadata.allocation
                );
            }
            let assignments =
                assignor.assign(view.leader_id, &my_url, view.generation, &snapshot, &members, Instant::now());
            for (member, assignment) in &assignments {
                tracing::debug!("generation {} assigns {member}: {assignment:?}", view.generation);
            }
            assignments
                .into_iter()
                .map(|(member, assignment)| assignment.encode().map(|bytes| (member, bytes)).map_err(|e| e.to_string()))
                .collect()
        }));
        let joined = match result {
            Ok(joined) => joined,
            Err(err) => {
                tracing::warn!("joining group {} failed: {err}", self.config.group_id);
                if !self.connectors.is_empty() || !self.tasks.is_empty() {
                    // Out of the group for a whole join deadline: others may own this work by now.
                    tracing::warn!("stopping all connectors and tasks until this worker is back in the group");
                    self.stop_all_work();
                }
                self.joined = None;
                self.rejoin_requested = true;
                std::thread::sleep(JOIN_BACKOFF);
                return;
            }
        };
        if let Some(assignor) = self.assignor.as_mut() {
            assignor.join_completed(joined.generation);
        }
        let protocol = match ConnectProtocol::from_name(&joined.protocol) {
            Ok(p) => p,
            Err(err) => {
                tracing::error!("the group chose an unknown protocol: {err}");
                self.rejoin_requested = true;
                return;
            }
        };
        let assignment = match Assignment::decode(&joined.assignment) {
            Ok(a) if !joined.assignment.is_empty() => a,
            // tansu 0.6.0 may answer a follower's SyncGroup before the leader's assignment is stored.
            _ => {
                tracing::info!("empty or undecodable assignment in generation {}; rejoining", joined.generation);
                self.rejoin_requested = true;
                std::thread::sleep(JOIN_BACKOFF);
                return;
            }
        };
        self.joined = Some(Joined {
            member_id: joined.member_id.clone(),
            leader_id: assignment.leader.clone(),
            leader_url: assignment.leader_url.clone(),
        });
        self.worker.status().set_generation(joined.generation);
        if assignment.failed() {
            tracing::info!(
                "assignment failed in generation {} (the leader's config is behind offset {}); reading the config topic and rejoining",
                joined.generation,
                assignment.config_offset
            );
            self.refresh_configs(self.config.worker_sync_timeout);
            self.request_new_round();
            return;
        }
        if self.snapshot.offset < assignment.config_offset {
            self.refresh_configs(self.config.worker_sync_timeout);
        }
        if self.snapshot.offset != assignment.config_offset {
            tracing::warn!(
                "config offset {} differs from the assignment's {} after reading the config topic; not starting work, rejoining",
                self.snapshot.offset,
                assignment.config_offset
            );
            self.rejoin_requested = true;
            std::thread::sleep(JOIN_BACKOFF);
            return;
        }
        tracing::info!(
            "joined group {} generation {} as {} (leader {}, protocol {}) in {:?}: assigned connectors {:?} tasks {:?}, revoked connectors {:?} tasks {:?}, delay {} ms",
            self.config.group_id,
            joined.generation,
            joined.member_id,
            assignment.leader,
            protocol,
            started.elapsed(),
            assignment.connectors,
            assignment.tasks.iter().map(ToString::to_string).collect::<Vec<_>>(),
            assignment.revoked_connectors,
            assignment.revoked_tasks.iter().map(ToString::to_string).collect::<Vec<_>>(),
            assignment.delay_ms
        );
        self.apply_assignment(&assignment, protocol);
        self.reassert_statuses();
        self.group_protocol = Some(protocol);
        self.worker.metrics().rebalance().completed(joined.generation, protocol.config_value(), &assignment.leader_url);
        self.applied_stamp = joined.generation.saturating_add(1).max(1);
        self.ready.store(true, std::sync::atomic::Ordering::Release);
        if assignment.delay_ms > 0 {
            self.scheduled_rebalance = Some(Instant::now() + Duration::from_millis(assignment.delay_ms as u64));
        }
    }

    /// Writes again the status of what runs here when the status topic says otherwise. A broker whose joins are
    /// time-driven (tansu 0.6.0) can form a generation without a member that still runs its work; the leader hands
    /// that work to another worker, which writes RUNNING, then UNASSIGNED when the duplicate is revoked from it,
    /// while this worker, which never received that revocation, keeps running it. Statuses are otherwise written
    /// only on state changes, so the topic (and every worker's REST answer) would keep saying UNASSIGNED.
    fn reassert_statuses(&self) {
        if self.connectors.is_empty() && self.tasks.is_empty() {
            return;
        }
        // Our own writes read back first, so that only a foreign status counts as stale.
        if let Err(err) = self.statuses.flush(super::CONFIG_READ_TIMEOUT) {
            tracing::warn!("cannot flush status records: {err}");
            return;
        }
        if let Err(err) = self.statuses.refresh(super::CONFIG_READ_TIMEOUT) {
            tracing::warn!("cannot read the status topic to its end: {err}");
            return;
        }
        let board = self.worker.status();
        let keys = self
            .connectors
            .keys()
            .map(|name| StatusKey::Connector(name.clone()))
            .chain(self.tasks.keys().map(|id| StatusKey::Task(id.clone())));
        for key in keys {
            let stored = match &key {
                StatusKey::Connector(name) => self.statuses.get_connector(name),
                StatusKey::Task(id) => self.statuses.get_task(id),
            };
            let Some(here) = board.get(&key) else { continue };
            if stored.is_some_and(|s| s.worker_id != here.worker_id || s.state != here.state) {
                board.reassert(&key);
            }
        }
    }

    fn apply_assignment(&mut self, assignment: &Assignment, protocol: ConnectProtocol) {
        let revoked = !assignment.revoked_connectors.is_empty() || !assignment.revoked_tasks.is_empty();
        for task in &assignment.revoked_tasks {
            self.stop_task(task);
            self.allocation.tasks.remove(task);
        }
        for connector in &assignment.revoked_connectors {
            self.stop_connector(connector);
            self.allocation.connectors.remove(connector);
        }
        if revoked {
            // As Kafka Connect's onRevoked: statuses of stopped work are written before the next join.
            self.flush_statuses();
        }
        if !protocol.is_incremental() {
            self.allocation = Allocation::default();
        }
        for connector in &assignment.connectors {
            if self.allocation.connectors.insert(connector.clone()) {
                self.start_connector(connector);
            }
        }
        if !assignment.tasks.is_empty() {
            // A source task must see offsets another worker committed for it before it moved here.
            if let Err(err) = self.offsets.refresh(super::CONFIG_READ_TIMEOUT) {
                tracing::warn!("cannot read the offsets topic to its end before starting tasks: {err}");
            }
        }
        for task in &assignment.tasks {
            if self.allocation.tasks.insert(task.clone()) {
                self.start_task(task);
            }
        }
        if revoked && protocol.is_incremental() {
            // Cooperative rebalancing: revoked work is handed out in a follow-up round.
            self.request_new_round();
        }
    }

    /// Rejoins for a new assignment round.
    pub(super) fn request_new_round(&mut self) {
        self.rejoin_requested = true;
    }

    fn flush_statuses(&self) {
        if let Err(err) = self.statuses.flush(super::CONFIG_READ_TIMEOUT) {
            tracing::warn!("cannot flush status records before rejoining: {err}");
        }
    }

    /// Waits up to `timeout` for a REST request or a group event and handles what arrives.
    pub(super) fn wait_for_events(&mut self, timeout: Duration) {
        enum Woken {
            Request(HerderRequest),
            Member(MemberEvent),
            Timeout,
            Closed,
        }
        let runtime = self.runtime.clone();
        // Heartbeat events matter while joined, and while the coordinator is lost (to learn it is back).
        let listen = self.joined.is_some() || self.coordinator_lost;
        let woken = runtime.block_on(async {
            tokio::select! {
                request = self.requests.recv() => match request {
                    Some(r) => Woken::Request(r),
                    None => Woken::Closed,
                },
                event = self.member.next_event(), if listen => Woken::Member(event),
                _ = tokio::time::sleep(timeout) => Woken::Timeout,
            }
        });
        match woken {
            Woken::Request(request) => {
                self.handle_request(request);
                // Serve what queued up meanwhile without waiting again.
                while let Ok(request) = self.requests.try_recv() {
                    self.handle_request(request);
                }
            }
            Woken::Member(event) => self.handle_member_event(event),
            Woken::Timeout => {}
            Woken::Closed => std::thread::sleep(timeout),
        }
    }

    pub(super) fn handle_member_event(&mut self, event: MemberEvent) {
        match event {
            MemberEvent::RebalanceNeeded | MemberEvent::Fenced => {
                tracing::info!("group {}: {event:?}; rejoining", self.config.group_id);
                self.rejoin_requested = true;
            }
            MemberEvent::CoordinatorLost { since } => {
                tracing::warn!(
                    "the group coordinator has been unreachable since {:?} ago; stopping all connectors and tasks so that nothing runs twice",
                    since.elapsed()
                );
                self.coordinator_lost = true;
                self.stop_all_work();
                self.joined = None;
            }
            MemberEvent::CoordinatorBack => {
                tracing::info!("the group coordinator answers again; rejoining");
                self.coordinator_lost = false;
                self.rejoin_requested = true;
            }
        }
    }
}
