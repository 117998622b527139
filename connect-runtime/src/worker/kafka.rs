//! Kafka client settings for tasks: Kafka Connect's defaults, then the worker's `producer.*` / `consumer.*`
//! settings, translated to librdkafka where the Java name has no librdkafka equivalent.
//!
//! A setting librdkafka does not know makes client creation fail with an error naming it; it is never
//! silently dropped, except the Java-only settings listed in [`JAVA_ONLY`], which are logged and skipped.

use std::collections::BTreeMap;

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::ClientConfig;

use crate::config::WorkerConfig;

/// Java client settings that have no meaning for librdkafka (serializers are the converters' job, memory and
/// blocking limits are librdkafka's own queue settings).
const JAVA_ONLY: &[&str] = &[
    "key.serializer",
    "value.serializer",
    "key.deserializer",
    "value.deserializer",
    "max.block.ms",
    "buffer.memory",
    "interceptor.classes",
    "max.poll.records",
    "metric.reporters",
    "default.api.timeout.ms",
];

/// Which client a setting is for, to name its prefix in messages.
#[derive(Clone, Copy, Debug)]
pub enum Role {
    /// A source task's producer (`producer.`).
    Producer,
    /// A sink task's consumer (`consumer.`).
    Consumer,
}

impl Role {
    /// The worker property prefix of this client.
    pub fn prefix(self) -> &'static str {
        match self {
            Role::Producer => "producer.",
            Role::Consumer => "consumer.",
        }
    }
}

fn apply(config: &mut ClientConfig, settings: &BTreeMap<String, String>, role: Role) {
    for (key, value) in settings {
        if JAVA_ONLY.contains(&key.as_str()) {
            tracing::debug!("{}{key} has no librdkafka equivalent; ignored", role.prefix());
            continue;
        }
        let value = if key == "partition.assignment.strategy" { translate_assignors(value) } else { value.clone() };
        config.set(key, value);
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
/// partition and retries never duplicate), then `producer.*`.
pub fn producer_config(worker: &WorkerConfig, connector: &str, task: u32) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &worker.bootstrap_servers)
        .set("client.id", format!("connector-producer-{connector}-{task}"))
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set_log_level(log_level());
    apply(&mut config, &worker.producer, Role::Producer);
    if let Some(conflict) = idempotence_conflict(&worker.producer) {
        tracing::info!("the producer of {connector}-{task} is not idempotent, since {conflict}");
        config.set("enable.idempotence", "false");
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
/// `consumer.*`.
pub fn consumer_config(worker: &WorkerConfig, connector: &str, task: u32) -> ClientConfig {
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
    for (key, value) in &worker.props {
        if key.starts_with("security.") || key.starts_with("sasl.") || key.starts_with("ssl.") {
            config.set(key, value);
        }
    }
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
