//! `org.apache.kafka.connect.transforms.DropHeaders`: removes every header whose name is listed in `names`.

use connect_api::config::Importance;
use connect_api::{Config, ConfigDef, ConfigKey, ConfigType, Result, TransformRecord, Transformation};

use super::common::{config_error, java_list};

const NAMES: &str = "names";

/// Drop all header(s) whose names are specified in a comma-separated list.
#[derive(Default)]
pub struct DropHeaders {
    /// The header names to remove.
    names: Vec<String>,
}

impl Transformation for DropHeaders {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new().define(
            ConfigKey::new(NAMES, ConfigType::List)
                .importance(Importance::High)
                .documentation("The name of the headers to be removed."),
        )
    }

    fn configure(&mut self, config: &Config) -> Result<()> {
        let parsed = self.config_def().parse(config)?;
        let names = parsed.list(NAMES)?;
        if names.is_empty() {
            return Err(config_error(NAMES, java_list(names), "Empty list"));
        }
        self.names = names.to_vec();
        Ok(())
    }

    fn apply(&mut self, mut record: TransformRecord) -> Result<Option<TransformRecord>> {
        for name in &self.names {
            record.headers.remove(name);
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_api::{ErrorKind, Schema, Value};

    fn configured(names: &str) -> DropHeaders {
        let mut t = DropHeaders::default();
        t.configure(&Config::from([(NAMES.to_string(), names.to_string())])).unwrap();
        t
    }

    fn record() -> TransformRecord {
        let mut r = TransformRecord::new("t").with_value(Some(Schema::string()), "v".into());
        r.headers.add_string("dont-drop-me", "a");
        r.headers.add("drop-me", None, Value::Int32(1));
        r.headers.add_string("dont-drop-me-either", "b");
        r.headers.add_string("drop-me", "c");
        r
    }

    fn keys(r: &TransformRecord) -> Vec<&str> {
        r.headers.iter().map(|h| h.key.as_str()).collect()
    }

    #[test]
    fn drops_every_header_with_a_listed_name() {
        let out = configured("drop-me").apply(record()).unwrap().unwrap();
        assert_eq!(keys(&out), ["dont-drop-me", "dont-drop-me-either"]);
        assert_eq!(out.value, "v".into());
        let out = configured("drop-me, dont-drop-me-either").apply(record()).unwrap().unwrap();
        assert_eq!(keys(&out), ["dont-drop-me"]);
    }

    #[test]
    fn records_without_those_headers_pass_unchanged() {
        let out = configured("missing").apply(record()).unwrap().unwrap();
        assert_eq!(out, record());
        let schemaless = TransformRecord::new("t").with_value(None, Value::map([]));
        assert_eq!(configured("x").apply(schemaless.clone()).unwrap().unwrap(), schemaless);
    }

    #[test]
    fn names_must_be_a_non_empty_list() {
        let mut t = DropHeaders::default();
        let err = t.configure(&Config::from([(NAMES.to_string(), String::new())])).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert_eq!(err.message(), "Invalid value [] for configuration names: Empty list");
        let err = t.configure(&Config::new()).unwrap_err();
        assert!(err.message().contains("\"names\""), "{err}");
    }
}
