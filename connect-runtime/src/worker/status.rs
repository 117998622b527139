//! Connector and task states, as Kafka Connect reports them (`AbstractStatus.State`).
//!
//! The status board is the single place where a state change is recorded and logged; the standalone herder
//! keeps it in memory, the distributed herder will mirror it to the status topic.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;

/// A connector or task state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    /// Not running anywhere yet.
    Unassigned,
    /// Running.
    Running,
    /// Paused by its target state.
    Paused,
    /// Failed; the trace says why.
    Failed,
    /// Being restarted.
    Restarting,
    /// Stopped (connectors only).
    Stopped,
    /// Deleted.
    Destroyed,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            State::Unassigned => "UNASSIGNED",
            State::Running => "RUNNING",
            State::Paused => "PAUSED",
            State::Failed => "FAILED",
            State::Restarting => "RESTARTING",
            State::Stopped => "STOPPED",
            State::Destroyed => "DESTROYED",
        };
        f.write_str(s)
    }
}

/// A task of a connector: `<connector>-<n>` in logs and statuses.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId {
    /// The connector name.
    pub connector: String,
    /// The task number, from 0.
    pub task: u32,
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.connector, self.task)
    }
}

/// What a status is about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum StatusKey {
    /// A connector instance.
    Connector(String),
    /// A task.
    Task(TaskId),
}

impl fmt::Display for StatusKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusKey::Connector(name) => write!(f, "connector {name}"),
            StatusKey::Task(id) => write!(f, "task {id}"),
        }
    }
}

/// The recorded status of a connector or task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The state.
    pub state: State,
    /// Why it failed, for `FAILED`.
    pub trace: Option<String>,
    /// The worker running it (`host:port`).
    pub worker_id: String,
}

/// Where statuses go besides the board (the status topic in distributed mode).
pub trait StatusSink: Send + Sync {
    /// Records `status` of `key`, written by this worker in group generation `generation`. Must not block long:
    /// it is called from task threads.
    fn put(&self, key: &StatusKey, status: &Status, generation: i32);

    /// Records that task `id` used `topic` (KIP-558 topic tracking); cheap when the topic is already known.
    fn put_topic(&self, _id: &TaskId, _topic: &str) {}
}

/// The statuses of everything this worker runs.
pub struct StatusBoard {
    worker_id: String,
    entries: Mutex<BTreeMap<StatusKey, Status>>,
    generation: AtomicI32,
    sink: Option<Arc<dyn StatusSink>>,
    track_topics: bool,
}

impl StatusBoard {
    /// An empty board for worker `worker_id`.
    pub fn new(worker_id: impl Into<String>) -> Self {
        StatusBoard {
            worker_id: worker_id.into(),
            entries: Mutex::new(BTreeMap::new()),
            generation: AtomicI32::new(-1),
            sink: None,
            track_topics: false,
        }
    }

    /// A board that also writes every change to `sink`.
    pub fn with_sink(worker_id: impl Into<String>, sink: Arc<dyn StatusSink>) -> Self {
        StatusBoard { sink: Some(sink), ..Self::new(worker_id) }
    }

    /// Whether the topics tasks use are recorded in the sink (`topic.tracking.enable`; off by default).
    pub fn track_topics(mut self, enabled: bool) -> Self {
        self.track_topics = enabled;
        self
    }

    /// The group generation written with statuses from now on.
    pub fn set_generation(&self, generation: i32) {
        self.generation.store(generation, Ordering::Release);
    }

    /// Records and logs a state change.
    pub fn set(&self, key: StatusKey, state: State, trace: Option<String>) {
        match (&state, &trace) {
            (State::Failed, Some(trace)) => tracing::error!("{key} is FAILED: {trace}"),
            _ => tracing::info!("{key} is {state}"),
        }
        let status = Status { state, trace, worker_id: self.worker_id.clone() };
        if let Some(sink) = &self.sink {
            sink.put(&key, &status, self.generation.load(Ordering::Acquire));
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if state == State::Destroyed {
            entries.remove(&key);
        } else {
            entries.insert(key, status);
        }
    }

    /// Writes the current status of `key` to the sink again (in the board's current generation), when the status
    /// topic attributes it to another worker or state; `false` when the board has no status for it.
    pub fn reassert(&self, key: &StatusKey) -> bool {
        let Some(status) = self.get(key) else { return false };
        tracing::info!(
            "writing the status of {key} again ({} on this worker): the status topic says otherwise",
            status.state
        );
        if let Some(sink) = &self.sink {
            sink.put(key, &status, self.generation.load(Ordering::Acquire));
        }
        true
    }

    /// Records that task `id` used `topic` (sources after sending, sinks after `put`), when topic tracking is on.
    pub fn topic_used(&self, id: &TaskId, topic: &str) {
        if let Some(sink) = self.sink.as_ref().filter(|_| self.track_topics) {
            sink.put_topic(id, topic);
        }
    }

    /// The current status of `key`.
    pub fn get(&self, key: &StatusKey) -> Option<Status> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).get(key).cloned()
    }

    /// Every recorded status.
    pub fn all(&self) -> Vec<(StatusKey, Status)> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}
