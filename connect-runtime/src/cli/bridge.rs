//! `connect bridge application.properties`: the HTTP Bridge's dedicated mode, as Strimzi's `kafka_bridge_run.sh`.
//! One process runs a standalone worker without the Connect REST API, with the one Bridge connector whose task
//! serves Strimzi's HTTP API; until SIGINT or SIGTERM, then it stops the task and exits 0.
//!
//! The Bridge is the whole process here: when its connector or task fails (its port taken, say), the process
//! stops and exits non-zero with the reason, rather than staying up without an API as a worker would.

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::config::bridge::BridgeConfig;
use crate::herder::standalone::{StandaloneHerder, StandaloneParts};
use crate::herder::validation::require_valid;
use crate::plugins::PluginRegistry;
use crate::storage::{FileOffsetStore, MemoryStatusStore};
use crate::worker::status::{State, StatusBoard, StatusKey};
use crate::worker::{kafka, Worker};

/// How often the loop applies task reconfiguration requests and looks at the stop flag and the statuses.
const TICK: Duration = Duration::from_millis(100);

/// Runs the Bridge of `file` until SIGINT or SIGTERM.
pub fn run(file: &Path) -> anyhow::Result<()> {
    tracing::info!("HTTP Bridge initializing ...");
    let config = BridgeConfig::load(file)?;
    // Every configuration error first, before anything connects.
    let registry = Arc::new(PluginRegistry::new(Vec::new()));
    let plugin = require_valid(&registry, &config.connector.props).map_err(|e| anyhow!("{}: {e}", file.display()))?;
    check_ports_free(&config)?;
    let cluster_id = cluster_id(&config)?;

    // The Bridge's records carry no source offsets; the herder still wants an offset file.
    let offsets_file =
        ScratchFile(std::env::temp_dir().join(format!("connect-bridge-{}.offsets.json", std::process::id())));
    let offsets = Arc::new(FileOffsetStore::open(&offsets_file.0)?);
    let runtime = super::io_runtime()?;
    let stop = super::stop_on_signals()?;

    let worker_id = format!("{}:{}", crate::config::local_host_name(), config.http_port());
    let topics = Arc::new(MemoryStatusStore::new());
    let board = Arc::new(StatusBoard::with_sink(worker_id, topics.clone()).track_topics(config.worker.topic_tracking));
    let worker = Worker::new(Arc::new(config.worker.clone()), registry.clone(), offsets.clone(), board.clone());
    let mut herder = StandaloneHerder::new(StandaloneParts {
        worker,
        registry,
        offsets,
        topics,
        cluster_id,
        runtime: runtime.handle().clone(),
    });

    let name = config.connector.name.clone();
    let started = herder.start_connector(config.connector.clone(), plugin);
    let mut outcome =
        started.map_err(|e| anyhow!("{}: the HTTP Bridge connector {name} failed to start: {e}", file.display()));
    let mut reported_running = false;
    while outcome.is_ok() && !stop.load(Ordering::Acquire) {
        if let Some(failure) = failure(&board, &name) {
            outcome = Err(anyhow!("{}: the HTTP Bridge failed: {failure}", file.display()));
            break;
        }
        if !reported_running && task_running(&board, &name) {
            reported_running = true;
            log_started(&config);
        }
        std::thread::sleep(TICK);
        herder.tick();
    }
    tracing::info!("HTTP Bridge stopping");
    herder.stop();
    runtime.shutdown_timeout(Duration::from_secs(1));
    if outcome.is_ok() {
        tracing::info!("HTTP Bridge stopped");
    }
    outcome
}

/// A file removed when dropped.
struct ScratchFile(PathBuf);

impl Drop for ScratchFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn log_started(config: &BridgeConfig) {
    let host = config.http_host();
    match config.management_port() {
        Some(management) => tracing::info!(
            "HTTP Bridge started: API on http://{host}:{}, /healthy and /ready also on port {management}",
            config.http_port()
        ),
        None => tracing::info!("HTTP Bridge started: API on http://{host}:{}", config.http_port()),
    }
}

fn task_running(board: &StatusBoard, connector: &str) -> bool {
    let task = crate::worker::status::TaskId { connector: connector.to_string(), task: 0 };
    board.get(&StatusKey::Task(task)).is_some_and(|s| s.state == State::Running)
}

/// Why the Bridge connector or one of its tasks is FAILED, if it is.
fn failure(board: &StatusBoard, connector: &str) -> Option<String> {
    board.all().into_iter().find_map(|(key, status)| {
        let ours = match &key {
            StatusKey::Connector(name) => name == connector,
            StatusKey::Task(id) => id.connector == connector,
        };
        (ours && status.state == State::Failed).then(|| {
            let trace = status.trace.unwrap_or_default();
            let reason = trace.lines().next().unwrap_or("no reason given");
            // The worker's producer is the Bridge's: its settings come from this file's keys.
            let hint = if reason.contains("the producer of task") { " (kafka.*, kafka.producer.*)" } else { "" };
            format!("{key} is FAILED: {reason}{hint}")
        })
    })
}

