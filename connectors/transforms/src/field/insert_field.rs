//! `InsertField$Key` / `InsertField$Value`: adds the record's topic, partition, offset (sink records only) or
//! timestamp, or a static string, as fields of a Struct (schema extended and cached) or entries of a Map. A field
//! name ending in `!` makes the new field required, `?` (the default) optional. A null key or value passes
//! through unchanged, as in Kafka.

use connect_api::data::logical::Timestamp;
use connect_api::{
    Config, ConfigDef, ConfigKey, ConfigType, ConnectError, Importance, Result, Schema, SchemaBuilder, Struct,
    TransformRecord, Transformation, Value,
};

use super::common::{
    copy_schema_basics, map_put, replace_null_with_default_key, require_map, require_struct, struct_value, target,
    SchemaCache, REPLACE_NULL_WITH_DEFAULT,
};

const TOPIC_FIELD: &str = "topic.field";
const PARTITION_FIELD: &str = "partition.field";
const OFFSET_FIELD: &str = "offset.field";
const TIMESTAMP_FIELD: &str = "timestamp.field";
const STATIC_FIELD: &str = "static.field";
const STATIC_VALUE: &str = "static.value";
const PURPOSE: &str = "field insertion";
const OPTIONALITY_DOC: &str =
    "Suffix with <code>!</code> to make this a required field, or <code>?</code> to keep it optional (the default).";

/// A field to insert: its name and whether its schema is optional (Kafka's `InsertionSpec`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct InsertionSpec {
    name: String,
    optional: bool,
}

impl InsertionSpec {
    fn parse(spec: Option<&str>) -> Option<Self> {
        let spec = spec?;
        Some(if let Some(name) = spec.strip_suffix('?') {
            InsertionSpec { name: name.to_string(), optional: true }
        } else if let Some(name) = spec.strip_suffix('!') {
            InsertionSpec { name: name.to_string(), optional: false }
        } else {
            InsertionSpec { name: spec.to_string(), optional: true }
        })
    }

    fn schema(&self, required: Schema, optional: Schema) -> Schema {
        if self.optional {
            optional
        } else {
            required
        }
    }
}

/// Kafka's `InsertField`: `InsertField<true>` is `$Key`, `InsertField<false>` is `$Value`.
///
/// `offset.field` needs a sink record (one with a Kafka offset): on a source record it is a data error, as Kafka's
/// `requireSinkRecord`.
#[derive(Default)]
pub struct InsertField<const KEY: bool> {
    topic: Option<InsertionSpec>,
    partition: Option<InsertionSpec>,
    offset: Option<InsertionSpec>,
    timestamp: Option<InsertionSpec>,
    static_field: Option<InsertionSpec>,
    static_value: Option<String>,
    replace_null_with_default: bool,
    cache: SchemaCache,
}

fn field_key(name: &str, doc: &str) -> ConfigKey {
    ConfigKey::new(name, ConfigType::String)
        .optional()
        .importance(Importance::Medium)
        .documentation(format!("{doc} {OPTIONALITY_DOC}"))
}

/// The values to insert, in Kafka's order, with their spec.
type Insertions<'a> = [(Option<&'a InsertionSpec>, Option<Value>); 5];

