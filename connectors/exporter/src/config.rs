//! The exporter's configuration. The connector's keys are kafka_exporter's flag names (`kafka.server`,
//! `topic.filter`, `offset.show-all`, ...), so the dedicated mode's flags map onto them one to one and a user of
//! kafka_exporter recognises every key. Without `kafka.server` the worker's own cluster is used ([`crate::cluster`]).
//!
//! Everything is checked here, before a task starts: a bad regex, duration, file or a feature we do not have is an
//! error naming its key, never a failure at the first scrape.

use std::time::Duration;

use connect_api::config::{ConfigKey, ConfigType, ConfigValueInfo, Importance, Validator};
use connect_api::{Config, ConfigDef, ConnectError, Result};
use regex::Regex;

use crate::kafka::sasl::{Mechanism, SaslSettings};
use crate::kafka::tls::{TlsFiles, TlsSettings};
use crate::kafka::ClientSettings;

/// kafka_exporter's client id.
pub const CLIENT_ID: &str = "kafka_exporter";

/// Keys that only matter for features this exporter does not have: set to anything but their neutral value, they
/// are refused as not supported (key, neutral value, what it would need).
pub const UNSUPPORTED: &[(&str, &str, &str)] = &[
    (
        "use.consumelag.zookeeper",
        "false",
        "lag from ZooKeeper-stored offsets is not supported (Kafka 4 has no ZooKeeper)",
    ),
    (
        "server.tls.enabled",
        "false",
        "HTTPS for the metrics endpoint is not supported: put a TLS-terminating proxy in front",
    ),
    ("server.tls.mutual-auth-enabled", "false", "HTTPS for the metrics endpoint is not supported"),
    ("sasl.handshake", "true", "SASL without the Kafka handshake (non-Kafka SASL proxies) is not supported"),
    ("sasl.service-name", "", "SASL GSSAPI (Kerberos) is not supported"),
    ("sasl.kerberos-config-path", "", "SASL GSSAPI (Kerberos) is not supported"),
    ("sasl.realm", "", "SASL GSSAPI (Kerberos) is not supported"),
    ("sasl.keytab-path", "", "SASL GSSAPI (Kerberos) is not supported"),
    ("sasl.kerberos-auth-type", "", "SASL GSSAPI (Kerberos) is not supported"),
    ("sasl.disable-PA-FX-FAST", "false", "SASL GSSAPI (Kerberos) is not supported"),
    ("sasl.aws-region", "", "SASL AWS_MSK_IAM is not supported"),
    ("sasl.oauthbearer-token-url", "", "SASL OAUTHBEARER is not supported"),
];

