//! Connect schemas: the type of a key, a value, a field or a header, with Kafka Connect's attributes.
//!
//! A [`Schema`] is immutable and cheap to clone (a reference-counted pointer), so connectors build their schemas
//! once and attach clones to every record.

use std::fmt;
use std::sync::OnceLock;

use abi_stable::std_types::{RArc, ROption, RString, RVec};
use abi_stable::StableAbi;

use crate::data::Value;
use crate::error::{ConnectError, Result};

/// The type of a [`Schema`], as Kafka Connect's `Schema.Type`.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SchemaType {
    /// 8-bit signed integer.
    Int8,
    /// 16-bit signed integer.
    Int16,
    /// 32-bit signed integer.
    Int32,
    /// 64-bit signed integer.
    Int64,
    /// 32-bit IEEE 754 floating point number.
    Float32,
    /// 64-bit IEEE 754 floating point number.
    Float64,
    /// Boolean.
    Boolean,
    /// UTF-8 text.
    String,
    /// A byte sequence.
    Bytes,
    /// An ordered list of values of one schema.
    Array,
    /// A map from keys of one schema to values of another.
    Map,
    /// A record of named, ordered fields.
    Struct,
}

impl SchemaType {
    /// The upper-case name Kafka Connect uses in messages (`INT32`, `STRUCT`...).
    ///
    /// ```
    /// assert_eq!(connect_api::SchemaType::Float64.name(), "FLOAT64");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            SchemaType::Int8 => "INT8",
            SchemaType::Int16 => "INT16",
            SchemaType::Int32 => "INT32",
            SchemaType::Int64 => "INT64",
            SchemaType::Float32 => "FLOAT32",
            SchemaType::Float64 => "FLOAT64",
            SchemaType::Boolean => "BOOLEAN",
            SchemaType::String => "STRING",
            SchemaType::Bytes => "BYTES",
            SchemaType::Array => "ARRAY",
            SchemaType::Map => "MAP",
            SchemaType::Struct => "STRUCT",
        }
    }

    /// Whether values of this type are not composed of other values.
    pub fn is_primitive(self) -> bool {
        !matches!(self, SchemaType::Array | SchemaType::Map | SchemaType::Struct)
    }
}

impl fmt::Display for SchemaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A named schema parameter (for example a Decimal's `scale`), kept in insertion order as Kafka Connect does.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq, Eq)]
pub struct Parameter {
    /// The parameter name.
    pub key: RString,
    /// The parameter value.
    pub value: RString,
}

/// One field of a struct schema.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct Field {
    name: RString,
    index: u32,
    schema: Schema,
}

impl Field {
    /// The field name.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// The position of the field in its struct.
    pub fn index(&self) -> usize {
        self.index as usize
    }

    /// The schema of the field's values.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }
}

#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
struct SchemaData {
    schema_type: SchemaType,
    optional: bool,
    default_value: ROption<Value>,
    name: ROption<RString>,
    version: ROption<i32>,
    doc: ROption<RString>,
    parameters: RVec<Parameter>,
    key_schema: ROption<Schema>,
    value_schema: ROption<Schema>,
    fields: RVec<Field>,
}

/// The schema of a Connect value: its type, whether it may be null, a default, name, version, doc, parameters,
/// and for complex types the key/value schemas (map), the element schema (array) or the fields (struct).
///
/// ```
/// use connect_api::{Schema, SchemaBuilder, SchemaType};
///
/// let user = SchemaBuilder::structure()
///     .name("com.example.User")
///     .field("id", Schema::int64())
///     .field("email", Schema::optional_string())
///     .build()
///     .unwrap();
/// assert_eq!(user.schema_type(), SchemaType::Struct);
/// assert_eq!(user.field("email").unwrap().index(), 1);
/// assert!(user.field("email").unwrap().schema().is_optional());
/// ```
#[repr(C)]
#[derive(StableAbi, Clone)]
pub struct Schema {
    data: RArc<SchemaData>,
}

macro_rules! primitive_schemas {
    ($($required:ident, $optional:ident, $ty:ident;)*) => {
        impl Schema {
            $(
                #[doc = concat!("The required `", stringify!($ty), "` schema.")]
                pub fn $required() -> Schema {
                    static SCHEMA: OnceLock<Schema> = OnceLock::new();
                    SCHEMA.get_or_init(|| SchemaBuilder::new(SchemaType::$ty).build_unchecked()).clone()
                }

                #[doc = concat!("The optional `", stringify!($ty), "` schema.")]
                pub fn $optional() -> Schema {
                    static SCHEMA: OnceLock<Schema> = OnceLock::new();
                    SCHEMA.get_or_init(|| SchemaBuilder::new(SchemaType::$ty).optional().build_unchecked()).clone()
                }
            )*
        }
    };
}

