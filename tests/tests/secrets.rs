//! Secrets never reach the logs: a standalone worker logging at DEBUG runs an HTTP sink whose authorization header
//! comes from a config provider, with a literal PASSWORD value and SASL credentials in the worker's and the
//! connector's client settings (`sasl.jaas.config`); a validation refuses a JAAS setting naming its key without
//! echoing it. Every record arrives with the resolved header (so the secret was used), then every line the worker
//! printed is searched for each secret.

use std::time::Duration;

use connect_tests::http_server::HttpServer;
use connect_tests::*;
use serde_json::{json, Value};

const SETTLE: Duration = Duration::from_secs(90);
const AIVEN: &str = "io.aiven.kafka.connect.http.HttpSinkConnector";

const PROVIDED: &str = "SECRET-PROVIDED-7f3a";
const LITERAL: &str = "SECRET-LITERAL-33c1";
const WORKER_JAAS: &str = "SECRET-WORKER-JAAS-91d0";
const OVERRIDE_JAAS: &str = "SECRET-OVERRIDE-JAAS-55e2";
const VALIDATED_JAAS: &str = "SECRET-VALIDATED-JAAS-12b7";

fn jaas(password: &str) -> String {
    format!(
        r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="connect" password="{password}";"#
    )
}

#[test]
fn secrets_never_appear_in_the_logs_of_a_run_that_used_them() {
    let broker = Broker::start();
    broker.create_topic("payments", 1);
    let dir = test_dir();
    let secrets = dir.path().join("secrets.properties");
    write_properties(&secrets, &[("authorization", &format!("Token {PROVIDED}"))]);

    let plugins = plugin_dir(dir.path(), &["connect_http"]);
    let port = broker::free_port();
    let listeners = format!("http://127.0.0.1:{port}");
    let worker_jaas = jaas(WORKER_JAAS);
    let worker = worker_properties(
        dir.path(),
        &broker,
        &plugins,
        &[
            ("listeners", &listeners),
            ("offset.flush.interval.ms", "500"),
            ("config.providers", "file"),
            ("config.providers.file.class", "org.apache.kafka.common.config.provider.FileConfigProvider"),
            // SASL credentials of the sink tasks' consumers; PLAINTEXT, so librdkafka keeps but never sends them.
            ("consumer.sasl.mechanism", "PLAIN"),
            ("consumer.sasl.jaas.config", &worker_jaas),
        ],
    );
    let log = dir.path().join("connect.log");
    let mut command = std::process::Command::new(tools::connect_binary());
    command.args(["standalone", &worker.display().to_string()]).env("RUST_LOG", "debug");
    let mut connect = ConnectProcess::start_command(command, &log);
    let rest = Rest::new(port);
    wait_for("GET /health 200", SETTLE, || matches!(rest.try_get("/health"), Ok((200, _))).then_some(()));

    let hook = HttpServer::start();
    hook.require_header("authorization", &format!("Token {PROVIDED}"));
    let config = json!({
        "connector.class": AIVEN, "topics": "payments",
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.storage.StringConverter",
        "http.url": hook.url("/hook"),
        "http.authorization.type": "static",
        "http.headers.authorization": format!("${{file:{}:authorization}}", secrets.display()),
        "oauth2.client.secret": LITERAL,
        "consumer.override.sasl.mechanism": "PLAIN",
        "consumer.override.sasl.jaas.config": jaas(OVERRIDE_JAAS),
    });
    let (code, body) = rest.post("/connectors", &json!({"name": "payments-http", "config": config}));
    assert_eq!(code, 201, "{body}");
    wait_for("the task running", SETTLE, || {
        let status = rest.status("payments-http")?;
        (status["tasks"].as_array()?.first()?["state"] == "RUNNING").then_some(())
    });

    let values: Vec<String> = (0..20).map(|i| format!("payment-{i}")).collect();
    let records: Vec<(Option<&[u8]>, &[u8])> = values.iter().map(|v| (None, v.as_bytes())).collect();
    broker.produce("payments", &records);
    let received = hook.wait_until("20 payments delivered with the provided header", SETTLE, |r| {
        r.iter().filter(|r| r.accepted()).count() >= 20
    });
    assert!(received
        .iter()
        .filter(|r| r.accepted())
        .all(|r| r.header("authorization") == Some(&format!("Token {PROVIDED}")[..])));

    // A JAAS setting the clients cannot use: the error names the key; the answer hides the value.
    let mut bad = config.clone();
    bad["consumer.override.sasl.jaas.config"] =
        json!(format!(r#"com.example.VaultLoginModule required username="connect" password="{VALIDATED_JAAS}";"#));
    let (code, report) = rest.put(&format!("/connector-plugins/{AIVEN}/config/validate"), &bad);
    assert_eq!(code, 200, "{report}");
    let entry: &Value = report["configs"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["value"]["name"] == "consumer.override.sasl.jaas.config"))
        .unwrap_or_else(|| panic!("no entry for the JAAS override: {report}"));
    let errors = entry["value"]["errors"].to_string();
    assert!(errors.contains("unknown login module VaultLoginModule"), "{errors}");
    assert!(!report.to_string().contains(VALIDATED_JAAS), "the validation answer shows the password: {report}");

    // The paths that log configurations at DEBUG: a task restart and the connector's deletion.
    let (code, body) = rest.post("/connectors/payments-http/restart?includeTasks=true", &Value::Null);
    assert!(code == 202 || code == 204, "{code} {body}");
    wait_for("the task running again", SETTLE, || {
        let status = rest.status("payments-http")?;
        (status["tasks"].as_array()?.first()?["state"] == "RUNNING").then_some(())
    });
    let (code, body) = rest.delete("/connectors/payments-http");
    assert_eq!(code, 204, "{body}");
    let status = connect.terminate(Duration::from_secs(60));
    assert!(status.success(), "worker exited with {status}");

    let output = connect.output();
    assert!(output.lines().count() > 50, "a DEBUG run prints more than this:\n{output}");
    for secret in [PROVIDED, LITERAL, WORKER_JAAS, OVERRIDE_JAAS, VALIDATED_JAAS] {
        let leaks: Vec<&str> = output.lines().filter(|l| l.contains(secret)).collect();
        assert!(leaks.is_empty(), "{secret} appears in the worker's log:\n{}", leaks.join("\n"));
    }
}
