//! Connect values <-> SQL values: what the sink binds for a field (logical types included, timestamps shifted into
//! `db.timezone`), and the Connect value of a column the source read.

use bigdecimal::num_bigint::BigInt;
use bigdecimal::BigDecimal;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use connect_api::data::logical::{Date, Decimal, Time, Timestamp};
use connect_api::{ConnectError, Result, Schema, SchemaType, Value};

use crate::db::{Kind, SqlValue};

const EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// The kind of NULL to bind for a schema.
pub fn kind_of(schema: &Schema) -> Kind {
    match schema.name() {
        Some(Decimal::LOGICAL_NAME) => return Kind::Decimal,
        Some(Date::LOGICAL_NAME) => return Kind::Date,
        Some(Time::LOGICAL_NAME) => return Kind::Time,
        Some(Timestamp::LOGICAL_NAME) => return Kind::Timestamp,
        _ => {}
    }
    match schema.schema_type() {
        SchemaType::Int8 => Kind::I8,
        SchemaType::Int16 => Kind::I16,
        SchemaType::Int32 => Kind::I32,
        SchemaType::Int64 => Kind::I64,
        SchemaType::Float32 => Kind::F32,
        SchemaType::Float64 => Kind::F64,
        SchemaType::Boolean => Kind::Bool,
        SchemaType::Bytes => Kind::Bytes,
        _ => Kind::Text,
    }
}

/// Epoch milliseconds as the wall-clock time of `tz`.
pub fn millis_to_local(ms: i64, tz: Tz) -> Option<NaiveDateTime> {
    DateTime::<Utc>::from_timestamp_millis(ms).map(|t| t.with_timezone(&tz).naive_local())
}

/// A wall-clock time of `tz` as an instant (the earlier one when ambiguous, as Java's calendars do).
pub fn local_to_utc(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        // A time skipped by a DST jump: read it with the offset before the jump.
        chrono::LocalResult::None => (local - chrono::Duration::hours(1))
            .and_local_timezone(tz)
            .earliest()
            .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc) + chrono::Duration::hours(1)),
    }
}

/// The SQL value of a field's value (`value` is `Null` or matches `schema`). A null of a field with a default
/// binds the default (`replace.null.with.default`).
pub fn to_sql(value: &Value, schema: &Schema, tz: Tz) -> Result<SqlValue> {
    let value = match value {
        Value::Null => match schema.default_value() {
            Some(default) => default,
            None => return Ok(SqlValue::Null(kind_of(schema))),
        },
        v => v,
    };
    let bad = || ConnectError::data(format!("value {value} does not match its schema {schema}"));
    match schema.name() {
        Some(Decimal::LOGICAL_NAME) => {
            let bytes = value.as_bytes().ok_or_else(bad)?;
            let scale = Decimal::scale(schema)?;
            return Ok(SqlValue::Decimal(BigDecimal::new(BigInt::from_signed_bytes_be(bytes), scale.into())));
        }
        Some(Date::LOGICAL_NAME) => {
            let Value::Int32(days) = value else { return Err(bad()) };
            let date = NaiveDate::from_num_days_from_ce_opt(days + EPOCH_DAYS_FROM_CE).ok_or_else(bad)?;
            return Ok(SqlValue::Date(date));
        }
        Some(Time::LOGICAL_NAME) => {
            let Value::Int32(ms) = value else { return Err(bad()) };
            let ms = *ms as u32;
            let time =
                NaiveTime::from_num_seconds_from_midnight_opt(ms / 1000, (ms % 1000) * 1_000_000).ok_or_else(bad)?;
            return Ok(SqlValue::Time(time));
        }
        Some(Timestamp::LOGICAL_NAME) => {
            let Value::Int64(ms) = value else { return Err(bad()) };
            return Ok(SqlValue::Timestamp(millis_to_local(*ms, tz).ok_or_else(bad)?));
        }
        _ => {}
    }
    Ok(match value {
        Value::Int8(v) => SqlValue::I8(*v),
        Value::Int16(v) => SqlValue::I16(*v),
        Value::Int32(v) => SqlValue::I32(*v),
        Value::Int64(v) => SqlValue::I64(*v),
        Value::Float32(v) => SqlValue::F32(*v),
        Value::Float64(v) => SqlValue::F64(*v),
        Value::Boolean(v) => SqlValue::Bool(*v),
        Value::String(s) => SqlValue::Text(s.to_string()),
        Value::Bytes(b) => SqlValue::Bytes(b.to_vec()),
        other => {
            return Err(ConnectError::data(format!(
                "({}) type doesn't have a mapping to the SQL database column type",
                other.type_name()
            )))
        }
    })
}

