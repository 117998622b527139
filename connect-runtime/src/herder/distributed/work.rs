//! Running the assigned work: connector instances and tasks (each on threads of their own, through the worker, so
//! that connector code never blocks the herder), task-config generation, and reacting to what changed in the config
//! topic.
//!
//! Only the connector's owner generates its task configs; only the leader writes them (a follower posts them to
//! the leader's internal endpoint). A task is only started from the config snapshot the assignment was made on.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use connect_api::{Config, ConnectError};

use super::DistributedHerder;
use crate::herder::HostConnectorContext;
use crate::plugins::Plugin;
use crate::storage::kafka::{ClusterConfigState, RestartRequest, TargetState};
use crate::worker::connector::{ConnectorEvent, Request, WorkerConnector};
use crate::worker::status::{State, StatusKey, TaskId};

/// A connector this worker owns; `instance` is `None` while it is paused, stopped or failed to start.
pub(super) struct RunningConnector {
    instance: Option<WorkerConnector>,
    reconfigure: Arc<AtomicBool>,
}

/// `tasks.max` of a connector configuration (1 when absent or invalid; validation refuses invalid values).
fn tasks_max(config: &Config) -> usize {
    config.get("tasks.max").and_then(|v| v.trim().parse::<usize>().ok()).filter(|n| *n > 0).unwrap_or(1)
}

impl DistributedHerder {
    fn plugin_of(&self, config: &Config) -> Result<Arc<Plugin>, ConnectError> {
        let class = config.get("connector.class").map(String::as_str).unwrap_or("");
        self.registry.resolve(class).map_err(|e| ConnectError::new(e.to_string()))
    }

    /// Starts connector `name` as its target state says (not at all when PAUSED or STOPPED).
    pub(super) fn start_connector(&mut self, name: &str) {
        let key = StatusKey::Connector(name.to_string());
        let reconfigure = Arc::new(AtomicBool::new(false));
        let mut running = RunningConnector { instance: None, reconfigure: reconfigure.clone() };
        let Some(config) = self.snapshot.connector_configs.get(name).cloned() else {
            tracing::warn!("connector {name} was assigned but has no configuration");
            self.connectors.insert(name.to_string(), running);
            return;
        };
        match self.snapshot.target_state(name) {
            TargetState::Paused => self.worker.status().set(key, State::Paused, None),
            TargetState::Stopped => self.worker.status().set(key, State::Stopped, None),
            TargetState::Started => {
                // The instance starts on its own thread and reports RUNNING (or FAILED) itself; its task configs
                // are asked for once it has started.
                let providers = &self.worker.config().config_providers;
                let started = providers.resolve(&config).and_then(|config| {
                    let plugin = self.plugin_of(&config)?;
                    let context = HostConnectorContext::new(name, reconfigure, self.worker.status().clone());
                    let status = self.worker.status().clone();
                    WorkerConnector::start(name, plugin, config, context, status, self.worker.metrics().clone())
                });
                match started {
                    Ok(instance) => running.instance = Some(instance),
                    Err(err) => {
                        self.worker.metrics().record_connector_startup(false);
                        self.worker.status().set(key, State::Failed, Some(err.status_trace()));
                    }
                }
            }
        }
        self.connectors.insert(name.to_string(), running);
    }

    /// Stops the instance of connector `name` (if running) and forgets it; `state` is the status to record.
    pub(super) fn stop_connector_as(&mut self, name: &str, state: State) {
        if let Some(mut running) = self.connectors.remove(name) {
            if let Some(instance) = running.instance.take() {
                instance.stop(self.worker.config().task_shutdown_timeout);
            }
            self.worker.status().set(StatusKey::Connector(name.to_string()), state, None);
        }
    }

    /// Stops connector `name` because it was revoked.
    pub(super) fn stop_connector(&mut self, name: &str) {
        self.stop_connector_as(name, State::Unassigned);
    }

