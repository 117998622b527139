//! The JSON converter with schemas: the bytes on the topic are exactly what Kafka Connect's JsonConverter
//! writes for the same record, and values round-trip through a sink.

use std::time::Duration;

use connect_tests::*;

#[test]
fn envelopes_match_kafka_connect_and_values_round_trip() {
    let broker = Broker::start();
    broker.create_topic("json", 1);
    broker.create_topic("orders", 1);
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["connect_file"]);
    let input = dir.path().join("in.txt");
    let lines = ["hello", "ünïcödé \"quoted\" \\ tab\t", ""];
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let output = dir.path().join("out.txt");
    let orders = dir.path().join("orders.txt");

    let json = "org.apache.kafka.connect.json.JsonConverter";
    let worker = worker_properties(
        dir.path(),
        &broker,
        &plugins,
        &[("key.converter", json), ("value.converter", json), ("value.converter.schemas.enable", "true")],
    );
    let source = dir.path().join("source.properties");
    write_properties(
        &source,
        &[
            ("name", "src"),
            ("connector.class", "FileStreamSource"),
            ("file", input.to_str().unwrap()),
            ("topic", "json"),
        ],
    );
    let sink = dir.path().join("sink.properties");
    write_properties(
        &sink,
        &[
            ("name", "dst"),
            ("connector.class", "FileStreamSink"),
            ("file", output.to_str().unwrap()),
            ("topics", "json"),
        ],
    );
    let orders_sink = dir.path().join("orders.properties");
    write_properties(
        &orders_sink,
        &[
            ("name", "orders"),
            ("connector.class", "FileStreamSink"),
            ("file", orders.to_str().unwrap()),
            ("topics", "orders"),
        ],
    );

    // A record as a Java worker's JsonConverter writes it: a struct with a Timestamp and a Decimal(2) of 123.45.
    let order = concat!(
        r#"{"schema":{"type":"struct","fields":["#,
        r#"{"type":"int32","optional":false,"field":"id"},"#,
        r#"{"type":"string","optional":true,"field":"name"},"#,
        r#"{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"at"},"#,
        r#"{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"},"field":"price"}"#,
        r#"],"optional":false,"name":"com.example.Order"},"#,
        r#""payload":{"id":42,"name":"Ada","at":1700000000000,"price":"MDk="}}"#
    );
    broker.produce("orders", &[(None, order.as_bytes())]);

    let mut connect =
        ConnectProcess::standalone(&worker, &[&source, &sink, &orders_sink], &dir.path().join("connect.log"));
    let records = broker.consume("json", lines.len(), Duration::from_secs(60));
    let values: Vec<&str> = records.iter().map(|r| r.value_str()).collect();
    assert_eq!(
        values,
        [
            r#"{"schema":{"type":"string","optional":false},"payload":"hello"}"#,
            r#"{"schema":{"type":"string","optional":false},"payload":"ünïcödé \"quoted\" \\ tab\t"}"#,
            r#"{"schema":{"type":"string","optional":false},"payload":""}"#,
        ]
    );
    assert!(records.iter().all(|r| r.key.is_none()), "a null key with no schema is written as null");

    wait_for("the lines back in the sink file", Duration::from_secs(60), || {
        (read_lines(&output) == lines).then_some(())
    });
    wait_for("the order struct in its sink file", Duration::from_secs(60), || {
        (read_lines(&orders) == ["Struct{id=42,name=Ada,at=1700000000000,price=123.45}"]).then_some(())
    });
    assert!(connect.terminate(Duration::from_secs(30)).success(), "{}", connect.output());
}
