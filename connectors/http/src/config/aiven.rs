//! Aiven's key set (`io.aiven.kafka.connect.http.HttpSinkConnector`, http-connector-for-apache-kafka): names,
//! defaults and checks as its `HttpSinkConfig`, mapped onto [`Settings`]. Requests are always POST; every status
//! from 400 up is retried; batching is Aiven's prefix/separator/suffix. Two keys are connect-rs additions (a client
//! certificate, a byte limit per request) and say so in their documentation.

use std::time::Duration;

use connect_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, Validator, Width};
use connect_api::Config;
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use reqwest::Method;

use super::{
    check_url, parse_headers, read_ca_file, read_identity_file, tolerates_all, AuthSettings, BatchSettings, BodyFormat,
    ClientAuth, KeyErrors, KeySet, NullValues, OAuth2Settings, OnError, ProxySettings, Reader, RetrySettings, Settings,
    StatusRanges, TlsSettings, UrlTemplate,
};

/// The class of Aiven's HTTP sink.
pub const CLASS: &str = "io.aiven.kafka.connect.http.HttpSinkConnector";

const CONNECTION: &str = "Connection";
const BATCHING: &str = "Batching";
const DELIVERY: &str = "Delivery";
const TIMEOUT: &str = "Timeout";

fn key(name: &str, ty: ConfigType, group: &str, order: i32) -> ConfigKey {
    ConfigKey::new(name, ty).group(group, order).display_name(name)
}

