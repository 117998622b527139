//! Floating point numbers rendered as Java's `Double.toString` / `Float.toString` do (JDK 19 and later:
//! the shortest digits that round-trip), so JSON written by our converter and text written by our sinks are
//! byte-identical to Kafka Connect's: `1.0`, `0.001`, `1.0E7`, `1.0E-4`, `NaN`, `Infinity`.

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
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let abs = v.abs();
    let mut sci = format!("{abs:e}");
    if is_single_digit(&sci) {
        // Java picks the closest two-digit decimal when one digit would do (4.9E-324, not 5.0E-324).
        let two = format!("{abs:.1e}");
        if two.parse::<f64>() == Ok(abs) {
            sci = two;
        }
    }
    render(v == 0.0, v.is_sign_negative(), &sci)
}

/// Formats an `f32` as Java's `Float.toString`.
///
/// ```
/// use connect_api::data::java_float::format_f32;
/// assert_eq!(format_f32(0.1), "0.1");
/// assert_eq!(format_f32(3.4e38), "3.4E38");
/// ```
pub fn format_f32(v: f32) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let abs = v.abs();
    let mut sci = format!("{abs:e}");
    if is_single_digit(&sci) {
        let two = format!("{abs:.1e}");
        if two.parse::<f32>() == Ok(abs) {
            sci = two;
        }
    }
    render(v == 0.0, v.is_sign_negative(), &sci)
}

fn is_single_digit(sci: &str) -> bool {
    sci.split('e').next().is_some_and(|m| m.len() == 1)
}

/// Renders Rust's shortest scientific form (`1.2345e6`, `5e-324`) in Java's layout.
fn render(zero: bool, negative: bool, sci: &str) -> String {
    let mut out = String::with_capacity(24);
    if negative {
        out.push('-');
    }
    if zero {
        out.push_str("0.0");
        return out;
    }
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    if (-3..7).contains(&exp) {
        // Plain notation: the decimal point sits after digit `exp + 1`.
        if exp < 0 {
            out.push_str("0.");
            for _ in 0..(-exp - 1) {
                out.push('0');
            }
            out.push_str(digits);
        } else {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(digits);
                for _ in digits.len()..int_len {
                    out.push('0');
                }
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        out.push('.');
        if digits.len() > 1 {
            out.push_str(&digits[1..]);
        } else {
            out.push('0');
        }
        out.push('E');
        out.push_str(&exp.to_string());
    }
    out
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
