//! The distributed worker's own keys (Kafka Connect's `DistributedConfig`), on top of [`WorkerConfig`].

use std::time::Duration;

use connect_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, Validator};

use super::{ConfigError, WorkerConfig};

/// Keys only a distributed worker reads; a standalone worker accepts them without warning.
pub(crate) const DISTRIBUTED_KEYS: &[&str] = &[
    "group.id",
    "config.storage.topic",
    "offset.storage.topic",
    "status.storage.topic",
    "config.storage.replication.factor",
    "offset.storage.replication.factor",
    "status.storage.replication.factor",
    "config.storage.partitions",
    "offset.storage.partitions",
    "status.storage.partitions",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "rebalance.timeout.ms",
    "scheduled.rebalance.max.delay.ms",
    "connect.protocol",
    "worker.sync.timeout.ms",
    "worker.unsync.backoff.ms",
    "rest.advertised.host.name",
    "rest.advertised.port",
    "rest.advertised.listener",
    "rest.host.name",
    "rest.port",
    "listeners",
];

/// Settings of one internal topic.
#[derive(Clone, Debug, PartialEq)]
pub struct TopicSettings {
    /// Topic name.
    pub name: String,
    /// Partitions (-1: broker default).
    pub partitions: i32,
    /// Replication factor (-1: broker default).
    pub replication_factor: i32,
}

/// A distributed worker's configuration.
#[derive(Clone, Debug)]
pub struct DistributedConfig {
    /// The common worker settings.
    pub worker: WorkerConfig,
    /// `group.id`.
    pub group_id: String,
    /// The config topic (always 1 partition).
    pub config_topic: TopicSettings,
    /// The offsets topic.
    pub offset_topic: TopicSettings,
    /// The status topic.
    pub status_topic: TopicSettings,
    /// `session.timeout.ms`.
    pub session_timeout: Duration,
    /// `heartbeat.interval.ms`.
    pub heartbeat_interval: Duration,
    /// `rebalance.timeout.ms`.
    pub rebalance_timeout: Duration,
    /// `scheduled.rebalance.max.delay.ms`.
    pub scheduled_rebalance_max_delay: Duration,
    /// `connect.protocol`: `eager`, `compatible` or `sessioned`.
    pub connect_protocol: String,
    /// `worker.sync.timeout.ms`.
    pub worker_sync_timeout: Duration,
    /// `worker.unsync.backoff.ms`.
    pub worker_unsync_backoff: Duration,
    /// `listeners`: where the REST API listens (`http://host:port`).
    pub listeners: Vec<String>,
    /// The REST URL other workers use to reach this one (`http://host:port/`).
    pub advertised_url: String,
    /// `topic.tracking.enable`: record the topics each connector uses (KIP-558).
    pub topic_tracking: bool,
    /// `topic.tracking.allow.reset`: allow `PUT /connectors/{name}/topics/reset`.
    pub topic_tracking_allow_reset: bool,
}