/// Aiven's configuration keys.
pub fn config_def() -> ConfigDef {
    let one_of = |values: &[&str]| Validator::OneOf(values.iter().map(|v| v.to_string()).collect());
    let any_case = |values: &[&str]| Validator::CaseInsensitiveOneOf(values.iter().map(|v| v.to_string()).collect());
    let at_least = |min: f64| Validator::Range { min: Some(min), max: None };
    ConfigDef::new()
        .define(
            key("http.url", ConfigType::String, CONNECTION, 0)
                .importance(Importance::High)
                .width(Width::Long)
                .documentation("The URL to send data to."),
        )
        .define(
            key("http.authorization.type", ConfigType::String, CONNECTION, 1)
                .validator(one_of(&["none", "static", "oauth2"]))
                .importance(Importance::High)
                .width(Width::Short)
                .documentation("The HTTP authorization type: none, static or oauth2."),
        )
        .define(
            key("http.headers.authorization", ConfigType::Password, CONNECTION, 2)
                .optional()
                .documentation("The static content of the Authorization header. Required with static authorization."),
        )
        .define(
            key("http.headers.content.type", ConfigType::String, CONNECTION, 3)
                .optional()
                .importance(Importance::Low)
                .documentation("The value of Content-Type sent with each request. Must be non-blank."),
        )
        .define(
            key("http.headers.additional", ConfigType::List, CONNECTION, 4)
                .default_value("")
                .importance(Importance::Low)
                .documentation(
                    "Additional headers sent with each request, as header:value separated by commas; header names \
                     are case-insensitive and may not repeat.",
                ),
        )
        .define(
            key("http.proxy.host", ConfigType::String, CONNECTION, 5)
                .optional()
                .importance(Importance::Low)
                .documentation("The host of an HTTP proxy; set with http.proxy.port."),
        )
        .define(
            key("http.proxy.port", ConfigType::Int, CONNECTION, 6)
                .default_value("-1")
                .importance(Importance::Low)
                .documentation("The port of the HTTP proxy."),
        )
        .define(
            key("http.ssl.trust.all.certs", ConfigType::Boolean, CONNECTION, 7)
                .default_value("false")
                .importance(Importance::Low)
                .documentation("Trust every server certificate and host name (test set-ups only)."),
        )
        .define(
            key("http.ssl.truststore.location", ConfigType::String, CONNECTION, 8)
                .optional()
                .importance(Importance::Low)
                .documentation(
                    "A PEM file of the CA certificates to trust instead of the system's (JKS stores are not \
                     supported by connect-rs).",
                ),
        )
        .define(
            key("http.ssl.truststore.password", ConfigType::Password, CONNECTION, 9)
                .optional()
                .importance(Importance::Low)
                .documentation("The trust store password; not needed for PEM files."),
        )
        .define(
            key("http.ssl.keystore.location", ConfigType::String, CONNECTION, 10)
                .optional()
                .importance(Importance::Low)
                .documentation(
                    "connect-rs addition: a PEM file with a private key and its certificate chain, presented to the \
                     server (mutual TLS).",
                ),
        )
        .define(
            key("oauth2.access.token.url", ConfigType::String, CONNECTION, 11)
                .optional()
                .importance(Importance::High)
                .width(Width::Long)
                .documentation("The URL to fetch an access token from (client credentials grant)."),
        )
        .define(
            key("oauth2.client.id", ConfigType::String, CONNECTION, 12)
                .optional()
                .importance(Importance::High)
                .documentation("The client id used to fetch an access token."),
        )
        .define(
            key("oauth2.client.secret", ConfigType::Password, CONNECTION, 13)
                .optional()
                .importance(Importance::High)
                .documentation("The secret used to fetch an access token."),
        )
        .define(
            key("oauth2.client.authorization.mode", ConfigType::String, CONNECTION, 14)
                .default_value("HEADER")
                .validator(any_case(&["HEADER", "URL"]))
                .documentation(
                    "How the client id and secret reach the token endpoint: HEADER (Authorization: Basic) or URL \
                     (form parameters).",
                ),
        )
        .define(
            key("oauth2.client.scope", ConfigType::String, CONNECTION, 15)
                .optional()
                .importance(Importance::Low)
                .documentation("The scope asked for with the access token."),
        )
        .define(
            key("oauth2.grant.type", ConfigType::String, CONNECTION, 16)
                .default_value("client_credentials")
                .importance(Importance::Low)
                .documentation("The grant type sent to the token endpoint."),
        )
        .define(
            key("oauth2.request.grant.type.property", ConfigType::String, CONNECTION, 17)
                .default_value("grant_type")
                .importance(Importance::Low)
                .documentation("The form field that carries the grant type."),
        )
        .define(
            key("oauth2.request.client.id.property", ConfigType::String, CONNECTION, 18)
                .default_value("client_id")
                .importance(Importance::Low)
                .documentation("The form field that carries the client id in URL mode."),
        )
        .define(
            key("oauth2.request.client.secret.property", ConfigType::String, CONNECTION, 19)
                .default_value("client_secret")
                .importance(Importance::Low)
                .documentation("The form field that carries the client secret in URL mode."),
        )
        .define(
            key("oauth2.response.token.property", ConfigType::String, CONNECTION, 20)
                .default_value("access_token")
                .validator(Validator::NonEmptyStringWithoutControlChars)
                .importance(Importance::Low)
                .documentation("The JSON property of the token response that holds the access token."),
        )
        .define(
            key("oauth2.token.renew.on.status.codes", ConfigType::List, CONNECTION, 21)
                .default_value("401")
                .importance(Importance::Low)
                .documentation("Statuses after which a new access token is fetched and the request retried."),
        )
        .define(
            key("batching.enabled", ConfigType::Boolean, BATCHING, 0)
                .default_value("false")
                .importance(Importance::High)
                .documentation("Whether to send many records in one request."),
        )
        .define(
            key("batch.max.size", ConfigType::Int, BATCHING, 1)
                .default_value("500")
                .validator(Validator::Range { min: Some(1.0), max: Some(1_000_000.0) })
                .documentation("The most records sent in one request."),
        )
        .define(
            key("batch.max.bytes", ConfigType::Int, BATCHING, 2)
                .default_value("0")
                .validator(at_least(0.0))
                .importance(Importance::Low)
                .documentation(
                    "connect-rs addition: the most body bytes in one request (0: no limit); a record larger than \
                     that is sent alone.",
                ),
        )
        .define(
            key("batch.prefix", ConfigType::String, BATCHING, 3)
                .default_value("")
                .documentation("Written once before the first record of a request."),
        )
        .define(
            key("batch.suffix", ConfigType::String, BATCHING, 4)
                .optional()
                .documentation("Written once after the last record of a request (default: a newline)."),
        )
        .define(
            key("batch.separator", ConfigType::String, BATCHING, 5)
                .optional()
                .documentation("Written between records (default: a newline)."),
        )
        .define(
            key("kafka.retry.backoff.ms", ConfigType::Long, DELIVERY, 0)
                .optional()
                .validator(Validator::Range { min: Some(0.0), max: Some(86_400_000.0) })
                .documentation("The worker's backoff before it delivers a batch again after a retriable failure."),
        )
        .define(
            key("max.retries", ConfigType::Int, DELIVERY, 1)
                .default_value("1")
                .validator(at_least(0.0))
                .documentation("How many times a failed request is tried again before giving up."),
        )
        .define(
            key("retry.backoff.ms", ConfigType::Int, DELIVERY, 2)
                .default_value("3000")
                .validator(at_least(0.0))
                .documentation("The wait before each retry (a 429's Retry-After wins when longer)."),
        )
        .define(
            key("decimal.format", ConfigType::String, DELIVERY, 3)
                .default_value("BASE64")
                .validator(any_case(&["BASE64", "NUMERIC"]))
                .importance(Importance::Low)
                .documentation("How Decimal values are written in JSON: BASE64 or NUMERIC."),
        )
        .define(
            key("http.timeout", ConfigType::Int, TIMEOUT, 0)
                .default_value("30")
                .validator(at_least(1.0))
                .importance(Importance::Low)
                .documentation("The time allowed for a request and its response, in seconds."),
        )
}

