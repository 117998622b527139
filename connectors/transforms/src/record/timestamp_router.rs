//! `org.apache.kafka.connect.transforms.TimestampRouter`: sets the topic from `topic.format`, replacing
//! `${topic}` with the topic and `${timestamp}` with the record timestamp written with `timestamp.format` (a
//! `SimpleDateFormat` pattern, in UTC).

use connect_api::config::Importance;
use connect_api::{Config, ConfigDef, ConfigKey, ConfigType, ConnectError, Result, TransformRecord, Transformation};

use super::common::{config_error, record_text};
use super::datefmt::DateFormat;

const TOPIC_FORMAT: &str = "topic.format";
const TIMESTAMP_FORMAT: &str = "timestamp.format";

/// Update the record's topic field as a function of the original topic value and the record timestamp.
#[derive(Default)]
pub struct TimestampRouter {
    /// `topic.format`.
    topic_format: String,
    /// `timestamp.format`, compiled; set by `configure`.
    timestamp_format: Option<DateFormat>,
}

impl Transformation for TimestampRouter {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define(
                ConfigKey::new(TOPIC_FORMAT, ConfigType::String)
                    .default_value("${topic}-${timestamp}")
                    .importance(Importance::High)
                    .documentation(
                        "Format string which can contain <code>${topic}</code> and <code>${timestamp}</code> as \
                         placeholders for the topic and timestamp, respectively.",
                    ),
            )
            .define(
                ConfigKey::new(TIMESTAMP_FORMAT, ConfigType::String)
                    .default_value("yyyyMMdd")
                    .importance(Importance::High)
                    .documentation(
                        "Format string for the timestamp that is compatible with <code>java.text.SimpleDateFormat</code>.",
                    ),
            )
    }

    fn configure(&mut self, config: &Config) -> Result<()> {
        let parsed = self.config_def().parse(config)?;
        let pattern = parsed.string(TIMESTAMP_FORMAT)?;
        // Java only notices a bad pattern on the first record; refusing it here names the key.
        let format = DateFormat::new(pattern).map_err(|why| config_error(TIMESTAMP_FORMAT, pattern, why))?;
        self.topic_format = parsed.string(TOPIC_FORMAT)?.to_string();
        self.timestamp_format = Some(format);
        Ok(())
    }

    fn apply(&mut self, mut record: TransformRecord) -> Result<Option<TransformRecord>> {
        let Some(timestamp) = record.timestamp.into_option() else {
            return Err(ConnectError::data(format!("Timestamp missing on record: {}", record_text(&record))));
        };
        let format =
            self.timestamp_format.as_ref().ok_or_else(|| ConnectError::new("TimestampRouter is not configured"))?;
        let formatted = format.format(timestamp).map_err(ConnectError::data)?;
        let topic = self.topic_format.replace("${topic}", &record.topic).replace("${timestamp}", &formatted);
        record.topic = topic.into();
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_api::{ErrorKind, Schema, Value};

    fn configured(pairs: &[(&str, &str)]) -> TimestampRouter {
        let mut t = TimestampRouter::default();
        t.configure(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()).unwrap();
        t
    }

    fn record(ts: Option<i64>) -> TransformRecord {
        let mut r = TransformRecord::new("test").with_value(Some(Schema::string()), Value::from("v"));
        r.timestamp = ts.into();
        r
    }

    #[test]
    fn default_configuration() {
        // 2017-01-18T00:00:00Z plus a bit, as Kafka's TimestampRouterTest.
        let out = configured(&[]).apply(record(Some(1_484_697_600_000 + 1234))).unwrap().unwrap();
        assert_eq!(out.topic.as_str(), "test-20170118");
        assert_eq!(out.value, Value::from("v"));
        assert_eq!(out.timestamp.into_option(), Some(1_484_697_601_234));
    }

    #[test]
    fn custom_formats() {
        let mut t =
            configured(&[(TOPIC_FORMAT, "${timestamp}/${topic}/${topic}"), (TIMESTAMP_FORMAT, "yyyy-MM-dd'T'HH")]);
        let out = t.apply(record(Some(0))).unwrap().unwrap();
        assert_eq!(out.topic.as_str(), "1970-01-01T00/test/test");
        let schemaless = TransformRecord::new("x").with_value(None, Value::map([]));
        let mut schemaless = schemaless;
        schemaless.timestamp = Some(86_400_000).into();
        assert_eq!(
            configured(&[(TOPIC_FORMAT, "static")]).apply(schemaless).unwrap().unwrap().topic.as_str(),
            "static"
        );
    }

    #[test]
    fn missing_timestamp_is_a_data_error() {
        let err = configured(&[]).apply(record(None)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Data);
        assert!(err.message().starts_with("Timestamp missing on record: ConnectRecord{topic='test'"), "{err}");
    }

    #[test]
    fn unrepresentable_timestamp_is_a_data_error() {
        let err = configured(&[]).apply(record(Some(i64::MAX))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Data);
    }

    #[test]
    fn bad_timestamp_format_names_the_key() {
        let mut t = TimestampRouter::default();
        let err = t.configure(&Config::from([(TIMESTAMP_FORMAT.to_string(), "bad".to_string())])).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert_eq!(
            err.message(),
            "Invalid value bad for configuration timestamp.format: Illegal pattern character 'b'"
        );
    }
}
