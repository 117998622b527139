//! Kafka client settings for tasks: Kafka Connect's defaults, then the worker's `producer.*` / `consumer.*`
//! settings, translated to librdkafka where the Java name has no librdkafka equivalent.
//!
//! Java names are translated by `connect_clients` (TLS stores, `sasl.jaas.config`); Java-only settings are skipped.
//! Settings are checked when the worker starts ([`check_worker_clients`]) and when a connector is validated
//! ([`check_overrides`]), so a bad one is an error naming its key before any client is built.

use std::collections::BTreeMap;

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::ClientConfig;

use crate::config::WorkerConfig;

/// Which client a setting is for, to name its prefix in messages.
#[derive(Clone, Copy, Debug)]
pub enum Role {
    /// A source task's producer (`producer.`).
    Producer,
    /// A sink task's consumer (`consumer.`).
    Consumer,
    /// A task's admin client (`admin.`).
    Admin,
}

impl Role {
    /// The worker property prefix of this client.
    pub fn prefix(self) -> &'static str {
        match self {
            Role::Producer => "producer.",
            Role::Consumer => "consumer.",
            Role::Admin => "admin.",
        }
    }

    /// The connector property prefix that overrides the worker's settings of this client.
    pub fn override_prefix(self) -> &'static str {
        match self {
            Role::Producer => "producer.override.",
            Role::Consumer => "consumer.override.",
            Role::Admin => "admin.override.",
        }
    }
}

/// Every per-connector override prefix.
pub const OVERRIDE_PREFIXES: [&str; 3] = ["producer.override.", "consumer.override.", "admin.override."];

/// The worker's `connector.client.config.override.policy` (Kafka's `ConnectorClientConfigOverridePolicy`):
/// which client settings a connector may override. `All` is Kafka's default since 3.0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OverridePolicy {
    /// No override is allowed.
    None,
    /// Only the client's principal: `sasl.jaas.config`, `sasl.mechanism`, `security.protocol`.
    Principal,
    /// Every setting may be overridden.
    #[default]
    All,
}

impl OverridePolicy {
    /// The policy a worker property names (class name or alias, as Kafka accepts it).
    pub fn parse(value: &str) -> Option<Self> {
        let simple = value.trim().rsplit('.').next().unwrap_or("");
        let name = simple.strip_suffix("ConnectorClientConfigOverridePolicy").unwrap_or(simple);
        match name.to_ascii_lowercase().as_str() {
            "none" => Some(OverridePolicy::None),
            "principal" => Some(OverridePolicy::Principal),
            "all" => Some(OverridePolicy::All),
            _ => None,
        }
    }

    /// The policy's name as Kafka's messages say it.
    pub fn name(self) -> &'static str {
        match self {
            OverridePolicy::None => "None",
            OverridePolicy::Principal => "Principal",
            OverridePolicy::All => "All",
        }
    }

    /// Kafka's error for an override `key` (with its prefix) that this policy refuses, if it does.
    pub fn refuses(self, key: &str) -> Option<String> {
        let setting = OVERRIDE_PREFIXES.iter().find_map(|p| key.strip_prefix(p))?;
        let allowed = match self {
            OverridePolicy::All => true,
            OverridePolicy::Principal => matches!(setting, "sasl.jaas.config" | "sasl.mechanism" | "security.protocol"),
            OverridePolicy::None => false,
        };
        (!allowed).then(|| format!("The '{}' policy does not allow '{setting}' to be overridden", self.name()))
    }
}

/// A connector's overrides of `role`'s settings (the prefix removed).
fn overrides(connector: &BTreeMap<String, String>, role: Role) -> BTreeMap<String, String> {
    crate::config::with_prefix(connector, role.override_prefix())
}

