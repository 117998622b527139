//! Confluent's key set (`io.confluent.connect.http.HttpSinkConnector`, documented at docs.confluent.io), mapped onto
//! [`Settings`]: `${topic}`/`${key}` in the URL, POST/PUT/PATCH and DELETE for tombstones, NONE/BASIC/OAUTH2
//! authorization, `batch.key.pattern` grouping, string or JSON bodies, `retry.on.status.codes`,
//! `behavior.on.error`. The response topics (`reporter.*`) are accepted and not written (connect-rs plugins have no
//! Kafka client): the task warns once when they are configured.

use std::time::Duration;

use connect_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, Validator, Width};
use connect_api::Config;
use regex::Regex;
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use reqwest::Method;

use super::{
    basic_auth, check_url, parse_headers, read_ca_file, read_identity_file, tolerates_all, AuthSettings, BatchSettings,
    BodyFormat, ClientAuth, KeyErrors, KeySet, NullValues, OAuth2Settings, OnError, ProxySettings, Reader,
    RetrySettings, Settings, StatusRanges, TlsSettings, TlsVersion, UrlTemplate,
};

/// The class of Confluent's HTTP sink.
pub const CLASS: &str = "io.confluent.connect.http.HttpSinkConnector";

const CONNECTION: &str = "Connection";
const AUTH: &str = "Authentication";
const SSL: &str = "Security";
const BATCHING: &str = "Batching";
const RETRIES: &str = "Retries";
const REGEX: &str = "Regex";
const REPORTER: &str = "Reporter";

/// The `reporter.*` keys of Confluent's response topics, which connect-rs accepts and does not act on.
const REPORTER_KEYS: &[&str] = &[
    "reporter.bootstrap.servers",
    "reporter.result.topic.name",
    "reporter.error.topic.name",
    "reporter.result.topic.replication.factor",
    "reporter.error.topic.replication.factor",
    "reporter.result.topic.value.format",
    "reporter.error.topic.value.format",
];

fn key(name: &str, ty: ConfigType, group: &str, order: i32) -> ConfigKey {
    ConfigKey::new(name, ty).group(group, order).display_name(name)
}

fn any_case(values: &[&str]) -> Validator {
    Validator::CaseInsensitiveOneOf(values.iter().map(|v| v.to_string()).collect())
}

fn at_least(min: f64) -> Validator {
    Validator::Range { min: Some(min), max: None }
}

