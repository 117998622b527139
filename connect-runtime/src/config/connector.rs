//! Connector configurations: the framework keys every connector accepts (Kafka Connect's `ConnectorConfig`,
//! `SourceConnectorConfig`, `SinkConnectorConfig`) and loading connector config files.

use std::collections::BTreeMap;
use std::path::Path;

use connect_api::abi::PluginKind;
use connect_api::config::{Config, ConfigDef, ConfigKey, ConfigType, ConfigValueInfo, Importance, Validator};

use super::{read_properties, ConfigError};
use crate::worker::kafka::OverridePolicy;
use crate::worker::topic_creation::TopicCreationConfig;

/// Source or sink, as the REST API names connector types.
pub type ConnectorType = PluginKind;

/// A connector's configuration with its name.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectorConfig {
    /// `name`.
    pub name: String,
    /// Every property.
    pub props: Config,
}

/// The framework keys of a connector of `kind`, which are merged with the connector's own definition.
pub fn connector_config_def(kind: PluginKind) -> ConfigDef {
    let common = "Common";
    let def = ConfigDef::new()
        .define(
            ConfigKey::new("name", ConfigType::String)
                .validator(Validator::NonEmptyStringWithoutControlChars)
                .importance(Importance::High)
                .documentation("Globally unique name to use for this connector.")
                .group(common, 1),
        )
        .define(
            ConfigKey::new("connector.class", ConfigType::String)
                .importance(Importance::High)
                .documentation("Name or alias of the class for this connector.")
                .group(common, 2),
        )
        .define(
            ConfigKey::new("tasks.max", ConfigType::Int)
                .default_value("1")
                .validator(Validator::Range { min: Some(1.0), max: None })
                .importance(Importance::High)
                .documentation("Maximum number of tasks to use for this connector.")
                .group(common, 3),
        )
        .define(
            ConfigKey::new("key.converter", ConfigType::Class).optional().importance(Importance::Low).group(common, 4),
        )
        .define(
            ConfigKey::new("value.converter", ConfigType::Class)
                .optional()
                .importance(Importance::Low)
                .group(common, 5),
        )
        .define(
            ConfigKey::new("header.converter", ConfigType::Class)
                .optional()
                .importance(Importance::Low)
                .group(common, 6),
        )
        .define(
            ConfigKey::new("transforms", ConfigType::List)
                .default_value("")
                .importance(Importance::Low)
                .group("Transforms", 1),
        )
        .define(
            ConfigKey::new("predicates", ConfigType::List)
                .default_value("")
                .importance(Importance::Low)
                .group("Predicates", 1),
        )
        .define(
            ConfigKey::new("errors.retry.timeout", ConfigType::Long)
                .default_value("0")
                .validator(Validator::Range { min: Some(-1.0), max: None })
                .importance(Importance::Medium)
                .documentation("The maximum duration in milliseconds that a failed operation will be reattempted. The default is 0, which means no retries will be attempted. Use -1 for infinite retries.")
                .group("Error Handling", 1),
        )
        .define(
            ConfigKey::new("errors.retry.delay.max.ms", ConfigType::Long)
                .default_value("60000")
                .validator(Validator::Range { min: Some(1.0), max: None })
                .importance(Importance::Medium)
                .documentation("The maximum duration in milliseconds between consecutive retry attempts.")
                .group("Error Handling", 2),
        )
        .define(
            ConfigKey::new("errors.tolerance", ConfigType::String)
                .default_value("none")
                .validator(Validator::CaseInsensitiveOneOf(vec!["none".into(), "all".into()]))
                .importance(Importance::Medium)
                .documentation("Behavior for tolerating errors during connector operation. 'none' is the default value and signals that any error will result in an immediate connector task failure; 'all' changes the behavior to skip over problematic records.")
                .group("Error Handling", 3),
        )
        .define(
            ConfigKey::new("errors.log.enable", ConfigType::Boolean)
                .default_value("false")
                .importance(Importance::Medium)
                .documentation("If true, write each error and the details of the failed operation and problematic record to the Connect application log.")
                .group("Error Handling", 4),
        )
        .define(
            ConfigKey::new("errors.log.include.messages", ConfigType::Boolean)
                .default_value("false")
                .importance(Importance::Medium)
                .documentation("Whether to include in the log the Connect record that resulted in a failure.")
                .group("Error Handling", 5),
        );
    match kind {
        PluginKind::Sink => def
            .define(
                ConfigKey::new("topics", ConfigType::List)
                    .default_value("")
                    .importance(Importance::High)
                    .documentation("List of topics to consume, separated by commas.")
                    .group(common, 4),
            )
            .define(
                ConfigKey::new("topics.regex", ConfigType::String)
                    .default_value("")
                    .importance(Importance::High)
                    .documentation("Regular expression giving topics to consume.")
                    .group(common, 4),
            )
            .define(
                ConfigKey::new("errors.deadletterqueue.topic.name", ConfigType::String)
                    .default_value("")
                    .importance(Importance::Medium)
                    .documentation("The name of the topic to be used as the dead letter queue (DLQ) for messages that result in an error when processed by this sink connector, or its transformations or converters. The topic name is blank by default, which means that no messages are to be recorded in the DLQ.")
                    .group("Error Handling", 6),
            )
            .define(
                ConfigKey::new("errors.deadletterqueue.topic.replication.factor", ConfigType::Short)
                    .default_value("3")
                    .importance(Importance::Medium)
                    .documentation("Replication factor used to create the dead letter queue topic when it doesn't already exist.")
                    .group("Error Handling", 7),
            )
            .define(
                ConfigKey::new("errors.deadletterqueue.context.headers.enable", ConfigType::Boolean)
                    .default_value("false")
                    .importance(Importance::Medium)
                    .documentation("If true, add headers containing error context to the messages written to the dead letter queue. To avoid clashing with headers from the original record, all error context header keys, all error context header keys will start with __connect.errors.")
                    .group("Error Handling", 8),
            ),
        PluginKind::Source => def.define(ConfigKey::new("topic.creation.groups", ConfigType::List).default_value("")),
    }
}

