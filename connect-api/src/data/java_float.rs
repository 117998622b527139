//! Floating point numbers rendered as Java's `Double.toString` / `Float.toString` do (JDK 19 and later:
//! the shortest digits that round-trip), so JSON written by our converter and text written by our sinks are
//! byte-identical to Kafka Connect's: `1.0`, `0.001`, `1.0E7`, `1.0E-4`, `NaN`, `Infinity`.

use std::fmt::{self, Write};

/// Formats an `f64` as Java's `Double.toString`.
///
/// ```
/// use connect_api::data::java_float::format_f64;
/// assert_eq!(format_f64(1.0), "1.0");
/// assert_eq!(format_f64(1e7), "1.0E7");
/// assert_eq!(format_f64(0.00012), "1.2E-4");
/// assert_eq!(format_f64(123.456), "123.456");
/// ```
pub fn format_f64(v: f64) -> String {
    let mut out = String::with_capacity(24);
    let _ = write_f64(&mut out, v);
    out
}

/// Formats an `f32` as Java's `Float.toString`.
///
/// ```
/// use connect_api::data::java_float::format_f32;
/// assert_eq!(format_f32(0.1), "0.1");
/// assert_eq!(format_f32(3.4e38), "3.4E38");
/// ```
pub fn format_f32(v: f32) -> String {
    let mut out = String::with_capacity(16);
    let _ = write_f32(&mut out, v);
    out
}

/// Writes an `f64` as Java's `Double.toString`, without allocating (for hot paths such as converters).
///
/// ```
/// let mut s = String::new();
/// connect_api::data::java_float::write_f64(&mut s, 5e-324).unwrap();
/// assert_eq!(s, "4.9E-324");
/// ```
pub fn write_f64(out: &mut impl Write, v: f64) -> fmt::Result {
    if v.is_nan() {
        return out.write_str("NaN");
    }
    if v.is_infinite() {
        return out.write_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
    }
    let abs = v.abs();
    let mut sci = StackBuf::default();
    write!(sci, "{abs:e}")?;
    if is_single_digit(sci.as_str()) {
        // Java picks the closest two-digit decimal when one digit would do (4.9E-324, not 5.0E-324).
        let mut two = StackBuf::default();
        write!(two, "{abs:.1e}")?;
        if two.as_str().parse::<f64>() == Ok(abs) {
            sci = two;
        }
    }
    render(out, v == 0.0, v.is_sign_negative(), sci.as_str())
}

/// Writes an `f32` as Java's `Float.toString`, without allocating.
pub fn write_f32(out: &mut impl Write, v: f32) -> fmt::Result {
    if v.is_nan() {
        return out.write_str("NaN");
    }
    if v.is_infinite() {
        return out.write_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
    }
    let abs = v.abs();
    let mut sci = StackBuf::default();
    write!(sci, "{abs:e}")?;
    if is_single_digit(sci.as_str()) {
        let mut two = StackBuf::default();
        write!(two, "{abs:.1e}")?;
        if two.as_str().parse::<f32>() == Ok(abs) {
            sci = two;
        }
    }
    render(out, v == 0.0, v.is_sign_negative(), sci.as_str())
}

fn is_single_digit(sci: &str) -> bool {
    sci.split('e').next().is_some_and(|m| m.len() == 1)
}

/// A small text buffer on the stack: the shortest form of any float fits in it.
#[derive(Clone, Copy)]
struct StackBuf {
    buf: [u8; 48],
    len: usize,
}

impl Default for StackBuf {
    fn default() -> Self {
        StackBuf { buf: [0; 48], len: 0 }
    }
}

impl StackBuf {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

impl Write for StackBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let room = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        room.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Renders Rust's shortest scientific form (`1.2345e6`, `5e-324`) in Java's layout.
fn render(out: &mut impl Write, zero: bool, negative: bool, sci: &str) -> fmt::Result {
    if negative {
        out.write_char('-')?;
    }
    if zero {
        return out.write_str("0.0");
    }
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits = StackBuf::default();
    for c in mantissa.chars().filter(char::is_ascii_digit) {
        digits.write_char(c)?;
    }
    let digits = digits.as_str().trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    if (-3..7).contains(&exp) {
        // Plain notation: the decimal point sits after digit `exp + 1`.
        if exp < 0 {
            out.write_str("0.")?;
            for _ in 0..(-exp - 1) {
                out.write_char('0')?;
            }
            out.write_str(digits)
        } else {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.write_str(digits)?;
                for _ in digits.len()..int_len {
                    out.write_char('0')?;
                }
                out.write_str(".0")
            } else {
                out.write_str(&digits[..int_len])?;
                out.write_char('.')?;
                out.write_str(&digits[int_len..])
            }
        }
    } else {
        out.write_str(&digits[..1])?;
        out.write_char('.')?;
        out.write_str(if digits.len() > 1 { &digits[1..] } else { "0" })?;
        write!(out, "E{exp}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_java_double_to_string() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.5, "1.5"),
            (-2.25, "-2.25"),
            (100.0, "100.0"),
            (1234567.0, "1234567.0"),
            (12345678.0, "1.2345678E7"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1e21, "1.0E21"),
            (5e-324, "4.9E-324"),
            (f64::MAX, "1.7976931348623157E308"),
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (v, want) in cases {
            assert_eq!(format_f64(*v), *want, "{v}");
        }
    }

    #[test]
    fn matches_java_float_to_string() {
        assert_eq!(format_f32(1.1), "1.1");
        assert_eq!(format_f32(16777216.0), "1.6777216E7");
        assert_eq!(format_f32(1.0e-5), "1.0E-5");
    }
}
