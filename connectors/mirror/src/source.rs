//! MirrorSourceConnector: replicates topics of the source cluster into remote topics of the target cluster.
//!
//! The connector keeps the set of topic-partitions to replicate on a thread of its own: it lists the source
//! topics every `refresh.topics.interval.seconds`, creates the remote topics on the target (same partition
//! count, topic configs copied), grows them when the source grows, and asks for new task configurations when
//! the set changes. Tasks read their partitions with a plain consumer and hand the bytes over untouched; the
//! runtime produces them to the target. Every acknowledged record may yield an offset sync (upstream offset ->
//! downstream offset) on the offset-syncs topic, with Java's rules, for the checkpoint connector.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use abi_stable::std_types::{ROption, RString};
use connect_api::config::ConfigValueInfo;
use connect_api::{
    Config, ConfigDef, ConnectError, Connector, ConnectorContext, Headers, RecordMetadata, Result, Schema,
    SourceConnector, SourceMap, SourceRecord, SourceTask, SourceTaskContext, Value,
};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers as _, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use regex::Regex;

use crate::clients::{self, Admin, Cluster, Role, TopicConfigs, TopicSpec};
use crate::config::{self, MirrorConfig, SyncsLocation, TASK_PARTITIONS};
use crate::discovered::Discovered;
use crate::wire::OffsetSync;

/// How long `task_configs` waits at most for the first look at the clusters.
pub(crate) const FIRST_LOOK_WAIT: Duration = Duration::from_secs(10);

/// The most records one `poll` returns.
const MAX_BATCH: usize = 4096;

/// Kafka's `org.apache.kafka.connect.mirror.MirrorSourceConnector`.
#[derive(Default)]
pub struct MirrorSourceConnector {
    config: Config,
    known: Arc<Discovered<(String, i32)>>,
    first_wait: Duration,
    refresher: Option<Refresher>,
}

/// The connector's background thread; dropped (not joined) on stop, it notices within one admin call.
struct Refresher {
    stop: mpsc::Sender<()>,
    stopped: Arc<AtomicBool>,
}

impl Connector for MirrorSourceConnector {
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }

    fn config_def(&self) -> ConfigDef {
        config::source_def()
    }

    fn validate(&self, config: &Config) -> Vec<ConfigValueInfo> {
        config::validate(&config::source_def(), config)
    }

    fn start(&mut self, context: ConnectorContext, config: &Config) -> Result<()> {
        let (parsed, mirror) = config::parse(&config::source_def(), config)?;
        clients::client_config(config, Cluster::Source, Role::Admin)?;
        clients::client_config(config, Cluster::Target, Role::Admin)?;
        let settings = RefreshSettings {
            filter: MirrorConfig::topic_filter(&parsed)?,
            config_exclude: config_regex(parsed.list("config.properties.exclude")?)?,
            refresh: if parsed.boolean("refresh.topics.enabled")? {
                config::interval(&parsed, "refresh.topics.interval.seconds")?
            } else {
                None
            },
            sync_configs: if parsed.boolean("sync.topic.configs.enabled")? {
                config::interval(&parsed, "sync.topic.configs.interval.seconds")?
            } else {
                None
            },
            emit_offset_syncs: parsed.boolean("emit.offset-syncs.enabled")?,
            replication_factor: parsed.int("replication.factor")?,
        };
        self.config = config.clone();
        self.known.reset();
        self.first_wait = mirror.admin_timeout.min(FIRST_LOOK_WAIT);
        if !parsed.boolean("enabled")? {
            // A flow that is switched off (Java's dedicated mode writes such configs): no work, no tasks.
            self.known.update(Vec::new());
            return Ok(());
        }
        let (stop, stop_rx) = mpsc::channel();
        let stopped = Arc::new(AtomicBool::new(false));
        let refresher = TopicRefresher {
            mirror,
            settings,
            known: self.known.clone(),
            context,
            stopped: stopped.clone(),
            stop: stop_rx,
        };
        std::thread::Builder::new()
            .name("mirror-source-refresh".into())
            .spawn(move || refresher.run())
            .map_err(|e| ConnectError::new(format!("cannot start the topic refresh thread: {e}")))?;
        self.refresher = Some(Refresher { stop, stopped });
        Ok(())
    }

    fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<Config>> {
        let known = self.known.wait(self.first_wait);
        Ok(config::round_robin(&known, max_tasks.max(1))
            .into_iter()
            .map(|partitions| {
                let mut task = self.config.clone();
                let list: Vec<String> = partitions.iter().map(|(t, p)| format!("{t}-{p}")).collect();
                task.insert(TASK_PARTITIONS.into(), list.join(","));
                task
            })
            .collect())
    }

    fn stop(&mut self) -> Result<()> {
        if let Some(refresher) = self.refresher.take() {
            refresher.stopped.store(true, Ordering::SeqCst);
            let _ = refresher.stop.send(());
        }
        Ok(())
    }
}