/// The keys of the connector with kafka_exporter's defaults.
pub fn config_def() -> ConfigDef {
    let string = |name: &str, default: Option<&str>, group: &str, doc: &str| {
        let key = ConfigKey::new(name, ConfigType::String).documentation(doc).group(group, 0);
        match default {
            Some(d) => key.default_value(d),
            None => key.optional(),
        }
    };
    let boolean = |name: &str, default: &str, group: &str, doc: &str| {
        ConfigKey::new(name, ConfigType::Boolean).default_value(default).documentation(doc).group(group, 0)
    };
    let workers = |name: &str, doc: &str| {
        ConfigKey::new(name, ConfigType::Int)
            .default_value("100")
            .validator(Validator::Range { min: Some(1.0), max: None })
            .documentation(doc)
            .group("Exporter", 0)
    };
    let mut def = ConfigDef::new()
        .define(
            string(
                "kafka.server",
                None,
                "Kafka",
                "host:port of the Kafka brokers, comma-separated; default: the worker's own Kafka cluster.",
            )
            .importance(Importance::High),
        )
        .define(string("kafka.version", Some("2.0.0"), "Kafka", "Accepted for compatibility: versions are negotiated."))
        .define(string("kafka.labels", Some(""), "Kafka", "Labels added to every series: k1=v1,k2=v2."))
        .define(boolean("kafka.allow-auto-topic-creation", "false", "Kafka", "Let metadata requests create topics."))
        .define(string("web.listen-address", Some(":9308"), "Exporter", "host:port of the metrics listener."))
        .define(string("web.telemetry-path", Some("/metrics"), "Exporter", "The path of the metrics."))
        .define(string("topic.filter", Some(".*"), "Exporter", "Regex of the topics to collect."))
        .define(string("topic.exclude", Some("^$"), "Exporter", "Regex of the topics to leave out."))
        .define(string("group.filter", Some(".*"), "Exporter", "Regex of the consumer groups to collect."))
        .define(string("group.exclude", Some("^$"), "Exporter", "Regex of the consumer groups to leave out."))
        .define(boolean(
            "offset.show-all",
            "true",
            "Exporter",
            "Offsets and lag of every consumer group, also without members; false: only of assigned partitions.",
        ))
        .define(boolean(
            "concurrent.enable",
            "false",
            "Exporter",
            "Let each scrape query Kafka, rather than share one.",
        ))
        .define(workers("topic.workers", "Most ListOffsets requests in flight at once."))
        .define(workers("group.workers", "Most consumer group requests in flight at once."))
        .define(string(
            "refresh.metadata",
            Some("30s"),
            "Exporter",
            "How long cluster metadata is reused (Go duration).",
        ))
        .define(string(
            "scrape.timeout",
            Some("10s"),
            "Exporter",
            "A scrape answers with what it has after this long (Go duration), lowered by Prometheus' \
             X-Prometheus-Scrape-Timeout-Seconds.",
        ))
        .define(boolean("tls.enabled", "false", "Security", "Connect to Kafka with TLS."))
        .define(string("tls.server-name", None, "Security", "The name the brokers' certificates must carry."))
        .define(string("tls.ca-file", None, "Security", "CA certificates (PEM) of the brokers."))
        .define(string("tls.cert-file", None, "Security", "Client certificate (PEM)."))
        .define(string("tls.key-file", None, "Security", "Client certificate key (PEM)."))
        .define(boolean("tls.insecure-skip-tls-verify", "false", "Security", "Do not check the brokers' certificates."))
        .define(boolean("sasl.enabled", "false", "Security", "Authenticate with SASL."))
        .define(string("sasl.mechanism", Some(""), "Security", "plain (default), scram-sha256 or scram-sha512."))
        .define(string("sasl.username", Some(""), "Security", "SASL user name."))
        .define(
            ConfigKey::new("sasl.password", ConfigType::Password)
                .default_value("")
                .documentation("SASL password.")
                .group("Security", 0),
        );
    for (key, neutral, why) in UNSUPPORTED {
        let config_type =
            if *neutral == "false" || *neutral == "true" { ConfigType::Boolean } else { ConfigType::String };
        def = def.define(
            ConfigKey::new(*key, config_type)
                .default_value(*neutral)
                .documentation(format!("Not supported: {why}."))
                .group("Not supported", 0),
        );
    }
    def
}

/// Where the metrics are served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenAddress {
    /// The host; `None` for every interface (Go's `:9308`).
    pub host: Option<String>,
    /// The port.
    pub port: u16,
}

impl std::fmt::Display for ListenAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.host {
            Some(host) if host.contains(':') => write!(f, "[{host}]:{}", self.port),
            Some(host) => write!(f, "{host}:{}", self.port),
            None => write!(f, ":{}", self.port),
        }
    }
}

/// The topic and group filters (Go's `regexp.MatchString`: unanchored).
#[derive(Clone, Debug)]
pub struct Filters {
    /// `topic.filter`.
    pub topic: Regex,
    /// `topic.exclude`.
    pub topic_exclude: Regex,
    /// `group.filter`.
    pub group: Regex,
    /// `group.exclude`.
    pub group_exclude: Regex,
}

impl Filters {
    /// Whether a topic is collected.
    pub fn topic(&self, name: &str) -> bool {
        self.topic.is_match(name) && !self.topic_exclude.is_match(name)
    }

    /// Whether a group is collected.
    pub fn group(&self, id: &str) -> bool {
        self.group.is_match(id) && !self.group_exclude.is_match(id)
    }
}

/// The parsed configuration.
#[derive(Clone, Debug)]
pub struct ExporterConfig {
    /// `web.listen-address`.
    pub listen: ListenAddress,
    /// `web.telemetry-path`.
    pub telemetry_path: String,
    /// The filters.
    pub filters: Filters,
    /// `offset.show-all`.
    pub offset_show_all: bool,
    /// `concurrent.enable`.
    pub concurrent: bool,
    /// `topic.workers`.
    pub topic_workers: usize,
    /// `group.workers`.
    pub group_workers: usize,
    /// `refresh.metadata`.
    pub metadata_refresh: Duration,
    /// `scrape.timeout`.
    pub scrape_timeout: Duration,
    /// `kafka.allow-auto-topic-creation`.
    pub allow_auto_topic_creation: bool,
    /// `kafka.labels`, in the order given.
    pub labels: Vec<(String, String)>,
    /// How to reach the cluster.
    pub client: ClientSettings,
}

