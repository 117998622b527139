//! The REST server's settings, with Kafka Connect's keys (`RestServerConfig`, `SSLUtils`, the basic-auth extension):
//! `listeners` (`http://` and `https://`), the TLS key material and the basic-auth credentials.
//!
//! This module only reads and checks keys; files are opened at start-up by `rest::tls` and `rest::auth`, whose
//! errors also name the worker file and the key. TLS settings are read only when they are needed (an `https://`
//! listener, or `listeners.https.*` keys for calling other workers), because the worker-level `ssl.*` keys are
//! also the Kafka clients' and may hold a JKS store that only the brokers' connection uses.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::ConfigError;

/// The prefix whose keys, when any is present, replace the worker-level `ssl.*` keys for the REST API (all or
/// nothing, as Kafka's `valuesWithPrefixAllOrNothing`).
pub const HTTPS_PREFIX: &str = "listeners.https.";
/// `rest.extension.classes`.
pub const REST_EXTENSION_CLASSES: &str = "rest.extension.classes";
/// Our own key: a `user=password` properties file that turns basic authentication on, without JAAS.
pub const BASIC_AUTH_CREDENTIALS_FILE: &str = "rest.basic.auth.credentials.file";
/// Kafka's basic-auth REST extension, the one extension connect-rs implements.
pub const BASIC_AUTH_EXTENSION: &str =
    "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension";
/// The JAAS login module of Kafka's basic-auth extension.
pub const PROPERTY_FILE_LOGIN_MODULE: &str =
    "org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule";
/// The JAAS entry the basic-auth extension reads.
pub const JAAS_ENTRY: &str = "KafkaConnect";
/// The Java system property naming the JAAS file, as given in `KAFKA_OPTS`.
pub const JAAS_PROPERTY: &str = "java.security.auth.login.config";

/// `http` or `https`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

impl Scheme {
    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of `listeners`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listener {
    /// As written in the worker config.
    pub url: String,
    /// `http` or `https`.
    pub scheme: Scheme,
    /// Host to bind (empty: every interface).
    pub host: String,
    /// Port (0: any free port).
    pub port: u16,
}

impl Listener {
    /// Parses `http://host:port`, `https://[::1]:8443` or `http://:8083`.
    pub fn parse(listener: &str) -> Result<Self, String> {
        let url = listener.trim();
        let (scheme, rest) =
            url.split_once("://").ok_or_else(|| format!("listener {url} must look like http://host:port"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            other => return Err(format!("listener {url}: unknown protocol {other}; use http or https")),
        };
        let (host, port) =
            rest.trim_end_matches('/').rsplit_once(':').ok_or_else(|| format!("listener {url} has no port"))?;
        let port: u16 = port.parse().map_err(|_| format!("listener {url} has an invalid port"))?;
        Ok(Listener { url: url.to_string(), scheme, host: host.trim_matches(['[', ']']).to_string(), port })
    }

    /// The address to bind: the host, or every interface when it is empty.
    pub fn bind_host(&self) -> &str {
        if self.host.is_empty() {
            "0.0.0.0"
        } else {
            &self.host
        }
    }
}

/// `ssl.client.auth`: whether an `https://` listener asks clients for a certificate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientAuth {
    /// No client certificate (the default).
    #[default]
    None,
    /// A certificate is asked for; a client without one is still served, one with a bad one is not.
    Requested,
    /// A certificate signed by the trust store is required.
    Required,
}

/// PEM text from a file or inline in the worker config, with the key that configured it (for errors).
#[derive(Clone, PartialEq, Eq)]
pub enum PemSource {
    /// A file.
    File {
        /// The file, resolved against the worker config's directory.
        path: PathBuf,
        /// The key that named it, e.g. `listeners.https.ssl.keystore.location`.
        key: String,
    },
    /// Text in the worker config (`ssl.keystore.key`, `ssl.truststore.certificates`...).
    Inline {
        /// The PEM text.
        text: String,
        /// The key that holds it.
        key: String,
    },
}

impl PemSource {
    /// The config key this PEM came from.
    pub fn key(&self) -> &str {
        match self {
            PemSource::File { key, .. } | PemSource::Inline { key, .. } => key,
        }
    }
}

impl fmt::Debug for PemSource {
    // Inline text may be a private key: never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PemSource::File { path, key } => write!(f, "{key}={}", path.display()),
            PemSource::Inline { key, .. } => write!(f, "{key}=<inline PEM>"),
        }
    }
}

