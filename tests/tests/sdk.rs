//! The connector SDK end to end: `connect new` for every kind, sync and async; the generated crates' own tests;
//! their release libraries dropped into the plugin.path of a running distributed worker and created over REST
//! (found by the rescan, no restart); and `connect new`'s answers to bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use connect_tests::*;
use serde_json::{json, Value};

const JOIN: Duration = Duration::from_secs(90);
const SETTLE: Duration = Duration::from_secs(90);

fn connect_new(args: &[&str]) -> Output {
    Command::new(tools::connect_binary()).arg("new").args(args).output().expect("run connect new")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

/// The workspace root (where Cargo.lock is).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// Runs cargo in a generated crate, offline, with a target directory shared by every generated crate and test run
/// (their dependencies are the same, so only the first build compiles them).
fn cargo(crate_dir: &Path, args: &[&str]) {
    let target = tools::target_dir().parent().expect("target dir").join("sdk-generated");
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .arg("--offline")
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(crate_dir)
        .output()
        .expect("run cargo");
    assert!(
        output.status.success(),
        "cargo {args:?} in {} failed:\n{}\n{}",
        crate_dir.display(),
        String::from_utf8_lossy(&output.stdout),
        stderr(&output)
    );
}

fn generated_library(crate_name: &str) -> PathBuf {
    tools::target_dir().parent().expect("target dir").join("sdk-generated/release").join(format!("lib{crate_name}.so"))
}

struct Generated {
    name: String,
    kind: &'static str,
    is_async: bool,
    class: String,
}

/// Generates, tests and builds a plugin crate of `kind`; returns what to install.
fn generate(root: &Path, kind: &'static str, is_async: bool) -> Generated {
    let name = format!("sdk-{kind}{}", if is_async { "-async" } else { "" });
    let class = format!("com.example.sdk.{}{}", kind_type(kind), if is_async { "Async" } else { "" });
    let dir = root.join(&name);
    let mut args = vec![name.as_str(), "--kind", kind, "--class", class.as_str(), "--dir"];
    let dir_arg = dir.display().to_string();
    args.push(&dir_arg);
    if is_async {
        args.push("--async");
    }
    let output = connect_new(&args);
    assert!(output.status.success(), "connect new {args:?}: {}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains(&class), "{stdout}");
    for file in ["Cargo.toml", "README.md", "src/lib.rs", ".gitignore", "config/connector.properties"] {
        assert!(dir.join(file).is_file(), "{name}: {file} missing");
    }
    // The workspace's lock file pins the same dependency versions, all in the local registry cache.
    std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).expect("copy Cargo.lock");
    cargo(&dir, &["test", "--release"]);
    cargo(&dir, &["build", "--release"]);
    Generated { name, kind, is_async, class }
}

fn kind_type(kind: &str) -> &'static str {
    match kind {
        "source" => "GreetingSourceConnector",
        "sink" => "LinesSinkConnector",
        _ => "Upper",
    }
}

/// Copies a generated library into the worker's plugin.path, in a directory of its own.
fn install(plugins: &Path, generated: &Generated) {
    let crate_name = generated.name.replace('-', "_");
    let target = plugins.join(&generated.name);
    std::fs::create_dir_all(&target).expect("plugin dir");
    let lib = generated_library(&crate_name);
    std::fs::copy(&lib, target.join(lib.file_name().expect("file name"))).expect("install the plugin");
}

fn string_converters() -> Vec<(&'static str, &'static str)> {
    vec![
        ("key.converter", "org.apache.kafka.connect.storage.StringConverter"),
        ("value.converter", "org.apache.kafka.connect.storage.StringConverter"),
    ]
}

fn with(mut config: Value, extra: &[(&str, &str)]) -> Value {
    for (k, v) in extra {
        config[*k] = json!(v);
    }
    config
}

fn wait_running(rest: &Rest, name: &str, tasks: usize) {
    wait_for(&format!("{name} running"), SETTLE, || rest.status(name).filter(|s| all_running(s, tasks)));
}

