//! `connect standalone worker.properties connector.properties...`: one process runs the given connectors, with
//! offsets in a local file, and serves the REST API on `listeners` (connectors created over REST live in memory
//! only, as in Kafka Connect), until SIGINT or SIGTERM; then it stops the tasks, flushes their offsets and exits 0.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::config::{load_connector_config, RestConfig, WorkerConfig};
use crate::herder::api::HerderHandle;
use crate::herder::standalone::{StandaloneHerder, StandaloneParts};
use crate::herder::validation::require_valid;
use crate::plugins::PluginRegistry;
use crate::rest;
use crate::rest::auth::BasicAuth;
use crate::rest::forward::Forwarder;
use crate::rest::server::BoundListener;
use crate::storage::{FileOffsetStore, MemoryStatusStore};
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
    let rest_config =
        RestConfig::from_props(worker_file, &worker_config.props, std::env::var("KAFKA_OPTS").ok().as_deref())?;

    let registry = Arc::new(PluginRegistry::new(worker_config.plugin_path.clone()));
    registry.set_override_policy(worker_config.client_override_policy);
    crate::plugins::share_worker_cluster(&worker_config);
    let mut connectors = Vec::new();
    for file in connector_files {
        let config = load_connector_config(file)?;
        if connectors.iter().any(|(c, _, _): &(crate::config::ConnectorConfig, _, _)| c.name == config.name) {
            bail!("{}: name: a connector named {} is already defined by an earlier file", file.display(), config.name);
        }
        let plugin = require_valid(&registry, &config.props).map_err(|e| anyhow!("{}: {e}", file.display()))?;
        connectors.push((config, plugin, file.clone()));
    }

    let cluster_id = cluster_id(&worker_config)?;
    let offsets = Arc::new(FileOffsetStore::open(&offsets_file)?);

    // The REST API and the herder's admin calls run on a small runtime of their own; plugin code never does.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("connect-io")
        .enable_all()
        .build()
        .context("starting the I/O runtime")?;
    // A port in use or a bad key store is a configuration error, reported before any connector starts.
    let listeners = runtime.block_on(rest::server::bind(&rest_config))?;
    let auth = rest_config.basic_auth.as_ref().map(BasicAuth::load).transpose()?;
    let http = rest::client::http_client(&rest_config, rest::REQUEST_TIMEOUT)?;

    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone()).context("installing the signal handlers")?;
    }

    let worker_id = worker_id(&worker_config, &rest_config, &listeners);
    let topics = Arc::new(MemoryStatusStore::new());
    let board = Arc::new(StatusBoard::with_sink(worker_id, topics.clone()).track_topics(worker_config.topic_tracking));
    let worker = Worker::new(Arc::new(worker_config), registry.clone(), offsets.clone(), board);

    let (handle, requests) = HerderHandle::channel();
    let ctx = rest::RestContext::new(handle.clone(), registry.clone(), Forwarder::new(http), worker.metrics().clone());
    super::serve_rest(&runtime, listeners, rest::auth::protect(rest::router(ctx), auth));

    let mut herder = StandaloneHerder::new(StandaloneParts {
        worker,
        registry,
        offsets,
        topics,
        cluster_id,
        runtime: runtime.handle().clone(),
    });
    for (config, plugin, file) in connectors {
        let name = config.name.clone();
        if let Err(err) = herder.start_connector(config, plugin) {
            tracing::error!("connector {name} from {} failed to start: {err}", file.display());
        }
    }
    handle.readiness().store(true, Ordering::Release);
    tracing::info!("standalone worker started");
    herder.run(&stop, requests);
    tracing::info!("stopping: tasks commit their offsets");
    runtime.shutdown_timeout(Duration::from_secs(1));
    tracing::info!("standalone worker stopped");
    Ok(())
}

/// The worker id in statuses, `host:port` of the REST API as Kafka Connect advertises it: the first listener
/// (its real port), unless `rest.advertised.host.name` / `rest.advertised.port` say otherwise.
fn worker_id(worker: &WorkerConfig, rest: &RestConfig, bound: &[BoundListener]) -> String {
    let listener = rest.listeners.first();
    let advertised = |key: &str| worker.props.get(key).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let host = advertised("rest.advertised.host.name").unwrap_or_else(|| match listener {
        Some(l) if !l.host.is_empty() && l.host != "0.0.0.0" => l.host.clone(),
        _ => crate::config::local_host_name(),
    });
    let port = advertised("rest.advertised.port")
        .and_then(|p| p.parse::<u16>().ok())
        .or_else(|| bound.first().and_then(|l| l.local_addr().ok()).map(|a| a.port()))
        .unwrap_or_default();
    format!("{host}:{port}")
}

/// The Kafka cluster id, failing fast (naming `bootstrap.servers`) when the cluster cannot be reached within
/// `default.api.timeout.ms`.
pub(crate) fn cluster_id(config: &WorkerConfig) -> anyhow::Result<String> {
    let probe = check_cluster(config)?;
    Ok(probe.client().fetch_cluster_id(config.api_timeout).unwrap_or_else(|| {
        tracing::warn!("the Kafka cluster did not report a cluster id");
        String::new()
    }))
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
