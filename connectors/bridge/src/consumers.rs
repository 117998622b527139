//! Bridge consumers: one rdkafka consumer per instance, keyed by (group, name) as in Strimzi. Every operation is
//! blocking and runs on a blocking thread; an instance's lock serializes them, so a delete waits for a poll in
//! progress. Instances idle longer than the timeout are closed (leaving their group) and forgotten.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::{json, Map, Value as Json};

use crate::error::ApiError;
use crate::format::{check_properties, consumed, media_type, wrong_type, Format};

/// Strimzi's poll defaults: 100 ms, and no byte limit.
const DEFAULT_POLL_TIMEOUT: Duration = Duration::from_millis(100);
/// As Java's `max.poll.records`.
const MAX_POLL_RECORDS: usize = 500;
const SEEK_TIMEOUT: Duration = Duration::from_secs(10);
const UNSUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(10);

/// The keys a consumer creation request may hold.
const CREATE_KEYS: &[&str] = &[
    "name",
    "format",
    "auto.offset.reset",
    "enable.auto.commit",
    "fetch.min.bytes",
    "consumer.request.timeout.ms",
    "isolation.level",
];

const EXCLUSIVE: &str = "Subscriptions to topics, partitions, and patterns are mutually exclusive.";

#[derive(Clone, Debug, PartialEq)]
enum Mode {
    Idle,
    Topics(Vec<String>),
    Pattern(String),
    Assigned,
}

struct State {
    consumer: BaseConsumer,
    mode: Mode,
    pending_seeks: Vec<(String, i32, Offset)>,
    poll_timeout: Duration,
    max_bytes: Option<usize>,
}

/// One bridge consumer.
pub struct Instance {
    /// Its group.
    pub group: String,
    /// Its name (`instance_id`).
    pub name: String,
    /// The embedded format of its records.
    pub format: Format,
    last_used: Mutex<Instant>,
    state: Mutex<Option<State>>,
}

impl Instance {
    fn touch(&self) {
        *self.last_used.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    fn idle_for(&self) -> Duration {
        self.last_used.lock().unwrap_or_else(|e| e.into_inner()).elapsed()
    }

    fn state(&self) -> Result<StateGuard<'_>, ApiError> {
        let guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            return Err(ApiError::unknown_consumer());
        }
        self.touch();
        Ok(StateGuard(guard))
    }

    /// Closes the consumer (leaving its group); later operations answer 404.
    fn close(&self) {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(state) = state {
            if state.mode != Mode::Idle {
                let _ = state.consumer.unsubscribe_or_unassign(&state.mode);
            }
            drop(state);
        }
    }
}

struct StateGuard<'a>(MutexGuard<'a, Option<State>>);

impl std::ops::Deref for StateGuard<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        self.0.as_ref().expect("checked when locked")
    }
}

impl std::ops::DerefMut for StateGuard<'_> {
    fn deref_mut(&mut self) -> &mut State {
        self.0.as_mut().expect("checked when locked")
    }
}

trait Leave {
    fn unsubscribe_or_unassign(&self, mode: &Mode) -> Result<(), KafkaError>;
}

impl Leave for BaseConsumer {
    fn unsubscribe_or_unassign(&self, mode: &Mode) -> Result<(), KafkaError> {
        match mode {
            Mode::Assigned => self.unassign(),
            _ => {
                self.unsubscribe();
                // librdkafka revokes the partitions on a later poll; Java's unsubscribe is done when it returns
                // (and an assignment made right after it must not be revoked by it).
                let deadline = Instant::now() + UNSUBSCRIBE_TIMEOUT;
                while self.assignment().is_ok_and(|a| a.count() > 0) && Instant::now() < deadline {
                    let _ = self.poll(Duration::from_millis(20));
                }
                Ok(())
            }
        }
    }
}

/// All consumers of one Bridge.
pub struct Registry {
    instances: Mutex<HashMap<(String, String), Arc<Instance>>>,
    settings: BTreeMap<String, String>,
    bridge_id: Option<String>,
}

fn object_body(body: Option<&Json>) -> Result<Map<String, Json>, ApiError> {
    match body {
        None => Ok(Map::new()),
        Some(Json::Object(map)) => Ok(map.clone()),
        Some(other) => Err(ApiError::schema(vec![wrong_type(other, "object")])),
    }
}

