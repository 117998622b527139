//! What the field transformations share: Kafka's `Requirements` checks with their messages, `SchemaUtil`'s
//! schema copy, Java class names for messages, configuration error texts, a small schema cache and access to
//! `Map` values by string key.

use connect_api::{
    ConfigKey, ConfigType, ConnectError, ErrorKind, Importance, MapEntry, Schema, SchemaBuilder, Struct, Value,
};

use crate::util::Target;
pub(crate) use crate::util::{
    config_error, copy_schema_basics, java_class_name, java_list, not_a_map, not_a_struct, SchemaCache,
};

/// The part of the record a `$Key` (`key` true) or `$Value` variant works on.
pub(crate) const fn target(key: bool) -> Target {
    if key {
        Target::Key
    } else {
        Target::Value
    }
}

/// The key of the `replace.null.with.default` setting (KIP-1040).
pub(crate) const REPLACE_NULL_WITH_DEFAULT: &str = "replace.null.with.default";

/// The definition of `replace.null.with.default`, as Kafka defines it in every transformation that has it.
pub(crate) fn replace_null_with_default_key() -> ConfigKey {
    ConfigKey::new(REPLACE_NULL_WITH_DEFAULT, ConfigType::Boolean)
        .default_value("true")
        .importance(Importance::Medium)
        .documentation(
            "Whether to replace fields that have a default value and that are null to the default value. When set \
             to true, the default value is used, otherwise null is used.",
        )
}

/// What Java's `value.getClass().toString()` prints (`class java.lang.String`).
pub(crate) fn java_class(value: &Value) -> String {
    format!("class {}", java_class_name(value))
}

/// A configuration error in the text of Kafka's `ConfigException(message)`.
pub(crate) fn config_message(message: impl Into<String>) -> ConnectError {
    ConnectError::with_kind(ErrorKind::Config, message)
}

/// Kafka's `NonEmptyListValidator`: an empty list is `Invalid value [] for configuration <key>: Empty list`.
pub(crate) fn require_non_empty_list(key: &str, items: &[String]) -> Result<(), ConnectError> {
    if items.is_empty() {
        return Err(config_error(key, java_list(items), "Empty list"));
    }
    Ok(())
}

/// Kafka's `Requirements.requireSchema`.
pub(crate) fn require_schema(schema: Option<Schema>, purpose: &str) -> Result<Schema, ConnectError> {
    schema.ok_or_else(|| ConnectError::data(format!("Schema required for [{purpose}]")))
}

/// Kafka's `Requirements.requireMap`: the value itself when it is a `Map`.
pub(crate) fn require_map(value: Value, purpose: &str) -> Result<Value, ConnectError> {
    match value {
        Value::Map(_) => Ok(value),
        other => Err(not_a_map(&other, purpose)),
    }
}

/// Kafka's `Requirements.requireMap`, giving the map's entries.
pub(crate) fn require_map_entries(value: Value, purpose: &str) -> Result<impl Iterator<Item = MapEntry>, ConnectError> {
    match value {
        Value::Map(entries) => Ok(entries.into_iter()),
        other => Err(not_a_map(&other, purpose)),
    }
}

/// Kafka's `Requirements.requireStruct`.
pub(crate) fn require_struct(value: Value, purpose: &str) -> Result<Struct, ConnectError> {
    match value {
        Value::Struct(s) => Ok(s),
        other => Err(not_a_struct(&other, purpose)),
    }
}

/// Kafka's `Requirements.requireStruct` on a borrowed value.
pub(crate) fn require_struct_ref<'a>(value: &'a Value, purpose: &str) -> Result<&'a Struct, ConnectError> {
    match value {
        Value::Struct(s) => Ok(s),
        other => Err(not_a_struct(other, purpose)),
    }
}

/// Kafka's `SchemaUtil.copySchemaBasics(source)`: a builder of the same type (with the same key/value or element
/// schemas for maps and arrays) and the same name, version, doc and parameters.
pub(crate) fn copy_schema_basics_of(source: &Schema) -> SchemaBuilder {
    // `from_schema` keeps fields, optionality and the default, which copySchemaBasics does not: reset them.
    let mut builder = SchemaBuilder::new(source.schema_type());
    match source.schema_type() {
        connect_api::SchemaType::Array => {
            if let Some(element) = source.value_schema() {
                builder = SchemaBuilder::array(element.clone());
            }
        }
        connect_api::SchemaType::Map => {
            if let (Some(k), Some(v)) = (source.key_schema(), source.value_schema()) {
                builder = SchemaBuilder::map(k.clone(), v.clone());
            }
        }
        _ => {}
    }
    copy_schema_basics(source, builder)
}

