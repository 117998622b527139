//! Serving REST requests from the standalone herder's loop, with Kafka Connect's `StandaloneHerder` semantics:
//! every write applies at once to the connectors of this process; there is no leader to forward to.

use std::collections::BTreeMap;

use connect_api::abi::PluginKind;
use tokio::sync::oneshot;

use super::connector::Connector;
use super::StandaloneHerder;
use crate::config::ConnectorConfig;
use crate::herder::api::{
    ConnectorInfo, ConnectorOffsets, ConnectorStateInfo, ConnectorTaskId, Created, HerderError, HerderRequest,
    HerderResult, InitialState, StateInfo, TaskInfo, TaskStateInfo,
};
use crate::herder::offsets as shared;
use crate::herder::validation::{masked, require_valid};
use crate::storage::kafka::TargetState;
use crate::storage::OffsetStore;
use crate::worker::status::{State, StatusKey, TaskId};

fn not_found(name: &str) -> HerderError {
    HerderError::NotFound(format!("Connector {name} not found"))
}

fn send<T>(reply: oneshot::Sender<HerderResult<T>>, result: HerderResult<T>) {
    // The REST caller may have timed out and gone; nothing else to do then.
    let _ = reply.send(result);
}

fn kind_name(kind: PluginKind) -> String {
    match kind {
        PluginKind::Source => "source",
        PluginKind::Sink => "sink",
    }
    .to_string()
}

impl StandaloneHerder {
    pub(super) fn handle_request(&mut self, request: HerderRequest) {
        match request {
            HerderRequest::ClusterId(reply) => send(reply, Ok(self.cluster_id.clone())),
            HerderRequest::Connectors(reply) => send(reply, Ok(self.connectors.keys().cloned().collect())),
            HerderRequest::ConnectorInfo(name, reply) => send(reply, self.connector_info(&name)),
            HerderRequest::PutConnectorConfig { name, config, allow_replace, initial_state, reply } => {
                send(reply, self.put_connector_config(&name, config, allow_replace, initial_state))
            }
            HerderRequest::PatchConnectorConfig { name, patch, reply } => {
                send(reply, self.patch_connector_config(&name, patch))
            }
            HerderRequest::DeleteConnector(name, reply) => send(reply, self.delete_connector(&name)),
            HerderRequest::ConnectorStatus(name, reply) => send(reply, self.connector_status(&name)),
            HerderRequest::TaskConfigs(name, reply) => send(reply, self.task_configs(&name)),
            HerderRequest::Pause(name, reply) => send(reply, self.set_target(&name, TargetState::Paused)),
            HerderRequest::Resume(name, reply) => send(reply, self.set_target(&name, TargetState::Started)),
            HerderRequest::Stop(name, reply) => send(reply, self.set_target(&name, TargetState::Stopped)),
            HerderRequest::RestartConnector { name, include_tasks, only_failed, reply } => {
                let result = if include_tasks || only_failed {
                    self.restart_with_plan(&name, include_tasks, only_failed).map(Some)
                } else {
                    self.restart_connector(&name).map(|()| None)
                };
                send(reply, result)
            }
            HerderRequest::RestartTask(id, reply) => send(reply, self.restart_task(&id)),
            HerderRequest::ConnectorTopics(name, reply) => send(reply, self.connector_topics(&name)),
            HerderRequest::ResetConnectorTopics(name, reply) => send(reply, self.reset_connector_topics(&name)),
            HerderRequest::ConnectorOffsets(name, reply) => send(reply, self.connector_offsets(&name)),
            HerderRequest::ModifyOffsets { name, offsets, reply } => send(reply, self.modify_offsets(&name, offsets)),
            HerderRequest::SetClusterLogLevel { namespace, level, reply } => {
                // A standalone worker is the whole cluster.
                let result = crate::logging::set_level(&namespace, &level)
                    .map(drop)
                    .map_err(|e| HerderError::BadRequest(e.to_string()));
                send(reply, result)
            }
            // The REST layer answers 503 itself until the command-line connectors have been started.
            HerderRequest::Health(reply) => send(reply, Ok(())),
            HerderRequest::PutTaskConfigs { reply, .. } => send(
                reply,
                Err(HerderError::BadRequest(
                    "Kafka Connect in standalone mode does not support externally setting task configurations."
                        .to_string(),
                )),
            ),
        }
    }

