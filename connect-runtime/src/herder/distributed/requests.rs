//! Serving REST requests from the herder's loop: reads answer from this worker's snapshot and the status topic;
//! config writes run on the leader (a follower answers `NotLeader` and the REST layer forwards); restarts run on
//! the owner of the connector or task.

use std::collections::BTreeMap;

use connect_api::abi::PluginKind;

use super::DistributedHerder;
use crate::group::protocol::ConnectProtocol;
use crate::herder::api::{
    ConnectorInfo, ConnectorStateInfo, ConnectorTaskId, Created, HerderError, HerderRequest, HerderResult,
    InitialState, SignedRequest, StateInfo, TaskInfo, TaskStateInfo,
};
use crate::herder::validation::{masked, require_valid, InvalidConnector};
use crate::storage::kafka::{RestartRequest, StoredStatus, TargetState};
use crate::worker::status::{State, StatusKey, TaskId};

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
                            config: masked(&self.registry, &self.snapshot.connector_configs[&name], &config),
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
            HerderRequest::RestartConnector { name, include_tasks, only_failed, reply } => {
                let result = if include_tasks || only_failed {
                    self.request_restart(&name, RestartRequest { include_tasks, only_failed }).map(Some)
                } else {
                    self.restart_connector(&name).map(|()| None)
                };
                send(reply, result)
            }
            HerderRequest::PatchConnectorConfig { name, patch, reply } => {
                let result = self.patch_connector_config(&name, patch);
                send(reply, result)
            }
            HerderRequest::Stop(name, reply) => {
                let result = self.stop_connector_request(&name);
                send(reply, result)
            }
            HerderRequest::ConnectorTopics(name, reply) => {
                let result = self.connector_topics(&name);
                send(reply, result)
            }
            HerderRequest::ResetConnectorTopics(name, reply) => {
                let result = self.reset_connector_topics(&name);
                send(reply, result)
            }
            HerderRequest::ConnectorOffsets(name, reply) => {
                let result = self.connector_offsets(&name);
                send(reply, result)
            }
            HerderRequest::ModifyOffsets { name, offsets, reply } => {
                let result = self.modify_offsets(&name, offsets);
                send(reply, result)
            }
            HerderRequest::SetClusterLogLevel { namespace, level, reply } => {
                // Any worker writes it, as in Kafka Connect; every worker applies it when it reads it.
                let result = self
                    .configs
                    .put_logger_level(&namespace, &level)
                    .map_err(|e| HerderError::Internal(format!("cannot write the log level of {namespace}: {e}")));
                self.refresh_configs(super::CONFIG_READ_TIMEOUT);
                send(reply, result)
            }
            HerderRequest::Health(reply) => {
                let result = if self.joined.is_some() {
                    Ok(())
                } else {
                    Err(HerderError::Unavailable("Worker is rejoining its group.".to_string()))
                };
                send(reply, result)
            }
            HerderRequest::RestartTask(id, reply) => {
                let result = self.restart_task(&id);
                send(reply, result)
            }
            HerderRequest::PutTaskConfigs { name, configs, signed, reply } => {
                let result = self.check_signature(&signed).and_then(|()| self.put_task_configs(&name, configs));
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
            config: masked(&self.registry, config, config),
            tasks: (0..self.snapshot.task_count(name))
                .map(|task| ConnectorTaskId { connector: name.to_string(), task })
                .collect(),
            connector_type: self.kind_of(name),
        })
    }

    /// Only the leader writes configs; `NotLeader` makes the REST layer forward the request.
    pub(super) fn require_leader(&self) -> HerderResult<()> {
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
        // A deleted connector's active topics are forgotten, as Kafka Connect does.
        if let Err(err) = self.statuses.reset_topics(name) {
            tracing::warn!("cannot forget the active topics of deleted connector {name}: {err}");
        }
        Ok(())
    }

    /// Internal requests must be signed with the session key once the group runs the `sessioned` protocol
    /// (KIP-507); before that, there is no key to sign with.
    fn check_signature(&self, signed: &SignedRequest) -> HerderResult<()> {
        if self.group_protocol != Some(ConnectProtocol::Sessioned) {
            return Ok(());
        }
        let allowed = &self.config.inter_worker.verification_algorithms;
        crate::rest::signature::verify(&signed.headers, &signed.body, self.snapshot.session_key.as_ref(), allowed)
            .map_err(|e| match e.status.as_u16() {
                400 => HerderError::BadRequest(e.message),
                403 => HerderError::Forbidden(e.message),
                503 => HerderError::Unavailable(e.message),
                _ => HerderError::Internal(e.message),
            })
    }

    /// `PATCH /connectors/{name}/config`: the patch merged into the stored config, then validated and written
    /// like a PUT.
    fn patch_connector_config(
        &mut self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> HerderResult<ConnectorInfo> {
        self.require_leader()?;
        let config = self.snapshot.connector_configs.get(name).cloned().ok_or_else(|| not_found(name))?;
        let config = crate::herder::patched(config, patch, name);
        Ok(self.put_connector_config(name, config, true, None)?.info)
    }

    /// `PUT /connectors/{name}/stop`: an empty set of task configs first, then target state STOPPED.
    fn stop_connector_request(&mut self, name: &str) -> HerderResult<()> {
        self.require_leader()?;
        if !self.snapshot.connector_configs.contains_key(name) {
            return Err(not_found(name));
        }
        self.configs
            .put_task_configs(name, Vec::new())
            .and_then(|()| self.configs.put_target_state(name, TargetState::Stopped))
            .map_err(|e| HerderError::Internal(format!("cannot stop connector {name}: {e}")))?;
        self.refresh_configs(super::CONFIG_READ_TIMEOUT);
        Ok(())
    }

    /// `POST /connectors/{name}/restart` with `includeTasks` or `onlyFailed` (KIP-745): the leader writes a
    /// restart request that every worker carries out for what it owns, and answers with the plan.
    fn request_restart(&mut self, name: &str, request: RestartRequest) -> HerderResult<ConnectorStateInfo> {
        self.require_leader()?;
        if !self.snapshot.connector_configs.contains_key(name) {
            return Err(not_found(name));
        }
        let mut plan = self.connector_status(name)?;
        let restarts = |state: &str| !request.only_failed || state == "FAILED";
        if restarts(&plan.connector.state) {
            plan.connector.state = State::Restarting.to_string();
        }
        if request.include_tasks {
            for task in plan.tasks.iter_mut().filter(|t| restarts(&t.state)) {
                task.state = State::Restarting.to_string();
            }
        }
        self.configs
            .put_restart_request(name, request)
            .map_err(|e| HerderError::Internal(format!("cannot write the restart request of {name}: {e}")))?;
        self.refresh_configs(super::CONFIG_READ_TIMEOUT);
        Ok(plan)
    }

    /// Carries out a restart request read from the config topic for the instances this worker owns.
    pub(super) fn apply_restart_request(&mut self, name: &str, request: RestartRequest) {
        let failed =
            |herder: &Self, key: StatusKey| herder.worker.status().get(&key).is_some_and(|s| s.state == State::Failed);
        if self.connectors.contains_key(name)
            && (!request.only_failed || failed(self, StatusKey::Connector(name.to_string())))
        {
            tracing::info!("restarting connector {name} as requested");
            self.restart_connector_here(name);
        }
        if request.include_tasks {
            let tasks: Vec<TaskId> = self.allocation.tasks.iter().filter(|t| t.connector == name).cloned().collect();
            for id in tasks {
                if !request.only_failed || failed(self, StatusKey::Task(id.clone())) {
                    tracing::info!("restarting task {id} as requested");
                    self.restart_task_here(&id);
                }
            }
        }
    }

    fn connector_topics(&mut self, name: &str) -> HerderResult<Vec<String>> {
        if !self.config.topic_tracking {
            return Err(HerderError::Forbidden("Topic tracking is disabled.".to_string()));
        }
        if !self.snapshot.connector_configs.contains_key(name) {
            return Err(not_found(name));
        }
        if let Err(err) = self.statuses.refresh(super::CONFIG_READ_TIMEOUT) {
            tracing::warn!("cannot read the status topic to its end: {err}");
        }
        Ok(self.statuses.topics(name))
    }

    fn reset_connector_topics(&mut self, name: &str) -> HerderResult<()> {
        if !self.config.topic_tracking {
            return Err(HerderError::Forbidden("Topic tracking is disabled.".to_string()));
        }
        if !self.config.topic_tracking_allow_reset {
            return Err(HerderError::Forbidden("Topic tracking reset is disabled.".to_string()));
        }
        if !self.snapshot.connector_configs.contains_key(name) {
            return Err(not_found(name));
        }
        if let Err(err) = self.statuses.refresh(super::CONFIG_READ_TIMEOUT) {
            tracing::warn!("cannot read the status topic to its end: {err}");
        }
        self.statuses
            .reset_topics(name)
            .map_err(|e| HerderError::Internal(format!("cannot reset the active topics of {name}: {e}")))
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

    /// Reads the status topic to its end before a status answer (so that a status written just before shows),
    /// briefly: the REST request waits for it. While the broker is away (the coordinator lost, or the last read
    /// failed less than [`super::STATUS_READ_BACKOFF`] ago) the answer comes from what was read, without waiting.
    fn refresh_statuses(&mut self) {
        let failed_lately = self.status_read_failed.is_some_and(|at| at.elapsed() < super::STATUS_READ_BACKOFF);
        if self.coordinator_lost || failed_lately {
            return;
        }
        match self.statuses.refresh(super::ROUTINE_READ_TIMEOUT) {
            Ok(()) => self.status_read_failed = None,
            Err(err) => {
                tracing::warn!("cannot read the status topic to its end: {err}");
                self.status_read_failed = Some(std::time::Instant::now());
            }
        }
    }

    fn connector_status(&mut self, name: &str) -> HerderResult<ConnectorStateInfo> {
        self.refresh_statuses();
        let connector = self.statuses.get_connector(name);
        // A status without a configuration belongs to a deleted connector (a worker that stopped it late may have
        // written it after the deletion): the connector is gone.
        if !self.snapshot.connector_configs.contains_key(name) {
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
