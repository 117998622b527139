//! Request bodies: each record's bytes ([`Encoder`]) and records gathered into requests ([`Batcher`]) by count, by
//! size and by Confluent's URL and `batch.key.pattern`, with Aiven's prefix/separator/suffix or a JSON array.
//! Records are written straight into the body of the request they join; nothing here sends anything.

use connect_api::{ConnectError, Result, SinkRecord, Value};
use regex::Regex;
use reqwest::Url;

use crate::config::{BatchSettings, BodyFormat, UrlTemplate};
use crate::json;

/// Turns a record's value into its part of a body.
pub struct Encoder {
    format: BodyFormat,
    replacements: Vec<(Regex, String)>,
}

impl Encoder {
    /// An encoder for `format`, applying `replacements` (Confluent's `regex.*`) to each record's text.
    pub fn new(format: BodyFormat, replacements: Vec<(Regex, String)>) -> Self {
        Encoder { format, replacements }
    }

    /// Appends the bytes of `record` to `out`; on error `out` is left as it was.
    pub fn encode(&self, record: &SinkRecord, out: &mut Vec<u8>) -> Result<()> {
        let mark = out.len();
        let written = self.write(record, out);
        if written.is_err() {
            out.truncate(mark);
        } else if !self.replacements.is_empty() {
            let mut text = String::from_utf8_lossy(&out[mark..]).into_owned();
            for (regex, replacement) in &self.replacements {
                text = regex.replace_all(&text, replacement.as_str()).into_owned();
            }
            out.truncate(mark);
            out.extend_from_slice(text.as_bytes());
        }
        written
    }

    fn write(&self, record: &SinkRecord, out: &mut Vec<u8>) -> Result<()> {
        let (schema, value) = (record.value_schema(), &record.value);
        match self.format {
            BodyFormat::AivenValue { numeric_decimals } => match value {
                Value::String(s) => out.extend_from_slice(s.as_bytes()),
                Value::Struct(_) | Value::Map(_) => json::write(out, schema, value, numeric_decimals)?,
                other => {
                    return Err(ConnectError::data(format!(
                        "Record value must be String, Schema Struct or HashMap, but {} is given",
                        other.type_name()
                    )))
                }
            },
            BodyFormat::Text => match value {
                Value::String(s) => out.extend_from_slice(s.as_bytes()),
                other => {
                    use std::io::Write;
                    let _ = write!(out, "{other}");
                }
            },
            BodyFormat::Json => match value {
                Value::String(s) if holds_json_document(s) => out.extend_from_slice(s.as_bytes()),
                _ => json::write(out, schema, value, false)?,
            },
        }
        Ok(())
    }
}

/// Whether a string value is a JSON object or array (records written as JSON text by a StringConverter), which a
/// JSON body embeds as it is rather than as a quoted string.
fn holds_json_document(s: &str) -> bool {
    let trimmed = s.trim_start();
    (trimmed.starts_with('{') || trimmed.starts_with('[')) && serde_json::from_str::<serde::de::IgnoredAny>(s).is_ok()
}

/// One request being filled: its URL, body and the records in it (indices into the `put` batch).
pub struct Batch {
    /// Where the request goes.
    pub url: Url,
    /// The body so far (closed when the request is handed out).
    pub body: Vec<u8>,
    /// The indices of its records in the batch `put` got.
    pub records: Vec<usize>,
    /// The rendered URL and key pattern its records share; `None` when all records share one request.
    group: Option<String>,
}

/// Gathers records into requests. Records of one group (URL and key pattern) keep their order; groups are sent
/// in the order they were opened.
pub struct Batcher {
    settings: BatchSettings,
    url: UrlTemplate,
    /// Whether a record's URL or key pattern depends on the record (else no per-record rendering at all).
    grouped: bool,
    /// Whether requests are wrapped in the prefix and suffix (not a lone Aiven record).
    wrap: bool,
    open_text: String,
    separator: String,
    close_text: String,
    open: Vec<Batch>,
}

