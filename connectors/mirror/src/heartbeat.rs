//! MirrorHeartbeatConnector: one task that writes a heartbeat to `heartbeats` on the target every
//! `emit.heartbeats.interval.seconds`. Heartbeats topics are replicated like any other topic, so a cluster's
//! `heartbeats` shows every flow that reaches it, and `B.A.heartbeats` shows the chain A -> B -> here.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use connect_api::config::ConfigValueInfo;
use connect_api::{
    Config, ConfigDef, ConnectError, Connector, ConnectorContext, Result, Schema, SourceConnector, SourceMap,
    SourceRecord, SourceTask, SourceTaskContext, Value,
};

use crate::clients::{self, Admin, Cluster, Role, TopicSpec};
use crate::config;
use crate::wire::Heartbeat;

/// Kafka's `org.apache.kafka.connect.mirror.MirrorHeartbeatConnector`.
#[derive(Default)]
pub struct MirrorHeartbeatConnector {
    config: Config,
    enabled: bool,
}

impl Connector for MirrorHeartbeatConnector {
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }

    fn config_def(&self) -> ConfigDef {
        config::heartbeat_def()
    }

    fn validate(&self, config: &Config) -> Vec<ConfigValueInfo> {
        config::validate(&config::heartbeat_def(), config)
    }

    fn start(&mut self, _context: ConnectorContext, config: &Config) -> Result<()> {
        let (parsed, _) = config::parse(&config::heartbeat_def(), config)?;
        clients::client_config(config, Cluster::Target, Role::Admin)?;
        self.enabled = parsed.boolean("emit.heartbeats.enabled")?
            && config::interval(&parsed, "emit.heartbeats.interval.seconds")?.is_some();
        self.config = config.clone();
        Ok(())
    }

    fn task_configs(&mut self, _max_tasks: usize) -> Result<Vec<Config>> {
        // One task is enough to emit one record a second.
        Ok(if self.enabled { vec![self.config.clone()] } else { Vec::new() })
    }

    fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

impl SourceConnector for MirrorHeartbeatConnector {
    type Task = MirrorHeartbeatTask;
}

struct Running {
    topic: String,
    source_alias: String,
    target_alias: String,
    interval: Duration,
    next: Instant,
}

/// Kafka's `MirrorHeartbeatTask`.
#[derive(Default)]
pub struct MirrorHeartbeatTask {
    running: Option<Running>,
}

impl SourceTask for MirrorHeartbeatTask {
    fn start(&mut self, _context: SourceTaskContext, config: &Config) -> Result<()> {
        let (parsed, mirror) = config::parse(&config::heartbeat_def(), config)?;
        let interval = config::interval(&parsed, "emit.heartbeats.interval.seconds")?
            .ok_or_else(|| ConnectError::config("emit.heartbeats.interval.seconds", "heartbeats are disabled"))?;
        let topic = mirror.policy.heartbeats_topic().to_string();
        let target = Admin::new(config, Cluster::Target, mirror.admin_timeout)?;
        target.create_topics(&[TopicSpec {
            name: &topic,
            partitions: 1,
            replication_factor: config::short(&parsed, "heartbeats.topic.replication.factor")?.into(),
            configs: vec![("cleanup.policy".into(), "compact".into())],
        }])?;
        self.running = Some(Running {
            topic,
            source_alias: mirror.source_alias,
            target_alias: mirror.target_alias,
            interval,
            next: Instant::now(),
        });
        Ok(())
    }

    fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let Some(running) = self.running.as_mut() else {
            return Err(ConnectError::new("MirrorHeartbeatTask polled before start"));
        };
        let wait = running.next.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            std::thread::sleep(wait.min(Duration::from_millis(500)));
            return Ok(Vec::new());
        }
        running.next = Instant::now() + running.interval;
        let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        let heartbeat = Heartbeat {
            source_cluster_alias: running.source_alias.clone(),
            target_cluster_alias: running.target_alias.clone(),
            timestamp,
        };
        let partition = SourceMap::new()
            .with("sourceClusterAlias", heartbeat.source_cluster_alias.as_str())
            .with("targetClusterAlias", heartbeat.target_cluster_alias.as_str());
        Ok(vec![SourceRecord::new(
            partition,
            SourceMap::new().with("offset", 0i64),
            running.topic.clone(),
            Some(Schema::bytes()),
            Value::from(heartbeat.value().as_slice()),
        )
        .with_key(Some(Schema::bytes()), Value::from(heartbeat.key().as_slice()))
        .with_partition(0)
        .with_timestamp(timestamp)])
    }

    fn stop(&mut self) -> Result<()> {
        self.running = None;
        Ok(())
    }
}
