//! Kafka Connect's `Values.parseString` for the scalar forms: what InsertHeader makes of `value.literal`.
//! `null`, `true` and `false`; ISO-8601 dates (`yyyy-MM-dd`), times (`HH:mm:ss.SSS'Z'`) and timestamps
//! (`yyyy-MM-dd'T'HH:mm:ss.SSS'Z'`) in UTC; numbers as the smallest integer type that holds them, else FLOAT32,
//! FLOAT64 or a Decimal; anything else a STRING. Kafka's tokenizer is kept, so its quirks are too (`12:30`
//! parses as the INT8 `12`). Array (`[...]`) and map (`{...}`) literals stay strings here, where Kafka would
//! infer an ARRAY or MAP schema.

use connect_api::data::logical::{Date, Decimal, Time, Timestamp};
use connect_api::{Schema, Value};

use super::datefmt::{millis_to_days, DateFormat};

/// Java's `String.trim()`: strips characters up to and including the space.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// Kafka's `Values.Parser`: a tokenizer splitting on unescaped `: , { } [ ] "`.
struct Parser<'a> {
    original: &'a str,
    pos: usize,
    next_token: Option<&'a str>,
}

impl<'a> Parser<'a> {
    fn new(original: &'a str) -> Self {
        Parser { original, pos: 0, next_token: None }
    }

    fn mark(&self) -> usize {
        self.pos - self.next_token.map_or(0, str::len)
    }

    fn rewind_to(&mut self, position: usize) {
        self.pos = position;
        self.next_token = None;
    }

    fn has_more_text(&self) -> bool {
        self.pos < self.original.len()
    }

    fn has_next(&self) -> bool {
        self.next_token.is_some() || self.has_more_text()
    }

    fn next(&mut self) -> &'a str {
        match self.next_token.take() {
            Some(token) => token,
            None => self.consume_next_token(),
        }
    }

    /// The text of the next `n` tokens, or `None` (and nothing consumed) when there are fewer.
    fn next_n(&mut self, n: usize) -> Option<&'a str> {
        let start = self.mark();
        for _ in 0..n {
            if !self.has_next() {
                self.rewind_to(start);
                return None;
            }
            self.next();
        }
        self.original.get(start..self.pos)
    }

    fn consume_next_token(&mut self) -> &'a str {
        let start = self.pos;
        let mut escaped = false;
        for (offset, c) in self.original[start..].char_indices() {
            let at = start + offset;
            match c {
                '\\' => escaped = !escaped,
                ':' | ',' | '{' | '}' | '[' | ']' | '"' => {
                    if !escaped {
                        if start < at {
                            self.pos = at;
                            return &self.original[start..at];
                        }
                        self.pos = at + 1;
                        return &self.original[start..at + 1];
                    }
                    escaped = false;
                }
                _ => escaped = false,
            }
        }
        self.pos = self.original.len();
        &self.original[start..]
    }

    fn can_consume(&mut self, expected: &str) -> bool {
        if self.next_token.is_none() {
            if !self.has_next() {
                return false;
            }
            self.next_token = Some(self.consume_next_token());
        }
        while let Some(token) = self.next_token {
            if java_trim(token).is_empty() && self.has_more_text() {
                self.next_token = Some(self.consume_next_token());
            } else {
                break;
            }
        }
        if self.next_token.is_some_and(|t| java_trim(t) == expected) {
            self.next_token = None;
            return true;
        }
        false
    }

    /// Whether the input is exactly the literal `literal` (surrounding whitespace aside).
    fn is_single_token_literal(&mut self, literal: &str) -> bool {
        let start = self.mark();
        if self.can_consume(literal) && !self.has_next() {
            return true;
        }
        self.rewind_to(start);
        false
    }
}

/// Parses `text` into a schema and value as Kafka's `Values.parseString` (see the module documentation for what
/// is covered). `(None, Null)` is the `null` literal.
pub(crate) fn parse_string(text: &str) -> (Option<Schema>, Value) {
    if text.is_empty() {
        return (Some(Schema::string()), Value::from(""));
    }
    let string = || (Some(Schema::string()), Value::from(text));
    let mut parser = Parser::new(text);
    if parser.is_single_token_literal("null") {
        return (None, Value::Null);
    }
    if parser.is_single_token_literal("true") {
        return (Some(Schema::boolean()), Value::Boolean(true));
    }
    if parser.is_single_token_literal("false") {
        return (Some(Schema::boolean()), Value::Boolean(false));
    }
    let raw = parser.next();
    if java_trim(raw).is_empty() {
        return (Some(Schema::string()), Value::from(raw));
    }
    let token = java_trim(raw);
    let first = token.chars().next().unwrap_or(' ');
    if first.is_ascii_digit() {
        // Times and timestamps are split into 5 tokens by their colons.
        let position = parser.mark();
        if let Some(rest) = parser.next_n(4) {
            if let Some(temporal) = parse_temporal(&format!("{token}{rest}")) {
                return temporal;
            }
        }
        parser.rewind_to(position);
        if let Some(temporal) = parse_temporal(token) {
            return temporal;
        }
    }
    if first.is_ascii_digit() || first == '+' || first == '-' {
        if let Some(number) = parse_number(token) {
            return number;
        }
    }
    string()
}

