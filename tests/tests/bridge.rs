//! The HTTP Bridge end to end: Strimzi Kafka Bridge's API served by the built-in connector of a real `connect`
//! worker on a real tansu broker, driven by a real HTTP client as Strimzi's clients drive it. Every expected status,
//! content type and message comes from `docs/strimzi-bridge-api.md` (Strimzi's code and tests), cited per check.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use connect_tests::bridge::*;
use connect_tests::*;
use serde_json::{json, Value};

const POLL: Duration = Duration::from_secs(30);

/// Records by `(topic, partition, offset)`.
fn by_position(records: Vec<Value>) -> BTreeMap<(String, i64, i64), Value> {
    records
        .into_iter()
        .map(|r| {
            let topic = r["topic"].as_str().unwrap_or_else(|| panic!("no topic: {r}")).to_string();
            let partition = r["partition"].as_i64().unwrap_or_else(|| panic!("no partition: {r}"));
            let offset = r["offset"].as_i64().unwrap_or_else(|| panic!("no offset: {r}"));
            ((topic, partition, offset), r)
        })
        .collect()
}

/// The record at `(topic, partition, offset)`.
fn at<'a>(records: &'a BTreeMap<(String, i64, i64), Value>, topic: &str, partition: i64, offset: i64) -> &'a Value {
    records.get(&(topic.to_string(), partition, offset)).unwrap_or_else(|| panic!("no {topic}-{partition}@{offset}"))
}

/// The raw records of `topic` (exactly `count`), by `(partition, offset)`.
fn raw_records(broker: &Broker, topic: &str, count: usize) -> BTreeMap<(i32, i64), broker::Consumed> {
    let records = broker.consume(topic, count + 1, Duration::from_secs(4));
    assert_eq!(records.len(), count, "records in {topic}: {records:#?}");
    records.into_iter().map(|r| ((r.partition, r.offset), r)).collect()
}

fn header(key: &str, value: &[u8]) -> (String, Option<Vec<u8>>) {
    (key.to_string(), Some(value.to_vec()))
}

/// `(partition, offset)` of each record of a poll, in the order returned.
fn positions(records: &[Value]) -> Vec<(i64, i64)> {
    records.iter().map(|r| (r["partition"].as_i64().unwrap_or(-1), r["offset"].as_i64().unwrap_or(-1))).collect()
}

// ---- produce -----------------------------------------------------------------------------------------------------

#[test]
fn json_records_land_where_the_answer_says_with_keys_headers_and_timestamps() {
    let broker = Broker::start();
    broker.create_topic("orders", 2);
    let dir = test_dir();
    let bridge = Bridge::start(dir.path(), "bridge", &broker, &[]);
    let client = &bridge.client;

    // §1 send: one offset per record, in request order (README: request order), `application/vnd.kafka.v2+json`.
    let records = json!([
        {"key": "k1", "value": {"id": 1, "tags": ["a", "b"], "ok": true}, "partition": 0},
        {"value": 42, "partition": 1, "headers": [{"key": "h", "value": b64("v1")}, {"key": "h", "value": b64("v2")}]},
        {"key": 7, "value": "a string", "partition": 0, "timestamp": 1_700_000_000_000_i64},
        {"value": [1, 2.5, null], "partition": 1},
        {"key": "gone", "value": null, "partition": 0},
    ]);
    client.produce_at("orders", JSON, records, &[(0, 0), (1, 0), (0, 1), (1, 1), (0, 2)]);

    // §5 json: keys and values are stored as their JSON serialization ("abc" with its quotes); headers as bytes;
    // `"value": null` is a tombstone.
    let raw = raw_records(&broker, "orders", 5);
    let parsed =
        |bytes: &Option<Vec<u8>>| -> Value { serde_json::from_slice(bytes.as_deref().expect("bytes")).expect("JSON") };
    assert_eq!(raw[&(0, 0)].key.as_deref(), Some(&b"\"k1\""[..]));
    assert_eq!(parsed(&raw[&(0, 0)].value), json!({"id": 1, "tags": ["a", "b"], "ok": true}));
    assert!(raw[&(0, 0)].headers.is_empty(), "{raw:#?}");
    assert_eq!(raw[&(1, 0)].key, None);
    assert_eq!(raw[&(1, 0)].value.as_deref(), Some(&b"42"[..]));
    assert_eq!(raw[&(1, 0)].headers, vec![header("h", b"v1"), header("h", b"v2")], "duplicates kept in order");
    assert_eq!(raw[&(0, 1)].key.as_deref(), Some(&b"7"[..]));
    assert_eq!(raw[&(0, 1)].value.as_deref(), Some(&b"\"a string\""[..]));
    assert_eq!(parsed(&raw[&(1, 1)].value), json!([1, 2.5, null]));
    assert_eq!(raw[&(0, 2)].key.as_deref(), Some(&b"\"gone\""[..]));
    assert_eq!(raw[&(0, 2)].value, None, "a null value is a tombstone");

    // Read back with a json consumer: §1 poll answers the format's type; records carry topic, key, value,
    // partition, offset, timestamp, and headers only when the record has some (§5).
    let consumer =
        client.consumer("readers", json!({"name": "reader", "format": "json", "auto.offset.reset": "earliest"}));
    consumer.assign(&[("orders", 0), ("orders", 1)]);
    let got = by_position(consumer.poll_records(5, POLL));
    let first = at(&got, "orders", 0, 0);
    assert_eq!(first["key"], "k1", "{first}");
    assert_eq!(first["value"], json!({"id": 1, "tags": ["a", "b"], "ok": true}), "{first}");
    assert!(first.get("headers").is_none(), "no headers field without headers (§5): {first}");
    assert!(first["timestamp"].as_i64().is_some_and(|t| t > 1_700_000_000_000), "the append time: {first}");
    let second = at(&got, "orders", 1, 0);
    assert_eq!(second["key"], Value::Null, "{second}");
    assert_eq!(second["value"], 42, "{second}");
    assert_eq!(second["headers"], json!([{"key": "h", "value": b64("v1")}, {"key": "h", "value": b64("v2")}]));
    let timed = at(&got, "orders", 0, 1);
    assert_eq!((&timed["key"], &timed["value"]), (&json!(7), &json!("a string")), "{timed}");
    assert_eq!(timed["timestamp"], 1_700_000_000_000_i64, "the record's timestamp is honoured: {timed}");
    assert_eq!(at(&got, "orders", 1, 1)["value"], json!([1, 2.5, null]));
    let tombstone = at(&got, "orders", 0, 2);
    assert_eq!((&tombstone["key"], &tombstone["value"]), (&json!("gone"), &Value::Null), "{tombstone}");
    assert_eq!(first["topic"], "orders");

    // 300 records in one request: one answer each, in request order, offsets contiguous.
    let many: Vec<Value> = (0..300).map(|i| json!({"value": i, "partition": 1})).collect();
    client.produce_at("orders", JSON, json!(many), &(2..302).map(|o| (1, o)).collect::<Vec<_>>());
    let got = consumer.poll_records(300, POLL);
    assert_eq!(positions(&got), (2..302).map(|o| (1, o)).collect::<Vec<_>>(), "one partition polls in order");
    assert_eq!(got.iter().map(|r| r["value"].as_i64().unwrap()).collect::<Vec<_>>(), (0..300).collect::<Vec<_>>());

    // A record without a partition goes where the partitioner puts it, and the answer says where.
    let answer = client.produce("orders", JSON, json!([{"key": "any", "value": "x"}]));
    let offsets = answer.ok(KAFKA_JSON)["offsets"].clone();
    let partition = offsets[0]["partition"].as_i64().unwrap_or_else(|| panic!("{answer:?}"));
    assert!(partition == 0 || partition == 1, "{answer:?}");
    assert_eq!(offsets[0]["offset"], if partition == 0 { 3 } else { 302 }, "{answer:?}");
    let next = consumer.poll_records(1, POLL);
    assert_eq!(positions(&next), vec![(partition, offsets[0]["offset"].as_i64().unwrap())]);
    assert_eq!((&next[0]["key"], &next[0]["value"]), (&json!("any"), &json!("x")));
}

