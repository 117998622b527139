//! # connect-exporter
//!
//! kafka_exporter (danielqsj/kafka_exporter, the exporter Strimzi deploys) as a connect-rs built-in source
//! connector: its one task serves the Prometheus metrics of a Kafka cluster (brokers, topic offsets, consumer
//! group offsets and lag) on a listener of its own ([`server`]), with kafka_exporter's metric names and flags.
//! The collection ([`collect`]) is batched per leader and per coordinator and bounded by a deadline; its Kafka
//! client ([`kafka`]) is our own, on the `kafka-protocol` crate. The task produces no records.

pub mod cluster;
pub mod collect;
pub mod config;
pub mod flags;
pub mod groups;
pub mod kafka;
pub mod lag;
pub mod metadata;
pub mod offsets;
pub mod process;
pub mod render;
pub mod server;

use std::time::Duration;

use connect_api::config::ConfigValueInfo;
use connect_api::{
    Config, ConfigDef, ConnectError, Connector, ConnectorContext, Result, SourceConnector, SourceRecord, SourceTask,
    SourceTaskContext,
};

pub use cluster::set_worker_cluster;
pub use config::ExporterConfig;
pub use server::RunningExporter;

/// The connector's class name.
pub const EXPORTER_CONNECTOR_CLASS: &str = "io.connectrs.exporter.KafkaExporterConnector";

/// How long `poll` waits: the task has no records, only a server to keep running.
const IDLE_POLL: Duration = Duration::from_millis(500);

/// The Kafka Exporter as a source connector: one task serving the metrics.
#[derive(Default)]
pub struct KafkaExporterConnector {
    config: Config,
}

impl Connector for KafkaExporterConnector {
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }

    fn config_def(&self) -> ConfigDef {
        config::config_def()
    }

    fn start(&mut self, _context: ConnectorContext, config: &Config) -> Result<()> {
        ExporterConfig::parse(config)?;
        self.config = config.clone();
        Ok(())
    }

    /// One task whatever `max_tasks` says: one listener per exporter.
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

impl SourceConnector for KafkaExporterConnector {
    type Task = KafkaExporterTask;
}

/// The task: runs the exporter's listener until stopped.
#[derive(Default)]
pub struct KafkaExporterTask {
    exporter: Option<RunningExporter>,
}

impl SourceTask for KafkaExporterTask {
    fn start(&mut self, _context: SourceTaskContext, config: &Config) -> Result<()> {
        let config = ExporterConfig::parse(config)?;
        self.exporter = Some(RunningExporter::start(config)?);
        Ok(())
    }

    fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        if self.exporter.is_none() {
            return Err(ConnectError::new("the Kafka Exporter task was not started"));
        }
        std::thread::sleep(IDLE_POLL);
        Ok(Vec::new())
    }

    fn stop(&mut self) -> Result<()> {
        if let Some(exporter) = self.exporter.take() {
            exporter.stop();
        }
        Ok(())
    }
}
