//! One connector of the standalone herder: its configuration, its target state, its instance, the task
//! configurations it generated (kept, as Kafka Connect's config store keeps them) and its running tasks.
//!
//! The instance runs only in target state STARTED; tasks run paused in PAUSED; STOPPED has no instance, no task
//! configurations and no tasks (KIP-875), so offsets can be changed safely. The instance runs on a thread of its own
//! ([`WorkerConnector`]): the herder asks it for task configurations and applies the answer on a later tick, so a
//! connector that blocks never blocks the herder.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use connect_api::{Config, ConnectError};

use crate::config::ConnectorConfig;
use crate::herder::HostConnectorContext;
use crate::plugins::Plugin;
use crate::storage::kafka::TargetState;
use crate::worker::connector::{ConnectorEvent, Request, WorkerConnector};
use crate::worker::status::{State, StatusKey, TaskId};
use crate::worker::{TaskHandle, Worker};

pub(super) struct Connector {
    pub(super) config: ConnectorConfig,
    pub(super) plugin: Arc<Plugin>,
    pub(super) target: TargetState,
    instance: Option<WorkerConnector>,
    /// Task configurations are wanted from the instance (it started, or asked for a reconfiguration).
    wants_task_configs: bool,
    pub(super) task_configs: Vec<Config>,
    tasks: BTreeMap<u32, TaskHandle>,
    reconfigure: Arc<AtomicBool>,
}

impl Connector {
    pub(super) fn new(config: ConnectorConfig, plugin: Arc<Plugin>, target: TargetState) -> Self {
        Connector {
            config,
            plugin,
            target,
            instance: None,
            wants_task_configs: false,
            task_configs: Vec::new(),
            tasks: BTreeMap::new(),
            reconfigure: Arc::new(AtomicBool::new(false)),
        }
    }

    fn name(&self) -> &str {
        &self.config.name
    }

    fn key(&self) -> StatusKey {
        StatusKey::Connector(self.config.name.clone())
    }

    fn task_id(&self, task: u32) -> TaskId {
        TaskId { connector: self.config.name.clone(), task }
    }

    /// Brings the connector to its target state from nothing running: the instance (STARTED; its tasks start once
    /// it generated their configurations), or the kept tasks, paused (PAUSED). A connector that cannot even be
    /// started is recorded as FAILED and the error returned.
    pub(super) fn start(&mut self, worker: &Worker) -> Result<(), ConnectError> {
        match self.target {
            TargetState::Started => self.start_instance(worker).inspect_err(|err| {
                worker.status().set(self.key(), State::Failed, Some(err.status_trace()));
            }),
            TargetState::Paused => {
                worker.status().set(self.key(), State::Paused, None);
                self.start_missing_tasks(worker);
                Ok(())
            }
            TargetState::Stopped => {
                worker.status().set(self.key(), State::Stopped, None);
                Ok(())
            }
        }
    }

    /// Starts the instance on its own thread; it reports RUNNING or FAILED itself, and its task configurations
    /// are asked for once it has started.
    fn start_instance(&mut self, worker: &Worker) -> Result<(), ConnectError> {
        let context = HostConnectorContext::new(self.name(), self.reconfigure.clone(), worker.status().clone());
        let props = worker.config().config_providers.resolve(&self.config.props).inspect_err(|_| {
            worker.metrics().record_connector_startup(false);
        })?;
        let instance = WorkerConnector::start(
            self.name(),
            self.plugin.clone(),
            props,
            context,
            worker.status().clone(),
            worker.metrics().clone(),
        )?;
        self.instance = Some(instance);
        self.wants_task_configs = true;
        Ok(())
    }

    /// Stops the instance, if it runs, and records `state`.
    pub(super) fn stop_instance(&mut self, worker: &Worker, state: State) {
        if let Some(instance) = self.instance.take() {
            instance.stop(worker.config().task_shutdown_timeout);
        }
        self.wants_task_configs = false;
        worker.status().set(self.key(), state, None);
    }

    /// Applies what the instance answered since the last tick and asks it for task configurations when they are
    /// wanted: when it started, or when it requested a reconfiguration.
    pub(super) fn tick(&mut self, worker: &Worker) {
        if self.reconfigure.swap(false, Ordering::AcqRel) {
            tracing::info!("connector {} requested a task reconfiguration", self.config.name);
            self.wants_task_configs = true;
        }
        let events = self.instance.as_mut().map(WorkerConnector::poll).unwrap_or_default();
        for event in events {
            if let ConnectorEvent::TaskConfigs(answer) = event {
                if self.target != TargetState::Started {
                    continue;
                }
                match self.check_task_configs(answer) {
                    Ok(configs) => self.replace_task_configs(worker, configs),
                    Err(err) => worker.status().set(self.key(), State::Failed, Some(err.status_trace())),
                }
            }
        }
        if self.wants_task_configs && self.target == TargetState::Started {
            let max_tasks = tasks_max(&self.config.props);
            match self.instance.as_mut().map(|instance| instance.request_task_configs(max_tasks)) {
                Some(Request::Busy) => {}
                Some(Request::Sent) | Some(Request::Gone) | None => self.wants_task_configs = false,
            }
        }
    }

