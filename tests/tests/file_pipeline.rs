//! FileStreamSource (.so) -> topic -> FileStreamSink (.so), through a real broker and a real worker process.

use std::time::Duration;

use connect_tests::*;

#[test]
fn hundred_thousand_lines_arrive_in_order() {
    let broker = Broker::start();
    broker.create_topic("lines", 1);
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["connect_file"]);
    let input = dir.path().join("in.txt");
    let output = dir.path().join("out.txt");
    let expected: Vec<String> = (1..=100_000).map(|i| format!("line {i:06} of the test file")).collect();
    std::fs::write(&input, expected.join("\n") + "\n").unwrap();

    let worker = worker_properties(dir.path(), &broker, &plugins, &[]);
    let source = dir.path().join("source.properties");
    write_properties(
        &source,
        &[
            ("name", "file-source"),
            ("connector.class", "FileStreamSource"),
            ("file", input.to_str().unwrap()),
            ("topic", "lines"),
        ],
    );
    let sink = dir.path().join("sink.json");
    std::fs::write(
        &sink,
        serde_json::json!({"name": "file-sink", "config": {
            "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
            "file": output.to_str().unwrap(),
            "topics": "lines",
        }})
        .to_string(),
    )
    .unwrap();

    let mut connect = ConnectProcess::standalone(&worker, &[&source, &sink], &dir.path().join("connect.log"));
    wait_for("100 000 lines in the sink file", Duration::from_secs(120), || {
        (read_lines(&output).len() >= expected.len()).then_some(())
    });
    let status = connect.terminate(Duration::from_secs(30));
    assert!(status.success(), "connect exited with {status}:\n{}", connect.output());
    assert_eq!(read_lines(&output), expected, "lines lost, duplicated or reordered");

    // The committed source offset is the end of the input file.
    let offsets: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("offsets.json")).unwrap()).unwrap();
    let entry = &offsets["offsets"][0];
    assert_eq!(entry["key"], serde_json::json!(["file-source", {"filename": input.to_str().unwrap()}]));
    assert_eq!(entry["value"]["position"], std::fs::metadata(&input).unwrap().len());
    let log = connect.output();
    assert!(log.contains("task file-source-0 is RUNNING") && log.contains("task file-sink-0 is RUNNING"), "{log}");
}