impl SourceConnector for MirrorSourceConnector {
    type Task = MirrorSourceTask;
}

fn config_regex(items: &[String]) -> Result<Option<Regex>> {
    if items.is_empty() {
        return Ok(None);
    }
    let pattern = format!("^(?:{})$", items.iter().map(|i| format!("(?:{i})")).collect::<Vec<_>>().join("|"));
    Regex::new(&pattern)
        .map(Some)
        .map_err(|e| ConnectError::config("config.properties.exclude", format!("not a valid regex list: {e}")))
}

struct RefreshSettings {
    filter: config::NameFilter,
    config_exclude: Option<Regex>,
    refresh: Option<Duration>,
    sync_configs: Option<Duration>,
    emit_offset_syncs: bool,
    replication_factor: i32,
}

struct TopicRefresher {
    mirror: MirrorConfig,
    settings: RefreshSettings,
    known: Arc<Discovered<(String, i32)>>,
    context: ConnectorContext,
    stopped: Arc<AtomicBool>,
    stop: mpsc::Receiver<()>,
}

impl TopicRefresher {
    fn run(self) {
        let timeout = self.mirror.admin_timeout;
        let admins = Admin::new(&self.mirror.originals, Cluster::Source, timeout)
            .and_then(|s| Ok((s, Admin::new(&self.mirror.originals, Cluster::Target, timeout)?)));
        let (source, target) = match admins {
            Ok(admins) => admins,
            Err(e) => return self.fail(e),
        };
        // Reach both clusters first, so that an unreachable one is what the failure says.
        if let Err(e) =
            source.topics().and_then(|_| target.topics()).and_then(|_| self.create_offset_syncs_topic(&source, &target))
        {
            return self.fail(e);
        }
        let mut first = true;
        let mut next_config_sync = self.settings.sync_configs.map(|i| Instant::now() + i);
        loop {
            if self.stopped.load(Ordering::SeqCst) {
                return;
            }
            match self.refresh(&source, &target) {
                Ok(true) if !self.stopped.load(Ordering::SeqCst) => self.context.request_task_reconfiguration(),
                Ok(_) => {}
                // The first look decides whether the connector can work at all: fail it with the reason.
                Err(e) if first => return self.fail(e),
                Err(e) => tracing::warn!("MirrorSourceConnector: topic refresh failed, retrying later: {e}"),
            }
            first = false;
            if let (Some(at), Some(interval)) = (next_config_sync, self.settings.sync_configs) {
                if Instant::now() >= at {
                    self.sync_topic_configs(&source, &target);
                    next_config_sync = Some(Instant::now() + interval);
                }
            }
            let wait = [self.settings.refresh, next_config_sync.map(|at| at.saturating_duration_since(Instant::now()))]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(Duration::from_secs(3600));
            match self.stop.recv_timeout(wait) {
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                _ => return,
            }
        }
    }

    fn fail(&self, error: ConnectError) {
        self.known.give_up();
        if !self.stopped.load(Ordering::SeqCst) {
            tracing::error!("MirrorSourceConnector failed: {error}");
            self.context.raise_error(error.context("MirrorSourceConnector"));
        }
    }