fn parse_temporal(token: &str) -> Option<(Option<Schema>, Value)> {
    let token = token.replace("\\:", ":");
    match token.len() {
        13 => {
            let millis = DateFormat::new("HH:mm:ss.SSS'Z'").ok()?.parse(&token)?;
            let millis = i32::try_from(millis).ok().filter(|m| (0..86_400_000).contains(m))?;
            Some((Some(Time::schema()), Value::Int32(millis)))
        }
        24 => {
            let millis = DateFormat::new("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").ok()?.parse(&token)?;
            Some((Some(Timestamp::schema()), Value::Int64(millis)))
        }
        10 => {
            let millis = DateFormat::new("yyyy-MM-dd").ok()?.parse(&token)?;
            Some((Some(Date::schema()), Value::Int32(millis_to_days(millis)?)))
        }
        _ => None,
    }
}

/// A number in Java's `BigDecimal` syntax: its sign, mantissa digits and scale.
struct JavaDecimal<'a> {
    negative: bool,
    digits: String,
    scale: i64,
    text: &'a str,
}

fn big_decimal(text: &str) -> Option<JavaDecimal<'_>> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let exponent: i64 = match exponent {
        None => 0,
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            i64::from(e.parse::<i32>().ok()?)
        }
    };
    let scale = frac.len() as i64 - exponent;
    i32::try_from(scale).ok()?;
    Some(JavaDecimal { negative, digits: format!("{int}{frac}"), scale, text })
}

impl JavaDecimal<'_> {
    /// The value when it is a whole number within the `long` range.
    fn exact_long(&self) -> Option<i64> {
        let mut digits = self.digits.as_str();
        let mut scale = self.scale;
        while scale > 0 && digits.ends_with('0') {
            digits = &digits[..digits.len() - 1];
            scale -= 1;
        }
        if scale > 0 {
            return None;
        }
        let digits = digits.trim_start_matches('0');
        if digits.is_empty() {
            return Some(0);
        }
        let zeros = usize::try_from(-scale).ok()?;
        if digits.len() + zeros > 19 {
            return None;
        }
        let magnitude: i128 = format!("{digits}{}", "0".repeat(zeros)).parse().ok()?;
        i64::try_from(if self.negative { -magnitude } else { magnitude }).ok()
    }
}

