//! `org.apache.kafka.connect.transforms.HeaderFrom$Key` / `$Value`: moves or copies fields of the key or value
//! (a Struct with a schema, a Map without) into headers, the i-th of `fields` into the i-th of `headers`.
//! Field names are top-level names, as Kafka's HeaderFrom has no `field.syntax.version`; `replace.null.with.default`
//! (KIP-1040) decides whether a null field with a default yields the default.

use connect_api::config::Importance;
use connect_api::{
    Config, ConfigDef, ConfigKey, ConfigType, ConnectError, ErrorKind, Result, Schema, Struct, TransformRecord,
    Transformation, Validator, Value,
};

use super::common::{
    config_error, copy_struct_basics, java_list, key_value_variants, not_a_map, not_a_struct, SchemaCache,
};
use crate::util::Target;

const FIELDS: &str = "fields";
const HEADERS: &str = "headers";
const OPERATION: &str = "operation";
const REPLACE_NULL_WITH_DEFAULT: &str = "replace.null.with.default";

/// The shared implementation of both variants.
pub(crate) struct HeaderFrom {
    target: Target,
    fields: Vec<String>,
    headers: Vec<String>,
    moving: bool,
    replace_null_with_default: bool,
    move_schemas: SchemaCache,
}

key_value_variants!(
    HeaderFrom,
    HeaderFromKey,
    HeaderFromValue,
    "Moves or copies fields in the key/value of a record into that record's headers."
);

impl HeaderFrom {
    /// An unconfigured transformation of the key or the value.
    pub(crate) fn new(target: Target) -> Self {
        HeaderFrom {
            target,
            fields: Vec::new(),
            headers: Vec::new(),
            moving: false,
            replace_null_with_default: true,
            move_schemas: SchemaCache::default(),
        }
    }

    fn purpose(&self) -> &'static str {
        if self.moving {
            "header move"
        } else {
            "header copy"
        }
    }

    fn apply_schemaless(&self, record: &mut TransformRecord, value: Value) -> Result<Value> {
        let Value::Map(mut entries) = value else {
            return Err(not_a_map(&value, self.purpose()));
        };
        let find = |entries: &[connect_api::MapEntry], name: &str| {
            entries.iter().find(|e| e.key.as_str() == Some(name)).map_or(Value::Null, |e| e.value.clone())
        };
        if !self.moving {
            for (field, header) in self.fields.iter().zip(&self.headers) {
                record.headers.add(header.as_str(), None, find(&entries, field));
            }
            return Ok(Value::Map(entries));
        }
        // Move: take the fields out of the map first, then hand each value out (the last use takes it).
        let mut moved: Vec<connect_api::MapEntry> = Vec::new();
        entries.retain(|e| {
            if e.key.as_str().is_some_and(|k| self.fields.iter().any(|f| f == k)) {
                moved.push(e.clone());
                false
            } else {
                true
            }
        });
        for (i, (field, header)) in self.fields.iter().zip(&self.headers).enumerate() {
            let last_use = !self.fields[i + 1..].contains(field);
            let value = match moved.iter_mut().find(|e| e.key.as_str() == Some(field.as_str())) {
                Some(e) if last_use => std::mem::take(&mut e.value),
                Some(e) => e.value.clone(),
                None => Value::Null,
            };
            record.headers.add(header.as_str(), None, value);
        }
        Ok(Value::Map(entries))
    }

    fn field_value<'a>(&self, value: &'a Struct, index: usize, name: &str) -> &'a Value {
        if self.replace_null_with_default {
            value.get(name).unwrap_or(&Value::Null)
        } else {
            value.get_at(index).unwrap_or(&Value::Null)
        }
    }

    fn apply_with_schema(
        &mut self,
        record: &mut TransformRecord,
        schema: Schema,
        value: Value,
    ) -> Result<(Schema, Value)> {
        let Value::Struct(value) = value else {
            return Err(not_a_struct(&value, self.purpose()));
        };
        for (field_name, header) in self.fields.iter().zip(&self.headers) {
            let field = schema
                .field(field_name)
                .ok_or_else(|| ConnectError::data(format!("{field_name} is not a valid field name")))?;
            let field_value = self.field_value(&value, field.index(), field_name).clone();
            record.headers.add(header.as_str(), Some(field.schema().clone()), field_value);
        }
        if !self.moving {
            return Ok((schema, Value::Struct(value)));
        }
        let moved_schema = match self.move_schemas.get(&schema) {
            Some(s) => s,
            None => {
                let mut builder = copy_struct_basics(&schema);
                for field in schema.fields() {
                    if !self.fields.iter().any(|f| f == field.name()) {
                        builder = builder.field(field.name(), field.schema().clone());
                    }
                }
                let built = builder.build()?;
                self.move_schemas.put(schema.clone(), built.clone());
                built
            }
        };
        let mut updated = Struct::new(moved_schema.clone())?;
        for field in moved_schema.fields() {
            let index = schema.field(field.name()).map_or(0, |f| f.index());
            updated.put(field.name(), self.field_value(&value, index, field.name()).clone())?;
        }
        Ok((moved_schema, Value::Struct(updated)))
    }
}

