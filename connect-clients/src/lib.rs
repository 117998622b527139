//! Kafka client settings as users of Kafka Connect write them (the Java clients' names) turned into librdkafka's.
//!
//! [`translate`] takes the settings of one client (prefix already removed: `ssl.truststore.location`, not
//! `producer.ssl.truststore.location`) and returns librdkafka's, or the first setting that cannot be honoured with
//! the reason. It never drops a setting that changes what the client does (TLS, SASL) without saying so; only
//! settings with no meaning for librdkafka ([`JAVA_ONLY`]) are skipped. Values are never logged: they may be secrets.

use std::collections::BTreeMap;
use std::fmt;

/// Java client settings that have no meaning for librdkafka: serializers are the converters' job, memory and
/// blocking limits are librdkafka's own queue settings, the rest is JVM plumbing. Skipped.
pub const JAVA_ONLY: &[&str] = &[
    "key.serializer",
    "value.serializer",
    "key.deserializer",
    "value.deserializer",
    "max.block.ms",
    "buffer.memory",
    "interceptor.classes",
    "max.poll.records",
    "metric.reporters",
    "metrics.num.samples",
    "metrics.recording.level",
    "metrics.sample.window.ms",
    "default.api.timeout.ms",
    "client.dns.lookup",
    "auto.include.jmx.reporter",
    "ssl.protocol",
    "ssl.provider",
    "ssl.enabled.protocols",
    "ssl.keymanager.algorithm",
    "ssl.trustmanager.algorithm",
    "ssl.secure.random.implementation",
    "sasl.login.refresh.window.factor",
    "sasl.login.refresh.window.jitter",
    "sasl.login.refresh.min.period.seconds",
    "sasl.login.refresh.buffer.seconds",
];

/// Java settings that name Java classes or JVM-only mechanisms: refused, since ignoring them would change who the
/// client authenticates as or what it trusts.
const JAVA_CLASSES: &[&str] = &[
    "ssl.engine.factory.class",
    "sasl.login.class",
    "sasl.login.callback.handler.class",
    "sasl.client.callback.handler.class",
];

/// A setting that cannot be used, with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingError {
    /// The setting, as the user wrote it (without the client prefix).
    pub key: String,
    /// Why.
    pub message: String,
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

impl std::error::Error for SettingError {}

fn error(key: &str, message: impl Into<String>) -> SettingError {
    SettingError { key: key.to_string(), message: message.into() }
}

/// Whether the value of client setting `key` (prefix removed) is a secret that must never be shown or logged.
pub fn is_secret(key: &str) -> bool {
    key.ends_with("password")
        || key == "sasl.jaas.config"
        || key == "ssl.keystore.key"
        || key == "ssl.key.pem"
        || key == "sasl.oauthbearer.client.secret"
}

/// Whether `key` is a Java-only setting (see [`JAVA_ONLY`]).
pub fn is_java_only(key: &str) -> bool {
    JAVA_ONLY.contains(&key)
}

