//! Schema-driven fuzzing of the REST API: the test reads `GET /openapi.json` from a running distributed worker and,
//! for every operation it documents, sends requests built from the schema: random and boundary values for path
//! and query parameters and JSON bodies (sometimes of the wrong type), and malformed JSON. The worker must never
//! answer 5xx, never crash or hang, and its memory must stay flat.
//!
//! CI runs 20 s; `CONNECT_SOAK_FUZZ_SECS` (`scripts/soak`) runs longer.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use connect_tests::reliability::{self, rss_kib, Rng};
use connect_tests::*;
use serde_json::{json, Map, Value};

const JOIN: Duration = Duration::from_secs(90);
/// What one request may take: longer counts as a hang.
const ANSWERED: Duration = Duration::from_secs(10);
const THREADS: u64 = 3;
/// How much the worker's resident memory may grow between the end of the warm-up and the end of the run.
const RSS_GROWTH_LIMIT_KIB: u64 = 48 * 1024;
/// The only connectors the fuzzer may create with a valid config (so that memory measures leaks, not work).
const OWN_NAMES: [&str; 2] = ["fuzz-a", "fuzz-b"];

/// One operation of the OpenAPI document.
#[derive(Clone, Debug)]
struct Operation {
    method: String,
    path: String,
    /// (name, `path`/`query`, schema)
    params: Vec<(String, String, Value)>,
    body: Option<Value>,
}

