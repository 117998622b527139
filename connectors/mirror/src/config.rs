//! MirrorMaker 2's connector configuration: Java's keys and defaults (`MirrorConnectorConfig`,
//! `MirrorSourceConfig`, `MirrorCheckpointConfig`, `MirrorHeartbeatConfig`), parsed once into [`MirrorConfig`].

use std::time::Duration;

use connect_api::config::{ConfigValue, ConfigValueInfo, Validator};
use connect_api::{Config, ConfigDef, ConfigKey, ConfigType, ConnectError, Importance, ParsedConfig, Result};
use regex::Regex;

use crate::policy::{ReplicationPolicy, DEFAULT_POLICY};

/// Task key: the source topic-partitions of a MirrorSourceTask, as `topic-partition` items.
pub const TASK_PARTITIONS: &str = "task.assigned.partitions";
/// Task key: the consumer groups of a MirrorCheckpointTask.
pub const TASK_GROUPS: &str = "task.assigned.groups";

const TOPICS_EXCLUDE_DEFAULT: &str = "mm2.*\\.internal,.*\\.replica,__.*";
const GROUPS_EXCLUDE_DEFAULT: &str = "console-consumer-.*,connect-.*,__.*";
const CONFIG_PROPERTIES_EXCLUDE_DEFAULT: &str = "follower\\.replication\\.throttled\\.replicas,\
leader\\.replication\\.throttled\\.replicas,message\\.timestamp\\.difference\\.max\\.ms,message\\.timestamp\\.type,\
unclean\\.leader\\.election\\.enable,min\\.insync\\.replicas";

fn key(name: &str, ty: ConfigType, default: Option<&str>, importance: Importance, doc: &str) -> ConfigKey {
    let key = ConfigKey::new(name, ty).importance(importance).documentation(doc);
    match default {
        Some(d) => key.default_value(d),
        None => key,
    }
}

fn seconds(name: &str, default: &str, doc: &str) -> ConfigKey {
    key(name, ConfigType::Long, Some(default), Importance::Low, doc)
}

fn flag(name: &str, default: &str, doc: &str) -> ConfigKey {
    key(name, ConfigType::Boolean, Some(default), Importance::Low, doc)
}

fn replication_factor(name: &str, doc: &str) -> ConfigKey {
    key(name, ConfigType::Short, Some("3"), Importance::Low, doc)
}

/// The keys every MirrorMaker connector takes.
fn common_def() -> ConfigDef {
    ConfigDef::new()
        .define(flag("enabled", "true", "Whether to replicate source->target."))
        .define(
            key("source.cluster.alias", ConfigType::String, None, Importance::High, "Alias of source cluster")
                .validator(Validator::NonEmptyString),
        )
        .define(
            key("target.cluster.alias", ConfigType::String, Some("target"), Importance::High, "Alias of target cluster. Used in metrics reporting.")
                .validator(Validator::NonEmptyString),
        )
        .define(key(
            "replication.policy.class",
            ConfigType::Class,
            Some(DEFAULT_POLICY),
            Importance::Low,
            "Class which defines the remote topic naming convention: DefaultReplicationPolicy or IdentityReplicationPolicy.",
        ))
        .define(key(
            "replication.policy.separator",
            ConfigType::String,
            Some("."),
            Importance::Low,
            "Separator used in remote topic naming convention.",
        ))
        .define(key(
            "admin.timeout.ms",
            ConfigType::Long,
            Some("60000"),
            Importance::Low,
            "Timeout for administrative tasks, e.g. detecting new topics.",
        ))
        .define(
            key(
                "offset-syncs.topic.location",
                ConfigType::String,
                Some("source"),
                Importance::Low,
                "The location (source/target) of the offset-syncs topic.",
            )
            .validator(Validator::CaseInsensitiveOneOf(vec!["source".into(), "target".into()])),
        )
        .define(replication_factor(
            "offset-syncs.topic.replication.factor",
            "Replication factor for offset-syncs topic.",
        ))
}

