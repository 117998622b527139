//! The dedicated HTTP Bridge configuration (`connect bridge application.properties`), read as Strimzi's Kafka
//! Bridge reads its `application.properties`: `bridge.*`, `http.*`, and `kafka.*` client settings (common to every
//! client) with `kafka.producer.*`, `kafka.consumer.*` and `kafka.admin.*` for one client each.
//!
//! From it come the configuration of a standalone worker without REST API, whose producer is the Bridge's
//! producer (`kafka.producer.*` become its `producer.*`), and the configuration of the one Bridge connector. This
//! module never connects to anything; every error names the file and the key of that file at fault.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::providers::ConfigProviders;
use super::{read_properties, ConfigError, ConnectorConfig, WorkerConfig};

/// The class of the built-in Bridge connector.
pub const HTTP_BRIDGE_CONNECTOR: &str = "io.connectrs.bridge.HttpBridgeConnector";
/// The connector's name when `bridge.id` is not set.
pub const DEFAULT_CONNECTOR_NAME: &str = "http-bridge";
/// Strimzi's default management port (`/healthy`, `/ready`), which the connector has no default for.
pub const DEFAULT_MANAGEMENT_PORT: u16 = 8081;
/// The API port when `http.port` is not set (Strimzi's and the connector's default).
pub const DEFAULT_HTTP_PORT: u16 = 8080;
/// The API host when `http.host` is not set.
pub const DEFAULT_HTTP_HOST: &str = "0.0.0.0";

const BOOTSTRAP_SERVERS: &str = "kafka.bootstrap.servers";
const HTTP_PORT: &str = "http.port";
const HTTP_MANAGEMENT_PORT: &str = "http.management.port";
const BYTE_ARRAY_CONVERTER: &str = "org.apache.kafka.connect.converters.ByteArrayConverter";
/// The prefixes of Strimzi's keys; anything else is warned about and ignored, as Strimzi ignores it.
const BRIDGE_PREFIXES: &[&str] = &["bridge.", "http.", "kafka."];
/// Config providers (`kafka.config.providers*` in Strimzi's files): the worker resolves the placeholders of both
/// its own settings and the connector's, so they are neither client settings nor connector keys.
const CONFIG_PROVIDERS: &str = "config.providers";

/// A checked Strimzi `application.properties` file, mapped to a worker and a connector.
#[derive(Clone, Debug)]
pub struct BridgeConfig {
    /// The file it was read from.
    pub file: PathBuf,
    /// Every property as written.
    pub props: BTreeMap<String, String>,
    /// The standalone worker that runs the Bridge.
    pub worker: WorkerConfig,
    /// The Bridge connector.
    pub connector: ConnectorConfig,
}

impl BridgeConfig {
    /// Reads and checks a Bridge properties file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let props = read_properties(path)?;
        Self::from_props(path, props)
    }

    /// Checks Bridge properties read from `file` and maps them to the worker and connector configurations.
    pub fn from_props(file: &Path, props: BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let servers = props.get(BOOTSTRAP_SERVERS).ok_or_else(|| {
            ConfigError::new(
                file,
                Some(BOOTSTRAP_SERVERS),
                format!("Missing required configuration \"{BOOTSTRAP_SERVERS}\" which has no default value."),
            )
        })?;
        if servers.split(',').all(|s| s.trim().is_empty()) {
            return Err(ConfigError::new(file, Some(BOOTSTRAP_SERVERS), "must list at least one host:port"));
        }
        port(file, &props, HTTP_PORT, false)?;
        port(file, &props, HTTP_MANAGEMENT_PORT, true)?;
        for key in props.keys().filter(|k| !BRIDGE_PREFIXES.iter().any(|p| k.starts_with(p))) {
            tracing::warn!(file = %file.display(), "The configuration '{key}' was supplied but isn't a known config.");
        }
        let worker = WorkerConfig::from_props(file, worker_props(file, &props)?).map_err(|err| locate(&props, err))?;
        let connector = connector_config(&props);
        Ok(BridgeConfig { file: file.to_path_buf(), props, worker, connector })
    }

    /// `http.host`, as the API listener binds it.
    pub fn http_host(&self) -> &str {
        self.props.get("http.host").map(|h| h.trim()).filter(|h| !h.is_empty()).unwrap_or(DEFAULT_HTTP_HOST)
    }

    /// `http.port` (checked when loading).
    pub fn http_port(&self) -> u16 {
        self.props.get(HTTP_PORT).and_then(|p| p.trim().parse().ok()).unwrap_or(DEFAULT_HTTP_PORT)
    }

    /// `http.management.port`, `None` when disabled (`-1`).
    pub fn management_port(&self) -> Option<u16> {
        let value = self.connector.props.get(HTTP_MANAGEMENT_PORT).map(|p| p.trim());
        value.and_then(|p| p.parse().ok())
    }
}

