//! A task whose plugin panics fails alone: its status is FAILED with the panic and its location, while the
//! worker and its other connectors keep running.

use std::time::Duration;

use connect_tests::*;

#[test]
fn a_panicking_task_fails_and_the_other_connectors_keep_running() {
    let broker = Broker::start();
    broker.create_topic("faulty", 1);
    broker.create_topic("lines", 1);
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["connect_file", "test_plugin_faulty"]);
    let input = dir.path().join("in.txt");
    let output = dir.path().join("out.txt");
    std::fs::write(&input, "one\ntwo\n").unwrap();

    let worker = worker_properties(dir.path(), &broker, &plugins, &[]);
    let faulty = dir.path().join("faulty.properties");
    write_properties(
        &faulty,
        &[
            ("name", "faulty"),
            ("connector.class", "com.connectrs.test.FaultySourceConnector"),
            ("topic", "faulty"),
            ("panic.after", "3"),
        ],
    );
    let source = dir.path().join("source.properties");
    write_properties(
        &source,
        &[
            ("name", "src"),
            ("connector.class", "FileStreamSource"),
            ("file", input.to_str().unwrap()),
            ("topic", "lines"),
        ],
    );
    let sink = dir.path().join("sink.properties");
    write_properties(
        &sink,
        &[
            ("name", "dst"),
            ("connector.class", "FileStreamSink"),
            ("file", output.to_str().unwrap()),
            ("topics", "lines"),
        ],
    );

    let mut connect = ConnectProcess::standalone(&worker, &[&faulty, &source, &sink], &dir.path().join("connect.log"));
    connect.wait_for_output("task faulty-0 is FAILED", Duration::from_secs(60));
    let log = connect.output();
    assert!(log.contains("poll panicked: index out of bounds"), "{log}");
    assert!(log.contains("tests/plugins/faulty/src/lib.rs"), "the trace names the panic location:\n{log}");

    // The records polled before the panic were still delivered.
    assert_eq!(broker.consume("faulty", 3, Duration::from_secs(20)).len(), 3);
    // The other connectors go on: lines written after the failure still arrive.
    wait_for("the first lines", Duration::from_secs(60), || (read_lines(&output).len() == 2).then_some(()));
    use std::io::Write;
    std::fs::OpenOptions::new().append(true).open(&input).unwrap().write_all(b"three\n").unwrap();
    wait_for("a line written after the failure", Duration::from_secs(60), || {
        (read_lines(&output) == ["one", "two", "three"]).then_some(())
    });
    assert!(connect.terminate(Duration::from_secs(30)).success(), "{}", connect.output());
}