impl<const KEY: bool> InsertField<KEY> {
    fn insertions(&self, record: &TransformRecord) -> Result<Insertions<'_>> {
        let offset = match (&self.offset, record.kafka_offset.into_option()) {
            (None, _) => None,
            (Some(_), Some(offset)) => Some(Value::Int64(offset)),
            (Some(_), None) => {
                return Err(ConnectError::data(format!(
                    "Only SinkRecord supported for [{PURPOSE}], found: org.apache.kafka.connect.source.SourceRecord"
                )))
            }
        };
        Ok([
            (self.topic.as_ref(), Some(Value::from(record.topic.as_str()))),
            (self.partition.as_ref(), record.kafka_partition.into_option().map(Value::Int32)),
            (self.offset.as_ref(), offset),
            (self.timestamp.as_ref(), record.timestamp.into_option().map(Value::Int64)),
            (self.static_field.as_ref(), self.static_value.as_deref().map(Value::from)),
        ])
    }

    fn updated_schema(&self, schema: &Schema) -> Result<Schema> {
        let mut builder = copy_schema_basics(schema, SchemaBuilder::structure());
        for field in schema.fields() {
            builder = builder.field(field.name(), field.schema().clone());
        }
        if let Some(spec) = &self.topic {
            builder = builder.field(spec.name.as_str(), spec.schema(Schema::string(), Schema::optional_string()));
        }
        if let Some(spec) = &self.partition {
            builder = builder.field(spec.name.as_str(), spec.schema(Schema::int32(), Schema::optional_int32()));
        }
        if let Some(spec) = &self.offset {
            builder = builder.field(spec.name.as_str(), spec.schema(Schema::int64(), Schema::optional_int64()));
        }
        if let Some(spec) = &self.timestamp {
            let optional = Timestamp::builder().optional().build()?;
            builder = builder.field(spec.name.as_str(), spec.schema(Timestamp::schema(), optional));
        }
        if let Some(spec) = &self.static_field {
            builder = builder.field(spec.name.as_str(), spec.schema(Schema::string(), Schema::optional_string()));
        }
        builder.build()
    }
}