/// Checks that `key`, when set, is a port number (or `-1`, disabled, when `may_disable`).
fn port(file: &Path, props: &BTreeMap<String, String>, key: &str, may_disable: bool) -> Result<(), ConfigError> {
    let Some(value) = props.get(key) else { return Ok(()) };
    let invalid =
        |why: &str| ConfigError::new(file, Some(key), format!("Invalid value {value} for configuration {key}: {why}"));
    let number: i64 = value.trim().parse().map_err(|_| invalid("Not a number of type INT"))?;
    match number {
        -1 if may_disable => Ok(()),
        0..=65535 => Ok(()),
        _ if may_disable => Err(invalid("must be a port number (0 to 65535), or -1 for none")),
        _ => Err(invalid("must be a port number (0 to 65535)")),
    }
}

/// The common client settings of `kafka.<setting>` (Strimzi's `KafkaConfig.getConfig()`): not the per-client
/// `producer.`, `consumer.` and `admin.` ones, nor config providers.
fn common_client_settings(props: &BTreeMap<String, String>) -> impl Iterator<Item = (&str, &String)> {
    props.iter().filter_map(|(key, value)| {
        let setting = key.strip_prefix("kafka.")?;
        let per_client = ["producer.", "consumer.", "admin."].iter().any(|p| setting.starts_with(p));
        (!setting.is_empty() && !per_client && !setting.starts_with(CONFIG_PROVIDERS)).then_some((setting, value))
    })
}

