//! The HTTP sink plugin (`connectors/http`) end to end: a real broker, real `connect` workers loading the plugin
//! `.so`, and the harness's HTTP server. Records arrive in order per partition with the configured method, headers,
//! batch format and authorization (OAuth2 tokens renewed as they expire); server failures (500s, then hangs past
//! the timeout, then 429) lose nothing and commit nothing the server did not acknowledge; a kill -9 mid-stream
//! loses nothing; a record the server refuses goes to the dead letter queue with the context headers while the
//! others arrive; bad configurations are refused with an error under each key.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use connect_tests::bridge::committed;
use connect_tests::http_server::{HttpServer, Received, Reply};
use connect_tests::*;
use serde_json::{json, Value};

const SETTLE: Duration = Duration::from_secs(90);
const AIVEN: &str = "io.aiven.kafka.connect.http.HttpSinkConnector";
const CONFLUENT: &str = "io.confluent.connect.http.HttpSinkConnector";

struct Worker {
    connect: ConnectProcess,
    rest: Rest,
}

impl Drop for Worker {
    /// A failing test shows the end of the worker's log.
    fn drop(&mut self) {
        if std::thread::panicking() {
            let output = self.connect.output();
            let lines: Vec<&str> = output.lines().collect();
            eprintln!("==== last lines of the worker ====\n{}", lines[lines.len().saturating_sub(120)..].join("\n"));
        }
    }
}

fn start_worker(dir: &Path, broker: &Broker, log: &str, extra: &[(&str, &str)]) -> Worker {
    let plugins = plugin_dir(dir, &["connect_http"]);
    let port = broker::free_port();
    let listeners = format!("http://127.0.0.1:{port}");
    let mut settings = vec![("listeners", listeners.as_str()), ("offset.flush.interval.ms", "500")];
    settings.extend_from_slice(extra);
    let worker = worker_properties(dir, broker, &plugins, &settings);
    let connect = ConnectProcess::standalone(&worker, &[], &dir.join(log));
    let rest = Rest::new(port);
    wait_for("GET /health 200", SETTLE, || matches!(rest.try_get("/health"), Ok((200, _))).then_some(()));
    Worker { connect, rest }
}

fn create(rest: &Rest, name: &str, config: Value) {
    let (code, body) = rest.post("/connectors", &json!({"name": name, "config": config}));
    assert_eq!(code, 201, "{body}");
    wait_for(&format!("{name} running"), SETTLE, || {
        let status = rest.status(name)?;
        let tasks = status["tasks"].as_array()?;
        (!tasks.is_empty() && tasks.iter().all(|t| t["state"] == "RUNNING")).then_some(())
    });
}

const STRINGS: [(&str, &str); 2] = [
    ("key.converter", "org.apache.kafka.connect.storage.StringConverter"),
    ("value.converter", "org.apache.kafka.connect.storage.StringConverter"),
];

fn with(mut config: Value, pairs: &[(&str, &str)]) -> Value {
    for (key, value) in pairs {
        config[*key] = json!(value);
    }
    config
}

/// The records of a JSON-array body.
fn array_items(request: &Received) -> Vec<Value> {
    match serde_json::from_slice::<Value>(&request.body) {
        Ok(Value::Array(items)) => items,
        other => panic!("not a JSON array body: {other:?} from {}", request.text()),
    }
}