fn def() -> ConfigDef {
    let ms = |name: &str, default: &str| {
        ConfigKey::new(name, ConfigType::Int)
            .default_value(default)
            .validator(Validator::Range { min: Some(0.0), max: None })
            .importance(Importance::Low)
    };
    let required = |name: &str, doc: &str| {
        ConfigKey::new(name, ConfigType::String)
            .validator(Validator::NonEmptyString)
            .importance(Importance::High)
            .documentation(doc)
    };
    let count = |name: &str, default: &str| {
        ConfigKey::new(name, ConfigType::Int).default_value(default).importance(Importance::Low)
    };
    ConfigDef::new()
        .define(required("group.id", "The group of workers this worker belongs to."))
        .define(required("config.storage.topic", "The topic of connector and task configurations."))
        .define(required("offset.storage.topic", "The topic of source connector offsets."))
        .define(required("status.storage.topic", "The topic of connector and task statuses."))
        .define(count("config.storage.replication.factor", "3"))
        .define(count("offset.storage.replication.factor", "3"))
        .define(count("status.storage.replication.factor", "3"))
        .define(count("offset.storage.partitions", "25"))
        .define(count("status.storage.partitions", "5"))
        .define(ms("session.timeout.ms", "10000"))
        .define(ms("heartbeat.interval.ms", "3000"))
        .define(ms("rebalance.timeout.ms", "60000"))
        .define(ms("scheduled.rebalance.max.delay.ms", "300000"))
        .define(ms("worker.sync.timeout.ms", "3000"))
        .define(ms("worker.unsync.backoff.ms", "300000"))
        .define(
            ConfigKey::new("connect.protocol", ConfigType::String).default_value("sessioned").validator(
                Validator::CaseInsensitiveOneOf(vec!["eager".into(), "compatible".into(), "sessioned".into()]),
            ),
        )
        .define(ConfigKey::new("listeners", ConfigType::List).default_value("http://:8083"))
        .define(ConfigKey::new("rest.advertised.host.name", ConfigType::String).optional())
        .define(ConfigKey::new("rest.advertised.port", ConfigType::Int).optional())
        .define(ConfigKey::new("rest.advertised.listener", ConfigType::String).optional())
        .define(ConfigKey::new("topic.tracking.enable", ConfigType::Boolean).default_value("true"))
        .define(ConfigKey::new("topic.tracking.allow.reset", ConfigType::Boolean).default_value("true"))
}

/// `(scheme, host, port)` of a listener such as `http://:8083` or `http://127.0.0.1:8083`.
pub fn parse_listener(listener: &str) -> Result<(String, String, u16), String> {
    let (scheme, rest) =
        listener.split_once("://").ok_or_else(|| format!("listener {listener} must look like http://host:port"))?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" {
        return Err(format!("listener {listener}: only http:// listeners are supported by this version of connect-rs"));
    }
    let (host, port) =
        rest.trim_end_matches('/').rsplit_once(':').ok_or_else(|| format!("listener {listener} has no port"))?;
    let port: u16 = port.parse().map_err(|_| format!("listener {listener} has an invalid port"))?;
    Ok((scheme, host.trim_matches(['[', ']']).to_string(), port))
}

