//! Column types -> Connect schemas (Confluent's `GenericDatabaseDialect.addFieldToSchema` with `numeric.mapping`),
//! and the decoding of one row of each driver into Connect values.

use bigdecimal::{BigDecimal, ToPrimitive};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use connect_api::data::logical::{Date, Decimal, Time, Timestamp};
use connect_api::{ConnectError, Result, Schema, SchemaBuilder, Value};
use sqlx::{Row, TypeInfo, ValueRef};

use crate::convert::{date_value, decimal_value, local_to_utc, time_value, timestamp_value};
use crate::dialect::Dialect;

/// `numeric.mapping`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumericMapping {
    /// Always Decimal.
    None,
    /// Integers by precision when the scale is 0.
    PrecisionOnly,
    /// Integers or float64 when they fit.
    BestFit,
    /// As best_fit, and float64 for any positive scale.
    BestFitEagerDouble,
}

/// How to read a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoder {
    /// BOOLEAN.
    Bool,
    /// Signed integers, by their width in the database.
    I8,
    /// INT16.
    I16,
    /// INT32.
    I32,
    /// INT64.
    I64,
    /// Unsigned MySQL integers (read wider).
    U8,
    /// UNSIGNED SMALLINT.
    U16,
    /// UNSIGNED INT.
    U32,
    /// UNSIGNED BIGINT (as Decimal scale 0).
    U64,
    /// FLOAT32.
    F32,
    /// FLOAT64.
    F64,
    /// A decimal read as Connect Decimal with this scale.
    Decimal(i64),
    /// A decimal read as an integer of this many bits.
    DecimalInt(u8),
    /// A decimal read as float64.
    DecimalF64,
    /// Text.
    Text,
    /// PostgreSQL json/jsonb/uuid (read as their text).
    PgJson,
    /// jsonb.
    PgJsonb,
    /// uuid.
    PgUuid,
    /// Bytes.
    Bytes,
    /// DATE.
    Date,
    /// TIME.
    Time,
    /// A timestamp without zone: wall-clock time of `db.timezone`.
    Timestamp,
    /// A timestamp with zone (PostgreSQL timestamptz, MySQL TIMESTAMP in the UTC session).
    TimestampTz,
}

impl Decoder {
    /// Whether the column holds timestamps (usable as `timestamp.column.name`).
    pub fn is_timestamp(self) -> bool {
        matches!(self, Decoder::Timestamp | Decoder::TimestampTz)
    }
}

/// One column of a source table: its name, reader and schema.
#[derive(Clone, Debug)]
pub struct SourceColumn {
    /// Name (the field name).
    pub name: String,
    /// How to read it.
    pub decoder: Decoder,
    /// The field schema.
    pub schema: Schema,
}

fn int_by_precision(precision: i64) -> (Decoder, SchemaBuilder) {
    if precision <= 2 {
        (Decoder::DecimalInt(8), SchemaBuilder::int8())
    } else if precision <= 4 {
        (Decoder::DecimalInt(16), SchemaBuilder::int16())
    } else if precision <= 9 {
        (Decoder::DecimalInt(32), SchemaBuilder::int32())
    } else {
        (Decoder::DecimalInt(64), SchemaBuilder::int64())
    }
}

fn numeric(precision: Option<i64>, scale: Option<i64>, mapping: NumericMapping) -> (Decoder, SchemaBuilder) {
    let (p, s) = (precision.unwrap_or(0), scale.unwrap_or(0));
    let constrained = precision.is_some_and(|p| p > 0);
    match mapping {
        NumericMapping::PrecisionOnly if constrained && s == 0 && p <= 18 => int_by_precision(p),
        NumericMapping::BestFit | NumericMapping::BestFitEagerDouble if constrained && p <= 18 && s <= 0 => {
            int_by_precision(p)
        }
        NumericMapping::BestFit if constrained && p <= 18 && s > 0 => (Decoder::DecimalF64, SchemaBuilder::float64()),
        NumericMapping::BestFitEagerDouble if s > 0 => (Decoder::DecimalF64, SchemaBuilder::float64()),
        _ if constrained => (
            Decoder::Decimal(s),
            // As Java's dialects: the column's precision rides along as a schema parameter.
            Decimal::builder(s as i32).parameter("connect.decimal.precision", p.to_string()),
        ),
        _ => (Decoder::Decimal(s), Decimal::builder(s as i32)),
    }
}

