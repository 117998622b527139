//! The distributed worker's own keys (Kafka Connect's `DistributedConfig`), on top of [`WorkerConfig`].

use std::path::Path;
use std::time::Duration;

use connect_api::config::{ConfigDef, ConfigKey, ConfigType, ConfigValue, Importance, ParsedConfig, Validator};

use super::rest::{Listener, RestConfig, Scheme};
use super::{ConfigError, WorkerConfig};
use crate::rest::signature::{HmacAlgorithm, UnknownAlgorithm};

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
    "inter.worker.key.generation.algorithm",
    "inter.worker.key.size",
    "inter.worker.key.ttl.ms",
    "inter.worker.signature.algorithm",
    "inter.worker.verification.algorithms",
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
    /// `listeners`: where the REST API listens (`http://host:port`, `https://host:port`).
    pub listeners: Vec<String>,
    /// The REST URL other workers use to reach this one (`http://host:port/` or `https://host:port/`).
    pub advertised_url: String,
    /// `topic.tracking.enable`: record the topics each connector uses (KIP-558).
    pub topic_tracking: bool,
    /// `topic.tracking.allow.reset`: allow `PUT /connectors/{name}/topics/reset`.
    pub topic_tracking_allow_reset: bool,
    /// The REST server's listeners, TLS and authentication.
    pub rest: RestConfig,
    /// Internal request signing (KIP-507).
    pub inter_worker: InterWorkerConfig,
}

/// The `inter.worker.*` keys: how the leader's session key is made and how internal requests are signed and
/// verified (KIP-507).
#[derive(Clone, Debug, PartialEq)]
pub struct InterWorkerConfig {
    /// `inter.worker.key.generation.algorithm`.
    pub key_generation_algorithm: HmacAlgorithm,
    /// `inter.worker.key.size`, in bits; `None`: the algorithm's default.
    pub key_size_bits: Option<u32>,
    /// `inter.worker.key.ttl.ms`: how long the leader keeps a session key before rotating it.
    pub key_ttl: Duration,
    /// `inter.worker.signature.algorithm`: what this worker signs its internal requests with.
    pub signature_algorithm: HmacAlgorithm,
    /// `inter.worker.verification.algorithms`: the signatures this worker accepts.
    pub verification_algorithms: Vec<HmacAlgorithm>,
}

impl Default for InterWorkerConfig {
    fn default() -> Self {
        InterWorkerConfig {
            key_generation_algorithm: HmacAlgorithm::HmacSha256,
            key_size_bits: None,
            key_ttl: Duration::from_secs(3600),
            signature_algorithm: HmacAlgorithm::HmacSha256,
            verification_algorithms: vec![HmacAlgorithm::HmacSha256],
        }
    }
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
        .define(ConfigKey::new("inter.worker.key.generation.algorithm", ConfigType::String).default_value("HmacSHA256"))
        .define(ConfigKey::new("inter.worker.key.size", ConfigType::Int).optional())
        .define(
            ConfigKey::new("inter.worker.key.ttl.ms", ConfigType::Int)
                .default_value("3600000")
                .validator(Validator::Range { min: Some(0.0), max: Some(i32::MAX as f64) }),
        )
        .define(ConfigKey::new("inter.worker.signature.algorithm", ConfigType::String).default_value("HmacSHA256"))
        .define(ConfigKey::new("inter.worker.verification.algorithms", ConfigType::List).default_value("HmacSHA256"))
        .define(ConfigKey::new("rest.advertised.host.name", ConfigType::String).optional())
        .define(ConfigKey::new("rest.advertised.port", ConfigType::Int).optional())
        .define(ConfigKey::new("rest.advertised.listener", ConfigType::String).optional())
        .define(ConfigKey::new("topic.tracking.enable", ConfigType::Boolean).default_value("true"))
        .define(ConfigKey::new("topic.tracking.allow.reset", ConfigType::Boolean).default_value("true"))
}

/// `(scheme, host, port)` of a listener such as `http://:8083` or `https://127.0.0.1:8443`.
pub fn parse_listener(listener: &str) -> Result<(String, String, u16), String> {
    let listener = Listener::parse(listener)?;
    Ok((listener.scheme.as_str().to_string(), listener.host, listener.port))
}

