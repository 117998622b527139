//! What the REST API asks of a herder, and the shapes of its answers (Kafka Connect's REST entities).
//!
//! Requests are queued to the herder's own loop with a reply channel, as Kafka Connect queues REST actions on its
//! herder thread; the REST layer never touches cluster state itself.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::worker::status::TaskId;

/// Why a herder request failed; the REST layer maps each variant to Kafka Connect's status code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HerderError {
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 409 on create.
    #[error("{0}")]
    AlreadyExists(String),
    /// 400, e.g. an invalid configuration.
    #[error("{0}")]
    BadRequest(String),
    /// 409: a rebalance is under way or the configuration is stale.
    #[error("{0}")]
    Conflict(String),
    /// The request must run on the leader, reachable at this URL (none while a rebalance is under way).
    #[error("not the leader")]
    NotLeader {
        /// The leader's REST URL.
        leader_url: Option<String>,
    },
    /// 403, e.g. topic tracking is disabled.
    #[error("{0}")]
    Forbidden(String),
    /// 503: the worker is still starting.
    #[error("{0}")]
    Unavailable(String),
    /// 500.
    #[error("{0}")]
    Internal(String),
}

/// The message of Kafka Connect's 409 when a request cannot be forwarded.
pub const CONFLICT_REBALANCE: &str =
    "Cannot complete request because of a conflicting operation (e.g. worker rebalance)";
/// The message of Kafka Connect's 409 when the leader is unknown.
pub const CONFLICT_NO_LEADER: &str =
    "Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway.";
/// The message of Kafka Connect's 409 when the configuration changed meanwhile.
pub const CONFLICT_STALE: &str =
    "Cannot complete request momentarily due to stale configuration (typically caused by a concurrent config change)";

/// The result of a herder request.
pub type HerderResult<T> = Result<T, HerderError>;

/// A task id as the REST API writes it: `{"connector": "c", "task": 0}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorTaskId {
    /// Connector name.
    pub connector: String,
    /// Task number.
    pub task: u32,
}

impl From<&TaskId> for ConnectorTaskId {
    fn from(id: &TaskId) -> Self {
        ConnectorTaskId { connector: id.connector.clone(), task: id.task }
    }
}

/// `ConnectorInfo`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectorInfo {
    /// Name.
    pub name: String,
    /// Configuration as stored.
    pub config: BTreeMap<String, String>,
    /// Task ids.
    pub tasks: Vec<ConnectorTaskId>,
    /// `source`, `sink` or `unknown`.
    #[serde(rename = "type")]
    pub connector_type: String,
}

/// The state of a connector or task in `ConnectorStateInfo`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateInfo {
    /// State name (`RUNNING`...).
    pub state: String,
    /// `host:port` of the worker.
    pub worker_id: String,
    /// Failure trace, left out when empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

/// A task's state in `ConnectorStateInfo`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskStateInfo {
    /// Task number.
    pub id: u32,
    /// State name.
    pub state: String,
    /// Worker.
    pub worker_id: String,
    /// Failure trace, left out when empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

/// `ConnectorStateInfo`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectorStateInfo {
    /// Name.
    pub name: String,
    /// The connector instance's state.
    pub connector: StateInfo,
    /// The tasks' states, sorted by id.
    pub tasks: Vec<TaskStateInfo>,
    /// `source`, `sink` or `unknown`.
    #[serde(rename = "type")]
    pub connector_type: String,
}

/// `TaskInfo` (`GET /connectors/{name}/tasks`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskInfo {
    /// Task id.
    pub id: ConnectorTaskId,
    /// Task configuration.
    pub config: BTreeMap<String, String>,
}

/// The target state asked for at creation (`initial_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitialState {
    /// `RUNNING`.
    Running,
    /// `PAUSED`.
    Paused,
    /// `STOPPED`.
    Stopped,
}