fn topic_filter_def(def: ConfigDef) -> ConfigDef {
    def.define(key(
        "topics",
        ConfigType::List,
        Some(".*"),
        Importance::High,
        "Topics to replicate. Supports comma-separated topic names and regexes.",
    ))
    .define(key(
        "topics.exclude",
        ConfigType::List,
        Some(TOPICS_EXCLUDE_DEFAULT),
        Importance::High,
        "List of topics and/or regexes that should not be replicated.",
    ))
}

/// MirrorSourceConnector's keys.
pub fn source_def() -> ConfigDef {
    topic_filter_def(common_def())
        .define(key("config.properties.exclude", ConfigType::List, Some(CONFIG_PROPERTIES_EXCLUDE_DEFAULT), Importance::High, "Topic config properties that should not be replicated. Supports comma-separated property names and regexes."))
        .define(flag("refresh.topics.enabled", "true", "Whether to periodically check for new topics and partitions."))
        .define(seconds("refresh.topics.interval.seconds", "600", "Frequency of topic refresh."))
        .define(flag("sync.topic.configs.enabled", "true", "Whether to periodically configure remote topics to match their corresponding upstream topics."))
        .define(seconds("sync.topic.configs.interval.seconds", "600", "Frequency of topic config sync."))
        .define(flag("sync.topic.acls.enabled", "false", "Whether to periodically configure remote topic ACLs to match their corresponding upstream topics. Not supported by connect-rs: must stay false."))
        .define(flag("emit.offset-syncs.enabled", "true", "Whether to store the new offset of the replicated records in offset-syncs topic or not."))
        .define(key("offset.lag.max", ConfigType::Long, Some("100"), Importance::Low, "How out-of-sync a remote partition can be before it is resynced."))
        .define(key("replication.factor", ConfigType::Int, Some("2"), Importance::High, "Replication factor for newly created remote topics. Set -1 to use the broker's default."))
        .define(key("consumer.poll.timeout.ms", ConfigType::Long, Some("1000"), Importance::Low, "Timeout when polling source cluster."))
}

/// MirrorCheckpointConnector's keys.
pub fn checkpoint_def() -> ConfigDef {
    topic_filter_def(common_def())
        .define(key("groups", ConfigType::List, Some(".*"), Importance::High, "Consumer groups to replicate. Supports comma-separated group IDs and regexes."))
        .define(key("groups.exclude", ConfigType::List, Some(GROUPS_EXCLUDE_DEFAULT), Importance::High, "Exclude groups. Supports comma-separated group IDs and regexes."))
        .define(flag("refresh.groups.enabled", "true", "Whether to periodically check for new consumer groups."))
        .define(seconds("refresh.groups.interval.seconds", "600", "Frequency of group refresh."))
        .define(flag("emit.checkpoints.enabled", "true", "Whether to replicate consumer offsets to target cluster."))
        .define(seconds("emit.checkpoints.interval.seconds", "60", "Frequency of checkpoints."))
        .define(flag("sync.group.offsets.enabled", "false", "Whether to periodically write the translated offsets to __consumer_offsets topic in target cluster, as long as no active consumers in that group are connected to the target cluster."))
        .define(seconds("sync.group.offsets.interval.seconds", "60", "Frequency of consumer group offset sync."))
        .define(replication_factor("checkpoints.topic.replication.factor", "Replication factor for checkpoints topic."))
}

/// MirrorHeartbeatConnector's keys.
pub fn heartbeat_def() -> ConfigDef {
    common_def()
        .define(flag("emit.heartbeats.enabled", "true", "Whether to emit heartbeats to target cluster."))
        .define(seconds("emit.heartbeats.interval.seconds", "1", "Frequency of heartbeats."))
        .define(replication_factor("heartbeats.topic.replication.factor", "Replication factor for heartbeats topic."))
}

/// A pair of regex lists: names matching `include` and not `exclude` are taken (Java's `DefaultTopicFilter` and
/// `DefaultGroupFilter`: the list items joined with `|`, matched against the whole name).
#[derive(Clone, Debug)]
pub struct NameFilter {
    include: Regex,
    exclude: Regex,
}

impl NameFilter {
    fn new(parsed: &ParsedConfig, include: &str, exclude: &str) -> Result<NameFilter> {
        Ok(NameFilter { include: list_regex(parsed, include)?, exclude: list_regex(parsed, exclude)? })
    }

