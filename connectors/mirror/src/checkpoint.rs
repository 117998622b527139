//! MirrorCheckpointConnector: translates the committed offsets of the source cluster's consumer groups through
//! the offset syncs and writes them as checkpoints to `<source>.checkpoints.internal` on the target; with
//! `sync.group.offsets.enabled`, also commits them to the target's groups while those have no active members.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use connect_api::config::ConfigValueInfo;
use connect_api::{
    Config, ConfigDef, ConnectError, Connector, ConnectorContext, Result, Schema, SourceConnector, SourceMap,
    SourceRecord, SourceTask, SourceTaskContext, Value,
};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::clients::{self, Admin, Cluster, Role, TopicSpec};
use crate::config::{self, MirrorConfig, NameFilter, SyncsLocation, TASK_GROUPS};
use crate::discovered::Discovered;
use crate::groups::GroupLister;
use crate::offset_sync_store::OffsetSyncStore;
use crate::source::FIRST_LOOK_WAIT;
use crate::wire::{Checkpoint, OffsetSync};

/// The most offset syncs one `poll` applies.
const MAX_SYNCS_PER_POLL: usize = 50_000;

/// Kafka's `org.apache.kafka.connect.mirror.MirrorCheckpointConnector`.
#[derive(Default)]
pub struct MirrorCheckpointConnector {
    config: Config,
    emit: bool,
    groups: Arc<Discovered<String>>,
    first_wait: Duration,
    stop: Option<(mpsc::Sender<()>, Arc<AtomicBool>)>,
}

impl Connector for MirrorCheckpointConnector {
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }

    fn config_def(&self) -> ConfigDef {
        config::checkpoint_def()
    }

    fn validate(&self, config: &Config) -> Vec<ConfigValueInfo> {
        config::validate(&config::checkpoint_def(), config)
    }

    fn start(&mut self, context: ConnectorContext, config: &Config) -> Result<()> {
        let (parsed, mirror) = config::parse(&config::checkpoint_def(), config)?;
        clients::client_config(config, Cluster::Source, Role::Consumer)?;
        clients::client_config(config, Cluster::Target, Role::Admin)?;
        self.emit = parsed.boolean("emit.checkpoints.enabled")?
            && config::interval(&parsed, "emit.checkpoints.interval.seconds")?.is_some();
        self.config = config.clone();
        self.groups.reset();
        self.first_wait = mirror.admin_timeout.min(FIRST_LOOK_WAIT);
        let refresh = if parsed.boolean("refresh.groups.enabled")? {
            config::interval(&parsed, "refresh.groups.interval.seconds")?
        } else {
            None
        };
        if !parsed.boolean("enabled")? {
            // A flow that is switched off (Java's dedicated mode writes such configs): no work, no tasks.
            self.groups.update(Vec::new());
            return Ok(());
        }
        let (stop, stop_rx) = mpsc::channel();
        let stopped = Arc::new(AtomicBool::new(false));
        let refresher = GroupRefresher {
            filter: MirrorConfig::group_filter(&parsed)?,
            mirror,
            refresh,
            groups: self.groups.clone(),
            context,
            stopped: stopped.clone(),
            stop: stop_rx,
        };
        std::thread::Builder::new()
            .name("mirror-checkpoint-refresh".into())
            .spawn(move || refresher.run())
            .map_err(|e| ConnectError::new(format!("cannot start the group refresh thread: {e}")))?;
        self.stop = Some((stop, stopped));
        Ok(())
    }

    fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<Config>> {
        if !self.emit {
            return Ok(Vec::new());
        }
        let groups = self.groups.wait(self.first_wait);
        Ok(config::round_robin(&groups, max_tasks.max(1))
            .into_iter()
            .map(|groups| {
                let mut task = self.config.clone();
                task.insert(TASK_GROUPS.into(), groups.join(","));
                task
            })
            .collect())
    }

    fn stop(&mut self) -> Result<()> {
        if let Some((stop, stopped)) = self.stop.take() {
            stopped.store(true, Ordering::SeqCst);
            let _ = stop.send(());
        }
        Ok(())
    }
}

impl SourceConnector for MirrorCheckpointConnector {
    type Task = MirrorCheckpointTask;
}

struct GroupRefresher {
    mirror: MirrorConfig,
    filter: NameFilter,
    refresh: Option<Duration>,
    groups: Arc<Discovered<String>>,
    context: ConnectorContext,
    stopped: Arc<AtomicBool>,
    stop: mpsc::Receiver<()>,
}