/// Where the listener's private key and certificate chain come from (`ssl.keystore.*`, PEM only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyStore {
    /// `ssl.keystore.location`: one PEM file with the private key and the certificate chain.
    Combined(PemSource),
    /// `ssl.keystore.key` + `ssl.keystore.certificate.chain`.
    Separate {
        /// The private key.
        key: PemSource,
        /// The certificate chain, leaf first.
        chain: PemSource,
    },
}

/// The TLS settings of the REST API: the server's for `https://` listeners, the client's for calling other workers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSettings {
    /// The worker config file (for errors).
    pub file: PathBuf,
    /// `listeners.https.` or empty: the prefix of the keys in use.
    pub prefix: String,
    /// The private key and certificate chain; required by `https://` listeners, presented as client certificate to
    /// other workers when set.
    pub key_store: Option<KeyStore>,
    /// CA certificates trusted for other workers and, with `ssl.client.auth`, for clients.
    pub trust_store: Option<PemSource>,
    /// `ssl.client.auth`.
    pub client_auth: ClientAuth,
    /// `ssl.endpoint.identification.algorithm`: `https` (the default) checks that a worker's certificate names its
    /// host; empty turns the check off.
    pub verify_hostname: bool,
    /// `ssl.enabled.protocols`: `TLSv1.2`, `TLSv1.3` or both.
    pub protocols: Vec<String>,
    /// `ssl.key.password`, for a key store whose key is encrypted (refused, with this said).
    pub key_password_set: bool,
}

impl TlsSettings {
    /// The full key name of `name` (`ssl.keystore.location`...) with the prefix in use.
    pub fn key_name(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// An error located at `name` (without prefix) in the worker file.
    pub fn error(&self, name: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::new(&self.file, Some(&self.key_name(name)), message)
    }
}

/// Where the basic-auth credentials come from, and where to point in errors about them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasicAuthSettings {
    /// The `user=password` properties file.
    pub credentials: PathBuf,
    /// The file that named it: the worker config or the JAAS file.
    pub origin_file: PathBuf,
    /// The key or JAAS entry that named it.
    pub origin_key: String,
}

impl BasicAuthSettings {
    /// An error about the credentials, located where they were configured.
    pub fn error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError::new(&self.origin_file, Some(&self.origin_key), message)
    }
}

/// The REST server's configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestConfig {
    /// The worker config file.
    pub file: PathBuf,
    /// `listeners`.
    pub listeners: Vec<Listener>,
    /// TLS settings, when an `https://` listener or a `listeners.https.*` key needs them.
    pub tls: Option<TlsSettings>,
    /// Basic authentication, when turned on.
    pub basic_auth: Option<BasicAuthSettings>,
}

impl RestConfig {
    /// Reads the REST keys of `props` (from `file`). `kafka_opts` is the `KAFKA_OPTS` environment variable, where
    /// Kafka's scripts take `-Djava.security.auth.login.config=<JAAS file>` from.
    pub fn from_props(
        file: &Path,
        props: &BTreeMap<String, String>,
        kafka_opts: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let raw = props.get("listeners").map(String::as_str).unwrap_or("http://:8083");
        let mut listeners = Vec::new();
        for item in raw.split(',').map(str::trim) {
            if item.is_empty() {
                return Err(ConfigError::new(file, Some("listeners"), "Empty URL found when parsing listeners list."));
            }
            listeners.push(Listener::parse(item).map_err(|m| ConfigError::new(file, Some("listeners"), m))?);
        }
        if listeners.is_empty() {
            return Err(ConfigError::new(file, Some("listeners"), "must name at least one listener"));
        }
        let has_https = listeners.iter().any(|l| l.scheme == Scheme::Https);
        let has_prefixed = props.keys().any(|k| k.starts_with(HTTPS_PREFIX) && k.len() > HTTPS_PREFIX.len());
        let tls = if has_https || has_prefixed { Some(tls_settings(file, props, has_prefixed)?) } else { None };
        if let Some(tls) = &tls {
            if has_https && tls.key_store.is_none() {
                return Err(tls.error(
                    "ssl.keystore.location",
                    "an https:// listener needs a key store: set ssl.keystore.location (a PEM file with the private \
                     key and the certificate chain) or ssl.keystore.key and ssl.keystore.certificate.chain",
                ));
            }
        }
        let basic_auth = basic_auth_settings(file, props, kafka_opts)?;
        Ok(RestConfig { file: file.to_path_buf(), listeners, tls, basic_auth })
    }
}

