//! Topic creation by source connectors (KIP-158, Kafka Connect's `TopicCreation` and `TopicCreationGroup`): with
//! the worker's `topic.creation.enable` (default true) and `topic.creation.*` keys in the connector config, a source
//! task creates each topic it is about to write to for the first time, if it does not exist, with the partitions,
//! replication factor and topic configs of the first group in `topic.creation.groups` whose `include` matches the
//! topic and whose `exclude` does not, else of the `default` group.
//!
//! An existing topic is used as it is; a topic is checked once per task.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use connect_api::{Config, ConnectError};
use regex::Regex;

use crate::config::{missing_key, KeyError};
use crate::storage::kafka::{create_missing_topics, TopicSpec};

/// The prefix of every topic creation key.
pub(crate) const PREFIX: &str = "topic.creation.";

/// How long creating one topic may take.
const CREATE_TIMEOUT: Duration = Duration::from_secs(30);

/// The keys of a group that are not topic configs.
const GROUP_KEYS: [&str; 4] = ["include", "exclude", "replication.factor", "partitions"];

/// One group's rule and settings.
#[derive(Clone, Debug)]
pub(crate) struct TopicCreationGroup {
    name: String,
    include: Vec<Regex>,
    exclude: Vec<Regex>,
    partitions: i32,
    replication_factor: i32,
    settings: BTreeMap<String, String>,
}

impl TopicCreationGroup {
    fn matches(&self, topic: &str) -> bool {
        self.include.iter().any(|r| r.is_match(topic)) && !self.exclude.iter().any(|r| r.is_match(topic))
    }
}

/// A connector's topic creation groups, `default` last.
#[derive(Clone, Debug)]
pub(crate) struct TopicCreationConfig {
    groups: Vec<TopicCreationGroup>,
}

fn number(props: &Config, key: &str, what: &str, default: Option<i32>, errors: &mut Vec<KeyError>) -> i32 {
    let Some(raw) = props.get(key).map(|v| v.trim()) else {
        return default.unwrap_or_else(|| {
            errors.push(missing_key(key));
            -1
        });
    };
    match raw.parse::<i32>() {
        Ok(n) if n == -1 || n >= 1 => n,
        _ => {
            errors.push((key.to_string(), format!("Invalid value {raw} for configuration {key}: {what}")));
            -1
        }
    }
}

fn patterns(props: &Config, key: &str, errors: &mut Vec<KeyError>) -> Vec<Regex> {
    let Some(raw) = props.get(key) else { return Vec::new() };
    raw.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .filter_map(|p| match Regex::new(&format!("^(?:{p})$")) {
            Ok(regex) => Some(regex),
            Err(e) => {
                errors.push((
                    key.to_string(),
                    format!("Invalid value {p} for configuration {key}: Syntax error in regular expression: {e}"),
                ));
                None
            }
        })
        .collect()
}

impl TopicCreationConfig {
    /// The groups `props` configures; `Ok(None)` when no `topic.creation.*` key is set (the connector does not
    /// create topics). Every problem found is returned with its key.
    pub(crate) fn from_props(props: &Config) -> Result<Option<Self>, Vec<KeyError>> {
        if !props.keys().any(|k| k.starts_with(PREFIX)) {
            return Ok(None);
        }
        let mut errors = Vec::new();
        let partitions_rule = "Number of partitions must be positive, or -1 to use the broker's default";
        let replication_rule = "Replication factor must be positive and not larger than the number of brokers in the Kafka cluster, or -1 to use the broker's default";
        let default_partitions = number(props, "topic.creation.default.partitions", partitions_rule, None, &mut errors);
        let default_replication =
            number(props, "topic.creation.default.replication.factor", replication_rule, None, &mut errors);
        let names: Vec<String> = props
            .get("topic.creation.groups")
            .map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty() && s != "default").collect())
            .unwrap_or_default();
        let mut seen = HashSet::new();
        let mut groups = Vec::new();
        for name in names {
            if !seen.insert(name.clone()) {
                errors.push((
                    "topic.creation.groups".into(),
                    format!("Invalid value {name} for configuration topic.creation.groups: Duplicate alias provided."),
                ));
                continue;
            }
            let prefix = format!("{PREFIX}{name}.");
            let include = patterns(props, &format!("{prefix}include"), &mut errors);
            if include.is_empty() && !props.contains_key(&format!("{prefix}include")) {
                errors.push(missing_key(&format!("{prefix}include")));
            }
            groups.push(TopicCreationGroup {
                include,
                exclude: patterns(props, &format!("{prefix}exclude"), &mut errors),
                partitions: number(
                    props,
                    &format!("{prefix}partitions"),
                    partitions_rule,
                    Some(default_partitions),
                    &mut errors,
                ),
                replication_factor: number(
                    props,
                    &format!("{prefix}replication.factor"),
                    replication_rule,
                    Some(default_replication),
                    &mut errors,
                ),
                settings: settings(props, &prefix),
                name,
            });
        }
        let any = Regex::new("^.*$").map_err(|e| vec![(PREFIX.to_string(), e.to_string())])?;
        groups.push(TopicCreationGroup {
            name: "default".into(),
            include: vec![any],
            exclude: Vec::new(),
            partitions: default_partitions,
            replication_factor: default_replication,
            settings: settings(props, "topic.creation.default."),
        });
        if errors.is_empty() {
            Ok(Some(TopicCreationConfig { groups }))
        } else {
            Err(errors)
        }
    }

    /// The topic `topic` is created as: the first matching group's settings.
    pub(crate) fn spec_for(&self, topic: &str) -> (String, TopicSpec) {
        let group =
            self.groups.iter().find(|g| g.matches(topic)).unwrap_or_else(|| &self.groups[self.groups.len() - 1]);
        let spec = TopicSpec {
            name: topic.to_string(),
            partitions: group.partitions,
            replication_factor: group.replication_factor,
            settings: group.settings.clone(),
        };
        (group.name.clone(), spec)
    }
}