impl ExporterConfig {
    /// Parses and checks a connector (or task) configuration.
    pub fn parse(props: &Config) -> Result<ExporterConfig> {
        if let Some((key, message)) = cross_key_errors(props).into_iter().next() {
            return Err(ConnectError::config(&key, message));
        }
        let props = with_worker_cluster(props)?;
        let parsed = config_def().parse(&props)?;
        let regex = |key: &str| -> Result<Regex> {
            Regex::new(parsed.string(key)?)
                .map_err(|e| ConnectError::config(key, format!("not a regular expression: {e}")))
        };
        let duration = |key: &str| -> Result<Duration> {
            go_duration(parsed.string(key)?).map_err(|e| ConnectError::config(key, e))
        };
        let version = parsed.string("kafka.version")?.trim();
        let parts: Vec<&str> = version.split('.').collect();
        if !(3..=4).contains(&parts.len())
            || parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            // Sarama's ParseKafkaVersion refuses it too.
            return Err(ConnectError::config("kafka.version", format!("invalid version `{version}`")));
        }
        let scrape_timeout = duration("scrape.timeout")?;
        if scrape_timeout.is_zero() {
            return Err(ConnectError::config("scrape.timeout", "must be more than 0"));
        }
        let bootstrap: Vec<String> = parsed
            .optional_string("kafka.server")?
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if bootstrap.is_empty() {
            return Err(ConnectError::config("kafka.server", "no broker given"));
        }
        if let Some(bad) = bootstrap.iter().find(|b| !valid_broker_address(b)) {
            return Err(ConnectError::config("kafka.server", format!("{bad} is not host:port")));
        }
        let tls = if parsed.boolean("tls.enabled")? {
            let file = |key: &str| -> Result<Option<String>> {
                Ok(parsed.optional_string(key)?.map(str::trim).filter(|s| !s.is_empty()).map(String::from))
            };
            let files = TlsFiles {
                ca_file: file("tls.ca-file")?,
                cert_file: file("tls.cert-file")?,
                key_file: file("tls.key-file")?,
                server_name: file("tls.server-name")?,
                insecure_skip_verify: parsed.boolean("tls.insecure-skip-tls-verify")?,
            };
            Some(TlsSettings::new(&files).map_err(|e| ConnectError::config(e.key, e.message))?)
        } else {
            None
        };
        let sasl = if parsed.boolean("sasl.enabled")? {
            let mechanism =
                mechanism(parsed.string("sasl.mechanism")?).map_err(|e| ConnectError::config("sasl.mechanism", e))?;
            Some(SaslSettings {
                mechanism,
                username: parsed.string("sasl.username")?.to_string(),
                password: parsed.string("sasl.password")?.to_string(),
            })
        } else {
            None
        };
        Ok(ExporterConfig {
            listen: listen_address(parsed.string("web.listen-address")?)
                .map_err(|e| ConnectError::config("web.listen-address", e))?,
            telemetry_path: telemetry_path(parsed.string("web.telemetry-path")?)
                .map_err(|e| ConnectError::config("web.telemetry-path", e))?,
            filters: Filters {
                topic: regex("topic.filter")?,
                topic_exclude: regex("topic.exclude")?,
                group: regex("group.filter")?,
                group_exclude: regex("group.exclude")?,
            },
            offset_show_all: parsed.boolean("offset.show-all")?,
            concurrent: parsed.boolean("concurrent.enable")?,
            topic_workers: parsed.int("topic.workers")?.max(1) as usize,
            group_workers: parsed.int("group.workers")?.max(1) as usize,
            metadata_refresh: duration("refresh.metadata")?,
            scrape_timeout,
            allow_auto_topic_creation: parsed.boolean("kafka.allow-auto-topic-creation")?,
            labels: labels(parsed.string("kafka.labels")?),
            client: ClientSettings {
                bootstrap,
                client_id: CLIENT_ID.to_string(),
                request_timeout: scrape_timeout,
                tls,
                sasl,
            },
        })
    }
}

