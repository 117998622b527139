//! The HTTP Bridge (Strimzi Kafka Bridge's API) in tests: a standalone `connect` worker running the built-in
//! `HttpBridgeConnector` on a free port, and a blocking HTTP client speaking Strimzi's content types that returns
//! everything a test asserts on (status, headers, body).
//!
//! The expected answers come from `docs/strimzi-bridge-api.md` (Strimzi's own code and tests), never from our
//! connector's code.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::ClientConfig;
use serde_json::{json, Value};

use crate::broker::free_port;
use crate::{plugin_dir, worker_properties, write_properties, Broker, ConnectProcess, Rest};

/// The JSON embedded format.
pub const JSON: &str = "application/vnd.kafka.json.v2+json";
/// The binary embedded format (base64 keys and values).
pub const BINARY: &str = "application/vnd.kafka.binary.v2+json";
/// The text embedded format.
pub const TEXT: &str = "application/vnd.kafka.text.v2+json";
/// Requests and answers that carry no records (consumers, topics, errors).
pub const KAFKA_JSON: &str = "application/vnd.kafka.v2+json";
/// The connector's class (an alias).
pub const CLASS: &str = "HttpBridgeConnector";
/// The message of every request naming a consumer that does not exist.
pub const NO_CONSUMER: &str = "The specified consumer instance was not found.";
const BYTE_ARRAY: &str = "org.apache.kafka.connect.converters.ByteArrayConverter";
const STARTUP: Duration = Duration::from_secs(60);

/// Standard, padded base64 (Strimzi's binary format and header values).
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The bytes of standard base64 text.
pub fn unb64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(text).unwrap_or_else(|e| panic!("not base64 {text:?}: {e}"))
}

/// One HTTP answer: status, headers (names in lower case) and body, as text and as JSON (`Null` when empty,
/// a JSON string when the body is not JSON).
#[derive(Clone, Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub text: String,
    /// The body as JSON.
    pub body: Value,
}

impl Answer {
    fn new(status: u16, headers: Vec<(String, String)>, text: String) -> Answer {
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text.clone()))
        };
        Answer { status, headers, text, body }
    }

    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    /// The `Content-Type` header.
    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }

    /// A 200 answer of `content_type`; returns its body.
    pub fn ok(&self, content_type: &str) -> &Value {
        assert_eq!(self.status, 200, "{self:?}");
        assert_eq!(self.content_type(), Some(content_type), "Content-Type of {self:?}");
        &self.body
    }

    /// A 204 answer: no body and no Content-Type (Strimzi's answer to a successful request without a result).
    pub fn no_content(&self) {
        assert_eq!(self.status, 204, "{self:?}");
        assert_eq!(self.text, "", "a 204 has no body: {self:?}");
        assert_eq!(self.content_type(), None, "a 204 has no Content-Type: {self:?}");
    }

    /// Strimzi's error answer with `status`: `{"error_code":status,"message":..}` as `application/vnd.kafka.v2+json`
    /// (plus `validation_errors` on a 400); returns the message.
    pub fn error(&self, status: u16) -> &str {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.content_type(), Some(KAFKA_JSON), "Content-Type of an error: {self:?}");
        assert_eq!(self.body["error_code"], status, "error body: {self:?}");
        let keys: Vec<&String> = self.body.as_object().map(|o| o.keys().collect()).unwrap_or_default();
        let allowed =
            |k: &&String| *k == "error_code" || *k == "message" || (status == 400 && *k == "validation_errors");
        assert!(keys.iter().all(allowed), "unexpected keys in an error body: {self:?}");
        let message = self.body["message"].as_str().unwrap_or_else(|| panic!("no message: {self:?}"));
        assert!(!message.is_empty(), "an empty error message: {self:?}");
        message
    }

    /// Strimzi's error answer with `status` and exactly `message`.
    pub fn error_is(&self, status: u16, message: &str) {
        assert_eq!(self.error(status), message, "{self:?}");
    }
}

