//! The connector's settings: one model ([`Settings`]) behind two key sets, Aiven's ([`aiven`]) and Confluent's
//! ([`confluent`]). Parsing never stops at the first problem: every invalid key gets its own error, so the REST
//! `validate` endpoint shows them all, each under its key. Nothing here opens a connection; the only I/O is reading
//! the TLS files a key names, so a missing or non-PEM file is refused before a task starts.

pub mod aiven;
pub mod confluent;
mod reader;

use std::time::Duration;

use connect_api::config::{ConfigDef, ConfigValueInfo};
use connect_api::{Config, ConnectError, ErrorKind};
use regex::Regex;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};

pub(crate) use reader::Reader;

/// Which upstream connector's keys and behaviour a configuration follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySet {
    /// `io.aiven.kafka.connect.http.HttpSinkConnector`.
    Aiven,
    /// `io.confluent.connect.http.HttpSinkConnector`.
    Confluent,
}

impl KeySet {
    /// The connector class of this key set.
    pub fn class(self) -> &'static str {
        match self {
            KeySet::Aiven => aiven::CLASS,
            KeySet::Confluent => confluent::CLASS,
        }
    }

    /// The configuration keys of this key set.
    pub fn config_def(self) -> ConfigDef {
        match self {
            KeySet::Aiven => aiven::config_def(),
            KeySet::Confluent => confluent::config_def(),
        }
    }

    /// Parses `config` into settings, or every problem found, per key.
    pub fn settings(self, config: &Config) -> Result<Settings, KeyErrors> {
        match self {
            KeySet::Aiven => aiven::settings(config),
            KeySet::Confluent => confluent::settings(config),
        }
    }

    /// Kafka Connect's `validate` answer for `config`: the key-by-key type checks of the definition plus the checks
    /// across keys, each error under the key it is about.
    pub fn validate(self, config: &Config) -> Vec<ConfigValueInfo> {
        let mut infos = self.config_def().validate(config);
        if let Err(errors) = self.settings(config) {
            for (key, message) in errors.0 {
                match infos.iter_mut().find(|info| info.name == key) {
                    Some(info) if info.errors.contains(&message) => {}
                    Some(info) => info.errors.push(message),
                    None => infos.push(ConfigValueInfo {
                        value: config.get(&key).cloned(),
                        name: key,
                        recommended_values: Vec::new(),
                        errors: vec![message],
                        visible: true,
                    }),
                }
            }
        }
        infos
    }
}

/// Errors found in a configuration: `(key, message)`, in the order found.
#[derive(Debug, Default)]
pub struct KeyErrors(pub Vec<(String, String)>);

impl KeyErrors {
    /// A configuration error naming every problem, for a connector or task that cannot start.
    pub fn into_error(self) -> ConnectError {
        let lines: Vec<String> = self.0.iter().map(|(key, message)| format!("{key}: {message}")).collect();
        ConnectError::with_kind(ErrorKind::Config, lines.join("; "))
    }
}

/// Everything a task needs, whatever the key set.
#[derive(Debug)]
pub struct Settings {
    /// The key set the settings came from.
    pub key_set: KeySet,
    /// Where records go, with `${topic}`/`${key}` still to fill in (Confluent).
    pub url: UrlTemplate,
    /// The method of requests that carry records.
    pub method: Method,
    /// Headers sent with every request (Content-Type included, Authorization excluded).
    pub headers: HeaderMap,
    /// How requests are authorized.
    pub auth: AuthSettings,
    /// TLS trust and client certificate.
    pub tls: TlsSettings,
    /// An HTTP proxy for every request.
    pub proxy: Option<ProxySettings>,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Time allowed for a whole request, from sending it to the end of the response.
    pub request_timeout: Duration,
    /// How records are grouped into requests.
    pub batch: BatchSettings,
    /// How one record becomes bytes of a body.
    pub body: BodyFormat,
    /// Confluent's `regex.patterns` and their replacements, applied to each record's text in order.
    pub replacements: Vec<(Regex, String)>,
    /// What to do with a record whose value is null (a tombstone).
    pub nulls: NullValues,
    /// When and how failed requests are tried again.
    pub retry: RetrySettings,
    /// What to do with records whose request failed for good (or that cannot be encoded).
    pub on_error: OnError,
    /// `errors.tolerance=all`: records that fail for good go to the worker's dead letter queue (`report_errant`).
    pub tolerate_all: bool,
    /// Aiven's `kafka.retry.backoff.ms`: the worker's backoff before a batch is delivered again.
    pub kafka_retry_backoff_ms: Option<i64>,
    /// Keys set that connect-rs accepts but does not act on (Confluent's response topics), to warn about.
    pub ignored_keys: Vec<String>,
}