/// `props`, with the worker's cluster settings filled in when `kafka.server` is not given.
fn with_worker_cluster(props: &Config) -> Result<Config> {
    if props.get("kafka.server").is_some_and(|s| !s.trim().is_empty()) {
        return Ok(props.clone());
    }
    let Some(worker) = crate::cluster::worker_cluster() else {
        return Err(ConnectError::config("kafka.server", "is required here: there is no worker cluster to default to"));
    };
    let mut merged = props.clone();
    for (key, value) in crate::cluster::exporter_keys(&worker).map_err(|(key, message)| {
        ConnectError::config(&format!("{key} (of the worker, used since kafka.server is not set)"), message)
    })? {
        merged.entry(key).or_insert(value);
    }
    Ok(merged)
}

fn valid_broker_address(addr: &str) -> bool {
    match addr.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0),
        None => false,
    }
}

/// A SASL mechanism as kafka_exporter names them (lower-cased; Kafka's names are accepted as well).
fn mechanism(name: &str) -> std::result::Result<Mechanism, String> {
    let normalized: String = name.trim().to_ascii_lowercase().chars().filter(|c| *c != '-' && *c != '_').collect();
    match normalized.as_str() {
        // kafka_exporter's README documents plain as the default.
        "" | "plain" => Ok(Mechanism::Plain),
        "scramsha256" => Ok(Mechanism::ScramSha256),
        "scramsha512" => Ok(Mechanism::ScramSha512),
        "gssapi" => Err("gssapi (Kerberos) is not supported".into()),
        "awsiam" | "awsmskiam" => Err("awsiam is not supported".into()),
        "oauthbearer" => Err("oauthbearer is not supported".into()),
        _ => Err(format!(
            "invalid sasl mechanism \"{name}\": can only be \"scram-sha256\", \"scram-sha512\" or \"plain\""
        )),
    }
}

/// `host:port` or `:port` (every interface).
pub fn listen_address(raw: &str) -> std::result::Result<ListenAddress, String> {
    let raw = raw.trim();
    let (host, port) = raw.rsplit_once(':').ok_or_else(|| format!("{raw:?} is not host:port or :port"))?;
    let port: u16 = port.parse().map_err(|_| format!("{raw:?}: {port:?} is not a port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok(ListenAddress { host: (!host.is_empty()).then(|| host.to_string()), port })
}

fn telemetry_path(raw: &str) -> std::result::Result<String, String> {
    let path = raw.trim();
    if !path.starts_with('/') || path.len() < 2 || path.contains(['?', '#', ' ']) {
        return Err(format!("{path:?} is not a path such as /metrics"));
    }
    Ok(path.to_string())
}

/// `k1=v1,k2=v2` as kafka_exporter reads it: pairs without `=` are skipped, the value ends at a second `=`.
pub fn labels(raw: &str) -> Vec<(String, String)> {
    let mut labels: Vec<(String, String)> = Vec::new();
    if raw.is_empty() {
        return labels;
    }
    for pair in raw.split(',') {
        let mut parts = pair.split('=');
        if let (Some(key), Some(value)) = (parts.next(), parts.next()) {
            match labels.iter_mut().find(|(k, _)| k == key) {
                Some(existing) => existing.1 = value.to_string(),
                None => labels.push((key.to_string(), value.to_string())),
            }
        }
    }
    labels
}

/// A Go duration (`time.ParseDuration`): `300ms`, `1.5h`, `2h45m`; units ns, us, µs, ms, s, m, h.
pub fn go_duration(raw: &str) -> std::result::Result<Duration, String> {
    let text = raw.trim();
    let invalid = || format!("time: invalid duration {raw:?}");
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() || text.starts_with('-') {
        return Err(invalid());
    }
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("time: missing unit in duration {raw:?}"))?;
        let number: f64 = rest[..number_end].parse().map_err(|_| invalid())?;
        rest = &rest[number_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let seconds = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            unit => return Err(format!("time: unknown unit {unit:?} in duration {raw:?}")),
        };
        total += number * seconds;
        rest = &rest[unit_end..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| invalid())
}

/// Errors the per-key definition cannot express, as (key, message).
fn cross_key_errors(props: &Config) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    for (key, neutral, why) in UNSUPPORTED {
        if let Some(value) = props.get(*key) {
            if !value.trim().eq_ignore_ascii_case(neutral) {
                errors.push((key.to_string(), format!("not supported: {why}")));
            }
        }
    }
    let enabled = |key: &str| props.get(key).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    if enabled("sasl.enabled") {
        if let Err(e) = mechanism(props.get("sasl.mechanism").map(String::as_str).unwrap_or("")) {
            errors.push(("sasl.mechanism".to_string(), e));
        }
    }
    for key in ["topic.filter", "topic.exclude", "group.filter", "group.exclude"] {
        if let Some(Err(e)) = props.get(key).map(|r| Regex::new(r)) {
            errors.push((key.to_string(), format!("not a regular expression: {e}")));
        }
    }
    for key in ["refresh.metadata", "scrape.timeout"] {
        if let Some(Err(e)) = props.get(key).map(|r| go_duration(r)) {
            errors.push((key.to_string(), e));
        }
    }
    if let Some(Err(e)) = props.get("web.listen-address").map(|r| listen_address(r)) {
        errors.push(("web.listen-address".to_string(), e));
    }
    if let Some(Err(e)) = props.get("web.telemetry-path").map(|r| telemetry_path(r)) {
        errors.push(("web.telemetry-path".to_string(), e));
    }
    errors
}