primitive_schemas! {
    int8, optional_int8, Int8;
    int16, optional_int16, Int16;
    int32, optional_int32, Int32;
    int64, optional_int64, Int64;
    float32, optional_float32, Float32;
    float64, optional_float64, Float64;
    boolean, optional_boolean, Boolean;
    string, optional_string, String;
    bytes, optional_bytes, Bytes;
}

impl Schema {
    /// The required schema of a primitive type, or an error for array, map and struct (which need a builder).
    pub fn of(schema_type: SchemaType) -> Result<Schema> {
        if !schema_type.is_primitive() {
            return Err(ConnectError::data(format!("{schema_type} schemas need a SchemaBuilder")));
        }
        SchemaBuilder::new(schema_type).build()
    }

    /// Whether both are the very same schema object (a cheap identity check, for caches keyed by schema).
    pub fn ptr_eq(&self, other: &Schema) -> bool {
        std::ptr::eq(&*self.data, &*other.data)
    }

    /// The type of the values.
    pub fn schema_type(&self) -> SchemaType {
        self.data.schema_type
    }

    /// Whether null is a valid value.
    pub fn is_optional(&self) -> bool {
        self.data.optional
    }

    /// The default value used when a value is null.
    pub fn default_value(&self) -> Option<&Value> {
        self.data.default_value.as_ref().into()
    }

    /// The schema name (for example a logical type name such as `org.apache.kafka.connect.data.Decimal`).
    pub fn name(&self) -> Option<&str> {
        self.data.name.as_ref().map(|n| n.as_str()).into()
    }

    /// The schema version.
    pub fn version(&self) -> Option<i32> {
        self.data.version.into()
    }

    /// The documentation string.
    pub fn doc(&self) -> Option<&str> {
        self.data.doc.as_ref().map(|d| d.as_str()).into()
    }

    /// The parameters, in insertion order.
    pub fn parameters(&self) -> &[Parameter] {
        self.data.parameters.as_slice()
    }

    /// The value of parameter `key`.
    pub fn parameter(&self, key: &str) -> Option<&str> {
        self.data.parameters.iter().find(|p| p.key == key).map(|p| p.value.as_str())
    }

    /// The key schema of a map.
    pub fn key_schema(&self) -> Option<&Schema> {
        self.data.key_schema.as_ref().into()
    }

    /// The value schema of a map or the element schema of an array.
    pub fn value_schema(&self) -> Option<&Schema> {
        self.data.value_schema.as_ref().into()
    }

    /// The fields of a struct, in order (empty for other types).
    pub fn fields(&self) -> &[Field] {
        self.data.fields.as_slice()
    }

    /// The field called `name` of a struct.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.data.fields.iter().find(|f| f.name == name)
    }

    /// Checks that `value` is valid for this schema, recursively, as Kafka Connect's `ConnectSchema.validateValue`.
    ///
    /// ```
    /// use connect_api::{Schema, Value};
    ///
    /// assert!(Schema::int32().validate_value(&Value::Int32(7)).is_ok());
    /// assert!(Schema::int32().validate_value(&Value::Null).is_err());
    /// assert!(Schema::optional_int32().validate_value(&Value::Null).is_ok());
    /// assert!(Schema::int32().validate_value(&Value::from("7")).is_err());
    /// ```
    pub fn validate_value(&self, value: &Value) -> Result<()> {
        self.validate_named(None, value)
    }

    pub(crate) fn validate_named(&self, field: Option<&str>, value: &Value) -> Result<()> {
        let describe = || match field {
            Some(name) => format!("field \"{name}\""),
            None => "value".to_string(),
        };
        if value.is_null() {
            if self.is_optional() || self.default_value().is_some() {
                return Ok(());
            }
            return Err(ConnectError::data(format!(
                "Invalid null {} for required {} schema",
                describe(),
                self.schema_type()
            )));
        }
        let ok = matches!(
            (self.schema_type(), value),
            (SchemaType::Int8, Value::Int8(_))
                | (SchemaType::Int16, Value::Int16(_))
                | (SchemaType::Int32, Value::Int32(_))
                | (SchemaType::Int64, Value::Int64(_))
                | (SchemaType::Float32, Value::Float32(_))
                | (SchemaType::Float64, Value::Float64(_))
                | (SchemaType::Boolean, Value::Boolean(_))
                | (SchemaType::String, Value::String(_))
                | (SchemaType::Bytes, Value::Bytes(_))
                | (SchemaType::Array, Value::Array(_))
                | (SchemaType::Map, Value::Map(_))
                | (SchemaType::Struct, Value::Struct(_))
        );
        if !ok {
            return Err(ConnectError::data(format!(
                "Invalid Java object for schema with type {}: {} for {}",
                self.schema_type(),
                value.type_name(),
                describe()
            )));
        }
        match value {
            Value::Array(items) => {
                if let Some(element) = self.value_schema() {
                    for item in items.iter() {
                        element.validate_named(field, item)?;
                    }
                }
            }
            Value::Map(entries) => {
                if let (Some(key_schema), Some(value_schema)) = (self.key_schema(), self.value_schema()) {
                    for entry in entries.iter() {
                        key_schema.validate_named(field, &entry.key)?;
                        value_schema.validate_named(field, &entry.value)?;
                    }
                }
            }
            Value::Struct(s) => {
                if s.schema() != self {
                    return Err(ConnectError::data(format!(
                        "Struct schemas do not match for {}: {} vs {}",
                        describe(),
                        s.schema(),
                        self
                    )));
                }
                s.validate()?;
            }
            _ => {}
        }
        Ok(())
    }
}