fn operations(doc: &Value) -> Vec<Operation> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("openapi.json: paths") {
        for (method, op) in item.as_object().expect("openapi.json: path item") {
            let params = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| {
                            (
                                p["name"].as_str().unwrap_or_default().to_string(),
                                p["in"].as_str().unwrap_or_default().to_string(),
                                p["schema"].clone(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let body = op["requestBody"]["content"]["application/json"]["schema"].clone();
            out.push(Operation {
                method: method.to_uppercase(),
                path: path.clone(),
                params,
                body: (!body.is_null()).then_some(body),
            });
        }
    }
    out
}

/// Builds requests from the schemas.
struct Fuzzer<'a> {
    rng: Rng,
    doc: &'a Value,
    /// Names that exist on the worker (connectors, plugin classes), so that deeper code runs too.
    known: Vec<String>,
}

impl Fuzzer<'_> {
    fn resolve<'s>(&'s self, schema: &'s Value) -> &'s Value {
        match schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
            Some(name) => &self.doc["components"]["schemas"][name],
            None => schema,
        }
    }

    fn string(&mut self) -> String {
        match self.rng.below(12) {
            0..=2 => self.rng.pick(&self.known).clone(),
            3 => String::new(),
            4 => "a".repeat(1 + self.rng.below(20_000)),
            5 => self
                .rng
                .pick(&[
                    "é✓ünï",
                    "..",
                    "../..",
                    "a/b",
                    "%zz",
                    "%00",
                    "null",
                    "0",
                    "-1",
                    "2147483648",
                    " ",
                    "\t\n",
                    "{}",
                    "\u{202e}x",
                ])
                .to_string(),
            6 => self
                .rng
                .pick(&["DEBUG", "INFO", "TRACE", "RUNNING", "PAUSED", "STOPPED", "true", "cluster", "worker"])
                .to_string(),
            7 => {
                (0..self.rng.below(40)).map(|_| char::from_u32(self.rng.below(0x3000) as u32).unwrap_or('?')).collect()
            }
            _ => (0..1 + self.rng.below(24)).map(|_| (b'a' + self.rng.below(26) as u8) as char).collect(),
        }
    }

    fn integer(&mut self) -> Value {
        match self.rng.below(8) {
            0 => json!(-1),
            1 => json!(0),
            2 => json!(i32::MAX),
            3 => json!(i64::MAX),
            4 => json!(u64::MAX),
            5 => json!(1e300),
            6 => json!(self.string()),
            _ => json!(self.rng.below(10)),
        }
    }

    /// Any JSON value, nested at most `depth` deep.
    fn any(&mut self, depth: usize) -> Value {
        match self.rng.below(if depth == 0 { 4 } else { 6 }) {
            0 => Value::Null,
            1 => json!(self.rng.one_in(2)),
            2 => self.integer(),
            3 => json!(self.string()),
            4 => Value::Array((0..self.rng.below(4)).map(|_| self.any(depth - 1)).collect()),
            _ => {
                let mut map = Map::new();
                for _ in 0..self.rng.below(4) {
                    map.insert(self.string(), self.any(depth - 1));
                }
                Value::Object(map)
            }
        }
    }

    /// A value for `schema`: mostly of its type, sometimes of any other.
    fn value(&mut self, schema: &Value, depth: usize) -> Value {
        let schema = self.resolve(schema).clone();
        if self.rng.one_in(10) {
            return self.any(depth.min(2));
        }
        if schema["nullable"] == true && self.rng.one_in(6) {
            return Value::Null;
        }
        if let Some(values) = schema["enum"].as_array() {
            if !self.rng.one_in(4) && !values.is_empty() {
                return self.rng.pick(values).clone();
            }
        }
        match schema["type"].as_str().unwrap_or("") {
            "string" => json!(self.string()),
            "integer" | "number" => self.integer(),
            "boolean" => json!(self.rng.one_in(2)),
            "array" => {
                let items = schema["items"].clone();
                Value::Array((0..self.rng.below(4)).map(|_| self.value(&items, depth.saturating_sub(1))).collect())
            }
            "object" => {
                let mut map = Map::new();
                let required: Vec<String> = schema["required"]
                    .as_array()
                    .map(|r| r.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                    .unwrap_or_default();
                if let Some(properties) = schema["properties"].as_object() {
                    for (key, property) in properties {
                        let keep = if required.contains(key) { !self.rng.one_in(10) } else { !self.rng.one_in(3) };
                        if keep {
                            let value = self.value(property, depth.saturating_sub(1));
                            map.insert(key.clone(), value);
                        }
                    }
                }
                if schema["additionalProperties"].is_object() {
                    let extra = schema["additionalProperties"].clone();
                    for _ in 0..self.rng.below(5) {
                        let (key, value) = (self.string(), self.value(&extra, depth.saturating_sub(1)));
                        map.insert(key, value);
                    }
                } else if schema["properties"].is_null() && depth > 0 {
                    for _ in 0..self.rng.below(4) {
                        let (key, value) = (self.string(), self.any(depth - 1));
                        map.insert(key, value);
                    }
                }
                Value::Object(map)
            }
            _ => self.any(depth.min(2)),
        }
    }

    /// A connector config that validates (a file sink reading a topic nobody writes), with one setting changed
    /// to a boundary value most of the time.
    fn almost_valid_config(&mut self) -> Value {
        let mut config = json!({"connector.class": "FileStreamSink", "topics": "fuzz-in",
                                "file": "/dev/null", "tasks.max": "1"});
        if !self.rng.one_in(4) {
            // Not `file`: the sink would write wherever a random path points.
            let key = self
                .rng
                .pick(&[
                    "connector.class",
                    "topics",
                    "tasks.max",
                    "transforms",
                    "errors.tolerance",
                    "key.converter",
                    "topics.regex",
                    "name",
                    "consumer.override.fetch.min.bytes",
                ])
                .to_string();
            let value = match key.as_str() {
                // A valid huge task count would make the connector start that many tasks: only invalid ones.
                "tasks.max" => json!(self.rng.pick(&["0", "-1", "abc", "", "2147483648", "1.5", "2"]).to_string()),
                _ if self.rng.one_in(5) => self.any(1),
                _ => json!(self.string()),
            };
            config[key] = value;
        }
        config
    }

    /// A JSON body for `schema`, or one of the malformed texts. `own` is a name the fuzzer may create, `named_own`
    /// whether the path names it: only then may a body be a valid connector config.
    fn body(&mut self, operation: &Operation, own: &str, named_own: bool) -> Vec<u8> {
        if self.rng.one_in(4) {
            return self.malformed();
        }
        let schema = operation.body.clone().unwrap_or(Value::Null);
        let value = match operation.path.as_str() {
            "/connectors" if self.rng.one_in(2) => json!({"name": own, "config": self.almost_valid_config()}),
            "/connectors/{name}/config" if named_own && self.rng.one_in(2) => self.almost_valid_config(),
            "/connector-plugins/{plugin}/config/validate" if self.rng.one_in(2) => self.almost_valid_config(),
            _ => self.value(&schema, 4),
        };
        value.to_string().into_bytes()
    }

    fn malformed(&mut self) -> Vec<u8> {
        match self.rng.below(10) {
            0 => b"{".to_vec(),
            1 => b"{\"name\": \"x\", }".to_vec(),
            2 => b"\xff\xfe{\"name\":\"\xc3\x28\"}".to_vec(),
            3 => "[".repeat(100_000).into_bytes(),
            4 => format!("{{\"name\":\"{}\"}}", "x".repeat(2 * 1024 * 1024)).into_bytes(),
            5 => b"{\"config\": {\"a\": 1e999999}}".to_vec(),
            6 => b"{\"name\":\"a\",\"name\":\"b\",\"config\":{}}".to_vec(),
            7 => b"\xef\xbb\xbf{}".to_vec(),
            8 => Vec::new(),
            _ => (0..self.rng.below(200)).map(|_| self.rng.below(256) as u8).collect(),
        }
    }

    /// A path parameter: percent-encoded, sometimes raw.
    fn path_param(&mut self, schema: &Value) -> String {
        let value = match self.value(schema, 0) {
            Value::String(s) => s,
            other => other.to_string(),
        };
        if self.rng.one_in(10) && !value.contains(['/', '?', '#']) {
            return value;
        }
        value
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    /// A full request for `operation`: method, path with query, body, content type.
    fn request(&mut self, operation: &Operation) -> (String, String, Option<Vec<u8>>, &'static str) {
        let own = self.rng.pick(&OWN_NAMES).to_string();
        let named_own = self.rng.one_in(3);
        let mut path = operation.path.clone();
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, location, schema) in operation.params.clone() {
            match location.as_str() {
                "path" => {
                    let value = if name == "name" && named_own { own.clone() } else { self.path_param(&schema) };
                    path = path.replace(&format!("{{{name}}}"), &value);
                }
                "query" if !self.rng.one_in(3) => {
                    let value = match self.value(&schema, 0) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    query.append_pair(&name, &value);
                }
                _ => {}
            }
        }
        if self.rng.one_in(8) {
            let (key, value) = (self.string(), self.string());
            query.append_pair(&key, &value);
        }
        let query = query.finish();
        if !query.is_empty() {
            path = format!("{path}?{query}");
        }
        let body = (operation.body.is_some() || self.rng.one_in(10)).then(|| self.body(operation, &own, named_own));
        let content_type =
            *self.rng.pick(&["application/json", "application/json", "application/json", "text/plain", ""]);
        (operation.method.clone(), path, body, content_type)
    }
}

