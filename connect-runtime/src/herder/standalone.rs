//! The standalone herder: runs the connectors given on the command line, all in this process.
//!
//! Connector code (`start`, `task_configs`, `stop`) runs on the herder's thread; tasks run on their own threads
//! through the [`Worker`]. A connector that fails is marked FAILED and the others go on.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use connect_api::{ConfigDef, ConnectError};

use super::HostConnectorContext;
use crate::config::{connector_config_def, ConnectorConfig};
use crate::plugins::{ConnectorHandle, Plugin};
use crate::worker::status::{State, StatusBoard, StatusKey, TaskId};
use crate::worker::{TaskHandle, Worker};

struct RunningConnector {
    config: ConnectorConfig,
    plugin: Arc<Plugin>,
    instance: Option<ConnectorHandle>,
    tasks: Vec<TaskHandle>,
    reconfigure: Arc<AtomicBool>,
}

/// Runs connectors in this process.
pub struct StandaloneHerder {
    worker: Worker,
    connectors: BTreeMap<String, RunningConnector>,
}

impl StandaloneHerder {
    /// A herder running tasks on `worker`.
    pub fn new(worker: Worker) -> Self {
        StandaloneHerder { worker, connectors: BTreeMap::new() }
    }

    fn status(&self) -> &Arc<StatusBoard> {
        self.worker.status()
    }

    /// Starts a validated connector and its tasks. A failure of the connector itself is recorded as its
    /// FAILED status and returned.
    pub fn start_connector(&mut self, config: ConnectorConfig, plugin: Arc<Plugin>) -> Result<(), ConnectError> {
        let name = config.name.clone();
        let span = tracing::info_span!("connector", connector = %name);
        let _entered = span.enter();
        let reconfigure = Arc::new(AtomicBool::new(false));
        let mut running = RunningConnector { config, plugin, instance: None, tasks: Vec::new(), reconfigure };
        let result = self.start_instance(&mut running).and_then(|_| self.start_tasks(&mut running));
        if let Err(err) = &result {
            self.status().set(StatusKey::Connector(name.clone()), State::Failed, Some(err.status_trace()));
        }
        self.connectors.insert(name, running);
        result
    }

    fn start_instance(&self, running: &mut RunningConnector) -> Result<(), ConnectError> {
        let name = running.config.name.clone();
        let context = HostConnectorContext::new(&name, running.reconfigure.clone(), self.status().clone());
        let started = self.worker.config().config_providers.resolve(&running.config.props).and_then(|props| {
            let mut instance = running.plugin.new_connector()?;
            instance.start(context, &props)?;
            Ok(instance)
        });
        self.worker.metrics().record_connector_startup(started.is_ok());
        running.instance = Some(started?);
        self.status().set(StatusKey::Connector(name), State::Running, None);
        Ok(())
    }

    fn start_tasks(&self, running: &mut RunningConnector) -> Result<(), ConnectError> {
        let name = &running.config.name;
        let max_tasks = tasks_max(&running.config)?;
        let instance = running.instance.as_mut().ok_or_else(|| ConnectError::new("connector is not running"))?;
        let configs = instance.task_configs(max_tasks)?;
        if configs.len() > max_tasks {
            return Err(ConnectError::new(format!(
                "The connector {name} has generated {} tasks, which is greater than {max_tasks}, the maximum number of tasks it is configured to create.",
                configs.len()
            )));
        }
        tracing::info!("connector {name} generated {} task configs", configs.len());
        for (n, task_config) in configs.into_iter().enumerate() {
            let id = TaskId { connector: name.clone(), task: n as u32 };
            match self.worker.start_task(id.clone(), running.plugin.clone(), &running.config.props, task_config) {
                Ok(handle) => running.tasks.push(handle),
                Err(err) => tracing::error!("task {id} could not start: {err}"),
            }
        }
        Ok(())
    }

    /// Applies task reconfiguration requests made by connectors since the last call.
    pub fn tick(&mut self) {
        let names: Vec<String> = self
            .connectors
            .iter()
            .filter(|(_, c)| c.reconfigure.swap(false, Ordering::AcqRel))
            .map(|(n, _)| n.clone())
            .collect();
        for name in names {
            let Some(mut running) = self.connectors.remove(&name) else {
                continue;
            };
            tracing::info!("connector {name} requested a task reconfiguration");
            self.stop_tasks(&mut running);
            if let Err(err) = self.start_tasks(&mut running) {
                self.status().set(StatusKey::Connector(name.clone()), State::Failed, Some(err.status_trace()));
            }
            self.connectors.insert(name, running);
        }
    }

    fn stop_tasks(&self, running: &mut RunningConnector) {
        for task in &running.tasks {
            task.signal_stop();
        }
        let timeout = self.worker.config().task_shutdown_timeout;
        for task in running.tasks.drain(..) {
            task.wait(timeout);
        }
    }

    /// Stops every task and connector: tasks commit their offsets on the way out.
    pub fn stop(&mut self) {
        for running in self.connectors.values() {
            for task in &running.tasks {
                task.signal_stop();
            }
        }
        let connectors = std::mem::take(&mut self.connectors);
        for (name, mut running) in connectors {
            self.stop_tasks(&mut running);
            if let Some(mut instance) = running.instance.take() {
                if let Err(err) = instance.stop() {
                    tracing::warn!("connector {name} failed to stop cleanly: {err}");
                }
            }
            self.status().set(StatusKey::Connector(name), State::Unassigned, None);
        }
    }
}

fn tasks_max(config: &ConnectorConfig) -> Result<usize, ConnectError> {
    let def: ConfigDef = connector_config_def(connect_api::abi::PluginKind::Source);
    let parsed = def.key("tasks.max").map(|k| k.parse(config.props.get("tasks.max").map(String::as_str)));
    match parsed {
        Some(Ok(connect_api::config::ConfigValue::Int(n))) if n > 0 => Ok(n as usize),
        Some(Err(message)) => Err(ConnectError::config("tasks.max", message)),
        _ => Ok(1),
    }
}