/// Confluent's configuration keys.
pub fn config_def() -> ConfigDef {
    let mut def = ConfigDef::new()
        .define(
            key("http.api.url", ConfigType::String, CONNECTION, 0)
                .importance(Importance::High)
                .width(Width::Long)
                .documentation("The HTTP API URL; ${topic} and ${key} are replaced by the record's topic and key."),
        )
        .define(
            key("request.method", ConfigType::String, CONNECTION, 1)
                .default_value("POST")
                .validator(any_case(&["POST", "PUT", "PATCH"]))
                .importance(Importance::High)
                .documentation("The HTTP method of requests that carry records: POST, PUT or PATCH."),
        )
        .define(
            key("headers", ConfigType::String, CONNECTION, 2)
                .default_value("")
                .importance(Importance::High)
                .documentation("Headers sent with every request, Name:value, separated by header.separator."),
        )
        .define(
            key("header.separator", ConfigType::String, CONNECTION, 3)
                .default_value("|")
                .documentation("The separator between the entries of headers."),
        )
        .define(
            key("sensitive.headers", ConfigType::String, CONNECTION, 4)
                .default_value("")
                .importance(Importance::Low)
                .documentation("Headers whose values are secrets; connect-rs never logs header values."),
        )
        .define(
            key("request.body.format", ConfigType::String, CONNECTION, 5)
                .default_value("string")
                .validator(any_case(&["string", "json"]))
                .documentation("string: each record's value as text; json: each value as JSON."),
        )
        .define(
            key("behavior.on.null.values", ConfigType::String, CONNECTION, 6)
                .default_value("ignore")
                .validator(any_case(&["ignore", "log", "fail", "delete"]))
                .importance(Importance::Low)
                .documentation(
                    "Records with a null value: ignore, log (their coordinates and key), fail (as a failed request, \
                     see behavior.on.error) or delete (a DELETE request to the record's URL).",
                ),
        )
        .define(
            key("behavior.on.error", ConfigType::String, CONNECTION, 7)
                .default_value("fail")
                .validator(any_case(&["fail", "log", "ignore"]))
                .importance(Importance::Low)
                .documentation(
                    "After retries: fail the task, log the error and go on, or ignore it. With errors.tolerance=all \
                     the records go to the dead letter queue instead.",
                ),
        )
        .define(
            key("report.errors.as", ConfigType::String, CONNECTION, 8)
                .default_value("error_string")
                .validator(any_case(&["error_string", "http_response"]))
                .importance(Importance::Low)
                .documentation("The content of error-topic records (the error topic is not written by connect-rs)."),
        )
        .define(
            key("http.connect.timeout.ms", ConfigType::Int, CONNECTION, 9)
                .default_value("30000")
                .validator(at_least(1.0))
                .importance(Importance::Low)
                .documentation("The time allowed to connect, in milliseconds."),
        )
        .define(
            key("http.request.timeout.ms", ConfigType::Int, CONNECTION, 10)
                .default_value("30000")
                .validator(at_least(1.0))
                .importance(Importance::Low)
                .documentation("The time allowed for a request and its response, in milliseconds."),
        )
        .define(
            key("http.proxy.host", ConfigType::String, CONNECTION, 11)
                .default_value("")
                .importance(Importance::Low)
                .documentation("The host of an HTTP proxy."),
        )
        .define(
            key("http.proxy.port", ConfigType::Int, CONNECTION, 12)
                .default_value("0")
                .importance(Importance::Low)
                .documentation("The port of the HTTP proxy."),
        )
        .define(
            key("http.proxy.user", ConfigType::String, CONNECTION, 13)
                .default_value("")
                .importance(Importance::Low)
                .documentation("The user name for the proxy."),
        )
        .define(
            key("http.proxy.password", ConfigType::Password, CONNECTION, 14)
                .default_value("")
                .importance(Importance::Low)
                .documentation("The password for the proxy."),
        )
        .define(
            key("auth.type", ConfigType::String, AUTH, 0)
                .default_value("NONE")
                .validator(any_case(&["NONE", "BASIC", "OAUTH2", "THIRD_PARTY"]))
                .importance(Importance::High)
                .documentation("NONE, BASIC (connection.user, connection.password) or OAUTH2 (client credentials)."),
        )
        .define(
            key("connection.user", ConfigType::String, AUTH, 1)
                .optional()
                .documentation("The user name for BASIC authorization."),
        )
        .define(
            key("connection.password", ConfigType::Password, AUTH, 2)
                .optional()
                .documentation("The password for BASIC authorization."),
        )
        .define(
            key("oauth2.token.url", ConfigType::String, AUTH, 3)
                .optional()
                .width(Width::Long)
                .documentation("The token endpoint of the OAuth2 client credentials grant."),
        )
        .define(key("oauth2.client.id", ConfigType::String, AUTH, 4).optional().documentation("The OAuth2 client id."))
        .define(
            key("oauth2.client.secret", ConfigType::Password, AUTH, 5)
                .optional()
                .documentation("The OAuth2 client secret."),
        )
        .define(
            key("oauth2.client.scope", ConfigType::String, AUTH, 6)
                .default_value("any")
                .importance(Importance::Low)
                .documentation("The scope asked for with the token."),
        )
        .define(
            key("oauth2.client.auth.mode", ConfigType::String, AUTH, 7)
                .default_value("header")
                .validator(any_case(&["header", "url"]))
                .importance(Importance::Low)
                .documentation("header: the credentials in an Authorization: Basic header; url: as form fields."),
        )
        .define(
            key("oauth2.token.property", ConfigType::String, AUTH, 8)
                .default_value("access_token")
                .validator(Validator::NonEmptyStringWithoutControlChars)
                .importance(Importance::Low)
                .documentation("The JSON property of the token response that holds the token."),
        )
        .define(
            key("oauth2.client.headers", ConfigType::Password, AUTH, 9)
                .default_value("")
                .importance(Importance::Low)
                .documentation(
                    "Headers of the token request, Name:value, separated by oauth2.client.header.separator.",
                ),
        )
        .define(
            key("oauth2.client.header.separator", ConfigType::String, AUTH, 10)
                .default_value("|")
                .importance(Importance::Low)
                .documentation("The separator between the entries of oauth2.client.headers."),
        )
        .define(
            key("ssl.enabled", ConfigType::Boolean, SSL, 0)
                .default_value("false")
                .importance(Importance::Low)
                .documentation("Whether the https.ssl.* keys apply (an https URL uses TLS either way)."),
        )
        .define(
            key("https.ssl.truststore.location", ConfigType::String, SSL, 1)
                .optional()
                .documentation("A PEM file of the CA certificates to trust instead of the system's."),
        )
        .define(
            key("https.ssl.truststore.type", ConfigType::String, SSL, 2)
                .default_value("JKS")
                .importance(Importance::Low)
                .documentation("The trust store type; connect-rs reads PEM files only."),
        )
        .define(
            key("https.ssl.truststore.password", ConfigType::Password, SSL, 3)
                .optional()
                .importance(Importance::Low)
                .documentation("The trust store password; not needed for PEM files."),
        )
        .define(
            key("https.ssl.keystore.location", ConfigType::String, SSL, 4)
                .optional()
                .documentation("A PEM file with the private key and certificate chain presented to the server."),
        )
        .define(
            key("https.ssl.keystore.type", ConfigType::String, SSL, 5)
                .default_value("JKS")
                .importance(Importance::Low)
                .documentation("The key store type; connect-rs reads PEM files only."),
        )
        .define(
            key("https.ssl.keystore.password", ConfigType::Password, SSL, 6)
                .optional()
                .importance(Importance::Low)
                .documentation("The key store password; PEM keys must be unencrypted."),
        )
        .define(
            key("https.ssl.key.password", ConfigType::Password, SSL, 7)
                .optional()
                .importance(Importance::Low)
                .documentation("The private key password; PEM keys must be unencrypted."),
        )
        .define(
            key("https.ssl.protocol", ConfigType::String, SSL, 8)
                .default_value("TLSv1.3")
                .importance(Importance::Low)
                .documentation("The highest TLS version: TLSv1.3 (or TLS) or TLSv1.2."),
        )
        .define(
            key("https.host.verifier.enabled", ConfigType::Boolean, SSL, 9)
                .default_value("true")
                .importance(Importance::Low)
                .documentation("Whether the server certificate must name the host."),
        )
        .define(
            key("batch.max.size", ConfigType::Int, BATCHING, 0)
                .default_value("1")
                .validator(at_least(1.0))
                .importance(Importance::High)
                .documentation("The most records sent in one request."),
        )
        .define(
            key("batch.max.bytes", ConfigType::Int, BATCHING, 1)
                .default_value("0")
                .validator(at_least(0.0))
                .importance(Importance::Low)
                .documentation(
                    "connect-rs addition: the most body bytes in one request (0: no limit); a record larger than \
                     that is sent alone.",
                ),
        )
        .define(
            key("batch.key.pattern", ConfigType::String, BATCHING, 2)
                .default_value("someKey")
                .documentation("Records whose pattern (with ${key} and ${topic} filled in) differs go apart."),
        )
        .define(
            key("batch.prefix", ConfigType::String, BATCHING, 3)
                .default_value("")
                .documentation("Written once before the records of a request."),
        )
        .define(
            key("batch.suffix", ConfigType::String, BATCHING, 4)
                .default_value("")
                .documentation("Written once after the records of a request."),
        )
        .define(
            key("batch.separator", ConfigType::String, BATCHING, 5)
                .default_value(",")
                .documentation("Written between records (string bodies)."),
        )
        .define(key("batch.json.as.array", ConfigType::Boolean, BATCHING, 6).default_value("true").documentation(
            "With request.body.format=json, send the records as a JSON array; false only with \
                     batch.max.size=1.",
        ))
        .define(
            key("max.retries", ConfigType::Int, RETRIES, 0)
                .default_value("10")
                .validator(at_least(0.0))
                .documentation("How many times a failed request is tried again."),
        )
        .define(
            key("retry.backoff.ms", ConfigType::Int, RETRIES, 1)
                .default_value("3000")
                .validator(at_least(0.0))
                .documentation("The (base) wait before a retry; a 429's Retry-After wins when longer."),
        )
        .define(
            key("retry.backoff.policy", ConfigType::String, RETRIES, 2)
                .default_value("EXPONENTIAL_WITH_JITTER")
                .validator(any_case(&["EXPONENTIAL_WITH_JITTER", "CONSTANT_VALUE"]))
                .importance(Importance::Low)
                .documentation("EXPONENTIAL_WITH_JITTER (doubling, up to 60 s) or CONSTANT_VALUE."),
        )
        .define(key("retry.on.status.codes", ConfigType::String, RETRIES, 3).default_value("400-").documentation(
            "Statuses retried, as codes and inclusive ranges (408,429,500-); connection errors, timeouts, \
                     408, 429 and 5xx are always retried.",
        ))
        .define(
            key("regex.patterns", ConfigType::String, REGEX, 0)
                .default_value("")
                .importance(Importance::Low)
                .documentation("Regular expressions replaced in each record's text, separated by regex.separator."),
        )
        .define(
            key("regex.replacements", ConfigType::String, REGEX, 1)
                .default_value("")
                .importance(Importance::Low)
                .documentation("The replacements of regex.patterns, in the same order."),
        )
        .define(
            key("regex.separator", ConfigType::String, REGEX, 2)
                .default_value("~")
                .importance(Importance::Low)
                .documentation("The separator of regex.patterns and regex.replacements."),
        );
    for (order, name) in REPORTER_KEYS.iter().enumerate() {
        def = def.define(
            key(name, ConfigType::String, REPORTER, order as i32)
                .optional()
                .importance(Importance::Low)
                .documentation("Response topics: accepted for compatibility; connect-rs does not write them."),
        );
    }
    def
}

