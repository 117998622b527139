//! `connect entrypoint`: the container images' entrypoint. It writes the worker configuration from a properties
//! file (a mounted ConfigMap) and `CONNECT_*` environment variables named as Confluent's images name them, then
//! runs the worker in this process. It never changes a key the user set: image defaults only fill gaps.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// The properties file read when present (mount a ConfigMap there).
pub const DEFAULT_CONFIG: &str = "/opt/connect/config/worker.properties";
/// Where the resulting configuration is written.
pub const DEFAULT_OUTPUT: &str = "/tmp/connect/worker.properties";

/// Which worker to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `connect distributed`.
    Distributed,
    /// `connect standalone` (connector files follow).
    Standalone,
}

/// Writes the worker configuration and runs the worker.
pub fn run(mode: Mode, connectors: &[PathBuf], config: Option<&Path>, output: &Path) -> anyhow::Result<()> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    let properties = worker_properties(mode, config, &env)?;
    write(output, &properties)?;
    let shown: Vec<String> = properties.iter().map(|(k, v)| format!("{k}={}", shown_value(k, v))).collect();
    tracing::info!("worker configuration written to {}: {}", output.display(), shown.join(", "));
    let result = match mode {
        Mode::Distributed => {
            if !connectors.is_empty() {
                bail!("distributed mode takes no connector files (create connectors over the REST API)");
            }
            super::distributed::run(output)
        }
        Mode::Standalone => super::standalone::run(output, connectors),
    };
    result.context(
        "the worker configuration comes from the properties file and CONNECT_* variables (key a.b-c is CONNECT_A_B__C)",
    )
}

/// The configuration: image defaults, then the file (`config`, or [`DEFAULT_CONFIG`] when it exists), then the
/// `CONNECT_*` variables.
pub fn worker_properties(
    mode: Mode,
    config: Option<&Path>,
    env: &[(String, String)],
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut properties = BTreeMap::new();
    properties.insert("plugin.path".to_string(), "/opt/connect/plugins".to_string());
    if mode == Mode::Standalone {
        properties.insert("offset.storage.file.filename".to_string(), "/var/lib/connect/connect.offsets".to_string());
    }
    let file = match config {
        Some(path) => Some(path.to_path_buf()),
        None => Some(PathBuf::from(DEFAULT_CONFIG)).filter(|p| p.is_file()),
    };
    if let Some(file) = file {
        let input = std::fs::File::open(&file).with_context(|| format!("cannot read {}", file.display()))?;
        let read = java_properties::read(std::io::BufReader::new(input))
            .with_context(|| format!("{}: not a properties file", file.display()))?;
        properties.extend(read);
    }
    for (name, value) in env {
        if let Some(key) = env_key(name) {
            properties.insert(key, value.clone());
        }
    }
    Ok(properties)
}

/// The worker key a variable sets, as Confluent's images read them: `CONNECT_` removed, lower case, `___` -> `_`,
/// `__` -> `-`, `_` -> `.` (`CONNECT_BOOTSTRAP_SERVERS` -> `bootstrap.servers`). Kubernetes' service-link
/// variables of a Service named `connect` (`CONNECT_PORT`, `CONNECT_SERVICE_HOST`, ...) are not worker keys and are
/// skipped.
pub fn env_key(name: &str) -> Option<String> {
    let rest = name.strip_prefix("CONNECT_")?;
    if rest.is_empty() || rest == "PORT" || rest.starts_with("PORT_") || rest.starts_with("SERVICE_") {
        return None;
    }
    let lower = rest.to_ascii_lowercase();
    let mut key = String::with_capacity(lower.len());
    let mut chars = lower.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '_' {
            key.push(c);
            continue;
        }
        let mut run = 1;
        while chars.peek() == Some(&'_') {
            chars.next();
            run += 1;
        }
        // Runs of underscores: groups of three are `_`, a remaining pair `-`, a remaining single `.`.
        key.push_str(&"_".repeat(run / 3));
        match run % 3 {
            2 => key.push('-'),
            1 => key.push('.'),
            _ => {}
        }
    }
    Some(key)
}

fn write(output: &Path, properties: &BTreeMap<String, String>) -> anyhow::Result<()> {
    if let Some(dir) = output.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut text = Vec::new();
    {
        let mut writer = java_properties::PropertiesWriter::new(&mut text);
        writer.write_comment("Written by `connect entrypoint` from the configuration file and CONNECT_* variables")?;
        for (key, value) in properties {
            writer.write(key, value)?;
        }
        writer.finish()?;
    }
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    // It may hold passwords: readable by the worker's user only.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(output)
        .with_context(|| format!("cannot write {}", output.display()))?;
    file.write_all(&text).with_context(|| format!("cannot write {}", output.display()))?;
    Ok(())
}

fn shown_value<'a>(key: &str, value: &'a str) -> &'a str {
    let key = key.to_ascii_lowercase();
    if ["password", "secret", "jaas", "token", "credentials"].iter().any(|word| key.contains(word)) {
        "[hidden]"
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_named_as_confluent_names_them() {
        assert_eq!(env_key("CONNECT_BOOTSTRAP_SERVERS").as_deref(), Some("bootstrap.servers"));
        assert_eq!(
            env_key("CONNECT_CONFIG_STORAGE_REPLICATION_FACTOR").as_deref(),
            Some("config.storage.replication.factor")
        );
        assert_eq!(env_key("CONNECT_PRODUCER_SASL__JAAS__CONFIG").as_deref(), Some("producer.sasl-jaas-config"));
        assert_eq!(env_key("CONNECT_MY___KEY").as_deref(), Some("my_key"));
        assert_eq!(env_key("CONNECT_A____B").as_deref(), Some("a_.b"));
        assert_eq!(env_key("CONNECT_PORT_8083_TCP_ADDR"), None);
        assert_eq!(env_key("CONNECT_SERVICE_HOST"), None);
        assert_eq!(env_key("KAFKA_HEAP_OPTS"), None);
    }

    #[test]
    fn defaults_then_file_then_variables() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("worker.properties");
        std::fs::write(&file, "group.id=from-file\nbootstrap.servers=file:9092\n").unwrap();
        let env = vec![
            ("CONNECT_BOOTSTRAP_SERVERS".to_string(), "env:9092".to_string()),
            ("HOME".to_string(), "/home/connect".to_string()),
        ];
        let properties = worker_properties(Mode::Standalone, Some(&file), &env).unwrap();
        assert_eq!(properties["group.id"], "from-file");
        assert_eq!(properties["bootstrap.servers"], "env:9092");
        assert_eq!(properties["plugin.path"], "/opt/connect/plugins");
        assert_eq!(properties["offset.storage.file.filename"], "/var/lib/connect/connect.offsets");
        assert_eq!(properties.len(), 4);

        let output = dir.path().join("out/worker.properties");
        write(&output, &properties).unwrap();
        let read = java_properties::read(std::fs::File::open(&output).unwrap()).unwrap();
        assert_eq!(read.len(), 4);
        assert_eq!(read["bootstrap.servers"], "env:9092");
        let missing = worker_properties(Mode::Distributed, Some(&dir.path().join("nope")), &[]).unwrap_err();
        assert!(format!("{missing:#}").contains("cannot read"), "{missing:#}");
    }
}
