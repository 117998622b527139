//! What the reliability tests (bounce, broker outage, REST load and fuzz) share: a workload of two pipelines whose
//! every record can be checked at the end (a growing file through a file source and sink, numbered generator
//! records through a file sink), progress and delivery checks, the status topic read back, and worker memory.
//!
//! The soak form of these tests (`scripts/soak`) runs the same code with larger figures from the environment.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::ClientConfig;
use serde_json::{json, Value};

use crate::{all_running, read_lines, task_workers, Broker, Rest};

/// A figure from the environment (`name`), else `default`; a value that does not parse is an error naming it.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(value) => value.trim().parse().unwrap_or_else(|_| panic!("{name}={value:?} is not a valid number")),
        Err(_) => default,
    }
}

/// The resident set size of process `pid` in KiB, from `/proc/<pid>/status` (0 when it cannot be read).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The `q` quantile (0..=1) of sorted durations.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let at = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

/// A small reproducible random number generator (xorshift64*); the seed is printed by the tests that use it.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// A generator from `CONNECT_TEST_SEED`, else from the clock; prints the seed so that a run can be repeated.
    pub fn from_env(what: &str) -> Rng {
        let seed = env_or(
            "CONNECT_TEST_SEED",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1),
        );
        eprintln!("{what}: CONNECT_TEST_SEED={seed}");
        Rng(seed.max(1))
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// True with probability `1/n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Appends numbered lines (`line 000001`, ...) to a file in a thread, `per_tick` every 100 ms, until stopped.
pub struct LineWriter {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<usize>>,
}

impl LineWriter {
    /// Starts appending to `path`.
    pub fn start(path: &Path, per_tick: usize) -> LineWriter {
        let stop = Arc::new(AtomicBool::new(false));
        let path = path.to_path_buf();
        let thread = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
                let mut next = 0;
                while !stop.load(Ordering::Relaxed) {
                    let chunk: String = (next..next + per_tick).map(|i| format!("line {i:07}\n")).collect();
                    file.write_all(chunk.as_bytes()).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
                    next += per_tick;
                    std::thread::sleep(Duration::from_millis(100));
                }
                next
            })
        };
        LineWriter { stop, thread: Some(thread) }
    }

    /// Stops the writer; the lines it wrote.
    pub fn stop(&mut self) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        let written = self.thread.take().map(|t| t.join().expect("line writer")).unwrap_or(0);
        (0..written).map(|i| format!("line {i:07}")).collect()
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// How far the sinks of a [`Workload`] got: lines in the file sink's output, and generator records per task.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    /// Lines in the file pipeline's output.
    pub lines: usize,
    /// Records of each generator task in the generator pipeline's output.
    pub generated: BTreeMap<String, usize>,
}

impl Progress {
    /// Whether every pipeline (and every generator task) moved on since `before`.
    pub fn beyond(&self, before: &Progress, tasks: usize) -> bool {
        self.lines > before.lines
            && self.generated.len() >= tasks
            && self.generated.iter().all(|(task, n)| *n > before.generated.get(task).copied().unwrap_or(0))
    }
}

/// What reached the sinks in the end.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// Distinct records expected and found (lines + generator records).
    pub records: usize,
    /// Records written more than once (each extra copy counts).
    pub duplicates: usize,
    /// Lines that are no record at all (a worker killed in the middle of writing a line).
    pub malformed: usize,
    /// Some of the duplicated records, for the log.
    pub duplicated: Vec<String>,
}

/// Two pipelines on a distributed cluster, every record of which can be checked at the end:
/// a file growing by `line NNNNNNN` lines -> FileStreamSource -> topic -> FileStreamSink, and a numbered
/// generator (`<task>:<sequence>`, `tasks` tasks, paced) -> topic -> FileStreamSink.
///
/// The sink consumers are static members (`consumer.override.group.instance.id`, one id per sink task, whichever
/// worker runs it): tansu 0.6.0 never reassigns the partitions of a consumer group whose only member was killed,
/// while a static member that comes back gets them (see `../shared/reference/tansu.md`); Apache Kafka reassigns
/// them after the session timeout.
pub struct Workload {
    prefix: String,
    input: PathBuf,
    lines_out: PathBuf,
    generated_out: PathBuf,
    tasks: usize,
    writer: LineWriter,
}

