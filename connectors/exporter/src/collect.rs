//! One collection (what a scrape shows), in kafka_exporter's order but batched: metadata (cached for
//! `refresh.metadata`), one end-offset snapshot of the filtered topics (ListOffsets per leader), then the groups of
//! every coordinator concurrently (ListGroups, DescribeGroups, OffsetFetch), their lag computed against that
//! single snapshot.
//!
//! A collection never fails: it runs until done or until the scrape's deadline, and keeps every answer that came
//! in before. What went wrong is counted (`kafka_exporter_scrape_errors_total`) and logged once per scrape; an API
//! the cluster lacks is logged once per exporter and its series left out.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kafka_protocol::messages::OffsetFetchRequest;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::config::ExporterConfig;
use crate::groups::{self, Described, Listed, Wanted, MULTI_GROUP_VERSION};
use crate::kafka::{error_name, KafkaClient, KafkaError};
use crate::lag::LagTables;
use crate::metadata::{self, Metadata};
use crate::offsets::{self, by_leader, LeaderBatch, Partition, Spec};

/// Groups per DescribeGroups request.
const DESCRIBE_BATCH: usize = 500;
/// Groups per OffsetFetch request (v8+).
const FETCH_BATCH: usize = 100;
/// How long a broker that dropped DescribeGroups is not asked again.
const DESCRIBE_RETRY: Duration = Duration::from_secs(600);

/// What one collection found; rendered by [`crate::render`].
#[derive(Debug, Default)]
pub struct Scrape {
    /// The metadata used (none when the cluster never answered).
    pub metadata: Option<Arc<Metadata>>,
    /// The topics that pass the filters, sorted.
    pub topics: Vec<String>,
    /// End offsets of the snapshot (filtered topics).
    pub latest: HashMap<Partition, i64>,
    /// Log start offsets (filtered topics).
    pub oldest: HashMap<Partition, i64>,
    /// End offsets of partitions outside the filtered topics that groups are assigned (`offset.show-all=false`).
    pub latest_outside: HashMap<Partition, i64>,
    /// The filtered groups.
    pub groups: BTreeMap<String, GroupData>,
    /// Lag in seconds per (group, topic, partition).
    pub lag_seconds: HashMap<(String, String, i32), f64>,
    /// How long the collection took.
    pub duration: Duration,
}

impl Scrape {
    /// The end offset of a partition in this scrape's snapshot.
    pub fn end_offset(&self, topic: &str, partition: i32) -> Option<i64> {
        let key = (topic.to_string(), partition);
        self.latest.get(&key).or_else(|| self.latest_outside.get(&key)).copied()
    }
}

/// One group's series data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupData {
    /// Members (DescribeGroups), when known.
    pub members: Option<usize>,
    /// Topic -> (partition, committed or -1), topics with at least one commit; `None` when not fetched.
    pub offsets: Option<BTreeMap<String, Vec<(i32, i64)>>>,
}

/// Collections that came back incomplete, by reason.
#[derive(Debug, Default)]
pub struct ErrorCounts {
    /// The deadline came first.
    pub deadline: AtomicU64,
    /// A Kafka request failed or answered an error.
    pub kafka: AtomicU64,
}

/// What went wrong during one collection, logged as one line at its end.
#[derive(Default)]
struct Problems(Mutex<Vec<String>>);

