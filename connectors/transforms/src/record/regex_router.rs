//! `org.apache.kafka.connect.transforms.RegexRouter`: renames the topic of records whose topic matches a Java
//! regular expression (a full match), replacing it with `Matcher.replaceFirst(replacement)`.

use connect_api::config::Importance;
use connect_api::{Config, ConfigDef, ConfigKey, ConfigType, Result, TransformRecord, Transformation};

use super::common::config_error;
use super::javaregex::{JavaRegex, Replacement};

const REGEX: &str = "regex";
const REPLACEMENT: &str = "replacement";

/// Update the record topic using the configured regular expression and replacement string.
#[derive(Default)]
pub struct RegexRouter {
    /// The compiled pattern and replacement, set by `configure`.
    route: Option<(JavaRegex, Replacement)>,
}

impl Transformation for RegexRouter {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define(
                ConfigKey::new(REGEX, ConfigType::String)
                    .importance(Importance::High)
                    .documentation("Regular expression to use for matching."),
            )
            .define(
                ConfigKey::new(REPLACEMENT, ConfigType::String)
                    .importance(Importance::High)
                    .documentation("Replacement string."),
            )
    }

    fn configure(&mut self, config: &Config) -> Result<()> {
        let parsed = self.config_def().parse(config)?;
        let pattern = parsed.string(REGEX)?;
        let regex =
            JavaRegex::new(pattern).map_err(|why| config_error(REGEX, pattern, format!("Invalid regex: {why}")))?;
        let replacement = parsed.string(REPLACEMENT)?;
        let compiled = regex.replacement(replacement).map_err(|why| config_error(REPLACEMENT, replacement, why))?;
        self.route = Some((regex, compiled));
        Ok(())
    }

    fn apply(&mut self, mut record: TransformRecord) -> Result<Option<TransformRecord>> {
        if let Some((regex, replacement)) = &self.route {
            if regex.matches(&record.topic) {
                record.topic = regex.replace_first(&record.topic, replacement).into();
            }
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_api::ErrorKind;

    fn config(regex: &str, replacement: &str) -> Config {
        Config::from([(REGEX.to_string(), regex.to_string()), (REPLACEMENT.to_string(), replacement.to_string())])
    }

    fn apply(regex: &str, replacement: &str, topic: &str) -> String {
        let mut router = RegexRouter::default();
        router.configure(&config(regex, replacement)).unwrap();
        let out = router.apply(TransformRecord::new(topic)).unwrap().unwrap();
        router.close();
        out.topic.to_string()
    }

    #[test]
    fn kafka_cases() {
        assert_eq!(apply("foo", "bar", "foo"), "bar");
        assert_eq!(apply("foo", "bar", "orig"), "orig");
        assert_eq!(apply("(.*)", "$1", "orig"), "orig");
        assert_eq!(apply("(.*)", "prefix-$1", "orig"), "prefix-orig");
        assert_eq!(apply("(.*)", "$1-suffix", "orig"), "orig-suffix");
        assert_eq!(apply(r"(.*)-(\d\d\d\d\d\d\d\d)", "$1", "index-20160117"), "index");
    }

    #[test]
    fn only_full_matches_reroute_and_the_rest_of_the_record_is_kept() {
        assert_eq!(apply("foo", "bar", "foobar"), "foobar");
        assert_eq!(apply("(.*)s", "$1a", "orders"), "ordera");
        let mut router = RegexRouter::default();
        router.configure(&config("(.*)", "x-$1")).unwrap();
        let mut record = TransformRecord::new("t").with_value(None, "v".into());
        record.timestamp = Some(5).into();
        let out = router.apply(record).unwrap().unwrap();
        assert_eq!(out.topic.as_str(), "x-t");
        assert_eq!(out.value, "v".into());
        assert_eq!(out.timestamp.into_option(), Some(5));
    }

    #[test]
    fn config_errors_name_the_key() {
        let mut router = RegexRouter::default();
        let err = router.configure(&config("(", "x")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().starts_with("Invalid value ( for configuration regex: Invalid regex: "), "{err}");
        let err = router.configure(&config("(a)", "$2")).unwrap_err();
        assert_eq!(err.message(), "Invalid value $2 for configuration replacement: No group 2");
        let err = router.configure(&Config::from([(REGEX.to_string(), "a".to_string())])).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("\"replacement\""), "{err}");
        let err = router.configure(&Config::new()).unwrap_err();
        assert!(err.message().contains("\"regex\""), "{err}");
    }
}
