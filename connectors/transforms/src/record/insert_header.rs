//! `org.apache.kafka.connect.transforms.InsertHeader`: adds a header `header` to every record, whose schema and
//! value are `value.literal` parsed as Kafka's `Values.parseString` does (see [`super::values`]).

use connect_api::config::Importance;
use connect_api::{Config, ConfigDef, ConfigKey, ConfigType, Result, Schema, TransformRecord, Transformation, Value};

use super::values::parse_string;

const HEADER: &str = "header";
const VALUE_LITERAL: &str = "value.literal";

/// Add a header to each record.
#[derive(Default)]
pub struct InsertHeader {
    /// The header name.
    header: String,
    /// The parsed literal: its schema (none for `null`) and value.
    literal: (Option<Schema>, Value),
}

impl Transformation for InsertHeader {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define(
                ConfigKey::new(HEADER, ConfigType::String)
                    .importance(Importance::High)
                    .documentation("The name of the header."),
            )
            .define(
                ConfigKey::new(VALUE_LITERAL, ConfigType::String)
                    .importance(Importance::High)
                    .documentation("The literal value that is to be set as the header value on all records."),
            )
    }

    fn configure(&mut self, config: &Config) -> Result<()> {
        let parsed = self.config_def().parse(config)?;
        self.header = parsed.string(HEADER)?.to_string();
        self.literal = parse_string(parsed.string(VALUE_LITERAL)?);
        Ok(())
    }

    fn apply(&mut self, mut record: TransformRecord) -> Result<Option<TransformRecord>> {
        let (schema, value) = &self.literal;
        record.headers.add(self.header.as_str(), schema.clone(), value.clone());
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_api::ErrorKind;

    fn configured(header: &str, literal: &str) -> InsertHeader {
        let mut t = InsertHeader::default();
        t.configure(&Config::from([
            (HEADER.to_string(), header.to_string()),
            (VALUE_LITERAL.to_string(), literal.to_string()),
        ]))
        .unwrap();
        t
    }

    fn record() -> TransformRecord {
        let mut r = TransformRecord::new("topic").with_value(Some(Schema::string()), Value::from("value"));
        r.headers.add_string("existing", "existing-value");
        r
    }

    #[test]
    fn inserts_after_existing_headers_even_with_the_same_name() {
        let mut t = configured("existing", "inserted-value");
        let out = t.apply(record()).unwrap().unwrap();
        let headers: Vec<_> = out.headers.iter().map(|h| (h.key.as_str(), h.value.clone())).collect();
        assert_eq!(headers, [("existing", Value::from("existing-value")), ("existing", Value::from("inserted-value"))]);
        assert_eq!(out.headers.last_with_name("existing").unwrap().schema(), Some(&Schema::string()));
        assert_eq!(out.value, Value::from("value"));
    }

    #[test]
    fn literal_is_parsed_as_kafka_values() {
        let out = configured("h", "42").apply(TransformRecord::new("t")).unwrap().unwrap();
        let h = out.headers.last_with_name("h").unwrap();
        assert_eq!((h.schema(), &h.value), (Some(&Schema::int8()), &Value::Int8(42)));
        let out =
            configured("h", "null").apply(TransformRecord::new("t").with_value(None, Value::map([]))).unwrap().unwrap();
        let h = out.headers.last_with_name("h").unwrap();
        assert_eq!((h.schema(), &h.value), (None, &Value::Null));
        let out = configured("", "").apply(TransformRecord::new("t")).unwrap().unwrap();
        assert_eq!(out.headers.last_with_name("").unwrap().value, Value::from(""));
    }

    #[test]
    fn both_keys_are_required() {
        let mut t = InsertHeader::default();
        let err = t.configure(&Config::from([(HEADER.to_string(), "h".to_string())])).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("\"value.literal\""), "{err}");
        let err = t.configure(&Config::from([(VALUE_LITERAL.to_string(), "v".to_string())])).unwrap_err();
        assert!(err.message().contains("\"header\""), "{err}");
    }
}