impl GroupRefresher {
    fn run(self) {
        let lister = match GroupLister::new(&self.mirror.originals, Cluster::Source, self.mirror.admin_timeout) {
            Ok(lister) => lister,
            Err(e) => return self.fail(e),
        };
        let mut first = true;
        loop {
            match self.list_groups(&lister) {
                Ok(groups) => {
                    let count = groups.len();
                    if self.groups.update(groups) && !self.stopped.load(Ordering::SeqCst) {
                        tracing::info!("MirrorCheckpointConnector: checkpointing {count} groups");
                        self.context.request_task_reconfiguration();
                    }
                }
                Err(e) if first => return self.fail(e),
                Err(e) => tracing::warn!("MirrorCheckpointConnector: group refresh failed, retrying later: {e}"),
            }
            first = false;
            match self.stop.recv_timeout(self.refresh.unwrap_or(Duration::from_secs(3600))) {
                Err(mpsc::RecvTimeoutError::Timeout) if self.refresh.is_some() => {}
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                _ => return,
            }
        }
    }

    fn fail(&self, error: ConnectError) {
        self.groups.give_up();
        if !self.stopped.load(Ordering::SeqCst) {
            tracing::error!("MirrorCheckpointConnector failed: {error}");
            self.context.raise_error(error.context("MirrorCheckpointConnector"));
        }
    }

    fn list_groups(&self, lister: &GroupLister) -> Result<Vec<String>> {
        let mut groups: Vec<String> = lister
            .list(None)?
            .into_iter()
            .filter(|g| matches!(g.protocol_type.as_str(), "consumer" | ""))
            .map(|g| g.name)
            .filter(|g| self.filter.matches(g))
            .collect();
        groups.sort();
        groups.dedup();
        Ok(groups)
    }
}

struct Running {
    mirror: MirrorConfig,
    filter: NameFilter,
    groups: Vec<String>,
    checkpoints_topic: String,
    syncs: BaseConsumer,
    syncs_end: i64,
    syncs_position: i64,
    store: OffsetSyncStore,
    source: Admin,
    checkpoint_interval: Duration,
    next_checkpoint: Instant,
    group_sync_interval: Option<Duration>,
    next_group_sync: Instant,
    /// The last checkpoint emitted per group and downstream topic-partition.
    last: HashMap<String, HashMap<(String, i32), Checkpoint>>,
    /// Lists the target's groups; present when group offsets are synced.
    target_groups: Option<GroupLister>,
    /// The offsets this task committed to the target's groups.
    synced: HashMap<String, HashMap<(String, i32), i64>>,
}

/// Kafka's `MirrorCheckpointTask`.
#[derive(Default)]
pub struct MirrorCheckpointTask {
    running: Option<Running>,
}

fn internal_topic(admin: &Admin, name: &str, replication_factor: i16) -> Result<()> {
    admin.create_topics(&[TopicSpec {
        name,
        partitions: 1,
        replication_factor: replication_factor.into(),
        configs: vec![("cleanup.policy".into(), "compact".into())],
    }])
}

impl SourceTask for MirrorCheckpointTask {
    fn start(&mut self, _context: SourceTaskContext, config: &Config) -> Result<()> {
        let (parsed, mirror) = config::parse(&config::checkpoint_def(), config)?;
        let timeout = mirror.admin_timeout;
        let source = Admin::new(config, Cluster::Source, timeout)?;
        let target = Admin::new(config, Cluster::Target, timeout)?;
        let checkpoints_topic = mirror.policy.checkpoints_topic(&mirror.source_alias);
        internal_topic(&target, &checkpoints_topic, config::short(&parsed, "checkpoints.topic.replication.factor")?)?;

        let (syncs_cluster, syncs_admin) = match mirror.syncs_location {
            SyncsLocation::Source => (Cluster::Source, &source),
            SyncsLocation::Target => (Cluster::Target, &target),
        };
        internal_topic(syncs_admin, &mirror.offset_syncs_topic, mirror.offset_syncs_replication_factor)?;
        let group = format!("mm2-checkpoint-{}-{}", mirror.source_alias, mirror.target_alias);
        let syncs: BaseConsumer = clients::consumer_config(config, syncs_cluster, &group)?
            .create()
            .map_err(|e| clients::creation_error(syncs_cluster, Role::Consumer, e))?;
        let (_, syncs_end) = syncs.fetch_watermarks(&mirror.offset_syncs_topic, 0, timeout).map_err(|e| {
            ConnectError::retriable(format!("cannot read the end of {}: {e}", mirror.offset_syncs_topic))
        })?;
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(&mirror.offset_syncs_topic, 0, Offset::Beginning)
            .and_then(|_| syncs.assign(&assignment))
            .map_err(|e| ConnectError::new(format!("cannot read {}: {e}", mirror.offset_syncs_topic)))?;
        let mut store = OffsetSyncStore::new();
        if syncs_end <= 0 {
            store.set_read_to_end();
        }
        let checkpoint_interval = config::interval(&parsed, "emit.checkpoints.interval.seconds")?
            .ok_or_else(|| ConnectError::config("emit.checkpoints.interval.seconds", "checkpoints are disabled"))?;
        let group_sync_interval = if parsed.boolean("sync.group.offsets.enabled")? {
            config::interval(&parsed, "sync.group.offsets.interval.seconds")?
        } else {
            None
        };
        let groups = config::task_groups(config);
        tracing::info!("MirrorCheckpointTask: checkpointing groups {groups:?} of {}", mirror.source_alias);
        let last = earlier_checkpoints(config, &mirror, &checkpoints_topic, &groups);
        let target_groups = match group_sync_interval {
            Some(_) => Some(GroupLister::new(config, Cluster::Target, timeout)?),
            None => None,
        };
        let now = Instant::now();
        self.running = Some(Running {
            filter: MirrorConfig::topic_filter(&parsed)?,
            groups,
            checkpoints_topic,
            syncs,
            syncs_end,
            syncs_position: 0,
            store,
            source,
            checkpoint_interval,
            next_checkpoint: now,
            group_sync_interval,
            next_group_sync: now + group_sync_interval.unwrap_or_default(),
            last,
            target_groups,
            synced: HashMap::new(),
            mirror,
        });
        Ok(())
    }

    fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let Some(running) = self.running.as_mut() else {
            return Err(ConnectError::new("MirrorCheckpointTask polled before start"));
        };
        let now = Instant::now();
        let mut due = running.next_checkpoint;
        if running.group_sync_interval.is_some() {
            due = due.min(running.next_group_sync);
        }
        running.read_syncs(due.saturating_duration_since(now).min(Duration::from_millis(500)));
        if !running.store.is_read_to_end() {
            return Ok(Vec::new());
        }
        let mut records = Vec::new();
        if Instant::now() >= running.next_checkpoint {
            records = running.checkpoints();
            running.next_checkpoint = Instant::now() + running.checkpoint_interval;
        }
        if let Some(interval) = running.group_sync_interval {
            if Instant::now() >= running.next_group_sync {
                running.sync_group_offsets();
                running.next_group_sync = Instant::now() + interval;
            }
        }
        Ok(records)
    }

    fn stop(&mut self) -> Result<()> {
        self.running = None;
        Ok(())
    }
}

impl Running {
    /// Applies the offset syncs that arrived, waiting at most `wait` for the first.
    fn read_syncs(&mut self, wait: Duration) {
        let mut timeout = wait;
        // Bounded, so that a busy offset-syncs topic cannot hold off the checkpoints.
        for _ in 0..MAX_SYNCS_PER_POLL {
            match self.syncs.poll(timeout) {
                None => break,
                Some(Err(e)) => {
                    tracing::warn!("MirrorCheckpointTask: reading offset syncs: {e}");
                    break;
                }
                Some(Ok(message)) => {
                    self.syncs_position = message.offset() + 1;
                    match OffsetSync::decode(message.key().unwrap_or_default(), message.payload().unwrap_or_default()) {
                        Ok(sync) => self.store.apply(sync),
                        Err(e) => tracing::warn!("MirrorCheckpointTask: skipping an offset sync: {e}"),
                    }
                    // Syncs past the end seen at start are applied as ordinary updates.
                    if !self.store.is_read_to_end() && self.syncs_position >= self.syncs_end {
                        self.store.set_read_to_end();
                    }
                }
            }
            timeout = Duration::ZERO;
        }
        if !self.store.is_read_to_end() && self.syncs_position >= self.syncs_end {
            self.store.set_read_to_end();
        }
    }

    /// The downstream topic of a source topic: a topic that came from the target goes back to its own name.
    fn rename(&self, topic: &str) -> String {
        let policy = &self.mirror.policy;
        if policy.topic_source(topic) == Some(self.mirror.target_alias.as_str()) {
            policy.original_topic(topic).to_string()
        } else {
            policy.format_remote_topic(&self.mirror.source_alias, topic)
        }
    }

    fn group_client(&self, cluster: Cluster, group: &str) -> Result<BaseConsumer> {
        clients::client_config(&self.mirror.originals, cluster, Role::Consumer)?
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .map_err(|e| clients::creation_error(cluster, Role::Consumer, e))
    }