#[test]
fn binary_records_round_trip_byte_for_byte() {
    let broker = Broker::start();
    broker.create_topic("bytes", 1);
    let dir = test_dir();
    let bridge = Bridge::start(dir.path(), "bridge", &broker, &[]);
    let client = &bridge.client;

    let key = [0u8, 1, 2, 0xff];
    let value = [0xffu8, 0xfe, 0, b'\n', b'"'];
    let records = json!([
        {"key": b64(key), "value": b64(value), "headers": [{"key": "trace", "value": b64([9u8, 0, 9])}, {"key": "x", "value": b64("")}]},
        {"value": b64("plain")},
        {"key": b64("k"), "value": null},
    ]);
    client.produce_at("bytes", BINARY, records, &[(0, 0), (0, 1), (0, 2)]);

    // §5 binary: base64 decoded to the exact bytes.
    let raw = raw_records(&broker, "bytes", 3);
    assert_eq!(raw[&(0, 0)].key.as_deref(), Some(&key[..]));
    assert_eq!(raw[&(0, 0)].value.as_deref(), Some(&value[..]));
    assert_eq!(raw[&(0, 0)].headers, vec![header("trace", &[9, 0, 9]), header("x", b"")]);
    assert_eq!((raw[&(0, 1)].key.as_deref(), raw[&(0, 1)].value.as_deref()), (None, Some(&b"plain"[..])));
    assert_eq!((raw[&(0, 2)].key.as_deref(), raw[&(0, 2)].value.as_deref()), (Some(&b"k"[..]), None));

    // A binary consumer (the default format) gives the same base64 back, padded, standard alphabet.
    let consumer = client.consumer("binary-readers", json!({"name": "b", "auto.offset.reset": "earliest"}));
    assert_eq!(consumer.accept, BINARY);
    consumer.subscribe(&["bytes"]);
    let got = consumer.poll_records(3, POLL);
    assert_eq!(positions(&got), vec![(0, 0), (0, 1), (0, 2)], "one partition polls in order");
    assert_eq!(got[0]["key"], b64(key));
    assert_eq!(got[0]["value"], b64(value));
    assert_eq!(got[0]["headers"], json!([{"key": "trace", "value": b64([9u8, 0, 9])}, {"key": "x", "value": ""}]));
    assert_eq!((&got[1]["key"], &got[1]["value"]), (&Value::Null, &json!(b64("plain"))));
    assert!(got[1].get("headers").is_none(), "{}", got[1]);
    assert_eq!((&got[2]["key"], &got[2]["value"]), (&json!(b64("k")), &Value::Null));
    assert_eq!(unb64(got[0]["value"].as_str().unwrap()), value);
}

#[test]
fn text_records_and_records_sent_to_a_partition() {
    let broker = Broker::start();
    broker.create_topic("texts", 3);
    let dir = test_dir();
    let bridge = Bridge::start(dir.path(), "bridge", &broker, &[]);
    let client = &bridge.client;

    // POST /topics/{t}/partitions/{p}: every record goes to p.
    let records = json!([
        {"key": "clé", "value": "héllo wörld"},
        {"value": "second", "headers": [{"key": "lang", "value": b64("fr")}]},
    ]);
    client.produce_at("texts/partitions/2", TEXT, records, &[(2, 0), (2, 1)]);
    client.produce_at("texts/partitions/0", JSON, json!([{"value": {"n": 1}}]), &[(0, 0)]);

    // §5 text: strings stored as their UTF-8 bytes, no quotes.
    let raw = raw_records(&broker, "texts", 3);
    assert_eq!(raw[&(2, 0)].key.as_deref(), Some("clé".as_bytes()));
    assert_eq!(raw[&(2, 0)].value.as_deref(), Some("héllo wörld".as_bytes()));
    assert_eq!(raw[&(2, 1)].headers, vec![header("lang", b"fr")]);
    assert_eq!(raw[&(0, 0)].value.as_deref(), Some(&b"{\"n\":1}"[..]));

    let consumer =
        client.consumer("text-readers", json!({"name": "t", "format": "text", "auto.offset.reset": "earliest"}));
    assert_eq!(consumer.accept, TEXT);
    consumer.assign(&[("texts", 2)]);
    let got = consumer.poll_records(2, POLL);
    assert_eq!(positions(&got), vec![(2, 0), (2, 1)]);
    assert_eq!((&got[0]["key"], &got[0]["value"]), (&json!("clé"), &json!("héllo wörld")));
    assert_eq!((&got[1]["key"], &got[1]["value"]), (&Value::Null, &json!("second")));
    assert_eq!(got[1]["headers"], json!([{"key": "lang", "value": b64("fr")}]));

    // §1 sendToPartition: ProducerRecordToPartition has no `partition` property (400, schema).
    client.produce("texts/partitions/1", JSON, json!([{"value": 1, "partition": 1}])).error(400);
    // A non-integer partition in the path: 400 (schema) first.
    client.produce("texts/partitions/one", JSON, json!([{"value": 1}])).error(400);
    assert_eq!(broker.consume("texts", 4, Duration::from_secs(3)).len(), 3, "refused requests produced nothing");
}

#[test]
fn produce_errors_are_strimzis() {
    let broker = Broker::start();
    broker.create_topic("errors", 2);
    let dir = test_dir();
    let bridge = Bridge::start(dir.path(), "bridge", &broker, &[]);
    let client = &bridge.client;
    let one = json!({"records": [{"value": "v"}]});

    // §0/§2: a Content-Type that is not an embedded format is 400 (not 415), with Vert.x's message.
    for content_type in ["application/json", KAFKA_JSON, "text/plain"] {
        client
            .post("/topics/errors", content_type, &one)
            .error_is(400, "Validation error on: The format of the request body is not supported");
    }
    // §1: additionalProperties false, `value` required, `async` boolean: 400 (schema).
    client.produce("errors", JSON, json!([{"value": 1, "colour": "red"}])).error(400);
    client.produce("errors", JSON, json!([{"key": "k"}])).error(400);
    client.post("/topics/errors?async=perhaps", JSON, &one).error(400);
    // §0: a malformed body goes the 400 validation path (exact message unverified).
    client.request("POST", "/topics/errors", &[("Content-Type", JSON)], Some("{\"records\": [".into())).error(400);

    // §1 text converter: non-string key or value is 422 with the converter's message.
    client
        .produce("errors", TEXT, json!([{"value": 5}]))
        .error_is(422, "Because the embedded format is 'text', the value must be a string");
    client
        .produce("errors", TEXT, json!([{"key": {"k": 1}, "value": "v"}]))
        .error_is(422, "Because the embedded format is 'text', the key must be a string");

    // §1: a partition that does not exist is 200 with a per-record 404; the other records are sent.
    let answer =
        client.produce("errors", JSON, json!([{"value": "ok", "partition": 0}, {"value": "no", "partition": 9}]));
    let offsets = answer.ok(KAFKA_JSON)["offsets"].as_array().cloned().unwrap_or_default();
    assert_eq!(offsets.len(), 2, "{answer:?}");
    assert_eq!(offsets[0], json!({"partition": 0, "offset": 0}), "{answer:?}");
    assert_eq!(offsets[1]["error_code"], 404, "{answer:?}");
    // Kafka's TimeoutException "Partition 9 of topic errors with partition count 2 is not present in metadata
    // after N ms." (§1).
    assert!(offsets[1]["message"].as_str().is_some_and(|m| m.contains("not present in metadata")), "{answer:?}");
    assert_eq!(offsets[1].as_object().map(|o| o.len()), Some(2), "error_code and message only: {answer:?}");
    let answer = client.produce("errors/partitions/9", JSON, json!([{"value": "no"}]));
    let offsets = answer.ok(KAFKA_JSON)["offsets"].clone();
    assert_eq!(offsets[0]["error_code"], 404, "{answer:?}");
    assert!(offsets[0]["message"].as_str().is_some_and(|m| m.contains("not present in metadata")), "{answer:?}");
    assert_eq!(offsets.as_array().map(Vec::len), Some(1), "{answer:?}");

    // §1: async=true is 204 without a body; the record is sent all the same.
    client
        .post("/topics/errors?async=true", JSON, &json!({"records": [{"value": "async", "partition": 1}]}))
        .no_content();
    let raw = raw_records(&broker, "errors", 2);
    assert_eq!(raw[&(0, 0)].value.as_deref(), Some(&b"\"ok\""[..]));
    assert_eq!(raw[&(1, 0)].value.as_deref(), Some(&b"\"async\""[..]), "{raw:#?}");

    // The Bridge still answers after all this.
    client.produce_at("errors", JSON, json!([{"value": "after", "partition": 0}]), &[(0, 1)]);
}