/// Declared `(p,s)` of a type name like `decimal(10,2)`.
fn declared_precision(type_name: &str) -> (Option<i64>, Option<i64>) {
    let Some(open) = type_name.find('(') else { return (None, None) };
    let inner = type_name[open + 1..].split(')').next().unwrap_or("");
    let mut parts = inner.split(',').map(|p| p.trim().parse::<i64>().ok());
    (parts.next().flatten(), parts.next().flatten().or(Some(0)))
}

/// The reader and schema of a column of `type_name` (catalog or driver type names, any case), or `None` for
/// types that are not supported (the column is skipped with a warning, as Java does).
pub fn column_type(
    dialect: Dialect,
    type_name: &str,
    precision: Option<i64>,
    scale: Option<i64>,
    mapping: NumericMapping,
) -> Option<(Decoder, SchemaBuilder)> {
    let t = type_name.trim().to_ascii_lowercase();
    let base = t.split('(').next().unwrap_or("").trim().to_string();
    let unsigned = t.contains("unsigned");
    use Decoder as D;
    let simple = |d: Decoder, b: SchemaBuilder| Some((d, b));
    match dialect {
        Dialect::Postgres => match base.as_str() {
            "boolean" | "bool" => simple(D::Bool, SchemaBuilder::boolean()),
            "smallint" | "int2" | "smallserial" => simple(D::I16, SchemaBuilder::int16()),
            "integer" | "int" | "int4" | "serial" => simple(D::I32, SchemaBuilder::int32()),
            "bigint" | "int8" | "bigserial" => simple(D::I64, SchemaBuilder::int64()),
            "real" | "float4" => simple(D::F32, SchemaBuilder::float32()),
            "double precision" | "float8" => simple(D::F64, SchemaBuilder::float64()),
            "numeric" | "decimal" => Some(numeric(precision, scale, mapping)),
            "text" | "character varying" | "varchar" | "character" | "char" | "bpchar" | "name" | "citext" => {
                simple(D::Text, SchemaBuilder::string())
            }
            "json" => simple(D::PgJson, SchemaBuilder::string()),
            "jsonb" => simple(D::PgJsonb, SchemaBuilder::string()),
            "uuid" => simple(D::PgUuid, SchemaBuilder::string()),
            "bytea" => simple(D::Bytes, SchemaBuilder::bytes()),
            "date" => simple(D::Date, Date::builder()),
            "time without time zone" | "time" => simple(D::Time, Time::builder()),
            "timestamp without time zone" | "timestamp" => simple(D::Timestamp, Timestamp::builder()),
            "timestamp with time zone" | "timestamptz" => simple(D::TimestampTz, Timestamp::builder()),
            _ => None,
        },
        Dialect::MySql => match base.as_str() {
            "boolean" | "bool" => simple(D::Bool, SchemaBuilder::boolean()),
            "tinyint" if t.starts_with("tinyint(1)") && !unsigned => simple(D::Bool, SchemaBuilder::boolean()),
            "tinyint" if unsigned => simple(D::U8, SchemaBuilder::int16()),
            "tinyint" => simple(D::I8, SchemaBuilder::int8()),
            "smallint" | "year" if unsigned => simple(D::U16, SchemaBuilder::int32()),
            "smallint" => simple(D::I16, SchemaBuilder::int16()),
            "mediumint" | "int" | "integer" if unsigned => simple(D::U32, SchemaBuilder::int64()),
            "mediumint" | "int" | "integer" => simple(D::I32, SchemaBuilder::int32()),
            "bigint" if unsigned => simple(D::U64, Decimal::builder(0)),
            "bigint" => simple(D::I64, SchemaBuilder::int64()),
            "float" => simple(D::F32, SchemaBuilder::float32()),
            "double" | "real" => simple(D::F64, SchemaBuilder::float64()),
            "decimal" | "numeric" => {
                let (p, s) = declared_precision(&t);
                Some(numeric(precision.or(p), scale.or(s), mapping))
            }
            "char" | "varchar" | "text" | "tinytext" | "mediumtext" | "longtext" | "enum" | "set" | "json" => {
                simple(D::Text, SchemaBuilder::string())
            }
            "binary" | "varbinary" | "blob" | "tinyblob" | "mediumblob" | "longblob" => {
                simple(D::Bytes, SchemaBuilder::bytes())
            }
            "date" => simple(D::Date, Date::builder()),
            "time" => simple(D::Time, Time::builder()),
            "datetime" => simple(D::Timestamp, Timestamp::builder()),
            "timestamp" => simple(D::TimestampTz, Timestamp::builder()),
            _ => None,
        },
        Dialect::Sqlite => {
            // Declared types, then SQLite's affinity rules.
            match base.as_str() {
                "boolean" | "bool" => return simple(D::Bool, SchemaBuilder::boolean()),
                "date" => return simple(D::Date, Date::builder()),
                "time" => return simple(D::Time, Time::builder()),
                "datetime" | "timestamp" => return simple(D::Timestamp, Timestamp::builder()),
                "decimal" | "numeric" => {
                    let (p, s) = declared_precision(&t);
                    return if p.is_some() {
                        Some(numeric(p, s, mapping))
                    } else {
                        simple(D::F64, SchemaBuilder::float64())
                    };
                }
                _ => {}
            }
            if t.contains("int") {
                simple(D::I64, SchemaBuilder::int64())
            } else if t.contains("char") || t.contains("clob") || t.contains("text") {
                simple(D::Text, SchemaBuilder::string())
            } else if t.contains("blob") || t.is_empty() {
                simple(D::Bytes, SchemaBuilder::bytes())
            } else {
                // REAL affinity, and NUMERIC affinity without a declared precision.
                simple(D::F64, SchemaBuilder::float64())
            }
        }
    }
}