/// Fails fast, naming `http.host`, `http.port` or `http.management.port`, when the Bridge's host is unknown or a
/// port of it taken: the task would only find out once started. (A port may still be taken in between; the task's
/// failure then says so.)
fn check_ports_free(config: &BridgeConfig) -> anyhow::Result<()> {
    let host = config.http_host();
    let api = config.http_port();
    let mut ports = vec![("http.port", api)];
    if let Some(management) = config.management_port() {
        if management == api && api != 0 {
            return Err(anyhow!(
                "{}: http.management.port: must differ from http.port ({api}), or be -1 for no management listener",
                config.file.display()
            ));
        }
        ports.push(("http.management.port", management));
    }
    let addresses: Vec<SocketAddr> = (host, 0)
        .to_socket_addrs()
        .with_context(|| format!("{}: http.host: cannot resolve {host}", config.file.display()))?
        .collect();
    for (key, port) in ports.into_iter().filter(|(_, port)| *port != 0) {
        let at: Vec<SocketAddr> = addresses.iter().map(|a| SocketAddr::new(a.ip(), port)).collect();
        TcpListener::bind(at.as_slice())
            .with_context(|| format!("{}: {key}: cannot listen on {host}:{port}", config.file.display()))?;
    }
    Ok(())
}

/// The Kafka cluster id, failing fast (naming `kafka.bootstrap.servers`) when the cluster cannot be reached within
/// `kafka.default.api.timeout.ms`.
fn cluster_id(config: &BridgeConfig) -> anyhow::Result<String> {
    let worker = &config.worker;
    let probe: BaseConsumer = kafka::probe_config(worker)
        .create()
        .map_err(|e| anyhow!("{}: invalid Kafka client settings: {e}", config.file.display()))?;
    probe.fetch_metadata(None, worker.api_timeout).map_err(|e| {
        anyhow!(
            "{}: kafka.bootstrap.servers: cannot reach the Kafka cluster at {} within {} ms \
             (kafka.default.api.timeout.ms): {e}",
            config.file.display(),
            worker.bootstrap_servers,
            worker.api_timeout.as_millis()
        )
    })?;
    Ok(probe.client().fetch_cluster_id(worker.api_timeout).unwrap_or_else(|| {
        tracing::warn!("the Kafka cluster did not report a cluster id");
        String::new()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn bridge(pairs: &[(&str, &str)]) -> BridgeConfig {
        let mut props: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        props.insert("kafka.bootstrap.servers".into(), "127.0.0.1:9".into());
        BridgeConfig::from_props(Path::new("bridge.properties"), props).unwrap()
    }

    #[test]
    fn a_taken_port_is_named_by_its_key() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port().to_string();
        let free = || TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();

        let config = bridge(&[("http.host", "127.0.0.1"), ("http.port", &port), ("http.management.port", "-1")]);
        let err = format!("{:#}", check_ports_free(&config).unwrap_err());
        assert!(
            err.starts_with(&format!("bridge.properties: http.port: cannot listen on 127.0.0.1:{port}: ")),
            "{err}"
        );

        let config = bridge(&[("http.host", "127.0.0.1"), ("http.port", &free()), ("http.management.port", &port)]);
        let err = format!("{:#}", check_ports_free(&config).unwrap_err());
        assert!(err.starts_with("bridge.properties: http.management.port: cannot listen"), "{err}");

        let same = free();
        let config = bridge(&[("http.host", "127.0.0.1"), ("http.port", &same), ("http.management.port", &same)]);
        let err = check_ports_free(&config).unwrap_err().to_string();
        assert!(err.starts_with("bridge.properties: http.management.port: must differ from http.port"), "{err}");

        let config = bridge(&[("http.host", "127.0.0.1"), ("http.port", &free()), ("http.management.port", &free())]);
        check_ports_free(&config).unwrap();

        let config = bridge(&[("http.host", "no-such-host.invalid"), ("http.port", &free())]);
        let err = format!("{:#}", check_ports_free(&config).unwrap_err());
        assert!(err.starts_with("bridge.properties: http.host: cannot resolve no-such-host.invalid"), "{err}");
    }

    #[test]
    fn a_failed_task_is_the_bridge_failure() {
        let board = StatusBoard::new("w:1");
        let task = |connector: &str| {
            StatusKey::Task(crate::worker::status::TaskId { connector: connector.to_string(), task: 0 })
        };
        board.set(StatusKey::Connector("http-bridge".into()), State::Running, None);
        board.set(task("other"), State::Failed, Some("not ours".into()));
        assert_eq!(failure(&board, "http-bridge"), None);
        board.set(task("http-bridge"), State::Running, None);
        assert!(task_running(&board, "http-bridge"));
        board.set(task("http-bridge"), State::Failed, Some("http.port: address in use\n  at bind".into()));
        assert_eq!(
            failure(&board, "http-bridge").as_deref(),
            Some("task http-bridge-0 is FAILED: http.port: address in use")
        );
        let trace = "cannot create the producer of task http-bridge-0: bad".to_string();
        board.set(task("http-bridge"), State::Failed, Some(trace.clone()));
        let expected = format!("task http-bridge-0 is FAILED: {trace} (kafka.*, kafka.producer.*)");
        assert_eq!(failure(&board, "http-bridge"), Some(expected));
    }
}
