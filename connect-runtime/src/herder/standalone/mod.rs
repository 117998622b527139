//! The standalone herder: runs connectors in this process, those given on the command line and those created over
//! the REST API, with their configurations in memory (as Kafka Connect's `StandaloneHerder`: a restart forgets the
//! ones created over REST) and source offsets in a file.
//!
//! Connector instances (`start`, `task_configs`, `stop`) and tasks run on threads of their own through the
//! [`Worker`]; the herder sends them requests and applies their answers on its ticks, so a connector that blocks
//! never blocks it. REST requests are served from the same loop, one at a time, so no lock guards the
//! connectors. A connector that fails is marked FAILED and the others go on.

mod connector;
mod requests;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use connect_api::ConnectError;
use tokio::sync::mpsc;

use crate::config::ConnectorConfig;
use crate::herder::api::HerderRequest;
use crate::plugins::{Plugin, PluginRegistry};
use crate::storage::kafka::TargetState;
use crate::storage::{FileOffsetStore, MemoryStatusStore};
use crate::worker::Worker;
use connector::Connector;

/// How often the loop looks at the stop flag and at task reconfiguration requests when no request arrives.
const TICK: Duration = Duration::from_millis(100);

/// What the standalone herder works with.
pub struct StandaloneParts {
    /// Runs the tasks; its status board holds every state.
    pub worker: Worker,
    /// The plugins (validation, connector types, masking).
    pub registry: Arc<PluginRegistry>,
    /// The offset file the worker's source tasks commit to (listed and changed over REST, KIP-875).
    pub offsets: Arc<FileOffsetStore>,
    /// The topics connectors used (KIP-558), fed by the status board.
    pub topics: Arc<MemoryStatusStore>,
    /// The Kafka cluster id (`GET /`).
    pub cluster_id: String,
    /// The runtime the REST API runs on; the herder blocks on it for its request queue and admin calls.
    pub runtime: tokio::runtime::Handle,
}

/// Runs connectors in this process.
pub struct StandaloneHerder {
    worker: Worker,
    registry: Arc<PluginRegistry>,
    offsets: Arc<FileOffsetStore>,
    topics: Arc<MemoryStatusStore>,
    cluster_id: String,
    runtime: tokio::runtime::Handle,
    connectors: BTreeMap<String, Connector>,
}

impl StandaloneHerder {
    /// A herder with no connectors yet.
    pub fn new(parts: StandaloneParts) -> Self {
        let StandaloneParts { worker, registry, offsets, topics, cluster_id, runtime } = parts;
        StandaloneHerder { worker, registry, offsets, topics, cluster_id, runtime, connectors: BTreeMap::new() }
    }

    /// Starts a validated connector and its tasks. A failure of the connector itself is recorded as its
    /// FAILED status and returned.
    pub fn start_connector(&mut self, config: ConnectorConfig, plugin: Arc<Plugin>) -> Result<(), ConnectError> {
        self.add_connector(config, plugin, TargetState::Started)
    }

    fn add_connector(
        &mut self,
        config: ConnectorConfig,
        plugin: Arc<Plugin>,
        target: TargetState,
    ) -> Result<(), ConnectError> {
        let name = config.name.clone();
        let connector = self.connectors.entry(name).or_insert_with(|| Connector::new(config, plugin, target));
        connector.start(&self.worker)
    }

    /// Serves REST requests and applies task reconfiguration requests until `stop` is set, then stops everything.
    pub fn run(mut self, stop: &AtomicBool, mut requests: mpsc::Receiver<HerderRequest>) {
        while !stop.load(Ordering::Acquire) {
            // The timer must be created inside the runtime: hence the async block.
            match self.runtime.block_on(async { tokio::time::timeout(TICK, requests.recv()).await }) {
                Ok(Some(request)) => self.handle_request(request),
                // Nobody can send any more: only the stop flag matters now.
                Ok(None) => std::thread::sleep(TICK),
                Err(_elapsed) => {}
            }
            self.tick();
        }
        drop(requests);
        self.stop();
    }

    /// Applies what connectors answered and asked for since the last call (task configurations, reconfigurations).
    pub fn tick(&mut self) {
        for connector in self.connectors.values_mut() {
            connector.tick(&self.worker);
        }
    }

    /// Stops every task and connector: tasks commit their offsets on the way out.
    pub fn stop(&mut self) {
        for connector in self.connectors.values() {
            connector.signal_stop();
        }
        for (_, mut connector) in std::mem::take(&mut self.connectors) {
            connector.halt(&self.worker, crate::worker::status::State::Unassigned);
        }
    }
}