/// Checks the framework keys of `props` for a connector of `kind`, including the rules across keys, the client
/// overrides the worker's `policy` refuses and the features this runtime does not support yet; one entry per key
/// of the framework definition.
pub fn validate_framework_keys(kind: PluginKind, props: &Config, policy: OverridePolicy) -> Vec<ConfigValueInfo> {
    let def = connector_config_def(kind);
    let mut infos = def.validate(props);
    let mut add_error = |key: &str, message: String| {
        if let Some(info) = infos.iter_mut().find(|i| i.name == key) {
            info.errors.push(message);
        }
    };
    let set = |key: &str| props.get(key).is_some_and(|v| !v.trim().is_empty());
    if kind == PluginKind::Sink {
        match (set("topics"), set("topics.regex")) {
            (false, false) => {
                add_error("topics", "Must configure one of topics or topics.regex".into());
            }
            (true, true) => {
                add_error("topics", "topics and topics.regex are mutually exclusive options, but both are set.".into())
            }
            _ => {}
        }
        // A dead letter queue the connector consumes would feed its failures back to itself without end.
        let dlq_key = "errors.deadletterqueue.topic.name";
        if let Some(dlq) = props.get(dlq_key).map(|t| t.trim()).filter(|t| !t.is_empty()) {
            let topics = props.get("topics").map(String::as_str).unwrap_or("");
            let regex = props.get("topics.regex").map(|r| r.trim()).filter(|r| !r.is_empty());
            if topics.split(',').any(|t| t.trim() == dlq) {
                add_error(
                    dlq_key,
                    format!("The DLQ topic '{dlq}' may not be included in the list of topics ('topics={topics}') consumed by the connector"),
                );
            } else if let Some(regex) =
                regex.filter(|r| regex::Regex::new(&format!("^(?:{r})$")).is_ok_and(|re| re.is_match(dlq)))
            {
                add_error(
                    dlq_key,
                    format!("The DLQ topic '{dlq}' may not be included in the regex matching the topics ('topics.regex={regex}') consumed by the connector"),
                );
            }
        }
    }
    let mut refused: Vec<(String, String)> =
        props.keys().filter_map(|k| policy.refuses(k).map(|m| (k.clone(), m))).collect();
    if kind == PluginKind::Source {
        if let Err(errors) = TopicCreationConfig::from_props(props) {
            refused.extend(errors);
        }
    }
    for (key, message) in refused {
        add_key_error(&mut infos, props, &key, message);
    }
    // Client overrides the policy allows must still be settings librdkafka takes (TLS stores, JAAS, names).
    for (key, message) in crate::worker::kafka::check_overrides(props) {
        if !infos.iter().any(|i| i.name == key && !i.errors.is_empty()) {
            add_key_error(&mut infos, props, &key, message);
        }
    }
    for info in infos.iter_mut() {
        let setting = crate::worker::kafka::OVERRIDE_PREFIXES.iter().find_map(|p| info.name.strip_prefix(p));
        if setting.is_some_and(connect_clients::is_secret) && info.value.is_some() {
            info.value = Some("[hidden]".into());
        }
    }
    infos
}

/// A problem with one key of a connector configuration: the key, and Kafka Connect's message for it.
pub(crate) type KeyError = (String, String);

/// Kafka's error for a required key that is not set.
pub(crate) fn missing_key(key: &str) -> KeyError {
    (key.to_string(), format!("Missing required configuration \"{key}\" which has no default value."))
}

/// Adds `message` to the validation entry of `key`, creating the entry (with the value of `props`) if the
/// definitions have none (keys under a prefix, such as `transforms.<alias>.*`).
pub(crate) fn add_key_error(infos: &mut Vec<ConfigValueInfo>, props: &Config, key: &str, message: String) {
    match infos.iter_mut().find(|i| i.name == key) {
        Some(info) => info.errors.push(message),
        None => infos.push(ConfigValueInfo {
            name: key.to_string(),
            value: props.get(key).cloned(),
            recommended_values: Vec::new(),
            errors: vec![message],
            visible: true,
        }),
    }
}