/// A blocking client of one Bridge.
#[derive(Clone)]
pub struct BridgeClient {
    port: u16,
    client: reqwest::blocking::Client,
}

impl BridgeClient {
    /// A client of `http://127.0.0.1:port`.
    pub fn new(port: u16) -> BridgeClient {
        let client =
            reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).build().expect("HTTP client");
        BridgeClient { port, client }
    }

    /// `http://127.0.0.1:port`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `method path` with `headers` and an optional body; `Err` when the Bridge cannot be reached.
    pub fn try_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<Answer, String> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("HTTP method");
        let mut request = self.client.request(method, format!("{}{path}", self.base()));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_ascii_lowercase(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let text = response.text().map_err(|e| e.to_string())?;
        Ok(Answer::new(status, headers, text))
    }

    /// `method path` with `headers` and an optional body.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<String>) -> Answer {
        self.try_request(method, path, headers, body).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Answer {
        self.request("GET", path, &[], None)
    }

    /// `POST path` with `body` as `content_type`.
    pub fn post(&self, path: &str, content_type: &str, body: &Value) -> Answer {
        self.request("POST", path, &[("Content-Type", content_type)], Some(body.to_string()))
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> Answer {
        self.request("DELETE", path, &[], None)
    }

    /// Produces `records` (a JSON array) to `target` (`topic` or `topic/partitions/p`) in the embedded `format`.
    pub fn produce(&self, target: &str, format: &str, records: Value) -> Answer {
        self.post(&format!("/topics/{target}"), format, &json!({ "records": records }))
    }

    /// Produces `records` and expects them at `offsets` (`(partition, offset)` in request order).
    pub fn produce_at(&self, target: &str, format: &str, records: Value, offsets: &[(i32, i64)]) {
        let answer = self.produce(target, format, records);
        let expected: Vec<Value> = offsets.iter().map(|(p, o)| json!({"partition": p, "offset": o})).collect();
        assert_eq!(answer.ok(KAFKA_JSON), &json!({ "offsets": expected }), "produce to {target}");
    }

    /// `POST /consumers/{group}` with `body`.
    pub fn create_consumer(&self, group: &str, body: &Value) -> Answer {
        self.post(&format!("/consumers/{group}"), KAFKA_JSON, body)
    }

    /// Creates a consumer in `group` (`body` as Strimzi's create request) and checks the answer.
    pub fn consumer(&self, group: &str, body: Value) -> BridgeConsumer {
        let answer = self.create_consumer(group, &body);
        let created = answer.ok(KAFKA_JSON);
        let name = created["instance_id"].as_str().unwrap_or_else(|| panic!("no instance_id: {answer:?}")).to_string();
        if let Some(wanted) = body["name"].as_str() {
            assert_eq!(name, wanted, "{answer:?}");
        }
        let format = match body["format"].as_str().unwrap_or("binary") {
            "json" => JSON,
            "text" => TEXT,
            _ => BINARY,
        };
        BridgeConsumer { client: self.clone(), group: group.to_string(), name, accept: format }
    }

    /// A request written by hand on a new connection (for what `reqwest` will not send, such as no `Accept`).
    pub fn raw(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the bridge");
        stream.set_read_timeout(Some(Duration::from_secs(30))).expect("read timeout");
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n", self.port);
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        stream.write_all(request.as_bytes()).expect("send the request");
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).expect("read the answer");
        parse_response(&bytes)
    }
}

