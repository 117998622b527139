//! The worker: runs connector tasks, each on its own thread, and records their states.
//!
//! Plugin code only ever runs on a task's own thread (or the herder's, for connectors), never on an async
//! runtime thread. A failing or panicking task is marked FAILED with its trace; nothing it does stops the
//! worker or the other tasks.

pub mod connector;
pub mod converters;
pub(crate) mod dlq;
pub(crate) mod errors;
pub mod kafka;
pub(crate) mod producers;
pub(crate) mod sink;
pub(crate) mod source;
pub mod status;
pub(crate) mod topic_creation;
pub(crate) mod transforms;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use connect_api::abi::{PluginKind, TaskCancellerBox};
use connect_api::{Config, ConnectError, ErrorKind};

use crate::config::{ConverterSpec, WorkerConfig};
use crate::metrics::{ConnectMetrics, TaskKind, TaskMetrics, TaskRegistration};
use crate::plugins::{config_to_abi, Plugin, PluginRegistry};
use crate::storage::OffsetStore;
use converters::{new_converter, new_header_converter, Converter, HeaderConverter};
use errors::{ErrorPolicy, RetryWithTolerance};
use producers::ProducerPool;
use sink::{SinkTaskRun, Subscription, WorkerSinkTask};
use source::{HostSourceContext, SourceTaskRun, WorkerSourceTask};
use status::{State, StatusBoard, StatusKey, TaskId};
use transforms::TransformChain;

/// What the worker tells a running task: stop, or pause/resume (Kafka Connect's target states).
#[derive(Default)]
pub(crate) struct TaskControl {
    stop: AtomicBool,
    paused: AtomicBool,
    /// Set when the worker gave up waiting for the task to stop: from then on the task thread is a zombie that
    /// must not send records, commit offsets or report a status (a new instance may already run elsewhere).
    abandoned: AtomicBool,
    /// The plugin's handle to interrupt a blocked `start`, `poll` or `put` (async tasks have one).
    canceller: Mutex<Option<TaskCancellerBox>>,
    /// Run (on a thread of its own) when the task is abandoned: a sink task's consumer leaves its group there, so
    /// that the partitions of a task blocked in `put` go to its replacement at once.
    on_abandon: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl TaskControl {
    fn new(paused: bool) -> Self {
        TaskControl {
            stop: AtomicBool::new(false),
            paused: AtomicBool::new(paused),
            abandoned: AtomicBool::new(false),
            canceller: Mutex::new(None),
            on_abandon: Mutex::new(None),
        }
    }

    /// Keeps the task's canceller; cancels at once when the stop came first.
    fn set_canceller(&self, canceller: Option<TaskCancellerBox>) {
        let mut slot = self.canceller.lock().unwrap_or_else(|p| p.into_inner());
        *slot = canceller;
        if self.stopping() {
            if let Some(canceller) = slot.as_ref() {
                canceller.cancel();
            }
        }
    }

    /// Sets what to do if the task is ever abandoned.
    pub(crate) fn set_on_abandon(&self, hook: Box<dyn FnOnce() + Send>) {
        *self.on_abandon.lock().unwrap_or_else(|p| p.into_inner()) = Some(hook);
    }

    /// Marks the task stopping and interrupts what it is blocked in, if it can be.
    fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        let slot = self.canceller.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(canceller) = slot.as_ref() {
            canceller.cancel();
        }
    }

    /// Whether the task must stop.
    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Whether the task must not poll or deliver records.
    pub(crate) fn paused(&self) -> bool {
        self.paused.load(Ordering::Acquire)
    }

    /// Whether the worker abandoned the task (it ignored `task.shutdown.graceful.timeout.ms`): it must leave
    /// without sending, committing or reporting anything.
    pub(crate) fn abandoned(&self) -> bool {
        self.abandoned.load(Ordering::Acquire)
    }
}

/// A running task: signal it to stop, then wait for it.
pub struct TaskHandle {
    id: TaskId,
    control: Arc<TaskControl>,
    done: mpsc::Receiver<()>,
    thread: Option<JoinHandle<()>>,
    /// Keeps the task's series in the worker's metrics until the handle is dropped.
    _metrics: TaskRegistration,
}

impl TaskHandle {
    /// The task's id.
    pub fn id(&self) -> &TaskId {
        &self.id
    }