impl Batcher {
    /// A batcher for requests to `url` shaped by `settings`.
    pub fn new(settings: BatchSettings, url: UrlTemplate) -> Self {
        let (open_text, separator, close_text) = if settings.json_array {
            (format!("{}[", settings.prefix), ",".to_string(), format!("]{}", settings.suffix))
        } else {
            (settings.prefix.clone(), settings.separator.clone(), settings.suffix.clone())
        };
        let grouped = url.has_placeholders() || settings.key_pattern.as_ref().is_some_and(|p| p.contains("${"));
        let wrap = settings.wrap_single || settings.max_records > 1;
        Batcher { settings, url, grouped, wrap, open_text, separator, close_text, open: Vec::new() }
    }

    /// The URL of a record; an error when the rendered URL is not valid.
    pub fn target(&self, record: &SinkRecord) -> Result<Url> {
        if let Some(fixed) = self.url.fixed() {
            return Ok(fixed.clone());
        }
        let text = self.url.render_text(&record.topic, &key_text(&record.key));
        Url::parse(&text).map_err(|e| ConnectError::data(format!("the URL {text} of the record is not valid: {e}")))
    }

    /// The group a record batches with: its rendered URL and key pattern.
    fn group(&self, record: &SinkRecord) -> Option<String> {
        if !self.grouped {
            return None;
        }
        let key = key_text(&record.key);
        let mut group = match self.url.fixed() {
            Some(_) => String::new(),
            None => self.url.render_text(&record.topic, &key),
        };
        if let Some(pattern) = &self.settings.key_pattern {
            group.push('\n');
            group.push_str(&pattern.replace("${topic}", &record.topic).replace("${key}", &key));
        }
        Some(group)
    }

    /// Adds record `index` to the request of its group, encoding it with `encoder`. Returns the requests that are
    /// full and must go out now (before any later record of the same group), already closed.
    pub fn add(&mut self, index: usize, record: &SinkRecord, encoder: &Encoder) -> Result<Vec<Batch>> {
        let group = self.group(record);
        let position = match self.open.iter().position(|b| b.group == group) {
            Some(position) => position,
            None => {
                let url = self.target(record)?;
                self.open.push(Batch { url, body: Vec::new(), records: Vec::new(), group });
                self.open.len() - 1
            }
        };
        let mut ready = Vec::new();
        let batch = &mut self.open[position];
        let mark = batch.body.len();
        let first = batch.records.is_empty();
        if self.wrap {
            batch.body.extend_from_slice(if first { self.open_text.as_bytes() } else { self.separator.as_bytes() });
        }
        let start = batch.body.len();
        if let Err(err) = encoder.encode(record, &mut batch.body) {
            batch.body.truncate(mark);
            if first {
                self.open.remove(position);
            }
            return Err(err);
        }
        let max_bytes = self.settings.max_bytes;
        if !first && max_bytes > 0 && batch.body.len() + self.close_text.len() > max_bytes {
            // Too big with this record: the request goes without it, and the record opens the next one.
            let part = batch.body[start..].to_vec();
            batch.body.truncate(mark);
            let next =
                Batch { url: batch.url.clone(), body: Vec::new(), records: Vec::new(), group: batch.group.clone() };
            ready.push(std::mem::replace(batch, next));
            batch.body.extend_from_slice(self.open_text.as_bytes());
            batch.body.extend_from_slice(&part);
        }
        batch.records.push(index);
        if batch.records.len() >= self.settings.max_records {
            ready.push(self.open.remove(position));
        }
        for batch in &mut ready {
            self.close(batch);
        }
        Ok(ready)
    }

    /// Every request still open, closed, in the order they were opened.
    pub fn drain(&mut self) -> Vec<Batch> {
        let mut out: Vec<Batch> = std::mem::take(&mut self.open);
        for batch in &mut out {
            self.close(batch);
        }
        out
    }

    /// Whether requests are waiting for more records.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    fn close(&self, batch: &mut Batch) {
        if self.wrap {
            batch.body.extend_from_slice(self.close_text.as_bytes());
        }
    }
}