/// Validation: the definition's checks plus the cross-key ones, each attached to its key.
pub fn validate(props: &Config) -> Vec<ConfigValueInfo> {
    let mut values = config_def().validate(props);
    let mut extra = cross_key_errors(props);
    if extra.is_empty() && values.iter().all(|v| v.errors.is_empty()) {
        // What only a full parse finds: unreadable TLS files, kafka.version, the worker's cluster settings.
        if let Err(err) = ExporterConfig::parse(props) {
            let message = err.to_string();
            let found = values.iter().find_map(|v| {
                let prefix = format!("Invalid value for configuration {}: ", v.name);
                message.strip_prefix(&prefix).map(|why| (v.name.clone(), why.to_string()))
            });
            extra.push(found.unwrap_or_else(|| ("kafka.server".to_string(), message)));
        }
    }
    for (key, message) in extra {
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

    fn props(pairs: &[(&str, &str)]) -> Config {
        let mut config = Config::from([("kafka.server".to_string(), "127.0.0.1:9092".to_string())]);
        for (k, v) in pairs {
            config.insert(k.to_string(), v.to_string());
        }
        config
    }

    #[test]
    fn defaults_are_kafka_exporter_s() {
        let config = ExporterConfig::parse(&props(&[])).unwrap();
        assert_eq!(config.listen, ListenAddress { host: None, port: 9308 });
        assert_eq!(config.telemetry_path, "/metrics");
        assert!(config.filters.topic("anything") && config.filters.group("anything"));
        assert!(config.offset_show_all && !config.concurrent && !config.allow_auto_topic_creation);
        assert_eq!((config.topic_workers, config.group_workers), (100, 100));
        assert_eq!(config.metadata_refresh, Duration::from_secs(30));
        assert_eq!(config.scrape_timeout, Duration::from_secs(10));
        assert!(config.labels.is_empty());
        assert_eq!(config.client.client_id, "kafka_exporter");
        assert_eq!(config.client.bootstrap, vec!["127.0.0.1:9092"]);
        assert!(config.client.tls.is_none() && config.client.sasl.is_none());
    }

    #[test]
    fn filters_are_unanchored_and_excludes_win() {
        let config = ExporterConfig::parse(&props(&[("topic.filter", "orders"), ("topic.exclude", "^test-")])).unwrap();
        assert!(config.filters.topic("orders") && config.filters.topic("eu-orders-v2"));
        assert!(!config.filters.topic("test-orders") && !config.filters.topic("payments"));
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(go_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(go_duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(go_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(go_duration("0").unwrap(), Duration::ZERO);
        assert!(go_duration("30").unwrap_err().contains("missing unit"));
        assert!(go_duration("5 minutes").is_err());
        assert!(go_duration("-1s").is_err());
        assert!(go_duration("").is_err());
    }

    #[test]
    fn labels_as_kafka_exporter_reads_them() {
        assert_eq!(labels("cluster=prod,env=eu"), vec![("cluster".into(), "prod".into()), ("env".into(), "eu".into())]);
        assert_eq!(labels("novalue,a=b=c"), vec![("a".into(), "b".into())]);
        assert!(labels("").is_empty());
    }

    #[test]
    fn listen_addresses() {
        assert_eq!(listen_address(":9308").unwrap(), ListenAddress { host: None, port: 9308 });
        assert_eq!(listen_address("127.0.0.1:0").unwrap().host.as_deref(), Some("127.0.0.1"));
        assert_eq!(listen_address("[::1]:9308").unwrap().to_string(), "[::1]:9308");
        assert!(listen_address("9308").is_err());
        assert!(listen_address(":http").is_err());
    }

    #[test]
    fn bad_values_name_their_key() {
        let err = |pairs: &[(&str, &str)]| ExporterConfig::parse(&props(pairs)).unwrap_err().to_string();
        assert!(err(&[("topic.filter", "(")]).contains("topic.filter"));
        assert!(err(&[("group.exclude", "[")]).contains("group.exclude"));
        assert!(err(&[("refresh.metadata", "soon")]).contains("refresh.metadata"));
        assert!(err(&[("scrape.timeout", "0s")]).contains("scrape.timeout"));
        assert!(err(&[("web.listen-address", "nowhere")]).contains("web.listen-address"));
        assert!(err(&[("web.telemetry-path", "metrics")]).contains("web.telemetry-path"));
        assert!(err(&[("kafka.server", "kafka")]).contains("kafka.server"));
        assert!(err(&[("topic.workers", "0")]).contains("topic.workers"));
        assert!(err(&[("kafka.version", "3.9")]).contains("kafka.version"));
        assert!(ExporterConfig::parse(&props(&[("kafka.version", "0.10.2.1")])).is_ok());
        let tls = err(&[("tls.enabled", "true"), ("tls.ca-file", "/no/such/ca.pem")]);
        assert!(tls.contains("tls.ca-file") && tls.contains("/no/such/ca.pem"), "{tls}");
        // Without tls.enabled the files are not read, as in kafka_exporter.
        assert!(ExporterConfig::parse(&props(&[("tls.ca-file", "/no/such/ca.pem")])).is_ok());
    }

    #[test]
    fn unsupported_features_are_refused_by_name() {
        let err = |pairs: &[(&str, &str)]| ExporterConfig::parse(&props(pairs)).unwrap_err().to_string();
        let zk = err(&[("use.consumelag.zookeeper", "true")]);
        assert!(zk.contains("use.consumelag.zookeeper") && zk.contains("not supported"), "{zk}");
        assert!(err(&[("server.tls.enabled", "true")]).contains("not supported"));
        let gssapi = err(&[("sasl.enabled", "true"), ("sasl.mechanism", "gssapi")]);
        assert!(gssapi.contains("sasl.mechanism") && gssapi.contains("not supported"), "{gssapi}");
        assert!(err(&[("sasl.enabled", "true"), ("sasl.mechanism", "md5")]).contains("invalid sasl mechanism"));
        assert!(err(&[("sasl.handshake", "false")]).contains("not supported"));
        // Their neutral values are fine.
        assert!(
            ExporterConfig::parse(&props(&[("use.consumelag.zookeeper", "false"), ("sasl.handshake", "true")])).is_ok()
        );
    }

    #[test]
    fn sasl_mechanisms() {
        let sasl = |m: &str| {
            ExporterConfig::parse(&props(&[("sasl.enabled", "true"), ("sasl.mechanism", m), ("sasl.username", "u")]))
                .unwrap()
                .client
                .sasl
                .unwrap()
                .mechanism
        };
        assert_eq!(sasl(""), Mechanism::Plain);
        assert_eq!(sasl("plain"), Mechanism::Plain);
        assert_eq!(sasl("scram-sha256"), Mechanism::ScramSha256);
        assert_eq!(sasl("SCRAM-SHA-512"), Mechanism::ScramSha512);
    }

    #[test]
    fn validation_attaches_errors_to_keys() {
        let info = validate(&props(&[("topic.filter", "("), ("server.tls.enabled", "true")]));
        let errors = |key: &str| info.iter().find(|v| v.name == key).map(|v| v.errors.clone()).unwrap_or_default();
        assert!(errors("topic.filter")[0].contains("regular expression"));
        assert!(errors("server.tls.enabled")[0].contains("not supported"));
        assert!(validate(&props(&[])).iter().all(|v| v.errors.is_empty()));
        let info = validate(&props(&[("tls.enabled", "true"), ("tls.ca-file", "/no/such/ca.pem")]));
        let ca = info.iter().find(|v| v.name == "tls.ca-file").unwrap();
        assert!(ca.errors[0].starts_with("cannot read /no/such/ca.pem"), "{ca:?}");
    }
}