    /// Asks the task to stop after its current `poll`/`put`; a task that offers a canceller (async tasks do) is
    /// interrupted in it.
    pub fn signal_stop(&self) {
        self.control.stop();
    }

    /// Pauses (true) or resumes (false) the task: a paused source task stops polling, a paused sink task stops
    /// consuming; both keep their resources and commit what is pending.
    pub fn set_paused(&self, paused: bool) {
        self.control.paused.store(paused, Ordering::Release);
    }

    /// Waits up to `timeout` for the task to finish; `false` if it did not. It is then abandoned, as Kafka
    /// Connect abandons a task that ignores `task.shutdown.graceful.timeout.ms`: its thread is left behind, fenced
    /// (whatever its blocked call returns is dropped: no record is sent, no offset committed, no status reported).
    pub fn wait(mut self, timeout: Duration) -> bool {
        match self.done.recv_timeout(timeout) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                if let Some(thread) = self.thread.take() {
                    let _ = thread.join();
                }
                true
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                self.control.abandoned.store(true, Ordering::Release);
                tracing::error!("Graceful stop of task {} failed.", self.id);
                let hook = self.control.on_abandon.lock().unwrap_or_else(|p| p.into_inner()).take();
                if let Some(hook) = hook {
                    let _ = std::thread::Builder::new().name(format!("abandoned-{}", self.id)).spawn(hook);
                }
                tracing::warn!(
                    "task {} is abandoned: its thread is blocked in the connector and is left behind; \
                     nothing it does from now on is sent, committed or reported",
                    self.id
                );
                false
            }
        }
    }
}

/// Waits for `handles` (already told to stop) within one shared `timeout`, as Kafka Connect's worker does: every
/// task had the whole timeout to stop in parallel; those still running at the deadline are abandoned.
pub fn await_tasks(handles: impl IntoIterator<Item = TaskHandle>, timeout: Duration) {
    let deadline = std::time::Instant::now() + timeout;
    for handle in handles {
        handle.wait(deadline.saturating_duration_since(std::time::Instant::now()));
    }
}

/// Runs tasks for the herder.
pub struct Worker {
    config: Arc<WorkerConfig>,
    registry: Arc<PluginRegistry>,
    offsets: Arc<dyn OffsetStore>,
    status: Arc<StatusBoard>,
    metrics: Arc<ConnectMetrics>,
    /// The producers of the source tasks, shared by tasks with equal producer settings.
    producers: Arc<ProducerPool>,
}

impl Worker {
    /// A worker with its configuration, plugins (for transformations), offset store and status board; its
    /// metrics read that board.
    pub fn new(
        config: Arc<WorkerConfig>,
        registry: Arc<PluginRegistry>,
        offsets: Arc<dyn OffsetStore>,
        status: Arc<StatusBoard>,
    ) -> Self {
        let metrics = Arc::new(ConnectMetrics::new(status.clone()));
        Worker { config, registry, offsets, status, metrics, producers: Arc::default() }
    }

    /// The worker configuration.
    pub fn config(&self) -> &WorkerConfig {
        &self.config
    }

    /// The status board.
    pub fn status(&self) -> &Arc<StatusBoard> {
        &self.status
    }

    /// The worker's metrics (what `GET /metrics` serves).
    pub fn metrics(&self) -> &Arc<ConnectMetrics> {
        &self.metrics
    }

    /// Starts task `id` of a connector on its own thread. Errors before the thread starts (bad converter
    /// settings) are returned and recorded as FAILED; later failures are recorded by the task thread.
    pub fn start_task(
        &self,
        id: TaskId,
        plugin: Arc<Plugin>,
        connector_props: &Config,
        task_config: Config,
    ) -> Result<TaskHandle, ConnectError> {
        self.start_task_in(id, plugin, connector_props, task_config, false)
    }

