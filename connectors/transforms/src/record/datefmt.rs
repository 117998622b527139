//! `java.text.SimpleDateFormat` patterns in UTC, as TimestampConverter and TimestampRouter use them: a pattern
//! is compiled once into items, formatted with chrono's calendar fields and parsed leniently into epoch
//! milliseconds (out-of-range fields roll over, trailing text is ignored, as Java's default lenient parser).
//!
//! Supported letters: `G y M L d D E u a H k K h m s S z Z X` (English names). `Y w W F` are valid Java letters
//! that are refused as unsupported; any other ASCII letter is refused as Java refuses it.

use std::fmt::Write;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const MILLIS_PER_DAY: i64 = 86_400_000;

/// One element of a compiled pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    /// Text copied as is (quoted text, or characters that are not letters).
    Literal(String),
    /// A pattern letter repeated `count` times.
    Field { letter: char, count: usize },
}

/// A compiled `SimpleDateFormat` pattern working in UTC.
///
/// ```ignore
/// let f = DateFormat::new("yyyy-MM-dd'T'HH:mm:ss.SSSZ").unwrap();
/// assert_eq!(f.format(86_401_234).unwrap(), "1970-01-02T00:00:01.234+0000");
/// assert_eq!(f.parse("1970-01-02T00:00:01.234+0000"), Some(86_401_234));
/// ```
#[derive(Clone, Debug)]
pub(crate) struct DateFormat {
    pattern: String,
    items: Vec<Item>,
}

impl DateFormat {
    /// Compiles `pattern`; the error says why it is refused, as Java's `IllegalArgumentException` does.
    pub(crate) fn new(pattern: &str) -> Result<Self, String> {
        let mut items: Vec<Item> = Vec::new();
        let mut literal = String::new();
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                if chars.get(i + 1) == Some(&'\'') {
                    literal.push('\'');
                    i += 2;
                    continue;
                }
                // Quoted text up to the closing quote; '' inside stands for one quote.
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("Unterminated quote".into()),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            literal.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&other) => {
                            literal.push(other);
                            i += 1;
                        }
                    }
                }
                continue;
            }
            if c.is_ascii_alphabetic() {
                let mut count = 1;
                while chars.get(i + count) == Some(&c) {
                    count += 1;
                }
                check_letter(c, count)?;
                if !literal.is_empty() {
                    items.push(Item::Literal(std::mem::take(&mut literal)));
                }
                items.push(Item::Field { letter: c, count });
                i += count;
                continue;
            }
            literal.push(c);
            i += 1;
        }
        if !literal.is_empty() {
            items.push(Item::Literal(literal));
        }
        Ok(DateFormat { pattern: pattern.to_string(), items })
    }

    /// The pattern as given (Java's `toPattern()`).
    pub(crate) fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Formats the instant `millis` (milliseconds since the epoch) in UTC; an error when the instant is beyond
    /// the calendar chrono handles (about ±262,000 years).
    pub(crate) fn format(&self, millis: i64) -> Result<String, String> {
        let dt: DateTime<Utc> =
            DateTime::from_timestamp_millis(millis).ok_or_else(|| format!("timestamp {millis} is out of range"))?;
        let mut out = String::with_capacity(self.pattern.len() + 8);
        for item in &self.items {
            match item {
                Item::Literal(text) => out.push_str(text),
                Item::Field { letter, count } => format_field(&mut out, &dt, *letter, *count),
            }
        }
        Ok(out)
    }

    /// Parses `text` into epoch milliseconds, leniently as Java's default `SimpleDateFormat.parse(String)`:
    /// fields out of range roll over, missing fields default to 1970-01-01T00:00:00.000 UTC and text after the
    /// pattern is ignored. `None` when the text does not follow the pattern.
    pub(crate) fn parse(&self, text: &str) -> Option<i64> {
        let mut fields = Parsed::default();
        let mut pos = 0usize;
        for (i, item) in self.items.iter().enumerate() {
            match item {
                Item::Literal(lit) => {
                    if !text.get(pos..)?.starts_with(lit.as_str()) {
                        return None;
                    }
                    pos += lit.len();
                }
                Item::Field { letter, count } => {
                    let abutting = is_numeric(*letter, *count)
                        && matches!(self.items.get(i + 1), Some(Item::Field { letter, count }) if is_numeric(*letter, *count));
                    pos = parse_field(text, pos, *letter, *count, abutting, &mut fields)?;
                }
            }
        }
        fields.resolve()
    }
}