impl<const KEY: bool> Transformation for InsertField<KEY> {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define(field_key(TOPIC_FIELD, "Field name for Kafka topic."))
            .define(field_key(PARTITION_FIELD, "Field name for Kafka partition."))
            .define(field_key(OFFSET_FIELD, "Field name for Kafka offset - only applicable to sink connectors.<br/>"))
            .define(field_key(TIMESTAMP_FIELD, "Field name for record timestamp."))
            .define(field_key(STATIC_FIELD, "Field name for static data field."))
            .define(
                ConfigKey::new(STATIC_VALUE, ConfigType::String)
                    .optional()
                    .importance(Importance::Medium)
                    .documentation("Static field value, if field name configured."),
            )
            .define(replace_null_with_default_key())
    }

    fn configure(&mut self, config: &Config) -> Result<()> {
        let parsed = self.config_def().parse(config)?;
        self.topic = InsertionSpec::parse(parsed.optional_string(TOPIC_FIELD)?);
        self.partition = InsertionSpec::parse(parsed.optional_string(PARTITION_FIELD)?);
        self.offset = InsertionSpec::parse(parsed.optional_string(OFFSET_FIELD)?);
        self.timestamp = InsertionSpec::parse(parsed.optional_string(TIMESTAMP_FIELD)?);
        self.static_field = InsertionSpec::parse(parsed.optional_string(STATIC_FIELD)?);
        self.static_value = parsed.optional_string(STATIC_VALUE)?.map(str::to_string);
        self.replace_null_with_default = parsed.boolean(REPLACE_NULL_WITH_DEFAULT)?;
        self.cache.clear();
        Ok(())
    }

    fn apply(&mut self, mut record: TransformRecord) -> Result<Option<TransformRecord>> {
        let target = target(KEY);
        if target.get(&record).1.is_null() {
            return Ok(Some(record));
        }
        let (schema, value) = target.take(&mut record);
        match schema {
            None => {
                let mut map = require_map(value, PURPOSE)?;
                for (spec, value) in self.insertions(&record)? {
                    if let (Some(spec), Some(value)) = (spec, value) {
                        map_put(&mut map, &spec.name, value);
                    }
                }
                target.set(&mut record, None, map);
            }
            Some(_) => {
                let value = require_struct(value, PURPOSE)?;
                let updated = {
                    let mut cache = std::mem::take(&mut self.cache);
                    let result = cache.get_or_build(value.schema(), |s| self.updated_schema(s));
                    self.cache = cache;
                    result?
                };
                let mut inserted = Struct::new(updated.clone())?;
                for field in value.schema().fields() {
                    inserted.put(field.name(), struct_value(&value, field, self.replace_null_with_default))?;
                }
                for (spec, value) in self.insertions(&record)? {
                    if let (Some(spec), Some(value)) = (spec, value) {
                        inserted.put(&spec.name, value)?;
                    }
                }
                target.set(&mut record, Some(updated), Value::Struct(inserted));
            }
        }
        Ok(Some(record))
    }

    fn close(&mut self) {
        self.cache.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::common::testing::{apply, config_err, configured, data_err};
    use connect_api::SchemaType;

    const ALL: &[(&str, &str)] = &[
        ("topic.field", "topic_field!"),
        ("partition.field", "partition_field"),
        ("timestamp.field", "timestamp_field?"),
        ("static.field", "instance_id"),
        ("static.value", "my-instance-id"),
    ];

    fn source_record() -> TransformRecord {
        let mut r = TransformRecord::new("test");
        r.kafka_partition = Some(0).into();
        r.timestamp = Some(1_483_425_001_864).into();
        r
    }

    #[test]
    fn spec_suffixes() {
        assert_eq!(InsertionSpec::parse(Some("a!")), Some(InsertionSpec { name: "a".into(), optional: false }));
        assert_eq!(InsertionSpec::parse(Some("a?")), Some(InsertionSpec { name: "a".into(), optional: true }));
        assert_eq!(InsertionSpec::parse(Some("a")), Some(InsertionSpec { name: "a".into(), optional: true }));
        assert_eq!(InsertionSpec::parse(None), None);
    }

    #[test]
    fn schemaless_insert() {
        let mut t: InsertField<false> = configured(ALL);
        let value = Value::map([(Value::from("magic"), Value::from(42i64))]);
        let out = apply(&mut t, source_record().with_value(None, value));
        assert_eq!(
            out.value.to_string(),
            "{magic=42, topic_field=test, partition_field=0, timestamp_field=1483425001864, instance_id=my-instance-id}"
        );
        assert!(out.value_schema().is_none());
    }

    #[test]
    fn schema_insert() {
        let mut t: InsertField<false> = configured(ALL);
        let schema =
            SchemaBuilder::structure().name("name").version(1).doc("doc").field("magic", Schema::optional_int64());
        let schema = schema.optional().build().unwrap();
        let value = Struct::new(schema.clone()).unwrap().with("magic", 42i64).unwrap();
        let out = apply(&mut t, source_record().with_value(Some(schema.clone()), value.clone().into()));
        let s = out.value_schema().unwrap();
        assert_eq!((s.name(), s.version(), s.doc()), (Some("name"), Some(1), Some("doc")));
        // copySchemaBasics does not copy optionality.
        assert!(!s.is_optional());
        assert_eq!(s.field("magic").unwrap().schema(), &Schema::optional_int64());
        assert_eq!(s.field("topic_field").unwrap().schema(), &Schema::string());
        assert_eq!(s.field("partition_field").unwrap().schema(), &Schema::optional_int32());
        let ts = s.field("timestamp_field").unwrap().schema();
        assert!(Timestamp::is(ts) && ts.is_optional());
        assert_eq!(s.field("instance_id").unwrap().schema(), &Schema::optional_string());
        let v = out.value.as_struct().unwrap();
        assert_eq!(v.get("magic"), Some(&Value::Int64(42)));
        assert_eq!(v.get("topic_field"), Some(&Value::from("test")));
        assert_eq!(v.get("partition_field"), Some(&Value::Int32(0)));
        assert_eq!(v.get("timestamp_field"), Some(&Value::Int64(1_483_425_001_864)));
        assert_eq!(v.get("instance_id"), Some(&Value::from("my-instance-id")));
        // The derived schema is cached.
        let again = apply(&mut t, source_record().with_value(Some(schema.clone()), value.into()));
        assert!(again.value_schema().unwrap().ptr_eq(out.value_schema().unwrap()));
        // Inserting a field that exists is Kafka's duplicate-field error.
        let again = source_record().with_value(Some(out.value_schema().unwrap().clone()), out.value.clone());
        assert!(data_err(&mut t, again).contains("duplication"));
    }

    #[test]
    fn missing_partition_and_timestamp_are_skipped() {
        let mut t: InsertField<false> = configured(ALL);
        let out = apply(&mut t, TransformRecord::new("test").with_value(None, Value::map([])));
        assert_eq!(out.value.to_string(), "{topic_field=test, instance_id=my-instance-id}");
    }

    #[test]
    fn offset_needs_a_sink_record() {
        let mut t: InsertField<true> = configured(&[("offset.field", "off!")]);
        let record = TransformRecord::new("t").with_key(None, Value::map([]));
        assert_eq!(
            data_err(&mut t, record.clone()),
            "Only SinkRecord supported for [field insertion], found: org.apache.kafka.connect.source.SourceRecord"
        );
        let mut sink = record;
        sink.kafka_offset = Some(77).into();
        assert_eq!(apply(&mut t, sink.clone()).key.map_get("off"), Some(&Value::Int64(77)));
        let schema = SchemaBuilder::structure().field("a", Schema::int8()).build().unwrap();
        let sink = sink.with_key(Some(schema.clone()), Struct::new(schema).unwrap().with("a", 1i8).unwrap().into());
        let out = apply(&mut t, sink);
        assert_eq!(out.key_schema().unwrap().field("off").unwrap().schema().schema_type(), SchemaType::Int64);
        assert!(!out.key_schema().unwrap().field("off").unwrap().schema().is_optional());
        assert_eq!(out.key.as_struct().unwrap().get("off"), Some(&Value::Int64(77)));
    }

    #[test]
    fn tombstones_pass_and_wrong_shapes_fail() {
        let mut t: InsertField<false> = configured(ALL);
        let out = apply(&mut t, source_record().with_value(Some(Schema::optional_string()), Value::Null));
        assert_eq!((out.value_schema(), &out.value), (Some(&Schema::optional_string()), &Value::Null));
        assert_eq!(
            data_err(&mut t, source_record().with_value(None, Value::from(1i32))),
            "Only Map objects supported in absence of schema for [field insertion], found: java.lang.Integer"
        );
        assert_eq!(
            data_err(&mut t, source_record().with_value(Some(Schema::int32()), Value::from(1i32))),
            "Only Struct objects supported for [field insertion], found: java.lang.Integer"
        );
    }

    #[test]
    fn replace_null_with_default_when_copying() {
        let field = SchemaBuilder::int32().optional().default_value(Value::Int32(3)).build().unwrap();
        let schema = SchemaBuilder::structure().field("a", field).build().unwrap();
        let record = source_record().with_value(Some(schema.clone()), Struct::new(schema).unwrap().into());
        let mut t: InsertField<false> = configured(&[("topic.field", "t")]);
        assert_eq!(apply(&mut t, record.clone()).value.as_struct().unwrap().get_at(0), Some(&Value::Int32(3)));
        let mut t: InsertField<false> = configured(&[("topic.field", "t"), ("replace.null.with.default", "false")]);
        assert_eq!(apply(&mut t, record).value.as_struct().unwrap().get_at(0), Some(&Value::Null));
    }

    #[test]
    fn configuration_errors() {
        assert_eq!(
            config_err::<InsertField<true>>(&[("replace.null.with.default", "1")]).message(),
            "Invalid value 1 for configuration replace.null.with.default: Expected value to be either true or false"
        );
        // Every key is optional; nothing configured inserts nothing.
        let mut t: InsertField<true> = configured(&[]);
        let out = apply(&mut t, TransformRecord::new("t").with_key(None, Value::map([])));
        assert_eq!(out.key, Value::map([]));
    }
}
