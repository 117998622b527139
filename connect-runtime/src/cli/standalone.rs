//! `connect standalone worker.properties connector.properties...`: one process runs the given connectors, with
//! offsets in a local file, until SIGINT or SIGTERM; then it stops the tasks, flushes their offsets and exits 0.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::config::{load_connector_config, WorkerConfig};
use crate::herder::standalone::StandaloneHerder;
use crate::herder::validation::require_valid;
use crate::plugins::PluginRegistry;
use crate::storage::FileOffsetStore;
use crate::worker::status::StatusBoard;
use crate::worker::{kafka, Worker};

/// Runs the standalone worker.
pub fn run(worker_file: &Path, connector_files: &[PathBuf]) -> anyhow::Result<()> {
    let worker_config = WorkerConfig::load(worker_file)?;
    let offsets_file = worker_config.offset_storage_file.clone().ok_or_else(|| {
        anyhow!(
            "{}: offset.storage.file.filename: Missing required configuration \"offset.storage.file.filename\" which has no default value.",
            worker_file.display()
        )
    })?;

    let registry = PluginRegistry::new(worker_config.plugin_path.clone());
    let mut connectors = Vec::new();
    for file in connector_files {
        let config = load_connector_config(file)?;
        if connectors.iter().any(|(c, _, _): &(crate::config::ConnectorConfig, _, _)| c.name == config.name) {
            bail!("{}: name: a connector named {} is already defined by an earlier file", file.display(), config.name);
        }
        let plugin = require_valid(&registry, &config.props).map_err(|e| anyhow!("{}: {e}", file.display()))?;
        connectors.push((config, plugin, file.clone()));
    }

    check_cluster(&worker_config)?;
    let offsets = FileOffsetStore::open(&offsets_file)?;

    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone()).context("installing the signal handlers")?;
    }

    let status = Arc::new(StatusBoard::new(format!("standalone-{}", std::process::id())));
    let worker = Worker::new(Arc::new(worker_config), Arc::new(offsets), status);
    let mut herder = StandaloneHerder::new(worker);
    for (config, plugin, file) in connectors {
        let name = config.name.clone();
        if let Err(err) = herder.start_connector(config, plugin) {
            tracing::error!("connector {name} from {} failed to start: {err}", file.display());
        }
    }
    tracing::info!("standalone worker started");
    while !stop.load(Ordering::Acquire) {
        herder.tick();
        std::thread::sleep(Duration::from_millis(100));
    }
    tracing::info!("stopping: tasks commit their offsets");
    herder.stop();
    tracing::info!("standalone worker stopped");
    Ok(())
}

/// Fails fast, naming `bootstrap.servers`, when the Kafka cluster cannot be reached within
/// `default.api.timeout.ms`; returns the probe client, still connected, for further questions.
pub(crate) fn check_cluster(config: &WorkerConfig) -> anyhow::Result<BaseConsumer> {
    let probe: BaseConsumer = kafka::probe_config(config)
        .create()
        .map_err(|e| anyhow!("{}: invalid client settings: {e}", config.file.display()))?;
    probe.fetch_metadata(None, config.api_timeout).map_err(|e| {
        anyhow!(
            "{}: bootstrap.servers: cannot reach the Kafka cluster at {} within {} ms (default.api.timeout.ms): {e}",
            config.file.display(),
            config.bootstrap_servers,
            config.api_timeout.as_millis()
        )
    })?;
    Ok(probe)
}