#[test]
fn concurrent_requests_each_get_the_offsets_of_their_own_records() {
    let broker = Broker::start();
    broker.create_topic("busy", 2);
    let dir = test_dir();
    let bridge = Bridge::start(dir.path(), "bridge", &broker, &[]);
    // Four clients, each on its own connections, 25 requests of 4 records each, all at once.
    let clients: Vec<_> = (0..4)
        .map(|t| {
            let client = BridgeClient::new(bridge.client.port());
            std::thread::spawn(move || {
                let mut placed = Vec::new();
                for r in 0..25 {
                    let values: Vec<String> = (0..4).map(|i| format!("t{t}-r{r}-i{i}")).collect();
                    let records: Vec<Value> =
                        values.iter().enumerate().map(|(i, v)| json!({"value": v, "partition": i % 2})).collect();
                    let answer = client.produce("busy", TEXT, json!(records));
                    let offsets = answer.ok(KAFKA_JSON)["offsets"].as_array().cloned().unwrap_or_default();
                    assert_eq!(offsets.len(), 4, "{answer:?}");
                    for (i, (value, offset)) in values.into_iter().zip(offsets).enumerate() {
                        assert_eq!(offset["partition"], i % 2, "{answer:?}");
                        placed.push(((i % 2) as i32, offset["offset"].as_i64().expect("an offset"), value));
                    }
                }
                placed
            })
        })
        .collect();
    let placed: Vec<(i32, i64, String)> = clients.into_iter().flat_map(|c| c.join().expect("a client")).collect();
    // Every answer names the position of its own record: 400 distinct positions holding exactly those values.
    let raw = raw_records(&broker, "busy", 400);
    let positions: BTreeSet<(i32, i64)> = placed.iter().map(|(p, o, _)| (*p, *o)).collect();
    assert_eq!(positions.len(), 400, "two answers named the same position");
    for (partition, offset, value) in &placed {
        assert_eq!(raw[&(*partition, *offset)].value_str(), value, "the record at {partition}@{offset}");
    }
}

// ---- topics ------------------------------------------------------------------------------------------------------

#[test]
fn topics_partitions_and_offsets_are_described() {
    let broker = Broker::start();
    broker.create_topic("alpha", 3);
    broker.create_topic("beta", 1);
    let dir = test_dir();
    let bridge = Bridge::start(dir.path(), "bridge", &broker, &[]);
    let client = &bridge.client;

    // §1 listTopics.
    let answer = client.get("/topics");
    let topics: BTreeSet<&str> =
        answer.ok(KAFKA_JSON).as_array().expect("an array").iter().map(|t| t.as_str().expect("names")).collect();
    assert!(topics.contains("alpha") && topics.contains("beta"), "{answer:?}");

    // §1 getTopic: name, partitions with PartitionMetadata; `configs` (when present) an object.
    let answer = client.get("/topics/alpha");
    let topic = answer.ok(KAFKA_JSON).clone();
    assert_eq!(topic["name"], "alpha", "{topic}");
    assert!(topic.get("configs").is_none_or(Value::is_object), "{topic}");
    let partitions = topic["partitions"].as_array().cloned().unwrap_or_else(|| panic!("{topic}"));
    assert_eq!(partitions.len(), 3, "{topic}");
    for (i, partition) in partitions.iter().enumerate() {
        assert_eq!(partition["partition"], i, "{topic}");
        let leader = partition["leader"].as_i64().unwrap_or_else(|| panic!("no leader: {topic}"));
        assert_eq!(partition["replicas"], json!([{"broker": leader, "leader": true, "in_sync": true}]), "{topic}");
    }
    assert_eq!(client.get("/topics/alpha/partitions").ok(KAFKA_JSON), &json!(partitions));
    assert_eq!(client.get("/topics/alpha/partitions/2").ok(KAFKA_JSON), &partitions[2]);
    assert_eq!(client.get("/topics/beta/partitions").ok(KAFKA_JSON).as_array().map(Vec::len), Some(1));

    // §1 getOffsets: earliest and latest.
    let offsets = |p: i32| client.get(&format!("/topics/alpha/partitions/{p}/offsets")).ok(KAFKA_JSON).clone();
    assert_eq!(offsets(1), json!({"beginning_offset": 0, "end_offset": 0}));
    client.produce_at(
        "alpha/partitions/1",
        JSON,
        json!([{"value": 1}, {"value": 2}, {"value": 3}]),
        &[(1, 0), (1, 1), (1, 2)],
    );
    assert_eq!(offsets(1), json!({"beginning_offset": 0, "end_offset": 3}));
    assert_eq!(offsets(0), json!({"beginning_offset": 0, "end_offset": 0}));

    // §3: the exact messages for a partition that does not exist.
    client.get("/topics/alpha/partitions/3").error_is(404, "Specified partition does not exist.");
    client.get("/topics/alpha/partitions/3/offsets").error_is(404, "Topic 'alpha' does not have partition with id 3");
    // §1: an unknown topic is 404 with Kafka's UnknownTopicOrPartitionException message.
    for path in ["/topics/nope", "/topics/nope/partitions"] {
        let answer = client.get(path);
        let message = answer.error(404);
        assert!(message.contains("This server does not host this topic-partition."), "{path}: {answer:?}");
    }
    // A partition id that is not a number: 400 (schema) in the newest Bridge.
    client.get("/topics/alpha/partitions/first").error(400);

    // README: POST /admin/topics {"topic_name", "partitions_count"?, "replication_factor"?} creates a topic (201).
    let answer = client.post(
        "/admin/topics",
        KAFKA_JSON,
        &json!({"topic_name": "created", "partitions_count": 4, "replication_factor": 1}),
    );
    assert_eq!(answer.status, 201, "{answer:?}");
    assert_eq!(broker.partitions("created"), 4);
    assert_eq!(client.get("/topics/created").ok(KAFKA_JSON)["partitions"].as_array().map(Vec::len), Some(4));
}

// ---- consumers ---------------------------------------------------------------------------------------------------