impl Transformation for HeaderFrom {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define(
                ConfigKey::new(FIELDS, ConfigType::List)
                    .importance(Importance::High)
                    .documentation("Field names in the record whose values are to be copied or moved to headers."),
            )
            .define(ConfigKey::new(HEADERS, ConfigType::List).importance(Importance::High).documentation(
                "Header names, in the same order as the field names listed in the fields configuration property.",
            ))
            .define(
                ConfigKey::new(OPERATION, ConfigType::String)
                    .validator(Validator::OneOf(vec!["move".into(), "copy".into()]))
                    .importance(Importance::High)
                    .documentation(
                        "Either <code>move</code> if the fields are to be moved to the headers (removed from the \
                         key/value), or <code>copy</code> if the fields are to be copied to the headers (retained in \
                         the key/value).",
                    ),
            )
            .define(
                ConfigKey::new(REPLACE_NULL_WITH_DEFAULT, ConfigType::Boolean)
                    .default_value("true")
                    .importance(Importance::Medium)
                    .documentation(
                        "Whether to replace fields that have a default value and that are null to the default value. \
                         When set to true, the default value is used, otherwise null is used.",
                    ),
            )
    }

    fn configure(&mut self, config: &Config) -> Result<()> {
        let parsed = self.config_def().parse(config)?;
        let fields = parsed.list(FIELDS)?;
        if fields.is_empty() {
            return Err(config_error(FIELDS, java_list(fields), "Empty list"));
        }
        let headers = parsed.list(HEADERS)?;
        if headers.is_empty() {
            return Err(config_error(HEADERS, java_list(headers), "Empty list"));
        }
        if headers.len() != fields.len() {
            return Err(ConnectError::with_kind(
                ErrorKind::Config,
                format!("'{FIELDS}' config must have the same number of elements as '{HEADERS}' config."),
            ));
        }
        self.fields = fields.to_vec();
        self.headers = headers.to_vec();
        self.moving = parsed.string(OPERATION)? == "move";
        self.replace_null_with_default = parsed.boolean(REPLACE_NULL_WITH_DEFAULT)?;
        self.move_schemas = SchemaCache::default();
        Ok(())
    }

    fn apply(&mut self, mut record: TransformRecord) -> Result<Option<TransformRecord>> {
        let (schema, value) = self.target.take(&mut record);
        match schema {
            None => {
                let updated = self.apply_schemaless(&mut record, value)?;
                self.target.set(&mut record, None, updated);
            }
            Some(schema) => {
                let (schema, value) = self.apply_with_schema(&mut record, schema, value)?;
                self.target.set(&mut record, Some(schema), value);
            }
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_api::{SchemaBuilder, Value};

    /// Builds a record whose key or value has the given fields, as Kafka's HeaderFromTest.RecordBuilder.
    #[derive(Clone, Default)]
    struct Builder {
        fields: Vec<(&'static str, Schema, Value)>,
        headers: Vec<(&'static str, Schema, Value)>,
    }

    impl Builder {
        fn field(mut self, name: &'static str, schema: Schema, value: impl Into<Value>) -> Self {
            self.fields.push((name, schema, value.into()));
            self
        }

        fn header(mut self, name: &'static str, schema: Schema, value: impl Into<Value>) -> Self {
            self.headers.push((name, schema, value.into()));
            self
        }

        fn record(&self, key: bool, with_schema: bool) -> TransformRecord {
            let (schema, data) = if with_schema {
                let mut b = SchemaBuilder::structure();
                for (n, s, _) in &self.fields {
                    b = b.field(*n, s.clone());
                }
                let schema = b.build().unwrap();
                let mut s = Struct::new(schema.clone()).unwrap();
                for (n, _, v) in &self.fields {
                    s.put(n, v.clone()).unwrap();
                }
                (Some(schema), Value::Struct(s))
            } else {
                (None, Value::map(self.fields.iter().map(|(n, _, v)| (Value::from(*n), v.clone()))))
            };
            let mut r = TransformRecord::new("topic");
            r.kafka_partition = Some(0).into();
            r.timestamp = Some(0).into();
            r = if key {
                r.with_key(schema, data).with_value(None, Value::from("value"))
            } else {
                r.with_key(None, Value::from("key")).with_value(schema, data)
            };
            for (n, s, v) in &self.headers {
                // Schemaless records get headers without schemas, as in Kafka's test.
                r.headers.add(*n, with_schema.then(|| s.clone()), v.clone());
            }
            r
        }
    }

    fn transform(key: bool, fields: &str, headers: &str, operation: &str) -> Box<dyn Transformation> {
        let mut t: Box<dyn Transformation> =
            if key { Box::new(HeaderFromKey::default()) } else { Box::new(HeaderFromValue::default()) };
        let config = Config::from([
            (FIELDS.to_string(), fields.to_string()),
            (HEADERS.to_string(), headers.to_string()),
            (OPERATION.to_string(), operation.to_string()),
        ]);
        t.configure(&config).unwrap();
        t
    }

    fn s() -> Schema {
        Schema::string()
    }

    /// Kafka's HeaderFromTest data: (fields, headers, operation, input, expected), for key and value, with and
    /// without schema.
    fn cases() -> Vec<(&'static str, &'static str, &'static str, Builder, Builder)> {
        let base = Builder::default().field("field1", s(), "field1-value").field("field2", s(), "field2-value").header(
            "header1",
            s(),
            "existing-value",
        );
        let inner = SchemaBuilder::structure().field("foo", s()).build().unwrap();
        let inner_value = Struct::new(inner.clone()).unwrap().with("foo", "foo-value").unwrap();
        let with_struct = Builder::default()
            .field("field1", inner.clone(), inner_value.clone())
            .field("field2", s(), "field2-value")
            .header("header1", s(), "existing-value");
        let preexisting = Builder::default()
            .field("field1", s(), "field1-value")
            .field("field2", s(), "field2-value")
            .header("inserted1", s(), "existing-value");
        vec![
            ("field1", "inserted1", "copy", base.clone(), base.clone().header("inserted1", s(), "field1-value")),
            (
                "field1",
                "inserted1",
                "move",
                base.clone(),
                Builder::default()
                    .field("field2", s(), "field2-value")
                    .header("header1", s(), "existing-value")
                    .header("inserted1", s(), "field1-value"),
            ),
            (
                "field1",
                "inserted1",
                "copy",
                preexisting.clone(),
                preexisting.clone().header("inserted1", s(), "field1-value"),
            ),
            (
                "field1",
                "inserted1",
                "move",
                preexisting.clone(),
                Builder::default()
                    .field("field2", s(), "field2-value")
                    .header("inserted1", s(), "existing-value")
                    .header("inserted1", s(), "field1-value"),
            ),
            (
                "field1",
                "inserted1",
                "copy",
                with_struct.clone(),
                with_struct.clone().header("inserted1", inner.clone(), inner_value.clone()),
            ),
            (
                "field1",
                "inserted1",
                "move",
                with_struct.clone(),
                Builder::default()
                    .field("field2", s(), "field2-value")
                    .header("header1", s(), "existing-value")
                    .header("inserted1", inner, inner_value),
            ),
            (
                "field1,field1",
                "inserted1,inserted2",
                "move",
                base.clone(),
                Builder::default()
                    .field("field2", s(), "field2-value")
                    .header("header1", s(), "existing-value")
                    .header("inserted1", s(), "field1-value")
                    .header("inserted2", s(), "field1-value"),
            ),
            (
                "field1,field2",
                "inserted1,inserted1",
                "move",
                base,
                Builder::default()
                    .header("header1", s(), "existing-value")
                    .header("inserted1", s(), "field1-value")
                    .header("inserted1", s(), "field2-value"),
            ),
        ]
    }

    #[test]
    fn kafka_cases_with_and_without_schema_for_key_and_value() {
        for key in [true, false] {
            for with_schema in [true, false] {
                for (i, (fields, headers, op, input, expected)) in cases().into_iter().enumerate() {
                    let out =
                        transform(key, fields, headers, op).apply(input.record(key, with_schema)).unwrap().unwrap();
                    assert_eq!(out, expected.record(key, with_schema), "case {i}, key={key}, schema={with_schema}");
                }
            }
        }
    }

    #[test]
    fn moved_schema_keeps_name_version_doc_and_is_cached() {
        let schema = SchemaBuilder::structure()
            .name("n")
            .version(2)
            .doc("d")
            .field("a", Schema::int32())
            .field("b", Schema::int32())
            .build()
            .unwrap();
        let value = Struct::new(schema.clone()).unwrap().with("a", 1i32).unwrap().with("b", 2i32).unwrap();
        let mut t = transform(false, "a", "h", "move");
        let record = TransformRecord::new("t").with_value(Some(schema), Value::Struct(value));
        let first = t.apply(record.clone()).unwrap().unwrap();
        let second = t.apply(record).unwrap().unwrap();
        let moved = first.value_schema().unwrap();
        assert_eq!((moved.name(), moved.version(), moved.doc()), (Some("n"), Some(2), Some("d")));
        assert_eq!(moved.fields().len(), 1);
        assert!(moved.ptr_eq(second.value_schema().unwrap()));
        assert_eq!(first.value.as_struct().unwrap().get("b"), Some(&Value::Int32(2)));
    }

    #[test]
    fn replace_null_with_default() {
        let with_default = SchemaBuilder::int32().optional().default_value(Value::Int32(7)).build().unwrap();
        let schema =
            SchemaBuilder::structure().field("a", with_default.clone()).field("b", with_default).build().unwrap();
        let record =
            TransformRecord::new("t").with_value(Some(schema.clone()), Value::Struct(Struct::new(schema).unwrap()));
        let out = transform(false, "a", "h", "move").apply(record.clone()).unwrap().unwrap();
        assert_eq!(out.headers.last_with_name("h").unwrap().value, Value::Int32(7));
        assert_eq!(out.value.as_struct().unwrap().get_at(0), Some(&Value::Int32(7)));

        let mut t = HeaderFromValue::default();
        let config = Config::from([
            (FIELDS.to_string(), "a".to_string()),
            (HEADERS.to_string(), "h".to_string()),
            (OPERATION.to_string(), "move".to_string()),
            (REPLACE_NULL_WITH_DEFAULT.to_string(), "false".to_string()),
        ]);
        t.configure(&config).unwrap();
        let out = t.apply(record).unwrap().unwrap();
        assert_eq!(out.headers.last_with_name("h").unwrap().value, Value::Null);
        assert_eq!(out.value.as_struct().unwrap().get_at(0), Some(&Value::Null));
    }

    #[test]
    fn schemaless_missing_fields_give_null_headers() {
        let record = TransformRecord::new("t").with_value(None, Value::map([(Value::from("a"), Value::Int8(1))]));
        let out = transform(false, "missing", "h", "move").apply(record).unwrap().unwrap();
        assert_eq!(out.headers.last_with_name("h").unwrap().value, Value::Null);
        assert_eq!(out.value, Value::map([(Value::from("a"), Value::Int8(1))]));
    }

    #[test]
    fn wrong_shapes_are_data_errors() {
        let err = transform(false, "a", "h", "move").apply(TransformRecord::new("t")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Data);
        assert_eq!(err.message(), "Only Map objects supported in absence of schema for [header move], found: null");
        let record = TransformRecord::new("t").with_key(Some(Schema::string()), Value::from("k"));
        let err = transform(true, "a", "h", "copy").apply(record).unwrap_err();
        assert_eq!(err.message(), "Only Struct objects supported for [header copy], found: java.lang.String");
        let schema = SchemaBuilder::structure().field("a", Schema::int32()).build().unwrap();
        let value = Struct::new(schema.clone()).unwrap().with("a", 1i32).unwrap();
        let record = TransformRecord::new("t").with_value(Some(schema), Value::Struct(value));
        let err = transform(false, "b", "h", "copy").apply(record).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Data);
        assert_eq!(err.message(), "b is not a valid field name");
    }

    #[test]
    fn config_errors() {
        let configure = |pairs: &[(&str, &str)]| {
            let mut t = HeaderFromValue::default();
            t.configure(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()).unwrap_err()
        };
        let err = configure(&[(FIELDS, "foo,bar"), (HEADERS, "foo"), (OPERATION, "copy")]);
        assert_eq!(err.kind(), ErrorKind::Config);
        assert_eq!(err.message(), "'fields' config must have the same number of elements as 'headers' config.");
        let err = configure(&[(FIELDS, "foo"), (HEADERS, "foo,bar"), (OPERATION, "copy")]);
        assert_eq!(err.kind(), ErrorKind::Config);
        let err = configure(&[(FIELDS, ""), (HEADERS, ""), (OPERATION, "copy")]);
        assert_eq!(err.message(), "Invalid value [] for configuration fields: Empty list");
        let err = configure(&[(FIELDS, "a"), (HEADERS, ""), (OPERATION, "copy")]);
        assert_eq!(err.message(), "Invalid value [] for configuration headers: Empty list");
        let err = configure(&[(FIELDS, "a"), (HEADERS, "h"), (OPERATION, "swap")]);
        assert_eq!(err.message(), "Invalid value swap for configuration operation: String must be one of: move, copy");
        let err = configure(&[(FIELDS, "a"), (HEADERS, "h")]);
        assert!(err.message().contains("\"operation\""), "{err}");
        let err = configure(&[(FIELDS, "a"), (HEADERS, "h"), (OPERATION, "copy"), (REPLACE_NULL_WITH_DEFAULT, "x")]);
        assert!(err.message().contains("configuration replace.null.with.default"), "{err}");
    }
}