#[test]
fn generated_connectors_of_every_kind_build_and_run_in_a_running_worker() {
    let dir = test_dir();
    let root = dir.path().join("generated");
    std::fs::create_dir_all(&root).expect("generated dir");
    let mut generated = Vec::new();
    for kind in ["source", "sink", "transformation"] {
        for is_async in [false, true] {
            generated.push(generate(&root, kind, is_async));
        }
    }

    let broker = Broker::start();
    let plugins = plugin_dir(dir.path(), &["connect_file"]);
    let mut worker = DistributedWorker::start(dir.path(), &broker, &plugins, "sdk", &[]);
    worker.wait_joined(JOIN);
    let rest = worker.rest.clone();

    for plugin in &generated {
        // Dropped in while the worker runs: the unknown class makes it rescan plugin.path.
        install(&plugins, plugin);
        let name = plugin.name.as_str();
        match plugin.kind {
            "source" => {
                let topic = format!("{name}-out");
                broker.create_topic(&topic, 1);
                rest.create_connector(
                    name,
                    json!({"connector.class": plugin.class, "topic": topic, "interval.ms": "10",
                           "batch.size": "5", "max.records": "20"}),
                );
                wait_running(&rest, name, 1);
                let records = broker.consume(&topic, 20, SETTLE);
                assert_eq!(records.len(), 20, "{name}: records in {topic}");
                assert!(records[0].value_str().contains("hello #0"), "{name}: {}", records[0].value_str());
                assert!(records[19].value_str().contains("hello #19"), "{name}: {}", records[19].value_str());
            }
            "sink" => {
                let topic = format!("{name}-in");
                broker.create_topic(&topic, 1);
                let values: Vec<String> = (0..10).map(|i| format!("v{i}")).collect();
                let records: Vec<(Option<&[u8]>, &[u8])> =
                    values.iter().map(|v| (Some(b"k".as_slice()), v.as_bytes())).collect();
                broker.produce(&topic, &records);
                let output = dir.path().join(format!("{name}.txt"));
                let config = json!({"connector.class": plugin.class, "topics": topic,
                                    "file": output.display().to_string()});
                rest.create_connector(name, with(config, &string_converters()));
                wait_running(&rest, name, 1);
                let lines = wait_for(&format!("{name}: lines in {}", output.display()), SETTLE, || {
                    let lines = read_lines(&output);
                    (lines.len() >= 10).then_some(lines)
                });
                assert_eq!(lines[0], format!("{topic}-0@0 key=k value=v0"), "{name}");
                assert_eq!(lines[9], format!("{topic}-0@9 key=k value=v9"), "{name}");
            }
            _ => {
                // In a chain between the file connectors: file -> FileStreamSource + the transformation -> topic ->
                // FileStreamSink -> file.
                let (input, output, topic) = (
                    dir.path().join(format!("{name}-in.txt")),
                    dir.path().join(format!("{name}-out.txt")),
                    format!("{name}-lines"),
                );
                broker.create_topic(&topic, 1);
                std::fs::write(&input, "hello one\nhello two\nhello three\n").expect("input file");
                let source = json!({"connector.class": "FileStreamSource", "file": input.display().to_string(),
                                    "topic": topic, "transforms": "upper", "transforms.upper.type": plugin.class});
                rest.create_connector(&format!("{name}-source"), with(source, &string_converters()));
                let sink = json!({"connector.class": "FileStreamSink", "file": output.display().to_string(),
                                  "topics": topic});
                rest.create_connector(&format!("{name}-sink"), with(sink, &string_converters()));
                let lines = wait_for(&format!("{name}: lines in {}", output.display()), SETTLE, || {
                    let lines = read_lines(&output);
                    (lines.len() >= 3).then_some(lines)
                });
                assert_eq!(lines, ["HELLO ONE", "HELLO TWO", "HELLO THREE"], "{name}");
            }
        }
    }

    // Everything still runs, and the plugins are listed with the built-ins.
    let (_, plugins_list) = rest.get("/connector-plugins?connectorsOnly=false");
    for plugin in &generated {
        assert!(plugins_list.to_string().contains(&plugin.class), "{} not listed: {plugins_list}", plugin.class);
        let expected = plugin.kind;
        assert!(
            plugins_list
                .as_array()
                .expect("plugin list")
                .iter()
                .any(|p| p["class"] == json!(plugin.class) && p["type"] == json!(expected)),
            "{}: type {expected} ({})",
            plugin.class,
            if plugin.is_async { "async" } else { "sync" }
        );
    }
    for plugin in generated.iter().filter(|p| p.kind != "transformation") {
        wait_running(&rest, &plugin.name, 1);
    }
}

#[test]
fn connect_new_refuses_bad_input_and_writes_nothing() {
    let dir = test_dir();
    let root = dir.path();

    // An existing non-empty directory.
    let occupied = root.join("occupied");
    std::fs::create_dir_all(&occupied).unwrap();
    std::fs::write(occupied.join("keep.txt"), "mine").unwrap();
    let out = connect_new(&["good-name", "--dir", occupied.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("already exists and is not empty"), "{}", stderr(&out));
    let entries: Vec<_> = std::fs::read_dir(&occupied).unwrap().collect();
    assert_eq!(entries.len(), 1, "the directory was changed");

    let cases: [(&[&str], &str); 5] = [
        (&["9lives"], "invalid connector name \"9lives\""),
        (&["has space"], "invalid connector name \"has space\""),
        (&["fine", "--kind", "converter"], "unknown kind \"converter\": expected one of source, sink, transformation"),
        (&["fine", "--class", "com..Broken"], "invalid class name \"com..Broken\""),
        (&["fine", "--class", "com.example.Value"], "connect-api type name"),
    ];
    for (args, message) in cases {
        let target = root.join("target-dir");
        let mut all: Vec<&str> = args.to_vec();
        let target_arg = target.display().to_string();
        all.extend(["--dir", target_arg.as_str()]);
        let out = connect_new(&all);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: expected {message:?} in {}", stderr(&out));
        assert!(!target.exists(), "{args:?}: {} was written", target.display());
    }
    let out =
        connect_new(&["fine", "--connect-api", root.to_str().unwrap(), "--dir", root.join("x").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--connect-api"), "{}", stderr(&out));

    // Nothing else was left behind (no staging directories).
    let mut names: Vec<String> =
        std::fs::read_dir(root).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    names.sort();
    assert_eq!(names, ["occupied"]);
}