/// What went wrong with one request.
fn check(
    http: &reqwest::blocking::Client,
    base: &str,
    (method, path, body, content_type): (String, String, Option<Vec<u8>>, &'static str),
) -> Result<u16, String> {
    let shown_body = body.as_ref().map(|b| String::from_utf8_lossy(&b[..b.len().min(300)]).to_string());
    let mut request =
        http.request(reqwest::Method::from_bytes(method.as_bytes()).expect("method"), format!("{base}{path}"));
    if !content_type.is_empty() {
        request = request.header("Content-Type", content_type);
    }
    let sends_body = body.is_some();
    if let Some(body) = body {
        request = request.body(body);
    }
    let started = Instant::now();
    match request.send().and_then(|r| {
        let status = r.status().as_u16();
        r.text().map(|t| (status, t))
    }) {
        Ok((status, text)) if status >= 500 => {
            Err(format!("{method} {path} body {shown_body:?} ({content_type}): {status} {text}"))
        }
        Ok((status, _)) => Ok(status),
        // The server may answer (a 404) and close the connection before it read a body the route does not take;
        // the client then fails writing it. Not a 5xx; a crash is caught by the liveness check at the end.
        Err(e) if sends_body && e.is_request() => Ok(0),
        Err(e) => Err(format!("{method} {path} body {shown_body:?}: no answer after {:?}: {e}", started.elapsed())),
    }
}

#[test]
fn requests_generated_from_the_openapi_document_never_get_a_5xx() {
    let duration = Duration::from_secs(reliability::env_or("CONNECT_SOAK_FUZZ_SECS", 20));
    let broker = Broker::start();
    broker.create_topic("fuzz-in", 1);
    let dir = test_dir();
    let plugins = plugin_dir(dir.path(), &["connect_file", "test_plugin_generator"]);
    let mut worker = DistributedWorker::start(dir.path(), &broker, &plugins, "fuzz", &[]);
    worker.wait_joined(JOIN);
    let rest = worker.rest.clone();
    rest.create_connector(
        "fuzz-sink",
        json!({"connector.class": "FileStreamSink", "topics": "fuzz-in", "file": "/dev/null"}),
    );

    let (code, doc) = rest.get("/openapi.json");
    assert_eq!(code, 200, "GET /openapi.json: {doc}");
    let operations = operations(&doc);
    assert!(operations.len() >= 20, "openapi.json documents only {} operations", operations.len());
    let (_, plugins_list) = rest.get("/connector-plugins?connectorsOnly=false");
    let mut known: Vec<String> = OWN_NAMES.iter().map(|s| s.to_string()).collect();
    known.push("fuzz-sink".into());
    known.extend(plugins_list.as_array().into_iter().flatten().filter_map(|p| p["class"].as_str().map(str::to_string)));

    let base = format!("http://127.0.0.1:{}", worker.port);
    let started = Instant::now();
    let warm_up = duration / 5;
    let pid = worker.process.pid();
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (operations, doc, known, base) = (operations.clone(), doc.clone(), known.clone(), base.clone());
            std::thread::spawn(move || {
                // A new connection per request: the server may close a kept-alive connection whose request body it
                // did not read (a 404 for a GET with a body), and reusing it would fail on the client's side.
                let http = reqwest::blocking::Client::builder()
                    .timeout(ANSWERED)
                    .pool_max_idle_per_host(0)
                    .build()
                    .expect("HTTP client");
                let mut fuzzer = Fuzzer { rng: Rng::from_env(&format!("fuzz thread {t}")), doc: &doc, known };
                fuzzer.rng = Rng::new(fuzzer.rng.next_u64().wrapping_add(t));
                let mut counts: BTreeMap<(String, String, u16), usize> = BTreeMap::new();
                let mut failures = Vec::new();
                while started.elapsed() < duration && failures.len() < 20 {
                    let operation = fuzzer.rng.pick(&operations).clone();
                    match check(&http, &base, fuzzer.request(&operation)) {
                        Ok(status) => *counts.entry((operation.method, operation.path, status)).or_default() += 1,
                        Err(failure) => failures.push(failure),
                    }
                }
                (counts, failures)
            })
        })
        .collect();
    std::thread::sleep(warm_up);
    let rss_warm = rss_kib(pid);
    let mut counts: BTreeMap<(String, String, u16), usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for thread in threads {
        let (c, f) = thread.join().expect("fuzz thread");
        for (key, n) in c {
            *counts.entry(key).or_default() += n;
        }
        failures.extend(f);
    }
    let rss_end = rss_kib(pid);

    let total: usize = counts.values().sum();
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    for ((_, _, status), n) in &counts {
        *by_status.entry(*status).or_default() += n;
    }
    let covered = counts.keys().map(|(m, p, _)| (m, p)).collect::<std::collections::BTreeSet<_>>().len();
    eprintln!(
        "{total} requests in {:?} on {covered} of {} operations: by status {by_status:?}; worker RSS {} MiB after \
         the warm-up, {} MiB at the end",
        started.elapsed(),
        operations.len(),
        rss_warm / 1024,
        rss_end / 1024
    );
    assert!(failures.is_empty(), "{} failing requests:\n{}", failures.len(), failures.join("\n"));
    assert!(worker.process.is_running(), "the worker died:\n{}", worker.process.output());
    let (code, _) = rest.get("/");
    assert_eq!(code, 200, "the worker answers after the fuzzing");
    assert_eq!(covered, operations.len(), "every documented operation was tried");
    assert!(rss_warm > 0, "no RSS for the worker");
    assert!(
        rss_end.saturating_sub(rss_warm) < RSS_GROWTH_LIMIT_KIB,
        "the worker grew from {rss_warm} KiB to {rss_end} KiB while fuzzed"
    );
}
