//! Joining (JoinGroup, then SyncGroup with the leader's assignments) and leaving the group.
//!
//! A join retries what Kafka's AbstractCoordinator retries: a new member id (MEMBER_ID_REQUIRED), a rebalance in
//! progress, a moved or unavailable coordinator, a broken connection, and a member id or generation the coordinator
//! forgot; it gives up at the caller's deadline. Errors that repeat whatever we do are returned at once.

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{GroupId, JoinGroupRequest, LeaveGroupRequest, SyncGroupRequest};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::coordinator::{budget, find_coordinator};
use super::heartbeat::Heartbeat;
use super::wire::Connection;
use super::{GroupConfig, GroupError, GroupMember, JoinResult, JoinedMember, LeaderView};

/// The group protocol type of Kafka Connect workers.
pub(crate) const PROTOCOL_TYPE: &str = "connect";

/// JoinGroup v4 is the first that answers an empty member id with MEMBER_ID_REQUIRED (KIP-394), which tansu always
/// does; older versions would loop.
pub(crate) const MIN_JOIN_GROUP_VERSION: i16 = 4;

/// How long LeaveGroup may take at most.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Kafka's JOIN_GROUP_TIMEOUT_LAPSE: JoinGroup and SyncGroup may block for the rebalance timeout, plus this.
const JOIN_GROUP_TIMEOUT_LAPSE: Duration = Duration::from_secs(5);

const RETRY_BACKOFF: Duration = Duration::from_millis(100);
const MAX_RETRY_BACKOFF: Duration = Duration::from_secs(1);

fn millis(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// What the join loop does after a failed round.
enum Retry {
    /// Join again at once (the member id was updated).
    Now,
    /// Join again after a short pause.
    Rejoin,
    /// Forget the member id and generation, then join again.
    ResetMember,
    /// Find the coordinator again, with a growing pause.
    Rediscover,
}

fn retry_for(err: &GroupError) -> Option<Retry> {
    if matches!(err, GroupError::Assignment { .. }) || !err.is_retriable() {
        return None;
    }
    Some(match err.broker_error() {
        Some(ResponseError::MemberIdRequired) => Retry::Now,
        Some(ResponseError::RebalanceInProgress) => Retry::Rejoin,
        Some(ResponseError::UnknownMemberId | ResponseError::IllegalGeneration) => Retry::ResetMember,
        Some(_) => Retry::Rediscover,
        None => Retry::Rediscover,
    })
}

/// The open coordinator connection, or a new one found through the bootstrap servers.
async fn coordinator_connection<'a>(
    slot: &'a mut Option<Connection>,
    config: &GroupConfig,
    next_bootstrap: &mut usize,
    deadline: Instant,
) -> Result<&'a mut Connection, GroupError> {
    if let Some(conn) = slot.take().filter(Connection::is_usable) {
        return Ok(slot.insert(conn));
    }
    let conn = find_coordinator(config, next_bootstrap, deadline).await?;
    Ok(slot.insert(conn))
}

