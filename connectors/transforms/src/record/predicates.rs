//! Kafka's predicates (`org.apache.kafka.connect.transforms.predicates.*`, KIP-585): `TopicNameMatches` (a Java
//! regex fully matching the topic), `HasHeaderKey` (a header with a given name) and `RecordIsTombstone` (a null
//! value).

use connect_api::config::Importance;
use connect_api::{Config, ConfigDef, ConfigKey, ConfigType, Predicate, Result, TransformRecord, Validator};

use super::common::config_error;
use super::javaregex::JavaRegex;

const PATTERN: &str = "pattern";
const NAME: &str = "name";

/// A predicate which is true for records with a topic name that matches the configured regular expression.
#[derive(Default)]
pub struct TopicNameMatches {
    /// The compiled pattern, set by `configure`.
    pattern: Option<JavaRegex>,
}

impl Predicate for TopicNameMatches {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new().define(
            ConfigKey::new(PATTERN, ConfigType::String)
                .validator(Validator::NonEmptyString)
                .importance(Importance::Medium)
                .documentation("A Java regular expression for matching against the name of a record's topic."),
        )
    }

    fn configure(&mut self, config: &Config) -> Result<()> {
        let parsed = self.config_def().parse(config)?;
        let pattern = parsed.string(PATTERN)?;
        let regex =
            JavaRegex::new(pattern).map_err(|why| config_error(PATTERN, pattern, format!("Invalid regex: {why}")))?;
        self.pattern = Some(regex);
        Ok(())
    }

    fn test(&mut self, record: &TransformRecord) -> Result<bool> {
        Ok(self.pattern.as_ref().is_some_and(|p| p.matches(&record.topic)))
    }
}

/// A predicate which is true for records with at least one header with the configured name.
#[derive(Default)]
pub struct HasHeaderKey {
    /// The header name, set by `configure`.
    name: String,
}

impl Predicate for HasHeaderKey {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new().define(
            ConfigKey::new(NAME, ConfigType::String)
                .optional()
                .validator(Validator::NonEmptyString)
                .importance(Importance::Medium)
                .documentation("The header name."),
        )
    }

    fn configure(&mut self, config: &Config) -> Result<()> {
        let parsed = self.config_def().parse(config)?;
        self.name = parsed.string(NAME)?.to_string();
        Ok(())
    }

    fn test(&mut self, record: &TransformRecord) -> Result<bool> {
        Ok(record.headers.iter().any(|h| h.key == self.name.as_str()))
    }
}

/// A predicate which is true for records which are tombstones (i.e. have null value).
#[derive(Default)]
pub struct RecordIsTombstone;

impl Predicate for RecordIsTombstone {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
    }

    fn configure(&mut self, config: &Config) -> Result<()> {
        self.config_def().parse(config).map(|_| ())
    }

    fn test(&mut self, record: &TransformRecord) -> Result<bool> {
        Ok(record.value.is_null())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_api::{ErrorKind, Schema, Value};

    fn one(key: &str, value: &str) -> Config {
        Config::from([(key.to_string(), value.to_string())])
    }

    #[test]
    fn topic_name_matches_the_whole_topic() {
        let mut p = TopicNameMatches::default();
        p.configure(&one(PATTERN, "my-prefix-.*")).unwrap();
        assert!(p.test(&TransformRecord::new("my-prefix-")).unwrap());
        assert!(p.test(&TransformRecord::new("my-prefix-foo")).unwrap());
        assert!(!p.test(&TransformRecord::new("x-my-prefix-")).unwrap());
        assert!(!p.test(&TransformRecord::new("x-my-prefix-foo")).unwrap());
        assert!(!p.test(&TransformRecord::new("your-prefix-")).unwrap());
        assert!(!p.test(&TransformRecord::new("your-prefix-foo")).unwrap());
        assert!(!p.test(&TransformRecord::new("")).unwrap());
    }

    #[test]
    fn topic_name_matches_config_errors() {
        let mut p = TopicNameMatches::default();
        let err = p.configure(&one(PATTERN, "")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert_eq!(err.message(), "Invalid value  for configuration pattern: String must be non-empty");
        let err = p.configure(&one(PATTERN, "[")).unwrap_err();
        assert!(err.message().starts_with("Invalid value [ for configuration pattern: Invalid regex: "), "{err}");
        let err = p.configure(&Config::new()).unwrap_err();
        assert!(err.message().contains("\"pattern\""), "{err}");
        // An unconfigured predicate matches nothing rather than panicking.
        assert!(!TopicNameMatches::default().test(&TransformRecord::new("t")).unwrap());
    }

    #[test]
    fn has_header_key() {
        let mut p = HasHeaderKey::default();
        p.configure(&one(NAME, "foo")).unwrap();
        let mut r = TransformRecord::new("t");
        assert!(!p.test(&r).unwrap());
        r.headers.add_string("bar", "x");
        assert!(!p.test(&r).unwrap());
        r.headers.add("foo", None, Value::Null);
        assert!(p.test(&r).unwrap());
        r.headers.add_string("foo", "again");
        assert!(p.test(&r).unwrap());
    }

    #[test]
    fn has_header_key_name_must_be_set_and_non_empty() {
        let mut p = HasHeaderKey::default();
        let err = p.configure(&one(NAME, "")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert_eq!(err.message(), "Invalid value  for configuration name: String must be non-empty");
        let err = p.configure(&Config::new()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("configuration name"), "{err}");
    }

    #[test]
    fn record_is_tombstone() {
        let mut p = RecordIsTombstone;
        p.configure(&Config::new()).unwrap();
        assert!(p.test(&TransformRecord::new("t")).unwrap());
        assert!(p.test(&TransformRecord::new("t").with_value(Some(Schema::optional_string()), Value::Null)).unwrap());
        assert!(!p.test(&TransformRecord::new("t").with_value(None, Value::from("v"))).unwrap());
        assert!(!p.test(&TransformRecord::new("t").with_value(None, Value::map([]))).unwrap());
        assert!(p.config_def().keys().is_empty());
    }
}
