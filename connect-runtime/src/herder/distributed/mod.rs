//! The distributed herder (Kafka Connect's `DistributedHerder`): one loop per worker that keeps the config
//! snapshot current, takes part in the group's rebalances, runs exactly what this worker is assigned, and serves
//! the REST API's requests.
//!
//! The loop runs on its own thread; async pieces (the group member, internal HTTP calls) are driven with the
//! runtime's `block_on`, so heartbeats (on the runtime's workers) go on while the loop starts or stops work. Only
//! the leader writes connector and task configs; a follower forwards. Work is never started from a config
//! snapshot older than the assignment's config offset, and all work stops when the coordinator is lost.

mod membership;
mod offsets;
mod requests;
mod work;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::config::DistributedConfig;
use crate::group::assignor::Assignor;
use crate::group::client::GroupMember;
use crate::group::protocol::ConnectProtocol;
use crate::herder::api::HerderRequest;
use crate::plugins::PluginRegistry;
use crate::storage::kafka::{ClusterConfigState, KafkaConfigStore, KafkaOffsetStore, KafkaStatusStore};
use crate::worker::status::TaskId;
use crate::worker::{TaskHandle, Worker};
use work::RunningConnector;

/// How long one loop iteration waits for a request or a group event before looking at the config topic again.
const TICK: Duration = Duration::from_millis(250);
/// How long a read of the config topic (or the status and offsets topics) before work starts may take.
const CONFIG_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the read of the config topic at each tick may take. Short: REST requests wait for it, and when the
/// broker goes away it times out at every tick until the heartbeat reports the coordinator lost; a read that
/// times out is simply tried again at the next tick.
const ROUTINE_READ_TIMEOUT: Duration = Duration::from_secs(1);
/// How long status answers come from what was read, without reading the status topic, after a read failed.
const STATUS_READ_BACKOFF: Duration = Duration::from_secs(5);
/// The pause before retrying a failed join.
const JOIN_BACKOFF: Duration = Duration::from_millis(500);

/// The membership this worker holds after its last successful join.
#[derive(Clone, Debug)]
struct Joined {
    member_id: String,
    leader_id: String,
    leader_url: String,
}

impl Joined {
    fn is_leader(&self) -> bool {
        self.member_id == self.leader_id
    }
}

/// What this worker has been assigned (and runs, unless it failed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Allocation {
    connectors: BTreeSet<String>,
    tasks: BTreeSet<TaskId>,
}

/// Everything the distributed herder needs, built by the `connect distributed` command.
pub struct DistributedParts {
    /// The worker configuration.
    pub config: Arc<DistributedConfig>,
    /// The tokio runtime the group member and HTTP calls run on.
    pub runtime: tokio::runtime::Handle,
    /// The plugins.
    pub registry: Arc<PluginRegistry>,
    /// Runs the tasks.
    pub worker: Worker,
    /// The config topic.
    pub configs: Arc<KafkaConfigStore>,
    /// The offsets topic (source offsets of the tasks).
    pub offsets: Arc<KafkaOffsetStore>,
    /// The status topic.
    pub statuses: Arc<KafkaStatusStore>,
    /// REST requests to serve.
    pub requests: mpsc::Receiver<HerderRequest>,
    /// The Kafka cluster id.
    pub cluster_id: String,
    /// Set once the worker has joined its group and applied an assignment (`GET /health`).
    pub ready: Arc<AtomicBool>,
}

/// The herder of one distributed worker.
pub struct DistributedHerder {
    config: Arc<DistributedConfig>,
    runtime: tokio::runtime::Handle,
    registry: Arc<PluginRegistry>,
    worker: Worker,
    configs: Arc<KafkaConfigStore>,
    offsets: Arc<KafkaOffsetStore>,
    statuses: Arc<KafkaStatusStore>,
    requests: mpsc::Receiver<HerderRequest>,
    cluster_id: String,
    ready: Arc<AtomicBool>,
    http: reqwest::Client,
    /// The config topic's offset when this worker started: restart requests and cluster log levels written
    /// before it are history, not orders (as in Kafka Connect).
    startup_config_offset: i64,

    member: GroupMember,
    mode: ConnectProtocol,
    /// The protocol the group chose in the last join (`sessioned` turns request signing on).
    group_protocol: Option<ConnectProtocol>,
    assignor: Option<Box<dyn Assignor>>,
    snapshot: ClusterConfigState,
    joined: Option<Joined>,
    rejoin_requested: bool,
    /// The generation of the last assignment applied, plus one; sent in this worker's metadata (0: none yet).
    applied_stamp: i32,
    scheduled_rebalance: Option<Instant>,
    /// Set while the coordinator is unreachable: no work runs then.
    coordinator_lost: bool,
    /// When a read of the status topic for a REST answer last failed (cleared by a successful one).
    status_read_failed: Option<Instant>,

