//! The worker configuration (`connect standalone worker.properties`), with Kafka Connect's `WorkerConfig` keys.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use connect_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, Validator};

use super::providers::ConfigProviders;
use super::{read_properties, with_prefix, ConfigError};
use crate::worker::kafka::OverridePolicy;

/// The default converter when none is configured, as Strimzi's default (Kafka's own sample sets it too).
pub const DEFAULT_CONVERTER: &str = "org.apache.kafka.connect.json.JsonConverter";
/// Kafka Connect's default header converter.
pub const DEFAULT_HEADER_CONVERTER: &str = "org.apache.kafka.connect.storage.SimpleHeaderConverter";

/// A converter class with its settings (the keys after its prefix, e.g. `schemas.enable`).
#[derive(Clone, Debug, PartialEq)]
pub struct ConverterSpec {
    /// Class name or alias.
    pub class: String,
    /// Settings without the prefix.
    pub settings: BTreeMap<String, String>,
}

impl ConverterSpec {
    /// The converter configured under `prefix` (`key.converter`...) in `props`, or `None` if the class is not set.
    pub fn from_props(props: &BTreeMap<String, String>, prefix: &str) -> Option<Self> {
        let class = props.get(prefix)?.trim().to_string();
        Some(ConverterSpec { class, settings: with_prefix(props, &format!("{prefix}.")) })
    }
}

/// A parsed worker configuration.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// The file it was read from.
    pub file: PathBuf,
    /// Every property as written.
    pub props: BTreeMap<String, String>,
    /// `bootstrap.servers`.
    pub bootstrap_servers: String,
    /// `key.converter` and its `key.converter.*` settings.
    pub key_converter: ConverterSpec,
    /// `value.converter` and its settings.
    pub value_converter: ConverterSpec,
    /// `header.converter` and its settings.
    pub header_converter: ConverterSpec,
    /// `offset.storage.file.filename` (standalone).
    pub offset_storage_file: Option<PathBuf>,
    /// `offset.flush.interval.ms`.
    pub offset_flush_interval: Duration,
    /// `offset.flush.timeout.ms`.
    pub offset_flush_timeout: Duration,
    /// `task.shutdown.graceful.timeout.ms`.
    pub task_shutdown_timeout: Duration,
    /// `default.api.timeout.ms`: how long start-up waits for the Kafka cluster.
    pub api_timeout: Duration,
    /// `plugin.path`.
    pub plugin_path: Vec<PathBuf>,
    /// `producer.*` settings for source task producers.
    pub producer: BTreeMap<String, String>,
    /// `consumer.*` settings for sink task consumers.
    pub consumer: BTreeMap<String, String>,
    /// `config.providers`: resolve `${provider:path:key}` placeholders when connectors and tasks start.
    pub config_providers: ConfigProviders,
    /// `topic.tracking.enable`: record the topics each connector uses (KIP-558).
    pub topic_tracking: bool,
    /// `topic.tracking.allow.reset`: allow `PUT /connectors/{name}/topics/reset`.
    pub topic_tracking_allow_reset: bool,
    /// `topic.creation.enable`: source connectors with `topic.creation.*` settings create their topics (KIP-158).
    pub topic_creation: bool,
    /// `connector.client.config.override.policy`: which client settings connectors may override.
    pub client_override_policy: OverridePolicy,
}

