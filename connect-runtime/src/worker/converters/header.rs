//! `SimpleHeaderConverter`: writes header values as text (Kafka's `Values.convertToString`) and infers a schema when
//! reading header text back (the scalar part of Kafka's `Values.parseString`), as Kafka's
//! `org.apache.kafka.connect.storage.SimpleHeaderConverter`, Kafka Connect's default header converter.
//! It must never fail on header bytes it cannot interpret: anything not recognised is returned as a string.

use std::io::Write;

use base64::Engine;
use connect_api::data::logical::{Date, Decimal, Time, Timestamp};
use connect_api::{Result, Schema, Value};

use super::{
    civil_from_millis, days_from_civil, logical_of, temporal_millis, HeaderConverter, Logical, MILLIS_PER_DAY,
};

/// Kafka Connect's default header converter; it has no settings.
#[derive(Clone, Copy, Debug, Default)]
pub struct SimpleHeaderConverter;

impl SimpleHeaderConverter {
    /// A new converter.
    pub fn new() -> Self {
        SimpleHeaderConverter
    }
}

impl HeaderConverter for SimpleHeaderConverter {
    fn from_connect_header(
        &mut self,
        _topic: &str,
        _key: &str,
        schema: Option<&Schema>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool> {
        if value.is_null() {
            return Ok(false);
        }
        append(schema, value, false, out);
        Ok(true)
    }

    fn to_connect_header(&mut self, _topic: &str, _key: &str, bytes: Option<&[u8]>) -> Result<(Option<Schema>, Value)> {
        Ok(match bytes {
            None => (None, Value::Null),
            Some(b) => parse_string(&super::utf8_lossy(b)),
        })
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Values.convertToString
// ---------------------------------------------------------------------------------------------------------------

/// Appends `value` as Kafka's `Values.append(sb, value, embedded)` does. Logical values (which Kafka holds as
/// `BigDecimal` / `java.util.Date`) are recognised from their schema; dates are formatted in UTC (Kafka uses the
/// JVM's default time zone, UTC on a standard worker).
fn append(schema: Option<&Schema>, value: &Value, embedded: bool, out: &mut Vec<u8>) {
    if let Some(logical) = schema.and_then(logical_of) {
        if logical == Logical::Decimal {
            if let (Value::Bytes(b), Some(scale)) = (value, schema.and_then(|s| Decimal::scale(s).ok())) {
                if !b.is_empty() {
                    out.extend_from_slice(Decimal::to_java_string(b, scale).as_bytes());
                    return;
                }
            }
        } else if let Some(millis) = temporal_millis(logical, value) {
            write_iso_date(millis, out);
            return;
        }
    }
    // `write!` into a Vec<u8> cannot fail.
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::String(s) if embedded => write_quoted(s, out),
        Value::String(s) => out.extend_from_slice(s.as_bytes()),
        Value::Bytes(b) => {
            if embedded {
                out.push(b'"');
            }
            let start = out.len();
            out.resize(start + base64::encoded_len(b.len(), true).unwrap_or(0), 0);
            let written = base64::engine::general_purpose::STANDARD.encode_slice(b, &mut out[start..]).unwrap_or(0);
            out.truncate(start + written);
            if embedded {
                out.push(b'"');
            }
        }
        Value::Array(items) => {
            let element = schema.and_then(Schema::value_schema);
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                append(element, item, true, out);
            }
            out.push(b']');
        }
        Value::Map(entries) => {
            let (ks, vs) = (schema.and_then(Schema::key_schema), schema.and_then(Schema::value_schema));
            out.push(b'{');
            for (i, e) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                append(ks, &e.key, true, out);
                out.push(b':');
                append(vs, &e.value, true, out);
            }
            out.push(b'}');
        }
        Value::Struct(s) => {
            out.push(b'{');
            for (i, field) in s.schema().fields().iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_quoted(field.name(), out);
                out.push(b':');
                // Kafka reads fields with Struct.get, which substitutes the field's default for null.
                append(Some(field.schema()), s.get(field.name()).unwrap_or(&Value::Null), true, out);
            }
            out.push(b'}');
        }
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

/// An embedded string as Kafka's `Values.escape` writes it: quoted, with `\\` and `"` backslash-escaped.
fn write_quoted(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in s.bytes() {
        if c == b'\\' || c == b'"' {
            out.push(b'\\');
        }
        out.push(c);
    }
    out.push(b'"');
}

/// Kafka's `Values.dateFormatFor(date).format(date)`: a time of day for instants before 1970-01-02 (including all
/// negative ones), a date for instants at midnight, a timestamp otherwise.
fn write_iso_date(millis: i64, out: &mut Vec<u8>) {
    let c = civil_from_millis(millis);
    if millis < MILLIS_PER_DAY {
        let _ = write!(out, "{:02}:{:02}:{:02}.{:03}Z", c.hour, c.minute, c.second, c.milli);
    } else if millis % MILLIS_PER_DAY == 0 {
        let _ = write!(out, "{:04}-{:02}-{:02}", c.year, c.month, c.day);
    } else {
        let _ = write!(
            out,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            c.year, c.month, c.day, c.hour, c.minute, c.second, c.milli
        );
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Values.parseString (scalar subset)
// ---------------------------------------------------------------------------------------------------------------

/// Kafka's `Values.parseString` for a whole header value, limited to what headers commonly carry.
///
/// Implemented as Kafka does: `null` → no schema and null; `true` / `false` (whole value, surrounding whitespace
/// ignored) → BOOLEAN; a first token (text up to the first unescaped `: , { } [ ] "`) that is a number → the smallest
/// of INT8/INT16/INT32/INT64 when it is a whole number within ±1E19 (so `1.0` is INT8 and, as in Kafka, `10,000` is
/// INT8 10), otherwise FLOAT32 / FLOAT64 when it has a fractional scale and is finite as a float (precision may be
/// lost, as in Kafka), otherwise a Decimal with the number's scale; ISO-8601 `yyyy-MM-dd`, `HH:mm:ss.SSS'Z'` and
/// `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'` → Date, Time, Timestamp (UTC); anything else, including quoted text (the quotes
/// are kept, as Kafka keeps them at the top level), → STRING with the whole original text.
///
/// Left out: arrays (`[..]`) and maps (`{..}`), which Kafka parses into ARRAY / MAP values with inferred element
/// schemas, are returned as STRING text here; temporal text is parsed strictly (Kafka's `SimpleDateFormat` is
/// lenient, e.g. it accepts `25:00:00.000Z` or a trailing extra character); numbers written with non-ASCII digits
/// or with more than 1000 digits are not recognised (they stay STRING).
fn parse_string(text: &str) -> (Option<Schema>, Value) {
    let string = || (Some(Schema::string()), Value::from(text));
    if text.is_empty() {
        return string();
    }
    match java_trim(text) {
        "null" => return (None, Value::Null),
        "true" => return (Some(Schema::boolean()), Value::Boolean(true)),
        "false" => return (Some(Schema::boolean()), Value::Boolean(false)),
        _ => {}
    }
    let Some(first) = Tokens::new(text).find(|&(s, e)| !is_blank(&text[s..e])) else {
        return string(); // only whitespace
    };
    let token = java_trim(&text[first.0..first.1]);
    let Some(c) = token.bytes().next() else {
        return string();
    };
    if c.is_ascii_digit() {
        // A time or timestamp is split into five tokens by its unescaped colons.
        let mut rest = Tokens::at(text, first.1);
        if let Some((_, end)) = (0..4).map(|_| rest.next()).last().flatten() {
            if let Some(found) = parse_temporal(&format!("{token}{}", &text[first.1..end])) {
                return found;
            }
        }
        if let Some(found) = parse_temporal(token) {
            return found;
        }
    }
    if c.is_ascii_digit() || c == b'+' || c == b'-' {
        if let Some(found) = parse_number(token) {
            return found;
        }
    }
    string()
}

/// Java's `String.trim()`: strips chars up to U+0020 at both ends.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// Kafka's `Utils.isBlank`: empty or only whitespace after trimming.
fn is_blank(s: &str) -> bool {
    java_trim(s).is_empty()
}

/// The tokens of Kafka's `Values.Parser`: runs of text between unescaped delimiters, and each delimiter alone.
struct Tokens<'a> {
    text: &'a [u8],
    pos: usize,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Self {
        Self::at(text, 0)
    }

    fn at(text: &'a str, pos: usize) -> Self {
        Tokens { text: text.as_bytes(), pos }
    }
}

impl Iterator for Tokens<'_> {
    /// Byte range of the token.
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        let start = self.pos;
        if start >= self.text.len() {
            return None;
        }
        let mut escaped = false;
        let mut i = start;
        while i < self.text.len() {
            match self.text[i] {
                b'\\' => escaped = !escaped,
                b':' | b',' | b'{' | b'}' | b'[' | b']' | b'"' if !escaped => {
                    self.pos = if start < i { i } else { i + 1 };
                    return Some((start, self.pos));
                }
                _ => escaped = false,
            }
            i += 1;
        }
        self.pos = i;
        Some((start, i))
    }
}