impl PartialEq for Schema {
    fn eq(&self, other: &Self) -> bool {
        self.ptr_eq(other) || *self.data == *other.data
    }
}

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.data, f)
    }
}

impl fmt::Display for Schema {
    /// Renders as Kafka Connect's `ConnectSchema.toString`: `Schema{STRING}` or `Schema{name:STRUCT}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "Schema{{{name}:{}}}", self.schema_type()),
            None => write!(f, "Schema{{{}}}", self.schema_type()),
        }
    }
}

/// Builds a [`Schema`] step by step, as Kafka Connect's `SchemaBuilder`.
///
/// ```
/// use connect_api::{Schema, SchemaBuilder, Value};
///
/// let tags = SchemaBuilder::array(Schema::string()).optional().doc("labels").build().unwrap();
/// assert!(tags.is_optional());
/// let counts = SchemaBuilder::map(Schema::string(), Schema::int64()).build().unwrap();
/// assert_eq!(counts.key_schema(), Some(&Schema::string()));
/// let level = SchemaBuilder::int32().default_value(Value::Int32(3)).build().unwrap();
/// assert_eq!(level.default_value(), Some(&Value::Int32(3)));
/// ```
#[derive(Clone, Debug)]
pub struct SchemaBuilder {
    data: SchemaData,
    error: Option<ConnectError>,
}

impl SchemaBuilder {
    /// A builder for a required schema of `schema_type`.
    pub fn new(schema_type: SchemaType) -> Self {
        SchemaBuilder {
            data: SchemaData {
                schema_type,
                optional: false,
                default_value: ROption::RNone,
                name: ROption::RNone,
                version: ROption::RNone,
                doc: ROption::RNone,
                parameters: RVec::new(),
                key_schema: ROption::RNone,
                value_schema: ROption::RNone,
                fields: RVec::new(),
            },
            error: None,
        }
    }

    /// A builder for an `INT8` schema.
    pub fn int8() -> Self {
        Self::new(SchemaType::Int8)
    }
    /// A builder for an `INT16` schema.
    pub fn int16() -> Self {
        Self::new(SchemaType::Int16)
    }
    /// A builder for an `INT32` schema.
    pub fn int32() -> Self {
        Self::new(SchemaType::Int32)
    }
    /// A builder for an `INT64` schema.
    pub fn int64() -> Self {
        Self::new(SchemaType::Int64)
    }
    /// A builder for a `FLOAT32` schema.
    pub fn float32() -> Self {
        Self::new(SchemaType::Float32)
    }
    /// A builder for a `FLOAT64` schema.
    pub fn float64() -> Self {
        Self::new(SchemaType::Float64)
    }
    /// A builder for a `BOOLEAN` schema.
    pub fn boolean() -> Self {
        Self::new(SchemaType::Boolean)
    }
    /// A builder for a `STRING` schema.
    pub fn string() -> Self {
        Self::new(SchemaType::String)
    }
    /// A builder for a `BYTES` schema.
    pub fn bytes() -> Self {
        Self::new(SchemaType::Bytes)
    }

    /// A builder for an `ARRAY` schema whose elements have schema `element`.
    pub fn array(element: Schema) -> Self {
        let mut b = Self::new(SchemaType::Array);
        b.data.value_schema = ROption::RSome(element);
        b
    }

    /// A builder for a `MAP` schema from `key` to `value`.
    pub fn map(key: Schema, value: Schema) -> Self {
        let mut b = Self::new(SchemaType::Map);
        b.data.key_schema = ROption::RSome(key);
        b.data.value_schema = ROption::RSome(value);
        b
    }

    /// A builder for a `STRUCT` schema; add fields with [`SchemaBuilder::field`].
    pub fn structure() -> Self {
        Self::new(SchemaType::Struct)
    }