fn parse_response(bytes: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked { dechunk(body) } else { body.to_string() };
    Answer::new(status, headers, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// A consumer instance of the Bridge, named by group and name.
pub struct BridgeConsumer {
    client: BridgeClient,
    /// The group.
    pub group: String,
    /// The instance name.
    pub name: String,
    /// The `Accept` of its format.
    pub accept: &'static str,
}

impl BridgeConsumer {
    /// `/consumers/{group}/instances/{name}{suffix}`.
    pub fn path(&self, suffix: &str) -> String {
        format!("/consumers/{}/instances/{}{suffix}", self.group, self.name)
    }

    /// `POST` `body` to `suffix` as `application/vnd.kafka.v2+json`.
    pub fn post(&self, suffix: &str, body: &Value) -> Answer {
        self.client.post(&self.path(suffix), KAFKA_JSON, body)
    }

    /// Subscribes to `topics`.
    pub fn subscribe(&self, topics: &[&str]) {
        self.post("/subscription", &json!({ "topics": topics })).no_content();
    }

    /// Assigns `partitions` (`(topic, partition)`).
    pub fn assign(&self, partitions: &[(&str, i32)]) {
        let list: Vec<Value> = partitions.iter().map(|(t, p)| json!({"topic": t, "partition": p})).collect();
        self.post("/assignments", &json!({ "partitions": list })).no_content();
    }

    /// `GET .../subscription`.
    pub fn subscription(&self) -> Value {
        self.client.get(&self.path("/subscription")).ok(KAFKA_JSON).clone()
    }

    /// `GET .../records?{query}` with the format's `Accept`.
    pub fn poll(&self, query: &str) -> Answer {
        self.client.request("GET", &self.path(&format!("/records?{query}")), &[("Accept", self.accept)], None)
    }

    /// One poll (`timeout` 200 ms) that must answer 200 with the format's Content-Type; its records.
    pub fn poll_once(&self) -> Vec<Value> {
        let answer = self.poll("timeout=200&max_bytes=100000000");
        answer.ok(self.accept).as_array().unwrap_or_else(|| panic!("records are not an array: {answer:?}")).clone()
    }

    /// Polls until `count` records arrived (more is a failure) or `timeout` passed (a failure too).
    pub fn poll_records(&self, count: usize, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        let mut records = Vec::new();
        while records.len() < count {
            assert!(Instant::now() < deadline, "{} of {count} records within {timeout:?}: {records:#?}", records.len());
            records.extend(self.poll_once());
        }
        assert_eq!(records.len(), count, "more records than expected: {records:#?}");
        records
    }

    /// Polls for `quiet` and expects no record.
    pub fn poll_nothing(&self, quiet: Duration) {
        let deadline = Instant::now() + quiet;
        while Instant::now() < deadline {
            let records = self.poll_once();
            assert!(records.is_empty(), "no record expected: {records:#?}");
        }
    }

    /// `DELETE` the instance.
    pub fn delete(&self) -> Answer {
        self.client.delete(&self.path(""))
    }
}

/// The connector config of a Bridge on `broker` serving `port`, then `extra` (which may override).
pub fn connector_config(broker: &Broker, port: u16, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = [
        ("connector.class", CLASS.to_string()),
        ("key.converter", BYTE_ARRAY.into()),
        ("value.converter", BYTE_ARRAY.into()),
        ("header.converter", BYTE_ARRAY.into()),
        ("kafka.bootstrap.servers", broker.bootstrap()),
        ("http.host", "127.0.0.1".into()),
        ("http.port", port.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (key, value) in extra {
        pairs.retain(|(k, _)| k != key);
        pairs.push((key.to_string(), value.to_string()));
    }
    pairs
}

/// A Bridge: a standalone `connect` worker running the connector `bridge` (or `connect bridge`, the dedicated
/// mode); killed on drop.
pub struct Bridge {
    /// The worker process.
    pub process: ConnectProcess,
    /// A client of its API.
    pub client: BridgeClient,
    /// The worker's Kafka Connect REST API (`None` in the dedicated mode, which has none).
    pub rest: Option<Rest>,
}

impl Bridge {
    /// Starts a standalone worker in `dir` (its own subdirectory `name`) with a Bridge on a free port and `extra`
    /// connector settings; waits until `/healthy` answers 200.
    pub fn start(dir: &Path, name: &str, broker: &Broker, extra: &[(&str, &str)]) -> Bridge {
        let dir = dir.join(name);
        std::fs::create_dir_all(&dir).expect("bridge dir");
        let plugins = plugin_dir(&dir, &[]);
        let rest_port = free_port();
        let listeners = format!("http://127.0.0.1:{rest_port}");
        let worker = worker_properties(&dir, broker, &plugins, &[("listeners", &listeners)]);
        let port = free_port();
        let mut config = connector_config(broker, port, extra);
        config.insert(0, ("name".into(), "bridge".into()));
        let pairs: Vec<(&str, &str)> = config.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let connector = dir.join("bridge.properties");
        write_properties(&connector, &pairs);
        let process = ConnectProcess::standalone(&worker, &[&connector], &dir.join("connect.log"));
        let bridge = Bridge { process, client: BridgeClient::new(port), rest: Some(Rest::new(rest_port)) };
        bridge.wait_healthy(&bridge.client, STARTUP);
        bridge
    }

    /// Starts `connect bridge bridge.properties` in `dir` with Strimzi's `application.properties` keys: the
    /// Bridge on a free port of 127.0.0.1, the management port on another, then `extra`; waits for `/healthy`.
    pub fn start_dedicated(dir: &Path, broker: &Broker, extra: &[(&str, &str)]) -> Bridge {
        let port = free_port();
        let (port_text, management) = (port.to_string(), free_port().to_string());
        let bootstrap = broker.bootstrap();
        let mut pairs: Vec<(&str, &str)> = vec![
            ("kafka.bootstrap.servers", &bootstrap),
            ("http.host", "127.0.0.1"),
            ("http.port", &port_text),
            ("http.management.port", &management),
        ];
        pairs.extend_from_slice(extra);
        let config = dir.join("application.properties");
        write_properties(&config, &pairs);
        let process =
            ConnectProcess::start(&["bridge", &config.display().to_string()], &dir.join("connect-bridge.log"));
        let bridge = Bridge { process, client: BridgeClient::new(port), rest: None };
        bridge.wait_healthy(&bridge.client, STARTUP);
        bridge
    }

    /// The worker's REST API.
    pub fn rest(&self) -> &Rest {
        self.rest.as_ref().expect("a standalone worker (the dedicated mode has no Kafka Connect REST API)")
    }

    /// Waits until `GET /healthy` on `client` answers 200; panics with the worker's log after `timeout`.
    pub fn wait_healthy(&self, client: &BridgeClient, timeout: Duration) {
        wait_healthy(client, timeout, || self.process.output());
    }
}

/// Waits until `GET /healthy` answers 200; panics with `log()` after `timeout`.
pub fn wait_healthy(client: &BridgeClient, timeout: Duration, log: impl Fn() -> String) {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(answer) = client.try_request("GET", "/healthy", &[], None) {
            if answer.status == 200 {
                return;
            }
        }
        assert!(Instant::now() < deadline, "the bridge on port {} is not healthy:\n{}", client.port(), log());
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Drop for Bridge {
    /// A failing test shows the end of the worker's log.
    fn drop(&mut self) {
        if std::thread::panicking() {
            let output = self.process.output();
            let lines: Vec<&str> = output.lines().collect();
            eprintln!(
                "==== last lines of the bridge worker ====\n{}",
                lines[lines.len().saturating_sub(150)..].join("\n")
            );
        }
    }
}

/// The offsets `group` committed for partitions `0..partitions` of `topic` (-1: none), read with a Kafka client.
pub fn committed(broker: &Broker, group: &str, topic: &str, partitions: i32) -> Vec<i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut list = TopicPartitionList::new();
    for p in 0..partitions {
        list.add_partition(topic, p);
    }
    let committed = consumer.committed_offsets(list, Duration::from_secs(10)).expect("committed offsets");
    committed
        .elements()
        .iter()
        .map(|e| match e.offset() {
            Offset::Offset(n) => n,
            _ => -1,
        })
        .collect()
}
