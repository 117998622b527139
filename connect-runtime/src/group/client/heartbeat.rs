//! The heartbeat task: keeps this member's session alive between rebalances, on its own connection to the
//! coordinator, and reports what the herder must react to: a rebalance, being fenced out, or losing the coordinator.
//!
//! It never rejoins by itself; it raises `needs_rejoin` and sends events. Losing the coordinator is reported once,
//! about one heartbeat interval after a heartbeat was missed and always before the session times out, so that the
//! worker stops its work before the coordinator hands it to someone else (Kafka Connect's KAFKA-9184 behaviour).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::messages::{GroupId, HeartbeatRequest};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use super::coordinator::{budget, find_coordinator};
use super::wire::Connection;
use super::{GroupConfig, GroupError, MemberEvent};

/// State the heartbeat task shares with its `GroupMember`.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) needs_rejoin: AtomicBool,
    /// The coordinator no longer knows our member id: the next join starts without one.
    pub(crate) reset_member_id: AtomicBool,
}

impl Shared {
    pub(crate) fn set_needs_rejoin(&self) {
        self.needs_rejoin.store(true, Ordering::Release);
    }

    pub(crate) fn needs_rejoin(&self) -> bool {
        self.needs_rejoin.load(Ordering::Acquire)
    }

    pub(crate) fn take_reset_member_id(&self) -> bool {
        self.reset_member_id.swap(false, Ordering::AcqRel)
    }

    pub(crate) fn clear(&self) {
        self.needs_rejoin.store(false, Ordering::Release);
        self.reset_member_id.store(false, Ordering::Release);
    }
}

/// How long without a successful heartbeat before the coordinator counts as lost: one heartbeat interval past the
/// missed heartbeat (at least a second, so one slow answer is not a loss), never past the session timeout.
pub(crate) fn lost_after(config: &GroupConfig) -> Duration {
    (config.heartbeat_interval * 2).max(Duration::from_secs(1)).min(config.session_timeout)
}

/// How long one heartbeat attempt (connecting and finding the coordinator included) may take.
fn attempt_timeout(config: &GroupConfig) -> Duration {
    config.heartbeat_interval.max(Duration::from_secs(1)).min(config.request_timeout)
}

/// The pause before trying again after a failed attempt.
fn retry_backoff(config: &GroupConfig) -> Duration {
    config.heartbeat_interval.clamp(Duration::from_millis(50), Duration::from_secs(1))
}

/// What one heartbeat attempt found.
enum Beat {
    /// The coordinator knows us in this generation; `rebalance` when it is preparing a new one.
    Alive { rebalance: bool },
    /// The coordinator no longer accepts us in this generation.
    Fenced(ResponseError),
    /// No usable answer (connection, coordinator moved, unexpected error).
    Failed(String),
}

/// One member's heartbeats for one generation.
pub(crate) struct Heartbeat {
    pub(crate) config: GroupConfig,
    pub(crate) generation: i32,
    pub(crate) member_id: String,
    /// Where the coordinator was last seen; `None` to ask the bootstrap servers.
    pub(crate) coordinator: Option<String>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) events: UnboundedSender<MemberEvent>,
}

impl Heartbeat {
    pub(crate) fn spawn(self) -> JoinHandle<()> {
        tokio::spawn(HeartbeatTask { hb: self, conn: None, next_bootstrap: 0 }.run())
    }
}

struct HeartbeatTask {
    hb: Heartbeat,
    conn: Option<Connection>,
    next_bootstrap: usize,
}

