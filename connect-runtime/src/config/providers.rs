//! Config providers (Kafka's `ConfigProvider` and `ConfigTransformer`): `${provider:[path:]key}` placeholders in
//! connector configs are replaced when connectors and tasks start, so secrets never sit in the config topic.
//!
//! Stored configs keep their placeholders; only the copy handed to the connector is resolved. As in Kafka, a
//! placeholder naming an unknown provider, or a key the provider does not have, is left as written; a provider
//! that cannot read its source (a missing file) fails the connector or task with a message naming it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use connect_api::{Config, ConnectError};

use super::{read_properties, with_prefix, ConfigError};

/// Kafka's class names of the providers built in.
pub const FILE_PROVIDER: &str = "org.apache.kafka.common.config.provider.FileConfigProvider";
/// `${env:NAME}`.
pub const ENV_PROVIDER: &str = "org.apache.kafka.common.config.provider.EnvVarConfigProvider";
/// `${directory:/dir:file}`.
pub const DIRECTORY_PROVIDER: &str = "org.apache.kafka.common.config.provider.DirectoryConfigProvider";

#[derive(Clone, Debug)]
enum Kind {
    /// `${name:/path/file.properties:key}`.
    File,
    /// `${name:VAR}` (or `${name::VAR}`), optionally limited by `allowlist.pattern`.
    Env { allowlist: Option<regex::Regex> },
    /// `${name:/dir:file}`: the content of a file.
    Directory,
}

#[derive(Clone, Debug)]
struct Provider {
    kind: Kind,
    /// `allowed.paths` (KIP-993): the only directories files may be read from; empty allows all.
    allowed_paths: Vec<PathBuf>,
}

/// The providers of a worker (`config.providers`).
#[derive(Clone, Debug, Default)]
pub struct ConfigProviders {
    providers: BTreeMap<String, Provider>,
}

impl ConfigProviders {
    /// The providers configured in a worker's `props`: `config.providers=a,b`, `config.providers.a.class=...`,
    /// `config.providers.a.param.<key>=...`.
    pub fn from_worker(file: &Path, props: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let mut providers = BTreeMap::new();
        let names = props.get("config.providers").map(String::as_str).unwrap_or("");
        for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let class_key = format!("config.providers.{name}.class");
            let class = props.get(&class_key).map(|c| c.trim()).ok_or_else(|| {
                ConfigError::new(file, Some(&class_key), format!("config provider {name} needs a class"))
            })?;
            let params = with_prefix(props, &format!("config.providers.{name}.param."));
            let simple = class.rsplit('.').next().unwrap_or(class);
            let kind = match simple {
                "FileConfigProvider" => Kind::File,
                "DirectoryConfigProvider" => Kind::Directory,
                "EnvVarConfigProvider" => {
                    let key = format!("config.providers.{name}.param.allowlist.pattern");
                    let allowlist = match params.get("allowlist.pattern") {
                        Some(pattern) => Some(regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
                            ConfigError::new(file, Some(&key), format!("invalid regular expression: {e}"))
                        })?),
                        None => None,
                    };
                    Kind::Env { allowlist }
                }
                _ => {
                    return Err(ConfigError::new(
                        file,
                        Some(&class_key),
                        format!(
                            "config provider class {class} is not supported; use {FILE_PROVIDER}, {ENV_PROVIDER} \
                             or {DIRECTORY_PROVIDER}"
                        ),
                    ))
                }
            };
            let allowed_paths = params
                .get("allowed.paths")
                .map(|p| p.split(',').map(str::trim).filter(|p| !p.is_empty()).map(PathBuf::from).collect())
                .unwrap_or_default();
            providers.insert(name.to_string(), Provider { kind, allowed_paths });
        }
        Ok(ConfigProviders { providers })
    }

    /// Whether no provider is configured.
    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    /// `config` with every resolvable placeholder replaced.
    pub fn resolve(&self, config: &Config) -> Result<Config, ConnectError> {
        let mut out = Config::new();
        for (key, value) in config {
            let resolved = if self.providers.is_empty() { value.clone() } else { self.resolve_value(key, value)? };
            out.insert(key.clone(), resolved);
        }
        Ok(out)
    }

    fn resolve_value(&self, key: &str, value: &str) -> Result<String, ConnectError> {
        let mut out = String::with_capacity(value.len());
        let mut rest = value;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return Ok(out);
            };
            let whole = &rest[start..start + 2 + end + 1];
            let replacement = match Placeholder::parse(&after[..end]) {
                Some(placeholder) => self.lookup(key, &placeholder)?,
                None => None,
            };
            out.push_str(replacement.as_deref().unwrap_or(whole));
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn lookup(&self, key: &str, placeholder: &Placeholder<'_>) -> Result<Option<String>, ConnectError> {
        let Some(provider) = self.providers.get(placeholder.provider) else {
            return Ok(None);
        };
        let fail = |message: String| ConnectError::config(key, message);
        let check_path = |path: &Path| -> Result<(), ConnectError> {
            if provider.allowed_paths.is_empty() || provider.allowed_paths.iter().any(|a| path.starts_with(a)) {
                Ok(())
            } else {
                Err(fail(format!(
                    "config provider {}: {} is not in its allowed.paths",
                    placeholder.provider,
                    path.display()
                )))
            }
        };
        match &provider.kind {
            Kind::Env { allowlist } => {
                let name = placeholder.key;
                if allowlist.as_ref().is_some_and(|a| !a.is_match(name)) {
                    return Ok(None);
                }
                Ok(std::env::var(name).ok())
            }
            Kind::File => {
                let path = Path::new(placeholder.path.unwrap_or(""));
                check_path(path)?;
                let props = read_properties(path).map_err(|e| {
                    fail(format!("config provider {} cannot read {}: {e}", placeholder.provider, path.display()))
                })?;
                Ok(props.get(placeholder.key).cloned())
            }
            Kind::Directory => {
                let dir = Path::new(placeholder.path.unwrap_or(""));
                let file = dir.join(placeholder.key);
                check_path(&file)?;
                // Only regular files directly in the directory, as Kafka's DirectoryConfigProvider.
                if placeholder.key.contains('/') || !file.is_file() {
                    return Ok(None);
                }
                std::fs::read_to_string(&file).map(Some).map_err(|e| {
                    fail(format!("config provider {} cannot read {}: {e}", placeholder.provider, file.display()))
                })
            }
        }
    }
}