    /// Like [`Worker::start_task`], starting paused when `paused` (target state PAUSED).
    pub fn start_task_in(
        &self,
        id: TaskId,
        plugin: Arc<Plugin>,
        connector_props: &Config,
        task_config: Config,
        paused: bool,
    ) -> Result<TaskHandle, ConnectError> {
        let key = StatusKey::Task(id.clone());
        self.metrics.record_task_startup_attempt();
        let failed = |e: &ConnectError| {
            self.metrics.record_task_startup(false);
            self.status.set(key.clone(), State::Failed, Some(e.status_trace()));
        };
        // Config providers resolve placeholders in the copies handed to the task only.
        let providers = &self.config.config_providers;
        let (connector_props, mut task_config) = providers
            .resolve(connector_props)
            .and_then(|c| Ok((c, providers.resolve(&task_config)?)))
            .inspect_err(failed)?;
        let connector_props = &connector_props;
        let prepared = self.converters(connector_props).inspect_err(failed)?;
        let policy = ErrorPolicy::from_props(connector_props).inspect_err(failed)?;
        let control = Arc::new(TaskControl::new(paused));
        let (done_tx, done_rx) = mpsc::channel();
        let kind = match plugin.kind() {
            PluginKind::Source => TaskKind::Source,
            PluginKind::Sink => TaskKind::Sink,
        };
        let registration = self.metrics.register_task(id.clone(), kind);
        let parts = TaskParts {
            converters: prepared,
            control: control.clone(),
            metrics: registration.metrics().clone(),
            policy,
            registry: self.registry.clone(),
            connector_props: connector_props.clone(),
        };
        let job: Box<dyn FnOnce() -> Result<(), ConnectError> + Send> = match plugin.kind() {
            PluginKind::Source => self.source_job(id.clone(), plugin, task_config, parts),
            PluginKind::Sink => {
                for key in ["topics", "topics.regex"] {
                    if let Some(v) = connector_props.get(key) {
                        task_config.entry(key.to_string()).or_insert_with(|| v.clone());
                    }
                }
                self.sink_job(id.clone(), plugin, connector_props, task_config, parts)
            }
        };
        let status = self.status.clone();
        let thread_id = id.clone();
        let thread_control = control.clone();
        let thread = std::thread::Builder::new()
            .name(format!("task-{id}"))
            .spawn(move || {
                let span = tracing::info_span!("task", connector = %thread_id.connector, task = thread_id.task);
                let _entered = span.enter();
                let key = StatusKey::Task(thread_id.clone());
                let outcome = job();
                if thread_control.abandoned() {
                    // Another instance may run by now: this one reports nothing.
                    match outcome {
                        Ok(()) => tracing::warn!("abandoned task {thread_id} returned at last; it is discarded"),
                        Err(err) => tracing::warn!("abandoned task {thread_id} returned at last ({err}); discarded"),
                    }
                    let _ = done_tx.send(());
                    return;
                }
                match outcome {
                    Ok(()) => status.set(key, State::Unassigned, None),
                    // A retriable error while stopping is the task's answer to being interrupted, not a failure.
                    Err(err) if thread_control.stopping() && err.kind() == ErrorKind::Retriable => {
                        tracing::debug!("task {thread_id} interrupted while stopping: {err}");
                        status.set(key, State::Unassigned, None)
                    }
                    Err(err) => status.set(key, State::Failed, Some(err.status_trace())),
                }
                let _ = done_tx.send(());
            })
            .map_err(|e| {
                self.metrics.record_task_startup(false);
                ConnectError::new(format!("cannot start a thread for task {id}: {e}"))
            })?;
        Ok(TaskHandle { id, control, done: done_rx, thread: Some(thread), _metrics: registration })
    }

    fn converters(&self, connector_props: &Config) -> Result<Converters, ConnectError> {
        let pick = |prefix: &str, worker: &ConverterSpec| {
            ConverterSpec::from_props(connector_props, prefix).unwrap_or_else(|| worker.clone())
        };
        let key = pick("key.converter", &self.config.key_converter);
        let value = pick("value.converter", &self.config.value_converter);
        let header = pick("header.converter", &self.config.header_converter);
        Ok(Converters {
            key: new_converter(&key.class, &key.settings, true).map_err(|e| e.context("key.converter"))?,
            value: new_converter(&value.class, &value.settings, false).map_err(|e| e.context("value.converter"))?,
            header: new_header_converter(&header.class, &header.settings).map_err(|e| e.context("header.converter"))?,
            classes: ConverterClasses { key: key.class, value: value.class, header: header.class },
        })
    }