fn apply(config: &mut ClientConfig, settings: &BTreeMap<String, String>, role: Role) {
    let mut settings = settings.clone();
    if let Some(value) = settings.get_mut("partition.assignment.strategy") {
        *value = translate_assignors(value);
    }
    match connect_clients::translate(&settings) {
        Ok(translated) => {
            for (key, value) in translated {
                config.set(key, value);
            }
        }
        // Checked at start-up and validation; only a setting that changed since can get here.
        Err(err) => tracing::error!(
            "{}{}: {}; the client is created without these settings",
            role.prefix(),
            err.key,
            err.message
        ),
    }
}

/// Checks the worker's client settings: the connection settings of its own clients (top-level `security.*`,
/// `ssl.*`, `sasl.*`) and `producer.*`, `consumer.*`, `admin.*`; the error names the key as the file has it.
pub fn check_worker_clients(props: &BTreeMap<String, String>) -> Result<(), (String, String)> {
    connect_clients::translate(&checkable(connection_settings(props))).map_err(|e| (e.key, e.message))?;
    for role in [Role::Producer, Role::Consumer, Role::Admin] {
        let settings = checkable(crate::config::with_prefix(props, role.prefix()));
        connect_clients::translate(&settings).map_err(|e| (format!("{}{}", role.prefix(), e.key), e.message))?;
    }
    Ok(())
}

/// Checks a connector's client overrides (`producer.override.*`, ...); errors name the full key.
pub fn check_overrides(connector: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    for role in [Role::Producer, Role::Consumer, Role::Admin] {
        let settings = checkable(overrides(connector, role));
        if let Err(e) = connect_clients::translate(&settings) {
            errors.push((format!("{}{}", role.override_prefix(), e.key), e.message));
        }
    }
    errors
}

/// The settings whose values are known now: a config-provider placeholder is resolved only when the client is
/// built, so its setting is checked then.
fn checkable(mut settings: BTreeMap<String, String>) -> BTreeMap<String, String> {
    settings.retain(|_, value| !value.contains("${"));
    settings
}

