//! The REST API, compatible with Kafka Connect's: small axum handlers that ask the herder (through its request
//! queue) and render its answer; writes a follower cannot serve are forwarded to the leader by one layer
//! ([`forward`]). Handlers never panic: bad bodies are 400, herder failures carry their Kafka Connect status.
//! Plugin code (validation) runs on blocking threads, never on the runtime's.

mod admin;
pub mod auth;
pub mod client;
mod connectors;
pub mod error;
pub mod forward;
mod plugins;
pub mod server;
pub mod signature;
pub mod tls;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use serde::de::DeserializeOwned;

use crate::herder::api::{HerderError, HerderHandle, HerderRequest, HerderResult};
use crate::metrics::ConnectMetrics;
use crate::plugins::PluginRegistry;
use error::RestError;
use forward::{Forwarder, Original};

/// Kafka Connect's REST request timeout.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(90);
/// How long `GET /health` waits for the herder (Kafka Connect's health-check timeout).
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(10);

/// What the REST API serves: the herder, and the worker's own plugins.
#[derive(Clone)]
pub struct RestContext {
    /// The herder's request queue.
    pub herder: HerderHandle,
    /// This worker's plugins (`/connector-plugins`, validation).
    pub registry: Arc<PluginRegistry>,
    /// Re-issues requests to the leader or a connector's owner.
    pub forwarder: Forwarder,
    /// This worker's metrics (`GET /metrics`).
    pub metrics: Arc<ConnectMetrics>,
    /// How long a request may wait for the herder.
    pub timeout: Duration,
}

impl RestContext {
    /// A context with Kafka Connect's request timeout.
    pub fn new(
        herder: HerderHandle,
        registry: Arc<PluginRegistry>,
        forwarder: Forwarder,
        metrics: Arc<ConnectMetrics>,
    ) -> Self {
        RestContext { herder, registry, forwarder, metrics, timeout: REQUEST_TIMEOUT }
    }
}

#[derive(Clone)]
struct AppState {
    ctx: RestContext,
    forwarder: Forwarder,
}

impl AppState {
    async fn ask<T>(
        &self,
        make: impl FnOnce(tokio::sync::oneshot::Sender<HerderResult<T>>) -> HerderRequest,
    ) -> HerderResult<T> {
        self.ask_within(self.ctx.timeout, make).await
    }

    async fn ask_within<T>(
        &self,
        timeout: Duration,
        make: impl FnOnce(tokio::sync::oneshot::Sender<HerderResult<T>>) -> HerderRequest,
    ) -> HerderResult<T> {
        match tokio::time::timeout(timeout, self.ctx.herder.ask(make)).await {
            Ok(result) => result,
            Err(_) => Err(HerderError::Internal("Request timed out".to_string())),
        }
    }
}

/// Every route of the API as (method, path), the paths in OpenAPI's template syntax. The OpenAPI document must
/// describe each (a test checks it).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/"),
    ("get", "/health"),
    ("get", "/openapi.json"),
    ("get", "/metrics"),
    ("get", "/connectors"),
    ("post", "/connectors"),
    ("get", "/connectors/{name}"),
    ("delete", "/connectors/{name}"),
    ("get", "/connectors/{name}/config"),
    ("put", "/connectors/{name}/config"),
    ("patch", "/connectors/{name}/config"),
    ("get", "/connectors/{name}/status"),
    ("post", "/connectors/{name}/restart"),
    ("put", "/connectors/{name}/pause"),
    ("put", "/connectors/{name}/resume"),
    ("put", "/connectors/{name}/stop"),
    ("get", "/connectors/{name}/tasks"),
    ("post", "/connectors/{name}/tasks"),
    ("get", "/connectors/{name}/tasks/{task}/status"),
    ("post", "/connectors/{name}/tasks/{task}/restart"),
    ("get", "/connectors/{name}/topics"),
    ("put", "/connectors/{name}/topics/reset"),
    ("get", "/connectors/{name}/offsets"),
    ("patch", "/connectors/{name}/offsets"),
    ("delete", "/connectors/{name}/offsets"),
    ("get", "/connector-plugins"),
    ("get", "/connector-plugins/{plugin}/config"),
    ("put", "/connector-plugins/{plugin}/config/validate"),
    ("get", "/admin/loggers"),
    ("get", "/admin/loggers/{name}"),
    ("put", "/admin/loggers/{name}"),
];