    fn source_job(
        &self,
        id: TaskId,
        plugin: Arc<Plugin>,
        task_config: Config,
        parts: TaskParts,
    ) -> Box<dyn FnOnce() -> Result<(), ConnectError> + Send> {
        let config = self.config.clone();
        let offsets = self.offsets.clone();
        let status = self.status.clone();
        let worker_metrics = self.metrics.clone();
        let producers = self.producers.clone();
        Box::new(move || {
            let TaskParts { converters, control, metrics, policy, registry, connector_props } = parts;
            let started = plugin.new_source_task().and_then(|task| {
                control.set_canceller(task.canceller());
                let transforms = TransformChain::build(&connector_props, &registry)?;
                let topic_creator = topic_creation::TopicCreationConfig::from_props(&connector_props)
                    .map_err(crate::config::first_key_error)?
                    .filter(|_| config.topic_creation)
                    .map(|groups| {
                        topic_creation::TopicCreator::new(
                            groups,
                            kafka::admin_config(&config, &id.connector, &connector_props),
                        )
                    })
                    .transpose()?;
                let producer = producers
                    .acquire(&kafka::source_producer_config(&config, &id.connector, &connector_props))
                    .map_err(|e| ConnectError::new(format!("cannot create the producer of task {id}: {e}")))?;
                let mut runner = WorkerSourceTask::new(SourceTaskRun {
                    id: id.clone(),
                    task,
                    producer,
                    key_converter: converters.key,
                    value_converter: converters.value,
                    header_converter: converters.header,
                    converter_classes: converters.classes,
                    transforms,
                    errors: RetryWithTolerance::new(policy, metrics.clone()),
                    topic_creator,
                    offsets: offsets.clone(),
                    flush_interval: config.offset_flush_interval,
                    flush_timeout: config.offset_flush_timeout,
                    control,
                    status: status.clone(),
                    metrics,
                });
                let context =
                    HostSourceContext { connector: id.connector.clone(), offsets, config: config_to_abi(&task_config) };
                runner.start(context, &task_config)?;
                Ok(runner)
            });
            worker_metrics.record_task_startup(started.is_ok());
            started?.execute()
        })
    }

    fn sink_job(
        &self,
        id: TaskId,
        plugin: Arc<Plugin>,
        connector_props: &Config,
        task_config: Config,
        parts: TaskParts,
    ) -> Box<dyn FnOnce() -> Result<(), ConnectError> + Send> {
        let config = self.config.clone();
        let status = self.status.clone();
        let worker_metrics = self.metrics.clone();
        let topics: Vec<String> = connector_props
            .get("topics")
            .map(|t| t.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
        let regex = connector_props.get("topics.regex").map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
        Box::new(move || {
            let subscription = match regex {
                Some(regex) if topics.is_empty() => Subscription::Regex(regex),
                _ => Subscription::Topics(topics),
            };
            let TaskParts { converters, control, metrics, policy, registry, connector_props } = parts;
            let started = plugin.new_sink_task().and_then(|task| {
                control.set_canceller(task.canceller());
                let transforms = TransformChain::build(&connector_props, &registry)?;
                WorkerSinkTask::start(
                    SinkTaskRun {
                        id: id.clone(),
                        task,
                        config: config_to_abi(&task_config),
                        consumer_config: kafka::consumer_config(&config, &id.connector, id.task, &connector_props),
                        subscription,
                        connector_class: plugin.class().to_string(),
                        key_converter: converters.key,
                        value_converter: converters.value,
                        header_converter: converters.header,
                        converter_classes: converters.classes,
                        transforms,
                        errors: RetryWithTolerance::new(policy, metrics.clone()),
                        dlq: dlq::DlqConfig::from_props(&connector_props, &config, &id)?,
                        max_poll_records: kafka::max_poll_records(&config),
                        commit_interval: config.offset_flush_interval,
                        control,
                        status: status.clone(),
                        metrics,
                    },
                    &task_config,
                )
            });
            worker_metrics.record_task_startup(started.is_ok());
            started?.execute()
        })
    }
}

/// What a task thread takes along besides its configuration.
struct TaskParts {
    converters: Converters,
    control: Arc<TaskControl>,
    metrics: Arc<TaskMetrics>,
    policy: ErrorPolicy,
    registry: Arc<PluginRegistry>,
    connector_props: Config,
}

struct Converters {
    key: Box<dyn Converter>,
    value: Box<dyn Converter>,
    header: Box<dyn HeaderConverter>,
    classes: ConverterClasses,
}

/// The class names of a task's converters, as error reports name them.
pub(crate) struct ConverterClasses {
    pub key: String,
    pub value: String,
    pub header: String,
}
