//! The connector on connect-api's test kit (the plugin boundary, the plugin's runtime, no Kafka) against the real
//! HTTP server of the test harness: request shapes, authorization, retries, error handling, TLS, validation.

use std::path::Path;
use std::time::{Duration, Instant};

use connect_api::testkit::{SinkHarness, SinkTaskHarness};
use connect_api::{Config, Schema, SinkRecord, TopicPartition, TopicPartitionOffset, Value};
use connect_tests::http_server::{HttpServer, Received, Reply, TlsIdentity};

use crate::{AivenHttpSink, ConfluentHttpSink};

fn config(pairs: &[(&str, &str)]) -> Config {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn aiven(server_url: &str, extra: &[(&str, &str)]) -> Config {
    let mut c = config(&[("http.url", server_url), ("http.authorization.type", "none"), ("retry.backoff.ms", "10")]);
    c.extend(config(extra));
    c
}

fn confluent(server_url: &str, extra: &[(&str, &str)]) -> Config {
    let mut c = config(&[("http.api.url", server_url), ("retry.backoff.ms", "10")]);
    c.extend(config(extra));
    c
}

fn record(topic: &str, partition: i32, offset: i64, key: &str, value: &str) -> SinkRecord {
    SinkRecord::new(topic, partition, offset, Some(Schema::string()), Value::from(value))
        .with_key(Some(Schema::string()), Value::from(key))
}

fn start(harness: &mut SinkHarness, config: &Config) -> SinkTaskHarness {
    harness.start(config).unwrap();
    let configs = harness.task_configs(1).unwrap();
    harness.start_task(&configs[0]).unwrap()
}

fn aiven_task(config: &Config) -> SinkTaskHarness {
    start(&mut SinkHarness::new_async::<AivenHttpSink>(), config)
}

fn confluent_task(config: &Config) -> SinkTaskHarness {
    start(&mut SinkHarness::new_async::<ConfluentHttpSink>(), config)
}

fn bodies(received: &[Received]) -> Vec<String> {
    received.iter().map(Received::text).collect()
}

fn offset(topic: &str, partition: i32, offset: i64) -> TopicPartitionOffset {
    TopicPartitionOffset { topic_partition: TopicPartition::new(topic, partition), offset }
}

#[test]
fn aiven_batches_with_prefix_separator_suffix_and_a_static_header() {
    let server = HttpServer::start();
    server.require_header("authorization", "Bearer static-secret");
    let mut task = aiven_task(&aiven(
        &server.url("/ingest"),
        &[
            ("http.authorization.type", "static"),
            ("http.headers.authorization", "Bearer static-secret"),
            ("http.headers.content.type", "application/json"),
            ("http.headers.additional", "X-Tenant:acme,X-Trace:1"),
            ("batching.enabled", "true"),
            ("batch.max.size", "3"),
            ("batch.prefix", "["),
            ("batch.separator", ","),
            ("batch.suffix", "]"),
        ],
    ));
    let records: Vec<SinkRecord> =
        (0..7).map(|i| record("t", i % 2, i as i64, "k", &format!("{{\"n\":{i}}}"))).collect();
    task.put(records).unwrap();
    let received = server.accepted();
    assert_eq!(bodies(&received), [r#"[{"n":0},{"n":1},{"n":2}]"#, r#"[{"n":3},{"n":4},{"n":5}]"#, r#"[{"n":6}]"#]);
    for request in &received {
        assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/ingest"));
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(request.header("x-tenant"), Some("acme"));
        assert_eq!(request.header("x-trace"), Some("1"));
    }
    assert_eq!(task.commit().unwrap(), [offset("t", 0, 7), offset("t", 1, 6)]);
    task.stop().unwrap();
}

#[test]
fn aiven_without_batching_sends_each_value_bare_and_structs_as_json() {
    let server = HttpServer::start();
    let mut task =
        aiven_task(&aiven(&server.url("/one"), &[("decimal.format", "NUMERIC"), ("kafka.retry.backoff.ms", "5000")]));
    assert_eq!(task.timeout_ms(), Some(5000), "kafka.retry.backoff.ms sets the worker's redelivery backoff");
    let schema = connect_api::SchemaBuilder::structure()
        .field("id", Schema::int32())
        .field("price", connect_api::data::logical::Decimal::schema(2))
        .build()
        .unwrap();
    let value = connect_api::Struct::new(schema.clone())
        .unwrap()
        .with("id", 1i32)
        .unwrap()
        .with("price", connect_api::data::logical::Decimal::from_unscaled(1999))
        .unwrap();
    task.put(vec![
        record("t", 0, 0, "k", "plain text"),
        SinkRecord::new("t", 0, 1, Some(schema), Value::Struct(value)),
        SinkRecord::new("t", 0, 2, None, Value::map([(Value::from("a"), Value::from(1i64))])),
    ])
    .unwrap();
    assert_eq!(bodies(&server.accepted()), ["plain text", r#"{"id":1,"price":19.99}"#, r#"{"a":1}"#]);
    // A tombstone fails the task before anything of its batch is sent, as Aiven's connector does.
    let err = task.put(vec![record("t", 0, 3, "k", "x"), SinkRecord::new("t", 0, 4, None, Value::Null)]).unwrap_err();
    assert!(err.message().contains("Record value must not be null"), "{err}");
    assert_eq!(server.accepted().len(), 3);
    assert_eq!(task.commit().unwrap(), [offset("t", 0, 3)]);
}

#[test]
fn confluent_puts_json_arrays_per_key_url_and_refreshes_its_oauth2_token() {
    let server = HttpServer::start();
    server.require_oauth2("client", "s3cret", Duration::from_millis(1500));
    let mut task = confluent_task(&confluent(
        &server.url("/api/${topic}/${key}"),
        &[
            ("request.method", "PUT"),
            ("request.body.format", "json"),
            ("batch.max.size", "10"),
            ("headers", "X-Source:connect|Accept:application/json"),
            ("auth.type", "OAUTH2"),
            ("oauth2.token.url", &server.token_url()),
            ("oauth2.client.id", "client"),
            ("oauth2.client.secret", "s3cret"),
        ],
    ));
    task.put(vec![
        record("orders", 0, 0, "a", r#"{"n":0}"#),
        record("orders", 0, 1, "b b", "text"),
        record("orders", 0, 2, "a", r#"{"n":2}"#),
    ])
    .unwrap();
    let received = server.accepted();
    assert_eq!(received.len(), 2, "{:?}", bodies(&received));
    assert_eq!(received[0].path, "/api/orders/a");
    assert_eq!(received[0].text(), r#"[{"n":0},{"n":2}]"#);
    assert_eq!(received[1].path, "/api/orders/b%20b");
    assert_eq!(received[1].text(), r#"["text"]"#);
    for request in &received {
        assert_eq!(request.method, "PUT");
        assert_eq!(request.header("x-source"), Some("connect"));
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(request.header("authorization"), Some("Bearer token-1"));
    }
    assert_eq!(server.tokens_issued(), 1);

    // The token is renewed before it expires: no request is refused for it.
    std::thread::sleep(Duration::from_millis(1500));
    task.put(vec![record("orders", 0, 3, "a", "{}")]).unwrap();
    assert_eq!(server.tokens_issued(), 2);
    assert!(server.requests().iter().all(Received::accepted), "a request was refused");
    assert_eq!(server.accepted().last().unwrap().header("authorization"), Some("Bearer token-2"));

    // A token the server stopped accepting is replaced after the 401, and the request retried.
    server.revoke_tokens();
    task.put(vec![record("orders", 0, 4, "a", "{}")]).unwrap();
    assert_eq!(server.tokens_issued(), 3);
    let last: Vec<u16> = server.requests().iter().rev().take(2).map(|r| r.status).collect();
    assert_eq!(last, [200, 401]);
    assert_eq!(task.commit().unwrap(), [offset("orders", 0, 5)]);
}

#[test]
fn oauth2_credentials_as_form_fields_and_a_refused_client() {
    let server = HttpServer::start();
    server.require_oauth2("client", "s3cret", Duration::from_secs(60));
    let oauth = |secret: &str| {
        aiven(
            &server.url("/x"),
            &[
                ("http.authorization.type", "oauth2"),
                ("oauth2.access.token.url", &server.token_url()),
                ("oauth2.client.id", "client"),
                ("oauth2.client.secret", secret),
                ("oauth2.client.authorization.mode", "url"),
                ("max.retries", "1"),
            ],
        )
    };
    let mut task = aiven_task(&oauth("s3cret"));
    task.put(vec![record("t", 0, 0, "k", "v")]).unwrap();
    assert_eq!(server.accepted().len(), 1);

    let mut task = aiven_task(&oauth("wrong"));
    let err = task.put(vec![record("t", 0, 1, "k", "v")]).unwrap_err();
    assert!(err.message().contains("token endpoint") && err.message().contains("401"), "{err}");
    assert!(task.commit().unwrap().is_empty());
}

#[test]
fn server_errors_and_429_are_retried_honouring_retry_after() {
    let server = HttpServer::start();
    server.reply_next([Reply::Status(500), Reply::Status(503), Reply::TooManyRequests("1".into())]);
    let mut task = confluent_task(&confluent(
        &server.url("/x"),
        &[("retry.on.status.codes", "408"), ("retry.backoff.policy", "CONSTANT_VALUE"), ("max.retries", "5")],
    ));
    task.put(vec![record("t", 0, 0, "k", "v")]).unwrap();
    let requests = server.requests();
    let statuses: Vec<u16> = requests.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [500, 503, 429, 200]);
    let waited = requests[3].at - requests[2].at;
    assert!(waited >= Duration::from_millis(950), "retried {waited:?} after a Retry-After of 1 s");
}

#[test]
fn a_hang_past_the_timeout_is_retried_and_nothing_is_committed_before_the_answer() {
    let server = HttpServer::start();
    server.reply_next([Reply::Hang(Duration::from_secs(30)), Reply::Status(500)]);
    let mut task = confluent_task(&confluent(&server.url("/x"), &[("http.request.timeout.ms", "300")]));
    let started = Instant::now();
    task.put(vec![record("t", 0, 0, "k", "v")]).unwrap();
    assert!(started.elapsed() < Duration::from_secs(20), "the hanging request was not cut by the timeout");
    let statuses: Vec<u16> = server.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [0, 500, 200]);
    assert_eq!(task.commit().unwrap(), [offset("t", 0, 1)]);
}

#[test]
fn exhausted_retries_fail_the_task_without_committing() {
    let server = HttpServer::start();
    server.reply_by_default(Reply::Status(500));
    let mut task = aiven_task(&aiven(&server.url("/x"), &[("max.retries", "2")]));
    let err = task.put(vec![record("t", 0, 0, "k", "v")]).unwrap_err();
    assert!(!err.is_retriable());
    assert!(err.message().starts_with("Sending failed and no retries remain, stopping"), "{err}");
    assert!(err.message().contains("500") && err.message().contains("after 3 attempts"), "{err}");
    assert_eq!(server.requests().len(), 3);
    assert!(task.commit().unwrap().is_empty());
}

#[test]
fn a_rejected_record_goes_to_the_dead_letter_queue_and_the_others_arrive() {
    let server = HttpServer::start();
    server.reject_body_containing("bad", 400);
    let mut task = aiven_task(&aiven(&server.url("/x"), &[("errors.tolerance", "all"), ("max.retries", "0")]));
    task.put(vec![record("t", 0, 0, "k", "good 0"), record("t", 0, 1, "k", "bad 1"), record("t", 0, 2, "k", "good 2")])
        .unwrap();
    assert_eq!(bodies(&server.accepted()), ["good 0", "good 2"]);
    let errant = task.errant();
    assert_eq!(errant.len(), 1);
    assert_eq!(errant[0].0.kafka_offset, 1);
    assert!(errant[0].1.message().contains("400 Bad Request"), "{}", errant[0].1);
    assert_eq!(task.commit().unwrap(), [offset("t", 0, 3)]);
}

#[test]
fn confluent_error_behaviours() {
    let server = HttpServer::start();
    server.reject_body_containing("bad", 400);
    let base = |behavior: &str, extra: &[(&str, &str)]| {
        let mut c = confluent(
            &server.url("/x"),
            &[("behavior.on.error", behavior), ("retry.on.status.codes", "500-"), ("batch.max.size", "2")],
        );
        c.extend(config(extra));
        c
    };
    let batch = || vec![record("t", 0, 0, "k", "bad"), record("t", 0, 1, "k", "ok"), record("t", 0, 2, "k", "ok")];

    // fail: the task fails with Confluent's message; a 400 outside retry.on.status.codes is not retried.
    let mut task = confluent_task(&base("fail", &[]));
    let err = task.put(batch()).unwrap_err();
    assert!(
        err.message().contains("Error while processing HTTP request with Url : http://127.0.0.1")
            && err.message().contains("Status code : 400, Reason Phrase : Bad Request"),
        "{err}"
    );
    assert_eq!(server.requests().len(), 1);
    assert!(task.commit().unwrap().is_empty());

    // log and ignore: the failed request's records are dropped, the others go.
    for behavior in ["log", "ignore"] {
        let before = server.accepted().len();
        let mut task = confluent_task(&base(behavior, &[]));
        task.put(batch()).unwrap();
        assert_eq!(server.accepted().len(), before + 1);
        assert!(task.errant().is_empty());
        assert_eq!(task.commit().unwrap(), [offset("t", 0, 3)]);
    }

    // errors.tolerance=all: every record of the failed request goes to the dead letter queue.
    let mut task = confluent_task(&base("fail", &[("errors.tolerance", "all")]));
    task.put(batch()).unwrap();
    let errant: Vec<i64> = task.errant().iter().map(|(r, _)| r.kafka_offset).collect();
    assert_eq!(errant, [0, 1]);
}

#[test]
fn confluent_tombstones_are_ignored_logged_or_deleted() {
    let server = HttpServer::start();
    let tombstone = |offset: i64| {
        SinkRecord::new("t", 0, offset, None, Value::Null).with_key(Some(Schema::string()), Value::from("k1"))
    };
    let mut task = confluent_task(&confluent(&server.url("/items/${key}"), &[]));
    task.put(vec![tombstone(0)]).unwrap();
    assert!(server.requests().is_empty());

    let mut task = confluent_task(&confluent(
        &server.url("/items/${key}"),
        &[("behavior.on.null.values", "delete"), ("batch.max.size", "5")],
    ));
    task.put(vec![record("t", 0, 0, "k1", "v0"), tombstone(1), record("t", 0, 2, "k1", "v2")]).unwrap();
    let seen: Vec<(String, String, String)> =
        server.accepted().iter().map(|r| (r.method.clone(), r.path.clone(), r.text())).collect();
    assert_eq!(
        seen,
        [
            ("POST".into(), "/items/k1".into(), "v0".into()),
            ("DELETE".into(), "/items/k1".into(), "".into()),
            ("POST".into(), "/items/k1".into(), "v2".into())
        ]
    );

    let mut task = confluent_task(&confluent(
        &server.url("/items"),
        &[("behavior.on.null.values", "fail"), ("errors.tolerance", "all")],
    ));
    task.put(vec![tombstone(3)]).unwrap();
    assert!(task.errant()[0].1.message().contains("null value"));
}

#[test]
fn a_stop_cancels_a_pending_request_and_nothing_is_committed() {
    let server = HttpServer::start();
    server.reply_by_default(Reply::Hang(Duration::from_secs(60)));
    let mut task = aiven_task(&aiven(&server.url("/x"), &[("http.timeout", "120")]));
    let cancel = task.canceller().expect("async tasks can be cancelled");
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        cancel();
    });
    let started = Instant::now();
    let err = task.put(vec![record("t", 0, 0, "k", "v")]).unwrap_err();
    canceller.join().unwrap();
    assert!(err.is_retriable(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(task.commit().unwrap().is_empty());
}

/// A CA, a server certificate for localhost and a client certificate, all PEM, written into `dir`.
fn pki(dir: &Path) -> (TlsIdentity, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "connect-http test CA");
    let ca = params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server =
        CertificateParams::new(vec!["localhost".to_string()]).unwrap().signed_by(&server_key, &ca, &ca_key).unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    client_params.distinguished_name.push(DnType::CommonName, "connect-http test client");
    let client = client_params.signed_by(&client_key, &ca, &ca_key).unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let client_file = dir.join("client.pem");
    std::fs::write(&client_file, format!("{}{}", client.pem(), client_key.serialize_pem())).unwrap();
    let identity =
        TlsIdentity { cert_pem: server.pem(), key_pem: server_key.serialize_pem(), client_ca_pem: Some(ca.pem()) };
    (identity, ca_file.display().to_string(), client_file.display().to_string())
}

#[test]
fn tls_with_a_custom_ca_and_a_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (identity, ca, client) = pki(dir.path());
    let server = HttpServer::start_tls(identity);
    let mut task = confluent_task(&confluent(
        &server.url("/secure"),
        &[
            ("ssl.enabled", "true"),
            ("https.ssl.truststore.location", &ca),
            ("https.ssl.truststore.type", "PEM"),
            ("https.ssl.keystore.location", &client),
            ("https.ssl.keystore.type", "PEM"),
        ],
    ));
    task.put(vec![record("t", 0, 0, "k", "over tls")]).unwrap();
    assert_eq!(bodies(&server.accepted()), ["over tls"]);

    // Without its certificate the client is refused in the handshake; Aiven's key set names the CA the same way.
    let mut task =
        aiven_task(&aiven(&server.url("/secure"), &[("http.ssl.truststore.location", &ca), ("max.retries", "0")]));
    let err = task.put(vec![record("t", 0, 1, "k", "no cert")]).unwrap_err();
    assert!(err.message().contains("Sending failed"), "{err}");
    let mut task = aiven_task(&aiven(
        &server.url("/secure"),
        &[("http.ssl.truststore.location", &ca), ("http.ssl.keystore.location", &client)],
    ));
    task.put(vec![record("t", 0, 1, "k", "aiven over tls")]).unwrap();
    assert_eq!(server.accepted().len(), 2);

    // The system's CAs do not know the test CA.
    let mut task = confluent_task(&confluent(&server.url("/secure"), &[("max.retries", "0")]));
    let err = task.put(vec![record("t", 0, 2, "k", "untrusted")]).unwrap_err();
    assert!(err.message().contains("Error Message"), "{err}");
}

#[test]
fn requests_go_through_a_proxy_with_its_credentials() {
    // The test server stands in for the proxy: a proxy gets the request with the target's absolute URL.
    let proxy = HttpServer::start();
    let mut task = confluent_task(&confluent(
        "http://upstream.invalid/hooks/${topic}",
        &[
            ("http.proxy.host", "127.0.0.1"),
            ("http.proxy.port", &proxy.port().to_string()),
            ("http.proxy.user", "proxy-user"),
            ("http.proxy.password", "proxy-pass"),
        ],
    ));
    task.put(vec![record("t", 0, 0, "k", "via proxy")]).unwrap();
    let received = proxy.accepted();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].path, "/hooks/t");
    assert_eq!(received[0].header("host"), Some("upstream.invalid"));
    assert_eq!(received[0].header("proxy-authorization"), Some("Basic cHJveHktdXNlcjpwcm94eS1wYXNz"));
}

#[test]
fn bad_configurations_get_an_error_under_each_key() {
    let aiven_harness = SinkHarness::new_async::<AivenHttpSink>();
    let errors = aiven_harness
        .errors(&config(&[
            ("http.url", "not a url"),
            ("http.authorization.type", "kerberos"),
            ("batching.enabled", "true"),
            ("errors.tolerance", "all"),
            ("http.headers.additional", "A:1,a:2"),
            ("http.proxy.port", "8080"),
            ("http.ssl.truststore.location", "/nonexistent/ca.pem"),
        ]))
        .unwrap();
    let has = |key: &str, needle: &str| {
        assert!(
            errors.get(key).is_some_and(|e| e.iter().any(|m| m.contains(needle))),
            "no error about {needle:?} under {key}: {errors:?}"
        )
    };
    has("http.url", "Invalid value not a url for configuration http.url: must be an absolute http or https URL");
    has("http.authorization.type", "String must be one of: none, static, oauth2");
    has("batching.enabled", "cannot be true with errors.tolerance=all");
    has("http.headers.additional", "given twice");
    has("http.proxy.host", "must be set when http.proxy.port is set");
    has("http.ssl.truststore.location", "cannot read /nonexistent/ca.pem");

    let errors =
        aiven_harness.errors(&config(&[("http.url", "http://h/x"), ("http.authorization.type", "static")])).unwrap();
    assert!(errors["http.headers.authorization"][0].contains("Must be present"), "{errors:?}");
    let errors =
        aiven_harness.errors(&config(&[("http.url", "http://h/x"), ("http.authorization.type", "oauth2")])).unwrap();
    for key in ["oauth2.access.token.url", "oauth2.client.id", "oauth2.client.secret"] {
        assert!(errors.contains_key(key), "{key}: {errors:?}");
    }
    // Confluent's keys under Aiven's class (what the alias HttpSink names) get a pointer to the right class.
    let errors =
        aiven_harness.errors(&config(&[("http.api.url", "http://h/x"), ("http.authorization.type", "none")])).unwrap();
    assert!(errors["http.url"].iter().any(|e| e.contains("io.confluent.connect.http.HttpSinkConnector")), "{errors:?}");

    let dir = tempfile::tempdir().unwrap();
    let jks = dir.path().join("trust.jks");
    std::fs::write(&jks, [0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2]).unwrap();
    let confluent_harness = SinkHarness::new_async::<ConfluentHttpSink>();
    let errors = confluent_harness
        .errors(&config(&[
            ("http.api.url", "ftp://h/${topic}"),
            ("auth.type", "digest"),
            ("request.body.format", "json"),
            ("batch.json.as.array", "false"),
            ("batch.max.size", "10"),
            ("retry.on.status.codes", "500-400"),
            ("https.ssl.truststore.location", jks.to_str().unwrap()),
            ("regex.patterns", "a~("),
            ("regex.replacements", "b~c"),
        ]))
        .unwrap();
    let has = |key: &str, needle: &str| {
        assert!(
            errors.get(key).is_some_and(|e| e.iter().any(|m| m.contains(needle))),
            "no error about {needle:?} under {key}: {errors:?}"
        )
    };
    has("http.api.url", "must be an http or https URL, not ftp");
    has("auth.type", "String must be one of (case insensitive): NONE, BASIC, OAUTH2, THIRD_PARTY");
    has("batch.json.as.array", "can be false only with batch.max.size=1");
    has("retry.on.status.codes", "empty range");
    has("https.ssl.truststore.location", "JKS and PKCS12 stores are not supported");
    has("regex.patterns", "is not a regular expression");
    let errors =
        confluent_harness.errors(&config(&[("http.api.url", "http://h/"), ("auth.type", "THIRD_PARTY")])).unwrap();
    assert!(errors["auth.type"][0].contains("not supported"), "{errors:?}");

    // A connector with a bad configuration does not start.
    let mut harness = SinkHarness::new_async::<ConfluentHttpSink>();
    let err = harness.start(&config(&[("http.api.url", "nope")])).unwrap_err();
    assert!(err.message().contains("http.api.url"), "{err}");
    // A good one validates clean.
    assert!(confluent_harness.errors(&config(&[("http.api.url", "https://h/${topic}")])).unwrap().is_empty());
}
