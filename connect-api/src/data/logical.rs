//! Kafka Connect's logical types: named schemas on top of a physical type.
//!
//! | type | name | physical value |
//! |---|---|---|
//! | [`Decimal`] | `org.apache.kafka.connect.data.Decimal` | `Bytes`: big-endian two's-complement unscaled value; parameter `scale` |
//! | [`Date`] | `org.apache.kafka.connect.data.Date` | `Int32`: days since 1970-01-01 |
//! | [`Time`] | `org.apache.kafka.connect.data.Time` | `Int32`: milliseconds since midnight |
//! | [`Timestamp`] | `org.apache.kafka.connect.data.Timestamp` | `Int64`: milliseconds since the epoch |

use crate::data::{Schema, SchemaBuilder, SchemaType, Value};
use crate::error::{ConnectError, Result};

/// Arbitrary-precision decimal numbers with a fixed scale.
///
/// ```
/// use connect_api::data::logical::Decimal;
///
/// let schema = Decimal::schema(2);
/// let price = Decimal::from_unscaled(-12345);
/// assert_eq!(Decimal::to_plain_string(price.as_bytes().unwrap(), 2), "-123.45");
/// assert_eq!(Decimal::parse("-123.45", 2).unwrap(), price);
/// assert_eq!(Decimal::scale(&schema).unwrap(), 2);
/// ```
pub struct Decimal;

impl Decimal {
    /// The schema name of decimals.
    pub const LOGICAL_NAME: &'static str = "org.apache.kafka.connect.data.Decimal";
    /// The schema parameter holding the scale.
    pub const SCALE_FIELD: &'static str = "scale";

    /// A builder for a decimal schema with `scale` (version 1, as Kafka Connect's `Decimal.builder`).
    pub fn builder(scale: i32) -> SchemaBuilder {
        SchemaBuilder::bytes().name(Self::LOGICAL_NAME).parameter(Self::SCALE_FIELD, scale.to_string()).version(1)
    }

    /// The required decimal schema with `scale`.
    pub fn schema(scale: i32) -> Schema {
        Self::builder(scale).build().expect("decimal schemas are valid")
    }