fn non_empty<'a>(props: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    props.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
}

fn resolve(file: &Path, path: &str) -> PathBuf {
    let path = PathBuf::from(path);
    if path.is_absolute() {
        path
    } else {
        file.parent().unwrap_or(Path::new(".")).join(path)
    }
}

fn tls_settings(file: &Path, props: &BTreeMap<String, String>, prefixed: bool) -> Result<TlsSettings, ConfigError> {
    let prefix = if prefixed { HTTPS_PREFIX } else { "" };
    let key = |name: &str| format!("{prefix}{name}");
    let get = |name: &str| non_empty(props, &key(name));
    let error = |name: &str, message: String| ConfigError::new(file, Some(&key(name)), message);
    let check_type = |name: &str| -> Result<(), ConfigError> {
        match get(name).map(str::to_ascii_uppercase).as_deref() {
            None | Some("PEM") => Ok(()),
            Some(other) => Err(error(
                name,
                format!(
                    "{other} stores are not supported by connect-rs; convert the store to PEM (e.g. with keytool \
                     and openssl) and set {}=PEM",
                    key(name)
                ),
            )),
        }
    };
    check_type("ssl.keystore.type")?;
    check_type("ssl.truststore.type")?;

    let file_source = |name: &str| get(name).map(|path| PemSource::File { path: resolve(file, path), key: key(name) });
    let inline_source = |name: &str| get(name).map(|text| PemSource::Inline { text: text.to_string(), key: key(name) });
    let key_store = match (
        file_source("ssl.keystore.location"),
        inline_source("ssl.keystore.key"),
        inline_source("ssl.keystore.certificate.chain"),
    ) {
        (None, None, None) => None,
        (Some(location), None, None) => Some(KeyStore::Combined(location)),
        (None, Some(key), Some(chain)) => Some(KeyStore::Separate { key, chain }),
        (None, Some(_), None) => {
            return Err(error("ssl.keystore.certificate.chain", "must be set together with ssl.keystore.key".into()))
        }
        (None, None, Some(_)) => {
            return Err(error("ssl.keystore.key", "must be set together with ssl.keystore.certificate.chain".into()))
        }
        (Some(_), _, _) => {
            return Err(error(
                "ssl.keystore.location",
                "set either ssl.keystore.location or ssl.keystore.key with ssl.keystore.certificate.chain, not both"
                    .into(),
            ))
        }
    };
    let trust_store = match (file_source("ssl.truststore.location"), inline_source("ssl.truststore.certificates")) {
        (Some(_), Some(_)) => {
            return Err(error(
                "ssl.truststore.location",
                "set either ssl.truststore.location or ssl.truststore.certificates, not both".into(),
            ))
        }
        (location, inline) => location.or(inline),
    };
    let client_auth = match get("ssl.client.auth").map(str::to_ascii_lowercase).as_deref() {
        None | Some("none") => ClientAuth::None,
        Some("requested") => ClientAuth::Requested,
        Some("required") => ClientAuth::Required,
        Some(other) => {
            return Err(error(
                "ssl.client.auth",
                format!("Invalid value {other}: String must be one of: required, requested, none"),
            ))
        }
    };
    if client_auth != ClientAuth::None && trust_store.is_none() {
        return Err(error(
            "ssl.client.auth",
            "client certificates can only be checked against a trust store: set ssl.truststore.location or \
             ssl.truststore.certificates"
                .into(),
        ));
    }
    let verify_hostname = match props.get(&key("ssl.endpoint.identification.algorithm")).map(|v| v.trim()) {
        None => true,
        Some("") => false,
        Some(v) if v.eq_ignore_ascii_case("https") => true,
        Some(other) => {
            return Err(error(
                "ssl.endpoint.identification.algorithm",
                format!("unknown algorithm {other}; use https or an empty value"),
            ))
        }
    };
    let mut protocols = Vec::new();
    for protocol in get("ssl.enabled.protocols").unwrap_or("TLSv1.2,TLSv1.3").split(',').map(str::trim) {
        match protocol {
            "TLSv1.2" | "TLSv1.3" => protocols.push(protocol.to_string()),
            "" => {}
            other => {
                return Err(error(
                    "ssl.enabled.protocols",
                    format!("{other} is not supported; connect-rs speaks TLSv1.2 and TLSv1.3"),
                ))
            }
        }
    }
    if protocols.is_empty() {
        return Err(error("ssl.enabled.protocols", "must name TLSv1.2, TLSv1.3 or both".into()));
    }
    Ok(TlsSettings {
        file: file.to_path_buf(),
        prefix: prefix.to_string(),
        key_store,
        trust_store,
        client_auth,
        verify_hostname,
        protocols,
        key_password_set: get("ssl.key.password").is_some(),
    })
}

