//! The Bridge's configuration: Strimzi's keys (`bridge.id`, `http.*`, `kafka.*`) as connector configuration.

use std::collections::BTreeMap;
use std::time::Duration;

use connect_api::config::{ConfigKey, ConfigType, ConfigValueInfo, Importance, Validator};
use connect_api::{Config, ConfigDef, ConnectError, Result};
use regex::Regex;

/// The converter the Bridge's records need: keys, values and headers are already bytes.
pub const BYTE_ARRAY_CONVERTER: &str = "org.apache.kafka.connect.converters.ByteArrayConverter";

/// Strimzi's default CORS methods.
const DEFAULT_CORS_METHODS: &str = "GET,POST,PUT,DELETE,OPTIONS,PATCH";

/// Client settings the Bridge sets itself (on top of the Java-only ones of `connect_clients`); Strimzi configs
/// often carry them. Dropped quietly.
const BRIDGE_OWN: &[&str] = &["partition.assignment.strategy"];

/// The keys of the connector and their defaults.
pub fn config_def() -> ConfigDef {
    let string = |name: &str, default: Option<&str>, doc: &str| {
        let key = ConfigKey::new(name, ConfigType::String).documentation(doc).group("Bridge", 0);
        match default {
            Some(d) => key.default_value(d),
            None => key.optional(),
        }
    };
    ConfigDef::new()
        .define(
            ConfigKey::new("kafka.bootstrap.servers", ConfigType::String)
                .validator(Validator::NonEmptyString)
                .importance(Importance::High)
                .documentation("The Kafka cluster of the Bridge's consumers and admin client.")
                .group("Kafka", 0),
        )
        .define(string("bridge.id", None, "Prefix of generated consumer names."))
        .define(string("http.host", Some("0.0.0.0"), "The address the HTTP API listens on."))
        .define(
            ConfigKey::new("http.port", ConfigType::Int)
                .default_value("8080")
                .validator(Validator::Range { min: Some(0.0), max: Some(65535.0) })
                .importance(Importance::High)
                .documentation("The port of the HTTP API.")
                .group("Bridge", 0),
        )
        .define(
            ConfigKey::new("http.management.port", ConfigType::Int)
                .default_value("-1")
                .validator(Validator::Range { min: Some(-1.0), max: Some(65535.0) })
                .documentation("An extra port serving /healthy and /ready; -1 for none.")
                .group("Bridge", 0),
        )
        .define(
            ConfigKey::new("http.timeoutSeconds", ConfigType::Long)
                .default_value("-1")
                .documentation("Consumers idle longer than this many seconds are deleted; -1 never.")
                .group("Bridge", 0),
        )
        .define(
            ConfigKey::new("http.consumer.timeoutMs", ConfigType::Long)
                .default_value("-1")
                .documentation("The consumer idle timeout in milliseconds; wins over http.timeoutSeconds.")
                .group("Bridge", 0),
        )
        .define(ConfigKey::new("http.cors.enabled", ConfigType::Boolean).default_value("false").group("Bridge", 0))
        .define(string("http.cors.allowedOrigins", Some("*"), "A regular expression allowed origins match."))
        .define(string("http.cors.allowedMethods", Some(DEFAULT_CORS_METHODS), "Comma-separated allowed methods."))
        .define(ConfigKey::new("http.producer.enabled", ConfigType::Boolean).default_value("true").group("Bridge", 0))
        .define(ConfigKey::new("http.consumer.enabled", ConfigType::Boolean).default_value("true").group("Bridge", 0))
}

/// CORS settings, when enabled.
#[derive(Clone, Debug)]
pub struct Cors {
    /// The pattern an `Origin` must match entirely (`*` allows any).
    pub origins: Option<Regex>,
    /// Allowed methods, upper case.
    pub methods: Vec<String>,
}