/// The worker's top-level connection settings (`security.*`, `ssl.*`, `sasl.*`), which its own clients use (the
/// internal topics, start-up probes), as Kafka Connect passes its originals to them.
pub fn connection_settings(props: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    props
        .iter()
        .filter(|(k, _)| k.starts_with("security.") || k.starts_with("sasl.") || k.starts_with("ssl."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Sets the worker's connection settings on one of its own clients.
pub fn apply_connection_settings(config: &mut ClientConfig, props: &BTreeMap<String, String>) {
    match connect_clients::translate(&connection_settings(props)) {
        Ok(translated) => {
            for (key, value) in translated {
                config.set(key, value);
            }
        }
        Err(err) => tracing::error!("{}: {}", err.key, err.message),
    }
}

/// Java assignor class names to librdkafka's strategy names.
fn translate_assignors(value: &str) -> String {
    value
        .split(',')
        .map(|s| match s.trim().rsplit('.').next().unwrap_or("") {
            "RangeAssignor" => "range",
            "RoundRobinAssignor" => "roundrobin",
            "CooperativeStickyAssignor" | "StickyAssignor" => "cooperative-sticky",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn log_level() -> RDKafkaLogLevel {
    if tracing::enabled!(tracing::Level::DEBUG) {
        RDKafkaLogLevel::Debug
    } else {
        RDKafkaLogLevel::Warning
    }
}

/// The producer settings of a source task: `acks=all`, idempotence on (so pipelined sends keep their order per
/// partition and retries never duplicate), then `producer.*`, then the connector's `producer.override.*`.
pub fn producer_config(
    worker: &WorkerConfig,
    connector: &str,
    task: u32,
    connector_props: &BTreeMap<String, String>,
) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &worker.bootstrap_servers)
        .set("client.id", format!("connector-producer-{connector}-{task}"))
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set_log_level(log_level());
    let mut settings = worker.producer.clone();
    settings.extend(overrides(connector_props, Role::Producer));
    apply(&mut config, &settings, Role::Producer);
    if let Some(conflict) = idempotence_conflict(&settings) {
        tracing::info!("the producer of {connector}-{task} is not idempotent, since {conflict}");
        config.set("enable.idempotence", "false");
    }
    config
}

/// The client id of the producer shared by the source tasks of connectors without producer overrides.
pub const SHARED_PRODUCER_CLIENT_ID: &str = "connector-producer-shared";

/// The settings of the producer a source task uses, shared with the tasks whose settings are equal (see
/// [`super::producers`]): those of [`producer_config`], with a client id that names the connector when it has
/// `producer.override.*` settings (its producer is its own) and [`SHARED_PRODUCER_CLIENT_ID`] otherwise. An
/// explicit `client.id` in `producer.*` or `producer.override.*` wins, as in Kafka Connect.
pub fn source_producer_config(
    worker: &WorkerConfig,
    connector: &str,
    connector_props: &BTreeMap<String, String>,
) -> ClientConfig {
    let mut config = producer_config(worker, connector, 0, connector_props);
    let own = overrides(connector_props, Role::Producer);
    if !own.contains_key("client.id") && !worker.producer.contains_key("client.id") {
        let client_id = if own.is_empty() {
            SHARED_PRODUCER_CLIENT_ID.to_string()
        } else {
            format!("connector-producer-{connector}")
        };
        config.set("client.id", client_id);
    }
    config
}

/// The producer setting that rules idempotence out when `enable.idempotence` is not set (`settings` without the
/// `producer.` prefix): Kafka's producer (3.2+) then turns idempotence off by itself, while librdkafka refuses the
/// combination (`producer.acks=1`, as in Strimzi's sample configuration, would fail every source task).
pub(crate) fn idempotence_conflict(settings: &BTreeMap<String, String>) -> Option<String> {
    if settings.contains_key("enable.idempotence") {
        return None;
    }
    let setting = |key: &str| settings.get(key).map(|v| v.trim());
    let number = |key: &str| setting(key).and_then(|v| v.parse::<i64>().ok());
    if let Some(acks) = setting("acks").filter(|a| !matches!(*a, "all" | "-1")) {
        return Some(format!("acks is {acks}"));
    }
    if let Some(retries) = number("retries").filter(|r| *r == 0) {
        return Some(format!("retries is {retries}"));
    }
    number("max.in.flight.requests.per.connection")
        .filter(|n| *n > 5)
        .map(|n| format!("max.in.flight.requests.per.connection is {n} (over 5)"))
}

/// The consumer settings of a sink task: group `connect-<connector>`, no auto-commit, `earliest`, then
/// `consumer.*`, then the connector's `consumer.override.*`.
pub fn consumer_config(
    worker: &WorkerConfig,
    connector: &str,
    task: u32,
    connector_props: &BTreeMap<String, String>,
) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &worker.bootstrap_servers)
        .set("group.id", format!("connect-{connector}"))
        .set("client.id", format!("connector-consumer-{connector}-{task}"))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set_log_level(log_level());
    apply(&mut config, &worker.consumer, Role::Consumer);
    apply(&mut config, &overrides(connector_props, Role::Consumer), Role::Consumer);
    config
}

/// The admin client settings of a connector's tasks (topic creation, the dead letter queue) and of its offsets
/// endpoints: as Kafka Connect, the worker's connection settings (`security.*`, `ssl.*`, `sasl.*`), then its
/// `admin.*`, then the connector's `admin.override.*`.
pub fn admin_config(
    worker: &WorkerConfig,
    connector: &str,
    connector_props: &BTreeMap<String, String>,
) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &worker.bootstrap_servers)
        .set("client.id", format!("connector-adminclient-{connector}"))
        .set_log_level(log_level());
    let mut settings = connection_settings(&worker.props);
    settings.extend(crate::config::with_prefix(&worker.props, "admin."));
    apply(&mut config, &settings, Role::Admin);
    apply(&mut config, &overrides(connector_props, Role::Admin), Role::Admin);
    config
}

/// `max.poll.records` from `consumer.*` (the largest batch given to one `put`), 500 by default as in Kafka.
pub fn max_poll_records(worker: &WorkerConfig) -> usize {
    worker.consumer.get("max.poll.records").and_then(|v| v.trim().parse().ok()).filter(|n| *n > 0).unwrap_or(500)
}