/// The topic configs of a group: its keys that are not the group's own.
fn settings(props: &Config, prefix: &str) -> BTreeMap<String, String> {
    props
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|rest| (rest, v)))
        .filter(|(rest, _)| !rest.is_empty() && !GROUP_KEYS.contains(rest))
        .map(|(rest, v)| (rest.to_string(), v.clone()))
        .collect()
}

/// Creates the topics one source task writes to, once each.
pub(crate) struct TopicCreator {
    config: TopicCreationConfig,
    admin: rdkafka::ClientConfig,
    runtime: tokio::runtime::Runtime,
    known: HashSet<String>,
}

impl TopicCreator {
    /// A creator with the connector's groups and its admin client settings.
    pub(crate) fn new(config: TopicCreationConfig, admin: rdkafka::ClientConfig) -> Result<Self, ConnectError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ConnectError::new(format!("cannot start a runtime for topic creation: {e}")))?;
        Ok(TopicCreator { config, admin, runtime, known: HashSet::new() })
    }

    /// Makes sure `topic` exists before the first record is sent to it.
    pub(crate) fn ensure(&mut self, topic: &str) -> Result<(), ConnectError> {
        if self.known.contains(topic) {
            return Ok(());
        }
        let (group, spec) = self.config.spec_for(topic);
        tracing::debug!(topic, group, "checking the topic before the first record, creating it if missing");
        self.runtime
            .block_on(create_missing_topics(&self.admin, &[spec], CREATE_TIMEOUT))
            .map_err(|e| ConnectError::new(format!("Unable to create topic '{topic}' (group {group}): {e}")))?;
        self.known.insert(topic.to_string());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Config {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn groups_are_matched_in_order_then_default() {
        let config = TopicCreationConfig::from_props(&props(&[
            ("topic.creation.default.partitions", "3"),
            ("topic.creation.default.replication.factor", "1"),
            ("topic.creation.default.retention.ms", "1000"),
            ("topic.creation.groups", "compacted,big"),
            ("topic.creation.compacted.include", "compact.*, state"),
            ("topic.creation.compacted.exclude", "compact-skip"),
            ("topic.creation.compacted.cleanup.policy", "compact"),
            ("topic.creation.big.include", ".*"),
            ("topic.creation.big.partitions", "12"),
        ]))
        .unwrap()
        .unwrap();
        let (group, spec) = config.spec_for("compact-orders");
        assert_eq!((group.as_str(), spec.partitions, spec.replication_factor), ("compacted", 3, 1));
        assert_eq!(spec.settings, BTreeMap::from([("cleanup.policy".to_string(), "compact".to_string())]));
        assert_eq!(config.spec_for("state").0, "compacted");
        let (group, spec) = config.spec_for("compact-skip");
        assert_eq!((group.as_str(), spec.partitions), ("big", 12));
        assert!(spec.settings.is_empty());
    }

    #[test]
    fn without_groups_the_default_takes_every_topic() {
        assert!(TopicCreationConfig::from_props(&props(&[("name", "x")])).unwrap().is_none());
        let config = TopicCreationConfig::from_props(&props(&[
            ("topic.creation.default.partitions", "-1"),
            ("topic.creation.default.replication.factor", "-1"),
            ("topic.creation.default.cleanup.policy", "compact"),
        ]))
        .unwrap()
        .unwrap();
        let (group, spec) = config.spec_for("anything");
        assert_eq!((group.as_str(), spec.partitions, spec.replication_factor), ("default", -1, -1));
        assert_eq!(spec.settings.get("cleanup.policy").map(String::as_str), Some("compact"));
    }

    #[test]
    fn errors_name_their_keys() {
        let errors = TopicCreationConfig::from_props(&props(&[
            ("topic.creation.default.partitions", "0"),
            ("topic.creation.groups", "a,b"),
            ("topic.creation.a.include", "(unclosed"),
            ("topic.creation.a.replication.factor", "x"),
        ]))
        .unwrap_err();
        let keys: Vec<&str> = errors.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "topic.creation.default.partitions",
                "topic.creation.default.replication.factor",
                "topic.creation.a.include",
                "topic.creation.a.replication.factor",
                "topic.creation.b.include",
            ]
        );
        assert!(errors[0].1.contains("Number of partitions must be positive"), "{}", errors[0].1);
        assert!(errors[2].1.contains("Syntax error in regular expression"), "{}", errors[2].1);
    }
}