/// The parsed configuration.
#[derive(Clone, Debug)]
pub struct BridgeConfig {
    /// `bridge.id`.
    pub bridge_id: Option<String>,
    /// `http.host`.
    pub host: String,
    /// `http.port`.
    pub port: u16,
    /// `http.management.port`.
    pub management_port: Option<u16>,
    /// The consumer idle timeout.
    pub consumer_timeout: Option<Duration>,
    /// CORS, when enabled.
    pub cors: Option<Cors>,
    /// `http.producer.enabled`.
    pub producer_enabled: bool,
    /// `http.consumer.enabled`.
    pub consumer_enabled: bool,
    /// librdkafka settings of consumers: `kafka.*` then `kafka.consumer.*`.
    pub consumer: BTreeMap<String, String>,
    /// librdkafka settings of the admin client and metadata requests: `kafka.*` then `kafka.admin.*`.
    pub admin: BTreeMap<String, String>,
}

impl BridgeConfig {
    /// Parses and checks a connector (or task) configuration.
    pub fn parse(props: &Config) -> Result<BridgeConfig> {
        let errors = cross_key_errors(props);
        if let Some((key, message)) = errors.into_iter().next() {
            return Err(ConnectError::config(&key, message));
        }
        let parsed = config_def().parse(props)?;
        let port = |key: &str| -> Result<Option<u16>> {
            let value = parsed.int(key)?;
            Ok(u16::try_from(value).ok().filter(|_| value >= 0))
        };
        let timeout_ms = parsed.long("http.consumer.timeoutMs")?;
        let timeout_s = parsed.long("http.timeoutSeconds")?;
        let consumer_timeout = if timeout_ms >= 0 {
            Some(Duration::from_millis(timeout_ms as u64))
        } else if timeout_s >= 0 {
            Some(Duration::from_secs(timeout_s as u64))
        } else {
            None
        };
        let cors = if parsed.boolean("http.cors.enabled")? {
            let origins = parsed.string("http.cors.allowedOrigins")?.trim();
            let origins = if origins == "*" || origins.is_empty() {
                None
            } else {
                Some(
                    Regex::new(&format!("^(?:{origins})$"))
                        .map_err(|e| ConnectError::config("http.cors.allowedOrigins", e))?,
                )
            };
            let methods = parsed
                .string("http.cors.allowedMethods")?
                .split(',')
                .map(|m| m.trim().to_ascii_uppercase())
                .filter(|m| !m.is_empty())
                .collect();
            Some(Cors { origins, methods })
        } else {
            None
        };
        Ok(BridgeConfig {
            bridge_id: parsed.optional_string("bridge.id")?.map(str::trim).filter(|s| !s.is_empty()).map(String::from),
            host: parsed.string("http.host")?.trim().to_string(),
            port: port("http.port")?.unwrap_or(8080),
            management_port: port("http.management.port")?,
            consumer_timeout,
            cors,
            producer_enabled: parsed.boolean("http.producer.enabled")?,
            consumer_enabled: parsed.boolean("http.consumer.enabled")?,
            consumer: client_settings(props, "kafka.consumer.")?,
            admin: client_settings(props, "kafka.admin.")?,
        })
    }
}

/// `kafka.*` (without the role prefixes) overlaid with the settings of `role_prefix`, prefixes stripped; settings
/// librdkafka does not know are dropped with a warning (Kafka's clients log unknown settings and go on), invalid
/// values are errors naming the key.
fn client_settings(props: &Config, role_prefix: &str) -> Result<BTreeMap<String, String>> {
    checked_client_settings(props, role_prefix).map_err(|(key, message)| ConnectError::config(&key, message))
}