fn basic_auth_settings(
    file: &Path,
    props: &BTreeMap<String, String>,
    kafka_opts: Option<&str>,
) -> Result<Option<BasicAuthSettings>, ConfigError> {
    let mut extension = false;
    for class in non_empty(props, REST_EXTENSION_CLASSES).unwrap_or("").split(',').map(str::trim) {
        if class.is_empty() {
            continue;
        }
        if class == BASIC_AUTH_EXTENSION || class == "BasicAuthSecurityRestExtension" {
            extension = true;
        } else {
            // Refused rather than skipped: an ignored extension may well be the one meant to protect the API.
            return Err(ConfigError::new(
                file,
                Some(REST_EXTENSION_CLASSES),
                format!("{class} is a Java REST extension; connect-rs supports only {BASIC_AUTH_EXTENSION}"),
            ));
        }
    }
    if let Some(path) = non_empty(props, BASIC_AUTH_CREDENTIALS_FILE) {
        return Ok(Some(BasicAuthSettings {
            credentials: resolve(file, path),
            origin_file: file.to_path_buf(),
            origin_key: BASIC_AUTH_CREDENTIALS_FILE.to_string(),
        }));
    }
    if !extension {
        return Ok(None);
    }
    let Some(jaas_file) = kafka_opts.and_then(jaas_file_from_opts) else {
        return Err(ConfigError::new(
            file,
            Some(REST_EXTENSION_CLASSES),
            format!(
                "{BASIC_AUTH_EXTENSION} needs a JAAS file with a {JAAS_ENTRY} entry, given as \
                 -D{JAAS_PROPERTY}=<file> in KAFKA_OPTS, or set {BASIC_AUTH_CREDENTIALS_FILE}"
            ),
        ));
    };
    let credentials = jaas_credentials_file(&jaas_file)?;
    Ok(Some(BasicAuthSettings { credentials, origin_file: jaas_file, origin_key: JAAS_ENTRY.to_string() }))
}

/// The JAAS file named by `-Djava.security.auth.login.config=<file>` (or `==<file>`) in `KAFKA_OPTS`.
pub fn jaas_file_from_opts(opts: &str) -> Option<PathBuf> {
    let flag = format!("-D{JAAS_PROPERTY}=");
    shell_words(opts).into_iter().rev().find_map(|word| {
        let value = word.strip_prefix(&flag)?;
        let value = value.strip_prefix('=').unwrap_or(value);
        let value = value.strip_prefix("file://").or_else(|| value.strip_prefix("file:")).unwrap_or(value);
        (!value.is_empty()).then(|| PathBuf::from(value))
    })
}

/// Splits `KAFKA_OPTS` as a shell would, for the simple quoting people use there.
fn shell_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            None => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// The credentials file of the `KafkaConnect` entry of a JAAS file: its `PropertyFileLoginModule`'s `file` option.
pub fn jaas_credentials_file(jaas_file: &Path) -> Result<PathBuf, ConfigError> {
    let err = |key: Option<&str>, message: String| ConfigError::new(jaas_file, key, message);
    let text = std::fs::read_to_string(jaas_file)
        .map_err(|e| err(None, format!("cannot read the JAAS file (-D{JAAS_PROPERTY} in KAFKA_OPTS): {e}")))?;
    let entries = parse_jaas(&text).map_err(|m| err(None, format!("malformed JAAS file: {m}")))?;
    let Some(modules) = entries.iter().find(|(name, _)| name == JAAS_ENTRY).map(|(_, m)| m) else {
        return Err(err(None, format!("no {JAAS_ENTRY} entry: the basic-auth extension reads that one")));
    };
    let [module] = modules.as_slice() else {
        return Err(err(
            Some(JAAS_ENTRY),
            format!("must hold exactly one login module, {PROPERTY_FILE_LOGIN_MODULE}; found {}", modules.len()),
        ));
    };
    if module.class != PROPERTY_FILE_LOGIN_MODULE {
        return Err(err(
            Some(JAAS_ENTRY),
            format!("login module {} is not supported; connect-rs supports {PROPERTY_FILE_LOGIN_MODULE}", module.class),
        ));
    }
    let Some(path) = module.options.get("file").map(|f| f.trim()).filter(|f| !f.is_empty()) else {
        return Err(err(Some(JAAS_ENTRY), "Property Credentials file must be specified (option file=\"...\")".into()));
    };
    Ok(resolve(jaas_file, path))
}