/// A record key as the text `${key}` stands for (Java's `toString`; `null` for no key).
pub fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_api::{Schema, SinkRecord};

    fn record(offset: i64, key: &str, value: &str) -> SinkRecord {
        SinkRecord::new("t", 0, offset, Some(Schema::string()), Value::from(value))
            .with_key(Some(Schema::string()), Value::from(key))
    }

    fn settings(max_records: usize, max_bytes: usize) -> BatchSettings {
        BatchSettings {
            max_records,
            max_bytes,
            prefix: "<".into(),
            separator: "|".into(),
            suffix: ">".into(),
            json_array: false,
            wrap_single: true,
            key_pattern: None,
        }
    }

    fn bodies(batches: Vec<Batch>) -> Vec<String> {
        batches.into_iter().map(|b| String::from_utf8(b.body).unwrap()).collect()
    }

    #[test]
    fn batches_by_count_and_by_size() {
        let url = UrlTemplate::parse("http://h/x", false).unwrap();
        let encoder = Encoder::new(BodyFormat::Text, Vec::new());
        let mut batcher = Batcher::new(settings(3, 0), url.clone());
        let mut sent = Vec::new();
        for i in 0..7 {
            sent.extend(bodies(batcher.add(i, &record(i as i64, "k", &format!("v{i}")), &encoder).unwrap()));
        }
        sent.extend(bodies(batcher.drain()));
        assert_eq!(sent, ["<v0|v1|v2>", "<v3|v4|v5>", "<v6>"]);

        let mut batcher = Batcher::new(settings(100, 10), url);
        let mut sent = Vec::new();
        for (i, value) in ["aa", "bb", "cc", "a-very-long-one", "d"].iter().enumerate() {
            sent.extend(bodies(batcher.add(i, &record(i as i64, "k", value), &encoder).unwrap()));
        }
        sent.extend(bodies(batcher.drain()));
        assert_eq!(sent, ["<aa|bb|cc>", "<a-very-long-one>", "<d>"]);
    }

    #[test]
    fn json_arrays_and_groups_by_url_and_key_pattern() {
        let url = UrlTemplate::parse("http://h/${topic}/${key}", true).unwrap();
        let mut batch = settings(10, 0);
        batch.json_array = true;
        batch.key_pattern = Some("${key}".into());
        let encoder = Encoder::new(BodyFormat::Json, Vec::new());
        let mut batcher = Batcher::new(batch, url);
        for (i, (key, value)) in [("a", r#"{"n":1}"#), ("b", "plain"), ("a", "[2]")].iter().enumerate() {
            assert!(batcher.add(i, &record(i as i64, key, value), &encoder).unwrap().is_empty());
        }
        let batches = batcher.drain();
        assert_eq!(batches[0].url.as_str(), "http://h/t/a");
        assert_eq!(batches[0].records, [0, 2]);
        assert_eq!(String::from_utf8(batches[0].body.clone()).unwrap(), r#"<[{"n":1},[2]]>"#);
        assert_eq!(String::from_utf8(batches[1].body.clone()).unwrap(), r#"<["plain"]>"#);
    }

    #[test]
    fn aiven_sends_a_lone_record_bare_and_refuses_other_types() {
        let url = UrlTemplate::parse("http://h/x", false).unwrap();
        let mut single = settings(1, 0);
        single.wrap_single = false;
        let encoder = Encoder::new(BodyFormat::AivenValue { numeric_decimals: false }, Vec::new());
        let mut batcher = Batcher::new(single, url);
        assert_eq!(bodies(batcher.add(0, &record(0, "k", "hello"), &encoder).unwrap()), ["hello"]);
        let number = SinkRecord::new("t", 0, 1, None, Value::Int32(5));
        let err = batcher.add(1, &number, &encoder).err().unwrap();
        assert!(err.message().contains("must be String"), "{err}");
        assert!(batcher.is_empty());
    }

    #[test]
    fn regex_replacements_apply_to_each_record() {
        let encoder = Encoder::new(BodyFormat::Text, vec![(Regex::new("secret=\\w+").unwrap(), "secret=***".into())]);
        let mut out = Vec::new();
        encoder.encode(&record(0, "k", "a secret=xyz b"), &mut out).unwrap();
        assert_eq!(out, b"a secret=*** b");
    }
}