/// Strict ISO-8601 parsing of Kafka's three temporal literals (after un-escaping `\:`), in UTC.
fn parse_temporal(token: &str) -> Option<(Option<Schema>, Value)> {
    let token = token.replace("\\:", ":");
    let b = token.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(range)?;
        if part.iter().all(u8::is_ascii_digit) {
            part.iter().try_fold(0u32, |acc, d| acc.checked_mul(10)?.checked_add(u32::from(d - b'0')))
        } else {
            None
        }
    };
    let time = |at: usize| -> Option<i64> {
        if b.get(at + 2) != Some(&b':') || b.get(at + 5) != Some(&b':') || b.get(at + 8) != Some(&b'.') {
            return None;
        }
        if b.get(at + 12) != Some(&b'Z') {
            return None;
        }
        let (h, m, s, ms) = (num(at..at + 2)?, num(at + 3..at + 5)?, num(at + 6..at + 8)?, num(at + 9..at + 12)?);
        (h < 24 && m < 60 && s < 60).then(|| i64::from(((h * 60 + m) * 60 + s) * 1000 + ms))
    };
    let date = || -> Option<i64> {
        if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
            return None;
        }
        days_from_civil(i64::from(num(0..4)?), num(5..7)?, num(8..10)?)
    };
    match b.len() {
        13 => {
            let ms = time(0)?;
            Some((Some(Time::schema()), Value::Int32(i32::try_from(ms).ok()?)))
        }
        24 if b.get(10) == Some(&b'T') => {
            let ms = date()? * MILLIS_PER_DAY + time(11)?;
            Some((Some(Timestamp::schema()), Value::Int64(ms)))
        }
        10 => Some((Some(Date::schema()), Value::Int32(i32::try_from(date()?).ok()?))),
        _ => None,
    }
}

