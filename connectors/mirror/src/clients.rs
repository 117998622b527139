//! Kafka clients of the two clusters, configured from the connector's `source.cluster.*` / `target.cluster.*`
//! settings with the per-client overrides Java MM2 takes (`source.consumer.*`, `target.admin.*`, ...).
//!
//! rdkafka's admin calls return futures that its own background thread completes, so a tiny thread-parking
//! executor is all that is needed to wait for them from connector threads, which may or may not sit inside an
//! async runtime.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use connect_api::{Config, ConnectError, Result};
use rdkafka::admin::{
    AdminClient, AdminOptions, AlterConfig, NewPartitions, NewTopic, ResourceSpecifier, TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientConfig;

/// One of the two clusters of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cluster {
    /// The cluster records are read from.
    Source,
    /// The cluster records are written to.
    Target,
}

impl Cluster {
    fn name(self) -> &'static str {
        match self {
            Cluster::Source => "source",
            Cluster::Target => "target",
        }
    }
}

/// Which client a configuration is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A consumer (`<cluster>.consumer.*` overrides).
    Consumer,
    /// A producer (`<cluster>.producer.*` overrides).
    Producer,
    /// An admin client (`<cluster>.admin.*` overrides).
    Admin,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Consumer => "consumer",
            Role::Producer => "producer",
            Role::Admin => "admin",
        }
    }
}

/// Whether librdkafka knows the client setting `key` (with `value`).
fn librdkafka_accepts(key: &str, value: &str) -> bool {
    ClientConfig::new().set(key, value).create_native_config().is_ok()
}

/// The client settings of `cluster` for `role`: `<cluster>.cluster.*`, then `<cluster>.<role>.*` on top.
///
/// A cluster's settings are shared by every client and, in the dedicated mode, by the worker too (Java puts all
/// of them there, worker settings such as `offset.flush.interval.ms` included): of those only what librdkafka
/// knows is kept, as Java keeps only its client settings. The per-client overrides are passed on as they are,
/// so a mistake there is reported when the client is created.
pub fn client_settings(originals: &Config, cluster: Cluster, role: Role) -> BTreeMap<String, String> {
    let cluster_prefix = format!("{}.cluster.", cluster.name());
    let role_prefix = format!("{}.{}.", cluster.name(), role.name());
    let mut settings = BTreeMap::new();
    for (key, value) in originals {
        if let Some(k) = key.strip_prefix(&cluster_prefix) {
            let nested = ["producer.", "consumer.", "admin."].iter().any(|p| k.starts_with(p));
            if nested || k == "alias" || connect_clients::is_java_only(k) {
                continue;
            }
            // Connection settings are kept whatever their (Java) names: `client_config` translates them, and
            // refuses what it cannot honour rather than connect without the TLS or SASL asked for.
            let connection = ["security.", "ssl.", "sasl."].iter().any(|p| k.starts_with(p));
            if k == "bootstrap.servers" || connection || librdkafka_accepts(k, value) {
                settings.insert(k.to_string(), value.clone());
            } else {
                tracing::debug!(
                    "{key} is not a librdkafka client setting; not given to the {} clients",
                    cluster.name()
                );
            }
        }
    }
    for (key, value) in originals {
        if let Some(k) = key.strip_prefix(&role_prefix) {
            if !connect_clients::is_java_only(k) {
                settings.insert(k.to_string(), value.clone());
            }
        }
    }
    settings
}

/// An rdkafka configuration for `cluster`'s `role` client; fails naming the cluster when `bootstrap.servers` is
/// missing.
pub fn client_config(originals: &Config, cluster: Cluster, role: Role) -> Result<ClientConfig> {
    let settings = client_settings(originals, cluster, role);
    if !settings.contains_key("bootstrap.servers") {
        let key = format!("{}.cluster.bootstrap.servers", cluster.name());
        return Err(ConnectError::config(&key, "is required: the bootstrap servers of the cluster"));
    }
    let translated = connect_clients::translate(&settings).map_err(|err| {
        let role_key = format!("{}.{}.{}", cluster.name(), role.name(), err.key);
        let key = if originals.contains_key(&role_key) {
            role_key
        } else {
            format!("{}.cluster.{}", cluster.name(), err.key)
        };
        ConnectError::config(&key, err.message)
    })?;
    let mut config = ClientConfig::new();
    for (k, v) in &translated {
        config.set(k, v);
    }
    config.set_log_level(if tracing::enabled!(tracing::Level::DEBUG) {
        RDKafkaLogLevel::Debug
    } else {
        RDKafkaLogLevel::Warning
    });
    Ok(config)
}

