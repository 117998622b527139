//! [`Struct`]: a value bound to a struct schema, validated on every `put`, as Kafka Connect's `Struct`.

use std::fmt;

use abi_stable::std_types::RVec;
use abi_stable::StableAbi;

use crate::data::{Schema, SchemaType, Value};
use crate::error::{ConnectError, Result};

/// A record of named fields following a `STRUCT` schema.
///
/// ```
/// use connect_api::{Schema, SchemaBuilder, Struct, Value};
///
/// let schema = SchemaBuilder::structure()
///     .field("id", Schema::int32())
///     .field("name", Schema::optional_string())
///     .build()
///     .unwrap();
/// let mut user = Struct::new(schema).unwrap();
/// user.put("id", 42i32).unwrap();
/// assert!(user.put("id", "not a number").is_err());
/// assert!(user.put("missing", 1i32).is_err());
/// user.validate().unwrap();
/// assert_eq!(user.get("id"), Some(&Value::Int32(42)));
/// assert_eq!(user.to_string(), "Struct{id=42}");
/// ```
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct Struct {
    schema: Schema,
    values: RVec<Value>,
}

impl Struct {
    /// An empty struct (every field null) for `schema`, which must be a `STRUCT` schema.
    pub fn new(schema: Schema) -> Result<Self> {
        if schema.schema_type() != SchemaType::Struct {
            return Err(ConnectError::data(format!("Not a struct schema: {schema}")));
        }
        let values = (0..schema.fields().len()).map(|_| Value::Null).collect();
        Ok(Struct { schema, values })
    }

    /// The schema of this struct.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Sets field `name` to `value` after checking it against the field's schema.
    pub fn put(&mut self, name: &str, value: impl Into<Value>) -> Result<&mut Self> {
        let value = value.into();
        let field =
            self.schema.field(name).ok_or_else(|| ConnectError::data(format!("{name} is not a valid field name")))?;
        field.schema().validate_named(Some(name), &value)?;
        let index = field.index();
        self.values[index] = value;
        Ok(self)
    }

    /// Like [`Struct::put`], consuming and returning the struct, for building in one expression.
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Result<Self> {
        self.put(name, value)?;
        Ok(self)
    }

    /// The value of field `name`, or its schema's default when the value is null; `None` for an unknown field.
    pub fn get(&self, name: &str) -> Option<&Value> {
        let field = self.schema.field(name)?;
        let value = &self.values[field.index()];
        match (value, field.schema().default_value()) {
            (Value::Null, Some(default)) => Some(default),
            _ => Some(value),
        }
    }

    /// The raw value at field position `index`, without defaults.
    pub fn get_at(&self, index: usize) -> Option<&Value> {
        self.values.get(index)
    }

    /// The raw values in field order.
    pub fn values(&self) -> &[Value] {
        self.values.as_slice()
    }

    /// Checks that every required field without a default has a value.
    pub fn validate(&self) -> Result<()> {
        for field in self.schema.fields() {
            field.schema().validate_named(Some(field.name()), &self.values[field.index()])?;
        }
        Ok(())
    }
}

impl fmt::Display for Struct {
    /// Java's `Struct.toString`: `Struct{a=1,b=x}`, null fields left out, decimals as numbers. Date, Time and
    /// Timestamp fields show their number (Java shows a `java.util.Date` in the JVM's time zone).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Struct{")?;
        let mut first = true;
        for field in self.schema.fields() {
            let value = &self.values[field.index()];
            if value.is_null() {
                continue;
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            match (value, field.schema().name()) {
                // Java holds a BigDecimal there and prints its toString.
                (Value::Bytes(bytes), Some(crate::data::logical::Decimal::LOGICAL_NAME)) => {
                    let scale = crate::data::logical::Decimal::scale(field.schema()).unwrap_or(0);
                    write!(f, "{}={}", field.name(), crate::data::logical::Decimal::to_java_string(bytes, scale))?
                }
                _ => write!(f, "{}={}", field.name(), value)?,
            }
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SchemaBuilder;

    #[test]
    fn required_fields_are_checked_by_validate() {
        let schema = SchemaBuilder::structure().field("a", Schema::int8()).build().unwrap();
        let s = Struct::new(schema).unwrap();
        let err = s.validate().unwrap_err();
        assert!(err.message().contains("field \"a\""), "{err}");
    }

    #[test]
    fn defaults_fill_null_fields() {
        let schema = SchemaBuilder::structure()
            .field("a", SchemaBuilder::int8().default_value(Value::Int8(5)).build().unwrap())
            .build()
            .unwrap();
        let s = Struct::new(schema).unwrap();
        s.validate().unwrap();
        assert_eq!(s.get("a"), Some(&Value::Int8(5)));
    }

    #[test]
    fn nested_struct_schema_must_match() {
        let inner = SchemaBuilder::structure().field("x", Schema::int32()).build().unwrap();
        let other = SchemaBuilder::structure().field("y", Schema::int32()).build().unwrap();
        let outer = SchemaBuilder::structure().field("inner", inner.clone()).build().unwrap();
        let mut s = Struct::new(outer).unwrap();
        let good = Struct::new(inner).unwrap().with("x", 1i32).unwrap();
        let bad = Struct::new(other).unwrap().with("y", 1i32).unwrap();
        assert!(s.put("inner", good).is_ok());
        assert!(s.put("inner", bad).is_err());
    }
}