    /// The scale of a decimal schema.
    pub fn scale(schema: &Schema) -> Result<i32> {
        schema
            .parameter(Self::SCALE_FIELD)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| ConnectError::data("Invalid Decimal schema: scale parameter not found."))
    }

    /// The value of an unscaled integer, in the minimal two's-complement bytes Java's `BigInteger.toByteArray` gives.
    pub fn from_unscaled(unscaled: i128) -> Value {
        let bytes = unscaled.to_be_bytes();
        let mut start = 0;
        // Drop leading bytes that only repeat the sign.
        while start < 15 {
            let (b, next) = (bytes[start], bytes[start + 1]);
            if (b == 0x00 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
                start += 1;
            } else {
                break;
            }
        }
        Value::from(&bytes[start..])
    }

    /// The unscaled value of decimal bytes, when it fits in an `i128`.
    pub fn to_unscaled(bytes: &[u8]) -> Option<i128> {
        if bytes.is_empty() || bytes.len() > 16 {
            return None;
        }
        let fill = if bytes[0] & 0x80 != 0 { 0xff } else { 0x00 };
        let mut full = [fill; 16];
        full[16 - bytes.len()..].copy_from_slice(bytes);
        Some(i128::from_be_bytes(full))
    }

    /// The decimal digits of the unscaled value, with a leading `-` when negative (any length).
    pub fn unscaled_digits(bytes: &[u8]) -> String {
        let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
        // Magnitude as big-endian bytes: two's complement negation when negative.
        let mut mag: Vec<u8> = bytes.to_vec();
        if negative {
            for b in mag.iter_mut() {
                *b = !*b;
            }
            for b in mag.iter_mut().rev() {
                let (v, carry) = b.overflowing_add(1);
                *b = v;
                if !carry {
                    break;
                }
            }
        }
        // Repeated division by 10^9 over base-256 digits.
        let mut chunks = Vec::new();
        let mut num: Vec<u8> = mag.into_iter().skip_while(|b| *b == 0).collect();
        while !num.is_empty() {
            let mut rem: u64 = 0;
            let mut quotient = Vec::with_capacity(num.len());
            for b in &num {
                let cur = (rem << 8) | u64::from(*b);
                let q = cur / 1_000_000_000;
                rem = cur % 1_000_000_000;
                if !(quotient.is_empty() && q == 0) {
                    quotient.push(q as u8);
                }
            }
            chunks.push(rem as u32);
            num = quotient;
        }
        let mut out = String::new();
        if negative {
            out.push('-');
        }
        match chunks.split_last() {
            None => out.push('0'),
            Some((most, rest)) => {
                out.push_str(&most.to_string());
                for c in rest.iter().rev() {
                    out.push_str(&format!("{c:09}"));
                }
            }
        }
        out
    }

    /// The decimal as Java's `BigDecimal.toString` writes it (scientific notation for very small numbers), which
    /// is what Kafka Connect's JsonConverter emits with `decimal.format=NUMERIC`.
    ///
    /// ```
    /// use connect_api::data::logical::Decimal;
    /// assert_eq!(Decimal::to_java_string(Decimal::from_unscaled(1).as_bytes().unwrap(), 8), "1E-8");
    /// assert_eq!(Decimal::to_java_string(Decimal::from_unscaled(1).as_bytes().unwrap(), 3), "0.001");
    /// ```
    pub fn to_java_string(bytes: &[u8], scale: i32) -> String {
        let mut out = String::new();
        let _ = Self::write_java_string(&mut out, bytes, scale);
        out
    }

    /// Writes what [`Decimal::to_java_string`] returns, without allocating for values of up to 16 bytes.
    pub fn write_java_string(out: &mut impl std::fmt::Write, bytes: &[u8], scale: i32) -> std::fmt::Result {
        let mut small = [0u8; 40];
        let long;
        let (negative, digits): (bool, &str) = match Self::to_unscaled(bytes) {
            Some(unscaled) => {
                let mut cursor = std::io::Cursor::new(&mut small[..]);
                let _ = std::io::Write::write_fmt(&mut cursor, format_args!("{}", unscaled.unsigned_abs()));
                let len = cursor.position() as usize;
                (unscaled < 0, std::str::from_utf8(&small[..len]).unwrap_or("0"))
            }
            None => {
                long = Self::unscaled_digits(bytes);
                match long.strip_prefix('-') {
                    Some(d) => (true, d),
                    None => (false, long.as_str()),
                }
            }
        };
        if negative {
            out.write_char('-')?;
        }
        let adjusted = -(scale as i64) + (digits.len() as i64 - 1);
        if scale >= 0 && adjusted >= -6 {
            let scale = scale as usize;
            if scale == 0 {
                return out.write_str(digits);
            }
            if digits.len() > scale {
                let (int, frac) = digits.split_at(digits.len() - scale);
                return write!(out, "{int}.{frac}");
            }
            out.write_str("0.")?;
            for _ in digits.len()..scale {
                out.write_char('0')?;
            }
            return out.write_str(digits);
        }
        out.write_str(&digits[..1])?;
        if digits.len() > 1 {
            write!(out, ".{}", &digits[1..])?;
        }
        let sign = if adjusted >= 0 { "+" } else { "" };
        write!(out, "E{sign}{adjusted}")
    }

    /// The decimal in plain notation (`BigDecimal.toPlainString`).
    pub fn to_plain_string(bytes: &[u8], scale: i32) -> String {
        let digits = Self::unscaled_digits(bytes);
        let (sign, digits) = match digits.strip_prefix('-') {
            Some(d) => ("-", d.to_string()),
            None => ("", digits),
        };
        if scale <= 0 {
            let zeros = if digits == "0" { 0 } else { (-scale) as usize };
            return format!("{sign}{digits}{}", "0".repeat(zeros));
        }
        format!("{sign}{}", place_point(&digits, scale as usize))
    }

    /// Parses a decimal number (plain or with an exponent) and rescales it to `scale`; digits lost by rescaling are
    /// an error, as Java's `BigDecimal.setScale` without rounding.
    pub fn parse(text: &str, scale: i32) -> Result<Value> {
        let bad = || ConnectError::data(format!("Invalid decimal \"{text}\""));
        let t = text.trim();
        let (t, exp) = match t.find(['e', 'E']) {
            Some(i) => (&t[..i], t[i + 1..].parse::<i64>().map_err(|_| bad())?),
            None => (t, 0),
        };
        let (negative, t) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        if int.is_empty() && frac.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let mut digits = format!("{int}{frac}");
        let mut value_scale = frac.len() as i64 - exp;
        let target = scale as i64;
        while value_scale < target {
            digits.push('0');
            value_scale += 1;
        }
        while value_scale > target {
            if !digits.ends_with('0') {
                return Err(ConnectError::data(format!("Decimal \"{text}\" does not fit scale {scale}")));
            }
            digits.pop();
            value_scale -= 1;
        }
        Ok(Value::Bytes(digits_to_twos_complement(&digits, negative).into()))
    }
}

