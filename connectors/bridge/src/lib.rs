//! # connect-bridge
//!
//! Strimzi Kafka Bridge's HTTP API as a connect-rs built-in source connector. The connector has one task; the
//! task owns the HTTP server ([`server`]) on a tokio runtime of its own. Produce requests become the task's
//! polled records, so the worker's producer sends them and the response waits for the broker's acknowledgements
//! ([`produce`]); consumers are rdkafka consumers owned by the task ([`consumers`]); topic queries use an admin
//! client ([`topics`]).

pub mod config;
pub mod consumers;
pub mod error;
pub mod format;
pub mod produce;
pub mod server;
pub mod topics;

use std::sync::Arc;
use std::time::Duration;

use connect_api::config::ConfigValueInfo;
use connect_api::{
    Config, ConfigDef, ConnectError, Connector, ConnectorContext, RecordMetadata, Result, SourceConnector,
    SourceRecord, SourceTask, SourceTaskContext,
};

use config::BridgeConfig;
use produce::Intake;

/// The connector's class name.
pub const BRIDGE_CONNECTOR_CLASS: &str = "io.connectrs.bridge.HttpBridgeConnector";

/// The Bridge as a source connector: one task serving the HTTP API.
#[derive(Default)]
pub struct HttpBridgeConnector {
    config: Config,
}

impl Connector for HttpBridgeConnector {
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }

    fn config_def(&self) -> ConfigDef {
        config::config_def()
    }

    fn start(&mut self, _context: ConnectorContext, config: &Config) -> Result<()> {
        BridgeConfig::parse(config)?;
        self.config = config.clone();
        Ok(())
    }

    /// One task whatever `max_tasks` says: one HTTP server per Bridge.
    fn task_configs(&mut self, _max_tasks: usize) -> Result<Vec<Config>> {
        Ok(vec![self.config.clone()])
    }

    fn stop(&mut self) -> Result<()> {
        Ok(())
    }

    fn validate(&self, config: &Config) -> Vec<ConfigValueInfo> {
        config::validate(config)
    }
}

impl SourceConnector for HttpBridgeConnector {
    type Task = HttpBridgeTask;
}

/// How long `poll` waits for produce requests when nothing is in flight; with records in flight it only looks, so
/// that their acknowledgements reach the waiting requests at once.
pub(crate) const IDLE_POLL: Duration = Duration::from_millis(200);
const BUSY_POLL: Duration = Duration::from_millis(1);

/// The task: runs the HTTP server and hands produce requests to the runtime.
#[derive(Default)]
pub struct HttpBridgeTask {
    server: Option<server::RunningServer>,
    intake: Option<Intake>,
}

impl SourceTask for HttpBridgeTask {
    fn start(&mut self, _context: SourceTaskContext, config: &Config) -> Result<()> {
        let config = BridgeConfig::parse(config)?;
        let (intake, sender) = Intake::new();
        let server = server::RunningServer::start(Arc::new(config), sender)?;
        self.server = Some(server);
        self.intake = Some(intake);
        Ok(())
    }

    fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let Some(intake) = self.intake.as_mut() else {
            return Err(ConnectError::new("the Bridge task was not started"));
        };
        let wait = if intake.in_flight() == 0 { IDLE_POLL } else { BUSY_POLL };
        Ok(intake.take(wait))
    }

    fn commit_record(&mut self, _record: &SourceRecord, metadata: Option<&RecordMetadata>) -> Result<()> {
        if let Some(intake) = self.intake.as_mut() {
            intake.acknowledged(metadata);
        }
        Ok(())
    }

    fn record_failed(&mut self, record: &SourceRecord, error: ConnectError) -> Result<()> {
        if let Some(intake) = self.intake.as_mut() {
            intake.failed(record, &error);
        }
        Ok(())
    }

    fn stop(&mut self) -> Result<()> {
        if let Some(server) = self.server.take() {
            server.stop();
        }
        // Requests still waiting for acknowledgements get an error answer when their reply is dropped.
        self.intake = None;
        Ok(())
    }
}
