//! Which columns a record writes (Confluent's `FieldsMetadata`): key columns per `pk.mode`/`pk.fields`, then the
//! value's other fields filtered by `fields.whitelist`; and the SQL values of one record for those columns.

use chrono_tz::Tz;
use connect_api::{ConnectError, Result, Schema, SchemaType, SinkRecord, Value};

use crate::convert::to_sql;
use crate::db::SqlValue;
use crate::dialect::Column;
use crate::sink::config::{PkMode, SinkSettings};

/// Where the key columns come from.
#[derive(Clone, Debug, PartialEq)]
enum KeySource {
    None,
    Kafka,
    PrimitiveKey,
    KeyFields(Vec<usize>),
    ValueFields(Vec<usize>),
}

/// The columns of records with one key schema and one value schema.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Key columns, in order.
    pub keys: Vec<Column>,
    /// Non-key columns, in order.
    pub values: Vec<Column>,
    key_source: KeySource,
    /// Indexes of the value fields written as non-key columns.
    value_fields: Vec<usize>,
}

fn struct_fields<'a>(schema: Option<&'a Schema>, what: &str, settings: &SinkSettings) -> Result<&'a Schema> {
    match schema {
        Some(s) if s.schema_type() == SchemaType::Struct => Ok(s),
        _ => Err(ConnectError::data(format!(
            "pk.mode={} with insert.mode requires records with a non-null Struct {what} and non-null Struct schema \
             (schemaless JSON is not supported: use a converter with schemas)",
            pk_mode_name(settings.pk_mode)
        ))),
    }
}

fn pk_mode_name(mode: PkMode) -> &'static str {
    match mode {
        PkMode::None => "none",
        PkMode::Kafka => "kafka",
        PkMode::RecordKey => "record_key",
        PkMode::RecordValue => "record_value",
    }
}

impl Layout {
    /// Derives the layout of `record` (whose value may be null for a tombstone).
    pub fn of(record: &SinkRecord, settings: &SinkSettings) -> Result<Layout> {
        let value_schema = record.value_schema();
        let mut keys = Vec::new();
        let key_source = match settings.pk_mode {
            PkMode::None => KeySource::None,
            PkMode::Kafka => {
                let names: Vec<String> = if settings.pk_fields.is_empty() {
                    ["__connect_topic", "__connect_partition", "__connect_offset"].map(String::from).to_vec()
                } else {
                    settings.pk_fields.clone()
                };
                keys.push(Column { name: names[0].clone(), schema: Schema::string() });
                keys.push(Column { name: names[1].clone(), schema: Schema::int32() });
                keys.push(Column { name: names[2].clone(), schema: Schema::int64() });
                KeySource::Kafka
            }
            PkMode::RecordKey => {
                let schema = record.key_schema().ok_or_else(|| {
                    ConnectError::data("pk.mode=record_key requires records with a key schema (got a schemaless key)")
                })?;
                if schema.schema_type() == SchemaType::Struct {
                    let mut indexes = Vec::new();
                    for field in schema.fields() {
                        if settings.pk_fields.is_empty() || settings.pk_fields.iter().any(|f| f == field.name()) {
                            keys.push(Column { name: field.name().to_string(), schema: field.schema().clone() });
                            indexes.push(field.index());
                        }
                    }
                    if let Some(missing) = settings.pk_fields.iter().find(|f| schema.field(f).is_none()) {
                        return Err(ConnectError::data(format!(
                            "pk.fields '{missing}' is not a field of the record key"
                        )));
                    }
                    KeySource::KeyFields(indexes)
                } else if schema.schema_type().is_primitive() {
                    if settings.pk_fields.len() != 1 {
                        return Err(ConnectError::data(format!(
                            "pk.mode=record_key with a primitive key needs exactly one name in pk.fields, got {}",
                            settings.pk_fields.len()
                        )));
                    }
                    keys.push(Column { name: settings.pk_fields[0].clone(), schema: schema.clone() });
                    KeySource::PrimitiveKey
                } else {
                    return Err(ConnectError::data(format!("a {} key cannot be a primary key", schema.schema_type())));
                }
            }
            PkMode::RecordValue => {
                let schema = struct_fields(value_schema, "value", settings)?;
                let mut indexes = Vec::new();
                for field in schema.fields() {
                    if settings.pk_fields.is_empty() || settings.pk_fields.iter().any(|f| f == field.name()) {
                        keys.push(Column { name: field.name().to_string(), schema: field.schema().clone() });
                        indexes.push(field.index());
                    }
                }
                if let Some(missing) = settings.pk_fields.iter().find(|f| schema.field(f).is_none()) {
                    return Err(ConnectError::data(format!(
                        "pk.fields '{missing}' is not a field of the record value"
                    )));
                }
                KeySource::ValueFields(indexes)
            }
        };
        let mut values = Vec::new();
        let mut value_fields = Vec::new();
        if !record.value.is_null() {
            let schema = struct_fields(value_schema, "value", settings)?;
            for field in schema.fields() {
                let is_key = keys.iter().any(|k| k.name == field.name());
                let listed =
                    settings.fields_whitelist.is_empty() || settings.fields_whitelist.iter().any(|f| f == field.name());
                if !is_key && listed {
                    values.push(Column { name: field.name().to_string(), schema: field.schema().clone() });
                    value_fields.push(field.index());
                }
            }
        }
        Ok(Layout { keys, values, key_source, value_fields })
    }

    /// Whether the layout has the same columns as `other` (so both can share statements).
    pub fn same_columns(&self, other: &Layout) -> bool {
        self.keys == other.keys && self.values == other.values
    }

    /// The key values of `record`.
    pub fn key_row(&self, record: &SinkRecord, tz: Tz, out: &mut Vec<SqlValue>) -> Result<()> {
        match &self.key_source {
            KeySource::None => {}
            KeySource::Kafka => {
                out.push(SqlValue::Text(record.topic.to_string()));
                out.push(SqlValue::I32(record.kafka_partition));
                out.push(SqlValue::I64(record.kafka_offset));
            }
            KeySource::PrimitiveKey => {
                if record.key.is_null() {
                    return Err(ConnectError::data("pk.mode=record_key requires a non-null key"));
                }
                out.push(to_sql(&record.key, &self.keys[0].schema, tz)?);
            }
            KeySource::KeyFields(indexes) => {
                let key = record.key.as_struct().ok_or_else(|| {
                    ConnectError::data("pk.mode=record_key requires a non-null Struct key matching the key schema")
                })?;
                for (column, index) in self.keys.iter().zip(indexes) {
                    out.push(to_sql(key.get_at(*index).unwrap_or(&Value::Null), &column.schema, tz)?);
                }
            }
            KeySource::ValueFields(indexes) => {
                let value = record
                    .value
                    .as_struct()
                    .ok_or_else(|| ConnectError::data("pk.mode=record_value requires a non-null Struct value"))?;
                for (column, index) in self.keys.iter().zip(indexes) {
                    out.push(to_sql(value.get_at(*index).unwrap_or(&Value::Null), &column.schema, tz)?);
                }
            }
        }
        Ok(())
    }

    /// The non-key values of `record`.
    pub fn value_row(&self, record: &SinkRecord, tz: Tz, out: &mut Vec<SqlValue>) -> Result<()> {
        let value = record.value.as_struct().ok_or_else(|| ConnectError::data("the record value is not a Struct"))?;
        for (column, index) in self.values.iter().zip(&self.value_fields) {
            out.push(to_sql(value.get_at(*index).unwrap_or(&Value::Null), &column.schema, tz)?);
        }
        Ok(())
    }
}