impl GroupMember {
    /// Joins the group (JoinGroup + SyncGroup) with protocol type "connect", offering `protocols` as (name,
    /// metadata) in order of preference. If this member is elected leader, `assign` gets the members and returns
    /// (member id, assignment) pairs. Stops the running heartbeat task first and starts a new one on success.
    ///
    /// Retries MEMBER_ID_REQUIRED, REBALANCE_IN_PROGRESS, coordinator errors and disconnects (finding the
    /// coordinator again), UNKNOWN_MEMBER_ID and ILLEGAL_GENERATION (with a new member id) until `deadline`. An
    /// empty assignment is returned as it is.
    pub async fn join<F>(
        &mut self,
        protocols: &[(String, Bytes)],
        deadline: Instant,
        mut assign: F,
    ) -> Result<JoinResult, GroupError>
    where
        F: FnMut(&LeaderView<'_>) -> Result<Vec<(String, Bytes)>, String>,
    {
        self.stop_heartbeat().await;
        self.generation = -1;
        if protocols.is_empty() {
            return Err(GroupError::NoProtocols { group: self.config.group_id.clone() });
        }
        let mut backoff = RETRY_BACKOFF;
        let mut last: Option<GroupError> = None;
        loop {
            if Instant::now() >= deadline {
                return Err(GroupError::DeadlineExceeded {
                    group: self.config.group_id.clone(),
                    last: last.map(|e| e.to_string()).unwrap_or_else(|| "none".into()),
                });
            }
            let err = match self.join_round(protocols, deadline, &mut assign).await {
                Ok(result) => return Ok(self.joined(result)),
                Err(err) => err,
            };
            if err.breaks_connection() {
                self.coordinator = None;
            }
            let Some(retry) = retry_for(&err) else {
                return Err(err);
            };
            let pause = match retry {
                // Unless the coordinator sent MEMBER_ID_REQUIRED without an id, which would spin.
                Retry::Now if !self.member_id.is_empty() => Duration::ZERO,
                Retry::Now => RETRY_BACKOFF,
                Retry::Rejoin => RETRY_BACKOFF,
                Retry::ResetMember => {
                    self.member_id.clear();
                    RETRY_BACKOFF
                }
                Retry::Rediscover => {
                    self.coordinator = None;
                    let pause = backoff;
                    backoff = (backoff * 2).min(MAX_RETRY_BACKOFF);
                    pause
                }
            };
            tracing::debug!("joining group {} again in {pause:?}: {err}", self.config.group_id);
            last = Some(err);
            tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now()))).await;
        }
    }

    /// One JoinGroup + SyncGroup exchange.
    async fn join_round<F>(
        &mut self,
        protocols: &[(String, Bytes)],
        deadline: Instant,
        assign: &mut F,
    ) -> Result<JoinResult, GroupError>
    where
        F: FnMut(&LeaderView<'_>) -> Result<Vec<(String, Bytes)>, String>,
    {
        let config = &self.config;
        let group = config.group_id.clone();
        let rebalance_wait = config.request_timeout.max(config.rebalance_timeout + JOIN_GROUP_TIMEOUT_LAPSE);
        let conn = coordinator_connection(&mut self.coordinator, config, &mut self.next_bootstrap, deadline).await?;
        let version = conn.version_for::<JoinGroupRequest>(MIN_JOIN_GROUP_VERSION)?;
        let request = JoinGroupRequest::default()
            .with_group_id(GroupId(str_bytes(&group)))
            .with_session_timeout_ms(millis(config.session_timeout))
            .with_rebalance_timeout_ms(millis(config.rebalance_timeout))
            .with_member_id(str_bytes(&self.member_id))
            .with_protocol_type(StrBytes::from_static_str(PROTOCOL_TYPE))
            .with_protocols(
                protocols
                    .iter()
                    .map(|(name, metadata)| {
                        JoinGroupRequestProtocol::default().with_name(str_bytes(name)).with_metadata(metadata.clone())
                    })
                    .collect(),
            );
        tracing::debug!("group {group}: JoinGroup v{version} as {:?} to {}", self.member_id, conn.addr());
        let response = conn.send(&request, version, budget(rebalance_wait, deadline)).await?;
        if let Some(error) = ResponseError::try_from_code(response.error_code) {
            if error == ResponseError::MemberIdRequired {
                self.member_id = response.member_id.to_string();
                tracing::debug!("group {group}: the coordinator gave member id {}", self.member_id);
            }
            return Err(GroupError::Broker { api: "JoinGroup", group, error, message: None });
        }
        self.member_id = response.member_id.to_string();
        let generation = response.generation_id;
        let leader_id = response.leader.to_string();
        let protocol = match response.protocol_name.as_ref().map(|p| p.to_string()) {
            Some(p) if protocols.iter().any(|(name, _)| *name == p) => p,
            chosen => return Err(GroupError::UnexpectedProtocol { group, chosen }),
        };
        let assignments = if leader_id == self.member_id {
            let members: Vec<JoinedMember> = response
                .members
                .into_iter()
                .map(|m| JoinedMember {
                    member_id: m.member_id.to_string(),
                    group_instance_id: m.group_instance_id.map(|id| id.to_string()),
                    metadata: m.metadata,
                })
                .collect();
            let view = LeaderView {
                generation,
                leader_id: &leader_id,
                member_id: &self.member_id,
                protocol: &protocol,
                members: &members,
            };
            let assigned = assign(&view).map_err(|message| GroupError::Assignment {
                group: group.clone(),
                generation,
                message,
            })?;
            tracing::debug!("group {group}: leader of generation {generation} assigned {} members", assigned.len());
            assigned
                .into_iter()
                .map(|(member, assignment)| {
                    SyncGroupRequestAssignment::default().with_member_id(member.into()).with_assignment(assignment)
                })
                .collect()
        } else {
            Vec::new()
        };

        let conn = coordinator_connection(&mut self.coordinator, config, &mut self.next_bootstrap, deadline).await?;
        let version = conn.version_for::<SyncGroupRequest>(0)?;
        let mut request = SyncGroupRequest::default()
            .with_group_id(GroupId(str_bytes(&group)))
            .with_generation_id(generation)
            .with_member_id(str_bytes(&self.member_id))
            .with_assignments(assignments);
        if version >= 5 {
            request = request
                .with_protocol_type(Some(StrBytes::from_static_str(PROTOCOL_TYPE)))
                .with_protocol_name(Some(str_bytes(&protocol)));
        }
        tracing::debug!("group {group}: SyncGroup v{version} for generation {generation} to {}", conn.addr());
        let response = conn.send(&request, version, budget(rebalance_wait, deadline)).await?;
        if let Some(error) = ResponseError::try_from_code(response.error_code) {
            return Err(GroupError::Broker { api: "SyncGroup", group, error, message: None });
        }
        Ok(JoinResult {
            generation,
            member_id: self.member_id.clone(),
            leader_id,
            protocol,
            assignment: response.assignment,
        })
    }

    /// Records a completed join and starts its heartbeat task.
    fn joined(&mut self, result: JoinResult) -> JoinResult {
        self.generation = result.generation;
        self.shared.clear();
        tracing::info!(
            "joined group {} in generation {} as {} (leader {}{}, protocol {}, {} assignment bytes)",
            self.config.group_id,
            result.generation,
            result.member_id,
            result.leader_id,
            if result.leader_id == result.member_id { ", this member" } else { "" },
            result.protocol,
            result.assignment.len()
        );
        let heartbeat = Heartbeat {
            config: self.config.clone(),
            generation: result.generation,
            member_id: result.member_id.clone(),
            coordinator: self.coordinator.as_ref().map(|c| c.addr().to_string()),
            shared: self.shared.clone(),
            events: self.events_tx.clone(),
        };
        self.heartbeat = Some(heartbeat.spawn());
        result
    }

    /// Leaves the group (LeaveGroup, best effort with a short timeout) and stops the heartbeats.
    pub async fn leave(&mut self) {
        self.stop_heartbeat().await;
        if !self.member_id.is_empty() {
            let deadline = Instant::now() + LEAVE_TIMEOUT.min(self.config.request_timeout);
            match self.send_leave(deadline).await {
                Ok(()) => tracing::info!("left group {} as {}", self.config.group_id, self.member_id),
                Err(err) => tracing::info!("leaving group {} failed (ignored): {err}", self.config.group_id),
            }
        }
        self.member_id.clear();
        self.generation = -1;
        self.coordinator = None;
        self.shared.set_needs_rejoin();
    }

    async fn send_leave(&mut self, deadline: Instant) -> Result<(), GroupError> {
        let config = &self.config;
        let conn = coordinator_connection(&mut self.coordinator, config, &mut self.next_bootstrap, deadline).await?;
        let version = conn.version_for::<LeaveGroupRequest>(0)?;
        let group = GroupId(str_bytes(&config.group_id));
        let request = if version >= 3 {
            let mut member = MemberIdentity::default().with_member_id(str_bytes(&self.member_id));
            if version >= 5 {
                member = member.with_reason(Some(StrBytes::from_static_str("the worker is stopping")));
            }
            LeaveGroupRequest::default().with_group_id(group).with_members(vec![member])
        } else {
            LeaveGroupRequest::default().with_group_id(group).with_member_id(str_bytes(&self.member_id))
        };
        let response = conn.send(&request, version, budget(config.request_timeout, deadline)).await?;
        let code = std::iter::once(response.error_code)
            .chain(response.members.iter().map(|m| m.error_code))
            .find(|&c| c != 0 && c != ResponseError::UnknownMemberId.code());
        match code.and_then(ResponseError::try_from_code) {
            None => Ok(()),
            Some(error) => {
                Err(GroupError::Broker { api: "LeaveGroup", group: config.group_id.clone(), error, message: None })
            }
        }
    }
}