    fn connector(&self, name: &str) -> HerderResult<&Connector> {
        self.connectors.get(name).ok_or_else(|| not_found(name))
    }

    fn connector_info(&self, name: &str) -> HerderResult<ConnectorInfo> {
        let connector = self.connector(name)?;
        let config = &connector.config.props;
        Ok(ConnectorInfo {
            name: name.to_string(),
            config: masked(&self.registry, config, config),
            tasks: (0..connector.task_configs.len() as u32)
                .map(|task| ConnectorTaskId { connector: name.to_string(), task })
                .collect(),
            connector_type: kind_name(connector.plugin.kind()),
        })
    }

    fn task_configs(&self, name: &str) -> HerderResult<Vec<TaskInfo>> {
        let connector = self.connector(name)?;
        Ok(connector
            .task_configs
            .iter()
            .zip(0..)
            .map(|(config, task)| TaskInfo {
                id: ConnectorTaskId { connector: name.to_string(), task },
                config: masked(&self.registry, &connector.config.props, config),
            })
            .collect())
    }

    /// Create (`POST`, `PUT` of a new name) or replace (`PUT`) a configuration: validated, then the connector is
    /// (re)started in its target state; a replaced connector keeps its target state.
    fn put_connector_config(
        &mut self,
        name: &str,
        config: BTreeMap<String, String>,
        allow_replace: bool,
        initial_state: Option<InitialState>,
    ) -> HerderResult<Created> {
        let exists = self.connectors.contains_key(name);
        if exists && !allow_replace {
            return Err(HerderError::AlreadyExists(format!("Connector {name} already exists")));
        }
        let plugin = require_valid(&self.registry, &config)?;
        let config = ConnectorConfig { name: name.to_string(), props: config };
        if let Some(connector) = self.connectors.get_mut(name) {
            tracing::info!("connector {name}: configuration replaced; restarting it");
            connector.halt(&self.worker, State::Unassigned);
            connector.config = config;
            connector.plugin = plugin;
            // A failure to start is the connector's FAILED status, as for connectors given on the command line.
            let _ = connector.start(&self.worker);
        } else {
            let target = match initial_state {
                None | Some(InitialState::Running) => TargetState::Started,
                Some(InitialState::Paused) => TargetState::Paused,
                Some(InitialState::Stopped) => TargetState::Stopped,
            };
            tracing::info!("connector {name} created");
            let _ = self.add_connector(config, plugin, target);
        }
        Ok(Created { created: !exists, info: self.connector_info(name)? })
    }