#[test]
fn records_arrive_in_order_with_method_headers_batches_and_authorization() {
    let broker = Broker::start();
    broker.create_topic("orders", 3);
    broker.create_topic("events", 1);
    let dir = test_dir();
    let worker = start_worker(dir.path(), &broker, "connect.log", &[]);

    // Confluent's keys: PUT to a URL with the topic, static headers, JSON arrays of up to 25 records, OAuth2
    // tokens living 2 s; each record carries its partition and offset (InsertField) to check the order.
    let api = HttpServer::start();
    api.require_oauth2("connect", "s3cret", Duration::from_secs(2));
    create(
        &worker.rest,
        "orders-http",
        json!({
            "connector.class": CONFLUENT, "topics": "orders", "tasks.max": "2",
            "key.converter": "org.apache.kafka.connect.storage.StringConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.schemas.enable": "false",
            "transforms": "coordinates",
            "transforms.coordinates.type": "org.apache.kafka.connect.transforms.InsertField$Value",
            "transforms.coordinates.partition.field": "partition",
            "transforms.coordinates.offset.field": "offset",
            "http.api.url": api.url("/api/${topic}"),
            "request.method": "PUT",
            "headers": "X-Source:connect-rs|X-Env:test",
            "request.body.format": "json",
            "batch.max.size": "25",
            "auth.type": "OAUTH2",
            "oauth2.token.url": api.token_url(),
            "oauth2.client.id": "connect",
            "oauth2.client.secret": "s3cret",
        }),
    );
    // Aiven's keys: POST with a static Authorization header, batches as Aiven's prefix/separator/suffix.
    let hook = HttpServer::start();
    hook.require_header("authorization", "Token abc");
    create(
        &worker.rest,
        "events-http",
        with(
            json!({
                "connector.class": AIVEN, "topics": "events",
                "http.url": hook.url("/hook"),
                "http.authorization.type": "static",
                "http.headers.authorization": "Token abc",
                "http.headers.content.type": "application/x-ndjson",
                "batching.enabled": "true",
                "batch.max.size": "50",
                "batch.prefix": "<",
                "batch.separator": "|",
                "batch.suffix": ">",
            }),
            &STRINGS,
        ),
    );

    // Two rounds, the second after the first token expired.
    let per_round = 300;
    for round in 0..2 {
        let keys: Vec<String> = (0..per_round).map(|i| format!("k{}", i % 17)).collect();
        let values: Vec<String> = (0..per_round).map(|i| format!(r#"{{"round":{round},"i":{i}}}"#)).collect();
        let records: Vec<(Option<&[u8]>, &[u8])> =
            keys.iter().zip(&values).map(|(k, v)| (Some(k.as_bytes()), v.as_bytes())).collect();
        broker.produce("orders", &records);
        let events: Vec<String> = (0..per_round).map(|i| format!("e{}", round * per_round + i)).collect();
        let records: Vec<(Option<&[u8]>, &[u8])> = events.iter().map(|e| (None, e.as_bytes())).collect();
        broker.produce("events", &records);
        let want = (round + 1) * per_round;
        api.wait_until("the orders of this round", SETTLE, |r| {
            r.iter().filter(|r| r.accepted()).map(|r| array_items(r).len()).sum::<usize>() >= want
        });
        hook.wait_until("the events of this round", SETTLE, |r| {
            r.iter().filter(|r| r.accepted()).map(|r| r.text().split('|').count()).sum::<usize>() >= want
        });
        if round == 0 {
            std::thread::sleep(Duration::from_millis(2500));
        }
    }

    // Orders: every request a PUT with the headers and a token; per partition, offsets in order, no gap. Tokens
    // are renewed before they expire; a request that still met an expired one on a slow machine got a 401 and
    // was sent again with a new token, which the order check covers.
    let requests = api.requests();
    assert!(
        requests.iter().all(|r| r.accepted() || r.status == 401),
        "a request was refused: {:?}",
        statuses(&requests)
    );
    let mut offsets: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for request in requests.iter().filter(|r| r.accepted()) {
        assert_eq!((request.method.as_str(), request.path.as_str()), ("PUT", "/api/orders"));
        assert_eq!(request.header("x-source"), Some("connect-rs"));
        assert_eq!(request.header("x-env"), Some("test"));
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert!(request.header("authorization").is_some_and(|a| a.starts_with("Bearer token-")));
        let items = array_items(request);
        assert!(!items.is_empty() && items.len() <= 25, "{} records in one request", items.len());
        for item in items {
            let partition = item["partition"].as_i64().expect("partition field");
            offsets.entry(partition).or_default().push(item["offset"].as_i64().expect("offset field"));
        }
    }
    assert_eq!(offsets.values().map(Vec::len).sum::<usize>(), 2 * per_round);
    for (partition, seen) in &offsets {
        let expected: Vec<i64> = (0..seen.len() as i64).collect();
        assert_eq!(seen, &expected, "partition {partition} out of order");
    }
    assert!(api.tokens_issued() >= 2, "the token was not renewed ({} issued)", api.tokens_issued());

    // Events: POST, the static header (the server refuses requests without it), Aiven's batch format, in order.
    let requests = hook.requests();
    assert!(requests.iter().all(Received::accepted), "a request was refused: {:?}", statuses(&requests));
    let mut events = Vec::new();
    for request in &requests {
        assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/hook"));
        assert_eq!(request.header("content-type"), Some("application/x-ndjson"));
        let text = request.text();
        let inner = text.strip_prefix('<').and_then(|t| t.strip_suffix('>')).expect("<..> around the batch");
        let batch: Vec<String> = inner.split('|').map(str::to_string).collect();
        assert!(batch.len() <= 50);
        events.extend(batch);
    }
    let expected: Vec<String> = (0..2 * per_round).map(|i| format!("e{i}")).collect();
    assert_eq!(events, expected);
}

fn statuses(requests: &[Received]) -> Vec<u16> {
    requests.iter().map(|r| r.status).collect()
}

/// The record numbers (`r<n>` values) the server acknowledged.
fn acknowledged(server: &HttpServer) -> HashSet<i64> {
    server
        .accepted()
        .iter()
        .flat_map(|r| {
            r.text().lines().map(|l| l.trim_start_matches('r').parse::<i64>().expect("r<n>")).collect::<Vec<_>>()
        })
        .collect()
}

fn produce_numbered(broker: &Broker, topic: &str, range: std::ops::Range<i64>) {
    let values: Vec<String> = range.map(|n| format!("r{n}")).collect();
    let records: Vec<(Option<&[u8]>, &[u8])> = values.iter().map(|v| (None, v.as_bytes())).collect();
    broker.produce(topic, &records);
}

/// Every offset below the group's committed offset was acknowledged by the server.
fn check_nothing_committed_early(broker: &Broker, server: &HttpServer) -> i64 {
    let committed = committed(broker, "connect-flaky-http", "flaky", 1)[0];
    let acknowledged = acknowledged(server);
    if let Some(missing) = (0..committed).find(|n| !acknowledged.contains(n)) {
        panic!("offset {committed} committed, but record {missing} was never acknowledged by the server");
    }
    committed
}

#[test]
fn server_failures_lose_nothing_and_commit_nothing_early() {
    let broker = Broker::start();
    broker.create_topic("flaky", 1);
    let dir = test_dir();
    let worker = start_worker(dir.path(), &broker, "connect.log", &[]);
    let server = HttpServer::start();
    create(
        &worker.rest,
        "flaky-http",
        with(
            json!({
                "connector.class": AIVEN, "topics": "flaky",
                "http.url": server.url("/in"),
                "http.authorization.type": "none",
                "batching.enabled": "true",
                "batch.max.size": "20",
                "batch.suffix": "",
                "max.retries": "1000",
                "retry.backoff.ms": "200",
                "http.timeout": "1",
            }),
            &STRINGS,
        ),
    );

    // A healthy start: the first 100 arrive and are committed.
    produce_numbered(&broker, "flaky", 0..100);
    wait_for("the first 100 committed", SETTLE, || {
        (check_nothing_committed_early(&broker, &server) == 100).then_some(())
    });

    // The server fails with 500s, then hangs past the 1 s timeout: nothing more is acknowledged or committed.
    server.reply_by_default(Reply::Status(500));
    produce_numbered(&broker, "flaky", 100..200);
    for phase in [Reply::Status(500), Reply::Hang(Duration::from_secs(3))] {
        server.reply_by_default(phase.clone());
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            assert_eq!(check_nothing_committed_early(&broker, &server), 100, "committed during {phase:?}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    let failed = server.requests().iter().filter(|r| !r.accepted()).count();
    assert!(failed >= 10, "only {failed} failed attempts");
    assert!(server.requests().iter().any(|r| r.status == 0), "no request hung");

    // It recovers after asking for a pause: everything arrives, and is committed.
    server.reply_next([Reply::TooManyRequests("1".into())]);
    server.reply_by_default(Reply::Ok);
    wait_for("all 200 acknowledged and committed", SETTLE, || {
        let committed = check_nothing_committed_early(&broker, &server);
        (committed == 200 && acknowledged(&server).len() == 200).then_some(())
    });
    let status = worker.rest.status("flaky-http").expect("status");
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");
}

#[test]
fn kill9_mid_stream_every_record_arrives_at_least_once() {
    const RECORDS: i64 = 6_000;
    let broker = Broker::start();
    broker.create_topic("stream", 1);
    let dir = test_dir();
    let server = HttpServer::start();
    let config = with(
        json!({
            "connector.class": CONFLUENT, "topics": "stream",
            "http.api.url": server.url("/stream"),
            "batch.max.size": "50",
            "batch.separator": "\n",
        }),
        &STRINGS,
    );
    let connector = dir.path().join("stream-http.json");
    std::fs::write(&connector, json!({"name": "stream-http", "config": config}).to_string()).unwrap();
    // The sink consumer is a static member, so the restarted worker takes the killed one's place in the group at
    // once (tansu 0.6.0 does not reliably recover a group whose dynamic leader was killed).
    let plugins = plugin_dir(dir.path(), &["connect_http"]);
    let properties = worker_properties(
        dir.path(),
        &broker,
        &plugins,
        &[("offset.flush.interval.ms", "200"), ("consumer.group.instance.id", "http-crash-test")],
    );

    // Records keep coming while the worker runs (250 every 100 ms): it is killed mid-stream, and the stream goes
    // on while it is down and after it is back.
    let mut first = ConnectProcess::standalone(&properties, &[&connector], &dir.path().join("connect-1.log"));
    first.wait_for_output("partitions assigned", SETTLE);
    std::thread::scope(|scope| {
        let producer = scope.spawn(|| {
            for from in (0..RECORDS).step_by(250) {
                produce_numbered(&broker, "stream", from..from + 250);
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        wait_for("a part of the stream delivered", SETTLE, || {
            (acknowledged_lines(&server).len() >= 2000).then_some(())
        });
        first.kill9();
        let at_crash = acknowledged_lines(&server).len();
        std::thread::sleep(Duration::from_millis(500));
        let mut second = ConnectProcess::standalone(&properties, &[&connector], &dir.path().join("connect-2.log"));
        producer.join().unwrap();
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let seen: HashSet<i64> = acknowledged_lines(&server).into_iter().collect();
            let missing = (0..RECORDS).filter(|n| !seen.contains(n)).count();
            if missing == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "{missing} records never arrived:\n{}", second.output());
            std::thread::sleep(Duration::from_millis(200));
        }
        let total = acknowledged_lines(&server).len();
        eprintln!("{at_crash} records at the crash, {total} received for {RECORDS} distinct");
        assert!(at_crash < RECORDS as usize, "the worker was killed after the stream ended");
        assert!(second.terminate(Duration::from_secs(30)).success(), "{}", second.output());
    });
}

/// Every `r<n>` line of every acknowledged request, duplicates included.
fn acknowledged_lines(server: &HttpServer) -> Vec<i64> {
    server
        .accepted()
        .iter()
        .flat_map(|r| {
            r.text().lines().map(|l| l.trim_start_matches('r').parse::<i64>().expect("r<n>")).collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn a_refused_record_goes_to_the_dead_letter_queue_with_the_context_headers() {
    let broker = Broker::start();
    broker.create_topic("payments", 1);
    let dir = test_dir();
    let worker = start_worker(dir.path(), &broker, "connect.log", &[]);
    let server = HttpServer::start();
    server.reject_body_containing("bad", 400);
    broker.produce("payments", &[(None, b"ok-0"), (None, b"bad-1"), (None, b"ok-2"), (None, b"ok-3")]);
    create(
        &worker.rest,
        "payments-http",
        with(
            json!({
                "connector.class": AIVEN, "topics": "payments",
                "http.url": server.url("/pay"),
                "http.authorization.type": "none",
                "max.retries": "1",
                "retry.backoff.ms": "100",
                "errors.tolerance": "all",
                "errors.deadletterqueue.topic.name": "payments-dlq",
                "errors.deadletterqueue.topic.replication.factor": "1",
                "errors.deadletterqueue.context.headers.enable": "true",
            }),
            &STRINGS,
        ),
    );
    server.wait_until("the good records", SETTLE, |r| r.iter().filter(|r| r.accepted()).count() >= 3);
    let dead = broker.consume("payments-dlq", 1, SETTLE);
    assert_eq!(dead.len(), 1, "one dead letter");
    assert_eq!(dead[0].value_str(), "bad-1");
    let header = |name: &str| {
        dead[0]
            .headers
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_deref())
            .map(|v| String::from_utf8_lossy(v).to_string())
            .unwrap_or_else(|| panic!("header {name} in {:?}", dead[0].headers))
    };
    assert_eq!(header("__connect.errors.topic"), "payments");
    assert_eq!(header("__connect.errors.partition"), "0");
    assert_eq!(header("__connect.errors.offset"), "1");
    assert_eq!(header("__connect.errors.connector.name"), "payments-http");
    assert_eq!(header("__connect.errors.task.id"), "0");
    assert_eq!(header("__connect.errors.stage"), "TASK_PUT");
    assert_eq!(header("__connect.errors.class.name"), AIVEN);
    assert_eq!(header("__connect.errors.exception.class.name"), "org.apache.kafka.connect.errors.ConnectException");
    let message = header("__connect.errors.exception.message");
    assert!(message.contains("400 Bad Request") && message.contains("/pay"), "{message}");

    let accepted: Vec<String> = server.accepted().iter().map(Received::text).collect();
    assert_eq!(accepted, ["ok-0", "ok-2", "ok-3"]);
    // Tried twice (max.retries=1), as Aiven retries every status from 400 up.
    assert_eq!(server.requests().iter().filter(|r| r.text() == "bad-1").count(), 2);
    wait_for("the offsets committed past the dead letter", SETTLE, || {
        (committed(&broker, "connect-payments-http", "payments", 1) == [4]).then_some(())
    });
    assert_eq!(worker.rest.status("payments-http").unwrap()["tasks"][0]["state"], "RUNNING");
}

#[test]
fn bad_configurations_are_refused_with_an_error_under_each_key() {
    let broker = Broker::start();
    let dir = test_dir();
    let worker = start_worker(dir.path(), &broker, "connect.log", &[]);
    let rest = &worker.rest;

    let (code, plugins) = rest.get("/connector-plugins");
    assert_eq!(code, 200);
    for class in [AIVEN, CONFLUENT] {
        assert!(plugins.as_array().unwrap().iter().any(|p| p["class"] == class && p["type"] == "sink"), "{plugins}");
    }

    let validate = |class: &str, config: Value| -> BTreeMap<String, Vec<String>> {
        let (code, report) = rest.put(&format!("/connector-plugins/{class}/config/validate"), &config);
        assert_eq!(code, 200, "{report}");
        report["configs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| !c["value"]["errors"].as_array().unwrap().is_empty())
            .map(|c| {
                let errors = c["value"]["errors"].as_array().unwrap().iter().map(|e| e.as_str().unwrap().to_string());
                (c["value"]["name"].as_str().unwrap().to_string(), errors.collect())
            })
            .collect()
    };
    let errors = validate(
        "HttpSink",
        json!({"name": "v", "connector.class": "HttpSink", "topics": "t", "http.url": "localhost:8080/x",
               "http.authorization.type": "basic", "batching.enabled": "true", "errors.tolerance": "all"}),
    );
    assert_eq!(
        errors.keys().cloned().collect::<Vec<_>>(),
        ["batching.enabled", "http.authorization.type", "http.url"],
        "{errors:?}"
    );
    assert!(errors["http.authorization.type"][0].contains("none, static, oauth2"), "{errors:?}");
    assert!(errors["batching.enabled"][0].contains("errors.tolerance=all"), "{errors:?}");

    let errors = validate(
        CONFLUENT,
        json!({"name": "v", "connector.class": CONFLUENT, "topics": "t", "http.api.url": "http://h/${topic}",
               "auth.type": "OAUTH2", "request.body.format": "json", "batch.max.size": "5",
               "batch.json.as.array": "false", "oauth2.token.url": "token"}),
    );
    assert_eq!(
        errors.keys().cloned().collect::<Vec<_>>(),
        ["batch.json.as.array", "oauth2.client.id", "oauth2.client.secret", "oauth2.token.url"],
        "{errors:?}"
    );

    // Creating the connector is refused with every error listed.
    let (code, body) = rest.post(
        "/connectors",
        &json!({"name": "bad", "config": {"connector.class": CONFLUENT, "topics": "t",
                "http.api.url": "http://h/x", "auth.type": "KERBEROS", "max.retries": "-1"}}),
    );
    assert_eq!(code, 400, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("auth.type") && message.contains("max.retries"), "{message}");

    // The alias HttpSink names Aiven's class: its keys work under it.
    let server = HttpServer::start();
    broker.create_topic("aliased", 1);
    broker.produce("aliased", &[(None, b"through the alias")]);
    create(
        rest,
        "aliased-http",
        with(
            json!({"connector.class": "HttpSink", "topics": "aliased", "http.url": server.url("/a"),
                   "http.authorization.type": "none"}),
            &STRINGS,
        ),
    );
    server.wait_until("the record", SETTLE, |r| r.iter().any(|r| r.text() == "through the alias"));
}