/// Parses a Confluent configuration.
pub fn settings(config: &Config) -> Result<Settings, KeyErrors> {
    let mut r = Reader::new(config_def(), config);

    let url = r
        .string("http.api.url")
        .and_then(|text| UrlTemplate::parse(&text, true).map_err(|why| r.invalid("http.api.url", why)).ok());
    let method = match r.string("request.method").map(|m| m.to_ascii_uppercase()).as_deref() {
        Some("PUT") => Method::PUT,
        Some("PATCH") => Method::PATCH,
        _ => Method::POST,
    };

    let separator = r.verbatim("header.separator", "|");
    let header_text = r.string("headers").unwrap_or_default();
    let mut headers = split(&header_text, &separator).and_then(parse_headers).unwrap_or_else(|why| {
        r.invalid("headers", why);
        Default::default()
    });
    r.string("sensitive.headers");

    let json = r.string("request.body.format").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    if !headers.contains_key(CONTENT_TYPE) {
        let default = if json { "application/json" } else { "text/plain; charset=UTF-8" };
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(default));
    }

    let nulls = match r.string("behavior.on.null.values").map(|b| b.to_ascii_lowercase()).as_deref() {
        Some("log") => NullValues::Log,
        Some("fail") => NullValues::Fail,
        Some("delete") => NullValues::Delete,
        _ => NullValues::Ignore,
    };
    let on_error = match r.string("behavior.on.error").map(|b| b.to_ascii_lowercase()).as_deref() {
        Some("log") => OnError::Log,
        Some("ignore") => OnError::Ignore,
        _ => OnError::Fail,
    };
    r.string("report.errors.as");

    let connect_timeout = Duration::from_millis(r.int("http.connect.timeout.ms").max(1) as u64);
    let request_timeout = Duration::from_millis(r.int("http.request.timeout.ms").max(1) as u64);
    let proxy = confluent_proxy(&mut r);
    let auth = confluent_auth(&mut r);
    let tls = confluent_tls(&mut r);

    let max_records = r.int("batch.max.size").max(1) as usize;
    let json_array = json && r.boolean("batch.json.as.array");
    if json && !r.boolean("batch.json.as.array") && max_records > 1 {
        r.invalid(
            "batch.json.as.array",
            format!(
                "can be false only with batch.max.size=1 (it is {max_records}): records of one request must go into \
                 a JSON array"
            ),
        );
    }
    let batch = BatchSettings {
        max_records,
        max_bytes: r.int("batch.max.bytes").max(0) as usize,
        prefix: r.verbatim("batch.prefix", ""),
        separator: r.verbatim("batch.separator", ","),
        suffix: r.verbatim("batch.suffix", ""),
        json_array,
        wrap_single: true,
        key_pattern: r.string("batch.key.pattern"),
    };

    let exponential =
        r.string("retry.backoff.policy").is_none_or(|p| p.eq_ignore_ascii_case("EXPONENTIAL_WITH_JITTER"));
    let codes = r.string("retry.on.status.codes").unwrap_or_default();
    let items: Vec<String> = codes.split(',').map(str::to_string).collect();
    let statuses = StatusRanges::parse(&items).unwrap_or_else(|why| {
        r.invalid("retry.on.status.codes", why);
        StatusRanges::default()
    });
    let retry = RetrySettings {
        max_retries: r.int("max.retries").max(0) as u32,
        backoff: Duration::from_millis(r.int("retry.backoff.ms").max(0) as u64),
        exponential,
        statuses,
        success_below: 300,
    };

    let replacements = confluent_regex(&mut r);
    let ignored_keys: Vec<String> =
        REPORTER_KEYS.iter().filter(|k| r.non_blank(k).is_some()).map(|k| k.to_string()).collect();

    let settings = Settings {
        key_set: KeySet::Confluent,
        url: url.unwrap_or_else(|| UrlTemplate::parse("http://unset", false).expect("a valid URL")),
        method,
        headers,
        auth,
        tls,
        proxy,
        connect_timeout,
        request_timeout,
        batch,
        body: if json { BodyFormat::Json } else { BodyFormat::Text },
        replacements,
        nulls,
        retry,
        on_error,
        tolerate_all: tolerates_all(config),
        kafka_retry_backoff_ms: None,
        ignored_keys,
    };
    r.finish(settings)
}