    /// The committed offsets of `group` on the source for the checkpointed topics: (topic, partition, offset,
    /// metadata).
    fn upstream_offsets(&self, group: &str, topics: &[(String, i32)]) -> Result<Vec<(String, i32, i64, String)>> {
        let mut list = TopicPartitionList::new();
        for (topic, partitions) in topics {
            for p in 0..*partitions {
                list.add_partition(topic, p);
            }
        }
        let client = self.group_client(Cluster::Source, group)?;
        let committed = client
            .committed_offsets(list, self.mirror.admin_timeout)
            .map_err(|e| ConnectError::retriable(format!("cannot read the offsets of group {group}: {e}")))?;
        Ok(committed
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) if o >= 0 => {
                    Some((e.topic().to_string(), e.partition(), o, e.metadata().to_string()))
                }
                _ => None,
            })
            .collect())
    }

    fn checkpoints(&mut self) -> Vec<SourceRecord> {
        let topics: Vec<(String, i32)> = match self.source.topics() {
            Ok(topics) => topics.into_iter().filter(|(t, _)| self.filter.matches(t)).collect(),
            Err(e) => {
                tracing::warn!("MirrorCheckpointTask: no checkpoints this round: {e}");
                return Vec::new();
            }
        };
        if topics.is_empty() {
            return Vec::new();
        }
        let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        let mut records = Vec::new();
        for group in self.groups.clone() {
            let offsets = match self.upstream_offsets(&group, &topics) {
                Ok(offsets) => offsets,
                Err(e) => {
                    tracing::warn!("MirrorCheckpointTask: {e}");
                    continue;
                }
            };
            for (topic, partition, upstream, metadata) in offsets {
                let Some(downstream) = self.store.translate(&topic, partition, upstream) else { continue };
                if downstream < 0 {
                    continue;
                }
                let checkpoint = Checkpoint {
                    group: group.clone(),
                    topic: self.rename(&topic),
                    partition,
                    upstream_offset: upstream,
                    downstream_offset: downstream,
                    metadata,
                };
                let last = self.last.entry(group.clone()).or_default();
                let key = (checkpoint.topic.clone(), partition);
                let newer = match last.get(&key) {
                    None => true,
                    // After a rewind upstream, or when the downstream offset moved on.
                    Some(previous) => upstream < previous.upstream_offset || downstream > previous.downstream_offset,
                };
                if !newer {
                    continue;
                }
                records.push(checkpoint_record(&self.checkpoints_topic, &checkpoint, timestamp));
                last.insert(key, checkpoint);
            }
        }
        records
    }

    /// Commits the checkpointed offsets to the target's groups that have no active members, never rewinding them.
    fn sync_group_offsets(&mut self) {
        // Taken out for the loop, which needs `self` mutably; put back after it.
        let Some(lister) = self.target_groups.take() else { return };
        let groups: Vec<String> = self.last.keys().cloned().collect();
        for group in groups {
            let listed = lister.list(Some(&group));
            let activity = match &listed {
                Ok(listed) if listed.is_empty() => Activity::Idle,
                Ok(listed) => {
                    if listed.iter().all(|g| g.state.as_deref().is_some_and(|s| matches!(s, "Empty" | "Dead" | ""))) {
                        Activity::Idle
                    } else if listed.iter().any(|g| g.state.is_some()) {
                        Activity::Active
                    } else {
                        Activity::Unknown
                    }
                }
                Err(e) => {
                    tracing::warn!("MirrorCheckpointTask: state of group {group} on the target unknown: {e}");
                    Activity::Active
                }
            };
            if activity == Activity::Active {
                tracing::debug!(
                    "MirrorCheckpointTask: group {group} is active on the target ({listed:?}); offsets not synced"
                );
                continue;
            }
            if let Err(e) = self.sync_group(&group, activity) {
                tracing::warn!("MirrorCheckpointTask: offsets of group {group} not synced: {e}");
            }
        }
        self.target_groups = Some(lister);
    }

    /// Commits the translated offsets of `group` that are ahead of its offsets on the target. When the target did
    /// not tell the group's state, the group counts as idle only while its committed offsets are the ones this
    /// task committed last (nobody else commits there); Kafka also refuses such commits to a group with members.
    fn sync_group(&mut self, group: &str, activity: Activity) -> Result<()> {
        let Some(checkpoints) = self.last.get(group) else { return Ok(()) };
        let client = self.group_client(Cluster::Target, group)?;
        let mut wanted = TopicPartitionList::new();
        for (topic, partition) in checkpoints.keys() {
            wanted.add_partition(topic, *partition);
        }
        let current = client
            .committed_offsets(wanted, self.mirror.admin_timeout)
            .map_err(|e| ConnectError::retriable(format!("cannot read its offsets on the target: {e}")))?;
        let ours = self.synced.entry(group.to_string()).or_default();
        let mut commit = TopicPartitionList::new();
        let mut committed = Vec::new();
        for element in current.elements() {
            let key = (element.topic().to_string(), element.partition());
            let Some(checkpoint) = checkpoints.get(&key) else { continue };
            let existing = match element.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            };
            if activity == Activity::Unknown && existing.is_some() && existing != ours.get(&key).copied() {
                tracing::debug!("MirrorCheckpointTask: group {group} commits on the target itself; not synced");
                return Ok(());
            }
            if existing.is_none_or(|o| o < checkpoint.downstream_offset) {
                commit
                    .add_partition_offset(&key.0, key.1, Offset::Offset(checkpoint.downstream_offset))
                    .map_err(|e| ConnectError::new(e.to_string()))?;
                committed.push((key, checkpoint.downstream_offset));
            }
        }
        if commit.count() == 0 {
            return Ok(());
        }
        client
            .commit(&commit, CommitMode::Sync)
            .map_err(|e| ConnectError::retriable(format!("cannot commit on the target: {e}")))?;
        ours.extend(committed);
        tracing::info!("MirrorCheckpointTask: synced {} offsets of group {group} to the target", commit.count());
        Ok(())
    }
}