/// One login module of a JAAS entry.
#[derive(Debug, PartialEq)]
struct JaasModule {
    class: String,
    flag: String,
    options: BTreeMap<String, String>,
}

#[derive(Debug, PartialEq)]
enum JaasToken {
    Word(String),
    Quoted(String),
    Symbol(char),
}

fn jaas_tokens(text: &str) -> Result<Vec<JaasToken>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if (c == '/' && chars.get(i + 1) == Some(&'/')) || c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            if i >= chars.len() {
                return Err("unterminated /* comment".into());
            }
            i += 2;
        } else if c == '"' || c == '\'' {
            let mut value = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err("unterminated quoted value".into()),
                    Some(&q) if q == c => break,
                    Some('\\') if chars.get(i + 1).is_some() => {
                        value.push(chars[i + 1]);
                        i += 2;
                        continue;
                    }
                    Some(&other) => value.push(other),
                }
                i += 1;
            }
            i += 1;
            tokens.push(JaasToken::Quoted(value));
        } else if matches!(c, '{' | '}' | ';' | '=') {
            tokens.push(JaasToken::Symbol(c));
            i += 1;
        } else {
            let start = i;
            while i < chars.len()
                && !chars[i].is_whitespace()
                && !matches!(chars[i], '{' | '}' | ';' | '=' | '"' | '\'')
            {
                i += 1;
            }
            tokens.push(JaasToken::Word(chars[start..i].iter().collect()));
        }
    }
    Ok(tokens)
}

