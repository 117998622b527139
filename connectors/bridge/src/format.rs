//! Strimzi's embedded formats (binary, json, text): request bodies of produce into records, and polled Kafka
//! records into response bodies.

use abi_stable::std_types::ROption;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use connect_api::{Headers, Schema, SourceMap, SourceRecord, Value};
use serde::Serialize;
use serde_json::Value as Json;

use crate::error::ApiError;

/// `application/vnd.kafka.v2+json`: the API's own bodies and every error.
pub const KAFKA_JSON: &str = "application/vnd.kafka.v2+json";
/// `application/vnd.kafka.json.v2+json`.
pub const KAFKA_JSON_JSON: &str = "application/vnd.kafka.json.v2+json";
/// `application/vnd.kafka.binary.v2+json`.
pub const KAFKA_JSON_BINARY: &str = "application/vnd.kafka.binary.v2+json";
/// `application/vnd.kafka.text.v2+json`.
pub const KAFKA_JSON_TEXT: &str = "application/vnd.kafka.text.v2+json";

/// Base64 as Java's lenient `parseBase64Binary` takes it: padding optional.
const BASE64_IN: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const BASE64_OUT: GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// An embedded format of keys and values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Base64 strings.
    Binary,
    /// Any JSON value, stored as its serialization.
    Json,
    /// Strings, stored as UTF-8.
    Text,
}

impl Format {
    /// The format of a produce request's `Content-Type` (parameters ignored).
    pub fn from_content_type(content_type: &str) -> Option<Format> {
        match media_type(content_type).as_str() {
            KAFKA_JSON_BINARY => Some(Format::Binary),
            KAFKA_JSON_JSON => Some(Format::Json),
            KAFKA_JSON_TEXT => Some(Format::Text),
            _ => None,
        }
    }

    /// The format named in a consumer creation request.
    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "binary" => Some(Format::Binary),
            "json" => Some(Format::Json),
            "text" => Some(Format::Text),
            _ => None,
        }
    }

    /// The content type of records in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Binary => KAFKA_JSON_BINARY,
            Format::Json => KAFKA_JSON_JSON,
            Format::Text => KAFKA_JSON_TEXT,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Format::Binary => "binary",
            Format::Json => "json",
            Format::Text => "text",
        }
    }

    /// Converts a key or value of a produce request to bytes (`None` for JSON `null`).
    fn encode(self, what: &str, value: &Json) -> Result<Option<Vec<u8>>, ApiError> {
        if value.is_null() {
            return Ok(None);
        }
        match self {
            Format::Json => Ok(Some(serde_json::to_vec(value).map_err(|e| ApiError::new(422, e.to_string()))?)),
            Format::Text => match value {
                Json::String(s) => Ok(Some(s.as_bytes().to_vec())),
                _ => Err(ApiError::new(
                    422,
                    format!("Because the embedded format is 'text', the {what} must be a string"),
                )),
            },
            Format::Binary => match value {
                Json::String(s) => decode_base64(s).map(Some).map_err(|e| {
                    ApiError::new(
                        422,
                        format!("Because the embedded format is 'binary', the {what} must be base64: {e}"),
                    )
                }),
                _ => Err(ApiError::new(
                    422,
                    format!("Because the embedded format is 'binary', the {what} must be a base64 string"),
                )),
            },
        }
    }

    /// Converts polled bytes to the JSON of a consumer record.
    fn decode(self, bytes: Option<&[u8]>) -> Result<Json, ApiError> {
        let Some(bytes) = bytes else { return Ok(Json::Null) };
        match self {
            Format::Binary => Ok(Json::String(BASE64_OUT.encode(bytes))),
            Format::Text => Ok(Json::String(String::from_utf8_lossy(bytes).into_owned())),
            Format::Json => serde_json::from_slice(bytes)
                .map_err(|e| ApiError::new(406, format!("Failed to decode a record as JSON: {e}"))),
        }
    }
}

/// The media type of a `Content-Type` or `Accept` value, lower case, without parameters.
pub fn media_type(value: &str) -> String {
    value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

fn decode_base64(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let cleaned: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    BASE64_IN.decode(cleaned)
}

fn type_name(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// A schema failure for a value of the wrong JSON type, in Vert.x's words.
pub fn wrong_type(value: &Json, expected: &str) -> String {
    format!("Instance type {} is invalid. Expected {expected}", type_name(value))
}

/// Parses a JSON request body; an undecodable body is Strimzi's 400.
pub fn parse_body(body: &[u8]) -> Result<Json, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::validation(format!("Failed to decode the request body: {e}")))
}