fn inter_worker(file: &Path, parsed: &ParsedConfig) -> Result<InterWorkerConfig, ConfigError> {
    let algorithm = |key: &str| -> Result<HmacAlgorithm, ConfigError> {
        let name = parsed.string(key).map_err(|e| ConfigError::new(file, Some(key), e.to_string()))?;
        name.parse().map_err(|e: UnknownAlgorithm| ConfigError::new(file, Some(key), e.to_string()))
    };
    let key_generation_algorithm = algorithm("inter.worker.key.generation.algorithm")?;
    let signature_algorithm = algorithm("inter.worker.signature.algorithm")?;
    let key = "inter.worker.verification.algorithms";
    let mut verification_algorithms = Vec::new();
    for name in parsed.list(key).unwrap_or_default().iter().filter(|n| !n.trim().is_empty()) {
        let algorithm: HmacAlgorithm =
            name.parse().map_err(|e: UnknownAlgorithm| ConfigError::new(file, Some(key), e.to_string()))?;
        verification_algorithms.push(algorithm);
    }
    if verification_algorithms.is_empty() {
        return Err(ConfigError::new(file, Some(key), "At least one verification algorithm must be provided"));
    }
    if !verification_algorithms.contains(&signature_algorithm) {
        return Err(ConfigError::new(
            file,
            Some("inter.worker.signature.algorithm"),
            format!("Signature algorithm must be present in {key} list"),
        ));
    }
    let key_size_bits = match parsed.get("inter.worker.key.size") {
        Ok(ConfigValue::Int(bits)) => {
            // Java's HMAC key generators refuse keys shorter than 40 bits.
            if *bits < 40 {
                return Err(ConfigError::new(
                    file,
                    Some("inter.worker.key.size"),
                    format!("Invalid value {bits}: Key length must be at least 40 bits"),
                ));
            }
            Some(*bits as u32)
        }
        _ => None,
    };
    let key_ttl =
        Duration::from_millis(parsed.int("inter.worker.key.ttl.ms").map(|v| v.max(0) as u64).unwrap_or(3_600_000));
    Ok(InterWorkerConfig {
        key_generation_algorithm,
        key_size_bits,
        key_ttl,
        signature_algorithm,
        verification_algorithms,
    })
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
        // The group membership client speaks plain TCP only: a secured cluster would let the worker's data clients
        // in but never its membership, so refuse it plainly rather than fail later.
        if let Some(protocol) = worker.props.get("security.protocol").map(|p| p.trim().to_ascii_uppercase()) {
            if !protocol.is_empty() && protocol != "PLAINTEXT" {
                return Err(ConfigError::new(
                    &file,
                    Some("security.protocol"),
                    format!(
                        "{protocol} is not supported in distributed mode: connect-rs's group membership client \
                         speaks PLAINTEXT only (standalone mode and the tasks' producer.*/consumer.* clients support \
                         SSL and SASL)"
                    ),
                ));
            }
        }
        if worker.props.contains_key("config.storage.partitions") {
            tracing::warn!("config.storage.partitions is ignored: the config topic always has exactly one partition");
        }
        let listeners: Vec<String> = parsed.list("listeners").unwrap_or_default().to_vec();
        let rest = RestConfig::from_props(&file, &worker.props, std::env::var("KAFKA_OPTS").ok().as_deref())?;
        let advertised = match parsed.optional_string("rest.advertised.listener").ok().flatten().map(str::trim) {
            None | Some("") => rest.listeners.first(),
            Some(wanted) => {
                let scheme = match wanted.to_ascii_lowercase().as_str() {
                    "http" => Scheme::Http,
                    "https" => Scheme::Https,
                    _ => {
                        return Err(ConfigError::new(&file, Some("rest.advertised.listener"), "must be http or https"))
                    }
                };
                let found = rest.listeners.iter().find(|l| l.scheme == scheme);
                if found.is_none() {
                    return Err(ConfigError::new(
                        &file,
                        Some("rest.advertised.listener"),
                        format!("no {scheme}:// listener in listeners"),
                    ));
                }
                found
            }
        };
        let Some(Listener { scheme, host, port, .. }) = advertised.cloned() else {
            return Err(ConfigError::new(&file, Some("listeners"), "must name at least one listener"));
        };
        let inter_worker = inter_worker(&file, &parsed)?;
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
            rest,
            inter_worker,
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

/// This host's name, for advertised URLs when a listener binds every interface.
pub(crate) fn local_host_name() -> String {
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
            ("listeners", "ftp://:8443"),
        ]))
        .unwrap_err();
        assert!(err.message.contains("unknown protocol"), "{err}");
    }

    #[test]
    fn a_secured_cluster_is_refused_naming_security_protocol() {
        let mut pairs = base();
        pairs.push(("security.protocol", "sasl_ssl"));
        let err = DistributedConfig::from_worker(worker(&pairs)).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("security.protocol"));
        assert!(err.message.contains("SASL_SSL is not supported in distributed mode"), "{err}");
        pairs.pop();
        pairs.push(("security.protocol", "PLAINTEXT"));
        DistributedConfig::from_worker(worker(&pairs)).unwrap();
    }

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("group.id", "g"),
            ("config.storage.topic", "c"),
            ("offset.storage.topic", "o"),
            ("status.storage.topic", "s"),
        ]
    }

    #[test]
    fn advertised_listener_picks_the_scheme() {
        let mut pairs = base();
        pairs.extend([
            ("listeners", "http://127.0.0.1:8083,https://10.0.0.1:8443"),
            ("listeners.https.ssl.keystore.location", "/k.pem"),
            ("rest.advertised.listener", "https"),
        ]);
        let cfg = DistributedConfig::from_worker(worker(&pairs)).unwrap();
        assert_eq!(cfg.advertised_url, "https://10.0.0.1:8443/");
        assert_eq!(cfg.rest.listeners.len(), 2);
        let mut pairs = base();
        pairs.extend([("listeners", "http://127.0.0.1:8083"), ("rest.advertised.listener", "https")]);
        let err = DistributedConfig::from_worker(worker(&pairs)).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("rest.advertised.listener"));
    }

    #[test]
    fn inter_worker_keys_default_and_validate_as_kafka_connect() {
        let cfg = DistributedConfig::from_worker(worker(&base())).unwrap();
        assert_eq!(cfg.inter_worker, InterWorkerConfig::default());
        assert_eq!(cfg.inter_worker.key_ttl, Duration::from_millis(3_600_000));

        let mut pairs = base();
        pairs.extend([
            ("inter.worker.key.generation.algorithm", "HmacSHA512"),
            ("inter.worker.key.size", "512"),
            ("inter.worker.key.ttl.ms", "60000"),
            ("inter.worker.signature.algorithm", "HmacSHA512"),
            ("inter.worker.verification.algorithms", "HmacSHA256, HmacSHA512"),
        ]);
        let cfg = DistributedConfig::from_worker(worker(&pairs)).unwrap();
        assert_eq!(cfg.inter_worker.key_generation_algorithm, HmacAlgorithm::HmacSha512);
        assert_eq!(cfg.inter_worker.key_size_bits, Some(512));
        assert_eq!(cfg.inter_worker.key_ttl, Duration::from_secs(60));
        assert_eq!(cfg.inter_worker.verification_algorithms, [HmacAlgorithm::HmacSha256, HmacAlgorithm::HmacSha512]);

        let error = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = base();
            pairs.extend_from_slice(extra);
            DistributedConfig::from_worker(worker(&pairs)).unwrap_err()
        };
        let err = error(&[("inter.worker.signature.algorithm", "HmacSHA512")]);
        assert_eq!(err.key.as_deref(), Some("inter.worker.signature.algorithm"));
        assert!(err.message.contains("must be present in inter.worker.verification.algorithms"), "{err}");
        let err = error(&[("inter.worker.key.generation.algorithm", "AES")]);
        assert_eq!(err.key.as_deref(), Some("inter.worker.key.generation.algorithm"));
        let err = error(&[("inter.worker.verification.algorithms", "HmacSHA256,HmacMD5")]);
        assert_eq!(err.key.as_deref(), Some("inter.worker.verification.algorithms"));
        let err = error(&[("inter.worker.verification.algorithms", "")]);
        assert_eq!(err.key.as_deref(), Some("inter.worker.verification.algorithms"));
        let err = error(&[("inter.worker.key.size", "32")]);
        assert_eq!(err.key.as_deref(), Some("inter.worker.key.size"));
        let err = error(&[("inter.worker.key.ttl.ms", "-1")]);
        assert_eq!(err.key.as_deref(), Some("inter.worker.key.ttl.ms"));
    }
}