    fn create_offset_syncs_topic(&self, source: &Admin, target: &Admin) -> Result<()> {
        if !self.settings.emit_offset_syncs {
            return Ok(());
        }
        let admin = match self.mirror.syncs_location {
            SyncsLocation::Source => source,
            SyncsLocation::Target => target,
        };
        admin.create_topics(&[TopicSpec {
            name: &self.mirror.offset_syncs_topic,
            partitions: 1,
            replication_factor: self.mirror.offset_syncs_replication_factor.into(),
            configs: vec![("cleanup.policy".into(), "compact".into())],
        }])
    }

    fn source_configs(&self, source: &Admin, topic: &str) -> Vec<(String, String)> {
        match source.topic_configs(topic) {
            Ok(configs) => configs
                .into_iter()
                .filter(|(k, _)| !self.settings.config_exclude.as_ref().is_some_and(|r| r.is_match(k)))
                .collect(),
            Err(e) => {
                tracing::warn!("MirrorSourceConnector: topic configs of {topic} not copied: {e}");
                Vec::new()
            }
        }
    }

    /// Looks at both clusters, creates or grows remote topics, and updates the known topic-partitions; true when
    /// they changed.
    fn refresh(&self, source: &Admin, target: &Admin) -> Result<bool> {
        let source_topics: BTreeMap<String, i32> =
            source.topics()?.into_iter().filter(|(t, _)| self.mirror.replicates(&self.settings.filter, t)).collect();
        let mut target_topics = target.topics()?;
        let remote = |topic: &str| self.mirror.policy.format_remote_topic(&self.mirror.source_alias, topic);

        let missing: Vec<(String, i32, TopicConfigs)> = source_topics
            .iter()
            .filter(|(t, _)| !target_topics.contains_key(&remote(t)))
            .map(|(t, n)| {
                let configs =
                    if self.settings.sync_configs.is_some() { self.source_configs(source, t) } else { Vec::new() };
                (remote(t), *n, configs)
            })
            .collect();
        if !missing.is_empty() {
            let specs: Vec<TopicSpec<'_>> = missing
                .iter()
                .map(|(name, partitions, configs)| TopicSpec {
                    name,
                    partitions: *partitions,
                    replication_factor: self.settings.replication_factor,
                    configs: configs.clone(),
                })
                .collect();
            target.create_topics(&specs)?;
            for (name, partitions, _) in &missing {
                tracing::info!("MirrorSourceConnector: created remote topic {name} with {partitions} partitions");
                target_topics.insert(name.clone(), *partitions);
            }
        }

        let mut known = Vec::new();
        for (topic, partitions) in &source_topics {
            let remote_name = remote(topic);
            let mut remote_partitions = target_topics.get(&remote_name).copied().unwrap_or(0);
            if remote_partitions < *partitions {
                match target.create_partitions(&remote_name, *partitions) {
                    Ok(()) => remote_partitions = *partitions,
                    Err(e) => tracing::warn!(
                        "MirrorSourceConnector: {remote_name} has {remote_partitions} partitions, {topic} has \
                         {partitions}; the extra partitions are not replicated until it grows: {e}"
                    ),
                }
            }
            known.extend((0..(*partitions).min(remote_partitions)).map(|p| (topic.clone(), p)));
        }
        let (partitions, topics) = (known.len(), source_topics.len());
        if !self.known.update(known) {
            return Ok(false);
        }
        tracing::info!(
            "MirrorSourceConnector: replicating {partitions} topic-partitions of {topics} topics from {}",
            self.mirror.source_alias
        );
        Ok(true)
    }

    fn sync_topic_configs(&self, source: &Admin, target: &Admin) {
        let mut topics: Vec<String> = self.known.get().into_iter().map(|(t, _)| t).collect();
        topics.dedup();
        for topic in topics {
            let configs = self.source_configs(source, &topic);
            if configs.is_empty() {
                continue;
            }
            let remote = self.mirror.policy.format_remote_topic(&self.mirror.source_alias, &topic);
            if let Err(e) = target.alter_topic_configs(&remote, &configs) {
                tracing::warn!("MirrorSourceConnector: configs of {remote} not synced: {e}");
            }
        }
    }
}