/// A consumer configuration of `cluster` that commits nothing. librdkafka assigns partitions only to a consumer
/// with a group id: `group` is used unless the settings name one; it is never joined or committed to.
pub fn consumer_config(originals: &Config, cluster: Cluster, group: &str) -> Result<ClientConfig> {
    let mut config = client_config(originals, cluster, Role::Consumer)?;
    if config.get("group.id").is_none() {
        config.set("group.id", group);
    }
    config.set("enable.auto.commit", "false").set("enable.auto.offset.store", "false");
    Ok(config)
}

/// Describes the settings of a client for messages.
pub fn describe(originals: &Config, cluster: Cluster) -> String {
    let settings = client_settings(originals, cluster, Role::Admin);
    let alias = originals.get(&format!("{}.cluster.alias", cluster.name())).map(String::as_str).unwrap_or("?");
    let servers = settings.get("bootstrap.servers").map(String::as_str).unwrap_or("?");
    format!("{} cluster {alias} ({servers})", cluster.name())
}

/// Maps an rdkafka client-creation error to a configuration error naming the settings' prefixes.
pub fn creation_error(cluster: Cluster, role: Role, error: rdkafka::error::KafkaError) -> ConnectError {
    ConnectError::config(
        &format!("{0}.cluster.* / {0}.{1}.*", cluster.name(), role.name()),
        format!("cannot create the {} {}: {error}", cluster.name(), role.name()),
    )
}

struct ThreadWaker(std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to completion on the calling thread.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}

/// Topic configuration entries (name, value).
pub type TopicConfigs = Vec<(String, String)>;

/// A topic to create.
pub struct TopicSpec<'a> {
    /// Its name.
    pub name: &'a str,
    /// Partition count.
    pub partitions: i32,
    /// Replication factor; -1 for the broker's default.
    pub replication_factor: i32,
    /// Topic configuration.
    pub configs: TopicConfigs,
}

/// An admin client of one cluster, with the operations MirrorMaker needs.
pub struct Admin {
    client: AdminClient<DefaultClientContext>,
    options: AdminOptions,
    timeout: Duration,
    /// "source cluster A (host:port)", for messages.
    pub label: String,
}

impl Admin {
    /// An admin client of `cluster`.
    pub fn new(originals: &Config, cluster: Cluster, timeout: Duration) -> Result<Admin> {
        let client = client_config(originals, cluster, Role::Admin)?
            .create()
            .map_err(|e| creation_error(cluster, Role::Admin, e))?;
        let options = AdminOptions::new().request_timeout(Some(timeout)).operation_timeout(Some(timeout));
        Ok(Admin { client, options, timeout, label: describe(originals, cluster) })
    }

    fn fail(&self, what: &str, error: impl std::fmt::Display) -> ConnectError {
        ConnectError::retriable(format!("{what} on the {}: {error}", self.label))
    }