/// [`client_settings`], failing with (key, message).
fn checked_client_settings(
    props: &Config,
    role_prefix: &str,
) -> std::result::Result<BTreeMap<String, String>, (String, String)> {
    let roles = ["kafka.producer.", "kafka.consumer.", "kafka.admin."];
    let mut settings = BTreeMap::new();
    let common = props
        .iter()
        .filter(|(k, _)| k.starts_with("kafka.") && !roles.iter().any(|r| k.starts_with(r)))
        .map(|(k, v)| (k.as_str(), &k["kafka.".len()..], v));
    let own =
        props.iter().filter(|(k, _)| k.starts_with(role_prefix)).map(|(k, v)| (k.as_str(), &k[role_prefix.len()..], v));
    // Connection settings go through `connect_clients` together (a trust store's type and location belong together).
    let mut connection = BTreeMap::new();
    let mut names = BTreeMap::new();
    for (full, key, value) in common.chain(own) {
        if BRIDGE_OWN.contains(&key) || connect_clients::is_java_only(key) {
            continue;
        }
        if ["security.", "ssl.", "sasl."].iter().any(|p| key.starts_with(p)) {
            connection.insert(key.to_string(), value.clone());
            names.insert(key.to_string(), full.to_string());
            continue;
        }
        match rdkafka::ClientConfig::new().set(key, value).create_native_config() {
            Ok(_) => {
                settings.insert(key.to_string(), value.clone());
            }
            Err(err) if err.to_string().contains("No such configuration property") => {
                tracing::warn!("the configuration {full} was supplied but isn't a known config; ignored");
            }
            Err(err) => return Err((full.to_string(), err.to_string())),
        }
    }
    let translated = connect_clients::translate(&connection)
        .map_err(|err| (names.get(&err.key).cloned().unwrap_or_else(|| format!("kafka.{}", err.key)), err.message))?;
    settings.extend(translated);
    Ok(settings)
}

/// Errors that the per-key definition cannot express, as (key, message).
fn cross_key_errors(props: &Config) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    for key in ["key.converter", "value.converter", "header.converter"] {
        let class = props.get(key).map(|c| c.trim()).unwrap_or_default();
        if class != BYTE_ARRAY_CONVERTER && class != "ByteArrayConverter" {
            errors.push((
                key.to_string(),
                format!(
                    "the Bridge passes keys, values and headers through as bytes: set {key}={BYTE_ARRAY_CONVERTER}"
                ),
            ));
        }
    }
    if let Some(key) = props.keys().find(|k| k.starts_with("kafka.producer.")) {
        errors.push((
            key.clone(),
            "kafka.producer.* is not supported by the connector: records are sent by the worker's producer; set \
             producer.* in the worker configuration (the dedicated `connect bridge` mode maps kafka.producer.* there)"
                .to_string(),
        ));
    }
    if props.get("http.ssl.enable").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        errors.push((
            "http.ssl.enable".to_string(),
            "HTTPS is not supported by the Bridge yet: serve it behind a TLS-terminating proxy".to_string(),
        ));
    }
    if props.get("bridge.tracing").is_some_and(|v| !v.trim().is_empty()) {
        errors.push(("bridge.tracing".to_string(), "tracing is not supported by the Bridge yet".to_string()));
    }
    if let Some(origins) = props.get("http.cors.allowedOrigins") {
        if let Err(err) = Regex::new(origins.trim()) {
            errors.push(("http.cors.allowedOrigins".to_string(), format!("not a valid regular expression: {err}")));
        }
    }
    for role in ["kafka.consumer.", "kafka.admin."] {
        if let Err((key, message)) = checked_client_settings(props, role) {
            if !errors.iter().any(|(k, _)| *k == key) {
                errors.push((key, message));
            }
        }
    }
    errors
}

