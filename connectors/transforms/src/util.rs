//! What the transformations share: which part of a record a `$Key` / `$Value` variant works on, Java class names
//! and configuration errors as Kafka's messages write them, and a small cache of derived schemas.

use std::fmt;

use connect_api::{ConnectError, ErrorKind, Schema, SchemaBuilder, TransformRecord, Value};

/// The part of a record a `$Key` or `$Value` variant operates on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// The key (`$Key`).
    Key,
    /// The value (`$Value`).
    Value,
}

impl Target {
    /// The schema and value of this part.
    pub(crate) fn get(self, record: &TransformRecord) -> (Option<&Schema>, &Value) {
        match self {
            Target::Key => (record.key_schema(), &record.key),
            Target::Value => (record.value_schema(), &record.value),
        }
    }

    /// Takes the schema and value of this part out of the record, leaving no schema and `Null`.
    pub(crate) fn take(self, record: &mut TransformRecord) -> (Option<Schema>, Value) {
        match self {
            Target::Key => (record.key_schema.take().into_option(), std::mem::take(&mut record.key)),
            Target::Value => (record.value_schema.take().into_option(), std::mem::take(&mut record.value)),
        }
    }

    /// Sets the schema and value of this part.
    pub(crate) fn set(self, record: &mut TransformRecord, schema: Option<Schema>, value: Value) {
        match self {
            Target::Key => {
                record.key_schema = schema.into();
                record.key = value;
            }
            Target::Value => {
                record.value_schema = schema.into();
                record.value = value;
            }
        }
    }

    /// `Key` or `Value`, as the Java class name suffix and Kafka's messages say it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Target::Key => "Key",
            Target::Value => "Value",
        }
    }
}

/// The Java class Kafka Connect would hold for `value` (`getClass().getName()`), as its messages name it.
pub(crate) fn java_class_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Int8(_) => "java.lang.Byte",
        Value::Int16(_) => "java.lang.Short",
        Value::Int32(_) => "java.lang.Integer",
        Value::Int64(_) => "java.lang.Long",
        Value::Float32(_) => "java.lang.Float",
        Value::Float64(_) => "java.lang.Double",
        Value::Boolean(_) => "java.lang.Boolean",
        Value::String(_) => "java.lang.String",
        Value::Bytes(_) => "[B",
        Value::Array(_) => "java.util.ArrayList",
        Value::Map(_) => "java.util.HashMap",
        Value::Struct(_) => "org.apache.kafka.connect.data.Struct",
    }
}

/// Kafka's `new ConfigException(name, value, message)`: `Invalid value <value> for configuration <name>: <message>`.
pub(crate) fn config_error(key: &str, value: impl fmt::Display, message: impl fmt::Display) -> ConnectError {
    ConnectError::with_kind(ErrorKind::Config, format!("Invalid value {value} for configuration {key}: {message}"))
}

/// A list as Java's `List.toString` shows it: `[a, b]`.
pub(crate) fn java_list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

/// A small cache of derived schemas keyed by the source schema, as Kafka's `LRUCache<Schema, Schema>(16)`.
#[derive(Default)]
pub(crate) struct SchemaCache {
    entries: Vec<(Schema, Schema)>,
}

impl SchemaCache {
    const CAPACITY: usize = 16;

    /// The schema derived from `source`, when cached; most recently used first.
    pub(crate) fn get(&mut self, source: &Schema) -> Option<Schema> {
        let pos = self
            .entries
            .iter()
            .position(|(k, _)| k.ptr_eq(source))
            .or_else(|| self.entries.iter().position(|(k, _)| k == source))?;
        if pos != 0 {
            let entry = self.entries.remove(pos);
            self.entries.insert(0, entry);
        }
        Some(self.entries[0].1.clone())
    }

    /// Remembers `derived` for `source`, dropping the least recently used entry when full.
    pub(crate) fn put(&mut self, source: Schema, derived: Schema) {
        if self.entries.len() >= Self::CAPACITY {
            self.entries.pop();
        }
        self.entries.insert(0, (source, derived));
    }

    /// The cached schema for `source`, or the one `build` makes (then cached).
    pub(crate) fn get_or_build(
        &mut self,
        source: &Schema,
        build: impl FnOnce(&Schema) -> Result<Schema, ConnectError>,
    ) -> Result<Schema, ConnectError> {
        if let Some(hit) = self.get(source) {
            return Ok(hit);
        }
        let derived = build(source)?;
        self.put(source.clone(), derived.clone());
        Ok(derived)
    }

    /// Forgets every entry.
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}

/// Kafka's `Requirements.requireStruct` failure: `value` is not a struct.
pub(crate) fn not_a_struct(value: &Value, purpose: &str) -> ConnectError {
    ConnectError::data(format!("Only Struct objects supported for [{purpose}], found: {}", java_class_name(value)))
}

/// Kafka's `Requirements.requireMap` failure: `value` is not a map.
pub(crate) fn not_a_map(value: &Value, purpose: &str) -> ConnectError {
    ConnectError::data(format!(
        "Only Map objects supported in absence of schema for [{purpose}], found: {}",
        java_class_name(value)
    ))
}

/// Kafka's `SchemaUtil.copySchemaBasics(source, builder)`: name, version, doc and parameters (not optionality,
/// not the default).
pub(crate) fn copy_schema_basics(source: &Schema, mut builder: SchemaBuilder) -> SchemaBuilder {
    if let Some(name) = source.name() {
        builder = builder.name(name);
    }
    if let Some(version) = source.version() {
        builder = builder.version(version);
    }
    if let Some(doc) = source.doc() {
        builder = builder.doc(doc);
    }
    for p in source.parameters() {
        builder = builder.parameter(p.key.as_str(), p.value.as_str());
    }
    builder
}