/// Refuses the letters Java refuses and the ones this implementation does not support.
fn check_letter(c: char, count: usize) -> Result<(), String> {
    match c {
        'G' | 'y' | 'M' | 'L' | 'd' | 'D' | 'E' | 'u' | 'a' | 'H' | 'k' | 'K' | 'h' | 'm' | 's' | 'S' | 'z' | 'Z' => {
            Ok(())
        }
        'X' if count <= 3 => Ok(()),
        'X' => Err(format!("invalid ISO 8601 format: length={count}")),
        'Y' => Err("unsupported SimpleDateFormat letter 'Y' (week year)".into()),
        'w' => Err("unsupported SimpleDateFormat letter 'w' (week in year)".into()),
        'W' => Err("unsupported SimpleDateFormat letter 'W' (week in month)".into()),
        'F' => Err("unsupported SimpleDateFormat letter 'F' (day of week in month)".into()),
        other => Err(format!("Illegal pattern character '{other}'")),
    }
}

/// Whether the field is a number (as opposed to text such as month names), which matters for abutting fields.
fn is_numeric(letter: char, count: usize) -> bool {
    match letter {
        'M' | 'L' => count < 3,
        'G' | 'E' | 'a' | 'z' | 'Z' | 'X' => false,
        _ => true,
    }
}

fn pad(out: &mut String, value: i64, width: usize) {
    if value < 0 {
        out.push('-');
    }
    let _ = write!(out, "{:0width$}", value.unsigned_abs());
}

fn format_field(out: &mut String, dt: &DateTime<Utc>, letter: char, count: usize) {
    let year = i64::from(dt.year());
    // Java shows years before 1 AD as positive years of the BC era.
    let era_year = if year < 1 { 1 - year } else { year };
    match letter {
        'G' => out.push_str(if year < 1 { "BC" } else { "AD" }),
        'y' if count == 2 => pad(out, era_year % 100, 2),
        'y' => pad(out, era_year, count),
        'M' | 'L' => {
            let m = dt.month0() as usize;
            match count {
                1 | 2 => pad(out, m as i64 + 1, count),
                3 => out.push_str(&MONTHS[m][..3]),
                _ => out.push_str(MONTHS[m]),
            }
        }
        'd' => pad(out, i64::from(dt.day()), count),
        'D' => pad(out, i64::from(dt.ordinal()), count),
        'E' => {
            let d = dt.weekday().num_days_from_monday() as usize;
            out.push_str(if count >= 4 { DAYS[d] } else { &DAYS[d][..3] });
        }
        'u' => pad(out, i64::from(dt.weekday().number_from_monday()), count),
        'a' => out.push_str(if dt.hour() < 12 { "AM" } else { "PM" }),
        'H' => pad(out, i64::from(dt.hour()), count),
        'k' => pad(out, if dt.hour() == 0 { 24 } else { i64::from(dt.hour()) }, count),
        'K' => pad(out, i64::from(dt.hour() % 12), count),
        'h' => pad(out, if dt.hour().is_multiple_of(12) { 12 } else { i64::from(dt.hour() % 12) }, count),
        'm' => pad(out, i64::from(dt.minute()), count),
        's' => pad(out, i64::from(dt.second()), count),
        'S' => pad(out, i64::from(dt.timestamp_subsec_millis()), count),
        'z' => out.push_str(if count >= 4 { "Coordinated Universal Time" } else { "UTC" }),
        'Z' => out.push_str("+0000"),
        'X' => out.push('Z'),
        _ => {}
    }
}

/// The fields read from a text, resolved into an instant at the end.
#[derive(Default)]
struct Parsed {
    bc: bool,
    year: Option<i64>,
    month: Option<i64>,
    day: Option<i64>,
    day_of_year: Option<i64>,
    hour_of_day: Option<i64>,
    hour_of_half_day: Option<i64>,
    pm: Option<bool>,
    minute: i64,
    second: i64,
    millis: i64,
    offset_minutes: i64,
}