/// A Connect Decimal value of `d` at `scale` (rescaled; digits beyond the scale are rounded half-even).
pub fn decimal_value(d: &BigDecimal, scale: i64) -> Value {
    let (digits, _) = d.with_scale_round(scale, bigdecimal::RoundingMode::HalfEven).into_bigint_and_exponent();
    Value::Bytes(digits.to_signed_bytes_be().into())
}

/// A Connect Date value.
pub fn date_value(d: NaiveDate) -> Value {
    Value::Int32(d.num_days_from_ce() - EPOCH_DAYS_FROM_CE)
}

/// A Connect Time value.
pub fn time_value(t: NaiveTime) -> Value {
    Value::Int32((t.num_seconds_from_midnight() * 1000 + t.nanosecond() / 1_000_000) as i32)
}

/// A Connect Timestamp value.
pub fn timestamp_value(t: DateTime<Utc>) -> Value {
    Value::Int64(t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_types_round_trip() {
        let tz: Tz = "UTC".parse().unwrap();
        let d = Decimal::parse("-1234.50", 2).unwrap();
        let SqlValue::Decimal(big) = to_sql(&d, &Decimal::schema(2), tz).unwrap() else { panic!() };
        assert_eq!(big.to_string(), "-1234.50");
        assert_eq!(decimal_value(&big, 2), d);
        let day = Value::Int32(19_000);
        let SqlValue::Date(date) = to_sql(&day, &Date::schema(), tz).unwrap() else { panic!() };
        assert_eq!(date.to_string(), "2022-01-08");
        assert_eq!(date_value(date), day);
        let t = Value::Int32(3_723_004);
        let SqlValue::Time(time) = to_sql(&t, &Time::schema(), tz).unwrap() else { panic!() };
        assert_eq!(time.to_string(), "01:02:03.004");
        assert_eq!(time_value(time), t);
        let ts = Value::Int64(1_700_000_000_123);
        let SqlValue::Timestamp(naive) = to_sql(&ts, &Timestamp::schema(), tz).unwrap() else { panic!() };
        assert_eq!(naive.to_string(), "2023-11-14 22:13:20.123");
        assert_eq!(timestamp_value(local_to_utc(naive, tz)), ts);
    }

    #[test]
    fn timestamps_bind_in_the_database_zone() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        let ts = Value::Int64(1_700_000_000_000);
        let SqlValue::Timestamp(naive) = to_sql(&ts, &Timestamp::schema(), paris).unwrap() else { panic!() };
        assert_eq!(naive.to_string(), "2023-11-14 23:13:20");
        assert_eq!(local_to_utc(naive, paris).timestamp_millis(), 1_700_000_000_000);
    }

    #[test]
    fn nulls_are_typed_and_defaults_replace_them() {
        let tz: Tz = "UTC".parse().unwrap();
        assert_eq!(to_sql(&Value::Null, &Schema::optional_int32(), tz).unwrap(), SqlValue::Null(Kind::I32));
        let with_default =
            connect_api::SchemaBuilder::int32().optional().default_value(Value::Int32(7)).build().unwrap();
        assert_eq!(to_sql(&Value::Null, &with_default, tz).unwrap(), SqlValue::I32(7));
        assert!(to_sql(&Value::array([Value::Int32(1)]), &Schema::optional_int32(), tz).is_err());
    }
}
