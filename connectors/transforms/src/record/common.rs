//! What the record transformations share: Kafka's `Requirements` messages, Java class names of values for those
//! messages, Kafka-style configuration errors, `SchemaUtil.copySchemaBasics`, a small schema cache and the
//! `toString` of a record that Kafka puts in some messages.

use std::fmt::Write;

use connect_api::{Schema, SchemaBuilder, TransformRecord};

pub(crate) use crate::util::{
    config_error, copy_schema_basics, java_class_name, java_list, not_a_map, not_a_struct, SchemaCache,
};

/// Kafka's `SchemaUtil.copySchemaBasics(source, SchemaBuilder.struct())`: a struct builder with the name, version,
/// doc and parameters of `source` (not its optionality, default or fields).
pub(crate) fn copy_struct_basics(source: &Schema) -> SchemaBuilder {
    copy_schema_basics(source, SchemaBuilder::structure())
}

/// A schema as Java's `String.valueOf(schema)` shows it (`null` when absent).
fn schema_text(schema: Option<&Schema>) -> String {
    schema.map_or_else(|| "null".to_string(), Schema::to_string)
}

/// The record as Kafka's `SinkRecord.toString` / `ConnectRecord.toString` writes it (a source record shows the
/// `ConnectRecord` part only: its source partition and offset are not part of a [`TransformRecord`]).
pub(crate) fn record_text(record: &TransformRecord) -> String {
    let mut out = String::new();
    if let Some(offset) = record.kafka_offset.into_option() {
        let _ = write!(out, "SinkRecord{{kafkaOffset={offset}, timestampType={:?}}} ", record.timestamp_type);
    }
    let partition = record.kafka_partition.into_option().map_or_else(|| "null".to_string(), |p| p.to_string());
    let timestamp = record.timestamp.into_option().map_or_else(|| "null".to_string(), |t| t.to_string());
    let headers: Vec<String> = record
        .headers
        .iter()
        .map(|h| format!("ConnectHeader(key={}, value={}, schema={})", h.key, h.value, schema_text(h.schema())))
        .collect();
    let headers = if headers.is_empty() { String::new() } else { java_list(&headers) };
    let _ = write!(
        out,
        "ConnectRecord{{topic='{}', kafkaPartition={partition}, key={}, keySchema={}, value={}, valueSchema={}, \
         timestamp={timestamp}, headers=ConnectHeaders(headers={headers})}}",
        record.topic,
        record.key,
        schema_text(record.key_schema()),
        record.value,
        schema_text(record.value_schema()),
    );
    out
}

/// Declares the public `$Key` and `$Value` transformations of an implementation built with `$inner::new(Target)`
/// that implements [`connect_api::Transformation`] itself; they delegate every call to it.
macro_rules! key_value_variants {
    ($inner:ident, $key:ident, $value:ident, $doc:literal) => {
        #[doc = concat!($doc, " Applies to the record key (`$Key`).")]
        pub struct $key($inner);

        impl Default for $key {
            fn default() -> Self {
                $key($inner::new(crate::util::Target::Key))
            }
        }

        #[doc = concat!($doc, " Applies to the record value (`$Value`).")]
        pub struct $value($inner);

        impl Default for $value {
            fn default() -> Self {
                $value($inner::new(crate::util::Target::Value))
            }
        }

        key_value_variants!(@delegate $key);
        key_value_variants!(@delegate $value);
    };
    (@delegate $ty:ident) => {
        impl connect_api::Transformation for $ty {
            fn config_def(&self) -> connect_api::ConfigDef {
                self.0.config_def()
            }

            fn configure(&mut self, config: &connect_api::Config) -> connect_api::Result<()> {
                self.0.configure(config)
            }

            fn apply(
                &mut self,
                record: connect_api::TransformRecord,
            ) -> connect_api::Result<Option<connect_api::TransformRecord>> {
                self.0.apply(record)
            }

            fn close(&mut self) {
                self.0.close()
            }
        }
    };
}
pub(crate) use key_value_variants;

#[cfg(test)]
mod tests {
    use super::*;
    use connect_api::{ErrorKind, SchemaBuilder, Value};

    #[test]
    fn requirement_messages_name_the_java_class() {
        assert_eq!(
            not_a_struct(&Value::Null, "header move").message(),
            "Only Struct objects supported for [header move], found: null"
        );
        assert_eq!(
            not_a_map(&Value::Int32(1), "x").message(),
            "Only Map objects supported in absence of schema for [x], found: java.lang.Integer"
        );
        assert_eq!(java_class_name(&Value::from(vec![1u8])), "[B");
    }

    #[test]
    fn config_errors_use_kafka_text() {
        let err = config_error("names", java_list(&[]), "Empty list");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert_eq!(err.message(), "Invalid value [] for configuration names: Empty list");
    }

    #[test]
    fn copy_basics_keeps_name_version_doc_parameters_only() {
        let s = SchemaBuilder::structure()
            .name("n")
            .version(3)
            .doc("d")
            .parameter("p", "v")
            .optional()
            .field("a", Schema::int8())
            .build()
            .unwrap();
        let copy = copy_struct_basics(&s).build().unwrap();
        assert_eq!(copy.name(), Some("n"));
        assert_eq!(copy.version(), Some(3));
        assert_eq!(copy.doc(), Some("d"));
        assert_eq!(copy.parameter("p"), Some("v"));
        assert!(!copy.is_optional());
        assert!(copy.fields().is_empty());
    }

    #[test]
    fn cache_finds_equal_schemas_and_evicts_the_oldest() {
        let mut cache = SchemaCache::default();
        let a = SchemaBuilder::structure().field("a", Schema::int8()).build().unwrap();
        let a2 = SchemaBuilder::structure().field("a", Schema::int8()).build().unwrap();
        cache.put(a.clone(), Schema::string());
        assert_eq!(cache.get(&a2), Some(Schema::string()));
        for i in 0..16 {
            let s = SchemaBuilder::structure().field(format!("f{i}"), Schema::int8()).build().unwrap();
            cache.put(s, Schema::int8());
        }
        assert_eq!(cache.get(&a), None);
    }

    #[test]
    fn record_text_looks_like_kafka_to_string() {
        let mut r = TransformRecord::new("t").with_value(Some(Schema::string()), Value::from("v"));
        r.headers.add_string("h", "x");
        assert_eq!(
            record_text(&r),
            "ConnectRecord{topic='t', kafkaPartition=null, key=null, keySchema=null, value=v, \
             valueSchema=Schema{STRING}, timestamp=null, headers=ConnectHeaders(headers=[ConnectHeader(key=h, \
             value=x, schema=Schema{STRING})])}"
        );
    }
}
