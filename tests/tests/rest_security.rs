//! The REST API over https with basic authentication, on a real 2-worker cluster: clients need the CA and
//! credentials, `/health` needs neither, and workers reach each other over https (a follower's writes are
//! forwarded to the leader with the caller's credentials; its generated task configs are signed, not
//! authenticated).

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use connect_tests::*;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use serde_json::{json, Value};

const JOIN: Duration = Duration::from_secs(90);
const SETTLE: Duration = Duration::from_secs(120);

/// A CA (PEM file `ca.pem`) and one key + certificate for `localhost`/`127.0.0.1` (`worker.pem`) in `dir`.
fn pki(dir: &Path) -> String {
    let ca_key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "connect-rs test CA");
    let ca = params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let cert = CertificateParams::new(names).unwrap().signed_by(&key, &ca, &ca_key).unwrap();
    std::fs::write(dir.join("worker.pem"), format!("{}{}", key.serialize_pem(), cert.pem())).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    ca.pem()
}

fn client(ca: Option<&str>, credentials: Option<(&str, &str)>) -> reqwest::blocking::Client {
    let mut builder = reqwest::blocking::Client::builder().timeout(Duration::from_secs(100));
    if let Some(ca) = ca {
        builder = builder.add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap());
    }
    if let Some((user, password)) = credentials {
        let token = format!("{user}:{password}");
        let value = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(token));
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::AUTHORIZATION, value.parse().unwrap());
        builder = builder.default_headers(headers);
    }
    builder.build().unwrap()
}

#[test]
fn https_and_basic_auth_protect_the_api_and_workers_still_cooperate() {
    let broker = Broker::start();
    broker.create_topic("secure-lines", 1);
    let dir = test_dir();
    let plugins = plugin_dir(dir.path(), &["connect_file", "test_plugin_generator"]);
    let ca = pki(dir.path());
    let credentials = dir.path().join("users.properties");
    std::fs::write(&credentials, "admin=s3cret\n").unwrap();
    let (pem, ca_file, users) = (
        dir.path().join("worker.pem").display().to_string(),
        dir.path().join("ca.pem").display().to_string(),
        credentials.display().to_string(),
    );
    let settings = [
        ("listeners", "https://127.0.0.1:{port}"),
        ("rest.advertised.host.name", "localhost"),
        ("listeners.https.ssl.keystore.type", "PEM"),
        ("listeners.https.ssl.keystore.location", pem.as_str()),
        ("listeners.https.ssl.truststore.type", "PEM"),
        ("listeners.https.ssl.truststore.location", ca_file.as_str()),
        ("rest.extension.classes", "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension"),
        ("rest.basic.auth.credentials.file", users.as_str()),
        ("topic.tracking.enable", "false"),
    ];
    let mut workers: Vec<DistributedWorker> =
        (0..2).map(|_| DistributedWorker::start(dir.path(), &broker, &plugins, "secure", &settings)).collect();
    for worker in &mut workers {
        let base = format!("https://localhost:{}", worker.port);
        worker.rest = Rest::with_client(base, client(Some(&ca), Some(("admin", "s3cret"))));
        worker.wait_joined(JOIN);
    }
    let follower = workers.iter().position(|w| !w.is_leader()).expect("a follower");
    let url = |w: &DistributedWorker| format!("https://localhost:{}", w.port);
    let admin = Rest::with_client(url(&workers[follower]), client(Some(&ca), Some(("admin", "s3cret"))));
    let leader = Rest::with_client(url(&workers[1 - follower]), client(Some(&ca), Some(("admin", "s3cret"))));

    // Without the CA, no TLS session; without credentials, 401 with Kafka Connect's body and a challenge.
    let untrusted = Rest::with_client(url(&workers[follower]), client(None, Some(("admin", "s3cret"))));
    assert!(untrusted.try_get("/connectors").is_err(), "a client that does not trust the CA must fail");
    let anonymous = client(Some(&ca), None);
    let response = anonymous.get(format!("{}/connectors", url(&workers[follower]))).send().unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert!(response.headers().get("www-authenticate").is_some_and(|v| v.to_str().unwrap().starts_with("Basic")));
    let body: Value = response.json().unwrap();
    assert_eq!(body["error_code"], 401, "{body}");
    let wrong = Rest::with_client(url(&workers[follower]), client(Some(&ca), Some(("admin", "guess"))));
    assert_eq!(wrong.get("/connectors").0, 401);
    let health = Rest::with_client(url(&workers[follower]), anonymous);
    assert_eq!(health.get("/health").0, 200, "/health needs no credentials");

    // Writes to the follower are forwarded over https with the caller's credentials; tasks generated on any
    // worker reach the leader signed.
    let input = dir.path().join("in.txt");
    let output = dir.path().join("out.txt");
    std::fs::write(&input, (0..50).map(|i| format!("secure {i}\n")).collect::<String>()).unwrap();
    admin.create_connector(
        "secure-src",
        json!({"connector.class": "FileStreamSource", "file": input.to_str().unwrap(), "topic": "secure-lines"}),
    );
    admin.create_connector(
        "secure-sink",
        json!({"connector.class": "FileStreamSink", "file": output.to_str().unwrap(), "topics": "secure-lines"}),
    );
    admin.create_connector(
        "secure-gen",
        json!({"connector.class": "GeneratorSource", "topic": "secure-gen", "records": "0", "tasks.max": "2"}),
    );
    wait_for("50 lines through the secured cluster", SETTLE, || (read_lines(&output).len() >= 50).then_some(()));
    for (name, tasks) in [("secure-src", 1), ("secure-sink", 1), ("secure-gen", 2)] {
        wait_for(&format!("{name} running"), SETTLE, || leader.status(name).filter(|s| all_running(s, tasks)));
    }
    let (code, forbidden) = admin.get("/connectors/secure-src/topics");
    assert_eq!((code, forbidden["message"].as_str()), (403, Some("Topic tracking is disabled.")), "{forbidden}");
    let log: String = workers.iter().map(|w| w.process.output()).collect();
    assert!(log.contains("distributed a new session key"), "the leader distributes a session key");
}