impl DistributedConfig {
    /// Checks the distributed keys of a worker configuration.
    pub fn from_worker(worker: WorkerConfig) -> Result<Self, ConfigError> {
        let file = worker.file.clone();
        let def = def();
        for info in def.validate(&worker.props) {
            if let Some(message) = info.errors.first() {
                return Err(ConfigError::new(&file, Some(&info.name), message.clone()));
            }
        }
        let parsed = def.parse(&worker.props).map_err(|e| ConfigError::new(&file, None, e.to_string()))?;
        let ms = |key: &str| Duration::from_millis(parsed.int(key).map(|v| v.max(0) as u64).unwrap_or_default());
        let text = |key: &str| parsed.string(key).map(|s| s.trim().to_string()).unwrap_or_default();
        let int = |key: &str| parsed.int(key).unwrap_or(-1);
        if worker.props.contains_key("config.storage.partitions") {
            tracing::warn!("config.storage.partitions is ignored: the config topic always has exactly one partition");
        }
        let listeners: Vec<String> = parsed.list("listeners").unwrap_or_default().to_vec();
        let first = listeners
            .first()
            .ok_or_else(|| ConfigError::new(&file, Some("listeners"), "must name at least one listener"))?;
        let (scheme, host, port) = parse_listener(first).map_err(|m| ConfigError::new(&file, Some("listeners"), m))?;
        for other in listeners.iter().skip(1) {
            parse_listener(other).map_err(|m| ConfigError::new(&file, Some("listeners"), m))?;
        }
        let advertised_host = parsed
            .optional_string("rest.advertised.host.name")
            .ok()
            .flatten()
            .map(str::to_string)
            .unwrap_or_else(|| if host.is_empty() || host == "0.0.0.0" { local_host_name() } else { host.clone() });
        let advertised_port = parsed.int("rest.advertised.port").ok().map(|p| p as u16).unwrap_or(port);
        let heartbeat_interval = ms("heartbeat.interval.ms");
        let session_timeout = ms("session.timeout.ms");
        if heartbeat_interval >= session_timeout {
            return Err(ConfigError::new(
                &file,
                Some("heartbeat.interval.ms"),
                "must be lower than session.timeout.ms",
            ));
        }
        Ok(DistributedConfig {
            group_id: text("group.id"),
            config_topic: TopicSettings {
                name: text("config.storage.topic"),
                partitions: 1,
                replication_factor: int("config.storage.replication.factor"),
            },
            offset_topic: TopicSettings {
                name: text("offset.storage.topic"),
                partitions: int("offset.storage.partitions"),
                replication_factor: int("offset.storage.replication.factor"),
            },
            status_topic: TopicSettings {
                name: text("status.storage.topic"),
                partitions: int("status.storage.partitions"),
                replication_factor: int("status.storage.replication.factor"),
            },
            session_timeout,
            heartbeat_interval,
            rebalance_timeout: ms("rebalance.timeout.ms"),
            scheduled_rebalance_max_delay: ms("scheduled.rebalance.max.delay.ms"),
            connect_protocol: text("connect.protocol").to_ascii_lowercase(),
            worker_sync_timeout: ms("worker.sync.timeout.ms"),
            worker_unsync_backoff: ms("worker.unsync.backoff.ms"),
            listeners,
            advertised_url: format!("{scheme}://{advertised_host}:{advertised_port}/"),
            topic_tracking: parsed.boolean("topic.tracking.enable").unwrap_or(true),
            topic_tracking_allow_reset: parsed.boolean("topic.tracking.allow.reset").unwrap_or(true),
            worker,
        })
    }

    /// The worker id in statuses: `host:port` of the advertised REST URL, as Kafka Connect.
    pub fn worker_id(&self) -> String {
        self.advertised_url
            .trim_end_matches('/')
            .split_once("://")
            .map(|(_, rest)| rest.to_string())
            .unwrap_or_default()
    }
}

fn local_host_name() -> String {
    std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "localhost".to_string())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;

    fn worker(pairs: &[(&str, &str)]) -> WorkerConfig {
        let mut props: BTreeMap<String, String> = BTreeMap::from([("bootstrap.servers".into(), "k:9092".into())]);
        props.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        WorkerConfig::from_props(Path::new("d.properties"), props).unwrap()
    }

    #[test]
    fn defaults_follow_kafka_connect() {
        let cfg = DistributedConfig::from_worker(worker(&[
            ("group.id", "connect-cluster"),
            ("config.storage.topic", "c"),
            ("offset.storage.topic", "o"),
            ("status.storage.topic", "s"),
            ("listeners", "http://127.0.0.1:8083"),
        ]))
        .unwrap();
        assert_eq!(cfg.offset_topic.partitions, 25);
        assert_eq!(cfg.status_topic.partitions, 5);
        assert_eq!(cfg.config_topic.partitions, 1);
        assert_eq!(cfg.session_timeout, Duration::from_secs(10));
        assert_eq!(cfg.connect_protocol, "sessioned");
        assert_eq!(cfg.advertised_url, "http://127.0.0.1:8083/");
        assert_eq!(cfg.worker_id(), "127.0.0.1:8083");
    }

    #[test]
    fn missing_group_id_is_named() {
        let err = DistributedConfig::from_worker(worker(&[])).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("group.id"));
        let err = DistributedConfig::from_worker(worker(&[
            ("group.id", "g"),
            ("config.storage.topic", "c"),
            ("offset.storage.topic", "o"),
            ("status.storage.topic", "s"),
            ("listeners", "https://:8443"),
        ]))
        .unwrap_err();
        assert!(err.message.contains("only http://"), "{err}");
    }
}