/// The worker's properties: `kafka.bootstrap.servers` as `bootstrap.servers`; the common `kafka.*` settings as
/// `producer.*`, `consumer.*` and `admin.*` (Strimzi gives them to all its clients), the security ones also at top
/// level (the start-up probe uses them); `kafka.producer.*` as `producer.*` over them;
/// `kafka.default.api.timeout.ms` as `default.api.timeout.ms` (how long start-up waits for the cluster);
/// `kafka.config.providers*` as `config.providers*`, placeholders resolved as Kafka's clients resolve their own;
/// ByteArrayConverter for keys, values and headers, since the Bridge hands the records' bytes through.
fn worker_props(file: &Path, props: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ConfigError> {
    let providers: BTreeMap<String, String> = super::with_prefix(props, "kafka.")
        .into_iter()
        .filter(|(setting, _)| setting.starts_with(CONFIG_PROVIDERS))
        .collect();
    let resolver = ConfigProviders::from_worker(file, &providers)
        .map_err(|err| ConfigError { key: err.key.map(|key| format!("kafka.{key}")), ..err })?;
    let kafka: BTreeMap<String, String> = props
        .iter()
        .filter(|(key, _)| key.starts_with("kafka.") && !key.starts_with(&format!("kafka.{CONFIG_PROVIDERS}")))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let kafka = resolver
        .resolve(&kafka)
        .map_err(|e| ConfigError::new(file, None, format!("resolving the Kafka client settings: {e}")))?;

    let mut worker = BTreeMap::new();
    for (setting, value) in common_client_settings(&kafka) {
        if setting == "bootstrap.servers" || setting == "default.api.timeout.ms" {
            worker.insert(setting.to_string(), value.clone());
            continue;
        }
        // Connection settings keep their Java names: the worker translates them (and checks them, below).
        if !is_connection_setting(setting) && !librdkafka_knows(file, &format!("kafka.{setting}"), setting, value)? {
            continue;
        }
        for client in ["producer.", "consumer.", "admin."] {
            worker.insert(format!("{client}{setting}"), value.clone());
        }
        if is_connection_setting(setting) {
            worker.insert(setting.to_string(), value.clone());
        }
    }
    let connection: BTreeMap<String, String> = common_client_settings(&kafka)
        .filter(|(setting, _)| is_connection_setting(setting))
        .map(|(setting, value)| (setting.to_string(), value.clone()))
        .collect();
    connect_clients::translate(&connection)
        .map_err(|err| ConfigError::new(file, Some(&format!("kafka.{}", err.key)), err.message))?;
    let producer = super::with_prefix(&kafka, "kafka.producer.");
    let mut producer_connection = connection.clone();
    producer_connection
        .extend(producer.iter().filter(|(s, _)| is_connection_setting(s)).map(|(s, v)| (s.clone(), v.clone())));
    connect_clients::translate(&producer_connection).map_err(|err| {
        let key = if producer.contains_key(&err.key) {
            format!("kafka.producer.{}", err.key)
        } else {
            format!("kafka.{}", err.key)
        };
        ConfigError::new(file, Some(&key), err.message)
    })?;
    for (setting, value) in producer {
        if is_connection_setting(&setting)
            || librdkafka_knows(file, &format!("kafka.producer.{setting}"), &setting, &value)?
        {
            worker.insert(format!("producer.{setting}"), value);
        }
    }
    worker.extend(providers);
    if let Some(conflict) = idempotence_conflict(&worker) {
        tracing::info!("the Bridge's producer is not idempotent, since {conflict} (as Kafka's producer decides)");
        worker.insert("producer.enable.idempotence".to_string(), "false".to_string());
    }
    for key in ["key.converter", "value.converter", "header.converter"] {
        worker.insert(key.to_string(), BYTE_ARRAY_CONVERTER.to_string());
    }
    Ok(worker)
}

/// Whether `setting` says how clients connect (TLS, SASL): translated from its Java name by `connect_clients`.
fn is_connection_setting(setting: &str) -> bool {
    ["security.", "sasl.", "ssl."].iter().any(|p| setting.starts_with(p))
}

/// Whether librdkafka has client setting `setting` (set by `key` of the file); a value it refuses is an error
/// naming `key`. A setting it does not have (a Java-only one such as `ssl.truststore.location`) is logged and
/// left out of the worker's clients, as Kafka's clients log and ignore settings they do not know; the connector
/// does the same for its consumers and admin client.
fn librdkafka_knows(file: &Path, key: &str, setting: &str, value: &str) -> Result<bool, ConfigError> {
    match rdkafka::ClientConfig::new().set(setting, value).create_native_config() {
        Ok(_) => Ok(true),
        Err(err) if err.to_string().contains("No such configuration property") => {
            tracing::warn!(
                file = %file.display(),
                "The configuration '{key}' was supplied but isn't a known config of librdkafka; \
                 the Bridge's producer ignores it."
            );
            Ok(false)
        }
        Err(err) => Err(ConfigError::new(file, Some(key), err.to_string())),
    }
}

/// The producer setting that rules idempotence out, when `enable.idempotence` is not set: Kafka's producer (3.2+)
/// then turns idempotence off by itself (Strimzi's sample file has `kafka.producer.acks=1`); librdkafka refuses
/// the combination, and the runtime's producers ask for idempotence.
fn idempotence_conflict(worker: &BTreeMap<String, String>) -> Option<String> {
    let producer: BTreeMap<String, String> =
        worker.iter().filter_map(|(k, v)| k.strip_prefix("producer.").map(|k| (k.to_string(), v.clone()))).collect();
    crate::worker::kafka::idempotence_conflict(&producer)
}

/// Names a worker config error by the key of the Bridge file that set the value (`kafka.producer.linger.ms`
/// rather than `producer.linger.ms`).
fn locate(props: &BTreeMap<String, String>, err: ConfigError) -> ConfigError {
    let Some(key) = err.key.as_deref() else { return err };
    let candidates = match key.split_once('.') {
        Some(("producer", setting)) => vec![format!("kafka.producer.{setting}"), format!("kafka.{setting}")],
        Some(("consumer" | "admin", setting)) => vec![format!("kafka.{setting}")],
        _ => vec![format!("kafka.{key}")],
    };
    match candidates.into_iter().find(|c| props.contains_key(c)) {
        Some(located) => ConfigError { key: Some(located), ..err },
        None => err,
    }
}

/// The Bridge connector's configuration: named by `bridge.id` (else `http-bridge`), one task, ByteArrayConverter
/// for keys, values and headers, every `bridge.*`, `http.*` and `kafka.*` key as written except
/// `kafka.producer.*` (the worker's producer) and `kafka.config.providers*` (the worker resolves placeholders
/// before the connector starts), and Strimzi's `http.management.port` default of 8081.
fn connector_config(props: &BTreeMap<String, String>) -> ConnectorConfig {
    let name = props
        .get("bridge.id")
        .map(|id| id.trim())
        .filter(|id| !id.is_empty())
        .unwrap_or(DEFAULT_CONNECTOR_NAME)
        .to_string();
    let mut config: BTreeMap<String, String> = props
        .iter()
        .filter(|(key, _)| BRIDGE_PREFIXES.iter().any(|p| key.starts_with(p)))
        .filter(|(key, _)| {
            !key.starts_with("kafka.producer.") && !key.starts_with(&format!("kafka.{CONFIG_PROVIDERS}"))
        })
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    config.entry(HTTP_MANAGEMENT_PORT.to_string()).or_insert_with(|| DEFAULT_MANAGEMENT_PORT.to_string());
    config.insert("name".to_string(), name.clone());
    config.insert("connector.class".to_string(), HTTP_BRIDGE_CONNECTOR.to_string());
    config.insert("tasks.max".to_string(), "1".to_string());
    for key in ["key.converter", "value.converter", "header.converter"] {
        config.insert(key.to_string(), BYTE_ARRAY_CONVERTER.to_string());
    }
    ConnectorConfig { name, props: config }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn load(pairs: &[(&str, &str)]) -> Result<BridgeConfig, ConfigError> {
        BridgeConfig::from_props(Path::new("/etc/bridge/application.properties"), props(pairs))
    }

    /// Strimzi's sample `config/application.properties`.
    const STRIMZI_SAMPLE: &[(&str, &str)] = &[
        ("bridge.id", "my-bridge"),
        ("kafka.bootstrap.servers", "localhost:9092"),
        ("kafka.producer.acks", "1"),
        ("kafka.consumer.auto.offset.reset", "earliest"),
        ("http.host", "0.0.0.0"),
        ("http.port", "8080"),
        ("http.cors.enabled", "false"),
        ("http.cors.allowedOrigins", "*"),
        ("http.cors.allowedMethods", "GET,POST,PUT,DELETE,OPTIONS,PATCH"),
    ];

    #[test]
    fn strimzi_sample_becomes_a_worker_and_a_connector() {
        let config = load(STRIMZI_SAMPLE).unwrap();
        let worker = &config.worker;
        assert_eq!(worker.bootstrap_servers, "localhost:9092");
        assert_eq!(worker.producer, props(&[("acks", "1"), ("enable.idempotence", "false")]));
        assert!(worker.consumer.is_empty(), "kafka.consumer.* is the connector's: {:?}", worker.consumer);
        for converter in [&worker.key_converter, &worker.value_converter, &worker.header_converter] {
            assert_eq!(converter.class, BYTE_ARRAY_CONVERTER);
        }
        assert_eq!(worker.offset_storage_file, None);

        let connector = &config.connector;
        assert_eq!(connector.name, "my-bridge");
        let mut expected = props(STRIMZI_SAMPLE);
        expected.remove("kafka.producer.acks");
        expected.extend(props(&[
            ("name", "my-bridge"),
            ("connector.class", HTTP_BRIDGE_CONNECTOR),
            ("tasks.max", "1"),
            ("key.converter", BYTE_ARRAY_CONVERTER),
            ("value.converter", BYTE_ARRAY_CONVERTER),
            ("header.converter", BYTE_ARRAY_CONVERTER),
            ("http.management.port", "8081"),
        ]));
        assert_eq!(connector.props, expected);
        assert_eq!((config.http_host(), config.http_port(), config.management_port()), ("0.0.0.0", 8080, Some(8081)));
    }

    #[test]
    fn common_kafka_settings_reach_every_client_and_producer_settings_win() {
        let config = load(&[
            ("kafka.bootstrap.servers", "a:9092, b:9092"),
            ("kafka.security.protocol", "SASL_PLAINTEXT"),
            ("kafka.sasl.mechanism", "PLAIN"),
            ("kafka.linger.ms", "5"),
            ("kafka.producer.linger.ms", "20"),
            ("kafka.admin.request.timeout.ms", "3000"),
            ("kafka.default.api.timeout.ms", "15000"),
        ])
        .unwrap();
        let worker = &config.worker;
        assert_eq!(worker.bootstrap_servers, "a:9092,b:9092");
        assert_eq!(worker.producer["linger.ms"], "20");
        assert_eq!(worker.consumer["linger.ms"], "5");
        assert_eq!(worker.props["admin.linger.ms"], "5");
        for client in ["producer.", "consumer.", "admin.", ""] {
            assert_eq!(worker.props[&format!("{client}security.protocol")], "SASL_PLAINTEXT", "{client}");
            assert_eq!(worker.props[&format!("{client}sasl.mechanism")], "PLAIN", "{client}");
        }
        assert!(!worker.props.contains_key("admin.request.timeout.ms"), "kafka.admin.* is the connector's");
        assert!(!worker.producer.contains_key("bootstrap.servers"));
        assert_eq!(worker.api_timeout, std::time::Duration::from_secs(15));

        // The connector reads the common, consumer and admin settings itself; never the producer's.
        let connector = &config.connector.props;
        assert_eq!(connector["kafka.bootstrap.servers"], "a:9092, b:9092");
        assert_eq!(connector["kafka.linger.ms"], "5");
        assert_eq!(connector["kafka.admin.request.timeout.ms"], "3000");
        assert!(!connector.keys().any(|k| k.starts_with("kafka.producer.")));
    }

    #[test]
    fn a_producer_without_acks_all_is_not_idempotent_unless_asked() {
        let producer = |pairs: &[(&str, &str)]| {
            let mut all = vec![("kafka.bootstrap.servers", "k:9092")];
            all.extend_from_slice(pairs);
            load(&all).unwrap().worker.producer
        };
        assert_eq!(producer(&[("kafka.producer.acks", "1")])["enable.idempotence"], "false");
        assert_eq!(producer(&[("kafka.acks", "0")])["enable.idempotence"], "false");
        assert_eq!(producer(&[("kafka.producer.retries", "0")])["enable.idempotence"], "false");
        assert_eq!(producer(&[("kafka.max.in.flight.requests.per.connection", "6")])["enable.idempotence"], "false");
        for kept in [&[("kafka.producer.acks", "all")][..], &[("kafka.producer.acks", "-1")], &[]] {
            assert!(!producer(kept).contains_key("enable.idempotence"), "{kept:?}");
        }
        // Asked for explicitly: librdkafka says what is wrong.
        let explicit = producer(&[("kafka.producer.acks", "1"), ("kafka.producer.enable.idempotence", "true")]);
        assert_eq!(explicit["enable.idempotence"], "true");
    }

    #[test]
    fn settings_librdkafka_lacks_are_left_out_and_bad_values_named() {
        let config = load(&[
            ("kafka.bootstrap.servers", "k:9092"),
            ("kafka.ssl.truststore.type", "PEM"),
            ("kafka.ssl.truststore.location", "/ca.pem"),
            ("kafka.producer.max.block.ms", "1000"),
            ("kafka.producer.linger.ms", "7"),
        ])
        .unwrap();
        // TLS settings keep their Java names; the worker translates them for librdkafka.
        assert_eq!(
            config.worker.producer,
            props(&[("linger.ms", "7"), ("ssl.truststore.location", "/ca.pem"), ("ssl.truststore.type", "PEM")])
        );
        assert_eq!(config.worker.props["ssl.truststore.location"], "/ca.pem");
        // The connector gets the file's keys as written and sorts its own clients' settings out.
        assert_eq!(config.connector.props["kafka.ssl.truststore.type"], "PEM");
        let err =
            load(&[("kafka.bootstrap.servers", "k:9092"), ("kafka.ssl.truststore.location", "/ca.jks")]).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("kafka.ssl.truststore.location"));
        assert!(err.message.contains("JKS trust stores are not supported"), "{err}");

        let err = load(&[("kafka.bootstrap.servers", "k:9092"), ("kafka.producer.linger.ms", "soon")]).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("kafka.producer.linger.ms"));
        assert!(err.to_string().starts_with("/etc/bridge/application.properties: kafka.producer.linger.ms: "), "{err}");
        let err = load(&[("kafka.bootstrap.servers", "k:9092"), ("kafka.compression.type", "zip")]).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("kafka.compression.type"));
    }

    #[test]
    fn defaults_and_strimzi_keys_pass_through() {
        let config = load(&[
            ("kafka.bootstrap.servers", "k:9092"),
            ("http.management.port", "-1"),
            ("http.timeoutSeconds", "30"),
            ("http.consumer.timeoutMs", "500"),
            ("bridge.tracing", "opentelemetry"),
        ])
        .unwrap();
        assert_eq!(config.connector.name, DEFAULT_CONNECTOR_NAME);
        assert_eq!(config.connector.props["http.management.port"], "-1");
        assert_eq!(config.connector.props["http.timeoutSeconds"], "30");
        assert_eq!(config.connector.props["http.consumer.timeoutMs"], "500");
        assert_eq!(config.connector.props["bridge.tracing"], "opentelemetry");
        assert_eq!((config.http_host(), config.http_port(), config.management_port()), ("0.0.0.0", 8080, None));
    }

    #[test]
    fn keys_outside_strimzi_prefixes_are_ignored() {
        let config = load(&[
            ("kafka.bootstrap.servers", "k:9092"),
            ("name", "other"),
            ("connector.class", "FileStreamSource"),
            ("producer.acks", "0"),
        ])
        .unwrap();
        assert_eq!(config.connector.props["name"], DEFAULT_CONNECTOR_NAME);
        assert_eq!(config.connector.props["connector.class"], HTTP_BRIDGE_CONNECTOR);
        assert!(!config.worker.producer.contains_key("acks"));
    }

    #[test]
    fn config_providers_resolve_client_settings_in_the_worker() {
        std::env::set_var("CONNECT_BRIDGE_TEST_PASSWORD", "s3cret");
        let config = load(&[
            ("kafka.bootstrap.servers", "k:9092"),
            ("kafka.config.providers", "strimzienv"),
            ("kafka.config.providers.strimzienv.class", "org.apache.kafka.common.config.provider.EnvVarConfigProvider"),
            ("kafka.sasl.password", "${strimzienv:CONNECT_BRIDGE_TEST_PASSWORD}"),
        ])
        .unwrap();
        assert_eq!(config.worker.producer["sasl.password"], "s3cret");
        assert_eq!(config.worker.props["sasl.password"], "s3cret");
        assert_eq!(config.worker.props["config.providers"], "strimzienv");
        // The connector's copy keeps its placeholder: the worker resolves it when the connector starts.
        let connector = &config.connector.props;
        assert_eq!(connector["kafka.sasl.password"], "${strimzienv:CONNECT_BRIDGE_TEST_PASSWORD}");
        assert!(!connector.keys().any(|k| k.contains("config.providers")));
    }

    #[test]
    fn errors_name_the_file_and_key() {
        let err = load(&[("http.port", "8080")]).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("kafka.bootstrap.servers"));
        assert_eq!(
            err.to_string(),
            "/etc/bridge/application.properties: kafka.bootstrap.servers: Missing required configuration \
             \"kafka.bootstrap.servers\" which has no default value."
        );
        let err = load(&[("kafka.bootstrap.servers", " , ")]).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("kafka.bootstrap.servers"));

        let err = load(&[("kafka.bootstrap.servers", "k:9092"), ("http.port", "eighty")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/etc/bridge/application.properties: http.port: Invalid value eighty for configuration http.port: \
             Not a number of type INT"
        );
        let err = load(&[("kafka.bootstrap.servers", "k:9092"), ("http.port", "-1")]).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("http.port"));
        let err = load(&[("kafka.bootstrap.servers", "k:9092"), ("http.management.port", "70000")]).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("http.management.port"));

        let err = load(&[("kafka.bootstrap.servers", "k:9092"), ("kafka.default.api.timeout.ms", "soon")]).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("kafka.default.api.timeout.ms"));
        let err = load(&[("kafka.bootstrap.servers", "k:9092"), ("kafka.config.providers", "env")]).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("kafka.config.providers.env.class"));
        assert!(err.to_string().starts_with("/etc/bridge/application.properties: "), "{err}");
    }
}