impl Parsed {
    fn resolve(&self) -> Option<i64> {
        let mut year = self.year.unwrap_or(1970);
        if self.bc {
            year = 1 - year;
        }
        let start = if self.month.is_none() && self.day.is_none() && self.day_of_year.is_some() {
            // Day of year counts from January 1st.
            ymd_days(year, 1)?.checked_add(self.day_of_year? - 1)?
        } else {
            ymd_days(year, self.month.unwrap_or(1))?.checked_add(self.day.unwrap_or(1) - 1)?
        };
        let hour = match (self.hour_of_day, self.hour_of_half_day) {
            (Some(h), _) => h,
            (None, Some(h)) => h.checked_add(if self.pm == Some(true) { 12 } else { 0 })?,
            (None, None) => {
                if self.pm == Some(true) {
                    12
                } else {
                    0
                }
            }
        };
        let time = hour
            .checked_mul(3_600_000)?
            .checked_add(self.minute.checked_mul(60_000)?)?
            .checked_add(self.second.checked_mul(1000)?)?
            .checked_add(self.millis)?
            .checked_sub(self.offset_minutes.checked_mul(60_000)?)?;
        start.checked_mul(MILLIS_PER_DAY)?.checked_add(time)
    }
}

/// Days from the epoch to the first of month `month` (1-based, rolling over years when outside 1..=12) of `year`.
fn ymd_days(year: i64, month: i64) -> Option<i64> {
    let month0 = month.checked_sub(1)?;
    let year = year.checked_add(month0.div_euclid(12))?;
    let month = u32::try_from(month0.rem_euclid(12) + 1).ok()?;
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, 1)?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    Some((date - epoch).num_days())
}

/// Reads an unsigned number at `pos`: exactly up to `width` digits when the field abuts another number, all
/// digits otherwise. Returns the value, the number of digits and the new position.
fn read_number(text: &str, pos: usize, width: Option<usize>) -> Option<(i64, usize, usize)> {
    let bytes = text.as_bytes();
    let mut end = pos;
    while end < bytes.len() && bytes[end].is_ascii_digit() && width.is_none_or(|w| end - pos < w) {
        end += 1;
    }
    if end == pos {
        return None;
    }
    let value = text.get(pos..end)?.parse::<i64>().ok()?;
    Some((value, end - pos, end))
}

/// Matches one of `names` (full names first, then their three-letter forms) ignoring case; its index.
fn read_name(text: &str, pos: usize, names: &[&str]) -> Option<(usize, usize)> {
    let rest = text.get(pos..)?;
    let starts = |candidate: &str| rest.get(..candidate.len()).is_some_and(|head| head.eq_ignore_ascii_case(candidate));
    for (i, name) in names.iter().enumerate() {
        if starts(name) {
            return Some((i, pos + name.len()));
        }
    }
    for (i, name) in names.iter().enumerate() {
        let short = name.get(..3)?;
        if starts(short) {
            return Some((i, pos + short.len()));
        }
    }
    None
}

/// Reads a time zone at `pos`: `Z`, `UTC`, `UT`, `GMT`, optionally followed by an offset, or an offset
/// `+hh`, `+hhmm`, `+hh:mm`. Returns the offset in minutes and the new position.
fn read_zone(text: &str, pos: usize) -> Option<(i64, usize)> {
    let rest = text.get(pos..)?;
    for name in ["UTC", "GMT", "UT"] {
        if rest.get(..name.len()).is_some_and(|h| h.eq_ignore_ascii_case(name)) {
            let after = pos + name.len();
            return Some(read_offset(text, after).unwrap_or((0, after)));
        }
    }
    if rest.starts_with('Z') {
        return Some((0, pos + 1));
    }
    read_offset(text, pos)
}

fn read_offset(text: &str, pos: usize) -> Option<(i64, usize)> {
    let sign = match text.as_bytes().get(pos)? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (first, digits, mut end) = read_number(text, pos + 1, Some(4))?;
    let (hours, mut minutes) = match digits {
        1 | 2 => (first, 0),
        4 => (first / 100, first % 100),
        _ => return None,
    };
    if digits <= 2 && text.as_bytes().get(end) == Some(&b':') {
        let (m, n, e) = read_number(text, end + 1, Some(2))?;
        if n != 2 {
            return None;
        }
        minutes = m;
        end = e;
    }
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some((sign * (hours * 60 + minutes), end))
}

/// Two-digit years fall within 80 years before and 20 years after now, as Java's default century.
fn expand_two_digit_year(two_digits: i64) -> i64 {
    let start = i64::from(Utc::now().year()) - 80;
    let mut year = start.div_euclid(100) * 100 + two_digits;
    if year < start {
        year += 100;
    }
    year
}

