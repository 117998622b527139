//! The dedicated MirrorMaker 2 configuration (`connect mirror-maker mm2.properties`), read as Kafka's
//! `MirrorMakerConfig` reads `connect-mirror-maker.properties`: `clusters = A, B`, `A.`-prefixed cluster settings,
//! `A->B.`-prefixed flow settings over the top-level ones.
//!
//! From it come, for each flow, the worker configuration of the herder that runs on the target cluster and the
//! configurations of the three MirrorMaker connectors, built key by key as Kafka builds them. This module never
//! connects to anything; every error names the file and the key at fault.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use super::providers::ConfigProviders;
use super::{read_properties, ConfigError, DistributedConfig, RestConfig, WorkerConfig};

/// Kafka's MirrorSourceConnector: replicates topics.
pub const MIRROR_SOURCE_CONNECTOR: &str = "org.apache.kafka.connect.mirror.MirrorSourceConnector";
/// Kafka's MirrorHeartbeatConnector: emits heartbeats.
pub const MIRROR_HEARTBEAT_CONNECTOR: &str = "org.apache.kafka.connect.mirror.MirrorHeartbeatConnector";
/// Kafka's MirrorCheckpointConnector: translates consumer group offsets.
pub const MIRROR_CHECKPOINT_CONNECTOR: &str = "org.apache.kafka.connect.mirror.MirrorCheckpointConnector";
/// The connectors of every flow, in the order Kafka's `MirrorMaker` configures them.
pub const MIRROR_CONNECTORS: [&str; 3] =
    [MIRROR_SOURCE_CONNECTOR, MIRROR_HEARTBEAT_CONNECTOR, MIRROR_CHECKPOINT_CONNECTOR];

/// `dedicated.mode.enable.internal.rest` (KIP-710).
pub const ENABLE_INTERNAL_REST: &str = "dedicated.mode.enable.internal.rest";
const CLUSTERS: &str = "clusters";
const EMIT_HEARTBEATS_ENABLED: &str = "emit.heartbeats.enabled";
const BYTE_ARRAY_CONVERTER: &str = "org.apache.kafka.connect.converters.ByteArrayConverter";
/// Top-level keys Kafka passes to every flow's worker (`MirrorMakerConfig.workerConfig`), prefix kept.
const WORKER_PREFIXES: &[&str] = &[
    "offset.storage",
    "config.storage",
    "status.storage",
    "key.converter",
    "value.converter",
    "header.converter",
    "task",
    "worker",
    "replication.policy",
];

/// A replication flow, `source->target`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceAndTarget {
    /// The alias of the cluster replicated from.
    pub source: String,
    /// The alias of the cluster replicated to; the flow's herder runs there.
    pub target: String,
}

impl SourceAndTarget {
    /// A flow from `source` to `target`.
    pub fn new(source: &str, target: &str) -> Self {
        SourceAndTarget { source: source.to_string(), target: target.to_string() }
    }

    /// The prefix of this flow's keys: `A->B.`.
    pub fn prefix(&self) -> String {
        format!("{self}.")
    }
}

impl fmt::Display for SourceAndTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}->{}", self.source, self.target)
    }
}

/// Whether `key` is one of the client settings Kafka's `MirrorClientConfig.CLIENT_CONFIG_DEF` defines:
/// `bootstrap.servers`, `security.protocol` and the SSL and SASL client keys.
fn is_client_key(key: &str) -> bool {
    key == "bootstrap.servers" || key == "security.protocol" || key.starts_with("ssl.") || key.starts_with("sasl.")
}

/// Whether a cluster setting belongs to one of the clients (Kafka's `^consumer.*|^producer.*|^admin.*`).
fn is_client_prefixed(key: &str) -> bool {
    key.starts_with("consumer") || key.starts_with("producer") || key.starts_with("admin")
}

/// The simple name of a Java class name (`MirrorSourceConnector`).
pub fn simple_name(class: &str) -> &str {
    class.rsplit('.').next().unwrap_or(class)
}

/// Java's `Boolean.parseBoolean` made strict: `true` or `false` in any case, anything else is an error.
fn parse_bool(file: &Path, key: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ConfigError::new(
            file,
            Some(key),
            format!("Invalid value {value} for configuration {key}: Expected value to be either true or false"),
        )),
    }
}

