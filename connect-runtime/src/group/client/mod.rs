//! The Kafka group membership client of a distributed worker: finds the group coordinator, joins the group with
//! protocol type "connect" (JoinGroup + SyncGroup, the leader computing assignments through a callback), and keeps
//! the membership alive with a background heartbeat task that reports rebalances, fencing and a lost coordinator.
//!
//! It speaks the classic group protocol over its own tokio TCP connections, with kafka-protocol as the codec. It never
//! interprets protocol metadata or assignments (that is `group::protocol`), and never rejoins on its own: the herder
//! decides when to call `join` again.

mod coordinator;
mod error;
mod heartbeat;
mod join;
mod wire;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use error::GroupError;
use heartbeat::Shared;
use wire::Connection;

/// Group membership settings (Kafka Connect's names: `session.timeout.ms`, `rebalance.timeout.ms`,
/// `heartbeat.interval.ms`, `request.timeout.ms`).
#[derive(Clone, Debug)]
pub struct GroupConfig {
    /// `host:port` of brokers to ask for the coordinator.
    pub bootstrap: Vec<String>,
    pub group_id: String,
    pub client_id: String,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub request_timeout: Duration,
}

impl GroupConfig {
    /// Kafka Connect's defaults: session 10 s, rebalance 60 s, heartbeat 3 s, requests 30 s.
    pub fn new(bootstrap: Vec<String>, group_id: String) -> Self {
        GroupConfig {
            bootstrap,
            group_id,
            client_id: "connect-rs".to_string(),
            session_timeout: Duration::from_secs(10),
            rebalance_timeout: Duration::from_secs(60),
            heartbeat_interval: Duration::from_secs(3),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// A member as the JoinGroup response lists it to the leader.
#[derive(Clone, Debug)]
pub struct JoinedMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    /// The member's metadata for the chosen protocol.
    pub metadata: Bytes,
}

/// What the leader sees when it computes assignments.
#[derive(Debug)]
pub struct LeaderView<'a> {
    pub generation: i32,
    pub leader_id: &'a str,
    /// This member (the leader).
    pub member_id: &'a str,
    pub protocol: &'a str,
    pub members: &'a [JoinedMember],
}

/// A completed join: the generation and this member's assignment (empty when the coordinator gave none, which the
/// caller treats as "rejoin").
#[derive(Clone, Debug)]
pub struct JoinResult {
    pub generation: i32,
    pub member_id: String,
    pub leader_id: String,
    pub protocol: String,
    pub assignment: Bytes,
}

/// What the heartbeat task reports.
#[derive(Debug)]
pub enum MemberEvent {
    /// The coordinator started a rebalance: rejoin.
    RebalanceNeeded,
    /// The coordinator no longer accepts this member in its generation: rejoin.
    Fenced,
    /// No heartbeat got through since `since`: stop all work, it may be handed to others.
    CoordinatorLost { since: Instant },
    /// The coordinator answers again after `CoordinatorLost`: rejoin.
    CoordinatorBack,
}

/// This worker's membership in its group.
pub struct GroupMember {
    config: GroupConfig,
    member_id: String,
    generation: i32,
    /// The connection `join` and `leave` use; the heartbeat task has its own.
    coordinator: Option<Connection>,
    next_bootstrap: usize,
    shared: Arc<Shared>,
    events_tx: mpsc::UnboundedSender<MemberEvent>,
    events_rx: mpsc::UnboundedReceiver<MemberEvent>,
    heartbeat: Option<JoinHandle<()>>,
}

impl GroupMember {
    /// A member that has not joined yet; does no I/O.
    pub fn new(config: GroupConfig) -> Self {
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        GroupMember {
            config,
            member_id: String::new(),
            generation: -1,
            coordinator: None,
            next_bootstrap: 0,
            shared: Arc::new(Shared::default()),
            events_tx,
            events_rx,
            heartbeat: None,
        }
    }

    /// Waits for the next event of the heartbeat task; pending forever when there is none. Cancel-safe.
    pub async fn next_event(&mut self) -> MemberEvent {
        // The member holds a sender itself, so the channel never closes and `recv` never returns `None`.
        match self.events_rx.recv().await {
            Some(event) => {
                self.apply_shared_state();
                event
            }
            None => std::future::pending().await,
        }
    }

    /// The next event of the heartbeat task if one is waiting; never blocks.
    pub fn try_next_event(&mut self) -> Option<MemberEvent> {
        let event = self.events_rx.try_recv().ok()?;
        self.apply_shared_state();
        Some(event)
    }

    /// Whether the member must rejoin: not joined, or a heartbeat saw a rebalance or fencing, or the coordinator was
    /// lost, or `request_rejoin` was called.
    pub fn needs_rejoin(&self) -> bool {
        self.generation < 0 || self.shared.needs_rejoin()
    }

    pub fn request_rejoin(&mut self) {
        self.shared.set_needs_rejoin();
    }

    /// The generation of the last completed join; -1 before joining.
    pub fn generation(&self) -> i32 {
        self.generation
    }

    /// The member id the coordinator gave us; empty before the first join or after the coordinator forgot it.
    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    /// Applies what the heartbeat task recorded: a member id the coordinator forgot is dropped.
    fn apply_shared_state(&mut self) {
        if self.shared.take_reset_member_id() {
            self.member_id.clear();
        }
    }

    async fn stop_heartbeat(&mut self) {
        if let Some(task) = self.heartbeat.take() {
            task.abort();
            let _ = task.await;
        }
        // Events of the stopped task describe a generation that is over.
        while self.events_rx.try_recv().is_ok() {}
        self.apply_shared_state();
    }
}

impl Drop for GroupMember {
    fn drop(&mut self) {
        if let Some(task) = self.heartbeat.take() {
            task.abort();
        }
    }
}