    allocation: Allocation,
    connectors: BTreeMap<String, RunningConnector>,
    tasks: BTreeMap<TaskId, TaskHandle>,
    /// Connectors whose task configs must be generated again.
    reconfigure: BTreeSet<String>,
}

impl DistributedHerder {
    /// A herder that has not joined its group yet.
    pub fn new(parts: DistributedParts) -> Result<Self, String> {
        let DistributedParts {
            config,
            runtime,
            registry,
            worker,
            configs,
            offsets,
            statuses,
            requests,
            cluster_id,
            ready,
        } = parts;
        let mode = ConnectProtocol::from_config(&config.connect_protocol).map_err(|e| e.to_string())?;
        let member = GroupMember::new(membership::group_config(&config));
        let snapshot = configs.snapshot();
        let http =
            crate::rest::client::http_client(&config.rest, crate::rest::REQUEST_TIMEOUT).map_err(|e| e.to_string())?;
        Ok(DistributedHerder {
            config,
            runtime,
            registry,
            worker,
            configs,
            offsets,
            statuses,
            requests,
            cluster_id,
            ready,
            startup_config_offset: snapshot.offset,
            http,
            member,
            mode,
            group_protocol: None,
            assignor: None,
            snapshot,
            joined: None,
            rejoin_requested: true,
            applied_stamp: 0,
            scheduled_rebalance: None,
            coordinator_lost: false,
            status_read_failed: None,
            allocation: Allocation::default(),
            connectors: BTreeMap::new(),
            tasks: BTreeMap::new(),
            reconfigure: BTreeSet::new(),
        })
    }

    /// Runs until `stop` is set, then stops all work and leaves the group.
    pub fn run(mut self, stop: Arc<AtomicBool>) {
        tracing::info!(
            "distributed worker {} joining group {} (protocol {})",
            self.config.advertised_url,
            self.config.group_id,
            self.mode
        );
        while !stop.load(Ordering::Acquire) {
            self.tick();
        }
        tracing::info!("stopping: tasks commit their offsets, then the worker leaves the group");
        self.stop_all_work();
        let runtime = self.runtime.clone();
        runtime.block_on(self.member.leave());
    }

    fn tick(&mut self) {
        // Heartbeat events that arrived meanwhile first: a lost coordinator must stop the work before a rejoin is
        // tried (the attempt could otherwise keep it running for a whole join deadline).
        while let Some(event) = self.member.try_next_event() {
            self.handle_member_event(event);
        }
        if self.coordinator_lost {
            // Nothing runs until the coordinator answers again (the heartbeat task reports it), and the config topic
            // is not read meanwhile: with the broker away every read would wait its whole timeout, and the REST
            // requests this loop serves (from the last snapshot) with it. The rejoin reads the topic to its end.
        } else {
            self.refresh_configs(ROUTINE_READ_TIMEOUT);
            while let Some(event) = self.member.try_next_event() {
                self.handle_member_event(event);
            }
            if !self.coordinator_lost && self.needs_rebalance() {
                self.rebalance();
            }
        }
        self.maintain_session_key();
        self.reconfigure_connectors();
        self.wait_for_events(TICK);
    }

    fn needs_rebalance(&self) -> bool {
        self.joined.is_none()
            || self.rejoin_requested
            || self.member.needs_rejoin()
            || self.scheduled_rebalance.is_some_and(|at| Instant::now() >= at)
    }

    /// The leader of a `sessioned` group distributes a session key through the config topic and replaces it
    /// when it is older than `inter.worker.key.ttl.ms` (or of another algorithm than configured), as Kafka
    /// Connect's leader does.
    fn maintain_session_key(&mut self) {
        if !self.is_leader() || self.rejoin_requested || self.group_protocol != Some(ConnectProtocol::Sessioned) {
            return;
        }
        let settings = &self.config.inter_worker;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        let ttl = i64::try_from(settings.key_ttl.as_millis()).unwrap_or(i64::MAX);
        let current = self.snapshot.session_key.as_ref().is_some_and(|key| {
            key.algorithm == settings.key_generation_algorithm.name()
                && key.creation_timestamp.saturating_add(ttl) > now
        });
        if current {
            return;
        }
        match crate::rest::signature::generate_key(settings.key_generation_algorithm, settings.key_size_bits) {
            Ok(key) => match self.configs.put_session_key(&key) {
                Ok(()) => {
                    tracing::info!("distributed a new session key ({})", key.algorithm);
                    self.refresh_configs(CONFIG_READ_TIMEOUT);
                }
                Err(err) => tracing::warn!("cannot write a new session key: {err}"),
            },
            Err(err) => tracing::error!("{err}"),
        }
    }

    fn is_leader(&self) -> bool {
        self.joined.as_ref().is_some_and(Joined::is_leader)
    }

    fn leader_url(&self) -> Option<String> {
        self.joined.as_ref().map(|j| j.leader_url.clone()).filter(|u| !u.is_empty())
    }
}