/// Parses a JAAS login configuration: `Name { module.Class flag key="value" ...; ... };`.
fn parse_jaas(text: &str) -> Result<Vec<(String, Vec<JaasModule>)>, String> {
    let tokens = jaas_tokens(text)?;
    let mut it = tokens.into_iter().peekable();
    let mut entries = Vec::new();
    let word = |t: Option<JaasToken>, what: &str| match t {
        Some(JaasToken::Word(w)) => Ok(w),
        Some(other) => Err(format!("expected {what}, found {other:?}")),
        None => Err(format!("expected {what}, found the end of the file")),
    };
    while it.peek().is_some() {
        let name = word(it.next(), "an entry name")?;
        if it.next() != Some(JaasToken::Symbol('{')) {
            return Err(format!("expected {{ after {name}"));
        }
        let mut modules = Vec::new();
        loop {
            match it.next() {
                Some(JaasToken::Symbol('}')) => break,
                Some(JaasToken::Word(class)) => {
                    let flag = word(it.next(), "a control flag (required, requisite, sufficient, optional)")?;
                    let mut options = BTreeMap::new();
                    loop {
                        match it.next() {
                            Some(JaasToken::Symbol(';')) => break,
                            Some(JaasToken::Word(key)) => {
                                if it.next() != Some(JaasToken::Symbol('=')) {
                                    return Err(format!("expected = after option {key}"));
                                }
                                let value = match it.next() {
                                    Some(JaasToken::Word(v)) | Some(JaasToken::Quoted(v)) => v,
                                    _ => return Err(format!("option {key} has no value")),
                                };
                                options.insert(key, value);
                            }
                            _ => return Err(format!("module {class}: expected options or ;")),
                        }
                    }
                    modules.push(JaasModule { class, flag, options });
                }
                _ => return Err(format!("entry {name}: expected a login module or }}")),
            }
        }
        if it.peek() == Some(&JaasToken::Symbol(';')) {
            it.next();
        }
        entries.push((name, modules));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<RestConfig, ConfigError> {
        RestConfig::from_props(Path::new("/etc/w.properties"), &props(pairs), None)
    }

    #[test]
    fn listeners_mix_http_and_https() {
        let cfg = parse(&[
            ("listeners", "http://:8083, HTTPS://127.0.0.1:8443"),
            ("listeners.https.ssl.keystore.location", "tls/server.pem"),
            ("ssl.truststore.location", "/ignored.jks"),
        ])
        .unwrap();
        assert_eq!(cfg.listeners[0].scheme, Scheme::Http);
        assert_eq!(cfg.listeners[0].bind_host(), "0.0.0.0");
        assert_eq!(cfg.listeners[1].scheme, Scheme::Https);
        assert_eq!((cfg.listeners[1].host.as_str(), cfg.listeners[1].port), ("127.0.0.1", 8443));
        let tls = cfg.tls.unwrap();
        assert_eq!(tls.prefix, HTTPS_PREFIX);
        // All or nothing: with a listeners.https. key, the worker-level ssl.* keys are not used at all.
        assert_eq!(tls.trust_store, None);
        assert_eq!(
            tls.key_store,
            Some(KeyStore::Combined(PemSource::File {
                path: PathBuf::from("/etc/tls/server.pem"),
                key: "listeners.https.ssl.keystore.location".into()
            }))
        );
        assert!(tls.verify_hostname);
    }

    #[test]
    fn http_only_ignores_the_kafka_clients_ssl_keys() {
        let cfg = parse(&[("ssl.keystore.type", "JKS"), ("ssl.keystore.location", "/k.jks")]).unwrap();
        assert_eq!(cfg.tls, None);
        assert_eq!(cfg.listeners[0].url, "http://:8083");
    }

    #[test]
    fn worker_level_ssl_keys_serve_when_no_prefixed_key_is_set() {
        let cfg = parse(&[
            ("listeners", "https://:8443"),
            ("ssl.keystore.key", "-----BEGIN PRIVATE KEY-----"),
            ("ssl.keystore.certificate.chain", "-----BEGIN CERTIFICATE-----"),
            ("ssl.truststore.certificates", "-----BEGIN CERTIFICATE-----"),
            ("ssl.client.auth", "required"),
            ("ssl.endpoint.identification.algorithm", ""),
        ])
        .unwrap();
        let tls = cfg.tls.unwrap();
        assert_eq!(tls.prefix, "");
        assert!(matches!(tls.key_store, Some(KeyStore::Separate { .. })));
        assert_eq!(tls.client_auth, ClientAuth::Required);
        assert!(!tls.verify_hostname);
        assert!(!format!("{tls:?}").contains("BEGIN"), "inline PEM must not be printed");
    }

    #[test]
    fn config_errors_name_file_and_key() {
        let err = parse(&[("listeners", "https://:8443")]).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("ssl.keystore.location"));
        assert!(err.to_string().starts_with("/etc/w.properties: ssl.keystore.location: an https:// listener"));

        let err = parse(&[
            ("listeners", "https://:8443"),
            ("listeners.https.ssl.keystore.type", "JKS"),
            ("listeners.https.ssl.keystore.location", "/k.jks"),
        ])
        .unwrap_err();
        assert_eq!(err.key.as_deref(), Some("listeners.https.ssl.keystore.type"));
        assert!(err.message.contains("JKS stores are not supported"), "{err}");
        assert!(err.message.contains("PEM"), "{err}");

        let err = parse(&[("listeners", "https://:8443"), ("ssl.truststore.type", "PKCS12")]).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("ssl.truststore.type"));

        let err = parse(&[("listeners", "ftp://:21")]).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("listeners"));
        assert!(err.message.contains("unknown protocol ftp"), "{err}");

        let err = parse(&[("listeners", "http://:8083,")]).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("listeners"));

        let err = parse(&[("listeners", "https://:8443"), ("ssl.keystore.key", "x")]).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("ssl.keystore.certificate.chain"));

        let err = parse(&[
            ("listeners", "https://:8443"),
            ("ssl.keystore.location", "/k.pem"),
            ("ssl.client.auth", "required"),
        ])
        .unwrap_err();
        assert_eq!(err.key.as_deref(), Some("ssl.client.auth"));
        assert!(err.message.contains("trust store"), "{err}");

        let err = parse(&[
            ("listeners", "https://:8443"),
            ("ssl.keystore.location", "/k.pem"),
            ("ssl.client.auth", "sometimes"),
        ])
        .unwrap_err();
        assert_eq!(err.key.as_deref(), Some("ssl.client.auth"));

        let err = parse(&[
            ("listeners", "https://:8443"),
            ("ssl.keystore.location", "/k.pem"),
            ("ssl.enabled.protocols", "TLSv1.1"),
        ])
        .unwrap_err();
        assert_eq!(err.key.as_deref(), Some("ssl.enabled.protocols"));
    }

    #[test]
    fn basic_auth_from_our_key_or_from_jaas_in_kafka_opts() {
        let cfg = parse(&[("rest.basic.auth.credentials.file", "users.properties")]).unwrap();
        let auth = cfg.basic_auth.unwrap();
        assert_eq!(auth.credentials, PathBuf::from("/etc/users.properties"));
        assert_eq!(auth.origin_key, BASIC_AUTH_CREDENTIALS_FILE);

        let dir = tempfile::tempdir().unwrap();
        let jaas = dir.path().join("jaas.conf");
        std::fs::write(
            &jaas,
            "// Kafka Connect's REST API\nKafkaConnect {\n  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required\n  file=\"creds.properties\";\n};\n/* others */ Other { x.Y optional; };\n",
        )
        .unwrap();
        let opts = format!("-Xmx1g -D{JAAS_PROPERTY}={} -Dfoo=bar", jaas.display());
        let cfg = RestConfig::from_props(
            Path::new("w.properties"),
            &props(&[(REST_EXTENSION_CLASSES, BASIC_AUTH_EXTENSION)]),
            Some(&opts),
        )
        .unwrap();
        let auth = cfg.basic_auth.unwrap();
        assert_eq!(auth.credentials, dir.path().join("creds.properties"));
        assert_eq!(auth.origin_file, jaas);
        assert_eq!(auth.origin_key, JAAS_ENTRY);

        // The extension without any JAAS file is an error on rest.extension.classes.
        let err = parse(&[(REST_EXTENSION_CLASSES, BASIC_AUTH_EXTENSION)]).unwrap_err();
        assert_eq!(err.key.as_deref(), Some(REST_EXTENSION_CLASSES));
        assert!(err.message.contains("KAFKA_OPTS"), "{err}");
        // A JAAS file without the extension turns nothing on, as in Kafka Connect.
        let cfg = RestConfig::from_props(Path::new("w.properties"), &props(&[]), Some(&opts)).unwrap();
        assert_eq!(cfg.basic_auth, None);
        // Java extensions we cannot run are refused.
        let err = parse(&[(REST_EXTENSION_CLASSES, "com.example.MyExtension")]).unwrap_err();
        assert_eq!(err.key.as_deref(), Some(REST_EXTENSION_CLASSES));
    }

    #[test]
    fn jaas_errors_name_the_jaas_file() {
        let dir = tempfile::tempdir().unwrap();
        let jaas = dir.path().join("jaas.conf");
        std::fs::write(&jaas, "KafkaConnect { com.example.LdapLoginModule required url=\"ldap://x\"; };").unwrap();
        let err = jaas_credentials_file(&jaas).unwrap_err();
        assert_eq!(err.file, jaas);
        assert_eq!(err.key.as_deref(), Some(JAAS_ENTRY));
        assert!(err.message.contains("LdapLoginModule"), "{err}");

        std::fs::write(&jaas, "KafkaServer { a.B required; };").unwrap();
        let err = jaas_credentials_file(&jaas).unwrap_err();
        assert!(err.message.contains("no KafkaConnect entry"), "{err}");

        std::fs::write(&jaas, "KafkaConnect { a.B required file=\"x\" ").unwrap();
        let err = jaas_credentials_file(&jaas).unwrap_err();
        assert!(err.message.contains("malformed JAAS file"), "{err}");

        let err = jaas_credentials_file(&dir.path().join("missing.conf")).unwrap_err();
        assert!(err.message.contains("cannot read the JAAS file"), "{err}");
    }

    #[test]
    fn kafka_opts_forms() {
        assert_eq!(jaas_file_from_opts("-Djava.security.auth.login.config==/a/j.conf"), Some("/a/j.conf".into()));
        assert_eq!(jaas_file_from_opts("'-Djava.security.auth.login.config=/a b/j.conf'"), Some("/a b/j.conf".into()));
        assert_eq!(jaas_file_from_opts("-Djava.security.auth.login.config=file:/j.conf"), Some("/j.conf".into()));
        assert_eq!(jaas_file_from_opts("-Dother=1"), None);
    }
}