/// One partition's offset in `GET/PATCH /connectors/{name}/offsets`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectorOffset {
    /// The source partition, or `{"kafka_topic":..,"kafka_partition":..}` for sink connectors.
    pub partition: serde_json::Map<String, serde_json::Value>,
    /// The offset (`{"kafka_offset":..}` for sink connectors); `null` in a PATCH resets the partition.
    pub offset: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `ConnectorOffsets`: `{"offsets":[...]}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectorOffsets {
    /// The partitions and their offsets.
    pub offsets: Vec<ConnectorOffset>,
}

/// Outcome of a config write: whether the connector was created, and its info.
#[derive(Clone, Debug, PartialEq)]
pub struct Created {
    /// True when the connector did not exist.
    pub created: bool,
    /// The connector as stored.
    pub info: ConnectorInfo,
}

/// A request to the herder, with its reply channel.
#[derive(Debug)]
pub enum HerderRequest {
    /// The Kafka cluster id.
    ClusterId(oneshot::Sender<HerderResult<String>>),
    /// Connector names.
    Connectors(oneshot::Sender<HerderResult<Vec<String>>>),
    /// `ConnectorInfo` of one connector.
    ConnectorInfo(String, oneshot::Sender<HerderResult<ConnectorInfo>>),
    /// Create or replace a connector configuration.
    PutConnectorConfig {
        /// Connector name.
        name: String,
        /// Full configuration (including `name`).
        config: BTreeMap<String, String>,
        /// `false` for `POST /connectors` (409 if it exists).
        allow_replace: bool,
        /// Target state at creation.
        initial_state: Option<InitialState>,
        /// Reply.
        reply: oneshot::Sender<HerderResult<Created>>,
    },
    /// Delete a connector.
    DeleteConnector(String, oneshot::Sender<HerderResult<()>>),
    /// Status of a connector and its tasks.
    ConnectorStatus(String, oneshot::Sender<HerderResult<ConnectorStateInfo>>),
    /// Task configurations.
    TaskConfigs(String, oneshot::Sender<HerderResult<Vec<TaskInfo>>>),
    /// Pause a connector.
    Pause(String, oneshot::Sender<HerderResult<()>>),
    /// Resume a connector.
    Resume(String, oneshot::Sender<HerderResult<()>>),
    /// Merge a patch into a connector's configuration (a `None` value removes the key).
    PatchConnectorConfig {
        /// Connector name.
        name: String,
        /// The keys to set or (with `None`) remove.
        patch: BTreeMap<String, Option<String>>,
        /// Reply: the connector as stored.
        reply: oneshot::Sender<HerderResult<ConnectorInfo>>,
    },
    /// Stop a connector: no task configs, target state `STOPPED`.
    Stop(String, oneshot::Sender<HerderResult<()>>),
    /// Restart a connector instance and, with `include_tasks`, its tasks (only the failed ones with
    /// `only_failed`). The reply holds the plan (instances to restart marked `RESTARTING`) unless only the
    /// connector instance was asked for.
    RestartConnector {
        /// Connector name.
        name: String,
        /// Restart the tasks too.
        include_tasks: bool,
        /// Restart only failed instances.
        only_failed: bool,
        /// Reply.
        reply: oneshot::Sender<HerderResult<Option<ConnectorStateInfo>>>,
    },
    /// The topics a connector has used (`status-topic-` records); `Forbidden` when topic tracking is disabled.
    ConnectorTopics(String, oneshot::Sender<HerderResult<Vec<String>>>),
    /// Forget the topics a connector has used.
    ResetConnectorTopics(String, oneshot::Sender<HerderResult<()>>),
    /// The offsets of a connector (KIP-875).
    ConnectorOffsets(String, oneshot::Sender<HerderResult<ConnectorOffsets>>),
    /// Alter (`Some`) or reset (`None`) a stopped connector's offsets; the reply is the success message.
    ModifyOffsets {
        /// Connector name.
        name: String,
        /// The offsets to write; `None` resets all.
        offsets: Option<ConnectorOffsets>,
        /// Reply.
        reply: oneshot::Sender<HerderResult<String>>,
    },
    /// Set a log level on every worker (`scope=cluster`): written to the config topic.
    SetClusterLogLevel {
        /// Logger namespace.
        namespace: String,
        /// Level name.
        level: String,
        /// Reply.
        reply: oneshot::Sender<HerderResult<()>>,
    },
    /// Whether the worker has completed start-up (joined its group and read the config topic).
    Health(oneshot::Sender<HerderResult<()>>),
    /// Restart one task.
    RestartTask(TaskId, oneshot::Sender<HerderResult<()>>),
    /// Internal (worker to leader): store task configs a connector's owner generated.
    PutTaskConfigs {
        /// Connector name.
        name: String,
        /// The task configurations, task 0 first.
        configs: Vec<BTreeMap<String, String>>,
        /// The request's signature headers and raw body, checked against the session key (KIP-507).
        signed: SignedRequest,
        /// Reply.
        reply: oneshot::Sender<HerderResult<()>>,
    },
}

/// An internal request as received: its headers (for the signature) and its raw body.
#[derive(Clone, Debug, Default)]
pub struct SignedRequest {
    /// The request headers.
    pub headers: axum::http::HeaderMap,
    /// The body exactly as received.
    pub body: bytes::Bytes,
}

/// The REST layer's handle on a herder.
#[derive(Clone, Debug)]
pub struct HerderHandle {
    requests: mpsc::Sender<HerderRequest>,
    ready: Arc<AtomicBool>,
}

impl HerderHandle {
    /// A handle sending to `requests`, and the receiving end for the herder.
    pub fn channel() -> (HerderHandle, mpsc::Receiver<HerderRequest>) {
        let (tx, rx) = mpsc::channel(256);
        (HerderHandle { requests: tx, ready: Arc::new(AtomicBool::new(false)) }, rx)
    }

    /// The flag the herder sets once it has completed start-up (`GET /health` answers 503 until then).
    pub fn readiness(&self) -> Arc<AtomicBool> {
        self.ready.clone()
    }

    /// Whether the herder has completed start-up.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Sends a request built around a fresh reply channel and waits for the answer.
    pub async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<HerderResult<T>>) -> HerderRequest,
    ) -> HerderResult<T> {
        let (tx, rx) = oneshot::channel();
        self.requests.send(make(tx)).await.map_err(|_| HerderError::Internal("the herder has stopped".to_string()))?;
        rx.await.map_err(|_| HerderError::Internal("the herder dropped the request".to_string()))?
    }
}