fn worker_config_def() -> ConfigDef {
    let ms = |name: &str, default: &str, doc: &str| {
        ConfigKey::new(name, ConfigType::Long)
            .default_value(default)
            .validator(Validator::Range { min: Some(0.0), max: None })
            .importance(Importance::Low)
            .documentation(doc)
    };
    ConfigDef::new()
        .define(
            ConfigKey::new("bootstrap.servers", ConfigType::List)
                .validator(Validator::NonEmptyString)
                .importance(Importance::High)
                .documentation("host:port pairs of the Kafka cluster."),
        )
        .define(ConfigKey::new("key.converter", ConfigType::Class).default_value(DEFAULT_CONVERTER))
        .define(ConfigKey::new("value.converter", ConfigType::Class).default_value(DEFAULT_CONVERTER))
        .define(ConfigKey::new("header.converter", ConfigType::Class).default_value(DEFAULT_HEADER_CONVERTER))
        .define(ConfigKey::new("offset.storage.file.filename", ConfigType::String).optional())
        .define(ms("offset.flush.interval.ms", "60000", "How often source offsets are committed."))
        .define(ms("offset.flush.timeout.ms", "5000", "How long an offset flush may take."))
        .define(ms("task.shutdown.graceful.timeout.ms", "5000", "How long a task may take to stop."))
        .define(ms("default.api.timeout.ms", "60000", "How long start-up waits for the Kafka cluster."))
        .define(ConfigKey::new("plugin.path", ConfigType::List).default_value(""))
        .define(ConfigKey::new("topic.tracking.enable", ConfigType::Boolean).default_value("true"))
        .define(ConfigKey::new("topic.creation.enable", ConfigType::Boolean).default_value("true"))
        .define(ConfigKey::new("topic.tracking.allow.reset", ConfigType::Boolean).default_value("true"))
}

/// Prefixes and keys the worker accepts without defining them one by one.
const KNOWN_PREFIXES: &[&str] = &[
    "key.converter.",
    "value.converter.",
    "header.converter.",
    "producer.",
    "consumer.",
    "admin.",
    "listeners",
    "rest.",
    "admin.listeners",
    "config.providers",
    "connector.client.config.override.policy",
    "client.id",
    "security.",
    "sasl.",
    "ssl.",
    "metrics.",
];