/// Checks an object's properties: required ones present, no others than `allowed`; returns schema errors.
pub fn check_properties(object: &serde_json::Map<String, Json>, required: &[&str], allowed: &[&str]) -> Vec<String> {
    let mut errors = Vec::new();
    for key in required {
        if !object.contains_key(*key) {
            errors.push(format!("Instance does not have required property \"{key}\""));
        }
    }
    for key in object.keys() {
        if !allowed.contains(&key.as_str()) {
            errors.push(format!("Property \"{key}\" does not match additional properties schema"));
        }
    }
    errors
}

fn int32(value: &Json) -> Option<i32> {
    value.as_i64().and_then(|n| i32::try_from(n).ok())
}

/// The records of a produce request for `topic`, checked against Strimzi's schema (400) and converted in
/// `format` (422). `path_partition` is the partition of `/topics/{t}/partitions/{p}`, where records may not name one.
pub fn parse_records(
    body: &[u8],
    format: Format,
    topic: &str,
    path_partition: Option<i32>,
) -> Result<Vec<SourceRecord>, ApiError> {
    let body = parse_body(body)?;
    let Some(object) = body.as_object() else {
        return Err(ApiError::schema(vec![wrong_type(&body, "object")]));
    };
    let errors = check_properties(object, &[], &["records"]);
    if !errors.is_empty() {
        return Err(ApiError::schema(errors));
    }
    if !object.contains_key("records") {
        // Strimzi's schema does not require the list; its converter then fails, which is a 422.
        return Err(ApiError::new(422, "The request body holds no records list"));
    }
    let Some(records) = object["records"].as_array() else {
        return Err(ApiError::schema(vec![
            "Property \"records\" does not match schema".to_string(),
            wrong_type(&object["records"], "array"),
        ]));
    };
    let allowed: &[&str] = if path_partition.is_some() {
        &["key", "value", "headers", "timestamp"]
    } else {
        &["key", "value", "partition", "headers", "timestamp"]
    };
    let mut errors = Vec::new();
    for record in records {
        let Some(fields) = record.as_object() else {
            errors.push(wrong_type(record, "object"));
            continue;
        };
        errors.extend(check_properties(fields, &["value"], allowed));
        if let Some(p) = fields.get("partition") {
            if int32(p).is_none() {
                errors.push("Property \"partition\" does not match schema".to_string());
                errors.push(wrong_type(p, "integer"));
            }
        }
        if let Some(t) = fields.get("timestamp") {
            if !t.is_null() && t.as_i64().is_none() {
                errors.push("Property \"timestamp\" does not match schema".to_string());
                errors.push(wrong_type(t, "integer"));
            }
        }
        if let Some(headers) = fields.get("headers") {
            match headers.as_array() {
                None => {
                    errors.push("Property \"headers\" does not match schema".to_string());
                    errors.push(wrong_type(headers, "array"));
                }
                Some(headers) => {
                    for header in headers {
                        match header.as_object() {
                            None => errors.push(wrong_type(header, "object")),
                            Some(h) => {
                                errors.extend(check_properties(h, &["key", "value"], &["key", "value"]));
                                for field in ["key", "value"] {
                                    if let Some(v) = h.get(field).filter(|v| !v.is_string()) {
                                        errors.push(wrong_type(v, "string"));
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    if !errors.is_empty() {
        errors.insert(0, "Property \"records\" does not match schema".to_string());
        return Err(ApiError::schema(errors));
    }

    let bytes_schema = Schema::optional_bytes();
    let to_value = |bytes: Option<Vec<u8>>| bytes.map_or(Value::Null, |b| Value::Bytes(b.into()));
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        let fields = record.as_object().expect("checked above");
        let key = fields.get("key").map(|k| format.encode("key", k)).transpose()?.flatten();
        let value = format.encode("value", &fields["value"])?;
        let mut headers = Headers::new();
        for header in fields.get("headers").and_then(Json::as_array).into_iter().flatten() {
            let name = header["key"].as_str().unwrap_or_default();
            let raw = decode_base64(header["value"].as_str().unwrap_or_default())
                .map_err(|e| ApiError::new(422, format!("The value of header {name} must be base64: {e}")))?;
            headers.add(name, Some(Schema::bytes()), Value::Bytes(raw.into()));
        }
        let partition = path_partition.or_else(|| fields.get("partition").and_then(int32));
        let timestamp = fields.get("timestamp").and_then(Json::as_i64);
        out.push(SourceRecord {
            source_partition: SourceMap::new(),
            source_offset: SourceMap::new(),
            topic: topic.into(),
            kafka_partition: partition.into(),
            key_schema: ROption::RSome(bytes_schema.clone()),
            key: to_value(key),
            value_schema: ROption::RSome(bytes_schema.clone()),
            value: to_value(value),
            timestamp: timestamp.into(),
            headers,
        });
    }
    Ok(out)
}

/// A header of a consumed record: the value base64.
#[derive(Serialize)]
pub struct ConsumedHeader {
    key: String,
    value: String,
}

/// A consumed record as Strimzi returns it, fields in its order.
#[derive(Serialize)]
pub struct ConsumedRecord {
    topic: String,
    key: Json,
    value: Json,
    partition: i32,
    offset: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    headers: Vec<ConsumedHeader>,
}

/// Converts a polled message in `format`; a JSON consumer refuses records that are not JSON (406).
pub fn consumed<M: rdkafka::Message>(message: &M, format: Format) -> Result<ConsumedRecord, ApiError> {
    use rdkafka::message::Headers as _;
    let headers = message
        .headers()
        .map(|h| {
            h.iter()
                .map(|h| ConsumedHeader {
                    key: h.key.to_string(),
                    value: BASE64_OUT.encode(h.value.unwrap_or_default()),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(ConsumedRecord {
        topic: message.topic().to_string(),
        key: format.decode(message.key())?,
        value: format.decode(message.payload())?,
        partition: message.partition(),
        offset: message.offset(),
        timestamp: message.timestamp().to_millis(),
        headers,
    })
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(value: &Value) -> Option<&[u8]> {
        match value {
            Value::Bytes(b) => Some(b.as_slice()),
            _ => None,
        }
    }

    #[test]
    fn json_records_keep_their_serialization_and_fields() {
        let body = br#"{"records":[{"key":"k","value":{"a":[1,2]},"partition":2,"timestamp":1700000000000,
            "headers":[{"key":"h","value":"aGVsbG8="}]},{"value":null}]}"#;
        let records = parse_records(body, Format::Json, "t", None).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(bytes(&records[0].key), Some(&b"\"k\""[..]));
        assert_eq!(bytes(&records[0].value), Some(&br#"{"a":[1,2]}"#[..]));
        assert_eq!(records[0].kafka_partition, ROption::RSome(2));
        assert_eq!(records[0].timestamp, ROption::RSome(1_700_000_000_000));
        let header = records[0].headers.iter().next().unwrap();
        assert_eq!((header.key.as_str(), bytes(&header.value)), ("h", Some(&b"hello"[..])));
        assert_eq!(records[1].value, Value::Null);
        assert_eq!(records[1].key, Value::Null);
    }

    #[test]
    fn binary_and_text_formats_decode_their_strings() {
        let records =
            parse_records(br#"{"records":[{"key":"a2V5","value":"dmFsdWU"}]}"#, Format::Binary, "t", None).unwrap();
        assert_eq!(bytes(&records[0].key), Some(&b"key"[..]));
        assert_eq!(bytes(&records[0].value), Some(&b"value"[..]));
        let records = parse_records(br#"{"records":[{"value":"plain"}]}"#, Format::Text, "t", Some(1)).unwrap();
        assert_eq!(bytes(&records[0].value), Some(&b"plain"[..]));
        assert_eq!(records[0].kafka_partition, ROption::RSome(1));
    }

    #[test]
    fn schema_errors_are_400_and_conversion_errors_422() {
        let err = parse_records(br#"{"records":[{"key":"k"}]}"#, Format::Json, "t", None).unwrap_err();
        assert_eq!(err.error_code, 400);
        assert!(err.validation_errors.contains(&"Instance does not have required property \"value\"".to_string()));
        let err = parse_records(br#"{"records":[{"value":1,"partition":0}]}"#, Format::Json, "t", Some(0)).unwrap_err();
        assert!(err.validation_errors.iter().any(|e| e.contains("\"partition\" does not match additional")), "{err:?}");
        let err = parse_records(br#"{"records":[{"value":1,"partition":"x"}]}"#, Format::Json, "t", None).unwrap_err();
        assert_eq!(err.error_code, 400);
        let err = parse_records(br#"{"records":[{"value":1}]}"#, Format::Text, "t", None).unwrap_err();
        assert_eq!(
            (err.error_code, err.message.as_str()),
            (422, "Because the embedded format is 'text', the value must be a string")
        );
        let err = parse_records(b"{not json", Format::Json, "t", None).unwrap_err();
        assert_eq!(err.error_code, 400);
        assert!(err.message.starts_with("Validation error on: "));
    }

    #[test]
    fn consumed_values_render_per_format() {
        assert_eq!(Format::Binary.decode(Some(b"hi")).unwrap(), Json::String("aGk=".into()));
        assert_eq!(Format::Json.decode(Some(b"{\"a\":1}")).unwrap(), serde_json::json!({"a":1}));
        assert_eq!(Format::Json.decode(Some(b"nope")).unwrap_err().error_code, 406);
        assert_eq!(Format::Text.decode(None).unwrap(), Json::Null);
        assert_eq!(Format::from_content_type("application/vnd.kafka.json.v2+json; charset=utf-8"), Some(Format::Json));
    }
}