fn parse_number(token: &str) -> Option<(Option<Schema>, Value)> {
    let decimal = big_decimal(token)?;
    if let Some(v) = decimal.exact_long() {
        return Some(if let Ok(b) = i8::try_from(v) {
            (Some(Schema::int8()), Value::Int8(b))
        } else if let Ok(s) = i16::try_from(v) {
            (Some(Schema::int16()), Value::Int16(s))
        } else if let Ok(i) = i32::try_from(v) {
            (Some(Schema::int32()), Value::Int32(i))
        } else {
            (Some(Schema::int64()), Value::Int64(v))
        });
    }
    if decimal.scale != 0 {
        if let Ok(f) = decimal.text.parse::<f32>() {
            if f.is_finite() {
                return Some((Some(Schema::float32()), Value::Float32(f)));
            }
        }
        if let Ok(d) = decimal.text.parse::<f64>() {
            if d.is_finite() {
                return Some((Some(Schema::float64()), Value::Float64(d)));
            }
        }
    }
    let scale = i32::try_from(decimal.scale).ok()?;
    let value = Decimal::parse(decimal.text, scale).ok()?;
    Some((Some(Decimal::schema(scale)), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> (Option<Schema>, Value) {
        parse_string(text)
    }

    fn string(text: &str) -> (Option<Schema>, Value) {
        (Some(Schema::string()), Value::from(text))
    }

    #[test]
    fn literals() {
        assert_eq!(parsed(""), string(""));
        assert_eq!(parsed("null"), (None, Value::Null));
        assert_eq!(parsed(" true "), (Some(Schema::boolean()), Value::Boolean(true)));
        assert_eq!(parsed("false"), (Some(Schema::boolean()), Value::Boolean(false)));
        assert_eq!(parsed("True"), string("True"));
        assert_eq!(parsed("true}"), string("true}"));
        assert_eq!(parsed("null:x"), string("null:x"));
        assert_eq!(parsed("hello world"), string("hello world"));
        assert_eq!(parsed("   "), string("   "));
    }

    #[test]
    fn integers_take_the_smallest_type() {
        assert_eq!(parsed("1"), (Some(Schema::int8()), Value::Int8(1)));
        assert_eq!(parsed("-128"), (Some(Schema::int8()), Value::Int8(-128)));
        assert_eq!(parsed("300"), (Some(Schema::int16()), Value::Int16(300)));
        assert_eq!(parsed("+70000"), (Some(Schema::int32()), Value::Int32(70000)));
        assert_eq!(parsed("5000000000"), (Some(Schema::int64()), Value::Int64(5_000_000_000)));
        assert_eq!(parsed("1.0"), (Some(Schema::int8()), Value::Int8(1)));
        assert_eq!(parsed("1.5e3"), (Some(Schema::int16()), Value::Int16(1500)));
        assert_eq!(parsed("0.000"), (Some(Schema::int8()), Value::Int8(0)));
        assert_eq!(parsed(" 42 "), (Some(Schema::int8()), Value::Int8(42)));
    }

    #[test]
    fn fractions_and_big_numbers() {
        assert_eq!(parsed("1.5"), (Some(Schema::float32()), Value::Float32(1.5)));
        assert_eq!(parsed("-0.25"), (Some(Schema::float32()), Value::Float32(-0.25)));
        assert_eq!(parsed("1e39"), (Some(Schema::float64()), Value::Float64(1e39)));
        assert_eq!(parsed("1e400"), (Some(Decimal::schema(-400)), Decimal::from_unscaled(1)));
        let big = "99999999999999999999";
        assert_eq!(parsed(big), (Some(Decimal::schema(0)), Decimal::parse(big, 0).unwrap()));
        assert_eq!(parsed("1.2.3"), string("1.2.3"));
        assert_eq!(parsed("-"), string("-"));
        assert_eq!(parsed("+e5"), string("+e5"));
        assert_eq!(parsed("-Infinity"), string("-Infinity"));
        assert_eq!(parsed("1e"), string("1e"));
        assert_eq!(parsed("1e99999999999"), string("1e99999999999"));
    }

    #[test]
    fn temporal_values_in_utc() {
        assert_eq!(parsed("2019-01-02"), (Some(Date::schema()), Value::Int32(17898)));
        assert_eq!(parsed("00:00:01.234Z"), (Some(Time::schema()), Value::Int32(1234)));
        assert_eq!(parsed("1970-01-02T00:00:01.234Z"), (Some(Timestamp::schema()), Value::Int64(86_401_234)));
        assert_eq!(parsed(r"1970-01-02T00\:00\:01.234Z"), (Some(Timestamp::schema()), Value::Int64(86_401_234)));
        // Not a date: a 10-digit number.
        assert_eq!(parsed("1234567890"), (Some(Schema::int32()), Value::Int32(1_234_567_890)));
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let odd = [
            "\\",
            "\\:",
            ":",
            "::::",
            "\"",
            "[",
            "{",
            "1:",
            "1::::",
            "9:9:9:9:9",
            "é",
            "1é",
            "-",
            "+",
            ".",
            "1.",
            ".5",
            "1e+",
            "1e-5",
            "0x10",
            "\u{0}",
            "2019-02-30",
            "99:99:99.999Z",
            "9999-99-99T99:99:99.999Z",
        ];
        for text in odd {
            let _ = parse_string(text);
            for pattern in ["yyyy-MM-dd", "HH:mm:ss.SSS'Z'", "yyyyMMddHHmmssSSS", "EEE MMM d h:mm a z", "G y D k K X"] {
                let _ = DateFormat::new(pattern).unwrap().parse(text);
            }
        }
        assert_eq!(parsed(".5"), string(".5"));
        assert_eq!(parsed("1."), (Some(Schema::int8()), Value::Int8(1)));
    }

    #[test]
    fn kafka_tokenizer_quirks_are_kept() {
        assert_eq!(parsed("12:30"), (Some(Schema::int8()), Value::Int8(12)));
        assert_eq!(parsed("1,2"), (Some(Schema::int8()), Value::Int8(1)));
        assert_eq!(parsed("[1,2]"), string("[1,2]"));
        assert_eq!(parsed("{\"a\":1}"), string("{\"a\":1}"));
        assert_eq!(parsed("a\\:b"), string("a\\:b"));
        assert_eq!(parsed("héllo:wörld"), string("héllo:wörld"));
    }
}