/// Parses an Aiven configuration.
pub fn settings(config: &Config) -> Result<Settings, KeyErrors> {
    let mut r = Reader::new(config_def(), config);

    let url = match r.string("http.url") {
        Some(text) => match UrlTemplate::parse(&text, false) {
            Ok(url) => Some(url),
            Err(why) => {
                let mut why = why;
                if config.contains_key("http.api.url") {
                    why.push_str(&format!(
                        "; http.api.url is a key of {}: set connector.class to that class for Confluent's keys",
                        super::confluent::CLASS
                    ));
                }
                r.invalid("http.url", why);
                None
            }
        },
        None if config.contains_key("http.api.url") && !config.contains_key("http.url") => {
            r.error(
                "http.url",
                format!(
                    "http.url is missing, and http.api.url is a key of {}: this connector ({CLASS}, also the one the \
                     alias HttpSink names) takes Aiven's keys; set connector.class to {} for Confluent's",
                    super::confluent::CLASS,
                    super::confluent::CLASS
                ),
            );
            None
        }
        None => None,
    };

    let mut headers =
        parse_headers(r.list("http.headers.additional").iter().map(String::as_str)).unwrap_or_else(|why| {
            r.invalid("http.headers.additional", why);
            Default::default()
        });
    if let Some(content_type) = r.string("http.headers.content.type") {
        match HeaderValue::from_str(content_type.trim()) {
            Ok(value) if !content_type.trim().is_empty() => {
                headers.insert(CONTENT_TYPE, value);
            }
            _ => r.invalid("http.headers.content.type", "must be a non-blank header value"),
        }
    }

    let auth = aiven_auth(&mut r);
    let tls = aiven_tls(&mut r);

    let proxy = match (r.non_blank("http.proxy.host"), r.int("http.proxy.port")) {
        (None, port) if port <= 0 => None,
        (Some(host), port) if (1..=65535).contains(&port) => {
            Some(ProxySettings { url: format!("http://{host}:{port}"), credentials: None })
        }
        (Some(_), _) => {
            r.invalid("http.proxy.port", "must be a port (1 to 65535) when http.proxy.host is set");
            None
        }
        (None, _) => {
            r.invalid("http.proxy.host", "must be set when http.proxy.port is set");
            None
        }
    };

    let batching = r.boolean("batching.enabled");
    let tolerate_all = tolerates_all(config);
    if batching && tolerate_all {
        r.invalid(
            "batching.enabled",
            "cannot be true with errors.tolerance=all: the records of a failed batch cannot be sent to the dead \
             letter queue one by one (turn batching off, or set errors.tolerance=none)",
        );
    }
    let batch = BatchSettings {
        max_records: if batching { r.int("batch.max.size").max(1) as usize } else { 1 },
        max_bytes: r.int("batch.max.bytes").max(0) as usize,
        prefix: r.verbatim("batch.prefix", ""),
        separator: r.verbatim("batch.separator", "\n"),
        suffix: r.verbatim("batch.suffix", "\n"),
        json_array: false,
        wrap_single: batching,
        key_pattern: None,
    };
    let numeric_decimals = r.string("decimal.format").is_some_and(|f| f.eq_ignore_ascii_case("NUMERIC"));
    let timeout = Duration::from_secs(r.int("http.timeout").max(1) as u64);
    let retry = RetrySettings {
        max_retries: r.int("max.retries").max(0) as u32,
        backoff: Duration::from_millis(r.int("retry.backoff.ms").max(0) as u64),
        exponential: false,
        // Aiven retries every status from 400 up.
        statuses: StatusRanges(vec![(400, 599)]),
        success_below: 400,
    };
    let kafka_retry_backoff_ms = r.long("kafka.retry.backoff.ms");

    let settings = Settings {
        key_set: KeySet::Aiven,
        url: url.unwrap_or_else(|| UrlTemplate::parse("http://unset", false).expect("a valid URL")),
        method: Method::POST,
        headers,
        auth,
        tls,
        proxy,
        connect_timeout: timeout,
        request_timeout: timeout,
        batch,
        body: BodyFormat::AivenValue { numeric_decimals },
        replacements: Vec::new(),
        nulls: NullValues::FailTask,
        retry,
        on_error: OnError::Aiven { batching },
        tolerate_all,
        kafka_retry_backoff_ms,
        ignored_keys: Vec::new(),
    };
    r.finish(settings)
}