impl WorkerConfig {
    /// Reads and checks a worker properties file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let props = read_properties(path)?;
        Self::from_props(path, props)
    }

    /// Checks worker properties read from `file`.
    pub fn from_props(file: &Path, props: BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let def = worker_config_def();
        for info in def.validate(&props) {
            if let Some(message) = info.errors.first() {
                return Err(ConfigError::new(file, Some(&info.name), message.clone()));
            }
        }
        let parsed = def.parse(&props).map_err(|e| ConfigError::new(file, None, e.to_string()))?;
        let ms = |key: &str| -> Duration {
            Duration::from_millis(parsed.long(key).map(|v| v.max(0) as u64).unwrap_or_default())
        };
        for key in props.keys() {
            let known = KNOWN_PREFIXES.iter().any(|p| key.starts_with(p))
                || super::distributed::DISTRIBUTED_KEYS.contains(&key.as_str());
            if def.key(key).is_none() && !known {
                tracing::warn!(file = %file.display(), "The configuration '{key}' was supplied but isn't a known config.");
            }
        }
        let converter = |prefix: &str, default: &str| {
            ConverterSpec::from_props(&props, prefix).unwrap_or_else(|| ConverterSpec {
                class: default.to_string(),
                settings: with_prefix(&props, &format!("{prefix}.")),
            })
        };
        let bootstrap_servers = parsed.list("bootstrap.servers").map(|l| l.join(",")).unwrap_or_default();
        if bootstrap_servers.is_empty() {
            return Err(ConfigError::new(file, Some("bootstrap.servers"), "must list at least one host:port"));
        }
        crate::worker::kafka::check_worker_clients(&props)
            .map_err(|(key, message)| ConfigError::new(file, Some(&key), message))?;
        let policy_key = "connector.client.config.override.policy";
        let client_override_policy = match props.get(policy_key).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            None => OverridePolicy::default(),
            Some(value) => OverridePolicy::parse(value).ok_or_else(|| {
                ConfigError::new(file, Some(policy_key), format!("{value} is not one of None, Principal, All"))
            })?,
        };
        let base_dir = file.parent().unwrap_or(Path::new("."));
        let resolve = |p: &str| {
            let p = PathBuf::from(p);
            if p.is_absolute() {
                p
            } else {
                base_dir.join(p)
            }
        };
        Ok(WorkerConfig {
            file: file.to_path_buf(),
            bootstrap_servers,
            key_converter: converter("key.converter", DEFAULT_CONVERTER),
            value_converter: converter("value.converter", DEFAULT_CONVERTER),
            header_converter: converter("header.converter", DEFAULT_HEADER_CONVERTER),
            offset_storage_file: parsed.optional_string("offset.storage.file.filename").ok().flatten().map(&resolve),
            offset_flush_interval: ms("offset.flush.interval.ms"),
            offset_flush_timeout: ms("offset.flush.timeout.ms"),
            task_shutdown_timeout: ms("task.shutdown.graceful.timeout.ms"),
            api_timeout: ms("default.api.timeout.ms"),
            plugin_path: parsed
                .list("plugin.path")
                .unwrap_or_default()
                .iter()
                .filter(|p| !p.is_empty())
                .map(|p| resolve(p))
                .collect(),
            producer: with_prefix(&props, "producer."),
            consumer: with_prefix(&props, "consumer."),
            config_providers: ConfigProviders::from_worker(file, &props)?,
            topic_tracking: parsed.boolean("topic.tracking.enable").unwrap_or(true),
            topic_tracking_allow_reset: parsed.boolean("topic.tracking.allow.reset").unwrap_or(true),
            client_override_policy,
            topic_creation: parsed.boolean("topic.creation.enable").unwrap_or(true),
            props,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_client_setting_librdkafka_cannot_honour_is_an_error_naming_its_key() {
        let file = Path::new("w.properties");
        let err = WorkerConfig::from_props(
            file,
            props(&[("bootstrap.servers", "a:9092"), ("producer.ssl.truststore.location", "/ca.jks")]),
        )
        .unwrap_err();
        assert_eq!(err.key.as_deref(), Some("producer.ssl.truststore.location"));
        assert!(err.message.contains("JKS trust stores are not supported"), "{err}");
        let err = WorkerConfig::from_props(
            file,
            props(&[("bootstrap.servers", "a:9092"), ("sasl.jaas.config", "x.Krb5LoginModule required;")]),
        )
        .unwrap_err();
        assert_eq!(err.key.as_deref(), Some("sasl.jaas.config"));
        let err = WorkerConfig::from_props(file, props(&[("bootstrap.servers", "a:9092"), ("consumer.no.such", "1")]))
            .unwrap_err();
        assert_eq!(err.key.as_deref(), Some("consumer.no.such"));
        // A placeholder is checked once resolved, when the client is built.
        WorkerConfig::from_props(
            file,
            props(&[("bootstrap.servers", "a:9092"), ("producer.sasl.jaas.config", "${file:/s.properties:jaas}")]),
        )
        .unwrap();
    }

    #[test]
    fn defaults_and_prefixes() {
        let file = Path::new("/etc/connect/worker.properties");
        let cfg = WorkerConfig::from_props(
            file,
            props(&[
                ("bootstrap.servers", "a:9092, b:9092"),
                ("value.converter.schemas.enable", "false"),
                ("producer.linger.ms", "5"),
                ("plugin.path", "plugins,/opt/p"),
                ("offset.storage.file.filename", "offsets.json"),
            ]),
        )
        .unwrap();
        assert_eq!(cfg.bootstrap_servers, "a:9092,b:9092");
        assert_eq!(cfg.key_converter.class, DEFAULT_CONVERTER);
        assert_eq!(cfg.value_converter.settings["schemas.enable"], "false");
        assert_eq!(cfg.producer["linger.ms"], "5");
        assert_eq!(cfg.plugin_path, [PathBuf::from("/etc/connect/plugins"), PathBuf::from("/opt/p")]);
        assert_eq!(cfg.offset_storage_file, Some(PathBuf::from("/etc/connect/offsets.json")));
        assert_eq!(cfg.offset_flush_interval, Duration::from_secs(60));
    }

    #[test]
    fn errors_name_file_and_key() {
        let file = Path::new("w.properties");
        let err = WorkerConfig::from_props(file, props(&[])).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("bootstrap.servers"));
        assert_eq!(
            err.to_string(),
            "w.properties: bootstrap.servers: Missing required configuration \"bootstrap.servers\" which has no default value."
        );
        let err = WorkerConfig::from_props(
            file,
            props(&[("bootstrap.servers", "x:1"), ("offset.flush.interval.ms", "soon")]),
        )
        .unwrap_err();
        assert_eq!(err.key.as_deref(), Some("offset.flush.interval.ms"));
    }
}