/// A URL with Confluent's `${topic}` and `${key}` placeholders.
#[derive(Clone, Debug)]
pub struct UrlTemplate {
    parts: Vec<UrlPart>,
    /// The parsed URL when there is no placeholder (the usual case: no rendering per record).
    fixed: Option<Url>,
}

#[derive(Clone, Debug, PartialEq)]
enum UrlPart {
    Text(String),
    Topic,
    Key,
}

impl UrlTemplate {
    /// Parses `text`; with `placeholders` false (Aiven) `${..}` is literal text. The error says why the URL is not
    /// an absolute http(s) URL.
    pub fn parse(text: &str, placeholders: bool) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while placeholders && !rest.is_empty() {
            let next = [("${topic}", UrlPart::Topic), ("${key}", UrlPart::Key)]
                .into_iter()
                .filter_map(|(token, part)| rest.find(token).map(|at| (at, token, part)))
                .min_by_key(|(at, _, _)| *at);
            let Some((at, token, part)) = next else { break };
            if at > 0 {
                parts.push(UrlPart::Text(rest[..at].to_string()));
            }
            parts.push(part);
            rest = &rest[at + token.len()..];
        }
        if !rest.is_empty() {
            parts.push(UrlPart::Text(rest.to_string()));
        }
        let template = UrlTemplate { parts, fixed: None };
        // The sample stands for any topic and key: a URL that is valid with them is valid with every record.
        let sample = check_url(&template.render_text("topic", "key"))?;
        let fixed = (!template.has_placeholders()).then_some(sample);
        Ok(UrlTemplate { fixed, ..template })
    }

    /// Whether the URL depends on the record.
    pub fn has_placeholders(&self) -> bool {
        self.parts.iter().any(|p| !matches!(p, UrlPart::Text(_)))
    }

    /// The URL for a record of `topic` with key text `key` (percent-encoded into the URL).
    pub fn render_text(&self, topic: &str, key: &str) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                UrlPart::Text(text) => out.push_str(text),
                UrlPart::Topic => out.extend(percent_encoding::utf8_percent_encode(topic, SEGMENT)),
                UrlPart::Key => out.extend(percent_encoding::utf8_percent_encode(key, SEGMENT)),
            }
        }
        out
    }

    /// The URL when it does not depend on the record.
    pub fn fixed(&self) -> Option<&Url> {
        self.fixed.as_ref()
    }
}

/// What a substituted value must escape to stay one path segment or query value: everything but RFC 3986's
/// unreserved characters.
const SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// `text` as an absolute http or https URL with a host.
pub fn check_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| format!("must be an absolute http or https URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("must be an http or https URL, not {}", url.scheme()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must name a host".into());
    }
    Ok(url)
}

/// How requests are authorized.
#[derive(Clone, Debug)]
pub enum AuthSettings {
    /// No Authorization header.
    None,
    /// A fixed Authorization header (Aiven's `static`, Confluent's `BASIC`).
    Header(HeaderValue),
    /// OAuth2 client credentials.
    OAuth2(Box<OAuth2Settings>),
}