    /// Starts task `id` from the current snapshot.
    pub(super) fn start_task(&mut self, id: &TaskId) {
        let key = StatusKey::Task(id.clone());
        let (Some(task_config), Some(connector_config)) =
            (self.snapshot.task_configs.get(id).cloned(), self.snapshot.connector_configs.get(&id.connector).cloned())
        else {
            tracing::warn!("task {id} was assigned but has no configuration");
            return;
        };
        let paused = self.snapshot.target_state(&id.connector) == TargetState::Paused;
        let started = match self.plugin_of(&connector_config) {
            Ok(plugin) => self.worker.start_task_in(id.clone(), plugin, &connector_config, task_config, paused),
            Err(err) => {
                // The worker never saw this start: count it here.
                self.worker.metrics().record_task_startup_attempt();
                self.worker.metrics().record_task_startup(false);
                Err(err)
            }
        };
        match started {
            Ok(handle) => {
                self.tasks.insert(id.clone(), handle);
            }
            Err(err) => self.worker.status().set(key, State::Failed, Some(err.status_trace())),
        }
    }

    /// Stops tasks: all are told first, then awaited (all within one `task.shutdown.graceful.timeout.ms`).
    pub(super) fn stop_tasks<'a>(&mut self, ids: impl IntoIterator<Item = &'a TaskId>) {
        let handles: Vec<_> = ids.into_iter().filter_map(|id| self.tasks.remove(id)).collect();
        for handle in &handles {
            handle.signal_stop();
        }
        crate::worker::await_tasks(handles, self.worker.config().task_shutdown_timeout);
    }

    /// Stops one task.
    pub(super) fn stop_task(&mut self, id: &TaskId) {
        self.stop_tasks([id]);
    }

    /// Stops every connector and task this worker runs and forgets its allocation.
    pub(super) fn stop_all_work(&mut self) {
        let tasks: Vec<TaskId> = self.tasks.keys().cloned().collect();
        self.stop_tasks(&tasks);
        // All connectors are told first, then awaited within one graceful timeout.
        let mut stopping = Vec::new();
        for (name, mut running) in std::mem::take(&mut self.connectors) {
            if let Some(instance) = running.instance.take() {
                instance.signal_stop();
                stopping.push(instance);
            }
            self.worker.status().set(StatusKey::Connector(name), State::Unassigned, None);
        }
        let deadline = std::time::Instant::now() + self.worker.config().task_shutdown_timeout;
        for instance in stopping {
            instance.wait(deadline.saturating_duration_since(std::time::Instant::now()));
        }
        self.allocation = super::Allocation::default();
    }

    /// Asks owned connectors that started, or asked for it, for their task configs, and publishes the answers that
    /// differ from the stored configs. Connector code runs on the connectors' threads: this only sends requests and
    /// reads the answers that arrived.
    pub(super) fn reconfigure_connectors(&mut self) {
        let mut answers = Vec::new();
        for (name, running) in &mut self.connectors {
            if let Some(instance) = running.instance.as_mut() {
                for event in instance.poll() {
                    match event {
                        ConnectorEvent::Started => {
                            self.reconfigure.insert(name.clone());
                        }
                        ConnectorEvent::TaskConfigs(answer) => answers.push((name.clone(), answer)),
                    }
                }
            }
            if running.reconfigure.swap(false, Ordering::AcqRel) {
                self.reconfigure.insert(name.clone());
            }
        }
        if self.joined.is_none() {
            // Asked again once the group is joined.
            self.reconfigure.extend(answers.into_iter().map(|(name, _)| name));
            return;
        }
        for (name, answer) in answers {
            self.publish_generated(&name, answer);
        }
        for name in std::mem::take(&mut self.reconfigure) {
            let Some(config) = self.snapshot.connector_configs.get(&name) else { continue };
            let max = tasks_max(config);
            let Some(instance) = self.connectors.get_mut(&name).and_then(|r| r.instance.as_mut()) else { continue };
            match instance.request_task_configs(max) {
                Request::Sent | Request::Gone => {}
                Request::Busy => {
                    self.reconfigure.insert(name);
                }
            }
        }
    }

    /// Checks the task configs connector `name` generated and publishes them when they differ from the stored ones.
    fn publish_generated(&mut self, name: &str, answer: Result<Vec<Config>, ConnectError>) {
        let Some(config) = self.snapshot.connector_configs.get(name).cloned() else { return };
        let max = tasks_max(&config);
        let generated = answer.and_then(|configs| {
            if configs.len() > max {
                Err(ConnectError::new(format!(
                    "The connector {name} has generated {} tasks, which is greater than {max}, the maximum number of tasks it is configured to create.",
                    configs.len()
                )))
            } else {
                Ok(configs)
            }
        });
        let mut configs = match generated {
            Ok(configs) => configs,
            Err(err) => {
                self.worker.status().set(
                    StatusKey::Connector(name.to_string()),
                    State::Failed,
                    Some(err.status_trace()),
                );
                return;
            }
        };
        // As Kafka's worker does, sink task configs carry the connector's topic subscription.
        for task in &mut configs {
            for key in ["topics", "topics.regex"] {
                if let Some(v) = config.get(key) {
                    task.entry(key.to_string()).or_insert_with(|| v.clone());
                }
            }
        }
        if configs == self.snapshot.task_configs_of(name) {
            return;
        }
        tracing::info!("connector {name} generated {} task configs; publishing them", configs.len());
        if let Err(err) = self.publish_task_configs(name, configs) {
            tracing::warn!("cannot publish the task configs of connector {name} yet: {err}");
            self.reconfigure.insert(name.to_string());
        }
    }

    /// Writes task configs (as leader) or posts them to the leader's internal endpoint.
    fn publish_task_configs(&mut self, name: &str, configs: Vec<Config>) -> Result<(), String> {
        if self.is_leader() {
            self.configs.put_task_configs(name, configs).map_err(|e| e.to_string())?;
            self.refresh_configs(super::CONFIG_READ_TIMEOUT);
            return Ok(());
        }
        let leader = self.leader_url().ok_or("no known leader")?;
        let url = reqwest::Url::parse(&leader)
            .and_then(|base| base.join(&format!("connectors/{name}/tasks")))
            .map_err(|e| format!("invalid leader URL {leader}: {e}"))?;
        let body = serde_json::to_vec(&configs).map_err(|e| e.to_string())?;
        let request =
            self.http.post(url).query(&[("forward", "true")]).header(reqwest::header::CONTENT_TYPE, "application/json");
        // Signed with the session key once there is one (KIP-507); the leader checks it in a sessioned group.
        let request = match &self.snapshot.session_key {
            Some(key) => crate::rest::signature::sign(request, body, key, self.config.inter_worker.signature_algorithm),
            None => request.body(body),
        };
        // The request is built inside the runtime: reqwest arms its timeout when it is sent.
        self.runtime.block_on(async move {
            let response = request.send().await.map_err(|e| e.to_string())?;
            let status = response.status();
            if status.is_success() {
                Ok(())
            } else {
                let body = response.text().await.unwrap_or_default();
                Err(format!("the leader answered {status}: {body}"))
            }
        })
    }

    /// Reads the config topic to its end and reacts to what changed.
    pub(super) fn refresh_configs(&mut self, timeout: Duration) {
        let new = match self.configs.refresh(timeout) {
            Ok(snapshot) => snapshot,
            Err(err) => {
                tracing::warn!("cannot read the config topic to its end: {err}");
                return;
            }
        };
        if new.offset == self.snapshot.offset {
            return;
        }
        let old = std::mem::replace(&mut self.snapshot, new);
        self.react_to_config_changes(&old);
    }

    fn react_to_config_changes(&mut self, old: &ClusterConfigState) {
        let new_names: BTreeSet<String> = self.snapshot.connector_configs.keys().cloned().collect();
        let old_names: BTreeSet<String> = old.connector_configs.keys().cloned().collect();
        let membership_changed = new_names != old_names;
        let mut task_configs_changed = false;

        // Deleted connectors: stop what runs here now; the next rebalance revokes them formally.
        for name in old_names.difference(&new_names) {
            let name = name.clone();
            let tasks: Vec<TaskId> = self.tasks.keys().filter(|t| t.connector == name).cloned().collect();
            self.stop_tasks(&tasks);
            for task in tasks {
                self.worker.status().set(StatusKey::Task(task), State::Destroyed, None);
            }
            self.stop_connector_as(&name, State::Destroyed);
        }

        let names: Vec<String> = self.snapshot.connector_configs.keys().cloned().collect();
        for name in names {
            let owned = self.connectors.contains_key(&name);
            let config_changed = old.connector_configs.get(&name) != self.snapshot.connector_configs.get(&name);
            let target_changed = old.target_state(&name) != self.snapshot.target_state(&name);
            let old_tasks = old.task_configs_of(&name);
            let new_tasks = self.snapshot.task_configs_of(&name);
            if old_tasks != new_tasks {
                task_configs_changed = true;
                // Tasks whose config changed restart here if they stay assigned here; removed ones stop.
                let changed: Vec<TaskId> = self
                    .tasks
                    .keys()
                    .filter(|t| t.connector == name)
                    .filter(|t| old.task_configs.get(*t) != self.snapshot.task_configs.get(*t))
                    .cloned()
                    .collect();
                self.stop_tasks(&changed);
                for task in changed {
                    if self.snapshot.task_configs.contains_key(&task) {
                        self.start_task(&task);
                    } else {
                        self.allocation.tasks.remove(&task);
                    }
                }
            }
            if owned && old.connector_configs.contains_key(&name) && (config_changed || target_changed) {
                tracing::info!("connector {name}: configuration or target state changed; restarting it");
                self.stop_connector_as(&name, State::Unassigned);
                self.start_connector(&name);
            }
            if target_changed {
                let paused = self.snapshot.target_state(&name) == TargetState::Paused;
                for (id, handle) in &self.tasks {
                    if id.connector == name {
                        handle.set_paused(paused);
                    }
                }
            }
            if self.snapshot.inconsistent.contains(&name) && owned {
                self.reconfigure.insert(name.clone());
            }
        }
        // Restart requests and cluster log levels written since this worker started (KIP-745, KIP-976).
        let restarts: Vec<(String, RestartRequest)> = self
            .snapshot
            .restart_requests
            .iter()
            .filter(|(name, (offset, _))| {
                *offset >= self.startup_config_offset && old.restart_requests.get(*name).map(|r| r.0) != Some(*offset)
            })
            .map(|(name, (_, request))| (name.clone(), *request))
            .collect();
        for (name, request) in restarts {
            self.apply_restart_request(&name, request);
        }
        for (namespace, (offset, level)) in &self.snapshot.logger_levels {
            if *offset >= self.startup_config_offset && old.logger_levels.get(namespace).map(|l| l.0) != Some(*offset) {
                match crate::logging::set_level(namespace, level) {
                    Ok(_) => tracing::info!("applied the cluster-wide log level {level} of {namespace}"),
                    Err(err) => tracing::warn!("cannot apply the cluster-wide log level of {namespace}: {err}"),
                }
            }
        }
        if (membership_changed || task_configs_changed) && self.is_leader() {
            // New, deleted or re-tasked connectors change what must be assigned.
            self.request_new_round();
        }
    }

    /// The connector's running instance, for restart requests.
    pub(super) fn restart_connector_here(&mut self, name: &str) {
        self.stop_connector_as(name, State::Restarting);
        self.start_connector(name);
    }

    /// Restarts a task this worker runs.
    pub(super) fn restart_task_here(&mut self, id: &TaskId) {
        self.stop_task(id);
        self.start_task(id);
    }
}