    /// Whether `name` is taken.
    pub fn matches(&self, name: &str) -> bool {
        self.include.is_match(name) && !self.exclude.is_match(name)
    }
}

fn list_regex(parsed: &ParsedConfig, key: &str) -> Result<Regex> {
    let items = parsed.list(key)?;
    let pattern = if items.is_empty() {
        // Java compiles an empty list to a pattern that matches nothing.
        "^\\b$".to_string()
    } else {
        format!("^(?:{})$", items.iter().map(|i| format!("(?:{i})")).collect::<Vec<_>>().join("|"))
    };
    Regex::new(&pattern).map_err(|e| ConnectError::config(key, format!("not a valid regex list: {e}")))
}

/// Where the offset-syncs topic lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncsLocation {
    /// On the source cluster (the default).
    Source,
    /// On the target cluster.
    Target,
}

/// The settings every MirrorMaker connector and task shares.
#[derive(Clone, Debug)]
pub struct MirrorConfig {
    /// The source cluster's alias.
    pub source_alias: String,
    /// The target cluster's alias.
    pub target_alias: String,
    /// The naming policy.
    pub policy: ReplicationPolicy,
    /// Timeout of administrative requests.
    pub admin_timeout: Duration,
    /// Where the offset-syncs topic lives.
    pub syncs_location: SyncsLocation,
    /// The offset-syncs topic.
    pub offset_syncs_topic: String,
    /// Replication factor of the offset-syncs topic.
    pub offset_syncs_replication_factor: i16,
    /// Everything given, for the client settings.
    pub originals: Config,
}

impl MirrorConfig {
    /// Parses the shared keys of an already parsed configuration.
    pub fn new(parsed: &ParsedConfig) -> Result<MirrorConfig> {
        let source_alias = parsed.string("source.cluster.alias")?.to_string();
        let target_alias = parsed.string("target.cluster.alias")?.to_string();
        let class = match parsed.get("replication.policy.class")? {
            ConfigValue::Class(c) | ConfigValue::String(c) => c.clone(),
            _ => DEFAULT_POLICY.to_string(),
        };
        let separator = parsed.string("replication.policy.separator")?;
        let policy = ReplicationPolicy::new(&class, separator, &source_alias).map_err(|e| {
            let key = if e.contains("separator") { "replication.policy.separator" } else { "replication.policy.class" };
            ConnectError::config(key, e)
        })?;
        let syncs_location = if parsed.string("offset-syncs.topic.location")?.eq_ignore_ascii_case("target") {
            SyncsLocation::Target
        } else {
            SyncsLocation::Source
        };
        let offset_syncs_topic = policy.offset_syncs_topic(&target_alias);
        Ok(MirrorConfig {
            admin_timeout: millis(parsed, "admin.timeout.ms")?,
            offset_syncs_replication_factor: short(parsed, "offset-syncs.topic.replication.factor")?,
            source_alias,
            target_alias,
            policy,
            syncs_location,
            offset_syncs_topic,
            originals: parsed.originals().clone(),
        })
    }

    /// The topic filter (`topics`, `topics.exclude`).
    pub fn topic_filter(parsed: &ParsedConfig) -> Result<NameFilter> {
        NameFilter::new(parsed, "topics", "topics.exclude")
    }

    /// The group filter (`groups`, `groups.exclude`).
    pub fn group_filter(parsed: &ParsedConfig) -> Result<NameFilter> {
        NameFilter::new(parsed, "groups", "groups.exclude")
    }

    /// Whether the source connector replicates `topic` to the target: it passes the filter (or is a heartbeats
    /// topic), is not internal, and does not come from the target (no cycles).
    pub fn replicates(&self, filter: &NameFilter, topic: &str) -> bool {
        (filter.matches(topic) || self.policy.is_heartbeats_topic(topic))
            && !self.policy.is_internal_topic(topic)
            && !self.policy.is_cycle(topic, &self.target_alias)
    }
}