/// Whether a group has active members on the target cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Activity {
    /// No members (or no such group).
    Idle,
    /// Members, or a state that cannot be read.
    Active,
    /// The cluster lists the group without its state (tansu 0.6.0 says "unknown").
    Unknown,
}

/// The checkpoints already written for `groups` (the last per group and partition), so that a restarted task
/// never writes an older one (Java 3.8's `CheckpointStore`). Read from the checkpoints topic up to its end at
/// start; when that fails the task starts without them, as Java does.
fn earlier_checkpoints(
    config: &Config,
    mirror: &MirrorConfig,
    topic: &str,
    groups: &[String],
) -> HashMap<String, HashMap<(String, i32), Checkpoint>> {
    let mut last: HashMap<String, HashMap<(String, i32), Checkpoint>> = HashMap::new();
    let group = format!("mm2-checkpoint-{}-{}", mirror.source_alias, mirror.target_alias);
    let mut read = || -> Result<()> {
        let consumer: BaseConsumer = clients::consumer_config(config, Cluster::Target, &group)?
            .create()
            .map_err(|e| clients::creation_error(Cluster::Target, Role::Consumer, e))?;
        let (_, end) = consumer
            .fetch_watermarks(topic, 0, mirror.admin_timeout)
            .map_err(|e| ConnectError::retriable(format!("cannot read the end of {topic}: {e}")))?;
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(topic, 0, Offset::Beginning)
            .and_then(|_| consumer.assign(&assignment))
            .map_err(|e| ConnectError::new(format!("cannot read {topic}: {e}")))?;
        let deadline = Instant::now() + mirror.admin_timeout;
        let mut position = 0;
        while position < end {
            if Instant::now() >= deadline {
                return Err(ConnectError::retriable(format!("{topic} not read to its end in time")));
            }
            let Some(message) = consumer.poll(Duration::from_millis(200)) else { continue };
            let message = message.map_err(|e| ConnectError::retriable(e.to_string()))?;
            position = message.offset() + 1;
            let (key, value) = (message.key().unwrap_or_default(), message.payload().unwrap_or_default());
            match Checkpoint::decode(key, value) {
                Ok(checkpoint) if groups.contains(&checkpoint.group) => {
                    let partition = (checkpoint.topic.clone(), checkpoint.partition);
                    last.entry(checkpoint.group.clone()).or_default().insert(partition, checkpoint);
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("MirrorCheckpointTask: skipping a record of {topic}: {e}"),
            }
        }
        Ok(())
    };
    if let Err(e) = read() {
        tracing::warn!("MirrorCheckpointTask: earlier checkpoints not read, starting without them: {e}");
        last.clear();
    }
    last
}

fn checkpoint_record(topic: &str, checkpoint: &Checkpoint, timestamp: i64) -> SourceRecord {
    // Java's HashMap order of these keys.
    let partition = SourceMap::new()
        .with("partition", checkpoint.partition)
        .with("topic", checkpoint.topic.as_str())
        .with("group", checkpoint.group.as_str());
    SourceRecord::new(
        partition,
        SourceMap::new().with("offset", 0i64),
        topic,
        Some(Schema::bytes()),
        Value::from(checkpoint.value().as_slice()),
    )
    .with_key(Some(Schema::bytes()), Value::from(checkpoint.key().as_slice()))
    .with_partition(0)
    .with_timestamp(timestamp)
}