/// The router of the REST API.
///
/// Authentication and TLS wrap it from outside ([`auth::protect`], [`server::serve`]).
pub fn router(ctx: RestContext) -> Router {
    let state = AppState { forwarder: ctx.forwarder.clone(), ctx };
    Router::new()
        .route("/", get(admin::root))
        .route("/health", get(admin::health))
        .route("/openapi.json", get(admin::openapi))
        .route("/metrics", get(admin::metrics))
        .route("/connectors", get(connectors::list).post(connectors::create))
        .route("/connectors/{name}", get(connectors::info).delete(connectors::delete))
        .route(
            "/connectors/{name}/config",
            get(connectors::config).put(connectors::put_config).patch(connectors::patch_config),
        )
        .route("/connectors/{name}/status", get(connectors::status))
        .route("/connectors/{name}/restart", post(connectors::restart))
        .route("/connectors/{name}/pause", put(connectors::pause))
        .route("/connectors/{name}/resume", put(connectors::resume))
        .route("/connectors/{name}/stop", put(connectors::stop))
        .route("/connectors/{name}/tasks", get(connectors::task_configs).post(connectors::put_task_configs))
        .route("/connectors/{name}/tasks/{task}/status", get(connectors::task_status))
        .route("/connectors/{name}/tasks/{task}/restart", post(connectors::restart_task))
        .route("/connectors/{name}/topics", get(connectors::topics))
        .route("/connectors/{name}/topics/reset", put(connectors::reset_topics))
        .route(
            "/connectors/{name}/offsets",
            get(connectors::offsets).patch(connectors::alter_offsets).delete(connectors::reset_offsets),
        )
        .route("/connector-plugins", get(plugins::list))
        .route("/connector-plugins/{plugin}/config", get(plugins::config))
        .route("/connector-plugins/{plugin}/config/validate", put(plugins::validate_config))
        .route("/admin/loggers", get(admin::loggers))
        .route("/admin/loggers/{name}", get(admin::logger).put(admin::set_logger))
        .fallback(|| async { RestError::not_found("HTTP 404 Not Found") })
        .with_state(state)
}

/// Parses a JSON body, answering 400 with Kafka Connect's body on malformed input.
fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, RestError> {
    serde_json::from_slice(body).map_err(|e| RestError::bad_request(format!("Invalid JSON in request body: {e}")))
}

/// Turns a herder result into a response, forwarding to the leader when the herder says so.
async fn answer<T>(
    state: &AppState,
    original: &Original,
    body: Bytes,
    result: HerderResult<T>,
    ok: impl FnOnce(T) -> Response,
) -> Response {
    match result {
        Ok(value) => ok(value),
        Err(HerderError::NotLeader { leader_url }) => {
            state.forwarder.forward(original, body, leader_url.as_deref()).await
        }
        Err(err) => RestError::from(err).into_response(),
    }
}

/// A JSON config map to strings; non-string scalars are accepted as their text, as Jackson does for
/// `Map<String, String>`. A `null` value is left out.
fn config_strings(map: BTreeMap<String, serde_json::Value>) -> Result<BTreeMap<String, String>, RestError> {
    Ok(config_patch(map)?.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect())
}

/// A JSON config patch: strings (or scalars as their text) set a key, `null` removes it.
fn config_patch(map: BTreeMap<String, serde_json::Value>) -> Result<BTreeMap<String, Option<String>>, RestError> {
    let mut out = BTreeMap::new();
    for (key, value) in map {
        let text = match value {
            serde_json::Value::String(s) => Some(s),
            serde_json::Value::Number(n) => Some(n.to_string()),
            serde_json::Value::Bool(b) => Some(b.to_string()),
            serde_json::Value::Null => None,
            _ => {
                return Err(RestError::bad_request(format!("Invalid value for configuration {key}: must be a string")))
            }
        };
        out.insert(key, text);
    }
    Ok(out)
}

/// Whether query flag `name` is `true` (case-insensitive).
fn query_flag(raw: Option<&str>, name: &str) -> bool {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes()).any(|(k, v)| k == name && v.eq_ignore_ascii_case("true"))
}