/// Builds a source column; `None` (with a warning) when its type is not supported.
pub fn source_column(
    dialect: Dialect,
    name: &str,
    type_name: &str,
    precision: Option<i64>,
    scale: Option<i64>,
    nullable: bool,
    mapping: NumericMapping,
) -> Option<SourceColumn> {
    let Some((decoder, builder)) = column_type(dialect, type_name, precision, scale, mapping) else {
        tracing::warn!("column '{name}' of type '{type_name}' is not supported and is skipped");
        return None;
    };
    let builder = if nullable { builder.optional() } else { builder };
    let schema = builder.build().ok()?;
    Some(SourceColumn { name: name.to_string(), decoder, schema })
}

/// A decoded row: the values, and the instant of each timestamp column (for offsets, at full precision).
pub struct DecodedRow {
    /// One value per column.
    pub values: Vec<Value>,
    /// The instant of each timestamp column (`None` elsewhere and for NULLs).
    pub instants: Vec<Option<DateTime<Utc>>>,
}

fn decimal_to(decoder: Decoder, d: &BigDecimal) -> Result<Value> {
    Ok(match decoder {
        Decoder::Decimal(scale) => decimal_value(d, scale),
        Decoder::DecimalF64 => Value::Float64(d.to_f64().unwrap_or(f64::NAN)),
        Decoder::DecimalInt(bits) => {
            let n = d.to_i64().ok_or_else(|| ConnectError::data(format!("{d} does not fit in an int{bits}")))?;
            match bits {
                8 => Value::Int8(n as i8),
                16 => Value::Int16(n as i16),
                32 => Value::Int32(n as i32),
                _ => Value::Int64(n),
            }
        }
        _ => Value::Null,
    })
}

fn parse_sqlite_time(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim().trim_end_matches('Z');
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t);
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().map(|d| d.and_time(NaiveTime::MIN))
}

macro_rules! get {
    ($row:expr, $i:expr, $t:ty, $col:expr) => {
        $row.try_get_unchecked::<Option<$t>, _>($i)
            .map_err(|e| ConnectError::data(format!("cannot read column '{}': {e}", $col.name)))?
    };
}