impl Problems {
    fn add(&self, problem: impl Into<String>) {
        let problem = problem.into();
        tracing::debug!("{problem}");
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(problem);
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[derive(Default)]
struct MetadataCache {
    current: Option<Arc<Metadata>>,
    stale: bool,
}

/// The exporter's state across scrapes: client, cached metadata, lag tables, counters.
pub struct Collector {
    config: Arc<ExporterConfig>,
    client: Arc<KafkaClient>,
    metadata: tokio::sync::Mutex<MetadataCache>,
    lag: Mutex<LagTables>,
    errors: ErrorCounts,
    warned: Mutex<HashSet<&'static str>>,
    /// Brokers that dropped the connection on DescribeGroups, and when.
    describe_refused: Mutex<HashMap<String, std::time::Instant>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or_default()
}

impl Collector {
    /// A collector for `config`; it connects at the first collection.
    pub fn new(config: Arc<ExporterConfig>) -> Self {
        let client = Arc::new(KafkaClient::new(config.client.clone()));
        Collector {
            config,
            client,
            metadata: tokio::sync::Mutex::new(MetadataCache::default()),
            lag: Mutex::new(LagTables::default()),
            errors: ErrorCounts::default(),
            warned: Mutex::new(HashSet::new()),
            describe_refused: Mutex::new(HashMap::new()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ExporterConfig {
        &self.config
    }

    /// The Kafka client (its request counts).
    pub fn client(&self) -> &KafkaClient {
        &self.client
    }

    /// Incomplete collections so far.
    pub fn errors(&self) -> &ErrorCounts {
        &self.errors
    }

    /// Fetches the cluster's metadata now, for a start-up check.
    pub async fn probe(&self) -> Result<(), KafkaError> {
        let fresh =
            metadata::fetch(&self.client, &self.config.client.bootstrap, self.config.allow_auto_topic_creation).await?;
        *self.metadata.lock().await = MetadataCache { current: Some(Arc::new(fresh)), stale: false };
        Ok(())
    }

    /// Collects until done or `deadline`, whichever comes first.
    pub async fn collect(self: &Arc<Self>, deadline: Instant) -> Scrape {
        let started = Instant::now();
        let out = Arc::new(Mutex::new(Scrape::default()));
        let problems = Arc::new(Problems::default());
        let finished = tokio::time::timeout_at(deadline, self.clone().run(out.clone(), problems.clone())).await.is_ok();
        let mut scrape = std::mem::take(&mut *lock(&out));
        let problems = problems.take();
        if !finished {
            self.errors.deadline.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                "scrape deadline reached after {:.1} s: answering with what was collected ({} groups; {} problem(s){})",
                started.elapsed().as_secs_f64(),
                scrape.groups.values().filter(|g| g.offsets.is_some()).count(),
                problems.len(),
                problems.first().map(|p| format!(", first: {p}")).unwrap_or_default()
            );
        } else if let Some(first) = problems.first() {
            tracing::warn!("scrape incomplete: {} problem(s), first: {first}", problems.len());
        }
        if !problems.is_empty() {
            self.errors.kafka.fetch_add(1, Ordering::Relaxed);
        }
        self.finish_lag(&mut scrape);
        scrape.duration = started.elapsed();
        scrape
    }

    /// Logs `message` the first time `what` happens in this exporter's life.
    fn warn_once(&self, what: &'static str, message: impl FnOnce() -> String) {
        if lock(&self.warned).insert(what) {
            tracing::warn!("{}", message());
        }
    }

    async fn run(self: Arc<Self>, out: Arc<Mutex<Scrape>>, problems: Arc<Problems>) {
        // The cached metadata goes into the scrape first: should the refresh hang until the deadline, the scrape
        // still shows what is known of brokers and topics.
        if let Some(cached) = self.metadata.lock().await.current.clone() {
            self.use_metadata(&out, &cached);
        }
        let Some(meta) = self.current_metadata(&problems).await else { return };
        let topics = self.use_metadata(&out, &meta);
        let partitions: Vec<Partition> =
            topics.iter().flat_map(|t| meta.topics[t].iter().map(move |p| (t.clone(), p.id))).collect();
        self.topic_offsets(&meta, partitions, Snapshot::Topics, &out, &problems).await;
        self.group_offsets(&meta, &topics, &out, &problems).await;
        if !self.config.offset_show_all {
            let outside: Vec<Partition> = {
                let scrape = lock(&out);
                let known: HashSet<&String> = scrape.topics.iter().collect();
                let mut outside: Vec<Partition> = scrape
                    .groups
                    .values()
                    .filter_map(|g| g.offsets.as_ref())
                    .flat_map(|o| o.iter())
                    .filter(|(topic, _)| !known.contains(topic))
                    .flat_map(|(topic, ps)| ps.iter().map(move |(p, _)| (topic.clone(), *p)))
                    .collect();
                outside.sort();
                outside.dedup();
                outside
            };
            if !outside.is_empty() {
                self.topic_offsets(&meta, outside, Snapshot::Outside, &out, &problems).await;
            }
        }
    }

    /// Puts `meta` into the scrape; returns the topics that pass the filters.
    fn use_metadata(&self, out: &Mutex<Scrape>, meta: &Arc<Metadata>) -> Vec<String> {
        let topics: Vec<String> = meta.topics.keys().filter(|t| self.config.filters.topic(t)).cloned().collect();
        let mut scrape = lock(out);
        scrape.metadata = Some(meta.clone());
        scrape.topics = topics.clone();
        topics
    }

    /// The cached metadata, refreshed when older than `refresh.metadata` or marked stale; the cached copy when the
    /// refresh fails (as kafka_exporter's "Cannot refresh topics, using cached data").
    async fn current_metadata(&self, problems: &Problems) -> Option<Arc<Metadata>> {
        let mut cache = self.metadata.lock().await;
        let fresh =
            cache.current.as_ref().is_some_and(|m| !cache.stale && m.fetched.elapsed() < self.config.metadata_refresh);
        if fresh {
            return cache.current.clone();
        }
        let mut addresses = self.config.client.bootstrap.clone();
        if let Some(current) = &cache.current {
            addresses.extend(current.brokers.values().filter(|a| !addresses.contains(a)).cloned().collect::<Vec<_>>());
        }
        match metadata::fetch(&self.client, &addresses, self.config.allow_auto_topic_creation).await {
            Ok(fresh) => {
                let fresh = Arc::new(fresh);
                lock(&self.lag).retain_topics(|t| fresh.topics.contains_key(t));
                *cache = MetadataCache { current: Some(fresh), stale: false };
            }
            Err(err) if cache.current.is_some() => {
                problems.add(format!("cannot refresh metadata, using cached data: {err}"))
            }
            Err(err) => problems.add(format!("cannot fetch metadata: {err}")),
        }
        cache.current.clone()
    }

    async fn mark_metadata_stale(&self) {
        self.metadata.lock().await.stale = true;
    }

    /// Offsets of `partitions`: one ListOffsets request per leader and kind, at most `topic.workers` at a time.
    /// End offsets go into the snapshot (and the lag tables) as they arrive.
    async fn topic_offsets(
        self: &Arc<Self>,
        meta: &Metadata,
        partitions: Vec<Partition>,
        snapshot: Snapshot,
        out: &Mutex<Scrape>,
        problems: &Problems,
    ) {
        let specs: &[Spec] = match snapshot {
            Snapshot::Topics => &[Spec::Latest, Spec::Earliest],
            Snapshot::Outside => &[Spec::Latest],
        };
        let (batches, leaderless) = by_leader(meta, partitions);
        if let Some((topic, p)) = leaderless.first() {
            problems.add(format!(
                "{} partition(s) without a leader, e.g. {topic}/{p}: no offsets for them",
                leaderless.len()
            ));
        }
        let permits = Arc::new(Semaphore::new(self.config.topic_workers));
        let sampled_at = unix_now();
        let mut requests: JoinSet<(Spec, String, Result<offsets::Answer, KafkaError>)> = JoinSet::new();
        for (leader, batch) in batches {
            let batch: Arc<LeaderBatch> = Arc::new(batch);
            for spec in specs {
                let (this, leader, batch, permits, spec) =
                    (self.clone(), leader.clone(), batch.clone(), permits.clone(), *spec);
                requests.spawn(async move {
                    let _permit = permits.acquire_owned().await;
                    let answer = offsets::list_offsets(&this.client, &leader, &batch, spec).await;
                    (spec, leader, answer)
                });
            }
        }
        while let Some(joined) = requests.join_next().await {
            let Ok((spec, leader, answer)) = joined else { continue };
            match answer {
                Ok(answer) => {
                    if let Some(((topic, p), code)) = answer.errors.first() {
                        problems.add(format!(
                            "ListOffsets at {leader}: {} partition(s) failed, e.g. {topic}/{p}: {}",
                            answer.errors.len(),
                            error_name(*code)
                        ));
                        if answer.errors.iter().any(|(_, code)| offsets::is_metadata_error(*code)) {
                            self.mark_metadata_stale().await;
                        }
                    }
                    let mut scrape = lock(out);
                    match spec {
                        Spec::Latest => {
                            let mut lag = lock(&self.lag);
                            for ((topic, p), offset) in &answer.offsets {
                                lag.add(topic, *p, sampled_at, *offset);
                            }
                            let target = match snapshot {
                                Snapshot::Topics => &mut scrape.latest,
                                Snapshot::Outside => &mut scrape.latest_outside,
                            };
                            target.extend(answer.offsets);
                        }
                        Spec::Earliest => scrape.oldest.extend(answer.offsets),
                    }
                }
                Err(err) => {
                    problems.add(format!("ListOffsets: {err}"));
                    self.mark_metadata_stale().await;
                }
            }
        }
    }

    /// Groups: ListGroups at every broker, then per coordinator DescribeGroups and OffsetFetch, concurrently and at
    /// most `group.workers` requests at a time.
    async fn group_offsets(
        self: &Arc<Self>,
        meta: &Arc<Metadata>,
        topics: &[String],
        out: &Mutex<Scrape>,
        problems: &Problems,
    ) {
        let mut listings: JoinSet<(i32, String, Result<Vec<Listed>, KafkaError>)> = JoinSet::new();
        for (id, addr) in &meta.brokers {
            let (this, id, addr) = (self.clone(), *id, addr.clone());
            listings.spawn(async move {
                let listed = groups::list_groups(&this.client, &addr).await;
                (id, addr, listed)
            });
        }
        let mut answers = Vec::new();
        while let Some(joined) = listings.join_next().await {
            if let Ok(answer) = joined {
                answers.push(answer);
            }
        }
        // A group listed by two brokers (a coordinator moving) is asked once: kafka_exporter reported it twice and
        // the duplicate series failed the whole scrape.
        answers.sort_by_key(|(id, _, _)| *id);
        let mut seen = HashSet::new();
        let mut by_coordinator: BTreeMap<String, Vec<Listed>> = BTreeMap::new();
        for (_, addr, listed) in answers {
            match listed {
                Ok(listed) => {
                    for group in listed {
                        if self.config.filters.group(&group.id) && seen.insert(group.id.clone()) {
                            by_coordinator.entry(addr.clone()).or_default().push(group);
                        }
                    }
                }
                Err(err) => problems.add(format!("ListGroups: {err}")),
            }
        }
        {
            let mut scrape = lock(out);
            for id in &seen {
                scrape.groups.entry(id.clone()).or_default();
            }
        }
        let all_partitions: Arc<BTreeMap<String, Vec<i32>>> =
            Arc::new(topics.iter().map(|t| (t.clone(), meta.topics[t].iter().map(|p| p.id).collect())).collect());
        let permits = Arc::new(Semaphore::new(self.config.group_workers));
        let mut work: JoinSet<Outcome> = JoinSet::new();
        let mut describe_later = Vec::new();
        for (addr, listed) in by_coordinator {
            let ids: Vec<String> = listed.iter().map(|g| g.id.clone()).collect();
            if self.config.offset_show_all {
                let wanted: Vec<(String, Wanted)> = ids.iter().map(|id| (id.clone(), Wanted::All)).collect();
                self.spawn_fetches(&mut work, &addr, wanted, &all_partitions);
                describe_later.push((addr, ids));
            } else {
                // Only assigned partitions: the assignments come first.
                let this = self.clone();
                let (permits, all_partitions) = (permits.clone(), all_partitions.clone());
                work.spawn(async move {
                    let mut described = HashMap::new();
                    let mut errors = Vec::new();
                    for chunk in ids.chunks(DESCRIBE_BATCH) {
                        match this.clone().describe(addr.clone(), chunk.to_vec(), permits.clone()).await {
                            Outcome::Described(_, d) => described.extend(d),
                            Outcome::Failed(e) => errors.push(e),
                            Outcome::Unsupported(what, message) => this.warn_once(what, || message),
                            Outcome::Fetched(_) | Outcome::Assigned { .. } | Outcome::Ready { .. } => {}
                        }
                    }
                    Outcome::Assigned { addr, described, errors, all_partitions }
                });
            }
        }
        self.drain(&mut work, meta, out, problems, &permits).await;
        // Members after offsets: a broker that cannot describe groups may drop the connection instead of answering
        // (tansu 0.6.0 does), which must not take offset requests in flight on it along.
        for (addr, ids) in describe_later {
            for chunk in ids.chunks(DESCRIBE_BATCH) {
                work.spawn(self.clone().describe(addr.clone(), chunk.to_vec(), permits.clone()));
            }
        }
        self.drain(&mut work, meta, out, problems, &permits).await;
    }

    /// Applies what the group tasks report as they finish (an assignment leads to its OffsetFetch, in `work`).
    async fn drain(
        self: &Arc<Self>,
        work: &mut JoinSet<Outcome>,
        meta: &Arc<Metadata>,
        out: &Mutex<Scrape>,
        problems: &Problems,
        permits: &Arc<Semaphore>,
    ) {
        while let Some(joined) = work.join_next().await {
            let Ok(outcome) = joined else { continue };
            match outcome {
                Outcome::Described(addr, described) => self.apply_described(&addr, described, out),
                Outcome::Fetched(answers) => self.apply_fetched(answers, meta, out, problems),
                Outcome::Failed(problem) => problems.add(problem),
                Outcome::Unsupported(what, message) => self.warn_once(what, || message),
                Outcome::Assigned { addr, described, errors, all_partitions } => {
                    for error in errors {
                        problems.add(error);
                    }
                    let wanted: Vec<(String, Wanted)> = described
                        .iter()
                        .filter(|(_, d)| d.error == 0 && !d.assigned.is_empty())
                        .map(|(id, d)| (id.clone(), Wanted::Partitions(d.assigned.clone())))
                        .collect();
                    self.apply_described(&addr, described, out);
                    self.spawn_fetches(work, &addr, wanted, &all_partitions);
                }
                Outcome::Ready { addr, batch, wanted, all_partitions } => {
                    self.spawn_fetch_requests(work, &addr, batch, wanted, &all_partitions, permits)
                }
            }
        }
    }

    /// Connects to the coordinator (in a task of its own, so that a silent broker holds up nobody else) to learn
    /// how many groups one OffsetFetch may carry; the requests follow as [`Outcome::Ready`] comes back.
    fn spawn_fetches(
        self: &Arc<Self>,
        work: &mut JoinSet<Outcome>,
        addr: &str,
        wanted: Vec<(String, Wanted)>,
        all_partitions: &Arc<BTreeMap<String, Vec<i32>>>,
    ) {
        if wanted.is_empty() {
            return;
        }
        let (this, addr, all_partitions) = (self.clone(), addr.to_string(), all_partitions.clone());
        work.spawn(async move {
            match this.client.broker(&addr).await {
                Ok(conn) => {
                    let multi = conn.version::<OffsetFetchRequest>(MULTI_GROUP_VERSION, 9).is_ok();
                    Outcome::Ready { addr, batch: if multi { FETCH_BATCH } else { 1 }, wanted, all_partitions }
                }
                Err(err) => Outcome::Failed(format!("OffsetFetch of {} group(s): {err}", wanted.len())),
            }
        });
    }

    /// One OffsetFetch per `batch` groups, at most `group.workers` in flight.
    fn spawn_fetch_requests(
        self: &Arc<Self>,
        work: &mut JoinSet<Outcome>,
        addr: &str,
        batch: usize,
        wanted: Vec<(String, Wanted)>,
        all_partitions: &Arc<BTreeMap<String, Vec<i32>>>,
        permits: &Arc<Semaphore>,
    ) {
        for chunk in wanted.chunks(batch) {
            let (this, addr, chunk, all, permits) =
                (self.clone(), addr.to_string(), chunk.to_vec(), all_partitions.clone(), permits.clone());
            work.spawn(async move {
                let _permit = permits.acquire_owned().await;
                match groups::fetch_offsets(&this.client, &addr, &chunk, &all).await {
                    Ok(answers) => Outcome::Fetched(answers),
                    Err(err) => Outcome::Failed(format!("OffsetFetch of {} group(s): {err}", chunk.len())),
                }
            });
        }
    }

    async fn describe(self: Arc<Self>, addr: String, ids: Vec<String>, permits: Arc<Semaphore>) -> Outcome {
        let refused_lately = lock(&self.describe_refused).get(&addr).is_some_and(|at| at.elapsed() < DESCRIBE_RETRY);
        if refused_lately {
            return Outcome::Described(addr, HashMap::new());
        }
        let _permit = permits.acquire_owned().await;
        let left_out = "kafka_consumergroup_members is left out (logged once)";
        match groups::describe_groups(&self.client, &addr, &ids).await {
            Ok(described) => Outcome::Described(addr, described),
            Err(err) if err.is_unsupported() => Outcome::Unsupported("DescribeGroups", format!("{err}: {left_out}")),
            Err(err @ KafkaError::Codec { .. }) => Outcome::Unsupported(
                "DescribeGroups",
                format!("cannot read the DescribeGroups answer: {err}: {left_out}"),
            ),
            // A broker that drops the connection on DescribeGroups yet takes a new one lacks the API in practice;
            // it is asked again after a while, in case it learnt.
            Err(err @ KafkaError::Io { .. }) if self.client.broker(&addr).await.is_ok() => {
                lock(&self.describe_refused).insert(addr.clone(), std::time::Instant::now());
                Outcome::Unsupported(
                    "DescribeGroups",
                    format!(
                        "{addr} drops the connection on DescribeGroups ({err}) but answers other requests: {left_out}; \
                         asked again every {} minutes",
                        DESCRIBE_RETRY.as_secs() / 60
                    ),
                )
            }
            Err(err) => Outcome::Failed(format!("DescribeGroups: {err}")),
        }
    }

    /// Members of the described groups. A group the coordinator answers with an error (gone since ListGroups,
    /// moved, not authorized) just has no members series: its offsets, which matter more, are fetched apart.
    fn apply_described(&self, addr: &str, described: HashMap<String, Described>, out: &Mutex<Scrape>) {
        let mut scrape = lock(out);
        for (id, d) in described {
            let Some(group) = scrape.groups.get_mut(&id) else { continue };
            if d.error != 0 {
                tracing::debug!("DescribeGroups of {id} at {addr}: {}", error_name(d.error));
                continue;
            }
            group.members = Some(d.members);
            if !self.config.offset_show_all && d.unreadable > 0 {
                tracing::debug!(
                    "group {id}: {} member assignment(s) not in the consumer protocol's format",
                    d.unreadable
                );
            }
        }
    }

    fn apply_fetched(
        &self,
        answers: Vec<groups::GroupAnswer>,
        meta: &Metadata,
        out: &Mutex<Scrape>,
        problems: &Problems,
    ) {
        let mut scrape = lock(out);
        for (id, answer) in answers {
            let committed = match answer {
                Ok(committed) => committed,
                Err(code) => {
                    problems.add(format!("OffsetFetch of group {id}: {}", error_name(code)));
                    continue;
                }
            };
            if let Some((topic, p, code)) = committed.errors.first() {
                problems.add(format!("OffsetFetch of group {id}: {topic}/{p}: {}", error_name(*code)));
            }
            let offsets = self.group_series(committed.topics, meta);
            if let Some(group) = scrape.groups.get_mut(&id) {
                group.offsets = Some(offsets);
            }
        }
    }

    /// kafka_exporter's rules for what a group shows: with `offset.show-all`, every partition of each filtered
    /// topic the group committed on (-1 where it did not); topics where nothing is committed are left out.
    fn group_series(
        &self,
        topics: BTreeMap<String, Vec<(i32, i64)>>,
        meta: &Metadata,
    ) -> BTreeMap<String, Vec<(i32, i64)>> {
        let mut series = BTreeMap::new();
        for (topic, mut partitions) in topics {
            if self.config.offset_show_all {
                if !self.config.filters.topic(&topic) {
                    continue;
                }
                let Some(known) = meta.partitions(&topic) else { continue };
                let committed: HashMap<i32, i64> = partitions.into_iter().collect();
                partitions = known.iter().map(|p| (p.id, committed.get(&p.id).copied().unwrap_or(-1))).collect();
            }
            partitions.sort_by_key(|(p, _)| *p);
            if partitions.iter().any(|(_, offset)| *offset != -1) {
                series.insert(topic, partitions);
            }
        }
        series
    }

    /// Lag in seconds of every committed partition whose end offset is in the snapshot.
    fn finish_lag(&self, scrape: &mut Scrape) {
        let lag = lock(&self.lag);
        let mut seconds = HashMap::new();
        for (id, group) in &scrape.groups {
            for (topic, partitions) in group.offsets.iter().flatten() {
                for (p, committed) in partitions {
                    if *committed < 0 || scrape.end_offset(topic, *p).is_none() {
                        continue;
                    }
                    if let Some(s) = lag.lag_seconds(topic, *p, *committed) {
                        seconds.insert((id.clone(), topic.clone(), *p), s);
                    }
                }
            }
        }
        scrape.lag_seconds = seconds;
    }
}

/// Which partitions a round of ListOffsets is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Snapshot {
    /// The filtered topics: end and log start offsets, shown as topic series.
    Topics,
    /// Partitions outside them that groups are assigned (`offset.show-all=false`): end offsets for the lag only.
    Outside,
}

/// What a group task reports back to the collection.
enum Outcome {
    Described(String, HashMap<String, Described>),
    Fetched(Vec<groups::GroupAnswer>),
    Failed(String),
    Unsupported(&'static str, String),
    /// A coordinator answered: fetch `wanted` in requests of `batch` groups.
    Ready {
        addr: String,
        batch: usize,
        wanted: Vec<(String, Wanted)>,
        all_partitions: Arc<BTreeMap<String, Vec<i32>>>,
    },
    /// `offset.show-all=false`: the assignments of a coordinator's groups, to fetch their offsets next.
    Assigned {
        addr: String,
        described: HashMap<String, Described>,
        errors: Vec<String>,
        all_partitions: Arc<BTreeMap<String, Vec<i32>>>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::PartitionInfo;

    fn collector(pairs: &[(&str, &str)]) -> Collector {
        let mut props = connect_api::Config::from([("kafka.server".to_string(), "127.0.0.1:9".to_string())]);
        for (k, v) in pairs {
            props.insert(k.to_string(), v.to_string());
        }
        Collector::new(Arc::new(ExporterConfig::parse(&props).unwrap()))
    }

    fn meta() -> Metadata {
        let partitions =
            |n: i32| (0..n).map(|id| PartitionInfo { id, leader: 1, replicas: vec![1], isr: vec![1] }).collect();
        Metadata {
            brokers: BTreeMap::from([(1, "a:1".to_string())]),
            topics: BTreeMap::from([("orders".to_string(), partitions(3)), ("audit".to_string(), partitions(1))]),
            fetched: std::time::Instant::now(),
        }
    }

    #[test]
    fn show_all_fills_uncommitted_partitions_with_minus_one() {
        let c = collector(&[("topic.exclude", "audit")]);
        let committed = BTreeMap::from([
            ("orders".to_string(), vec![(2, 7), (0, 5)]),
            ("audit".to_string(), vec![(0, 1)]),
            ("deleted".to_string(), vec![(0, 1)]),
        ]);
        let series = c.group_series(committed, &meta());
        assert_eq!(series, BTreeMap::from([("orders".to_string(), vec![(0, 5), (1, -1), (2, 7)])]));
    }

    #[test]
    fn topics_without_any_commit_are_left_out() {
        let c = collector(&[("offset.show-all", "false")]);
        let committed = BTreeMap::from([
            ("orders".to_string(), vec![(1, -1), (0, -1)]),
            ("elsewhere".to_string(), vec![(1, 4), (0, -1)]),
        ]);
        // Without show-all the topic filter does not apply and partitions stay as answered (kafka_exporter).
        let series = c.group_series(committed, &meta());
        assert_eq!(series, BTreeMap::from([("elsewhere".to_string(), vec![(0, -1), (1, 4)])]));
    }
}