/// Logs offset syncs that could not be written; they are superseded by later ones.
struct SyncContext;

impl ClientContext for SyncContext {}

impl ProducerContext for SyncContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            tracing::warn!("MirrorSourceTask: an offset sync was not written: {e}");
        }
    }
}

/// Java's `PartitionState` of the offset-sync writer.
struct PartitionState {
    previous_upstream: i64,
    previous_downstream: i64,
    last_sync_downstream: i64,
    /// (upstream, downstream) to send at once.
    pending: Option<(i64, i64)>,
    /// (upstream, downstream) to send at the next offset commit.
    delayed: Option<(i64, i64)>,
}

impl PartitionState {
    fn new() -> Self {
        PartitionState {
            previous_upstream: -1,
            previous_downstream: -1,
            last_sync_downstream: -1,
            pending: None,
            delayed: None,
        }
    }

    /// Records a replicated offset pair; true when it must be synced right away.
    fn update(&mut self, upstream: i64, downstream: i64, max_lag: i64) -> bool {
        let no_previous_sync = self.last_sync_downstream == -1;
        // Translation lands one past the last sync, hence the + 1.
        let too_stale = downstream - (self.last_sync_downstream + 1) >= max_lag;
        let skipped_upstream = upstream - self.previous_upstream != 1;
        let truncated_downstream = downstream < self.previous_downstream;
        let sync = no_previous_sync || too_stale || skipped_upstream || truncated_downstream;
        if sync {
            self.last_sync_downstream = downstream;
        }
        self.previous_upstream = upstream;
        self.previous_downstream = downstream;
        sync
    }
}

/// Decides which offset pairs become offset syncs and writes them (Java's `OffsetSyncWriter`): a pair is sent at
/// once when the last sync is too stale or the offsets jumped, otherwise the latest pair of a partition waits
/// for the next offset commit.
struct OffsetSyncWriter {
    producer: BaseProducer<SyncContext>,
    topic: String,
    max_lag: i64,
    states: HashMap<String, HashMap<i32, PartitionState>>,
    /// Whether some partition has a sync to send now; spares `fire_pending` a walk over every partition.
    any_pending: bool,
}

impl OffsetSyncWriter {
    /// Called for every acknowledged record: allocates only for a partition seen for the first time.
    fn record(&mut self, topic: &str, partition: i32, upstream: i64, downstream: i64) {
        let state = match self.states.get_mut(topic) {
            Some(partitions) => partitions.entry(partition).or_insert_with(PartitionState::new),
            None => {
                self.states.entry(topic.to_string()).or_default().entry(partition).or_insert_with(PartitionState::new)
            }
        };
        if state.update(upstream, downstream, self.max_lag) {
            state.delayed = None;
            state.pending = Some((upstream, downstream));
            self.any_pending = true;
        } else {
            state.delayed = Some((upstream, downstream));
        }
    }

    fn promote_delayed(&mut self) {
        for state in self.states.values_mut().flat_map(HashMap::values_mut) {
            if let Some(delayed) = state.delayed.take() {
                state.pending = Some(delayed);
                self.any_pending = true;
            }
        }
    }

    fn fire_pending(&mut self) {
        if self.any_pending {
            self.any_pending = false;
            'send: for (topic, partitions) in &mut self.states {
                for (partition, state) in partitions.iter_mut() {
                    let Some((upstream, downstream)) = state.pending else { continue };
                    let sync = OffsetSync {
                        topic: topic.clone(),
                        partition: *partition,
                        upstream_offset: upstream,
                        downstream_offset: downstream,
                    };
                    let (k, v) = (sync.key(), sync.value());
                    let record = BaseRecord::to(&self.topic).partition(0).key(&k).payload(&v);
                    if let Err((e, _)) = self.producer.send(record) {
                        tracing::debug!("MirrorSourceTask: offset sync queued for later: {e}");
                        self.any_pending = true;
                        break 'send;
                    }
                    state.pending = None;
                }
            }
        }
        self.producer.poll(Duration::ZERO);
    }
}