fn parse_field(text: &str, pos: usize, letter: char, count: usize, abutting: bool, out: &mut Parsed) -> Option<usize> {
    let width = abutting.then_some(count);
    let number = |out_pos: usize| read_number(text, out_pos, width);
    match letter {
        'G' => {
            let (i, end) = read_name(text, pos, &["AD", "BC"])?;
            out.bc = i == 1;
            Some(end)
        }
        'y' => {
            let (v, digits, end) = number(pos)?;
            out.year = Some(if count <= 2 && digits == 2 { expand_two_digit_year(v) } else { v });
            Some(end)
        }
        'M' | 'L' if count >= 3 => {
            let (i, end) = read_name(text, pos, &MONTHS)?;
            out.month = Some(i as i64 + 1);
            Some(end)
        }
        'E' => read_name(text, pos, &DAYS).map(|(_, end)| end),
        'a' => {
            let (i, end) = read_name(text, pos, &["AM", "PM"])?;
            out.pm = Some(i == 1);
            Some(end)
        }
        'z' | 'Z' | 'X' => {
            let (offset, end) = read_zone(text, pos)?;
            out.offset_minutes = offset;
            Some(end)
        }
        _ => {
            let (v, _, end) = number(pos)?;
            match letter {
                'M' | 'L' => out.month = Some(v),
                'd' => out.day = Some(v),
                'D' => out.day_of_year = Some(v),
                'H' => out.hour_of_day = Some(v),
                'k' => out.hour_of_day = Some(if v == 24 { 0 } else { v }),
                'K' => out.hour_of_half_day = Some(v),
                'h' => out.hour_of_half_day = Some(if v == 12 { 0 } else { v }),
                'm' => out.minute = v,
                's' => out.second = v,
                'S' => out.millis = v,
                // 'u' (day number of week) is read and ignored, as Java does when the date is otherwise known.
                _ => {}
            }
            Some(end)
        }
    }
}

/// Milliseconds of `days` days (Connect `Date` values).
pub(crate) fn days_to_millis(days: i32) -> i64 {
    i64::from(days) * MILLIS_PER_DAY
}

/// The Connect `Date` (days since the epoch) of an instant: its UTC day.
pub(crate) fn millis_to_days(millis: i64) -> Option<i32> {
    i32::try_from(millis.div_euclid(MILLIS_PER_DAY)).ok()
}