fn aiven_auth(r: &mut Reader<'_>) -> AuthSettings {
    let header = r.string("http.headers.authorization").filter(|h| !h.trim().is_empty());
    let renew_on: Vec<u16> = r
        .list("oauth2.token.renew.on.status.codes")
        .iter()
        .filter_map(|code| match code.parse::<u16>() {
            Ok(code) if (100..=599).contains(&code) => Some(code),
            _ => {
                r.invalid("oauth2.token.renew.on.status.codes", format!("{code} is not an HTTP status code"));
                None
            }
        })
        .collect();
    let token_url = r.string("oauth2.access.token.url");
    let client_id = r.string("oauth2.client.id");
    let client_secret = r.string("oauth2.client.secret");
    let mode = r.string("oauth2.client.authorization.mode");
    let scope = r.string("oauth2.client.scope");
    let grant = (r.string("oauth2.request.grant.type.property"), r.string("oauth2.grant.type"));
    let (id_field, secret_field) =
        (r.string("oauth2.request.client.id.property"), r.string("oauth2.request.client.secret.property"));
    let token_property = r.string("oauth2.response.token.property");
    let Some(kind) = r.string("http.authorization.type") else {
        return AuthSettings::None;
    };
    match kind.as_str() {
        "none" => {
            if header.is_some() {
                r.error(
                    "http.headers.authorization",
                    "Invalid value [hidden] for configuration http.headers.authorization: Must not be present when \
                     http.authorization.type != static",
                );
            }
            AuthSettings::None
        }
        "static" => match header.map(|h| HeaderValue::from_str(h.trim())) {
            Some(Ok(mut value)) => {
                value.set_sensitive(true);
                AuthSettings::Header(value)
            }
            Some(Err(_)) => {
                r.error(
                    "http.headers.authorization",
                    "Invalid value [hidden] for configuration http.headers.authorization: holds characters a header \
                     cannot carry",
                );
                AuthSettings::None
            }
            None => {
                r.error(
                    "http.headers.authorization",
                    "Invalid value null for configuration http.headers.authorization: Must be present when \
                     http.authorization.type = static",
                );
                AuthSettings::None
            }
        },
        _ => {
            let must = "Must be present when http.authorization.type = oauth2";
            let token_url = match token_url.as_deref().map(check_url) {
                Some(Ok(url)) => Some(url),
                Some(Err(why)) => {
                    r.invalid("oauth2.access.token.url", why);
                    None
                }
                None => {
                    r.invalid("oauth2.access.token.url", must);
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
                client_auth: if mode.is_some_and(|m| m.eq_ignore_ascii_case("URL")) {
                    ClientAuth::Form
                } else {
                    ClientAuth::Header
                },
                scope: scope.filter(|s| !s.trim().is_empty()),
                grant_type: (
                    grant.0.unwrap_or_else(|| "grant_type".into()),
                    grant.1.unwrap_or_else(|| "client_credentials".into()),
                ),
                id_field: id_field.unwrap_or_else(|| "client_id".into()),
                secret_field: secret_field.unwrap_or_else(|| "client_secret".into()),
                token_property: token_property.unwrap_or_else(|| "access_token".into()),
                token_headers: Default::default(),
                renew_on,
            }))
        }
    }
}

fn aiven_tls(r: &mut Reader<'_>) -> TlsSettings {
    let trust_all = r.boolean("http.ssl.trust.all.certs");
    r.string("http.ssl.truststore.password");
    let ca_pem = r
        .non_blank("http.ssl.truststore.location")
        .and_then(|path| read_ca_file(&path).map_err(|why| r.invalid("http.ssl.truststore.location", why)).ok());
    let identity_pem = r.non_blank("http.ssl.keystore.location").and_then(|path| {
        read_identity_file(&path, false).map_err(|why| r.invalid("http.ssl.keystore.location", why)).ok()
    });
    TlsSettings { trust_all, verify_hostname: !trust_all, ca_pem, identity_pem, version: None }
}