struct PartitionInfo {
    source_partition: SourceMap,
}

struct TopicInfo {
    remote: RString,
    partitions: HashMap<i32, PartitionInfo>,
}

struct Running {
    consumer: BaseConsumer,
    topics: HashMap<String, TopicInfo>,
    poll_timeout: Duration,
    syncs: Option<OffsetSyncWriter>,
    key_schema: Schema,
    value_schema: Schema,
}

/// Kafka's `MirrorSourceTask`: consumes its topic-partitions from the source cluster.
#[derive(Default)]
pub struct MirrorSourceTask {
    running: Option<Running>,
}

impl SourceTask for MirrorSourceTask {
    fn start(&mut self, context: SourceTaskContext, config: &Config) -> Result<()> {
        let (parsed, mirror) = config::parse(&config::source_def(), config)?;
        let assigned = config::task_partitions(config)?;
        let settings = clients::client_settings(config, Cluster::Source, Role::Consumer);
        let start_at_end =
            matches!(settings.get("auto.offset.reset").map(String::as_str), Some("latest" | "largest" | "end"));
        let group = format!("mm2-{}-{}", mirror.source_alias, mirror.target_alias);
        let consumer: BaseConsumer = clients::consumer_config(config, Cluster::Source, &group)?
            .create()
            .map_err(|e| clients::creation_error(Cluster::Source, Role::Consumer, e))?;

        let mut topics: HashMap<String, TopicInfo> = HashMap::new();
        let mut assignment = TopicPartitionList::new();
        for (topic, partition) in &assigned {
            let source_partition = SourceMap::new()
                .with("cluster", mirror.source_alias.as_str())
                .with("partition", *partition)
                .with("topic", topic.as_str());
            // The stored offset is that of the last replicated record: resume just after it.
            let offset = match context.offset(&source_partition).and_then(|o| o.get("offset")?.as_i64()) {
                Some(last) if last >= 0 => Offset::Offset(last + 1),
                _ if start_at_end => Offset::End,
                _ => Offset::Beginning,
            };
            assignment
                .add_partition_offset(topic, *partition, offset)
                .map_err(|e| ConnectError::new(format!("cannot assign {topic}-{partition}: {e}")))?;
            let info = topics.entry(topic.clone()).or_insert_with(|| TopicInfo {
                remote: mirror.policy.format_remote_topic(&mirror.source_alias, topic).into(),
                partitions: HashMap::new(),
            });
            info.partitions.insert(*partition, PartitionInfo { source_partition });
        }
        consumer
            .assign(&assignment)
            .map_err(|e| ConnectError::new(format!("cannot assign the task's partitions: {e}")))?;

        let syncs = if parsed.boolean("emit.offset-syncs.enabled")? {
            let cluster = match mirror.syncs_location {
                SyncsLocation::Source => Cluster::Source,
                SyncsLocation::Target => Cluster::Target,
            };
            let producer = clients::client_config(config, cluster, Role::Producer)?
                .set("linger.ms", "100")
                .create_with_context(SyncContext)
                .map_err(|e| clients::creation_error(cluster, Role::Producer, e))?;
            Some(OffsetSyncWriter {
                producer,
                topic: mirror.offset_syncs_topic.clone(),
                max_lag: parsed.long("offset.lag.max")?,
                states: HashMap::new(),
                any_pending: false,
            })
        } else {
            None
        };
        tracing::info!("MirrorSourceTask: replicating {} partitions from {}", assigned.len(), mirror.source_alias);
        self.running = Some(Running {
            consumer,
            topics,
            poll_timeout: config::millis(&parsed, "consumer.poll.timeout.ms")?,
            syncs,
            key_schema: Schema::optional_bytes(),
            value_schema: Schema::bytes(),
        });
        Ok(())
    }

    fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let Some(running) = self.running.as_mut() else {
            return Err(ConnectError::new("MirrorSourceTask polled before start"));
        };
        if running.topics.is_empty() {
            std::thread::sleep(running.poll_timeout.min(Duration::from_secs(1)));
            return Ok(Vec::new());
        }
        let mut records = Vec::new();
        let mut timeout = running.poll_timeout;
        while records.len() < MAX_BATCH {
            match running.consumer.poll(timeout) {
                None => break,
                Some(Err(e)) => {
                    tracing::warn!("MirrorSourceTask: consumer error: {e}");
                    break;
                }
                Some(Ok(message)) => {
                    if let Some(record) = running.convert(&message) {
                        records.push(record);
                    }
                }
            }
            timeout = Duration::ZERO;
        }
        Ok(records)
    }

    fn commit_record(&mut self, record: &SourceRecord, metadata: Option<&RecordMetadata>) -> Result<()> {
        let (Some(running), Some(metadata)) = (self.running.as_mut(), metadata) else {
            return Ok(());
        };
        let Some(syncs) = running.syncs.as_mut() else {
            return Ok(());
        };
        let topic = record.source_partition.get("topic").and_then(Value::as_str);
        let partition = record.source_partition.get("partition").and_then(Value::as_i64);
        let upstream = record.source_offset.get("offset").and_then(Value::as_i64);
        if let (Some(topic), Some(partition), Some(upstream)) = (topic, partition, upstream) {
            syncs.record(topic, partition as i32, upstream, metadata.offset);
            syncs.fire_pending();
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        if let Some(syncs) = self.running.as_mut().and_then(|r| r.syncs.as_mut()) {
            syncs.promote_delayed();
            syncs.fire_pending();
        }
        Ok(())
    }

    fn stop(&mut self) -> Result<()> {
        if let Some(mut running) = self.running.take() {
            if let Some(syncs) = running.syncs.as_mut() {
                syncs.promote_delayed();
                syncs.fire_pending();
                let _ = syncs.producer.flush(Duration::from_secs(5));
            }
        }
        Ok(())
    }
}

impl Running {
    fn convert(&self, message: &rdkafka::message::BorrowedMessage<'_>) -> Option<SourceRecord> {
        let topic = self.topics.get(message.topic())?;
        let partition = topic.partitions.get(&message.partition())?;
        let bytes = |b: Option<&[u8]>| b.map_or(Value::Null, Value::from);
        let mut headers = Headers::new();
        if let Some(h) = message.headers() {
            for header in h.iter() {
                headers.add(header.key, Some(Schema::bytes()), bytes(header.value));
            }
        }
        Some(SourceRecord {
            source_partition: partition.source_partition.clone(),
            source_offset: SourceMap::new().with("offset", message.offset()),
            topic: topic.remote.clone(),
            kafka_partition: ROption::RSome(message.partition()),
            key_schema: ROption::RSome(self.key_schema.clone()),
            key: bytes(message.key()),
            value_schema: ROption::RSome(self.value_schema.clone()),
            value: bytes(message.payload()),
            timestamp: message.timestamp().to_millis().into(),
            headers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_syncs_follow_javas_rules() {
        let mut state = PartitionState::new();
        assert!(state.update(0, 0, 100), "the first record is always synced");
        assert!(!state.update(1, 1, 100));
        assert!(!state.update(2, 2, 100));
        assert!(state.update(4, 3, 100), "a gap upstream (compaction, transaction markers) forces a sync");
        assert!(!state.update(5, 4, 100));
        assert!(state.update(6, 2, 100), "a downstream rewind (truncation) forces a sync");
        let mut lagging = PartitionState::new();
        assert!(lagging.update(0, 0, 3));
        assert!(!lagging.update(1, 1, 3));
        assert!(!lagging.update(2, 2, 3));
        assert!(!lagging.update(3, 3, 3));
        assert!(lagging.update(4, 4, 3), "downstream - (last sync + 1) reached offset.lag.max");
    }
}