/// A number in Java's `new BigDecimal(String)` syntax: its unscaled digits (no leading zeros, "0" for zero) and scale.
struct BigDec {
    negative: bool,
    digits: String,
    scale: i64,
}

fn parse_big_decimal(s: &str) -> Option<BigDec> {
    let (negative, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (mantissa, exp) = match rest.find(['e', 'E']) {
        Some(i) => {
            let e = &rest[i + 1..];
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            (&rest[..i], i64::from(e.parse::<i32>().ok()?))
        }
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    // Like Jackson's number length limit, very long numbers are not parsed (they stay text).
    if int.len() + frac.len() == 0
        || int.len() + frac.len() > 1000
        || !int.bytes().chain(frac.bytes()).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let scale = frac.len() as i64 - exp;
    i32::try_from(scale).ok()?;
    let all = format!("{int}{frac}");
    let trimmed = all.trim_start_matches('0');
    Some(BigDec { negative, digits: if trimmed.is_empty() { "0".into() } else { trimmed.into() }, scale })
}

/// Kafka's `ValueParser.parseAsNumber`.
fn parse_number(token: &str) -> Option<(Option<Schema>, Value)> {
    let d = parse_big_decimal(token)?;
    if let Some(exact) = exact_integer(&d) {
        return Some(exact);
    }
    let normalized = format!("{}{}e{}", if d.negative { "-" } else { "" }, d.digits, -d.scale);
    if d.scale != 0 {
        if let Ok(f) = normalized.parse::<f32>() {
            if f.is_finite() {
                return Some((Some(Schema::float32()), Value::Float32(f)));
            }
        }
        if let Ok(f) = normalized.parse::<f64>() {
            if f.is_finite() {
                return Some((Some(Schema::float64()), Value::Float64(f)));
            }
        }
    }
    let scale = i32::try_from(d.scale).ok()?;
    let value = Decimal::parse(&normalized, scale).ok()?;
    Some((Some(Decimal::schema(scale)), value))
}

/// Kafka's `ValueParser.parseAsExactDecimal`: whole numbers with 1 <= |n| <= 1E19 (or zero) that fit a long, as the
/// smallest integer type.
fn exact_integer(d: &BigDec) -> Option<(Option<Schema>, Value)> {
    let value: i64 = if d.digits == "0" {
        0
    } else {
        let significant = d.digits.trim_end_matches('0');
        let trailing = (d.digits.len() - significant.len()) as i64;
        let adjusted = d.digits.len() as i64 - 1 - d.scale;
        if !(0..=19).contains(&adjusted) || (adjusted == 19 && significant != "1") || d.scale - trailing > 0 {
            return None;
        }
        // Whole: drop the `scale` trailing zeros, or append `-scale` zeros (at most 19 digits remain).
        let mut int = d.digits.clone();
        if d.scale > 0 {
            int.truncate(d.digits.len() - d.scale as usize);
        } else {
            int.extend(std::iter::repeat_n('0', (-d.scale) as usize));
        }
        let magnitude: i128 = int.parse().ok()?;
        i64::try_from(if d.negative { -magnitude } else { magnitude }).ok()?
    };
    Some(if let Ok(v) = i8::try_from(value) {
        (Some(Schema::int8()), Value::Int8(v))
    } else if let Ok(v) = i16::try_from(value) {
        (Some(Schema::int16()), Value::Int16(v))
    } else if let Ok(v) = i32::try_from(value) {
        (Some(Schema::int32()), Value::Int32(v))
    } else {
        (Some(Schema::int64()), Value::Int64(value))
    })
}

#[cfg(test)]
mod tests {
    use connect_api::{SchemaBuilder, Struct};

    use super::*;

    fn write(schema: Option<&Schema>, value: &Value) -> String {
        let mut out = Vec::new();
        assert!(SimpleHeaderConverter::new().from_connect_header("t", "h", schema, value, &mut out).unwrap());
        String::from_utf8(out).unwrap()
    }

    fn read(text: &str) -> (Option<Schema>, Value) {
        SimpleHeaderConverter::new().to_connect_header("t", "h", Some(text.as_bytes())).unwrap()
    }

    #[test]
    fn null_header_values() {
        let mut c = SimpleHeaderConverter::new();
        let mut out = Vec::new();
        assert!(!c.from_connect_header("t", "h", Some(&Schema::optional_string()), &Value::Null, &mut out).unwrap());
        assert!(out.is_empty());
        assert_eq!(c.to_connect_header("t", "h", None).unwrap(), (None, Value::Null));
        assert_eq!(read("null"), (None, Value::Null));
        assert_eq!(read(" null "), (None, Value::Null));
    }

    #[test]
    fn scalars_are_written_as_java_strings() {
        assert_eq!(write(Some(&Schema::string()), &Value::from("a \"b\" \\c")), "a \"b\" \\c");
        assert_eq!(write(None, &Value::Int8(-5)), "-5");
        assert_eq!(write(None, &Value::Int64(i64::MAX)), "9223372036854775807");
        assert_eq!(write(None, &Value::Float32(1.5)), "1.5");
        assert_eq!(write(None, &Value::Float64(1e-5)), "1.0E-5");
        assert_eq!(write(None, &Value::Boolean(false)), "false");
        assert_eq!(write(None, &Value::from(b"hello".to_vec())), "aGVsbG8=");
        assert_eq!(write(Some(&Decimal::schema(2)), &Decimal::from_unscaled(156)), "1.56");
    }

    #[test]
    fn containers_are_written_as_kafka_renders_them() {
        let arr = Value::array([Value::from("a\"b"), Value::Int32(1), Value::Null, Value::from(vec![1u8])]);
        assert_eq!(write(None, &arr), r#"["a\"b",1,null,"AQ=="]"#);
        let map = Value::map([(Value::from("k"), Value::Boolean(true)), (Value::Int32(2), Value::from("v"))]);
        assert_eq!(write(None, &map), r#"{"k":true,2:"v"}"#);
        let with_default = SchemaBuilder::int32().optional().default_value(Value::Int32(7)).build().unwrap();
        let schema = SchemaBuilder::structure()
            .field("name", Schema::string())
            .field("n", with_default)
            .field("day", Date::schema())
            .build()
            .unwrap();
        let s =
            Struct::new(schema.clone()).unwrap().with("name", "x\\y").unwrap().with("day", Value::Int32(1)).unwrap();
        assert_eq!(write(Some(&schema), &Value::Struct(s)), r#"{"name":"x\\y","n":7,"day":1970-01-02}"#);
    }

    #[test]
    fn temporal_values_use_kafkas_date_formats() {
        assert_eq!(write(Some(&Date::schema()), &Value::Int32(19_737)), "2024-01-15");
        assert_eq!(write(Some(&Time::schema()), &Value::Int32(45_045_123)), "12:30:45.123Z");
        assert_eq!(write(Some(&Timestamp::schema()), &Value::Int64(1_705_321_845_123)), "2024-01-15T12:30:45.123Z");
        // As in Kafka, instants before 1970-01-02 render as a time of day, even dates.
        assert_eq!(write(Some(&Date::schema()), &Value::Int32(0)), "00:00:00.000Z");
        assert_eq!(write(Some(&Timestamp::schema()), &Value::Int64(-1)), "23:59:59.999Z");
    }

    #[test]
    fn booleans_and_strings_are_inferred() {
        assert_eq!(read("true"), (Some(Schema::boolean()), Value::Boolean(true)));
        assert_eq!(read(" false\t"), (Some(Schema::boolean()), Value::Boolean(false)));
        assert_eq!(read(""), (Some(Schema::string()), Value::from("")));
        assert_eq!(read("   "), (Some(Schema::string()), Value::from("   ")));
        assert_eq!(read("hello world"), (Some(Schema::string()), Value::from("hello world")));
        assert_eq!(read("true}"), (Some(Schema::string()), Value::from("true}")));
        assert_eq!(read("\"quoted\""), (Some(Schema::string()), Value::from("\"quoted\"")));
        assert_eq!(read("[1,2]"), (Some(Schema::string()), Value::from("[1,2]")));
        assert_eq!(read("3.14 is pi"), (Some(Schema::string()), Value::from("3.14 is pi")));
        assert_eq!(read("-"), (Some(Schema::string()), Value::from("-")));
        let (schema, value) = SimpleHeaderConverter::new().to_connect_header("t", "h", Some(b"a\xffb")).unwrap();
        assert_eq!((schema, value), (Some(Schema::string()), Value::from("a\u{fffd}b")));
    }

    #[test]
    fn integers_get_the_smallest_type() {
        assert_eq!(read("12"), (Some(Schema::int8()), Value::Int8(12)));
        assert_eq!(read("-128"), (Some(Schema::int8()), Value::Int8(-128)));
        assert_eq!(read("128"), (Some(Schema::int16()), Value::Int16(128)));
        assert_eq!(read("+40000"), (Some(Schema::int32()), Value::Int32(40_000)));
        assert_eq!(read("-3000000000"), (Some(Schema::int64()), Value::Int64(-3_000_000_000)));
        assert_eq!(read("9223372036854775807"), (Some(Schema::int64()), Value::Int64(i64::MAX)));
        assert_eq!(read("1.0"), (Some(Schema::int8()), Value::Int8(1)));
        assert_eq!(read("1e2"), (Some(Schema::int8()), Value::Int8(100)));
        assert_eq!(read("0.000"), (Some(Schema::int8()), Value::Int8(0)));
        assert_eq!(read(" 42 "), (Some(Schema::int8()), Value::Int8(42)));
        // Kafka stops at the first delimiter.
        assert_eq!(read("10,000"), (Some(Schema::int8()), Value::Int8(10)));
    }

    #[test]
    fn other_numbers_are_floats_or_decimals() {
        assert_eq!(read("1.5"), (Some(Schema::float32()), Value::Float32(1.5)));
        assert_eq!(read("-0.25"), (Some(Schema::float32()), Value::Float32(-0.25)));
        assert_eq!(read("3.141592653589793"), (Some(Schema::float32()), Value::Float32(std::f32::consts::PI)));
        assert_eq!(read("1e-5"), (Some(Schema::float32()), Value::Float32(1e-5)));
        assert_eq!(read("1e300"), (Some(Schema::float64()), Value::Float64(1e300)));
        let (schema, value) = read("12345678901234567890");
        assert_eq!(schema, Some(Decimal::schema(0)));
        assert_eq!(Decimal::unscaled_digits(value.as_bytes().unwrap()), "12345678901234567890");
        let (schema, value) = read("1e400");
        assert_eq!(schema, Some(Decimal::schema(-400)));
        assert_eq!(Decimal::to_java_string(value.as_bytes().unwrap(), -400), "1E+400");
    }

    #[test]
    fn temporal_text_is_inferred() {
        assert_eq!(read("2024-01-15"), (Some(Date::schema()), Value::Int32(19_737)));
        assert_eq!(read("12:30:45.123Z"), (Some(Time::schema()), Value::Int32(45_045_123)));
        assert_eq!(read("2024-01-15T12:30:45.123Z"), (Some(Timestamp::schema()), Value::Int64(1_705_321_845_123)));
        assert_eq!(read("12\\:30\\:45.123Z"), (Some(Time::schema()), Value::Int32(45_045_123)));
        // Not a valid date: the first token is then read as a number, as in Kafka.
        assert_eq!(read("2024-02-30"), (Some(Schema::string()), Value::from("2024-02-30")));
        assert_eq!(read("12:30"), (Some(Schema::int8()), Value::Int8(12)));
    }

    #[test]
    fn written_scalars_read_back() {
        for (schema, value) in [
            (Schema::int16(), Value::Int16(-300)),
            (Schema::int64(), Value::Int64(1 << 40)),
            (Schema::boolean(), Value::Boolean(true)),
            (Schema::string(), Value::from("plain text")),
            (Time::schema(), Value::Int32(1)),
            (Timestamp::schema(), Value::Int64(1_705_321_845_123)),
            (Date::schema(), Value::Int32(19_737)),
        ] {
            let text = write(Some(&schema), &value);
            assert_eq!(read(&text), (Some(schema), value), "{text}");
        }
    }
}