#[test]
fn consumers_are_created_named_refused_and_deleted() {
    let broker = Broker::start();
    let dir = test_dir();
    let bridge = Bridge::start(dir.path(), "bridge", &broker, &[]);
    let client = &bridge.client;

    // §1 createConsumer: 200 (not 201), instance_id and a base_uri built from the request.
    let answer = client.create_consumer("g1", &json!({"name": "c1", "format": "json"}));
    let base = client.base();
    assert_eq!(
        answer.ok(KAFKA_JSON),
        &json!({"instance_id": "c1", "base_uri": format!("{base}/consumers/g1/instances/c1")})
    );
    client
        .create_consumer("g1", &json!({"name": "c1"}))
        .error_is(409, "A consumer instance with the specified name already exists in the Kafka Bridge.");
    // Keyed by (group, name): the same name in another group is another consumer.
    client.create_consumer("g2", &json!({"name": "c1", "format": "binary"})).ok(KAFKA_JSON);

    // No body: all defaults and a generated name `kafka-bridge-consumer-<uuid>` (no bridge.id).
    let answer = client.request("POST", "/consumers/g1", &[("Content-Type", KAFKA_JSON)], None);
    let name = answer.ok(KAFKA_JSON)["instance_id"].as_str().unwrap_or_default().to_string();
    let uuid = name.strip_prefix("kafka-bridge-consumer-").unwrap_or_else(|| panic!("{answer:?}"));
    assert_eq!(uuid.len(), 36, "a UUID: {answer:?}");
    assert_eq!(answer.body["base_uri"], format!("{base}/consumers/g1/instances/{name}"));

    // Refusals: §3 bad format 422, §1 unknown key and JSON type errors 400, Kafka config errors 422.
    client.create_consumer("g1", &json!({"name": "c9", "format": "xml"})).error_is(422, "Invalid format type.");
    client.create_consumer("g1", &json!({"name": "c9", "colour": "red"})).error(400);
    client.create_consumer("g1", &json!({"name": "c9", "enable.auto.commit": "true"})).error(400);
    client.create_consumer("g1", &json!({"name": "c9", "fetch.min.bytes": "100"})).error(400);
    let answer = client.create_consumer("g1", &json!({"name": "c9", "isolation.level": "foo"}));
    assert!(answer.error(422).contains("isolation.level"), "{answer:?}");
    let answer = client.create_consumer("g1", &json!({"name": "c9", "auto.offset.reset": "foo"}));
    assert!(answer.error(422).contains("auto.offset.reset"), "{answer:?}");
    // None of the refused requests left a consumer behind.
    let all_settings = json!({"name": "c9", "format": "text", "auto.offset.reset": "earliest", "enable.auto.commit": false,
                              "fetch.min.bytes": 1, "consumer.request.timeout.ms": 10000, "isolation.level": "read_committed"});
    client.create_consumer("g1", &all_settings).ok(KAFKA_JSON);

    // §1: base_uri follows X-Forwarded-Host + X-Forwarded-Proto (both needed).
    let forwarded =
        [("Content-Type", KAFKA_JSON), ("X-Forwarded-Host", "gateway:9443"), ("X-Forwarded-Proto", "https")];
    let answer = client.request("POST", "/consumers/g1", &forwarded, Some(json!({"name": "fwd"}).to_string()));
    assert_eq!(answer.ok(KAFKA_JSON)["base_uri"], "https://gateway:9443/consumers/g1/instances/fwd", "{answer:?}");
    // `Forwarded` (host and proto both needed) wins over X-Forwarded-*; a host without a port gets the scheme's;
    // X-Forwarded-Path replaces the path.
    let forwarded = [
        ("Content-Type", KAFKA_JSON),
        ("Forwarded", "for=192.0.2.60;host=api-gateway;proto=https"),
        ("X-Forwarded-Host", "gateway:9443"),
        ("X-Forwarded-Proto", "http"),
    ];
    let answer = client.request("POST", "/consumers/g1", &forwarded, Some(json!({"name": "fwd2"}).to_string()));
    assert_eq!(answer.ok(KAFKA_JSON)["base_uri"], "https://api-gateway:443/consumers/g1/instances/fwd2", "{answer:?}");
    let forwarded = [("Content-Type", KAFKA_JSON), ("X-Forwarded-Path", "/my-bridge/consumers/g1")];
    let answer = client.request("POST", "/consumers/g1", &forwarded, Some(json!({"name": "fwd3"}).to_string()));
    assert_eq!(
        answer.ok(KAFKA_JSON)["base_uri"],
        format!("{base}/my-bridge/consumers/g1/instances/fwd3"),
        "{answer:?}"
    );
    let forwarded = [("Content-Type", KAFKA_JSON), ("X-Forwarded-Host", "gateway:9443"), ("X-Forwarded-Proto", "ftp")];
    let answer = client.request("POST", "/consumers/g1", &forwarded, Some(json!({"name": "fwd4"}).to_string()));
    answer.error_is(500, "ftp is not a valid schema/proto.");

    // §1: every operation on an unknown (group, name) is 404 with the same message; a name of another group too.
    for (group, name) in [("g1", "nobody"), ("g3", "c1")] {
        let path = |suffix: &str| format!("/consumers/{group}/instances/{name}{suffix}");
        let offsets = json!({"offsets": [{"topic": "t", "partition": 0, "offset": 0}]});
        let partitions = json!({"partitions": [{"topic": "t", "partition": 0}]});
        let answers = [
            client.post(&path("/subscription"), KAFKA_JSON, &json!({"topics": ["t"]})),
            client.get(&path("/subscription")),
            client.delete(&path("/subscription")),
            client.post(&path("/assignments"), KAFKA_JSON, &partitions),
            client.request("GET", &path("/records"), &[("Accept", JSON)], None),
            client.post(&path("/offsets"), KAFKA_JSON, &offsets),
            client.post(&path("/positions"), KAFKA_JSON, &offsets),
            client.post(&path("/positions/beginning"), KAFKA_JSON, &partitions),
            client.post(&path("/positions/end"), KAFKA_JSON, &partitions),
            client.delete(&path("")),
        ];
        for answer in answers {
            answer.error_is(404, NO_CONSUMER);
        }
    }

    // §1 deleteConsumer: 204, then it is gone; the namesake in g2 is not.
    client.delete("/consumers/g1/instances/c1").no_content();
    client.delete("/consumers/g1/instances/c1").error_is(404, NO_CONSUMER);
    client.get("/consumers/g1/instances/c1/subscription").error_is(404, NO_CONSUMER);
    client.get("/consumers/g2/instances/c1/subscription").ok(KAFKA_JSON);
    // The name is free again.
    client.create_consumer("g1", &json!({"name": "c1"})).ok(KAFKA_JSON);

    // §1 deleteConsumer: a poll in flight completes first (Strimzi's concurrentPollAndDeleteConsumer).
    broker.create_topic("quiet", 1);
    let polling = client.consumer("g4", json!({"name": "p", "format": "json"}));
    polling.subscribe(&["quiet"]);
    let path = polling.path("/records?timeout=3000");
    let poller = {
        let client = client.clone();
        std::thread::spawn(move || {
            let started = std::time::Instant::now();
            (client.request("GET", &path, &[("Accept", JSON)], None), started.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    polling.delete().no_content();
    let (answer, took) = poller.join().expect("the poll");
    assert_eq!(answer.ok(JSON), &json!([]), "{answer:?}");
    assert!(took >= Duration::from_millis(2500), "the poll waited its timeout, the delete did not cut it: {took:?}");
    polling.delete().error_is(404, NO_CONSUMER);
}

#[test]
fn subscribe_poll_commit_and_unsubscribe() {
    let broker = Broker::start();
    broker.create_topic("alpha", 2);
    broker.create_topic("beta", 1);
    let dir = test_dir();
    let bridge = Bridge::start(dir.path(), "bridge", &broker, &[]);
    let client = &bridge.client;
    let consumer = client.consumer(
        "subscribers",
        json!({"name": "s", "format": "json", "auto.offset.reset": "earliest", "enable.auto.commit": false}),
    );

    // §3: poll before subscribe is 500; subscribe needs exactly one of topics and topic_pattern.
    consumer.poll("").error_is(500, "Consumer is not subscribed to any topics or assigned any partitions");
    consumer
        .post("/subscription", &json!({}))
        .error_is(422, "A list (of Topics type) or a topic_pattern must be specified.");
    consumer
        .post("/subscription", &json!({"topics": ["alpha"], "topic_pattern": "a.*"}))
        .error_is(409, "Subscriptions to topics, partitions, and patterns are mutually exclusive.");

    // Schema errors (400): topics not a list; below, an offset without its partition.
    consumer.post("/subscription", &json!({"topics": "alpha"})).error(400);
    consumer.subscribe(&["alpha", "beta"]);
    let subscription = consumer.subscription();
    let mut topics: Vec<&str> =
        subscription["topics"].as_array().expect("topics").iter().filter_map(Value::as_str).collect();
    topics.sort();
    assert_eq!(topics, ["alpha", "beta"], "{subscription}");

    client.produce_at(
        "alpha",
        JSON,
        json!([{"value": "a0", "partition": 0}, {"value": "a1", "partition": 1}, {"value": "a2", "partition": 0},
               {"value": "a3", "partition": 1}]),
        &[(0, 0), (1, 0), (0, 1), (1, 1)],
    );
    client.produce_at("beta", JSON, json!([{"value": "b0"}]), &[(0, 0)]);

    // §1 poll: Accept must be exactly the consumer's format; a missing Accept is 406 too.
    let mismatch = "Consumer format does not match the embedded format requested by the Accept header.";
    for accept in [BINARY, TEXT, KAFKA_JSON, "application/json", "*/*"] {
        client.request("GET", &consumer.path("/records"), &[("Accept", accept)], None).error_is(406, mismatch);
    }
    client.raw("GET", &consumer.path("/records"), &[], "").error_is(406, mismatch);
    // A non-integer timeout or max_bytes: 400 (schema).
    consumer.poll("timeout=soon").error(400);
    consumer.poll("max_bytes=lots").error(400);

    let got = by_position(consumer.poll_records(5, POLL));
    for ((topic, partition, offset), value) in [
        (("alpha", 0, 0), "a0"),
        (("alpha", 1, 0), "a1"),
        (("alpha", 0, 1), "a2"),
        (("alpha", 1, 1), "a3"),
        (("beta", 0, 0), "b0"),
    ] {
        assert_eq!(at(&got, topic, partition, offset)["value"], value);
    }
    // §1 listSubscriptions: the assignment, one single-key object per topic.
    let subscription = consumer.subscription();
    let mut assigned: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for entry in subscription["partitions"].as_array().expect("partitions") {
        for (topic, list) in entry.as_object().expect("an object per topic") {
            assigned
                .entry(topic.clone())
                .or_default()
                .extend(list.as_array().unwrap().iter().filter_map(Value::as_i64));
        }
    }
    assigned.values_mut().for_each(|v| v.sort());
    assert_eq!(assigned, BTreeMap::from([("alpha".into(), vec![0, 1]), ("beta".into(), vec![0])]), "{subscription}");

    // §1 commit: given offsets verbatim; no body commits the positions of the last poll; `[]` is fine too.
    consumer
        .post("/offsets", &json!({"offsets": [{"topic": "alpha", "partition": 0, "offset": 1, "metadata": "m"}]}))
        .no_content();
    assert_eq!(committed(&broker, "subscribers", "alpha", 2), vec![1, -1]);
    client.request("POST", &consumer.path("/offsets"), &[("Content-Type", KAFKA_JSON)], None).no_content();
    assert_eq!(committed(&broker, "subscribers", "alpha", 2), vec![2, 2]);
    assert_eq!(committed(&broker, "subscribers", "beta", 1), vec![1]);
    consumer.post("/offsets", &json!({"offsets": []})).no_content();
    consumer.post("/offsets", &json!({"offsets": [{"topic": "alpha", "offset": 1}]})).error(400);

    // §3 max_bytes: an answer bigger than max_bytes is 422 (and those records are dropped).
    client.produce_at("beta", JSON, json!([{"value": "x".repeat(100)}]), &[(0, 1)]);
    let answer = wait_for("a poll over max_bytes", POLL, || {
        let answer = consumer.poll("timeout=200&max_bytes=50");
        (answer.status != 200 || answer.body != json!([])).then_some(answer)
    });
    answer.error_is(422, "Response exceeds the maximum number of bytes the consumer can receive");

    // §1 unsubscribe: 204, nothing subscribed or assigned, poll is 500 again.
    client.delete(&consumer.path("/subscription")).no_content();
    // Checked last, so that a failure here does not hide the rest.
    let after_unsubscribe = consumer.subscription();
    consumer.poll("").error_is(500, "Consumer is not subscribed to any topics or assigned any partitions");

    // A pattern: only matching topics, from the committed offsets.
    consumer.post("/subscription", &json!({"topic_pattern": "al.*"})).no_content();
    client.produce_at("alpha", JSON, json!([{"value": "a4", "partition": 0}]), &[(0, 2)]);
    client.produce_at("beta", JSON, json!([{"value": "b2"}]), &[(0, 2)]);
    let got = consumer.poll_records(1, POLL);
    assert_eq!((&got[0]["topic"], &got[0]["partition"], &got[0]["offset"]), (&json!("alpha"), &json!(0), &json!(2)));
    consumer.poll_nothing(Duration::from_secs(2));

    consumer.delete().no_content();
    consumer.delete().error_is(404, NO_CONSUMER);
    assert_eq!(
        after_unsubscribe,
        json!({"topics": [], "partitions": []}),
        "GET subscription right after DELETE subscription"
    );
}

#[test]
fn a_consumer_that_unsubscribed_can_assign_partitions() {
    let broker = Broker::start();
    broker.create_topic("switch", 2);
    let dir = test_dir();
    let bridge = Bridge::start(dir.path(), "bridge", &broker, &[]);
    let client = &bridge.client;
    let records = json!([{"value": "p0", "partition": 0}, {"value": "p1", "partition": 1}]);
    client.produce_at("switch", TEXT, records, &[(0, 0), (1, 0)]);
    let consumer =
        client.consumer("switchers", json!({"name": "s", "format": "text", "auto.offset.reset": "earliest"}));
    consumer.subscribe(&["switch"]);
    assert_eq!(consumer.poll_records(2, POLL).len(), 2);

    // §1: unsubscribe clears the subscribed flag, so an assignment is allowed; from then on only that partition.
    client.delete(&consumer.path("/subscription")).no_content();
    consumer.assign(&[("switch", 1)]);
    consumer.post("/positions/beginning", &json!({"partitions": [{"topic": "switch", "partition": 1}]})).no_content();
    let got = consumer.poll_records(1, POLL);
    assert_eq!((positions(&got), &got[0]["value"]), (vec![(1, 0)], &json!("p1")));
    client.produce_at("switch", TEXT, json!([{"value": "late", "partition": 0}]), &[(0, 1)]);
    consumer.poll_nothing(Duration::from_secs(2));
    assert_eq!(consumer.subscription(), json!({"topics": [], "partitions": [{"switch": [1]}]}));
}

#[test]
fn assign_seek_and_poll_errors() {
    let broker = Broker::start();
    broker.create_topic("gamma", 2);
    broker.create_topic("delta", 1);
    let dir = test_dir();
    let bridge = Bridge::start(dir.path(), "bridge", &broker, &[]);
    let client = &bridge.client;
    let values = json!([{"value": b64("g0")}, {"value": b64("g1")}, {"value": b64("g2")}]);
    client.produce_at("gamma/partitions/1", BINARY, values, &[(1, 0), (1, 1), (1, 2)]);
    client.produce_at("gamma/partitions/0", BINARY, json!([{"value": b64("not json")}]), &[(0, 0)]);

    let consumer = client.consumer("assigned", json!({"name": "a", "auto.offset.reset": "earliest"}));
    consumer.assign(&[("gamma", 1)]);
    // §1: assignment and subscription are mutually exclusive.
    let conflict = "Subscriptions to topics, partitions, and patterns are mutually exclusive.";
    consumer.post("/subscription", &json!({"topics": ["gamma"]})).error_is(409, conflict);
    assert_eq!(consumer.subscription()["partitions"], json!([{"gamma": [1]}]));

    let values_of = |records: &[Value]| -> Vec<String> {
        records.iter().map(|r| String::from_utf8(unb64(r["value"].as_str().expect("value"))).unwrap()).collect()
    };
    let got = consumer.poll_records(3, POLL);
    assert_eq!(positions(&got), vec![(1, 0), (1, 1), (1, 2)], "only the assigned partition");
    assert_eq!(values_of(&got), ["g0", "g1", "g2"]);
    consumer.poll_nothing(Duration::from_secs(1));

    // §1 seek, seekToBeginning, seekToEnd: 204, and the next poll starts there.
    consumer.post("/positions", &json!({"offsets": [{"topic": "gamma", "partition": 1, "offset": 1}]})).no_content();
    assert_eq!(positions(&consumer.poll_records(2, POLL)), vec![(1, 1), (1, 2)]);
    let gamma1 = json!({"partitions": [{"topic": "gamma", "partition": 1}]});
    consumer.post("/positions/beginning", &gamma1).no_content();
    assert_eq!(positions(&consumer.poll_records(3, POLL)), vec![(1, 0), (1, 1), (1, 2)]);
    consumer.post("/positions/beginning", &gamma1).no_content();
    consumer.post("/positions/end", &gamma1).no_content();
    consumer.poll_nothing(Duration::from_secs(1));
    client.produce_at("gamma/partitions/1", BINARY, json!([{"value": b64("g3")}]), &[(1, 3)]);
    let got = consumer.poll_records(1, POLL);
    assert_eq!((positions(&got), values_of(&got)), (vec![(1, 3)], vec!["g3".to_string()]));

    // §1 seek: a partition not assigned to the consumer is 404 (IllegalStateException "No current assignment").
    let answer = consumer.post("/positions", &json!({"offsets": [{"topic": "gamma", "partition": 0, "offset": 0}]}));
    assert!(answer.error(404).contains("No current assignment for partition"), "{answer:?}");
    let answer = consumer.post("/positions/beginning", &json!({"partitions": [{"topic": "gamma", "partition": 0}]}));
    assert!(answer.error(404).contains("No current assignment for partition"), "{answer:?}");

    // §1 unsubscribe clears the assignment too: subscribing is allowed afterwards.
    client.delete(&consumer.path("/subscription")).no_content();
    assert_eq!(consumer.subscription(), json!({"topics": [], "partitions": []}));
    // Each subscribe replaces the subscription (Kafka `subscribe`).
    consumer.subscribe(&["gamma"]);
    consumer.subscribe(&["delta"]);
    assert_eq!(consumer.subscription()["topics"], json!(["delta"]));

    // §1 poll, json format: a record that is not JSON is 406 "Failed to decode...".
    let json_consumer =
        client.consumer("assigned", json!({"name": "j", "format": "json", "auto.offset.reset": "earliest"}));
    json_consumer.assign(&[("gamma", 0)]);
    let answer = wait_for("a poll that reads the non-JSON record", POLL, || {
        let answer = json_consumer.poll("timeout=200");
        (answer.status != 200 || answer.body != json!([])).then_some(answer)
    });
    assert!(answer.error(406).starts_with("Failed to decode"), "{answer:?}");

    // A subscribed consumer has no partitions before its first poll joins the group: seeking is 404 (§1 seek).
    let early = client.consumer("early", json!({"name": "e"}));
    early.subscribe(&["gamma"]);
    let answer = early.post("/positions", &json!({"offsets": [{"topic": "gamma", "partition": 1, "offset": 1}]}));
    assert!(answer.error(404).contains("No current assignment for partition"), "{answer:?}");
}

#[test]
fn poll_settings_stay_with_the_consumer() {
    let broker = Broker::start();
    broker.create_topic("sizes", 1);
    let dir = test_dir();
    let bridge = Bridge::start(dir.path(), "bridge", &broker, &[]);
    let client = &bridge.client;
    let consumer = client.consumer("sizes", json!({"name": "s", "format": "text", "auto.offset.reset": "earliest"}));
    consumer.assign(&[("sizes", 0)]);
    client.produce_at("sizes", TEXT, json!([{"value": "x".repeat(100)}]), &[(0, 0)]);
    let over = "Response exceeds the maximum number of bytes the consumer can receive";
    wait_for("a poll over max_bytes", POLL, || {
        let answer = consumer.poll("timeout=200&max_bytes=150");
        (answer.status != 200 || answer.body != json!([])).then_some(answer)
    })
    .error_is(422, over);
    // §8.6: `timeout` and `max_bytes` are stored on the instance; a poll without them reuses the last values.
    client.produce_at("sizes", TEXT, json!([{"value": "y".repeat(100)}]), &[(0, 1)]);
    wait_for("a second poll over max_bytes", POLL, || {
        let answer = consumer.poll("");
        (answer.status != 200 || answer.body != json!([])).then_some(answer)
    })
    .error_is(422, over);
    // A record whose answer fits in the stored 150 bytes passes.
    client.produce_at("sizes", TEXT, json!([{"value": "z"}]), &[(0, 2)]);
    let answer = wait_for("the small record", POLL, || {
        let answer = consumer.poll("");
        (answer.status != 200 || answer.body != json!([])).then_some(answer)
    });
    assert_eq!(positions(answer.ok(TEXT).as_array().expect("records")), vec![(0, 2)], "{answer:?}");

    // The poll timeout is kept too: with nothing to read, a poll waits the last timeout given.
    let timed = |query: &str| {
        let started = std::time::Instant::now();
        let answer = consumer.poll(query);
        assert_eq!(answer.ok(TEXT), &json!([]), "{answer:?}");
        started.elapsed()
    };
    let took = timed("timeout=1500");
    assert!(took >= Duration::from_millis(1400) && took < Duration::from_secs(10), "timeout=1500 took {took:?}");
    let took = timed("");
    assert!(took >= Duration::from_millis(1400) && took < Duration::from_secs(10), "the kept 1500 ms: {took:?}");
}

#[test]
fn two_consumers_of_one_group_split_the_partitions() {
    let broker = Broker::start();
    broker.create_topic("shared", 4);
    let dir = test_dir();
    let bridge = Bridge::start(dir.path(), "bridge", &broker, &[]);
    let client = &bridge.client;
    let settings = |name: &str| json!({"name": name, "format": "json", "auto.offset.reset": "earliest"});
    let consumers = [client.consumer("split", settings("one")), client.consumer("split", settings("two"))];
    for consumer in &consumers {
        consumer.subscribe(&["shared"]);
    }

    // Both poll until the group has given each a share of the four partitions.
    let assignment = |consumer: &BridgeConsumer| -> BTreeSet<i64> {
        let subscription = consumer.subscription();
        let list = subscription["partitions"].as_array().cloned().unwrap_or_default();
        list.iter()
            .flat_map(|e| e["shared"].as_array().cloned().unwrap_or_default())
            .filter_map(|p| p.as_i64())
            .collect()
    };
    let shares = wait_for("both consumers with a share of the partitions", Duration::from_secs(60), || {
        for consumer in &consumers {
            assert_eq!(consumer.poll_once(), Vec::<Value>::new(), "nothing produced yet");
        }
        let shares = [assignment(&consumers[0]), assignment(&consumers[1])];
        let all: BTreeSet<i64> = shares[0].union(&shares[1]).copied().collect();
        (!shares[0].is_empty() && !shares[1].is_empty() && shares[0].is_disjoint(&shares[1]) && all.len() == 4)
            .then_some(shares)
    });

    let records: Vec<Value> = (0..40).map(|i| json!({"value": i, "partition": i % 4})).collect();
    let offsets: Vec<(i32, i64)> = (0..40).map(|i| (i % 4, i64::from(i / 4))).collect();
    client.produce_at("shared", JSON, json!(records), &offsets);

    let mut seen: [Vec<Value>; 2] = [Vec::new(), Vec::new()];
    wait_for("all 40 records polled", POLL, || {
        for (i, consumer) in consumers.iter().enumerate() {
            seen[i].extend(consumer.poll_once());
        }
        (seen[0].len() + seen[1].len() >= 40).then_some(())
    });
    for consumer in &consumers {
        consumer.poll_nothing(Duration::from_millis(500));
    }
    let mut values = BTreeSet::new();
    for (i, records) in seen.iter().enumerate() {
        assert!(!records.is_empty(), "consumer {i} got nothing");
        for record in records {
            let partition = record["partition"].as_i64().unwrap();
            assert!(shares[i].contains(&partition), "consumer {i} ({:?}) read partition {partition}", shares[i]);
            assert_eq!(record["value"].as_i64().unwrap() % 4, partition, "{record}");
            assert!(values.insert(record["value"].as_i64().unwrap()), "read twice: {record}");
        }
    }
    assert_eq!(values, (0..40).collect::<BTreeSet<i64>>(), "every record once");

    // One unsubscribes (and polls no more): it leaves the group's assignment at once (Kafka's unsubscribe), so
    // the other gets all four partitions, well before any rebalance timeout.
    client.delete(&consumers[0].path("/subscription")).no_content();
    let records: Vec<Value> = (40..48).map(|i| json!({"value": i, "partition": i % 4})).collect();
    client.produce_at("shared", JSON, json!(records), &(40..48).map(|i| (i % 4, i64::from(i / 4))).collect::<Vec<_>>());
    let got = consumers[1].poll_records(8, Duration::from_secs(30));
    let values: BTreeSet<i64> = got.iter().filter_map(|r| r["value"].as_i64()).collect();
    assert_eq!(values, (40..48).collect::<BTreeSet<i64>>());
}

#[test]
fn a_new_consumer_of_the_group_resumes_after_the_committed_offset() {
    let broker = Broker::start();
    broker.create_topic("resume", 1);
    let dir = test_dir();
    let bridge = Bridge::start(dir.path(), "bridge", &broker, &[]);
    let client = &bridge.client;
    let records: Vec<Value> = (0..10).map(|i| json!({"value": format!("r{i}")})).collect();
    client.produce_at("resume", TEXT, json!(records), &(0..10).map(|i| (0, i)).collect::<Vec<_>>());

    let settings = |name: &str, reset: &str| json!({"name": name, "format": "text", "auto.offset.reset": reset, "enable.auto.commit": false});
    let first = client.consumer("resumers", settings("first", "earliest"));
    first.subscribe(&["resume"]);
    assert_eq!(first.poll_records(10, POLL).len(), 10);
    // Records 0..5 are done: the committed offset is the next one to read (§1 commit, verbatim).
    first.post("/offsets", &json!({"offsets": [{"topic": "resume", "partition": 0, "offset": 5}]})).no_content();
    first.delete().no_content();

    // "latest" would skip everything: the committed offset wins.
    let second = client.consumer("resumers", settings("second", "latest"));
    second.subscribe(&["resume"]);
    let got = second.poll_records(5, POLL);
    assert_eq!(positions(&got), (5..10).map(|o| (0, o)).collect::<Vec<_>>());
    assert_eq!(got[0]["value"], "r5");
    // Seeks apply to a subscribed consumer too (§1 seek, seekToBeginning, seekToEnd).
    second.post("/positions", &json!({"offsets": [{"topic": "resume", "partition": 0, "offset": 7}]})).no_content();
    assert_eq!(positions(&second.poll_records(3, POLL)), (7..10).map(|o| (0, o)).collect::<Vec<_>>());
    let resume0 = json!({"partitions": [{"topic": "resume", "partition": 0}]});
    second.post("/positions/beginning", &resume0).no_content();
    assert_eq!(positions(&second.poll_records(10, POLL)), (0..10).map(|o| (0, o)).collect::<Vec<_>>());
    second.post("/positions/end", &resume0).no_content();
    second.poll_nothing(Duration::from_secs(1));
    // No body: commit what the last poll returned.
    client.request("POST", &second.path("/offsets"), &[("Content-Type", KAFKA_JSON)], None).no_content();
    second.delete().no_content();
    assert_eq!(committed(&broker, "resumers", "resume", 1), vec![10]);

    client.produce_at("resume", TEXT, json!([{"value": "r10"}]), &[(0, 10)]);
    let third = client.consumer("resumers", settings("third", "earliest"));
    third.subscribe(&["resume"]);
    let got = third.poll_records(1, POLL);
    assert_eq!((positions(&got), &got[0]["value"]), (vec![(0, 10)], &json!("r10")));
    third.poll_nothing(Duration::from_secs(1));
}

#[test]
fn an_idle_consumer_is_deleted_and_leaves_its_group() {
    let broker = Broker::start();
    broker.create_topic("idle", 2);
    let dir = test_dir();
    let bridge = Bridge::start(dir.path(), "bridge", &broker, &[("http.consumer.timeoutMs", "2000")]);
    let client = &bridge.client;
    let settings = |name: &str| json!({"name": name, "format": "json", "auto.offset.reset": "earliest"});
    let idle = client.consumer("idlers", settings("idle"));
    idle.subscribe(&["idle"]);

    // §4: every request resets the idle clock; a consumer in use outlives the timeout.
    for _ in 0..8 {
        idle.poll_once();
        std::thread::sleep(Duration::from_millis(500));
    }
    idle.subscription();

    // Idle for the timeout plus the timer's period (timeout / 2) and some slack: gone.
    std::thread::sleep(Duration::from_millis(2000 + 1000 + 1500));
    client.get(&idle.path("/subscription")).error_is(404, NO_CONSUMER);
    idle.poll("").error_is(404, NO_CONSUMER);
    idle.delete().error_is(404, NO_CONSUMER);

    // It left its group: a new member gets both partitions at once (a member that never left would hold its
    // share until the broker times it out, far beyond this wait).
    client.produce_at(
        "idle",
        JSON,
        json!([{"value": 0, "partition": 0}, {"value": 1, "partition": 1}]),
        &[(0, 0), (1, 0)],
    );
    let next = client.consumer("idlers", settings("next"));
    next.subscribe(&["idle"]);
    let got = next.poll_records(2, Duration::from_secs(20));
    let mut got = positions(&got);
    got.sort();
    assert_eq!(got, vec![(0, 0), (1, 0)]);
    // The name is free again.
    client.consumer("idlers", settings("idle"));
}

#[test]
fn strimzi_settings_name_consumers_configure_them_and_time_them_out() {
    let broker = Broker::start();
    broker.create_topic("settings", 1);
    let dir = test_dir();
    // §6: bridge.id prefixes generated names, kafka.consumer.* configures every consumer, http.timeoutSeconds is
    // Strimzi's idle timeout in seconds.
    let settings =
        [("bridge.id", "my-bridge"), ("kafka.consumer.auto.offset.reset", "earliest"), ("http.timeoutSeconds", "1")];
    let bridge = Bridge::start(dir.path(), "bridge", &broker, &settings);
    let client = &bridge.client;
    client.produce_at("settings", JSON, json!([{"value": 1}, {"value": 2}]), &[(0, 0), (0, 1)]);

    let consumer = client.consumer("defaults", json!({"format": "json"}));
    let uuid =
        consumer.name.strip_prefix("my-bridge-").unwrap_or_else(|| panic!("{} lacks the bridge.id", consumer.name));
    assert_eq!(uuid.len(), 36, "{}", consumer.name);
    consumer.subscribe(&["settings"]);
    // Read from the beginning: auto.offset.reset=earliest came from kafka.consumer.*, not from the request.
    assert_eq!(positions(&consumer.poll_records(2, POLL)), vec![(0, 0), (0, 1)]);
    // §1: enable.auto.commit defaults to Kafka's `true`: closing the consumer commits what it polled.
    consumer.delete().no_content();
    assert_eq!(committed(&broker, "defaults", "settings", 1), vec![2]);

    let idle = client.consumer("defaults", json!({"name": "idle"}));
    std::thread::sleep(Duration::from_millis(1000 + 500 + 1500));
    client.get(&idle.path("/subscription")).error_is(404, NO_CONSUMER);
}

#[test]
fn the_worker_restarts_deletes_and_validates_the_bridge_connector() {
    let broker = Broker::start();
    broker.create_topic("managed", 1);
    let dir = test_dir();
    let bridge = Bridge::start(dir.path(), "bridge", &broker, &[("tasks.max", "3")]);
    let (client, rest) = (&bridge.client, bridge.rest());
    let status =
        wait_for("the bridge running", Duration::from_secs(30), || rest.status("bridge").filter(|s| all_running(s, 1)));
    assert_eq!(task_workers(&status).len(), 1, "README: one task whatever tasks.max says: {status}");
    client.produce_at("managed", JSON, json!([{"value": 0}]), &[(0, 0)]);
    let consumer = client.consumer("managed-group", json!({"name": "c"}));

    // A restarted task serves the API again, without the consumers of the old one (README).
    assert_eq!(rest.post("/connectors/bridge/tasks/0/restart", &Value::Null).0, 204);
    wait_for("the restarted task's consumer registry", Duration::from_secs(30), || {
        let answer = client.try_request("GET", &consumer.path("/subscription"), &[], None).ok()?;
        (answer.status == 404).then_some(answer)
    })
    .error_is(404, NO_CONSUMER);
    wait_healthy(client, Duration::from_secs(30), || bridge.process.output());
    client.produce_at("managed", JSON, json!([{"value": 1}]), &[(0, 1)]);

    // Paused, the task is not polled: produce answers 503 and /ready 500 (alive, not ready); resumed, both work.
    assert_eq!(rest.put("/connectors/bridge/pause", &Value::Null).0, 202);
    let paused = "The Bridge connector is paused or stopping: records are accepted again once it runs";
    wait_for("not ready while paused", Duration::from_secs(30), || (client.get("/ready").status == 500).then_some(()));
    client.produce("managed", JSON, json!([{"value": "held"}])).error_is(503, paused);
    assert_eq!(client.get("/healthy").status, 200);
    assert_eq!(rest.put("/connectors/bridge/resume", &Value::Null).0, 202);
    wait_for("ready again", Duration::from_secs(30), || (client.get("/ready").status == 200).then_some(()));
    client.produce_at("managed", JSON, json!([{"value": 2}]), &[(0, 2)]);

    // Deleted, the connector stops serving; created again over REST, it serves on the same port.
    assert_eq!(rest.delete("/connectors/bridge").0, 204);
    wait_for("the port closed", Duration::from_secs(30), || client.try_request("GET", "/healthy", &[], None).err());
    let mut config = serde_json::Map::new();
    for (key, value) in connector_config(&broker, client.port(), &[]) {
        config.insert(key, Value::String(value));
    }
    let (code, created) = rest.post("/connectors", &json!({"name": "bridge2", "config": config}));
    assert_eq!(code, 201, "{created}");
    wait_healthy(client, Duration::from_secs(30), || bridge.process.output());
    client.produce_at("managed", JSON, json!([{"value": 3}]), &[(0, 3)]);

    // README: validation refuses converters other than ByteArrayConverter and kafka.producer.* settings.
    let mut bad = Value::Object(config.clone());
    bad["name"] = json!("bad");
    for key in ["key.converter", "value.converter", "header.converter"] {
        bad[key] = json!("org.apache.kafka.connect.json.JsonConverter");
    }
    bad["kafka.producer.acks"] = json!("1");
    let (code, report) = rest.put(&format!("/connector-plugins/{CLASS}/config/validate"), &bad);
    assert_eq!(code, 200, "{report}");
    let errors: BTreeMap<String, Vec<String>> = report["configs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let errors: Vec<String> =
                c["value"]["errors"].as_array()?.iter().filter_map(|e| e.as_str().map(String::from)).collect();
            (!errors.is_empty()).then(|| (c["value"]["name"].as_str().unwrap_or("").to_string(), errors))
        })
        .collect();
    for key in ["key.converter", "value.converter", "header.converter", "kafka.producer.acks"] {
        assert!(errors.contains_key(key), "{key} should be refused: {report}");
    }
    assert_eq!(report["error_count"], 4, "{report}");
    let (code, answer) = rest.post("/connectors", &json!({"name": "bad", "config": bad}));
    assert_eq!((code, &answer["error_code"]), (400, &json!(400)), "{answer}");
}

#[test]
fn a_record_for_a_topic_that_does_not_exist_is_a_per_record_404() {
    let broker = Broker::start();
    broker.create_topic("exists", 1);
    let dir = test_dir();
    let bridge = Bridge::start(dir.path(), "bridge", &broker, &[]);
    // §1: an unknown topic (tansu does not create topics on first use) is 200 with a per-record 404.
    let answer = bridge.client.produce("missing", JSON, json!([{"value": 1}]));
    let offsets = answer.ok(KAFKA_JSON)["offsets"].clone();
    assert_eq!(offsets.as_array().map(Vec::len), Some(1), "{answer:?}");
    assert_eq!(offsets[0]["error_code"], 404, "{answer:?}");
    assert!(offsets[0]["message"].as_str().is_some_and(|m| m.contains("not present in metadata")), "{answer:?}");
    bridge.client.produce_at("exists", JSON, json!([{"value": 1}]), &[(0, 0)]);
}

#[test]
fn the_dedicated_mode_serves_the_bridge_from_strimzi_properties() {
    let broker = Broker::start();
    broker.create_topic("dedicated", 2);
    let dir = test_dir();
    // Strimzi's sample application.properties keys (§6).
    let settings =
        [("bridge.id", "dedicated"), ("kafka.producer.acks", "1"), ("kafka.consumer.auto.offset.reset", "earliest")];
    let mut bridge = Bridge::start_dedicated(dir.path(), &broker, &settings);
    let client = &bridge.client;
    let records = json!([{"key": "a", "value": "x", "partition": 0}, {"key": "b", "value": "y", "partition": 1}]);
    client.produce_at("dedicated", TEXT, records, &[(0, 0), (1, 0)]);
    let consumer = client.consumer("dedicated-group", json!({"format": "text"}));
    assert!(consumer.name.starts_with("dedicated-"), "{}", consumer.name);
    consumer.subscribe(&["dedicated"]);
    let got = by_position(consumer.poll_records(2, POLL));
    assert_eq!(at(&got, "dedicated", 0, 0)["value"], "x");
    assert_eq!(at(&got, "dedicated", 1, 0)["value"], "y");
    assert_eq!(client.get("/topics/dedicated").ok(KAFKA_JSON)["partitions"].as_array().map(Vec::len), Some(2));
    let status = bridge.process.terminate(Duration::from_secs(30));
    assert!(status.success(), "connect bridge exited with {status}:\n{}", bridge.process.output());
}

// ---- CORS, info, health --------------------------------------------------------------------------------------------

#[test]
fn cors_pre_flights_are_answered_for_allowed_origins_only() {
    let broker = Broker::start();
    let dir = test_dir();
    let cors = [
        ("http.cors.enabled", "true"),
        ("http.cors.allowedOrigins", r"https://allowed\.example\.com"),
        ("http.cors.allowedMethods", "GET,POST,DELETE,OPTIONS"),
    ];
    let with_cors = Bridge::start(dir.path(), "cors", &broker, &cors);
    let client = &with_cors.client;
    let preflight = |client: &BridgeClient, origin: &str, method: &str| {
        let headers = [("Origin", origin), ("Access-Control-Request-Method", method)];
        client.request("OPTIONS", "/topics/t", &headers, None)
    };

    // §6: allowed origin → 204 with the Access-Control-* headers (Vert.x CorsHandler).
    let answer = preflight(client, "https://allowed.example.com", "POST");
    assert_eq!(answer.status, 204, "{answer:?}");
    assert_eq!(answer.header("access-control-allow-origin"), Some("https://allowed.example.com"), "{answer:?}");
    let methods: BTreeSet<String> = answer
        .header("access-control-allow-methods")
        .unwrap_or_else(|| panic!("no Access-Control-Allow-Methods: {answer:?}"))
        .split(',')
        .map(|m| m.trim().to_string())
        .collect();
    assert_eq!(methods, BTreeSet::from(["DELETE", "GET", "OPTIONS", "POST"].map(String::from)), "{answer:?}");
    let allowed_headers = answer.header("access-control-allow-headers").unwrap_or("").to_ascii_lowercase();
    assert!(allowed_headers.contains("content-type"), "{answer:?}");

    // The origin is a regex that must match the whole Origin; anything else is 403.
    for origin in ["https://evil.example.com", "https://allowed.example.com.evil.org", "http://allowed.example.com"] {
        let answer = preflight(client, origin, "POST");
        assert_eq!(answer.status, 403, "{origin}: {answer:?}");
        assert_eq!(answer.header("access-control-allow-origin"), None, "{origin}: {answer:?}");
    }
    // An actual request from an allowed origin carries the header too.
    let answer = client.request("GET", "/topics", &[("Origin", "https://allowed.example.com")], None);
    answer.ok(KAFKA_JSON);
    assert_eq!(answer.header("access-control-allow-origin"), Some("https://allowed.example.com"), "{answer:?}");

    // CORS disabled (the default): no CORS headers at all.
    let without = Bridge::start(dir.path(), "plain", &broker, &[]);
    let answer = preflight(&without.client, "https://allowed.example.com", "POST");
    assert!(!answer.headers.iter().any(|(n, _)| n.starts_with("access-control-")), "{answer:?}");
    let answer = without.client.request("GET", "/topics", &[("Origin", "https://allowed.example.com")], None);
    answer.ok(KAFKA_JSON);
    assert!(!answer.headers.iter().any(|(n, _)| n.starts_with("access-control-")), "{answer:?}");
}

#[test]
fn info_health_openapi_and_unknown_paths() {
    let broker = Broker::start();
    let dir = test_dir();
    let management = broker::free_port().to_string();
    let bridge = Bridge::start(dir.path(), "bridge", &broker, &[("http.management.port", &management)]);
    let client = &bridge.client;

    // §1 info: application/json {"bridge_version": ..}.
    let answer = client.get("/");
    let info = answer.ok("application/json");
    assert!(info["bridge_version"].as_str().is_some_and(|v| !v.is_empty()), "{answer:?}");
    assert_eq!(info.as_object().map(|o| o.len()), Some(1), "{answer:?}");

    // §1 healthy and ready: 200, empty body; on the management port as well (README).
    let management = BridgeClient::new(management.parse().unwrap());
    for client in [client, &management] {
        for path in ["/healthy", "/ready"] {
            let answer = client.get(path);
            assert_eq!((answer.status, answer.text.as_str()), (200, ""), "{path}: {answer:?}");
        }
    }
    // §1: the management server serves health only.
    assert_eq!(management.get("/topics").status, 404);

    // §1 openapi: the bundled OpenAPI document; v2 is gone (410).
    for path in ["/openapi", "/openapi/v3"] {
        let answer = client.get(path);
        let document = answer.ok("application/json");
        assert!(document["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{path}: {}", answer.text);
        for operation in ["/topics/{topicname}", "/consumers/{groupid}/instances/{name}/records"] {
            assert!(document["paths"].get(operation).is_some(), "{path} documents {operation}");
        }
    }
    client.get("/openapi/v2").error_is(410, "OpenAPI v2 Swagger not supported");

    // §0: an unknown route.
    client.get("/nowhere").error_is(404, "Not Found");
    client.get("/consumers/g/instances/c/unknown").error_is(404, "Not Found");
}

#[test]
fn a_disabled_producer_or_consumer_answers_503() {
    let broker = Broker::start();
    broker.create_topic("off", 1);
    let dir = test_dir();
    let disabled = [("http.producer.enabled", "false"), ("http.consumer.enabled", "false")];
    let bridge = Bridge::start(dir.path(), "bridge", &broker, &disabled);
    let client = &bridge.client;
    client
        .produce("off", JSON, json!([{"value": 1}]))
        .error_is(503, "Producer is disabled in config. To enable producer update http.producer.enabled to true");
    client
        .create_consumer("g", &json!({"name": "c"}))
        .error_is(503, "Consumer is disabled in config. To enable consumer update http.consumer.enabled to true");
    // Topics are still served.
    assert_eq!(client.get("/topics/off").ok(KAFKA_JSON)["name"], "off");
    assert_eq!(broker.consume("off", 1, Duration::from_secs(2)).len(), 0);
}

// ---- the Bridge as a connector of a cluster ------------------------------------------------------------------------

#[test]
fn the_bridge_moves_to_the_surviving_worker_when_its_worker_is_killed() {
    let broker = Broker::start();
    broker.create_topic("ha", 1);
    let dir = test_dir();
    let plugins = plugin_dir(dir.path(), &[]);
    // A dead worker is noticed after the session timeout (30 s: tansu evicts members whose rejoin takes longer than
    // a short session, see the README); its tasks move after the scheduled rebalance delay (3 s).
    let mut workers = start_cluster(2, Duration::from_secs(90), dir.path(), &broker, &plugins, "bridges", &[]);
    let rest = workers[0].rest.clone();
    let port = broker::free_port();
    let mut config = serde_json::Map::new();
    for (key, value) in connector_config(&broker, port, &[("tasks.max", "1")]) {
        config.insert(key, Value::String(value));
    }
    rest.create_connector("bridge", Value::Object(config));
    let logs = |workers: &[DistributedWorker]| -> String {
        workers.iter().map(|w| format!("==== worker {} ====\n{}", w.id(), w.process.output())).collect()
    };
    let status = wait_for("the bridge and its task running", Duration::from_secs(60), || {
        rest.status("bridge").filter(|s| all_running(s, 1))
    });
    assert_eq!(task_workers(&status).len(), 1, "one task whatever tasks.max says: {status}");
    let owner = task_workers(&status)[0].2.clone();

    let client = BridgeClient::new(port);
    wait_healthy(&client, Duration::from_secs(30), || logs(&workers));
    client.produce_at("ha", JSON, json!([{"value": 0}, {"value": 1}]), &[(0, 0), (0, 1)]);
    let before = client.consumer("ha-group", json!({"name": "before"}));

    let victim = workers.iter().position(|w| w.id() == owner).expect("the task's worker");
    workers[victim].process.kill9();
    let survivor = 1 - victim;
    let rest = workers[survivor].rest.clone();
    let survivor_id = workers[survivor].id();
    wait_for("the bridge task running on the surviving worker", Duration::from_secs(150), || {
        let status = rest.status("bridge")?;
        (all_running(&status, 1) && task_workers(&status)[0].2 == survivor_id).then_some(())
    });
    wait_healthy(&client, Duration::from_secs(30), || logs(&workers));
    client.produce_at("ha", JSON, json!([{"value": 2}]), &[(0, 2)]);
    let values: Vec<String> = raw_records(&broker, "ha", 3).values().map(|r| r.value_str().to_string()).collect();
    assert_eq!(values, ["0", "1", "2"]);
    // README: consumers live in the task's memory; a restarted task has none.
    client.get(&before.path("/subscription")).error_is(404, NO_CONSUMER);
}