/// A struct field's value as Kafka's `Struct.get` (`with_default`, the schema default for a null value) or
/// `Struct.getWithoutDefault` gives it.
pub(crate) fn struct_value(value: &Struct, field: &connect_api::Field, with_default: bool) -> Value {
    let raw = value.get_at(field.index()).cloned().unwrap_or_default();
    match (&raw, with_default) {
        (Value::Null, true) => field.schema().default_value().cloned().unwrap_or_default(),
        _ => raw,
    }
}

/// The value under string key `key` of a `Map` value (Java's `map.get(key)`: `None` when absent).
pub(crate) fn map_get<'a>(map: &'a Value, key: &str) -> Option<&'a Value> {
    map.map_get(key)
}

/// Java's `map.put(key, value)` on a `Map` value: replaces the value in place, or appends the entry.
pub(crate) fn map_put(map: &mut Value, key: &str, value: Value) {
    if let Value::Map(entries) = map {
        match entries.iter_mut().find(|e| e.key.as_str() == Some(key)) {
            Some(entry) => entry.value = value,
            None => entries.push(MapEntry { key: Value::from(key), value }),
        }
    }
}

/// Standard Base64 with padding (Java's `Base64.getEncoder()`).
pub(crate) fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Shared helpers for the unit tests of the field transformations.
#[cfg(test)]
pub(crate) mod testing {
    use connect_api::{Config, ConnectError, ErrorKind, TransformRecord, Transformation};

    /// A configuration from pairs.
    pub(crate) fn config(pairs: &[(&str, &str)]) -> Config {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// A transformation of type `T` configured with `pairs`.
    pub(crate) fn configured<T: Transformation + Default>(pairs: &[(&str, &str)]) -> T {
        let mut t = T::default();
        t.configure(&config(pairs)).expect("valid configuration");
        t
    }

    /// The configuration error `pairs` give a `T`.
    pub(crate) fn config_err<T: Transformation + Default>(pairs: &[(&str, &str)]) -> ConnectError {
        let mut t = T::default();
        let err = t.configure(&config(pairs)).expect_err("invalid configuration");
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        err
    }

    /// Applies `t` and expects a record back.
    pub(crate) fn apply<T: Transformation>(t: &mut T, record: TransformRecord) -> TransformRecord {
        t.apply(record).expect("transformed").expect("kept")
    }

    /// Applies `t` and expects a data error; returns its message.
    pub(crate) fn data_err<T: Transformation>(t: &mut T, record: TransformRecord) -> String {
        let err = t.apply(record).expect_err("data error");
        assert_eq!(err.kind(), ErrorKind::Data, "{err}");
        err.message().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_api::SchemaType;

    #[test]
    fn base64_matches_java() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(&[0xff, 0xfe, 0xfd, 0x00]), "//79AA==");
    }

    #[test]
    fn requirements_messages() {
        let err = require_map(Value::from(1i32), "p").unwrap_err();
        assert_eq!(err.message(), "Only Map objects supported in absence of schema for [p], found: java.lang.Integer");
        let err = require_struct(Value::Null, "p").unwrap_err();
        assert_eq!(err.message(), "Only Struct objects supported for [p], found: null");
        assert_eq!(require_schema(None, "p").unwrap_err().message(), "Schema required for [p]");
    }

    #[test]
    fn map_put_replaces_or_appends() {
        let mut m = Value::map([(Value::from("a"), Value::from(1i32))]);
        map_put(&mut m, "a", Value::from(2i32));
        map_put(&mut m, "b", Value::Null);
        assert_eq!(m.to_string(), "{a=2, b=null}");
        assert_eq!(map_get(&m, "b"), Some(&Value::Null));
        assert_eq!(map_get(&m, "c"), None);
    }

    #[test]
    fn cache_evicts_least_recently_used() {
        let mut cache = SchemaCache::default();
        let schemas: Vec<Schema> =
            (0..17).map(|i| SchemaBuilder::int32().name(format!("s{i}")).build().unwrap()).collect();
        for s in &schemas {
            cache.put(s.clone(), Schema::string());
        }
        assert!(cache.get(&schemas[0]).is_none());
        assert_eq!(cache.get(&schemas[16]), Some(Schema::string()));
        cache.clear();
        assert!(cache.get(&schemas[16]).is_none());
    }

    #[test]
    fn copy_basics_keeps_metadata_but_not_optionality() {
        let source = SchemaBuilder::array(Schema::int8()).name("n").version(3).doc("d").parameter("k", "v").optional();
        let source = source.build().unwrap();
        let copy = copy_schema_basics_of(&source).build().unwrap();
        assert_eq!(copy.schema_type(), SchemaType::Array);
        assert_eq!(copy.value_schema(), Some(&Schema::int8()));
        assert_eq!(
            (copy.name(), copy.version(), copy.doc(), copy.parameter("k")),
            (Some("n"), Some(3), Some("d"), Some("v"))
        );
        assert!(!copy.is_optional());
    }
}