/// The OAuth2 client-credentials flow: where and how to ask for a token.
#[derive(Clone, Debug)]
pub struct OAuth2Settings {
    /// The token endpoint.
    pub token_url: Url,
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: String,
    /// How the client authenticates to the token endpoint.
    pub client_auth: ClientAuth,
    /// The `scope` form field, if any.
    pub scope: Option<String>,
    /// The `grant_type` form field: (name, value).
    pub grant_type: (String, String),
    /// The form field names of the client id and secret in [`ClientAuth::Form`] mode.
    pub id_field: String,
    /// See `id_field`.
    pub secret_field: String,
    /// The JSON property of the token response that holds the token.
    pub token_property: String,
    /// Extra headers of the token request (Confluent's `oauth2.client.headers`).
    pub token_headers: HeaderMap,
    /// Statuses of a data request after which the token is fetched again and the request retried.
    pub renew_on: Vec<u16>,
}

/// How an OAuth2 client authenticates to the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// `Authorization: Basic base64(id:secret)` (`HEADER`, `header`).
    Header,
    /// The id and secret as form fields (`URL`, `url`).
    Form,
}

/// TLS trust and client identity. Files are PEM (JKS and PKCS12 stores are refused at validation).
#[derive(Clone, Debug, Default)]
pub struct TlsSettings {
    /// Accept any server certificate (Aiven's `http.ssl.trust.all.certs`).
    pub trust_all: bool,
    /// Check that the certificate names the host (Confluent's `https.host.verifier.enabled`).
    pub verify_hostname: bool,
    /// CA certificates (PEM) trusted instead of the system's.
    pub ca_pem: Option<Vec<u8>>,
    /// Client certificate chain and private key (PEM) for mutual TLS.
    pub identity_pem: Option<Vec<u8>>,
    /// The highest TLS version to use, when `https.ssl.protocol` caps it.
    pub version: Option<TlsVersion>,
}

/// A cap on the TLS version (rustls speaks 1.2 and 1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsVersion {
    /// At most TLS 1.2 (Java's `TLSv1.2` context).
    UpTo12,
}

/// An HTTP proxy.
#[derive(Clone, Debug)]
pub struct ProxySettings {
    /// `http://host:port`.
    pub url: String,
    /// Basic credentials for the proxy.
    pub credentials: Option<(String, String)>,
}

/// How records are grouped into requests.
#[derive(Clone, Debug)]
pub struct BatchSettings {
    /// At most this many records per request (1: one request per record).
    pub max_records: usize,
    /// At most this many body bytes per request (0: no limit); a record larger than that goes alone.
    pub max_bytes: usize,
    /// Written once before the first record of a request.
    pub prefix: String,
    /// Written between records.
    pub separator: String,
    /// Written once after the last record.
    pub suffix: String,
    /// Records go into a JSON array (Confluent's `batch.json.as.array` with `request.body.format=json`).
    pub json_array: bool,
    /// Whether prefix, separator and suffix wrap a request of one record too (Confluent; Aiven sends a lone record
    /// bare when batching is off).
    pub wrap_single: bool,
    /// Confluent's `batch.key.pattern`: records whose rendered pattern differs go into different requests.
    pub key_pattern: Option<String>,
}

/// How one record becomes part of a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFormat {
    /// Aiven: a string value as it is, a struct or map as JSON; anything else is an error.
    AivenValue {
        /// `decimal.format=NUMERIC`.
        numeric_decimals: bool,
    },
    /// Confluent `request.body.format=string`: the value's text, as Java's `toString`.
    Text,
    /// Confluent `request.body.format=json`: the value as JSON; a string holding a JSON object or array is
    /// embedded as it is.
    Json,
}

/// What to do with a null value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NullValues {
    /// Aiven: the task fails ("Record value must not be null").
    FailTask,
    /// Skip the record.
    Ignore,
    /// Log its coordinates and key, skip it.
    Log,
    /// Handle it as a failed record (`behavior.on.error`).
    Fail,
    /// Send a DELETE to the record's URL.
    Delete,
}