    /// A builder starting from an existing schema, to derive a variant of it.
    pub fn from_schema(schema: &Schema) -> Self {
        SchemaBuilder { data: (*schema.data).clone(), error: None }
    }

    /// Marks the schema optional (null is a valid value).
    pub fn optional(mut self) -> Self {
        self.data.optional = true;
        self
    }

    /// Marks the schema required (the default).
    pub fn required(mut self) -> Self {
        self.data.optional = false;
        self
    }

    /// Sets the schema name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.data.name = ROption::RSome(RString::from(name.into()));
        self
    }

    /// Sets the schema version.
    pub fn version(mut self, version: i32) -> Self {
        self.data.version = ROption::RSome(version);
        self
    }

    /// Sets the documentation string.
    pub fn doc(mut self, doc: impl Into<String>) -> Self {
        self.data.doc = ROption::RSome(RString::from(doc.into()));
        self
    }

    /// Adds (or replaces) a parameter.
    pub fn parameter(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = RString::from(key.into());
        let value = RString::from(value.into());
        match self.data.parameters.iter_mut().find(|p| p.key == key) {
            Some(p) => p.value = value,
            None => self.data.parameters.push(Parameter { key, value }),
        }
        self
    }

    /// Sets the default value; it is checked against the schema when the schema is built.
    pub fn default_value(mut self, value: Value) -> Self {
        self.data.default_value = ROption::RSome(value);
        self
    }

    /// Appends a field to a struct schema. A duplicate name or a non-struct schema is reported by `build`.
    pub fn field(mut self, name: impl Into<String>, schema: Schema) -> Self {
        let name = name.into();
        if self.error.is_none() {
            if self.data.schema_type != SchemaType::Struct {
                self.error =
                    Some(ConnectError::data(format!("Cannot create fields on type {}", self.data.schema_type)));
            } else if self.data.fields.iter().any(|f| f.name == name.as_str()) {
                self.error =
                    Some(ConnectError::data(format!("Cannot create field because of field name duplication {name}")));
            }
        }
        let index = self.data.fields.len() as u32;
        self.data.fields.push(Field { name: RString::from(name), index, schema });
        self
    }

    /// Builds the schema, checking the default value and the fields.
    pub fn build(self) -> Result<Schema> {
        if let Some(err) = self.error {
            return Err(err);
        }
        let schema = self.build_unchecked();
        if let Some(default) = schema.default_value() {
            schema.validate_value(default).map_err(|e| e.context("Invalid default value"))?;
        }
        Ok(schema)
    }

    fn build_unchecked(self) -> Schema {
        Schema { data: RArc::new(self.data) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitive_constructors_are_shared_and_equal() {
        assert_eq!(Schema::int32(), Schema::int32());
        assert_ne!(Schema::int32(), Schema::optional_int32());
        assert_eq!(Schema::of(SchemaType::String).unwrap(), Schema::string());
        assert!(Schema::of(SchemaType::Struct).is_err());
    }

    #[test]
    fn duplicate_fields_and_fields_on_primitives_are_refused() {
        let err = SchemaBuilder::structure().field("a", Schema::int8()).field("a", Schema::int8()).build().unwrap_err();
        assert!(err.message().contains("duplication a"), "{err}");
        assert!(SchemaBuilder::int32().field("a", Schema::int8()).build().is_err());
    }

    #[test]
    fn default_values_are_checked() {
        assert!(SchemaBuilder::int32().default_value(Value::from("x")).build().is_err());
        let s = SchemaBuilder::string().default_value(Value::from("x")).build().unwrap();
        assert!(s.validate_value(&Value::Null).is_ok());
    }

    #[test]
    fn nested_values_are_validated() {
        let s = SchemaBuilder::array(Schema::int32()).build().unwrap();
        assert!(s.validate_value(&Value::Array(vec![Value::Int32(1)].into())).is_ok());
        assert!(s.validate_value(&Value::Array(vec![Value::Int64(1)].into())).is_err());
        let m = SchemaBuilder::map(Schema::string(), Schema::int32()).build().unwrap();
        let ok = Value::map([(Value::from("a"), Value::Int32(1))]);
        let bad = Value::map([(Value::Int32(1), Value::Int32(1))]);
        assert!(m.validate_value(&ok).is_ok());
        assert!(m.validate_value(&bad).is_err());
    }

    #[test]
    fn parameters_keep_insertion_order_and_replace() {
        let s = SchemaBuilder::bytes().parameter("b", "1").parameter("a", "2").parameter("b", "3").build().unwrap();
        let keys: Vec<_> = s.parameters().iter().map(|p| (p.key.as_str(), p.value.as_str())).collect();
        assert_eq!(keys, [("b", "3"), ("a", "2")]);
        assert_eq!(s.to_string(), "Schema{BYTES}");
    }
}
