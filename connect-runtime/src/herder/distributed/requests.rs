//! Serving REST requests from the herder's loop: reads answer from this worker's snapshot and the status topic;
//! config writes run on the leader (a follower answers `NotLeader` and the REST layer forwards); restarts run on
//! the owner of the connector or task.

use std::collections::BTreeMap;

use connect_api::abi::PluginKind;

use super::DistributedHerder;
use crate::herder::api::{
    ConnectorInfo, ConnectorStateInfo, ConnectorTaskId, Created, HerderError, HerderRequest, HerderResult,
    InitialState, StateInfo, TaskInfo, TaskStateInfo,
};
use crate::herder::validation::{require_valid, InvalidConnector};
use crate::storage::kafka::{StoredStatus, TargetState};
use crate::worker::status::TaskId;

fn not_found(name: &str) -> HerderError {
    HerderError::NotFound(format!("Connector {name} not found"))
}

fn send<T>(reply: tokio::sync::oneshot::Sender<HerderResult<T>>, result: HerderResult<T>) {
    // The REST caller may have timed out and gone; nothing else to do then.
    let _ = reply.send(result);
}

impl DistributedHerder {
    pub(super) fn handle_request(&mut self, request: HerderRequest) {
        match request {
            HerderRequest::ClusterId(reply) => send(reply, Ok(self.cluster_id.clone())),
            HerderRequest::Connectors(reply) => {
                send(reply, Ok(self.snapshot.connector_configs.keys().cloned().collect()))
            }
            HerderRequest::ConnectorInfo(name, reply) => send(reply, self.connector_info(&name)),
            HerderRequest::PutConnectorConfig { name, config, allow_replace, initial_state, reply } => {
                let result = self.put_connector_config(&name, config, allow_replace, initial_state);
                send(reply, result)
            }
            HerderRequest::DeleteConnector(name, reply) => {
                let result = self.delete_connector(&name);
                send(reply, result)
            }
            HerderRequest::ConnectorStatus(name, reply) => send(reply, self.connector_status(&name)),
            HerderRequest::TaskConfigs(name, reply) => {
                let result = if self.snapshot.connector_configs.contains_key(&name) {
                    Ok(self
                        .snapshot
                        .task_configs_of(&name)
                        .into_iter()
                        .zip(0..)
                        .map(|(config, task)| TaskInfo {
                            id: ConnectorTaskId { connector: name.clone(), task },
                            config,
                        })
                        .collect())
                } else {
                    Err(not_found(&name))
                };
                send(reply, result)
            }
            HerderRequest::Pause(name, reply) => {
                let result = self.put_target_state(&name, TargetState::Paused);
                send(reply, result)
            }
            HerderRequest::Resume(name, reply) => {
                let result = self.put_target_state(&name, TargetState::Started);
                send(reply, result)
            }
            HerderRequest::RestartConnector(name, reply) => {
                let result = self.restart_connector(&name);
                send(reply, result)
            }
            HerderRequest::RestartTask(id, reply) => {
                let result = self.restart_task(&id);
                send(reply, result)
            }
            HerderRequest::PutTaskConfigs { name, configs, reply } => {
                let result = self.put_task_configs(&name, configs);
                send(reply, result)
            }
        }
    }

    fn kind_of(&self, name: &str) -> String {
        self.snapshot
            .connector_configs
            .get(name)
            .and_then(|c| c.get("connector.class"))
            .and_then(|class| self.registry.find(class))
            .map(|p| match p.kind() {
                PluginKind::Source => "source",
                PluginKind::Sink => "sink",
            })
            .unwrap_or("unknown")
            .to_string()
    }

    fn connector_info(&self, name: &str) -> HerderResult<ConnectorInfo> {
        let config = self.snapshot.connector_configs.get(name).ok_or_else(|| not_found(name))?;
        Ok(ConnectorInfo {
            name: name.to_string(),
            config: config.clone(),
            tasks: (0..self.snapshot.task_count(name))
                .map(|task| ConnectorTaskId { connector: name.to_string(), task })
                .collect(),
            connector_type: self.kind_of(name),
        })
    }

    /// Only the leader writes configs; `NotLeader` makes the REST layer forward the request.
    fn require_leader(&self) -> HerderResult<()> {
        if self.is_leader() && !self.rejoin_requested {
            Ok(())
        } else {
            Err(HerderError::NotLeader { leader_url: self.leader_url() })
        }
    }

    fn put_connector_config(
        &mut self,
        name: &str,
        config: BTreeMap<String, String>,
        allow_replace: bool,
        initial_state: Option<InitialState>,
    ) -> HerderResult<Created> {
        self.require_leader()?;
        let exists = self.snapshot.connector_configs.contains_key(name);
        if exists && !allow_replace {
            return Err(HerderError::AlreadyExists(format!("Connector {name} already exists")));
        }
        require_valid(&self.registry, &config).map_err(|err| match err {
            InvalidConnector::Invalid(report) => HerderError::BadRequest(format!(
                "Connector configuration is invalid and contains the following {} error(s):\n{}\nYou can also find the above list of errors at the endpoint `/connector-plugins/{{connectorType}}/config/validate`",
                report.error_count,
                report.error_messages().join("\n")
            )),
            other => HerderError::BadRequest(other.to_string()),
        })?;
        let target = match initial_state {
            Some(InitialState::Paused) => Some(TargetState::Paused),
            Some(InitialState::Stopped) => Some(TargetState::Stopped),
            Some(InitialState::Running) => Some(TargetState::Started),
            None => None,
        };
        self.configs
            .put_connector_config(name, config, if exists { None } else { target })
            .map_err(|e| HerderError::Internal(format!("cannot write the configuration of {name}: {e}")))?;
        self.refresh_configs(super::CONFIG_READ_TIMEOUT);
        let info = self.connector_info(name)?;
        Ok(Created { created: !exists, info })
    }