/// Decodes a PostgreSQL row.
pub fn decode_pg(row: &sqlx::postgres::PgRow, columns: &[(usize, SourceColumn)], tz: Tz) -> Result<DecodedRow> {
    let mut values = Vec::with_capacity(columns.len());
    let mut instants = Vec::with_capacity(columns.len());
    for (i, c) in columns {
        let i = *i;
        let mut instant = None;
        let v = match c.decoder {
            Decoder::Bool => get!(row, i, bool, c).map(Value::Boolean),
            Decoder::I8 | Decoder::I16 | Decoder::U8 => get!(row, i, i16, c).map(Value::Int16),
            Decoder::I32 | Decoder::U16 => get!(row, i, i32, c).map(Value::Int32),
            Decoder::I64 | Decoder::U32 => get!(row, i, i64, c).map(Value::Int64),
            Decoder::F32 => get!(row, i, f32, c).map(Value::Float32),
            Decoder::F64 => get!(row, i, f64, c).map(Value::Float64),
            Decoder::Decimal(_) | Decoder::DecimalF64 | Decoder::DecimalInt(_) | Decoder::U64 => {
                match get!(row, i, BigDecimal, c) {
                    Some(d) => Some(decimal_to(c.decoder, &d)?),
                    None => None,
                }
            }
            Decoder::Text => get!(row, i, String, c).map(|s| Value::String(s.into())),
            Decoder::PgJson | Decoder::PgJsonb | Decoder::PgUuid => {
                let raw = row.try_get_raw(i).map_err(|e| ConnectError::data(e.to_string()))?;
                if raw.is_null() {
                    None
                } else {
                    let bytes = raw.as_bytes().map_err(|e| ConnectError::data(e.to_string()))?;
                    Some(Value::String(pg_text(c.decoder, bytes).into()))
                }
            }
            Decoder::Bytes => get!(row, i, Vec<u8>, c).map(|b| Value::Bytes(b.into())),
            Decoder::Date => get!(row, i, NaiveDate, c).map(date_value),
            Decoder::Time => get!(row, i, NaiveTime, c).map(time_value),
            Decoder::Timestamp => get!(row, i, NaiveDateTime, c).map(|t| {
                let utc = local_to_utc(t, tz);
                instant = Some(utc);
                timestamp_value(utc)
            }),
            Decoder::TimestampTz => get!(row, i, DateTime<Utc>, c).map(|t| {
                instant = Some(t);
                timestamp_value(t)
            }),
        };
        values.push(v.unwrap_or(Value::Null));
        instants.push(instant);
    }
    Ok(DecodedRow { values, instants })
}