fn place_point(digits: &str, scale: usize) -> String {
    if scale == 0 {
        return digits.to_string();
    }
    if digits.len() > scale {
        let (i, f) = digits.split_at(digits.len() - scale);
        format!("{i}.{f}")
    } else {
        format!("0.{}{}", "0".repeat(scale - digits.len()), digits)
    }
}

/// Decimal digits to the minimal big-endian two's complement bytes.
fn digits_to_twos_complement(digits: &str, negative: bool) -> Vec<u8> {
    // Base-256 magnitude, little-endian while building.
    let mut mag: Vec<u8> = vec![0];
    for d in digits.bytes() {
        let mut carry = u32::from(d - b'0');
        for b in mag.iter_mut() {
            let v = u32::from(*b) * 10 + carry;
            *b = v as u8;
            carry = v >> 8;
        }
        while carry > 0 {
            mag.push(carry as u8);
            carry >>= 8;
        }
    }
    while mag.len() > 1 && *mag.last().unwrap_or(&1) == 0 {
        mag.pop();
    }
    let zero = mag.iter().all(|b| *b == 0);
    // Room for the sign bit.
    if mag.last().is_some_and(|b| b & 0x80 != 0) {
        mag.push(0);
    }
    if negative && !zero {
        for b in mag.iter_mut() {
            *b = !*b;
        }
        for b in mag.iter_mut() {
            let (v, carry) = b.overflowing_add(1);
            *b = v;
            if !carry {
                break;
            }
        }
        // Drop redundant 0xff sign bytes (keep one when the next byte would read as positive).
        while mag.len() > 1 && mag[mag.len() - 1] == 0xff && mag[mag.len() - 2] & 0x80 != 0 {
            mag.pop();
        }
    }
    mag.reverse();
    mag
}