impl Workload {
    /// Creates the topics and the four connectors through `rest`, and starts writing the input file.
    pub fn start(dir: &Path, broker: &Broker, rest: &Rest, prefix: &str, tasks: usize) -> Workload {
        let input = dir.join(format!("{prefix}-in.txt"));
        let lines_out = dir.join(format!("{prefix}-lines-out.txt"));
        let generated_out = dir.join(format!("{prefix}-generated-out.txt"));
        broker.create_topic(&format!("{prefix}-lines"), 1);
        broker.create_topic(&format!("{prefix}-generated"), 1);
        std::fs::write(&input, "").expect("input file");
        let writer = LineWriter::start(&input, 20);
        rest.create_connector(
            &format!("{prefix}-lines-src"),
            json!({"connector.class": "FileStreamSource", "file": input.display().to_string(),
                   "topic": format!("{prefix}-lines")}),
        );
        rest.create_connector(
            &format!("{prefix}-lines-sink"),
            json!({"connector.class": "FileStreamSink", "file": lines_out.display().to_string(),
                   "topics": format!("{prefix}-lines"),
                   "consumer.override.group.instance.id": format!("{prefix}-lines-sink-0")}),
        );
        rest.create_connector(
            &format!("{prefix}-gen"),
            json!({"connector.class": "com.connectrs.test.GeneratorSourceConnector", "tasks.max": tasks.to_string(),
                   "topic": format!("{prefix}-generated"), "numbered": "true", "batch.size": "10",
                   "interval.ms": "100"}),
        );
        rest.create_connector(
            &format!("{prefix}-gen-sink"),
            json!({"connector.class": "FileStreamSink", "file": generated_out.display().to_string(),
                   "topics": format!("{prefix}-generated"),
                   "consumer.override.group.instance.id": format!("{prefix}-gen-sink-0")}),
        );
        Workload { prefix: prefix.to_string(), input, lines_out, generated_out, tasks, writer }
    }

    /// The connectors and their task counts.
    pub fn connectors(&self) -> Vec<(String, usize)> {
        let p = &self.prefix;
        vec![
            (format!("{p}-lines-src"), 1),
            (format!("{p}-lines-sink"), 1),
            (format!("{p}-gen"), self.tasks),
            (format!("{p}-gen-sink"), 1),
        ]
    }

    /// The input file of the file pipeline.
    pub fn input(&self) -> &Path {
        &self.input
    }

    /// How far the sinks got.
    pub fn progress(&self) -> Progress {
        let mut generated = BTreeMap::new();
        for line in read_lines(&self.generated_out) {
            if let Some((task, _)) = line.split_once(':') {
                *generated.entry(task.to_string()).or_insert(0) += 1;
            }
        }
        Progress { lines: read_lines(&self.lines_out).len(), generated }
    }

