//! Distributed workers for tests: each a real `connect distributed` process with its own REST port, all in one
//! group on one broker, driven over the REST API like an operator would.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::broker::free_port;
use crate::{wait_for, write_properties, Broker, ConnectProcess};

/// The settings of a test group: short timeouts so that crashes are noticed in seconds.
pub fn group_settings(group: &str) -> Vec<(String, String)> {
    [
        ("group.id", group.to_string()),
        ("config.storage.topic", format!("{group}-configs")),
        ("offset.storage.topic", format!("{group}-offsets")),
        ("status.storage.topic", format!("{group}-status")),
        ("config.storage.replication.factor", "1".into()),
        ("offset.storage.replication.factor", "1".into()),
        ("status.storage.replication.factor", "1".into()),
        ("session.timeout.ms", "30000".into()),
        ("heartbeat.interval.ms", "1000".into()),
        ("rebalance.timeout.ms", "30000".into()),
        ("scheduled.rebalance.max.delay.ms", "3000".into()),
        ("offset.flush.interval.ms", "1000".into()),
        ("default.api.timeout.ms", "15000".into()),
        ("task.shutdown.graceful.timeout.ms", "3000".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// A blocking client of one worker's REST API.
#[derive(Clone)]
pub struct Rest {
    base: String,
    client: reqwest::blocking::Client,
}

impl Rest {
    /// A client of `http://127.0.0.1:port`.
    pub fn new(port: u16) -> Rest {
        let client =
            reqwest::blocking::Client::builder().timeout(Duration::from_secs(100)).build().expect("HTTP client");
        Rest { base: format!("http://127.0.0.1:{port}"), client }
    }

    /// A client of `base` (e.g. `https://localhost:8443`) through `client` (TLS trust, credentials).
    pub fn with_client(base: impl Into<String>, client: reqwest::blocking::Client) -> Rest {
        Rest { base: base.into(), client }
    }

    fn send(&self, request: reqwest::blocking::RequestBuilder) -> Result<(u16, Value), String> {
        let response = request.send().map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let text = response.text().map_err(|e| e.to_string())?;
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Ok((status, body))
    }

    /// `GET path`: status and JSON body; `Err` when the worker cannot be reached.
    pub fn try_get(&self, path: &str) -> Result<(u16, Value), String> {
        self.send(self.client.get(format!("{}{path}", self.base)))
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> (u16, Value) {
        self.try_get(path).unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// `POST path` with a JSON body.
    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(self.client.post(format!("{}{path}", self.base)).json(body))
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// `PUT path` with a JSON body (`Null`: no body).
    pub fn put(&self, path: &str, body: &Value) -> (u16, Value) {
        let request = self.client.put(format!("{}{path}", self.base));
        let request = if body.is_null() { request } else { request.json(body) };
        self.send(request).unwrap_or_else(|e| panic!("PUT {path}: {e}"))
    }

    /// `PATCH path` with a JSON body.
    pub fn patch(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(self.client.patch(format!("{}{path}", self.base)).json(body))
            .unwrap_or_else(|e| panic!("PATCH {path}: {e}"))
    }

    /// `method path` with a raw body sent as JSON (for malformed bodies).
    pub fn raw(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        self.send_with_headers(method, path, body, &[])
    }

    /// `method path` with a raw JSON body and extra headers.
    pub fn send_with_headers(&self, method: &str, path: &str, body: &str, headers: &[(&str, &str)]) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("HTTP method");
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("Content-Type", "application/json")
            .body(body.to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// `GET path` as text (for `/metrics`).
    pub fn get_text(&self, path: &str) -> (u16, String) {
        let response =
            self.client.get(format!("{}{path}", self.base)).send().unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = response.status().as_u16();
        (status, response.text().unwrap_or_default())
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> (u16, Value) {
        self.send(self.client.delete(format!("{}{path}", self.base))).unwrap_or_else(|e| panic!("DELETE {path}: {e}"))
    }

    /// Creates a connector through this worker, retrying while the group rebalances (409).
    pub fn create_connector(&self, name: &str, config: Value) {
        let body = serde_json::json!({"name": name, "config": config});
        wait_for(&format!("connector {name} created"), Duration::from_secs(60), || {
            let (status, answer) = self.post("/connectors", &body);
            match status {
                201 => Some(()),
                409 | 500 if !answer.to_string().contains("already exists") => {
                    std::thread::sleep(Duration::from_millis(500));
                    None
                }
                _ => panic!("POST /connectors {name}: {status} {answer}"),
            }
        })
    }

    /// The status of a connector (`None` while unknown).
    pub fn status(&self, name: &str) -> Option<Value> {
        match self.try_get(&format!("/connectors/{name}/status")) {
            Ok((200, body)) => Some(body),
            _ => None,
        }
    }
}

/// One `connect distributed` worker process.
pub struct DistributedWorker {
    /// The process.
    pub process: ConnectProcess,
    /// Its REST port.
    pub port: u16,
    /// Its REST API.
    pub rest: Rest,
    /// Its configuration file.
    pub properties: PathBuf,
}

impl DistributedWorker {
    /// Writes the configuration of a worker of `group` (REST on a free port) into `dir` and starts it;
    /// `extra` settings come last and override.
    pub fn start(dir: &Path, broker: &Broker, plugins: &Path, group: &str, extra: &[(&str, &str)]) -> Self {
        let port = free_port();
        let properties = dir.join(format!("worker-{port}.properties"));
        let bootstrap = broker.bootstrap();
        let listener = format!("http://127.0.0.1:{port}");
        // `{port}` in an extra value stands for this worker's REST port (e.g. an https listener).
        let extra: Vec<(String, String)> =
            extra.iter().map(|(k, v)| (k.to_string(), v.replace("{port}", &port.to_string()))).collect();
        let plugins = plugins.display().to_string();
        let mut pairs: Vec<(String, String)> = vec![
            ("bootstrap.servers".into(), bootstrap),
            ("listeners".into(), listener),
            ("plugin.path".into(), plugins),
        ];
        pairs.extend(group_settings(group));
        for (k, v) in extra {
            pairs.retain(|(key, _)| *key != k);
            pairs.push((k, v));
        }
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        write_properties(&properties, &pairs);
        Self::start_from(dir, &properties, port)
    }

    /// Starts (again) a worker from an existing configuration file.
    pub fn start_from(dir: &Path, properties: &Path, port: u16) -> Self {
        let log = dir.join(format!("worker-{port}.log"));
        // A restarted worker appends to the same log name; keep the old one aside.
        if log.exists() {
            let mut n = 1;
            while dir.join(format!("worker-{port}.{n}.log")).exists() {
                n += 1;
            }
            let _ = std::fs::rename(&log, dir.join(format!("worker-{port}.{n}.log")));
        }
        let process = ConnectProcess::start(&["distributed", &properties.display().to_string()], &log);
        DistributedWorker { process, port, rest: Rest::new(port), properties: properties.to_path_buf() }
    }

    /// The worker id statuses name it by.
    pub fn id(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Waits until the worker has joined its group and answers REST requests.
    pub fn wait_joined(&mut self, timeout: Duration) {
        self.process.wait_for_output("joined group", timeout);
        wait_for("the REST API", timeout, || self.rest.try_get("/").ok().filter(|(s, _)| *s == 200));
    }

    /// Whether the last join this worker logged made it the leader.
    pub fn is_leader(&self) -> bool {
        let output = self.process.output();
        let Some(line) = output.lines().rev().find(|l| l.contains("joined group")) else { return false };
        let member = line.split(" as ").nth(1).and_then(|rest| rest.split(' ').next());
        let leader = line.split("(leader ").nth(1).and_then(|rest| rest.split(',').next());
        member.is_some() && member == leader
    }

    /// The number of times this worker's log says `needle`.
    pub fn count_in_log(&self, needle: &str) -> usize {
        self.process.output().matches(needle).count()
    }
}

/// `n` workers of `group`, each joined within `join`.
pub fn start_cluster(
    n: usize,
    join: Duration,
    dir: &Path,
    broker: &Broker,
    plugins: &Path,
    group: &str,
    extra: &[(&str, &str)],
) -> Vec<DistributedWorker> {
    let mut workers: Vec<DistributedWorker> =
        (0..n).map(|_| DistributedWorker::start(dir, broker, plugins, group, extra)).collect();
    for worker in &mut workers {
        worker.wait_joined(join);
    }
    workers
}

/// `worker_id` of every task in a status body.
pub fn task_workers(status: &Value) -> Vec<(u64, String, String)> {
    status["tasks"]
        .as_array()
        .map(|tasks| {
            tasks
                .iter()
                .map(|t| {
                    (
                        t["id"].as_u64().unwrap_or(u64::MAX),
                        t["state"].as_str().unwrap_or("").to_string(),
                        t["worker_id"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// True when the connector and all of its (at least `tasks`) tasks are RUNNING.
pub fn all_running(status: &Value, tasks: usize) -> bool {
    let list = task_workers(status);
    status["connector"]["state"] == "RUNNING" && list.len() >= tasks && list.iter().all(|(_, s, _)| s == "RUNNING")
}

impl Drop for DistributedWorker {
    /// A failing test shows the end of every worker's log.
    fn drop(&mut self) {
        if std::thread::panicking() {
            let output = self.process.output();
            let lines: Vec<&str> = output.lines().collect();
            let tail = lines[lines.len().saturating_sub(150)..].join("\n");
            eprintln!("==== last lines of worker {} ====\n{tail}", self.id());
        }
    }
}