    /// Every topic of the cluster with its partition count.
    pub fn topics(&self) -> Result<BTreeMap<String, i32>> {
        let metadata = self
            .client
            .inner()
            .fetch_metadata(None, self.timeout)
            .map_err(|e| self.fail("cannot list topics (is the cluster reachable?)", e))?;
        Ok(metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none())
            .map(|t| (t.name().to_string(), t.partitions().len() as i32))
            .collect())
    }

    /// Creates the topics that do not exist yet; an existing topic is not an error.
    pub fn create_topics(&self, specs: &[TopicSpec<'_>]) -> Result<()> {
        if specs.is_empty() {
            return Ok(());
        }
        let new: Vec<NewTopic<'_>> = specs
            .iter()
            .map(|s| {
                s.configs.iter().fold(
                    NewTopic::new(s.name, s.partitions, TopicReplication::Fixed(s.replication_factor)),
                    |t, (k, v)| t.set(k, v),
                )
            })
            .collect();
        let results = block_on(self.client.create_topics(new.iter(), &self.options))
            .map_err(|e| self.fail("cannot create topics", e))?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => return Err(self.fail(&format!("cannot create topic {topic}"), code)),
            }
        }
        Ok(())
    }

    /// Grows `topic` to `count` partitions.
    pub fn create_partitions(&self, topic: &str, count: i32) -> Result<()> {
        let new = NewPartitions::new(topic, count as usize);
        let results = block_on(self.client.create_partitions([&new], &self.options))
            .map_err(|e| self.fail(&format!("cannot add partitions to {topic}"), e))?;
        for result in results {
            if let Err((_, code)) = result {
                return Err(self.fail(&format!("cannot add partitions to {topic}"), code));
            }
        }
        Ok(())
    }

    /// The configuration entries of `topic` that were set explicitly (not defaults, not sensitive, writable).
    pub fn topic_configs(&self, topic: &str) -> Result<Vec<(String, String)>> {
        let results = block_on(self.client.describe_configs([&ResourceSpecifier::Topic(topic)], &self.options))
            .map_err(|e| self.fail(&format!("cannot describe the configuration of {topic}"), e))?;
        let mut configs = Vec::new();
        for result in results {
            let resource = result.map_err(|code| self.fail(&format!("cannot describe {topic}"), code))?;
            for entry in resource.entries {
                if entry.is_default || entry.is_sensitive || entry.is_read_only {
                    continue;
                }
                if let Some(value) = entry.value {
                    configs.push((entry.name, value));
                }
            }
        }
        Ok(configs)
    }

    /// Sets the configuration of `topic` to `configs`.
    pub fn alter_topic_configs(&self, topic: &str, configs: &[(String, String)]) -> Result<()> {
        let alter = configs.iter().fold(AlterConfig::new(ResourceSpecifier::Topic(topic)), |a, (k, v)| a.set(k, v));
        let results = block_on(self.client.alter_configs([&alter], &self.options))
            .map_err(|e| self.fail(&format!("cannot alter the configuration of {topic}"), e))?;
        for result in results {
            if let Err((_, code)) = result {
                return Err(self.fail(&format!("cannot alter the configuration of {topic}"), code));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_settings_are_overridden_per_client() {
        let originals: Config = [
            ("source.cluster.alias", "A"),
            ("source.cluster.bootstrap.servers", "a:9092"),
            ("source.cluster.security.protocol", "PLAINTEXT"),
            ("source.cluster.key.deserializer", "x"),
            ("source.cluster.offset.flush.interval.ms", "100"),
            ("source.cluster.producer.acks", "1"),
            ("source.consumer.fetch.min.bytes", "10"),
            ("source.consumer.security.protocol", "SSL"),
            ("target.cluster.bootstrap.servers", "b:9092"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let consumer = client_settings(&originals, Cluster::Source, Role::Consumer);
        let expected: BTreeMap<String, String> =
            [("bootstrap.servers", "a:9092"), ("fetch.min.bytes", "10"), ("security.protocol", "SSL")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        assert_eq!(consumer, expected);
        let target = client_settings(&originals, Cluster::Target, Role::Admin);
        assert_eq!(target.len(), 1);
        assert!(describe(&originals, Cluster::Source).contains("A (a:9092)"));
        let err = client_config(&Config::new(), Cluster::Target, Role::Producer).unwrap_err();
        assert!(err.message().contains("target.cluster.bootstrap.servers"), "{err}");
    }

    #[test]
    fn java_tls_and_sasl_settings_are_translated_or_refused_naming_the_key() {
        let mut originals: Config = [
            ("source.cluster.bootstrap.servers", "a:9092"),
            ("source.cluster.security.protocol", "SASL_SSL"),
            ("source.cluster.sasl.mechanism", "PLAIN"),
            ("source.cluster.sasl.jaas.config", "a.PlainLoginModule required username=\"u\" password=\"p\";"),
            ("source.cluster.ssl.truststore.type", "PEM"),
            ("source.cluster.ssl.truststore.location", "/ca.pem"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let config = client_config(&originals, Cluster::Source, Role::Consumer).unwrap();
        assert_eq!(config.get("ssl.ca.location"), Some("/ca.pem"));
        assert_eq!(config.get("sasl.username"), Some("u"));
        assert_eq!(config.get("sasl.jaas.config"), None);
        originals.insert("source.consumer.ssl.truststore.type".into(), "JKS".into());
        let err = client_config(&originals, Cluster::Source, Role::Consumer).unwrap_err();
        assert!(err.message().contains("source.cluster.ssl.truststore.location"), "{err}");
        assert!(err.message().contains("JKS trust stores are not supported"), "{err}");
    }

    #[test]
    fn block_on_waits_for_a_future_completed_by_another_thread() {
        struct Wait(std::sync::mpsc::Receiver<u32>);
        impl Future for Wait {
            type Output = u32;
            fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
                if let Ok(v) = self.0.try_recv() {
                    return Poll::Ready(v);
                }
                let waker = cx.waker().clone();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(5));
                    waker.wake();
                });
                Poll::Pending
            }
        }
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            tx.send(7).unwrap();
        });
        assert_eq!(block_on(Wait(rx)), 7);
    }
}