    /// Waits until both pipelines (every generator task) delivered records beyond `before`; how long it took.
    pub fn wait_progress(&self, before: &Progress, timeout: Duration, what: &str) -> Duration {
        let started = Instant::now();
        loop {
            let now = self.progress();
            if now.beyond(before, self.tasks) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < timeout,
                "{what}: no progress within {timeout:?}: before {before:?}, now {now:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the input, then waits until every line written and every generator record up to the last one in the
    /// topic now is in the sinks' files; counts duplicates and prints them.
    pub fn finish(&mut self, broker: &Broker, timeout: Duration) -> Delivery {
        let lines = self.writer.stop();
        let topic = format!("{}-generated", self.prefix);
        let mut last: BTreeMap<String, u64> = BTreeMap::new();
        for (_, value) in read_to_end(broker, &topic) {
            // The worker's JSON converter wraps the string in its envelope.
            let value = String::from_utf8_lossy(value.as_deref().unwrap_or_default()).to_string();
            let value = match serde_json::from_str::<Value>(&value) {
                Ok(json) => json["payload"].as_str().map(str::to_string).unwrap_or(value),
                Err(_) => value,
            };
            if let Some((task, seq)) = value.split_once(':') {
                let seq: u64 = seq.parse().unwrap_or_else(|_| panic!("{topic}: not a numbered record: {value:?}"));
                let entry = last.entry(task.to_string()).or_insert(0);
                *entry = (*entry).max(seq);
            }
        }
        assert_eq!(last.len(), self.tasks, "records of every generator task in {topic}: {last:?}");
        let mut expected: Vec<String> = lines;
        let line_count = expected.len();
        for (task, last) in &last {
            expected.extend((1..=*last).map(|seq| format!("{task}:{seq}")));
        }
        let started = Instant::now();
        loop {
            let mut written = read_lines(&self.lines_out);
            written.extend(read_lines(&self.generated_out));
            let seen: HashSet<&String> = written.iter().collect();
            let missing: Vec<&String> = expected.iter().filter(|r| !seen.contains(r)).collect();
            if missing.is_empty() {
                let wanted: HashSet<&String> = expected.iter().collect();
                let mut copies: HashMap<&String, usize> = HashMap::new();
                let mut malformed = 0;
                for record in &written {
                    if wanted.contains(record) {
                        *copies.entry(record).or_insert(0) += 1;
                    } else if !is_record(record) {
                        malformed += 1;
                    }
                }
                let mut duplicated: Vec<String> =
                    copies.iter().filter(|(_, n)| **n > 1).map(|(r, n)| format!("{r} x{n}")).collect();
                duplicated.sort();
                let duplicates = copies.values().map(|n| n - 1).sum();
                let delivery = Delivery { records: expected.len(), duplicates, malformed, duplicated };
                eprintln!(
                    "delivered: {} records ({line_count} lines, generator {last:?}) in {:?} after the input stopped; \
                     {} duplicates, {} malformed lines; duplicated records: {}",
                    delivery.records,
                    started.elapsed(),
                    delivery.duplicates,
                    delivery.malformed,
                    summary(&delivery.duplicated, 50)
                );
                return delivery;
            }
            assert!(
                started.elapsed() < timeout,
                "{} of {} records missing from the sinks after {timeout:?}: {}",
                missing.len(),
                expected.len(),
                summary(&missing, 20)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// A line that one of the workload's records wrote (a generator `<task>:<seq>` or a `line NNNNNNN`).
fn is_record(line: &str) -> bool {
    let numbered = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match line.strip_prefix("line ") {
        Some(n) => n.len() == 7 && numbered(n),
        None => line.split_once(':').is_some_and(|(t, s)| numbered(t) && numbered(s)),
    }
}

fn summary<T: std::fmt::Display>(items: &[T], at_most: usize) -> String {
    let shown: Vec<String> = items.iter().take(at_most).map(ToString::to_string).collect();
    let more = items.len().saturating_sub(at_most);
    if more > 0 {
        format!("[{}] and {more} more", shown.join(", "))
    } else {
        format!("[{}]", shown.join(", "))
    }
}

/// Waits until every worker's REST API reports every connector and all its tasks RUNNING (none UNASSIGNED or
/// FAILED); returns the statuses by connector as the first worker reports them.
pub fn wait_all_running(
    rests: &[Rest],
    connectors: &[(String, usize)],
    timeout: Duration,
    what: &str,
) -> BTreeMap<String, Value> {
    let started = Instant::now();
    let mut last = String::new();
    loop {
        let mut statuses = BTreeMap::new();
        let mut ok = true;
        'workers: for rest in rests {
            for (name, tasks) in connectors {
                match rest.try_get(&format!("/connectors/{name}/status")) {
                    Ok((200, status)) if all_running(&status, *tasks) => {
                        statuses.entry(name.clone()).or_insert(status);
                    }
                    other => {
                        last = format!("{name}: {other:?}");
                        ok = false;
                        break 'workers;
                    }
                }
            }
        }
        if ok {
            return statuses;
        }
        assert!(started.elapsed() < timeout, "{what}: not all RUNNING within {timeout:?}; last answer {last}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The last value of every key of the status topic (`None`: a tombstone).
pub fn status_topic(broker: &Broker, topic: &str) -> BTreeMap<String, Option<Value>> {
    let mut last = BTreeMap::new();
    for (key, value) in read_to_end(broker, topic) {
        let Some(key) = key.as_deref().map(|k| String::from_utf8_lossy(k).to_string()) else { continue };
        let value = value.as_deref().map(|v| serde_json::from_slice(v).unwrap_or(Value::Null));
        last.insert(key, value);
    }
    last
}

/// A record's key and value.
pub type KeyValue = (Option<Vec<u8>>, Option<Vec<u8>>);

/// Every record (key, value) of `topic` up to its end offsets as they are now, partition after partition.
pub fn read_to_end(broker: &Broker, topic: &str) -> Vec<KeyValue> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("group.id", format!("test-reader-{}", crate::broker::free_port()))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).expect("metadata");
    let partitions = metadata.topics().first().map(|t| t.partitions().len()).unwrap_or(0) as i32;
    let mut out = Vec::new();
    for partition in 0..partitions {
        let (low, high) = consumer.fetch_watermarks(topic, partition, Duration::from_secs(10)).expect("watermarks");
        if high <= low {
            continue;
        }
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, Offset::Offset(low)).expect("partition");
        consumer.assign(&tpl).expect("assign");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match consumer.poll(Duration::from_millis(200)) {
                Some(Ok(m)) => {
                    out.push((m.key().map(<[u8]>::to_vec), m.payload().map(<[u8]>::to_vec)));
                    if m.offset() + 1 >= high {
                        break;
                    }
                }
                Some(Err(e)) => eprintln!("reading {topic}: {e}"),
                None => {}
            }
            assert!(Instant::now() < deadline, "{topic}/{partition} not read to its end offset {high} in 60 s");
        }
    }
    out
}

/// Checks that the state and worker of every connector and task in the status topic are what every worker's REST
/// API answers (retrying for `timeout` while statuses are still being written and read back).
pub fn check_status_topic(
    broker: &Broker,
    topic: &str,
    rests: &[Rest],
    connectors: &[(String, usize)],
    timeout: Duration,
) {
    let started = Instant::now();
    loop {
        let stored = status_topic(broker, topic);
        let mut differences = Vec::new();
        for rest in rests {
            for (name, _) in connectors {
                let Ok((200, status)) = rest.try_get(&format!("/connectors/{name}/status")) else {
                    differences.push(format!("{name}: no status over REST"));
                    continue;
                };
                let mut compare = |key: String, state: &Value, worker: &Value| {
                    let topic_value = stored.get(&key).cloned().flatten().unwrap_or(Value::Null);
                    if topic_value["state"] != *state || topic_value["worker_id"] != *worker {
                        differences.push(format!(
                            "{key}: REST says {state} on {worker}, the topic {} on {}",
                            topic_value["state"], topic_value["worker_id"]
                        ));
                    }
                };
                compare(
                    format!("status-connector-{name}"),
                    &status["connector"]["state"],
                    &status["connector"]["worker_id"],
                );
                for (id, state, worker) in task_workers(&status) {
                    compare(format!("status-task-{name}-{id}"), &json!(state), &json!(worker));
                }
            }
        }
        if differences.is_empty() {
            return;
        }
        assert!(started.elapsed() < timeout, "the status topic and REST disagree: {differences:#?}");
        std::thread::sleep(Duration::from_millis(500));
    }
}