/// The Connect `Time` (milliseconds since midnight) of an instant: its UTC time of day.
pub(crate) fn millis_to_time_of_day(millis: i64) -> i32 {
    // rem_euclid keeps the value within 0..86_400_000, which fits an i32.
    i32::try_from(millis.rem_euclid(MILLIS_PER_DAY)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(pattern: &str, millis: i64) -> String {
        DateFormat::new(pattern).unwrap().format(millis).unwrap()
    }

    fn parse(pattern: &str, text: &str) -> Option<i64> {
        DateFormat::new(pattern).unwrap().parse(text)
    }

    const DATE_PLUS_TIME: i64 = 86_401_234;

    #[test]
    fn kafka_test_format_round_trips() {
        let f = "yyyy MM dd HH mm ss SSS z";
        assert_eq!(fmt(f, DATE_PLUS_TIME), "1970 01 02 00 00 01 234 UTC");
        assert_eq!(parse(f, "1970 01 02 00 00 01 234 UTC"), Some(DATE_PLUS_TIME));
    }

    #[test]
    fn abutting_numbers_take_their_width() {
        assert_eq!(fmt("yyyyMMdd", 1_700_000_000_000), "20231114");
        assert_eq!(parse("yyyyMMdd", "20231114"), Some(1_699_920_000_000));
        assert_eq!(parse("yyyyMMddHHmmss", "19700102000001"), Some(86_401_000));
    }

    #[test]
    fn text_fields() {
        let t = 1_700_000_000_000; // 2023-11-14T22:13:20Z, a Tuesday
        assert_eq!(fmt("EEE, d MMM yyyy hh:mm:ss a", t), "Tue, 14 Nov 2023 10:13:20 PM");
        assert_eq!(fmt("EEEE MMMM G", t), "Tuesday November AD");
        assert_eq!(fmt("D u k K zzzz Z X", t), "318 2 22 10 Coordinated Universal Time +0000 Z");
        assert_eq!(fmt("yy y yyyyy S SSSS", t), "23 2023 02023 0 0000");
        assert_eq!(parse("EEE, d MMM yyyy hh:mm:ss a", "tue, 14 nov 2023 10:13:20 pm"), Some(t));
        assert_eq!(parse("MMMM d yyyy", "November 14 2023"), Some(1_699_920_000_000));
        assert_eq!(parse("h a", "12 AM"), Some(0));
        assert_eq!(parse("k", "24"), Some(0));
        assert_eq!(parse("yyyy D", "1970 2"), Some(86_400_000));
    }

    #[test]
    fn quotes_and_literals() {
        assert_eq!(fmt("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", DATE_PLUS_TIME), "1970-01-02T00:00:01.234Z");
        assert_eq!(fmt("'o''clock' ''", 0), "o'clock '");
        assert_eq!(parse("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "1970-01-02T00:00:01.234Z"), Some(DATE_PLUS_TIME));
    }

    #[test]
    fn zones_shift_the_instant() {
        assert_eq!(parse("yyyy-MM-dd HH:mm Z", "1970-01-01 01:00 +0100"), Some(0));
        assert_eq!(parse("yyyy-MM-dd HH:mm XXX", "1970-01-01 00:00 -01:30"), Some(5_400_000));
        assert_eq!(parse("yyyy-MM-dd HH:mm X", "1970-01-01 00:00 Z"), Some(0));
        assert_eq!(parse("HH:mm z", "02:00 GMT+02:00"), Some(0));
        assert_eq!(parse("HH:mm z", "02:00 XYZ"), None);
    }

    #[test]
    fn parsing_is_lenient_and_ignores_trailing_text() {
        assert_eq!(parse("yyyy-MM-dd", "1970-01-32"), Some(31 * MILLIS_PER_DAY));
        assert_eq!(parse("yyyy-MM-dd", "1970-13-01"), parse("yyyy-MM-dd", "1971-01-01"));
        assert_eq!(parse("yyyy-MM-dd", "1970-01-02 and more"), Some(MILLIS_PER_DAY));
        assert_eq!(parse("yyyy-MM-dd", "1970/01/02"), None);
        assert_eq!(parse("yyyy-MM-dd", "1970-01"), None);
        assert_eq!(parse("yyyy", ""), None);
        assert_eq!(parse("yyyy", "99999999999999999999999"), None);
        assert_eq!(parse("h a", "9223372036854775807 PM"), None);
        assert_eq!(parse("D", "9223372036854775807"), None);
    }

    #[test]
    fn two_digit_years_use_a_sliding_century() {
        let this_year = i64::from(Utc::now().year());
        let parsed = parse("yy", &format!("{:02}", this_year % 100)).unwrap();
        assert_eq!(DateTime::from_timestamp_millis(parsed).unwrap().year() as i64, this_year);
    }

    #[test]
    fn bad_patterns_are_refused_with_java_messages() {
        assert_eq!(DateFormat::new("bad-format").unwrap_err(), "Illegal pattern character 'b'");
        assert_eq!(DateFormat::new("yyyy'").unwrap_err(), "Unterminated quote");
        assert_eq!(DateFormat::new("XXXX").unwrap_err(), "invalid ISO 8601 format: length=4");
        assert!(DateFormat::new("YYYY").unwrap_err().contains("unsupported"));
        assert!(DateFormat::new("ww").unwrap_err().contains("week in year"));
        assert_eq!(DateFormat::new("yyyy").unwrap().pattern(), "yyyy");
    }

    #[test]
    fn extreme_instants_are_errors_not_panics() {
        let f = DateFormat::new("yyyy").unwrap();
        assert!(f.format(i64::MAX).is_err());
        assert_eq!(f.format(-62_135_769_600_000).unwrap(), "0001");
        assert_eq!(fmt("G yyyy", -62_167_219_200_000), "BC 0001");
    }

    #[test]
    fn date_and_time_helpers() {
        assert_eq!(millis_to_days(-1), Some(-1));
        assert_eq!(millis_to_time_of_day(-1), 86_399_999);
        assert_eq!(days_to_millis(2), 2 * MILLIS_PER_DAY);
        assert_eq!(millis_to_days(i64::MAX), None);
    }
}