/// `provider:[path:]key` inside `${...}`.
#[derive(Debug, PartialEq)]
struct Placeholder<'a> {
    provider: &'a str,
    path: Option<&'a str>,
    key: &'a str,
}

impl<'a> Placeholder<'a> {
    /// Kafka's pattern `\$\{([^}]*?):(([^}]*?):)?([^}]*?)\}`: the provider ends at the first colon, the path at
    /// the last one.
    fn parse(inner: &'a str) -> Option<Self> {
        let (provider, rest) = inner.split_once(':')?;
        match rest.rsplit_once(':') {
            Some((path, key)) => Some(Placeholder { provider, path: Some(path), key }),
            None => Some(Placeholder { provider, path: None, key: rest }),
        }
    }
}

/// Whether `value` is made of placeholders only (nothing secret in itself).
pub fn is_placeholder_only(value: &str) -> bool {
    let mut rest = value.trim();
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let Some(after) = rest.strip_prefix("${") else {
            return false;
        };
        let Some(end) = after.find('}') else {
            return false;
        };
        if Placeholder::parse(&after[..end]).is_none() {
            return false;
        }
        rest = after[end + 1..].trim_start();
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn placeholders_split_like_kafka() {
        assert_eq!(
            Placeholder::parse("file:/etc/a.properties:pw"),
            Some(Placeholder { provider: "file", path: Some("/etc/a.properties"), key: "pw" })
        );
        assert_eq!(Placeholder::parse("env:HOME"), Some(Placeholder { provider: "env", path: None, key: "HOME" }));
        assert_eq!(
            Placeholder::parse("directory:/a:b:c"),
            Some(Placeholder { provider: "directory", path: Some("/a:b"), key: "c" })
        );
        assert_eq!(Placeholder::parse("nocolon"), None);
        assert!(is_placeholder_only("${file:/x:y}"));
        assert!(!is_placeholder_only("pre-${file:/x:y}"));
        assert!(!is_placeholder_only("hunter2"));
    }

    #[test]
    fn file_env_and_directory_resolve() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = dir.path().join("secrets.properties");
        std::fs::write(&secrets, "db.password=s3cret\n").unwrap();
        std::fs::write(dir.path().join("token"), "tok-123").unwrap();
        std::env::set_var("CONNECT_RS_PROVIDER_TEST", "from-env");
        let worker = props(&[
            ("config.providers", "file, env,directory"),
            ("config.providers.file.class", FILE_PROVIDER),
            ("config.providers.env.class", "EnvVarConfigProvider"),
            ("config.providers.directory.class", DIRECTORY_PROVIDER),
        ]);
        let providers = ConfigProviders::from_worker(Path::new("w.properties"), &worker).unwrap();
        let connector = props(&[
            ("password", &format!("${{file:{}:db.password}}", secrets.display())),
            ("user", "${env:CONNECT_RS_PROVIDER_TEST}"),
            ("token", &format!("Bearer ${{directory:{}:token}}", dir.path().display())),
            ("missing", &format!("${{file:{}:nope}}", secrets.display())),
            ("unknown", "${vault:a:b}"),
            ("plain", "x${"),
        ]);
        let resolved = providers.resolve(&connector).unwrap();
        assert_eq!(resolved["password"], "s3cret");
        assert_eq!(resolved["user"], "from-env");
        assert_eq!(resolved["token"], "Bearer tok-123");
        assert_eq!(resolved["missing"], connector["missing"], "a missing key is left as written");
        assert_eq!(resolved["unknown"], "${vault:a:b}");
        assert_eq!(resolved["plain"], "x${");
        let broken = props(&[("password", "${file:/does/not/exist.properties:k}")]);
        let err = providers.resolve(&broken).unwrap_err().to_string();
        assert!(err.contains("password") && err.contains("/does/not/exist.properties"), "{err}");
    }

    #[test]
    fn allowed_paths_and_bad_settings_are_refused() {
        let worker = props(&[
            ("config.providers", "file"),
            ("config.providers.file.class", FILE_PROVIDER),
            ("config.providers.file.param.allowed.paths", "/etc/connect"),
        ]);
        let providers = ConfigProviders::from_worker(Path::new("w.properties"), &worker).unwrap();
        let err = providers.resolve(&props(&[("k", "${file:/tmp/x.properties:a}")])).unwrap_err();
        assert!(err.to_string().contains("allowed.paths"), "{err}");
        let missing_class = props(&[("config.providers", "vault")]);
        let err = ConfigProviders::from_worker(Path::new("w.properties"), &missing_class).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("config.providers.vault.class"));
        let unknown = props(&[("config.providers", "v"), ("config.providers.v.class", "com.x.VaultProvider")]);
        let err = ConfigProviders::from_worker(Path::new("w.properties"), &unknown).unwrap_err();
        assert!(err.message.contains("not supported"), "{err}");
    }
}