    fn delete_connector(&mut self, name: &str) -> HerderResult<()> {
        self.require_leader()?;
        if !self.snapshot.connector_configs.contains_key(name) {
            return Err(not_found(name));
        }
        self.configs
            .remove_connector_config(name)
            .map_err(|e| HerderError::Internal(format!("cannot delete connector {name}: {e}")))?;
        self.refresh_configs(super::CONFIG_READ_TIMEOUT);
        Ok(())
    }

    fn put_task_configs(&mut self, name: &str, configs: Vec<BTreeMap<String, String>>) -> HerderResult<()> {
        self.require_leader()?;
        if !self.snapshot.connector_configs.contains_key(name) {
            return Err(not_found(name));
        }
        if self.snapshot.target_state(name) == TargetState::Stopped && !configs.is_empty() {
            return Err(HerderError::BadRequest(format!(
                "Cannot write task configs for connector {name} because it is STOPPED"
            )));
        }
        self.configs
            .put_task_configs(name, configs)
            .map_err(|e| HerderError::Internal(format!("cannot write the task configs of {name}: {e}")))?;
        self.refresh_configs(super::CONFIG_READ_TIMEOUT);
        Ok(())
    }

    /// Pause and resume are written by whichever worker gets them, as in Kafka Connect.
    fn put_target_state(&mut self, name: &str, state: TargetState) -> HerderResult<()> {
        if !self.snapshot.connector_configs.contains_key(name) {
            return Err(not_found(name));
        }
        self.configs
            .put_target_state(name, state)
            .map_err(|e| HerderError::Internal(format!("cannot write the target state of {name}: {e}")))?;
        self.refresh_configs(super::CONFIG_READ_TIMEOUT);
        Ok(())
    }

    fn restart_connector(&mut self, name: &str) -> HerderResult<()> {
        if !self.snapshot.connector_configs.contains_key(name) {
            return Err(not_found(name));
        }
        if self.connectors.contains_key(name) {
            self.restart_connector_here(name);
            return Ok(());
        }
        self.forward_to_owner(
            self.assignor
                .as_ref()
                .and_then(|a| a.leader_state())
                .and_then(|s| s.connector_owner_url(name))
                .map(str::to_string),
        )
    }

    fn restart_task(&mut self, id: &TaskId) -> HerderResult<()> {
        if !self.snapshot.task_configs.contains_key(id) {
            return Err(HerderError::NotFound(format!("Task {id} not found")));
        }
        if self.tasks.contains_key(id) {
            self.restart_task_here(id);
            return Ok(());
        }
        self.forward_to_owner(
            self.assignor
                .as_ref()
                .and_then(|a| a.leader_state())
                .and_then(|s| s.task_owner_url(id))
                .map(str::to_string),
        )
    }

    /// A restart of work not running here: the leader knows the owner; a follower sends it to the leader.
    fn forward_to_owner(&self, owner_url: Option<String>) -> HerderResult<()> {
        if self.is_leader() {
            match owner_url {
                Some(url) if url != self.config.advertised_url => Err(HerderError::NotLeader { leader_url: Some(url) }),
                _ => Err(HerderError::Conflict(crate::herder::api::CONFLICT_REBALANCE.to_string())),
            }
        } else {
            Err(HerderError::NotLeader { leader_url: self.leader_url() })
        }
    }

    fn connector_status(&mut self, name: &str) -> HerderResult<ConnectorStateInfo> {
        if let Err(err) = self.statuses.refresh(super::CONFIG_READ_TIMEOUT) {
            tracing::warn!("cannot read the status topic to its end: {err}");
        }
        let connector = self.statuses.get_connector(name);
        if connector.is_none() && !self.snapshot.connector_configs.contains_key(name) {
            return Err(HerderError::NotFound(format!("No status found for connector {name}")));
        }
        let info = |status: Option<StoredStatus>| match status {
            Some(s) => (s.state.to_string(), s.worker_id, s.trace),
            None => ("UNASSIGNED".to_string(), String::new(), None),
        };
        let (state, worker_id, trace) = info(connector);
        let mut tasks = Vec::new();
        for task in 0..self.snapshot.task_count(name) {
            let id = TaskId { connector: name.to_string(), task };
            let (state, worker_id, trace) = info(self.statuses.get_task(&id));
            tasks.push(TaskStateInfo { id: task, state, worker_id, trace });
        }
        Ok(ConnectorStateInfo {
            name: name.to_string(),
            connector: StateInfo { state, worker_id, trace },
            tasks,
            connector_type: self.kind_of(name),
        })
    }
}