/// The first of `errors` as the error a task fails with when its configuration was not validated first.
pub(crate) fn first_key_error(errors: Vec<KeyError>) -> connect_api::ConnectError {
    let (key, message) = errors.into_iter().next().unwrap_or_default();
    connect_api::ConnectError::with_kind(connect_api::ErrorKind::Config, format!("{key}: {message}"))
}

/// Loads a connector configuration file: Java `.properties`, or `.json` either in the REST API's create shape
/// (`{"name": .., "config": {..}}`) or flat (`{"name": .., "connector.class": ..}`), as Kafka's standalone mode.
pub fn load_connector_config(path: &Path) -> Result<ConnectorConfig, ConfigError> {
    let is_json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let mut props = if is_json { read_json(path)? } else { read_properties(path)? };
    let name = props.get("name").map(|n| n.trim().to_string()).unwrap_or_default();
    if name.is_empty() {
        return Err(ConfigError::new(
            path,
            Some("name"),
            "Missing required configuration \"name\" which has no default value.",
        ));
    }
    props.insert("name".into(), name.clone());
    Ok(ConnectorConfig { name, props })
}

fn read_json(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::new(path, None, format!("cannot open: {e}")))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| ConfigError::new(path, None, format!("malformed JSON: {e}")))?;
    let serde_json::Value::Object(top) = value else {
        return Err(ConfigError::new(path, None, "expected a JSON object"));
    };
    let (name, object) = match top.get("config") {
        Some(serde_json::Value::Object(config)) => (top.get("name").cloned(), config.clone()),
        Some(_) => return Err(ConfigError::new(path, Some("config"), "must be a JSON object of strings")),
        None => (None, top.clone()),
    };
    let mut props = BTreeMap::new();
    for (key, value) in object {
        let text = match value {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Null => continue,
            _ => return Err(ConfigError::new(path, Some(&key), "must be a string, a number or a boolean")),
        };
        props.insert(key, text);
    }
    if let Some(serde_json::Value::String(name)) = name {
        if let Some(inner) = props.get("name") {
            if inner.trim() != name.trim() {
                return Err(ConfigError::new(
                    path,
                    Some("name"),
                    format!("Connector name configuration ({inner}) doesn't match connector name in the URL ({name})"),
                ));
            }
        }
        props.insert("name".into(), name);
    }
    Ok(props)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_in_both_shapes() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a.json");
        std::fs::write(&nested, r#"{"name":"a","config":{"connector.class":"X","tasks.max":2}}"#).unwrap();
        let cfg = load_connector_config(&nested).unwrap();
        assert_eq!(cfg.name, "a");
        assert_eq!(cfg.props["tasks.max"], "2");
        let flat = dir.path().join("b.json");
        std::fs::write(&flat, r#"{"name":"b","connector.class":"X"}"#).unwrap();
        assert_eq!(load_connector_config(&flat).unwrap().props["connector.class"], "X");
        let bad = dir.path().join("c.json");
        std::fs::write(&bad, r#"{"name":"#).unwrap();
        assert!(load_connector_config(&bad).unwrap_err().to_string().contains("malformed JSON"));
    }

    #[test]
    fn sink_topics_rules_and_unsupported_features() {
        let mut props = Config::from([("name".into(), "s".into()), ("connector.class".into(), "X".into())]);
        let errors = |props: &Config| -> Vec<String> {
            validate_framework_keys(PluginKind::Sink, props, OverridePolicy::All)
                .into_iter()
                .flat_map(|i| i.errors)
                .collect()
        };
        assert_eq!(errors(&props), ["Must configure one of topics or topics.regex"]);
        props.insert("topics".into(), "t".into());
        assert!(errors(&props).is_empty());
        props.insert("errors.deadletterqueue.topic.name".into(), "t".into());
        assert_eq!(
            errors(&props),
            ["The DLQ topic 't' may not be included in the list of topics ('topics=t') consumed by the connector"]
        );
        props.insert("errors.deadletterqueue.topic.name".into(), "dlq".into());
        assert!(errors(&props).is_empty());
        props.insert("producer.override.linger.ms".into(), "5".into());
        assert!(errors(&props).is_empty());
        let refused: Vec<String> = validate_framework_keys(PluginKind::Sink, &props, OverridePolicy::None)
            .into_iter()
            .flat_map(|i| i.errors)
            .collect();
        assert_eq!(refused, ["The 'None' policy does not allow 'linger.ms' to be overridden"]);
        let source_errors = |props: &Config| -> Vec<String> {
            validate_framework_keys(PluginKind::Source, props, OverridePolicy::All)
                .into_iter()
                .flat_map(|i| i.errors)
                .collect()
        };
        props.insert("topic.creation.default.partitions".into(), "3".into());
        assert_eq!(
            source_errors(&props),
            ["Missing required configuration \"topic.creation.default.replication.factor\" which has no default value."]
        );
        props.insert("topic.creation.default.replication.factor".into(), "1".into());
        assert!(source_errors(&props).is_empty());
    }
}