/// A `LONG` key in seconds as a duration; negative values mean "disabled" and give `None`.
pub fn interval(parsed: &ParsedConfig, key: &str) -> Result<Option<Duration>> {
    let secs = parsed.long(key)?;
    Ok((secs >= 0).then(|| Duration::from_secs(secs as u64)))
}

/// A `LONG` key in milliseconds as a duration (negative counts as zero).
pub fn millis(parsed: &ParsedConfig, key: &str) -> Result<Duration> {
    Ok(Duration::from_millis(parsed.long(key)?.max(0) as u64))
}

/// A `SHORT` key.
pub fn short(parsed: &ParsedConfig, key: &str) -> Result<i16> {
    match parsed.get(key)? {
        ConfigValue::Short(n) => Ok(*n),
        other => Err(ConnectError::config(key, format!("expected a SHORT, got {other:?}"))),
    }
}

/// The checks across keys that a definition alone cannot make, each as (key, check).
fn extra_checks(def: &ConfigDef, parsed: &ParsedConfig) -> Vec<(&'static str, Result<()>)> {
    let mut checks = vec![
        ("replication.policy.class", MirrorConfig::new(parsed).map(drop)),
        (
            "sync.topic.acls.enabled",
            if parsed.boolean("sync.topic.acls.enabled").unwrap_or(false) {
                Err(ConnectError::config("sync.topic.acls.enabled", "ACL sync is not supported by connect-rs"))
            } else {
                Ok(())
            },
        ),
    ];
    for key in ["topics", "topics.exclude", "groups", "groups.exclude", "config.properties.exclude"] {
        if def.key(key).is_some() {
            checks.push((key, list_regex(parsed, key).map(drop)));
        }
    }
    checks
}

/// Parses `config` with `def` and the shared keys, and checks the regex lists: the configuration as a connector
/// starts it.
pub fn parse(def: &ConfigDef, config: &Config) -> Result<(ParsedConfig, MirrorConfig)> {
    let parsed = def.parse(config)?;
    for (_, check) in extra_checks(def, &parsed) {
        check?;
    }
    let mirror = MirrorConfig::new(&parsed)?;
    Ok((parsed, mirror))
}

/// Validation as Kafka's `ConfigDef.validate`, plus the checks across keys that `parse` makes, attached to the
/// keys concerned.
pub fn validate(def: &ConfigDef, config: &Config) -> Vec<ConfigValueInfo> {
    let mut infos = def.validate(config);
    let Ok(parsed) = def.parse(config) else {
        return infos;
    };
    for (key, check) in extra_checks(def, &parsed) {
        let Err(e) = check else { continue };
        let message = e.message().to_string();
        // A policy error may concern the separator.
        let key = if message.contains("configuration replication.policy.separator") {
            "replication.policy.separator"
        } else {
            key
        };
        if let Some(info) = infos.iter_mut().find(|i| i.name == key) {
            info.errors.push(message);
        }
    }
    infos
}

/// The topic-partitions of a task configuration (`topic-partition` items).
pub fn task_partitions(config: &Config) -> Result<Vec<(String, i32)>> {
    let raw = config.get(TASK_PARTITIONS).map(String::as_str).unwrap_or("");
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            let (topic, partition) = item
                .rsplit_once('-')
                .and_then(|(t, p)| Some((t, p.parse::<i32>().ok()?)))
                .ok_or_else(|| ConnectError::config(TASK_PARTITIONS, format!("'{item}' is not topic-partition")))?;
            Ok((topic.to_string(), partition))
        })
        .collect()
}