/// Splits `text` at `separator` (a literal string, as Java's `split` of a quoted pattern).
fn split<'a>(text: &'a str, separator: &str) -> Result<Vec<&'a str>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    if separator.is_empty() {
        return Err("the separator is empty".into());
    }
    Ok(text.split(separator).collect())
}

fn confluent_proxy(r: &mut Reader<'_>) -> Option<ProxySettings> {
    let host = r.non_blank("http.proxy.host");
    let port = r.int("http.proxy.port");
    let user = r.non_blank("http.proxy.user");
    let password = r.string("http.proxy.password").unwrap_or_default();
    match host {
        None if port > 0 => {
            r.invalid("http.proxy.host", "must be set when http.proxy.port is set");
            None
        }
        None => None,
        Some(_) if !(1..=65535).contains(&port) => {
            r.invalid("http.proxy.port", "must be a port (1 to 65535) when http.proxy.host is set");
            None
        }
        Some(host) => {
            Some(ProxySettings { url: format!("http://{host}:{port}"), credentials: user.map(|user| (user, password)) })
        }
    }
}

fn confluent_auth(r: &mut Reader<'_>) -> AuthSettings {
    let kind = r.string("auth.type").map(|k| k.to_ascii_uppercase());
    let user = r.string("connection.user");
    let password = r.string("connection.password");
    let token_url = r.string("oauth2.token.url");
    let client_id = r.string("oauth2.client.id");
    let client_secret = r.string("oauth2.client.secret");
    let scope = r.non_blank("oauth2.client.scope");
    let mode = r.string("oauth2.client.auth.mode");
    let token_property = r.string("oauth2.token.property");
    let header_separator = r.verbatim("oauth2.client.header.separator", "|");
    let token_headers = r.string("oauth2.client.headers").unwrap_or_default();
    let token_headers = split(&token_headers, &header_separator).and_then(parse_headers).unwrap_or_else(|why| {
        r.error("oauth2.client.headers", super::invalid("oauth2.client.headers", "[hidden]", why));
        Default::default()
    });
    match kind.as_deref() {
        Some("BASIC") => {
            let Some(user) = user.filter(|u| !u.is_empty()) else {
                r.invalid("connection.user", "Must be set when auth.type = BASIC");
                return AuthSettings::None;
            };
            match basic_auth(&user, password.as_deref().unwrap_or("")) {
                Ok(value) => AuthSettings::Header(value),
                Err(why) => {
                    r.invalid("connection.user", why);
                    AuthSettings::None
                }
            }
        }
        Some("OAUTH2") => {
            let must = "Must be set when auth.type = OAUTH2";
            let token_url = match token_url.as_deref().map(check_url) {
                Some(Ok(url)) => Some(url),
                Some(Err(why)) => {
                    r.invalid("oauth2.token.url", why);
                    None
                }
                None => {
                    r.invalid("oauth2.token.url", must);
                    None
                }
            };
            let client_id = client_id.filter(|id| !id.trim().is_empty());
            if client_id.is_none() {
                r.invalid("oauth2.client.id", must);
            }
            let client_secret = client_secret.filter(|s| !s.is_empty());
            if client_secret.is_none() {
                r.error(
                    "oauth2.client.secret",
                    format!("Invalid value null for configuration oauth2.client.secret: {must}"),
                );
            }
            let (Some(token_url), Some(client_id), Some(client_secret)) = (token_url, client_id, client_secret) else {
                return AuthSettings::None;
            };
            AuthSettings::OAuth2(Box::new(OAuth2Settings {
                token_url,
                client_id,
                client_secret,
                client_auth: if mode.is_some_and(|m| m.eq_ignore_ascii_case("url")) {
                    ClientAuth::Form
                } else {
                    ClientAuth::Header
                },
                scope,
                grant_type: ("grant_type".into(), "client_credentials".into()),
                id_field: "client_id".into(),
                secret_field: "client_secret".into(),
                token_property: token_property.unwrap_or_else(|| "access_token".into()),
                token_headers,
                renew_on: vec![401],
            }))
        }
        Some("THIRD_PARTY") => {
            r.invalid(
                "auth.type",
                "THIRD_PARTY authorization (a custom Java provider class) is not supported by connect-rs; use BASIC, \
                 OAUTH2, or an Authorization entry in headers",
            );
            AuthSettings::None
        }
        _ => AuthSettings::None,
    }
}

