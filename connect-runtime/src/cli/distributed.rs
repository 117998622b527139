//! `connect distributed worker.properties`: a worker that joins the group `group.id` through the Kafka group
//! coordinator, keeps configs, offsets and statuses in Kafka topics, serves the REST API on `listeners`, and runs
//! what the group assigns it, until SIGINT or SIGTERM; then it stops its work, commits offsets and leaves the group.
//!
//! [`DistributedWorker`] is the same worker without its REST listeners, so that `connect mirror-maker` runs one per
//! replication flow in one process.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::anyhow;

use crate::config::{DistributedConfig, TopicSettings, WorkerConfig};
use crate::herder::api::HerderHandle;
use crate::herder::distributed::{DistributedHerder, DistributedParts};
use crate::plugins::PluginRegistry;
use crate::rest;
use crate::rest::auth::BasicAuth;
use crate::rest::forward::Forwarder;
use crate::storage::kafka::{
    ensure_topics, internal_client_config, topic_settings, KafkaConfigStore, KafkaOffsetStore, KafkaStatusStore,
    KafkaStoreConfig, TopicSpec,
};
use crate::storage::OffsetStore;
use crate::worker::status::{StatusBoard, StatusSink};
use crate::worker::Worker;

/// Runs the distributed worker.
pub fn run(worker_file: &Path) -> anyhow::Result<()> {
    let worker_config = WorkerConfig::load(worker_file)?;
    let config = Arc::new(DistributedConfig::from_worker(worker_config)?);
    let file = worker_file.display().to_string();
    let runtime = super::io_runtime()?;

    // Bind the REST listeners and load their TLS material and credentials first: a port in use or a bad key store
    // is a configuration error, reported before anything is written.
    let listeners = runtime.block_on(rest::server::bind(&config.rest))?;
    let auth = config.rest.basic_auth.as_ref().map(BasicAuth::load).transpose()?;

    let registry = Arc::new(PluginRegistry::new(config.worker.plugin_path.clone()));
    registry.set_override_policy(config.worker.client_override_policy);
    crate::plugins::share_worker_cluster(&config.worker);
    let worker = DistributedWorker::start(config, &runtime, registry, &file)?;
    let stop = super::stop_on_signals()?;
    super::serve_rest(&runtime, listeners, rest::auth::protect(rest::router(worker.rest.clone()), auth));
    worker.run(stop);
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    tracing::info!("distributed worker stopped");
    Ok(())
}

/// A distributed worker ready to join its group: the Kafka cluster answered, the internal topics exist, the
/// stores have read them and the herder is built. Nothing runs until [`DistributedWorker::run`].
pub(crate) struct DistributedWorker {
    config: Arc<DistributedConfig>,
    herder: DistributedHerder,
    statuses: Arc<KafkaStatusStore>,
    /// The config topic, as the herder reads it.
    pub(crate) configs: Arc<KafkaConfigStore>,
    /// What a REST router needs to serve this worker's herder.
    pub(crate) rest: rest::RestContext,
}

impl DistributedWorker {
    /// Checks the cluster, creates (or checks) the internal topics and opens the stores; errors name `file`.
    /// Async pieces run on `runtime`.
    pub(crate) fn start(
        config: Arc<DistributedConfig>,
        runtime: &tokio::runtime::Runtime,
        registry: Arc<PluginRegistry>,
        file: &str,
    ) -> anyhow::Result<Self> {
        let http = rest::client::http_client(&config.rest, rest::REQUEST_TIMEOUT)?;
        let cluster_id = super::standalone::cluster_id(&config.worker)?;

        let client = internal_client_config(&config.worker);
        let spec = |topic: &TopicSettings, prefix: &str| TopicSpec {
            name: topic.name.clone(),
            partitions: topic.partitions,
            replication_factor: topic.replication_factor,
            settings: topic_settings(&config.worker.props, prefix),
        };
        let topics = [
            spec(&config.config_topic, "config.storage."),
            spec(&config.offset_topic, "offset.storage."),
            spec(&config.status_topic, "status.storage."),
        ];
        runtime
            .block_on(ensure_topics(&client, &topics, config.worker.api_timeout))
            .map_err(|e| anyhow!("{file}: cannot create or check the internal topics: {e}"))?;

        let client_id_base = format!("connect-{}", config.worker_id());
        let store = |topic: &TopicSettings| {
            let mut store = KafkaStoreConfig::new(client.clone(), client_id_base.clone(), topic.name.clone());
            store.timeout = config.worker.api_timeout;
            store
        };
        let configs = Arc::new(
            KafkaConfigStore::open(&store(&config.config_topic))
                .map_err(|e| anyhow!("{file}: config.storage.topic: {e}"))?,
        );
        let offsets = Arc::new(
            KafkaOffsetStore::open(&store(&config.offset_topic))
                .map_err(|e| anyhow!("{file}: offset.storage.topic: {e}"))?,
        );
        let statuses = Arc::new(
            KafkaStatusStore::open(&store(&config.status_topic))
                .map_err(|e| anyhow!("{file}: status.storage.topic: {e}"))?,
        );

        let status_sink: Arc<dyn StatusSink> = statuses.clone();
        let board =
            Arc::new(StatusBoard::with_sink(config.worker_id(), status_sink).track_topics(config.topic_tracking));
        let offset_store: Arc<dyn OffsetStore> = offsets.clone();
        let worker = Worker::new(Arc::new(config.worker.clone()), registry.clone(), offset_store, board);

        let (handle, requests) = HerderHandle::channel();
        let ctx =
            rest::RestContext::new(handle.clone(), registry.clone(), Forwarder::new(http), worker.metrics().clone());
        let herder = DistributedHerder::new(DistributedParts {
            config: config.clone(),
            runtime: runtime.handle().clone(),
            registry,
            worker,
            configs: configs.clone(),
            offsets,
            statuses: statuses.clone(),
            requests,
            cluster_id,
            ready: handle.readiness(),
        })
        .map_err(|e| anyhow!("{file}: {e}"))?;
        Ok(DistributedWorker { config, herder, statuses, configs, rest: ctx })
    }

    /// The herder's request queue.
    pub(crate) fn handle(&self) -> HerderHandle {
        self.rest.herder.clone()
    }

    /// Joins the group and runs the assigned work until `stop` is set; then stops the work, leaves the group and
    /// flushes the last status records.
    pub(crate) fn run(self, stop: Arc<AtomicBool>) {
        self.herder.run(stop);
        if let Err(err) = self.statuses.flush(self.config.worker.offset_flush_timeout) {
            tracing::warn!("cannot flush the last status records: {err}");
        }
    }
}