/// The groups of a task configuration.
pub fn task_groups(config: &Config) -> Vec<String> {
    let raw = config.get(TASK_GROUPS).map(String::as_str).unwrap_or("");
    raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

/// Splits `items` round-robin over at most `max_tasks` lists (Java's MirrorSourceConnector order); none when there
/// are no items.
pub fn round_robin<T: Clone>(items: &[T], max_tasks: usize) -> Vec<Vec<T>> {
    let tasks = max_tasks.min(items.len());
    let mut lists = vec![Vec::new(); tasks];
    for (i, item) in items.iter().enumerate() {
        lists[i % tasks].push(item.clone());
    }
    lists
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_are_javas() {
        let (parsed, mirror) = parse(&source_def(), &config(&[("source.cluster.alias", "A")])).unwrap();
        assert_eq!(mirror.target_alias, "target");
        assert_eq!(mirror.offset_syncs_topic, "mm2-offset-syncs.target.internal");
        assert_eq!(mirror.syncs_location, SyncsLocation::Source);
        assert_eq!(parsed.long("offset.lag.max").unwrap(), 100);
        assert_eq!(parsed.int("replication.factor").unwrap(), 2);
        let filter = MirrorConfig::topic_filter(&parsed).unwrap();
        assert!(filter.matches("orders"));
        assert!(!filter.matches("mm2-configs.A.internal"));
        assert!(!filter.matches("x.replica"));
        assert!(!filter.matches("__consumer_offsets"));
    }

    #[test]
    fn filters_match_whole_names() {
        let c = config(&[("source.cluster.alias", "A"), ("topics", "ord.*, pay"), ("topics.exclude", "ord-tmp")]);
        let (parsed, mirror) = parse(&source_def(), &c).unwrap();
        let filter = MirrorConfig::topic_filter(&parsed).unwrap();
        assert!(filter.matches("orders") && filter.matches("pay"));
        assert!(!filter.matches("payments") && !filter.matches("ord-tmp") && !filter.matches("xorders"));
        assert!(mirror.replicates(&filter, "orders"));
        assert!(mirror.replicates(&filter, "C.heartbeats"));
        assert!(!mirror.replicates(&filter, "target.orders"));
    }

    #[test]
    fn groups_default_excludes_connect_and_console_groups() {
        let (parsed, _) = parse(&checkpoint_def(), &config(&[("source.cluster.alias", "A")])).unwrap();
        let filter = MirrorConfig::group_filter(&parsed).unwrap();
        assert!(filter.matches("app"));
        assert!(!filter.matches("connect-sink") && !filter.matches("console-consumer-1"));
    }

    #[test]
    fn bad_values_name_their_key() {
        let bad_regex = config(&[("source.cluster.alias", "A"), ("topics", "(unclosed")]);
        let err = parse(&source_def(), &bad_regex).unwrap_err();
        assert!(err.message().contains("configuration topics:"), "{err}");
        let both = config(&[("source.cluster.alias", "A"), ("topics", "(unclosed"), ("topics.exclude", "[")]);
        let infos = validate(&source_def(), &both);
        for key in ["topics", "topics.exclude"] {
            let info = infos.iter().find(|i| i.name == key).unwrap();
            assert_eq!(info.errors.len(), 1, "{infos:?}");
        }

        let bad_policy = config(&[("source.cluster.alias", "A"), ("replication.policy.class", "x.Custom")]);
        let infos = validate(&source_def(), &bad_policy);
        let policy = infos.iter().find(|i| i.name == "replication.policy.class").unwrap();
        assert!(policy.errors[0].contains("not supported"), "{infos:?}");

        let missing = validate(&heartbeat_def(), &Config::new());
        let alias = missing.iter().find(|i| i.name == "source.cluster.alias").unwrap();
        assert!(!alias.errors.is_empty());

        let acls = config(&[("source.cluster.alias", "A"), ("sync.topic.acls.enabled", "true")]);
        assert!(parse(&source_def(), &acls).unwrap_err().message().contains("not supported"));
    }

    #[test]
    fn task_partitions_round_trip_topics_with_dashes() {
        let c = config(&[(TASK_PARTITIONS, "my-topic-0,my-topic-12,t-3")]);
        assert_eq!(
            task_partitions(&c).unwrap(),
            vec![("my-topic".into(), 0), ("my-topic".into(), 12), ("t".into(), 3)]
        );
        assert!(task_partitions(&config(&[(TASK_PARTITIONS, "nopartition")])).is_err());
    }

    #[test]
    fn round_robin_spreads_and_caps_tasks() {
        assert_eq!(round_robin(&[1, 2, 3, 4, 5], 2), vec![vec![1, 3, 5], vec![2, 4]]);
        assert_eq!(round_robin(&[1], 4), vec![vec![1]]);
        assert!(round_robin::<i32>(&[], 4).is_empty());
    }
}