    fn check_task_configs(&self, answer: Result<Vec<Config>, ConnectError>) -> Result<Vec<Config>, ConnectError> {
        let max_tasks = tasks_max(&self.config.props);
        let name = &self.config.name;
        let configs = answer?;
        if configs.len() > max_tasks {
            return Err(ConnectError::new(format!(
                "The connector {name} has generated {} tasks, which is greater than {max_tasks}, the maximum number of tasks it is configured to create.",
                configs.len()
            )));
        }
        tracing::info!("connector {name} generated {} task configs", configs.len());
        Ok(configs)
    }

    /// Asks a STARTED connector for its task configurations again; tasks whose configurations changed are
    /// restarted when the answer comes (all of them, as Kafka Connect does), the others are resumed.
    pub(super) fn reconfigure_tasks(&mut self) {
        if self.target == TargetState::Started && self.instance.is_some() {
            self.wants_task_configs = true;
        }
    }

    fn replace_task_configs(&mut self, worker: &Worker, configs: Vec<Config>) {
        if configs != self.task_configs {
            self.stop_tasks(worker);
            for task in configs.len() as u32..self.task_configs.len() as u32 {
                worker.status().set(StatusKey::Task(self.task_id(task)), State::Destroyed, None);
            }
            self.task_configs = configs;
        }
        let paused = self.target == TargetState::Paused;
        for task in self.tasks.values() {
            task.set_paused(paused);
        }
        self.start_missing_tasks(worker);
    }

    fn start_missing_tasks(&mut self, worker: &Worker) {
        for task in 0..self.task_configs.len() as u32 {
            if !self.tasks.contains_key(&task) {
                self.start_task(worker, task);
            }
        }
    }

    /// Starts task `task` from its kept configuration (paused when the target state is PAUSED).
    pub(super) fn start_task(&mut self, worker: &Worker, task: u32) {
        let Some(config) = self.task_configs.get(task as usize).cloned() else {
            return;
        };
        let id = self.task_id(task);
        let paused = self.target == TargetState::Paused;
        match worker.start_task_in(id.clone(), self.plugin.clone(), &self.config.props, config, paused) {
            Ok(handle) => {
                self.tasks.insert(task, handle);
            }
            // The worker recorded the failure as the task's status.
            Err(err) => tracing::error!("task {id} could not start: {err}"),
        }
    }

    /// Stops task `task` and waits for it (up to `task.shutdown.graceful.timeout.ms`).
    pub(super) fn stop_task(&mut self, worker: &Worker, task: u32) {
        if let Some(handle) = self.tasks.remove(&task) {
            handle.signal_stop();
            handle.wait(worker.config().task_shutdown_timeout);
        }
    }

    /// Tells every task to stop, without waiting.
    pub(super) fn signal_stop(&self) {
        for task in self.tasks.values() {
            task.signal_stop();
        }
    }

    /// Stops every task: all are told first, then each is awaited; they commit their offsets on the way out.
    pub(super) fn stop_tasks(&mut self, worker: &Worker) {
        self.signal_stop();
        let tasks = std::mem::take(&mut self.tasks).into_values();
        crate::worker::await_tasks(tasks, worker.config().task_shutdown_timeout);
    }

    /// Stops the tasks and the instance; the connector's status becomes `state`.
    pub(super) fn halt(&mut self, worker: &Worker, state: State) {
        self.stop_tasks(worker);
        self.stop_instance(worker, state);
    }

    /// Moves to a new target state: PAUSED stops the instance and pauses the tasks; STARTED starts the instance
    /// and resumes the tasks, with freshly generated configurations; STOPPED stops and forgets the tasks.
    pub(super) fn set_target(&mut self, worker: &Worker, target: TargetState) {
        if self.target == target {
            return;
        }
        self.target = target;
        match target {
            TargetState::Paused => {
                self.stop_instance(worker, State::Paused);
                for task in self.tasks.values() {
                    task.set_paused(true);
                }
                self.start_missing_tasks(worker);
            }
            TargetState::Started => {
                let started = match self.instance {
                    Some(_) => Ok(()),
                    None => self.start_instance(worker),
                };
                match started {
                    Ok(()) => self.reconfigure_tasks(),
                    Err(err) => worker.status().set(self.key(), State::Failed, Some(err.status_trace())),
                }
            }
            TargetState::Stopped => {
                self.stop_tasks(worker);
                self.forget_tasks(worker);
                self.stop_instance(worker, State::Stopped);
            }
        }
    }

    /// Removes the task configurations and statuses (after the tasks stopped).
    pub(super) fn forget_tasks(&mut self, worker: &Worker) {
        for task in 0..self.task_configs.len() as u32 {
            worker.status().set(StatusKey::Task(self.task_id(task)), State::Destroyed, None);
        }
        self.task_configs.clear();
    }

    /// Restarts the instance alone (`POST /connectors/{name}/restart`), in its target state.
    pub(super) fn restart_instance(&mut self, worker: &Worker) {
        self.stop_instance(worker, State::Restarting);
        let result = match self.target {
            TargetState::Started => self.start_instance(worker),
            TargetState::Paused => {
                worker.status().set(self.key(), State::Paused, None);
                Ok(())
            }
            TargetState::Stopped => {
                worker.status().set(self.key(), State::Stopped, None);
                Ok(())
            }
        };
        if let Err(err) = result {
            worker.status().set(self.key(), State::Failed, Some(err.status_trace()));
        }
    }
}

/// `tasks.max` of a connector configuration (1 when absent or invalid; validation refuses invalid values).
fn tasks_max(config: &Config) -> usize {
    config.get("tasks.max").and_then(|v| v.trim().parse::<usize>().ok()).filter(|n| *n > 0).unwrap_or(1)
}