fn confluent_tls(r: &mut Reader<'_>) -> TlsSettings {
    r.boolean("ssl.enabled");
    let verify_hostname = r.boolean("https.host.verifier.enabled");
    r.string("https.ssl.truststore.password");
    r.string("https.ssl.keystore.password");
    let key_password = r.non_blank("https.ssl.key.password").is_some();
    for type_key in ["https.ssl.truststore.type", "https.ssl.keystore.type"] {
        r.string(type_key);
    }
    let ca_pem = r
        .non_blank("https.ssl.truststore.location")
        .and_then(|path| read_ca_file(&path).map_err(|why| r.invalid("https.ssl.truststore.location", why)).ok());
    let identity_pem = r.non_blank("https.ssl.keystore.location").and_then(|path| {
        read_identity_file(&path, key_password).map_err(|why| r.invalid("https.ssl.keystore.location", why)).ok()
    });
    let version = match r.string("https.ssl.protocol").map(|p| p.trim().to_string()).as_deref() {
        // As Java's SSLContext protocols: the highest version allowed.
        None | Some("TLS") | Some("") | Some("TLSv1.3") => None,
        Some("TLSv1.2") => Some(TlsVersion::UpTo12),
        Some(_) => {
            r.invalid("https.ssl.protocol", "connect-rs speaks TLS 1.2 and 1.3 only: use TLS, TLSv1.2 or TLSv1.3");
            None
        }
    };
    TlsSettings { trust_all: false, verify_hostname, ca_pem, identity_pem, version }
}

fn confluent_regex(r: &mut Reader<'_>) -> Vec<(Regex, String)> {
    let separator = r.verbatim("regex.separator", "~");
    let patterns = r.string("regex.patterns").unwrap_or_default();
    let replacements = r.string("regex.replacements").unwrap_or_default();
    if patterns.trim().is_empty() {
        return Vec::new();
    }
    if separator.is_empty() {
        r.invalid("regex.separator", "must not be empty");
        return Vec::new();
    }
    let patterns: Vec<&str> = patterns.split(separator.as_str()).collect();
    let replacements: Vec<&str> = replacements.split(separator.as_str()).collect();
    if patterns.len() != replacements.len() {
        r.invalid(
            "regex.replacements",
            format!("has {} entries for {} regex.patterns: they go in pairs", replacements.len(), patterns.len()),
        );
        return Vec::new();
    }
    let mut out = Vec::new();
    for (pattern, replacement) in patterns.into_iter().zip(replacements) {
        match Regex::new(pattern) {
            Ok(regex) => out.push((regex, replacement.to_string())),
            Err(e) => r.invalid("regex.patterns", format!("{pattern} is not a regular expression: {e}")),
        }
    }
    out
}