/// A "topic"/"partition" list entry of assign, seek and commit bodies.
fn partitions(
    body: Option<&Json>,
    list_key: &str,
    with_offset: bool,
) -> Result<Vec<(String, i32, i64, String)>, ApiError> {
    let body = object_body(body)?;
    let mut errors = check_properties(&body, &[list_key], &[list_key]);
    let mut out = Vec::new();
    if let Some(items) = body.get(list_key) {
        match items.as_array() {
            None => errors.push(wrong_type(items, "array")),
            Some(items) => {
                for item in items {
                    let Some(fields) = item.as_object() else {
                        errors.push(wrong_type(item, "object"));
                        continue;
                    };
                    let (required, allowed): (&[&str], &[&str]) = if with_offset {
                        (&["topic", "partition", "offset"], &["topic", "partition", "offset", "metadata"])
                    } else {
                        (&["topic", "partition"], &["topic", "partition"])
                    };
                    errors.extend(check_properties(fields, required, allowed));
                    let topic = fields.get("topic").and_then(Json::as_str);
                    let partition = fields.get("partition").and_then(Json::as_i64).and_then(|p| i32::try_from(p).ok());
                    let offset = fields.get("offset").and_then(Json::as_i64);
                    for (key, ok, expected) in [
                        ("topic", topic.is_some(), "string"),
                        ("partition", partition.is_some(), "integer"),
                        ("offset", offset.is_some() || !with_offset, "integer"),
                    ] {
                        if let Some(v) = fields.get(key).filter(|_| !ok) {
                            errors.push(format!("Property \"{key}\" does not match schema"));
                            errors.push(wrong_type(v, expected));
                        }
                    }
                    let metadata = fields.get("metadata").and_then(Json::as_str).unwrap_or_default().to_string();
                    if let (Some(t), Some(p)) = (topic, partition) {
                        out.push((t.to_string(), p, offset.unwrap_or_default(), metadata));
                    }
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::schema(errors))
    }
}

fn kafka_error(err: KafkaError) -> ApiError {
    ApiError::internal(err)
}

impl Registry {
    /// A registry whose consumers use the librdkafka `settings` (`kafka.*`, `kafka.consumer.*`).
    pub fn new(settings: BTreeMap<String, String>, bridge_id: Option<String>) -> Self {
        Registry { instances: Mutex::new(HashMap::new()), settings, bridge_id }
    }

    fn instances(&self) -> MutexGuard<'_, HashMap<(String, String), Arc<Instance>>> {
        self.instances.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The instance `name` of `group`, or 404.
    pub fn get(&self, group: &str, name: &str) -> Result<Arc<Instance>, ApiError> {
        self.instances().get(&(group.to_string(), name.to_string())).cloned().ok_or_else(ApiError::unknown_consumer)
    }

    /// `POST /consumers/{group}`: creates an instance; returns its name.
    pub fn create(&self, group: &str, body: Option<&Json>) -> Result<String, ApiError> {
        let body = object_body(body)?;
        let mut errors = check_properties(&body, &[], CREATE_KEYS);
        for (key, value) in &body {
            let expected = match key.as_str() {
                "enable.auto.commit" => "boolean",
                "fetch.min.bytes" | "consumer.request.timeout.ms" => "integer",
                _ => "string",
            };
            let ok = match expected {
                "boolean" => value.is_boolean(),
                "integer" => value.as_i64().is_some(),
                _ => value.is_string(),
            };
            if !ok && CREATE_KEYS.contains(&key.as_str()) {
                errors.push(format!("Property \"{key}\" does not match schema"));
                errors.push(wrong_type(value, expected));
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::schema(errors));
        }
        let text = |key: &str| body.get(key).and_then(Json::as_str);
        let format = match text("format") {
            None => Format::Binary,
            Some(name) => Format::from_name(name).ok_or_else(|| ApiError::new(422, "Invalid format type."))?,
        };
        let mut config = ClientConfig::new();
        for (key, value) in &self.settings {
            config.set(key, value);
        }
        if let Some(reset) = text("auto.offset.reset") {
            if !["earliest", "latest", "none"].contains(&reset) {
                return Err(ApiError::new(
                    422,
                    format!(
                        "Invalid value {reset} for configuration auto.offset.reset: Invalid value `{reset}` for \
                         configuration auto.offset.reset. The value must be either 'earliest', 'latest', 'none' or of \
                         the format 'by_duration:<PnDTnHnMn.nS.>'."
                    ),
                ));
            }
            config.set("auto.offset.reset", if reset == "none" { "error" } else { reset });
        } else if !self.settings.contains_key("auto.offset.reset") {
            config.set("auto.offset.reset", "latest");
        }
        if let Some(level) = text("isolation.level") {
            if !["read_committed", "read_uncommitted"].contains(&level) {
                return Err(ApiError::new(
                    422,
                    format!(
                        "Invalid value {level} for configuration isolation.level: String must be one of: \
                         read_committed, read_uncommitted"
                    ),
                ));
            }
            config.set("isolation.level", level);
        }
        if let Some(auto) = body.get("enable.auto.commit").and_then(Json::as_bool) {
            config.set("enable.auto.commit", auto.to_string());
        }
        if let Some(bytes) = body.get("fetch.min.bytes").and_then(Json::as_i64) {
            config.set("fetch.min.bytes", bytes.to_string());
        }
        if let Some(ms) = body.get("consumer.request.timeout.ms").and_then(Json::as_i64) {
            // Java's request.timeout.ms: how long a request may wait for its answer.
            config.set("socket.timeout.ms", ms.max(10).to_string());
        }
        let name = match text("name") {
            Some(name) => name.to_string(),
            None => {
                format!("{}-{}", self.bridge_id.as_deref().unwrap_or("kafka-bridge-consumer"), uuid::Uuid::new_v4())
            }
        };
        config.set("group.id", group).set("client.id", &name).set("enable.partition.eof", "false");

        let mut instances = self.instances();
        let key = (group.to_string(), name.clone());
        if instances.contains_key(&key) {
            return Err(ApiError::new(
                409,
                "A consumer instance with the specified name already exists in the Kafka Bridge.",
            ));
        }
        let consumer: BaseConsumer = config.create().map_err(|e| ApiError::new(422, e.to_string()))?;
        let state = State {
            consumer,
            mode: Mode::Idle,
            pending_seeks: Vec::new(),
            poll_timeout: DEFAULT_POLL_TIMEOUT,
            max_bytes: None,
        };
        let instance = Instance {
            group: group.to_string(),
            name: name.clone(),
            format,
            last_used: Mutex::new(Instant::now()),
            state: Mutex::new(Some(state)),
        };
        instances.insert(key, Arc::new(instance));
        tracing::info!("Bridge consumer {name} created in group {group}");
        Ok(name)
    }

    /// `DELETE /consumers/{group}/instances/{name}`: closes it (after an operation in progress).
    pub fn delete(&self, group: &str, name: &str) -> Result<(), ApiError> {
        let instance =
            self.instances().remove(&(group.to_string(), name.to_string())).ok_or_else(ApiError::unknown_consumer)?;
        instance.close();
        tracing::info!("Bridge consumer {name} of group {group} deleted");
        Ok(())
    }

    /// Closes and forgets the instances idle longer than `timeout`.
    pub fn expire(&self, timeout: Duration) {
        let expired: Vec<Arc<Instance>> = {
            let mut instances = self.instances();
            let keys: Vec<_> =
                instances.iter().filter(|(_, i)| i.idle_for() > timeout).map(|(k, _)| k.clone()).collect();
            keys.iter().filter_map(|k| instances.remove(k)).collect()
        };
        for instance in expired {
            tracing::warn!("Consumer {} deleted after inactivity timeout ({} ms).", instance.name, timeout.as_millis());
            instance.close();
        }
    }

    /// Closes every instance.
    pub fn close_all(&self) {
        let all: Vec<Arc<Instance>> = self.instances().drain().map(|(_, i)| i).collect();
        for instance in all {
            instance.close();
        }
    }
}

/// `POST .../subscription`.
pub fn subscribe(instance: &Instance, body: Option<&Json>) -> Result<(), ApiError> {
    let body = object_body(body)?;
    let mut errors = check_properties(&body, &[], &["topics", "topic_pattern"]);
    let topics = match body.get("topics") {
        None => None,
        Some(Json::Array(items)) if items.iter().all(Json::is_string) => {
            Some(items.iter().filter_map(Json::as_str).map(String::from).collect::<Vec<_>>())
        }
        Some(other) => {
            errors.push("Property \"topics\" does not match schema".to_string());
            errors.push(wrong_type(other, "array of strings"));
            None
        }
    };
    let pattern = match body.get("topic_pattern") {
        None => None,
        Some(Json::String(p)) => Some(p.clone()),
        Some(other) => {
            errors.push("Property \"topic_pattern\" does not match schema".to_string());
            errors.push(wrong_type(other, "string"));
            None
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::schema(errors));
    }
    let mut state = instance.state()?;
    let mode = match (topics, pattern) {
        (Some(_), Some(_)) => return Err(ApiError::new(409, EXCLUSIVE)),
        (None, None) => {
            return Err(ApiError::new(422, "A list (of Topics type) or a topic_pattern must be specified."))
        }
        (Some(topics), None) => Mode::Topics(topics),
        (None, Some(pattern)) => {
            regex::Regex::new(&pattern).map_err(|e| ApiError::new(422, format!("Invalid topic_pattern: {e}")))?;
            Mode::Pattern(pattern)
        }
    };
    if state.mode == Mode::Assigned {
        return Err(ApiError::new(409, EXCLUSIVE));
    }
    let result = match &mode {
        Mode::Topics(topics) => {
            let names: Vec<&str> = topics.iter().map(String::as_str).collect();
            state.consumer.subscribe(&names)
        }
        Mode::Pattern(pattern) => state.consumer.subscribe(&[format!("^({pattern})$").as_str()]),
        _ => Ok(()),
    };
    result.map_err(kafka_error)?;
    state.mode = mode;
    Ok(())
}

/// `GET .../subscription`: the subscribed topics and the current assignment.
pub fn subscriptions(instance: &Instance) -> Result<Json, ApiError> {
    let state = instance.state()?;
    let assignment = state.consumer.assignment().map_err(kafka_error)?;
    let mut by_topic: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for element in assignment.elements() {
        by_topic.entry(element.topic().to_string()).or_default().push(element.partition());
    }
    let topics: Vec<String> = match &state.mode {
        Mode::Topics(topics) => topics.clone(),
        Mode::Pattern(_) => by_topic.keys().cloned().collect(),
        Mode::Idle | Mode::Assigned => Vec::new(),
    };
    let partitions: Vec<Json> = by_topic.into_iter().map(|(topic, parts)| json!({ topic: parts })).collect();
    Ok(json!({"topics": topics, "partitions": partitions}))
}

/// `DELETE .../subscription`: drops the subscription or the assignment.
pub fn unsubscribe(instance: &Instance) -> Result<(), ApiError> {
    let mut state = instance.state()?;
    state.pending_seeks.clear();
    let mode = std::mem::replace(&mut state.mode, Mode::Idle);
    state.consumer.unsubscribe_or_unassign(&mode).map_err(kafka_error)
}

/// `POST .../assignments`: manual assignment, without the group's rebalancing.
pub fn assign(instance: &Instance, body: Option<&Json>) -> Result<(), ApiError> {
    let parts = partitions(body, "partitions", false)?;
    let mut state = instance.state()?;
    if matches!(state.mode, Mode::Topics(_) | Mode::Pattern(_)) {
        return Err(ApiError::new(409, EXCLUSIVE));
    }
    let mut list = TopicPartitionList::new();
    for (topic, partition, _, _) in &parts {
        list.add_partition(topic, *partition);
    }
    state.consumer.assign(&list).map_err(kafka_error)?;
    state.mode = Mode::Assigned;
    Ok(())
}

/// `GET .../records`: the response body and its content type.
pub fn poll(
    instance: &Instance,
    accept: Option<&str>,
    timeout: Option<u64>,
    max_bytes: Option<u64>,
) -> Result<Vec<u8>, ApiError> {
    if accept.map(media_type).as_deref() != Some(instance.format.content_type()) {
        return Err(ApiError::new(
            406,
            "Consumer format does not match the embedded format requested by the Accept header.",
        ));
    }
    let mut state = instance.state()?;
    if state.mode == Mode::Idle {
        return Err(ApiError::internal("Consumer is not subscribed to any topics or assigned any partitions"));
    }
    // As Strimzi, the values stay with the instance for later polls without them.
    if let Some(timeout) = timeout {
        state.poll_timeout = Duration::from_millis(timeout);
    }
    if let Some(max) = max_bytes {
        state.max_bytes = Some(usize::try_from(max).unwrap_or(usize::MAX));
    }
    for (topic, partition, target) in std::mem::take(&mut state.pending_seeks) {
        if let Err(err) = state.consumer.seek(&topic, partition, target, SEEK_TIMEOUT) {
            tracing::debug!("Bridge consumer {}: repeating a seek of {topic}-{partition}: {err}", instance.name);
        }
    }
    let deadline = Instant::now() + state.poll_timeout;
    let mut records = Vec::new();
    let mut failure = None;
    while records.len() < MAX_POLL_RECORDS {
        let wait = if records.is_empty() { deadline.saturating_duration_since(Instant::now()) } else { Duration::ZERO };
        match state.consumer.poll(wait) {
            None if records.is_empty() && Instant::now() < deadline => continue,
            None => break,
            Some(Ok(message)) => match consumed(&message, instance.format) {
                Ok(record) => records.push(record),
                Err(err) => {
                    failure = Some(err);
                    break;
                }
            },
            Some(Err(err)) => {
                // Transient client errors (a broker went away, a topic not there yet) are retried by librdkafka,
                // as Java's poll does without surfacing them.
                tracing::debug!("Bridge consumer {}: {err}", instance.name);
                if records.is_empty() && Instant::now() >= deadline {
                    break;
                }
            }
        }
    }
    if let Some(err) = failure {
        return Err(err);
    }
    let body = serde_json::to_vec(&records).map_err(ApiError::internal)?;
    if state.max_bytes.is_some_and(|max| body.len() > max) {
        return Err(ApiError::new(422, "Response exceeds the maximum number of bytes the consumer can receive"));
    }
    Ok(body)
}

/// `POST .../offsets`: the given offsets, or (no body) the positions of what was polled.
pub fn commit(instance: &Instance, body: Option<&Json>) -> Result<(), ApiError> {
    let given = match body {
        None => None,
        Some(body) => Some(partitions(Some(body), "offsets", true)?),
    };
    let state = instance.state()?;
    let result = match given {
        None => state.consumer.commit_consumer_state(CommitMode::Sync),
        Some(offsets) if offsets.is_empty() => Ok(()),
        Some(offsets) => {
            let mut list = TopicPartitionList::new();
            for (topic, partition, offset, metadata) in &offsets {
                let mut element = list.add_partition(topic, *partition);
                element.set_offset(Offset::Offset(*offset)).map_err(kafka_error)?;
                element.set_metadata(metadata.clone());
            }
            state.consumer.commit(&list, CommitMode::Sync)
        }
    };
    match result {
        // Nothing polled since the last commit: nothing to do, as Java's commitSync().
        Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => Ok(()),
        other => other.map_err(kafka_error),
    }
}

/// Where a seek goes.
#[derive(Clone, Copy, Debug)]
pub enum SeekTo {
    /// The given offsets.
    Offsets,
    /// The earliest offsets.
    Beginning,
    /// The end.
    End,
}

/// `POST .../positions`, `.../positions/beginning`, `.../positions/end`.
pub fn seek(instance: &Instance, body: Option<&Json>, to: SeekTo) -> Result<(), ApiError> {
    let targets = match to {
        SeekTo::Offsets => partitions(body, "offsets", true)?,
        SeekTo::Beginning | SeekTo::End => partitions(body, "partitions", false)?,
    };
    let mut state = instance.state()?;
    let assignment = state.consumer.assignment().map_err(kafka_error)?;
    let mut seeks = Vec::with_capacity(targets.len());
    for (topic, partition, offset, _) in targets {
        if assignment.find_partition(&topic, partition).is_none() {
            return Err(ApiError::new(404, format!("No current assignment for partition {topic}-{partition}")));
        }
        let target = match to {
            SeekTo::Offsets => Offset::Offset(offset),
            SeekTo::Beginning => Offset::Beginning,
            SeekTo::End => Offset::End,
        };
        seeks.push((topic, partition, target));
    }
    if state.mode == Mode::Assigned {
        // A manual assignment is replaced by one starting at the new offsets (the other partitions at their
        // positions): librdkafka may start fetching a freshly assigned partition after a seek and lose it.
        let mut positions = state.consumer.position().map_err(kafka_error)?;
        for (topic, partition, target) in &seeks {
            if let Some(mut element) = positions.find_partition(topic, *partition) {
                element.set_offset(*target).map_err(kafka_error)?;
            } else {
                positions.add_partition_offset(topic, *partition, *target).map_err(kafka_error)?;
            }
        }
        return state.consumer.assign(&positions).map_err(kafka_error);
    }
    for (topic, partition, target) in &seeks {
        seek_one(&state, topic, *partition, *target)?;
    }
    // Applied once more before the next poll, in case the group's assignment started the fetch after it.
    state.pending_seeks = seeks;
    Ok(())
}

fn seek_one(state: &State, topic: &str, partition: i32, target: Offset) -> Result<(), ApiError> {
    let started = Instant::now();
    loop {
        match state.consumer.seek(topic, partition, target, SEEK_TIMEOUT) {
            Ok(()) => return Ok(()),
            // A partition just assigned whose fetcher has not started yet: Java's seek is lazy and never fails here.
            Err(KafkaError::Seek(msg)) if msg.contains("State") && started.elapsed() < SEEK_TIMEOUT => {
                let _ = state.consumer.poll(Duration::ZERO);
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(err) => return Err(kafka_error(err)),
        }
    }
}