    /// `PATCH /connectors/{name}/config`: the patch merged into the stored config, then written like a PUT.
    fn patch_connector_config(
        &mut self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> HerderResult<ConnectorInfo> {
        let config = self.connector(name)?.config.props.clone();
        let config = crate::herder::patched(config, patch, name);
        Ok(self.put_connector_config(name, config, true, None)?.info)
    }

    fn delete_connector(&mut self, name: &str) -> HerderResult<()> {
        let mut connector = self.connectors.remove(name).ok_or_else(|| not_found(name))?;
        connector.stop_tasks(&self.worker);
        connector.forget_tasks(&self.worker);
        connector.stop_instance(&self.worker, State::Destroyed);
        // A deleted connector's active topics are forgotten, as Kafka Connect does.
        self.topics.reset_topics(name);
        tracing::info!("connector {name} deleted");
        Ok(())
    }

    fn set_target(&mut self, name: &str, target: TargetState) -> HerderResult<()> {
        let connector = self.connectors.get_mut(name).ok_or_else(|| not_found(name))?;
        connector.set_target(&self.worker, target);
        Ok(())
    }

    fn restart_connector(&mut self, name: &str) -> HerderResult<()> {
        let connector = self.connectors.get_mut(name).ok_or_else(|| not_found(name))?;
        connector.restart_instance(&self.worker);
        Ok(())
    }

    fn restart_task(&mut self, id: &TaskId) -> HerderResult<()> {
        let connector = self.connectors.get_mut(&id.connector).ok_or_else(|| not_found(&id.connector))?;
        if id.task as usize >= connector.task_configs.len() {
            return Err(HerderError::NotFound(format!("Task {id} not found")));
        }
        connector.stop_task(&self.worker, id.task);
        connector.start_task(&self.worker, id.task);
        Ok(())
    }

    /// `POST /connectors/{name}/restart` with `includeTasks` or `onlyFailed` (KIP-745): the instances to restart
    /// are marked RESTARTING in the plan and on the status board, then restarted.
    fn restart_with_plan(
        &mut self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> HerderResult<ConnectorStateInfo> {
        let mut plan = self.connector_status(name)?;
        let restarts = |state: &str| !only_failed || state == "FAILED";
        let restart_connector = restarts(&plan.connector.state);
        if restart_connector {
            plan.connector.state = State::Restarting.to_string();
        }
        let mut tasks = Vec::new();
        if include_tasks {
            for task in plan.tasks.iter_mut().filter(|t| restarts(&t.state)) {
                task.state = State::Restarting.to_string();
                tasks.push(task.id);
            }
        }
        let status = self.worker.status().clone();
        for &task in &tasks {
            status.set(StatusKey::Task(TaskId { connector: name.to_string(), task }), State::Restarting, None);
        }
        let connector = self.connectors.get_mut(name).ok_or_else(|| not_found(name))?;
        if restart_connector {
            connector.restart_instance(&self.worker);
        }
        for task in tasks {
            tracing::info!("restarting task {name}-{task} as requested");
            connector.stop_task(&self.worker, task);
            connector.start_task(&self.worker, task);
        }
        Ok(plan)
    }

    fn connector_status(&self, name: &str) -> HerderResult<ConnectorStateInfo> {
        let connector = self
            .connectors
            .get(name)
            .ok_or_else(|| HerderError::NotFound(format!("No status found for connector {name}")))?;
        let status = self.worker.status();
        let info = |key: StatusKey| match status.get(&key) {
            Some(s) => (s.state.to_string(), s.worker_id, s.trace),
            None => (State::Unassigned.to_string(), String::new(), None),
        };
        let (state, worker_id, trace) = info(StatusKey::Connector(name.to_string()));
        let tasks = (0..connector.task_configs.len() as u32)
            .map(|task| {
                let (state, worker_id, trace) = info(StatusKey::Task(TaskId { connector: name.to_string(), task }));
                TaskStateInfo { id: task, state, worker_id, trace }
            })
            .collect();
        Ok(ConnectorStateInfo {
            name: name.to_string(),
            connector: StateInfo { state, worker_id, trace },
            tasks,
            connector_type: kind_name(connector.plugin.kind()),
        })
    }

    fn connector_topics(&self, name: &str) -> HerderResult<Vec<String>> {
        if !self.worker.config().topic_tracking {
            return Err(HerderError::Forbidden("Topic tracking is disabled.".to_string()));
        }
        self.connector(name)?;
        Ok(self.topics.topics(name))
    }

    fn reset_connector_topics(&self, name: &str) -> HerderResult<()> {
        if !self.worker.config().topic_tracking {
            return Err(HerderError::Forbidden("Topic tracking is disabled.".to_string()));
        }
        if !self.worker.config().topic_tracking_allow_reset {
            return Err(HerderError::Forbidden("Topic tracking reset is disabled.".to_string()));
        }
        self.connector(name)?;
        self.topics.reset_topics(name);
        Ok(())
    }

    /// `GET /connectors/{name}/offsets`: source offsets from the offset file, sink offsets from the consumer
    /// group.
    fn connector_offsets(&self, name: &str) -> HerderResult<ConnectorOffsets> {
        let config = self.connectors.get(name).map(|c| &c.config.props);
        match shared::connector_kind(&self.registry, name, config)? {
            PluginKind::Source => Ok(shared::source_offsets(self.offsets.offsets_of(name))),
            PluginKind::Sink => {
                shared::sink_offsets(self.worker.config(), name, config.ok_or_else(|| not_found(name))?)
            }
        }
    }

    /// `PATCH` (with offsets) and `DELETE` (without) of `/connectors/{name}/offsets`, for a STOPPED connector.
    fn modify_offsets(&mut self, name: &str, offsets: Option<ConnectorOffsets>) -> HerderResult<String> {
        let connector = self.connector(name)?;
        let kind = shared::connector_kind(&self.registry, name, Some(&connector.config.props))?;
        if connector.target != TargetState::Stopped || !connector.task_configs.is_empty() {
            return Err(shared::not_stopped(name));
        }
        let config = connector.config.props.clone();
        shared::modify(self.offsets.as_ref(), self.worker.config(), &self.runtime, name, &config, kind, offsets)
    }
}