fn pg_text(decoder: Decoder, bytes: &[u8]) -> String {
    match decoder {
        // Binary jsonb starts with a version byte.
        Decoder::PgJsonb => String::from_utf8_lossy(bytes.get(1..).unwrap_or_default()).into_owned(),
        Decoder::PgUuid if bytes.len() == 16 => {
            let h: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
        }
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Decodes a MySQL/MariaDB row.
pub fn decode_mysql(row: &sqlx::mysql::MySqlRow, columns: &[(usize, SourceColumn)], tz: Tz) -> Result<DecodedRow> {
    let mut values = Vec::with_capacity(columns.len());
    let mut instants = Vec::with_capacity(columns.len());
    for (i, c) in columns {
        let i = *i;
        let mut instant = None;
        let v = match c.decoder {
            Decoder::Bool => get!(row, i, i64, c).map(|n| Value::Boolean(n != 0)),
            Decoder::I8 => get!(row, i, i8, c).map(Value::Int8),
            Decoder::I16 => get!(row, i, i16, c).map(Value::Int16),
            Decoder::I32 => get!(row, i, i32, c).map(Value::Int32),
            Decoder::I64 => get!(row, i, i64, c).map(Value::Int64),
            Decoder::U8 => get!(row, i, u8, c).map(|n| Value::Int16(n.into())),
            Decoder::U16 => get!(row, i, u16, c).map(|n| Value::Int32(n.into())),
            Decoder::U32 => get!(row, i, u32, c).map(|n| Value::Int64(n.into())),
            Decoder::U64 => get!(row, i, u64, c).map(|n| decimal_value(&BigDecimal::from(n), 0)),
            Decoder::F32 => get!(row, i, f32, c).map(Value::Float32),
            Decoder::F64 => get!(row, i, f64, c).map(Value::Float64),
            Decoder::Decimal(_) | Decoder::DecimalF64 | Decoder::DecimalInt(_) => match get!(row, i, BigDecimal, c) {
                Some(d) => Some(decimal_to(c.decoder, &d)?),
                None => None,
            },
            Decoder::Text | Decoder::PgJson | Decoder::PgJsonb | Decoder::PgUuid => {
                get!(row, i, String, c).map(|s| Value::String(s.into()))
            }
            Decoder::Bytes => get!(row, i, Vec<u8>, c).map(|b| Value::Bytes(b.into())),
            Decoder::Date => get!(row, i, NaiveDate, c).map(date_value),
            Decoder::Time => get!(row, i, NaiveTime, c).map(time_value),
            Decoder::Timestamp => get!(row, i, NaiveDateTime, c).map(|t| {
                let utc = local_to_utc(t, tz);
                instant = Some(utc);
                timestamp_value(utc)
            }),
            // The session time zone is UTC: TIMESTAMP values arrive as UTC wall-clock time.
            Decoder::TimestampTz => get!(row, i, NaiveDateTime, c).map(|t| {
                let utc = t.and_utc();
                instant = Some(utc);
                timestamp_value(utc)
            }),
        };
        values.push(v.unwrap_or(Value::Null));
        instants.push(instant);
    }
    Ok(DecodedRow { values, instants })
}

/// Decodes a SQLite row (dynamic types: values are converted by SQLite's own rules).
pub fn decode_sqlite(row: &sqlx::sqlite::SqliteRow, columns: &[(usize, SourceColumn)], tz: Tz) -> Result<DecodedRow> {
    let mut values = Vec::with_capacity(columns.len());
    let mut instants = Vec::with_capacity(columns.len());
    for (i, c) in columns {
        let i = *i;
        let mut instant = None;
        let raw = row.try_get_raw(i).map_err(|e| ConnectError::data(e.to_string()))?;
        if raw.is_null() {
            values.push(Value::Null);
            instants.push(None);
            continue;
        }
        let storage = raw.type_info().name().to_ascii_uppercase();
        let v = match c.decoder {
            Decoder::Bool => Value::Boolean(get!(row, i, i64, c).unwrap_or(0) != 0),
            Decoder::I8 | Decoder::I16 | Decoder::I32 | Decoder::I64 | Decoder::U8 | Decoder::U16 | Decoder::U32 => {
                Value::Int64(get!(row, i, i64, c).unwrap_or(0))
            }
            Decoder::F32 | Decoder::F64 => Value::Float64(get!(row, i, f64, c).unwrap_or(0.0)),
            Decoder::Decimal(_) | Decoder::DecimalF64 | Decoder::DecimalInt(_) | Decoder::U64 => {
                let text = get!(row, i, String, c).unwrap_or_default();
                let d: BigDecimal = text
                    .parse()
                    .map_err(|e| ConnectError::data(format!("column '{}': '{text}' is not a number: {e}", c.name)))?;
                decimal_to(c.decoder, &d)?
            }
            Decoder::Text | Decoder::PgJson | Decoder::PgJsonb | Decoder::PgUuid => {
                Value::String(get!(row, i, String, c).unwrap_or_default().into())
            }
            Decoder::Bytes => Value::Bytes(get!(row, i, Vec<u8>, c).unwrap_or_default().into()),
            Decoder::Date | Decoder::Time | Decoder::Timestamp | Decoder::TimestampTz => {
                let utc = if storage == "INTEGER" {
                    // Epoch milliseconds (how the Java SQLite driver stores dates by default).
                    DateTime::<Utc>::from_timestamp_millis(get!(row, i, i64, c).unwrap_or(0))
                } else {
                    let text = get!(row, i, String, c).unwrap_or_default();
                    if c.decoder == Decoder::Time {
                        NaiveTime::parse_from_str(&text, "%H:%M:%S%.f")
                            .ok()
                            .map(|t| NaiveDate::default().and_time(t).and_utc())
                    } else {
                        parse_sqlite_time(&text).map(|t| local_to_utc(t, tz))
                    }
                }
                .ok_or_else(|| ConnectError::data(format!("column '{}': not a date/time value", c.name)))?;
                match c.decoder {
                    Decoder::Date => date_value(utc.date_naive()),
                    Decoder::Time => time_value(utc.time()),
                    _ => {
                        instant = Some(utc);
                        timestamp_value(utc)
                    }
                }
            }
        };
        values.push(v);
        instants.push(instant);
    }
    Ok(DecodedRow { values, instants })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(d: Dialect, t: &str, p: Option<i64>, s: Option<i64>, m: NumericMapping) -> (Decoder, Schema) {
        let (dec, b) = column_type(d, t, p, s, m).unwrap();
        (dec, b.build().unwrap())
    }

    #[test]
    fn numeric_mapping_follows_the_java_rules() {
        use NumericMapping::*;
        let pg = Dialect::Postgres;
        let decimal = schema(pg, "numeric", Some(10), Some(2), None).1;
        assert_eq!(decimal.name(), Some(Decimal::LOGICAL_NAME));
        assert_eq!(decimal.parameter("scale"), Some("2"));
        assert_eq!(decimal.parameter("connect.decimal.precision"), Some("10"));
        assert_eq!(schema(pg, "numeric", Some(9), Some(0), PrecisionOnly).1, Schema::int32());
        assert_eq!(schema(pg, "numeric", Some(2), Some(0), PrecisionOnly).1, Schema::int8());
        assert_eq!(schema(pg, "numeric", Some(10), Some(2), PrecisionOnly).1.name(), Some(Decimal::LOGICAL_NAME));
        assert_eq!(schema(pg, "numeric", Some(10), Some(2), BestFit).1, Schema::float64());
        assert_eq!(schema(pg, "numeric", Some(18), Some(0), BestFit).1, Schema::int64());
        assert_eq!(schema(pg, "numeric", Some(30), Some(2), BestFit).1.name(), Some(Decimal::LOGICAL_NAME));
        assert_eq!(schema(pg, "numeric", Some(30), Some(2), BestFitEagerDouble).1, Schema::float64());
    }

    #[test]
    fn types_per_dialect() {
        let n = NumericMapping::None;
        assert_eq!(schema(Dialect::Postgres, "timestamp with time zone", None, None, n).0, Decoder::TimestampTz);
        assert!(Timestamp::is(&schema(Dialect::Postgres, "timestamp without time zone", None, None, n).1));
        assert_eq!(schema(Dialect::Postgres, "character varying", None, None, n).1, Schema::string());
        assert_eq!(schema(Dialect::Postgres, "bytea", None, None, n).1, Schema::bytes());
        assert_eq!(schema(Dialect::MySql, "tinyint(1)", None, None, n).1, Schema::boolean());
        assert_eq!(schema(Dialect::MySql, "int(10) unsigned", None, None, n).1, Schema::int64());
        assert_eq!(schema(Dialect::MySql, "int(11)", None, None, n).1, Schema::int32());
        assert_eq!(Decimal::scale(&schema(Dialect::MySql, "decimal(10,3)", None, None, n).1).unwrap(), 3);
        assert!(Date::is(&schema(Dialect::MySql, "date", None, None, n).1));
        assert_eq!(schema(Dialect::Sqlite, "INTEGER", None, None, n).1, Schema::int64());
        assert_eq!(schema(Dialect::Sqlite, "VARCHAR(20)", None, None, n).1, Schema::string());
        assert_eq!(schema(Dialect::Sqlite, "TIMESTAMP", None, None, n).0, Decoder::Timestamp);
        assert!(column_type(Dialect::Postgres, "ARRAY", None, None, n).is_none());
    }

    #[test]
    fn sqlite_time_formats() {
        assert_eq!(parse_sqlite_time("2024-01-02 03:04:05.678").unwrap().to_string(), "2024-01-02 03:04:05.678");
        assert_eq!(parse_sqlite_time("2024-01-02T03:04:05Z").unwrap().to_string(), "2024-01-02 03:04:05");
        assert_eq!(parse_sqlite_time("2024-01-02").unwrap().to_string(), "2024-01-02 00:00:00");
    }
}