impl HeartbeatTask {
    async fn run(mut self) {
        let interval = self.hb.config.heartbeat_interval;
        let lost_after = lost_after(&self.hb.config);
        let mut last_success = Instant::now();
        let mut lost = false;
        let mut rebalance_reported = false;
        let mut next = last_success + interval;
        loop {
            // Sleep until the next heartbeat is due, waking at the lost deadline if that comes first.
            loop {
                let lost_at = last_success + lost_after;
                let wake = if lost { next } else { next.min(lost_at) };
                tokio::time::sleep_until(wake.into()).await;
                if !lost && Instant::now() >= lost_at {
                    self.report_lost(last_success);
                    lost = true;
                }
                if Instant::now() >= next {
                    break;
                }
            }
            let started = Instant::now();
            let mut limit = attempt_timeout(&self.hb.config);
            if !lost {
                limit = limit.min((last_success + lost_after).saturating_duration_since(started));
            }
            let limit = limit.max(Duration::from_millis(10));
            let beat = match tokio::time::timeout(limit, self.beat(started + limit)).await {
                Ok(beat) => beat,
                Err(_) => Beat::Failed(format!("no answer within {limit:?}")),
            };
            match beat {
                Beat::Alive { rebalance } => {
                    last_success = Instant::now();
                    if lost {
                        lost = false;
                        tracing::info!("group {}: the coordinator answers heartbeats again", self.hb.config.group_id);
                        self.send(MemberEvent::CoordinatorBack);
                    }
                    if rebalance && !rebalance_reported {
                        rebalance_reported = true;
                        tracing::info!(
                            "group {}: the coordinator is rebalancing (generation {} ends)",
                            self.hb.config.group_id,
                            self.hb.generation
                        );
                        self.hb.shared.set_needs_rejoin();
                        self.send(MemberEvent::RebalanceNeeded);
                    }
                    next = started + interval;
                }
                Beat::Fenced(error) => {
                    if lost {
                        self.send(MemberEvent::CoordinatorBack);
                    }
                    tracing::info!(
                        "group {}: heartbeat of member {} in generation {} answered {error}; must rejoin",
                        self.hb.config.group_id,
                        self.hb.member_id,
                        self.hb.generation
                    );
                    if error == ResponseError::UnknownMemberId {
                        self.hb.shared.reset_member_id.store(true, Ordering::Release);
                    }
                    self.hb.shared.set_needs_rejoin();
                    self.send(MemberEvent::Fenced);
                    return;
                }
                Beat::Failed(reason) => {
                    tracing::debug!("group {}: heartbeat failed: {reason}", self.hb.config.group_id);
                    // The coordinator may have moved or the connection broken: ask the bootstrap servers again.
                    self.conn = None;
                    self.hb.coordinator = None;
                    next = Instant::now() + retry_backoff(&self.hb.config);
                }
            }
            if !lost && Instant::now() >= last_success + lost_after {
                self.report_lost(last_success);
                lost = true;
            }
        }
    }

    fn report_lost(&self, since: Instant) {
        tracing::warn!(
            "group {}: no heartbeat answered for {:?}; the coordinator counts as lost",
            self.hb.config.group_id,
            since.elapsed()
        );
        // The coordinator may evict us meanwhile: whatever happens, the member rejoins once it is back.
        self.hb.shared.set_needs_rejoin();
        self.send(MemberEvent::CoordinatorLost { since });
    }

    fn send(&self, event: MemberEvent) {
        // The member keeps a sender itself, so the channel is open as long as anyone can listen.
        let _ = self.hb.events.send(event);
    }

    async fn connection(&mut self, deadline: Instant) -> Result<&mut Connection, GroupError> {
        if let Some(conn) = self.conn.take().filter(Connection::is_usable) {
            return Ok(self.conn.insert(conn));
        }
        let timeout = budget(self.hb.config.request_timeout, deadline);
        let conn = match &self.hb.coordinator {
            Some(addr) => Connection::open(addr, &self.hb.config.client_id, timeout).await?,
            None => find_coordinator(&self.hb.config, &mut self.next_bootstrap, deadline).await?,
        };
        self.hb.coordinator = Some(conn.addr().to_string());
        Ok(self.conn.insert(conn))
    }

    async fn beat(&mut self, deadline: Instant) -> Beat {
        let request = HeartbeatRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(self.hb.config.group_id.clone())))
            .with_generation_id(self.hb.generation)
            .with_member_id(StrBytes::from_string(self.hb.member_id.clone()));
        let timeout = budget(self.hb.config.request_timeout, deadline);
        let conn = match self.connection(deadline).await {
            Ok(conn) => conn,
            Err(err) => return Beat::Failed(err.to_string()),
        };
        let response = match conn.version_for::<HeartbeatRequest>(0) {
            Ok(version) => conn.send(&request, version, timeout).await,
            Err(err) => Err(err),
        };
        let response = match response {
            Ok(response) => response,
            Err(err) => return Beat::Failed(err.to_string()),
        };
        match ResponseError::try_from_code(response.error_code) {
            None => Beat::Alive { rebalance: false },
            Some(ResponseError::RebalanceInProgress) => Beat::Alive { rebalance: true },
            Some(
                error @ (ResponseError::IllegalGeneration
                | ResponseError::UnknownMemberId
                | ResponseError::FencedInstanceId),
            ) => Beat::Fenced(error),
            Some(
                error @ (ResponseError::NotCoordinator
                | ResponseError::CoordinatorNotAvailable
                | ResponseError::CoordinatorLoadInProgress),
            ) => Beat::Failed(format!("Heartbeat answered {error}")),
            Some(error) => {
                tracing::warn!("group {}: unexpected heartbeat error {error}", self.hb.config.group_id);
                Beat::Failed(format!("Heartbeat answered {error}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinator_is_lost_a_heartbeat_interval_after_a_missed_heartbeat_but_within_the_session() {
        let mut config = GroupConfig::new(vec!["b:9092".into()], "g".into());
        assert_eq!(lost_after(&config), Duration::from_secs(6));
        config.heartbeat_interval = Duration::from_secs(6);
        assert_eq!(lost_after(&config), config.session_timeout);
        config.heartbeat_interval = Duration::from_millis(100);
        assert_eq!(lost_after(&config), Duration::from_secs(1));
        config.session_timeout = Duration::from_millis(500);
        assert_eq!(lost_after(&config), Duration::from_millis(500));
    }
}