/// librdkafka's settings for the Java-named `settings` of one client, each checked by librdkafka itself (an unknown
/// name or an invalid value is an error naming the key).
pub fn translate(settings: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, SettingError> {
    let mut out = BTreeMap::new();
    let get = |key: &str| settings.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
    for (key, value) in settings {
        let key = key.as_str();
        if is_java_only(key) {
            tracing::debug!("{key} has no librdkafka equivalent; ignored");
            continue;
        }
        if JAVA_CLASSES.contains(&key) {
            return Err(error(key, "names a Java class; not supported by connect-rs's clients (librdkafka)"));
        }
        match key {
            // The store settings are read together below.
            "ssl.truststore.type" | "ssl.truststore.password" | "ssl.keystore.type" | "ssl.keystore.password" => {}
            "ssl.truststore.location" => {
                match get("ssl.truststore.type").unwrap_or("JKS").to_ascii_uppercase().as_str() {
                    "PEM" => {
                        out.insert("ssl.ca.location".into(), value.clone());
                    }
                    other => {
                        return Err(error(
                            key,
                            format!(
                        "{other} trust stores are not supported by librdkafka: convert the store to PEM (keytool \
                         -exportcert -rfc, or openssl pkcs12) and set ssl.truststore.type=PEM, or set ssl.ca.location"
                    ),
                        ))
                    }
                }
            }
            "ssl.truststore.certificates" => {
                out.insert("ssl.ca.pem".into(), value.clone());
            }
            "ssl.keystore.location" => match get("ssl.keystore.type").unwrap_or("JKS").to_ascii_uppercase().as_str() {
                "PKCS12" => {
                    out.insert("ssl.keystore.location".into(), value.clone());
                    if let Some(password) = settings.get("ssl.keystore.password") {
                        out.insert("ssl.keystore.password".into(), password.clone());
                    }
                }
                "PEM" => {
                    // A PEM key store holds the key and its certificate chain in one file.
                    out.insert("ssl.certificate.location".into(), value.clone());
                    out.insert("ssl.key.location".into(), value.clone());
                }
                other => {
                    return Err(error(
                        key,
                        format!(
                            "{other} key stores are not supported by librdkafka: use ssl.keystore.type=PKCS12 or PEM, \
                             or ssl.certificate.location and ssl.key.location"
                        ),
                    ))
                }
            },
            "ssl.keystore.key" => {
                out.insert("ssl.key.pem".into(), value.clone());
            }
            "ssl.keystore.certificate.chain" => {
                out.insert("ssl.certificate.pem".into(), value.clone());
            }
            "ssl.endpoint.identification.algorithm" => {
                let algorithm = if value.trim().is_empty() { "none" } else { value.trim() };
                out.insert(key.into(), algorithm.to_ascii_lowercase());
            }
            "sasl.jaas.config" => {
                let (username, password) = jaas_credentials(value).map_err(|message| error(key, message))?;
                out.insert("sasl.username".into(), username);
                out.insert("sasl.password".into(), password);
            }
            _ => {
                out.insert(key.to_string(), value.clone());
            }
        }
    }
    for (key, value) in &out {
        check(key, value).map_err(|message| {
            // Name the setting as the user wrote it when it was translated.
            let original = if settings.contains_key(key.as_str()) { key.clone() } else { origin(key) };
            error(&original, message)
        })?;
    }
    Ok(out)
}

/// The Java setting a translated librdkafka setting comes from.
fn origin(librdkafka: &str) -> String {
    match librdkafka {
        "ssl.ca.location" => "ssl.truststore.location",
        "ssl.ca.pem" => "ssl.truststore.certificates",
        "ssl.certificate.location" | "ssl.key.location" | "ssl.keystore.location" => "ssl.keystore.location",
        "ssl.key.pem" => "ssl.keystore.key",
        "ssl.certificate.pem" => "ssl.keystore.certificate.chain",
        "sasl.username" | "sasl.password" => "sasl.jaas.config",
        other => other,
    }
    .to_string()
}

/// Whether librdkafka takes `value` for `key` (file settings are only checked for existence when clients start).
fn check(key: &str, value: &str) -> Result<(), String> {
    let mut config = rdkafka::ClientConfig::new();
    config.set(key, value);
    match config.create_native_config() {
        Ok(_) => Ok(()),
        // librdkafka's message names the property and the value it refused; secrets are not in it for unknown
        // names, and for invalid values only enumerated settings are concerned.
        Err(err) => Err(err.to_string()),
    }
}

/// The user name and password of a `sasl.jaas.config` for the PLAIN or SCRAM login modules:
/// `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";`
fn jaas_credentials(jaas: &str) -> Result<(String, String), String> {
    let text = jaas.trim().trim_end_matches(';').trim();
    let (module, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let simple = module.rsplit('.').next().unwrap_or(module);
    match simple {
        "PlainLoginModule" | "ScramLoginModule" => {}
        "OAuthBearerLoginModule" | "Krb5LoginModule" => {
            return Err(format!("the login module {simple} is not supported by connect-rs's clients (librdkafka)"))
        }
        other => return Err(format!("unknown login module {other}: expected PlainLoginModule or ScramLoginModule")),
    }
    let rest = rest.trim();
    let options = rest
        .strip_prefix("required")
        .or_else(|| rest.strip_prefix("requisite"))
        .or_else(|| rest.strip_prefix("sufficient"))
        .or_else(|| rest.strip_prefix("optional"))
        .ok_or("the login module must be followed by a control flag (required)")?;
    let parsed = jaas_options(options)?;
    let take = |name: &str| {
        parsed.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).ok_or(format!("has no {name} option"))
    };
    Ok((take("username")?, take("password")?))
}

/// `key=value` pairs, values optionally double-quoted (with `\"` and `\\` escapes).
fn jaas_options(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(out);
        }
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && !c.is_whitespace())).collect();
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(format!("option {key} has no value"));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('\\') => value.extend(chars.next()),
                    Some('"') => break,
                    Some(c) => value.push(c),
                    None => return Err(format!("the value of option {key} has no closing quote")),
                }
            }
        } else {
            value.extend(std::iter::from_fn(|| chars.next_if(|c| !c.is_whitespace())));
        }
        out.push((key, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn tls_stores_are_translated_or_refused_naming_the_key() {
        let pem = translate(&settings(&[
            ("security.protocol", "SSL"),
            ("ssl.truststore.type", "PEM"),
            ("ssl.truststore.location", "/ca.pem"),
            ("ssl.truststore.password", "unused"),
            ("ssl.keystore.type", "PKCS12"),
            ("ssl.keystore.location", "/me.p12"),
            ("ssl.keystore.password", "secret"),
            ("ssl.endpoint.identification.algorithm", ""),
        ]))
        .unwrap();
        assert_eq!(pem["ssl.ca.location"], "/ca.pem");
        assert_eq!(pem["ssl.keystore.location"], "/me.p12");
        assert_eq!(pem["ssl.keystore.password"], "secret");
        assert_eq!(pem["ssl.endpoint.identification.algorithm"], "none");
        assert!(!pem.contains_key("ssl.truststore.password"));

        let jks = translate(&settings(&[("ssl.truststore.location", "/ca.jks")])).unwrap_err();
        assert_eq!(jks.key, "ssl.truststore.location");
        assert!(jks.message.contains("JKS trust stores are not supported"), "{jks}");
        let pem_keystore = translate(&settings(&[("ssl.keystore.type", "PEM"), ("ssl.keystore.location", "/k.pem")]));
        assert_eq!(pem_keystore.unwrap()["ssl.key.location"], "/k.pem");
    }

    #[test]
    fn jaas_credentials_of_plain_and_scram_become_librdkafka_settings() {
        let out = translate(&settings(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            (
                "sasl.jaas.config",
                r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="p\"w d";"#,
            ),
        ]))
        .unwrap();
        assert_eq!(out["sasl.username"], "alice");
        assert_eq!(out["sasl.password"], "p\"w d");
        assert!(!out.contains_key("sasl.jaas.config"));
        let oauth = translate(&settings(&[(
            "sasl.jaas.config",
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;",
        )]))
        .unwrap_err();
        assert_eq!(oauth.key, "sasl.jaas.config");
        assert!(oauth.message.contains("OAuthBearerLoginModule is not supported"));
        let missing = translate(&settings(&[("sasl.jaas.config", "x.PlainLoginModule required username=bob;")]));
        assert!(missing.unwrap_err().message.contains("no password option"));
    }

    #[test]
    fn unknown_or_invalid_settings_are_errors_naming_the_key_and_java_only_ones_are_skipped() {
        let bad = translate(&settings(&[("security.protocol", "SSLX")])).unwrap_err();
        assert_eq!(bad.key, "security.protocol");
        let unknown = translate(&settings(&[("no.such.setting", "1")])).unwrap_err();
        assert_eq!(unknown.key, "no.such.setting");
        let class = translate(&settings(&[("sasl.login.callback.handler.class", "com.Foo")])).unwrap_err();
        assert!(class.message.contains("Java class"));
        let skipped = translate(&settings(&[("max.block.ms", "1"), ("linger.ms", "5")])).unwrap();
        assert_eq!(skipped, settings(&[("linger.ms", "5")]));
    }

    #[test]
    fn secret_settings_are_recognised() {
        for key in ["ssl.keystore.password", "sasl.jaas.config", "ssl.key.password", "sasl.password", "ssl.key.pem"] {
            assert!(is_secret(key), "{key}");
        }
        assert!(!is_secret("ssl.keystore.location"));
    }

    #[test]
    fn errors_never_show_secret_values() {
        let err = translate(&settings(&[(
            "sasl.jaas.config",
            r#"org.example.UnknownModule required username="u" password="hunter2";"#,
        )]))
        .unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