/// A checked `connect-mirror-maker.properties` file.
#[derive(Clone, Debug)]
pub struct MirrorMakerConfig {
    /// The file it was read from.
    pub file: PathBuf,
    /// Every property as written.
    pub props: BTreeMap<String, String>,
    /// `clusters`, in the order written, without duplicates.
    pub clusters: Vec<String>,
}

impl MirrorMakerConfig {
    /// Reads and checks a MirrorMaker 2 properties file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let props = read_properties(path)?;
        Self::from_props(path, props)
    }

    /// Checks MirrorMaker 2 properties read from `file`: `clusters` lists at least one alias, every
    /// `source->target.` key names two different listed clusters, and the booleans that choose flows parse.
    pub fn from_props(file: &Path, props: BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let raw = props.get(CLUSTERS).ok_or_else(|| {
            ConfigError::new(
                file,
                Some(CLUSTERS),
                "Missing required configuration \"clusters\" which has no default value.",
            )
        })?;
        let mut clusters: Vec<String> = Vec::new();
        for alias in raw.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            if alias.contains("->") || alias.chars().any(char::is_whitespace) {
                return Err(ConfigError::new(
                    file,
                    Some(CLUSTERS),
                    format!("invalid cluster alias '{alias}': an alias contains neither '->' nor whitespace"),
                ));
            }
            if !clusters.iter().any(|c| c == alias) {
                clusters.push(alias.to_string());
            }
        }
        if clusters.is_empty() {
            return Err(ConfigError::new(
                file,
                Some(CLUSTERS),
                "must list at least one cluster alias, e.g. clusters = A, B",
            ));
        }
        let config = MirrorMakerConfig { file: file.to_path_buf(), props, clusters };
        for (key, value) in &config.props {
            if key.contains("->") {
                let flow = config.flow_of_key(key)?;
                if key
                    .strip_prefix(&flow.prefix())
                    .is_some_and(|rest| rest == "enabled" || rest == EMIT_HEARTBEATS_ENABLED)
                {
                    parse_bool(file, key, value)?;
                }
            }
        }
        for key in [EMIT_HEARTBEATS_ENABLED, ENABLE_INTERNAL_REST] {
            if let Some(value) = config.props.get(key) {
                parse_bool(file, key, value)?;
            }
        }
        Ok(config)
    }

    /// The flow a `source->target.`-prefixed key belongs to; an error naming the key when either alias is not
    /// in `clusters`, or both are the same.
    fn flow_of_key(&self, key: &str) -> Result<SourceAndTarget, ConfigError> {
        let listed = self.clusters.join(", ");
        let unknown = |alias: &str| {
            ConfigError::new(
                &self.file,
                Some(key),
                format!("names cluster alias '{alias}', which is not in clusters ({listed})"),
            )
        };
        let (source, rest) = key.split_once("->").unwrap_or((key, ""));
        if !self.clusters.iter().any(|c| c == source) {
            return Err(unknown(source));
        }
        // The longest listed alias followed by '.' (aliases may themselves contain dots).
        let target = self
            .clusters
            .iter()
            .filter(|c| rest.strip_prefix(c.as_str()).is_some_and(|after| after.starts_with('.')))
            .max_by_key(|c| c.len())
            .ok_or_else(|| unknown(rest.split('.').next().unwrap_or(rest)))?;
        if target == source {
            return Err(ConfigError::new(
                &self.file,
                Some(key),
                format!("a replication flow needs two different clusters, not {source}->{target}"),
            ));
        }
        Ok(SourceAndTarget::new(source, target))
    }

    fn flag(&self, key: &str) -> Option<bool> {
        self.props.get(key).map(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    /// Whether `flow` replicates (`A->B.enabled = true`; flows are disabled by default).
    pub fn flow_enabled(&self, flow: &SourceAndTarget) -> bool {
        self.flag(&format!("{}enabled", flow.prefix())).unwrap_or(false)
    }

    /// The flows that get a herder, as Kafka's `clusterPairs`: every ordered pair of different clusters that is
    /// enabled or emits heartbeats (`emit.heartbeats.enabled`, true by default, per flow over top level), so
    /// that the heartbeat connector of `B->A` reports the health of `A->B` on A.
    pub fn cluster_pairs(&self) -> Vec<SourceAndTarget> {
        let heartbeats = self.flag(EMIT_HEARTBEATS_ENABLED).unwrap_or(true);
        let mut pairs = Vec::new();
        for source in &self.clusters {
            for target in self.clusters.iter().filter(|t| *t != source) {
                let flow = SourceAndTarget::new(source, target);
                let flow_heartbeats =
                    self.flag(&format!("{}{EMIT_HEARTBEATS_ENABLED}", flow.prefix())).unwrap_or(heartbeats);
                if self.flow_enabled(&flow) || flow_heartbeats {
                    pairs.push(flow);
                }
            }
        }
        pairs
    }

    /// The flows this process runs: those of [`Self::cluster_pairs`] targeting one of `targets` (`--clusters`;
    /// empty: every cluster). An alias not in `clusters`, or no flow at all, is an error.
    pub fn herder_pairs(&self, targets: &[String]) -> Result<Vec<SourceAndTarget>, ConfigError> {
        for alias in targets {
            if !self.clusters.contains(alias) {
                return Err(ConfigError::new(
                    &self.file,
                    Some(CLUSTERS),
                    format!("--clusters names '{alias}', which is not in clusters ({})", self.clusters.join(", ")),
                ));
            }
        }
        let pairs: Vec<SourceAndTarget> = self
            .cluster_pairs()
            .into_iter()
            .filter(|pair| targets.is_empty() || targets.contains(&pair.target))
            .collect();
        if pairs.is_empty() {
            return Err(ConfigError::new(
                &self.file,
                None,
                "No source->target replication flows: enable one with <source>-><target>.enabled = true \
                 (and keep emit.heartbeats.enabled true for the reverse flows' heartbeats)",
            ));
        }
        Ok(pairs)
    }

    /// Every cluster used by `pairs` must have `bootstrap.servers` (`<alias>.bootstrap.servers`, or a top-level
    /// `bootstrap.servers` shared by all).
    pub fn check_bootstrap_servers(&self, pairs: &[SourceAndTarget]) -> Result<(), ConfigError> {
        for pair in pairs {
            for alias in [&pair.source, &pair.target] {
                let servers = self.cluster_props(alias).get("bootstrap.servers").cloned().unwrap_or_default();
                if servers.trim().is_empty() {
                    let key = format!("{alias}.bootstrap.servers");
                    return Err(ConfigError::new(
                        &self.file,
                        Some(&key),
                        format!(
                            "Missing required configuration \"{key}\" which has no default value (cluster {alias} \
                             is used by flow {pair})"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The top-level keys starting with `prefix`, prefix kept.
    fn with_prefix_kept(&self, prefix: &str) -> impl Iterator<Item = (String, String)> + '_ {
        let prefix = prefix.to_string();
        self.props.iter().filter(move |(k, _)| k.starts_with(&prefix)).map(|(k, v)| (k.clone(), v.clone()))
    }

    /// The settings of cluster `alias`, as Kafka's `clusterProps`: the `alias.`-prefixed keys, the client ones
    /// among them also as `producer.`/`consumer.`/`admin.` settings, then top-level client keys where the
    /// cluster does not set them.
    pub fn cluster_props(&self, alias: &str) -> BTreeMap<String, String> {
        let mut props = super::with_prefix(&self.props, &format!("{alias}."));
        let client: Vec<(String, String)> =
            props.iter().filter(|(k, _)| is_client_key(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
        for (key, value) in client {
            for client in ["producer.", "consumer.", "admin."] {
                props.entry(format!("{client}{key}")).or_insert_with(|| value.clone());
            }
        }
        for (key, value) in self.props.iter().filter(|(k, _)| is_client_key(k)) {
            for client in ["producer.", "consumer.", "admin."] {
                props.entry(format!("{client}{key}")).or_insert_with(|| value.clone());
            }
            props.entry(key.clone()).or_insert_with(|| value.clone());
        }
        props
    }

    /// The worker properties of `flow`'s herder, as Kafka's `workerConfig`: the target cluster's settings, the
    /// top-level storage, converter, `task*`, `worker*` and `replication.policy*` keys, placeholders of the
    /// top-level `config.providers` resolved, then defaults: `client.id` `A->B`, `group.id` `A-mm2`, the
    /// `mm2-{configs,offsets,status}.A.internal` topics and ByteArrayConverter for keys, values and headers.
    pub fn worker_props(&self, flow: &SourceAndTarget) -> Result<BTreeMap<String, String>, ConfigError> {
        let mut props = self.cluster_props(&flow.target);
        for prefix in WORKER_PREFIXES {
            props.extend(self.with_prefix_kept(prefix));
        }
        // Kafka resolves the worker's placeholders here, since a worker does not resolve its own config.
        let providers = ConfigProviders::from_worker(&self.file, &self.props)?;
        let mut props = providers
            .resolve(&props)
            .map_err(|e| ConfigError::new(&self.file, None, format!("worker config of flow {flow}: {e}")))?;
        props.extend(self.with_prefix_kept("config.providers"));
        let source = &flow.source;
        let defaults = [
            ("client.id", flow.to_string()),
            ("group.id", format!("{source}-mm2")),
            ("offset.storage.topic", format!("mm2-offsets.{source}.internal")),
            ("status.storage.topic", format!("mm2-status.{source}.internal")),
            ("config.storage.topic", format!("mm2-configs.{source}.internal")),
            ("key.converter", BYTE_ARRAY_CONVERTER.to_string()),
            ("value.converter", BYTE_ARRAY_CONVERTER.to_string()),
            ("header.converter", BYTE_ARRAY_CONVERTER.to_string()),
        ];
        for (key, value) in defaults {
            props.entry(key.to_string()).or_insert(value);
        }
        Ok(props)
    }

    /// The distributed worker configuration of `flow`'s herder; an error names the key of this file it came
    /// from (`B.offset.storage.replication.factor` rather than `offset.storage.replication.factor`).
    pub fn worker_config(&self, flow: &SourceAndTarget) -> Result<DistributedConfig, ConfigError> {
        let props = self.worker_props(flow)?;
        WorkerConfig::from_props(&self.file, props)
            .and_then(DistributedConfig::from_worker)
            .map_err(|err| self.locate(flow, err))
    }

    /// Names a worker config error by the key of this file that set the value.
    fn locate(&self, flow: &SourceAndTarget, err: ConfigError) -> ConfigError {
        let Some(key) = err.key.clone() else {
            return ConfigError { message: format!("worker config of flow {flow}: {}", err.message), ..err };
        };
        let cluster_key = format!("{}.{key}", flow.target);
        let located = if self.props.contains_key(&cluster_key) {
            cluster_key
        } else if self.props.contains_key(&key) {
            key
        } else {
            return ConfigError { message: format!("{} (worker config of flow {flow})", err.message), ..err };
        };
        ConfigError { key: Some(located), ..err }
    }

    /// The configuration of connector `class` in `flow`, as Kafka's `connectorBaseConfig`: the top-level keys
    /// the MirrorMaker connectors define (`connector_keys`: the union of the three connectors' keys), the
    /// `config.providers*` and `replication.policy*` keys, each cluster's settings as `source.cluster.*` /
    /// `target.cluster.*` (client-prefixed ones as `source.*` / `target.*`), the aliases, then the flow's own
    /// `A->B.` keys over all of it, and `enabled = false` unless set. Placeholders stay unresolved: the worker
    /// resolves them when the connector starts. `name` is always the class's simple name and `connector.class`
    /// the class (Kafka stores the connector under that name whatever the keys say).
    pub fn connector_config(
        &self,
        flow: &SourceAndTarget,
        class: &str,
        connector_keys: &BTreeSet<String>,
    ) -> BTreeMap<String, String> {
        let mut props: BTreeMap<String, String> = self
            .props
            .iter()
            .filter(|(k, _)| connector_keys.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        props.extend(self.with_prefix_kept("config.providers"));
        props.extend(self.with_prefix_kept("replication.policy"));
        for (alias, cluster_prefix, client_prefix) in
            [(&flow.source, "source.cluster.", "source."), (&flow.target, "target.cluster.", "target.")]
        {
            for (key, value) in self.cluster_props(alias) {
                let prefix = if is_client_prefixed(&key) { client_prefix } else { cluster_prefix };
                props.insert(format!("{prefix}{key}"), value);
            }
        }
        props.entry("source.cluster.alias".to_string()).or_insert_with(|| flow.source.clone());
        props.entry("target.cluster.alias".to_string()).or_insert_with(|| flow.target.clone());
        props.extend(super::with_prefix(&self.props, &flow.prefix()));
        props.entry("enabled".to_string()).or_insert_with(|| "false".to_string());
        props.insert("name".to_string(), simple_name(class).to_string());
        props.insert("connector.class".to_string(), class.to_string());
        props
    }

    /// The connectors of `flow` with their configs; `None` for one that must not exist. A flow whose connectors
    /// are `enabled` runs all three; a flow that has a herder only for its heartbeats runs the heartbeat
    /// connector alone. (Kafka configures the other two there too, with `enabled = false`, which keeps them
    /// idle; here they are left out, and removed if the flow was enabled before: the same work runs.)
    pub fn flow_connectors(
        &self,
        flow: &SourceAndTarget,
        connector_keys: &BTreeSet<String>,
    ) -> Vec<(String, Option<BTreeMap<String, String>>)> {
        MIRROR_CONNECTORS
            .iter()
            .map(|class| {
                let config = self.connector_config(flow, class, connector_keys);
                let enabled = config.get("enabled").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
                let wanted = enabled || *class == MIRROR_HEARTBEAT_CONNECTOR;
                (simple_name(class).to_string(), wanted.then_some(config))
            })
            .collect()
    }

    /// The REST configuration of the internal endpoint that lets the herders of one flow reach their leader:
    /// the top-level `listeners` (and `rest.*`, `listeners.https.*`, `ssl.*` keys). Without `listeners`, Kafka's
    /// default `http://:8083` when `dedicated.mode.enable.internal.rest = true`, else a free port on every
    /// interface, so that several processes on one host can share one file.
    pub fn internal_rest(&self, kafka_opts: Option<&str>) -> Result<RestConfig, ConfigError> {
        let mut props = self.props.clone();
        if !props.contains_key("listeners") {
            let default = if self.flag(ENABLE_INTERNAL_REST).unwrap_or(false) { "http://:8083" } else { "http://:0" };
            props.insert("listeners".to_string(), default.to_string());
        }
        RestConfig::from_props(&self.file, &props, kafka_opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<MirrorMakerConfig, ConfigError> {
        let props = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        MirrorMakerConfig::from_props(Path::new("/etc/mm2/mm2.properties"), props)
    }

    fn flow(source: &str, target: &str) -> SourceAndTarget {
        SourceAndTarget::new(source, target)
    }

    /// A few keys of the three connectors' definitions, as the registry would give them.
    fn connector_keys() -> BTreeSet<String> {
        [
            "name",
            "connector.class",
            "tasks.max",
            "enabled",
            "topics",
            "groups",
            "emit.heartbeats.enabled",
            "key.converter",
        ]
        .into_iter()
        .map(str::to_string)
        .collect()
    }

    fn two_clusters() -> Vec<(&'static str, &'static str)> {
        vec![("clusters", "A, B"), ("A.bootstrap.servers", "a:9092"), ("B.bootstrap.servers", "b:9092")]
    }

    #[test]
    fn clusters_is_required_and_listed() {
        let err = config(&[]).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("clusters"));
        assert_eq!(
            err.to_string(),
            "/etc/mm2/mm2.properties: clusters: Missing required configuration \"clusters\" which has no default value."
        );
        let err = config(&[("clusters", " , ")]).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("clusters"));
        let err = config(&[("clusters", "A->B, C")]).unwrap_err();
        assert!(err.message.contains("'A->B'"), "{err}");
        assert_eq!(config(&[("clusters", "B, A, B")]).unwrap().clusters, ["B", "A"]);
    }

    #[test]
    fn flow_keys_must_name_listed_clusters() {
        let mut pairs = two_clusters();
        pairs.push(("C->B.enabled", "true"));
        let err = config(&pairs).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("C->B.enabled"));
        assert_eq!(
            err.to_string(),
            "/etc/mm2/mm2.properties: C->B.enabled: names cluster alias 'C', which is not in clusters (A, B)"
        );
        let mut pairs = two_clusters();
        pairs.push(("A->X.topics", "t"));
        let err = config(&pairs).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("A->X.topics"));
        assert!(err.message.contains("'X'"), "{err}");
        let mut pairs = two_clusters();
        pairs.push(("A->A.enabled", "true"));
        let err = config(&pairs).unwrap_err();
        assert!(err.message.contains("two different clusters"), "{err}");
        let mut pairs = two_clusters();
        pairs.push(("A->B.enabled", "yes"));
        let err = config(&pairs).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("A->B.enabled"));
        // Aliases with dots: the longest listed alias wins.
        let cfg = config(&[("clusters", "us, us.east"), ("us->us.east.enabled", "true")]).unwrap();
        assert!(cfg.flow_enabled(&flow("us", "us.east")));
    }

    #[test]
    fn heartbeats_keep_the_reverse_flow_unless_disabled() {
        let mut pairs = two_clusters();
        pairs.push(("A->B.enabled", "true"));
        let cfg = config(&pairs).unwrap();
        // B->A runs for the heartbeats emitted into A, as in Kafka.
        assert_eq!(cfg.cluster_pairs(), [flow("A", "B"), flow("B", "A")]);
        assert!(cfg.flow_enabled(&flow("A", "B")));
        assert!(!cfg.flow_enabled(&flow("B", "A")));
        pairs.push(("emit.heartbeats.enabled", "false"));
        assert_eq!(config(&pairs).unwrap().cluster_pairs(), [flow("A", "B")]);
        pairs.push(("B->A.emit.heartbeats.enabled", "TRUE"));
        assert_eq!(config(&pairs).unwrap().cluster_pairs(), [flow("A", "B"), flow("B", "A")]);
    }

    #[test]
    fn clusters_option_selects_target_flows() {
        let mut pairs = vec![("clusters", "A, B, C")];
        pairs.extend([("A->B.enabled", "true"), ("C->B.enabled", "true"), ("emit.heartbeats.enabled", "false")]);
        let cfg = config(&pairs).unwrap();
        assert_eq!(cfg.herder_pairs(&[]).unwrap(), [flow("A", "B"), flow("C", "B")]);
        assert_eq!(cfg.herder_pairs(&["B".to_string()]).unwrap(), [flow("A", "B"), flow("C", "B")]);
        let err = cfg.herder_pairs(&["A".to_string()]).unwrap_err();
        assert!(err.message.starts_with("No source->target replication flows"), "{err}");
        let err = cfg.herder_pairs(&["D".to_string()]).unwrap_err();
        assert!(err.message.contains("--clusters names 'D'"), "{err}");
    }

    #[test]
    fn bootstrap_servers_is_required_per_cluster_used() {
        let cfg = config(&[("clusters", "A, B"), ("A.bootstrap.servers", "a:9092"), ("A->B.enabled", "true")]).unwrap();
        let err = cfg.check_bootstrap_servers(&cfg.herder_pairs(&[]).unwrap()).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("B.bootstrap.servers"));
        assert!(err.to_string().starts_with("/etc/mm2/mm2.properties: B.bootstrap.servers: Missing"), "{err}");
        // A top-level bootstrap.servers serves every cluster, as in Kafka.
        let cfg = config(&[("clusters", "A, B"), ("bootstrap.servers", "x:9092"), ("A->B.enabled", "true")]).unwrap();
        cfg.check_bootstrap_servers(&cfg.herder_pairs(&[]).unwrap()).unwrap();
    }

    #[test]
    fn cluster_props_spread_client_settings_to_every_client() {
        let mut pairs = two_clusters();
        pairs.extend([
            ("A.security.protocol", "SSL"),
            ("A.producer.security.protocol", "PLAINTEXT"),
            ("A.offset.storage.topic", "offsets-a"),
            ("sasl.mechanism", "PLAIN"),
            ("A.sasl.mechanism", "SCRAM-SHA-256"),
        ]);
        let props = config(&pairs).unwrap().cluster_props("A");
        assert_eq!(props["bootstrap.servers"], "a:9092");
        assert_eq!(props["consumer.bootstrap.servers"], "a:9092");
        assert_eq!(props["admin.security.protocol"], "SSL");
        // A client's own setting wins over the cluster's.
        assert_eq!(props["producer.security.protocol"], "PLAINTEXT");
        assert_eq!(props["offset.storage.topic"], "offsets-a");
        assert!(!props.contains_key("producer.offset.storage.topic"));
        // The cluster's setting wins over the top-level one.
        assert_eq!(props["sasl.mechanism"], "SCRAM-SHA-256");
        assert_eq!(props["admin.sasl.mechanism"], "SCRAM-SHA-256");
    }

    #[test]
    fn worker_config_is_kafkas() {
        let mut pairs = two_clusters();
        pairs.extend([
            ("A->B.enabled", "true"),
            ("config.storage.replication.factor", "1"),
            ("B.offset.storage.replication.factor", "1"),
            ("status.storage.replication.factor", "1"),
            ("tasks.max", "4"),
            ("topics", "orders.*"),
        ]);
        let cfg = config(&pairs).unwrap();
        let props = cfg.worker_props(&flow("A", "B")).unwrap();
        assert_eq!(props["bootstrap.servers"], "b:9092");
        assert_eq!(props["producer.bootstrap.servers"], "b:9092");
        assert_eq!(props["client.id"], "A->B");
        assert_eq!(props["group.id"], "A-mm2");
        assert_eq!(props["config.storage.topic"], "mm2-configs.A.internal");
        assert_eq!(props["offset.storage.topic"], "mm2-offsets.A.internal");
        assert_eq!(props["status.storage.topic"], "mm2-status.A.internal");
        for key in ["key.converter", "value.converter", "header.converter"] {
            assert_eq!(props[key], "org.apache.kafka.connect.converters.ByteArrayConverter");
        }
        assert_eq!(props["config.storage.replication.factor"], "1");
        // `task*` is one of Kafka's worker prefixes; `topics` is not.
        assert_eq!(props["tasks.max"], "4");
        assert!(!props.contains_key("topics"));
        assert!(!props.contains_key("A.bootstrap.servers"));

        let worker = cfg.worker_config(&flow("A", "B")).unwrap();
        assert_eq!(worker.group_id, "A-mm2");
        assert_eq!(worker.offset_topic.replication_factor, 1);
        assert_eq!(worker.worker.bootstrap_servers, "b:9092");
        assert_eq!(worker.worker.value_converter.class, "org.apache.kafka.connect.converters.ByteArrayConverter");

        // The reverse flow runs on A with A's names for its topics... named after its source, B.
        let reverse = cfg.worker_config(&flow("B", "A")).unwrap();
        assert_eq!(reverse.group_id, "B-mm2");
        assert_eq!(reverse.config_topic.name, "mm2-configs.B.internal");
        assert_eq!(reverse.worker.bootstrap_servers, "a:9092");
        assert_eq!(reverse.offset_topic.replication_factor, 3, "B.-prefixed keys stay with cluster B");
    }

    #[test]
    fn worker_settings_of_the_target_cluster_win_over_defaults_and_errors_name_the_file_key() {
        let mut pairs = two_clusters();
        pairs.extend([("A->B.enabled", "true"), ("B.group.id", "mm2-b"), ("B.config.storage.topic", "cfg")]);
        let worker = config(&pairs).unwrap().worker_config(&flow("A", "B")).unwrap();
        assert_eq!(worker.group_id, "mm2-b");
        assert_eq!(worker.config_topic.name, "cfg");

        let mut pairs = two_clusters();
        pairs.extend([("A->B.enabled", "true"), ("B.offset.flush.interval.ms", "soon")]);
        let err = config(&pairs).unwrap().worker_config(&flow("A", "B")).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("B.offset.flush.interval.ms"));
        let mut pairs = two_clusters();
        pairs.extend([("A->B.enabled", "true"), ("worker.sync.timeout.ms", "-5")]);
        let err = config(&pairs).unwrap().worker_config(&flow("A", "B")).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("worker.sync.timeout.ms"));
        assert!(err.to_string().starts_with("/etc/mm2/mm2.properties: worker.sync.timeout.ms: "), "{err}");
    }

    #[test]
    fn connector_config_takes_flow_keys_over_top_level_ones() {
        let mut pairs = two_clusters();
        pairs.extend([
            ("A->B.enabled", "true"),
            ("topics", ".*"),
            ("A->B.topics", "orders"),
            ("groups", "g1"),
            ("tasks.max", "2"),
            ("replication.policy.separator", "_"),
            ("A.consumer.fetch.min.bytes", "1000"),
            ("B.producer.linger.ms", "5"),
            ("A.security.protocol", "PLAINTEXT"),
            ("not.a.connector.key", "x"),
            ("name", "ignored"),
        ]);
        let cfg = config(&pairs).unwrap();
        let props = cfg.connector_config(&flow("A", "B"), MIRROR_SOURCE_CONNECTOR, &connector_keys());
        assert_eq!(props["name"], "MirrorSourceConnector");
        assert_eq!(props["connector.class"], MIRROR_SOURCE_CONNECTOR);
        assert_eq!(props["source.cluster.alias"], "A");
        assert_eq!(props["target.cluster.alias"], "B");
        assert_eq!(props["enabled"], "true");
        assert_eq!(props["topics"], "orders", "A->B.topics wins over topics");
        assert_eq!(props["groups"], "g1");
        assert_eq!(props["tasks.max"], "2");
        assert_eq!(props["replication.policy.separator"], "_");
        assert_eq!(props["source.cluster.bootstrap.servers"], "a:9092");
        assert_eq!(props["target.cluster.bootstrap.servers"], "b:9092");
        assert_eq!(props["source.cluster.security.protocol"], "PLAINTEXT");
        // Client-prefixed cluster settings become source.<client>.* / target.<client>.*.
        assert_eq!(props["source.consumer.fetch.min.bytes"], "1000");
        assert_eq!(props["source.consumer.bootstrap.servers"], "a:9092");
        assert_eq!(props["target.producer.linger.ms"], "5");
        assert_eq!(props["target.admin.bootstrap.servers"], "b:9092");
        assert!(!props.contains_key("not.a.connector.key"));
        assert!(!props.contains_key("source.cluster.consumer.fetch.min.bytes"));

        // A flow that only emits heartbeats is configured, disabled.
        let reverse = cfg.connector_config(&flow("B", "A"), MIRROR_HEARTBEAT_CONNECTOR, &connector_keys());
        assert_eq!(reverse["name"], "MirrorHeartbeatConnector");
        assert_eq!(reverse["enabled"], "false");
        assert_eq!(reverse["topics"], ".*");
        assert_eq!(reverse["source.cluster.alias"], "B");
        assert_eq!(reverse["source.cluster.bootstrap.servers"], "b:9092");
    }

    #[test]
    fn a_flow_that_only_emits_heartbeats_runs_the_heartbeat_connector_alone() {
        let mut pairs = two_clusters();
        pairs.push(("A->B.enabled", "true"));
        let cfg = config(&pairs).unwrap();
        let wanted = |flow: &SourceAndTarget| -> Vec<(String, bool)> {
            cfg.flow_connectors(flow, &connector_keys()).into_iter().map(|(name, c)| (name, c.is_some())).collect()
        };
        let names = ["MirrorSourceConnector", "MirrorHeartbeatConnector", "MirrorCheckpointConnector"];
        let all: Vec<(String, bool)> = names.iter().map(|n| (n.to_string(), true)).collect();
        assert_eq!(wanted(&flow("A", "B")), all);
        let heartbeat_only: Vec<(String, bool)> =
            names.iter().map(|n| (n.to_string(), *n == "MirrorHeartbeatConnector")).collect();
        assert_eq!(wanted(&flow("B", "A")), heartbeat_only);
        // A top-level `enabled` reaches the connectors (it is one of their keys), as in Kafka.
        pairs.push(("enabled", "true"));
        let cfg = config(&pairs).unwrap();
        let configs = cfg.flow_connectors(&flow("B", "A"), &connector_keys());
        assert!(configs.iter().all(|(_, c)| c.is_some()));
    }

    #[test]
    fn internal_rest_listens_on_a_free_port_unless_told() {
        let cfg = config(&two_clusters()).unwrap();
        let rest = cfg.internal_rest(None).unwrap();
        assert_eq!(rest.listeners.len(), 1);
        assert_eq!(rest.listeners[0].port, 0);
        let mut pairs = two_clusters();
        pairs.push((ENABLE_INTERNAL_REST, "true"));
        assert_eq!(config(&pairs).unwrap().internal_rest(None).unwrap().listeners[0].port, 8083);
        pairs.push(("listeners", "http://127.0.0.1:9999"));
        assert_eq!(config(&pairs).unwrap().internal_rest(None).unwrap().listeners[0].port, 9999);
        let mut pairs = two_clusters();
        pairs.push((ENABLE_INTERNAL_REST, "maybe"));
        assert_eq!(config(&pairs).unwrap_err().key.as_deref(), Some(ENABLE_INTERNAL_REST));
    }
}