/// Settings for a short-lived client that checks the cluster is reachable.
pub fn probe_config(worker: &WorkerConfig) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &worker.bootstrap_servers)
        .set("client.id", "connect-startup-probe")
        .set_log_level(RDKafkaLogLevel::Emerg);
    apply_connection_settings(&mut config, &worker.props);
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignor_class_names_are_translated() {
        assert_eq!(
            translate_assignors("org.apache.kafka.clients.consumer.CooperativeStickyAssignor, RangeAssignor"),
            "cooperative-sticky,range"
        );
    }

    #[test]
    fn override_policies_as_kafka() {
        assert_eq!(
            OverridePolicy::parse("org.apache.kafka.connect.connector.policy.NoneConnectorClientConfigOverridePolicy"),
            Some(OverridePolicy::None)
        );
        assert_eq!(OverridePolicy::parse("Principal"), Some(OverridePolicy::Principal));
        assert_eq!(OverridePolicy::parse("All"), Some(OverridePolicy::All));
        assert_eq!(OverridePolicy::parse("Some"), None);
        assert_eq!(
            OverridePolicy::None.refuses("producer.override.linger.ms").as_deref(),
            Some("The 'None' policy does not allow 'linger.ms' to be overridden")
        );
        assert!(OverridePolicy::Principal.refuses("consumer.override.sasl.mechanism").is_none());
        assert!(OverridePolicy::Principal.refuses("admin.override.retries").is_some());
        assert!(OverridePolicy::All.refuses("admin.override.retries").is_none());
        assert!(OverridePolicy::None.refuses("producer.linger.ms").is_none());
    }

    #[test]
    fn connector_overrides_win_over_worker_settings() {
        let worker = WorkerConfig::from_props(
            std::path::Path::new("w.properties"),
            [("bootstrap.servers", "k:9092"), ("producer.linger.ms", "5"), ("consumer.fetch.min.bytes", "1")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
        .unwrap();
        let connector: BTreeMap<String, String> = [
            ("producer.override.linger.ms", "50"),
            ("consumer.override.fetch.min.bytes", "9"),
            ("admin.override.retries", "2"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(producer_config(&worker, "c", 0, &connector).get("linger.ms"), Some("50"));
        assert_eq!(producer_config(&worker, "c", 0, &BTreeMap::new()).get("linger.ms"), Some("5"));
        assert_eq!(consumer_config(&worker, "c", 0, &connector).get("fetch.min.bytes"), Some("9"));
        assert_eq!(admin_config(&worker, "c", &connector).get("retries"), Some("2"));
        // Tasks without overrides share one producer; a connector with overrides has its own.
        let shared = source_producer_config(&worker, "c", &BTreeMap::new());
        assert_eq!(shared.get("client.id"), Some(SHARED_PRODUCER_CLIENT_ID));
        assert_eq!(shared.config_map(), source_producer_config(&worker, "other", &BTreeMap::new()).config_map());
        let own = source_producer_config(&worker, "c", &connector);
        assert_eq!(own.get("client.id"), Some("connector-producer-c"));
        assert_eq!(own.get("linger.ms"), Some("50"));
    }

    #[test]
    fn producers_are_idempotent_unless_a_setting_rules_it_out() {
        let settings = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        assert_eq!(idempotence_conflict(&settings(&[("acks", "all"), ("linger.ms", "5")])), None);
        assert_eq!(idempotence_conflict(&settings(&[("acks", "1")])).as_deref(), Some("acks is 1"));
        assert_eq!(idempotence_conflict(&settings(&[("acks", "1"), ("enable.idempotence", "true")])), None);
        assert!(idempotence_conflict(&settings(&[("retries", "0")])).is_some());
        assert!(idempotence_conflict(&settings(&[("max.in.flight.requests.per.connection", "10")])).is_some());
    }
}