/// The last value of query parameter `name`.
fn query_value(raw: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes()).filter(|(k, _)| k == name).map(|(_, v)| v.into_owned()).last()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Method, Request, StatusCode};
    use tower::ServiceExt;

    #[test]
    fn the_openapi_document_describes_every_route() {
        let doc: serde_json::Value = serde_json::from_str(admin::OPENAPI).expect("openapi.json is JSON");
        for (method, path) in ROUTES {
            assert!(doc["paths"][path][method].is_object(), "{} {path} is missing from openapi.json", method);
        }
        let documented: usize = doc["paths"].as_object().unwrap().values().map(|p| p.as_object().unwrap().len()).sum();
        assert_eq!(documented, ROUTES.len(), "openapi.json documents a route the router does not serve");
    }

    /// A router over a herder that answers every request with `NotLeader { leader_url }`.
    fn not_leader_app(leader_url: Option<String>) -> Router {
        let (handle, mut requests) = HerderHandle::channel();
        tokio::spawn(async move {
            while let Some(request) = requests.recv().await {
                let err = HerderError::NotLeader { leader_url: leader_url.clone() };
                match request {
                    HerderRequest::PutConnectorConfig { reply, .. } => drop(reply.send(Err(err))),
                    HerderRequest::DeleteConnector(_, reply) => drop(reply.send(Err(err))),
                    other => panic!("unexpected request {other:?}"),
                }
            }
        });
        let registry = Arc::new(PluginRegistry::with_builtins(Vec::new(), Vec::new()));
        let metrics = Arc::new(ConnectMetrics::new(Arc::new(crate::worker::status::StatusBoard::new("w:1"))));
        router(RestContext::new(handle, registry, Forwarder::new(reqwest::Client::new()), metrics))
    }

    async fn call(app: Router, method: Method, uri: &str, body: &str) -> (StatusCode, serde_json::Value) {
        let request = Request::builder().method(method).uri(uri).body(Body::from(body.to_string())).unwrap();
        let response = app.oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice(&body).unwrap_or_default())
    }

    #[tokio::test]
    async fn writes_during_a_rebalance_answer_409() {
        // No known leader (a rebalance is under way): Kafka Connect's 409.
        let body = r#"{"name":"c","config":{"connector.class":"X"}}"#;
        let (status, answer) = call(not_leader_app(None), Method::POST, "/connectors", body).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(answer["error_code"], 409);
        assert_eq!(answer["message"], crate::herder::api::CONFLICT_NO_LEADER);
        // A request that already took its two hops is not forwarded again.
        let app = not_leader_app(Some("http://127.0.0.1:1/".to_string()));
        let (status, answer) = call(app, Method::DELETE, "/connectors/c?forward=false", "").await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(answer["message"], crate::herder::api::CONFLICT_REBALANCE);
        // A leader that cannot be reached: 500 naming the forwarding failure.
        let app = not_leader_app(Some("http://127.0.0.1:1/".to_string()));
        let (status, answer) = call(app, Method::DELETE, "/connectors/c", "").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(answer["message"].as_str().unwrap().starts_with("IO Error trying to forward REST request"), "{answer}");
    }

    #[tokio::test]
    async fn every_listed_route_is_served() {
        // A herder that is gone: every request reaches its handler, which answers 500, 503 or its own error.
        let (handle, requests) = HerderHandle::channel();
        drop(requests);
        let registry = Arc::new(PluginRegistry::with_builtins(Vec::new(), Vec::new()));
        let metrics = Arc::new(ConnectMetrics::new(Arc::new(crate::worker::status::StatusBoard::new("w:1"))));
        let app = router(RestContext::new(handle, registry, Forwarder::new(reqwest::Client::new()), metrics));
        for (method, path) in ROUTES {
            let uri = path.replace("{name}", "c").replace("{task}", "0").replace("{plugin}", "FileStreamSource");
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let request = Request::builder().method(method.clone()).uri(&uri).body(Body::from("{}")).unwrap();
            let response = app.clone().oneshot(request).await.unwrap();
            assert_ne!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
            let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
            assert!(!String::from_utf8_lossy(&body).contains("HTTP 404 Not Found"), "{method} {uri} is not routed");
        }
    }
}
