//! `org.apache.kafka.connect.transforms.Filter`: drops every record. It is meant to be guarded by a predicate
//! (`transforms.x.predicate`), so that only the records the predicate matches (or, negated, does not match) go.

use connect_api::{Config, ConfigDef, Result, TransformRecord, Transformation};

/// Drops all records, filtering them from subsequent transformations in the chain.
#[derive(Default)]
pub struct Filter;

impl Transformation for Filter {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
    }

    fn configure(&mut self, config: &Config) -> Result<()> {
        self.config_def().parse(config).map(|_| ())
    }

    fn apply(&mut self, _record: TransformRecord) -> Result<Option<TransformRecord>> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_api::Schema;

    #[test]
    fn drops_records_with_and_without_schema() {
        let mut filter = Filter;
        filter.configure(&Config::from([("unknown".to_string(), "ignored".to_string())])).unwrap();
        assert!(filter.config_def().keys().is_empty());
        assert!(filter.apply(TransformRecord::new("t")).unwrap().is_none());
        let with_schema = TransformRecord::new("t").with_value(Some(Schema::string()), "v".into());
        assert!(filter.apply(with_schema).unwrap().is_none());
    }
}