/// When a request is tried again.
#[derive(Clone, Debug)]
pub struct RetrySettings {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The base wait between attempts.
    pub backoff: Duration,
    /// Double the wait at each retry, with jitter, up to [`MAX_BACKOFF`].
    pub exponential: bool,
    /// Statuses retried besides I/O errors, 408, 429 and 5xx, which always are.
    pub statuses: StatusRanges,
    /// Statuses that count as success: 2xx for Confluent, below 400 for Aiven.
    pub success_below: u16,
}

/// The longest exponential backoff between two attempts (Kafka's `errors.retry.delay.max.ms` default).
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// What to do with records that failed for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnError {
    /// Aiven: with batching the task fails; without, each record is reported (dead letter queue) when
    /// `errors.tolerance=all`, else the task fails.
    Aiven {
        /// `batching.enabled`.
        batching: bool,
    },
    /// Confluent `behavior.on.error=fail`.
    Fail,
    /// Confluent `log`: log and go on.
    Log,
    /// Confluent `ignore`: go on.
    Ignore,
}

/// Inclusive status ranges, as Confluent's `retry.on.status.codes` (`408,429,500-`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusRanges(pub Vec<(u16, u16)>);

impl StatusRanges {
    /// Parses `400-`, `500-599`, `404` items.
    pub fn parse(items: &[String]) -> Result<Self, String> {
        let mut ranges = Vec::new();
        for item in items.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
            let code = |text: &str| -> Result<u16, String> {
                text.trim()
                    .parse::<u16>()
                    .ok()
                    .filter(|c| (100..=599).contains(c))
                    .ok_or_else(|| format!("{item} is not a status code or range (100-599, e.g. 408,429,500-)"))
            };
            let range = match item.split_once('-') {
                Some((from, "")) => (code(from)?, 599),
                Some((from, to)) => (code(from)?, code(to)?),
                None => (code(item)?, code(item)?),
            };
            if range.0 > range.1 {
                return Err(format!("{item} is an empty range"));
            }
            ranges.push(range);
        }
        Ok(StatusRanges(ranges))
    }

    /// Whether `status` is in one of the ranges.
    pub fn contains(&self, status: u16) -> bool {
        self.0.iter().any(|(from, to)| (*from..=*to).contains(&status))
    }
}

/// Parses `Name:value` header entries: valid names and values, no name twice (case-insensitive).
pub fn parse_headers<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    for entry in entries.into_iter().map(str::trim).filter(|e| !e.is_empty()) {
        let Some((name, value)) = entry.split_once(':') else {
            return Err(format!("{entry} is not of the form Name:value"));
        };
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| format!("{} is not a valid header name", name.trim()))?;
        let value = HeaderValue::from_str(value.trim())
            .map_err(|_| format!("the value of header {name} holds characters a header cannot carry"))?;
        if headers.contains_key(&name) {
            return Err(format!("header {name} is given twice (header names are case-insensitive)"));
        }
        headers.insert(name, value);
    }
    Ok(headers)
}

/// A `Basic` Authorization header value.
pub fn basic_auth(user: &str, password: &str) -> Result<HeaderValue, String> {
    use base64::Engine;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let mut value =
        HeaderValue::from_str(&format!("Basic {token}")).map_err(|_| "cannot be sent in a header".to_string())?;
    value.set_sensitive(true);
    Ok(value)
}

/// Reads a PEM file of certificates (a trust store): the error says why it cannot be used.
pub fn read_ca_file(path: &str) -> Result<Vec<u8>, String> {
    let bytes = read_pem(path)?;
    let certs = reqwest::Certificate::from_pem_bundle(&bytes).map_err(|e| format!("{path}: malformed PEM: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{path} holds no certificate (-----BEGIN CERTIFICATE-----)"));
    }
    Ok(bytes)
}

