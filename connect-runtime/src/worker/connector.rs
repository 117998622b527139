//! A connector instance on a thread of its own (Kafka Connect's `WorkerConnector`).
//!
//! The herder never calls connector code itself: it sends this thread requests (`task_configs`, stop) and reads the
//! answers on its next tick, so a connector whose `start`, `task_configs` or `stop` blocks never holds up the
//! herder, its REST answers or the other connectors. The thread reports the connector's RUNNING or FAILED status
//! itself, unless the herder stopped it in the meantime; a connector that does not stop within
//! `task.shutdown.graceful.timeout.ms` is abandoned: its thread is left behind and nothing it returns is used.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use connect_api::abi::ConnectorContextApi;
use connect_api::{Config, ConnectError};

use crate::metrics::ConnectMetrics;
use crate::plugins::Plugin;
use crate::worker::status::{State, StatusBoard, StatusKey};

/// What the connector thread tells the herder.
#[derive(Debug)]
pub enum ConnectorEvent {
    /// `start` returned successfully: the connector runs and can generate task configurations.
    Started,
    /// The answer to [`WorkerConnector::request_task_configs`].
    TaskConfigs(Result<Vec<Config>, ConnectError>),
}

/// Whether a task-configuration request could be sent.
#[derive(Debug, PartialEq, Eq)]
pub enum Request {
    /// Sent; the answer comes as [`ConnectorEvent::TaskConfigs`].
    Sent,
    /// Not now: the connector is still starting, or a request is outstanding. Ask again later.
    Busy,
    /// Never: the connector failed to start or is gone.
    Gone,
}

enum Command {
    TaskConfigs(usize),
    Stop,
}

/// Set when the herder stops the connector; guards status reports so that a late `start` never overwrites the
/// status the herder recorded.
#[derive(Default)]
struct Stopping(Mutex<bool>);

impl Stopping {
    /// Runs `report` unless the connector is stopping; false when it is.
    fn report(&self, report: impl FnOnce()) -> bool {
        let stopping = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if !*stopping {
            report();
        }
        !*stopping
    }

    fn set(&self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = true;
    }
}

/// A running connector instance, driven from the herder.
pub struct WorkerConnector {
    name: String,
    commands: mpsc::Sender<Command>,
    events: mpsc::Receiver<ConnectorEvent>,
    stopping: Arc<Stopping>,
    done: mpsc::Receiver<()>,
    thread: Option<JoinHandle<()>>,
    started: bool,
    pending: bool,
}

impl WorkerConnector {
    /// Creates and starts an instance of `plugin` named `name` on a new thread. Its status becomes RUNNING when
    /// `start` returns, FAILED when it fails.
    pub fn start(
        name: &str,
        plugin: Arc<Plugin>,
        config: Config,
        context: impl ConnectorContextApi + 'static,
        status: Arc<StatusBoard>,
        metrics: Arc<ConnectMetrics>,
    ) -> Result<WorkerConnector, ConnectError> {
        let (commands, inbox) = mpsc::channel();
        let (outbox, events) = mpsc::channel();
        let (done_tx, done) = mpsc::channel();
        let stopping = Arc::new(Stopping::default());
        let thread_stopping = stopping.clone();
        let thread_name = name.to_string();
        let thread = std::thread::Builder::new()
            .name(format!("connector-{name}"))
            .spawn(move || {
                let span = tracing::info_span!("connector", connector = %thread_name);
                let _entered = span.enter();
                run(&thread_name, &plugin, config, context, &status, &metrics, &thread_stopping, inbox, outbox);
                let _ = done_tx.send(());
            })
            .map_err(|e| ConnectError::new(format!("cannot start a thread for connector {name}: {e}")))?;
        Ok(WorkerConnector {
            name: name.to_string(),
            commands,
            events,
            stopping,
            done,
            thread: Some(thread),
            started: false,
            pending: false,
        })
    }

    /// The events since the last call, in order.
    pub fn poll(&mut self) -> Vec<ConnectorEvent> {
        let events: Vec<ConnectorEvent> = self.events.try_iter().collect();
        for event in &events {
            match event {
                ConnectorEvent::Started => self.started = true,
                ConnectorEvent::TaskConfigs(_) => self.pending = false,
            }
        }
        events
    }

    /// Asks for the task configurations of at most `max_tasks` tasks.
    pub fn request_task_configs(&mut self, max_tasks: usize) -> Request {
        if !self.started {
            let finished = matches!(self.done.try_recv(), Ok(()) | Err(mpsc::TryRecvError::Disconnected));
            return if finished { Request::Gone } else { Request::Busy };
        }
        if self.pending {
            return Request::Busy;
        }
        if self.commands.send(Command::TaskConfigs(max_tasks)).is_err() {
            return Request::Gone;
        }
        self.pending = true;
        Request::Sent
    }

    /// Stops the connector and waits up to `timeout`; false when it did not stop in time (it is then abandoned).
    /// The caller records the status that follows.
    pub fn stop(self, timeout: Duration) -> bool {
        self.signal_stop();
        self.wait(timeout)
    }

    /// Tells the connector to stop, without waiting: from now on it reports no status.
    pub fn signal_stop(&self) {
        self.stopping.set();
        let _ = self.commands.send(Command::Stop);
    }

    /// Waits up to `timeout` for a connector told to stop; false when it did not stop (it is then abandoned).
    pub fn wait(mut self, timeout: Duration) -> bool {
        match self.done.recv_timeout(timeout) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                if let Some(thread) = self.thread.take() {
                    let _ = thread.join();
                }
                true
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                tracing::error!("Graceful stop of connector {} failed.", self.name);
                tracing::warn!(
                    "connector {} is abandoned: its thread is blocked in the connector and is left behind",
                    self.name
                );
                false
            }
        }
    }
}

/// The connector thread: start, then serve requests until told to stop.
#[allow(clippy::too_many_arguments)]
fn run(
    name: &str,
    plugin: &Plugin,
    config: Config,
    context: impl ConnectorContextApi + 'static,
    status: &StatusBoard,
    metrics: &ConnectMetrics,
    stopping: &Stopping,
    inbox: mpsc::Receiver<Command>,
    outbox: mpsc::Sender<ConnectorEvent>,
) {
    let key = StatusKey::Connector(name.to_string());
    let started = plugin.new_connector().and_then(|mut instance| {
        instance.start(context, &config)?;
        Ok(instance)
    });
    metrics.record_connector_startup(started.is_ok());
    let mut instance = match started {
        Ok(instance) => instance,
        Err(err) => {
            stopping.report(|| status.set(key, State::Failed, Some(err.status_trace())));
            return;
        }
    };
    if stopping.report(|| status.set(key, State::Running, None)) {
        let _ = outbox.send(ConnectorEvent::Started);
        while let Ok(Command::TaskConfigs(max_tasks)) = inbox.recv() {
            let configs = instance.task_configs(max_tasks);
            if outbox.send(ConnectorEvent::TaskConfigs(configs)).is_err() {
                break;
            }
        }
    }
    if let Err(err) = instance.stop() {
        tracing::warn!("connector {name} failed to stop cleanly: {err}");
    }
}
