//! The HTTP Bridge's dedicated mode end to end: `connect bridge bridge.properties` with Strimzi's keys against a
//! real tansu broker, used over HTTP as Strimzi's clients use it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use connect_tests::broker::free_port;
use connect_tests::*;
use serde_json::{json, Value};

const START: Duration = Duration::from_secs(60);
const EXIT: Duration = Duration::from_secs(30);
const JSON_V2: &str = "application/vnd.kafka.json.v2+json";

/// A Bridge file in `dir` with Strimzi's sample keys and `pairs` over them.
fn bridge_properties(dir: &Path, pairs: &[(&str, &str)]) -> PathBuf {
    let path = dir.join("bridge.properties");
    let mut all: Vec<(&str, &str)> = vec![
        ("bridge.id", "test-bridge"),
        ("kafka.producer.acks", "1"),
        ("kafka.consumer.auto.offset.reset", "earliest"),
        ("kafka.default.api.timeout.ms", "10000"),
        ("http.host", "127.0.0.1"),
    ];
    all.retain(|(key, _)| !pairs.iter().any(|(k, _)| k == key));
    all.extend_from_slice(pairs);
    write_properties(&path, &all);
    path
}

fn bridge(dir: &Path, file: &Path) -> ConnectProcess {
    ConnectProcess::start(&["bridge", &file.display().to_string()], &dir.join("bridge.log"))
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().expect("http client")
}

/// Waits until `GET url` answers 200; panics with the Bridge's output after [`START`].
fn wait_healthy(client: &reqwest::blocking::Client, url: &str, process: &ConnectProcess) {
    let deadline = Instant::now() + START;
    while !client.get(url).send().is_ok_and(|r| r.status() == 200) {
        assert!(Instant::now() < deadline, "{url} did not answer 200 within {START:?}:\n{}", process.output());
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn produces_over_http_and_stops_on_sigterm() {
    let broker = Broker::start();
    broker.create_topic("t", 1);
    let dir = test_dir();
    let (port, management) = (free_port(), free_port());
    let file = bridge_properties(
        dir.path(),
        &[
            ("kafka.bootstrap.servers", &broker.bootstrap()),
            ("http.port", &port.to_string()),
            ("http.management.port", &management.to_string()),
        ],
    );
    let mut process = bridge(dir.path(), &file);
    process.wait_for_output("HTTP Bridge started", START);
    let client = http();
    wait_healthy(&client, &format!("http://127.0.0.1:{port}/healthy"), &process);
    wait_healthy(&client, &format!("http://127.0.0.1:{management}/healthy"), &process);

    let response = client
        .post(format!("http://127.0.0.1:{port}/topics/t"))
        .header("Content-Type", JSON_V2)
        .body(json!({"records": [{"key": "k", "value": {"a": 1}}]}).to_string())
        .send()
        .expect("POST /topics/t");
    let status = response.status();
    let content_type = response.headers().get("content-type").cloned();
    let body: Value = response.json().expect("a JSON body");
    assert_eq!(status, 200, "{body}\n{}", process.output());
    assert_eq!(body, json!({"offsets": [{"partition": 0, "offset": 0}]}), "{}", process.output());
    assert_eq!(content_type.as_ref().and_then(|v| v.to_str().ok()), Some("application/vnd.kafka.v2+json"));

    let records = broker.consume("t", 1, Duration::from_secs(20));
    assert_eq!(records.len(), 1, "{records:?}");
    // The JSON embedded format writes the key and value as JSON text: the string key with its quotes.
    assert_eq!(records[0].key.as_deref(), Some(&b"\"k\""[..]));
    let value: Value = serde_json::from_slice(records[0].value.as_deref().unwrap_or_default()).expect("JSON value");
    assert_eq!(value, json!({"a": 1}));

    let status = process.terminate(EXIT);
    assert!(status.success(), "exit {status}:\n{}", process.output());
    assert!(process.output().contains("HTTP Bridge stopped"), "{}", process.output());
}

#[test]
fn a_file_without_bootstrap_servers_is_refused() {
    let dir = test_dir();
    let file = bridge_properties(dir.path(), &[("http.port", &free_port().to_string())]);
    let mut process = bridge(dir.path(), &file);
    let status = process.wait_exit(EXIT);
    let output = process.output();
    assert!(!status.success(), "exit {status}:\n{output}");
    let expected = format!(
        "{}: kafka.bootstrap.servers: Missing required configuration \"kafka.bootstrap.servers\"",
        file.display()
    );
    assert!(output.contains(&expected), "expected {expected:?} in:\n{output}");
}

#[test]
fn a_taken_port_is_refused_naming_http_port() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("a listener");
    let port = taken.local_addr().expect("its address").port();
    let dir = test_dir();
    // Nothing listens at the bootstrap address: the ports are checked before the cluster.
    let file = bridge_properties(
        dir.path(),
        &[
            ("kafka.bootstrap.servers", &format!("127.0.0.1:{}", free_port())),
            ("http.port", &port.to_string()),
            ("http.management.port", "-1"),
        ],
    );
    let mut process = bridge(dir.path(), &file);
    let status = process.wait_exit(EXIT);
    let output = process.output();
    assert!(!status.success(), "exit {status}:\n{output}");
    let expected = format!("{}: http.port: cannot listen on 127.0.0.1:{port}", file.display());
    assert!(output.contains(&expected), "expected {expected:?} in:\n{output}");
}

#[test]
fn an_invalid_connector_value_names_the_file_and_key() {
    let dir = test_dir();
    // The connector validates its own keys before anything connects: no broker needed.
    let file = bridge_properties(
        dir.path(),
        &[
            ("kafka.bootstrap.servers", &format!("127.0.0.1:{}", free_port())),
            ("http.port", &free_port().to_string()),
            ("http.cors.enabled", "maybe"),
        ],
    );
    let mut process = bridge(dir.path(), &file);
    let status = process.wait_exit(EXIT);
    let output = process.output();
    assert!(!status.success(), "exit {status}:\n{output}");
    assert!(output.contains(&format!("error: {}: ", file.display())), "{output}");
    assert!(output.contains("http.cors.enabled: "), "{output}");
}

#[test]
fn a_failing_bridge_task_ends_the_process() {
    let broker = Broker::start();
    let dir = test_dir();
    // Idempotence asked for with acks=1: librdkafka refuses to create the producer, so the Bridge's task fails
    // once started (Kafka's producer would refuse it too).
    let file = bridge_properties(
        dir.path(),
        &[
            ("kafka.bootstrap.servers", &broker.bootstrap()),
            ("http.port", &free_port().to_string()),
            ("http.management.port", "-1"),
            ("kafka.producer.enable.idempotence", "true"),
        ],
    );
    let mut process = bridge(dir.path(), &file);
    let status = process.wait_exit(START);
    let output = process.output();
    assert!(!status.success(), "exit {status}:\n{output}");
    let expected = format!("error: {}: the HTTP Bridge failed: task test-bridge-0 is FAILED: ", file.display());
    assert!(output.contains(&expected), "expected {expected:?} in:\n{output}");
    assert!(output.contains("(kafka.*, kafka.producer.*)"), "{output}");
}