/// Validation: the definition's checks plus the cross-key ones, each attached to its key.
pub fn validate(props: &Config) -> Vec<ConfigValueInfo> {
    let mut values = config_def().validate(props);
    for (key, message) in cross_key_errors(props) {
        match values.iter_mut().find(|v| v.name == key) {
            Some(info) => info.errors.push(message),
            None => values.push(ConfigValueInfo {
                name: key.clone(),
                value: props.get(&key).cloned(),
                recommended_values: Vec::new(),
                errors: vec![message],
                visible: true,
            }),
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Config {
        Config::from([
            ("kafka.bootstrap.servers".to_string(), "127.0.0.1:9092".to_string()),
            ("key.converter".to_string(), BYTE_ARRAY_CONVERTER.to_string()),
            ("value.converter".to_string(), BYTE_ARRAY_CONVERTER.to_string()),
            ("header.converter".to_string(), BYTE_ARRAY_CONVERTER.to_string()),
        ])
    }

    #[test]
    fn defaults_are_strimzi_s() {
        let config = BridgeConfig::parse(&base()).unwrap();
        assert_eq!((config.host.as_str(), config.port, config.management_port), ("0.0.0.0", 8080, None));
        assert!(config.consumer_timeout.is_none() && config.cors.is_none());
        assert!(config.producer_enabled && config.consumer_enabled);
        assert_eq!(config.consumer["bootstrap.servers"], "127.0.0.1:9092");
    }

    #[test]
    fn client_settings_are_layered_and_java_keys_dropped() {
        let mut props = base();
        props.insert("kafka.client.id".into(), "common".into());
        props.insert("kafka.consumer.client.id".into(), "consumer".into());
        props.insert("kafka.consumer.key.deserializer".into(), "x".into());
        props.insert("kafka.admin.no.such.thing".into(), "x".into());
        let config = BridgeConfig::parse(&props).unwrap();
        assert_eq!(config.consumer["client.id"], "consumer");
        assert_eq!(config.admin["client.id"], "common");
        assert!(!config.consumer.contains_key("key.deserializer"));
        assert!(!config.admin.contains_key("no.such.thing"));
    }

    #[test]
    fn timeouts_in_milliseconds_win() {
        let mut props = base();
        props.insert("http.timeoutSeconds".into(), "5".into());
        assert_eq!(BridgeConfig::parse(&props).unwrap().consumer_timeout, Some(Duration::from_secs(5)));
        props.insert("http.consumer.timeoutMs".into(), "1500".into());
        assert_eq!(BridgeConfig::parse(&props).unwrap().consumer_timeout, Some(Duration::from_millis(1500)));
    }

    #[test]
    fn bad_configs_name_their_key() {
        let mut props = base();
        props.remove("value.converter");
        let err = BridgeConfig::parse(&props).unwrap_err().to_string();
        assert!(err.contains("value.converter") && err.contains(BYTE_ARRAY_CONVERTER), "{err}");

        let mut props = base();
        props.insert("kafka.producer.acks".into(), "1".into());
        let info = validate(&props);
        let entry = info.iter().find(|v| v.name == "kafka.producer.acks").unwrap();
        assert!(entry.errors[0].contains("worker's producer"), "{entry:?}");

        let mut props = base();
        props.insert("kafka.consumer.fetch.min.bytes".into(), "lots".into());
        let err = BridgeConfig::parse(&props).unwrap_err().to_string();
        assert!(err.contains("kafka.consumer.fetch.min.bytes"), "{err}");

        let mut props = base();
        props.insert("http.cors.allowedOrigins".into(), "(".into());
        assert!(BridgeConfig::parse(&props).unwrap_err().to_string().contains("http.cors.allowedOrigins"));

        let mut props = base();
        props.insert("http.port".into(), "99999".into());
        assert!(validate(&props).iter().any(|v| v.name == "http.port" && !v.errors.is_empty()));

        let mut props = base();
        props.insert("http.ssl.enable".into(), "true".into());
        assert!(BridgeConfig::parse(&props).unwrap_err().to_string().contains("not supported"));

        let mut props = base();
        props.remove("kafka.bootstrap.servers");
        assert!(BridgeConfig::parse(&props).unwrap_err().to_string().contains("kafka.bootstrap.servers"));
    }
}