macro_rules! temporal {
    ($(#[$doc:meta])* $name:ident, $logical:literal, $builder:ident, $ty:ident) => {
        $(#[$doc])*
        pub struct $name;

        impl $name {
            /// The schema name of this logical type.
            pub const LOGICAL_NAME: &'static str = $logical;

            /// A builder for this logical type's schema (version 1, as Kafka Connect's).
            pub fn builder() -> SchemaBuilder {
                SchemaBuilder::$builder().name(Self::LOGICAL_NAME).version(1)
            }

            /// The required schema of this logical type.
            pub fn schema() -> Schema {
                Self::builder().build().expect("logical schemas are valid")
            }

            /// Whether `schema` is this logical type.
            pub fn is(schema: &Schema) -> bool {
                schema.name() == Some(Self::LOGICAL_NAME) && schema.schema_type() == SchemaType::$ty
            }
        }
    };
}

temporal!(
    /// A calendar date: `Int32` days since 1970-01-01.
    ///
    /// ```
    /// use connect_api::data::logical::Date;
    /// assert!(Date::is(&Date::schema()));
    /// ```
    Date,
    "org.apache.kafka.connect.data.Date",
    int32,
    Int32
);
temporal!(
    /// A time of day: `Int32` milliseconds since midnight.
    ///
    /// ```
    /// use connect_api::data::logical::Time;
    /// assert_eq!(Time::schema().version(), Some(1));
    /// ```
    Time,
    "org.apache.kafka.connect.data.Time",
    int32,
    Int32
);
temporal!(
    /// An instant: `Int64` milliseconds since the epoch.
    ///
    /// ```
    /// use connect_api::data::logical::Timestamp;
    /// assert_eq!(Timestamp::schema().name(), Some(Timestamp::LOGICAL_NAME));
    /// ```
    Timestamp,
    "org.apache.kafka.connect.data.Timestamp",
    int64,
    Int64
);

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(v: &Value) -> Vec<u8> {
        v.as_bytes().unwrap().to_vec()
    }

    #[test]
    fn unscaled_bytes_are_minimal_twos_complement() {
        assert_eq!(bytes(&Decimal::from_unscaled(0)), [0]);
        assert_eq!(bytes(&Decimal::from_unscaled(127)), [0x7f]);
        assert_eq!(bytes(&Decimal::from_unscaled(128)), [0x00, 0x80]);
        assert_eq!(bytes(&Decimal::from_unscaled(-1)), [0xff]);
        assert_eq!(bytes(&Decimal::from_unscaled(-128)), [0x80]);
        assert_eq!(bytes(&Decimal::from_unscaled(-129)), [0xff, 0x7f]);
        for v in [0i128, 1, -1, 127, 128, -128, -129, 255, 256, 65535, -65536, i64::MAX.into(), i128::MIN] {
            assert_eq!(Decimal::to_unscaled(&bytes(&Decimal::from_unscaled(v))), Some(v), "{v}");
            assert_eq!(Decimal::unscaled_digits(&bytes(&Decimal::from_unscaled(v))), v.to_string());
        }
    }

    #[test]
    fn parse_matches_from_unscaled() {
        for (text, scale, unscaled) in
            [("1.5", 2, 150i128), ("-0.01", 2, -1), ("0", 0, 0), ("1e3", 0, 1000), ("-128", 0, -128), ("-129", 0, -129)]
        {
            assert_eq!(Decimal::parse(text, scale).unwrap(), Decimal::from_unscaled(unscaled), "{text}");
        }
        assert!(Decimal::parse("1.234", 2).is_err());
        assert!(Decimal::parse("abc", 2).is_err());
        let big = "123456789012345678901234567890123456789012345678901234567890";
        let v = Decimal::parse(big, 0).unwrap();
        assert_eq!(Decimal::unscaled_digits(v.as_bytes().unwrap()), big);
        let neg = Decimal::parse(&format!("-{big}"), 0).unwrap();
        assert_eq!(Decimal::unscaled_digits(neg.as_bytes().unwrap()), format!("-{big}"));
    }

    #[test]
    fn java_strings() {
        let b = |v: i128| bytes(&Decimal::from_unscaled(v));
        assert_eq!(Decimal::to_java_string(&b(12345), 2), "123.45");
        assert_eq!(Decimal::to_java_string(&b(-5), 3), "-0.005");
        assert_eq!(Decimal::to_java_string(&b(123), -2), "1.23E+4");
        assert_eq!(Decimal::to_java_string(&b(0), 0), "0");
        assert_eq!(Decimal::to_plain_string(&b(123), -2), "12300");
    }
}
