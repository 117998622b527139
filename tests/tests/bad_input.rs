//! Bad input gets a message naming the file and key, and a non-zero exit; never a panic.

use std::path::Path;
use std::time::Duration;

use connect_tests::*;

fn run_expecting_failure(worker: &Path, connectors: &[&Path], log: &Path) -> String {
    let mut connect = ConnectProcess::standalone(worker, connectors, log);
    let status = connect.wait_exit(Duration::from_secs(60));
    let output = connect.output();
    assert!(!status.success(), "connect should have failed:\n{output}");
    assert!(!output.contains("panicked"), "connect panicked:\n{output}");
    output
}

fn file_source(dir: &Path, name: &str, pairs: &[(&str, &str)]) -> std::path::PathBuf {
    let path = dir.join(name);
    write_properties(&path, pairs);
    path
}

#[test]
fn missing_file_key_is_named_with_the_connector_file() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["connect_file"]);
    let worker = dir.path().join("worker.properties");
    let plugins_path = plugins.display().to_string();
    let offsets = dir.path().join("o.json").display().to_string();
    write_properties(
        &worker,
        &[
            ("bootstrap.servers", "127.0.0.1:1"),
            ("plugin.path", &plugins_path),
            ("offset.storage.file.filename", &offsets),
        ],
    );
    let source = file_source(
        dir.path(),
        "src.properties",
        &[("name", "s"), ("connector.class", "FileStreamSource"), ("topic", "t")],
    );
    let out = run_expecting_failure(&worker, &[&source], &dir.path().join("log"));
    assert!(out.contains("src.properties"), "{out}");
    assert!(out.contains("file: Missing required configuration \"file\" which has no default value."), "{out}");
}

#[test]
fn unknown_connector_class_lists_the_available_ones() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["connect_file"]);
    let worker = dir.path().join("worker.properties");
    let plugins_path = plugins.display().to_string();
    write_properties(
        &worker,
        &[
            ("bootstrap.servers", "127.0.0.1:1"),
            ("plugin.path", &plugins_path),
            ("offset.storage.file.filename", "o.json"),
        ],
    );
    let source = file_source(dir.path(), "nope.properties", &[("name", "s"), ("connector.class", "com.example.Nope")]);
    let out = run_expecting_failure(&worker, &[&source], &dir.path().join("log"));
    assert!(out.contains("nope.properties: connector.class: Failed to find any class that implements Connector and which name matches com.example.Nope"), "{out}");
    assert!(out.contains("org.apache.kafka.connect.file.FileStreamSourceConnector"), "{out}");
}

#[test]
fn malformed_properties_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let worker = dir.path().join("worker.properties");
    std::fs::write(&worker, "bootstrap.servers=127.0.0.1:1\nbroken=\\uZZZZ\n").unwrap();
    let source = file_source(dir.path(), "s.properties", &[("name", "s")]);
    let out = run_expecting_failure(&worker, &[&source], &dir.path().join("log"));
    assert!(out.contains("worker.properties: malformed properties file"), "{out}");
    assert!(out.contains("line 2"), "{out}");
}

#[test]
fn invalid_worker_values_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let worker = dir.path().join("worker.properties");
    write_properties(&worker, &[("bootstrap.servers", "127.0.0.1:1"), ("offset.flush.interval.ms", "often")]);
    let source = file_source(dir.path(), "s.properties", &[("name", "s")]);
    let out = run_expecting_failure(&worker, &[&source], &dir.path().join("log"));
    assert!(out.contains("worker.properties: offset.flush.interval.ms: Invalid value often"), "{out}");

    write_properties(&worker, &[("bootstrap.servers", "127.0.0.1:1")]);
    let out = run_expecting_failure(&worker, &[&source], &dir.path().join("log2"));
    assert!(out.contains("offset.storage.file.filename: Missing required configuration"), "{out}");
}

#[test]
fn unreachable_broker_is_reported_with_bootstrap_servers() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["connect_file"]);
    let worker = dir.path().join("worker.properties");
    let plugins_path = plugins.display().to_string();
    let bootstrap = format!("127.0.0.1:{}", connect_tests::broker::free_port());
    write_properties(
        &worker,
        &[
            ("bootstrap.servers", &bootstrap),
            ("plugin.path", &plugins_path),
            ("offset.storage.file.filename", "o.json"),
            ("default.api.timeout.ms", "2000"),
        ],
    );
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "x\n").unwrap();
    let source = file_source(
        dir.path(),
        "s.properties",
        &[("name", "s"), ("connector.class", "FileStreamSource"), ("file", input.to_str().unwrap()), ("topic", "t")],
    );
    let out = run_expecting_failure(&worker, &[&source], &dir.path().join("log"));
    assert!(out.contains(&format!("bootstrap.servers: cannot reach the Kafka cluster at {bootstrap}")), "{out}");
}