/// Reads a PEM file holding a private key and its certificate chain (a key store).
pub fn read_identity_file(path: &str, password_set: bool) -> Result<Vec<u8>, String> {
    let bytes = read_pem(path)?;
    if bytes.windows(27).any(|w| w == b"BEGIN ENCRYPTED PRIVATE KEY") {
        let password = if password_set { " (the key password is set but cannot be used)" } else { "" };
        return Err(format!(
            "{path} holds an encrypted private key{password}: connect-rs reads unencrypted PEM keys only; decrypt it \
             with openssl pkcs8 -nocrypt"
        ));
    }
    if !bytes.windows(10).any(|w| w == b"PRIVATE KE") {
        return Err(format!("{path} holds no private key (-----BEGIN PRIVATE KEY-----)"));
    }
    if !bytes.windows(17).any(|w| w == b"BEGIN CERTIFICATE") {
        return Err(format!("{path} holds no certificate (-----BEGIN CERTIFICATE-----) to go with its key"));
    }
    reqwest::Identity::from_pem(&bytes).map_err(|e| format!("{path}: unusable key or certificate: {e}"))?;
    Ok(bytes)
}

const NOT_PEM: &str = "JKS and PKCS12 stores are not supported by connect-rs; convert the store to PEM (keytool \
                       -exportcert -rfc, openssl pkcs12 -nodes)";

fn read_pem(path: &str) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    if !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        return Err(format!("{path} is not a PEM file: {NOT_PEM}"));
    }
    Ok(bytes)
}

/// Kafka's message for an invalid value: `Invalid value <v> for configuration <key>: <why>`.
pub fn invalid(key: &str, value: &str, why: impl std::fmt::Display) -> String {
    format!("Invalid value {value} for configuration {key}: {why}")
}

/// Whether the framework key `errors.tolerance` is `all`.
pub fn tolerates_all(config: &Config) -> bool {
    config.get("errors.tolerance").is_some_and(|v| v.trim().eq_ignore_ascii_case("all"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_templates_fill_topic_and_encoded_key() {
        let t = UrlTemplate::parse("http://h:1/api/${topic}/${key}?x=1", true).unwrap();
        assert!(t.has_placeholders() && t.fixed().is_none());
        assert_eq!(t.render_text("orders", "a b/c"), "http://h:1/api/orders/a%20b%2Fc?x=1");
        let fixed = UrlTemplate::parse("http://h:1/api/${topic}", false).unwrap();
        assert!(!fixed.has_placeholders());
        assert_eq!(fixed.fixed().unwrap().as_str(), "http://h:1/api/$%7Btopic%7D");
        assert!(UrlTemplate::parse("ftp://h/x", true).unwrap_err().contains("http or https"));
        assert!(UrlTemplate::parse("not a url", true).unwrap_err().contains("absolute"));
        assert!(UrlTemplate::parse("http://:80/${key}", true).is_err());
    }

    #[test]
    fn status_ranges_are_inclusive() {
        let ranges = StatusRanges::parse(&["408".into(), "500-".into(), "420-421".into()]).unwrap();
        assert!(ranges.contains(408) && ranges.contains(599) && ranges.contains(421));
        assert!(!ranges.contains(400) && !ranges.contains(422));
        assert!(StatusRanges::parse(&["abc".into()]).unwrap_err().contains("abc"));
        assert!(StatusRanges::parse(&["500-400".into()]).unwrap_err().contains("empty"));
        assert!(StatusRanges::parse(&["700".into()]).is_err());
    }

    #[test]
    fn headers_are_checked() {
        let headers = parse_headers(["X-A: 1", " x-b:two:three "]).unwrap();
        assert_eq!(headers["x-b"], "two:three");
        assert!(parse_headers(["X-A:1", "x-a:2"]).unwrap_err().contains("twice"));
        assert!(parse_headers(["novalue"]).unwrap_err().contains("Name:value"));
        assert!(parse_headers(["bad name:1"]).unwrap_err().contains("header name"));
    }
}
